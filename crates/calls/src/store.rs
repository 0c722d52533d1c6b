//! Where calls are kept: SQLite (one file, the default) or PostgreSQL (several nodes).
//!
//! Three tables. `candor_call_blocks` holds every call, in blocks of one minute
//! ([`crate::block`]), for `calls tail` and drill-down; on PostgreSQL it is partitioned by day,
//! so that the retention purge drops whole partitions. The `candor_call_minutes` rollup holds,
//! per minute and per (source, route, client, status, diagnosis, upstream), the count, the
//! latency sum and maximum and a latency histogram ([`crate::histogram`]); every statistic is a
//! `SUM` over it (or over `candor_call_hours`, the same per hour), which is why a query over tens
//! of millions of calls reads thousands of rows, not millions.
//!
//! Each batch of calls is written with its rollup rows in one transaction, so the tables
//! always agree: the minutes where a filter matches, read from the rollup, are the minutes
//! whose blocks hold the matching calls. A batch adds *partial* rollup rows (only its own calls); [`CallStore::compact`]
//! folds the partial rows of closed minutes into one row per key. The SQL is the same on both
//! backends (`$N` placeholders, `CAST(… AS BIGINT)`) except where said.
//!
//! The database is opened as every Candor database is (`candor_store::db`), and the tables come
//! from the call log's own migrations (`migrations/sqlite`, `migrations/postgres`).

use std::collections::HashMap;
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use candor_store::db::{Migrations, Pool, PoolLimits};
use sqlx::migrate::Migrator;
use sqlx::{AssertSqlSafe, QueryBuilder, Row};

use crate::Result;
use crate::events::IdentityEvent;
use crate::histogram::{self, BUCKETS};
use crate::record::{Call, Source};
use crate::stats::Filter;

/// A call as read back, with the id `calls tail --follow` continues from.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct StoredCall {
    pub id: i64,
    pub at_us: i64,
    pub node: String,
    pub source: String,
    pub route: String,
    pub method: String,
    pub path: String,
    pub status: u16,
    pub latency_us: i64,
    pub upstream: Option<String>,
    pub bytes_in: Option<i64>,
    pub bytes_out: Option<i64>,
    pub client_id: Option<String>,
    pub subject: Option<String>,
    pub scopes: Option<String>,
    pub issuer: Option<String>,
    pub diagnosis: Option<String>,
    pub request_id: Option<String>,
    /// The call's trace, span and parent span (hex), when the log exports traces.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trace_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub span_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parent_span_id: Option<String>,
}

/// A block row as read, not yet decoded.
struct Block {
    id: i64,
    node: String,
    encoding: i16,
    body: Vec<u8>,
}

const BLOCK_COLUMNS: &str = "id, node, encoding, body";

impl Block {
    fn read<R: Row>(r: &R) -> Result<Block>
    where
        for<'c> &'c str: sqlx::ColumnIndex<R>,
        i64: for<'r> sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
        i16: for<'r> sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
        String: for<'r> sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
        Vec<u8>: for<'r> sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    {
        Ok(Block {
            id: r.try_get("id")?,
            node: r.try_get("node")?,
            encoding: r.try_get("encoding")?,
            body: r.try_get("body")?,
        })
    }

    /// The block's calls; none, with a warning, when it cannot be read.
    fn calls(&self) -> Vec<StoredCall> {
        crate::block::decode(self.id, &self.node, self.encoding, &self.body).unwrap_or_else(|e| {
            tracing::warn!(error = %e, "skipping a call log block that cannot be read");
            Vec::new()
        })
    }
}

