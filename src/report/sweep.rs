//! Scan output: for people, a table of the debugger hosts sorted by address on standard output
//! and the summary on standard error (so stdout pipes cleanly); for machines, NDJSON host
//! objects streamed as found and a summary object, or one JSON document. Host objects are the
//! same as a `--json` target object.

use std::io::{self, Write};
use std::net::{IpAddr, Ipv6Addr};
use std::time::{Duration, SystemTime};

use anstyle::{AnsiColor, Style};
use serde::Serialize;

use super::columns::{wrap, Cell, Table};
use super::json::{self, TargetJson, Tool, SCHEMA_VERSION};
use crate::vantage::Vantage;
use msvsmon_probe_core::{
    Address, Diagnosis, EngineSettings, Host, HostObservation, ResolveError, ScanOutcome, Tally,
};

/// The JSON form of a name that did not resolve.
pub fn unresolved(name: &str, e: &ResolveError) -> UnresolvedJson {
    UnresolvedJson {
        name: name.to_string(),
        error: e.to_string(),
        error_kind: e.kind(),
    }
}

/// Facts about a finished (or interrupted) scan.
#[derive(Debug, Clone)]
pub struct ScanFacts {
    pub started_at: SystemTime,
    pub elapsed: Duration,
    pub settings: EngineSettings,
    pub outcome: ScanOutcome,
    pub tally: Tally,
    pub excluded: u128,
    /// Names that did not resolve: as JSON has them, so a merge of earlier runs can carry them.
    pub unresolved: Vec<UnresolvedJson>,
    pub interrupted: bool,
    pub exit_code: u8,
    /// Where the scan looked from (`--vantage`).
    pub vantage: Vantage,
    /// The scan's fingerprint ([`msvsmon_probe_core::SweepPlan::fingerprint`]): the same for
    /// every shard of the same command, so their outputs can be merged.
    pub scan: u64,
    /// Set when these facts combine earlier runs (`merge`).
    pub merged: Option<MergedJson>,
}

/// What a merged summary was made of.
#[derive(Debug, Clone, Serialize)]
pub struct MergedJson {
    /// The files read, as named.
    pub files: Vec<String>,
    /// Runs counted: one per shard and vantage.
    pub runs: usize,
    /// Shards present (`K/N`), and missing.
    pub shards: Vec<String>,
    pub missing_shards: Vec<String>,
    /// Every vantage the runs were seen from (the summary's `vantage` is `mixed` when several).
    pub vantages: Vec<String>,
}

#[derive(Serialize)]
struct HostLine<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    vantage: &'a str,
    #[serde(flatten)]
    target: TargetJson,
}

#[derive(Debug, Serialize)]
pub struct ScanSettingsJson {
    pub timeout_ms: f64,
    pub min_timeout_ms: f64,
    pub retries: u32,
    pub concurrency: usize,
    pub rate: Option<f64>,
    pub seed: u64,
    pub shard: String,
    pub max_targets: Option<u128>,
}

#[derive(Debug, Clone, Serialize)]
pub struct UnresolvedJson {
    pub name: String,
    pub error: String,
    pub error_kind: &'static str,
}

#[derive(Debug, Serialize)]
pub struct PortCountsJson {
    pub open: u64,
    pub closed: u64,
    pub filtered: u64,
    pub rejected: u64,
    pub no_host: u64,
    pub local_error: u64,
    pub undecided: u64,
}

/// The last NDJSON line, and the `summary` of a scan's `--json` document.
#[derive(Debug, Serialize)]
pub struct ScanSummaryJson {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub schema_version: u32,
    pub tool: Tool,
    pub vantage: String,
    /// The scan's fingerprint, 16 hex digits: equal for every shard of the same scan.
    pub scan: String,
    pub started_at: String,
    pub elapsed_ms: f64,
    pub settings: ScanSettingsJson,
    /// Stopped by Ctrl-C / SIGTERM before every host was scanned.
    pub interrupted: bool,
    pub hosts_total: u128,
    pub hosts_scanned: u128,
    /// Hosts an interrupted scan flushed with some ports undecided.
    pub hosts_partial: u128,
    pub hosts_up: u128,
    pub debugger_hosts: u128,
    pub hosts_reported: u128,
    pub excluded: u128,
    pub unresolved: Vec<UnresolvedJson>,
    pub ports: PortCountsJson,
    pub probes_sent: u64,
    pub retries_sent: u64,
    pub local_backoffs: u64,
    pub probes_per_second: f64,
    /// As in a single-host document: hosts scanned, hosts resolved, debugger hosts.
    pub targets: u128,
    pub resolved: u128,
    pub reachable: u128,
    pub exit_code: u8,
    /// Only in the output of `merge`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub merged: Option<MergedJson>,
}

