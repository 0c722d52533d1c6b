//! The one way Candor opens a database, for every crate that has tables (the store and the
//! call log): which database a URL names, how its pool is sized, the SQLite pragmas, the
//! diagnosis of a PostgreSQL server that cannot be used, and running a crate's migrations.
//!
//! A crate brings what is its own — its pool limits, and its migrations recorded in a table of
//! its own ([`Migrations`]) — and gets back a [`Pool`] it can match on to run its SQL.

use std::str::FromStr;
use std::time::Duration;

use sqlx::migrate::{MigrateError, Migrator};
use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions};

use crate::Backend;

/// How long a SQLite connection waits for another connection's write lock.
const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// What can go wrong opening a database; each crate maps it into its own error.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// The URL is neither `sqlite:…` nor `postgres://…`; it holds the URL, redacted.
    #[error("unsupported database URL '{0}': expected sqlite://PATH or postgres://…")]
    UnsupportedUrl(String),
    /// The PostgreSQL server cannot be used at all: what went wrong, and what to do.
    #[error("{0}")]
    Unreachable(String),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("database migration failed: {0}")]
    Migration(#[from] MigrateError),
}

/// The database a URL names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// `sqlite://PATH` or `sqlite:PATH`: a file, created when missing (its directory must
    /// exist), in WAL mode.
    SqliteFile(String),
    /// `sqlite::memory:`, `sqlite://:memory:` or an empty path: a private in-memory database.
    SqliteMemory,
    /// `postgres://…` or `postgresql://…`, as given.
    Postgres(String),
}

impl Location {
    /// Reads `url`; `None` when it names no database Candor can open.
    pub fn parse(url: &str) -> Option<Location> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Some(Location::Postgres(url.to_string()));
        }
        let rest = url.strip_prefix("sqlite:")?;
        let path = rest.strip_prefix("//").unwrap_or(rest);
        Some(if path.is_empty() || path == ":memory:" {
            Location::SqliteMemory
        } else {
            Location::SqliteFile(path.to_string())
        })
    }
}

/// How large a crate's pools grow, per backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolLimits {
    /// Connections to a SQLite file (an in-memory database always has exactly one).
    pub sqlite_connections: u32,
    /// How long a caller waits for a free SQLite connection.
    pub sqlite_acquire_timeout: Duration,
    pub postgres_connections: u32,
    /// How long a caller waits for a free PostgreSQL connection; also how long the first
    /// connection may take before the server is said not to answer.
    pub postgres_acquire_timeout: Duration,
}

/// A crate's migrations, one set per backend, and the table that records which ran.
///
/// Each crate keeps its own table: sqlx's migrator refuses to run when the table lists a
/// version it does not know (`VersionMissing`) and compares checksums by version number, so
/// two crates numbering their migrations from 0001 in one `_sqlx_migrations` table would each
/// fail on the other's rows. With a table each, the store and the call log can share one
/// database (the default on PostgreSQL) and still migrate independently.
#[derive(Debug, Clone, Copy)]
pub struct Migrations<'a> {
    pub sqlite: &'a Migrator,
    pub postgres: &'a Migrator,
}

/// An open pool on one of the two backends. Cheap to clone.
#[derive(Debug, Clone)]
pub enum Pool {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

impl Pool {
    /// Opens the database `url` names with `limits` and brings the schema up to date with
    /// `migrations` (on PostgreSQL under sqlx's advisory lock, so that nodes starting together
    /// migrate once).
    pub async fn open(
        url: &str,
        limits: &PoolLimits,
        migrations: &Migrations<'_>,
    ) -> Result<Pool, OpenError> {
        let location = Location::parse(url)
            .ok_or_else(|| OpenError::UnsupportedUrl(crate::redact_url(url)))?;
        let pool = Pool::connect(&location, limits).await?;
        match &pool {
            Pool::Sqlite(p) => migrations.sqlite.run(p).await?,
            Pool::Postgres(p) => migrations.postgres.run(p).await?,
        }
        Ok(pool)
    }

