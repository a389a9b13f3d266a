//! The words of the diagnosis, in one place: for each finding one sentence of cause and one
//! concrete next step that names the release and the port, and the verdict's one-line summary.
//! Every report (human, JSON, NDJSON, watch events) takes its sentences from here.
//!
//! A finding names its ports by number and carries the facts its rule decided on; the rest (a
//! port's releases, label and state, what the network sent) is read from the observation the
//! finding was made from. Wording changes show up in the snapshots of `src/report/snapshots/`.

use crate::sanitize::field;

mod discovery;
mod windows;

pub use discovery::{debugger_hint, responder_kind};
use msvsmon_probe_core::{
    Address, Evidence, Finding, Greeting, Host, HostObservation, Port, PortObservation, Reason,
    Release, ResolveError, Status, Verdict,
};

/// What the network showed and what it means.
pub fn cause(f: &Finding, obs: &HostObservation) -> String {
    sentences(f, obs).0
}

/// What to do next.
pub fn action(f: &Finding, obs: &HostObservation) -> String {
    sentences(f, obs).1
}

/// The verdict in one line: where the debugger is reachable, or why it is not; for the user's
/// release when it is known.
pub fn summary(v: &Verdict) -> String {
    let Some(ide) = &v.ide else {
        return network_summary(v);
    };
    let who = ide.ide.release.short;
    let assumed = if ide.ide.assumed {
        format!(" (assuming {who}, the newest Visual Studio installed here; --ide to change)")
    } else {
        String::new()
    };
    let state = ide.state.map_or("not probed", |s| s.as_str());
    let said = match (v.status, ide.other) {
        (Status::Reachable, _) => format!("{who} can attach: {}", network_summary(v)),
        (_, Some((other, port))) => format!(
            "release mismatch: {who} cannot attach, its port {} is {state}; only the {} monitor answers (on {port})",
            ide.port, other.short
        ),
        (Status::NotReachable, None) => {
            format!("{who} cannot attach: its port {} is {state}", ide.port)
        }
        _ => format!("{who} cannot attach: {}", network_summary(v)),
    };
    format!("{said}{assumed}")
}

/// The verdict for no particular release.
fn network_summary(v: &Verdict) -> String {
    let host = &v.host;
    match v.status {
        Status::Reachable => v
            .endpoints
            .iter()
            .map(|e| {
                let what = if e.custom && e.releases.is_empty() {
                    "a service on the custom port (msvsmon /port?)".to_string()
                } else {
                    let rs: Vec<&Release> = e
                        .releases
                        .iter()
                        .filter_map(|k| Release::find(k))
                        .collect();
                    format!("{} remote debugger", Release::join(&rs))
                };
                let shared = v
                    .endpoints
                    .iter()
                    .filter(|o| o.attach_as == e.attach_as)
                    .count();
                if shared > 1 {
                    format!("{what} reachable at {} (every address)", e.attach_as)
                } else {
                    format!("{what} reachable at {}", e.address.with_port(e.port))
                }
            })
            .fold(Vec::<String>::new(), |mut said, phrase| {
                // A name that answers on every address is one place to attach, said once.
                if !said.contains(&phrase) {
                    said.push(phrase);
                }
                said
            })
            .join("; "),
        Status::Wow64Only => format!(
            "only a WoW64 port answers on {host} ({}); the main port does not, so Visual Studio cannot attach",
            v.wow64_port.map_or_else(String::new, |p| p.to_string())
        ),
        Status::Incomplete => format!(
            "no debugger port answered on {host}, but local errors kept some ports from being probed"
        ),
        Status::NotReachable => format!("no remote debugger port answers on {host}"),
        Status::Unresolved => format!("{host} did not resolve; nothing was probed"),
    }
}

const FIREWALL_RULE: &str =
    "New-NetFirewallRule -DisplayName msvsmon -Direction Inbound -Action Allow -Protocol TCP -LocalPort";

/// The finding's ports as the observation of its address has them.
struct Ports<'o> {
    obs: &'o HostObservation,
    address: Option<Address>,
}

