//! The single-host probe, end to end: the real binary against real listeners on loopback.

mod support;

use std::net::TcpListener;

use support::*;

/// Short timeouts keep the filtered cases quick; the logic under test is the same.
const FAST: &[&str] = &["--timeout", "300ms", "--greeting-wait", "150ms"];

fn args<'a>(extra: &[&'a str]) -> Vec<&'a str> {
    let mut v: Vec<&str> = FAST.to_vec();
    v.extend_from_slice(extra);
    v
}

#[test]
fn open_main_port_is_reported_as_2022_or_2026_and_exits_0() {
    let lo = Loopback::claim();
    let _l = lo.listen(4026);
    let ip = lo.ip.to_string();
    let (doc, code) = run_json(&args(&[&ip]));
    assert_eq!(code, 0);
    let p = port_of(&doc, 4026);
    assert_eq!(p["state"], "open");
    assert_eq!(p["reason"], "syn-ack");
    assert_eq!(p["label"], "VS 2022 or 2026 · main");
    assert!(p["rtt_ms"].as_f64().unwrap() >= 0.0);
    let v = &doc["targets"][0]["verdict"];
    assert_eq!(v["status"], "reachable");
    assert_eq!(
        v["endpoints"][0]["releases"],
        serde_json::json!(["2022", "2026"])
    );
    assert_eq!(v["endpoints"][0]["attach_as"], format!("{ip}:4026"));
    // Every other release port was probed too, and is closed.
    assert_eq!(port_of(&doc, 4024)["state"], "closed");
    assert_eq!(port_of(&doc, 4016)["reason"], "conn-refused");
    assert_eq!(doc["summary"]["exit_code"], 0);
}

#[test]
fn all_closed_is_one_problem_naming_the_ports_and_exits_1() {
    let lo = Loopback::claim();
    let (doc, code) = run_json(&args(&[&lo.ip.to_string()]));
    assert_eq!(code, 1);
    let ports = doc["targets"][0]["addresses"][0]["ports"]
        .as_array()
        .unwrap();
    assert_eq!(ports.len(), 12, "every release port of the catalog");
    assert!(ports
        .iter()
        .all(|p| p["state"] == "closed" && p["attempts"] == 1));
    assert_eq!(doc["targets"][0]["verdict"]["status"], "not_reachable");
    let f = finding(&doc, 0, "closed");
    assert_eq!(f["severity"], "problem");
    assert!(f["cause"]
        .as_str()
        .unwrap()
        .contains("4026 (VS 2022 or 2026)"));
}

#[test]
fn dropped_syns_of_an_up_host_are_filtered_after_its_attempts_with_a_firewall_hint() {
    let lo = Loopback::claim();
    let (_listener, _filler) = lo.drop_syns(4026);
    let (doc, code) = run_json(&args(&["--retries", "1", &lo.ip.to_string()]));
    assert_eq!(code, 1);
    let p = port_of(&doc, 4026);
    assert_eq!(p["state"], "filtered");
    assert_eq!(p["reason"], "no-response");
    // The other ports reset, so the host is up: more attempts than --retries asks for.
    assert_eq!(p["attempts"], msvsmon_probe_core::UP_HOST_ATTEMPTS);
    assert!(p["rtt_ms"].is_null());
    let f = finding(&doc, 0, "filtered");
    assert_eq!(f["ports"], serde_json::json!([4026]));
    let cause = f["cause"].as_str().unwrap();
    assert!(
        cause.contains("is up"),
        "the host answered on other ports: {cause}"
    );
    let action = f["action"].as_str().unwrap();
    assert!(
        action.contains("-LocalPort 4026") && action.contains("msvsmon.exe"),
        "{action}"
    );
}

#[test]
fn retries_zero_means_one_attempt_on_a_host_that_never_answers() {
    let lo = Loopback::claim();
    // VS 2019's ports, 4024 and 4025, both dropped: nothing of the host answers.
    let (_l1, _f1) = lo.drop_syns(4024);
    let (_l2, _f2) = lo.drop_syns(4025);
    let (doc, _) = run_json(&args(&["--retries", "0", "-r", "2019", &lo.ip.to_string()]));
    for port in [4024, 4025] {
        assert_eq!(port_of(&doc, port)["attempts"], 1);
        assert_eq!(port_of(&doc, port)["state"], "filtered");
    }
}

