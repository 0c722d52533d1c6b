//! The browser flow ([`BrowserStore`]): sessions, completed authorization requests, consent,
//! login attempts.

use async_trait::async_trait;

use super::SqlStore;
use super::feed::append_revocation_in;
use super::query::{Tx, query};
use crate::codec::{self, Columns};
use crate::{BrowserStore, Consent, NewRevocation, Result, RevocationKind, SessionRecord};

#[async_trait]
impl BrowserStore for SqlStore {
    // ---- browser sessions ----------------------------------------------------------------

    async fn insert_session(&self, session: &SessionRecord) -> Result<()> {
        query(
            "INSERT INTO sessions (digest, sid, user_id, auth_time, amr, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&session.digest)
        .bind(&session.sid)
        .bind(&session.user_id)
        .bind(session.auth_time)
        .bind(codec::encode_list(&session.amr)?)
        .bind(session.created_at)
        .bind(session.expires_at)
        .execute(&self.pool)
        .await
        .map_err(|e| codec::conflict(e, || format!("session '{}'", session.sid)))?;
        Ok(())
    }

    async fn get_session(&self, digest: &[u8]) -> Result<Option<SessionRecord>> {
        query("SELECT * FROM sessions WHERE digest = $1")
            .bind(digest)
            .fetch_optional(&self.pool)
            .await?
            .map(|row| codec::session_from_row(&row))
            .transpose()
    }

    async fn delete_session(&self, sid: &str) -> Result<bool> {
        let deleted = query("DELETE FROM sessions WHERE sid = $1")
            .bind(sid)
            .execute(&self.pool)
            .await?;
        Ok(deleted > 0)
    }

    async fn list_sessions(&self, user_id: &str, now: i64) -> Result<Vec<SessionRecord>> {
        query(
            "SELECT * FROM sessions WHERE user_id = $1 AND expires_at > $2 \
             ORDER BY created_at DESC, sid",
        )
        .bind(user_id)
        .bind(now)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(codec::session_from_row)
        .collect()
    }

    // ---- completed authorization requests ------------------------------------------------

    async fn spend_request(&self, id: &str, expires_at: i64) -> Result<bool> {
        let inserted = query(
            "INSERT INTO spent_requests (id, expires_at) VALUES ($1, $2) \
             ON CONFLICT (id) DO NOTHING",
        )
        .bind(id)
        .bind(expires_at)
        .execute(&self.pool)
        .await?;
        Ok(inserted == 1)
    }

    // ---- consent -------------------------------------------------------------------------

    async fn get_consent(&self, user_id: &str, client_id: &str) -> Result<Option<Vec<String>>> {
        query("SELECT scopes FROM consents WHERE user_id = $1 AND client_id = $2")
            .bind(user_id)
            .bind(client_id)
            .fetch_optional(&self.pool)
            .await?
            .map(|row| row.list("scopes"))
            .transpose()
    }

    async fn put_consent(
        &self,
        user_id: &str,
        client_id: &str,
        scopes: &[String],
        now: i64,
    ) -> Result<()> {
        query(
            "INSERT INTO consents (user_id, client_id, scopes, granted_at) \
             VALUES ($1, $2, $3, $4) \
             ON CONFLICT (user_id, client_id) \
             DO UPDATE SET scopes = excluded.scopes, granted_at = excluded.granted_at",
        )
        .bind(user_id)
        .bind(client_id)
        .bind(codec::encode_list(scopes)?)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn list_consents(&self, user_id: &str) -> Result<Vec<Consent>> {
        query("SELECT * FROM consents WHERE user_id = $1 ORDER BY client_id")
            .bind(user_id)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|row| {
                Ok(Consent {
                    client_id: row.text("client_id")?,
                    scopes: row.list("scopes")?,
                    granted_at: row.int("granted_at")?,
                })
            })
            .collect()
    }

    async fn revoke_consent(
        &self,
        user_id: &str,
        client_id: &str,
        now: i64,
        feed_expires_at: i64,
    ) -> Result<bool> {
        let mut tx = Tx::begin_write(&self.pool).await?;
        let deleted = query("DELETE FROM consents WHERE user_id = $1 AND client_id = $2")
            .bind(user_id)
            .bind(client_id)
            .execute(&mut tx)
            .await?;
        if deleted == 0 {
            tx.rollback().await?;
            return Ok(false);
        }
        // The grants of the pair: refresh-token families are named by their grant id, and
        // access tokens carry it.
        let mut grants: Vec<String> = Vec::new();
        for select in [
            "SELECT DISTINCT family_id AS grant_id FROM refresh_tokens \
             WHERE user_id = $1 AND client_id = $2 AND revoked_at IS NULL",
            "SELECT DISTINCT grant_id FROM access_tokens \
             WHERE subject = $1 AND client_id = $2 AND revoked_at IS NULL \
             AND grant_id IS NOT NULL",
        ] {
            for row in query(select)
                .bind(user_id)
                .bind(client_id)
                .fetch_all(&mut tx)
                .await?
            {
                grants.push(row.text("grant_id")?);
            }
        }
        grants.sort();
        grants.dedup();
        for revoke in [
            "UPDATE refresh_tokens SET revoked_at = $3 \
             WHERE user_id = $1 AND client_id = $2 AND revoked_at IS NULL",
            "UPDATE access_tokens SET revoked_at = $3 \
             WHERE subject = $1 AND client_id = $2 AND revoked_at IS NULL",
        ] {
            query(revoke)
                .bind(user_id)
                .bind(client_id)
                .bind(now)
                .execute(&mut tx)
                .await?;
        }
        for grant in grants {
            let entry = NewRevocation {
                kind: RevocationKind::Grant,
                id: grant,
                expires_at: feed_expires_at,
                revoked_at: now,
            };
            append_revocation_in(&mut tx, &entry).await?;
        }
        tx.commit().await?;
        Ok(true)
    }

    // ---- failed logins -------------------------------------------------------------------

    async fn record_login_failure(&self, username: &str, now: i64, window: i64) -> Result<u32> {
        // One upsert: a window that started at or before `now - window` is over, and the
        // failure starts a new one. The SET expressions all see the row as it was.
        let row = query(
            "INSERT INTO login_failures (username, failures, window_start, last_failure_at) \
             VALUES ($1, 1, $2, $2) \
             ON CONFLICT (username) DO UPDATE SET \
             failures = CASE WHEN login_failures.window_start <= $3 THEN 1 \
             ELSE login_failures.failures + 1 END, \
             window_start = CASE WHEN login_failures.window_start <= $3 THEN $2 \
             ELSE login_failures.window_start END, \
             last_failure_at = $2 \
             RETURNING failures",
        )
        .bind(username)
        .bind(now)
        .bind(now.saturating_sub(window))
        .fetch_one(&self.pool)
        .await?;
        codec::failure_count(&row)
    }

    async fn login_failures(
        &self,
        username: &str,
        now: i64,
        window: i64,
    ) -> Result<(u32, Option<i64>)> {
        let row = query(
            "SELECT failures, last_failure_at FROM login_failures \
             WHERE username = $1 AND window_start > $2",
        )
        .bind(username)
        .bind(now.saturating_sub(window))
        .fetch_optional(&self.pool)
        .await?;
        match row {
            Some(row) => Ok((
                codec::failure_count(&row)?,
                Some(row.get("last_failure_at")?),
            )),
            None => Ok((0, None)),
        }
    }

    async fn clear_login_failures(&self, username: &str) -> Result<()> {
        query("DELETE FROM login_failures WHERE username = $1")
            .bind(username)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}
