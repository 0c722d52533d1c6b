//! The call log on real databases: SQLite (a file) and PostgreSQL (a throwaway database).
//! Known traffic goes in; every aggregate is checked exactly, before and after the rollup is
//! folded, and after the retention purge.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::sync::Arc;
use std::time::Duration;

use candor_calls::record::path_only;
use candor_calls::{
    Call, CallStore, Dimension, Filter, Interval, Principal, Recorder, Settings, Source,
    StatsQuery, StatusFilter,
};
use candor_store::testing::{PostgresTestDatabase, postgres_url_or_skip};

/// A day-aligned instant (2027-01-15T00:00:00Z), in seconds.
const BASE: i64 = 20_833 * 86_400;

struct Db {
    store: CallStore,
    _pg: Option<PostgresTestDatabase>,
    _dir: Option<tempfile::TempDir>,
}

async fn sqlite() -> Db {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("calls.db").display());
    Db {
        store: CallStore::open(&url).await.unwrap(),
        _pg: None,
        _dir: Some(dir),
    }
}

async fn postgres() -> Option<Db> {
    let base = postgres_url_or_skip("PostgreSQL call log tests")?;
    let db = PostgresTestDatabase::create(&base).await.unwrap();
    let store = CallStore::open(db.url()).await.unwrap();
    Some(Db {
        store,
        _pg: Some(db),
        _dir: None,
    })
}

fn principal(client: Option<&str>) -> Arc<Principal> {
    Arc::new(Principal {
        issuer: Some("https://id.example".into()),
        subject: Some("alice".into()),
        client_id: client.map(Into::into),
        scopes: Some("orders:read".into()),
    })
}

#[allow(clippy::too_many_arguments)]
fn call(
    at_s: i64,
    route: &str,
    client: Option<&str>,
    status: u16,
    diagnosis: Option<&'static str>,
    latency_us: u64,
    upstream: Option<&str>,
) -> Call {
    Call {
        at_us: at_s * 1_000_000,
        source: Source::Gateway,
        route: route.into(),
        method: "GET".into(),
        path: path_only("/orders/7?access_token=leak"),
        status,
        latency_us,
        upstream: upstream.map(Into::into),
        bytes_in: Some(0),
        bytes_out: Some(120),
        principal: Some(principal(client)),
        diagnosis,
        request_id: Some("req-1".into()),
        trace: None,
    }
}

/// The known traffic: 10 calls over three hours, in two batches.
fn traffic() -> (Vec<Call>, Vec<Call>) {
    let mut first = Vec::new();
    for _ in 0..6 {
        first.push(call(
            BASE + 10,
            "orders",
            Some("web"),
            200,
            None,
            1_000,
            Some("http://o:1"),
        ));
    }
    first.push(call(
        BASE + 70,
        "orders",
        Some("web"),
        400,
        Some("redirect_uri.trailing_slash"),
        200,
        None,
    ));
    let second = vec![
        call(
            BASE + 75,
            "orders",
            Some("web"),
            400,
            Some("redirect_uri.trailing_slash"),
            200,
            None,
        ),
        call(
            BASE + 3_605,
            "orders",
            Some("cli"),
            401,
            Some("token.expired"),
            300,
            None,
        ),
        call(
            BASE + 7_200,
            "billing",
            None,
            502,
            Some("upstream.connect"),
            5_000_000,
            Some("http://b:1"),
        ),
    ];
    (first, second)
}

fn query(by: &[Dimension]) -> StatsQuery {
    StatsQuery {
        since: BASE,
        until: BASE + 86_399,
        by: by.to_vec(),
        interval: None,
        filter: Filter::default(),
        limit: None,
    }
}

