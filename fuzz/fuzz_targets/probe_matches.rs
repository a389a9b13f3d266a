//! Every reader of an untrusted datagram, fed arbitrary bytes: the ProbeMatches parser, the
//! Probe parser (what `listen` reads), the reply collector and the stand-in's answer. None may
//! panic; each is one bounded pass over at most 64 KiB.
//!
//! Seeds: `fuzz/seeds/` (real replies and our Probes). Run: see docs/testing.md.
#![no_main]

use std::net::SocketAddr;
use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use msvsmon_probe_core::{
    parse_probe, parse_probe_matches, Collector, ProbeKind, RouteKind, SentProbe, StandIn, Version,
};

fuzz_target!(|data: &[u8]| {
    let _ = parse_probe_matches(data);
    let _ = parse_probe(data);
    let from: SocketAddr = "10.0.0.5:3702".parse().unwrap();
    let mut c = Collector::new(
        vec![SentProbe {
            id: "urn:uuid:5a4f0a53-1c1e-4d9f-9a3a-0c8f2b6e7d11".into(),
            route: RouteKind::Multicast,
            version: Version::V2005,
            kind: ProbeKind::Device,
            group: 0,
        }],
        None,
    );
    c.offer(from, data, Duration::ZERO);
    c.offer(from, data, Duration::ZERO);
    let _ = StandIn::new(1).answer(data, from.ip(), RouteKind::Unicast);
});
