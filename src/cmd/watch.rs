//! `--watch INTERVAL`: probe the named targets again and again, print what changes.
//!
//! Standard output carries one NDJSON line per event (port state, verdict, addresses, discovery)
//! and a heartbeat line per interval. With `--output FILE` the current state of every target is
//! also written there after each heartbeat, in `--format` (prometheus for the node exporter's
//! textfile collector, or json), replaced atomically. Each target has its own probe loop, so a
//! slow or unreachable target never delays the others; memory is bounded by the targets' ports.
//! Ctrl-C and SIGTERM stop it after a last snapshot and heartbeat; the exit code is then 0, the
//! normal end of a service.

use std::io::{self, Write};
use std::time::{Instant, SystemTime};

use futures::future::join_all;
use tokio::sync::mpsc;

use msvsmon_probe::config::{Output, ProbeConfig};
use msvsmon_probe::diagnose::{diagnose, Diagnosis, Status};
use msvsmon_probe::exit_code::ExitCode;
use msvsmon_probe::observation::HostObservation;
use msvsmon_probe::probe::tcp::TcpConnector;
use msvsmon_probe::report;
use msvsmon_probe::report::prometheus::{self, LastSuccess};
use msvsmon_probe::watch::{probe_every, Heartbeat, WatchState};
use msvsmon_probe::{output, platform};

use super::{runtime, AppError};

pub fn run(config: ProbeConfig) -> Result<ExitCode, AppError> {
    let interval = config.watch.expect("watch mode");
    let r = &config.reporting;
    if r.file.is_none() && r.format != Output::Human {
        return Err(AppError::Usage(
            "with --watch, standard output carries the events; --format (or --json) applies to the state file: add --output FILE".into(),
        ));
    }
    runtime().block_on(async {
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
        let mut stdout_open = !r.quiet;
        let mut heartbeat = tokio::time::interval(interval);
        heartbeat.tick().await; // the first tick is immediate; the first beat comes one interval in

        let emit = |line: &dyn erased_line::Line, stdout_open: &mut bool| {
            if !*stdout_open {
                return;
            }
            let mut out = io::stdout().lock();
            let ok = line.write(&mut out).and_then(|()| out.flush());
            if ok.is_err() {
                // The reader went away: keep watching for the state file, stop printing.
                *stdout_open = false;
            }
        };

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
                        emit(&e, &mut stdout_open);
                    }
                    if let Some(i) = config.targets.iter().position(|t| t.input == target) {
                        latest[i] = Some((obs, d));
                    }
                    continue;
                }
                _ = heartbeat.tick() => {}
            }
            // The state file first: a heartbeat line promises the file is up to date.
            snapshot(&config, &latest, &last_success, started_at, start)?;
            beats += 1;
            let hb = Heartbeat::new(
                &state,
                config.targets.len(),
                beats,
                interval,
                events,
                SystemTime::now(),
            );
            emit(&hb, &mut stdout_open);
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
    config: &ProbeConfig,
    latest: &[Option<(HostObservation, Diagnosis)>],
    last_success: &LastSuccess,
    started_at: SystemTime,
    start: Instant,
) -> Result<(), AppError> {
    let Some(path) = &config.reporting.file else {
        return Ok(());
    };
    let hosts: Vec<(HostObservation, Diagnosis)> = latest.iter().flatten().cloned().collect();
    let content = match config.reporting.format {
        Output::Prometheus => {
            prometheus::render(&hosts, SystemTime::now(), last_success).into_bytes()
        }
        Output::Json => {
            let run = super::probe::run_info(config, started_at, start);
            let code = super::probe::exit_code(&hosts, false).audited(config.reporting.audit);
            let doc = report::json::document(&run, &hosts, None, code.code());
            let mut v = serde_json::to_vec_pretty(&doc).expect("serialisable");
            v.push(b'\n');
            v
        }
        Output::Human | Output::Ndjson => {
            let run = super::probe::run_info(config, started_at, start);
            let mut v = Vec::new();
            let _ = report::human::write(&mut v, &run, &hosts);
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
