//! The real binary in the network lab (crates/lab/src/lib.rs): every lab target against the ground
//! truth (crates/lab/data/truth.json, crates/lab/data/farm_open.txt), nmap as a peer on the same hosts, the
//! WS-Discovery responders, the self-connect case, and the lab's own safety rules.
//!
//! One lab serves every case (`harness = false`, crates/lab/src/runner.rs). As root the lab installs
//! what it lacks; otherwise the lab cases are skipped loudly (a failure under CI=true).
//! Run one case: `cargo test --test lab_probe -- truth::dual`.

#[cfg(target_os = "linux")]
mod support;

#[cfg(target_os = "linux")]
fn main() -> std::process::ExitCode {
    linux::main()
}

#[cfg(not(target_os = "linux"))]
fn main() -> std::process::ExitCode {
    eprintln!("SKIPPED: the lab tests need Linux network namespaces (lab_probe)");
    std::process::ExitCode::SUCCESS
}

/// The lab is Linux network namespaces: everything below is Linux-only.
#[cfg(target_os = "linux")]
mod linux {
    use super::support::assert_schema;
    use msvsmon_probe_lab as lab;

    use std::collections::{BTreeMap, BTreeSet};
    use std::net::{IpAddr, Ipv4Addr};
    use std::process::{ExitCode, Output};

    use serde_json::Value;

    use lab::nmap::{self, NmapPort};
    use lab::plan::RELEASE_PORTS;
    use lab::runner::{self, Case};
    use lab::truth::{TargetTruth, Truth};
    use lab::{Answer, FarmTruth, Lab, LabSpec};

    const BIN: &str = env!("CARGO_BIN_EXE_msvsmon-probe");
    /// Our options where a case needs no others: a timeout under the kernel's 1 s SYN retransmit.
    const FAST: [&str; 4] = ["--timeout", "600ms", "--retries", "1"];
    /// nmap's connect scan of the release ports, with reasons.
    const NMAP_CONNECT: [&str; 8] = [
        "-sT",
        "-Pn",
        "-n",
        "--reason",
        "-p",
        "4016-4026,4040",
        "--max-retries",
        "1",
    ];

    pub fn main() -> ExitCode {
        let truth = Truth::load().unwrap_or_else(|e| panic!("{e}"));
        let mut cases = vec![
            Case::data(
                "data::farm_truth_file_matches_its_generator",
                farm_file_is_generated,
            ),
            Case::data("data::truth_file_matches_the_lab_topology", || {
                truth_matches_topology(&Truth::load().unwrap())
            }),
            Case::lab("safety::scanner_has_no_way_out", scanner_has_no_way_out),
            Case::lab(
                "safety::daemons_run_only_inside_the_lab",
                daemons_inside_the_lab,
            ),
            Case::lab("nmap::ipv4_states_agree", |lab| nmap_agrees(lab, false)),
            Case::lab("nmap::ipv6_states_agree", |lab| nmap_agrees(lab, true)),
            Case::lab(
                "wsd::responders_answer_inside_the_lab",
                wsd_responders_answer,
            ),
            Case::lab(
                "wsd::nmap_broadcast_discovery_finds_the_publisher",
                nmap_finds_publisher,
            ),
            Case::lab("farm::sample_matches_the_truth_file", farm_sample_matches),
            Case::lab(
                "farm::nmap_sweep_matches_the_truth_file",
                farm_nmap_sweep_matches,
            ),
            Case::lab("scan::farm_sweep_matches_the_truth_file", farm_scan_matches),
            // Exclusive: the lossy host counts SYNs, and the sweep sends it its own.
            Case::lab("scan::lan_sweep_agrees_with_the_truth", lan_sweep_agrees).exclusive(),
            // Exclusive for the same reason: the README's Job 2 output, at 80 and 120 columns.
            Case::lab("scan::lan_table_for_people", lan_table_for_people).exclusive(),
            Case::lab(
                "scan::public_range_needs_confirmation",
                public_range_needs_confirmation,
            ),
            Case::lab("self_connect_is_closed_never_open", self_connect).exclusive(),
            // Exclusive: the scanner's DNS server answers every name looked up meanwhile.
            Case::lab("resolve::failures_are_told_apart", resolution_failures).exclusive(),
            // After the sweeps: what they left in the connection tracking tables.
            Case::lab("farm::no_connection_is_tracked", no_connection_tracked).exclusive(),
        ];
        cases.push(Case::lab("report::dbg2019_ide_2022", ide_2022_on_2019));
        cases.push(Case::lab(
            "report::streamed_on_a_terminal",
            streamed_on_a_terminal,
        ));
        for t in &truth.targets {
            let case = Case::lab(format!("report::{}", short_name(t)), |lab| {
                report_snapshots(lab, &truth.probe_args, t)
            });
            cases.push(if t.reset_firewall.is_empty() {
                case
            } else {
                case.exclusive()
            });
        }
        for t in &truth.targets {
            let name = format!(
                "truth::{}",
                t.target.trim_end_matches(".lab").replace(".lab:", ":")
            );
            let case = Case::lab(name, |lab| check_target(lab, &truth.probe_args, t));
            // Stateful firewalls (the lossy host's SYN counter) must not see other cases' SYNs.
            cases.push(if t.reset_firewall.is_empty() {
                case
            } else {
                case.exclusive()
            });
        }
        runner::main("lab_probe", cases, LabSpec::standard)
    }

    // ---- running the product ----------------------------------------------------------------

    /// Runs the binary in the scanner namespace with `--json`; the document, the exit code and the
    /// command line (for messages).
    fn probe(lab: &Lab, args: &[&str]) -> (Value, i32, String) {
        let mut cmd = lab.scanner(BIN);
        cmd.env_remove("NO_COLOR").arg("--json").args(args);
        let line = format!(
            "ip netns exec {} msvsmon-probe --json {}",
            lab.scanner_ns(),
            args.join(" ")
        );
        let out: Output = cmd.output().expect("the binary runs");
        let stdout = String::from_utf8_lossy(&out.stdout);
        let doc = serde_json::from_str(&stdout).unwrap_or_else(|e| {
            panic!(
                "`{line}` did not print JSON ({e}); stderr: {}\nstdout: {stdout}",
                String::from_utf8_lossy(&out.stderr)
            )
        });
        assert_schema(&doc);
        (doc, out.status.code().expect("exited"), line)
    }

