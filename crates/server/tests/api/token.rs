//! The token endpoint: client_credentials, scopes, resources, token formats, and what reaches
//! the database and the logs.

use candor_proto::access_token::Format;
use candor_server::clients::NewClient;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{DecodingKey, Validation};
use serde_json::Value;

use crate::common::{Auth, TestServer, contains, logs};

crate::both!(
    client_credentials_issues_an_rfc9068_jwt,
    no_scope_means_the_registered_scopes,
    scope_errors_are_named,
    resource_indicators_select_the_audience,
    opaque_tokens_are_stored_as_digests,
    the_database_holds_no_secret_in_the_clear,
    refusals_are_logged_with_diagnosis_never_secrets,
    grant_type_errors,
);

async fn verify_with_jwks(s: &TestServer, token: &str) -> (jsonwebtoken::Header, Value) {
    let jwks: JwkSet = serde_json::from_str(&s.get("/jwks").await.text).unwrap();
    let header = jsonwebtoken::decode_header(token).unwrap();
    let jwk = jwks
        .find(header.kid.as_deref().unwrap())
        .expect("kid in JWKS");
    let mut v = Validation::new(header.alg);
    v.set_audience(&[s.base.as_str()]);
    v.set_issuer(&[s.base.as_str()]);
    let data = jsonwebtoken::decode::<Value>(token, &DecodingKey::from_jwk(jwk).unwrap(), &v)
        .expect("token verifies with the published JWKS");
    (data.header, data.claims)
}

async fn client_credentials_issues_an_rfc9068_jwt(s: TestServer) {
    let (id, secret) = s.service_client().await;
    let r = s
        .post_form(
            "/token",
            &[("grant_type", "client_credentials"), ("scope", "read")],
            Auth::Basic(&id, &secret),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.header("cache-control"), Some("no-store"));
    assert_eq!(r.header("pragma"), Some("no-cache"));
    let body = r.json();
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 3600);
    assert_eq!(body["scope"], "read");
    assert!(body.get("refresh_token").is_none());
    let (header, claims) = verify_with_jwks(&s, body["access_token"].as_str().unwrap()).await;
    assert_eq!(header.typ.as_deref(), Some("at+jwt"));
    assert_eq!(header.alg, jsonwebtoken::Algorithm::ES256);
    assert_eq!(claims["iss"], s.base);
    assert_eq!(claims["sub"], id.as_str());
    assert_eq!(claims["client_id"], id.as_str());
    assert_eq!(claims["aud"], s.base);
    assert_eq!(claims["scope"], "read");
    assert_eq!(
        claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
        3600
    );
    assert_eq!(claims["iat"].as_i64().unwrap(), s.app.now());
    assert!(claims["jti"].as_str().unwrap().len() >= 16);
    // Issuing a JWT for client_credentials writes nothing.
    assert!(s.store.revocations_since(0, 10).await.unwrap().is_empty());
}

async fn no_scope_means_the_registered_scopes(s: TestServer) {
    let (id, secret) = s.service_client().await;
    let body = s.cc_token(&id, &secret, None).await;
    assert_eq!(body["scope"], "read write");
}

async fn scope_errors_are_named(s: TestServer) {
    let (id, secret) = s.service_client().await;
    let mut other = NewClient::new("other");
    other.scopes = vec!["admin".into()];
    s.register(other).await;
    let ask = |scope: &'static str| {
        let (id, secret) = (id.clone(), secret.clone());
        let s = &s;
        async move {
            s.post_form(
                "/token",
                &[("grant_type", "client_credentials"), ("scope", scope)],
                Auth::Basic(&id, &secret),
            )
            .await
        }
    };
    let r = ask("read reed").await;
    let body = r.assert_error(400, "invalid_scope", "scope.unknown");
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("'reed'")
    );
    ask("read admin")
        .await
        .assert_error(400, "invalid_scope", "scope.not_allowed");
    ask("openid")
        .await
        .assert_error(400, "invalid_scope", "scope.not_allowed");
    ask("read \"quoted\"")
        .await
        .assert_error(400, "invalid_scope", "scope.malformed");
}

