//! Probing named targets: resolve each, plan its ports from the catalog, probe every address and
//! port through the engine while WS-Discovery probes the same addresses, and hand back
//! [`HostObservation`]s. Targets run concurrently; within a target, the TCP ports and the
//! discovery probe run side by side, so discovery adds time only when it listens longer than the
//! ports take to answer.

use std::time::Instant;

use futures::future::join_all;

use crate::catalog::Selection;
use crate::discovery::{self, DiscoveryObservation};
use crate::engine::{self, Settings};
use crate::observation::{AddressObservation, HostObservation, PortObservation};
use crate::platform;
use crate::probe::tcp::Connector;

use crate::resolve::Resolution;
use crate::resolve::Resolver;
use crate::target::{Address, Target};

/// Probes every target; observations come back in the order of `targets`. `discovery` is
/// `None` with `--no-discovery`.
pub async fn probe_targets<C: Connector>(
    targets: &[Target],
    selection: &Selection,
    resolver: &Resolver,
    connector: &C,
    settings: &Settings,
    discovery: Option<&discovery::client::Settings>,
) -> Vec<HostObservation> {
    join_all(
        targets
            .iter()
            .map(|t| probe_target(t, selection, resolver, connector, settings, discovery)),
    )
    .await
}

/// Probes one target: resolution, then its ports and its WS-Discovery probe side by side.
pub async fn probe_target<C: Connector>(
    t: &Target,
    selection: &Selection,
    resolver: &Resolver,
    connector: &C,
    settings: &Settings,
    discovery: Option<&discovery::client::Settings>,
) -> HostObservation {
    let start = Instant::now();
    let resolution = resolver.resolve(t).await;
    let wsd = async {
        match discovery {
            Some(d) if !resolution.addresses.is_empty() => {
                Some(discovery::client::probe_host(&resolution.addresses, d).await)
            }
            _ => None,
        }
    };
    let ports = probe_ports(t, &resolution, selection, connector, settings);
    let (addresses, discovery) = futures::join!(ports, wsd);
    HostObservation {
        target: t.clone(),
        resolution,
        addresses,
        discovery,
        elapsed: start.elapsed(),
    }
}

/// Probes the ports of a host whose discovery was already observed (`--discover` found it).
pub async fn probe_found<C: Connector>(
    target: Target,
    resolution: Resolution,
    discovery: DiscoveryObservation,
    selection: &Selection,
    connector: &C,
    settings: &Settings,
) -> HostObservation {
    let start = Instant::now();
    let addresses = probe_ports(&target, &resolution, selection, connector, settings).await;
    HostObservation {
        target,
        resolution,
        addresses,
        discovery: Some(discovery),
        elapsed: start.elapsed(),
    }
}

/// Every planned port of every address, through the engine.
async fn probe_ports<C: Connector>(
    target: &Target,
    resolution: &Resolution,
    selection: &Selection,
    connector: &C,
    settings: &Settings,
) -> Vec<AddressObservation> {
    let plan = selection.plan(target.is_app_service(), target.port);
    let jobs = resolution
        .addresses
        .iter()
        .flat_map(|a| plan.iter().map(move |p| a.socket_addr(p.port)))
        .collect();
    let mut results = engine::probe_all(connector, jobs, settings)
        .await
        .into_iter();
    resolution
        .addresses
        .iter()
        .map(|a: &Address| {
            let mut obs = AddressObservation {
                address: *a,
                ports: plan
                    .iter()
                    .map(|p| PortObservation {
                        planned: p.clone(),
                        result: results.next().expect("one result per planned port"),
                    })
                    .collect(),
            };
            unanswered_arp_is_no_host(&mut obs);
            obs
        })
        .collect()
}

/// Silence from an on-link address whose ARP resolution never completed is not a firewall: the
/// SYNs never left this machine. With the default 1 s timeout the kernel is still retrying ARP
/// (it gives up after about 3 s), so the error queue has not said so yet; the neighbour table has.
fn unanswered_arp_is_no_host(a: &mut AddressObservation) {
    let ip = a.address.ip;
    let mut results: Vec<crate::probe::PortResult> =
        a.ports.iter().map(|p| p.result.clone()).collect();
    crate::probe::silence_behind_failed_arp(&mut results, || {
        platform::neighbour_unresolved(ip) == Some(true)
    });
    for (p, r) in a.ports.iter_mut().zip(results) {
        p.result = r;
    }
}
