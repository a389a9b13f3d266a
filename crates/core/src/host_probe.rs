//! Probing named targets: resolve each, plan its ports from the catalog, probe every address and
//! port through the engine while WS-Discovery probes the same addresses, and hand back
//! [`HostObservation`]s. Targets run concurrently; within a target, the TCP ports, the
//! discovery probe and the Windows checks (SMB2 NEGOTIATE, NetBIOS node status) run side by
//! side, so discovery and the checks add time only when they take longer than the ports.
//!
//! ```no_run
//! # async fn demo(targets: Vec<msvsmon_probe_core::Target>) {
//! use futures::StreamExt;
//! use msvsmon_probe_core::HostProbe;
//!
//! let probe = HostProbe::builder().build();
//! let mut seen = std::pin::pin!(probe.observe_all(&targets));
//! while let Some((index, observation)) = seen.next().await {
//!     // targets[index] is decided: every port of every address, and its WS-Discovery
//! }
//! # }
//! ```

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::stream::{FuturesUnordered, Stream};

use crate::catalog::Selection;
use crate::discovery::{self, client::FoundHost};
use crate::engine::{self, EngineSettings};
use crate::observation::{
    AddressObservation, HostObservation, PortObservation, WindowsObservation,
};
use crate::platform;
use crate::probe::greeting::{self, ReadGreeting};
use crate::probe::tcp::AfterConnect;
use crate::probe::{nbstat, smb2};
use crate::resolve::{Resolution, Resolver};
use crate::target::{Address, Target};

/// Builds a [`HostProbe`]; every setting has the command line's default.
pub struct HostProbeBuilder {
    selection: Selection,
    resolver: Resolver,
    timeout: Duration,
    retries: u32,
    up_min_timeout: Option<Duration>,
    concurrency: usize,
    after: Arc<dyn AfterConnect>,
    discovery: Option<discovery::client::DiscoverySettings>,
    windows_checks: bool,
}

impl HostProbeBuilder {
    /// Which catalog rows (and custom ports) to probe.
    pub fn selection(mut self, s: Selection) -> Self {
        self.selection = s;
        self
    }

    pub fn resolver(mut self, r: Resolver) -> Self {
        self.resolver = r;
        self
    }

    /// The wait for one connect attempt.
    pub fn timeout(mut self, t: Duration) -> Self {
        self.timeout = t;
        self
    }

    /// Extra attempts for a silent port of a host that answered nothing; a host that answered
    /// gets at least [`UP_HOST_ATTEMPTS`](crate::UP_HOST_ATTEMPTS) in all.
    pub fn retries(mut self, n: u32) -> Self {
        self.retries = n;
        self
    }

    /// The shortest wait per attempt on a host that answered something (its own round trips
    /// set the wait from then on). Default: half of
    /// [`DEFAULT_MIN_TIMEOUT`](crate::DEFAULT_MIN_TIMEOUT).
    pub fn up_min_timeout(mut self, t: Duration) -> Self {
        self.up_min_timeout = Some(t);
        self
    }

    /// Connect attempts in flight at once, per target.
    pub fn concurrency(mut self, n: usize) -> Self {
        self.concurrency = n.max(1);
        self
    }

    /// How long to listen for a service that speaks first on an accepted connection.
    pub fn greeting_wait(mut self, wait: Duration) -> Self {
        self.after = Arc::new(ReadGreeting { wait });
        self
    }

    /// WS-Discovery of each target beside its ports (`None`: not probed).
    pub fn discovery(mut self, d: Option<discovery::client::DiscoverySettings>) -> Self {
        self.discovery = d;
        self
    }

    /// SMB2 NEGOTIATE (the server's clock) and NetBIOS node status (its own name) of each
    /// address beside its ports, each bounded by the connect timeout (default: on).
    pub fn windows_checks(mut self, on: bool) -> Self {
        self.windows_checks = on;
        self
    }

    pub fn build(self) -> HostProbe {
        HostProbe {
            selection: self.selection,
            resolver: self.resolver,
            settings: {
                let fixed = EngineSettings::fixed(self.timeout, self.retries, self.concurrency);
                EngineSettings {
                    up_min_timeout: self
                        .up_min_timeout
                        .map_or(fixed.up_min_timeout, |t| t.min(self.timeout)),
                    ..fixed
                }
            },
            after: self.after,
            discovery: self.discovery,
            windows: self.windows_checks.then_some(self.timeout),
        }
    }
}

/// How named targets are probed.
#[derive(Clone)]
pub struct HostProbe {
    selection: Selection,
    resolver: Resolver,
    settings: EngineSettings,
    after: Arc<dyn AfterConnect>,
    discovery: Option<discovery::client::DiscoverySettings>,
    /// The Windows checks' time limit per exchange; `None`: not run.
    windows: Option<Duration>,
}

