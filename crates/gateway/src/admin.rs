//! The gateway's admin listener: liveness, readiness, metrics and the call log's API.

use std::sync::Arc;

use bytes::Bytes;
use http::{HeaderValue, Request, Response, StatusCode, header};
use hyper::body::Incoming;

use crate::state_metrics::StateMetrics;
use crate::{Body, State, now, refuse};

/// The admin listener's answers: liveness, readiness, metrics.
/// `shared`: whether this listener reports what the process shares with a server run beside
/// the gateway (docs/server.md, "Metrics").
pub async fn admin(state: Arc<State>, req: Request<Incoming>, shared: bool) -> Response<Body> {
    let now = now();
    if let Some(log) = &state.calls
        && candor_calls::CallLog::handles(req.uri().path())
    {
        return calls(log, &req, now).await;
    }
    match req.uri().path() {
        "/healthz" => text(StatusCode::OK, "ok\n".into()),
        "/readyz" => ready(&state),
        "/metrics" => metrics(&state, now, shared),
        _ => text(StatusCode::NOT_FOUND, "not found\n".into()),
    }
}

/// The call log's API (`/admin/calls…`), behind its own token.
async fn calls(log: &candor_calls::CallLog, req: &Request<Incoming>, now: i64) -> Response<Body> {
    let authorization: Vec<&str> = req
        .headers()
        .get_all(header::AUTHORIZATION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect();
    let answer = log
        .answer(req.uri().path(), req.uri().query(), &authorization, now)
        .await;
    let mut r = refuse::json(
        StatusCode::from_u16(answer.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        &answer.body,
    );
    if answer.challenge {
        r.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer realm=\"candor-admin\""),
        );
    }
    r
}

/// Ready once every issuer's revocation feed is loaded.
fn ready(state: &State) -> Response<Body> {
    let unready: Vec<String> = state
        .issuers
        .iter()
        .filter(|i| !i.feed_loaded())
        .map(|i| {
            format!(
                "the revocation feed of {} is not loaded yet",
                i.config.issuer
            )
        })
        .collect();
    if unready.is_empty() {
        refuse::json(StatusCode::OK, &serde_json::json!({"status": "ready"}))
    } else {
        refuse::json(
            StatusCode::SERVICE_UNAVAILABLE,
            &serde_json::json!({"status": "unavailable", "reasons": unready}),
        )
    }
}

/// The Prometheus text of the gateway: requests, issuers, upstreams; and, where this listener
/// reports what the process shares (`shared`), the call log, the limits and the process.
fn metrics(state: &Arc<State>, now: i64, shared: bool) -> Response<Body> {
    let mut registry = candor_metrics::registry();
    registry.register_collector(Box::new(state.metrics.clone()));
    registry.register_collector(Box::new(StateMetrics {
        state: state.clone(),
        now,
    }));
    if shared {
        if let Some(log) = &state.calls {
            registry.register_collector(Box::new(log.metrics()));
        }
        if let Some(limiter) = &state.limiter {
            registry
                .register_collector(Box::new(candor_limit::LimiterMetrics::new(limiter.clone())));
        }
        candor_metrics::process::register(&mut registry);
    }
    let Ok(body) = candor_metrics::encode(&registry) else {
        return text(
            StatusCode::INTERNAL_SERVER_ERROR,
            "the metrics cannot be written\n".into(),
        );
    };
    let mut r = text(StatusCode::OK, body);
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(candor_metrics::CONTENT_TYPE),
    );
    r
}

fn text(status: StatusCode, body: String) -> Response<Body> {
    let mut r = Response::new(refuse::full(Bytes::from(body)));
    *r.status_mut() = status;
    r
}
