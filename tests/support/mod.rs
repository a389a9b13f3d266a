//! Test environment for running the real binary against real sockets on loopback.
//!
//! Every test gets its own loopback address in 127.0.0.0/8 ([`Loopback::claim`]), so tests run in
//! parallel and still listen on the real debugger port numbers. Listeners live as long as the
//! value that owns them. Nothing here sends a packet anywhere but loopback.
#![allow(dead_code)]

pub mod promtool;
pub mod schema;
#[allow(unused_imports)] // only the suites that write Prometheus text use it
pub use promtool::promtool_accepts;
pub use schema::assert_schema;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde_json::Value;
use socket2::{Domain, Socket, Type};

/// A port no release uses, held open as a lock so two test processes never share an address.
const LOCK_PORT: u16 = 4999;

/// A loopback address owned by one test.
pub struct Loopback {
    pub ip: IpAddr,
    _lock: TcpListener,
}

impl Loopback {
    /// Claims an unused address in 127.77.0.0/16 (tests) by binding the lock port on it.
    pub fn claim() -> Loopback {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let salt = std::process::id().wrapping_mul(2_654_435_761);
        for _ in 0..10_000 {
            let n = NEXT.fetch_add(1, Ordering::Relaxed).wrapping_add(salt) % 65_000 + 256;
            let ip = IpAddr::V4(Ipv4Addr::new(127, 77, (n >> 8) as u8, (n & 0xff) as u8));
            if let Ok(lock) = TcpListener::bind((ip, LOCK_PORT)) {
                return Loopback { ip, _lock: lock };
            }
        }
        panic!("no free loopback address in 127.77.0.0/16");
    }

    /// An address written with 14 characters (127.77.1xx.1xx), so that a snapshot can show it
    /// as 198.51.100.100 ([`Loopback::redact`]) with the line breaks the real one had.
    pub fn claim_aligned() -> Loopback {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let salt = std::process::id().wrapping_mul(2_654_435_761);
        for _ in 0..10_000 {
            let n = NEXT.fetch_add(1, Ordering::Relaxed).wrapping_add(salt) % (156 * 156);
            let ip = IpAddr::V4(Ipv4Addr::new(
                127,
                77,
                (100 + n / 156) as u8,
                (100 + n % 156) as u8,
            ));
            if let Ok(lock) = TcpListener::bind((ip, LOCK_PORT)) {
                return Loopback { ip, _lock: lock };
            }
        }
        panic!("no free aligned loopback address in 127.77.100-255.100-255");
    }

    /// `text` with this address written as 198.51.100.100 (TEST-NET-2).
    pub fn redact(&self, text: &str) -> String {
        text.replace(&self.ip.to_string(), "198.51.100.100")
    }

    pub fn addr(&self, port: u16) -> SocketAddr {
        SocketAddr::new(self.ip, port)
    }

    /// A listener that completes handshakes (the kernel does, from its backlog) and never speaks.
    pub fn listen(&self, port: u16) -> TcpListener {
        TcpListener::bind(self.addr(port))
            .unwrap_or_else(|e| panic!("bind {}: {e}", self.addr(port)))
    }

    /// A listener whose accept queue is full, so the kernel drops every new SYN: to a client it
    /// is indistinguishable from a firewall that drops. Returns the listener and the connection
    /// that fills the queue; keep both alive.
    pub fn drop_syns(&self, port: u16) -> (Socket, TcpStream) {
        let s = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
        s.set_reuse_address(true).unwrap();
        s.bind(&self.addr(port).into()).unwrap();
        s.listen(0).unwrap();
        let filler = TcpStream::connect_timeout(&self.addr(port), Duration::from_secs(2))
            .expect("the filler connection completes");
        (s, filler)
    }

    /// A service that greets every client with `banner`, like an SSH or FTP server.
    pub fn greeter(&self, port: u16, banner: &'static [u8]) -> JoinHandle<()> {
        let l = self.listen(port);
        std::thread::spawn(move || {
            for c in l.incoming() {
                let Ok(mut c) = c else { return };
                let _ = c.write_all(banner);
            }
        })
    }
}

/// A /28 of loopback addresses owned by one test (for scans), in 127.78.0.0/15.
pub struct Subnet {
    pub base: Ipv4Addr,
    _lock: TcpListener,
}

impl Subnet {
    pub fn claim() -> Subnet {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let salt = std::process::id().wrapping_mul(2_246_822_519);
        for _ in 0..10_000 {
            let n = NEXT.fetch_add(1, Ordering::Relaxed).wrapping_add(salt) % 8192;
            let block = n * 16;
            let base = Ipv4Addr::new(
                127,
                78 + (block >> 16) as u8,
                (block >> 8) as u8,
                block as u8,
            );
            if let Ok(lock) = TcpListener::bind((base, LOCK_PORT)) {
                return Subnet { base, _lock: lock };
            }
        }
        panic!("no free /28 in 127.78.0.0/15");
    }

