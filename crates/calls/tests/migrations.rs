//! The call log's migrations: a database made before the call log had migrations is adopted
//! with its rows, and the call log and the store share one database without reading each
//! other's migration history. Each case runs on SQLite (a file) and PostgreSQL (a throwaway
//! database; skipped loudly when `CANDOR_TEST_POSTGRES_URL` is unset).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use candor_calls::block::{LZ4_JSON_LINES, encode};
use candor_calls::{Call, CallStore, Filter, Source};
use candor_store::testing::{PostgresTestDatabase, postgres_url_or_skip};
use sqlx::{AssertSqlSafe, Connection, Row};

/// 2027-01-15T00:00:00Z, in minutes.
const MINUTE: i64 = 20_833 * 1_440;

/// The schema exactly as `CallStore::open` created it before the call log had migrations
/// (its `sqlite_schema`, `postgres_schema` and `rollup_schema`, with `BUCKETS` = 32), kept here
/// as the database such a version left behind.
fn old_schema(postgres: bool) -> String {
    let (int, small) = if postgres {
        ("BIGINT", "SMALLINT")
    } else {
        ("INTEGER", "INTEGER")
    };
    let buckets: String = (0..32)
        .map(|i| format!(", h{i:02} {int} NOT NULL DEFAULT 0"))
        .collect();
    let rollups: String = ["candor_call_minutes", "candor_call_hours"]
        .iter()
        .map(|table| {
            format!(
                "CREATE TABLE IF NOT EXISTS {table} (
                    minute {int} NOT NULL, source TEXT NOT NULL, route TEXT NOT NULL,
                    client_id TEXT, status INTEGER NOT NULL, diagnosis TEXT, upstream TEXT,
                    partial {small} NOT NULL, calls {int} NOT NULL,
                    latency_sum_us {int} NOT NULL, latency_max_us {int} NOT NULL{buckets});
                 CREATE INDEX IF NOT EXISTS {table}_minute ON {table} (minute);\n"
            )
        })
        .collect();
    if postgres {
        format!(
            "CREATE SEQUENCE IF NOT EXISTS candor_call_blocks_id;
             CREATE TABLE IF NOT EXISTS candor_call_blocks (
                id BIGINT NOT NULL DEFAULT nextval('candor_call_blocks_id'),
                minute BIGINT NOT NULL, node TEXT NOT NULL, calls INTEGER NOT NULL,
                encoding SMALLINT NOT NULL, body BYTEA NOT NULL) PARTITION BY RANGE (minute);
             CREATE TABLE IF NOT EXISTS candor_call_blocks_default
                PARTITION OF candor_call_blocks DEFAULT;
             CREATE INDEX IF NOT EXISTS candor_call_blocks_minute ON candor_call_blocks (minute);
             CREATE INDEX IF NOT EXISTS candor_call_blocks_id_index ON candor_call_blocks (id);
             {rollups}"
        )
    } else {
        format!(
            "CREATE TABLE IF NOT EXISTS candor_call_blocks (
                id INTEGER PRIMARY KEY, minute INTEGER NOT NULL, node TEXT NOT NULL,
                calls INTEGER NOT NULL, encoding INTEGER NOT NULL, body BLOB NOT NULL);
             CREATE INDEX IF NOT EXISTS candor_call_blocks_minute ON candor_call_blocks (minute);
             {rollups}"
        )
    }
}

fn call(second: i64, route: &str) -> Call {
    Call {
        at_us: (MINUTE * 60 + second) * 1_000_000,
        source: Source::Gateway,
        route: route.into(),
        method: "GET".into(),
        path: "/orders/7".into(),
        status: 200,
        latency_us: 1_000,
        upstream: None,
        bytes_in: None,
        bytes_out: None,
        principal: None,
        diagnosis: None,
        request_id: None,
        trace: None,
    }
}

/// A database of either backend, reached around the call log.
enum Raw {
    Sqlite(sqlx::SqliteConnection),
    Postgres(sqlx::PgConnection),
}

impl Raw {
    async fn connect(url: &str) -> Raw {
        if let Some(path) = url.strip_prefix("sqlite://") {
            let options = sqlx::sqlite::SqliteConnectOptions::new()
                .filename(path)
                .create_if_missing(true);
            Raw::Sqlite(
                sqlx::SqliteConnection::connect_with(&options)
                    .await
                    .unwrap(),
            )
        } else {
            Raw::Postgres(sqlx::PgConnection::connect(url).await.unwrap())
        }
    }

