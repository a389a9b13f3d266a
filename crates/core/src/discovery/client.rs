//! The WS-Discovery side of the sockets: the discovery probe of one target (part of the default
//! host probe) and `--discover` (every responder on the link). Sending, listening and ICMP are
//! [`crate::probe::udp`]'s; the Probes, where they go, and what the replies mean are here.
//!
//! Choices, and why:
//! - **Multicast only on the link**: a target in the subnet (or IPv6 prefix, or zone) of an
//!   interface that is up and multicast-capable gets the Probes multicast there, TTL / hop
//!   limit 1, loop off, and only replies whose source is the target count. Windows answers nothing
//!   else: it does not take unicast Probes (WSDAPI docs). Every target also gets the Probes by
//!   unicast to port 3702, for responders that take them (python wsdiscovery, WCF, devices).
//! - **Four Probes**: 2005/04 and 2009, each without Types and with `Device` (wsdd ignores the
//!   first), once per route, each with its own MessageID, repeated as [`super::schedule`] says.
//! - **Listening window**: [`DiscoverySettings::wait`] (default [`DEFAULT_WAIT`], 3 s) after the first
//!   Probe when it was multicast: Windows answers within 2.5 s (its firewall drops a reply later
//!   than 4 s). A target reached only by unicast (off the link, or this machine) is listened for
//!   at most [`UNICAST_WAIT`]: the responders that take unicast answer within APP_MAX_DELAY
//!   (500 ms) of the last repeat, and the slow one, Windows, would not answer at all.
//! - **Early stop**: once the target has answered, listening goes on for [`GRACE`] only (the
//!   other services of the same host answer within the same APP_MAX_DELAY), and at once when
//!   every address of the target refused UDP 3702 with ICMP (Linux names the ICMP through
//!   IP_RECVERR), so a closed host costs one round trip here as it does for TCP; also at once
//!   when the target has answered every Probe sent one way (our own stand-in does).

use std::net::{IpAddr, SocketAddr, SocketAddrV6};
use std::time::Duration;

use super::collect::{Collector, Offer, SentProbe};
use super::message::{Probe, ProbeKind, Version};
use super::schedule::{self, MULTICAST_REPEAT, UNICAST_REPEAT};
use super::{
    AddressReach, DiscoveryObservation, DiscoveryStatus, Ignored, Reach, Responder, RouteKind,
    RouteRecord, GROUP_V4, GROUP_V6, PORT,
};
use crate::platform::{self, Interface};
use crate::probe::udp::{self, Heard, UdpExchange};
use crate::probe::{IcmpDetail, IcmpKind};
use crate::resolve::{AddressSource, Addresses, Resolution};
use crate::target::{Address, Host, Target};

/// Listening window after the first multicast Probe (Windows answers within 2.5 s).
pub const DEFAULT_WAIT: Duration = Duration::from_secs(3);
/// Longest listening window for a target reached only by unicast.
pub const UNICAST_WAIT: Duration = Duration::from_secs(1);
/// How long to go on listening once the target answered: WS-Discovery's APP_MAX_DELAY.
pub const GRACE: Duration = Duration::from_millis(500);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DiscoverySettings {
    /// Listening window after the first Probe (for multicast; unicast-only is capped at
    /// `UNICAST_WAIT`, 1 s).
    pub wait: Duration,
}

impl Default for DiscoverySettings {
    fn default() -> Self {
        DiscoverySettings { wait: DEFAULT_WAIT }
    }
}

/// Where `addr` is, given this machine's interfaces.
pub fn reach_of(addr: &Address, ifaces: &[Interface]) -> Reach {
    let ip = addr.ip;
    if ip.is_loopback() || ifaces.iter().any(|i| i.addrs.iter().any(|a| a.ip == ip)) {
        return Reach::ThisMachine;
    }
    let on = |i: &Interface| Reach::OnLink {
        interface: i.name.clone(),
        index: i.index,
        multicast: i.multicasts()
            && match ip {
                IpAddr::V4(_) => i.ipv4().is_some(),
                IpAddr::V6(_) => i.has_ipv6(),
            },
    };
    if let IpAddr::V6(v6) = ip {
        if (v6.segments()[0] & 0xffc0) == 0xfe80 {
            // A link-local address is on the link of its zone, and nowhere without one.
            return match ifaces
                .iter()
                .find(|i| addr.scope_id != 0 && i.index == addr.scope_id)
            {
                Some(i) => on(i),
                None => Reach::OffLink,
            };
        }
    }
    ifaces
        .iter()
        .filter(|i| i.up && !i.loopback)
        .find(|i| {
            i.addrs
                .iter()
                .any(|a| a.prefix > 0 && same_prefix(a.ip, ip, a.prefix))
        })
        .map(on)
        .unwrap_or(Reach::OffLink)
}

