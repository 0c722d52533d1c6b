//! The call log from the command line (`candor calls tail|stats`, docs/calls.md), and the
//! call log `serve` and `gateway` write to.

use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use candor_calls::events::webhook::WebhookSettings;
use candor_calls::params::{self, Params};
use candor_calls::{
    CallLog, CallStore, EventLog, EventSettings, Kind, Recorder, StatsRow, StoredCall,
};

use crate::args::{CallsCommand, CallsFilter, Global, OutputFormat};
use crate::config::{self, Resolved};

/// The call log's database URL.
pub(crate) fn database_url(resolved: &Resolved) -> String {
    if let Some(url) = &resolved.file.calls.database {
        return url.clone();
    }
    if resolved.database_url.starts_with("postgres") {
        return resolved.database_url.clone();
    }
    format!("sqlite://{}", resolved.data_dir.join("calls.db").display())
}

fn open_url(resolved: &Resolved) -> Result<String> {
    let url = database_url(resolved);
    if url.starts_with("sqlite:") {
        config::ensure_dir(&resolved.data_dir)?;
    }
    Ok(url)
}

/// Records a change the CLI made on the database itself in the audit log (docs/admin-api.md,
/// "Audit"), as `cli:<the OS user>`; changes through `--admin-url` are recorded by the server.
/// A failure is a warning: the change is made already.
pub(crate) async fn audit(
    resolved: &Resolved,
    action: &str,
    object: &str,
    before: &serde_json::Value,
    after: &serde_json::Value,
) {
    if resolved.file.calls.enabled == Some(false) {
        return;
    }
    let who = std::env::var("USER")
        .ok()
        .filter(|u| !u.is_empty())
        .unwrap_or_else(|| "unknown".into());
    let event = candor_calls::AuditEvent {
        id: 0,
        at_us: now().saturating_mul(1_000_000),
        actor: format!("cli:{who}"),
        action: action.to_string(),
        object: object.to_string(),
        changes: candor_calls::audit::changes(before, after),
        address: None,
        request_id: None,
    };
    let written = match open_url(resolved) {
        Ok(url) => match CallStore::open(&url).await {
            Ok(store) => store
                .record_audit(&event)
                .await
                .map(|_| ())
                .map_err(|e| e.to_string()),
            Err(e) => Err(e.to_string()),
        },
        Err(e) => Err(e.to_string()),
    };
    if let Err(e) = written {
        tracing::warn!(error = %e, action, object, "the change is made, but the audit log cannot record it");
    }
}

/// Records a rotation the CLI made on the database itself as an identity event (`key.rotated`)
/// beside the call log; a running server's webhooks do not see it (they see rotations made
/// through the admin API). A failure is a warning: the rotation is made already.
pub(crate) async fn key_rotated(resolved: &Resolved, rotation: &candor_server::keys::Rotation) {
    if resolved.file.calls.enabled == Some(false) {
        return;
    }
    let mut event = candor_calls::IdentityEvent::new(Kind::KeyRotated);
    event.detail = Some(candor_server::events::rotation_detail(rotation));
    let node = resolved
        .file
        .calls
        .node
        .clone()
        .unwrap_or_else(candor_calls::recorder::node_name);
    let written = match open_url(resolved) {
        Ok(url) => match CallStore::open(&url).await {
            Ok(store) => store
                .write_events(&node, &[event])
                .await
                .map_err(|e| e.to_string()),
            Err(e) => Err(e.to_string()),
        },
        Err(e) => Err(e.to_string()),
    };
    if let Err(e) = written {
        tracing::warn!(error = %e, "the key is rotated, but its identity event cannot be recorded");
    }
}

