//! The scheduling of one lane: which (host, port) to probe next, how long to wait for it, what
//! an outcome means for the host and the port, and when a host is decided. It owns its slice of
//! hosts and all of their state; the lane loop ([`super::lane`]) feeds it outcomes from the
//! sockets. Nothing here touches a socket.
//!
//! Policies, and why:
//! - **Timeouts** follow measured round trips (see [`super::rtt`]). On a host that answered
//!   anything (a host known to be up), every wait is its own `srtt + 4 × rttvar`, between
//!   `up_min_timeout` and `max_timeout` (the user's `--timeout`), not doubled per retry: silence
//!   from a host that answers elsewhere is a firewall or a lost SYN, not congestion. When a host
//!   turns out to be up, the attempts already waiting the full `max_timeout` on its other ports
//!   (for want of a measurement) are cut to that wait too (the lane re-arms them): a host that
//!   resets in 0.3 ms does not need a second per silent port. On other hosts the wait follows
//!   the lane's estimate, between `min_timeout` and `max_timeout`, doubled for each retry of
//!   silence (TCP's back-off); a probe of named targets sets both to `--timeout`: a fixed wait
//!   until the host answers.
//! - **Retries** follow [`super::policy`]. On a host that answered elsewhere, silence may be a
//!   lost SYN, so every silent port gets [`UP_HOST_ATTEMPTS`] attempts. A silent port whose
//!   retries ran out while its host had not answered yet is held (not called filtered) while
//!   the host's other ports are outstanding: if one of them answers, the host is up and the port
//!   gets the rest of an up host's attempts. On a host that never answered, retries pay only if
//!   the network loses packets: as nmap does with its per-scan "successful try" bookkeeping,
//!   retries there continue while retries have ever been answered, and stop after
//!   [`LOSS_SAMPLE`] unanswered ones show the path does not lose SYNs.
//! - **Local exhaustion** (EMFILE, EADDRNOTAVAIL, ENOBUFS) halves the lane's concurrency, to no
//!   more than the probes in flight when it happened (what fits), pauses it briefly and re-queues
//!   the probe: never a port state while retries remain.

use std::collections::{HashMap, VecDeque};
use std::hash::{BuildHasherDefault, Hasher};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

#[cfg(doc)]
use super::policy::UP_HOST_ATTEMPTS;
use super::policy::{self, Tries, LOSS_SAMPLE};
use super::rtt::RttEstimator;
use crate::catalog::Port;
use crate::done::DoneSet;
use crate::order::{ProbeOrder, ProbeSlot, Shard};
use crate::platform::{self, NeighbourTable};
use crate::probe::{conclude, Attempt, PortResult, PortState};
use crate::target::Address;
use crate::target_set::IndexedSet;

/// The concurrency never drops below this, whatever the local errors.
const MIN_CONCURRENCY: usize = 8;

/// How probes are ordered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    /// A seeded permutation of hosts, each window of hosts' probes shuffled: spreads a scan over
    /// networks and hosts, and lets shards of the same command agree.
    Shuffled,
    /// As given: hosts in order, each host's ports in order (the probe of named targets, whose
    /// reports and ICMP rate limits should not depend on a seed).
    AsGiven,
}

/// How the engine probes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EngineSettings {
    /// First wait, before any round trip was measured, and the upper bound of every wait.
    pub max_timeout: Duration,
    /// The adaptive wait never goes below this (on hosts not known to be up).
    pub min_timeout: Duration,
    /// The floor of the wait on a host that answered: its own round trips are measured, so it
    /// needs less margin than an estimate borrowed from other hosts (capped by `max_timeout`).
    pub up_min_timeout: Duration,
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
    pub order: Order,
}

impl Default for EngineSettings {
    /// A scan with the command line's defaults.
    fn default() -> Self {
        EngineSettings {
            max_timeout: platform::DEFAULT_CONNECT_TIMEOUT,
            min_timeout: DEFAULT_MIN_TIMEOUT,
            up_min_timeout: DEFAULT_MIN_TIMEOUT / 2,
            retries: 1,
            concurrency: 512,
            rate: None,
            seed: 0,
            shard: Shard::WHOLE,
            max_hosts: None,
            lanes: 0,
            order: Order::Shuffled,
        }
    }
}

/// The command line's `--min-timeout`.
pub const DEFAULT_MIN_TIMEOUT: Duration = Duration::from_millis(100);

