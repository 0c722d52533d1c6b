//! Every client authentication method, and every way each can fail.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use candor_proto::client_auth::{AuthMethod, JWT_BEARER_ASSERTION};
use candor_proto::jose::{SigningAlg, SigningKey};
use candor_server::clients::NewClient;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};

use crate::common::{Auth, TestServer};

crate::both!(
    basic_succeeds_and_failures_are_named,
    post_succeeds_and_other_methods_are_refused,
    one_method_per_request,
    private_key_jwt_checks_every_claim,
    assertion_replay_is_refused_even_concurrently,
    client_secret_jwt_works,
    public_clients_cannot_use_client_credentials,
    rotated_secret_replaces_the_old_one,
);

async fn basic_succeeds_and_failures_are_named(s: TestServer) {
    let (id, secret) = s.service_client().await;
    s.cc_token(&id, &secret, None).await;

    let r = s
        .post_form(
            "/token",
            &[("grant_type", "client_credentials")],
            Auth::Basic(&id, "nope"),
        )
        .await;
    r.assert_error(401, "invalid_client", "client_auth.secret_mismatch");
    assert!(
        r.header("www-authenticate")
            .unwrap()
            .starts_with("Basic realm=")
    );

    let r = s
        .post_form(
            "/token",
            &[("grant_type", "client_credentials")],
            Auth::Basic("no-such-client", "x"),
        )
        .await;
    let body = r.assert_error(401, "invalid_client", "client_auth.unknown_client");
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("'no-such-client'")
    );
    assert!(r.header("www-authenticate").is_some());

    let r = s
        .post_form(
            "/token",
            &[("grant_type", "client_credentials")],
            Auth::None,
        )
        .await;
    r.assert_error(401, "invalid_client", "client_auth.missing");
    assert!(
        r.header("www-authenticate").is_none(),
        "a challenge only answers an Authorization header (RFC 6749 section 5.2)"
    );
    s.post_form(
        "/token",
        &[("grant_type", "client_credentials"), ("client_id", &id)],
        Auth::None,
    )
    .await
    .assert_error(401, "invalid_client", "client_auth.missing");

    for header in [
        "Basic not-base64!!".to_string(),
        format!("Basic {}", STANDARD.encode("no-colon")),
        format!("Basic {}", STANDARD.encode([0xffu8, 0xfe, b':', b'x'])),
        "Bearer abc".to_string(),
        "Basic".to_string(),
    ] {
        s.post_form(
            "/token",
            &[("grant_type", "client_credentials")],
            Auth::Header(&header),
        )
        .await
        .assert_error(401, "invalid_client", "client_auth.basic_malformed");
    }

    // RFC 6749 §2.3.1: credentials are form-encoded before base64.
    let mut odd = NewClient::new("odd id");
    odd.client_id = Some("odd.id~1".into());
    let (odd_id, odd_secret) = s.register(odd).await;
    let header = format!(
        "Basic {}",
        STANDARD.encode(format!(
            "{}:{}",
            odd_id.replace('~', "%7E"),
            odd_secret.unwrap()
        ))
    );
    let r = s
        .post_form(
            "/token",
            &[("grant_type", "client_credentials")],
            Auth::Header(&header),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
}

