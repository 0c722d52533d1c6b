//! Running a statement on either backend: the one place in the store's SQL that knows there
//! are two databases.
//!
//! The SQL is the same for SQLite and PostgreSQL (`$N` placeholders, which sqlx binds by number
//! on SQLite too; `INSERT … ON CONFLICT`; `UPDATE … RETURNING`), so a statement is written once
//! as a [`Query`] and run on whichever [`Pool`] or [`Tx`] the store has. Values keep their Rust
//! types until they are bound: an [`Arg`] is bound as the very type the caller gave, so each
//! backend encodes it exactly as a direct `sqlx::query(…).bind(…)` would (no `Any` driver, no
//! conversion to text).

use std::borrow::Cow;

use sqlx::postgres::PgRow;
use sqlx::sqlite::SqliteRow;
use sqlx::{Database, Decode, Encode, Postgres, Sqlite, Type};

use crate::db::Pool;
use crate::{StoreError, codec};

/// A value bound to a placeholder.
#[derive(Debug)]
pub(crate) enum Arg<'a> {
    Text(Cow<'a, str>),
    OptText(Option<Cow<'a, str>>),
    Int(i64),
    OptInt(Option<i64>),
    Bytes(&'a [u8]),
    OptBytes(Option<&'a [u8]>),
    Flag(bool),
}

impl<'a> From<&'a str> for Arg<'a> {
    fn from(v: &'a str) -> Self {
        Arg::Text(Cow::Borrowed(v))
    }
}

impl<'a> From<&'a String> for Arg<'a> {
    fn from(v: &'a String) -> Self {
        Arg::Text(Cow::Borrowed(v))
    }
}

impl From<String> for Arg<'_> {
    fn from(v: String) -> Self {
        Arg::Text(Cow::Owned(v))
    }
}

impl<'a> From<Option<&'a str>> for Arg<'a> {
    fn from(v: Option<&'a str>) -> Self {
        Arg::OptText(v.map(Cow::Borrowed))
    }
}

impl<'a> From<Option<&'a [u8]>> for Arg<'a> {
    fn from(v: Option<&'a [u8]>) -> Self {
        Arg::OptBytes(v)
    }
}

impl<'a> From<&'a Option<String>> for Arg<'a> {
    fn from(v: &'a Option<String>) -> Self {
        Arg::OptText(v.as_deref().map(Cow::Borrowed))
    }
}

impl From<i64> for Arg<'_> {
    fn from(v: i64) -> Self {
        Arg::Int(v)
    }
}

impl From<Option<i64>> for Arg<'_> {
    fn from(v: Option<i64>) -> Self {
        Arg::OptInt(v)
    }
}

impl<'a> From<&'a [u8]> for Arg<'a> {
    fn from(v: &'a [u8]) -> Self {
        Arg::Bytes(v)
    }
}

impl<'a> From<&'a Vec<u8>> for Arg<'a> {
    fn from(v: &'a Vec<u8>) -> Self {
        Arg::Bytes(v)
    }
}

impl<'a> From<&'a Option<Vec<u8>>> for Arg<'a> {
    fn from(v: &'a Option<Vec<u8>>) -> Self {
        Arg::OptBytes(v.as_deref())
    }
}

impl From<bool> for Arg<'_> {
    fn from(v: bool) -> Self {
        Arg::Flag(v)
    }
}

/// A statement and its values, not yet bound to a backend.
#[derive(Debug)]
pub(crate) struct Query<'a> {
    sql: &'static str,
    args: Vec<Arg<'a>>,
}

/// A statement with `$1`, `$2`, … placeholders, to be given its values with [`Query::bind`].
pub(crate) fn query<'a>(sql: &'static str) -> Query<'a> {
    Query {
        sql,
        args: Vec::new(),
    }
}

/// Where a statement runs: on a connection of the pool, or inside an open transaction.
pub(crate) enum On<'c> {
    Pool(&'c Pool),
    Tx(&'c mut Tx),
}

impl<'c> From<&'c Pool> for On<'c> {
    fn from(pool: &'c Pool) -> Self {
        On::Pool(pool)
    }
}

impl<'c> From<&'c mut Tx> for On<'c> {
    fn from(tx: &'c mut Tx) -> Self {
        On::Tx(tx)
    }
}

impl<'a> Query<'a> {
    /// Binds the next placeholder.
    pub(crate) fn bind(mut self, value: impl Into<Arg<'a>>) -> Self {
        self.args.push(value.into());
        self
    }

    /// Runs the statement; returns how many rows it changed.
    pub(crate) async fn execute(self, on: impl Into<On<'_>>) -> Result<u64, sqlx::Error> {
        Ok(match on.into() {
            On::Pool(Pool::Sqlite(p)) => self.bound::<Sqlite>().execute(p).await?.rows_affected(),
            On::Pool(Pool::Postgres(p)) => {
                self.bound::<Postgres>().execute(p).await?.rows_affected()
            }
            On::Tx(Tx::Sqlite(tx)) => self.bound().execute(&mut **tx).await?.rows_affected(),
            On::Tx(Tx::Postgres(tx)) => self.bound().execute(&mut **tx).await?.rows_affected(),
        })
    }

