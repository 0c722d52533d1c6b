//! The call log's records, exported over OpenTelemetry OTLP/HTTP (JSON encoding) for teams
//! that already run a collector: each call becomes one log record (`POST {endpoint}/v1/logs`)
//! and one server span (`POST {endpoint}/v1/traces`), with the same fields the log keeps —
//! never a token, secret, code, password, query string or cookie (the record holds none).
//!
//! Off the request path twice over: the writer hands each batch it has written (the encoded
//! blocks, not the calls) to a bounded queue of [`QUEUE`] batches, and one task decodes and
//! posts them. A full queue, a collector that is down or answers an error: the batch is
//! dropped and counted, the call log itself goes on, and one warning is logged per outage.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use serde_json::{Value, json};
use tokio::sync::mpsc;

use crate::store::{Prepared, StoredCall};

/// Batches waiting for the exporter at most.
pub const QUEUE: usize = 16;

/// Where and what to export.
#[derive(Debug, Clone)]
pub struct OtlpSettings {
    /// The collector's OTLP/HTTP base URL (`http://collector:4318`); `/v1/logs` and
    /// `/v1/traces` are appended.
    pub endpoint: String,
    /// Sent with every request (an API key a hosted collector wants, say).
    pub headers: Vec<(String, String)>,
    pub logs: bool,
    pub traces: bool,
    pub timeout: Duration,
}

/// The exporter's counters (for `/metrics`), in calls.
#[derive(Debug, Default)]
pub struct OtlpCounters {
    /// Calls the collector accepted (per signal: a call sent as a log and a span counts twice).
    pub exported: AtomicU64,
    /// Calls dropped because the exporter's queue was full.
    pub dropped: AtomicU64,
    /// Calls the collector could not be given (unreachable, or it answered an error).
    pub failed: AtomicU64,
}

/// The writer's handle on the export task.
#[derive(Debug)]
pub(crate) struct Exporter {
    tx: mpsc::Sender<Batch>,
    counters: Arc<OtlpCounters>,
    task: tokio::task::JoinHandle<()>,
}

#[derive(Debug)]
struct Batch {
    node: Arc<str>,
    calls: usize,
    blocks: Vec<(i16, Vec<u8>)>,
}

impl Exporter {
    /// Starts the export task on the current runtime.
    pub(crate) fn start(
        settings: OtlpSettings,
        counters: Arc<OtlpCounters>,
    ) -> Result<Exporter, String> {
        let client = http_client(&settings)?;
        let (tx, rx) = mpsc::channel(QUEUE);
        let task = tokio::spawn(export_loop(rx, client, settings, counters.clone()));
        Ok(Exporter { tx, counters, task })
    }

    /// Offers a batch the writer took (and wrote, or gave up on); never waits.
    pub(crate) fn offer(&self, node: &Arc<str>, batch: Prepared) {
        let b = Batch {
            node: node.clone(),
            calls: batch.calls(),
            blocks: batch.into_bodies(),
        };
        let calls = b.calls as u64;
        if self.tx.try_send(b).is_err() {
            self.counters.dropped.fetch_add(calls, Ordering::Relaxed);
        }
    }

    /// Exports what is queued, waiting at most `wait`.
    pub(crate) async fn close(self, wait: Duration) {
        drop(self.tx);
        if tokio::time::timeout(wait, self.task).await.is_err() {
            tracing::warn!("the OTLP export did not finish in time; its last calls are lost");
        }
    }
}

/// The HTTP client of an export: its timeout, and the configured headers (marked sensitive).
fn http_client(settings: &OtlpSettings) -> Result<reqwest::Client, String> {
    let mut headers = reqwest::header::HeaderMap::new();
    for (name, value) in &settings.headers {
        let name = reqwest::header::HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| format!("OTLP header name '{name}' is not a header name"))?;
        let mut value = reqwest::header::HeaderValue::from_str(value)
            .map_err(|_| format!("OTLP header '{name}': the value is not a header value"))?;
        value.set_sensitive(true);
        headers.insert(name, value);
    }
    reqwest::Client::builder()
        .timeout(settings.timeout)
        .default_headers(headers)
        .build()
        .map_err(|e| format!("OTLP client: {e}"))
}

