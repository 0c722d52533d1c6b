//! The admin listener: metrics, health, and the call log's API. Never on the public
//! listener.

use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};

use crate::app::App;

/// `GET /metrics`: Prometheus text. This listener also reports what the process shares with
/// a gateway run beside the server (the call log, the rate limiter, the process): the
/// gateway's admin listener then leaves them out (docs/server.md, "Metrics").
pub(super) async fn metrics(State(app): State<App>) -> Response {
    let feed = app.store().feed_length().await.ok();
    let mut registry = candor_metrics::registry();
    app.metrics().register(&mut registry, app.store(), feed);
    if let Some(log) = app.call_log() {
        registry.register_collector(Box::new(log.metrics()));
    }
    registry.register_collector(Box::new(candor_limit::LimiterMetrics::new(
        app.throttles().limiter().clone(),
    )));
    candor_metrics::process::register(&mut registry);
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

/// `GET /admin/calls` and `GET /admin/calls/stats` (docs/calls.md).
pub(super) async fn calls(
    State(app): State<App>,
    uri: Uri,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let Some(log) = app.call_log() else {
        return (
            StatusCode::NOT_FOUND,
            "the call log is off ([calls] enabled = false)\n",
        )
            .into_response();
    };
    let authorization: Vec<&str> = headers
        .get_all(header::AUTHORIZATION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect();
    let answer = log
        .answer(uri.path(), query.as_deref(), &authorization, app.now())
        .await;
    let status = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut r = super::respond::no_store_json(status, &answer.body);
    if answer.challenge {
        r.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer realm=\"candor-admin\""),
        );
    }
    r
}
