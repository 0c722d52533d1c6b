//! Query parameters of the admin API, which the CLI's flags also become: one parser for
//! both. Times are `1h` (that long ago), Unix seconds, or RFC 3339.

use crate::stats::{Dimension, Filter, Interval, StatsQuery, StatusFilter};
use crate::{CallsError, Result, Source};

/// Parameters as `(name, value)` pairs, in order.
pub type Params = Vec<(String, String)>;

/// Parses `a=b&c=d`.
pub fn parse_query(query: Option<&str>) -> Params {
    form_urlencoded::parse(query.unwrap_or("").as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

fn bad(name: &str, why: impl std::fmt::Display) -> CallsError {
    CallsError::Query(format!("{name}: {why}"))
}

/// A point in time, Unix seconds: `15m`/`2h`/`7d` ago, a Unix time, or RFC 3339.
pub fn parse_time(name: &str, value: &str, now: i64) -> Result<i64> {
    let v = value.trim();
    if let Ok(n) = v.parse::<i64>() {
        return Ok(n);
    }
    if let Ok(d) = humantime::parse_duration(v) {
        let secs = i64::try_from(d.as_secs()).map_err(|_| bad(name, "too long ago"))?;
        return Ok(now.saturating_sub(secs));
    }
    humantime::parse_rfc3339_weak(v)
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .and_then(|d| i64::try_from(d.as_secs()).ok())
        .ok_or_else(|| {
            bad(
                name,
                format!("'{v}' is not a duration ago (1h), a Unix time or an RFC 3339 time"),
            )
        })
}

/// Reads a filter from the parameters it knows, refusing a repeated one.
pub fn filter(params: &Params) -> Result<Filter> {
    let mut f = Filter::default();
    for (k, v) in params {
        let once = |slot: &Option<String>| {
            if slot.is_some() {
                Err(bad(k, "given twice"))
            } else {
                Ok(Some(v.clone()))
            }
        };
        match k.as_str() {
            "client" | "client_id" => f.client_id = once(&f.client_id)?,
            "route" | "endpoint" => f.route = once(&f.route)?,
            "upstream" => f.upstream = once(&f.upstream)?,
            "diagnosis" => f.diagnosis = once(&f.diagnosis)?,
            "status" => {
                if f.status.is_some() {
                    return Err(bad(k, "given twice"));
                }
                f.status = Some(StatusFilter::parse(v)?);
            }
            "source" => {
                f.source = Some(
                    Source::parse(v)
                        .ok_or_else(|| bad(k, "expected gateway, server or identity"))?,
                )
            }
            "refused" => f.refused_only = matches!(v.as_str(), "true" | "1" | "yes"),
            _ => {}
        }
    }
    Ok(f)
}

fn one<'a>(params: &'a Params, name: &str) -> Result<Option<&'a str>> {
    let mut it = params
        .iter()
        .filter(|(k, _)| k == name)
        .map(|(_, v)| v.as_str());
    let first = it.next();
    if it.next().is_some() {
        return Err(bad(name, "given twice"));
    }
    Ok(first)
}

/// Names the parameters of a statistics query take; anything else is refused, so that a
/// typo is not silently a different query.
const STATS_PARAMS: &[&str] = &[
    "since",
    "until",
    "by",
    "interval",
    "limit",
    "client",
    "client_id",
    "route",
    "endpoint",
    "upstream",
    "diagnosis",
    "status",
    "source",
    "refused",
];
const TAIL_PARAMS: &[&str] = &[
    "since",
    "after",
    "limit",
    "client",
    "client_id",
    "route",
    "endpoint",
    "upstream",
    "diagnosis",
    "status",
    "source",
    "refused",
];

fn known(params: &Params, names: &[&str]) -> Result<()> {
    match params.iter().find(|(k, _)| !names.contains(&k.as_str())) {
        Some((k, _)) => Err(bad(
            k,
            format!("unknown parameter; known: {}", names.join(", ")),
        )),
        None => Ok(()),
    }
}

