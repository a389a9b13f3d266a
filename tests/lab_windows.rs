//! Past the open port in the network lab (crates/lab/src/lib.rs): Debian's Samba (smbd, nmbd)
//! as the Windows-like hosts of issue 14, read by the real binary in the scanner namespace
//! (`--json`, checked against the schema), and nmap's `nbstat` and `smb2-time` scripts as a
//! second client on the same hosts.
//!
//! Hosts (all on the LAN, each running smbd and nmbd, workgroup LABGROUP):
//! - `smbwg`: a workgroup member whose NetBIOS name is its lab name (SMBWG);
//! - `smbskew`: the same with smbd's clock 10 minutes ahead (libfaketime);
//! - `smbstale`: calls itself BUILD-OLD, while the lab's DNS says `smbstale.lab`.
//!
//! One lab serves every case (`harness = false`, crates/lab/src/runner.rs); as root the lab
//! installs what it lacks, otherwise the cases are skipped loudly (a failure under CI=true).
//! Run one case: `cargo test --test lab_windows -- windows::clock_ten_minutes_ahead`.

#[cfg(target_os = "linux")]
mod support;

#[cfg(target_os = "linux")]
fn main() -> std::process::ExitCode {
    linux::main()
}

#[cfg(not(target_os = "linux"))]
fn main() -> std::process::ExitCode {
    eprintln!("SKIPPED: the lab tests need Linux network namespaces (lab_windows)");
    std::process::ExitCode::SUCCESS
}

#[cfg(target_os = "linux")]
mod linux {
    use super::support::assert_schema;
    use msvsmon_probe_lab as lab;

    use std::process::ExitCode;
    use std::time::{SystemTime, UNIX_EPOCH};

    use serde_json::Value;

    use lab::hosts::{samba, SAMBA_WORKGROUP};
    use lab::runner::{self, Case};
    use lab::{HostSpec, Lab, LabSpec};

    const BIN: &str = env!("CARGO_BIN_EXE_msvsmon-probe");

    fn smb_host(name: &str, octet: u8, netbios: &str, faketime: Option<&str>) -> HostSpec {
        HostSpec::new(name, octet)
            .listen(&[4026])
            .run(samba("nmbd", netbios, None))
            .run(samba("smbd", netbios, faketime))
    }

    pub fn spec() -> LabSpec {
        LabSpec {
            hosts: vec![
                smb_host("smbwg", 50, "SMBWG", None),
                smb_host("smbskew", 51, "SMBSKEW", Some("+10m")),
                smb_host("smbstale", 52, "BUILD-OLD", None),
            ],
            names: Vec::new(),
            lan: true,
            farm: false,
            no_multicast_if: false,
        }
    }

    pub fn main() -> ExitCode {
        let cases = vec![
            Case::lab("safety::samba_runs_only_inside_the_lab", samba_inside),
            Case::lab("windows::workgroup_member", workgroup_member),
            Case::lab("windows::clock_ten_minutes_ahead", clock_ahead),
            Case::lab("windows::stale_dns_name", stale_name),
            Case::lab("windows::off_with_the_flag", off_with_flag),
            Case::lab("nmap::nbstat_and_smb2_time_agree", nmap_agrees),
        ];
        runner::main("lab_windows", cases, spec)
    }

