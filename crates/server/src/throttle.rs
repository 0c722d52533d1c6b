//! Rate limits on sign-in, per client address and per client application (GCRA, `governor`),
//! beside the per-account lock of [`crate::login`]: the account lock stops a guesser that
//! targets one user; these stop one that sprays one guess at each of many users, from one
//! network or through one application.
//!
//! The limits live in this process's memory: each node enforces them on its own share of
//! the traffic. IPv6 addresses are counted by /64, the block one subscriber is given.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

/// A rate: `per_minute` on average, up to `burst` at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    pub per_minute: u32,
    pub burst: u32,
}

impl Rate {
    fn quota(self) -> Quota {
        let per_minute = NonZeroU32::new(self.per_minute).unwrap_or(NonZeroU32::MIN);
        let burst = NonZeroU32::new(self.burst).unwrap_or(NonZeroU32::MIN);
        Quota::per_minute(per_minute).allow_burst(burst)
    }
}

/// Which limit refused an attempt, and when to try again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limited {
    Address { retry_after: Duration },
    Client { retry_after: Duration },
}

/// The sign-in limits of one node.
pub struct Throttles {
    per_address: DefaultKeyedRateLimiter<u128>,
    per_client: DefaultKeyedRateLimiter<String>,
    clock: DefaultClock,
}

impl std::fmt::Debug for Throttles {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Throttles")
            .field("addresses", &self.per_address.len())
            .field("clients", &self.per_client.len())
            .finish()
    }
}

/// The key an address is counted under: IPv4 as is, IPv6 by its /64.
fn address_key(ip: IpAddr) -> u128 {
    match ip {
        IpAddr::V4(v4) => u128::from(u32::from(v4)),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => u128::from(u32::from(v4)),
            None => (u128::from(v6) & !((1u128 << 64) - 1)) | 1,
        },
    }
}

impl Throttles {
    pub fn new(per_address: Rate, per_client: Rate) -> Throttles {
        Throttles {
            per_address: RateLimiter::keyed(per_address.quota()),
            per_client: RateLimiter::keyed(per_client.quota()),
            clock: DefaultClock::default(),
        }
    }

    /// Counts one sign-in attempt from `address` through `client_id`; refused when either is
    /// over its rate.
    pub fn sign_in(&self, address: IpAddr, client_id: &str) -> Result<(), Limited> {
        let now = self.clock.now();
        self.per_address
            .check_key(&address_key(address))
            .map_err(|n| Limited::Address {
                retry_after: n.wait_time_from(now),
            })?;
        self.per_client
            .check_key(&client_id.to_string())
            .map_err(|n| Limited::Client {
                retry_after: n.wait_time_from(now),
            })
    }

    /// Forgets keys whose budget is full again, so that the maps hold only recent callers.
    pub fn forget_idle(&self) {
        self.per_address.retain_recent();
        self.per_address.shrink_to_fit();
        self.per_client.retain_recent();
        self.per_client.shrink_to_fit();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_limit_refuses_past_its_burst() {
        let t = Throttles::new(
            Rate {
                per_minute: 1,
                burst: 2,
            },
            Rate {
                per_minute: 1,
                burst: 3,
            },
        );
        let a: IpAddr = [192, 0, 2, 1].into();
        let b: IpAddr = [192, 0, 2, 2].into();
        assert!(t.sign_in(a, "app").is_ok());
        assert!(t.sign_in(a, "app").is_ok());
        assert!(matches!(t.sign_in(a, "app"), Err(Limited::Address { .. })));
        // Another address, same client: the client's budget of 3 runs out on the next.
        assert!(t.sign_in(b, "app").is_ok());
        assert!(matches!(t.sign_in(b, "app"), Err(Limited::Client { .. })));
        assert!(
            t.sign_in(b, "other").is_err(),
            "b's own budget of 2 is spent"
        );
        assert!(t.sign_in([192, 0, 2, 3].into(), "other").is_ok());
    }

    #[test]
    fn ipv6_is_counted_by_its_64_block() {
        let one: IpAddr = "2001:db8:1:2::1".parse().unwrap_or(IpAddr::from([0; 16]));
        let two: IpAddr = "2001:db8:1:2:ffff::9"
            .parse()
            .unwrap_or(IpAddr::from([0; 16]));
        let other: IpAddr = "2001:db8:1:3::1".parse().unwrap_or(IpAddr::from([0; 16]));
        assert_eq!(address_key(one), address_key(two));
        assert_ne!(address_key(one), address_key(other));
        let mapped: IpAddr = "::ffff:192.0.2.1".parse().unwrap_or(IpAddr::from([0; 16]));
        assert_eq!(address_key(mapped), address_key([192, 0, 2, 1].into()));
    }
}
