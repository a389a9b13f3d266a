//! `--resume FILE` end to end on loopback: a scan interrupted (SIGINT) or killed (SIGKILL) and
//! run again with the same checkpoint reports every host once, finds what an uninterrupted
//! scan finds and sums to its counts; a checkpoint of another scan is refused. Unix only:
//! the interruptions are signals.
#![cfg(unix)]

mod support;

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::Stdio;

use serde_json::Value;
use support::*;

/// A /28 with three debugger ports listening, and a directory for the checkpoint.
struct Lab {
    net: Subnet,
    _open: Vec<TcpListener>,
    dir: PathBuf,
}

impl Lab {
    fn new(name: &str) -> Lab {
        let net = Subnet::claim();
        let open = vec![
            net.listen(3, 4026),
            net.listen(9, 4024),
            net.listen(12, 4040),
        ];
        let dir =
            std::env::temp_dir().join(format!("msvsmon-resume-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Lab {
            net,
            _open: open,
            dir,
        }
    }

    fn path(&self, name: &str) -> String {
        self.dir.join(name).to_str().unwrap().to_string()
    }

    /// The scan as it would run without interruption: (host lines, summary).
    fn uninterrupted(&self) -> (Vec<Value>, Value) {
        let out = run(&["--ndjson", "--all", &self.net.cidr()]);
        assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
        ndjson(&out.stdout)
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Every (address, port, state) of the host lines, asserting no address comes twice.
fn findings(hosts: &[Value]) -> BTreeSet<(String, u64, String)> {
    let mut seen = BTreeSet::new();
    let mut out = BTreeSet::new();
    for h in hosts {
        let a = &h["addresses"][0];
        let address = a["address"].as_str().unwrap().to_string();
        assert!(seen.insert(address.clone()), "{address} reported twice");
        for p in a["ports"].as_array().unwrap() {
            out.insert((
                address.clone(),
                p["port"].as_u64().unwrap(),
                p["state"].as_str().unwrap().to_string(),
            ));
        }
    }
    out
}

/// The summary's counts of what was found (not of time or of probes).
fn counts(s: &Value) -> Vec<(&'static str, Value)> {
    [
        "hosts_total",
        "hosts_scanned",
        "hosts_partial",
        "hosts_up",
        "debugger_hosts",
        "hosts_reported",
        "ports",
        "reachable",
    ]
    .into_iter()
    .map(|k| (k, s[k].clone()))
    .collect()
}

/// Probes a resumed scan may send beyond an uninterrupted one: the hosts in progress when it
/// stopped (here the whole /28 is one shuffle window: 16 hosts × 12 ports) and one checkpoint
/// interval at `--rate 60`.
const SLACK: u64 = 16 * 12 + 60;

#[test]
fn a_scan_interrupted_with_sigint_resumes_and_reports_each_host_once() {
    let lab = Lab::new("int");
    let (all, whole) = lab.uninterrupted();
    let ck = lab.path("scan.checkpoint");
    let scan = ["--ndjson", "--all", "--resume", &ck, &lab.net.cidr()];

    // 16 hosts × 12 ports at 60 probes a second: slow enough to be interrupted.
    let mut child = bin()
        .args(scan)
        .args(["--rate", "60"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    // Synchronise on output, not on time: interrupt once the first host is out.
    let first = lines.next().expect("a first line").unwrap();
    assert!(first.contains("\"type\":\"host\""), "{first}");
    // SAFETY: signalling our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let mut before = vec![first];
    before.extend(lines.map(|l| l.unwrap()));
    assert_eq!(child.wait().unwrap().code(), Some(130));
    let stopped: Value = serde_json::from_str(&before.pop().unwrap()).unwrap();
    assert_eq!(stopped["interrupted"], true);
    assert_eq!(
        stopped["hosts_partial"], 0,
        "a resumable run leaves partial hosts to the next"
    );
    let mut hosts: Vec<Value> = before
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();

    let out = run(&scan);
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
    let (rest, summary) = ndjson(&out.stdout);
    assert!(
        rest.len() < 16,
        "the hosts written before the interruption are not scanned again"
    );
    hosts.extend(rest);
    assert_eq!(findings(&hosts), findings(&all), "every pair, each once");
    assert_eq!(
        counts(&summary),
        counts(&whole),
        "the summary counts the whole scan"
    );
    assert_eq!(summary["interrupted"], false);
    let (probes, once) = (
        summary["probes_sent"].as_u64().unwrap(),
        whole["probes_sent"].as_u64().unwrap(),
    );
    assert!(
        (once..=once + SLACK).contains(&probes),
        "{probes} probes in all, {once} without interruption"
    );
}

#[test]
fn a_killed_scan_resumes_from_its_checkpoint_and_its_output_file_holds_each_host_once() {
    let lab = Lab::new("kill");
    let (all, whole) = lab.uninterrupted();
    let ck = lab.path("scan.checkpoint");
    let file = lab.path("scan.ndjson");
    let scan = [
        "--ndjson",
        "--all",
        "--resume",
        &ck,
        "-o",
        &file,
        &lab.net.cidr(),
    ];

    let mut child = bin()
        .args(scan)
        .args(["--rate", "60"])
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    // Kill -9 once a checkpoint covers some host lines: waiting on the file's content, which
    // only the scan's progress changes (checked every 20 ms, for at most 30 s).
    let covered = |text: &str| {
        serde_json::from_str::<Value>(text)
            .ok()
            .and_then(|v| v["output_bytes"].as_u64())
            .is_some_and(|n| n > 0)
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while !std::fs::read_to_string(&ck).is_ok_and(|t| covered(&t)) {
        assert!(
            std::time::Instant::now() < deadline,
            "no checkpoint with output"
        );
        assert!(child.try_wait().unwrap().is_none(), "the scan ended first");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let kept: Value = serde_json::from_str(&std::fs::read_to_string(&ck).unwrap()).unwrap();
    let written = std::fs::metadata(&file).unwrap().len();
    assert!(
        written >= kept["output_bytes"].as_u64().unwrap(),
        "every line the checkpoint covers is in the file"
    );

    let out = run(&scan);
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
    let (hosts, summary) = ndjson(&std::fs::read(&file).unwrap());
    assert_eq!(findings(&hosts), findings(&all), "every pair, each once");
    assert_eq!(
        counts(&summary),
        counts(&whole),
        "the summary counts the whole scan"
    );
    let (probes, once) = (
        summary["probes_sent"].as_u64().unwrap(),
        whole["probes_sent"].as_u64().unwrap(),
    );
    // The probes of the interval a kill -9 lost are not in the count: it may be below `once`.
    assert!(
        probes <= once + SLACK,
        "{probes} probes counted, {once} without interruption"
    );

    // Run again when finished: nothing scanned twice, the same file and summary.
    let again = run(&scan);
    assert_eq!(again.status.code(), Some(0), "{}", stderr_of(&again));
    let (hosts, summary2) = ndjson(&std::fs::read(&file).unwrap());
    assert_eq!(findings(&hosts), findings(&all));
    assert_eq!(counts(&summary2), counts(&whole));
    assert_eq!(
        summary2["probes_sent"], summary["probes_sent"],
        "no probe sent"
    );
}

#[test]
fn a_checkpoint_of_another_scan_is_refused_naming_what_differs() {
    let lab = Lab::new("other");
    let ck = lab.path("scan.checkpoint");
    let cidr = lab.net.cidr();
    let out = run(&["--ndjson", "--resume", &ck, "--seed", "7", &cidr]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
    let other = Subnet::claim();
    for (extra, target, what) in [
        (vec!["-p", "5000"], cidr.as_str(), "the ports differ"),
        (vec!["--shard", "1/2"], cidr.as_str(), "the shard differ"),
        (vec!["--seed", "8"], cidr.as_str(), "the seed differ"),
        (vec![], other.cidr().as_str(), "the targets differ"),
    ] {
        let mut argv = vec!["--ndjson", "--resume", &ck];
        if !extra.contains(&"--seed") {
            argv.extend(["--seed", "7"]);
        }
        argv.extend(extra.iter().copied());
        argv.push(target);
        assert_usage_error(&argv, what);
    }
    assert_usage_error(
        &["--resume", &ck, &cidr],
        "--resume continues a scan written with --ndjson",
    );
    assert_usage_error(
        &[
            "--ndjson",
            "--resume",
            "/nonexistent-dir/scan.checkpoint",
            &cidr,
        ],
        "--resume: cannot write",
    );
    std::fs::write(&ck, "{}").unwrap();
    assert_usage_error(&["--ndjson", "--resume", &ck, &cidr], "is not a checkpoint");
}
