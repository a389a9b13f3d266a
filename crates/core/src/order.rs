//! The order of a scan: a seeded pseudo-random permutation of the hosts, split into shards, and
//! within a window of hosts a shuffle of every (host, port) pair.
//!
//! Why this shape: probing addresses in sequence hammers one subnet (and its router, and its IDS)
//! at a time; a full random permutation of host×port would keep every host's partial results in
//! memory until the end of a /8. Hosts come from a format-preserving permutation (a Feistel
//! network with cycle-walking, as masscan's BlackRock does), so consecutive probes land anywhere in
//! the range; the ports of a window of hosts are shuffled together, so no host gets its ports in a
//! burst; and only the hosts of the windows in flight are held in memory.
//!
//! Everything is a pure function of (number of hosts, seed): every machine of a sharded scan
//! computes the same permutation, with arithmetic that does not depend on the platform or the
//! Rust version.

use std::sync::Arc;

use crate::done::DoneSet;

/// splitmix64: a small, well-studied mixer with fixed constants (stable forever).
pub fn mix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// A bijection of `0..n` onto itself.
#[derive(Debug, Clone)]
pub struct Permutation {
    n: u128,
    half_bits: u32,
    keys: [u64; 4],
}

impl Permutation {
    pub fn new(n: u128, seed: u64) -> Permutation {
        // Smallest even number of bits whose domain holds n (at least 2), so halves are equal.
        let bits = (128 - n.saturating_sub(1).leading_zeros()).max(2);
        let half_bits = bits.div_ceil(2);
        let mut k = seed;
        let keys = std::array::from_fn(|_| {
            k = mix64(k);
            k
        });
        Permutation { n, half_bits, keys }
    }

    fn mask(&self) -> u128 {
        if self.half_bits >= 64 {
            u64::MAX as u128
        } else {
            (1u128 << self.half_bits) - 1
        }
    }

    fn encrypt(&self, x: u128) -> u128 {
        let mask = self.mask();
        let mut l = x >> self.half_bits;
        let mut r = x & mask;
        for key in self.keys {
            let f = u128::from(mix64((r as u64) ^ key)) & mask;
            (l, r) = (r, l ^ f);
        }
        (l << self.half_bits) | r
    }

    /// The `i`-th element of the permutation (`i < n`).
    pub fn get(&self, i: u128) -> u128 {
        debug_assert!(i < self.n);
        // Cycle-walking: the domain is less than four times n, so a few rounds at most on average.
        let mut x = i;
        loop {
            x = self.encrypt(x);
            if x < self.n {
                return x;
            }
        }
    }
}

/// Which part of the permutation this machine scans: `--shard K/N`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    /// 1-based, as the user writes it.
    pub index: u64,
    pub count: u64,
}

impl Shard {
    pub const WHOLE: Shard = Shard { index: 1, count: 1 };

    /// Parses `K/N` with 1 ≤ K ≤ N.
    pub fn parse(s: &str) -> Result<Shard, ShardError> {
        let bad = || ShardError {
            input: s.to_string(),
        };
        let (k, n) = s.trim().split_once('/').ok_or_else(bad)?;
        let (k, n) = (
            k.trim().parse::<u64>().map_err(|_| bad())?,
            n.trim().parse::<u64>().map_err(|_| bad())?,
        );
        if k == 0 || n == 0 || k > n {
            return Err(bad());
        }
        Ok(Shard { index: k, count: n })
    }

    /// The slice `[start, end)` of permutation positions this shard owns, out of `total`.
    /// Shards are contiguous, disjoint and together cover everything.
    pub fn range(&self, total: u128) -> (u128, u128) {
        let n = u128::from(self.count);
        let k = u128::from(self.index - 1);
        let (q, r) = (total / n, total % n);
        let start = q * k + k.min(r);
        let len = q + u128::from(k < r);
        (start, start + len)
    }
}

/// A small deterministic generator for shuffles (xorshift-free: splitmix64 over a counter).
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        mix64(self.0)
    }

    /// Uniform in `0..n` (n > 0), by rejection to avoid modulo bias.
    pub fn below(&mut self, n: u64) -> u64 {
        let zone = u64::MAX - (u64::MAX % n);
        loop {
            let x = self.next_u64();
            if x < zone {
                return x % n;
            }
        }
    }
}

/// A `--shard` value that is not `K/N` with `1 <= K <= N`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShardError {
    pub input: String,
}

