//! The thin binary: parse, validate into a job (src/config.rs), run its command (src/cmd/), print
//! the one error line, exit with a documented code (src/exit_code.rs).

mod checkpoint;
mod cli;
mod cmd;
mod completion;
mod config;
mod error;
mod exit_code;
mod ide;
mod manpage;
mod merge;
mod output;
mod report;
mod sanitize;
mod vantage;

use std::io::Write;

use clap::error::ErrorKind;
use clap::Parser;

use cli::{Cli, ColorWhen};
use config::Job;
use error::AppError;
use exit_code::ExitCode;

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
    let stdin = &mut || -> Box<dyn std::io::BufRead> {
        Box::new(std::io::BufReader::new(std::io::stdin()))
    };
    let result = Job::from_cli(&cli, stdin)
        .map_err(AppError::Config)
        .and_then(|job| {
            for note in job.notes() {
                let _ = writeln!(std::io::stderr(), "note: {}", sanitize::line(&note));
            }
            run(job)
        });
    match result {
        Ok(code) => code.into(),
        Err(e) => {
            // stderr may be closed too; the exit code still says what happened.
            let _ = writeln!(
                std::io::stderr(),
                "error: {}",
                sanitize::line(&e.to_string())
            );
            e.exit_code().into()
        }
    }
}

fn run(job: Job) -> Result<ExitCode, AppError> {
    match job {
        Job::Catalog { json } => cmd::catalog::catalog(json),
        Job::Completions(args) => cmd::catalog::completions(&args),
        Job::Man(args) => cmd::catalog::man(&args),
        Job::Listen(c) => cmd::listen::run(c),
        Job::Probe(c) => cmd::probe::run(c),
        Job::WatchTargets(c) => cmd::watch::targets(c),
        Job::Scan(c) => cmd::scan::run(c),
        Job::WatchScan(c) => cmd::watch::sweep(c),
        Job::Merge(c) => cmd::merge::run(c),
    }
}

/// Prints clap's help and version as they are, and reduces its errors to one line.
fn clap_error(e: clap::Error) -> ExitCode {
    match e.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
            let _ = e.print();
            ExitCode::Found
        }
        _ => {
            use clap::error::{ContextKind, ContextValue};
            let rendered = e.render().to_string();
            let first = rendered.lines().next().unwrap_or("error: invalid usage");
            // clap puts what is accepted on later lines; keep it, on this one.
            let mut extra = String::new();
            if let Some(ContextValue::Strings(v)) = e.get(ContextKind::ValidValue) {
                extra = format!("; accepted: {}", v.join(", "));
            }
            if let Some(ContextValue::String(s)) = e.get(ContextKind::SuggestedArg) {
                extra.push_str(&format!("; did you mean {s}?"));
            }
            let msg = format!("{first}{extra} (see --help)");
            let _ = writeln!(std::io::stderr(), "{}", sanitize::line(&msg));
            ExitCode::Usage
        }
    }
}
