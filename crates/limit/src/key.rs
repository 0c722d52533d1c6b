//! Whom a limit counts: which part of a request names the caller, and how a caller's key is
//! held so that a hostile one (huge, binary, endlessly varied) costs a bounded amount.
//!
//! The caller of this crate extracts the value: the client_id it authenticated, the token's
//! subject, the API key header, or the client address — that last one from
//! `candor_proto::forwarded::client_ip`, which believes `X-Forwarded-For` only from
//! configured trusted proxies — and passes it to [`crate::Limit::check`].

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use aws_lc_rs::digest::{SHA256, digest};
use http::HeaderName;

use crate::Error;

/// What a limit is keyed by.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(try_from = "String")]
pub enum KeyKind {
    /// The OAuth client, as authenticated (or, at the gateway, the token's `client_id`).
    ClientId,
    /// The end user: the token's `sub`.
    Subject,
    /// The value of a request header carrying an API key.
    ApiKey { header: HeaderName },
    /// The client address; IPv6 counted by its /64 (see [`ip_key`]).
    Ip,
}

/// The header an `api_key` limit reads when the configuration names none.
pub const DEFAULT_API_KEY_HEADER: &str = "x-api-key";

impl FromStr for KeyKind {
    type Err = Error;

    /// `client_id`, `subject`, `ip`, `api_key` (header `x-api-key`) or `api_key:<header>`.
    fn from_str(input: &str) -> Result<KeyKind, Error> {
        let fail = |reason| Error::KeyKind {
            input: input.to_string(),
            reason,
        };
        let (kind, header) = match input.trim().split_once(':') {
            Some((kind, header)) => (kind.trim(), Some(header.trim())),
            None => (input.trim(), None),
        };
        match (kind, header) {
            ("client_id", None) => Ok(KeyKind::ClientId),
            ("subject", None) => Ok(KeyKind::Subject),
            ("ip", None) => Ok(KeyKind::Ip),
            ("api_key", header) => {
                let header = header.unwrap_or(DEFAULT_API_KEY_HEADER);
                HeaderName::from_bytes(header.to_ascii_lowercase().as_bytes())
                    .map(|header| KeyKind::ApiKey { header })
                    .map_err(|_| fail("the API key header is not a valid header name"))
            }
            ("client_id" | "subject" | "ip", Some(_)) => {
                Err(fail("only api_key takes a header (api_key:<header>)"))
            }
            _ => Err(fail(
                "expected client_id, subject, ip, api_key or api_key:<header>",
            )),
        }
    }
}

impl TryFrom<String> for KeyKind {
    type Error = Error;

    fn try_from(value: String) -> Result<KeyKind, Error> {
        value.parse()
    }
}

impl fmt::Display for KeyKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeyKind::ClientId => f.write_str("client_id"),
            KeyKind::Subject => f.write_str("subject"),
            KeyKind::Ip => f.write_str("ip"),
            KeyKind::ApiKey { header } => write!(f, "api_key:{header}"),
        }
    }
}

/// The key an address is counted under, as 16 bytes to pass to [`crate::Limit::check`]:
/// IPv4 (and IPv4-mapped IPv6) as is, other IPv6 by its /64 — the block one subscriber is
/// given, so that one host cannot walk through 2^64 fresh keys.
pub fn ip_key(ip: IpAddr) -> [u8; 16] {
    match ip {
        IpAddr::V4(v4) => v4.to_ipv6_mapped().octets(),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_ipv6_mapped().octets(),
            None => (u128::from(v6) & !u128::from(u64::MAX)).to_be_bytes(),
        },
    }
}

/// Keys up to this length are held as they are; longer ones by their SHA-256.
const INLINE: usize = 32;

/// A caller's key as the local limiter holds it: fixed-size, so a check allocates nothing
/// and a megabyte of header costs 33 bytes. Short keys are copied (no hashing on the hot
/// path); long ones are digested, and the tag keeps the two apart, so no short key can equal
/// a long key's digest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct LocalKey {
    /// The length for an inline key (0–32), or [`DIGESTED`] / [`OVERFLOW`].
    tag: u8,
    bytes: [u8; INLINE],
}

const DIGESTED: u8 = 0xfe;
const OVERFLOW: u8 = 0xff;

impl LocalKey {
    pub(crate) fn new(key: &[u8]) -> LocalKey {
        let mut bytes = [0u8; INLINE];
        if let Ok(tag) = u8::try_from(key.len())
            && key.len() <= INLINE
        {
            bytes.iter_mut().zip(key).for_each(|(b, k)| *b = *k);
            return LocalKey { tag, bytes };
        }
        bytes
            .iter_mut()
            .zip(digest(&SHA256, key).as_ref())
            .for_each(|(b, d)| *b = *d);
        LocalKey {
            tag: DIGESTED,
            bytes,
        }
    }

    /// The one key every new caller shares once a policy holds its maximum of keys.
    pub(crate) const OVERFLOW: LocalKey = LocalKey {
        tag: OVERFLOW,
        bytes: [0; INLINE],
    };
}

