//! The command line, declared with clap's derive API. Parsing only: values are checked here
//! (each parser's message names what is accepted); combining them into a run is `config.rs`.

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum, ValueHint};

use msvsmon_probe_core::{Port, Release, Shard};

use crate::error::ValueError;
use crate::vantage::Vantage;

/// The examples `--help` ends with and the man page's EXAMPLES section shows: (heading, [(what it
/// does, the command)]). Data, so the two render it each in their own way from one source.
pub const EXAMPLES: &[(&str, &[(&str, &str)])] = &[
    (
        "one host (when Attach to Process fails)",
        &[
            ("Why does it fail?", "msvsmon-probe devbox"),
            (
                "A monitor started with /port 4567",
                "msvsmon-probe devbox:4567",
            ),
            (
                "Only the VS 2022 ports, as JSON",
                "msvsmon-probe --release 2022 --json devbox",
            ),
            (
                "A stand-in monitor to test with",
                "msvsmon-probe listen          (then probe it from elsewhere)",
            ),
        ],
    ),
    (
        "a subnet",
        &[
            ("Every debugger host", "msvsmon-probe 10.20.0.0/16"),
            (
                "One JSON line per host",
                "msvsmon-probe --ndjson 10.20.0.0/16 > hosts.ndjson",
            ),
            (
                "Part 2 of 4 of the same sweep",
                "msvsmon-probe --shard 2/4 -iL networks.txt",
            ),
            ("Every debugger on this link", "msvsmon-probe --discover"),
        ],
    ),
    (
        "monitoring",
        &[
            (
                "A check (0 = reachable)",
                "msvsmon-probe -q --release 2022 buildbox",
            ),
            (
                "An audit (1 = a debugger exposed)",
                "msvsmon-probe -q --fail-if-open 10.20.0.0/16",
            ),
            (
                "Prometheus textfile, every minute",
                "msvsmon-probe --watch 60s --format prometheus -o m.prom box",
            ),
        ],
    ),
];

/// The exit codes (src/exit_code.rs), for `--help` and the man page's EXIT STATUS: (code, the
/// lines that say when). Later lines are qualifications of the first.
pub const EXIT_STATUS: &[(&str, &[&str])] = &[
    (
        "0",
        &[
            "Visual Studio can attach: a main or custom port accepts on some target",
            "(--ide: a port of that release)",
            "(--fail-if-open: every target probed, no debugger port open, WoW64 included)",
        ],
    ),
    (
        "1",
        &[
            "every target probed and none lets Visual Studio attach",
            "(--fail-if-open: a debugger port is open, WoW64 included)",
        ],
    ),
    (
        "2",
        &["bad usage or input, nothing was probed; or the report could not be written"],
    ),
    (
        "3",
        &["a target could not be resolved, and nothing was found on the others"],
    ),
    (
        "4",
        &[
            "local errors (out of file descriptors, ports, buffers) or an unfinished scan",
            "left ports unprobed, and nothing was found",
        ],
    ),
    (
        "130",
        &["interrupted (a watch stopped by Ctrl-C or SIGTERM exits 0)"],
    ),
];

/// Where the facts come from and where the JSON is described: the last words of `--help`, the
/// man page's SEE ALSO.
pub const SOURCES: &str = "\
Port facts come from Microsoft's \"Remote Debugger Port Assignments\" page (2015-2026 revisions)
and its firewall page; `msvsmon-probe catalog` lists them with what is inferred.
JSON fields: docs/json.md and schema/output.v1.schema.json in the source.";

/// The text after `--help`'s options: examples, exit codes, sources.
fn after_help() -> String {
    let mut s = String::new();
    for (heading, examples) in EXAMPLES {
        s.push_str(&format!("Examples, {heading}:\n"));
        for (what, command) in *examples {
            s.push_str(&format!("  {what:<35}{command}\n"));
        }
        s.push('\n');
    }
    s.push_str("Exit codes:\n");
    for (code, lines) in EXIT_STATUS {
        for (i, line) in lines.iter().enumerate() {
            let code = if i == 0 { code } else { "" };
            s.push_str(&format!("  {code:<5}{line}\n"));
        }
    }
    s.push('\n');
    s.push_str(SOURCES);
    s
}

