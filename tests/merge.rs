//! `merge`: the shard files of a scan, combined, are the single run (hosts, states, summary
//! counts) in every format; files of another scan, or that are not a scan's output, are refused.

mod support;

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde_json::Value;
use support::*;

/// A scan of four loopback /28s with a debugger on three of them, whole and as four shards.
struct Scanned {
    _nets: Vec<Subnet>,
    _open: Vec<std::net::TcpListener>,
    args: Vec<String>,
    dir: PathBuf,
}

impl Scanned {
    fn new(name: &str) -> Scanned {
        let nets: Vec<Subnet> = (0..4).map(|_| Subnet::claim()).collect();
        let open = vec![
            nets[0].listen(3, 4026),
            nets[1].listen(9, 4024),
            nets[3].listen(15, 4022),
        ];
        let mut args: Vec<String> = ["--all", "--vantage", "lab"].map(String::from).to_vec();
        args.extend(nets.iter().map(Subnet::cidr));
        let dir = std::env::temp_dir().join(format!("msvsmon-merge-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Scanned {
            _nets: nets,
            _open: open,
            args,
            dir,
        }
    }

    fn run(&self, extra: &[&str]) -> std::process::Output {
        let mut a: Vec<&str> = self.args.iter().map(String::as_str).collect();
        a.extend_from_slice(extra);
        run(&a)
    }

    /// Writes shard K of N to a file of its own; returns its path.
    fn shard(&self, k: u32, n: u32) -> String {
        let path = self.dir.join(format!("shard-{k}-of-{n}.ndjson"));
        let p = path.to_str().unwrap().to_string();
        let out = self.run(&["--ndjson", "--shard", &format!("{k}/{n}"), "-o", &p]);
        assert!(
            matches!(out.status.code(), Some(0 | 1)),
            "{}",
            stderr_of(&out)
        );
        p
    }
}

impl Drop for Scanned {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn by_address(hosts: &[Value]) -> BTreeMap<String, Value> {
    hosts
        .iter()
        .map(|h| {
            let a = h["host"].as_str().unwrap().to_string();
            let states: Vec<(u64, String)> = h["addresses"][0]["ports"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| (p["port"].as_u64().unwrap(), p["state"].to_string()))
                .collect();
            (a, serde_json::json!(states))
        })
        .collect()
}

const COUNTS: [&str; 11] = [
    "hosts_total",
    "hosts_scanned",
    "hosts_partial",
    "hosts_up",
    "debugger_hosts",
    "hosts_reported",
    "probes_sent",
    "retries_sent",
    "reachable",
    "exit_code",
    "excluded",
];

#[test]
fn four_shard_files_merge_into_the_single_run_in_every_format() {
    let s = Scanned::new("formats");
    let single = s.run(&["--ndjson"]);
    assert_eq!(single.status.code(), Some(0), "{}", stderr_of(&single));
    let (whole, total) = ndjson(&single.stdout);
    let files: Vec<String> = (1..=4).map(|k| s.shard(k, 4)).collect();
    let mut argv = vec!["merge", "--ndjson"];
    argv.extend(files.iter().map(String::as_str));

    let out = run(&argv);
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
    assert_eq!(stderr_of(&out), "", "nothing to note");
    let (hosts, summary) = ndjson(&out.stdout);
    assert_eq!(by_address(&hosts), by_address(&whole));
    for field in COUNTS {
        assert_eq!(summary[field], total[field], "{field}");
    }
    assert_eq!(summary["ports"], total["ports"]);
    assert_eq!(summary["settings"]["shard"], "1/1");
    assert_eq!(summary["merged"]["runs"], 4);
    assert_eq!(summary["merged"]["missing_shards"], serde_json::json!([]));

    // One document, valid against the schema, with the same hosts.
    argv[1] = "--json";
    let out = run(&argv);
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_schema(&doc);
    let targets = doc["targets"].as_array().unwrap();
    assert_eq!(by_address(targets), by_address(&whole));
    assert_eq!(doc["summary"]["debugger_hosts"], 3);

    // For people: the single run's table on stdout, line for line, and its summary on stderr.
    argv[1] = "--format=human";
    let out = run(&argv);
    let direct = s.run(&[]);
    let table = String::from_utf8(out.stdout.clone()).unwrap();
    assert_eq!(table.lines().count(), 3, "{table}");
    assert_eq!(table, String::from_utf8_lossy(&direct.stdout));
    let first = |t: &str| t.lines().next().unwrap_or_default().to_string();
    let (merged_summary, direct_summary) = (stderr_of(&out), stderr_of(&direct));
    assert_eq!(
        first(&merged_summary).split(" in ").next(),
        first(&direct_summary).split(" in ").next(),
        "{merged_summary}"
    );

    // Prometheus: the same series as the single run's, with the same values.
    let series = |text: &str| -> BTreeMap<String, String> {
        text.lines()
            .filter(|l| {
                l.starts_with("msvsmon_probe_port_state") || l.starts_with("msvsmon_probe_port_up")
            })
            .map(|l| {
                let (k, v) = l.rsplit_once(' ').unwrap();
                (k.to_string(), v.to_string())
            })
            .collect()
    };
    argv[1] = "--format=prometheus";
    let merged = String::from_utf8(run(&argv).stdout).unwrap();
    let direct = String::from_utf8(s.run(&["--format", "prometheus"]).stdout).unwrap();
    let merged_series = series(&merged);
    assert_eq!(merged_series.len(), 64 * 12 * 8, "{merged}");
    assert_eq!(merged_series, series(&direct));
}

#[test]
fn files_of_another_scan_are_refused_naming_both() {
    let s = Scanned::new("other");
    let a = s.shard(1, 2);
    let b = s.shard(1, 3);
    let out = run(&["merge", &a, &b]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr_of(&out);
    assert!(err.contains("is from another scan"), "{err}");
    assert!(err.contains(&b) && err.contains(&a), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
}

#[test]
fn a_shard_run_twice_counts_once_and_a_missing_shard_is_said() {
    let s = Scanned::new("twice");
    let one = s.shard(1, 2);
    let again = s.dir.join("again.ndjson");
    std::fs::copy(&one, &again).unwrap();
    let out = run(&["merge", "--ndjson", &one, again.to_str().unwrap()]);
    let err = stderr_of(&out);
    assert!(
        err.contains("shard 1/2 seen from lab is in more than one run"),
        "{err}"
    );
    assert!(err.contains("shard(s) 2 of 2 missing"), "{err}");
    let (hosts, summary) = ndjson(&out.stdout);
    let (alone, first) = ndjson(&std::fs::read(&one).unwrap());
    assert_eq!(by_address(&hosts), by_address(&alone));
    assert_eq!(summary["probes_sent"], first["probes_sent"]);
    assert_eq!(
        summary["merged"]["missing_shards"],
        serde_json::json!(["2/2"])
    );
}

#[test]
fn what_is_not_a_scan_output_is_refused_with_its_line() {
    let s = Scanned::new("junk");
    let junk = s.dir.join("junk.ndjson");
    std::fs::write(&junk, "{\"type\":\"summary\"}\n\u{1b}]52;c;x\u{7}\n").unwrap();
    let out = run(&["merge", junk.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr_of(&out);
    assert!(err.contains("line 1: a summary this cannot read"), "{err}");
    assert!(!err.contains('\u{1b}'), "{err:?}");
    let out = run(&["merge", "/nonexistent/x.ndjson"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr_of(&out).contains("cannot read /nonexistent/x.ndjson"));
}
