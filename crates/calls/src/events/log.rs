//! The event log of a running server: [`EventLog::record`] never waits — an event goes into
//! a bounded queue ([`EventSettings::queue`]; full, it is dropped and counted) — and one task
//! takes what is queued, up to [`EventSettings::batch`] at a time, and writes it in one
//! transaction (events and rollup sums, [`CallStore::write_events`]); then offers each event
//! to the webhooks that asked for its kind and, when OTLP is on, to the export. The same
//! task purges events past the retention every hour. Without a call log (`[calls] enabled =
//! false`) nothing is stored, and webhooks still receive their events.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use candor_metrics::scraped::{counter, counters, gauge, gauges, int};
use prometheus_client::collector::Collector;
use prometheus_client::encoding::DescriptorEncoder;
use tokio::sync::mpsc;

use super::IdentityEvent;
use super::webhook::{Webhook, WebhookSettings};
use crate::audit::AuditEvent;
use crate::otlp::{OtlpCounters, OtlpSettings, RecordExporter, audit_record, event_record};
use crate::record::now_us;
use crate::store::CallStore;

/// How the event log runs.
#[derive(Debug, Clone)]
pub struct EventSettings {
    /// This node's name, written with every event.
    pub node: Arc<str>,
    /// Events waiting for the writer at most.
    pub queue: usize,
    /// Events per write at most.
    pub batch: usize,
    /// How long events are kept.
    pub retention: Duration,
    /// Where to export events (and audit events) over OTLP too, if anywhere.
    pub otlp: Option<OtlpSettings>,
    pub webhooks: Vec<WebhookSettings>,
}

impl Default for EventSettings {
    fn default() -> Self {
        EventSettings {
            node: Arc::from(crate::recorder::node_name()),
            queue: 10_000,
            batch: 1_000,
            retention: Duration::from_secs(14 * 86_400),
            otlp: None,
            webhooks: Vec::new(),
        }
    }
}

/// The event log's counters (for `/metrics`), in events.
#[derive(Debug, Default)]
pub struct EventCounters {
    /// Events handed to the queue.
    pub queued: AtomicU64,
    /// Events dropped because the queue was full (or the log stopped).
    pub dropped: AtomicU64,
    /// Events written to the database.
    pub written: AtomicU64,
    /// Events lost because their batch could not be written.
    pub failed: AtomicU64,
}

/// The handle the server records events through. Cheap to share (`Arc`).
#[derive(Debug)]
pub struct EventLog {
    tx: Mutex<Option<mpsc::Sender<IdentityEvent>>>,
    waiting: Arc<AtomicUsize>,
    counters: Arc<EventCounters>,
    store: Option<CallStore>,
    webhooks: Arc<[Webhook]>,
    /// Taken at shutdown, to close it once the writer, its other holder, is done.
    exporter: Mutex<Option<Arc<RecordExporter>>>,
    otlp: Option<Arc<OtlpCounters>>,
    writer: tokio::sync::Mutex<Option<tokio::task::JoinHandle<()>>>,
}

/// Attempts per batch before its events are given up (and counted as failed).
const ATTEMPTS: u32 = 3;
/// How often the retention is enforced.
const PURGE_EVERY: Duration = Duration::from_secs(3600);

impl EventLog {
    /// Starts the writer and the webhooks on the current runtime; events are stored in
    /// `store` when there is one. A webhook or an export that cannot start is an error.
    pub fn start(
        store: Option<CallStore>,
        settings: EventSettings,
    ) -> Result<Arc<EventLog>, String> {
        let webhooks: Arc<[Webhook]> = settings
            .webhooks
            .iter()
            .cloned()
            .map(Webhook::start)
            .collect::<Result<Vec<_>, _>>()?
            .into();
        let (otlp, exporter) = match settings.otlp.clone().filter(|o| o.logs) {
            Some(o) => {
                let counters = Arc::new(OtlpCounters::default());
                let exporter = RecordExporter::start(o, settings.node.clone(), counters.clone())?;
                (Some(counters), Some(Arc::new(exporter)))
            }
            None => (None, None),
        };
        let (tx, rx) = mpsc::channel(settings.queue.max(1));
        let log = Arc::new(EventLog {
            tx: Mutex::new(Some(tx)),
            waiting: Arc::new(AtomicUsize::new(0)),
            counters: Arc::new(EventCounters::default()),
            store: store.clone(),
            webhooks: webhooks.clone(),
            exporter: Mutex::new(exporter.clone()),
            otlp,
            writer: tokio::sync::Mutex::new(None),
        });
        let writer = Writer {
            store,
            settings,
            counters: log.counters.clone(),
            waiting: log.waiting.clone(),
            webhooks,
            exporter,
        };
        let task = tokio::spawn(writer.run(rx));
        if let Ok(mut slot) = log.writer.try_lock() {
            *slot = Some(task);
        }
        Ok(log)
    }

