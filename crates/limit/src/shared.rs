//! Decisions shared by every node through Redis: one `EVALSHA` of a GCRA script per
//! decision, and the fallback to the local limiter when Redis does not answer.
//!
//! The states: *connected* (decide in Redis) and *on fallback* (no connection: decide
//! locally, without touching Redis). The first failed call — refused connection, timeout,
//! script error — moves to fallback, logs one warning and wakes the reconnect task; that
//! task tries again every `retry_every`, never on the request path, and its first success
//! moves back and logs one line at info. So a Redis outage costs each request nothing but a
//! local decision, and costs Redis one connection attempt per `retry_every` per node.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, PoisonError, RwLock, Weak};
use std::time::Duration;

use redis::aio::MultiplexedConnection;
use redis::{AsyncConnectionConfig, Client, Script};
use tokio::sync::Notify;

use crate::key::redis_key_part;
use crate::{Decision, Error, Policy};

/// Where the shared limits live and how long to wait for them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedisOptions {
    /// `redis://[user:password@]host:port[/db]`, or `rediss://` for TLS.
    pub url: String,
    /// Put before every key (`{prefix}:{policy}:{key digest}`), so several deployments can
    /// share one Redis. Default `candor:rl`.
    pub key_prefix: String,
    /// The longest one decision waits for Redis before deciding locally. Default 50 ms.
    pub timeout: Duration,
    /// The longest a connection attempt may take. Default 1 s.
    pub connect_timeout: Duration,
    /// How often, while on fallback, to try Redis again. Default 1 s.
    pub retry_every: Duration,
}

impl RedisOptions {
    pub fn new(url: impl Into<String>) -> RedisOptions {
        RedisOptions {
            url: url.into(),
            key_prefix: "candor:rl".into(),
            timeout: Duration::from_millis(50),
            connect_timeout: Duration::from_secs(1),
            retry_every: Duration::from_secs(1),
        }
    }
}

/// The GCRA script; see `gcra.lua` for the algorithm.
const GCRA: &str = include_str!("gcra.lua");

pub(crate) struct Shared {
    client: Client,
    script: Script,
    options: RedisOptions,
    /// The connection and its generation, so that a request failing on an old connection
    /// does not drop the new one the reconnect task has just made.
    connection: RwLock<Option<(u64, MultiplexedConnection)>>,
    generation: AtomicU64,
    on_fallback: AtomicBool,
    redis_errors: AtomicU64,
    fallback_decisions: AtomicU64,
    wake: Arc<Notify>,
}

impl Drop for Shared {
    fn drop(&mut self) {
        // Lets the reconnect task see that nobody needs it any more.
        self.wake.notify_one();
    }
}

/// What a Redis connection says about itself in logs: the address, never the password.
fn describe(client: &Client) -> String {
    client.get_connection_info().addr().to_string()
}

