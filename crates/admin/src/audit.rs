//! `GET /admin/api/v1/audit`: the audit log (every change made through the admin API), newest
//! last. Parameters: `since` (`1h`, a Unix time or RFC 3339), `object` (`client:billing`),
//! `actor` (`admin-token`, `client:ci`), `after` (an id, to follow), `limit` (1 to 1000,
//! default 100).

use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use candor_calls::params::{self, Params};
use candor_calls::{AuditQuery, CallsError};
use serde::Serialize;

use crate::respond::json;
use crate::{AdminAuth, Surface};

/// The events a query found.
#[derive(Serialize)]
struct Events {
    events: Vec<candor_calls::AuditEvent>,
    /// The largest id of this page (or the query's `after`): pass it as `after` to follow.
    after: Option<i64>,
}

fn bad(name: &str, why: &str) -> CallsError {
    CallsError::Query(format!("{name}: {why}"))
}

/// Reads the audit query's parameters, refusing unknown and repeated ones.
fn query(p: &Params, now: i64) -> candor_calls::Result<AuditQuery> {
    let mut q = AuditQuery {
        limit: 100,
        ..AuditQuery::default()
    };
    let mut seen = Vec::new();
    for (k, v) in p {
        if seen.contains(&k.as_str()) {
            return Err(bad(k, "given twice"));
        }
        seen.push(k.as_str());
        match k.as_str() {
            "since" => q.since_us = Some(params::parse_time(k, v, now)?.saturating_mul(1_000_000)),
            "object" => q.object = Some(v.clone()),
            "actor" => q.actor = Some(v.clone()),
            "after" => q.after = Some(v.parse().map_err(|_| bad(k, "expected an event id"))?),
            "limit" => {
                q.limit = v
                    .parse()
                    .ok()
                    .filter(|n| (1..=1000).contains(n))
                    .ok_or_else(|| bad(k, "expected 1 to 1000"))?
            }
            _ => {
                return Err(bad(
                    k,
                    "unknown parameter; known: since, object, actor, after, limit",
                ));
            }
        }
    }
    Ok(q)
}

/// The audit log in the admin API's OpenAPI document.
#[derive(utoipa::OpenApi)]
#[openapi(paths(list))]
pub(crate) struct ApiDoc;

/// The audit log, newest last.
#[utoipa::path(get, path = "/admin/api/v1/audit", tag = "audit",
    responses((status = 200, description = "`{\"events\": [{id, at_us, actor, action, object, changes, address, request_id}], \"after\": ID}`", body = Object),
              (status = 400, description = "admin.query_invalid"),
              (status = 401, description = "admin.unauthorized")))]
pub(crate) async fn list(
    _: AdminAuth,
    State(surface): State<Surface>,
    RawQuery(raw): RawQuery,
) -> Response {
    let Some(log) = &surface.calls else {
        return crate::calls::off(&surface);
    };
    let found = match query(&params::parse_query(raw.as_deref()), surface.host.now()) {
        Ok(q) => log.recorder.store().audit(&q).await.map(|events| {
            let after = events.iter().map(|e| e.id).max().or(q.after);
            Events { events, after }
        }),
        Err(e) => Err(e),
    };
    match found {
        Ok(events) => json(StatusCode::OK, &events),
        Err(e) => crate::calls::failed(&surface, e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_are_read_strictly() {
        let p = params::parse_query(Some("since=1h&object=client:a&limit=5"));
        let q = query(&p, 10_000).unwrap();
        assert_eq!(q.since_us, Some((10_000 - 3600) * 1_000_000));
        assert_eq!(q.object.as_deref(), Some("client:a"));
        assert_eq!(q.limit, 5);
        for bad in ["limit=0", "after=x", "object=a&object=b", "who=me"] {
            assert!(query(&params::parse_query(Some(bad)), 0).is_err(), "{bad}");
        }
    }
}
