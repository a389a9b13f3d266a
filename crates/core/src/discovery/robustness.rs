//! Hostile input for everything that reads a datagram: a seeded mutation loop over real replies
//! and arbitrary bytes, bounded in cases and time so it runs in every `cargo test`, plus
//! hand-made 64 KiB datagrams built to cost as much as possible. The coverage-guided version of
//! the same is `fuzz/` (cargo fuzz, nightly only, run by hand).
//!
//! `MSVSMON_PROBE_MUTATION_CASES` and `MSVSMON_PROBE_MUTATION_SEED` change the bounds and the seed
//! (docs/testing.md records a long run).

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use super::collect::{Collector, SentProbe};
use super::message::{
    parse_probe, parse_probe_matches, Probe, ProbeKind, Version, MAX_DATAGRAM, MAX_LIST,
    MAX_MATCHES,
};
use super::responder::StandIn;
use super::{samples, RouteKind};

/// Feeds one datagram to every reader; they may reject it, never panic.
fn feed(bytes: &[u8], collector: &mut Collector, stand_in: &mut StandIn) {
    if let Ok(r) = parse_probe_matches(bytes) {
        assert!(r.matches.len() <= MAX_MATCHES);
        for m in &r.matches {
            assert!(
                m.types.len() <= MAX_LIST
                    && m.scopes.len() <= MAX_LIST
                    && m.xaddrs.len() <= MAX_LIST
            );
        }
    }
    let _ = parse_probe(bytes);
    let from: SocketAddr = "10.0.0.5:3702".parse().unwrap();
    collector.offer(from, bytes, Duration::ZERO);
    let _ = stand_in.answer(bytes, from.ip(), RouteKind::Unicast);
}

fn corpus() -> Vec<Vec<u8>> {
    let mut c: Vec<Vec<u8>> = samples::ALL.iter().map(|s| s.as_bytes().to_vec()).collect();
    for v in Version::ALL {
        for k in ProbeKind::ALL {
            c.push(Probe::new(v, k).to_xml().into_bytes());
        }
    }
    c
}

const TOKENS: &[&[u8]] = &[
    b"<",
    b">",
    b"</",
    b"/>",
    b"&",
    b"&amp;",
    b"&#x10FFFF;",
    b"&#0;",
    b"&e;",
    b"<![CDATA[",
    b"]]>",
    b"<!DOCTYPE x [<!ENTITY e \"ee\">]>",
    b"<?xml version=\"1.0\"?>",
    b"xmlns:a=\"\"",
    b" xmlns=\"urn:x\"",
    b"<!--",
    b"-->",
    b"\xff\xfe",
    b"\xc3",
    b":",
    b"wsdp:Device",
    b"<d:ProbeMatch>",
];

fn mutate(rng: &mut fastrand::Rng, corpus: &[Vec<u8>], data: &mut Vec<u8>) {
    for _ in 0..rng.usize(1..=4) {
        let len = data.len();
        match rng.u8(0..8) {
            0 if len > 0 => {
                let i = rng.usize(..len);
                data[i] ^= 1 << rng.u8(0..8);
            }
            1 if len > 0 => {
                let i = rng.usize(..len);
                data[i] = rng.u8(..);
            }
            2 if len > 0 => {
                let a = rng.usize(..len);
                let b = (a + rng.usize(0..64)).min(len);
                data.drain(a..b);
            }
            3 if len > 0 => {
                let a = rng.usize(..len);
                let b = (a + rng.usize(0..256)).min(len);
                let chunk = data[a..b].to_vec();
                let at = rng.usize(..=len);
                data.splice(at..at, chunk);
            }
            4 => {
                let t = TOKENS[rng.usize(..TOKENS.len())];
                let at = rng.usize(..=len);
                data.splice(at..at, t.iter().copied());
            }
            5 if len > 0 => data.truncate(rng.usize(..len)),
            6 => {
                let other = &corpus[rng.usize(..corpus.len())];
                if !other.is_empty() {
                    let a = rng.usize(..other.len());
                    let at = rng.usize(..=len);
                    data.splice(at..at, other[a..].iter().copied().take(512));
                }
            }
            _ => {
                let at = rng.usize(..=len);
                let n = rng.usize(0..32);
                data.splice(at..at, std::iter::repeat_with(|| rng.u8(..)).take(n));
            }
        }
        data.truncate(MAX_DATAGRAM + 16);
    }
}

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

