//! WS-Discovery messages: the Probe we send, the ProbeMatches we read, and (for `listen`) the
//! Probe we read and the ProbeMatches we answer with. Pure functions over bytes, no sockets, so
//! every path is unit-tested and fuzzed (`fuzz/`, the mutation test in `robustness.rs`).
//!
//! A reply is an unauthenticated datagram of up to 64 KiB from anyone on the network. It is read
//! with quick-xml's namespace-aware streaming reader, which never expands a DTD or an external
//! entity: a DOCTYPE is refused outright (SOAP 1.2 forbids it, part 1 §5), and a reference to any
//! entity other than the five predefined ones and character references is refused too. Memory is
//! bounded by the input (at most [`MAX_DATAGRAM`] bytes) plus fixed caps on what is kept: fields of
//! at most [`MAX_FIELD`] bytes, [`MAX_MATCHES`] matches and [`MAX_LIST`] types, scopes and XAddrs
//! each. Time is one pass over the bytes.
//!
//! Facts used here (from Microsoft's WSDAPI documentation, the WS-Discovery April 2005 and OASIS
//! 1.1 specifications, and the christgau/wsdd source): the April 2005 namespaces are what Windows
//! (WSDAPI) speaks; `wsdd` compares the Probe's Types *text* with `wsdp:Device`, so the typed Probe
//! must spell it exactly so; replies relate to our Probe by `wsa:RelatesTo`.

use std::fmt;

use quick_xml::events::{BytesStart, Event};
use quick_xml::name::{QName as XmlQName, ResolveResult};
use quick_xml::reader::NsReader;

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

