//! Redirect URI matching (RFC 6749 §3.1.2, RFC 9700 §4.1.3, RFC 8252 §7.3) and the naming of
//! near misses (DESIGN.md §2).
//!
//! Matching is exact string comparison, with one exception: a registered loopback redirect on
//! an IP literal (`http://127.0.0.1/…`, `http://[::1]/…`) matches any port, since native apps
//! listen on an ephemeral one.
//!
//! When two URIs differ, the first rule in this order that makes them equal names the near
//! miss: `case`, `trailing_slash`, `scheme` (http vs https only), `loopback_alias`, `port`,
//! `query`, `path`. The comparison works on the raw strings, without normalisation, because a
//! normalising parser would hide exactly the differences that break exchanges (an explicit
//! default port, say).

use crate::diagnosis::Code;

/// How two redirect URIs nearly match.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NearMiss {
    Case,
    TrailingSlash,
    Scheme,
    LoopbackAlias,
    Port,
    Query,
    Path,
}

impl NearMiss {
    pub fn code(self) -> Code {
        match self {
            NearMiss::Case => Code::RedirectUriCase,
            NearMiss::TrailingSlash => Code::RedirectUriTrailingSlash,
            NearMiss::Scheme => Code::RedirectUriScheme,
            NearMiss::LoopbackAlias => Code::RedirectUriLoopbackAlias,
            NearMiss::Port => Code::RedirectUriPort,
            NearMiss::Query => Code::RedirectUriQuery,
            NearMiss::Path => Code::RedirectUriPath,
        }
    }

    /// A few words for an error description.
    pub fn describe(self) -> &'static str {
        match self {
            NearMiss::Case => "they differ in letter case",
            NearMiss::TrailingSlash => "they differ by a trailing slash",
            NearMiss::Scheme => "they differ in scheme (http vs https)",
            NearMiss::LoopbackAlias => "they name the loopback host differently",
            NearMiss::Port => "they differ in port",
            NearMiss::Query => "they differ in the query string",
            NearMiss::Path => "they differ in the path",
        }
    }
}

/// How a received URI compares with a reference one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Comparison {
    Equal,
    Near(NearMiss),
    /// Not a near miss; the components that differ (`scheme`, `host`, `port`, `path`, `query`,
    /// `fragment`).
    Different(Vec<&'static str>),
}

/// A URI split without normalisation.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Parts<'a> {
    scheme: &'a str,
    host: &'a str,
    port: Option<&'a str>,
    path: &'a str,
    query: Option<&'a str>,
    fragment: Option<&'a str>,
}

fn split(uri: &str) -> Parts<'_> {
    let (scheme, rest) = match uri.find("://") {
        Some(i) => (&uri[..i], &uri[i + 3..]),
        None => match uri.find(':') {
            Some(i) => (&uri[..i], &uri[i + 1..]),
            None => ("", uri),
        },
    };
    let (rest, fragment) = match rest.find('#') {
        Some(i) => (&rest[..i], Some(&rest[i + 1..])),
        None => (rest, None),
    };
    let (rest, query) = match rest.find('?') {
        Some(i) => (&rest[..i], Some(&rest[i + 1..])),
        None => (rest, None),
    };
    let has_authority = uri.contains("://");
    let (authority, path) = if has_authority {
        match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, ""),
        }
    } else {
        ("", rest)
    };
    let authority = authority.rsplit('@').next().unwrap_or(authority);
    let (host, port) = if authority.starts_with('[') {
        match authority.find(']') {
            Some(i) => {
                let after = &authority[i + 1..];
                (&authority[..=i], after.strip_prefix(':'))
            }
            None => (authority, None),
        }
    } else {
        match authority.rfind(':') {
            Some(i) => (&authority[..i], Some(&authority[i + 1..])),
            None => (authority, None),
        }
    };
    Parts {
        scheme,
        host,
        port,
        path,
        query,
        fragment,
    }
}

fn is_loopback_name(host: &str) -> bool {
    matches!(
        host.to_ascii_lowercase().as_str(),
        "localhost" | "127.0.0.1" | "[::1]"
    )
}

fn is_loopback_literal(host: &str) -> bool {
    matches!(host, "127.0.0.1" | "[::1]")
}

fn differing(a: &Parts<'_>, b: &Parts<'_>) -> Vec<&'static str> {
    let mut out = Vec::new();
    if a.scheme != b.scheme {
        out.push("scheme");
    }
    if a.host != b.host {
        out.push("host");
    }
    if a.port != b.port {
        out.push("port");
    }
    if a.path != b.path {
        out.push("path");
    }
    if a.query != b.query {
        out.push("query");
    }
    if a.fragment != b.fragment {
        out.push("fragment");
    }
    out
}

fn one_trailing_slash_apart(a: &str, b: &str) -> bool {
    a.strip_suffix('/') == Some(b) || b.strip_suffix('/') == Some(a)
}

