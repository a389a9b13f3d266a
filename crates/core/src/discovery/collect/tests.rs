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
    assert!(rs[0]
        .answered
        .contains(&(RouteKind::Multicast, Version::V2005, ProbeKind::Device)));
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

/// The wsdd sample as responder `endpoint` would send it in answer to `probe`, with
/// MessageID number `message`.
fn reply(probe: &str, endpoint: u32, message: u32) -> String {
    samples::WSDD
        .replace(WSDD_ID, probe)
        .replace(
            "e5e61fb5-d685-5b50-9ba7-acb6e6962ef3",
            &format!("e5e61fb5-d685-5b50-9ba7-{endpoint:012x}"),
        )
        .replace(
            "0ee69e0a-e8fe-11f1-8797-5e263dfc7175",
            &format!("0ee69e0a-e8fe-11f1-8797-{message:012x}"),
        )
}

/// `n` distinct addresses, 10.<n / 65536>.<…>.<…>, none of them 10.0.0.5.
fn address(n: u32) -> SocketAddr {
    let ip = std::net::Ipv4Addr::from(0x0a10_0000 + n);
    SocketAddr::new(ip.into(), 3702)
}

const JUNK: &[u8] = b"\x00\xff\xfe junk, not XML <<<&&&";

/// `--discover`'s Collector, for the two Probes the replies above answer.
fn discover() -> Collector {
    Collector::new(
        vec![
            sent(WSDD_ID, RouteKind::Multicast, ProbeKind::Device),
            sent(PY_ID, RouteKind::Multicast, ProbeKind::Any),
        ],
        None,
    )
}

fn from_source<'a>(rs: &'a [Responder], ip: &str) -> Vec<&'a Responder> {
    let ip: IpAddr = ip.parse().unwrap();
    rs.iter().filter(|r| r.source.ip() == ip).collect()
}

#[test]
fn a_flood_is_parsed_only_up_to_the_cap_and_cannot_hide_the_target() {
    let probes = vec![sent(WSDD_ID, RouteKind::Multicast, ProbeKind::Device)];
    let mut c = Collector::new(probes.clone(), host("10.0.0.5"));
    let junk = vec![b'<'; 1000];
    for _ in 0..(PER_SOURCE.datagrams + 500) {
        c.offer(at("10.0.0.66"), &junk, Duration::ZERO);
    }
    // From many addresses too, past what the run parses for everyone but the target.
    for n in 0..PER_RUN.datagrams {
        c.offer(address(n), JUNK, Duration::ZERO);
    }
    // The target's own answer has its own budget.
    let t = Duration::ZERO;
    assert_eq!(
        c.offer(at("10.0.0.5"), samples::WSDD.as_bytes(), t),
        Offer::NewResponder
    );
    let (rs, ig) = c.into_parts();
    assert_eq!(rs.len(), 1);
    assert_eq!(ig.malformed, PER_RUN.datagrams);
    assert_eq!(ig.not_parsed, 500 + PER_SOURCE.datagrams);

    // And the target's budget is its own: past it, even its answer is not parsed.
    let mut c = Collector::new(probes, host("10.0.0.5"));
    for _ in 0..TARGET.datagrams {
        c.offer(at("10.0.0.5"), &junk, t);
    }
    assert_eq!(
        c.offer(at("10.0.0.5"), samples::WSDD.as_bytes(), t),
        Offer::Ignored
    );
    let (_, ig) = c.into_parts();
    assert_eq!((ig.malformed, ig.not_parsed), (TARGET.datagrams, 1));
}

