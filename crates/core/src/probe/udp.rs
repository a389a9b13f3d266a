//! One UDP request-response exchange: send a few datagrams to each destination on a schedule,
//! listen for the answers and for the ICMP errors the datagrams draw, and stop as soon as what
//! came in allows. The protocol (WS-Discovery's Probes, a NetBIOS node-status request …) builds
//! the [`Route`]s and judges each datagram through [`UdpExchange`]; this module knows sockets,
//! time and ICMP, and nothing of any payload.
//!
//! Choices, and why:
//! - **One unconnected UDP socket per family**, bound to an ephemeral port. Responders reply by
//!   unicast to the request's source address and port, some from a port of their own (python
//!   wsdiscovery answers from an ephemeral one): a `connect()`ed socket would drop those replies
//!   (it does in nmap's unicast mode).
//! - **Multicast stays on the link**: TTL / hop limit 1, loop off, out of the interface the
//!   route names.
//! - **ICMP errors** are read where the platform names them ([`platform::udp_icmp_errors`]:
//!   Linux through IP_RECVERR, Windows as WSAECONNRESET), on receives and on sends alike, and
//!   laid at the target address they are about.
//! - **Early stop**: at once when every target address drew an ICMP error and none answered
//!   (nothing more is coming: a closed port costs one round trip, as it does for TCP); after a
//!   [`Heard::First`], [`Window::grace`] more at most; at once when the exchange is
//!   [`UdpExchange::satisfied`].

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use socket2::{Domain, Protocol, SockRef, Socket, Type};
use tokio::net::UdpSocket;
use tokio::time::Instant;

use super::{IcmpDetail, IcmpKind};
use crate::platform;
use crate::target::Address;

/// What one datagram is to the exchange; it decides how long the runner goes on listening.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Heard {
    /// Not an answer to us, or not one the exchange counts: listening goes on unchanged.
    Ignored,
    /// An answer that does not change how long to listen.
    Reply,
    /// The first answer from a target: the rest of what it has to say follows within
    /// [`Window::grace`], so listening goes on that long at most (a later one never extends it).
    First,
}

/// The protocol side of an exchange.
pub trait UdpExchange {
    /// Takes one datagram that came from `from`, `at` after the first send.
    fn offer(&mut self, from: SocketAddr, bytes: &[u8], at: Duration) -> Heard;
    /// Everything waited for has come: listening ends at once. Asked after every datagram that
    /// was not [`Heard::Ignored`].
    fn satisfied(&self) -> bool;
}

/// The interface a multicast route leaves by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MulticastInterface {
    pub index: u32,
    /// Its name, for error messages.
    pub name: String,
    /// Its IPv4 address, the source of IPv4 multicast (some systems choose the interface by
    /// address, see [`platform::set_multicast_if_v4`]); without one IPv4 multicast cannot go out.
    pub ipv4: Option<Ipv4Addr>,
}

/// One way the datagrams go out: a destination, what is sent there and when, and what sending
/// did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    pub destination: SocketAddr,
    /// Set for a multicast destination: the interface to send it out of. A route without it is
    /// unicast, and an ICMP error of unknown sender can be laid at its destination.
    pub multicast: Option<MulticastInterface>,
    /// When every payload goes out (again), counted from the exchange's first send: UDP loses
    /// datagrams without a word, so a request is repeated.
    pub offsets: Vec<Duration>,
    /// Sent in this order at every offset.
    pub payloads: Vec<Vec<u8>>,
    /// Datagrams sent (every payload, every repeat).
    pub sent: u32,
    /// The first error sending here, in the operating system's words.
    pub error: Option<String>,
}

impl Route {
    /// A route that has sent nothing yet.
    pub fn new(
        destination: SocketAddr,
        multicast: Option<MulticastInterface>,
        offsets: Vec<Duration>,
        payloads: Vec<Vec<u8>>,
    ) -> Route {
        Route {
            destination,
            multicast,
            offsets,
            payloads,
            sent: 0,
            error: None,
        }
    }
}

/// How long to listen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// The longest listening, counted from the first send.
    pub wait: Duration,
    /// How long listening goes on after [`Heard::First`].
    pub grace: Duration,
}