/// Compares `received` with `reference`, naming a near miss.
pub fn compare(received: &str, reference: &str) -> Comparison {
    if received == reference {
        return Comparison::Equal;
    }
    if received.eq_ignore_ascii_case(reference) {
        return Comparison::Near(NearMiss::Case);
    }
    let a = split(received);
    let b = split(reference);
    let diff = differing(&a, &b);
    let only = |component: &str| diff.len() == 1 && diff.first() == Some(&component);
    if only("path") && one_trailing_slash_apart(a.path, b.path) {
        return Comparison::Near(NearMiss::TrailingSlash);
    }
    if only("scheme") && matches!((a.scheme, b.scheme), ("http", "https") | ("https", "http")) {
        return Comparison::Near(NearMiss::Scheme);
    }
    if only("host") && is_loopback_name(a.host) && is_loopback_name(b.host) {
        return Comparison::Near(NearMiss::LoopbackAlias);
    }
    if only("port") {
        return Comparison::Near(NearMiss::Port);
    }
    if only("query") {
        return Comparison::Near(NearMiss::Query);
    }
    if only("path") {
        return Comparison::Near(NearMiss::Path);
    }
    Comparison::Different(diff)
}

/// Whether `received` may be used as the registered `registered`: the same string, or a
/// loopback IP-literal `http` redirect on another port (RFC 8252 §7.3).
pub fn matches_registered(received: &str, registered: &str) -> bool {
    if received == registered {
        return true;
    }
    let a = split(received);
    let b = split(registered);
    b.scheme == "http"
        && is_loopback_literal(b.host)
        && a.scheme == b.scheme
        && a.host == b.host
        && a.path == b.path
        && a.query == b.query
        && a.fragment == b.fragment
        && a.port
            .is_none_or(|p| !p.is_empty() && p.bytes().all(|c| c.is_ascii_digit()))
}

/// The registered URI `received` nearly matches, with how; the nearest kind wins (in the
/// order of [`NearMiss`]'s rules), then registration order.
pub fn closest<'a>(received: &str, registered: &'a [String]) -> Option<(NearMiss, &'a str)> {
    registered
        .iter()
        .filter_map(|r| match compare(received, r) {
            Comparison::Near(kind) => Some((kind, r.as_str())),
            _ => None,
        })
        .min_by_key(|(kind, _)| *kind as u8)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn near(a: &str, b: &str) -> Option<NearMiss> {
        match compare(a, b) {
            Comparison::Near(k) => Some(k),
            _ => None,
        }
    }

    #[test]
    fn near_misses_are_named_in_order() {
        let reg = "https://app.example/cb";
        assert_eq!(compare(reg, reg), Comparison::Equal);
        assert_eq!(
            near("https://app.example/cb/", reg),
            Some(NearMiss::TrailingSlash)
        );
        assert_eq!(
            near("https://app.example/", "https://app.example"),
            Some(NearMiss::TrailingSlash)
        );
        assert_eq!(near("https://APP.example/cb", reg), Some(NearMiss::Case));
        assert_eq!(near("https://app.example/CB", reg), Some(NearMiss::Case));
        assert_eq!(near("http://app.example/cb", reg), Some(NearMiss::Scheme));
        assert_eq!(
            near("https://app.example:443/cb", reg),
            Some(NearMiss::Port)
        );
        assert_eq!(
            near("https://app.example:8443/cb", reg),
            Some(NearMiss::Port)
        );
        assert_eq!(
            near("https://app.example/cb?x=1", reg),
            Some(NearMiss::Query)
        );
        assert_eq!(
            near("https://app.example/callback", reg),
            Some(NearMiss::Path)
        );
        assert_eq!(
            near("http://localhost:3000/cb", "http://127.0.0.1:3000/cb"),
            Some(NearMiss::LoopbackAlias)
        );
        assert_eq!(
            near("http://[::1]:3000/cb", "http://localhost:3000/cb"),
            Some(NearMiss::LoopbackAlias)
        );
        assert_eq!(
            compare("https://evil.example/cb", reg),
            Comparison::Different(vec!["host"])
        );
        assert_eq!(
            compare("http://app.example:80/cb/", reg),
            Comparison::Different(vec!["scheme", "port", "path"])
        );
    }

    #[test]
    fn loopback_literals_match_any_port() {
        assert!(matches_registered(
            "http://127.0.0.1:53124/cb",
            "http://127.0.0.1/cb"
        ));
        assert!(matches_registered(
            "http://[::1]:8080/cb",
            "http://[::1]:9000/cb"
        ));
        assert!(!matches_registered(
            "http://localhost:8080/cb",
            "http://localhost/cb"
        ));
        assert!(!matches_registered(
            "http://127.0.0.1:8080/cb/",
            "http://127.0.0.1/cb"
        ));
        assert!(!matches_registered(
            "https://127.0.0.1:8080/cb",
            "http://127.0.0.1/cb"
        ));
        assert!(!matches_registered(
            "http://127.0.0.1:x/cb",
            "http://127.0.0.1/cb"
        ));
        assert!(!matches_registered(
            "https://app.example:443/cb",
            "https://app.example/cb"
        ));
    }

    #[test]
    fn closest_prefers_the_nearest_kind() {
        let reg = vec![
            "https://a.example/x".to_string(),
            "https://b.example/cb".to_string(),
        ];
        assert_eq!(
            closest("https://b.example/cb/", &reg),
            Some((NearMiss::TrailingSlash, "https://b.example/cb"))
        );
        assert_eq!(closest("https://c.example/", &reg), None);
    }

    #[test]
    fn odd_inputs_do_not_panic() {
        for s in [
            "",
            "://",
            "http://[::1",
            "a:b",
            "http://h:/p?#",
            "\u{e9}://x",
            "http://@/",
        ] {
            let _ = compare(s, "https://app.example/cb");
            let _ = matches_registered(s, "http://127.0.0.1/cb");
        }
    }
}
