//! Why the tool could not do its job, as types that carry what the user needs to fix it. `main`
//! prints one line and exits with the code [`AppError::exit_code`] gives. Per-target failures
//! (a name that does not resolve, a host that does not answer) are results in the report, not
//! errors here.

use std::fmt;
use std::io;
use std::path::PathBuf;
use std::time::Duration;

use msvsmon_probe_core::{
    HostsFileError, InterfaceError, ListenError, PortError, ScanBuildError, ShardError, SpecError,
    SweepError, TargetError,
};

use crate::exit_code::ExitCode;

/// A command-line value that is not accepted: the value, and what is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ValueError {
    /// Not a duration at all.
    Duration {
        value: String,
    },
    /// A duration outside what the option accepts (`what`: "timeout", "greeting wait" …).
    DurationRange {
        what: &'static str,
        value: String,
        accepted: String,
    },
    /// Not a number the option accepts (`what`: "concurrency", "rate" …).
    Number {
        what: &'static str,
        value: String,
        accepted: &'static str,
    },
    UnknownRelease {
        value: String,
        accepted: Vec<&'static str>,
    },
    Port(PortError),
    Shard(ShardError),
    BindAddress {
        value: String,
    },
    Vantage {
        value: String,
    },
}

impl fmt::Display for ValueError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ValueError::Duration { value } => write!(
                f,
                "'{value}' is not a valid duration; expected a duration such as 500ms, 2s or 1.5 (seconds)"
            ),
            ValueError::DurationRange {
                what,
                value,
                accepted,
            } => write!(f, "{what} '{value}' is out of range; expected {accepted}"),
            ValueError::Number {
                what,
                value,
                accepted,
            } => write!(f, "'{value}' is not a valid {what}; expected {accepted}"),
            ValueError::UnknownRelease { value, accepted } => write!(
                f,
                "unknown release '{value}'; accepted: {}",
                accepted.join(", ")
            ),
            ValueError::Port(e) => e.fmt(f),
            ValueError::Shard(e) => e.fmt(f),
            ValueError::BindAddress { value } => write!(
                f,
                "'{value}' is not an IP address to listen on; expected one such as 0.0.0.0, ::, 127.0.0.1 or 10.0.0.5"
            ),
            ValueError::Vantage { value } => write!(
                f,
                "invalid vantage '{}'; expected 1 to {} ASCII letters, digits and - _ . : @ /",
                crate::sanitize::field(value),
                crate::vantage::MAX_LEN
            ),
        }
    }
}

impl std::error::Error for ValueError {}

