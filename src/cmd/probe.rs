//! Diagnosing named targets (or the machines `--discover` finds): one probe, one report.

use std::io;
use std::time::{Instant, SystemTime};

use futures::future::join_all;

use crate::cli::ProbeArgs;
use crate::config::{Mode, Output, ProbeConfig};
use crate::exit_code::{ExitCode, Outcome};
use crate::report::{self, RunInfo};
use msvsmon_probe_core::diagnose::{diagnose, Diagnosis, Status};
use msvsmon_probe_core::discovery::client as discovery_client;
use msvsmon_probe_core::observation::HostObservation;
use msvsmon_probe_core::platform;

use super::{runtime, AppError, Sink};

pub fn run(args: &ProbeArgs) -> Result<ExitCode, AppError> {
    let fd_limit = platform::raise_fd_limit();
    let config = ProbeConfig::from_args(args, fd_limit).map_err(|e| AppError::Usage(e.0))?;
    if !config.reporting.quiet {
        for note in config.targets.iter().filter_map(|t| t.ambiguity_note()) {
            eprintln!("note: {note}");
        }
    }
    if config.watch.is_some() {
        return super::watch::run(config);
    }
    // --discover: the interfaces are checked before anything is sent.
    let discover_on = match &config.mode {
        Mode::Targets => None,
        Mode::Discover { interfaces } => {
            let all = platform::interfaces()
                .map_err(|e| AppError::Usage(format!("cannot list the network interfaces: {e}")))?;
            Some(discovery_client::discover_interfaces(&all, interfaces).map_err(AppError::Usage)?)
        }
    };
    let started_at = SystemTime::now();
    let start = Instant::now();
    let probe = config.host_probe();
    let observed = runtime()?.block_on(async {
        let work = async {
            match &discover_on {
                None => {
                    let mut seen: Vec<Option<HostObservation>> = vec![None; config.targets.len()];
                    let mut each = std::pin::pin!(probe.observe_all(&config.targets));
                    while let Some((i, obs)) = futures::StreamExt::next(&mut each).await {
                        seen[i] = Some(obs);
                    }
                    (seen.into_iter().flatten().collect(), None)
                }
                Some(ifaces) => {
                    let settings = config.discovery.unwrap_or_default();
                    let found = discovery_client::discover(ifaces, &settings).await;
                    let hosts =
                        join_all(found.hosts().into_iter().map(|h| probe.observe_found(h))).await;
                    (hosts, Some(found))
                }
            }
        };
        tokio::select! {
            obs = work => Some(obs),
            _ = platform::shutdown_signal() => None,
        }
    });
    let Some((observed, found)) = observed else {
        eprintln!("interrupted");
        return Ok(ExitCode::Interrupted);
    };
    let hosts: Vec<(HostObservation, Diagnosis)> = observed
        .into_iter()
        .map(|o| {
            let d = diagnose(&o);
            (o, d)
        })
        .collect();
    // --discover with no responder: nothing found (there is nothing unresolved).
    let code = exit_code(&hosts, config.reporting.audit);
    let run = run_info(&config, started_at, start);

    let mut sink = Sink::new(&config.reporting)?;
    sink.write(|out| match config.reporting.format {
        Output::Human | Output::Ndjson => match &found {
            None => report::human::write(out, &run, &hosts),
            Some(f) => report::human::write_discover(out, &run, f, &hosts),
        },
        Output::Json => {
            let doc = report::json::document(&run, &hosts, found.as_ref(), code.code());
            serde_json::to_writer_pretty(&mut *out, &doc).map_err(io::Error::from)?;
            writeln!(out)
        }
        Output::Prometheus => out.write_all(
            report::prometheus::render(&hosts, SystemTime::now(), &Default::default()).as_bytes(),
        ),
    })?;
    sink.finish()?;
    Ok(code)
}

pub fn exit_code(hosts: &[(HostObservation, Diagnosis)], audit: bool) -> ExitCode {
    let status = |s: Status| hosts.iter().any(|(_, d)| d.verdict.status == s);
    ExitCode::for_outcome(
        Outcome {
            reachable: status(Status::Reachable),
            exposed: hosts.iter().any(|(o, _)| o.debugger_found()),
            unresolved: status(Status::Unresolved),
            incomplete: status(Status::Incomplete),
            interrupted: false,
        },
        audit,
    )
}

/// The run's facts for a report: when it started, how long it took, with which settings.
pub fn run_info(config: &ProbeConfig, started_at: SystemTime, start: Instant) -> RunInfo {
    RunInfo {
        started_at,
        elapsed: start.elapsed(),
        settings: config.engine,
        greeting_wait: config.greeting_wait,
        discovery: config.discovery,
    }
}
