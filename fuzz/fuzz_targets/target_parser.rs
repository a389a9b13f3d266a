//! The target parser fed arbitrary strings: `parse_target` (a diagnosis), `parse_spec` and
//! `parse_exclusion` (a scan), `is_set_syntax`. None may panic, and what they say must hold:
//! - a target accepted as an address is one host's (not multicast, broadcast, 0.0.0.0/8, `::`,
//!   nor link-local without its zone), and a scan's address set holds none of those either;
//! - every error is one line, with no control character (the value is shown escaped).
//!
//! Seeds: `fuzz/seeds/targets/`. Run: see docs/testing.md.
#![no_main]

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use libfuzzer_sys::fuzz_target;
use msvsmon_probe_core::{is_set_syntax, parse_exclusion, parse_spec, parse_target, Host, Spec};

fn one_host(ip: IpAddr, scope: u32) -> bool {
    let v4 = match ip {
        IpAddr::V4(v) => Some(v),
        IpAddr::V6(v) => v.to_ipv4_mapped(),
    };
    let link_local = matches!(ip, IpAddr::V6(v) if v.segments()[0] & 0xffc0 == 0xfe80);
    !ip.is_unspecified()
        && !ip.is_multicast()
        && !(link_local && scope == 0)
        && v4.is_none_or(|v| !v.is_multicast() && !v.is_broadcast() && v.octets()[0] != 0)
}

fn one_line(message: String) {
    assert!(
        !message.chars().any(|c| c.is_control() || c == '\u{202e}'),
        "{message:?}"
    );
}

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    match parse_target(s) {
        Ok(t) => {
            if let Host::Literal(a) = t.host {
                assert!(one_host(a.ip, a.scope_id), "{s:?} accepted as {a}");
            }
            let _ = t.ambiguity_note();
        }
        Err(e) => one_line(e.to_string()),
    }
    let _ = is_set_syntax(s);
    match parse_spec(s) {
        Ok(Spec::Addresses(set)) => {
            for ip in [
                IpAddr::V4(Ipv4Addr::UNSPECIFIED),
                IpAddr::V4(Ipv4Addr::new(0, 0, 15, 184)),
                IpAddr::V4(Ipv4Addr::new(224, 0, 0, 1)),
                IpAddr::V4(Ipv4Addr::new(239, 255, 255, 250)),
                IpAddr::V4(Ipv4Addr::BROADCAST),
                IpAddr::V6(Ipv6Addr::UNSPECIFIED),
                IpAddr::V6(Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1)),
                IpAddr::V6(Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 1)),
            ] {
                // A zoned link-local literal is one host; a range never holds link-local.
                if ip.is_ipv6() && !ip.is_multicast() && !ip.is_unspecified() && set.len() == 1 {
                    continue;
                }
                assert!(!set.contains(ip), "{s:?} holds {ip}");
            }
            let _ = set.into_indexed().get(0);
        }
        Ok(Spec::Name(_)) => {}
        Err(e) => one_line(e.to_string()),
    }
    if let Err(e) = parse_exclusion(s) {
        one_line(e.to_string());
    }
});