/// `$1, $2, …, $n`.
fn placeholders(n: usize) -> String {
    (1..=n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The call log's database. Cheap to clone.
#[derive(Debug, Clone)]
pub struct CallStore {
    pool: Pool,
}

/// The call log's pools: one writer anyway, and a few readers for the admin API.
const LIMITS: PoolLimits = PoolLimits {
    sqlite_connections: 3,
    sqlite_acquire_timeout: Duration::from_secs(30),
    postgres_connections: 4,
    postgres_acquire_timeout: Duration::from_secs(10),
};

/// Where the call log records its migrations: a table of its own, not sqlx's default
/// `_sqlx_migrations`, which the store uses. On PostgreSQL the call log shares the store's
/// database by default, and sqlx's migrator checks every version in its table against its own
/// list: in one shared table each crate would see the other's versions as missing
/// (`VersionMissing`), and their 0001s as one migration changed (`VersionMismatch`).
/// `ignore_missing` would hide the first but not the second, and would also hide a real gap.
/// With a table each, each crate's history is complete and checked in full.
const MIGRATIONS_TABLE: &str = "_candor_calls_migrations";

/// The call log's migrations (`migrations/sqlite`, `migrations/postgres`), recorded in
/// [`MIGRATIONS_TABLE`]. The first one creates the tables exactly as the call log created them
/// before it had migrations, `IF NOT EXISTS`: a database made then is adopted with its rows.
static SQLITE_MIGRATIONS: LazyLock<Migrator> =
    LazyLock::new(|| in_own_table(sqlx::migrate!("./migrations/sqlite")));
static POSTGRES_MIGRATIONS: LazyLock<Migrator> =
    LazyLock::new(|| in_own_table(sqlx::migrate!("./migrations/postgres")));

/// The call log's migrations, for `candor migrate` and `serve --no-migrate`, which look at a
/// schema before anything opens the call log.
pub fn migrations() -> Migrations<'static> {
    Migrations {
        sqlite: &SQLITE_MIGRATIONS,
        postgres: &POSTGRES_MIGRATIONS,
    }
}

fn in_own_table(mut migrator: Migrator) -> Migrator {
    // "dangerous" in sqlx's name for changing the table of a database migrated before: the
    // call log never used sqlx's table, so nothing is lost.
    migrator.dangerous_set_table_name(MIGRATIONS_TABLE);
    migrator
}

/// Runs `$body` with `$p` bound to the pool of whichever backend this is: the same code,
/// compiled once per backend.
macro_rules! on_pool {
    ($self:expr, $p:ident => $body:expr) => {
        match &$self.pool {
            Pool::Sqlite($p) => $body,
            Pool::Postgres($p) => $body,
        }
    };
}

/// Binds a query's values ([`crate::stats::Bind`]) in order; a macro, as [`on_pool!`]'s body
/// is compiled once per backend.
macro_rules! bind_all {
    ($q:ident, $binds:expr) => {
        for b in $binds {
            $q = match b {
                crate::stats::Bind::Int(n) => $q.bind(*n),
                crate::stats::Bind::Text(s) => $q.bind(s.clone()),
            };
        }
    };
}

/// Identity event rows per INSERT: 11 parameters each.
const EVENTS_PER_INSERT: usize = 500;
/// Rollup rows per INSERT: 43 parameters each stays under SQLite's 32766.
const ROLLUPS_PER_INSERT: usize = 300;
/// Blocks deleted per statement on SQLite, so that a purge never holds the write lock long.
const PURGE_CHUNK: i64 = 500;

/// Blocks read per query by `tail`.
const TAIL_PAGE: usize = 8;
/// Minutes looked up in the rollup per query by `tail`.
const TAIL_MINUTES: i64 = 32;
/// Blocks one `tail` opens at most: what bounds the work of a filter that matches rarely
/// (its minutes are read from the rollup, so only blocks that hold a match are opened).
const TAIL_MAX_BLOCKS: usize = 2_000;

const MINUTE_US: i64 = 60_000_000;

/// `h00, h01, …` — the histogram's columns.
fn bucket_columns() -> impl Iterator<Item = String> {
    (0..BUCKETS).map(|i| format!("h{i:02}"))
}

const KEY_COLUMNS: &str = "minute, source, route, client_id, status, diagnosis, upstream";

/// One advisory lock key for the call log's partitions and compaction on PostgreSQL
/// ("candorcl").
const PG_LOCK: i64 = 0x63616e646f72636c;

const DAY_MINUTES: i64 = 1_440;

/// The partition of `day` (days since 1970-01-01): `candor_call_blocks_pYYYYMMDD`.
fn partition_name(day: i64) -> Option<String> {
    let date = time::OffsetDateTime::from_unix_timestamp(day.checked_mul(86_400)?).ok()?;
    Some(format!(
        "candor_call_blocks_p{:04}{:02}{:02}",
        date.year(),
        u8::from(date.month()),
        date.day()
    ))
}

/// The day a partition name stands for, if it is one of ours.
fn partition_day(name: &str) -> Option<i64> {
    let digits = name.strip_prefix("candor_call_blocks_p")?;
    if digits.len() != 8 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let year: i32 = digits.get(0..4)?.parse().ok()?;
    let month: u8 = digits.get(4..6)?.parse().ok()?;
    let day: u8 = digits.get(6..8)?.parse().ok()?;
    let date =
        time::Date::from_calendar_date(year, time::Month::try_from(month).ok()?, day).ok()?;
    Some(date.midnight().assume_utc().unix_timestamp() / 86_400)
}

/// One rollup key (the columns after `minute`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Key {
    minute: i64,
    source: Source,
    route: Arc<str>,
    client_id: Option<Arc<str>>,
    status: u16,
    diagnosis: Option<&'static str>,
    upstream: Option<Arc<str>>,
}

#[derive(Debug, Clone)]
struct Agg {
    calls: i64,
    sum_us: i64,
    max_us: i64,
    buckets: [i64; BUCKETS],
}