/// Opens the call log of `resolved` and starts its recorder, unless `[calls] enabled = false`.
pub(crate) async fn start(resolved: &Resolved) -> Result<Option<Arc<CallLog>>> {
    let c = &resolved.file.calls;
    if c.enabled == Some(false) {
        return Ok(None);
    }
    let url = open_url(resolved)?;
    let store = CallStore::open(&url).await.with_context(|| {
        format!(
            "cannot open the call log at {}",
            candor_proto::secret::redact_url(&url)
        )
    })?;
    let mut settings = candor_calls::Settings::default();
    if let Some(r) = &c.retention {
        settings.retention = humantime::parse_duration(r).with_context(|| {
            format!("[calls] retention = '{r}' is not a duration (e.g. \"14d\")")
        })?;
        if settings.retention < Duration::from_secs(3600) {
            bail!("[calls] retention must be at least 1h");
        }
    }
    if let Some(q) = c.queue {
        if q == 0 {
            bail!("[calls] queue must be at least 1");
        }
        settings.queue = q;
    }
    if let Some(b) = c.batch {
        if b == 0 || b > 50_000 {
            bail!("[calls] batch must be between 1 and 50000");
        }
        settings.batch = b;
    }
    if let Some(n) = &c.node {
        settings.node = Arc::from(n.as_str());
    }
    if let Some(o) = &c.otlp {
        settings.otlp = Some(otlp_settings(o)?);
    }
    tracing::info!(
        database = %candor_proto::secret::redact_url(&url),
        retention = ?settings.retention,
        otlp = settings.otlp.as_ref().map(|o| candor_proto::secret::redact_url(&o.endpoint)),
        "call log on"
    );
    let recorder = Recorder::start(store, settings);
    Ok(Some(Arc::new(CallLog::new(recorder))))
}

/// Starts the identity events' log (docs/admin-api.md, "Identity events"): stored in the
/// call log when it is on, exported over OTLP with it, and delivered to `[[webhooks]]`.
/// `None` when there is nowhere to send them.
pub(crate) async fn start_events(
    resolved: &Resolved,
    calls: Option<&Arc<CallLog>>,
) -> Result<Option<Arc<EventLog>>> {
    let webhooks = webhooks(&resolved.file.webhooks)?;
    if calls.is_none() && webhooks.is_empty() {
        return Ok(None);
    }
    let c = &resolved.file.calls;
    let mut settings = EventSettings {
        webhooks,
        ..EventSettings::default()
    };
    if let Some(r) = &c.retention {
        settings.retention = humantime::parse_duration(r)
            .with_context(|| format!("[calls] retention = '{r}' is not a duration"))?;
    }
    if let Some(n) = &c.node {
        settings.node = Arc::from(n.as_str());
    }
    if calls.is_some()
        && let Some(o) = &c.otlp
    {
        settings.otlp = Some(otlp_settings(o)?);
    }
    for w in &settings.webhooks {
        tracing::info!(webhook = %w.name, kinds = w.kinds.len(), "webhook on");
    }
    let store = calls.map(|l| l.recorder.store().clone());
    EventLog::start(store, settings)
        .map(Some)
        .map_err(|e| anyhow::anyhow!(e))
}

