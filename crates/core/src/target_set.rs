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

use crate::target::Address;

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

/// Why a target expression was rejected; names the value and what is accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpecError {
    pub input: String,
    pub problem: String,
    /// `file:line` when the spec came from a file.
    pub location: Option<String>,
    /// The problem is the file itself (binary, UTF-16, unreadable), not one target in it.
    pub whole_file: bool,
}

impl fmt::Display for SpecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.whole_file {
            return write!(
                f,
                "cannot use the target list {}: {}",
                self.input, self.problem
            );
        }
        if let Some(loc) = &self.location {
            write!(f, "{loc}: ")?;
        }
        write!(
            f,
            "invalid target '{}': {}; expected an address, a host name, CIDR (10.0.0.0/16), \
             a range (10.0.0.1-10.0.0.200) or octet ranges (10.0.0-3.1-254)",
            self.input, self.problem
        )
    }
}

impl std::error::Error for SpecError {}

/// Sorted, disjoint, non-adjacent inclusive intervals of IPv4 and IPv6 addresses.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AddressSet {
    v4: Vec<(u32, u32)>,
    v6: Vec<(u128, u128)>,
    /// Zones of scoped IPv6 addresses given as literals (`fe80::1%eth0`).
    scopes: HashMap<u128, u32>,
}

