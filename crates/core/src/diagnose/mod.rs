//! From observations to a verdict and findings: pure rules, no I/O, no words.
//!
//! Each rule is a small function in the file of its family — `silence.rs` (nothing came back),
//! `refusals.rs` (resets), `icmp.rs` (ICMP errors), `greetings.rs` (a service that speaks
//! first), `releases.rs` (which monitor answers, and where), `addresses.rs` (names and
//! addresses, and what kept ports from being probed) and `discovery.rs` (WS-Discovery) — and
//! returns a [`Finding`]: a [`Code`], a [`Severity`], the address and ports it is about, and
//! the [`Evidence`] it rests on. Findings are grouped (all closed main ports of an address in
//! one finding) so a report stays readable, while the per-port facts stay in the observation.
//! The sentences that say what a finding means and what to do are written by the reports (the
//! binary's `src/report/words.rs`), from the finding and the observation it was made from.
//!
//! A new rule: write `fn rule(cx: &AddressCtx) -> Option<Finding>` in its family's file, with a
//! doc comment saying what it claims and on what evidence; add its [`Code`] and [`Evidence`]
//! variant here; call it in [`diagnose`] where its findings belong in the report's order.

mod addresses;
mod discovery;
mod greetings;
mod icmp;
mod refusals;
mod releases;
mod silence;
#[cfg(test)]
mod tests;

use std::net::IpAddr;
use std::time::Duration;

use serde::Serialize;

use crate::catalog::{Port, Release};
use crate::discovery::DebuggerHint;
use crate::observation::{AddressObservation, HostObservation, PortObservation};
use crate::probe::{Greeting, IcmpDetail, PortState, Reason};
use crate::target::{Address, Host};

/// How much a finding matters for the question "can I attach?".
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Good news.
    Ok,
    /// Worth knowing, nothing to fix.
    Info,
    /// Might bite; check it.
    Warning,
    /// In the way of attaching.
    Problem,
}

/// What a finding is about; stable identifiers for JSON consumers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Code {
    DebuggerReachable,
    NotTheDebugger,
    Closed,
    Wow64Closed,
    Filtered,
    Wow64Filtered,
    HostSilent,
    Rejected,
    NoHost,
    LocalError,
    /// The run was interrupted before these ports were decided.
    Undecided,
    OnlyWow64,
    ReleaseMismatch,
    Wow64Conflict,
    AppService,
    MixedAddresses,
    PublicAddress,
    Unresolved,
    BeyondTheNetwork,
    /// The host answers WS-Discovery (and a debugger port accepts).
    DiscoveryAnswered,
    /// A debugger port accepts, but nothing answered WS-Discovery: not in the Find dialog.
    NotDiscoverable,
    /// The host answers WS-Discovery, but no debugger port accepts.
    DiscoveryWithoutDebugger,
    /// What answered WS-Discovery is `msvsmon-probe listen`, not the remote debugger.
    StandIn,
    /// No WS-Discovery answer, and no debugger port either.
    NoDiscoveryAnswer,
    /// No Probe could be sent from this machine.
    DiscoveryFailed,
    /// Some ports were rejected with ICMP and others got no answer: ICMP rate limiting, probably.
    IcmpRateLimited,
}

/// One piece of advice: what it is about and the facts it rests on. No words: a report says it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub code: Code,
    pub severity: Severity,
    /// The address it is about, when it is about one.
    pub address: Option<Address>,
    /// The ports it is about, in the order a report names them.
    pub ports: Vec<Port>,
    /// What the rule saw, beyond the address and ports; always the variant of [`Self::code`].
    pub evidence: Evidence,
}

impl Finding {
    fn new(
        severity: Severity,
        address: Option<Address>,
        ports: Vec<Port>,
        evidence: Evidence,
    ) -> Finding {
        Finding {
            code: evidence.code(),
            severity,
            address,
            ports,
            evidence,
        }
    }
}

