//! ICMP: ports an ICMP error answered for, from the host itself or from a router on the way.

use std::net::IpAddr;

use super::{attachable, numbers, AddressCtx, Evidence, Finding, Severity};
use crate::catalog::Port;
use crate::observation::PortObservation;
use crate::probe::{PortState, Reason};

/// Some ports were rejected with ICMP and others got no answer: senders rate-limit their ICMP
/// errors (Linux answers at most a burst of 6, then 1 per second, per destination; routers
/// limit theirs too, and a dozen SYNs at once outrun that), so the silent ports are probably
/// rejected the same way, not dropped. Evidence: the rejected ports and who sent their ICMP,
/// and the silent ports (the finding's). A problem while a silent port is one to attach through
/// and nothing answers on the address.
pub(super) fn rate_limited(cx: &AddressCtx) -> Option<Finding> {
    if !cx.icmp_rate_limited() {
        return None;
    }
    let rejected = cx.ports_in(PortState::Rejected);
    let silent = cx.ports_in(PortState::Filtered);
    let mut senders: Vec<IpAddr> = rejected
        .iter()
        .filter_map(|p| p.result.icmp.and_then(|i| i.from))
        .collect();
    senders.dedup();
    Some(cx.finding(
        if silent.iter().any(|p| attachable(p)) {
            cx.gravity()
        } else {
            Severity::Info
        },
        numbers(&silent),
        Evidence::IcmpRateLimited {
            rejected: numbers(&rejected),
            senders,
        },
    ))
}

/// Ports rejected with ICMP, one finding per kind of rejection and sender: a firewall there
/// (the address itself sent it) or on the way (a router did). Evidence: the ICMP reason and
/// its sender, and which of the ports matter for attaching. Information only when none does.
pub(super) fn rejected(cx: &AddressCtx) -> Vec<Finding> {
    let rejected = cx.ports_in(PortState::Rejected);
    let key = |p: &PortObservation| (p.result.reason, p.result.icmp.and_then(|i| i.from));
    let mut groups: Vec<(Reason, Option<IpAddr>)> = Vec::new();
    for p in &rejected {
        if !groups.contains(&key(p)) {
            groups.push(key(p));
        }
    }
    groups
        .into_iter()
        .map(|(reason, from)| {
            let ports: Vec<&PortObservation> = rejected
                .iter()
                .copied()
                .filter(|p| key(p) == (reason, from))
                .collect();
            let numbers = numbers(&ports);
            let matter: Vec<Port> = cx
                .matter()
                .into_iter()
                .filter(|p| numbers.contains(p))
                .collect();
            let severity = if matter.is_empty() {
                Severity::Info
            } else {
                cx.gravity()
            };
            cx.finding(
                severity,
                numbers,
                Evidence::Rejected {
                    reason,
                    from,
                    matter,
                },
            )
        })
        .collect()
}

/// No host behind the address: no ARP/ND answer on the link, no route, or a router reporting
/// it unreachable. Evidence: the first such port's reason and the router that sent it, and
/// whether every port of the address says the same.
pub(super) fn no_host(cx: &AddressCtx) -> Option<Finding> {
    let nohost = cx.ports_in(PortState::NoHost);
    let first = nohost.first()?;
    Some(cx.finding(
        Severity::Problem,
        numbers(&nohost),
        Evidence::NoHost {
            reason: first.result.reason,
            from: first.result.icmp.and_then(|i| i.from),
            every_port: nohost.len() == cx.a.ports.len(),
        },
    ))
}
