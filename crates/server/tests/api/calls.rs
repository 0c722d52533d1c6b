//! The call log and the metrics of the server's endpoints, on the admin listener.

use std::sync::Arc;
use std::time::Duration;

use candor_calls::{CallLog, CallStore, Filter, Recorder};

use crate::common::{Auth, Backend, TestServer, logs};

crate::both!(
    every_token_request_is_recorded_without_secrets,
    the_token_endpoint_limits_by_address_and_by_authenticated_client,
    the_admin_listener_serves_metrics_and_the_guarded_api,
    a_token_request_joins_its_callers_trace,
    only_registered_client_ids_are_recorded_or_logged,
);

const ADMIN_TOKEN: &str = "admin-token-for-tests-0123456789";

async fn attach(s: &TestServer) -> Arc<CallLog> {
    attach_with(s, None).await
}

async fn attach_with(s: &TestServer, otlp: Option<candor_calls::OtlpSettings>) -> Arc<CallLog> {
    let url = match s.backend {
        Backend::Sqlite => format!("sqlite://{}", s.dir.path().join("calls.db").display()),
        Backend::Postgres => s.db_url.clone(),
    };
    let store = CallStore::open(&url).await.unwrap();
    let recorder = Recorder::start(
        store,
        candor_calls::Settings {
            node: "test".into(),
            flush_every: Duration::from_millis(50),
            otlp,
            ..candor_calls::Settings::default()
        },
    );
    let log = Arc::new(CallLog::new(recorder));
    s.app.attach_call_log(log.clone());
    s.app.attach_admin(candor_admin::Guard::new(
        Some(candor_proto::secret::digest(ADMIN_TOKEN)),
        // What `candor serve` gives it: the server's own catalogue pages.
        Some(candor_proto::error::docs_base(&s.base)),
    ));
    log
}

async fn a_token_request_joins_its_callers_trace(s: TestServer) {
    let log = attach_with(
        &s,
        Some(candor_calls::OtlpSettings {
            // Nothing listens there: the export fails and is counted; the log keeps the trace.
            endpoint: "http://127.0.0.1:9".into(),
            headers: Vec::new(),
            logs: true,
            traces: true,
            timeout: Duration::from_secs(1),
        }),
    )
    .await;
    let (id, secret) = s.service_client().await;
    let res = reqwest::Client::new()
        .post(format!("{}/token", s.base))
        .basic_auth(&id, Some(&secret))
        .header(
            "traceparent",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        )
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    log.recorder.shutdown().await;
    let calls = log
        .recorder
        .store()
        .tail(&Filter::default(), None, None, 10)
        .await
        .unwrap();
    assert_eq!(calls.len(), 1);
    assert_eq!(
        calls[0].trace_id.as_deref(),
        Some("4bf92f3577b34da6a3ce929d0e0e4736")
    );
    assert_eq!(calls[0].parent_span_id.as_deref(), Some("00f067aa0ba902b7"));
    assert!(calls[0].span_id.as_deref().is_some_and(|s| s.len() == 16));
}

async fn every_token_request_is_recorded_without_secrets(s: TestServer) {
    let log = attach(&s).await;
    let (id, secret) = s.service_client().await;
    let token = s.cc_token(&id, &secret, Some("read")).await;
    let refused = s
        .post_form(
            "/token?code=leaked-code",
            &[("grant_type", "client_credentials")],
            Auth::Basic(&id, "wrong-secret-value"),
        )
        .await;
    assert_eq!(refused.status, 401);
    // Not an endpoint the call log records.
    s.get("/jwks").await;
    log.recorder.shutdown().await;

    let calls = log
        .recorder
        .store()
        .tail(&Filter::default(), None, None, 100)
        .await
        .unwrap();
    assert_eq!(calls.len(), 2, "{calls:?}");
    let (ok, no) = (&calls[0], &calls[1]);
    assert_eq!(
        (ok.source.as_str(), ok.route.as_str(), ok.method.as_str()),
        ("server", "token", "POST")
    );
    assert_eq!(ok.status, 200);
    assert_eq!(ok.client_id.as_deref(), Some(id.as_str()));
    assert_eq!(ok.scopes.as_deref(), Some("read"));
    assert_eq!(ok.issuer.as_deref(), Some(s.base.as_str()));
    assert!(ok.diagnosis.is_none());
    assert!(
        ok.request_id.as_deref().is_some_and(|r| r.len() >= 16),
        "the server's request id"
    );
    assert_eq!(no.status, 401);
    assert_eq!(no.diagnosis.as_deref(), Some("client_auth.secret_mismatch"));
    assert_eq!(no.client_id.as_deref(), Some(id.as_str()));
    assert_eq!(no.path, "/token", "no query string");

    let text = serde_json::to_string(&calls).unwrap();
    for secret in [
        secret.as_str(),
        "wrong-secret-value",
        "leaked-code",
        token["access_token"].as_str().unwrap(),
    ] {
        assert!(!text.contains(secret), "a secret reached the call log");
    }
}

