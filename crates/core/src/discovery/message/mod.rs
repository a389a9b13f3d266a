//! WS-Discovery messages: the Probe we send, the ProbeMatches we read, and (for `listen`) the
//! Probe we read and the ProbeMatches we answer with. Pure functions over bytes, no sockets, so
//! every path is unit-tested and fuzzed (`fuzz/`, the mutation test in `robustness.rs`).
//!
//! This file holds what the messages are (versions, namespaces, the types, the limits); the
//! writers are in `write.rs`, the defensive reader of untrusted datagrams in `read.rs`. Both are
//! re-exported here, so every item is `discovery::message::…`.
//!
//! Facts used here (from Microsoft's WSDAPI documentation, the WS-Discovery April 2005 and OASIS
//! 1.1 specifications, and the christgau/wsdd source): the April 2005 namespaces are what Windows
//! (WSDAPI) speaks; `wsdd` compares the Probe's Types *text* with `wsdp:Device`, so the typed Probe
//! must spell it exactly so; replies relate to our Probe by `wsa:RelatesTo`.

use std::fmt;

mod read;
mod write;

pub use read::{parse_probe, parse_probe_matches};
pub use write::{probe_matches_xml, MatchContent};

/// Largest datagram read; a UDP payload cannot be larger (65,507 bytes over IPv4).
pub const MAX_DATAGRAM: usize = 64 * 1024;
/// Longest text kept for one field (an address, the Types list, …); the rest is dropped.
pub const MAX_FIELD: usize = 4096;
/// ProbeMatch elements kept from one reply; more are counted, not kept.
pub const MAX_MATCHES: usize = 16;
/// Types, Scopes and XAddrs kept per ProbeMatch (each).
pub const MAX_LIST: usize = 16;
/// Deepest element nesting accepted. Real replies nest 6 levels; a deeper document is hostile.
pub const MAX_DEPTH: usize = 32;

pub const SOAP12_NS: &str = "http://www.w3.org/2003/05/soap-envelope";
/// SOAP 1.1 is accepted when reading: a responder that speaks it still proves it is there.
pub const SOAP11_NS: &str = "http://schemas.xmlsoap.org/soap/envelope/";
/// Devices Profile 2006 (DPWS 1.0): the `wsdp:Device` type Windows and wsdd use.
pub const DEVPROF_2006_NS: &str = "http://schemas.xmlsoap.org/ws/2006/02/devprof";
/// DPWS 1.1 (OASIS 2009): the Device type that goes with WS-Discovery 1.1.
pub const DPWS_2009_NS: &str = "http://docs.oasis-open.org/ws-dd/ns/dpws/2009/01";

/// The two WS-Discovery versions in use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Version {
    /// April 2005 draft: what Windows' WSDAPI, wsdd and python wsdiscovery speak.
    V2005,
    /// OASIS WS-Discovery 1.1 (2009): .NET's WCF discovery and DPWS 1.1 devices.
    V2009,
}

impl Version {
    pub const ALL: [Version; 2] = [Version::V2005, Version::V2009];

    pub fn discovery_ns(self) -> &'static str {
        match self {
            Version::V2005 => "http://schemas.xmlsoap.org/ws/2005/04/discovery",
            Version::V2009 => "http://docs.oasis-open.org/ws-dd/ns/discovery/2009/01",
        }
    }

    pub fn addressing_ns(self) -> &'static str {
        match self {
            Version::V2005 => "http://schemas.xmlsoap.org/ws/2004/08/addressing",
            Version::V2009 => "http://www.w3.org/2005/08/addressing",
        }
    }

    /// `wsa:To` of a multicast (or directed) Probe.
    pub fn probe_to(self) -> &'static str {
        match self {
            Version::V2005 => "urn:schemas-xmlsoap-org:ws:2005:04:discovery",
            Version::V2009 => "urn:docs-oasis-open-org:ws-dd:ns:discovery:2009:01",
        }
    }

    /// `wsa:To` of a reply: the anonymous endpoint of this addressing version.
    fn anonymous(self) -> &'static str {
        match self {
            Version::V2005 => "http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous",
            Version::V2009 => "http://www.w3.org/2005/08/addressing/anonymous",
        }
    }

    /// The Device type of the device profile that goes with this version.
    pub fn device_ns(self) -> &'static str {
        match self {
            Version::V2005 => DEVPROF_2006_NS,
            Version::V2009 => DPWS_2009_NS,
        }
    }

    /// How reports name it: `2005/04` or `2009`.
    pub fn as_str(self) -> &'static str {
        match self {
            Version::V2005 => "2005/04",
            Version::V2009 => "2009",
        }
    }

    fn of_discovery_ns(ns: &str) -> Option<Version> {
        Version::ALL.into_iter().find(|v| v.discovery_ns() == ns)
    }

    fn is_addressing_ns(ns: &str) -> bool {
        Version::ALL.iter().any(|v| v.addressing_ns() == ns)
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which Probe: one without Types (matches everything, by the standard) or one for `Device`
/// (for responders such as wsdd that ignore a Probe without Types).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ProbeKind {
    /// No `Types`: every target service matches. Windows answers it; wsdd ignores it.
    Any,
    /// `Types` is `wsdp:Device` (2005/04, the text wsdd compares) or `dpws:Device` (2009).
    Device,
}

