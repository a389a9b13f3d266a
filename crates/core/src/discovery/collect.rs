//! Replies in, responders out: parse each datagram, keep it only if it answers a Probe we sent
//! (RelatesTo) and comes from a host we asked about, merge repeats and the answers to our several
//! Probes into one responder per endpoint, and count everything set aside. Pure: the client feeds
//! it what its sockets read, tests feed it bytes.
//!
//! Bounds, so a flood costs neither memory nor time beyond them: at most [`MAX_PARSED`] datagrams
//! are parsed per run (the rest are only counted), at most [`MAX_RESPONDERS`] responders are kept,
//! and each parse is one pass over at most 64 KiB.

use std::collections::hash_map::DefaultHasher;
use std::collections::{BTreeSet, HashSet};
use std::hash::{Hash, Hasher};
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use super::classify::classify;
use super::message::{parse_probe_matches, ProbeKind, Rejected, Version, MAX_LIST};
use super::{same_ip, Ignored, Responder, RouteKind};
use crate::target::Address;

/// Datagrams parsed in one run; a link does not have more honest responders than this answering
/// our 8 Probes (each answered by each responder at most twice).
pub const MAX_PARSED: u32 = 1024;
/// Responders kept in one run (`--discover` on a busy link).
pub const MAX_RESPONDERS: usize = 256;

/// A Probe we sent: replies must quote its id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentProbe {
    pub id: String,
    pub route: RouteKind,
    pub version: Version,
    pub kind: ProbeKind,
    /// The route (destination, interface) it went by; its Probes are answered together.
    pub group: usize,
}

/// What became of one datagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Offer {
    /// A reply from a responder not seen before.
    NewResponder,
    /// Another reply (to another of our Probes) from a known responder.
    Known,
    /// Set aside and counted.
    Ignored,
}

#[derive(Debug)]
pub struct Collector {
    probes: Vec<SentProbe>,
    /// Keep replies only from these; `None` keeps every host's (`--discover`).
    hosts: Option<Vec<Address>>,
    pub responders: Vec<Responder>,
    pub ignored: Ignored,
    seen: HashSet<(IpAddr, u64)>,
    /// Ids of our Probes that a kept responder answered.
    answered_ids: HashSet<String>,
    /// Datagrams parsed from hosts we did not ask about, and from the ones we did: counted apart
    /// so a third party's flood cannot use up the budget of the target's own answer.
    parsed_others: u32,
    parsed_hosts: u32,
}

impl Collector {
    pub fn new(probes: Vec<SentProbe>, hosts: Option<Vec<Address>>) -> Collector {
        Collector {
            probes,
            hosts,
            responders: Vec::new(),
            ignored: Ignored::default(),
            seen: HashSet::new(),
            answered_ids: HashSet::new(),
            parsed_others: 0,
            parsed_hosts: 0,
        }
    }

