//! The thin binary: parse, validate, run, report, exit with a documented code.
//! The only place that prints; every usage error is one line on stderr and exit code 2.

use std::io::{self, Write};
use std::time::{Instant, SystemTime};

use clap::error::ErrorKind;
use clap::Parser;

use msvsmon_probe::cli::{Cli, ColorWhen, Command};
use msvsmon_probe::config::{Output, ProbeConfig};
use msvsmon_probe::diagnose::{diagnose, Status};
use msvsmon_probe::exit_code::ExitCode;
use msvsmon_probe::probe::tcp::TcpConnector;
use msvsmon_probe::report::{self, RunInfo};
use msvsmon_probe::{host_probe, platform};

fn main() -> std::process::ExitCode {
    let cli = match Cli::try_parse() {
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
            _ = tokio::signal::ctrl_c() => None,
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
