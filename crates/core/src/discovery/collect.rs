//! Replies in, responders out: parse each datagram, keep it only if it answers a Probe we sent
//! (RelatesTo) and comes from a host we asked about, merge repeats and the answers to our several
//! Probes into one responder per endpoint, and count everything set aside. Pure: the client feeds
//! it what its sockets read, tests feed it bytes.
//!
//! Bounds, so a flood costs neither memory nor time beyond them, and so one sender cannot hide the
//! others: every source address has a [`Budget`] of its own ([`PER_SOURCE`]: datagrams and bytes
//! parsed, responders and the bytes they hold), and every source together has one more
//! ([`PER_RUN`]), far above any honest link, which bounds the whole run also when a flooder sends
//! from many addresses. The host probe's target addresses share one budget apart from everyone
//! else's ([`TARGET`]), so nobody else's flood can use up the target's. What a budget refuses is
//! counted: past a parse budget in `not_parsed`, past a responder budget in `over_limit`. Each
//! parse is one pass over at most 64 KiB. docs/ws-discovery.md says what a flooder can still do.

use std::collections::hash_map::DefaultHasher;
use std::collections::{BTreeSet, HashMap, HashSet};
use std::hash::{Hash, Hasher};
use std::mem::size_of;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use super::classify::{classify, DebuggerHint};
use super::message::{parse_probe_matches, ProbeKind, QName, Rejected, Version, MAX_LIST};
use super::{same_ip, Ignored, Responder, RouteKind};
use crate::target::Address;

/// What one account may cost in a run: datagrams parsed and their bytes, responders kept and the
/// bytes they hold ([`held_bytes`]). A datagram past either parse limit is not parsed; a
/// responder past either holding limit is not kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    pub datagrams: u32,
    pub bytes: usize,
    pub responders: usize,
    pub held: usize,
}

/// One source address. An honest responder sends a few dozen datagrams of 1–3 KiB at most: up to
/// 8 of our Probes reach one address (4 multicast, 4 unicast), each answered once, or once per
/// repeat by a responder that does not drop repeats, and each answer sent once or twice
/// (SOAP-over-UDP repeats a reply), per endpoint. Windows publishes one endpoint per computer, a
/// device a few; 32 endpoints is a busy print server. The bytes leave room for 32 datagrams of
/// 64 KiB, which no honest responder sends: one misbehaving host on its own (the lab's hostile
/// one sends 16 of them per family) is still read in full, and counted for what it sent.
pub const PER_SOURCE: Budget = Budget {
    datagrams: 256,
    bytes: 2 * 1024 * 1024,
    responders: 32,
    held: 512 * 1024,
};

/// Every source but the host probe's target, together: far above any honest link (4,096
/// responders, each with the few datagrams an honest one sends), while parsing stays under half
/// a second (64 KiB of ProbeMatch elements, the slowest datagram measured, parses in 0.21 ms in
/// a release build on the 2-core development VM, 2026-12-02) and what is kept under 32 MiB. One
/// source can use 1/64 of its datagrams and of its bytes: a flood that exhausts either comes
/// from 64 addresses or more.
pub const PER_RUN: Budget = Budget {
    datagrams: 16_384,
    bytes: 128 * 1024 * 1024,
    responders: 4096,
    held: 32 * 1024 * 1024,
};

/// The host probe's target, all its addresses together; apart from [`PER_RUN`], so that neither
/// a flood from elsewhere nor the target's own can starve the other.
pub const TARGET: Budget = Budget {
    datagrams: 1024,
    bytes: 64 * 1024 * 1024,
    responders: 256,
    held: 32 * 1024 * 1024,
};

/// What an account has used so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Spent {
    datagrams: u32,
    bytes: usize,
    responders: usize,
    held: usize,
}

impl Spent {
    fn may_parse(&self, len: usize, b: &Budget) -> bool {
        self.datagrams < b.datagrams && self.bytes.saturating_add(len) <= b.bytes
    }

    fn parse(&mut self, len: usize) {
        self.datagrams += 1;
        self.bytes += len;
    }

    fn may_keep(&self, weight: usize, b: &Budget) -> bool {
        self.responders < b.responders && self.may_grow(weight, b)
    }

    fn may_grow(&self, more: usize, b: &Budget) -> bool {
        self.held.saturating_add(more) <= b.held
    }
}