/// Can this machine reach a Visual Studio Remote Debugger (msvsmon)? If not, why not?
///
/// Probes every release's main and WoW64 ports on every address of each target and explains, for
/// each port that does not answer, what that means and what to do.
#[derive(Debug, Parser)]
#[command(
    name = "msvsmon-probe",
    version,
    about,
    long_about,
    after_help = after_help(),
    args_conflicts_with_subcommands = true,
    max_term_width = 100
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,

    #[command(flatten)]
    pub probe: ProbeArgs,

    /// When to use colour: auto uses it on a terminal unless NO_COLOR is set.
    #[arg(long, value_enum, default_value_t = ColorWhen::Auto, global = true)]
    pub color: ColorWhen,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print the release catalog: every release's ports, roles and how certain each fact is.
    Catalog(CatalogArgs),
    /// Stand in for a remote debugger: listen on a release's ports, accept and close every
    /// connection, and answer WS-Discovery Probes, so the network path can be tested before (or
    /// without) installing the remote tools. Not the real monitor: nothing can be debugged.
    Listen(ListenArgs),
    /// Print a shell completion script (bash, zsh, fish, powershell, elvish), or write it to a
    /// directory with --dir.
    Completions(CompletionsArgs),
    /// Print the man page (roff), or write one page per command to a directory with --dir.
    Man(ManArgs),
    /// Combine the NDJSON files of a scan's shards or runs into one answer
    ///
    /// Every host once, one summary, in any output format. Files from different scans (another
    /// fingerprint: targets, exclusions, ports, seed or number of shards) are refused.
    Merge(MergeArgs),
}

#[derive(Debug, Clone, Args)]
pub struct MergeArgs {
    /// NDJSON written by `--ndjson` scans (`-` for standard input); one file may hold several
    /// runs, as GNU parallel writes them.
    #[arg(value_name = "FILE", required = true)]
    pub files: Vec<PathBuf>,

    /// Output format [default: human]
    #[arg(long, value_enum, conflicts_with_all = ["json", "ndjson"])]
    pub format: Option<Format>,

    /// The combined scan as one JSON document (same as --format json).
    #[arg(long, conflicts_with = "ndjson")]
    pub json: bool,

    /// Host lines, then one summary line (same as --format ndjson).
    #[arg(long)]
    pub ndjson: bool,

    /// Write the report to FILE (atomically) instead of standard output.
    #[arg(short = 'o', long, value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// Audit mode: exit 1 when a debugger port is open, 0 when none is.
    #[arg(long)]
    pub fail_if_open: bool,
}

#[derive(Debug, Clone, Args)]
pub struct CompletionsArgs {
    /// The shell to complete for.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,

