//! Subnet scans end to end on loopback: each test owns a /28 of 127.78.0.0/15, puts real
//! listeners on some of its addresses and scans it with the real binary.

mod support;

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Write};
use std::process::Stdio;

use serde_json::Value;
use support::*;

fn addresses(hosts: &[Value]) -> BTreeSet<String> {
    hosts
        .iter()
        .map(|h| h["addresses"][0]["address"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn finds_every_debugger_host_and_nothing_else() {
    let net = Subnet::claim();
    let _a = net.listen(3, 4026);
    let _b = net.listen(9, 4024);
    let out = run(&["--ndjson", &net.cidr()]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
    let (hosts, summary) = ndjson(&out.stdout);
    let found = addresses(&hosts);
    let want: BTreeSet<String> = [net.ip(3), net.ip(9)]
        .iter()
        .map(|a| a.to_string())
        .collect();
    assert_eq!(found, want);
    let h3 = hosts
        .iter()
        .find(|h| h["input"] == net.ip(3).to_string())
        .unwrap();
    assert_eq!(h3["verdict"]["status"], "reachable");
    assert_eq!(
        h3["verdict"]["endpoints"][0]["releases"],
        serde_json::json!(["2022", "2026"])
    );
    assert_eq!(summary["hosts_scanned"], 16);
    assert_eq!(summary["hosts_up"], 16);
    assert_eq!(summary["debugger_hosts"], 2);
    assert_eq!(summary["ports"]["open"], 2);
    assert_eq!(summary["ports"]["closed"], 16 * 12 - 2);
    assert_eq!(summary["probes_sent"], 16 * 12);
    assert_eq!(summary["interrupted"], false);
    assert_eq!(summary["exit_code"], 0);
}

#[test]
fn nothing_found_exits_1_and_all_reports_every_host() {
    let net = Subnet::claim();
    let out = run(&["--ndjson", "--all", &net.cidr()]);
    assert_eq!(out.status.code(), Some(1));
    let (hosts, summary) = ndjson(&out.stdout);
    assert_eq!(hosts.len(), 16);
    assert_eq!(summary["hosts_reported"], 16);
    assert!(hosts
        .iter()
        .all(|h| h["verdict"]["status"] == "not_reachable"));
}

#[test]
fn duplicates_are_probed_once_and_exclusions_are_left_out() {
    let net = Subnet::claim();
    let _a = net.listen(3, 4026);
    let one = net.ip(1).to_string();
    let range = format!("{}-{}", net.ip(0), net.ip(7));
    let out = run(&[
        "--ndjson",
        &net.cidr(),
        &one,
        &range,
        "--exclude",
        &net.ip(3).to_string(),
    ]);
    let (hosts, summary) = ndjson(&out.stdout);
    assert!(
        hosts.is_empty(),
        "the excluded debugger host must not be scanned"
    );
    assert_eq!(summary["hosts_scanned"], 15);
    assert_eq!(summary["excluded"], 1);
    assert_eq!(summary["probes_sent"], 15 * 12);
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn input_lists_from_files_and_stdin() {
    let net = Subnet::claim();
    let _a = net.listen(5, 4026);
    let list = TempFile::with(
        "targets.txt",
        &format!(
            // As Notepad saves it: a byte order mark and CRLF line ends.
            "\u{feff}# build lab\r\n\r\n{}  {}   # two boxes\r\n",
            net.ip(4),
            net.ip(5)
        ),
    );
    let out = run(&["--ndjson", "-iL", list.path()]);
    let (hosts, summary) = ndjson(&out.stdout);
    assert_eq!(addresses(&hosts), [net.ip(5).to_string()].into());
    assert_eq!(summary["hosts_scanned"], 2);

    let mut child = bin()
        .args(["--ndjson", "--input-list", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    writeln!(child.stdin.take().unwrap(), "{}\n{}", net.ip(5), net.ip(6)).unwrap();
    let out = child.wait_with_output().unwrap();
    let (hosts, summary) = ndjson(&out.stdout);
    assert_eq!(hosts.len(), 1);
    assert_eq!(summary["hosts_scanned"], 2);
}

#[test]
fn shards_are_disjoint_and_concatenate_to_the_whole_scan() {
    let net = Subnet::claim();
    let whole = run(&["--ndjson", "--all", &net.cidr()]);
    let all = addresses(&ndjson(&whole.stdout).0);
    assert_eq!(all.len(), 16);
    let mut union = BTreeSet::new();
    let mut total = 0;
    for k in 1..=3 {
        let shard = format!("{k}/3");
        let out = run(&["--ndjson", "--all", "--shard", &shard, &net.cidr()]);
        let (hosts, summary) = ndjson(&out.stdout);
        assert_eq!(summary["settings"]["shard"], shard);
        total += hosts.len();
        union.extend(addresses(&hosts));
    }
    assert_eq!(total, 16, "no host in two shards");
    assert_eq!(union, all);
}

#[test]
fn json_document_in_scan_mode() {
    let net = Subnet::claim();
    let _a = net.listen(2, 4026);
    let out = run(&[
        "--json",
        "--scan",
        &net.ip(2).to_string(),
        &net.ip(3).to_string(),
    ]);
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_schema(&doc);
    assert_eq!(doc["schema_version"], 1);
    assert_eq!(doc["targets"].as_array().unwrap().len(), 1);
    assert_eq!(doc["summary"]["hosts_scanned"], 2);
    assert_eq!(doc["summary"]["type"], "summary");
}

#[test]
fn max_targets_limits_the_scan() {
    let net = Subnet::claim();
    let out = run(&["--ndjson", "--max-targets", "5", &net.cidr()]);
    let (_, summary) = ndjson(&out.stdout);
    assert_eq!(summary["hosts_total"], 5);
    assert_eq!(summary["hosts_scanned"], 5);
}

/// Debugger hosts of a /28 on loopback, one named through a hosts file: 4026 on .2 and on
/// .3, 4024 and 4026 on .9, only the WoW64 port 4025 on .12, 4026 on .14 as `buildbox`.
struct Hosts {
    net: Subnet,
    hosts_file: TempFile,
    _listeners: Vec<std::net::TcpListener>,
}

impl Hosts {
    fn start() -> Hosts {
        let net = Subnet::claim_aligned();
        let _listeners = [
            (2, 4026),
            (3, 4026),
            (9, 4024),
            (9, 4026),
            (12, 4025),
            (14, 4026),
        ]
        .iter()
        .map(|&(i, port)| net.listen(i, port))
        .collect();
        let hosts_file = TempFile::with("scan-hosts", &format!("{} buildbox\n", net.ip(14)));
        Hosts {
            net,
            hosts_file,
            _listeners,
        }
    }

    /// The scan of the block and of `buildbox` (named last, so it is not first by input).
    fn scan(&self, columns: Option<&str>) -> std::process::Output {
        let mut cmd = bin();
        if let Some(c) = columns {
            cmd.env("COLUMNS", c);
        }
        cmd.args([
            "--hosts-file",
            self.hosts_file.path(),
            &self.net.cidr(),
            "buildbox",
        ])
        .output()
        .unwrap()
    }
}

/// For people: stdout is the debugger hosts only, one line each, sorted by address and in
/// columns, so it pipes (`| sort`, `| wc -l`); the summary is on stderr, without a bar.
#[test]
fn human_output_is_a_sorted_table_with_the_summary_on_stderr() {
    let h = Hosts::start();
    let out = h.scan(None);
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let firsts: Vec<String> = lines
        .iter()
        .map(|l| l.split_whitespace().next().unwrap().to_string())
        .collect();
    let want: Vec<String> = [2, 3, 9, 12, 14]
        .iter()
        .map(|&i| h.net.ip(i).to_string())
        .collect();
    assert_eq!(
        firsts, want,
        "one line per debugger host, by address:\n{text}"
    );
    // Columns: the ports start at the same place on every line.
    let at: BTreeSet<usize> = lines
        .iter()
        .map(|l| l.find(" 40").expect("a port column"))
        .collect();
    assert_eq!(at.len(), 1, "aligned:\n{text}");
    assert!(lines[2].contains("4024, 4026"), "{text}");
    assert!(lines[3].contains("the main port does not answer"), "{text}");
    assert!(
        lines[4].contains("buildbox"),
        "the name it was given as:\n{text}"
    );
    assert!(
        !text.contains("debugger host(s)"),
        "no summary on stdout:\n{text}"
    );
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.starts_with("5 debugger host(s) among 16 hosts scanned (16 answered)"),
        "{err}"
    );
    assert!(err.contains("Ports: 6 open, 186 closed."), "{err}");
    assert!(
        !err.contains('\r') && !err.contains('\x1b'),
        "no progress bar or colour when stderr is not a terminal: {err:?}"
    );
}

/// What a person reads at 80 and at 120 columns: the table (the last column wrapped under
/// itself, never a word cut) and the summary. Addresses are shown as 198.51.100.x, time and
/// rate as placeholders.
#[test]
fn human_output_at_80_and_120_columns() {
    let h = Hosts::start();
    for columns in ["80", "120"] {
        let out = h.scan(Some(columns));
        assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
        let (stdout, stderr) = (
            String::from_utf8(out.stdout).unwrap(),
            String::from_utf8(out.stderr).unwrap(),
        );
        let width: usize = columns.parse().unwrap();
        for l in stdout.lines().chain(stderr.lines()) {
            assert!(l.chars().count() <= width, "over {width} columns: {l:?}");
        }
        let shown = h.net.redact(&format!("{stdout}--- stderr ---\n{stderr}"));
        insta::with_settings!({filters => vec![
            (r"in \d+\.\d s", "in [time] s"),
            (r"\(\d+/s\)", "([rate]/s)"),
        ]}, {
            insta::assert_snapshot!(format!("scan_human_{columns}"), shown);
        });
    }
}

#[cfg(unix)]
#[test]
fn ctrl_c_flushes_what_was_found_and_says_interrupted() {
    let net = Subnet::claim();
    // Slow enough to be interrupted: 16 hosts × 12 ports at 20 probes a second.
    let mut child = bin()
        .args(["--ndjson", "--all", "--rate", "20", &net.cidr()])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    // Synchronise on output, not on time: interrupt once the first host is out.
    let first = lines.next().expect("a first line").unwrap();
    assert!(first.contains("\"type\":\"host\""), "{first}");
    // SAFETY: signalling our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let rest: Vec<String> = lines.map(|l| l.unwrap()).collect();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(130));
    let summary: Value = serde_json::from_str(rest.last().expect("a summary")).unwrap();
    assert_schema(&summary);
    assert_eq!(summary["type"], "summary");
    assert_eq!(summary["interrupted"], true);
    let scanned = summary["hosts_scanned"].as_u64().unwrap();
    let partial = summary["hosts_partial"].as_u64().unwrap();
    assert!((1..16).contains(&scanned), "{scanned}");
    assert!(scanned + partial <= 16, "{scanned} + {partial}");
    assert_eq!(summary["hosts_total"], 16);
    assert_eq!(
        (scanned + partial) as usize,
        rest.len(),
        "every host scanned or partly decided was flushed (--all)"
    );
}

#[test]
fn a_closed_pipe_stops_the_scan_quietly() {
    let net = Subnet::claim();
    let mut child = bin()
        .args(["--ndjson", "--all", "--rate", "50", &net.cidr()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Read one line, then close the pipe as `| head -1` does.
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    drop(out);
    let stderr = read_all(child.stderr.take().unwrap());
    let status = child.wait().unwrap();
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(stderr.is_empty(), "quiet: {stderr}");
    assert!(status.code().is_some());
}

/// Scan-mode bad input: exit 2, one line naming the value, and nothing reaches the listener on
/// a target that the same command line names.
fn rejected(bad: &[&str], needle: &str) {
    let lo = Loopback::claim();
    let listener = lo.listen(4026);
    let ip = lo.ip.to_string();
    let mut argv = vec!["--ndjson", &ip];
    argv.extend_from_slice(bad);
    assert_usage_error(&argv, needle);
    assert!(nothing_accepted(&listener), "{bad:?}: a packet was sent");
}

#[test]
fn bad_scan_input() {
    rejected(
        &["10.0.0.0/33"],
        "prefix length '33' is out of range for IPv4 (0-32)",
    );
    rejected(
        &["10.0.0.5-10.0.0.1"],
        "the range starts at 10.0.0.5, after its end 10.0.0.1",
    );
    rejected(
        &["300.1.1.1"],
        "'300.1.1.1' is not a valid IPv4 address (four numbers 0-255)",
    );
    rejected(&["300.1.1.1-5"], "'300' is not an octet (0-255)");
    rejected(&["0.0.0.0"], "'0.0.0.0' is the unspecified address");
    rejected(&["--shard", "3/2"], "invalid shard '3/2'");
    rejected(&["--rate", "0"], "'0' is not a valid rate");
    rejected(&["--concurrency", "0"], "'0' is not a valid concurrency");
    rejected(&["--max-targets", "0"], "expected 1 or more");
    rejected(
        &["--min-timeout", "2s"],
        "--min-timeout 2s is longer than --timeout 1s",
    );
    rejected(
        &["-iL", "/nonexistent/msvsmon-probe-list"],
        "cannot read target list /nonexistent/msvsmon-probe-list",
    );
    let empty = TempFile::with("empty.txt", "# nothing yet\n\n");
    rejected(
        &["-iL", empty.path()],
        &format!("the target list {} holds no target", empty.path()),
    );
    let binary = TempFile::with("bin.txt", "10.0.0.1\n\u{0}\u{1}\u{2}\n");
    rejected(&["-iL", binary.path()], "not a text file");
    let bad_line = TempFile::with("list.txt", "# ok\n127.0.0.1\nnot a target!\n");
    rejected(
        &["-iL", bad_line.path()],
        &format!("{}:3: invalid target 'target!'", bad_line.path()),
    );
}

#[test]
fn an_exclusion_that_removes_everything_is_refused() {
    let lo = Loopback::claim();
    let listener = lo.listen(4026);
    let ip = lo.ip.to_string();
    let out = run(&["--ndjson", &ip, "--exclude", "127.0.0.0/8"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr_of(&out).contains("the exclusions remove every target (1 address(es))"));
    assert!(nothing_accepted(&listener));
}

#[test]
fn discovery_per_reported_host_only_when_asked() {
    let net = Subnet::claim();
    let _a = net.listen(6, 4026);
    let out = run(&["--ndjson", "--discovery", &net.cidr()]);
    let (hosts, _) = ndjson(&out.stdout);
    assert_eq!(hosts.len(), 1);
    let d = &hosts[0]["discovery"];
    // Nothing listens on UDP 3702 there: loopback answers the unicast Probe with ICMP.
    assert_eq!(d["status"], "closed", "{d:#}");
    assert!(hosts[0]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f["code"] == "not_discoverable"));
    let out = run(&["--ndjson", &net.cidr()]);
    let (hosts, _) = ndjson(&out.stdout);
    assert!(hosts[0]["discovery"].is_null(), "off by default in a scan");
}

/// Out of file descriptors is a local limit, never a port state. Forty-eight ports that drop
/// SYNs keep their sockets open for the whole timeout; with the open-file limit at 48 the scan
/// cannot hold them all at once. The concurrency is clamped to what the limit allows, but the
/// child also inherits 20 descriptors it did not count on (a parent that leaks them), so connects
/// still run into EMFILE. Every port must still come out "filtered" (what the network did), none
/// "local_error", and the engine must back off rather than crash.
#[cfg(unix)]
#[test]
fn descriptor_exhaustion_slows_the_scan_down_but_changes_no_answer() {
    use std::os::unix::process::CommandExt;
    let lo = Loopback::claim();
    let ports: Vec<u16> = (20_001..20_049).collect();
    let _dropping: Vec<_> = ports.iter().map(|p| lo.drop_syns(*p)).collect();
    let list: Vec<String> = ports.iter().map(u16::to_string).collect();
    let list = list.join(",");
    let mut cmd = bin();
    cmd.args([
        "--ndjson",
        "--all",
        "--scan",
        "--concurrency",
        "400",
        "--timeout",
        "300ms",
        "--retries",
        "0",
        "--release",
        "2022",
        "-p",
        &list,
        &lo.ip.to_string(),
    ]);
    // SAFETY: setrlimit and dup2 between fork and exec touch only the child.
    unsafe {
        cmd.pre_exec(|| {
            let lim = libc::rlimit {
                rlim_cur: 48,
                rlim_max: 48,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &lim) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            // Inherited, not close-on-exec: open for the whole run.
            for fd in 20..40 {
                if libc::dup2(2, fd) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
            }
            Ok(())
        });
    }
    let out = cmd.output().unwrap();
    let err = stderr_of(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("note: --concurrency 400 is more than the open-file limit allows; using 32"),
        "{err}"
    );
    let (hosts, summary) = ndjson(&out.stdout);
    assert_eq!(hosts.len(), 1);
    let p = &summary["ports"];
    assert_eq!(p["local_error"], 0, "{summary:#}");
    assert_eq!(p["filtered"], 48, "{summary:#}");
    assert_eq!(p["closed"], 3, "4025, 4026, 4040 reset: {summary:#}");
    assert!(
        summary["local_backoffs"].as_u64().unwrap() > 0,
        "the limit was hit, and survived: {summary:#}"
    );
}

/// A scan of one host (`extra` picks the output) interrupted once its 4026 answered, while 4025,
/// whose SYNs are dropped, still waits: its output, and the host's address.
#[cfg(unix)]
fn interrupted_after_4026(extra: &[&str]) -> (std::process::Output, String) {
    let lo = Loopback::claim();
    let listener = lo.listen(4026);
    let (_queue, _filler) = lo.drop_syns(4025);
    let ip = lo.ip.to_string();
    let mut args = extra.to_vec();
    args.extend([
        "--scan",
        "--greeting-wait",
        "0",
        "--timeout",
        "30s",
        "--retries",
        "0",
        "-r",
        "2022",
        &ip,
    ]);
    let child = bin()
        .args(&args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The scan's connect to 4026 completed: that port is decided, 4025 waits for 30 s.
    let (_conn, _) = listener.accept().unwrap();
    // SAFETY: signalling our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(130), "{}", stderr_of(&out));
    (out, ip)
}

/// Ctrl-C in the middle of a scan: a debugger port already decided is printed, though another
/// port of the same host was still waiting, and that port says it was not decided.
#[cfg(unix)]
#[test]
fn an_interrupted_scan_prints_the_debugger_it_found() {
    let (out, _) = interrupted_after_4026(&["--ndjson"]);
    let (hosts, summary) = ndjson(&out.stdout);
    assert_eq!(hosts.len(), 1, "{hosts:#?}");
    let state = |port: u64| {
        hosts[0]["addresses"][0]["ports"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["port"] == port)
            .map(|p| (p["state"].clone(), p["reason"].clone()))
            .unwrap()
    };
    assert_eq!(state(4026).0, "open");
    assert_eq!(state(4025), ("undecided".into(), "interrupted".into()));
    assert_eq!(summary["interrupted"], true);
    assert_eq!(summary["debugger_hosts"], 1);
    assert_eq!(summary["ports"]["undecided"], 1);
}

/// For people the table comes when the scan ends, also when it is interrupted: the debugger
/// found before Ctrl-C is on stdout, and stderr says the scan was interrupted.
#[cfg(unix)]
#[test]
fn an_interrupted_scan_still_prints_its_table() {
    let (out, ip) = interrupted_after_4026(&[]);
    let text = String::from_utf8(out.stdout.clone()).unwrap();
    assert_eq!(text.lines().count(), 1, "{text}");
    assert!(text.starts_with(&ip) && text.contains("attach"), "{text}");
    let err = stderr_of(&out);
    assert!(err.starts_with("Interrupted after"), "{err}");
    assert!(err.contains("1 not decided (interrupted)"), "{err}");
}

/// A target list is read a bounded line at a time: `-iL /dev/zero` (one endless line of NUL
/// bytes) ends at once, and a line over 4 KiB is refused by its number; nothing is sent. The
/// child's address space is capped so that a reader that kept growing its line fails this test
/// instead of the machine.
#[cfg(unix)]
#[test]
fn endless_or_overlong_target_lists_are_refused_at_once() {
    use std::os::unix::process::CommandExt;
    let lo = Loopback::claim();
    let listener = lo.listen(4026);
    let ip = lo.ip.to_string();
    let long = TempFile::with(
        "long.txt",
        &format!(
            "{ip}\n# a long line follows\n{}\n",
            format!("{ip} ").repeat(500)
        ),
    );
    for (list, needle) in [
        (
            "/dev/zero",
            "cannot use the target list /dev/zero: line 1 contains a NUL byte".to_string(),
        ),
        (
            long.path(),
            format!(
                "cannot use the target list {}: line 3 is longer than 4096 bytes",
                long.path()
            ),
        ),
    ] {
        let mut cmd = bin();
        cmd.args(["--ndjson", &ip, "-iL", list])
            .stdout(piped())
            .stderr(piped());
        // SAFETY: setrlimit between fork and exec touches only the child.
        unsafe {
            cmd.pre_exec(|| {
                let lim = libc::rlimit {
                    rlim_cur: 2 << 30,
                    rlim_max: 2 << 30,
                };
                if libc::setrlimit(libc::RLIMIT_AS, &lim) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let started = std::time::Instant::now();
        let mut child = cmd.spawn().unwrap();
        let status = loop {
            if let Some(s) = child.try_wait().unwrap() {
                break s;
            }
            if started.elapsed() > std::time::Duration::from_secs(20) {
                let _ = child.kill();
                panic!("-iL {list}: still reading after 20 s");
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        };
        let err = read_all(child.stderr.take().unwrap());
        assert_eq!(status.code(), Some(2), "-iL {list}: {err}");
        assert_eq!(err.trim_end().lines().count(), 1, "{err}");
        assert!(err.contains(&needle), "-iL {list}: {err}");
        assert!(
            started.elapsed() < std::time::Duration::from_secs(5),
            "-iL {list} took {:?}",
            started.elapsed()
        );
        assert!(nothing_accepted(&listener), "-iL {list}: a packet was sent");
    }
}

/// Runs the binary under an open-file limit of `limit`; fails the test if it runs over 60 s.
#[cfg(unix)]
fn run_with_fd_limit(limit: u64, args: &[&str]) -> std::process::Output {
    use std::os::unix::process::CommandExt;
    let mut cmd = bin();
    cmd.args(args).stdout(piped()).stderr(piped());
    // SAFETY: setrlimit between fork and exec touches only the child.
    unsafe {
        cmd.pre_exec(move || {
            let lim = libc::rlimit {
                rlim_cur: limit,
                rlim_max: limit,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &lim) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let child = cmd.spawn().unwrap();
    let pid = child.id();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    match rx.recv_timeout(std::time::Duration::from_secs(60)) {
        Ok(out) => out.unwrap(),
        Err(_) => {
            // SAFETY: kill(2) on our own child's pid.
            unsafe { libc::kill(pid as libc::pid_t, libc::SIGKILL) };
            panic!("{args:?} under an open-file limit of {limit}: still running after 60 s");
        }
    }
}

/// Under a low open-file limit (`ulimit -n 20`) a scan still ends with every host scanned. With
/// `--concurrency 500` it stalled: the lanes' own runtimes took the descriptors, every connect
/// ran into EMFILE, and the back-off never went below 8 probes in flight, so it paused on every
/// turn (0 hosts in 645 s on a /20). The concurrency is clamped to what the limit allows, said
/// once; a limit that leaves nothing to probe with is refused.
#[cfg(unix)]
#[test]
fn a_low_open_file_limit_still_scans_every_host() {
    let net = Subnet::claim();
    let _open = net.listen(5, 4026);
    let cidr = net.cidr();
    let clamped = "note: --concurrency 500 is more than the open-file limit allows; using 4";
    for (limit, extra, note) in [
        (20, &["--concurrency", "500"][..], Some(clamped)),
        (20, &[][..], None),
        (17, &[][..], None),
        (48, &["--concurrency", "500"][..], Some("using 32")),
    ] {
        let mut args = vec!["--ndjson", "--all", &cidr];
        args.extend_from_slice(extra);
        let started = std::time::Instant::now();
        let out = run_with_fd_limit(limit, &args);
        let err = stderr_of(&out);
        assert_eq!(out.status.code(), Some(0), "limit {limit} {extra:?}: {err}");
        let (hosts, summary) = ndjson(&out.stdout);
        assert_eq!(hosts.len(), 16, "limit {limit} {extra:?}: {summary:#}");
        assert_eq!(summary["ports"]["local_error"], 0, "{summary:#}");
        match note {
            Some(n) => {
                assert_eq!(err.matches("note: --concurrency").count(), 1, "{err}");
                assert!(err.contains(n), "limit {limit}: {err}");
            }
            None => assert!(!err.contains("note:"), "limit {limit}: {err}"),
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(20),
            "limit {limit} {extra:?}: {:?}",
            started.elapsed()
        );
    }
    // Nothing left to probe with: refused before anything is sent, exit 4 (a local limit).
    let listener = net.listen(6, 4026);
    let out = run_with_fd_limit(12, &["--ndjson", &cidr]);
    let err = stderr_of(&out);
    assert_eq!(out.status.code(), Some(4), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(
        err.contains("the open-file limit (12) leaves no descriptor to probe with"),
        "{err}"
    );
    assert!(nothing_accepted(&listener), "a packet was sent");
}
