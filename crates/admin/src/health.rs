//! Liveness, readiness and metrics: the same routes on every admin listener, answered from
//! what the [`Host`] says.

use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::{Map, Value};

use crate::Surface;
use crate::respond::json;

/// What a process running the admin surface says about itself.
#[async_trait::async_trait]
pub trait Host: Send + Sync + 'static {
    /// The current Unix time (the host's clock: tests run on a fixed one).
    fn now(&self) -> i64;
    /// The admin credential now.
    fn guard(&self) -> crate::Guard;
    /// Whether the process can take traffic, and why not.
    async fn readiness(&self) -> Readiness;
    /// Registers this process's collectors for one scrape.
    async fn metrics(&self, registry: &mut candor_metrics::Registry);
    /// The gateway running in this process, if one does.
    fn gateway(&self) -> Option<std::sync::Arc<dyn crate::GatewayView>> {
        None
    }
}

/// `/readyz`'s answer: `{"status": "ready" | "unavailable", …details}`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Readiness {
    status: &'static str,
    #[serde(flatten)]
    details: Map<String, Value>,
}

impl Readiness {
    pub fn ready() -> Self {
        Readiness {
            status: "ready",
            details: Map::new(),
        }
    }

    pub fn unavailable() -> Self {
        Readiness {
            status: "unavailable",
            details: Map::new(),
        }
    }

    /// Adds a detail (the store's backend, the reasons it is not ready).
    pub fn with(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.details.insert(key.to_string(), value.into());
        self
    }

    pub fn is_ready(&self) -> bool {
        self.status == "ready"
    }
}

/// `readiness` as a response: 200 when ready, 503 when not.
pub fn readiness_response(readiness: &Readiness) -> Response {
    let status = if readiness.is_ready() {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    json(status, readiness)
}

pub(crate) async fn healthz() -> &'static str {
    "ok\n"
}

pub(crate) async fn readyz(State(surface): State<Surface>) -> Response {
    readiness_response(&surface.host.readiness().await)
}

pub(crate) async fn metrics(State(surface): State<Surface>) -> Response {
    let mut registry = candor_metrics::registry();
    surface.host.metrics(&mut registry).await;
    match candor_metrics::encode(&registry) {
        Ok(body) => {
            let mut r = (StatusCode::OK, body).into_response();
            r.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static(candor_metrics::CONTENT_TYPE),
            );
            r
        }
        Err(_) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            "the metrics cannot be written\n",
        )
            .into_response(),
    }
}
