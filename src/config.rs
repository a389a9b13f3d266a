//! Turns parsed arguments into a validated job: the one place defaults are decided and options
//! are combined. Everything that can be wrong with the input is found here, before any packet
//! is sent; each problem is a [`ConfigError`] naming the value and what is accepted.

use std::collections::hash_map::{Entry, HashMap};
use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::cli::{
    Cli, Command, CompletionsArgs, Format, ListenArgs, ManArgs, MergeArgs, ProbeArgs,
};
use crate::error::ConfigError;
use crate::vantage::Vantage;
use msvsmon_probe_core::{
    discover_interfaces, interfaces, is_set_syntax, parse_exclusion, parse_spec, parse_target,
    raise_fd_limit, Claim, DiscoverySettings, EngineSettings, HostProbe, HostsFile, Ide, Interface,
    Kind, Order, Port, ReadGreeting, Release, Resolver, Role, Scan, ScanBuildError, ScanBuilder,
    Selection, Shard, Spec, SpecError, SpecRole, SpecSetBuilder, SweepPlan, SweepRequest, Target,
};

/// Shortest interval `--watch` accepts: below it a round of a filtered host would not finish
/// before the next one starts.
pub const MIN_WATCH_INTERVAL: Duration = Duration::from_secs(1);

/// What the command line asks for, validated.
pub enum Job {
    Catalog {
        json: bool,
    },
    Completions(CompletionsArgs),
    Man(ManArgs),
    Listen(ListenConfig),
    /// Diagnose named targets, or the machines `--discover` finds.
    Probe(ProbeConfig),
    /// Probe named targets again every interval.
    WatchTargets(ProbeConfig),
    Scan(ScanConfig),
    /// Scan again every interval.
    WatchScan(ScanConfig),
    /// Combine earlier scans' NDJSON.
    Merge(MergeConfig),
}

/// `merge`: the files to read, and where the combined report goes.
#[derive(Debug)]
pub struct MergeConfig {
    pub files: Vec<PathBuf>,
    pub format: Output,
    /// `-o FILE`, checked before anything is read.
    pub file: Option<PathBuf>,
    pub audit: bool,
}

impl MergeConfig {
    fn from_args(a: &MergeArgs) -> Result<MergeConfig, ConfigError> {
        Ok(MergeConfig {
            files: a.files.clone(),
            format: output_format(a.format, a.json, a.ndjson, a.output.as_deref())?,
            file: a.output.clone(),
            audit: a.fail_if_open,
        })
    }
}

impl Job {
    /// `stdin` supplies standard input for `-` target lists (a parameter so tests can feed it).
    pub fn from_cli(
        cli: &Cli,
        stdin: &mut dyn FnMut() -> Box<dyn BufRead>,
    ) -> Result<Job, ConfigError> {
        Ok(match &cli.command {
            Some(Command::Catalog(a)) => Job::Catalog { json: a.json },
            Some(Command::Completions(a)) => Job::Completions(a.clone()),
            Some(Command::Man(a)) => Job::Man(a.clone()),
            Some(Command::Merge(a)) => Job::Merge(MergeConfig::from_args(a)?),
            Some(Command::Listen(a)) => Job::Listen(ListenConfig::from_args(a)),
            None => {
                let args = &cli.probe;
                // `lisen` is a typo, not a host: answered before any lookup.
                if let Some(first) = args.targets.first() {
                    if let Some(command) = crate::cli::command_near(first) {
                        return Err(ConfigError::NotACommand {
                            value: first.clone(),
                            command,
                        });
                    }
                }
                let fd_limit = raise_fd_limit();
                check_fd_limit(fd_limit)?;
                if is_scan(args) {
                    let c = ScanConfig::from_args(args, fd_limit, stdin)?;
                    match c.watch {
                        Some(_) => Job::WatchScan(c),
                        None => Job::Scan(c),
                    }
                } else {
                    let c = ProbeConfig::from_args(args, fd_limit)?;
                    match c.watch {
                        Some(_) => Job::WatchTargets(c),
                        None => Job::Probe(c),
                    }
                }
            }
        })
    }
}

impl Job {
    /// What the user should know before the run starts, one line each (none with `-q`).
    pub fn notes(&self) -> Vec<String> {
        match self {
            Job::Scan(c) | Job::WatchScan(c) if !c.reporting.quiet => {
                c.clamped.iter().map(ToString::to_string).collect()
            }
            Job::Probe(c) | Job::WatchTargets(c) if !c.reporting.quiet => c
                .repeated
                .iter()
                .map(|(t, n)| format!("'{t}' is named {n} times; it is probed once"))
                .collect(),
            _ => Vec::new(),
        }
    }
}

