//! The probe engine for a handful of hosts: every (address, port) probed concurrently, each with
//! its own retry policy. It returns [`PortResult`]s and knows nothing about reports.
//!
//! Retry policy, and why:
//! - no answer: retried `retries` times, because a single lost SYN looks exactly like a firewall
//!   that drops (nmap retransmits for the same reason);
//! - self-connect: re-probed (a new attempt gets another source port), up to [`SELF_CONNECT_RETRIES`];
//! - local exhaustion (no descriptors, ports or buffers): waited out with a growing back-off and
//!   retried, because it says nothing about the target;
//! - every other outcome is an answer and final.

use std::net::SocketAddr;
use std::time::Duration;

use futures::stream::{self, StreamExt};

use crate::probe::tcp::Connector;
use crate::probe::{conclude, Attempt, PortResult};

/// Extra attempts after a self-connect, independent of `retries`.
pub const SELF_CONNECT_RETRIES: u32 = 2;
/// Extra attempts after local resource exhaustion.
pub const LOCAL_RETRIES: u32 = 6;

/// How the engine probes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Settings {
    /// Wait for one connect attempt.
    pub timeout: Duration,
    /// Extra attempts for ports that did not answer.
    pub retries: u32,
    /// Connect attempts in flight at once.
    pub concurrency: usize,
}

/// Probes one port until it has an answer or the retries are spent.
pub async fn probe_port<C: Connector>(c: &C, addr: SocketAddr, s: &Settings) -> PortResult {
    let mut attempts = 0u32;
    let mut silent = 0u32;
    let mut selfs = 0u32;
    let mut local = 0u32;
    loop {
        attempts += 1;
        let a = c.attempt(addr, s.timeout).await;
        match &a {
            Attempt::NoResponse if silent < s.retries => silent += 1,
            Attempt::SelfConnect if selfs < SELF_CONNECT_RETRIES => selfs += 1,
            Attempt::Local { kind, .. } if kind.is_local_exhaustion() && local < LOCAL_RETRIES => {
                local += 1;
                // 10, 20, 40 … 640 ms: long enough for other probes to finish and free resources.
                tokio::time::sleep(Duration::from_millis(10 << (local - 1))).await;
            }
            _ => return conclude(&a, addr.ip(), attempts),
        }
    }
}

