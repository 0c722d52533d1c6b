//! `/admin/api/v1/events`: the identity events (sign-ins, lockouts, consents, tokens issued
//! and revoked, reuse detected, key rotations; docs/admin-api.md, "Identity events"), and
//! their statistics from the call log's rollups (source `identity`). Read-only: viewers may
//! read them.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use candor_admin::AdminAuth;
use candor_calls::params::{self, Params};
use candor_calls::{CallStore, EventQuery, Kind, StoredEvent};
use candor_proto::Code;
use serde::{Deserialize, Serialize};

use super::{Refused, respond};
use crate::app::App;

/// Which events to list.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(super) struct ListParams {
    /// One kind (`signin.failed`, `token.issued`, …).
    kind: Option<String>,
    /// The client_id.
    client: Option<String>,
    /// The user's internal id.
    subject: Option<String>,
    /// A diagnosis code (`login.invalid_password`).
    cause: Option<String>,
    /// From (included): `1h` ago, a Unix time or RFC 3339.
    since: Option<String>,
    /// Until (excluded): `10m` ago, a Unix time or RFC 3339.
    until: Option<String>,
    /// The events written after this id, oldest first (to follow: pass the answer's `after`).
    after: Option<i64>,
    /// The latest events before this id (the previous page: pass the answer's `before`).
    before: Option<i64>,
    /// At most this many (1 to 1000, default 100).
    limit: Option<u32>,
}

/// One identity event.
#[derive(Serialize, utoipa::ToSchema)]
pub(super) struct EventItem {
    id: i64,
    /// `evt_…`, the `webhook-id` it was delivered with.
    uid: String,
    /// Unix microseconds.
    at_us: i64,
    node: String,
    kind: String,
    client_id: Option<String>,
    /// The user's internal id (never a username as typed, a password, a token or a code).
    subject: Option<String>,
    /// The diagnosis code of why, for a failure.
    cause: Option<String>,
    /// The grant type, for token.issued.
    grant: Option<String>,
    address: Option<String>,
    request_id: Option<String>,
    detail: Option<String>,
}

impl From<StoredEvent> for EventItem {
    fn from(e: StoredEvent) -> Self {
        EventItem {
            id: e.id,
            uid: e.uid,
            at_us: e.at_us,
            node: e.node,
            kind: e.kind,
            client_id: e.client_id,
            subject: e.subject,
            cause: e.cause,
            grant: e.grant,
            address: e.address,
            request_id: e.request_id,
            detail: e.detail,
        }
    }
}

/// A page of events, oldest first.
#[derive(Serialize, utoipa::ToSchema)]
pub(super) struct EventList {
    events: Vec<EventItem>,
    /// The largest id here (or the query's `after`): pass as `after` for what came since.
    after: Option<i64>,
    /// The smallest id here: pass as `before` for the page before this one.
    before: Option<i64>,
}

fn invalid(why: impl AsRef<str>) -> Refused {
    Refused::new(Code::AdminQueryInvalid, why)
}

/// The store events are read from: the call log's.
fn store(app: &App) -> Result<&CallStore, Refused> {
    app.call_log().map(|l| l.recorder.store()).ok_or_else(|| {
        Refused::new(
            Code::ServerNotFound,
            "the call log is off ([calls] enabled = false): identity events are not kept",
        )
    })
}

fn kind(name: &str) -> Result<&'static str, Refused> {
    Kind::parse(name)
        .map(Kind::as_str)
        .ok_or_else(|| invalid(format!("kind: '{name}' is not one of {}", Kind::list())))
}

/// A time parameter, in Unix microseconds.
fn time_us(name: &str, value: Option<&str>, now: i64) -> Result<Option<i64>, Refused> {
    value
        .map(|v| {
            params::parse_time(name, v, now)
                .map(|s| s.saturating_mul(1_000_000))
                .map_err(|e| invalid(e.to_string()))
        })
        .transpose()
}

/// The identity events, oldest first: the latest `limit`, or those after `after`.
#[utoipa::path(get, path = "/admin/api/v1/events", tag = "events", params(ListParams),
    responses((status = 200, body = EventList), (status = 400, body = super::ErrorBody),
              (status = 401, body = super::ErrorBody)))]
pub(super) async fn list(
    _: AdminAuth,
    State(app): State<App>,
    query: Result<Query<ListParams>, QueryRejection>,
) -> Response {
    let answer = async {
        let Query(p) = query.map_err(|r| invalid(r.body_text()))?;
        let now = app.now();
        let limit = p.limit.unwrap_or(100);
        if !(1..=1000).contains(&limit) {
            return Err(invalid("limit: expected 1 to 1000"));
        }
        if p.after.is_some() && p.before.is_some() {
            return Err(invalid("after and before: give one"));
        }
        let q = EventQuery {
            kind: p.kind.as_deref().map(kind).transpose()?.map(str::to_string),
            client_id: p.client,
            subject: p.subject,
            cause: p.cause,
            since_us: time_us("since", p.since.as_deref(), now)?,
            until_us: time_us("until", p.until.as_deref(), now)?,
            after: p.after,
            before: p.before,
            limit,
        };
        let events = store(&app)?.events(&q).await.map_err(failed)?;
        let after = events.iter().map(|e| e.id).max().or(q.after);
        let before = events.iter().map(|e| e.id).min();
        Ok((
            StatusCode::OK,
            EventList {
                events: events.into_iter().map(EventItem::from).collect(),
                after,
                before,
            },
        ))
    };
    respond(&app, answer.await)
}

