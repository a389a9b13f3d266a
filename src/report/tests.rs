//! The words of the diagnosis, as people and scripts read them: for every scenario the diagnose
//! rules are tested on (crates/core/src/diagnose/tests/), a snapshot of the human report and
//! of the JSON verdict and findings. Built from fixed observations (no sockets, fixed times), so
//! a changed sentence shows up in review as a diff of `src/report/snapshots/`. Update with
//! `cargo insta review` or `INSTA_UPDATE=always cargo test --bin msvsmon-probe report::tests`.

use std::net::IpAddr;
use std::time::{Duration, SystemTime};

use msvsmon_probe_core::fixtures::{
    discovery as disc, eth0, every_port, host, host_with, icmp, open,
};
use msvsmon_probe_core::{
    diagnose, samples, Attempt, ConnectErrorKind, Diagnosis, DiscoverRun, DiscoveryObservation,
    DiscoverySettings, DiscoveryStatus, EngineSettings, Greeting, HostObservation, IcmpDetail,
    IcmpKind, IcmpReport, IfAddr, Interface, PortResult, ProbeKind, Reach, RouteKind, Version,
};

use super::{human, json, RunInfo};

mod fixed;
use fixed::*;

#[test]
fn ide_2022_on_a_2019_only_host() {
    let text = render_for(
        only_2019_with_4026_dropped(),
        Some("2022"),
        human::Layout::PLAIN,
    );
    assert!(text.contains("release mismatch"), "{text}");
    assert!(text.contains("Visual Studio 2022 remote tools"), "{text}");
    insta::assert_snapshot!("ide_2022_on_a_2019_only_host", text);
}

#[test]
fn no_ide_on_a_2019_only_host() {
    let text = render_for(only_2019_with_4026_dropped(), None, human::Layout::PLAIN);
    assert!(
        text.contains("the monitor that answers is VS 2019"),
        "{text}"
    );
    // Firewall advice names 4026 alone, never every release's port.
    assert!(text.contains("-LocalPort 4026 "), "{text}");
    assert!(!text.contains("4016,4018"), "{text}");
    insta::assert_snapshot!("no_ide_on_a_2019_only_host", text);
}

/// `--release 2022` against the VS 2019 host with 4026 dropped: 4025 is no proof of VS 2022.
#[test]
fn release_2022_on_a_2019_only_host() {
    let obs = msvsmon_probe_core::fixtures::observe("devbox")
        .releases(&["2022"])
        .address("10.0.0.5", vec![(4025, open()), (4026, silent())])
        .build();
    let text = render_for(obs, None, human::Layout::PLAIN);
    let said = text.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        said.contains("VS 2019, whose main port 4024 was not probed"),
        "{text}"
    );
    insta::assert_snapshot!("release_2022_on_a_2019_only_host", text);
}

/// A streamed report (the verdict, later the discovery part and the footer) says what the
/// report in one piece says, in the same order.
#[test]
fn a_streamed_report_is_the_report_in_two_pieces() {
    let mut o = host("devbox", &[("10.0.0.5", vec![(4026, open())])]);
    o.discovery = Some(disc(DiscoveryStatus::NoReply, eth0(), WSDD_ID, &[]));
    // The Windows checks complete the observation with discovery: their findings come in the
    // second piece.
    o.windows = vec![msvsmon_probe_core::fixtures::windows(
        "10.0.0.5",
        600_000,
        "BUILD-OLD",
        "LAB",
    )];
    let d = diagnose(&o);
    let run = run_info(true);
    let hosts = [(o, d)];
    let mut whole = Vec::new();
    human::write_with(&mut whole, &run, &hosts, human::Layout::PLAIN).unwrap();
    let mut pieces = Vec::new();
    human::write_verdict_part(&mut pieces, &hosts[0].0, &hosts[0].1, human::Layout::PLAIN).unwrap();
    let first = String::from_utf8(pieces.clone()).unwrap();
    assert!(!first.contains("BUILD-OLD"), "{first}");
    human::write_streamed_end(&mut pieces, &run, &hosts[0], human::Layout::PLAIN).unwrap();
    assert!(String::from_utf8_lossy(&pieces).contains("calls itself BUILD-OLD"));
    assert_eq!(
        String::from_utf8(pieces).unwrap(),
        String::from_utf8(whole).unwrap()
    );
}