    /// (address, port) → the port's JSON object, over every target and address of a document.
    fn ports_of(doc: &Value) -> BTreeMap<(IpAddr, u16), &Value> {
        let mut m = BTreeMap::new();
        for t in doc["targets"].as_array().unwrap() {
            for a in t["addresses"].as_array().unwrap() {
                let ip: IpAddr = a["address"].as_str().unwrap().parse().unwrap();
                for p in a["ports"].as_array().unwrap() {
                    m.insert((ip, p["port"].as_u64().unwrap() as u16), p);
                }
            }
        }
        m
    }

    fn str_of(v: &Value) -> &str {
        v.as_str().unwrap_or("null")
    }

    // ---- the report people read --------------------------------------------------------------

    /// "dbg2019", "custom_4567": a truth target as a case and snapshot name.
    fn short_name(t: &TargetTruth) -> String {
        t.target.replace(".lab", "").replace([':', '-', '.'], "_")
    }

    /// What differs between two runs of the same scenario, made the same: connect times (kept
    /// as wide, so columns stay where they were), a retried port's attempt count, and the
    /// run's duration in the footer.
    fn redact(text: &str) -> String {
        let mut out = String::with_capacity(text.len());
        for line in text.lines() {
            let mut line = line.to_string();
            // "   0.3 ms" → "     ~ ms": every time, whatever its digits.
            while let Some(at) = line
                .match_indices(" ms")
                .map(|(i, _)| i)
                .find(|&i| line[..i].ends_with(|c: char| c.is_ascii_digit()))
            {
                let digits = line[..at]
                    .trim_end_matches(|c: char| c.is_ascii_digit() || c == '.')
                    .len();
                if !line[digits..at].contains('.') {
                    // A setting ("timeout 600 ms"), not a measured time.
                    line.replace_range(at..at + 3, " m~");
                    continue;
                }
                let start = line[..digits].trim_end_matches(' ').len();
                let width = at - start;
                line.replace_range(start..at, &format!("{:>width$}", "~"));
                line.replace_range(start + width..start + width + 3, " m~");
            }
            let line = line.replace(" m~", " ms");
            let mut line = line;
            if let Some(i) = line.find(" ×") {
                let from = i + " ×".len();
                let end = line[from..]
                    .find(|c: char| !c.is_ascii_digit())
                    .map_or(line.len(), |e| from + e);
                line.replace_range(from..end, "n");
            }
            if line.starts_with("Probed ") {
                if let Some(i) = line.find(" in ") {
                    let end = line[i..].find(" s (").map_or(line.len(), |e| i + e);
                    line.replace_range(i + 4..end, "~");
                }
            }
            out.push_str(&line);
            out.push('\n');
        }
        out
    }

    /// The human report of one truth target at 80 and 120 columns, as reviewed snapshots
    /// (tests/snapshots/lab_probe__report_*.snap). No line is wider than the terminal unless it
    /// is one word; at 80 columns a single-address target's report is at most 25 lines, and
    /// each further address adds only its own port table.
    fn report_snapshots(lab: &Lab, common: &[String], t: &TargetTruth) {
        for width in [80usize, 120] {
            for h in &t.reset_firewall {
                lab.reset_firewall(h).unwrap();
            }
            let out = lab
                .scanner(BIN)
                .env("COLUMNS", width.to_string())
                .env("NO_COLOR", "1")
                .args(common)
                .args(&t.args)
                .arg(&t.target)
                .output()
                .expect("the binary runs");
            let text = String::from_utf8(out.stdout).expect("UTF-8");
            assert_eq!(
                out.status.code(),
                Some(t.exit_code),
                "{}:\n{text}",
                t.target
            );
            for line in text.lines() {
                assert!(
                    line.chars().count() <= width || line.split_whitespace().count() == 1,
                    "{} at {width} columns, a line too wide:\n{line}\n\n{text}",
                    t.target
                );
            }
            // A name whose addresses disagree is diagnosed address by address.
            if width == 80 && !t.findings_include.iter().any(|f| f == "mixed_addresses") {
                // Paragraphs are separated by blank lines; those of the second and further
                // addresses ("  10.99.1.21  private" and their ports) are the allowance.
                let addrs: Vec<String> =
                    t.addresses.iter().map(|a| a.address.to_string()).collect();
                let extra: usize = text
                    .split("\n\n")
                    .filter(|p| {
                        addrs
                            .iter()
                            .skip(1)
                            .any(|a| p.starts_with(&format!("  {a}  ")))
                    })
                    .map(|p| p.lines().count() + 1)
                    .sum();
                let lines = text.lines().count();
                assert!(
                    lines <= 25 + extra,
                    "{}: {lines} lines at 80 columns (at most 25 + {extra}):\n{text}",
                    t.target
                );
            }
            insta::assert_snapshot!(format!("report_{}_{width}", short_name(t)), redact(&text));
        }
    }

    /// The issue's case: a VS 2022 user against the host that runs only the VS 2019 monitor
    /// hears "release mismatch" and which remote tools to install, exit 1; the JSON says the same
    /// in `verdict.ide` and a problem finding.
    fn ide_2022_on_2019(lab: &Lab) {
        let mut args: Vec<&str> = FAST.to_vec();
        args.extend(["--ide", "2022", "dbg2019.lab"]);
        let out = lab
            .scanner(BIN)
            .env("COLUMNS", "80")
            .env("NO_COLOR", "1")
            .args(&args)
            .output()
            .expect("the binary runs");
        let text = String::from_utf8(out.stdout).expect("UTF-8");
        assert_eq!(out.status.code(), Some(1), "{text}");
        assert!(text.contains("release mismatch"), "{text}");
        assert!(text.contains("Visual Studio 2022 remote tools"), "{text}");
        assert!(text.lines().count() <= 25, "{text}");
        insta::assert_snapshot!("report_dbg2019_ide_2022_80", redact(&text));

        let (doc, code, line) = probe(lab, &args);
        assert_eq!(code, 1, "{line}");
        let t = &doc["targets"][0];
        assert_eq!(t["verdict"]["ide"]["release"], "2022", "{line}");
        assert_eq!(t["verdict"]["ide"]["other_release"], "2019", "{line}");
        assert_eq!(t["findings"][0]["code"], "release_mismatch", "{line}");
        assert_eq!(t["findings"][0]["severity"], "problem", "{line}");
    }

