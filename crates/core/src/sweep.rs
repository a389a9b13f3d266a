//! Subnet scans between configuration and report: resolve the names, build the target set, check
//! it before any packet is sent, and turn each scanned host into an observation the diagnosis and
//! reports already understand.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;

use futures::stream::{self, StreamExt};

use crate::catalog::PlannedPort;
use crate::catalog::Selection;
use crate::engine::HostResult;
use crate::observation::{AddressObservation, HostObservation, PortObservation};
use crate::probe::PortState;
use crate::resolve::{AddressSource, Addresses, Resolution, ResolveError, Resolver};
use crate::target::{Address, Host, Target};
use crate::target_set::{AddressSet, IndexedSet, SpecSet};

/// Public addresses a scan may cover without `--yes`.
pub const PUBLIC_LIMIT: u128 = 65_536;
/// Names resolved at once.
const RESOLVE_CONCURRENCY: usize = 32;

/// Everything a scan needs, checked.
#[derive(Debug)]
pub struct SweepPlan {
    pub targets: Arc<IndexedSet>,
    pub ports: Vec<PlannedPort>,
    /// Names that resolved, by address, for reports.
    pub names: HashMap<IpAddr, Vec<String>>,
    /// Names that did not resolve, with why.
    pub unresolved: Vec<(String, ResolveError)>,
    /// Addresses left out by `--exclude`.
    pub excluded: u128,
}

impl SweepPlan {
    /// What makes two runs parts of the same scan: the addresses (after exclusions), the ports,
    /// the order's seed and the number of shards. Every shard, and every later run of the same
    /// command, has the same fingerprint; a scan of anything else almost surely has another.
    pub fn fingerprint(&self, seed: u64, shards: u64) -> u64 {
        let mut h = crate::Fnv64::default();
        self.targets.set().fingerprint(&mut h);
        h.write(b"ports");
        for p in &self.ports {
            h.write(&p.port.0.to_le_bytes());
        }
        h.write(&seed.to_le_bytes());
        h.write(&shards.to_le_bytes());
        h.finish()
    }
}

async fn resolve_all(
    specs: &SpecSet,
    resolver: &Resolver,
) -> (
    AddressSet,
    HashMap<IpAddr, Vec<String>>,
    Vec<(String, ResolveError)>,
) {
    let resolved: Vec<(String, Resolution)> = stream::iter(specs.names.iter().cloned())
        .map(|n| async move {
            let t = Target {
                input: n.clone(),
                host: Host::Name(n.clone()),
                port: None,
            };
            let r = resolver.resolve(&t).await;
            (n, r)
        })
        .buffered(RESOLVE_CONCURRENCY)
        .collect()
        .await;
    let mut found = Vec::new();
    let mut by_addr: HashMap<IpAddr, Vec<String>> = HashMap::new();
    let mut unresolved = Vec::new();
    for (name, r) in resolved {
        if let Some(e) = r.error() {
            unresolved.push((name, e.clone()));
            continue;
        }
        for a in r.addresses() {
            found.push(*a);
            by_addr.entry(a.ip).or_default().push(name.clone());
        }
    }
    let mut all = specs.addresses.clone();
    all.union(&AddressSet::of(found));
    (all, by_addr, unresolved)
}

/// What a scan covers, before any name is resolved.
#[derive(Debug, Clone)]
pub struct SweepRequest {
    pub targets: SpecSet,
    pub excludes: SpecSet,
    pub resolver: Resolver,
    pub selection: Selection,
    /// `--yes`: more than [`PUBLIC_LIMIT`] public addresses may be scanned.
    pub allow_public: bool,
}

/// Why a scan cannot start; found before any probe is sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SweepError {
    /// An excluded name did not resolve, so what it stands for cannot be left out.
    ExcludeUnresolved { name: String, why: ResolveError },
    /// The exclusions leave nothing to scan.
    EverythingExcluded { targets: u128 },
    /// Too many public internet addresses without `--yes`.
    TooManyPublic { public: u128, limit: u128 },
}

