//! Silence: ports that got no answer at all, after every attempt.
//!
//! Silence everywhere is one finding, not twelve. Silence beside ICMP rejections is left to
//! [`super::icmp::rate_limited`]: calling those ports "dropped by a firewall" next to it would
//! contradict it.

use super::{attachable, numbers, AddressCtx, Evidence, Finding, Severity};
use crate::catalog::Port;
use crate::probe::PortState;

/// Every port of the address is silent: the host is down, the address is wrong, or a firewall
/// drops everything. Evidence: every port filtered (their attempts), and whether the address
/// answered the WS-Discovery Probe (a reply, or an ICMP error of its own), which proves it is up.
pub(super) fn host_silent(cx: &AddressCtx) -> Option<Finding> {
    if !cx.silent_everywhere() {
        return None;
    }
    let a = cx.a;
    // A WS-Discovery reply, or an ICMP error the address itself sent for the Probe: it is up.
    let answered_discovery = cx.obs.discovery.as_ref().is_some_and(|d| {
        d.responders.iter().any(|r| r.source.ip() == cx.addr().ip)
            || d.addresses.iter().any(|a| {
                a.address == cx.addr() && a.icmp.is_some_and(|i| i.from == Some(cx.addr().ip))
            })
    });
    Some(cx.finding(
        Severity::Problem,
        a.ports.iter().map(|p| p.planned.port).collect(),
        Evidence::HostSilent {
            attempts: a.ports.first().map_or(0, |p| p.result.attempts),
            answered_discovery,
            main_ports: {
                let matter = cx.matter();
                if matter.is_empty() {
                    a.ports
                        .iter()
                        .filter(|p| attachable(p))
                        .map(|p| p.planned.port)
                        .collect()
                } else {
                    matter
                }
            },
        },
    ))
}

/// Main (and custom) ports without an answer while others answered: a firewall drops them, or
/// the host is down. Evidence: the filtered ports and their attempts, whether the host itself
/// answered on another port, and which of them matter for attaching. Unlike a closed port, a
/// filtered one may hide a running monitor: a warning even when another release answers, as
/// long as it is one that matters; routine information when none does.
pub(super) fn filtered(cx: &AddressCtx) -> Option<Finding> {
    if cx.silent_everywhere() || cx.icmp_rate_limited() {
        return None;
    }
    let filtered = cx.ports_of(PortState::Filtered, false);
    let first = filtered.first()?;
    let ports = numbers(&filtered);
    let matter: Vec<Port> = cx
        .matter()
        .into_iter()
        .filter(|p| ports.contains(p))
        .collect();
    Some(cx.finding(
        if matter.is_empty() {
            Severity::Info
        } else if cx.debugger_here() {
            Severity::Warning
        } else {
            Severity::Problem
        },
        ports,
        Evidence::Filtered {
            attempts: first.result.attempts,
            host_up: cx.a.host_answered(),
            matter,
        },
    ))
}

/// WoW64 ports without an answer: dropped by a firewall, needed only for 32-bit processes.
/// Evidence: the filtered WoW64 ports.
pub(super) fn wow64_filtered(cx: &AddressCtx) -> Option<Finding> {
    if cx.silent_everywhere() || cx.icmp_rate_limited() {
        return None;
    }
    let filtered = cx.ports_of(PortState::Filtered, true);
    if filtered.is_empty() {
        return None;
    }
    Some(cx.finding(Severity::Info, numbers(&filtered), Evidence::Wow64Filtered))
}