fn same_prefix(a: IpAddr, b: IpAddr, prefix: u8) -> bool {
    match (a, b) {
        (IpAddr::V4(a), IpAddr::V4(b)) if prefix <= 32 => {
            let mask = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
            u32::from(a) & mask == u32::from(b) & mask
        }
        (IpAddr::V6(a), IpAddr::V6(b)) if prefix <= 128 => {
            let mask = u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0);
            u128::from(a) & mask == u128::from(b) & mask
        }
        _ => false,
    }
}

/// One way the Probes go out: the runner's route, and what it is to WS-Discovery.
struct Route {
    kind: RouteKind,
    /// The target address this route serves.
    address: Address,
    /// Its payloads are filled in by [`run`], which numbers the routes.
    send: udp::Route,
}

fn multicast_route(
    address: Address,
    iface: &Interface,
    ipv6: bool,
    rng: &mut fastrand::Rng,
) -> Route {
    let destination = if ipv6 {
        SocketAddr::V6(SocketAddrV6::new(GROUP_V6, PORT, 0, iface.index))
    } else {
        SocketAddr::new(IpAddr::V4(GROUP_V4), PORT)
    };
    let interface = udp::MulticastInterface {
        index: iface.index,
        name: iface.name.clone(),
        ipv4: iface.ipv4(),
    };
    Route {
        kind: RouteKind::Multicast,
        address,
        send: udp::Route::new(
            destination,
            Some(interface),
            schedule::offsets(MULTICAST_REPEAT, rng),
            Vec::new(),
        ),
    }
}

fn unicast_route(address: Address, rng: &mut fastrand::Rng) -> Route {
    Route {
        kind: RouteKind::Unicast,
        address,
        send: udp::Route::new(
            address.socket_addr(crate::catalog::Port(PORT)),
            None,
            schedule::offsets(UNICAST_REPEAT, rng),
            Vec::new(),
        ),
    }
}

/// The Probes of one route: both versions, with and without Types.
fn probes_for(route: RouteKind, group: usize) -> Vec<(Probe, SentProbe)> {
    let mut out = Vec::new();
    for version in Version::ALL {
        for kind in ProbeKind::ALL {
            let p = Probe::new(version, kind);
            let s = SentProbe {
                id: p.message_id.clone(),
                route,
                version,
                kind,
                group,
            };
            out.push((p, s));
        }
    }
    out
}

/// The [`Collector`] as the runner's exchange. Only the host probe waits for something: a new
/// responder starts the grace, and every Probe of one route answered ends the listening (our own
/// stand-in answers them all). `--discover` keeps every reply for the whole window.
struct Listener {
    collector: Collector,
    host_probe: bool,
}

impl UdpExchange for Listener {
    fn offer(&mut self, from: SocketAddr, bytes: &[u8], at: Duration) -> Heard {
        match self.collector.offer(from, bytes, at) {
            Offer::Ignored => Heard::Ignored,
            Offer::NewResponder if self.host_probe => Heard::First,
            Offer::NewResponder | Offer::Known => Heard::Reply,
        }
    }

    fn satisfied(&self) -> bool {
        self.host_probe && self.collector.all_answered()
    }
}

/// What a run of Probes and listening produced.
struct RunOutcome {
    routes: Vec<RouteRecord>,
    responders: Vec<Responder>,
    ignored: Ignored,
    icmp: Vec<(Address, IcmpDetail)>,
    elapsed: Duration,
    stopped_early: bool,
    socket_error: Option<String>,
}

