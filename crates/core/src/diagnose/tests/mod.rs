//! The rules, scenario by scenario, asserted on the structured findings: codes, severities,
//! addresses, ports and evidence. The sentences are the reports' (snapshots in the binary's
//! `src/report/snapshots/`, one per scenario here). The WS-Discovery ones are in [`discovery`].

use std::net::IpAddr;
use std::time::Duration;

mod discovery;
mod windows;

use super::*;
use crate::fixtures::{every_port, host, icmp, open};
use crate::platform::IcmpReport;
use crate::probe::{Attempt, Greeting};
use crate::target::Address;

fn codes(d: &Diagnosis) -> Vec<Code> {
    d.findings.iter().map(|f| f.code).collect()
}

fn finding(d: &Diagnosis, c: Code) -> &Finding {
    d.findings
        .iter()
        .find(|f| f.code == c)
        .unwrap_or_else(|| panic!("no {c:?} in {:#?}", d.findings))
}

fn ports(ps: &[u16]) -> Vec<Port> {
    ps.iter().copied().map(Port).collect()
}

fn addr(s: &str) -> Address {
    Address::new(s.parse().unwrap())
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

/// Main ports of the default plan: what a firewall rule for every release would open.
const MAINS: [u16; 6] = [4016, 4018, 4020, 4022, 4024, 4026];

#[test]
fn open_4026_is_reported_as_2022_or_2026_never_just_2022() {
    let d = diagnose(&host("devbox", &[("10.0.0.5", vec![(4026, open())])]));
    assert_eq!(d.verdict.status, Status::Reachable);
    assert_eq!(d.verdict.wow64_port, None);
    assert_eq!(d.verdict.endpoints[0].releases, ["2022", "2026"]);
    assert_eq!(d.verdict.endpoints[0].attach_as, "devbox:4026");
    let f = finding(&d, Code::DebuggerReachable);
    assert_eq!(
        (f.severity, f.address, &f.ports),
        (Severity::Ok, Some(addr("10.0.0.5")), &ports(&[4026]))
    );
    assert_eq!(
        f.evidence,
        Evidence::DebuggerReachable {
            attach_as: "devbox:4026".into()
        }
    );
    // Other releases' closed ports are information, not problems, once one answers.
    let f = finding(&d, Code::Closed);
    assert_eq!(f.severity, Severity::Info);
    assert_eq!(f.ports, ports(&[4016, 4018, 4020, 4022, 4024]));
    assert_eq!(
        f.evidence,
        Evidence::Closed {
            debugger_here: true,
            matter: vec![],
        }
    );
    assert!(f.is_routine());
    assert!(codes(&d).contains(&Code::BeyondTheNetwork));
    assert_eq!(
        codes(&d),
        [
            Code::DebuggerReachable,
            Code::Closed,
            Code::Wow64Closed,
            Code::BeyondTheNetwork
        ],
        "good news first, then the rest in the rules' order"
    );
}

#[test]
fn all_closed_is_a_problem_that_names_the_ports() {
    let d = diagnose(&host("10.0.0.5", &[("10.0.0.5", vec![])]));
    assert_eq!(d.verdict.status, Status::NotReachable);
    let f = finding(&d, Code::Closed);
    assert_eq!(f.severity, Severity::Problem);
    assert_eq!(f.ports, ports(&MAINS));
    assert_eq!(
        f.evidence,
        Evidence::Closed {
            debugger_here: false,
            matter: ports(&[4026]),
        },
        "advice names the newest release's port, not every release's"
    );
    let f = finding(&d, Code::Wow64Closed);
    assert_eq!(f.severity, Severity::Info);
    assert_eq!(f.ports, ports(&[4017, 4019, 4021, 4023, 4025, 4040]));
}

#[test]
fn filtered_main_port_on_a_live_host_asks_for_the_firewall_rule() {
    let d = diagnose(&host(
        "10.0.0.5",
        &[("10.0.0.5", vec![(4026, Attempt::NoResponse)])],
    ));
    let f = finding(&d, Code::Filtered);
    assert_eq!(f.severity, Severity::Problem);
    assert_eq!(f.address, Some(addr("10.0.0.5")));
    assert_eq!(f.ports, ports(&[4026]), "the ports the rule opens");
    assert_eq!(
        f.evidence,
        Evidence::Filtered {
            attempts: 1,
            host_up: true,
            matter: ports(&[4026]),
        }
    );
}

#[test]
fn a_filtered_port_beside_the_debugger_is_still_a_warning() {
    let d = diagnose(&host(
        "10.0.0.5",
        &[(
            "10.0.0.5",
            vec![
                (4024, open()),
                (4026, Attempt::NoResponse),
                (4025, Attempt::NoResponse),
            ],
        )],
    ));
    assert_eq!(finding(&d, Code::Filtered).severity, Severity::Warning);
    let f = finding(&d, Code::Wow64Filtered);
    assert_eq!((f.severity, &f.ports), (Severity::Info, &ports(&[4025])));
}

#[test]
fn a_silent_host_gets_one_finding_not_one_per_port() {
    let d = diagnose(&host(
        "10.0.0.5",
        &[("10.0.0.5", every_port(Attempt::NoResponse))],
    ));
    assert_eq!(codes(&d), [Code::HostSilent]);
    let f = &d.findings[0];
    assert_eq!(f.severity, Severity::Problem);
    assert_eq!(f.ports.len(), 12);
    assert_eq!(
        f.evidence,
        Evidence::HostSilent {
            attempts: 1,
            answered_discovery: false,
            main_ports: ports(&[4026]),
        }
    );
}

#[test]
fn greeting_on_4026_is_not_the_debugger() {
    let ssh = Attempt::Accepted {
        rtt: Duration::from_micros(300),
        greeting: Some(Greeting::identify(b"SSH-2.0-OpenSSH_9.2\r\n")),
    };
    let d = diagnose(&host("10.0.0.5", &[("10.0.0.5", vec![(4026, ssh)])]));
    assert_eq!(d.verdict.status, Status::NotReachable);
    let f = finding(&d, Code::NotTheDebugger);
    assert_eq!(
        f.severity,
        Severity::Problem,
        "another program on the port that matters blocks the attach"
    );
    assert_eq!(d.findings[0].code, Code::NotTheDebugger, "the cause first");
    assert_eq!(f.ports, ports(&[4026]));
    let Evidence::NotTheDebugger { greeting } = &f.evidence else {
        panic!("{f:?}")
    };
    assert_eq!(greeting.text, "SSH-2.0-OpenSSH_9.2\\r\\n");
    assert_eq!(greeting.protocol, Some("ssh"));
}

#[test]
fn release_mismatch_when_only_an_older_release_answers() {
    let d = diagnose(&host("10.0.0.5", &[("10.0.0.5", vec![(4024, open())])]));
    let f = finding(&d, Code::ReleaseMismatch);
    assert_eq!(f.severity, Severity::Warning);
    assert_eq!(f.ports, ports(&[4026]), "the closed newer port");
    let Evidence::ReleaseMismatch {
        newest,
        newest_ports,
        wanted: None,
    } = &f.evidence
    else {
        panic!("{f:?}")
    };
    assert_eq!((newest.key, newest_ports), ("2019", &ports(&[4024])));
    assert!(
        !codes(&diagnose(&host("x", &[("10.0.0.5", vec![(4026, open())])])))
            .contains(&Code::ReleaseMismatch)
    );
}

fn ide(key: &str) -> Option<Ide> {
    Some(Ide {
        release: Release::find_ide(key).unwrap(),
        assumed: false,
    })
}

/// The host: only the VS 2019 monitor runs (4024 and its WoW64 4025 open), 4026 is
/// dropped, the older releases refuse.
fn only_2019_with_4026_dropped() -> HostObservation {
    host(
        "devbox",
        &[(
            "10.0.0.5",
            vec![(4024, open()), (4025, open()), (4026, Attempt::NoResponse)],
        )],
    )
}

#[test]
fn a_2022_ide_on_a_2019_only_host_is_a_release_mismatch() {
    let d = diagnose_for(&only_2019_with_4026_dropped(), ide("2022"));
    assert_eq!(
        d.verdict.status,
        Status::NotReachable,
        "VS 2022 cannot attach"
    );
    assert!(d.verdict.endpoints.is_empty());
    let v = d.verdict.ide.as_ref().unwrap();
    assert_eq!(
        (v.port, v.state, v.other.map(|(r, p)| (r.key, p))),
        (
            Port(4026),
            Some(PortState::Filtered),
            Some(("2019", Port(4024)))
        )
    );
    let f = &d.findings[0];
    assert_eq!(
        (f.code, f.severity),
        (Code::ReleaseMismatch, Severity::Problem)
    );
    assert_eq!(f.ports, ports(&[4026]));
    assert_eq!(
        f.evidence,
        Evidence::ReleaseMismatch {
            newest: Release::find("2019").unwrap(),
            newest_ports: ports(&[4024, 4025]),
            wanted: Release::find("2022"),
        }
    );
    // The firewall advice names 4026 alone, never every release's port.
    let Evidence::Filtered { matter, .. } = &finding(&d, Code::Filtered).evidence else {
        panic!()
    };
    assert_eq!(matter, &ports(&[4026]));
    assert!(finding(&d, Code::Closed).is_routine());
}

#[test]
fn without_an_ide_a_dropped_newer_port_is_a_mismatch_too() {
    let d = diagnose(&only_2019_with_4026_dropped());
    assert_eq!(d.verdict.status, Status::Reachable);
    let f = finding(&d, Code::ReleaseMismatch);
    assert_eq!((f.severity, &f.ports), (Severity::Warning, &ports(&[4026])));
    let Evidence::Filtered { matter, .. } = &finding(&d, Code::Filtered).evidence else {
        panic!()
    };
    assert_eq!(matter, &ports(&[4026]), "not 4016-4022");
}

#[test]
fn the_users_release_reachable_is_no_mismatch() {
    let d = diagnose_for(&only_2019_with_4026_dropped(), ide("2019"));
    assert_eq!(d.verdict.status, Status::Reachable);
    assert!(!codes(&d).contains(&Code::ReleaseMismatch));
    let v = d.verdict.ide.as_ref().unwrap();
    assert_eq!((v.port, v.other), (Port(4024), None));
    // A newer IDE's closed port is no problem of the user's.
    assert!(d.findings.iter().all(|f| f.severity != Severity::Problem));
}

#[test]
fn the_users_port_closed_with_nothing_else_answering() {
    let d = diagnose_for(&host("10.0.0.5", &[("10.0.0.5", vec![])]), ide("2019"));
    assert_eq!(d.verdict.status, Status::NotReachable);
    let f = finding(&d, Code::Closed);
    assert_eq!(f.severity, Severity::Problem);
    assert_eq!(
        f.evidence,
        Evidence::Closed {
            debugger_here: false,
            matter: ports(&[4024]),
        }
    );
    assert_eq!(
        d.verdict.ide.as_ref().unwrap().state,
        Some(PortState::Closed)
    );
}

#[test]
fn only_wow64_open_is_its_own_verdict() {
    let d = diagnose(&host(
        "10.0.0.5",
        &[(
            "10.0.0.5",
            vec![(4025, open()), (4026, Attempt::NoResponse)],
        )],
    ));
    assert_eq!(d.verdict.status, Status::Wow64Only);
    assert_eq!(
        d.verdict.wow64_port,
        Some(Port(4025)),
        "what the summary names"
    );
    assert!(d.verdict.endpoints.is_empty());
    let f = finding(&d, Code::OnlyWow64);
    assert_eq!((f.severity, &f.ports), (Severity::Problem, &ports(&[4025])));
    // 4026 did not refuse: its firewall rule is the advice.
    assert_eq!(
        f.evidence,
        Evidence::OnlyWow64 {
            main_ports: ports(&[4024, 4026]),
            blocked_mains: ports(&[4026]),
            unprobed_mains: vec![],
        }
    );
}

/// `--release 2022` on a host that runs only the VS 2019 monitor with 4026 dropped: 4025 is
/// 2019's WoW64 port too, and 4024 was not probed, so it is no sign of a 2022 monitor.
#[test]
fn a_shared_wow64_port_names_the_release_left_unprobed() {
    let d = diagnose(
        &crate::fixtures::observe("10.0.0.5")
            .releases(&["2022"])
            .address(
                "10.0.0.5",
                vec![(4025, open()), (4026, Attempt::NoResponse)],
            )
            .build(),
    );
    let f = finding(&d, Code::OnlyWow64);
    assert_eq!(
        f.evidence,
        Evidence::OnlyWow64 {
            main_ports: ports(&[4026]),
            blocked_mains: ports(&[4026]),
            unprobed_mains: ports(&[4024]),
        }
    );
}

/// A refused main port is not a firewall: nothing listens there, so the advice is to find
/// the port the monitor really uses, not to open one.
#[test]
fn only_wow64_open_with_the_main_port_refused_points_at_another_port() {
    let d = diagnose(&host("10.0.0.5", &[("10.0.0.5", vec![(4025, open())])]));
    assert_eq!(d.verdict.status, Status::Wow64Only);
    let f = finding(&d, Code::OnlyWow64);
    assert_eq!(
        f.evidence,
        Evidence::OnlyWow64 {
            main_ports: ports(&[4024, 4026]),
            blocked_mains: vec![],
            unprobed_mains: vec![],
        },
        "no main port to open, no claim that a monitor runs"
    );
}

#[test]
fn side_by_side_2019_and_2022_warns_about_4025() {
    let d = diagnose(&host(
        "10.0.0.5",
        &[("10.0.0.5", vec![(4024, open()), (4026, open())])],
    ));
    let f = finding(&d, Code::Wow64Conflict);
    assert_eq!(f.severity, Severity::Warning);
    assert_eq!(f.ports, ports(&[4024, 4026, 4025]));
    assert_eq!(f.evidence, Evidence::Wow64Conflict);
}

#[test]
fn app_service_points_at_4024() {
    let d = diagnose(&host("myapp.azurewebsites.net", &[("20.1.2.3", vec![])]));
    let f = finding(&d, Code::AppService);
    assert_eq!(
        (f.severity, f.address, &f.ports),
        (Severity::Warning, None, &ports(&[4024]))
    );
    assert_eq!(
        f.evidence,
        Evidence::AppService {
            debugger_on_4024: false
        }
    );
    // Azure is the supported internet scenario: no public-address warning.
    assert!(!codes(&d).contains(&Code::PublicAddress));
}

#[test]
fn public_addresses_are_warned_about() {
    let d = diagnose(&host("20.1.2.3", &[("20.1.2.3", vec![(4026, open())])]));
    let f = finding(&d, Code::PublicAddress);
    assert_eq!(
        (f.severity, f.address, &f.evidence),
        (
            Severity::Warning,
            Some(addr("20.1.2.3")),
            &Evidence::PublicAddress
        )
    );
    let d = diagnose(&host("10.1.2.3", &[("10.1.2.3", vec![(4026, open())])]));
    assert!(!codes(&d).contains(&Code::PublicAddress));
}

#[test]
fn names_with_addresses_that_disagree_get_the_working_one() {
    let d = diagnose(&host(
        "devbox",
        &[
            ("10.0.0.5", vec![(4026, open())]),
            ("10.0.0.6", vec![(4026, Attempt::NoResponse)]),
        ],
    ));
    let f = finding(&d, Code::MixedAddresses);
    assert_eq!((f.severity, f.address), (Severity::Warning, None));
    assert_eq!(
        f.evidence,
        Evidence::MixedAddresses {
            answering: vec![(addr("10.0.0.5"), Port(4026))],
            not_answering: vec![addr("10.0.0.6")],
        }
    );
    // Not on every address: the endpoint is the address, not the name.
    assert_eq!(d.verdict.endpoints[0].attach_as, "10.0.0.5:4026");
    let same = diagnose(&host(
        "devbox",
        &[
            ("10.0.0.5", vec![(4026, open())]),
            ("10.0.0.6", vec![(4026, open())]),
        ],
    ));
    assert!(!codes(&same).contains(&Code::MixedAddresses));
    assert_eq!(same.verdict.endpoints[1].attach_as, "devbox:4026");
}

#[test]
fn icmp_rejections_name_kind_and_sender() {
    let d = diagnose(&host(
        "10.0.0.5",
        &[("10.0.0.5", vec![(4026, icmp(13, "10.0.0.1"))])],
    ));
    let f = finding(&d, Code::Rejected);
    assert_eq!((f.severity, &f.ports), (Severity::Problem, &ports(&[4026])));
    assert_eq!(
        f.evidence,
        Evidence::Rejected {
            reason: Reason::IcmpAdminProhibited,
            from: Some(ip("10.0.0.1")),
            matter: ports(&[4026]),
        }
    );
}

#[test]
fn rejections_are_grouped_by_kind_and_sender() {
    let d = diagnose(&host(
        "10.0.0.5",
        &[(
            "10.0.0.5",
            vec![
                (4026, icmp(13, "10.0.0.1")),
                (4024, icmp(3, "10.0.0.5")),
                (4025, icmp(3, "10.0.0.5")),
            ],
        )],
    ));
    let groups: Vec<(&Vec<Port>, &Evidence)> = d
        .findings
        .iter()
        .filter(|f| f.code == Code::Rejected)
        .map(|f| (&f.ports, &f.evidence))
        .collect();
    assert_eq!(
        groups,
        [
            (
                &ports(&[4026]),
                &Evidence::Rejected {
                    reason: Reason::IcmpAdminProhibited,
                    from: Some(ip("10.0.0.1")),
                    matter: ports(&[4026]),
                }
            ),
            (
                &ports(&[4024, 4025]),
                &Evidence::Rejected {
                    reason: Reason::IcmpPortUnreachable,
                    from: Some(ip("10.0.0.5")),
                    matter: vec![],
                }
            ),
        ]
    );
}

#[test]
fn rejections_mixed_with_silence_suggest_icmp_rate_limiting() {
    let d = diagnose(&host(
        "10.0.0.5",
        &[(
            "10.0.0.5",
            vec![
                (4026, icmp(3, "10.0.0.5")),
                (4024, icmp(3, "10.0.0.5")),
                (4022, Attempt::NoResponse),
            ],
        )],
    ));
    let f = finding(&d, Code::IcmpRateLimited);
    assert_eq!(f.ports, [Port(4022)]);
    assert_eq!(f.severity, Severity::Problem, "4022 is a main port");
    assert_eq!(
        f.evidence,
        Evidence::IcmpRateLimited {
            rejected: ports(&[4024, 4026]),
            senders: vec![ip("10.0.0.5")],
        }
    );
    assert!(
        !codes(&d).contains(&Code::Filtered),
        "the silent ports are not called dropped next to it"
    );
    let only_rejects = diagnose(&host(
        "10.0.0.5",
        &[("10.0.0.5", vec![(4026, icmp(3, "10.0.0.5"))])],
    ));
    assert!(!codes(&only_rejects).contains(&Code::IcmpRateLimited));
}

/// Whether a finding says the host is up.
fn claims_host_up(f: &Finding) -> bool {
    matches!(
        f.evidence,
        Evidence::Filtered { host_up: true, .. }
            | Evidence::HostSilent {
                answered_discovery: true,
                ..
            }
    )
}

#[test]
fn a_routers_icmp_does_not_make_a_host_up() {
    let mut states = every_port(Attempt::NoResponse);
    states.retain(|(p, _)| *p != 4026);
    states.push((4026, icmp(13, "10.0.0.1")));
    let d = diagnose(&host("10.0.0.5", &[("10.0.0.5", states)]));
    let f = finding(&d, Code::IcmpRateLimited);
    assert_eq!(
        f.evidence,
        Evidence::IcmpRateLimited {
            rejected: ports(&[4026]),
            senders: vec![ip("10.0.0.1")],
        }
    );
    assert!(!d.findings.iter().any(claims_host_up), "{:#?}", d.findings);
}

#[test]
fn app_service_hosts_get_no_release_mismatch() {
    let d = diagnose(&host(
        "myapp.azurewebsites.net",
        &[("10.0.0.5", vec![(4024, open())])],
    ));
    assert!(
        !codes(&d).contains(&Code::ReleaseMismatch),
        "{:#?}",
        d.findings
    );
    // The verdict names the App Service, not VS 2019.
    assert_eq!(d.verdict.status, Status::Reachable);
    assert_eq!(d.verdict.endpoints[0].releases, ["app-service"]);
    assert_eq!(
        finding(&d, Code::AppService).evidence,
        Evidence::AppService {
            debugger_on_4024: true
        }
    );
}

#[test]
fn dead_address_on_the_link_is_no_host() {
    let arp_failed = Attempt::Icmp {
        rtt: Duration::from_secs(1),
        report: IcmpReport {
            v6: false,
            icmp_type: 3,
            code: 1,
            offender: Some(ip("10.0.0.2")),
        },
        local: Some(ip("10.0.0.2")),
    };
    let d = diagnose(&host("10.0.0.9", &[("10.0.0.9", every_port(arp_failed))]));
    assert_eq!(d.verdict.status, Status::NotReachable);
    let f = finding(&d, Code::NoHost);
    assert_eq!((f.severity, f.ports.len()), (Severity::Problem, 12));
    assert_eq!(
        f.evidence,
        Evidence::NoHost {
            reason: Reason::NeighbourUnreachable,
            from: Some(ip("10.0.0.2")),
            every_port: true,
        },
        "this machine's own neighbour discovery failed"
    );
}

#[test]
fn a_router_reporting_the_host_unreachable_is_named() {
    let d = diagnose(&host(
        "10.0.0.9",
        &[("10.0.0.9", every_port(icmp(1, "10.0.0.1")))],
    ));
    assert_eq!(
        finding(&d, Code::NoHost).evidence,
        Evidence::NoHost {
            reason: Reason::IcmpHostUnreachable,
            from: Some(ip("10.0.0.1")),
            every_port: true,
        }
    );
}

#[test]
fn unresolved_names_are_a_finding() {
    let o = host("ghost.local", &[]);
    let d = diagnose(&o);
    assert_eq!(d.verdict.status, Status::Unresolved);
    assert_eq!(d.verdict.host, Host::Name("ghost.local".into()));
    assert_eq!(codes(&d), [Code::Unresolved]);
    let f = finding(&d, Code::Unresolved);
    assert_eq!((f.severity, f.address), (Severity::Problem, None));
    assert_eq!(f.evidence, Evidence::Unresolved { mdns: true });
    let d = diagnose(&host("ghost", &[]));
    assert_eq!(
        finding(&d, Code::Unresolved).evidence,
        Evidence::Unresolved { mdns: false }
    );
}

#[test]
fn custom_port_open_is_reachable_and_labelled_custom() {
    let d = diagnose(&host("devbox:4567", &[("10.0.0.5", vec![(4567, open())])]));
    assert_eq!(d.verdict.status, Status::Reachable);
    let e = &d.verdict.endpoints[0];
    assert!(e.custom && e.releases.is_empty());
    assert_eq!(e.port, Port(4567));
    assert_eq!(e.label, "custom port (msvsmon /port)");
}

#[test]
fn local_errors_never_read_as_closed() {
    let emfile = Attempt::Local {
        kind: crate::platform::ConnectErrorKind::NoFileDescriptors,
        error: "Too many open files".into(),
    };
    let d = diagnose(&host("10.0.0.5", &[("10.0.0.5", every_port(emfile))]));
    assert_eq!(d.verdict.status, Status::Incomplete);
    let f = finding(&d, Code::LocalError);
    assert_eq!((f.severity, f.ports.len()), (Severity::Warning, 12));
    assert_eq!(
        f.evidence,
        Evidence::LocalError {
            reason: Reason::NoFileDescriptors
        }
    );
    assert!(!codes(&d).contains(&Code::Closed));
}

/// An interrupted run's undecided ports are named, and with nothing reachable the verdict is
/// incomplete: nothing is claimed about them.
#[test]
fn undecided_ports_are_a_warning_and_never_read_as_closed() {
    let mut o = host("10.0.0.5", &[("10.0.0.5", vec![])]);
    for p in &mut o.addresses[0].ports {
        if p.planned.port.0 == 4026 {
            p.result = crate::probe::PortResult::undecided(1);
        }
    }
    let d = diagnose(&o);
    assert_eq!(d.verdict.status, Status::Incomplete);
    let f = finding(&d, Code::Undecided);
    assert_eq!(
        (f.severity, &f.ports[..]),
        (Severity::Warning, &[Port(4026)][..])
    );
    assert!(!finding(&d, Code::Closed).ports.contains(&Port(4026)));
}
