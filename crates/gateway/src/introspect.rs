//! Opaque access tokens, checked by the issuer's RFC 7662 introspection endpoint. An active
//! answer is reused until the token expires or `cache` has passed, whichever is first; an
//! inactive one for a few seconds; concurrent requests with the same new token share one call.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use candor_client::HttpClient;
use serde_json::Value;

use crate::config;
use crate::identity::Identity;

/// How long an inactive answer is reused.
const NEGATIVE_TTL: i64 = 5;
/// Inactive answers remembered at once.
const NEGATIVE_MAX: usize = 10_000;

/// What the issuer said of a token.
#[derive(Debug, Clone)]
pub enum Answer {
    Active(Arc<Identity>),
    Inactive,
    /// The endpoint could not be asked (not the token's fault).
    Unavailable(String),
}

/// A call in flight (or just made), with when it began: requests that check the verified
/// cache just before the answer lands there still find the call here.
type InFlight = (std::time::Instant, Arc<tokio::sync::OnceCell<Answer>>);
/// How long a finished call's answer is shared with latecomers.
const SHARED_FOR: std::time::Duration = std::time::Duration::from_secs(2);
/// Calls remembered at once before old ones are dropped.
const IN_FLIGHT_MAX: usize = 10_000;

#[derive(Debug)]
pub struct Introspector {
    issuer: String,
    audiences: Vec<String>,
    config: config::Introspection,
    /// Basic credentials; `Debug` never shows them.
    authorization: candor_proto::secret::Secret,
    http: HttpClient,
    endpoint: tokio::sync::OnceCell<String>,
    in_flight: Mutex<HashMap<[u8; 32], InFlight>>,
    negative: RwLock<HashMap<[u8; 32], i64>>,
    calls: AtomicU64,
}

impl Introspector {
    /// Whether `other` asks the same endpoint with the same credentials.
    pub fn same_as(&self, other: &Introspector) -> bool {
        self.config == other.config && self.authorization == other.authorization
    }

    pub fn new(issuer: &config::Issuer, http: HttpClient) -> Result<Option<Introspector>, String> {
        let Some(c) = &issuer.introspection else {
            return Ok(None);
        };
        let authorization = c
            .secret
            .basic(&c.client_id, &format!("introspection at {}", issuer.issuer))?;
        Ok(Some(Introspector {
            issuer: issuer.issuer.clone(),
            audiences: issuer.audiences.clone(),
            config: c.clone(),
            authorization: candor_proto::secret::Secret::new(authorization),
            http,
            endpoint: tokio::sync::OnceCell::new(),
            in_flight: Mutex::new(HashMap::new()),
            negative: RwLock::new(HashMap::new()),
            calls: AtomicU64::new(0),
        }))
    }

    /// Introspection calls made (for metrics and tests).
    pub fn calls(&self) -> u64 {
        self.calls.load(Ordering::Relaxed)
    }

    async fn endpoint(&self) -> Result<String, String> {
        self.endpoint
            .get_or_try_init(|| async {
                if let Some(e) = &self.config.endpoint {
                    return Ok(e.clone());
                }
                let meta = self
                    .http
                    .discover(&self.issuer)
                    .await
                    .map_err(|e| format!("discovery of {} failed: {e}", self.issuer))?;
                meta.raw
                    .get("introspection_endpoint")
                    .and_then(Value::as_str)
                    .map(str::to_string)
                    .ok_or_else(|| format!("{} advertises no introspection_endpoint", self.issuer))
            })
            .await
            .cloned()
    }

