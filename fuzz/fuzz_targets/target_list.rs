//! The `-iL` reader fed arbitrary bytes, through a reader that hands them over in pieces of a
//! size the input chooses (line boundaries fall anywhere in its buffer): it may not panic, it
//! reads at most 4 KiB of any line, every error is one line without control characters, and the
//! set it builds is sorted and free of what no host has.
//!
//! Seeds: `fuzz/seeds/target_lists/`. Run: see docs/testing.md.
#![no_main]

use std::io::{BufReader, Read};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use libfuzzer_sys::fuzz_target;
use msvsmon_probe_core::{SpecRole, SpecSetBuilder, MAX_LINE};

/// Hands `data` over at most `step` bytes a read.
struct Trickle<'a> {
    data: &'a [u8],
    step: usize,
}

impl Read for Trickle<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.data.len().min(self.step).min(buf.len());
        buf[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        Ok(n)
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&first, rest)) = data.split_first() else {
        return;
    };
    let step = usize::from(first % 64) + 1;
    let capacity = usize::from(first / 64 + 1) * 16;
    let role = if first % 2 == 0 {
        SpecRole::Target
    } else {
        SpecRole::Exclusion
    };
    let mut builder = SpecSetBuilder::default();
    let reader = BufReader::with_capacity(capacity, Trickle { data: rest, step });
    match builder.read_list("fuzz.txt", reader, role) {
        Ok(n) => {
            assert!(
                n <= rest.len() as u64,
                "{n} expressions from {} bytes",
                rest.len()
            );
            let set = builder.finish();
            if role == SpecRole::Target {
                for ip in [
                    IpAddr::V4(Ipv4Addr::new(0, 0, 15, 184)),
                    IpAddr::V4(Ipv4Addr::new(224, 0, 0, 1)),
                    IpAddr::V4(Ipv4Addr::BROADCAST),
                    IpAddr::V6(Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1)),
                ] {
                    assert!(!set.addresses.contains(ip), "{ip} in a target list's set");
                }
            }
            let n = set.addresses.len();
            let ix = set.addresses.into_indexed();
            assert_eq!(ix.len(), n);
            let _ = ix.get(n.saturating_sub(1));
        }
        Err(e) => {
            let m = e.to_string();
            assert!(!m.chars().any(|c| c.is_control()), "{m:?}");
            // A message never quotes more than a line.
            assert!(m.len() <= 16 * MAX_LINE, "{} bytes", m.len());
        }
    }
});
