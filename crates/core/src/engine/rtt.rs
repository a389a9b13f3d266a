//! Round-trip-time estimation for adaptive timeouts, after nmap's (and TCP's, RFC 6298) smoothed
//! RTT and variance: `timeout = srtt + 4 × rttvar`, clamped.
//!
//! Why adaptive: on a LAN a reset comes back in well under a millisecond, so waiting a full second
//! for every dropped SYN of a /16 wastes minutes; over a VPN answers take hundreds of milliseconds,
//! so a fixed short wait would call live ports filtered. The estimate follows what the network
//! actually answered.

use std::time::Duration;

/// Samples before the estimate is trusted; until then the initial (maximum) timeout applies.
const WARM_UP: u32 = 8;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RttEstimator {
    srtt: f64,
    rttvar: f64,
    samples: u32,
}

impl Default for RttEstimator {
    fn default() -> Self {
        Self::new()
    }
}

impl RttEstimator {
    pub const fn new() -> Self {
        RttEstimator {
            srtt: 0.0,
            rttvar: 0.0,
            samples: 0,
        }
    }

    /// Feeds one measured round trip.
    pub fn observe(&mut self, rtt: Duration) {
        let r = rtt.as_secs_f64();
        if self.samples == 0 {
            self.srtt = r;
            self.rttvar = r / 2.0;
        } else {
            self.rttvar += ((self.srtt - r).abs() - self.rttvar) / 4.0;
            self.srtt += (r - self.srtt) / 8.0;
        }
        self.samples = self.samples.saturating_add(1);
    }

    /// The wait for the next probe, or `None` while there are too few samples to say.
    pub fn timeout(&self, min: Duration, max: Duration) -> Option<Duration> {
        self.timeout_after(WARM_UP, min, max)
    }

    /// As [`timeout`](Self::timeout), trusting the estimate after `warm_up` samples.
    pub fn timeout_after(&self, warm_up: u32, min: Duration, max: Duration) -> Option<Duration> {
        if self.samples < warm_up.max(1) {
            return None;
        }
        let t = Duration::from_secs_f64(self.srtt + 4.0 * self.rttvar);
        Some(t.clamp(min, max))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: Duration = Duration::from_millis(100);
    const MAX: Duration = Duration::from_secs(1);

    #[test]
    fn no_estimate_before_warm_up() {
        let mut e = RttEstimator::new();
        for _ in 0..WARM_UP - 1 {
            e.observe(Duration::from_millis(1));
        }
        assert_eq!(e.timeout(MIN, MAX), None);
        e.observe(Duration::from_millis(1));
        assert_eq!(
            e.timeout(MIN, MAX),
            Some(MIN),
            "a fast LAN is clamped to the minimum"
        );
    }

    #[test]
    fn slow_paths_raise_the_timeout() {
        let mut e = RttEstimator::new();
        for _ in 0..20 {
            e.observe(Duration::from_millis(300));
        }
        let t = e.timeout(MIN, MAX).unwrap();
        assert!(t >= Duration::from_millis(300) && t < MAX, "{t:?}");
    }

    #[test]
    fn jitter_widens_the_margin() {
        let mut steady = RttEstimator::new();
        let mut jittery = RttEstimator::new();
        for i in 0..40 {
            steady.observe(Duration::from_millis(150));
            jittery.observe(Duration::from_millis(if i % 2 == 0 { 50 } else { 250 }));
        }
        assert!(jittery.timeout(MIN, MAX).unwrap() > steady.timeout(MIN, MAX).unwrap());
    }

    #[test]
    fn never_above_the_maximum() {
        let mut e = RttEstimator::new();
        for _ in 0..20 {
            e.observe(Duration::from_secs(5));
        }
        assert_eq!(e.timeout(MIN, MAX), Some(MAX));
    }
}