/// `[[webhooks]]`, checked: each names a URL, a secret and at least one known kind.
pub(crate) fn webhooks(sections: &[config::WebhookSection]) -> Result<Vec<WebhookSettings>> {
    let mut out: Vec<WebhookSettings> = Vec::new();
    for (i, w) in sections.iter().enumerate() {
        let key = format!("webhooks[{i}]");
        let url = url::Url::parse(&w.url).with_context(|| format!("{key}.url is not a URL"))?;
        let secure = url.scheme() == "https"
            || (url.scheme() == "http" && candor_proto::loopback::is_loopback_url(&url));
        if !secure || url.fragment().is_some() {
            bail!("{key}.url: expected https (or http to this machine), without a fragment");
        }
        let name = w
            .name
            .clone()
            .or_else(|| url.host_str().map(str::to_string))
            .unwrap_or_else(|| format!("webhook-{i}"));
        if out.iter().any(|o| o.name == name) {
            bail!("{key}.name: '{name}' is the name of another webhook; give each its own");
        }
        let secret = match (&w.secret, &w.secret_file) {
            (Some(s), None) => match s.strip_prefix("env:") {
                Some(var) => std::env::var(var).with_context(|| {
                    format!("{key}.secret = 'env:{var}': the variable is not set")
                })?,
                None => s.clone(),
            },
            (None, Some(path)) => std::fs::read_to_string(path)
                .with_context(|| format!("{key}.secret_file: cannot read {}", path.display()))?,
            _ => bail!("{key}: give one of secret and secret_file"),
        };
        let key_bytes = candor_calls::events::webhook::secret_key(&secret)
            .map_err(|why| anyhow::anyhow!("{key}.secret: {why}"))?;
        let mut kinds = Vec::new();
        for k in &w.kinds {
            if k == "*" {
                kinds = Kind::ALL.to_vec();
                break;
            }
            let kind = Kind::parse(k).with_context(|| {
                format!(
                    "{key}.kinds: '{k}' is not an event kind; known: {}",
                    Kind::list()
                )
            })?;
            if !kinds.contains(&kind) {
                kinds.push(kind);
            }
        }
        if kinds.is_empty() {
            bail!(
                "{key}.kinds: name at least one event kind (\"*\" for all): {}",
                Kind::list()
            );
        }
        let duration =
            |value: &Option<String>, name: &str, default: Duration| -> Result<Duration> {
                match value {
                    Some(v) => humantime::parse_duration(v)
                        .with_context(|| format!("{key}.{name} = '{v}' is not a duration")),
                    None => Ok(default),
                }
            };
        let attempts = w.attempts.unwrap_or(8);
        if !(1..=20).contains(&attempts) {
            bail!("{key}.attempts: expected 1 to 20");
        }
        let queue = w.queue.unwrap_or(1000);
        if !(1..=100_000).contains(&queue) {
            bail!("{key}.queue: expected 1 to 100000");
        }
        out.push(WebhookSettings {
            name,
            url: url.to_string(),
            key: key_bytes,
            kinds,
            timeout: duration(&w.timeout, "timeout", Duration::from_secs(10))?,
            attempts,
            backoff: duration(&w.backoff, "backoff", Duration::from_secs(1))?,
            queue,
        });
    }
    Ok(out)
}

/// `[calls.otlp]`, checked.
fn otlp_settings(o: &config::OtlpSection) -> Result<candor_calls::OtlpSettings> {
    let endpoint = url::Url::parse(&o.endpoint).with_context(|| {
        format!(
            "[calls.otlp] endpoint = '{}' is not a URL (e.g. \"http://127.0.0.1:4318\")",
            o.endpoint
        )
    })?;
    if !matches!(endpoint.scheme(), "http" | "https")
        || endpoint.query().is_some()
        || endpoint.fragment().is_some()
    {
        bail!(
            "[calls.otlp] endpoint = '{}': expected an http(s) base URL without query, to which /v1/logs and /v1/traces are appended",
            candor_proto::secret::redact_url(&o.endpoint)
        );
    }
    let mut headers = Vec::new();
    for (name, value) in &o.headers {
        // A secret is better kept out of the file: "env:NAME" reads it from the environment.
        let value = match value.strip_prefix("env:") {
            Some(var) => std::env::var(var).with_context(|| {
                format!("[calls.otlp] headers.{name} = 'env:{var}': the variable is not set")
            })?,
            None => value.clone(),
        };
        headers.push((name.clone(), value));
    }
    let timeout = match &o.timeout {
        Some(t) => humantime::parse_duration(t)
            .with_context(|| format!("[calls.otlp] timeout = '{t}' is not a duration"))?,
        None => Duration::from_secs(10),
    };
    let (logs, traces) = (o.logs.unwrap_or(true), o.traces.unwrap_or(true));
    if !logs && !traces {
        bail!("[calls.otlp] logs and traces are both false: remove the section instead");
    }
    Ok(candor_calls::OtlpSettings {
        endpoint: endpoint.as_str().to_string(),
        headers,
        logs,
        traces,
        timeout,
    })
}

fn filter_params(f: &CallsFilter) -> Params {
    let mut p = Params::new();
    let mut put = |k: &str, v: &Option<String>| {
        if let Some(v) = v {
            p.push((k.to_string(), v.clone()));
        }
    };
    put("client", &f.client);
    put("route", &f.route);
    put("diagnosis", &f.diagnosis);
    put("status", &f.status);
    put("upstream", &f.upstream);
    put("source", &f.source);
    if f.refused {
        p.push(("refused".into(), "true".into()));
    }
    p
}

