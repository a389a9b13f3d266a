//! Observations built by hand, the shape the engine produces, without sockets: for this crate's
//! tests and, with the `fixtures` feature, the binary's report tests. One builder, so a change to
//! what an observation holds is made here once.

use std::time::Duration;

use crate::catalog::{Release, Selection};
use crate::discovery::collect::{Collector, SentProbe};
use crate::discovery::{
    AddressReach, DiscoveryObservation, DiscoveryStatus, ProbeKind, Reach, RouteKind, RouteRecord,
    Version,
};
use crate::observation::{
    AddressObservation, HostObservation, PortObservation, WindowsObservation,
};
use crate::platform::IcmpReport;
use crate::probe::nbstat::{NbName, NodeStatus};
use crate::probe::smb2::{ClockSkew, Negotiated, Smb2Reading};
use crate::probe::{conclude, Attempt};
use crate::resolve::{AddressSource, Addresses, Resolution, ResolveError};
use crate::target::{parse_target, Address, Host};

/// A handshake completed in 300 µs, nothing said.
pub fn open() -> Attempt {
    Attempt::Accepted {
        rtt: Duration::from_micros(300),
        greeting: None,
    }
}

/// A reset in 100 µs.
pub fn refused() -> Attempt {
    Attempt::Refused {
        rtt: Duration::from_micros(100),
    }
}

/// An ICMPv4 destination unreachable with `code`, sent by `from`, as this machine (10.0.0.2)
/// received it in 400 µs.
pub fn icmp(code: u8, from: &str) -> Attempt {
    Attempt::Icmp {
        rtt: Duration::from_micros(400),
        report: IcmpReport {
            v6: false,
            icmp_type: 3,
            code,
            offender: Some(from.parse().expect("an address")),
        },
        local: Some("10.0.0.2".parse().expect("an address")),
    }
}

/// Every default port answering with `a`.
pub fn every_port(a: Attempt) -> Vec<(u16, Attempt)> {
    Selection::default()
        .plan(false, None)
        .iter()
        .map(|p| (p.port.0, a.clone()))
        .collect()
}

/// The observation of one target.
pub struct Observe {
    target: String,
    selection: Selection,
    addresses: Vec<(String, Vec<(u16, Attempt)>)>,
    attempts: u32,
}

/// The observation of `target` (as typed: a name, an address, `host:port`), by default with the
/// catalog's default ports, one attempt each, and every port not given refused.
pub fn observe(target: &str) -> Observe {
    Observe {
        target: target.to_string(),
        selection: Selection::default(),
        addresses: Vec::new(),
        attempts: 1,
    }
}

impl Observe {
    /// Probe only these releases' ports.
    pub fn releases(mut self, keys: &[&str]) -> Self {
        self.selection.releases = Some(
            keys.iter()
                .map(|k| Release::find(k).expect("a catalog key"))
                .collect(),
        );
        self
    }

    /// How many attempts every port took.
    pub fn attempts(mut self, n: u32) -> Self {
        self.attempts = n;
        self
    }

    /// An address of the target, with what some of its ports answered (the rest refuse).
    pub fn address(mut self, ip: &str, ports: Vec<(u16, Attempt)>) -> Self {
        self.addresses.push((ip.to_string(), ports));
        self
    }

    pub fn build(self) -> HostObservation {
        let t = parse_target(&self.target).expect("a valid target");
        let plan = self.selection.plan(t.is_app_service(), t.port);
        let addresses: Vec<AddressObservation> = self
            .addresses
            .iter()
            .map(|(ip, answers)| {
                let address = Address::new(ip.parse().expect("an IP address"));
                let ports = plan
                    .iter()
                    .map(|p| {
                        let a = answers
                            .iter()
                            .find(|(port, _)| *port == p.port.0)
                            .map_or_else(refused, |(_, a)| a.clone());
                        PortObservation {
                            planned: p.clone(),
                            result: conclude(&a, address.ip, self.attempts),
                        }
                    })
                    .collect();
                AddressObservation { address, ports }
            })
            .collect();
        let found = Addresses::new(addresses.iter().map(|a| a.address));
        let resolution = match (&t.host, found) {
            (Host::Literal(a), _) => Resolution::Literal(*a),
            (Host::Name(_), Some(addresses)) => Resolution::Found {
                source: AddressSource::System,
                addresses,
            },
            (Host::Name(_), None) => Resolution::Failed {
                source: AddressSource::System,
                error: ResolveError::NoSuchName,
            },
        };
        HostObservation {
            target: t,
            resolution,
            addresses,
            discovery: None,
            windows: Vec::new(),
            elapsed: Duration::from_millis(3),
        }
    }
}

