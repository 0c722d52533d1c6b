//! The identity events' log without a server: what a flood costs (bounded queues, counted
//! drops), what the OTLP export sends, what is purged, and how fast events are written.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use candor_calls::events::webhook::WebhookSettings;
use candor_calls::{
    AuditEvent, CallStore, EventLog, EventQuery, EventSettings, IdentityEvent, Kind, OtlpSettings,
};
use candor_proto::Code;
use serde_json::Value;

fn get(n: &AtomicU64) -> u64 {
    n.load(Ordering::Relaxed)
}

/// Waits until `done` holds, checking every few milliseconds; fails after a minute (a hang,
/// not a slow machine).
async fn until(mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !done() {
        assert!(Instant::now() < deadline, "never happened");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

fn failed_sign_in() -> IdentityEvent {
    let mut e = IdentityEvent::new(Kind::SigninFailed);
    e.cause = Some(Code::LoginUnknownUser);
    e.client_id = Some("photos".into());
    e.address = Some("203.0.113.7".into());
    e
}

/// Many failed sign-ins (an anonymous caller's doing) while the webhook's receiver never
/// answers: memory stays bounded by the queues, and every event is either held or counted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_with_a_receiver_that_hangs_costs_bounded_memory() {
    // Accepts connections and never answers.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let held = Arc::new(Mutex::new(Vec::new()));
    let keep = held.clone();
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            keep.lock().unwrap().push(socket);
        }
    });
    let log = EventLog::start(
        None,
        EventSettings {
            queue: 64,
            webhooks: vec![WebhookSettings {
                name: "hangs".into(),
                url,
                key: vec![7; 32],
                kinds: vec![Kind::SigninFailed],
                timeout: Duration::from_secs(300),
                attempts: 3,
                backoff: Duration::from_secs(1),
                queue: 4,
            }],
            ..EventSettings::default()
        },
    )
    .unwrap();
    const N: u64 = 20_000;
    for _ in 0..N {
        log.record(failed_sign_in());
    }
    let c = log.counters();
    assert_eq!(
        get(&c.queued) + get(&c.dropped),
        N,
        "every event held or counted"
    );
    let hook = &log.webhooks()[0];
    until(|| get(&hook.counters().dropped) + hook.queued_now() as u64 == get(&c.queued)).await;
    assert!(
        hook.queued_now() <= 5,
        "at most the queue and one in flight: {}",
        hook.queued_now()
    );
    assert!(log.queued_now() <= 64);
    assert_eq!(get(&hook.counters().delivered), 0);
}

/// With `[calls.otlp]`, identity events and audit events become OTLP log records.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_and_audit_events_are_exported_as_log_records() {
    let bodies: Arc<Mutex<Vec<(String, Value)>>> = Arc::default();
    let seen = bodies.clone();
    let app = axum::Router::new().route(
        "/v1/{signal}",
        axum::routing::post(
            move |axum::extract::Path(signal): axum::extract::Path<String>,
                  axum::Json(body): axum::Json<Value>| async move {
                seen.lock().unwrap().push((signal, body));
                "{}"
            },
        ),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    let log = EventLog::start(
        None,
        EventSettings {
            node: "web-1".into(),
            otlp: Some(OtlpSettings {
                endpoint,
                headers: Vec::new(),
                logs: true,
                traces: true,
                timeout: Duration::from_secs(10),
            }),
            ..EventSettings::default()
        },
    )
    .unwrap();
    let event = failed_sign_in();
    log.record(event.clone());
    log.export_audit(&AuditEvent {
        id: 0,
        at_us: 1_800_000_000_000_000,
        actor: "admin-token".into(),
        action: "client.update".into(),
        object: "client:photos".into(),
        changes: serde_json::json!({"scope": {"before": "a", "after": "a b"}}),
        address: Some("10.0.0.1".into()),
        request_id: None,
    });
    // Shutting down exports what is queued.
    log.shutdown(Duration::from_secs(10)).await;
    assert_eq!(get(&log.otlp_counters().unwrap().exported), 2);
    let bodies = bodies.lock().unwrap().clone();
    assert!(
        bodies.iter().all(|(signal, _)| signal == "logs"),
        "events are not spans"
    );
    let record = |scope: &str| -> Value {
        bodies
            .iter()
            .map(|(_, b)| &b["resourceLogs"][0]["scopeLogs"][0])
            .find(|s| s["scope"]["name"] == scope)
            .unwrap_or_else(|| panic!("no {scope} in {bodies:?}"))["logRecords"][0]
            .clone()
    };
    let attribute = |r: &Value, key: &str| -> Value {
        r["attributes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["key"] == key)
            .map(|a| a["value"]["stringValue"].clone())
            .unwrap_or(Value::Null)
    };
    let e = record("candor.events");
    assert_eq!(e["severityText"], "WARN");
    assert_eq!(e["body"]["stringValue"], "signin.failed login.unknown_user");
    assert_eq!(attribute(&e, "event.name"), "signin.failed");
    assert_eq!(attribute(&e, "candor.event.id"), event.uid.as_str());
    assert_eq!(attribute(&e, "client.address"), "203.0.113.7");
    assert_eq!(attribute(&e, "user.id"), Value::Null);
    let a = record("candor.audit");
    assert_eq!(
        a["body"]["stringValue"],
        "client.update client:photos by admin-token"
    );
    assert_eq!(attribute(&a, "candor.actor"), "admin-token");
    assert_eq!(a["timeUnixNano"], "1800000000000000000");
}

/// Events are written in batches with their rollup sums; a quick figure of how many a second
/// (printed, not asserted), then the retention purge.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_are_written_in_batches_and_purged() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("calls.db").display());
    let store = CallStore::open(&url).await.unwrap();
    let log = EventLog::start(Some(store.clone()), EventSettings::default()).unwrap();
    const N: u64 = 20_000;
    let started = Instant::now();
    let mut recorded = 0;
    while recorded < N {
        // As fast as the queue takes them: what the writer keeps up with.
        if log.queued_now() < 5_000 {
            log.record(failed_sign_in());
            recorded += 1;
        } else {
            tokio::task::yield_now().await;
        }
    }
    let c = log.counters();
    until(|| get(&c.written) == N).await;
    let elapsed = started.elapsed();
    println!(
        "{N} identity events written in {elapsed:?}: {:.0} a second (SQLite, with rollups)",
        N as f64 / elapsed.as_secs_f64()
    );
    assert_eq!(get(&c.dropped), 0);
    let latest = store
        .events(&EventQuery {
            limit: 10,
            ..EventQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(latest.len(), 10);
    assert!(latest.windows(2).all(|w| w[0].id < w[1].id), "oldest first");
    assert_eq!(latest[0].cause.as_deref(), Some("login.unknown_user"));
    let purged = store
        .purge_events(candor_calls::record::now_us() + 1)
        .await
        .unwrap();
    assert_eq!(purged, N);
    log.shutdown(Duration::from_secs(1)).await;
}
