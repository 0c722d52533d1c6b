//! Tying a capture's entries into flows. A callback joins the authorization request whose
//! `state` it echoes (or, failing that, whose `redirect_uri` it lands on), a token request
//! the callback whose `code` it redeems, a refresh the flow that issued its refresh token,
//! and a userinfo call the flow that issued its access token.

use std::collections::{HashMap, HashSet};

use candor_client::response::TokenResponse;
use candor_proto::Code;

use super::classify::Role;
use super::entry::{entry_source, short_url};
use super::params::{body_params, first, has, token_success};
use crate::finding::Source;
use crate::har::load::{Capture, endpoint_of};
use crate::redact;

/// An authorization request.
#[derive(Debug, Clone)]
pub(super) struct Authz {
    pub(super) entry: usize,
    pub(super) params: Vec<(String, String)>,
}

impl Authz {
    pub(super) fn get(&self, n: &str) -> Option<&str> {
        first(&self.params, n)
    }
}

/// A callback: a request to the redirect URI, or a redirect pointing at it.
#[derive(Debug, Clone)]
pub(super) struct Callback {
    pub(super) entry: usize,
    /// Seen only as the Location of entry `entry`, not as a request of its own.
    pub(super) via_location: bool,
    pub(super) base: String,
    pub(super) url: String,
    pub(super) params: Vec<(String, String)>,
    pub(super) started_ms: i64,
}

impl Callback {
    pub(super) fn get(&self, n: &str) -> Option<&str> {
        first(&self.params, n)
    }

    /// The callback as a finding's source: its entry, or the entry whose Location it is.
    pub(super) fn source(&self, capture: &Capture) -> Source {
        match capture.entry(self.entry) {
            Some(e) if !self.via_location => entry_source(e),
            Some(e) => Source::Entry {
                index: e.index,
                method: e.method.clone(),
                url: format!(
                    "{} (its Location: {})",
                    short_url(e),
                    redact::cut(&redact::url(&self.url), 120)
                ),
            },
            None => Source::Input {
                name: redact::url(&self.url),
            },
        }
    }
}

/// What a successful token response issued.
#[derive(Debug, Clone)]
pub(super) struct Issued {
    pub(super) response: TokenResponse,
}

/// The entries of one login (or of a refresh, or a userinfo call, whose login the capture
/// does not hold), in the order they happened.
#[derive(Debug, Default)]
pub(super) struct Flow {
    pub(super) authz: Option<Authz>,
    pub(super) callbacks: Vec<Callback>,
    pub(super) tokens: Vec<usize>,
    pub(super) userinfo: Vec<usize>,
    /// Time of the first entry, for ordering.
    pub(super) first_ms: i64,
}

/// A callback that joined its flow by its redirect URI alone: the authorization request sent
/// a state the callback does not echo.
#[derive(Debug, Clone)]
pub(super) struct StateMiss {
    /// The flow's position in [`Correlation::flows`].
    pub(super) flow: usize,
    pub(super) callback: Callback,
    /// The state the authorization request sent.
    pub(super) sent: String,
    /// The authorization request's entry.
    pub(super) authz_entry: usize,
}

/// The flows of a capture.
#[derive(Debug, Default)]
pub(super) struct Correlation {
    pub(super) flows: Vec<Flow>,
    /// What each successful token response issued, by its entry.
    pub(super) issued: HashMap<usize, Issued>,
    /// In the order of the callbacks.
    pub(super) state_misses: Vec<StateMiss>,
}

/// Whether a request to `base` (a URL without its query) is one to `redirect_uri`: the same,
/// or a near miss (a trailing slash, a port, a case) that a lenient provider lets through.
fn lands_on(redirect_uri: &str, base: &str) -> bool {
    redirect_uri == base
        || crate::redirect_uri::classify(redirect_uri, base)
            .is_some_and(|m| m.code != Code::RedirectUriMismatch)
}

/// The authorization requests of a capture, with the parameters of query and (for a POST)
/// body.
pub(super) fn authorization_requests(capture: &Capture, roles: &[(usize, Role)]) -> Vec<Authz> {
    roles
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
        .collect()
}

