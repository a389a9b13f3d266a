//! `--vantage`: every result says where it was seen from, in every machine-readable format, so
//! results from several sites can be merged without losing which site saw what.

mod support;

use support::*;

/// This machine's host name as the kernel has it (the default vantage).
fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .expect("Linux host name")
        .trim()
        .to_string()
}

#[test]
fn a_probe_records_its_vantage_and_defaults_to_the_host_name() {
    let lo = Loopback::claim();
    let _l = lo.listen(4026);
    let ip = lo.ip.to_string();
    let (doc, code) = run_json(&["--no-discovery", "--vantage", "office-vpn", &ip]);
    assert_eq!(code, 0);
    assert_eq!(doc["vantage"], "office-vpn");

    let (doc, _) = run_json(&["--no-discovery", &ip]);
    let want: String = host_name()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-_.:@/".contains(c) {
                c
            } else {
                '-'
            }
        })
        .collect();
    assert_eq!(doc["vantage"], want.as_str());
}

#[test]
fn every_scan_line_and_the_summary_carry_the_vantage() {
    let net = Subnet::claim();
    let _a = net.listen(3, 4026);
    let out = run(&["--ndjson", "--all", "--vantage", "site:eu/1", &net.cidr()]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
    let (hosts, summary) = ndjson(&out.stdout);
    assert_eq!(hosts.len(), 16);
    for h in &hosts {
        assert_eq!(h["vantage"], "site:eu/1", "{h}");
    }
    assert_eq!(summary["vantage"], "site:eu/1");
}

#[test]
fn every_prometheus_series_is_labelled_with_the_vantage() {
    let lo = Loopback::claim();
    let _l = lo.listen(4026);
    let ip = lo.ip.to_string();
    let out = run(&[
        "--format",
        "prometheus",
        "--no-discovery",
        "--vantage",
        "lab-1",
        &ip,
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
    let text = String::from_utf8(out.stdout).unwrap();
    let samples: Vec<&str> = text.lines().filter(|l| !l.starts_with('#')).collect();
    assert!(samples.len() > 10, "{text}");
    for s in samples {
        assert!(s.contains("{vantage=\"lab-1\""), "{s}");
    }
}

#[test]
fn a_vantage_that_would_need_escaping_is_refused_before_anything_is_sent() {
    let lo = Loopback::claim();
    let listener = lo.listen(4026);
    let ip = lo.ip.to_string();
    for bad in ["two words", "", "a\"b", "x\u{1b}[31m"] {
        let out = run(&["--vantage", bad, &ip]);
        assert_eq!(out.status.code(), Some(2), "{bad:?}");
        let err = stderr_of(&out);
        assert!(
            err.contains("expected 1 to 64 ASCII letters, digits and - _ . : @ /"),
            "{bad:?}: {err}"
        );
        assert!(
            !err.contains('\u{1b}'),
            "{bad:?}: raw escape echoed: {err:?}"
        );
    }
    assert!(nothing_accepted(&listener), "a packet was sent");
}
