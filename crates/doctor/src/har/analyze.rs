//! Finding OAuth flows in a capture and checking them.
//!
//! Entries are classified by role (discovery, JWKS, authorization request, callback, token
//! request, userinfo), then correlated into flows: a callback joins the authorization request
//! whose `state` it echoes (or, failing that, whose `redirect_uri` it lands on), a token
//! request joins the callback whose `code` it redeems, a refresh joins the flow that issued
//! its refresh token, and a userinfo call the flow that issued its access token. Each check
//! then reports what it expected, what it received, and from which entry.

use std::collections::{BTreeMap, HashMap, HashSet};

use candor_client::discovery::{MetadataKind, validate_metadata};
use candor_client::error::ErrorKind;
use candor_client::http::is_insecure_http;
use candor_client::id_token::{self, Expectations, IdTokenError, ParsedJwks};
use candor_client::response::{
    TokenResponse, classify_json_body, classify_token_response, error_object, html_title,
};
use candor_proto::Code;
use candor_proto::form::{BodyKind, body_kind};
use candor_proto::jose::JwkSet;
use candor_proto::secret::hint;
use serde_json::Value;

use super::load::{Body, Capture, Entry, endpoint_of};
use crate::explain::{self, finding_from_kind, server_code_in};
use crate::finding::{Finding, Group, Report, Severity, Source};
use crate::id_token::{Checks, Keys, Part, Signature, Unverifiable};
use crate::prose::capitalise;
use crate::redact;

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

/// An entry as a finding's source.
pub fn entry_source(e: &Entry) -> Source {
    Source::Entry {
        index: e.index,
        method: e.method.clone(),
        url: short_url(e),
    }
}

/// An entry as the origin of an expected value: method and URL without its query.
pub fn entry_ref(e: &Entry) -> Source {
    Source::Entry {
        index: e.index,
        method: e.method.clone(),
        url: redact::cut(&redact::url(&e.endpoint()), 120),
    }
}

fn short_url(e: &Entry) -> String {
    redact::cut(&redact::url(e.url.as_str()), 120)
}

fn entry_line(e: &Entry) -> String {
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

fn first<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(n, v)| n == name && !v.is_empty())
        .map(|(_, v)| v.as_str())
}

fn has(params: &[(String, String)], name: &str) -> bool {
    params.iter().any(|(n, _)| n == name)
}

fn parse_form(text: &str) -> Vec<(String, String)> {
    form_urlencoded::parse(text.trim().as_bytes())
        .map(|(n, v)| (n.into_owned(), v.into_owned()))
        .collect()
}

fn quote(s: &str) -> String {
    format!("'{}'", redact::cut(s, 200))
}

/// The parameters of a request body and how it was encoded.
fn body_params(e: &Entry) -> (BodyKind, Vec<(String, String)>) {
    let kind = body_kind(e.req_content_type.as_deref());
    let Some(text) = e.req_body.text() else {
        return (kind, Vec::new());
    };
    let trimmed = text.trim();
    if kind == BodyKind::Json || trimmed.starts_with('{') {
        if let Ok(Value::Object(map)) = serde_json::from_str::<Value>(trimmed) {
            let params = map
                .into_iter()
                .map(|(k, v)| {
                    let v = match v {
                        Value::String(s) => s,
                        other => other.to_string(),
                    };
                    (k, v)
                })
                .collect();
            return (kind, params);
        }
        return (kind, Vec::new());
    }
    (kind, parse_form(trimmed))
}

/// What a role a capture's entry plays.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Discovery,
    Jwks,
    Authorize,
    Token,
    Userinfo,
    Other,
}

/// Endpoints the capture's discovery documents name.
#[derive(Debug, Default)]
struct Known {
    issuers: Vec<String>,
    authorization: HashSet<String>,
    token: HashSet<String>,
    userinfo: HashSet<String>,
    jwks: HashSet<String>,
    /// Algorithms the discovery documents advertise.
    algs: Vec<String>,
}

fn norm_endpoint(raw: &str) -> Option<String> {
    url::Url::parse(raw).ok().map(|u| endpoint_of(&u))
}

fn is_discovery(e: &Entry) -> bool {
    let p = e.url.path();
    p.ends_with("/.well-known/openid-configuration")
        || p.contains("/.well-known/oauth-authorization-server")
}

fn json_body(e: &Entry) -> Option<Value> {
    e.resp_body
        .text()
        .and_then(|t| serde_json::from_str::<Value>(t.trim()).ok())
}

fn role(e: &Entry, known: &Known) -> Role {
    let ep = e.endpoint();
    if is_discovery(e) {
        return Role::Discovery;
    }
    if known.jwks.contains(&ep) {
        return Role::Jwks;
    }
    let query = e.query();
    let (_, body) = body_params(e);
    if known.token.contains(&ep)
        || (e.method == "POST" && has(&body, "grant_type"))
        || (e.url.path().ends_with("/token") && has(&query, "grant_type"))
    {
        return Role::Token;
    }
    if known.userinfo.contains(&ep) || e.url.path().ends_with("/userinfo") {
        return Role::Userinfo;
    }
    let is_login_post = e.method == "POST" && has(&body, "password");
    if !is_login_post
        && ((has(&query, "client_id")
            && (has(&query, "response_type") || has(&query, "request_uri")))
            || (known.authorization.contains(&ep) && e.method == "GET" && has(&query, "client_id"))
            || (e.method == "POST" && has(&body, "response_type") && has(&body, "client_id")))
    {
        return Role::Authorize;
    }
    let p = e.url.path();
    if (p.ends_with("/jwks")
        || p.ends_with("/jwks.json")
        || p.ends_with("/certs")
        || p.ends_with("/keys"))
        && json_body(e).is_some_and(|v| v.get("keys").is_some_and(Value::is_array))
    {
        return Role::Jwks;
    }
    Role::Other
}

/// An authorization request.
#[derive(Debug, Clone)]
struct Authz {
    entry: usize,
    params: Vec<(String, String)>,
}

impl Authz {
    fn get(&self, n: &str) -> Option<&str> {
        first(&self.params, n)
    }
}

/// A callback: a request to the redirect URI, or a redirect pointing at it.
#[derive(Debug, Clone)]
struct Callback {
    entry: usize,
    /// Seen only as the Location of entry `entry`, not as a request of its own.
    via_location: bool,
    base: String,
    url: String,
    params: Vec<(String, String)>,
    started_ms: i64,
}

impl Callback {
    fn get(&self, n: &str) -> Option<&str> {
        first(&self.params, n)
    }
}

/// What a successful token response issued.
#[derive(Debug, Clone)]
struct Issued {
    response: TokenResponse,
}