/// How results are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Output {
    /// A report for people (a scan: debugger hosts as found, a progress bar on a terminal).
    Human,
    /// One JSON document.
    Json,
    /// One JSON object per line per host, then a summary line (scans).
    Ndjson,
    /// The Prometheus text exposition format.
    Prometheus,
}

/// How `--watch` writes its changes on standard output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WatchLines {
    /// One readable line per change.
    Human,
    /// One JSON object per change and per interval (heartbeat).
    Ndjson,
}

/// Where the report goes and what the exit code means: shared by every mode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reporting {
    pub format: Output,
    /// `--watch`'s lines as asked (`--format human`, `--ndjson` or `--format ndjson`); `None`
    /// leaves it to standard output: readable lines on a terminal, NDJSON anywhere else.
    pub watch_lines: Option<WatchLines>,
    /// `--output FILE`: written atomically instead of standard output.
    pub file: Option<PathBuf>,
    /// `-q`: print nothing.
    pub quiet: bool,
    /// `--fail-if-open`: an open debugger port is the failure.
    pub audit: bool,
    /// `-v`: every port and every routine finding in the human report.
    pub verbose: bool,
    /// `--vantage`, or this machine's host name.
    pub vantage: Vantage,
}

/// `--format`, `--json` and `--ndjson` as one choice (human by default), and the `-o` file
/// checked before anything is sent or read.
fn output_format(
    format: Option<Format>,
    json: bool,
    ndjson: bool,
    file: Option<&Path>,
) -> Result<Output, ConfigError> {
    if let Some(path) = file {
        crate::output::check_writable(path).map_err(ConfigError::Output)?;
    }
    Ok(match (format, json, ndjson) {
        (Some(Format::Json), ..) | (None, true, _) => Output::Json,
        (Some(Format::Ndjson), ..) | (None, _, true) => Output::Ndjson,
        (Some(Format::Prometheus), ..) => Output::Prometheus,
        (Some(Format::Human), ..) | (None, false, false) => Output::Human,
    })
}

impl Reporting {
    /// Reads the output options and checks, before anything is probed, that the output file
    /// can be written.
    fn from_args(args: &ProbeArgs) -> Result<Self, ConfigError> {
        let format = output_format(args.format, args.json, args.ndjson, args.output.as_deref())?;
        let watch_lines = match format {
            _ if args.format == Some(Format::Human) => Some(WatchLines::Human),
            Output::Ndjson => Some(WatchLines::Ndjson),
            _ => None,
        };
        Ok(Reporting {
            format,
            watch_lines,
            file: args.output.clone(),
            quiet: args.quiet,
            audit: args.fail_if_open,
            vantage: args.vantage.clone().unwrap_or_else(Vantage::this_machine),
            verbose: args.verbose,
        })
    }

    /// A watch writes its events to standard output (readable lines or NDJSON) and its state, in
    /// `--format`, to `--output`: a watch that would report nothing, or a document format with
    /// nowhere to go, is refused.
    fn check_watch(&self) -> Result<(), ConfigError> {
        if self.file.is_none() && self.quiet {
            return Err(ConfigError::WatchQuiet);
        }
        if self.file.is_none() && !matches!(self.format, Output::Human | Output::Ndjson) {
            return Err(ConfigError::WatchFormat);
        }
        Ok(())
    }
}

/// What a probe run is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mode {
    /// Diagnose the named targets.
    Targets,
    /// Find every WS-Discovery responder on the link (`--discover`) on these interfaces, checked
    /// before anything is sent, and diagnose each.
    Discover { interfaces: Vec<Interface> },
}

/// A validated probe of named targets.
#[derive(Debug, Clone)]
pub struct ProbeConfig {
    pub mode: Mode,
    /// Each host once, in the order first named.
    pub targets: Vec<Target>,
    /// Targets named more than once (as first written), with how often: probed once.
    pub repeated: Vec<(String, usize)>,
    pub selection: Selection,
    pub engine: EngineSettings,
    pub greeting_wait: Duration,
    pub resolver: Resolver,
    pub reporting: Reporting,
    /// `--watch`: probe again every interval.
    pub watch: Option<Duration>,
    /// The WS-Discovery probe's settings; `None` with `--no-discovery`.
    pub discovery: Option<DiscoverySettings>,
    /// SMB2 clock and NetBIOS name of each address (off with `--no-windows-checks`, and in
    /// `--watch`).
    pub windows_checks: bool,
    /// The Visual Studio release the user attaches from (`--ide`, or assumed on Windows).
    pub ide: Option<Ide>,
}