/// A statistics query: `since` (default 1h), `until` (default now), `by` (comma-separated
/// dimensions), `interval` (minute, hour, day), `limit`, and the filter's parameters.
pub fn stats_query(params: &Params, now: i64) -> Result<StatsQuery> {
    known(params, STATS_PARAMS)?;
    let since = match one(params, "since")? {
        Some(v) => parse_time("since", v, now)?,
        None => now - 3600,
    };
    let until = match one(params, "until")? {
        Some(v) => parse_time("until", v, now)?,
        None => now,
    };
    if until < since {
        return Err(bad("until", "is before since"));
    }
    let mut by = Vec::new();
    if let Some(list) = one(params, "by")? {
        for d in list.split(',').map(str::trim).filter(|d| !d.is_empty()) {
            let d = Dimension::parse(d)?;
            if !by.contains(&d) {
                by.push(d);
            }
        }
    }
    let interval = one(params, "interval")?.map(Interval::parse).transpose()?;
    // A minute bucket over a long range is a flood of rows: at most ~10k buckets.
    if interval == Some(Interval::Minute) && until - since > 7 * 86_400 {
        return Err(bad(
            "interval",
            "minute buckets cover at most 7 days; use hour or day",
        ));
    }
    let limit = one(params, "limit")?
        .map(|v| {
            v.parse::<u32>()
                .ok()
                .filter(|n| (1..=100_000).contains(n))
                .ok_or_else(|| bad("limit", "expected 1 to 100000"))
        })
        .transpose()?;
    Ok(StatsQuery {
        since,
        until,
        by,
        interval,
        filter: filter(params)?,
        limit,
    })
}

/// A tail query: the filter, `since`, `after` (an id), `limit` (default 50, at most 1000).
pub struct TailQuery {
    pub filter: Filter,
    pub since: Option<i64>,
    pub after: Option<i64>,
    pub limit: u32,
}

pub fn tail_query(params: &Params, now: i64) -> Result<TailQuery> {
    known(params, TAIL_PARAMS)?;
    Ok(TailQuery {
        filter: filter(params)?,
        since: one(params, "since")?
            .map(|v| parse_time("since", v, now))
            .transpose()?,
        after: one(params, "after")?
            .map(|v| {
                v.parse::<i64>()
                    .map_err(|_| bad("after", "expected a call id"))
            })
            .transpose()?,
        limit: one(params, "limit")?
            .map(|v| {
                v.parse::<u32>()
                    .ok()
                    .filter(|n| (1..=1000).contains(n))
                    .ok_or_else(|| bad("limit", "expected 1 to 1000"))
            })
            .transpose()?
            .unwrap_or(50),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_800_000_000;

    #[test]
    fn times_are_ago_unix_or_rfc3339() {
        assert_eq!(parse_time("since", "1h", NOW).unwrap(), NOW - 3600);
        assert_eq!(parse_time("since", "7d", NOW).unwrap(), NOW - 7 * 86_400);
        assert_eq!(
            parse_time("since", "1700000000", NOW).unwrap(),
            1_700_000_000
        );
        assert_eq!(
            parse_time("since", "2027-01-15T00:00:00Z", NOW).unwrap(),
            20_833 * 86_400
        );
        assert!(parse_time("since", "yesterday", NOW).is_err());
    }

    #[test]
    fn stats_parameters_are_checked() {
        let q = stats_query(
            &parse_query(Some(
                "since=2h&by=diagnosis,client&interval=hour&status=4xx&limit=5",
            )),
            NOW,
        )
        .unwrap();
        assert_eq!(q.since, NOW - 7200);
        assert_eq!(q.by, vec![Dimension::Diagnosis, Dimension::Client]);
        assert_eq!(q.interval, Some(Interval::Hour));
        assert_eq!(q.filter.status, Some(StatusFilter::Class(4)));
        assert_eq!(q.limit, Some(5));
        for bad in [
            "by=secret",
            "sincee=1h",
            "since=1h&since=2h",
            "limit=0",
            "interval=week",
            "since=30d&interval=minute",
            "since=0&until=1h&until=2h",
            "status=4x",
        ] {
            assert!(stats_query(&parse_query(Some(bad)), NOW).is_err(), "{bad}");
        }
    }

    #[test]
    fn tail_parameters_are_checked() {
        let t = tail_query(&parse_query(Some("client=web&after=10&limit=7")), NOW).unwrap();
        assert_eq!(t.filter.client_id.as_deref(), Some("web"));
        assert_eq!((t.after, t.limit), (Some(10), 7));
        assert!(tail_query(&parse_query(Some("limit=5000")), NOW).is_err());
        assert!(tail_query(&parse_query(Some("by=route")), NOW).is_err());
    }
}