pub fn summary(run: &ScanFacts) -> ScanSummaryJson {
    let s = &run.settings;
    let t = &run.tally;
    ScanSummaryJson {
        kind: "summary",
        schema_version: SCHEMA_VERSION,
        tool: Tool {
            name: env!("CARGO_PKG_NAME"),
            version: env!("CARGO_PKG_VERSION"),
        },
        vantage: run.vantage.to_string(),
        scan: format!("{:016x}", run.scan),
        started_at: humantime::format_rfc3339_millis(run.started_at).to_string(),
        elapsed_ms: json::ms(run.elapsed),
        settings: ScanSettingsJson {
            timeout_ms: json::ms(s.max_timeout),
            min_timeout_ms: json::ms(s.min_timeout),
            retries: s.retries,
            concurrency: s.concurrency,
            rate: s.rate,
            seed: s.seed,
            shard: format!("{}/{}", s.shard.index, s.shard.count),
            max_targets: s.max_hosts,
        },
        interrupted: run.interrupted,
        hosts_total: run.outcome.hosts_total,
        hosts_scanned: t.hosts,
        hosts_partial: t.partial,
        hosts_up: t.hosts_up,
        debugger_hosts: t.debugger_hosts,
        hosts_reported: t.reported,
        excluded: run.excluded,
        unresolved: run.unresolved.clone(),
        ports: PortCountsJson {
            open: t.ports.open,
            closed: t.ports.closed,
            filtered: t.ports.filtered,
            rejected: t.ports.rejected,
            no_host: t.ports.no_host,
            local_error: t.ports.local_error,
            undecided: t.ports.undecided,
        },
        probes_sent: run.outcome.probes_sent,
        retries_sent: run.outcome.retries_sent,
        local_backoffs: run.outcome.local_backoffs,
        probes_per_second: (run.outcome.probes_sent as f64 / run.elapsed.as_secs_f64().max(1e-9))
            .round(),
        targets: t.hosts,
        resolved: t.hosts,
        reachable: t.reachable_hosts,
        exit_code: run.exit_code,
        merged: run.merged.clone(),
    }
}

/// One NDJSON line for a host.
pub fn write_host_line(
    w: &mut dyn Write,
    obs: &HostObservation,
    d: &Diagnosis,
    vantage: &Vantage,
) -> io::Result<()> {
    let line = HostLine {
        kind: "host",
        vantage: vantage.as_str(),
        target: json::target(obs, d),
    };
    serde_json::to_writer(&mut *w, &line)?;
    writeln!(w)
}

/// The NDJSON summary line.
pub fn write_summary_line(w: &mut dyn Write, run: &ScanFacts) -> io::Result<()> {
    serde_json::to_writer(&mut *w, &summary(run))?;
    writeln!(w)
}

#[derive(Serialize)]
struct ScanDocument<T> {
    schema_version: u32,
    tool: Tool,
    vantage: String,
    started_at: String,
    elapsed_ms: f64,
    settings: ScanSettingsJson,
    targets: Vec<T>,
    summary: ScanSummaryJson,
}

/// The `--json` document of a scan: reported hosts (as built, or as read back by `merge`)
/// and the summary.
pub fn write_document<T: Serialize>(
    w: &mut dyn Write,
    run: &ScanFacts,
    hosts: Vec<T>,
) -> io::Result<()> {
    let summary = summary(run);
    let doc = ScanDocument {
        schema_version: SCHEMA_VERSION,
        tool: Tool {
            name: env!("CARGO_PKG_NAME"),
            version: env!("CARGO_PKG_VERSION"),
        },
        vantage: summary.vantage.clone(),
        started_at: summary.started_at.clone(),
        elapsed_ms: summary.elapsed_ms,
        settings: summary_settings(&summary),
        targets: hosts,
        summary,
    };
    serde_json::to_writer_pretty(&mut *w, &doc)?;
    writeln!(w)
}

fn summary_settings(s: &ScanSummaryJson) -> ScanSettingsJson {
    ScanSettingsJson {
        timeout_ms: s.settings.timeout_ms,
        min_timeout_ms: s.settings.min_timeout_ms,
        retries: s.settings.retries,
        concurrency: s.settings.concurrency,
        rate: s.settings.rate,
        seed: s.settings.seed,
        shard: s.settings.shard.clone(),
        max_targets: s.settings.max_targets,
    }
}

