//! The subnet scan engine: every (host, port) of a target set, in [`ProbeOrder`], with bounded
//! concurrency, an optional rate cap, adaptive timeouts and adaptive retransmission. It emits one
//! [`HostResult`] per host as soon as the host's last port is decided, and knows nothing about
//! reports.
//!
//! Structure: the scan order is cut into one *lane* per core, each lane a tokio task that owns its
//! slice of hosts and all of their scheduling state, and drives its probes as futures of its own.
//! Lanes share nothing per probe (no locks, no task spawned per probe), so the kernel work of
//! `connect()` spreads over every core and user-space overhead stays a small fraction of the
//! kernel's. Only the loss bookkeeping below is shared, through atomics.
//!
//! Policies, and why:
//! - **Timeouts** follow measured round trips (see [`crate::rtt`]): per host once the host has
//!   answered anything (a host known to be up bounds the wait on its other ports), else across the
//!   scan; never below `min_timeout` nor above `max_timeout` (the user's `--timeout`).
//! - **Retries** only for silence, with the wait doubled each time (TCP's back-off). On a host that
//!   answered elsewhere, silence may be one lost SYN, so every silent port is retried. On a host that
//!   never answered, retries pay only if the network loses packets: as nmap does with its
//!   per-scan "successful try" bookkeeping, retries there continue while retries have ever been
//!   answered, and stop after [`LOSS_SAMPLE`] unanswered ones show the path does not lose SYNs.
//! - **Self-connects** are re-probed; **local exhaustion** (EMFILE, EADDRNOTAVAIL, ENOBUFS) halves
//!   the concurrency, pauses briefly and re-queues the probe: never a port state.

use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::hash::{BuildHasherDefault, Hasher};
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures::stream::{FuturesUnordered, StreamExt};
use futures::FutureExt;
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

#[cfg(unix)]
mod fast;

use crate::catalog::Port;
use crate::order::{ProbeOrder, ProbeSlot, Shard};
use crate::platform::{self, NeighbourTable};
use crate::probe::tcp::Connector;
use crate::probe::{conclude, Attempt, PortResult};
use crate::rtt::RttEstimator;
use crate::target::Address;
use crate::target_set::IndexedSet;

/// Unanswered retries of never-answering hosts after which the scan concludes its path does not
/// lose SYNs, and stops retrying such hosts. The price (documented in the README): on a path that
/// loses SYNs rarely, a host whose only answering port is an open one whose SYN was lost after
/// the sample is missed; a host that answers on any other port is "up" and always retried.
pub const LOSS_SAMPLE: u64 = 256;
/// Re-probes after a self-connect.
const SELF_CONNECT_RETRIES: u32 = 2;
/// Re-tries after local exhaustion.
const LOCAL_RETRIES: u32 = 8;
/// The concurrency never drops below this, whatever the local errors.
const MIN_CONCURRENCY: usize = 8;

/// How a scan runs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ScanSettings {
    /// First wait, before any round trip was measured, and the upper bound of every wait.
    pub max_timeout: Duration,
    /// The adaptive wait never goes below this.
    pub min_timeout: Duration,
    /// Extra attempts for a silent port.
    pub retries: u32,
    /// Probes in flight at most.
    pub concurrency: usize,
    /// Probes started per second at most (retries included).
    pub rate: Option<f64>,
    pub seed: u64,
    pub shard: Shard,
    /// Scan only the first N hosts of this shard's order.
    pub max_hosts: Option<u128>,
    /// Lanes (independent slices of the scan) to run; 0 means one per available core.
    pub lanes: usize,
}

/// Everything decided about one host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostResult {
    /// The host's position in the scan order.
    pub position: u128,
    pub address: Address,
    /// One result per port, in the order of the port list given to [`run`].
    pub ports: Vec<PortResult>,
}

