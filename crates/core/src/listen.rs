//! `msvsmon-probe listen`: a stand-in monitor. It listens on a release's TCP ports, accepts and
//! closes every connection (msvsmon waits for the client to speak, and so does this: it sends
//! nothing), and answers WS-Discovery Probes on UDP 3702 as [`StandIn`] decides. Run it on the
//! remote machine and probe it from the IDE's: if the probe finds it, the network and the
//! firewalls are right for the real monitor on the same ports. It is also the tests' fixture.
//!
//! Sockets, and why:
//! - TCP: one listener per port on the bind address (or on `0.0.0.0` and `::`).
//! - UDP unicast: one socket per family on `bind:3702`; replies go out from it, so they come from
//!   port 3702 as wsdd's do. It is told not to receive the multicast groups other sockets join
//!   (Linux's IP_MULTICAST_ALL), so a multicast Probe is read once, by:
//! - UDP multicast: one socket per family bound where the platform wants a group receiver,
//!   joined to 239.255.255.250 / ff02::c on the interfaces the bind address covers. A loopback
//!   bind joins nothing: loopback does not multicast, and a test fixture must not send IGMP
//!   reports on a real link.
//!
//! A unicast Probe is answered at once and repeated once, as SOAP-over-UDP says; a multicast one
//! after a random delay up to APP_MAX_DELAY (500 ms, so the link's responders do not all answer
//! at the same instant), then repeated. At most [`MAX_ANSWERS_PER_SECOND`] Probes are answered per
//! second, so the stand-in cannot be used to multiply someone's traffic.

use std::future::Future;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use socket2::{Domain, Protocol, SockRef, Socket, Type};
use tokio::net::{TcpListener, UdpSocket};
use tokio::sync::mpsc;
use tokio::task::JoinSet;

use crate::catalog::Port;
use crate::discovery::message::{ProbeKind, MAX_DATAGRAM};
use crate::discovery::responder::{Answer, StandIn};
use crate::discovery::schedule::{self, UNICAST_REPEAT};
use crate::discovery::{RouteKind, Version, GROUP_V4, GROUP_V6, PORT, STAND_IN_NS};
use crate::platform::{self, Interface};

/// Probes answered per second at most.
pub const MAX_ANSWERS_PER_SECOND: u32 = 50;
/// WS-Discovery 2005/04's APP_MAX_DELAY: the longest a responder waits before answering a
/// multicast Probe.
const APP_MAX_DELAY: Duration = Duration::from_millis(500);

/// What `listen` is listening on, for the banner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listening {
    /// TCP addresses, each with who uses the port.
    pub tcp: Vec<(SocketAddr, String)>,
    /// UDP 3702 sockets that take unicast Probes.
    pub unicast: Vec<SocketAddr>,
    /// Groups joined, with the interface: `(239.255.255.250, "eth0")`.
    pub multicast: Vec<(IpAddr, String)>,
    /// Things the user should know (IPv6 not available, no multicast on loopback …).
    pub notes: Vec<String>,
    /// The stand-in's endpoint reference (`urn:uuid:…`) and Types.
    pub endpoint: String,
    pub types: String,
}

/// Something that happened, for the running log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ListenEvent {
    /// A TCP connection was accepted and closed.
    Connection { from: SocketAddr, local: SocketAddr },
    /// A Probe arrived; `answered` says whether a ProbeMatches went back (and whether it matched).
    Probe {
        from: SocketAddr,
        route: RouteKind,
        version: Version,
        /// The Probe's Types as written, or "any" for none.
        types: String,
        outcome: ProbeOutcome,
    },
    /// A datagram on port 3702 that is not a Probe.
    NotAProbe { from: SocketAddr, why: String },
    /// Something went wrong on a socket; serving goes on.
    Error(String),
    /// Events not delivered because the receiver fell behind (its buffer was full), counted
    /// since the last report; sent at most once a second.
    Lost { events: u64 },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProbeOutcome {
    Matched,
    /// An empty ProbeMatches went back (unicast Probe, nothing matched).
    NoMatch,
    Silent(&'static str),
    RateLimited,
}

/// What the stand-in listens on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListenSettings {
    /// Ports to listen on, ascending, each with who uses it ("VS 2022 or 2026 · main").
    pub ports: Vec<(Port, String)>,
    /// `None`: every address of both families.
    pub bind: Option<IpAddr>,
    /// Answer WS-Discovery (off with `--no-discovery`, as `msvsmon /nodiscovery`).
    pub discovery: bool,
}