/// What a Samba or Windows host at `ip` answers to the Windows checks: SMB2 3.0.2 with its
/// clock `skew_ms` off ours (±1 ms), and a node status naming `computer` in `group`.
pub fn windows(ip: &str, skew_ms: i64, computer: &str, group: &str) -> WindowsObservation {
    let name = |name: &str, group: bool| NbName {
        name: name.to_string(),
        suffix: 0,
        group,
    };
    WindowsObservation {
        ip: ip.parse().expect("an IP address"),
        smb2: Ok(Smb2Reading {
            negotiated: Negotiated {
                dialect: 0x0302,
                signing_required: false,
                server_time_ms: Some(1_796_230_800_000 + skew_ms),
            },
            clock: Some(ClockSkew {
                skew_ms,
                uncertainty_ms: 1,
            }),
        }),
        netbios: Ok(NodeStatus {
            computer: Some(computer.to_string()),
            group: Some(group.to_string()),
            domain_controller: false,
            names: vec![name(computer, false), name(group, true)],
        }),
    }
}

/// `target` at `addrs`, each with what some of its ports answered (the rest refuse): the
/// catalog's default ports, one attempt each.
pub fn host(target: &str, addrs: &[(&str, Vec<(u16, Attempt)>)]) -> HostObservation {
    host_with(target, addrs, 1)
}

/// [`host`] with `attempts` per port.
pub fn host_with(
    target: &str,
    addrs: &[(&str, Vec<(u16, Attempt)>)],
    attempts: u32,
) -> HostObservation {
    addrs
        .iter()
        .fold(observe(target).attempts(attempts), |o, (ip, ports)| {
            o.address(ip, ports.clone())
        })
        .build()
}

/// On `eth0` (index 2), multicast-capable: where a LAN target is.
pub fn eth0() -> Reach {
    Reach::OnLink {
        interface: "eth0".into(),
        index: 2,
        multicast: true,
    }
}

/// The WS-Discovery probe of 10.0.0.5, reached `reach`, whose `replies` (real samples, fed through
/// the real collector) answer the multicast Probe `probe_id`.
pub fn discovery(
    status: DiscoveryStatus,
    reach: Reach,
    probe_id: &str,
    replies: &[&str],
) -> DiscoveryObservation {
    let a = Address::new("10.0.0.5".parse().expect("an address"));
    let mut c = Collector::new(
        vec![SentProbe {
            id: probe_id.into(),
            route: RouteKind::Multicast,
            version: Version::V2005,
            kind: ProbeKind::Device,
            group: 0,
        }],
        Some(vec![a]),
    );
    for r in replies {
        c.offer(
            "10.0.0.5:3702".parse().expect("an address"),
            r.as_bytes(),
            Duration::from_millis(5),
        );
    }
    let (mut responders, ignored) = c.into_parts();
    for r in &mut responders {
        // The stand-in's endpoint is a fresh UUID each time: one fixed value keeps reports stable.
        if r.endpoint
            .as_deref()
            .is_some_and(|e| e.starts_with("urn:uuid:"))
        {
            r.endpoint = Some("urn:uuid:00000000-0000-4000-8000-000000000000".into());
        }
    }
    let mut routes = vec![RouteRecord {
        kind: RouteKind::Unicast,
        address: a,
        destination: "10.0.0.5:3702".parse().expect("an address"),
        interface: None,
        datagrams: 8,
        error: None,
    }];
    if reach.multicasts() {
        routes.push(RouteRecord {
            kind: RouteKind::Multicast,
            address: a,
            destination: "239.255.255.250:3702".parse().expect("an address"),
            interface: Some("eth0".into()),
            datagrams: 16,
            error: None,
        });
    }
    DiscoveryObservation {
        status,
        addresses: vec![AddressReach {
            address: a,
            reach,
            icmp: None,
        }],
        routes,
        responders,
        ignored,
        error: None,
        wait: Duration::from_secs(3),
        elapsed: Duration::from_secs(3),
        stopped_early: false,
    }
}