    /// Write the script into DIR (under the shell's usual file name) instead of printing it.
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

#[derive(Debug, Clone, Args)]
pub struct ManArgs {
    /// Write msvsmon-probe.1 and a page per subcommand into DIR instead of printing the main page.
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ListenArgs {
    /// Listen on these releases' main and WoW64 ports (default 2022: 4026 and 4025). Repeat or
    /// separate with commas.
    #[arg(short = 'r', long = "release", value_name = "RELEASE", value_delimiter = ',', value_parser = ReleaseParser::any(), hide_possible_values = true)]
    pub releases: Vec<&'static Release>,

    /// Listen on PORT too (alone, without --release: only the ports given). Repeat or separate
    /// with commas.
    #[arg(short = 'p', long = "port", value_name = "PORT", value_delimiter = ',', value_parser = parse_port)]
    pub ports: Vec<Port>,

    /// Listen on this address only (default: every address, IPv4 and IPv6). A loopback address
    /// answers WS-Discovery by unicast only: multicast does not run on loopback.
    #[arg(long, value_name = "ADDRESS", value_parser = parse_bind)]
    pub bind: Option<IpAddr>,

    /// Do not answer WS-Discovery, as a monitor started with /nodiscovery.
    #[arg(long)]
    pub no_discovery: bool,
}

#[derive(Debug, Args)]
pub struct CatalogArgs {
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ProbeArgs {
    /// Hosts to probe: a name, an IPv4 address, an IPv6 address (fe80::1%eth0), or any of these
    /// with :PORT for a monitor started with /port (`[IPv6]:PORT`).
    #[arg(value_name = "TARGET")]
    pub targets: Vec<String>,

    /// Also probe PORT on every target (a monitor started with `msvsmon /port PORT`); the release
    /// ports are still probed. Repeat or separate with commas.
    #[arg(short = 'p', long = "port", value_name = "PORT", value_delimiter = ',', value_parser = parse_port)]
    pub ports: Vec<Port>,

    /// Probe only these releases' ports (2012, 2013, 2015, 2017, 2019, 2022, 2026, app-service,
    /// azure-cloud-service). Repeat or separate with commas.
    #[arg(short = 'r', long = "release", value_name = "RELEASE", value_delimiter = ',', value_parser = ReleaseParser::any(), hide_possible_values = true)]
    pub releases: Vec<&'static Release>,

    /// The Visual Studio release you attach from: the verdict then says whether that release
    /// can attach, and names a release mismatch. Default on Windows: the newest Visual Studio
    /// installed (found by vswhere), stated in the report as an assumption. Applies to the
    /// report of named hosts (not yet to scans or --watch).
    #[arg(long, value_name = "RELEASE", env = "MSVSMON_PROBE_IDE", value_parser = ReleaseParser::ides())]
    pub ide: Option<&'static Release>,

    /// Show every port and every routine finding (closed WoW64 ports, releases not running),
    /// not only what matters for attaching.
    #[arg(short = 'v', long)]
    pub verbose: bool,

    /// Also probe the Azure Cloud Services remote-debugger plugin ports (a retired feature).
    #[arg(long)]
    pub azure_cloud_service: bool,

    /// How long to wait for each connect attempt (500ms, 2s; a bare number is seconds).
    /// The Windows default is longer because Windows retries a SYN after a reset (KB175523).
    #[arg(short = 't', long, value_name = "DURATION", default_value = DEFAULT_TIMEOUT, value_parser = parse_timeout, allow_hyphen_values = true)]
    pub timeout: Duration,

    /// Extra attempts for a port that does not answer, before calling it filtered, on a host that
    /// answered nothing. A silent port of a host that answered on another port gets at least 7
    /// attempts in all (a lost SYN, not a firewall, is then likely), each waiting the host's own
    /// round-trip time.
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = parse_retries, allow_hyphen_values = true)]
    pub retries: u32,

    /// How long to listen on an accepted connection for a service that speaks first.
    #[arg(long, value_name = "DURATION", default_value = "300ms", value_parser = parse_greeting_wait)]
    pub greeting_wait: Duration,

    /// Resolve names only from this hosts(5) file; no DNS query is sent.
    #[arg(long, value_name = "FILE")]
    pub hosts_file: Option<PathBuf>,

    /// Print one JSON document (schema in docs/json.md) instead of the report.
    #[arg(long, conflicts_with_all = ["ndjson", "format"])]
    pub json: bool,

