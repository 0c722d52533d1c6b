//! The shared backend: PostgreSQL, for several `candor` nodes on one database.
//!
//! Every statement runs at READ COMMITTED. Single-row state changes are one conditional
//! `UPDATE`/`INSERT … ON CONFLICT`, so concurrent nodes cannot both win; the revocation of an
//! opaque token and its feed entry commit in one transaction.

use std::time::Duration;

use async_trait::async_trait;
use sqlx::postgres::{PgPool, PgPoolOptions, PgRow};

use crate::codec::{self, impl_columns};
use crate::{
    AccessTokenRecord, Backend, Client, NewRevocation, Result, Revocation, RevocationKind,
    SigningKeyRecord, Store, StoreError, User,
};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// How long a caller waits for a free connection before the store reports an error.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(10);
const MAX_CONNECTIONS: u32 = 16;

impl_columns!(PgRow);

/// The PostgreSQL store. Cheap to clone: the pool is shared.
#[derive(Debug, Clone)]
pub struct PostgresStore {
    pool: PgPool,
}

impl PostgresStore {
    /// Connects a pool to `url` (`postgres://…`) and applies the migrations (under
    /// PostgreSQL's advisory lock, so nodes starting together migrate once).
    pub async fn connect(url: &str) -> Result<Self> {
        let pool = PgPoolOptions::new()
            .max_connections(MAX_CONNECTIONS)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect(url)
            .await?;
        MIGRATOR.run(&pool).await?;
        Ok(Self { pool })
    }

    /// The connection pool, for the few callers that need SQL of their own (tests, tools).
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }
}

#[async_trait]
impl Store for PostgresStore {
    fn backend(&self) -> Backend {
        Backend::Postgres
    }

    async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    // ---- clients -------------------------------------------------------------------------

    async fn insert_client(&self, client: &Client) -> Result<()> {
        sqlx::query(
            "INSERT INTO clients (client_id, name, secret_digest, secret_sealed, auth_method, \
             redirect_uris, post_logout_redirect_uris, grant_types, scopes, audiences, \
             access_token_format, jwks, require_pkce, id_token_signed_response_alg, \
             created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)",
        )
        .bind(&client.client_id)
        .bind(&client.name)
        .bind(&client.secret_digest)
        .bind(&client.secret_sealed)
        .bind(&client.auth_method)
        .bind(codec::encode_list(&client.redirect_uris)?)
        .bind(codec::encode_list(&client.post_logout_redirect_uris)?)
        .bind(codec::encode_list(&client.grant_types)?)
        .bind(codec::encode_list(&client.scopes)?)
        .bind(codec::encode_list(&client.audiences)?)
        .bind(&client.access_token_format)
        .bind(&client.jwks)
        .bind(client.require_pkce)
        .bind(&client.id_token_signed_response_alg)
        .bind(client.created_at)
        .bind(client.updated_at)
        .execute(&self.pool)
        .await
        .map_err(|e| codec::conflict(e, || format!("client '{}'", client.client_id)))?;
        Ok(())
    }

    async fn get_client(&self, client_id: &str) -> Result<Option<Client>> {
        sqlx::query("SELECT * FROM clients WHERE client_id = $1")
            .bind(client_id)
            .fetch_optional(&self.pool)
            .await?
            .map(|row| codec::client_from_row(&row))
            .transpose()
    }

    async fn list_clients(&self) -> Result<Vec<Client>> {
        sqlx::query("SELECT * FROM clients ORDER BY client_id")
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(codec::client_from_row)
            .collect()
    }

