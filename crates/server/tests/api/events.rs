//! Identity events (docs/admin-api.md, "Identity events"): recorded by a real sign-in through
//! the real server, listed and counted by the admin API, and delivered to real webhook
//! receivers on ephemeral ports, whose signatures are checked with an HMAC of their own
//! (aws-lc-rs, not the server's hmac crate).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use candor_calls::events::webhook::WebhookSettings;
use candor_calls::{CallLog, CallStore, EventLog, EventSettings, IdentityEvent, Kind, Recorder};
use candor_server::clients::NewClient;
use serde_json::Value;

use crate::common::{Auth, Backend, TestServer};
use crate::flow::{
    Browser, PASSWORD, authorize_url, login, pkce, refresh, setup, standard, tokens,
};

crate::both!(a_real_sign_in_leaves_identity_events_counted_and_signed_webhooks,);

const ADMIN_TOKEN: &str = "admin-token-for-events-tests-0123456";

/// One request a receiver saw: its headers and body.
type Delivery = (HeaderMap, Vec<u8>);

/// What a receiver saw.
#[derive(Clone, Default)]
struct Seen(Arc<Mutex<Vec<Delivery>>>);

impl Seen {
    fn all(&self) -> Vec<Delivery> {
        self.0.lock().unwrap().clone()
    }
}

/// A receiver on an ephemeral port that answers 503 to its first `failures` requests, then
/// 204 (`u32::MAX`: always 500).
async fn receiver(failures: u32) -> (String, Seen) {
    let seen = Seen::default();
    let state = (seen.clone(), Arc::new(Mutex::new(0u32)), failures);
    let app = axum::Router::new()
        .route(
            "/hook",
            axum::routing::post(
                |State((seen, count, failures)): State<(Seen, Arc<Mutex<u32>>, u32)>,
                 headers: HeaderMap,
                 body: axum::body::Bytes| async move {
                    seen.0.lock().unwrap().push((headers, body.to_vec()));
                    let mut n = count.lock().unwrap();
                    *n += 1;
                    if failures == u32::MAX {
                        StatusCode::INTERNAL_SERVER_ERROR
                    } else if *n <= failures {
                        StatusCode::SERVICE_UNAVAILABLE
                    } else {
                        StatusCode::NO_CONTENT
                    }
                },
            ),
        )
        .with_state(state);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, seen)
}

/// A fresh Standard Webhooks secret and its key.
fn secret() -> (String, Vec<u8>) {
    let key: [u8; 32] = rand_bytes();
    (format!("whsec_{}", STANDARD.encode(key)), key.to_vec())
}

fn rand_bytes() -> [u8; 32] {
    let mut key = [0u8; 32];
    aws_lc_rs::rand::fill(&mut key).unwrap();
    key
}

fn webhook(name: &str, url: &str, secret: &str, kinds: &[Kind], attempts: u32) -> WebhookSettings {
    WebhookSettings {
        name: name.into(),
        url: url.into(),
        key: candor_calls::events::webhook::secret_key(secret).unwrap(),
        kinds: kinds.to_vec(),
        timeout: Duration::from_secs(5),
        attempts,
        backoff: Duration::from_millis(10),
        queue: 100,
    }
}

/// Checks a delivery as a receiver would, with its own HMAC: the signature is of
/// `id.timestamp.body` under `key`.
fn verify(key: &[u8], headers: &HeaderMap, body: &[u8]) -> Value {
    let h = |n: &str| headers.get(n).unwrap().to_str().unwrap().to_string();
    let (id, timestamp, signature) = (
        h("webhook-id"),
        h("webhook-timestamp"),
        h("webhook-signature"),
    );
    let mut signed = format!("{id}.{timestamp}.").into_bytes();
    signed.extend_from_slice(body);
    let mac = aws_lc_rs::hmac::sign(
        &aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, key),
        &signed,
    );
    assert_eq!(
        signature,
        format!("v1,{}", STANDARD.encode(mac.as_ref())),
        "the signature verifies"
    );
    assert_eq!(h("content-type"), "application/json");
    let json: Value = serde_json::from_slice(body).unwrap();
    assert_eq!(
        json["data"]["id"],
        id.as_str(),
        "webhook-id is the event's id"
    );
    assert_eq!(json["type"], json["data"]["kind"]);
    json
}

