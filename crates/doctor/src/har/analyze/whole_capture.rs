//! Checks of the capture as a whole: whether it was exported sanitized, whether it holds any
//! OAuth at all, the clocks of the hosts it talked to, and endpoints on plain http.

use std::collections::{BTreeMap, HashSet};

use candor_client::http::is_insecure_http;
use candor_proto::Code;

use super::Analysis;
use super::classify::Role;
use super::correlate::{Authz, Callback};
use super::entry::{entry_source, iso};
use crate::finding::{Finding, Group, Severity, Source};
use crate::har::load::Capture;
use crate::prose::capitalise;

/// Whether the capture was exported without its credentials (Chrome's default since version
/// 130): it lists cookies, or holds a browser login, yet no entry carries a Cookie,
/// Set-Cookie or Authorization header.
pub(super) fn looks_sanitized(capture: &Capture, authzs: &[Authz]) -> bool {
    !capture.credential_headers_seen && (capture.cookie_arrays_seen || !authzs.is_empty())
}

impl Analysis<'_> {
    /// The group of capture-wide findings.
    pub(super) fn check_capture(&self, roles: &[(usize, Role)], callbacks: &[Callback]) -> Group {
        let mut global = Group::new("Capture");
        if self.sanitized {
            let why = if self.capture.cookie_arrays_seen {
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
        let any_oauth = roles.iter().any(|(_, r)| *r != Role::Other) || !callbacks.is_empty();
        if !any_oauth {
            global.findings.push(Finding::new(
                Code::HarNoFlow,
                Severity::Info,
                "No OAuth or OpenID Connect traffic was found: no discovery, authorization, callback, token, userinfo or JWKS request.",
            ));
        }
        self.clock_skew(roles, &mut global);
        self.insecure_endpoints(roles, callbacks, &mut global);
        global
    }

    /// Each host whose Date headers are off the capture's clock by more than the leeway, at
    /// its worst entry.
    fn clock_skew(&self, roles: &[(usize, Role)], group: &mut Group) {
        let mut worst: BTreeMap<String, (i64, usize)> = BTreeMap::new();
        for (pos, r) in roles {
            if *r == Role::Other {
                continue;
            }
            let Some(e) = self.capture.entries.get(*pos) else {
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

    /// Endpoints and redirect URIs on plain http off loopback, once each.
    fn insecure_endpoints(
        &self,
        roles: &[(usize, Role)],
        callbacks: &[Callback],
        group: &mut Group,
    ) {
        let mut seen = HashSet::new();
        // One finding per origin, listing where: eleven plain-http requests to one issuer are
        // one fact.
        let mut by_origin: Vec<(String, Vec<String>, Source)> = Vec::new();
        for (pos, r) in roles {
            if *r == Role::Other {
                continue;
            }
            let Some(e) = self.capture.entries.get(*pos) else {
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
                let origin = e.url.origin().ascii_serialization();
                let at = format!("the {what} {} (log.entries[{}])", e.endpoint(), e.index);
                match by_origin.iter_mut().find(|(o, _, _)| *o == origin) {
                    Some((_, places, _)) => places.push(at),
                    None => by_origin.push((origin, vec![at], entry_source(e))),
                }
            }
        }
        for (origin, places, source) in by_origin {
            let message = match places.as_slice() {
                [one] => format!(
                    "{} is plain http on a host that is not loopback: codes and tokens cross the network unencrypted.",
                    capitalise(one)
                ),
                many => format!(
                    "{} endpoints of {origin} are plain http on a host that is not loopback: codes and tokens cross the network unencrypted. They are {}.",
                    many.len(),
                    many.join(", ")
                ),
            };
            group.findings.push(
                Finding::new(Code::TransportInsecureHttp, Severity::Error, message)
                    .expected("https")
                    .received(origin)
                    .source(source),
            );
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
                    .source(cb.source(self.capture)),
                );
            }
        }
    }
}
