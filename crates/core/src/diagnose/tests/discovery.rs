//! The WS-Discovery rules: what answered, or why nothing did, beside the ports' verdict.

use std::time::Duration;

use super::{addr, codes, every_port, finding, host, ip, open};
use crate::diagnose::*;
use crate::discovery::{
    samples, DebuggerHint, DiscoveryObservation, DiscoveryStatus, ProbeKind, Reach, RouteKind,
    Version,
};
use crate::fixtures::{discovery as disc, eth0};
use crate::probe::{Attempt, IcmpDetail, IcmpKind};

fn with(d: DiscoveryObservation, ports: Vec<(u16, Attempt)>) -> Diagnosis {
    let mut o = host("devbox", &[("10.0.0.5", ports)]);
    o.discovery = Some(d);
    diagnose(&o)
}

const WSDD_ID: &str = "urn:uuid:5a4f0a53-1c1e-4d9f-9a3a-0c8f2b6e7d11";

fn d_icmp() -> Option<IcmpDetail> {
    Some(IcmpDetail {
        kind: IcmpKind::PortUnreachable,
        icmp_type: 3,
        code: 3,
        v6: false,
        from: Some(ip("10.0.0.5")),
    })
}

#[test]
fn an_open_debugger_without_a_discovery_answer_is_missing_from_find() {
    let d = with(
        disc(DiscoveryStatus::NoReply, eth0(), WSDD_ID, &[]),
        vec![(4026, open())],
    );
    assert_eq!(
        d.verdict.status,
        Status::Reachable,
        "discovery never decides the verdict"
    );
    let f = finding(&d, Code::NotDiscoverable);
    assert_eq!(f.severity, Severity::Warning);
    assert_eq!(
        f.evidence,
        Evidence::NotDiscoverable {
            why: DiscoverySilence::NoAnswer {
                multicast: true,
                wait: Duration::from_secs(3)
            },
            off_link: false,
            attach_as: "devbox:4026".into(),
        }
    );
}

#[test]
fn off_the_link_no_answer_is_expected_and_says_why() {
    let d = with(
        disc(DiscoveryStatus::NoReply, Reach::OffLink, WSDD_ID, &[]),
        vec![(4026, open())],
    );
    let f = finding(&d, Code::NotDiscoverable);
    assert_eq!(f.severity, Severity::Info);
    let Evidence::NotDiscoverable { why, off_link, .. } = &f.evidence else {
        panic!("{f:?}")
    };
    assert_eq!((why, *off_link), (&DiscoverySilence::OffLink, true));
}

#[test]
fn a_closed_udp_3702_is_named() {
    let mut o = disc(DiscoveryStatus::Closed, eth0(), WSDD_ID, &[]);
    o.addresses[0].icmp = d_icmp();
    let d = with(o, vec![(4026, open())]);
    let f = finding(&d, Code::NotDiscoverable);
    let Evidence::NotDiscoverable { why, .. } = &f.evidence else {
        panic!("{f:?}")
    };
    assert_eq!(
        why,
        &DiscoverySilence::Closed {
            address: addr("10.0.0.5")
        }
    );
    // Without a debugger the same is a note, not a warning.
    let mut o = disc(DiscoveryStatus::Closed, eth0(), WSDD_ID, &[]);
    o.addresses[0].icmp = d_icmp();
    let d = with(o, vec![]);
    let f = finding(&d, Code::NoDiscoveryAnswer);
    assert_eq!(f.severity, Severity::Info);
    let Evidence::NoDiscoveryAnswer { inconclusive, .. } = &f.evidence else {
        panic!("{f:?}")
    };
    assert!(!inconclusive, "closed is an answer");
}

