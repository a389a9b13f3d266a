//! Bad input: one line naming the bad value and what is accepted, exit code 2, and not a single
//! connection attempt (checked with a listener on the real target that must see nothing).

mod support;

use support::*;

/// Runs with a valid target whose 4026 listener must stay untouched, plus the bad arguments.
fn rejected(bad: &[&str], needle: &str) {
    rejected_with(bad, needle, true)
}

/// As [`rejected`]; `with_target` false runs without the target (for `--discover`, `listen`).
/// Neither the TCP listener nor a UDP socket on the target's WS-Discovery port may see anything.
fn rejected_with(bad: &[&str], needle: &str, with_target: bool) {
    let lo = Loopback::claim();
    let listener = lo.listen(4026);
    let udp = lo.udp_3702();
    let ip = lo.ip.to_string();
    let mut argv: Vec<&str> = bad.to_vec();
    if with_target {
        argv.push(&ip);
    }
    assert_usage_error(&argv, needle);
    assert!(nothing_accepted(&listener), "{bad:?}: a packet was sent");
    assert!(nothing_received(&udp), "{bad:?}: a datagram was sent");
}

#[test]
fn bad_discovery_options() {
    rejected(
        &["--discovery-wait", "0"],
        "discovery wait '0' is out of range; expected 10ms to 30s (or --no-discovery)",
    );
    rejected(
        &["--discovery-wait", "soon"],
        "'soon' is not a valid duration",
    );
    rejected(
        &["--interface", "eth0"],
        "--interface eth0 applies only with --discover",
    );
    rejected_with(
        &["--discover", "devbox"],
        "--discover finds its targets itself, but 'devbox' was given",
        false,
    );
    rejected_with(&["--discover", "--no-discovery"], "--no-discovery", false);
    // Checked before anything is sent: never a multicast from here.
    rejected_with(
        &["--discover", "--interface", "nosuchif0"],
        "no network interface named 'nosuchif0'; usable for --discover:",
        false,
    );
    rejected_with(
        &["--discover", "--interface", "lo"],
        "interface 'lo' cannot multicast",
        false,
    );
    for scan in [&["--ndjson"][..], &["--scan"], &["--exclude", "10.0.0.1"]] {
        let argv: Vec<&str> = ["--discover"].iter().chain(scan).copied().collect();
        rejected_with(&argv, "--discover finds the debuggers on this link", false);
    }
}

#[test]
fn bad_listen_options() {
    rejected_with(
        &["listen", "--bind", "devbox"],
        "'devbox' is not an IP address to listen on",
        false,
    );
    rejected_with(
        &["listen", "--release", "2020"],
        "unknown release '2020'",
        false,
    );
    rejected_with(&["listen", "--port", "0"], "expected 1 to 65535", false);
    rejected_with(&["listen", "--json"], "--json", false);
}