/// Sends every route's Probes on schedule and listens until `wait` has passed since the first
/// send, or earlier as the target's answers allow (`targets` set: the host probe).
async fn run(routes: Vec<Route>, targets: Option<Vec<Address>>, wait: Duration) -> RunOutcome {
    // Each route has Probes of its own: responders drop a MessageID they have seen (wsdd keeps
    // the last ten), so the same Probe sent over IPv4 and IPv6, or on two interfaces, would be
    // answered only once.
    let mut sent: Vec<SentProbe> = Vec::new();
    let mut about = Vec::new();
    let mut sends = Vec::new();
    for (i, mut r) in routes.into_iter().enumerate() {
        for (p, s) in probes_for(r.kind, i) {
            r.send.payloads.push(p.to_xml().into_bytes());
            sent.push(s);
        }
        about.push((r.kind, r.address));
        sends.push(r.send);
    }
    let mut listener = Listener {
        collector: Collector::new(sent, targets.clone()),
        host_probe: targets.is_some(),
    };
    let window = udp::Window { wait, grace: GRACE };
    let targets = targets.unwrap_or_default();
    let out = udp::run(&mut sends, &targets, window, &mut listener).await;
    let (responders, ignored) = listener.collector.into_parts();
    let routes = about
        .into_iter()
        .zip(sends)
        .map(|((kind, address), s)| RouteRecord {
            kind,
            address,
            destination: s.destination,
            interface: s.multicast.map(|m| m.name),
            datagrams: s.sent,
            error: s.error,
        })
        .collect();
    RunOutcome {
        routes,
        responders,
        ignored,
        icmp: out.icmp,
        elapsed: out.elapsed,
        stopped_early: out.stopped_early,
        socket_error: out.socket_error,
    }
}

/// The discovery probe of one target's addresses.
pub async fn probe_host(
    addresses: &[Address],
    settings: &DiscoverySettings,
) -> DiscoveryObservation {
    let ifaces = platform::interfaces().unwrap_or_default();
    probe_host_with(addresses, &ifaces, settings).await
}

/// [`probe_host`] with the interfaces given (tests give loopback-only ones).
pub async fn probe_host_with(
    addresses: &[Address],
    ifaces: &[Interface],
    settings: &DiscoverySettings,
) -> DiscoveryObservation {
    let mut rng = fastrand::Rng::new();
    let mut reach = Vec::new();
    let mut routes = Vec::new();
    for a in addresses {
        let r = reach_of(a, ifaces);
        if let Reach::OnLink {
            index,
            multicast: true,
            ..
        } = &r
        {
            if let Some(i) = ifaces.iter().find(|i| i.index == *index) {
                routes.push(multicast_route(*a, i, a.ip.is_ipv6(), &mut rng));
            }
        }
        routes.push(unicast_route(*a, &mut rng));
        reach.push(AddressReach {
            address: *a,
            reach: r,
            icmp: None,
        });
    }
    let multicast = routes.iter().any(|r| r.kind == RouteKind::Multicast);
    let wait = if multicast {
        settings.wait
    } else {
        settings.wait.min(UNICAST_WAIT)
    };
    let out = run(routes, Some(addresses.to_vec()), wait).await;
    for (a, d) in &out.icmp {
        if let Some(r) = reach.iter_mut().find(|r| r.address == *a) {
            r.icmp = Some(*d);
        }
    }
    let status = status_of(&out, &reach);
    let error = match status {
        DiscoveryStatus::Failed => out
            .socket_error
            .clone()
            .or_else(|| out.routes.iter().find_map(|r| r.error.clone())),
        _ => None,
    };
    DiscoveryObservation {
        status,
        addresses: reach,
        routes: out.routes,
        responders: out.responders,
        ignored: out.ignored,
        error,
        wait,
        elapsed: out.elapsed,
        stopped_early: out.stopped_early,
    }
}

fn status_of(out: &RunOutcome, reach: &[AddressReach]) -> DiscoveryStatus {
    if out.responders.iter().any(|r| !r.empty) {
        DiscoveryStatus::Answered
    } else if !out.responders.is_empty() {
        DiscoveryStatus::NoMatch
    } else if out.routes.iter().all(|r| r.datagrams == 0) {
        DiscoveryStatus::Failed
    } else if !reach.is_empty() && reach.iter().all(|r| r.icmp.is_some()) {
        let port_unreachable = reach.iter().any(|r| {
            r.icmp.is_some_and(|i| {
                i.kind == IcmpKind::PortUnreachable
                    && (i.from.is_none() || i.from == Some(r.address.ip))
            })
        });
        if port_unreachable {
            DiscoveryStatus::Closed
        } else {
            DiscoveryStatus::Rejected
        }
    } else {
        DiscoveryStatus::NoReply
    }
}

