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
