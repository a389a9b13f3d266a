//! The TCP probe kind: one non-blocking connect, classified by error code, then the step after
//! the handshake ([`AfterConnect`]) that tells what holds the port.
//!
//! The engine drives both halves on whichever I/O path its lane uses (a poll set of its own on
//! Unix, one future per connect elsewhere); this module holds what they share.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::time::{Duration, Instant};

use socket2::{Domain, SockRef};
use tokio::io::Interest;

use super::{Attempt, Greeting};
use crate::platform::{self, ConnectErrorKind};

/// What the step after the handshake learned about the service on the port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Exchanged {
    /// Nothing to tell: the service did not speak (msvsmon waits for its client), or nothing
    /// was asked.
    Silent,
    /// The service spoke first: something other than msvsmon holds the port.
    Greeting(Greeting),
}

/// The step a TCP probe takes once the handshake completed. A new TCP probe kind (a protocol
/// that must be spoken to, such as SMB2's NEGOTIATE) is a new implementation of this trait, run
/// by the same engine under the same retry policy, not a new engine.
pub trait AfterConnect: Send + Sync + 'static {
    /// Talks to the service on `stream` and says what it learned, bounded in time by the
    /// implementation. Dropping the stream at the end closes the connection.
    fn exchange(
        &self,
        stream: tokio::net::TcpStream,
    ) -> Pin<Box<dyn Future<Output = Exchanged> + Send + 'static>>;
}

/// Close at once, learning nothing: a pure reachability probe.
#[derive(Debug, Clone, Copy, Default)]
pub struct JustConnect;

impl AfterConnect for JustConnect {
    fn exchange(
        &self,
        _stream: tokio::net::TcpStream,
    ) -> Pin<Box<dyn Future<Output = Exchanged> + Send + 'static>> {
        Box::pin(std::future::ready(Exchanged::Silent))
    }
}

impl Attempt {
    /// The attempt of a completed handshake, with what the exchange after it learned.
    pub fn accepted(rtt: Duration, exchanged: Exchanged) -> Attempt {
        Attempt::Accepted {
            rtt,
            greeting: match exchanged {
                Exchanged::Silent => None,
                Exchanged::Greeting(g) => Some(g),
            },
        }
    }
}

/// The first half of an attempt: a non-blocking socket whose connect is under way, or the
/// attempt's outcome when `connect()` failed at once (no route, local exhaustion…).
pub(crate) fn start_connect(addr: SocketAddr) -> Result<(socket2::Socket, Instant), Attempt> {
    let sock = platform::nonblocking_tcp_socket(Domain::for_address(addr))
        .map_err(|e| local_or_failed(&e))?;
    platform::enable_icmp_errors(&sock, addr.is_ipv6());
    let start = Instant::now();
    match sock.connect(&addr.into()) {
        Ok(()) => {}
        Err(e) if platform::connect_in_progress(&e) => {}
        Err(e) => return Err(failure(&e, SockRef::from(&sock), start.elapsed())),
    }
    Ok((sock, start))
}

/// What a socket that became writable says about its connect.
pub(crate) enum Handshake {
    /// Connected to a peer (not to itself).
    Connected,
    /// Finished: refused, rejected, unreachable, self-connect…
    Done(Attempt),
    /// A spurious wake-up: still connecting.
    Pending,
}

/// Reads the result of a connect once the socket is writable (SO_ERROR, then the peer).
pub(crate) fn handshake(sock: SockRef<'_>, rtt: Duration) -> Handshake {
    match sock.take_error() {
        Ok(Some(e)) | Err(e) => return Handshake::Done(failure(&e, sock, rtt)),
        Ok(None) => {}
    }
    match sock.peer_addr() {
        Ok(peer) => {
            // Abort on close: a RST instead of FIN, so no TIME_WAIT piles up on either side.
            let _ = sock.set_linger(Some(Duration::ZERO));
            if sock.local_addr().is_ok_and(|local| local == peer) {
                Handshake::Done(Attempt::SelfConnect)
            } else {
                Handshake::Connected
            }
        }
        Err(e) if e.kind() == io::ErrorKind::NotConnected => Handshake::Pending,
        Err(e) => Handshake::Done(failure(&e, sock, rtt)),
    }
}

/// Connects to `addr` and waits, without limit, for the handshake to finish: the connected
/// stream and its round trip, or the attempt's outcome when it failed. The caller bounds it.
#[cfg(test)]
pub(crate) async fn connect(
    addr: SocketAddr,
) -> Result<(tokio::net::TcpStream, Duration), Attempt> {
    let (sock, start) = start_connect(addr)?;
    finish_connect(sock, start).await
}

