//! The engine for the addresses of one named target: the same lanes, scheduler and retry policy
//! as a scan, with a fixed wait, every port in order, and one lane on the caller's runtime.

use std::sync::Arc;

use super::run::Scan;
use super::scheduler::EngineSettings;
use crate::catalog::Port;
use crate::probe::tcp::AfterConnect;
use crate::probe::PortResult;
use crate::target::Address;
use crate::target_set::AddressSet;

/// Probes every port of every address; the results come back in the order of `addresses`, each
/// address's in the order of `ports`. EngineSettings should be [`EngineSettings::fixed`].
pub(crate) async fn probe_addresses(
    addresses: &[Address],
    ports: &[Port],
    settings: EngineSettings,
    after: Arc<dyn AfterConnect>,
) -> Vec<Vec<PortResult>> {
    if addresses.is_empty() || ports.is_empty() {
        return vec![Vec::new(); addresses.len()];
    }
    let mut set = AddressSet::default();
    for a in addresses {
        set.union(&AddressSet::single(*a));
    }
    let scan = Scan::builder(Arc::new(set.into_indexed()), ports.to_vec())
        .settings(settings)
        .with_after_connect(after)
        .build()
        .expect("ports and a concurrency were given");
    let mut run = scan.start();
    let mut by_address: Vec<(Address, Vec<PortResult>)> = Vec::new();
    while let Some(hosts) = run.next().await {
        by_address.extend(hosts.into_iter().map(|h| (h.address, h.ports)));
    }
    run.finish().await;
    addresses
        .iter()
        .map(|a| {
            by_address
                .iter()
                .find(|(b, _)| b == a)
                .map(|(_, ports)| ports.clone())
                .expect("every address of the target is probed")
        })
        .collect()
}