#[derive(Debug, Default)]
struct Flow {
    authz: Option<Authz>,
    callbacks: Vec<Callback>,
    tokens: Vec<usize>,
    userinfo: Vec<usize>,
    /// Time of the first entry, for ordering.
    first_ms: i64,
}

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
    let mut report = Report {
        subject: subject.to_string(),
        ..Report::default()
    };
    let first_ms = capture.entries.iter().map(|e| e.started_ms).min();
    let last_ms = capture.entries.iter().map(|e| e.finished_ms()).max();
    report.summary.push(format!(
        "{} entries, HAR {} written by {}{}",
        capture.entries.len(),
        capture.version,
        capture.creator,
        match (first_ms, last_ms) {
            (Some(a), Some(b)) => format!(", {} to {}", iso(a), iso(b)),
            _ => String::new(),
        }
    ));

    let mut a = Analysis {
        capture,
        opts,
        known: Known::default(),
        sanitized: false,
        jwks: Vec::new(),
    };
    let mut provider = Group::new("Provider metadata");
    a.discovery(&mut provider);

    let roles: Vec<(usize, Role)> = capture
        .entries
        .iter()
        .enumerate()
        .map(|(pos, e)| (pos, role(e, &a.known)))
        .collect();
    a.jwks_entries(&roles, &mut provider);

    let authzs: Vec<Authz> = roles
        .iter()
        .filter(|(_, r)| *r == Role::Authorize)
        .filter_map(|(pos, _)| capture.entries.get(*pos))
        .map(|e| {
            let mut params = e.query();
            if e.method == "POST" {
                params.extend(body_params(e).1);
            }
            Authz {
                entry: e.index,
                params,
            }
        })
        .collect();
    let callbacks = a.find_callbacks(&roles, &authzs);
    let any_oauth = roles.iter().any(|(_, r)| *r != Role::Other) || !callbacks.is_empty();
    a.sanitized =
        !capture.credential_headers_seen && (capture.cookie_arrays_seen || !authzs.is_empty());

    let mut global = Group::new("Capture");
    if a.sanitized {
        let why = if capture.cookie_arrays_seen {
            "the entries list cookies, but no request or response carries a Cookie, Set-Cookie or Authorization header"
        } else {
            "the capture holds a browser login, yet no request or response carries a Cookie, Set-Cookie or Authorization header"
        };
        global.findings.push(
            Finding::new(
                Code::HarSanitized,
                Severity::Info,
                format!(
                    "This capture looks sanitized: {why}. Checks that need those headers (client authentication with a Basic header, bearer tokens at userinfo, session cookies) report 'unknown'."
                ),
            )
            .expected("Authorization, Cookie and Set-Cookie headers as sent")
            .received("none in any entry"),
        );
    }
    if !any_oauth {
        global.findings.push(Finding::new(
            Code::HarNoFlow,
            Severity::Info,
            "No OAuth or OpenID Connect traffic was found: no discovery, authorization, callback, token, userinfo or JWKS request.",
        ));
    }
    a.clock_skew(&roles, &mut global);
    a.insecure_endpoints(&roles, &callbacks, &mut global);

    // Flows.
    let mut flows: Vec<Flow> = authzs
        .iter()
        .map(|z| Flow {
            first_ms: capture.entry(z.entry).map(|e| e.started_ms).unwrap_or(0),
            authz: Some(z.clone()),
            ..Flow::default()
        })
        .collect();
    let mut cb_problems: Vec<(usize, Finding)> = Vec::new();
    for cb in &callbacks {
        let (flow_idx, problem) = a.assign_callback(cb, &flows);
        match flow_idx {
            Some(i) => {
                if let Some(f) = flows.get_mut(i) {
                    f.callbacks.push(cb.clone());
                }
                if let Some(p) = problem {
                    cb_problems.push((i, p));
                }
            }
            None => flows.push(Flow {
                first_ms: cb.started_ms,
                callbacks: vec![cb.clone()],
                ..Flow::default()
            }),
        }
    }
    let token_positions: Vec<usize> = roles
        .iter()
        .filter(|(_, r)| *r == Role::Token)
        .map(|(p, _)| *p)
        .collect();
    let mut issued: HashMap<usize, Issued> = HashMap::new();
    let mut code_first: HashMap<String, usize> = HashMap::new();
    let mut refresh_first: HashMap<String, usize> = HashMap::new();
    for pos in &token_positions {
        let Some(e) = capture.entries.get(*pos) else {
            continue;
        };
        let (_, params) = body_params(e);
        let mut params = params;
        params.extend(e.query());
        let grant = first(&params, "grant_type").unwrap_or("");
        let flow_idx = match grant {
            "authorization_code" => {
                let code = first(&params, "code");
                code.and_then(|c| {
                    flows
                        .iter()
                        .position(|f| f.callbacks.iter().any(|cb| cb.get("code") == Some(c)))
                })
                .or_else(|| {
                    code.and_then(|c| code_first.get(c))
                        .and_then(|first_entry| {
                            flows.iter().position(|f| f.tokens.contains(first_entry))
                        })
                })
                .or_else(|| {
                    let client = first(&params, "client_id");
                    flows.iter().rposition(|f| {
                        f.first_ms <= e.started_ms
                            && f.tokens.is_empty()
                            && f.authz
                                .as_ref()
                                .is_some_and(|z| client.is_none() || z.get("client_id") == client)
                    })
                })
            }
            "refresh_token" => first(&params, "refresh_token").and_then(|rt| {
                flows.iter().position(|f| {
                    f.tokens.iter().any(|t| {
                        issued.get(t).is_some_and(|i| {
                            i.response.refresh_token.as_ref().map(|s| s.expose()) == Some(rt)
                        })
                    })
                })
            }),
            _ => None,
        };
        let idx = match flow_idx {
            Some(i) => i,
            None => {
                flows.push(Flow {
                    first_ms: e.started_ms,
                    ..Flow::default()
                });
                flows.len() - 1
            }
        };
        if let Some(f) = flows.get_mut(idx) {
            f.tokens.push(e.index);
        }
        if let Some(c) = first(&params, "code") {
            code_first.entry(c.to_string()).or_insert(e.index);
        }
        if grant == "refresh_token"
            && let Some(rt) = first(&params, "refresh_token")
        {
            refresh_first.entry(rt.to_string()).or_insert(e.index);
        }
        if let Some(resp) = token_success(e) {
            issued.insert(e.index, Issued { response: resp });
        }
    }
    for (pos, r) in &roles {
        if *r != Role::Userinfo {
            continue;
        }
        let Some(e) = capture.entries.get(*pos) else {
            continue;
        };
        let bearer = e
            .req_header("authorization")
            .and_then(|h| {
                h.strip_prefix("Bearer ")
                    .or_else(|| h.strip_prefix("bearer "))
            })
            .map(str::trim);
        let idx = bearer
            .and_then(|b| {
                flows.iter().position(|f| {
                    f.tokens.iter().any(|t| {
                        issued
                            .get(t)
                            .is_some_and(|i| i.response.access_token.expose() == b)
                    })
                })
            })
            .or_else(|| {
                flows.iter().rposition(|f| {
                    f.tokens.iter().any(|t| {
                        issued.contains_key(t)
                            && capture
                                .entry(*t)
                                .is_some_and(|te| te.started_ms <= e.started_ms)
                    })
                })
            });
        match idx {
            Some(i) => {
                if let Some(f) = flows.get_mut(i) {
                    f.userinfo.push(e.index);
                }
            }
            None => flows.push(Flow {
                first_ms: e.started_ms,
                userinfo: vec![e.index],
                ..Flow::default()
            }),
        }
    }

    // Check each flow, in time order.
    let mut order: Vec<usize> = (0..flows.len()).collect();
    order.sort_by_key(|i| flows.get(*i).map(|f| f.first_ms).unwrap_or(0));
    let mut groups = Vec::new();
    let mut seen_codes: HashMap<String, usize> = HashMap::new();
    let mut seen_refresh: HashMap<String, usize> = HashMap::new();
    for (n, i) in order.iter().enumerate() {
        let Some(flow) = flows.get(*i) else {
            continue;
        };
        let mut g = Group::new(String::new());
        for (fi, p) in &cb_problems {
            if fi == i {
                g.findings.push(p.clone());
            }
        }
        a.check_flow(flow, &issued, &mut seen_codes, &mut seen_refresh, &mut g);
        g.title = format!("Flow {}: {}", n + 1, a.flow_title(flow, &issued));
        cross_reference(&mut g.findings);
        dedupe(&mut g.findings);
        // Findings in entry order.
        g.findings.sort_by_key(|f| match &f.source {
            Some(Source::Entry { index, .. }) => {
                capture.entry(*index).map(|e| e.started_ms).unwrap_or(0)
            }
            _ => 0,
        });
        groups.push(g);
    }

    if !provider.lines.is_empty() || !provider.findings.is_empty() {
        report.groups.push(provider);
    }
    report.groups.extend(groups);
    if !global.findings.is_empty() || !global.lines.is_empty() {
        report.groups.push(global);
    }
    let nflows = order.len();
    report.summary.push(format!(
        "{} OAuth flow{} found",
        nflows,
        if nflows == 1 { "" } else { "s" }
    ));
    report
}

fn iso(ms: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| ms.to_string())
}

/// Ties a provider's refusal to the findings that explain it (same entry).
fn cross_reference(findings: &mut [Finding]) {
    let entry = |f: &Finding| match &f.source {
        Some(Source::Entry { index, .. }) => Some(*index),
        _ => None,
    };
    let causes: Vec<(Option<usize>, Code)> = findings
        .iter()
        .filter(|f| f.is_problem() && f.code != Code::ResponseOAuthError)
        .map(|f| (entry(f), f.code))
        .collect();
    for f in findings
        .iter_mut()
        .filter(|f| f.code == Code::ResponseOAuthError)
    {
        let at = entry(f);
        let mine: Vec<String> = causes
            .iter()
            .filter(|(e, _)| e.is_some() && *e == at)
            .map(|(_, c)| c.to_string())
            .collect();
        if !mine.is_empty() {
            f.message.push_str(&format!(
                " The cause, found in this request: {}.",
                mine.join(", ")
            ));
        }
    }
}

