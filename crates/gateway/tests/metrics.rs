//! What `/metrics` shows, read as Prometheus reads it: the server's and the gateway's admin
//! listeners run in one process as `candor serve` runs them, each is scraped, and what they
//! show is compared with the metric tables of `docs/` — every family a scrape shows is
//! documented, every documented one is shown, each has one TYPE line and no series twice,
//! and what the process shares (the call log, the limiter, the process) is on one listener.

#![cfg(target_os = "linux")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::collections::{BTreeMap, BTreeSet};

mod common;

use common::*;

/// One scrape, parsed: family → type, and the series it shows.
struct Exposition {
    families: BTreeMap<String, String>,
}

impl Exposition {
    fn parse(text: &str) -> Exposition {
        let mut families = BTreeMap::new();
        let mut series = BTreeSet::new();
        let mut current: Option<(String, String)> = None;
        for line in text.lines().filter(|l| !l.is_empty()) {
            if let Some(rest) = line.strip_prefix("# TYPE ") {
                let (name, kind) = rest.split_once(' ').unwrap();
                let fresh = families.insert(name.to_string(), kind.to_string());
                assert!(fresh.is_none(), "two TYPE lines for {name}:\n{text}");
                current = Some((name.to_string(), kind.to_string()));
                continue;
            }
            if line.starts_with("# HELP ") {
                continue;
            }
            let (key, value) = line.rsplit_once(' ').unwrap();
            assert!(value.parse::<f64>().is_ok(), "not a number: {line}");
            let name = key.split('{').next().unwrap();
            let (family, kind) = current
                .as_ref()
                .unwrap_or_else(|| panic!("a series before any TYPE: {line}"));
            let belongs = name == family
                || (kind == "histogram"
                    && ["_bucket", "_sum", "_count"]
                        .iter()
                        .any(|s| name == format!("{family}{s}")));
            assert!(belongs, "{line} is not of the family {family}");
            assert!(series.insert(key.to_string()), "{key} twice:\n{text}");
        }
        Exposition { families }
    }

    fn names(&self) -> BTreeSet<String> {
        self.families.keys().cloned().collect()
    }
}

/// The metric names in the tables of `docs/*.md` (a table whose first column is `metric`).
fn documented() -> BTreeSet<String> {
    let docs = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs");
    let mut names = BTreeSet::new();
    for entry in std::fs::read_dir(&docs).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "md") {
            continue;
        }
        let mut in_table = false;
        for line in std::fs::read_to_string(&path).unwrap().lines() {
            if line.starts_with("| metric ") {
                in_table = true;
                continue;
            }
            in_table &= line.starts_with('|');
            if !in_table {
                continue;
            }
            for (i, token) in line.split('`').enumerate() {
                let is_name = i % 2 == 1
                    && (token.starts_with("candor_") || token.starts_with("process_"))
                    && token.bytes().all(|b| b.is_ascii_lowercase() || b == b'_');
                if is_name {
                    names.insert(token.to_string());
                }
            }
        }
    }
    names
}

