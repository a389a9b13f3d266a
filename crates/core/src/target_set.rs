//! Target sets for subnet scans: CIDR blocks, address ranges, nmap-style octet ranges, names and
//! files, minus exclusions, as sorted disjoint intervals.
//!
//! A /8 is one interval, not sixteen million addresses: the set answers "how many", "the i-th
//! address" and "contains" without expanding anything, which is what lets a scan of `10.0.0.0/8`
//! start at once with flat memory, probe duplicates once, and split into shards exactly.

use std::collections::HashMap;
use std::fmt;
use std::io::BufRead;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::target::{check_destination, parse_target_syntax, Address, Host, Shown, TargetProblem};

/// At most this many intervals from one octet-range pattern (`1-254.1-254.1-254.1-254` would be
/// sixteen million; CIDR says the same thing in one).
const MAX_PATTERN_PIECES: u64 = 1 << 20;

/// A parsed target or exclusion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Spec {
    /// Addresses known without resolution.
    Addresses(AddressSet),
    /// A host name to resolve.
    Name(String),
}

/// Why a target expression (or a target list) was rejected; names the value and what is accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpecError {
    /// The expression; for a problem of the list itself, the list's name.
    pub input: String,
    pub problem: SpecProblem,
    /// `file:line` when the spec came from a file.
    pub location: Option<String>,
}

/// What is wrong with a target expression, or with a target list as a whole.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SpecProblem {
    /// What a single target may not be (see [`TargetProblem`]).
    Target(TargetProblem),
    /// The address part of `ADDRESS/LEN`.
    NotAnAddress(String),
    PrefixLength {
        len: String,
        v6: bool,
    },
    RangeBackwards {
        start: IpAddr,
        end: IpAddr,
    },
    MixedFamilies,
    NotAnOctet(String),
    OctetRangeBackwards(u32, u32),
    TooManyBlocks(u64),
    /// `host:port` in a scan.
    PortInScan,
    /// A range or CIDR block that holds only addresses no host has (see [`NotHosts`]).
    OnlyNotHosts(NotHosts),
    /// The list is UTF-16 (what PowerShell's `>` writes).
    Utf16,
    /// The list has a NUL byte on this line: a binary file.
    NulByte {
        line: u64,
    },
    NotUtf8 {
        line: u64,
    },
    /// A line longer than [`MAX_LINE`] bytes (`/dev/zero`, a binary file).
    LineTooLong {
        line: u64,
    },
    /// More than [`MAX_SPECS`] targets in all: `at` is where the limit was crossed.
    TooManyTargets {
        at: u64,
    },
    /// More than [`MAX_NAMES`] distinct host names.
    TooManyNames {
        at: u64,
    },
    /// The list could not be read.
    Unreadable(String),
}

impl SpecProblem {
    /// The problem is the list itself (binary, UTF-16, unreadable), not one target in it.
    pub fn is_about_the_list(&self) -> bool {
        matches!(
            self,
            SpecProblem::Utf16
                | SpecProblem::NulByte { .. }
                | SpecProblem::NotUtf8 { .. }
                | SpecProblem::LineTooLong { .. }
                | SpecProblem::TooManyTargets { .. }
                | SpecProblem::TooManyNames { .. }
                | SpecProblem::Unreadable(_)
        )
    }

    /// The message already says what to write instead.
    fn says_what_to_do(&self) -> bool {
        match self {
            SpecProblem::Target(t) => t.says_what_to_do(),
            SpecProblem::OnlyNotHosts(_) | SpecProblem::PortInScan => true,
            _ => false,
        }
    }
}

impl fmt::Display for SpecProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const NOT_TARGETS: &str = "this is not a text file of targets";
        match self {
            SpecProblem::Target(t) => t.fmt(f),
            SpecProblem::NotAnAddress(a) => write!(f, "'{}' is not an IP address", Shown(a)),
            SpecProblem::PrefixLength { len, v6: false } => {
                write!(f, "prefix length '{}' is out of range for IPv4 (0-32)", Shown(len))
            }
            SpecProblem::PrefixLength { len, v6: true } => {
                write!(f, "prefix length '{}' is out of range for IPv6 (0-128)", Shown(len))
            }
            SpecProblem::RangeBackwards { start, end } => {
                write!(f, "the range starts at {start}, after its end {end}")
            }
            SpecProblem::MixedFamilies => f.write_str("a range cannot mix IPv4 and IPv6"),
            SpecProblem::NotAnOctet(t) => write!(f, "'{}' is not an octet (0-255)", Shown(t)),
            SpecProblem::OctetRangeBackwards(a, b) => {
                write!(f, "the octet range {a}-{b} runs backwards")
            }
            SpecProblem::TooManyBlocks(n) => write!(
                f,
                "octet ranges that expand to {n} separate blocks are not supported; use CIDR"
            ),
            SpecProblem::PortInScan => f.write_str(
                "host:port is for diagnosing one host; in a scan, add ports with -p",
            ),
            SpecProblem::OnlyNotHosts(what) => write!(f, "{what}"),
            SpecProblem::Utf16 => f.write_str(
                "it is UTF-16 text (as PowerShell's > writes it); save it as UTF-8, e.g. with Out-File -Encoding utf8",
            ),
            SpecProblem::NulByte { line } => {
                write!(f, "line {line} contains a NUL byte: {NOT_TARGETS}")
            }
            SpecProblem::NotUtf8 { line } => {
                write!(f, "line {line} is not UTF-8 text: {NOT_TARGETS}")
            }
            SpecProblem::LineTooLong { line } => write!(
                f,
                "line {line} is longer than {MAX_LINE} bytes: {NOT_TARGETS}"
            ),
            SpecProblem::TooManyTargets { at } => write!(
                f,
                "more than {MAX_SPECS} targets{}; give large sets as CIDR or ranges",
                AtLine(*at)
            ),
            SpecProblem::TooManyNames { at } => write!(
                f,
                "more than {MAX_NAMES} distinct host names{}, each to be resolved; give addresses, CIDR or ranges",
                AtLine(*at)
            ),
            SpecProblem::Unreadable(e) => write!(f, "cannot read it: {e}"),
        }
    }
}

