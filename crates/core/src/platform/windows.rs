//! Windows: Winsock error codes mapped onto the same kinds as their Unix counterparts.
//!
//! Winsock has no per-socket ICMP error queue and no descriptor limit to raise, so those
//! functions report "unknown" and the probe falls back to the errno-level classification.

use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use socket2::SockRef;

use super::IcmpReport;

/// Longer than on Unix: a Windows client retries a SYN twice after a RST, 500 ms apart
/// (KB175523), so a refused connect takes about a second to come back.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_millis(2000);

use super::winsock::WSAECONNRESET;
pub use super::winsock::{classify_code, is_in_progress_code};

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

pub fn shutdown_signal() -> impl std::future::Future<Output = ()> + Send + 'static {
    // windows::ctrl_c() installs the handler now; tokio::signal::ctrl_c() only when polled.
    let handler = tokio::signal::windows::ctrl_c();
    async move {
        match handler {
            Ok(mut c) => {
                c.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    }
}

pub fn is_stream(_file_type: &std::fs::FileType) -> bool {
    false
}

pub fn new_file_permissions() -> Option<std::fs::Permissions> {
    None
}

/// Runs the Visual Studio Installer's vswhere, where the installer always puts it
/// (`%ProgramFiles(x86)%\Microsoft Visual Studio\Installer\vswhere.exe`, VS 2017 and later);
/// previews included, so a VS 2026 Insiders install counts.
pub fn vswhere_json() -> Option<Vec<u8>> {
    let base = std::env::var_os("ProgramFiles(x86)")?;
    let exe = std::path::Path::new(&base).join(r"Microsoft Visual Studio\Installer\vswhere.exe");
    let out = std::process::Command::new(exe)
        .args(["-format", "json", "-utf8", "-prerelease"])
        .output()
        .ok()?;
    out.status.success().then_some(out.stdout)
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