#[test]
fn off_the_link_a_closed_or_rejected_udp_3702_is_expected_too() {
    // A host one router away never shows in Find from here, whatever its UDP 3702 does:
    // a closed or rejected port is worth knowing, not a warning (seen in the lab: wsdd behind
    // the router, probed at an address its sockets are not bound to).
    for status in [DiscoveryStatus::Closed, DiscoveryStatus::Rejected] {
        let mut o = disc(status, Reach::OffLink, WSDD_ID, &[]);
        o.addresses[0].icmp = d_icmp();
        if status == DiscoveryStatus::Rejected {
            o.addresses[0].icmp.as_mut().unwrap().kind = IcmpKind::AdminProhibited;
        }
        let d = with(o, vec![(4026, open())]);
        let f = finding(&d, Code::NotDiscoverable);
        assert_eq!(f.severity, Severity::Info, "{status:?}: {f:?}");
        let Evidence::NotDiscoverable { why, off_link, .. } = &f.evidence else {
            panic!("{f:?}")
        };
        assert!(*off_link, "{f:?}");
        assert!(
            matches!(
                why,
                DiscoverySilence::Closed { .. } | DiscoverySilence::Rejected { .. }
            ),
            "{f:?}"
        );
    }
    // On the link the same is a warning.
    let mut o = disc(DiscoveryStatus::Closed, eth0(), WSDD_ID, &[]);
    o.addresses[0].icmp = d_icmp();
    let d = with(o, vec![(4026, open())]);
    let f = finding(&d, Code::NotDiscoverable);
    assert_eq!(f.severity, Severity::Warning);
    let Evidence::NotDiscoverable { off_link, .. } = &f.evidence else {
        panic!("{f:?}")
    };
    assert!(!off_link);
}

#[test]
fn this_machine_without_an_answer_is_inconclusive() {
    let d = with(
        disc(DiscoveryStatus::NoReply, Reach::ThisMachine, WSDD_ID, &[]),
        vec![],
    );
    assert_eq!(
        finding(&d, Code::NoDiscoveryAnswer).evidence,
        Evidence::NoDiscoveryAnswer {
            why: DiscoverySilence::ThisMachine,
            off_link: false,
            inconclusive: true,
        }
    );
}

#[test]
fn a_windows_computer_answering_proves_a_responder_not_the_debugger() {
    let answered = || disc(DiscoveryStatus::Answered, eth0(), WSDD_ID, &[samples::WSDD]);
    assert_eq!(
        answered().responders[0].classification.kind,
        crate::discovery::ResponderKind::Computer,
        "pub:Computer"
    );
    let d = with(answered(), vec![]);
    assert_eq!(d.verdict.status, Status::NotReachable);
    let f = finding(&d, Code::DiscoveryWithoutDebugger);
    assert_eq!(f.severity, Severity::Info);
    assert_eq!(
        f.evidence,
        Evidence::DiscoveryWithoutDebugger {
            responders: vec![0],
            hint: DebuggerHint::Nothing,
        },
        "what msvsmon sends is not public: nothing points at it"
    );
    let d = with(answered(), vec![(4026, open())]);
    let f = finding(&d, Code::DiscoveryAnswered);
    assert_eq!(
        f.evidence,
        Evidence::DiscoveryAnswered {
            responders: vec![0],
            hint: DebuggerHint::Nothing,
            attach_as: "devbox:4026".into(),
        }
    );
    assert!(!codes(&d).contains(&Code::NotDiscoverable));
}

#[test]
fn the_stand_in_is_called_the_stand_in() {
    let mut si = crate::discovery::responder::StandIn::new(1);
    let probe = crate::discovery::message::Probe {
        message_id: WSDD_ID.into(),
        version: Version::V2005,
        kind: ProbeKind::Device,
    };
    let crate::discovery::responder::Answer::Reply { xml, .. } = si.answer(
        probe.to_xml().as_bytes(),
        ip("10.0.0.9"),
        RouteKind::Unicast,
    ) else {
        panic!()
    };
    let d = with(
        disc(DiscoveryStatus::Answered, eth0(), WSDD_ID, &[&xml]),
        vec![(4026, open())],
    );
    assert_eq!(
        finding(&d, Code::StandIn).evidence,
        Evidence::StandIn {
            responder: ip("10.0.0.5"),
            debugger_ports_open: true,
        }
    );
    assert!(!codes(&d).contains(&Code::DiscoveryAnswered));
    // Its ports dropped: the stand-in answered, so the silent host is up.
    let d = with(
        disc(DiscoveryStatus::Answered, eth0(), WSDD_ID, &[&xml]),
        every_port(Attempt::NoResponse),
    );
    assert_eq!(
        finding(&d, Code::StandIn).evidence,
        Evidence::StandIn {
            responder: ip("10.0.0.5"),
            debugger_ports_open: false,
        }
    );
    let Evidence::HostSilent {
        answered_discovery, ..
    } = finding(&d, Code::HostSilent).evidence
    else {
        panic!()
    };
    assert!(answered_discovery);
}