/// The callbacks of a capture, in time order: requests to a redirect URI, and redirects
/// that point at one, carrying a code or an error.
pub(super) fn callbacks(
    capture: &Capture,
    roles: &[(usize, Role)],
    authzs: &[Authz],
) -> Vec<Callback> {
    let states: HashSet<&str> = authzs.iter().filter_map(|z| z.get("state")).collect();
    let redirects: HashSet<String> = authzs
        .iter()
        .filter_map(|z| z.get("redirect_uri"))
        .map(|r| r.to_string())
        .collect();
    let first_authz_ms = authzs
        .iter()
        .filter_map(|z| capture.entry(z.entry))
        .map(|e| e.started_ms)
        .min();
    let is_callback = |base: &str, params: &[(String, String)]| -> bool {
        if !(has(params, "code") || has(params, "error")) || has(params, "grant_type") {
            return false;
        }
        let state_matches = first(params, "state").is_some_and(|s| states.contains(s));
        let lands_on_redirect = redirects.iter().any(|r| lands_on(r, base));
        state_matches || lands_on_redirect || (has(params, "state") && first_authz_ms.is_some())
    };
    let mut out: Vec<Callback> = Vec::new();
    let mut seen_urls: HashSet<String> = HashSet::new();
    for (pos, r) in roles {
        let Some(e) = capture.entries.get(*pos) else {
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

/// Ties the entries into flows: callbacks to authorization requests, token requests to the
/// callbacks whose codes they redeem (or the refreshes to the flow that issued the refresh
/// token), userinfo calls to the flow that issued their access token. An entry that joins
/// none starts a flow of its own.
pub(super) fn flows(
    capture: &Capture,
    roles: &[(usize, Role)],
    authzs: &[Authz],
    callbacks: &[Callback],
) -> Correlation {
    let mut flows: Vec<Flow> = authzs
        .iter()
        .map(|z| Flow {
            first_ms: capture.entry(z.entry).map(|e| e.started_ms).unwrap_or(0),
            authz: Some(z.clone()),
            ..Flow::default()
        })
        .collect();
    let mut state_misses = Vec::new();
    for cb in callbacks {
        let (flow_idx, miss) = assign_callback(cb, &flows);
        match flow_idx {
            Some(i) => {
                if let Some(f) = flows.get_mut(i) {
                    f.callbacks.push(cb.clone());
                }
                if let Some(m) = miss {
                    state_misses.push(m);
                }
            }
            None => flows.push(Flow {
                first_ms: cb.started_ms,
                callbacks: vec![cb.clone()],
                ..Flow::default()
            }),
        }
    }
    let issued = join_tokens(capture, roles, &mut flows);
    join_userinfo(capture, roles, &issued, &mut flows);
    Correlation {
        flows,
        issued,
        state_misses,
    }
}

/// Which flow a callback joins; a [`StateMiss`] when it joins by its redirect URI alone.
fn assign_callback(cb: &Callback, flows: &[Flow]) -> (Option<usize>, Option<StateMiss>) {
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
    let lands = |z: &Authz| z.get("redirect_uri").is_none_or(|r| lands_on(r, &cb.base));
    let idx = flows
        .iter()
        .rposition(|f| before(f) && f.callbacks.is_empty() && f.authz.as_ref().is_some_and(lands));
    let Some(i) = idx else {
        return (None, None);
    };
    let Some(z) = flows.get(i).and_then(|f| f.authz.as_ref()) else {
        return (Some(i), None);
    };
    let Some(sent) = z.get("state") else {
        return (Some(i), None);
    };
    (
        Some(i),
        Some(StateMiss {
            flow: i,
            callback: cb.clone(),
            sent: sent.to_string(),
            authz_entry: z.entry,
        }),
    )
}

/// Adds each token request to its flow; returns what the successful ones issued, by entry.
fn join_tokens(
    capture: &Capture,
    roles: &[(usize, Role)],
    flows: &mut Vec<Flow>,
) -> HashMap<usize, Issued> {
    let mut issued: HashMap<usize, Issued> = HashMap::new();
    // Each code's first redemption: a code posted again joins the flow that posted it first.
    let mut code_first: HashMap<String, usize> = HashMap::new();
    for (pos, _) in roles.iter().filter(|(_, r)| *r == Role::Token) {
        let Some(e) = capture.entries.get(*pos) else {
            continue;
        };
        let (_, mut params) = body_params(e);
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
        if let Some(resp) = token_success(e) {
            issued.insert(e.index, Issued { response: resp });
        }
    }
    issued
}

/// Adds each userinfo call to the flow that issued its access token (or, failing that, the
/// latest flow that had a token by then).
fn join_userinfo(
    capture: &Capture,
    roles: &[(usize, Role)],
    issued: &HashMap<usize, Issued>,
    flows: &mut Vec<Flow>,
) {
    for (pos, r) in roles {
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
}
