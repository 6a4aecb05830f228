//! A latency histogram with Prometheus's cumulative buckets.

use std::time::Duration;

/// Upper bounds of the buckets, in seconds: from a cached read (well
/// under a millisecond) to a request that waited out the pool (3 s) or a
/// lock (5 s).
pub const BOUNDS_SECONDS: [f64; 12] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0,
];

#[derive(Debug, Default, Clone)]
pub struct Histogram {
    /// Observations at most each bound, not cumulative; summed when written.
    within: [u64; BOUNDS_SECONDS.len()],
    count: u64,
    sum_micros: u64,
}

impl Histogram {
    pub fn observe(&mut self, latency: Duration) {
        let seconds = latency.as_secs_f64();
        if let Some(bucket) = BOUNDS_SECONDS.iter().position(|&bound| seconds <= bound) {
            self.within[bucket] += 1;
        }
        self.count += 1;
        self.sum_micros = self
            .sum_micros
            .saturating_add(u64::try_from(latency.as_micros()).unwrap_or(u64::MAX));
    }

    pub fn count(&self) -> u64 {
        self.count
    }

    pub fn sum_seconds(&self) -> f64 {
        self.sum_micros as f64 / 1e6
    }

    /// Each bound with the number of observations at most it, then `+Inf`
    /// with all of them, as Prometheus's `le` buckets count.
    pub fn cumulative(&self) -> impl Iterator<Item = (String, u64)> + '_ {
        let mut running = 0;
        BOUNDS_SECONDS
            .iter()
            .zip(self.within)
            .map(move |(bound, within)| {
                running += within;
                (bound.to_string(), running)
            })
            .chain(std::iter::once(("+Inf".to_owned(), self.count)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_cumulative_and_end_with_every_observation() {
        let mut histogram = Histogram::default();
        for millis in [0, 2, 2, 30, 9_000] {
            histogram.observe(Duration::from_millis(millis));
        }
        let buckets: Vec<(String, u64)> = histogram.cumulative().collect();
        assert_eq!(buckets[0], ("0.0005".to_owned(), 1));
        assert_eq!(buckets[2], ("0.0025".to_owned(), 3));
        assert_eq!(buckets[6], ("0.05".to_owned(), 4));
        assert_eq!(buckets[11], ("5".to_owned(), 4));
        assert_eq!(buckets[12], ("+Inf".to_owned(), 5));
        assert_eq!(histogram.count(), 5);
        assert!((histogram.sum_seconds() - 9.034).abs() < 1e-9);
    }
}