    /// On a terminal the TCP verdict is on screen while WS-Discovery still listens: run under
    /// `script` (a pseudo-terminal) against a name whose discovery waits out a 5 s window, the
    /// verdict arrives, and the footer only once the window has closed (seconds later, so the
    /// reads cannot merge them). The pieces make the same report as a pipe gets.
    fn streamed_on_a_terminal(lab: &Lab) {
        use std::io::{BufRead, BufReader};
        let args = format!("{BIN} --timeout 600ms --discovery-wait 5s mixed.lab");
        let mut child = lab
            .scanner("script")
            .args(["-qfec", &args, "/dev/null"])
            .env("COLUMNS", "80")
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("script runs");
        let mut reader = BufReader::new(child.stdout.take().unwrap());
        let mut before = String::new();
        while !before.contains("Verdict:") {
            if reader.read_line(&mut before).expect("a line") == 0 {
                break;
            }
        }
        assert!(before.contains("Verdict:"), "no verdict: {before}");
        // Read at once, the report comes in one piece; streamed, nothing of what WS-Discovery
        // decides is there yet (the window closes seconds later).
        let pending = String::from_utf8_lossy(reader.buffer()).into_owned();
        assert!(
            !pending.contains("Probed ") && !before.contains("Probed "),
            "the footer came with the verdict: {before}{pending}"
        );
        let mut after = String::new();
        std::io::Read::read_to_string(&mut reader, &mut after).expect("the rest");
        assert!(child.wait().expect("script exits").success());
        assert!(after.contains("WS-Discovery"), "{after}");
        assert!(after.contains("Probed "), "{after}");
    }

    // ---- ground truth -------------------------------------------------------------------------

    /// Compares one truth target port by port, collecting every mismatch before failing.
    fn check_target(lab: &Lab, common: &[String], t: &TargetTruth) {
        for h in &t.reset_firewall {
            lab.reset_firewall(h).unwrap();
        }
        let mut args: Vec<&str> = common.iter().map(String::as_str).collect();
        args.extend(t.args.iter().map(String::as_str));
        args.push(&t.target);
        let (doc, code, line) = probe(lab, &args);
        let tj = &doc["targets"][0];
        let mut bad = Vec::new();
        if code != t.exit_code {
            bad.push(format!("exit code {code}, expected {}", t.exit_code));
        }
        if tj["verdict"]["status"] != t.status {
            bad.push(format!(
                "verdict {}, expected {}",
                tj["verdict"]["status"], t.status
            ));
        }
        let codes: Vec<&str> = tj["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| str_of(&f["code"]))
            .collect();
        for want in &t.findings_include {
            if !codes.contains(&want.as_str()) {
                bad.push(format!("no finding {want} among {codes:?}"));
            }
        }
        // Names resolve through the scanner's /etc/netns hosts file, by getaddrinfo.
        if tj["host"].as_str().unwrap_or("").parse::<IpAddr>().is_err()
            && tj["resolution"]["source"] != "system"
        {
            bad.push(format!(
                "resolution source {}, expected system",
                tj["resolution"]["source"]
            ));
        }
        let got_addrs: BTreeSet<IpAddr> = tj["addresses"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| str_of(&a["address"]).parse().unwrap())
            .collect();
        let want_addrs: BTreeSet<IpAddr> = t.addresses.iter().map(|a| a.address).collect();
        if got_addrs != want_addrs {
            bad.push(format!("addresses {got_addrs:?}, expected {want_addrs:?}"));
        }
        let got = ports_of(&doc);
        for a in &t.addresses {
            let want = a.by_port().unwrap();
            for (&port, w) in &want {
                let Some(p) = got.get(&(a.address, port)) else {
                    bad.push(format!("{}:{port} was not probed", a.address));
                    continue;
                };
                let at = format!("{}:{port}", a.address);
                if p["state"] != w.state || p["reason"] != w.reason {
                    bad.push(format!(
                        "{at} is {} {}, expected {} {}",
                        p["state"], p["reason"], w.state, w.reason
                    ));
                }
                if let Some(from) = w.icmp_from {
                    if p["icmp"]["from"] != from.to_string() {
                        bad.push(format!(
                            "{at}: ICMP from {}, expected {from}",
                            p["icmp"]["from"]
                        ));
                    }
                }
                if let Some(min) = w.min_attempts {
                    if p["attempts"].as_u64().unwrap_or(0) < u64::from(min) {
                        bad.push(format!(
                            "{at}: {} attempt(s), expected at least {min}",
                            p["attempts"]
                        ));
                    }
                }
                if let Some(proto) = &w.greeting {
                    if p["greeting"]["protocol"] != *proto {
                        bad.push(format!(
                            "{at}: greeting {}, expected {proto}",
                            p["greeting"]
                        ));
                    }
                } else if !p["greeting"].is_null() {
                    bad.push(format!("{at}: unexpected greeting {}", p["greeting"]));
                }
            }
            for (ip, port) in got.keys().filter(|(ip, _)| *ip == a.address) {
                if !want.contains_key(port) {
                    bad.push(format!("{ip}:{port} was probed but is not in the truth"));
                }
            }
        }
        assert!(
            bad.is_empty(),
            "{} ({}): {} mismatch(es):\n  {}\ncommand: {line}\ntarget JSON: {tj:#}",
            t.target,
            t.scenario,
            bad.len(),
            bad.join("\n  ")
        );
    }

    /// The truth names exactly the addresses the lab gives each name, and exactly the ports the
    /// product probes: a typo in truth.json would otherwise make a case test nothing.
    fn truth_matches_topology(truth: &Truth) {
        let spec = LabSpec::standard();
        let mut names: BTreeMap<String, BTreeSet<IpAddr>> = spec
            .names
            .iter()
            .map(|(n, a)| (n.clone(), a.iter().copied().collect()))
            .collect();
        for h in &spec.hosts {
            names.insert(
                format!("{}.lab", h.name),
                h.addresses().into_iter().collect(),
            );
        }
        let mut covered = BTreeSet::new();
        for t in &truth.targets {
            let (host, custom) = match t.target.rsplit_once(':') {
                Some((h, p)) if !h.contains(':') => (h, Some(p.parse::<u16>().unwrap())),
                _ => (t.target.as_str(), None),
            };
            let want: BTreeSet<IpAddr> = t.addresses.iter().map(|a| a.address).collect();
            let lab = names.get(host).cloned().unwrap_or_default();
            assert_eq!(
                want, lab,
                "{}: truth addresses vs. the lab's hosts file",
                t.target
            );
            let mut ports: BTreeSet<u16> = RELEASE_PORTS.into_iter().collect();
            ports.extend(custom);
            for a in &t.addresses {
                let listed: BTreeSet<u16> = a.by_port().unwrap().into_keys().collect();
                assert_eq!(
                    listed, ports,
                    "{} {}: every probed port, once",
                    t.target, a.address
                );
            }
            covered.insert(host.to_string());
        }
        let uncovered: Vec<&String> = names.keys().filter(|n| !covered.contains(*n)).collect();
        assert!(
            uncovered.is_empty(),
            "lab names without ground truth: {uncovered:?}"
        );
    }

    // ---- safety -------------------------------------------------------------------------------

    fn run_ok(mut cmd: std::process::Command) -> String {
        let out = cmd.output().expect("runs");
        assert!(
            out.status.success(),
            "{cmd:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn scanner_has_no_way_out(lab: &Lab) {
        for fam in ["-4", "-6"] {
            let mut c = lab.scanner("ip");
            c.args([fam, "route", "show", "default"]);
            assert_eq!(
                run_ok(c).trim(),
                "",
                "the scanner has a {fam} default route"
            );
        }
        // A route lookup (no packet is sent) for a documentation address outside the lab fails.
        let out = lab
            .scanner("ip")
            .args(["route", "get", "203.0.113.1"])
            .output()
            .unwrap();
        assert!(
            !out.status.success(),
            "the scanner can route outside the lab: {}",
            String::from_utf8_lossy(&out.stdout)
        );
        let mut c = lab.scanner("ip");
        c.args(["-o", "link", "show"]);
        let links: BTreeSet<String> = run_ok(c)
            .lines()
            .filter_map(|l| {
                l.split(": ")
                    .nth(1)
                    .map(|n| n.split('@').next().unwrap().to_string())
            })
            .collect();
        let expected: BTreeSet<String> = ["lo", "lan0", "rt0"].map(String::from).into();
        assert_eq!(links, expected, "the scanner's interfaces");
        // The lab's names exist only in the scanner's mount of /etc/hosts.
        let mut c = lab.scanner("getent");
        c.args(["ahosts", "mixed.lab"]);
        let resolved: BTreeSet<String> = run_ok(c)
            .lines()
            .filter_map(|l| l.split_whitespace().next().map(String::from))
            .collect();
        assert_eq!(
            resolved,
            ["10.231.1.10", "10.231.1.99"].map(String::from).into()
        );
        let root_hosts = std::fs::read_to_string("/etc/hosts").unwrap_or_default();
        assert!(
            !root_hosts.contains(".lab"),
            "lab names leaked into the machine's /etc/hosts"
        );
        let mut c = lab.scanner("cat");
        c.arg("/etc/resolv.conf");
        assert_eq!(run_ok(c).lines().next(), Some("nameserver 127.0.0.1"));
    }

    fn daemons_inside_the_lab(lab: &Lab) {
        lab::tools::daemons_outside_the_lab("wsdd").unwrap();
        let ours = lab::tools::pids_of("wsdd").iter().any(|pid| {
            let ns = std::process::Command::new("ip")
                .args(["netns", "identify", &pid.to_string()])
                .output()
                .unwrap()
                .stdout;
            String::from_utf8_lossy(&ns).trim() == lab.host("wsdd").ns
        });
        assert!(ours, "no wsdd runs in this lab's wsdd host");
        // Every fixture process (listeners, publisher) of any lab runs in a lab namespace.
        let fixtures = std::process::Command::new("pgrep")
            .args(["-f", lab::FIXTURE])
            .output()
            .unwrap();
        for pid in String::from_utf8_lossy(&fixtures.stdout).split_whitespace() {
            let ns = std::process::Command::new("ip")
                .args(["netns", "identify", pid])
                .output()
                .unwrap()
                .stdout;
            let ns = String::from_utf8_lossy(&ns);
            // `ip netns exec NS python3 fixture.py` matches while it is still `ip` entering the
            // namespace, and a fixture of another case may end between pgrep and here: only a
            // live process that is the fixture itself counts.
            let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            let argv0 = cmdline.split(|b| *b == 0).next().unwrap_or_default();
            let launcher = argv0.rsplit(|b| *b == b'/').next() == Some(&b"ip"[..]);
            if cmdline.is_empty() || launcher {
                continue;
            }
            assert!(
                ns.trim().starts_with("mpl-"),
                "fixture pid {pid} runs outside the lab ('{}')",
                ns.trim()
            );
        }
    }

    // ---- self-connect -------------------------------------------------------------------------

    /// Restores a scanner sysctl when the case ends, pass or fail.
    struct SysctlGuard<'a> {
        lab: &'a Lab,
        key: &'static str,
        old: String,
    }

    impl Drop for SysctlGuard<'_> {
        fn drop(&mut self) {
            let _ = self.lab.set_scanner_sysctl(self.key, &self.old);
        }
    }