/// A port held by another protocol's server is open, but not good news: never in the green of
/// an open debugger port.
#[test]
fn a_greeting_port_is_not_coloured_as_success() {
    let row_of = |attempt: Attempt| {
        let o = host("10.0.0.5", &[("10.0.0.5", vec![(4026, attempt)])]);
        let d = diagnose(&o);
        let mut out = Vec::new();
        human::write_with(&mut out, &run_info(false), &[(o, d)], human::Layout::PLAIN).unwrap();
        let text = String::from_utf8(out).unwrap();
        text.lines()
            .find(|l| l.trim_start().starts_with("4026"))
            .unwrap()
            .to_string()
    };
    let green = "\u{1b}[32m";
    assert!(
        row_of(open()).contains(green),
        "the debugger's open port is green"
    );
    let ssh = Attempt::Accepted {
        rtt: Duration::from_micros(300),
        greeting: Some(Greeting::identify(b"SSH-2.0-OpenSSH_9.2\r\n")),
    };
    assert!(!row_of(ssh).contains(green), "a greeting port is not");
}

#[test]
fn at_120_columns() {
    insta::assert_snapshot!(
        "at_120_columns",
        render_for(only_2019_with_4026_dropped(), Some("2022"), WIDE)
    );
}

#[test]
fn verbose_shows_every_port_and_routine_finding() {
    let text = render_for(
        only_2019_with_4026_dropped(),
        None,
        human::Layout {
            verbose: true,
            ..human::Layout::PLAIN
        },
    );
    for port in ["4016", "4017", "4040"] {
        assert!(
            text.lines().any(|l| l.trim_start().starts_with(port)),
            "{port}: {text}"
        );
    }
    assert!(!text.contains("also:"), "{text}");
    insta::assert_snapshot!("verbose", text);
}

macro_rules! report {
    ($name:ident, $obs:expr) => {
        #[test]
        fn $name() {
            insta::assert_snapshot!(stringify!($name), render($obs));
        }
    };
}

// --- the scenarios of the diagnose unit tests --------------------------------------------------

report!(
    open_4026,
    host("devbox", &[("10.0.0.5", vec![(4026, open())])])
);
report!(all_closed, host("10.0.0.5", &[("10.0.0.5", vec![])]));