async fn check_aggregates(store: &CallStore) {
    // Everything.
    let all = store.stats(&query(&[])).await.unwrap();
    assert_eq!(all.len(), 1);
    let t = &all[0];
    assert_eq!((t.calls, t.errors), (10, 4));
    assert_eq!(t.error_rate, 0.4);
    // (6×1000 + 2×200 + 300 + 5 000 000) / 10 µs
    assert_eq!(t.latency.mean_ms, 500.67);
    assert_eq!(t.latency.max_ms, 5_000.0);

    // By route: largest first.
    let by_route = store.stats(&query(&[Dimension::Route])).await.unwrap();
    let got: Vec<(String, u64, u64)> = by_route
        .iter()
        .map(|r| {
            (
                r.group["route"].as_str().unwrap().to_string(),
                r.calls,
                r.errors,
            )
        })
        .collect();
    assert_eq!(got, vec![("orders".into(), 9, 3), ("billing".into(), 1, 1)]);

    // Refusals by diagnosis: ties in name order.
    let mut q = query(&[Dimension::Diagnosis]);
    q.filter.refused_only = true;
    let by_diag = store.stats(&q).await.unwrap();
    let got: Vec<(String, u64)> = by_diag
        .iter()
        .map(|r| (r.group["diagnosis"].as_str().unwrap().to_string(), r.calls))
        .collect();
    assert_eq!(
        got,
        vec![
            ("redirect_uri.trailing_slash".into(), 2),
            ("token.expired".into(), 1),
            ("upstream.connect".into(), 1)
        ]
    );

    // Top failing clients by diagnosis, the first only.
    let mut q = query(&[Dimension::Client, Dimension::Diagnosis]);
    q.filter.refused_only = true;
    q.limit = Some(1);
    let top = store.stats(&q).await.unwrap();
    assert_eq!(top.len(), 1);
    assert_eq!(top[0].group["client"], "web");
    assert_eq!(top[0].group["diagnosis"], "redirect_uri.trailing_slash");
    assert_eq!(top[0].calls, 2);

    // Calls without a diagnosis group under null; a status groups as a number.
    let by_status = store
        .stats(&query(&[Dimension::Status, Dimension::Diagnosis]))
        .await
        .unwrap();
    assert_eq!(by_status[0].group["status"], 200);
    assert!(by_status[0].group["diagnosis"].is_null());
    assert_eq!(by_status[0].calls, 6);

    // Per hour.
    let mut q = query(&[]);
    q.interval = Some(Interval::Hour);
    let hours: Vec<(i64, u64)> = store
        .stats(&q)
        .await
        .unwrap()
        .iter()
        .map(|r| (r.bucket.unwrap(), r.calls))
        .collect();
    assert_eq!(hours, vec![(BASE, 8), (BASE + 3_600, 1), (BASE + 7_200, 1)]);

    // Per day: one bucket.
    q.interval = Some(Interval::Day);
    let days = store.stats(&q).await.unwrap();
    assert_eq!(
        (days.len(), days[0].bucket, days[0].calls),
        (1, Some(BASE), 10)
    );

    // A class of statuses; a prefix of diagnoses; one client.
    let mut q = query(&[]);
    q.filter.status = Some(StatusFilter::Class(4));
    assert_eq!(store.stats(&q).await.unwrap()[0].calls, 3);
    let mut q = query(&[]);
    q.filter.diagnosis = Some("redirect_uri.*".into());
    assert_eq!(store.stats(&q).await.unwrap()[0].calls, 2);
    let mut q = query(&[Dimension::Upstream]);
    q.filter.client_id = Some("web".into());
    let up = store.stats(&q).await.unwrap();
    assert_eq!(up.len(), 2);
    assert_eq!(
        (up[0].group["upstream"].as_str(), up[0].calls),
        (Some("http://o:1"), 6)
    );

    // Percentiles: six calls of 1 ms fall in (0.75 ms, 1 ms]; p50 interpolates half-way.
    let mut q = query(&[]);
    q.filter.status = Some(StatusFilter::Exact(200));
    let ok = &store.stats(&q).await.unwrap()[0];
    assert_eq!(ok.latency.p50_ms, 0.875);
    assert_eq!(ok.latency.p99_ms, 0.998);
    assert_eq!(ok.latency.max_ms, 1.0);

    // A range of one minute (BASE+60 .. BASE+119): the two refusals of minute 1.
    let mut q = query(&[]);
    q.since = BASE + 60;
    q.until = BASE + 60;
    assert_eq!(store.stats(&q).await.unwrap()[0].calls, 2);

    // A range that starts and ends inside hours: its whole hour from the hour rollup, its
    // edges from the minute rollup (minutes 1..=121: calls at +70, +75, +3605, +7200).
    let mut q = query(&[Dimension::Route]);
    q.since = BASE + 60;
    q.until = BASE + 7_300;
    let mixed = store.stats(&q).await.unwrap();
    assert_eq!(mixed.iter().map(|r| r.calls).sum::<u64>(), 4);
    q.interval = Some(Interval::Minute);
    let per_minute = store.stats(&q).await.unwrap();
    assert_eq!(per_minute.iter().map(|r| r.calls).sum::<u64>(), 4);
    assert_eq!(per_minute.len(), 3, "minutes 1, 60 and 120, one route each");

    // An empty range answers no rows rather than a row of zeros.
    let mut q = query(&[]);
    q.since = BASE - 86_400;
    q.until = BASE - 1;
    assert!(store.stats(&q).await.unwrap().is_empty());
}