/// `--hosts-file` (names only from that file) or the system resolver.
fn resolver_from(args: &ProbeArgs) -> Result<Resolver, ConfigError> {
    Ok(match &args.hosts_file {
        Some(path) => {
            Resolver::from_hosts_file(HostsFile::load(path).map_err(ConfigError::HostsFile)?)
        }
        None => Resolver::system(),
    })
}

/// Which catalog rows to probe: `--release`, `--azure-cloud-service` and `-p`.
fn selection_from(args: &ProbeArgs) -> Selection {
    let mut releases = args.releases.clone();
    releases.dedup_by_key(|r| r.key);
    Selection {
        releases: (!releases.is_empty()).then_some(releases),
        azure_cloud_service: args.azure_cloud_service,
        custom_ports: args.ports.clone(),
    }
}

/// The WS-Discovery settings of `--discovery-wait`.
fn discovery_from(args: &ProbeArgs) -> DiscoverySettings {
    DiscoverySettings {
        wait: args.discovery_wait,
    }
}

/// Descriptors a run holds besides its probes' sockets, at least: the standard streams and the
/// runtime (its poll set, waker and signal pipe: 9 when a run starts, measured on Linux), a lane's
/// poll set, the output file, name resolution and WS-Discovery.
const RUN_FDS: u64 = 16;
/// At large limits this many are kept free, for what a run opens besides probes.
const FD_HEADROOM: u64 = 64;
/// What each lane on a thread of its own adds: its runtime's poll set and waker, their
/// duplicates, and the lane's own poll set (5, measured on Linux).
const LANE_FDS: u64 = 5;
/// A lane per core is worth its runtime's descriptors only with at least this many probes each.
const MIN_LANE_CONCURRENCY: u64 = 64;
/// More parallel connects than this buys nothing for one host's dozen ports.
const MAX_HOST_CONCURRENCY: usize = 512;
/// Beyond this, more sockets in SYN_SENT only add kernel memory and local-port pressure.
const MAX_SCAN_CONCURRENCY: usize = 32_768;

/// Descriptors an open-file limit leaves for probes' sockets: the limit less what the run holds
/// (a quarter of the limit, at least [`RUN_FDS`], at most [`FD_HEADROOM`]).
fn probe_descriptors(limit: u64) -> u64 {
    limit.saturating_sub((limit / 4).clamp(RUN_FDS, FD_HEADROOM))
}

/// A limit that leaves no descriptor for a probe is refused: every connect would fail.
fn check_fd_limit(fd_limit: Option<u64>) -> Result<(), ConfigError> {
    match fd_limit {
        Some(limit) if probe_descriptors(limit) == 0 => Err(ConfigError::FdLimitTooLow {
            limit,
            needed: RUN_FDS + 1,
        }),
        _ => Ok(()),
    }
}

/// The floor of the wait on a host that answered: half of `--min-timeout` (its own round trips
/// are measured, so it needs less margin than a wait borrowed from other hosts), at most
/// `--timeout`.
fn up_min_timeout(args: &ProbeArgs) -> Duration {
    (args.min_timeout / 2).min(args.timeout)
}

/// Connect attempts in flight, sized from the open-file limit (`fd_limit`, if the platform has one).
pub fn concurrency_for(fd_limit: Option<u64>) -> usize {
    match fd_limit {
        Some(n) => (probe_descriptors(n) as usize).clamp(1, MAX_HOST_CONCURRENCY),
        None => MAX_HOST_CONCURRENCY,
    }
}

/// A scan's probes in flight and lanes, from the open-file limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScanBudget {
    pub concurrency: usize,
    /// 0: one per core (the engine's default); fewer when descriptors are too few to give each
    /// core a runtime of its own (one lane runs on the main runtime and costs none).
    pub lanes: usize,
    /// `--concurrency` as asked, when it was more than the limit allows.
    pub clamped_from: Option<usize>,
}

