//! Latency histograms with fixed buckets, so that the per-minute rollups of every node add up
//! by plain SQL `SUM`s, and percentiles over any range come from the summed buckets.
//!
//! A percentile is read the way Prometheus' `histogram_quantile` reads one: find the bucket
//! holding the rank, then interpolate linearly inside it (the first bucket starts at 0). The
//! last bucket has no upper bound; a rank inside it answers with the largest latency seen.
//! The buckets step by 1.5–2× from 100 µs to 60 s, so a percentile is exact to within its
//! bucket; counts, errors, mean and max are exact.

/// Upper bounds of the buckets, in microseconds; one more bucket holds everything above the
/// last.
pub const BOUNDS_US: [u64; 31] = [
    100, 200, 300, 500, 750, 1_000, 1_500, 2_000, 3_000, 5_000, 7_500, 10_000, 15_000, 20_000,
    30_000, 50_000, 75_000, 100_000, 150_000, 200_000, 300_000, 500_000, 750_000, 1_000_000,
    1_500_000, 2_000_000, 3_000_000, 5_000_000, 10_000_000, 30_000_000, 60_000_000,
];

/// Number of buckets (the bounded ones and the overflow).
pub const BUCKETS: usize = BOUNDS_US.len() + 1;

/// The bucket a latency falls in: the first whose upper bound is ≥ it.
pub fn bucket_of(latency_us: u64) -> usize {
    BOUNDS_US.partition_point(|b| *b < latency_us)
}

/// The `q`-quantile (0 < q ≤ 1) of a histogram, in microseconds; `None` when it is empty.
pub fn quantile(counts: &[u64; BUCKETS], q: f64, max_us: u64) -> Option<f64> {
    let total: u64 = counts.iter().sum();
    if total == 0 {
        return None;
    }
    let rank = q.clamp(0.0, 1.0) * total as f64;
    let mut below = 0u64;
    for (i, n) in counts.iter().enumerate() {
        let n = *n;
        if n == 0 {
            continue;
        }
        if (below + n) as f64 >= rank {
            let lower = if i == 0 {
                0
            } else {
                BOUNDS_US.get(i - 1).copied().unwrap_or(0)
            };
            let Some(upper) = BOUNDS_US.get(i).copied() else {
                // The overflow bucket: the largest latency is the only honest answer.
                return Some(max_us as f64);
            };
            let inside = (rank - below as f64) / n as f64;
            let value = lower as f64 + (upper - lower) as f64 * inside;
            return Some(value.min(max_us as f64));
        }
        below += n;
    }
    Some(max_us as f64)
}

#[cfg(test)]
#[allow(clippy::indexing_slicing, clippy::float_cmp)]
mod tests {
    use super::*;

    #[test]
    fn latencies_fall_in_the_first_bucket_whose_bound_holds_them() {
        assert_eq!(bucket_of(0), 0);
        assert_eq!(bucket_of(100), 0);
        assert_eq!(bucket_of(101), 1);
        assert_eq!(bucket_of(1_000), 5);
        assert_eq!(bucket_of(60_000_000), BUCKETS - 2);
        assert_eq!(bucket_of(60_000_001), BUCKETS - 1);
        assert_eq!(bucket_of(u64::MAX), BUCKETS - 1);
    }

    #[test]
    fn quantiles_interpolate_inside_the_bucket() {
        let mut h = [0u64; BUCKETS];
        // 100 calls in (1 ms, 1.5 ms]: the median is half-way through that bucket.
        h[bucket_of(1_200)] = 100;
        assert_eq!(quantile(&h, 0.5, 1_400), Some(1_250.0));
        // Never above the largest latency seen.
        assert_eq!(quantile(&h, 1.0, 1_400), Some(1_400.0));
        // Empty: no answer rather than 0.
        assert_eq!(quantile(&[0; BUCKETS], 0.5, 0), None);
        // The overflow bucket answers with the max.
        let mut o = [0u64; BUCKETS];
        o[BUCKETS - 1] = 3;
        assert_eq!(quantile(&o, 0.5, 90_000_000), Some(90_000_000.0));
    }

    #[test]
    fn quantiles_span_buckets() {
        let mut h = [0u64; BUCKETS];
        h[0] = 90; // ≤ 100 µs
        h[bucket_of(4_000)] = 10; // (3 ms, 5 ms]
        // p50: rank 50 of the first 90, from 0 to 100 µs.
        let p50 = quantile(&h, 0.5, 4_500).unwrap_or_default();
        assert!((p50 - 55.555).abs() < 0.01, "{p50}");
        // p95: rank 95, 5 into the 10 of (3 ms, 5 ms] → 4 ms, below the 4.5 ms max.
        assert_eq!(quantile(&h, 0.95, 4_500), Some(4_000.0));
    }
}
