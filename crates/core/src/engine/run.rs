//! Starting a run: the builder, the lanes (one per core, each on a thread and runtime of its own
//! for a scan), and the handle the caller reads decided hosts and progress from.
//!
//! ```no_run
//! # async fn demo(targets: std::sync::Arc<msvsmon_probe_core::IndexedSet>) {
//! use msvsmon_probe_core::{EngineSettings, Port, ReadGreeting, Scan};
//!
//! let settings = EngineSettings::default();
//! let mut run = Scan::builder(targets, vec![Port(4026)])
//!     .settings(settings)
//!     .after_connect(ReadGreeting { wait: std::time::Duration::from_millis(300) })
//!     .build()
//!     .expect("ports to probe")
//!     .start();
//! while let Some(hosts) = run.next().await {
//!     for h in hosts { /* every port of h decided */ }
//! }
//! let outcome = run.finish().await;
//! # }
//! ```

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use tokio::sync::{mpsc, watch};

use super::lane::lane;
use super::scheduler::{EngineSettings, HostResult, ScanOutcome, ScanProgress, Scheduler, Stats};
use crate::catalog::Port;
use crate::done::DoneSet;
use crate::order::{ProbeOrder, Shard};
use crate::probe::greeting::ReadGreeting;
use crate::probe::tcp::AfterConnect;
use crate::target_set::IndexedSet;

/// Why a scan could not be built.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScanBuildError {
    /// No port to probe.
    NoPorts,
    /// `concurrency` is 0.
    NoConcurrency,
    /// `min_timeout` is longer than `max_timeout`.
    Timeouts,
}

impl fmt::Display for ScanBuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ScanBuildError::NoPorts => "no port to probe",
            ScanBuildError::NoConcurrency => "the concurrency must be at least 1",
            ScanBuildError::Timeouts => "the shortest wait is longer than the longest",
        })
    }
}

impl std::error::Error for ScanBuildError {}

/// How lanes reach the network.
#[derive(Clone, Copy, PartialEq, Eq)]
enum IoKind {
    /// The platform's best: a poll set per lane on Unix, futures elsewhere.
    Native,
    /// One future per connect everywhere (to test that path on Unix too).
    #[cfg_attr(not(test), allow(dead_code))]
    Portable,
}

/// Builds a [`Scan`]: the hosts, the ports, how to probe, what to do after a handshake.
pub struct ScanBuilder {
    targets: Arc<IndexedSet>,
    ports: Vec<Port>,
    settings: EngineSettings,
    after: Arc<dyn AfterConnect>,
    io: IoKind,
    skip: Option<Arc<DoneSet>>,
}

impl ScanBuilder {
    /// Positions decided by an earlier run of the same scan (`--resume`): not probed again, and
    /// not counted in `hosts_done`; `hosts_total` still counts them (the whole shard).
    pub fn skip(mut self, done: Arc<DoneSet>) -> Self {
        self.skip = (!done.is_empty()).then_some(done);
        self
    }

    pub fn settings(mut self, settings: EngineSettings) -> Self {
        self.settings = settings;
        self
    }

    /// The step after each handshake (default: [`ReadGreeting`] with the default wait).
    pub fn after_connect(mut self, after: impl AfterConnect) -> Self {
        self.after = Arc::new(after);
        self
    }

    pub(crate) fn with_after_connect(mut self, after: Arc<dyn AfterConnect>) -> Self {
        self.after = after;
        self
    }

    #[cfg(test)]
    pub(crate) fn portable_io(mut self) -> Self {
        self.io = IoKind::Portable;
        self
    }

    pub fn build(self) -> Result<Scan, ScanBuildError> {
        let s = &self.settings;
        if self.ports.is_empty() {
            return Err(ScanBuildError::NoPorts);
        }
        if s.concurrency == 0 {
            return Err(ScanBuildError::NoConcurrency);
        }
        if s.min_timeout > s.max_timeout {
            return Err(ScanBuildError::Timeouts);
        }
        Ok(Scan {
            targets: self.targets,
            ports: self.ports.into(),
            settings: self.settings,
            after: self.after,
            io: self.io,
            skip: self.skip,
        })
    }
}

/// Every (host, port) of a target set, probed under one retry policy, ready to start.
pub struct Scan {
    targets: Arc<IndexedSet>,
    ports: Arc<[Port]>,
    settings: EngineSettings,
    after: Arc<dyn AfterConnect>,
    io: IoKind,
    skip: Option<Arc<DoneSet>>,
}

