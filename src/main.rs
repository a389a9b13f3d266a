//! The thin binary: parse, validate, run, report, exit with a documented code.
//! The only place that prints; every usage error is one line on stderr and exit code 2.

use std::io::{self, Write};
use std::time::{Instant, SystemTime};

use clap::error::ErrorKind;
use clap::Parser;

use msvsmon_probe::cli::{Cli, ColorWhen, Command};
use msvsmon_probe::config::{self, Output, ProbeConfig, ScanConfig, ScanOutput};
use msvsmon_probe::diagnose::{diagnose, Status};
use msvsmon_probe::exit_code::ExitCode;
use msvsmon_probe::probe::tcp::TcpConnector;
use msvsmon_probe::report::{self, RunInfo};
use msvsmon_probe::{host_probe, platform};

fn main() -> std::process::ExitCode {
    // nmap's two-letter `-iL FILE` cannot be a clap short option; accept it as --input-list.
    let args = std::env::args_os().map(|a| if a == "-iL" { "--input-list".into() } else { a });
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => return clap_error(e).into(),
    };
    match cli.color {
        ColorWhen::Always => anstream::ColorChoice::Always.write_global(),
        ColorWhen::Never => anstream::ColorChoice::Never.write_global(),
        ColorWhen::Auto => {}
    }
    let result = match &cli.command {
        Some(Command::Catalog(args)) => print_catalog(args.json).map(|()| ExitCode::Found),
        None if config::is_scan(&cli.probe) => scan(&cli),
        None => probe(&cli),
    };
    match result {
        Ok(code) => code.into(),
        Err(AppError::Usage(msg)) => {
            eprintln!("error: {msg}");
            ExitCode::Usage.into()
        }
    }
}

enum AppError {
    Usage(String),
}

/// Prints clap's help and version as they are, and reduces its errors to one line.
fn clap_error(e: clap::Error) -> ExitCode {
    match e.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
            let _ = e.print();
            ExitCode::Found
        }
        _ => {
            let rendered = e.render().to_string();
            let first = rendered.lines().next().unwrap_or("error: invalid usage");
            eprintln!("{first} (see --help)");
            ExitCode::Usage
        }
    }
}

fn print_catalog(json: bool) -> Result<(), AppError> {
    let mut out = anstream::stdout().lock();
    let r = if json {
        report::catalog::write_json(&mut out)
    } else {
        report::catalog::write_table(&mut out)
    };
    quiet_on_broken_pipe(r);
    Ok(())
}

fn probe(cli: &Cli) -> Result<ExitCode, AppError> {
    let fd_limit = platform::raise_fd_limit();
    let config = ProbeConfig::from_args(&cli.probe, fd_limit).map_err(|e| AppError::Usage(e.0))?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("the tokio runtime starts");

    let started_at = SystemTime::now();
    let start = Instant::now();
    let connector = TcpConnector {
        greeting_wait: config.greeting_wait,
    };
    let observed = runtime.block_on(async {
        tokio::select! {
            obs = host_probe::probe_targets(
                &config.targets,
                &config.selection,
                &config.resolver,
                &connector,
                &config.engine,
            ) => Some(obs),
            _ = platform::shutdown_signal() => None,
        }
    });
    let Some(observed) = observed else {
        eprintln!("interrupted");
        return Ok(ExitCode::Interrupted);
    };
    let hosts: Vec<_> = observed
        .into_iter()
        .map(|o| {
            let d = diagnose(&o);
            (o, d)
        })
        .collect();
    let code = exit_code(&hosts);
    let run = RunInfo {
        started_at,
        elapsed: start.elapsed(),
        settings: config.engine,
        greeting_wait: config.greeting_wait,
    };

    let mut out = anstream::stdout().lock();
    let written = match config.output {
        Output::Human => report::human::write(&mut out, &run, &hosts),
        Output::Json => {
            let doc = report::json::document(&run, &hosts, code.code());
            serde_json::to_writer_pretty(&mut out, &doc)
                .map_err(io::Error::from)
                .and_then(|()| writeln!(out))
        }
    };
    quiet_on_broken_pipe(written);
    Ok(code)
}

fn exit_code(
    hosts: &[(
        msvsmon_probe::observation::HostObservation,
        msvsmon_probe::diagnose::Diagnosis,
    )],
) -> ExitCode {
    let status = |s: Status| hosts.iter().any(|(_, d)| d.verdict.status == s);
    if status(Status::Reachable) || status(Status::Wow64Only) {
        ExitCode::Found
    } else if hosts
        .iter()
        .all(|(_, d)| d.verdict.status == Status::Unresolved)
    {
        ExitCode::Unresolved
    } else if status(Status::Incomplete) {
        ExitCode::Incomplete
    } else {
        ExitCode::NotFound
    }
}