/// The Windows checks' findings: a clock 10 minutes ahead and a stale DNS record (the address
/// of buildbox calls itself BUILD-OLD), with the machine's workgroup.
fn windows_host(skew_ms: i64, computer: &str) -> HostObservation {
    let mut obs = host("buildbox", &[("10.0.0.5", vec![(4026, open())])]);
    obs.windows = vec![msvsmon_probe_core::fixtures::windows(
        "10.0.0.5", skew_ms, computer, "LAB",
    )];
    obs
}
report!(
    windows_clock_and_stale_name,
    windows_host(600_000, "BUILD-OLD")
);
report!(
    windows_small_skew_same_name,
    windows_host(-95_000, "BUILDBOX")
);
report!(
    filtered_main_port_on_a_live_host,
    host_with("10.0.0.5", &[("10.0.0.5", vec![(4026, silent())])], 2)
);
report!(
    filtered_main_and_wow64_ports_beside_an_open_one,
    host_with(
        "10.0.0.5",
        &[(
            "10.0.0.5",
            vec![(4024, open()), (4026, silent()), (4025, silent())]
        )],
        2
    )
);
report!(
    silent_host,
    host_with("10.0.0.5", &[("10.0.0.5", every_port(silent()))], 2)
);
report!(
    greeting_on_4026,
    host(
        "10.0.0.5",
        &[(
            "10.0.0.5",
            vec![(
                4026,
                Attempt::Accepted {
                    rtt: Duration::from_micros(300),
                    greeting: Some(Greeting::identify(b"SSH-2.0-OpenSSH_9.2\r\n")),
                }
            )]
        )]
    )
);
report!(
    greeting_on_a_wow64_port_beside_the_debugger,
    host(
        "10.0.0.5",
        &[(
            "10.0.0.5",
            vec![
                (4026, open()),
                (
                    4025,
                    Attempt::Accepted {
                        rtt: Duration::from_micros(300),
                        greeting: Some(Greeting::identify(b"220 mail ESMTP\r\n")),
                    }
                )
            ]
        )]
    )
);
report!(
    release_mismatch,
    host("10.0.0.5", &[("10.0.0.5", vec![(4024, open())])])
);
report!(
    only_wow64_with_the_main_port_silent,
    host(
        "10.0.0.5",
        &[("10.0.0.5", vec![(4025, open()), (4026, silent())])]
    )
);
report!(
    only_wow64_with_the_main_port_refused,
    host("10.0.0.5", &[("10.0.0.5", vec![(4025, open())])])
);
report!(
    side_by_side_2019_and_2022,
    host(
        "10.0.0.5",
        &[("10.0.0.5", vec![(4024, open()), (4026, open())])]
    )
);
report!(
    app_service_without_its_debugger,
    host("myapp.azurewebsites.net", &[("20.1.2.3", vec![])])
);
report!(
    app_service_with_its_debugger,
    host(
        "myapp.azurewebsites.net",
        &[("10.0.0.5", vec![(4024, open())])]
    )
);
report!(
    public_address,
    host("20.1.2.3", &[("20.1.2.3", vec![(4026, open())])])
);
report!(
    ipv6_address,
    host("fd00::5", &[("fd00::5", vec![(4026, open())])])
);
report!(
    addresses_that_disagree,
    host(
        "devbox",
        &[
            ("10.0.0.5", vec![(4026, open())]),
            ("10.0.0.6", vec![(4026, silent())])
        ]
    )
);
report!(
    addresses_that_disagree_without_a_debugger,
    host(
        "devbox",
        &[("10.0.0.5", vec![]), ("10.0.0.6", vec![(4026, silent())])]
    )
);
report!(
    addresses_that_agree,
    host(
        "devbox",
        &[
            ("10.0.0.5", vec![(4026, open())]),
            ("10.0.0.6", vec![(4026, open())])
        ]
    )
);
report!(
    icmp_rejection_by_a_router,
    host(
        "10.0.0.5",
        &[("10.0.0.5", vec![(4026, icmp(13, "10.0.0.1"))])]
    )
);
report!(
    icmp_rejections_by_the_host_and_a_router,
    host(
        "10.0.0.5",
        &[(
            "10.0.0.5",
            vec![
                (4026, icmp(13, "10.0.0.1")),
                (4024, icmp(3, "10.0.0.5")),
                (4025, icmp(3, "10.0.0.5"))
            ]
        )]
    )
);
report!(
    icmp_rate_limiting,
    host(
        "10.0.0.5",
        &[(
            "10.0.0.5",
            vec![
                (4026, icmp(3, "10.0.0.5")),
                (4024, icmp(3, "10.0.0.5")),
                (4022, silent())
            ]
        )]
    )
);
report!(
    a_routers_icmp_among_silence,
    host(
        "10.0.0.5",
        &[("10.0.0.5", {
            let mut ports = every_port(silent());
            ports.retain(|(p, _)| *p != 4026);
            ports.push((4026, icmp(13, "10.0.0.1")));
            ports
        })]
    )
);
report!(
    dead_address_on_the_link,
    host(
        "10.0.0.9",
        &[(
            "10.0.0.9",
            every_port(Attempt::Icmp {
                rtt: Duration::from_secs(1),
                report: IcmpReport {
                    v6: false,
                    icmp_type: 3,
                    code: 1,
                    offender: Some("10.0.0.2".parse().unwrap()),
                },
                local: Some("10.0.0.2".parse().unwrap()),
            })
        )]
    )
);
report!(
    no_route_to_some_ports_of_a_name,
    host(
        "devbox",
        &[(
            "10.0.0.9",
            vec![
                (
                    4026,
                    Attempt::Unreachable {
                        rtt: Duration::from_micros(50),
                        kind: ConnectErrorKind::NetUnreachable,
                    }
                ),
                (
                    4024,
                    Attempt::Unreachable {
                        rtt: Duration::from_micros(50),
                        kind: ConnectErrorKind::NetUnreachable,
                    }
                )
            ]
        )]
    )
);
report!(
    host_unreachable_from_a_router,
    host("10.0.0.9", &[("10.0.0.9", every_port(icmp(1, "10.0.0.1")))])
);
report!(unresolved_name, host("ghost", &[]));
report!(unresolved_mdns_name, host("ghost.local", &[]));
report!(
    custom_port_open,
    host("devbox:4567", &[("10.0.0.5", vec![(4567, open())])])
);
report!(interrupted_with_a_port_undecided, {
    let mut o = host("10.0.0.5", &[("10.0.0.5", vec![(4026, open())])]);
    for p in &mut o.addresses[0].ports {
        if p.planned.port.0 == 4025 {
            p.result = PortResult::undecided(1);
        }
    }
    o
});
report!(
    local_errors,
    host(
        "10.0.0.5",
        &[(
            "10.0.0.5",
            every_port(Attempt::Local {
                kind: ConnectErrorKind::NoFileDescriptors,
                error: "Too many open files".into(),
            })
        )]
    )
);
report!(
    local_policy_on_one_port,
    host(
        "10.0.0.5",
        &[(
            "10.0.0.5",
            vec![
                (4026, open()),
                (
                    4024,
                    Attempt::Local {
                        kind: ConnectErrorKind::LocalPolicy,
                        error: "Operation not permitted".into(),
                    }
                )
            ]
        )]
    )
);