async fn export_loop(
    mut rx: mpsc::Receiver<Batch>,
    client: reqwest::Client,
    settings: OtlpSettings,
    counters: Arc<OtlpCounters>,
) {
    let failing = AtomicBool::new(false);
    let base = settings.endpoint.trim_end_matches('/').to_string();
    while let Some(batch) = rx.recv().await {
        let mut calls = Vec::with_capacity(batch.calls);
        for (encoding, body) in &batch.blocks {
            match crate::block::decode(0, &batch.node, *encoding, body) {
                Ok(c) => calls.extend(c),
                Err(e) => tracing::warn!(error = %e, "a call log block cannot be exported"),
            }
        }
        if calls.is_empty() {
            continue;
        }
        let ids: Vec<Ids> = calls.iter().map(Ids::of).collect();
        let mut sends = Vec::new();
        if settings.logs {
            sends.push(("logs", logs(&batch.node, &calls, &ids)));
        }
        if settings.traces {
            sends.push(("traces", traces(&batch.node, &calls, &ids)));
        }
        for (signal, body) in sends {
            let url = format!("{base}/v1/{signal}");
            match post(&client, &url, &body).await {
                Ok(()) => {
                    counters
                        .exported
                        .fetch_add(calls.len() as u64, Ordering::Relaxed);
                    if failing.swap(false, Ordering::Relaxed) {
                        tracing::info!("the OTLP collector takes calls again");
                    }
                }
                Err(e) => {
                    counters
                        .failed
                        .fetch_add(calls.len() as u64, Ordering::Relaxed);
                    if !failing.swap(true, Ordering::Relaxed) {
                        tracing::warn!(url = %url, error = %e, "cannot export calls over OTLP; they are dropped until it can");
                    }
                }
            }
        }
    }
}

/// Posts `body`; once more after a second when the collector says to retry later (429, 502,
/// 503, 504: the codes OTLP/HTTP names retryable).
async fn post(client: &reqwest::Client, url: &str, body: &Value) -> Result<(), String> {
    for attempt in 0..2 {
        let res = client
            .post(url)
            .json(body)
            .send()
            .await
            .map_err(|e| e.without_url().to_string())?;
        let status = res.status().as_u16();
        if res.status().is_success() {
            return Ok(());
        }
        if attempt == 0 && matches!(status, 429 | 502 | 503 | 504) {
            tokio::time::sleep(Duration::from_secs(1)).await;
            continue;
        }
        return Err(format!("the collector answered {status}"));
    }
    Err("the collector asked to retry later, twice".into())
}

/// A call's trace, span and parent span ids, hex as OTLP/JSON writes them: the call's own
/// ([`crate::trace`]), or a new trace's for a call recorded without one.
struct Ids {
    trace: String,
    span: String,
    parent: Option<String>,
}

impl Ids {
    fn of(c: &StoredCall) -> Ids {
        match (&c.trace_id, &c.span_id) {
            (Some(trace), Some(span)) => Ids {
                trace: trace.clone(),
                span: span.clone(),
                parent: c.parent_span_id.clone(),
            },
            _ => {
                let t = crate::trace::Trace::start(None);
                Ids {
                    trace: hex::encode(t.trace_id),
                    span: hex::encode(t.span_id),
                    parent: None,
                }
            }
        }
    }
}

fn resource(node: &str) -> Value {
    json!({ "attributes": [
        text("service.name", "candor"),
        text("service.instance.id", node),
    ]})
}

fn scope() -> Value {
    json!({ "name": "candor.calls", "version": env!("CARGO_PKG_VERSION") })
}

fn text(key: &str, value: &str) -> Value {
    json!({ "key": key, "value": { "stringValue": value } })
}