async fn aggregates_are_exact(db: Db) {
    let (first, second) = traffic();
    db.store.insert("node-a", &first).await.unwrap();
    db.store.insert("node-b", &second).await.unwrap();
    assert!(db.store.count_partial_rollups().await.unwrap() > 0);
    check_aggregates(&db.store).await;

    // Folding the partial rows changes no figure.
    let folded = db.store.compact(BASE / 60 + 10_000).await.unwrap();
    assert!(folded >= 5, "{folded}");
    assert_eq!(db.store.count_partial_rollups().await.unwrap(), 0);
    check_aggregates(&db.store).await;

    // Late calls for a folded minute add to it.
    db.store
        .insert(
            "node-a",
            &[call(
                BASE + 20,
                "orders",
                Some("web"),
                200,
                None,
                1_000,
                None,
            )],
        )
        .await
        .unwrap();
    assert_eq!(db.store.stats(&query(&[])).await.unwrap()[0].calls, 11);

    // The retention purge: everything before BASE + 1 h goes, raw and rolled up.
    let gone = db.store.purge((BASE + 3_600) * 1_000_000).await.unwrap();
    assert_eq!(gone, 9);
    assert_eq!(db.store.count_calls().await.unwrap(), 2);
    let left = db.store.stats(&query(&[])).await.unwrap();
    assert_eq!(left[0].calls, 2);
}

#[tokio::test]
async fn aggregates_are_exact_on_sqlite() {
    aggregates_are_exact(sqlite().await).await;
}

#[tokio::test]
async fn aggregates_are_exact_on_postgres() {
    if let Some(db) = postgres().await {
        aggregates_are_exact(db).await;
    }
}

async fn tail_reads_back_what_was_written(db: Db) {
    let (first, second) = traffic();
    db.store.insert("node-a", &first).await.unwrap();
    db.store.insert("node-a", &second).await.unwrap();

    let last = db
        .store
        .tail(&Filter::default(), None, None, 3)
        .await
        .unwrap();
    assert_eq!(last.len(), 3);
    // Newest last.
    assert!(last[0].id < last[1].id && last[1].id < last[2].id);
    assert_eq!(last[2].route, "billing");
    assert_eq!(last[2].diagnosis.as_deref(), Some("upstream.connect"));
    assert_eq!(last[2].latency_us, 5_000_000);
    assert_eq!(last[2].node, "node-a");
    // The query string never reached the database.
    assert!(last.iter().all(|c| c.path == "/orders/7"));
    assert_eq!(last[0].subject.as_deref(), Some("alice"));
    assert_eq!(last[0].scopes.as_deref(), Some("orders:read"));

    let filter = Filter {
        client_id: Some("web".into()),
        diagnosis: Some("redirect_uri.trailing_slash".into()),
        ..Filter::default()
    };
    let refused = db.store.tail(&filter, None, None, 100).await.unwrap();
    assert_eq!(refused.len(), 2);

    // Following: only what came after the last id seen.
    let after = last[2].id;
    assert!(
        db.store
            .tail(&Filter::default(), None, Some(after), 100)
            .await
            .unwrap()
            .is_empty()
    );
    db.store
        .insert(
            "node-b",
            &[call(
                BASE + 9_000,
                "orders",
                Some("web"),
                204,
                None,
                10,
                None,
            )],
        )
        .await
        .unwrap();
    let new = db
        .store
        .tail(&Filter::default(), None, Some(after), 100)
        .await
        .unwrap();
    assert_eq!(new.len(), 1);
    assert_eq!((new[0].status, new[0].node.as_str()), (204, "node-b"));

    // Since.
    let late = db
        .store
        .tail(
            &Filter::default(),
            Some((BASE + 3_600) * 1_000_000),
            None,
            100,
        )
        .await
        .unwrap();
    assert_eq!(late.len(), 3);
    // Status classes.
    let five = db
        .store
        .tail(
            &Filter {
                status: Some(StatusFilter::Class(5)),
                ..Filter::default()
            },
            None,
            None,
            100,
        )
        .await
        .unwrap();
    assert_eq!(five.len(), 1);
}

