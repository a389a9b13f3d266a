//! `--watch INTERVAL`: probe again and again, print what changes.
//!
//! Standard output carries the changes (port state, verdict, addresses, discovery): on a terminal
//! (or with `--format human`) one readable line each, a target's first round as its verdict;
//! elsewhere (or with `--ndjson`) one NDJSON line per event and a heartbeat line per interval.
//! With `--output FILE` the current state of every target is
//! also written there after each heartbeat, in `--format` (prometheus for the node exporter's
//! textfile collector, or json), replaced atomically. Named targets each have their own probe
//! loop, so a slow or unreachable target never delays the others; a watched scan scans once per
//! interval and follows the hosts it has reported. Memory is bounded by what is followed.
//! Ctrl-C and SIGTERM stop it after a last snapshot and heartbeat; the exit code is then 0, the
//! normal end of a service. A reader that goes away ends a watch that keeps no state file, with
//! an error (exit 2), so that a supervisor (`Restart=on-failure`) starts it again; with a state
//! file the watch goes on writing it.

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::time::{Instant, SystemTime};

use futures::future::join_all;
use tokio::sync::mpsc;

use crate::config::{Output as Format, ProbeConfig, Reporting, ScanConfig, WatchLines};
use crate::error::{AppError, ConfigError, OutputError};
use crate::exit_code::ExitCode;
use crate::output::{self, Output};
use crate::report::prometheus::{self, LastSuccess};
use crate::report::{self, columns, RunInfo};
use msvsmon_probe_core::{
    diagnose, probe_every, shutdown_signal, Diagnosis, Heartbeat, HostObservation, Status, Triage,
    WatchState,
};

use super::{block_on, run_info};

/// What a watch remembers and writes, whatever it watches.
struct Watch<'a> {
    reporting: &'a Reporting,
    lines: Output,
    /// Readable lines (and the width they wrap to), or NDJSON.
    human: Option<Option<usize>>,
    state: WatchState,
    last_success: LastSuccess,
    events: u64,
}

impl<'a> Watch<'a> {
    fn new(reporting: &'a Reporting) -> Self {
        let terminal = std::io::stdout().is_terminal();
        let human = match reporting.watch_lines {
            Some(WatchLines::Human) => true,
            Some(WatchLines::Ndjson) => false,
            None => terminal,
        };
        Watch {
            reporting,
            lines: if reporting.quiet {
                Output::null()
            } else {
                Output::stdout()
            },
            human: human.then(columns::stdout_width),
            state: WatchState::new(),
            last_success: LastSuccess::new(),
            events: 0,
        }
    }

    /// Takes a new observation of a target: its changes become event lines.
    fn observe(
        &mut self,
        obs: &HostObservation,
        d: &Diagnosis,
        at: SystemTime,
    ) -> Result<(), OutputError> {
        if d.verdict.status == Status::Reachable {
            self.last_success.insert(obs.target.input.clone(), unix(at));
        }
        for e in self.state.update(obs, d, at) {
            self.events += 1;
            match self.human {
                Some(width) => self.lines.write(|w| report::changes::write(w, &e, width))?,
                None => self
                    .lines
                    .json_line(&report::events::line(&e, self.reporting.vantage.as_str()))?,
            }
        }
        Ok(())
    }

    /// The state file first (a heartbeat line promises it is up to date), then the heartbeat.
    fn beat(
        &mut self,
        hosts: &[(HostObservation, Diagnosis)],
        run: &RunInfo,
        targets: usize,
        round: u64,
        interval: std::time::Duration,
    ) -> Result<(), OutputError> {
        self.snapshot(hosts, run)?;
        if self.human.is_some() {
            // People get a line when something changes, not one per interval.
            return Ok(());
        }
        let hb = Heartbeat::new(
            &self.state,
            targets,
            round,
            interval,
            self.events,
            SystemTime::now(),
        );
        self.lines.json_line(&report::events::heartbeat(
            &hb,
            self.reporting.vantage.as_str(),
        ))
    }

    /// Nobody reads standard output and there is no state file to keep: nothing to serve, and
    /// the end of the service is an error.
    fn check_served(&self) -> Result<(), OutputError> {
        if self.lines.is_closed() && self.reporting.file.is_none() {
            Err(OutputError::ReaderGone)
        } else {
            Ok(())
        }
    }

    /// Writes the state file (`--output`), atomically, in `--format`.
    fn snapshot(
        &self,
        hosts: &[(HostObservation, Diagnosis)],
        run: &RunInfo,
    ) -> Result<(), OutputError> {
        let Some(path) = &self.reporting.file else {
            return Ok(());
        };
        let content = match self.reporting.format {
            Format::Prometheus => prometheus::render(
                hosts,
                SystemTime::now(),
                &self.last_success,
                run.vantage.as_str(),
            )
            .into_bytes(),
            Format::Json => {
                let code =
                    ExitCode::for_targets(hosts.iter().map(|(o, _)| o), self.reporting.audit);
                let doc = report::json::document(run, hosts, None, code.code());
                let mut v = serde_json::to_vec_pretty(&doc).expect("serialisable");
                v.push(b'\n');
                v
            }
            Format::Human | Format::Ndjson => {
                let mut v = Vec::new();
                let _ = report::human::write(&mut v, run, hosts);
                v
            }
        };
        output::write_atomically(path, &content)
    }
}

