//! What the stand-in monitor (`msvsmon-probe listen`) answers to a Probe. Pure: the sockets are
//! in `crate::listen`.
//!
//! The stand-in's Types are `wsdp:Device msp:RemoteDebuggerStandIn` (2005/04; `dpws:Device` in
//! 2009 replies), with `msp` bound to [`super::STAND_IN_NS`]. They say honestly what it
//! is: a DPWS device, and this tool's stand-in for a remote debugger, not msvsmon (whose Types
//! are not public). It has no Scopes and no XAddrs, as wsdd's ProbeMatch has none.
//!
//! Matching follows the standard (WS-Discovery 2005/04 §5.1): a Probe without Types matches;
//! a Probe matches when every Type it names is one of ours, compared by namespace and local name
//! (not by the prefix text, as wsdd does); a Probe with Scopes matches nothing, since the
//! stand-in has none. A Probe that does not match is answered with an **empty ProbeMatches when it
//! came by unicast**, as python wsdiscovery does: the sender asked this host, and "a responder is
//! here, nothing matched" is worth telling it. **By multicast it is not answered**: every host
//! answering every typed Probe on the link is the implosion the standard's silence avoids, and
//! Windows stays silent too.

use std::collections::VecDeque;
use std::net::IpAddr;

use super::message::{
    parse_probe, probe_matches_xml, MatchContent, ProbeRequest, QName, Rejected, Version,
    DEVPROF_2006_NS, DPWS_2009_NS,
};
use super::{RouteKind, STAND_IN_NS, STAND_IN_PREFIX, STAND_IN_TYPE};

/// How many recent Probes are remembered to drop their repeats (SOAP-over-UDP sends up to four).
const REMEMBERED: usize = 256;

/// The answer to one datagram.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// A ProbeMatches to send back to the Probe's source.
    Reply {
        xml: String,
        probe: ProbeRequest,
        matched: bool,
    },
    /// A Probe we do not answer: a repeat, or a non-matching one that came by multicast.
    Silent {
        probe: ProbeRequest,
        why: &'static str,
    },
    /// Not a Probe at all.
    NotAProbe(Rejected),
}

/// The stand-in's identity and its memory of recent Probes.
#[derive(Debug)]
pub struct StandIn {
    endpoint: String,
    instance_id: u64,
    message_number: u64,
    recent: VecDeque<(IpAddr, String)>,
}

impl StandIn {
    /// A stand-in with a fresh endpoint id; `instance_id` must grow with every start (the
    /// AppSequence rule), so callers pass the start time in seconds.
    pub fn new(instance_id: u64) -> StandIn {
        StandIn {
            endpoint: uuid::Uuid::new_v4().urn().to_string(),
            instance_id,
            message_number: 0,
            recent: VecDeque::new(),
        }
    }

    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// The Types text of a reply in `version`.
    pub fn types_text(version: Version) -> String {
        Self::types(version)
            .iter()
            .map(|(p, _, l)| format!("{p}:{l}"))
            .collect::<Vec<_>>()
            .join(" ")
    }

    fn types(version: Version) -> Vec<(&'static str, &'static str, &'static str)> {
        let device = match version {
            Version::V2005 => ("wsdp", DEVPROF_2006_NS, "Device"),
            Version::V2009 => ("dpws", DPWS_2009_NS, "Device"),
        };
        vec![device, (STAND_IN_PREFIX, STAND_IN_NS, STAND_IN_TYPE)]
    }

    /// Whether the stand-in matches a Probe's Types and Scopes.
    pub fn matches(probe: &ProbeRequest) -> bool {
        if !probe.scopes.is_empty() {
            return false;
        }
        let ours = |t: &QName| {
            t.is(DEVPROF_2006_NS, "Device")
                || t.is(DPWS_2009_NS, "Device")
                || t.is(STAND_IN_NS, STAND_IN_TYPE)
        };
        probe.types.as_ref().is_none_or(|ts| ts.iter().all(ours))
    }

    /// Forgets a Probe [`Self::answer`] decided to answer but that was not answered after all
    /// (the sender's rate limit): its repeats are then answered, not dropped as repeats.
    pub fn forget(&mut self, from: IpAddr, message_id: &str) {
        self.recent
            .retain(|(ip, id)| !(*ip == from && id == message_id));
    }

