//! The gateway's admin listener is the admin surface (`candor-admin`): health, readiness and
//! metrics for anyone who reaches it, the call log's queries for the admin token only, and
//! nothing of it on the public listener.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use common::*;

const ADMIN_TOKEN: &str = "admin-token-for-gateway-tests-0123";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_admin_listener_answers_the_call_log_to_the_admin_token_only() {
    let (up, _task) = echo_upstream(None).await;
    let dir = tempfile::tempdir().unwrap();
    let (_store, recorder, log) = call_log_exporting_spans(dir.path()).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let text = format!(
        "[gateway]\nlisten = \"{}\"\ndocs_url = \"{DOCS}\"\nthreads = 2\n{}",
        listener.local_addr().unwrap(),
        route_toml("orders", "/orders", up, "auth = \"none\"")
    );
    let guard = candor_admin::Guard::new(
        Some(candor_proto::secret::digest(ADMIN_TOKEN)),
        Some(DOCS.into()),
    );
    let (admin, stop) = gateway_with_call_log(&text, listener, log, Some(guard)).await;
    let admin = admin.unwrap();

    let get = reqwest::Method::GET;
    assert_eq!(
        call(get.clone(), &format!("{base}/orders/1"), None, &[])
            .await
            .status,
        200
    );
    assert_eq!(
        call(get.clone(), &format!("{base}/orders/2"), None, &[])
            .await
            .status,
        200
    );

    let health = call(get.clone(), &format!("{admin}/healthz"), None, &[]).await;
    assert_eq!((health.status, health.body.as_str()), (200, Some("ok\n")));
    let ready = call(get.clone(), &format!("{admin}/readyz"), None, &[]).await;
    assert_eq!(ready.status, 200);
    assert_eq!(ready.body["status"], "ready");

    // Without the token, or with another: refused, with the challenge and the catalogue's link.
    for token in [None, Some("not-the-admin-token")] {
        let r = call(get.clone(), &format!("{admin}/admin/calls"), token, &[]).await;
        assert_eq!(r.status, 401, "{token:?}");
        assert_eq!(
            r.headers["www-authenticate"],
            "Bearer realm=\"candor-admin\""
        );
        assert_eq!(r.body["diagnosis"], "admin.unauthorized");
        assert_eq!(r.body["error_uri"], format!("{DOCS}/admin.unauthorized"));
    }
    // The public listener serves no part of the admin surface.
    let public = call(
        get.clone(),
        &format!("{base}/admin/calls"),
        Some(ADMIN_TOKEN),
        &[],
    )
    .await;
    assert_eq!(public.status, 404);
    assert!(public.body.get("calls").is_none(), "{:?}", public.body);

    // The two calls, once the recorder has written them.
    let mut seen = Vec::new();
    for _ in 0..100 {
        let r = call(
            get.clone(),
            &format!("{admin}/admin/calls?route=orders"),
            Some(ADMIN_TOKEN),
            &[],
        )
        .await;
        assert_eq!(r.status, 200, "{:?}", r.body);
        seen = r.body["calls"].as_array().cloned().unwrap_or_default();
        if seen.len() == 2 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(seen.len(), 2, "{seen:?}");
    assert_eq!(seen[0]["path"], "/orders/1");

    let bad = call(
        get.clone(),
        &format!("{admin}/admin/calls/stats?by=password"),
        Some(ADMIN_TOKEN),
        &[],
    )
    .await;
    assert_eq!(bad.status, 400);
    assert_eq!(bad.body["diagnosis"], "admin.query_invalid");
    // What it runs now: the route with its upstream in rotation (the admin token only).
    let status = call(
        get.clone(),
        &format!("{admin}/admin/api/v1/gateway"),
        Some(ADMIN_TOKEN),
        &[],
    )
    .await;
    assert_eq!(status.status, 200, "{:?}", status.body);
    let route = &status.body["routes"][0];
    assert_eq!(route["name"], "orders");
    assert_eq!(route["path_prefix"], "/orders");
    assert_eq!(route["auth"], "none");
    assert_eq!(route["upstreams"][0]["available"], true, "{route}");
    assert!(
        route["upstreams"][0]["idle_connections"].as_u64().unwrap() >= 1,
        "{route}"
    );
    let refused = call(
        get.clone(),
        &format!("{admin}/admin/api/v1/gateway"),
        None,
        &[],
    )
    .await;
    assert_eq!(refused.status, 401);
    let unknown = call(get, &format!("{admin}/nothing"), None, &[]).await;
    assert_eq!(unknown.status, 404);
    assert_eq!(unknown.body["diagnosis"], "server.not_found");

    let _ = stop.send(());
    recorder.shutdown().await;
}