/// The debugger hosts of a scan as people read them: kept until the scan ends, then written
/// one line each, sorted by address (numerically, IPv4 before IPv6) in aligned columns, so the
/// list reads like a table and pipes into `sort` or `wc -l` line for line. Only the rows are
/// kept, not the observations: memory follows the debugger hosts found, not the hosts scanned.
#[derive(Debug, Default)]
pub struct HostTable {
    rows: Vec<(Address, Vec<Cell>)>,
}

impl HostTable {
    /// Takes a reported host; only a host with a debugger port that accepts makes a row.
    pub fn add(&mut self, obs: &HostObservation, d: &Diagnosis) {
        if !obs.debugger_found() {
            return;
        }
        self.add_row(HostRow::observed(obs, d));
    }

    /// Takes a row built elsewhere (`merge`, from a host line read back).
    pub fn add_row(&mut self, row: HostRow) {
        self.rows.push((row.key, cells(&row)));
    }

    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// Writes the rows in address order, the last column wrapped to `width`.
    pub fn write(mut self, w: &mut dyn Write, width: Option<usize>) -> io::Result<()> {
        self.rows.sort_by_key(|r| r.0);
        let mut table = Table::new();
        for (_, r) in self.rows {
            table.push(r);
        }
        table.write(w, width)
    }
}

/// What a person reads of a debugger host, from a probe or from a host line read back
/// (`merge`): its address (the sort key), the name it was given as, its debugger ports that
/// accept with their labels, and the endpoints to attach to.
#[derive(Debug, Clone, PartialEq)]
pub struct HostRow {
    pub key: Address,
    pub host: String,
    /// The name it was given as; empty when it was given as an address.
    pub name: String,
    pub ports: Vec<(u16, String)>,
    /// Per endpoint: its release keys (empty for a custom port) and where to attach.
    pub endpoints: Vec<(Vec<String>, String)>,
}

impl HostRow {
    pub fn observed(obs: &HostObservation, d: &Diagnosis) -> HostRow {
        let key =
            obs.addresses
                .first()
                .map(|a| a.address)
                .unwrap_or_else(|| match &obs.target.host {
                    Host::Literal(a) => *a,
                    Host::Name(_) => Address::new(IpAddr::V6(Ipv6Addr::UNSPECIFIED)),
                });
        let host = obs.target.host.to_string();
        let mut ports: Vec<(u16, String)> = Vec::new();
        for p in obs.addresses.iter().flat_map(|a| a.debugger_ports()) {
            if !ports.iter().any(|(n, _)| *n == p.planned.port.0) {
                ports.push((p.planned.port.0, p.planned.label()));
            }
        }
        HostRow {
            key,
            name: if obs.target.input != host {
                obs.target.input.clone()
            } else {
                String::new()
            },
            host,
            ports,
            endpoints: d
                .verdict
                .endpoints
                .iter()
                .map(|e| {
                    let keys = if e.custom {
                        Vec::new()
                    } else {
                        e.releases.iter().map(|r| r.to_string()).collect()
                    };
                    (keys, e.attach_as.clone())
                })
                .collect(),
        }
    }
}

/// A debugger host's cells: address, name, ports, and the releases → what to attach to. Every
/// string may come from a file (`merge`): sanitised.
fn cells(row: &HostRow) -> Vec<Cell> {
    let green = Style::new().fg_color(Some(AnsiColor::Green.into())).bold();
    let yellow = Style::new().fg_color(Some(AnsiColor::Yellow.into())).bold();
    let clean = |s: &str| crate::sanitize::field(s).into_owned();
    let mut releases: Vec<String> = Vec::new();
    let mut attach: Vec<String> = Vec::new();
    for (keys, at) in &row.endpoints {
        let r = if keys.is_empty() {
            "custom port".to_string()
        } else {
            format!("VS {}", keys.join(" or "))
        };
        if !releases.contains(&r) {
            releases.push(r);
        }
        if !attach.contains(at) {
            attach.push(at.clone());
        }
    }
    let (style, what) = if attach.is_empty() {
        let labels: Vec<&str> = row.ports.iter().map(|(_, l)| l.as_str()).collect();
        (
            yellow,
            format!("{}: the main port does not answer", labels.join(", ")),
        )
    } else {
        (
            green,
            format!("{} → attach {}", releases.join(", "), attach.join(", ")),
        )
    };
    let ports: Vec<String> = row.ports.iter().map(|(p, _)| p.to_string()).collect();
    vec![
        Cell::styled(clean(&row.host), style),
        Cell::new(clean(&row.name)),
        Cell::new(ports.join(", ")),
        Cell::new(clean(&what)),
    ]
}

