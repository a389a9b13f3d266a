//! The scan's scheduling rules (order, shards, loss bookkeeping, back-off, rate) and the lane's
//! own rules, on the paused clock.

use super::*;

// ---- scans --------------------------------------------------------------------------------

#[tokio::test(start_paused = true)]
async fn every_host_once_with_its_open_ports() {
    let net = FakeNet::new(|a, _| {
        if a.port() == 4026 && ip(a)[3] == 7 {
            open()
        } else {
            rst()
        }
    });
    let (hosts, outcome) = run(net.clone(), "10.0.0.0/24", &[4024, 4026], SCAN).await;
    assert!(outcome.completed);
    assert_eq!(hosts.len(), 256);
    let unique: HashSet<_> = hosts.iter().map(|h| h.address).collect();
    assert_eq!(unique.len(), 256);
    let open: Vec<String> = hosts
        .iter()
        .filter(|h| h.ports[1].state == PortState::Open)
        .map(|h| h.address.to_string())
        .collect();
    assert_eq!(open, ["10.0.0.7"]);
    assert_eq!(net.attempts(), 512, "no probe twice");
    assert_eq!(outcome.probes_sent, 512);
}

#[tokio::test(start_paused = true)]
async fn positions_done_before_are_passed_over_and_the_rest_scanned_once() {
    let net = FakeNet::new(|_, _| rst());
    let (first, _) = run(net.clone(), "10.0.0.0/24", &[4024, 4026], SCAN).await;
    // An earlier run decided every other position, whichever lane had it.
    let done = crate::DoneSet::from_intervals(
        first
            .iter()
            .filter(|h| h.position % 2 == 0)
            .map(|h| (h.position, h.position + 1)),
    );
    assert_eq!(done.len(), 128);
    let net = FakeNet::new(|_, _| rst());
    let scan = Scan::builder(targets("10.0.0.0/24"), vec![Port(4024), Port(4026)])
        .settings(SCAN)
        .skip(Arc::new(done.clone()))
        .build()
        .unwrap();
    let fake = net.clone();
    let mut run = scan.start_lanes(move |sched, out, cancel| {
        Box::pin(lane(sched, FakeIo::new(fake.clone()), out, cancel))
    });
    let mut rest = Vec::new();
    while let Some(batch) = run.next().await {
        rest.extend(batch);
    }
    let outcome = run.finish().await;
    assert!(outcome.completed);
    assert_eq!(outcome.hosts_total, 256, "the whole shard, done or not");
    assert_eq!(outcome.hosts_done, 128);
    assert_eq!(net.attempts(), 256, "only the positions not done");
    assert!(rest.iter().all(|h| !done.contains(h.position)));
    let mut all: Vec<_> = first
        .iter()
        .filter(|h| done.contains(h.position))
        .chain(&rest)
        .map(|h| h.address)
        .collect();
    all.sort();
    all.dedup();
    assert_eq!(all.len(), 256, "together, every host once");
}

#[tokio::test(start_paused = true)]
async fn a_lost_syn_on_an_up_host_is_retried_and_found() {
    // 4026 open on .9, but its first SYN is lost; its 4024 resets (so the host is up).
    let net = FakeNet::new(|a, n| match (ip(a)[3], a.port(), n) {
        (9, 4026, 1) => Reply::Silent,
        (9, 4026, _) => open(),
        _ => rst(),
    });
    let (hosts, _) = run(net, "10.0.0.0/28", &[4024, 4026], SCAN).await;
    let p = &host(&hosts, "10.0.0.9").ports[1];
    assert_eq!((p.state, p.attempts), (PortState::Open, 2));
}

#[tokio::test(start_paused = true)]
async fn retries_of_silent_hosts_stop_when_the_path_shows_no_loss() {
    // A /20 where half the hosts drop everything and nothing is ever lost.
    let net = FakeNet::new(|a, _| {
        if ip(a)[2] % 2 == 0 {
            Reply::Silent
        } else {
            rst()
        }
    });
    let (hosts, outcome) = run(net.clone(), "10.0.0.0/20", &[4026], SCAN).await;
    assert_eq!(hosts.len(), 4096);
    let silent_retries: u32 = net.seen.lock().unwrap().values().map(|k| k - 1).sum();
    assert_eq!(
        u64::from(silent_retries),
        LOSS_SAMPLE,
        "retries stop after the loss sample"
    );
    assert_eq!(outcome.retries_sent, LOSS_SAMPLE);
    assert!(hosts.iter().all(|h| h.ports[0].state != PortState::Open));
}

#[tokio::test(start_paused = true)]
async fn silent_hosts_keep_being_retried_on_a_lossy_path() {
    // Every host answers, but every first SYN to an odd host is lost.
    let net = FakeNet::new(|a, n| {
        if ip(a)[3] % 2 == 1 && n == 1 {
            Reply::Silent
        } else {
            rst()
        }
    });
    let (hosts, _) = run(net, "10.0.0.0/22", &[4026], SCAN).await;
    assert!(
        hosts.iter().all(|h| h.ports[0].state == PortState::Closed),
        "loss was seen, so every silent host was retried and answered"
    );
}