#[test]
fn a_service_that_greets_is_open_but_not_the_debugger() {
    let lo = Loopback::claim();
    let _g = lo.greeter(4026, b"SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n");
    let (doc, code) = run_json(&["--greeting-wait", "2s", &lo.ip.to_string()]);
    assert_eq!(code, 1, "an SSH server is not a debugger");
    let p = port_of(&doc, 4026);
    assert_eq!(p["state"], "open");
    assert_eq!(p["greeting"]["protocol"], "ssh");
    assert_eq!(
        p["greeting"]["text"],
        "SSH-2.0-OpenSSH_9.2p1 Debian-2\\r\\n"
    );
    assert_eq!(doc["targets"][0]["verdict"]["status"], "not_reachable");
    let f = finding(&doc, 0, "not_the_debugger");
    assert!(f["cause"].as_str().unwrap().contains("an SSH server"));
}

#[test]
fn ipv6_loopback() {
    let Ok(_l) = TcpListener::bind("[::1]:4026") else {
        eprintln!("SKIPPED ipv6_loopback: cannot bind [::1]:4026 (no IPv6 on loopback here)");
        return;
    };
    let (doc, code) = run_json(&args(&["::1"]));
    assert_eq!(code, 0);
    let a = &doc["targets"][0]["addresses"][0];
    assert_eq!(a["address"], "::1");
    assert_eq!(a["family"], "ipv6");
    assert_eq!(port_of(&doc, 4026)["state"], "open");
    assert_eq!(
        doc["targets"][0]["verdict"]["endpoints"][0]["attach_as"],
        "[::1]:4026"
    );
}

#[test]
fn every_address_of_a_name_is_probed_and_disagreement_is_flagged() {
    let good = Loopback::claim();
    let bad = Loopback::claim();
    let _l = good.listen(4026);
    let hosts = TempFile::with("hosts", &format!("{} devbox\n{} devbox\n", good.ip, bad.ip));
    let (doc, code) = run_json(&args(&["--hosts-file", hosts.path(), "devbox"]));
    assert_eq!(code, 0);
    let t = &doc["targets"][0];
    assert_eq!(t["resolution"]["source"], "hosts_file");
    assert_eq!(t["addresses"].as_array().unwrap().len(), 2);
    assert_eq!(port_at(&doc, 0, 0, 4026)["state"], "open");
    assert_eq!(port_at(&doc, 0, 1, 4026)["state"], "closed");
    let f = finding(&doc, 0, "mixed_addresses");
    assert!(f["action"]
        .as_str()
        .unwrap()
        .contains(&format!("{}:4026", good.ip)));
    // The name does not work everywhere, so the endpoint to type is the address.
    assert_eq!(
        t["verdict"]["endpoints"][0]["attach_as"],
        format!("{}:4026", good.ip)
    );
}

#[test]
fn a_name_whose_addresses_agree_is_attached_by_name() {
    let a = Loopback::claim();
    let b = Loopback::claim();
    let (_la, _lb) = (a.listen(4026), b.listen(4026));
    let hosts = TempFile::with("hosts", &format!("{} devbox\n{} devbox\n", a.ip, b.ip));
    let (doc, _) = run_json(&args(&["--hosts-file", hosts.path(), "devbox"]));
    assert!(!codes(&doc, 0).contains(&"mixed_addresses".to_string()));
    assert_eq!(
        doc["targets"][0]["verdict"]["endpoints"][0]["attach_as"],
        "devbox:4026"
    );
}

#[test]
fn custom_ports_are_probed_in_addition_and_labelled() {
    let lo = Loopback::claim();
    let _l = lo.listen(4567);
    let target = format!("{}:4567", lo.ip);
    let (doc, code) = run_json(&args(&["-p", "4568", &target]));
    assert_eq!(code, 0);
    let p = port_of(&doc, 4567);
    assert_eq!(
        (p["state"].as_str(), p["custom"].as_bool()),
        (Some("open"), Some(true))
    );
    assert_eq!(p["label"], "custom port (msvsmon /port)");
    assert_eq!(port_of(&doc, 4568)["custom"], true);
    assert_eq!(
        port_of(&doc, 4026)["custom"],
        false,
        "release ports are still there"
    );
    assert_eq!(doc["targets"][0]["port"], 4567);
    assert_eq!(doc["targets"][0]["verdict"]["endpoints"][0]["custom"], true);
}

