//! The call log of a running process: its recorder, and the typed queries over what it has
//! written — the latest calls ([`CallLog::tail`]) and statistics ([`CallLog::stats`]). The
//! admin surface (`candor-admin`) answers them over HTTP and the CLI from the terminal; this
//! crate knows neither.

use std::sync::Arc;

use serde::Serialize;

use crate::params::TailQuery;
use crate::recorder::Recorder;
use crate::stats::{Dimension, StatsQuery, StatsRow};
use crate::store::{CallStore, StoredCall};

/// A page of the latest calls, and the id to continue after.
#[derive(Debug, Clone, Serialize)]
pub struct Page {
    pub calls: Vec<StoredCall>,
    /// The last id of this page (or the query's `after` when the page is empty): pass it
    /// back as `after` for the calls written since.
    pub after: Option<i64>,
}

/// Statistics over a range, as asked.
#[derive(Debug, Clone, Serialize)]
pub struct Stats {
    pub since: i64,
    pub until: i64,
    pub by: Vec<Dimension>,
    pub rows: Vec<StatsRow>,
}

/// The call log of a running process.
#[derive(Debug)]
pub struct CallLog {
    pub recorder: Arc<Recorder>,
    store: CallStore,
}

impl CallLog {
    pub fn new(recorder: Arc<Recorder>) -> Self {
        CallLog {
            store: recorder.store().clone(),
            recorder,
        }
    }

    /// The latest calls matching `q`, oldest first.
    pub async fn tail(&self, q: &TailQuery) -> crate::Result<Page> {
        let calls = self
            .store
            .tail(
                &q.filter,
                q.since.map(|s| s.saturating_mul(1_000_000)),
                q.after,
                q.limit,
            )
            .await?;
        let after = calls.iter().map(|c| c.id).max().or(q.after);
        Ok(Page { calls, after })
    }

    /// The statistics `q` asks for.
    pub async fn stats(&self, q: &StatsQuery) -> crate::Result<Stats> {
        let rows = self.store.stats(q).await?;
        Ok(Stats {
            since: q.since,
            until: q.until,
            by: q.by.clone(),
            rows,
        })
    }
}
