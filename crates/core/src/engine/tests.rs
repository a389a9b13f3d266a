//! Every scheduling rule of the engine, on tokio's paused clock through the scripted network of
//! [`super::fake`], and each real I/O path once on loopback.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use super::fake::{FakeIo, FakeNet, Reply};
use super::lane::{lane, STARTS_PER_TURN};
use super::policy::{LOCAL_RETRIES, LOSS_SAMPLE, SELF_CONNECT_RETRIES, UP_HOST_ATTEMPTS};
use super::{EngineSettings, HostResult, Scan, ScanOutcome};
use crate::catalog::Port;
use crate::platform::ConnectErrorKind;
use crate::probe::{Attempt, Greeting, PortState, Reason};
use crate::target_set::{parse_spec, IndexedSet, Spec};

mod scans;

fn targets(spec: &str) -> Arc<IndexedSet> {
    let Spec::Addresses(a) = parse_spec(spec).unwrap() else {
        panic!("{spec} is not an address set")
    };
    Arc::new(a.into_indexed())
}

/// A scan's settings as the command line gives them, two lanes.
const SCAN: EngineSettings = EngineSettings {
    max_timeout: Duration::from_secs(1),
    min_timeout: Duration::from_millis(100),
    up_min_timeout: Duration::from_millis(50),
    retries: 1,
    concurrency: 256,
    rate: None,
    seed: 1,
    shard: crate::order::Shard::WHOLE,
    max_hosts: None,
    lanes: 2,
    order: super::Order::Shuffled,
};

/// The probe of a named target: fixed 1 s wait, one retry.
fn host_settings() -> EngineSettings {
    EngineSettings::fixed(Duration::from_secs(1), 1, 64)
}

async fn run(
    net: Arc<FakeNet>,
    spec: &str,
    ports: &[u16],
    s: EngineSettings,
) -> (Vec<HostResult>, ScanOutcome) {
    let ports = ports.iter().map(|p| Port(*p)).collect();
    let scan = Scan::builder(targets(spec), ports)
        .settings(s)
        .build()
        .unwrap();
    let mut run = scan.start_lanes(move |sched, out, cancel| {
        Box::pin(lane(sched, FakeIo::new(net.clone()), out, cancel))
    });
    let mut hosts = Vec::new();
    while let Some(batch) = run.next().await {
        hosts.extend(batch);
    }
    (hosts, run.finish().await)
}

fn host<'a>(hosts: &'a [HostResult], ip: &str) -> &'a HostResult {
    hosts
        .iter()
        .find(|h| h.address.to_string() == ip)
        .unwrap_or_else(|| panic!("{ip} not decided"))
}

fn rst() -> Reply {
    Reply::After(
        Duration::from_micros(200),
        Attempt::Refused {
            rtt: Duration::from_micros(200),
        },
    )
}

fn open() -> Reply {
    Reply::After(
        Duration::from_micros(200),
        Attempt::Accepted {
            rtt: Duration::from_micros(200),
            greeting: None,
        },
    )
}

fn emfile() -> Reply {
    Reply::AtOnce(Attempt::Local {
        kind: ConnectErrorKind::NoFileDescriptors,
        error: "Too many open files".into(),
    })
}

fn ip(a: SocketAddr) -> [u8; 4] {
    match a.ip() {
        std::net::IpAddr::V4(v) => v.octets(),
        _ => panic!("IPv4 only here"),
    }
}

// ---- the retry policy, as a named target's probe sees it ----------------------------------

#[tokio::test(start_paused = true)]
async fn silence_is_retried_then_called_filtered() {
    let net = FakeNet::new(|_, _| Reply::Silent);
    let t0 = Instant::now();
    let (hosts, _) = run(net, "10.0.0.5", &[4026], host_settings()).await;
    let p = &hosts[0].ports[0];
    assert_eq!(
        (p.state, p.reason),
        (PortState::Filtered, Reason::NoResponse)
    );
    assert_eq!(p.attempts, 2);
    assert_eq!(t0.elapsed(), Duration::from_secs(2));
}