impl<'o> Ports<'o> {
    fn get(&self, port: Port) -> Option<&'o PortObservation> {
        self.obs
            .addresses
            .iter()
            .find(|a| Some(a.address) == self.address)?
            .ports
            .iter()
            .find(|p| p.planned.port == port)
    }

    /// "VS 2022 or 2026 · main".
    fn label(&self, port: Port) -> String {
        self.get(port)
            .map(|p| p.planned.label())
            .unwrap_or_else(|| port.to_string())
    }

    /// "closed".
    fn state(&self, port: Port) -> &'static str {
        self.get(port)
            .map_or("unknown", |p| p.result.state.as_str())
    }

    /// "4024 (VS 2019), 4026 (VS 2022 or 2026)".
    fn list(&self, ports: &[Port]) -> String {
        ports
            .iter()
            .map(|&port| match self.get(port) {
                Some(p) if !p.planned.claims.is_empty() => {
                    let rs: Vec<&Release> = p.planned.claims.iter().map(|c| c.release).collect();
                    format!("{port} ({})", Release::join(&rs))
                }
                Some(_) => format!("{port} (custom)"),
                None => port.to_string(),
            })
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// "4016-4023, 4025, 4040": ports as ranges of consecutive numbers, for one short line.
pub fn ranges(ports: &[Port]) -> String {
    let mut sorted: Vec<u16> = ports.iter().map(|p| p.0).collect();
    sorted.sort_unstable();
    sorted.dedup();
    let mut out: Vec<String> = Vec::new();
    let mut i = 0;
    while i < sorted.len() {
        let mut j = i;
        while j + 1 < sorted.len() && sorted[j + 1] == sorted[j] + 1 {
            j += 1;
        }
        out.push(if j == i {
            sorted[i].to_string()
        } else {
            format!("{}-{}", sorted[i], sorted[j])
        });
        i = j + 1;
    }
    out.join(", ")
}

/// The ports of a finding, those that matter named with their release, the rest as ranges:
/// "4026 (VS 2022 or 2026), and 4016-4024 (other releases)".
fn matter_first(ports: &Ports, all: &[Port], matter: &[Port]) -> String {
    let rest: Vec<Port> = all
        .iter()
        .copied()
        .filter(|p| !matter.contains(p))
        .collect();
    match (matter.is_empty(), rest.is_empty()) {
        (true, _) => ranges(all),
        (false, true) => ports.list(matter),
        (false, false) => format!(
            "{}, and {} (other releases)",
            ports.list(matter),
            ranges(&rest)
        ),
    }
}

/// The releases whose main port is among `ports`: "Visual Studio 2022 or 2026".
fn release_names(ports: &Ports, of: &[Port]) -> String {
    let rs: Vec<&Release> = of
        .iter()
        .filter_map(|&p| ports.get(p))
        .flat_map(|p| p.planned.claims.iter().map(|c| c.release))
        .collect();
    match Release::join(&rs) {
        s if s.is_empty() => "your Visual Studio release".to_string(),
        s => s,
    }
}

/// "4024,4026", as a firewall rule takes them.
fn comma(ports: &[Port]) -> String {
    ports
        .iter()
        .map(|p| p.to_string())
        .collect::<Vec<_>>()
        .join(",")
}

/// "4024, 4026", as a sentence lists them.
fn spaced(ports: &[Port]) -> String {
    ports
        .iter()
        .map(|p| p.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// "an SSH server", "an unknown service": what greeted.
fn service(g: &Greeting) -> String {
    match g.protocol {
        Some("ssh") => "an SSH server".into(),
        Some("http") => "an HTTP server".into(),
        Some("ftp-or-smtp") => "an FTP or SMTP server".into(),
        Some("pop3") => "a POP3 server".into(),
        Some("imap") => "an IMAP server".into(),
        Some("vnc") => "a VNC server".into(),
        Some("telnet") => "a Telnet server".into(),
        Some("mysql") => "a MySQL server".into(),
        Some(p) => format!("a {p} service"),
        None => "a service that greets first".into(),
    }
}

/// "icmp-admin-prohibited" as a sentence says it: "ICMP admin prohibited".
fn icmp_reason(r: Reason) -> String {
    r.as_str().replace('-', " ").replacen("icmp", "ICMP", 1)
}

/// Cause and action of one finding.
fn sentences(f: &Finding, obs: &HostObservation) -> (String, String) {
    let host = obs.target.host.to_string();
    let ports = Ports {
        obs,
        address: f.address,
    };
    // Findings about an address always name it; the others never use it.
    let addr = || f.address.expect("a finding about an address names it");
    let first = f.ports.first().copied().unwrap_or(Port(0));
    match &f.evidence {
        Evidence::DebuggerReachable { attach_as } => (
            format!(
                "{} accepts connections ({}) and nothing contradicts the remote debugger",
                addr().with_port(first),
                ports.label(first)
            ),
            format!(
                "Attach to Process, connection type Remote (Windows): {attach_as}"
            ),
        ),
        Evidence::NotTheDebugger { greeting } => (
            format!(
                "{} ({}) accepts, but greets first with \"{}\" ({}); msvsmon waits for the client, so this is not the remote debugger",
                addr().with_port(first),
                ports.label(first),
                field(&greeting.text),
                service(greeting)
            ),
            format!(
                "another program holds port {first}: find it on the remote machine (netstat -abno | findstr :{first}), or start msvsmon with /port N and attach to name:N"
            ),
        ),
        Evidence::HostSilent {
            attempts,
            answered_discovery,
            main_ports,
        } => {
            let addr = addr();
            let why = if *answered_discovery {
                format!("{addr} is up (it answered the WS-Discovery Probe), so a firewall drops every debugger port (there, in between, or this machine's own outgoing rules)")
            } else {
                "the host is down, the address is wrong, or a firewall drops everything (there, in between, or this machine's own outgoing rules)".to_string()
            };
            (
                format!(
                    "no answer from {addr} on any of its {} ports after {attempts} attempt(s) each: {why}",
                    f.ports.len()
                ),
                if *answered_discovery {
                    // It is up: telling the user to switch it on would contradict the evidence.
                    format!(
                        "allow inbound TCP {} through its firewall: {FIREWALL_RULE} {}",
                        comma(main_ports),
                        comma(main_ports)
                    )
                } else {
                    format!(
                        "check that the machine is on and that {addr} is its address; if it is, allow inbound TCP {}: {FIREWALL_RULE} {}",
                        comma(main_ports),
                        comma(main_ports)
                    )
                },
            )
        }
        Evidence::Filtered {
            attempts,
            host_up,
            matter,
        } => {
            let up = if *host_up {
                format!(
                    "{} is up (it answered on other ports), so a firewall drops these",
                    addr()
                )
            } else {
                "a firewall drops them, or the host is down".to_string()
            };
            (
                format!(
                    "no answer on {} after {attempts} attempt(s): {up}",
                    matter_first(&ports, &f.ports, matter)
                ),
                if matter.is_empty() {
                    "nothing to do unless you attach from one of those releases".to_string()
                } else {
                    format!(
                        "on the remote machine, allow inbound TCP {} for msvsmon.exe: {FIREWALL_RULE} {} (and open any network firewall in between)",
                        comma(matter),
                        comma(matter)
                    )
                },
            )
        }
        Evidence::Wow64Filtered => (
            format!(
                "no answer on WoW64 port(s) {}: dropped by a firewall; they are needed only to debug 32-bit processes",
                ports.list(&f.ports)
            ),
            format!(
                "to debug 32-bit processes, also allow inbound TCP {} for msvsmon.exe",
                comma(&f.ports)
            ),
        ),
        Evidence::Closed {
            debugger_here,
            matter,
        } if *debugger_here || matter.is_empty() => (
            format!(
                "nothing listens on {}: the remote tools of those releases are not running",
                ranges(&f.ports)
            ),
            "nothing to do unless you attach from one of those releases".to_string(),
        ),
        Evidence::Closed { matter, .. } => (
            format!(
                "{} answers, but nothing listens on {}{}: the remote debugger is not running, or listens elsewhere",
                addr(),
                ports.list(matter),
                if f.ports.len() > matter.len() { " nor on the other releases' ports" } else { "" }
            ),
            format!(
                "start msvsmon.exe of {} there; one started with /port N: probe it with -p N",
                release_names(&ports, matter)
            ),
        ),
        Evidence::Wow64Closed => (
            format!(
                "WoW64 port(s) {} closed: normal, a 64-bit monitor opens its WoW64 port only while it debugs a 32-bit process",
                spaced(&f.ports)
            ),
            "nothing to do".to_string(),
        ),
        Evidence::ClockSkew {
            skew_ms,
            uncertainty_ms,
        } => windows::clock_skew(f.severity, addr(), *skew_ms, *uncertainty_ms),
        Evidence::NameMismatch { typed, computer } => windows::name_mismatch(addr(), typed, computer),
        Evidence::WindowsIdentity {
            computer,
            group,
            domain,
        } => windows::identity(addr(), computer.as_deref(), group.as_deref(), *domain),
        Evidence::IcmpRateLimited { rejected, senders } => {
            let addr = addr();
            let senders = if senders.is_empty() {
                "something on the way".to_string()
            } else {
                senders
                    .iter()
                    .map(|&s| {
                        if s == addr.ip {
                            format!("{addr} itself")
                        } else {
                            s.to_string()
                        }
                    })
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            (
                format!(
                    "{} port(s) of {addr} were rejected with ICMP by {senders} but {} other(s) got no answer ({}): senders rate-limit their ICMP errors, so the silent ports are probably rejected the same way, not dropped",
                    rejected.len(),
                    f.ports.len(),
                    ranges(&f.ports)
                ),
                format!(
                    "probe fewer ports at a time to see their real answer (e.g. msvsmon-probe {addr} --release 2022); the findings on those ports then say what to open"
                ),
            )
        }
        Evidence::Rejected {
            reason,
            from,
            matter,
        } => {
            let addr = addr();
            let who = match from {
                Some(s) if *s == addr.ip => format!("by {addr} itself: its firewall rejects"),
                Some(s) => format!("by {s}, a router or firewall between here and {addr}"),
                None => "by something on the way".to_string(),
            };
            (
                format!(
                    "{} rejected with {} {who}",
                    matter_first(&ports, &f.ports, matter),
                    icmp_reason(*reason)
                ),
                if matter.is_empty() {
                    "nothing to do unless you attach from one of those releases".to_string()
                } else {
                    format!(
                        "allow inbound TCP {} in that firewall (Windows Firewall on the remote machine: {FIREWALL_RULE} {})",
                        comma(matter),
                        comma(matter)
                    )
                },
            )
        }
        Evidence::NoHost {
            reason,
            from,
            every_port,
        } => {
            let addr = addr();
            let cause = match (reason, from) {
                (Reason::NeighbourUnreachable, _) => format!(
                    "no host answered ARP/neighbour discovery for {addr} on the local link: nothing is at this address"
                ),
                (Reason::NoRoute, _) => format!("this machine has no route to {addr}"),
                (_, Some(router)) => {
                    format!("{router} reports {addr} unreachable ({})", reason.as_str())
                }
                _ => format!("{addr} is unreachable ({})", reason.as_str()),
            };
            let up = obs
                .addresses
                .iter()
                .any(|a| a.address == addr && a.host_answered());
            (
                if *every_port {
                    cause
                } else {
                    format!("{cause} (on {})", ranges(&f.ports))
                },
                if up {
                    // The host answered on other ports: it is on; those ports are routed apart.
                    format!("{addr} answers on other ports: check the routes and firewalls between here and those ports")
                } else { format!(
                    "check the address{}: is the machine on, on this network, or behind a VPN that is not connected?",
                    match &obs.target.host {
                        Host::Name(n) => format!(" '{n}' resolves to"),
                        Host::Literal(_) => String::new(),
                    }
                ) },
            )
        }
        Evidence::Undecided => (
            format!(
                "the run was interrupted before {} could be decided",
                ports.list(&f.ports)
            ),
            format!("probe {} again for an answer", addr()),
        ),
        Evidence::LocalError { reason } => {
            let why = ports
                .get(first)
                .and_then(|p| p.result.error.as_deref())
                .map(|e| field(e).into_owned())
                .unwrap_or_default();
            (
                format!(
                    "could not probe {}: {} ({why}); this says nothing about the remote machine",
                    ports.list(&f.ports),
                    reason.as_str()
                ),
                match reason {
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
                }
                .to_string(),
            )
        }
        Evidence::OnlyWow64 {
            main_ports,
            blocked_mains,
            unprobed_mains,
        } if !unprobed_mains.is_empty() => (
            format!(
                "only WoW64 port(s) {} accept; {} is also the WoW64 port of {}, whose main port {} was not probed: its monitor may be the one answering",
                ports.list(&f.ports),
                spaced(&f.ports),
                Release::join(
                    &Release::ides()
                        .filter(|r| r.main_port().is_some_and(|p| unprobed_mains.contains(&p)))
                        .collect::<Vec<_>>()
                ),
                spaced(unprobed_mains),
            ),
            format!(
                "probe every release's ports (without --release) to tell; if the monitor is yours, allow inbound TCP {} for msvsmon.exe",
                comma(if blocked_mains.is_empty() { main_ports } else { blocked_mains })
            ),
        ),
        Evidence::OnlyWow64 {
            main_ports,
            blocked_mains,
            ..
        } => {
            let states = main_ports
                .iter()
                .map(|&p| format!("{p} {}", ports.state(p)))
                .collect::<Vec<_>>()
                .join(", ");
            // A refused main port means nothing listens there; only a silent one points at a
            // firewall.
            let (meaning, action) = if blocked_mains.is_empty() {
                (
                    "nothing listens on the main port; a 64-bit monitor started with /port N keeps its default WoW64 port, so it may listen on another port, or another program holds the WoW64 port".to_string(),
                    "find the monitor's port (its window: Tools > Options, or its /port switch), probe it with -p N and attach to name:N".to_string(),
                )
            } else {
                (
                    "a monitor likely runs, but its main port, the one Visual Studio connects to, is not reachable".to_string(),
                    format!(
                        "allow inbound TCP {} for msvsmon.exe as well; if the monitor runs with /port N, probe N with -p N and attach to name:N",
                        comma(blocked_mains)
                    ),
                )
            };
            (
                format!(
                    "only WoW64 port(s) {} accept; the main port(s) {} do not ({states}): {meaning}",
                    ports.list(&f.ports),
                    ports.list(main_ports),
                ),
                action,
            )
        }
        Evidence::Wow64Conflict => (
            format!(
                "VS 2019 (4024) and VS 2022 or 2026 (4026) monitors run side by side on {}; both want WoW64 port 4025, so the one started second cannot debug 32-bit processes (\"Another process is already bound to the TCP/IP port\")",
                addr()
            ),
            "start one of them with /wow64port <a free port>".to_string(),
        ),
        Evidence::ReleaseMismatch {
            newest,
            newest_ports,
            wanted: Some(wanted),
        } => (
            format!(
                "release mismatch: {} attaches through its own remote tools on {} ({}), but the monitor that answers is {} ({})",
                wanted.short,
                spaced(&f.ports),
                f.ports.first().map_or("unknown", |&p| ports.state(p)),
                newest.short,
                spaced(newest_ports)
            ),
            format!(
                "install and start the {} remote tools on the remote machine, or attach from {} ({})",
                wanted.name,
                newest.name,
                newest_ports.first().map_or_else(
                    || host.clone(),
                    |&p| match &obs.target.host {
                        Host::Name(n) => format!("{n}:{p}"),
                        Host::Literal(_) => addr().with_port(p),
                    }
                )
            ),
        ),
        Evidence::ReleaseMismatch {
            newest,
            newest_ports,
            wanted: None,
        } => (
            format!(
                "the monitor that answers is {} ({}), while {}: a newer Visual Studio needs its own remote tools",
                newest.short,
                spaced(newest_ports),
                f.ports
                    .iter()
                    .map(|&p| format!("{} is {}", ports.list(&[p]), ports.state(p)))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            format!(
                "attach from {}, or install your release's remote tools (--ide RELEASE checks yours)",
                newest.name
            ),
        ),
        Evidence::PublicAddress => (
            format!("{} is a public internet address: Microsoft does not support remote debugging over the internet (Azure scenarios aside)", addr()),
            "use a VPN or the machine's private address; an open debugger port on the internet is a security risk".to_string(),
        ),
        Evidence::MixedAddresses {
            answering,
            not_answering,
        } => {
            let addrs: Vec<String> = obs
                .addresses
                .iter()
                .map(|a| a.address.to_string())
                .collect();
            let works: Vec<String> = answering.iter().map(|(a, p)| a.with_port(*p)).collect();
            match works.first() {
                None => (
                    format!("{host} resolves to {}, and they answer differently", addrs.join(", ")),
                    format!("make sure {host} points at the machine that runs the debugger; each address is diagnosed on its own"),
                ),
                Some(first) => (
                    format!(
                        "{host} resolves to {}; the debugger answers at {} but not on {}",
                        addrs.join(", "),
                        works.join(", "),
                        not_answering
                            .iter()
                            .map(|a| a.to_string())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                    format!(
                        "Visual Studio may pick another address: attach with {first}, or fix the records of {host}"
                    ),
                ),
            }
        }
        Evidence::AppService { debugger_on_4024 } => (
            format!("{host} is an Azure App Service: its remote debugger is reached on 4024 for every Visual Studio release, not on 4026"),
            if *debugger_on_4024 {
                format!("attach to {host}:4024")
            } else {
                format!("turn on remote debugging for the app (Configuration > General settings in the Azure portal), then attach to {host}:4024")
            },
        ),
        Evidence::BeyondTheNetwork => (
            "the network path to the monitor is open".to_string(),
            "if it still fails: authentication mode, msvsmon Tools > Permissions".to_string(),
        ),
        Evidence::Unresolved { mdns } => {
            let error = obs
                .resolution
                .error()
                .map_or_else(|| "no address".to_string(), |e| field(&e.to_string()).into_owned());
            (
                format!("'{host}' could not be resolved: {error}"),
                if *mdns {
                    format!("'.local' names need multicast DNS (Bonjour, nss-mdns, or Windows 10+); check the name or use the machine's address instead of '{host}'")
                } else if matches!(obs.resolution.error(), Some(ResolveError::NotOneHost { .. })) {
                    format!("a hosts file or DNS record points '{host}' away (0.0.0.0 is how hosts files block names): correct that entry, or use the machine's address instead")
                } else {
                    format!("check the spelling and the DNS suffix, or use the machine's address instead of '{host}'; Visual Studio needs the same name to resolve")
                },
            )
        }
        // No route for TCP either: the Probe could not be sent for the same reason.
        Evidence::DiscoveryFailed
            if !obs.addresses.is_empty()
                && obs
                    .addresses
                    .iter()
                    .flat_map(|a| &a.ports)
                    .all(|p| p.result.reason == Reason::NoRoute) =>
        {
            (
                format!("could not send WS-Discovery Probes to {host}: this machine has no route there"),
                "nothing to do for discovery until there is a route".to_string(),
            )
        }
        Evidence::DiscoveryFailed => (
            format!(
                "could not send WS-Discovery Probes to {host}: {}; this says nothing about the remote machine",
                obs.discovery
                    .as_ref()
                    .and_then(|d| d.error.as_deref())
                    .map_or_else(|| "unknown error".into(), field)
            ),
            "check this machine's own firewall for outgoing UDP 3702, or skip discovery with --no-discovery".to_string(),
        ),
        Evidence::StandIn {
            responder,
            debugger_ports_open,
        } => discovery::stand_in(responder, *debugger_ports_open),
        Evidence::DiscoveryAnswered {
            responders,
            hint,
            attach_as,
        } => discovery::discovery_answered(obs, &host, responders, hint, attach_as),
        Evidence::DiscoveryWithoutDebugger { responders, hint } => {
            discovery::without_debugger(obs, &host, responders, hint)
        }
        Evidence::NoDiscoveryAnswer {
            why,
            off_link,
            inconclusive,
        } => discovery::no_answer(&host, why, *off_link, *inconclusive),
        Evidence::NotDiscoverable {
            why,
            off_link,
            attach_as,
        } => discovery::not_discoverable(&host, why, *off_link, attach_as),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use msvsmon_probe_core::{DebuggerHint, ResponderKind};

    /// A release found by vswhere, not given, is said to be an assumption.
    #[test]
    fn an_assumed_release_is_said_to_be_one() {
        let obs = msvsmon_probe_core::fixtures::host(
            "devbox",
            &[(
                "10.0.0.5",
                vec![(4024, msvsmon_probe_core::fixtures::open())],
            )],
        );
        let ide = msvsmon_probe_core::Ide {
            release: Release::find_ide("2022").unwrap(),
            assumed: true,
        };
        let d = msvsmon_probe_core::diagnose_for(&obs, Some(ide));
        let said = summary(&d.verdict);
        assert!(
            said.starts_with("release mismatch: VS 2022 cannot attach"),
            "{said}"
        );
        assert!(
            said.contains("assuming VS 2022, the newest Visual Studio installed here"),
            "{said}"
        );
    }

    /// What msvsmon sends is not documented: no sentence may claim a reply proves or rules out
    /// the debugger, and a wsdd that imitates Windows is named as such.
    #[test]
    fn discovery_words_claim_no_more_than_a_reply_shows() {
        assert!(debugger_hint(&DebuggerHint::Nothing).contains("not public"));
        assert!(debugger_hint(&DebuggerHint::Unrecognised).contains("could be among them"));
        assert!(responder_kind(ResponderKind::Computer).contains("wsdd"));
    }
}
