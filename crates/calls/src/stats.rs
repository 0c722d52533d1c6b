//! The query layer over the call log: counts, errors, latency percentiles, grouped by any of
//! route, client, status, diagnosis, upstream and source, over a time range, per minute, hour
//! or day. Every figure comes from the per-minute rollup ([`crate::store`]), so a range is
//! taken in whole minutes: from the minute holding `since` to the minute holding `until`,
//! both included.

use serde::Serialize;

use crate::histogram::{self, BUCKETS};
use crate::record::Source;
use crate::store::CallStore;
use crate::{CallsError, Result};

/// What rows are grouped by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Dimension {
    Route,
    Client,
    Status,
    Diagnosis,
    Upstream,
    Source,
}

impl Dimension {
    pub const ALL: [Dimension; 6] = [
        Dimension::Route,
        Dimension::Client,
        Dimension::Status,
        Dimension::Diagnosis,
        Dimension::Upstream,
        Dimension::Source,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Dimension::Route => "route",
            Dimension::Client => "client",
            Dimension::Status => "status",
            Dimension::Diagnosis => "diagnosis",
            Dimension::Upstream => "upstream",
            Dimension::Source => "source",
        }
    }

    /// The column it is read from (a fixed name: nothing from outside reaches the SQL text).
    fn column(self) -> &'static str {
        match self {
            Dimension::Route => "route",
            Dimension::Client => "client_id",
            Dimension::Status => "status",
            Dimension::Diagnosis => "diagnosis",
            Dimension::Upstream => "upstream",
            Dimension::Source => "source",
        }
    }

    pub fn parse(s: &str) -> Result<Dimension> {
        Dimension::ALL
            .into_iter()
            .find(|d| d.name() == s || (s == "client_id" && *d == Dimension::Client))
            .ok_or_else(|| {
                CallsError::Query(format!(
                    "cannot group by '{s}': expected one of route, client, status, diagnosis, upstream, source"
                ))
            })
    }
}

/// The width of a time bucket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Interval {
    Minute,
    Hour,
    Day,
}

impl Interval {
    fn minutes(self) -> i64 {
        match self {
            Interval::Minute => 1,
            Interval::Hour => 60,
            Interval::Day => 1440,
        }
    }

    pub fn parse(s: &str) -> Result<Interval> {
        match s {
            "minute" | "1m" => Ok(Interval::Minute),
            "hour" | "1h" => Ok(Interval::Hour),
            "day" | "1d" => Ok(Interval::Day),
            _ => Err(CallsError::Query(format!(
                "interval '{s}': expected minute, hour or day"
            ))),
        }
    }
}

/// Statuses to keep: one status (`404`) or a class (`4xx`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusFilter {
    Exact(u16),
    Class(u16),
}

impl StatusFilter {
    pub fn parse(s: &str) -> Result<StatusFilter> {
        let bad = || CallsError::Query(format!("status '{s}': expected e.g. 404 or 4xx"));
        let t = s.trim().to_ascii_lowercase();
        if let Some(class) = t.strip_suffix("xx") {
            let c: u16 = class.parse().map_err(|_| bad())?;
            return (1..=5)
                .contains(&c)
                .then_some(StatusFilter::Class(c))
                .ok_or_else(bad);
        }
        let n: u16 = t.parse().map_err(|_| bad())?;
        (100..=599)
            .contains(&n)
            .then_some(StatusFilter::Exact(n))
            .ok_or_else(bad)
    }
}

/// A bound value of a query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Bind {
    Int(i64),
    Text(String),
}

/// Which calls a query or a tail keeps. Empty keeps all calls; the identity events counted in
/// the same rollups are kept only with `source: Some(Source::Identity)`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    pub source: Option<Source>,
    pub route: Option<String>,
    pub client_id: Option<String>,
    pub upstream: Option<String>,
    pub status: Option<StatusFilter>,
    /// A diagnosis code, or a prefix ending in `*` (`redirect_uri.*`).
    pub diagnosis: Option<String>,
    /// Only refused calls (those with a diagnosis).
    pub refused_only: bool,
}

impl Filter {
    /// Whether `call` passes: the same conditions as [`Filter::push_sql`], on a call read back.
    pub fn matches(&self, call: &crate::store::StoredCall) -> bool {
        let eq = |want: &Option<String>, have: Option<&str>| {
            want.as_deref().is_none_or(|w| have == Some(w))
        };
        let diagnosis = call.diagnosis.as_deref();
        let diagnosis_ok = match self.diagnosis.as_deref() {
            Some(d) if d.ends_with('*') => {
                diagnosis.is_some_and(|have| have.starts_with(d.trim_end_matches('*')))
            }
            Some(d) => diagnosis == Some(d),
            None => true,
        };
        let status_ok = match self.status {
            Some(StatusFilter::Exact(n)) => call.status == n,
            Some(StatusFilter::Class(c)) => call.status / 100 == c,
            None => true,
        };
        self.source.is_none_or(|s| call.source == s.as_str())
            && eq(&self.route, Some(&call.route))
            && eq(&self.client_id, call.client_id.as_deref())
            && eq(&self.upstream, call.upstream.as_deref())
            && diagnosis_ok
            && (!self.refused_only || diagnosis.is_some())
            && status_ok
    }