/// The facts behind a finding, one variant per [`Code`]. Ports are named by number; their
/// releases, labels, states and the text the network sent are in the observation the finding
/// was made from (the port of the finding's address).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Evidence {
    /// A main or custom port accepts and nothing contradicts the debugger (the finding's port);
    /// Visual Studio connects to `attach_as`.
    DebuggerReachable { attach_as: String },
    /// The finding's port accepted, but the service sent `greeting` before we spoke.
    NotTheDebugger { greeting: Greeting },
    /// The finding's main ports were refused. `debugger_here`: another port of the address is
    /// a reachable debugger, so these are releases that are simply not running.
    Closed { debugger_here: bool },
    /// The finding's WoW64 ports were refused: normal while no 32-bit process is debugged.
    Wow64Closed,
    /// The finding's main ports got no answer after `attempts` attempts; `host_up`: the host
    /// itself answered on other ports (so it is a firewall, not a dead host).
    Filtered { attempts: u32, host_up: bool },
    /// The finding's WoW64 ports got no answer.
    Wow64Filtered,
    /// No port of the address answered (the finding's ports: all of them) after `attempts`
    /// each; `answered_discovery`: the address answered WS-Discovery, so it is up.
    /// `main_ports` are the ones a firewall rule would open.
    HostSilent {
        attempts: u32,
        answered_discovery: bool,
        main_ports: Vec<Port>,
    },
    /// The finding's ports were rejected with ICMP `reason`, sent by `from` (the address
    /// itself, a router, or unknown).
    Rejected {
        reason: Reason,
        from: Option<IpAddr>,
    },
    /// No host behind the address: the first such port's `reason`, and the router that said so
    /// (`from`). `every_port`: it is all the address's ports, not only the finding's.
    NoHost {
        reason: Reason,
        from: Option<IpAddr>,
        every_port: bool,
    },
    /// The finding's ports could not be probed here; `reason` is the first one's (the error
    /// text is the port's, in the observation).
    LocalError { reason: Reason },
    /// The run was interrupted (Ctrl-C, SIGTERM) before the finding's ports were decided.
    Undecided,
    /// Only the WoW64 ports (the finding's) accept; the main ports of the same releases
    /// (`main_ports`) do not, and `blocked_mains` are those among them that were not refused
    /// (filtered, rejected…): a firewall, where a refused one means no monitor listens there.
    OnlyWow64 {
        main_ports: Vec<Port>,
        blocked_mains: Vec<Port>,
    },
    /// The newest release that answers is `newest` (on `newest_ports`), while the main ports of
    /// newer releases (the finding's) are closed.
    ReleaseMismatch {
        newest: &'static Release,
        newest_ports: Vec<Port>,
    },
    /// VS 2019 and VS 2022/2026 monitors both answer on the address; both want WoW64 port 4025.
    Wow64Conflict,
    /// The target is an Azure App Service; `debugger_on_4024`: its forwarder answers.
    AppService { debugger_on_4024: bool },
    /// The addresses of the name answer differently: the debugger answers at `answering`
    /// (address, port) and not on `not_answering` (empty `answering`: nowhere).
    MixedAddresses {
        answering: Vec<(Address, Port)>,
        not_answering: Vec<Address>,
    },
    /// The address is a public internet address.
    PublicAddress,
    /// The name did not resolve (the error is the resolution's); `mdns`: it is a `.local` name.
    Unresolved { mdns: bool },
    /// A debugger port accepts: what remains is beyond the network.
    BeyondTheNetwork,
    /// The host answers WS-Discovery: `responders` (indices into the observation's discovery
    /// responders) are what answered, `hint` what in them points at the debugger; a debugger
    /// port accepts too, at `attach_as`.
    DiscoveryAnswered {
        responders: Vec<usize>,
        hint: DebuggerHint,
        attach_as: String,
    },
    /// A debugger port accepts (at `attach_as`), but nothing answered WS-Discovery, because of
    /// `why`; `off_link`: every address is beyond a router.
    NotDiscoverable {
        why: DiscoverySilence,
        off_link: bool,
        attach_as: String,
    },
    /// As [`Evidence::DiscoveryAnswered`], but no debugger port accepts.
    DiscoveryWithoutDebugger {
        responders: Vec<usize>,
        hint: DebuggerHint,
    },
    /// `responder` answered WS-Discovery as this tool's stand-in; `debugger_ports_open`: its
    /// TCP ports accept too.
    StandIn {
        responder: IpAddr,
        debugger_ports_open: bool,
    },
    /// No WS-Discovery answer because of `why`, and no debugger port accepts either.
    /// `inconclusive`: nothing came back at all (no ICMP either).
    NoDiscoveryAnswer {
        why: DiscoverySilence,
        off_link: bool,
        inconclusive: bool,
    },
    /// No Probe could be sent (the error is the discovery observation's).
    DiscoveryFailed,
    /// Some ports (`rejected`) were rejected with ICMP by `senders` while the finding's ports
    /// got no answer: the senders rate-limit their ICMP errors.
    IcmpRateLimited {
        rejected: Vec<Port>,
        senders: Vec<IpAddr>,
    },
}

