//! Redirect URIs (RFC 6749 §3.1.2, RFC 9700 §4.1.3, RFC 8252 §7.3): what is safe to receive,
//! what matches a registration, and how a near miss is named (docs/errors.md).
//!
//! Three steps, always in this order:
//!
//! 1. [`check`] refuses a received URI that a browser and a server could read differently
//!    (userinfo, backslashes, whitespace, control characters, encoded delimiters, dot
//!    segments, fragments) and parses the rest with the `url` crate, which follows the WHATWG
//!    URL standard browsers implement.
//! 2. [`matches_registered`] decides whether it may be used: the same string as a registered
//!    URI, or a registered loopback redirect on an IP literal (`http://127.0.0.1/…`,
//!    `http://[::1]/…`) with another port, since native apps listen on an ephemeral one — that
//!    rule compares parsed URLs.
//! 3. Only when it does not match, [`compare`] and [`closest`] name the near miss for the error
//!    message: the first rule in this order that makes the two equal — `case`,
//!    `trailing_slash`, `scheme` (http vs https only), `loopback_alias`, `port`, `query`,
//!    `path`. Naming works on the raw strings, without normalisation, because a normalising
//!    parser would hide exactly the differences that break exchanges (an explicit default
//!    port, say). It never grants anything: it only explains a refusal.

use crate::diagnosis::Code;
use crate::loopback::{is_loopback_host, is_redirect_loopback_literal};

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
    if only("host") && is_loopback_host(a.host) && is_loopback_host(b.host) {
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

/// Why a received redirect URI is refused before it is compared with anything.
///
/// A URI that a browser and a server could read differently must never reach a comparison:
/// the classic hole is `http://attacker.example\@127.0.0.1/cb`, which a naive splitter reads
/// as a loopback host with userinfo while every browser (WHATWG URL) reads the `\` as `/` and
/// goes to `attacker.example`. So the received string is refused outright when it holds
/// anything such a differential can hide in, and what remains is parsed by the `url` crate,
/// which follows the WHATWG URL standard that browsers implement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unsafe {
    /// Longer than [`MAX_URI_CHARS`].
    TooLong,
    /// A space, tab, newline or other whitespace.
    Whitespace,
    /// A control character (`\0`, DEL, …).
    Control,
    /// A non-ASCII character: an IDN host must be sent as punycode (`xn--…`), a path
    /// percent-encoded.
    NonAscii,
    /// A backslash, which browsers read as `/` in http(s) URLs.
    Backslash,
    /// A fragment (`#…`), which RFC 6749 §3.1.2 forbids.
    Fragment,
    /// A user name or password before the host (`user@host`).
    Userinfo,
    /// A percent-encoded delimiter (`%2F`, `%5C`, `%40`, `%3F`, `%23`, `%2E`, `%00`, …) before
    /// the query, where servers and browsers disagree on whether it delimits.
    EncodedDelimiter(String),
    /// A `.` or `..` path segment.
    DotSegment,
    /// Not an absolute URI the WHATWG parser accepts (an IPv6 zone, a bad port, no scheme, …).
    Malformed(String),
    /// An http(s) URI without a host.
    NoHost,
}

impl Unsafe {
    /// A few words for an error description.
    pub fn describe(&self) -> String {
        match self {
            Unsafe::TooLong => format!("it is longer than {MAX_URI_CHARS} characters"),
            Unsafe::Whitespace => "it contains whitespace".into(),
            Unsafe::Control => "it contains a control character".into(),
            Unsafe::NonAscii => {
                "it contains non-ASCII characters (send an IDN host as punycode, percent-encode the path)".into()
            }
            Unsafe::Backslash => "it contains a backslash, which browsers read as '/'".into(),
            Unsafe::Fragment => "it has a fragment ('#'), which RFC 6749 section 3.1.2 forbids".into(),
            Unsafe::Userinfo => "it has userinfo ('user@') before the host".into(),
            Unsafe::EncodedDelimiter(seq) => {
                format!("it contains the percent-encoded delimiter '{seq}' before the query")
            }
            Unsafe::DotSegment => "it has a '.' or '..' path segment".into(),
            Unsafe::Malformed(why) => format!("it is not an absolute URI ({why})"),
            Unsafe::NoHost => "it has no host".into(),
        }
    }
}

/// The longest redirect URI accepted.
pub const MAX_URI_CHARS: usize = 2048;

/// Percent-encodings that must not appear before the query: each decodes to a character that
/// delimits (or escapes) parts of a URL, so a decoding and a non-decoding reader disagree.
const ENCODED_DELIMITERS: &[&str] = &[
    "%00", "%09", "%0a", "%0d", "%20", "%23", "%25", "%2e", "%2f", "%3a", "%3f", "%40", "%5c",
];