    /// A /28 whose sixteen addresses are all written with 14 characters (127.7x.1xx.1xx), so
    /// that a snapshot can show them as 198.51.100.1xx (TEST-NET-2, [`Subnet::redact`]) and
    /// keep the columns and line breaks the real addresses had.
    pub fn claim_aligned() -> Subnet {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let salt = std::process::id().wrapping_mul(2_246_822_519);
        for _ in 0..10_000 {
            let n = NEXT.fetch_add(1, Ordering::Relaxed).wrapping_add(salt);
            // Third octet 100…255, base of the last octet 112…240.
            let (third, fourth) = (100 + (n % 156), 112 + 16 * ((n / 156) % 9));
            let base = Ipv4Addr::new(127, 79, third as u8, fourth as u8);
            if let Ok(lock) = TcpListener::bind((base, LOCK_PORT)) {
                return Subnet { base, _lock: lock };
            }
        }
        panic!("no free aligned /28 in 127.79.100-255.*");
    }

    /// `text` with the block's addresses written as 198.51.100.(100 + i): the same length as
    /// those of [`Subnet::claim_aligned`], the same on every run.
    pub fn redact(&self, text: &str) -> String {
        let mut out = text.to_string();
        for i in (0..16).rev() {
            out = out.replace(&self.ip(i).to_string(), &format!("198.51.100.{}", 100 + i));
        }
        out
    }

    /// The i-th address of the block.
    pub fn ip(&self, i: u8) -> Ipv4Addr {
        Ipv4Addr::from(u32::from(self.base) + u32::from(i))
    }

    pub fn cidr(&self) -> String {
        format!("{}/28", self.base)
    }

    pub fn listen(&self, i: u8, port: u16) -> TcpListener {
        TcpListener::bind((self.ip(i), port))
            .unwrap_or_else(|e| panic!("bind {}:{port}: {e}", self.ip(i)))
    }
}

/// Parses NDJSON output into (host lines, summary).
pub fn ndjson(stdout: &[u8]) -> (Vec<Value>, Value) {
    let mut hosts = Vec::new();
    let mut summary = Value::Null;
    for line in String::from_utf8_lossy(stdout).lines() {
        let v: Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
        assert_schema(&v);
        match v["type"].as_str() {
            Some("host") => hosts.push(v),
            Some("summary") => summary = v,
            other => panic!("unexpected line type {other:?}: {line}"),
        }
    }
    assert!(!summary.is_null(), "no summary line");
    (hosts, summary)
}

impl Loopback {
    /// A UDP socket on this address's port 3702 that only records what arrives, to prove that
    /// a command sent nothing (or something) to WS-Discovery.
    pub fn udp_3702(&self) -> UdpSocket {
        UdpSocket::bind(self.addr(3702))
            .unwrap_or_else(|e| panic!("bind UDP {}: {e}", self.addr(3702)))
    }
}

/// True when no datagram reached `sock`. Loopback delivers a datagram before `sendto` returns,
/// so once the sender has exited, anything it sent is already queued here.
pub fn nothing_received(sock: &UdpSocket) -> bool {
    sock.set_nonblocking(true).unwrap();
    let mut buf = [0u8; 2048];
    matches!(sock.recv_from(&mut buf), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock)
}

/// `msvsmon-probe listen ARGS` running in the background, its stdout read line by line.
/// Killed on drop if the test did not stop it.
pub struct ListenChild {
    child: Option<Child>,
    lines: mpsc::Receiver<String>,
    /// Every line read so far.
    pub seen: Vec<String>,
}

impl ListenChild {
    /// Starts `listen` and returns once it printed "listening" (it is bound and serving).
    pub fn start(args: &[&str]) -> ListenChild {
        Self::start_with(bin(), args)
    }

