//! Signed webhooks: each identity event of the kinds a webhook asked for is POSTed to it as
//! JSON, signed as the Standard Webhooks specification says (standardwebhooks.com) — the
//! headers `webhook-id` (the event's id, the same on every attempt, for the receiver to
//! de-duplicate), `webhook-timestamp` (Unix seconds of the attempt) and `webhook-signature`
//! (`v1,` and the base64 HMAC-SHA256 of `id.timestamp.body` under the secret, which is
//! configured as `whsec_` and its base64).
//!
//! Off the request path twice over: the event log's writer offers each event to a bounded
//! queue per webhook ([`WebhookSettings::queue`]; a full queue drops the event and counts
//! it), and one task per webhook delivers in order. A delivery that fails — no answer within
//! the timeout, a connection refused, any status but 2xx (redirects are not followed) — is
//! retried after a wait that doubles from [`WebhookSettings::backoff`] up to
//! [`MAX_BACKOFF`], [`WebhookSettings::attempts`] times in all; then the event is given up
//! and counted as a dead letter. The secret is never logged nor shown in `Debug`.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, KeyInit, Mac};
use serde_json::json;
use sha2::Sha256;
use tokio::sync::mpsc;

use super::{IdentityEvent, Kind};

/// The longest wait between two attempts.
pub const MAX_BACKOFF: Duration = Duration::from_secs(300);

/// The prefix of a Standard Webhooks secret.
pub const SECRET_PREFIX: &str = "whsec_";

/// One webhook, as configured (`[[webhooks]]`).
#[derive(Clone)]
pub struct WebhookSettings {
    /// Its name in metrics and logs (never the URL, which may hold a token).
    pub name: String,
    pub url: String,
    /// The HMAC key: the secret's bytes, once its base64 is decoded.
    pub key: Vec<u8>,
    /// The kinds it receives.
    pub kinds: Vec<Kind>,
    /// Per attempt.
    pub timeout: Duration,
    /// Attempts per event, the first included (at least 1).
    pub attempts: u32,
    /// The wait before the first retry; it doubles at each.
    pub backoff: Duration,
    /// Events waiting for delivery at most.
    pub queue: usize,
}

impl std::fmt::Debug for WebhookSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookSettings")
            .field("name", &self.name)
            .field("url", &candor_proto::secret::redact_url(&self.url))
            .field("key", &"<secret>")
            .field("kinds", &self.kinds)
            .field("timeout", &self.timeout)
            .field("attempts", &self.attempts)
            .field("backoff", &self.backoff)
            .field("queue", &self.queue)
            .finish()
    }
}

/// The HMAC key of a secret written as Standard Webhooks writes it: `whsec_` and the base64
/// of 24 to 64 random bytes.
pub fn secret_key(secret: &str) -> Result<Vec<u8>, String> {
    let encoded = secret.trim().strip_prefix(SECRET_PREFIX).ok_or_else(|| {
        format!("expected {SECRET_PREFIX} and base64 (make one with: echo {SECRET_PREFIX}$(openssl rand -base64 32))")
    })?;
    let key = STANDARD
        .decode(encoded)
        .map_err(|_| format!("what follows {SECRET_PREFIX} is not base64"))?;
    if !(24..=64).contains(&key.len()) {
        return Err(format!(
            "the secret is {} bytes once decoded; expected 24 to 64",
            key.len()
        ));
    }
    Ok(key)
}