/// What an exchange saw besides the datagrams its [`UdpExchange`] took.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// The first ICMP error laid at each target address, in the order they came.
    pub icmp: Vec<(Address, IcmpDetail)>,
    /// From the first send to the end of listening.
    pub elapsed: Duration,
    /// Listening ended before the window: an answer, or ICMP errors from every target.
    pub stopped_early: bool,
    /// Why a family's socket could not be opened (also recorded on its routes).
    pub socket_error: Option<String>,
}

/// Receive buffer asked for each socket.
const RECV_BUFFER: usize = 1 << 20;
/// Larger than any UDP payload (65,507 bytes over IPv4, RFC 768 and RFC 791), so none is cut.
const MAX_DATAGRAM: usize = 64 * 1024;

/// Sends every route's payloads on its schedule and listens until `window.wait` has passed since
/// the first send, or earlier as the answers and ICMP errors allow. ICMP errors are laid at
/// `targets` (none: ICMP errors are neither kept nor a reason to stop).
pub async fn run<E: UdpExchange>(
    routes: &mut [Route],
    targets: &[Address],
    window: Window,
    exchange: &mut E,
) -> Outcome {
    let mut socket_error = None;
    let v4 = open_for(routes, false, &mut socket_error);
    let v6 = open_for(routes, true, &mut socket_error);

    // Every (offset, route) send, in time order.
    let mut events: Vec<(Duration, usize)> = routes
        .iter()
        .enumerate()
        .flat_map(|(i, r)| r.offsets.iter().map(move |o| (*o, i)))
        .collect();
    events.sort();

    let start = Instant::now();
    let mut deadline = start + window.wait;
    let mut next = 0;
    let mut buf4 = vec![0u8; MAX_DATAGRAM];
    let mut buf6 = vec![0u8; MAX_DATAGRAM];
    let mut icmp: Vec<(Address, IcmpDetail)> = Vec::new();
    let mut stopped_early = false;
    let mut answered = false;
    let mut pending: Vec<(platform::IcmpReport, bool)> = Vec::new();

    loop {
        let now = Instant::now();
        while next < events.len() && start + events[next].0 <= now {
            let r = &mut routes[events[next].1];
            let is_v6 = r.destination.is_ipv6();
            if let Some(sock) = if is_v6 { v6.as_ref() } else { v4.as_ref() } {
                let reports = send_route(sock, r).await;
                pending.extend(reports.into_iter().map(|rep| (rep, is_v6)));
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
                if let Some(a) = attribute(report.offender, is_v6, routes, targets) {
                    if !icmp.iter().any(|(x, _)| *x == a) {
                        icmp.push((a, detail));
                    }
                }
            }
            // Every address refused and none answered: nothing more is coming.
            let all_refused = targets.iter().all(|a| icmp.iter().any(|(x, _)| x == a));
            if !targets.is_empty() && all_refused && !answered {
                stopped_early = true;
                break;
            }
        }
        if now >= deadline {
            break;
        }
        // Nothing can arrive when nothing was sent.
        if next >= events.len() && routes.iter().all(|r| r.sent == 0) {
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
                let heard = exchange.offer(from, data, at);
                if heard == Heard::First {
                    answered = true;
                    let soon = Instant::now() + window.grace;
                    if soon < deadline {
                        deadline = soon;
                        stopped_early = true;
                    }
                }
                if heard != Heard::Ignored && exchange.satisfied() {
                    stopped_early = true;
                    break;
                }
            }
            Err(e) => {
                if let Some(sock) = if is_v6 { v6.as_ref() } else { v4.as_ref() } {
                    let reports = platform::udp_icmp_errors(SockRef::from(sock), &e, is_v6);
                    pending.extend(reports.into_iter().map(|rep| (rep, is_v6)));
                }
            }
        }
    }
    Outcome {
        icmp,
        elapsed: start.elapsed(),
        stopped_early,
        socket_error,
    }
}

/// The socket of one family when some route needs it; a failure to open it is recorded on
/// those routes and in `socket_error`.
fn open_for(
    routes: &mut [Route],
    v6: bool,
    socket_error: &mut Option<String>,
) -> Option<UdpSocket> {
    let mut mine = routes
        .iter_mut()
        .filter(|r| r.destination.is_ipv6() == v6)
        .peekable();
    mine.peek()?;
    match open_socket(v6) {
        Ok(s) => Some(s),
        Err(e) => {
            let family = if v6 { "IPv6" } else { "IPv4" };
            let msg = format!("cannot open a UDP socket ({family}): {e}");
            for r in mine {
                r.error.get_or_insert(msg.clone());
            }
            socket_error.get_or_insert(msg);
            None
        }
    }
}

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
        (Ipv6Addr::UNSPECIFIED, 0).into()
    } else {
        (Ipv4Addr::UNSPECIFIED, 0).into()
    };
    s.bind(&any.into())?;
    UdpSocket::from_std(s.into())
}

