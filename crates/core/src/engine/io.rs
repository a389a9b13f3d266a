//! The seam between a lane's scheduling and its sockets.
//!
//! A lane decides what to probe, when, and when to give up ([`super::lane`]); an [`Io`] only
//! starts connects and hands back what came back. Every scheduling rule therefore runs the same
//! code over the poll set of Unix ([`super::io_poll`]), one future per connect elsewhere
//! ([`super::io_generic`]), and a scripted network on tokio's paused clock in the unit tests.

use std::future::Future;
use std::net::SocketAddr;

use tokio::time::Instant;

use crate::probe::Attempt;

/// A lane's name for one probe in flight, unique among its probes in flight.
pub(crate) type Token = usize;

/// What starting a connect gave.
#[derive(Debug)]
pub(crate) enum Start {
    /// The connect is under way; its outcome will come out of [`Io::wait`].
    Pending,
    /// `connect()` failed at once (no route, local exhaustion…): the attempt's outcome.
    Done(Attempt),
}

/// The sockets of one lane.
pub(crate) trait Io: Send {
    /// Starts a connect to `addr` under `token`.
    fn start(&mut self, token: Token, addr: SocketAddr) -> Start;

    /// The connect deadline of `token` has passed. True when it was still connecting (its
    /// socket is closed now: no response); false when it had connected and the exchange after
    /// the handshake is still running, which ends by itself.
    fn expire(&mut self, token: Token) -> bool;

    /// The run stops: appends, as accepted, every connection whose handshake completed while its
    /// exchange (the greeting read) is still running. The handshake decided the port; only what
    /// the exchange would have added is lost.
    fn interrupt(&mut self, out: &mut Vec<(Token, Attempt)>);

    /// Waits until an outcome is ready or `until` has come (at once when it has), then appends
    /// every outcome ready now to `out`: an answer that came back while the lane was busy is
    /// collected here, before the lane judges any deadline.
    fn wait<'a>(
        &'a mut self,
        until: Instant,
        out: &'a mut Vec<(Token, Attempt)>,
    ) -> impl Future<Output = ()> + Send + 'a;
}