/// The closing lines for people (standard error: counts and times are not data to pipe),
/// wrapped to `width`.
pub fn write_summary_human(
    w: &mut dyn Write,
    run: &ScanFacts,
    width: Option<usize>,
) -> io::Result<()> {
    let t = &run.tally;
    let dim = Style::new().dimmed();
    let mut say = |style: Style, text: String| -> io::Result<()> {
        for (n, line) in wrap(&text, 0, 2, width).iter().enumerate() {
            let indent = if n > 0 { "  " } else { "" };
            writeln!(w, "{indent}{style}{line}{style:#}")?;
        }
        Ok(())
    };
    if run.interrupted {
        let pct = if run.outcome.hosts_total > 0 {
            t.hosts as f64 * 100.0 / run.outcome.hosts_total as f64
        } else {
            0.0
        };
        say(
            Style::new(),
            format!(
                "Interrupted after {} of {} hosts ({pct:.1}%).",
                t.hosts, run.outcome.hosts_total
            ),
        )?;
    }
    say(
        Style::new(),
        format!(
            "{} debugger host(s) among {} hosts scanned ({} answered) in {:.1} s, {} probes ({:.0}/s).",
            t.debugger_hosts,
            t.hosts,
            t.hosts_up,
            run.elapsed.as_secs_f64(),
            run.outcome.probes_sent,
            run.outcome.probes_sent as f64 / run.elapsed.as_secs_f64().max(1e-9)
        ),
    )?;
    // The counts that are not zero (the JSON summary has them all).
    let p = &t.ports;
    let counts: Vec<String> = [
        (p.open, "open"),
        (p.closed, "closed"),
        (p.filtered, "filtered"),
        (p.rejected, "rejected"),
        (p.no_host, "without a host"),
        (p.local_error, "not probed (local errors)"),
        (p.undecided, "not decided (interrupted)"),
    ]
    .iter()
    .filter(|(n, _)| *n > 0)
    .map(|(n, what)| format!("{n} {what}"))
    .collect();
    if !counts.is_empty() {
        say(dim, format!("Ports: {}.", counts.join(", ")))?;
    }
    for u in &run.unresolved {
        say(
            Style::new(),
            format!(
                "Not scanned: '{}' did not resolve ({}).",
                crate::sanitize::field(&u.name),
                crate::sanitize::field(&u.error)
            ),
        )?;
    }
    if run.excluded > 0 {
        say(dim, format!("{} address(es) excluded.", run.excluded))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use msvsmon_probe_core::{diagnose, fixtures};

    /// A host scanned at `ip` (as an address) with `port` open among VS 2022's ports.
    fn found(ip: &str, port: u16) -> (HostObservation, Diagnosis) {
        let answer = if port == 0 {
            vec![(4026, fixtures::refused())]
        } else {
            vec![(port, fixtures::open())]
        };
        let o = fixtures::observe(ip)
            .releases(&["2019", "2022"])
            .address(ip, answer)
            .build();
        let d = diagnose(&o);
        (o, d)
    }

    /// Rows come out by address, numerically and IPv4 first, whatever the order found; hosts
    /// without a debugger port make none.
    #[test]
    fn rows_are_sorted_by_address_ipv4_first() {
        let mut t = HostTable::default();
        for (ip, port) in [
            ("fd00::2", 4026),
            ("10.0.0.10", 4026),
            ("10.0.0.9", 4024),
            ("10.0.0.11", 0),
            ("9.0.0.1", 4025),
        ] {
            let (o, d) = found(ip, port);
            t.add(&o, &d);
        }
        assert_eq!(t.len(), 4, "a host without a debugger port makes no row");
        let mut out = Vec::new();
        t.write(&mut out, None).unwrap();
        let text = anstream::adapter::strip_str(&String::from_utf8(out).unwrap()).to_string();
        let firsts: Vec<&str> = text
            .lines()
            .map(|l| l.split_whitespace().next().unwrap())
            .collect();
        assert_eq!(
            firsts,
            ["9.0.0.1", "10.0.0.9", "10.0.0.10", "fd00::2"],
            "{text}"
        );
        assert!(text.contains("the main port does not answer"), "{text}");
    }
}