/// Folds findings that repeat one another (the same problem in a retried request) into the
/// first, which then names the other entries.
fn dedupe(findings: &mut Vec<Finding>) {
    let mut kept: Vec<Finding> = Vec::new();
    for f in findings.drain(..) {
        let same = kept.iter_mut().find(|k| {
            k.code == f.code
                && k.message == f.message
                && k.expected == f.expected
                && k.received == f.received
        });
        match (same, &f.source) {
            (Some(k), Some(Source::Entry { index, .. })) => {
                k.message
                    .push_str(&format!(" The same at log.entries[{index}]."));
            }
            (Some(_), _) => {}
            (None, _) => kept.push(f),
        }
    }
    *findings = kept;
}

/// A successful token response of an entry, if it has one.
fn token_success(e: &Entry) -> Option<TokenResponse> {
    let body = e.resp_body.bytes()?;
    classify_token_response(
        u16::try_from(e.status).unwrap_or(0),
        e.resp_content_type.as_deref(),
        e.resp_header("location"),
        &body,
    )
    .ok()
}

impl Analysis<'_> {
    fn entries(&self) -> &[Entry] {
        &self.capture.entries
    }

    fn discovery(&mut self, group: &mut Group) {
        for e in self.capture.entries.iter().filter(|e| is_discovery(e)) {
            group.lines.push(format!("discovery  {}", entry_line(e)));
            let src = entry_source(e);
            let path = e.url.path();
            let (kind, expected_issuer) =
                if let Some(prefix) = path.strip_suffix("/.well-known/openid-configuration") {
                    let mut u = e.url.clone();
                    u.set_path(prefix);
                    u.set_query(None);
                    (
                        MetadataKind::OpenId,
                        u.as_str().trim_end_matches('/').to_string(),
                    )
                } else {
                    let rest = path
                        .split("/.well-known/oauth-authorization-server")
                        .nth(1)
                        .unwrap_or("");
                    let mut u = e.url.clone();
                    u.set_path(rest);
                    u.set_query(None);
                    (
                        MetadataKind::OAuth,
                        u.as_str().trim_end_matches('/').to_string(),
                    )
                };
            if e.status == 0 {
                group.findings.push(no_response(e));
                continue;
            }
            if e.status != 200 {
                group.findings.push(
                    finding_from_kind(
                        &ErrorKind::DiscoveryStatus {
                            url: short_url(e),
                            status: u16::try_from(e.status).unwrap_or(0),
                        },
                        Severity::Error,
                    )
                    .source(src),
                );
                continue;
            }
            let Some(body) = e.resp_body.bytes() else {
                group
                    .findings
                    .push(body_missing(e, "the discovery document"));
                continue;
            };
            let doc = match classify_json_body(200, e.resp_content_type.as_deref(), None, &body) {
                Ok(v) => v,
                Err(k) => {
                    group.findings.push(
                        Finding::new(
                            Code::DiscoveryNotJson,
                            Severity::Error,
                            format!("The discovery document is not a JSON object: {k}"),
                        )
                        .expected("a JSON object (application/json)")
                        .maybe_received(k.received())
                        .source(src),
                    );
                    continue;
                }
            };
            // The issuer may legitimately carry a trailing slash; compare with the URL form
            // the document claims when the two differ only by it.
            let stated = doc.get("issuer").and_then(Value::as_str).unwrap_or("");
            let expected = if stated.trim_end_matches('/') == expected_issuer {
                stated.to_string()
            } else {
                expected_issuer.clone()
            };
            let report = validate_metadata(&expected, &doc, kind);
            for p in &report.problems {
                group
                    .findings
                    .push(finding_from_kind(p, Severity::Error).source(src.clone()));
            }
            let m = report.metadata;
            if !m.issuer.is_empty() {
                self.known.issuers.push(m.issuer.clone());
            }
            for (set, v) in [
                (&mut self.known.authorization, &m.authorization_endpoint),
                (&mut self.known.token, &m.token_endpoint),
                (&mut self.known.userinfo, &m.userinfo_endpoint),
                (&mut self.known.jwks, &m.jwks_uri),
            ] {
                if let Some(ep) = v.as_deref().and_then(norm_endpoint) {
                    set.insert(ep);
                }
            }
            self.known
                .algs
                .extend(m.id_token_signing_alg_values_supported.iter().cloned());
            group.lines.push(format!(
                "  issuer {}, token_endpoint {}",
                quote(&m.issuer),
                m.token_endpoint
                    .as_deref()
                    .map(quote)
                    .unwrap_or_else(|| "(none)".into())
            ));
        }
    }

    fn jwks_entries(&mut self, roles: &[(usize, Role)], group: &mut Group) {
        for (pos, r) in roles {
            if *r != Role::Jwks {
                continue;
            }
            let Some(e) = self.capture.entries.get(*pos) else {
                continue;
            };
            group.lines.push(format!("JWKS       {}", entry_line(e)));
            let src = entry_source(e);
            if e.status == 0 {
                group.findings.push(no_response(e));
                continue;
            }
            let Some(body) = e.resp_body.bytes() else {
                group.findings.push(body_missing(e, "the JWKS"));
                continue;
            };
            match id_token::parse_jwks(
                &short_url(e),
                u16::try_from(e.status).unwrap_or(0),
                e.resp_content_type.as_deref(),
                &body,
            ) {
                Ok(parsed) => {
                    for s in &parsed.skipped {
                        group.findings.push(
                            Finding::new(
                                Code::JwksMalformed,
                                Severity::Warning,
                                format!("A key of the JWKS is unusable and was skipped: {s}"),
                            )
                            .source(src.clone()),
                        );
                    }
                    let kids: Vec<String> = parsed
                        .jwks
                        .keys
                        .iter()
                        .map(|k| k.common.key_id.clone().unwrap_or_else(|| "(no kid)".into()))
                        .collect();
                    group.lines.push(format!(
                        "  {} key{}: {}",
                        kids.len(),
                        if kids.len() == 1 { "" } else { "s" },
                        kids.join(", ")
                    ));
                    for alg in &self.known.algs {
                        if let Ok(a) = alg.parse::<jsonwebtoken::Algorithm>()
                            && !matches!(
                                a,
                                jsonwebtoken::Algorithm::HS256
                                    | jsonwebtoken::Algorithm::HS384
                                    | jsonwebtoken::Algorithm::HS512
                            )
                            && !parsed.jwks.keys.iter().any(|k| id_token::key_fits(k, a))
                        {
                            group.findings.push(
                                Finding::new(
                                    Code::JwksAlgMismatch,
                                    Severity::Warning,
                                    format!(
                                        "The discovery document advertises {alg} for id_tokens, but no key in the JWKS can verify {alg}."
                                    ),
                                )
                                .expected(format!("a key that fits {alg}"))
                                .received(format!("keys: {}", kids.join(", ")))
                                .source(src.clone()),
                            );
                        }
                    }
                    self.jwks.push((e.index, parsed));
                }
                Err(k) => group
                    .findings
                    .push(finding_from_kind(&k, Severity::Error).source(src)),
            }
        }
    }

    fn find_callbacks(&self, roles: &[(usize, Role)], authzs: &[Authz]) -> Vec<Callback> {
        let states: HashSet<&str> = authzs.iter().filter_map(|z| z.get("state")).collect();
        let redirects: HashSet<String> = authzs
            .iter()
            .filter_map(|z| z.get("redirect_uri"))
            .map(|r| r.to_string())
            .collect();
        let first_authz_ms = authzs
            .iter()
            .filter_map(|z| self.capture.entry(z.entry))
            .map(|e| e.started_ms)
            .min();
        let is_callback = |base: &str, params: &[(String, String)]| -> bool {
            if !(has(params, "code") || has(params, "error")) || has(params, "grant_type") {
                return false;
            }
            let state_matches = first(params, "state").is_some_and(|s| states.contains(s));
            let lands_on_redirect = redirects.contains(base)
                || redirects.iter().any(|r| {
                    crate::redirect_uri::classify(r, base)
                        .is_some_and(|m| m.code != Code::RedirectUriMismatch)
                });
            state_matches || lands_on_redirect || (has(params, "state") && first_authz_ms.is_some())
        };
        let mut out: Vec<Callback> = Vec::new();
        let mut seen_urls: HashSet<String> = HashSet::new();
        for (pos, r) in roles {
            let Some(e) = self.capture.entries.get(*pos) else {
                continue;
            };
            if *r == Role::Other || *r == Role::Authorize {
                let base = e.endpoint();
                let mut params = e.query();
                if e.method == "POST" && !has(&params, "code") {
                    params = body_params(e).1;
                }
                if *r == Role::Other
                    && first_authz_ms.is_some_and(|t| e.started_ms >= t)
                    && is_callback(&base, &params)
                    && seen_urls.insert(e.url.to_string())
                {
                    out.push(Callback {
                        entry: e.index,
                        via_location: false,
                        base,
                        url: e.url.to_string(),
                        params,
                        started_ms: e.started_ms,
                    });
                }
            }
            if (300..400).contains(&e.status)
                && let Some(loc) = e.location()
            {
                let params: Vec<(String, String)> = loc
                    .query_pairs()
                    .map(|(n, v)| (n.into_owned(), v.into_owned()))
                    .collect();
                let base = endpoint_of(&loc);
                if is_callback(&base, &params) && seen_urls.insert(loc.to_string()) {
                    out.push(Callback {
                        entry: e.index,
                        via_location: true,
                        base,
                        url: loc.to_string(),
                        params,
                        started_ms: e.started_ms,
                    });
                }
            }
        }
        out.sort_by_key(|c| c.started_ms);
        out
    }

    /// Which flow a callback belongs to, and what is wrong with its state.
    fn assign_callback(&self, cb: &Callback, flows: &[Flow]) -> (Option<usize>, Option<Finding>) {
        let before = |f: &Flow| f.first_ms <= cb.started_ms;
        if let Some(state) = cb.get("state")
            && let Some(i) = flows.iter().rposition(|f| {
                before(f)
                    && f.authz
                        .as_ref()
                        .is_some_and(|z| z.get("state") == Some(state))
            })
        {
            return (Some(i), None);
        }
        let lands = |z: &Authz| {
            z.get("redirect_uri").is_none_or(|r| {
                r == cb.base
                    || crate::redirect_uri::classify(r, &cb.base)
                        .is_some_and(|m| m.code != Code::RedirectUriMismatch)
            })
        };
        let idx = flows.iter().rposition(|f| {
            before(f) && f.callbacks.is_empty() && f.authz.as_ref().is_some_and(lands)
        });
        let Some(i) = idx else {
            return (None, None);
        };
        let Some(z) = flows.get(i).and_then(|f| f.authz.as_ref()) else {
            return (Some(i), None);
        };
        let Some(sent) = z.get("state") else {
            return (Some(i), None);
        };
        let src = self.callback_source(cb);
        let authz_src = self.capture.entry(z.entry).map(entry_ref);
        let mut finding = match cb.get("state") {
            None => Finding::new(
                Code::StateMissing,
                Severity::Error,
                "The callback came back without the state the authorization request sent, so the client cannot tie it to its request (CSRF protection fails).",
            )
            .expected(quote(sent))
            .received("no state parameter"),
            Some(got) => Finding::new(
                Code::StateMismatch,
                Severity::Error,
                "The callback's state is not the one the authorization request sent.",
            )
            .expected(quote(sent))
            .received(quote(got)),
        }
        .source(src);
        if let Some(s) = authz_src {
            finding = finding.expected_from(s);
        }
        (Some(i), Some(finding))
    }

    fn callback_source(&self, cb: &Callback) -> Source {
        match self.capture.entry(cb.entry) {
            Some(e) if !cb.via_location => entry_source(e),
            Some(e) => Source::Entry {
                index: e.index,
                method: e.method.clone(),
                url: format!(
                    "{} (its Location: {})",
                    short_url(e),
                    redact::cut(&redact::url(&cb.url), 120)
                ),
            },
            None => Source::Input {
                name: redact::url(&cb.url),
            },
        }
    }

    fn clock_skew(&self, roles: &[(usize, Role)], group: &mut Group) {
        let mut worst: BTreeMap<String, (i64, usize)> = BTreeMap::new();
        for (pos, r) in roles {
            if *r == Role::Other {
                continue;
            }
            let Some(e) = self.entries().get(*pos) else {
                continue;
            };
            let Some(date) = e
                .resp_header("date")
                .and_then(|d| httpdate::parse_http_date(d.trim()).ok())
            else {
                continue;
            };
            let Ok(date) = date.duration_since(std::time::UNIX_EPOCH) else {
                continue;
            };
            let age: i64 = e
                .resp_header("age")
                .and_then(|a| a.trim().parse().ok())
                .unwrap_or(0);
            let server = date.as_secs() as i64 + age;
            let local_start = e.started_ms.div_euclid(1000);
            let local_end = e.finished_ms().div_euclid(1000) + 1;
            let skew = if server < local_start {
                server - local_start
            } else if server > local_end {
                server - local_end
            } else {
                0
            };
            let host = e.url.host_str().unwrap_or("").to_string();
            let cur = worst.entry(host).or_insert((0, e.index));
            if skew.abs() > cur.0.abs() {
                *cur = (skew, e.index);
            }
        }
        for (host, (skew, index)) in worst {
            if skew.abs() <= self.opts.leeway {
                continue;
            }
            let Some(e) = self.capture.entry(index) else {
                continue;
            };
            let dir = if skew > 0 { "ahead of" } else { "behind" };
            group.findings.push(
                Finding::new(
                    Code::ClockSkew,
                    Severity::Warning,
                    format!(
                        "{host}'s clock (its Date header) is {} s {dir} the clock of the machine that made the capture; beyond the {} s leeway, tokens look expired or issued in the future.",
                        skew.abs(),
                        self.opts.leeway
                    ),
                )
                .expected(format!("a Date within {} s of the capture's time {}", self.opts.leeway, iso(e.started_ms)))
                .received(format!("Date: {}", e.resp_header("date").unwrap_or(""))) 
                .source(entry_source(e)),
            );
        }
    }

    fn insecure_endpoints(
        &self,
        roles: &[(usize, Role)],
        callbacks: &[Callback],
        group: &mut Group,
    ) {
        let mut seen = HashSet::new();
        for (pos, r) in roles {
            if *r == Role::Other {
                continue;
            }
            let Some(e) = self.entries().get(*pos) else {
                continue;
            };
            if is_insecure_http(&e.url) && seen.insert(e.endpoint()) {
                let what = match r {
                    Role::Discovery => "discovery document",
                    Role::Jwks => "JWKS",
                    Role::Authorize => "authorization endpoint",
                    Role::Token => "token endpoint",
                    Role::Userinfo => "userinfo endpoint",
                    Role::Other => "endpoint",
                };
                group.findings.push(
                    Finding::new(
                        Code::TransportInsecureHttp,
                        Severity::Error,
                        format!("The {what} is plain http on a host that is not loopback: codes and tokens cross the network unencrypted."),
                    )
                    .expected("https")
                    .received(e.endpoint())
                    .source(entry_source(e)),
                );
            }
        }
        for cb in callbacks {
            if let Ok(u) = url::Url::parse(&cb.url)
                && is_insecure_http(&u)
                && seen.insert(cb.base.clone())
            {
                group.findings.push(
                    Finding::new(
                        Code::TransportInsecureHttp,
                        Severity::Error,
                        "The redirect URI is plain http on a host that is not loopback: the authorization code crosses the network unencrypted.",
                    )
                    .expected("an https redirect URI (or http on 127.0.0.1 / [::1] for native apps)")
                    .received(cb.base.clone())
                    .source(self.callback_source(cb)),
                );
            }
        }
    }

    fn flow_title(&self, flow: &Flow, issued: &HashMap<usize, Issued>) -> String {
        let mut grants: Vec<String> = Vec::new();
        for t in &flow.tokens {
            if let Some(e) = self.capture.entry(*t) {
                let (_, mut p) = body_params(e);
                p.extend(e.query());
                if let Some(g) = first(&p, "grant_type")
                    && !grants.iter().any(|x| x == g)
                {
                    grants.push(g.to_string());
                }
            }
        }
        let kind = if flow.authz.is_some() || !flow.callbacks.is_empty() {
            if grants.is_empty() || grants.iter().any(|g| g == "authorization_code") {
                "authorization code".to_string()
            } else {
                format!("authorization, then {}", grants.join(", "))
            }
        } else if !grants.is_empty() {
            grants.join(", ")
        } else if !flow.userinfo.is_empty() {
            "userinfo call".into()
        } else {
            "requests".into()
        };
        let client = flow
            .authz
            .as_ref()
            .and_then(|z| z.get("client_id").map(str::to_string))
            .or_else(|| {
                flow.tokens
                    .iter()
                    .find_map(|t| self.capture.entry(*t).and_then(token_client_id))
            });
        let _ = issued;
        match client {
            Some(c) => format!("{kind}, client_id {}", quote(&c)),
            None => kind,
        }
    }

    fn check_flow(
        &self,
        flow: &Flow,
        issued: &HashMap<usize, Issued>,
        seen_codes: &mut HashMap<String, usize>,
        seen_refresh: &mut HashMap<String, usize>,
        g: &mut Group,
    ) {
        if let Some(z) = &flow.authz {
            self.check_authorize(z, g);
        }
        for cb in &flow.callbacks {
            self.check_callback(cb, g);
        }
        if flow.authz.is_some() && flow.callbacks.is_empty() {
            g.lines.push(
                "callback: not in the capture (the redirect back to the client was not recorded)"
                    .into(),
            );
        }
        for t in &flow.tokens {
            if let Some(e) = self.capture.entry(*t) {
                self.check_token(e, flow, issued, seen_codes, seen_refresh, g);
            }
        }
        for u in &flow.userinfo {
            if let Some(e) = self.capture.entry(*u) {
                self.check_userinfo(e, g);
            }
        }
    }

    fn check_authorize(&self, z: &Authz, g: &mut Group) {
        let Some(e) = self.capture.entry(z.entry) else {
            return;
        };
        let src = entry_source(e);
        g.lines.push(format!("authorize  {}", entry_line(e)));
        let mut facts = Vec::new();
        for p in ["response_type", "redirect_uri", "scope", "state", "nonce"] {
            if let Some(v) = z.get(p) {
                facts.push(format!("{p} {}", quote(v)));
            }
        }
        match (z.get("code_challenge"), z.get("code_challenge_method")) {
            (Some(_), m) => facts.push(format!("PKCE {}", m.unwrap_or("plain (no method given)"))),
            (None, _) => facts.push("no PKCE".into()),
        }
        g.lines.push(format!("  {}", facts.join(", ")));

        match z.get("response_type") {
            Some("code") | None => {}
            Some(other) => g.findings.push(
                Finding::new(
                    Code::ResponseTypeUnsupported,
                    Severity::Warning,
                    format!("The authorization request uses response_type {}: the implicit and hybrid flows return tokens in the front channel and were removed from OAuth 2.1.", quote(other)),
                )
                .expected("response_type=code (with PKCE)")
                .received(format!("response_type={other}"))
                .source(src.clone()),
            ),
        }
        if z.get("response_type") == Some("code") || z.get("response_type").is_none() {
            match (z.get("code_challenge"), z.get("code_challenge_method")) {
                (None, _) if z.get("request_uri").is_none() => g.findings.push(
                    Finding::new(
                        Code::PkceChallengeMissing,
                        Severity::Warning,
                        "The authorization request has no code_challenge: without PKCE a stolen authorization code can be redeemed by anyone (RFC 9700 section 2.1.1); OAuth 2.1 requires it.",
                    )
                    .expected("code_challenge=BASE64URL(SHA256(code_verifier)) and code_challenge_method=S256")
                    .received("no code_challenge")
                    .source(src.clone()),
                ),
                (Some(_), m) if m.is_none_or(|m| m.eq_ignore_ascii_case("plain")) => g.findings.push(
                    Finding::new(
                        Code::PkcePlainRefused,
                        Severity::Warning,
                        "The authorization request uses the PKCE 'plain' method: the challenge is the verifier itself, which protects nothing against an attacker who sees the request.",
                    )
                    .expected("code_challenge_method=S256")
                    .received(format!("code_challenge_method={}", m.unwrap_or("(absent, which means plain)")))
                    .source(src.clone()),
                ),
                _ => {}
            }
        }
        if let Some(secret) = z.get("client_secret") {
            g.findings.push(
                Finding::new(
                    Code::ClientSecretInBrowser,
                    Severity::Error,
                    "The authorization request carries client_secret in its URL: it is in the browser's history, the provider's logs and every proxy's.",
                )
                .expected("no client_secret in the front channel")
                .received(format!("client_secret {}", hint(secret)))
                .source(src.clone()),
            );
        }
        if e.status >= 400 {
            let body = e.resp_body.text().unwrap_or("");
            let diagnosis = server_code_in(body);
            let title = html_title(body);
            let code = diagnosis.unwrap_or(Code::AuthorizationErrorPage);
            g.findings.push(
                Finding::new(
                    code,
                    Severity::Error,
                    format!(
                        "The authorization endpoint answered {} with an error page{}; the user is stuck there and the client never hears of it.{}",
                        e.status,
                        title.map(|t| format!(" ('{t}')")).unwrap_or_default(),
                        diagnosis
                            .map(|c| format!(" The provider names the cause: {c} ({}).", c.entry().title))
                            .unwrap_or_else(|| " The usual causes are an unknown client_id or a redirect_uri that is not registered.".into())
                    ),
                )
                .expected("a login page, or a redirect to the redirect_uri")
                .received(format!("HTTP {}", e.status))
                .source(src.clone()),
            );
        } else if e.status == 0 {
            g.findings.push(no_response(e));
        }
    }

    fn check_callback(&self, cb: &Callback, g: &mut Group) {
        let src = self.callback_source(cb);
        g.lines.push(format!(
            "callback   {}{}",
            match &src {
                Source::Entry { index, method, .. } if !cb.via_location =>
                    format!("log.entries[{index}]  {method} "),
                Source::Entry { index, .. } => format!("Location of log.entries[{index}]: "),
                _ => String::new(),
            },
            redact::cut(&redact::url(&cb.url), 120)
        ));
        if let Some(err) = cb.get("error") {
            let desc = cb.get("error_description");
            let diag = cb.get("diagnosis").and_then(Code::parse);
            let meaning = candor_client::response::meaning(err);
            let mut message = format!(
                "The authorization server redirected back with error {}",
                quote(err)
            );
            if let Some(d) = desc {
                message.push_str(&format!(" ({})", quote(d)));
            }
            message.push('.');
            if let Some(m) = meaning {
                message.push_str(&format!(" {}: {}.", m.source, m.meaning));
            }
            let mut f = Finding::new(
                diag.unwrap_or(Code::CallbackError),
                Severity::Error,
                message,
            )
            .expected("code and state in the callback")
            .received(format!(
                "error={err}{}",
                desc.map(|d| format!(", error_description={}", quote(d)))
                    .unwrap_or_default()
            ))
            .source(src.clone())
            .provider_docs(cb.get("error_uri").map(str::to_string));
            if diag.is_none()
                && let Some(m) = meaning
            {
                f = f.fix(capitalise(m.fix));
            }
            g.findings.push(f);
        }
        if let Some(iss) = cb.get("iss")
            && !self.known.issuers.is_empty()
            && !self.known.issuers.iter().any(|i| i == iss)
        {
            g.findings.push(
                Finding::new(
                    Code::CallbackIssMismatch,
                    Severity::Error,
                    "The callback's iss (RFC 9207) is not the issuer of the discovery document in this capture.",
                )
                .expected(self.known.issuers.iter().map(|i| quote(i)).collect::<Vec<_>>().join(" or "))
                .received(quote(iss))
                .source(src),
            );
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn check_token(
        &self,
        e: &Entry,
        flow: &Flow,
        issued: &HashMap<usize, Issued>,
        seen_codes: &mut HashMap<String, usize>,
        seen_refresh: &mut HashMap<String, usize>,
        g: &mut Group,
    ) {
        let src = entry_source(e);
        g.lines.push(format!("token      {}", entry_line(e)));
        let (kind, body) = body_params(e);
        let mut params = body.clone();
        params.extend(e.query());

        // How the request was sent.
        if e.method != "POST" {
            g.findings.push(
                Finding::new(
                    Code::TokenRequestNotPost,
                    Severity::Error,
                    format!("The token request is a {}; the token endpoint accepts only POST with a form body (RFC 6749 section 3.2).", e.method),
                )
                .expected("POST")
                .received(e.method.clone())
                .source(src.clone()),
            );
        }
        if e.method == "POST" {
            match (kind, &e.req_body) {
                (_, Body::None) | (_, Body::Empty) => g.findings.push(
                    Finding::new(
                        Code::TokenRequestMissingParameter,
                        Severity::Error,
                        "The token request has no body, so grant_type and the other parameters are missing.",
                    )
                    .expected("a form body with grant_type")
                    .received("no body")
                    .source(src.clone()),
                ),
                (BodyKind::Form, _) => {}
                (BodyKind::Json, _) => g.findings.push(
                    Finding::new(
                        Code::TokenRequestJsonBody,
                        Severity::Error,
                        "The token request body is JSON; OAuth token requests are forms (RFC 6749 section 3.2), and most providers refuse JSON.",
                    )
                    .expected("Content-Type: application/x-www-form-urlencoded")
                    .received(format!("Content-Type: {}", e.req_content_type.as_deref().unwrap_or("")))
                    .source(src.clone()),
                ),
                (BodyKind::Missing, _) => g.findings.push(
                    Finding::new(
                        Code::TokenRequestUnsupportedContentType,
                        Severity::Error,
                        "The token request has a body but no Content-Type header.",
                    )
                    .expected("Content-Type: application/x-www-form-urlencoded")
                    .received("no Content-Type")
                    .source(src.clone()),
                ),
                (BodyKind::Other, _) => g.findings.push(
                    Finding::new(
                        Code::TokenRequestUnsupportedContentType,
                        Severity::Error,
                        "The token request body is not a form.",
                    )
                    .expected("Content-Type: application/x-www-form-urlencoded")
                    .received(format!("Content-Type: {}", e.req_content_type.as_deref().unwrap_or("")))
                    .source(src.clone()),
                ),
            }
        }
        let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
        for (n, _) in &body {
            *counts.entry(n.as_str()).or_default() += 1;
        }
        let dups: Vec<&str> = counts
            .iter()
            .filter(|(n, c)| **c > 1 && **n != "resource")
            .map(|(n, _)| *n)
            .collect();
        if !dups.is_empty() {
            g.findings.push(
                Finding::new(
                    Code::TokenRequestDuplicateParameter,
                    Severity::Error,
                    format!("The token request sends {} more than once (RFC 6749 section 3.2 forbids it; often a library adds a parameter the caller also added).", dups.join(", ")),
                )
                .expected("each parameter once")
                .received(dups.iter().map(|d| format!("{d} x{}", counts.get(d).copied().unwrap_or(0))).collect::<Vec<_>>().join(", "))
                .source(src.clone()),
            );
        }
        let grant = first(&params, "grant_type");
        if grant.is_none() && !matches!(e.req_body, Body::None | Body::Empty) {
            g.findings.push(
                Finding::new(
                    Code::TokenRequestMissingParameter,
                    Severity::Error,
                    "The token request has no grant_type.",
                )
                .expected("grant_type=authorization_code, refresh_token or client_credentials")
                .received("no grant_type")
                .source(src.clone()),
            );
        }

        // Client authentication.
        let auth = self.client_auth(e, &params, &src, g);
        g.lines.push(format!(
            "  grant_type {}, client authentication: {auth}",
            grant.unwrap_or("(none)")
        ));

        // Grant-specific checks.
        if grant == Some("authorization_code") {
            self.check_code_grant(e, flow, &params, &src, seen_codes, g);
        }
        if grant == Some("refresh_token")
            && let Some(rt) = first(&params, "refresh_token")
        {
            match seen_refresh.get(rt) {
                Some(prev) => g.findings.push(
                    Finding::new(
                        Code::RefreshTokenReused,
                        Severity::Warning,
                        format!("The same refresh token {} was used again; it was first used at log.entries[{prev}]. With rotating refresh tokens (OAuth 2.1) the second use fails and revokes the whole family.", hint(rt)),
                    )
                    .expected("the new refresh_token from the previous refresh response")
                    .received(format!("refresh_token {}, already used at log.entries[{prev}]", hint(rt)))
                    .source(src.clone()),
                ),
                None => {
                    seen_refresh.insert(rt.to_string(), e.index);
                }
            }
        }

        // The response.
        self.check_token_response(e, flow, issued, &src, g);
    }

    /// Works out and checks the client authentication of a token request; returns its name.
    fn client_auth(
        &self,
        e: &Entry,
        params: &[(String, String)],
        src: &Source,
        g: &mut Group,
    ) -> String {
        let basic = e.req_header("authorization").filter(|h| {
            h.trim_start()
                .get(..6)
                .is_some_and(|s| s.eq_ignore_ascii_case("basic "))
        });
        let other_auth = e.req_header("authorization").filter(|_| basic.is_none());
        let body_secret = first(params, "client_secret");
        let assertion = first(params, "client_assertion");
        let body_id = first(params, "client_id");
        let mut methods = Vec::new();
        let mut name = String::new();
        let mut secret_shown: Option<String> = None;
        if let Some(b) = basic {
            match candor_proto::client_auth::parse_basic(b) {
                Ok((id, secret)) => {
                    methods.push("an Authorization: Basic header");
                    name = format!("client_secret_basic (client_id {})", quote(&id));
                    secret_shown = Some(format!(
                        "Basic credentials for {} with secret {}",
                        quote(&id),
                        hint(secret.expose())
                    ));
                    if let Some(bid) = body_id
                        && bid != id
                    {
                        g.findings.push(
                            Finding::new(
                                Code::ClientAuthMultipleMethods,
                                Severity::Error,
                                "The Basic header and the body name different clients.",
                            )
                            .expected(format!("client_id {} in both", quote(&id)))
                            .received(format!("body client_id {}", quote(bid)))
                            .source(src.clone()),
                        );
                    }
                }
                Err(err) => {
                    g.findings.push(
                        Finding::new(
                            Code::ClientAuthBasicMalformed,
                            Severity::Error,
                            format!(
                                "The Authorization: Basic header does not decode: {}.",
                                err.description
                            ),
                        )
                        .expected("Basic base64(urlencode(client_id):urlencode(client_secret))")
                        .received(redact::header("authorization", b))
                        .source(src.clone()),
                    );
                    methods.push("an Authorization: Basic header");
                    name = "client_secret_basic (malformed)".into();
                }
            }
        }
        if let Some(s) = body_secret {
            methods.push("client_secret in the body");
            name = format!(
                "client_secret_post (client_id {})",
                body_id.map(quote).unwrap_or_else(|| "missing".into())
            );
            secret_shown = Some(format!("client_secret {}", hint(s)));
        }
        if let Some(a) = assertion {
            methods.push("client_assertion in the body");
            let alg = id_token::decode_unverified(a)
                .ok()
                .and_then(|d| d.alg().map(str::to_string))
                .unwrap_or_else(|| "?".into());
            if alg.starts_with("HS") {
                name = format!("client_secret_jwt ({alg} assertion)");
                secret_shown = Some(format!(
                    "an {alg} client assertion keyed with the client secret"
                ));
            } else {
                name = format!("private_key_jwt ({alg} assertion)");
                if self.capture.from_browser {
                    secret_shown = Some(format!(
                        "a {alg} client assertion signed with the client's private key"
                    ));
                }
            }
        }
        if methods.len() > 1 {
            g.findings.push(
                Finding::new(
                    Code::ClientAuthMultipleMethods,
                    Severity::Error,
                    format!("The token request authenticates the client in more than one way ({}); RFC 6749 section 2.3 allows exactly one, and strict providers refuse the request.", methods.join(" and ")),
                )
                .expected("one method: the one the client is registered for")
                .received(methods.join(" and "))
                .source(src.clone()),
            );
        }
        if let Some(shown) = secret_shown
            && self.capture.from_browser
        {
            g.findings.push(
                Finding::new(
                    Code::ClientSecretInBrowser,
                    Severity::Error,
                    "The browser sent client credentials to the token endpoint: whatever a browser sends, every user can read in its developer tools, so this secret is public.",
                )
                .expected("a public client: client_id and code_verifier only")
                .received(shown)
                .source(src.clone()),
            );
        }
        if let Some(h) = other_auth {
            return format!(
                "Authorization header {}",
                redact::header("authorization", h)
            );
        }
        if !name.is_empty() {
            return name;
        }
        if self.sanitized {
            return format!(
                "unknown: the capture is sanitized, so an Authorization: Basic header may have been removed (har.sanitized){}",
                body_id
                    .map(|id| format!("; client_id {} in the body", quote(id)))
                    .unwrap_or_default()
            );
        }
        match body_id {
            Some(id) => format!("none (public client {})", quote(id)),
            None => "none (no client_id either)".into(),
        }
    }

    fn check_code_grant(
        &self,
        e: &Entry,
        flow: &Flow,
        params: &[(String, String)],
        src: &Source,
        seen_codes: &mut HashMap<String, usize>,
        g: &mut Group,
    ) {
        let code = first(params, "code");
        match code {
            None => g.findings.push(
                Finding::new(
                    Code::TokenRequestMissingParameter,
                    Severity::Error,
                    "The authorization_code token request has no code.",
                )
                .expected("the code from the callback")
                .received("no code")
                .source(src.clone()),
            ),
            Some(c) => {
                if let Some(prev) = seen_codes.get(c) {
                    let outcome = if (200..300).contains(&e.status) {
                        " The provider accepted it again, which it must not (RFC 6749 section 4.1.2): report this to the provider."
                    } else {
                        ""
                    };
                    g.findings.push(
                        Finding::new(
                            Code::CodeReused,
                            Severity::Error,
                            format!("The authorization code {} was posted to the token endpoint twice: first at log.entries[{prev}], again here. Codes are single-use; the second redemption fails and a careful provider also revokes the tokens from the first.{outcome}", hint(c)),
                        )
                        .expected("each code redeemed once")
                        .received(format!("code {} redeemed again (HTTP {})", hint(c), e.status))
                        .source(src.clone()),
                    );
                } else {
                    seen_codes.insert(c.to_string(), e.index);
                }
                if !flow.callbacks.is_empty()
                    && !flow.callbacks.iter().any(|cb| cb.get("code") == Some(c))
                {
                    let got: Vec<String> = flow
                        .callbacks
                        .iter()
                        .filter_map(|cb| cb.get("code"))
                        .map(hint)
                        .collect();
                    g.lines.push(format!(
                        "  note: code {} is not the one the callback received ({})",
                        hint(c),
                        got.join(", ")
                    ));
                }
            }
        }
        let Some(z) = &flow.authz else {
            g.lines.push("  the authorization request of this code is not in the capture: redirect_uri, PKCE and client_id are not compared".into());
            return;
        };
        let authz_src = self.capture.entry(z.entry).map(entry_ref);
        let with_from = |f: Finding| match &authz_src {
            Some(s) => f.expected_from(s.clone()),
            None => f,
        };
        // redirect_uri.
        match (z.get("redirect_uri"), first(params, "redirect_uri")) {
            (Some(sent), None) => g.findings.push(with_from(
                Finding::new(
                    Code::RedirectUriMissing,
                    Severity::Error,
                    "The authorization request sent a redirect_uri, so the token request must repeat it (RFC 6749 section 4.1.3), and it has none.",
                )
                .expected(quote(sent))
                .received("no redirect_uri")
                .source(src.clone()),
            )),
            (Some(sent), Some(got)) => {
                if let Some(miss) = crate::redirect_uri::classify(sent, got) {
                    let detail = if miss.code == Code::RedirectUriMismatch {
                        format!("they differ in {}", miss.differing.join(", "))
                    } else {
                        format!("a near miss: {}", miss.kind)
                    };
                    g.findings.push(with_from(
                        Finding::new(
                            miss.code,
                            Severity::Error,
                            format!("The redirect_uri of the token request differs from the one of the authorization request ({detail}); providers compare them as exact strings and answer invalid_grant."),
                        )
                        .expected(quote(sent))
                        .received(quote(got))
                        .source(src.clone()),
                    ));
                }
            }
            _ => {}
        }
        // client_id.
        if let (Some(authz_client), Some(token_client)) = (z.get("client_id"), token_client_id(e))
            && authz_client != token_client
        {
            g.findings.push(with_from(
                Finding::new(
                    Code::CodeClientMismatch,
                    Severity::Error,
                    "The token request is made by another client than the authorization request; the code belongs to the client it was issued to.",
                )
                .expected(format!("client_id {}", quote(authz_client)))
                .received(format!("client_id {}", quote(&token_client)))
                .source(src.clone()),
            ));
        }
        // PKCE.
        let challenge = z.get("code_challenge");
        let method = z.get("code_challenge_method").unwrap_or("plain");
        let verifier = first(params, "code_verifier");
        match (challenge, verifier) {
            (Some(ch), None) => g.findings.push(with_from(
                Finding::new(
                    Code::PkceVerifierMissing,
                    Severity::Error,
                    "The authorization request sent a code_challenge, but the token request has no code_verifier.",
                )
                .expected(format!("a code_verifier whose {method} is {}", quote(ch)))
                .received("no code_verifier")
                .source(src.clone()),
            )),
            (None, Some(v)) => g.findings.push(with_from(
                Finding::new(
                    Code::PkceVerifierUnexpected,
                    Severity::Error,
                    "The token request sends a code_verifier, but the authorization request had no code_challenge; providers refuse this as a PKCE downgrade (RFC 9700 section 2.1.1).",
                )
                .expected("a code_challenge in the authorization request")
                .received(format!("code_verifier {}", hint(v)))
                .source(src.clone()),
            )),
            (Some(ch), Some(v)) => {
                if let Some(problem) = crate::pkce::verifier_problem(v) {
                    g.findings.push(
                        Finding::new(
                            Code::PkceVerifierMalformed,
                            Severity::Error,
                            format!("The code_verifier is malformed: {problem}."),
                        )
                        .expected(crate::pkce::VERIFIER_RULE)
                        .received(format!("code_verifier {}", hint(v)))
                        .source(src.clone()),
                    );
                }
                if !crate::pkce::matches(method, v, ch) {
                    let computed = if method.eq_ignore_ascii_case("plain") {
                        hint(v)
                    } else {
                        crate::pkce::s256(v)
                    };
                    g.findings.push(with_from(
                        Finding::new(
                            Code::PkceVerifierMismatch,
                            Severity::Error,
                            format!("The code_verifier does not match the code_challenge: {method}(code_verifier) is not the challenge the authorization request sent. The verifier usually belongs to another login (a second tab overwrote it)."),
                        )
                        .expected(format!("code_challenge {}", quote(ch)))
                        .received(format!("{method}(code_verifier {}) = {}", hint(v), quote(&computed)))
                        .source(src.clone()),
                    ));
                } else {
                    g.lines.push(format!("  PKCE: the code_verifier matches the code_challenge ({method})"));
                }
            }
            (None, None) => {}
        }
    }

    fn check_token_response(
        &self,
        e: &Entry,
        flow: &Flow,
        issued: &HashMap<usize, Issued>,
        src: &Source,
        g: &mut Group,
    ) {
        if e.status == 0 {
            g.findings.push(no_response(e));
            return;
        }
        let Some(body) = e.resp_body.bytes() else {
            g.findings.push(body_missing(e, "the token response"));
            return;
        };
        if let Some(i) = issued.get(&e.index) {
            g.lines
                .push(format!("  token response: {}", i.response.summary()));
            if let Some(idt) = &i.response.id_token {
                self.check_id_token(e, flow, idt, i.response.access_token.expose(), src, g);
            }
            return;
        }
        match classify_token_response(
            u16::try_from(e.status).unwrap_or(0),
            e.resp_content_type.as_deref(),
            e.resp_header("location"),
            &body,
        ) {
            Ok(_) => {}
            Err(ErrorKind::OAuth(err)) => {
                g.findings.push(
                    explain::oauth_error_finding(&err, "The token endpoint refused the request")
                        .source(src.clone()),
                );
            }
            Err(kind) => g
                .findings
                .push(finding_from_kind(&kind, Severity::Error).source(src.clone())),
        }
    }

    fn check_id_token(
        &self,
        e: &Entry,
        flow: &Flow,
        token: &str,
        access_token: &str,
        src: &Source,
        g: &mut Group,
    ) {
        let authz = flow.authz.as_ref();
        let client = authz
            .and_then(|z| z.get("client_id").map(str::to_string))
            .or_else(|| token_client_id(e));
        let issuer = if self.known.issuers.len() == 1 {
            self.known.issuers.first().cloned()
        } else {
            None
        };
        let sets: Vec<&JwkSet> = self.jwks.iter().map(|(_, parsed)| &parsed.jwks).collect();
        let checks = Checks {
            keys: Keys::Sets(&sets),
            // A capture holds no client secret to check an HS256 signature with.
            unverifiable: Unverifiable::NotChecked,
            claims: Some(Expectations {
                issuer: issuer.clone(),
                audience: client,
                nonce: authz.and_then(|z| z.get("nonce").map(str::to_string)),
                access_token: Some(access_token.to_string()),
                now: e.finished_ms().div_euclid(1000),
                leeway: self.opts.leeway,
                require_id_token_claims: true,
            }),
        };
        let place = |part: Part<'_>, f: Finding| {
            let mut f = f.source(src.clone());
            match part {
                Part::Signature { set } => {
                    if let Some(j) = self
                        .jwks
                        .get(set)
                        .and_then(|(index, _)| self.capture.entry(*index))
                    {
                        f = f.expected_from(entry_ref(j));
                    }
                }
                Part::Claim(
                    IdTokenError::Expired { .. }
                    | IdTokenError::IatFuture { .. }
                    | IdTokenError::NotYetValid { .. },
                ) => {
                    f.message = format!(
                        "{} (the check time is when the capture received the token response, {}; leeway {} s).",
                        f.message,
                        iso(e.finished_ms()),
                        self.opts.leeway
                    );
                }
                Part::Claim(IdTokenError::NonceMismatch { .. }) => {
                    if let Some(z) = authz.and_then(|z| self.capture.entry(z.entry)) {
                        f = f.expected_from(entry_ref(z));
                    }
                }
                _ => {}
            }
            f
        };
        let Some(checked) = crate::id_token::check(token, &checks, place, &mut g.findings) else {
            return;
        };
        let decoded = &checked.decoded;
        let claims = &decoded.claims;
        let s = |k: &str| {
            claims.get(k).map(|v| match v {
                Value::String(s) => quote(s),
                other => other.to_string(),
            })
        };
        g.lines.push(format!(
            "  id_token: alg {}, kid {}, iss {}, aud {}, sub {}",
            decoded.alg().unwrap_or("?"),
            decoded.kid().map(quote).unwrap_or_else(|| "(none)".into()),
            s("iss").unwrap_or_else(|| "(none)".into()),
            s("aud").unwrap_or_else(|| "(none)".into()),
            s("sub").unwrap_or_else(|| "(none)".into()),
        ));
        match &checked.signature {
            Signature::NotChecked => g
                .lines
                .push("  id_token signature: not checked (no JWKS response in the capture)".into()),
            Signature::Verified { set } => {
                if let Some((index, _)) = self.jwks.get(*set) {
                    g.lines.push(format!(
                        "  id_token signature: verified with the JWKS of log.entries[{index}]"
                    ));
                }
            }
            Signature::Unverifiable { alg } => g.lines.push(format!(
                "  id_token signature: not checked ({alg} is keyed with the client secret, which a capture does not hold)"
            )),
            Signature::Unsigned | Signature::Failed => {}
        }
        if issuer.is_none() {
            g.lines
                .push("  id_token iss: not compared (no discovery document in the capture)".into());
        }
    }

    fn check_userinfo(&self, e: &Entry, g: &mut Group) {
        let src = entry_source(e);
        g.lines.push(format!("userinfo   {}", entry_line(e)));
        if e.status == 0 {
            g.findings.push(no_response(e));
            return;
        }
        if e.req_header("authorization").is_none() && !has(&e.query(), "access_token") {
            if self.sanitized {
                g.lines.push(
                    "  bearer token: unknown (the capture is sanitized: har.sanitized)".into(),
                );
            } else if e.status == 401 {
                g.findings.push(
                    Finding::new(
                        Code::TokenMissing,
                        Severity::Error,
                        "The userinfo request carries no access token.",
                    )
                    .expected("Authorization: Bearer <access_token>")
                    .received("no Authorization header")
                    .source(src.clone()),
                );
            }
        }
        if (200..300).contains(&e.status) {
            return;
        }
        if let Some(www) = e.resp_header("www-authenticate") {
            let params = parse_auth_params(www);
            if let Some(err) = params.get("error") {
                let resp = candor_client::OAuthErrorResponse {
                    status: u16::try_from(e.status).unwrap_or(0),
                    error: err.clone(),
                    description: params.get("error_description").cloned(),
                    uri: params.get("error_uri").cloned(),
                    diagnosis: params.get("diagnosis").cloned(),
                };
                g.findings.push(
                    explain::oauth_error_finding(
                        &resp,
                        "The userinfo endpoint refused the access token",
                    )
                    .source(src),
                );
                return;
            }
        }
        if let Some(body) = e.resp_body.bytes() {
            match classify_json_body(
                u16::try_from(e.status).unwrap_or(0),
                e.resp_content_type.as_deref(),
                None,
                &body,
            ) {
                Ok(v) => match error_object(u16::try_from(e.status).unwrap_or(0), &v) {
                    Some(err) => g.findings.push(
                        explain::oauth_error_finding(
                            &err,
                            "The userinfo endpoint refused the request",
                        )
                        .source(src),
                    ),
                    None => g.findings.push(
                        finding_from_kind(
                            &ErrorKind::ErrorWithoutBody {
                                status: u16::try_from(e.status).unwrap_or(0),
                                content_type: e.resp_content_type.clone(),
                                location: None,
                            },
                            Severity::Error,
                        )
                        .source(src),
                    ),
                },
                Err(k) => g
                    .findings
                    .push(finding_from_kind(&k, Severity::Error).source(src)),
            }
        }
    }
}

