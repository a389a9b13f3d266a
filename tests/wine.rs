//! The Windows build, run: msvsmon-probe.exe under Wine against the Linux build, both ways, on
//! loopback. Run by `sh .ci/wine-test`, which builds the .exe, the ProcessPrng shim Wine 8.0 needs
//! (tests/wine/processprng.c) and a Wine prefix, and passes the .exe's path in
//! MSVSMON_PROBE_WINE_EXE; plain `cargo test` leaves these out (ignored).
//!
//! Wine runs the .exe's Windows code (Winsock, the Windows timeouts and error mapping) on Linux's
//! network stack: what only a real Windows stack does (KB175523's SYN retries after a reset) is
//! covered by the unit tests of the error mapping, not here (README, "Windows").
//! Wine binds the .exe's UDP 3702 to the wildcard of the loopback interface, so the tests that
//! listen on 3702 run one at a time (`--test-threads=1`, as .ci/wine-test runs them).
//! Nothing here sends a packet anywhere but loopback: every target and `--bind` is a 127.77/16
//! address of the test's own, and WS-Discovery to a loopback target is unicast only.
#![cfg(target_os = "linux")]

mod support;

use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use serde_json::Value;
use support::*;

/// `wine msvsmon-probe.exe`, the copy with the shim beside it.
fn exe() -> Command {
    let path = std::env::var_os("MSVSMON_PROBE_WINE_EXE")
        .map(PathBuf::from)
        .expect("MSVSMON_PROBE_WINE_EXE names the .exe to run; `sh .ci/wine-test` sets it");
    assert!(path.is_file(), "{path:?} is not a file");
    let mut c = Command::new("wine");
    c.arg(path)
        .env("WINEDEBUG", "-all")
        .env_remove("NO_COLOR")
        .env_remove("COLUMNS");
    c
}

fn exe_run(args: &[&str]) -> Output {
    exe()
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("wine runs")
}

/// Runs the .exe with `--json` and returns the schema-valid document and the exit code.
fn exe_json(args: &[&str]) -> (Value, i32) {
    let mut all = vec!["--json"];
    all.extend_from_slice(args);
    let out = exe_run(&all);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "the .exe printed no JSON ({e}); stderr: {}\nstdout: {}",
            stderr_of(&out),
            String::from_utf8_lossy(&out.stdout)
        )
    });
    assert_schema(&v);
    (v, out.status.code().expect("exited"))
}

/// Asserts the .exe refused `args` as bad input: exit 2, one line naming `needle`, no stdout.
fn exe_refuses(args: &[&str], needle: &str) {
    let out = exe_run(args);
    let err = stderr_of(&out);
    assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
    assert_eq!(err.trim_end().lines().count(), 1, "{args:?}: {err}");
    assert!(err.contains(needle), "{args:?}: {needle:?} not in {err}");
    assert!(out.stdout.is_empty(), "{args:?}");
}