#[tokio::test(start_paused = true)]
async fn a_lost_syn_is_recovered_by_the_retry() {
    let net = FakeNet::new(|_, n| if n == 1 { Reply::Silent } else { rst() });
    let (hosts, _) = run(net, "10.0.0.5", &[4026], host_settings()).await;
    let p = &hosts[0].ports[0];
    assert_eq!((p.state, p.attempts), (PortState::Closed, 2));
}

#[tokio::test(start_paused = true)]
async fn answers_are_final_and_not_retried() {
    let net = FakeNet::new(|_, _| rst());
    let (hosts, _) = run(net.clone(), "10.0.0.5", &[4026], host_settings()).await;
    assert_eq!(hosts[0].ports[0].state, PortState::Closed);
    assert_eq!(net.attempts(), 1);
}

#[tokio::test(start_paused = true)]
async fn self_connect_is_reprobed_even_without_retries() {
    let s = EngineSettings::fixed(Duration::from_secs(1), 0, 64);
    let net = FakeNet::new(|_, n| {
        if n == 1 {
            Reply::AtOnce(Attempt::SelfConnect)
        } else {
            rst()
        }
    });
    let (hosts, _) = run(net, "127.0.0.1", &[40000], s).await;
    let p = &hosts[0].ports[0];
    assert_eq!(
        (p.state, p.reason),
        (PortState::Closed, Reason::ConnRefused)
    );

    let net = FakeNet::new(|_, _| Reply::AtOnce(Attempt::SelfConnect));
    let (hosts, _) = run(net.clone(), "127.0.0.1", &[40000], s).await;
    let p = &hosts[0].ports[0];
    assert_eq!(
        (p.state, p.reason),
        (PortState::Closed, Reason::SelfConnect)
    );
    assert_eq!(p.attempts, 1 + SELF_CONNECT_RETRIES);
    assert_eq!(net.attempts(), 1 + SELF_CONNECT_RETRIES);
}

#[tokio::test(start_paused = true)]
async fn local_exhaustion_is_waited_out_and_not_counted() {
    let net = FakeNet::new(|_, n| if n <= 2 { emfile() } else { rst() });
    let (hosts, _) = run(net, "10.0.0.5", &[4026], host_settings()).await;
    let p = &hosts[0].ports[0];
    assert_eq!(
        p.state,
        PortState::Closed,
        "exhaustion must not decide the state"
    );
    assert_eq!(
        p.attempts, 1,
        "the exhausted attempts never reached the network"
    );

    let net = FakeNet::new(|_, _| emfile());
    let (hosts, _) = run(net.clone(), "10.0.0.5", &[4026], host_settings()).await;
    let p = &hosts[0].ports[0];
    assert_eq!(
        (p.state, p.reason),
        (PortState::LocalError, Reason::NoFileDescriptors)
    );
    assert_eq!(p.attempts, 1, "only the deciding attempt counts");
    assert_eq!(net.attempts(), LOCAL_RETRIES + 1);
}

#[tokio::test(start_paused = true)]
async fn a_hosts_ports_are_probed_together_and_results_keep_their_order() {
    let net = FakeNet::new(|a, _| {
        if a.port() == 4024 {
            rst()
        } else {
            Reply::Silent
        }
    });
    let t0 = Instant::now();
    let (hosts, _) = run(net, "10.0.0.5-6", &[4026, 4024], host_settings()).await;
    for h in &hosts {
        let states: Vec<PortState> = h.ports.iter().map(|p| p.state).collect();
        assert_eq!(states, [PortState::Filtered, PortState::Closed]);
    }
    // Both hosts side by side, each silent port's seven attempts at the 50 ms floor: 0.35 s in
    // all, not 0.7 s.
    assert_eq!(t0.elapsed(), Duration::from_millis(350));
}

// ---- hosts known to be up: more attempts, each as long as the host's own round trips ------

/// 4024 resets, so the host is up; 4026 drops (or its SYNs are lost) `silent_for` times.
fn up_host(silent_for: u32) -> Arc<FakeNet> {
    FakeNet::new(move |a, n| match a.port() {
        4026 if n <= silent_for => Reply::Silent,
        4026 => open(),
        _ => rst(),
    })
}

