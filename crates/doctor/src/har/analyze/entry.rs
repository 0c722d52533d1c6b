//! How findings and lines name an entry (its index, method and redacted URL), and what they
//! say when the browser recorded no response or no body for it.

use candor_proto::Code;

use crate::finding::{Finding, Severity, Source};
use crate::har::load::Entry;
use crate::redact;

/// An entry as a finding's source.
pub(super) fn entry_source(e: &Entry) -> Source {
    Source::Entry {
        index: e.index,
        method: e.method.clone(),
        url: short_url(e),
    }
}

/// An entry as the origin of an expected value: method and URL without its query.
pub(super) fn entry_ref(e: &Entry) -> Source {
    Source::Entry {
        index: e.index,
        method: e.method.clone(),
        url: redact::cut(&redact::url(&e.endpoint()), 120),
    }
}

/// The entry's URL, redacted and cut, for findings.
pub(super) fn short_url(e: &Entry) -> String {
    redact::cut(&redact::url(e.url.as_str()), 120)
}

/// The entry as a context line of its group: index, method, URL, status and content type.
pub(super) fn entry_line(e: &Entry) -> String {
    let status = match e.status {
        0 => "no response".to_string(),
        s => {
            let ct = e
                .resp_content_type
                .as_deref()
                .map(|c| format!(" {}", c.split(';').next().unwrap_or(c).trim()))
                .unwrap_or_default();
            format!("{s}{ct}")
        }
    };
    format!(
        "log.entries[{}]  {} {}  -> {}",
        e.index,
        e.method,
        short_url(e),
        status
    )
}

/// A value as findings show it: quoted, and cut at 200 characters.
pub(super) fn quote(s: &str) -> String {
    format!("'{}'", redact::cut(s, 200))
}

/// Unix milliseconds as an RFC 3339 time, for messages.
pub(super) fn iso(ms: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| ms.to_string())
}

/// An entry the browser recorded no response for (status 0).
pub(super) fn no_response(e: &Entry, from_browser: bool) -> Finding {
    let why = e
        .resp_error
        .as_deref()
        .map(|x| format!(" ({x})"))
        .unwrap_or_default();
    let f = if from_browser {
        Finding::new(
            Code::TransportConnect,
            Severity::Error,
            format!(
                "The browser recorded no response{why}: the request was blocked (CORS, mixed content, an extension) or failed before an answer arrived."
            ),
        )
        .fix("For a token request from a single-page app, the provider must allow the app's origin (CORS); otherwise look at the browser console for the reason.")
    } else {
        // A proxy records status 0 when it could not reach the server (mitmproxy writes its
        // own error text in `_error`): the request never arrived.
        Finding::new(
            Code::TransportConnect,
            Severity::Error,
            format!(
                "The proxy recorded no response{why}: the request never reached a server that answered (nothing listens at that address, or the connection was cut)."
            ),
        )
        .fix("Check the URL the client is configured with (host, port, path) against the provider's discovery document, and that the provider is reachable from where the client runs.")
    };
    f.expected("an HTTP response")
        .received("status 0")
        .source(entry_source(e))
}

/// A body the capture left out: a note, as what it held is unknown.
pub(super) fn body_missing(e: &Entry, what: &str) -> Finding {
    Finding::new(
        Code::HarBodyMissing,
        Severity::Info,
        format!("The capture does not include the body of {what} (HTTP {}), so what it held is unknown.", e.status),
    )
    .source(entry_source(e))
}
