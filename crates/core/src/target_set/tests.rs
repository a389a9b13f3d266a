use std::net::{Ipv4Addr, Ipv6Addr};

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
        let want: std::collections::BTreeSet<u128> = want_t.difference(&want_x).copied().collect();
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
