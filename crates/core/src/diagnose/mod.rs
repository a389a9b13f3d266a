//! From observations to a verdict and findings: pure rules, no I/O, no words.
//!
//! Each rule is a small function in the file of its family — `silence.rs` (nothing came back),
//! `refusals.rs` (resets), `icmp.rs` (ICMP errors), `greetings.rs` (a service that speaks
//! first), `releases.rs` (which monitor answers, and where), `addresses.rs` (names and
//! addresses, and what kept ports from being probed), `discovery.rs` (WS-Discovery) and
//! `windows.rs` (what a Windows host says past the open port: its clock, its own name) — and
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
mod windows;

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
    /// The host's clock (SMB2) is off from this machine's; beyond 5 minutes Kerberos fails.
    ClockSkew,
    /// The machine at the address calls itself by another NetBIOS name than the one typed.
    NameMismatch,
    /// The machine's own NetBIOS name and its workgroup or domain.
    WindowsIdentity,
}

impl Code {
    /// Among problems, what blocks the attach first: the answer to the user's question (their
    /// release, another program on its port), then why nothing gets there, then the rest.
    fn blocking_rank(self) -> u8 {
        match self {
            Code::ReleaseMismatch => 0,
            Code::NotTheDebugger => 1,
            Code::Unresolved => 2,
            Code::NoHost => 3,
            Code::HostSilent => 4,
            Code::Rejected | Code::IcmpRateLimited => 5,
            Code::Filtered => 6,
            Code::OnlyWow64 => 7,
            Code::Closed => 8,
            _ => 9,
        }
    }
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
    /// A routine fact: information about ports that do not matter for attaching (closed WoW64
    /// ports, releases that are not running or are blocked but not the user's). A report may
    /// fold these into one line.
    pub fn is_routine(&self) -> bool {
        self.severity == Severity::Info
            && matches!(
                self.code,
                Code::Closed
                    | Code::Wow64Closed
                    | Code::Filtered
                    | Code::Wow64Filtered
                    | Code::Rejected
            )
    }

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
    /// a reachable debugger, so these are releases that are simply not running. `matter`: those
    /// of them that matter for attaching (the user's release, else the newest), the ones advice
    /// names.
    Closed {
        debugger_here: bool,
        matter: Vec<Port>,
    },
    /// The finding's WoW64 ports were refused: normal while no 32-bit process is debugged.
    Wow64Closed,
    /// The finding's main ports got no answer after `attempts` attempts; `host_up`: the host
    /// itself answered on other ports (so it is a firewall, not a dead host). `matter`: those
    /// that matter for attaching, the only ones firewall advice names.
    Filtered {
        attempts: u32,
        host_up: bool,
        matter: Vec<Port>,
    },
    /// The finding's WoW64 ports got no answer.
    Wow64Filtered,
    /// No port of the address answered (the finding's ports: all of them) after `attempts`
    /// each; `answered_discovery`: the address answered the WS-Discovery Probe (a reply, or an
    /// ICMP error it sent itself), so it is up.
    /// `main_ports` are the ones a firewall rule would open: those that matter for attaching.
    HostSilent {
        attempts: u32,
        answered_discovery: bool,
        main_ports: Vec<Port>,
    },
    /// The finding's ports were rejected with ICMP `reason`, sent by `from` (the address
    /// itself, a router, or unknown). `matter`: those that matter for attaching.
    Rejected {
        reason: Reason,
        from: Option<IpAddr>,
        matter: Vec<Port>,
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
    /// `unprobed_mains`: main ports of releases sharing the open WoW64 port that were not
    /// probed (`--release`): their monitor may be the one that answers.
    OnlyWow64 {
        main_ports: Vec<Port>,
        blocked_mains: Vec<Port>,
        unprobed_mains: Vec<Port>,
    },
    /// The newest release that answers is `newest` (on `newest_ports`), while the main ports
    /// the finding names are not open: those of `wanted`, the user's release (`--ide`), or,
    /// when it is not known, those of newer releases, closed or filtered.
    ReleaseMismatch {
        newest: &'static Release,
        newest_ports: Vec<Port>,
        wanted: Option<&'static Release>,
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
    /// The SMB2 server's clock minus this machine's, `skew_ms`, within `uncertainty_ms`.
    ClockSkew { skew_ms: i64, uncertainty_ms: u64 },
    /// The address's NetBIOS name, `computer`, is not the name `typed`.
    NameMismatch { typed: String, computer: String },
    /// The NetBIOS name table's own name and group; `domain`: the group is certainly a domain
    /// (the machine is one of its controllers).
    WindowsIdentity {
        computer: Option<String>,
        group: Option<String>,
        domain: bool,
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
    /// The Probe to `address` drew `icmp`, a host or network unreachable (not a prohibition):
    /// nothing to reach there, not a firewall. `this_machine`: the error is this machine's own
    /// (no sender, or an on-link address whose neighbour discovery failed).
    Unreachable {
        address: Address,
        icmp: IcmpDetail,
        this_machine: bool,
    },
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
            Evidence::ClockSkew { .. } => Code::ClockSkew,
            Evidence::NameMismatch { .. } => Code::NameMismatch,
            Evidence::WindowsIdentity { .. } => Code::WindowsIdentity,
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

/// The Visual Studio release the user attaches from: the verdict answers for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ide {
    pub release: &'static Release,
    /// Not given by the user: the newest Visual Studio installed here, an assumption.
    pub assumed: bool,
}

/// Whether the user's release can attach to a target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdeVerdict {
    pub ide: Ide,
    /// Its monitor's port (the release's main port).
    pub port: Port,
    /// That port's state on the first address that probed it; `None`: it was not probed.
    pub state: Option<PortState>,
    /// Another release's monitor that answers instead (a release mismatch), and its port.
    pub other: Option<(&'static Release, Port)>,
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
    /// The user's release and what it can do (`--ide`); the status and endpoints are then its.
    pub ide: Option<IdeVerdict>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnosis {
    pub verdict: Verdict,
    pub findings: Vec<Finding>,
}

/// Diagnoses one target for no particular Visual Studio release: [`diagnose_for`] without one.
pub fn diagnose(obs: &HostObservation) -> Diagnosis {
    diagnose_for(obs, None)
}

/// Diagnoses one target for the user's release `ide`, when known: every rule, then the
/// findings ordered by what blocks the attach first, then good news, then the rest.
pub fn diagnose_for(obs: &HostObservation, ide: Option<Ide>) -> Diagnosis {
    let host = obs.target.host.clone();

    if obs.addresses.is_empty() {
        return Diagnosis {
            verdict: Verdict {
                status: Status::Unresolved,
                endpoints: vec![],
                host,
                wow64_port: None,
                ide: ide.map(|ide| ide_verdict(obs, ide, &[])),
            },
            findings: vec![addresses::unresolved(obs)],
        };
    }

    let all_endpoints = endpoints(obs);
    // With the user's release known, only its monitor (or a custom port) lets them attach.
    let endpoints: Vec<Endpoint> = match ide {
        Some(ide) => all_endpoints
            .iter()
            .filter(|e| e.custom || e.releases.contains(&ide.release.key))
            .cloned()
            .collect(),
        None => all_endpoints.clone(),
    };
    let mut findings = Vec::new();
    for a in &obs.addresses {
        let cx = AddressCtx {
            obs,
            a,
            endpoints: &all_endpoints,
            ide,
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
        findings.extend(windows::name_mismatch(&cx));
        findings.extend(windows::clock_skew(&cx));
        findings.extend(windows::identity(&cx));
    }
    findings.extend(addresses::mixed_addresses(obs, &endpoints));
    findings.extend(releases::app_service(obs, &endpoints));
    findings.extend(releases::beyond_the_network(&endpoints));
    if let Some(d) = &obs.discovery {
        // For the user's release, another release's monitor is nothing to attach to.
        findings.push(discovery::finding(obs, d, &endpoints));
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
    } else if !all_endpoints.is_empty() {
        // Another release's monitor answers; the user's cannot attach.
        Status::NotReachable
    } else if wow64_port.is_some() {
        Status::Wow64Only
    } else if local_errors {
        Status::Incomplete
    } else {
        Status::NotReachable
    };

    // What blocks the attach first, then good news, then what might bite, then the rest.
    findings.sort_by_key(|f| {
        let severity = match f.severity {
            Severity::Problem => 0,
            Severity::Ok => 1,
            Severity::Warning => 2,
            Severity::Info => 3,
        };
        (severity, f.code.blocking_rank())
    });
    let ide = ide.map(|ide| ide_verdict(obs, ide, &all_endpoints));
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
            ide,
        },
        findings,
    }
}

/// What the user's release can do: its port's state, and the monitor that answers instead.
fn ide_verdict(obs: &HostObservation, ide: Ide, all_endpoints: &[Endpoint]) -> IdeVerdict {
    let port = ide.release.main_port().unwrap_or(Port(0));
    let state = obs
        .addresses
        .iter()
        .flat_map(|a| &a.ports)
        .find(|p| p.planned.port == port)
        .map(|p| p.result.state);
    let theirs = all_endpoints
        .iter()
        .any(|e| e.releases.contains(&ide.release.key));
    let other = if theirs {
        None
    } else {
        all_endpoints
            .iter()
            .filter(|e| !e.custom)
            .filter_map(|e| {
                e.releases
                    .iter()
                    .filter_map(|k| Release::find(k))
                    .max_by_key(|r| r.internal_version)
                    .map(|r| (r, e.port))
            })
            .max_by_key(|(r, _)| r.internal_version)
    };
    IdeVerdict {
        ide,
        port,
        state,
        other,
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
    /// Every monitor found, whatever its release.
    endpoints: &'a [Endpoint],
    /// The user's release, when known.
    ide: Option<Ide>,
}

impl<'a> AddressCtx<'a> {
    fn addr(&self) -> Address {
        self.a.address
    }

    /// A debugger endpoint was found on this address.
    fn debugger_here(&self) -> bool {
        self.endpoints.iter().any(|e| e.address == self.addr())
    }

    /// The main ports that matter for attaching here, the only ones advice names: the user's
    /// release's (and custom ports); without it, once a monitor answers, those of newer
    /// releases that do not; else those of the newest release probed.
    fn matter(&self) -> Vec<Port> {
        let custom = self.a.ports.iter().filter(|p| p.planned.custom);
        let probed = |port: Port| self.a.ports.iter().any(|p| p.planned.port == port);
        let mut out: Vec<Port> = match self.ide {
            Some(ide) => ide
                .release
                .main_port()
                .filter(|&p| probed(p))
                .into_iter()
                .collect(),
            None => {
                let mains = || {
                    self.a
                        .ports
                        .iter()
                        .filter(|p| p.planned.is_main())
                        .filter_map(|p| {
                            let v = p
                                .planned
                                .claims
                                .iter()
                                .filter(|c| c.role == crate::catalog::Role::Main)
                                .filter_map(|c| c.release.internal_version)
                                .max()?;
                            Some((v, p))
                        })
                };
                let answering = self
                    .a
                    .debugger_ports()
                    .filter(|p| p.planned.is_main())
                    .filter_map(|p| mains().find(|(_, q)| q.planned.port == p.planned.port))
                    .map(|(v, _)| v)
                    .max();
                match answering {
                    Some(newest) => mains()
                        .filter(|(v, p)| *v > newest && !p.result.is_debugger_candidate())
                        .map(|(_, p)| p.planned.port)
                        .collect(),
                    None => match mains().map(|(v, _)| v).max() {
                        Some(top) => mains()
                            .filter(|(v, _)| *v == top)
                            .map(|(_, p)| p.planned.port)
                            .collect(),
                        None => vec![],
                    },
                }
            }
        };
        out.extend(custom.map(|p| p.planned.port));
        out
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