    /// Report format: human (default), json (one document), ndjson (one line per host, then a
    /// summary; makes the run a scan, except with --watch), prometheus (the text exposition format, for the node
    /// exporter's textfile collector).
    #[arg(
        long,
        value_enum,
        value_name = "FORMAT",
        help_heading = "Output and monitoring"
    )]
    pub format: Option<Format>,

    /// Write the report to FILE instead of standard output, atomically (written beside it, then
    /// renamed into place): a reader never sees half a file. With --watch, rewritten every round.
    #[arg(
        short = 'o',
        long,
        value_name = "FILE",
        help_heading = "Output and monitoring"
    )]
    pub output: Option<PathBuf>,

    /// Print nothing (errors aside): the exit code is the answer, for checks.
    #[arg(short = 'q', long, help_heading = "Output and monitoring")]
    pub quiet: bool,

    /// Audit mode: exit 1 when a debugger port (WoW64 included) is open, 0 when none is (the
    /// opposite of the default), so a compliance check fails on an exposed debugger.
    #[arg(long, help_heading = "Output and monitoring")]
    pub fail_if_open: bool,

    /// Name where this run looks from, in every result [default: this machine's host name]
    ///
    /// Recorded in the JSON document, every NDJSON line and as a Prometheus label: a firewall's
    /// answer depends on the source network, so results from several sites stay apart when
    /// merged.
    #[arg(long, value_name = "NAME", value_parser = parse_vantage, help_heading = "Output and monitoring")]
    pub vantage: Option<Vantage>,

    /// Probe the targets again every INTERVAL (1s or more: 30s, 5m), forever: a line per change
    /// (port state, verdict, addresses, discovery), for people on a terminal (--format human),
    /// else NDJSON with a heartbeat per interval (--ndjson). Stops cleanly on Ctrl-C or SIGTERM.
    #[arg(long, value_name = "INTERVAL", value_parser = parse_watch, help_heading = "Output and monitoring")]
    pub watch: Option<Duration>,

    /// Skip the WS-Discovery probe (UDP 3702) that tells whether the host would show in Visual
    /// Studio's Find dialog.
    #[arg(long)]
    pub no_discovery: bool,

    /// Skip the SMB2 clock and NetBIOS name checks of named targets.
    ///
    /// They run beside the debugger ports: SMB2 NEGOTIATE on TCP 445 (the host's clock; Kerberos
    /// fails beyond 5 minutes of skew) and NetBIOS node status on UDP 137 (the machine's own
    /// name and workgroup or domain). Neither sends a credential; scans and --watch never run
    /// them.
    #[arg(long)]
    pub no_windows_checks: bool,

    /// How long to listen for WS-Discovery answers after the first multicast Probe. A target
    /// reached only by unicast (off the link, or this machine) is listened for 1s at most, and
    /// listening stops early once the target has answered or refused.
    #[arg(long, value_name = "DURATION", default_value = "3s", value_parser = parse_discovery_wait)]
    pub discovery_wait: Duration,

    /// Find every WS-Discovery responder on the local link, as Visual Studio's Find dialog does,
    /// and probe each one's debugger ports. Takes no TARGET.
    #[arg(long, conflicts_with = "no_discovery")]
    pub discover: bool,

    /// With --discover: multicast on this interface only (default: every interface that is up,
    /// multicast-capable and not loopback). Repeat for several.
    // `Other`: shells complete no file names here. Interface names differ per machine, so a
    // completion script generated once cannot list them.
    #[arg(long = "interface", value_name = "NAME", value_hint = ValueHint::Other)]
    pub interfaces: Vec<String>,
    /// Read targets from FILE: addresses, names, CIDR or ranges, several per line, '#' comments;
    /// '-' reads standard input. nmap's `-iL FILE` is accepted too. Makes the run a scan.
    #[arg(long = "input-list", value_name = "FILE", help_heading = "Subnet scan")]
    pub input_lists: Vec<PathBuf>,

    /// Leave these targets out (addresses, names, CIDR, ranges); repeat or separate with commas.
    #[arg(
        long,
        value_name = "TARGETS",
        value_delimiter = ',',
        help_heading = "Subnet scan"
    )]
    pub exclude: Vec<String>,

    /// Leave out the targets listed in FILE (same format as --input-list).
    #[arg(long, value_name = "FILE", help_heading = "Subnet scan")]
    pub exclude_file: Vec<PathBuf>,

    /// In a scan, also probe WS-Discovery (UDP 3702) of every reported host, as a diagnosis
    /// does by default: it tells whether each would show in Visual Studio's Find dialog. On the
    /// local link, --discover finds the responders far faster.
    #[arg(long, conflicts_with = "no_discovery", help_heading = "Subnet scan")]
    pub discovery: bool,

    /// Scan even when every target is a single host (one line per host with --ndjson).
    #[arg(long, help_heading = "Subnet scan")]
    pub scan: bool,

    /// Stream one JSON object per host as it completes, then a summary object (implies --scan;
    /// the same as --format ndjson).
    #[arg(long, conflicts_with = "format", help_heading = "Subnet scan")]
    pub ndjson: bool,

    /// Report every host, not only hosts with an open port or a blocked debugger port.
    #[arg(long, help_heading = "Subnet scan")]
    pub all: bool,

    /// Seed of the scan order. The default is derived from the targets and ports, so every
    /// shard of the same command computes the same order.
    #[arg(long, value_name = "N", help_heading = "Subnet scan")]
    pub seed: Option<u64>,

    /// Scan only part K of N of the (same) scan order, e.g. 2/4 on the second of four machines;
    /// the parts are disjoint and their outputs concatenate.
    #[arg(long, value_name = "K/N", value_parser = parse_shard, help_heading = "Subnet scan")]
    pub shard: Option<Shard>,

    /// Record where the scan got to in FILE (every second and on Ctrl-C/SIGTERM); run the same
    /// command again to continue from there, appending to the --ndjson -o file (needs --ndjson).
    #[arg(long, value_name = "FILE", help_heading = "Subnet scan")]
    pub resume: Option<PathBuf>,

    /// Connect attempts in flight at most (default: from the open-file limit).
    #[arg(long, value_name = "N", value_parser = parse_concurrency, help_heading = "Subnet scan")]
    pub concurrency: Option<usize>,

    /// Probes started per second at most (retries included).
    #[arg(long, value_name = "PER_SECOND", value_parser = parse_rate, help_heading = "Subnet scan")]
    pub rate: Option<f64>,

    /// Shortest wait per attempt when measured round trips allow it; --timeout is the longest.
    /// On a host that answered, whose own round trips are measured, half of it (50ms).
    #[arg(long, value_name = "DURATION", default_value = "100ms", value_parser = parse_timeout)]
    pub min_timeout: Duration,

    /// Scan at most N hosts (the first N of the scan order).
    #[arg(long, value_name = "N", value_parser = parse_max_targets, help_heading = "Subnet scan")]
    pub max_targets: Option<u128>,

    /// Allow scanning more than 65,536 public internet addresses.
    #[arg(long, help_heading = "Subnet scan")]
    pub yes: bool,
}