#[test]
#[ignore = "runs the .exe under Wine: sh .ci/wine-test"]
fn version_and_catalog() {
    let out = exe_run(&["--version"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        format!("msvsmon-probe {}", env!("CARGO_PKG_VERSION"))
    );

    let out = exe_run(&["catalog", "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
    let windows: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_schema(&windows);
    let linux: Value = serde_json::from_slice(&run(&["catalog", "--json"]).stdout).unwrap();
    assert_eq!(windows, linux, "the catalog is the same on both builds");
}

#[test]
#[ignore = "runs the .exe under Wine: sh .ci/wine-test"]
fn the_exe_probes_the_linux_stand_in_and_a_closed_host() {
    let lo = Loopback::claim();
    let ip = lo.ip.to_string();
    let listen = ListenChild::start(&["--bind", &ip]);

    // 2022 listens (4026, 4025), 2019's 4024 is closed; WS-Discovery answered by unicast.
    let (doc, code) = exe_json(&["--release", "2022,2019", "--timeout", "2s", &ip]);
    assert_eq!(code, 0, "{doc:#}");
    assert_eq!(port_of(&doc, 4026)["state"], "open");
    assert_eq!(port_of(&doc, 4025)["state"], "open");
    assert_eq!(port_of(&doc, 4024)["state"], "closed", "{doc:#}");
    let d = &doc["targets"][0]["discovery"];
    assert_eq!(d["status"], "answered", "{d:#}");
    let routes: Vec<&Value> = d["probes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| &p["route"])
        .collect();
    assert_eq!(routes, ["unicast"], "loopback: unicast only");
    assert_eq!(d["responders"][0]["kind"], "stand_in");
    drop(listen);

    // Nothing listens: every port closed (Winsock's WSAECONNREFUSED), exit 1.
    let empty = Loopback::claim();
    let (doc, code) = exe_json(&["--no-discovery", "--release", "2022", &empty.ip.to_string()]);
    assert_eq!(code, 1, "{doc:#}");
    for port in [4026, 4025] {
        assert_eq!(port_of(&doc, port)["state"], "closed", "{doc:#}");
    }
}

#[test]
#[ignore = "runs the .exe under Wine: sh .ci/wine-test"]
fn the_linux_binary_probes_the_exes_listen() {
    let lo = Loopback::claim();
    let ip = lo.ip.to_string();
    let mut listen = ListenChild::start_with(exe(), &["--bind", &ip, "--release", "2022"]);
    assert!(listen.printed(&format!("{ip}:4026")), "{:?}", listen.seen);

    let (doc, code) = run_json(&["--release", "2022,2019", &ip]);
    assert_eq!(code, 0, "{doc:#}");
    assert_eq!(port_of(&doc, 4026)["state"], "open");
    assert_eq!(port_of(&doc, 4025)["state"], "open");
    assert_eq!(port_of(&doc, 4024)["state"], "closed");
    let d = &doc["targets"][0]["discovery"];
    assert_eq!(
        d["status"], "answered",
        "the .exe's WS-Discovery answer: {d:#}"
    );
    let r = &d["responders"][0];
    assert_eq!(r["kind"], "stand_in");
    // Wine binds a UDP socket given an interface's address to the wildcard on that interface
    // (SO_BINDTODEVICE, for Windows' broadcast semantics), so the answer leaves from lo's first
    // address; Windows sends from the bound address. The port is kept either way.
    let source: std::net::IpAddr = r["source"].as_str().unwrap().parse().unwrap();
    assert!(source.is_loopback(), "{r:#}");
    assert_eq!(r["source_port"], 3702);
    // The .exe logged the probe's connection and its Probe.
    let accepted = format!("-> {ip}:4026: accepted and closed");
    assert!(
        listen.wait_for(|l| l.contains(&accepted), Duration::from_secs(10)),
        "{:?}",
        listen.seen
    );
}

#[test]
#[ignore = "runs the .exe under Wine: sh .ci/wine-test"]
fn the_exes_prometheus_output_passes_promtool() {
    let lo = Loopback::claim();
    let ip = lo.ip.to_string();
    let _listen = ListenChild::start(&["--bind", &ip]);
    let out = exe_run(&[
        "--format",
        "prometheus",
        "--no-discovery",
        "--release",
        "2022",
        &ip,
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.lines()
            .any(|l| l.starts_with("msvsmon_probe_") && l.contains("4026")),
        "{text}"
    );
    promtool_accepts("the .exe's output", &text);
}

#[test]
#[ignore = "runs the .exe under Wine: sh .ci/wine-test"]
fn the_exe_refuses_bad_input_and_sends_nothing() {
    let lo = Loopback::claim();
    let ip = lo.ip.to_string();
    let tcp = lo.listen(4026);
    let udp = lo.udp_3702();
    for (args, needle) in [
        (vec!["--port", "70000", ip.as_str()], "70000"),
        (vec!["--timeout", "soon", ip.as_str()], "soon"),
        (vec!["--release", "2020", ip.as_str()], "2012, 2013"),
        (vec!["--retries", "11", ip.as_str()], "0 to 10"),
        (vec!["listen", "--bind", "devbox"], "devbox"),
        (vec!["224.0.0.1"], "224.0.0.1"),
    ] {
        exe_refuses(&args, needle);
    }
    assert!(nothing_accepted(&tcp), "a refused command connected");
    assert!(nothing_received(&udp), "a refused command sent a Probe");
}

#[test]
#[ignore = "runs the .exe under Wine: sh .ci/wine-test"]
fn the_exe_exits_3_for_a_name_it_cannot_resolve() {
    // Resolved from a hosts file the test writes (no DNS query): the name is not in it.
    let hosts = TempFile::with("hosts", "127.0.0.1 localhost\n");
    let (doc, code) = exe_json(&[
        "--hosts-file",
        hosts.path(),
        "--no-discovery",
        "no-such-host.invalid",
    ]);
    assert_eq!(code, 3, "{doc:#}");
    assert_eq!(
        doc["targets"][0]["resolution"]["error_kind"], "not_in_hosts_file",
        "{doc:#}"
    );
}
