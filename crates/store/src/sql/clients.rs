//! Registered clients and users ([`Directory`]).

use async_trait::async_trait;

use super::SqlStore;
use super::feed::append_revocation_in;
use super::query::{Query, Tx, query};
use crate::{Client, Directory, NewRevocation, Result, RevocationKind, StoreError, User, codec};

#[async_trait]
impl Directory for SqlStore {
    // ---- clients -------------------------------------------------------------------------

    async fn insert_client(&self, client: &Client) -> Result<()> {
        let query = query(
            "INSERT INTO clients (client_id, name, secret_digest, secret_sealed, auth_method, \
             redirect_uris, post_logout_redirect_uris, grant_types, scopes, audiences, \
             access_token_format, jwks, require_pkce, id_token_signed_response_alg, \
             created_at, updated_at, disabled_at, previous_secret_digest, \
             previous_secret_sealed, previous_secret_until) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, \
             $17, $18, $19, $20)",
        );
        bind_client(query, client)?
            .execute(&self.pool)
            .await
            .map_err(|e| codec::conflict(e, || format!("client '{}'", client.client_id)))?;
        Ok(())
    }

    async fn get_client(&self, client_id: &str) -> Result<Option<Client>> {
        query("SELECT * FROM clients WHERE client_id = $1")
            .bind(client_id)
            .fetch_optional(&self.pool)
            .await?
            .map(|row| codec::client_from_row(&row))
            .transpose()
    }

    async fn list_clients(&self) -> Result<Vec<Client>> {
        query("SELECT * FROM clients ORDER BY client_id")
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
        let rows = query("SELECT scopes FROM clients WHERE scopes LIKE $1 ESCAPE '\\'")
            .bind(format!("%{needle}%"))
            .fetch_all(&self.pool)
            .await?;
        for row in &rows {
            let scopes: String = row.get("scopes")?;
            let scopes: Vec<String> = serde_json::from_str(&scopes)
                .map_err(|e| StoreError::Corrupt(format!("clients.scopes: {e}")))?;
            if scopes.iter().any(|s| s == scope) {
                return Ok(true);
            }
        }
        Ok(false)
    }

    async fn update_client(&self, client: &Client) -> Result<bool> {
        let query = query(
            "UPDATE clients SET name = $2, secret_digest = $3, secret_sealed = $4, \
             auth_method = $5, redirect_uris = $6, post_logout_redirect_uris = $7, \
             grant_types = $8, scopes = $9, audiences = $10, access_token_format = $11, \
             jwks = $12, require_pkce = $13, id_token_signed_response_alg = $14, \
             created_at = $15, updated_at = $16, disabled_at = $17, \
             previous_secret_digest = $18, previous_secret_sealed = $19, \
             previous_secret_until = $20 \
             WHERE client_id = $1",
        );
        let changed = bind_client(query, client)?.execute(&self.pool).await?;
        Ok(changed > 0)
    }

