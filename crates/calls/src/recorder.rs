//! Off the request path: a bounded queue of calls, written in batches by one task.
//!
//! [`Recorder::record`] never waits: it hands the call to the queue, or, when the queue is
//! full (the database is slow or down), drops it and counts the drop. The writer takes a batch
//! when it has [`Settings::batch`] calls or a second after its first call, whichever comes
//! first. [`Recorder::shutdown`] writes what is queued before it returns. The same task keeps
//! the log: it folds closed minutes' rollups every minute and purges past the retention
//! every hour.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use tokio::sync::{Mutex, mpsc, watch};

use crate::record::{Call, now_us};
use crate::store::CallStore;

/// How the recorder runs.
#[derive(Debug, Clone)]
pub struct Settings {
    /// This node's name, written with every call.
    pub node: Arc<str>,
    /// Calls held at most, waiting for the writer.
    pub queue: usize,
    /// Calls per write.
    pub batch: usize,
    /// The longest a call waits in the queue before a write.
    pub flush_every: Duration,
    /// How long calls are kept.
    pub retention: Duration,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            node: Arc::from(node_name()),
            queue: 50_000,
            batch: 2_000,
            flush_every: Duration::from_secs(1),
            retention: Duration::from_secs(14 * 86_400),
        }
    }
}

/// The host's name (Linux), else `candor`.
pub fn node_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok().filter(|s| !s.is_empty()))
        .unwrap_or_else(|| "candor".into())
}

/// The recorder's counters (for `/metrics`).
#[derive(Debug, Default)]
pub struct Counters {
    /// Calls handed to the queue.
    pub queued: AtomicU64,
    /// Calls dropped because the queue was full (or the recorder stopped).
    pub dropped: AtomicU64,
    /// Calls written to the database.
    pub written: AtomicU64,
    /// Calls lost because their batch could not be written.
    pub failed: AtomicU64,
    /// Writes (batches).
    pub batches: AtomicU64,
}

impl Counters {
    pub fn get(n: &AtomicU64) -> u64 {
        n.load(Ordering::Relaxed)
    }
}

/// The handle requests record through. Cheap to share (`Arc`).
#[derive(Debug)]
pub struct Recorder {
    tx: mpsc::Sender<Call>,
    /// Wakes the writer when a batch is waiting, so that a call never wakes it on its own: at
    /// tens of thousands of calls a second, one wake-up per call would cost more than the
    /// writes.
    kick: Arc<tokio::sync::Notify>,
    batch: usize,
    counters: Arc<Counters>,
    stop: watch::Sender<bool>,
    writer: Mutex<Option<tokio::task::JoinHandle<()>>>,
    store: CallStore,
}

impl Recorder {
    /// Starts the writer (on the current runtime) over `store`.
    pub fn start(store: CallStore, settings: Settings) -> Arc<Recorder> {
        let (tx, rx) = mpsc::channel(settings.queue.max(1));
        let counters = Arc::new(Counters::default());
        let (stop, stopped) = watch::channel(false);
        let kick = Arc::new(tokio::sync::Notify::new());
        let batch = settings.batch.max(1);
        let writer = tokio::spawn(write_loop(
            store.clone(),
            settings,
            rx,
            counters.clone(),
            stopped,
            kick.clone(),
        ));
        Arc::new(Recorder {
            tx,
            kick,
            batch,
            counters,
            stop,
            writer: Mutex::new(Some(writer)),
            store,
        })
    }

