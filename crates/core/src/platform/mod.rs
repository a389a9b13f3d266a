//! Every difference between operating systems lives here, behind one small API.
//!
//! The rest of the program never looks at an errno, a Winsock code or a socket option: it asks this
//! module what an error *means* ([`ConnectErrorKind`]) and for the raw ICMP facts behind a failed
//! connect ([`IcmpReport`]). Classification is by error code, never by message text, so it does not
//! change with the system's language (RustScan matched "Too many open files" and panicked).

use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use socket2::SockRef;

#[cfg(unix)]
mod unix;
#[cfg(unix)]
use unix as imp;

// Compiled everywhere (plain numbers), so its mapping is tested where the project is built.
#[cfg_attr(not(windows), allow(dead_code))]
mod winsock;

#[cfg(windows)]
mod windows;
#[cfg(windows)]
use windows as imp;

/// What a failed `connect()` (or a socket call before it) says about the network or this machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectErrorKind {
    /// RST (or, on Linux, an ICMP port-unreachable, told apart by the error queue).
    Refused,
    /// The kernel gave up waiting (its own SYN retries ran out).
    TimedOut,
    /// No host: ARP/ND failed, or an ICMP host/admin unreachable arrived.
    HostUnreachable,
    /// No route to the network, or an ICMP network unreachable.
    NetUnreachable,
    /// The local interface is down.
    NetDown,
    /// A local firewall or policy refused to send (EACCES/EPERM, WSAEACCES).
    LocalPolicy,
    /// Out of file descriptors (EMFILE/ENFILE, WSAEMFILE): a local limit, not a port state.
    NoFileDescriptors,
    /// Out of local ports or the source address is gone (EADDRNOTAVAIL, EADDRINUSE).
    NoLocalPorts,
    /// Out of kernel buffers or memory (ENOBUFS/ENOMEM, WSAENOBUFS).
    NoBuffers,
    /// The connection was reset after it was established.
    Reset,
    /// Anything else; reported with its OS text.
    Other,
}

impl ConnectErrorKind {
    /// Local resource exhaustion: the probe said nothing about the target and must be retried
    /// later, never reported as closed or filtered.
    pub fn is_local_exhaustion(self) -> bool {
        matches!(
            self,
            Self::NoFileDescriptors | Self::NoLocalPorts | Self::NoBuffers
        )
    }
}

/// Classifies an error from `socket()`, `connect()` or `SO_ERROR`.
pub fn classify(err: &io::Error) -> ConnectErrorKind {
    match err.raw_os_error() {
        Some(code) => imp::classify_code(code),
        None => match err.kind() {
            io::ErrorKind::ConnectionRefused => ConnectErrorKind::Refused,
            io::ErrorKind::TimedOut => ConnectErrorKind::TimedOut,
            io::ErrorKind::PermissionDenied => ConnectErrorKind::LocalPolicy,
            io::ErrorKind::AddrNotAvailable | io::ErrorKind::AddrInUse => {
                ConnectErrorKind::NoLocalPorts
            }
            io::ErrorKind::OutOfMemory => ConnectErrorKind::NoBuffers,
            io::ErrorKind::ConnectionReset => ConnectErrorKind::Reset,
            _ => ConnectErrorKind::Other,
        },
    }
}

/// True when a non-blocking `connect()` has started and its result will come later.
pub fn connect_in_progress(err: &io::Error) -> bool {
    err.kind() == io::ErrorKind::WouldBlock
        || err.raw_os_error().is_some_and(imp::is_in_progress_code)
}

/// The ICMP message behind a failed connect, as the kernel recorded it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IcmpReport {
    /// ICMPv6 rather than ICMPv4 (the type and code tables differ).
    pub v6: bool,
    pub icmp_type: u8,
    pub code: u8,
    /// Who sent the ICMP message: the target, a router on the way, or this machine itself
    /// (Linux reports a failed ARP/ND resolution as an ICMP host unreachable from itself).
    pub offender: Option<IpAddr>,
}

/// A TCP socket in non-blocking mode: with one system call where the platform allows
/// (`SOCK_NONBLOCK | SOCK_CLOEXEC` on Linux), which matters when a scan opens millions.
pub fn nonblocking_tcp_socket(domain: socket2::Domain) -> io::Result<socket2::Socket> {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        socket2::Socket::new(
            domain,
            socket2::Type::STREAM.nonblocking(),
            Some(socket2::Protocol::TCP),
        )
    }
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    {
        let s = socket2::Socket::new(domain, socket2::Type::STREAM, Some(socket2::Protocol::TCP))?;
        s.set_nonblocking(true)?;
        Ok(s)
    }
}

/// Asks the kernel to keep ICMP errors for this socket so [`take_icmp_error`] can name them.
/// Linux only (IP_RECVERR / IPV6_RECVERR); elsewhere a no-op and errors stay unnamed.
pub fn enable_icmp_errors(sock: &socket2::Socket, ipv6: bool) {
    imp::enable_icmp_errors(sock, ipv6)
}

