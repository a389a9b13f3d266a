//! Subnet scans: configuration → the scan plan and the engine's run → each decided host
//! triaged, diagnosed when reported → the report: machine formats written as hosts come, the
//! human table (sorted by address) when the scan ends.

use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Instant, SystemTime};

use futures::stream::{FuturesUnordered, StreamExt};

use crate::checkpoint::{self, Checkpoint, ResumeError, Resumed};
use crate::config::{Output as Format, ScanConfig};
use crate::error::{AppError, ConfigError};
use crate::exit_code::ExitCode;
use crate::output::Output;
use crate::report::progress::Progress;
use crate::report::sweep::{self as out, ScanFacts};
use crate::report::{columns, json, prometheus};
use crate::vantage::Vantage;
use msvsmon_probe_core::{
    diagnose, probe_host, shutdown_signal, Diagnosis, DoneSet, HostObservation, ScanOutcome, Triage,
};

use super::{block_on, report_output};

pub fn run(config: ScanConfig) -> Result<ExitCode, AppError> {
    block_on(scan(config))?
}

/// The hosts of formats written at the end: JSON targets, or (host, diagnosis) for Prometheus.
#[derive(Default)]
struct Kept {
    json: Vec<json::TargetJson>,
    metrics: Vec<(HostObservation, Diagnosis)>,
    /// Debugger hosts for people: written sorted when the scan ends.
    table: out::HostTable,
}