/// Must agree with `platform::DEFAULT_CONNECT_TIMEOUT` (a unit test checks).
#[cfg(not(windows))]
const DEFAULT_TIMEOUT: &str = "1s";
#[cfg(windows)]
const DEFAULT_TIMEOUT: &str = "2s";

/// How results are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Human,
    Json,
    Ndjson,
    Prometheus,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorWhen {
    Auto,
    Always,
    Never,
}

fn parse_port(s: &str) -> Result<Port, ValueError> {
    msvsmon_probe_core::parse_port(s).map_err(ValueError::Port)
}

/// Release names as the catalog has them, as a clap value parser: parses like [`Release::find`]
/// ("2022", "vs2022") and offers the catalog keys as possible values, for completions and the
/// man page. A bad value gets one line naming the accepted keys.
#[derive(Debug, Clone, Copy)]
pub struct ReleaseParser {
    /// Only the releases an IDE can be ([`Release::ides`]), not App Service or Cloud Services.
    ides_only: bool,
}

impl ReleaseParser {
    /// Every release of the catalog (`--release`).
    pub fn any() -> Self {
        ReleaseParser { ides_only: false }
    }

    /// The Visual Studio releases (`--ide`).
    pub fn ides() -> Self {
        ReleaseParser { ides_only: true }
    }

    fn keys(self) -> Vec<&'static str> {
        if self.ides_only {
            Release::ides().map(|r| r.key).collect()
        } else {
            Release::keys()
        }
    }

    fn lookup(self, s: &str) -> Result<&'static Release, ValueError> {
        let found = if self.ides_only {
            Release::find_ide(s)
        } else {
            Release::find(s)
        };
        found.ok_or_else(|| ValueError::UnknownRelease {
            value: s.to_string(),
            accepted: self.keys(),
        })
    }
}

impl clap::builder::TypedValueParser for ReleaseParser {
    type Value = &'static Release;

    fn parse_ref(
        &self,
        cmd: &clap::Command,
        arg: Option<&clap::Arg>,
        value: &std::ffi::OsStr,
    ) -> Result<Self::Value, clap::Error> {
        let text = value.to_string_lossy();
        self.lookup(&text).map_err(|e| {
            let arg = arg.map_or_else(|| "RELEASE".to_string(), |a| a.to_string());
            clap::Error::raw(
                clap::error::ErrorKind::ValueValidation,
                format!("invalid value '{text}' for '{arg}': {e}\n"),
            )
            .with_cmd(cmd)
        })
    }

    fn possible_values(
        &self,
    ) -> Option<Box<dyn Iterator<Item = clap::builder::PossibleValue> + '_>> {
        Some(Box::new(
            self.keys()
                .into_iter()
                .map(clap::builder::PossibleValue::new),
        ))
    }
}

#[cfg(test)]
fn parse_release(s: &str) -> Result<&'static Release, ValueError> {
    ReleaseParser::any().lookup(s)
}

fn parse_vantage(s: &str) -> Result<Vantage, ValueError> {
    Vantage::parse(s)
}

fn parse_shard(s: &str) -> Result<Shard, ValueError> {
    Shard::parse(s).map_err(ValueError::Shard)
}

