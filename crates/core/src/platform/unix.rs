//! Unix: errno classification, Linux's IP_RECVERR error queue, RLIMIT_NOFILE, if_nametoindex.

use std::ffi::{CStr, CString};
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use socket2::SockRef;

use super::{ConnectErrorKind, IcmpReport, NeighbourTable};

pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(1);

pub fn classify_code(code: i32) -> ConnectErrorKind {
    use ConnectErrorKind as K;
    match code {
        libc::ECONNREFUSED => K::Refused,
        libc::ETIMEDOUT => K::TimedOut,
        libc::EHOSTUNREACH | libc::EHOSTDOWN => K::HostUnreachable,
        libc::ENETUNREACH => K::NetUnreachable,
        libc::ENETDOWN => K::NetDown,
        // EPERM is what Linux returns when a local netfilter rule drops the SYN on output.
        libc::EACCES | libc::EPERM => K::LocalPolicy,
        libc::EMFILE | libc::ENFILE => K::NoFileDescriptors,
        libc::EADDRNOTAVAIL | libc::EADDRINUSE => K::NoLocalPorts,
        libc::ENOBUFS | libc::ENOMEM => K::NoBuffers,
        libc::ECONNRESET => K::Reset,
        _ => K::Other,
    }
}

pub fn is_in_progress_code(code: i32) -> bool {
    code == libc::EINPROGRESS || code == libc::EALREADY || code == libc::EAGAIN
}

