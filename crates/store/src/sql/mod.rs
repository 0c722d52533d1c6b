//! The store in SQL, one module per concern, for SQLite and PostgreSQL alike.
//!
//! Each module implements one of the store's traits for [`SqlStore`]: `clients` (clients and
//! users), `keys`, `tokens`, `feed`, `browser` (the browser flow) and `maintenance`. The SQL is
//! written once; [`query`] runs it on whichever backend the pool is. Where the dialects differ
//! the module says so and names both statements. The tables come from the migrations in
//! `migrations/sqlite` and `migrations/postgres`.
//!
//! SQLite: one file in WAL mode. Writers are serialised by SQLite itself; transactions that
//! write begin with `BEGIN IMMEDIATE` so that they take the write lock up front.
//!
//! PostgreSQL: every statement runs at READ COMMITTED. Single-row state changes are one
//! conditional `UPDATE`/`INSERT … ON CONFLICT`/`DELETE … RETURNING`, so concurrent nodes cannot
//! both win (a second writer waits for the first one's row lock, then re-checks its `WHERE`
//! against the committed row); the revocation of an opaque token or of a refresh family and its
//! feed entry commit in one transaction.

mod browser;
mod clients;
mod feed;
mod keys;
mod maintenance;
pub(crate) mod query;
mod tokens;

use std::time::Duration;

use sqlx::migrate::Migrator;

use crate::Result;
use crate::db::{Migrations, Pool, PoolLimits};

static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("./migrations/postgres");

/// The store's migrations (`migrations/sqlite`, `migrations/postgres`), recorded in sqlx's
/// `_sqlx_migrations` table: for `candor migrate` and `serve --no-migrate`, which look at a
/// schema before anything opens the store.
pub fn migrations() -> Migrations<'static> {
    Migrations {
        sqlite: &SQLITE_MIGRATIONS,
        postgres: &POSTGRES_MIGRATIONS,
    }
}

/// The store's pools. SQLite: a few connections, as readers run in parallel under WAL and
/// writers take turns anyway.
const LIMITS: PoolLimits = PoolLimits {
    sqlite_connections: 4,
    sqlite_acquire_timeout: Duration::from_secs(10),
    postgres_connections: 16,
    postgres_acquire_timeout: Duration::from_secs(10),
};

/// The store on SQLite or PostgreSQL. Cheap to clone: the pool is shared.
#[derive(Debug, Clone)]
pub struct SqlStore {
    pool: Pool,
}

impl SqlStore {
    /// Opens the database `url` names (see [`crate::open`]) and applies the store's migrations
    /// (on PostgreSQL under an advisory lock, so nodes starting together migrate once).
    pub async fn open(url: &str) -> Result<Self> {
        let pool = Pool::open(url, &LIMITS, &migrations()).await?;
        Ok(Self { pool })
    }

    /// The connection pool, for the few callers that need SQL of their own (tests, tools).
    pub fn pool(&self) -> &Pool {
        &self.pool
    }
}