    /// With one ephemeral port P, a connect to 127.0.0.1:P (nothing listening) can only connect to
    /// itself (TCP simultaneous open): that proves nothing and must never be reported open.
    fn self_connect(lab: &Lab) {
        const P: u16 = 40123;
        let key = "net.ipv4.ip_local_port_range";
        let old = lab.set_scanner_sysctl(key, &format!("{P} {P}")).unwrap();
        let _restore = SysctlGuard { lab, key, old };
        let p = P.to_string();
        let mut args = FAST.to_vec();
        args.extend(["-r", "2022", "-p", &p, "127.0.0.1"]);
        let (doc, code, line) = probe(lab, &args);
        let ports = ports_of(&doc);
        let sc = ports[&("127.0.0.1".parse().unwrap(), P)];
        assert_eq!(
            (str_of(&sc["state"]), str_of(&sc["reason"])),
            ("closed", "self-connect"),
            "{line}: {sc:#}"
        );
        // Re-probed a fixed number of times whatever --retries says (src/engine.rs).
        let attempts = 1 + msvsmon_probe_core::SELF_CONNECT_RETRIES;
        assert_eq!(
            sc["attempts"], attempts,
            "a self-connect is retried, then reported: {sc:#}"
        );
        for ((_, port), p) in &ports {
            assert_ne!(p["state"], "open", "{line}: port {port} reported open");
        }
        assert_eq!(code, 1, "{line}: nothing is reachable");
        assert_eq!(doc["targets"][0]["verdict"]["status"], "not_reachable");
    }

    // ---- name resolution ----------------------------------------------------------------------