/// A reader that went away (`| head -1`) is not an error worth a message.
fn quiet_on_broken_pipe(r: io::Result<()>) {
    if let Err(e) = r {
        if e.kind() != io::ErrorKind::BrokenPipe {
            eprintln!("error: cannot write the report: {e}");
        }
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("the tokio runtime starts")
}

/// A subnet scan: hosts stream through the engine; results are written as they come.
fn scan(cli: &Cli) -> Result<ExitCode, AppError> {
    let fd_limit = platform::raise_fd_limit();
    let config = ScanConfig::from_args(&cli.probe, fd_limit, &mut || {
        Box::new(io::BufReader::new(io::stdin()))
    })
    .map_err(|e| AppError::Usage(e.0))?;
    runtime().block_on(run_scan(config))
}

async fn run_scan(config: ScanConfig) -> Result<ExitCode, AppError> {
    use std::sync::atomic::Ordering;
    use std::sync::Arc;

    use msvsmon_probe::report::progress::Progress;
    use msvsmon_probe::report::sweep::{self as out, ScanRun};
    use msvsmon_probe::scan::{self, ScanStats};
    use msvsmon_probe::sweep::{self, Tally};
    use tokio::sync::{mpsc, watch};

    let started_at = SystemTime::now();
    let start = Instant::now();
    let plan = sweep::prepare(&config)
        .await
        .map_err(|e| AppError::Usage(e.0))?;

    let stats = Arc::new(ScanStats::default());
    let (tx, mut rx) = mpsc::channel(4096);
    let (cancel_tx, cancel_rx) = watch::channel(false);
    let ports = plan.ports.iter().map(|p| p.port).collect();
    let engine = tokio::spawn(scan::run_tcp(
        config.greeting_wait,
        plan.targets.clone(),
        ports,
        config.settings,
        stats.clone(),
        tx,
        cancel_rx,
    ));
    let signalled = Arc::new(std::sync::atomic::AtomicBool::new(false));
    {
        let cancel_tx = cancel_tx.clone();
        let signalled = signalled.clone();
        tokio::spawn(async move {
            platform::shutdown_signal().await;
            signalled.store(true, Ordering::SeqCst);
            let _ = cancel_tx.send(true);
        });
    }

    // Give the engine a moment to size the scan, then draw.
    let total = u64::try_from(plan.targets.len()).unwrap_or(u64::MAX);
    let mut progress = Progress::new(total, config.output == ScanOutput::Human);
    let mut ticker = tokio::time::interval(Progress::TICK);
    let mut tally = Tally::default();
    let mut json_hosts = Vec::new();
    let mut stdout = anstream::stdout();
    let mut pipe_closed = false;

    loop {
        tokio::select! {
            batch = rx.recv() => {
                let Some(batch) = batch else { break };
                for host in batch {
                let flags = sweep::flags(&plan.ports, &host.ports);
                let debugger = flags.debugger;
                let report = config.all || flags.interesting;
                tally.add(&host.ports, flags, report);
                if !report || pipe_closed {
                    continue;
                }
                let obs = plan.observe(host);
                let d = diagnose(&obs);
                let written = match config.output {
                    ScanOutput::Ndjson => out::write_host_line(&mut stdout, &obs, &d),
                    ScanOutput::Json => {
                        json_hosts.push(msvsmon_probe::report::json::target(&obs, &d));
                        Ok(())
                    }
                    ScanOutput::Human if debugger => {
                        progress.suspend(|| out::write_host_human(&mut stdout, &obs, &d))
                    }
                    ScanOutput::Human => Ok(()),
                };
                if let Err(e) = written {
                    pipe_closed = true;
                    let _ = cancel_tx.send(true);
                    quiet_on_broken_pipe(Err(e));
                }
                }
            }
            _ = ticker.tick() => progress.update(&stats, tally.debugger_hosts),
        }
    }
    let outcome = engine.await.expect("the scan engine does not panic");
    progress.finish();

    let interrupted = signalled.load(Ordering::SeqCst);
    let code = if interrupted {
        ExitCode::Interrupted
    } else if tally.debugger_hosts > 0 {
        ExitCode::Found
    } else if tally.hosts == 0 && !plan.unresolved.is_empty() {
        ExitCode::Unresolved
    } else if tally.states[5] > 0 {
        ExitCode::Incomplete
    } else {
        ExitCode::NotFound
    };
    let run = ScanRun {
        started_at,
        elapsed: start.elapsed(),
        settings: config.settings,
        outcome,
        tally,
        retries_sent: stats.retries_sent.load(Ordering::Relaxed),
        excluded: plan.excluded,
        unresolved: plan.unresolved.clone(),
        interrupted,
        exit_code: code.code(),
    };
    if !pipe_closed {
        let written = match config.output {
            ScanOutput::Ndjson => out::write_summary_line(&mut stdout, &run),
            ScanOutput::Json => out::write_document(&mut stdout, &run, json_hosts),
            ScanOutput::Human => out::write_summary_human(&mut stdout, &run),
        };
        quiet_on_broken_pipe(written.and_then(|()| stdout.flush()));
    }
    Ok(code)
}