/// Counters the progress display reads while the scan runs.
#[derive(Debug, Default)]
pub struct ScanStats {
    pub hosts_total: AtomicU64,
    pub hosts_done: AtomicU64,
    pub probes_sent: AtomicU64,
    pub retries_sent: AtomicU64,
    pub in_flight: AtomicUsize,
    pub concurrency_limit: AtomicUsize,
    pub local_backoffs: AtomicU64,
    /// Retries of hosts that never answered, and retries that got an answer: shared by all
    /// lanes so the loss policy is one decision for the whole scan.
    silent_host_retries: AtomicU64,
    retries_answered: AtomicU64,
}

impl ScanStats {
    /// Publishes a lane's probes started and its in-flight count, once per turn of its loop:
    /// lanes on different cores would otherwise bounce these cache lines on every connect.
    /// `published` is what this lane published last time.
    fn publish(&self, started: u64, in_flight: usize, published: &mut usize) {
        if started > 0 {
            self.probes_sent.fetch_add(started, Ordering::Relaxed);
        }
        if in_flight > *published {
            self.in_flight
                .fetch_add(in_flight - *published, Ordering::Relaxed);
        } else if in_flight < *published {
            self.in_flight
                .fetch_sub(*published - in_flight, Ordering::Relaxed);
        }
        *published = in_flight;
    }
}

/// How the scan ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScanOutcome {
    /// False when it was cancelled before every host was decided.
    pub completed: bool,
    pub hosts_total: u128,
    pub hosts_done: u128,
    pub probes_sent: u64,
}

#[derive(Debug, Clone, Copy)]
struct Job {
    slot: ProbeSlot,
    addr: SocketAddr,
    attempts: u32,
    silent: u32,
    selfs: u32,
    local: u32,
    timeout: Duration,
}

struct HostState {
    address: Address,
    results: Vec<Option<PortResult>>,
    remaining: usize,
    /// Something answered from this host (or on its behalf).
    up: bool,
    rtt: RttEstimator,
}

/// Hosts are keyed by their scan position, a dense counter: one multiply spreads it well, where
/// the default SipHash would spend more time than the rest of the bookkeeping.
#[derive(Default)]
struct PositionHasher(u64);

impl Hasher for PositionHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0 ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3);
        }
    }
    fn write_u128(&mut self, n: u128) {
        self.0 = ((n as u64) ^ ((n >> 64) as u64)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }
}

enum Next {
    Job(Job),
    /// Nothing may start before this instant (rate cap or back-off).
    WaitUntil(Instant),
    /// Nothing to start now; in-flight probes may still add retries.
    Idle,
}

struct Scheduler {
    targets: Arc<IndexedSet>,
    ports: Vec<Port>,
    settings: ScanSettings,
    order: ProbeOrder,
    order_done: bool,
    retry: VecDeque<Job>,
    hosts: HashMap<u128, HostState, BuildHasherDefault<PositionHasher>>,
    global: RttEstimator,
    limit: usize,
    max_limit: usize,
    /// This lane's share of the scan, for its share of `--rate`.
    limit_share: f64,
    completions_since_raise: usize,
    pause_until: Option<Instant>,
    tokens: f64,
    last_refill: Instant,
    neighbours: Option<(Instant, Option<NeighbourTable>)>,
    stats: Arc<ScanStats>,
}

impl Scheduler {
    fn new(
        targets: Arc<IndexedSet>,
        ports: Vec<Port>,
        s: ScanSettings,
        positions: (u128, u128),
        limit: usize,
        stats: Arc<ScanStats>,
    ) -> Self {
        // Shuffle enough hosts together that a window holds about twice the probes in flight.
        let per_window = ((limit * 2) / ports.len().max(1)).clamp(64, 1 << 16) as u128;
        let order = ProbeOrder::positions_between(
            targets.len(),
            ports.len(),
            s.seed,
            positions,
            per_window,
        );
        Scheduler {
            targets,
            ports,
            settings: s,
            order,
            order_done: false,
            retry: VecDeque::new(),
            hosts: HashMap::default(),
            global: RttEstimator::new(),
            limit,
            max_limit: limit,
            limit_share: limit as f64 / s.concurrency.max(1) as f64,
            completions_since_raise: 0,
            pause_until: None,
            tokens: 1.0,
            last_refill: Instant::now(),
            neighbours: None,
            stats,
        }
    }