impl HostProbe {
    pub fn builder() -> HostProbeBuilder {
        HostProbeBuilder {
            selection: Selection::default(),
            resolver: Resolver::system(),
            timeout: platform::DEFAULT_CONNECT_TIMEOUT,
            retries: 1,
            up_min_timeout: None,
            concurrency: 512,
            after: Arc::new(ReadGreeting {
                wait: greeting::DEFAULT_WAIT,
            }),
            discovery: Some(discovery::client::DiscoverySettings::default()),
            windows_checks: true,
        }
    }

    /// Every target at once; each observation comes out, with the target's index, as soon as
    /// the target is decided.
    pub fn observe_all<'a>(
        &'a self,
        targets: &'a [Target],
    ) -> impl Stream<Item = (usize, HostObservation)> + 'a {
        targets
            .iter()
            .enumerate()
            .map(|(i, t)| async move { (i, self.observe(t).await) })
            .collect::<FuturesUnordered<_>>()
    }

    /// One target: its resolution, then its ports and its WS-Discovery probe side by side.
    pub async fn observe(&self, t: &Target) -> HostObservation {
        self.observe_with(t, |_| {}).await
    }

    /// As [`Self::observe`], and `ports_done` sees the observation as soon as the ports are
    /// decided, before WS-Discovery (which may wait out its listening window) and the Windows
    /// checks complete it: its `discovery` is still `None` there, its `windows` empty. A report
    /// can put the TCP verdict on screen first.
    pub async fn observe_with(
        &self,
        t: &Target,
        ports_done: impl FnOnce(&HostObservation),
    ) -> HostObservation {
        let start = Instant::now();
        let resolution = self.resolver.resolve(t).await;
        let wsd = async {
            match &self.discovery {
                Some(d) if !resolution.addresses().is_empty() => {
                    Some(discovery::client::probe_host(resolution.addresses(), d).await)
                }
                _ => None,
            }
        };
        let windows = async {
            match self.windows {
                Some(limit) => windows_checks(resolution.addresses(), limit).await,
                None => Vec::new(),
            }
        };
        let ports = async {
            let addresses = self.probe_ports(t, &resolution).await;
            ports_done(&HostObservation {
                target: t.clone(),
                resolution: resolution.clone(),
                addresses: addresses.clone(),
                discovery: None,
                windows: Vec::new(),
                elapsed: start.elapsed(),
            });
            addresses
        };
        let (addresses, discovery, windows) = futures::join!(ports, wsd, windows);
        HostObservation {
            target: t.clone(),
            resolution,
            addresses,
            discovery,
            windows,
            elapsed: start.elapsed(),
        }
    }

    /// The ports of a host whose discovery was already observed (`--discover` found it).
    pub async fn observe_found(&self, found: FoundHost) -> HostObservation {
        let start = Instant::now();
        let addresses = self.probe_ports(&found.target, &found.resolution).await;
        HostObservation {
            target: found.target,
            resolution: found.resolution,
            addresses,
            discovery: Some(found.discovery),
            windows: Vec::new(),
            elapsed: start.elapsed(),
        }
    }

    /// Every planned port of every address, through the engine.
    async fn probe_ports(
        &self,
        target: &Target,
        resolution: &Resolution,
    ) -> Vec<AddressObservation> {
        let plan = self.selection.plan(target.is_app_service(), target.port);
        let ports: Vec<_> = plan.iter().map(|p| p.port).collect();
        let results = engine::probe_addresses(
            resolution.addresses(),
            &ports,
            self.settings,
            self.after.clone(),
        )
        .await;
        resolution
            .addresses()
            .iter()
            .zip(results)
            .map(|(a, results)| AddressObservation {
                address: *a,
                ports: plan
                    .iter()
                    .cloned()
                    .zip(results)
                    .map(|(planned, result)| PortObservation { planned, result })
                    .collect(),
            })
            .collect()
    }
}

/// SMB2 NEGOTIATE and NetBIOS node status of every address at once, each exchange within
/// `limit`: a host that answers is done in a round trip or two, one that drops them costs
/// `limit`, no more than a silent debugger port.
async fn windows_checks(addresses: &[Address], limit: Duration) -> Vec<WindowsObservation> {
    let each = addresses.iter().map(|a| async move {
        let (smb2, netbios) = futures::join!(
            smb2::negotiate(SocketAddr::new(a.ip, smb2::SMB2_PORT), limit),
            nbstat::node_status(SocketAddr::new(a.ip, nbstat::NBNS_PORT), limit),
        );
        WindowsObservation {
            ip: a.ip,
            smb2,
            netbios,
        }
    });
    futures::future::join_all(each).await
}