    /// Runs `sql` (one or more statements, nothing bound).
    async fn execute(&mut self, sql: String) {
        let sql = AssertSqlSafe(sql);
        match self {
            Raw::Sqlite(c) => sqlx::raw_sql(sql).execute(c).await.map(drop),
            Raw::Postgres(c) => sqlx::raw_sql(sql).execute(c).await.map(drop),
        }
        .unwrap();
    }

    /// The text column `line` of every row `sql` answers.
    async fn lines(&mut self, sql: String) -> Vec<String> {
        let sql = AssertSqlSafe(sql);
        let rows: Result<Vec<String>, sqlx::Error> = match self {
            Raw::Sqlite(c) => sqlx::query(sql)
                .fetch_all(c)
                .await
                .and_then(|rows| rows.iter().map(|r| r.try_get("line")).collect()),
            Raw::Postgres(c) => sqlx::query(sql)
                .fetch_all(c)
                .await
                .and_then(|rows| rows.iter().map(|r| r.try_get("line")).collect()),
        };
        rows.unwrap()
    }

    /// Makes the database the old code made, with two calls in one block and their partial
    /// rollup row, written as the old code wrote them.
    async fn make_old_call_log(&mut self) {
        let postgres = matches!(self, Raw::Postgres(_));
        let body = encode([call(1, "orders"), call(2, "billing")].iter()).unwrap();
        let body = if postgres {
            format!("decode('{}', 'hex')", hex::encode(body))
        } else {
            format!("x'{}'", hex::encode(body))
        };
        self.execute(format!(
            "{schema};
             INSERT INTO candor_call_blocks (minute, node, calls, encoding, body)
                VALUES ({MINUTE}, 'node-a', 2, {LZ4_JSON_LINES}, {body});
             INSERT INTO candor_call_minutes (minute, source, route, status, partial, calls,
                latency_sum_us, latency_max_us, h05)
                VALUES ({MINUTE}, 'gateway', 'orders', 200, 1, 2, 2000, 1000, 2);",
            schema = old_schema(postgres)
        ))
        .await;
    }

    /// The call log's tables, columns, indexes and partitions, one line each, in order.
    async fn schema(&mut self) -> Vec<String> {
        let queries: &[&str] = match self {
            Raw::Sqlite(_) => &[
                "SELECT m.name || '.' || p.name || ' ' || p.type || ' ' || p.\"notnull\" || ' ' \
                 || IFNULL(p.dflt_value, '-') || ' ' || p.pk AS line \
                 FROM sqlite_master m JOIN pragma_table_info(m.name) p \
                 WHERE m.type = 'table' AND m.name LIKE 'candor_call%' ORDER BY m.name, p.cid",
                "SELECT sql AS line FROM sqlite_master \
                 WHERE type = 'index' AND name LIKE 'candor_call%' ORDER BY name",
            ],
            Raw::Postgres(_) => &[
                "SELECT table_name || '.' || column_name || ' ' || data_type || ' ' \
                 || is_nullable || ' ' || COALESCE(column_default, '-') AS line \
                 FROM information_schema.columns \
                 WHERE table_schema = current_schema() AND table_name LIKE 'candor_call%' \
                 ORDER BY table_name, ordinal_position",
                "SELECT indexdef AS line FROM pg_indexes \
                 WHERE schemaname = current_schema() AND tablename LIKE 'candor_call%' \
                 ORDER BY indexname",
                "SELECT c.relname::text || ' ' || c.relkind::text || ' ' \
                 || COALESCE(pg_get_expr(c.relpartbound, c.oid), '-') AS line \
                 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
                 WHERE n.nspname = current_schema() AND c.relname LIKE 'candor_call%' \
                 ORDER BY c.relname",
            ],
        };
        let mut lines = Vec::new();
        for sql in queries {
            lines.extend(self.lines(sql.to_string()).await);
        }
        lines
    }

    /// The versions recorded in the migration table `table`, in order: `1 ok`, ….
    async fn versions(&mut self, table: &str) -> Vec<String> {
        self.lines(format!(
            "SELECT CAST(version AS TEXT) || ' ' || CASE WHEN success THEN 'ok' ELSE 'failed' END \
             AS line FROM {table} ORDER BY version"
        ))
        .await
    }
}

/// A fresh database of each backend: (URL, what to keep alive while it is used).
async fn sqlite_url() -> (String, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("candor.db").display());
    (url, dir)
}

async fn postgres_database() -> Option<PostgresTestDatabase> {
    let base = postgres_url_or_skip("PostgreSQL call log migration tests")?;
    Some(PostgresTestDatabase::create(&base).await.unwrap())
}