    fn finished(&self) -> bool {
        self.order_done && self.retry.is_empty()
    }

    fn timeout_for(&self, host: &HostState, silent: u32) -> Duration {
        let s = &self.settings;
        let base = if host.up {
            // One answer is enough here: the host is up and its path measured.
            host.rtt.timeout_after(1, s.min_timeout, s.max_timeout)
        } else {
            None
        }
        .or_else(|| self.global.timeout(s.min_timeout, s.max_timeout))
        .unwrap_or(s.max_timeout);
        (base * 2u32.saturating_pow(silent)).min(s.max_timeout)
    }

    fn take_token(&mut self, now: Instant) -> Option<Instant> {
        let rate = self.settings.rate?;
        let rate = rate * self.limit_share;
        let elapsed = now
            .saturating_duration_since(self.last_refill)
            .as_secs_f64();
        self.last_refill = now;
        // A small burst allowance keeps the rate smooth without starving at low rates.
        let burst = (rate / 20.0).max(1.0);
        self.tokens = (self.tokens + elapsed * rate).min(burst);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            None
        } else {
            // At least a millisecond (the timer's resolution), or rounding could spin.
            let wait = Duration::from_secs_f64((1.0 - self.tokens) / rate);
            Some(now + wait.max(Duration::from_millis(1)))
        }
    }

    fn next(&mut self, now: Instant) -> Option<Next> {
        if let Some(t) = self.pause_until {
            if t > now {
                return Some(Next::WaitUntil(t));
            }
            self.pause_until = None;
        }
        if self.retry.is_empty() && self.order_done {
            return None;
        }
        if let Some(t) = self.take_token(now) {
            return Some(Next::WaitUntil(t));
        }
        if let Some(mut job) = self.retry.pop_front() {
            if let Some(h) = self.hosts.get(&job.slot.position) {
                job.timeout = self.timeout_for(h, job.silent);
            }
            return Some(Next::Job(job));
        }
        {
            let Some(slot) = self.order.next() else {
                self.order_done = true;
                return Some(Next::Idle);
            };
            if !self.hosts.contains_key(&slot.position) {
                let address = self.targets.get(slot.host).expect("host index in range");
                self.hosts.insert(
                    slot.position,
                    HostState {
                        address,
                        results: vec![None; self.ports.len()],
                        remaining: self.ports.len(),
                        up: false,
                        rtt: RttEstimator::new(),
                    },
                );
            }
            let host = &self.hosts[&slot.position];
            let job = Job {
                slot,
                addr: host.address.socket_addr(self.ports[slot.port]),
                attempts: 0,
                silent: 0,
                selfs: 0,
                local: 0,
                timeout: self.timeout_for(host, 0),
            };
            Some(Next::Job(job))
        }
    }

    /// Takes one attempt's outcome; returns a host when it is complete.
    fn complete(&mut self, mut job: Job, attempt: Attempt, now: Instant) -> Option<HostResult> {
        job.attempts += 1;
        let host = self.hosts.get_mut(&job.slot.position)?;
        // A round-trip sample from anything that answered over the path; "the host is up" only
        // from the host itself (a router's ICMP says nothing about a machine behind it).
        let target = job.addr.ip();
        let (sample, from_host) = match &attempt {
            Attempt::Accepted { rtt, .. } | Attempt::Refused { rtt } => (Some(*rtt), true),
            Attempt::Icmp { rtt, report, local } => (
                (report.offender.is_some() && report.offender != *local).then_some(*rtt),
                report.offender == Some(target),
            ),
            _ => (None, false),
        };
        if from_host {
            host.up = true;
        }
        if let Some(rtt) = sample {
            host.rtt.observe(rtt);
            self.global.observe(rtt);
            if job.silent > 0 {
                self.stats.retries_answered.fetch_add(1, Ordering::Relaxed);
            }
        }

        let requeue = match &attempt {
            Attempt::NoResponse if job.silent < self.settings.retries => {
                let loss_seen = self.stats.retries_answered.load(Ordering::Relaxed) > 0;
                let sampling = host.up
                    || self
                        .stats
                        .silent_host_retries
                        .fetch_add(1, Ordering::Relaxed)
                        < LOSS_SAMPLE;
                if host.up || loss_seen || sampling {
                    job.silent += 1;
                    self.stats.retries_sent.fetch_add(1, Ordering::Relaxed);
                    true
                } else {
                    false
                }
            }
            Attempt::SelfConnect if job.selfs < SELF_CONNECT_RETRIES => {
                job.selfs += 1;
                true
            }
            Attempt::Local { kind, .. }
                if kind.is_local_exhaustion() && job.local < LOCAL_RETRIES =>
            {
                job.local += 1;
                job.attempts -= 1; // it never reached the network
                let before = self.limit;
                self.limit = (self.limit / 2).max(MIN_CONCURRENCY.min(self.max_limit));
                self.stats
                    .concurrency_limit
                    .fetch_sub(before - self.limit, Ordering::Relaxed);
                self.stats.local_backoffs.fetch_add(1, Ordering::Relaxed);
                self.pause_until = Some(now + Duration::from_millis(10 << job.local.min(6)));
                true
            }
            _ => false,
        };
        if !matches!(attempt, Attempt::Local { .. }) {
            self.raise_limit();
        }
        if requeue {
            self.retry.push_back(job);
            return None;
        }

        let result = conclude(&attempt, job.addr.ip(), job.attempts);
        let host = self.hosts.get_mut(&job.slot.position)?;
        host.results[job.slot.port] = Some(result);
        host.remaining -= 1;
        if host.remaining > 0 {
            return None;
        }
        let host = self.hosts.remove(&job.slot.position)?;
        self.stats.hosts_done.fetch_add(1, Ordering::Relaxed);
        let mut ports: Vec<PortResult> = host
            .results
            .into_iter()
            .map(|r| r.expect("decided"))
            .collect();
        let address = host.address;
        crate::probe::silence_behind_failed_arp(&mut ports, || {
            self.neighbour_unresolved(address, now)
        });
        Some(HostResult {
            position: job.slot.position,
            address: host.address,
            ports,
        })
    }

    /// Whether this machine's ARP for `a` went unanswered. The table is read at most every
    /// 20 ms and kept; an address missing from a copy older than that is looked up in a fresh
    /// one, because its entry may have appeared since (a stale copy called live-but-silent hosts
    /// of a LAN sweep "filtered" where ARP had in fact failed).
    fn neighbour_unresolved(&mut self, a: Address, now: Instant) -> bool {
        const FRESH: Duration = Duration::from_millis(20);
        let lookup = |n: &Option<(Instant, Option<NeighbourTable>)>| match n {
            Some((_, Some(t))) => t.unresolved(a.ip),
            _ => None,
        };
        let age = self
            .neighbours
            .as_ref()
            .map(|(t, _)| now.saturating_duration_since(*t));
        let known = lookup(&self.neighbours);
        if known.is_none() && age.is_none_or(|age| age > FRESH) {
            self.neighbours = Some((now, platform::neighbour_table()));
        }
        lookup(&self.neighbours) == Some(true)
    }

    /// Additive recovery after a back-off: a little more concurrency per batch of clean completions.
    fn raise_limit(&mut self) {
        if self.limit >= self.max_limit {
            return;
        }
        self.completions_since_raise += 1;
        if self.completions_since_raise >= 64 {
            self.completions_since_raise = 0;
            let before = self.limit;
            self.limit = (self.limit + (self.limit / 16).max(1)).min(self.max_limit);
            self.stats
                .concurrency_limit
                .fetch_add(self.limit - before, Ordering::Relaxed);
        }
    }
}

