use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use tower::ServiceExt;

use super::*;

const TOKEN: &str = "admin-token-for-unit-tests-0123";
const NOW: i64 = 1_800_000_000;

struct TestHost {
    down: AtomicBool,
    guard: Guard,
}

#[async_trait::async_trait]
impl Host for TestHost {
    fn now(&self) -> i64 {
        NOW
    }
    fn guard(&self) -> Guard {
        self.guard.clone()
    }
    async fn readiness(&self) -> Readiness {
        if self.down.load(Ordering::Relaxed) {
            Readiness::unavailable().with("reasons", vec!["the feed is not loaded yet"])
        } else {
            Readiness::ready().with("store", "sqlite")
        }
    }
    async fn metrics(&self, registry: &mut candor_metrics::Registry) {
        candor_metrics::build_info::register(registry);
    }
}

fn surface(
    token: Option<&str>,
    calls: Option<Arc<candor_calls::CallLog>>,
) -> (Router, Arc<TestHost>) {
    let host = Arc::new(TestHost {
        down: AtomicBool::new(false),
        guard: Guard::new(
            token.map(candor_proto::secret::digest),
            Some("https://id.example/docs/errors".into()),
        ),
    });
    (router(Surface::new(calls, host.clone())), host)
}

async fn get(
    router: &Router,
    path: &str,
    bearer: Option<&str>,
) -> (StatusCode, axum::http::HeaderMap, String) {
    let mut req = Request::get(path);
    if let Some(t) = bearer {
        req = req.header(header::AUTHORIZATION, format!("Bearer {t}"));
    }
    let res = router
        .clone()
        .oneshot(req.body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = res.status();
    let headers = res.headers().clone();
    let body = axum::body::to_bytes(res.into_body(), 1 << 20)
        .await
        .unwrap();
    (status, headers, String::from_utf8(body.to_vec()).unwrap())
}

fn json(body: &str) -> serde_json::Value {
    serde_json::from_str(body).unwrap()
}

#[tokio::test]
async fn health_and_readiness_need_no_credential_and_follow_the_host() {
    let (router, host) = surface(Some(TOKEN), None);
    let (status, _, body) = get(&router, "/healthz", None).await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, "ok\n"));

    let (status, headers, body) = get(&router, "/readyz", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        json(&body),
        serde_json::json!({"status": "ready", "store": "sqlite"})
    );
    assert_eq!(headers[header::CACHE_CONTROL], "no-store");

    host.down.store(true, Ordering::Relaxed);
    let (status, _, body) = get(&router, "/readyz", None).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(json(&body)["status"], "unavailable");
    assert_eq!(json(&body)["reasons"][0], "the feed is not loaded yet");
}

#[tokio::test]
async fn metrics_are_prometheus_text_of_the_hosts_collectors() {
    let (router, _) = surface(None, None);
    let (status, headers, body) = get(&router, "/metrics", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers[header::CONTENT_TYPE], candor_metrics::CONTENT_TYPE);
    assert!(body.contains("candor_build_info{"), "{body}");
}

#[tokio::test]
async fn the_call_log_answers_only_the_admin_token() {
    let (router, _) = surface(Some(TOKEN), None);
    for (bearer, why) in [
        (None, "send the admin token"),
        (Some("not-the-admin-token"), "is not the admin token"),
    ] {
        let (status, headers, body) = get(&router, "/admin/calls", bearer).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{bearer:?}");
        assert_eq!(
            headers[header::WWW_AUTHENTICATE],
            "Bearer realm=\"candor-admin\""
        );
        let body = json(&body);
        assert_eq!(body["diagnosis"], "admin.unauthorized");
        assert_eq!(
            body["error_uri"],
            "https://id.example/docs/errors/admin.unauthorized"
        );
        assert!(
            body["error_description"].as_str().unwrap().contains(why),
            "{body}"
        );
    }
    // With the token, a process without a call log says so (not before the token is checked).
    let (status, _, body) = get(&router, "/admin/calls/stats", Some(TOKEN)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(body.contains("the call log is off"), "{body}");
}

#[tokio::test]
async fn without_a_configured_token_every_admin_request_is_refused() {
    let (router, _) = surface(None, None);
    let (status, _, body) = get(&router, "/admin/calls", Some(TOKEN)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(body.contains("no admin token is configured"), "{body}");
}

#[tokio::test]
async fn the_queries_read_the_call_log_and_refuse_bad_parameters() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("calls.db").display());
    let store = candor_calls::CallStore::open(&url).await.unwrap();
    let recorder = candor_calls::Recorder::start(store, candor_calls::Settings::default());
    let log = Arc::new(candor_calls::CallLog::new(recorder));
    let (router, _) = surface(Some(TOKEN), Some(log.clone()));

    let (status, _, body) = get(&router, "/admin/calls?limit=5&after=7", Some(TOKEN)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // Nothing written yet: an empty page that continues after the id it was given.
    assert_eq!(json(&body), serde_json::json!({"calls": [], "after": 7}));

    let (status, _, body) = get(
        &router,
        "/admin/calls/stats?since=2h&by=diagnosis",
        Some(TOKEN),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let body = json(&body);
    assert_eq!(body["since"], NOW - 7200);
    assert_eq!(body["until"], NOW);
    assert_eq!(body["by"], serde_json::json!(["diagnosis"]));

    let (status, _, body) = get(&router, "/admin/calls/stats?by=password", Some(TOKEN)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(json(&body)["diagnosis"], "admin.query_invalid");
    log.recorder.shutdown().await;
}

#[tokio::test]
async fn an_unknown_path_is_the_catalogues_not_found() {
    let (router, _) = surface(Some(TOKEN), None);
    let (status, _, body) = get(&router, "/admin/nothing", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let body = json(&body);
    assert_eq!(body["diagnosis"], "server.not_found");
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("/admin/nothing")
    );
}