/// Which target address an ICMP error is about: its sender when that is a target address, or
/// else the destination of the one unicast route of that family, when that is a target.
fn attribute(
    offender: Option<IpAddr>,
    v6: bool,
    routes: &[Route],
    targets: &[Address],
) -> Option<Address> {
    if let Some(a) = offender.and_then(|o| targets.iter().find(|a| a.ip == o)) {
        return Some(*a);
    }
    let mut unicast = routes
        .iter()
        .filter(|r| r.multicast.is_none() && r.destination.is_ipv6() == v6);
    match (unicast.next(), unicast.next()) {
        (Some(r), None) => targets.iter().find(|a| a.ip == r.destination.ip()).copied(),
        _ => None,
    }
}

/// Sends every payload of the route once. Returns the ICMP errors that earlier datagrams drew
/// and the kernel reported on these sends; other send errors are recorded on the route.
async fn send_route(sock: &UdpSocket, r: &mut Route) -> Vec<platform::IcmpReport> {
    let mut late = Vec::new();
    let is_v6 = r.destination.is_ipv6();
    if let Some(m) = &r.multicast {
        let set = if is_v6 {
            SockRef::from(sock).set_multicast_if_v6(m.index)
        } else {
            match m.ipv4 {
                Some(a) => platform::set_multicast_if_v4(SockRef::from(sock), m.index, a),
                None => Err(io::Error::new(
                    io::ErrorKind::AddrNotAvailable,
                    "the interface has no IPv4 address",
                )),
            }
        };
        if let Err(e) = set {
            r.error
                .get_or_insert(format!("cannot send multicast on {}: {e}", m.name));
            return late;
        }
    }
    for p in &r.payloads {
        // A UDP send waits for no peer: it completes or fails at once.
        match sock.send_to(p, r.destination).await {
            Ok(_) => r.sent += 1,
            Err(e) => {
                // Linux reports an ICMP error drawn by an earlier datagram (of any route of this
                // socket) on the next send as well as on the next receive, as the errno the ICMP
                // maps to: ECONNREFUSED, EHOSTUNREACH … and EACCES for an ICMPv6
                // administratively-prohibited, which is also what a local firewall gives. The
                // error queue tells them apart: an ICMP is in it. An icmp-like errno with an
                // empty queue means an earlier error already read the ICMP behind this one.
                let reports = platform::udp_icmp_errors(SockRef::from(sock), &e, is_v6);
                if reports.is_empty() && !icmp_like(&e) {
                    r.error.get_or_insert(e.to_string());
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::thread;

    /// Longer than any of these tests may take: waiting it out would be the failure.
    const LONG: Duration = Duration::from_secs(30);
    /// For tests where no datagram is offered as [`Heard::First`].
    const GRACE_UNUSED: Duration = Duration::from_millis(1);

    /// Keeps every datagram, answers `answer` to each, and is satisfied after `enough`.
    struct Fake {
        answer: Heard,
        enough: usize,
        heard: Vec<(SocketAddr, Vec<u8>, Duration)>,
    }

    impl Fake {
        fn new(answer: Heard, enough: usize) -> Fake {
            Fake {
                answer,
                enough,
                heard: Vec::new(),
            }
        }
    }

    impl UdpExchange for Fake {
        fn offer(&mut self, from: SocketAddr, bytes: &[u8], at: Duration) -> Heard {
            self.heard.push((from, bytes.to_vec(), at));
            self.answer
        }

        fn satisfied(&self) -> bool {
            self.heard.len() >= self.enough
        }
    }

    /// A responder on a loopback address of this test's own (the bind proves nothing else is
    /// there): echoes `count` datagrams to their senders, then closes. The read timeout only
    /// keeps a failed test from hanging.
    fn echo(ip: &str, count: u32) -> (SocketAddr, thread::JoinHandle<u32>) {
        let ip: IpAddr = ip.parse().unwrap();
        let sock = std::net::UdpSocket::bind((ip, 0)).expect("a loopback address to bind");
        sock.set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let addr = sock.local_addr().unwrap();
        let echoed = thread::spawn(move || {
            let mut buf = [0u8; 2048];
            let mut n = 0;
            while n < count {
                let Ok((len, from)) = sock.recv_from(&mut buf) else {
                    break;
                };
                sock.send_to(&buf[..len], from).unwrap();
                n += 1;
            }
            n
        });
        (addr, echoed)
    }

    fn unicast(to: SocketAddr, offsets: &[u64], payloads: &[&str]) -> Route {
        Route::new(
            to,
            None,
            offsets
                .iter()
                .map(|ms| Duration::from_millis(*ms))
                .collect(),
            payloads.iter().map(|p| p.as_bytes().to_vec()).collect(),
        )
    }

    fn window(wait: Duration, grace: Duration) -> Window {
        Window { wait, grace }
    }

    #[tokio::test]
    async fn every_payload_goes_out_at_every_offset_and_each_reply_is_offered_with_its_source() {
        let (responder, echoed) = echo("127.79.0.1", 6);
        let mut routes = [unicast(responder, &[0, 20, 40], &["one", "two"])];
        // A grace of 1 ms: were a Reply to start it, the repeats would never go out.
        let mut fake = Fake::new(Heard::Reply, 6);
        let targets = [Address::new(responder.ip())];
        let w = window(LONG, Duration::from_millis(1));
        let out = run(&mut routes, &targets, w, &mut fake).await;
        assert_eq!(echoed.join().unwrap(), 6);
        assert_eq!((routes[0].sent, &routes[0].error), (6, &None));
        assert_eq!(fake.heard.len(), 6);
        assert!(fake.heard.iter().all(|(from, _, _)| *from == responder));
        for p in ["one", "two"] {
            let n = fake.heard.iter().filter(|h| h.1 == p.as_bytes()).count();
            assert_eq!(n, 3, "{p}");
        }
        // The last echo answers the send at 40 ms.
        assert!(
            fake.heard[5].2 >= Duration::from_millis(40),
            "{:?}",
            fake.heard
        );
        assert!(out.stopped_early, "satisfied after the sixth");
        assert_eq!((out.icmp.len(), out.socket_error), (0, None));
    }

    #[tokio::test]
    async fn the_first_reply_from_a_target_shortens_the_wait_to_the_grace() {
        let (responder, echoed) = echo("127.79.0.2", 1);
        let mut routes = [unicast(responder, &[0, 20_000], &["hello"])];
        let mut fake = Fake::new(Heard::First, usize::MAX);
        let targets = [Address::new(responder.ip())];
        let w = window(LONG, Duration::from_millis(50));
        let out = run(&mut routes, &targets, w, &mut fake).await;
        assert_eq!(echoed.join().unwrap(), 1);
        assert_eq!(fake.heard.len(), 1);
        assert_eq!(routes[0].sent, 1, "the repeat at 20 s never went out");
        assert!(out.stopped_early);
        assert!(out.elapsed < Duration::from_secs(10), "{:?}", out.elapsed);
    }

    #[tokio::test]
    async fn a_satisfied_exchange_stops_at_once() {
        let (responder, echoed) = echo("127.79.0.3", 1);
        let mut routes = [unicast(responder, &[0, 20_000], &["hello"])];
        // Only a Reply and a grace as long as the window: satisfied() alone can end it early.
        let mut fake = Fake::new(Heard::Reply, 1);
        let targets = [Address::new(responder.ip())];
        let out = run(&mut routes, &targets, window(LONG, LONG), &mut fake).await;
        assert_eq!(echoed.join().unwrap(), 1);
        assert_eq!(fake.heard.len(), 1);
        assert_eq!(routes[0].sent, 1, "the repeat at 20 s never went out");
        assert!(out.stopped_early);
        assert!(out.elapsed < Duration::from_secs(10), "{:?}", out.elapsed);
    }

    /// A loopback port of this test's own with nothing bound: a datagram there draws an ICMP
    /// port unreachable from the address itself.
    fn closed_port(ip: &str) -> SocketAddr {
        let ip: IpAddr = ip.parse().unwrap();
        let probe = std::net::UdpSocket::bind((ip, 0)).expect("a loopback address to bind");
        probe.local_addr().unwrap()
    }

    #[tokio::test]
    async fn icmp_from_every_target_ends_the_exchange_without_waiting() {
        let to = closed_port("127.79.0.4");
        let mut routes = [unicast(to, &[0, 4_000], &["hello"])];
        let mut fake = Fake::new(Heard::Reply, usize::MAX);
        let targets = [Address::new(to.ip())];
        let w = window(Duration::from_secs(5), GRACE_UNUSED);
        let out = run(&mut routes, &targets, w, &mut fake).await;
        assert!(fake.heard.is_empty());
        assert!(routes[0].sent >= 1);
        if cfg!(target_os = "linux") {
            assert!(out.stopped_early);
            assert_eq!(routes[0].sent, 1, "the repeat at 4 s never went out");
            assert_eq!(out.icmp.len(), 1, "{:?}", out.icmp);
            let (a, icmp) = out.icmp[0];
            assert_eq!(a, targets[0]);
            assert_eq!(icmp.kind, IcmpKind::PortUnreachable);
            assert_eq!(icmp.from, Some(to.ip()));
        }
    }

    #[tokio::test]
    async fn without_targets_icmp_is_neither_kept_nor_a_reason_to_stop() {
        let to = closed_port("127.79.0.5");
        let mut routes = [unicast(to, &[0], &["hello"])];
        let mut fake = Fake::new(Heard::Reply, usize::MAX);
        let w = window(Duration::from_millis(300), GRACE_UNUSED);
        let out = run(&mut routes, &[], w, &mut fake).await;
        assert_eq!(routes[0].sent, 1);
        assert!(out.icmp.is_empty(), "{:?}", out.icmp);
        assert!(!out.stopped_early);
    }

    #[tokio::test]
    async fn a_route_that_sends_nothing_records_why_and_nothing_is_waited_for() {
        // IPv4 multicast out of an interface without an IPv4 address fails before any send;
        // the destination is loopback all the same.
        let interface = MulticastInterface {
            index: 1,
            name: "test0".into(),
            ipv4: None,
        };
        let to: SocketAddr = "127.79.0.6:9".parse().unwrap();
        let mut routes = [Route::new(
            to,
            Some(interface),
            vec![Duration::ZERO],
            vec![b"hello".to_vec()],
        )];
        let mut fake = Fake::new(Heard::Reply, usize::MAX);
        let out = run(&mut routes, &[], window(LONG, LONG), &mut fake).await;
        assert_eq!(routes[0].sent, 0);
        let e = routes[0].error.as_deref().unwrap_or_default();
        assert!(e.starts_with("cannot send multicast on test0:"), "{e}");
        assert!(!out.stopped_early);
        assert!(out.elapsed < Duration::from_secs(10), "{:?}", out.elapsed);
    }

    #[test]
    fn icmp_is_laid_at_its_sender_or_the_one_unicast_destination_of_its_family() {
        let a = |s: &str| Address::new(s.parse().unwrap());
        let to = |s: &str| unicast(s.parse().unwrap(), &[0], &[]);
        let targets = [a("192.0.2.5"), a("2001:db8::5")];
        let router = Some("198.51.100.1".parse().unwrap());
        let one = [to("192.0.2.5:3702"), to("[2001:db8::5]:3702")];
        // The target itself, whatever the routes.
        let sender = Some("2001:db8::5".parse().unwrap());
        assert_eq!(attribute(sender, true, &[], &targets), Some(targets[1]));
        // A router, or no sender: the one unicast destination of that family.
        assert_eq!(attribute(router, false, &one, &targets), Some(targets[0]));
        assert_eq!(attribute(None, true, &one, &targets), Some(targets[1]));
        // Multicast routes are not candidates.
        let mut with_multicast = one.to_vec();
        with_multicast.push(Route::new(
            "239.255.255.250:3702".parse().unwrap(),
            Some(MulticastInterface {
                index: 2,
                name: "eth0".into(),
                ipv4: None,
            }),
            vec![],
            vec![],
        ));
        assert_eq!(
            attribute(None, false, &with_multicast, &targets),
            Some(targets[0])
        );
        // Two unicast destinations of the family: no telling which.
        let two = [to("192.0.2.5:3702"), to("192.0.2.6:3702")];
        assert_eq!(attribute(router, false, &two, &targets), None);
        // No targets (a listening run): nothing to lay it at.
        assert_eq!(attribute(router, false, &one, &[]), None);
    }
}
