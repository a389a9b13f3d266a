//! The binary's commands. Each is wiring: a validated configuration becomes a request to the
//! engine, the engine's events become a report, the report goes to one [`Output`]. No command
//! calls another; what two share lives here or in the modules they both use.

pub mod catalog;
pub mod listen;
pub mod merge;
pub mod probe;
pub mod scan;
pub mod watch;

use std::time::{Instant, SystemTime};

use crate::config::{ProbeConfig, Reporting};
use crate::error::{AppError, OutputError};
use crate::output::Output;
use crate::report::RunInfo;

/// Runs a command's work on a fresh runtime, then leaves at once: a name lookup that never
/// returns (getaddrinfo cannot be cancelled, so it runs on a blocking thread) must not hold up
/// the report or an interrupt; dropping the runtime would wait for it.
pub fn block_on<F: std::future::Future>(work: F) -> Result<F::Output, AppError> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(AppError::Start)?;
    let out = runtime.block_on(work);
    runtime.shutdown_background();
    Ok(out)
}

/// Where a report goes: `--output FILE`, nowhere with `-q`, else standard output.
pub fn report_output(r: &Reporting) -> Result<Output, OutputError> {
    match (&r.file, r.quiet) {
        (Some(path), _) => Output::file(path),
        (None, true) => Ok(Output::null()),
        (None, false) => Ok(Output::stdout()),
    }
}

/// The run's facts for a report of named targets: when it started, how long it took, with
/// which settings.
pub fn run_info(config: &ProbeConfig, started_at: SystemTime, start: Instant) -> RunInfo {
    RunInfo {
        started_at,
        elapsed: start.elapsed(),
        settings: config.engine,
        greeting_wait: config.greeting_wait,
        discovery: config.discovery,
        vantage: config.reporting.vantage.clone(),
    }
}