/// A lane's work, however its sockets are made.
pub(crate) type LaneWork = Pin<Box<dyn Future<Output = bool> + Send>>;

impl Scan {
    pub fn builder(targets: Arc<IndexedSet>, ports: Vec<Port>) -> ScanBuilder {
        ScanBuilder {
            targets,
            ports,
            settings: EngineSettings::default(),
            after: Arc::new(ReadGreeting {
                wait: crate::probe::greeting::DEFAULT_WAIT,
            }),
            io: IoKind::Native,
            skip: None,
        }
    }

    /// Starts the lanes on the current tokio runtime (and threads of their own when there are
    /// several); decided hosts come out of the returned handle as they are decided.
    pub fn start(self) -> ScanRun {
        let after = self.after.clone();
        let io = self.io;
        self.start_lanes(move |sched, out, cancel| lane_work(io, after.clone(), sched, out, cancel))
    }

    /// Starts with lanes made by `make_lane` (the unit tests' scripted network).
    pub(crate) fn start_lanes(
        self,
        make_lane: impl Fn(Scheduler, mpsc::Sender<Vec<HostResult>>, watch::Receiver<bool>) -> LaneWork
            + Send
            + 'static,
    ) -> ScanRun {
        let stats = Arc::new(Stats::default());
        let (tx, rx) = mpsc::channel(4096);
        let (cancel, cancel_rx) = watch::channel(false);
        let task = tokio::spawn(run_lanes(self, stats.clone(), tx, cancel_rx, make_lane));
        ScanRun {
            hosts: rx,
            cancel: Arc::new(cancel),
            stats,
            task,
        }
    }
}

fn lane_work(
    io: IoKind,
    after: Arc<dyn AfterConnect>,
    sched: Scheduler,
    out: mpsc::Sender<Vec<HostResult>>,
    cancel: watch::Receiver<bool>,
) -> LaneWork {
    #[cfg(unix)]
    if io == IoKind::Native {
        return Box::pin(async move {
            // The poll set is made on the lane's own runtime. Without one (out of
            // descriptors) the lane still runs, one future per probe: exhaustion slows a
            // scan down, it never stops one.
            match super::io_poll::PollIo::new(after.clone()) {
                Ok(io) => lane(sched, io, out, cancel).await,
                Err(_) => lane(sched, super::io_generic::GenericIo::new(after), out, cancel).await,
            }
        });
    }
    let _ = io;
    Box::pin(lane(
        sched,
        super::io_generic::GenericIo::new(after),
        out,
        cancel,
    ))
}

/// A running scan.
pub struct ScanRun {
    hosts: mpsc::Receiver<Vec<HostResult>>,
    cancel: Arc<watch::Sender<bool>>,
    stats: Arc<Stats>,
    task: tokio::task::JoinHandle<ScanOutcome>,
}

/// Stops a run from anywhere (a signal handler): in-flight probes are abandoned and the outcome
/// says how far it got.
#[derive(Clone)]
pub struct Canceller(Arc<watch::Sender<bool>>);

impl Canceller {
    pub fn cancel(&self) {
        let _ = self.0.send(true);
    }
}

impl ScanRun {
    /// The next hosts decided (every port of each), in batches; `None` once the run is over.
    pub async fn next(&mut self) -> Option<Vec<HostResult>> {
        self.hosts.recv().await
    }

    /// What the run has done so far.
    pub fn progress(&self) -> ScanProgress {
        self.stats.progress()
    }

    pub fn canceller(&self) -> Canceller {
        Canceller(self.cancel.clone())
    }

    pub fn cancel(&self) {
        let _ = self.cancel.send(true);
    }

    /// Waits for the lanes to end (read every host first, or cancel) and says how it went.
    pub async fn finish(mut self) -> ScanOutcome {
        // Hosts nobody will read must not keep a lane waiting on a full channel.
        self.hosts.close();
        match self.task.await {
            Ok(outcome) => outcome,
            Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
            Err(_) => {
                let p = self.stats.progress();
                ScanOutcome {
                    completed: false,
                    hosts_total: u128::from(p.hosts_total),
                    hosts_done: u128::from(p.hosts_done),
                    probes_sent: p.probes_sent,
                    retries_sent: p.retries_sent,
                    local_backoffs: p.local_backoffs,
                }
            }
        }
    }
}