/// The `webhook-signature` value of `body` sent with `id` at `timestamp`: `v1,` and the base64
/// HMAC-SHA256 of `id.timestamp.body`.
pub fn sign(key: &[u8], id: &str, timestamp: i64, body: &[u8]) -> String {
    // Any key length is valid for HMAC: this never fails.
    let Ok(mut mac) = <Hmac<Sha256> as KeyInit>::new_from_slice(key) else {
        return String::new();
    };
    mac.update(id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
}

/// The JSON body of `event` (made on `node`): `{"type", "timestamp", "data"}`.
pub fn payload(event: &IdentityEvent, node: &str) -> Vec<u8> {
    let at = UNIX_EPOCH + Duration::from_micros(u64::try_from(event.at_us).unwrap_or(0));
    let at = humantime::format_rfc3339_micros(at).to_string();
    let body = json!({
        "type": event.kind.as_str(),
        "timestamp": at,
        "data": {
            "id": event.uid,
            "kind": event.kind.as_str(),
            "at": at,
            "at_us": event.at_us,
            "node": node,
            "client_id": event.client_id,
            "subject": event.subject,
            "cause": event.cause.map(candor_proto::Code::as_str),
            "grant": event.grant,
            "address": event.address,
            "request_id": event.request_id,
            "detail": event.detail,
        },
    });
    serde_json::to_vec(&body).unwrap_or_default()
}

/// A webhook's counters (for `/metrics`), in events.
#[derive(Debug, Default)]
pub struct WebhookCounters {
    /// Events the receiver accepted (a 2xx).
    pub delivered: AtomicU64,
    /// Attempts that failed (each retry that follows one, and the last).
    pub attempts_failed: AtomicU64,
    /// Events given up after every attempt failed.
    pub dead_letters: AtomicU64,
    /// Events dropped because the webhook's queue was full.
    pub dropped: AtomicU64,
}

struct Message {
    id: String,
    body: Vec<u8>,
}

/// A running webhook: its queue and its delivery task.
pub struct Webhook {
    name: String,
    kinds: Vec<Kind>,
    tx: Mutex<Option<mpsc::Sender<Message>>>,
    waiting: Arc<AtomicUsize>,
    counters: Arc<WebhookCounters>,
    task: Mutex<Option<tokio::task::JoinHandle<()>>>,
}

impl std::fmt::Debug for Webhook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Webhook")
            .field("name", &self.name)
            .field("kinds", &self.kinds)
            .finish()
    }
}

