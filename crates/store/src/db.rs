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

/// What can go wrong opening, migrating or copying a database; each crate maps it into its
/// own error. (An operation only SQLite has, asked of PostgreSQL, is a `Database` error of
/// sqlx's `Configuration` kind: the callers check the backend first.)
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

impl PoolLimits {
    /// One connection: for a command that reads or copies a database once and ends.
    pub const ONE: PoolLimits = PoolLimits {
        sqlite_connections: 1,
        sqlite_acquire_timeout: Duration::from_secs(30),
        postgres_connections: 1,
        postgres_acquire_timeout: Duration::from_secs(10),
    };
}

/// One migration and whether a database has it (`candor migrate status`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigrationState {
    pub version: i64,
    pub description: String,
    pub status: Status,
}

/// Where a database stands on one migration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    /// Applied, at this time (as the database wrote it).
    Applied { on: String },
    /// Not applied yet: `candor migrate up` (or a start without `--no-migrate`) applies it.
    Pending,
    /// Started and not finished: the database needs a look before anything else runs.
    Failed,
    /// Applied, but from other SQL than this binary's: a shipped migration was edited.
    Changed,
    /// Applied by a Candor newer than this binary, which does not know it.
    Unknown { on: String },
}

impl Status {
    /// A word for each, as `candor migrate status` prints it.
    pub fn name(&self) -> &'static str {
        match self {
            Status::Applied { .. } => "applied",
            Status::Pending => "pending",
            Status::Failed => "failed",
            Status::Changed => "changed",
            Status::Unknown { .. } => "unknown",
        }
    }
}

/// A row of a migrations table.
struct AppliedRow {
    version: i64,
    description: String,
    installed_on: String,
    success: bool,
    checksum: Vec<u8>,
}