/// One source address: what it has used, and its responders (indexes into `responders`).
#[derive(Debug, Default)]
struct Source {
    spent: Spent,
    responders: Vec<usize>,
}

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
    /// Every address a datagram was parsed from (so at most `PER_RUN.datagrams` plus the
    /// target's), with what it used; a target address's `spent` stays unused.
    sources: HashMap<IpAddr, Source>,
    /// Every source but the target, together ([`PER_RUN`]).
    run: Spent,
    /// The target's addresses, together ([`TARGET`]).
    target: Spent,
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
            sources: HashMap::new(),
            run: Spent::default(),
            target: Spent::default(),
        }
    }

    /// Charges a parse of `len` bytes from `ip` to its budgets, if they allow it.
    fn charge_parse(&mut self, ip: IpAddr, from_host: bool, len: usize) -> bool {
        if from_host {
            if !self.target.may_parse(len, &TARGET) {
                return false;
            }
            self.target.parse(len);
            self.sources.entry(ip).or_default();
            return true;
        }
        let source_ok = self
            .sources
            .get(&ip)
            .is_none_or(|s| s.spent.may_parse(len, &PER_SOURCE));
        if !source_ok || !self.run.may_parse(len, &PER_RUN) {
            return false;
        }
        self.run.parse(len);
        self.sources.entry(ip).or_default().spent.parse(len);
        true
    }

    /// Whether a new responder of `weight` bytes from `ip` may be kept; if so, charged.
    fn charge_keep(&mut self, ip: IpAddr, from_host: bool, weight: usize) -> bool {
        let source = self.sources.entry(ip).or_default();
        let (mine, budget, shared) = if from_host {
            (&mut self.target, &TARGET, None)
        } else {
            (&mut source.spent, &PER_SOURCE, Some(&mut self.run))
        };
        let fits = mine.may_keep(weight, budget)
            && shared
                .as_ref()
                .is_none_or(|run| run.may_keep(weight, &PER_RUN));
        if fits {
            for s in std::iter::once(mine).chain(shared) {
                s.responders += 1;
                s.held += weight;
            }
        }
        fits
    }

    /// Whether a responder of `ip` may grow by `more` bytes; if so, charged.
    fn charge_growth(&mut self, ip: IpAddr, from_host: bool, more: usize) -> bool {
        let source = self.sources.entry(ip).or_default();
        let (mine, budget, shared) = if from_host {
            (&mut self.target, &TARGET, None)
        } else {
            (&mut source.spent, &PER_SOURCE, Some(&mut self.run))
        };
        let fits = mine.may_grow(more, budget)
            && shared
                .as_ref()
                .is_none_or(|run| run.may_grow(more, &PER_RUN));
        if fits {
            for s in std::iter::once(mine).chain(shared) {
                s.held += more;
            }
        }
        fits
    }

    /// Takes one datagram that arrived from `from`, `at` after the first Probe.
    pub fn offer(&mut self, from: SocketAddr, bytes: &[u8], at: Duration) -> Offer {
        let ip = from.ip();
        let from_host = self.hosts.as_ref().is_some_and(|h| same_ip(ip, h));
        if !self.charge_parse(ip, from_host, bytes.len()) {
            self.ignored.not_parsed += 1;
            return Offer::Ignored;
        }
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
        if !self.seen.insert((ip, h.finish())) {
            self.ignored.duplicates += 1;
            let first = self.sources.get(&ip).and_then(|s| s.responders.first());
            if let Some(&i) = first {
                self.responders[i].datagrams += 1;
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
            let existing = self.sources.get(&ip).and_then(|s| {
                s.responders.iter().copied().find(|&i| {
                    let r = &self.responders[i];
                    r.endpoint == endpoint && r.empty == m.is_none()
                })
            });
            match existing {
                Some(i) => {
                    let r = &self.responders[i];
                    let mut merged_r = None;
                    if let Some(m) = m {
                        // The older version's lists lead, whichever reply came first, so a
                        // report reads the same from run to run.
                        let mut n = r.clone();
                        if reply.version < n.version {
                            n.version = reply.version;
                            n.types = merged(&m.types, &r.types);
                            n.scopes = merged(&m.scopes, &r.scopes);
                            n.xaddrs = merged(&m.xaddrs, &r.xaddrs);
                        } else {
                            n.types = merged(&r.types, &m.types);
                            n.scopes = merged(&r.scopes, &m.scopes);
                            n.xaddrs = merged(&r.xaddrs, &m.xaddrs);
                        }
                        n.metadata_version = n.metadata_version.or(m.metadata_version);
                        n.truncated |= m.truncated;
                        n.classification = classify(false, &n.types, &n.scopes, &n.xaddrs);
                        merged_r = Some(n);
                    }
                    let old = held_bytes(r);
                    if let Some(n) = merged_r {
                        let more = held_bytes(&n).saturating_sub(old);
                        if self.charge_growth(ip, from_host, more) {
                            self.responders[i] = n;
                        } else {
                            // What it adds would pass the holding budget: its lists stay
                            // as they were, marked cut.
                            self.responders[i].truncated = true;
                        }
                    }
                    let r = &mut self.responders[i];
                    r.answered.insert(answered);
                    r.datagrams += 1;
                    if outcome == Offer::Ignored {
                        outcome = Offer::Known;
                    }
                }
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
                    let r = Responder {
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
                    };
                    if !self.charge_keep(ip, from_host, held_bytes(&r)) {
                        self.ignored.over_limit += 1;
                        continue;
                    }
                    let i = self.responders.len();
                    self.responders.push(r);
                    self.sources.entry(ip).or_default().responders.push(i);
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

/// About how much memory a responder holds: its own size and every string it owns. What the
/// holding budgets count; a reply can claim more than its own size (each Type carries a copy of
/// its namespace), so its datagram's size would not do.
pub fn held_bytes(r: &Responder) -> usize {
    let s = |t: &String| size_of::<String>() + t.len();
    let q = |t: &QName| {
        size_of::<QName>()
            + t.text.len()
            + t.local.len()
            + t.namespace.as_ref().map_or(0, |n| n.len())
    };
    let hint = match &r.classification.debugger {
        DebuggerHint::Mentions(t) => t.len(),
        _ => 0,
    };
    size_of::<Responder>()
        + r.endpoint.as_ref().map_or(0, |e| e.len())
        + r.types.iter().map(q).sum::<usize>()
        + r.scopes.iter().map(s).sum::<usize>()
        + r.xaddrs.iter().map(s).sum::<usize>()
        + r.classification.kinds.len() * size_of::<super::ResponderKind>()
        + ANSWERED
        + hint
}

/// What a responder's `answered` set holds at most, counted in full from the start: one B-tree
/// node (it has at most 8 entries: 2 routes, 2 versions, 2 kinds).
const ANSWERED: usize = 256;

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
mod tests;