async fn resource_indicators_select_the_audience(s: TestServer) {
    let mut new = NewClient::new("api-client");
    new.audiences = vec![
        "https://api.example".into(),
        "https://billing.example".into(),
    ];
    let (id, secret) = s.register(new).await;
    let secret = secret.unwrap();
    let r = s
        .post_form(
            "/token",
            &[
                ("grant_type", "client_credentials"),
                ("resource", "https://billing.example"),
            ],
            Auth::Basic(&id, &secret),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let token = r.json()["access_token"].as_str().unwrap().to_string();
    let claims: Value = jsonwebtoken::dangerous::insecure_decode(&token)
        .unwrap()
        .claims;
    assert_eq!(claims["aud"], "https://billing.example");

    let both = s
        .post_form(
            "/token",
            &[
                ("grant_type", "client_credentials"),
                ("resource", "https://api.example"),
                ("resource", "https://billing.example"),
            ],
            Auth::Basic(&id, &secret),
        )
        .await;
    let token = both.json()["access_token"].as_str().unwrap().to_string();
    let claims: Value = jsonwebtoken::dangerous::insecure_decode(&token)
        .unwrap()
        .claims;
    assert_eq!(
        claims["aud"],
        serde_json::json!(["https://api.example", "https://billing.example"])
    );

    // Without resource: every registered audience.
    let default = s.cc_token(&id, &secret, None).await;
    let claims: Value =
        jsonwebtoken::dangerous::insecure_decode(default["access_token"].as_str().unwrap())
            .unwrap()
            .claims;
    assert_eq!(claims["aud"].as_array().unwrap().len(), 2);

    s.post_form(
        "/token",
        &[
            ("grant_type", "client_credentials"),
            ("resource", "https://evil.example"),
        ],
        Auth::Basic(&id, &secret),
    )
    .await
    .assert_error(400, "invalid_target", "resource.not_allowed");
    s.post_form(
        "/token",
        &[("grant_type", "client_credentials"), ("resource", "api")],
        Auth::Basic(&id, &secret),
    )
    .await
    .assert_error(400, "invalid_target", "resource.invalid");
}

async fn opaque_tokens_are_stored_as_digests(s: TestServer) {
    let mut new = NewClient::new("opaque");
    new.access_token_format = Format::Opaque;
    new.scopes = vec!["read".into()];
    let (id, secret) = s.register(new).await;
    let secret = secret.unwrap();
    let body = s.cc_token(&id, &secret, Some("read")).await;
    let token = body["access_token"].as_str().unwrap().to_string();
    assert!(
        !token.contains('.'),
        "opaque token looks like a JWT: {token}"
    );
    assert_eq!(token.len(), 43);
    let digest = candor_proto::secret::digest(&token);
    let record = s
        .store
        .get_access_token(&digest)
        .await
        .unwrap()
        .expect("stored by digest");
    assert_eq!(record.client_id, id);
    assert_eq!(record.scope, "read");
    let introspected = s
        .post_form(
            "/introspect",
            &[("token", &token)],
            Auth::Basic(&id, &secret),
        )
        .await
        .json();
    assert_eq!(introspected["active"], true);
    assert_eq!(introspected["scope"], "read");
}

async fn the_database_holds_no_secret_in_the_clear(s: TestServer) {
    let (id, secret) = s.service_client().await;
    let mut jwt_client = NewClient::new("hmac");
    jwt_client.auth_method = candor_proto::client_auth::AuthMethod::ClientSecretJwt;
    let (_, hmac_secret) = s.register(jwt_client).await;
    let mut opaque = NewClient::new("opaque");
    opaque.access_token_format = Format::Opaque;
    let (oid, osecret) = s.register(opaque).await;
    let osecret = osecret.unwrap();
    let opaque_token = s.cc_token(&oid, &osecret, None).await["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let _ = s.cc_token(&id, &secret, None).await;
    let password = "correct horse battery staple";
    candor_server::users::create(
        s.store.as_ref(),
        "alice",
        &candor_proto::secret::Secret::new(password),
        None,
        None,
        s.app.now(),
    )
    .await
    .unwrap();

    let dump = s.dump_database();
    assert!(dump.len() > 1000, "the dump is suspiciously small");
    assert!(contains(&dump, &id), "sanity: the client_id is stored");
    for (what, value) in [
        ("client secret", secret.as_str()),
        ("client_secret_jwt secret", hmac_secret.as_deref().unwrap()),
        ("opaque client secret", osecret.as_str()),
        ("opaque access token", opaque_token.as_str()),
        ("password", password),
        ("private key PEM marker", "PRIVATE KEY"),
    ] {
        assert!(
            !contains(&dump, value),
            "{what} found in the clear in the database"
        );
    }
}

async fn refusals_are_logged_with_diagnosis_never_secrets(s: TestServer) {
    let (id, secret) = s.service_client().await;
    let wrong = format!("{secret}-wrong-but-secret");
    s.post_form(
        "/token",
        &[("grant_type", "client_credentials")],
        Auth::Basic(&id, &wrong),
    )
    .await
    .assert_error(401, "invalid_client", "client_auth.secret_mismatch");
    let ok = s.cc_token(&id, &secret, None).await;
    let token = ok["access_token"].as_str().unwrap();
    let logs = logs();
    let line = logs
        .lines()
        .find(|l| l.contains("client_auth.secret_mismatch") && l.contains(&id))
        .unwrap_or_else(|| panic!("no log line with the diagnosis and client_id:\n{logs}"));
    assert!(line.contains("request_id"), "no request id: {line}");
    assert!(
        !logs.contains(&secret),
        "the client secret reached the logs"
    );
    assert!(
        !logs.contains(&wrong),
        "the presented secret reached the logs"
    );
    assert!(!logs.contains(token), "an access token reached the logs");
}

async fn grant_type_errors(s: TestServer) {
    let (id, secret) = s.service_client().await;
    s.post_form(
        "/token",
        &[("grant_type", "password")],
        Auth::Basic(&id, &secret),
    )
    .await
    .assert_error(400, "unsupported_grant_type", "grant_type.unsupported");
    let body = s
        .post_form("/token", &[("scope", "read")], Auth::Basic(&id, &secret))
        .await
        .assert_error(400, "invalid_request", "token_request.missing_parameter");
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("grant_type")
    );
    s.post_form(
        "/token",
        &[("grant_type", "authorization_code"), ("code", "x")],
        Auth::Basic(&id, &secret),
    )
    .await
    .assert_error(400, "unauthorized_client", "grant_type.not_allowed");
}