    fn now_ms() -> i64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_millis() as i64
    }

    /// The binary's `--json` for `target`, with the debugger port open on every host.
    fn probe(lab: &Lab, extra: &[&str], target: &str) -> Value {
        let out = lab
            .scanner(BIN)
            .args(["--json", "--no-discovery", "--timeout", "600ms"])
            .args(extra)
            .arg(target)
            .output()
            .expect("the binary runs");
        let doc: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!(
                "no JSON ({e}); stderr: {}",
                String::from_utf8_lossy(&out.stderr)
            )
        });
        assert_schema(&doc);
        assert_eq!(doc["targets"][0]["verdict"]["status"], "reachable");
        doc
    }

    fn windows(doc: &Value) -> &Value {
        &doc["targets"][0]["addresses"][0]["windows"]
    }

    fn finding<'a>(doc: &'a Value, code: &str) -> Option<&'a Value> {
        doc["targets"][0]["findings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["code"] == code)
    }

    fn samba_inside(_lab: &Lab) {
        for d in ["smbd", "nmbd"] {
            lab::tools::daemons_outside_the_lab(d).unwrap();
        }
    }

    fn workgroup_member(lab: &Lab) {
        let doc = probe(lab, &[], "smbwg.lab");
        let w = windows(&doc);
        assert_eq!(w["netbios"]["computer"], "SMBWG", "{w}");
        assert_eq!(w["netbios"]["group"], SAMBA_WORKGROUP);
        assert_eq!(w["netbios"]["domain_controller"], false);
        let skew = w["smb2"]["clock_skew_ms"].as_i64().expect("a clock");
        assert!(skew.abs() < 2_000, "same clock, skew {skew} ms");
        assert!(w["smb2"]["dialect"].as_str().unwrap().starts_with('3'));
        let id = finding(&doc, "windows_identity").expect("the identity finding");
        assert!(id["cause"].as_str().unwrap().contains("SMBWG"), "{id}");
        assert!(id["action"]
            .as_str()
            .unwrap()
            .contains("same user name and password"));
        assert!(finding(&doc, "name_mismatch").is_none());
        assert!(finding(&doc, "clock_skew").is_none());
    }

    fn clock_ahead(lab: &Lab) {
        let doc = probe(lab, &[], "smbskew.lab");
        let skew = windows(&doc)["smb2"]["clock_skew_ms"]
            .as_i64()
            .expect("a clock");
        assert!(
            (skew - 600_000).abs() <= 2_000,
            "10 minutes ahead, read {skew} ms"
        );
        let f = finding(&doc, "clock_skew").expect("the clock finding");
        assert_eq!(f["severity"], "warning");
        let cause = f["cause"].as_str().unwrap();
        assert!(
            cause.contains("10 min 0 s ahead") || cause.contains("9 min 59 s ahead"),
            "{cause}"
        );
        assert!(f["action"].as_str().unwrap().contains("w32tm /resync"));
    }

    fn stale_name(lab: &Lab) {
        let doc = probe(lab, &[], "smbstale.lab");
        assert_eq!(windows(&doc)["netbios"]["computer"], "BUILD-OLD");
        let f = finding(&doc, "name_mismatch").expect("the stale-name finding");
        assert_eq!(f["severity"], "warning");
        let cause = f["cause"].as_str().unwrap();
        assert!(
            cause.contains("smbstale.lab belongs to a machine that calls itself BUILD-OLD"),
            "{cause}"
        );
        // A human report says it too.
        let out = lab
            .scanner(BIN)
            .env("NO_COLOR", "1")
            .args(["--no-discovery", "--timeout", "600ms", "smbstale.lab"])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).replace('\n', " ");
        let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
        assert!(text.contains("calls itself BUILD-OLD"), "{text}");
    }

    fn off_with_flag(lab: &Lab) {
        let doc = probe(lab, &["--no-windows-checks"], "smbskew.lab");
        assert!(doc["targets"][0]["addresses"][0].get("windows").is_none());
        assert!(finding(&doc, "clock_skew").is_none());
    }

    /// nmap as a second client: `nbstat` names the same machine and `smb2-time` reads the same
    /// clock (to the second it prints).
    fn nmap_agrees(lab: &Lab) {
        let ip = lab.host("smbskew").spec.v4().to_string();
        let before = now_ms();
        let out = lab
            .scanner("nmap")
            .args(["-Pn", "-n", "-sU", "-sT", "-p", "U:137,T:445"])
            .args(["--script", "nbstat,smb2-time", &ip])
            .output()
            .expect("nmap runs");
        let after = now_ms();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains("NetBIOS name: SMBSKEW"), "{text}");
        // smb2-time: "|   date: 2026-12-02T17:40:12"
        let date = text
            .lines()
            .find_map(|l| l.trim_start_matches(['|', '_', ' ']).strip_prefix("date: "))
            .unwrap_or_else(|| panic!("no smb2-time date in {text}"));
        let server_ms = parse_utc(date.trim()).unwrap_or_else(|| panic!("date {date}"));
        let skew = server_ms - (before + after) / 2;
        assert!(
            (skew - 600_000).abs() <= 2_000 + (after - before) / 2,
            "nmap reads {skew} ms"
        );
        let doc = probe(lab, &[], "smbskew.lab");
        let ours = windows(&doc)["smb2"]["clock_skew_ms"].as_i64().unwrap();
        assert!((ours - skew).abs() <= 2_000 + (after - before) / 2);
    }

    /// `2026-12-02T17:40:12` (UTC; nmap may append `+00:00` or a fraction) to ms since 1970.
    fn parse_utc(s: &str) -> Option<i64> {
        let s = s.get(..19)?;
        let n = |a: usize, b: usize| s.get(a..b)?.parse::<i64>().ok();
        let (y, mo, d) = (n(0, 4)?, n(5, 7)?, n(8, 10)?);
        let (h, mi, se) = (n(11, 13)?, n(14, 16)?, n(17, 19)?);
        // Days from civil (Howard Hinnant's algorithm).
        let y2 = if mo <= 2 { y - 1 } else { y };
        let era = y2.div_euclid(400);
        let yoe = y2 - era * 400;
        let mp = (mo + 9) % 12;
        let doy = (153 * mp + 2) / 5 + d - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        let days = era * 146_097 + doe - 719_468;
        Some(((days * 24 + h) * 60 + mi) * 60_000 + se * 1000)
    }
}
