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
