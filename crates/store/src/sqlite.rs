//! The embedded backend: one SQLite file in WAL mode.
//!
//! Writers are serialised by SQLite itself; transactions that write start with
//! `BEGIN IMMEDIATE` so that they take the write lock up front (and wait for it up to the busy
//! timeout) instead of failing when a read would have to be upgraded to a write.

use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteRow,
    SqliteSynchronous,
};

use crate::codec::{self, impl_columns};
use crate::{
    AccessTokenRecord, AuthorizationCodeRecord, Backend, BrowserStore, Client, Consumed, Directory,
    FeedStore, Issuance, KeyStore, LOGIN_FAILURE_RETENTION, Maintenance, NewRevocation,
    RefreshTokenRecord, Result, Revocation, RevocationKind, SessionRecord, SigningKeyRecord,
    StoreError, TokenStore, User,
};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

/// How long a connection waits for another connection's write lock.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);
/// A few connections: readers run in parallel under WAL, writers take turns anyway.
const MAX_CONNECTIONS: u32 = 4;

impl_columns!(SqliteRow);

/// The SQLite store. Cheap to clone: the pool is shared.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
}

impl SqliteStore {
    /// Opens (creating it when missing) the database file at `path` and applies the migrations.
    /// The parent directory must exist. `:memory:` gives a private in-memory database.
    pub async fn open(path: &str) -> Result<Self> {
        let in_memory = path == ":memory:";
        let options = if in_memory {
            SqliteConnectOptions::from_str("sqlite::memory:")?
        } else {
            SqliteConnectOptions::new()
                .filename(path)
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
        }
        .synchronous(SqliteSynchronous::Normal)
        .foreign_keys(true)
        .busy_timeout(BUSY_TIMEOUT);

        let pool = if in_memory {
            // Every connection to `:memory:` is its own database: keep exactly one, forever.
            SqlitePoolOptions::new()
                .max_connections(1)
                .min_connections(1)
                .idle_timeout(None)
                .max_lifetime(None)
                .connect_with(options)
                .await?
        } else {
            SqlitePoolOptions::new()
                .max_connections(MAX_CONNECTIONS)
                .acquire_timeout(BUSY_TIMEOUT * 2)
                .connect_with(options)
                .await?
        };
        MIGRATOR.run(&pool).await?;
        Ok(Self { pool })
    }

    /// The connection pool, for the few callers that need SQL of their own (tests, tools).
    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }
}

impl SqliteStore {
    /// Begins a transaction that will write, taking SQLite's write lock up front (it waits up
    /// to the busy timeout) rather than failing when a read would have to be upgraded.
    async fn begin_write(&self) -> Result<sqlx::Transaction<'static, sqlx::Sqlite>> {
        Ok(self.pool.begin_with("BEGIN IMMEDIATE").await?)
    }
}

crate::sql::impl_store!(SqliteStore, sqlx::Sqlite, Backend::Sqlite, "");