#[tokio::test(start_paused = true)]
async fn a_silent_port_of_an_up_host_gets_seven_attempts() {
    let net = up_host(u32::MAX);
    let (hosts, _) = run(net.clone(), "10.0.0.5", &[4026, 4024], host_settings()).await;
    let p = &hosts[0].ports[0];
    assert_eq!(
        (p.state, p.attempts),
        (PortState::Filtered, UP_HOST_ATTEMPTS)
    );
    assert_eq!(net.attempts(), UP_HOST_ATTEMPTS + 1);
}

#[tokio::test(start_paused = true)]
async fn an_up_hosts_port_whose_first_four_syns_were_lost_is_found_open() {
    let net = up_host(4);
    let (hosts, _) = run(net.clone(), "10.0.0.5", &[4026, 4024], host_settings()).await;
    let p = &hosts[0].ports[0];
    assert_eq!((p.state, p.attempts), (PortState::Open, 5));
    // Four waits at the 50 ms floor (the host resets in 0.2 ms), then the answer.
    let waited: Vec<Duration> = net
        .expired
        .lock()
        .unwrap()
        .iter()
        .map(|(_, d)| *d)
        .collect();
    assert_eq!(waited, vec![Duration::from_millis(50); 4]);
}

#[tokio::test(start_paused = true)]
async fn a_host_that_never_answered_gets_retries_plus_one_fixed_waits() {
    let net = FakeNet::new(|_, _| Reply::Silent);
    let s = EngineSettings::fixed(Duration::from_secs(1), 2, 64);
    let t0 = Instant::now();
    let (hosts, _) = run(net.clone(), "10.0.0.5", &[4026, 4024], s).await;
    assert!(hosts[0]
        .ports
        .iter()
        .all(|p| (p.state, p.attempts) == (PortState::Filtered, 3)));
    assert_eq!(net.attempts(), 6);
    assert_eq!(t0.elapsed(), Duration::from_secs(3));
}

#[tokio::test(start_paused = true)]
async fn waits_on_an_up_host_follow_its_own_round_trips() {
    // The host resets after 200 ms: srtt 200 ms, rttvar 100 ms, a wait of 600 ms; the first
    // attempt on 4026, started with the full second, is cut to it once the reset is in.
    let net = FakeNet::new(|a, _| {
        if a.port() == 4026 {
            Reply::Silent
        } else {
            let d = Duration::from_millis(200);
            Reply::After(d, Attempt::Refused { rtt: d })
        }
    });
    run(net.clone(), "10.0.0.5", &[4026, 4024], host_settings()).await;
    let waited: Vec<Duration> = net
        .expired
        .lock()
        .unwrap()
        .iter()
        .map(|(_, d)| *d)
        .collect();
    assert_eq!(
        waited,
        vec![Duration::from_millis(600); UP_HOST_ATTEMPTS as usize],
        "neither the full second nor doubled"
    );
}

#[tokio::test(start_paused = true)]
async fn a_silent_port_is_not_filtered_while_its_hosts_other_ports_may_still_answer() {
    // 4024's connects first fail locally twice (so it starts 60 ms late), then its first SYN is
    // lost and its second reset, at 2.05 s: after 4026 ran out of a silent host's retries
    // (2 s), which must not have made 4026 filtered, since its third SYN is answered.
    let net = FakeNet::new(|a, n| match (a.port(), n) {
        (4026, 1 | 2) => Reply::Silent,
        (4026, _) => open(),
        (_, 1 | 2) => emfile(),
        (_, 3) => Reply::Silent,
        _ => Reply::After(
            Duration::from_millis(990),
            Attempt::Refused {
                rtt: Duration::from_millis(990),
            },
        ),
    });
    let (hosts, _) = run(net, "10.0.0.5", &[4026, 4024], host_settings()).await;
    let p = &hosts[0].ports;
    assert_eq!((p[0].state, p[0].attempts), (PortState::Open, 3), "{p:?}");
    assert_eq!((p[1].state, p[1].attempts), (PortState::Closed, 2), "{p:?}");
}

#[tokio::test(start_paused = true)]
async fn a_named_targets_ports_go_out_in_the_order_given() {
    let net = FakeNet::new(|_, _| rst());
    run(
        net.clone(),
        "10.0.0.5",
        &[4026, 4016, 4024],
        host_settings(),
    )
    .await;
    let order: Vec<u16> = net
        .starts
        .lock()
        .unwrap()
        .iter()
        .map(|(a, _)| a.port())
        .collect();
    assert_eq!(order, [4026, 4016, 4024]);
}

