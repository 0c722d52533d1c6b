//! Connections per peer address: one peer (an IPv4 address, an IPv6 /64 — what one host or
//! one customer of a hosting provider is commonly given) holds at most its share of the
//! listener's slots.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

/// What an address is counted as: IPv4 as is, IPv6 by its /64 (IPv4-mapped ones as IPv4).
fn key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let [a, b, c, d, ..] = v6.segments();
                IpAddr::from([a, b, c, d, 0, 0, 0, 0])
            }
        },
    }
}

/// Open connections by address. Only addresses with a connection open have an entry, so the
/// table holds at most `max_connections` entries.
#[derive(Clone)]
pub(crate) struct Counts {
    max: usize,
    exempt: Arc<[ipnet::IpNet]>,
    open: Arc<Mutex<HashMap<IpAddr, usize>>>,
}

/// One connection's share, given back when dropped.
pub(crate) struct Held {
    key: IpAddr,
    open: Arc<Mutex<HashMap<IpAddr, usize>>>,
}

impl Drop for Held {
    fn drop(&mut self) {
        if let Ok(mut open) = self.open.lock()
            && let Some(n) = open.get_mut(&self.key)
        {
            *n -= 1;
            if *n == 0 {
                open.remove(&self.key);
            }
        }
    }
}

impl Counts {
    /// At most `max` connections per address (0: no cap), none for `exempt` peers.
    pub(crate) fn new(max: usize, exempt: Vec<ipnet::IpNet>) -> Counts {
        Counts {
            max,
            exempt: exempt.into(),
            open: Arc::default(),
        }
    }

    /// A share for a new connection from `ip`: `Ok(None)` when uncounted, `Err` past the cap.
    pub(crate) fn take(&self, ip: IpAddr) -> Result<Option<Held>, ()> {
        if self.max == 0 || self.exempt.iter().any(|n| n.contains(&ip)) {
            return Ok(None);
        }
        let key = key(ip);
        let mut open = self.open.lock().map_err(|_| ())?;
        let n = open.entry(key).or_insert(0);
        if *n >= self.max {
            return Err(());
        }
        *n += 1;
        Ok(Some(Held {
            key,
            open: self.open.clone(),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_address_gets_its_share_and_a_slash_64_is_one_address() {
        let c = Counts::new(2, vec!["10.0.0.0/8".parse().unwrap_or_default()]);
        let a: IpAddr = [192, 0, 2, 1].into();
        let one = c.take(a);
        let two = c.take(a);
        assert!(matches!((&one, &two), (Ok(Some(_)), Ok(Some(_)))));
        assert!(c.take(a).is_err());
        assert!(c.take([192, 0, 2, 2].into()).is_ok(), "another address");
        drop(one);
        assert!(
            c.take(a).is_ok(),
            "a closed connection gives its share back"
        );
        let v6 = |last: u16| IpAddr::from([0x2001, 0xdb8, 1, 2, 0, 0, 0, last]);
        let _x = c.take(v6(1));
        let _y = c.take(v6(2));
        assert!(c.take(v6(3)).is_err(), "the same /64");
        assert!(c.take([10, 1, 1, 1].into()).is_ok_and(|h| h.is_none()));
        let off = Counts::new(0, Vec::new());
        assert!((0..10).all(|_| off.take(a).is_ok_and(|h| h.is_none())));
        drop(two);
        assert!(c.open.lock().map(|o| o.len()).unwrap_or(0) <= 3);
    }
}