    /// Records `event`; never waits.
    pub fn record(&self, event: IdentityEvent) {
        let sent = match &*self.tx.lock().unwrap_or_else(PoisonError::into_inner) {
            Some(tx) => tx.try_send(event).is_ok(),
            None => false,
        };
        if sent {
            self.waiting.fetch_add(1, Ordering::Relaxed);
            self.counters.queued.fetch_add(1, Ordering::Relaxed);
        } else {
            self.counters.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Exports an audit event over OTLP, when that is on; never waits.
    pub fn export_audit(&self, event: &AuditEvent) {
        if let Some(e) = &*self.exporter.lock().unwrap_or_else(PoisonError::into_inner) {
            e.offer("candor.audit", vec![audit_record(event)]);
        }
    }

    /// Where events are stored (none without a call log).
    pub fn store(&self) -> Option<&CallStore> {
        self.store.as_ref()
    }

    pub fn counters(&self) -> &EventCounters {
        &self.counters
    }

    pub fn webhooks(&self) -> &[Webhook] {
        &self.webhooks
    }

    /// The OTLP export's counters, when it is on.
    pub fn otlp_counters(&self) -> Option<&OtlpCounters> {
        self.otlp.as_deref()
    }

    /// Events waiting for the writer.
    pub fn queued_now(&self) -> usize {
        self.waiting.load(Ordering::Relaxed)
    }

    /// Writes what is queued, then gives the webhooks and the export up to `wait` each to
    /// deliver theirs. Events recorded afterwards are dropped (and counted).
    pub async fn shutdown(&self, wait: Duration) {
        drop(
            self.tx
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .take(),
        );
        if let Some(writer) = self.writer.lock().await.take() {
            let _ = writer.await;
        }
        for w in self.webhooks.iter() {
            w.close(wait).await;
        }
        let exporter = self
            .exporter
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(e) = exporter.and_then(Arc::into_inner) {
            e.close(wait).await;
        }
    }

    /// The event log's and its webhooks' metrics, for a scrape's registry.
    pub fn metrics(self: &Arc<Self>) -> EventLogMetrics {
        EventLogMetrics(self.clone())
    }
}

/// What the writer task holds.
struct Writer {
    store: Option<CallStore>,
    settings: EventSettings,
    counters: Arc<EventCounters>,
    waiting: Arc<AtomicUsize>,
    webhooks: Arc<[Webhook]>,
    exporter: Option<Arc<RecordExporter>>,
}

impl Writer {
    async fn run(self, mut rx: mpsc::Receiver<IdentityEvent>) {
        let mut purge_tick = tokio::time::interval(PURGE_EVERY);
        let size = self.settings.batch.max(1);
        loop {
            tokio::select! {
                first = rx.recv() => {
                    let Some(first) = first else { break };
                    // What queued meanwhile goes in the same write.
                    let mut batch = vec![first];
                    while batch.len() < size {
                        match rx.try_recv() {
                            Ok(e) => batch.push(e),
                            Err(_) => break,
                        }
                    }
                    self.waiting.fetch_sub(batch.len(), Ordering::Relaxed);
                    self.handle(&batch).await;
                }
                _ = purge_tick.tick() => self.purge().await,
            }
        }
    }

    async fn handle(&self, batch: &[IdentityEvent]) {
        if let Some(store) = &self.store {
            self.write(store, batch).await;
        }
        for w in self.webhooks.iter() {
            for e in batch {
                w.offer(e, &self.settings.node);
            }
        }
        if let Some(x) = &self.exporter {
            x.offer("candor.events", batch.iter().map(event_record).collect());
        }
    }

    async fn write(&self, store: &CallStore, batch: &[IdentityEvent]) {
        let n = batch.len() as u64;
        for attempt in 1..=ATTEMPTS {
            match store.write_events(&self.settings.node, batch).await {
                Ok(()) => {
                    self.counters.written.fetch_add(n, Ordering::Relaxed);
                    return;
                }
                Err(e) if attempt == ATTEMPTS => {
                    tracing::warn!(error = %e, events = n, "cannot write identity events; they are dropped");
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(100 * u64::from(attempt))).await,
            }
        }
        self.counters.failed.fetch_add(n, Ordering::Relaxed);
    }

    async fn purge(&self) {
        let Some(store) = &self.store else { return };
        let keep = i64::try_from(self.settings.retention.as_micros()).unwrap_or(i64::MAX);
        match store.purge_events(now_us().saturating_sub(keep)).await {
            Ok(n) if n > 0 => {
                tracing::info!(events = n, "purged identity events past the retention")
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "cannot purge the identity events"),
        }
    }
}

/// The event log's metrics (docs/admin-api.md, "Identity events"), read at scrape time.
#[derive(Debug, Clone)]
pub struct EventLogMetrics(Arc<EventLog>);

impl Collector for EventLogMetrics {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let log = &self.0;
        let c = log.counters();
        let get = |n: &AtomicU64| n.load(Ordering::Relaxed);
        for (name, help, value) in [
            (
                "candor_events_queued",
                "Identity events handed to the event log's queue.",
                &c.queued,
            ),
            (
                "candor_events_dropped",
                "Identity events dropped because the event log's queue was full.",
                &c.dropped,
            ),
            (
                "candor_events_written",
                "Identity events written to the database.",
                &c.written,
            ),
            (
                "candor_events_failed",
                "Identity events lost because their batch could not be written.",
                &c.failed,
            ),
        ] {
            counter(&mut encoder, name, help, get(value))?;
        }
        gauge(
            &mut encoder,
            "candor_events_queue_length",
            "Identity events waiting to be written.",
            int(log.queued_now()),
        )?;
        if !log.webhooks.is_empty() {
            let hooks = &log.webhooks;
            let series = |f: fn(&Webhook) -> &AtomicU64| {
                hooks
                    .iter()
                    .map(move |w| ([("webhook", w.name())], get(f(w))))
                    .collect::<Vec<_>>()
            };
            counters(
                &mut encoder,
                "candor_webhook_deliveries",
                "Events a webhook's receiver accepted.",
                series(|w| &w.counters().delivered),
            )?;
            counters(
                &mut encoder,
                "candor_webhook_failed_attempts",
                "Webhook delivery attempts that failed (no answer in time, refused, or not 2xx).",
                series(|w| &w.counters().attempts_failed),
            )?;
            counters(
                &mut encoder,
                "candor_webhook_dead_letters",
                "Events given up after every delivery attempt failed.",
                series(|w| &w.counters().dead_letters),
            )?;
            counters(
                &mut encoder,
                "candor_webhook_dropped",
                "Events dropped because the webhook's queue was full.",
                series(|w| &w.counters().dropped),
            )?;
            gauges(
                &mut encoder,
                "candor_webhook_queue_length",
                "Events waiting for delivery.",
                hooks
                    .iter()
                    .map(|w| ([("webhook", w.name())], int(w.queued_now())))
                    .collect::<Vec<_>>(),
            )?;
        }
        if let Some(o) = log.otlp_counters() {
            for (name, help, value) in [
                (
                    "candor_events_otlp_exported",
                    "Identity and audit events the OTLP collector accepted.",
                    &o.exported,
                ),
                (
                    "candor_events_otlp_dropped",
                    "Identity and audit events not exported because the export's queue was full.",
                    &o.dropped,
                ),
                (
                    "candor_events_otlp_failed",
                    "Identity and audit events the OTLP collector could not be given.",
                    &o.failed,
                ),
            ] {
                counter(&mut encoder, name, help, get(value))?;
            }
        }
        Ok(())
    }
}