/// " (at line N)" for a list, nothing for the command line.
struct AtLine(u64);

impl fmt::Display for AtLine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            0 => Ok(()),
            n => write!(f, " (at line {n})"),
        }
    }
}

impl fmt::Display for SpecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.problem.is_about_the_list() {
            return write!(
                f,
                "cannot use the target list {}: {}",
                Shown(&self.input),
                self.problem
            );
        }
        if let Some(loc) = &self.location {
            write!(f, "{}: ", Shown(loc))?;
        }
        write!(
            f,
            "invalid target '{}': {}",
            Shown(&self.input),
            self.problem
        )?;
        if !self.problem.says_what_to_do() {
            f.write_str(
                "; expected an address, a host name, CIDR (10.0.0.0/16), \
                 a range (10.0.0.1-10.0.0.200) or octet ranges (10.0.0-3.1-254)",
            )?;
        }
        Ok(())
    }
}

impl std::error::Error for SpecError {}

/// Blocks no scan probes, whatever range covers them: none is one host's address. A range
/// that overlaps them is scanned without them; one that holds nothing else is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotHosts {
    /// 0.0.0.0/8, "this network" (0.0.0.0 included), and `::`.
    ThisNetwork,
    /// 224.0.0.0/4 and ff00::/8.
    Multicast,
    /// 255.255.255.255.
    Broadcast,
    /// fe80::/10, which needs a zone a range cannot carry.
    LinkLocal,
}

impl NotHosts {
    const ALL: [NotHosts; 4] = [
        NotHosts::ThisNetwork,
        NotHosts::Multicast,
        NotHosts::Broadcast,
        NotHosts::LinkLocal,
    ];

    fn blocks(self) -> AddressSet {
        let (v4, v6): (&[&str], &[&str]) = match self {
            NotHosts::ThisNetwork => (&["0.0.0.0/8"], &["::/128"]),
            NotHosts::Multicast => (&["224.0.0.0/4"], &["ff00::/8"]),
            NotHosts::Broadcast => (&["255.255.255.255/32"], &[]),
            NotHosts::LinkLocal => (&[], &["fe80::/10"]),
        };
        let v4 = v4.iter().map(|c| {
            let n: ipnet::Ipv4Net = c.parse().expect("valid block");
            (u32::from(n.network()), u32::from(n.broadcast()))
        });
        let v6 = v6.iter().map(|c| {
            let n: ipnet::Ipv6Net = c.parse().expect("valid block");
            (u128::from(n.network()), u128::from(n.broadcast()))
        });
        AddressSet {
            v4: normalise(v4.collect()),
            v6: normalise(v6.collect()),
            scopes: HashMap::new(),
        }
    }

    /// Every block together (made once).
    fn all() -> &'static AddressSet {
        static ALL: std::sync::OnceLock<AddressSet> = std::sync::OnceLock::new();
        ALL.get_or_init(|| {
            let mut all = AddressSet::default();
            for n in NotHosts::ALL {
                all.union(&n.blocks());
            }
            all
        })
    }
}

impl fmt::Display for NotHosts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            NotHosts::ThisNetwork => {
                "it holds only 0.0.0.0/8 (\"this network\"), never a destination; name the hosts' addresses"
            }
            NotHosts::Multicast => {
                "it holds only multicast addresses: groups, not hosts (--discover finds the debuggers on this link)"
            }
            NotHosts::Broadcast => "it holds only the broadcast address, not a host",
            NotHosts::LinkLocal => {
                let (zone, example) = crate::target::ZONE_EXAMPLE;
                return write!(
                    f,
                    "it holds only link-local addresses, which need the {zone} a range cannot carry; list each with its zone, e.g. fe80::1%{example}"
                );
            }
        })
    }
}

/// Sorted, disjoint, non-adjacent inclusive intervals of IPv4 and IPv6 addresses.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AddressSet {
    v4: Vec<(u32, u32)>,
    v6: Vec<(u128, u128)>,
    /// Zones of scoped IPv6 addresses given as literals (`fe80::1%eth0`).
    scopes: HashMap<u128, u32>,
}

/// Sorts and coalesces intervals in place: sorted, disjoint, non-adjacent.
fn normalise<T: Copy + Ord + num::Step>(mut v: Vec<(T, T)>) -> Vec<(T, T)> {
    v.sort_unstable();
    coalesce(&mut v);
    v
}