impl std::fmt::Display for SweepError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SweepError::ExcludeUnresolved { name, why } => write!(
                f,
                "cannot resolve excluded name '{name}': {why}; exclude its address instead"
            ),
            SweepError::EverythingExcluded { targets } => write!(
                f,
                "the exclusions remove every target ({targets} address(es)); nothing to scan"
            ),
            SweepError::TooManyPublic { public, limit } => write!(
                f,
                "the targets include {public} public internet addresses; scanning more than {limit} needs --yes (and permission from whoever runs those networks)"
            ),
        }
    }
}

impl std::error::Error for SweepError {}

impl SweepRequest {
    /// Resolves and checks a scan, before any probe.
    pub async fn prepare(&self) -> Result<SweepPlan, SweepError> {
        prepare(self).await
    }
}

async fn prepare(req: &SweepRequest) -> Result<SweepPlan, SweepError> {
    // Side by side: a silent name server then costs one resolution deadline, not two.
    let ((mut set, names, unresolved), (excl, _, excl_unresolved)) = futures::join!(
        resolve_all(&req.targets, &req.resolver),
        resolve_all(&req.excludes, &req.resolver)
    );
    if let Some((name, why)) = excl_unresolved.first() {
        return Err(SweepError::ExcludeUnresolved {
            name: name.clone(),
            why: why.clone(),
        });
    }
    let before = set.len();
    set.subtract(&excl);
    let excluded = before - set.len();
    if set.is_empty() && before > 0 {
        return Err(SweepError::EverythingExcluded { targets: before });
    }
    let public = set.public_len();
    if public > PUBLIC_LIMIT && !req.allow_public {
        return Err(SweepError::TooManyPublic {
            public,
            limit: PUBLIC_LIMIT,
        });
    }
    Ok(SweepPlan {
        targets: Arc::new(set.into_indexed()),
        ports: req.selection.plan(false, None),
        names,
        unresolved,
        excluded,
    })
}

impl SweepPlan {
    /// The name an observation of this host will carry (its first name, or its address):
    /// cheap, for deciding whether to build the observation at all.
    pub fn observe_key(&self, r: &HostResult) -> String {
        self.names
            .get(&r.address.ip)
            .and_then(|n| n.first().cloned())
            .unwrap_or_else(|| r.address.to_string())
    }

    /// The observation of one scanned host, in the shape single-host diagnosis uses.
    pub fn observe(&self, r: HostResult) -> HostObservation {
        let addr: Address = r.address;
        let names = self.names.get(&addr.ip);
        let input = names
            .and_then(|n| n.first().cloned())
            .unwrap_or_else(|| addr.to_string());
        let ports = self
            .ports
            .iter()
            .cloned()
            .zip(r.ports)
            .map(|(planned, result)| PortObservation { planned, result })
            .collect();
        HostObservation {
            target: Target {
                input,
                host: Host::Literal(addr),
                port: None,
            },
            resolution: match names {
                Some(_) => Resolution::Found {
                    source: AddressSource::System,
                    addresses: Addresses::new([addr]).expect("one address"),
                },
                None => Resolution::Literal(addr),
            },
            addresses: vec![AddressObservation {
                address: addr,
                ports,
            }],
            elapsed: std::time::Duration::ZERO,
            discovery: None,
            windows: Vec::new(),
        }
    }
}

/// What a scan needs to know about a host before deciding whether to report it; computed
/// without building an observation (most hosts of a sweep are never reported).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HostFlags {
    /// Something answered (open, closed or rejected by the host).
    pub up: bool,
    /// A debugger port (main, custom or WoW64) is open with nothing contradicting it: a
    /// running monitor, what an audit looks for.
    pub debugger: bool,
    /// A main or custom debugger port accepts: Visual Studio can attach (a verdict of
    /// "reachable"), what an availability check looks for.
    pub reachable: bool,
    /// Worth reporting without `--all`: any open port, or a host that is up while a debugger
    /// port of it is filtered or rejected (a firewall in the way of the debugger).
    pub interesting: bool,
}