impl Agg {
    fn add(&mut self, other: &Agg) {
        self.calls += other.calls;
        self.sum_us = self.sum_us.saturating_add(other.sum_us);
        self.max_us = self.max_us.max(other.max_us);
        for (a, b) in self.buckets.iter_mut().zip(other.buckets) {
            *a += b;
        }
    }
}

/// A rollup's sums, per key.
type Sums = HashMap<Key, Agg>;

/// A minute's rollup key, borrowed from the calls it sums: summing a call touches no
/// reference count (the route's and the client's are shared with the other threads' calls,
/// and a contended count costs more than the sum). The owned [`Key`] is made once per key.
#[derive(PartialEq, Eq, Hash)]
struct KeyRef<'a> {
    minute: i64,
    source: Source,
    route: &'a str,
    client_id: Option<&'a str>,
    status: u16,
    diagnosis: Option<&'static str>,
    upstream: Option<&'a str>,
}

impl KeyRef<'_> {
    /// The key of the rollup of `width` minutes (1: the minute rollup; 60: the hour rollup,
    /// whose `minute` is the hour's first).
    fn owned(&self, width: i64) -> Key {
        Key {
            minute: self.minute - self.minute.rem_euclid(width),
            source: self.source,
            route: Arc::from(self.route),
            client_id: self.client_id.map(Arc::from),
            status: self.status,
            diagnosis: self.diagnosis,
            upstream: self.upstream.map(Arc::from),
        }
    }
}

const NO_CALLS: Agg = Agg {
    calls: 0,
    sum_us: 0,
    max_us: 0,
    buckets: [0; BUCKETS],
};

/// The calls summed per minute and key.
fn minute_sums(calls: &[Call]) -> HashMap<KeyRef<'_>, Agg> {
    let mut sums = HashMap::new();
    for c in calls {
        let key = KeyRef {
            minute: c.at_us.div_euclid(MINUTE_US),
            source: c.source,
            route: &c.route,
            client_id: c.client_id(),
            status: c.status,
            diagnosis: c.diagnosis,
            upstream: c.upstream.as_deref(),
        };
        let latency = i64::try_from(c.latency_us).unwrap_or(i64::MAX);
        let agg = sums.entry(key).or_insert(NO_CALLS);
        agg.calls += 1;
        agg.sum_us = agg.sum_us.saturating_add(latency);
        agg.max_us = agg.max_us.max(latency);
        if let Some(b) = agg.buckets.get_mut(histogram::bucket_of(c.latency_us)) {
            *b += 1;
        }
    }
    sums
}

/// Calls made ready to be written: their blocks, encoded, and their rollup sums. Made on the
/// thread that recorded the calls ([`crate::recorder`]), so that what crosses to the writer
/// is a few buffers, not thousands of calls to free and reference counts to drop on another
/// core.
#[derive(Debug, Default)]
pub struct Prepared {
    /// (minute, calls, body).
    blocks: Vec<(i64, i32, Vec<u8>)>,
    /// One per [`ROLLUPS`] table.
    sums: [Sums; 2],
    calls: usize,
}

impl Prepared {
    pub fn of(calls: &[Call]) -> Result<Prepared> {
        let mut out = Prepared {
            calls: calls.len(),
            ..Prepared::default()
        };
        for (minute, calls) in by_minute(calls) {
            for chunk in calls.chunks(crate::block::PER_BLOCK) {
                let body = crate::block::encode(chunk.iter().copied())?;
                let n = i32::try_from(chunk.len()).unwrap_or(i32::MAX);
                out.blocks.push((minute, n, body));
            }
        }
        let minutes = minute_sums(calls);
        for ((_, width), sums) in ROLLUPS.iter().zip(out.sums.iter_mut()) {
            for (k, a) in &minutes {
                sums.entry(k.owned(*width)).or_insert(NO_CALLS).add(a);
            }
        }
        Ok(out)
    }

    /// The rollup sums of identity events (no blocks: their rows are their own table's).
    fn of_events(events: &[IdentityEvent]) -> Prepared {
        let mut out = Prepared {
            calls: events.len(),
            ..Prepared::default()
        };
        let zero = histogram::bucket_of(0);
        for e in events {
            for ((_, width), sums) in ROLLUPS.iter().zip(out.sums.iter_mut()) {
                let minute = e.at_us.div_euclid(MINUTE_US);
                let key = Key {
                    minute: minute - minute.rem_euclid(*width),
                    source: Source::Identity,
                    route: Arc::from(e.kind.as_str()),
                    client_id: e.client_id.as_deref().map(Arc::from),
                    status: e.status(),
                    diagnosis: e.cause.map(candor_proto::Code::as_str),
                    upstream: e.grant.map(Arc::from),
                };
                let agg = sums.entry(key).or_insert(NO_CALLS);
                agg.calls += 1;
                if let Some(b) = agg.buckets.get_mut(zero) {
                    *b += 1;
                }
            }
        }
        out
    }