/// Why nothing answered WS-Discovery, as far as can be told.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DiscoverySilence {
    /// `address` answered the Probe with ICMP port unreachable: nothing listens on UDP 3702.
    Closed { address: Address },
    /// UDP 3702 of `address` was rejected with `icmp` (a prohibition).
    Rejected { address: Address, icmp: IcmpDetail },
    /// The target is this machine: a multicast Probe does not come back to its sender.
    ThisMachine,
    /// The target is on another subnet: multicast does not cross routers.
    OffLink,
    /// No answer within `wait`, to multicast and unicast Probes (`multicast`) or to the
    /// unicast Probe alone.
    NoAnswer { multicast: bool, wait: Duration },
}

impl Evidence {
    /// The code a finding with this evidence has.
    pub fn code(&self) -> Code {
        match self {
            Evidence::DebuggerReachable { .. } => Code::DebuggerReachable,
            Evidence::NotTheDebugger { .. } => Code::NotTheDebugger,
            Evidence::Closed { .. } => Code::Closed,
            Evidence::Wow64Closed => Code::Wow64Closed,
            Evidence::Filtered { .. } => Code::Filtered,
            Evidence::Wow64Filtered => Code::Wow64Filtered,
            Evidence::HostSilent { .. } => Code::HostSilent,
            Evidence::Rejected { .. } => Code::Rejected,
            Evidence::NoHost { .. } => Code::NoHost,
            Evidence::LocalError { .. } => Code::LocalError,
            Evidence::Undecided => Code::Undecided,
            Evidence::OnlyWow64 { .. } => Code::OnlyWow64,
            Evidence::ReleaseMismatch { .. } => Code::ReleaseMismatch,
            Evidence::Wow64Conflict => Code::Wow64Conflict,
            Evidence::AppService { .. } => Code::AppService,
            Evidence::MixedAddresses { .. } => Code::MixedAddresses,
            Evidence::PublicAddress => Code::PublicAddress,
            Evidence::Unresolved { .. } => Code::Unresolved,
            Evidence::BeyondTheNetwork => Code::BeyondTheNetwork,
            Evidence::DiscoveryAnswered { .. } => Code::DiscoveryAnswered,
            Evidence::NotDiscoverable { .. } => Code::NotDiscoverable,
            Evidence::DiscoveryWithoutDebugger { .. } => Code::DiscoveryWithoutDebugger,
            Evidence::StandIn { .. } => Code::StandIn,
            Evidence::NoDiscoveryAnswer { .. } => Code::NoDiscoveryAnswer,
            Evidence::DiscoveryFailed => Code::DiscoveryFailed,
            Evidence::IcmpRateLimited { .. } => Code::IcmpRateLimited,
        }
    }
}