impl EngineSettings {
    /// The probe of named targets: every port in order, one lane, and a fixed wait per attempt
    /// until the host answers something; from then on its own round trips set the wait (down to
    /// half the default `--min-timeout`).
    pub fn fixed(timeout: Duration, retries: u32, concurrency: usize) -> EngineSettings {
        EngineSettings {
            max_timeout: timeout,
            min_timeout: timeout,
            up_min_timeout: (DEFAULT_MIN_TIMEOUT / 2).min(timeout),
            retries,
            concurrency,
            rate: None,
            seed: 0,
            shard: Shard::WHOLE,
            max_hosts: None,
            lanes: 1,
            order: Order::AsGiven,
        }
    }
}

/// Everything decided about one host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostResult {
    /// The host's position in the scan order.
    pub position: u128,
    pub address: Address,
    /// One result per port, in the order of the run's port list.
    pub ports: Vec<PortResult>,
}

impl HostResult {
    /// Some ports were left undecided by an interruption.
    pub fn is_partial(&self) -> bool {
        self.ports.iter().any(|p| p.state == PortState::Undecided)
    }
}

/// The run's counters, shared by its lanes; read through [`ScanProgress`] snapshots.
#[derive(Debug, Default)]
pub(crate) struct Stats {
    pub(crate) hosts_total: AtomicU64,
    pub(crate) hosts_done: AtomicU64,
    pub(crate) probes_sent: AtomicU64,
    pub(crate) retries_sent: AtomicU64,
    pub(crate) in_flight: AtomicUsize,
    pub(crate) concurrency_limit: AtomicUsize,
    pub(crate) local_backoffs: AtomicU64,
    /// Retries of hosts that never answered, and retries that got an answer: shared by all
    /// lanes so the loss policy is one decision for the whole scan.
    silent_host_retries: AtomicU64,
    retries_answered: AtomicU64,
}

