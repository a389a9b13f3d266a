//! `--watch INTERVAL`: probe the named targets again and again, print what changes.
//!
//! Standard output carries one NDJSON line per event (port state, verdict, addresses, discovery)
//! and a heartbeat line per interval. With `--output FILE` the current state of every target is
//! also written there after each heartbeat, in `--format` (prometheus for the node exporter's
//! textfile collector, or json), replaced atomically. Each target has its own probe loop, so a
//! slow or unreachable target never delays the others; memory is bounded by the targets' ports.
//! Ctrl-C and SIGTERM stop it after a last snapshot and heartbeat; the exit code is then 0, the
//! normal end of a service.

use std::collections::BTreeMap;
use std::io::{self, Write};
use std::time::{Instant, SystemTime};

use futures::future::join_all;
use tokio::sync::mpsc;

use std::sync::Arc;

use tokio::sync::watch;

use crate::config::{Output, ProbeConfig, Reporting, ScanConfig};
use crate::exit_code::ExitCode;
use crate::output;
use crate::report;
use crate::report::prometheus::{self, LastSuccess};
use crate::report::RunInfo;
use msvsmon_probe_core::diagnose::{diagnose, Diagnosis, Status};
use msvsmon_probe_core::observation::HostObservation;
use msvsmon_probe_core::platform;
use msvsmon_probe_core::probe::tcp::TcpConnector;
use msvsmon_probe_core::scan::{self, ScanStats};
use msvsmon_probe_core::sweep;
use msvsmon_probe_core::watch::{probe_every, Heartbeat, WatchState};

use super::{runtime, AppError};

pub fn run(config: ProbeConfig) -> Result<ExitCode, AppError> {
    let interval = config.watch.expect("watch mode");
    let r = &config.reporting;
    check_output(r)?;
    runtime()?.block_on(async {
        let connector = TcpConnector {
            greeting_wait: config.greeting_wait,
        };
        let (tx, mut rx) = mpsc::channel::<(HostObservation, SystemTime)>(64);
        let loops = join_all(config.targets.iter().map(|t| {
            probe_every(
                t,
                &config.selection,
                &config.resolver,
                &connector,
                &config.engine,
                config.discovery.as_ref(),
                interval,
                &tx,
            )
        }));
        tokio::pin!(loops);
        let stop = platform::shutdown_signal();
        tokio::pin!(stop);

        let started_at = SystemTime::now();
        let start = Instant::now();
        let mut state = WatchState::new();
        let mut latest: Vec<Option<(HostObservation, Diagnosis)>> =
            vec![None; config.targets.len()];
        let mut last_success = LastSuccess::new();
        let mut events = 0u64;
        let mut beats = 0u64;
        let mut heartbeat = tokio::time::interval(interval);
        heartbeat.tick().await; // the first tick is immediate; the first beat comes one interval in

        let mut lines = Lines::new(r.quiet);

        let mut stopping = false;
        while !stopping {
            tokio::select! {
                _ = &mut loops => break,
                _ = &mut stop => stopping = true,
                msg = rx.recv() => {
                    let Some((obs, at)) = msg else { break };
                    let d = diagnose(&obs);
                    let target = obs.target.input.clone();
                    if d.verdict.status == Status::Reachable {
                        last_success.insert(target.clone(), unix(at));
                    }
                    for e in state.update(&obs, &d, at) {
                        events += 1;
                        lines.emit(&report::events::line(&e));
                    }
                    if let Some(i) = config.targets.iter().position(|t| t.input == target) {
                        latest[i] = Some((obs, d));
                    }
                    if lines.reader_gone() && r.file.is_none() {
                        break; // nobody is listening and there is no state file to keep
                    }
                    continue;
                }
                _ = heartbeat.tick() => {}
            }
            // The state file first: a heartbeat line promises the file is up to date.
            let hosts: Vec<(HostObservation, Diagnosis)> =
                latest.iter().flatten().cloned().collect();
            let run = super::probe::run_info(&config, started_at, start);
            snapshot(r, &hosts, &last_success, &run)?;
            beats += 1;
            let hb = Heartbeat::new(
                &state,
                config.targets.len(),
                beats,
                interval,
                events,
                SystemTime::now(),
            );
            lines.emit(&hb);
            if lines.reader_gone() && r.file.is_none() {
                break;
            }
        }
        // The probes in flight are abandoned; what was observed is in the last snapshot.
        Ok(ExitCode::Found)
    })
}