async fn run_lanes(
    scan: Scan,
    stats: Arc<Stats>,
    out: mpsc::Sender<Vec<HostResult>>,
    cancel: watch::Receiver<bool>,
    make_lane: impl Fn(Scheduler, mpsc::Sender<Vec<HostResult>>, watch::Receiver<bool>) -> LaneWork,
) -> ScanOutcome {
    let Scan {
        targets,
        ports,
        settings,
        skip,
        ..
    } = scan;
    let order = ProbeOrder::new(
        targets.len(),
        ports.len(),
        settings.seed,
        settings.shard,
        1,
        settings.max_hosts,
    );
    let (start, end) = order.positions();
    let hosts_total = end - start;
    stats.hosts_total.store(
        u64::try_from(hosts_total).unwrap_or(u64::MAX),
        Ordering::Relaxed,
    );
    stats
        .concurrency_limit
        .store(settings.concurrency, Ordering::Relaxed);

    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let lanes = if settings.lanes == 0 {
        cores
    } else {
        settings.lanes
    }
    .min(settings.concurrency.max(1))
    .max(1);
    // On a multi-threaded runtime every lane of a scan gets a thread and a single-threaded
    // runtime of its own, hence its own poll set: sockets are registered and removed without
    // contending for one shared set, which costs measurably at a million probes. One lane (a
    // named target) and a current-thread runtime (tests on a paused clock) stay tasks.
    let own_threads = lanes > 1
        && tokio::runtime::Handle::current().runtime_flavor()
            != tokio::runtime::RuntimeFlavor::CurrentThread;
    let mut handles = Vec::with_capacity(lanes);
    for i in 0..lanes {
        // Lane i: its slice of the positions and its share of the concurrency.
        let slice = Shard {
            index: i as u64 + 1,
            count: lanes as u64,
        }
        .range(hosts_total);
        let positions = (start + slice.0, start + slice.1);
        let limit = settings.concurrency / lanes + usize::from(i < settings.concurrency % lanes);
        let sched = Scheduler::new(
            targets.clone(),
            ports.clone(),
            settings,
            positions,
            limit.max(1),
            stats.clone(),
            skip.clone(),
        );
        let work = make_lane(sched, out.clone(), cancel.clone());
        handles.push(if own_threads {
            spawn_lane_thread(i, work)
        } else {
            Lane::Task(tokio::spawn(work))
        });
    }
    drop(out);
    let mut completed = true;
    for h in handles {
        let joined = match h {
            Lane::Task(t) => t.await,
            Lane::Thread(rx) => rx.await.unwrap_or(Ok(false)),
        };
        match joined {
            Ok(done) => completed &= done,
            Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
            Err(_) => completed = false,
        }
    }
    stats.in_flight.store(0, Ordering::Relaxed);
    let p = stats.progress();
    ScanOutcome {
        completed,
        hosts_total,
        hosts_done: u128::from(p.hosts_done),
        probes_sent: p.probes_sent,
        retries_sent: p.retries_sent,
        local_backoffs: p.local_backoffs,
    }
}

enum Lane {
    Task(tokio::task::JoinHandle<bool>),
    Thread(tokio::sync::oneshot::Receiver<Result<bool, tokio::task::JoinError>>),
}

/// Runs a lane on a thread of its own with a current-thread runtime; the result (or the panic,
/// as a JoinError) comes back through the channel. When this machine cannot give it a runtime
/// or a thread (out of descriptors or threads), the lane runs as a task of the caller's runtime
/// instead: slower, but every host is still scanned.
fn spawn_lane_thread(i: usize, work: LaneWork) -> Lane {
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(_) => return Lane::Task(tokio::spawn(work)),
    };
    let (tx, rx) = tokio::sync::oneshot::channel();
    // The work is handed over only if the thread starts; otherwise it comes back.
    let slot = Arc::new(std::sync::Mutex::new(Some(work)));
    let taken = slot.clone();
    let started = std::thread::Builder::new()
        .name(format!("scan-lane-{i}"))
        .spawn(move || {
            let Some(work) = taken.lock().ok().and_then(|mut w| w.take()) else {
                return;
            };
            let joined = rt.block_on(async { tokio::spawn(work).await });
            let _ = tx.send(joined);
        });
    match started {
        Ok(_) => Lane::Thread(rx),
        Err(_) => match slot.lock().ok().and_then(|mut w| w.take()) {
            Some(work) => Lane::Task(tokio::spawn(work)),
            None => Lane::Thread(rx),
        },
    }
}