impl std::fmt::Display for ShardError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "invalid shard '{}'; expected K/N with 1 <= K <= N, e.g. 2/4",
            self.input
        )
    }
}

impl std::error::Error for ShardError {}

/// One probe to make: the host's position in the scan and the port's index in the port list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ProbeSlot {
    /// Position in the permutation (the host's scan order).
    pub position: u128,
    /// The host's index in the target set.
    pub host: u128,
    pub port: usize,
}

/// Yields every (host, port) of a shard: windows of hosts in permutation order, each window's
/// pairs shuffled.
pub struct ProbeOrder {
    /// `None`: hosts in the order of the set, ports in order, nothing shuffled.
    perm: Option<Permutation>,
    ports: usize,
    window_hosts: u128,
    next_position: u128,
    end: u128,
    rng: Rng,
    window: Vec<ProbeSlot>,
    /// Positions an earlier run decided (`--resume`): left out of the windows.
    skip: Option<Arc<DoneSet>>,
}

impl ProbeOrder {
    /// `hosts` in the target set, `ports` per host, `window_hosts` hosts shuffled together,
    /// at most `max_hosts` hosts of the shard.
    pub fn new(
        hosts: u128,
        ports: usize,
        seed: u64,
        shard: Shard,
        window_hosts: u128,
        max_hosts: Option<u128>,
    ) -> ProbeOrder {
        let (start, end) = shard.range(hosts);
        let end = max_hosts.map_or(end, |m| end.min(start.saturating_add(m)));
        Self::positions_between(hosts, ports, seed, (start, end), window_hosts)
    }

    /// The probes of permutation positions `start..end` only (a shard, or a lane of one).
    pub fn positions_between(
        hosts: u128,
        ports: usize,
        seed: u64,
        (start, end): (u128, u128),
        window_hosts: u128,
    ) -> ProbeOrder {
        ProbeOrder {
            perm: Some(Permutation::new(hosts, seed)),
            ports,
            window_hosts: window_hosts.max(1),
            next_position: start,
            end,
            // Each slice shuffles with its own stream, derived from where it starts.
            rng: Rng::new(mix64(seed ^ 0x5eed ^ (start as u64))),
            window: Vec::new(),
            skip: None,
        }
    }

    /// The probes of positions `start..end` as given: host `position` is the set's host of that
    /// index, and its ports come in order. For named targets, whose reports should not depend
    /// on a seed.
    pub fn in_order(ports: usize, (start, end): (u128, u128)) -> ProbeOrder {
        ProbeOrder {
            perm: None,
            ports,
            window_hosts: 1,
            next_position: start,
            end,
            rng: Rng::new(0),
            window: Vec::new(),
            skip: None,
        }
    }

    /// Leaves out the positions in `done`: a window holds hosts not done yet only, and a done
    /// stretch is passed in one step.
    pub fn skipping(mut self, done: Option<Arc<DoneSet>>) -> ProbeOrder {
        self.skip = done;
        self
    }

    /// Hosts this shard will scan.
    pub fn positions(&self) -> (u128, u128) {
        (self.next_position, self.end)
    }

    fn refill(&mut self) -> bool {
        if self.next_position >= self.end || self.ports == 0 {
            return false;
        }
        self.window.clear();
        let mut hosts = 0;
        let mut position = self.next_position;
        while hosts < self.window_hosts && position < self.end {
            if let Some(end) = self.skip.as_ref().and_then(|d| d.end_of(position)) {
                position = end;
                continue;
            }
            let host = self.perm.as_ref().map_or(position, |p| p.get(position));
            for port in 0..self.ports {
                self.window.push(ProbeSlot {
                    position,
                    host,
                    port,
                });
            }
            hosts += 1;
            position += 1;
        }
        self.next_position = position.min(self.end);
        if self.window.is_empty() {
            return false;
        }
        if self.perm.is_none() {
            // Popped from the back below: reversed, they come out in order.
            self.window.reverse();
            return true;
        }
        // Fisher-Yates; popped from the back below.
        for i in (1..self.window.len()).rev() {
            let j = self.rng.below(i as u64 + 1) as usize;
            self.window.swap(i, j);
        }
        true
    }
}

impl Iterator for ProbeOrder {
    type Item = ProbeSlot;

