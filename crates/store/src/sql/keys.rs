//! Signing keys ([`KeyStore`]); the private halves arrive sealed.

use async_trait::async_trait;
use candor_proto::jose::SigningAlg;

use super::SqlStore;
use super::query::query;
use crate::{KeyStore, Result, SigningKeyRecord, codec};

#[async_trait]
impl KeyStore for SqlStore {
    async fn insert_signing_key(&self, key: &SigningKeyRecord) -> Result<()> {
        query(
            "INSERT INTO signing_keys \
             (kid, alg, private_sealed, public_jwk, created_at, retired_at, publish_until, \
              activates_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(&key.kid)
        .bind(key.alg.as_str())
        .bind(&key.private_sealed)
        .bind(&key.public_jwk)
        .bind(key.created_at)
        .bind(key.retired_at)
        .bind(key.publish_until)
        .bind(key.activates_at)
        .execute(&self.pool)
        .await
        .map_err(|e| codec::conflict(e, || format!("signing key '{}'", key.kid)))?;
        Ok(())
    }

    async fn list_signing_keys(&self) -> Result<Vec<SigningKeyRecord>> {
        query("SELECT * FROM signing_keys ORDER BY created_at, kid")
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(codec::signing_key_from_row)
            .collect()
    }

    async fn retire_signing_keys(
        &self,
        alg: SigningAlg,
        keep_kid: &str,
        retired_at: i64,
        publish_until: i64,
    ) -> Result<u64> {
        let retired = query(
            "UPDATE signing_keys SET retired_at = $3, publish_until = $4 \
             WHERE alg = $1 AND kid <> $2 AND retired_at IS NULL",
        )
        .bind(alg.as_str())
        .bind(keep_kid)
        .bind(retired_at)
        .bind(publish_until)
        .execute(&self.pool)
        .await?;
        Ok(retired)
    }

    async fn delete_expired_signing_keys(&self, now: i64) -> Result<u64> {
        let deleted = query(
            "DELETE FROM signing_keys \
             WHERE retired_at IS NOT NULL AND publish_until IS NOT NULL AND publish_until < $1",
        )
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(deleted)
    }
}
