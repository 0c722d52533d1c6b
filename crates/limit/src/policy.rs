//! A named limit: a [`Rate`] and a burst, the two GCRA parameters.
//!
//! GCRA (the generic cell rate algorithm) keeps one timestamp per caller, the theoretical
//! arrival time (TAT) of its next request. Each allowed request pushes the TAT one emission
//! interval (`window / limit`) further; a request is refused while the TAT is more than
//! `burst - 1` intervals ahead of now. So a caller that has been quiet may send `burst`
//! requests at once, and after that one every interval: the rate is the long-run average, the
//! burst how far ahead of it a caller may run.

use std::num::NonZeroU32;
use std::time::Duration;

use crate::{Error, Rate};

/// The longest a policy may remember a caller (interval × burst). Beyond this the Redis
/// script's microsecond arithmetic (IEEE doubles, exact to 2^53) would lose precision.
const MAX_MEMORY: Duration = Duration::from_secs(100 * 365 * 86_400);

/// Policy names appear in Redis keys and, quoted, in the `RateLimit` headers: a short
/// conservative alphabet keeps both unambiguous without escaping.
const MAX_NAME_LEN: usize = 64;

/// One limit, such as the gateway's `route:orders` or the server's `token`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    name: String,
    rate: Rate,
    burst: NonZeroU32,
}

impl Policy {
    /// A policy named `name` (1–64 of `A-Z a-z 0-9 . _ - : /`) allowing `rate` on average
    /// and up to `burst` requests at once.
    pub fn new(name: impl Into<String>, rate: Rate, burst: u32) -> Result<Policy, Error> {
        let name = name.into();
        let fail = |name: String, reason| Err(Error::Policy { name, reason });
        if name.is_empty() || name.len() > MAX_NAME_LEN {
            return fail(name, "the name must be 1 to 64 characters");
        }
        if !name.bytes().all(is_name_byte) {
            return fail(name, "the name may hold only A-Z a-z 0-9 . _ - : /");
        }
        let Some(burst) = NonZeroU32::new(burst) else {
            return fail(name, "the burst must be at least 1");
        };
        if rate.interval() < Duration::from_micros(1) {
            return fail(name, "the rate is above one million requests per second");
        }
        if rate.interval().saturating_mul(burst.get()) > MAX_MEMORY {
            return fail(name, "interval × burst is above 100 years");
        }
        Ok(Policy { name, rate, burst })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn rate(&self) -> Rate {
        self.rate
    }

    /// Requests a quiet caller may send at once.
    pub fn burst(&self) -> u32 {
        self.burst.get()
    }

    pub(crate) fn burst_nonzero(&self) -> NonZeroU32 {
        self.burst
    }

    /// The emission interval in whole microseconds, the unit of the Redis script.
    pub(crate) fn interval_micros(&self) -> u64 {
        u64::try_from(self.rate.interval().as_micros()).unwrap_or(u64::MAX)
    }
}

fn is_name_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-' | b':' | b'/')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rate(s: &str) -> Rate {
        s.parse().unwrap()
    }

    #[test]
    fn a_policy_checks_its_name_and_burst() {
        assert!(Policy::new("route:orders", rate("100/s"), 20).is_ok());
        assert!(Policy::new("token/client_id", rate("20/s"), 40).is_ok());
        for (name, burst, rate_s, needle) in [
            ("", 1, "1/s", "1 to 64"),
            ("a\"b", 1, "1/s", "may hold only"),
            ("with space", 1, "1/s", "may hold only"),
            ("ünï", 1, "1/s", "may hold only"),
            ("ok", 0, "1/s", "burst"),
            ("ok", 1, "2000000/s", "million"),
            ("ok", 4_000_000_000, "1/d", "100 years"),
        ] {
            let err = Policy::new(name, rate(rate_s), burst).unwrap_err();
            assert!(err.to_string().contains(needle), "{name}: {err}");
        }
        assert!(Policy::new("x".repeat(65), rate("1/s"), 1).is_err());
    }

    #[test]
    fn the_interval_is_in_microseconds() {
        let p = Policy::new("p", rate("3/s"), 1).unwrap();
        assert_eq!(p.interval_micros(), 333_333);
    }
}