#[tokio::test(start_paused = true)]
async fn timeouts_adapt_to_measured_round_trips() {
    // Even hosts drop everything (never up), odd ones reset: the waits on the silent hosts
    // follow the lane's estimate from the others.
    let net = FakeNet::new(|a, _| {
        if ip(a)[3] % 2 == 0 {
            Reply::Silent
        } else {
            rst()
        }
    });
    let s = EngineSettings {
        retries: 0,
        concurrency: 4,
        ..SCAN
    };
    run(net.clone(), "10.0.0.0/26", &[4024, 4026], s).await;
    let waited: Vec<Duration> = net
        .expired
        .lock()
        .unwrap()
        .iter()
        .map(|(_, d)| *d)
        .collect();
    assert_eq!(waited[0], SCAN.max_timeout, "no measurement yet");
    assert_eq!(
        *waited.last().unwrap(),
        SCAN.min_timeout,
        "fast answers shrink the wait"
    );
}

#[tokio::test(start_paused = true)]
async fn local_exhaustion_halves_concurrency_and_is_never_a_port_state() {
    let net = FakeNet::new(|a, n| {
        if ip(a)[3] == 3 && n <= 2 {
            emfile()
        } else {
            rst()
        }
    });
    let (hosts, outcome) = run(net, "10.0.0.0/29", &[4026], SCAN).await;
    let p = &host(&hosts, "10.0.0.3").ports[0];
    assert_eq!(p.state, PortState::Closed);
    assert_eq!(
        p.attempts, 1,
        "exhausted attempts never reached the network"
    );
    assert_eq!(outcome.local_backoffs, 2);
}

/// With descriptors for only three connects at a time (the rest fail with EMFILE at once, as
/// under `ulimit -n 20`), the lane settles at what fits instead of running into the limit on
/// every turn and pausing: every port decided by the network, none a local error, in about the
/// time three at a time take.
#[tokio::test(start_paused = true)]
async fn a_lane_settles_at_the_connects_that_fit() {
    let net = FakeNet::new(|_, _| {
        Reply::After(
            Duration::from_millis(10),
            Attempt::Refused {
                rtt: Duration::from_millis(10),
            },
        )
    });
    *net.descriptors.lock().unwrap() = Some(3);
    let s = EngineSettings {
        concurrency: 500,
        lanes: 1,
        ..SCAN
    };
    let t0 = Instant::now();
    let (hosts, outcome) = run(net.clone(), "10.0.0.0/26", &[1, 2, 3, 4], s).await;
    let elapsed = t0.elapsed();
    assert_eq!(hosts.len(), 64);
    let states: HashSet<PortState> = hosts
        .iter()
        .flat_map(|h| h.ports.iter().map(|p| p.state))
        .collect();
    assert_eq!(states, HashSet::from([PortState::Closed]), "{outcome:?}");
    assert_eq!(*net.peak.lock().unwrap(), 3);
    // 256 probes, three at a time, 10 ms each: 0.85 s without a single pause.
    assert!(
        elapsed < Duration::from_millis(1500),
        "{elapsed:?}, {} back-offs",
        outcome.local_backoffs
    );
    assert!(outcome.local_backoffs <= 8, "{outcome:?}");
}

#[tokio::test(start_paused = true)]
async fn concurrency_is_never_exceeded() {
    let net = FakeNet::new(|_, _| {
        Reply::After(
            Duration::from_millis(5),
            Attempt::Refused {
                rtt: Duration::from_millis(5),
            },
        )
    });
    let s = EngineSettings {
        concurrency: 10,
        ..SCAN
    };
    run(net.clone(), "10.0.0.0/24", &[1, 2], s).await;
    assert_eq!(*net.peak.lock().unwrap(), 10);
}

#[tokio::test(start_paused = true)]
async fn rate_cap_spaces_probes() {
    let net = FakeNet::new(|_, _| rst());
    let s = EngineSettings {
        rate: Some(100.0),
        ..SCAN
    };
    let t0 = Instant::now();
    let (hosts, _) = run(net, "10.0.0.0/24", &[4026], s).await;
    assert_eq!(hosts.len(), 256);
    let took = t0.elapsed();
    assert!(
        took >= Duration::from_millis(2400) && took < Duration::from_secs(3),
        "{took:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn cancellation_stops_and_reports_progress() {
    let net = FakeNet::new(|_, _| Reply::Silent);
    let s = EngineSettings {
        concurrency: 16,
        ..SCAN
    };
    let scan = Scan::builder(targets("10.0.0.0/16"), vec![Port(4026)])
        .settings(s)
        .build()
        .unwrap();
    let mut run = scan.start_lanes(move |sched, out, cancel| {
        Box::pin(lane(sched, FakeIo::new(net.clone()), out, cancel))
    });
    let mut got = 0usize;
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        tokio::select! {
            batch = run.next() => got += batch.map_or(0, |b| b.len()),
            () = tokio::time::sleep_until(deadline) => break,
        }
    }
    let progress = run.progress();
    assert_eq!(progress.hosts_total, 65_536);
    assert!(progress.in_flight <= 16);
    run.cancel();
    while let Some(batch) = run.next().await {
        got += batch.len();
    }
    let outcome = run.finish().await;
    assert!(!outcome.completed);
    assert_eq!(outcome.hosts_total, 65_536);
    assert_eq!(got as u128, outcome.hosts_done);
    assert!(outcome.hosts_done > 0 && outcome.hosts_done < 65_536);
}

