//! The response header fields that tell a caller its limit: `RateLimit-Policy` and
//! `RateLimit` as defined by the IETF httpapi draft "RateLimit header fields for HTTP"
//! (draft-ietf-httpapi-ratelimit-headers-10, the structured-field syntax: a String item
//! naming the policy, with `q`/`w` on the policy and `r`/`t` on the current limit), and
//! `Retry-After` (RFC 9110 section 10.2.3) on a refusal.

use std::time::Duration;

use http::header::RETRY_AFTER;
use http::{HeaderName, HeaderValue};

use crate::{Decision, Policy};

pub const RATELIMIT_POLICY: HeaderName = HeaderName::from_static("ratelimit-policy");
pub const RATELIMIT: HeaderName = HeaderName::from_static("ratelimit");

/// The headers for a response decided by `decision` under `policy`:
///
/// - `RateLimit-Policy: "<name>";q=<limit>;w=<window seconds>;candor-burst=<burst>` — the
///   draft's quota and window; GCRA's burst, which `q`/`w` cannot express, travels in a
///   vendor-prefixed parameter as the draft asks of implementation-specific ones;
/// - `RateLimit: "<name>";r=<remaining>;t=<seconds until one more request is allowed>`;
/// - on a refusal, `Retry-After: <seconds>`, rounded up and at least 1, so a client that
///   obeys it is not refused again for having come back a fraction of a second early.
pub fn headers(policy: &Policy, decision: &Decision) -> Vec<(HeaderName, HeaderValue)> {
    let name = policy.name();
    let rate = policy.rate();
    let mut out = Vec::with_capacity(3);
    let mut push = |header: HeaderName, value: String| {
        // Names are checked at construction (a token-like alphabet), so every value is a
        // valid header value; an invalid one is left out rather than sent broken.
        if let Ok(value) = HeaderValue::try_from(value) {
            out.push((header, value));
        }
    };
    push(
        RATELIMIT_POLICY,
        format!(
            "\"{name}\";q={};w={};candor-burst={}",
            rate.limit(),
            rate.window_secs(),
            policy.burst()
        ),
    );
    let next = match *decision {
        Decision::Allowed { remaining, reset } => {
            // Units return one per interval; the last of the missing ones at `reset`, so
            // the first of them `missing - 1` intervals earlier.
            let missing = policy.burst().saturating_sub(remaining);
            match missing {
                0 => Duration::ZERO,
                _ => reset.saturating_sub(rate.interval().saturating_mul(missing - 1)),
            }
        }
        // Never 0 on a refusal: that would invite an immediate retry.
        Decision::Limited { retry_after, .. } => retry_after.max(Duration::from_secs(1)),
    };
    push(
        RATELIMIT,
        format!(
            "\"{name}\";r={};t={}",
            decision.remaining(),
            ceil_secs(next)
        ),
    );
    if let Decision::Limited { .. } = *decision {
        push(RETRY_AFTER, retry_after_secs(decision).to_string());
    }
    out
}

/// The seconds `Retry-After` gives for `decision`: rounded up, at least 1.
pub fn retry_after_secs(decision: &Decision) -> u64 {
    match *decision {
        Decision::Limited { retry_after, .. } => ceil_secs(retry_after).max(1),
        Decision::Allowed { .. } => 1,
    }
}

/// What a refused caller is told, in one wording wherever a limit applies: `<what> allows N
/// requests per Ws (burst B) per <key>; retry in Rs`.
pub fn refusal_text(
    what: &str,
    policy: &Policy,
    key: &crate::KeyKind,
    decision: &Decision,
) -> String {
    let rate = policy.rate();
    format!(
        "{what} allows {} requests per {}s (burst {}) per {key}; retry in {}s",
        rate.limit(),
        rate.window_secs(),
        policy.burst(),
        retry_after_secs(decision)
    )
}

fn ceil_secs(d: Duration) -> u64 {
    d.as_secs() + u64::from(d.subsec_nanos() > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(policy: &Policy, decision: Decision) -> Vec<String> {
        headers(policy, &decision)
            .into_iter()
            .map(|(n, v)| format!("{n}: {}", v.to_str().unwrap()))
            .collect()
    }

    #[test]
    fn allowed_responses_carry_policy_and_limit() {
        let p = Policy::new("route:orders", "100/s".parse().unwrap(), 20).unwrap();
        assert_eq!(
            strings(
                &p,
                Decision::Allowed {
                    remaining: 19,
                    reset: Duration::from_millis(10)
                }
            ),
            [
                "ratelimit-policy: \"route:orders\";q=100;w=1;candor-burst=20",
                "ratelimit: \"route:orders\";r=19;t=1",
            ]
        );
        // 10 per minute: one back every 6 s; 3 missing, all back in 16 s, the first in 4 s.
        let p = Policy::new("token", "10/min".parse().unwrap(), 5).unwrap();
        assert_eq!(
            strings(
                &p,
                Decision::Allowed {
                    remaining: 2,
                    reset: Duration::from_secs(16)
                }
            ),
            [
                "ratelimit-policy: \"token\";q=10;w=60;candor-burst=5",
                "ratelimit: \"token\";r=2;t=4",
            ]
        );
    }

    #[test]
    fn refusals_add_retry_after_rounded_up() {
        let p = Policy::new("token", "10/min".parse().unwrap(), 5).unwrap();
        assert_eq!(
            strings(
                &p,
                Decision::Limited {
                    retry_after: Duration::from_millis(5_001),
                    reset: Duration::from_millis(29_001)
                }
            ),
            [
                "ratelimit-policy: \"token\";q=10;w=60;candor-burst=5",
                "ratelimit: \"token\";r=0;t=6",
                "retry-after: 6",
            ]
        );
        // Never "Retry-After: 0" nor t=0 on a refusal: either invites an immediate retry.
        let p = Policy::new("fast", "1000/s".parse().unwrap(), 1).unwrap();
        let out = strings(
            &p,
            Decision::Limited {
                retry_after: Duration::ZERO,
                reset: Duration::from_millis(1),
            },
        );
        assert_eq!(out.last().map(String::as_str), Some("retry-after: 1"));
        assert_eq!(
            out.get(1).map(String::as_str),
            Some("ratelimit: \"fast\";r=0;t=1")
        );
    }
}
