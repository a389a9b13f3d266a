//! The Windows checks' rules: clock skew against Kerberos' 5 minutes, a NetBIOS name that is
//! not the one typed, and the machine's identity.

use super::*;
use crate::fixtures::windows;

fn with_windows(target: &str, w: crate::WindowsObservation) -> Diagnosis {
    let mut obs = host(target, &[("10.0.0.5", vec![(4026, open())])]);
    obs.windows = vec![w];
    diagnose(&obs)
}

#[test]
fn a_clock_ten_minutes_ahead_is_a_warning_with_its_skew() {
    let d = with_windows("buildbox", windows("10.0.0.5", 600_000, "BUILDBOX", "LAB"));
    let f = finding(&d, Code::ClockSkew);
    assert_eq!(f.severity, Severity::Warning);
    assert_eq!(f.address, Some(addr("10.0.0.5")));
    assert_eq!(
        f.evidence,
        Evidence::ClockSkew {
            skew_ms: 600_000,
            uncertainty_ms: 1
        }
    );
    // The debugger is reachable all the same: the clock is beyond the network.
    assert_eq!(d.verdict.status, Status::Reachable);
}

#[test]
fn skew_under_the_limit_is_information_and_small_skew_nothing() {
    let d = with_windows("buildbox", windows("10.0.0.5", -120_000, "BUILDBOX", "LAB"));
    assert_eq!(finding(&d, Code::ClockSkew).severity, Severity::Info);
    // Exactly at the limit plus the uncertainty: still not beyond it.
    let d = with_windows("buildbox", windows("10.0.0.5", 300_001, "BUILDBOX", "LAB"));
    assert_eq!(finding(&d, Code::ClockSkew).severity, Severity::Info);
    let d = with_windows("buildbox", windows("10.0.0.5", 2_000, "BUILDBOX", "LAB"));
    assert!(!codes(&d).contains(&Code::ClockSkew));
}

#[test]
fn another_netbios_name_is_a_stale_record_warning() {
    let d = with_windows(
        "buildbox.lab.test",
        windows("10.0.0.5", 0, "BUILD-OLD", "LAB"),
    );
    let f = finding(&d, Code::NameMismatch);
    assert_eq!(f.severity, Severity::Warning);
    assert_eq!(
        f.evidence,
        Evidence::NameMismatch {
            typed: "buildbox.lab.test".into(),
            computer: "BUILD-OLD".into()
        }
    );
    // Same name in another case, or a name longer than NetBIOS's 15 characters: no finding.
    let d = with_windows(
        "BuildBox.lab.test",
        windows("10.0.0.5", 0, "BUILDBOX", "LAB"),
    );
    assert!(!codes(&d).contains(&Code::NameMismatch));
    let d = with_windows(
        "averyveryverylongname",
        windows("10.0.0.5", 0, "AVERYVERYVERYLO", "LAB"),
    );
    assert!(!codes(&d).contains(&Code::NameMismatch));
    // An address typed names no machine to compare with.
    let d = with_windows("10.0.0.5", windows("10.0.0.5", 0, "BUILD-OLD", "LAB"));
    assert!(!codes(&d).contains(&Code::NameMismatch));
}

#[test]
fn identity_names_the_machine_and_its_group() {
    let d = with_windows("buildbox", windows("10.0.0.5", 0, "BUILDBOX", "LAB"));
    let f = finding(&d, Code::WindowsIdentity);
    assert_eq!(f.severity, Severity::Info);
    assert_eq!(
        f.evidence,
        Evidence::WindowsIdentity {
            computer: Some("BUILDBOX".into()),
            group: Some("LAB".into()),
            domain: false
        }
    );
}

#[test]
fn no_windows_checks_no_windows_findings() {
    let d = diagnose(&host("buildbox", &[("10.0.0.5", vec![(4026, open())])]));
    for c in [Code::ClockSkew, Code::NameMismatch, Code::WindowsIdentity] {
        assert!(!codes(&d).contains(&c));
    }
}
