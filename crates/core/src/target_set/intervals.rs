//! Address sets as sorted disjoint intervals, and random access into them: what lets a /8 be
//! one interval instead of sixteen million addresses.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::target::Address;

/// Sorted, disjoint, non-adjacent inclusive intervals of IPv4 and IPv6 addresses.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AddressSet {
    pub(super) v4: Vec<(u32, u32)>,
    pub(super) v6: Vec<(u128, u128)>,
    /// Zones of scoped IPv6 addresses given as literals (`fe80::1%eth0`).
    pub(super) scopes: HashMap<u128, u32>,
}

/// Sorts and coalesces intervals in place: sorted, disjoint, non-adjacent.
pub(super) fn normalise<T: Copy + Ord + num::Step>(mut v: Vec<(T, T)>) -> Vec<(T, T)> {
    v.sort_unstable();
    coalesce(&mut v);
    v
}

/// Merges overlapping and adjacent neighbours of sorted intervals, in place.
pub(super) fn coalesce<T: Copy + Ord + num::Step>(v: &mut Vec<(T, T)>) {
    let mut w = 0usize;
    for r in 0..v.len() {
        let (a, b) = v[r];
        if w > 0 && T::adjacent_or_overlapping(v[w - 1].1, a) {
            if b > v[w - 1].1 {
                v[w - 1].1 = b;
            }
        } else {
            v[w] = (a, b);
            w += 1;
        }
    }
    v.truncate(w);
}

/// The union of two normalised lists, in one pass.
pub(super) fn merge<T: Copy + Ord + num::Step>(a: &[(T, T)], b: &[(T, T)]) -> Vec<(T, T)> {
    let mut out = Vec::with_capacity(a.len() + b.len());
    let (mut i, mut j) = (0, 0);
    while i < a.len() || j < b.len() {
        let next = if j == b.len() || (i < a.len() && a[i] <= b[j]) {
            i += 1;
            a[i - 1]
        } else {
            j += 1;
            b[j - 1]
        };
        out.push(next);
    }
    coalesce(&mut out);
    out
}

pub(super) fn subtract<T: Copy + Ord + num::Step>(a: &[(T, T)], b: &[(T, T)]) -> Vec<(T, T)> {
    let mut out = Vec::new();
    let mut j = 0;
    for &(mut lo, hi) in a {
        while j < b.len() && b[j].1 < lo {
            j += 1;
        }
        let mut k = j;
        let mut done = false;
        while k < b.len() && b[k].0 <= hi {
            let (blo, bhi) = b[k];
            if blo > lo {
                out.push((lo, T::pred(blo)));
            }
            if bhi >= hi {
                done = true;
                break;
            }
            lo = T::succ(bhi);
            k += 1;
        }
        if !done {
            out.push((lo, hi));
        }
    }
    out
}

pub(super) mod num {
    /// The little integer arithmetic intervals need, for u32 and u128.
    pub trait Step: Sized {
        fn succ(x: Self) -> Self;
        fn pred(x: Self) -> Self;
        fn adjacent_or_overlapping(end: Self, start: Self) -> bool;
    }
    macro_rules! step {
        ($t:ty) => {
            impl Step for $t {
                fn succ(x: Self) -> Self {
                    x + 1
                }
                fn pred(x: Self) -> Self {
                    x - 1
                }
                fn adjacent_or_overlapping(end: Self, start: Self) -> bool {
                    start <= end.saturating_add(1)
                }
            }
        };
    }
    step!(u32);
    step!(u128);
}

impl AddressSet {
    pub fn single(a: Address) -> AddressSet {
        AddressSet::of([a])
    }

    /// The set of `addresses`, sorted once.
    pub fn of(addresses: impl IntoIterator<Item = Address>) -> AddressSet {
        let mut s = AddressSet::default();
        for a in addresses {
            match a.ip {
                IpAddr::V4(v4) => s.v4.push((u32::from(v4), u32::from(v4))),
                IpAddr::V6(v6) => {
                    let n = u128::from(v6);
                    s.v6.push((n, n));
                    if a.scope_id != 0 {
                        s.scopes.insert(n, a.scope_id);
                    }
                }
            }
        }
        s.v4 = normalise(s.v4);
        s.v6 = normalise(s.v6);
        s
    }

    pub(super) fn from_v4(v: Vec<(u32, u32)>) -> AddressSet {
        AddressSet {
            v4: normalise(v),
            ..Default::default()
        }
    }

    pub(super) fn from_v6(v: Vec<(u128, u128)>) -> AddressSet {
        AddressSet {
            v6: normalise(v),
            ..Default::default()
        }
    }

    /// Adds every address of `other` (duplicates vanish).
    /// One pass over both: linear in their intervals. Many small sets are gathered with a
    /// [`SpecSetBuilder`](super::SpecSetBuilder) instead, which sorts once per batch.
    pub fn union(&mut self, other: &AddressSet) {
        if !other.v4.is_empty() {
            self.v4 = merge(&self.v4, &other.v4);
        }
        if !other.v6.is_empty() {
            self.v6 = merge(&self.v6, &other.v6);
        }
        self.scopes
            .extend(other.scopes.iter().map(|(k, v)| (*k, *v)));
    }

    /// Removes every address of `other`.
    pub fn subtract(&mut self, other: &AddressSet) {
        self.v4 = subtract(&self.v4, &other.v4);
        self.v6 = subtract(&self.v6, &other.v6);
    }

    /// Number of addresses.
    pub fn len(&self) -> u128 {
        let v4: u128 = self.v4.iter().map(|(a, b)| u128::from(b - a) + 1).sum();
        let v6: u128 = self
            .v6
            .iter()
            .map(|(a, b)| (b - a).saturating_add(1))
            .fold(0u128, |acc, n| acc.saturating_add(n));
        v4.saturating_add(v6)
    }