    /// How many calls these are.
    pub fn calls(&self) -> usize {
        self.calls
    }

    /// The blocks' encodings and bodies, once written (for the OTLP export).
    pub(crate) fn into_bodies(self) -> Vec<(i16, Vec<u8>)> {
        self.blocks
            .into_iter()
            .map(|(_, _, body)| (crate::block::LZ4_JSON_LINES, body))
            .collect()
    }

    /// Takes `other` in, so that both are written at once (their rollup rows summed).
    pub fn merge(&mut self, other: Prepared) {
        self.calls += other.calls;
        self.blocks.extend(other.blocks);
        for (mine, theirs) in self.sums.iter_mut().zip(other.sums) {
            for (k, a) in theirs {
                mine.entry(k).or_insert(NO_CALLS).add(&a);
            }
        }
    }
}

/// The calls of a batch per minute, in order: a block holds one minute.
fn by_minute(calls: &[Call]) -> std::collections::BTreeMap<i64, Vec<&Call>> {
    let mut out: std::collections::BTreeMap<i64, Vec<&Call>> = std::collections::BTreeMap::new();
    for c in calls {
        out.entry(c.at_us.div_euclid(MINUTE_US))
            .or_default()
            .push(c);
    }
    out
}

/// Inserts the blocks and partial rollup rows of `$prepared` through the open transaction
/// `$tx`.
macro_rules! insert_batch {
    ($tx:ident, $db:ty, $node:expr, $prepared:expr) => {{
        for (minute, n, body) in &$prepared.blocks {
            sqlx::query(
                "INSERT INTO candor_call_blocks (minute, node, calls, encoding, body) \
                 VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(*minute)
            .bind($node)
            .bind(*n)
            .bind(crate::block::LZ4_JSON_LINES)
            .bind(body.as_slice())
            .execute(&mut *$tx)
            .await?;
        }
        let buckets: Vec<String> = bucket_columns().collect();
        for ((table, _), sums) in ROLLUPS.iter().zip(&$prepared.sums) {
            let rows: Vec<(&Key, &Agg)> = sums.iter().collect();
            for chunk in rows.chunks(ROLLUPS_PER_INSERT) {
                let mut q: QueryBuilder<$db> = QueryBuilder::new(format!(
                    "INSERT INTO {table} ({KEY_COLUMNS}, partial, calls, latency_sum_us, \
                 latency_max_us, {}) ",
                    buckets.join(", ")
                ));
                q.push_values(chunk, |mut b, (k, a)| {
                    b.push_bind(k.minute)
                        .push_bind(k.source.as_str())
                        .push_bind(k.route.to_string())
                        .push_bind(k.client_id.as_deref().map(str::to_string))
                        .push_bind(i32::from(k.status))
                        .push_bind(k.diagnosis)
                        .push_bind(k.upstream.as_deref().map(str::to_string))
                        .push_bind(1i16)
                        .push_bind(a.calls)
                        .push_bind(a.sum_us)
                        .push_bind(a.max_us);
                    for n in a.buckets {
                        b.push_bind(n);
                    }
                });
                q.build().execute(&mut *$tx).await?;
            }
        }
    }};
}

/// The rollup tables and their widths in minutes. A statistic over whole hours reads the
/// hour table (60× fewer rows), the minutes at the range's edges the minute table.
const ROLLUPS: [(&str, i64); 2] = [("candor_call_minutes", 1), ("candor_call_hours", 60)];

impl CallStore {
    pub(crate) fn pool(&self) -> &Pool {
        &self.pool
    }

    /// Opens the call log at `url` — `sqlite://PATH` (created when missing), `sqlite::memory:`
    /// or `postgres://…` — and brings its tables up to date.
    pub async fn open(url: &str) -> Result<CallStore> {
        let pool = Pool::open(url, &LIMITS, &migrations()).await?;
        Ok(CallStore { pool })
    }

    /// `sqlite` or `postgres`.
    pub fn backend(&self) -> &'static str {
        match self.pool {
            Pool::Sqlite(_) => "sqlite",
            Pool::Postgres(_) => "postgres",
        }
    }

    /// Writes `calls` (made on node `node`) and their rollup, in one transaction.
    pub async fn insert(&self, node: &str, calls: &[Call]) -> Result<()> {
        self.write(node, &Prepared::of(calls)?).await
    }

    /// Writes calls made ready by [`Prepared::of`] (on node `node`), in one transaction.
    pub async fn write(&self, node: &str, prepared: &Prepared) -> Result<()> {
        if prepared.calls == 0 {
            return Ok(());
        }
        match &self.pool {
            Pool::Sqlite(p) => {
                let mut tx = p.begin_with("BEGIN IMMEDIATE").await?;
                insert_batch!(tx, sqlx::Sqlite, node, prepared);
                tx.commit().await?;
            }
            Pool::Postgres(p) => {
                let mut tx = p.begin().await?;
                insert_batch!(tx, sqlx::Postgres, node, prepared);
                tx.commit().await?;
            }
        }
        Ok(())
    }

    /// Writes identity events (made on node `node`): their rows, and their sums in the
    /// rollups under source `identity` (route: the kind, diagnosis: the cause, upstream: the
    /// grant, status: [`IdentityEvent::status`], latency 0), in one transaction.
    pub async fn write_events(&self, node: &str, events: &[IdentityEvent]) -> Result<()> {
        if events.is_empty() {
            return Ok(());
        }
        let prepared = Prepared::of_events(events);
        macro_rules! write_rows {
            ($tx:ident, $db:ty) => {{
                for chunk in events.chunks(EVENTS_PER_INSERT) {
                    let mut q: QueryBuilder<$db> = QueryBuilder::new(
                        "INSERT INTO candor_identity_events (uid, at_us, node, kind, client_id, \
                         subject, cause, grant_type, address, request_id, detail) ",
                    );
                    q.push_values(chunk, |mut b, e| {
                        b.push_bind(e.uid.clone())
                            .push_bind(e.at_us)
                            .push_bind(node.to_string())
                            .push_bind(e.kind.as_str())
                            .push_bind(e.client_id.clone())
                            .push_bind(e.subject.clone())
                            .push_bind(e.cause.map(candor_proto::Code::as_str))
                            .push_bind(e.grant)
                            .push_bind(e.address.clone())
                            .push_bind(e.request_id.clone())
                            .push_bind(e.detail.clone());
                    });
                    q.build().execute(&mut *$tx).await?;
                }
                insert_batch!($tx, $db, node, prepared);
            }};
        }
        match &self.pool {
            Pool::Sqlite(p) => {
                let mut tx = p.begin_with("BEGIN IMMEDIATE").await?;
                write_rows!(tx, sqlx::Sqlite);
                tx.commit().await?;
            }
            Pool::Postgres(p) => {
                let mut tx = p.begin().await?;
                write_rows!(tx, sqlx::Postgres);
                tx.commit().await?;
            }
        }
        Ok(())
    }

    /// Folds the partial rollup rows of minutes before `before_minute` (Unix minutes), and of
    /// the hours closed by then, into one row per key; returns how many partial rows were
    /// folded.
    pub async fn compact(&self, before_minute: i64) -> Result<u64> {
        let mut folded = 0;
        for (table, width) in ROLLUPS {
            let before = before_minute - before_minute.rem_euclid(width);
            folded += self.compact_table(table, before).await?;
        }
        Ok(folded)
    }

    async fn compact_table(&self, table: &str, before: i64) -> Result<u64> {
        let sums: String = bucket_columns()
            .map(|c| format!(", SUM({c})"))
            .collect::<String>();
        let columns: String = bucket_columns()
            .map(|c| format!(", {c}"))
            .collect::<String>();
        // `table` is one of ROLLUPS: a fixed name.
        let insert = format!(
            "INSERT INTO {table} ({KEY_COLUMNS}, partial, calls, latency_sum_us, \
             latency_max_us{columns}) \
             SELECT {KEY_COLUMNS}, 0, SUM(calls), SUM(latency_sum_us), MAX(latency_max_us){sums}"
        );
        match &self.pool {
            Pool::Sqlite(p) => {
                // The write lock is held from the first statement: nothing lands between the
                // fold and the delete.
                let mut tx = p.begin_with("BEGIN IMMEDIATE").await?;
                sqlx::query(AssertSqlSafe(format!(
                    "{insert} FROM {table} WHERE partial = 1 AND minute < $1 \
                     GROUP BY {KEY_COLUMNS}"
                )))
                .bind(before)
                .execute(&mut *tx)
                .await?;
                let folded = sqlx::query(AssertSqlSafe(format!(
                    "DELETE FROM {table} WHERE partial = 1 AND minute < $1"
                )))
                .bind(before)
                .execute(&mut *tx)
                .await?
                .rows_affected();
                tx.commit().await?;
                Ok(folded)
            }
            Pool::Postgres(p) => {
                // One statement: the rows folded are exactly the rows deleted, whatever
                // other nodes insert meanwhile; the lock keeps two nodes from folding at once.
                let mut tx = p.begin().await?;
                sqlx::query("SELECT pg_advisory_xact_lock($1)")
                    .bind(PG_LOCK)
                    .execute(&mut *tx)
                    .await?;
                let folded: i64 = sqlx::query(AssertSqlSafe(format!(
                    "WITH gone AS (DELETE FROM {table} WHERE partial = 1 \
                     AND minute < $1 RETURNING *), \
                     folded AS ({insert} FROM gone GROUP BY {KEY_COLUMNS} RETURNING 1) \
                     SELECT (SELECT COUNT(*) FROM gone) AS n"
                )))
                .bind(before)
                .fetch_one(&mut *tx)
                .await?
                .try_get("n")?;
                tx.commit().await?;
                Ok(u64::try_from(folded).unwrap_or(0))
            }
        }
    }

    /// Deletes the calls and rollups of minutes before the minute of `cutoff_us` (Unix µs):
    /// the retention is kept to the minute, as a block holds one minute. Returns how many
    /// calls went.
    pub async fn purge(&self, cutoff_us: i64) -> Result<u64> {
        let cutoff_minute = cutoff_us.div_euclid(MINUTE_US);
        let mut gone = 0u64;
        match &self.pool {
            Pool::Sqlite(p) => loop {
                let rows = sqlx::query(
                    "DELETE FROM candor_call_blocks WHERE id IN \
                     (SELECT id FROM candor_call_blocks WHERE minute < $1 LIMIT $2) \
                     RETURNING calls",
                )
                .bind(cutoff_minute)
                .bind(PURGE_CHUNK)
                .fetch_all(p)
                .await?;
                for r in &rows {
                    gone += u64::try_from(r.try_get::<i64, _>("calls")?).unwrap_or(0);
                }
                if rows.len() < PURGE_CHUNK as usize {
                    break;
                }
            },
            Pool::Postgres(p) => {
                // Whole days go with their partition; what is left of the cutoff's day, and
                // whatever fell into the default partition, is deleted block by block.
                for (name, day) in self.partitions().await? {
                    if (day + 1) * DAY_MINUTES <= cutoff_minute {
                        let n: i64 = sqlx::query(AssertSqlSafe(format!(
                            "SELECT CAST(COALESCE(SUM(calls), 0) AS BIGINT) AS n FROM {name}"
                        )))
                        .fetch_one(p)
                        .await?
                        .try_get("n")?;
                        sqlx::raw_sql(AssertSqlSafe(format!("DROP TABLE IF EXISTS {name}")))
                            .execute(p)
                            .await?;
                        gone += u64::try_from(n).unwrap_or(0);
                    }
                }
                let n: i64 = sqlx::query(
                    "WITH gone AS (DELETE FROM candor_call_blocks WHERE minute < $1 \
                     RETURNING calls) SELECT CAST(COALESCE(SUM(calls), 0) AS BIGINT) AS n FROM gone",
                )
                .bind(cutoff_minute)
                .fetch_one(p)
                .await?
                .try_get("n")?;
                gone += u64::try_from(n).unwrap_or(0);
            }
        }
        for (table, width) in ROLLUPS {
            // An hour is kept until all of it is past the cutoff.
            let before = cutoff_minute - cutoff_minute.rem_euclid(width);
            on_pool!(self, p => {
                sqlx::query(AssertSqlSafe(format!("DELETE FROM {table} WHERE minute < $1")))
                    .bind(before)
                    .execute(p)
                    .await?;
            });
        }
        Ok(gone)
    }

    /// The day partitions of `candor_call_blocks` (PostgreSQL; none on SQLite), with their days.
    async fn partitions(&self) -> Result<Vec<(String, i64)>> {
        let Pool::Postgres(p) = &self.pool else {
            return Ok(Vec::new());
        };
        let rows = sqlx::query(
            "SELECT c.relname AS name FROM pg_inherits i \
             JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_class t ON t.oid = i.inhparent \
             WHERE t.relname = 'candor_call_blocks' AND pg_table_is_visible(t.oid)",
        )
        .fetch_all(p)
        .await?;
        let mut out = Vec::new();
        for r in rows {
            let name: String = r.try_get("name")?;
            if let Some(day) = partition_day(&name) {
                out.push((name, day));
            }
        }
        Ok(out)
    }

    /// Makes sure the partitions of today and the next two days exist (PostgreSQL), so that
    /// calls never land in the default partition.
    pub async fn prepare_partitions(&self, now_us: i64) -> Result<()> {
        let Pool::Postgres(p) = &self.pool else {
            return Ok(());
        };
        let today = now_us.div_euclid(MINUTE_US).div_euclid(DAY_MINUTES);
        let existing: Vec<i64> = self
            .partitions()
            .await?
            .into_iter()
            .map(|(_, d)| d)
            .collect();
        for day in today..today + 3 {
            if existing.contains(&day) {
                continue;
            }
            let Some(name) = partition_name(day) else {
                continue;
            };
            let mut tx = p.begin().await?;
            sqlx::query("SELECT pg_advisory_xact_lock($1)")
                .bind(PG_LOCK)
                .execute(&mut *tx)
                .await?;
            // Bounds are integers we computed: nothing from outside is in this DDL.
            let made = sqlx::raw_sql(AssertSqlSafe(format!(
                "CREATE TABLE IF NOT EXISTS {name} PARTITION OF candor_call_blocks \
                 FOR VALUES FROM ({}) TO ({})",
                day * DAY_MINUTES,
                (day + 1) * DAY_MINUTES
            )))
            .execute(&mut *tx)
            .await;
            match made {
                Ok(_) => tx.commit().await?,
                Err(e) => {
                    // Rows of that day already in the default partition (the maintenance did
                    // not run in time): they stay there, found and purged all the same.
                    tracing::warn!(partition = %name, error = %e, "cannot create a call log partition");
                    tx.rollback().await?;
                }
            }
        }
        Ok(())
    }

    /// The most recent calls matching `filter` (and at or after `since_us`), by time, newest
    /// last: the first `limit` written after call `after_id` when given (to follow: continue
    /// from the largest id returned), else the last `limit` — the latest minutes first, read
    /// from the rollup, so that only blocks holding a match are opened. A damaged block is
    /// skipped, with a warning.
    pub async fn tail(
        &self,
        filter: &Filter,
        since_us: Option<i64>,
        after_id: Option<i64>,
        limit: u32,
    ) -> Result<Vec<StoredCall>> {
        let limit = usize::try_from(limit.clamp(1, 100_000)).unwrap_or(100_000);
        let since_minute = since_us.map(|s| s.div_euclid(MINUTE_US));
        let wanted = |c: &StoredCall| filter.matches(c) && since_us.is_none_or(|s| c.at_us >= s);
        let mut out = Vec::new();
        let mut opened = 0;
        if let Some(after) = after_id {
            // Following: the blocks from the one holding `after`, oldest first.
            let mut next = crate::block::block_of(after);
            while out.len() < limit && opened < TAIL_MAX_BLOCKS {
                let blocks = self.blocks_from(next, since_minute).await?;
                if blocks.is_empty() {
                    break;
                }
                for b in blocks {
                    opened += 1;
                    next = b.id + 1;
                    for c in b.calls() {
                        if c.id > after && wanted(&c) && out.len() < limit {
                            out.push(c);
                        }
                    }
                }
            }
            out.sort_by_key(|c| (c.at_us, c.id));
            return Ok(out);
        }
        let mut before_minute = None;
        'minutes: loop {
            let minutes = self
                .matching_minutes(filter, since_minute, before_minute)
                .await?;
            let Some(&oldest) = minutes.last() else {
                break;
            };
            before_minute = Some(oldest);
            let ids = self.block_ids(&minutes).await?;
            for page in ids.chunks(TAIL_PAGE) {
                for b in self.blocks(page).await? {
                    opened += 1;
                    for c in b.calls().into_iter().rev() {
                        if wanted(&c) {
                            out.push(c);
                            if out.len() == limit {
                                break 'minutes;
                            }
                        }
                    }
                    if opened >= TAIL_MAX_BLOCKS {
                        break 'minutes;
                    }
                }
            }
        }
        out.sort_by_key(|c| (c.at_us, c.id));
        Ok(out)
    }

    /// The latest minutes (before `before`, from `since` on) where the rollup has calls
    /// matching `filter`, newest first.
    async fn matching_minutes(
        &self,
        filter: &Filter,
        since: Option<i64>,
        before: Option<i64>,
    ) -> Result<Vec<i64>> {
        let mut binds = Vec::new();
        let mut sql = String::from("SELECT DISTINCT minute FROM candor_call_minutes WHERE 1 = 1");
        filter.push_sql(&mut sql, &mut binds);
        for (bound, op) in [(since, ">="), (before, "<")] {
            if let Some(m) = bound {
                binds.push(crate::stats::Bind::Int(m));
                sql.push_str(&format!(" AND minute {op} ${}", binds.len()));
            }
        }
        sql.push_str(&format!(" ORDER BY minute DESC LIMIT {TAIL_MINUTES}"));
        Ok(on_pool!(self, p => {
            let mut q = sqlx::query(AssertSqlSafe(sql));
            bind_all!(q, &binds);
            q.fetch_all(p)
                .await?
                .iter()
                .map(|r| r.try_get::<i64, _>("minute"))
                .collect::<Result<Vec<_>, _>>()?
        }))
    }

    /// The ids of the blocks of `minutes`, the latest minute's newest block first.
    async fn block_ids(&self, minutes: &[i64]) -> Result<Vec<i64>> {
        let placeholders = placeholders(minutes.len());
        let sql = format!(
            "SELECT id FROM candor_call_blocks WHERE minute IN ({placeholders}) \
             ORDER BY minute DESC, id DESC"
        );
        Ok(on_pool!(self, p => {
            let mut q = sqlx::query(AssertSqlSafe(sql));
            for m in minutes {
                q = q.bind(*m);
            }
            q.fetch_all(p)
                .await?
                .iter()
                .map(|r| r.try_get::<i64, _>("id"))
                .collect::<Result<Vec<_>, _>>()?
        }))
    }

    /// The blocks `ids`, in that order.
    async fn blocks(&self, ids: &[i64]) -> Result<Vec<Block>> {
        let sql = format!(
            "SELECT {BLOCK_COLUMNS} FROM candor_call_blocks WHERE id IN ({})",
            placeholders(ids.len())
        );
        let mut blocks: Vec<Block> = on_pool!(self, p => {
            let mut q = sqlx::query(AssertSqlSafe(sql));
            for id in ids {
                q = q.bind(*id);
            }
            q.fetch_all(p).await?.iter().map(Block::read).collect::<Result<Vec<_>>>()?
        });
        blocks.sort_by_key(|b| ids.iter().position(|id| *id == b.id));
        Ok(blocks)
    }

    /// The next few blocks from id `from` on (and of minutes from `since` on), oldest first.
    async fn blocks_from(&self, from: i64, since: Option<i64>) -> Result<Vec<Block>> {
        let sql = format!(
            "SELECT {BLOCK_COLUMNS} FROM candor_call_blocks WHERE id >= $1 AND minute >= $2 \
             ORDER BY id LIMIT {TAIL_PAGE}"
        );
        Ok(on_pool!(self, p => sqlx::query(AssertSqlSafe(sql))
            .bind(from)
            .bind(since.unwrap_or(i64::MIN))
            .fetch_all(p)
            .await?
            .iter()
            .map(Block::read)
            .collect::<Result<Vec<_>>>()?))
    }

    /// Runs a statistics query (see [`crate::stats`]): `sql` over the rollup with `binds`.
    pub(crate) async fn rollup_rows(
        &self,
        sql: &str,
        binds: &[crate::stats::Bind],
        dimensions: usize,
    ) -> Result<Vec<crate::stats::RawRow>> {
        let out = on_pool!(self, p => {
            let mut q = sqlx::query(AssertSqlSafe(sql.to_string()));
            bind_all!(q, binds);
            let rows = q.fetch_all(p).await?;
            let mut out = Vec::with_capacity(rows.len());
            for r in &rows {
                let mut keys = Vec::with_capacity(dimensions);
                for i in 0..dimensions {
                    let name = format!("k{i}");
                    // Text columns and the status column (an integer) alike, as text.
                    let v: Option<String> = match r.try_get::<Option<String>, _>(name.as_str()) {
                        Ok(v) => v,
                        Err(_) => r
                            .try_get::<Option<i32>, _>(name.as_str())?
                            .map(|n| n.to_string()),
                    };
                    keys.push(v);
                }
                let mut buckets = [0u64; BUCKETS];
                for (i, b) in buckets.iter_mut().enumerate() {
                    let n: i64 = r.try_get(format!("s{i:02}").as_str())?;
                    *b = u64::try_from(n).unwrap_or(0);
                }
                out.push(crate::stats::RawRow {
                    bucket: r.try_get::<Option<i64>, _>("bucket")?,
                    keys,
                    calls: r.try_get("calls")?,
                    errors: r.try_get("errors")?,
                    latency_sum_us: r.try_get("latency_sum_us")?,
                    latency_max_us: r.try_get("latency_max_us")?,
                    buckets,
                });
            }
            out
        });
        Ok(out)
    }

    /// Calls kept, in all blocks (tests, benches).
    pub async fn count_calls(&self) -> Result<i64> {
        Ok(on_pool!(self, p => sqlx::query(
            "SELECT CAST(COALESCE(SUM(calls), 0) AS BIGINT) AS n FROM candor_call_blocks")
            .fetch_one(p)
            .await?
            .try_get("n")?))
    }

    /// Rollup rows still partial, in both tables (tests).
    pub async fn count_partial_rollups(&self) -> Result<i64> {
        Ok(on_pool!(self, p => sqlx::query(
            "SELECT (SELECT COUNT(*) FROM candor_call_minutes WHERE partial = 1) \
             + (SELECT COUNT(*) FROM candor_call_hours WHERE partial = 1) AS n")
            .fetch_one(p)
            .await?
            .try_get("n")?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partition_names_round_trip() {
        let day = 1_764_633_600 / 86_400; // 2025-12-02
        let name = partition_name(day).unwrap_or_default();
        assert_eq!(name, "candor_call_blocks_p20251202");
        assert_eq!(partition_day(&name), Some(day));
        assert_eq!(partition_day("candor_call_blocks_default"), None);
        assert_eq!(partition_day("candor_call_blocks_p2025120x"), None);
    }
}
