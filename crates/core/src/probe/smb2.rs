//! SMB2 NEGOTIATE on TCP 445: the server's dialect, whether it requires signing, and its clock.
//!
//! Kerberos (Windows Authentication's usual path) fails when two clocks are more than 5 minutes
//! apart, and the NEGOTIATE response carries the server's `SystemTime` before any credential is
//! asked for. One request, one response, no session set-up: nothing about a user is ever sent.
//! The response comes from the network, so [`parse_negotiate`] checks every length and never
//! panics (fuzzed in `fuzz/fuzz_targets/windows_replies.rs`).

use std::net::SocketAddr;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde::Serialize;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The port SMB2 listens on without NetBIOS session service ("direct hosting").
pub const SMB2_PORT: u16 = 445;

/// Dialects offered: 2.0.2 to 3.0.2. 3.1.1 would need negotiate contexts and adds nothing the
/// clock or the signing flag need.
pub const DIALECTS: [u16; 4] = [0x0202, 0x0210, 0x0300, 0x0302];

/// Longest response read: a NEGOTIATE response is a few hundred bytes (its security blob is a
/// SPNEGO hint); anything longer is not one.
pub const MAX_RESPONSE: usize = 16 * 1024;

const HEADER_LEN: usize = 64;
const BODY_LEN: usize = 64;
/// 100-ns intervals between 1601-01-01 (FILETIME's epoch) and 1970-01-01.
const FILETIME_UNIX_OFFSET: u64 = 116_444_736_000_000_000;

/// What a NEGOTIATE response says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Negotiated {
    /// The dialect the server chose, as MS-SMB2 writes it (0x0302 is SMB 3.0.2).
    pub dialect: u16,
    /// The server requires signed messages (SecurityMode bit 0x02).
    pub signing_required: bool,
    /// The server's clock, milliseconds since the Unix epoch (negative before 1970); `None`
    /// when it sent zero (Samba and Windows always fill it; some appliances do not).
    pub server_time_ms: Option<i64>,
}

/// The server's clock against this machine's: `skew_ms` is server minus here, measured at the
/// midpoint of the exchange; the server stamped its reply somewhere in the round trip, hence
/// the uncertainty of half of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ClockSkew {
    pub skew_ms: i64,
    pub uncertainty_ms: u64,
}

/// Why a NEGOTIATE response could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Smb2Malformed {
    /// Shorter than a header and a NEGOTIATE body.
    Short,
    /// Not an SMB2 message (no `\xFESMB`); an SMB1-only server answers `\xFFSMB`.
    NotSmb2,
    /// An SMB2 message, but not a NEGOTIATE response.
    NotNegotiateResponse,
    /// The server refused the NEGOTIATE (non-zero NTSTATUS, e.g. no dialect in common).
    Refused { status: u32 },
}

/// How the exchange ended when it did not yield a [`Negotiated`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "reason")]
pub enum Smb2Failure {
    /// Connecting failed (refused, unreachable…); the OS's words.
    Connect { error: String },
    /// No complete response within the time allowed.
    Timeout,
    /// The server closed or reset the connection before answering.
    Closed,
    /// The answer was not a usable NEGOTIATE response.
    Malformed { why: Smb2Malformed },
}

/// The NEGOTIATE request, with its 4-byte direct-TCP framing.
pub fn negotiate_request() -> Vec<u8> {
    let mut msg = Vec::with_capacity(HEADER_LEN + 36 + 2 * DIALECTS.len());
    // Header: protocol id, structure size 64, credit charge 0, status 0, command 0 (NEGOTIATE),
    // credits asked 1, flags 0, next command 0, message id 0, process id 0, tree id 0,
    // session id 0, signature zero.
    msg.extend_from_slice(b"\xFESMB");
    msg.extend_from_slice(&64u16.to_le_bytes());
    msg.extend_from_slice(&0u16.to_le_bytes());
    msg.extend_from_slice(&0u32.to_le_bytes());
    msg.extend_from_slice(&0u16.to_le_bytes());
    msg.extend_from_slice(&1u16.to_le_bytes());
    msg.extend_from_slice(&[0u8; 4 + 4 + 8 + 4 + 4 + 8 + 16]);
    // Body: structure size 36, dialect count, security mode 1 (signing enabled, not
    // required), reserved, capabilities 0, a client GUID, client start time 0, the dialects.
    msg.extend_from_slice(&36u16.to_le_bytes());
    msg.extend_from_slice(&(DIALECTS.len() as u16).to_le_bytes());
    msg.extend_from_slice(&1u16.to_le_bytes());
    msg.extend_from_slice(&0u16.to_le_bytes());
    msg.extend_from_slice(&0u32.to_le_bytes());
    msg.extend_from_slice(uuid::Uuid::new_v4().as_bytes());
    msg.extend_from_slice(&0u64.to_le_bytes());
    for d in DIALECTS {
        msg.extend_from_slice(&d.to_le_bytes());
    }
    let len = msg.len() as u32;
    let mut framed = Vec::with_capacity(4 + msg.len());
    framed.push(0);
    framed.extend_from_slice(&len.to_be_bytes()[1..]);
    framed.extend_from_slice(&msg);
    framed
}

