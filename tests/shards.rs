//! Shards on a real job runner: the documented GNU parallel recipe, run for real on loopback
//! ranges, must give exactly what one run gives: every host once, the same states, and the same
//! number of probes (no probe made twice, none left out).

mod support;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;

#[cfg(target_os = "linux")]
use msvsmon_probe_lab as lab;
use serde_json::Value;
use support::*;

/// GNU parallel, installed as the lab installs its tools (root, apt-get, no daemon started);
/// without it the test is skipped loudly, and under CI=true that is a failure.
fn parallel() -> Option<PathBuf> {
    #[cfg(target_os = "linux")]
    let found = lab::tools::ensure_program("parallel", "parallel", "parallel");
    #[cfg(not(target_os = "linux"))]
    let found: Result<PathBuf, String> =
        Err("GNU parallel is installed from Debian packages".into());
    match found {
        Ok(p) => Some(p),
        Err(why) => {
            let ci = std::env::var("CI").is_ok_and(|v| v == "true");
            assert!(!ci, "GNU parallel is required under CI=true: {why}");
            eprintln!("SKIPPED: GNU parallel is not available: {why}");
            None
        }
    }
}

/// Host lines by address (each address must appear once), and the summary lines.
fn split(stdout: &[u8]) -> (BTreeMap<String, Value>, Vec<Value>) {
    let mut hosts = BTreeMap::new();
    let mut summaries = Vec::new();
    for line in String::from_utf8_lossy(stdout).lines() {
        let v: Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
        assert_schema(&v);
        match v["type"].as_str() {
            Some("host") => {
                let a = v["addresses"][0]["address"].as_str().unwrap().to_string();
                assert!(hosts.insert(a.clone(), v).is_none(), "{a} reported twice");
            }
            Some("summary") => summaries.push(v),
            other => panic!("unexpected line type {other:?}: {line}"),
        }
    }
    (hosts, summaries)
}

/// Each port's state, by port number: what must not depend on how the scan was split.
fn states(host: &Value) -> BTreeMap<u64, String> {
    host["addresses"][0]["ports"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["port"].as_u64().unwrap(),
                p["state"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn count(summary: &Value, field: &str) -> u64 {
    summary[field].as_u64().unwrap()
}

#[test]
fn gnu_parallel_shards_together_are_the_single_run() {
    let Some(parallel) = parallel() else { return };
    let nets: Vec<Subnet> = (0..4).map(|_| Subnet::claim()).collect();
    let _open = [
        nets[0].listen(3, 4026),
        nets[1].listen(9, 4024),
        nets[2].listen(12, 4022),
        nets[3].listen(0, 4025),
    ];
    let cidrs: Vec<String> = nets.iter().map(Subnet::cidr).collect();
    let mut scan: Vec<&str> = vec!["--ndjson", "--all", "--vantage", "lab"];
    scan.extend(cidrs.iter().map(String::as_str));

    let single = run(&scan);
    assert_eq!(single.status.code(), Some(0), "{}", stderr_of(&single));
    let (whole, summaries) = split(&single.stdout);
    assert_eq!(summaries.len(), 1);
    let total = &summaries[0];
    assert_eq!(whole.len(), 64);

    // The README's recipe, minus ssh: the same command with --shard {}/4, one job per shard, no
    // seed given (every shard derives the same one from the command).
    let shards = 4;
    let command = format!(
        "{} {} --shard {{}}/{shards}",
        env!("CARGO_BIN_EXE_msvsmon-probe"),
        scan.join(" ")
    );
    let out = Command::new(parallel)
        .args(["--will-cite", "--jobs", "4", &command, ":::"])
        .args((1..=shards).map(|k| k.to_string()))
        .env_remove("NO_COLOR")
        .output()
        .expect("parallel runs");
    let (union, parts) = split(&out.stdout);

    assert_eq!(
        parts.len(),
        shards,
        "one summary per shard: {}",
        stderr_of(&out)
    );
    // A shard where Visual Studio can attach nowhere exits 1 (a WoW64-only host does not
    // count), and GNU parallel's exit status is the number of jobs that did not exit 0.
    for p in &parts {
        let found = count(p, "reachable") > 0;
        assert_eq!(count(p, "exit_code"), if found { 0 } else { 1 }, "{p}");
    }
    let failed = parts.iter().filter(|p| count(p, "exit_code") != 0).count();
    assert_eq!(
        out.status.code(),
        Some(failed as i32),
        "{}",
        stderr_of(&out)
    );
    let mut seen: Vec<String> = parts
        .iter()
        .map(|s| s["settings"]["shard"].as_str().unwrap().to_string())
        .collect();
    seen.sort();
    assert_eq!(seen, ["1/4", "2/4", "3/4", "4/4"]);
    for p in &parts {
        assert_eq!(p["settings"]["seed"], total["settings"]["seed"]);
        assert!(count(p, "hosts_total") > 0, "an empty shard: {p}");
    }

    // Every host once, nothing more, nothing less, in the same states.
    assert_eq!(
        union.keys().collect::<Vec<_>>(),
        whole.keys().collect::<Vec<_>>()
    );
    for (address, host) in &whole {
        assert_eq!(states(host), states(&union[address]), "{address}");
    }
    // The same work: hosts and probes add up to the single run's, so no probe was made twice.
    for field in [
        "hosts_total",
        "hosts_scanned",
        "debugger_hosts",
        "probes_sent",
    ] {
        let sum: u64 = parts.iter().map(|p| count(p, field)).sum();
        assert_eq!(sum, count(total, field), "{field}");
    }
    assert_eq!(count(total, "debugger_hosts"), 4);
}
