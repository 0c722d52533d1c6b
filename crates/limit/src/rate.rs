//! Rates as configuration writes them: `"100/s"`, `"600/min"`, `"10/30s"`, `"5000/h"`.

use std::fmt;
use std::num::NonZeroU32;
use std::str::FromStr;
use std::time::Duration;

use crate::Error;

/// `limit` requests per `window`. The window is a whole number of seconds, because the
/// `RateLimit-Policy` header can only say whole seconds (`w`), and a rate the header cannot
/// state honestly is better refused at startup.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(try_from = "String")]
pub struct Rate {
    limit: NonZeroU32,
    window_secs: NonZeroU32,
}

impl Rate {
    /// `limit` requests every `window_secs` seconds.
    pub const fn new(limit: NonZeroU32, window_secs: NonZeroU32) -> Rate {
        Rate { limit, window_secs }
    }

    /// Requests allowed per window, on average.
    pub fn limit(&self) -> u32 {
        self.limit.get()
    }

    /// The window, in seconds.
    pub fn window_secs(&self) -> u32 {
        self.window_secs.get()
    }

    pub fn window(&self) -> Duration {
        Duration::from_secs(u64::from(self.window_secs.get()))
    }

    /// The GCRA emission interval: one request's worth of time, `window / limit`.
    pub fn interval(&self) -> Duration {
        self.window() / self.limit.get()
    }
}

impl fmt::Display for Rate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let w = self.window_secs.get();
        let (count, unit) = match w {
            _ if w.is_multiple_of(86_400) => (w / 86_400, "d"),
            _ if w.is_multiple_of(3_600) => (w / 3_600, "h"),
            _ if w.is_multiple_of(60) => (w / 60, "min"),
            _ => (w, "s"),
        };
        if count == 1 {
            write!(f, "{}/{unit}", self.limit)
        } else {
            write!(f, "{}/{count}{unit}", self.limit)
        }
    }
}

impl FromStr for Rate {
    type Err = Error;

    fn from_str(input: &str) -> Result<Rate, Error> {
        let fail = |reason| Error::Rate {
            input: input.to_string(),
            reason,
        };
        let (limit, window) = input
            .split_once('/')
            .ok_or_else(|| fail("expected <requests>/<window>, such as 100/s or 600/min"))?;
        let limit = limit
            .trim()
            .parse::<NonZeroU32>()
            .map_err(|_| fail("the request count must be a whole number from 1"))?;
        let window = window.trim();
        let digits = window
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(window.len());
        let (count, unit) = window.split_at(digits);
        let count = match count {
            "" => 1,
            n => n
                .parse::<u32>()
                .map_err(|_| fail("the window count is too large"))?,
        };
        let unit_secs: u32 = match unit.trim() {
            "s" | "sec" | "second" | "seconds" => 1,
            "m" | "min" | "minute" | "minutes" => 60,
            "h" | "hour" | "hours" => 3_600,
            "d" | "day" | "days" => 86_400,
            "ms" | "us" | "µs" | "ns" => {
                return Err(fail(
                    "windows are whole seconds (RateLimit-Policy cannot say less); write 10/s, not 1/100ms",
                ));
            }
            "" => return Err(fail("the window needs a unit: s, min, h or d")),
            _ => return Err(fail("unknown window unit; use s, min, h or d")),
        };
        let window_secs = count
            .checked_mul(unit_secs)
            .and_then(NonZeroU32::new)
            .ok_or_else(|| fail("the window must be from 1 second to about 136 years"))?;
        Ok(Rate { limit, window_secs })
    }
}

impl TryFrom<String> for Rate {
    type Error = Error;

    fn try_from(value: String) -> Result<Rate, Error> {
        value.parse()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rate(s: &str) -> Result<(u32, u32), Error> {
        s.parse::<Rate>().map(|r| (r.limit(), r.window_secs()))
    }

    #[test]
    fn the_usual_forms_parse() {
        assert_eq!(rate("100/s"), Ok((100, 1)));
        assert_eq!(rate("600/min"), Ok((600, 60)));
        assert_eq!(rate("10/1s"), Ok((10, 1)));
        assert_eq!(rate("10/30s"), Ok((10, 30)));
        assert_eq!(rate("5000/h"), Ok((5000, 3600)));
        assert_eq!(rate("100000/d"), Ok((100_000, 86_400)));
        assert_eq!(rate(" 20 / 5min "), Ok((20, 300)));
        assert_eq!(rate("1/m"), Ok((1, 60)));
    }

    #[test]
    fn bad_rates_say_why() {
        for (input, needle) in [
            ("100", "expected <requests>/<window>"),
            ("0/s", "from 1"),
            ("-1/s", "from 1"),
            ("x/s", "from 1"),
            ("10/", "needs a unit"),
            ("10/5", "needs a unit"),
            ("10/0s", "from 1 second"),
            ("10/100ms", "whole seconds"),
            ("10/fortnight", "unknown window unit"),
            ("10/99999999999s", "too large"),
            ("10/4294967295h", "from 1 second"),
        ] {
            let err = rate(input).unwrap_err().to_string();
            assert!(err.contains(needle), "{input}: {err}");
            assert!(
                err.contains(input),
                "{input}: the message names the input: {err}"
            );
        }
    }

    #[test]
    fn display_round_trips() {
        for s in ["100/s", "10/30s", "600/min", "20/5min", "5000/h", "7/d"] {
            assert_eq!(s.parse::<Rate>().unwrap().to_string(), s);
        }
        assert_eq!("1/60s".parse::<Rate>().unwrap().to_string(), "1/min");
    }

    #[test]
    fn interval_is_window_over_limit() {
        assert_eq!(
            "100/s".parse::<Rate>().unwrap().interval(),
            Duration::from_millis(10)
        );
        assert_eq!(
            "600/min".parse::<Rate>().unwrap().interval(),
            Duration::from_millis(100)
        );
    }
}