/// Reads the ICMP error queued on a socket whose connect failed, if the platform records one.
pub fn take_icmp_error(sock: &socket2::Socket) -> Option<IcmpReport> {
    imp::take_icmp_error(sock)
}

/// A snapshot of the neighbour (ARP) table, for checking many addresses at once.
pub fn neighbour_table() -> Option<NeighbourTable> {
    imp::neighbour_table()
}

/// Addresses with a neighbour entry, and whether that entry ever resolved.
#[derive(Debug, Clone, Default)]
pub struct NeighbourTable {
    entries: std::collections::HashMap<IpAddr, bool>,
}

impl NeighbourTable {
    /// Only Linux reads a neighbour table (`/proc/net/arp`); elsewhere there is none to build.
    #[cfg_attr(not(unix), allow(dead_code))]
    pub(crate) fn from_entries(entries: impl IntoIterator<Item = (IpAddr, bool)>) -> Self {
        NeighbourTable {
            entries: entries.into_iter().collect(),
        }
    }

    /// `Some(true)`: resolution was tried and never answered; `None`: no entry (not on-link).
    pub fn unresolved(&self, ip: IpAddr) -> Option<bool> {
        self.entries.get(&ip).map(|resolved| !resolved)
    }
}

/// A file that is a stream to write through, not a file to replace: a FIFO or a character
/// device (`/dev/null`, a terminal). Unix only; elsewhere nothing is.
pub fn is_stream(file_type: &std::fs::FileType) -> bool {
    imp::is_stream(file_type)
}

/// The permissions a new file of the user's gets (the umask applies on Unix: 0o666 asked), for
/// files created under other names first (a temporary file renamed into place), so they end up
/// as readable as a file the user made. `None` where new files inherit their directory's ACL.
pub fn new_file_permissions() -> Option<std::fs::Permissions> {
    imp::new_file_permissions()
}

/// What `vswhere.exe -format json` prints about the Visual Studio installations of this
/// machine (the `--ide` default), or `None`: no Visual Studio Installer here (every platform
/// but Windows), or vswhere failed.
pub fn vswhere_json() -> Option<Vec<u8>> {
    imp::vswhere_json()
}

/// Raises the soft limit on open files to the hard limit and returns the limit now in force,
/// or `None` where the platform has no such limit (Windows).
pub fn raise_fd_limit() -> Option<u64> {
    imp::raise_fd_limit()
}

/// Interface index for an IPv6 zone given by name (`eth0`) or number (`3`, the Windows habit).
pub fn interface_index(zone: &str) -> Option<u32> {
    if let Ok(n) = zone.parse::<u32>() {
        return Some(n);
    }
    imp::interface_index_by_name(zone)
}

/// Name of an interface index, for reports (`fe80::1%eth0`); the number where names are unknown.
pub fn interface_name(index: u32) -> String {
    imp::interface_name(index).unwrap_or_else(|| index.to_string())
}

/// A network interface of this machine, with every IP address it has.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Interface {
    pub name: String,
    pub index: u32,
    pub up: bool,
    pub loopback: bool,
    /// The interface can send and receive multicast (IFF_MULTICAST; on Windows, not
    /// IP_ADAPTER_NO_MULTICAST).
    pub multicast: bool,
    pub addrs: Vec<IfAddr>,
}

/// One address of an interface and the length of its network prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IfAddr {
    pub ip: IpAddr,
    pub prefix: u8,
}

impl Interface {
    /// Up, multicast-capable and not loopback: where WS-Discovery multicast can go.
    pub fn multicasts(&self) -> bool {
        self.up && self.multicast && !self.loopback
    }

    /// The first IPv4 address, the source of multicast sent on this interface.
    pub fn ipv4(&self) -> Option<Ipv4Addr> {
        self.addrs.iter().find_map(|a| match a.ip {
            IpAddr::V4(v4) => Some(v4),
            IpAddr::V6(_) => None,
        })
    }

    pub fn has_ipv6(&self) -> bool {
        self.addrs.iter().any(|a| a.ip.is_ipv6())
    }
}

/// Every interface with its addresses, in index order. The getifaddrs crate reads them the same
/// way on Unix (getifaddrs(3)) and Windows (GetAdaptersAddresses), flags included.
pub fn interfaces() -> io::Result<Vec<Interface>> {
    let mut out: Vec<Interface> = Vec::new();
    for i in getifaddrs::getifaddrs()? {
        let Some(index) = i.index else { continue };
        let pos = match out.iter().position(|o| o.index == index) {
            Some(p) => p,
            None => {
                out.push(Interface {
                    name: i.name.clone(),
                    index,
                    up: i.flags.contains(getifaddrs::InterfaceFlags::UP),
                    loopback: i.flags.contains(getifaddrs::InterfaceFlags::LOOPBACK),
                    multicast: i.flags.contains(getifaddrs::InterfaceFlags::MULTICAST),
                    addrs: Vec::new(),
                });
                out.len() - 1
            }
        };
        if let (Some(ip), mask) = (i.address.ip_addr(), i.address.netmask()) {
            let prefix = match mask {
                Some(IpAddr::V4(m)) => u32::from(m).count_ones() as u8,
                Some(IpAddr::V6(m)) => u128::from(m).count_ones() as u8,
                None => {
                    if ip.is_ipv4() {
                        32
                    } else {
                        128
                    }
                }
            };
            out[pos].addrs.push(IfAddr { ip, prefix });
        }
    }
    out.sort_by_key(|i| i.index);
    Ok(out)
}

