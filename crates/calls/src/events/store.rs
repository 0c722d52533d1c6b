//! Identity events in the database: `candor_identity_events` (one row per event), read back
//! newest last with paging like the audit log's, and purged past the retention. They are
//! written, with their sums in the rollups, by [`CallStore::write_events`]
//! (`crate::store`, beside the calls' own writes).

use serde::Serialize;
use sqlx::Row;

use crate::stats::Bind;
use crate::store::CallStore;
use candor_store::db::Pool;

/// An event as read back, with the id to page from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StoredEvent {
    pub id: i64,
    /// `evt_…`: the id webhooks were sent it with (`webhook-id`).
    pub uid: String,
    /// Unix microseconds.
    pub at_us: i64,
    pub node: String,
    pub kind: String,
    pub client_id: Option<String>,
    pub subject: Option<String>,
    pub cause: Option<String>,
    pub grant: Option<String>,
    pub address: Option<String>,
    pub request_id: Option<String>,
    pub detail: Option<String>,
}

/// Which events to list. Without `after`, the latest `limit` (before `before`, when given);
/// with `after`, the first `limit` written after it (to follow). Oldest first either way.
#[derive(Debug, Clone, Default)]
pub struct EventQuery {
    pub kind: Option<String>,
    pub client_id: Option<String>,
    pub subject: Option<String>,
    /// A diagnosis code.
    pub cause: Option<String>,
    /// Unix microseconds, included.
    pub since_us: Option<i64>,
    /// Unix microseconds, excluded.
    pub until_us: Option<i64>,
    pub after: Option<i64>,
    pub before: Option<i64>,
    pub limit: u32,
}

const COLUMNS: &str = "id, uid, at_us, node, kind, client_id, subject, cause, grant_type, \
                       address, request_id, detail";

impl CallStore {
    /// The events `q` asks for, oldest first. Only the conditions asked for reach the SQL,
    /// so that each can use its index (kind, client, subject: each with the id).
    pub async fn events(&self, q: &EventQuery) -> crate::Result<Vec<StoredEvent>> {
        let mut binds: Vec<Bind> = Vec::new();
        let mut sql = format!("SELECT {COLUMNS} FROM candor_identity_events WHERE 1 = 1");
        let texts = [
            ("kind", &q.kind),
            ("client_id", &q.client_id),
            ("subject", &q.subject),
            ("cause", &q.cause),
        ];
        for (column, value) in texts {
            if let Some(v) = value {
                binds.push(Bind::Text(v.clone()));
                sql.push_str(&format!(" AND {column} = ${}", binds.len()));
            }
        }
        let ints = [
            ("at_us >=", q.since_us),
            ("at_us <", q.until_us),
            ("id >", q.after),
            ("id <", q.before),
        ];
        for (condition, value) in ints {
            if let Some(v) = value {
                binds.push(Bind::Int(v));
                sql.push_str(&format!(" AND {condition} ${}", binds.len()));
            }
        }
        // The latest N (newest first, then put in order) — or, following, the next N.
        let order = if q.after.is_some() { "ASC" } else { "DESC" };
        sql.push_str(&format!(
            " ORDER BY id {order} LIMIT {}",
            q.limit.clamp(1, 10_000)
        ));
        macro_rules! fetch {
            ($p:expr) => {{
                let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
                for b in &binds {
                    query = match b {
                        Bind::Int(n) => query.bind(*n),
                        Bind::Text(t) => query.bind(t.clone()),
                    };
                }
                query
                    .fetch_all($p)
                    .await?
                    .iter()
                    .map(|r| {
                        Ok(StoredEvent {
                            id: r.try_get("id")?,
                            uid: r.try_get("uid")?,
                            at_us: r.try_get("at_us")?,
                            node: r.try_get("node")?,
                            kind: r.try_get("kind")?,
                            client_id: r.try_get("client_id")?,
                            subject: r.try_get("subject")?,
                            cause: r.try_get("cause")?,
                            grant: r.try_get("grant_type")?,
                            address: r.try_get("address")?,
                            request_id: r.try_get("request_id")?,
                            detail: r.try_get("detail")?,
                        })
                    })
                    .collect::<crate::Result<Vec<_>>>()?
            }};
        }
        let mut events = match self.pool() {
            Pool::Sqlite(p) => fetch!(p),
            Pool::Postgres(p) => fetch!(p),
        };
        events.sort_by_key(|e| e.id);
        Ok(events)
    }

    /// Deletes events before `cutoff_us`; returns how many went. (Their rollup rows go with
    /// the calls', by [`CallStore::purge`].)
    pub async fn purge_events(&self, cutoff_us: i64) -> crate::Result<u64> {
        self.delete_before("candor_identity_events", cutoff_us)
            .await
    }
}