    async fn disable_client(
        &self,
        client_id: &str,
        now: i64,
        feed_expires_at: i64,
    ) -> Result<bool> {
        let mut tx = Tx::begin_write(&self.pool).await?;
        let changed = query(
            "UPDATE clients SET disabled_at = $2, updated_at = $2 \
             WHERE client_id = $1 AND disabled_at IS NULL",
        )
        .bind(client_id)
        .bind(now)
        .execute(&mut tx)
        .await?;
        if changed == 0 {
            tx.rollback().await?;
            return Ok(false);
        }
        for revoke in [
            "UPDATE refresh_tokens SET revoked_at = $2 \
             WHERE client_id = $1 AND revoked_at IS NULL",
            "UPDATE access_tokens SET revoked_at = $2 \
             WHERE client_id = $1 AND revoked_at IS NULL",
        ] {
            query(revoke)
                .bind(client_id)
                .bind(now)
                .execute(&mut tx)
                .await?;
        }
        let entry = NewRevocation {
            kind: RevocationKind::Client,
            id: client_id.to_string(),
            expires_at: feed_expires_at,
            revoked_at: now,
        };
        append_revocation_in(&mut tx, &entry).await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn enable_client(&self, client_id: &str, now: i64) -> Result<bool> {
        let changed = query(
            "UPDATE clients SET disabled_at = NULL, updated_at = $2 \
             WHERE client_id = $1 AND disabled_at IS NOT NULL",
        )
        .bind(client_id)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(changed > 0)
    }

    async fn delete_client(&self, client_id: &str) -> Result<bool> {
        let deleted = query("DELETE FROM clients WHERE client_id = $1")
            .bind(client_id)
            .execute(&self.pool)
            .await?;
        Ok(deleted > 0)
    }

    // ---- users ---------------------------------------------------------------------------

    async fn insert_user(&self, user: &User) -> Result<()> {
        query(
            "INSERT INTO users (id, username, password_hash, email, name, roles, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&user.id)
        .bind(&user.username)
        .bind(&user.password_hash)
        .bind(&user.email)
        .bind(&user.name)
        .bind(user.roles.join(" "))
        .bind(user.created_at)
        .execute(&self.pool)
        .await
        .map_err(|e| codec::conflict(e, || format!("user '{}'", user.username)))?;
        Ok(())
    }

    async fn get_user_by_username(&self, username: &str) -> Result<Option<User>> {
        query("SELECT * FROM users WHERE username = $1")
            .bind(username)
            .fetch_optional(&self.pool)
            .await?
            .map(|row| codec::user_from_row(&row))
            .transpose()
    }

    async fn get_user(&self, id: &str) -> Result<Option<User>> {
        query("SELECT * FROM users WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .map(|row| codec::user_from_row(&row))
            .transpose()
    }

    async fn list_users(&self) -> Result<Vec<User>> {
        query("SELECT * FROM users ORDER BY username")
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(codec::user_from_row)
            .collect()
    }

    async fn delete_user(&self, username: &str) -> Result<bool> {
        let deleted = query("DELETE FROM users WHERE username = $1")
            .bind(username)
            .execute(&self.pool)
            .await?;
        Ok(deleted > 0)
    }

    async fn update_user_profile(&self, user: &User) -> Result<bool> {
        let changed =
            query("UPDATE users SET email = $2, name = $3, roles = $4 WHERE username = $1")
                .bind(&user.username)
                .bind(&user.email)
                .bind(&user.name)
                .bind(user.roles.join(" "))
                .execute(&self.pool)
                .await?;
        Ok(changed > 0)
    }

    async fn disable_user(&self, user_id: &str, now: i64, feed_expires_at: i64) -> Result<bool> {
        let mut tx = Tx::begin_write(&self.pool).await?;
        let changed =
            query("UPDATE users SET disabled_at = $2 WHERE id = $1 AND disabled_at IS NULL")
                .bind(user_id)
                .bind(now)
                .execute(&mut tx)
                .await?;
        if changed == 0 {
            tx.rollback().await?;
            return Ok(false);
        }
        super::tokens::revoke_subject_in(&mut tx, user_id, now, feed_expires_at).await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn enable_user(&self, user_id: &str) -> Result<bool> {
        let changed =
            query("UPDATE users SET disabled_at = NULL WHERE id = $1 AND disabled_at IS NOT NULL")
                .bind(user_id)
                .execute(&self.pool)
                .await?;
        Ok(changed > 0)
    }

    async fn set_password_hash(&self, username: &str, password_hash: &str) -> Result<bool> {
        let changed = query("UPDATE users SET password_hash = $2 WHERE username = $1")
            .bind(username)
            .bind(password_hash)
            .execute(&self.pool)
            .await?;
        Ok(changed > 0)
    }
}

/// Binds every column of `client` as `$1` to `$20`, in the order the insert and the update of
/// clients name them.
fn bind_client<'q>(query: Query<'q>, client: &'q Client) -> Result<Query<'q>> {
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
        .bind(client.updated_at)
        .bind(client.disabled_at)
        .bind(client.previous_secret.as_ref().map(|p| p.digest.as_slice()))
        .bind(
            client
                .previous_secret
                .as_ref()
                .and_then(|p| p.sealed.as_deref()),
        )
        .bind(client.previous_secret.as_ref().map(|p| p.until)))
}