/// Sends this socket's IPv4 multicast out of interface `index` (whose address is `addr`).
/// Linux takes the index (`ip_mreqn`), which stays right with several addresses on one
/// interface; Windows takes the index too, written as an address in 0.0.0.0/8 (IP_MULTICAST_IF,
/// Winsock docs); other systems take the address.
pub fn set_multicast_if_v4(sock: SockRef<'_>, index: u32, addr: Ipv4Addr) -> io::Result<()> {
    imp::set_multicast_if_v4(sock, index, addr)
}

/// Joins an IPv4 group on interface `index` (address `addr`), by index where the system allows.
pub fn join_multicast_v4(
    sock: SockRef<'_>,
    group: Ipv4Addr,
    index: u32,
    addr: Ipv4Addr,
) -> io::Result<()> {
    imp::join_multicast_v4(sock, group, index, addr)
}

/// Makes a socket receive multicast only for groups it joined itself. Linux otherwise delivers
/// a group joined by *any* socket to every socket bound to the port (IP_MULTICAST_ALL, ip(7)), so
/// a unicast socket on port 3702 would see every multicast Probe too. Elsewhere a no-op: only
/// sockets that joined receive.
pub fn receive_only_joined_groups(sock: SockRef<'_>, ipv6: bool) -> io::Result<()> {
    imp::receive_only_joined_groups(sock, ipv6)
}

/// The address a socket that receives a multicast group on interface `index` binds to. Unix
/// binds the group address itself, so the socket sees that group and nothing else (as wsdd does);
/// an IPv6 link-local group needs the interface as its scope, so it is one socket per interface.
/// Windows cannot bind a multicast address and binds the wildcard.
pub fn multicast_bind_addr(group: IpAddr, port: u16, index: u32) -> SocketAddr {
    imp::multicast_bind_addr(group, port, index)
}

/// The ICMP errors behind a failed `recv_from` on an unconnected UDP socket. Linux names them
/// through the error queue (IP_RECVERR, enabled with [`enable_icmp_errors`]), sender included;
/// Windows reports an ICMP port unreachable as WSAECONNRESET on the next receive, sender
/// unknown; elsewhere nothing is known.
pub fn udp_icmp_errors(sock: SockRef<'_>, err: &io::Error, ipv6: bool) -> Vec<IcmpReport> {
    imp::udp_icmp_errors(sock, err, ipv6)
}

/// Completes when the user asks a command to stop: Ctrl-C, and on Unix SIGTERM as well (what
/// `kill` and service managers send). The handlers are installed when this is *called*, not
/// when the future is first polled: a command calls it before it starts probing, so an interrupt
/// that comes at once is never the default action (killed, nothing flushed).
pub fn shutdown_signal() -> impl std::future::Future<Output = ()> + Send + 'static {
    imp::shutdown_signal()
}

/// The default time to wait for one connect attempt.
///
/// One second is far above a LAN round trip and still lets a host that drops everything be
/// diagnosed in about two seconds with one retry. Windows is different by design: its TCP stack
/// answers a RST to a SYN by retrying the SYN twice, 500 ms apart (Microsoft KB175523), so a closed
/// port takes about a second to be refused there; a one-second timeout would call it filtered.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = imp::DEFAULT_CONNECT_TIMEOUT;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_without_os_code_fall_back_to_kind() {
        let e = io::Error::new(io::ErrorKind::ConnectionRefused, "x");
        assert_eq!(classify(&e), ConnectErrorKind::Refused);
        let e = io::Error::other("x");
        assert_eq!(classify(&e), ConnectErrorKind::Other);
    }

    #[test]
    fn numeric_zone_is_taken_as_is() {
        assert_eq!(interface_index("7"), Some(7));
    }

    #[test]
    fn local_exhaustion_is_never_a_port_state() {
        for k in [
            ConnectErrorKind::NoFileDescriptors,
            ConnectErrorKind::NoLocalPorts,
            ConnectErrorKind::NoBuffers,
        ] {
            assert!(k.is_local_exhaustion());
        }
        assert!(!ConnectErrorKind::Refused.is_local_exhaustion());
        assert!(!ConnectErrorKind::HostUnreachable.is_local_exhaustion());
    }
}
