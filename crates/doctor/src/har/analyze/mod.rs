//! Finding OAuth flows in a capture and checking them.
//!
//! Entries are classified by role ([`classify`]), then correlated into flows ([`correlate`]):
//! a callback joins the authorization request whose `state` it echoes (or, failing that,
//! whose `redirect_uri` it lands on), a token request joins the callback whose `code` it
//! redeems, a refresh joins the flow that issued its refresh token, and a userinfo call the
//! flow that issued its access token. Each check then reports what it expected, what it
//! received, and from which entry: the provider's metadata ([`provider`]), the capture as a
//! whole ([`whole_capture`]), and per flow ([`flow`]) the front channel ([`front_channel`]),
//! the token exchange ([`token`], [`client_auth`]), the id_token ([`id_token`]) and userinfo
//! calls ([`userinfo`]).

mod classify;
mod client_auth;
mod correlate;
mod entry;
mod flow;
mod front_channel;
mod id_token;
mod params;
mod provider;
mod sender;
mod token;
mod userinfo;
mod whole_capture;

use candor_client::id_token::ParsedJwks;

use self::classify::Known;
use self::entry::iso;
use crate::finding::{Group, Report};
use crate::har::load::Capture;

/// How the analysis behaves.
#[derive(Debug, Clone)]
pub struct Options {
    /// Seconds of clock difference tolerated in time checks.
    pub leeway: i64,
}

impl Default for Options {
    fn default() -> Self {
        Options { leeway: 60 }
    }
}

/// What the checks share: the capture and options, what its discovery documents name,
/// whether it is sanitized, and its JWKS responses.
struct Analysis<'a> {
    capture: &'a Capture,
    opts: &'a Options,
    known: Known,
    sanitized: bool,
    /// Parsed JWKS entries (index → keys).
    jwks: Vec<(usize, ParsedJwks)>,
}

/// Analyses a capture.
pub fn analyze(capture: &Capture, opts: &Options, subject: &str) -> Report {
    let mut a = Analysis {
        capture,
        opts,
        known: Known::default(),
        sanitized: false,
        jwks: Vec::new(),
    };
    // Discovery first: the endpoints it names tell the roles of the other entries.
    let mut provider = Group::new("Provider metadata");
    a.discovery(&mut provider);
    let roles = classify::roles(capture, &a.known);
    a.jwks_entries(&roles, &mut provider);
    let authzs = correlate::authorization_requests(capture, &roles);
    let callbacks = correlate::callbacks(capture, &roles, &authzs);
    a.sanitized = whole_capture::looks_sanitized(capture, &authzs);
    let global = a.check_capture(&roles, &callbacks);
    let correlation = correlate::flows(capture, &roles, &authzs, &callbacks);
    let flows = a.check_flows(&correlation);

    let mut report = Report {
        subject: subject.to_string(),
        summary: vec![capture_line(capture)],
        ..Report::default()
    };
    if !provider.lines.is_empty() || !provider.findings.is_empty() {
        report.groups.push(provider);
    }
    report.groups.extend(flows);
    if !global.findings.is_empty() || !global.lines.is_empty() {
        report.groups.push(global);
    }
    let nflows = correlation.flows.len();
    report.summary.push(format!(
        "{} OAuth flow{} found",
        nflows,
        if nflows == 1 { "" } else { "s" }
    ));
    report
}

/// What the capture is: its size, format, browser and time span.
fn capture_line(capture: &Capture) -> String {
    let first_ms = capture.entries.iter().map(|e| e.started_ms).min();
    let last_ms = capture.entries.iter().map(|e| e.finished_ms()).max();
    format!(
        "{} entries, HAR {} written by {}{}",
        capture.entries.len(),
        capture.version,
        capture.creator,
        match (first_ms, last_ms) {
            (Some(a), Some(b)) => format!(", {} to {}", iso(a), iso(b)),
            _ => String::new(),
        }
    )
}
