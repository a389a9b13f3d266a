//! Every difference between operating systems lives here, behind one small API.
//!
//! The rest of the program never looks at an errno, a Winsock code or a socket option: it asks this
//! module what an error *means* ([`ConnectErrorKind`]) and for the raw ICMP facts behind a failed
//! connect ([`IcmpReport`]). Classification is by error code, never by message text, so it does not
//! change with the system's language (RustScan matched "Too many open files" and panicked).

use std::io;
use std::net::IpAddr;
use std::time::Duration;

#[cfg(unix)]
mod unix;
#[cfg(unix)]
use unix as imp;

#[cfg(windows)]
mod windows;
#[cfg(windows)]
use windows as imp;

/// What a failed `connect()` (or a socket call before it) says about the network or this machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectErrorKind {
    /// RST (or, on Linux, an ICMP port-unreachable, told apart by [`take_icmp_error`]).
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

/// Whether this machine tried to resolve `ip`'s link-layer address and got no answer
/// (an ARP entry that is incomplete or failed). `None` when there is no entry (not on-link) or
/// the platform cannot tell. A SYN to such an address never left this machine, so its silence
/// is not a firewall's doing. Linux IPv4 only (`/proc/net/arp`).
pub fn neighbour_unresolved(ip: IpAddr) -> Option<bool> {
    imp::neighbour_table().and_then(|t| t.unresolved(ip))
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
    pub fn from_entries(entries: impl IntoIterator<Item = (IpAddr, bool)>) -> Self {
        NeighbourTable {
            entries: entries.into_iter().collect(),
        }
    }

    /// `Some(true)`: resolution was tried and never answered; `None`: no entry (not on-link).
    pub fn unresolved(&self, ip: IpAddr) -> Option<bool> {
        self.entries.get(&ip).map(|resolved| !resolved)
    }
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

/// Resolves when the user or the service manager asks the process to stop: Ctrl-C everywhere,
/// SIGTERM on Unix as well (what `systemctl stop`, `docker stop` and `kill` send).
pub async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
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