/// Reads "500ms", "2s", "1.5s" or a bare number of seconds: a duration, `None` when it is too
/// long to represent (`1e99`, `99999999999999999999h`), or
/// `Err` when it is not a duration.
fn read_duration(t: &str) -> Result<Option<Duration>, ()> {
    if let Ok(secs) = t.parse::<f64>() {
        if secs.is_nan() || secs < 0.0 {
            return Err(());
        }
        return Ok(Duration::try_from_secs_f64(secs).ok());
    }
    match humantime::parse_duration(t) {
        Ok(d) => Ok(Some(d)),
        Err(humantime::DurationError::NumberOverflow) => Ok(None),
        Err(_) => Err(()),
    }
}

/// A duration within `min..=max`; outside it, an error that says `accepted`.
fn duration_within(
    s: &str,
    what: &'static str,
    (min, max): (Duration, Duration),
    accepted: impl Into<String>,
) -> Result<Duration, ValueError> {
    let t = s.trim();
    let out_of_range = || ValueError::DurationRange {
        what,
        value: t.to_string(),
        accepted: accepted.into(),
    };
    match read_duration(t) {
        Ok(Some(d)) if d >= min && d <= max => Ok(d),
        Ok(_) => Err(out_of_range()),
        Err(()) => Err(ValueError::Duration {
            value: t.to_string(),
        }),
    }
}

fn parse_timeout(s: &str) -> Result<Duration, ValueError> {
    let range = (Duration::from_millis(1), Duration::from_secs(600));
    duration_within(s, "timeout", range, "1ms to 10min")
}

fn parse_greeting_wait(s: &str) -> Result<Duration, ValueError> {
    let range = (Duration::ZERO, Duration::from_secs(10));
    duration_within(s, "greeting wait", range, "0 to 10s")
}

fn parse_discovery_wait(s: &str) -> Result<Duration, ValueError> {
    let range = (Duration::from_millis(10), Duration::from_secs(30));
    duration_within(
        s,
        "discovery wait",
        range,
        "10ms to 30s (or --no-discovery)",
    )
}

fn parse_watch(s: &str) -> Result<Duration, ValueError> {
    let min = crate::config::MIN_WATCH_INTERVAL;
    let range = (min, Duration::from_secs(86_400));
    let accepted = format!("{} to 1 day (30s, 5m, 1h)", humantime::format_duration(min));
    duration_within(s, "watch interval", range, accepted)
}

/// The command `word` is most likely a misspelling of, if any: one edit away (a swap of two
/// letters counts as one), two for the longer names, ignoring case. Commands of fewer than five
/// letters (`man`) are left out: one edit from them is as likely a host name (`mac`, `max`).
pub fn command_near(word: &str) -> Option<String> {
    let w = word.trim().to_ascii_lowercase();
    if !w.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
        return None; // a name with a domain, an address, a range, or not a word at all
    }
    use clap::CommandFactory;
    Cli::command()
        .get_subcommands()
        .map(|c| c.get_name().to_string())
        .filter(|name| name.len() >= 5 && name != word)
        .find(|name| match strsim::osa_distance(&w, name) {
            1 => true,
            0 => true, // differs only in case: clap matched it as a host
            2 => name.len() >= 8,
            _ => false,
        })
}

/// A number `parse` accepts, or an error that names `what` and says `accepted`.
fn number<T>(
    s: &str,
    what: &'static str,
    accepted: &'static str,
    parse: impl FnOnce(&str) -> Option<T>,
) -> Result<T, ValueError> {
    parse(s.trim()).ok_or_else(|| ValueError::Number {
        what,
        value: s.trim().to_string(),
        accepted,
    })
}

fn parse_concurrency(s: &str) -> Result<usize, ValueError> {
    number(s, "concurrency", "1 to 1000000", |t| {
        match t.parse::<u64>() {
            Ok(n @ 1..=1_000_000) => Some(n as usize),
            _ => None,
        }
    })
}

/// The slowest `--rate`: one probe every 100 s. Slower is a scan that never ends (and the
/// waits it makes would not fit a `Duration`).
const MIN_RATE: f64 = 0.01;
/// The fastest `--rate`: far above what a machine sends (a cap above it caps nothing).
const MAX_RATE: f64 = 10_000_000.0;

fn parse_rate(s: &str) -> Result<f64, ValueError> {
    number(s, "rate", "probes per second from 0.01 to 10000000", |t| {
        t.parse::<f64>()
            .ok()
            .filter(|r| (MIN_RATE..=MAX_RATE).contains(r))
    })
}

fn parse_max_targets(s: &str) -> Result<u128, ValueError> {
    number(s, "number of targets", "1 or more", |t| {
        t.parse::<u128>().ok().filter(|n| *n > 0)
    })
}

