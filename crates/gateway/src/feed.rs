//! Following an issuer's revocation feed (Candor's `GET /revocations`) into its deny set: the
//! live part is loaded before the gateway answers, then a long poll learns of each new
//! revocation within a fraction of a second. Every second the last stretch of the feed is
//! read again, since on PostgreSQL two revocations can commit out of their numbers' order.

use std::sync::Arc;
use std::time::{Duration, Instant};

use candor_client::HttpClient;
use candor_proto::feed::Follower;
use serde::Deserialize;

use crate::deny::FeedEntry;
use crate::issuer::Issuer;

/// How long one long poll waits on the server at most; less when `max_feed_lag` is short, so
/// that a healthy but quiet feed answers (and counts as read) well within it.
const MAX_WAIT_SECS: u64 = 10;

#[derive(Debug, Deserialize)]
struct Page {
    entries: Vec<FeedEntry>,
    next: i64,
    #[serde(default)]
    more: bool,
}

/// Reads the feed from `after`; `wait` seconds at most for a new entry.
async fn page(
    http: &HttpClient,
    url: &str,
    authorization: &str,
    after: i64,
    wait: u64,
) -> Result<Page, String> {
    let raw = http
        .get(
            &format!("{url}?after={after}&wait={wait}"),
            vec![
                ("Authorization".into(), authorization.into()),
                ("Accept".into(), "application/json".into()),
            ],
        )
        .await
        .map_err(|e| e.to_string())?;
    if raw.status != 200 {
        return Err(format!(
            "the revocation feed answered {}: {}",
            raw.status,
            raw.text().chars().take(300).collect::<String>()
        ));
    }
    serde_json::from_slice(&raw.body).map_err(|e| format!("the revocation feed's answer: {e}"))
}

fn now() -> i64 {
    use candor_proto::clock::Clock;
    candor_proto::clock::SystemClock.now()
}

/// The `Authorization` header for the feed of `issuer`, from the configured client and the
/// secret in its environment variable or file.
pub fn credentials(issuer: &crate::config::Issuer) -> Result<Option<String>, String> {
    let Some(feed) = &issuer.feed else {
        return Ok(None);
    };
    feed.secret
        .basic(
            &feed.client_id,
            &format!("the revocation feed of {}", issuer.issuer),
        )
        .map(Some)
}

/// Loads everything the feed holds now (before the gateway answers).
pub async fn load(issuer: &Issuer, http: &HttpClient, authorization: &str) -> Result<i64, String> {
    let url = format!("{}/revocations", issuer.config.issuer);
    let mut after = 0;
    loop {
        let p = page(http, &url, authorization, after, 0).await?;
        issuer.deny.apply(&p.entries);
        after = after.max(p.next);
        if !p.more {
            issuer.feed_read(now());
            return Ok(after);
        }
    }
}

/// Follows the feed from `after` until the gateway stops (the task is aborted).
pub async fn follow(issuer: Arc<Issuer>, http: HttpClient, authorization: String, after: i64) {
    let url = format!("{}/revocations", issuer.config.issuer);
    let mut backoff = Duration::from_millis(200);
    let mut follower = Follower::new(after, Instant::now());
    let mut purged_at = Instant::now();
    let wait = issuer.config.feed.as_ref().map_or(MAX_WAIT_SECS, |f| {
        (f.max_lag.as_secs() / 2).clamp(1, MAX_WAIT_SECS)
    });
    loop {
        match page(&http, &url, &authorization, follower.position(), wait).await {
            Ok(p) => {
                issuer.deny.apply(&p.entries);
                follower.advance(p.next);
                issuer.feed_read(now());
                backoff = Duration::from_millis(200);
            }
            Err(why) => {
                tracing::warn!(issuer = %issuer.config.issuer, error = %why, "revocation feed unreachable; retrying");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(5));
                continue;
            }
        }
        if let Some(from) = follower.reread_due(Instant::now())
            && let Ok(p) = page(&http, &url, &authorization, from, 0).await
        {
            issuer.deny.apply(&p.entries);
        }
        if purged_at.elapsed() >= Duration::from_secs(60) {
            purged_at = Instant::now();
            issuer.deny.purge(now());
        }
    }
}
