//! The call log's benchmark (bench/calls/README.md): writes N synthetic calls through the
//! same insert path the recorder uses, folds the rollup, then times statistics queries over
//! all of them. Prints one JSON line of figures.
//!
//! `cargo run --release -p candor-calls --example stats_bench -- URL [CALLS] [HOURS]`

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::sync::Arc;
use std::time::Instant;

use candor_calls::record::path_only;
use candor_calls::{Call, CallStore, Dimension, Filter, Interval, Principal, Source, StatsQuery};

/// A small deterministic generator (xorshift): the same traffic on every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// 0..n, skewed like real traffic (a few clients make most calls).
    fn skewed(&mut self, n: u64) -> u64 {
        let a = self.next() % n;
        let b = self.next() % n;
        a.min(b) * a.min(b) / n.max(1)
    }
}

const ROUTES: [&str; 8] = [
    "orders",
    "billing",
    "search",
    "users",
    "token",
    "authorize",
    "userinfo",
    "reports",
];
const REFUSALS: [(u16, &str); 6] = [
    (401, "token.expired"),
    (401, "token.signature_invalid"),
    (403, "token.insufficient_scope"),
    (400, "redirect_uri.trailing_slash"),
    (429, "rate_limit.exceeded"),
    (502, "upstream.connect"),
];

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let url = args
        .get(1)
        .cloned()
        .unwrap_or_else(|| "sqlite:///tmp/calls-bench.db".into());
    let total: u64 = args
        .get(2)
        .and_then(|s| s.parse().ok())
        .unwrap_or(10_000_000);
    let hours: i64 = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(24);
    let store = CallStore::open(&url).await.unwrap();
    let clients: Vec<Arc<Principal>> = (0..200)
        .map(|i| {
            Arc::new(Principal {
                issuer: Some("https://id.example".into()),
                subject: Some(format!("user-{i}").into()),
                client_id: Some(format!("client-{i:03}").into()),
                scopes: Some("orders:read".into()),
            })
        })
        .collect();
    let upstreams: Vec<Arc<str>> = (0..4)
        .map(|i| Arc::from(format!("http://10.0.0.{i}:9000/")))
        .collect();
    let routes: Vec<Arc<str>> = ROUTES.iter().map(|r| Arc::from(*r)).collect();
    let method: Arc<str> = "GET".into();
    // Ends at the start of this hour, so that the whole range is in closed minutes.
    let end_us = (candor_calls::record::now_us() / 3_600_000_000) * 3_600_000_000;
    let start_us = end_us - hours * 3_600_000_000;
    let step = ((end_us - start_us) as u64 / total).max(1);
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let batch = 5_000usize;
    let began = Instant::now();
    let mut written = 0u64;
    let mut calls = Vec::with_capacity(batch);
    while written < total {
        calls.clear();
        for _ in 0..batch.min((total - written) as usize) {
            let at_us = start_us + (written * step) as i64;
            let (status, diagnosis) = if rng.next() % 100 < 4 {
                let (s, d) = REFUSALS[(rng.next() % REFUSALS.len() as u64) as usize];
                (s, Some(d))
            } else {
                (200, None)
            };
            let slow = if rng.next().is_multiple_of(1000) {
                2_000_000
            } else {
                0
            };
            calls.push(Call {
                at_us,
                source: Source::Gateway,
                route: routes[rng.skewed(routes.len() as u64) as usize].clone(),
                method: method.clone(),
                path: path_only("/orders/42"),
                status,
                latency_us: 200 + rng.skewed(20_000) + slow,
                upstream: Some(upstreams[(rng.next() % 4) as usize].clone()),
                bytes_in: Some(0),
                bytes_out: Some(512),
                principal: Some(clients[rng.skewed(clients.len() as u64) as usize].clone()),
                diagnosis,
                request_id: None,
                trace: None,
            });
            written += 1;
        }
        store.insert("bench", &calls).await.unwrap();
    }
    let insert_s = began.elapsed().as_secs_f64();
    let began = Instant::now();
    let folded = store.compact(end_us / 60_000_000 + 1).await.unwrap();
    let compact_s = began.elapsed().as_secs_f64();

    let since = start_us / 1_000_000;
    let until = end_us / 1_000_000 - 1;
    let query = |by: Vec<Dimension>, interval: Option<Interval>, refused: bool| StatsQuery {
        since,
        until,
        by,
        interval,
        filter: Filter {
            refused_only: refused,
            ..Filter::default()
        },
        limit: None,
    };
    let queries = [
        ("everything", query(vec![], None, false), false),
        (
            "by diagnosis",
            query(vec![Dimension::Diagnosis], None, false),
            false,
        ),
        (
            "by route per hour",
            query(vec![Dimension::Route], Some(Interval::Hour), false),
            false,
        ),
        (
            "top failing clients by diagnosis",
            query(vec![Dimension::Client, Dimension::Diagnosis], None, true),
            true,
        ),
        (
            "by client",
            query(vec![Dimension::Client], None, false),
            false,
        ),
    ];
    let mut timings = Vec::new();
    for (name, q, refused_only) in &queries {
        // Best of three: the first run also warms the page cache.
        let mut best = f64::MAX;
        let mut rows = 0;
        let mut counted = 0;
        for _ in 0..3 {
            let t = Instant::now();
            let r = store.stats(q).await.unwrap();
            best = best.min(t.elapsed().as_secs_f64());
            rows = r.len();
            counted = r.iter().map(|r| r.calls).sum::<u64>();
        }
        if !refused_only {
            assert_eq!(counted, total, "{name}: every call counted");
        }
        timings.push(serde_json::json!({"query": name, "seconds": best, "rows": rows}));
    }
    // What the console's Overview asks (server/src/console.rs), `now` at the end of the range:
    // the last hour and the last day in total, the last hour by diagnosis and client, and the
    // last hour per minute for its charts; and what a client's page asks: its refused calls of
    // the last day by diagnosis and its 20 latest calls (the busiest client: the worst case).
    let now = end_us / 1_000_000;
    let window =
        |seconds: i64, by: Vec<Dimension>, interval: Option<Interval>, filter: Filter| StatsQuery {
            since: now - seconds,
            until: now,
            by,
            interval,
            filter,
            limit: None,
        };
    let overview = [
        window(3600, vec![], None, Filter::default()),
        window(86_400, vec![], None, Filter::default()),
        window(
            3600,
            vec![Dimension::Diagnosis, Dimension::Client],
            None,
            Filter::default(),
        ),
        window(3600, vec![], Some(Interval::Minute), Filter::default()),
    ];
    let busiest = Filter {
        client_id: Some("client-000".into()),
        ..Filter::default()
    };
    let client_page = window(86_400, vec![Dimension::Diagnosis], None, busiest.clone());
    let mut pages = Vec::new();
    for (name, queries, tail) in [
        ("console overview (4 queries)", &overview[..], false),
        (
            "console client page (failures by diagnosis + 20 latest calls)",
            std::slice::from_ref(&client_page),
            true,
        ),
    ] {
        let mut best = f64::MAX;
        for _ in 0..3 {
            let t = Instant::now();
            for q in queries {
                store.stats(q).await.unwrap();
            }
            if tail {
                let latest = store
                    .tail(&busiest, Some(now * 1_000_000 - 86_400_000_000), None, 20)
                    .await
                    .unwrap();
                assert!(!latest.is_empty(), "the busiest client has calls");
            }
            best = best.min(t.elapsed().as_secs_f64());
        }
        pages.push(serde_json::json!({"page": name, "seconds": best}));
    }
    println!(
        "{}",
        serde_json::json!({
            "pages": pages,
            "backend": store.backend(),
            "calls": total,
            "hours": hours,
            "insert_seconds": insert_s,
            "calls_per_second_written": total as f64 / insert_s,
            "rollup_partial_rows_folded": folded,
            "compact_seconds": compact_s,
            "queries": timings,
        })
    );
}