/// Checks a redirect URI received from outside (or offered for registration) and parses it.
/// Every site that reads a redirect URI calls this first; see [`Unsafe`].
pub fn check(uri: &str) -> Result<url::Url, Unsafe> {
    if uri.len() > MAX_URI_CHARS {
        return Err(Unsafe::TooLong);
    }
    for c in uri.chars() {
        if c.is_whitespace() {
            return Err(Unsafe::Whitespace);
        }
        if c.is_control() {
            return Err(Unsafe::Control);
        }
        if !c.is_ascii() {
            return Err(Unsafe::NonAscii);
        }
        if c == '\\' {
            return Err(Unsafe::Backslash);
        }
        if c == '#' {
            return Err(Unsafe::Fragment);
        }
    }
    let before_query = uri.split('?').next().unwrap_or(uri).to_ascii_lowercase();
    if let Some(seq) = ENCODED_DELIMITERS
        .iter()
        .find(|seq| before_query.contains(*seq))
    {
        return Err(Unsafe::EncodedDelimiter(seq.to_ascii_uppercase()));
    }
    let url = url::Url::parse(uri).map_err(|e| Unsafe::Malformed(e.to_string()))?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err(Unsafe::Userinfo);
    }
    if matches!(url.scheme(), "http" | "https") && url.host().is_none() {
        return Err(Unsafe::NoHost);
    }
    // The parser has already removed dot segments; look at the raw path.
    let raw_path = raw_path(uri);
    if raw_path
        .split('/')
        .any(|segment| segment == "." || segment == "..")
    {
        return Err(Unsafe::DotSegment);
    }
    Ok(url)
}

/// The path of `uri` as sent (before `?`), after the authority when there is one.
fn raw_path(uri: &str) -> &str {
    let before_query = uri.split('?').next().unwrap_or(uri);
    match before_query.find("://") {
        Some(i) => {
            let after = before_query.get(i + 3..).unwrap_or("");
            after.find('/').and_then(|j| after.get(j..)).unwrap_or("")
        }
        None => before_query
            .find(':')
            .and_then(|i| before_query.get(i + 1..))
            .unwrap_or(before_query),
    }
}

/// Whether `received` may be used as the registered `registered`.
///
/// Only two things match: the same string, or — for a registered `http` redirect on a
/// loopback IP literal (`127.0.0.1`, `[::1]`) — the registered URI with another port (RFC 8252
/// §7.3). The port rule is decided on parsed URLs: the received URI must be in the WHATWG
/// parser's own serialization (so that what is compared is what a browser will follow), and
/// equal to the registered one once its port is set to the received port. A received URI that
/// fails [`check`] never matches.
pub fn matches_registered(received: &str, registered: &str) -> bool {
    let Ok(got) = check(received) else {
        return false;
    };
    if received == registered {
        return true;
    }
    let Ok(mut reg) = url::Url::parse(registered) else {
        return false;
    };
    if reg.scheme() != "http" || !is_redirect_loopback_literal(&reg) || got.as_str() != received {
        return false;
    }
    if reg.set_port(got.port()).is_err() {
        return false;
    }
    reg.as_str() == got.as_str()
}