/// int64 values are strings in OTLP/JSON (the protobuf JSON mapping).
fn int(key: &str, value: i64) -> Value {
    json!({ "key": key, "value": { "intValue": value.to_string() } })
}

fn nanos(us: i64) -> String {
    (i128::from(us) * 1_000).to_string()
}

/// The attributes of a call, for its log record and its span: the HTTP semantic conventions
/// where they have a name, `candor.*` for the rest.
fn attributes(c: &StoredCall) -> Vec<Value> {
    let mut out = vec![
        text("http.request.method", &c.method),
        text("url.path", &c.path),
        int("http.response.status_code", i64::from(c.status)),
        text("candor.source", &c.source),
        text("candor.route", &c.route),
        int("candor.latency_us", c.latency_us),
    ];
    let optional_text = [
        ("candor.upstream", &c.upstream),
        ("candor.client_id", &c.client_id),
        ("user.id", &c.subject),
        ("candor.scopes", &c.scopes),
        ("candor.issuer", &c.issuer),
        ("candor.diagnosis", &c.diagnosis),
        ("candor.request_id", &c.request_id),
    ];
    for (key, value) in optional_text {
        if let Some(v) = value {
            out.push(text(key, v));
        }
    }
    for (key, value) in [
        ("http.request.body.size", c.bytes_in),
        ("http.response.body.size", c.bytes_out),
    ] {
        if let Some(v) = value {
            out.push(int(key, v));
        }
    }
    out
}

/// `ExportLogsServiceRequest`: one record per call, its severity from its status.
fn logs(node: &str, calls: &[StoredCall], ids: &[Ids]) -> Value {
    let observed = nanos(crate::record::now_us());
    let records: Vec<Value> = calls
        .iter()
        .zip(ids)
        .map(|(c, id)| {
            let (number, severity) = match c.status {
                500.. => (17, "ERROR"),
                400.. => (13, "WARN"),
                _ => (9, "INFO"),
            };
            let body = match &c.diagnosis {
                Some(d) => format!("{} {} {} {d}", c.method, c.path, c.status),
                None => format!("{} {} {}", c.method, c.path, c.status),
            };
            json!({
                "timeUnixNano": nanos(c.at_us),
                "observedTimeUnixNano": observed,
                "severityNumber": number,
                "severityText": severity,
                "body": { "stringValue": body },
                "attributes": attributes(c),
                "traceId": id.trace,
                "spanId": id.span,
            })
        })
        .collect();
    json!({ "resourceLogs": [{
        "resource": resource(node),
        "scopeLogs": [{ "scope": scope(), "logRecords": records }],
    }]})
}

/// `ExportTraceServiceRequest`: one server span per call. Its status is an error for a 5xx
/// only (the semantic conventions' rule for server spans); a refusal's diagnosis is its
/// status message all the same.
fn traces(node: &str, calls: &[StoredCall], ids: &[Ids]) -> Value {
    let spans: Vec<Value> = calls
        .iter()
        .zip(ids)
        .map(|(c, id)| {
            let code = if c.status >= 500 { 2 } else { 0 };
            let status = match &c.diagnosis {
                Some(d) => json!({ "code": code, "message": d }),
                None => json!({ "code": code }),
            };
            let mut span = json!({
                "traceId": id.trace,
                "spanId": id.span,
                "name": format!("{} {}", c.method, c.route),
                "kind": 2,
                "startTimeUnixNano": nanos(c.at_us),
                "endTimeUnixNano": nanos(c.at_us.saturating_add(c.latency_us)),
                "attributes": attributes(c),
                "status": status,
            });
            if let (Some(parent), Some(fields)) = (&id.parent, span.as_object_mut()) {
                fields.insert("parentSpanId".into(), json!(parent));
            }
            span
        })
        .collect();
    json!({ "resourceSpans": [{
        "resource": resource(node),
        "scopeSpans": [{ "scope": scope(), "spans": spans }],
    }]})
}

