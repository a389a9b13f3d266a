//! The thin binary: parse, dispatch to a command (src/cmd/), print the one error line, exit
//! with a documented code.

mod cli;
mod cmd;
mod config;
mod exit_code;
mod output;
mod report;

use clap::error::ErrorKind;
use clap::Parser;

use cli::{Cli, ColorWhen, Command};
use exit_code::ExitCode;

use cmd::AppError;

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
        Some(Command::Catalog(args)) => cmd::catalog(args.json).map(|()| ExitCode::Found),
        Some(Command::Listen(args)) => cmd::listen::run(args),
        Some(Command::Completions(args)) => cmd::completions(args).map(|()| ExitCode::Found),
        Some(Command::Man(args)) => cmd::man(args).map(|()| ExitCode::Found),
        None if config::is_scan(&cli.probe) => cmd::scan::run(&cli.probe),
        None => cmd::probe::run(&cli.probe),
    };
    match result {
        Ok(code) => code.into(),
        Err(AppError::Usage(msg)) | Err(AppError::Output(msg)) => {
            eprintln!("error: {msg}");
            ExitCode::Usage.into()
        }
        Err(AppError::Local(msg)) => {
            eprintln!("error: {msg}");
            ExitCode::Incomplete.into()
        }
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
            eprintln!("{first}{extra} (see --help)");
            ExitCode::Usage
        }
    }
}
