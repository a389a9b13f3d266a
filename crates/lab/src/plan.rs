//! The lab's address plan. Every lab uses the same addresses: each lab lives in namespaces of its
//! own, so two labs never see each other's packets, and tests can name addresses as constants.
//!
//! The prefixes are private (RFC 1918, ULA) so the product treats them as a LAN (no "public
//! address" finding); [`clashes_with_the_machine`] refuses to build on a machine whose own
//! routes overlap them, so a lab address can never be mistaken for a real one.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// The LAN: scanner and scenario hosts on one bridge.
pub const LAN_V4_PREFIX: &str = "10.231.1.0/24";
pub const LAN_V6_PREFIX: &str = "fd6d:7670:6c61:1::/64";
/// The scanner's address on the LAN (host part 2).
pub const SCANNER_OCTET: u8 = 2;
/// Host part of the LAN addresses where no host exists (v4 and v6): ARP/ND fails.
pub const DEAD_OCTET: u8 = 99;

/// Room in the LAN's IPv6 prefix for a crowd of addresses on one host (its IPv4 /24 has none):
/// `fd6d:7670:6c61:1::c:<n>`, `n` from 1 ([`crowd_v6`]). No host's own address is in it (theirs
/// end in `::<octet>`).
pub const CROWD_V6_PREFIX: &str = "fd6d:7670:6c61:1::c:0/112";

/// A second LAN of the scanner (`lan1`, bridge br1): another link, for `--discover --interface`.
pub const SIDE_V4_PREFIX: &str = "10.231.6.0/24";
pub const SIDE_V6_PREFIX: &str = "fd6d:7670:6c61:6::/64";
/// Behind the router (its `dn1`, bridge br2): hosts one router away, reached by unicast only.
pub const REMOTE_V4_PREFIX: &str = "10.231.4.0/24";
pub const REMOTE_ROUTER: Ipv4Addr = Ipv4Addr::new(10, 231, 4, 1);
/// Second addresses of remote hosts (`10.231.5.<octet>/32` on their loopback), routed by the
/// router to the host: probed there, a host answers from its router-facing address.
pub const REMOTE_ALIAS_PREFIX: &str = "10.231.5.0/24";
/// The scanner's interface with multicast off (`nomc0`, a veth to nowhere), for
/// `--discover --interface`.
pub const NO_MULTICAST_IF: &str = "nomc0";
pub const NO_MULTICAST_CIDR: &str = "10.231.7.1/24";

/// Scanner ↔ router link (/30).
pub const SCANNER_LINK_PREFIX: &str = "10.231.2.0/30";
pub const SCANNER_UPLINK: Ipv4Addr = Ipv4Addr::new(10, 231, 2, 1);
pub const ROUTER_UPLINK: Ipv4Addr = Ipv4Addr::new(10, 231, 2, 2);
/// Router ↔ farm link (/24, so the router has on-link addresses with no host behind them).
pub const FARM_LINK_PREFIX: &str = "10.231.3.0/24";
pub const ROUTER_DOWNLINK: Ipv4Addr = Ipv4Addr::new(10, 231, 3, 1);
pub const FARM_LINK: Ipv4Addr = Ipv4Addr::new(10, 231, 3, 2);
/// On the router's farm link, nobody: the router's ARP fails and it answers ICMP host-unreachable.
pub const BEHIND_ROUTER_DEAD: Ipv4Addr = Ipv4Addr::new(10, 231, 3, 77);
/// Inside the lab's block but routed nowhere: the scanner fails at once with "no route".
pub const UNROUTED: Ipv4Addr = Ipv4Addr::new(10, 231, 9, 1);

/// The farm answers for every address of this /16.
pub const FARM_PREFIX: &str = "10.232.0.0/16";
/// The half of the farm that answers a SYN to a port that is not open with a TCP reset …
pub const FARM_RESET_HALF: &str = "10.232.0.0/17";
/// … and the half that drops it.
pub const FARM_DROP_HALF: &str = "10.232.128.0/17";

/// Everything the lab may use; checked against the machine's routes before building.
pub const LAB_BLOCKS: &[&str] = &["10.231.0.0/16", "10.232.0.0/16", "fd6d:7670:6c61::/48"];

