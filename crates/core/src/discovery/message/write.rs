//! Writing WS-Discovery messages: the Probe we send, and the ProbeMatches the stand-in answers
//! with (`listen`). Only our own, trusted values go in; what came off the network (the Probe's
//! MessageID) is escaped, never pasted.

use super::{Probe, ProbeKind, ProbeRequest, Version, DEVPROF_2006_NS, DPWS_2009_NS, SOAP12_NS};

impl Probe {
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

#[cfg(test)]
mod tests {
    use super::super::{parse_probe, parse_probe_matches};
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
