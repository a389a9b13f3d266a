//! Monitoring: the Prometheus output (checked by Prometheus' own `promtool`), `--watch` events
//! and heartbeats against a host that changes under it, the atomic state file, `-q`,
//! `--fail-if-open`, and the bad input of the monitoring options. Loopback only.

mod support;

#[cfg(unix)]
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
#[cfg(unix)]
use std::process::{Command, Stdio};

use serde_json::Value;
use support::*;

const FAST: &[&str] = &[
    "--timeout",
    "300ms",
    "--greeting-wait",
    "100ms",
    "--no-discovery",
    "--vantage",
    "lab",
];

fn args<'a>(extra: &[&'a str]) -> Vec<&'a str> {
    let mut v: Vec<&str> = FAST.to_vec();
    v.extend_from_slice(extra);
    v
}

/// A fresh directory for output files, removed on drop.
struct Dir(PathBuf);

impl Dir {
    fn new(name: &str) -> Dir {
        let d = std::env::temp_dir().join(format!("msvsmon-probe-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        Dir(d)
    }
    fn file(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
    fn names(&self) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(&self.0)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn metric<'a>(text: &'a str, name_and_labels: &str) -> Option<&'a str> {
    text.lines()
        .find(|l| l.starts_with(name_and_labels))
        .and_then(|l| l.rsplit(' ').next())
}

#[test]
fn prometheus_output_passes_promtool_and_says_what_the_ports_say() {
    let lo = Loopback::claim();
    let _open = lo.listen(4026);
    let (_l, _filler) = lo.drop_syns(4024);
    let ip = lo.ip.to_string();
    let out = run(&args(&["--format", "prometheus", "--retries", "0", &ip]));
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8(out.stdout).unwrap();
    promtool_accepts("the output", &text);
    let port = |p: &str, rest: &str| {
        format!("msvsmon_probe_port_state{{vantage=\"lab\",target=\"{ip}\",address=\"{ip}\",port=\"{p}\",{rest}")
    };
    assert_eq!(
        metric(
            &text,
            &port(
                "4026",
                "release=\"2022,2026\",role=\"main\",state=\"open\"}"
            )
        ),
        Some("1")
    );
    assert_eq!(
        metric(&text, &port("4024", "release=\"2019,app-service\"")),
        None,
        "no App Service row here"
    );
    assert_eq!(
        metric(
            &text,
            &port("4024", "release=\"2019\",role=\"main\",state=\"filtered\"}")
        ),
        Some("1")
    );
    assert_eq!(
        metric(
            &text,
            &port("4016", "release=\"2012\",role=\"main\",state=\"closed\"}")
        ),
        Some("1")
    );
    assert_eq!(
        metric(
            &text,
            &format!("msvsmon_probe_target_reachable{{vantage=\"lab\",target=\"{ip}\"}}")
        ),
        Some("1")
    );
    assert!(metric(
        &text,
        &format!("msvsmon_probe_last_success_timestamp_seconds{{vantage=\"lab\",target=\"{ip}\"}}")
    )
    .is_some());
    assert!(
        metric(&text, &format!("msvsmon_probe_port_connect_seconds{{vantage=\"lab\",target=\"{ip}\",address=\"{ip}\",port=\"4024\"")).is_none(),
        "a port that never answered has no connect time"
    );
}

#[test]
fn scan_prometheus_output_passes_promtool() {
    let net = Subnet::claim();
    let _a = net.listen(3, 4026);
    let out = run(&["--format", "prometheus", "--scan", &net.cidr()]);
    let text = String::from_utf8(out.stdout).unwrap();
    promtool_accepts("the output", &text);
    assert!(
        text.contains(&format!("target=\"{}\"", net.ip(3))),
        "{text}"
    );
}

#[test]
fn output_file_is_written_whole_and_nothing_else_is_left() {
    let lo = Loopback::claim();
    let _l = lo.listen(4026);
    let dir = Dir::new("output");
    let file = dir.file("report.json");
    let out = run(&args(&[
        "--json",
        "-o",
        file.to_str().unwrap(),
        &lo.ip.to_string(),
    ]));
    assert_eq!(out.status.code(), Some(0));
    assert!(out.stdout.is_empty(), "the report went to the file");
    let doc: Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    assert_schema(&doc);
    assert_eq!(doc["summary"]["exit_code"], 0);
    assert_eq!(dir.names(), ["report.json"], "no temporary file left");
}

#[test]
fn quiet_prints_nothing_and_the_code_answers() {
    let lo = Loopback::claim();
    let ip = lo.ip.to_string();
    let none = run(&args(&["-q", &ip]));
    assert_eq!((none.status.code(), none.stdout.len()), (Some(1), 0));
    let _l = lo.listen(4026);
    let found = run(&args(&["-q", &ip]));
    assert_eq!((found.status.code(), found.stdout.len()), (Some(0), 0));
}

#[test]
fn fail_if_open_inverts_found_and_not_found_only() {
    let lo = Loopback::claim();
    let ip = lo.ip.to_string();
    assert_eq!(
        run(&args(&["-q", "--fail-if-open", &ip])).status.code(),
        Some(0),
        "nothing open: the audit passes"
    );
    let _l = lo.listen(4026);
    let (doc, code) = run_json(&args(&["--fail-if-open", &ip]));
    assert_eq!(code, 1, "a debugger port is open: the audit fails");
    assert_eq!(doc["summary"]["exit_code"], 1);
    let hosts = TempFile::with("hosts", "127.0.0.1 other\n");
    let unresolved = run(&args(&[
        "-q",
        "--fail-if-open",
        "--hosts-file",
        hosts.path(),
        "ghost",
    ]));
    assert_eq!(
        unresolved.status.code(),
        Some(3),
        "errors keep their own codes"
    );
}

/// Reads NDJSON lines from a watch until `want` matches one; every line must fit the schema.
#[cfg(unix)]
fn read_until(
    lines: &mut impl Iterator<Item = std::io::Result<String>>,
    seen: &mut Vec<Value>,
    want: impl Fn(&Value) -> bool,
) -> Value {
    for line in lines.by_ref() {
        let line = line.unwrap();
        let v: Value =
            serde_json::from_str(&line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
        assert_schema(&v);
        seen.push(v.clone());
        if want(&v) {
            return v;
        }
    }
    panic!("the watch ended before the expected line; saw: {seen:#?}");
}

#[cfg(unix)]
#[test]
fn watch_reports_changes_heartbeats_and_a_state_file_then_stops_cleanly() {
    let lo = Loopback::claim();
    let ip = lo.ip.to_string();
    let dir = Dir::new("watch");
    let state = dir.file("msvsmon.prom");
    let mut child = bin()
        .args(args(&[
            "--watch",
            "1s",
            "--release",
            "2022",
            "--format",
            "prometheus",
            "-o",
            state.to_str().unwrap(),
            &ip,
        ]))
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut seen = Vec::new();

    // Round 1: a baseline, every port with old: null, then the verdict.
    let v = read_until(&mut lines, &mut seen, |v| v["kind"] == "verdict");
    assert_eq!(
        (v["old"].clone(), v["new"].clone()),
        (Value::Null, "not_reachable".into())
    );
    let baseline: Vec<&Value> = seen.iter().filter(|v| v["kind"] == "port").collect();
    assert_eq!(baseline.len(), 3, "4025, 4026, 4040");
    assert!(baseline
        .iter()
        .all(|p| p["old"].is_null() && p["new"] == "closed"));

    // The debugger starts: the next round reports exactly that.
    let _monitor = lo.listen(4026);
    let p = read_until(&mut lines, &mut seen, |v| v["kind"] == "port");
    assert_eq!(
        (p["port"].clone(), p["old"].clone(), p["new"].clone()),
        (4026.into(), "closed".into(), "open".into())
    );
    assert!(p["round"].as_u64().unwrap() >= 2);
    let v = read_until(&mut lines, &mut seen, |v| v["kind"] == "verdict");
    assert_eq!(
        (v["old"].clone(), v["new"].clone()),
        ("not_reachable".into(), "reachable".into())
    );

    // The next heartbeat rewrites the state file with the new state.
    let hb = read_until(&mut lines, &mut seen, |v| v["type"] == "heartbeat");
    assert_eq!(hb["reachable"], 1);
    let text = std::fs::read_to_string(&state).unwrap();
    promtool_accepts("the output", &text);
    assert_eq!(
        metric(
            &text,
            &format!("msvsmon_probe_port_up{{vantage=\"lab\",target=\"{ip}\",address=\"{ip}\",port=\"4026\"")
        ),
        Some("1"),
        "{text}"
    );

    // No change, no event: only heartbeats until it is stopped.
    let quiet = read_until(&mut lines, &mut seen, |v| v["type"] == "heartbeat");
    assert_eq!(quiet["events"], hb["events"]);
    // SAFETY: signalling our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let rest: Vec<String> = lines.map(|l| l.unwrap()).collect();
    let status = child.wait().unwrap();
    assert_eq!(
        status.code(),
        Some(0),
        "SIGTERM is the normal end of a watch"
    );
    for l in &rest {
        assert_schema(&serde_json::from_str(l).unwrap());
    }
    assert_eq!(dir.names(), ["msvsmon.prom"], "no temporary file left");
}

/// `--format human`: a watch prints one readable line per change (the first round as the
/// target's verdict, then the port with its release, old → new and the reason, then the new
/// verdict), no heartbeat lines, wrapped to the width; at 80 and 120 columns as snapshots.
#[cfg(unix)]
#[test]
fn watch_lines_for_people_at_80_and_120_columns() {
    let lo = Loopback::claim_aligned();
    let ip = lo.ip.to_string();
    for columns in ["80", "120"] {
        let mut child = bin()
            .env("COLUMNS", columns)
            .args(args(&[
                "--watch",
                "1s",
                "--release",
                "2022",
                "--format",
                "human",
                &ip,
            ]))
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let mut seen: Vec<String> = Vec::new();
        let mut until = |want: &dyn Fn(&str) -> bool, seen: &mut Vec<String>| {
            for l in lines.by_ref() {
                let l = l.unwrap();
                seen.push(l.clone());
                if want(&l) {
                    return;
                }
            }
            panic!("the watch ended before the expected line; saw: {seen:#?}");
        };
        until(&|l| l.contains("not reachable"), &mut seen);
        let monitor = lo.listen(4026);
        until(&|l| l.ends_with(":4026"), &mut seen);
        // SAFETY: signalling our own child.
        unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
        let rest: Vec<String> = lines.map(|l| l.unwrap()).collect();
        assert_eq!(child.wait().unwrap().code(), Some(0));
        drop(monitor);
        assert!(rest.is_empty(), "no heartbeat lines for people: {rest:#?}");
        let width: usize = columns.parse().unwrap();
        for l in &seen {
            assert!(!l.starts_with('{'), "not NDJSON: {l}");
            assert!(l.chars().count() <= width, "over {width} columns: {l:?}");
        }
        let text = lo.redact(&seen.join("\n"));
        assert!(text.contains("closed → open (syn-ack)"), "{text}");
        insta::with_settings!({filters => vec![(r"\d\d:\d\d:\d\dZ", "HH:MM:SSZ")]}, {
            insta::assert_snapshot!(format!("watch_human_{columns}"), text);
        });
    }
}

/// On a terminal a watch prints readable lines by default; into a pipe, NDJSON (the other
/// tests). The terminal is a pseudo-terminal from util-linux `script`.
#[cfg(target_os = "linux")]
#[test]
fn a_watch_on_a_terminal_prints_lines_for_people() {
    let lo = Loopback::claim();
    let command = format!(
        "{} {} --watch 1s --release 2022 {}",
        env!("CARGO_BIN_EXE_msvsmon-probe"),
        FAST.join(" "),
        lo.ip
    );
    let mut child = Command::new("script")
        .args(["-q", "-e", "-c", &command, "/dev/null"])
        .env_remove("COLUMNS")
        .env_remove("NO_COLOR")
        .stdout(Stdio::piped())
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("util-linux `script` runs (it gives the watch a pseudo-terminal)");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = lines.next().expect("a first line").unwrap();
    // SAFETY: signalling our own child; `script` ends the session it started.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let _ = child.wait();
    let first = anstream::adapter::strip_str(&first).to_string();
    assert!(
        first.contains(&format!(
            "{}: not reachable: no remote debugger port answers",
            lo.ip
        )),
        "{first:?}"
    );
    assert!(!first.starts_with('{'), "{first:?}");
}

/// `--ndjson` keeps a watch of named targets a watch of those targets (not a scan, which would
/// report only hosts with a debugger port), in NDJSON lines whatever standard output is.
#[cfg(unix)]
#[test]
fn a_watch_with_ndjson_writes_events_of_the_named_target() {
    let lo = Loopback::claim();
    let ip = lo.ip.to_string();
    let mut child = bin()
        .args(args(&[
            "--watch",
            "1s",
            "--ndjson",
            "--release",
            "2022",
            &ip,
        ]))
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut seen = Vec::new();
    let v = read_until(&mut lines, &mut seen, |v| v["kind"] == "verdict");
    // SAFETY: signalling our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let _ = child.wait();
    assert_eq!(
        (v["target"].as_str(), v["new"].as_str()),
        (Some(ip.as_str()), Some("not_reachable"))
    );
}

#[test]
fn monitoring_bad_input() {
    let lo = Loopback::claim();
    let listener = lo.listen(4026);
    let ip = lo.ip.to_string();
    let dir = Dir::new("bad");
    let check = |bad: &[&str], needle: &str| {
        let mut argv: Vec<&str> = bad.to_vec();
        argv.push(&ip);
        assert_usage_error(&argv, needle);
    };
    check(
        &["--watch", "0"],
        "watch interval '0' is out of range; expected 1s to 1 day",
    );
    check(
        &["--watch", "100ms"],
        "watch interval '100ms' is out of range",
    );
    check(&["--watch", "often"], "'often' is not a valid duration");
    check(&["--format", "yaml"], "invalid value 'yaml' for '--format");
    let missing = "/nonexistent-msvsmon-probe-dir/m.prom";
    check(
        &["-o", missing],
        &format!("cannot write the report to {missing}: No such file or directory"),
    );
    check(&["-o", dir.0.to_str().unwrap()], "is a directory");
    check(
        &["--watch", "5s", "--format", "prometheus"],
        "add --output FILE",
    );
    check(
        &["--watch", "5s", "--discovery", "10.0.0.0/30"],
        "--discovery is not available with --watch in a scan",
    );
    check(
        &["--watch", "5s", "--quiet"],
        "--watch with --quiet reports nothing and never ends",
    );
    assert!(nothing_accepted(&listener), "bad input sent nothing");
    assert!(!Path::new(missing).exists());
    assert!(dir.names().is_empty(), "no file created in {:?}", dir.0);
}

/// A target whose probe takes three seconds (its SYNs are dropped and it answers nothing, so the
/// full --timeout is waited) must not hold back another target's one-second rounds: the fast
/// target's change is reported before the slow target's first verdict. Ordering, not timing, is
/// asserted.
#[cfg(unix)]
#[test]
fn a_slow_target_never_delays_the_rounds_of_the_others() {
    let slow = Loopback::claim();
    let fast = Loopback::claim();
    let (_l, _filler) = slow.drop_syns(4026);
    let (_l2, _filler2) = slow.drop_syns(4025);
    let (_l3, _filler3) = slow.drop_syns(4040);
    let (slow_ip, fast_ip) = (slow.ip.to_string(), fast.ip.to_string());
    let mut child = bin()
        .args([
            "--watch",
            "1s",
            "--release",
            "2022",
            "--timeout",
            "3s",
            "--retries",
            "0",
            "--no-discovery",
            &slow_ip,
            &fast_ip,
        ])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut seen = Vec::new();
    read_until(&mut lines, &mut seen, |v| {
        v["kind"] == "verdict" && v["target"] == fast_ip.as_str()
    });
    let _monitor = fast.listen(4026);
    let first = read_until(&mut lines, &mut seen, |v| {
        (v["kind"] == "port" && v["target"] == fast_ip.as_str() && v["new"] == "open")
            || (v["kind"] == "verdict" && v["target"] == slow_ip.as_str())
    });
    // SAFETY: signalling our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let _ = child.wait();
    assert_eq!(
        first["target"],
        fast_ip.as_str(),
        "the fast target's change came first: {seen:#?}"
    );
    assert!(first["round"].as_u64().unwrap() >= 2);
}

/// A watched subnet: a debugger that starts is an event, and so is one that stops, because a
/// host is followed from the first round it was reported.
#[cfg(unix)]
#[test]
fn watch_over_a_scan_reports_debuggers_that_come_and_go() {
    let net = Subnet::claim();
    let dir = Dir::new("scan-watch");
    let state = dir.file("subnet.prom");
    let mut child = bin()
        .args([
            "--watch",
            "1s",
            "--release",
            "2022",
            "--timeout",
            "300ms",
            "--vantage",
            "lab",
            "--format",
            "prometheus",
            "-o",
            state.to_str().unwrap(),
            &net.cidr(),
        ])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut seen = Vec::new();
    let hb = read_until(&mut lines, &mut seen, |v| v["type"] == "heartbeat");
    assert_eq!(
        hb["events"], 0,
        "nothing to report in an idle subnet: {seen:#?}"
    );

    let monitor = net.listen(5, 4026);
    let ip = net.ip(5).to_string();
    let up = read_until(&mut lines, &mut seen, |v| {
        v["kind"] == "port" && v["port"] == 4026
    });
    assert_eq!(
        (up["target"].as_str(), up["new"].as_str()),
        (Some(ip.as_str()), Some("open"))
    );
    read_until(&mut lines, &mut seen, |v| {
        v["kind"] == "verdict" && v["new"] == "reachable"
    });

    drop(monitor);
    let down = read_until(&mut lines, &mut seen, |v| {
        v["kind"] == "port" && v["port"] == 4026 && v["new"] == "closed"
    });
    assert_eq!(down["old"], "open");
    read_until(&mut lines, &mut seen, |v| {
        v["kind"] == "verdict" && v["new"] == "not_reachable"
    });
    // The host that went away stays in the state file and says so: an alert on
    // target_reachable == 0 must fire, not go quiet because the series vanished.
    read_until(&mut lines, &mut seen, |v| v["type"] == "heartbeat");
    let text = std::fs::read_to_string(&state).unwrap();
    promtool_accepts("the output", &text);
    assert_eq!(
        metric(
            &text,
            &format!("msvsmon_probe_target_reachable{{vantage=\"lab\",target=\"{ip}\"")
        ),
        Some("0"),
        "{text}"
    );

    // SAFETY: signalling our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let rest: Vec<String> = lines.map(|l| l.unwrap()).collect();
    assert_eq!(child.wait().unwrap().code(), Some(0));
    for l in &rest {
        assert_schema(&serde_json::from_str(l).unwrap());
    }
}

/// A watch whose reader goes away (`| head -1`) and that keeps no state file has nobody to
/// serve: it ends instead of probing forever, and with an error, so that a supervisor
/// (`Restart=on-failure`) restarts it. A full disk behind standard output is an error too.
#[cfg(unix)]
#[test]
fn a_watch_without_a_reader_or_a_state_file_ends() {
    let lo = Loopback::claim();
    let ip = lo.ip.to_string();
    let mut child = bin()
        .args(args(&["--watch", "1s", "--release", "2022", &ip]))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = lines.next().unwrap().unwrap();
    assert_schema(&serde_json::from_str(&first).unwrap());
    drop(lines);
    // Blocks until the watch ends; a watch that ignored the closed pipe would hang here.
    let stderr = read_all(child.stderr.take().unwrap());
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(2), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "one error line: {stderr}");
    assert!(
        stderr.starts_with("error: standard output was closed"),
        "{stderr}"
    );

    #[cfg(target_os = "linux")]
    {
        let full = std::fs::OpenOptions::new()
            .write(true)
            .open("/dev/full")
            .unwrap();
        let out = bin()
            .args(args(&["--watch", "1s", "--release", "2022", &ip]))
            .stdout(full)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{stderr}");
        assert!(stderr.contains("No space left"), "{stderr}");
    }
}
