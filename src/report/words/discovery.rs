//! The words of WS-Discovery: what answered, why nothing did, and the findings about the Find
//! dialog.

use msvsmon_probe_core::{DebuggerHint, DiscoverySilence, HostObservation, ResponderKind};

use crate::sanitize::field;

/// What answered WS-Discovery, for sentences: "a WSD printer".
pub fn responder_kind(k: ResponderKind) -> &'static str {
    match k {
        ResponderKind::StandIn => "msvsmon-probe's stand-in monitor (msvsmon-probe listen)",
        ResponderKind::Computer => {
            "a computer announcing itself the Windows way (pub:Computer, as Windows and wsdd on Linux do)"
        }
        ResponderKind::Printer => "a WSD printer",
        ResponderKind::Scanner => "a WSD scanner",
        ResponderKind::Camera => "an ONVIF camera or video encoder",
        ResponderKind::Unrecognised => "a WS-Discovery service of a type this tool does not know",
        ResponderKind::Device => "a DPWS device of no more specific type",
        ResponderKind::Untyped => "a WS-Discovery service that lists no type",
        ResponderKind::NoMatch => "a WS-Discovery responder for which nothing matched our Probes",
    }
}

/// Whether a WS-Discovery reply points at the debugger, as one clause.
pub fn debugger_hint(h: &DebuggerHint) -> String {
    match h {
        DebuggerHint::StandIn => {
            "it is this tool's stand-in, not the Visual Studio remote debugger".to_string()
        }
        DebuggerHint::Mentions(t) => {
            format!(
                "its reply mentions \"{}\", which points at the remote debugger",
                field(t)
            )
        }
        DebuggerHint::Unrecognised => {
            "its types are not ones this tool knows; the remote debugger's could be among them (what msvsmon sends is not public)".to_string()
        }
        DebuggerHint::Nothing => {
            "nothing in its reply points at the remote debugger (what msvsmon sends is not public)".to_string()
        }
    }
}

/// msvsmon-probe's own stand-in answered, not the debugger.
pub(super) fn stand_in(
    responder: &std::net::IpAddr,
    debugger_ports_open: bool,
) -> (String, String) {
    (
        format!(
            "{responder} answers WS-Discovery as msvsmon-probe's stand-in (msvsmon-probe listen), not as the Visual Studio remote debugger{}",
            if debugger_ports_open { "; the open ports are likely the stand-in's too" } else { "" }
        ),
        if debugger_ports_open {
            "the network path works, WS-Discovery included: stop `msvsmon-probe listen` and start the remote debugger (msvsmon.exe) on the same ports; it is found the same way unless it runs with /nodiscovery".to_string()
        } else {
            // The stand-in answered discovery, but none of its TCP ports did: only half of
            // the path is open (the findings above say what blocks the ports).
            "WS-Discovery passes, but the debugger ports do not: fix what the port findings above name (a firewall rule for msvsmon.exe, or the port the stand-in listens on), then probe again before installing the remote debugger".to_string()
        },
    )
}

/// The host answered WS-Discovery and a debugger port accepts.
pub(super) fn discovery_answered(
    obs: &HostObservation,
    host: &str,
    responders: &[usize],
    hint: &DebuggerHint,
    attach_as: &str,
) -> (String, String) {
    (
        answered(obs, host, responders, hint),
        format!(
            "if Find does not list {host}, the monitor may run with /nodiscovery; typing {attach_as} works regardless"
        ),
    )
}

/// The host answered WS-Discovery, but no debugger port accepts.
pub(super) fn without_debugger(
    obs: &HostObservation,
    host: &str,
    responders: &[usize],
    hint: &DebuggerHint,
) -> (String, String) {
    (
        format!(
            "{}; no debugger port accepts, so it is no debugger on the ports probed",
            answered(obs, host, responders, hint)
        ),
        "fix what the port findings name: Find listing a machine does not make it attachable"
            .to_string(),
    )
}

