//! WS-Discovery end to end on loopback: `msvsmon-probe listen` as the remote machine, the probe
//! as the IDE's. Loopback does not multicast, so these exercise the unicast Probe, the reply
//! parser, the classification and the reports; the multicast paths, `--discover` and real peers
//! (wsdd, python wsdiscovery, nmap) need network namespaces and live in the lab (crates/lab/).
//! Nothing here sends a packet anywhere but loopback.

mod support;

use std::time::Duration;

use support::*;

const FAST: &[&str] = &["--timeout", "300ms", "--greeting-wait", "100ms"];

fn probe(extra: &[&str]) -> (serde_json::Value, i32) {
    let mut v: Vec<&str> = FAST.to_vec();
    v.extend_from_slice(extra);
    run_json(&v)
}

#[test]
fn the_probe_finds_the_stand_in_by_its_ports_and_by_ws_discovery() {
    let lo = Loopback::claim();
    let ip = lo.ip.to_string();
    let mut listen = ListenChild::start(&["--bind", &ip]);
    for needle in [
        format!("{ip}:4026"),
        format!("{ip}:3702"),
        "loopback does not multicast".to_string(),
    ] {
        assert!(listen.printed(&needle), "{needle} not in {:?}", listen.seen);
    }

    let (doc, code) = probe(&[&ip]);
    assert_eq!(code, 0);
    assert_eq!(port_of(&doc, 4026)["state"], "open");
    assert_eq!(port_of(&doc, 4025)["state"], "open");
    assert_eq!(port_of(&doc, 4024)["state"], "closed");
    let d = &doc["targets"][0]["discovery"];
    assert_eq!(d["status"], "answered", "{d:#}");
    assert_eq!(d["addresses"][0]["reach"], "this_machine");
    assert_eq!(
        d["probes"].as_array().unwrap().len(),
        1,
        "loopback: unicast only"
    );
    assert_eq!(d["probes"][0]["route"], "unicast");
    let r = &d["responders"][0];
    assert_eq!(r["source"], ip);
    assert_eq!(r["source_port"], 3702);
    assert_eq!(r["kind"], "stand_in");
    assert_eq!(r["debugger"]["hint"], "stand_in");
    assert_eq!(r["empty"], false);
    let types: Vec<&str> = r["types"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["qname"].as_str().unwrap())
        .collect();
    assert!(
        types.contains(&"wsdp:Device") && types.contains(&"msp:RemoteDebuggerStandIn"),
        "{types:?}"
    );
    let ours = r["types"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["local"] == "RemoteDebuggerStandIn")
        .unwrap();
    assert_eq!(
        ours["namespace"],
        "http://msvsmon-probe.invalid/ws-discovery/2026/stand-in"
    );
    // All four Probes (2005/04 and 2009, with and without Types) were answered.
    assert_eq!(r["answered"].as_array().unwrap().len(), 4, "{r:#}");
    assert_eq!(finding(&doc, 0, "stand_in")["severity"], "info");
    assert!(!codes(&doc, 0).contains(&"not_discoverable".to_string()));
    // Every answer came well inside the window: the probe stopped early.
    assert_eq!(d["stopped_early"], true);

    // The stand-in's log shows the same conversation.
    for needles in [
        ["Probe 2005/04 (types: any)", "by unicast: answered"],
        ["Probe 2005/04 (types: wsdp:Device)", "answered"],
        ["-> ", ":4026: accepted and closed"],
    ] {
        let found = listen.wait_for(
            |l| needles.iter().all(|n| l.contains(n)),
            Duration::from_secs(5),
        );
        assert!(found, "{needles:?} not in {:?}", listen.seen);
    }

    let (status, out) = listen.stop();
    assert_eq!(status.code(), Some(0), "{out:?}");
    assert_eq!(out.last().map(String::as_str), Some("stopped"), "{out:?}");
}

#[test]
fn the_human_report_shows_what_answered() {
    let lo = Loopback::claim();
    let ip = lo.ip.to_string();
    let _listen = ListenChild::start(&["--bind", &ip]);
    let mut argv: Vec<&str> = FAST.to_vec();
    argv.push(&ip);
    let out = run(&argv);
    let text = String::from_utf8(out.stdout).unwrap();
    // Said once, in the finding (wrapped: compared word by word).
    let said = text.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        said.contains(&format!(
            "{ip} answers WS-Discovery as msvsmon-probe's stand-in"
        )),
        "{text}"
    );
    // Every field of the reply with -v.
    argv.insert(0, "-v");
    let out = run(&argv);
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("WS-Discovery (UDP 3702): answered"), "{text}");
    assert!(
        text.contains("types     wsdp:Device msp:RemoteDebuggerStandIn"),
        "{text}"
    );
}

