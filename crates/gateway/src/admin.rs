//! The gateway's admin listener: liveness, readiness, metrics and the call log's API.

use std::sync::Arc;

use bytes::Bytes;
use http::{HeaderValue, Request, Response, StatusCode, header};
use hyper::body::Incoming;

use crate::{Body, State, now, refuse};

/// The admin listener's answers: liveness, readiness, metrics.
pub async fn admin(state: Arc<State>, req: Request<Incoming>) -> Response<Body> {
    let now = now();
    if let Some(log) = &state.calls
        && candor_calls::CallLog::handles(req.uri().path())
    {
        return calls(log, &req, now).await;
    }
    match req.uri().path() {
        "/healthz" => text(StatusCode::OK, "ok\n".into()),
        "/readyz" => ready(&state),
        "/metrics" => metrics(&state, now),
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

/// The Prometheus text of the gateway: requests, issuers, upstreams, the call log, limits.
fn metrics(state: &State, now: i64) -> Response<Body> {
    let mut extra = issuer_metrics(state, now);
    let health = upstream_metrics(state);
    extra.push_str(&health);
    extra.push_str(&format!(
                "# HELP candor_gateway_verified_cache_entries Verified tokens remembered.\n# TYPE candor_gateway_verified_cache_entries gauge\ncandor_gateway_verified_cache_entries {}\n",
                state.verified.len()
            ));
    if let Some(log) = &state.calls {
        extra.push_str(&log.metrics());
    }
    if let Some(limiter) = &state.limiter {
        extra.push_str(&candor_limit::metrics(limiter));
    }
    let mut r = text(StatusCode::OK, state.metrics.render(&extra));
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4"),
    );
    r
}

fn text(status: StatusCode, body: String) -> Response<Body> {
    let mut r = Response::new(refuse::full(Bytes::from(body)));
    *r.status_mut() = status;
    r
}

/// Per issuer: JWKS fetches and failures, the feed's lag, the deny set, introspections.
fn issuer_metrics(state: &State, now: i64) -> String {
    let mut extra = String::new();
    extra.push_str("# HELP candor_gateway_jwks_fetches_total JWKS fetches, by issuer.\n# TYPE candor_gateway_jwks_fetches_total counter\n");
    let mut failures = String::from(
        "# HELP candor_gateway_jwks_fetch_failures_total JWKS fetches that failed, by issuer.\n# TYPE candor_gateway_jwks_fetch_failures_total counter\n",
    );
    let mut lag = String::from(
        "# HELP candor_gateway_revocation_feed_lag_seconds Seconds since the issuer's revocation feed was last read.\n# TYPE candor_gateway_revocation_feed_lag_seconds gauge\n",
    );
    let mut introspections = String::from(
        "# HELP candor_gateway_introspections_total Introspection calls for opaque tokens, by issuer.\n# TYPE candor_gateway_introspections_total counter\n",
    );
    let mut deny = String::from(
        "# HELP candor_gateway_deny_set_entries Revoked tokens, grants, users and clients held, by issuer.\n# TYPE candor_gateway_deny_set_entries gauge\n",
    );
    for i in &state.issuers {
        let iss = &i.config.issuer;
        let (f, e) = i.jwks().map_or((0, 0), |j| j.counts());
        extra.push_str(&format!(
            "candor_gateway_jwks_fetches_total{{issuer=\"{iss}\"}} {f}\n"
        ));
        failures.push_str(&format!(
            "candor_gateway_jwks_fetch_failures_total{{issuer=\"{iss}\"}} {e}\n"
        ));
        if let Some(l) = i.feed_lag(now) {
            lag.push_str(&format!(
                "candor_gateway_revocation_feed_lag_seconds{{issuer=\"{iss}\"}} {}\n",
                l.min(1_000_000_000)
            ));
        }
        deny.push_str(&format!(
            "candor_gateway_deny_set_entries{{issuer=\"{iss}\"}} {}\n",
            i.deny.len()
        ));
        if let Some(x) = &i.introspector {
            introspections.push_str(&format!(
                "candor_gateway_introspections_total{{issuer=\"{iss}\"}} {}\n",
                x.calls()
            ));
        }
    }
    extra.push_str(&failures);
    extra.push_str(&lag);
    extra.push_str(&deny);
    extra.push_str(&introspections);
    extra
}

/// Per upstream: in rotation or not, idle keep-alive connections.
fn upstream_metrics(state: &State) -> String {
    let mut health = String::from(
        "# HELP candor_gateway_upstream_available Whether an upstream is in rotation (1) or not (0).\n# TYPE candor_gateway_upstream_available gauge\n",
    );
    let mut idle = String::from(
        "# HELP candor_gateway_upstream_idle_connections Keep-alive connections to an upstream waiting in the pool.\n# TYPE candor_gateway_upstream_idle_connections gauge\n",
    );
    for r in &state.routes {
        for b in &r.pool.backends {
            health.push_str(&format!(
                "candor_gateway_upstream_available{{route=\"{}\",upstream=\"{}\"}} {}\n",
                r.route.name,
                b.url,
                u8::from(b.available())
            ));
            idle.push_str(&format!(
                "candor_gateway_upstream_idle_connections{{route=\"{}\",upstream=\"{}\"}} {}\n",
                r.route.name,
                b.url,
                b.connections.idle_count()
            ));
        }
    }
    health.push_str(&idle);
    health
}