/// Redirect URIs an attacker would try against a client registered with `http://127.0.0.1/cb`,
/// `http://[::1]/cb` or `https://app.example/cb`. None of them may match any of those: every
/// site that compares a redirect URI (registration, authorize, token, logout) runs this table
/// in its tests.
pub const HOSTILE: &[&str] = &[
    // userinfo, raw and disguised
    "http://attacker.example@127.0.0.1/cb",
    "http://attacker.example\\@127.0.0.1/cb",
    "http://attacker.example%5C@127.0.0.1/cb",
    "http://attacker.example%5c%40127.0.0.1/cb",
    "http://attacker.example%40127.0.0.1/cb",
    "http://user:pass@127.0.0.1:5000/cb",
    "http://attacker.example\\@[::1]/cb",
    "https://attacker.example\\@app.example/cb",
    "https://app.example@attacker.example/cb",
    // backslashes
    "http://127.0.0.1:5000\\@attacker.example/cb",
    "http://127.0.0.1\\attacker.example/cb",
    "http:\\\\attacker.example\\@127.0.0.1/cb",
    "https://app.example\\cb",
    // @ in the path, encoded slashes and dots
    "http://127.0.0.1:5000/cb@attacker.example",
    "http://127.0.0.1:5000/cb%2F..%2F..%2Fevil",
    "http://127.0.0.1:5000/%2e%2e/cb",
    "http://127.0.0.1:5000/x/../cb",
    "http://127.0.0.1:5000/./cb",
    "https://app.example/cb/..",
    "https://app.example/x/%2E%2E/cb",
    // whitespace and control characters
    "http://127.0.0.1:5000/cb ",
    " http://127.0.0.1:5000/cb",
    "http://127.0.0.1:5000/cb\t",
    "http://127.0.0.1:5000/c\nb",
    "http://attacker.example\r\n@127.0.0.1/cb",
    "http://127.0.0.1:5000/cb\u{0}",
    "https://app.example/cb%00",
    // IPv6 zones, IDN and look-alike hosts
    "http://[::1%25eth0]:5000/cb",
    "http://[::1%eth0]/cb",
    "http://127.0.0.1\u{3002}attacker.example/cb",
    "https://app\u{2024}example/cb",
    "https://xn--pp-eka.example/cb",
    "http://127.0.0.1.attacker.example:5000/cb",
    "http://0x7f.0.0.1:5000/cb",
    "http://2130706433:5000/cb",
    "http://127.1:5000/cb",
    "http://[::ffff:127.0.0.1]:5000/cb",
    "http://localhost.attacker.example:5000/cb",
    // fragments, ports, schemes
    "http://127.0.0.1:5000/cb#frag",
    "https://app.example/cb#@attacker.example",
    "http://127.0.0.1:99999/cb",
    "http://127.0.0.1:-1/cb",
    "http://127.0.0.1:+5000/cb",
    "http://127.0.0.1:0x50/cb",
    "HTTP://127.0.0.1:5000/cb",
    "https://127.0.0.1:5000/cb",
    "javascript://127.0.0.1/cb%0aalert(1)",
    "javascript:alert(1)//http://127.0.0.1/cb",
    "data:text/html,http://127.0.0.1/cb",
    "file:///cb",
    "//attacker.example/cb",
    "http:/127.0.0.1/cb",
    "http:127.0.0.1/cb",
];

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
    fn hostile_uris_never_match_a_registration() {
        let registered = [
            "http://127.0.0.1/cb",
            "http://[::1]/cb",
            "https://app.example/cb",
            "http://127.0.0.1:5000/cb",
        ];
        for hostile in HOSTILE {
            for reg in registered {
                assert!(
                    !matches_registered(hostile, reg),
                    "{hostile:?} matched {reg:?}"
                );
            }
        }
    }

    #[test]
    fn unsafe_shapes_are_named() {
        let named = |uri: &str| check(uri).err();
        assert_eq!(
            named("http://attacker.example\\@127.0.0.1/cb"),
            Some(Unsafe::Backslash)
        );
        assert_eq!(
            named("http://attacker.example@127.0.0.1/cb"),
            Some(Unsafe::Userinfo)
        );
        assert_eq!(
            named("http://a.example%40127.0.0.1/cb"),
            Some(Unsafe::EncodedDelimiter("%40".into()))
        );
        assert_eq!(named("http://127.0.0.1/x/../cb"), Some(Unsafe::DotSegment));
        assert_eq!(named("http://127.0.0.1/cb#x"), Some(Unsafe::Fragment));
        assert_eq!(named("http://127.0.0.1/cb "), Some(Unsafe::Whitespace));
        assert_eq!(named("http://127.0.0.1/c\u{7f}b"), Some(Unsafe::Control));
        assert_eq!(
            named("https://b\u{fc}cher.example/cb"),
            Some(Unsafe::NonAscii)
        );
        assert!(matches!(
            named("http://[::1%25eth0]/cb"),
            Some(Unsafe::EncodedDelimiter(_))
        ));
        assert!(matches!(
            named("http://[::1/cb"),
            Some(Unsafe::Malformed(_))
        ));
        assert!(matches!(named("/cb"), Some(Unsafe::Malformed(_))));
        assert_eq!(
            named(&format!("https://a.example/{}", "x".repeat(3000))),
            Some(Unsafe::TooLong)
        );
        // A query may carry encoded delimiters (`?next=%2Fhome`); a path with '@' is a path.
        assert!(check("https://app.example/cb?next=%2Fhome%3Fa%3Db").is_ok());
        assert!(check("https://app.example/users/@me/cb").is_ok());
        assert!(check("com.example.app:/callback").is_ok());
        assert!(check("https://xn--bcher-kva.example/cb").is_ok());
    }

    #[test]
    fn the_port_rule_compares_parsed_urls() {
        // The received URI must be in the parser's own form: what is compared is what a
        // browser follows.
        assert!(!matches_registered(
            "http://127.0.0.1:80/cb",
            "http://127.0.0.1/cb"
        ));
        assert!(!matches_registered(
            "http://127.0.0.01:5000/cb",
            "http://127.0.0.1/cb"
        ));
        assert!(!matches_registered(
            "http://[0:0::1]:5000/cb",
            "http://[::1]/cb"
        ));
        assert!(matches_registered(
            "http://127.0.0.1:65535/cb?x=1",
            "http://127.0.0.1/cb?x=1"
        ));
        assert!(!matches_registered(
            "http://127.0.0.1:5000/cb?x=2",
            "http://127.0.0.1/cb?x=1"
        ));
        // localhost is a name, not a literal: it could resolve elsewhere (RFC 8252 §8.3).
        assert!(!matches_registered(
            "http://localhost:5000/cb",
            "http://localhost/cb"
        ));
        assert!(matches_registered(
            "http://localhost/cb",
            "http://localhost/cb"
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
