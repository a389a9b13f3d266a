//! WS-Discovery (SOAP-over-UDP, port 3702): what Visual Studio's Find dialog uses to list remote
//! debuggers on the local link.
//!
//! - [`message`]: the Probe we send and the ProbeMatches we read (pure, fuzzed);
//! - [`classify`]: what answered, and whether anything in it points at the debugger;
//! - [`collect`]: replies in, de-duplicated responders and counted rejects out (pure);
//! - [`client`]: the sockets: the discovery probe of one target, and `--discover`;
//! - [`responder`]: the stand-in monitor's answers for `msvsmon-probe listen`.
//!
//! A reply proves "this host answers WS-Discovery" and no more; no reply is inconclusive
//! (discovery off with `msvsmon /nodiscovery`, UDP 3702 blocked, or another subnet: multicast does
//! not cross routers). How real responders behave (WSDAPI, wsdd, python wsdiscovery) is in the
//! docs/ws-discovery.md and exercised by `tests/lab_discovery.rs`.

pub mod classify;
pub mod client;
pub mod collect;
pub mod message;
pub mod responder;
#[cfg(test)]
mod robustness;
#[doc(hidden)]
pub mod samples;
pub mod schedule;

use std::collections::BTreeSet;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use serde::Serialize;

use crate::probe::IcmpDetail;
use crate::target::Address;
pub use classify::{Classification, DebuggerHint, ResponderKind};
pub use message::{ProbeKind, QName, Version};

/// The WS-Discovery port, UDP.
pub const PORT: u16 = 3702;
/// The IPv4 multicast group.
pub const GROUP_V4: Ipv4Addr = Ipv4Addr::new(239, 255, 255, 250);
/// The IPv6 link-local multicast group.
pub const GROUP_V6: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 0xc);

/// The namespace of the stand-in's Type. `.invalid` is reserved (RFC 2606), so no one else can
/// ever own it, and it names this tool for anyone who reads a capture.
pub const STAND_IN_NS: &str = "http://msvsmon-probe.invalid/ws-discovery/2026/stand-in";
/// The local name of the stand-in's Type: `msp:RemoteDebuggerStandIn`.
pub const STAND_IN_TYPE: &str = "RemoteDebuggerStandIn";
pub const STAND_IN_PREFIX: &str = "msp";

/// How a Probe travelled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RouteKind {
    /// To the group on one interface, TTL / hop limit 1: what Windows answers.
    Multicast,
    /// To the host's port 3702: what wsdd and Windows ignore, python wsdiscovery and WCF answer.
    Unicast,
}

impl RouteKind {
    pub fn as_str(self) -> &'static str {
        match self {
            RouteKind::Multicast => "multicast",
            RouteKind::Unicast => "unicast",
        }
    }
}

/// Where a target address is, seen from here; decides the routes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reach {
    /// Loopback, or an address of this machine: only the unicast Probe (multicast with loop off
    /// never comes back to this host).
    ThisMachine,
    /// In the subnet (or IPv6 prefix, or zone) of one of this machine's interfaces.
    OnLink {
        interface: String,
        index: u32,
        /// The interface is up and multicast-capable, so the Probes are multicast there too.
        multicast: bool,
    },
    /// Behind a router: multicast would not get there; only the unicast Probe.
    OffLink,
}

impl Reach {
    pub fn as_str(&self) -> &'static str {
        match self {
            Reach::ThisMachine => "this_machine",
            Reach::OnLink { .. } => "on_link",
            Reach::OffLink => "off_link",
        }
    }

    pub fn multicasts(&self) -> bool {
        matches!(
            self,
            Reach::OnLink {
                multicast: true,
                ..
            }
        )
    }
}

/// The Probes sent one way: to one destination, for one target address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteRecord {
    pub kind: RouteKind,
    /// The target address this route serves.
    pub address: Address,
    pub destination: SocketAddr,
    /// The interface multicast left by.
    pub interface: Option<String>,
    /// Datagrams sent (every Probe, every repeat).
    pub datagrams: u32,
    /// The first send error, in the operating system's words.
    pub error: Option<String>,
}

