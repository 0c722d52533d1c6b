//! Throwaway PostgreSQL databases for integration tests (feature `testing`).
//!
//! Each test gets a database of its own, created from the server named by
//! `CANDOR_TEST_POSTGRES_URL` and dropped when the test ends, pass or fail:
//!
//! ```ignore
//! let Some(base) = candor_store::testing::postgres_url_or_skip("PostgreSQL server tests") else {
//!     return;
//! };
//! let db = candor_store::testing::PostgresTestDatabase::create(&base).await?;
//! let store = candor_store::open(db.url()).await?;
//! // … the database is dropped when `db` goes out of scope.
//! ```

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};

use sqlx::{AssertSqlSafe, Connection, PgConnection};

use crate::{Result, StoreError, redact_url};

/// The environment variable naming the PostgreSQL server tests may use.
pub const POSTGRES_URL_VAR: &str = "CANDOR_TEST_POSTGRES_URL";

/// Every database this module creates is named `candor_t_<hex>`; it never drops any other.
const PREFIX: &str = "candor_t_";

/// The URL in `CANDOR_TEST_POSTGRES_URL`, or `None` after printing to stderr, loudly, that
/// `suite` did not run.
pub fn postgres_url_or_skip(suite: &str) -> Option<String> {
    match std::env::var(POSTGRES_URL_VAR) {
        Ok(url) if !url.trim().is_empty() => Some(url),
        _ => {
            // Straight to the process's stderr: the test harness captures `eprintln!`.
            let _ = writeln!(
                std::io::stderr(),
                "SKIPPED: {POSTGRES_URL_VAR} is not set; {suite} did not run"
            );
            None
        }
    }
}

/// Creates an empty database `candor_t_<random hex>` on the server of `base` and returns a URL
/// for it (`base` with its database replaced).
pub async fn fresh_postgres_url(base: &str) -> Result<String> {
    let name = format!("{PREFIX}{}", random_hex());
    let url = with_database(base, &name)?;
    let mut conn = PgConnection::connect(base).await?;
    sqlx::raw_sql(AssertSqlSafe(format!("CREATE DATABASE \"{name}\"")))
        .execute(&mut conn)
        .await?;
    conn.close().await?;
    Ok(url)
}

/// Drops the database that `database_url` points at (made by [`fresh_postgres_url`]),
/// connecting through `base`; connections still open to it are terminated.
pub async fn drop_postgres_database(base: &str, database_url: &str) -> Result<()> {
    let name = database_name(database_url)?;
    let mut conn = PgConnection::connect(base).await?;
    sqlx::raw_sql(AssertSqlSafe(format!(
        "DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"
    )))
    .execute(&mut conn)
    .await?;
    conn.close().await?;
    Ok(())
}

/// A database made by [`fresh_postgres_url`], dropped (best effort) when this value is dropped,
/// also when the test panics.
#[derive(Debug)]
pub struct PostgresTestDatabase {
    base: String,
    url: String,
}

impl PostgresTestDatabase {
    pub async fn create(base: &str) -> Result<Self> {
        let url = fresh_postgres_url(base).await?;
        Ok(Self {
            base: base.to_string(),
            url,
        })
    }

    /// The URL of the fresh database.
    pub fn url(&self) -> &str {
        &self.url
    }
}

impl Drop for PostgresTestDatabase {
    fn drop(&mut self) {
        // Drop cannot await, and the test's runtime may be gone or busy: use a runtime of our
        // own on a thread of our own.
        let base = std::mem::take(&mut self.base);
        let url = std::mem::take(&mut self.url);
        let dropper = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build();
            match runtime {
                Ok(runtime) => {
                    if let Err(err) = runtime.block_on(drop_postgres_database(&base, &url)) {
                        eprintln!("warning: could not drop test database {url}: {err}");
                    }
                }
                Err(err) => eprintln!("warning: could not drop test database {url}: {err}"),
            }
        });
        let _ = dropper.join();
    }
}

/// `base` with its path replaced by `/name`.
fn with_database(base: &str, name: &str) -> Result<String> {
    let mut url =
        url::Url::parse(base).map_err(|_| StoreError::UnsupportedUrl(redact_url(base)))?;
    url.set_path(&format!("/{name}"));
    Ok(url.to_string())
}

/// The database name of a URL made by [`fresh_postgres_url`]; refuses any other name.
fn database_name(database_url: &str) -> Result<String> {
    let url = url::Url::parse(database_url)
        .map_err(|_| StoreError::UnsupportedUrl(redact_url(database_url)))?;
    let name = url.path().trim_start_matches('/');
    let ours = name.starts_with(PREFIX)
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if ours {
        Ok(name.to_string())
    } else {
        Err(StoreError::UnsupportedUrl(format!(
            "{}: not a test database made by candor_store::testing",
            redact_url(database_url)
        )))
    }
}

/// 96 random bits as hex: the std hasher's per-process random keys, a process-wide counter and
/// the process id, so that parallel tests and parallel test processes never collide.
fn random_hex() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut hasher = RandomState::new().build_hasher();
    hasher.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    hasher.write_u32(std::process::id());
    if let Ok(since_epoch) = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH) {
        hasher.write_u128(since_epoch.as_nanos());
    }
    format!("{:016x}{:08x}", hasher.finish(), std::process::id())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_point_at_the_new_database() {
        let url = with_database(
            "postgres://u:p@127.0.0.1:5432/test?sslmode=disable",
            "candor_t_ab",
        );
        assert!(
            matches!(
                url.as_deref(),
                Ok("postgres://u:p@127.0.0.1:5432/candor_t_ab?sslmode=disable")
            ),
            "{url:?}"
        );
        assert!(matches!(
            database_name("postgres://h/candor_t_0a9f").as_deref(),
            Ok("candor_t_0a9f")
        ));
        assert!(database_name("postgres://h/test").is_err());
        assert!(database_name("postgres://h/candor_t_x\";drop").is_err());
    }

    #[test]
    fn names_differ() {
        assert_ne!(random_hex(), random_hex());
    }
}