/// Options that do not make a run together, or input that cannot be used; found before any
/// packet is sent.
#[derive(Debug)]
pub enum ConfigError {
    /// Nothing to probe (`scan`: the scan's wording, which names -iL and ranges).
    NoTarget {
        scan: bool,
    },
    DiscoverTakesNoTarget {
        target: String,
    },
    DiscoverWithWatch,
    InterfaceWithoutDiscover {
        interface: String,
    },
    /// `--discover` with scan options.
    DiscoverIsNotAScan,
    /// The first target is a misspelt command (`lisen`).
    NotACommand {
        value: String,
        command: String,
    },
    /// `--discovery` (every reported host's WS-Discovery) in a watched scan.
    DiscoveryInWatchedScan,
    Target(TargetError),
    Spec(SpecError),
    Exclude(SpecError),
    HostsFile(HostsFileError),
    /// A target list that cannot be read.
    TargetList {
        name: String,
        source: io::Error,
    },
    /// A target list with only blank lines and comments.
    EmptyTargetList {
        name: String,
    },
    MinTimeoutAboveTimeout {
        min: Duration,
        max: Duration,
    },
    /// `--watch` with `-q` and no state file: nothing would ever be reported.
    WatchQuiet,
    /// `--watch` with a format for standard output, which carries the events.
    WatchFormat,
    ListInterfaces(io::Error),
    Interfaces(InterfaceError),
    /// `--output` names a file that cannot be written.
    Output(OutputError),
    /// The scan's settings do not make a scan (checked above; kept for the engine's own check).
    Scan(ScanBuildError),
    /// `--resume` outside a `--ndjson` scan (or with `--watch` or `--discovery`).
    ResumeNeedsNdjsonScan,
    /// The open-file limit leaves no descriptor for a probe (a local limit: exit 4).
    FdLimitTooLow {
        limit: u64,
        needed: u64,
    },
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::NoTarget { scan: false } => f.write_str(
                "no target given; expected a host name or address, e.g. msvsmon-probe devbox (see --help)",
            ),
            ConfigError::NoTarget { scan: true } => f.write_str(
                "no target given; expected addresses, names, CIDR or ranges, or --input-list FILE (see --help)",
            ),
            ConfigError::DiscoverTakesNoTarget { target } => write!(
                f,
                "--discover finds its targets itself, but '{target}' was given; drop the target or drop --discover"
            ),
            ConfigError::DiscoverWithWatch => f.write_str(
                "--watch repeats the probe of named hosts and cannot be combined with --discover; name the hosts --discover found",
            ),
            ConfigError::InterfaceWithoutDiscover { interface } => write!(
                f,
                "--interface {interface} applies only with --discover; a target's Probes leave by the interface its address is on"
            ),
            ConfigError::DiscoverIsNotAScan => f.write_str(
                "--discover finds the debuggers on this link by WS-Discovery and is not a scan; drop --discover to scan targets, or drop the scan options (--ndjson, --scan, -iL, --exclude, CIDR or ranges) to discover",
            ),
            ConfigError::NotACommand { value, command } => write!(
                f,
                "'{value}' is not a command: did you mean {command}? (for a host of that name, give its full name or its address)"
            ),
            ConfigError::DiscoveryInWatchedScan => f.write_str(
                "--discovery is not available with --watch in a scan; watch the debugger hosts by name to follow their discovery status",
            ),
            ConfigError::Target(e) => e.fmt(f),
            ConfigError::Spec(e) => e.fmt(f),
            ConfigError::Exclude(e) => write!(f, "--exclude: {e}"),
            ConfigError::HostsFile(e) => e.fmt(f),
            ConfigError::TargetList { name, source } => {
                write!(f, "cannot read target list {name}: {source}")
            }
            ConfigError::EmptyTargetList { name } => write!(
                f,
                "the target list {name} holds no target (only blank lines and # comments); expected one address, name, CIDR or range per line or word"
            ),
            ConfigError::MinTimeoutAboveTimeout { min, max } => write!(
                f,
                "--min-timeout {} is longer than --timeout {}; expected min-timeout <= timeout",
                humantime::format_duration(*min),
                humantime::format_duration(*max)
            ),
            ConfigError::ResumeNeedsNdjsonScan => f.write_str(
                "--resume continues a scan written with --ndjson (the format written as hosts are decided), without --watch or --discovery; add --ndjson, or drop --resume",
            ),
            ConfigError::WatchQuiet => f.write_str(
                "--watch with --quiet reports nothing and never ends: add --output FILE for a state file, or drop --quiet",
            ),
            ConfigError::WatchFormat => f.write_str(
                "with --watch, standard output carries the events; --format (or --json) applies to the state file: add --output FILE",
            ),
            ConfigError::ListInterfaces(e) => {
                write!(f, "cannot list the network interfaces: {e}")
            }
            ConfigError::Interfaces(e) => e.fmt(f),
            ConfigError::Output(e) => e.fmt(f),
            ConfigError::Scan(e) => write!(f, "cannot scan: {e}"),
            ConfigError::FdLimitTooLow { limit, needed } => write!(
                f,
                "the open-file limit ({limit}) leaves no descriptor to probe with; at least {needed} are needed: raise it (ulimit -n 1024) and run again"
            ),
        }
    }
}

impl std::error::Error for ConfigError {}

/// A report, state file or listing that cannot be written.
#[derive(Debug)]
pub enum OutputError {
    /// `--output ''`.
    EmptyPath,
    /// `--output` names a directory.
    IsADirectory { path: PathBuf },
    /// `--output` is a symbolic link to a file, which is not followed.
    Symlink {
        path: PathBuf,
        target: Option<PathBuf>,
    },
    /// `--output` is neither a file, a FIFO nor a device (a socket, a block device).
    NotARegularFile { path: PathBuf },
    /// Found before anything was probed: the file cannot be created there.
    NotWritable { path: PathBuf, source: io::Error },
    /// Writing failed while the report was written (the machine changed under us).
    Write {
        path: Option<PathBuf>,
        source: io::Error,
    },
    /// A watch's state file (`--output`) cannot be replaced.
    StateFile { path: PathBuf, source: io::Error },
    /// A watch without a state file lost the reader of its standard output: the service it
    /// exists for has ended, which a supervisor must see as a failure to restart it.
    ReaderGone,
    /// `completions --dir` / `man --dir`: the directory cannot be used.
    Directory { dir: PathBuf, source: io::Error },
}

