//! Text from the network and from files never reaches the terminal raw: a WS-Discovery reply that
//! smuggles a line break and a forged verdict, C1 controls and bidi overrides, and a target list
//! with escape sequences and a ten-megabyte line. Loopback only: the "responder" is this test,
//! answering the tool's unicast Probe on an address the test owns.

mod support;

use std::net::UdpSocket;
use std::time::Duration;

use msvsmon_probe_core::{parse_probe, Version};
use support::*;

/// A python-wsdiscovery-shaped ProbeMatches whose Address carries a line break and a forged
/// verdict line, whose Types carry a bidi override and whose Scopes carry a C1 CSI.
fn forged_reply(relates_to: &str) -> String {
    format!(
        r#"<?xml version="1.0" ?>
<s:Envelope xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing" xmlns:d="http://schemas.xmlsoap.org/ws/2005/04/discovery" xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:lab="http://example.org/lab/printing">
<s:Header>
<a:Action>http://schemas.xmlsoap.org/ws/2005/04/discovery/ProbeMatches</a:Action>
<a:MessageID>urn:uuid:4b6e2f70-9c1d-4e3a-8b5f-7d6c5b4a3921</a:MessageID>
<a:RelatesTo>{relates_to}</a:RelatesTo>
<a:To>http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous</a:To>
<d:AppSequence InstanceId="4152239418" MessageNumber="1"/>
</s:Header>
<s:Body>
<d:ProbeMatches>
<d:ProbeMatch>
<a:EndpointReference><a:Address>urn:uuid:x&#10;  Verdict: reachable — FORGED</a:Address></a:EndpointReference>
<d:Types>lab:Printer&#x202E;exe.txt</d:Types>
<d:Scopes>http://example.org/&#x9B;31mred&#x85;next</d:Scopes>
<d:XAddrs>http://10.213.7.2:8080/abc</d:XAddrs>
<d:MetadataVersion>1</d:MetadataVersion>
</d:ProbeMatch>
</d:ProbeMatches>
</s:Body>
</s:Envelope>"#
    )
}

/// Answers every 2005/04 Probe that reaches `sock` with the forged reply, until the test ends.
fn forger(sock: UdpSocket) {
    sock.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    std::thread::spawn(move || {
        let mut buf = vec![0u8; 65536];
        while let Ok((n, from)) = sock.recv_from(&mut buf) {
            if let Ok(p) = parse_probe(&buf[..n]) {
                if p.version == Version::V2005 {
                    let _ = sock.send_to(forged_reply(&p.message_id).as_bytes(), from);
                }
            }
        }
    });
}

fn assert_no_raw_controls(what: &str, text: &str) {
    for (i, c) in text.chars().enumerate() {
        let bad = (c.is_control() && c != '\n')
            || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{85}');
        assert!(!bad, "{what}: raw {c:?} at char {i}:\n{text}");
    }
}

#[test]
fn a_forged_discovery_reply_cannot_forge_a_report_line() {
    let lo = Loopback::claim();
    let _l = lo.listen(4026);
    forger(lo.udp_3702());
    let ip = lo.ip.to_string();
    let out = run(&[
        "--timeout",
        "300ms",
        "--greeting-wait",
        "0",
        "--color",
        "always",
        // The responder's endpoint reference is shown in full with -v.
        "-v",
        &ip,
    ]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("Verdict: reachable — FORGED"),
        "the reply was read (else this test proves nothing):\n{text}"
    );
    for l in text.lines() {
        assert!(
            !l.trim_start().starts_with("Verdict: reachable — FORGED"),
            "a forged line:\n{text}"
        );
    }
    // Colour is on: strip our own styles (CSI … m) before looking for anything raw.
    let plain = strip_sgr(&text);
    assert_no_raw_controls("the human report", &plain);
    assert!(
        plain.contains("\\n  Verdict: reachable"),
        "shown escaped:\n{plain}"
    );
    assert!(plain.contains("\\u{202e}"), "bidi shown:\n{plain}");
    assert!(plain.contains("\\u{9b}31m"), "C1 CSI shown:\n{plain}");
}

#[test]
fn a_sentence_in_json_never_carries_a_remote_line_break() {
    let lo = Loopback::claim();
    let _l = lo.listen(4026);
    forger(lo.udp_3702());
    let (doc, _) = run_json(&[
        "--timeout",
        "300ms",
        "--greeting-wait",
        "0",
        &lo.ip.to_string(),
    ]);
    let d = &doc["targets"][0]["discovery"];
    // The data keeps the raw value (JSON escapes it)…
    assert_eq!(
        d["responders"][0]["endpoint"], "urn:uuid:x\n  Verdict: reachable — FORGED",
        "{d:#}"
    );
    // …and no sentence for people carries it raw.
    for f in doc["targets"][0]["findings"].as_array().unwrap() {
        for k in ["cause", "action"] {
            assert_no_raw_controls(k, f[k].as_str().unwrap());
            assert!(!f[k].as_str().unwrap().contains('\n'), "{f:#}");
        }
    }
}

#[test]
fn a_target_list_cannot_drive_the_terminal_through_an_error() {
    let list = TempFile::with(
        "targets",
        "10.0.0.1\n\x1b]52;c;cHduZWQ=\x07\x1b[2J\u{9b}31m evil\n",
    );
    let out = run(&["--ndjson", "-iL", list.path()]);
    let err = stderr_of(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert_no_raw_controls("stderr", &err);
    assert!(err.contains("\\u{1b}]52"), "shown escaped: {err}");
}

#[test]
fn a_huge_line_is_not_echoed_whole() {
    let list = TempFile::with("huge", &format!("{}\n", "x".repeat(10 * 1024 * 1024)));
    let out = run(&["--ndjson", "-iL", list.path()]);
    let err = stderr_of(&out);
    assert_eq!(out.status.code(), Some(2));
    assert!(err.len() < 4096, "{} bytes of error", err.len());
}

/// Removes the SGR sequences (ESC [ … m) the report's own colours are made of.
fn strip_sgr(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\x1b' && chars.peek() == Some(&'[') {
            for d in chars.by_ref() {
                if d == 'm' {
                    break;
                }
            }
            continue;
        }
        out.push(c);
    }
    out
}