fn unix(t: SystemTime) -> f64 {
    t.duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// `--watch` of named targets.
pub fn targets(config: ProbeConfig) -> Result<ExitCode, AppError> {
    let interval = config.watch.expect("watch mode");
    block_on(async {
        let probe = config.host_probe();
        let (tx, mut rx) = mpsc::channel::<(HostObservation, SystemTime)>(64);
        let loops = join_all(
            config
                .targets
                .iter()
                .map(|t| probe_every(&probe, t, interval, &tx)),
        );
        tokio::pin!(loops);
        let stop = shutdown_signal();
        tokio::pin!(stop);

        let started_at = SystemTime::now();
        let start = Instant::now();
        let mut watch = Watch::new(&config.reporting);
        let mut latest: Vec<Option<(HostObservation, Diagnosis)>> =
            vec![None; config.targets.len()];
        let mut beats = 0u64;
        let mut heartbeat = tokio::time::interval(interval);
        heartbeat.tick().await; // the first tick is immediate; the first beat comes one interval in

        let mut stopping = false;
        while !stopping {
            tokio::select! {
                _ = &mut loops => break,
                _ = &mut stop => stopping = true,
                msg = rx.recv() => {
                    let Some((obs, at)) = msg else { break };
                    let d = diagnose(&obs);
                    watch.observe(&obs, &d, at)?;
                    if let Some(i) = config.targets.iter().position(|t| t.input == obs.target.input) {
                        latest[i] = Some((obs, d));
                    }
                    watch.check_served()?;
                    continue;
                }
                _ = heartbeat.tick() => {}
            }
            let hosts: Vec<(HostObservation, Diagnosis)> =
                latest.iter().flatten().cloned().collect();
            beats += 1;
            let run = run_info(&config, started_at, start);
            watch.beat(&hosts, &run, config.targets.len(), beats, interval)?;
            watch.check_served()?;
        }
        // The probes in flight are abandoned; what was observed is in the last snapshot.
        Ok(ExitCode::Found)
    })?
}

/// `--watch` over a scan: a full scan per round (at most one round per interval). Hosts join the
/// watch the first time they are reported (an open port, or a debugger port filtered or
/// rejected on a live host) and are then followed every round, so a debugger that appears or
/// goes away is an event; hosts that never had anything to report hold no memory.
pub fn sweep(config: ScanConfig) -> Result<ExitCode, AppError> {
    block_on(sweep_rounds(config))?
}

async fn sweep_rounds(config: ScanConfig) -> Result<ExitCode, AppError> {
    let interval = config.watch.expect("watch mode");
    let stop = shutdown_signal();
    tokio::pin!(stop);
    let started_at = SystemTime::now();
    let start = Instant::now();
    let mut watch = Watch::new(&config.reporting);
    // The latest observation of every followed host: a host whose debugger went away stays in
    // the state file (with target_reachable 0) instead of silently vanishing from it.
    let mut followed: BTreeMap<String, (HostObservation, Diagnosis)> = BTreeMap::new();
    let mut round = 0u64;
    loop {
        round += 1;
        let round_start = tokio::time::Instant::now();
        let plan = tokio::select! {
            plan = config.sweep.prepare() => plan?,
            _ = &mut stop => return Ok(ExitCode::Found),
        };
        let mut run = config
            .scan(&plan)
            .map_err(|e| AppError::Config(ConfigError::Scan(e)))?
            .start();
        let mut triage = Triage::new(&plan, false);
        let mut stopping = false;
        loop {
            tokio::select! {
                _ = &mut stop, if !stopping => {
                    stopping = true;
                    run.cancel();
                }
                batch = run.next() => {
                    let Some(batch) = batch else { break };
                    let at = SystemTime::now();
                    for host in batch {
                        // A round cut short by the stop hands on half-decided hosts: those are
                        // not changes of the hosts, only of how far the round got.
                        if host.is_partial() {
                            continue;
                        }
                        let known = |key: &str| watch.state.knows(key);
                        let Some(obs) = triage.take(host, Some(&known)) else { continue };
                        let d = diagnose(&obs);
                        watch.observe(&obs, &d, at)?;
                        watch.check_served()?;
                        followed.insert(obs.target.input.clone(), (obs, d));
                    }
                }
            }
        }
        let outcome = run.finish().await;
        let run = RunInfo {
            started_at,
            elapsed: start.elapsed(),
            settings: config.settings,
            greeting_wait: config.greeting_wait,
            discovery: config.discovery,
            vantage: config.reporting.vantage.clone(),
        };
        // A cut-short round still writes what it saw, then the last heartbeat.
        let hosts: Vec<(HostObservation, Diagnosis)> = followed.values().cloned().collect();
        let scanned = usize::try_from(outcome.hosts_done).unwrap_or(usize::MAX);
        watch.beat(&hosts, &run, scanned, round, interval)?;
        watch.check_served()?;
        if stopping || !outcome.completed {
            return Ok(ExitCode::Found);
        }
        tokio::select! {
            _ = &mut stop => return Ok(ExitCode::Found),
            _ = tokio::time::sleep_until(round_start + interval) => {}
        }
    }
}