    /// Records one call; never waits.
    pub fn record(&self, call: Call) {
        match self.tx.try_send(call) {
            Ok(()) => {
                self.counters.queued.fetch_add(1, Ordering::Relaxed);
                if self.queued_now() >= self.batch {
                    self.kick.notify_one();
                }
            }
            Err(_) => {
                self.counters.dropped.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    pub fn counters(&self) -> &Counters {
        &self.counters
    }

    /// The store calls are written to (for the admin API's queries).
    pub fn store(&self) -> &CallStore {
        &self.store
    }

    /// Calls waiting in the queue.
    pub fn queued_now(&self) -> usize {
        self.tx.max_capacity() - self.tx.capacity()
    }

    /// Writes every queued call, then stops the writer. Calls recorded afterwards are dropped
    /// (and counted).
    pub async fn shutdown(&self) {
        let _ = self.stop.send(true);
        if let Some(writer) = self.writer.lock().await.take() {
            let _ = writer.await;
        }
    }
}

/// How often closed minutes are folded and partitions made.
const COMPACT_EVERY: Duration = Duration::from_secs(60);
/// How often the retention is enforced.
const PURGE_EVERY: Duration = Duration::from_secs(3600);

async fn write_loop(
    store: CallStore,
    settings: Settings,
    mut rx: mpsc::Receiver<Call>,
    counters: Arc<Counters>,
    mut stopped: watch::Receiver<bool>,
    kick: Arc<tokio::sync::Notify>,
) {
    let batch_size = settings.batch.max(1);
    let mut batch: Vec<Call> = Vec::with_capacity(batch_size);
    let failing = AtomicBool::new(false);
    let mut flush_tick = tokio::time::interval(settings.flush_every);
    flush_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut compact_tick = tokio::time::interval(COMPACT_EVERY);
    let mut purge_tick = tokio::time::interval(PURGE_EVERY);
    loop {
        // Looked at, not only awaited: a change seen by an earlier select is consumed.
        if *stopped.borrow() {
            break;
        }
        // The queue is read only here, with try_recv: a sender never wakes this task. It
        // runs when a batch is full (kick), when the flush interval is over, or for upkeep.
        tokio::select! {
            biased;
            _ = stopped.changed() => break,
            _ = kick.notified() => {}
            _ = flush_tick.tick() => {}
            _ = compact_tick.tick() => {
                maintain(&store, &settings, false).await;
                continue;
            }
            _ = purge_tick.tick() => {
                maintain(&store, &settings, true).await;
                continue;
            }
        }
        drain(&mut rx, &mut batch, &store, &settings, &counters, &failing).await;
    }
    // Shutting down: what is queued is written before the task ends.
    rx.close();
    drain(&mut rx, &mut batch, &store, &settings, &counters, &failing).await;
}

/// Writes everything queued now, a batch at a time.
async fn drain(
    rx: &mut mpsc::Receiver<Call>,
    batch: &mut Vec<Call>,
    store: &CallStore,
    settings: &Settings,
    counters: &Counters,
    failing: &AtomicBool,
) {
    let size = settings.batch.max(1);
    loop {
        while batch.len() < size {
            match rx.try_recv() {
                Ok(call) => batch.push(call),
                Err(_) => break,
            }
        }
        if batch.is_empty() {
            return;
        }
        let full = batch.len() >= size;
        write(store, settings, batch, counters, failing).await;
        if !full {
            return;
        }
    }
}

/// Attempts per batch before its calls are given up (and counted as failed).
const ATTEMPTS: u32 = 3;

async fn write(
    store: &CallStore,
    settings: &Settings,
    batch: &mut Vec<Call>,
    counters: &Counters,
    failing: &AtomicBool,
) {
    if batch.is_empty() {
        return;
    }
    let n = batch.len() as u64;
    for attempt in 1..=ATTEMPTS {
        match store.insert(&settings.node, batch).await {
            Ok(()) => {
                counters.written.fetch_add(n, Ordering::Relaxed);
                counters.batches.fetch_add(1, Ordering::Relaxed);
                if failing.swap(false, Ordering::Relaxed) {
                    tracing::info!("the call log is written again");
                }
                batch.clear();
                return;
            }
            Err(e) if attempt == ATTEMPTS => {
                // Logged once per outage, not once per batch.
                if !failing.swap(true, Ordering::Relaxed) {
                    tracing::warn!(error = %e, calls = n, "cannot write the call log; calls are dropped until it can");
                }
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(100 * u64::from(attempt))).await,
        }
    }
    counters.failed.fetch_add(n, Ordering::Relaxed);
    batch.clear();
}

/// Folds closed minutes (and, with `purge`, enforces the retention).
async fn maintain(store: &CallStore, settings: &Settings, purge: bool) {
    let now = now_us();
    // Two minutes back: no batch still on its way holds calls that old.
    let closed = now.div_euclid(60_000_000) - 2;
    if let Err(e) = store.compact(closed).await {
        tracing::warn!(error = %e, "cannot fold the call log's rollups");
    }
    if let Err(e) = store.prepare_partitions(now).await {
        tracing::warn!(error = %e, "cannot create the call log's partitions");
    }
    if purge {
        let keep = i64::try_from(settings.retention.as_micros()).unwrap_or(i64::MAX);
        match store.purge(now.saturating_sub(keep)).await {
            Ok(n) if n > 0 => tracing::info!(calls = n, "purged calls past the retention"),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "cannot purge the call log"),
        }
    }
}