/// Why `listen` could not start: which socket, and what to do about it.
#[derive(Debug)]
#[non_exhaustive]
pub enum ListenError {
    /// A socket could not be bound.
    Bind {
        /// `TCP` or `UDP`.
        protocol: &'static str,
        addr: SocketAddr,
        source: io::Error,
    },
    /// No port was left to listen on.
    NothingToListenOn,
}

/// What a refused bind means: on Unix a privileged port; Windows has none, and answers
/// WSAEACCES when another socket holds the port with SO_EXCLUSIVEADDRUSE, or the port lies in a
/// range the system reserved (Hyper-V, WinNAT).
#[cfg(unix)]
const PERMISSION_DENIED: &str = "; ports below 1024 need privileges";
#[cfg(not(unix))]
const PERMISSION_DENIED: &str = "; another program holds this port exclusively, or Windows reserved it (netsh interface ipv4 show excludedportrange protocol=tcp)";

impl std::fmt::Display for ListenError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (protocol, addr, e) = match self {
            ListenError::NothingToListenOn => return f.write_str("nothing to listen on"),
            ListenError::Bind {
                protocol,
                addr,
                source,
            } => (protocol, addr, source),
        };
        write!(f, "cannot listen on {protocol} {addr}: {e}")?;
        match e.kind() {
            io::ErrorKind::AddrInUse => write!(
                f,
                "; something already listens there (msvsmon, another `msvsmon-probe listen`{}): stop it or choose other ports",
                if addr.port() == PORT {
                    ", wsdd, or Windows' Function Discovery"
                } else {
                    ""
                }
            ),
            io::ErrorKind::AddrNotAvailable => {
                f.write_str("; this machine has no such address: give one of its own with --bind")
            }
            io::ErrorKind::PermissionDenied => f.write_str(PERMISSION_DENIED),
            _ => Ok(()),
        }
    }
}

impl std::error::Error for ListenError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ListenError::Bind { source, .. } => Some(source),
            ListenError::NothingToListenOn => None,
        }
    }
}

/// Every socket, bound and ready.
pub struct Bound {
    tcp: Vec<TcpListener>,
    unicast: Vec<UdpSocket>,
    multicast: Vec<UdpSocket>,
    stand_in: StandIn,
    pub listening: Listening,
}

fn bind_error(protocol: &'static str, addr: SocketAddr, e: io::Error) -> ListenError {
    ListenError::Bind {
        protocol,
        addr,
        source: e,
    }
}

fn udp_socket(addr: SocketAddr) -> io::Result<Socket> {
    let s = Socket::new(Domain::for_address(addr), Type::DGRAM, Some(Protocol::UDP))?;
    if addr.is_ipv6() {
        s.set_only_v6(true)?;
    }
    // The unicast and the multicast socket share port 3702 (and wsdd may hold it too).
    s.set_reuse_address(true)?;
    s.set_nonblocking(true)?;
    Ok(s)
}

