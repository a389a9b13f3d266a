//! Presenting results: a human report, a JSON document, and the catalog listing. Reports read
//! observations and diagnoses; they never touch a socket.

pub mod catalog;
pub mod changes;
pub mod columns;
pub mod discover;
pub mod events;
pub mod human;
pub mod json;
pub mod listen_log;
pub mod progress;
pub mod prometheus;
pub mod sweep;
#[cfg(test)]
mod tests;
pub mod words;

use std::time::{Duration, SystemTime};

use msvsmon_probe_core::{DiscoverySettings, EngineSettings};

use crate::vantage::Vantage;

/// Facts about the run as a whole, for headers and footers.
#[derive(Debug, Clone)]
pub struct RunInfo {
    pub started_at: SystemTime,
    pub elapsed: Duration,
    pub settings: EngineSettings,
    pub greeting_wait: Duration,
    /// The WS-Discovery settings; `None` with `--no-discovery`.
    pub discovery: Option<DiscoverySettings>,
    /// Where the run looked from (`--vantage`).
    pub vantage: Vantage,
}
