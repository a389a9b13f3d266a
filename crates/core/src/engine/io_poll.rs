//! The Unix [`Io`]: the lane's sockets in a poll set of its own (mio: epoll on Linux, kqueue on
//! the BSDs), awaited through tokio as one file descriptor.
//!
//! Why not one tokio future per connect, as [`super::io_generic`] does: per probe that costs a
//! registration object, a timer entry and a task node, and an `epoll_ctl(DEL)` system call when
//! the socket goes away. Here a socket is added once, and closing it removes it from the set by
//! itself; deadlines live in the lane's heap, served by a single tokio timer. Measured on the
//! lab's farm this is the difference between about 1.5× and 1.1× the CPU time of a bare C
//! epoll loop (docs/benchmarks.md).
//!
//! Open ports are rare: the exchange after their handshake runs as an ordinary tokio future.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::os::fd::{AsRawFd, RawFd};
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use futures::stream::{FuturesUnordered, StreamExt};
use futures::FutureExt;
use mio::net::TcpStream as MioStream;
use mio::{Events, Interest, Poll, Token as MioToken};
use socket2::SockRef;
use tokio::io::unix::AsyncFd;
use tokio::time::{Instant, Sleep};

use super::io::{Io, Start, Token};
use crate::probe::tcp::{
    handshake, local_or_failed, start_connect, AfterConnect, Exchanged, Handshake,
};
use crate::probe::Attempt;

/// Events taken from the poll set per system call.
const EVENTS: usize = 1024;

struct Connecting {
    stream: MioStream,
    started: Instant,
}

/// The poll set's descriptor, for tokio to watch.
struct PollFd(RawFd);

impl AsRawFd for PollFd {
    fn as_raw_fd(&self) -> RawFd {
        self.0
    }
}

type Exchange = Pin<Box<dyn Future<Output = (Token, Attempt)> + Send>>;

pub(crate) struct PollIo {
    after: Arc<dyn AfterConnect>,
    /// Declared before `poll`, so it is dropped (deregistered) before the descriptor closes.
    afd: AsyncFd<PollFd>,
    poll: Poll,
    events: Events,
    /// Sockets still connecting, by token.
    connecting: Vec<Option<Connecting>>,
    live: usize,
    /// Connected sockets in their exchange, and the round trip of each handshake.
    exchanges: FuturesUnordered<Exchange>,
    exchanging: std::collections::HashMap<Token, Duration>,
    /// Handshakes read from one batch of events (kept to reuse its allocation).
    ready: Vec<(Token, Handshake, Duration)>,
    /// The lane's one timer, reset rather than re-created on every turn.
    sleep: Pin<Box<Sleep>>,
}

impl PollIo {
    /// A poll set for one lane; fails when the system gives no descriptor for it.
    pub(crate) fn new(after: Arc<dyn AfterConnect>) -> io::Result<PollIo> {
        let poll = Poll::new()?;
        // SAFETY: `poll` owns the descriptor and outlives `afd` (dropped first, as declared
        // first), and nothing closes or replaces the descriptor meanwhile.
        let afd = unsafe {
            AsyncFd::register_with_interest(
                PollFd(poll.as_raw_fd()),
                tokio::io::Interest::READABLE,
            )?
        };
        Ok(PollIo {
            after,
            afd,
            poll,
            events: Events::with_capacity(EVENTS),
            connecting: Vec::new(),
            live: 0,
            exchanges: FuturesUnordered::new(),
            exchanging: std::collections::HashMap::new(),
            ready: Vec::new(),
            sleep: Box::pin(tokio::time::sleep_until(Instant::now())),
        })
    }

    fn slot(&mut self, token: Token) -> &mut Option<Connecting> {
        if self.connecting.len() <= token {
            self.connecting.resize_with(token + 1, || None);
        }
        &mut self.connecting[token]
    }

    fn take(&mut self, token: Token) -> Option<Connecting> {
        let c = self.connecting.get_mut(token)?.take()?;
        self.live -= 1;
        Some(c)
    }

