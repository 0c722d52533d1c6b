//! Several nodes on one database, and what happens when the database goes away.

use candor_proto::client_auth::{AuthMethod, JWT_BEARER_ASSERTION};
use candor_proto::jose::{SigningAlg, SigningKey};
use candor_server::clients::NewClient;
use serde_json::json;

use crate::common::{Auth, Backend, TestServer};

crate::both!(
    nodes_share_clients_keys_and_revocations,
    an_assertion_is_single_use_across_nodes,
);

async fn nodes_share_clients_keys_and_revocations(a: TestServer) {
    let b = a.second_node().await;
    // Node b's clock runs 30 s ahead: within the leeway, its tokens are valid at node a.
    b.clock.advance(30);
    // A client registered through one node authenticates at the other.
    let (id, secret) = a.service_client().await;
    let token = b.cc_token(&id, &secret, Some("read")).await["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    // Both nodes share the keys: a token from one introspects active at the other.
    let active = a
        .post_form(
            "/introspect",
            &[("token", &token)],
            Auth::Basic(&id, &secret),
        )
        .await
        .json();
    assert_eq!(active["active"], true);
    // A revocation at one node is seen by the other.
    let r = a
        .post_form("/revoke", &[("token", &token)], Auth::Basic(&id, &secret))
        .await;
    assert_eq!(r.status, 200);
    let inactive = b
        .post_form(
            "/introspect",
            &[("token", &token)],
            Auth::Basic(&id, &secret),
        )
        .await
        .json();
    assert_eq!(inactive["active"], false);
    // A rotation made through one node reaches the other on its next key reload.
    let now = a.app.now();
    let rotation = candor_server::keys::rotate(
        a.store.as_ref(),
        &a.master,
        SigningAlg::Es256,
        now,
        now,
        3600,
    )
    .await
    .unwrap();
    b.app.keys().reload_at(b.app.now()).await.unwrap();
    let jwks = b.get("/jwks").await.text;
    assert!(
        jwks.contains(&rotation.new_kid),
        "node b publishes the new key"
    );
    let from_b = b.cc_token(&id, &secret, None).await;
    let kid = jsonwebtoken::decode_header(from_b["access_token"].as_str().unwrap())
        .unwrap()
        .kid
        .unwrap();
    assert_eq!(kid, rotation.new_kid, "node b signs with the new key");
}

async fn an_assertion_is_single_use_across_nodes(a: TestServer) {
    let b = a.second_node().await;
    let (key, _) = SigningKey::generate(SigningAlg::Es256).unwrap();
    let mut new = NewClient::new("pk");
    new.auth_method = AuthMethod::PrivateKeyJwt;
    new.jwks = Some(json!({"keys": [key.public_jwk()]}).to_string());
    let (id, _) = a.register(new).await;
    let assertion = key
        .sign(
            "JWT",
            &json!({"iss": id, "sub": id, "aud": a.url("/token"), "exp": a.app.now() + 60, "jti": "cross-node"}),
        )
        .unwrap();
    let form = [
        ("grant_type", "client_credentials"),
        ("client_assertion_type", JWT_BEARER_ASSERTION),
        ("client_assertion", assertion.as_str()),
    ];
    let (ra, rb) = tokio::join!(
        a.post_form("/token", &form, Auth::None),
        b.post_form("/token", &form, Auth::None)
    );
    let ok = [&ra, &rb].iter().filter(|r| r.status == 200).count();
    assert_eq!(
        ok, 1,
        "one node accepts, the other sees a replay: {} / {}",
        ra.text, rb.text
    );
}

/// PostgreSQL only: an SQLite file cannot go away under an open connection.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_lost_database_is_a_503_and_a_500_not_a_crash() {
    let Some(s) = TestServer::start(Backend::Postgres).await else {
        return;
    };
    let (id, secret) = s.service_client().await;
    // Drop the database under the running server.
    let base = std::env::var("CANDOR_TEST_POSTGRES_URL").unwrap();
    candor_store::testing::drop_postgres_database(&base, &s.db_url)
        .await
        .unwrap();
    let ready = s.get("/readyz").await;
    assert_eq!(ready.status, 503, "{}", ready.text);
    assert_eq!(ready.json()["status"], "unavailable");
    // A client lookup needs the database: a clean 500 with the error shape and no details.
    let r = s
        .post_form(
            "/token",
            &[("grant_type", "client_credentials")],
            Auth::Basic(&id, &secret),
        )
        .await;
    let body = r.assert_error(500, "server_error", "server.internal");
    let d = body["error_description"].as_str().unwrap();
    assert!(!d.contains("sqlx") && !d.contains("database"), "{d}");
    assert_eq!(s.get("/healthz").await.status, 200, "the process is alive");
    assert!(crate::common::logs().contains("server.internal"));
}
