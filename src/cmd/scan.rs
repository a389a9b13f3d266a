//! Subnet scans: hosts stream through the engine; results are written as they come.

use std::io::{self, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Instant, SystemTime};

use futures::stream::{FuturesUnordered, StreamExt};

use crate::cli::ProbeArgs;
use crate::config::{Output, ScanConfig};
use crate::exit_code::{ExitCode, Outcome};
use crate::report::progress::Progress;
use crate::report::sweep::{self as out, ScanFacts};
use crate::report::{json, prometheus};
use msvsmon_probe_core::diagnose::{diagnose, Diagnosis};
use msvsmon_probe_core::discovery::client as discovery_client;
use msvsmon_probe_core::engine::Scan;
use msvsmon_probe_core::observation::HostObservation;
use msvsmon_probe_core::platform;
use msvsmon_probe_core::probe::greeting::ReadGreeting;
use msvsmon_probe_core::sweep::{self, Tally};

use super::{runtime, AppError, Sink};

pub fn run(args: &ProbeArgs) -> Result<ExitCode, AppError> {
    let fd_limit = platform::raise_fd_limit();
    let config = ScanConfig::from_args(args, fd_limit, &mut || {
        Box::new(io::BufReader::new(io::stdin()))
    })
    .map_err(|e| AppError::Usage(e.to_string()))?;
    runtime()?.block_on(scan(config))
}

async fn scan(config: ScanConfig) -> Result<ExitCode, AppError> {
    if config.watch.is_some() {
        return super::watch::scan_rounds(config).await;
    }
    let started_at = SystemTime::now();
    let start = Instant::now();
    let plan = sweep::prepare(&config.sweep)
        .await
        .map_err(|e| AppError::Usage(e.to_string()))?;
    let format = config.reporting.format;
    let mut sink = Sink::new(&config.reporting)?;

    let ports = plan.ports.iter().map(|p| p.port).collect();
    let mut run = Scan::builder(plan.targets.clone(), ports)
        .settings(config.settings)
        .after_connect(ReadGreeting {
            wait: config.greeting_wait,
        })
        .build()
        .map_err(|e| AppError::Usage(e.to_string()))?
        .start();
    let cancel = run.canceller();
    let signalled = Arc::new(AtomicBool::new(false));
    {
        let cancel = cancel.clone();
        let signalled = signalled.clone();
        tokio::spawn(async move {
            platform::shutdown_signal().await;
            signalled.store(true, Ordering::SeqCst);
            cancel.cancel();
        });
    }

    let total = u64::try_from(plan.targets.len()).unwrap_or(u64::MAX);
    let mut progress = Progress::new(total, format == Output::Human && !config.reporting.quiet);
    let mut ticker = tokio::time::interval(Progress::TICK);
    let mut tally = Tally::default();
    // Kept for formats written at the end: JSON targets, or (host, diagnosis) for Prometheus.
    let mut json_hosts = Vec::new();
    let mut metric_hosts = Vec::new();
    let mut failure = None;
    // Reported hosts whose WS-Discovery is being probed (`--discovery`): written when it ends.
    let mut pending = FuturesUnordered::new();

    loop {
        tokio::select! {
            Some((obs, d)) = pending.next(), if !pending.is_empty() => {
                if let Err(e) = report_host(format, &mut sink, &progress, &obs, &d, &mut json_hosts, &mut metric_hosts) {
                    failure = Some(e);
                    cancel.cancel();
                }
            }
            batch = run.next() => {
                let Some(batch) = batch else { break };
                for host in batch {
                    let flags = sweep::flags(host.address.ip, &plan.ports, &host.ports);
                    let report = config.all || flags.interesting;
                    tally.add(&host.ports, flags, report);
                    if !report || sink.closed || failure.is_some() {
                        continue;
                    }
                    let obs = plan.observe(host);
                    if let Some(settings) = config.discovery {
                        pending.push(async move {
                            let mut obs = obs;
                            let addrs: Vec<_> = obs.addresses.iter().map(|a| a.address).collect();
                            obs.discovery = Some(discovery_client::probe_host(&addrs, &settings).await);
                            let d = diagnose(&obs);
                            (obs, d)
                        });
                        continue;
                    }
                    let d = diagnose(&obs);
                    let written = report_host(format, &mut sink, &progress, &obs, &d, &mut json_hosts, &mut metric_hosts);
                    if let Err(e) = written {
                        failure = Some(e);
                    }
                    if sink.closed || failure.is_some() {
                        // The reader went away or the file cannot be written: stop scanning.
                        cancel.cancel();
                    }
                }
            }
            _ = ticker.tick() => progress.update(&run.progress(), tally.debugger_hosts),
        }
    }
    // The engine is done; finish the discovery probes still running.
    while let Some((obs, d)) = pending.next().await {
        if failure.is_none() {
            if let Err(e) = report_host(
                format,
                &mut sink,
                &progress,
                &obs,
                &d,
                &mut json_hosts,
                &mut metric_hosts,
            ) {
                failure = Some(e);
            }
        }
    }
    let outcome = run.finish().await;
    progress.finish();
    if let Some(e) = failure {
        return Err(e);
    }

    let interrupted = signalled.load(Ordering::SeqCst);
    // A scan that did not decide every host it set out to (a lane that could not start, the
    // output that went away) has established nothing about the rest: never "not found".
    let unfinished = !outcome.completed || tally.hosts < outcome.hosts_total;
    let code = ExitCode::for_outcome(
        Outcome {
            reachable: tally.reachable_hosts > 0,
            exposed: tally.debugger_hosts > 0,
            unresolved: !plan.unresolved.is_empty(),
            incomplete: tally.states[5] > 0 || unfinished,
            interrupted,
        },
        config.reporting.audit,
    );
    let run = ScanFacts {
        started_at,
        elapsed: start.elapsed(),
        settings: config.settings,
        outcome,
        tally,
        excluded: plan.excluded,
        unresolved: plan.unresolved.clone(),
        interrupted,
        exit_code: code.code(),
    };
    sink.write(|w| match format {
        Output::Ndjson => out::write_summary_line(w, &run),
        Output::Json => out::write_document(w, &run, json_hosts),
        Output::Human => out::write_summary_human(w, &run),
        Output::Prometheus => w.write_all(
            prometheus::render(&metric_hosts, SystemTime::now(), &Default::default()).as_bytes(),
        ),
    })?;
    // Even an interrupted scan's file is complete up to where it stopped: commit it.
    sink.finish()?;
    let _ = io::stdout().flush();
    Ok(code)
}

/// Writes (or keeps, for formats written at the end) one reported host.
fn report_host(
    format: Output,
    sink: &mut Sink,
    progress: &Progress,
    obs: &HostObservation,
    d: &Diagnosis,
    json_hosts: &mut Vec<json::TargetJson>,
    metric_hosts: &mut Vec<(HostObservation, Diagnosis)>,
) -> Result<(), AppError> {
    match format {
        Output::Ndjson => sink.write(|w| out::write_host_line(w, obs, d)),
        Output::Json => {
            json_hosts.push(json::target(obs, d));
            Ok(())
        }
        Output::Prometheus => {
            metric_hosts.push((obs.clone(), d.clone()));
            Ok(())
        }
        Output::Human if obs.debugger_found() => {
            progress.suspend(|| sink.write(|w| out::write_host_human(w, obs, d)))
        }
        Output::Human => Ok(()),
    }
}