    /// Takes one datagram that arrived from `from`, `at` after the first Probe.
    pub fn offer(&mut self, from: SocketAddr, bytes: &[u8], at: Duration) -> Offer {
        let from_host = self.hosts.as_ref().is_some_and(|h| same_ip(from.ip(), h));
        let parsed = if from_host {
            &mut self.parsed_hosts
        } else {
            &mut self.parsed_others
        };
        if *parsed >= MAX_PARSED {
            self.ignored.not_parsed += 1;
            return Offer::Ignored;
        }
        *parsed += 1;
        let reply = match parse_probe_matches(bytes) {
            Ok(r) => r,
            Err(Rejected::TooLarge(_) | Rejected::Malformed(_)) => {
                self.ignored.malformed += 1;
                return Offer::Ignored;
            }
            Err(Rejected::NotSoap | Rejected::OtherMessage(_) | Rejected::MissingId) => {
                self.ignored.not_probe_matches += 1;
                return Offer::Ignored;
            }
        };
        let Some(probe) = self.probes.iter().find(|p| p.id == reply.relates_to) else {
            self.ignored.unrelated += 1;
            return Offer::Ignored;
        };
        let answered = (probe.route, probe.version, probe.kind);
        let probe_id = probe.id.clone();
        // A multicast Probe reached everyone on the link, so its answers are the target's only
        // when they come from it. A unicast Probe's id went to the target alone: an answer to
        // it is the target's from whichever address it left (a host with several addresses
        // answers from the one facing us, as python wsdiscovery did behind a router).
        if self.hosts.is_some() && !from_host && probe.route == RouteKind::Multicast {
            self.ignored.other_hosts += 1;
            return Offer::Ignored;
        }
        // Copies of one reply share its MessageID (SOAP-over-UDP repeats the same message).
        let mut h = DefaultHasher::new();
        match &reply.message_id {
            Some(id) => id.hash(&mut h),
            None => bytes.hash(&mut h),
        }
        if !self.seen.insert((from.ip(), h.finish())) {
            self.ignored.duplicates += 1;
            if let Some(r) = self
                .responders
                .iter_mut()
                .find(|r| r.source.ip() == from.ip())
            {
                r.datagrams += 1;
            }
            return Offer::Ignored;
        }
        self.ignored.over_limit += reply.dropped_matches as u32;
        self.answered_ids.insert(probe_id);

        let mut outcome = Offer::Ignored;
        let empty = reply.matches.is_empty();
        let matches: Vec<Option<&super::message::ProbeMatch>> = if empty {
            vec![None]
        } else {
            reply.matches.iter().map(Some).collect()
        };
        for m in matches {
            let endpoint = m.and_then(|m| m.endpoint.clone());
            let full = self.responders.len() >= MAX_RESPONDERS;
            let existing = self.responders.iter_mut().find(|r| {
                r.source.ip() == from.ip() && r.endpoint == endpoint && r.empty == m.is_none()
            });
            match existing {
                Some(r) => {
                    r.answered.insert(answered);
                    r.datagrams += 1;
                    if let Some(m) = m {
                        // The older version's lists lead, whichever reply came first, so a
                        // report reads the same from run to run.
                        if reply.version < r.version {
                            r.version = reply.version;
                            r.types = merged(&m.types, &r.types);
                            r.scopes = merged(&m.scopes, &r.scopes);
                            r.xaddrs = merged(&m.xaddrs, &r.xaddrs);
                        } else {
                            r.types = merged(&r.types, &m.types);
                            r.scopes = merged(&r.scopes, &m.scopes);
                            r.xaddrs = merged(&r.xaddrs, &m.xaddrs);
                        }
                        r.metadata_version = r.metadata_version.or(m.metadata_version);
                        r.truncated |= m.truncated;
                        r.classification = classify(false, &r.types, &r.scopes, &r.xaddrs);
                    }
                    if outcome == Offer::Ignored {
                        outcome = Offer::Known;
                    }
                }
                None if full => self.ignored.over_limit += 1,
                None => {
                    let (types, scopes, xaddrs, mv, cut) = match m {
                        Some(m) => (
                            m.types.clone(),
                            m.scopes.clone(),
                            m.xaddrs.clone(),
                            m.metadata_version,
                            m.truncated,
                        ),
                        None => (vec![], vec![], vec![], None, false),
                    };
                    let classification = classify(m.is_none(), &types, &scopes, &xaddrs);
                    self.responders.push(Responder {
                        source: from,
                        version: reply.version,
                        endpoint,
                        types,
                        scopes,
                        xaddrs,
                        metadata_version: mv,
                        empty: m.is_none(),
                        answered: BTreeSet::from([answered]),
                        datagrams: 1,
                        first_reply: at,
                        truncated: cut,
                        classification,
                    });
                    outcome = Offer::NewResponder;
                }
            }
        }
        outcome
    }

    /// Some route's Probes have all been answered (by the responders kept so far).
    pub fn all_answered(&self) -> bool {
        [RouteKind::Multicast, RouteKind::Unicast]
            .iter()
            .any(|route| {
                let sent: Vec<&SentProbe> =
                    self.probes.iter().filter(|p| p.route == *route).collect();
                !sent.is_empty()
                    && sent.iter().all(|p| {
                        self.responders
                            .iter()
                            .any(|r| r.answered.contains(&(p.route, p.version, p.kind)))
                    })
            })
    }

    /// Responders sorted by source address, then endpoint: a stable order for reports.
    pub fn into_parts(mut self) -> (Vec<Responder>, Ignored) {
        self.responders
            .sort_by(|a, b| (a.source.ip(), &a.endpoint).cmp(&(b.source.ip(), &b.endpoint)));
        (self.responders, self.ignored)
    }
}

