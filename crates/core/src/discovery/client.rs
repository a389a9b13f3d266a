//! The sockets side: the discovery probe of one target (part of the default host probe) and
//! `--discover` (every responder on the link).
//!
//! Choices, and why:
//! - **One unconnected UDP socket per family**, bound to an ephemeral port. Responders reply by
//!   unicast to the Probe's source address and port, python wsdiscovery from an ephemeral port of
//!   its own: a `connect()`ed socket would drop those replies (it does in nmap's unicast mode).
//! - **Multicast only on the link**: a target in the subnet (or IPv6 prefix, or zone) of an
//!   interface that is up and multicast-capable gets the Probes multicast there, TTL / hop
//!   limit 1, loop off, and only replies whose source is the target count. Windows answers nothing
//!   else: it does not take unicast Probes (WSDAPI docs). Every target also gets the Probes by
//!   unicast to port 3702, for responders that take them (python wsdiscovery, WCF, devices).
//! - **Four Probes**: 2005/04 and 2009, each without Types and with `Device` (wsdd ignores the
//!   first), once per route, each with its own MessageID, repeated as [`super::schedule`] says.
//! - **Listening window**: [`Settings::wait`] (default [`DEFAULT_WAIT`], 3 s) after the first
//!   Probe when it was multicast: Windows answers within 2.5 s (its firewall drops a reply later
//!   than 4 s). A target reached only by unicast (off the link, or this machine) is listened for
//!   at most [`UNICAST_WAIT`]: the responders that take unicast answer within APP_MAX_DELAY
//!   (500 ms) of the last repeat, and the slow one, Windows, would not answer at all.
//! - **Early stop**: once the target has answered, listening goes on for [`GRACE`] only (the
//!   other services of the same host answer within the same APP_MAX_DELAY), and at once when
//!   every address of the target refused UDP 3702 with ICMP (Linux names the ICMP through
//!   IP_RECVERR), so a closed host costs one round trip here as it does for TCP; also at once
//!   when the target has answered every Probe sent one way (our own stand-in does).

use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, SocketAddrV6};
use std::time::Duration;

use socket2::{Domain, Protocol, SockRef, Socket, Type};
use tokio::net::UdpSocket;
use tokio::time::Instant;

use super::collect::{Collector, Offer, SentProbe};
use super::message::{Probe, ProbeKind, Version, MAX_DATAGRAM};
use super::schedule::{self, MULTICAST_REPEAT, UNICAST_REPEAT};
use super::{
    AddressReach, DiscoveryObservation, DiscoveryStatus, Ignored, Reach, Responder, RouteKind,
    RouteRecord, GROUP_V4, GROUP_V6, PORT,
};
use crate::platform::{self, Interface};
use crate::probe::{IcmpDetail, IcmpKind};
use crate::resolve::{Resolution, Source};
use crate::target::{Address, Host, Target};

/// Listening window after the first multicast Probe (Windows answers within 2.5 s).
pub const DEFAULT_WAIT: Duration = Duration::from_secs(3);
/// Longest listening window for a target reached only by unicast.
pub const UNICAST_WAIT: Duration = Duration::from_secs(1);
/// How long to go on listening once the target answered: WS-Discovery's APP_MAX_DELAY.
pub const GRACE: Duration = Duration::from_millis(500);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Settings {
    /// Listening window after the first Probe (for multicast; unicast-only is capped at
    /// [`UNICAST_WAIT`]).
    pub wait: Duration,
}