    /// Reads every event of the set (edge-triggered: drained completely) without waiting.
    fn drain(&mut self, out: &mut Vec<(Token, Attempt)>) {
        let now = Instant::now();
        while self.live > 0 {
            if self
                .poll
                .poll(&mut self.events, Some(Duration::ZERO))
                .is_err()
            {
                break;
            }
            let mut n = 0;
            let mut ready = std::mem::take(&mut self.ready);
            for ev in self.events.iter() {
                n += 1;
                let token = ev.token().0;
                let Some(Some(c)) = self.connecting.get(token) else {
                    continue;
                };
                let rtt = now.saturating_duration_since(c.started);
                ready.push((token, handshake(SockRef::from(&c.stream), rtt), rtt));
            }
            for (token, h, rtt) in ready.drain(..) {
                match h {
                    Handshake::Pending => {}
                    Handshake::Done(attempt) => {
                        self.take(token);
                        out.push((token, attempt));
                    }
                    Handshake::Connected => {
                        let Some(mut c) = self.take(token) else {
                            continue;
                        };
                        let _ = self.poll.registry().deregister(&mut c.stream);
                        // The descriptor moves to tokio for the (rare) exchange.
                        let std_stream =
                            std::net::TcpStream::from(std::os::fd::OwnedFd::from(c.stream));
                        let after = self.after.clone();
                        self.exchanging.insert(token, rtt);
                        self.exchanges.push(Box::pin(async move {
                            let exchanged = match tokio::net::TcpStream::from_std(std_stream) {
                                Ok(s) => after.exchange(s).await,
                                Err(_) => crate::probe::tcp::Exchanged::Silent,
                            };
                            (token, Attempt::accepted(rtt, exchanged))
                        }));
                    }
                }
            }
            self.ready = ready;
            if n < EVENTS {
                break;
            }
        }
        while let Some(Some(done)) = self.exchanges.next().now_or_never() {
            self.exchanging.remove(&done.0);
            out.push(done);
        }
    }
}

impl Io for PollIo {
    fn start(&mut self, token: Token, addr: SocketAddr) -> Start {
        let (sock, t0) = match start_connect(addr) {
            Ok(s) => s,
            Err(attempt) => return Start::Done(attempt),
        };
        let mut stream = MioStream::from_std(sock.into());
        if let Err(e) =
            self.poll
                .registry()
                .register(&mut stream, MioToken(token), Interest::WRITABLE)
        {
            return Start::Done(local_or_failed(&e));
        }
        *self.slot(token) = Some(Connecting {
            stream,
            started: Instant::from_std(t0),
        });
        self.live += 1;
        Start::Pending
    }

    fn interrupt(&mut self, out: &mut Vec<(Token, Attempt)>) {
        for (token, rtt) in self.exchanging.drain() {
            out.push((token, Attempt::accepted(rtt, Exchanged::Silent)));
        }
    }

    fn expire(&mut self, token: Token) -> bool {
        // Dropping the stream closes the socket, which leaves the poll set by itself.
        self.take(token).is_some()
    }

    async fn wait(&mut self, until: Instant, out: &mut Vec<(Token, Attempt)>) {
        if until > Instant::now() {
            if self.sleep.deadline() != until {
                self.sleep.as_mut().reset(until);
            }
            let watching = self.live > 0;
            let exchanging = !self.exchanges.is_empty();
            tokio::select! {
                biased;
                guard = self.afd.readable(), if watching => {
                    // Drained below; tokio keeps an event that races with this clear.
                    if let Ok(mut g) = guard {
                        g.clear_ready();
                    }
                }
                Some(done) = self.exchanges.next(), if exchanging => {
                    self.exchanging.remove(&done.0);
                    out.push(done);
                }
                () = &mut self.sleep => {}
            }
        }
        // Always drain the set before the lane judges deadlines: an answer that came back
        // while the lane was busy is an answer, not a timeout.
        self.drain(out);
    }
}