// The one test that reports a number: docs/testing.md records it (run with --nocapture).
#[allow(clippy::print_stderr)]
#[test]
fn mutated_replies_and_arbitrary_bytes_never_panic() {
    let cases = env_u64("MSVSMON_PROBE_MUTATION_CASES", 20_000);
    let seed = env_u64("MSVSMON_PROBE_MUTATION_SEED", 0x5eed_3702);
    // A time bound too, so a slow machine still finishes; the cases run are reported.
    let budget = Duration::from_secs(env_u64("MSVSMON_PROBE_MUTATION_SECONDS", 20));
    let corpus = corpus();
    let mut rng = fastrand::Rng::with_seed(seed);
    // The ids of the corpus replies, so mutated replies still relate and reach the merge code.
    let ids = [
        samples::WINDOWS_PROBE_ID,
        "urn:uuid:5a4f0a53-1c1e-4d9f-9a3a-0c8f2b6e7d11",
        "urn:uuid:0f5d2c9e-8a47-4c36-9a8e-3f1b2d4c5e60",
    ];
    let mut collector = Collector::new(
        ids.iter()
            .map(|id| SentProbe {
                id: id.to_string(),
                route: RouteKind::Multicast,
                version: Version::V2005,
                kind: ProbeKind::Any,
                group: 0,
            })
            .collect(),
        None,
    );
    let mut stand_in = StandIn::new(1);
    let start = Instant::now();
    let mut run = 0u64;
    let mut accepted = 0u64;
    while run < cases && start.elapsed() < budget {
        let data = if rng.u8(0..10) == 0 {
            let n = rng.usize(0..2048);
            std::iter::repeat_with(|| rng.u8(..)).take(n).collect()
        } else {
            let mut d = corpus[rng.usize(..corpus.len())].clone();
            mutate(&mut rng, &corpus, &mut d);
            d
        };
        if parse_probe_matches(&data).is_ok() {
            accepted += 1;
        }
        feed(&data, &mut collector, &mut stand_in);
        // A fresh collector now and then, so its parse budget does not make it skip the rest.
        if run % 512 == 0 {
            collector = Collector::new(Vec::new(), None);
        }
        run += 1;
    }
    eprintln!(
        "mutation test: {run} cases (seed {seed:#x}) in {:.2?}, {accepted} still parsed as ProbeMatches, no panic",
        start.elapsed()
    );
    assert!(run >= cases.min(1000), "only {run} cases ran in {budget:?}");
    assert!(
        accepted > 0,
        "mutations never kept a reply readable: the test lost its reach"
    );
}

/// 64 KiB datagrams made to be expensive: deep nesting, huge text, entity and char-ref storms,
/// thousands of matches, types and namespace declarations. Each is handled in bounded time.
#[test]
fn hostile_64_kib_datagrams_are_handled_in_bounded_time() {
    let head = format!(
        "<s:Envelope xmlns:s=\"{}\" xmlns:a=\"{}\" xmlns:d=\"{}\"><s:Header><a:RelatesTo>urn:r</a:RelatesTo></s:Header><s:Body><d:ProbeMatches>",
        super::message::SOAP12_NS,
        Version::V2005.addressing_ns(),
        Version::V2005.discovery_ns()
    );
    let fill = |unit: &str, close: &str| -> Vec<u8> {
        let mut s = head.clone();
        while s.len() + unit.len() + close.len() < MAX_DATAGRAM {
            s.push_str(unit);
        }
        s.push_str(close);
        s.into_bytes()
    };
    let tail = "</d:ProbeMatches></s:Body></s:Envelope>";
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("deep nesting", fill("<x>", "")),
        ("one huge text", fill("A", tail)),
        (
            "many matches",
            fill("<d:ProbeMatch><d:Types>a:B</d:Types></d:ProbeMatch>", tail),
        ),
        ("many types", {
            let mut s = head.clone();
            s.push_str("<d:ProbeMatch><d:Types>");
            while s.len() < MAX_DATAGRAM - 100 {
                s.push_str("a:B ");
            }
            s.push_str("</d:Types></d:ProbeMatch>");
            s.push_str(tail);
            s.into_bytes()
        }),
        ("char references", fill("&#x41;&amp;", tail)),
        ("namespace declarations", {
            let mut s = String::from("<s:Envelope");
            let mut i = 0;
            while s.len() < MAX_DATAGRAM - 100 {
                s.push_str(&format!(" xmlns:p{i}=\"urn:{i}\""));
                i += 1;
            }
            s.push_str("/>");
            s.into_bytes()
        }),
        (
            "attributes",
            fill("<x a=\"1\" b=\"2\" c=\"3\" d=\"4\"/>", tail),
        ),
        ("comments", fill("<!-- -- -->", tail)),
        ("random", {
            let mut rng = fastrand::Rng::with_seed(64);
            std::iter::repeat_with(|| rng.u8(..))
                .take(MAX_DATAGRAM)
                .collect()
        }),
        ("too large", vec![b'<'; MAX_DATAGRAM + 1]),
    ];
    let mut collector = Collector::new(Vec::new(), None);
    let mut stand_in = StandIn::new(1);
    for (name, data) in &cases {
        assert!(data.len() <= MAX_DATAGRAM + 1, "{name}: {}", data.len());
        let t = Instant::now();
        feed(data, &mut collector, &mut stand_in);
        let took = t.elapsed();
        // One pass over 64 KiB takes well under a millisecond in release builds; a debug build
        // on a loaded CI machine gets ample room. A quadratic path would take seconds.
        assert!(took < Duration::from_millis(500), "{name}: {took:?}");
        if let Ok(r) = parse_probe_matches(data) {
            assert!(r.matches.len() <= MAX_MATCHES, "{name}");
        }
    }
}