/// No answer, and nothing to attach to either.
pub(super) fn no_answer(
    host: &str,
    why: &DiscoverySilence,
    off_link: bool,
    inconclusive: bool,
) -> (String, String) {
    (
        format!(
            "no WS-Discovery answer from {host}: {}{}; nothing to attach to either",
            silence(why, off_link),
            if inconclusive { "; inconclusive" } else { "" }
        ),
        "nothing to do for discovery until a debugger port answers".to_string(),
    )
}

/// The debugger answers, but Find will not list the machine.
pub(super) fn not_discoverable(
    host: &str,
    why: &DiscoverySilence,
    off_link: bool,
    attach_as: &str,
) -> (String, String) {
    (
        format!(
            "no WS-Discovery answer: {}; {host} will not show in Attach to Process > Find",
            silence(why, off_link)
        ),
        format!(
            "attach by typing {attach_as}; to be found: no /nodiscovery, inbound UDP 3702 allowed, Find from the same subnet"
        ),
    )
}

/// "devbox answers WS-Discovery on UDP 3702: a WSD printer (…); nothing in its reply …".
fn answered(
    obs: &HostObservation,
    host: &str,
    responders: &[usize],
    hint: &DebuggerHint,
) -> String {
    let all = obs
        .discovery
        .as_ref()
        .map_or(&[][..], |d| &d.responders[..]);
    let what: Vec<String> = responders
        .iter()
        .filter_map(|&i| all.get(i))
        .map(|r| {
            let types: Vec<&str> = r.types.iter().map(|t| t.text.as_str()).collect();
            if types.is_empty() {
                responder_kind(r.classification.kind).to_string()
            } else {
                format!(
                    "{} ({})",
                    responder_kind(r.classification.kind),
                    field(&types.join(" "))
                )
            }
        })
        .collect();
    format!(
        "{host} answers WS-Discovery on UDP 3702: {}; {}",
        what.join("; "),
        debugger_hint(hint)
    )
}

/// Why nothing answered WS-Discovery.
fn silence(why: &DiscoverySilence, off_link: bool) -> String {
    let elsewhere = if off_link {
        "; besides, it is on another subnet, and multicast does not cross routers"
    } else {
        ""
    };
    match why {
        DiscoverySilence::Closed { address } => format!(
            "UDP 3702 is closed (ICMP port unreachable from {address}): msvsmon runs with /nodiscovery, or nothing serves discovery{elsewhere}"
        ),
        DiscoverySilence::Rejected { address, icmp } => format!(
            "UDP 3702 to {address} is rejected ({} from {}): a firewall refuses discovery{elsewhere}",
            icmp.kind.reason().as_str(),
            icmp.from
                .map(|f| f.to_string())
                .unwrap_or_else(|| "an unknown sender".into())
        ),
        DiscoverySilence::ThisMachine => "it is this machine: a multicast Probe does not come back to its sender, and Windows ignores unicast Probes, so this cannot be told from here".to_string(),
        DiscoverySilence::OffLink => "it is on another subnet: multicast does not cross routers, and Windows ignores unicast Probes".to_string(),
        DiscoverySilence::NoAnswer { multicast: true, wait } => format!(
            "no answer to multicast or unicast Probes within {:.1} s (discovery off with msvsmon /nodiscovery, UDP 3702 dropped by a firewall, or Probes from a network the host does not trust)",
            wait.as_secs_f64()
        ),
        DiscoverySilence::Unreachable {
            address,
            icmp,
            this_machine: true,
        } => match icmp.kind {
            msvsmon_probe_core::IcmpKind::NetUnreachable => {
                format!("this machine has no route to {address}, so the Probe never left (no firewall involved)")
            }
            _ => format!(
                "nothing answered this machine's neighbour discovery (ARP/ND) for {address}, so the Probe never left (no firewall involved)"
            ),
        },
        DiscoverySilence::Unreachable { address, icmp, .. } => format!(
            "{} reports {address} unreachable ({}): no host there, not a firewall",
            icmp.from
                .map(|f| f.to_string())
                .unwrap_or_else(|| "something on the way".into()),
            icmp.kind.reason().as_str()
        ),
        DiscoverySilence::NoAnswer { multicast: false, wait } => {
            format!("no answer to the unicast Probe within {:.1} s", wait.as_secs_f64())
        }
    }
}
