//! The revocation feed ([`FeedStore`]), and appending to it inside another change's
//! transaction (a revoked token and its feed entry commit together).

use async_trait::async_trait;

use super::SqlStore;
use super::query::{Tx, query};
use crate::{FeedStore, NewRevocation, Result, Revocation, RevocationKind, StoreError, codec};

#[async_trait]
impl FeedStore for SqlStore {
    async fn append_revocation(&self, revocation: &NewRevocation) -> Result<i64> {
        let mut tx = Tx::begin_write(&self.pool).await?;
        let seq = append_revocation_in(&mut tx, revocation).await?;
        tx.commit().await?;
        Ok(seq)
    }

    async fn is_revoked(&self, kind: RevocationKind, id: &str) -> Result<bool> {
        let found = query("SELECT 1 FROM revocations WHERE kind = $1 AND id = $2")
            .bind(kind.as_str())
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(found.is_some())
    }

    async fn revocations_since(&self, after: i64, limit: u32) -> Result<Vec<Revocation>> {
        query(
            "SELECT seq, kind, id, expires_at, revoked_at FROM revocations \
             WHERE seq > $1 ORDER BY seq LIMIT $2",
        )
        .bind(after)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(codec::revocation_from_row)
        .collect()
    }

    async fn revoked_at(&self, kind: RevocationKind, id: &str) -> Result<Option<i64>> {
        let row = query("SELECT revoked_at FROM revocations WHERE kind = $1 AND id = $2")
            .bind(kind.as_str())
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| r.get("revoked_at")).transpose()
    }
}

/// Appends to the feed inside `tx`; the existing seq when (kind, id) is there already, unless
/// the kind voids up to a time: then the old entry goes and a new one comes at the end
/// (followers read by position, so the new time must come after what they saw).
pub(super) async fn append_revocation_in(tx: &mut Tx, revocation: &NewRevocation) -> Result<i64> {
    if revocation.kind.voids_until_revoked_at() {
        query("DELETE FROM revocations WHERE kind = $1 AND id = $2")
            .bind(revocation.kind.as_str())
            .bind(&revocation.id)
            .execute(&mut *tx)
            .await?;
    }
    let inserted = query(
        "INSERT INTO revocations (kind, id, expires_at, revoked_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (kind, id) DO NOTHING \
         RETURNING seq",
    )
    .bind(revocation.kind.as_str())
    .bind(&revocation.id)
    .bind(revocation.expires_at)
    .bind(revocation.revoked_at)
    .fetch_optional(&mut *tx)
    .await?;
    let row = match inserted {
        Some(row) => row,
        None => query("SELECT seq FROM revocations WHERE kind = $1 AND id = $2")
            .bind(revocation.kind.as_str())
            .bind(&revocation.id)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or_else(|| {
                StoreError::Corrupt(format!(
                    "revocation {} '{}' conflicted but cannot be found",
                    revocation.kind.as_str(),
                    revocation.id
                ))
            })?,
    };
    row.get("seq")
}
