//! A scripted network behind the [`Io`] seam, on tokio's paused clock: every scheduling rule of
//! the lane is tested through it, whatever I/O path production uses.

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;

use super::io::{Io, Start, Token};
use crate::probe::Attempt;

/// How the network answers one attempt.
#[derive(Debug, Clone)]
pub(crate) enum Reply {
    /// `connect()` fails at once (no route, local exhaustion…).
    AtOnce(Attempt),
    /// The answer arrives after this long.
    After(Duration, Attempt),
    /// The handshake completes after `connect`, and the exchange after it takes `exchange`
    /// more; then `attempt` (an `Accepted`).
    Connects {
        connect: Duration,
        exchange: Duration,
        attempt: Attempt,
    },
    /// Nothing ever comes back.
    Silent,
}

type Script = dyn Fn(SocketAddr, u32) -> Reply + Send + Sync;

/// The network: `answer(addr, attempt_no)` decides each attempt (attempt_no counts from 1).
pub(crate) struct FakeNet {
    answer: Box<Script>,
    pub(crate) seen: Mutex<HashMap<SocketAddr, u32>>,
    /// When each silent attempt was given up, and how long after its start.
    pub(crate) expired: Mutex<Vec<(SocketAddr, Duration)>>,
    pub(crate) starts: Mutex<Vec<(SocketAddr, Instant)>>,
    live: Mutex<usize>,
    pub(crate) peak: Mutex<usize>,
    /// Calls of `wait`, with how many attempts had been started before each.
    pub(crate) waits: Mutex<Vec<usize>>,
    /// Connects that fit at once, as descriptors do; beyond them `connect()` fails with EMFILE.
    pub(crate) descriptors: Mutex<Option<usize>>,
}

impl FakeNet {
    pub(crate) fn new(
        answer: impl Fn(SocketAddr, u32) -> Reply + Send + Sync + 'static,
    ) -> Arc<Self> {
        Arc::new(FakeNet {
            answer: Box::new(answer),
            seen: Mutex::new(HashMap::new()),
            expired: Mutex::new(Vec::new()),
            starts: Mutex::new(Vec::new()),
            live: Mutex::new(0),
            peak: Mutex::new(0),
            waits: Mutex::new(Vec::new()),
            descriptors: Mutex::new(None),
        })
    }

    pub(crate) fn attempts(&self) -> u32 {
        self.seen.lock().unwrap().values().sum()
    }

    fn done(&self) {
        *self.live.lock().unwrap() -= 1;
    }
}

struct Flight {
    addr: SocketAddr,
    started: Instant,
    /// When the handshake completes, if it does: from then on the deadline does not apply.
    connects_at: Option<Instant>,
}

pub(crate) struct FakeIo {
    net: Arc<FakeNet>,
    due: BTreeMap<(Instant, Token), Attempt>,
    flights: HashMap<Token, Flight>,
}

impl FakeIo {
    pub(crate) fn new(net: Arc<FakeNet>) -> Self {
        FakeIo {
            net,
            due: BTreeMap::new(),
            flights: HashMap::new(),
        }
    }
}

impl Io for FakeIo {
    fn start(&mut self, token: Token, addr: SocketAddr) -> Start {
        let now = Instant::now();
        let n = {
            let mut seen = self.net.seen.lock().unwrap();
            let n = seen.entry(addr).or_insert(0);
            *n += 1;
            *n
        };
        self.net.starts.lock().unwrap().push((addr, now));
        let full = self
            .net
            .descriptors
            .lock()
            .unwrap()
            .is_some_and(|d| *self.net.live.lock().unwrap() >= d);
        let reply = if full {
            Reply::AtOnce(Attempt::Local {
                kind: crate::platform::ConnectErrorKind::NoFileDescriptors,
                error: "Too many open files".into(),
            })
        } else {
            (self.net.answer)(addr, n)
        };
        if let Reply::AtOnce(a) = reply {
            return Start::Done(a);
        }
        {
            let mut live = self.net.live.lock().unwrap();
            *live += 1;
            let mut peak = self.net.peak.lock().unwrap();
            *peak = (*peak).max(*live);
        }
        let mut connects_at = None;
        match reply {
            Reply::After(d, a) => {
                self.due.insert((now + d, token), a);
            }
            Reply::Connects {
                connect,
                exchange,
                attempt,
            } => {
                connects_at = Some(now + connect);
                self.due.insert((now + connect + exchange, token), attempt);
            }
            Reply::Silent | Reply::AtOnce(_) => {}
        }
        self.flights.insert(
            token,
            Flight {
                addr,
                started: now,
                connects_at,
            },
        );
        Start::Pending
    }

    fn interrupt(&mut self, out: &mut Vec<(Token, Attempt)>) {
        let now = Instant::now();
        let connected: Vec<Token> = self
            .flights
            .iter()
            .filter(|(_, f)| f.connects_at.is_some_and(|c| c <= now))
            .map(|(t, _)| *t)
            .collect();
        for token in connected {
            let f = self.flights.remove(&token).expect("present");
            self.due.retain(|(_, t), _| *t != token);
            self.net.done();
            let rtt = f.connects_at.expect("connected") - f.started;
            out.push((
                token,
                Attempt::Accepted {
                    rtt,
                    greeting: None,
                },
            ));
        }
    }

    fn expire(&mut self, token: Token) -> bool {
        let now = Instant::now();
        let Some(f) = self.flights.get(&token) else {
            return false;
        };
        if f.connects_at.is_some_and(|c| c <= now) {
            return false;
        }
        let f = self.flights.remove(&token).expect("present");
        self.due.retain(|(_, t), _| *t != token);
        self.net
            .expired
            .lock()
            .unwrap()
            .push((f.addr, now.duration_since(f.started)));
        self.net.done();
        true
    }

    async fn wait(&mut self, until: Instant, out: &mut Vec<(Token, Attempt)>) {
        let started: usize = self.net.starts.lock().unwrap().len();
        self.net.waits.lock().unwrap().push(started);
        let next = self.due.keys().next().map(|(t, _)| *t);
        let wake = next.map_or(until, |n| n.min(until));
        if wake > Instant::now() {
            tokio::time::sleep_until(wake).await;
        }
        let now = Instant::now();
        while let Some(entry) = self.due.first_entry() {
            if entry.key().0 > now {
                break;
            }
            let ((_, token), attempt) = entry.remove_entry();
            self.flights.remove(&token);
            self.net.done();
            out.push((token, attempt));
        }
    }
}
