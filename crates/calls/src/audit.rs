//! The audit log: every change made through the admin API (and the CLI), beside the call log
//! and kept for its retention. An event says who (`actor`), what (`action`), to which object,
//! the fields it changed before and after, when, from which address and with which request
//! id. Changes are rare and must not be lost with a full queue, so an event is written at
//! once, not through the recorder's batches. Secrets never reach it: the caller passes the
//! public view of what changed.

use serde::Serialize;
use serde_json::{Map, Value};
use sqlx::Row;

use crate::store::CallStore;
use candor_store::db::Pool;

/// One change.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuditEvent {
    /// Set by the store; 0 before the event is written.
    pub id: i64,
    /// Unix microseconds.
    pub at_us: i64,
    /// `admin-token`, `client:<id>`, `cli:<os user>`.
    pub actor: String,
    /// `client.create`, `client.update`, `user.delete`, `key.rotate`…
    pub action: String,
    /// `client:<client_id>`, `user:<username>`, `key:<alg>`.
    pub object: String,
    /// `{"field": {"before": …, "after": …}}`; only the fields that changed.
    pub changes: Value,
    pub address: Option<String>,
    pub request_id: Option<String>,
}

/// The fields of `after` whose values differ from `before` (both JSON objects), each with both
/// values; `null` on one side for a created or deleted object.
pub fn changes(before: &Value, after: &Value) -> Value {
    let empty = Map::new();
    let b = before.as_object().unwrap_or(&empty);
    let a = after.as_object().unwrap_or(&empty);
    let mut out = Map::new();
    for key in b.keys().chain(a.keys()) {
        if out.contains_key(key) {
            continue;
        }
        let (was, is) = (b.get(key), a.get(key));
        if was != is {
            out.insert(key.clone(), serde_json::json!({"before": was, "after": is}));
        }
    }
    Value::Object(out)
}

/// Which events to list: since a time, about one object, after an id (to follow), how many.
#[derive(Debug, Clone, Default)]
pub struct AuditQuery {
    pub since_us: Option<i64>,
    pub object: Option<String>,
    pub actor: Option<String>,
    pub after: Option<i64>,
    pub limit: u32,
}

impl CallStore {
    /// Writes `event`; returns its id.
    pub async fn record_audit(&self, event: &AuditEvent) -> crate::Result<i64> {
        const INSERT: &str = "INSERT INTO candor_audit \
             (at_us, actor, action, object, changes, address, request_id) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id";
        let changes = event.changes.to_string();
        // One statement for both backends; the pools' types differ, so it is written once
        // and expanded per pool.
        macro_rules! insert {
            ($p:expr) => {
                sqlx::query(INSERT)
                    .bind(event.at_us)
                    .bind(&event.actor)
                    .bind(&event.action)
                    .bind(&event.object)
                    .bind(&changes)
                    .bind(&event.address)
                    .bind(&event.request_id)
                    .fetch_one($p)
                    .await?
                    .try_get::<i64, _>("id")?
            };
        }
        let row = match self.pool() {
            Pool::Sqlite(p) => insert!(p),
            Pool::Postgres(p) => insert!(p),
        };
        Ok(row)
    }

    /// The events `q` asks for, oldest first.
    pub async fn audit(&self, q: &AuditQuery) -> crate::Result<Vec<AuditEvent>> {
        // Newest first under the limit, then put in order: "the latest N".
        const SELECT: &str = "SELECT id, at_us, actor, action, object, changes, address, request_id \
             FROM candor_audit \
             WHERE ($1 IS NULL OR at_us >= $1) AND ($2 IS NULL OR object = $2) \
               AND ($3 IS NULL OR actor = $3) AND ($4 IS NULL OR id > $4) \
             ORDER BY id DESC LIMIT $5";
        macro_rules! fetch {
            ($p:expr) => {
                sqlx::query(SELECT)
                    .bind(q.since_us)
                    .bind(&q.object)
                    .bind(&q.actor)
                    .bind(q.after)
                    .bind(i64::from(q.limit))
                    .fetch_all($p)
                    .await?
                    .iter()
                    .map(|r| {
                        Ok(AuditEvent {
                            id: r.try_get("id")?,
                            at_us: r.try_get("at_us")?,
                            actor: r.try_get("actor")?,
                            action: r.try_get("action")?,
                            object: r.try_get("object")?,
                            changes: serde_json::from_str(&r.try_get::<String, _>("changes")?)
                                .unwrap_or(Value::Null),
                            address: r.try_get("address")?,
                            request_id: r.try_get("request_id")?,
                        })
                    })
                    .collect::<crate::Result<Vec<_>>>()?
            };
        }
        let mut events = match self.pool() {
            Pool::Sqlite(p) => fetch!(p),
            Pool::Postgres(p) => fetch!(p),
        };
        events.reverse();
        Ok(events)
    }

    /// Deletes events before `cutoff_us`; returns how many went.
    pub async fn purge_audit(&self, cutoff_us: i64) -> crate::Result<u64> {
        self.delete_before("candor_audit", cutoff_us).await
    }

    /// Deletes the rows of `table` (one of the call log's, a fixed name) whose `at_us` is
    /// before `cutoff_us`; returns how many went.
    pub(crate) async fn delete_before(
        &self,
        table: &'static str,
        cutoff_us: i64,
    ) -> crate::Result<u64> {
        let delete = sqlx::AssertSqlSafe(format!("DELETE FROM {table} WHERE at_us < $1"));
        Ok(match self.pool() {
            Pool::Sqlite(p) => sqlx::query(delete)
                .bind(cutoff_us)
                .execute(p)
                .await?
                .rows_affected(),
            Pool::Postgres(p) => sqlx::query(delete)
                .bind(cutoff_us)
                .execute(p)
                .await?
                .rows_affected(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn only_changed_fields_are_kept_with_both_values() {
        let before = json!({"client_name": "A", "scope": "read", "redirect_uris": []});
        let after = json!({"client_name": "B", "scope": "read", "redirect_uris": ["https://a/cb"]});
        assert_eq!(
            changes(&before, &after),
            json!({
                "client_name": {"before": "A", "after": "B"},
                "redirect_uris": {"before": [], "after": ["https://a/cb"]},
            })
        );
        assert_eq!(
            changes(&Value::Null, &json!({"username": "carol"})),
            json!({"username": {"before": null, "after": "carol"}})
        );
    }
}