    /// The first row, if any (the statements that use it match at most one).
    pub(crate) async fn fetch_optional(
        self,
        on: impl Into<On<'_>>,
    ) -> Result<Option<Row>, sqlx::Error> {
        Ok(match on.into() {
            On::Pool(Pool::Sqlite(p)) => self.bound().fetch_optional(p).await?.map(Row::Sqlite),
            On::Pool(Pool::Postgres(p)) => self.bound().fetch_optional(p).await?.map(Row::Postgres),
            On::Tx(Tx::Sqlite(tx)) => self
                .bound()
                .fetch_optional(&mut **tx)
                .await?
                .map(Row::Sqlite),
            On::Tx(Tx::Postgres(tx)) => self
                .bound()
                .fetch_optional(&mut **tx)
                .await?
                .map(Row::Postgres),
        })
    }

    /// The one row the statement answers; [`sqlx::Error::RowNotFound`] when none.
    pub(crate) async fn fetch_one(self, on: impl Into<On<'_>>) -> Result<Row, sqlx::Error> {
        self.fetch_optional(on)
            .await?
            .ok_or(sqlx::Error::RowNotFound)
    }

    /// Every row, in the order the database gives them.
    pub(crate) async fn fetch_all(self, on: impl Into<On<'_>>) -> Result<Vec<Row>, sqlx::Error> {
        let rows = match on.into() {
            On::Pool(Pool::Sqlite(p)) => rows(self.bound().fetch_all(p).await?, Row::Sqlite),
            On::Pool(Pool::Postgres(p)) => rows(self.bound().fetch_all(p).await?, Row::Postgres),
            On::Tx(Tx::Sqlite(tx)) => rows(self.bound().fetch_all(&mut **tx).await?, Row::Sqlite),
            On::Tx(Tx::Postgres(tx)) => {
                rows(self.bound().fetch_all(&mut **tx).await?, Row::Postgres)
            }
        };
        Ok(rows)
    }

    /// The sqlx query for backend `DB`, every value bound as its own type.
    fn bound<DB>(&self) -> sqlx::query::Query<'static, DB, DB::Arguments>
    where
        DB: Database,
        for<'t> &'t str: Encode<'t, DB> + Type<DB>,
        for<'t> Option<&'t str>: Encode<'t, DB> + Type<DB>,
        i64: for<'t> Encode<'t, DB> + Type<DB>,
        Option<i64>: for<'t> Encode<'t, DB> + Type<DB>,
        for<'t> &'t [u8]: Encode<'t, DB> + Type<DB>,
        for<'t> Option<&'t [u8]>: Encode<'t, DB> + Type<DB>,
        bool: for<'t> Encode<'t, DB> + Type<DB>,
    {
        let mut query = sqlx::query::<DB>(self.sql);
        for arg in &self.args {
            query = match arg {
                Arg::Text(v) => query.bind(v.as_ref()),
                Arg::OptText(v) => query.bind(v.as_deref()),
                Arg::Int(v) => query.bind(*v),
                Arg::OptInt(v) => query.bind(*v),
                Arg::Bytes(v) => query.bind(*v),
                Arg::OptBytes(v) => query.bind(*v),
                Arg::Flag(v) => query.bind(*v),
            };
        }
        query
    }
}

fn rows<R>(rows: Vec<R>, wrap: fn(R) -> Row) -> Vec<Row> {
    rows.into_iter().map(wrap).collect()
}

/// A row of either backend.
#[derive(Debug)]
pub(crate) enum Row {
    Sqlite(SqliteRow),
    Postgres(PgRow),
}

impl Row {
    /// The column `column` as `T`; a value that does not decode is [`StoreError::Corrupt`].
    pub(crate) fn get<T>(&self, column: &str) -> Result<T, StoreError>
    where
        T: for<'r> Decode<'r, Sqlite>
            + Type<Sqlite>
            + for<'r> Decode<'r, Postgres>
            + Type<Postgres>,
    {
        match self {
            Row::Sqlite(row) => codec::get(row, column),
            Row::Postgres(row) => codec::get(row, column),
        }
    }
}

/// A transaction that writes, on either backend.
pub(crate) enum Tx {
    Sqlite(sqlx::Transaction<'static, Sqlite>),
    Postgres(sqlx::Transaction<'static, Postgres>),
}

impl Tx {
    /// Begins a transaction that will write. On SQLite it takes the write lock up front
    /// (`BEGIN IMMEDIATE`, waiting up to the busy timeout) rather than failing when a read
    /// would have to be upgraded to a write; PostgreSQL takes row locks as it goes.
    pub(crate) async fn begin_write(pool: &Pool) -> Result<Tx, sqlx::Error> {
        Ok(match pool {
            Pool::Sqlite(p) => Tx::Sqlite(p.begin_with("BEGIN IMMEDIATE").await?),
            Pool::Postgres(p) => Tx::Postgres(p.begin().await?),
        })
    }

    pub(crate) async fn commit(self) -> Result<(), sqlx::Error> {
        match self {
            Tx::Sqlite(tx) => tx.commit().await,
            Tx::Postgres(tx) => tx.commit().await,
        }
    }

    pub(crate) async fn rollback(self) -> Result<(), sqlx::Error> {
        match self {
            Tx::Sqlite(tx) => tx.rollback().await,
            Tx::Postgres(tx) => tx.rollback().await,
        }
    }
}
