//! Health and housekeeping ([`Maintenance`]).

use async_trait::async_trait;

use super::SqlStore;
use super::query::{Tx, query};
use crate::{Backend, LOGIN_FAILURE_RETENTION, Maintenance, PoolStats, Result};

/// What [`Maintenance::purge_expired`] deletes by `expires_at`, table by table.
const EXPIRING: [&str; 7] = [
    "DELETE FROM access_tokens WHERE expires_at < $1",
    "DELETE FROM client_assertions WHERE expires_at < $1",
    "DELETE FROM revocations WHERE expires_at < $1",
    "DELETE FROM authorization_codes WHERE expires_at < $1",
    "DELETE FROM refresh_tokens WHERE expires_at < $1",
    "DELETE FROM sessions WHERE expires_at < $1",
    "DELETE FROM spent_requests WHERE expires_at < $1",
];

#[async_trait]
impl Maintenance for SqlStore {
    fn backend(&self) -> Backend {
        self.pool.backend()
    }

    async fn ping(&self) -> Result<()> {
        query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    fn pool_stats(&self) -> PoolStats {
        self.pool.stats()
    }

    async fn feed_length(&self) -> Result<i64> {
        query("SELECT COUNT(*) AS n FROM revocations")
            .fetch_one(&self.pool)
            .await?
            .get("n")
    }

    async fn check_writable(&self, now: i64) -> Result<()> {
        let mut tx = Tx::begin_write(&self.pool).await?;
        query(
            "INSERT INTO readiness (id, checked_at) VALUES (1, $1) \
             ON CONFLICT (id) DO UPDATE SET checked_at = excluded.checked_at",
        )
        .bind(now)
        .execute(&mut tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn purge_expired(&self, now: i64) -> Result<u64> {
        let mut tx = Tx::begin_write(&self.pool).await?;
        let mut purged = 0;
        for sql in EXPIRING {
            purged += query(sql).bind(now).execute(&mut tx).await?;
        }
        purged += query("DELETE FROM login_failures WHERE last_failure_at < $1")
            .bind(now.saturating_sub(LOGIN_FAILURE_RETENTION))
            .execute(&mut tx)
            .await?;
        tx.commit().await?;
        Ok(purged)
    }
}