/// What to count.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(super) struct StatsParams {
    /// From: `1h` ago (the default), a Unix time or RFC 3339; whole minutes.
    since: Option<String>,
    /// Until (default now).
    until: Option<String>,
    /// Group by, comma-separated: kind, client, cause, grant.
    by: Option<String>,
    /// Buckets: minute, hour or day.
    interval: Option<String>,
    /// At most this many rows.
    limit: Option<u32>,
    kind: Option<String>,
    client: Option<String>,
    cause: Option<String>,
    grant: Option<String>,
}

/// One group's count.
#[derive(Serialize, utoipa::ToSchema)]
pub(super) struct EventStatsRow {
    /// The bucket's start, Unix seconds (with an interval).
    #[serde(skip_serializing_if = "Option::is_none")]
    bucket: Option<i64>,
    /// The group's values by dimension (kind, client, cause, grant); null: none.
    #[schema(value_type = Object)]
    group: serde_json::Map<String, serde_json::Value>,
    events: u64,
    /// Events with a cause (failed sign-ins, lockouts, reuse detected, denials).
    failures: u64,
    failure_rate: f64,
}

/// Event counts over a range.
#[derive(Serialize, utoipa::ToSchema)]
pub(super) struct EventStats {
    since: i64,
    until: i64,
    rows: Vec<EventStatsRow>,
}

/// The events' dimensions and their columns in the call log's rollups.
const DIMENSIONS: [(&str, &str); 4] = [
    ("kind", "route"),
    ("client", "client"),
    ("cause", "diagnosis"),
    ("grant", "upstream"),
];

/// The rollup's name of an events dimension, and back.
fn column_of(dimension: &str) -> Result<&'static str, Refused> {
    DIMENSIONS
        .iter()
        .find(|(d, _)| *d == dimension)
        .map(|(_, c)| *c)
        .ok_or_else(|| {
            invalid(format!(
                "by: cannot group by '{dimension}': expected kind, client, cause or grant"
            ))
        })
}

fn dimension_of(column: &str) -> &str {
    DIMENSIONS
        .iter()
        .find(|(_, c)| *c == column)
        .map_or(column, |(d, _)| d)
}

/// Event counts from the call log's rollups (the same sums `calls/stats?source=identity`
/// reads), grouped and bucketed as asked.
#[utoipa::path(get, path = "/admin/api/v1/events/stats", tag = "events", params(StatsParams),
    responses((status = 200, body = EventStats), (status = 400, body = super::ErrorBody),
              (status = 401, body = super::ErrorBody)))]
pub(super) async fn stats(
    _: AdminAuth,
    State(app): State<App>,
    query: Result<Query<StatsParams>, QueryRejection>,
) -> Response {
    let answer = async {
        let Query(p) = query.map_err(|r| invalid(r.body_text()))?;
        let mut params: Params = vec![("source".into(), "identity".into())];
        let mut put = |name: &str, value: Option<String>| {
            if let Some(v) = value {
                params.push((name.to_string(), v));
            }
        };
        put("since", p.since);
        put("until", p.until);
        put("interval", p.interval);
        put("limit", p.limit.map(|n| n.to_string()));
        put(
            "route",
            p.kind.as_deref().map(kind).transpose()?.map(str::to_string),
        );
        put("client", p.client);
        put("diagnosis", p.cause);
        put("upstream", p.grant);
        if let Some(by) = p.by {
            let columns = by
                .split(',')
                .map(str::trim)
                .filter(|d| !d.is_empty())
                .map(column_of)
                .collect::<Result<Vec<_>, _>>()?;
            params.push(("by".into(), columns.join(",")));
        }
        let q = params::stats_query(&params, app.now()).map_err(failed)?;
        let rows = store(&app)?.stats(&q).await.map_err(failed)?;
        let rows = rows
            .into_iter()
            .map(|r| EventStatsRow {
                bucket: r.bucket,
                group: r
                    .group
                    .into_iter()
                    .map(|(k, v)| (dimension_of(&k).to_string(), v))
                    .collect(),
                events: r.calls,
                failures: r.errors,
                failure_rate: r.error_rate,
            })
            .collect();
        Ok((
            StatusCode::OK,
            EventStats {
                since: q.since,
                until: q.until,
                rows,
            },
        ))
    };
    respond(&app, answer.await)
}

/// A query the call log refused (the caller's), or could not answer (ours: logged).
fn failed(error: candor_calls::CallsError) -> Refused {
    match error {
        candor_calls::CallsError::Query(why) => invalid(why),
        e => {
            tracing::error!(error = %e, "the identity events cannot be read");
            Refused::new(Code::ServerInternal, "the identity events cannot be read")
        }
    }
}