#[test]
fn a_discovery_that_could_not_send_says_so_and_nothing_about_the_host() {
    let mut o = disc(DiscoveryStatus::Failed, eth0(), WSDD_ID, &[]);
    o.error = Some("cannot open a UDP socket (IPv4): Permission denied".into());
    let d = with(o, vec![(4026, open())]);
    let f = finding(&d, Code::DiscoveryFailed);
    assert_eq!(
        (f.severity, f.address, &f.evidence),
        (Severity::Warning, None, &Evidence::DiscoveryFailed)
    );
    assert!(!codes(&d).contains(&Code::NotDiscoverable));
    // --no-discovery: no discovery finding at all.
    let d = diagnose(&host("devbox", &[("10.0.0.5", vec![(4026, open())])]));
    assert!(!codes(&d).iter().any(|c| matches!(
        c,
        Code::NotDiscoverable
            | Code::DiscoveryAnswered
            | Code::NoDiscoveryAnswer
            | Code::DiscoveryFailed
    )));
}

#[test]
fn every_finding_has_the_code_of_its_evidence() {
    let d = with(
        disc(DiscoveryStatus::Answered, eth0(), WSDD_ID, &[samples::WSDD]),
        vec![(4024, open()), (4026, open()), (4022, Attempt::NoResponse)],
    );
    assert!(d.findings.len() > 4);
    for f in &d.findings {
        assert_eq!(f.code, f.evidence.code(), "{f:?}");
    }
}

/// A dead on-link address: this machine's neighbour discovery fails, and Linux answers the
/// Probe with a host-unreachable from this machine's own address. No firewall is involved.
#[test]
fn a_host_unreachable_from_this_machine_is_not_a_firewall() {
    let mut o = disc(DiscoveryStatus::Rejected, eth0(), WSDD_ID, &[]);
    o.addresses[0].icmp = Some(IcmpDetail {
        kind: IcmpKind::HostUnreachable,
        icmp_type: 3,
        code: 1,
        v6: false,
        from: Some(ip("10.0.0.1")),
    });
    let dead = Attempt::Icmp {
        rtt: Duration::from_secs(3),
        report: crate::platform::IcmpReport {
            v6: false,
            icmp_type: 3,
            code: 1,
            offender: Some(ip("10.0.0.1")),
        },
        local: Some(ip("10.0.0.1")),
    };
    let d = with(o, every_port(dead));
    let f = finding(&d, Code::NoDiscoveryAnswer);
    let Evidence::NoDiscoveryAnswer { why, .. } = &f.evidence else {
        panic!("{f:?}")
    };
    assert!(
        matches!(
            why,
            DiscoverySilence::Unreachable {
                this_machine: true,
                ..
            }
        ),
        "{why:?}"
    );
    // A prohibition stays a firewall's.
    let mut o = disc(DiscoveryStatus::Rejected, eth0(), WSDD_ID, &[]);
    o.addresses[0].icmp = Some(IcmpDetail {
        kind: IcmpKind::AdminProhibited,
        icmp_type: 3,
        code: 13,
        v6: false,
        from: Some(ip("10.0.0.5")),
    });
    let d = with(o, vec![]);
    let Evidence::NoDiscoveryAnswer { why, .. } = &finding(&d, Code::NoDiscoveryAnswer).evidence
    else {
        panic!()
    };
    assert!(matches!(why, DiscoverySilence::Rejected { .. }), "{why:?}");
}
