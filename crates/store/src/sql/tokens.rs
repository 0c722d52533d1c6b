//! What tokens are issued from and redeemed against ([`TokenStore`]): opaque access tokens,
//! client assertions seen, authorization codes, refresh tokens, and ending a user's grants.

use async_trait::async_trait;

use super::SqlStore;
use super::feed::append_revocation_in;
use super::query::{On, Row, Tx, query};
use crate::{
    AccessTokenRecord, AuthorizationCodeRecord, Backend, Consumed, Issuance, NewRevocation,
    RefreshTokenRecord, Result, RevocationKind, TokenStore, codec,
};

#[async_trait]
impl TokenStore for SqlStore {
    // ---- opaque access tokens ------------------------------------------------------------

    async fn insert_access_token(&self, token: &AccessTokenRecord) -> Result<()> {
        insert_access_token_in(&self.pool, token).await
    }

    async fn get_access_token(&self, digest: &[u8]) -> Result<Option<AccessTokenRecord>> {
        query("SELECT * FROM access_tokens WHERE digest = $1")
            .bind(digest)
            .fetch_optional(&self.pool)
            .await?
            .map(|row| codec::access_token_from_row(&row))
            .transpose()
    }

    async fn revoke_access_token(&self, digest: &[u8], now: i64) -> Result<Option<i64>> {
        let mut tx = Tx::begin_write(&self.pool).await?;
        let revoked = query(
            "UPDATE access_tokens SET revoked_at = $2 \
             WHERE digest = $1 AND revoked_at IS NULL \
             RETURNING jti, expires_at",
        )
        .bind(digest)
        .bind(now)
        .fetch_optional(&mut tx)
        .await?;
        let Some(row) = revoked else {
            tx.rollback().await?;
            return Ok(None);
        };
        let entry = NewRevocation {
            kind: RevocationKind::AccessToken,
            id: row.get("jti")?,
            expires_at: row.get("expires_at")?,
            revoked_at: now,
        };
        let seq = append_revocation_in(&mut tx, &entry).await?;
        tx.commit().await?;
        Ok(Some(seq))
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
        let inserted = query(
            "INSERT INTO client_assertions (client_id, jti, expires_at) VALUES ($1, $2, $3) \
             ON CONFLICT (client_id, jti) DO NOTHING",
        )
        .bind(client_id)
        .bind(jti)
        .bind(expires_at)
        .execute(&self.pool)
        .await?;
        Ok(inserted == 1)
    }

    // ---- authorization codes -------------------------------------------------------------

    async fn insert_code(&self, code: &AuthorizationCodeRecord) -> Result<()> {
        query(
            "INSERT INTO authorization_codes (digest, client_id, user_id, redirect_uri, \
             redirect_uri_sent, scope, nonce, code_challenge, auth_time, sid, amr, grant_id, \
             issued_at, expires_at, used_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
        )
        .bind(&code.digest)
        .bind(&code.client_id)
        .bind(&code.user_id)
        .bind(&code.redirect_uri)
        .bind(code.redirect_uri_sent)
        .bind(&code.scope)
        .bind(&code.nonce)
        .bind(&code.code_challenge)
        .bind(code.auth_time)
        .bind(&code.sid)
        .bind(codec::encode_list(&code.amr)?)
        .bind(&code.grant_id)
        .bind(code.issued_at)
        .bind(code.expires_at)
        .bind(code.used_at)
        .execute(&self.pool)
        .await
        .map_err(|e| {
            codec::conflict(e, || {
                format!("authorization code of grant '{}'", code.grant_id)
            })
        })?;
        Ok(())
    }

    async fn get_code(&self, digest: &[u8]) -> Result<Option<AuthorizationCodeRecord>> {
        query("SELECT * FROM authorization_codes WHERE digest = $1")
            .bind(digest)
            .fetch_optional(&self.pool)
            .await?
            .map(|row| codec::code_from_row(&row))
            .transpose()
    }

    async fn consume_code(
        &self,
        digest: &[u8],
        now: i64,
        issued: &Issuance,
    ) -> Result<Consumed<AuthorizationCodeRecord>> {
        // One conditional UPDATE: whoever flips `used_at` first gets the row back, and holds
        // its lock until what it issued is committed with it. A concurrent redemption waits on
        // that lock, then finds the code spent — and the tokens there to revoke.
        let claim = "UPDATE authorization_codes SET used_at = $2 \
                     WHERE digest = $1 AND used_at IS NULL \
                     RETURNING *";
        if let Some(record) = self
            .consume(claim, digest, now, issued, codec::code_from_row)
            .await?
        {
            return Ok(Consumed::Fresh(record));
        }
        match self.get_code(digest).await? {
            Some(record) => Ok(Consumed::Spent(record)),
            None => Ok(Consumed::NotFound),
        }
    }

    // ---- refresh tokens ------------------------------------------------------------------

    async fn insert_refresh_token(&self, token: &RefreshTokenRecord) -> Result<()> {
        insert_refresh_token_in(&self.pool, token).await
    }

    async fn get_refresh_token(&self, digest: &[u8]) -> Result<Option<RefreshTokenRecord>> {
        query("SELECT * FROM refresh_tokens WHERE digest = $1")
            .bind(digest)
            .fetch_optional(&self.pool)
            .await?
            .map(|row| codec::refresh_token_from_row(&row))
            .transpose()
    }

    async fn consume_refresh_token(
        &self,
        digest: &[u8],
        now: i64,
        issued: &Issuance,
    ) -> Result<Consumed<RefreshTokenRecord>> {
        let claim = "UPDATE refresh_tokens SET used_at = $2 \
                     WHERE digest = $1 AND used_at IS NULL AND revoked_at IS NULL \
                     RETURNING *";
        if let Some(record) = self
            .consume(claim, digest, now, issued, codec::refresh_token_from_row)
            .await?
        {
            return Ok(Consumed::Fresh(record));
        }
        match self.get_refresh_token(digest).await? {
            Some(record) => Ok(Consumed::Spent(record)),
            None => Ok(Consumed::NotFound),
        }
    }