/// The second half of a connect, after [`start_connect`]: waits for the handshake of a connect under way.
pub(crate) async fn finish_connect(
    sock: socket2::Socket,
    start: Instant,
) -> Result<(tokio::net::TcpStream, Duration), Attempt> {
    let stream = tokio::net::TcpStream::from_std(std::net::TcpStream::from(sock))
        .map_err(|e| local_or_failed(&e))?;
    loop {
        if let Err(e) = stream.writable().await {
            return Err(failure(&e, SockRef::from(&stream), start.elapsed()));
        }
        match handshake(SockRef::from(&stream), start.elapsed()) {
            Handshake::Pending => {
                // Clear the spurious readiness and wait again.
                let _ = stream.try_io(Interest::WRITABLE, || {
                    Err::<(), _>(io::ErrorKind::WouldBlock.into())
                });
            }
            Handshake::Done(a) => return Err(a),
            Handshake::Connected => return Ok((stream, start.elapsed())),
        }
    }
}

/// Classifies a failed connect, reading the ICMP error queue when the errno hides an ICMP.
pub(crate) fn failure(err: &io::Error, sock: SockRef<'_>, rtt: Duration) -> Attempt {
    let kind = platform::classify(err);
    match kind {
        ConnectErrorKind::Refused
        | ConnectErrorKind::HostUnreachable
        | ConnectErrorKind::NetUnreachable
        // Linux reports ICMPv6 admin-prohibited, source-policy and reject-route (type 1, codes
        // 1, 5, 6) as EACCES, the errno of a local firewall's refusal; only the error queue
        // tells a remote rejection from a local one.
        | ConnectErrorKind::LocalPolicy => {
            if let Some(report) = platform::take_icmp_error(&sock) {
                // Only now: the local address tells whether this machine sent the ICMP itself.
                let local = sock
                    .local_addr()
                    .ok()
                    .and_then(|a| a.as_socket())
                    .map(|a| a.ip());
                return Attempt::Icmp { rtt, report, local };
            }
            match kind {
                ConnectErrorKind::Refused => Attempt::Refused { rtt },
                ConnectErrorKind::LocalPolicy => local_or_failed(err),
                _ => Attempt::Unreachable { rtt, kind },
            }
        }
        ConnectErrorKind::Reset => Attempt::Refused { rtt },
        ConnectErrorKind::NetDown => Attempt::Unreachable { rtt, kind },
        ConnectErrorKind::TimedOut => Attempt::NoResponse,
        _ => local_or_failed(err),
    }
}

pub(crate) fn local_or_failed(err: &io::Error) -> Attempt {
    let kind = platform::classify(err);
    if kind.is_local_exhaustion() || kind == ConnectErrorKind::LocalPolicy {
        Attempt::Local {
            kind,
            error: err.to_string(),
        }
    } else {
        Attempt::Failed {
            error: err.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    /// One attempt with the greeting read, as the engine makes it, bounded by `timeout`.
    async fn connect_once(addr: SocketAddr, timeout: Duration, wait: Duration) -> Attempt {
        let greeting = crate::probe::greeting::ReadGreeting { wait };
        match tokio::time::timeout(timeout, connect(addr)).await {
            Err(_) => Attempt::NoResponse,
            Ok(Err(a)) => a,
            Ok(Ok((stream, rtt))) => Attempt::accepted(rtt, greeting.exchange(stream).await),
        }
    }

    #[tokio::test]
    async fn accepted_refused_and_greeting_on_loopback() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let open = listener.local_addr().unwrap();
        let a = connect_once(open, Duration::from_secs(2), Duration::from_millis(50)).await;
        assert!(
            matches!(a, Attempt::Accepted { greeting: None, .. }),
            "{a:?}"
        );

        drop(listener);
        let a = connect_once(open, Duration::from_secs(2), Duration::ZERO).await;
        assert!(matches!(a, Attempt::Refused { .. }), "{a:?}");

        let banner = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = banner.local_addr().unwrap();
        let server = std::thread::spawn(move || {
            use std::io::Write;
            let (mut c, _) = banner.accept().unwrap();
            c.write_all(b"SSH-2.0-test\r\n").unwrap();
        });
        let a = connect_once(addr, Duration::from_secs(2), Duration::from_secs(5)).await;
        server.join().unwrap();
        match a {
            Attempt::Accepted {
                greeting: Some(g), ..
            } => assert_eq!(g.protocol, Some("ssh")),
            other => panic!("{other:?}"),
        }
    }
}