/// Issue 11: a flood of junk, or 300 replies with distinct endpoints, from one address left
/// `--discover` with no room for anyone else.
#[test]
fn a_flooder_loses_only_its_own_replies() {
    let t = Duration::ZERO;
    // Junk first.
    let mut c = discover();
    for _ in 0..2000 {
        assert_eq!(c.offer(at("10.0.0.66"), JUNK, t), Offer::Ignored);
    }
    let real = reply(WSDD_ID, 1, 1);
    assert_eq!(
        c.offer(at("10.0.0.5"), real.as_bytes(), t),
        Offer::NewResponder
    );
    let (rs, ig) = c.into_parts();
    assert_eq!(from_source(&rs, "10.0.0.5").len(), 1);
    assert_eq!(rs.len(), 1);
    assert_eq!(ig.malformed, PER_SOURCE.datagrams);
    assert_eq!(ig.not_parsed, 2000 - PER_SOURCE.datagrams);

    // 300 endpoints at one address: it keeps its budget's worth, the rest are counted.
    let mut c = discover();
    for e in 0..300 {
        c.offer(
            at("10.0.0.66"),
            reply(WSDD_ID, 1000 + e, 1000 + e).as_bytes(),
            t,
        );
    }
    assert_eq!(
        c.offer(at("10.0.0.5"), real.as_bytes(), t),
        Offer::NewResponder
    );
    let (rs, ig) = c.into_parts();
    assert_eq!(from_source(&rs, "10.0.0.5").len(), 1);
    let flood = PER_SOURCE.responders as u32;
    assert_eq!(from_source(&rs, "10.0.0.66").len() as u32, flood);
    assert_eq!(ig.over_limit, PER_SOURCE.datagrams - flood);
    assert_eq!(ig.not_parsed, 300 - PER_SOURCE.datagrams);
}

/// A busy honest link, with a flooder on it: every responder is kept, and what the flooder
/// sent beyond its budget is counted.
#[test]
fn five_hundred_honest_responders_from_five_hundred_addresses_are_all_kept() {
    let mut c = discover();
    let t = Duration::from_millis(1);
    let flooder = at("10.0.0.66");
    let mut flooded = 0;
    for n in 0..500 {
        // Each answers both Probes, and sends its first answer twice (as wsdd does).
        let device = reply(WSDD_ID, n, 2 * n);
        for (d, copy) in [
            (&device, false),
            (&device, true),
            (&reply(PY_ID, n, 2 * n + 1), false),
        ] {
            let got = c.offer(address(n), d.as_bytes(), t);
            assert_eq!(got == Offer::Ignored, copy, "{n}: {got:?}");
            c.offer(flooder, JUNK, t);
            let f = 100_000 + flooded;
            c.offer(flooder, reply(WSDD_ID, f, f).as_bytes(), t);
            flooded += 2;
        }
    }
    let (rs, ig) = c.into_parts();
    let honest: Vec<&Responder> = rs.iter().filter(|r| r.source != flooder).collect();
    assert_eq!(honest.len(), 500);
    for r in &honest {
        assert_eq!(r.datagrams, 3, "{r:?}");
        assert_eq!(r.answered.len(), 2);
    }
    let kept = rs.len() - honest.len();
    assert_eq!(kept, PER_SOURCE.responders);
    assert_eq!(ig.duplicates, 500);
    assert_eq!(ig.not_parsed, flooded - PER_SOURCE.datagrams);
    assert_eq!(
        ig.malformed + ig.over_limit + kept as u32,
        PER_SOURCE.datagrams
    );
}

/// Many addresses (spoofed, or one IPv6 host's many) are many budgets: what bounds the run is
/// [`PER_RUN`]. Past it nothing is parsed or kept, from anyone but the target; memory and
/// parsing stay bounded, and what was set aside is counted.
#[test]
fn a_flood_from_many_addresses_stays_within_the_runs_bounds() {
    let t = Duration::ZERO;
    // Parsing: junk from more addresses than the run parses datagrams.
    let mut c = discover();
    let spoofed = PER_RUN.datagrams + 3000;
    for n in 0..spoofed {
        c.offer(address(n), JUNK, t);
    }
    assert!(c.sources.len() <= PER_RUN.datagrams as usize);
    // The residual limit: an honest reply after that is counted, not parsed.
    assert_eq!(
        c.offer(at("10.0.0.5"), reply(WSDD_ID, 1, 1).as_bytes(), t),
        Offer::Ignored
    );
    let (rs, ig) = c.into_parts();
    assert!(rs.is_empty());
    assert_eq!(ig.malformed, PER_RUN.datagrams);
    assert_eq!(ig.not_parsed, spoofed - PER_RUN.datagrams + 1);

    // Responders: 32 endpoints from each of 200 addresses, more than the run keeps.
    let mut c = discover();
    let mut m = 0;
    for n in 0..200 {
        for _ in 0..PER_SOURCE.responders {
            m += 1;
            c.offer(address(n), reply(WSDD_ID, m, m).as_bytes(), t);
        }
    }
    let (rs, ig) = c.into_parts();
    assert_eq!(rs.len(), PER_RUN.responders);
    assert_eq!(ig.over_limit, m - PER_RUN.responders as u32);
}