/// A Probe message: its id is what replies must quote in `RelatesTo`.
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

    /// The envelope as sent: compact, UTF-8, in the shape of the Probe Windows sends (WSDAPI
    /// "Probe message" page). Prefixes are fixed on purpose: wsdd matches the Types text
    /// `wsdp:Device` literally, not the namespace it resolves to.
    pub fn to_xml(&self) -> String {
        let v = self.version;
        let (types_ns, types) = match (self.kind, v) {
            (ProbeKind::Any, _) => (String::new(), String::new()),
            (ProbeKind::Device, Version::V2005) => (
                format!(" xmlns:wsdp=\"{DEVPROF_2006_NS}\""),
                "<wsd:Types>wsdp:Device</wsd:Types>".to_string(),
            ),
            (ProbeKind::Device, Version::V2009) => (
                format!(" xmlns:dpws=\"{DPWS_2009_NS}\""),
                "<wsd:Types>dpws:Device</wsd:Types>".to_string(),
            ),
        };
        let body = if types.is_empty() {
            "<wsd:Probe/>".to_string()
        } else {
            format!("<wsd:Probe>{types}</wsd:Probe>")
        };
        format!(
            "<?xml version=\"1.0\" encoding=\"utf-8\"?>\
             <soap:Envelope xmlns:soap=\"{SOAP12_NS}\" xmlns:wsa=\"{wsa}\" xmlns:wsd=\"{wsd}\"{types_ns}>\
             <soap:Header>\
             <wsa:To>{to}</wsa:To>\
             <wsa:Action>{wsd}/Probe</wsa:Action>\
             <wsa:MessageID>{id}</wsa:MessageID>\
             </soap:Header>\
             <soap:Body>{body}</soap:Body>\
             </soap:Envelope>",
            wsa = v.addressing_ns(),
            wsd = v.discovery_ns(),
            to = v.probe_to(),
            id = self.message_id,
        )
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
    /// Something was cut to the limits ([`MAX_FIELD`], [`MAX_LIST`]).
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
    /// ProbeMatch elements beyond [`MAX_MATCHES`], counted and dropped.
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
    /// Larger than [`MAX_DATAGRAM`].
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

/// Reads a ProbeMatches reply.
pub fn parse_probe_matches(bytes: &[u8]) -> Result<ProbeMatches, Rejected> {
    let env = read_envelope(bytes)?;
    match env.body {
        Body::ProbeMatches {
            version,
            matches,
            dropped,
        } => Ok(ProbeMatches {
            version,
            message_id: env.message_id,
            relates_to: env.relates_to.ok_or(Rejected::MissingId)?,
            matches,
            dropped_matches: dropped,
        }),
        other => Err(Rejected::OtherMessage(other.name())),
    }
}

/// Reads a Probe (what `listen` answers).
pub fn parse_probe(bytes: &[u8]) -> Result<ProbeRequest, Rejected> {
    let env = read_envelope(bytes)?;
    match env.body {
        Body::Probe {
            version,
            types,
            scopes,
        } => Ok(ProbeRequest {
            version,
            message_id: env.message_id.ok_or(Rejected::MissingId)?,
            types,
            scopes,
        }),
        other => Err(Rejected::OtherMessage(other.name())),
    }
}

/// What a responder puts in its ProbeMatch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MatchContent {
    pub endpoint: String,
    /// `(prefix, namespace, local)`; the prefix is declared on the envelope.
    pub types: Vec<(&'static str, &'static str, &'static str)>,
    pub metadata_version: u64,
}

/// Builds a ProbeMatches answering `probe` (empty `content` = "nothing matched").
/// `instance_id` and `message_number` fill the AppSequence header the 2005 draft requires.
pub fn probe_matches_xml(
    probe: &ProbeRequest,
    content: Option<&MatchContent>,
    instance_id: u64,
    message_number: u64,
) -> String {
    let v = probe.version;
    let mut decls = String::new();
    let mut body = String::new();
    if let Some(c) = content {
        let mut seen: Vec<&str> = Vec::new();
        for (prefix, ns, _) in &c.types {
            if !seen.contains(prefix) {
                seen.push(prefix);
                decls.push_str(&format!(" xmlns:{prefix}=\"{ns}\""));
            }
        }
        let types: Vec<String> = c.types.iter().map(|(p, _, l)| format!("{p}:{l}")).collect();
        body = format!(
            "<wsd:ProbeMatch>\
             <wsa:EndpointReference><wsa:Address>{}</wsa:Address></wsa:EndpointReference>\
             <wsd:Types>{}</wsd:Types>\
             <wsd:MetadataVersion>{}</wsd:MetadataVersion>\
             </wsd:ProbeMatch>",
            quick_xml::escape::escape(&c.endpoint),
            types.join(" "),
            c.metadata_version
        );
    }
    format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\
         <soap:Envelope xmlns:soap=\"{SOAP12_NS}\" xmlns:wsa=\"{wsa}\" xmlns:wsd=\"{wsd}\"{decls}>\
         <soap:Header>\
         <wsa:To>{to}</wsa:To>\
         <wsa:Action>{wsd}/ProbeMatches</wsa:Action>\
         <wsa:MessageID>{id}</wsa:MessageID>\
         <wsa:RelatesTo>{relates}</wsa:RelatesTo>\
         <wsd:AppSequence InstanceId=\"{instance_id}\" MessageNumber=\"{message_number}\"/>\
         </soap:Header>\
         <soap:Body><wsd:ProbeMatches>{body}</wsd:ProbeMatches></soap:Body>\
         </soap:Envelope>",
        wsa = v.addressing_ns(),
        wsd = v.discovery_ns(),
        to = v.anonymous(),
        id = uuid::Uuid::new_v4().urn(),
        relates = quick_xml::escape::escape(&probe.message_id),
    )
}

// ---------------------------------------------------------------------------------------------
// The reader.

#[derive(Debug)]
enum Body {
    None,
    ProbeMatches {
        version: Version,
        matches: Vec<ProbeMatch>,
        dropped: usize,
    },
    Probe {
        version: Version,
        types: Option<Vec<QName>>,
        scopes: Vec<String>,
    },
    Other(String),
}

impl Body {
    fn name(self) -> String {
        match self {
            Body::None => "an empty Body".into(),
            Body::ProbeMatches { .. } => "ProbeMatches".into(),
            Body::Probe { .. } => "Probe".into(),
            Body::Other(n) => n,
        }
    }
}

#[derive(Debug)]
struct Envelope {
    message_id: Option<String>,
    relates_to: Option<String>,
    body: Body,
}

/// Which namespace an element is in, as far as this reader cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ns {
    Soap,
    Addressing,
    Discovery(Version),
    Other,
}

