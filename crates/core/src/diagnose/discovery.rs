//! WS-Discovery: whether the host will show in Visual Studio's Find dialog, and what answered.
//! The verdict stays with the ports; a discovery answer proves a responder, not the debugger.
//! At most one discovery finding per target: the first of these rules that applies.

use super::{DiscoverySilence, Endpoint, Evidence, Finding, Severity};
use crate::discovery::{
    AddressReach, DebuggerHint, DiscoveryObservation, DiscoveryStatus, Reach, Responder,
    ResponderKind,
};
use crate::observation::HostObservation;
use crate::probe::{IcmpDetail, IcmpKind, Reason};

/// The discovery finding of a target whose discovery was probed.
pub(super) fn finding(
    obs: &HostObservation,
    d: &DiscoveryObservation,
    endpoints: &[Endpoint],
) -> Finding {
    if d.status == DiscoveryStatus::Failed {
        failed()
    } else if d.status.answered() {
        stand_in(d, endpoints).unwrap_or_else(|| answered(d, endpoints))
    } else {
        no_answer(obs, d, endpoints)
    }
}

/// The ICMP error of a Probe as evidence: a host or network unreachable is no firewall's
/// doing, and it is this machine's own when it names no sender, when an on-link address
/// (no router in between) did not answer neighbour discovery, or when the TCP probes of the
/// same address learnt the same from this machine.
fn unreachable(
    obs: &HostObservation,
    a: &AddressReach,
    icmp: IcmpDetail,
) -> Option<DiscoverySilence> {
    if !matches!(
        icmp.kind,
        IcmpKind::HostUnreachable | IcmpKind::NetUnreachable
    ) {
        return None;
    }
    let on_link = matches!(a.reach, Reach::OnLink { .. } | Reach::ThisMachine);
    let tcp_says_local = obs
        .addresses
        .iter()
        .filter(|o| o.address == a.address)
        .flat_map(|o| &o.ports)
        .any(|p| {
            matches!(
                p.result.reason,
                Reason::NeighbourUnreachable | Reason::NoRoute
            )
        });
    let this_machine = match icmp.from {
        None => true,
        Some(from) => tcp_says_local || (on_link && from != a.address.ip),
    };
    Some(DiscoverySilence::Unreachable {
        address: a.address,
        icmp,
        this_machine,
    })
}

/// No Probe could be sent: a problem of this machine, which says nothing about the remote one.
/// Evidence: the discovery's error.
fn failed() -> Finding {
    Finding::new(Severity::Warning, None, vec![], Evidence::DiscoveryFailed)
}

/// The responders a finding is about: those that matched, or, when none did, the empty ones.
fn shown(d: &DiscoveryObservation) -> Vec<usize> {
    let full: Vec<usize> = (0..d.responders.len())
        .filter(|&i| !d.responders[i].empty)
        .collect();
    if full.is_empty() {
        (0..d.responders.len()).collect()
    } else {
        full
    }
}

/// What answered is this tool's stand-in (`msvsmon-probe listen`), not the remote debugger;
/// with the debugger ports open, those are likely the stand-in's too. Evidence: the responder
/// whose Types name the stand-in, and whether a debugger port accepts.
fn stand_in(d: &DiscoveryObservation, endpoints: &[Endpoint]) -> Option<Finding> {
    let r: &Responder = shown(d)
        .into_iter()
        .map(|i| &d.responders[i])
        .find(|r| r.classification.kind == ResponderKind::StandIn)?;
    Some(Finding::new(
        Severity::Info,
        None,
        vec![],
        Evidence::StandIn {
            responder: r.source.ip(),
            debugger_ports_open: !endpoints.is_empty(),
        },
    ))
}

/// The host answers WS-Discovery. With a debugger port open, Find can list it; without, the
/// answer is not from a running debugger on the ports probed. Evidence: the responders, and the
/// strongest hint at the debugger in them (a mention, else unknown Types, else nothing).
fn answered(d: &DiscoveryObservation, endpoints: &[Endpoint]) -> Finding {
    let responders = shown(d);
    let hints = || {
        responders
            .iter()
            .map(|&i| &d.responders[i].classification.debugger)
    };
    let hint = hints()
        .find(|h| matches!(h, DebuggerHint::Mentions(_)))
        .or_else(|| hints().find(|h| **h == DebuggerHint::Unrecognised))
        .cloned()
        .unwrap_or(DebuggerHint::Nothing);
    let evidence = match endpoints.first() {
        None => Evidence::DiscoveryWithoutDebugger { responders, hint },
        Some(e) => Evidence::DiscoveryAnswered {
            responders,
            hint,
            attach_as: e.attach_as.clone(),
        },
    };
    Finding::new(Severity::Info, None, vec![], evidence)
}

/// Nothing answered WS-Discovery: why not, as far as can be told. With a debugger port open
/// the host will not show in Find (a warning on the link; expected off it, whatever its UDP
/// 3702 does, and unknowable for this machine); without one, a note. Evidence: the discovery
/// status, the ICMP error a Probe drew, where the addresses are, and the listening window.
fn no_answer(obs: &HostObservation, d: &DiscoveryObservation, endpoints: &[Endpoint]) -> Finding {
    let this_machine = d.addresses.iter().all(|a| a.reach == Reach::ThisMachine);
    let icmp = d.addresses.iter().find_map(|a| a.icmp.map(|i| (a, i)));
    let why = match (d.status, icmp) {
        (DiscoveryStatus::Closed, Some((a, _))) => DiscoverySilence::Closed { address: a.address },
        (DiscoveryStatus::Rejected, Some((a, icmp))) => {
            unreachable(obs, a, icmp).unwrap_or(DiscoverySilence::Rejected {
                address: a.address,
                icmp,
            })
        }
        _ if this_machine => DiscoverySilence::ThisMachine,
        _ if d.off_link() => DiscoverySilence::OffLink,
        _ => DiscoverySilence::NoAnswer {
            multicast: d.multicast_sent(),
            wait: d.wait,
        },
    };
    let off_link = d.off_link();
    match endpoints.first() {
        None => Finding::new(
            Severity::Info,
            None,
            vec![],
            Evidence::NoDiscoveryAnswer {
                why,
                off_link,
                inconclusive: d.status == DiscoveryStatus::NoReply,
            },
        ),
        Some(e) => Finding::new(
            if this_machine || off_link {
                Severity::Info
            } else {
                Severity::Warning
            },
            None,
            vec![],
            Evidence::NotDiscoverable {
                why,
                off_link,
                attach_as: e.attach_as.clone(),
            },
        ),
    }
}