impl Default for Settings {
    fn default() -> Self {
        Settings { wait: DEFAULT_WAIT }
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

/// One way the Probes go out, with its own repeat schedule.
struct Route {
    record: RouteRecord,
    /// For multicast: the interface index and its IPv4 address (the source to use).
    interface: Option<(u32, Option<Ipv4Addr>)>,
    offsets: Vec<Duration>,
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
    Route {
        record: RouteRecord {
            kind: RouteKind::Multicast,
            address,
            destination,
            interface: Some(iface.name.clone()),
            datagrams: 0,
            error: None,
        },
        interface: Some((iface.index, iface.ipv4())),
        offsets: schedule::offsets(MULTICAST_REPEAT, rng),
    }
}

fn unicast_route(address: Address, rng: &mut fastrand::Rng) -> Route {
    Route {
        record: RouteRecord {
            kind: RouteKind::Unicast,
            address,
            destination: address.socket_addr(crate::catalog::Port(PORT)),
            interface: None,
            datagrams: 0,
            error: None,
        },
        interface: None,
        offsets: schedule::offsets(UNICAST_REPEAT, rng),
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

/// Receive buffer asked for the discovery sockets.
const RECV_BUFFER: usize = 1 << 20;

/// An unconnected UDP socket of one family on an ephemeral port, set up for multicast on the
/// link only, and for ICMP errors where the platform reports them.
fn open_socket(ipv6: bool) -> io::Result<UdpSocket> {
    let domain = if ipv6 { Domain::IPV6 } else { Domain::IPV4 };
    let s = Socket::new(domain, Type::DGRAM, Some(Protocol::UDP))?;
    if ipv6 {
        s.set_only_v6(true)?;
        s.set_multicast_hops_v6(1)?;
        s.set_multicast_loop_v6(false)?;
    } else {
        s.set_multicast_ttl_v4(1)?;
        s.set_multicast_loop_v4(false)?;
    }
    platform::enable_icmp_errors(&s, ipv6);
    // Room for a burst of 64 KiB datagrams (a hostile responder's, or many real ones) without
    // the kernel dropping the real answers behind them; best effort, the system may cap it.
    let _ = s.set_recv_buffer_size(RECV_BUFFER);
    s.set_nonblocking(true)?;
    let any: SocketAddr = if ipv6 {
        (std::net::Ipv6Addr::UNSPECIFIED, 0).into()
    } else {
        (Ipv4Addr::UNSPECIFIED, 0).into()
    };
    s.bind(&any.into())?;
    UdpSocket::from_std(s.into())
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
async fn run(mut routes: Vec<Route>, targets: Option<Vec<Address>>, wait: Duration) -> RunOutcome {
    // Each route has Probes of its own: responders drop a MessageID they have seen (wsdd keeps
    // the last ten), so the same Probe sent over IPv4 and IPv6, or on two interfaces, would be
    // answered only once.
    let mut xml: Vec<Vec<String>> = Vec::new();
    let mut sent: Vec<SentProbe> = Vec::new();
    for (i, r) in routes.iter().enumerate() {
        let mut mine = Vec::new();
        for (p, s) in probes_for(r.record.kind, i) {
            mine.push(p.to_xml());
            sent.push(s);
        }
        xml.push(mine);
    }
    let mut collector = Collector::new(sent, targets.clone());

    let mut socket_error = None;
    let mut open = |v6: bool| -> Option<UdpSocket> {
        let needed = routes.iter().any(|r| r.record.destination.is_ipv6() == v6);
        if !needed {
            return None;
        }
        match open_socket(v6) {
            Ok(s) => Some(s),
            Err(e) => {
                let msg = format!(
                    "cannot open a UDP socket ({}): {e}",
                    if v6 { "IPv6" } else { "IPv4" }
                );
                for r in routes
                    .iter_mut()
                    .filter(|r| r.record.destination.is_ipv6() == v6)
                {
                    r.record.error.get_or_insert(msg.clone());
                }
                socket_error.get_or_insert(msg);
                None
            }
        }
    };
    let v4 = open(false);
    let v6 = open(true);

    // Every (offset, route) send, in time order.
    let mut events: Vec<(Duration, usize)> = routes
        .iter()
        .enumerate()
        .flat_map(|(i, r)| r.offsets.iter().map(move |o| (*o, i)))
        .collect();
    events.sort();

    let start = Instant::now();
    let mut deadline = start + wait;
    let mut next = 0;
    let mut buf4 = vec![0u8; MAX_DATAGRAM];
    let mut buf6 = vec![0u8; MAX_DATAGRAM];
    let mut icmp: Vec<(Address, IcmpDetail)> = Vec::new();
    let mut stopped_early = false;
    let mut answered: Vec<IpAddr> = Vec::new();
    let mut pending: Vec<(platform::IcmpReport, bool)> = Vec::new();

    loop {
        let now = Instant::now();
        while next < events.len() && start + events[next].0 <= now {
            let index = events[next].1;
            let r = &mut routes[index];
            let sock = if r.record.destination.is_ipv6() {
                v6.as_ref()
            } else {
                v4.as_ref()
            };
            if let Some(sock) = sock {
                let v6 = r.record.destination.is_ipv6();
                let reports = send_route(sock, r, &xml[index]).await;
                pending.extend(reports.into_iter().map(|rep| (rep, v6)));
            }
            next += 1;
        }
        if !pending.is_empty() {
            for (report, is_v6) in pending.drain(..) {
                let detail = IcmpDetail {
                    kind: IcmpKind::from_report(&report),
                    icmp_type: report.icmp_type,
                    code: report.code,
                    v6: report.v6,
                    from: report.offender,
                };
                if let Some(a) = attribute(&report.offender, is_v6, &routes, targets.as_deref()) {
                    if !icmp.iter().any(|(x, _)| *x == a) {
                        icmp.push((a, detail));
                    }
                }
            }
            // Every address refused and none answered: nothing more is coming.
            if let Some(t) = &targets {
                let done = t.iter().all(|a| icmp.iter().any(|(x, _)| x == a));
                if done && answered.is_empty() {
                    stopped_early = true;
                    break;
                }
            }
        }
        if now >= deadline {
            break;
        }
        // Nothing can arrive when nothing was sent.
        if next >= events.len() && routes.iter().all(|r| r.record.datagrams == 0) {
            break;
        }
        let wake = events
            .get(next)
            .map(|e| (start + e.0).min(deadline))
            .unwrap_or(deadline);
        let got = tokio::select! {
            r = recv(v4.as_ref(), &mut buf4) => Some((r, false)),
            r = recv(v6.as_ref(), &mut buf6) => Some((r, true)),
            _ = tokio::time::sleep_until(wake) => None,
        };
        let Some((result, is_v6)) = got else { continue };
        let at = start.elapsed();
        match result {
            Ok((n, from)) => {
                let data = if is_v6 { &buf6[..n] } else { &buf4[..n] };
                let offer = collector.offer(from, data, at);
                if offer == Offer::NewResponder && targets.is_some() {
                    answered.push(from.ip());
                    let soon = Instant::now() + GRACE;
                    if soon < deadline {
                        deadline = soon;
                        stopped_early = true;
                    }
                }
                // Every Probe of one route answered: nothing more is coming to wait for.
                if offer != Offer::Ignored && targets.is_some() && collector.all_answered() {
                    stopped_early = true;
                    break;
                }
            }
            Err(e) => {
                let sock = if is_v6 { v6.as_ref() } else { v4.as_ref() };
                if let Some(sock) = sock {
                    let reports = platform::udp_icmp_errors(SockRef::from(sock), &e, is_v6);
                    pending.extend(reports.into_iter().map(|rep| (rep, is_v6)));
                }
            }
        }
    }
    let (responders, ignored) = collector.into_parts();
    RunOutcome {
        routes: routes.into_iter().map(|r| r.record).collect(),
        responders,
        ignored,
        icmp,
        elapsed: start.elapsed(),
        stopped_early,
        socket_error,
    }
}

/// Which target address an ICMP error is about: its sender when that is a target address, or
/// else the one unicast destination of that family.
fn attribute(
    offender: &Option<IpAddr>,
    v6: bool,
    routes: &[Route],
    targets: Option<&[Address]>,
) -> Option<Address> {
    let targets = targets?;
    if let Some(o) = offender {
        if let Some(a) = targets.iter().find(|a| a.ip == *o) {
            return Some(*a);
        }
    }
    let mut unicast = routes
        .iter()
        .filter(|r| r.record.kind == RouteKind::Unicast && r.record.destination.is_ipv6() == v6);
    match (unicast.next(), unicast.next()) {
        (Some(r), None) => Some(r.record.address),
        _ => None,
    }
}

/// Sends every Probe of the route once. Returns the ICMP errors that earlier datagrams drew and
/// the kernel reported on these sends; other send errors are recorded on the route.
async fn send_route(sock: &UdpSocket, r: &mut Route, xml: &[String]) -> Vec<platform::IcmpReport> {
    let mut late = Vec::new();
    if let (RouteKind::Multicast, Some((index, v4addr))) = (r.record.kind, r.interface) {
        let set = if r.record.destination.is_ipv6() {
            SockRef::from(sock).set_multicast_if_v6(index)
        } else {
            match v4addr {
                Some(a) => platform::set_multicast_if_v4(SockRef::from(sock), index, a),
                None => Err(io::Error::new(
                    io::ErrorKind::AddrNotAvailable,
                    "the interface has no IPv4 address",
                )),
            }
        };
        if let Err(e) = set {
            r.record.error.get_or_insert(format!(
                "cannot send multicast on {}: {e}",
                r.record.interface.as_deref().unwrap_or("?")
            ));
            return late;
        }
    }
    for x in xml {
        // A datagram of under 1 KiB: the send completes or fails at once.
        match sock.send_to(x.as_bytes(), r.record.destination).await {
            Ok(_) => r.record.datagrams += 1,
            Err(e) => {
                // Linux reports an ICMP error drawn by an earlier datagram (of any route of this
                // socket) on the next send as well as on the next receive, as the errno the ICMP
                // maps to: ECONNREFUSED, EHOSTUNREACH … and EACCES for an ICMPv6
                // administratively-prohibited, which is also what a local firewall gives. The
                // error queue tells them apart: an ICMP is in it. An icmp-like errno with an
                // empty queue means an earlier error already read the ICMP behind this one.
                let reports = platform::udp_icmp_errors(
                    SockRef::from(sock),
                    &e,
                    r.record.destination.is_ipv6(),
                );
                if reports.is_empty() && !icmp_like(&e) {
                    r.record.error.get_or_insert(e.to_string());
                }
                late.extend(reports);
            }
        }
    }
    late
}

fn icmp_like(e: &io::Error) -> bool {
    use platform::ConnectErrorKind as K;
    matches!(
        platform::classify(e),
        K::Refused | K::Reset | K::HostUnreachable | K::NetUnreachable
    )
}

async fn recv(sock: Option<&UdpSocket>, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
    match sock {
        Some(s) => s.recv_from(buf).await,
        None => std::future::pending().await,
    }
}

/// The discovery probe of one target's addresses.
pub async fn probe_host(addresses: &[Address], settings: &Settings) -> DiscoveryObservation {
    let ifaces = platform::interfaces().unwrap_or_default();
    probe_host_with(addresses, &ifaces, settings).await
}

/// [`probe_host`] with the interfaces given (tests give loopback-only ones).
pub async fn probe_host_with(
    addresses: &[Address],
    ifaces: &[Interface],
    settings: &Settings,
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
    let multicast = routes.iter().any(|r| r.record.kind == RouteKind::Multicast);
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

/// The interfaces `--discover` multicasts on: the named ones, or every one that is up,
/// multicast-capable and not loopback. A name that is not there, or cannot multicast, is an error
/// that names it and the usable ones.
pub fn discover_interfaces(all: &[Interface], names: &[String]) -> Result<Vec<Interface>, String> {
    let usable: Vec<&Interface> = all
        .iter()
        .filter(|i| i.multicasts() && !i.addrs.is_empty())
        .collect();
    let usable_names = || {
        let n: Vec<&str> = usable.iter().map(|i| i.name.as_str()).collect();
        if n.is_empty() {
            "none here".to_string()
        } else {
            n.join(", ")
        }
    };
    if names.is_empty() {
        if usable.is_empty() {
            return Err("no interface to multicast on: none is up, multicast-capable and not loopback (usable: none here)".into());
        }
        return Ok(usable.into_iter().cloned().collect());
    }
    names
        .iter()
        .map(|n| match all.iter().find(|i| &i.name == n) {
            None => Err(format!("no network interface named '{n}'; usable for --discover: {}", usable_names())),
            Some(i) if !i.multicasts() || i.addrs.is_empty() => Err(format!(
                "interface '{n}' cannot multicast (it must be up, multicast-capable, not loopback, with an address); usable: {}",
                usable_names()
            )),
            Some(i) => Ok(i.clone()),
        })
        .collect()
}

/// The Find dialog's job: multicast the Probes on each interface (IPv4 where it has an IPv4
/// address, IPv6 where it has an IPv6 one) and keep every reply to them for the whole window.
pub async fn discover(interfaces: &[Interface], settings: &Settings) -> DiscoverRun {
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

impl DiscoverRun {
    /// The responding machines: responders grouped by endpoint reference (and by source
    /// address), each with the discovery observation a host probe would have made of it.
    pub fn hosts(&self) -> Vec<FoundHost> {
        // Groups of responder indexes; a responder joins the group that shares its endpoint
        // or one of its addresses.
        let mut groups: Vec<Vec<usize>> = Vec::new();
        for (i, r) in self.responders.iter().enumerate() {
            let found = groups.iter().position(|g| {
                g.iter().any(|&j| {
                    let o = &self.responders[j];
                    o.source.ip() == r.source.ip()
                        || (r.endpoint.is_some() && o.endpoint == r.endpoint)
                })
            });
            match found {
                Some(g) => groups[g].push(i),
                None => groups.push(vec![i]),
            }
        }
        groups
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
            resolution: Resolution {
                source: Source::Discovery,
                addresses,
                error: None,
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

    fn addr(s: &str) -> Address {
        match crate::target::parse_target(s).unwrap().host {
            crate::target::Host::Literal(a) => a,
            _ => panic!(),
        }
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

    #[test]
    fn discover_picks_usable_interfaces_and_names_bad_ones() {
        let l = lan();
        let got = discover_interfaces(&l, &[]).unwrap();
        assert_eq!(
            got.iter().map(|i| i.name.as_str()).collect::<Vec<_>>(),
            ["eth0"]
        );
        let e = discover_interfaces(&l, &["wlan9".into()]).unwrap_err();
        assert!(e.contains("'wlan9'") && e.contains("eth0"), "{e}");
        let e = discover_interfaces(&l, &["lo".into()]).unwrap_err();
        assert!(e.contains("'lo' cannot multicast"), "{e}");
        assert!(discover_interfaces(&l[..1], &[]).is_err());
    }

    /// Loopback only: nothing listens on UDP 3702 of this test's own address, so the unicast
    /// Probe draws an ICMP port unreachable and the probe ends at once instead of waiting.
    #[tokio::test]
    async fn a_closed_port_ends_the_probe_without_waiting() {
        let ip: IpAddr = "127.78.0.1".parse().unwrap();
        // Nothing may listen there; binding proves it (and fails loudly if something does).
        drop(std::net::UdpSocket::bind((ip, PORT)).expect("UDP 3702 on 127.78.0.1 is free"));
        let settings = Settings {
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
