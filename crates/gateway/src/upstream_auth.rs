//! A route's own credentials towards its upstreams: instead of the caller's token, upstreams
//! get an access token the gateway obtains with the client_credentials grant, and renews
//! before it expires (in the background, while the current one still serves).

use std::sync::RwLock;
use std::time::{Duration, Instant};

use candor_client::HttpClient;
use serde_json::Value;

use crate::config;

/// A token is renewed once less than this share of its lifetime is left.
const RENEW_AT: f64 = 0.2;

#[derive(Debug, Clone)]
struct Held {
    /// `Bearer …`; `Debug` never shows it.
    header: candor_proto::secret::Secret,
    obtained: Instant,
    lifetime: Duration,
}

impl Held {
    fn usable(&self) -> bool {
        self.obtained.elapsed() < self.lifetime
    }

    fn due(&self) -> bool {
        self.obtained.elapsed() >= self.lifetime.mul_f64(1.0 - RENEW_AT)
    }
}

#[derive(Debug)]
pub struct UpstreamAuth {
    config: config::UpstreamAuth,
    /// Basic credentials; `Debug` never shows them.
    authorization: candor_proto::secret::Secret,
    http: HttpClient,
    held: RwLock<Option<Held>>,
    /// One token request at a time.
    fetching: std::sync::Arc<tokio::sync::Mutex<()>>,
}

impl UpstreamAuth {
    pub fn new(config: &config::UpstreamAuth, http: HttpClient) -> Result<UpstreamAuth, String> {
        let authorization = config.secret.basic(
            &config.client_id,
            &format!("upstream_auth at {}", config.token_endpoint),
        )?;
        Ok(UpstreamAuth {
            config: config.clone(),
            authorization: candor_proto::secret::Secret::new(authorization),
            http,
            held: RwLock::new(None),
            fetching: std::sync::Arc::new(tokio::sync::Mutex::new(())),
        })
    }

    fn current(&self) -> Option<Held> {
        self.held.read().ok().and_then(|h| h.clone())
    }

    async fn fetch(&self) -> Result<Held, String> {
        // Built before any await: the serializer is not Send.
        let body = {
            let mut form = form_urlencoded::Serializer::new(String::new());
            form.append_pair("grant_type", "client_credentials");
            if let Some(s) = &self.config.scope {
                form.append_pair("scope", s);
            }
            if let Some(r) = &self.config.resource {
                form.append_pair("resource", r);
            }
            form.finish()
        };
        let raw = self
            .http
            .post_form(
                &self.config.token_endpoint,
                vec![(
                    "Authorization".into(),
                    self.authorization.expose().to_string(),
                )],
                body,
            )
            .await
            .map_err(|e| format!("upstream_auth token request: {e}"))?;
        let body: Value = serde_json::from_slice(&raw.body).map_err(|_| {
            format!(
                "upstream_auth: the token endpoint answered {} without JSON",
                raw.status
            )
        })?;
        let Some(token) = body.get("access_token").and_then(Value::as_str) else {
            return Err(format!(
                "upstream_auth: the token endpoint answered {} without an access_token ({})",
                raw.status,
                body.get("diagnosis")
                    .or_else(|| body.get("error"))
                    .and_then(Value::as_str)
                    .unwrap_or("no error")
            ));
        };
        let lifetime = Duration::from_secs(
            body.get("expires_in")
                .and_then(Value::as_u64)
                .unwrap_or(300)
                .max(1),
        );
        let held = Held {
            header: candor_proto::secret::Secret::new(format!("Bearer {token}")),
            obtained: Instant::now(),
            lifetime,
        };
        if let Ok(mut h) = self.held.write() {
            *h = Some(held.clone());
        }
        Ok(held)
    }

    /// The `Authorization` value for the upstream request.
    pub async fn header(self: &std::sync::Arc<Self>) -> Result<String, String> {
        if let Some(h) = self.current()
            && h.usable()
        {
            if h.due()
                && let Ok(guard) = self.fetching.clone().try_lock_owned()
            {
                let this = self.clone();
                tokio::spawn(async move {
                    let _guard = guard;
                    if let Err(e) = this.fetch().await {
                        tracing::warn!(error = %e, "upstream_auth renewal failed; the current token serves until it expires");
                    }
                });
            }
            return Ok(h.header.expose().to_string());
        }
        let _one = self.fetching.lock().await;
        if let Some(h) = self.current()
            && h.usable()
        {
            return Ok(h.header.expose().to_string());
        }
        self.fetch().await.map(|h| h.header.expose().to_string())
    }
}