#[tokio::test]
async fn tail_reads_back_what_was_written_on_sqlite() {
    tail_reads_back_what_was_written(sqlite().await).await;
}

#[tokio::test]
async fn tail_reads_back_what_was_written_on_postgres() {
    if let Some(db) = postgres().await {
        tail_reads_back_what_was_written(db).await;
    }
}

/// Calls are kept in blocks of one minute and at most `PER_BLOCK` calls: a batch over three
/// minutes, one of them larger than a block, reads back whole and in order, and for every
/// filter `tail` finds exactly the calls the rollup counts (the rollup is what points `tail`
/// at the blocks to open).
async fn blocks_and_rollups_agree(db: Db) {
    let per_block = candor_calls::block::PER_BLOCK;
    let mut batch = Vec::new();
    for i in 0..(per_block + 10) {
        let refused = i % 7 == 0;
        batch.push(call(
            BASE + 60 + (i % 50) as i64,
            if i % 3 == 0 { "billing" } else { "orders" },
            Some(if i % 2 == 0 { "web" } else { "cli" }),
            if refused { 401 } else { 200 },
            refused.then_some("token.expired"),
            100 + i as u64,
            None,
        ));
    }
    batch.push(call(BASE + 5, "orders", Some("web"), 200, None, 1, None));
    batch.push(call(
        BASE + 130,
        "orders",
        Some("web"),
        400,
        Some("redirect_uri.trailing_slash"),
        1,
        None,
    ));
    db.store.insert("node-a", &batch).await.unwrap();
    let total = batch.len();
    assert_eq!(db.store.count_calls().await.unwrap(), total as i64);

    let all = db
        .store
        .tail(&Filter::default(), None, None, 100_000)
        .await
        .unwrap();
    assert_eq!(all.len(), total);
    assert!(
        all.windows(2)
            .all(|w| (w[0].at_us, w[0].id) < (w[1].at_us, w[1].id)),
        "printed by time"
    );
    let mut by_id = all.clone();
    by_id.sort_by_key(|c| c.id);
    // The big minute took two blocks; within each, the calls kept their order.
    let mut blocks: Vec<i64> = by_id
        .iter()
        .map(|c| candor_calls::block::block_of(c.id))
        .collect();
    blocks.dedup();
    assert_eq!(blocks.len(), 4, "{blocks:?}");
    let big_minute: Vec<u64> = by_id
        .iter()
        .filter(|c| c.at_us / 60_000_000 == BASE / 60 + 1)
        .map(|c| c.latency_us as u64)
        .collect();
    assert_eq!(
        big_minute,
        (0..(per_block + 10) as u64)
            .map(|i| 100 + i)
            .collect::<Vec<_>>()
    );
    let ids = |calls: &[candor_calls::StoredCall]| {
        let mut ids: Vec<i64> = calls.iter().map(|c| c.id).collect();
        ids.sort();
        ids
    };
    // The last three written, across two blocks.
    let last = db
        .store
        .tail(&Filter::default(), None, None, 3)
        .await
        .unwrap();
    assert_eq!(ids(&last), ids(&by_id[total - 3..]));
    // Following from inside a block.
    let after = by_id[total - 5].id;
    let next = db
        .store
        .tail(&Filter::default(), None, Some(after), 2)
        .await
        .unwrap();
    assert_eq!(ids(&next), ids(&by_id[total - 4..total - 2]));

    let filters = [
        Filter::default(),
        Filter {
            route: Some("billing".into()),
            ..Filter::default()
        },
        Filter {
            client_id: Some("cli".into()),
            status: Some(StatusFilter::Class(4)),
            ..Filter::default()
        },
        Filter {
            diagnosis: Some("redirect_uri.*".into()),
            ..Filter::default()
        },
        Filter {
            refused_only: true,
            route: Some("orders".into()),
            ..Filter::default()
        },
        Filter {
            status: Some(StatusFilter::Exact(200)),
            client_id: Some("nobody".into()),
            ..Filter::default()
        },
    ];
    for filter in filters {
        let found = db.store.tail(&filter, None, None, 100_000).await.unwrap();
        assert!(found.iter().all(|c| filter.matches(c)));
        let mut q = query(&[]);
        q.filter = filter.clone();
        let counted: u64 = db
            .store
            .stats(&q)
            .await
            .unwrap()
            .iter()
            .map(|r| r.calls)
            .sum();
        assert_eq!(found.len() as u64, counted, "{filter:?}");
    }
    // Since, to the microsecond, though blocks are minutes.
    let since = db
        .store
        .tail(
            &Filter::default(),
            Some((BASE + 60 + 49) * 1_000_000),
            None,
            100_000,
        )
        .await
        .unwrap();
    let expected = batch
        .iter()
        .filter(|c| c.at_us >= (BASE + 60 + 49) * 1_000_000)
        .count();
    assert_eq!(since.len(), expected);
}