    /// Appends ` AND …` conditions (columns common to both tables) and their binds.
    pub(crate) fn push_sql(&self, sql: &mut String, binds: &mut Vec<Bind>) {
        let mut eq = |sql: &mut String, column: &str, value: &str| {
            binds.push(Bind::Text(value.to_string()));
            sql.push_str(&format!(" AND {column} = ${}", binds.len()));
        };
        match self.source {
            Some(s) => eq(sql, "source", s.as_str()),
            // Calls, not identity events, unless these are asked for by name.
            None => sql.push_str(" AND source <> 'identity'"),
        }
        if let Some(r) = &self.route {
            eq(sql, "route", r);
        }
        if let Some(c) = &self.client_id {
            eq(sql, "client_id", c);
        }
        if let Some(u) = &self.upstream {
            eq(sql, "upstream", u);
        }
        match &self.diagnosis {
            Some(d) if d.ends_with('*') => {
                let prefix = d.trim_end_matches('*');
                let escaped = prefix
                    .replace('\\', "\\\\")
                    .replace('%', "\\%")
                    .replace('_', "\\_");
                binds.push(Bind::Text(format!("{escaped}%")));
                sql.push_str(&format!(" AND diagnosis LIKE ${} ESCAPE '\\'", binds.len()));
            }
            Some(d) => eq(sql, "diagnosis", d),
            None => {}
        }
        if self.refused_only {
            sql.push_str(" AND diagnosis IS NOT NULL");
        }
        match self.status {
            Some(StatusFilter::Exact(n)) => sql.push_str(&format!(" AND status = {n}")),
            Some(StatusFilter::Class(c)) => sql.push_str(&format!(
                " AND status >= {} AND status < {}",
                c * 100,
                c * 100 + 100
            )),
            None => {}
        }
    }
}

/// A statistics query.
#[derive(Debug, Clone, PartialEq)]
pub struct StatsQuery {
    /// Unix seconds; the minute holding it is the first counted.
    pub since: i64,
    /// Unix seconds; the minute holding it is the last counted.
    pub until: i64,
    pub by: Vec<Dimension>,
    pub interval: Option<Interval>,
    pub filter: Filter,
    /// At most this many rows (the largest groups first within each bucket).
    pub limit: Option<u32>,
}

/// One group's sums, as read from the database.
#[derive(Debug, Clone)]
pub(crate) struct RawRow {
    pub bucket: Option<i64>,
    pub keys: Vec<Option<String>>,
    pub calls: i64,
    pub errors: i64,
    pub latency_sum_us: i64,
    pub latency_max_us: i64,
    pub buckets: [u64; BUCKETS],
}

/// Latencies of a group, in milliseconds.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Latency {
    pub mean_ms: f64,
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

/// One row of a statistics answer.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StatsRow {
    /// The bucket's start, Unix seconds (with an interval).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bucket: Option<i64>,
    /// The group's values, by dimension name (null: calls without one, e.g. no diagnosis).
    pub group: serde_json::Map<String, serde_json::Value>,
    pub calls: u64,
    /// Calls answered with a status of 400 or above.
    pub errors: u64,
    /// errors / calls.
    pub error_rate: f64,
    pub latency: Latency,
}

/// Microseconds as milliseconds, to the microsecond.
fn ms(us: f64) -> f64 {
    us.round() / 1000.0
}