/// Large datagrams run out of bytes before they run out of datagrams, for one source and for
/// the run.
#[test]
fn large_datagrams_are_bounded_by_their_bytes() {
    let t = Duration::ZERO;
    let big = vec![b'<'; 64 * 1024];
    let per_source = (PER_SOURCE.bytes / big.len()) as u32;
    let per_run = (PER_RUN.bytes / big.len()) as u32;
    let mut c = discover();
    for _ in 0..per_source + 8 {
        c.offer(at("10.0.0.66"), &big, t);
    }
    assert_eq!((c.ignored.malformed, c.ignored.not_parsed), (per_source, 8));
    let others = per_run + 100;
    for n in 0..others {
        c.offer(address(n), &big, t);
    }
    // A small datagram still fits in what is left of a source's bytes, not of the run's.
    c.offer(address(0), JUNK, t);
    let (_, ig) = c.into_parts();
    assert_eq!(ig.malformed, per_run);
    assert_eq!(ig.not_parsed, 8 + others - (per_run - per_source) + 1);
}

/// A reply can claim much more memory than its size (every Type keeps a copy of its
/// namespace): what is held stays within each source's and the run's budget.
#[test]
fn replies_that_claim_more_than_their_size_are_held_within_the_budgets() {
    // 16 matches of 16 Types in a 4 KiB namespace, from 100 addresses: 1 MiB each.
    let t = Duration::ZERO;
    let ns = format!("urn:{}", "n".repeat(4 * 1024));
    let types: Vec<String> = (0..16).map(|i| format!("a:T{i}")).collect();
    let one = |e: u32| {
        format!(
            "<wsd:ProbeMatch><wsa:EndpointReference><wsa:Address>urn:uuid:{e}</wsa:Address>\
             </wsa:EndpointReference><wsd:Types>{}</wsd:Types></wsd:ProbeMatch>",
            types.join(" ")
        )
    };
    let mut c = discover();
    let mut big = 0;
    for n in 0..100 {
        let matches: String = (0..16).map(|i| one(n * 16 + i)).collect();
        let xml = samples::WSDD
            .replace(
                "<soap:Envelope ",
                &format!("<soap:Envelope xmlns:a=\"{ns}\" "),
            )
            .replace(
                "0ee69e0a-e8fe-11f1-8797-5e263dfc7175",
                &format!("0ee69e0a-e8fe-11f1-8797-{n:012x}"),
            );
        let (head, _) = xml.split_once("<wsd:ProbeMatch>").unwrap();
        let xml = format!("{head}{matches}</wsd:ProbeMatches></soap:Body></soap:Envelope>");
        big = big.max(xml.len());
        c.offer(address(n), xml.as_bytes(), t);
    }
    let per_source: HashMap<IpAddr, usize> =
        c.responders.iter().fold(HashMap::new(), |mut m, r| {
            *m.entry(r.source.ip()).or_default() += held_bytes(r);
            m
        });
    let (rs, ig) = c.into_parts();
    let held: usize = rs.iter().map(held_bytes).sum();
    assert!(!rs.is_empty() && held <= PER_RUN.held, "{held}");
    assert!(per_source.values().all(|&h| h <= PER_SOURCE.held));
    // Each such responder holds 16 times the datagram's namespace.
    assert!(
        held_bytes(&rs[0]) > 16 * 4 * 1024 && big < 12 * 1024,
        "{big}"
    );
    assert_eq!(rs.len() + ig.over_limit as usize, 100 * 16);
}