/// The scan's budget under `fd_limit` on `cores` cores, for `--concurrency` `asked`: at most what
/// the limit leaves for sockets once the run and its lanes have theirs.
pub fn scan_budget(fd_limit: Option<u64>, asked: Option<usize>, cores: usize) -> ScanBudget {
    let Some(limit) = fd_limit else {
        return ScanBudget {
            concurrency: asked.unwrap_or(MAX_SCAN_CONCURRENCY),
            lanes: 0,
            clamped_from: None,
        };
    };
    let free = probe_descriptors(limit);
    let cores = cores.max(1) as u64;
    // As many lanes as can each pay for their runtime and still probe MIN_LANE_CONCURRENCY.
    let (fits, lanes) = match (free / (LANE_FDS + MIN_LANE_CONCURRENCY)).min(cores) {
        k if k == cores && k > 1 => (free - k * LANE_FDS, 0),
        k if k > 1 => (free - k * LANE_FDS, k as usize),
        _ => (free, 1),
    };
    let fits = (fits as usize).clamp(1, MAX_SCAN_CONCURRENCY);
    let (concurrency, clamped_from) = match asked {
        Some(n) if n > fits => (fits, Some(n)),
        Some(n) => (n, None),
        None => (fits, None),
    };
    ScanBudget {
        concurrency,
        lanes,
        clamped_from,
    }
}

/// The note for a `--concurrency` lowered to fit the open-file limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConcurrencyClamped {
    pub asked: usize,
    pub using: usize,
}

impl std::fmt::Display for ConcurrencyClamped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "--concurrency {} is more than the open-file limit allows; using {} (ulimit -n raises the limit)",
            self.asked, self.using
        )
    }
}

/// Each target once, in the order first named, and those named more than once with their count.
fn once_each(targets: Vec<Target>) -> (Vec<Target>, Vec<(String, usize)>) {
    let mut first: HashMap<(String, Option<Port>), usize> = HashMap::new();
    let mut counts: Vec<usize> = Vec::new();
    let mut kept = Vec::new();
    for t in targets {
        match first.entry(t.key()) {
            Entry::Occupied(e) => counts[*e.get()] += 1,
            Entry::Vacant(e) => {
                e.insert(kept.len());
                counts.push(1);
                kept.push(t);
            }
        }
    }
    let repeated = kept
        .iter()
        .zip(&counts)
        .filter(|(_, n)| **n > 1)
        .map(|(t, n)| (t.input.clone(), *n))
        .collect();
    (kept, repeated)
}

impl ProbeConfig {
    pub fn from_args(args: &ProbeArgs, fd_limit: Option<u64>) -> Result<Self, ConfigError> {
        if let (true, Some(t)) = (args.discover, args.targets.first()) {
            return Err(ConfigError::DiscoverTakesNoTarget { target: t.clone() });
        }
        if args.discover && args.watch.is_some() {
            return Err(ConfigError::DiscoverWithWatch);
        }
        if let (false, Some(i)) = (args.discover, args.interfaces.first()) {
            return Err(ConfigError::InterfaceWithoutDiscover {
                interface: i.clone(),
            });
        }
        if args.targets.is_empty() && !args.discover {
            return Err(ConfigError::NoTarget { scan: false });
        }
        let parsed = args
            .targets
            .iter()
            .map(|t| parse_target(t).map_err(ConfigError::Target))
            .collect::<Result<Vec<_>, _>>()?;
        let (targets, repeated) = once_each(parsed);
        let resolver = resolver_from(args)?;
        let selection = selection_from(args);
        let reporting = Reporting::from_args(args)?;
        if args.watch.is_some() {
            reporting.check_watch()?;
        }
        let mode = if args.discover {
            let all = interfaces().map_err(ConfigError::ListInterfaces)?;
            Mode::Discover {
                interfaces: discover_interfaces(&all, &args.interfaces)
                    .map_err(ConfigError::Interfaces)?,
            }
        } else {
            Mode::Targets
        };
        Ok(ProbeConfig {
            mode,
            targets,
            repeated,
            selection,
            engine: EngineSettings {
                up_min_timeout: up_min_timeout(args),
                ..EngineSettings::fixed(args.timeout, args.retries, concurrency_for(fd_limit))
            },
            greeting_wait: args.greeting_wait,
            resolver,
            reporting,
            watch: args.watch,
            discovery: (!args.no_discovery).then(|| discovery_from(args)),
            // Not on Windows yet: run by the .exe under Wine, the checks never finished (the
            // probe hung past its timeout), so they stay off there until that is understood.
            windows_checks: !args.no_windows_checks && args.watch.is_none() && !cfg!(windows),
            ide: crate::ide::resolve(args.ide),
        })
    }