    pub fn is_empty(&self) -> bool {
        self.v4.is_empty() && self.v6.is_empty()
    }

    /// Number of intervals: the memory this set costs.
    /// Feeds the set's intervals (and zones) into `h`: equal sets, equal fingerprints.
    pub fn fingerprint(&self, h: &mut crate::Fnv64) {
        for (lo, hi) in &self.v4 {
            h.write(b"4");
            h.write_u128(u128::from(*lo));
            h.write_u128(u128::from(*hi));
        }
        for (lo, hi) in &self.v6 {
            h.write(b"6");
            h.write_u128(*lo);
            h.write_u128(*hi);
        }
        let mut zones: Vec<_> = self.scopes.iter().collect();
        zones.sort_unstable();
        for (ip, zone) in zones {
            h.write(b"%");
            h.write_u128(*ip);
            h.write_u128(u128::from(*zone));
        }
    }

    pub fn pieces(&self) -> usize {
        self.v4.len() + self.v6.len()
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        fn find<T: Ord + Copy>(v: &[(T, T)], x: T) -> bool {
            let i = v.partition_point(|(_, hi)| *hi < x);
            i < v.len() && v[i].0 <= x
        }
        match ip {
            IpAddr::V4(a) => find(&self.v4, u32::from(a)),
            IpAddr::V6(a) => find(&self.v6, u128::from(a)),
        }
    }

    /// Whether any address is in both.
    pub fn overlaps(&self, other: &AddressSet) -> bool {
        fn any<T: Ord + Copy>(a: &[(T, T)], b: &[(T, T)]) -> bool {
            let (mut i, mut j) = (0, 0);
            while i < a.len() && j < b.len() {
                if a[i].1 < b[j].0 {
                    i += 1;
                } else if b[j].1 < a[i].0 {
                    j += 1;
                } else {
                    return true;
                }
            }
            false
        }
        any(&self.v4, &other.v4) || any(&self.v6, &other.v6)
    }

    /// Random access by index; IPv4 first, then IPv6, each ascending.
    pub fn into_indexed(self) -> IndexedSet {
        let mut starts4 = Vec::with_capacity(self.v4.len());
        let mut acc: u128 = 0;
        for (a, b) in &self.v4 {
            starts4.push(acc);
            acc += u128::from(b - a) + 1;
        }
        let n4 = acc;
        let mut starts6 = Vec::with_capacity(self.v6.len());
        for (a, b) in &self.v6 {
            starts6.push(acc);
            acc = acc.saturating_add((b - a).saturating_add(1));
        }
        IndexedSet {
            set: self,
            starts4,
            starts6,
            n4,
            len: acc,
        }
    }

    /// How many addresses are public internet addresses (outside every reserved block).
    pub fn public_len(&self) -> u128 {
        let mut public = self.clone();
        public.subtract(&reserved());
        public.len()
    }
}

/// Everything that is not a public unicast address.
fn reserved() -> AddressSet {
    let v4: Vec<(u32, u32)> = [
        "0.0.0.0/8",
        "10.0.0.0/8",
        "100.64.0.0/10",
        "127.0.0.0/8",
        "169.254.0.0/16",
        "172.16.0.0/12",
        "192.0.0.0/24",
        "192.0.2.0/24",
        "192.168.0.0/16",
        "198.18.0.0/15",
        "198.51.100.0/24",
        "203.0.113.0/24",
        "224.0.0.0/3",
    ]
    .iter()
    .map(|c| {
        let n: ipnet::Ipv4Net = c.parse().expect("valid reserved block");
        (u32::from(n.network()), u32::from(n.broadcast()))
    })
    .collect();
    // IPv6: public means global unicast 2000::/3 minus documentation 2001:db8::/32.
    let doc: ipnet::Ipv6Net = "2001:db8::/32".parse().expect("valid");
    let v6 = vec![
        (
            0,
            u128::from(Ipv6Addr::new(
                0x1fff, 0xffff, 0xffff, 0xffff, 0xffff, 0xffff, 0xffff, 0xffff,
            )),
        ),
        (u128::from(doc.network()), u128::from(doc.broadcast())),
        (
            u128::from(Ipv6Addr::new(0x4000, 0, 0, 0, 0, 0, 0, 0)),
            u128::MAX,
        ),
    ];
    AddressSet {
        v4: normalise(v4),
        v6: normalise(v6),
        scopes: HashMap::new(),
    }
}

/// Random access into an [`AddressSet`]: the i-th address in O(log pieces).
#[derive(Debug, Clone)]
pub struct IndexedSet {
    set: AddressSet,
    starts4: Vec<u128>,
    starts6: Vec<u128>,
    n4: u128,
    len: u128,
}

impl IndexedSet {
    pub fn len(&self) -> u128 {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn set(&self) -> &AddressSet {
        &self.set
    }

    pub fn get(&self, i: u128) -> Option<Address> {
        if i >= self.len {
            return None;
        }
        if i < self.n4 {
            let k = self.starts4.partition_point(|s| *s <= i) - 1;
            let ip = self.set.v4[k].0 + (i - self.starts4[k]) as u32;
            return Some(Address::new(IpAddr::V4(Ipv4Addr::from(ip))));
        }
        let k = self.starts6.partition_point(|s| *s <= i) - 1;
        let n = self.set.v6[k].0 + (i - self.starts6[k]);
        Some(Address {
            ip: IpAddr::V6(Ipv6Addr::from(n)),
            scope_id: self.set.scopes.get(&n).copied().unwrap_or(0),
        })
    }
}