    async fn revoke_refresh_family(
        &self,
        family_id: &str,
        now: i64,
        feed_expires_at: i64,
    ) -> Result<i64> {
        // First lock the family's rows: a rotation in flight holds the lock of the token it
        // consumes, so this waits until it has committed the next token, and the UPDATE below
        // (a new statement, a new snapshot) revokes that one too. SQLite has no FOR UPDATE and
        // needs none: its write transaction holds the whole database.
        let lock_family = match self.pool.backend() {
            Backend::Sqlite => "SELECT digest FROM refresh_tokens WHERE family_id = $1",
            Backend::Postgres => {
                "SELECT digest FROM refresh_tokens WHERE family_id = $1 FOR UPDATE"
            }
        };
        let mut tx = Tx::begin_write(&self.pool).await?;
        query(lock_family)
            .bind(family_id)
            .fetch_all(&mut tx)
            .await?;
        query(
            "UPDATE refresh_tokens SET revoked_at = $2 \
             WHERE family_id = $1 AND revoked_at IS NULL",
        )
        .bind(family_id)
        .bind(now)
        .execute(&mut tx)
        .await?;
        let entry = NewRevocation {
            kind: RevocationKind::RefreshFamily,
            id: family_id.to_string(),
            expires_at: feed_expires_at,
            revoked_at: now,
        };
        let seq = append_revocation_in(&mut tx, &entry).await?;
        tx.commit().await?;
        Ok(seq)
    }

    // ---- users' grants -------------------------------------------------------------------

    async fn revoke_subject(&self, user_id: &str, now: i64, feed_expires_at: i64) -> Result<i64> {
        let mut tx = Tx::begin_write(&self.pool).await?;
        let seq = revoke_subject_in(&mut tx, user_id, now, feed_expires_at).await?;
        tx.commit().await?;
        Ok(seq)
    }
}

/// Ends every session of a user and revokes everything issued to them, inside `tx`: the
/// feed's `Subject` entry tells gateways.
pub(super) async fn revoke_subject_in(
    tx: &mut Tx,
    user_id: &str,
    now: i64,
    feed_expires_at: i64,
) -> Result<i64> {
    query("DELETE FROM sessions WHERE user_id = $1")
        .bind(user_id)
        .execute(&mut *tx)
        .await?;
    query(
        "UPDATE refresh_tokens SET revoked_at = $2 \
         WHERE user_id = $1 AND revoked_at IS NULL",
    )
    .bind(user_id)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    query(
        "UPDATE access_tokens SET revoked_at = $2 \
         WHERE subject = $1 AND revoked_at IS NULL",
    )
    .bind(user_id)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    let entry = NewRevocation {
        kind: RevocationKind::Subject,
        id: user_id.to_string(),
        expires_at: feed_expires_at,
        revoked_at: now,
    };
    append_revocation_in(tx, &entry).await
}

impl SqlStore {
    /// Runs `claim` (an `UPDATE … RETURNING *` that marks the row at `digest` used at `now`
    /// if it is still usable) and, when it returns the row, stores `issued` in the same
    /// transaction: the record as now stored. `None` when nothing was claimed, with nothing
    /// stored.
    async fn consume<T>(
        &self,
        claim: &'static str,
        digest: &[u8],
        now: i64,
        issued: &Issuance,
        decode: fn(&Row) -> Result<T>,
    ) -> Result<Option<T>> {
        let mut tx = Tx::begin_write(&self.pool).await?;
        let fresh = query(claim)
            .bind(digest)
            .bind(now)
            .fetch_optional(&mut tx)
            .await?;
        let Some(row) = fresh else {
            tx.rollback().await?;
            return Ok(None);
        };
        let record = decode(&row)?;
        store_issuance(&mut tx, issued).await?;
        tx.commit().await?;
        Ok(Some(record))
    }
}

/// Stores what a redemption or rotation issued, inside its transaction.
async fn store_issuance(tx: &mut Tx, issued: &Issuance) -> Result<()> {
    if let Some(token) = &issued.refresh_token {
        insert_refresh_token_in(&mut *tx, token).await?;
    }
    if let Some(token) = &issued.access_token {
        insert_access_token_in(&mut *tx, token).await?;
    }
    Ok(())
}

async fn insert_access_token_in(on: impl Into<On<'_>>, token: &AccessTokenRecord) -> Result<()> {
    query(
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
    .execute(on)
    .await
    .map_err(|e| codec::conflict(e, || format!("access token '{}'", token.jti)))?;
    Ok(())
}

async fn insert_refresh_token_in(on: impl Into<On<'_>>, token: &RefreshTokenRecord) -> Result<()> {
    query(
        "INSERT INTO refresh_tokens (digest, family_id, client_id, user_id, scope, \
         auth_time, sid, amr, issued_at, expires_at, idle_expires_at, used_at, revoked_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
    )
    .bind(&token.digest)
    .bind(&token.family_id)
    .bind(&token.client_id)
    .bind(&token.user_id)
    .bind(&token.scope)
    .bind(token.auth_time)
    .bind(&token.sid)
    .bind(codec::encode_list(&token.amr)?)
    .bind(token.issued_at)
    .bind(token.expires_at)
    .bind(token.idle_expires_at)
    .bind(token.used_at)
    .bind(token.revoked_at)
    .execute(on)
    .await
    .map_err(|e| {
        codec::conflict(e, || {
            format!("refresh token of family '{}'", token.family_id)
        })
    })?;
    Ok(())
}