pub(crate) fn flags(
    host: IpAddr,
    planned: &[PlannedPort],
    results: &[crate::probe::PortResult],
) -> HostFlags {
    let up = results.iter().any(|r| r.host_answered(host));
    let debugger = results.iter().any(|r| r.is_debugger_candidate());
    let reachable = planned
        .iter()
        .zip(results)
        .any(|(p, r)| r.is_debugger_candidate() && (p.is_main() || p.custom));
    let any_open = results.iter().any(|r| r.state == PortState::Open);
    let blocked = planned.iter().zip(results).any(|(p, r)| {
        (p.is_main() || p.custom) && matches!(r.state, PortState::Filtered | PortState::Rejected)
    });
    HostFlags {
        up,
        debugger,
        reachable,
        interesting: any_open || (up && blocked),
    }
}

/// Ports by state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PortCounts {
    pub open: u64,
    pub closed: u64,
    pub filtered: u64,
    pub rejected: u64,
    pub no_host: u64,
    /// Not probed: this machine ran out of something.
    pub local_error: u64,
    /// Not decided: the run was interrupted first.
    pub undecided: u64,
}

impl PortCounts {
    fn add(&mut self, state: PortState) {
        let n = match state {
            PortState::Open => &mut self.open,
            PortState::Closed => &mut self.closed,
            PortState::Filtered => &mut self.filtered,
            PortState::Rejected => &mut self.rejected,
            PortState::NoHost => &mut self.no_host,
            PortState::LocalError => &mut self.local_error,
            PortState::Undecided => &mut self.undecided,
        };
        *n += 1;
    }
}

/// Running totals of a run: a scan's summary, and what the exit code of any run is decided
/// from (the probe of named targets tallies its targets the same way).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Tally {
    /// Hosts (addresses) probed, every port decided.
    pub hosts: u128,
    /// Hosts an interrupted run handed on with some ports undecided.
    pub partial: u128,
    pub hosts_up: u128,
    /// Hosts with a debugger port (main, custom or WoW64) open: a monitor runs.
    pub debugger_hosts: u128,
    /// Hosts where Visual Studio can attach (a main or custom port accepts).
    pub reachable_hosts: u128,
    pub reported: u128,
    /// Names that did not resolve, so nothing of them was probed.
    pub unresolved: u128,
    pub ports: PortCounts,
}

impl Tally {
    pub fn add(&mut self, results: &[crate::probe::PortResult], f: HostFlags, reported: bool) {
        let partial = results.iter().any(|r| r.state == PortState::Undecided);
        self.hosts += u128::from(!partial);
        self.partial += u128::from(partial);
        self.hosts_up += u128::from(f.up);
        self.debugger_hosts += u128::from(f.debugger);
        self.reachable_hosts += u128::from(f.reachable);
        self.reported += u128::from(reported);
        for r in results {
            self.ports.add(r.state);
        }
    }

    /// Every address of a named target, reported; or the name, unresolved.
    pub fn add_target(&mut self, obs: &HostObservation) {
        if obs.resolution.error().is_some() {
            self.unresolved += 1;
        }
        for a in &obs.addresses {
            let planned: Vec<PlannedPort> = a.ports.iter().map(|p| p.planned.clone()).collect();
            let results: Vec<crate::probe::PortResult> =
                a.ports.iter().map(|p| p.result.clone()).collect();
            self.add(&results, flags(a.address.ip, &planned, &results), true);
        }
    }
}

/// Which hosts of a scan become observations, counting every host on the way: the one step
/// from a scanned host to what is reported, for a scan and for a watched scan alike.
pub struct Triage<'a> {
    plan: &'a SweepPlan,
    /// `--all`: every host is reported.
    all: bool,
    pub tally: Tally,
}