async fn post_succeeds_and_other_methods_are_refused(s: TestServer) {
    let mut new = NewClient::new("post");
    new.auth_method = AuthMethod::ClientSecretPost;
    let (id, secret) = s.register(new).await;
    let secret = secret.unwrap();
    let r = s
        .post_form(
            "/token",
            &[
                ("grant_type", "client_credentials"),
                ("client_id", &id),
                ("client_secret", &secret),
            ],
            Auth::None,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let wrong = s
        .post_form(
            "/token",
            &[
                ("grant_type", "client_credentials"),
                ("client_id", &id),
                ("client_secret", "wrong"),
            ],
            Auth::None,
        )
        .await;
    wrong.assert_error(401, "invalid_client", "client_auth.secret_mismatch");
    assert!(wrong.header("www-authenticate").is_none());

    let body = s
        .post_form(
            "/token",
            &[("grant_type", "client_credentials")],
            Auth::Basic(&id, &secret),
        )
        .await
        .assert_error(401, "invalid_client", "client_auth.method_mismatch");
    let d = body["error_description"].as_str().unwrap();
    assert!(
        d.contains("client_secret_post") && d.contains("client_secret_basic"),
        "{d}"
    );

    let (basic_id, basic_secret) = s.service_client().await;
    s.post_form(
        "/token",
        &[
            ("grant_type", "client_credentials"),
            ("client_id", &basic_id),
            ("client_secret", &basic_secret),
        ],
        Auth::None,
    )
    .await
    .assert_error(401, "invalid_client", "client_auth.method_mismatch");

    s.post_form(
        "/token",
        &[
            ("grant_type", "client_credentials"),
            ("client_secret", &secret),
        ],
        Auth::None,
    )
    .await
    .assert_error(400, "invalid_request", "token_request.missing_parameter");
}

async fn one_method_per_request(s: TestServer) {
    let (id, secret) = s.service_client().await;
    s.post_form(
        "/token",
        &[
            ("grant_type", "client_credentials"),
            ("client_id", &id),
            ("client_secret", &secret),
        ],
        Auth::Basic(&id, &secret),
    )
    .await
    .assert_error(400, "invalid_request", "client_auth.multiple_methods");
    s.post_form(
        "/token",
        &[
            ("grant_type", "client_credentials"),
            ("client_id", "someone-else"),
        ],
        Auth::Basic(&id, &secret),
    )
    .await
    .assert_error(400, "invalid_request", "client_auth.multiple_methods");
    // The same client_id in the body as in the header is fine.
    let r = s
        .post_form(
            "/token",
            &[("grant_type", "client_credentials"), ("client_id", &id)],
            Auth::Basic(&id, &secret),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
}

struct KeyClient {
    id: String,
    key: SigningKey,
}

async fn private_key_client(s: &TestServer) -> KeyClient {
    let (key, _) = SigningKey::generate(SigningAlg::Es256).unwrap();
    let jwks = json!({"keys": [key.public_jwk()]}).to_string();
    let mut new = NewClient::new("pkjwt");
    new.auth_method = AuthMethod::PrivateKeyJwt;
    new.jwks = Some(jwks);
    let (id, secret) = s.register(new).await;
    assert!(secret.is_none(), "private_key_jwt clients get no secret");
    KeyClient { id, key }
}

fn assertion_claims(s: &TestServer, id: &str, jti: &str) -> Value {
    json!({
        "iss": id, "sub": id, "aud": s.url("/token"),
        "iat": s.app.now(), "exp": s.app.now() + 60, "jti": jti,
    })
}

async fn with_assertion(s: &TestServer, assertion: &str) -> crate::common::Response {
    s.post_form(
        "/token",
        &[
            ("grant_type", "client_credentials"),
            ("client_assertion_type", JWT_BEARER_ASSERTION),
            ("client_assertion", assertion),
        ],
        Auth::None,
    )
    .await
}

async fn private_key_jwt_checks_every_claim(s: TestServer) {
    let c = private_key_client(&s).await;
    let good = c
        .key
        .sign("JWT", &assertion_claims(&s, &c.id, "j-1"))
        .unwrap();
    let r = with_assertion(&s, &good).await;
    assert_eq!(r.status, 200, "{}", r.text);

    // The issuer is an accepted audience too.
    let mut claims = assertion_claims(&s, &c.id, "j-2");
    claims["aud"] = json!(s.base);
    let r = with_assertion(&s, &c.key.sign("JWT", &claims).unwrap()).await;
    assert_eq!(r.status, 200, "{}", r.text);

    type Mutation = Box<dyn Fn(&mut Value)>;
    let cases: Vec<(&str, Mutation)> = vec![
        (
            "'aud'",
            Box::new(|c| c["aud"] = json!("https://elsewhere.example/token")),
        ),
        ("'sub'", Box::new(|c| c["sub"] = json!("impostor"))),
        (
            "no 'exp'",
            Box::new(|c| {
                c.as_object_mut().unwrap().remove("exp");
            }),
        ),
        (
            "expired",
            Box::new(|c| c["exp"] = json!(c["iat"].as_i64().unwrap() - 3600)),
        ),
        (
            "no 'jti'",
            Box::new(|c| {
                c.as_object_mut().unwrap().remove("jti");
            }),
        ),
    ];
    for (i, (needle, mutate)) in cases.iter().enumerate() {
        let mut claims = assertion_claims(&s, &c.id, &format!("bad-{i}"));
        mutate(&mut claims);
        // `sub` decides which client is looked up; keep iss pointing at the real one.
        let token = c.key.sign("JWT", &claims).unwrap();
        let r = with_assertion(&s, &token).await;
        let expected = if *needle == "'sub'" {
            "client_auth.unknown_client"
        } else {
            "client_auth.assertion_invalid"
        };
        let body = r.assert_error(401, "invalid_client", expected);
        if expected == "client_auth.assertion_invalid" {
            assert!(
                body["error_description"].as_str().unwrap().contains(needle),
                "{needle}: {}",
                body["error_description"]
            );
        }
    }

    // Signed by a key the client did not register.
    let (stranger, _) = SigningKey::generate(SigningAlg::Es256).unwrap();
    let forged = stranger
        .sign("JWT", &assertion_claims(&s, &c.id, "forged"))
        .unwrap();
    let body = with_assertion(&s, &forged).await.assert_error(
        401,
        "invalid_client",
        "client_auth.assertion_invalid",
    );
    assert!(body["error_description"].as_str().unwrap().contains("kid"));

    // Clock: an assertion from the future is refused, within leeway accepted.
    let mut future = assertion_claims(&s, &c.id, "future");
    future["iat"] = json!(s.app.now() + 3600);
    future["exp"] = json!(s.app.now() + 3660);
    with_assertion(&s, &c.key.sign("JWT", &future).unwrap())
        .await
        .assert_error(401, "invalid_client", "client_auth.assertion_invalid");

    // Garbage and a wrong assertion type.
    with_assertion(&s, "not.a.jwt").await.assert_error(
        401,
        "invalid_client",
        "client_auth.assertion_invalid",
    );
    s.post_form(
        "/token",
        &[
            ("grant_type", "client_credentials"),
            ("client_assertion_type", "urn:wrong"),
            ("client_assertion", &good),
        ],
        Auth::None,
    )
    .await
    .assert_error(401, "invalid_client", "client_auth.assertion_invalid");

    // A Basic header for a private_key_jwt client is the wrong method.
    s.post_form(
        "/token",
        &[("grant_type", "client_credentials")],
        Auth::Basic(&c.id, "guess"),
    )
    .await
    .assert_error(401, "invalid_client", "client_auth.method_mismatch");
}

async fn assertion_replay_is_refused_even_concurrently(s: TestServer) {
    let c = private_key_client(&s).await;
    let assertion = c
        .key
        .sign("JWT", &assertion_claims(&s, &c.id, "once"))
        .unwrap();
    let attempts = (0..8).map(|_| with_assertion(&s, &assertion));
    let results = futures::future::join_all(attempts).await;
    let ok = results.iter().filter(|r| r.status == 200).count();
    assert_eq!(ok, 1, "exactly one of 8 concurrent uses succeeds");
    for r in results.iter().filter(|r| r.status != 200) {
        let body = r.assert_error(401, "invalid_client", "client_auth.assertion_invalid");
        assert!(
            body["error_description"]
                .as_str()
                .unwrap()
                .contains("used before")
        );
    }
}

async fn client_secret_jwt_works(s: TestServer) {
    let mut new = NewClient::new("hmac");
    new.auth_method = AuthMethod::ClientSecretJwt;
    let (id, secret) = s.register(new).await;
    let secret = secret.unwrap();
    let sign = |claims: &Value, key: &str| {
        jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            claims,
            &EncodingKey::from_secret(key.as_bytes()),
        )
        .unwrap()
    };
    let good = sign(&assertion_claims(&s, &id, "h1"), &secret);
    let r = with_assertion(&s, &good).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let bad = sign(&assertion_claims(&s, &id, "h2"), "not-the-secret");
    let body = with_assertion(&s, &bad).await.assert_error(
        401,
        "invalid_client",
        "client_auth.assertion_invalid",
    );
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("signature")
    );
    // Its secret is not usable as a Basic password: the method is enforced.
    s.post_form(
        "/token",
        &[("grant_type", "client_credentials")],
        Auth::Basic(&id, &secret),
    )
    .await
    .assert_error(401, "invalid_client", "client_auth.method_mismatch");
}