/// Probes every address, at most `s.concurrency` at a time; results in the order of `addrs`.
pub async fn probe_all<C: Connector>(
    c: &C,
    addrs: Vec<SocketAddr>,
    s: &Settings,
) -> Vec<PortResult> {
    stream::iter(addrs)
        .map(|a| probe_port(c, a, s))
        .buffered(s.concurrency.max(1))
        .collect()
        .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::platform::ConnectErrorKind;
    use crate::probe::{PortState, Reason};
    use std::collections::HashMap;
    use std::sync::Mutex;

    /// Plays back a script of attempts per address; each attempt takes `delay` of virtual time.
    struct Scripted {
        script: Mutex<HashMap<SocketAddr, Vec<Attempt>>>,
        calls: Mutex<Vec<SocketAddr>>,
    }

    impl Scripted {
        fn new(entries: Vec<(&str, Vec<Attempt>)>) -> Self {
            let script = entries
                .into_iter()
                .map(|(a, mut v)| {
                    v.reverse();
                    (a.parse().unwrap(), v)
                })
                .collect();
            Scripted {
                script: Mutex::new(script),
                calls: Mutex::new(Vec::new()),
            }
        }
        fn calls(&self, a: &str) -> usize {
            let a: SocketAddr = a.parse().unwrap();
            self.calls
                .lock()
                .unwrap()
                .iter()
                .filter(|c| **c == a)
                .count()
        }
    }

    impl Connector for Scripted {
        async fn attempt(&self, addr: SocketAddr, timeout: Duration) -> Attempt {
            self.calls.lock().unwrap().push(addr);
            let next = self
                .script
                .lock()
                .unwrap()
                .get_mut(&addr)
                .and_then(|v| v.pop())
                .expect("script ran out: the engine made an attempt it should not have");
            if next == Attempt::NoResponse {
                tokio::time::sleep(timeout).await;
            }
            next
        }
    }

    const S: Settings = Settings {
        timeout: Duration::from_secs(1),
        retries: 1,
        concurrency: 64,
    };

    fn rst() -> Attempt {
        Attempt::Refused {
            rtt: Duration::from_micros(200),
        }
    }

    #[tokio::test(start_paused = true)]
    async fn silence_is_retried_then_called_filtered() {
        let c = Scripted::new(vec![(
            "10.0.0.5:4026",
            vec![Attempt::NoResponse, Attempt::NoResponse],
        )]);
        let t0 = tokio::time::Instant::now();
        let r = probe_port(&c, "10.0.0.5:4026".parse().unwrap(), &S).await;
        assert_eq!(
            (r.state, r.reason),
            (PortState::Filtered, Reason::NoResponse)
        );
        assert_eq!(r.attempts, 2);
        assert_eq!(t0.elapsed(), Duration::from_secs(2));
    }

    #[tokio::test(start_paused = true)]
    async fn a_lost_syn_is_recovered_by_the_retry() {
        let c = Scripted::new(vec![("10.0.0.5:4026", vec![Attempt::NoResponse, rst()])]);
        let r = probe_port(&c, "10.0.0.5:4026".parse().unwrap(), &S).await;
        assert_eq!(r.state, PortState::Closed);
        assert_eq!(r.attempts, 2);
    }

    #[tokio::test(start_paused = true)]
    async fn answers_are_final_and_not_retried() {
        let c = Scripted::new(vec![("10.0.0.5:4026", vec![rst()])]);
        let r = probe_port(&c, "10.0.0.5:4026".parse().unwrap(), &S).await;
        assert_eq!(r.state, PortState::Closed);
        assert_eq!(c.calls("10.0.0.5:4026"), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn self_connect_is_reprobed_even_without_retries() {
        let s = Settings { retries: 0, ..S };
        let c = Scripted::new(vec![("127.0.0.1:40000", vec![Attempt::SelfConnect, rst()])]);
        let r = probe_port(&c, "127.0.0.1:40000".parse().unwrap(), &s).await;
        assert_eq!(
            (r.state, r.reason),
            (PortState::Closed, Reason::ConnRefused)
        );
        let c = Scripted::new(vec![("127.0.0.1:40000", vec![Attempt::SelfConnect; 3])]);
        let r = probe_port(&c, "127.0.0.1:40000".parse().unwrap(), &s).await;
        assert_eq!(
            (r.state, r.reason),
            (PortState::Closed, Reason::SelfConnect)
        );
    }

    #[tokio::test(start_paused = true)]
    async fn local_exhaustion_backs_off_and_retries() {
        let emfile = Attempt::Local {
            kind: ConnectErrorKind::NoFileDescriptors,
            error: "Too many open files".into(),
        };
        let c = Scripted::new(vec![(
            "10.0.0.5:4026",
            vec![emfile.clone(), emfile.clone(), rst()],
        )]);
        let r = probe_port(&c, "10.0.0.5:4026".parse().unwrap(), &S).await;
        assert_eq!(
            r.state,
            PortState::Closed,
            "exhaustion must not decide the state"
        );

        let c = Scripted::new(vec![("10.0.0.5:4026", vec![emfile; 7])]);
        let r = probe_port(&c, "10.0.0.5:4026".parse().unwrap(), &S).await;
        assert_eq!(r.state, PortState::LocalError);
        assert_eq!(r.attempts, 7);
    }

    #[tokio::test(start_paused = true)]
    async fn ports_are_probed_concurrently_and_results_keep_order() {
        let c = Scripted::new(vec![
            (
                "10.0.0.5:4026",
                vec![Attempt::NoResponse, Attempt::NoResponse],
            ),
            ("10.0.0.5:4024", vec![rst()]),
            (
                "10.0.0.6:4026",
                vec![Attempt::NoResponse, Attempt::NoResponse],
            ),
        ]);
        let t0 = tokio::time::Instant::now();
        let addrs = ["10.0.0.5:4026", "10.0.0.5:4024", "10.0.0.6:4026"]
            .iter()
            .map(|a| a.parse().unwrap())
            .collect();
        let rs = probe_all(&c, addrs, &S).await;
        let states: Vec<PortState> = rs.iter().map(|r| r.state).collect();
        assert_eq!(
            states,
            [PortState::Filtered, PortState::Closed, PortState::Filtered]
        );
        // Two silent ports with one retry each: two seconds in all, not four.
        assert_eq!(t0.elapsed(), Duration::from_secs(2));
    }
}