async fn scan(config: ScanConfig) -> Result<ExitCode, AppError> {
    let started_at = SystemTime::now();
    let start = Instant::now();
    // Names are resolved first; an interrupt then ends the run at once (nothing was probed).
    let stop = shutdown_signal();
    let plan = tokio::select! {
        plan = config.sweep.prepare() => plan?,
        _ = stop => {
            let _ = writeln!(std::io::stderr(), "interrupted");
            return Ok(ExitCode::Interrupted);
        }
    };
    let format = config.reporting.format;
    let vantage = &config.reporting.vantage;
    // `--resume`: the checkpoint of this scan, and where an earlier run of it stopped.
    let (checkpoint, resumed) = match &config.resume {
        Some(path) => {
            let (c, r) = Checkpoint::open(path, &plan, config.settings.seed, config.settings.shard)
                .map_err(AppError::Resume)?;
            (Some(c), r)
        }
        None => (None, Resumed::default()),
    };
    let mut output = match (&checkpoint, &config.reporting.file) {
        (Some(_), Some(path)) => {
            Output::resumed_file(path, resumed.output_bytes).map_err(|e| match e {
                Ok(found) => AppError::Resume(ResumeError::OutputShorter {
                    path: path.clone(),
                    expected: resumed.output_bytes.unwrap_or(0),
                    found,
                }),
                Err(e) => AppError::Output(e),
            })?
        }
        _ => report_output(&config.reporting)?,
    };
    let earlier = resumed.counts;
    let mut done = resumed.done;

    // Listening before the first probe goes out: an interrupt from then on flushes.
    let stop = shutdown_signal();
    let mut builder = config.builder(&plan);
    if checkpoint.is_some() {
        builder = builder.skip(Arc::new(done.clone()));
    }
    let mut run = builder
        .build()
        .map_err(|e| AppError::Config(ConfigError::Scan(e)))?
        .start();
    let signalled = Arc::new(AtomicBool::new(false));
    {
        let cancel = run.canceller();
        let signalled = signalled.clone();
        tokio::spawn(async move {
            stop.await;
            signalled.store(true, Ordering::SeqCst);
            cancel.cancel();
        });
    }

    let total = u64::try_from(plan.targets.len()).unwrap_or(u64::MAX);
    let mut progress = Progress::new(total, format == Format::Human && !config.reporting.quiet);
    // Standard output on a terminal (or COLUMNS) sets the width; a file or a pipe is not wrapped.
    let width = match &config.reporting.file {
        None => columns::stdout_width(),
        Some(_) => None,
    };
    let mut ticker = tokio::time::interval(Progress::TICK);
    let mut triage = Triage::new(&plan, config.all);
    triage.tally = earlier.tally();
    let mut saver = tokio::time::interval(checkpoint::INTERVAL);
    saver.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // Hosts decided since the checkpoint was last written.
    let mut unsaved = false;
    let mut kept = Kept::default();
    let mut failure = None;
    // Reported hosts whose WS-Discovery is being probed (`--discovery`): written when it ends.
    let mut pending = FuturesUnordered::new();

    loop {
        tokio::select! {
            Some((obs, d)) = pending.next(), if !pending.is_empty() => {
                if let Err(e) = report_host(format, &mut output, &obs, &d, &mut kept, vantage) {
                    failure = Some(e);
                    run.cancel();
                }
            }
            batch = run.next() => {
                let Some(batch) = batch else { break };
                for host in batch {
                    let resumable = checkpoint.is_some();
                    // A resumable run decides a host cut short again next time: it is not
                    // reported or counted now.
                    // Nor, once nothing more can be written, any host: it is not in the
                    // checkpoint, so the next run scans and counts it.
                    if resumable
                        && (host.is_partial() || output.is_closed() || failure.is_some())
                    {
                        continue;
                    }
                    let position = host.position;
                    let counted = resumable.then(|| triage.tally.clone());
                    let Some(obs) = triage.take(host, None) else {
                        if resumable {
                            done.insert(position);
                            unsaved = true;
                        }
                        continue;
                    };
                    if output.is_closed() || failure.is_some() {
                        continue;
                    }
                    if let Some(settings) = config.discovery {
                        pending.push(async move {
                            let mut obs = obs;
                            let addrs: Vec<_> = obs.addresses.iter().map(|a| a.address).collect();
                            obs.discovery = Some(probe_host(&addrs, &settings).await);
                            let d = diagnose(&obs);
                            (obs, d)
                        });
                        continue;
                    }
                    let d = diagnose(&obs);
                    match report_host(format, &mut output, &obs, &d, &mut kept, vantage) {
                        Ok(()) if resumable && output.is_closed() => {
                            // Not written after all (the reader went away): the next run's.
                            if let Some(t) = counted {
                                triage.tally = t;
                            }
                        }
                        Ok(()) if resumable => {
                            done.insert(position);
                            unsaved = true;
                        }
                        Ok(()) => {}
                        Err(e) => failure = Some(e),
                    }
                    if output.is_closed() || failure.is_some() {
                        // The reader went away or the file cannot be written: stop scanning.
                        run.cancel();
                    }
                }
            }
            _ = ticker.tick() => progress.update(&run.progress(), triage.tally.debugger_hosts),
            _ = saver.tick(), if checkpoint.is_some() && unsaved && failure.is_none() => {
                let p = run.progress();
                let so_far = ScanOutcome {
                    completed: false,
                    hosts_total: 0,
                    hosts_done: 0,
                    probes_sent: p.probes_sent,
                    retries_sent: p.retries_sent,
                    local_backoffs: p.local_backoffs,
                };
                let counts = earlier.add(&triage.tally, &so_far, start.elapsed());
                if let Some(c) = &checkpoint {
                    if let Err(e) = save(c, &mut output, &done, counts) {
                        failure = Some(e);
                        run.cancel();
                    }
                }
                unsaved = false;
            }
        }
    }
    // The engine is done; finish the discovery probes still running.
    while let Some((obs, d)) = pending.next().await {
        if failure.is_none() {
            if let Err(e) = report_host(format, &mut output, &obs, &d, &mut kept, vantage) {
                failure = Some(e);
            }
        }
    }
    let mut outcome = run.finish().await;
    progress.finish();
    if let Some(e) = failure {
        return Err(e.into());
    }
    if let Some(c) = &checkpoint {
        // Before the summary line: a resumed run cuts the output back to here and appends.
        let counts = earlier.add(&triage.tally, &outcome, start.elapsed());
        save(c, &mut output, &done, counts.clone())?;
        // The summary counts the whole scan, every run of it.
        outcome.hosts_done = done.len();
        outcome.probes_sent = counts.probes_sent;
        outcome.retries_sent = counts.retries_sent;
        outcome.local_backoffs = counts.local_backoffs;
    }

    let interrupted = signalled.load(Ordering::SeqCst);
    let mut tally = triage.tally;
    tally.unresolved = plan.unresolved.len() as u128;
    // A scan that did not decide every host it set out to (a lane that could not start, the
    // output that went away) has established nothing about the rest: never "not found".
    let unfinished = !outcome.completed || tally.hosts < outcome.hosts_total;
    let code = ExitCode::for_tally(&tally, unfinished, interrupted, config.reporting.audit);
    let facts = ScanFacts {
        started_at,
        // Every run of a resumed scan, as its counts.
        elapsed: earlier.elapsed(start.elapsed()),
        settings: config.settings,
        outcome,
        tally,
        excluded: plan.excluded,
        unresolved: plan
            .unresolved
            .iter()
            .map(|(n, e)| out::unresolved(n, e))
            .collect(),
        interrupted,
        exit_code: code.code(),
        vantage: config.reporting.vantage.clone(),
        scan: plan.fingerprint(config.settings.seed, config.settings.shard.count),
        merged: None,
    };
    let rows = kept.table.len();
    output.write(|w| match format {
        Format::Ndjson => out::write_summary_line(w, &facts),
        Format::Json => out::write_document(w, &facts, std::mem::take(&mut kept.json)),
        Format::Human => std::mem::take(&mut kept.table).write(w, width),
        Format::Prometheus => w.write_all(
            prometheus::render(
                &kept.metrics,
                SystemTime::now(),
                &Default::default(),
                config.reporting.vantage.as_str(),
            )
            .as_bytes(),
        ),
    })?;
    // Even an interrupted scan's file is complete up to where it stopped: commit it.
    output.finish()?;
    if format == Format::Human && !config.reporting.quiet {
        // The summary goes to standard error: standard output is the hosts, one line each.
        let mut err = anstream::stderr();
        if rows > 0 && config.reporting.file.is_none() && std::io::stdout().is_terminal() {
            let _ = writeln!(err);
        }
        let _ = out::write_summary_human(&mut err, &facts, columns::stderr_width());
    }
    Ok(code)
}

/// Records where the scan got to, after the host lines it covers are on disk.
fn save(
    c: &Checkpoint,
    output: &mut Output,
    done: &DoneSet,
    counts: checkpoint::Counts,
) -> Result<(), crate::error::OutputError> {
    let len = output.synced_len()?;
    c.save(done, counts, len)
}

/// Writes (or keeps, for formats written at the end) one reported host.
fn report_host(
    format: Format,
    output: &mut Output,
    obs: &HostObservation,
    d: &Diagnosis,
    kept: &mut Kept,
    vantage: &Vantage,
) -> Result<(), crate::error::OutputError> {
    match format {
        Format::Ndjson => output.write(|w| out::write_host_line(w, obs, d, vantage)),
        Format::Json => {
            kept.json.push(json::target(obs, d));
            Ok(())
        }
        Format::Prometheus => {
            kept.metrics.push((obs.clone(), d.clone()));
            Ok(())
        }
        Format::Human => {
            kept.table.add(obs, d);
            Ok(())
        }
    }
}
