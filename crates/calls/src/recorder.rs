//! Off the request path: calls gathered per thread, made ready there, written in batches by
//! one task.
//!
//! [`Recorder::record`] never waits. A call goes into its thread's shard (an uncontended lock:
//! each thread keeps to one); every [`HANDOFF`] calls the thread encodes its shard into blocks
//! and rollup sums ([`Prepared`]) and hands them to the writer — or, when the queue is full
//! (the database is slow or down), drops them and counts the drop. So what crosses between
//! cores is one buffer per few hundred calls: no call is freed, and no shared counter or
//! reference count touched, on another core than the one that made it — at the gateway's
//! saturation, that traffic cost more than the writes. The writer writes when it has
//! [`Settings::batch`] calls, and every flush interval collects what sits in the shards.
//! [`Recorder::shutdown`] writes everything before it returns. The same task keeps the log:
//! it folds closed minutes' rollups every minute and purges past the retention every hour.

use std::cell::Cell;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, PoisonError};
use std::time::Duration;

use tokio::sync::{Mutex, mpsc, watch};

use crate::otlp::{Exporter, OtlpCounters, OtlpSettings};
use crate::record::{Call, now_us};
use crate::store::{CallStore, Prepared};

/// Calls a thread gathers before it makes them ready and hands them over (fewer when the
/// queue is small: an eighth of it).
pub const HANDOFF: usize = 512;

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
    /// Where to export calls over OTLP too, if anywhere.
    pub otlp: Option<OtlpSettings>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            node: Arc::from(node_name()),
            queue: 50_000,
            batch: 2_000,
            flush_every: Duration::from_secs(1),
            retention: Duration::from_secs(14 * 86_400),
            otlp: None,
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

/// The calls one thread has gathered (see the module's documentation). Aligned to its own
/// cache lines, so that two threads' shards never share one.
#[repr(align(128))]
#[derive(Debug, Default)]
struct Shard {
    calls: std::sync::Mutex<Vec<Call>>,
}

/// The handle requests record through. Cheap to share (`Arc`).
#[derive(Debug)]
pub struct Recorder {
    shards: Box<[Shard]>,
    handoff: usize,
    /// Calls made ready and waiting for the writer; bounded by `queue`.
    waiting: AtomicUsize,
    queue: usize,
    tx: mpsc::UnboundedSender<Prepared>,
    /// Set first by [`Recorder::shutdown`]: a call recorded after it is dropped.
    stopping: AtomicBool,
    /// Wakes the writer when a batch is waiting, so that a call never wakes it on its own: at
    /// tens of thousands of calls a second, one wake-up per call would cost more than the
    /// writes.
    kick: Arc<tokio::sync::Notify>,
    batch: usize,
    counters: Arc<Counters>,
    otlp: Option<Arc<OtlpCounters>>,
    traces: bool,
    stop: watch::Sender<bool>,
    writer: Mutex<Option<tokio::task::JoinHandle<()>>>,
    store: CallStore,
}

/// Threads are numbered on their first call, and keep to the shard of their number.
fn thread_number() -> usize {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    thread_local! {
        static NUMBER: Cell<Option<usize>> = const { Cell::new(None) };
    }
    NUMBER.with(|n| {
        n.get().unwrap_or_else(|| {
            let mine = NEXT.fetch_add(1, Ordering::Relaxed);
            n.set(Some(mine));
            mine
        })
    })
}

