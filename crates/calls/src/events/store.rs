//! Identity events in the database: `candor_identity_events` (one row per event), read back
//! newest last with paging like the audit log's, and purged past the retention. They are
//! written, with their sums in the rollups, by [`CallStore::write_events`]
//! (`crate::store`, beside the calls' own writes).

use serde::Serialize;
use sqlx::Row;

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
    /// The events `q` asks for, oldest first.
    pub async fn events(&self, q: &EventQuery) -> crate::Result<Vec<StoredEvent>> {
        // The latest N (newest first, then put in order) — or, following, the next N.
        let order = if q.after.is_some() { "ASC" } else { "DESC" };
        let sql = format!(
            "SELECT {COLUMNS} FROM candor_identity_events \
             WHERE ($1 IS NULL OR kind = $1) AND ($2 IS NULL OR client_id = $2) \
               AND ($3 IS NULL OR subject = $3) AND ($4 IS NULL OR cause = $4) \
               AND ($5 IS NULL OR at_us >= $5) AND ($6 IS NULL OR at_us < $6) \
               AND ($7 IS NULL OR id > $7) AND ($8 IS NULL OR id < $8) \
             ORDER BY id {order} LIMIT $9"
        );
        macro_rules! fetch {
            ($p:expr) => {
                sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(&q.kind)
                    .bind(&q.client_id)
                    .bind(&q.subject)
                    .bind(&q.cause)
                    .bind(q.since_us)
                    .bind(q.until_us)
                    .bind(q.after)
                    .bind(q.before)
                    .bind(i64::from(q.limit.clamp(1, 10_000)))
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
            };
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