    async fn update_client(&self, client: &Client) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE clients SET name = $2, secret_digest = $3, secret_sealed = $4, \
             auth_method = $5, redirect_uris = $6, post_logout_redirect_uris = $7, \
             grant_types = $8, scopes = $9, audiences = $10, access_token_format = $11, \
             jwks = $12, require_pkce = $13, id_token_signed_response_alg = $14, \
             created_at = $15, updated_at = $16 \
             WHERE client_id = $1",
        )
        .bind(&client.client_id)
        .bind(&client.name)
        .bind(&client.secret_digest)
        .bind(&client.secret_sealed)
        .bind(&client.auth_method)
        .bind(codec::encode_list(&client.redirect_uris)?)
        .bind(codec::encode_list(&client.post_logout_redirect_uris)?)
        .bind(codec::encode_list(&client.grant_types)?)
        .bind(codec::encode_list(&client.scopes)?)
        .bind(codec::encode_list(&client.audiences)?)
        .bind(&client.access_token_format)
        .bind(&client.jwks)
        .bind(client.require_pkce)
        .bind(&client.id_token_signed_response_alg)
        .bind(client.created_at)
        .bind(client.updated_at)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() > 0)
    }

    async fn delete_client(&self, client_id: &str) -> Result<bool> {
        let done = sqlx::query("DELETE FROM clients WHERE client_id = $1")
            .bind(client_id)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    // ---- users ---------------------------------------------------------------------------

    async fn insert_user(&self, user: &User) -> Result<()> {
        sqlx::query(
            "INSERT INTO users (id, username, password_hash, email, name, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&user.id)
        .bind(&user.username)
        .bind(&user.password_hash)
        .bind(&user.email)
        .bind(&user.name)
        .bind(user.created_at)
        .execute(&self.pool)
        .await
        .map_err(|e| codec::conflict(e, || format!("user '{}'", user.username)))?;
        Ok(())
    }

    async fn get_user_by_username(&self, username: &str) -> Result<Option<User>> {
        sqlx::query("SELECT * FROM users WHERE username = $1")
            .bind(username)
            .fetch_optional(&self.pool)
            .await?
            .map(|row| codec::user_from_row(&row))
            .transpose()
    }

    async fn get_user(&self, id: &str) -> Result<Option<User>> {
        sqlx::query("SELECT * FROM users WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .map(|row| codec::user_from_row(&row))
            .transpose()
    }

    async fn list_users(&self) -> Result<Vec<User>> {
        sqlx::query("SELECT * FROM users ORDER BY username")
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(codec::user_from_row)
            .collect()
    }

    async fn delete_user(&self, username: &str) -> Result<bool> {
        let done = sqlx::query("DELETE FROM users WHERE username = $1")
            .bind(username)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    async fn set_password_hash(&self, username: &str, password_hash: &str) -> Result<bool> {
        let done = sqlx::query("UPDATE users SET password_hash = $2 WHERE username = $1")
            .bind(username)
            .bind(password_hash)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    // ---- signing keys --------------------------------------------------------------------

    async fn insert_signing_key(&self, key: &SigningKeyRecord) -> Result<()> {
        sqlx::query(
            "INSERT INTO signing_keys \
             (kid, alg, private_sealed, public_jwk, created_at, retired_at, publish_until) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&key.kid)
        .bind(&key.alg)
        .bind(&key.private_sealed)
        .bind(&key.public_jwk)
        .bind(key.created_at)
        .bind(key.retired_at)
        .bind(key.publish_until)
        .execute(&self.pool)
        .await
        .map_err(|e| codec::conflict(e, || format!("signing key '{}'", key.kid)))?;
        Ok(())
    }

    async fn list_signing_keys(&self) -> Result<Vec<SigningKeyRecord>> {
        sqlx::query("SELECT * FROM signing_keys ORDER BY created_at, kid")
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(codec::signing_key_from_row)
            .collect()
    }

    async fn retire_signing_keys(
        &self,
        alg: &str,
        keep_kid: &str,
        retired_at: i64,
        publish_until: i64,
    ) -> Result<u64> {
        let done = sqlx::query(
            "UPDATE signing_keys SET retired_at = $3, publish_until = $4 \
             WHERE alg = $1 AND kid <> $2 AND retired_at IS NULL",
        )
        .bind(alg)
        .bind(keep_kid)
        .bind(retired_at)
        .bind(publish_until)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected())
    }

    async fn delete_expired_signing_keys(&self, now: i64) -> Result<u64> {
        let done = sqlx::query(
            "DELETE FROM signing_keys \
             WHERE retired_at IS NOT NULL AND publish_until IS NOT NULL AND publish_until < $1",
        )
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected())
    }

    // ---- opaque access tokens ------------------------------------------------------------

    async fn insert_access_token(&self, token: &AccessTokenRecord) -> Result<()> {
        sqlx::query(
            "INSERT INTO access_tokens (digest, jti, client_id, subject, scope, audiences, \
             issued_at, expires_at, grant_id, revoked_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(&token.digest)
        .bind(&token.jti)
        .bind(&token.client_id)
        .bind(&token.subject)
        .bind(&token.scope)
        .bind(codec::encode_list(&token.audiences)?)
        .bind(token.issued_at)
        .bind(token.expires_at)
        .bind(&token.grant_id)
        .bind(token.revoked_at)
        .execute(&self.pool)
        .await
        .map_err(|e| codec::conflict(e, || format!("access token '{}'", token.jti)))?;
        Ok(())
    }

    async fn get_access_token(&self, digest: &[u8]) -> Result<Option<AccessTokenRecord>> {
        sqlx::query("SELECT * FROM access_tokens WHERE digest = $1")
            .bind(digest)
            .fetch_optional(&self.pool)
            .await?
            .map(|row| codec::access_token_from_row(&row))
            .transpose()
    }

    async fn revoke_access_token(&self, digest: &[u8], now: i64) -> Result<Option<i64>> {
        let mut tx = self.pool.begin().await?;
        let revoked = sqlx::query(
            "UPDATE access_tokens SET revoked_at = $2 \
             WHERE digest = $1 AND revoked_at IS NULL \
             RETURNING jti, expires_at",
        )
        .bind(digest)
        .bind(now)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = revoked else {
            tx.rollback().await?;
            return Ok(None);
        };
        let entry = NewRevocation {
            kind: RevocationKind::AccessToken,
            id: codec::get(&row, "jti")?,
            expires_at: codec::get(&row, "expires_at")?,
            revoked_at: now,
        };
        let seq = append_revocation_in(&mut tx, &entry).await?;
        tx.commit().await?;
        Ok(Some(seq))
    }

    // ---- revocation feed -----------------------------------------------------------------

    async fn append_revocation(&self, revocation: &NewRevocation) -> Result<i64> {
        let mut tx = self.pool.begin().await?;
        let seq = append_revocation_in(&mut tx, revocation).await?;
        tx.commit().await?;
        Ok(seq)
    }

    async fn is_revoked(&self, kind: RevocationKind, id: &str) -> Result<bool> {
        let found = sqlx::query("SELECT 1 FROM revocations WHERE kind = $1 AND id = $2")
            .bind(kind.as_str())
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(found.is_some())
    }

    async fn revocations_since(&self, after: i64, limit: u32) -> Result<Vec<Revocation>> {
        sqlx::query(
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

    // ---- client assertions ---------------------------------------------------------------

    async fn remember_assertion(
        &self,
        client_id: &str,
        jti: &str,
        expires_at: i64,
    ) -> Result<bool> {
        // A row for the same pair is a replay, whether or not it has expired: `purge_expired`
        // is what forgets old jtis.
        let done = sqlx::query(
            "INSERT INTO client_assertions (client_id, jti, expires_at) VALUES ($1, $2, $3) \
             ON CONFLICT (client_id, jti) DO NOTHING",
        )
        .bind(client_id)
        .bind(jti)
        .bind(expires_at)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    // ---- housekeeping --------------------------------------------------------------------

    async fn purge_expired(&self, now: i64) -> Result<u64> {
        let mut tx = self.pool.begin().await?;
        let mut purged = 0;
        for sql in [
            "DELETE FROM access_tokens WHERE expires_at < $1",
            "DELETE FROM client_assertions WHERE expires_at < $1",
            "DELETE FROM revocations WHERE expires_at < $1",
        ] {
            purged += sqlx::query(sql)
                .bind(now)
                .execute(&mut *tx)
                .await?
                .rows_affected();
        }
        tx.commit().await?;
        Ok(purged)
    }
}

/// Appends to the feed inside `tx`; the existing seq when (kind, id) is there already.
async fn append_revocation_in(
    tx: &mut sqlx::Transaction<'static, sqlx::Postgres>,
    revocation: &NewRevocation,
) -> Result<i64> {
    let inserted = sqlx::query(
        "INSERT INTO revocations (kind, id, expires_at, revoked_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (kind, id) DO NOTHING \
         RETURNING seq",
    )
    .bind(revocation.kind.as_str())
    .bind(&revocation.id)
    .bind(revocation.expires_at)
    .bind(revocation.revoked_at)
    .fetch_optional(&mut **tx)
    .await?;
    let row = match inserted {
        Some(row) => row,
        None => sqlx::query("SELECT seq FROM revocations WHERE kind = $1 AND id = $2")
            .bind(revocation.kind.as_str())
            .bind(&revocation.id)
            .fetch_optional(&mut **tx)
            .await?
            .ok_or_else(|| {
                StoreError::Corrupt(format!(
                    "revocation {} '{}' conflicted but cannot be found",
                    revocation.kind.as_str(),
                    revocation.id
                ))
            })?,
    };
    let seq: i64 = codec::get(&row, "seq")?;
    Ok(seq)
}
