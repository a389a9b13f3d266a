//! Target sets for subnet scans: CIDR blocks, address ranges, nmap-style octet ranges, names and
//! files, minus exclusions, as sorted disjoint intervals.
//!
//! A /8 is one interval, not sixteen million addresses: the set answers "how many", "the i-th
//! address" and "contains" without expanding anything, which is what lets a scan of `10.0.0.0/8`
//! start at once with flat memory, probe duplicates once, and split into shards exactly.

use std::collections::HashMap;
use std::fmt;
use std::net::IpAddr;

use crate::target::{check_destination, parse_target_syntax, Host, Shown, TargetProblem};

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

mod intervals;
mod list;
#[cfg(test)]
mod tests;

use intervals::{coalesce, merge, normalise, num};
pub use intervals::{AddressSet, IndexedSet};
pub use list::{SpecSet, SpecSetBuilder, MAX_LINE, MAX_NAMES, MAX_SPECS};