/// The call log and the event log, attached to `s`; and the admin listener's base URL.
async fn attach(s: &TestServer, webhooks: Vec<WebhookSettings>) -> (Arc<EventLog>, String) {
    let url = match s.backend {
        Backend::Sqlite => format!("sqlite://{}", s.dir.path().join("calls.db").display()),
        Backend::Postgres => s.db_url.clone(),
    };
    let store = CallStore::open(&url).await.unwrap();
    let recorder = Recorder::start(
        store.clone(),
        candor_calls::Settings {
            node: "test".into(),
            flush_every: Duration::from_millis(50),
            ..candor_calls::Settings::default()
        },
    );
    s.app.attach_call_log(Arc::new(CallLog::new(recorder)));
    let events = EventLog::start(
        Some(store),
        EventSettings {
            node: "test".into(),
            webhooks,
            ..EventSettings::default()
        },
    )
    .unwrap();
    s.app.attach_events(events.clone());
    s.app.attach_admin(candor_admin::Guard::new(
        Some(candor_proto::secret::digest(ADMIN_TOKEN)),
        Some(candor_proto::error::docs_base(&s.base)),
    ));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let admin = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(candor_server::serve_admin(
        listener,
        s.app.clone(),
        std::future::pending(),
    ));
    (events, admin)
}

/// A browser at the sign-in page of `setup`'s client.
async fn sign_in_page(
    s: &TestServer,
    setup: &crate::flow::Setup,
    scope: &str,
) -> (Browser, crate::common::Response) {
    let b = Browser::new();
    let p = pkce();
    let page = b.get(&authorize_url(s, &standard(setup, &p, scope))).await;
    (b, page)
}

