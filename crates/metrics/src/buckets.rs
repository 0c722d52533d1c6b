//! The bucket sets, one per unit. A latency is a latency wherever it is measured: one set
//! lets the server's, the gateway's and the database probe's histograms be compared and
//! summed bucket by bucket.

/// Upper bounds, in seconds, of every latency histogram: from 0.5 ms (a gateway hop with a
/// cached token) to 10 s (a slow upstream or database); the last bucket (`+Inf`) holds the
/// rest.
pub const SECONDS: [f64; 14] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// The bounds of [`SECONDS`] in nanoseconds, so that an observation compares integers.
pub(crate) const SECONDS_NANOS: [u64; SECONDS.len()] = [
    500_000,
    1_000_000,
    2_500_000,
    5_000_000,
    10_000_000,
    25_000_000,
    50_000_000,
    100_000_000,
    250_000_000,
    500_000_000,
    1_000_000_000,
    2_500_000_000,
    5_000_000_000,
    10_000_000_000,
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_nanosecond_bounds_are_the_second_bounds() {
        for (s, n) in SECONDS.iter().zip(SECONDS_NANOS) {
            assert_eq!((s * 1e9).round() as u64, n);
        }
        assert!(
            SECONDS
                .iter()
                .zip(SECONDS.iter().skip(1))
                .all(|(a, b)| a < b)
        );
    }
}