impl ProbeKind {
    pub const ALL: [ProbeKind; 2] = [ProbeKind::Any, ProbeKind::Device];

    pub fn as_str(self) -> &'static str {
        match self {
            ProbeKind::Any => "any",
            ProbeKind::Device => "device",
        }
    }
}

/// A Probe message: its id is what replies must quote in `RelatesTo`. Its bytes
/// ([`Probe::to_xml`]) are written in `write.rs`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Probe {
    /// `urn:uuid:…`, random (version 4), unique per Probe.
    pub message_id: String,
    pub version: Version,
    pub kind: ProbeKind,
}

impl Probe {
    /// A Probe with a fresh random MessageID. Retransmissions send the same bytes: SOAP-over-UDP
    /// repeats a message, it does not make a new one, and responders drop the copies by id.
    pub fn new(version: Version, kind: ProbeKind) -> Probe {
        Probe {
            message_id: uuid::Uuid::new_v4().urn().to_string(),
            version,
            kind,
        }
    }
}

/// A qualified name from a `Types` list, with its prefix resolved in the scope of the element
/// that carried it. Both are kept: people read `pub:Computer`, matching uses the namespace.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct QName {
    /// As written: `pub:Computer`.
    pub text: String,
    pub local: String,
    /// The namespace the prefix is bound to; `None` when the prefix is not declared (or there is
    /// no prefix and no default namespace).
    pub namespace: Option<String>,
}

impl QName {
    pub fn is(&self, namespace: &str, local: &str) -> bool {
        self.local == local && self.namespace.as_deref() == Some(namespace)
    }
}

impl fmt::Display for QName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// One `ProbeMatch` of a reply.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProbeMatch {
    /// `wsa:EndpointReference/wsa:Address`, usually `urn:uuid:…`.
    pub endpoint: Option<String>,
    pub types: Vec<QName>,
    pub scopes: Vec<String>,
    /// Transport addresses, e.g. `http://10.0.0.5:5357/<uuid>/`.
    pub xaddrs: Vec<String>,
    pub metadata_version: Option<u64>,
    /// Something was cut to the limits (`MAX_FIELD`, `MAX_LIST`).
    pub truncated: bool,
}

/// A parsed ProbeMatches message. Whether it answers one of *our* Probes is the caller's check
/// (`relates_to` against the ids it sent).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbeMatches {
    pub version: Version,
    /// The reply's own id: copies of one reply (SOAP-over-UDP repeats) share it.
    pub message_id: Option<String>,
    pub relates_to: String,
    /// Empty when the responder answered "nothing matched" (python wsdiscovery does).
    pub matches: Vec<ProbeMatch>,
    /// ProbeMatch elements beyond `MAX_MATCHES`, counted and dropped.
    pub dropped_matches: usize,
}

/// A Probe as a responder reads it (for `msvsmon-probe listen`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbeRequest {
    pub version: Version,
    pub message_id: String,
    /// `None`: no Types element (matches every type). Empty: an empty Types element (same).
    pub types: Option<Vec<QName>>,
    /// Requested scopes; a responder without scopes matches none of them.
    pub scopes: Vec<String>,
}

/// Why a datagram is not a usable message. Each is counted by the caller and otherwise ignored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rejected {
    /// Larger than `MAX_DATAGRAM` (64 KiB).
    TooLarge(usize),
    /// Not well-formed XML (garbage, truncated, bad UTF-8, DOCTYPE, unknown entity, too deep).
    Malformed(String),
    /// Well-formed, but not a SOAP envelope.
    NotSoap,
    /// A SOAP message, but not the one asked for (a Hello, a Bye, a Probe from someone else, a
    /// ProbeMatches in a namespace that is not WS-Discovery's).
    OtherMessage(String),
    /// A ProbeMatches or Probe without the id that relates it (RelatesTo / MessageID).
    MissingId,
}

impl fmt::Display for Rejected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Rejected::TooLarge(n) => write!(f, "{n} bytes, more than {MAX_DATAGRAM}"),
            Rejected::Malformed(why) => write!(f, "not well-formed XML: {why}"),
            Rejected::NotSoap => f.write_str("not a SOAP envelope"),
            Rejected::OtherMessage(m) => write!(f, "another message: {m}"),
            Rejected::MissingId => f.write_str("no message id to relate it"),
        }
    }
}
