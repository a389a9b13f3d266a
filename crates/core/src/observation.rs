//! What was observed about one target: its resolution and every port of every address.
//!
//! This is the hand-off between the probing side (which fills it) and the diagnosis and reports
//! (which only read it), so neither side depends on the other.

use std::net::IpAddr;
use std::time::Duration;

use crate::catalog::PlannedPort;
use crate::discovery::DiscoveryObservation;
use crate::probe::nbstat::{NbFailure, NodeStatus};
use crate::probe::smb2::{Smb2Failure, Smb2Reading};
use crate::probe::PortResult;
use crate::resolve::Resolution;
use crate::target::{Address, Target};

/// One port of one address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortObservation {
    pub planned: PlannedPort,
    pub result: PortResult,
}

/// Every probed port of one address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddressObservation {
    pub address: Address,
    pub ports: Vec<PortObservation>,
}

impl AddressObservation {
    /// Ports that are open with nothing contradicting the debugger.
    pub fn debugger_ports(&self) -> impl Iterator<Item = &PortObservation> {
        self.ports
            .iter()
            .filter(|p| p.result.is_debugger_candidate())
    }

    /// Some port got an answer from the host (open, closed or rejected by the host itself):
    /// the host is up, so silence on its other ports is a firewall, not a dead host.
    pub fn host_answered(&self) -> bool {
        let host = self.address.ip;
        self.ports.iter().any(|p| p.result.host_answered(host))
    }

    pub fn scope(&self) -> AddressScope {
        AddressScope::of(self.address.ip)
    }
}

/// Everything observed about one target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostObservation {
    pub target: Target,
    pub resolution: Resolution,
    pub addresses: Vec<AddressObservation>,
    /// What WS-Discovery (UDP 3702) showed; `None` when it was not run (`--no-discovery`, or
    /// nothing resolved).
    pub discovery: Option<DiscoveryObservation>,
    /// What each address said about itself as a Windows host (SMB2 NEGOTIATE, NetBIOS node
    /// status); empty when not asked (`--no-windows-checks`, scans, watch, `--discover`).
    pub windows: Vec<WindowsObservation>,
    /// Wall time from the start of resolution to the last answer (ports and discovery).
    pub elapsed: Duration,
}

/// Past the open port, for one address: the unauthenticated answers of a Windows host (or
/// Samba) that tell its clock and its own name. No credential is sent to get them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WindowsObservation {
    pub ip: IpAddr,
    /// SMB2 NEGOTIATE on TCP 445: dialect, signing, the server's clock against ours.
    pub smb2: Result<Smb2Reading, Smb2Failure>,
    /// NetBIOS node status on UDP 137: the machine's own name and workgroup or domain.
    pub netbios: Result<NodeStatus, NbFailure>,
}

impl HostObservation {
    /// The Windows checks of `ip`, when they ran.
    pub fn windows_of(&self, ip: IpAddr) -> Option<&WindowsObservation> {
        self.windows.iter().find(|w| w.ip == ip)
    }

    pub fn debugger_found(&self) -> bool {
        self.addresses
            .iter()
            .any(|a| a.debugger_ports().next().is_some())
    }
}

/// Where an address lives, for the "remote debugging over the internet" warning and reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AddressScope {
    Loopback,
    /// RFC 1918, IPv6 unique-local, CGNAT (100.64/10).
    Private,
    LinkLocal,
    /// Reachable from the internet: routable unicast outside every reserved block.
    Public,
    /// Documentation, benchmarking, multicast, unspecified and other special blocks.
    Special,
}

impl AddressScope {
    pub fn of(ip: IpAddr) -> AddressScope {
        match ip {
            IpAddr::V4(v4) => {
                let o = v4.octets();
                if v4.is_loopback() {
                    AddressScope::Loopback
                } else if v4.is_private() || (o[0] == 100 && (64..128).contains(&o[1])) {
                    AddressScope::Private
                } else if v4.is_link_local() {
                    AddressScope::LinkLocal
                } else if v4.is_unspecified()
                    || v4.is_broadcast()
                    || v4.is_multicast()
                    || v4.is_documentation()
                    || o[0] == 0
                    || o[0] >= 240
                    || (o[0] == 198 && (18..20).contains(&o[1]))
                    || (o[0] == 192 && o[1] == 0 && o[2] == 0)
                {
                    AddressScope::Special
                } else {
                    AddressScope::Public
                }
            }
            IpAddr::V6(v6) => {
                let s = v6.segments();
                if let Some(v4) = v6.to_ipv4_mapped() {
                    return AddressScope::of(IpAddr::V4(v4));
                }
                if v6.is_loopback() {
                    AddressScope::Loopback
                } else if (s[0] & 0xfe00) == 0xfc00 {
                    AddressScope::Private
                } else if (s[0] & 0xffc0) == 0xfe80 {
                    AddressScope::LinkLocal
                } else if (s[0] & 0xe000) == 0x2000 && !(s[0] == 0x2001 && s[1] == 0x0db8) {
                    AddressScope::Public
                } else {
                    AddressScope::Special
                }
            }
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            AddressScope::Loopback => "loopback",
            AddressScope::Private => "private",
            AddressScope::LinkLocal => "link_local",
            AddressScope::Public => "public",
            AddressScope::Special => "special",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scope(s: &str) -> AddressScope {
        AddressScope::of(s.parse().unwrap())
    }

    #[test]
    fn scopes() {
        assert_eq!(scope("127.0.0.1"), AddressScope::Loopback);
        assert_eq!(scope("10.1.2.3"), AddressScope::Private);
        assert_eq!(scope("172.16.0.1"), AddressScope::Private);
        assert_eq!(scope("192.168.1.1"), AddressScope::Private);
        assert_eq!(scope("100.64.0.1"), AddressScope::Private);
        assert_eq!(scope("169.254.1.1"), AddressScope::LinkLocal);
        assert_eq!(scope("8.8.8.8"), AddressScope::Public);
        assert_eq!(scope("203.0.113.5"), AddressScope::Special);
        assert_eq!(scope("198.18.0.1"), AddressScope::Special);
        assert_eq!(scope("::1"), AddressScope::Loopback);
        assert_eq!(scope("fd00::1"), AddressScope::Private);
        assert_eq!(scope("fe80::1"), AddressScope::LinkLocal);
        assert_eq!(scope("2a00:1450::1"), AddressScope::Public);
        assert_eq!(scope("2001:db8::1"), AddressScope::Special);
        assert_eq!(scope("::ffff:10.0.0.1"), AddressScope::Private);
    }
}