#[tokio::test(start_paused = true)]
async fn max_hosts_limits_the_scan() {
    let net = FakeNet::new(|_, _| rst());
    let s = EngineSettings {
        max_hosts: Some(1000),
        ..SCAN
    };
    let (hosts, outcome) = run(net, "10.0.0.0/8", &[4026], s).await;
    assert_eq!(hosts.len(), 1000);
    assert_eq!(outcome.hosts_total, 1000);
}

// ---- the lane's own rules (what used to be tested only end to end) ------------------------

#[tokio::test(start_paused = true)]
async fn an_answer_due_at_the_deadline_is_an_answer_not_silence() {
    let net = FakeNet::new(|_, _| {
        Reply::After(
            Duration::from_secs(1),
            Attempt::Refused {
                rtt: Duration::from_secs(1),
            },
        )
    });
    let s = EngineSettings::fixed(Duration::from_secs(1), 0, 64);
    let (hosts, _) = run(net.clone(), "10.0.0.5", &[4026], s).await;
    assert_eq!(hosts[0].ports[0].state, PortState::Closed);
    assert!(net.expired.lock().unwrap().is_empty());
}

#[tokio::test(start_paused = true)]
async fn a_connection_in_its_exchange_outlives_the_connect_deadline() {
    let banner = Attempt::Accepted {
        rtt: Duration::from_millis(10),
        greeting: Some(Greeting::identify(b"SSH-2.0-x\r\n")),
    };
    let net = FakeNet::new(move |_, _| Reply::Connects {
        connect: Duration::from_millis(10),
        exchange: Duration::from_secs(3),
        attempt: banner.clone(),
    });
    let s = EngineSettings::fixed(Duration::from_secs(1), 1, 64);
    let (hosts, _) = run(net.clone(), "10.0.0.5", &[4026], s).await;
    let p = &hosts[0].ports[0];
    assert_eq!((p.state, p.attempts), (PortState::Open, 1));
    assert!(p.greeting.is_some());
}

#[tokio::test(start_paused = true)]
async fn a_stale_deadline_never_expires_a_reused_token() {
    // One probe at a time: .1 answers at once, and its token goes to .2, which answers just
    // after .1's (stale) deadline but before its own.
    let net = FakeNet::new(|a, _| {
        let d = if ip(a)[3] == 1 {
            Duration::from_millis(10)
        } else {
            Duration::from_millis(995)
        };
        Reply::After(d, Attempt::Refused { rtt: d })
    });
    let s = EngineSettings {
        concurrency: 1,
        lanes: 1,
        retries: 0,
        min_timeout: Duration::from_secs(1),
        order: crate::engine::Order::AsGiven,
        ..SCAN
    };
    let (hosts, _) = run(net.clone(), "10.0.0.1-2", &[4026], s).await;
    assert!(hosts.iter().all(|h| h.ports[0].state == PortState::Closed));
    assert!(net.expired.lock().unwrap().is_empty());
}

#[tokio::test(start_paused = true)]
async fn a_burst_of_starts_is_cut_into_turns() {
    let net = FakeNet::new(|_, _| Reply::Silent);
    let s = EngineSettings {
        concurrency: 4096,
        lanes: 1,
        retries: 0,
        ..SCAN
    };
    run(net.clone(), "10.0.0.0/20", &[4026], s).await;
    let waits = net.waits.lock().unwrap();
    assert_eq!(
        waits[0], STARTS_PER_TURN,
        "answers are collected between batches"
    );
    assert!(waits
        .windows(2)
        .take(7)
        .all(|w| w[1] - w[0] <= STARTS_PER_TURN));
}

#[tokio::test(start_paused = true)]
async fn immediate_failures_never_wait() {
    let net = FakeNet::new(|_, _| {
        Reply::AtOnce(Attempt::Unreachable {
            rtt: Duration::ZERO,
            kind: ConnectErrorKind::NetUnreachable,
        })
    });
    let t0 = Instant::now();
    let (hosts, _) = run(net, "10.0.0.0/28", &[4026, 4024], SCAN).await;
    assert_eq!(hosts.len(), 16);
    assert!(hosts
        .iter()
        .all(|h| h.ports.iter().all(|p| p.reason == Reason::NoRoute)));
    assert_eq!(t0.elapsed(), Duration::ZERO);
}