/// The overall answer for one target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// A main (or custom) debugger port accepts: Visual Studio can connect.
    Reachable,
    /// Only a WoW64 port accepts: a monitor runs, but its main port is not reachable.
    Wow64Only,
    /// No debugger port accepts.
    NotReachable,
    /// The name did not resolve; nothing was probed.
    Unresolved,
    /// Local errors kept some ports from being probed and nothing accepted.
    Incomplete,
}

/// Where Visual Studio can connect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    pub address: Address,
    pub port: Port,
    /// "VS 2022 or 2026 · main".
    pub label: String,
    /// Catalog keys of the releases that use this port as main port (empty for a custom port).
    pub releases: Vec<&'static str>,
    pub custom: bool,
    /// What to type into Attach to Process: `devbox:4026` when every address of the name
    /// answers there, else the address.
    pub attach_as: String,
}

/// The answer for one target, and what its one-line summary names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    pub status: Status,
    /// Where Visual Studio can connect (reachable targets).
    pub endpoints: Vec<Endpoint>,
    /// The host the verdict is about, as the target named it.
    pub host: Host,
    /// The first WoW64 port that accepts, when only WoW64 ports do ([`Status::Wow64Only`]).
    pub wow64_port: Option<Port>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnosis {
    pub verdict: Verdict,
    pub findings: Vec<Finding>,
}

/// Diagnoses one target: every rule, in the order a report lists findings of equal severity,
/// then good news first, then what is in the way, then the rest.
pub fn diagnose(obs: &HostObservation) -> Diagnosis {
    let host = obs.target.host.clone();

    if obs.addresses.is_empty() {
        return Diagnosis {
            verdict: Verdict {
                status: Status::Unresolved,
                endpoints: vec![],
                host,
                wow64_port: None,
            },
            findings: vec![addresses::unresolved(obs)],
        };
    }

    let endpoints = endpoints(obs);
    let mut findings = Vec::new();
    for a in &obs.addresses {
        let cx = AddressCtx {
            obs,
            a,
            endpoints: &endpoints,
        };
        findings.extend(releases::debugger_reachable(&cx));
        findings.extend(greetings::not_the_debugger(&cx));
        findings.extend(silence::host_silent(&cx));
        findings.extend(silence::filtered(&cx));
        findings.extend(silence::wow64_filtered(&cx));
        findings.extend(refusals::closed(&cx));
        findings.extend(refusals::wow64_closed(&cx));
        findings.extend(icmp::rate_limited(&cx));
        findings.extend(icmp::rejected(&cx));
        findings.extend(icmp::no_host(&cx));
        findings.extend(addresses::local_error(&cx));
        findings.extend(addresses::undecided(&cx));
        findings.extend(releases::only_wow64(&cx));
        findings.extend(releases::wow64_conflict(&cx));
        findings.extend(releases::release_mismatch(&cx));
        findings.extend(addresses::public_address(&cx));
    }
    findings.extend(addresses::mixed_addresses(obs, &endpoints));
    findings.extend(releases::app_service(obs, &endpoints));
    findings.extend(releases::beyond_the_network(&endpoints));
    if let Some(d) = &obs.discovery {
        findings.push(discovery::finding(d, &endpoints));
    }

    let wow64_port = obs
        .addresses
        .iter()
        .flat_map(|a| a.debugger_ports())
        .find(|p| p.planned.is_wow64_only())
        .map(|p| p.planned.port);
    let local_errors = obs
        .addresses
        .iter()
        .flat_map(|a| &a.ports)
        .any(|p| matches!(p.result.state, PortState::LocalError | PortState::Undecided));
    let status = if !endpoints.is_empty() {
        Status::Reachable
    } else if wow64_port.is_some() {
        Status::Wow64Only
    } else if local_errors {
        Status::Incomplete
    } else {
        Status::NotReachable
    };

    // Good news first, then what is in the way, then the rest.
    findings.sort_by_key(|f| match f.severity {
        Severity::Ok => 0,
        Severity::Problem => 1,
        Severity::Warning => 2,
        Severity::Info => 3,
    });
    Diagnosis {
        verdict: Verdict {
            status,
            wow64_port: if status == Status::Wow64Only {
                wow64_port
            } else {
                None
            },
            endpoints,
            host,
        },
        findings,
    }
}

