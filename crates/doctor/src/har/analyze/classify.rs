//! Which role each entry of a capture plays: discovery, JWKS, authorization request, token
//! request, userinfo, or none of these. An endpoint a discovery document names is known by
//! its role there; the others are recognised by their paths and parameters.

use std::collections::HashSet;

use serde_json::Value;

use super::params::{body_params, has, json_body};
use crate::har::load::{Capture, Entry, endpoint_of};

/// What a role a capture's entry plays.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Role {
    Discovery,
    Jwks,
    Authorize,
    Token,
    Userinfo,
    Other,
}

/// Endpoints the capture's discovery documents name.
#[derive(Debug, Default)]
pub(super) struct Known {
    pub(super) issuers: Vec<String>,
    pub(super) authorization: HashSet<String>,
    pub(super) token: HashSet<String>,
    pub(super) userinfo: HashSet<String>,
    pub(super) jwks: HashSet<String>,
    /// Algorithms the discovery documents advertise.
    pub(super) algs: Vec<String>,
    /// Client authentication methods the discovery documents advertise
    /// (token_endpoint_auth_methods_supported).
    pub(super) auth_methods: Vec<String>,
}

/// An endpoint a discovery document names, in the form entries are compared by
/// ([`endpoint_of`]).
pub(super) fn norm_endpoint(raw: &str) -> Option<String> {
    url::Url::parse(raw).ok().map(|u| endpoint_of(&u))
}

/// Whether the entry fetches OpenID Connect or RFC 8414 metadata.
pub(super) fn is_discovery(e: &Entry) -> bool {
    let p = e.url.path();
    p.ends_with("/.well-known/openid-configuration")
        || p.contains("/.well-known/oauth-authorization-server")
}

/// The role of one entry, given the endpoints discovery named.
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

/// The role of every entry, by its position in `capture.entries`.
pub(super) fn roles(capture: &Capture, known: &Known) -> Vec<(usize, Role)> {
    capture
        .entries
        .iter()
        .enumerate()
        .map(|(pos, e)| (pos, role(e, known)))
        .collect()
}
