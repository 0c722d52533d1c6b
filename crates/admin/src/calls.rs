//! The call log's queries (docs/calls.md): `GET /admin/calls` (the latest calls) and
//! `GET /admin/calls/stats`. The query string is read by the one parser the CLI's flags also
//! go through (`candor_calls::params`).

use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use candor_calls::{CallLog, params};
use candor_proto::{Code, OAuthError};
use serde::Serialize;

use crate::respond::{error_response, json};
use crate::{AdminAuth, Surface};

/// The call log's queries in the admin API's OpenAPI document.
#[derive(utoipa::OpenApi)]
#[openapi(paths(tail, stats))]
pub(crate) struct ApiDoc;

/// The latest calls, oldest first (parameters in docs/calls.md: `client`, `route`,
/// `diagnosis`, `status`, `upstream`, `source`, `refused`, `since`, `after`, `limit`).
#[utoipa::path(get, path = "/admin/api/v1/calls", tag = "calls",
    responses((status = 200, description = "`{\"calls\": [...], \"after\": ID}`", body = Object),
              (status = 400, description = "admin.query_invalid"),
              (status = 401, description = "admin.unauthorized")))]
pub(crate) async fn tail(
    _: AdminAuth,
    State(surface): State<Surface>,
    RawQuery(query): RawQuery,
) -> Response {
    answer(
        &surface,
        query.as_deref(),
        params::tail_query,
        async |log, q| log.tail(q).await,
    )
    .await
}

/// Statistics (parameters in docs/calls.md: `since`, `until`, `by`, `interval`, `limit` and
/// the filters).
#[utoipa::path(get, path = "/admin/api/v1/calls/stats", tag = "calls",
    responses((status = 200, description = "`{\"since\", \"until\", \"by\", \"rows\": [...]}`", body = Object),
              (status = 400, description = "admin.query_invalid"),
              (status = 401, description = "admin.unauthorized")))]
pub(crate) async fn stats(
    _: AdminAuth,
    State(surface): State<Surface>,
    RawQuery(query): RawQuery,
) -> Response {
    answer(
        &surface,
        query.as_deref(),
        params::stats_query,
        async |log, q| log.stats(q).await,
    )
    .await
}

/// Parses `query` with `parse`, runs it with `run`, and answers with what it found.
async fn answer<Q, T: Serialize>(
    surface: &Surface,
    query: Option<&str>,
    parse: fn(&params::Params, i64) -> candor_calls::Result<Q>,
    run: impl AsyncFnOnce(&CallLog, &Q) -> candor_calls::Result<T>,
) -> Response {
    let Some(log) = &surface.calls else {
        return off(surface);
    };
    let answer = match parse(&params::parse_query(query), surface.host.now()) {
        Ok(q) => run(log, &q).await.map(|found| json(StatusCode::OK, &found)),
        Err(e) => Err(e),
    };
    answer.unwrap_or_else(|e| failed(surface, e))
}

pub(crate) fn off(surface: &Surface) -> Response {
    error_response(
        &OAuthError::new(
            Code::ServerNotFound,
            "the call log is off ([calls] enabled = false)",
        ),
        surface.host.guard().docs(),
    )
}

pub(crate) fn failed(surface: &Surface, error: candor_calls::CallsError) -> Response {
    let error = match error {
        candor_calls::CallsError::Query(why) => OAuthError::new(Code::AdminQueryInvalid, why),
        e => {
            tracing::error!(error = %e, "the call log cannot be read");
            OAuthError::new(Code::ServerInternal, "the call log cannot be read")
        }
    };
    error_response(&error, surface.host.guard().docs())
}