#[cfg(any(target_os = "linux", target_os = "android"))]
pub fn enable_icmp_errors(sock: &socket2::Socket, ipv6: bool) {
    use std::os::fd::AsRawFd;
    let one: libc::c_int = 1;
    let (level, name) = if ipv6 {
        (libc::SOL_IPV6, libc::IPV6_RECVERR)
    } else {
        (libc::SOL_IP, libc::IP_RECVERR)
    };
    // Best effort: without it the probe still works, it only cannot name the ICMP kind.
    // SAFETY: fd is a live socket owned by `sock`; the option value is a c_int on the stack.
    unsafe {
        libc::setsockopt(
            sock.as_raw_fd(),
            level,
            name,
            (&one as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        );
    }
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
pub fn enable_icmp_errors(_sock: &socket2::Socket, _ipv6: bool) {}

/// Reads one entry of the socket's error queue (`MSG_ERRQUEUE`), the only way a TCP connect can
/// learn the ICMP type, code and sender behind its errno (see ip(7), IP_RECVERR).
#[cfg(any(target_os = "linux", target_os = "android"))]
pub fn take_icmp_error(sock: &socket2::Socket) -> Option<IcmpReport> {
    use std::os::fd::AsRawFd;
    // u64 backing keeps the control buffer aligned for cmsghdr.
    let mut control = [0u64; 64];
    let mut data = [0u8; 1];
    let mut iov = libc::iovec {
        iov_base: data.as_mut_ptr().cast(),
        iov_len: data.len(),
    };
    // SAFETY: msghdr is plain data; every pointer set below outlives the recvmsg call.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.as_mut_ptr().cast();
    msg.msg_controllen = std::mem::size_of_val(&control) as _;
    // SAFETY: fd is a live socket; msg points at buffers we own.
    let n = unsafe {
        libc::recvmsg(
            sock.as_raw_fd(),
            &mut msg,
            libc::MSG_ERRQUEUE | libc::MSG_DONTWAIT,
        )
    };
    if n < 0 {
        return None;
    }
    // SAFETY: the CMSG_* macros walk the control buffer the kernel just filled, bounded by
    // msg_controllen; the extended error and the offender address follow the layout of ip(7).
    unsafe {
        let mut cmsg = libc::CMSG_FIRSTHDR(&msg);
        while !cmsg.is_null() {
            let level = (*cmsg).cmsg_level;
            let kind = (*cmsg).cmsg_type;
            let is_v4 = level == libc::SOL_IP && kind == libc::IP_RECVERR;
            let is_v6 = level == libc::SOL_IPV6 && kind == libc::IPV6_RECVERR;
            if is_v4 || is_v6 {
                let ee_ptr = libc::CMSG_DATA(cmsg) as *const libc::sock_extended_err;
                let ee = std::ptr::read_unaligned(ee_ptr);
                let origin_icmp = ee.ee_origin == libc::SO_EE_ORIGIN_ICMP
                    || ee.ee_origin == libc::SO_EE_ORIGIN_ICMP6;
                if origin_icmp {
                    let offender = read_sockaddr(libc::SO_EE_OFFENDER(ee_ptr) as *const u8);
                    return Some(IcmpReport {
                        v6: ee.ee_origin == libc::SO_EE_ORIGIN_ICMP6,
                        icmp_type: ee.ee_type,
                        code: ee.ee_code,
                        offender,
                    });
                }
            }
            cmsg = libc::CMSG_NXTHDR(&msg, cmsg);
        }
    }
    None
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
pub fn take_icmp_error(_sock: &socket2::Socket) -> Option<IcmpReport> {
    None
}

/// Decodes a sockaddr_in / sockaddr_in6 at `p` (unaligned) into an address.
///
/// # Safety
/// `p` must point at a readable sockaddr of the family its first field names.
#[cfg(any(target_os = "linux", target_os = "android"))]
unsafe fn read_sockaddr(p: *const u8) -> Option<IpAddr> {
    let family = std::ptr::read_unaligned(p as *const libc::sa_family_t);
    match libc::c_int::from(family) {
        libc::AF_INET => {
            let sin = std::ptr::read_unaligned(p as *const libc::sockaddr_in);
            Some(IpAddr::V4(Ipv4Addr::from(u32::from_be(
                sin.sin_addr.s_addr,
            ))))
        }
        libc::AF_INET6 => {
            let sin6 = std::ptr::read_unaligned(p as *const libc::sockaddr_in6);
            Some(IpAddr::V6(Ipv6Addr::from(sin6.sin6_addr.s6_addr)))
        }
        _ => None,
    }
}

#[cfg(target_os = "linux")]
pub fn neighbour_table() -> Option<NeighbourTable> {
    let table = std::fs::read_to_string("/proc/net/arp").ok()?;
    Some(parse_arp_table(&table))
}

#[cfg(not(target_os = "linux"))]
pub fn neighbour_table() -> Option<NeighbourTable> {
    None
}

/// Reads the text of `/proc/net/arp`: ATF_COM (0x2) marks a resolved entry; incomplete and
/// failed entries have it clear.
pub fn parse_arp_table(table: &str) -> NeighbourTable {
    NeighbourTable::from_entries(table.lines().skip(1).filter_map(|line| {
        let mut f = line.split_whitespace();
        let ip: Ipv4Addr = f.next()?.parse().ok()?;
        let flags = u32::from_str_radix(f.nth(1)?.trim_start_matches("0x"), 16).ok()?;
        Some((IpAddr::V4(ip), flags & 0x2 != 0))
    }))
}

#[cfg(any(target_os = "linux", target_os = "android"))]
pub fn set_multicast_if_v4(sock: SockRef<'_>, index: u32, addr: Ipv4Addr) -> io::Result<()> {
    use std::os::fd::AsRawFd;
    let mreqn = libc::ip_mreqn {
        imr_multiaddr: libc::in_addr { s_addr: 0 },
        imr_address: libc::in_addr {
            s_addr: u32::from(addr).to_be(),
        },
        imr_ifindex: index as libc::c_int,
    };
    // SAFETY: fd is a live socket; the option value is an ip_mreqn on the stack (ip(7)).
    let rc = unsafe {
        libc::setsockopt(
            sock.as_raw_fd(),
            libc::IPPROTO_IP,
            libc::IP_MULTICAST_IF,
            (&mreqn as *const libc::ip_mreqn).cast(),
            std::mem::size_of::<libc::ip_mreqn>() as libc::socklen_t,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
pub fn set_multicast_if_v4(sock: SockRef<'_>, _index: u32, addr: Ipv4Addr) -> io::Result<()> {
    sock.set_multicast_if_v4(&addr)
}

/// By index where socket2 offers `ip_mreqn` (Linux, Android, FreeBSD, macOS), else by address.
pub fn join_multicast_v4(
    sock: SockRef<'_>,
    group: Ipv4Addr,
    index: u32,
    addr: Ipv4Addr,
) -> io::Result<()> {
    #[cfg(any(
        target_os = "linux",
        target_os = "android",
        target_os = "freebsd",
        target_os = "macos"
    ))]
    {
        let _ = addr;
        sock.join_multicast_v4_n(&group, &socket2::InterfaceIndexOrAddress::Index(index))
    }
    #[cfg(not(any(
        target_os = "linux",
        target_os = "android",
        target_os = "freebsd",
        target_os = "macos"
    )))]
    {
        let _ = index;
        sock.join_multicast_v4(&group, &addr)
    }
}

#[cfg(target_os = "linux")]
pub fn receive_only_joined_groups(sock: SockRef<'_>, ipv6: bool) -> io::Result<()> {
    if ipv6 {
        sock.set_multicast_all_v6(false)
    } else {
        sock.set_multicast_all_v4(false)
    }
}

#[cfg(not(target_os = "linux"))]
pub fn receive_only_joined_groups(_sock: SockRef<'_>, _ipv6: bool) -> io::Result<()> {
    Ok(())
}

pub fn multicast_bind_addr(group: IpAddr, port: u16, index: u32) -> SocketAddr {
    match group {
        IpAddr::V4(_) => SocketAddr::new(group, port),
        IpAddr::V6(g) => SocketAddr::V6(std::net::SocketAddrV6::new(g, port, 0, index)),
    }
}