fn u16_at(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}
fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}
fn u64_at(b: &[u8], at: usize) -> u64 {
    let mut x = [0u8; 8];
    x.copy_from_slice(&b[at..at + 8]);
    u64::from_le_bytes(x)
}

/// Reads one SMB2 message (without its 4-byte framing) as a NEGOTIATE response.
pub fn parse_negotiate(msg: &[u8]) -> Result<Negotiated, Smb2Malformed> {
    if msg.len() < 4 {
        return Err(Smb2Malformed::Short);
    }
    if &msg[..4] != b"\xFESMB" {
        return Err(Smb2Malformed::NotSmb2);
    }
    if msg.len() < HEADER_LEN {
        return Err(Smb2Malformed::Short);
    }
    let command = u16_at(msg, 12);
    let is_response = u32_at(msg, 16) & 1 == 1;
    if command != 0 || !is_response {
        return Err(Smb2Malformed::NotNegotiateResponse);
    }
    let status = u32_at(msg, 8);
    if status != 0 {
        return Err(Smb2Malformed::Refused { status });
    }
    if msg.len() < HEADER_LEN + BODY_LEN {
        return Err(Smb2Malformed::Short);
    }
    let body = &msg[HEADER_LEN..];
    if u16_at(body, 0) != 65 {
        return Err(Smb2Malformed::NotNegotiateResponse);
    }
    let ft = u64_at(body, 40);
    Ok(Negotiated {
        dialect: u16_at(body, 4),
        signing_required: u16_at(body, 2) & 0x02 != 0,
        server_time_ms: (ft != 0).then(|| filetime_to_unix_ms(ft)),
    })
}

/// FILETIME (100-ns intervals since 1601) to milliseconds since 1970; saturates, never panics.
pub fn filetime_to_unix_ms(ft: u64) -> i64 {
    let ms_1601 = (ft / 10_000) as i64;
    ms_1601 - (FILETIME_UNIX_OFFSET / 10_000) as i64
}

fn unix_ms(t: SystemTime) -> i64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => d.as_millis() as i64,
        Err(e) => -(e.duration().as_millis() as i64),
    }
}

/// The skew of a server stamp taken between `sent` and `received` (this machine's clock).
pub fn skew(server_ms: i64, sent: SystemTime, received: SystemTime) -> ClockSkew {
    let (a, b) = (unix_ms(sent), unix_ms(received));
    let half = (b - a).max(0) / 2;
    ClockSkew {
        skew_ms: server_ms - (a + half),
        uncertainty_ms: half as u64,
    }
}

/// What one NEGOTIATE exchange learned: the response and, when the server sent its time, the
/// skew against this machine's clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Smb2Reading {
    #[serde(flatten)]
    pub negotiated: Negotiated,
    pub clock: Option<ClockSkew>,
}