impl Recorder {
    /// Starts the writer (on the current runtime) over `store`.
    pub fn start(store: CallStore, settings: Settings) -> Arc<Recorder> {
        let (tx, rx) = mpsc::unbounded_channel();
        let counters = Arc::new(Counters::default());
        let (stop, stopped) = watch::channel(false);
        let kick = Arc::new(tokio::sync::Notify::new());
        let queue = settings.queue.max(1);
        let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
        let shards = (0..(threads * 2).clamp(2, 64))
            .map(|_| Shard::default())
            .collect();
        let otlp = settings
            .otlp
            .as_ref()
            .map(|_| Arc::new(OtlpCounters::default()));
        let recorder = Arc::new(Recorder {
            shards,
            handoff: (queue / 8).clamp(1, HANDOFF),
            waiting: AtomicUsize::new(0),
            queue,
            tx,
            stopping: AtomicBool::new(false),
            kick: kick.clone(),
            batch: settings.batch.max(1),
            counters: counters.clone(),
            otlp,
            traces: settings.otlp.as_ref().is_some_and(|o| o.traces),
            stop,
            writer: Mutex::new(None),
            store: store.clone(),
        });
        let writer = tokio::spawn(write_loop(
            store,
            settings,
            rx,
            recorder.clone(),
            stopped,
            kick,
        ));
        if let Ok(mut slot) = recorder.writer.try_lock() {
            *slot = Some(writer);
        }
        recorder
    }

    /// Records one call; never waits.
    pub fn record(&self, call: Call) {
        let Some(shard) = self.shards.get(thread_number() % self.shards.len()) else {
            return;
        };
        let full = {
            let mut calls = shard.calls.lock().unwrap_or_else(PoisonError::into_inner);
            // Looked at under the lock that shutdown takes to collect the shard: a call is
            // either collected or dropped, never left behind.
            if self.stopping.load(Ordering::Relaxed) {
                drop(calls);
                self.counters.dropped.fetch_add(1, Ordering::Relaxed);
                return;
            }
            calls.push(call);
            if calls.len() < self.handoff {
                return;
            }
            // A full buffer in its place: it would otherwise grow again from nothing, copying
            // its calls at each doubling.
            std::mem::replace(&mut *calls, Vec::with_capacity(self.handoff))
        };
        // Made ready here, outside the lock; the calls are freed on this thread.
        self.hand_over(&full);
    }

    /// Makes `calls` ready and queues them for the writer, or drops them when the queue is full.
    fn hand_over(&self, calls: &[Call]) {
        let n = calls.len();
        if n == 0 {
            return;
        }
        if self.waiting.load(Ordering::Relaxed) + n > self.queue {
            self.counters.dropped.fetch_add(n as u64, Ordering::Relaxed);
            return;
        }
        let prepared = match Prepared::of(calls) {
            Ok(p) => p,
            Err(e) => {
                tracing::warn!(error = %e, calls = n, "cannot encode calls for the call log");
                self.counters.failed.fetch_add(n as u64, Ordering::Relaxed);
                return;
            }
        };
        let waiting = self.waiting.fetch_add(n, Ordering::Relaxed) + n;
        if self.tx.send(prepared).is_err() {
            // The writer is gone.
            self.waiting.fetch_sub(n, Ordering::Relaxed);
            self.counters.dropped.fetch_add(n as u64, Ordering::Relaxed);
            return;
        }
        self.counters.queued.fetch_add(n as u64, Ordering::Relaxed);
        if waiting >= self.batch {
            self.kick.notify_one();
        }
    }

    /// Hands over what every shard holds (the writer's flush, and shutdown).
    fn collect_shards(&self) {
        for shard in &self.shards {
            let calls =
                std::mem::take(&mut *shard.calls.lock().unwrap_or_else(PoisonError::into_inner));
            self.hand_over(&calls);
        }
    }

    pub fn counters(&self) -> &Counters {
        &self.counters
    }

    /// Whether calls carry a trace context ([`crate::trace`]): when spans are exported.
    pub fn traces(&self) -> bool {
        self.traces
    }

    /// The OTLP export's counters, when it is on.
    pub fn otlp_counters(&self) -> Option<&OtlpCounters> {
        self.otlp.as_deref()
    }

    /// The store calls are written to (for the admin API's queries).
    pub fn store(&self) -> &CallStore {
        &self.store
    }

    /// Calls made ready and waiting for the writer.
    pub fn queued_now(&self) -> usize {
        self.waiting.load(Ordering::Relaxed)
    }

