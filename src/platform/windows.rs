//! Windows: Winsock error codes mapped onto the same kinds as their Unix counterparts.
//!
//! Winsock has no per-socket ICMP error queue and no descriptor limit to raise, so those
//! functions report "unknown" and the probe falls back to the errno-level classification.

use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use socket2::SockRef;

use super::{ConnectErrorKind, IcmpReport};

/// Longer than on Unix: a Windows client retries a SYN twice after a RST, 500 ms apart
/// (KB175523), so a refused connect takes about a second to come back.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_millis(2000);

// Winsock error codes (winerror.h); spelled out to keep this module free of a Windows-only crate.
const WSAEACCES: i32 = 10013;
const WSAEMFILE: i32 = 10024;
const WSAEWOULDBLOCK: i32 = 10035;
const WSAEINPROGRESS: i32 = 10036;
const WSAEALREADY: i32 = 10037;
const WSAEADDRINUSE: i32 = 10048;
const WSAEADDRNOTAVAIL: i32 = 10049;
const WSAENETDOWN: i32 = 10050;
const WSAENETUNREACH: i32 = 10051;
const WSAECONNRESET: i32 = 10054;
const WSAENOBUFS: i32 = 10055;
const WSAETIMEDOUT: i32 = 10060;
const WSAECONNREFUSED: i32 = 10061;
const WSAEHOSTDOWN: i32 = 10064;
const WSAEHOSTUNREACH: i32 = 10065;

pub fn classify_code(code: i32) -> ConnectErrorKind {
    use ConnectErrorKind as K;
    match code {
        WSAECONNREFUSED => K::Refused,
        WSAETIMEDOUT => K::TimedOut,
        WSAEHOSTUNREACH | WSAEHOSTDOWN => K::HostUnreachable,
        WSAENETUNREACH => K::NetUnreachable,
        WSAENETDOWN => K::NetDown,
        WSAEACCES => K::LocalPolicy,
        WSAEMFILE => K::NoFileDescriptors,
        WSAEADDRNOTAVAIL | WSAEADDRINUSE => K::NoLocalPorts,
        WSAENOBUFS => K::NoBuffers,
        WSAECONNRESET => K::Reset,
        _ => K::Other,
    }
}

pub fn is_in_progress_code(code: i32) -> bool {
    matches!(code, WSAEWOULDBLOCK | WSAEINPROGRESS | WSAEALREADY)
}

pub fn enable_icmp_errors(_sock: &socket2::Socket, _ipv6: bool) {}

pub fn take_icmp_error(_sock: &socket2::Socket) -> Option<IcmpReport> {
    None
}

pub fn neighbour_table() -> Option<super::NeighbourTable> {
    None
}

/// Winsock reads an IP_MULTICAST_IF value in 0.0.0.0/8 as an interface index (in network byte
/// order), which is what socket2 writes for `0.0.0.index`.
pub fn set_multicast_if_v4(sock: SockRef<'_>, index: u32, addr: Ipv4Addr) -> io::Result<()> {
    if index < (1 << 24) {
        sock.set_multicast_if_v4(&Ipv4Addr::from(index))
    } else {
        sock.set_multicast_if_v4(&addr)
    }
}

pub fn join_multicast_v4(
    sock: SockRef<'_>,
    group: Ipv4Addr,
    index: u32,
    _addr: Ipv4Addr,
) -> io::Result<()> {
    sock.join_multicast_v4_n(&group, &socket2::InterfaceIndexOrAddress::Index(index))
}

/// Winsock delivers multicast only to sockets that joined the group.
pub fn receive_only_joined_groups(_sock: SockRef<'_>, _ipv6: bool) -> io::Result<()> {
    Ok(())
}

/// Winsock cannot bind a multicast address: bind the wildcard and rely on the join.
pub fn multicast_bind_addr(group: IpAddr, port: u16, _index: u32) -> SocketAddr {
    match group {
        IpAddr::V4(_) => SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), port),
        IpAddr::V6(_) => SocketAddr::new(IpAddr::V6(std::net::Ipv6Addr::UNSPECIFIED), port),
    }
}

/// After a datagram draws an ICMP port unreachable, Winsock fails the next `recvfrom` on the
/// unconnected socket with WSAECONNRESET (the SIO_UDP_CONNRESET behaviour); it does not say who
/// sent the ICMP message.
pub fn udp_icmp_errors(_sock: SockRef<'_>, err: &io::Error, ipv6: bool) -> Vec<IcmpReport> {
    if err.raw_os_error() == Some(WSAECONNRESET) {
        let (icmp_type, code) = if ipv6 { (1, 4) } else { (3, 3) };
        vec![IcmpReport {
            v6: ipv6,
            icmp_type,
            code,
            offender: None,
        }]
    } else {
        Vec::new()
    }
}

pub async fn shutdown_signal() {
    let _ = tokio::signal::ctrl_c().await;
}

pub fn raise_fd_limit() -> Option<u64> {
    None
}

/// Windows writes zones as numbers (`fe80::1%12`); names are not resolved here.
pub fn interface_index_by_name(_name: &str) -> Option<u32> {
    None
}

pub fn interface_name(_index: u32) -> Option<String> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn winsock_codes_classify_like_their_unix_counterparts() {
        assert_eq!(classify_code(WSAECONNREFUSED), ConnectErrorKind::Refused);
        assert_eq!(classify_code(WSAETIMEDOUT), ConnectErrorKind::TimedOut);
        assert_eq!(
            classify_code(WSAEHOSTUNREACH),
            ConnectErrorKind::HostUnreachable
        );
        assert_eq!(
            classify_code(WSAENETUNREACH),
            ConnectErrorKind::NetUnreachable
        );
        assert_eq!(classify_code(WSAEACCES), ConnectErrorKind::LocalPolicy);
        assert_eq!(classify_code(WSAEADDRINUSE), ConnectErrorKind::NoLocalPorts);
        assert_eq!(
            classify_code(WSAEMFILE),
            ConnectErrorKind::NoFileDescriptors
        );
        assert_eq!(classify_code(WSAENOBUFS), ConnectErrorKind::NoBuffers);
    }
}
