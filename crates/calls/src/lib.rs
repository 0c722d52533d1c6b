//! Candor's call log (docs/calls.md): every request the gateway and the server's endpoints
//! handle becomes one [`Call`], written off the request path by a [`Recorder`] into a
//! [`CallStore`] (SQLite or PostgreSQL), kept for a retention, and counted by the query
//! layer of [`stats`] and the typed queries of [`CallLog`] (answered over HTTP by the admin
//! surface, `candor-admin`, and by `candor calls`). Beside the calls: the audit log
//! ([`audit`]) and the identity events ([`events`]), with their webhooks.

pub mod access;
pub mod audit;
pub mod block;
pub mod events;
pub mod histogram;
pub mod log;
pub mod metrics;
pub mod otlp;
pub mod params;
pub mod record;
pub mod recorder;
pub mod stats;
pub mod store;
pub mod trace;

pub use audit::{AuditEvent, AuditQuery};
pub use events::{EventLog, EventQuery, EventSettings, IdentityEvent, Kind, StoredEvent};
pub use log::{CallLog, Page, Stats};
pub use otlp::OtlpSettings;
pub use record::{Call, Principal, Source};
pub use recorder::{Recorder, Settings};
pub use stats::{Dimension, Filter, Interval, StatsQuery, StatsRow, StatusFilter};
pub use store::{CallStore, StoredCall};

/// What can go wrong in the call log.
#[derive(Debug, thiserror::Error)]
pub enum CallsError {
    #[error("unsupported call log URL '{0}': expected sqlite://PATH or postgres://…")]
    UnsupportedUrl(String),
    /// A query that cannot be answered as asked (a bad dimension, range or filter).
    #[error("{0}")]
    Query(String),
    /// A block that cannot be read back (damaged, or written by a later version).
    #[error("call log block: {0}")]
    Block(String),
    /// The PostgreSQL server cannot be used at all: what went wrong, and what to do.
    #[error("{0}")]
    Unreachable(String),
    #[error("call log database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("call log migration failed: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),
}

impl From<candor_store::db::OpenError> for CallsError {
    fn from(error: candor_store::db::OpenError) -> Self {
        use candor_store::db::OpenError;
        match error {
            OpenError::UnsupportedUrl(url) => CallsError::UnsupportedUrl(url),
            OpenError::Unreachable(why) => CallsError::Unreachable(why),
            OpenError::Database(e) => CallsError::Database(e),
            OpenError::Migration(e) => CallsError::Migration(e),
        }
    }
}

pub type Result<T, E = CallsError> = std::result::Result<T, E>;