#[cfg(any(target_os = "linux", target_os = "android"))]
pub fn udp_icmp_errors(sock: SockRef<'_>, _err: &io::Error, _ipv6: bool) -> Vec<IcmpReport> {
    // Each ICMP error is one entry of the queue; a few is all a probe's handful of datagrams
    // can cause, and the bound keeps a flood of them from holding the receive loop.
    let mut out = Vec::new();
    for _ in 0..16 {
        match take_icmp_error(&sock) {
            Some(r) => out.push(r),
            None => break,
        }
    }
    out
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
pub fn udp_icmp_errors(_sock: SockRef<'_>, _err: &io::Error, _ipv6: bool) -> Vec<IcmpReport> {
    Vec::new()
}

pub fn shutdown_signal() -> impl std::future::Future<Output = ()> + Send + 'static {
    use tokio::signal::unix::{signal, SignalKind};
    // signal() installs the handler now; ctrl_c() would only when first polled.
    let int = signal(SignalKind::interrupt());
    let term = signal(SignalKind::terminate());
    async move {
        match (int, term) {
            (Ok(mut int), Ok(mut term)) => {
                tokio::select! {
                    _ = int.recv() => {}
                    _ = term.recv() => {}
                }
            }
            (Ok(mut int), Err(_)) => {
                int.recv().await;
            }
            (Err(_), Ok(mut term)) => {
                term.recv().await;
            }
            (Err(_), Err(_)) => std::future::pending().await,
        }
    }
}

pub fn is_stream(file_type: &std::fs::FileType) -> bool {
    use std::os::unix::fs::FileTypeExt;
    file_type.is_fifo() || file_type.is_char_device()
}

pub fn new_file_permissions() -> Option<std::fs::Permissions> {
    use std::os::unix::fs::PermissionsExt;
    Some(std::fs::Permissions::from_mode(0o666))
}

/// Visual Studio is not installed on Unix.
pub fn vswhere_json() -> Option<Vec<u8>> {
    None
}

pub fn raise_fd_limit() -> Option<u64> {
    // SAFETY: getrlimit/setrlimit with a valid pointer to a local struct.
    unsafe {
        let mut lim: libc::rlimit = std::mem::zeroed();
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) != 0 {
            return None;
        }
        if lim.rlim_cur < lim.rlim_max {
            let mut want = lim;
            want.rlim_cur = lim.rlim_max;
            // macOS refuses values above OPEN_MAX even when the hard limit is "unlimited".
            #[cfg(target_os = "macos")]
            {
                want.rlim_cur = want.rlim_cur.min(10240);
            }
            if libc::setrlimit(libc::RLIMIT_NOFILE, &want) == 0 {
                lim = want;
            }
        }
        Some(lim.rlim_cur as u64)
    }
}

pub fn interface_index_by_name(name: &str) -> Option<u32> {
    let c = CString::new(name).ok()?;
    // SAFETY: c is a valid NUL-terminated string.
    let idx = unsafe { libc::if_nametoindex(c.as_ptr()) };
    (idx != 0).then_some(idx)
}

pub fn interface_name(index: u32) -> Option<String> {
    let mut buf = [0 as libc::c_char; libc::IF_NAMESIZE];
    // SAFETY: buf has IF_NAMESIZE bytes as if_indextoname requires.
    let p = unsafe { libc::if_indextoname(index, buf.as_mut_ptr()) };
    if p.is_null() {
        return None;
    }
    // SAFETY: on success buf holds a NUL-terminated name.
    Some(
        unsafe { CStr::from_ptr(buf.as_ptr()) }
            .to_string_lossy()
            .into_owned(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errnos_classify_by_number() {
        assert_eq!(classify_code(libc::ECONNREFUSED), ConnectErrorKind::Refused);
        assert_eq!(
            classify_code(libc::EMFILE),
            ConnectErrorKind::NoFileDescriptors
        );
        assert_eq!(
            classify_code(libc::EADDRNOTAVAIL),
            ConnectErrorKind::NoLocalPorts
        );
        assert_eq!(classify_code(libc::ENOBUFS), ConnectErrorKind::NoBuffers);
        assert_eq!(
            classify_code(libc::EHOSTUNREACH),
            ConnectErrorKind::HostUnreachable
        );
        assert_eq!(
            classify_code(libc::ENETUNREACH),
            ConnectErrorKind::NetUnreachable
        );
        assert_eq!(classify_code(libc::EPERM), ConnectErrorKind::LocalPolicy);
        assert_eq!(classify_code(libc::EINVAL), ConnectErrorKind::Other);
    }

    #[test]
    fn arp_table_flags() {
        let t = "IP address       HW type     Flags       HW address            Mask     Device\n\
                 10.99.0.78       0x1         0x0         00:00:00:00:00:00     *        va\n\
                 10.99.0.2        0x1         0x2         32:45:39:08:1f:0a     *        va\n";
        let t = parse_arp_table(t);
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        assert_eq!(t.unresolved(ip("10.99.0.78")), Some(true));
        assert_eq!(t.unresolved(ip("10.99.0.2")), Some(false));
        assert_eq!(t.unresolved(ip("10.99.0.3")), None);
        assert_eq!(parse_arp_table("garbage").unresolved(ip("10.99.0.3")), None);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn loopback_interface_has_an_index_and_a_name() {
        let idx = interface_index_by_name("lo").expect("lo exists on Linux");
        assert_eq!(interface_name(idx).as_deref(), Some("lo"));
        assert_eq!(interface_index_by_name("no-such-if0"), None);
    }
}
