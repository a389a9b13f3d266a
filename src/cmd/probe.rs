//! Diagnosing named targets (or the machines `--discover` finds): configuration → the engine's
//! probe of each target → diagnosis → one report.

use std::io::Write;
use std::time::{Instant, SystemTime};

use futures::future::join_all;
use futures::StreamExt;

use crate::config::{Mode, Output, ProbeConfig};
use crate::error::AppError;
use crate::exit_code::ExitCode;
use crate::report;
use msvsmon_probe_core::{diagnose_for, discover, shutdown_signal, Diagnosis, HostObservation};

use super::{block_on, report_output, run_info};

pub fn run(config: ProbeConfig) -> Result<ExitCode, AppError> {
    if !config.reporting.quiet {
        for note in config.targets.iter().filter_map(|t| t.ambiguity_note()) {
            let _ = writeln!(std::io::stderr(), "note: {}", crate::sanitize::line(&note));
        }
    }
    let started_at = SystemTime::now();
    let start = Instant::now();
    let probe = config.host_probe();
    let layout = layout_for(&config);
    // One host on a terminal: the TCP verdict is printed as soon as it is known, and
    // WS-Discovery completes the report when its window closes.
    let mut streamed = if streams(&config) {
        Some(report_output(&config.reporting)?)
    } else {
        None
    };
    let mut stream_error = None;
    let observed = block_on(async {
        let work = async {
            match &config.mode {
                Mode::Targets if streamed.is_some() => {
                    let obs = probe
                        .observe_with(&config.targets[0], |partial| {
                            let d = diagnose_for(partial, config.ide);
                            if let Some(out) = streamed.as_mut() {
                                if let Err(e) = out.write(|w| {
                                    report::human::write_verdict_part(w, partial, &d, layout)
                                }) {
                                    stream_error = Some(e);
                                }
                            }
                        })
                        .await;
                    (vec![obs], None)
                }
                Mode::Targets => {
                    let mut seen: Vec<Option<HostObservation>> = vec![None; config.targets.len()];
                    let mut each = std::pin::pin!(probe.observe_all(&config.targets));
                    while let Some((i, obs)) = each.next().await {
                        seen[i] = Some(obs);
                    }
                    (seen.into_iter().flatten().collect(), None)
                }
                Mode::Discover { interfaces } => {
                    let settings = config.discovery.unwrap_or_default();
                    let found = discover(interfaces, &settings).await;
                    let hosts =
                        join_all(found.hosts().into_iter().map(|h| probe.observe_found(h))).await;
                    (hosts, Some(found))
                }
            }
        };
        tokio::select! {
            obs = work => Some(obs),
            _ = shutdown_signal() => None,
        }
    })?;
    let Some((observed, found)) = observed else {
        let _ = writeln!(std::io::stderr(), "interrupted");
        return Ok(ExitCode::Interrupted);
    };
    let hosts: Vec<(HostObservation, Diagnosis)> = observed
        .into_iter()
        .map(|o| {
            let d = diagnose_for(&o, config.ide);
            (o, d)
        })
        .collect();
    // --discover with no responder: nothing found (there is nothing unresolved).
    let mut code = ExitCode::for_targets(hosts.iter().map(|(o, _)| o), config.reporting.audit);
    // With the user's release known, 0 means that release can attach somewhere.
    if config.ide.is_some()
        && code == ExitCode::Found
        && !config.reporting.audit
        && !hosts
            .iter()
            .any(|(_, d)| d.verdict.status == msvsmon_probe_core::Status::Reachable)
    {
        code = ExitCode::NotFound;
    }
    let run = run_info(&config, started_at, start);

    if let Some(e) = stream_error {
        return Err(e.into());
    }
    if let (Some(mut out), [host]) = (streamed, &hosts[..]) {
        out.write(|w| report::human::write_streamed_end(w, &run, host, layout))?;
        out.finish()?;
        return Ok(code);
    }
    let mut out = report_output(&config.reporting)?;
    // A terminal's width (or COLUMNS) for standard output; a file is not wrapped.
    let width = match &config.reporting.file {
        None => report::columns::stdout_width(),
        Some(_) => None,
    };
    out.write(|w| match config.reporting.format {
        Output::Human | Output::Ndjson => match &found {
            None => report::human::write_with(w, &run, &hosts, layout),
            Some(f) => report::discover::write(w, &run, f, &hosts, width),
        },
        Output::Json => {
            let doc = report::json::document(&run, &hosts, found.as_ref(), code.code());
            serde_json::to_writer_pretty(&mut *w, &doc)?;
            writeln!(w)
        }
        Output::Prometheus => w.write_all(
            report::prometheus::render(
                &hosts,
                SystemTime::now(),
                &Default::default(),
                run.vantage.as_str(),
            )
            .as_bytes(),
        ),
    })?;
    out.finish()?;
    Ok(code)
}

/// A file gets 80 columns; a terminal its width.
fn layout_for(config: &ProbeConfig) -> report::human::Layout {
    match &config.reporting.file {
        Some(_) => report::human::Layout {
            verbose: config.reporting.verbose,
            ..report::human::Layout::PLAIN
        },
        None => report::human::Layout::detect(config.reporting.verbose),
    }
}

/// The report is streamed for one named host whose human report goes to a terminal, with
/// WS-Discovery to wait for; a file, a pipe and `--json` get the report in one piece.
fn streams(config: &ProbeConfig) -> bool {
    use std::io::IsTerminal;
    config.mode == Mode::Targets
        && config.targets.len() == 1
        && config.reporting.format == Output::Human
        && config.reporting.file.is_none()
        && !config.reporting.quiet
        && config.discovery.is_some()
        && std::io::stdout().is_terminal()
}