async fn the_admin_listener_serves_metrics_and_the_guarded_api(s: TestServer) {
    let log = attach(&s).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let admin = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(candor_server::serve_admin(
        listener,
        s.app.clone(),
        std::future::pending(),
    ));
    let (id, secret) = s.service_client().await;
    s.cc_token(&id, &secret, None).await;
    s.cc_token(&id, &secret, None).await;
    s.post_form(
        "/token",
        &[("grant_type", "client_credentials")],
        Auth::Basic(&id, "nope"),
    )
    .await;

    let metrics = s
        .http
        .get(format!("{admin}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for line in [
        "candor_server_tokens_issued_total{grant=\"client_credentials\"} 2",
        "candor_server_tokens_issued_total{grant=\"refresh_token\"} 0",
        "candor_server_requests_total{endpoint=\"token\",status=\"200\",diagnosis=\"\"} 2",
        "candor_server_requests_total{endpoint=\"token\",status=\"401\",diagnosis=\"client_auth.secret_mismatch\"} 1",
        "candor_server_request_duration_seconds_count{endpoint=\"token\"} 3",
        "candor_server_revocation_feed_entries 0",
        "candor_calls_dropped_total 0",
    ] {
        assert!(metrics.contains(line), "missing {line}\n{metrics}");
    }
    assert!(metrics.contains("candor_server_db_connections_max "));
    // The public listener has no metrics.
    assert_eq!(s.get("/metrics").await.status, 404);

    // The API: no token, a wrong one, the right one.
    let url = format!("{admin}/admin/calls/stats?since=1h&by=diagnosis");
    let r = s.http.get(&url).send().await.unwrap();
    assert_eq!(r.status(), 401);
    assert!(r.headers().get("www-authenticate").is_some());
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["diagnosis"], "admin.unauthorized");
    // Its link is a page the server serves (it once doubled `/docs/errors`).
    let uri = body["error_uri"].as_str().unwrap();
    assert_eq!(uri, format!("{}/docs/errors/admin.unauthorized", s.base));
    assert_eq!(s.http.get(uri).send().await.unwrap().status(), 200, "{uri}");
    let r = s
        .http
        .get(&url)
        .bearer_auth("not-the-admin-token")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let bad = s
        .http
        .get(format!("{admin}/admin/calls/stats?by=password"))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
    let body: serde_json::Value = bad.json().await.unwrap();
    assert_eq!(body["diagnosis"], "admin.query_invalid");

    // Written within the flush interval; the stats then count what was sent.
    let mut rows = serde_json::Value::Null;
    for _ in 0..100 {
        let r: serde_json::Value = s
            .http
            .get(&url)
            .bearer_auth(ADMIN_TOKEN)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        rows = r["rows"].clone();
        let total: u64 = rows.as_array().map_or(0, |a| {
            a.iter().map(|r| r["calls"].as_u64().unwrap_or(0)).sum()
        });
        if total == 3 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let rows = rows.as_array().cloned().unwrap_or_default();
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert_eq!(
        (
            rows[0]["group"]["diagnosis"].is_null(),
            rows[0]["calls"].as_u64()
        ),
        (true, Some(2))
    );
    assert_eq!(rows[1]["group"]["diagnosis"], "client_auth.secret_mismatch");
    assert_eq!(rows[1]["errors"], 1);

    let tail: serde_json::Value = s
        .http
        .get(format!("{admin}/admin/calls?status=4xx"))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(tail["calls"].as_array().map(Vec::len), Some(1));
    assert_eq!(tail["calls"][0]["status"], 401);
    log.recorder.shutdown().await;
}

fn token_limits(settings: &mut candor_server::Settings) {
    let policy = |name: &str, burst| {
        candor_limit::Policy::new(name, "1/min".parse().unwrap(), burst).unwrap()
    };
    settings.rate_limits.token = vec![
        (policy("server:token:0", 3), candor_limit::KeyKind::ClientId),
        (policy("server:token:1", 6), candor_limit::KeyKind::Ip),
    ];
}

async fn the_token_endpoint_limits_by_address_and_by_authenticated_client(s: TestServer) {
    // The harness's server, restarted with limits: 3 per client, 6 per address.
    let s = TestServer::start_with(s.backend, token_limits)
        .await
        .unwrap();
    let (id, secret) = s.service_client().await;
    // Wrong secrets: refused for themselves, and not counted against the client (only an
    // authenticated client spends its budget) — but counted against the address.
    for _ in 0..2 {
        let r = s
            .post_form(
                "/token",
                &[("grant_type", "client_credentials")],
                Auth::Basic(&id, "wrong"),
            )
            .await;
        assert_eq!(r.status, 401);
    }
    for _ in 0..3 {
        s.cc_token(&id, &secret, None).await;
    }
    // The client's fourth: its own budget of 3 is spent.
    let r = s
        .post_form(
            "/token",
            &[("grant_type", "client_credentials")],
            Auth::Basic(&id, &secret),
        )
        .await;
    r.assert_error(429, "temporarily_unavailable", "rate_limit.exceeded");
    assert!(
        r.header("retry-after")
            .is_some_and(|v| v.parse::<u64>().unwrap_or(0) >= 1)
    );
    assert_eq!(
        r.header("ratelimit-policy"),
        Some("\"server:token:0\";q=1;w=60;candor-burst=3")
    );
    // The address has spent its 6 (2 wrong, 3 granted, the refused fourth): now anyone from
    // it is refused, before authentication.
    let (other, other_secret) = s.service_client().await;
    let r = s
        .post_form(
            "/token",
            &[("grant_type", "client_credentials")],
            Auth::Basic(&other, &other_secret),
        )
        .await;
    r.assert_error(429, "temporarily_unavailable", "rate_limit.exceeded");
    assert_eq!(
        r.header("ratelimit-policy"),
        Some("\"server:token:1\";q=1;w=60;candor-burst=6")
    );
}

/// Issue 18, finding 13: a client_id reaches the call log (and the log's `client_id` field)
/// only once a registered client has it. Made-up ids do not become `client` groups, and a
/// caller that swaps client_id and client_secret does not write its secret anywhere.
async fn only_registered_client_ids_are_recorded_or_logged(s: TestServer) {
    let log = attach(&s).await;
    let (id, secret) = s.service_client().await;
    for n in 0..5 {
        let made_up = format!("made-up-client-{n}");
        s.post_form(
            "/token",
            &[("grant_type", "client_credentials")],
            Auth::Basic(&made_up, "whatever"),
        )
        .await
        .assert_error(401, "invalid_client", "client_auth.unknown_client");
    }
    // Swapped in the Basic header, then in the body.
    s.post_form(
        "/token",
        &[("grant_type", "client_credentials")],
        Auth::Basic(&secret, &id),
    )
    .await
    .assert_error(401, "invalid_client", "client_auth.unknown_client");
    s.post_form(
        "/token",
        &[
            ("grant_type", "client_credentials"),
            ("client_id", &secret),
            ("client_secret", &id),
        ],
        Auth::None,
    )
    .await
    .assert_error(401, "invalid_client", "client_auth.unknown_client");
    let page = s
        .get("/authorize?response_type=code&client_id=made-up-browser-client&redirect_uri=https%3A%2F%2Fapp.example%2Fcb")
        .await;
    assert_eq!(page.status, 400, "{}", page.text);
    // A registered client is still recorded, authenticated or not.
    s.cc_token(&id, &secret, None).await;
    s.post_form(
        "/token",
        &[("grant_type", "client_credentials")],
        Auth::Basic(&id, "wrong-secret-value"),
    )
    .await
    .assert_error(401, "invalid_client", "client_auth.secret_mismatch");
    log.recorder.shutdown().await;

    let calls = log
        .recorder
        .store()
        .tail(&Filter::default(), None, None, 100)
        .await
        .unwrap();
    assert_eq!(calls.len(), 10, "{calls:?}");
    let recorded: Vec<Option<&str>> = calls.iter().map(|c| c.client_id.as_deref()).collect();
    let mut expected = vec![None; 8];
    expected.extend([Some(id.as_str()), Some(id.as_str())]);
    assert_eq!(recorded, expected);
    let text = serde_json::to_string(&calls).unwrap();
    assert!(!text.contains(&secret), "the secret reached the call log");
    assert!(
        !text.contains("made-up"),
        "an unregistered id reached the call log"
    );
    let logged = logs();
    assert!(
        logged.contains("client_auth.unknown_client"),
        "the refusals are logged"
    );
    assert!(!logged.contains(&secret), "the secret reached the log");
    assert!(
        !logged.contains("made-up"),
        "an unregistered id reached the log"
    );
}
