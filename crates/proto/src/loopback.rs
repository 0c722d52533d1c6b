//! Whether a host is this machine — the one answer to "may this be plain http?" for the
//! server (issuers, redirect URIs), the client (what it fetches) and the doctor (what it calls
//! insecure), and the subset RFC 8252 §7.3 gives a redirect URI's port freedom to.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// `localhost` and names under `.localhost` (RFC 6761 §6.3: they resolve to loopback, and
/// browsers treat them as secure contexts), any address in 127.0.0.0/8, `::1`, and `::1`'s
/// IPv4-mapped forms of those. `host` as a URL carries it: a name, an IPv4 literal, or an
/// IPv6 literal with or without its brackets. Case-insensitive; anything else is not.
pub fn is_loopback_host(host: &str) -> bool {
    let h = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    let lower = h.to_ascii_lowercase();
    if lower == "localhost" || lower.ends_with(".localhost") {
        return true;
    }
    lower.parse::<IpAddr>().is_ok_and(is_loopback_ip)
}

/// 127.0.0.0/8, `::1`, and the IPv4-mapped forms of the former.
fn is_loopback_ip(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(ip) => ip.is_loopback(),
        IpAddr::V6(ip) => {
            ip.is_loopback() || ip.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
        }
    }
}

/// Whether `url`'s host is this machine ([`is_loopback_host`]).
pub fn is_loopback_url(url: &url::Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => is_loopback_host(d),
        Some(url::Host::Ipv4(ip)) => is_loopback_ip(IpAddr::V4(ip)),
        Some(url::Host::Ipv6(ip)) => is_loopback_ip(IpAddr::V6(ip)),
        None => false,
    }
}

/// Whether `url` is plain http to a host other than this machine: what a token, a code or a
/// secret must never travel over.
pub fn is_insecure_http(url: &url::Url) -> bool {
    url.scheme() == "http" && !is_loopback_url(url)
}

/// The loopback IP literals RFC 8252 §7.3 names for native apps' redirect URIs —
/// `127.0.0.1` and `[::1]` exactly — whose port the authorization server must let the client
/// choose at request time. Names (`localhost`) and other loopback addresses keep their port.
pub fn is_redirect_loopback_literal(url: &url::Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => ip == Ipv4Addr::LOCALHOST,
        Some(url::Host::Ipv6(ip)) => ip == Ipv6Addr::LOCALHOST,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_hosts() {
        for h in [
            "localhost",
            "LocalHost",
            "app.localhost",
            "a.b.LOCALHOST",
            "127.0.0.1",
            "127.0.0.2",
            "127.255.255.254",
            "[::1]",
            "::1",
            "[0:0:0:0:0:0:0:1]",
            "[::ffff:127.0.0.1]",
        ] {
            assert!(is_loopback_host(h), "{h}");
        }
        for h in [
            "example.com",
            "localhost.example.com",
            "notlocalhost",
            "127.0.0.1.nip.io",
            "0.0.0.0",
            "128.0.0.1",
            "[::2]",
            "[::ffff:10.0.0.1]",
            "[::1",
            "",
        ] {
            assert!(!is_loopback_host(h), "{h}");
        }
    }

    #[test]
    fn plain_http_is_insecure_unless_loopback() {
        let insecure = |u: &str| is_insecure_http(&url::Url::parse(u).unwrap());
        assert!(!insecure("http://localhost:8080/x"));
        assert!(!insecure("http://app.localhost/x"));
        assert!(!insecure("http://127.0.0.2/x"));
        assert!(!insecure("http://[::1]:9000/x"));
        assert!(!insecure("https://idp.example/x"));
        assert!(insecure("http://idp.example/x"));
        assert!(insecure("http://localhost.idp.example/x"));
        // The WHATWG parser reads these as the loopback address; so does the rule.
        assert!(!insecure("http://0x7f000001/x"));
        assert!(!insecure("http://2130706433/x"));
    }

    #[test]
    fn only_the_two_literals_get_port_freedom() {
        let literal = |u: &str| is_redirect_loopback_literal(&url::Url::parse(u).unwrap());
        assert!(literal("http://127.0.0.1:5000/cb"));
        assert!(literal("http://[::1]/cb"));
        assert!(!literal("http://127.0.0.2/cb"));
        assert!(!literal("http://localhost/cb"));
        assert!(!literal("http://app.localhost/cb"));
    }
}
