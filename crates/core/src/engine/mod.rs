//! The probe engine: every (address, port) a run asks for, with bounded concurrency, an optional
//! rate cap, adaptive timeouts, and one retry policy ([`policy`]) for single-host probes, scans
//! and watch rounds alike. It hands back decided hosts ([`HostResult`]) and progress snapshots,
//! and knows nothing about reports.
//!
//! How it is built, from the bottom:
//! - [`policy`]: what an attempt's outcome means for the next one (silence, self-connect, local
//!   exhaustion) and what `attempts` counts;
//! - `scheduler`: one lane's hosts, order, timeouts, rate cap and loss bookkeeping;
//! - `io`: the seam between scheduling and sockets, with the Unix poll set (`io_poll`), the
//!   portable futures (`io_generic`), and a scripted network on tokio's paused clock in tests;
//! - `lane`: the one loop that drives a scheduler over an `io`;
//! - `run`: [`Scan`] and its builder: lanes per core, threads, the [`ScanRun`] handle;
//! - `host`: the same engine for the addresses of one named target.
//!
//! A new probe kind plugs in at the edges, not here: a TCP exchange after the handshake is an
//! [`AfterConnect`](crate::probe::tcp::AfterConnect), a UDP request and its answers a
//! `probe::udp` exchange.

mod host;
mod io;
mod io_generic;
#[cfg(unix)]
mod io_poll;
mod lane;
pub mod policy;
mod rtt;
mod run;
mod scheduler;

#[cfg(test)]
mod fake;
#[cfg(test)]
mod tests;

pub(crate) use host::probe_addresses;
pub use policy::{LOCAL_RETRIES, LOSS_SAMPLE, SELF_CONNECT_RETRIES, UP_HOST_ATTEMPTS};

pub use run::{Canceller, Scan, ScanBuildError, ScanBuilder, ScanRun};
pub use scheduler::{
    EngineSettings, HostResult, Order, ScanOutcome, ScanProgress, DEFAULT_MIN_TIMEOUT,
};
