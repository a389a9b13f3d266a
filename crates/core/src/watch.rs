//! Watch mode: what changed between two probes of the same target.
//!
//! The state kept is one entry per (target, address, port) plus one verdict and one address list
//! per target: bounded by what the command line names, so a watch that runs for days uses the
//! same memory on its last day as on its first. The first probe of a target reports every port
//! with `old: null`, so a consumer that starts reading late still gets a baseline.

use std::collections::{BTreeMap, HashMap};
use std::time::SystemTime;

use tokio::sync::mpsc;

use crate::diagnose::{Diagnosis, Status, Verdict};
use crate::host_probe::HostProbe;
use crate::observation::HostObservation;
use crate::probe::PortState;
use crate::target::{Address, Target};

/// One change of one target (the binary writes it as an NDJSON line, `"type": "event"`).
#[derive(Debug, Clone, PartialEq)]
pub struct WatchEvent {
    /// RFC 3339, UTC, when the probe that saw the change finished.
    pub at: SystemTime,
    pub target: String,
    /// This target's probe round (1 for the first).
    pub round: u64,
    pub change: WatchChange,
}

/// What changed.
#[derive(Debug, Clone, PartialEq)]
pub enum WatchChange {
    /// A port's state; `new` is null when the address is no longer probed (the name moved).
    Port {
        address: String,
        port: u16,
        label: String,
        old: Option<PortState>,
        new: Option<PortState>,
        reason: Option<&'static str>,
    },
    /// The target's verdict: its status changed from `old` (null on the first round).
    Verdict { old: Option<Status>, new: Verdict },
    /// The addresses the name resolves to.
    Addresses { old: Vec<String>, new: Vec<String> },
    /// The WS-Discovery status (`answered`, `no_reply`…); null when discovery was not probed.
    Discovery {
        old: Option<&'static str>,
        new: Option<&'static str>,
    },
}

#[derive(Debug, Default)]
struct TargetState {
    round: u64,
    verdict: Option<Status>,
    discovery: Option<&'static str>,
    addresses: Vec<Address>,
    ports: BTreeMap<(Address, u16), PortState>,
}

/// Everything remembered between rounds.
#[derive(Debug, Default)]
pub struct WatchState {
    targets: HashMap<String, TargetState>,
}

impl WatchState {
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether `target` has been seen before (a scan follows hosts once they were reported).
    pub fn knows(&self, target: &str) -> bool {
        self.targets.contains_key(target)
    }

    /// Number of (target, address, port) entries held: what bounds memory.
    pub fn entries(&self) -> usize {
        self.targets.values().map(|t| t.ports.len() + 1).sum()
    }

    /// Takes a new probe of a target; returns the changes since the previous one.
    pub fn update(
        &mut self,
        obs: &HostObservation,
        d: &Diagnosis,
        at: SystemTime,
    ) -> Vec<WatchEvent> {
        let key = obs.target.input.clone();
        let st = self.targets.entry(key.clone()).or_default();
        st.round += 1;
        let mut changes = Vec::new();

        let addrs: Vec<Address> = obs.addresses.iter().map(|a| a.address).collect();
        if st.round > 1 && addrs != st.addresses {
            changes.push(WatchChange::Addresses {
                old: st.addresses.iter().map(|a| a.to_string()).collect(),
                new: addrs.iter().map(|a| a.to_string()).collect(),
            });
        }
        let mut seen: BTreeMap<(Address, u16), PortState> = BTreeMap::new();
        for a in &obs.addresses {
            for p in &a.ports {
                let k = (a.address, p.planned.port.0);
                let new = p.result.state;
                let old = st.ports.get(&k).copied();
                if old != Some(new) {
                    changes.push(WatchChange::Port {
                        address: a.address.to_string(),
                        port: p.planned.port.0,
                        label: p.planned.label(),
                        old,
                        new: Some(new),
                        reason: Some(p.result.reason.as_str()),
                    });
                }
                seen.insert(k, new);
            }
        }
        for (k, old) in &st.ports {
            if !seen.contains_key(k) {
                changes.push(WatchChange::Port {
                    address: k.0.to_string(),
                    port: k.1,
                    label: String::new(),
                    old: Some(*old),
                    new: None,
                    reason: None,
                });
            }
        }
        let discovery = obs.discovery.as_ref().map(|d| d.status.as_str());
        if discovery != st.discovery || (st.round == 1 && discovery.is_some()) {
            changes.push(WatchChange::Discovery {
                old: st.discovery,
                new: discovery,
            });
        }
        st.discovery = discovery;
        if st.verdict != Some(d.verdict.status) {
            changes.push(WatchChange::Verdict {
                old: st.verdict,
                new: d.verdict.clone(),
            });
        }
        st.ports = seen;
        st.addresses = addrs;
        st.verdict = Some(d.verdict.status);
        let round = st.round;
        changes
            .into_iter()
            .map(|change| WatchEvent {
                at,
                target: key.clone(),
                round,
                change,
            })
            .collect()
    }

    /// Counts of targets by verdict, for the heartbeat.
    pub fn verdicts(&self) -> BTreeMap<Status, usize> {
        let mut m = BTreeMap::new();
        for t in self.targets.values() {
            if let Some(v) = t.verdict {
                *m.entry(v).or_insert(0) += 1;
            }
        }
        m
    }
}

