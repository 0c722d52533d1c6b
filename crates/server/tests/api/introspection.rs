//! Introspection (RFC 7662) and revocation (RFC 7009), for JWT and opaque tokens.

use candor_proto::access_token::Format;
use candor_server::clients::NewClient;
use candor_store::RevocationKind;

use crate::common::{Auth, TestServer};

crate::both!(
    introspection_reports_claims_and_expiry,
    revoked_jwt_is_inactive_until_it_expires,
    revoked_opaque_token_is_inactive,
    revocation_is_for_the_owner_only,
    revocation_of_unknown_tokens_succeeds,
    introspection_requires_a_token_and_a_client,
);

async fn token_for(s: &TestServer, format: Format) -> (String, String, String) {
    let mut new = NewClient::new("c");
    new.scopes = vec!["read".into()];
    new.access_token_format = format;
    let (id, secret) = s.register(new).await;
    let secret = secret.unwrap();
    let token = s.cc_token(&id, &secret, Some("read")).await["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    (id, secret, token)
}

async fn introspect(s: &TestServer, id: &str, secret: &str, token: &str) -> serde_json::Value {
    let r = s
        .post_form("/introspect", &[("token", token)], Auth::Basic(id, secret))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.header("cache-control"), Some("no-store"));
    r.json()
}

async fn introspection_reports_claims_and_expiry(s: TestServer) {
    let (id, secret, token) = token_for(&s, Format::Jwt).await;
    // A resource server (another confidential client) introspects.
    let (rs_id, rs_secret) = s.service_client().await;
    let body = introspect(&s, &rs_id, &rs_secret, &token).await;
    assert_eq!(body["active"], true);
    assert_eq!(body["client_id"], id.as_str());
    assert_eq!(body["scope"], "read");
    assert_eq!(body["iss"], s.base);
    assert_eq!(body["token_type"], "Bearer");
    assert!(body["exp"].as_i64().unwrap() > s.app.now());
    let _ = secret;

    s.clock.advance(3601);
    let body = introspect(&s, &rs_id, &rs_secret, &token).await;
    assert_eq!(body, serde_json::json!({"active": false}), "expired");
}

async fn revoked_jwt_is_inactive_until_it_expires(s: TestServer) {
    let (id, secret, token) = token_for(&s, Format::Jwt).await;
    assert_eq!(introspect(&s, &id, &secret, &token).await["active"], true);
    let r = s
        .post_form(
            "/revoke",
            &[("token", &token), ("token_type_hint", "access_token")],
            Auth::Basic(&id, &secret),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(introspect(&s, &id, &secret, &token).await["active"], false);
    // The revocation feed carries the jti, for gateways.
    let feed = s.store.revocations_since(0, 10).await.unwrap();
    assert_eq!(feed.len(), 1);
    assert_eq!(feed[0].kind, RevocationKind::AccessToken);
    let claims: serde_json::Value = jsonwebtoken::dangerous::insecure_decode(&token)
        .unwrap()
        .claims;
    assert_eq!(feed[0].id, claims["jti"].as_str().unwrap());
    assert_eq!(feed[0].expires_at, claims["exp"].as_i64().unwrap());
    // Revoking twice is harmless.
    let again = s
        .post_form("/revoke", &[("token", &token)], Auth::Basic(&id, &secret))
        .await;
    assert_eq!(again.status, 200);
    assert_eq!(s.store.revocations_since(0, 10).await.unwrap().len(), 1);
}

async fn revoked_opaque_token_is_inactive(s: TestServer) {
    let (id, secret, token) = token_for(&s, Format::Opaque).await;
    assert_eq!(introspect(&s, &id, &secret, &token).await["active"], true);
    let r = s
        .post_form("/revoke", &[("token", &token)], Auth::Basic(&id, &secret))
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(introspect(&s, &id, &secret, &token).await["active"], false);
    assert_eq!(s.store.revocations_since(0, 10).await.unwrap().len(), 1);
}

async fn revocation_is_for_the_owner_only(s: TestServer) {
    let (_, _, token) = token_for(&s, Format::Jwt).await;
    let (other, other_secret) = s.service_client().await;
    s.post_form(
        "/revoke",
        &[("token", &token)],
        Auth::Basic(&other, &other_secret),
    )
    .await
    .assert_error(400, "unauthorized_client", "token.client_mismatch");
    assert!(s.store.revocations_since(0, 10).await.unwrap().is_empty());
}

async fn revocation_of_unknown_tokens_succeeds(s: TestServer) {
    let (id, secret) = s.service_client().await;
    for token in [
        "no-such-token",
        "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.sig",
        "x'; DROP TABLE clients; --",
    ] {
        let r = s
            .post_form("/revoke", &[("token", token)], Auth::Basic(&id, &secret))
            .await;
        assert_eq!(r.status, 200, "{token}: {}", r.text);
    }
    s.post_form("/revoke", &[("token", "x")], Auth::Basic(&id, "wrong"))
        .await
        .assert_error(401, "invalid_client", "client_auth.secret_mismatch");
    // The clients table survived the hostile token.
    assert!(s.store.get_client(&id).await.unwrap().is_some());
}

async fn introspection_requires_a_token_and_a_client(s: TestServer) {
    let (id, secret) = s.service_client().await;
    s.post_form("/introspect", &[], Auth::Basic(&id, &secret))
        .await
        .assert_error(400, "invalid_request", "token_request.missing_parameter");
    s.post_form("/introspect", &[("token", "x")], Auth::None)
        .await
        .assert_error(401, "invalid_client", "client_auth.missing");
    let garbage = introspect(&s, &id, &secret, "\u{1F600}not-a-token").await;
    assert_eq!(garbage["active"], false);
    let r = s.get("/introspect").await;
    r.assert_error(405, "invalid_request", "token_request.not_post");
    assert_eq!(r.header("allow"), Some("POST"));
}