#[test]
fn a_monitor_without_discovery_is_reachable_but_not_in_find() {
    let lo = Loopback::claim();
    let ip = lo.ip.to_string();
    let listen = ListenChild::start(&["--bind", &ip, "--no-discovery"]);
    assert!(listen.printed("WS-Discovery off"), "{:?}", listen.seen);
    let (doc, code) = probe(&[&ip]);
    assert_eq!(code, 0);
    let d = &doc["targets"][0]["discovery"];
    assert_eq!(d["status"], "closed", "{d:#}");
    assert_eq!(d["addresses"][0]["icmp"]["kind"], "port-unreachable");
    assert_eq!(d["addresses"][0]["icmp"]["from"], ip);
    let f = finding(&doc, 0, "not_discoverable");
    let cause = f["cause"].as_str().unwrap();
    assert!(
        cause.contains("will not show in Attach to Process > Find"),
        "{cause}"
    );
    assert!(cause.contains("UDP 3702 is closed"), "{cause}");
    let action = f["action"].as_str().unwrap();
    assert!(
        action.contains(&format!("attach by typing {ip}:4026")),
        "{action}"
    );
}

#[test]
fn no_discovery_sends_nothing_to_udp_3702() {
    let lo = Loopback::claim();
    let ip = lo.ip.to_string();
    let udp = lo.udp_3702();
    let (doc, _) = probe(&["--no-discovery", &ip]);
    assert!(doc["targets"][0]["discovery"].is_null());
    assert_eq!(doc["settings"]["discovery"], false);
    assert!(doc["settings"]["discovery_wait_ms"].is_null());
    assert!(!codes(&doc, 0).iter().any(|c| c.contains("discover")));
    assert!(
        nothing_received(&udp),
        "--no-discovery sent a datagram to {ip}:3702"
    );

    // And without the flag, the same socket receives the Probes: the check above can fail.
    let (doc, _) = probe(&["--discovery-wait", "200ms", &ip]);
    assert!(!nothing_received(&udp));
    // A socket that reads but never answers: no reply, inconclusive, within the unicast window.
    let d = &doc["targets"][0]["discovery"];
    assert_eq!(d["status"], "no_reply");
    assert_eq!(d["wait_ms"], 200.0);
}

#[test]
fn listen_takes_releases_and_ports() {
    let lo = Loopback::claim();
    let ip = lo.ip.to_string();
    let listen = ListenChild::start(&[
        "--bind",
        &ip,
        "--release",
        "2019",
        "-p",
        "4567",
        "--no-discovery",
    ]);
    for port in ["4024", "4025", "4567"] {
        assert!(
            listen.printed(&format!("{ip}:{port}")),
            "{port}: {:?}",
            listen.seen
        );
    }
    let (doc, code) = probe(&["--no-discovery", &format!("{ip}:4567")]);
    assert_eq!(code, 0);
    assert_eq!(port_of(&doc, 4024)["state"], "open");
    assert_eq!(port_of(&doc, 4026)["state"], "closed");
    assert_eq!(port_of(&doc, 4567)["state"], "open");
}

