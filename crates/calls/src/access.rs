//! The access log: one line per request on the process's log, when an operator turns it on
//! (`[server] access_log`, `[gateway] access_log`). It says what the call log records — never
//! a query string, a header value, a token or a secret: the path without its query, and the
//! client only once it was verified.

use std::time::Duration;

use crate::record::Source;

/// One answered request.
#[derive(Debug, Clone, Copy)]
pub struct Line<'a> {
    pub source: Source,
    /// The route (gateway) or endpoint (server) that took it; `-` for none.
    pub route: &'a str,
    pub method: &'a str,
    /// The path, without the query.
    pub path: &'a str,
    pub status: u16,
    pub elapsed: Duration,
    /// A verified client_id.
    pub client: Option<&'a str>,
    pub diagnosis: Option<&'a str>,
    pub request_id: Option<&'a str>,
}

/// Writes `line` at info level under the target `candor::access` (a log filter can route or
/// silence it on its own).
pub fn log(line: &Line<'_>) {
    tracing::info!(
        target: "candor::access",
        source = line.source.as_str(),
        route = line.route,
        method = line.method,
        path = line.path,
        status = line.status,
        ms = format!("{:.1}", line.elapsed.as_secs_f64() * 1000.0),
        client = line.client.unwrap_or("-"),
        diagnosis = line.diagnosis.unwrap_or("-"),
        request_id = line.request_id.unwrap_or("-"),
        "{} {} {}",
        line.method,
        line.path,
        line.status
    );
}
