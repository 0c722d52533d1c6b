//! Who sent a request: the peer, or — only when the peer is a trusted reverse proxy — the
//! client named by `X-Forwarded-For`. Anyone can write that header; believing it from an
//! untrusted peer would let every request claim a fresh address and walk around per-address
//! limits.

use std::net::IpAddr;

use ipnet::IpNet;

/// [`client_ip`] of a request with `headers`: its `X-Forwarded-For` values, in order (a value
/// that is not visible ASCII is skipped). Nothing is read when no proxy is trusted.
pub fn client_ip_of(peer: IpAddr, headers: &http::HeaderMap, trusted: &[IpNet]) -> IpAddr {
    if trusted.is_empty() {
        return peer;
    }
    let forwarded: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect();
    client_ip(peer, &forwarded, trusted)
}

/// The client's address for a request that arrived from `peer` with these `X-Forwarded-For`
/// header values (in order). The list is read from the right: each hop appends the address it
/// received from, so the first address from the right that is not a trusted proxy is the
/// client. An unparsable entry stops the walk at the last address known to be genuine.
pub fn client_ip(peer: IpAddr, forwarded_for: &[&str], trusted: &[IpNet]) -> IpAddr {
    let is_trusted = |ip: IpAddr| trusted.iter().any(|net| net.contains(&ip));
    if !is_trusted(peer) {
        return peer;
    }
    let mut client = peer;
    let hops = forwarded_for
        .iter()
        .flat_map(|value| value.split(','))
        .map(str::trim)
        .filter(|hop| !hop.is_empty());
    for hop in hops.collect::<Vec<_>>().into_iter().rev() {
        let Some(ip) = parse_hop(hop) else {
            return client;
        };
        client = ip;
        if !is_trusted(ip) {
            return ip;
        }
    }
    client
}

/// One `X-Forwarded-For` entry: an address, possibly `[v6]`, possibly with a port.
fn parse_hop(hop: &str) -> Option<IpAddr> {
    if let Ok(ip) = hop.parse::<IpAddr>() {
        return Some(ip);
    }
    if let Ok(addr) = hop.parse::<std::net::SocketAddr>() {
        return Some(addr.ip());
    }
    hop.strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .and_then(|h| h.parse().ok())
}

/// Parses trusted-proxy entries: addresses (`10.0.0.1`) or CIDR ranges (`10.0.0.0/8`).
pub fn parse_trusted(entries: &[String]) -> Result<Vec<IpNet>, String> {
    entries
        .iter()
        .map(|e| {
            e.parse::<IpNet>()
                .or_else(|_| e.parse::<IpAddr>().map(IpNet::from))
                .map_err(|_| format!("'{e}' is neither an IP address nor a CIDR range"))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap_or(IpAddr::from([0, 0, 0, 0]))
    }

    #[test]
    fn forwarded_for_counts_only_behind_a_trusted_proxy() {
        let trusted = parse_trusted(&["10.0.0.0/8".into(), "192.0.2.7".into()]).unwrap_or_default();
        // Untrusted peer: its header is a lie as far as we know.
        assert_eq!(
            client_ip(ip("203.0.113.9"), &["1.2.3.4"], &trusted),
            ip("203.0.113.9")
        );
        // Trusted proxy: the rightmost untrusted hop is the client, whatever the client
        // prepended.
        assert_eq!(
            client_ip(ip("10.1.1.1"), &["6.6.6.6, 198.51.100.4"], &trusted),
            ip("198.51.100.4")
        );
        assert_eq!(
            client_ip(
                ip("10.1.1.1"),
                &["6.6.6.6", "198.51.100.4, 10.2.2.2"],
                &trusted
            ),
            ip("198.51.100.4")
        );
        // No header, an empty one, garbage: the proxy itself, or the last genuine hop.
        assert_eq!(client_ip(ip("10.1.1.1"), &[], &trusted), ip("10.1.1.1"));
        assert_eq!(
            client_ip(ip("10.1.1.1"), &[" , "], &trusted),
            ip("10.1.1.1")
        );
        assert_eq!(
            client_ip(ip("10.1.1.1"), &["198.51.100.4, nonsense"], &trusted),
            ip("10.1.1.1")
        );
        assert_eq!(
            client_ip(ip("192.0.2.7"), &["[2001:db8::1]:443"], &trusted),
            ip("2001:db8::1")
        );
        assert_eq!(
            client_ip(ip("10.1.1.1"), &["198.51.100.4:8080"], &trusted),
            ip("198.51.100.4")
        );
        // Every hop trusted: the leftmost.
        assert_eq!(
            client_ip(ip("10.1.1.1"), &["10.3.3.3"], &trusted),
            ip("10.3.3.3")
        );
    }

    #[test]
    fn trusted_entries_are_checked() {
        assert!(parse_trusted(&["10.0.0.0/33".into()]).is_err());
        assert!(parse_trusted(&["proxy.internal".into()]).is_err());
        assert_eq!(parse_trusted(&["::1".into()]).map(|v| v.len()), Ok(1));
    }
}
