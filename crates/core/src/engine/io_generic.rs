//! The portable [`Io`]: one tokio future per connect. Used where there is no poll set of the
//! lane's own (Windows), and when one cannot be had (out of descriptors): exhaustion slows a
//! scan down, it never stops one.

use std::collections::HashMap;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::future::{AbortHandle, Abortable};
use futures::stream::{FuturesUnordered, StreamExt};
use futures::FutureExt;
use tokio::time::Instant;

use super::io::{Io, Start, Token};
use crate::probe::tcp::{self, AfterConnect, Exchanged};
use crate::probe::Attempt;

type Probe = Pin<Box<dyn Future<Output = (Token, Option<Attempt>)> + Send>>;

struct Live {
    abort: AbortHandle,
    /// The handshake's round trip once it completed: from then on the deadline no longer
    /// applies.
    connected: Arc<Mutex<Option<Duration>>>,
}

pub(crate) struct GenericIo {
    after: Arc<dyn AfterConnect>,
    probes: FuturesUnordered<Probe>,
    live: HashMap<Token, Live>,
}

impl GenericIo {
    pub(crate) fn new(after: Arc<dyn AfterConnect>) -> Self {
        GenericIo {
            after,
            probes: FuturesUnordered::new(),
            live: HashMap::new(),
        }
    }

    fn collect(
        &mut self,
        first: Option<(Token, Option<Attempt>)>,
        out: &mut Vec<(Token, Attempt)>,
    ) {
        let mut next = first;
        while let Some((token, outcome)) = next {
            // An aborted probe (expired) yields nothing: its token may already be reused.
            if let Some(attempt) = outcome {
                self.live.remove(&token);
                out.push((token, attempt));
            }
            next = self.probes.next().now_or_never().flatten();
        }
    }
}

impl Io for GenericIo {
    fn start(&mut self, token: Token, addr: SocketAddr) -> Start {
        let (sock, t0) = match tcp::start_connect(addr) {
            Ok(s) => s,
            Err(attempt) => return Start::Done(attempt),
        };
        let after = self.after.clone();
        let connected = Arc::new(Mutex::new(None));
        let flag = connected.clone();
        let (abort, registration) = AbortHandle::new_pair();
        let work = async move {
            match tcp::finish_connect(sock, t0).await {
                Err(attempt) => attempt,
                Ok((stream, rtt)) => {
                    *flag.lock().expect("never poisoned") = Some(rtt);
                    Attempt::accepted(rtt, after.exchange(stream).await)
                }
            }
        };
        self.probes.push(Box::pin(
            Abortable::new(work, registration).map(move |r| (token, r.ok())),
        ));
        self.live.insert(token, Live { abort, connected });
        Start::Pending
    }

    fn interrupt(&mut self, out: &mut Vec<(Token, Attempt)>) {
        for (token, live) in self.live.drain() {
            let rtt = *live.connected.lock().expect("never poisoned");
            if let Some(rtt) = rtt {
                live.abort.abort();
                out.push((token, Attempt::accepted(rtt, Exchanged::Silent)));
            }
        }
    }

    fn expire(&mut self, token: Token) -> bool {
        match self.live.get(&token) {
            Some(l) if l.connected.lock().expect("never poisoned").is_none() => {
                l.abort.abort();
                self.live.remove(&token);
                true
            }
            _ => false,
        }
    }

    async fn wait(&mut self, until: Instant, out: &mut Vec<(Token, Attempt)>) {
        let first = if self.probes.is_empty() {
            tokio::time::sleep_until(until).await;
            None
        } else {
            tokio::select! {
                biased;
                first = self.probes.next() => first,
                () = tokio::time::sleep_until(until) => None,
            }
        };
        let first = first.or_else(|| self.probes.next().now_or_never().flatten());
        self.collect(first, out);
    }
}
