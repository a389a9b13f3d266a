//! Single-host diagnosis time on loopback, against nmap on the same ports in the same run.
//!
//! Run: `cargo bench --bench single_host`. Two scenarios, each run interleaved (ours, nmap, ours,
//! nmap …) so both see the same machine state:
//! - every release port closed: the whole diagnosis should cost about one round trip;
//! - a host whose main port drops SYNs (a full accept queue) while the others reset: the host is
//!   up, so seven attempts at its own round-trip wait (50 ms at least), about 0.35 s.
//!
//! Packets go only to loopback addresses this process binds.

use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpStream};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use socket2::{Domain, Socket, Type};

const PORTS: &str = "4016-4026,4040";

fn ours(ip: &str) -> Duration {
    let t = Instant::now();
    let st = Command::new(env!("CARGO_BIN_EXE_msvsmon-probe"))
        .args(["--json", ip])
        .stdout(Stdio::null())
        .status()
        .expect("the binary runs");
    assert!(st.code().is_some());
    t.elapsed()
}

fn nmap(ip: &str) -> Option<Duration> {
    let t = Instant::now();
    let st = Command::new("nmap")
        .args([
            "-sT",
            "-Pn",
            "-n",
            "--reason",
            "-p",
            PORTS,
            "--max-retries",
            "1",
            ip,
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .ok()?;
    st.success().then(|| t.elapsed())
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn scenario(name: &str, ip: &str, runs: usize) {
    let mut a = Vec::new();
    let mut b = Vec::new();
    for _ in 0..runs {
        a.push(ours(ip));
        if let Some(d) = nmap(ip) {
            b.push(d);
        }
    }
    let nm = if b.is_empty() {
        "n/a (nmap not installed)".to_string()
    } else {
        format!("{:.1} ms", median(b).as_secs_f64() * 1e3)
    };
    println!(
        "| {name:<38} | {runs:>4} | {:>10.1} ms | {nm:>12} |",
        median(a).as_secs_f64() * 1e3
    );
}

fn main() {
    // `cargo bench` passes --bench; `cargo test --benches` would run this too: stay quick then.
    let quick = !std::env::args().any(|a| a == "--bench");
    let runs = if quick { 1 } else { 15 };
    println!(
        "| {:<38} | runs | msvsmon-probe | nmap -sT     |",
        "scenario (12 ports, loopback, median)"
    );
    println!("|{:-<40}|------|---------------|--------------|", "");

    let closed = "127.78.0.1";
    scenario("all ports closed", closed, runs);

    let ip: IpAddr = IpAddr::V4(Ipv4Addr::new(127, 78, 0, 2));
    let addr = SocketAddr::new(ip, 4026);
    let s = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
    s.set_reuse_address(true).unwrap();
    s.bind(&addr.into()).unwrap();
    s.listen(0).unwrap();
    let _filler = TcpStream::connect_timeout(&addr, Duration::from_secs(2)).unwrap();
    scenario(
        "4026 drops SYNs, the host is up",
        &ip.to_string(),
        if quick { 1 } else { 3 },
    );
}