#[test]
fn release_filter_limits_the_ports() {
    let lo = Loopback::claim();
    let (doc, _) = run_json(&args(&["--release", "2019", &lo.ip.to_string()]));
    let ports: Vec<u64> = doc["targets"][0]["addresses"][0]["ports"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["port"].as_u64().unwrap())
        .collect();
    assert_eq!(ports, [4024, 4025]);
}

#[test]
fn unresolvable_name_among_good_ones_is_a_finding_not_a_crash() {
    let lo = Loopback::claim();
    let _l = lo.listen(4026);
    let hosts = TempFile::with("hosts", &format!("{} devbox\n", lo.ip));
    let (doc, code) = run_json(&args(&["--hosts-file", hosts.path(), "devbox", "ghost"]));
    assert_eq!(code, 0, "devbox has a debugger");
    let ghost = &doc["targets"][1];
    assert_eq!(ghost["verdict"]["status"], "unresolved");
    assert!(ghost["resolution"]["error"]
        .as_str()
        .unwrap()
        .contains("ghost"));
    assert_eq!(codes(&doc, 1), ["unresolved"]);
}

#[test]
fn nothing_resolvable_exits_3() {
    let hosts = TempFile::with("hosts", "127.0.0.1 other\n");
    let (doc, code) = run_json(&args(&[
        "--hosts-file",
        hosts.path(),
        "ghost",
        "phantom.local",
    ]));
    assert_eq!(code, 3);
    assert_eq!(doc["summary"]["resolved"], 0);
    let f = finding(&doc, 1, "unresolved");
    assert!(f["action"].as_str().unwrap().contains("multicast DNS"));
}