/// Scans `targets` × `ports`, sending each decided host to `out`. Stops early, cleanly, when
/// `cancel` turns true: in-flight probes are abandoned and the outcome says how far it got.
pub async fn run<C: Connector + 'static>(
    connector: Arc<C>,
    targets: Arc<IndexedSet>,
    ports: Vec<Port>,
    settings: ScanSettings,
    stats: Arc<ScanStats>,
    out: mpsc::Sender<Vec<HostResult>>,
    cancel: watch::Receiver<bool>,
) -> ScanOutcome {
    let connector = Driver::Generic(connector);
    run_with(connector, targets, ports, settings, stats, out, cancel).await
}

/// Scans with real TCP connects, on the fast path where the platform has one.
pub async fn run_tcp(
    greeting_wait: Duration,
    targets: Arc<IndexedSet>,
    ports: Vec<Port>,
    settings: ScanSettings,
    stats: Arc<ScanStats>,
    out: mpsc::Sender<Vec<HostResult>>,
    cancel: watch::Receiver<bool>,
) -> ScanOutcome {
    #[cfg(unix)]
    let driver: Driver<crate::probe::tcp::TcpConnector> = Driver::Fast(greeting_wait);
    #[cfg(not(unix))]
    let driver = Driver::Generic(Arc::new(crate::probe::tcp::TcpConnector { greeting_wait }));
    run_with(driver, targets, ports, settings, stats, out, cancel).await
}