fn unix(t: SystemTime) -> f64 {
    t.duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// Writes the state file (`--output`), atomically, in `--format`.
fn snapshot(
    reporting: &Reporting,
    hosts: &[(HostObservation, Diagnosis)],
    last_success: &LastSuccess,
    run: &RunInfo,
) -> Result<(), AppError> {
    let Some(path) = &reporting.file else {
        return Ok(());
    };
    let content = match reporting.format {
        Output::Prometheus => {
            prometheus::render(hosts, SystemTime::now(), last_success).into_bytes()
        }
        Output::Json => {
            let code = super::probe::exit_code(hosts, reporting.audit);
            let doc = report::json::document(run, hosts, None, code.code());
            let mut v = serde_json::to_vec_pretty(&doc).expect("serialisable");
            v.push(b'\n');
            v
        }
        Output::Human | Output::Ndjson => {
            let mut v = Vec::new();
            let _ = report::human::write(&mut v, run, hosts);
            v
        }
    };
    output::write_atomically(path, &content).map_err(|e| {
        AppError::Output(format!(
            "cannot write the state file {}: {e}",
            path.display()
        ))
    })
}

/// Standard output of a watch: one JSON line at a time, until the reader goes away.
struct Lines {
    open: bool,
    gone: bool,
}

impl Lines {
    fn new(quiet: bool) -> Self {
        Lines {
            open: !quiet,
            gone: false,
        }
    }

    /// Whether standard output was closed by its reader (not merely silenced by `--quiet`).
    fn reader_gone(&self) -> bool {
        self.gone
    }

    fn emit(&mut self, line: &dyn erased_line::Line) {
        if !self.open {
            return;
        }
        let mut out = io::stdout().lock();
        if line.write(&mut out).and_then(|()| out.flush()).is_err() {
            // The reader went away: keep watching for the state file, stop printing.
            self.open = false;
            self.gone = true;
        }
    }
}

fn check_output(r: &Reporting) -> Result<(), AppError> {
    if r.file.is_none() && r.quiet {
        return Err(AppError::Usage(
            "--watch with --quiet reports nothing and never ends: add --output FILE for a state file, or drop --quiet".into(),
        ));
    }
    if r.file.is_none() && r.format != Output::Human {
        return Err(AppError::Usage(
            "with --watch, standard output carries the events; --format (or --json) applies to the state file: add --output FILE".into(),
        ));
    }
    Ok(())
}

/// `--watch` over a scan: a full scan per round (at most one round per interval). Hosts join the
/// watch the first time they are reported (an open port, or a debugger port filtered or
/// rejected on a live host) and are then followed every round, so a debugger that appears or
/// goes away is an event; hosts that never had anything to report hold no memory.
pub async fn scan_rounds(config: ScanConfig) -> Result<ExitCode, AppError> {
    let interval = config.watch.expect("watch mode");
    check_output(&config.reporting)?;
    let mut lines = Lines::new(config.reporting.quiet);
    let stop = platform::shutdown_signal();
    tokio::pin!(stop);
    let started_at = SystemTime::now();
    let start = Instant::now();
    let mut state = WatchState::new();
    // The latest observation of every followed host: a host whose debugger went away stays in
    // the state file (with target_reachable 0) instead of silently vanishing from it.
    let mut followed: BTreeMap<String, (HostObservation, Diagnosis)> = BTreeMap::new();
    let mut last_success = LastSuccess::new();
    let mut events = 0u64;
    let mut round = 0u64;
    loop {
        round += 1;
        let round_start = tokio::time::Instant::now();
        let plan = sweep::prepare(&config.sweep)
            .await
            .map_err(|e| AppError::Usage(e.to_string()))?;
        let stats = Arc::new(ScanStats::default());
        let (tx, mut rx) = mpsc::channel(4096);
        let (cancel_tx, cancel_rx) = watch::channel(false);
        let ports = plan.ports.iter().map(|p| p.port).collect();
        let engine = tokio::spawn(scan::run_tcp(
            config.greeting_wait,
            plan.targets.clone(),
            ports,
            config.settings,
            stats,
            tx,
            cancel_rx,
        ));
        let mut stopping = false;
        loop {
            tokio::select! {
                _ = &mut stop, if !stopping => {
                    stopping = true;
                    let _ = cancel_tx.send(true);
                }
                batch = rx.recv() => {
                    let Some(batch) = batch else { break };
                    let at = SystemTime::now();
                    for host in batch {
                        let flags = sweep::flags(host.address.ip, &plan.ports, &host.ports);
                        let key = plan.observe_key(&host);
                        if !(flags.interesting || state.knows(&key)) {
                            continue;
                        }
                        let obs = plan.observe(host);
                        let d = diagnose(&obs);
                        if d.verdict.status == Status::Reachable {
                            last_success.insert(obs.target.input.clone(), unix(at));
                        }
                        for e in state.update(&obs, &d, at) {
                            events += 1;
                            lines.emit(&report::events::line(&e));
                        }
                        followed.insert(key, (obs, d));
                    }
                }
            }
        }
        let outcome = engine.await.expect("the scan engine does not panic");
        let run = RunInfo {
            started_at,
            elapsed: start.elapsed(),
            settings: msvsmon_probe_core::engine::Settings {
                timeout: config.settings.max_timeout,
                retries: config.settings.retries,
                concurrency: config.settings.concurrency,
            },
            greeting_wait: config.greeting_wait,
            discovery: config.discovery,
        };
        // A cut-short round still writes what it saw, then the last heartbeat.
        let hosts: Vec<(HostObservation, Diagnosis)> = followed.values().cloned().collect();
        snapshot(&config.reporting, &hosts, &last_success, &run)?;
        let hosts = usize::try_from(outcome.hosts_done).unwrap_or(usize::MAX);
        lines.emit(&Heartbeat::new(
            &state,
            hosts,
            round,
            interval,
            events,
            SystemTime::now(),
        ));
        if stopping || !outcome.completed {
            return Ok(ExitCode::Found);
        }
        if lines.reader_gone() && config.reporting.file.is_none() {
            return Ok(ExitCode::Found); // nobody is listening and there is no state file
        }
        tokio::select! {
            _ = &mut stop => return Ok(ExitCode::Found),
            _ = tokio::time::sleep_until(round_start + interval) => {}
        }
    }
}

/// Events and heartbeats are both one JSON line.
mod erased_line {
    use std::io::{self, Write};

    pub trait Line {
        fn write(&self, w: &mut dyn Write) -> io::Result<()>;
    }

    impl<T: serde::Serialize> Line for T {
        fn write(&self, w: &mut dyn Write) -> io::Result<()> {
            serde_json::to_writer(&mut *w, self)?;
            writeln!(w)
        }
    }
}
