//! Scan output: a line per debugger host for people, NDJSON host objects and a summary object
//! for machines, or one JSON document. Host objects are the same as a `--json` target object.

use std::io::{self, Write};
use std::time::{Duration, SystemTime};

use anstyle::{AnsiColor, Style};
use serde::Serialize;

use super::json::{self, TargetJson, Tool, SCHEMA_VERSION};
use crate::vantage::Vantage;
use msvsmon_probe_core::{
    Diagnosis, EngineSettings, HostObservation, ResolveError, ScanOutcome, Tally,
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

/// What a person sees of a debugger host, from a probe or from a host line read back (`merge`).
#[derive(Debug, Clone, PartialEq)]
pub struct HostRow {
    pub address: String,
    /// The name it was scanned as, when not the address.
    pub name: Option<String>,
    /// Debugger ports that answered, with their labels.
    pub open: Vec<(u16, String)>,
    /// Where to attach; `None` when only a WoW64 port answers.
    pub attach: Option<String>,
}

impl HostRow {
    pub fn observed(obs: &HostObservation, d: &Diagnosis) -> HostRow {
        let address = obs.target.host.to_string();
        HostRow {
            name: (obs.target.input != address).then(|| obs.target.input.clone()),
            address,
            open: obs
                .addresses
                .iter()
                .flat_map(|a| a.debugger_ports())
                .map(|p| (p.planned.port.0, p.planned.label()))
                .collect(),
            attach: d.verdict.endpoints.first().map(|e| e.attach_as.clone()),
        }
    }
}

/// The line a person sees for a debugger host, as soon as it is found.
pub fn write_host_human(w: &mut dyn Write, obs: &HostObservation, d: &Diagnosis) -> io::Result<()> {
    write_row(w, &HostRow::observed(obs, d))
}

/// One host's line. Names and labels may come from a file (`merge`): sanitised.
pub fn write_row(w: &mut dyn Write, row: &HostRow) -> io::Result<()> {
    let green = Style::new().fg_color(Some(AnsiColor::Green.into())).bold();
    let clean = crate::sanitize::field;
    let open: Vec<String> = row
        .open
        .iter()
        .map(|(port, label)| format!("{port} ({})", clean(label)))
        .collect();
    let name = row
        .name
        .as_ref()
        .map(|n| format!(" [{}]", clean(n)))
        .unwrap_or_default();
    let attach = row
        .attach
        .as_ref()
        .map(|a| format!("  → attach {}", clean(a)))
        .unwrap_or_else(|| "  → WoW64 port only; the main port does not answer".into());
    writeln!(
        w,
        "{green}{:<15}{green:#}{name}  {}{attach}",
        clean(&row.address),
        open.join(", ")
    )
}

/// The closing lines for people.
pub fn write_summary_human(w: &mut dyn Write, run: &ScanFacts) -> io::Result<()> {
    let t = &run.tally;
    let dim = Style::new().dimmed();
    writeln!(w)?;
    if run.interrupted {
        let pct = if run.outcome.hosts_total > 0 {
            t.hosts as f64 * 100.0 / run.outcome.hosts_total as f64
        } else {
            0.0
        };
        writeln!(
            w,
            "Interrupted after {} of {} hosts ({pct:.1}%).",
            t.hosts, run.outcome.hosts_total
        )?;
    }
    writeln!(
        w,
        "{} debugger host(s) among {} hosts scanned ({} answered) in {:.1} s, {} probes ({:.0}/s).",
        t.debugger_hosts,
        t.hosts,
        t.hosts_up,
        run.elapsed.as_secs_f64(),
        run.outcome.probes_sent,
        run.outcome.probes_sent as f64 / run.elapsed.as_secs_f64().max(1e-9)
    )?;
    let undecided = if t.ports.undecided > 0 {
        format!(", {} not decided (interrupted)", t.ports.undecided)
    } else {
        String::new()
    };
    writeln!(
        w,
        "{dim}Ports: {} open, {} closed, {} filtered, {} rejected, {} without a host, {} not probed (local errors){undecided}.{dim:#}",
        t.ports.open,
        t.ports.closed,
        t.ports.filtered,
        t.ports.rejected,
        t.ports.no_host,
        t.ports.local_error
    )?;
    for u in &run.unresolved {
        writeln!(
            w,
            "Not scanned: '{}' did not resolve ({}).",
            crate::sanitize::field(&u.name),
            crate::sanitize::field(&u.error)
        )?;
    }
    if run.excluded > 0 {
        writeln!(w, "{dim}{} address(es) excluded.{dim:#}", run.excluded)?;
    }
    Ok(())
}