/// The client a token request names (Basic header, else body, else assertion issuer).
fn token_client_id(e: &Entry) -> Option<String> {
    if let Some(h) = e.req_header("authorization")
        && let Ok((id, _)) = candor_proto::client_auth::parse_basic(h)
    {
        return Some(id);
    }
    let (_, p) = body_params(e);
    if let Some(id) = first(&p, "client_id") {
        return Some(id.to_string());
    }
    first(&p, "client_assertion")
        .and_then(|a| id_token::decode_unverified(a).ok())
        .and_then(|d| {
            d.claims
                .get("sub")
                .and_then(Value::as_str)
                .map(str::to_string)
        })
}

/// Parameters of a `WWW-Authenticate: Bearer k="v", ...` header.
pub fn parse_auth_params(header: &str) -> HashMap<String, String> {
    let rest = header.trim().split_once(' ').map(|(_, r)| r).unwrap_or("");
    let mut out = HashMap::new();
    let mut chars = rest.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| *c == ',' || c.is_whitespace()) {
            chars.next();
        }
        let name: String = chars.by_ref().take_while(|c| *c != '=').collect();
        if name.is_empty() {
            break;
        }
        let value: String = if chars.peek() == Some(&'"') {
            chars.next();
            let mut v = String::new();
            while let Some(c) = chars.next() {
                match c {
                    '\\' => {
                        if let Some(n) = chars.next() {
                            v.push(n);
                        }
                    }
                    '"' => break,
                    c => v.push(c),
                }
            }
            v
        } else {
            chars
                .by_ref()
                .take_while(|c| *c != ',')
                .collect::<String>()
                .trim()
                .to_string()
        };
        out.insert(name.trim().to_ascii_lowercase(), value);
    }
    out
}

