//! One answer from many files: the NDJSON of a scan's shards (GNU parallel, a Kubernetes Indexed
//! Job) or of several runs of it, read back and combined into the facts of one scan, which the
//! scan's own reports then write. Input files are untrusted: every line is bounded, parsed as
//! JSON, and checked against the fields this needs; nothing in them reaches a terminal except
//! through the reports' sanitiser.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::io::{self, BufRead};
use std::time::{Duration, SystemTime};

use serde::Deserialize;
use serde_json::Value;

use crate::report::json::SCHEMA_VERSION;
use crate::report::prometheus::{PortMetrics, TargetMetrics, STATES};
use crate::report::sweep::{HostRow, MergedJson, ScanFacts, UnresolvedJson};
use crate::vantage::Vantage;
use msvsmon_probe_core::{
    EngineSettings, PortCounts, PortState, ResolveError, ScanOutcome, Shard, Tally,
};

/// The longest line read, in bytes: a host line with every release's ports, findings and a
/// discovery result is a few tens of kilobytes.
pub const MAX_LINE: usize = 4 << 20;

/// Why the files cannot be merged; each names the file and line to look at.
#[derive(Debug)]
pub enum MergeError {
    Read {
        file: String,
        source: io::Error,
    },
    /// A line that is not one of a scan's NDJSON lines.
    NotScanOutput {
        file: String,
        line: u64,
        why: String,
    },
    /// No summary line anywhere: nothing says which scan the hosts belong to.
    NoSummary,
    /// Two files from different scans.
    DifferentScans {
        first: String,
        first_scan: String,
        other: String,
        other_scan: String,
    },
}

impl fmt::Display for MergeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MergeError::Read { file, source } => write!(f, "cannot read {file}: {source}"),
            MergeError::NotScanOutput { file, line, why } => write!(
                f,
                "{file}, line {line}: {why}; merge reads what `--ndjson` scans write"
            ),
            MergeError::NoSummary => write!(
                f,
                "no summary line in the input: merge needs the NDJSON of finished (or interrupted) scans, each ending with its summary"
            ),
            MergeError::DifferentScans {
                first,
                first_scan,
                other,
                other_scan,
            } => write!(
                f,
                "{other} is from another scan (fingerprint {other_scan}) than {first} ({first_scan}): merge combines the shards and runs of one scan (the same targets, exclusions, ports, seed and number of shards)"
            ),
        }
    }
}

impl std::error::Error for MergeError {}

/// The summary fields a merge needs (the rest is recomputed).
#[derive(Debug, Clone, Deserialize)]
struct Summary {
    schema_version: u32,
    vantage: String,
    scan: String,
    started_at: String,
    elapsed_ms: f64,
    settings: Settings,
    interrupted: bool,
    hosts_total: u128,
    hosts_scanned: u128,
    hosts_partial: u128,
    hosts_up: u128,
    debugger_hosts: u128,
    excluded: u128,
    unresolved: Vec<Unresolved>,
    ports: Ports,
    probes_sent: u64,
    retries_sent: u64,
    local_backoffs: u64,
    reachable: u128,
}

#[derive(Debug, Clone, Deserialize)]
struct Settings {
    timeout_ms: f64,
    min_timeout_ms: f64,
    retries: u32,
    concurrency: usize,
    rate: Option<f64>,
    seed: u64,
    shard: String,
    max_targets: Option<u128>,
}

#[derive(Debug, Clone, Deserialize)]
struct Unresolved {
    name: String,
    error: String,
    error_kind: String,
}

#[derive(Debug, Clone, Copy, Deserialize)]
struct Ports {
    open: u64,
    closed: u64,
    filtered: u64,
    rejected: u64,
    no_host: u64,
    local_error: u64,
    undecided: u64,
}

/// One run: its summary, where it was read, and its shard.
#[derive(Debug, Clone)]
struct Run {
    file: String,
    summary: Summary,
    shard: Shard,
    started: SystemTime,
}

/// The combined answer.
#[derive(Debug)]
pub struct Merged {
    pub facts: ScanFacts,
    /// Host lines, each (vantage, address) once, sorted by vantage and address.
    pub hosts: Vec<Value>,
    /// What the reader should know: runs counted once, shards missing, lines without a summary.
    pub notes: Vec<String>,
    pub code: crate::exit_code::ExitCode,
}

