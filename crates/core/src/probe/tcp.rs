//! One non-blocking TCP connect attempt, on socket2 + tokio, classified by error code.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use socket2::{Domain, SockRef};
use tokio::io::{AsyncReadExt, Interest};

use super::{Attempt, Greeting};
use crate::platform::{self, ConnectErrorKind};

/// Makes connect attempts. The engine is generic over this so its retry and scheduling logic can
/// be tested with a scripted connector and tokio's paused clock instead of real sockets.
pub trait Connector: Send + Sync {
    fn attempt(&self, addr: SocketAddr, timeout: Duration) -> impl Future<Output = Attempt> + Send;
}

/// The real thing: a socket per attempt.
#[derive(Debug, Clone, Copy)]
pub struct TcpConnector {
    /// How long to wait for a service's unsolicited banner on an accepted connection.
    pub greeting_wait: Duration,
}

impl Connector for TcpConnector {
    fn attempt(&self, addr: SocketAddr, timeout: Duration) -> impl Future<Output = Attempt> + Send {
        connect_once(addr, timeout, self.greeting_wait)
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

/// Connects once to `addr`, waiting at most `timeout` for the handshake, then reads a greeting
/// for at most `greeting_wait` and closes with a reset (no TIME_WAIT left behind here).
pub async fn connect_once(addr: SocketAddr, timeout: Duration, greeting_wait: Duration) -> Attempt {
    let (sock, start) = match start_connect(addr) {
        Ok(s) => s,
        Err(done) => return done,
    };
    let stream = match tokio::net::TcpStream::from_std(std::net::TcpStream::from(sock)) {
        Ok(s) => s,
        Err(e) => return local_or_failed(&e),
    };
    let waited = tokio::time::timeout(timeout, async {
        loop {
            if let Err(e) = stream.writable().await {
                return Handshake::Done(failure(&e, SockRef::from(&stream), start.elapsed()));
            }
            match handshake(SockRef::from(&stream), start.elapsed()) {
                Handshake::Pending => {
                    // Clear the spurious readiness and wait again.
                    let _ = stream.try_io(Interest::WRITABLE, || {
                        Err::<(), _>(io::ErrorKind::WouldBlock.into())
                    });
                }
                done => return done,
            }
        }
    })
    .await;
    let rtt = start.elapsed();
    match waited {
        Err(_) => Attempt::NoResponse,
        Ok(Handshake::Done(a)) => a,
        Ok(Handshake::Pending) => unreachable!("the loop only ends with an answer"),
        Ok(Handshake::Connected) => {
            let greeting = read_greeting(stream, greeting_wait).await;
            Attempt::Accepted { rtt, greeting }
        }
    }
}

pub(crate) async fn read_greeting(
    mut stream: tokio::net::TcpStream,
    wait: Duration,
) -> Option<Greeting> {
    if wait.is_zero() {
        return None;
    }
    // On the heap: only open ports get here, and a buffer in the future would make every
    // probe's future (and its move into the task) that much bigger.
    let mut buf = vec![0u8; super::greeting::MAX_GREETING];
    match tokio::time::timeout(wait, stream.read(&mut buf)).await {
        Ok(Ok(n)) if n > 0 => Some(Greeting::identify(&buf[..n])),
        // Timeout, EOF or reset after accept: nothing spoke first.
        _ => None,
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