impl Shared {
    /// Connects once (bounded by `connect_timeout`); if that fails, starts on fallback.
    /// Errs only on a URL or prefix that can never work.
    pub(crate) async fn start(options: RedisOptions) -> Result<Arc<Shared>, Error> {
        if options.key_prefix.is_empty()
            || options.key_prefix.len() > 64
            || !options
                .key_prefix
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-' | b':'))
        {
            return Err(Error::Redis(format!(
                "key prefix '{}': use 1 to 64 of A-Z a-z 0-9 . _ - :",
                options.key_prefix
            )));
        }
        let client = Client::open(options.url.as_str())
            .map_err(|e| Error::Redis(format!("URL: {}", e.detail().unwrap_or("invalid"))))?;
        let wake = Arc::new(Notify::new());
        let shared = Arc::new(Shared {
            client,
            script: Script::new(GCRA),
            options,
            connection: RwLock::new(None),
            generation: AtomicU64::new(0),
            on_fallback: AtomicBool::new(false),
            redis_errors: AtomicU64::new(0),
            fallback_decisions: AtomicU64::new(0),
            wake: Arc::clone(&wake),
        });
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| Error::NoRuntime)?;
        runtime.spawn(reconnect(
            Arc::downgrade(&shared),
            wake,
            shared.options.retry_every,
        ));
        if let Err(why) = shared.connect().await {
            shared.lost(0, &why);
        }
        Ok(shared)
    }

    /// The decision for `key` under `policy`, or `None` when it must be made locally.
    pub(crate) async fn check(
        &self,
        policy: &Policy,
        key_base: &str,
        key: &[u8],
    ) -> Option<Decision> {
        let current = self
            .connection
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        let Some((generation, mut connection)) = current else {
            self.fallback_decisions.fetch_add(1, Ordering::Relaxed);
            return None;
        };
        let mut invocation = self
            .script
            .key(format!("{key_base}{}", redis_key_part(key)));
        invocation.arg(policy.interval_micros()).arg(policy.burst());
        let call = invocation.invoke_async::<(i64, i64, i64, i64)>(&mut connection);
        match tokio::time::timeout(self.options.timeout, call).await {
            Ok(Ok(reply)) => Some(decode(reply)),
            Ok(Err(e)) => {
                self.lost(generation, &e.to_string());
                None
            }
            Err(_) => {
                self.lost(
                    generation,
                    &format!("no answer within {:?}", self.options.timeout),
                );
                None
            }
        }
    }

    /// One failure: count it, drop the connection it happened on, and go to fallback —
    /// logging only if this is the failure that did it. Generation 0 is the first
    /// connection attempt, which has no connection to drop and no decision to count.
    fn lost(&self, generation: u64, why: &str) {
        self.redis_errors.fetch_add(1, Ordering::Relaxed);
        if generation != 0 {
            self.fallback_decisions.fetch_add(1, Ordering::Relaxed);
            let mut connection = self
                .connection
                .write()
                .unwrap_or_else(PoisonError::into_inner);
            if connection.as_ref().is_some_and(|(g, _)| *g == generation) {
                *connection = None;
            }
        }
        if !self.on_fallback.swap(true, Ordering::AcqRel) {
            tracing::warn!(
                redis = %describe(&self.client),
                error = why,
                retry_every = ?self.options.retry_every,
                "rate limits: Redis is not answering; each node now decides on its own \
                 (local limits) until it answers again"
            );
        }
        self.wake.notify_one();
    }

    /// Opens a connection and loads the script (which also proves Redis answers and
    /// allows scripts), within `connect_timeout`.
    async fn connect(&self) -> Result<(), String> {
        let config = AsyncConnectionConfig::new()
            .set_connection_timeout(Some(self.options.connect_timeout))
            .set_response_timeout(Some(self.options.connect_timeout));
        let attempt = async {
            let mut connection = self
                .client
                .get_multiplexed_async_connection_with_config(&config)
                .await?;
            self.script
                .prepare_invoke()
                .load_async(&mut connection)
                .await?;
            Ok::<_, redis::RedisError>(connection)
        };
        let connection = match tokio::time::timeout(self.options.connect_timeout, attempt).await {
            Ok(Ok(connection)) => connection,
            Ok(Err(e)) => return Err(e.to_string()),
            Err(_) => {
                return Err(format!(
                    "no connection within {:?}",
                    self.options.connect_timeout
                ));
            }
        };
        let generation = self.generation.fetch_add(1, Ordering::Relaxed) + 1;
        *self
            .connection
            .write()
            .unwrap_or_else(PoisonError::into_inner) = Some((generation, connection));
        if self.on_fallback.swap(false, Ordering::AcqRel) {
            tracing::info!(
                redis = %describe(&self.client),
                "rate limits: Redis answers again; limits are shared across nodes again"
            );
        }
        Ok(())
    }

    fn connected(&self) -> bool {
        self.connection
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .is_some()
    }

    pub(crate) fn key_prefix(&self) -> &str {
        &self.options.key_prefix
    }

    pub(crate) fn on_fallback(&self) -> bool {
        self.on_fallback.load(Ordering::Acquire)
    }

    pub(crate) fn redis_errors(&self) -> u64 {
        self.redis_errors.load(Ordering::Relaxed)
    }

    pub(crate) fn fallback_decisions(&self) -> u64 {
        self.fallback_decisions.load(Ordering::Relaxed)
    }
}

/// Waits to be woken by a failure, then tries Redis every `retry_every` until it answers.
/// Ends when the limiter is gone.
async fn reconnect(shared: Weak<Shared>, wake: Arc<Notify>, retry_every: Duration) {
    loop {
        wake.notified().await;
        loop {
            if shared.strong_count() == 0 {
                return;
            }
            tokio::time::sleep(retry_every).await;
            let Some(shared) = shared.upgrade() else {
                return;
            };
            // Woken by failures that a reconnection has already answered.
            if shared.connected() {
                break;
            }
            match shared.connect().await {
                Ok(()) => break,
                Err(why) => {
                    shared.redis_errors.fetch_add(1, Ordering::Relaxed);
                    tracing::debug!(error = why, "rate limits: Redis still not answering");
                }
            }
        }
    }
}

/// The script's reply `{allowed, remaining, retry_after_us, reset_us}` as a decision.
fn decode((allowed, remaining, retry_after, reset): (i64, i64, i64, i64)) -> Decision {
    let micros = |us: i64| Duration::from_micros(u64::try_from(us).unwrap_or(0));
    if allowed == 1 {
        Decision::Allowed {
            remaining: u32::try_from(remaining.max(0)).unwrap_or(u32::MAX),
            reset: micros(reset),
        }
    } else {
        Decision::Limited {
            retry_after: micros(retry_after),
            reset: micros(reset),
        }
    }
}