    fn next(&mut self) -> Option<ProbeSlot> {
        if self.window.is_empty() && !self.refill() {
            return None;
        }
        self.window.pop()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn permutation_is_a_bijection_for_awkward_sizes() {
        for n in [1u128, 2, 3, 5, 255, 256, 257, 1000, 65_536, 65_537] {
            let p = Permutation::new(n, 42);
            let seen: HashSet<u128> = (0..n).map(|i| p.get(i)).collect();
            assert_eq!(seen.len() as u128, n, "n = {n}");
            assert!(seen.iter().all(|x| *x < n));
        }
    }

    #[test]
    fn permutation_is_stable_and_seeded() {
        // Fixed values: a change here breaks shards run by different builds. Do not update
        // them casually.
        let p = Permutation::new(65_536, 7);
        let first: Vec<u128> = (0..4).map(|i| p.get(i)).collect();
        assert_eq!(first, [11_741, 50_210, 2_871, 52_024]);
        let q = Permutation::new(65_536, 8);
        assert_ne!(first, (0..4).map(|i| q.get(i)).collect::<Vec<_>>());
    }

    #[test]
    fn huge_domains_work() {
        let p = Permutation::new(u128::MAX, 1);
        let a = p.get(0);
        let b = p.get(1);
        assert_ne!(a, b);
        let p = Permutation::new(1 << 64, 1);
        assert!(p.get(12_345) < 1 << 64);
    }

    #[test]
    fn consecutive_hosts_are_scattered() {
        // No two consecutive positions in the same /24 of a /16, most of the time.
        let p = Permutation::new(65_536, 3);
        let same = (0..1000)
            .filter(|i| p.get(*i) >> 8 == p.get(i + 1) >> 8)
            .count();
        assert!(same < 20, "{same} of 1000 consecutive pairs in one /24");
    }

    #[test]
    fn shards_are_disjoint_and_cover_everything() {
        for total in [0u128, 1, 7, 10, 65_536] {
            for n in 1..=5u64 {
                let mut covered = 0u128;
                let mut prev_end = 0u128;
                for k in 1..=n {
                    let (s, e) = Shard { index: k, count: n }.range(total);
                    assert_eq!(s, prev_end);
                    covered += e - s;
                    prev_end = e;
                }
                assert_eq!(covered, total);
            }
        }
    }

    #[test]
    fn shard_parsing() {
        assert_eq!(Shard::parse("2/4"), Ok(Shard { index: 2, count: 4 }));
        for bad in ["3/2", "0/2", "1/0", "x", "1/", "/2", "-1/2"] {
            let e = Shard::parse(bad).unwrap_err();
            assert_eq!(e.input, bad);
            assert!(e.to_string().contains(&format!("'{bad}'")), "{e}");
        }
    }

    #[test]
    fn probe_order_yields_every_pair_once_and_shards_concatenate() {
        let all: HashSet<(u128, usize)> = ProbeOrder::new(100, 3, 9, Shard::WHOLE, 16, None)
            .map(|s| (s.host, s.port))
            .collect();
        assert_eq!(all.len(), 300);
        let mut union = HashSet::new();
        for k in 1..=3 {
            for s in ProbeOrder::new(100, 3, 9, Shard { index: k, count: 3 }, 16, None) {
                assert!(union.insert((s.host, s.port)), "shards overlap");
            }
        }
        assert_eq!(union, all);
    }

    #[test]
    fn positions_done_are_left_out_and_windows_stay_full() {
        let done = Arc::new(DoneSet::from_intervals([(0, 40), (50, 51), (60, 90)]));
        let order =
            ProbeOrder::positions_between(100, 3, 9, (0, 100), 8).skipping(Some(done.clone()));
        let slots: Vec<ProbeSlot> = order.collect();
        let positions: HashSet<u128> = slots.iter().map(|s| s.position).collect();
        let expected: HashSet<u128> = (0..100).filter(|p| !done.contains(*p)).collect();
        assert_eq!(positions, expected);
        assert_eq!(slots.len(), expected.len() * 3, "every port of each, once");
        // The first window holds 8 hosts not done, though the first 40 positions are.
        let first: HashSet<u128> = slots[..24].iter().map(|s| s.position).collect();
        assert_eq!(first.len(), 8);
    }

    #[test]
    fn a_window_interleaves_hosts() {
        let first: Vec<ProbeSlot> = ProbeOrder::new(1000, 12, 1, Shard::WHOLE, 64, None)
            .take(12)
            .collect();
        let hosts: HashSet<u128> = first.iter().map(|s| s.host).collect();
        assert!(
            hosts.len() > 6,
            "the first 12 probes hit {} hosts",
            hosts.len()
        );
    }
}