/// An element on the path from the root, reduced to what the reader needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Node {
    Envelope,
    Header,
    Body,
    MessageId,
    RelatesTo,
    ProbeMatches,
    ProbeMatch { kept: bool },
    EndpointReference,
    Address,
    Types,
    Scopes,
    XAddrs,
    MetadataVersion,
    Probe,
    Ignored,
}

fn malformed(e: impl fmt::Display) -> Rejected {
    Rejected::Malformed(e.to_string())
}

fn read_envelope(bytes: &[u8]) -> Result<Envelope, Rejected> {
    if bytes.len() > MAX_DATAGRAM {
        return Err(Rejected::TooLarge(bytes.len()));
    }
    // WS-Discovery messages are UTF-8 in practice (Windows, wsdd, python wsdiscovery, WCF);
    // UTF-16 is refused rather than guessed at.
    let text = std::str::from_utf8(bytes).map_err(|e| malformed(format!("not UTF-8 ({e})")))?;
    let mut reader = NsReader::from_str(text);
    {
        let cfg = reader.config_mut();
        cfg.check_end_names = true;
        cfg.allow_unmatched_ends = false;
        cfg.expand_empty_elements = false;
        cfg.trim_text(false);
    }
    // No element of a SOAP reply declares more than a handful of prefixes.
    reader.resolver_mut().set_max_declarations_per_element(64);

    let mut path: Vec<Node> = Vec::new();
    let mut env = Envelope {
        message_id: None,
        relates_to: None,
        body: Body::None,
    };
    let mut text = String::new();
    let mut text_cut = false;
    let mut current: Option<ProbeMatch> = None;
    let mut seen_body_child = false;
    let mut seen_root = false;

    loop {
        let event = reader.read_event().map_err(malformed)?;
        match event {
            Event::Start(ref e) | Event::Empty(ref e) => {
                let empty = matches!(event, Event::Empty(_));
                if path.len() >= MAX_DEPTH {
                    return Err(malformed(format!(
                        "nested deeper than {MAX_DEPTH} elements"
                    )));
                }
                if path.is_empty() {
                    if seen_root {
                        return Err(malformed("a second root element"));
                    }
                    seen_root = true;
                }
                let node = classify_element(&reader, e, &path, &mut seen_body_child, &mut env)?;
                if let Node::ProbeMatch { kept: true } = node {
                    current = Some(ProbeMatch::default());
                }
                text.clear();
                text_cut = false;
                if empty {
                    finish(&reader, node, "", false, &mut env, &mut current)?;
                } else {
                    path.push(node);
                }
            }
            Event::End(_) => {
                let node = path.pop().ok_or_else(|| malformed("unexpected end tag"))?;
                finish(&reader, node, &text, text_cut, &mut env, &mut current)?;
                text.clear();
                text_cut = false;
            }
            Event::Text(t) => {
                if path.is_empty() && !t.iter().all(u8::is_ascii_whitespace) {
                    return Err(malformed("text outside the root element"));
                }
                if captures(path.last()) {
                    let s = t.xml10_content().map_err(malformed)?;
                    push_bounded(&mut text, &s, &mut text_cut);
                }
            }
            Event::CData(t) => {
                if captures(path.last()) {
                    let s = t.xml10_content().map_err(malformed)?;
                    push_bounded(&mut text, &s, &mut text_cut);
                }
            }
            Event::GeneralRef(r) => {
                // Only the predefined entities and character references exist without a DTD,
                // and DTDs are refused: anything else is an error, never an expansion.
                let resolved: String = match r.resolve_char_ref().map_err(malformed)? {
                    Some(c) => c.to_string(),
                    None => {
                        let name = r.decode().map_err(malformed)?;
                        quick_xml::escape::resolve_xml_entity(&name)
                            .ok_or_else(|| malformed(format!("unknown entity &{name};")))?
                            .to_string()
                    }
                };
                if captures(path.last()) {
                    push_bounded(&mut text, &resolved, &mut text_cut);
                }
            }
            Event::DocType(_) => return Err(malformed("a DOCTYPE (SOAP forbids DTDs)")),
            Event::Decl(_) | Event::PI(_) | Event::Comment(_) => {}
            Event::Eof => {
                if !path.is_empty() {
                    return Err(malformed("truncated: the document ends inside an element"));
                }
                if !seen_root {
                    return Err(malformed("no root element"));
                }
                break;
            }
        }
    }
    Ok(env)
}