#[tokio::test]
async fn blocks_and_rollups_agree_on_sqlite() {
    blocks_and_rollups_agree(sqlite().await).await;
}

#[tokio::test]
async fn blocks_and_rollups_agree_on_postgres() {
    if let Some(db) = postgres().await {
        blocks_and_rollups_agree(db).await;
    }
}

#[tokio::test]
async fn postgres_drops_whole_days_past_the_retention() {
    let Some(db) = postgres().await else { return };
    let now_us = (BASE + 100) * 1_000_000;
    db.store.prepare_partitions(now_us).await.unwrap();
    // Again: nothing to do, no error.
    db.store.prepare_partitions(now_us).await.unwrap();
    let old = call(BASE - 40 * 86_400, "orders", None, 200, None, 1, None); // the default partition
    let today = call(BASE + 100, "orders", None, 200, None, 1, None);
    let tomorrow = call(BASE + 86_400 + 5, "orders", None, 200, None, 1, None);
    db.store
        .insert("n", &[old, today.clone(), today, tomorrow])
        .await
        .unwrap();
    // Cut at the end of today: the old row (row by row) and today's partition (whole) go.
    let gone = db.store.purge((BASE + 86_400) * 1_000_000).await.unwrap();
    assert_eq!(gone, 3);
    assert_eq!(db.store.count_calls().await.unwrap(), 1);
}

fn settings(queue: usize, batch: usize, flush_ms: u64) -> Settings {
    Settings {
        node: "test-node".into(),
        queue,
        batch,
        flush_every: Duration::from_millis(flush_ms),
        retention: Duration::from_secs(86_400),
        otlp: None,
    }
}

#[tokio::test]
async fn the_recorder_writes_everything_it_queued_by_shutdown() {
    let db = sqlite().await;
    let recorder = Recorder::start(db.store.clone(), settings(10_000, 100, 60_000));
    for i in 0..1_234 {
        recorder.record(call(BASE + i, "orders", Some("web"), 200, None, 5, None));
    }
    recorder.shutdown().await;
    let c = recorder.counters();
    assert_eq!(c.queued.load(std::sync::atomic::Ordering::Relaxed), 1_234);
    assert_eq!(c.written.load(std::sync::atomic::Ordering::Relaxed), 1_234);
    assert_eq!(db.store.count_calls().await.unwrap(), 1_234);
    // After shutdown a call is dropped, and counted.
    recorder.record(call(BASE, "orders", None, 200, None, 5, None));
    assert_eq!(c.dropped.load(std::sync::atomic::Ordering::Relaxed), 1);
}

#[tokio::test]
async fn a_full_queue_drops_and_counts_never_waits() {
    let db = sqlite().await;
    let recorder = Recorder::start(db.store.clone(), settings(10, 1_000, 60_000));
    // On this one-thread runtime the writer cannot run between these calls: the queue of 10
    // fills and the other 90 are dropped at once.
    for i in 0..100 {
        recorder.record(call(BASE + i, "orders", None, 200, None, 5, None));
    }
    let c = recorder.counters();
    assert_eq!(c.queued.load(std::sync::atomic::Ordering::Relaxed), 10);
    assert_eq!(c.dropped.load(std::sync::atomic::Ordering::Relaxed), 90);
    recorder.shutdown().await;
    assert_eq!(db.store.count_calls().await.unwrap(), 10);
}