    /// Decides what to send back to a datagram from `from` that came by `route`.
    pub fn answer(&mut self, bytes: &[u8], from: IpAddr, route: RouteKind) -> Answer {
        let probe = match parse_probe(bytes) {
            Ok(p) => p,
            Err(e) => return Answer::NotAProbe(e),
        };
        let key = (from, probe.message_id.clone());
        if self.recent.contains(&key) {
            return Answer::Silent {
                probe,
                why: "a repeat of a Probe already answered",
            };
        }
        if self.recent.len() >= REMEMBERED {
            self.recent.pop_front();
        }
        self.recent.push_back(key);
        let matched = Self::matches(&probe);
        if !matched && route == RouteKind::Multicast {
            return Answer::Silent {
                probe,
                why: "no match, and a multicast Probe that matches nothing is not answered",
            };
        }
        self.message_number += 1;
        let content = MatchContent {
            endpoint: self.endpoint.clone(),
            types: Self::types(probe.version),
            metadata_version: 1,
        };
        let xml = probe_matches_xml(
            &probe,
            matched.then_some(&content),
            self.instance_id,
            self.message_number,
        );
        Answer::Reply {
            xml,
            probe,
            matched,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::discovery::classify::ResponderKind;
    use crate::discovery::collect::{Collector, Offer, SentProbe};
    use crate::discovery::message::{Probe, ProbeKind, SOAP12_NS};
    use std::net::SocketAddr;
    use std::time::Duration;

    fn lo() -> IpAddr {
        "127.0.0.1".parse().unwrap()
    }

    #[test]
    fn our_own_client_classifies_the_stand_in_as_the_stand_in() {
        let mut s = StandIn::new(1);
        for v in Version::ALL {
            for k in ProbeKind::ALL {
                let p = Probe::new(v, k);
                let Answer::Reply { xml, matched, .. } =
                    s.answer(p.to_xml().as_bytes(), lo(), RouteKind::Unicast)
                else {
                    panic!("{v:?} {k:?} not answered");
                };
                assert!(matched);
                let mut c = Collector::new(
                    vec![SentProbe {
                        id: p.message_id.clone(),
                        route: RouteKind::Unicast,
                        version: v,
                        kind: k,
                        group: 0,
                    }],
                    None,
                );
                let from = SocketAddr::new(lo(), 3702);
                assert_eq!(
                    c.offer(from, xml.as_bytes(), Duration::ZERO),
                    Offer::NewResponder
                );
                let (rs, _) = c.into_parts();
                assert_eq!(rs[0].classification.kind, ResponderKind::StandIn);
                assert_eq!(rs[0].endpoint.as_deref(), Some(s.endpoint()));
                assert_eq!(rs[0].version, v);
            }
        }
    }

    #[test]
    fn repeats_are_answered_once() {
        let mut s = StandIn::new(1);
        let p = Probe::new(Version::V2005, ProbeKind::Device).to_xml();
        assert!(matches!(
            s.answer(p.as_bytes(), lo(), RouteKind::Multicast),
            Answer::Reply { .. }
        ));
        assert!(matches!(
            s.answer(p.as_bytes(), lo(), RouteKind::Multicast),
            Answer::Silent { .. }
        ));
    }

    #[test]
    fn a_forgotten_probe_is_answered_when_repeated() {
        let mut s = StandIn::new(1);
        let p = Probe::new(Version::V2005, ProbeKind::Any);
        let x = p.to_xml();
        assert!(matches!(
            s.answer(x.as_bytes(), lo(), RouteKind::Unicast),
            Answer::Reply { .. }
        ));
        // Another sender's Probe with the same id is not forgotten with it.
        let other: IpAddr = "127.0.0.2".parse().unwrap();
        assert!(matches!(
            s.answer(x.as_bytes(), other, RouteKind::Unicast),
            Answer::Reply { .. }
        ));
        s.forget(lo(), &p.message_id);
        assert!(matches!(
            s.answer(x.as_bytes(), lo(), RouteKind::Unicast),
            Answer::Reply { .. }
        ));
        assert!(matches!(
            s.answer(x.as_bytes(), other, RouteKind::Unicast),
            Answer::Silent { .. }
        ));
    }

    fn typed(types: &str, extra_ns: &str) -> String {
        format!(
            "<s:Envelope xmlns:s=\"{SOAP12_NS}\" xmlns:a=\"{}\" xmlns:d=\"{}\"{extra_ns}>\
             <s:Header><a:MessageID>urn:uuid:{}</a:MessageID></s:Header>\
             <s:Body><d:Probe><d:Types>{types}</d:Types></d:Probe></s:Body></s:Envelope>",
            Version::V2005.addressing_ns(),
            Version::V2005.discovery_ns(),
            uuid::Uuid::new_v4()
        )
    }

    #[test]
    fn a_typed_probe_that_does_not_match_gets_an_empty_answer_by_unicast_only() {
        let mut s = StandIn::new(1);
        let printer = typed(
            "p:PrintDeviceType",
            " xmlns:p=\"http://schemas.microsoft.com/windows/2006/08/wdp/print\"",
        );
        match s.answer(printer.as_bytes(), lo(), RouteKind::Unicast) {
            Answer::Reply { xml, matched, .. } => {
                assert!(!matched);
                let r = crate::discovery::message::parse_probe_matches(xml.as_bytes()).unwrap();
                assert!(r.matches.is_empty());
            }
            other => panic!("{other:?}"),
        }
        let printer = typed("p:PrintDeviceType", " xmlns:p=\"urn:p\"");
        assert!(matches!(
            s.answer(printer.as_bytes(), lo(), RouteKind::Multicast),
            Answer::Silent { .. }
        ));
    }

    #[test]
    fn matching_is_by_namespace_not_prefix_text() {
        // Another prefix bound to the devprof namespace still names wsdp:Device.
        let other_prefix = typed("dp:Device", &format!(" xmlns:dp=\"{DEVPROF_2006_NS}\""));
        let p = parse_probe(other_prefix.as_bytes()).unwrap();
        assert!(StandIn::matches(&p));
        let ours = typed(
            "m:RemoteDebuggerStandIn",
            &format!(" xmlns:m=\"{STAND_IN_NS}\""),
        );
        assert!(StandIn::matches(&parse_probe(ours.as_bytes()).unwrap()));
        let unbound = typed("wsdp:Device", "");
        assert!(!StandIn::matches(&parse_probe(unbound.as_bytes()).unwrap()));
        let empty = typed("", "");
        assert!(StandIn::matches(&parse_probe(empty.as_bytes()).unwrap()));
    }

    #[test]
    fn garbage_is_not_a_probe() {
        let mut s = StandIn::new(1);
        assert!(matches!(
            s.answer(b"\xff\xfe<", lo(), RouteKind::Unicast),
            Answer::NotAProbe(_)
        ));
        assert_eq!(
            StandIn::types_text(Version::V2005),
            "wsdp:Device msp:RemoteDebuggerStandIn"
        );
        assert_eq!(
            StandIn::types_text(Version::V2009),
            "dpws:Device msp:RemoteDebuggerStandIn"
        );
    }
}