fn captures(node: Option<&Node>) -> bool {
    matches!(
        node,
        Some(
            Node::MessageId
                | Node::RelatesTo
                | Node::Address
                | Node::Types
                | Node::Scopes
                | Node::XAddrs
                | Node::MetadataVersion
        )
    )
}

fn push_bounded(buf: &mut String, s: &str, cut: &mut bool) {
    if *cut {
        return;
    }
    let room = MAX_FIELD.saturating_sub(buf.len());
    if s.len() <= room {
        buf.push_str(s);
    } else {
        let mut end = room;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        buf.push_str(&s[..end]);
        *cut = true;
    }
}

fn ns_of(reader: &NsReader<&[u8]>, e: &BytesStart) -> (Ns, String) {
    let (res, local) = reader.resolver().resolve_element(e.name());
    let local = String::from_utf8_lossy(local.as_ref()).into_owned();
    let ns = match res {
        ResolveResult::Bound(ns) => {
            let ns = std::str::from_utf8(ns.as_ref()).unwrap_or("");
            if ns == SOAP12_NS || ns == SOAP11_NS {
                Ns::Soap
            } else if Version::is_addressing_ns(ns) {
                Ns::Addressing
            } else if let Some(v) = Version::of_discovery_ns(ns) {
                Ns::Discovery(v)
            } else {
                Ns::Other
            }
        }
        _ => Ns::Other,
    };
    (ns, local)
}

/// Decides what a start tag is from where it stands; records the Body's kind.
fn classify_element(
    reader: &NsReader<&[u8]>,
    e: &BytesStart,
    path: &[Node],
    seen_body_child: &mut bool,
    env: &mut Envelope,
) -> Result<Node, Rejected> {
    let (ns, local) = ns_of(reader, e);
    let parent = path.last().copied();
    let node = match (parent, ns, local.as_str()) {
        (None, Ns::Soap, "Envelope") => Node::Envelope,
        (None, _, _) => return Err(Rejected::NotSoap),
        (Some(Node::Envelope), Ns::Soap, "Header") => Node::Header,
        (Some(Node::Envelope), Ns::Soap, "Body") => Node::Body,
        (Some(Node::Header), Ns::Addressing, "MessageID") => Node::MessageId,
        (Some(Node::Header), Ns::Addressing, "RelatesTo") => Node::RelatesTo,
        (Some(Node::Body), _, _) if *seen_body_child => Node::Ignored,
        (Some(Node::Body), ns, name) => {
            *seen_body_child = true;
            match (ns, name) {
                (Ns::Discovery(version), "ProbeMatches") => {
                    env.body = Body::ProbeMatches {
                        version,
                        matches: Vec::new(),
                        dropped: 0,
                    };
                    Node::ProbeMatches
                }
                (Ns::Discovery(version), "Probe") => {
                    env.body = Body::Probe {
                        version,
                        types: None,
                        scopes: Vec::new(),
                    };
                    Node::Probe
                }
                (_, name) => {
                    env.body = Body::Other(name.chars().take(64).collect());
                    Node::Ignored
                }
            }
        }
        (Some(Node::ProbeMatches), Ns::Discovery(_), "ProbeMatch") => {
            let Body::ProbeMatches {
                matches, dropped, ..
            } = &mut env.body
            else {
                return Ok(Node::Ignored);
            };
            // Count matches being read as well as kept ones, so a second one is not "kept" too.
            if matches.len() < MAX_MATCHES && *dropped == 0 {
                Node::ProbeMatch { kept: true }
            } else {
                *dropped += 1;
                Node::ProbeMatch { kept: false }
            }
        }
        (Some(Node::ProbeMatch { kept: true }), Ns::Addressing, "EndpointReference") => {
            Node::EndpointReference
        }
        (Some(Node::EndpointReference), Ns::Addressing, "Address") => Node::Address,
        (Some(Node::ProbeMatch { kept: true }) | Some(Node::Probe), Ns::Discovery(_), "Types") => {
            Node::Types
        }
        (Some(Node::ProbeMatch { kept: true }) | Some(Node::Probe), Ns::Discovery(_), "Scopes") => {
            Node::Scopes
        }
        (Some(Node::ProbeMatch { kept: true }), Ns::Discovery(_), "XAddrs") => Node::XAddrs,
        (Some(Node::ProbeMatch { kept: true }), Ns::Discovery(_), "MetadataVersion") => {
            Node::MetadataVersion
        }
        _ => Node::Ignored,
    };
    Ok(node)
}