/// Reads the lines of one input: host lines, and summaries that close the run before them.
#[derive(Default)]
struct Reader {
    runs: Vec<Run>,
    /// By (vantage, address): the line, and whether all its ports were decided.
    hosts: BTreeMap<HostKey, (Value, bool)>,
    orphans: u64,
    files: Vec<String>,
}

fn not_scan(file: &str, line: u64, why: impl Into<String>) -> MergeError {
    MergeError::NotScanOutput {
        file: file.to_string(),
        line,
        why: why.into(),
    }
}

/// Where a host line sorts: by vantage, then by address as a number (IPv4 before IPv6), then
/// as written (zones).
type HostKey = (String, Option<std::net::IpAddr>, String);

/// A host line's key and whether every port was decided.
fn host_key(v: &Value) -> Option<(HostKey, bool)> {
    let vantage = v.get("vantage")?.as_str()?;
    let first = v.get("addresses")?.as_array()?.first()?;
    let address = first.get("address")?.as_str()?;
    let decided = v["addresses"].as_array()?.iter().all(|a| {
        a["ports"]
            .as_array()
            .is_some_and(|ps| ps.iter().all(|p| p["state"] != "undecided"))
    });
    let ip = address.split('%').next()?.parse().ok();
    Some(((vantage.to_string(), ip, address.to_string()), decided))
}

impl Reader {
    fn read(&mut self, file: &str, input: &mut dyn BufRead) -> Result<(), MergeError> {
        self.files.push(file.to_string());
        let mut pending = 0u64;
        let mut buf = Vec::new();
        let mut n = 0u64;
        loop {
            buf.clear();
            let got = io::Read::take(&mut *input, MAX_LINE as u64 + 1)
                .read_until(b'\n', &mut buf)
                .map_err(|source| MergeError::Read {
                    file: file.to_string(),
                    source,
                })?;
            if got == 0 {
                break;
            }
            n += 1;
            if buf.len() > MAX_LINE {
                return Err(not_scan(file, n, format!("longer than {MAX_LINE} bytes")));
            }
            let text = std::str::from_utf8(&buf).map_err(|_| not_scan(file, n, "not UTF-8"))?;
            if text.trim().is_empty() {
                continue;
            }
            let v: Value = serde_json::from_str(text)
                .map_err(|e| not_scan(file, n, format!("not JSON ({e})")))?;
            match v.get("type").and_then(Value::as_str) {
                Some("host") => {
                    let (key, decided) = host_key(&v).ok_or_else(|| {
                        not_scan(file, n, "a host line without vantage or address")
                    })?;
                    pending += 1;
                    // A host seen twice (a shard run again): the line with every port decided
                    // wins, then the later one.
                    let keep = match self.hosts.get(&key) {
                        Some((_, was_decided)) => decided || !was_decided,
                        None => true,
                    };
                    if keep {
                        self.hosts.insert(key, (v, decided));
                    }
                }
                Some("summary") => {
                    let summary: Summary = serde_json::from_value(v).map_err(|e| {
                        not_scan(file, n, format!("a summary this cannot read ({e})"))
                    })?;
                    if summary.schema_version != SCHEMA_VERSION {
                        return Err(not_scan(
                            file,
                            n,
                            format!(
                                "schema version {} (this build reads {SCHEMA_VERSION})",
                                summary.schema_version
                            ),
                        ));
                    }
                    let shard = Shard::parse(&summary.settings.shard)
                        .map_err(|_| not_scan(file, n, "a summary whose shard is not K/N"))?;
                    let started = humantime::parse_rfc3339(&summary.started_at).map_err(|_| {
                        not_scan(file, n, "a summary whose start time is not RFC 3339")
                    })?;
                    if !summary.elapsed_ms.is_finite() || summary.elapsed_ms < 0.0 {
                        return Err(not_scan(file, n, "a summary with a negative duration"));
                    }
                    self.runs.push(Run {
                        file: file.to_string(),
                        summary,
                        shard,
                        started,
                    });
                    pending = 0;
                }
                Some(other) => {
                    return Err(not_scan(
                        file,
                        n,
                        format!("a line of type '{other}' (a scan writes 'host' and 'summary')"),
                    ))
                }
                None => return Err(not_scan(file, n, "a JSON value without a 'type'")),
            }
        }
        self.orphans += pending;
        Ok(())
    }
}