impl AppliedRow {
    fn read<R: sqlx::Row>(r: &R) -> Result<AppliedRow, sqlx::Error>
    where
        for<'c> &'c str: sqlx::ColumnIndex<R>,
        i64: for<'r> sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
        bool: for<'r> sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
        String: for<'r> sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
        Vec<u8>: for<'r> sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    {
        Ok(AppliedRow {
            version: r.try_get("version")?,
            description: r.try_get("description")?,
            installed_on: r.try_get("installed_on")?,
            success: r.try_get("success")?,
            checksum: r.try_get("checksum")?,
        })
    }
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
        let pool = Pool::open_unmigrated(url, limits).await?;
        pool.migrate(migrations).await?;
        Ok(pool)
    }

    /// Opens the database `url` names and leaves its schema as it is: for the commands that
    /// look at a schema (`migrate status`, `serve --no-migrate`) or copy it (`backup`), which
    /// must not change it on the way.
    pub async fn open_unmigrated(url: &str, limits: &PoolLimits) -> Result<Pool, OpenError> {
        let location = Location::parse(url)
            .ok_or_else(|| OpenError::UnsupportedUrl(crate::redact_url(url)))?;
        Pool::connect(&location, limits).await
    }

    /// Applies the migrations of `migrations` this database does not have yet (on PostgreSQL
    /// under sqlx's advisory lock, so that nodes starting together migrate once).
    ///
    /// A database that has every migration this binary knows is left alone, even when it has
    /// more (applied by a newer Candor): during a rolling upgrade an older node may restart
    /// after a newer one migrated, and the expand-then-contract rule (docs/upgrading.md) is
    /// what makes the newer schema one it can run on. sqlx's migrator would refuse it
    /// (`VersionMissing`).
    pub async fn migrate(&self, migrations: &Migrations<'_>) -> Result<(), OpenError> {
        let states = self.migration_status(migrations).await?;
        let newer: Vec<i64> = states
            .iter()
            .filter(|s| matches!(s.status, Status::Unknown { .. }))
            .map(|s| s.version)
            .collect();
        if states
            .iter()
            .all(|s| matches!(s.status, Status::Applied { .. } | Status::Unknown { .. }))
        {
            if !newer.is_empty() {
                tracing::warn!(
                    versions = ?newer,
                    "the database has migrations this binary does not know (a newer Candor applied them); running on it, as the expand-then-contract rule allows"
                );
            }
            return Ok(());
        }
        // Something to apply, or a failed or edited migration: sqlx's migrator applies the
        // first and names the others.
        match self {
            Pool::Sqlite(p) => migrations.sqlite.run(p).await?,
            Pool::Postgres(p) => migrations.postgres.run(p).await?,
        }
        Ok(())
    }

    /// Each migration this binary knows for this backend, and whether the database has it;
    /// then any the database has that this binary does not know (a newer Candor applied
    /// them). Read from the crate's migrations table; nothing is written.
    pub async fn migration_status(
        &self,
        migrations: &Migrations<'_>,
    ) -> Result<Vec<MigrationState>, OpenError> {
        let migrator = match self {
            Pool::Sqlite(_) => migrations.sqlite,
            Pool::Postgres(_) => migrations.postgres,
        };
        let table = migrator.table_name.as_ref();
        let applied = self.applied_migrations(table).await?;
        let mut states: Vec<MigrationState> = migrator
            .iter()
            // sqlx lists a reversible migration's down script too; only the up scripts apply.
            .filter(|m| !m.migration_type.is_down_migration())
            .map(|m| {
                let found = applied.iter().find(|a| a.version == m.version);
                MigrationState {
                    version: m.version,
                    description: m.description.to_string(),
                    status: match found {
                        None => Status::Pending,
                        Some(a) if !a.success => Status::Failed,
                        Some(a) if a.checksum != m.checksum.as_ref() => Status::Changed,
                        Some(a) => Status::Applied {
                            on: a.installed_on.clone(),
                        },
                    },
                }
            })
            .collect();
        for a in &applied {
            if !migrator.version_exists(a.version) {
                states.push(MigrationState {
                    version: a.version,
                    description: a.description.clone(),
                    status: Status::Unknown {
                        on: a.installed_on.clone(),
                    },
                });
            }
        }
        states.sort_by_key(|s| s.version);
        Ok(states)
    }

    async fn applied_migrations(&self, table: &str) -> Result<Vec<AppliedRow>, OpenError> {
        // The table's name is the crate's own constant, never input: it is safe in the SQL.
        let select = format!(
            "SELECT version, description, CAST(installed_on AS TEXT) AS installed_on, success, checksum FROM {table} ORDER BY version"
        );
        // A database no migration ever ran on has no such table yet: nothing is applied.
        let exists = match self {
            Pool::Sqlite(p) => sqlx::query_scalar::<_, i64>(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = $1",
            )
            .bind(table)
            .fetch_optional(p)
            .await?
            .is_some(),
            Pool::Postgres(p) => {
                sqlx::query_scalar::<_, bool>("SELECT to_regclass($1) IS NOT NULL")
                    .bind(table)
                    .fetch_one(p)
                    .await?
            }
        };
        if !exists {
            return Ok(Vec::new());
        }
        let select = sqlx::AssertSqlSafe(select);
        let rows: Result<Vec<AppliedRow>, sqlx::Error> = match self {
            Pool::Sqlite(p) => sqlx::query(select)
                .fetch_all(p)
                .await?
                .iter()
                .map(AppliedRow::read)
                .collect(),
            Pool::Postgres(p) => sqlx::query(select)
                .fetch_all(p)
                .await?
                .iter()
                .map(AppliedRow::read)
                .collect(),
        };
        Ok(rows?)
    }

    /// Writes a consistent copy of this SQLite database to `to`, which must not exist, while
    /// other connections go on writing: `VACUUM INTO` reads in one transaction, so the copy is
    /// the database as of one moment, with whatever the `-wal` file holds (a copy of the
    /// `.db` file alone would miss it), and comes out compact.
    pub async fn copy_into(&self, to: &std::path::Path) -> Result<(), OpenError> {
        let Pool::Sqlite(p) = self else {
            return Err(sqlite_only("a file copy of the database (use pg_dump)"));
        };
        sqlx::query("VACUUM INTO $1")
            .bind(to.to_string_lossy().into_owned())
            .execute(p)
            .await?;
        Ok(())
    }

    /// SQLite's own check of every page and index of the file (`PRAGMA integrity_check`):
    /// `Ok(None)` when it is sound, else what SQLite found.
    pub async fn integrity_problems(&self) -> Result<Option<String>, OpenError> {
        let Pool::Sqlite(p) = self else {
            return Err(sqlite_only("PRAGMA integrity_check"));
        };
        let lines: Vec<String> = sqlx::query_scalar("PRAGMA integrity_check")
            .fetch_all(p)
            .await?;
        Ok((lines != ["ok"]).then(|| lines.join("; ")))
    }

    /// Closes every connection (a SQLite file is then whole, with no `-wal` beside it).
    pub async fn close(&self) {
        match self {
            Pool::Sqlite(p) => p.close().await,
            Pool::Postgres(p) => p.close().await,
        }
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

fn sqlite_only(what: &str) -> OpenError {
    OpenError::Database(sqlx::Error::Configuration(
        format!("{what} works on a SQLite database only").into(),
    ))
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