/// A caller's key as it appears in a Redis key name: always its SHA-256, base64url — 43
/// characters whatever the input, no separator or binary byte, and never the raw value,
/// since an API key is a secret and Redis is readable by whoever operates it.
pub(crate) fn redis_key_part(key: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(digest(&SHA256, key))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_kinds_parse_and_print() {
        for (input, kind) in [
            ("client_id", KeyKind::ClientId),
            ("subject", KeyKind::Subject),
            (" ip ", KeyKind::Ip),
            (
                "api_key",
                KeyKind::ApiKey {
                    header: HeaderName::from_static("x-api-key"),
                },
            ),
            (
                "api_key:X-Orders-Key",
                KeyKind::ApiKey {
                    header: HeaderName::from_static("x-orders-key"),
                },
            ),
        ] {
            assert_eq!(input.parse::<KeyKind>(), Ok(kind.clone()), "{input}");
            assert_eq!(kind.to_string().parse::<KeyKind>(), Ok(kind));
        }
        for (input, needle) in [
            ("client", "expected client_id"),
            ("ip:x-real-ip", "only api_key"),
            ("api_key:bad header", "not a valid header"),
            ("", "expected"),
        ] {
            let err = input.parse::<KeyKind>().unwrap_err().to_string();
            assert!(err.contains(needle), "{input}: {err}");
        }
    }

    #[test]
    fn ipv6_counts_by_its_64_and_mapped_v4_as_v4() {
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        assert_eq!(
            ip_key(ip("2001:db8:1:2::1")),
            ip_key(ip("2001:db8:1:2:ffff::9"))
        );
        assert_ne!(ip_key(ip("2001:db8:1:2::1")), ip_key(ip("2001:db8:1:3::1")));
        assert_eq!(ip_key(ip("::ffff:192.0.2.1")), ip_key(ip("192.0.2.1")));
        assert_ne!(ip_key(ip("192.0.2.1")), ip_key(ip("192.0.2.2")));
    }

    #[test]
    fn local_keys_are_fixed_size_and_distinct() {
        let short = LocalKey::new(b"client-a");
        assert_eq!(short, LocalKey::new(b"client-a"));
        assert_ne!(short, LocalKey::new(b"client-b"));
        // A trailing NUL is not padding: lengths differ, so keys differ.
        assert_ne!(LocalKey::new(b"a"), LocalKey::new(b"a\0"));
        assert_ne!(LocalKey::new(b""), LocalKey::OVERFLOW);
        let long = vec![b'x'; 1 << 20];
        assert_eq!(LocalKey::new(&long), LocalKey::new(&long));
        assert_ne!(LocalKey::new(&long), LocalKey::new(&long[1..]));
        // The 33-byte key whose first 32 bytes are a short key's: digested, not truncated.
        assert_ne!(LocalKey::new(&[b'y'; 33]), LocalKey::new(&[b'y'; 32]));
        assert_eq!(std::mem::size_of::<LocalKey>(), 33);
    }

    #[test]
    fn redis_key_parts_are_43_safe_characters() {
        for key in [
            &b""[..],
            b"client-a",
            &[0u8, 0xff, b':', b'{', b'\n'],
            &[b'k'; 100_000],
        ] {
            let part = redis_key_part(key);
            assert_eq!(part.len(), 43);
            assert!(
                part.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            );
        }
        assert_ne!(redis_key_part(b"a"), redis_key_part(b"b"));
    }
}

/// The key a caller is counted under for `kind`: `value` (the client_id, subject or API key
/// the caller found for it) when there is one, else the caller's address — each tagged by
/// its kind, so that a client named like an address never shares an address's budget. A
/// caller without the value (no token on an optional route, no API-key header) is thus
/// still limited, by address.
pub fn caller_key(kind: &KeyKind, value: Option<&[u8]>, ip: IpAddr) -> Vec<u8> {
    let tag = match kind {
        KeyKind::ClientId => b'c',
        KeyKind::Subject => b's',
        KeyKind::ApiKey { .. } => b'k',
        KeyKind::Ip => b'i',
    };
    let (tag, value): (u8, &[u8]) = match value.filter(|v| !v.is_empty()) {
        Some(v) if *kind != KeyKind::Ip => (tag, v),
        _ => (b'i', &ip_key(ip)[..]),
    };
    let mut key = Vec::with_capacity(value.len() + 1);
    key.push(tag);
    key.extend_from_slice(value);
    key
}

#[cfg(test)]
mod caller_key_tests {
    use super::*;

    #[test]
    fn kinds_never_share_a_key_and_missing_values_fall_back_to_the_address() {
        let ip: IpAddr = [192, 0, 2, 1].into();
        let client = caller_key(&KeyKind::ClientId, Some(b"abc"), ip);
        let subject = caller_key(&KeyKind::Subject, Some(b"abc"), ip);
        assert_ne!(client, subject);
        let by_ip = caller_key(&KeyKind::Ip, None, ip);
        assert_eq!(caller_key(&KeyKind::ClientId, None, ip), by_ip);
        assert_eq!(caller_key(&KeyKind::ClientId, Some(b""), ip), by_ip);
        assert_eq!(caller_key(&KeyKind::Ip, Some(b"ignored"), ip), by_ip);
    }
}
