//! Recognising a service that speaks first.
//!
//! msvsmon waits for the client; a service that sends a banner before we say anything is
//! something else holding the port (an SSH, HTTP, FTP or mail server, a VNC server…).
//! The bytes come from the network, so they are bounded, never trusted, and shown only after
//! control characters are escaped.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use serde::Serialize;
use tokio::io::AsyncReadExt;

use super::tcp::{AfterConnect, Exchanged};

/// How long to listen for a greeting by default (`--greeting-wait`).
pub const DEFAULT_WAIT: Duration = Duration::from_millis(300);

/// Longest greeting kept and shown.
pub const MAX_GREETING: usize = 256;

/// The step after the handshake on the debugger ports: listen for `wait` without saying anything.
/// msvsmon waits for its client, so a service that speaks first is not the remote debugger.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadGreeting {
    pub wait: Duration,
}

impl AfterConnect for ReadGreeting {
    fn exchange(
        &self,
        mut stream: tokio::net::TcpStream,
    ) -> Pin<Box<dyn Future<Output = Exchanged> + Send + 'static>> {
        let wait = self.wait;
        Box::pin(async move {
            if wait.is_zero() {
                return Exchanged::Silent;
            }
            // On the heap: only open ports get here, and a buffer in the future would make
            // every probe's future that much bigger.
            let mut buf = vec![0u8; MAX_GREETING];
            match tokio::time::timeout(wait, stream.read(&mut buf)).await {
                Ok(Ok(n)) if n > 0 => Exchanged::Greeting(Greeting::identify(&buf[..n])),
                // Timeout, EOF or reset after accept: nothing spoke first.
                _ => Exchanged::Silent,
            }
        })
    }
}

/// What a port sent before we spoke.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Greeting {
    /// The first bytes, printable, control characters escaped, at most `MAX_GREETING` (256) bytes read.
    pub text: String,
    /// The protocol the banner belongs to, when it is a well-known one.
    pub protocol: Option<&'static str>,
}

impl Greeting {
    pub fn identify(bytes: &[u8]) -> Greeting {
        let bytes = &bytes[..bytes.len().min(MAX_GREETING)];
        Greeting {
            text: printable(bytes),
            protocol: protocol_of(bytes),
        }
    }
}

fn protocol_of(b: &[u8]) -> Option<&'static str> {
    let starts = |p: &[u8]| b.starts_with(p);
    if starts(b"SSH-") {
        Some("ssh")
    } else if starts(b"HTTP/") {
        Some("http")
    } else if starts(b"220 ") || starts(b"220-") {
        Some("ftp-or-smtp")
    } else if starts(b"+OK") {
        Some("pop3")
    } else if starts(b"* OK") || starts(b"* PREAUTH") {
        Some("imap")
    } else if starts(b"RFB ") {
        Some("vnc")
    } else if b.first() == Some(&0xff) && b.len() >= 2 && (0xfb..=0xfe).contains(&b[1]) {
        Some("telnet")
    } else if b.len() > 5 && b[3] == 0 && b[4] == 10 {
        // MySQL handshake: 3-byte length, sequence 0, protocol version 10.
        Some("mysql")
    } else {
        None
    }
}

/// Printable rendering: ASCII kept, CR/LF/TAB and everything else escaped, so a hostile banner
/// cannot move the cursor or change colours in the user's terminal.
fn printable(b: &[u8]) -> String {
    let mut s = String::with_capacity(b.len());
    for &c in b {
        match c {
            b'\r' => s.push_str("\\r"),
            b'\n' => s.push_str("\\n"),
            b'\t' => s.push_str("\\t"),
            b'\\' => s.push_str("\\\\"),
            0x20..=0x7e => s.push(c as char),
            _ => s.push_str(&format!("\\x{c:02x}")),
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_banners_are_named() {
        for (banner, proto) in [
            (&b"SSH-2.0-OpenSSH_9.2p1 Debian\r\n"[..], "ssh"),
            (b"HTTP/1.1 400 Bad Request\r\n", "http"),
            (b"220 mail.example ESMTP\r\n", "ftp-or-smtp"),
            (b"220-FileZilla\r\n", "ftp-or-smtp"),
            (b"+OK POP3 ready\r\n", "pop3"),
            (b"* OK IMAP4rev1\r\n", "imap"),
            (b"RFB 003.008\n", "vnc"),
            (b"\xff\xfd\x18", "telnet"),
        ] {
            assert_eq!(
                Greeting::identify(banner).protocol,
                Some(proto),
                "{banner:?}"
            );
        }
    }

    #[test]
    fn unknown_bytes_are_escaped_and_bounded() {
        let g = Greeting::identify(b"\x1b[31mhi\x00\n");
        assert_eq!(g.protocol, None);
        assert_eq!(g.text, "\\x1b[31mhi\\x00\\n");
        let long = vec![b'A'; 10_000];
        assert_eq!(Greeting::identify(&long).text.len(), MAX_GREETING);
    }

    #[test]
    fn empty_and_tiny_inputs_do_not_panic() {
        for b in [&b""[..], b"\xff", b"\x00\x00\x00", b"2"] {
            let _ = Greeting::identify(b);
        }
    }
}