/// Stores the text of a finished element where it belongs.
fn finish(
    reader: &NsReader<&[u8]>,
    node: Node,
    text: &str,
    cut: bool,
    env: &mut Envelope,
    current: &mut Option<ProbeMatch>,
) -> Result<(), Rejected> {
    let value = text.trim();
    match node {
        Node::MessageId => env.message_id = non_empty(value),
        Node::RelatesTo => env.relates_to = non_empty(value),
        Node::Address => {
            if let Some(m) = current.as_mut() {
                m.endpoint = non_empty(value);
                m.truncated |= cut;
            }
        }
        Node::Types => {
            let (types, more) = resolve_qnames(reader, value);
            match (&mut env.body, current.as_mut()) {
                (Body::ProbeMatches { .. }, Some(m)) => {
                    m.types = types;
                    m.truncated |= cut || more;
                }
                (Body::Probe { types: t, .. }, None) => *t = Some(types),
                _ => {}
            }
        }
        Node::Scopes => {
            let (scopes, more) = split_list(value);
            match (&mut env.body, current.as_mut()) {
                (Body::ProbeMatches { .. }, Some(m)) => {
                    m.scopes = scopes;
                    m.truncated |= cut || more;
                }
                (Body::Probe { scopes: s, .. }, None) => *s = scopes,
                _ => {}
            }
        }
        Node::XAddrs => {
            if let Some(m) = current.as_mut() {
                let (xaddrs, more) = split_list(value);
                m.xaddrs = xaddrs;
                m.truncated |= cut || more;
            }
        }
        Node::MetadataVersion => {
            if let Some(m) = current.as_mut() {
                m.metadata_version = value.parse().ok();
            }
        }
        Node::ProbeMatch { kept: true } => {
            if let (Some(m), Body::ProbeMatches { matches, .. }) = (current.take(), &mut env.body) {
                matches.push(m);
            }
        }
        _ => {}
    }
    Ok(())
}

fn non_empty(s: &str) -> Option<String> {
    (!s.is_empty()).then(|| s.to_string())
}

/// Splits a whitespace-separated list, keeping at most [`MAX_LIST`]; true when some were dropped.
fn split_list(s: &str) -> (Vec<String>, bool) {
    let mut it = s.split_ascii_whitespace();
    let kept: Vec<String> = it.by_ref().take(MAX_LIST).map(str::to_string).collect();
    (kept, it.next().is_some())
}

/// Resolves each QName of a Types list against the namespaces in scope at the Types element.
/// An unprefixed name takes the default namespace, as for XML Schema QName values.
fn resolve_qnames(reader: &NsReader<&[u8]>, s: &str) -> (Vec<QName>, bool) {
    let (tokens, more) = split_list(s);
    let names = tokens
        .into_iter()
        .map(|text| {
            let (res, local) = reader.resolver().resolve(XmlQName(text.as_bytes()), true);
            let namespace = match res {
                ResolveResult::Bound(ns) => Some(String::from_utf8_lossy(ns.as_ref()).into_owned()),
                _ => None,
            };
            let local = String::from_utf8_lossy(local.as_ref()).into_owned();
            QName {
                text,
                local,
                namespace,
            }
        })
        .collect();
    (names, more)
}

#[cfg(test)]
mod tests {
    use super::super::samples::*;
    use super::*;