async fn scrape(admin: &str) -> String {
    let r = reqwest::get(format!("{admin}/metrics")).await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.headers()["content-type"],
        "text/plain; version=0.0.4; charset=utf-8"
    );
    r.text().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_admin_listeners_show_the_documented_metrics_and_the_shared_ones_once() {
    let issuer = Issuer::start(Backend::Sqlite).await.unwrap();
    // The call log, exporting to a collector that is not there: its OTLP counters show too.
    let dir = tempfile::tempdir().unwrap();
    let (store, _recorder, log) = call_log_exporting_spans(dir.path()).await;
    issuer.app.attach_call_log(log.clone());
    // The identity events' log, with a webhook and the OTLP export: their counters show too.
    let events = candor_calls::EventLog::start(
        Some(store),
        candor_calls::EventSettings {
            otlp: Some(candor_calls::OtlpSettings {
                endpoint: "http://127.0.0.1:9".into(),
                headers: Vec::new(),
                logs: true,
                traces: false,
                timeout: std::time::Duration::from_secs(1),
            }),
            webhooks: vec![candor_calls::events::webhook::WebhookSettings {
                name: "pager".into(),
                url: "http://127.0.0.1:9/hook".into(),
                key: vec![1; 32],
                kinds: vec![candor_calls::Kind::SigninFailed],
                timeout: std::time::Duration::from_secs(1),
                attempts: 1,
                backoff: std::time::Duration::from_secs(1),
                queue: 10,
            }],
            ..candor_calls::EventSettings::default()
        },
    )
    .unwrap();
    issuer.app.attach_events(events);

    // The server's admin listener.
    let server_admin = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let server_admin_base = format!("http://{}", server_admin.local_addr().unwrap());
    let (_stop_server_admin, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(candor_server::serve_admin(
        server_admin,
        issuer.app.clone(),
        async move {
            let _ = stopped.await;
        },
    ));

    // The gateway beside it, on the server's call log and limiter, as `candor serve` runs it.
    let (up, _upstream) = echo_upstream(None).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let admin = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let gateway_admin_base = format!("http://{}", admin.local_addr().unwrap());
    let text = format!(
        "[gateway]\nlisten = \"{}\"\nthreads = 2\n{}{}",
        listener.local_addr().unwrap(),
        issuer_toml(&issuer, ""),
        route_toml(
            "orders",
            "/orders",
            up,
            "rate_limit = { rate = \"100/s\", burst = 100, key = \"ip\" }"
        )
    );
    let config = candor_gateway::config::File::from_toml(&text)
        .and_then(|f| f.validate())
        .unwrap();
    let limiter = issuer.app.throttles().limiter().clone();
    let gateway = candor_gateway::Gateway::start(&config, Some(log), Some(limiter))
        .await
        .unwrap();
    gateway.leave_shared_metrics_to_the_server();
    let (_stop_gateway, stopped) = tokio::sync::oneshot::channel::<()>();
    let limits = config.limits.clone();
    tokio::spawn(async move {
        let _ = gateway
            .serve(listener, Some(admin), None, limits, async move {
                let _ = stopped.await;
            })
            .await;
    });

    // A refusal through the gateway, a token from the server: both count something.
    let (id, secret) = issuer
        .client(&["orders:read"], candor_proto::access_token::Format::Jwt)
        .await;
    let _token = issuer.token(&id, &secret, "orders:read").await;
    let refused = reqwest::get(format!("{base}/orders/1")).await.unwrap();
    assert_eq!(refused.status(), 401);

    let server = Exposition::parse(&scrape(&server_admin_base).await);
    let gateway = Exposition::parse(&scrape(&gateway_admin_base).await);

    let shared = |n: &String| {
        ["candor_calls_", "candor_rate_limit_", "process_"]
            .iter()
            .any(|p| n.starts_with(p))
    };
    let on_both: BTreeSet<String> = server
        .names()
        .intersection(&gateway.names())
        .cloned()
        .collect();
    assert_eq!(
        on_both,
        BTreeSet::from(["candor_build_info".to_string()]),
        "only the build is reported by both listeners"
    );
    assert!(gateway.names().iter().all(|n| !shared(n)));
    assert!(server.names().iter().any(shared));

    let shown: BTreeSet<String> = server.names().union(&gateway.names()).cloned().collect();
    let documented = documented();
    let undocumented: Vec<_> = shown.difference(&documented).collect();
    let unseen: Vec<_> = documented.difference(&shown).collect();
    assert!(undocumented.is_empty(), "not in docs/: {undocumented:?}");
    assert!(unseen.is_empty(), "documented, not shown: {unseen:?}");
    assert_eq!(server.families["candor_server_requests_total"], "counter");
    assert_eq!(
        gateway.families["candor_gateway_request_duration_seconds"],
        "histogram"
    );
}