/// What `--discover` saw on the link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiscoverRun {
    pub interfaces: Vec<Interface>,
    pub routes: Vec<RouteRecord>,
    pub responders: Vec<Responder>,
    pub ignored: Ignored,
    pub wait: Duration,
    pub elapsed: Duration,
}

/// Why `--discover` has no interface to multicast on; names the usable ones.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InterfaceError {
    /// None is up, multicast-capable, not loopback and with an address.
    NoneUsable,
    NoSuchInterface {
        name: String,
        usable: Vec<String>,
    },
    CannotMulticast {
        name: String,
        usable: Vec<String>,
    },
}

impl std::fmt::Display for InterfaceError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let usable = |u: &[String]| {
            if u.is_empty() {
                "none here".to_string()
            } else {
                u.join(", ")
            }
        };
        match self {
            InterfaceError::NoneUsable => f.write_str(
                "no interface to multicast on: none is up, multicast-capable and not loopback (usable: none here)",
            ),
            InterfaceError::NoSuchInterface { name, usable: u } => write!(
                f,
                "no network interface named '{name}'; usable for --discover: {}",
                usable(u)
            ),
            InterfaceError::CannotMulticast { name, usable: u } => write!(
                f,
                "interface '{name}' cannot multicast (it must be up, multicast-capable, not loopback, with an address); usable: {}",
                usable(u)
            ),
        }
    }
}

impl std::error::Error for InterfaceError {}

/// The interfaces `--discover` multicasts on: the named ones, or every one that is up,
/// multicast-capable and not loopback. A name that is not there, or cannot multicast, is an
/// error that names it and the usable ones.
pub fn discover_interfaces(
    all: &[Interface],
    names: &[String],
) -> Result<Vec<Interface>, InterfaceError> {
    let usable: Vec<&Interface> = all
        .iter()
        .filter(|i| i.multicasts() && !i.addrs.is_empty())
        .collect();
    let usable_names = || usable.iter().map(|i| i.name.clone()).collect::<Vec<_>>();
    if names.is_empty() {
        if usable.is_empty() {
            return Err(InterfaceError::NoneUsable);
        }
        return Ok(usable.into_iter().cloned().collect());
    }
    names
        .iter()
        .map(|n| match all.iter().find(|i| &i.name == n) {
            None => Err(InterfaceError::NoSuchInterface {
                name: n.clone(),
                usable: usable_names(),
            }),
            Some(i) if !i.multicasts() || i.addrs.is_empty() => {
                Err(InterfaceError::CannotMulticast {
                    name: n.clone(),
                    usable: usable_names(),
                })
            }
            Some(i) => Ok(i.clone()),
        })
        .collect()
}

/// The Find dialog's job: multicast the Probes on each interface (IPv4 where it has an IPv4
/// address, IPv6 where it has an IPv6 one) and keep every reply to them for the whole window.
pub async fn discover(interfaces: &[Interface], settings: &DiscoverySettings) -> DiscoverRun {
    let mut rng = fastrand::Rng::new();
    let mut routes = Vec::new();
    for i in interfaces {
        let here = Address::new(i.addrs[0].ip);
        if i.ipv4().is_some() {
            routes.push(multicast_route(here, i, false, &mut rng));
        }
        if i.has_ipv6() {
            routes.push(multicast_route(here, i, true, &mut rng));
        }
    }
    let out = run(routes, None, settings.wait).await;
    DiscoverRun {
        interfaces: interfaces.to_vec(),
        routes: out.routes,
        responders: out.responders,
        ignored: out.ignored,
        wait: settings.wait,
        elapsed: out.elapsed,
    }
}

/// One machine `--discover` found: every address it answered from (an endpoint reference that
/// answers over IPv4 and IPv6 is one machine), as a target to probe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FoundHost {
    pub target: Target,
    pub resolution: Resolution,
    pub discovery: DiscoveryObservation,
}

