//! The revocation feed over HTTP (`GET /revocations`): who may read it, and how the caller's
//! credentials may come.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use candor_proto::client_auth::AuthMethod;
use candor_server::clients::NewClient;

use crate::common::{Response, TestServer, logs};

crate::both!(client_credentials_never_come_in_the_feeds_query);

async fn feed_client(s: &TestServer, method: AuthMethod) -> (String, String) {
    let mut new = NewClient::new("gateway");
    new.scopes = vec!["candor:revocations".into()];
    new.auth_method = method;
    let (id, secret) = s.register(new).await;
    (id, secret.expect("secret"))
}

async fn get(s: &TestServer, path_and_query: &str, basic: Option<(&str, &str)>) -> Response {
    let mut req = s.http.get(s.url(path_and_query));
    if let Some((id, secret)) = basic {
        req = req.header(
            "authorization",
            format!("Basic {}", STANDARD.encode(format!("{id}:{secret}"))),
        );
    }
    let r = req.send().await.expect("request");
    Response {
        status: r.status(),
        headers: r.headers().clone(),
        text: r.text().await.expect("body"),
    }
}

/// Issue 18: a client secret (or assertion) in a URL ends up in access logs, proxies and
/// browser history; the feed takes credentials from the Authorization header only.
async fn client_credentials_never_come_in_the_feeds_query(s: TestServer) {
    let (basic_id, basic_secret) = feed_client(&s, AuthMethod::ClientSecretBasic).await;
    let (post_id, post_secret) = feed_client(&s, AuthMethod::ClientSecretPost).await;

    let ok = get(&s, "/revocations?after=0", Some((&basic_id, &basic_secret))).await;
    assert_eq!(ok.status, 200, "{}", ok.text);
    assert!(ok.json()["entries"].is_array(), "{}", ok.text);

    let refused = [
        get(
            &s,
            &format!("/revocations?after=0&client_id={post_id}&client_secret={post_secret}"),
            None,
        )
        .await,
        // Even beside valid Basic credentials.
        get(
            &s,
            &format!("/revocations?client_secret={post_secret}"),
            Some((&basic_id, &basic_secret)),
        )
        .await,
        get(
            &s,
            "/revocations?client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer&client_assertion=eyJhbGciOiJFUzI1NiJ9.e30.c2ln",
            None,
        )
        .await,
    ];
    for r in &refused {
        let body = r.assert_error(400, "invalid_request", "token_request.invalid_parameter");
        let description = body["error_description"].as_str().unwrap();
        assert!(description.contains("query"), "{description}");
        assert!(!r.text.contains(&post_secret), "the secret is not echoed");
    }
    assert!(!logs().contains(&post_secret), "the secret is not logged");
}