/// The stand-in answers at most 50 Probes a second. A Probe over the limit is not answered, and
/// must not be remembered as answered either: SOAP-over-UDP repeats a Probe exactly so that a
/// lost answer is recovered, and the repeat that comes after the second is over gets one.
/// (Seen in the lab, where every concurrent probe's multicast Probes reach every stand-in: the
/// repeats of a rate-limited Probe were dropped as "already answered", and the target looked
/// silent for the whole window.)
#[test]
fn a_rate_limited_probe_is_answered_when_repeated() {
    use msvsmon_probe_core::{parse_probe_matches, ProbeKind, Version, WsdProbe as Probe};
    use std::collections::BTreeSet;
    use std::net::UdpSocket;
    use std::time::Instant;

    let lo = Loopback::claim();
    let ip = lo.ip.to_string();
    let _listen = ListenChild::start(&["--bind", &ip]);
    let sock = UdpSocket::bind((lo.ip, 0)).unwrap();
    let to = lo.addr(3702);
    let probes: Vec<Probe> = (0..60)
        .map(|_| Probe::new(Version::V2005, ProbeKind::Any))
        .collect();
    // Answers (by the Probe they relate to) until `want` have come or `limit` has passed.
    let collect = |answered: &mut BTreeSet<String>, want: usize, limit: Duration| {
        let end = Instant::now() + limit;
        let mut buf = vec![0u8; 65536];
        while answered.len() < want {
            let Some(left) = end.checked_duration_since(Instant::now()) else {
                break;
            };
            sock.set_read_timeout(Some(left.max(Duration::from_millis(1))))
                .unwrap();
            let Ok((n, _)) = sock.recv_from(&mut buf) else {
                break;
            };
            if let Ok(m) = parse_probe_matches(&buf[..n]) {
                answered.insert(m.relates_to);
            }
        }
    };
    for p in &probes {
        sock.send_to(p.to_xml().as_bytes(), to).unwrap();
    }
    let mut answered = BTreeSet::new();
    // The unicast answer goes out at once; its repeat within 250 ms.
    collect(&mut answered, 60, Duration::from_millis(700));
    assert_eq!(
        answered.len(),
        50,
        "the first 50 of 60 Probes in one second"
    );
    // Repeat the others, as their sender would, until the next second lets them through.
    let unanswered: Vec<&Probe> = probes
        .iter()
        .filter(|p| !answered.contains(&p.message_id))
        .collect();
    let end = Instant::now() + Duration::from_secs(3);
    while answered.len() < 60 && Instant::now() < end {
        for p in &unanswered {
            if !answered.contains(&p.message_id) {
                sock.send_to(p.to_xml().as_bytes(), to).unwrap();
            }
        }
        collect(&mut answered, 60, Duration::from_millis(200));
    }
    assert_eq!(
        answered.len(),
        60,
        "the repeats of the rate-limited Probes were answered after the second was over"
    );
}

/// A flood of Probes costs the log at most 20 event lines and one summary a second, and the
/// summary says what was not shown and who sent it. (One sender once made 391,788 lines in 5 s.)
#[test]
fn a_flood_of_probes_is_summed_up_not_logged_line_by_line() {
    use msvsmon_probe_core::{ProbeKind, Version, WsdProbe as Probe};
    use std::net::UdpSocket;
    use std::time::Instant;

    let lo = Loopback::claim();
    let ip = lo.ip.to_string();
    let listen = ListenChild::start(&["--bind", &ip]);
    let started = Instant::now();
    let sock = UdpSocket::bind((lo.ip, 0)).unwrap();
    const SENT: u64 = 20_000;
    for _ in 0..SENT {
        // Each Probe is a new one to the stand-in only by its MessageID; a repeat is dropped
        // as already seen, so every datagram carries a fresh one.
        let p = Probe::new(Version::V2005, ProbeKind::Any).to_xml();
        sock.send_to(p.as_bytes(), lo.addr(3702)).unwrap();
    }
    let (status, out) = listen.stop();
    let seconds = started.elapsed().as_secs();
    assert!(status.success(), "{out:?}");
    let events: Vec<&String> = out
        .iter()
        .skip_while(|l| !l.starts_with("listening"))
        .skip(1)
        .take_while(|l| *l != "stopped")
        .collect();
    let summaries: Vec<&&String> = events
        .iter()
        .filter(|l| l.contains("more event(s) this second not shown"))
        .collect();
    // Computed from how long the run lasted: 20 event lines and a summary per second begun.
    let most = (seconds + 2) * 21;
    assert!(
        (events.len() as u64) <= most,
        "{} lines in {seconds} s: {:#?}",
        events.len(),
        &events[..events.len().min(40)]
    );
    assert!(!summaries.is_empty(), "{events:#?}");
    let flooded = summaries
        .iter()
        .find(|l| l.contains("Probe(s) not answered (over 50 a second)"))
        .unwrap_or_else(|| panic!("{summaries:#?}"));
    assert!(flooded.contains(&format!("from {ip} (")), "{flooded}");
    // Never more than was sent: the summaries' totals and the lines together.
    let held: u64 = summaries
        .iter()
        .map(|l| {
            let n = l.split("  ").nth(1).unwrap().split(' ').next().unwrap();
            n.replace(',', "").parse::<u64>().unwrap()
        })
        .sum();
    assert!(held + events.len() as u64 <= SENT + summaries.len() as u64);
}
