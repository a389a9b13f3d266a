//! One lane: its slice of the scan order, scheduled over an [`Io`]. The same loop runs on every
//! platform and in the paused-clock tests, so each rule below is tested once for all of them.
//!
//! Per turn: start probes up to the lane's limit (at most [`STARTS_PER_TURN`], so a burst of
//! connects never delays reading answers already back), hand decided hosts on, wait for the
//! sockets, the next deadline or the rate cap, collect every outcome ready, cut the waits of
//! hosts that turned out to be up, and only then call silence past its deadline.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::sync::atomic::Ordering;
use std::time::Duration;

use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

use super::io::{Io, Start, Token};
use super::scheduler::{HostResult, Job, Next, Scheduler};
use crate::probe::Attempt;

/// New connects per turn of the loop.
pub(crate) const STARTS_PER_TURN: usize = 512;

/// The lane's probes in flight, by token, with generations so a stale deadline never touches a
/// token that was reused, and when each started.
struct InFlight {
    slots: Vec<Option<(Job, u32, Instant)>>,
    generations: Vec<u32>,
    free: Vec<Token>,
    live: usize,
}

impl InFlight {
    fn new() -> Self {
        InFlight {
            slots: Vec::new(),
            generations: Vec::new(),
            free: Vec::new(),
            live: 0,
        }
    }

    fn insert(&mut self, job: Job, started: Instant) -> (Token, u32) {
        let t = self.free.pop().unwrap_or_else(|| {
            self.slots.push(None);
            self.generations.push(0);
            self.slots.len() - 1
        });
        self.generations[t] = self.generations[t].wrapping_add(1);
        self.slots[t] = Some((job, self.generations[t], started));
        self.live += 1;
        (t, self.generations[t])
    }

    fn take(&mut self, t: Token) -> Option<Job> {
        let (job, _, _) = self.slots.get_mut(t)?.take()?;
        self.free.push(t);
        self.live -= 1;
        Some(job)
    }

    /// Every job still in flight, emptying the set.
    fn drain(&mut self) -> Vec<Job> {
        self.live = 0;
        self.slots
            .drain(..)
            .flatten()
            .map(|(job, _, _)| job)
            .collect()
    }

    fn is_current(&self, t: Token, g: u32) -> bool {
        matches!(self.slots.get(t), Some(Some((_, sg, _))) if *sg == g)
    }

    /// Earlier deadlines for the attempts in flight on hosts that just turned out to be up
    /// (`woken`, sorted): the wait their host's own round trips call for, when shorter. The old
    /// deadline stays in the heap and is skipped as stale once the attempt is decided.
    fn rearm(
        &self,
        woken: &[u128],
        sched: &Scheduler,
        deadlines: &mut BinaryHeap<Reverse<(Instant, Token, u32)>>,
    ) {
        for (token, slot) in self.slots.iter().enumerate() {
            let Some((job, generation, started)) = slot else {
                continue;
            };
            if woken.binary_search(&job.position()).is_err() {
                continue;
            }
            if let Some(wait) = sched.wait_for(job).filter(|w| *w < job.timeout) {
                deadlines.push(Reverse((*started + wait, token, *generation)));
            }
        }
    }
}

/// Runs one lane to the end of its slice; false when cancelled or when the output closed.
pub(crate) async fn lane<I: Io>(
    mut sched: Scheduler,
    mut io: I,
    out: mpsc::Sender<Vec<HostResult>>,
    mut cancel: watch::Receiver<bool>,
) -> bool {
    let stats = sched.stats.clone();
    let mut in_flight = InFlight::new();
    let mut deadlines: BinaryHeap<Reverse<(Instant, Token, u32)>> = BinaryHeap::new();
    let mut ready: Vec<(Token, Attempt)> = Vec::new();
    let mut done: Vec<HostResult> = Vec::new();
    let mut published = 0usize;
    let far = Instant::now() + Duration::from_secs(86_400);
    let stop = |published: usize| {
        stats.in_flight.fetch_sub(published, Ordering::Relaxed);
        false
    };

    loop {
        if *cancel.borrow() {
            // Cancelled: what is already decided is still news. Collect the answers already back
            // (without waiting), then hand on every host with a decided port, the rest of its
            // ports undecided.
            io.wait(Instant::now(), &mut ready).await;
            io.interrupt(&mut ready);
            let now = Instant::now();
            for (token, attempt) in ready.drain(..) {
                if let Some(job) = in_flight.take(token) {
                    done.extend(sched.complete(job, attempt, now));
                }
            }
            let waiting = in_flight.drain();
            done.extend(sched.partial_hosts(waiting));
            if !done.is_empty() {
                let _ = out.send(std::mem::take(&mut done)).await;
            }
            return stop(published);
        }
        let now = Instant::now();
        let mut wait_until = None;
        let mut started = 0usize;
        while in_flight.live < sched.limit && started < STARTS_PER_TURN {
            match sched.next(now) {
                Some(Next::Job(job)) => {
                    started += 1;
                    let timeout = job.timeout;
                    let addr = job.addr;
                    let (token, generation) = in_flight.insert(job, now);
                    match io.start(token, addr) {
                        Start::Pending => {
                            deadlines.push(Reverse((now + timeout, token, generation)));
                        }
                        Start::Done(attempt) => {
                            let job = in_flight.take(token).expect("just inserted");
                            done.extend(sched.complete(job, attempt, now));
                        }
                    }
                }
                Some(Next::WaitUntil(t)) => {
                    wait_until = Some(t);
                    break;
                }
                Some(Next::Idle) | None => break,
            }
        }
        stats.publish(started as u64, in_flight.live, &mut published);
        // One message per turn: fewer wake-ups of the reader.
        if !done.is_empty() && out.send(std::mem::take(&mut done)).await.is_err() {
            return stop(published); // nobody reads the results any more
        }
        if in_flight.live == 0 && wait_until.is_none() && sched.finished() {
            return true;
        }

        // More to start: only collect what is ready, never wait.
        let until = if started >= STARTS_PER_TURN {
            now
        } else {
            let next_deadline = deadlines.peek().map(|Reverse((t, _, _))| *t);
            [next_deadline, wait_until]
                .into_iter()
                .flatten()
                .min()
                .unwrap_or(far)
        };
        tokio::select! {
            biased;
            changed = cancel.changed() => {
                // The owner of the run went away: as good as cancelled.
                if changed.is_err() {
                    return stop(published);
                }
                continue;
            }
            () = io.wait(until, &mut ready) => {}
        }

        let now = Instant::now();
        for (token, attempt) in ready.drain(..) {
            if let Some(job) = in_flight.take(token) {
                done.extend(sched.complete(job, attempt, now));
            }
        }
        let woken = sched.take_woken();
        if !woken.is_empty() {
            in_flight.rearm(&woken, &sched, &mut deadlines);
        }
        // Silence past its deadline, now that every answer already back is counted.
        while let Some(Reverse((t, token, generation))) = deadlines.peek().copied() {
            if t > now {
                break;
            }
            deadlines.pop();
            if !in_flight.is_current(token, generation) || !io.expire(token) {
                continue; // answered earlier, or connected and finishing its exchange
            }
            let job = in_flight.take(token).expect("current");
            done.extend(sched.complete(job, Attempt::NoResponse, now));
        }
    }
}