/// The export of identity and audit events: one log record each (`POST {endpoint}/v1/logs`,
/// scope `candor.events` or `candor.audit`), queued as the calls' batches are ([`QUEUE`]
/// batches at most; a full queue drops, counted) and posted by one task. Only when the
/// export's `logs` signal is on: events are not spans.
#[derive(Debug)]
pub(crate) struct RecordExporter {
    tx: mpsc::Sender<(&'static str, Vec<Value>)>,
    counters: Arc<OtlpCounters>,
    task: tokio::task::JoinHandle<()>,
}

impl RecordExporter {
    pub(crate) fn start(
        settings: OtlpSettings,
        node: Arc<str>,
        counters: Arc<OtlpCounters>,
    ) -> Result<RecordExporter, String> {
        let client = http_client(&settings)?;
        let (tx, mut rx) = mpsc::channel::<(&'static str, Vec<Value>)>(QUEUE);
        let url = format!("{}/v1/logs", settings.endpoint.trim_end_matches('/'));
        let c = counters.clone();
        let task = tokio::spawn(async move {
            let failing = AtomicBool::new(false);
            while let Some((scope_name, records)) = rx.recv().await {
                let n = records.len() as u64;
                let body = json!({ "resourceLogs": [{
                    "resource": resource(&node),
                    "scopeLogs": [{
                        "scope": { "name": scope_name, "version": env!("CARGO_PKG_VERSION") },
                        "logRecords": records,
                    }],
                }]});
                match post(&client, &url, &body).await {
                    Ok(()) => {
                        c.exported.fetch_add(n, Ordering::Relaxed);
                        if failing.swap(false, Ordering::Relaxed) {
                            tracing::info!("the OTLP collector takes events again");
                        }
                    }
                    Err(e) => {
                        c.failed.fetch_add(n, Ordering::Relaxed);
                        if !failing.swap(true, Ordering::Relaxed) {
                            tracing::warn!(url = %url, error = %e, "cannot export events over OTLP; they are dropped until it can");
                        }
                    }
                }
            }
        });
        Ok(RecordExporter { tx, counters, task })
    }

    /// Queues `records` of scope `scope`; never waits.
    pub(crate) fn offer(&self, scope: &'static str, records: Vec<Value>) {
        let n = records.len() as u64;
        if n > 0 && self.tx.try_send((scope, records)).is_err() {
            self.counters.dropped.fetch_add(n, Ordering::Relaxed);
        }
    }

    /// Exports what is queued, waiting at most `wait`.
    pub(crate) async fn close(self, wait: Duration) {
        drop(self.tx);
        if tokio::time::timeout(wait, self.task).await.is_err() {
            tracing::warn!("the OTLP export did not finish in time; its last events are lost");
        }
    }
}

/// The log record of an identity event: `event.name` its kind; a failure (one with a cause)
/// a warning.
pub(crate) fn event_record(e: &crate::events::IdentityEvent) -> Value {
    let cause = e.cause.map(candor_proto::Code::as_str);
    let (number, severity) = if cause.is_some() {
        (13, "WARN")
    } else {
        (9, "INFO")
    };
    let mut attributes = vec![
        text("event.name", e.kind.as_str()),
        text("candor.event.id", &e.uid),
    ];
    for (key, value) in [
        ("candor.client_id", e.client_id.as_deref()),
        ("user.id", e.subject.as_deref()),
        ("candor.diagnosis", cause),
        ("candor.grant", e.grant),
        ("client.address", e.address.as_deref()),
        ("candor.request_id", e.request_id.as_deref()),
        ("candor.detail", e.detail.as_deref()),
    ] {
        if let Some(v) = value {
            attributes.push(text(key, v));
        }
    }
    let body = match cause {
        Some(c) => format!("{} {c}", e.kind.as_str()),
        None => e.kind.as_str().to_string(),
    };
    json!({
        "timeUnixNano": nanos(e.at_us),
        "observedTimeUnixNano": nanos(crate::record::now_us()),
        "severityNumber": number,
        "severityText": severity,
        "body": { "stringValue": body },
        "attributes": attributes,
    })
}

/// The log record of an audit event (a change made through the admin API).
pub(crate) fn audit_record(e: &crate::audit::AuditEvent) -> Value {
    let mut attributes = vec![
        text("event.name", "candor.audit"),
        text("candor.actor", &e.actor),
        text("candor.action", &e.action),
        text("candor.object", &e.object),
        text("candor.changes", &e.changes.to_string()),
    ];
    for (key, value) in [
        ("client.address", e.address.as_deref()),
        ("candor.request_id", e.request_id.as_deref()),
    ] {
        if let Some(v) = value {
            attributes.push(text(key, v));
        }
    }
    json!({
        "timeUnixNano": nanos(e.at_us),
        "observedTimeUnixNano": nanos(crate::record::now_us()),
        "severityNumber": 9,
        "severityText": "INFO",
        "body": { "stringValue": format!("{} {} by {}", e.action, e.object, e.actor) },
        "attributes": attributes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stored(status: u16, diagnosis: Option<&str>) -> StoredCall {
        StoredCall {
            id: 1,
            at_us: 1_800_000_000_123_456,
            node: "gw-1".into(),
            source: "gateway".into(),
            route: "orders".into(),
            method: "GET".into(),
            path: "/orders/7".into(),
            status,
            latency_us: 1_500,
            upstream: Some("http://10.0.0.1:8080".into()),
            bytes_in: Some(0),
            bytes_out: None,
            client_id: Some("web".into()),
            subject: Some("alice".into()),
            scopes: None,
            issuer: None,
            diagnosis: diagnosis.map(Into::into),
            request_id: None,
            trace_id: None,
            span_id: None,
            parent_span_id: None,
        }
    }

    #[test]
    fn a_call_becomes_a_log_record_and_a_server_span() {
        let calls = [stored(200, None), stored(401, Some("token.expired"))];
        let ids: Vec<Ids> = calls.iter().map(Ids::of).collect();
        let l = logs("gw-1", &calls, &ids);
        let rec = &l["resourceLogs"][0]["scopeLogs"][0]["logRecords"];
        assert_eq!(rec[0]["timeUnixNano"], "1800000000123456000");
        assert_eq!(rec[0]["severityText"], "INFO");
        assert_eq!(rec[1]["severityNumber"], 13);
        assert_eq!(
            rec[1]["body"]["stringValue"],
            "GET /orders/7 401 token.expired"
        );
        let attrs = rec[1]["attributes"].as_array().cloned().unwrap_or_default();
        let get = |k: &str| {
            attrs
                .iter()
                .find(|a| a["key"] == k)
                .map(|a| a["value"].clone())
        };
        assert_eq!(
            get("http.response.status_code"),
            Some(json!({"intValue": "401"}))
        );
        assert_eq!(get("user.id"), Some(json!({"stringValue": "alice"})));
        assert_eq!(get("http.response.body.size"), None);
        assert_eq!(
            l["resourceLogs"][0]["resource"]["attributes"][1]["value"]["stringValue"],
            "gw-1"
        );

        let t = traces("gw-1", &calls, &ids);
        let spans = &t["resourceSpans"][0]["scopeSpans"][0]["spans"];
        assert_eq!(spans[0]["kind"], 2);
        assert_eq!(spans[0]["name"], "GET orders");
        assert_eq!(spans[0]["endTimeUnixNano"], "1800000000124956000");
        assert_eq!(
            spans[1]["status"],
            json!({"code": 0, "message": "token.expired"})
        );
        // A log record and the span of the same call share their ids.
        assert_eq!(spans[1]["traceId"], rec[1]["traceId"]);
        let trace = spans[0]["traceId"].as_str().unwrap_or_default();
        let span = spans[0]["spanId"].as_str().unwrap_or_default();
        assert_eq!((trace.len(), span.len()), (32, 16));
        assert!(
            trace
                .bytes()
                .chain(span.bytes())
                .all(|b| b.is_ascii_hexdigit())
        );
        assert_ne!(spans[0]["traceId"], spans[1]["traceId"]);
    }
}