#[test]
fn human_report_has_table_verdict_and_hints_without_colour_when_piped() {
    let lo = Loopback::claim();
    let (_listener, _filler) = lo.drop_syns(4026);
    let out = run(&args(&["--retries", "0", &lo.ip.to_string()]));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(!text.contains('\x1b'), "no ANSI codes on a pipe:\n{text}");
    assert!(text.contains("4026   filtered"), "{text}");
    assert!(text.contains("Verdict: not reachable"), "{text}");
    assert!(text.contains("New-NetFirewallRule"), "{text}");
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn colour_follows_the_flag_and_no_color() {
    let lo = Loopback::claim();
    let ip = lo.ip.to_string();
    let always = run(&args(&["--color", "always", &ip]));
    assert!(String::from_utf8_lossy(&always.stdout).contains('\x1b'));
    let never = bin()
        .args(args(&["--color", "never", &ip]))
        .env("CLICOLOR_FORCE", "1")
        .output()
        .unwrap();
    assert!(!String::from_utf8_lossy(&never.stdout).contains('\x1b'));
    let no_color = bin()
        .args(args(&[&ip]))
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    assert!(!String::from_utf8_lossy(&no_color.stdout).contains('\x1b'));
}

#[test]
fn a_closed_pipe_ends_quietly() {
    let lo = Loopback::claim();
    let mut child = bin()
        .args(args(&[&lo.ip.to_string()]))
        .stdout(piped())
        .stderr(piped())
        .spawn()
        .unwrap();
    // Close the reading end before the report is written, as `| head -0` would.
    drop(child.stdout.take());
    let stderr = read_all(child.stderr.take().unwrap());
    let status = child.wait().unwrap();
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(!stderr.contains("Broken pipe"), "{stderr}");
    assert_eq!(status.code(), Some(1));
}

#[test]
fn json_document_has_the_documented_top_level_fields() {
    let lo = Loopback::claim();
    let (doc, _) = run_json(&args(&[&lo.ip.to_string()]));
    assert_eq!(doc["schema_version"], 1);
    assert_eq!(doc["tool"]["name"], "msvsmon-probe");
    for k in ["started_at", "elapsed_ms", "settings", "targets", "summary"] {
        assert!(!doc[k].is_null(), "{k} missing");
    }
    assert_eq!(doc["settings"]["timeout_ms"], 300.0);
    let t = &doc["targets"][0];
    for k in [
        "input",
        "host",
        "resolution",
        "addresses",
        "verdict",
        "findings",
        "elapsed_ms",
    ] {
        assert!(!t[k].is_null(), "targets[].{k} missing");
    }
    let p = port_of(&doc, 4016);
    for k in [
        "port", "state", "reason", "attempts", "label", "custom", "roles",
    ] {
        assert!(!p[k].is_null(), "port.{k} missing");
    }
    assert_eq!(p["roles"][0]["release"], "2012");
    assert_eq!(port_of(&doc, 4017)["roles"][0]["certainty"], "inferred");
}

#[test]
fn catalog_command_prints_table_and_json() {
    let out = run(&["catalog"]);
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("4026") && text.contains("inferred"), "{text}");
    let out = run(&["catalog", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let rs = v["releases"].as_array().unwrap();
    let r2026 = rs.iter().find(|r| r["key"] == "2026").unwrap();
    assert_eq!(r2026["ports"][0]["port"], 4026);
    let azure = rs
        .iter()
        .find(|r| r["key"] == "azure-cloud-service")
        .unwrap();
    assert_eq!(azure["probed"], "with_azure_cloud_service_flag");
}

/// One host named many times (as typed, in another case, with a trailing dot) is probed once,
/// reported once, and the user is told so: not 1,000 probes of the same machine.
#[test]
fn the_same_host_named_many_times_is_probed_once() {
    let lo = Loopback::claim();
    let listener = lo.listen(4026);
    let ip = lo.ip.to_string();
    let hosts = TempFile::with("hosts", &format!("{ip} devbox.test\n"));
    let mut args = vec![
        "--json".to_string(),
        "--no-discovery".into(),
        "--greeting-wait".into(),
        "0".into(),
        "--hosts-file".into(),
        hosts.0.display().to_string(),
        "-r".into(),
        "2022".into(),
    ];
    for i in 0..1000 {
        args.push(match i % 3 {
            0 => "devbox.test".to_string(),
            1 => "DEVBOX.test.".to_string(),
            _ => "devbox.TEST".to_string(),
        });
    }
    args.push(ip.clone());
    args.push(ip.clone());
    let out = bin().args(&args).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let inputs: Vec<&str> = doc["targets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["input"].as_str().unwrap())
        .collect();
    assert_eq!(inputs, ["devbox.test", ip.as_str()]);
    assert_eq!(
        stderr.lines().collect::<Vec<_>>(),
        [
            "note: 'devbox.test' is named 1000 times; it is probed once".to_string(),
            format!("note: '{ip}' is named 2 times; it is probed once"),
        ]
    );
    // Two targets, each connected to 4026 once.
    listener.set_nonblocking(true).unwrap();
    let mut accepted = 0;
    while listener.accept().is_ok() {
        accepted += 1;
    }
    assert_eq!(accepted, 2);
}

/// The Windows checks run beside the ports by default, each with its reason when it fails: a
/// port 445 that accepts and never answers is a timeout, a closed one a connect failure, UDP 137
/// with nothing behind it an ICMP refusal; `--no-windows-checks` leaves them out.
#[test]
fn windows_checks_run_by_default_and_say_why_they_failed() {
    let lo = Loopback::claim();
    let ip = lo.ip.to_string();
    let (doc, _) = run_json(&args(&[&ip]));
    let w = &doc["targets"][0]["addresses"][0]["windows"];
    assert_eq!(w["smb2"], serde_json::Value::Null);
    assert_eq!(w["smb2_failure"], "connect");
    assert_eq!(w["netbios"], serde_json::Value::Null);
    assert_eq!(w["netbios_failure"], "refused");

    let _smb = lo.listen(445);
    let (doc, _) = run_json(&args(&[&ip]));
    assert_eq!(
        doc["targets"][0]["addresses"][0]["windows"]["smb2_failure"],
        "timeout"
    );

    let (doc, _) = run_json(&args(&["--no-windows-checks", &ip]));
    assert!(doc["targets"][0]["addresses"][0].get("windows").is_none());
}