/// The admin listener's `/metrics`.
async fn scrape(admin: &str) -> String {
    reqwest::get(format!("{admin}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

async fn admin_get(admin: &str, path: &str, token: &str) -> (u16, Value) {
    let r = reqwest::Client::new()
        .get(format!("{admin}{path}"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let text = r.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

async fn a_real_sign_in_leaves_identity_events_counted_and_signed_webhooks(s: TestServer) {
    let (url, seen) = receiver(0).await;
    let (secret, key) = secret();
    let (events, admin) = attach(
        &s,
        vec![webhook(
            "pager",
            &url,
            &secret,
            &[Kind::SigninFailed, Kind::TokenReuseDetected],
            3,
        )],
    )
    .await;
    let setup = setup(&s).await;

    // Two failed sign-ins (an unknown user, a wrong password), then the whole flow.
    let (b, page) = sign_in_page(&s, &setup, "openid offline_access").await;
    assert_eq!(
        login(&s, &b, &page, "mallory", "typed-by-mallory")
            .await
            .status,
        200
    );
    assert_eq!(
        login(&s, &b, &page, "alice", "wrong-password-1")
            .await
            .status,
        200
    );
    let issued = tokens(&s, &b, &setup, "openid offline_access").await;
    let first = issued["refresh_token"].as_str().unwrap().to_string();
    let rotated = refresh(&s, &setup, &first, None).await;
    assert_eq!(rotated.status, 200, "{}", rotated.text);
    // The grace period is for the same client's races; past it, a replay is a theft.
    s.clock.advance(60);
    let replay = refresh(&s, &setup, &first, None).await;
    assert_eq!(replay.status, 400, "{}", replay.text);
    // A service's token, then revoked.
    let (id, service_secret) = s.service_client().await;
    let cc = s.cc_token(&id, &service_secret, None).await;
    let revoked = s
        .post_form(
            "/revoke",
            &[("token", cc["access_token"].as_str().unwrap())],
            Auth::Basic(&id, &service_secret),
        )
        .await;
    assert_eq!(revoked.status, 200, "{}", revoked.text);

    // Written, and delivered, before the log stops.
    events.shutdown(Duration::from_secs(20)).await;

    let (status, list) = admin_get(&admin, "/admin/api/v1/events?limit=100", ADMIN_TOKEN).await;
    assert_eq!(status, 200, "{list}");
    let all = list["events"].as_array().unwrap().clone();
    let kinds: Vec<&str> = all.iter().map(|e| e["kind"].as_str().unwrap()).collect();
    assert_eq!(
        kinds,
        [
            "signin.failed",
            "signin.failed",
            "signin.succeeded",
            "consent.given",
            "token.issued",
            "token.issued",
            "token.reuse_detected",
            "token.issued",
            "token.revoked",
        ],
        "{list}"
    );
    let (unknown, wrong, ok, consent, code) = (&all[0], &all[1], &all[2], &all[3], &all[4]);
    assert_eq!(unknown["cause"], "login.unknown_user");
    assert_eq!(
        unknown["subject"],
        Value::Null,
        "no user, and never the name typed"
    );
    assert_eq!(unknown["client_id"], setup.client_id.as_str());
    assert_eq!(unknown["address"], "127.0.0.1");
    assert!(
        unknown["request_id"]
            .as_str()
            .is_some_and(|r| !r.is_empty())
    );
    assert!(unknown["uid"].as_str().unwrap().starts_with("evt_"));
    assert_eq!(wrong["cause"], "login.invalid_password");
    assert_eq!(wrong["subject"], setup.user_sub.as_str());
    assert_eq!(ok["subject"], setup.user_sub.as_str());
    assert_eq!(ok["cause"], Value::Null);
    assert_eq!(consent["detail"], "openid offline_access");
    assert_eq!(code["grant"], "authorization_code");
    assert_eq!(code["subject"], setup.user_sub.as_str());
    assert_eq!(all[5]["grant"], "refresh_token");
    assert_eq!(all[6]["cause"], "refresh_token.reused");
    assert_eq!(all[6]["subject"], setup.user_sub.as_str());
    assert_eq!(all[7]["grant"], "client_credentials");
    assert_eq!(all[7]["client_id"], id.as_str());
    assert_eq!(all[8]["detail"], "access_token");
    let text = list.to_string();
    for secret_value in [
        "typed-by-mallory",
        "wrong-password-1",
        PASSWORD,
        "mallory",
        &first,
    ] {
        assert!(!text.contains(secret_value), "{secret_value} in the events");
    }

    // Filters and paging.
    let (_, failed) = admin_get(
        &admin,
        &format!(
            "/admin/api/v1/events?kind=signin.failed&subject={}",
            setup.user_sub
        ),
        ADMIN_TOKEN,
    )
    .await;
    assert_eq!(failed["events"].as_array().unwrap().len(), 1, "{failed}");
    let (_, page) = admin_get(&admin, "/admin/api/v1/events?limit=2", ADMIN_TOKEN).await;
    let page = page["events"].as_array().unwrap().clone();
    assert_eq!(page[1]["kind"], "token.revoked", "the latest, oldest first");
    let (_, older) = admin_get(
        &admin,
        &format!("/admin/api/v1/events?limit=2&before={}", page[0]["id"]),
        ADMIN_TOKEN,
    )
    .await;
    assert_eq!(
        older["events"][1]["kind"], "token.reuse_detected",
        "{older}"
    );
    let (_, since) = admin_get(
        &admin,
        &format!("/admin/api/v1/events?after={}", all[6]["id"]),
        ADMIN_TOKEN,
    )
    .await;
    assert_eq!(since["events"].as_array().unwrap().len(), 2, "{since}");
    for bad in ["kind=signin.maybe", "limit=0", "who=me", "since=yesterday"] {
        let (status, body) =
            admin_get(&admin, &format!("/admin/api/v1/events?{bad}"), ADMIN_TOKEN).await;
        assert_eq!(status, 400, "{bad}: {body}");
        assert_eq!(body["diagnosis"], "admin.query_invalid", "{bad}");
    }
    let (status, _) = admin_get(&admin, "/admin/api/v1/events", "not-the-token").await;
    assert_eq!(status, 401);

    // A viewer reads them.
    let mut viewer = NewClient::new("dashboard");
    viewer.scopes = vec!["candor:admin:read".into()];
    let (viewer_id, viewer_secret) = s.register(viewer).await;
    let viewer_token = s
        .cc_token(
            &viewer_id,
            &viewer_secret.unwrap(),
            Some("candor:admin:read"),
        )
        .await;
    let (status, _) = admin_get(
        &admin,
        "/admin/api/v1/events?kind=token.issued",
        viewer_token["access_token"].as_str().unwrap(),
    )
    .await;
    assert_eq!(status, 200);

    // Counted in the call log's rollups, under source identity.
    let (status, stats) = admin_get(
        &admin,
        "/admin/api/v1/events/stats?since=1d&by=kind,cause",
        ADMIN_TOKEN,
    )
    .await;
    assert_eq!(status, 200, "{stats}");
    let count = |rows: &Value, key: &str, kind: &str, cause: Value| -> u64 {
        rows["rows"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["group"][key] == kind && r["group"]["cause"] == cause)
            .map(|r| {
                r["events"]
                    .as_u64()
                    .unwrap_or_else(|| r["calls"].as_u64().unwrap())
            })
            .sum()
    };
    assert_eq!(
        count(&stats, "kind", "signin.failed", "login.unknown_user".into()),
        1
    );
    assert_eq!(
        count(
            &stats,
            "kind",
            "signin.failed",
            "login.invalid_password".into()
        ),
        1
    );
    // The code, the refresh and the service's (the viewer's came after the log stopped).
    assert_eq!(
        count(&stats, "kind", "token.issued", Value::Null),
        3,
        "{stats}"
    );
    let (_, by_grant) = admin_get(
        &admin,
        "/admin/api/v1/events/stats?since=1d&kind=token.issued&by=grant",
        ADMIN_TOKEN,
    )
    .await;
    assert_eq!(by_grant["rows"].as_array().unwrap().len(), 3, "{by_grant}");
    let (status, calls_stats) = admin_get(
        &admin,
        "/admin/api/v1/calls/stats?since=1d&source=identity&by=route,diagnosis",
        ADMIN_TOKEN,
    )
    .await;
    assert_eq!(status, 200, "{calls_stats}");
    let rows = calls_stats["rows"].as_array().unwrap();
    let failed: u64 = rows
        .iter()
        .filter(|r| r["group"]["route"] == "signin.failed")
        .map(|r| r["calls"].as_u64().unwrap())
        .sum();
    assert_eq!(failed, 2, "{calls_stats}");
    assert!(
        rows.iter().any(|r| r["errors"].as_u64() > Some(0)),
        "failures count as errors"
    );
    // The calls' own statistics are calls only.
    let (_, plain) = admin_get(
        &admin,
        "/admin/api/v1/calls/stats?since=1d&by=source",
        ADMIN_TOKEN,
    )
    .await;
    assert!(
        plain["rows"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["group"]["source"] != "identity"),
        "{plain}"
    );
    let (status, _) = admin_get(&admin, "/admin/api/v1/events/stats?by=status", ADMIN_TOKEN).await;
    assert_eq!(status, 400);

    // The webhook got exactly its kinds, signed.
    let deliveries = seen.all();
    let kinds: Vec<String> = deliveries
        .iter()
        .map(|(h, body)| verify(&key, h, body)["type"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        kinds,
        ["signin.failed", "signin.failed", "token.reuse_detected"]
    );
    let first_delivery = verify(&key, &deliveries[0].0, &deliveries[0].1);
    assert_eq!(first_delivery["data"]["id"], all[0]["uid"]);
    assert_eq!(first_delivery["data"]["cause"], "login.unknown_user");
    for (_, body) in &deliveries {
        let body = String::from_utf8_lossy(body);
        assert!(!body.contains("typed-by-mallory") && !body.contains("wrong-password-1"));
    }

    // Its counters are on the admin listener's /metrics.
    let metrics = scrape(&admin).await;
    for line in [
        "candor_webhook_deliveries_total{webhook=\"pager\"} 3",
        "candor_webhook_dead_letters_total{webhook=\"pager\"} 0",
        "candor_events_written_total 9",
    ] {
        assert!(metrics.contains(line), "{line} in\n{metrics}");
    }
    // The secret is never logged.
    assert!(!crate::common::logs().contains(&secret));
}

/// A receiver that fails twice gets the event on the third attempt, with the same id; one
/// that always fails counts a dead letter after its attempts — each counted on /metrics.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhooks_retry_then_deliver_or_count_a_dead_letter() {
    let s = TestServer::start(Backend::Sqlite).await.unwrap();
    let (flaky_url, flaky) = receiver(2).await;
    let (down_url, down) = receiver(u32::MAX).await;
    let (secret, key) = secret();
    let (events, admin) = attach(
        &s,
        vec![
            webhook("flaky", &flaky_url, &secret, &[Kind::LockoutStarted], 4),
            webhook("down", &down_url, &secret, &[Kind::LockoutStarted], 3),
        ],
    )
    .await;
    let setup = setup(&s).await;
    // Five wrong passwords lock the account (the harness's max_failures): lockout.started.
    let (b, page) = sign_in_page(&s, &setup, "openid").await;
    for _ in 0..5 {
        login(&s, &b, &page, "alice", "wrong-password").await;
    }
    events.shutdown(Duration::from_secs(20)).await;

    let tries = flaky.all();
    assert_eq!(tries.len(), 3, "two failures, then delivered");
    let ids: Vec<Value> = tries
        .iter()
        .map(|(h, body)| verify(&key, h, body)["data"]["id"].clone())
        .collect();
    assert!(
        ids.iter().all(|i| *i == ids[0]),
        "one id across attempts: {ids:?}"
    );
    assert_eq!(
        verify(&key, &tries[0].0, &tries[0].1)["type"],
        "lockout.started"
    );
    assert_eq!(down.all().len(), 3, "every attempt made");

    let flaky_counters = events.webhooks()[0].counters();
    let down_counters = events.webhooks()[1].counters();
    let get = |n: &std::sync::atomic::AtomicU64| n.load(std::sync::atomic::Ordering::Relaxed);
    assert_eq!(
        (
            get(&flaky_counters.delivered),
            get(&flaky_counters.attempts_failed)
        ),
        (1, 2)
    );
    assert_eq!(
        (
            get(&down_counters.dead_letters),
            get(&down_counters.attempts_failed)
        ),
        (1, 3)
    );
    let metrics = scrape(&admin).await;
    for line in [
        "candor_webhook_deliveries_total{webhook=\"flaky\"} 1",
        "candor_webhook_failed_attempts_total{webhook=\"flaky\"} 2",
        "candor_webhook_dead_letters_total{webhook=\"down\"} 1",
        "candor_webhook_dead_letters_total{webhook=\"flaky\"} 0",
    ] {
        assert!(metrics.contains(line), "{line} in\n{metrics}");
    }
    let (_, locked) = admin_get(
        &admin,
        "/admin/api/v1/events?kind=lockout.started",
        ADMIN_TOKEN,
    )
    .await;
    assert_eq!(
        locked["events"][0]["subject"],
        setup.user_sub.as_str(),
        "{locked}"
    );
    assert_eq!(locked["events"][0]["cause"], "login.locked");
}

/// An event recorded directly: what the API lists is what was recorded.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_log_without_a_store_still_delivers() {
    let (url, seen) = receiver(0).await;
    let (secret, key) = secret();
    let log = EventLog::start(
        None,
        EventSettings {
            node: "n".into(),
            webhooks: vec![webhook("w", &url, &secret, Kind::ALL, 1)],
            ..EventSettings::default()
        },
    )
    .unwrap();
    let mut e = IdentityEvent::new(Kind::KeyRotated);
    e.detail = Some("alg=RS256".into());
    log.record(e);
    log.shutdown(Duration::from_secs(20)).await;
    log.record(IdentityEvent::new(Kind::KeyRotated));
    let got = seen.all();
    assert_eq!(got.len(), 1);
    assert_eq!(
        verify(&key, &got[0].0, &got[0].1)["data"]["detail"],
        "alg=RS256"
    );
    let get = |n: &std::sync::atomic::AtomicU64| n.load(std::sync::atomic::Ordering::Relaxed);
    assert_eq!(
        get(&log.counters().dropped),
        1,
        "recorded after the shutdown"
    );
}