fn now() -> i64 {
    candor_calls::record::now_us() / 1_000_000
}

pub(crate) async fn run(global: &Global, command: CallsCommand) -> Result<()> {
    let resolved = config::load(global)?;
    let url = database_url(&resolved);
    let store = CallStore::open(&url).await.with_context(|| {
        format!(
            "cannot open the call log at {}",
            candor_proto::secret::redact_url(&url)
        )
    })?;
    match command {
        CallsCommand::Tail(a) => {
            let mut p = filter_params(&a.filter);
            if let Some(s) = &a.since {
                p.push(("since".into(), s.clone()));
            }
            p.push(("limit".into(), a.limit.to_string()));
            let q = params::tail_query(&p, now()).map_err(|e| anyhow::anyhow!("{e}"))?;
            let since = q.since.map(|s| s * 1_000_000);
            let mut calls = store.tail(&q.filter, since, None, q.limit).await?;
            // Printed by time; followed by id, from the largest seen.
            let mut after = calls.iter().map(|c| c.id).max().unwrap_or(0);
            print_calls(&calls, a.format)?;
            if !a.follow {
                return Ok(());
            }
            // Until interrupted (Ctrl-C ends the process).
            loop {
                tokio::time::sleep(Duration::from_secs(1)).await;
                calls = store.tail(&q.filter, since, Some(after), 1000).await?;
                after = calls.iter().map(|c| c.id).max().unwrap_or(after);
                print_calls(&calls, a.format)?;
            }
        }
        CallsCommand::Stats(a) => {
            let mut p = filter_params(&a.filter);
            p.push(("since".into(), a.since.clone()));
            if let Some(u) = &a.until {
                p.push(("until".into(), u.clone()));
            }
            if !a.by.is_empty() {
                p.push(("by".into(), a.by.join(",")));
            }
            if let Some(i) = &a.interval {
                p.push(("interval".into(), i.clone()));
            }
            if let Some(l) = a.limit {
                p.push(("limit".into(), l.to_string()));
            }
            let q = params::stats_query(&p, now()).map_err(|e| anyhow::anyhow!("{e}"))?;
            let rows = store.stats(&q).await?;
            let text = match a.format {
                OutputFormat::Json => format!(
                    "{}\n",
                    serde_json::to_string_pretty(&serde_json::json!({
                        "since": q.since, "until": q.until, "by": q.by, "rows": rows
                    }))?
                ),
                OutputFormat::Table => stats_table(&q.by, q.interval.is_some(), &rows),
            };
            Ok(crate::output::stdout(&text)?)
        }
    }
}

fn time(at_s: i64) -> String {
    std::time::UNIX_EPOCH
        .checked_add(Duration::from_secs(u64::try_from(at_s).unwrap_or(0)))
        .map(|t| humantime::format_rfc3339_seconds(t).to_string())
        .unwrap_or_default()
}

fn print_calls(calls: &[StoredCall], format: OutputFormat) -> Result<()> {
    let mut out = String::new();
    for c in calls {
        match format {
            OutputFormat::Json => {
                out.push_str(&serde_json::to_string(c)?);
                out.push('\n');
            }
            OutputFormat::Table => {
                let at = std::time::UNIX_EPOCH
                    .checked_add(Duration::from_micros(u64::try_from(c.at_us).unwrap_or(0)))
                    .map(|t| humantime::format_rfc3339_millis(t).to_string())
                    .unwrap_or_default();
                out.push_str(&format!(
                    "{at}  {:<7} {:<10} {:<6} {:<28} {:>3} {:>9.3}ms  client={} sub={} {}\n",
                    c.source,
                    c.route,
                    c.method,
                    c.path,
                    c.status,
                    c.latency_us as f64 / 1000.0,
                    c.client_id.as_deref().unwrap_or("-"),
                    c.subject.as_deref().unwrap_or("-"),
                    c.diagnosis.as_deref().unwrap_or(""),
                ));
            }
        }
    }
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(out.as_bytes())?;
    stdout.flush()?;
    Ok(())
}