/// Binds every socket `cfg` asks for.
pub fn bind_stand_in(cfg: &ListenSettings) -> Result<Bound, ListenError> {
    let ifaces = platform::interfaces().unwrap_or_default();
    let mut notes = Vec::new();
    let addrs: Vec<IpAddr> = match cfg.bind {
        Some(a) => vec![a],
        None => vec![
            IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            IpAddr::V6(Ipv6Addr::UNSPECIFIED),
        ],
    };
    let mut tcp = Vec::new();
    let mut tcp_addrs = Vec::new();
    let mut unicast = Vec::new();
    let mut unicast_addrs = Vec::new();
    let mut multicast = Vec::new();
    let mut joined = Vec::new();
    for ip in addrs {
        let wildcard_v6 = cfg.bind.is_none() && ip.is_ipv6();
        // Without IPv6 on this machine the wildcard `::` fails; that is a note, not an error.
        let skip_v6 = |e: &io::Error, notes: &mut Vec<String>| -> bool {
            if wildcard_v6 {
                notes.push(format!("IPv6 not used: {e}"));
            }
            wildcard_v6
        };
        let mut family_tcp = Vec::new();
        let mut failed = false;
        for (port, label) in &cfg.ports {
            let addr = SocketAddr::new(ip, port.0);
            match std_tcp(addr) {
                Ok(l) => family_tcp.push((l, addr, label.clone())),
                Err(e) if skip_v6(&e, &mut notes) => {
                    failed = true;
                    break;
                }
                Err(e) => return Err(bind_error("TCP", addr, e)),
            }
        }
        if failed {
            continue;
        }
        for (l, addr, label) in family_tcp {
            tcp.push(l);
            tcp_addrs.push((addr, label));
        }
        if !cfg.discovery {
            continue;
        }
        let addr = SocketAddr::new(ip, PORT);
        let u = udp_socket(addr)
            .and_then(|s| {
                // Multicast is read by the group socket alone (see the module docs).
                platform::receive_only_joined_groups(SockRef::from(&s), ip.is_ipv6())?;
                s.bind(&addr.into())?;
                Ok(s)
            })
            .map_err(|e| bind_error("UDP", addr, e))?;
        unicast.push(UdpSocket::from_std(u.into()).map_err(|e| bind_error("UDP", addr, e))?);
        unicast_addrs.push(addr);

        if ip.is_loopback() {
            notes.push(format!(
                "WS-Discovery by unicast only on {ip}: loopback does not multicast"
            ));
            continue;
        }
        let group = if ip.is_ipv6() {
            IpAddr::V6(GROUP_V6)
        } else {
            IpAddr::V4(GROUP_V4)
        };
        let chosen: Vec<&Interface> = ifaces
            .iter()
            .filter(|i| i.multicasts())
            .filter(|i| {
                if ip.is_unspecified() {
                    i.addrs.iter().any(|a| a.ip.is_ipv6() == ip.is_ipv6())
                } else {
                    i.addrs.iter().any(|a| a.ip == ip)
                }
            })
            .collect();
        if chosen.is_empty() {
            notes.push(format!(
                "WS-Discovery by unicast only on {ip}: no interface there is up and multicast-capable"
            ));
            continue;
        }
        // IPv4: one socket for every interface; IPv6: one per interface (the group's scope).
        let sets: Vec<Vec<&Interface>> = if ip.is_ipv6() {
            chosen.iter().map(|i| vec![*i]).collect()
        } else {
            vec![chosen]
        };
        for set in sets {
            match multicast_socket(group, &set) {
                Ok((s, names)) => {
                    multicast.push(s);
                    joined.extend(names.into_iter().map(|n| (group, n)));
                }
                Err(e) => notes.push(format!(
                    "WS-Discovery multicast not received on {}: cannot join {group}: {e}",
                    set.iter()
                        .map(|i| i.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                )),
            }
        }
    }
    if tcp.is_empty() {
        return Err(ListenError::NothingToListenOn);
    }
    let instance = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(1);
    let stand_in = StandIn::new(instance);
    let listening = Listening {
        tcp: tcp_addrs,
        unicast: unicast_addrs,
        multicast: joined,
        notes,
        endpoint: stand_in.endpoint().to_string(),
        types: format!(
            "{} (msp = {STAND_IN_NS})",
            StandIn::types_text(Version::V2005)
        ),
    };
    Ok(Bound {
        tcp,
        unicast,
        multicast,
        stand_in,
        listening,
    })
}

fn std_tcp(addr: SocketAddr) -> io::Result<TcpListener> {
    let s = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    if addr.is_ipv6() {
        s.set_only_v6(true)?;
    }
    #[cfg(unix)]
    s.set_reuse_address(true)?;
    s.set_nonblocking(true)?;
    s.bind(&addr.into())?;
    s.listen(128)?;
    TcpListener::from_std(s.into())
}

fn multicast_socket(group: IpAddr, ifaces: &[&Interface]) -> io::Result<(UdpSocket, Vec<String>)> {
    let addr = platform::multicast_bind_addr(group, PORT, ifaces.first().map_or(0, |i| i.index));
    let s = udp_socket(addr)?;
    platform::receive_only_joined_groups(SockRef::from(&s), group.is_ipv6())?;
    s.bind(&addr.into())?;
    let mut names = Vec::new();
    for i in ifaces {
        let r = match group {
            IpAddr::V4(g) => match i.ipv4() {
                Some(a) => platform::join_multicast_v4(SockRef::from(&s), g, i.index, a),
                None => continue,
            },
            IpAddr::V6(g) => s.join_multicast_v6(&g, i.index),
        };
        if r.is_ok() {
            names.push(i.name.clone());
        }
    }
    if names.is_empty() {
        return Err(io::Error::other("no interface accepted the join"));
    }
    Ok((UdpSocket::from_std(s.into())?, names))
}

/// Serves until `shutdown` completes. Events go to `events`; when its buffer is full they are
/// dropped rather than slowing the sockets down, and counted in a [`ListenEvent::Lost`].
pub async fn serve_stand_in(
    bound: Bound,
    events: mpsc::Sender<ListenEvent>,
    shutdown: impl Future<Output = ()>,
) {
    let lost = Arc::new(AtomicU64::new(0));
    let events = EventSink {
        tx: events,
        lost: lost.clone(),
    };
    let Bound {
        tcp,
        unicast,
        multicast,
        stand_in,
        ..
    } = bound;
    let stand_in = Arc::new(Mutex::new(stand_in));
    let unicast: Vec<Arc<UdpSocket>> = unicast.into_iter().map(Arc::new).collect();
    let limiter = Arc::new(Mutex::new((Instant::now(), 0u32)));
    let mut tasks = JoinSet::new();
    {
        let tx = events.tx.clone();
        tasks.spawn(async move {
            let mut every = tokio::time::interval(Duration::from_secs(1));
            every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                every.tick().await;
                let n = lost.swap(0, Ordering::Relaxed);
                if n > 0 && tx.send(ListenEvent::Lost { events: n }).await.is_err() {
                    return;
                }
            }
        });
    }
    for l in tcp {
        let ev = events.clone();
        tasks.spawn(async move {
            loop {
                match l.accept().await {
                    // Dropping the stream closes it: accept and close, nothing said.
                    Ok((stream, from)) => {
                        let local = stream.local_addr().unwrap_or(from);
                        drop(stream);
                        ev.send(ListenEvent::Connection { from, local });
                    }
                    Err(e) => {
                        ev.send(ListenEvent::Error(format!("accept: {e}")));
                        // Out of descriptors and the like: give the system a moment.
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                }
            }
        });
    }
    let sockets: Vec<(Arc<UdpSocket>, RouteKind)> = unicast
        .iter()
        .map(|s| (s.clone(), RouteKind::Unicast))
        .chain(
            multicast
                .into_iter()
                .map(|s| (Arc::new(s), RouteKind::Multicast)),
        )
        .collect();
    for (sock, route) in sockets {
        let ev = events.clone();
        let stand_in = stand_in.clone();
        let repliers = unicast.clone();
        let limiter = limiter.clone();
        tasks.spawn(async move {
            let mut buf = vec![0u8; MAX_DATAGRAM];
            loop {
                let (n, from) = match sock.recv_from(&mut buf).await {
                    Ok(x) => x,
                    // An ICMP error for one of our replies, reported on this socket: not ours
                    // to fix, and the next datagram is unaffected.
                    Err(_) => continue,
                };
                let answer = stand_in
                    .lock()
                    .expect("the stand-in lock is never poisoned")
                    .answer(&buf[..n], from.ip(), route);
                let event = match answer {
                    Answer::NotAProbe(why) => ListenEvent::NotAProbe {
                        from,
                        why: why.to_string(),
                    },
                    Answer::Silent { probe, why } => ListenEvent::Probe {
                        from,
                        route,
                        version: probe.version,
                        types: types_of(&probe),
                        outcome: ProbeOutcome::Silent(why),
                    },
                    Answer::Reply {
                        xml,
                        probe,
                        matched,
                    } => {
                        let allowed = {
                            let mut l = limiter.lock().expect("the limiter lock is never poisoned");
                            if l.0.elapsed() >= Duration::from_secs(1) {
                                *l = (Instant::now(), 0);
                            }
                            l.1 += 1;
                            l.1 <= MAX_ANSWERS_PER_SECOND
                        };
                        let outcome = if !allowed {
                            // Not answered, so not remembered: a repeat of this Probe (the
                            // sender's SOAP-over-UDP retransmission) gets the answer once the
                            // second is over, instead of being dropped as "already answered".
                            stand_in
                                .lock()
                                .expect("the stand-in lock is never poisoned")
                                .forget(from.ip(), &probe.message_id);
                            ProbeOutcome::RateLimited
                        } else {
                            match repliers.iter().find(|r| {
                                r.local_addr().is_ok_and(|a| a.is_ipv6() == from.is_ipv6())
                            }) {
                                Some(r) => {
                                    tokio::spawn(reply(r.clone(), from, xml, route));
                                    if matched {
                                        ProbeOutcome::Matched
                                    } else {
                                        ProbeOutcome::NoMatch
                                    }
                                }
                                None => {
                                    ProbeOutcome::Silent("no socket of that family to answer from")
                                }
                            }
                        };
                        ListenEvent::Probe {
                            from,
                            route,
                            version: probe.version,
                            types: types_of(&probe),
                            outcome,
                        }
                    }
                };
                ev.send(event);
            }
        });
    }
    drop(events);
    shutdown.await;
    tasks.shutdown().await;
}

/// The sending side of the event channel: never waits, counts what it could not deliver.
#[derive(Clone)]
struct EventSink {
    tx: mpsc::Sender<ListenEvent>,
    lost: Arc<AtomicU64>,
}

impl EventSink {
    fn send(&self, e: ListenEvent) {
        if let Err(mpsc::error::TrySendError::Full(_)) = self.tx.try_send(e) {
            self.lost.fetch_add(1, Ordering::Relaxed);
        }
    }
}

fn types_of(p: &crate::discovery::message::ProbeRequest) -> String {
    match &p.types {
        Some(t) if !t.is_empty() => t
            .iter()
            .map(|q| q.text.as_str())
            .collect::<Vec<_>>()
            .join(" "),
        _ => ProbeKind::Any.as_str().to_string(),
    }
}

/// Sends one ProbeMatches with SOAP-over-UDP's unicast repeat, after APP_MAX_DELAY's random
/// wait when the Probe was multicast.
async fn reply(sock: Arc<UdpSocket>, to: SocketAddr, xml: String, route: RouteKind) {
    let (wait, offsets) = {
        let mut rng = fastrand::Rng::new();
        let wait = match route {
            RouteKind::Multicast => {
                Duration::from_millis(rng.u64(0..=APP_MAX_DELAY.as_millis() as u64))
            }
            RouteKind::Unicast => Duration::ZERO,
        };
        (wait, schedule::offsets(UNICAST_REPEAT, &mut rng))
    };
    tokio::time::sleep(wait).await;
    let mut last = Duration::ZERO;
    for at in offsets {
        tokio::time::sleep(at - last).await;
        last = at;
        let _ = sock.send_to(xml.as_bytes(), to).await;
    }
}