fn parse_retries(s: &str) -> Result<u32, ValueError> {
    number(s, "retry count", "0 to 10", |t| match t.parse::<i64>() {
        Ok(n @ 0..=10) => Some(n as u32),
        _ => None,
    })
}

fn parse_bind(s: &str) -> Result<IpAddr, ValueError> {
    s.trim().parse().map_err(|_| ValueError::BindAddress {
        value: s.trim().to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn default_timeout_matches_the_platform() {
        assert_eq!(
            parse_timeout(DEFAULT_TIMEOUT),
            Ok(msvsmon_probe_core::DEFAULT_CONNECT_TIMEOUT)
        );
    }

    #[test]
    fn durations() {
        assert_eq!(read_duration("500ms"), Ok(Some(Duration::from_millis(500))));
        assert_eq!(read_duration("2"), Ok(Some(Duration::from_secs(2))));
        assert_eq!(read_duration("1.5s"), Ok(Some(Duration::from_millis(1500))));
        assert_eq!(
            parse_timeout("-1"),
            Err(ValueError::Duration { value: "-1".into() })
        );
        assert!(matches!(
            parse_timeout("0"),
            Err(ValueError::DurationRange {
                what: "timeout",
                ..
            })
        ));
        assert!(parse_timeout("soon")
            .unwrap_err()
            .to_string()
            .contains("500ms"));
    }

    #[test]
    fn durations_too_long_to_represent_are_out_of_range() {
        for v in [
            "1e99",
            "1e20",
            "18446744073709551616",
            "99999999999999999999h",
            "1e308",
        ] {
            assert!(
                matches!(parse_timeout(v), Err(ValueError::DurationRange { .. })),
                "{v}"
            );
            assert!(
                matches!(parse_watch(v), Err(ValueError::DurationRange { .. })),
                "{v}"
            );
            assert_eq!(read_duration(v), Ok(None), "{v}");
        }
        for v in ["NaN", "-inf", "-1e-300", "soon"] {
            assert_eq!(
                parse_greeting_wait(v),
                Err(ValueError::Duration { value: v.into() }),
                "{v}"
            );
        }
        assert_eq!(parse_greeting_wait("-0"), Ok(Duration::ZERO));
        assert_eq!(parse_greeting_wait("1e-300"), Ok(Duration::ZERO));
    }

    #[test]
    fn rates_within_their_range() {
        assert_eq!(parse_rate("0.01"), Ok(0.01));
        assert_eq!(parse_rate("1e7"), Ok(1e7));
        for v in [
            "1e-20", "0.009", "0", "-1", "1e7.5", "10000001", "inf", "NaN", "x",
        ] {
            let e = parse_rate(v).unwrap_err().to_string();
            assert_eq!(
                e,
                format!(
                    "'{v}' is not a valid rate; expected probes per second from 0.01 to 10000000"
                )
            );
        }
    }

    #[test]
    fn releases_and_retries() {
        assert_eq!(parse_release("VS2019").unwrap().key, "2019");
        let e = parse_release("2020").unwrap_err();
        assert!(
            matches!(&e, ValueError::UnknownRelease { value, accepted } if value == "2020" && accepted.contains(&"2022")),
            "{e}"
        );
        assert_eq!(parse_retries("0"), Ok(0));
        assert!(parse_retries("-1").is_err());
        assert!(parse_retries("11").is_err());
    }

    #[test]
    fn default_discovery_wait_is_the_clients() {
        let cli = Cli::try_parse_from(["msvsmon-probe", "devbox"]).unwrap();
        assert_eq!(
            cli.probe.discovery_wait,
            msvsmon_probe_core::DEFAULT_DISCOVERY_WAIT
        );
    }

    #[test]
    fn discovery_options() {
        assert_eq!(
            parse_discovery_wait("500ms"),
            Ok(Duration::from_millis(500))
        );
        let e = parse_discovery_wait("0").unwrap_err().to_string();
        assert!(e.contains("'0'") && e.contains("--no-discovery"), "{e}");
        assert!(parse_discovery_wait("31s").is_err());
        assert_eq!(parse_bind("::"), Ok("::".parse().unwrap()));
        assert_eq!(
            parse_bind("devbox"),
            Err(ValueError::BindAddress {
                value: "devbox".into()
            })
        );
    }
}