/// One answering endpoint: the replies of one source address for one endpoint reference,
/// merged across our Probes and their repeats.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Responder {
    /// Where the replies came from (address and UDP port; often not 3702).
    pub source: SocketAddr,
    pub version: Version,
    pub endpoint: Option<String>,
    pub types: Vec<QName>,
    pub scopes: Vec<String>,
    pub xaddrs: Vec<String>,
    pub metadata_version: Option<u64>,
    /// An empty ProbeMatches: it answered and nothing matched.
    pub empty: bool,
    /// Which of our Probes it answered.
    pub answered: BTreeSet<(RouteKind, Version, ProbeKind)>,
    /// Datagrams received for it, repeats included.
    pub datagrams: u32,
    /// Time from the first Probe to its first reply.
    pub first_reply: Duration,
    /// Something in its replies was cut to the parser's limits.
    pub truncated: bool,
    pub classification: Classification,
}

/// Datagrams that were read and set aside, by why. None of them stops or slows the probe.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Ignored {
    /// Not well-formed XML: garbage, truncated, DOCTYPE, unknown entity, too deep, not UTF-8.
    pub malformed: u32,
    /// Well-formed but not a ProbeMatches (another message, another namespace, not SOAP).
    pub not_probe_matches: u32,
    /// A ProbeMatches whose RelatesTo is none of our Probes.
    pub unrelated: u32,
    /// A repeat of a reply already counted (same source, same reply MessageID).
    pub duplicates: u32,
    /// A reply to our multicast Probe from a host that is not the target (others on the link
    /// answer it too). Answers to the unicast Probe are the target's from any address.
    pub other_hosts: u32,
    /// ProbeMatch elements or responders beyond the limits kept.
    pub over_limit: u32,
    /// Datagrams past a sender's or the run's parse budget (`collect::PER_SOURCE`, `PER_RUN`):
    /// a flood, not parsed.
    pub not_parsed: u32,
}

impl Ignored {
    pub fn total(&self) -> u32 {
        self.malformed
            + self.not_probe_matches
            + self.unrelated
            + self.duplicates
            + self.other_hosts
            + self.over_limit
            + self.not_parsed
    }
}

/// The overall answer for a target's UDP 3702.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DiscoveryStatus {
    /// At least one ProbeMatch from the target: it answers WS-Discovery.
    Answered,
    /// Only empty ProbeMatches: it answers WS-Discovery, nothing matched our Probes.
    NoMatch,
    /// ICMP port unreachable from the target: nothing listens on its UDP 3702.
    Closed,
    /// An ICMP prohibition (a firewall rejects UDP 3702), from the target or on the way.
    Rejected,
    /// Nothing came back in the listening window: inconclusive.
    NoReply,
    /// No Probe could be sent (no socket, no route, a local firewall).
    Failed,
}

impl DiscoveryStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            DiscoveryStatus::Answered => "answered",
            DiscoveryStatus::NoMatch => "no_match",
            DiscoveryStatus::Closed => "closed",
            DiscoveryStatus::Rejected => "rejected",
            DiscoveryStatus::NoReply => "no_reply",
            DiscoveryStatus::Failed => "failed",
        }
    }

    /// The target answered WS-Discovery in some form (even "nothing matched").
    pub fn answered(self) -> bool {
        matches!(self, DiscoveryStatus::Answered | DiscoveryStatus::NoMatch)
    }
}

/// A target address and where it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddressReach {
    pub address: Address,
    pub reach: Reach,
    /// The ICMP error its unicast Probe drew, if any.
    pub icmp: Option<IcmpDetail>,
}

/// What the discovery probe of one target saw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiscoveryObservation {
    pub status: DiscoveryStatus,
    pub addresses: Vec<AddressReach>,
    pub routes: Vec<RouteRecord>,
    /// Replies from the target, one per endpoint.
    pub responders: Vec<Responder>,
    pub ignored: Ignored,
    /// Why nothing could be sent, when nothing could.
    pub error: Option<String>,
    /// The listening window planned (the longest it could have taken).
    pub wait: Duration,
    /// Time from the first Probe to the end of listening.
    pub elapsed: Duration,
    /// Listening ended before the window because the target had answered (or refused).
    pub stopped_early: bool,
}

impl DiscoveryObservation {
    /// Some route multicast: the target was on the link.
    pub fn multicast_sent(&self) -> bool {
        self.routes
            .iter()
            .any(|r| r.kind == RouteKind::Multicast && r.datagrams > 0)
    }

    /// Every address is off-link: multicast could not get there, and Windows ignores unicast.
    pub fn off_link(&self) -> bool {
        !self.addresses.is_empty() && self.addresses.iter().all(|a| a.reach == Reach::OffLink)
    }
}

/// Whether `ip` is one of `addrs`, ignoring IPv6 zones (a reply's source may carry one).
pub(crate) fn same_ip(ip: IpAddr, addrs: &[Address]) -> bool {
    addrs.iter().any(|a| a.ip == ip)
}