// --- WS-Discovery ------------------------------------------------------------------------------

report!(
    debugger_without_a_discovery_answer_on_the_link,
    with(
        disc(DiscoveryStatus::NoReply, eth0(), WSDD_ID, &[]),
        vec![(4026, open())]
    )
);
report!(
    debugger_without_a_discovery_answer_off_the_link,
    with(
        disc(DiscoveryStatus::NoReply, Reach::OffLink, WSDD_ID, &[]),
        vec![(4026, open())]
    )
);
report!(
    debugger_without_a_discovery_answer_by_unicast,
    with(
        disc(
            DiscoveryStatus::NoReply,
            Reach::OnLink {
                interface: "tun0".into(),
                index: 3,
                multicast: false,
            },
            WSDD_ID,
            &[]
        ),
        vec![(4026, open())]
    )
);
report!(
    this_machine_without_a_discovery_answer_or_debugger,
    with(
        disc(DiscoveryStatus::NoReply, Reach::ThisMachine, WSDD_ID, &[]),
        vec![]
    )
);
report!(
    closed_udp_3702_beside_a_debugger,
    with(
        {
            let mut o = disc(DiscoveryStatus::Closed, eth0(), WSDD_ID, &[]);
            o.addresses[0].icmp = port_unreachable_3702();
            o
        },
        vec![(4026, open())]
    )
);
report!(
    closed_udp_3702_without_a_debugger,
    with(
        {
            let mut o = disc(DiscoveryStatus::Closed, eth0(), WSDD_ID, &[]);
            o.addresses[0].icmp = port_unreachable_3702();
            o
        },
        vec![]
    )
);
report!(
    closed_udp_3702_off_the_link,
    with(
        {
            let mut o = disc(DiscoveryStatus::Closed, Reach::OffLink, WSDD_ID, &[]);
            o.addresses[0].icmp = port_unreachable_3702();
            o
        },
        vec![(4026, open())]
    )
);
report!(
    rejected_udp_3702_off_the_link,
    with(
        {
            let mut o = disc(DiscoveryStatus::Rejected, Reach::OffLink, WSDD_ID, &[]);
            o.addresses[0].icmp = admin_prohibited_3702("10.0.0.1");
            o
        },
        vec![(4026, open())]
    )
);
report!(
    rejected_udp_3702_on_the_link_without_a_debugger,
    with(
        {
            let mut o = disc(DiscoveryStatus::Rejected, eth0(), WSDD_ID, &[]);
            o.addresses[0].icmp = admin_prohibited_3702("10.0.0.5");
            o
        },
        vec![]
    )
);
report!(
    a_windows_computer_answering_without_a_debugger,
    with(
        disc(DiscoveryStatus::Answered, eth0(), WSDD_ID, &[samples::WSDD]),
        vec![]
    )
);
report!(
    a_windows_computer_answering_beside_a_debugger,
    with(
        disc(DiscoveryStatus::Answered, eth0(), WSDD_ID, &[samples::WSDD]),
        vec![(4026, open())]
    )
);
report!(
    windows_function_discovery_beside_a_debugger,
    with(
        disc(
            DiscoveryStatus::Answered,
            eth0(),
            samples::WINDOWS_PROBE_ID,
            &[samples::WINDOWS_COMPUTER]
        ),
        vec![(4026, open())]
    )
);
report!(
    an_unknown_service_answering_beside_a_debugger,
    with(
        disc(
            DiscoveryStatus::Answered,
            eth0(),
            PYTHON_ID,
            &[samples::PYTHON_WSDISCOVERY]
        ),
        vec![(4026, open())]
    )
);
report!(
    an_empty_answer_without_a_debugger,
    with(
        disc(
            DiscoveryStatus::NoMatch,
            eth0(),
            PYTHON_ID,
            &[samples::EMPTY_MATCHES]
        ),
        vec![]
    )
);
report!(
    the_stand_in_beside_its_ports,
    with(
        disc(
            DiscoveryStatus::Answered,
            eth0(),
            WSDD_ID,
            &[&stand_in_reply()]
        ),
        vec![(4026, open())]
    )
);
report!(
    the_stand_in_with_its_ports_dropped,
    with(
        disc(
            DiscoveryStatus::Answered,
            eth0(),
            WSDD_ID,
            &[&stand_in_reply()]
        ),
        every_port(silent())
    )
);
report!(
    discovery_that_could_not_send,
    with(
        {
            let mut o = disc(DiscoveryStatus::Failed, eth0(), WSDD_ID, &[]);
            o.error = Some("cannot open a UDP socket (IPv4): Permission denied".into());
            o
        },
        vec![(4026, open())]
    )
);

