//! How many signatures and verifications one core makes per second, for each algorithm,
//! through the same calls Candor makes (`SigningKey::sign`, `KeySet::verify`, both over
//! aws-lc-rs). The ceiling the server's and the gateway's figures are read against.
//!
//!     cargo run --release -p candor-proto --example crypto_limits [SECONDS_PER_ALG]

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use candor_proto::jose::{KeySet, SigningAlg, SigningKey};
use serde_json::json;

fn main() {
    let seconds: f64 = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(2.0);
    let budget = Duration::from_secs_f64(seconds);
    let claims = json!({
        "iss": "https://id.example", "sub": "client", "aud": "https://api.example",
        "exp": 1_900_000_000, "iat": 1_800_000_000, "jti": "abcdefghijklmnopqrstuv",
        "client_id": "client", "scope": "orders:read"
    });
    println!("{{\"limits\": [");
    for (n, alg) in SigningAlg::ALL.iter().enumerate() {
        let (key, _) = SigningKey::generate(*alg).expect("key");
        let token = key.sign("at+jwt", &claims).expect("sign");
        let started = Instant::now();
        let mut signed = 0u64;
        while started.elapsed() < budget {
            for _ in 0..50 {
                std::hint::black_box(key.sign("at+jwt", &claims).expect("sign"));
            }
            signed += 50;
        }
        let sign_rate = signed as f64 / started.elapsed().as_secs_f64();
        let set = KeySet::new([(key, true)]);
        let started = Instant::now();
        let mut verified = 0u64;
        while started.elapsed() < budget {
            for _ in 0..50 {
                std::hint::black_box(set.verify::<serde_json::Value>(&token).expect("verify"));
            }
            verified += 50;
        }
        let verify_rate = verified as f64 / started.elapsed().as_secs_f64();
        println!(
            "  {{\"alg\": \"{alg}\", \"signatures_per_s\": {sign_rate:.0}, \"verifications_per_s\": {verify_rate:.0}}}{}",
            if n + 1 < SigningAlg::ALL.len() {
                ","
            } else {
                ""
            }
        );
    }
    println!("]}}");
}