/// The stats as an aligned text table.
fn stats_table(by: &[candor_calls::Dimension], bucketed: bool, rows: &[StatsRow]) -> String {
    let mut header: Vec<String> = Vec::new();
    if bucketed {
        header.push("bucket".into());
    }
    header.extend(by.iter().map(|d| d.name().to_string()));
    header.extend(
        [
            "calls", "errors", "err%", "p50 ms", "p95 ms", "p99 ms", "max ms",
        ]
        .map(String::from),
    );
    let mut table: Vec<Vec<String>> = vec![header];
    for r in rows {
        let mut line = Vec::new();
        if bucketed {
            line.push(r.bucket.map(time).unwrap_or_default());
        }
        for d in by {
            line.push(match r.group.get(d.name()) {
                Some(serde_json::Value::String(s)) => s.clone(),
                Some(serde_json::Value::Null) | None => "-".into(),
                Some(v) => v.to_string(),
            });
        }
        line.push(r.calls.to_string());
        line.push(r.errors.to_string());
        line.push(format!("{:.1}", r.error_rate * 100.0));
        for v in [
            r.latency.p50_ms,
            r.latency.p95_ms,
            r.latency.p99_ms,
            r.latency.max_ms,
        ] {
            line.push(format!("{v:.3}"));
        }
        table.push(line);
    }
    if rows.is_empty() {
        return "no calls in this range\n".into();
    }
    let columns = table.first().map_or(0, Vec::len);
    let widths: Vec<usize> = (0..columns)
        .map(|i| {
            table
                .iter()
                .map(|l| l.get(i).map_or(0, |c| c.chars().count()))
                .max()
                .unwrap_or(0)
        })
        .collect();
    let textual = by.len() + usize::from(bucketed);
    let mut out = String::new();
    for line in &table {
        let cells: Vec<String> = line
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let w = widths.get(i).copied().unwrap_or(0);
                if i < textual {
                    format!("{c:<w$}")
                } else {
                    format!("{c:>w$}")
                }
            })
            .collect();
        out.push_str(cells.join("  ").trim_end());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(toml_text: &str) -> Result<Vec<WebhookSettings>> {
        let file: config::FileConfig = toml::from_str(toml_text)?;
        webhooks(&file.webhooks)
    }

    const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

    #[test]
    fn webhooks_are_checked_with_the_key_named() {
        let ok = parse(&format!(
            "[[webhooks]]\nurl = \"https://hooks.example/c\"\nsecret = \"{SECRET}\"\n\
             kinds = [\"signin.failed\", \"signin.failed\"]\n\
             [[webhooks]]\nname = \"all\"\nurl = \"http://127.0.0.1:9/h\"\n\
             secret = \"{SECRET}\"\nkinds = [\"*\"]\nbackoff = \"50ms\"\n"
        ))
        .unwrap_or_default();
        assert_eq!(ok.len(), 2);
        assert_eq!(ok[0].name, "hooks.example", "named after the host");
        assert_eq!(ok[0].kinds, [Kind::SigninFailed]);
        assert_eq!((ok[0].attempts, ok[0].queue), (8, 1000));
        assert_eq!(ok[1].kinds.len(), Kind::ALL.len());
        assert_eq!(ok[1].backoff, Duration::from_millis(50));
        for (body, names) in [
            ("url = \"http://hooks.example/c\"", "webhooks[0].url"),
            (
                "url = \"https://h.example\"\nkinds = [\"signin.maybe\"]",
                "webhooks[0].kinds",
            ),
            (
                "url = \"https://h.example\"\nkinds = []",
                "webhooks[0].kinds",
            ),
            (
                "url = \"https://h.example\"\nkinds = [\"*\"]\nattempts = 0",
                "webhooks[0].attempts",
            ),
        ] {
            let text = format!("[[webhooks]]\nsecret = \"{SECRET}\"\n{body}\n");
            let err = parse(&text)
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default();
            assert!(err.contains(names), "{body}: {err}");
        }
        let err = parse("[[webhooks]]\nurl = \"https://h.example\"\nsecret = \"hunter2-hunter2\"\nkinds = [\"*\"]\n")
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            err.contains("webhooks[0].secret") && !err.contains("hunter2"),
            "{err}"
        );
    }
}