/// Probes one target every `interval`, forever, sending each observation with the time it
/// finished. Each target runs its own loop, so a slow or silent target never delays the rounds
/// of the others; when a round takes longer than the interval, the next starts right after it.
/// Returns when the receiver is gone.
pub async fn probe_every(
    probe: &HostProbe,
    target: &Target,
    interval: std::time::Duration,
    tx: &mpsc::Sender<(HostObservation, SystemTime)>,
) {
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        let obs = probe.observe(target).await;
        if tx.send((obs, SystemTime::now())).await.is_err() {
            return;
        }
    }
}

/// What a watch says once per interval whether or not anything changed.
#[derive(Debug, Clone, PartialEq)]
pub struct Heartbeat {
    pub at: SystemTime,
    /// Heartbeats so far, this one included.
    pub round: u64,
    pub interval_ms: f64,
    pub targets: usize,
    /// Targets probed at least once.
    pub probed: usize,
    pub reachable: usize,
    pub wow64_only: usize,
    pub not_reachable: usize,
    pub unresolved: usize,
    pub incomplete: usize,
    /// Events written since the start.
    pub events: u64,
}

impl Heartbeat {
    pub fn new(
        state: &WatchState,
        targets: usize,
        round: u64,
        interval: std::time::Duration,
        events: u64,
        at: SystemTime,
    ) -> Heartbeat {
        let v = state.verdicts();
        let n = |s: Status| v.get(&s).copied().unwrap_or(0);
        Heartbeat {
            at,
            round,
            interval_ms: interval.as_secs_f64() * 1e3,
            targets,
            probed: v.values().sum(),
            reachable: n(Status::Reachable),
            wow64_only: n(Status::Wow64Only),
            not_reachable: n(Status::NotReachable),
            unresolved: n(Status::Unresolved),
            incomplete: n(Status::Incomplete),
            events,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnose::diagnose;
    use crate::fixtures;
    use std::time::Duration;

    /// `devbox` at `addrs`, VS 2022's ports, 4026 open or refused.
    fn obs(addrs: &[&str], open4026: bool) -> HostObservation {
        let answers = || {
            if open4026 {
                vec![(4026, fixtures::open())]
            } else {
                vec![]
            }
        };
        addrs
            .iter()
            .fold(fixtures::observe("devbox").releases(&["2022"]), |o, ip| {
                o.address(ip, answers())
            })
            .build()
    }

    fn kinds(e: &[WatchEvent]) -> Vec<String> {
        e.iter()
            .map(|e| match &e.change {
                WatchChange::Port { port, old, new, .. } => format!("port {port} {old:?}->{new:?}"),
                WatchChange::Verdict { old, new } => format!("verdict {old:?}->{:?}", new.status),
                WatchChange::Addresses { old, new } => format!("addresses {old:?}->{new:?}"),
                WatchChange::Discovery { old, new } => format!("discovery {old:?}->{new:?}"),
            })
            .collect()
    }

    #[test]
    fn first_round_is_a_baseline_then_only_changes() {
        let mut w = WatchState::new();
        let o = obs(&["10.0.0.5"], false);
        let first = w.update(&o, &diagnose(&o), SystemTime::UNIX_EPOCH);
        assert_eq!(first.len(), 3 + 1, "three ports and the verdict");
        assert!(first.iter().all(|e| e.round == 1));
        let again = w.update(&o, &diagnose(&o), SystemTime::UNIX_EPOCH);
        assert!(again.is_empty(), "{:?}", kinds(&again));

        let up = obs(&["10.0.0.5"], true);
        let e = w.update(&up, &diagnose(&up), SystemTime::UNIX_EPOCH);
        assert_eq!(
            kinds(&e),
            [
                "port 4026 Some(Closed)->Some(Open)",
                "verdict Some(NotReachable)->Reachable"
            ]
        );
        assert_eq!(e[0].round, 3);
    }

    #[test]
    fn a_name_that_moves_reports_addresses_and_retires_old_ports() {
        let mut w = WatchState::new();
        let a = obs(&["10.0.0.5"], true);
        w.update(&a, &diagnose(&a), SystemTime::UNIX_EPOCH);
        let b = obs(&["10.0.0.6"], true);
        let e = kinds(&w.update(&b, &diagnose(&b), SystemTime::UNIX_EPOCH));
        assert!(e[0].starts_with("addresses"), "{e:?}");
        assert_eq!(
            e.iter().filter(|k| k.ends_with("->None")).count(),
            3,
            "{e:?}"
        );
        assert_eq!(
            w.entries(),
            3 + 1,
            "old entries are dropped: memory stays bounded"
        );
    }

    #[test]
    fn memory_does_not_grow_with_rounds() {
        let mut w = WatchState::new();
        for i in 0..1000 {
            let o = obs(&["10.0.0.5"], i % 2 == 0);
            w.update(&o, &diagnose(&o), SystemTime::UNIX_EPOCH);
        }
        assert_eq!(w.entries(), 4);
    }

    #[test]
    fn heartbeat_counts_verdicts() {
        let mut w = WatchState::new();
        let o = obs(&["10.0.0.5"], true);
        w.update(&o, &diagnose(&o), SystemTime::UNIX_EPOCH);
        let h = Heartbeat::new(&w, 2, 7, Duration::from_secs(30), 4, SystemTime::UNIX_EPOCH);
        assert_eq!((h.targets, h.probed, h.reachable, h.round), (2, 1, 1, 7));
    }
}