// ---- the real I/O paths, once each, on loopback -------------------------------------------

/// An open, a refused and a greeting port on one loopback address, through the given path.
async fn real_sockets(portable: bool) {
    use std::io::Write;
    let open = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let greeter = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let ports = [
        open.local_addr().unwrap().port(),
        greeter.local_addr().unwrap().port(),
        closed.local_addr().unwrap().port(),
    ];
    drop(closed);
    let server = std::thread::spawn(move || {
        let (mut c, _) = greeter.accept().unwrap();
        c.write_all(b"SSH-2.0-loopback\r\n").unwrap();
    });
    let mut b = Scan::builder(
        targets("127.0.0.1"),
        ports.iter().map(|p| Port(*p)).collect(),
    )
    .settings(EngineSettings::fixed(Duration::from_secs(2), 0, 8))
    .after_connect(crate::probe::greeting::ReadGreeting {
        wait: Duration::from_secs(2),
    });
    if portable {
        b = b.portable_io();
    }
    let mut run = b.build().unwrap().start();
    let mut hosts = Vec::new();
    while let Some(batch) = run.next().await {
        hosts.extend(batch);
    }
    assert!(run.finish().await.completed);
    server.join().unwrap();
    let p = &hosts[0].ports;
    assert_eq!(
        (p[0].state, p[0].greeting.is_none()),
        (PortState::Open, true),
        "{p:?}"
    );
    assert_eq!(
        p[1].greeting.as_ref().and_then(|g| g.protocol),
        Some("ssh"),
        "{p:?}"
    );
    assert_eq!(p[2].state, PortState::Closed, "{p:?}");
    drop(open);
}

#[tokio::test]
async fn the_platform_path_on_loopback() {
    real_sockets(false).await;
}

#[tokio::test]
async fn the_portable_path_on_loopback() {
    real_sockets(true).await;
}

// ---- interruption -------------------------------------------------------------------------

/// Cancelled with a host half decided: the decided ports come out (an open debugger port is not
/// lost to a silent port of the same host), the rest marked undecided; a connection still in its
/// exchange counts as accepted; a host with nothing decided is not invented.
#[tokio::test(start_paused = true)]
async fn an_interrupted_run_hands_on_what_it_decided() {
    let net = FakeNet::new(|a, _| match (ip(a)[3], a.port()) {
        (5, 4026) => open(),
        (5, 4022) => Reply::Connects {
            connect: Duration::from_millis(1),
            exchange: Duration::from_secs(30),
            attempt: Attempt::Accepted {
                rtt: Duration::from_millis(1),
                greeting: None,
            },
        },
        _ => Reply::Silent,
    });
    let s = EngineSettings::fixed(Duration::from_secs(10), 0, 64);
    let scan = Scan::builder(
        targets("10.0.0.5-6"),
        vec![Port(4026), Port(4025), Port(4022)],
    )
    .settings(s)
    .build()
    .unwrap();
    let mut run = scan.start_lanes(move |sched, out, cancel| {
        Box::pin(lane(sched, FakeIo::new(net.clone()), out, cancel))
    });
    // Let the answers come back, then stop while 4025 is silent (on its second attempt, at the
    // up host's 50 ms waits) and 4022 mid-exchange.
    tokio::time::sleep(Duration::from_millis(60)).await;
    run.cancel();
    let mut hosts = Vec::new();
    while let Some(batch) = run.next().await {
        hosts.extend(batch);
    }
    let outcome = run.finish().await;
    assert!(!outcome.completed);
    assert_eq!(
        hosts.len(),
        1,
        "only the host with something decided: {hosts:?}"
    );
    let states: Vec<PortState> = hosts[0].ports.iter().map(|p| p.state).collect();
    assert_eq!(
        states,
        [PortState::Open, PortState::Undecided, PortState::Open],
        "{:?}",
        hosts[0]
    );
    assert_eq!(hosts[0].ports[1].reason, Reason::Interrupted);
}
