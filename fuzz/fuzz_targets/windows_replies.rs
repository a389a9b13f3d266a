//! The readers of what a Windows host answers without credentials, fed arbitrary bytes: the
//! SMB2 NEGOTIATE response parser and the NetBIOS node status parser. Neither may panic; each
//! is one bounded pass.
//!
//! Seeds: `fuzz/seeds/windows_replies/`. Run: see docs/testing.md.
#![no_main]

use libfuzzer_sys::fuzz_target;
use msvsmon_probe_core::{parse_negotiate, parse_node_status};

fuzz_target!(|data: &[u8]| {
    let _ = parse_negotiate(data);
    // The id is the reply's own when it has one, so the parser goes past the id check.
    let id = match data {
        [a, b, ..] => u16::from_be_bytes([*a, *b]),
        _ => 0,
    };
    let _ = parse_node_status(data, id);
});
