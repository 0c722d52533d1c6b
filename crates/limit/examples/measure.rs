//! Rough costs of one decision, for the docs — not a benchmark and not a test.
//!
//! ```sh
//! CARGO_PROFILE_DEV_OPT_LEVEL=3 cargo run -p candor-limit --example measure
//! ```
//! (optimised: the numbers of an unoptimised build say nothing). Redis at
//! `CANDOR_TEST_REDIS_URL`, default `redis://127.0.0.1:6379`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use candor_limit::{Limit, Limiter, LocalOptions, Policy, RedisOptions, ip_key};

fn policy() -> Policy {
    // High enough that nearly every check is allowed: the path a healthy caller takes.
    Policy::new("measure", "1000000/s".parse().unwrap(), 1000).unwrap()
}

async fn per_check(limit: &Limit, keys: &[Vec<u8>], n: usize) -> Duration {
    let started = Instant::now();
    for i in 0..n {
        black_box(limit.check(&keys[i % keys.len()]).await);
    }
    started.elapsed() / u32::try_from(n).unwrap()
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let limiter = Limiter::local(LocalOptions::default()).unwrap();
    let limit = limiter.limit(policy());
    let short: Vec<Vec<u8>> = (0..1000)
        .map(|i| format!("client-{i}").into_bytes())
        .collect();
    let long: Vec<Vec<u8>> = (0..1000)
        .map(|i| format!("{i:0>64}").into_bytes())
        .collect();
    let ips: Vec<Vec<u8>> = (0..1000u32)
        .map(|i| ip_key(std::net::Ipv4Addr::from(0x0a00_0000 + i).into()).to_vec())
        .collect();
    per_check(&limit, &short, 100_000).await; // warm up
    for (what, keys) in [
        ("short key (client_id)", &short),
        ("64-byte key (digested)", &long),
        ("ip_key", &ips),
    ] {
        let t = per_check(&limit, keys, 2_000_000).await;
        println!("local check, {what}: {} ns", t.as_nanos());
    }

    let url =
        std::env::var("CANDOR_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    let mut options = RedisOptions::new(url);
    options.key_prefix = "measure".into();
    options.timeout = Duration::from_secs(1);
    let limiter = Limiter::shared(options, LocalOptions::default())
        .await
        .unwrap();
    let limit = limiter.limit(policy());
    per_check(&limit, &short, 1_000).await;
    let t = per_check(&limit, &short, 20_000).await;
    println!("Redis decision, one at a time: {} µs", t.as_micros());
    // Many in flight on the one multiplexed connection, as under load.
    let started = Instant::now();
    let tasks: Vec<_> = (0..64)
        .map(|w| {
            let limit = limit.clone();
            let keys = short.clone();
            tokio::spawn(async move {
                for i in 0..500 {
                    black_box(limit.check(&keys[(w * 500 + i) % keys.len()]).await);
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    let rate = 64.0 * 500.0 / started.elapsed().as_secs_f64();
    println!("Redis decisions, 64 in flight: {rate:.0} per second");
    let stats = limiter.stats();
    println!(
        "fallback decisions during the run: {}",
        stats.fallback_decisions
    );
}