    #[test]
    fn probes_carry_a_fresh_urn_uuid_and_the_windows_shape() {
        let a = Probe::new(Version::V2005, ProbeKind::Device);
        let b = Probe::new(Version::V2005, ProbeKind::Device);
        assert_ne!(a.message_id, b.message_id);
        assert!(a.message_id.starts_with("urn:uuid:"), "{}", a.message_id);
        assert_eq!(a.message_id.len(), "urn:uuid:".len() + 36);
        let xml = a.to_xml();
        assert!(xml.contains("<wsd:Types>wsdp:Device</wsd:Types>"), "{xml}");
        assert!(
            xml.contains(&format!("xmlns:wsdp=\"{DEVPROF_2006_NS}\"")),
            "{xml}"
        );
        assert!(xml.contains("<wsa:To>urn:schemas-xmlsoap-org:ws:2005:04:discovery</wsa:To>"));
        assert!(xml.contains(
            "<wsa:Action>http://schemas.xmlsoap.org/ws/2005/04/discovery/Probe</wsa:Action>"
        ));
        let any = Probe::new(Version::V2005, ProbeKind::Any).to_xml();
        assert!(
            any.contains("<wsd:Probe/>") && !any.contains("Types"),
            "{any}"
        );
        let v9 = Probe::new(Version::V2009, ProbeKind::Device).to_xml();
        assert!(v9.contains("urn:docs-oasis-open-org:ws-dd:ns:discovery:2009:01"));
        assert!(v9.contains("http://www.w3.org/2005/08/addressing"));
        assert!(v9.contains("<wsd:Types>dpws:Device</wsd:Types>"));
    }

    #[test]
    fn our_probes_read_back_as_probes() {
        for v in Version::ALL {
            for k in ProbeKind::ALL {
                let p = Probe::new(v, k);
                let r = parse_probe(p.to_xml().as_bytes()).unwrap();
                assert_eq!(r.version, v);
                assert_eq!(r.message_id, p.message_id);
                match k {
                    ProbeKind::Any => assert_eq!(r.types, None),
                    ProbeKind::Device => {
                        let t = r.types.unwrap();
                        assert_eq!(t.len(), 1);
                        assert!(t[0].is(v.device_ns(), "Device"), "{t:?}");
                    }
                }
            }
        }
    }

    #[test]
    fn windows_computer_probe_match() {
        let r = parse_probe_matches(WINDOWS_COMPUTER.as_bytes()).unwrap();
        assert_eq!(r.version, Version::V2005);
        assert_eq!(r.relates_to, WINDOWS_PROBE_ID);
        assert_eq!(
            r.message_id.as_deref(),
            Some("urn:uuid:967d0036-fe69-40ad-8191-dd1fc8ef64ab")
        );
        let m = &r.matches[0];
        assert_eq!(
            m.endpoint.as_deref(),
            Some("urn:uuid:ad2a5e33-1d7c-4c3e-8c1d-2e8e7a9c4f10")
        );
        let texts: Vec<&str> = m.types.iter().map(|t| t.text.as_str()).collect();
        assert_eq!(texts, ["wsdp:Device", "pub:Computer"]);
        assert!(m.types[0].is(DEVPROF_2006_NS, "Device"));
        assert!(m.types[1].is(
            "http://schemas.microsoft.com/windows/pub/2005/07",
            "Computer"
        ));
        assert_eq!(
            m.xaddrs,
            ["http://10.0.0.5:5357/ad2a5e33-1d7c-4c3e-8c1d-2e8e7a9c4f10/"]
        );
        assert_eq!(m.metadata_version, Some(2));
        assert!(!m.truncated);
    }

    #[test]
    fn wsdd_probe_match_has_no_xaddrs() {
        let r = parse_probe_matches(WSDD.as_bytes()).unwrap();
        assert_eq!(
            r.relates_to,
            "urn:uuid:5a4f0a53-1c1e-4d9f-9a3a-0c8f2b6e7d11"
        );
        let m = &r.matches[0];
        assert!(m.xaddrs.is_empty());
        assert_eq!(m.metadata_version, Some(1));
        assert!(m.types[1].is(
            "http://schemas.microsoft.com/windows/pub/2005/07",
            "Computer"
        ));
    }