    /// Asks about `token` (digest `digest`); one call at a time per token, its answer shared
    /// with the requests that arrive while it runs or shortly after.
    pub async fn check(&self, token: &str, digest: [u8; 32], now: i64) -> Answer {
        if let Ok(neg) = self.negative.read()
            && neg.get(&digest).is_some_and(|until| *until > now)
        {
            return Answer::Inactive;
        }
        // Never share an answer longer than it may be cached. Measured on a monotonic clock,
        // not in whole seconds: a burst that crosses a second boundary is still one burst.
        let window = SHARED_FOR.min(self.config.cache);
        let started = std::time::Instant::now();
        let cell = {
            let Ok(mut map) = self.in_flight.lock() else {
                return Answer::Unavailable("the introspection table is poisoned".into());
            };
            if map.len() >= IN_FLIGHT_MAX {
                map.retain(|_, (at, cell)| cell.get().is_none() || at.elapsed() < window);
            }
            let entry = map
                .entry(digest)
                .or_insert_with(|| (started, Arc::default()));
            if entry.1.get().is_some() && started.duration_since(entry.0) >= window {
                *entry = (started, Arc::default());
            }
            entry.1.clone()
        };
        let answer = cell
            .get_or_init(|| async { self.call(token, now).await })
            .await
            .clone();
        if matches!(answer, Answer::Inactive)
            && let Ok(mut neg) = self.negative.write()
        {
            if neg.len() >= NEGATIVE_MAX {
                neg.clear();
            }
            neg.insert(digest, now + NEGATIVE_TTL);
        }
        answer
    }

    async fn call(&self, token: &str, now: i64) -> Answer {
        self.calls.fetch_add(1, Ordering::Relaxed);
        let endpoint = match self.endpoint().await {
            Ok(e) => e,
            Err(why) => return Answer::Unavailable(why),
        };
        let body = form_urlencoded::Serializer::new(String::new())
            .append_pair("token", token)
            .append_pair("token_type_hint", "access_token")
            .finish();
        let raw = match self
            .http
            .post_form(
                &endpoint,
                vec![(
                    "Authorization".into(),
                    self.authorization.expose().to_string(),
                )],
                body,
            )
            .await
        {
            Ok(r) => r,
            Err(e) => return Answer::Unavailable(format!("introspection at {endpoint}: {e}")),
        };
        if raw.status != 200 {
            return Answer::Unavailable(format!(
                "introspection at {endpoint} answered {}",
                raw.status
            ));
        }
        let Ok(v) = serde_json::from_slice::<Value>(&raw.body) else {
            return Answer::Unavailable(format!("introspection at {endpoint} did not answer JSON"));
        };
        self.read(&v, now)
    }

    /// An RFC 7662 answer as an identity; inactive unless every check passes.
    fn read(&self, v: &Value, now: i64) -> Answer {
        if v.get("active").and_then(Value::as_bool) != Some(true) {
            return Answer::Inactive;
        }
        if let Some(iss) = v.get("iss").and_then(Value::as_str)
            && iss != self.issuer
        {
            return Answer::Inactive;
        }
        let exp = v.get("exp").and_then(Value::as_i64);
        if exp.is_some_and(|e| e <= now) {
            return Answer::Inactive;
        }
        let aud: Vec<String> = match v.get("aud") {
            Some(Value::String(a)) => vec![a.clone()],
            Some(Value::Array(list)) => list
                .iter()
                .filter_map(|a| a.as_str().map(str::to_string))
                .collect(),
            _ => Vec::new(),
        };
        if !self.audiences.is_empty() && !aud.iter().any(|a| self.audiences.contains(a)) {
            return Answer::Inactive;
        }
        let text = |name: &str| v.get(name).and_then(Value::as_str).map(str::to_string);
        let client_id = text("client_id");
        let Some(sub) = text("sub").or_else(|| client_id.clone()) else {
            return Answer::Inactive;
        };
        let reuse_until = now + i64::try_from(self.config.cache.as_secs()).unwrap_or(30);
        Answer::Active(Arc::new(Identity {
            issuer: Arc::from(self.issuer.as_str()),
            sub,
            client_id,
            scopes: text("scope")
                .map(|s| {
                    s.split(' ')
                        .filter(|p| !p.is_empty())
                        .map(str::to_string)
                        .collect()
                })
                .unwrap_or_default(),
            jti: text("jti"),
            grant_id: text("grant_id"),
            exp: exp.map_or(reuse_until, |e| e.min(reuse_until)),
            iat: v.get("iat").and_then(Value::as_i64),
            auth_time: v.get("auth_time").and_then(Value::as_i64),
            claims: v.clone(),
            forwarded: Default::default(),
            principal: Default::default(),
        }))
    }
}

/// How long an active answer is reused when `introspection.cache` says nothing.
pub const DEFAULT_CACHE: Duration = Duration::from_secs(30);