    /// The scanner's own DNS server (fixture.py dns, on the loopback its resolv.conf names)
    /// answers NXDOMAIN, an empty answer, SERVFAIL, or nothing: the report tells each failure by
    /// the resolver's code, and a run where nothing resolved exits 3. Then a system resolver
    /// that keeps asking a server that never answers: the run's own deadline ends the wait, and
    /// an interrupt ends the run at once.
    fn resolution_failures(lab: &Lab) {
        use std::io::{BufRead, BufReader};
        use std::sync::mpsc;
        struct Stop(std::process::Child);
        impl Drop for Stop {
            fn drop(&mut self) {
                let _ = self.0.kill();
                let _ = self.0.wait();
            }
        }
        let mut dns = Stop(
            lab.scanner("python3")
                .args([lab::FIXTURE, "dns"])
                .stdout(std::process::Stdio::piped())
                .spawn()
                .expect("python3 runs in the scanner namespace"),
        );
        // Every line the fixture prints, read as it comes (it says which silent names it got).
        let (said, heard) = mpsc::channel::<String>();
        let fixture_out = dns.0.stdout.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(fixture_out).lines().map_while(Result::ok) {
                if said.send(line).is_err() {
                    return;
                }
            }
        });
        let ready = heard.recv_timeout(std::time::Duration::from_secs(30));
        assert_eq!(
            ready.as_deref().map(str::trim),
            Ok("dns ready"),
            "the DNS fixture did not start"
        );
        let names = [
            "ghost.nxdomain.lab",
            "bare.nodata.lab",
            "broken.servfail.lab",
            "mute.silent.lab",
        ];
        let mut args = vec!["--no-discovery", "--timeout", "300ms"];
        args.extend(names);
        let (doc, code, line) = probe(lab, &args);
        let kinds: Vec<&str> = doc["targets"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| str_of(&t["resolution"]["error_kind"]))
            .collect();
        assert_eq!(
            kinds,
            ["no_such_name", "no_address", "timeout", "timeout"],
            "{line}: {:#}",
            doc["targets"]
        );
        assert_eq!(code, 3, "{line}: nothing resolved");
        for t in doc["targets"].as_array().unwrap() {
            assert_eq!(t["verdict"]["status"], "unresolved", "{line}");
        }
        stuck_resolver(lab, &heard);
    }

    /// glibc told (RES_OPTIONS) to wait 30 s for each of 5 attempts, on a server that never
    /// answers: getaddrinfo would return after minutes, and cannot be cancelled. The tool's 5 s
    /// deadline must be the user's wait (the report comes then, and says so), and Ctrl-C must end
    /// a probe or a scan at once, not when the lookup gives up.
    fn stuck_resolver(lab: &Lab, heard: &std::sync::mpsc::Receiver<String>) {
        use std::process::Stdio;
        use std::sync::mpsc;
        use std::time::Duration;
        // Far below the lookup's own 150 s, far above the 5 s deadline and any start-up time.
        const HUNG: Duration = Duration::from_secs(60);
        let spawn = |args: &[&str]| {
            let mut cmd = lab.scanner(BIN);
            cmd.env("RES_OPTIONS", "timeout:30 attempts:5")
                .args(["--no-discovery", "--timeout", "300ms"])
                .args(args)
                .stdout(Stdio::piped())
                .stderr(Stdio::piped());
            cmd.spawn().expect("the binary runs")
        };
        // The child's output once it ends, or None if it is still running after HUNG.
        let finish = |child: std::process::Child| {
            let (tx, rx) = mpsc::channel();
            std::thread::spawn(move || {
                let _ = tx.send(child.wait_with_output());
            });
            rx.recv_timeout(HUNG).ok().map(|o| o.unwrap())
        };
        let wait_for_query = |name: &str| {
            let want = format!("dns silent {name}");
            loop {
                match heard.recv_timeout(HUNG) {
                    Ok(l) if l.trim() == want => return,
                    Ok(_) => continue,
                    Err(e) => panic!("the lookup of {name} never reached the DNS fixture: {e}"),
                }
            }
        };

        // The deadline: the report is written when it passes, and says so.
        let child = spawn(&["--json", "late.silent.lab"]);
        let out = finish(child).expect("the run outlived its resolution deadline by a minute");
        let doc: Value = serde_json::from_slice(&out.stdout).expect("a JSON report");
        let t = &doc["targets"][0];
        assert_eq!(t["resolution"]["error_kind"], "timeout", "{t:#}");
        assert_eq!(out.status.code(), Some(3), "{t:#}");

        // An interrupt while a lookup hangs, in a probe and in a scan.
        for (args, name) in [
            (vec!["stuck.silent.lab"], "stuck.silent.lab"),
            (
                vec!["--ndjson", "stuck-scan.silent.lab"],
                "stuck-scan.silent.lab",
            ),
        ] {
            let child = spawn(&args);
            wait_for_query(name);
            // SAFETY: kill(2) on our own child's pid (ip netns exec execs the binary).
            unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGINT) };
            let out = finish(child).unwrap_or_else(|| {
                panic!("{args:?}: Ctrl-C did not end the run while a lookup hung")
            });
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(130), "{args:?}: {stderr}");
            assert_eq!(stderr.trim(), "interrupted", "{args:?}");
        }
    }

    // ---- nmap as a peer -----------------------------------------------------------------------

    /// nmap's (state, reason) pairs that agree with one of our results. nmap's `-sT` only sees what
    /// `connect()` returns, so where we read the ICMP error queue (IP_RECVERR) we say more; each arm
    /// says what nmap sees instead. The reason strings are nmap 7.93's, observed in this lab.
    fn nmap_equivalents(state: &str, reason: &str, v6: bool) -> Vec<(&'static str, &'static str)> {
        match (state, reason) {
            ("open", "syn-ack") => vec![("open", "syn-ack")],
            ("closed", "conn-refused") => vec![("closed", "conn-refused")],
            ("filtered", "no-response") => vec![("filtered", "no-response")],
            // Without IPV6_RECVERR, Linux treats an ICMPv6 error to a SYN as a soft error: connect()
            // fails only when the SYN is retransmitted 1 s later. If nmap gave up on the probe by
            // then it says no-response; otherwise it sees the errno, as for IPv4 below, except that
            // admin-prohibited is EACCES on IPv6, which nmap calls admin-prohibited.
            ("rejected", r) if v6 => {
                let mut v = nmap_equivalents(state, r, false);
                if r == "icmp-admin-prohibited" {
                    v = vec![("filtered", "admin-prohibited")];
                }
                v.push(("filtered", "no-response"));
                v
            }
            // connect() returns ECONNREFUSED for an ICMP port-unreachable exactly as for a RST.
            ("rejected", "icmp-port-unreachable") => vec![("closed", "conn-refused")],
            // connect() returns EHOSTUNREACH for each of these; nmap names them all host-unreach.
            (
                "rejected",
                "icmp-admin-prohibited" | "icmp-host-prohibited" | "icmp-host-unreachable",
            ) => {
                vec![("filtered", "host-unreach")]
            }
            ("rejected", "icmp-net-unreachable" | "icmp-net-prohibited") => {
                vec![("filtered", "net-unreach")]
            }
            // ARP/ND failed (ours, or a router's that then sends host-unreachable): connect() gets
            // EHOSTUNREACH after ~0.75 s. nmap sees it only if its probe timeout is longer; after
            // sub-millisecond answers from other lab hosts, nmap shortens that timeout to ~100 ms
            // and gives up first (observed: alone host-unreach, in a multi-host scan no-response).
            ("no_host", "neighbour-unreachable" | "icmp-host-unreachable") => {
                vec![("filtered", "host-unreach"), ("filtered", "no-response")]
            }
            // No route: connect() fails at once with ENETUNREACH.
            ("no_host", "no-route") => vec![("filtered", "net-unreach")],
            _ => vec![],
        }
    }

    fn nmap_agrees(lab: &Lab, v6: bool) {
        let truth = Truth::load().unwrap();
        let addrs: BTreeSet<IpAddr> = truth
            .targets
            .iter()
            .flat_map(|t| t.addresses.iter().map(|a| a.address))
            .filter(|a| a.is_ipv6() == v6)
            .collect();
        let addr_args: Vec<String> = addrs.iter().map(IpAddr::to_string).collect();
        let mut args = FAST.to_vec();
        args.extend(addr_args.iter().map(String::as_str));
        let (doc, _, line) = probe(lab, &args);
        let ours = ports_of(&doc);

        let mut cmd = lab.scanner("nmap");
        cmd.args(NMAP_CONNECT);
        if v6 {
            cmd.arg("-6");
        }
        cmd.args(&addr_args);
        let theirs: BTreeMap<(IpAddr, u16), NmapPort> = nmap::scan(cmd)
            .unwrap()
            .into_iter()
            .map(|p| ((p.address, p.port), p))
            .collect();

        let mut bad = Vec::new();
        let mut compared = 0;
        for (key @ (ip, port), p) in &ours {
            if *port == 4567 {
                continue;
            }
            let Some(n) = theirs.get(key) else {
                bad.push(format!("{ip}:{port}: not in nmap's report"));
                continue;
            };
            let (st, re) = (str_of(&p["state"]), str_of(&p["reason"]));
            let ok = nmap_equivalents(st, re, v6);
            compared += 1;
            if !ok.contains(&(n.state.as_str(), n.reason.as_str())) {
                bad.push(format!(
                    "{ip}:{port}: we say {st} {re}, nmap says {} {} (agreeing: {ok:?})",
                    n.state, n.reason
                ));
            }
        }
        assert!(
            compared >= addrs.len() * RELEASE_PORTS.len(),
            "compared only {compared} ports"
        );
        assert!(
            bad.is_empty(),
            "{} disagreement(s) with nmap:\n  {}\nours: {line}",
            bad.len(),
            bad.join("\n  ")
        );
    }

    // ---- WS-Discovery -------------------------------------------------------------------------

    /// Sends one multicast Probe from the scanner (crates/lab/data/fixture.py wsd-probe) and returns the
    /// replies that answer it: (source, types, xaddrs).
    fn wsd_probe(lab: &Lab, types: &str) -> Vec<(String, String, String)> {
        let mut c = lab.scanner("python3");
        c.args([lab::FIXTURE, "wsd-probe", "--wait", "3", "--types", types]);
        run_ok(c)
            .lines()
            .map(|l| serde_json::from_str::<Value>(l).unwrap())
            .filter(|v| v["relates_to_probe"] == true)
            .map(|v| {
                (
                    str_of(&v["from"]).into(),
                    str_of(&v["types"]).into(),
                    str_of(&v["xaddrs"]).into(),
                )
            })
            .collect()
    }

    fn wsd_responders_answer(lab: &Lab) {
        let wsdd = lab.host("wsdd").spec.v4().to_string();
        let publisher = lab.host("wsdpub").spec.v4().to_string();
        // wsdd answers only a Probe whose Types text is literally wsdp:Device.
        let (device, typeless) = std::thread::scope(|s| {
            let d = s.spawn(|| wsd_probe(lab, "wsdp:Device"));
            let t = s.spawn(|| wsd_probe(lab, ""));
            (d.join().unwrap(), t.join().unwrap())
        });
        assert!(
            device
                .iter()
                .any(|(from, types, _)| *from == wsdd && types.contains("wsdp:Device")),
            "wsdd ({wsdd}) did not answer a wsdp:Device Probe: {device:?}"
        );
        // The publisher matches a Probe without Types (its own type is not wsdp:Device).
        let expected_xaddr = format!("http://{publisher}:4026/msvsmon-lab");
        assert!(
            typeless
                .iter()
                .any(|(from, types, xaddrs)| *from == publisher
                    && types.ends_with(":RemoteDebugger")
                    && xaddrs == &expected_xaddr),
            "the wsdiscovery publisher ({publisher}) did not answer a type-less Probe: {typeless:?}"
        );
        // Nothing answered from outside the LAN.
        for (from, ..) in device.iter().chain(&typeless) {
            assert!(
                from.starts_with("10.231.1."),
                "a WS-Discovery reply came from {from}"
            );
        }
    }

    fn nmap_finds_publisher(lab: &Lab) {
        let mut c = lab.scanner("nmap");
        c.args(["-n", "-e", "lan0", "--script", "broadcast-wsdd-discover"]);
        c.args(["--script-args", "broadcast-wsdd-discover.timeout=3s"]);
        let out = run_ok(c);
        let publisher = lab.host("wsdpub").spec.v4();
        assert!(
            out.contains(&format!("http://{publisher}:4026/msvsmon-lab"))
                && out.contains("RemoteDebugger"),
            "nmap's broadcast-wsdd-discover did not find the publisher:\n{out}"
        );
    }

    // ---- the farm -----------------------------------------------------------------------------

    fn farm_file_is_generated() {
        let gen = concat!(env!("CARGO_MANIFEST_DIR"), "/crates/lab/data/farm_gen.py");
        let out = std::process::Command::new("python3")
            .args([gen, "--check"])
            .output()
            .expect("python3 runs");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let t = FarmTruth::load().unwrap();
        let (low, high): (Vec<Ipv4Addr>, Vec<Ipv4Addr>) =
            t.open_addresses().iter().partition(|a| a.octets()[2] < 128);
        assert!(
            !low.is_empty() && !high.is_empty(),
            "open addresses in both halves"
        );
        assert!(
            t.ports().iter().all(|p| RELEASE_PORTS.contains(p)),
            "{:?}",
            t.ports()
        );
    }

    fn expected(a: Answer) -> (&'static str, &'static str) {
        match a {
            Answer::Open => ("open", "syn-ack"),
            Answer::Reset => ("closed", "conn-refused"),
            Answer::Drop => ("filtered", "no-response"),
        }
    }

    /// A few addresses of each kind, chosen from the truth file, probed as separate targets.
    fn farm_sample_matches(lab: &Lab) {
        let t = lab.farm_truth().unwrap();
        let open = t.open_addresses();
        let (low, high): (Vec<Ipv4Addr>, Vec<Ipv4Addr>) =
            open.iter().partition(|a| a.octets()[2] < 128);
        let mut sample: Vec<Ipv4Addr> = low
            .iter()
            .take(3)
            .chain(high.iter().take(3))
            .copied()
            .collect();
        // Neighbours of open addresses, and one address of each half with nothing open.
        for a in [low[0], high[0]] {
            sample.push(Ipv4Addr::from(u32::from(a) + 1));
        }
        sample.extend(
            [
                Ipv4Addr::new(10, 232, 0, 1),
                Ipv4Addr::new(10, 232, 255, 254),
            ]
            .iter()
            .filter(|a| !open.contains(a)),
        );
        let args_s: Vec<String> = sample.iter().map(Ipv4Addr::to_string).collect();
        let mut args = FAST.to_vec();
        args.extend(args_s.iter().map(String::as_str));
        let (doc, _, line) = probe(lab, &args);
        let ours = ports_of(&doc);
        let mut bad = Vec::new();
        for a in &sample {
            for port in RELEASE_PORTS {
                let want = expected(t.answer(*a, port));
                match ours.get(&(IpAddr::V4(*a), port)) {
                    Some(p) if (str_of(&p["state"]), str_of(&p["reason"])) == want => {}
                    Some(p) => bad.push(format!(
                        "{a}:{port} is {} {}, expected {want:?}",
                        p["state"], p["reason"]
                    )),
                    None => bad.push(format!("{a}:{port} not probed")),
                }
            }
        }
        assert!(bad.is_empty(), "{line}\n  {}", bad.join("\n  "));
    }

    /// nmap over a whole /24 of the reset half and a /28 of the drop half finds exactly the open
    /// pairs of the truth file: the farm is built as the file says.
    fn farm_nmap_sweep_matches(lab: &Lab) {
        let t = lab.farm_truth().unwrap();
        let open = t.open_addresses();
        let busiest = |range: std::ops::Range<u8>| {
            range
                .max_by_key(|c| open.iter().filter(|a| a.octets()[2] == *c).count())
                .unwrap()
        };
        let c24 = busiest(0..128);
        let in_drop = *open.iter().find(|a| a.octets()[2] >= 128).unwrap();
        let block28 = Ipv4Addr::from(u32::from(in_drop) & !0xf);
        let ranges = [format!("10.232.{c24}.0/24"), format!("{block28}/28")];
        let mut cmd = lab.scanner("nmap");
        cmd.args(NMAP_CONNECT).arg("-T4").args(&ranges);
        let found = nmap::scan(cmd).unwrap();
        let mut bad = Vec::new();
        let mut seen = 0;
        for p in &found {
            let IpAddr::V4(a) = p.address else { continue };
            seen += 1;
            let want = t.answer(a, p.port);
            let agrees = match want {
                Answer::Open => p.state == "open",
                Answer::Reset => p.state == "closed",
                Answer::Drop => p.state == "filtered",
            };
            if !agrees {
                bad.push(format!(
                    "{a}:{}: nmap says {} {}, truth {want:?}",
                    p.port, p.state, p.reason
                ));
            }
        }
        assert_eq!(
            seen,
            (256 + 16) * RELEASE_PORTS.len(),
            "nmap reported every port of {ranges:?}"
        );
        assert!(bad.is_empty(), "{}", bad.join("\n"));
    }

    /// A subnet scan of a quarter of the farm (a /18 of each half: 32,768 hosts × 12 ports): every
    /// open pair of the truth file is reported, nothing else is, and every other port has the
    /// state of its half (reset → closed, drop → filtered).
    fn farm_scan_matches(lab: &Lab) {
        let t = lab.farm_truth().unwrap();
        let ranges = ["10.232.64.0/18", "10.232.192.0/18"];
        let mut cmd = lab.scanner(BIN);
        cmd.arg("--ndjson").args(ranges);
        let out = cmd.output().expect("the binary runs");
        let mut found = BTreeSet::new();
        let mut summary = Value::Null;
        for line in String::from_utf8_lossy(&out.stdout).lines() {
            let v: Value = serde_json::from_str(line).expect("NDJSON");
            assert_schema(&v);
            if v["type"] == "summary" {
                summary = v;
                continue;
            }
            for a in v["addresses"].as_array().unwrap() {
                let ip: Ipv4Addr = a["address"].as_str().unwrap().parse().unwrap();
                for p in a["ports"].as_array().unwrap() {
                    if p["state"] == "open" {
                        found.insert((ip, p["port"].as_u64().unwrap() as u16));
                    }
                }
            }
        }
        let in_range = |a: &Ipv4Addr| matches!(a.octets()[2], 64..=127 | 192..=255);
        let want: BTreeSet<(Ipv4Addr, u16)> = t
            .open_addresses()
            .into_iter()
            .filter(in_range)
            .flat_map(|a| RELEASE_PORTS.map(|p| (a, p)))
            .filter(|(a, p)| t.answer(*a, *p) == Answer::Open)
            .collect();
        assert!(!want.is_empty());
        let missed: Vec<_> = want.difference(&found).collect();
        let invented: Vec<_> = found.difference(&want).collect();
        assert!(
            missed.is_empty() && invented.is_empty(),
            "missed {missed:?}, invented {invented:?}"
        );
        let reset_hosts = 16_384u64;
        let drop_hosts = 16_384u64;
        let open_low = want.iter().filter(|(a, _)| a.octets()[2] < 128).count() as u64;
        let open_high = want.len() as u64 - open_low;
        assert_eq!(summary["hosts_scanned"], 32_768);
        assert_eq!(summary["ports"]["open"], want.len() as u64);
        assert_eq!(summary["ports"]["closed"], reset_hosts * 12 - open_low);
        assert_eq!(summary["ports"]["filtered"], drop_hosts * 12 - open_high);
        assert_eq!(summary["interrupted"], false);
        assert_eq!(out.status.code(), Some(0));
    }

    /// What a person sees of a scan of the LAN (the README's Job 2): the debugger hosts on stdout,
    /// one line each in address order, no line over the width; the summary on stderr. Snapshots
    /// at 80 and 120 columns, time, rate and probe count redacted (retries vary).
    fn lan_table_for_people(lab: &Lab) {
        let truth = Truth::load().unwrap();
        for columns in ["80", "120"] {
            for t in &truth.targets {
                for h in &t.reset_firewall {
                    lab.reset_firewall(h).unwrap();
                }
            }
            let out = lab
                .scanner(BIN)
                .env_remove("NO_COLOR")
                .env("COLUMNS", columns)
                .arg("10.231.1.0/24")
                .output()
                .expect("the binary runs");
            assert_eq!(out.status.code(), Some(0));
            let (stdout, stderr) = (
                String::from_utf8(out.stdout).unwrap(),
                String::from_utf8(out.stderr).unwrap(),
            );
            let width: usize = columns.parse().unwrap();
            for l in stdout.lines().chain(stderr.lines()) {
                assert!(l.chars().count() <= width, "over {width} columns: {l:?}");
            }
            let hosts: Vec<IpAddr> = stdout
                .lines()
                .filter(|l| !l.starts_with(' '))
                .map(|l| l.split_whitespace().next().unwrap().parse().unwrap())
                .collect();
            let mut sorted = hosts.clone();
            sorted.sort();
            assert_eq!(hosts, sorted, "by address:\n{stdout}");
            assert!(hosts.len() >= 2, "{stdout}");
            assert!(
                stderr.contains(" debugger host(s) among 256 hosts scanned"),
                "{stderr}"
            );
            insta::with_settings!({filters => vec![
                (r"in \d+\.\d s, \d+ probes", "in [time] s, [n] probes"),
                (r"\(\d+/s\)", "([rate]/s)"),
            ]}, {
                insta::assert_snapshot!(
                    format!("lan_scan_{columns}"),
                    format!("{stdout}--- stderr ---\n{stderr}")
                );
            });
        }
    }

    /// A subnet scan of the whole LAN must say what the single-host truth says, port by port and
    /// reason by reason, for every lab host; every other address has no host behind it, and
    /// must be reported so (not "filtered"): ARP gets no answer there.
    fn lan_sweep_agrees(lab: &Lab) {
        let truth = Truth::load().unwrap();
        for t in &truth.targets {
            for h in &t.reset_firewall {
                lab.reset_firewall(h).unwrap();
            }
        }
        let mut want: BTreeMap<(IpAddr, u16), (String, String)> = BTreeMap::new();
        for t in truth.targets.iter().filter(|t| t.args.is_empty()) {
            for a in &t.addresses {
                let IpAddr::V4(v4) = a.address else { continue };
                if v4.octets()[..3] != [10, 231, 1] {
                    continue;
                }
                for (port, p) in a.by_port().unwrap() {
                    if RELEASE_PORTS.contains(&port) {
                        want.insert((a.address, port), (p.state.clone(), p.reason.clone()));
                    }
                }
            }
        }
        let out = lab
            .scanner(BIN)
            .args([
                "--ndjson",
                "--all",
                "--retries",
                "3",
                "--timeout",
                "600ms",
                "10.231.1.0/24",
            ])
            .output()
            .expect("the binary runs");
        let mut bad = Vec::new();
        let mut hosts = 0;
        for line in String::from_utf8_lossy(&out.stdout).lines() {
            let v: Value = serde_json::from_str(line).expect("NDJSON");
            assert_schema(&v);
            if v["type"] != "host" {
                continue;
            }
            hosts += 1;
            let a = &v["addresses"][0];
            let ip: IpAddr = a["address"].as_str().unwrap().parse().unwrap();
            let last = match ip {
                IpAddr::V4(v4) => v4.octets()[3],
                IpAddr::V6(_) => unreachable!("an IPv4 sweep"),
            };
            for p in a["ports"].as_array().unwrap() {
                let port = p["port"].as_u64().unwrap() as u16;
                let got = (
                    str_of(&p["state"]).to_string(),
                    str_of(&p["reason"]).to_string(),
                );
                let expected = match want.get(&(ip, port)) {
                    Some(w) => w.clone(),
                    // The scanner's own address: its kernel resets.
                    None if last == lab::plan::SCANNER_OCTET => {
                        ("closed".into(), "conn-refused".into())
                    }
                    // Network and broadcast addresses: no host, whatever the reason.
                    None if last == 0 || last == 255 => {
                        if got.0 != "no_host" {
                            bad.push(format!("{ip}:{port} is {got:?}, expected no_host"));
                        }
                        continue;
                    }
                    None => ("no_host".into(), "neighbour-unreachable".into()),
                };
                if got != expected {
                    bad.push(format!("{ip}:{port} is {got:?}, expected {expected:?}"));
                }
            }
        }
        assert_eq!(
            hosts, 256,
            "every address of the /24 is reported with --all"
        );
        assert!(
            bad.is_empty(),
            "{} disagreement(s):\n  {}",
            bad.len(),
            bad.join("\n  ")
        );
    }

    /// More than 65,536 public addresses need --yes. Checked inside the scanner namespace, which
    /// has no route to the internet: should the check ever fail, nothing could leave anyway.
    fn public_range_needs_confirmation(lab: &Lab) {
        let out = lab
            .scanner(BIN)
            .args([
                "--ndjson",
                "--max-targets",
                "1",
                "--timeout",
                "100ms",
                "8.0.0.0/15",
            ])
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert!(
            err.contains("131072 public internet addresses") && err.contains("--yes"),
            "{err}"
        );
        assert!(out.stdout.is_empty());
        let out = lab
            .scanner(BIN)
            .args([
                "--ndjson",
                "--yes",
                "--max-targets",
                "1",
                "--timeout",
                "100ms",
                "8.0.0.0/15",
            ])
            .output()
            .unwrap();
        let (_, summary) = last_json(&out.stdout);
        assert_eq!(
            summary["hosts_scanned"], 1,
            "with --yes it runs (and finds no route)"
        );
        assert_eq!(summary["ports"]["no_host"], 12);
    }

    fn last_json(stdout: &[u8]) -> (usize, Value) {
        let text = String::from_utf8_lossy(stdout);
        let lines: Vec<&str> = text.lines().collect();
        let v = serde_json::from_str(lines.last().expect("output")).expect("JSON");
        assert_schema(&v);
        (lines.len(), v)
    }

    fn no_connection_tracked(lab: &Lab) {
        for ns in [Some(lab.scanner_ns()), lab.router_ns(), lab.farm_ns()]
            .into_iter()
            .flatten()
        {
            let out = lab
                .in_ns(ns, "cat")
                .arg("/proc/sys/net/netfilter/nf_conntrack_count")
                .output()
                .unwrap();
            // No conntrack module at all: nothing can be tracked.
            if out.status.success() {
                let n: u64 = String::from_utf8_lossy(&out.stdout).trim().parse().unwrap();
                assert_eq!(n, 0, "{ns} tracks {n} connection(s)");
            }
        }
    }
}