/// How a lane makes its connects.
enum Driver<C> {
    /// One future per probe through a [`Connector`] (any platform, and scripted in tests).
    Generic(Arc<C>),
    /// The lane's own poll set (Unix), with this greeting wait.
    #[cfg_attr(not(unix), allow(dead_code))]
    Fast(Duration),
}

async fn run_with<C: Connector + 'static>(
    driver: Driver<C>,
    targets: Arc<IndexedSet>,
    ports: Vec<Port>,
    settings: ScanSettings,
    stats: Arc<ScanStats>,
    out: mpsc::Sender<Vec<HostResult>>,
    cancel: watch::Receiver<bool>,
) -> ScanOutcome {
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
    // On a multi-threaded runtime every lane gets a thread and a single-threaded runtime of its
    // own, hence its own epoll set: sockets are registered and removed without contending for one
    // shared set, which costs measurably at a million probes. Under a current-thread runtime
    // (tests on a paused clock) lanes stay tasks of that runtime.
    let own_threads = tokio::runtime::Handle::current().runtime_flavor()
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
        );
        let work: Pin<Box<dyn Future<Output = bool> + Send>> = match &driver {
            Driver::Generic(c) => Box::pin(lane(sched, c.clone(), out.clone(), cancel.clone())),
            #[cfg(unix)]
            Driver::Fast(wait) => Box::pin(fast::lane(sched, *wait, out.clone(), cancel.clone())),
            #[cfg(not(unix))]
            Driver::Fast(_) => unreachable!("no fast path on this platform"),
        };
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
    ScanOutcome {
        completed,
        hosts_total,
        hosts_done: u128::from(stats.hosts_done.load(Ordering::Relaxed)),
        probes_sent: stats.probes_sent.load(Ordering::Relaxed),
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
fn spawn_lane_thread(i: usize, work: Pin<Box<dyn Future<Output = bool> + Send>>) -> Lane {
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

fn probe<C: Connector>(c: &C, job: Job) -> impl Future<Output = (Job, Attempt)> + Send + '_ {
    c.attempt(job.addr, job.timeout).map(move |a| (job, a))
}

/// One lane: returns whether it finished its slice (false when cancelled or the output closed).
async fn lane<C: Connector + 'static>(
    mut sched: Scheduler,
    connector: Arc<C>,
    out: mpsc::Sender<Vec<HostResult>>,
    mut cancel: watch::Receiver<bool>,
) -> bool {
    let c = &*connector;
    let mut inflight = FuturesUnordered::new();
    let stats = sched.stats.clone();
    // Shared counters are updated once per wake-up, not per probe: lanes on different cores
    // would otherwise bounce their cache lines on every connect.
    let mut published_in_flight = 0usize;
    loop {
        if *cancel.borrow() {
            stats
                .in_flight
                .fetch_sub(published_in_flight, Ordering::Relaxed);
            return false;
        }
        let mut wait_until = None;
        let now = Instant::now();
        let mut started = 0u64;
        while inflight.len() < sched.limit {
            match sched.next(now) {
                Some(Next::Job(job)) => {
                    started += 1;
                    inflight.push(probe(c, job));
                }
                Some(Next::WaitUntil(t)) => {
                    wait_until = Some(t);
                    break;
                }
                Some(Next::Idle) | None => break,
            }
        }
        stats.publish(started, inflight.len(), &mut published_in_flight);
        if inflight.is_empty() && wait_until.is_none() && sched.finished() {
            return true;
        }
        let far = Instant::now() + Duration::from_secs(3600);
        tokio::select! {
            biased;
            _ = cancel.changed() => {}
            first = inflight.next(), if !inflight.is_empty() => {
                let now = Instant::now();
                let mut next = first;
                let mut done = Vec::new();
                // Handle everything already finished in one wake-up.
                while let Some((job, attempt)) = next {
                    if let Some(host) = sched.complete(job, attempt, now) {
                        done.push(host);
                    }
                    next = inflight.next().now_or_never().flatten();
                }
                // One message per wake-up: fewer wake-ups of the reader.
                if !done.is_empty() && out.send(done).await.is_err() {
                    // Nobody reads the results any more: stop.
                    return false;
                }
            }
            _ = tokio::time::sleep_until(wait_until.unwrap_or(far)), if wait_until.is_some() => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probe::PortState;
    use crate::target_set::{parse_spec, Spec};
    use std::collections::HashSet;
    use std::sync::Mutex;

    /// A network in a function: `answer(addr, attempt_no)` decides each attempt; silent attempts
    /// take their timeout of virtual time.
    struct FakeNet<F> {
        answer: F,
        seen: Mutex<HashMap<SocketAddr, u32>>,
        timeouts: Mutex<Vec<Duration>>,
    }

    impl<F: Fn(SocketAddr, u32) -> Attempt + Send + Sync> Connector for FakeNet<F> {
        async fn attempt(&self, addr: SocketAddr, timeout: Duration) -> Attempt {
            let n = {
                let mut seen = self.seen.lock().unwrap();
                let n = seen.entry(addr).or_insert(0);
                *n += 1;
                *n
            };
            self.timeouts.lock().unwrap().push(timeout);
            let a = (self.answer)(addr, n);
            match a {
                Attempt::NoResponse => tokio::time::sleep(timeout).await,
                _ => tokio::time::sleep(Duration::from_micros(200)).await,
            }
            a
        }
    }

    fn net<F: Fn(SocketAddr, u32) -> Attempt + Send + Sync>(f: F) -> Arc<FakeNet<F>> {
        Arc::new(FakeNet {
            answer: f,
            seen: Mutex::new(HashMap::new()),
            timeouts: Mutex::new(Vec::new()),
        })
    }

    fn targets(spec: &str) -> Arc<IndexedSet> {
        let Spec::Addresses(a) = parse_spec(spec).unwrap() else {
            panic!()
        };
        Arc::new(a.into_indexed())
    }

    const SETTINGS: ScanSettings = ScanSettings {
        max_timeout: Duration::from_secs(1),
        min_timeout: Duration::from_millis(100),
        retries: 1,
        concurrency: 256,
        rate: None,
        seed: 1,
        shard: Shard::WHOLE,
        max_hosts: None,
        lanes: 2,
    };

    fn rst() -> Attempt {
        Attempt::Refused {
            rtt: Duration::from_micros(200),
        }
    }

    fn open() -> Attempt {
        Attempt::Accepted {
            rtt: Duration::from_micros(200),
            greeting: None,
        }
    }

    async fn scan<F: Fn(SocketAddr, u32) -> Attempt + Send + Sync + 'static>(
        n: Arc<FakeNet<F>>,
        spec: &str,
        ports: &[u16],
        s: ScanSettings,
    ) -> (Vec<HostResult>, ScanOutcome) {
        let (tx, mut rx) = mpsc::channel(1024);
        let (_ctx, crx) = watch::channel(false);
        let stats = Arc::new(ScanStats::default());
        let ports = ports.iter().map(|p| Port(*p)).collect();
        let h = tokio::spawn(run(n, targets(spec), ports, s, stats, tx, crx));
        let mut hosts = Vec::new();
        while let Some(batch) = rx.recv().await {
            hosts.extend(batch);
        }
        (hosts, h.await.unwrap())
    }

    #[tokio::test(start_paused = true)]
    async fn every_host_once_with_its_open_ports() {
        let n = net(|a, _| {
            if a.port() == 4026 && a.ip().to_string().ends_with(".7") {
                open()
            } else {
                rst()
            }
        });
        let (hosts, outcome) = scan(n.clone(), "10.0.0.0/24", &[4024, 4026], SETTINGS).await;
        assert!(outcome.completed);
        assert_eq!(hosts.len(), 256);
        let unique: HashSet<_> = hosts.iter().map(|h| h.address).collect();
        assert_eq!(unique.len(), 256);
        let open: Vec<String> = hosts
            .iter()
            .filter(|h| h.ports[1].state == PortState::Open)
            .map(|h| h.address.to_string())
            .collect();
        assert_eq!(open, ["10.0.0.7"]);
        assert_eq!(
            n.seen.lock().unwrap().values().sum::<u32>(),
            512,
            "no probe twice"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_lost_syn_on_an_up_host_is_retried_and_found() {
        // 4026 open on .9, but its first SYN is lost; its 4024 resets (so the host is up).
        let n = net(|a, k| match (a.ip().to_string().as_str(), a.port(), k) {
            ("10.0.0.9", 4026, 1) => Attempt::NoResponse,
            ("10.0.0.9", 4026, _) => open(),
            _ => rst(),
        });
        let (hosts, _) = scan(n, "10.0.0.0/28", &[4024, 4026], SETTINGS).await;
        let h = hosts
            .iter()
            .find(|h| h.address.to_string() == "10.0.0.9")
            .unwrap();
        assert_eq!(h.ports[1].state, PortState::Open);
        assert_eq!(h.ports[1].attempts, 2);
    }

    #[tokio::test(start_paused = true)]
    async fn retries_of_silent_hosts_stop_when_the_path_shows_no_loss() {
        // A /20 where half the hosts drop everything and nothing is ever lost.
        let n = net(|a, _| {
            let IpAddr4(o) = IpAddr4::of(a);
            if o[2] % 2 == 0 {
                Attempt::NoResponse
            } else {
                rst()
            }
        });
        let (hosts, _) = scan(n.clone(), "10.0.0.0/20", &[4026], SETTINGS).await;
        assert_eq!(hosts.len(), 4096);
        let silent_retries: u32 = n.seen.lock().unwrap().values().map(|k| k - 1).sum();
        assert_eq!(
            u64::from(silent_retries),
            LOSS_SAMPLE,
            "retries stop after the loss sample"
        );
        assert!(hosts.iter().all(|h| h.ports[0].state != PortState::Open));
    }

    #[tokio::test(start_paused = true)]
    async fn silent_hosts_keep_being_retried_on_a_lossy_path() {
        // Every host answers, but every first SYN to an odd host is lost.
        let n = net(|a, k| {
            let IpAddr4(o) = IpAddr4::of(a);
            if o[3] % 2 == 1 && k == 1 {
                Attempt::NoResponse
            } else {
                rst()
            }
        });
        let (hosts, _) = scan(n, "10.0.0.0/22", &[4026], SETTINGS).await;
        assert!(
            hosts.iter().all(|h| h.ports[0].state == PortState::Closed),
            "loss was seen, so every silent host was retried and answered"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn timeouts_adapt_to_measured_round_trips() {
        let n = net(|a, _| {
            if a.port() == 4024 {
                Attempt::NoResponse
            } else {
                rst()
            }
        });
        let s = ScanSettings {
            retries: 0,
            concurrency: 4,
            ..SETTINGS
        };
        let (_, _) = scan(n.clone(), "10.0.0.0/26", &[4024, 4026], s).await;
        let t = n.timeouts.lock().unwrap();
        assert_eq!(t[0], SETTINGS.max_timeout, "no measurement yet");
        assert_eq!(
            *t.last().unwrap(),
            SETTINGS.min_timeout,
            "fast answers shrink the wait"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn local_exhaustion_halves_concurrency_and_is_never_a_port_state() {
        let n = net(|a, k| {
            if a.ip().to_string() == "10.0.0.3" && k <= 2 {
                Attempt::Local {
                    kind: crate::platform::ConnectErrorKind::NoFileDescriptors,
                    error: "Too many open files".into(),
                }
            } else {
                rst()
            }
        });
        let (hosts, _) = scan(n, "10.0.0.0/29", &[4026], SETTINGS).await;
        let h = hosts
            .iter()
            .find(|h| h.address.to_string() == "10.0.0.3")
            .unwrap();
        assert_eq!(h.ports[0].state, PortState::Closed);
        assert_eq!(
            h.ports[0].attempts, 1,
            "exhausted attempts never reached the network"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn concurrency_is_never_exceeded() {
        let live = Arc::new(AtomicUsize::new(0));
        let peak = Arc::new(AtomicUsize::new(0));
        struct Gauge(Arc<AtomicUsize>, Arc<AtomicUsize>);
        impl Connector for Gauge {
            async fn attempt(&self, _a: SocketAddr, _t: Duration) -> Attempt {
                let n = self.0.fetch_add(1, Ordering::SeqCst) + 1;
                self.1.fetch_max(n, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(5)).await;
                self.0.fetch_sub(1, Ordering::SeqCst);
                rst()
            }
        }
        let (tx, mut rx) = mpsc::channel(1 << 16);
        let (_c, crx) = watch::channel(false);
        let s = ScanSettings {
            concurrency: 10,
            ..SETTINGS
        };
        let h = tokio::spawn(run(
            Arc::new(Gauge(live, peak.clone())),
            targets("10.0.0.0/24"),
            vec![Port(1), Port(2)],
            s,
            Arc::new(ScanStats::default()),
            tx,
            crx,
        ));
        while rx.recv().await.is_some() {}
        h.await.unwrap();
        assert_eq!(peak.load(Ordering::SeqCst), 10);
    }

    #[tokio::test(start_paused = true)]
    async fn rate_cap_spaces_probes() {
        let n = net(|_, _| rst());
        let s = ScanSettings {
            rate: Some(100.0),
            ..SETTINGS
        };
        let t0 = Instant::now();
        let (hosts, _) = scan(n, "10.0.0.0/24", &[4026], s).await;
        assert_eq!(hosts.len(), 256);
        let took = t0.elapsed();
        assert!(
            took >= Duration::from_millis(2400) && took < Duration::from_secs(3),
            "{took:?}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn cancellation_stops_and_reports_progress() {
        let n = net(|_, _| Attempt::NoResponse);
        let (tx, mut rx) = mpsc::channel(1 << 16);
        let (ctx, crx) = watch::channel(false);
        let s = ScanSettings {
            concurrency: 16,
            ..SETTINGS
        };
        let h = tokio::spawn(run(
            n,
            targets("10.0.0.0/16"),
            vec![Port(4026)],
            s,
            Arc::new(ScanStats::default()),
            tx,
            crx,
        ));
        tokio::time::sleep(Duration::from_secs(5)).await;
        ctx.send(true).unwrap();
        let outcome = h.await.unwrap();
        let mut got = 0;
        while let Some(batch) = rx.recv().await {
            got += batch.len();
        }
        assert!(!outcome.completed);
        assert_eq!(outcome.hosts_total, 65_536);
        assert_eq!(u128::from(got as u64), outcome.hosts_done);
        assert!(outcome.hosts_done > 0 && outcome.hosts_done < 65_536);
    }

    #[tokio::test(start_paused = true)]
    async fn max_hosts_limits_the_scan() {
        let n = net(|_, _| rst());
        let s = ScanSettings {
            max_hosts: Some(1000),
            ..SETTINGS
        };
        let (hosts, outcome) = scan(n, "10.0.0.0/8", &[4026], s).await;
        assert_eq!(hosts.len(), 1000);
        assert_eq!(outcome.hosts_total, 1000);
    }

    struct IpAddr4([u8; 4]);
    impl IpAddr4 {
        fn of(a: SocketAddr) -> IpAddr4 {
            match a.ip() {
                std::net::IpAddr::V4(v) => IpAddr4(v.octets()),
                _ => panic!(),
            }
        }
    }
}
