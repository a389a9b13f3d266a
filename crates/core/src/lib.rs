//! msvsmon-probe-core, the engine of msvsmon-probe: can this machine reach a Visual Studio Remote
//! Debugger (msvsmon), and if not, why not?
//!
//! The crate is organised after the domain: the release catalog ([`Release`], [`Port`]), the
//! [`Target`]s a user names and their [`Resolution`], what one probe saw ([`PortResult`]), the
//! engine that runs many under one retry policy ([`HostProbe`] for named targets, [`Scan`] for
//! subnets), WS-Discovery on UDP 3702 ([`probe_host`], [`discover`], the stand-in's [`StandIn`]),
//! the [`diagnose()`] rules that turn a [`HostObservation`] into a [`Verdict`] and [`Finding`]s
//! carrying evidence (no English), scans' triage and tally ([`Triage`], [`Tally`]) and watch rounds
//! ([`WatchState`]).
//!
//! Starting a probe or a scan is a builder and a stream of results back:
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use futures::StreamExt;
//! use msvsmon_probe_core::{diagnose, parse_target, HostProbe};
//!
//! let targets = vec![parse_target("devbox")?];
//! let probe = HostProbe::builder().build();
//! let mut seen = std::pin::pin!(probe.observe_all(&targets));
//! while let Some((_, observation)) = seen.next().await {
//!     let verdict = diagnose(&observation).verdict;
//!     println!("{:?}", verdict.status);
//! }
//! # Ok(()) }
//! ```
//!
//! The library never prints and knows no output format: the `msvsmon-probe` binary (its CLI,
//! configuration, reports and output files) does. It depends on no CLI or terminal crate.
#![warn(clippy::print_stdout, clippy::print_stderr)]

// Every module is private: what callers need is re-exported below, by domain, so the public API
// is this list and nothing reaches into the engine's insides.
mod catalog;
mod diagnose;
mod discovery;
mod done;
mod engine;
mod fingerprint;
mod host_probe;
mod listen;
mod observation;
mod order;
mod platform;
mod probe;
mod resolve;
mod sweep;
mod target;
mod target_set;
mod watch;

// The release catalog: which release uses which port, in which role, how surely.
pub use catalog::{
    Assignment, Certainty, Claim, Kind, PlannedPort, Port, Release, Role, Selection, RELEASES,
};

// Targets: what the user names, sets of addresses for scans, the scan order's shards.
pub use done::DoneSet;
pub use order::{Shard, ShardError};
pub use target::{
    parse_port, parse_target, Address, Host, NumberHint, PortError, Target, TargetError,
    TargetProblem,
};
pub use target_set::{
    is_set_syntax, parse_exclusion, parse_spec, AddressSet, IndexedSet, NotHosts, Spec, SpecError,
    SpecProblem, SpecRole, SpecSet, SpecSetBuilder, MAX_LINE, MAX_NAMES, MAX_SPECS,
};

// A stable hash: the default seed, the scan's fingerprint.
pub use fingerprint::Fnv64;

// Name resolution.
pub use resolve::{
    AddressSource, Addresses, HostsFile, HostsFileError, Resolution, ResolveError, Resolver,
};

// What one probe saw, and the step after a TCP handshake.
pub use probe::greeting::{Greeting, ReadGreeting, DEFAULT_WAIT as DEFAULT_GREETING_WAIT};
pub use probe::tcp::{AfterConnect, Exchanged, JustConnect};
// Past the open port: what a Windows host says about itself without credentials.
pub use probe::nbstat::{
    node_status, node_status_request, parse_node_status, NbFailure, NbMalformed, NbName,
    NodeStatus, NBNS_PORT,
};
pub use probe::smb2::{
    negotiate, negotiate_request, parse_negotiate, ClockSkew, Negotiated, Smb2Failure,
    Smb2Malformed, Smb2Reading, SMB2_PORT,
};
pub use probe::{conclude, Attempt, IcmpDetail, IcmpKind, PortResult, PortState, Reason};

// The engine: probes of named targets, scans, and the one retry policy.
pub use engine::{
    Canceller, EngineSettings, HostResult, Order, Scan, ScanBuildError, ScanBuilder, ScanOutcome,
    ScanProgress, ScanRun, DEFAULT_MIN_TIMEOUT, LOCAL_RETRIES, LOSS_SAMPLE, SELF_CONNECT_RETRIES,
    UP_HOST_ATTEMPTS,
};
pub use host_probe::{HostProbe, HostProbeBuilder};

// Subnet scans between the engine and the reports.
pub use sweep::{
    HostFlags, PortCounts, SweepError, SweepPlan, SweepRequest, Tally, Triage, PUBLIC_LIMIT,
};

// What was observed, and what it means.
pub use diagnose::{
    diagnose, diagnose_for, Code, Diagnosis, DiscoverySilence, Endpoint, Evidence, Finding, Ide,
    IdeVerdict, Severity, Status, Verdict,
};
pub use observation::{
    AddressObservation, AddressScope, HostObservation, PortObservation, WindowsObservation,
};

// WS-Discovery (UDP 3702): a target's probe, `--discover`, and the stand-in's answers.
pub use discovery::client::{
    discover, discover_interfaces, probe_host, DiscoverRun, DiscoverySettings, FoundHost,
    InterfaceError, DEFAULT_WAIT as DEFAULT_DISCOVERY_WAIT,
};
pub use discovery::collect::{Collector, Offer, SentProbe};
pub use discovery::message::{
    parse_probe, parse_probe_matches, Probe as WsdProbe, ProbeKind, ProbeMatch, ProbeMatches,
    ProbeRequest, QName, Rejected, Version,
};
pub use discovery::responder::{Answer as StandInAnswer, StandIn};
pub use discovery::{
    AddressReach, Classification, DebuggerHint, DiscoveryObservation, DiscoveryStatus, Ignored,
    Reach, Responder, ResponderKind, RouteKind, RouteRecord, PORT as WSD_PORT,
};

// Monitoring: what changed between rounds.
pub use watch::{probe_every, Heartbeat, WatchChange, WatchEvent, WatchState};

// The stand-in monitor (`msvsmon-probe listen`).
pub use listen::{
    bind_stand_in, serve_stand_in, Bound, ListenError, ListenEvent, ListenSettings, Listening,
    ProbeOutcome, MAX_ANSWERS_PER_SECOND,
};

// The few platform facts a caller needs (everything else about the OS stays inside).
pub use platform::{
    interfaces, is_stream, new_file_permissions, raise_fd_limit, shutdown_signal, vswhere_json,
    ConnectErrorKind, IcmpReport, IfAddr, Interface, DEFAULT_CONNECT_TIMEOUT,
};

/// Sample WS-Discovery replies of real responders, for tests and fuzzing outside this crate.
#[doc(hidden)]
pub use discovery::samples;

/// Observations built by hand, for tests (the `fixtures` feature, for the binary's tests).
#[cfg(any(test, feature = "fixtures"))]
#[doc(hidden)]
pub mod fixtures;