impl CallStore {
    /// Answers a statistics query.
    pub async fn stats(&self, q: &StatsQuery) -> Result<Vec<StatsRow>> {
        if q.until < q.since {
            return Err(CallsError::Query("until is before since".into()));
        }
        let bucket = match q.interval {
            Some(i) => format!("CAST((minute / {m}) * {m} * 60 AS BIGINT)", m = i.minutes()),
            None => "CAST(NULL AS BIGINT)".into(),
        };
        let keys: Vec<String> =
            q.by.iter()
                .enumerate()
                .map(|(i, d)| format!(", {} AS k{i}", d.column()))
                .collect();
        let sums: String = (0..BUCKETS)
            .map(|i| format!(", CAST(SUM(h{i:02}) AS BIGINT) AS s{i:02}"))
            .collect();
        let (first, last) = (q.since.div_euclid(60), q.until.div_euclid(60));
        // Whole hours inside the range come from the hour rollup; the minutes before the
        // first and after the last whole hour from the minute rollup. Per-minute buckets need
        // the minute rollup throughout.
        let hours_from = first + (60 - first.rem_euclid(60)) % 60;
        let hours_to = (last + 1) - (last + 1).rem_euclid(60);
        let mut binds = Vec::new();
        let mut filter = String::new();
        q.filter.push_sql(&mut filter, &mut binds);
        let n = binds.len();
        binds.extend([first, last, hours_from, hours_to].map(Bind::Int));
        let (f, l, hf, ht) = (n + 1, n + 2, n + 3, n + 4);
        let source = if q.interval != Some(Interval::Minute) && hours_from < hours_to {
            format!(
                "SELECT * FROM candor_call_hours WHERE minute >= ${hf} AND minute < ${ht}{filter} \
                 UNION ALL SELECT * FROM candor_call_minutes WHERE ((minute >= ${f} AND minute < ${hf}) \
                 OR (minute >= ${ht} AND minute <= ${l})){filter}"
            )
        } else {
            format!(
                "SELECT * FROM candor_call_minutes WHERE minute >= ${f} AND minute <= ${l}{filter}"
            )
        };
        let mut sql = format!(
            "SELECT {bucket} AS bucket{keys}, CAST(SUM(calls) AS BIGINT) AS calls, \
             CAST(SUM(CASE WHEN status >= 400 THEN calls ELSE 0 END) AS BIGINT) AS errors, \
             CAST(SUM(latency_sum_us) AS BIGINT) AS latency_sum_us, \
             CAST(MAX(latency_max_us) AS BIGINT) AS latency_max_us{sums} \
             FROM ({source}) AS r WHERE 1 = 1",
            keys = keys.concat()
        );
        let mut group: Vec<String> = Vec::new();
        if q.interval.is_some() {
            group.push("1".into());
        }
        group.extend((0..q.by.len()).map(|i| format!("{}", i + 2)));
        if !group.is_empty() {
            sql.push_str(&format!(" GROUP BY {}", group.join(", ")));
        }
        sql.push_str(" HAVING SUM(calls) > 0");
        sql.push_str(if q.interval.is_some() {
            " ORDER BY 1, calls DESC"
        } else {
            " ORDER BY calls DESC"
        });
        // Ties in a stable order, so that the answer never depends on the plan.
        for i in 0..q.by.len() {
            sql.push_str(&format!(", k{i}"));
        }
        if let Some(limit) = q.limit {
            sql.push_str(&format!(" LIMIT {}", limit.max(1)));
        }
        let rows = self.rollup_rows(&sql, &binds, q.by.len()).await?;
        Ok(rows.into_iter().map(|r| finish(q, r)).collect())
    }
}

fn finish(q: &StatsQuery, r: RawRow) -> StatsRow {
    let calls = u64::try_from(r.calls).unwrap_or(0);
    let errors = u64::try_from(r.errors).unwrap_or(0);
    let max = u64::try_from(r.latency_max_us).unwrap_or(0);
    let quantile = |p: f64| ms(histogram::quantile(&r.buckets, p, max).unwrap_or(0.0));
    let mut group = serde_json::Map::new();
    for (d, v) in q.by.iter().zip(r.keys) {
        let value = match (d, v) {
            (_, None) => serde_json::Value::Null,
            (Dimension::Status, Some(s)) => s
                .parse::<u64>()
                .map_or(serde_json::Value::String(s), serde_json::Value::from),
            (_, Some(s)) => serde_json::Value::String(s),
        };
        group.insert(d.name().to_string(), value);
    }
    StatsRow {
        bucket: r.bucket,
        group,
        calls,
        errors,
        error_rate: if calls == 0 {
            0.0
        } else {
            ((errors as f64 / calls as f64) * 10_000.0).round() / 10_000.0
        },
        latency: Latency {
            mean_ms: if calls == 0 {
                0.0
            } else {
                ms(r.latency_sum_us as f64 / calls as f64)
            },
            p50_ms: quantile(0.50),
            p95_ms: quantile(0.95),
            p99_ms: quantile(0.99),
            max_ms: ms(max as f64),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_filters_parse() {
        assert!(matches!(
            StatusFilter::parse("4xx"),
            Ok(StatusFilter::Class(4))
        ));
        assert!(matches!(
            StatusFilter::parse("404"),
            Ok(StatusFilter::Exact(404))
        ));
        assert!(StatusFilter::parse("9xx").is_err());
        assert!(StatusFilter::parse("abc").is_err());
        assert!(StatusFilter::parse("1000").is_err());
    }

    #[test]
    fn only_known_dimensions_reach_the_sql() {
        assert_eq!(Dimension::parse("client").ok(), Some(Dimension::Client));
        assert!(Dimension::parse("client_id; DROP TABLE x").is_err());
    }
}
