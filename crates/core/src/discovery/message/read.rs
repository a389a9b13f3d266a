//! Reading WS-Discovery messages: what `--discover` reads (ProbeMatches) and what `listen` reads
//! (Probe), in one bounded, defensive pass over an untrusted datagram.
//!
//! A reply is an unauthenticated datagram of up to 64 KiB from anyone on the network. It is read
//! with quick-xml's namespace-aware streaming reader, which never expands a DTD or an external
//! entity: a DOCTYPE is refused outright (SOAP 1.2 forbids it, part 1 §5), and a reference to any
//! entity other than the five predefined ones and character references is refused too. Memory is
//! bounded by the input (at most [`MAX_DATAGRAM`] bytes) plus fixed caps on what is kept: fields of
//! at most [`MAX_FIELD`] bytes, [`MAX_MATCHES`] matches and [`MAX_LIST`] types, scopes and XAddrs
//! each. Time is one pass over the bytes.

use std::fmt;

use quick_xml::events::{BytesStart, Event};
use quick_xml::name::{QName as XmlQName, ResolveResult};
use quick_xml::reader::NsReader;

use super::{
    ProbeMatch, ProbeMatches, ProbeRequest, QName, Rejected, Version, MAX_DATAGRAM, MAX_DEPTH,
    MAX_FIELD, MAX_LIST, MAX_MATCHES, SOAP11_NS, SOAP12_NS,
};

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

/// What the Body's first child says the message is; later children are ignored.
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

/// What one pass keeps of an envelope: the ids that relate messages, and the Body.
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

/// The one pass over a datagram, shared by both parsers. Every event is checked (size, depth, one
/// root, entities, DOCTYPE) before anything is kept, and text is kept only inside the elements
/// that matter, so nothing hostile grows memory beyond the caps.
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
    use super::super::{Probe, ProbeKind, DEVPROF_2006_NS};
    use super::*;
    use crate::discovery::samples::*;

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
}