    /// Writes every queued call, then stops the writer. Calls recorded afterwards are dropped
    /// (and counted).
    pub async fn shutdown(&self) {
        self.stopping.store(true, Ordering::Relaxed);
        self.collect_shards();
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
    mut rx: mpsc::UnboundedReceiver<Prepared>,
    recorder: Arc<Recorder>,
    mut stopped: watch::Receiver<bool>,
    kick: Arc<tokio::sync::Notify>,
) {
    let failing = AtomicBool::new(false);
    let mut flush_tick = tokio::time::interval(settings.flush_every);
    flush_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut compact_tick = tokio::time::interval(COMPACT_EVERY);
    let mut purge_tick = tokio::time::interval(PURGE_EVERY);
    let exporter = match (&settings.otlp, &recorder.otlp) {
        (Some(o), Some(counters)) => match Exporter::start(o.clone(), counters.clone()) {
            Ok(e) => Some(e),
            Err(e) => {
                tracing::error!(error = %e, "the OTLP export is off");
                None
            }
        },
        _ => None,
    };
    let writer = Writer {
        store: &store,
        settings: &settings,
        recorder: &recorder,
        failing: &failing,
        exporter: exporter.as_ref(),
    };
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
            _ = flush_tick.tick() => recorder.collect_shards(),
            _ = compact_tick.tick() => {
                maintain(&store, &settings, false).await;
                continue;
            }
            _ = purge_tick.tick() => {
                maintain(&store, &settings, true).await;
                continue;
            }
        }
        writer.drain(&mut rx).await;
    }
    // Shutting down: what is queued (shutdown collected the shards first) is written before
    // the task ends.
    rx.close();
    writer.drain(&mut rx).await;
    if let Some(e) = exporter {
        e.close(Duration::from_secs(5)).await;
    }
}

/// What writing needs, borrowed from the write loop.
struct Writer<'a> {
    store: &'a CallStore,
    settings: &'a Settings,
    recorder: &'a Recorder,
    failing: &'a AtomicBool,
    exporter: Option<&'a Exporter>,
}

impl Writer<'_> {
    /// Writes everything queued now, a batch at a time.
    async fn drain(&self, rx: &mut mpsc::UnboundedReceiver<Prepared>) {
        let size = self.settings.batch.max(1);
        loop {
            let mut batch = Prepared::default();
            while batch.calls() < size {
                match rx.try_recv() {
                    Ok(p) => {
                        self.recorder
                            .waiting
                            .fetch_sub(p.calls(), Ordering::Relaxed);
                        batch.merge(p);
                    }
                    Err(_) => break,
                }
            }
            if batch.calls() == 0 {
                return;
            }
            let full = batch.calls() >= size;
            self.write(&batch).await;
            if let Some(e) = self.exporter {
                e.offer(&self.settings.node, batch);
            }
            if !full {
                return;
            }
        }
    }

    async fn write(&self, batch: &Prepared) {
        let counters = &self.recorder.counters;
        let n = batch.calls() as u64;
        for attempt in 1..=ATTEMPTS {
            match self.store.write(&self.settings.node, batch).await {
                Ok(()) => {
                    counters.written.fetch_add(n, Ordering::Relaxed);
                    counters.batches.fetch_add(1, Ordering::Relaxed);
                    if self.failing.swap(false, Ordering::Relaxed) {
                        tracing::info!("the call log is written again");
                    }
                    return;
                }
                Err(e) if attempt == ATTEMPTS => {
                    // Logged once per outage, not once per batch.
                    if !self.failing.swap(true, Ordering::Relaxed) {
                        tracing::warn!(error = %e, calls = n, "cannot write the call log; calls are dropped until it can");
                    }
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(100 * u64::from(attempt))).await,
            }
        }
        counters.failed.fetch_add(n, Ordering::Relaxed);
    }
}

/// Attempts per batch before its calls are given up (and counted as failed).
const ATTEMPTS: u32 = 3;

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
        match store.purge_audit(now.saturating_sub(keep)).await {
            Ok(n) if n > 0 => tracing::info!(events = n, "purged audit events past the retention"),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "cannot purge the audit log"),
        }
    }
}