    /// The engine's probe of named targets, as configured.
    pub fn host_probe(&self) -> HostProbe {
        HostProbe::builder()
            .selection(self.selection.clone())
            .resolver(self.resolver.clone())
            .timeout(self.engine.max_timeout)
            .retries(self.engine.retries)
            .up_min_timeout(self.engine.up_min_timeout)
            .concurrency(self.engine.concurrency)
            .greeting_wait(self.greeting_wait)
            .discovery(self.discovery)
            .windows_checks(self.windows_checks)
            .build()
    }
}

/// A validated `listen` run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListenConfig {
    /// What to listen on.
    pub listen: msvsmon_probe_core::ListenSettings,
    /// The releases it stands in for, for the banner.
    pub releases: Vec<&'static Release>,
}

impl ListenConfig {
    pub fn from_args(args: &ListenArgs) -> Self {
        let mut releases = args.releases.clone();
        releases.dedup_by_key(|r| r.key);
        if releases.is_empty() && args.ports.is_empty() {
            releases.push(Release::find("2022").expect("2022 is in the catalog"));
        }
        // The ports a monitor of each release listens on: main and WoW64. The 17.2+ service's
        // 4040 is left out: it belongs to the service set-up, not to a monitor started by hand.
        let mut ports: Vec<Port> = releases
            .iter()
            .flat_map(|r| r.ports.iter())
            .filter(|a| a.role != Role::Wow64Service)
            .map(|a| a.port)
            .chain(args.ports.iter().copied())
            .collect();
        ports.sort();
        ports.dedup();
        let kinds: Vec<Kind> = releases.iter().map(|r| r.kind).collect();
        let ports = ports
            .into_iter()
            .map(|p| {
                let claims = Claim::on(p, &kinds);
                let label = if claims.is_empty() {
                    "custom port".to_string()
                } else {
                    Claim::label(&claims)
                };
                (p, label)
            })
            .collect();
        ListenConfig {
            listen: msvsmon_probe_core::ListenSettings {
                ports,
                bind: args.bind,
                discovery: !args.no_discovery,
            },
            releases,
        }
    }
}

/// True when the arguments ask for a scan rather than the diagnosis of named hosts: a CIDR, a
/// range, an input list, exclusions, `--scan` or `--ndjson` (except with `--watch`, where
/// `--ndjson` only picks how the changes of the named targets are written).
pub fn is_scan(args: &ProbeArgs) -> bool {
    let ndjson = args.ndjson || args.format == Some(Format::Ndjson);
    args.scan
        || args.resume.is_some()
        || (ndjson && args.watch.is_none())
        || !args.input_lists.is_empty()
        || !args.exclude.is_empty()
        || !args.exclude_file.is_empty()
        || args.targets.iter().any(|t| is_set_syntax(t))
}

/// A validated scan.
#[derive(Debug, Clone)]
pub struct ScanConfig {
    /// The targets, exclusions, ports and resolver: what the scan covers.
    pub sweep: SweepRequest,
    pub settings: EngineSettings,
    pub greeting_wait: Duration,
    pub reporting: Reporting,
    /// `--discovery`: WS-Discovery of each reported host.
    pub discovery: Option<DiscoverySettings>,
    /// `--watch`: scan again every interval.
    pub watch: Option<Duration>,
    pub all: bool,
    /// `--concurrency` lowered to fit the open-file limit (a note on stderr).
    pub clamped: Option<ConcurrencyClamped>,
    /// `--resume FILE`: the scan's checkpoint.
    pub resume: Option<PathBuf>,
}

impl ScanConfig {
    /// The engine's scan of a prepared plan, as configured.
    pub fn scan(&self, plan: &SweepPlan) -> Result<Scan, ScanBuildError> {
        self.builder(plan).build()
    }

    /// The same, not built yet (a resumed scan adds the positions done before).
    pub fn builder(&self, plan: &SweepPlan) -> ScanBuilder {
        Scan::builder(
            plan.targets.clone(),
            plan.ports.iter().map(|p| p.port).collect(),
        )
        .settings(self.settings)
        .after_connect(ReadGreeting {
            wait: self.greeting_wait,
        })
    }
}

