//! NetBIOS node status (RFC 1002, NBSTAT) on UDP 137: the name a Windows machine gives itself
//! and its workgroup or domain.
//!
//! Windows resolves a short name through NetBIOS and LLMNR as well as DNS, so a stale DNS
//! record can send the IDE to another machine; that machine's own name, asked by address,
//! shows it. One datagram out, one back; the reply comes from the network, so
//! [`parse_node_status`] checks every length and never panics (fuzzed in
//! `fuzz/fuzz_targets/windows_replies.rs`). NetBIOS over TCP/IP exists for IPv4 only.

use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::time::{Duration, Instant};

use serde::Serialize;

/// The NetBIOS name service port.
pub const NBNS_PORT: u16 = 137;

const NBSTAT: u16 = 0x0021;
const CLASS_IN: u16 = 0x0001;
/// Longest reply read: a node status of 255 names is under 5 KiB.
pub const MAX_REPLY: usize = 8 * 1024;

/// One entry of a node's name table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NbName {
    /// The 15-character name, trailing spaces removed, bytes outside printable ASCII escaped
    /// as `\xNN` (a report still passes it through the sanitiser).
    pub name: String,
    /// The 16th byte: 0x00 workstation / domain, 0x20 file server, 0x1C domain controllers…
    pub suffix: u8,
    /// A group name (shared by several machines: a workgroup or a domain), not a unique one.
    pub group: bool,
}

/// What a node status reply says about the machine.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NodeStatus {
    /// The machine's own name: its unique `<00>` workstation name.
    pub computer: Option<String>,
    /// Its workgroup or domain: the group `<00>` name.
    pub group: Option<String>,
    /// It registers `<1C>`, the domain controllers' group: the group is a domain and this
    /// machine one of its controllers.
    pub domain_controller: bool,
    /// The whole table, as sent.
    pub names: Vec<NbName>,
}

/// Why a node status reply could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NbMalformed {
    Short,
    /// Not a positive NBSTAT answer (a query, an error code, or another record type).
    NotNodeStatus,
}

/// How the exchange ended when it did not yield a [`NodeStatus`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "reason")]
pub enum NbFailure {
    /// NetBIOS over TCP/IP is IPv4 only.
    NotIpv4,
    /// The datagram could not be sent; the OS's words.
    Send { error: String },
    /// No answer within the time allowed (UDP 137 dropped, or NetBIOS over TCP/IP off).
    Timeout,
    /// An ICMP port unreachable came back: nothing serves NetBIOS names there.
    Refused,
    /// The answer was not a node status.
    Malformed { why: NbMalformed },
}

/// The node status request for `*`, with transaction id `id`.
pub fn node_status_request(id: u16) -> Vec<u8> {
    let mut q = Vec::with_capacity(50);
    q.extend_from_slice(&id.to_be_bytes());
    // Flags 0 (a unicast query), one question, no other records.
    q.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 0, 0, 0]);
    q.push(32);
    let mut name = [0u8; 16];
    name[0] = b'*';
    for b in name {
        q.push(b'A' + (b >> 4));
        q.push(b'A' + (b & 0x0f));
    }
    q.push(0);
    q.extend_from_slice(&NBSTAT.to_be_bytes());
    q.extend_from_slice(&CLASS_IN.to_be_bytes());
    q
}

fn be16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*b.get(at)?, *b.get(at + 1)?]))
}

/// The offset after an encoded name starting at `at` (labels, or a compression pointer).
fn skip_name(b: &[u8], mut at: usize) -> Option<usize> {
    loop {
        let len = *b.get(at)? as usize;
        if len == 0 {
            return Some(at + 1);
        }
        if len & 0xC0 == 0xC0 {
            return Some(at + 2).filter(|&end| end <= b.len());
        }
        at += 1 + len;
    }
}

