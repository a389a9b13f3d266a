//! Fixed observations and the renderers the report tests share.

use super::*;

// --- fixed observations ------------------------------------------------------------------------

pub(super) fn silent() -> Attempt {
    Attempt::NoResponse
}

pub(super) fn port_unreachable_3702() -> Option<IcmpDetail> {
    Some(IcmpDetail {
        kind: IcmpKind::PortUnreachable,
        icmp_type: 3,
        code: 3,
        v6: false,
        from: Some("10.0.0.5".parse().unwrap()),
    })
}

pub(super) fn admin_prohibited_3702(from: &str) -> Option<IcmpDetail> {
    Some(IcmpDetail {
        kind: IcmpKind::AdminProhibited,
        icmp_type: 3,
        code: 13,
        v6: false,
        from: Some(from.parse().unwrap()),
    })
}

pub(super) fn with(d: DiscoveryObservation, ports: Vec<(u16, Attempt)>) -> HostObservation {
    let mut o = host("devbox", &[("10.0.0.5", ports)]);
    o.discovery = Some(d);
    o
}

pub(super) const WSDD_ID: &str = "urn:uuid:5a4f0a53-1c1e-4d9f-9a3a-0c8f2b6e7d11";
pub(super) const PYTHON_ID: &str = "urn:uuid:0f5d2c9e-8a47-4c36-9a8e-3f1b2d4c5e60";

pub(super) fn stand_in_reply() -> String {
    let mut si = msvsmon_probe_core::StandIn::new(1);
    let probe = msvsmon_probe_core::WsdProbe {
        message_id: WSDD_ID.into(),
        version: Version::V2005,
        kind: ProbeKind::Device,
    };
    match si.answer(
        probe.to_xml().as_bytes(),
        "10.0.0.9".parse().unwrap(),
        RouteKind::Unicast,
    ) {
        msvsmon_probe_core::StandInAnswer::Reply { xml, .. } => xml,
        other => panic!("{other:?}"),
    }
}

// --- rendering ---------------------------------------------------------------------------------

pub(super) fn run_info(discovery: bool) -> RunInfo {
    RunInfo {
        started_at: SystemTime::UNIX_EPOCH,
        elapsed: Duration::from_millis(1234),
        settings: EngineSettings::fixed(Duration::from_secs(1), 1, 64),
        greeting_wait: Duration::from_millis(300),
        discovery: discovery.then(DiscoverySettings::default),
        vantage: crate::vantage::Vantage::parse("lab").unwrap(),
    }
}

/// The human report without styles, then the JSON verdict and findings.
pub(super) fn render(obs: HostObservation) -> String {
    let d = diagnose(&obs);
    let run = run_info(obs.discovery.is_some());
    let hosts = [(obs, d)];
    let mut human = Vec::new();
    human::write(&mut human, &run, &hosts).unwrap();
    let human = String::from_utf8(human).unwrap();
    let t = json::target(&hosts[0].0, &hosts[0].1);
    /// The part of a `--json` target object the diagnosis fills, fields in document order.
    #[derive(serde::Serialize)]
    struct Diagnosed<'a> {
        verdict: &'a json::VerdictJson,
        findings: &'a [json::FindingJson],
    }
    let json = serde_json::to_string_pretty(&Diagnosed {
        verdict: &t.verdict,
        findings: &t.findings,
    })
    .unwrap();
    format!(
        "{}\n--- JSON verdict and findings ---\n{json}\n",
        anstream::adapter::strip_str(&human)
    )
}

/// As [`render`], for the user's release `ide` (`--ide`), the human report `layout` wide.
pub(super) fn render_for(obs: HostObservation, ide: Option<&str>, layout: human::Layout) -> String {
    let ide = ide.map(|k| msvsmon_probe_core::Ide {
        release: msvsmon_probe_core::Release::find_ide(k).unwrap(),
        assumed: false,
    });
    let d = msvsmon_probe_core::diagnose_for(&obs, ide);
    let run = run_info(obs.discovery.is_some());
    let mut out = Vec::new();
    human::write_with(&mut out, &run, &[(obs, d)], layout).unwrap();
    let text = anstream::adapter::strip_str(&String::from_utf8(out).unwrap()).to_string();
    for line in text.lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        assert!(
            line.chars().count() <= layout.width || words.len() == 1,
            "wider than {}: {line}",
            layout.width
        );
    }
    text
}

/// The host: only the VS 2019 monitor runs, 4026 is dropped.
pub(super) fn only_2019_with_4026_dropped() -> HostObservation {
    host(
        "devbox",
        &[(
            "10.0.0.5",
            vec![(4024, open()), (4025, open()), (4026, silent())],
        )],
    )
}

pub(super) const WIDE: human::Layout = human::Layout {
    width: 120,
    verbose: false,
};