/// Responders grouped into machines: two responders are the same machine when they share a
/// source address (the zone counts: `fe80::1` on two links is two machines) or an endpoint
/// reference, and so on transitively, so a machine's empty answer from its link-local address
/// (which carries no endpoint) joins its IPv4 answer through the full answer from that same
/// link-local address. Each group's responders are in address order (IPv4 first), and the
/// groups in the order of their first address: the listing is the same whatever order the
/// replies came in. Linear in the responders (a busy link has thousands).
fn machines(responders: &[Responder]) -> Vec<Vec<usize>> {
    use std::collections::HashMap;
    fn root(parent: &mut [usize], mut i: usize) -> usize {
        while parent[i] != i {
            parent[i] = parent[parent[i]];
            i = parent[i];
        }
        i
    }
    let mut parent: Vec<usize> = (0..responders.len()).collect();
    let mut by_address: HashMap<Address, usize> = HashMap::new();
    let mut by_endpoint: HashMap<&str, usize> = HashMap::new();
    for (i, r) in responders.iter().enumerate() {
        let join = |j: usize, parent: &mut Vec<usize>| {
            let (a, b) = (root(parent, i), root(parent, j));
            parent[a.max(b)] = a.min(b);
        };
        match by_address.entry(source_address(r.source)) {
            std::collections::hash_map::Entry::Occupied(e) => join(*e.get(), &mut parent),
            std::collections::hash_map::Entry::Vacant(e) => {
                e.insert(i);
            }
        }
        if let Some(ep) = r.endpoint.as_deref() {
            match by_endpoint.entry(ep) {
                std::collections::hash_map::Entry::Occupied(e) => join(*e.get(), &mut parent),
                std::collections::hash_map::Entry::Vacant(e) => {
                    e.insert(i);
                }
            }
        }
    }
    let mut groups: HashMap<usize, Vec<usize>> = HashMap::new();
    for i in 0..responders.len() {
        let r = root(&mut parent, i);
        groups.entry(r).or_default().push(i);
    }
    let key = |i: &usize| (source_address(responders[*i].source), *i);
    let mut groups: Vec<Vec<usize>> = groups
        .into_values()
        .map(|mut g| {
            g.sort_by_key(key);
            g
        })
        .collect();
    groups.sort_by_key(|g| key(&g[0]));
    groups
}

impl DiscoverRun {
    /// The responding machines, each with the discovery observation a host probe would have made
    /// of it; its addresses in order, IPv4 first.
    pub fn hosts(&self) -> Vec<FoundHost> {
        machines(&self.responders)
            .into_iter()
            .map(|g| {
                let responders: Vec<Responder> =
                    g.iter().map(|&i| self.responders[i].clone()).collect();
                let mut addresses: Vec<Address> = Vec::new();
                for r in &responders {
                    let a = source_address(r.source);
                    if !addresses.contains(&a) {
                        addresses.push(a);
                    }
                }
                let reach: Vec<AddressReach> = addresses
                    .iter()
                    .map(|a| AddressReach {
                        address: *a,
                        reach: match self
                            .interfaces
                            .iter()
                            .find(|i| reach_of(a, std::slice::from_ref(i)) != Reach::OffLink)
                        {
                            Some(i) => Reach::OnLink {
                                interface: i.name.clone(),
                                index: i.index,
                                multicast: true,
                            },
                            None => Reach::OffLink,
                        },
                        icmp: None,
                    })
                    .collect();
                let first = addresses[0];
                DiscoveryObservation {
                    status: if responders.iter().any(|r| !r.empty) {
                        DiscoveryStatus::Answered
                    } else {
                        DiscoveryStatus::NoMatch
                    },
                    addresses: reach,
                    routes: self.routes.clone(),
                    responders,
                    ignored: Ignored::default(),
                    error: None,
                    wait: self.wait,
                    elapsed: self.elapsed,
                    stopped_early: false,
                }
                .into_found(first, addresses)
            })
            .collect()
    }
}

