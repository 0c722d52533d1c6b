//! The one implementation of [`Store`](crate::Store) in SQL, shared by both backends.
//!
//! The SQL is the same for SQLite and PostgreSQL: `$N` placeholders (sqlx binds them by number
//! on SQLite too), `INSERT … ON CONFLICT`, `UPDATE … RETURNING`, `DELETE … RETURNING`. What
//! differs — the pool, how a write transaction begins, the migrations — stays in `sqlite.rs`
//! and `postgres.rs`, which invoke [`impl_store!`] for their store type. Each store type has
//! `fn pool(&self)` and `async fn begin_write(&self)`, and names its row-locking clause
//! (`FOR UPDATE` on PostgreSQL; nothing on SQLite, where a write transaction holds the whole
//! database).

/// Implements [`Store`](crate::Store) for `$store` on database `$db`.
macro_rules! impl_store {
    ($store:ident, $db:ty, $backend:expr, $for_update:literal) => {
        #[async_trait]
        impl Directory for $store {
            // ---- clients -------------------------------------------------------------------------

            async fn insert_client(&self, client: &Client) -> Result<()> {
                let query = sqlx::query(
                    "INSERT INTO clients (client_id, name, secret_digest, secret_sealed, auth_method, \
                     redirect_uris, post_logout_redirect_uris, grant_types, scopes, audiences, \
                     access_token_format, jwks, require_pkce, id_token_signed_response_alg, \
                     created_at, updated_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)",
                );
                bind_client(query, client)?
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

            async fn scope_registered(&self, scope: &str) -> Result<bool> {
                // `scopes` is a JSON array of strings, so LIKE narrows the rows to those that
                // mention the scope (LIKE's wildcards escaped); SQLite's LIKE ignores ASCII
                // case, so the exact check is made on the decoded lists.
                let needle = serde_json::to_string(scope)
                    .map_err(|e| StoreError::Corrupt(e.to_string()))?
                    .replace('\\', "\\\\")
                    .replace('%', "\\%")
                    .replace('_', "\\_");
                let rows = sqlx::query("SELECT scopes FROM clients WHERE scopes LIKE $1 ESCAPE '\\'")
                    .bind(format!("%{needle}%"))
                    .fetch_all(&self.pool)
                    .await?;
                for row in &rows {
                    let scopes: String = codec::get(row, "scopes")?;
                    let scopes: Vec<String> = serde_json::from_str(&scopes)
                        .map_err(|e| StoreError::Corrupt(format!("clients.scopes: {e}")))?;
                    if scopes.iter().any(|s| s == scope) {
                        return Ok(true);
                    }
                }
                Ok(false)
            }

            async fn update_client(&self, client: &Client) -> Result<bool> {
                let query = sqlx::query(
                    "UPDATE clients SET name = $2, secret_digest = $3, secret_sealed = $4, \
                     auth_method = $5, redirect_uris = $6, post_logout_redirect_uris = $7, \
                     grant_types = $8, scopes = $9, audiences = $10, access_token_format = $11, \
                     jwks = $12, require_pkce = $13, id_token_signed_response_alg = $14, \
                     created_at = $15, updated_at = $16 \
                     WHERE client_id = $1",
                );
                let done = bind_client(query, client)?
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
        }

        #[async_trait]
        impl KeyStore for $store {
            // ---- signing keys --------------------------------------------------------------------

            async fn insert_signing_key(&self, key: &SigningKeyRecord) -> Result<()> {
                sqlx::query(
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
                sqlx::query("SELECT * FROM signing_keys ORDER BY created_at, kid")
                    .fetch_all(&self.pool)
                    .await?
                    .iter()
                    .map(codec::signing_key_from_row)
                    .collect()
            }

            async fn retire_signing_keys(
                &self,
                alg: candor_proto::jose::SigningAlg,
                keep_kid: &str,
                retired_at: i64,
                publish_until: i64,
            ) -> Result<u64> {
                let done = sqlx::query(
                    "UPDATE signing_keys SET retired_at = $3, publish_until = $4 \
                     WHERE alg = $1 AND kid <> $2 AND retired_at IS NULL",
                )
                .bind(alg.as_str())
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
        }

        #[async_trait]
        impl TokenStore for $store {
            // ---- opaque access tokens ------------------------------------------------------------

            async fn insert_access_token(&self, token: &AccessTokenRecord) -> Result<()> {
                insert_access_token_in(&self.pool, token).await
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
                let mut tx = self.begin_write().await?;
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

            // ---- authorization codes -------------------------------------------------------------

            async fn insert_code(&self, code: &AuthorizationCodeRecord) -> Result<()> {
                sqlx::query(
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
                sqlx::query("SELECT * FROM authorization_codes WHERE digest = $1")
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
                // One conditional UPDATE: whoever flips `used_at` first gets the row back, and
                // holds its lock until what it issued is committed with it. A concurrent
                // redemption waits on that lock, then finds the code spent — and the tokens
                // there to revoke.
                let mut tx = self.begin_write().await?;
                let fresh = sqlx::query(
                    "UPDATE authorization_codes SET used_at = $2 \
                     WHERE digest = $1 AND used_at IS NULL \
                     RETURNING *",
                )
                .bind(digest)
                .bind(now)
                .fetch_optional(&mut *tx)
                .await?;
                if let Some(row) = fresh {
                    let record = codec::code_from_row(&row)?;
                    store_issuance(&mut tx, issued).await?;
                    tx.commit().await?;
                    return Ok(Consumed::Fresh(record));
                }
                tx.rollback().await?;
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
                sqlx::query("SELECT * FROM refresh_tokens WHERE digest = $1")
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
                let mut tx = self.begin_write().await?;
                let fresh = sqlx::query(
                    "UPDATE refresh_tokens SET used_at = $2 \
                     WHERE digest = $1 AND used_at IS NULL AND revoked_at IS NULL \
                     RETURNING *",
                )
                .bind(digest)
                .bind(now)
                .fetch_optional(&mut *tx)
                .await?;
                if let Some(row) = fresh {
                    let record = codec::refresh_token_from_row(&row)?;
                    store_issuance(&mut tx, issued).await?;
                    tx.commit().await?;
                    return Ok(Consumed::Fresh(record));
                }
                tx.rollback().await?;
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
                let mut tx = self.begin_write().await?;
                // First lock the family's rows: a rotation in flight holds the lock of the
                // token it consumes, so this waits until it has committed the next token, and
                // the UPDATE below (a new statement, a new snapshot) revokes that one too.
                sqlx::query(concat!(
                    "SELECT digest FROM refresh_tokens WHERE family_id = $1",
                    $for_update
                ))
                .bind(family_id)
                .fetch_all(&mut *tx)
                .await?;
                sqlx::query(
                    "UPDATE refresh_tokens SET revoked_at = $2 \
                     WHERE family_id = $1 AND revoked_at IS NULL",
                )
                .bind(family_id)
                .bind(now)
                .execute(&mut *tx)
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

            async fn revoke_subject(
                &self,
                user_id: &str,
                now: i64,
                feed_expires_at: i64,
            ) -> Result<i64> {
                let mut tx = self.begin_write().await?;
                sqlx::query("DELETE FROM sessions WHERE user_id = $1")
                    .bind(user_id)
                    .execute(&mut *tx)
                    .await?;
                sqlx::query(
                    "UPDATE refresh_tokens SET revoked_at = $2 \
                     WHERE user_id = $1 AND revoked_at IS NULL",
                )
                .bind(user_id)
                .bind(now)
                .execute(&mut *tx)
                .await?;
                sqlx::query(
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
                let seq = append_revocation_in(&mut tx, &entry).await?;
                tx.commit().await?;
                Ok(seq)
            }
        }

        #[async_trait]
        impl FeedStore for $store {
            // ---- revocation feed -----------------------------------------------------------------

            async fn append_revocation(&self, revocation: &NewRevocation) -> Result<i64> {
                let mut tx = self.begin_write().await?;
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

            async fn revoked_at(&self, kind: RevocationKind, id: &str) -> Result<Option<i64>> {
                let row = sqlx::query("SELECT revoked_at FROM revocations WHERE kind = $1 AND id = $2")
                    .bind(kind.as_str())
                    .bind(id)
                    .fetch_optional(&self.pool)
                    .await?;
                row.map(|r| codec::get(&r, "revoked_at")).transpose()
            }
        }

        #[async_trait]
        impl BrowserStore for $store {
            // ---- browser sessions ----------------------------------------------------------------

            async fn insert_session(&self, session: &SessionRecord) -> Result<()> {
                sqlx::query(
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
                sqlx::query("SELECT * FROM sessions WHERE digest = $1")
                    .bind(digest)
                    .fetch_optional(&self.pool)
                    .await?
                    .map(|row| codec::session_from_row(&row))
                    .transpose()
            }

            async fn delete_session(&self, sid: &str) -> Result<bool> {
                let done = sqlx::query("DELETE FROM sessions WHERE sid = $1")
                    .bind(sid)
                    .execute(&self.pool)
                    .await?;
                Ok(done.rows_affected() > 0)
            }

            // ---- completed authorization requests ------------------------------------------------

            async fn spend_request(&self, id: &str, expires_at: i64) -> Result<bool> {
                let done = sqlx::query(
                    "INSERT INTO spent_requests (id, expires_at) VALUES ($1, $2) \
                     ON CONFLICT (id) DO NOTHING",
                )
                .bind(id)
                .bind(expires_at)
                .execute(&self.pool)
                .await?;
                Ok(done.rows_affected() == 1)
            }

            // ---- consent -------------------------------------------------------------------------

            async fn get_consent(&self, user_id: &str, client_id: &str) -> Result<Option<Vec<String>>> {
                sqlx::query("SELECT scopes FROM consents WHERE user_id = $1 AND client_id = $2")
                    .bind(user_id)
                    .bind(client_id)
                    .fetch_optional(&self.pool)
                    .await?
                    .map(|row| codec::Columns::list(&row, "scopes"))
                    .transpose()
            }

            async fn put_consent(
                &self,
                user_id: &str,
                client_id: &str,
                scopes: &[String],
                now: i64,
            ) -> Result<()> {
                sqlx::query(
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

            // ---- failed logins -------------------------------------------------------------------

            async fn record_login_failure(&self, username: &str, now: i64, window: i64) -> Result<u32> {
                // One upsert: a window that started at or before `now - window` is over, and the
                // failure starts a new one. The SET expressions all see the row as it was.
                let row = sqlx::query(
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
                let row = sqlx::query(
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
                        Some(codec::get(&row, "last_failure_at")?),
                    )),
                    None => Ok((0, None)),
                }
            }

            async fn clear_login_failures(&self, username: &str) -> Result<()> {
                sqlx::query("DELETE FROM login_failures WHERE username = $1")
                    .bind(username)
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }
        }

        #[async_trait]
        impl Maintenance for $store {
            fn backend(&self) -> Backend {
                $backend
            }

            async fn ping(&self) -> Result<()> {
                sqlx::query("SELECT 1").execute(&self.pool).await?;
                Ok(())
            }

            fn pool_stats(&self) -> $crate::PoolStats {
                $crate::PoolStats {
                    size: self.pool.size(),
                    idle: u32::try_from(self.pool.num_idle()).unwrap_or(u32::MAX),
                    max: self.pool.options().get_max_connections(),
                }
            }

            async fn feed_length(&self) -> Result<i64> {
                let row = sqlx::query("SELECT COUNT(*) AS n FROM revocations")
                    .fetch_one(&self.pool)
                    .await?;
                Ok(sqlx::Row::try_get(&row, "n")?)
            }

            async fn check_writable(&self, now: i64) -> Result<()> {
                let mut tx = self.begin_write().await?;
                sqlx::query(
                    "INSERT INTO readiness (id, checked_at) VALUES (1, $1) \
                     ON CONFLICT (id) DO UPDATE SET checked_at = excluded.checked_at",
                )
                .bind(now)
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok(())
            }

            // ---- housekeeping --------------------------------------------------------------------

            async fn purge_expired(&self, now: i64) -> Result<u64> {
                let mut tx = self.begin_write().await?;
                let mut purged = 0;
                for sql in [
                    "DELETE FROM access_tokens WHERE expires_at < $1",
                    "DELETE FROM client_assertions WHERE expires_at < $1",
                    "DELETE FROM revocations WHERE expires_at < $1",
                    "DELETE FROM authorization_codes WHERE expires_at < $1",
                    "DELETE FROM refresh_tokens WHERE expires_at < $1",
                    "DELETE FROM sessions WHERE expires_at < $1",
                    "DELETE FROM spent_requests WHERE expires_at < $1",
                ] {
                    purged += sqlx::query(sql)
                        .bind(now)
                        .execute(&mut *tx)
                        .await?
                        .rows_affected();
                }
                purged += sqlx::query("DELETE FROM login_failures WHERE last_failure_at < $1")
                    .bind(now.saturating_sub(LOGIN_FAILURE_RETENTION))
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                tx.commit().await?;
                Ok(purged)
            }
        }


        /// Binds every column of `client` as `$1` to `$16`, in the order the insert and the
        /// update of clients name them.
        fn bind_client<'q>(
            query: sqlx::query::Query<'q, $db, <$db as sqlx::Database>::Arguments>,
            client: &'q Client,
        ) -> Result<sqlx::query::Query<'q, $db, <$db as sqlx::Database>::Arguments>> {
            Ok(query
                .bind(&client.client_id)
                .bind(&client.name)
                .bind(&client.secret_digest)
                .bind(&client.secret_sealed)
                .bind(client.auth_method.as_str())
                .bind(codec::encode_list(&client.redirect_uris)?)
                .bind(codec::encode_list(&client.post_logout_redirect_uris)?)
                .bind(codec::encode_names(&client.grant_types)?)
                .bind(codec::encode_list(&client.scopes)?)
                .bind(codec::encode_list(&client.audiences)?)
                .bind(client.access_token_format.as_str())
                .bind(&client.jwks)
                .bind(client.require_pkce)
                .bind(client.id_token_signed_response_alg.map(|a| a.as_str()))
                .bind(client.created_at)
                .bind(client.updated_at))
        }

        /// Stores what a redemption or rotation issued, inside its transaction.
        async fn store_issuance(
            tx: &mut sqlx::Transaction<'static, $db>,
            issued: &Issuance,
        ) -> Result<()> {
            if let Some(token) = &issued.refresh_token {
                insert_refresh_token_in(&mut **tx, token).await?;
            }
            if let Some(token) = &issued.access_token {
                insert_access_token_in(&mut **tx, token).await?;
            }
            Ok(())
        }

        async fn insert_access_token_in<'e, E>(executor: E, token: &AccessTokenRecord) -> Result<()>
        where
            E: sqlx::Executor<'e, Database = $db>,
        {
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
            .execute(executor)
            .await
            .map_err(|e| codec::conflict(e, || format!("access token '{}'", token.jti)))?;
            Ok(())
        }

        async fn insert_refresh_token_in<'e, E>(executor: E, token: &RefreshTokenRecord) -> Result<()>
        where
            E: sqlx::Executor<'e, Database = $db>,
        {
            sqlx::query(
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
            .execute(executor)
            .await
            .map_err(|e| {
                codec::conflict(e, || format!("refresh token of family '{}'", token.family_id))
            })?;
            Ok(())
        }

        /// Appends to the feed inside `tx`; the existing seq when (kind, id) is there already,
        /// unless the kind voids up to a time: then the old entry goes and a new one comes at
        /// the end (followers read by position, so the new time must come after what they saw).
        async fn append_revocation_in(
            tx: &mut sqlx::Transaction<'static, $db>,
            revocation: &NewRevocation,
        ) -> Result<i64> {
            if revocation.kind.voids_until_revoked_at() {
                sqlx::query("DELETE FROM revocations WHERE kind = $1 AND id = $2")
                    .bind(revocation.kind.as_str())
                    .bind(&revocation.id)
                    .execute(&mut **tx)
                    .await?;
            }
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
    };
}

pub(crate) use impl_store;