fn no_response(e: &Entry) -> Finding {
    Finding::new(
        Code::TransportConnect,
        Severity::Error,
        format!(
            "The browser recorded no response{}: the request was blocked (CORS, mixed content, an extension) or failed before an answer arrived.",
            e.resp_error.as_deref().map(|x| format!(" ({x})")).unwrap_or_default()
        ),
    )
    .expected("an HTTP response")
    .received("status 0")
    .fix("For a token request from a single-page app, the provider must allow the app's origin (CORS); otherwise look at the browser console for the reason.")
    .source(entry_source(e))
}

fn body_missing(e: &Entry, what: &str) -> Finding {
    Finding::new(
        Code::HarBodyMissing,
        Severity::Info,
        format!("The capture does not include the body of {what} (HTTP {}), so what it held is unknown.", e.status),
    )
    .source(entry_source(e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn www_authenticate_params() {
        let p = parse_auth_params(
            r#"Bearer realm="api", error="invalid_token", error_description="The token \"x\" expired""#,
        );
        assert_eq!(p.get("error").map(String::as_str), Some("invalid_token"));
        assert_eq!(
            p.get("error_description").map(String::as_str),
            Some("The token \"x\" expired")
        );
        assert_eq!(p.get("realm").map(String::as_str), Some("api"));
    }
}