/// Reads a node status reply. `id` is the transaction id sent: a reply to another query is not
/// this one's answer.
pub fn parse_node_status(b: &[u8], id: u16) -> Result<NodeStatus, NbMalformed> {
    let short = NbMalformed::Short;
    if b.len() < 12 {
        return Err(short);
    }
    let flags = be16(b, 2).ok_or(short)?;
    // A response (bit 15), no error code (low 4 bits), at least one answer.
    if be16(b, 0) != Some(id) || flags & 0x8000 == 0 || flags & 0x000f != 0 {
        return Err(NbMalformed::NotNodeStatus);
    }
    if be16(b, 6).ok_or(short)? == 0 {
        return Err(NbMalformed::NotNodeStatus);
    }
    let mut at = 12;
    for _ in 0..be16(b, 4).ok_or(short)? {
        at = skip_name(b, at).ok_or(short)? + 4;
    }
    at = skip_name(b, at).ok_or(short)?;
    if be16(b, at).ok_or(short)? != NBSTAT {
        return Err(NbMalformed::NotNodeStatus);
    }
    // Type, class, TTL, then the data length and the data.
    let rdlen = be16(b, at + 8).ok_or(short)? as usize;
    let data = b.get(at + 10..at + 10 + rdlen).ok_or(short)?;
    let count = *data.first().ok_or(short)? as usize;
    let table = data.get(1..1 + count * 18).ok_or(short)?;
    let names: Vec<NbName> = table
        .chunks_exact(18)
        .map(|e| NbName {
            name: printable(&e[..15]),
            suffix: e[15],
            group: e[16] & 0x80 != 0,
        })
        .collect();
    let pick = |group: bool| {
        names
            .iter()
            .find(|n| n.suffix == 0 && n.group == group)
            .map(|n| n.name.clone())
    };
    Ok(NodeStatus {
        computer: pick(false),
        group: pick(true),
        domain_controller: names.iter().any(|n| n.suffix == 0x1C && n.group),
        names,
    })
}

fn printable(raw: &[u8]) -> String {
    let trimmed = raw
        .iter()
        .rposition(|&c| c != b' ' && c != 0)
        .map_or(&raw[..0], |end| &raw[..=end]);
    let mut s = String::with_capacity(trimmed.len());
    for &c in trimmed {
        if (0x20..0x7f).contains(&c) && c != b'\\' {
            s.push(c as char);
        } else {
            s.push_str(&format!("\\x{c:02x}"));
        }
    }
    s
}