impl Stats {
    /// Publishes a lane's probes started and its in-flight count, once per turn of its loop:
    /// lanes on different cores would otherwise bounce these cache lines on every connect.
    /// `published` is what this lane published last time.
    pub(crate) fn publish(&self, started: u64, in_flight: usize, published: &mut usize) {
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

impl Stats {
    /// What the run has done so far.
    pub(crate) fn progress(&self) -> ScanProgress {
        ScanProgress {
            hosts_total: self.hosts_total.load(Ordering::Relaxed),
            hosts_done: self.hosts_done.load(Ordering::Relaxed),
            probes_sent: self.probes_sent.load(Ordering::Relaxed),
            retries_sent: self.retries_sent.load(Ordering::Relaxed),
            in_flight: self.in_flight.load(Ordering::Relaxed),
            concurrency_limit: self.concurrency_limit.load(Ordering::Relaxed),
            local_backoffs: self.local_backoffs.load(Ordering::Relaxed),
        }
    }
}

/// A snapshot of a run's progress: plain numbers, for progress bars and summaries.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ScanProgress {
    /// Hosts the run will decide (its shard, cut by `max_hosts`); 0 until the run has started.
    pub hosts_total: u64,
    pub hosts_done: u64,
    /// Connect attempts started, retries included.
    pub probes_sent: u64,
    /// How many of them were retries of silence.
    pub retries_sent: u64,
    pub in_flight: usize,
    /// The concurrency now allowed (lowered by local exhaustion, then raised again).
    pub concurrency_limit: usize,
    /// Times local exhaustion (EMFILE, EADDRNOTAVAIL, ENOBUFS) made a lane back off.
    pub local_backoffs: u64,
}

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScanOutcome {
    /// False when it was cancelled (or its output closed) before every host was decided.
    pub completed: bool,
    pub hosts_total: u128,
    pub hosts_done: u128,
    pub probes_sent: u64,
    pub retries_sent: u64,
    pub local_backoffs: u64,
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct Job {
    slot: ProbeSlot,
    pub(crate) addr: SocketAddr,
    tries: Tries,
    pub(crate) timeout: Duration,
}

impl Job {
    /// Its host's position in the scan order.
    pub(crate) fn position(&self) -> u128 {
        self.slot.position
    }
}

struct HostState {
    address: Address,
    results: Vec<Option<PortResult>>,
    remaining: usize,
    /// Something answered from this host (or on its behalf).
    up: bool,
    rtt: RttEstimator,
    /// Silent ports whose retries ran out before the host answered anything, held while its
    /// other ports are outstanding (see the module docs).
    parked: Vec<Job>,
    /// The longest wait given to an attempt of it. When the host turns out to be up, attempts
    /// in flight are re-armed only if one got the full `max_timeout` for want of a measurement
    /// (a named target's first wait, a scan's first hosts): cutting a scan's estimate, already a
    /// little above the floor, is not worth a pass over the lane's probes.
    longest_wait: Duration,
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

pub(crate) enum Next {
    Job(Job),
    /// Nothing may start before this instant (rate cap or back-off).
    WaitUntil(Instant),
    /// Nothing to start now; in-flight probes may still add retries.
    Idle,
}

pub(crate) struct Scheduler {
    targets: Arc<IndexedSet>,
    ports: Arc<[Port]>,
    settings: EngineSettings,
    order: ProbeOrder,
    order_done: bool,
    retry: VecDeque<Job>,
    hosts: HashMap<u128, HostState, BuildHasherDefault<PositionHasher>>,
    global: RttEstimator,
    /// Probes in flight this lane may have now.
    pub(crate) limit: usize,
    /// Jobs handed out and not yet completed: the probes in flight.
    outstanding: usize,
    max_limit: usize,
    /// This lane's share of the scan, for its share of `--rate`.
    limit_share: f64,
    completions_since_raise: usize,
    pause_until: Option<Instant>,
    tokens: f64,
    last_refill: Instant,
    neighbours: Option<(Instant, Option<NeighbourTable>)>,
    /// Hosts that turned out to be up since the lane last asked ([`Scheduler::take_woken`]).
    woken: Vec<u128>,
    pub(crate) stats: Arc<Stats>,
}

impl Scheduler {
    pub(crate) fn new(
        targets: Arc<IndexedSet>,
        ports: Arc<[Port]>,
        s: EngineSettings,
        positions: (u128, u128),
        limit: usize,
        stats: Arc<Stats>,
        skip: Option<Arc<DoneSet>>,
    ) -> Self {
        let order = match s.order {
            Order::Shuffled => {
                // Shuffle enough hosts together that a window holds about twice the probes
                // in flight.
                let per_window = ((limit * 2) / ports.len().max(1)).clamp(64, 1 << 16) as u128;
                ProbeOrder::positions_between(
                    targets.len(),
                    ports.len(),
                    s.seed,
                    positions,
                    per_window,
                )
            }
            Order::AsGiven => ProbeOrder::in_order(ports.len(), positions),
        }
        // Positions an earlier run decided (`--resume`) are never probed.
        .skipping(skip);
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
            outstanding: 0,
            max_limit: limit,
            limit_share: limit as f64 / s.concurrency.max(1) as f64,
            completions_since_raise: 0,
            pause_until: None,
            tokens: 1.0,
            last_refill: Instant::now(),
            neighbours: None,
            woken: Vec::new(),
            stats,
        }
    }

    pub(crate) fn finished(&self) -> bool {
        self.order_done && self.retry.is_empty()
    }

    fn timeout_for(&self, host: &HostState, silent: u32) -> Duration {
        let s = &self.settings;
        if host.up {
            // One answer is enough here: the host is up and its path measured. Not doubled:
            // silence from a host that answers is not congestion.
            let floor = s.up_min_timeout.min(s.max_timeout);
            if let Some(t) = host.rtt.timeout_after(1, floor, s.max_timeout) {
                return t;
            }
        }
        let base = self
            .global
            .timeout(s.min_timeout, s.max_timeout)
            .unwrap_or(s.max_timeout);
        (base * 2u32.saturating_pow(silent)).min(s.max_timeout)
    }

    /// The hosts that turned out to be up since the last call, sorted: the lane cuts the waits
    /// of their attempts in flight to [`Scheduler::wait_for`].
    pub(crate) fn take_woken(&mut self) -> Vec<u128> {
        let mut w = std::mem::take(&mut self.woken);
        w.sort_unstable();
        w
    }

    /// The wait an attempt of `job` would get if it started now.
    pub(crate) fn wait_for(&self, job: &Job) -> Option<Duration> {
        let host = self.hosts.get(&job.slot.position)?;
        Some(self.timeout_for(host, job.tries.silent))
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

    pub(crate) fn next(&mut self, now: Instant) -> Option<Next> {
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
                job.timeout = self.timeout_for(h, job.tries.silent);
            }
            if let Some(h) = self.hosts.get_mut(&job.slot.position) {
                h.longest_wait = h.longest_wait.max(job.timeout);
            }
            self.outstanding += 1;
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
                        parked: Vec::new(),
                        longest_wait: Duration::ZERO,
                    },
                );
            }
            let host = &self.hosts[&slot.position];
            let job = Job {
                slot,
                addr: host.address.socket_addr(self.ports[slot.port]),
                tries: Tries::default(),
                timeout: self.timeout_for(host, 0),
            };
            if let Some(h) = self.hosts.get_mut(&slot.position) {
                h.longest_wait = h.longest_wait.max(job.timeout);
            }
            self.outstanding += 1;
            Some(Next::Job(job))
        }
    }

    /// Takes one attempt's outcome; returns a host when it is complete.
    pub(crate) fn complete(
        &mut self,
        mut job: Job,
        attempt: Attempt,
        now: Instant,
    ) -> Option<HostResult> {
        self.outstanding = self.outstanding.saturating_sub(1);
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
        let woke = from_host && !host.up;
        if woke {
            host.up = true;
        }
        if let Some(rtt) = sample {
            host.rtt.observe(rtt);
            self.global.observe(rtt);
            if job.tries.silent > 0 {
                self.stats.retries_answered.fetch_add(1, Ordering::Relaxed);
            }
        }

        if woke {
            // Its held ports get the rest of an up host's attempts, and the attempts in flight
            // on its other ports a wait of its own round trips.
            let parked = std::mem::take(&mut host.parked);
            let longest = host.longest_wait;
            self.stats
                .retries_sent
                .fetch_add(parked.len() as u64, Ordering::Relaxed);
            self.retry.extend(parked);
            let host = &self.hosts[&job.slot.position];
            if longest >= self.settings.max_timeout && self.timeout_for(host, 0) < longest {
                self.woken.push(job.slot.position);
            }
        }
        let host = self.hosts.get_mut(&job.slot.position)?;

        let up = host.up;
        let stats = &self.stats;
        let next = policy::decide(&mut job.tries, &attempt, self.settings.retries, up, || {
            // A host that never answered is retried only while the path may lose SYNs (see
            // the module docs).
            let loss_seen = stats.retries_answered.load(Ordering::Relaxed) > 0;
            loss_seen || stats.silent_host_retries.fetch_add(1, Ordering::Relaxed) < LOSS_SAMPLE
        });
        let requeue = match next {
            policy::Next::Final => false,
            policy::Next::Retry => {
                if matches!(attempt, Attempt::NoResponse) {
                    self.stats.retries_sent.fetch_add(1, Ordering::Relaxed);
                }
                true
            }
            policy::Next::WaitOut(pause) => {
                let before = self.limit;
                // What was in flight is what fit (descriptors, ports): a floor above it would
                // run into the limit again on every turn, and pause every time.
                let fits = self.outstanding.max(1);
                self.limit = (before / 2)
                    .max(MIN_CONCURRENCY.min(self.max_limit))
                    .min(fits)
                    .min(before);
                self.stats
                    .concurrency_limit
                    .fetch_sub(before - self.limit, Ordering::Relaxed);
                self.stats.local_backoffs.fetch_add(1, Ordering::Relaxed);
                self.pause_until = Some(now + pause);
                true
            }
        };
        if !matches!(attempt, Attempt::Local { .. }) {
            self.raise_limit();
        }
        if requeue {
            self.retry.push_back(job);
            return None;
        }

        let host = self.hosts.get_mut(&job.slot.position)?;
        if matches!(attempt, Attempt::NoResponse) && !host.up {
            // Not filtered yet: another port of the host may still answer (see the module docs).
            host.parked.push(job);
        } else {
            host.results[job.slot.port] =
                Some(conclude(&attempt, job.addr.ip(), job.tries.attempts));
            host.remaining -= 1;
        }
        if !host.parked.is_empty() && host.parked.len() == host.remaining {
            // Nothing else of the host can answer any more: its held ports are silent.
            for j in host.parked.drain(..) {
                host.results[j.slot.port] = Some(conclude(
                    &Attempt::NoResponse,
                    j.addr.ip(),
                    j.tries.attempts,
                ));
            }
            host.remaining = 0;
        }
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

    /// The hosts in progress that have at least one port decided, their other ports marked
    /// undecided: what an interrupted run still knows (a debugger port that answered at once
    /// must not be lost because a silent port of the same host was still waiting).
    /// `in_flight`: the jobs still waiting for an answer (one attempt each went out).
    pub(crate) fn partial_hosts(
        &mut self,
        in_flight: impl IntoIterator<Item = Job>,
    ) -> Vec<HostResult> {
        // Each port's attempts that went out: a job in flight has one more than it counted.
        let mut tried: HashMap<(u128, usize), u32> = HashMap::new();
        for j in in_flight {
            tried.insert((j.slot.position, j.slot.port), j.tries.attempts + 1);
        }
        for j in self
            .retry
            .iter()
            .chain(self.hosts.values().flat_map(|h| &h.parked))
        {
            tried.insert((j.slot.position, j.slot.port), j.tries.attempts);
        }
        let mut out: Vec<HostResult> = self
            .hosts
            .drain()
            .filter(|(_, h)| h.remaining < h.results.len())
            .map(|(position, h)| HostResult {
                position,
                address: h.address,
                ports: h
                    .results
                    .into_iter()
                    .enumerate()
                    .map(|(port, r)| {
                        r.unwrap_or_else(|| {
                            PortResult::undecided(
                                tried.get(&(position, port)).copied().unwrap_or(0),
                            )
                        })
                    })
                    .collect(),
            })
            .collect();
        out.sort_by_key(|h| h.position);
        out
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