async fn public_clients_cannot_use_client_credentials(s: TestServer) {
    let mut new = NewClient::new("spa");
    new.auth_method = AuthMethod::None;
    new.redirect_uris = vec!["http://127.0.0.1:3000/cb".into()];
    let (id, secret) = s.register(new).await;
    assert!(secret.is_none());
    s.post_form(
        "/token",
        &[("grant_type", "client_credentials"), ("client_id", &id)],
        Auth::None,
    )
    .await
    .assert_error(400, "unauthorized_client", "grant_type.not_allowed");
    // A public client may not introspect.
    s.post_form(
        "/introspect",
        &[("token", "x"), ("client_id", &id)],
        Auth::None,
    )
    .await
    .assert_error(401, "invalid_client", "client_auth.public_client_forbidden");
}

async fn rotated_secret_replaces_the_old_one(s: TestServer) {
    let (id, old) = s.service_client().await;
    let rotated = candor_server::clients::rotate_secret(
        s.store.as_ref(),
        &s.master,
        &id,
        std::time::Duration::ZERO,
        s.app.now(),
    )
    .await
    .unwrap();
    let new = rotated.secret.unwrap().expose().to_string();
    assert_ne!(new, old);
    s.cc_token(&id, &new, None).await;
    s.post_form(
        "/token",
        &[("grant_type", "client_credentials")],
        Auth::Basic(&id, &old),
    )
    .await
    .assert_error(401, "invalid_client", "client_auth.secret_mismatch");
}
