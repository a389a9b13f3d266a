//! Probing named targets: resolve each, plan its ports from the catalog, probe every address and
//! port through the engine, and hand back [`HostObservation`]s. Targets run concurrently.

use std::time::Instant;

use futures::future::join_all;

use crate::catalog::Selection;
use crate::engine::{self, Settings};
use crate::observation::{AddressObservation, HostObservation, PortObservation};
use crate::platform;
use crate::probe::tcp::Connector;
use crate::probe::{PortState, Reason};
use crate::resolve::Resolver;
use crate::target::Target;

/// Probes every target; observations come back in the order of `targets`.
pub async fn probe_targets<C: Connector>(
    targets: &[Target],
    selection: &Selection,
    resolver: &Resolver,
    connector: &C,
    settings: &Settings,
) -> Vec<HostObservation> {
    join_all(
        targets
            .iter()
            .map(|t| probe_target(t, selection, resolver, connector, settings)),
    )
    .await
}

async fn probe_target<C: Connector>(
    target: &Target,
    selection: &Selection,
    resolver: &Resolver,
    connector: &C,
    settings: &Settings,
) -> HostObservation {
    let start = Instant::now();
    let resolution = resolver.resolve(target).await;
    let plan = selection.plan(target.is_app_service(), target.port);
    let jobs = resolution
        .addresses
        .iter()
        .flat_map(|a| plan.iter().map(move |p| a.socket_addr(p.port)))
        .collect();
    let mut results = engine::probe_all(connector, jobs, settings)
        .await
        .into_iter();
    let addresses = resolution
        .addresses
        .iter()
        .map(|a| {
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
        .collect();
    HostObservation {
        target: target.clone(),
        resolution,
        addresses,
        elapsed: start.elapsed(),
    }
}

/// Silence from an on-link address whose ARP resolution never completed is not a firewall: the
/// SYNs never left this machine. With the default 1 s timeout the kernel is still retrying ARP
/// (it gives up after about 3 s), so the error queue has not said so yet; the neighbour table has.
fn unanswered_arp_is_no_host(a: &mut AddressObservation) {
    let silent = a
        .ports
        .iter()
        .all(|p| p.result.state == PortState::Filtered);
    if silent && platform::neighbour_unresolved(a.address.ip) == Some(true) {
        for p in &mut a.ports {
            p.result.state = PortState::NoHost;
            p.result.reason = Reason::NeighbourUnreachable;
        }
    }
}
