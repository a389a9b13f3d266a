//! The thin binary: parse, validate, run, report, exit with a documented code.
//! The only place that prints; every usage error is one line on stderr and exit code 2.

use std::io::{self, Write};
use std::time::{Instant, SystemTime};

use clap::error::ErrorKind;
use clap::Parser;
use futures::future::join_all;

use msvsmon_probe::cli::{Cli, ColorWhen, Command, ListenArgs};
use msvsmon_probe::config::{
    self, ListenConfig, Mode, Output, ProbeConfig, ScanConfig, ScanOutput,
};
use msvsmon_probe::diagnose::{diagnose, Status};
use msvsmon_probe::discovery::client as discovery_client;
use msvsmon_probe::exit_code::ExitCode;
use msvsmon_probe::listen::{self, Event, ProbeOutcome};
use msvsmon_probe::observation::HostObservation;
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
        Some(Command::Listen(args)) => run_listen(args),
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
    // --discover: the interfaces are checked before anything is sent.
    let discover_on = match &config.mode {
        Mode::Targets => None,
        Mode::Discover { interfaces } => {
            let all = platform::interfaces()
                .map_err(|e| AppError::Usage(format!("cannot list the network interfaces: {e}")))?;
            Some(discovery_client::discover_interfaces(&all, interfaces).map_err(AppError::Usage)?)
        }
    };
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
        let work = async {
            match &discover_on {
                None => (
                    host_probe::probe_targets(
                        &config.targets,
                        &config.selection,
                        &config.resolver,
                        &connector,
                        &config.engine,
                        config.discovery.as_ref(),
                    )
                    .await,
                    None,
                ),
                Some(ifaces) => {
                    let settings = config.discovery.unwrap_or_default();
                    let found = discovery_client::discover(ifaces, &settings).await;
                    let hosts = join_all(found.hosts().into_iter().map(|h| {
                        host_probe::probe_found(
                            h.target,
                            h.resolution,
                            h.discovery,
                            &config.selection,
                            &connector,
                            &config.engine,
                        )
                    }))
                    .await;
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
    let hosts: Vec<_> = observed
        .into_iter()
        .map(|o| {
            let d = diagnose(&o);
            (o, d)
        })
        .collect();
    let code = exit_code(&hosts, found.is_some());
    let run = RunInfo {
        started_at,
        elapsed: start.elapsed(),
        settings: config.engine,
        greeting_wait: config.greeting_wait,
        discovery: config.discovery,
    };

    let mut out = anstream::stdout().lock();
    let written = match config.output {
        Output::Human => match &found {
            None => report::human::write(&mut out, &run, &hosts),
            Some(f) => report::human::write_discover(&mut out, &run, f, &hosts),
        },
        Output::Json => {
            let doc = report::json::document(&run, &hosts, found.as_ref(), code.code());
            serde_json::to_writer_pretty(&mut out, &doc)
                .map_err(io::Error::from)
                .and_then(|()| writeln!(out))
        }
    };
    quiet_on_broken_pipe(written);
    Ok(code)
}

/// `listen`: bind, print what it listens on, log what happens, stop on Ctrl-C or SIGTERM.
fn run_listen(args: &ListenArgs) -> Result<ExitCode, AppError> {
    let cfg = ListenConfig::from_args(args).map_err(|e| AppError::Usage(e.0))?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("the tokio runtime starts");
    runtime.block_on(async {
        let bound = listen::bind(&cfg).map_err(|e| AppError::Usage(e.0))?;
        let start = Instant::now();
        let mut out = io::stdout().lock();
        let l = &bound.listening;
        let releases: Vec<&str> = cfg.releases.iter().map(|r| r.short).collect();
        let what = if releases.is_empty() {
            format!("a remote debugger on port(s) {}", listen::port_list(&cfg.ports))
        } else {
            format!("the {} remote debugger", releases.join(" and "))
        };
        let _ = writeln!(
            out,
            "msvsmon-probe listen: a stand-in for {what} (not the real monitor: nothing can be debugged)"
        );
        for (a, label) in &l.tcp {
            let _ = writeln!(out, "  TCP  {a:<28} {label}");
        }
        for a in &l.unicast {
            let _ = writeln!(out, "  UDP  {a:<28} WS-Discovery, unicast Probes");
        }
        for (g, i) in &l.multicast {
            let g = std::net::SocketAddr::new(*g, msvsmon_probe::discovery::PORT);
            let _ = writeln!(out, "  UDP  {g:<28} WS-Discovery, multicast on {i}");
        }
        if cfg.discovery {
            let _ = writeln!(out, "  WS-Discovery endpoint {}, Types {}", l.endpoint, l.types);
        } else {
            let _ = writeln!(out, "  WS-Discovery off (--no-discovery), as msvsmon /nodiscovery");
        }
        for n in &l.notes {
            let _ = writeln!(out, "  note: {n}");
        }
        let _ = writeln!(out, "listening; Ctrl-C to stop");
        drop(out);

        let (tx, mut rx) = tokio::sync::mpsc::channel(1024);
        let server = listen::serve(bound, tx, platform::shutdown_signal());
        let log = async {
            while let Some(ev) = rx.recv().await {
                let t = start.elapsed().as_secs_f64();
                let line = match ev {
                    Event::Connection { from, local } => {
                        format!("TCP {from} -> {local}: accepted and closed")
                    }
                    Event::Probe {
                        from,
                        route,
                        version,
                        types,
                        outcome,
                    } => {
                        let what = match outcome {
                            ProbeOutcome::Matched => "answered".to_string(),
                            ProbeOutcome::NoMatch => {
                                "answered with an empty ProbeMatches (nothing matched)".to_string()
                            }
                            ProbeOutcome::Silent(why) => format!("not answered: {why}"),
                            ProbeOutcome::RateLimited => format!(
                                "not answered: more than {} Probes this second",
                                listen::MAX_ANSWERS_PER_SECOND
                            ),
                        };
                        format!(
                            "Probe {version} (types: {types}) from {from} by {}: {what}",
                            route.as_str()
                        )
                    }
                    Event::NotAProbe { from, why } => {
                        format!("UDP 3702 datagram from {from} ignored: {why}")
                    }
                    Event::Error(e) => format!("error: {e}"),
                };
                let mut out = io::stdout().lock();
                if writeln!(out, "+{t:.3}s  {line}").is_err() {
                    break;
                }
            }
        };
        tokio::join!(server, log);
        let _ = writeln!(io::stdout(), "stopped");
        Ok(ExitCode::Found)
    })
}

fn exit_code(
    hosts: &[(HostObservation, msvsmon_probe::diagnose::Diagnosis)],
    discover: bool,
) -> ExitCode {
    let status = |s: Status| hosts.iter().any(|(_, d)| d.verdict.status == s);
    if status(Status::Reachable) || status(Status::Wow64Only) {
        ExitCode::Found
    } else if discover && hosts.is_empty() {
        // Nothing answered on the link: nothing found, not "nothing resolved".
        ExitCode::NotFound
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