/// `--discover`: each machine once with its verdict, its replies (a dual-stack machine's two
/// answers as one block), where to attach, its problems and warnings; at 80 and 120 columns.
#[test]
fn discover_report() {
    let computer = with(
        disc(DiscoveryStatus::Answered, eth0(), WSDD_ID, &[samples::WSDD]),
        vec![(4025, open())],
    );
    // The same endpoint answering from its IPv4 and its IPv6 address: one machine.
    let debugger = {
        let mut d = disc(DiscoveryStatus::Answered, eth0(), WSDD_ID, &[samples::WSDD]);
        let mut v6 = d.responders[0].clone();
        v6.source = "[fd00::5]:3702".parse().unwrap();
        d.responders.push(v6);
        let mut o = host(
            "10.0.0.5",
            &[
                ("10.0.0.5", vec![(4024, open())]),
                ("fd00::5", vec![(4024, open())]),
            ],
        );
        o.discovery = Some(d);
        o
    };
    let hosts: Vec<(HostObservation, Diagnosis)> = [computer, debugger]
        .into_iter()
        .map(|o| {
            let d = diagnose(&o);
            (o, d)
        })
        .collect();
    let found = DiscoverRun {
        interfaces: vec![Interface {
            name: "eth0".into(),
            index: 2,
            up: true,
            loopback: false,
            multicast: true,
            addrs: vec![IfAddr {
                ip: "10.0.0.2".parse::<IpAddr>().unwrap(),
                prefix: 24,
            }],
        }],
        routes: vec![],
        responders: vec![],
        ignored: Default::default(),
        wait: Duration::from_secs(3),
        elapsed: Duration::from_secs(3),
    };
    for columns in [80, 120] {
        let mut out = Vec::new();
        super::discover::write(&mut out, &run_info(true), &found, &hosts, Some(columns)).unwrap();
        let out = anstream::adapter::strip_str(&String::from_utf8(out).unwrap()).to_string();
        for l in out.lines() {
            assert!(l.chars().count() <= columns, "over {columns}: {l:?}");
        }
        insta::assert_snapshot!(format!("discover_{columns}"), out);
    }
}
