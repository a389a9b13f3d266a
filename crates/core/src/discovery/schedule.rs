//! When a Probe is sent and repeated: SOAP-over-UDP's retransmission algorithm (the 2004 draft
//! that goes with WS-Discovery 2005/04, Appendix I; wsdd implements the same constants).
//!
//! A multicast message is sent up to [`MULTICAST_REPEAT`] times and a unicast one up to
//! [`UNICAST_REPEAT`] times: the first at once, then after a random delay T in
//! [[`UDP_MIN_DELAY`], [`UDP_MAX_DELAY`]], then after 2T, 4T … each capped at [`UDP_UPPER_DELAY`].
//! UDP loses datagrams without a word, and a responder drops copies by MessageID, so repeats cost
//! nothing but a few bytes and recover a lost Probe.

use std::time::Duration;

pub const MULTICAST_REPEAT: u32 = 4;
pub const UNICAST_REPEAT: u32 = 2;
pub const UDP_MIN_DELAY: Duration = Duration::from_millis(50);
pub const UDP_MAX_DELAY: Duration = Duration::from_millis(250);
pub const UDP_UPPER_DELAY: Duration = Duration::from_millis(500);

/// Offsets from the first send at which a message goes out, `count` of them.
pub fn offsets(count: u32, rng: &mut fastrand::Rng) -> Vec<Duration> {
    let min = UDP_MIN_DELAY.as_millis() as u64;
    let max = UDP_MAX_DELAY.as_millis() as u64;
    let mut t = Duration::from_millis(rng.u64(min..=max));
    let mut at = Duration::ZERO;
    let mut out = Vec::with_capacity(count as usize);
    for i in 0..count {
        if i > 0 {
            at += t;
            t = (t * 2).min(UDP_UPPER_DELAY);
        }
        out.push(at);
    }
    out
}

/// The latest a message's last repeat can go out.
#[cfg(test)]
pub fn latest_last_send(count: u32) -> Duration {
    let mut t = UDP_MAX_DELAY;
    let mut at = Duration::ZERO;
    for _ in 1..count {
        at += t;
        t = (t * 2).min(UDP_UPPER_DELAY);
    }
    at
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_at_once_then_doubling_delays_capped() {
        for seed in 0..500 {
            let mut rng = fastrand::Rng::with_seed(seed);
            let o = offsets(MULTICAST_REPEAT, &mut rng);
            assert_eq!(o.len(), 4);
            assert_eq!(o[0], Duration::ZERO);
            let t = o[1];
            assert!(t >= UDP_MIN_DELAY && t <= UDP_MAX_DELAY, "{o:?}");
            assert_eq!(o[2] - o[1], (t * 2).min(UDP_UPPER_DELAY), "{o:?}");
            assert_eq!(o[3] - o[2], (t * 4).min(UDP_UPPER_DELAY), "{o:?}");
            assert!(o[3] <= latest_last_send(MULTICAST_REPEAT));
            let u = offsets(UNICAST_REPEAT, &mut rng);
            assert_eq!(u.len(), 2);
            assert!(u[1] >= UDP_MIN_DELAY && u[1] <= UDP_MAX_DELAY);
        }
        assert_eq!(
            latest_last_send(MULTICAST_REPEAT),
            Duration::from_millis(1250)
        );
        assert_eq!(latest_last_send(UNICAST_REPEAT), Duration::from_millis(250));
        assert_eq!(latest_last_send(1), Duration::ZERO);
    }
}