#[test]
fn listen_on_a_port_in_use_names_it() {
    let lo = Loopback::claim();
    let _busy = lo.listen(4026);
    let ip = lo.ip.to_string();
    let out = run(&["listen", "--bind", &ip]);
    let err = stderr_of(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(
        err.contains(&format!("cannot listen on TCP {ip}:4026"))
            && err.contains("already listens there"),
        "{err}"
    );
    assert!(out.stdout.is_empty());
}

/// Range syntax is a scan even when it holds one address or none: a mistake in it is reported
/// as such, never looked up as a host name.
#[test]
fn range_syntax_is_never_a_host_name() {
    rejected(
        &["10.0.0.5-10.0.0.1"],
        "the range starts at 10.0.0.5, after its end 10.0.0.1",
    );
    rejected(&["10.0.0.300-301"], "10.0.0.300-301");
    rejected(&["10.0.*.x"], "10.0.*.x");
}

/// The unspecified address is "any address" to a socket API, not a host that can be probed.
#[test]
fn unspecified_address() {
    rejected(&["0.0.0.0"], "'0.0.0.0' is the unspecified address");
    rejected(&["::"], "'::' is the unspecified address");
    rejected(&["[::]:4026"], "'::' is the unspecified address");
}

#[test]
fn empty_target() {
    rejected(&[""], "the target is empty");
}

#[test]
fn port_out_of_range() {
    rejected(
        &["devbox:99999"],
        "port 99999 is out of range; expected 1 to 65535",
    );
    rejected(&["-p", "70000"], "70000");
    rejected(&["-p", "0"], "expected 1 to 65535");
}

#[test]
fn negative_timeout() {
    rejected(&["--timeout", "-1"], "'-1' is not a valid duration");
    rejected(&["--timeout", "soon"], "500ms");
}

#[test]
fn unknown_release() {
    rejected(
        &["--release", "2020"],
        "unknown release '2020'; accepted: 2012",
    );
}

/// `--ide` takes the Visual Studio releases of the catalog, nothing else (not App Service).
#[test]
fn unknown_ide_release() {
    let accepted = "unknown release '2020'; accepted: 2012, 2013, 2015, 2017, 2019, 2022, 2026 ";
    rejected(&["--ide", "2020"], accepted);
    rejected(
        &["--ide", "app-service"],
        "unknown release 'app-service'; accepted: 2012",
    );
}

#[test]
fn malformed_ipv6() {
    rejected(&["fe80:::1"], "'fe80:::1' is not a valid IPv6 address");
    rejected(
        &["fe80::1%nosuchif0"],
        "no network interface named 'nosuchif0'",
    );
}

#[test]
fn bad_retries_and_unknown_flags() {
    rejected(&["--retries", "-1"], "expected 0 to 10");
    rejected(&["--frobnicate"], "--frobnicate");
}

#[test]
fn unreadable_or_malformed_hosts_file() {
    rejected(
        &["--hosts-file", "/nonexistent/msvsmon-probe-hosts"],
        "/nonexistent/msvsmon-probe-hosts",
    );
    let f = TempFile::with("hosts", "10.0.0.1 ok\nbogus line\n");
    rejected(
        &["--hosts-file", f.path()],
        ":2: 'bogus' is not an IP address",
    );
}

#[test]
fn no_target_at_all() {
    let out = run(&[]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr_of(&out);
    assert!(err.contains("no target given"), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1);
}

#[test]
fn help_and_version_exit_0() {
    let out = run(&["--help"]);
    assert_eq!(out.status.code(), Some(0));
    let help = String::from_utf8(out.stdout).unwrap();
    assert!(help.contains("Exit codes:"), "{help}");
    let out = run(&["--version"]);
    assert!(String::from_utf8(out.stdout)
        .unwrap()
        .starts_with("msvsmon-probe "));
}

/// As [`rejected`], for a value that is not a host. `argv` holds `HOST` where this test's valid
/// loopback target goes. Names resolve only from an empty hosts file and WS-Discovery is off, so
/// even a regression of the refusal could reach neither DNS nor a multicast group: only this
/// test's listener, which must see nothing.
fn not_a_host(argv: &[&str], needle: &str) {
    let hosts = TempFile::with("hosts", "# no names: nothing may be looked up\n");
    let lo = Loopback::claim();
    let listener = lo.listen(4026);
    let udp = lo.udp_3702();
    let ip = lo.ip.to_string();
    let mut all = vec!["--hosts-file", hosts.path(), "--no-discovery"];
    all.extend(
        argv.iter()
            .map(|a| if *a == "HOST" { ip.as_str() } else { a }),
    );
    assert_usage_error(&all, needle);
    assert!(nothing_accepted(&listener), "{argv:?}: a packet was sent");
    assert!(nothing_received(&udp), "{argv:?}: a datagram was sent");
}

/// A number left over from an option (`-p 4026 4024`, `--release 2022 2019`) or typed after
/// the host as for telnet (`HOST 4026`) is not a host: the resolver would turn it into an
/// address in 0.0.0.0/8 and probe that through the default route.
#[test]
fn a_stray_number_is_not_a_host() {
    let port = "'4024' is a number, not a host: did you mean -p 4024?";
    not_a_host(&["-p", "4026", "4024", "HOST"], port);
    not_a_host(&["HOST", "4024"], port);
    not_a_host(&["--scan", "HOST", "4024"], port);
    not_a_host(
        &["--release", "2022", "2019", "HOST"],
        "'2019' is a number, not a host: did you mean --release 2019?",
    );
    not_a_host(&["HOST", "99999"], "'99999' is a number, not a host");
    // What inet_aton reads as an address: hexadecimal, or fewer than four parts.
    not_a_host(
        &["0x7f000001", "HOST"],
        "'0x7f000001' is a number, not a host",
    );
    not_a_host(&["HOST", "0x7f.1"], "'0x7f.1' is a number, not a host");
    not_a_host(&["10.0.0", "HOST"], "'10.0.0' is not a valid IPv4 address");
    not_a_host(&["HOST", "127.1"], "'127.1' is not a valid IPv4 address");
}

/// A group, the broadcast address or "this network" is not one machine: whoever answers is not
/// the debugger that was named.
#[test]
fn multicast_broadcast_and_this_network_are_not_hosts() {
    for (bad, what) in [
        ("224.0.0.1", "'224.0.0.1' is a multicast address"),
        (
            "239.255.255.250",
            "'239.255.255.250' is a multicast address",
        ),
        ("ff02::1", "'ff02::1' is a multicast address"),
        ("[ff02::c]:4026", "'ff02::c' is a multicast address"),
        (
            "255.255.255.255",
            "'255.255.255.255' is the broadcast address",
        ),
        ("0.0.15.184", "'0.0.15.184' is in 0.0.0.0/8"),
        (
            "::ffff:224.0.0.1",
            "'::ffff:224.0.0.1' is a multicast address",
        ),
    ] {
        not_a_host(&[bad, "HOST"], what);
        not_a_host(&["--scan", "HOST", bad], what);
    }
    // A range that holds nothing else is refused; one that only overlaps them leaves them out
    // (unit tests in crates/core/src/target_set/tests.rs).
    not_a_host(
        &["HOST", "224.0.0.0/24"],
        "invalid target '224.0.0.0/24': it holds only multicast addresses",
    );
    not_a_host(
        &["HOST", "0.0.0.0/29"],
        "invalid target '0.0.0.0/29': it holds only 0.0.0.0/8",
    );
    not_a_host(
        &["HOST", "0.0.0.1-0.0.0.3"],
        "invalid target '0.0.0.1-0.0.0.3': it holds only 0.0.0.0/8",
    );
    not_a_host(
        &["HOST", "ff02::/120"],
        "invalid target 'ff02::/120': it holds only multicast addresses",
    );
}

#[test]
fn link_local_needs_its_interface() {
    not_a_host(
        &["fe80::1", "HOST"],
        "'fe80::1' is link-local: add %IFACE, e.g. fe80::1%eth0",
    );
    not_a_host(&["HOST", "[fe80::4026]:4026"], "add %IFACE");
    not_a_host(&["--scan", "HOST", "fe80::1"], "add %IFACE");
    not_a_host(
        &["HOST", "fe80::/120"],
        "invalid target 'fe80::/120': it holds only link-local addresses",
    );
}

/// A misspelt command (`lisen`) as the first target is answered before any lookup.
#[test]
fn a_misspelt_command_is_not_a_host() {
    not_a_host(
        &["lisen", "HOST"],
        "'lisen' is not a command: did you mean listen?",
    );
    not_a_host(&["catalgo", "HOST"], "did you mean catalog?");
    not_a_host(&["completion", "HOST"], "did you mean completions?");
    not_a_host(&["--scan", "lsiten", "HOST"], "did you mean listen?");
}

/// Values a parser could not represent were panics (exit 101): `Duration::from_secs_f64`
/// overflows on 1e20 seconds, and a rate of 1e-20 probes a second made a wait of 1e20 seconds
/// after the first probe. Each is now out of range, with the range.
#[test]
fn values_too_large_or_too_small_are_out_of_range() {
    for (option, accepted) in [
        ("--timeout", "expected 1ms to 10min"),
        ("--min-timeout", "expected 1ms to 10min"),
        ("--greeting-wait", "expected 0 to 10s"),
        ("--discovery-wait", "expected 10ms to 30s"),
        ("--watch", "expected 1s to 1 day"),
    ] {
        for value in [
            "1e99",
            "1e20",
            "18446744073709551616",
            "99999999999999999999h",
        ] {
            rejected(
                &[option, value],
                &format!("'{value}' is out of range; {accepted}"),
            );
        }
    }
    let rate = "is not a valid rate; expected probes per second from 0.01 to 10000000";
    for value in ["1e-20", "0.001", "1e300", "0", "NaN", "inf"] {
        rejected(&["--scan", "--rate", value], &format!("'{value}' {rate}"));
    }
}