fn normalise<T: Copy + Ord + num::Step>(mut v: Vec<(T, T)>) -> Vec<(T, T)> {
    v.sort_unstable();
    let mut out: Vec<(T, T)> = Vec::with_capacity(v.len());
    for (a, b) in v {
        match out.last_mut() {
            Some(last) if T::adjacent_or_overlapping(last.1, a) => {
                if b > last.1 {
                    last.1 = b;
                }
            }
            _ => out.push((a, b)),
        }
    }
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
        let mut s = AddressSet::default();
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
    pub fn union(&mut self, other: &AddressSet) {
        if !other.v4.is_empty() {
            let mut v = std::mem::take(&mut self.v4);
            v.extend_from_slice(&other.v4);
            self.v4 = normalise(v);
        }
        if !other.v6.is_empty() {
            let mut v = std::mem::take(&mut self.v6);
            v.extend_from_slice(&other.v6);
            self.v6 = normalise(v);
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

/// Parses one target expression (not a name lookup: names come back as [`Spec::Name`]).
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

pub fn parse_spec(input: &str) -> Result<Spec, SpecError> {
    let err = |problem: String| SpecError {
        input: input.to_string(),
        problem,
        location: None,
        whole_file: false,
    };
    let s = input.trim();
    if s.is_empty() {
        return Err(err("the target is empty".into()));
    }
    if let Some((addr, len)) = s.split_once('/') {
        return parse_cidr(addr, len).map(Spec::Addresses).map_err(err);
    }
    if let Some((a, b)) = s.split_once('-') {
        if let (Ok(a), Ok(b)) = (a.trim().parse::<IpAddr>(), b.trim().parse::<IpAddr>()) {
            return parse_range(a, b).map(Spec::Addresses).map_err(err);
        }
    }
    if is_octet_pattern(s) {
        return parse_octets(s).map(Spec::Addresses).map_err(err);
    }
    match crate::target::parse_target(s) {
        Ok(t) => {
            if t.port.is_some() {
                return Err(err(
                    "host:port is for diagnosing one host; in a scan, add ports with -p".into(),
                ));
            }
            match t.host {
                crate::target::Host::Literal(a) => Ok(Spec::Addresses(AddressSet::single(a))),
                crate::target::Host::Name(n) => Ok(Spec::Name(n)),
            }
        }
        Err(e) => Err(err(e.problem)),
    }
}

fn parse_cidr(addr: &str, len: &str) -> Result<AddressSet, String> {
    let ip: IpAddr = addr
        .trim()
        .parse()
        .map_err(|_| format!("'{addr}' is not an IP address"))?;
    let max = if ip.is_ipv4() { 32 } else { 128 };
    let bits: u8 = match len.trim().parse::<u32>() {
        Ok(n) if n <= max => n as u8,
        _ => {
            return Err(format!(
                "prefix length '{len}' is out of range for {} (0-{max})",
                if ip.is_ipv4() { "IPv4" } else { "IPv6" }
            ))
        }
    };
    let net = ipnet::IpNet::new(ip, bits)
        .map_err(|e| e.to_string())?
        .trunc();
    Ok(match net {
        ipnet::IpNet::V4(n) => {
            AddressSet::from_v4(vec![(u32::from(n.network()), u32::from(n.broadcast()))])
        }
        ipnet::IpNet::V6(n) => {
            AddressSet::from_v6(vec![(u128::from(n.network()), u128::from(n.broadcast()))])
        }
    })
}

fn parse_range(a: IpAddr, b: IpAddr) -> Result<AddressSet, String> {
    match (a, b) {
        (IpAddr::V4(x), IpAddr::V4(y)) if x <= y => {
            Ok(AddressSet::from_v4(vec![(u32::from(x), u32::from(y))]))
        }
        (IpAddr::V6(x), IpAddr::V6(y)) if x <= y => {
            Ok(AddressSet::from_v6(vec![(u128::from(x), u128::from(y))]))
        }
        (x, y) if x.is_ipv4() == y.is_ipv4() => {
            Err(format!("the range starts at {x}, after its end {y}"))
        }
        _ => Err("a range cannot mix IPv4 and IPv6".into()),
    }
}

/// `10.0.0-3.1-254`, `192.168.*.1`: each octet a number, a range `a-b` or `*`.
fn parse_octets(s: &str) -> Result<AddressSet, String> {
    let mut ranges = [(0u32, 0u32); 4];
    for (i, part) in s.split('.').enumerate() {
        let octet = |t: &str| -> Result<u32, String> {
            match t.parse::<u32>() {
                Ok(n) if n <= 255 => Ok(n),
                _ => Err(format!("'{t}' is not an octet (0-255)")),
            }
        };
        ranges[i] = match part {
            "*" => (0, 255),
            p => match p.split_once('-') {
                Some((a, b)) => {
                    let (a, b) = (octet(a)?, octet(b)?);
                    if a > b {
                        return Err(format!("the octet range {a}-{b} runs backwards"));
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
        return Err(format!(
            "octet ranges that expand to {pieces} separate blocks are not supported; use CIDR"
        ));
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

/// Reads target expressions from a file (`-iL`): whitespace-separated, `#` comments, blank
/// lines. A line that is not a target is an error naming the file and line.
pub fn read_specs(name: &str, reader: impl BufRead) -> Result<Vec<Spec>, SpecError> {
    let file_err = |problem: String| SpecError {
        input: name.to_string(),
        problem,
        location: None,
        whole_file: true,
    };
    let mut out = Vec::new();
    let mut n = 0usize;
    for line in reader.split(b'\n') {
        n += 1;
        let mut bytes = line.map_err(|e| file_err(format!("cannot read it: {e}")))?;
        if n == 1 {
            if bytes.starts_with(&[0xFF, 0xFE]) || bytes.starts_with(&[0xFE, 0xFF]) {
                return Err(file_err(
                    "it is UTF-16 text (as PowerShell's > writes it); save it as UTF-8, e.g. with Out-File -Encoding utf8".into(),
                ));
            }
            // Notepad and PowerShell write a UTF-8 byte order mark; it is not part of a target.
            if bytes.starts_with(&[0xEF, 0xBB, 0xBF]) {
                bytes.drain(..3);
            }
        }
        if bytes.contains(&0) {
            return Err(file_err(format!(
                "line {n} contains a NUL byte: this is not a text file of targets"
            )));
        }
        let text = String::from_utf8(bytes).map_err(|_| {
            file_err(format!(
                "line {n} is not UTF-8 text: this is not a text file of targets"
            ))
        })?;
        let content = text.split('#').next().unwrap_or("");
        for tok in content.split_whitespace() {
            let spec = parse_spec(tok).map_err(|mut e| {
                e.location = Some(format!("{name}:{n}"));
                e
            })?;
            out.push(spec);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_written_on_windows_are_read_or_named() {
        let specs = read_specs("t.txt", &b"\xEF\xBB\xBF10.0.0.1\r\n10.0.0.2\r\n"[..]).unwrap();
        assert_eq!(
            specs.len(),
            2,
            "a UTF-8 byte order mark is not part of the first target"
        );
        let e = read_specs("t.txt", &b"\xFF\xFE1\x000\x00"[..]).unwrap_err();
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
        assert_eq!(set("0.0.0.0/0").len(), 1 << 32);
        assert_eq!(set("::/0").len(), u128::MAX, "saturates");
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
        let specs = read_specs("t.txt", text.as_bytes()).unwrap();
        assert_eq!(specs.len(), 4);
        assert_eq!(specs[2], Spec::Name("devbox".into()));
        let e = read_specs("t.txt", "10.0.0.1\n10.0.0.0/40\n".as_bytes()).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("t.txt:2: invalid target '10.0.0.0/40'"),
            "{e}"
        );
        let e = read_specs("bin", &b"10.0.0.1\n\x00\x01\x02"[..]).unwrap_err();
        assert!(e.to_string().contains("not a text file"), "{e}");
        let e = read_specs("bin", &b"\xc3\x28"[..]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "cannot use the target list bin: line 1 is not UTF-8 text: this is not a text file of targets"
        );
    }
}
