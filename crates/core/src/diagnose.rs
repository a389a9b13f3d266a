//! From observations to a verdict and hints: pure rules, no I/O, each tested on its own.
//!
//! Every finding carries one sentence of cause and one concrete next step that names the release
//! and the port. Findings are grouped (all closed main ports of an address in one finding) so a
//! report stays readable, while the per-port facts stay in the observation.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use serde::Serialize;

use crate::catalog::{join_releases, Port, Release, Role};
use crate::discovery::{DebuggerHint, DiscoveryObservation, DiscoveryStatus, Reach, ResponderKind};
use crate::observation::{AddressObservation, AddressScope, HostObservation, PortObservation};
use crate::probe::{PortState, Reason};
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

/// One piece of advice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub code: Code,
    pub severity: Severity,
    /// The address it is about, when it is about one.
    pub address: Option<Address>,
    pub ports: Vec<Port>,
    /// What the network showed and what it means.
    pub cause: String,
    /// What to do next.
    pub action: String,
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

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    pub status: Status,
    pub endpoints: Vec<Endpoint>,
    pub summary: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnosis {
    pub verdict: Verdict,
    pub findings: Vec<Finding>,
}

const FIREWALL_RULE: &str = "New-NetFirewallRule -DisplayName 'Visual Studio Remote Debugger' \
     -Direction Inbound -Action Allow -Protocol TCP -Program '<path>\\msvsmon.exe' -LocalPort";

/// Diagnoses one target.
pub fn diagnose(obs: &HostObservation) -> Diagnosis {
    let mut findings = Vec::new();
    let host = obs.target.host.to_string();

    if obs.addresses.is_empty() {
        let error = obs
            .resolution
            .error()
            .map_or_else(|| "no address".into(), |e| e.to_string());
        let mdns = host
            .to_ascii_lowercase()
            .trim_end_matches('.')
            .ends_with(".local");
        findings.push(Finding {
            code: Code::Unresolved,
            severity: Severity::Problem,
            address: None,
            ports: vec![],
            cause: format!("'{host}' could not be resolved: {error}"),
            action: if mdns {
                format!("'.local' names need multicast DNS (Bonjour, nss-mdns, or Windows 10+); check the name or use the machine's address instead of '{host}'")
            } else {
                format!("check the spelling and the DNS suffix, or use the machine's address instead of '{host}'; Visual Studio needs the same name to resolve")
            },
        });
        return Diagnosis {
            verdict: Verdict {
                status: Status::Unresolved,
                endpoints: vec![],
                summary: format!("{host} did not resolve; nothing was probed"),
            },
            findings,
        };
    }

    let endpoints = endpoints(obs);
    for a in &obs.addresses {
        address_findings(obs, a, &endpoints, &mut findings);
    }
    target_findings(obs, &endpoints, &mut findings);
    if let Some(d) = &obs.discovery {
        discovery_findings(obs, d, &endpoints, &mut findings);
    }

    let wow64_open: Vec<&PortObservation> = obs
        .addresses
        .iter()
        .flat_map(|a| a.debugger_ports())
        .filter(|p| p.planned.is_wow64_only())
        .collect();
    let local_errors = obs
        .addresses
        .iter()
        .flat_map(|a| &a.ports)
        .any(|p| p.result.state == PortState::LocalError);

    let (status, summary) = if !endpoints.is_empty() {
        let mut s = String::new();
        for (i, e) in endpoints.iter().enumerate() {
            if i > 0 {
                s.push_str("; ");
            }
            let what = if e.custom && e.releases.is_empty() {
                "a service on the custom port (msvsmon /port?)".to_string()
            } else {
                format!("{} remote debugger", release_names(&e.releases))
            };
            let _ = write!(s, "{what} reachable at {}", e.address.with_port(e.port));
        }
        (Status::Reachable, s)
    } else if !wow64_open.is_empty() {
        (
            Status::Wow64Only,
            format!(
                "only a WoW64 port answers on {host} ({}); the main port does not, so Visual Studio cannot attach",
                wow64_open[0].planned.port
            ),
        )
    } else if local_errors {
        (
            Status::Incomplete,
            format!("no debugger port answered on {host}, but local errors kept some ports from being probed"),
        )
    } else {
        (
            Status::NotReachable,
            format!("no remote debugger port answers on {host}"),
        )
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
            endpoints,
            summary,
        },
        findings,
    }
}

