//! Discovery, JWKS, health, docs pages, key rotation.

use candor_proto::jose::SigningAlg;
use candor_server::keys;

use crate::common::{Auth, TestServer};

crate::both!(
    metadata_is_served_at_both_well_known_paths,
    jwks_publishes_public_keys_only,
    health_and_readiness,
    docs_pages_come_from_the_catalogue,
    unknown_paths_get_the_error_shape,
    rotation_keeps_old_tokens_valid,
);

async fn metadata_is_served_at_both_well_known_paths(s: TestServer) {
    let oidc = s.get("/.well-known/openid-configuration").await;
    let oauth = s.get("/.well-known/oauth-authorization-server").await;
    assert_eq!(oidc.status, 200);
    assert_eq!(oauth.status, 200);
    let m = oidc.json();
    assert_eq!(m, oauth.json(), "one document for both");
    assert_eq!(m["issuer"], s.base);
    assert_eq!(m["token_endpoint"], s.url("/token"));
    assert_eq!(m["jwks_uri"], s.url("/jwks"));
    assert_eq!(m["introspection_endpoint"], s.url("/introspect"));
    assert_eq!(m["revocation_endpoint"], s.url("/revoke"));
    let methods = m["token_endpoint_auth_methods_supported"]
        .as_array()
        .unwrap();
    for method in [
        "client_secret_basic",
        "client_secret_post",
        "client_secret_jwt",
        "private_key_jwt",
        "none",
    ] {
        assert!(methods.iter().any(|x| x == method), "{method} missing");
    }
    assert!(
        m["grant_types_supported"]
            .as_array()
            .unwrap()
            .iter()
            .any(|g| g == "client_credentials")
    );
    assert_eq!(m["authorization_response_iss_parameter_supported"], true);
    // Only what users can have: no address or phone claims exist.
    assert_eq!(
        m["scopes_supported"],
        serde_json::json!(["openid", "profile", "email", "offline_access"])
    );
}

async fn jwks_publishes_public_keys_only(s: TestServer) {
    let r = s.get("/jwks").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("application/jwk-set+json"));
    let jwks = r.json();
    let keys = jwks["keys"].as_array().unwrap();
    let algs: Vec<&str> = keys.iter().filter_map(|k| k["alg"].as_str()).collect();
    assert!(algs.contains(&"RS256"), "OIDC requires RS256: {algs:?}");
    assert!(
        algs.contains(&"ES256"),
        "default access token alg: {algs:?}"
    );
    for k in keys {
        for private in ["d", "p", "q", "dp", "dq", "qi", "k"] {
            assert!(k.get(private).is_none(), "private member {private} in {k}");
        }
        assert_eq!(k["use"], "sig");
    }
}

async fn health_and_readiness(s: TestServer) {
    assert_eq!(s.get("/healthz").await.status, 200);
    let ready = s.get("/readyz").await;
    assert_eq!(ready.status, 200);
    let backend = match s.backend {
        crate::common::Backend::Sqlite => "sqlite",
        crate::common::Backend::Postgres => "postgres",
    };
    assert_eq!(ready.json()["store"], backend);
}

async fn docs_pages_come_from_the_catalogue(s: TestServer) {
    let page = s.get("/docs/errors/redirect_uri.trailing_slash").await;
    assert_eq!(page.status, 200);
    assert!(
        page.header("content-type")
            .unwrap()
            .starts_with("text/html")
    );
    assert!(page.text.contains("trailing slash"));
    let index = s.get("/docs/errors").await;
    assert!(index.text.contains("client_auth.secret_mismatch"));
    // By area, with contents that link to each, and every code listed once.
    for area in ["client_auth", "redirect_uri", "token", "route", "upstream"] {
        assert!(
            index.text.contains(&format!("<h2 id=\"{area}\">")),
            "{area}"
        );
        assert!(index.text.contains(&format!("href=\"#{area}\"")), "{area}");
    }
    for code in candor_proto::Code::ALL {
        let link = format!("/docs/errors/{}\"", code.as_str());
        assert_eq!(index.text.matches(&link).count(), 1, "{link}");
    }
    let unknown = s
        .get("/docs/errors/%3Cscript%3Ealert(1)%3C%2Fscript%3E")
        .await;
    assert_eq!(unknown.status, 404);
    assert!(
        !unknown.text.contains("<script>alert(1)"),
        "{}",
        unknown.text
    );
}