async fn an_old_call_log_is_adopted_with_its_rows(url: &str) {
    let mut raw = Raw::connect(url).await;
    raw.make_old_call_log().await;

    let store = CallStore::open(url).await.unwrap();
    assert_eq!(
        raw.versions("_candor_calls_migrations").await,
        ["1 ok", "2 ok", "3 ok"]
    );
    assert_eq!(store.count_calls().await.unwrap(), 2);
    assert_eq!(store.count_partial_rollups().await.unwrap(), 1);
    let kept = store
        .tail(&Filter::default(), None, None, 10)
        .await
        .unwrap();
    let routes: Vec<&str> = kept.iter().map(|c| c.route.as_str()).collect();
    assert_eq!(routes, ["orders", "billing"]);
    assert!(kept.iter().all(|c| c.node == "node-a"));

    // The adopted tables take new calls and fold as before.
    store.insert("node-b", &[call(3, "orders")]).await.unwrap();
    assert_eq!(store.count_calls().await.unwrap(), 3);
    store.compact(MINUTE + 60).await.unwrap();
    assert_eq!(store.count_partial_rollups().await.unwrap(), 0);

    // Opening again runs nothing new and finds everything.
    drop(store);
    let again = CallStore::open(url).await.unwrap();
    assert_eq!(again.count_calls().await.unwrap(), 3);
    assert_eq!(
        raw.versions("_candor_calls_migrations").await,
        ["1 ok", "2 ok", "3 ok"]
    );
}

#[tokio::test]
async fn an_old_call_log_is_adopted_with_its_rows_on_sqlite() {
    let (url, _dir) = sqlite_url().await;
    an_old_call_log_is_adopted_with_its_rows(&url).await;
}

#[tokio::test]
async fn an_old_call_log_is_adopted_with_its_rows_on_postgres() {
    let Some(db) = postgres_database().await else {
        return;
    };
    an_old_call_log_is_adopted_with_its_rows(db.url()).await;
}

/// The first migration makes the very schema the old code made.
async fn the_first_migration_makes_the_old_schema(old_url: &str, new_url: &str) {
    let mut old = Raw::connect(old_url).await;
    old.make_old_call_log().await;
    CallStore::open(new_url).await.unwrap();
    let mut new = Raw::connect(new_url).await;
    let (old, new) = (old.schema().await, new.schema().await);
    assert!(old.len() > 80, "{old:#?}");
    assert_eq!(old, new);
}

#[tokio::test]
async fn the_first_migration_makes_the_old_schema_on_sqlite() {
    let (old, _old_dir) = sqlite_url().await;
    let (new, _new_dir) = sqlite_url().await;
    the_first_migration_makes_the_old_schema(&old, &new).await;
}

#[tokio::test]
async fn the_first_migration_makes_the_old_schema_on_postgres() {
    let (Some(old), Some(new)) = (postgres_database().await, postgres_database().await) else {
        return;
    };
    the_first_migration_makes_the_old_schema(old.url(), new.url()).await;
}

/// The store and the call log in one database, opened in either order and again: each keeps
/// its own migration history, so neither finds the other's versions unknown.
async fn the_store_and_the_call_log_share_a_database(url: &str) {
    let calls = CallStore::open(url).await.unwrap();
    let store = candor_store::open(url).await.unwrap();
    drop((calls, store));
    let store = candor_store::open(url).await.unwrap();
    let calls = CallStore::open(url).await.unwrap();
    store.ping().await.unwrap();
    calls.insert("node-a", &[call(1, "orders")]).await.unwrap();

    let mut raw = Raw::connect(url).await;
    assert_eq!(
        raw.versions("_candor_calls_migrations").await,
        ["1 ok", "2 ok", "3 ok"]
    );
    let store_versions = raw.versions("_sqlx_migrations").await;
    assert!(
        store_versions.len() >= 4 && store_versions.iter().all(|v| v.ends_with(" ok")),
        "{store_versions:?}"
    );
}

#[tokio::test]
async fn the_store_and_the_call_log_share_a_database_on_sqlite() {
    let (url, _dir) = sqlite_url().await;
    the_store_and_the_call_log_share_a_database(&url).await;
}

#[tokio::test]
async fn the_store_and_the_call_log_share_a_database_on_postgres() {
    let Some(db) = postgres_database().await else {
        return;
    };
    the_store_and_the_call_log_share_a_database(db.url()).await;
}