    async fn connect(location: &Location, limits: &PoolLimits) -> Result<Pool, OpenError> {
        match location {
            Location::SqliteFile(path) => {
                let options = SqliteConnectOptions::new()
                    .filename(path)
                    .create_if_missing(true)
                    .journal_mode(SqliteJournalMode::Wal);
                let pool = SqlitePoolOptions::new()
                    .max_connections(limits.sqlite_connections)
                    .acquire_timeout(limits.sqlite_acquire_timeout)
                    .connect_with(sqlite_pragmas(options))
                    .await?;
                Ok(Pool::Sqlite(pool))
            }
            Location::SqliteMemory => {
                let options = SqliteConnectOptions::from_str("sqlite::memory:")?;
                // Every connection to `:memory:` is its own database: keep exactly one, forever.
                let pool = SqlitePoolOptions::new()
                    .max_connections(1)
                    .min_connections(1)
                    .idle_timeout(None)
                    .max_lifetime(None)
                    .connect_with(sqlite_pragmas(options))
                    .await?;
                Ok(Pool::Sqlite(pool))
            }
            Location::Postgres(url) => {
                first_connection(url, limits.postgres_acquire_timeout).await?;
                let pool = PgPoolOptions::new()
                    .max_connections(limits.postgres_connections)
                    .acquire_timeout(limits.postgres_acquire_timeout)
                    .connect(url)
                    .await?;
                Ok(Pool::Postgres(pool))
            }
        }
    }

    pub fn backend(&self) -> Backend {
        match self {
            Pool::Sqlite(_) => Backend::Sqlite,
            Pool::Postgres(_) => Backend::Postgres,
        }
    }

    /// The pool's use now (for `/metrics`).
    pub fn stats(&self) -> crate::PoolStats {
        let (size, idle, max) = match self {
            Pool::Sqlite(p) => (p.size(), p.num_idle(), p.options().get_max_connections()),
            Pool::Postgres(p) => (p.size(), p.num_idle(), p.options().get_max_connections()),
        };
        crate::PoolStats {
            size,
            idle: u32::try_from(idle).unwrap_or(u32::MAX),
            max,
        }
    }
}

/// The pragmas every SQLite connection gets: NORMAL sync (safe under WAL), foreign keys
/// enforced, and a busy timeout so that a writer waits for the lock rather than failing.
fn sqlite_pragmas(options: SqliteConnectOptions) -> SqliteConnectOptions {
    options
        .synchronous(sqlx::sqlite::SqliteSynchronous::Normal)
        .foreign_keys(true)
        .busy_timeout(SQLITE_BUSY_TIMEOUT)
}

/// Opens one connection before the pool does, so that a server that is down, refused
/// credentials or a missing database are said as such: a pool retries until its acquire
/// timeout and then reports only that it timed out.
async fn first_connection(url: &str, timeout: Duration) -> Result<(), OpenError> {
    use sqlx::Connection;
    let shown = crate::redact_url(url);
    let attempt = tokio::time::timeout(timeout, sqlx::PgConnection::connect(url)).await;
    let error = match attempt {
        Ok(Ok(connection)) => {
            let _ = connection.close().await;
            return Ok(());
        }
        Ok(Err(e)) => e,
        Err(_) => {
            return Err(OpenError::Unreachable(format!(
                "PostgreSQL at {shown} did not answer within {}s: check the host and port, and that no firewall drops the connection",
                timeout.as_secs()
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
    Err(OpenError::Unreachable(why))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_name_their_database() {
        let file = |p: &str| Some(Location::SqliteFile(p.to_string()));
        assert_eq!(
            Location::parse("sqlite:///var/candor.db"),
            file("/var/candor.db")
        );
        assert_eq!(
            Location::parse("sqlite://data/candor.db"),
            file("data/candor.db")
        );
        assert_eq!(Location::parse("sqlite:candor.db"), file("candor.db"));
        for memory in [
            "sqlite::memory:",
            "sqlite://:memory:",
            "sqlite:",
            "sqlite://",
        ] {
            assert_eq!(
                Location::parse(memory),
                Some(Location::SqliteMemory),
                "{memory}"
            );
        }
        for pg in ["postgres://u@h/db", "postgresql://u@h/db"] {
            assert_eq!(
                Location::parse(pg),
                Some(Location::Postgres(pg.to_string()))
            );
        }
        for other in ["mysql://u:pw@h/db", "", "postgres:/x", "file:candor.db"] {
            assert_eq!(Location::parse(other), None, "{other}");
        }
    }
}