impl Webhook {
    /// Starts the delivery task on the current runtime.
    pub fn start(settings: WebhookSettings) -> Result<Webhook, String> {
        let client = reqwest::Client::builder()
            .timeout(settings.timeout)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("candor/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| format!("webhook {}: {e}", settings.name))?;
        let (tx, rx) = mpsc::channel(settings.queue.max(1));
        let counters = Arc::new(WebhookCounters::default());
        let waiting = Arc::new(AtomicUsize::new(0));
        let webhook = Webhook {
            name: settings.name.clone(),
            kinds: settings.kinds.clone(),
            tx: Mutex::new(Some(tx)),
            waiting: waiting.clone(),
            counters: counters.clone(),
            task: Mutex::new(None),
        };
        let task = tokio::spawn(deliver_loop(rx, client, settings, counters, waiting));
        *webhook.task.lock().unwrap_or_else(PoisonError::into_inner) = Some(task);
        Ok(webhook)
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Whether it receives events of `kind`.
    pub fn wants(&self, kind: Kind) -> bool {
        self.kinds.contains(&kind)
    }

    /// Queues `event` (made on `node`) when it is of a kind this webhook receives; never
    /// waits: a full queue drops it, counted.
    pub fn offer(&self, event: &IdentityEvent, node: &str) {
        if !self.wants(event.kind) {
            return;
        }
        let message = Message {
            id: event.uid.clone(),
            body: payload(event, node),
        };
        let sent = match &*self.tx.lock().unwrap_or_else(PoisonError::into_inner) {
            Some(tx) => tx.try_send(message).is_ok(),
            None => false,
        };
        if sent {
            self.waiting.fetch_add(1, Ordering::Relaxed);
        } else {
            self.counters.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }

    pub fn counters(&self) -> &WebhookCounters {
        &self.counters
    }

    /// Events waiting for delivery (the one being delivered included).
    pub fn queued_now(&self) -> usize {
        self.waiting.load(Ordering::Relaxed)
    }

    /// Stops taking events and delivers what is queued, waiting at most `wait`.
    pub async fn close(&self, wait: Duration) {
        drop(
            self.tx
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .take(),
        );
        let task = self
            .task
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(mut task) = task
            && tokio::time::timeout(wait, &mut task).await.is_err()
        {
            task.abort();
            tracing::warn!(webhook = %self.name, "the webhook's last events were not delivered in time");
        }
    }
}

async fn deliver_loop(
    mut rx: mpsc::Receiver<Message>,
    client: reqwest::Client,
    settings: WebhookSettings,
    counters: Arc<WebhookCounters>,
    waiting: Arc<AtomicUsize>,
) {
    let failing = AtomicBool::new(false);
    while let Some(message) = rx.recv().await {
        let mut wait = settings.backoff;
        let mut outcome = Err(String::new());
        for attempt in 1..=settings.attempts.max(1) {
            outcome = attempt_once(&client, &settings, &message).await;
            if outcome.is_ok() {
                break;
            }
            counters.attempts_failed.fetch_add(1, Ordering::Relaxed);
            if attempt < settings.attempts {
                tokio::time::sleep(wait).await;
                wait = wait.saturating_mul(2).min(MAX_BACKOFF);
            }
        }
        waiting.fetch_sub(1, Ordering::Relaxed);
        match outcome {
            Ok(()) => {
                counters.delivered.fetch_add(1, Ordering::Relaxed);
                if failing.swap(false, Ordering::Relaxed) {
                    tracing::info!(webhook = %settings.name, "the webhook takes events again");
                }
            }
            Err(why) => {
                counters.dead_letters.fetch_add(1, Ordering::Relaxed);
                // Logged once per outage, not once per event.
                if !failing.swap(true, Ordering::Relaxed) {
                    tracing::warn!(webhook = %settings.name, error = %why, attempts = settings.attempts, "a webhook delivery failed every attempt; events are counted as dead letters until it answers");
                }
            }
        }
    }
}

/// One POST of `message`, signed now.
async fn attempt_once(
    client: &reqwest::Client,
    settings: &WebhookSettings,
    message: &Message,
) -> Result<(), String> {
    let timestamp = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
    let signature = sign(&settings.key, &message.id, timestamp, &message.body);
    let res = client
        .post(&settings.url)
        .header("content-type", "application/json")
        .header("webhook-id", &message.id)
        .header("webhook-timestamp", timestamp.to_string())
        .header("webhook-signature", signature)
        .body(message.body.clone())
        .send()
        .await
        .map_err(describe)?;
    if res.status().is_success() {
        Ok(())
    } else {
        Err(format!("the receiver answered {}", res.status().as_u16()))
    }
}

/// What went wrong, with its causes ("error sending request: … connection refused"), never
/// the URL (it may hold a token).
fn describe(error: reqwest::Error) -> String {
    let error = error.without_url();
    let mut out = error.to_string();
    let mut source = std::error::Error::source(&error);
    while let Some(cause) = source {
        out.push_str(": ");
        out.push_str(&cause.to_string());
        source = cause.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_standard_webhooks_example_signs_as_the_spec_says() {
        // The specification's own example (standard-webhooks/spec, "Signature scheme").
        let key = secret_key("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap_or_default();
        let body = br#"{"test": 2432232314}"#;
        assert_eq!(
            sign(&key, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
    }

    #[test]
    fn secrets_are_checked() {
        assert!(secret_key("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").is_err());
        assert!(secret_key("whsec_not base64!").is_err());
        assert!(secret_key("whsec_c2hvcnQ=").is_err(), "5 bytes");
    }

    #[test]
    fn the_secret_is_not_in_debug() {
        let s = WebhookSettings {
            name: "pager".into(),
            url: "https://hooks.example/x".into(),
            key: b"super-secret-key-bytes-0123456789".to_vec(),
            kinds: vec![Kind::SigninFailed],
            timeout: Duration::from_secs(1),
            attempts: 1,
            backoff: Duration::from_secs(1),
            queue: 1,
        };
        assert!(!format!("{s:?}").contains("super-secret"));
    }
}
