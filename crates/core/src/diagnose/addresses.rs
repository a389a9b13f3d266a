//! Addresses: what the name resolved to, where those addresses are, and ports this machine
//! could not probe at all.

use super::{numbers, AddressCtx, Endpoint, Evidence, Finding, Severity};
use crate::catalog::Port;
use crate::observation::{AddressObservation, AddressScope, HostObservation};
use crate::probe::PortState;

/// The name did not resolve: nothing was probed, and Visual Studio needs the same name to
/// resolve. Evidence: the resolution's error, and whether it is a `.local` (multicast DNS) name.
pub(super) fn unresolved(obs: &HostObservation) -> Finding {
    let mdns = obs
        .target
        .host
        .to_string()
        .to_ascii_lowercase()
        .trim_end_matches('.')
        .ends_with(".local");
    Finding::new(
        Severity::Problem,
        None,
        vec![],
        Evidence::Unresolved { mdns },
    )
}

/// The addresses of a name answer differently on their main ports: Visual Studio may pick one
/// that does not work. Evidence: where the debugger answers, and the addresses where it does
/// not.
pub(super) fn mixed_addresses(obs: &HostObservation, endpoints: &[Endpoint]) -> Option<Finding> {
    if obs.addresses.len() < 2 {
        return None;
    }
    let signature = |a: &AddressObservation| -> Vec<(Port, PortState)> {
        a.ports
            .iter()
            .filter(|p| p.planned.is_main() || p.planned.custom)
            .map(|p| (p.planned.port, p.result.state))
            .collect()
    };
    let first = signature(&obs.addresses[0]);
    if obs.addresses.iter().all(|a| signature(a) == first) {
        return None;
    }
    Some(Finding::new(
        Severity::Warning,
        None,
        vec![],
        Evidence::MixedAddresses {
            answering: endpoints.iter().map(|e| (e.address, e.port)).collect(),
            not_answering: obs
                .addresses
                .iter()
                .filter(|a| !endpoints.iter().any(|e| e.address == a.address))
                .map(|a| a.address)
                .collect(),
        },
    ))
}

/// The address is a public internet address (not an App Service, the supported internet
/// case): remote debugging over the internet is unsupported and a security risk. Evidence:
/// the address's scope.
pub(super) fn public_address(cx: &AddressCtx) -> Option<Finding> {
    if cx.a.scope() != AddressScope::Public || cx.obs.target.is_app_service() {
        return None;
    }
    Some(cx.finding(Severity::Warning, vec![], Evidence::PublicAddress))
}

/// Ports the run was interrupted before deciding: unknown, neither open nor closed. Evidence:
/// the ports.
pub(super) fn undecided(cx: &AddressCtx) -> Option<Finding> {
    let undecided = cx.ports_in(PortState::Undecided);
    undecided.first()?;
    Some(cx.finding(Severity::Warning, numbers(&undecided), Evidence::Undecided))
}

/// Ports this machine could not probe (no descriptors, no local ports, a local firewall):
/// their state is unknown, which says nothing about the remote machine. Evidence: the ports
/// and the first one's reason.
pub(super) fn local_error(cx: &AddressCtx) -> Option<Finding> {
    let local = cx.ports_in(PortState::LocalError);
    let first = local.first()?;
    Some(cx.finding(
        Severity::Warning,
        numbers(&local),
        Evidence::LocalError {
            reason: first.result.reason,
        },
    ))
}