/// FNV-1a over the command's targets and ports: the default seed, identical on every machine
/// that runs the same command (so shards agree without being told a seed).
fn default_seed(parts: &[String]) -> u64 {
    let mut h = msvsmon_probe_core::Fnv64::default();
    for p in parts {
        h.write(p.as_bytes());
        h.write(&[0]);
    }
    h.finish()
}

/// The name a target list is called in messages.
fn list_name(path: &Path) -> String {
    if path.as_os_str() == "-" {
        "<stdin>".to_string()
    } else {
        path.display().to_string()
    }
}

/// Reads the list at `path` (`-` for standard input) into `into`; how many expressions it held.
fn read_list(
    path: &Path,
    role: SpecRole,
    into: &mut SpecSetBuilder,
    stdin: &mut dyn FnMut() -> Box<dyn BufRead>,
) -> Result<u64, ConfigError> {
    let name = list_name(path);
    if path.as_os_str() == "-" {
        return into
            .read_list(&name, stdin(), role)
            .map_err(ConfigError::Spec);
    }
    let file = std::fs::File::open(path).map_err(|source| ConfigError::TargetList {
        name: name.clone(),
        source,
    })?;
    into.read_list(&name, std::io::BufReader::new(file), role)
        .map_err(ConfigError::Spec)
}

/// A spec of the command line, added to `into`.
fn add_arg(
    into: &mut SpecSetBuilder,
    spec: Result<Spec, SpecError>,
    wrap: fn(SpecError) -> ConfigError,
) -> Result<(), ConfigError> {
    let spec = spec.map_err(wrap)?;
    into.add(spec).map_err(|problem| {
        wrap(SpecError {
            input: "the command line".into(),
            problem,
            location: None,
        })
    })
}