fn release_names(keys: &[&'static str]) -> String {
    let rs: Vec<&Release> = keys
        .iter()
        .filter_map(|k| crate::catalog::release(k))
        .collect();
    join_releases(&rs)
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

/// "4024 (VS 2019), 4026 (VS 2022 or 2026)".
fn port_list(ports: &[&PortObservation]) -> String {
    ports
        .iter()
        .map(|p| {
            let rs: Vec<&Release> = p.planned.claims.iter().map(|c| c.release).collect();
            if rs.is_empty() {
                format!("{} (custom)", p.planned.port)
            } else {
                format!("{} ({})", p.planned.port, join_releases(&rs))
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn port_numbers(ports: &[&PortObservation]) -> Vec<Port> {
    ports.iter().map(|p| p.planned.port).collect()
}

fn comma_ports(ports: &[&PortObservation]) -> String {
    ports
        .iter()
        .map(|p| p.planned.port.to_string())
        .collect::<Vec<_>>()
        .join(",")
}

fn address_findings(
    obs: &HostObservation,
    a: &AddressObservation,
    endpoints: &[Endpoint],
    out: &mut Vec<Finding>,
) {
    let addr = a.address;
    let reachable_here = endpoints.iter().any(|e| e.address == addr);
    // Problems on other ports matter only while nothing reachable was found on this address.
    let gravity = if reachable_here {
        Severity::Info
    } else {
        Severity::Problem
    };
    let of_state = |st: PortState, wow: bool| -> Vec<&PortObservation> {
        a.ports
            .iter()
            .filter(|p| p.result.state == st && p.planned.is_wow64_only() == wow)
            .collect()
    };
    let mut push = |code, severity, ports: Vec<Port>, cause: String, action: String| {
        out.push(Finding {
            code,
            severity,
            address: Some(addr),
            ports,
            cause,
            action,
        })
    };

    for e in endpoints.iter().filter(|e| e.address == addr) {
        push(
            Code::DebuggerReachable,
            Severity::Ok,
            vec![e.port],
            format!(
                "{} accepts connections ({}) and nothing contradicts the remote debugger",
                addr.with_port(e.port),
                e.label
            ),
            format!(
                "in Visual Studio: Debug > Attach to Process, connection type Remote (Windows), target {}",
                e.attach_as
            ),
        );
    }

    // Open ports whose service spoke first.
    for p in a.ports.iter().filter(|p| p.result.state == PortState::Open) {
        if let Some(g) = &p.result.greeting {
            push(
                Code::NotTheDebugger,
                if p.planned.is_main() || p.planned.custom {
                    Severity::Warning
                } else {
                    Severity::Info
                },
                vec![p.planned.port],
                format!(
                    "{} ({}) accepts, but greets first with \"{}\" ({}); msvsmon waits for the client, so this is not the remote debugger",
                    addr.with_port(p.planned.port),
                    p.planned.label(),
                    g.text,
                    g.service_phrase()
                ),
                format!(
                    "another program holds port {port}: find it on the remote machine (netstat -abno | findstr :{port}), or start msvsmon with /port N and attach to name:N",
                    port = p.planned.port
                ),
            );
        }
    }

    // Some ports rejected with ICMP and others silent: ICMP rate limiting, probably (see below).
    let rate_limited = a
        .ports
        .iter()
        .any(|p| p.result.state == PortState::Rejected && p.result.icmp.is_some())
        && a.ports
            .iter()
            .any(|p| p.result.state == PortState::Filtered);

    // Silence everywhere: one finding, not twelve.
    if a.ports
        .iter()
        .all(|p| p.result.state == PortState::Filtered)
    {
        let attempts = a.ports.first().map_or(0, |p| p.result.attempts);
        let mains: Vec<&PortObservation> = a
            .ports
            .iter()
            .filter(|p| p.planned.is_main() || p.planned.custom)
            .collect();
        // A WS-Discovery answer from this very address proves the host is up.
        let answered_discovery = obs
            .discovery
            .as_ref()
            .is_some_and(|d| d.responders.iter().any(|r| r.source.ip() == addr.ip));
        let why = if answered_discovery {
            format!("{addr} is up (it answered WS-Discovery), so a firewall drops every debugger port (there, in between, or this machine's own outgoing rules)")
        } else {
            "the host is down, the address is wrong, or a firewall drops everything (there, in between, or this machine's own outgoing rules)".to_string()
        };
        push(
            Code::HostSilent,
            Severity::Problem,
            port_numbers(&a.ports.iter().collect::<Vec<_>>()),
            format!(
                "no answer from {addr} on any of its {} ports after {attempts} attempt(s) each: {why}",
                a.ports.len()
            ),
            format!(
                "check that the machine is on and that {addr} is its address; if it is, allow the debugger through its firewall: {FIREWALL_RULE} {}",
                comma_ports(&mains)
            ),
        );
    } else if rate_limited {
        // The silent ports are covered by the icmp_rate_limited finding below: calling them
        // "dropped by a firewall" next to it would contradict it.
    } else {
        let filtered = of_state(PortState::Filtered, false);
        if !filtered.is_empty() {
            let up = if a.host_answered() {
                format!("{addr} is up (it answered on other ports), so a firewall drops these")
            } else {
                "a firewall drops them, or the host is down".to_string()
            };
            // Unlike a closed port, a filtered one may hide a running monitor: worth a warning
            // even when another release answers.
            push(
                Code::Filtered,
                if reachable_here { Severity::Warning } else { Severity::Problem },
                port_numbers(&filtered),
                format!(
                    "no answer on {} after {} attempt(s): {up}",
                    port_list(&filtered),
                    filtered[0].result.attempts
                ),
                format!(
                    "on the remote machine, allow inbound TCP {} for msvsmon.exe: {FIREWALL_RULE} {} (and open any network firewall in between; a firewall on this machine that drops outgoing connections looks the same)",
                    comma_ports(&filtered),
                    comma_ports(&filtered)
                ),
            );
        }
        let wfiltered = of_state(PortState::Filtered, true);
        if !wfiltered.is_empty() {
            push(
                Code::Wow64Filtered,
                Severity::Info,
                port_numbers(&wfiltered),
                format!(
                    "no answer on WoW64 port(s) {}: dropped by a firewall; they are needed only to debug 32-bit processes",
                    port_list(&wfiltered)
                ),
                format!(
                    "to debug 32-bit processes, also allow inbound TCP {} for msvsmon.exe",
                    comma_ports(&wfiltered)
                ),
            );
        }
    }

    let closed = of_state(PortState::Closed, false);
    if !closed.is_empty() {
        let (cause, action) = if reachable_here {
            (
                format!(
                    "nothing listens on {}: the remote tools of those releases are not running",
                    port_list(&closed)
                ),
                "nothing to do unless you need one of those releases".to_string(),
            )
        } else {
            (
                format!(
                    "{addr} answers, but nothing listens on {}: the remote debugger is not running, or it listens on another port",
                    port_list(&closed)
                ),
                "start the Remote Debugger (msvsmon.exe) of your Visual Studio release on the remote machine; if it was started with /port N, probe that port: msvsmon-probe HOST -p N".to_string(),
            )
        };
        push(Code::Closed, gravity, port_numbers(&closed), cause, action);
    }
    let wclosed = of_state(PortState::Closed, true);
    if !wclosed.is_empty() {
        push(
            Code::Wow64Closed,
            Severity::Info,
            port_numbers(&wclosed),
            format!(
                "WoW64 port(s) {} closed: normal, a 64-bit monitor opens its WoW64 port only while it debugs a 32-bit process",
                comma_ports(&wclosed).replace(',', ", ")
            ),
            "nothing to do".to_string(),
        );
    }

    // Rejections, grouped by ICMP kind and sender.
    let rejected: Vec<&PortObservation> = a
        .ports
        .iter()
        .filter(|p| p.result.state == PortState::Rejected)
        .collect();
    let silent: Vec<&PortObservation> = a
        .ports
        .iter()
        .filter(|p| p.result.state == PortState::Filtered)
        .collect();
    if rate_limited {
        // Linux answers at most a burst of 6 ICMP errors, then 1 per second, per destination
        // (icmp_ratelimit); routers limit theirs too. A dozen SYNs at once outrun that.
        let main_silent = silent
            .iter()
            .any(|p| p.planned.is_main() || p.planned.custom);
        push(
            Code::IcmpRateLimited,
            if main_silent { gravity } else { Severity::Info },
            port_numbers(&silent),
            format!(
                "{} port(s) of {addr} were rejected with ICMP by {} but {} other(s) got no answer ({}): senders rate-limit their ICMP errors, so the silent ports are probably rejected the same way, not dropped",
                rejected.len(),
                {
                    let mut senders: Vec<String> = rejected
                        .iter()
                        .filter_map(|p| p.result.icmp.and_then(|i| i.from))
                        .map(|f| if f == addr.ip { format!("{addr} itself") } else { f.to_string() })
                        .collect();
                    senders.dedup();
                    if senders.is_empty() { "something on the way".to_string() } else { senders.join(", ") }
                },
                silent.len(),
                comma_ports(&silent).replace(',', ", ")
            ),
            format!(
                "probe fewer ports at a time to see their real answer (e.g. msvsmon-probe {} --release 2022); where a firewall rejects, allow inbound TCP {} for msvsmon.exe: {FIREWALL_RULE} {}",
                addr,
                comma_ports(&silent),
                comma_ports(&silent)
            ),
        );
    }
    let mut groups: Vec<(Reason, Option<std::net::IpAddr>)> = Vec::new();
    for p in &rejected {
        let key = (p.result.reason, p.result.icmp.and_then(|i| i.from));
        if !groups.contains(&key) {
            groups.push(key);
        }
    }
    for (reason, from) in groups {
        let ports: Vec<&PortObservation> = rejected
            .iter()
            .copied()
            .filter(|p| p.result.reason == reason && p.result.icmp.and_then(|i| i.from) == from)
            .collect();
        let who = match from {
            Some(f) if f == addr.ip => format!("by {addr} itself: its firewall rejects"),
            Some(f) => format!("by {f}, a router or firewall between here and {addr}"),
            None => "by something on the way".to_string(),
        };
        let severity = if ports.iter().all(|p| p.planned.is_wow64_only()) {
            Severity::Info
        } else {
            gravity
        };
        push(
            Code::Rejected,
            severity,
            port_numbers(&ports),
            format!(
                "{} rejected with {} {who}",
                port_list(&ports),
                reason.as_str().replace('-', " ").replacen("icmp", "ICMP", 1)
            ),
            format!(
                "allow inbound TCP {} in that firewall (for Windows Firewall on the remote machine: {FIREWALL_RULE} {})",
                comma_ports(&ports),
                comma_ports(&ports)
            ),
        );
    }

    let nohost: Vec<&PortObservation> = a
        .ports
        .iter()
        .filter(|p| p.result.state == PortState::NoHost)
        .collect();
    if let Some(first) = nohost.first() {
        let cause = match (first.result.reason, first.result.icmp.and_then(|i| i.from)) {
            (Reason::NeighbourUnreachable, _) => format!(
                "no host answered ARP/neighbour discovery for {addr} on the local link: nothing is at this address"
            ),
            (Reason::NoRoute, _) => format!("this machine has no route to {addr}"),
            (_, Some(router)) => format!(
                "{router} reports {addr} unreachable ({})",
                first.result.reason.as_str()
            ),
            _ => format!("{addr} is unreachable ({})", first.result.reason.as_str()),
        };
        let all = nohost.len() == a.ports.len();
        push(
            Code::NoHost,
            Severity::Problem,
            port_numbers(&nohost),
            if all {
                cause
            } else {
                format!("{cause} (on {})", port_list(&nohost))
            },
            format!(
                "check the address{}: is the machine on, on this network, or behind a VPN that is not connected?",
                match &obs.target.host {
                    Host::Name(n) => format!(" '{n}' resolves to"),
                    Host::Literal(_) => String::new(),
                }
            ),
        );
    }

    let local: Vec<&PortObservation> = a
        .ports
        .iter()
        .filter(|p| p.result.state == PortState::LocalError)
        .collect();
    if let Some(first) = local.first() {
        let why = first.result.error.clone().unwrap_or_default();
        let action = match first.result.reason {
            Reason::NoFileDescriptors => {
                "raise the open-file limit (ulimit -n) or lower --concurrency, then run again"
            }
            Reason::NoLocalPorts => {
                "wait for closed connections to expire or lower --concurrency, then run again"
            }
            Reason::LocalPolicy => {
                "this machine's own firewall blocks outgoing connections to these ports: allow them"
            }
            _ => "run again; if it persists, report it with the error text",
        };
        push(
            Code::LocalError,
            Severity::Warning,
            port_numbers(&local),
            format!(
                "could not probe {}: {} ({why}); this says nothing about the remote machine",
                port_list(&local),
                first.result.reason.as_str()
            ),
            action.to_string(),
        );
    }

    // Only the WoW64 port answers.
    let wow_open: Vec<&PortObservation> = a
        .debugger_ports()
        .filter(|p| p.planned.is_wow64_only())
        .collect();
    if !wow_open.is_empty() && !reachable_here {
        let mains: Vec<&PortObservation> = a
            .ports
            .iter()
            .filter(|p| {
                p.planned.is_main()
                    && p.planned.claims.iter().any(|c| {
                        wow_open.iter().any(|w| {
                            w.planned
                                .claims
                                .iter()
                                .any(|wc| wc.release.key == c.release.key)
                        })
                    })
            })
            .collect();
        let states = mains
            .iter()
            .map(|p| format!("{} {}", p.planned.port, p.result.state.as_str()))
            .collect::<Vec<_>>()
            .join(", ");
        // A refused main port means nothing listens there; only a silent one points at a firewall.
        let silent: Vec<&PortObservation> = mains
            .iter()
            .copied()
            .filter(|p| p.result.state != PortState::Closed)
            .collect();
        let (meaning, action) = if silent.is_empty() {
            (
                "nothing listens on the main port; a 64-bit monitor started with /port N keeps its default WoW64 port, so it may listen on another port, or another program holds the WoW64 port".to_string(),
                "find the monitor's port (its window: Tools > Options, or its /port switch), probe it with -p N and attach to name:N".to_string(),
            )
        } else {
            (
                "a monitor likely runs, but its main port, the one Visual Studio connects to, is not reachable".to_string(),
                format!(
                    "allow inbound TCP {} for msvsmon.exe as well; if the monitor runs with /port N, probe N with -p N and attach to name:N",
                    comma_ports(&silent)
                ),
            )
        };
        push(
            Code::OnlyWow64,
            Severity::Problem,
            port_numbers(&wow_open),
            format!(
                "only WoW64 port(s) {} accept; the main port(s) {} do not ({states}): {meaning}",
                port_list(&wow_open),
                port_list(&mains),
            ),
            action,
        );
    }

    // Two monitors side by side both want 4025.
    let open_main_releases: BTreeSet<&str> = a
        .debugger_ports()
        .filter(|p| p.planned.is_main())
        .flat_map(|p| p.planned.claims.iter().map(|c| c.release.key))
        .collect();
    if open_main_releases.contains("2019") && open_main_releases.contains("2022") {
        push(
            Code::Wow64Conflict,
            Severity::Warning,
            vec![Port(4024), Port(4026), Port(4025)],
            format!(
                "VS 2019 (4024) and VS 2022 or 2026 (4026) monitors run side by side on {addr}; both want WoW64 port 4025, so the one started second cannot debug 32-bit processes (\"Another process is already bound to the TCP/IP port\")"
            ),
            "start one of them with /wow64port <a free port>".to_string(),
        );
    }

    // Release mismatch: the newest release that answers is older than releases that do not.
    // Not on an App Service host: its 4024 serves every release. Only a *closed* newer port
    // counts: a filtered one may hide a running newer monitor.
    if obs.target.is_app_service() {
    } else if let Some(newest) = a
        .debugger_ports()
        .filter(|p| p.planned.is_main())
        .flat_map(|p| p.planned.claims.iter())
        .filter(|c| c.role == Role::Main)
        .filter_map(|c| c.release.internal_version.map(|v| (v, c.release)))
        .max_by_key(|(v, _)| *v)
    {
        let newer_closed: Vec<&PortObservation> = a
            .ports
            .iter()
            .filter(|p| p.result.state == PortState::Closed && p.planned.is_main())
            .filter(|p| {
                p.planned.claims.iter().any(|c| {
                    c.role == Role::Main && c.release.internal_version.is_some_and(|v| v > newest.0)
                })
            })
            .collect();
        if !newer_closed.is_empty() {
            push(
                Code::ReleaseMismatch,
                Severity::Warning,
                port_numbers(&newer_closed),
                format!(
                    "the debugger that answers is {} ({}), while {}: a newer Visual Studio needs the remote tools of its own release",
                    newest.1.short,
                    a.debugger_ports()
                        .filter(|p| p.planned.claims.iter().any(|c| c.release.key == newest.1.key))
                        .map(|p| p.planned.port.to_string())
                        .collect::<Vec<_>>()
                        .join(", "),
                    newer_closed
                        .iter()
                        .map(|p| format!("{} is {}", port_list(&[p]), p.result.state.as_str()))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                format!(
                    "attach from {}, or install and start the remote tools that match your Visual Studio on the remote machine",
                    newest.1.name
                ),
            );
        }
    }

    if a.scope() == AddressScope::Public && !obs.target.is_app_service() {
        push(
            Code::PublicAddress,
            Severity::Warning,
            vec![],
            format!("{addr} is a public internet address: Microsoft does not support remote debugging over the internet (Azure scenarios aside)"),
            "use a VPN or the machine's private address; an open debugger port on the internet is a security risk".to_string(),
        );
    }
}

fn target_findings(obs: &HostObservation, endpoints: &[Endpoint], out: &mut Vec<Finding>) {
    let host = obs.target.host.to_string();

    if obs.addresses.len() > 1 {
        let signature = |a: &AddressObservation| -> Vec<(Port, PortState)> {
            a.ports
                .iter()
                .filter(|p| p.planned.is_main() || p.planned.custom)
                .map(|p| (p.planned.port, p.result.state))
                .collect()
        };
        let first = signature(&obs.addresses[0]);
        if obs.addresses.iter().any(|a| signature(a) != first) {
            let addrs: Vec<String> = obs
                .addresses
                .iter()
                .map(|a| a.address.to_string())
                .collect();
            let works: Vec<String> = endpoints
                .iter()
                .map(|e| e.address.with_port(e.port))
                .collect();
            let (cause, action) = if works.is_empty() {
                (
                    format!("{host} resolves to {}, and they answer differently", addrs.join(", ")),
                    format!("make sure {host} points at the machine that runs the debugger; each address is diagnosed on its own"),
                )
            } else {
                let silent: Vec<String> = obs
                    .addresses
                    .iter()
                    .filter(|a| !endpoints.iter().any(|e| e.address == a.address))
                    .map(|a| a.address.to_string())
                    .collect();
                (
                    format!(
                        "{host} resolves to {}; the debugger answers at {} but not on {}",
                        addrs.join(", "),
                        works.join(", "),
                        silent.join(", ")
                    ),
                    format!(
                        "Visual Studio may pick another address: attach with {}, or fix the records of {host}",
                        works[0]
                    ),
                )
            };
            out.push(Finding {
                code: Code::MixedAddresses,
                severity: Severity::Warning,
                address: None,
                ports: vec![],
                cause,
                action,
            });
        }
    }

    if obs.target.is_app_service() {
        let open_4024 = endpoints.iter().find(|e| e.port == Port(4024));
        out.push(Finding {
            code: Code::AppService,
            severity: if open_4024.is_some() { Severity::Info } else { Severity::Warning },
            address: None,
            ports: vec![Port(4024)],
            cause: format!("{host} is an Azure App Service: its remote debugger is reached on 4024 for every Visual Studio release, not on 4026"),
            action: match open_4024 {
                Some(_) => format!("attach to {host}:4024"),
                None => format!("turn on remote debugging for the app (Configuration > General settings in the Azure portal), then attach to {host}:4024"),
            },
        });
    }

    if !endpoints.is_empty() {
        out.push(Finding {
            code: Code::BeyondTheNetwork,
            severity: Severity::Info,
            address: None,
            ports: vec![],
            cause: "the network path to the monitor is open".to_string(),
            action: "if attaching still fails, the cause is not the network: the authentication mode (Windows Authentication or No Authentication) must match in the IDE and the monitor, your account needs permission (Tools > Permissions in msvsmon), and older debug engines need the remote machine to reach back to this one".to_string(),
        });
    }
}

/// What WS-Discovery adds: whether the host will show in the Find dialog, and what answered.
/// The verdict stays with the ports; a discovery answer proves a responder, not the debugger.
fn discovery_findings(
    obs: &HostObservation,
    d: &DiscoveryObservation,
    endpoints: &[Endpoint],
    out: &mut Vec<Finding>,
) {
    let host = obs.target.host.to_string();
    let mut push = |code, severity, cause: String, action: String| {
        out.push(Finding {
            code,
            severity,
            address: None,
            ports: vec![],
            cause,
            action,
        })
    };
    let attach = endpoints
        .first()
        .map(|e| e.attach_as.clone())
        .unwrap_or_else(|| format!("{host}:4026"));

    if d.status == DiscoveryStatus::Failed {
        push(
            Code::DiscoveryFailed,
            Severity::Warning,
            format!(
                "could not send WS-Discovery Probes to {host}: {}; this says nothing about the remote machine",
                d.error.as_deref().unwrap_or("unknown error")
            ),
            "check this machine's own firewall for outgoing UDP 3702, or skip discovery with --no-discovery".to_string(),
        );
        return;
    }

    if d.status.answered() {
        let shown: Vec<&crate::discovery::Responder> = {
            let full: Vec<_> = d.responders.iter().filter(|r| !r.empty).collect();
            if full.is_empty() {
                d.responders.iter().collect()
            } else {
                full
            }
        };
        if let Some(r) = shown
            .iter()
            .find(|r| r.classification.kind == ResponderKind::StandIn)
        {
            push(
                Code::StandIn,
                Severity::Info,
                format!(
                    "{} answers WS-Discovery as msvsmon-probe's stand-in (msvsmon-probe listen), not as the Visual Studio remote debugger{}",
                    r.source.ip(),
                    if endpoints.is_empty() { "" } else { "; the open ports are likely the stand-in's too" }
                ),
                if endpoints.is_empty() {
                    // The stand-in answered discovery, but none of its TCP ports did: only half
                    // of the path is open (the findings above say what blocks the ports).
                    "WS-Discovery passes, but the debugger ports do not: fix what the port findings above name (a firewall rule for msvsmon.exe, or the port the stand-in listens on), then probe again before installing the remote debugger".to_string()
                } else {
                    "the network path works, WS-Discovery included: stop `msvsmon-probe listen` and start the remote debugger (msvsmon.exe) on the same ports; it is found the same way unless it runs with /nodiscovery".to_string()
                },
            );
            return;
        }
        let what: Vec<String> = shown
            .iter()
            .map(|r| {
                let types: Vec<&str> = r.types.iter().map(|t| t.text.as_str()).collect();
                if types.is_empty() {
                    r.classification.kind.phrase().to_string()
                } else {
                    format!("{} ({})", r.classification.kind.phrase(), types.join(" "))
                }
            })
            .collect();
        let hint = shown
            .iter()
            .map(|r| &r.classification.debugger)
            .find(|h| matches!(h, DebuggerHint::Mentions(_)))
            .or_else(|| {
                shown
                    .iter()
                    .map(|r| &r.classification.debugger)
                    .find(|h| **h == DebuggerHint::Unrecognised)
            })
            .cloned()
            .unwrap_or(DebuggerHint::Nothing);
        let answered = format!(
            "{host} answers WS-Discovery on UDP 3702: {}; {}",
            what.join("; "),
            hint.sentence()
        );
        if endpoints.is_empty() {
            push(
                Code::DiscoveryWithoutDebugger,
                Severity::Info,
                format!("{answered}. No debugger port accepts, so the answer is not from a running remote debugger on the ports probed"),
                "the port findings say what to fix; a machine that Find lists but that cannot be attached has a TCP problem, not a discovery one (a monitor started with /port N: probe it with -p N)".to_string(),
            );
        } else {
            push(
                Code::DiscoveryAnswered,
                Severity::Info,
                answered,
                format!(
                    "Find (Attach to Process) can list machines on this link; if {host} is missing there, the monitor itself may run with /nodiscovery: typing {attach} as the connection target works regardless"
                ),
            );
        }
        return;
    }

    // No answer: why not, as far as can be told.
    let on_link = d.multicast_sent();
    let this_machine = d.addresses.iter().all(|a| a.reach == Reach::ThisMachine);
    let icmp = d
        .addresses
        .iter()
        .find_map(|a| a.icmp.map(|i| (a.address, i)));
    let elsewhere = if d.off_link() {
        "; besides, it is on another subnet, and multicast does not cross routers"
    } else {
        ""
    };
    let why = match (d.status, icmp) {
        (DiscoveryStatus::Closed, Some((a, _))) => format!(
            "UDP 3702 is closed: {a} answered the Probe with ICMP port unreachable, so nothing there listens for discovery (msvsmon /nodiscovery, or no discovery service){elsewhere}"
        ),
        (DiscoveryStatus::Rejected, Some((a, i))) => format!(
            "UDP 3702 to {a} is rejected ({} from {}): a firewall refuses discovery{elsewhere}",
            i.kind.reason().as_str(),
            i.from.map(|f| f.to_string()).unwrap_or_else(|| "an unknown sender".into())
        ),
        _ if this_machine => "it is this machine: a multicast Probe does not come back to its sender, and Windows ignores unicast Probes, so this cannot be told from here".to_string(),
        _ if d.off_link() => "it is on another subnet: multicast does not cross routers, and Windows ignores unicast Probes".to_string(),
        _ if on_link => format!(
            "no answer to multicast or unicast Probes within {:.1} s: discovery is off (msvsmon /nodiscovery), a firewall drops UDP 3702, or the host ignores Probes from a network it does not consider its own",
            d.wait.as_secs_f64()
        ),
        _ => format!("no answer to the unicast Probe within {:.1} s", d.wait.as_secs_f64()),
    };
    if endpoints.is_empty() {
        let inconclusive = if d.status == DiscoveryStatus::NoReply {
            "; inconclusive"
        } else {
            ""
        };
        push(
            Code::NoDiscoveryAnswer,
            Severity::Info,
            format!("no WS-Discovery answer from {host}: {why}{inconclusive}; no debugger port accepts either"),
            "nothing to do for discovery until a debugger port answers".to_string(),
        );
    } else {
        // Expected off the link (Find only lists machines on its own link, whatever their UDP
        // 3702 does) and unknowable for this machine; worth a warning on the link.
        let severity = if this_machine || d.off_link() {
            Severity::Info
        } else {
            Severity::Warning
        };
        push(
            Code::NotDiscoverable,
            severity,
            format!(
                "{attach} accepts connections, but nothing answered WS-Discovery: {why}. {host} will not show in the Find dialog (Attach to Process > Find…)"
            ),
            format!(
                "type {attach} as the connection target: attaching works without discovery. To make it show in Find: start msvsmon without /nodiscovery, allow inbound UDP 3702 for msvsmon.exe, and search from a machine on the same subnet"
            ),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::Selection;
    use crate::observation::PortObservation;
    use crate::platform::IcmpReport;
    use crate::probe::{conclude, Attempt, Greeting};
    use crate::resolve::{Addresses, Resolution, ResolveError, Source};
    use crate::target::{parse_target, Address};
    use std::time::Duration;

    /// Builds an observation: `states` maps port → attempt; unlisted ports are refused.
    fn host(target: &str, addrs: &[(&str, Vec<(u16, Attempt)>)]) -> HostObservation {
        let t = parse_target(target).unwrap();
        let plan = Selection::default().plan(t.is_app_service(), t.port);
        let addresses: Vec<AddressObservation> = addrs
            .iter()
            .map(|(ip, states)| {
                let address = Address::new(ip.parse().unwrap());
                let ports = plan
                    .iter()
                    .map(|p| {
                        let a = states
                            .iter()
                            .find(|(port, _)| *port == p.port.0)
                            .map(|(_, a)| a.clone())
                            .unwrap_or(Attempt::Refused {
                                rtt: Duration::from_micros(100),
                            });
                        PortObservation {
                            planned: p.clone(),
                            result: conclude(&a, address.ip, 1),
                        }
                    })
                    .collect();
                AddressObservation { address, ports }
            })
            .collect();
        HostObservation {
            target: t,
            resolution: match Addresses::new(addresses.iter().map(|a| a.address)) {
                Some(addresses) => Resolution::Found {
                    source: Source::System,
                    addresses,
                },
                None => Resolution::Failed {
                    source: Source::System,
                    error: ResolveError::NoSuchName,
                },
            },
            addresses,
            discovery: None,
            elapsed: Duration::from_millis(3),
        }
    }

    fn open() -> Attempt {
        Attempt::Accepted {
            rtt: Duration::from_micros(300),
            greeting: None,
        }
    }

    fn codes(d: &Diagnosis) -> Vec<Code> {
        d.findings.iter().map(|f| f.code).collect()
    }

    fn finding(d: &Diagnosis, c: Code) -> &Finding {
        d.findings
            .iter()
            .find(|f| f.code == c)
            .unwrap_or_else(|| panic!("no {c:?} in {:#?}", d.findings))
    }

    #[test]
    fn open_4026_is_reported_as_2022_or_2026_never_just_2022() {
        let d = diagnose(&host("devbox", &[("10.0.0.5", vec![(4026, open())])]));
        assert_eq!(d.verdict.status, Status::Reachable);
        assert_eq!(d.verdict.endpoints[0].releases, ["2022", "2026"]);
        assert!(
            d.verdict.summary.contains("VS 2022 or 2026"),
            "{}",
            d.verdict.summary
        );
        assert_eq!(d.verdict.endpoints[0].attach_as, "devbox:4026");
        // Other releases' closed ports are information, not problems, once one answers.
        assert_eq!(finding(&d, Code::Closed).severity, Severity::Info);
        assert!(codes(&d).contains(&Code::BeyondTheNetwork));
    }

    #[test]
    fn all_closed_is_a_problem_that_names_the_ports() {
        let d = diagnose(&host("10.0.0.5", &[("10.0.0.5", vec![])]));
        assert_eq!(d.verdict.status, Status::NotReachable);
        let f = finding(&d, Code::Closed);
        assert_eq!(f.severity, Severity::Problem);
        assert!(f.cause.contains("4026 (VS 2022 or 2026)"), "{}", f.cause);
        assert!(f.action.contains("msvsmon"), "{}", f.action);
        assert_eq!(finding(&d, Code::Wow64Closed).severity, Severity::Info);
    }

    #[test]
    fn filtered_main_port_on_a_live_host_asks_for_the_firewall_rule() {
        let d = diagnose(&host(
            "10.0.0.5",
            &[("10.0.0.5", vec![(4026, Attempt::NoResponse)])],
        ));
        let f = finding(&d, Code::Filtered);
        assert_eq!(f.severity, Severity::Problem);
        assert!(f.cause.contains("is up"), "{}", f.cause);
        assert!(f.action.contains("-LocalPort 4026"), "{}", f.action);
        assert!(f.action.contains("msvsmon.exe"), "{}", f.action);
    }

    #[test]
    fn a_silent_host_gets_one_finding_not_one_per_port() {
        let plan = Selection::default().plan(false, None);
        let all: Vec<(u16, Attempt)> = plan
            .iter()
            .map(|p| (p.port.0, Attempt::NoResponse))
            .collect();
        let d = diagnose(&host("10.0.0.5", &[("10.0.0.5", all)]));
        assert_eq!(codes(&d), [Code::HostSilent]);
        assert!(d.findings[0]
            .action
            .contains("-LocalPort 4016,4018,4020,4022,4024,4026"));
    }

    #[test]
    fn greeting_on_4026_is_not_the_debugger() {
        let ssh = Attempt::Accepted {
            rtt: Duration::from_micros(300),
            greeting: Some(Greeting::identify(b"SSH-2.0-OpenSSH_9.2\r\n")),
        };
        let d = diagnose(&host("10.0.0.5", &[("10.0.0.5", vec![(4026, ssh)])]));
        assert_eq!(d.verdict.status, Status::NotReachable);
        let f = finding(&d, Code::NotTheDebugger);
        assert!(f.cause.contains("SSH-2.0-OpenSSH_9.2"), "{}", f.cause);
        assert!(f.cause.contains("an SSH server"), "{}", f.cause);
        assert!(f.action.contains(":4026"), "{}", f.action);
    }

    #[test]
    fn release_mismatch_when_only_an_older_release_answers() {
        let d = diagnose(&host("10.0.0.5", &[("10.0.0.5", vec![(4024, open())])]));
        let f = finding(&d, Code::ReleaseMismatch);
        assert!(f.cause.contains("VS 2019"), "{}", f.cause);
        assert!(
            f.cause.contains("4026 (VS 2022 or 2026) is closed"),
            "{}",
            f.cause
        );
        assert!(
            !codes(&diagnose(&host("x", &[("10.0.0.5", vec![(4026, open())])])))
                .contains(&Code::ReleaseMismatch)
        );
    }

    #[test]
    fn only_wow64_open_is_its_own_verdict() {
        let d = diagnose(&host(
            "10.0.0.5",
            &[(
                "10.0.0.5",
                vec![(4025, open()), (4026, Attempt::NoResponse)],
            )],
        ));
        assert_eq!(d.verdict.status, Status::Wow64Only);
        let f = finding(&d, Code::OnlyWow64);
        assert!(f.cause.contains("4026"), "{}", f.cause);
        assert!(f.cause.contains("not reachable"), "{}", f.cause);
        assert!(f.action.contains("allow inbound TCP 4026"), "{}", f.action);
    }

    /// A refused main port is not a firewall: nothing listens there, so the advice is to find
    /// the port the monitor really uses, not to open one.
    #[test]
    fn only_wow64_open_with_the_main_port_refused_points_at_another_port() {
        let d = diagnose(&host("10.0.0.5", &[("10.0.0.5", vec![(4025, open())])]));
        assert_eq!(d.verdict.status, Status::Wow64Only);
        let f = finding(&d, Code::OnlyWow64);
        assert!(f.cause.contains("4026 closed"), "{}", f.cause);
        assert!(
            f.cause.contains("nothing listens on the main port"),
            "{}",
            f.cause
        );
        assert!(
            !f.cause.contains("runs"),
            "no claim that a monitor runs: {}",
            f.cause
        );
        assert!(f.action.contains("-p N"), "{}", f.action);
        assert!(!f.action.contains("allow inbound"), "{}", f.action);
    }

    #[test]
    fn side_by_side_2019_and_2022_warns_about_4025() {
        let d = diagnose(&host(
            "10.0.0.5",
            &[("10.0.0.5", vec![(4024, open()), (4026, open())])],
        ));
        assert!(finding(&d, Code::Wow64Conflict)
            .action
            .contains("/wow64port"));
    }

    #[test]
    fn app_service_points_at_4024() {
        let d = diagnose(&host("myapp.azurewebsites.net", &[("20.1.2.3", vec![])]));
        let f = finding(&d, Code::AppService);
        assert!(f.cause.contains("4024"));
        assert!(f.action.contains("myapp.azurewebsites.net:4024"));
        // Azure is the supported internet scenario: no public-address warning.
        assert!(!codes(&d).contains(&Code::PublicAddress));
    }

    #[test]
    fn public_addresses_are_warned_about() {
        let d = diagnose(&host("20.1.2.3", &[("20.1.2.3", vec![(4026, open())])]));
        assert_eq!(finding(&d, Code::PublicAddress).severity, Severity::Warning);
        let d = diagnose(&host("10.1.2.3", &[("10.1.2.3", vec![(4026, open())])]));
        assert!(!codes(&d).contains(&Code::PublicAddress));
    }

    #[test]
    fn names_with_addresses_that_disagree_get_the_working_one() {
        let d = diagnose(&host(
            "devbox",
            &[
                ("10.0.0.5", vec![(4026, open())]),
                ("10.0.0.6", vec![(4026, Attempt::NoResponse)]),
            ],
        ));
        let f = finding(&d, Code::MixedAddresses);
        assert!(
            f.cause.contains("10.0.0.5:4026 but not on 10.0.0.6"),
            "{}",
            f.cause
        );
        assert!(
            f.action.contains("attach with 10.0.0.5:4026"),
            "{}",
            f.action
        );
        // Not on every address: the endpoint is the address, not the name.
        assert_eq!(d.verdict.endpoints[0].attach_as, "10.0.0.5:4026");
        let same = diagnose(&host(
            "devbox",
            &[
                ("10.0.0.5", vec![(4026, open())]),
                ("10.0.0.6", vec![(4026, open())]),
            ],
        ));
        assert!(!codes(&same).contains(&Code::MixedAddresses));
    }

    #[test]
    fn icmp_rejections_name_kind_and_sender() {
        let reject = Attempt::Icmp {
            rtt: Duration::from_micros(400),
            report: IcmpReport {
                v6: false,
                icmp_type: 3,
                code: 13,
                offender: Some("10.0.0.1".parse().unwrap()),
            },
            local: Some("10.0.0.2".parse().unwrap()),
        };
        let d = diagnose(&host("10.0.0.5", &[("10.0.0.5", vec![(4026, reject)])]));
        let f = finding(&d, Code::Rejected);
        assert!(f.cause.contains("ICMP admin prohibited"), "{}", f.cause);
        assert!(f.cause.contains("by 10.0.0.1"), "{}", f.cause);
    }

    #[test]
    fn rejections_mixed_with_silence_suggest_icmp_rate_limiting() {
        let reject = |code| Attempt::Icmp {
            rtt: Duration::from_micros(400),
            report: IcmpReport {
                v6: false,
                icmp_type: 3,
                code,
                offender: Some("10.0.0.5".parse().unwrap()),
            },
            local: Some("10.0.0.2".parse().unwrap()),
        };
        let d = diagnose(&host(
            "10.0.0.5",
            &[(
                "10.0.0.5",
                vec![
                    (4026, reject(3)),
                    (4024, reject(3)),
                    (4022, Attempt::NoResponse),
                ],
            )],
        ));
        let f = finding(&d, Code::IcmpRateLimited);
        assert_eq!(f.ports, [Port(4022)]);
        assert!(f.cause.contains("rate-limit"), "{}", f.cause);
        let only_rejects = diagnose(&host("10.0.0.5", &[("10.0.0.5", vec![(4026, reject(3))])]));
        assert!(!codes(&only_rejects).contains(&Code::IcmpRateLimited));
    }

    #[test]
    fn a_routers_icmp_does_not_make_a_host_up() {
        let router_says_no = Attempt::Icmp {
            rtt: Duration::from_micros(400),
            report: IcmpReport {
                v6: false,
                icmp_type: 3,
                code: 13,
                offender: Some("10.0.0.1".parse().unwrap()),
            },
            local: Some("10.0.0.2".parse().unwrap()),
        };
        let plan = Selection::default().plan(false, None);
        let states = plan
            .iter()
            .map(|p| {
                let a = if p.port.0 == 4026 {
                    router_says_no.clone()
                } else {
                    Attempt::NoResponse
                };
                (p.port.0, a)
            })
            .collect();
        let d = diagnose(&host("10.0.0.5", &[("10.0.0.5", states)]));
        let f = finding(&d, Code::IcmpRateLimited);
        assert!(
            f.cause.contains("rejected with ICMP by 10.0.0.1 "),
            "{}",
            f.cause
        );
        assert!(
            d.findings.iter().all(|f| !f.cause.contains("is up")),
            "{:#?}",
            d.findings
        );
    }

    #[test]
    fn app_service_hosts_get_no_release_mismatch() {
        let d = diagnose(&host(
            "myapp.azurewebsites.net",
            &[("10.0.0.5", vec![(4024, open())])],
        ));
        assert!(
            !codes(&d).contains(&Code::ReleaseMismatch),
            "{:#?}",
            d.findings
        );
        assert!(
            d.verdict.summary.contains("App Service"),
            "{}",
            d.verdict.summary
        );
        assert!(
            !d.verdict.summary.contains("VS 2019"),
            "{}",
            d.verdict.summary
        );
    }

    #[test]
    fn a_filtered_newer_port_is_no_release_mismatch() {
        let d = diagnose(&host(
            "10.0.0.5",
            &[(
                "10.0.0.5",
                vec![(4024, open()), (4026, Attempt::NoResponse)],
            )],
        ));
        assert!(!codes(&d).contains(&Code::ReleaseMismatch));
    }

    #[test]
    fn dead_address_on_the_link_is_no_host() {
        let arp_failed = Attempt::Icmp {
            rtt: Duration::from_secs(1),
            report: IcmpReport {
                v6: false,
                icmp_type: 3,
                code: 1,
                offender: Some("10.0.0.2".parse().unwrap()),
            },
            local: Some("10.0.0.2".parse().unwrap()),
        };
        let plan = Selection::default().plan(false, None);
        let all = plan
            .iter()
            .map(|p| (p.port.0, arp_failed.clone()))
            .collect();
        let d = diagnose(&host("10.0.0.9", &[("10.0.0.9", all)]));
        assert_eq!(d.verdict.status, Status::NotReachable);
        let f = finding(&d, Code::NoHost);
        assert!(f.cause.contains("ARP"), "{}", f.cause);
    }

    #[test]
    fn unresolved_names_are_a_finding() {
        let o = host("ghost.local", &[]);
        let d = diagnose(&o);
        assert_eq!(d.verdict.status, Status::Unresolved);
        let f = finding(&d, Code::Unresolved);
        assert!(f.cause.contains("ghost.local"));
        assert!(f.action.contains("multicast DNS"));
    }

    #[test]
    fn custom_port_open_is_reachable_and_labelled_custom() {
        let d = diagnose(&host("devbox:4567", &[("10.0.0.5", vec![(4567, open())])]));
        assert_eq!(d.verdict.status, Status::Reachable);
        let e = &d.verdict.endpoints[0];
        assert!(e.custom && e.releases.is_empty());
        assert!(
            d.verdict.summary.contains("custom port"),
            "{}",
            d.verdict.summary
        );
    }

    #[test]
    fn local_errors_never_read_as_closed() {
        let emfile = Attempt::Local {
            kind: crate::platform::ConnectErrorKind::NoFileDescriptors,
            error: "Too many open files".into(),
        };
        let plan = Selection::default().plan(false, None);
        let all = plan.iter().map(|p| (p.port.0, emfile.clone())).collect();
        let d = diagnose(&host("10.0.0.5", &[("10.0.0.5", all)]));
        assert_eq!(d.verdict.status, Status::Incomplete);
        assert!(finding(&d, Code::LocalError).action.contains("ulimit"));
        assert!(!codes(&d).contains(&Code::Closed));
    }

    // --- WS-Discovery -----------------------------------------------------------------------

    use crate::discovery::collect::{Collector, SentProbe};
    use crate::discovery::{
        samples, AddressReach, DiscoveryObservation, DiscoveryStatus, ProbeKind, Reach, RouteKind,
        RouteRecord, Version,
    };

    /// A discovery observation of 10.0.0.5 reached `reach`, with `replies` (real samples, fed
    /// through the real collector) answering Probe `id`.
    fn disc(
        status: DiscoveryStatus,
        reach: Reach,
        id: &str,
        replies: &[&str],
    ) -> DiscoveryObservation {
        let a = Address::new("10.0.0.5".parse().unwrap());
        let mut c = Collector::new(
            vec![SentProbe {
                id: id.into(),
                route: RouteKind::Multicast,
                version: Version::V2005,
                kind: ProbeKind::Device,
                group: 0,
            }],
            Some(vec![a]),
        );
        for r in replies {
            c.offer(
                "10.0.0.5:3702".parse().unwrap(),
                r.as_bytes(),
                Duration::from_millis(5),
            );
        }
        let (responders, ignored) = c.into_parts();
        let multicast = reach.multicasts();
        let mut routes = vec![RouteRecord {
            kind: RouteKind::Unicast,
            address: a,
            destination: "10.0.0.5:3702".parse().unwrap(),
            interface: None,
            datagrams: 8,
            error: None,
        }];
        if multicast {
            routes.push(RouteRecord {
                kind: RouteKind::Multicast,
                address: a,
                destination: "239.255.255.250:3702".parse().unwrap(),
                interface: Some("eth0".into()),
                datagrams: 16,
                error: None,
            });
        }
        DiscoveryObservation {
            status,
            addresses: vec![AddressReach {
                address: a,
                reach,
                icmp: None,
            }],
            routes,
            responders,
            ignored,
            error: None,
            wait: Duration::from_secs(3),
            elapsed: Duration::from_secs(3),
            stopped_early: false,
        }
    }

    fn eth0() -> Reach {
        Reach::OnLink {
            interface: "eth0".into(),
            index: 2,
            multicast: true,
        }
    }

    fn with(d: DiscoveryObservation, ports: Vec<(u16, Attempt)>) -> Diagnosis {
        let mut o = host("devbox", &[("10.0.0.5", ports)]);
        o.discovery = Some(d);
        diagnose(&o)
    }

    const WSDD_ID: &str = "urn:uuid:5a4f0a53-1c1e-4d9f-9a3a-0c8f2b6e7d11";

    #[test]
    fn an_open_debugger_without_a_discovery_answer_is_missing_from_find() {
        let d = with(
            disc(DiscoveryStatus::NoReply, eth0(), WSDD_ID, &[]),
            vec![(4026, open())],
        );
        assert_eq!(
            d.verdict.status,
            Status::Reachable,
            "discovery never decides the verdict"
        );
        let f = finding(&d, Code::NotDiscoverable);
        assert_eq!(f.severity, Severity::Warning);
        assert!(
            f.cause.contains("will not show in the Find dialog"),
            "{}",
            f.cause
        );
        assert!(f.cause.contains("/nodiscovery"), "{}", f.cause);
        assert!(f.action.contains("type devbox:4026"), "{}", f.action);
        assert!(f.action.contains("UDP 3702"), "{}", f.action);
    }

    #[test]
    fn off_the_link_no_answer_is_expected_and_says_why() {
        let d = with(
            disc(DiscoveryStatus::NoReply, Reach::OffLink, WSDD_ID, &[]),
            vec![(4026, open())],
        );
        let f = finding(&d, Code::NotDiscoverable);
        assert_eq!(f.severity, Severity::Info);
        assert!(
            f.cause.contains("another subnet") && f.cause.contains("routers"),
            "{}",
            f.cause
        );
    }

    #[test]
    fn a_closed_udp_3702_is_named() {
        let mut o = disc(DiscoveryStatus::Closed, eth0(), WSDD_ID, &[]);
        o.addresses[0].icmp = d_icmp();
        let d = with(o, vec![(4026, open())]);
        let f = finding(&d, Code::NotDiscoverable);
        assert!(f.cause.contains("UDP 3702 is closed"), "{}", f.cause);
        // Without a debugger the same is a note, not a warning.
        let mut o = disc(DiscoveryStatus::Closed, eth0(), WSDD_ID, &[]);
        o.addresses[0].icmp = d_icmp();
        let d = with(o, vec![]);
        let f = finding(&d, Code::NoDiscoveryAnswer);
        assert_eq!(f.severity, Severity::Info);
        assert!(
            !f.cause.contains("inconclusive"),
            "closed is an answer: {}",
            f.cause
        );
    }

    #[test]
    fn off_the_link_a_closed_or_rejected_udp_3702_is_expected_too() {
        // A host one router away never shows in Find from here, whatever its UDP 3702 does:
        // a closed or rejected port is worth knowing, not a warning (seen in the lab: wsdd behind
        // the router, probed at an address its sockets are not bound to).
        for status in [DiscoveryStatus::Closed, DiscoveryStatus::Rejected] {
            let mut o = disc(status, Reach::OffLink, WSDD_ID, &[]);
            o.addresses[0].icmp = d_icmp();
            if status == DiscoveryStatus::Rejected {
                o.addresses[0].icmp.as_mut().unwrap().kind =
                    crate::probe::IcmpKind::AdminProhibited;
            }
            let d = with(o, vec![(4026, open())]);
            let f = finding(&d, Code::NotDiscoverable);
            assert_eq!(f.severity, Severity::Info, "{status:?}: {}", f.cause);
            assert!(
                f.cause.contains("UDP 3702") && f.cause.contains("another subnet"),
                "{}",
                f.cause
            );
        }
        // On the link the same is a warning.
        let mut o = disc(DiscoveryStatus::Closed, eth0(), WSDD_ID, &[]);
        o.addresses[0].icmp = d_icmp();
        let d = with(o, vec![(4026, open())]);
        let f = finding(&d, Code::NotDiscoverable);
        assert_eq!(f.severity, Severity::Warning);
        assert!(!f.cause.contains("another subnet"), "{}", f.cause);
    }

    fn d_icmp() -> Option<crate::probe::IcmpDetail> {
        Some(crate::probe::IcmpDetail {
            kind: crate::probe::IcmpKind::PortUnreachable,
            icmp_type: 3,
            code: 3,
            v6: false,
            from: Some("10.0.0.5".parse().unwrap()),
        })
    }

    #[test]
    fn a_windows_computer_answering_proves_a_responder_not_the_debugger() {
        let d = with(
            disc(DiscoveryStatus::Answered, eth0(), WSDD_ID, &[samples::WSDD]),
            vec![],
        );
        assert_eq!(d.verdict.status, Status::NotReachable);
        let f = finding(&d, Code::DiscoveryWithoutDebugger);
        assert!(f.cause.contains("pub:Computer"), "{}", f.cause);
        assert!(f.cause.contains("not public"), "{}", f.cause);
        assert!(f.cause.contains("No debugger port accepts"), "{}", f.cause);
        let d = with(
            disc(DiscoveryStatus::Answered, eth0(), WSDD_ID, &[samples::WSDD]),
            vec![(4026, open())],
        );
        let f = finding(&d, Code::DiscoveryAnswered);
        assert!(
            f.action.contains("/nodiscovery") && f.action.contains("devbox:4026"),
            "{}",
            f.action
        );
        assert!(!codes(&d).contains(&Code::NotDiscoverable));
    }

    #[test]
    fn the_stand_in_is_called_the_stand_in() {
        let mut si = crate::discovery::responder::StandIn::new(1);
        let probe = crate::discovery::message::Probe {
            message_id: WSDD_ID.into(),
            version: Version::V2005,
            kind: ProbeKind::Device,
        };
        let crate::discovery::responder::Answer::Reply { xml, .. } = si.answer(
            probe.to_xml().as_bytes(),
            "10.0.0.9".parse().unwrap(),
            RouteKind::Unicast,
        ) else {
            panic!()
        };
        let d = with(
            disc(DiscoveryStatus::Answered, eth0(), WSDD_ID, &[&xml]),
            vec![(4026, open())],
        );
        let f = finding(&d, Code::StandIn);
        assert!(
            f.cause.contains("stand-in")
                && f.cause.contains("not as the Visual Studio remote debugger")
        );
        assert!(!codes(&d).contains(&Code::DiscoveryAnswered));
    }

    #[test]
    fn a_discovery_that_could_not_send_says_so_and_nothing_about_the_host() {
        let mut o = disc(DiscoveryStatus::Failed, eth0(), WSDD_ID, &[]);
        o.error = Some("cannot open a UDP socket (IPv4): Permission denied".into());
        let d = with(o, vec![(4026, open())]);
        let f = finding(&d, Code::DiscoveryFailed);
        assert!(
            f.cause.contains("Permission denied") && f.cause.contains("nothing about the remote")
        );
        assert!(!codes(&d).contains(&Code::NotDiscoverable));
        // --no-discovery: no discovery finding at all.
        let d = diagnose(&host("devbox", &[("10.0.0.5", vec![(4026, open())])]));
        assert!(!codes(&d).iter().any(|c| matches!(
            c,
            Code::NotDiscoverable
                | Code::DiscoveryAnswered
                | Code::NoDiscoveryAnswer
                | Code::DiscoveryFailed
        )));
    }
}