impl DiscoveryObservation {
    fn into_found(self, first: Address, addresses: Vec<Address>) -> FoundHost {
        FoundHost {
            target: Target {
                input: first.to_string(),
                host: Host::Literal(first),
                port: None,
            },
            resolution: Resolution::Found {
                source: AddressSource::Discovery,
                addresses: Addresses::new(addresses).expect("a responder has an address"),
            },
            discovery: self,
        }
    }
}

/// A reply's source as a target address: the zone is kept for IPv6 link-local only.
fn source_address(sa: SocketAddr) -> Address {
    let mut a = Address::from_socket_addr(sa);
    if let IpAddr::V6(v6) = a.ip {
        if (v6.segments()[0] & 0xffc0) != 0xfe80 {
            a.scope_id = 0;
        }
    }
    a
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::platform::IfAddr;

    fn iface(name: &str, index: u32, addrs: &[(&str, u8)], multicast: bool) -> Interface {
        Interface {
            name: name.into(),
            index,
            up: true,
            loopback: name == "lo",
            multicast,
            addrs: addrs
                .iter()
                .map(|(ip, prefix)| IfAddr {
                    ip: ip.parse().unwrap(),
                    prefix: *prefix,
                })
                .collect(),
        }
    }

    fn lan() -> Vec<Interface> {
        vec![
            iface("lo", 1, &[("127.0.0.1", 8), ("::1", 128)], false),
            iface(
                "eth0",
                2,
                &[("10.0.0.2", 24), ("fd00::2", 64), ("fe80::2", 64)],
                true,
            ),
            iface("tun0", 3, &[("172.16.0.2", 16)], false),
        ]
    }

    /// An address as the engine may meet it (a zoneless link-local one included, which
    /// `parse_target` refuses).
    fn addr(s: &str) -> Address {
        Address::new(s.parse().unwrap())
    }

    #[test]
    fn reach_follows_subnets_prefixes_and_zones() {
        let l = lan();
        assert_eq!(reach_of(&addr("127.77.0.9"), &l), Reach::ThisMachine);
        assert_eq!(reach_of(&addr("10.0.0.2"), &l), Reach::ThisMachine);
        let eth0 = Reach::OnLink {
            interface: "eth0".into(),
            index: 2,
            multicast: true,
        };
        assert_eq!(reach_of(&addr("10.0.0.5"), &l), eth0);
        assert_eq!(reach_of(&addr("fd00::5"), &l), eth0);
        assert_eq!(reach_of(&addr("10.0.1.5"), &l), Reach::OffLink);
        assert_eq!(reach_of(&addr("8.8.8.8"), &l), Reach::OffLink);
        // On a link without multicast: on the link, unicast only.
        assert_eq!(
            reach_of(&addr("172.16.9.9"), &l),
            Reach::OnLink {
                interface: "tun0".into(),
                index: 3,
                multicast: false
            }
        );
        let mut zoned = addr("fe80::5");
        assert_eq!(reach_of(&zoned, &l), Reach::OffLink, "no zone, no link");
        zoned.scope_id = 2;
        assert_eq!(reach_of(&zoned, &l), eth0);
    }

    /// A responder from `ip` (`%zone` as an interface index for link-local), with an endpoint
    /// reference or, like an empty ProbeMatches, without one.
    fn responder(ip: &str, zone: u32, endpoint: Option<&str>) -> Responder {
        let source = match ip.parse::<IpAddr>().unwrap() {
            IpAddr::V4(v4) => SocketAddr::new(IpAddr::V4(v4), PORT),
            IpAddr::V6(v6) => SocketAddr::V6(SocketAddrV6::new(v6, PORT, 0, zone)),
        };
        Responder {
            source,
            version: Version::V2005,
            endpoint: endpoint.map(String::from),
            types: vec![],
            scopes: vec![],
            xaddrs: vec![],
            metadata_version: None,
            empty: endpoint.is_none(),
            answered: Default::default(),
            datagrams: 1,
            first_reply: Duration::ZERO,
            truncated: false,
            classification: super::super::classify::classify(endpoint.is_none(), &[], &[], &[]),
        }
    }

    /// A machine's empty answer from its link-local address has no endpoint; its full answer
    /// from the same address shares the endpoint of its IPv4 answer: one machine, whatever the
    /// order the replies came in, its IPv4 address first.
    #[test]
    fn a_dual_stack_endpoint_is_one_machine_in_any_order() {
        let rs = [
            responder("fe80::5", 2, None),
            responder("fe80::5", 2, Some("urn:uuid:1")),
            responder("10.0.0.5", 0, Some("urn:uuid:1")),
        ];
        for order in [[0, 1, 2], [2, 0, 1], [0, 2, 1], [1, 2, 0]] {
            let shuffled: Vec<Responder> = order.iter().map(|&i| rs[i].clone()).collect();
            let groups = machines(&shuffled);
            assert_eq!(groups.len(), 1, "{order:?}: {groups:?}");
            let first = &shuffled[groups[0][0]];
            assert_eq!(first.source.ip().to_string(), "10.0.0.5", "{order:?}");
        }
        // A responder that bridges two groups formed before it merges them.
        let bridged = [
            responder("10.0.0.7", 0, Some("urn:uuid:a")),
            responder("fe80::7", 2, Some("urn:uuid:b")),
            responder("fe80::7", 2, Some("urn:uuid:a")),
        ];
        assert_eq!(machines(&bridged), [vec![0, 1, 2]]);
    }

    /// The same link-local address on two links is two machines; different endpoints from
    /// different addresses are different machines, listed by address.
    #[test]
    fn zones_and_endpoints_keep_machines_apart() {
        let rs = [
            responder("10.0.0.9", 0, Some("urn:uuid:9")),
            responder("fe80::1", 3, None),
            responder("fe80::1", 2, None),
            responder("10.0.0.10", 0, Some("urn:uuid:10")),
            responder("10.0.0.5", 0, Some("urn:uuid:5")),
        ];
        assert_eq!(
            machines(&rs),
            [vec![4], vec![0], vec![3], vec![2], vec![1]],
            "10.0.0.5, 10.0.0.9, 10.0.0.10, fe80::1%2, fe80::1%3"
        );
    }

    #[test]
    fn discover_picks_usable_interfaces_and_names_bad_ones() {
        let l = lan();
        let got = discover_interfaces(&l, &[]).unwrap();
        assert_eq!(
            got.iter().map(|i| i.name.as_str()).collect::<Vec<_>>(),
            ["eth0"]
        );
        assert_eq!(
            discover_interfaces(&l, &["wlan9".into()]),
            Err(InterfaceError::NoSuchInterface {
                name: "wlan9".into(),
                usable: vec!["eth0".into()]
            })
        );
        assert_eq!(
            discover_interfaces(&l, &["lo".into()]),
            Err(InterfaceError::CannotMulticast {
                name: "lo".into(),
                usable: vec!["eth0".into()]
            })
        );
        assert_eq!(
            discover_interfaces(&l[..1], &[]),
            Err(InterfaceError::NoneUsable)
        );
    }

    /// Loopback only: nothing listens on UDP 3702 of this test's own address, so the unicast
    /// Probe draws an ICMP port unreachable and the probe ends at once instead of waiting.
    #[tokio::test]
    async fn a_closed_port_ends_the_probe_without_waiting() {
        let ip: IpAddr = "127.78.0.1".parse().unwrap();
        // Nothing may listen there; binding proves it (and fails loudly if something does).
        drop(std::net::UdpSocket::bind((ip, PORT)).expect("UDP 3702 on 127.78.0.1 is free"));
        let settings = DiscoverySettings {
            wait: Duration::from_secs(5),
        };
        let obs = probe_host_with(&[Address::new(ip)], &[], &settings).await;
        assert_eq!(obs.routes.len(), 1, "loopback gets only the unicast Probes");
        assert_eq!(obs.routes[0].kind, RouteKind::Unicast);
        assert_eq!(obs.wait, UNICAST_WAIT);
        assert!(obs.routes[0].datagrams >= 1, "{:?}", obs.routes);
        if cfg!(target_os = "linux") {
            assert_eq!(obs.status, DiscoveryStatus::Closed, "{obs:?}");
            assert!(obs.stopped_early);
            assert!(
                obs.elapsed < Duration::from_millis(500),
                "{:?}",
                obs.elapsed
            );
            let icmp = obs.addresses[0].icmp.unwrap();
            assert_eq!(icmp.kind, IcmpKind::PortUnreachable);
            assert_eq!(icmp.from, Some(ip));
        }
    }
}
