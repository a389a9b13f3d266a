//! Turns parsed arguments into a validated run: the one place defaults are decided.
//! Everything that can be wrong with the input is found here, before any packet is sent.

use std::fmt;
use std::time::Duration;

use crate::catalog::Selection;
use crate::cli::ProbeArgs;
use crate::engine;
use crate::resolve::{HostsFile, Resolver};
use crate::target::{parse_target, Target};

/// A usage error: one line that names the bad value and what is accepted. Exit code 2.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageError(pub String);

impl fmt::Display for UsageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}

/// How results are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Output {
    Human,
    Json,
}

/// A validated probe run.
#[derive(Debug, Clone)]
pub struct ProbeConfig {
    pub targets: Vec<Target>,
    pub selection: Selection,
    pub engine: engine::Settings,
    pub greeting_wait: Duration,
    pub resolver: Resolver,
    pub output: Output,
}

/// Sockets kept free for everything that is not a probe (stdio, resolver, runtime).
const FD_HEADROOM: u64 = 64;
/// More parallel connects than this buys nothing for one host's dozen ports.
const MAX_HOST_CONCURRENCY: usize = 512;

/// Connect attempts in flight, sized from the open-file limit (`fd_limit`, if the platform has one).
pub fn concurrency_for(fd_limit: Option<u64>) -> usize {
    match fd_limit {
        Some(n) => (n.saturating_sub(FD_HEADROOM) as usize).clamp(1, MAX_HOST_CONCURRENCY),
        None => MAX_HOST_CONCURRENCY,
    }
}

impl ProbeConfig {
    pub fn from_args(args: &ProbeArgs, fd_limit: Option<u64>) -> Result<Self, UsageError> {
        if args.targets.is_empty() {
            return Err(UsageError(
                "no target given; expected a host name or address, e.g. msvsmon-probe devbox (see --help)".into(),
            ));
        }
        let targets = args
            .targets
            .iter()
            .map(|t| parse_target(t).map_err(|e| UsageError(e.to_string())))
            .collect::<Result<Vec<_>, _>>()?;
        let resolver = match &args.hosts_file {
            Some(path) => Resolver::from_hosts_file(
                HostsFile::load(path).map_err(|e| UsageError(e.to_string()))?,
            ),
            None => Resolver::system(),
        };
        let mut releases = args.releases.clone();
        releases.dedup_by_key(|r| r.key);
        Ok(ProbeConfig {
            targets,
            selection: Selection {
                releases: (!releases.is_empty()).then_some(releases),
                azure_cloud_service: args.azure_cloud_service,
                custom_ports: args.ports.clone(),
            },
            engine: engine::Settings {
                timeout: args.timeout,
                retries: args.retries,
                concurrency: concurrency_for(fd_limit),
            },
            greeting_wait: args.greeting_wait,
            resolver,
            output: if args.json {
                Output::Json
            } else {
                Output::Human
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn concurrency_keeps_headroom_under_the_fd_limit() {
        assert_eq!(concurrency_for(Some(256)), 192);
        assert_eq!(concurrency_for(Some(20_000)), MAX_HOST_CONCURRENCY);
        assert_eq!(concurrency_for(Some(10)), 1);
        assert_eq!(concurrency_for(None), MAX_HOST_CONCURRENCY);
    }
}
