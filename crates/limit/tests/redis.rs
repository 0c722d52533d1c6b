//! The shared limiter against a real Redis (`CANDOR_TEST_REDIS_URL`, default
//! `redis://127.0.0.1:6379`), plus throwaway `redis-server`s for outages. Every test counts
//! under its own key prefix, so the tests run in parallel on one Redis.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use candor_limit::{Decision, Limiter, LocalOptions, Policy, RedisOptions};
use redis::AsyncCommands;

fn redis_url() -> String {
    std::env::var("CANDOR_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

fn unique_prefix(test: &str) -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!("test:{test}:{}:{nanos}", std::process::id())
}

/// Generous timeouts: these tests share two cores with builds, and a decision that times
/// out falls back, which would make exact counts flaky. Outages are tested on closed ports,
/// where failure is immediate.
fn options(url: &str, prefix: &str) -> RedisOptions {
    let mut o = RedisOptions::new(url);
    o.key_prefix = prefix.into();
    o.timeout = Duration::from_secs(2);
    o.connect_timeout = Duration::from_secs(2);
    o.retry_every = Duration::from_millis(100);
    o
}

async fn shared(prefix: &str) -> Limiter {
    Limiter::shared(options(&redis_url(), prefix), LocalOptions::default())
        .await
        .unwrap()
}

fn policy(name: &str, rate: &str, burst: u32) -> Policy {
    Policy::new(name, rate.parse().unwrap(), burst).unwrap()
}

async fn redis() -> redis::aio::MultiplexedConnection {
    redis::Client::open(redis_url())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap()
}

async fn keys_under(prefix: &str) -> Vec<String> {
    let mut conn = redis().await;
    let mut keys: Vec<String> = Vec::new();
    let mut iter: redis::AsyncIter<String> = conn.scan_match(format!("{prefix}:*")).await.unwrap();
    while let Some(key) = iter.next_item().await {
        keys.push(key.unwrap());
    }
    keys
}

/// Deletes a test's keys: most tests count per hour, and Redis would keep them that long.
async fn clean(prefix: &str) {
    let keys = keys_under(prefix).await;
    if !keys.is_empty() {
        let _: () = redis().await.del(keys).await.unwrap();
    }
}

#[tokio::test]
async fn a_burst_then_refusals_with_retry_after_and_remaining() {
    let prefix = unique_prefix("burst");
    let limiter = shared(&prefix).await;
    let limit = limiter.limit(policy("route:orders", "1/min", 3));
    for expected in [2, 1, 0] {
        let d = limit.check("client-a").await;
        assert!(d.is_allowed(), "{d:?}");
        assert_eq!(d.remaining(), expected);
    }
    let Decision::Limited { retry_after, reset } = limit.check("client-a").await else {
        panic!("the fourth request is over the burst of 3");
    };
    assert!(
        retry_after > Duration::from_secs(59) && retry_after <= Duration::from_secs(60),
        "{retry_after:?}"
    );
    assert!(
        reset > Duration::from_secs(179) && reset <= Duration::from_secs(180),
        "{reset:?}"
    );
    assert!(limit.check("client-b").await.is_allowed());

    let stats = limiter.stats();
    assert!(stats.shared && !stats.on_fallback);
    assert_eq!((stats.redis_errors, stats.fallback_decisions), (0, 0));
    assert_eq!(stats.policies.len(), 1);
    assert_eq!(
        (stats.policies[0].allowed, stats.policies[0].limited),
        (4, 1)
    );

    // Two callers, two keys, each expiring when its burst is back (3 min at most).
    let keys = keys_under(&prefix).await;
    assert_eq!(keys.len(), 2, "{keys:?}");
    let mut conn = redis().await;
    for key in keys {
        assert!(key.starts_with(&format!("{prefix}:route:orders:")));
        let ttl: i64 = conn.pttl(&key).await.unwrap();
        assert!(ttl > 0 && ttl <= 180_000, "{key}: {ttl}");
    }
    clean(&prefix).await;
}

#[tokio::test]
async fn the_budget_refills_over_time_and_idle_keys_leave_redis() {
    let prefix = unique_prefix("refill");
    let limiter = shared(&prefix).await;
    let limit = limiter.limit(policy("p", "10/s", 2));
    assert!(limit.check("k").await.is_allowed());
    assert!(limit.check("k").await.is_allowed());
    let Decision::Limited { retry_after, .. } = limit.check("k").await else {
        panic!("the burst of 2 is spent");
    };
    assert!(retry_after <= Duration::from_millis(100), "{retry_after:?}");
    tokio::time::sleep(retry_after + Duration::from_millis(30)).await;
    assert!(
        limit.check("k").await.is_allowed(),
        "one interval later, one more"
    );
    // Quiet for more than burst × interval: the whole burst is back, and Redis forgot the key.
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert!(keys_under(&prefix).await.is_empty());
    assert_eq!(limit.check("k").await.remaining(), 1);
}

#[tokio::test]
async fn two_limiters_on_one_redis_enforce_one_limit() {
    let prefix = unique_prefix("two");
    // Two limiters, two connections: what two gateway processes have.
    let a = shared(&prefix)
        .await
        .limit(policy("route:orders", "1/h", 10));
    let b = shared(&prefix)
        .await
        .limit(policy("route:orders", "1/h", 10));
    let mut allowed = 0;
    for i in 0..20 {
        let limit = if i % 2 == 0 { &a } else { &b };
        if limit.check("client-a").await.is_allowed() {
            allowed += 1;
        }
    }
    assert_eq!(allowed, 10);
    assert_eq!(a.stats().allowed + b.stats().allowed, 10);
    assert_eq!(a.stats().limited + b.stats().limited, 10);
    clean(&prefix).await;
}

const CHILD_PREFIX: &str = "CANDOR_LIMIT_TEST_CHILD_PREFIX";
const CHILD_START: &str = "CANDOR_LIMIT_TEST_CHILD_START_MS";

/// The parent runs this test binary twice more, as two processes hammering one key at the
/// same moment; the children (this same test, with the env set) report what they got.
#[tokio::test]
async fn two_processes_on_one_redis_enforce_one_limit() {
    if let Ok(prefix) = std::env::var(CHILD_PREFIX) {
        return hammer(&prefix).await;
    }
    let prefix = unique_prefix("procs");
    let start = SystemTime::now().duration_since(UNIX_EPOCH).unwrap() + Duration::from_millis(1500);
    let exe = std::env::current_exe().unwrap();
    let children: Vec<Child> = (0..2)
        .map(|_| {
            Command::new(&exe)
                .args([
                    "--exact",
                    "two_processes_on_one_redis_enforce_one_limit",
                    "--nocapture",
                ])
                .env(CHILD_PREFIX, &prefix)
                .env(CHILD_START, start.as_millis().to_string())
                .stdout(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let mut allowed = 0;
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success());
        let stdout = String::from_utf8_lossy(&out.stdout);
        let line = stdout
            .lines()
            .find_map(|l| l.strip_prefix("hammer: "))
            .unwrap_or_else(|| panic!("no report from the child: {stdout}"));
        let (got, fallback) = line.split_once(' ').unwrap();
        assert_eq!(fallback, "fallback=0", "a child decided locally: {line}");
        allowed += got
            .strip_prefix("allowed=")
            .unwrap()
            .parse::<u32>()
            .unwrap();
    }
    assert_eq!(allowed, 25, "two processes, one burst of 25");
    clean(&prefix).await;
}

async fn hammer(prefix: &str) {
    let limiter = shared(prefix).await;
    let limit = limiter.limit(policy("route:orders", "1/h", 25));
    let start: u64 = std::env::var(CHILD_START).unwrap().parse().unwrap();
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    tokio::time::sleep(Duration::from_millis(start).saturating_sub(now)).await;
    let mut allowed = 0;
    for _ in 0..40 {
        if limit.check("client-a").await.is_allowed() {
            allowed += 1;
        }
    }
    let fallback = limiter.stats().fallback_decisions;
    println!("hammer: allowed={allowed} fallback={fallback}");
}

/// Counts the limiter's warnings and notices, to check that an outage is said once.
#[derive(Clone, Default)]
struct LogCount {
    warn: Arc<AtomicUsize>,
    info: Arc<AtomicUsize>,
}

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for LogCount {
    fn on_event(&self, event: &tracing::Event<'_>, _: tracing_subscriber::layer::Context<'_, S>) {
        if event.metadata().target() != "candor_limit::shared" {
            return;
        }
        match *event.metadata().level() {
            tracing::Level::WARN => self.warn.fetch_add(1, Ordering::SeqCst),
            tracing::Level::INFO => self.info.fetch_add(1, Ordering::SeqCst),
            _ => 0,
        };
    }
}

fn capture_logs() -> (LogCount, tracing::subscriber::DefaultGuard) {
    use tracing_subscriber::layer::SubscriberExt as _;
    let count = LogCount::default();
    let subscriber = tracing_subscriber::registry().with(count.clone());
    (count, tracing::subscriber::set_default(subscriber))
}

#[tokio::test]
async fn redis_down_decides_locally_and_says_so_once() {
    let (logs, _guard) = capture_logs();
    // Port 1: nothing listens there, the connection is refused at once.
    let limiter = Limiter::shared(
        options("redis://127.0.0.1:1", "test:down"),
        LocalOptions::default(),
    )
    .await
    .unwrap();
    assert!(limiter.stats().on_fallback);
    let limit = limiter.limit(policy("p", "1/h", 2));
    let decisions: Vec<bool> = check_n(&limit, 50).await;
    assert_eq!(decisions[..3], [true, true, false], "the local burst of 2");
    let stats = limiter.stats();
    assert!(stats.on_fallback);
    assert_eq!(stats.fallback_decisions, 50);
    assert!(stats.redis_errors >= 1);
    assert_eq!(
        logs.warn.load(Ordering::SeqCst),
        1,
        "one warning per outage"
    );
    assert_eq!(logs.info.load(Ordering::SeqCst), 0);
}

async fn check_n(limit: &candor_limit::Limit, n: usize) -> Vec<bool> {
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        out.push(limit.check("k").await.is_allowed());
    }
    out
}

#[tokio::test]
async fn an_unusable_url_or_prefix_is_refused_at_startup() {
    let err = Limiter::shared(RedisOptions::new("http://nope"), LocalOptions::default()).await;
    assert!(err.is_err());
    let mut o = RedisOptions::new(redis_url());
    o.key_prefix = "bad prefix".into();
    assert!(Limiter::shared(o, LocalOptions::default()).await.is_err());
}

/// A `redis-server` of the test's own, on a free port, killed when dropped.
struct Throwaway {
    port: u16,
    child: Option<Child>,
}

impl Throwaway {
    fn free_port() -> u16 {
        TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port()
    }

    async fn start(port: u16) -> Throwaway {
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .spawn()
            .expect("redis-server on PATH");
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "redis-server did not start");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        Throwaway {
            port,
            child: Some(child),
        }
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Freezes the server (SIGSTOP): it keeps its connections and answers nothing.
    fn pause(&self, paused: bool) {
        if let Some(child) = &self.child {
            let signal = if paused { "-STOP" } else { "-CONT" };
            let status = Command::new("kill")
                .args([signal, &child.id().to_string()])
                .status()
                .unwrap();
            assert!(status.success());
        }
    }

    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Throwaway {
    fn drop(&mut self) {
        self.kill();
    }
}

#[tokio::test]
async fn a_redis_that_comes_back_is_used_again() {
    let (logs, _guard) = capture_logs();
    let port = Throwaway::free_port();
    let mut server = Throwaway::start(port).await;
    let mut o = options(&server.url(), "test:back");
    // Short, so the outage is noticed by a timeout too if the socket lingers.
    o.timeout = Duration::from_millis(500);
    let limiter = Limiter::shared(o, LocalOptions::default()).await.unwrap();
    let limit = limiter.limit(policy("p", "1/h", 1000));
    assert!(limit.check("k").await.is_allowed());
    assert!(!limiter.stats().on_fallback);

    server.kill();
    // The first decision after the kill fails over; every one after is local at once.
    for _ in 0..5 {
        assert!(limit.check("k").await.is_allowed());
    }
    let stats = limiter.stats();
    assert!(stats.on_fallback);
    assert!(stats.redis_errors >= 1);
    assert_eq!(stats.fallback_decisions, 5);

    let _server = Throwaway::start(port).await;
    let deadline = Instant::now() + Duration::from_secs(10);
    while limiter.stats().on_fallback {
        assert!(Instant::now() < deadline, "never went back to Redis");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let before = limiter.stats().fallback_decisions;
    let d = limit.check("k").await;
    assert_eq!(
        limiter.stats().fallback_decisions,
        before,
        "decided in Redis"
    );
    // A fresh Redis: it remembers nothing, so 999 of the burst of 1000 are left.
    assert_eq!(d.remaining(), 999);
    assert_eq!(logs.warn.load(Ordering::SeqCst), 1);
    assert_eq!(logs.info.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn hostile_keys_make_fixed_size_redis_keys() {
    let prefix = unique_prefix("hostile");
    let limiter = shared(&prefix).await;
    let limit = limiter.limit(policy("p", "1/h", 1));
    let huge = vec![b'x'; 1 << 20];
    let binary: Vec<u8> = (0..=255u8).collect();
    assert!(limit.check(&huge).await.is_allowed());
    assert!(!limit.check(&huge).await.is_allowed());
    assert!(limit.check(&binary).await.is_allowed());
    assert!(limit.check("a:b:{c}\r\n*").await.is_allowed());
    for i in 0..200u32 {
        assert!(limit.check(format!("made-up-{i}")).await.is_allowed());
    }
    let keys = keys_under(&prefix).await;
    assert_eq!(keys.len(), 203);
    let expected_len = prefix.len() + ":p:".len() + 43;
    assert!(keys.iter().all(|k| k.len() == expected_len), "{keys:?}");
    // Shared decisions keep nothing in the local map.
    assert_eq!(limit.stats().keys, 0);
    clean(&prefix).await;
}

#[tokio::test]
async fn the_local_limiter_counts_and_bounds_its_memory() {
    let limiter = Limiter::local(LocalOptions {
        max_keys: 50,
        forget_every: Duration::from_secs(3600),
    })
    .unwrap();
    let limit = limiter.limit(policy("login", "1/h", 1));
    for i in 0..10_000u32 {
        limit.check(i.to_be_bytes()).await;
    }
    let stats = limiter.stats();
    assert!(!stats.shared && !stats.on_fallback);
    assert_eq!(
        stats.policies[0].keys, 51,
        "50 callers and the overflow key"
    );
    assert_eq!(stats.policies[0].allowed, 51);
    assert_eq!(stats.policies[0].limited, 10_000 - 51);
}

#[tokio::test]
async fn a_hung_redis_holds_a_request_no_longer_than_the_timeout() {
    let server = Throwaway::start(Throwaway::free_port()).await;
    let mut o = options(&server.url(), "test:hung");
    o.timeout = Duration::from_millis(200);
    let limiter = Limiter::shared(o, LocalOptions::default()).await.unwrap();
    let limit = limiter.limit(policy("p", "1/h", 1000));
    assert!(limit.check("k").await.is_allowed());

    server.pause(true);
    // Bounded by the timeout (200 ms), not by a Redis that never answers.
    let decided = tokio::time::timeout(Duration::from_secs(30), limit.check("k")).await;
    assert!(decided.expect("decided").is_allowed(), "decided locally");
    assert!(limiter.stats().on_fallback);
    // On fallback, no request asks Redis at all: ten decisions add no failed Redis call (only
    // the background retry, once a second, may).
    let before = limiter.stats();
    for _ in 0..10 {
        limit.check("k").await;
    }
    let after = limiter.stats();
    assert_eq!(after.fallback_decisions - before.fallback_decisions, 10);
    assert!(
        after.redis_errors - before.redis_errors < 5,
        "{} failed Redis calls for 10 decisions",
        after.redis_errors - before.redis_errors
    );

    server.pause(false);
    let deadline = Instant::now() + Duration::from_secs(10);
    while limiter.stats().on_fallback {
        assert!(Instant::now() < deadline, "never went back to Redis");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