async fn unknown_paths_get_the_error_shape(s: TestServer) {
    s.get("/no/such/thing")
        .await
        .assert_error(404, "not_found", "server.not_found");
    // The root says what this server is and where to go (not an OAuth error).
    let home = s.get("/").await;
    assert_eq!(home.status, 200, "{}", home.text);
    assert!(home.text.contains("authorization server"), "{}", home.text);
    for link in ["/.well-known/openid-configuration", "/jwks", "/docs/errors"] {
        let href = format!("href=\"{}{link}\"", s.base);
        assert!(home.text.contains(&href), "{href} in {}", home.text);
        assert_eq!(s.get(link).await.status, 200, "{link}");
    }
    // An end user sees what to do; the operator's advice waits behind the developers' details,
    // with commands as code, not backticks.
    let page = s.get("/authorize?client_id=nobody").await;
    assert!(page.text.contains("tell the application"), "{}", page.text);
    assert!(page.text.contains("<details>"), "{}", page.text);
    assert!(
        page.text.contains("<code>candor client list</code>"),
        "{}",
        page.text
    );
    assert!(!page.text.contains('`'), "{}", page.text);
    // The steps of a sign-in that only forms post to explain themselves when reloaded or
    // reached with Back, instead of an empty 405.
    let page = s.get("/login").await;
    assert_eq!(page.status, 405);
    assert_eq!(page.header("allow"), Some("POST"));
    assert!(page.text.contains("go back to it"), "{}", page.text);
    // GET /consent is a method the step takes (after a sign-in's redirect); without a live
    // request of this browser's it is a bad request, with the same explanation.
    let page = s.get("/consent").await;
    assert_eq!(page.status, 400);
    assert_eq!(page.header("allow"), None);
    assert!(page.text.contains("go back to it"), "{}", page.text);
}

async fn rotation_keeps_old_tokens_valid(s: TestServer) {
    let (id, secret) = s.service_client().await;
    let before = s.cc_token(&id, &secret, Some("read")).await;
    let old_token = before["access_token"].as_str().unwrap().to_string();
    let old_kid = jsonwebtoken::decode_header(&old_token)
        .unwrap()
        .kid
        .unwrap();

    // The next key is published at once and signs two minutes later.
    let now = s.app.now();
    let rotation = keys::rotate(
        s.store.as_ref(),
        &s.master,
        SigningAlg::Es256,
        now,
        now + 120,
        3600,
    )
    .await
    .unwrap();
    assert_eq!(rotation.retired, 1);
    assert_eq!(rotation.activates_at, now + 120);
    s.app.keys().reload_at(s.app.now()).await.unwrap();
    let kid_of = |token: &serde_json::Value| {
        jsonwebtoken::decode_header(token["access_token"].as_str().unwrap())
            .unwrap()
            .kid
            .unwrap()
    };
    let kids = || async {
        s.get("/jwks").await.json()["keys"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k["kid"].as_str().unwrap().to_string())
            .collect::<Vec<String>>()
    };
    let published = kids().await;
    assert!(
        published.contains(&old_kid) && published.contains(&rotation.new_kid),
        "{published:?}"
    );
    let during = s.cc_token(&id, &secret, Some("read")).await;
    assert_eq!(
        kid_of(&during),
        old_kid,
        "the old key signs until the new one activates"
    );

    s.clock.advance(121);
    s.app.keys().reload_at(s.app.now()).await.unwrap();
    let after = s.cc_token(&id, &secret, Some("read")).await;
    assert_eq!(kid_of(&after), rotation.new_kid);
    let introspected = s
        .post_form(
            "/introspect",
            &[("token", &old_token)],
            Auth::Basic(&id, &secret),
        )
        .await
        .json();
    assert_eq!(introspected["active"], true, "a retired key still verifies");

    // Once everything the old key signed has expired, it leaves the JWKS.
    s.clock.advance(3601);
    s.app.keys().reload_at(s.app.now()).await.unwrap();
    let published = kids().await;
    assert!(
        !published.contains(&old_kid),
        "expired retired key still published: {published:?}"
    );
    assert!(published.contains(&rotation.new_kid));
}