/// A JSON `error_kind` as the one static name it stands for.
fn error_kind(kind: &str) -> Option<&'static str> {
    ResolveError::KINDS.iter().copied().find(|k| *k == kind)
}

/// Merges `inputs` (name, reader). `audit` is `--fail-if-open`, for the exit code.
pub fn merge(
    inputs: &mut dyn Iterator<Item = (String, Result<Box<dyn BufRead>, io::Error>)>,
    audit: bool,
) -> Result<Merged, MergeError> {
    let mut r = Reader::default();
    for (name, input) in inputs {
        let mut input = input.map_err(|source| MergeError::Read {
            file: name.clone(),
            source,
        })?;
        r.read(&name, &mut *input)?;
    }
    let first = r.runs.first().cloned().ok_or(MergeError::NoSummary)?;
    for run in &r.runs {
        if run.summary.scan != first.summary.scan {
            return Err(MergeError::DifferentScans {
                first: first.file.clone(),
                first_scan: first.summary.scan.clone(),
                other: run.file.clone(),
                other_scan: run.summary.scan.clone(),
            });
        }
    }
    let mut notes = Vec::new();

    // One run per (vantage, shard): a finished one before an interrupted one, then the one that
    // scanned more, then the later.
    let mut chosen: BTreeMap<(String, u64), &Run> = BTreeMap::new();
    for run in &r.runs {
        let key = (run.summary.vantage.clone(), run.shard.index);
        let better = |old: &Run| {
            (
                !run.summary.interrupted,
                run.summary.hosts_scanned,
                run.started,
            ) > (
                !old.summary.interrupted,
                old.summary.hosts_scanned,
                old.started,
            )
        };
        match chosen.get(&key) {
            Some(old) => {
                notes.push(format!(
                    "shard {}/{} seen from {} is in more than one run; its counts are those of one run ({})",
                    run.shard.index, run.shard.count, run.summary.vantage, if better(old) { &run.file } else { &old.file }
                ));
                if better(old) {
                    chosen.insert(key, run);
                }
            }
            None => {
                chosen.insert(key, run);
            }
        }
    }
    notes.dedup();
    let count = first.shard.count;
    let present: BTreeSet<u64> = chosen.keys().map(|(_, k)| *k).collect();
    let missing: Vec<u64> = (1..=count).filter(|k| !present.contains(k)).collect();
    if !missing.is_empty() {
        notes.push(format!(
            "shard(s) {} of {count} missing: the answer covers only the rest of the scan",
            missing
                .iter()
                .map(u64::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    if r.orphans > 0 {
        notes.push(format!(
            "{} host line(s) after the last summary of their file (a run that did not finish): kept, not counted",
            r.orphans
        ));
    }

    let runs: Vec<&Run> = chosen.values().copied().collect();
    let mut tally = Tally::default();
    let mut ports = PortCounts::default();
    let mut outcome = ScanOutcome {
        completed: missing.is_empty() && r.orphans == 0,
        hosts_total: 0,
        hosts_done: 0,
        probes_sent: 0,
        retries_sent: 0,
        local_backoffs: 0,
    };
    let mut interrupted = false;
    let start = runs
        .iter()
        .map(|r| r.started)
        .min()
        .unwrap_or(first.started);
    let mut end = start;
    for run in &runs {
        let s = &run.summary;
        tally.hosts += s.hosts_scanned;
        tally.partial += s.hosts_partial;
        tally.hosts_up += s.hosts_up;
        tally.debugger_hosts += s.debugger_hosts;
        tally.reachable_hosts += s.reachable;
        ports.open += s.ports.open;
        ports.closed += s.ports.closed;
        ports.filtered += s.ports.filtered;
        ports.rejected += s.ports.rejected;
        ports.no_host += s.ports.no_host;
        ports.local_error += s.ports.local_error;
        ports.undecided += s.ports.undecided;
        outcome.hosts_total += s.hosts_total;
        outcome.hosts_done += s.hosts_scanned + s.hosts_partial;
        outcome.probes_sent += s.probes_sent;
        outcome.retries_sent += s.retries_sent;
        outcome.local_backoffs += s.local_backoffs;
        interrupted |= s.interrupted;
        let finished = run.started + Duration::from_secs_f64(s.elapsed_ms / 1000.0);
        end = end.max(finished);
    }
    tally.ports = ports;
    tally.reported = r.hosts.len() as u128;
    let unresolved: Vec<UnresolvedJson> = first
        .summary
        .unresolved
        .iter()
        .map(|u| UnresolvedJson {
            name: u.name.clone(),
            error: u.error.clone(),
            error_kind: error_kind(&u.error_kind).unwrap_or("resolver"),
        })
        .collect();
    tally.unresolved = unresolved.len() as u128;
    let unfinished = !outcome.completed || tally.hosts < outcome.hosts_total;
    let code = crate::exit_code::ExitCode::for_tally(&tally, unfinished, interrupted, audit);

    let vantages: BTreeSet<&str> = runs.iter().map(|r| r.summary.vantage.as_str()).collect();
    let vantage = match vantages.iter().next() {
        Some(v) if vantages.len() == 1 => v.to_string(),
        _ => "mixed".to_string(),
    };
    let s = &first.summary.settings;
    let facts = ScanFacts {
        started_at: start,
        elapsed: end.duration_since(start).unwrap_or_default(),
        settings: EngineSettings {
            max_timeout: Duration::from_secs_f64(s.timeout_ms.max(0.0) / 1000.0),
            min_timeout: Duration::from_secs_f64(s.min_timeout_ms.max(0.0) / 1000.0),
            retries: s.retries,
            concurrency: s.concurrency,
            rate: s.rate,
            seed: s.seed,
            // The merged answer is the whole scan (minus `merged.missing_shards`).
            shard: Shard::WHOLE,
            max_hosts: s.max_targets,
            ..EngineSettings::default()
        },
        outcome,
        tally,
        excluded: first.summary.excluded,
        unresolved,
        interrupted,
        exit_code: code.code(),
        vantage: Vantage::parse(&vantage).unwrap_or_else(|_| Vantage::this_machine()),
        scan: u64::from_str_radix(&first.summary.scan, 16).unwrap_or(0),
        merged: Some(MergedJson {
            files: r.files.clone(),
            runs: runs.len(),
            shards: present.iter().map(|k| format!("{k}/{count}")).collect(),
            missing_shards: missing.iter().map(|k| format!("{k}/{count}")).collect(),
            vantages: vantages.iter().map(|v| v.to_string()).collect(),
        }),
    };
    Ok(Merged {
        facts,
        hosts: r.hosts.into_values().map(|(v, _)| v).collect(),
        notes,
        code,
    })
}

/// The Prometheus view of a host line: what [`TargetMetrics::observed`] gives for the probe
/// that wrote it (a test holds the two equal).
pub fn metrics_of(host: &Value) -> Option<TargetMetrics> {
    let mut ports = Vec::new();
    for a in host["addresses"].as_array()? {
        let address = a["address"].as_str()?.to_string();
        for p in a["ports"].as_array()? {
            let roles = p["roles"].as_array()?;
            let state = p["state"].as_str()?;
            let state = *STATES.iter().find(|s| s.as_str() == state)?;
            let pick = |field: &str| -> Option<Vec<&str>> {
                roles.iter().map(|r| r[field].as_str()).collect()
            };
            ports.push(PortMetrics {
                address: address.clone(),
                port: u16::try_from(p["port"].as_u64()?).ok()?,
                release: joined(pick("release")?, false),
                role: joined(pick("role")?, true),
                up: state == PortState::Open && p["greeting"].is_null(),
                state,
                connect_s: p["rtt_ms"].as_f64().map(|ms| ms / 1000.0),
            });
        }
    }
    Some(TargetMetrics {
        target: host["input"].as_str()?.to_string(),
        vantage: host["vantage"].as_str()?.to_string(),
        resolved: !host["addresses"].as_array()?.is_empty(),
        reachable: host["verdict"]["status"] == "reachable",
        duration_s: host["elapsed_ms"].as_f64()? / 1000.0,
        ports,
    })
}

fn joined(v: Vec<&str>, sort: bool) -> String {
    crate::report::prometheus::joined_or_custom(v, sort)
}

/// The row people read of a host line read back, or `None` when no debugger port accepts (a
/// scan shows people only debugger hosts): what [`HostRow::observed`] gives for the probe that
/// wrote the line (a test holds the two equal).
pub fn row_of(host: &Value) -> Option<HostRow> {
    let first = host["addresses"].as_array()?.first()?["address"].as_str()?;
    let ip: std::net::IpAddr = first.split('%').next()?.parse().ok()?;
    let mut ports: Vec<(u16, String)> = Vec::new();
    for a in host["addresses"].as_array()? {
        for p in a["ports"].as_array()? {
            if p["state"] == "open" && p["greeting"].is_null() {
                let port = u16::try_from(p["port"].as_u64()?).ok()?;
                if !ports.iter().any(|(n, _)| *n == port) {
                    ports.push((port, p["label"].as_str()?.to_string()));
                }
            }
        }
    }
    if ports.is_empty() {
        return None;
    }
    let mut endpoints = Vec::new();
    for e in host["verdict"]["endpoints"].as_array()? {
        let keys: Vec<String> = if e["custom"] == true {
            Vec::new()
        } else {
            e["releases"]
                .as_array()?
                .iter()
                .map(|r| r.as_str().map(str::to_string))
                .collect::<Option<_>>()?
        };
        endpoints.push((keys, e["attach_as"].as_str()?.to_string()));
    }
    let h = host["host"].as_str()?;
    let input = host["input"].as_str()?;
    Some(HostRow {
        key: msvsmon_probe_core::Address::new(ip),
        host: h.to_string(),
        name: if input != h {
            input.to_string()
        } else {
            String::new()
        },
        ports,
        endpoints,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::sweep::write_host_line;
    use msvsmon_probe_core::diagnose;
    use msvsmon_probe_core::fixtures::{every_port, icmp, observe, open, refused};

    /// A host line as a scan writes it, read back.
    fn line_of(obs: &msvsmon_probe_core::HostObservation) -> Value {
        let mut buf = Vec::new();
        let lab = Vantage::parse("lab").unwrap();
        write_host_line(&mut buf, obs, &diagnose(obs), &lab).unwrap();
        serde_json::from_slice(&buf).unwrap()
    }

    /// What `merge` makes of a host line is what the probe that wrote it would have made:
    /// the same metrics, the same line for people.
    #[test]
    fn a_host_line_read_back_gives_the_same_metrics_and_row() {
        let mut ports = every_port(refused());
        ports[0].1 = open();
        ports[1].1 = icmp(13, "10.0.0.1");
        let cases = [
            observe("10.0.0.5")
                .address("10.0.0.5", ports.clone())
                .build(),
            observe("devbox")
                .releases(&["2022", "2019"])
                .address("10.0.0.6", ports)
                .address("2001:db8::6", every_port(open()))
                .build(),
        ];
        for obs in &cases {
            let d = diagnose(obs);
            let line = line_of(obs);
            assert_eq!(
                metrics_of(&line),
                Some(TargetMetrics::observed(obs, &d, "lab")),
                "{}",
                obs.target.input
            );
            let row = HostRow::observed(obs, &d);
            assert_eq!(row_of(&line), Some(row));
        }
    }

    fn merged(files: &[(&str, &[u8])]) -> Result<Merged, MergeError> {
        let mut inputs = files.iter().map(|(name, bytes)| {
            let r: Box<dyn BufRead> = Box::new(io::Cursor::new(bytes.to_vec()));
            (name.to_string(), Ok(r))
        });
        merge(&mut inputs, false)
    }

    #[test]
    fn hostile_lines_are_refused_with_the_file_and_line() {
        let long = format!("{{\"type\":\"host\",\"x\":\"{}\"}}", "a".repeat(MAX_LINE));
        for (text, needle) in [
            (&b"\n\nnot json\n"[..], "f, line 3: not JSON"),
            (b"{\"type\":\"event\"}\n", "a line of type 'event'"),
            (b"[1,2]\n", "without a 'type'"),
            (b"{\"type\":\"host\"}\n", "without vantage or address"),
            (b"{\"type\":\"summary\"}\n", "a summary this cannot read"),
            (long.as_bytes(), "longer than"),
            (b"\xff\n", "not UTF-8"),
        ] {
            let e = merged(&[("f", text)]).unwrap_err().to_string();
            assert!(
                e.contains(needle),
                "{:.40?}: {e}",
                String::from_utf8_lossy(text)
            );
        }
        assert!(matches!(merged(&[("f", b"")]), Err(MergeError::NoSummary)));
    }
}