/// `first`, then what `more` adds, at most [`MAX_LIST`].
fn merged<T: Clone + PartialEq>(first: &[T], more: &[T]) -> Vec<T> {
    let mut out = first.to_vec();
    for m in more {
        if out.len() >= MAX_LIST {
            break;
        }
        if !out.contains(m) {
            out.push(m.clone());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::discovery::samples;
    use crate::discovery::ResponderKind;

    const WSDD_ID: &str = "urn:uuid:5a4f0a53-1c1e-4d9f-9a3a-0c8f2b6e7d11";
    const PY_ID: &str = "urn:uuid:0f5d2c9e-8a47-4c36-9a8e-3f1b2d4c5e60";

    fn sent(id: &str, route: RouteKind, kind: ProbeKind) -> SentProbe {
        SentProbe {
            id: id.into(),
            route,
            version: Version::V2005,
            kind,
            group: 0,
        }
    }

    fn at(ip: &str) -> SocketAddr {
        SocketAddr::new(ip.parse().unwrap(), 3702)
    }

    fn host(ip: &str) -> Option<Vec<Address>> {
        Some(vec![Address::new(ip.parse().unwrap())])
    }

    #[test]
    fn a_reply_from_the_target_to_our_probe_is_a_responder_and_its_repeat_a_duplicate() {
        let mut c = Collector::new(
            vec![sent(WSDD_ID, RouteKind::Multicast, ProbeKind::Device)],
            host("10.0.0.5"),
        );
        let ms = Duration::from_millis(3);
        assert_eq!(
            c.offer(at("10.0.0.5"), samples::WSDD.as_bytes(), ms),
            Offer::NewResponder
        );
        // wsdd sends each reply twice.
        assert_eq!(
            c.offer(at("10.0.0.5"), samples::WSDD.as_bytes(), ms),
            Offer::Ignored
        );
        let (rs, ig) = c.into_parts();
        assert_eq!(rs.len(), 1);
        assert_eq!(rs[0].datagrams, 2);
        assert_eq!(ig.duplicates, 1);
        assert_eq!(rs[0].classification.kind, ResponderKind::Computer);
        assert_eq!(rs[0].first_reply, ms);
        assert!(rs[0].answered.contains(&(
            RouteKind::Multicast,
            Version::V2005,
            ProbeKind::Device
        )));
    }

    #[test]
    fn replies_to_someone_else_and_from_other_hosts_are_counted_not_kept() {
        let mut c = Collector::new(
            vec![sent(WSDD_ID, RouteKind::Multicast, ProbeKind::Device)],
            host("10.0.0.5"),
        );
        let t = Duration::ZERO;
        // Wrong RelatesTo: the Windows sample answers another Probe.
        assert_eq!(
            c.offer(at("10.0.0.5"), samples::WINDOWS_COMPUTER.as_bytes(), t),
            Offer::Ignored
        );
        // Right Probe, other host (it answered our multicast too).
        assert_eq!(
            c.offer(at("10.0.0.9"), samples::WSDD.as_bytes(), t),
            Offer::Ignored
        );
        assert_eq!(
            c.offer(at("10.0.0.5"), b"\x00\x01garbage", t),
            Offer::Ignored
        );
        let p = crate::discovery::message::Probe::new(Version::V2005, ProbeKind::Any);
        assert_eq!(
            c.offer(at("10.0.0.5"), p.to_xml().as_bytes(), t),
            Offer::Ignored
        );
        let (rs, ig) = c.into_parts();
        assert!(rs.is_empty());
        assert_eq!(
            (
                ig.unrelated,
                ig.other_hosts,
                ig.malformed,
                ig.not_probe_matches
            ),
            (1, 1, 1, 1)
        );
        assert_eq!(ig.total(), 4);
    }

    #[test]
    fn an_answer_to_the_unicast_probe_is_the_targets_from_any_of_its_addresses() {
        let mut c = Collector::new(
            vec![sent(WSDD_ID, RouteKind::Unicast, ProbeKind::Device)],
            host("10.213.8.2"),
        );
        assert_eq!(
            c.offer(at("10.213.7.2"), samples::WSDD.as_bytes(), Duration::ZERO),
            Offer::NewResponder
        );
        let (rs, ig) = c.into_parts();
        assert_eq!(rs[0].source.ip().to_string(), "10.213.7.2");
        assert_eq!(ig.other_hosts, 0);
    }

    #[test]
    fn answers_to_several_probes_merge_into_one_responder() {
        let mut c = Collector::new(
            vec![
                sent(PY_ID, RouteKind::Unicast, ProbeKind::Any),
                sent(WSDD_ID, RouteKind::Multicast, ProbeKind::Device),
            ],
            None,
        );
        let t = Duration::ZERO;
        assert_eq!(
            c.offer(at("10.0.0.7"), samples::PYTHON_WSDISCOVERY.as_bytes(), t),
            Offer::NewResponder
        );
        // The same endpoint answering the other Probe (same document, other ids).
        let again = samples::PYTHON_WSDISCOVERY
            .replace(PY_ID, WSDD_ID)
            .replace("urn:uuid:4b6e2f70", "urn:uuid:4b6e2f71");
        assert_eq!(c.offer(at("10.0.0.7"), again.as_bytes(), t), Offer::Known);
        // And an empty ProbeMatches from the same host is kept apart, as "nothing matched".
        assert_eq!(
            c.offer(at("10.0.0.7"), samples::EMPTY_MATCHES.as_bytes(), t),
            Offer::NewResponder
        );
        let (rs, _) = c.into_parts();
        assert_eq!(rs.len(), 2);
        let full = rs.iter().find(|r| !r.empty).unwrap();
        assert_eq!(full.answered.len(), 2);
        assert_eq!(full.datagrams, 2);
        assert!(rs
            .iter()
            .any(|r| r.empty && r.classification.kind == ResponderKind::NoMatch));
    }

    #[test]
    fn merged_lists_read_the_same_whichever_version_answers_first() {
        use crate::discovery::message::{parse_probe, Probe};
        use crate::discovery::responder::{Answer, StandIn};
        let mut orders = Vec::new();
        for first in [Version::V2005, Version::V2009] {
            let mut stand_in = StandIn::new(1);
            let mut probes = Vec::new();
            let mut replies = Vec::new();
            for v in [
                first,
                if first == Version::V2005 {
                    Version::V2009
                } else {
                    Version::V2005
                },
            ] {
                let p = Probe::new(v, ProbeKind::Any);
                assert!(parse_probe(p.to_xml().as_bytes()).is_ok());
                let Answer::Reply { xml, .. } = stand_in.answer(
                    p.to_xml().as_bytes(),
                    at("10.0.0.5").ip(),
                    RouteKind::Unicast,
                ) else {
                    panic!()
                };
                probes.push(SentProbe {
                    id: p.message_id,
                    route: RouteKind::Unicast,
                    version: v,
                    kind: ProbeKind::Any,
                    group: 0,
                });
                replies.push(xml);
            }
            let mut c = Collector::new(probes, None);
            for x in &replies {
                c.offer(at("10.0.0.5"), x.as_bytes(), Duration::ZERO);
            }
            let (rs, _) = c.into_parts();
            assert_eq!(rs.len(), 1);
            assert_eq!(rs[0].version, Version::V2005);
            orders.push(
                rs[0]
                    .types
                    .iter()
                    .map(|t| t.text.clone())
                    .collect::<Vec<_>>(),
            );
        }
        assert_eq!(orders[0], orders[1]);
        assert_eq!(
            orders[0],
            ["wsdp:Device", "msp:RemoteDebuggerStandIn", "dpws:Device"]
        );
    }

    #[test]
    fn a_flood_is_parsed_only_up_to_the_cap_and_cannot_hide_the_target() {
        let probes = vec![sent(WSDD_ID, RouteKind::Multicast, ProbeKind::Device)];
        let mut c = Collector::new(probes.clone(), host("10.0.0.5"));
        let junk = vec![b'<'; 1000];
        for _ in 0..(MAX_PARSED + 500) {
            c.offer(at("10.0.0.66"), &junk, Duration::ZERO);
        }
        // The target's own answer has its own budget.
        let t = Duration::ZERO;
        assert_eq!(
            c.offer(at("10.0.0.5"), samples::WSDD.as_bytes(), t),
            Offer::NewResponder
        );
        let (rs, ig) = c.into_parts();
        assert_eq!(rs.len(), 1);
        assert_eq!(ig.malformed, MAX_PARSED);
        assert_eq!(ig.not_parsed, 500);

        // Without a target (--discover) one budget serves everyone: bounded beats complete.
        let mut c = Collector::new(probes, None);
        for _ in 0..(MAX_PARSED + 1) {
            c.offer(at("10.0.0.66"), &junk, Duration::ZERO);
        }
        assert_eq!(
            c.offer(at("10.0.0.5"), samples::WSDD.as_bytes(), t),
            Offer::Ignored
        );
        assert_eq!(c.into_parts().1.not_parsed, 2);
    }
}