    #[test]
    fn python_wsdiscovery_pretty_printed_probe_match() {
        let r = parse_probe_matches(PYTHON_WSDISCOVERY.as_bytes()).unwrap();
        assert_eq!(
            r.relates_to,
            "urn:uuid:0f5d2c9e-8a47-4c36-9a8e-3f1b2d4c5e60"
        );
        let m = &r.matches[0];
        // Whitespace between elements is ignored; the prefix resolves through the envelope.
        assert_eq!(
            m.endpoint.as_deref(),
            Some("urn:uuid:3c1d9f0e-7b2a-4e58-9d6c-1a2b3c4d5e6f")
        );
        assert_eq!(m.types[0].text, "lab:Printer");
        assert!(m.types[0].is("http://example.org/lab/printing", "Printer"));
        assert_eq!(m.scopes, ["http://example.org/lab/floor2"]);
        assert_eq!(m.xaddrs, ["http://10.213.7.2:8080/abc"]);
        assert_eq!(m.metadata_version, Some(1));
    }

    #[test]
    fn empty_probe_matches_is_a_reply_with_nothing_matched() {
        let r = parse_probe_matches(EMPTY_MATCHES.as_bytes()).unwrap();
        assert!(r.matches.is_empty());
        assert_eq!(
            r.relates_to,
            "urn:uuid:0f5d2c9e-8a47-4c36-9a8e-3f1b2d4c5e60"
        );
    }

    #[test]
    fn replies_to_someone_else_still_parse_so_the_caller_can_count_them() {
        let r = parse_probe_matches(WINDOWS_COMPUTER.as_bytes()).unwrap();
        assert_ne!(
            r.relates_to,
            "urn:uuid:00000000-0000-4000-8000-000000000000"
        );
    }

    #[test]
    fn a_wrong_namespace_is_not_a_probe_matches() {
        let wrong = WSDD.replace(
            "http://schemas.xmlsoap.org/ws/2005/04/discovery",
            "http://schemas.xmlsoap.org/ws/2005/04/discovery-not",
        );
        assert_eq!(
            parse_probe_matches(wrong.as_bytes()),
            Err(Rejected::OtherMessage("ProbeMatches".into()))
        );
        let not_soap = WSDD.replace(SOAP12_NS, "http://example.org/soap");
        assert_eq!(
            parse_probe_matches(not_soap.as_bytes()),
            Err(Rejected::NotSoap)
        );
    }

    #[test]
    fn truncated_replies_are_malformed() {
        for cut in [10, WSDD.len() / 2, WSDD.len() - 2] {
            let r = parse_probe_matches(&WSDD.as_bytes()[..cut]);
            assert!(matches!(r, Err(Rejected::Malformed(_))), "cut {cut}: {r:?}");
        }
    }

    #[test]
    fn junk_and_hostile_documents_are_refused() {
        let junk: Vec<u8> = (0..MAX_DATAGRAM).map(|i| (i * 7 + 13) as u8).collect();
        assert!(matches!(
            parse_probe_matches(&junk),
            Err(Rejected::Malformed(_))
        ));
        let big = vec![b' '; MAX_DATAGRAM + 1];
        assert_eq!(
            parse_probe_matches(&big),
            Err(Rejected::TooLarge(MAX_DATAGRAM + 1))
        );
        let dtd = format!(
            "<?xml version=\"1.0\"?><!DOCTYPE x [<!ENTITY e SYSTEM \"file:///etc/passwd\">]>{}",
            WSDD.replace("urn:uuid:5a4f0a53", "&e;urn:uuid:5a4f0a53")
        );
        assert!(
            matches!(parse_probe_matches(dtd.as_bytes()), Err(Rejected::Malformed(m)) if m.contains("DOCTYPE"))
        );
        let entity = WSDD.replace("urn:uuid:5a4f0a53", "&e;urn:uuid:5a4f0a53");
        assert!(
            matches!(parse_probe_matches(entity.as_bytes()), Err(Rejected::Malformed(m)) if m.contains("&e;"))
        );
        let deep = format!(
            "<s:Envelope xmlns:s=\"{SOAP12_NS}\"><s:Body>{}{}</s:Body></s:Envelope>",
            "<a>".repeat(40),
            "</a>".repeat(40)
        );
        assert!(
            matches!(parse_probe_matches(deep.as_bytes()), Err(Rejected::Malformed(m)) if m.contains("deeper"))
        );
    }