/// Merges overlapping and adjacent neighbours of sorted intervals, in place.
fn coalesce<T: Copy + Ord + num::Step>(v: &mut Vec<(T, T)>) {
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
fn merge<T: Copy + Ord + num::Step>(a: &[(T, T)], b: &[(T, T)]) -> Vec<(T, T)> {
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

fn subtract<T: Copy + Ord + num::Step>(a: &[(T, T)], b: &[(T, T)]) -> Vec<(T, T)> {
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

mod num {
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

    fn from_v4(v: Vec<(u32, u32)>) -> AddressSet {
        AddressSet {
            v4: normalise(v),
            ..Default::default()
        }
    }

    fn from_v6(v: Vec<(u128, u128)>) -> AddressSet {
        AddressSet {
            v6: normalise(v),
            ..Default::default()
        }
    }

    /// Adds every address of `other` (duplicates vanish).
    /// One pass over both: linear in their intervals. Many small sets are gathered with a
    /// [`SpecSetBuilder`] instead, which sorts once per batch.
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

/// Whether `input` is written as a set of addresses (CIDR, `a-b` range, `10.0.*.1-9` octets)
/// rather than as one host, whatever it turns out to hold: `127.0.0.1-127.0.0.1` is a scan of
/// one address, and `10.0.0.5-10.0.0.1` a scan with a mistake in it, never a name to resolve.
pub fn is_set_syntax(input: &str) -> bool {
    let s = input.trim();
    s.contains('/')
        || s.contains('*')
        || s.split_once('-')
            .is_some_and(|(a, _)| a.trim().parse::<IpAddr>().is_ok())
        || is_octet_pattern(s)
}

/// `10.0.1-3.*`: four dotted parts of digits, ranges and wildcards (a plain address is not one).
fn is_octet_pattern(s: &str) -> bool {
    s.matches('.').count() == 3
        && s.chars().all(|c| c.is_ascii_digit() || ".-*".contains(c))
        && s.contains(['-', '*'])
}

/// Parses one target expression of a scan (not a name lookup: names come back as
/// [`Spec::Name`]). What is not a host is refused: a number, a multicast or broadcast literal,
/// a link-local address without its zone, a range that holds nothing else. A range that only
/// overlaps [`NotHosts`] blocks comes back without them.
pub fn parse_spec(input: &str) -> Result<Spec, SpecError> {
    parse_spec_as(input, SpecRole::Target)
}

/// Parses one exclusion: the same syntax, and any address may be left out (`224.0.0.0/4`).
pub fn parse_exclusion(input: &str) -> Result<Spec, SpecError> {
    parse_spec_as(input, SpecRole::Exclusion)
}

/// What a spec is for: a target must be a host; an exclusion may be anything.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpecRole {
    Target,
    Exclusion,
}

fn parse_spec_as(input: &str, role: SpecRole) -> Result<Spec, SpecError> {
    let err = |problem: SpecProblem| SpecError {
        input: input.to_string(),
        problem,
        location: None,
    };
    let s = input.trim();
    if s.is_empty() {
        return Err(err(SpecProblem::Target(TargetProblem::Empty)));
    }
    let set = if let Some((addr, len)) = s.split_once('/') {
        Some(parse_cidr(addr, len))
    } else if let Some((a, b)) = s
        .split_once('-')
        .and_then(|(a, b)| Some((a.trim().parse::<IpAddr>().ok()?, b.trim().parse().ok()?)))
    {
        Some(parse_range(a, b))
    } else if is_octet_pattern(s) {
        Some(parse_octets(s))
    } else {
        None
    };
    if let Some(set) = set {
        let set = set.map_err(err)?;
        return match role {
            SpecRole::Exclusion => Ok(Spec::Addresses(set)),
            SpecRole::Target => only_hosts(set).map(Spec::Addresses).map_err(err),
        };
    }
    let t = parse_target_syntax(s).map_err(|e| err(SpecProblem::Target(e.problem)))?;
    if let (Host::Literal(a), SpecRole::Target) = (&t.host, role) {
        check_destination(a).map_err(|p| err(SpecProblem::Target(p)))?;
    }
    if t.port.is_some() {
        return Err(err(SpecProblem::PortInScan));
    }
    Ok(match t.host {
        Host::Literal(a) => Spec::Addresses(AddressSet::single(a)),
        Host::Name(n) => Spec::Name(n),
    })
}

/// `set` without the [`NotHosts`] blocks; an error naming the block when nothing is left.
fn only_hosts(mut set: AddressSet) -> Result<AddressSet, SpecProblem> {
    if !set.overlaps(NotHosts::all()) {
        return Ok(set);
    }
    let whole = set.clone();
    set.subtract(NotHosts::all());
    if !set.is_empty() {
        return Ok(set);
    }
    let inside = NotHosts::ALL
        .into_iter()
        .find(|n| {
            let mut rest = whole.clone();
            rest.subtract(&n.blocks());
            rest.is_empty()
        })
        .unwrap_or(NotHosts::ThisNetwork);
    Err(SpecProblem::OnlyNotHosts(inside))
}

fn parse_cidr(addr: &str, len: &str) -> Result<AddressSet, SpecProblem> {
    let ip: IpAddr = addr
        .trim()
        .parse()
        .map_err(|_| SpecProblem::NotAnAddress(addr.to_string()))?;
    let max = if ip.is_ipv4() { 32 } else { 128 };
    let bad_len = || SpecProblem::PrefixLength {
        len: len.to_string(),
        v6: ip.is_ipv6(),
    };
    let bits: u8 = match len.trim().parse::<u32>() {
        Ok(n) if n <= max => n as u8,
        _ => return Err(bad_len()),
    };
    let net = ipnet::IpNet::new(ip, bits).map_err(|_| bad_len())?.trunc();
    Ok(match net {
        ipnet::IpNet::V4(n) => {
            AddressSet::from_v4(vec![(u32::from(n.network()), u32::from(n.broadcast()))])
        }
        ipnet::IpNet::V6(n) => {
            AddressSet::from_v6(vec![(u128::from(n.network()), u128::from(n.broadcast()))])
        }
    })
}

fn parse_range(a: IpAddr, b: IpAddr) -> Result<AddressSet, SpecProblem> {
    match (a, b) {
        (IpAddr::V4(x), IpAddr::V4(y)) if x <= y => {
            Ok(AddressSet::from_v4(vec![(u32::from(x), u32::from(y))]))
        }
        (IpAddr::V6(x), IpAddr::V6(y)) if x <= y => {
            Ok(AddressSet::from_v6(vec![(u128::from(x), u128::from(y))]))
        }
        (start, end) if start.is_ipv4() == end.is_ipv4() => {
            Err(SpecProblem::RangeBackwards { start, end })
        }
        _ => Err(SpecProblem::MixedFamilies),
    }
}

/// `10.0.0-3.1-254`, `192.168.*.1`: each octet a number, a range `a-b` or `*`.
fn parse_octets(s: &str) -> Result<AddressSet, SpecProblem> {
    let mut ranges = [(0u32, 0u32); 4];
    for (i, part) in s.split('.').enumerate() {
        let octet = |t: &str| -> Result<u32, SpecProblem> {
            match t.parse::<u32>() {
                Ok(n) if n <= 255 => Ok(n),
                _ => Err(SpecProblem::NotAnOctet(t.to_string())),
            }
        };
        ranges[i] = match part {
            "*" => (0, 255),
            p => match p.split_once('-') {
                Some((a, b)) => {
                    let (a, b) = (octet(a)?, octet(b)?);
                    if a > b {
                        return Err(SpecProblem::OctetRangeBackwards(a, b));
                    }
                    (a, b)
                }
                None => {
                    let n = octet(p)?;
                    (n, n)
                }
            },
        };
    }
    let pieces: u64 = ranges[..3]
        .iter()
        .map(|(a, b)| u64::from(b - a) + 1)
        .product();
    if pieces > MAX_PATTERN_PIECES {
        return Err(SpecProblem::TooManyBlocks(pieces));
    }
    let mut v = Vec::with_capacity(pieces as usize);
    for a in ranges[0].0..=ranges[0].1 {
        for b in ranges[1].0..=ranges[1].1 {
            for c in ranges[2].0..=ranges[2].1 {
                let base = (a << 24) | (b << 16) | (c << 8);
                v.push((base | ranges[3].0, base | ranges[3].1));
            }
        }
    }
    Ok(AddressSet::from_v4(v))
}

/// The longest line a target list may have, in bytes: far more than any line of targets, and
/// what keeps `-iL /dev/zero` from reading forever.
pub const MAX_LINE: usize = 4096;
/// The most target expressions one run gathers (its targets, or its exclusions): a /8 written
/// out address by address. What they cost in memory is bounded by the distinct intervals.
pub const MAX_SPECS: u64 = 1 << 24;
/// The most distinct host names one run resolves.
pub const MAX_NAMES: usize = 1 << 20;
/// Intervals gathered before they are sorted into the set, at least: a batch is sorted once, so
/// a list of n lines costs O(n log n), and duplicates never cost more than one batch.
const BATCH: usize = 1 << 16;

/// The targets (or exclusions) of a run: addresses as one set of intervals, and the names to
/// resolve, each once, in the order first given.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SpecSet {
    pub addresses: AddressSet,
    pub names: Vec<String>,
}

impl SpecSet {
    pub fn is_empty(&self) -> bool {
        self.addresses.is_empty() && self.names.is_empty()
    }

    /// The set of `specs` (a few, e.g. a test's).
    pub fn of(specs: impl IntoIterator<Item = Spec>) -> Result<SpecSet, SpecProblem> {
        let mut b = SpecSetBuilder::default();
        for s in specs {
            b.add(s)?;
        }
        Ok(b.finish())
    }
}

/// Gathers target expressions into a [`SpecSet`] in O(n log n) and in memory that follows the
/// distinct intervals and names, not the input: intervals are sorted into the set a batch at a
/// time, names are kept once.
#[derive(Debug)]
pub struct SpecSetBuilder {
    set: AddressSet,
    pending4: Vec<(u32, u32)>,
    pending6: Vec<(u128, u128)>,
    /// Each name, with where it was first given.
    names: HashMap<String, usize>,
    specs: u64,
    /// The line of the list being read (0: the command line).
    lines: u64,
    /// [`BATCH`], [`MAX_SPECS`], [`MAX_NAMES`]; smaller in tests.
    batch: usize,
    max_specs: u64,
    max_names: usize,
}

impl Default for SpecSetBuilder {
    fn default() -> Self {
        SpecSetBuilder {
            set: AddressSet::default(),
            pending4: Vec::new(),
            pending6: Vec::new(),
            names: HashMap::new(),
            specs: 0,
            lines: 0,
            batch: BATCH,
            max_specs: MAX_SPECS,
            max_names: MAX_NAMES,
        }
    }
}

impl SpecSetBuilder {
    /// Adds one parsed expression.
    pub fn add(&mut self, spec: Spec) -> Result<(), SpecProblem> {
        self.specs += 1;
        if self.specs > self.max_specs {
            return Err(SpecProblem::TooManyTargets { at: self.lines });
        }
        match spec {
            Spec::Addresses(a) => {
                self.pending4.extend_from_slice(&a.v4);
                self.pending6.extend_from_slice(&a.v6);
                self.set.scopes.extend(a.scopes);
                if self.pending4.len() >= self.batch.max(self.set.v4.len()) {
                    self.set.v4 = sort_in(std::mem::take(&mut self.set.v4), &mut self.pending4);
                }
                if self.pending6.len() >= self.batch.max(self.set.v6.len()) {
                    self.set.v6 = sort_in(std::mem::take(&mut self.set.v6), &mut self.pending6);
                }
            }
            Spec::Name(n) => {
                if !self.names.contains_key(&n) {
                    if self.names.len() >= self.max_names {
                        return Err(SpecProblem::TooManyNames { at: self.lines });
                    }
                    let i = self.names.len();
                    self.names.insert(n, i);
                }
            }
        }
        Ok(())
    }

    /// Expressions added so far (duplicates included).
    pub fn len(&self) -> u64 {
        self.specs
    }

    pub fn is_empty(&self) -> bool {
        self.specs == 0
    }

    /// Reads a target list (`-iL`): whitespace-separated expressions, `#` comments, blank lines,
    /// lines of at most [`MAX_LINE`] bytes. A line that is not a target is an error naming the
    /// list and line; so is a list that is not text (UTF-16, NUL bytes, not UTF-8, a line too
    /// long) or holds too much. Returns how many expressions it held.
    pub fn read_list(
        &mut self,
        name: &str,
        mut reader: impl BufRead,
        role: SpecRole,
    ) -> Result<u64, SpecError> {
        let list_err = |problem: SpecProblem| SpecError {
            input: name.to_string(),
            problem,
            location: None,
        };
        let before = self.specs;
        let mut buf = Vec::new();
        let mut n = 0u64;
        loop {
            buf.clear();
            let line = next_line(&mut reader, &mut buf)
                .map_err(|e| list_err(SpecProblem::Unreadable(e.to_string())))?;
            n += 1;
            self.lines = n;
            let mut bytes = &buf[..];
            // UTF-16 first: its text is full of NUL bytes.
            if n == 1 && (bytes.starts_with(&[0xFF, 0xFE]) || bytes.starts_with(&[0xFE, 0xFF])) {
                return Err(list_err(SpecProblem::Utf16));
            }
            match line {
                Line::End => break,
                Line::Nul => return Err(list_err(SpecProblem::NulByte { line: n })),
                Line::TooLong => return Err(list_err(SpecProblem::LineTooLong { line: n })),
                Line::Text => {}
            }
            if n == 1 {
                // Notepad and PowerShell write a UTF-8 byte order mark; it is not a target.
                bytes = bytes.strip_prefix(&[0xEF, 0xBB, 0xBF]).unwrap_or(bytes);
            }
            let text = std::str::from_utf8(bytes)
                .map_err(|_| list_err(SpecProblem::NotUtf8 { line: n }))?;
            let content = text.split('#').next().unwrap_or("");
            for tok in content.split_whitespace() {
                let spec = parse_spec_as(tok, role).map_err(|mut e| {
                    e.location = Some(format!("{name}:{n}"));
                    e
                })?;
                self.add(spec).map_err(list_err)?;
            }
        }
        self.lines = 0;
        Ok(self.specs - before)
    }

    /// The set: every interval sorted in, names in the order first given.
    pub fn finish(mut self) -> SpecSet {
        self.set.v4 = sort_in(std::mem::take(&mut self.set.v4), &mut self.pending4);
        self.set.v6 = sort_in(std::mem::take(&mut self.set.v6), &mut self.pending6);
        let mut names: Vec<(String, usize)> = self.names.into_iter().collect();
        names.sort_unstable_by_key(|(_, i)| *i);
        SpecSet {
            addresses: self.set,
            names: names.into_iter().map(|(n, _)| n).collect(),
        }
    }
}

/// `set` (normalised) with `pending` sorted in; `pending` is left empty with its allocation.
fn sort_in<T: Copy + Ord + num::Step>(set: Vec<(T, T)>, pending: &mut Vec<(T, T)>) -> Vec<(T, T)> {
    if pending.is_empty() {
        return set;
    }
    pending.sort_unstable();
    coalesce(pending);
    let merged = merge(&set, pending);
    pending.clear();
    merged
}

enum Line {
    Text,
    Nul,
    TooLong,
    End,
}

/// Reads one line, without its `\n`, into `buf`, never more than [`MAX_LINE`] bytes of it.
fn next_line(r: &mut impl BufRead, buf: &mut Vec<u8>) -> std::io::Result<Line> {
    let mut read_any = false;
    loop {
        let avail = match r.fill_buf() {
            Ok(a) => a,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if avail.is_empty() {
            return Ok(if read_any { Line::Text } else { Line::End });
        }
        read_any = true;
        let (chunk, used, done) = match avail.iter().position(|b| *b == b'\n') {
            Some(i) => (&avail[..i], i + 1, true),
            None => (avail, avail.len(), false),
        };
        let fits = buf.len() + chunk.len() <= MAX_LINE;
        let take = if fits {
            chunk.len()
        } else {
            MAX_LINE + 1 - buf.len()
        };
        let nul = chunk[..take].contains(&0);
        buf.extend_from_slice(&chunk[..take]);
        r.consume(if fits { used } else { take });
        if nul {
            return Ok(Line::Nul);
        }
        if !fits {
            return Ok(Line::TooLong);
        }
        if done {
            return Ok(Line::Text);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reads a list: how many expressions it held, and their set.
    fn read_specs(name: &str, bytes: &[u8], role: SpecRole) -> Result<(u64, SpecSet), SpecError> {
        let mut b = SpecSetBuilder::default();
        let n = b.read_list(name, bytes, role)?;
        Ok((n, b.finish()))
    }

    #[test]
    fn lists_written_on_windows_are_read_or_named() {
        let specs = read_specs(
            "t.txt",
            &b"\xEF\xBB\xBF10.0.0.1\r\n10.0.0.2\r\n"[..],
            SpecRole::Target,
        )
        .unwrap();
        assert_eq!(
            (specs.0, specs.1.addresses.len()),
            (2, 2),
            "a UTF-8 byte order mark is not part of the first target"
        );
        let e = read_specs("t.txt", &b"\xFF\xFE1\x000\x00"[..], SpecRole::Target).unwrap_err();
        assert!(e.to_string().contains("UTF-16"), "{e}");
        assert!(e.to_string().contains("t.txt"), "{e}");
    }

    fn set(s: &str) -> AddressSet {
        match parse_spec(s).unwrap() {
            Spec::Addresses(a) => a,
            Spec::Name(n) => panic!("{s} parsed as name {n}"),
        }
    }

    fn all(s: &AddressSet) -> Vec<String> {
        let ix = s.clone().into_indexed();
        (0..ix.len())
            .map(|i| ix.get(i).unwrap().to_string())
            .collect()
    }

    #[test]
    fn set_syntax_is_recognised_whatever_it_holds() {
        for set in [
            "10.0.0.0/30",
            "10.0.0.5-10.0.0.1",
            "127.0.0.1-127.0.0.1",
            "10.0.0.1-5",
            "10.0.*.1",
            "::1-::5",
        ] {
            assert!(is_set_syntax(set), "{set}");
        }
        for host in [
            "10.0.0.5",
            "dev-box",
            "10-0-0-1.lab",
            "::1",
            "[::1]:4026",
            "devbox:4026",
        ] {
            assert!(!is_set_syntax(host), "{host}");
        }
    }

    #[test]
    fn cidr_range_and_octets() {
        assert_eq!(set("10.0.0.0/16").len(), 65536);
        assert_eq!(set("10.0.0.77/30").len(), 4, "host bits are truncated");
        assert_eq!(all(&set("10.0.0.77/30"))[0], "10.0.0.76");
        assert_eq!(set("10.0.0.1-10.0.0.200").len(), 200);
        assert_eq!(set("10.0.0-3.1-254").len(), 4 * 254);
        assert_eq!(set("192.168.*.1").len(), 256);
        assert_eq!(set("fd00::/120").len(), 256);
        assert_eq!(
            set("0.0.0.0/0").len(),
            (1 << 32) - (1 << 24) - (1 << 28) - 1,
            "without 0.0.0.0/8, multicast and the broadcast address"
        );
        assert_eq!(
            set("::/0").len(),
            u128::MAX - (1 << 118) - (1 << 120),
            "without ::, link-local and multicast"
        );
    }

    #[test]
    fn bad_specs_name_the_value() {
        for (s, needle) in [
            (
                "10.0.0.0/33",
                "prefix length '33' is out of range for IPv4 (0-32)",
            ),
            ("fd00::/129", "0-128"),
            (
                "10.0.0.5-10.0.0.1",
                "starts at 10.0.0.5, after its end 10.0.0.1",
            ),
            ("10.0.0.1-fd00::1", "mix IPv4 and IPv6"),
            ("300.1.1.1", "'300.1.1.1' is not a valid IPv4 address"),
            ("300.1.1.1-5", "'300' is not an octet"),
            ("10.0.5-1.1", "runs backwards"),
            ("1-254.1-254.1-254.1-254", "use CIDR"),
            ("devbox:4026", "-p"),
            ("", "empty"),
            ("bad host!", "not allowed"),
        ] {
            let e = parse_spec(s).unwrap_err().to_string();
            assert!(e.contains(needle), "{s}: {e}");
            assert!(e.contains(&format!("'{s}'")), "{s}: {e}");
        }
    }

    #[test]
    fn what_is_not_a_host_is_left_out_of_ranges_and_refused_alone() {
        let problem = |s: &str| parse_spec(s).unwrap_err().problem;
        for (s, what) in [
            ("224.0.0.0/24", NotHosts::Multicast),
            ("239.0.0.1-239.0.0.9", NotHosts::Multicast),
            ("224-239.*.*.*", NotHosts::Multicast),
            ("ff00::/8", NotHosts::Multicast),
            ("0.0.0.0/8", NotHosts::ThisNetwork),
            ("0.0.0.1-0.0.0.3", NotHosts::ThisNetwork),
            ("::/128", NotHosts::ThisNetwork),
            ("255.255.255.255/32", NotHosts::Broadcast),
            ("fe80::/64", NotHosts::LinkLocal),
        ] {
            assert_eq!(problem(s), SpecProblem::OnlyNotHosts(what), "{s}");
        }
        for (s, p) in [
            (
                "224.0.0.1",
                TargetProblem::Multicast("224.0.0.1".parse().unwrap()),
            ),
            ("255.255.255.255", TargetProblem::Broadcast),
            (
                "fe80::1",
                TargetProblem::LinkLocalWithoutZone("fe80::1".parse().unwrap()),
            ),
            (
                "4024",
                TargetProblem::Number {
                    value: "4024".into(),
                    hint: crate::target::NumberHint::Port(4024),
                },
            ),
        ] {
            assert_eq!(problem(s), SpecProblem::Target(p), "{s}");
        }
        let e = parse_spec("224.0.0.0/24").unwrap_err().to_string();
        assert!(
            e.starts_with("invalid target '224.0.0.0/24': it holds only multicast addresses")
                && !e.contains("expected an address"),
            "{e}"
        );
        // Overlapping: scanned without them.
        let s = set("223.255.255.254-224.0.0.1");
        assert_eq!(all(&s), ["223.255.255.254", "223.255.255.255"]);
        let s = set("255.255.255.250-255.255.255.255");
        assert_eq!(s.len(), 5);
        assert!(!s.contains("255.255.255.255".parse().unwrap()));
        let s = set("0.255.255.255-1.0.0.0");
        assert_eq!(all(&s), ["1.0.0.0"]);
        // Exclusions may name anything.
        for x in [
            "224.0.0.0/4",
            "224.0.0.1",
            "255.255.255.255",
            "fe80::1",
            "0.0.0.0/8",
        ] {
            assert!(parse_exclusion(x).is_ok(), "{x}");
        }
        assert!(
            parse_exclusion("4024").is_err(),
            "a number is no more an exclusion"
        );
        let listed = read_specs("x.txt", "224.0.0.1\n".as_bytes(), SpecRole::Exclusion).unwrap();
        assert_eq!(listed.1.addresses.len(), 1);
        let e = read_specs(
            "t.txt",
            "10.0.0.1\n224.0.0.1\n".as_bytes(),
            SpecRole::Target,
        )
        .unwrap_err();
        assert!(
            e.to_string()
                .starts_with("t.txt:2: invalid target '224.0.0.1'"),
            "{e}"
        );
    }

    #[test]
    fn union_dedups_and_subtract_excludes() {
        let mut s = set("10.0.0.0/24");
        s.union(&set("10.0.0.128-10.0.1.10"));
        s.union(&set("10.0.0.5"));
        assert_eq!(s.len(), 256 + 11);
        assert_eq!(s.pieces(), 1, "adjacent and overlapping intervals merge");
        s.subtract(&set("10.0.0.100-10.0.0.199"));
        assert_eq!(s.len(), 267 - 100);
        assert!(!s.contains("10.0.0.150".parse().unwrap()));
        assert!(s.contains("10.0.0.99".parse().unwrap()));
        assert!(s.contains("10.0.1.10".parse().unwrap()));
        s.subtract(&set("10.0.0.0/16"));
        assert!(s.is_empty());
    }

    #[test]
    fn indexing_walks_v4_then_v6_in_order() {
        let mut s = set("10.0.0.1-10.0.0.2");
        s.union(&set("10.0.0.9"));
        s.union(&set("fd00::1-fd00::2"));
        assert_eq!(
            all(&s),
            ["10.0.0.1", "10.0.0.2", "10.0.0.9", "fd00::1", "fd00::2"]
        );
        assert_eq!(s.into_indexed().get(5), None);
        let v6only = set("fd00::/127");
        assert_eq!(all(&v6only), ["fd00::", "fd00::1"]);
    }

    #[test]
    fn a_slash_eight_costs_one_interval() {
        let s = set("10.0.0.0/8");
        assert_eq!(s.pieces(), 1);
        let ix = s.into_indexed();
        assert_eq!(ix.get(16_777_215).unwrap().to_string(), "10.255.255.255");
    }

    #[test]
    fn public_addresses_are_counted() {
        assert_eq!(set("10.0.0.0/8").public_len(), 0);
        assert_eq!(set("8.8.8.0/24").public_len(), 256);
        assert!(set("0.0.0.0/0").public_len() > 3_000_000_000);
        assert_eq!(set("fd00::/64").public_len(), 0);
        assert_eq!(set("2001:db8::/64").public_len(), 0);
        assert_eq!(set("2a00::/120").public_len(), 256);
    }

    #[test]
    fn files_allow_comments_and_blank_lines_and_name_bad_lines() {
        let text = "# lab\n10.0.0.1 10.0.0.2\n\n  devbox  # build box\n10.1.0.0/30\n";
        let specs = read_specs("t.txt", text.as_bytes(), SpecRole::Target).unwrap();
        assert_eq!(specs.0, 4);
        assert_eq!(specs.1.names, ["devbox"]);
        assert_eq!(specs.1.addresses.len(), 6);
        let e = read_specs(
            "t.txt",
            "10.0.0.1\n10.0.0.0/40\n".as_bytes(),
            SpecRole::Target,
        )
        .unwrap_err();
        assert!(
            e.to_string()
                .starts_with("t.txt:2: invalid target '10.0.0.0/40'"),
            "{e}"
        );
        let e = read_specs("bin", &b"10.0.0.1\n\x00\x01\x02"[..], SpecRole::Target).unwrap_err();
        assert!(e.to_string().contains("not a text file"), "{e}");
        let e = read_specs("bin", &b"\xc3\x28"[..], SpecRole::Target).unwrap_err();
        assert_eq!(
            e.to_string(),
            "cannot use the target list bin: line 1 is not UTF-8 text: this is not a text file of targets"
        );
    }

    /// A random expression over 10.0.0.0/22 or fd00::/118 (small enough to check address by
    /// address), and the addresses it names.
    fn random_spec(rng: &mut fastrand::Rng) -> (String, Vec<u128>) {
        let v6 = rng.u8(..4) == 0;
        let (base, text): (u128, fn(u128) -> String) = if v6 {
            (u128::from("fd00::".parse::<Ipv6Addr>().unwrap()), |n| {
                Ipv6Addr::from(n).to_string()
            })
        } else {
            (u128::from(u32::from(Ipv4Addr::new(10, 0, 0, 0))), |n| {
                Ipv4Addr::from(n as u32).to_string()
            })
        };
        let a = base + u128::from(rng.u16(..1024));
        match rng.u8(..4) {
            0 => (text(a), vec![a]),
            1 => {
                let b = a + u128::from(rng.u16(..64));
                let b = b.min(base + 1023);
                (format!("{}-{}", text(a), text(b)), (a..=b).collect())
            }
            2 => {
                let len = rng.u32(4..=10);
                let size = 1u128 << (10 - len.min(10));
                let net = (a - base) / size * size + base;
                let prefix = if v6 { 118 + len } else { 22 + len };
                (format!("{}/{prefix}", text(a)), (net..net + size).collect())
            }
            _ if !v6 => {
                // 10.0.C.D-E
                let c = rng.u8(..4);
                let d = rng.u8(..);
                let e = d.saturating_add(rng.u8(..16));
                let at = |x: u8| base + u128::from(c) * 256 + u128::from(x);
                (format!("10.0.{c}.{d}-{e}"), (at(d)..=at(e)).collect())
            }
            _ => (text(a), vec![a]),
        }
    }

    fn addresses_of(s: &AddressSet) -> std::collections::BTreeSet<u128> {
        let v4 = s.v4.iter().flat_map(|(a, b)| (*a..=*b).map(u128::from));
        let v6 = s.v6.iter().flat_map(|(a, b)| *a..=*b);
        v4.chain(v6.map(|n| n | (1 << 127))).collect()
    }

    fn naive_key(n: u128) -> u128 {
        if n > u128::from(u32::MAX) {
            n | (1 << 127)
        } else {
            n
        }
    }

    /// Unions and subtractions of many random specs, gathered in small batches (so batches are
    /// sorted in many times), equal the same built address by address.
    #[test]
    fn gathered_sets_equal_a_naive_set() {
        for seed in 0..40 {
            let mut rng = fastrand::Rng::with_seed(seed);
            let mut targets = SpecSetBuilder {
                batch: 1 + rng.usize(..16),
                ..Default::default()
            };
            let mut excludes = SpecSetBuilder::default();
            let mut want_t = std::collections::BTreeSet::new();
            let mut want_x = std::collections::BTreeSet::new();
            for _ in 0..rng.usize(1..300) {
                let (text, addrs) = random_spec(&mut rng);
                let exclude = rng.u8(..5) == 0;
                let spec = if exclude {
                    parse_exclusion(&text)
                } else {
                    parse_spec(&text)
                };
                let spec = spec.unwrap_or_else(|e| panic!("{text}: {e}"));
                let (b, want) = if exclude {
                    (&mut excludes, &mut want_x)
                } else {
                    (&mut targets, &mut want_t)
                };
                b.add(spec).unwrap();
                want.extend(addrs.into_iter().map(naive_key));
            }
            let mut got = targets.finish().addresses;
            assert_eq!(addresses_of(&got), want_t, "seed {seed}: union");
            let pieces = got.pieces();
            assert!(
                got.v4.windows(2).all(|w| w[0].1.saturating_add(1) < w[1].0)
                    && got.v6.windows(2).all(|w| w[0].1.saturating_add(1) < w[1].0),
                "seed {seed}: sorted, disjoint, not adjacent ({pieces} pieces)"
            );
            got.subtract(&excludes.finish().addresses);
            let want: std::collections::BTreeSet<u128> =
                want_t.difference(&want_x).copied().collect();
            assert_eq!(addresses_of(&got), want, "seed {seed}: subtraction");
            assert_eq!(got.len(), want.len() as u128, "seed {seed}: len");
        }
    }

    #[test]
    fn union_of_two_sets_is_one_merge() {
        for seed in 0..100 {
            let mut rng = fastrand::Rng::with_seed(seed);
            let mut a = AddressSet::default();
            let mut want = std::collections::BTreeSet::new();
            for _ in 0..rng.usize(1..20) {
                let (text, addrs) = random_spec(&mut rng);
                let Spec::Addresses(s) = parse_spec(&text).unwrap() else {
                    panic!("{text}")
                };
                a.union(&s);
                want.extend(addrs.into_iter().map(naive_key));
            }
            assert_eq!(addresses_of(&a), want, "seed {seed}");
        }
    }

    #[test]
    fn names_are_kept_once_in_the_order_first_given() {
        let (n, set) = read_specs(
            "t.txt",
            b"b a\nb 10.0.0.1 c\na\n10.0.0.1\n",
            SpecRole::Target,
        )
        .unwrap();
        assert_eq!(n, 7);
        assert_eq!(set.names, ["b", "a", "c"]);
        assert_eq!(set.addresses.len(), 1);
    }

    #[test]
    fn a_list_cannot_put_control_characters_on_the_terminal() {
        let e = read_specs("t.txt", b"127.0.0.1\nx\x1b[2J\x07y\n", SpecRole::Target)
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("t.txt:2: invalid target 'x\\u{1b}[2J\\u{7}y'"),
            "{e}"
        );
        assert!(!e.chars().any(char::is_control), "{e:?}");
    }

    #[test]
    fn a_line_longer_than_the_limit_is_refused_by_its_number() {
        let mut text = "127.0.0.1\n# comment\n".to_string();
        text.push_str(&"127.0.0.2 ".repeat(MAX_LINE / 10 + 1));
        text.push('\n');
        let e = read_specs("t.txt", text.as_bytes(), SpecRole::Target).unwrap_err();
        assert_eq!(e.problem, SpecProblem::LineTooLong { line: 3 });
        assert_eq!(
            e.to_string(),
            "cannot use the target list t.txt: line 3 is longer than 4096 bytes: this is not a text file of targets"
        );
        // Exactly the limit is a line.
        let mut text = " ".repeat(MAX_LINE - 9);
        text.push_str("127.0.0.1");
        assert_eq!(
            read_specs("t.txt", text.as_bytes(), SpecRole::Target)
                .unwrap()
                .0,
            1
        );
    }

    #[test]
    fn endless_input_ends_at_once() {
        // /dev/zero, and a line that never ends: neither is read past the first line.
        let mut b = SpecSetBuilder::default();
        let e = b
            .read_list(
                "zero",
                std::io::BufReader::new(std::io::repeat(0)),
                SpecRole::Target,
            )
            .unwrap_err();
        assert_eq!(e.problem, SpecProblem::NulByte { line: 1 });
        let e = b
            .read_list(
                "a",
                std::io::BufReader::new(std::io::repeat(b'a')),
                SpecRole::Target,
            )
            .unwrap_err();
        assert_eq!(e.problem, SpecProblem::LineTooLong { line: 1 });
        // Endless valid lines stop at the limit.
        let mut b = SpecSetBuilder {
            max_specs: 1000,
            ..Default::default()
        };
        let e = b
            .read_list(
                "yes",
                std::io::BufReader::new(YesLines::default()),
                SpecRole::Target,
            )
            .unwrap_err();
        assert_eq!(e.problem, SpecProblem::TooManyTargets { at: 1001 });
        assert!(
            e.to_string()
                .ends_with("targets (at line 1001); give large sets as CIDR or ranges"),
            "{e}"
        );
        let mut b = SpecSetBuilder {
            max_names: 3,
            ..Default::default()
        };
        let e = b
            .read_list("n", &b"a b\nc a d\n"[..], SpecRole::Target)
            .unwrap_err();
        assert_eq!(e.problem, SpecProblem::TooManyNames { at: 2 });
    }

    /// `yes 127.0.0.1`.
    #[derive(Default)]
    struct YesLines(usize);

    impl std::io::Read for YesLines {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            const LINE: &[u8] = b"127.0.0.1\n";
            let mut n = 0;
            while n < buf.len() {
                buf[n] = LINE[self.0 % LINE.len()];
                self.0 += 1;
                n += 1;
            }
            Ok(n)
        }
    }
}