/// Every release port of the catalog (main and WoW64), as the product probes by default.
pub const RELEASE_PORTS: [u16; 12] = [
    4016, 4017, 4018, 4019, 4020, 4021, 4022, 4023, 4024, 4025, 4026, 4040,
];

/// `10.231.1.<octet>`.
pub fn lan_v4(octet: u8) -> Ipv4Addr {
    Ipv4Addr::new(10, 231, 1, octet)
}

/// `fd6d:7670:6c61:1::<octet>`, the octet written in decimal digits (read as hex), so host .22
/// is `::22` and the two addresses of a host are easy to pair by eye.
pub fn lan_v6(octet: u8) -> Ipv6Addr {
    format!("fd6d:7670:6c61:1::{octet}")
        .parse()
        .expect("a valid IPv6 address")
}

/// The `n`th address of [`CROWD_V6_PREFIX`], `fd6d:7670:6c61:1::c:<n in hex>` (`n` ≥ 1).
pub fn crowd_v6(n: u16) -> Ipv6Addr {
    Ipv6Addr::new(0xfd6d, 0x7670, 0x6c61, 1, 0, 0, 0xc, n)
}

/// `10.231.6.<octet>`, on the second LAN.
pub fn side_v4(octet: u8) -> Ipv4Addr {
    Ipv4Addr::new(10, 231, 6, octet)
}

/// `fd6d:7670:6c61:6::<octet>` (decimal digits, as [`lan_v6`]).
pub fn side_v6(octet: u8) -> Ipv6Addr {
    format!("fd6d:7670:6c61:6::{octet}")
        .parse()
        .expect("a valid IPv6 address")
}

/// `10.231.4.<octet>`, behind the router.
pub fn remote_v4(octet: u8) -> Ipv4Addr {
    Ipv4Addr::new(10, 231, 4, octet)
}

/// `10.231.5.<octet>`, a remote host's second address.
pub fn remote_alias_v4(octet: u8) -> Ipv4Addr {
    Ipv4Addr::new(10, 231, 5, octet)
}

/// Parses "a.b.c.d/n" or "x::/n".
pub fn parse_prefix(s: &str) -> Option<(IpAddr, u8)> {
    let (a, n) = s.split_once('/').unwrap_or((s, ""));
    let ip: IpAddr = a.parse().ok()?;
    let max = if ip.is_ipv4() { 32 } else { 128 };
    let len = if n.is_empty() { max } else { n.parse().ok()? };
    (len <= max).then_some((ip, len))
}

/// The address left-aligned in 128 bits, so a prefix length counts from the top for both
/// families; and its family's width.
fn bits(ip: IpAddr) -> (u128, u8) {
    match ip {
        IpAddr::V4(v4) => (u128::from(u32::from(v4)) << 96, 32),
        IpAddr::V6(v6) => (u128::from(v6), 128),
    }
}

/// Do two prefixes of the same family share an address?
pub fn overlaps(a: (IpAddr, u8), b: (IpAddr, u8)) -> bool {
    let ((x, fx), (y, fy)) = (bits(a.0), bits(b.0));
    if fx != fy {
        return false;
    }
    let len = u32::from(a.1.min(b.1));
    let mask = if len == 0 {
        0
    } else {
        u128::MAX << (128 - len)
    };
    x & mask == y & mask
}

/// The machine's (root namespace) routes that overlap a lab block, if any, as `ip route` prints
/// them. The default route is not a clash: the lab never uses the root namespace's routes.
pub fn clashes_with_the_machine() -> Result<Vec<String>, String> {
    let mut clashes = Vec::new();
    for family in ["-4", "-6"] {
        let routes = super::sys::ip(&[family, "-o", "route", "show", "table", "all"])?;
        for line in routes.lines() {
            // "10.0.0.0/8 via …", "local 10.1.2.3 dev …", "broadcast …", "default via …"
            let Some(prefix) = line.split_whitespace().take(2).find_map(parse_prefix) else {
                continue;
            };
            if LAB_BLOCKS
                .iter()
                .filter_map(|b| parse_prefix(b))
                .any(|b| overlaps(b, prefix))
            {
                clashes.push(line.trim().to_string());
            }
        }
    }
    Ok(clashes)
}