impl<'a> Triage<'a> {
    pub fn new(plan: &'a SweepPlan, all: bool) -> Self {
        Triage {
            plan,
            all,
            tally: Tally::default(),
        }
    }

    /// The observation of `host` when it is reported: with `--all`, when it is interesting
    /// ([`HostFlags::interesting`]), or when `follow` says so for its key (a watch follows the
    /// hosts it has reported before). Most hosts of a sweep are never reported, and their
    /// observation is never built.
    pub fn take(
        &mut self,
        host: HostResult,
        follow: Option<&dyn Fn(&str) -> bool>,
    ) -> Option<HostObservation> {
        let f = flags(host.address.ip, &self.plan.ports, &host.ports);
        let report = self.all
            || f.interesting
            || follow.is_some_and(|follow| follow(&self.plan.observe_key(&host)));
        self.tally.add(&host.ports, f, report);
        report.then(|| self.plan.observe(host))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probe::{conclude, Attempt};
    use std::time::Duration;

    fn results(plan: &[PlannedPort], f: impl Fn(u16) -> Attempt) -> Vec<crate::probe::PortResult> {
        plan.iter()
            .map(|p| conclude(&f(p.port.0), "10.0.0.1".parse().unwrap(), 1))
            .collect()
    }

    #[test]
    fn flags_decide_what_a_sweep_reports() {
        let plan = Selection::default().plan(false, None);
        let rst = |_| Attempt::Refused {
            rtt: Duration::from_micros(1),
        };
        let closed = flags("10.0.0.1".parse().unwrap(), &plan, &results(&plan, rst));
        assert_eq!(
            (closed.up, closed.debugger, closed.interesting),
            (true, false, false)
        );

        let silent = flags(
            "10.0.0.1".parse().unwrap(),
            &plan,
            &results(&plan, |_| Attempt::NoResponse),
        );
        assert_eq!(
            (silent.up, silent.interesting),
            (false, false),
            "a silent host is not news"
        );

        let fw = flags(
            "10.0.0.1".parse().unwrap(),
            &plan,
            &results(&plan, |p| {
                if p == 4026 {
                    Attempt::NoResponse
                } else {
                    rst(p)
                }
            }),
        );
        assert!(
            fw.up && fw.interesting && !fw.debugger,
            "a firewall in front of 4026 is news"
        );

        let wow_fw = flags(
            "10.0.0.1".parse().unwrap(),
            &plan,
            &results(&plan, |p| {
                if p == 4025 {
                    Attempt::NoResponse
                } else {
                    rst(p)
                }
            }),
        );
        assert!(!wow_fw.interesting, "a dropped WoW64 port alone is not");

        let open = flags(
            "10.0.0.1".parse().unwrap(),
            &plan,
            &results(&plan, |p| {
                if p == 4026 {
                    Attempt::Accepted {
                        rtt: Duration::from_micros(1),
                        greeting: None,
                    }
                } else {
                    rst(p)
                }
            }),
        );
        assert!(open.debugger && open.interesting && open.reachable);

        // A router rejecting for an empty address: not a live host, nothing to report.
        let router = |_| Attempt::Icmp {
            rtt: Duration::from_micros(5),
            report: crate::platform::IcmpReport {
                v6: false,
                icmp_type: 3,
                code: 13,
                offender: Some("10.0.0.254".parse().unwrap()),
            },
            local: Some("10.0.0.99".parse().unwrap()),
        };
        let empty = flags("10.0.0.1".parse().unwrap(), &plan, &results(&plan, router));
        assert!(!empty.up && !empty.interesting);

        let wow64_only = flags(
            "10.0.0.1".parse().unwrap(),
            &plan,
            &results(&plan, |p| {
                if p == 4025 {
                    Attempt::Accepted {
                        rtt: Duration::from_micros(1),
                        greeting: None,
                    }
                } else {
                    rst(p)
                }
            }),
        );
        assert!(
            wow64_only.debugger && !wow64_only.reachable,
            "exposed, not attachable"
        );
    }
}
