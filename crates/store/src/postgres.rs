//! The shared backend: PostgreSQL, for several `candor` nodes on one database.
//!
//! Every statement runs at READ COMMITTED. Single-row state changes are one conditional
//! `UPDATE`/`INSERT … ON CONFLICT`/`DELETE … RETURNING`, so concurrent nodes cannot both win
//! (a second writer waits for the first one's row lock, then re-checks its `WHERE` against the
//! committed row); the revocation of an opaque token or of a refresh family and its feed entry
//! commit in one transaction.

use std::time::Duration;

use async_trait::async_trait;
use sqlx::postgres::{PgPool, PgPoolOptions, PgRow};

use crate::codec::{self, impl_columns};
use crate::{
    AccessTokenRecord, AuthorizationCodeRecord, Backend, BrowserStore, Client, Consumed, Directory,
    FeedStore, Issuance, KeyStore, LOGIN_FAILURE_RETENTION, Maintenance, NewRevocation,
    RefreshTokenRecord, Result, Revocation, RevocationKind, SessionRecord, SigningKeyRecord,
    StoreError, TokenStore, User,
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
        first_connection(url).await?;
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

/// Opens one connection before the pool does, so that a server that is down, refused
/// credentials or a missing database are said as such: a pool retries until its acquire
/// timeout and then reports only that it timed out.
async fn first_connection(url: &str) -> Result<()> {
    use sqlx::Connection;
    let shown = crate::redact_url(url);
    let attempt = tokio::time::timeout(ACQUIRE_TIMEOUT, sqlx::PgConnection::connect(url)).await;
    let error = match attempt {
        Ok(Ok(connection)) => {
            let _ = connection.close().await;
            return Ok(());
        }
        Ok(Err(e)) => e,
        Err(_) => {
            return Err(StoreError::Unreachable(format!(
                "PostgreSQL at {shown} did not answer within {}s: check the host and port, and that no firewall drops the connection",
                ACQUIRE_TIMEOUT.as_secs()
            )));
        }
    };
    let code = error
        .as_database_error()
        .and_then(|d| d.code())
        .map(|c| c.into_owned());
    let why = match (&error, code.as_deref()) {
        (sqlx::Error::Io(io), _) if io.kind() == std::io::ErrorKind::ConnectionRefused => format!(
            "PostgreSQL at {shown} refused the connection: is it running, and listening on that host and port?"
        ),
        (sqlx::Error::Io(io), _) => {
            format!("cannot reach PostgreSQL at {shown}: {io}")
        }
        // invalid_catalog_name
        (_, Some("3D000")) => format!(
            "the database named in {shown} does not exist: create it (createdb, or CREATE DATABASE) or fix the URL"
        ),
        // invalid_password, invalid_authorization_specification
        (_, Some("28P01" | "28000")) => format!(
            "PostgreSQL at {shown} refused the credentials: {error}; check the user and password in the URL (and pg_hba.conf)"
        ),
        _ => format!("cannot connect to PostgreSQL at {shown}: {error}"),
    };
    Err(StoreError::Unreachable(why))
}

impl PostgresStore {
    /// Begins a transaction that will write; PostgreSQL takes row locks as it goes.
    async fn begin_write(&self) -> Result<sqlx::Transaction<'static, sqlx::Postgres>> {
        Ok(self.pool.begin().await?)
    }
}

crate::sql::impl_store!(
    PostgresStore,
    sqlx::Postgres,
    Backend::Postgres,
    " FOR UPDATE"
);