/// Main and custom ports that accept with nothing contradicting the debugger.
fn endpoints(obs: &HostObservation) -> Vec<Endpoint> {
    let mut out = Vec::new();
    for a in &obs.addresses {
        for p in a.debugger_ports() {
            if !(p.planned.is_main() || p.planned.custom) {
                continue;
            }
            let mut releases: Vec<&'static str> = p
                .planned
                .claims
                .iter()
                .filter(|c| c.role.is_primary())
                .map(|c| c.release.key)
                .collect();
            releases.dedup();
            let on_every_address = obs.addresses.iter().all(|other| {
                other
                    .debugger_ports()
                    .any(|q| q.planned.port == p.planned.port)
            });
            let attach_as = match (&obs.target.host, on_every_address) {
                (Host::Name(n), true) => format!("{n}:{}", p.planned.port),
                _ => a.address.with_port(p.planned.port),
            };
            out.push(Endpoint {
                address: a.address,
                port: p.planned.port,
                label: p.planned.label(),
                releases,
                custom: p.planned.custom,
                attach_as,
            });
        }
    }
    out
}

/// What the rules about one address look at: the target's observation, the address's ports,
/// and where the debugger was found.
struct AddressCtx<'a> {
    obs: &'a HostObservation,
    a: &'a AddressObservation,
    endpoints: &'a [Endpoint],
}

impl<'a> AddressCtx<'a> {
    fn addr(&self) -> Address {
        self.a.address
    }

    /// A debugger endpoint was found on this address.
    fn debugger_here(&self) -> bool {
        self.endpoints.iter().any(|e| e.address == self.addr())
    }

    /// Problems on other ports matter only while nothing reachable was found on this address.
    fn gravity(&self) -> Severity {
        if self.debugger_here() {
            Severity::Info
        } else {
            Severity::Problem
        }
    }

    /// The ports in `state`.
    fn ports_in(&self, state: PortState) -> Vec<&'a PortObservation> {
        self.a
            .ports
            .iter()
            .filter(|p| p.result.state == state)
            .collect()
    }

    /// The ports in `state` that are WoW64 ports only (`wow64`), or the others.
    fn ports_of(&self, state: PortState, wow64: bool) -> Vec<&'a PortObservation> {
        self.a
            .ports
            .iter()
            .filter(|p| p.result.state == state && p.planned.is_wow64_only() == wow64)
            .collect()
    }

    /// No port answered at all.
    fn silent_everywhere(&self) -> bool {
        self.a
            .ports
            .iter()
            .all(|p| p.result.state == PortState::Filtered)
    }

    /// Some ports rejected with ICMP and others silent: ICMP rate limiting, probably.
    fn icmp_rate_limited(&self) -> bool {
        self.a
            .ports
            .iter()
            .any(|p| p.result.state == PortState::Rejected && p.result.icmp.is_some())
            && self
                .a
                .ports
                .iter()
                .any(|p| p.result.state == PortState::Filtered)
    }

    /// A finding about this address.
    fn finding(&self, severity: Severity, ports: Vec<Port>, evidence: Evidence) -> Finding {
        Finding::new(severity, Some(self.addr()), ports, evidence)
    }
}

/// The port numbers of `ports`, in order.
fn numbers(ports: &[&PortObservation]) -> Vec<Port> {
    ports.iter().map(|p| p.planned.port).collect()
}

/// Main or custom: a port Visual Studio attaches through.
fn attachable(p: &PortObservation) -> bool {
    p.planned.is_main() || p.planned.custom
}