    #[test]
    fn floods_inside_one_reply_are_capped() {
        let one =
            "<d:ProbeMatch><a:EndpointReference><a:Address>urn:x</a:Address></a:EndpointReference>\
                   <d:Types>t:A t:B</d:Types></d:ProbeMatch>";
        let types: Vec<String> = (0..40).map(|i| format!("t:T{i}")).collect();
        let fat = format!(
            "<d:ProbeMatch><d:Types>{}</d:Types><d:XAddrs>{}</d:XAddrs></d:ProbeMatch>",
            types.join(" "),
            "http://x/ ".repeat(30)
        );
        let xml = format!(
            "<s:Envelope xmlns:s=\"{SOAP12_NS}\" xmlns:a=\"{}\" xmlns:d=\"{}\" xmlns:t=\"urn:t\">\
             <s:Header><a:RelatesTo>urn:r</a:RelatesTo></s:Header>\
             <s:Body><d:ProbeMatches>{fat}{}</d:ProbeMatches></s:Body></s:Envelope>",
            Version::V2005.addressing_ns(),
            Version::V2005.discovery_ns(),
            one.repeat(100)
        );
        let r = parse_probe_matches(xml.as_bytes()).unwrap();
        assert_eq!(r.matches.len(), MAX_MATCHES);
        assert_eq!(r.dropped_matches, 101 - MAX_MATCHES);
        assert_eq!(r.matches[0].types.len(), MAX_LIST);
        assert_eq!(r.matches[0].xaddrs.len(), MAX_LIST);
        assert!(r.matches[0].truncated);
        assert!(!r.matches[1].truncated);
    }

    #[test]
    fn other_messages_are_named() {
        let hello = WSDD
            .replace("/ProbeMatches<", "/Hello<")
            .replace("wsd:ProbeMatches>", "wsd:Hello>")
            .replace("<wsd:ProbeMatch>", "")
            .replace("</wsd:ProbeMatch>", "");
        assert_eq!(
            parse_probe_matches(hello.as_bytes()),
            Err(Rejected::OtherMessage("Hello".into()))
        );
        let p = Probe::new(Version::V2005, ProbeKind::Any);
        assert_eq!(
            parse_probe_matches(p.to_xml().as_bytes()),
            Err(Rejected::OtherMessage("Probe".into()))
        );
        let no_relates = WSDD.replace("RelatesTo", "RelatesToNot");
        assert_eq!(
            parse_probe_matches(no_relates.as_bytes()),
            Err(Rejected::MissingId)
        );
    }

    #[test]
    fn an_unbound_prefix_keeps_the_text_without_a_namespace() {
        let xml = WSDD.replace("wsdp:Device pub:Computer", "wsdp:Device ghost:Thing");
        let r = parse_probe_matches(xml.as_bytes()).unwrap();
        let t = &r.matches[0].types[1];
        assert_eq!(
            (t.text.as_str(), t.local.as_str(), t.namespace.as_deref()),
            ("ghost:Thing", "Thing", None)
        );
    }

    #[test]
    fn our_own_answer_reads_back() {
        let probe = parse_probe(
            Probe::new(Version::V2005, ProbeKind::Any)
                .to_xml()
                .as_bytes(),
        )
        .unwrap();
        let content = MatchContent {
            endpoint: "urn:uuid:11111111-2222-4333-8444-555555555555".into(),
            types: vec![
                ("wsdp", DEVPROF_2006_NS, "Device"),
                ("msp", "urn:x-test", "Thing"),
            ],
            metadata_version: 1,
        };
        let xml = probe_matches_xml(&probe, Some(&content), 7, 1);
        let r = parse_probe_matches(xml.as_bytes()).unwrap();
        assert_eq!(r.relates_to, probe.message_id);
        assert_eq!(
            r.matches[0].endpoint.as_deref(),
            Some(content.endpoint.as_str())
        );
        assert!(r.matches[0].types[1].is("urn:x-test", "Thing"));
        let empty = probe_matches_xml(&probe, None, 7, 2);
        assert!(parse_probe_matches(empty.as_bytes())
            .unwrap()
            .matches
            .is_empty());
        // A hostile MessageID is escaped, not injected.
        let evil = ProbeRequest {
            message_id: "urn:x</wsa:RelatesTo><evil/>".into(),
            ..probe
        };
        let r = parse_probe_matches(probe_matches_xml(&evil, None, 1, 1).as_bytes()).unwrap();
        assert_eq!(r.relates_to, evil.message_id);
    }
}