impl ScanConfig {
    /// `stdin` supplies standard input for `-` lists (a parameter so tests can feed it).
    pub fn from_args(
        args: &ProbeArgs,
        fd_limit: Option<u64>,
        stdin: &mut dyn FnMut() -> Box<dyn BufRead>,
    ) -> Result<Self, ConfigError> {
        if args.discover {
            return Err(ConfigError::DiscoverIsNotAScan);
        }
        let mut targets = SpecSetBuilder::default();
        for t in &args.targets {
            add_arg(&mut targets, parse_spec(t), ConfigError::Spec)?;
        }
        for f in &args.input_lists {
            if read_list(f, SpecRole::Target, &mut targets, stdin)? == 0 {
                return Err(ConfigError::EmptyTargetList { name: list_name(f) });
            }
        }
        if targets.is_empty() {
            return Err(ConfigError::NoTarget { scan: true });
        }
        if args.watch.is_some() && args.discovery {
            return Err(ConfigError::DiscoveryInWatchedScan);
        }
        if args.resume.is_some() {
            let ndjson = args.ndjson || args.format == Some(Format::Ndjson);
            if !ndjson || args.watch.is_some() || args.discovery {
                return Err(ConfigError::ResumeNeedsNdjsonScan);
            }
        }
        let mut excludes = SpecSetBuilder::default();
        for t in &args.exclude {
            add_arg(&mut excludes, parse_exclusion(t), ConfigError::Exclude)?;
        }
        for f in &args.exclude_file {
            read_list(f, SpecRole::Exclusion, &mut excludes, stdin)?;
        }
        let resolver = resolver_from(args)?;
        let selection = selection_from(args);
        if args.min_timeout > args.timeout {
            return Err(ConfigError::MinTimeoutAboveTimeout {
                min: args.min_timeout,
                max: args.timeout,
            });
        }
        let reporting = Reporting::from_args(args)?;
        if args.watch.is_some() {
            reporting.check_watch()?;
        }
        let mut seed_parts: Vec<String> = args.targets.clone();
        seed_parts.extend(args.input_lists.iter().map(|p| p.display().to_string()));
        seed_parts.extend(
            selection
                .plan(false, None)
                .iter()
                .map(|p| p.port.to_string()),
        );
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let budget = scan_budget(fd_limit, args.concurrency, cores);
        Ok(ScanConfig {
            settings: EngineSettings {
                max_timeout: args.timeout,
                min_timeout: args.min_timeout,
                up_min_timeout: up_min_timeout(args),
                retries: args.retries,
                concurrency: budget.concurrency,
                rate: args.rate,
                seed: args.seed.unwrap_or_else(|| default_seed(&seed_parts)),
                shard: args.shard.unwrap_or(Shard::WHOLE),
                max_hosts: args.max_targets,
                lanes: budget.lanes,
                order: Order::Shuffled,
            },
            sweep: SweepRequest {
                targets: targets.finish(),
                excludes: excludes.finish(),
                resolver,
                selection,
                allow_public: args.yes,
            },
            greeting_wait: args.greeting_wait,
            reporting,
            discovery: args.discovery.then(|| discovery_from(args)),
            watch: args.watch,
            all: args.all,
            clamped: budget.clamped_from.map(|asked| ConcurrencyClamped {
                asked,
                using: budget.concurrency,
            }),
            resume: args.resume.clone(),
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
        assert_eq!(concurrency_for(Some(20)), 4);
        assert_eq!(concurrency_for(Some(10)), 1);
        assert_eq!(concurrency_for(None), MAX_HOST_CONCURRENCY);
        assert!(check_fd_limit(Some(16)).is_err());
        assert!(check_fd_limit(Some(17)).is_ok());
        assert!(check_fd_limit(None).is_ok());
    }

    #[test]
    fn a_scan_fits_its_lanes_and_probes_under_the_fd_limit() {
        let budget = |limit, asked, cores| {
            let b = scan_budget(limit, asked, cores);
            (b.concurrency, b.lanes, b.clamped_from)
        };
        // ulimit -n 20: four sockets, one lane (no runtime per core), --concurrency clamped.
        assert_eq!(budget(Some(20), Some(500), 2), (4, 1, Some(500)));
        assert_eq!(budget(Some(20), None, 2), (4, 1, None));
        assert_eq!(budget(Some(20), Some(3), 2), (3, 1, None));
        assert_eq!(budget(Some(48), Some(500), 2), (32, 1, Some(500)));
        // Enough for a lane per core: each lane's runtime is paid for.
        assert_eq!(budget(Some(256), None, 2), (182, 0, None));
        assert_eq!(budget(Some(1024), Some(500), 8), (500, 0, None));
        assert_eq!(budget(Some(1024), Some(1000), 8), (920, 0, Some(1000)));
        // Not enough for sixteen: as many lanes as can pay for their runtime.
        assert_eq!(budget(Some(1024), None, 16), (895, 13, None));
        assert_eq!(
            budget(Some(1 << 20), None, 2),
            (MAX_SCAN_CONCURRENCY, 0, None)
        );
        assert_eq!(budget(None, Some(7), 2), (7, 0, None));
        // Never more than the limit could hold, whatever the cores.
        for limit in 17..2000u64 {
            for cores in [1, 2, 4, 64] {
                let b = scan_budget(Some(limit), Some(1_000_000), cores);
                let lanes = match b.lanes {
                    0 => cores as u64,
                    1 => 0,
                    k => k as u64,
                };
                let used = 9 + lanes * LANE_FDS + 1 + b.concurrency as u64;
                assert!(used < limit, "limit {limit}, {cores} cores: {b:?}");
            }
        }
    }

    fn listen(argv: &[&str]) -> ListenConfig {
        use clap::Parser;
        let mut all = vec!["msvsmon-probe", "listen"];
        all.extend_from_slice(argv);
        match crate::cli::Cli::try_parse_from(all).unwrap().command {
            Some(crate::cli::Command::Listen(a)) => ListenConfig::from_args(&a),
            other => panic!("{other:?}"),
        }
    }

    fn ports(c: &ListenConfig) -> Vec<u16> {
        c.listen.ports.iter().map(|(p, _)| p.0).collect()
    }

    #[test]
    fn listen_defaults_to_the_2022_ports_and_adds_what_it_is_given() {
        let c = listen(&[]);
        assert_eq!(ports(&c), [4025, 4026]);
        assert_eq!(c.listen.ports[1].1, "VS 2022 or 2026 · main");
        assert!(c.listen.discovery && c.listen.bind.is_none());
        assert_eq!(ports(&listen(&["--release", "2019"])), [4024, 4025]);
        assert_eq!(ports(&listen(&["-p", "4567"])), [4567]);
        assert_eq!(
            ports(&listen(&["-r", "2017", "-p", "4567"])),
            [4022, 4023, 4567]
        );
        assert_eq!(listen(&["-p", "4567"]).listen.ports[0].1, "custom port");
        assert!(!listen(&["--no-discovery"]).listen.discovery);
    }
}