    /// [`ListenChild::start`] with another build of the binary (the .exe under Wine).
    pub fn start_with(mut program: Command, args: &[&str]) -> ListenChild {
        let mut child = program
            .arg("listen")
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("listen starts");
        let out = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines() {
                let Ok(line) = line else { return };
                if tx.send(line).is_err() {
                    return;
                }
            }
        });
        let mut l = ListenChild {
            child: Some(child),
            lines: rx,
            seen: Vec::new(),
        };
        if !l.wait_for(|s| s.starts_with("listening"), Duration::from_secs(10)) {
            let mut c = l.child.take().unwrap();
            let _ = c.kill();
            let _ = c.wait();
            let err = read_all(c.stderr.take().unwrap());
            panic!("listen did not start: {:?}\nstderr: {err}", l.seen);
        }
        l
    }

    /// Some line read so far contains `needle`.
    pub fn printed(&self, needle: &str) -> bool {
        self.seen.iter().any(|l| l.contains(needle))
    }

    /// Reads lines until one satisfies `pred` (true) or `timeout` passes / output ends (false).
    pub fn wait_for(&mut self, pred: impl Fn(&str) -> bool, timeout: Duration) -> bool {
        let end = Instant::now() + timeout;
        if self.seen.iter().any(|l| pred(l)) {
            return true;
        }
        while let Some(left) = end.checked_duration_since(Instant::now()) {
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    let hit = pred(&line);
                    self.seen.push(line);
                    if hit {
                        return true;
                    }
                }
                Err(_) => return false,
            }
        }
        false
    }

    /// Asks it to stop as a service manager would (SIGTERM; on Windows, a kill) and returns its
    /// exit status once it has exited, with the rest of its output read.
    pub fn stop(mut self) -> (ExitStatus, Vec<String>) {
        let mut child = self.child.take().unwrap();
        #[cfg(unix)]
        // SAFETY: kill(2) on our own child's pid.
        unsafe {
            libc::kill(child.id() as libc::pid_t, libc::SIGTERM);
        }
        #[cfg(not(unix))]
        let _ = child.kill();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let _ = tx.send(child.wait());
        });
        let status = rx
            .recv_timeout(Duration::from_secs(10))
            .expect("listen stops within 10 s of SIGTERM")
            .unwrap();
        while let Ok(line) = self.lines.recv_timeout(Duration::from_secs(2)) {
            self.seen.push(line);
        }
        (status, std::mem::take(&mut self.seen))
    }
}

impl Drop for ListenChild {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// True when no connection reached `listener` (proves a rejected command sent nothing).
pub fn nothing_accepted(listener: &TcpListener) -> bool {
    listener.set_nonblocking(true).unwrap();
    matches!(listener.accept(), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock)
}

/// A temporary file that is removed on drop.
pub struct TempFile(pub PathBuf);

impl TempFile {
    pub fn with(name: &str, content: &str) -> TempFile {
        static N: AtomicU32 = AtomicU32::new(0);
        let p = std::env::temp_dir().join(format!(
            "msvsmon-probe-test-{}-{}-{name}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::write(&p, content).unwrap();
        TempFile(p)
    }

    pub fn path(&self) -> &str {
        self.0.to_str().unwrap()
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// The binary under test.
pub fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_msvsmon-probe"));
    // Help wraps at the terminal width, or COLUMNS: neither may change a snapshot.
    c.env_remove("NO_COLOR")
        .env_remove("CLICOLOR_FORCE")
        .env_remove("COLUMNS");
    c
}

/// Runs the binary with `args` and returns its output.
pub fn run(args: &[&str]) -> Output {
    bin().args(args).output().expect("the binary runs")
}

/// Runs with `--json` added and parses stdout; panics with stderr if it is not JSON.
pub fn run_json(args: &[&str]) -> (Value, i32) {
    let mut all = vec!["--json"];
    all.extend_from_slice(args);
    let out = run(&all);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let v: Value = serde_json::from_str(&stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}); stderr: {}\nstdout: {stdout}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    assert_schema(&v);
    (v, out.status.code().expect("exited"))
}

/// The port object for `port` on the first address of the first target.
pub fn port_of(doc: &Value, port: u16) -> &Value {
    port_at(doc, 0, 0, port)
}

pub fn port_at(doc: &Value, target: usize, address: usize, port: u16) -> &Value {
    doc["targets"][target]["addresses"][address]["ports"]
        .as_array()
        .expect("ports array")
        .iter()
        .find(|p| p["port"] == port)
        .unwrap_or_else(|| panic!("port {port} not in report"))
}

/// Finding codes of a target, in report order.
pub fn codes(doc: &Value, target: usize) -> Vec<String> {
    doc["targets"][target]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["code"].as_str().unwrap().to_string())
        .collect()
}

pub fn finding<'a>(doc: &'a Value, target: usize, code: &str) -> &'a Value {
    doc["targets"][target]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["code"] == code)
        .unwrap_or_else(|| {
            panic!(
                "no finding {code} in {:#}",
                doc["targets"][target]["findings"]
            )
        })
}

/// Runs `argv` and asserts a usage error: exit code 2, one line on stderr containing `needle`,
/// nothing on stdout.
pub fn assert_usage_error(argv: &[&str], needle: &str) {
    let out = run(argv);
    let err = stderr_of(&out);
    assert_eq!(out.status.code(), Some(2), "{argv:?}: {err}");
    assert_eq!(
        err.trim_end().lines().count(),
        1,
        "{argv:?}: one line, got:\n{err}"
    );
    assert!(
        err.contains(needle),
        "{argv:?}: expected {needle:?} in {err}"
    );
    assert!(out.stdout.is_empty(), "{argv:?}: nothing on stdout");
}

/// Reads everything a child wrote to stderr, for messages.
pub fn stderr_of(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

pub fn read_all(mut r: impl Read) -> String {
    let mut s = String::new();
    r.read_to_string(&mut s).unwrap();
    s
}

pub fn piped() -> Stdio {
    Stdio::piped()
}
