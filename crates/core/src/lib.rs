//! msvsmon-probe-core, the engine of msvsmon-probe: can this machine reach a Visual Studio Remote Debugger (msvsmon), and if not, why not?
//!
//! The library is organised after the domain: the release [`catalog`], the [`target`]s a user names
//! and their [`resolve`]d addresses, one TCP [`probe`] and the [`engine`] that runs many
//! ([`host_probe`] for named targets), WS-Discovery on UDP 3702 ([`discovery`]: the probe of a
//! target, `--discover`, and the stand-in's answers that [`listen`] serves), the [`diagnose`]
//! rules that turn [`observation`]s into a verdict and hints.
//!
//! Subnet scans: [`target_set`] (CIDR, ranges and files as intervals), [`order`] (the seeded
//! permutation and shards), [`scan`] (the engine: lanes per core, adaptive timeouts from [`rtt`])
//! and [`sweep`] (from a scan's hosts to observations). Monitoring: [`watch`] (what changed between
//! rounds).
//!
//! The library never prints and knows no output format: the `msvsmon-probe` binary (its CLI,
//! configuration, reports and output files) does. It depends on no CLI or terminal crate.
#![warn(clippy::print_stdout, clippy::print_stderr)]

pub mod catalog;
pub mod diagnose;
pub mod discovery;
pub mod engine;
pub mod host_probe;
pub mod listen;
pub mod observation;
pub mod order;
pub mod platform;
pub mod probe;
pub mod resolve;
pub mod sweep;
pub mod target;
pub mod target_set;
pub mod watch;