/// Asks `addr` (port 137) for its name table and waits up to `timeout` for the answer.
pub async fn node_status(addr: SocketAddr, timeout: Duration) -> Result<NodeStatus, NbFailure> {
    let SocketAddr::V4(target) = addr else {
        return Err(NbFailure::NotIpv4);
    };
    let send_err = |e: std::io::Error| NbFailure::Send {
        error: e.to_string(),
    };
    let sock = tokio::net::UdpSocket::bind(SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 0))
        .await
        .map_err(send_err)?;
    // Connected: the kernel keeps other senders' datagrams out and reports ICMP unreachable.
    sock.connect(target).await.map_err(send_err)?;
    let id = fastrand::u16(..);
    sock.send(&node_status_request(id))
        .await
        .map_err(send_err)?;
    let deadline = Instant::now() + timeout;
    let mut buf = vec![0u8; MAX_REPLY];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, sock.recv(&mut buf)).await {
            Err(_) => return Err(NbFailure::Timeout),
            // Linux reports the ICMP port unreachable as ECONNREFUSED, Windows as WSAECONNRESET.
            Ok(Err(e))
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::ConnectionRefused | std::io::ErrorKind::ConnectionReset
                ) =>
            {
                return Err(NbFailure::Refused)
            }
            Ok(Err(e)) => return Err(send_err(e)),
            // A stray or stale datagram (another id) is skipped; anything else is the answer.
            Ok(Ok(n)) => match parse_node_status(&buf[..n], id) {
                Err(NbMalformed::NotNodeStatus) if be16(&buf[..n], 0) != Some(id) => continue,
                Err(why) => return Err(NbFailure::Malformed { why }),
                Ok(status) => return Ok(status),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(name: &str, suffix: u8, flags: u16) -> Vec<u8> {
        let mut e = format!("{name:<15}").into_bytes();
        e.push(suffix);
        e.extend_from_slice(&flags.to_be_bytes());
        e
    }

    /// A node status answer laid out as nmbd sends it (the question name repeated, TTL 0, the
    /// MAC all zero): a workgroup member BUILD-OLD in LAB.
    fn reply(id: u16, entries: &[Vec<u8>]) -> Vec<u8> {
        let mut r = id.to_be_bytes().to_vec();
        r.extend_from_slice(&[0x84, 0x00, 0, 0, 0, 1, 0, 0, 0, 0]);
        r.extend_from_slice(&node_status_request(0)[12..46]);
        r.extend_from_slice(&NBSTAT.to_be_bytes());
        r.extend_from_slice(&CLASS_IN.to_be_bytes());
        r.extend_from_slice(&0u32.to_be_bytes());
        let mut data = vec![entries.len() as u8];
        for e in entries {
            data.extend_from_slice(e);
        }
        data.extend_from_slice(&[0u8; 46]);
        r.extend_from_slice(&(data.len() as u16).to_be_bytes());
        r.extend_from_slice(&data);
        r
    }

    fn member() -> Vec<u8> {
        reply(
            0x1234,
            &[
                entry("BUILD-OLD", 0x00, 0x0400),
                entry("BUILD-OLD", 0x03, 0x0400),
                entry("BUILD-OLD", 0x20, 0x0400),
                entry("LAB", 0x00, 0x8400),
                entry("LAB", 0x1e, 0x8400),
            ],
        )
    }

    #[test]
    fn request_asks_for_star() {
        let q = node_status_request(0xbeef);
        assert_eq!(q.len(), 50);
        assert_eq!(&q[..2], &[0xbe, 0xef]);
        assert_eq!(&q[13..15], b"CK");
        assert_eq!(&q[15..45], [b'A'; 30]);
        assert_eq!(&q[46..], &[0, 0x21, 0, 1]);
    }

    #[test]
    fn reads_the_name_and_the_workgroup() {
        let s = parse_node_status(&member(), 0x1234).unwrap();
        assert_eq!(s.computer.as_deref(), Some("BUILD-OLD"));
        assert_eq!(s.group.as_deref(), Some("LAB"));
        assert!(!s.domain_controller);
        assert_eq!(s.names.len(), 5);
        assert!(s.names[3].group);
    }

    /// A real reply: Samba 4.17's nmbd (Debian 12), NetBIOS name BUILD-OLD in workgroup
    /// LABGROUP, to a query with id 0x1234, captured 2026-12-02 in a network namespace of its own
    /// (`testdata/nbstat-samba-4.17.bin`, also a fuzz seed).
    #[test]
    fn reads_a_captured_nmbd_reply() {
        let s =
            parse_node_status(include_bytes!("testdata/nbstat-samba-4.17.bin"), 0x1234).unwrap();
        assert_eq!(s.computer.as_deref(), Some("BUILD-OLD"));
        assert_eq!(s.group.as_deref(), Some("LABGROUP"));
        assert!(!s.domain_controller);
        let suffixes: Vec<(u8, bool)> = s.names.iter().map(|n| (n.suffix, n.group)).collect();
        assert_eq!(
            suffixes,
            [
                (0x00, false),
                (0x03, false),
                (0x20, false),
                (0x00, true),
                (0x1e, true)
            ]
        );
    }

    #[test]
    fn a_domain_controller_is_recognised_and_odd_bytes_escaped() {
        let r = reply(
            7,
            &[
                entry("DC\x1b1", 0x00, 0x0400),
                entry("CORP", 0x00, 0x8400),
                entry("CORP", 0x1c, 0x8400),
            ],
        );
        let s = parse_node_status(&r, 7).unwrap();
        assert_eq!(s.computer.as_deref(), Some("DC\\x1b1"));
        assert!(s.domain_controller);
    }

    #[test]
    fn other_ids_errors_and_truncations_are_refused() {
        let full = member();
        assert_eq!(parse_node_status(&full, 1), Err(NbMalformed::NotNodeStatus));
        let mut err = full.clone();
        err[3] |= 0x03;
        assert_eq!(
            parse_node_status(&err, 0x1234),
            Err(NbMalformed::NotNodeStatus)
        );
        for n in 0..full.len() - 46 {
            assert!(parse_node_status(&full[..n], 0x1234).is_err(), "length {n}");
        }
    }

    /// Real sockets on loopback: a responder on an ephemeral port answers the query it got
    /// (echoing its id); a closed port is refused by ICMP.
    #[tokio::test]
    async fn asks_a_responder_on_loopback() {
        let server = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let addr = server.local_addr().unwrap();
        let answer = tokio::spawn(async move {
            let mut buf = [0u8; 512];
            let (n, from) = server.recv_from(&mut buf).await.unwrap();
            assert_eq!(&buf[2..n], &node_status_request(0)[2..]);
            let mut r = member();
            r[..2].copy_from_slice(&buf[..2]);
            // A stray answer with another id first: it must be skipped.
            let mut stray = r.clone();
            stray[0] ^= 0xff;
            server.send_to(&stray, from).await.unwrap();
            server.send_to(&r, from).await.unwrap();
        });
        let s = node_status(addr, Duration::from_secs(5)).await.unwrap();
        answer.await.unwrap();
        assert_eq!(s.computer.as_deref(), Some("BUILD-OLD"));

        let closed = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let addr = closed.local_addr().unwrap();
        drop(closed);
        assert_eq!(
            node_status(addr, Duration::from_secs(5)).await,
            Err(NbFailure::Refused)
        );
        assert_eq!(
            node_status("[::1]:137".parse().unwrap(), Duration::from_secs(1)).await,
            Err(NbFailure::NotIpv4)
        );
    }
}