/// Connects to `addr`, sends one NEGOTIATE and reads the answer, all within `timeout`.
pub async fn negotiate(addr: SocketAddr, timeout: Duration) -> Result<Smb2Reading, Smb2Failure> {
    let deadline = Instant::now() + timeout;
    let mut stream = match tokio::time::timeout(timeout, tokio::net::TcpStream::connect(addr)).await
    {
        Err(_) => return Err(Smb2Failure::Timeout),
        Ok(Err(e)) => {
            return Err(Smb2Failure::Connect {
                error: e.to_string(),
            })
        }
        Ok(Ok(s)) => s,
    };
    let left = deadline.saturating_duration_since(Instant::now());
    let exchange = async {
        let sent = SystemTime::now();
        stream.write_all(&negotiate_request()).await?;
        let mut frame = [0u8; 4];
        stream.read_exact(&mut frame).await?;
        let len = u32::from_be_bytes([0, frame[1], frame[2], frame[3]]) as usize;
        // The time the reply started to arrive: reading a long body must not widen the bound.
        let received = SystemTime::now();
        if frame[0] != 0 || len > MAX_RESPONSE {
            return Ok(Err(Smb2Malformed::NotSmb2));
        }
        let mut msg = vec![0u8; len];
        stream.read_exact(&mut msg).await?;
        Ok::<_, std::io::Error>(parse_negotiate(&msg).map(|negotiated| Smb2Reading {
            negotiated,
            clock: negotiated.server_time_ms.map(|ms| skew(ms, sent, received)),
        }))
    };
    match tokio::time::timeout(left, exchange).await {
        Err(_) => Err(Smb2Failure::Timeout),
        Ok(Err(_)) => Err(Smb2Failure::Closed),
        Ok(Ok(Err(why))) => Err(Smb2Failure::Malformed { why }),
        Ok(Ok(Ok(r))) => Ok(r),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A NEGOTIATE response as Samba 4.x sends it (dialect 3.0.2, signing enabled not
    /// required), its SystemTime 2026-12-02 17:00:00 UTC, with a 74-byte SPNEGO blob.
    fn samba_response(status: u32, time: u64, mode: u16) -> Vec<u8> {
        let mut m = Vec::new();
        m.extend_from_slice(b"\xFESMB");
        m.extend_from_slice(&64u16.to_le_bytes());
        m.extend_from_slice(&0u16.to_le_bytes());
        m.extend_from_slice(&status.to_le_bytes());
        m.extend_from_slice(&0u16.to_le_bytes());
        m.extend_from_slice(&1u16.to_le_bytes());
        m.extend_from_slice(&1u32.to_le_bytes());
        m.extend_from_slice(&[0u8; 4 + 8 + 4 + 4 + 8 + 16]);
        m.extend_from_slice(&65u16.to_le_bytes());
        m.extend_from_slice(&mode.to_le_bytes());
        m.extend_from_slice(&0x0302u16.to_le_bytes());
        m.extend_from_slice(&0u16.to_le_bytes());
        m.extend_from_slice(&[0x11; 16]);
        m.extend_from_slice(&0x2fu32.to_le_bytes());
        m.extend_from_slice(&[0, 0, 0x80, 0].repeat(3));
        m.extend_from_slice(&time.to_le_bytes());
        m.extend_from_slice(&0u64.to_le_bytes());
        m.extend_from_slice(&128u16.to_le_bytes());
        m.extend_from_slice(&74u16.to_le_bytes());
        m.extend_from_slice(&0u32.to_le_bytes());
        m.extend_from_slice(&[0x60; 74]);
        m
    }

    // 2026-12-02T17:00:00Z = 1796230800 s since 1970.
    const T: u64 = 1_796_230_800 * 10_000_000 + FILETIME_UNIX_OFFSET;

    #[test]
    fn reads_dialect_signing_and_time() {
        let n = parse_negotiate(&samba_response(0, T, 0x01)).unwrap();
        assert_eq!(n.dialect, 0x0302);
        assert!(!n.signing_required);
        assert_eq!(n.server_time_ms, Some(1_796_230_800_000));
        let n = parse_negotiate(&samba_response(0, 0, 0x03)).unwrap();
        assert!(n.signing_required);
        assert_eq!(n.server_time_ms, None);
    }

    /// A real response: Samba 4.17 (Debian 12) to this request, captured 2026-12-02 in a network
    /// namespace of its own (`testdata/smb2-negotiate-samba-4.17.bin`, also a fuzz seed).
    #[test]
    fn reads_a_captured_samba_response() {
        let n = parse_negotiate(include_bytes!("testdata/smb2-negotiate-samba-4.17.bin")).unwrap();
        assert_eq!(n.dialect, 0x0302);
        assert!(!n.signing_required);
        // 2026-12-02T17:27:24.092Z, the capture's moment.
        assert_eq!(n.server_time_ms, Some(1_796_232_444_092));
    }

    #[test]
    fn refusals_and_strangers_are_named() {
        assert_eq!(
            parse_negotiate(&samba_response(0xC000_0022, T, 1)),
            Err(Smb2Malformed::Refused {
                status: 0xC000_0022
            })
        );
        assert_eq!(
            parse_negotiate(b"\xFFSMBr\0\0\0\0"),
            Err(Smb2Malformed::NotSmb2)
        );
        let mut req = negotiate_request();
        assert_eq!(
            parse_negotiate(&req.split_off(4)),
            Err(Smb2Malformed::NotNegotiateResponse)
        );
    }

    #[test]
    fn every_truncation_is_an_error_not_a_panic() {
        let full = samba_response(0, T, 1);
        for n in 0..HEADER_LEN + BODY_LEN {
            assert!(parse_negotiate(&full[..n]).is_err(), "length {n}");
        }
    }

    #[test]
    fn request_is_framed_and_offers_the_dialects() {
        let r = negotiate_request();
        assert_eq!(r[0], 0);
        assert_eq!(
            u32::from_be_bytes([0, r[1], r[2], r[3]]) as usize,
            r.len() - 4
        );
        assert_eq!(&r[4..8], b"\xFESMB");
        let body = &r[4 + HEADER_LEN..];
        assert_eq!(u16_at(body, 0), 36);
        assert_eq!(u16_at(body, 2), DIALECTS.len() as u16);
        assert_eq!(u16_at(body, 36), 0x0202);
        assert_eq!(u16_at(body, 42), 0x0302);
    }

    #[test]
    fn skew_is_taken_at_the_midpoint_with_half_the_round_trip() {
        let sent = UNIX_EPOCH + Duration::from_secs(1000);
        let received = sent + Duration::from_millis(40);
        let s = skew(1_000_000 + 20 + 600_000, sent, received);
        assert_eq!(s.skew_ms, 600_000);
        assert_eq!(s.uncertainty_ms, 20);
        assert_eq!(filetime_to_unix_ms(FILETIME_UNIX_OFFSET), 0);
        assert!(filetime_to_unix_ms(u64::MAX) > 0);
    }

    /// A real socket on loopback: a server that answers the NEGOTIATE with a clock 10 minutes
    /// ahead of ours; the skew read must be within the reported uncertainty (plus the
    /// millisecond rounding) of the truth.
    #[tokio::test]
    async fn negotiates_with_a_server_on_loopback() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = tokio::spawn(async move {
            let (mut s, _) = listener.accept().await.unwrap();
            let mut frame = [0u8; 4];
            s.read_exact(&mut frame).await.unwrap();
            let len = u32::from_be_bytes([0, frame[1], frame[2], frame[3]]) as usize;
            let mut req = vec![0u8; len];
            s.read_exact(&mut req).await.unwrap();
            assert_eq!(&req[..4], b"\xFESMB");
            let now =
                SystemTime::now().duration_since(UNIX_EPOCH).unwrap() + Duration::from_secs(600);
            let ft = now.as_nanos() as u64 / 100 + FILETIME_UNIX_OFFSET;
            let resp = samba_response(0, ft, 1);
            let mut out = vec![0];
            out.extend_from_slice(&(resp.len() as u32).to_be_bytes()[1..]);
            out.extend_from_slice(&resp);
            s.write_all(&out).await.unwrap();
        });
        let r = negotiate(addr, Duration::from_secs(5)).await.unwrap();
        server.await.unwrap();
        let c = r.clock.unwrap();
        assert!(
            (c.skew_ms - 600_000).unsigned_abs() <= c.uncertainty_ms + 2,
            "{c:?}"
        );
    }

    #[tokio::test]
    async fn a_silent_server_times_out_and_a_closed_port_says_so() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        // Accepted by the kernel's backlog, never answered.
        assert_eq!(
            negotiate(addr, Duration::from_millis(200)).await,
            Err(Smb2Failure::Timeout)
        );
        drop(listener);
        assert!(matches!(
            negotiate(addr, Duration::from_secs(2)).await,
            Err(Smb2Failure::Connect { .. })
        ));
    }
}