#[tokio::test]
async fn a_small_batch_is_written_within_the_flush_interval() {
    let db = sqlite().await;
    let recorder = Recorder::start(db.store.clone(), settings(1_000, 1_000, 200));
    for i in 0..5 {
        recorder.record(call(BASE + i, "orders", None, 200, None, 5, None));
    }
    let mut written = 0;
    for _ in 0..100 {
        tokio::time::sleep(Duration::from_millis(50)).await;
        written = db.store.count_calls().await.unwrap();
        if written == 5 {
            break;
        }
    }
    assert_eq!(written, 5, "five calls written without a shutdown");
    recorder.shutdown().await;
}

#[tokio::test]
async fn only_sqlite_and_postgres_urls_open() {
    let err = CallStore::open("mysql://u:pw@x/db")
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("expected sqlite://PATH or postgres://"),
        "{err}"
    );
    assert!(!err.contains("pw"), "the password is not repeated: {err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_while_a_batch_is_gathering_still_ends() {
    // A stop that arrives while the writer waits for more calls of a batch (the flush interval
    // is long) must end the writer, with the batch written.
    for _ in 0..20 {
        let db = sqlite().await;
        let recorder = Recorder::start(db.store.clone(), settings(1_000, 1_000, 60_000));
        recorder.record(call(BASE, "orders", None, 200, None, 5, None));
        tokio::time::sleep(Duration::from_millis(5)).await;
        tokio::time::timeout(Duration::from_secs(10), recorder.shutdown())
            .await
            .expect("shutdown ends");
        assert_eq!(db.store.count_calls().await.unwrap(), 1);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_from_many_threads_racing_shutdown_are_written_or_counted_as_dropped() {
    // Each thread gathers its own calls; shutdown collects every shard while the threads are
    // still recording. Whatever the interleaving, each call is written or counted as dropped.
    for _ in 0..5 {
        let db = sqlite().await;
        let recorder = Recorder::start(db.store.clone(), settings(100_000, 700, 50));
        let threads: Vec<_> = (0..4)
            .map(|t| {
                let r = recorder.clone();
                std::thread::spawn(move || {
                    for i in 0..3_000 {
                        r.record(call(
                            BASE + t * 10 + i % 7,
                            "orders",
                            None,
                            200,
                            None,
                            5,
                            None,
                        ));
                    }
                })
            })
            .collect();
        tokio::time::sleep(Duration::from_millis(3)).await;
        recorder.shutdown().await;
        for t in threads {
            t.join().unwrap();
        }
        let c = recorder.counters();
        let get = |n: &std::sync::atomic::AtomicU64| n.load(std::sync::atomic::Ordering::Relaxed);
        assert_eq!(get(&c.queued) + get(&c.dropped), 12_000);
        assert_eq!(get(&c.written), get(&c.queued));
        assert_eq!(get(&c.failed), 0);
        assert_eq!(
            db.store.count_calls().await.unwrap() as u64,
            get(&c.written)
        );
        assert_eq!(recorder.queued_now(), 0);
    }
}

/// A receiver for the exporter: keeps each request's path and JSON body, answers `status`.
async fn receiver(
    status: u16,
) -> (
    String,
    Arc<std::sync::Mutex<Vec<(String, serde_json::Value)>>>,
) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let got = Arc::new(std::sync::Mutex::new(Vec::new()));
    let keep = got.clone();
    let status = axum::http::StatusCode::from_u16(status).unwrap();
    let app = axum::Router::new().fallback(
        move |uri: axum::http::Uri, axum::Json(body): axum::Json<serde_json::Value>| {
            let keep = keep.clone();
            async move {
                keep.lock().unwrap().push((uri.path().to_string(), body));
                status
            }
        },
    );
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (url, got)
}

fn otlp_settings(endpoint: String) -> Settings {
    Settings {
        otlp: Some(candor_calls::OtlpSettings {
            endpoint,
            headers: vec![("x-api-key".into(), "k-123".into())],
            logs: true,
            traces: true,
            timeout: Duration::from_secs(5),
        }),
        ..settings(10_000, 100, 100)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_are_exported_over_otlp_as_logs_and_spans() {
    let (url, got) = receiver(200).await;
    let db = sqlite().await;
    let recorder = Recorder::start(db.store.clone(), otlp_settings(format!("{url}/")));
    for i in 0..250 {
        let refused = i % 5 == 0;
        recorder.record(call(
            BASE + i,
            "orders",
            Some("web"),
            if refused { 401 } else { 200 },
            refused.then_some("token.expired"),
            700,
            None,
        ));
    }
    recorder.shutdown().await;
    assert_eq!(db.store.count_calls().await.unwrap(), 250);
    let got = got.lock().unwrap().clone();
    let records: Vec<&serde_json::Value> = got
        .iter()
        .filter(|(p, _)| p == "/v1/logs")
        .flat_map(|(_, b)| {
            b["resourceLogs"][0]["scopeLogs"][0]["logRecords"]
                .as_array()
                .unwrap()
        })
        .collect();
    let spans: Vec<&serde_json::Value> = got
        .iter()
        .filter(|(p, _)| p == "/v1/traces")
        .flat_map(|(_, b)| {
            b["resourceSpans"][0]["scopeSpans"][0]["spans"]
                .as_array()
                .unwrap()
        })
        .collect();
    assert_eq!((records.len(), spans.len()), (250, 250));
    let warned = records
        .iter()
        .filter(|r| r["severityText"] == "WARN")
        .count();
    assert_eq!(warned, 50);
    // The query string of the request never left Candor.
    let all = serde_json::to_string(&got.iter().map(|(_, b)| b).collect::<Vec<_>>()).unwrap();
    assert!(!all.contains("access_token") && !all.contains("leak"));
    let c = recorder.otlp_counters().unwrap();
    assert_eq!(c.exported.load(std::sync::atomic::Ordering::Relaxed), 500);
    assert_eq!(c.failed.load(std::sync::atomic::Ordering::Relaxed), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_collector_that_refuses_costs_the_export_not_the_log() {
    let (url, _) = receiver(400).await;
    let db = sqlite().await;
    let recorder = Recorder::start(db.store.clone(), otlp_settings(url));
    for i in 0..30 {
        recorder.record(call(BASE + i, "orders", None, 200, None, 5, None));
    }
    recorder.shutdown().await;
    assert_eq!(db.store.count_calls().await.unwrap(), 30);
    let c = recorder.otlp_counters().unwrap();
    assert_eq!(c.failed.load(std::sync::atomic::Ordering::Relaxed), 60);
    assert_eq!(c.exported.load(std::sync::atomic::Ordering::Relaxed), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_database_costs_records_not_requests() {
    use sqlx::Connection;
    // Another process holds the call log's SQLite file locked: the writer waits on it, the
    // queue fills, and recording goes on at once — dropping and counting — until the lock goes.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("calls.db");
    let url = format!("sqlite://{}", path.display());
    let store = CallStore::open(&url).await.unwrap();
    let mut locker = sqlx::SqliteConnection::connect(&url).await.unwrap();
    sqlx::query("BEGIN EXCLUSIVE")
        .execute(&mut locker)
        .await
        .unwrap();
    let recorder = Recorder::start(store.clone(), settings(2_000, 500, 20));
    let total = 50_000u64;
    for i in 0..total {
        recorder.record(call(
            BASE + (i % 60) as i64,
            "orders",
            None,
            200,
            None,
            5,
            None,
        ));
        if i % 5_000 == 0 {
            tokio::task::yield_now().await;
        }
    }
    let c = recorder.counters();
    let get = |n: &std::sync::atomic::AtomicU64| n.load(std::sync::atomic::Ordering::Relaxed);
    assert!(
        get(&c.dropped) >= total - 2_000 - 64 * 250,
        "dropped {}",
        get(&c.dropped)
    );
    sqlx::query("ROLLBACK").execute(&mut locker).await.unwrap();
    drop(locker);
    recorder.shutdown().await;
    // Every call is accounted for: written, dropped at the queue, or given up with its batch.
    assert_eq!(get(&c.written) + get(&c.dropped) + get(&c.failed), total);
    assert_eq!(store.count_calls().await.unwrap() as u64, get(&c.written));
}