const ACCEPTED_PATH: &str = "expected a file path in an existing, writable directory";

impl fmt::Display for OutputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OutputError::EmptyPath => write!(f, "the output path is empty; {ACCEPTED_PATH}"),
            OutputError::IsADirectory { path } => write!(
                f,
                "cannot write the report to {}: it is a directory; {ACCEPTED_PATH}",
                path.display()
            ),
            OutputError::Symlink { path, target } => write!(
                f,
                "will not write the report to {}: it is a symbolic link{}, and a link to a file is not followed (whoever can write its directory could point it anywhere); give the file itself",
                path.display(),
                target
                    .as_ref()
                    .map(|t| format!(" to {}", t.display()))
                    .unwrap_or_default()
            ),
            OutputError::NotARegularFile { path } => write!(
                f,
                "cannot write the report to {}: it is neither a file nor a FIFO or device; {ACCEPTED_PATH}",
                path.display()
            ),
            OutputError::NotWritable { path, source } => write!(
                f,
                "cannot write the report to {}: {source}; {ACCEPTED_PATH}",
                path.display()
            ),
            OutputError::Write {
                path: Some(p),
                source,
            } => write!(f, "cannot write the report to {}: {source}", p.display()),
            OutputError::Write { path: None, source } => {
                write!(f, "cannot write the report: {source}")
            }
            OutputError::StateFile { path, source } => {
                write!(
                    f,
                    "cannot write the state file {}: {source}",
                    path.display()
                )
            }
            OutputError::ReaderGone => f.write_str(
                "standard output was closed (the reader of the watch's events went away); nothing is left to write to, so the watch ends",
            ),
            OutputError::Directory { dir, source } => write!(
                f,
                "cannot write into {}: {source}; expected a writable directory (created if missing)",
                dir.display()
            ),
        }
    }
}

impl std::error::Error for OutputError {}

/// Why a command could not do its job.
#[derive(Debug)]
pub enum AppError {
    Config(ConfigError),
    Sweep(SweepError),
    Listen(ListenError),
    Output(OutputError),
    /// `merge`: input that cannot be combined (exit 2).
    Merge(crate::merge::MergeError),
    /// `--resume FILE` that cannot be used (exit 2).
    Resume(crate::checkpoint::ResumeError),
    /// This machine could not run the tool at all (no runtime: out of descriptors or threads).
    Start(io::Error),
}

impl AppError {
    /// Bad usage or input, and a report that cannot be written, are 2 (the output was checked
    /// before probing, so a later failure is the machine changing under us); a machine that
    /// cannot run the probe is 4, as for other local errors.
    pub fn exit_code(&self) -> ExitCode {
        match self {
            AppError::Start(_) | AppError::Config(ConfigError::FdLimitTooLow { .. }) => {
                ExitCode::Incomplete
            }
            _ => ExitCode::Usage,
        }
    }
}

impl fmt::Display for AppError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AppError::Config(e) => e.fmt(f),
            AppError::Sweep(e) => e.fmt(f),
            AppError::Listen(e) => e.fmt(f),
            AppError::Output(e) => e.fmt(f),
            AppError::Merge(e) => e.fmt(f),
            AppError::Resume(e) => e.fmt(f),
            AppError::Start(e) => write!(
                f,
                "cannot start: {e}; raise the open-file limit (ulimit -n) and run again"
            ),
        }
    }
}

impl std::error::Error for AppError {}

impl From<ConfigError> for AppError {
    fn from(e: ConfigError) -> Self {
        AppError::Config(e)
    }
}

impl From<SweepError> for AppError {
    fn from(e: SweepError) -> Self {
        AppError::Sweep(e)
    }
}

impl From<ListenError> for AppError {
    fn from(e: ListenError) -> Self {
        AppError::Listen(e)
    }
}

impl From<OutputError> for AppError {
    fn from(e: OutputError) -> Self {
        AppError::Output(e)
    }
}
