//! Releases: which monitor answers, on which port, and what that means for attaching.

use std::collections::BTreeSet;

use super::{numbers, AddressCtx, Endpoint, Evidence, Finding, Severity};
use crate::catalog::{Port, Role};
use crate::observation::{HostObservation, PortObservation};
use crate::probe::PortState;

/// Each endpoint on the address (of the user's release, when known): a main or custom port
/// accepts and nothing contradicts the debugger. Evidence: the endpoint's port and what to
/// attach to.
pub(super) fn debugger_reachable(cx: &AddressCtx) -> Vec<Finding> {
    cx.endpoints
        .iter()
        .filter(|e| e.address == cx.addr())
        // With the user's release known, another release's monitor is a mismatch, not news.
        .filter(|e| {
            cx.ide
                .is_none_or(|i| e.custom || e.releases.contains(&i.release.key))
        })
        .map(|e| {
            cx.finding(
                Severity::Ok,
                vec![e.port],
                Evidence::DebuggerReachable {
                    attach_as: e.attach_as.clone(),
                },
            )
        })
        .collect()
}

/// Only WoW64 ports accept, and no endpoint is on the address: a monitor may run, but Visual
/// Studio connects to the main port. Evidence: the open WoW64 ports (the finding's), the main
/// ports of the same releases, which of those were not refused (a firewall, where a refused
/// one means nothing listens there), and the main ports of those releases left unprobed.
pub(super) fn only_wow64(cx: &AddressCtx) -> Option<Finding> {
    let wow_open: Vec<&PortObservation> =
        cx.a.debugger_ports()
            .filter(|p| p.planned.is_wow64_only())
            .collect();
    if wow_open.is_empty() || cx.debugger_here() {
        return None;
    }
    let mains: Vec<&PortObservation> =
        cx.a.ports
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
    let blocked: Vec<&PortObservation> = mains
        .iter()
        .copied()
        .filter(|p| p.result.state != PortState::Closed)
        .collect();
    // 4025 is the WoW64 port of 2019, 2022 and 2026: with 4024 not probed, a VS 2019
    // monitor explains it as well as a 2022 one.
    let mut unprobed_mains: Vec<Port> = wow_open
        .iter()
        .flat_map(|w| w.planned.claims.iter())
        .filter_map(|c| c.release.main_port())
        .filter(|&p| !cx.a.ports.iter().any(|q| q.planned.port == p))
        .collect();
    unprobed_mains.sort();
    unprobed_mains.dedup();
    Some(cx.finding(
        Severity::Problem,
        numbers(&wow_open),
        Evidence::OnlyWow64 {
            main_ports: numbers(&mains),
            blocked_mains: numbers(&blocked),
            unprobed_mains,
        },
    ))
}

/// VS 2019 and VS 2022/2026 monitors answer side by side: both want WoW64 port 4025, so the
/// one started second cannot debug 32-bit processes. Evidence: open main ports of both.
pub(super) fn wow64_conflict(cx: &AddressCtx) -> Option<Finding> {
    let open_main_releases: BTreeSet<&str> =
        cx.a.debugger_ports()
            .filter(|p| p.planned.is_main())
            .flat_map(|p| p.planned.claims.iter().map(|c| c.release.key))
            .collect();
    if !(open_main_releases.contains("2019") && open_main_releases.contains("2022")) {
        return None;
    }
    Some(cx.finding(
        Severity::Warning,
        vec![Port(4024), Port(4026), Port(4025)],
        Evidence::Wow64Conflict,
    ))
}

/// A monitor answers, but not the one the user needs. With the user's release known: its main
/// port is not open while another release's monitor answers, a problem (install the matching
/// remote tools, or attach from that release). Without it: the newest release that answers is
/// older than releases whose main port is closed or filtered, a warning (a newer Visual Studio
/// needs the remote tools of its own release; a filtered port may also hide one). Evidence:
/// the newest answering release and its open ports, the user's release, and the main ports
/// that do not answer (the finding's). Not on an App Service host (its 4024 serves every
/// release).
pub(super) fn release_mismatch(cx: &AddressCtx) -> Option<Finding> {
    if cx.obs.target.is_app_service() {
        return None;
    }
    let (version, newest) =
        cx.a.debugger_ports()
            .filter(|p| p.planned.is_main())
            .flat_map(|p| p.planned.claims.iter())
            .filter(|c| c.role == Role::Main)
            .filter_map(|c| c.release.internal_version.map(|v| (v, c.release)))
            .max_by_key(|(v, _)| *v)?;
    let newest_ports = || {
        cx.a.debugger_ports()
            .filter(|p| p.planned.claims.iter().any(|c| c.release.key == newest.key))
            .map(|p| p.planned.port)
            .collect()
    };
    if let Some(ide) = cx.ide {
        let port = ide.release.main_port()?;
        let theirs = cx.a.ports.iter().find(|p| p.planned.port == port)?;
        if theirs.result.is_debugger_candidate()
            || cx
                .endpoints
                .iter()
                .any(|e| e.address == cx.addr() && e.releases.contains(&ide.release.key))
        {
            return None;
        }
        return Some(cx.finding(
            Severity::Problem,
            vec![port],
            Evidence::ReleaseMismatch {
                newest,
                newest_ports: newest_ports(),
                wanted: Some(ide.release),
            },
        ));
    }
    let newer_closed: Vec<&PortObservation> = cx
        .a
        .ports
        .iter()
        .filter(|p| {
            matches!(p.result.state, PortState::Closed | PortState::Filtered) && p.planned.is_main()
        })
        .filter(|p| {
            p.planned.claims.iter().any(|c| {
                c.role == Role::Main && c.release.internal_version.is_some_and(|v| v > version)
            })
        })
        .collect();
    if newer_closed.is_empty() {
        return None;
    }
    Some(cx.finding(
        Severity::Warning,
        numbers(&newer_closed),
        Evidence::ReleaseMismatch {
            newest,
            newest_ports: newest_ports(),
            wanted: None,
        },
    ))
}

/// The target is an Azure App Service: its debugger is reached on 4024 whatever the release.
/// Evidence: the name, and whether 4024 answers (a warning when it does not).
pub(super) fn app_service(obs: &HostObservation, endpoints: &[Endpoint]) -> Option<Finding> {
    if !obs.target.is_app_service() {
        return None;
    }
    let debugger_on_4024 = endpoints.iter().any(|e| e.port == Port(4024));
    Some(Finding::new(
        if debugger_on_4024 {
            Severity::Info
        } else {
            Severity::Warning
        },
        None,
        vec![Port(4024)],
        Evidence::AppService { debugger_on_4024 },
    ))
}

/// A debugger port accepts: the network path is open, so what may still fail is beyond it.
/// Evidence: an endpoint.
pub(super) fn beyond_the_network(endpoints: &[Endpoint]) -> Option<Finding> {
    if endpoints.is_empty() {
        return None;
    }
    Some(Finding::new(
        Severity::Info,
        None,
        vec![],
        Evidence::BeyondTheNetwork,
    ))
}
