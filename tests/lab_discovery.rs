//! WS-Discovery in the network lab (crates/lab/src/lib.rs) against peers this project did not write:
//! Debian's wsdd, python wsdiscovery, nmap's two WS-Discovery scripts, a hostile responder, and
//! this project's own `msvsmon-probe listen` as the remote machine. Every case runs the real
//! binary in the scanner namespace and reads its `--json` output (checked against the schema).
//!
//! The lab is the standard one plus the hosts of [`spec`]: stand-ins, firewalls on UDP 3702, a
//! hostile responder, a host with 400 addresses where one case starts 400 responders and one
//! where it starts a flooder, a second LAN (`lan1`) with a wsdd, a publisher and a host where one
//! case starts a stand-in, and hosts one router away (unicast only). docs/lab.md has the
//! list. One lab serves every case (`harness = false`, crates/lab/src/runner.rs); as
//! root the lab installs what it lacks, otherwise the cases are skipped loudly (a failure under
//! CI=true). Run one case: `cargo test --test lab_discovery -- wsdd::ipv4_on_the_link`.

#[cfg(target_os = "linux")]
mod support;

#[cfg(target_os = "linux")]
fn main() -> std::process::ExitCode {
    linux::main()
}

#[cfg(not(target_os = "linux"))]
fn main() -> std::process::ExitCode {
    eprintln!("SKIPPED: the lab tests need Linux network namespaces (lab_discovery)");
    std::process::ExitCode::SUCCESS
}

/// The lab is Linux network namespaces: everything below is Linux-only.
#[cfg(target_os = "linux")]
mod linux {
    use super::support::assert_schema;
    use msvsmon_probe_lab as lab;

    use std::collections::BTreeSet;
    use std::io::{BufRead, BufReader};
    use std::net::{IpAddr, Ipv6Addr};
    use std::process::{Child, Command, ExitCode, Stdio};
    use std::sync::{mpsc, Arc, Mutex, OnceLock};
    use std::time::{Duration, Instant};

    use serde_json::Value;

    use lab::hosts::{wsd_publisher, wsdd, WSDD_UUID, WSD_PUBLISHER_SCOPE, WSD_PUBLISHER_TYPE};
    use lab::plan::{crowd_v6, NO_MULTICAST_IF, RELEASE_PORTS};
    use lab::runner::{self, Case};
    use lab::{HostCommand, HostSpec, Lab, LabSpec, Ready};

    const BIN: &str = env!("CARGO_BIN_EXE_msvsmon-probe");

    const DEVPROF_NS: &str = "http://schemas.xmlsoap.org/ws/2006/02/devprof";
    const PUB_NS: &str = "http://schemas.microsoft.com/windows/pub/2005/07";
    const STAND_IN_NS: &str = "http://msvsmon-probe.invalid/ws-discovery/2026/stand-in";
    /// Endpoints of the wsdd instances this target adds (the standard one is [`WSDD_UUID`]).
    const SIDE_WSDD_UUID: &str = "6d3a1f0e-5c2b-4e8a-9f71-0000000000b1";
    const OFF_WSDD_UUID: &str = "6d3a1f0e-5c2b-4e8a-9f71-0000000000c1";
    const DROP_3702: &str = "-A INPUT -p udp --dport 3702 -j DROP";
    /// Responders on the crowd host, one per address (issue 11 named 300: more than the 256 that
    /// one table held for everyone).
    const CROWD: u16 = 400;

    /// `msvsmon-probe listen` with `extra`, ready when its main TCP port and UDP 3702 listen.
    fn listen(extra: &[&str]) -> HostCommand {
        let mut argv = vec![BIN, "listen"];
        argv.extend_from_slice(extra);
        let cmd = HostCommand::new(argv).ready(Ready::Tcp(4026));
        if extra.contains(&"--no-discovery") {
            cmd
        } else {
            cmd.ready(Ready::Udp(3702))
        }
    }

    /// The standard lab (with its wsdd at .30 and python publisher at .31) and:
    ///
    /// | host | where | what |
    /// |---|---|---|
    /// | nmappub .32 | LAN | a second python publisher, only for nmap's UDP scan |
    /// | standin .40 | LAN, +v6 | `listen` |
    /// | standin-bound .41 | LAN, +v6 | `listen --bind 10.231.1.41` |
    /// | standin-nodisc .42 | LAN, +v6 | `listen --no-discovery` |
    /// | hostile .43 | LAN, +v6 | answers every multicast Probe with junk (fixture.py) |
    /// | udpdrop .44 | LAN, +v6 | `listen` behind a firewall that DROPs UDP 3702 |
    /// | udpreject .45 | LAN, +v6 | `listen` behind REJECT admin-prohibited on UDP 3702 |
    /// | crowd .46 | LAN, +v6, and [`CROWD`] more IPv6 addresses | nothing (a case starts `fixture.py wsd-crowd`: a responder per address) |
    /// | flooder .47 | LAN, +v6 | nothing (a case starts `fixture.py wsd-flood`) |
    /// | side-wsdd .30, side-pub .31, side-standin .40 | second LAN (`lan1`) | wsdd, a publisher without a TCP listener, nothing (a case starts `listen`) |
    /// | offpub .10, offwsdd .11, offdrop .12 | behind the router | a publisher, wsdd + a listener on 4026, `listen` + DROP UDP 3702 |
    pub fn spec() -> LabSpec {
        LabSpec::standard()
            .with_no_multicast_interface()
            // nmap's UDP scan of a python wsdiscovery publisher can kill its receive thread: this
            // one is scanned, and nothing else depends on it.
            .with_host(HostSpec::new("nmappub", 32).run(wsd_publisher()))
            .with_host(HostSpec::new("standin", 40).ipv6().run(listen(&[])))
            .with_host(
                HostSpec::new("standin-bound", 41)
                    .ipv6()
                    .run(listen(&["--bind", "{ip4}"])),
            )
            .with_host(
                HostSpec::new("standin-nodisc", 42)
                    .ipv6()
                    .run(listen(&["--no-discovery"])),
            )
            .with_host(
                HostSpec::new("hostile", 43).ipv6().run(
                    HostCommand::new(["python3", "{fixture}", "wsd-hostile", "--interface", "{if}"])
                        .ready(Ready::Udp(3702)),
                ),
            )
            .with_host(
                HostSpec::new("udpdrop", 44)
                    .ipv6()
                    .both_tables(DROP_3702)
                    .run(listen(&[])),
            )
            .with_host(
                HostSpec::new("udpreject", 45)
                    .ipv6()
                    .iptables(
                        "-A INPUT -p udp --dport 3702 -j REJECT --reject-with icmp-admin-prohibited",
                    )
                    .ip6tables(
                        "-A INPUT -p udp --dport 3702 -j REJECT --reject-with icmp6-adm-prohibited",
                    )
                    .run(listen(&[])),
            )
            .with_host(
                HostSpec::new("crowd", 46)
                    .ipv6()
                    .with_addresses((1..=CROWD).map(|n| IpAddr::V6(crowd_v6(n)))),
            )
            .with_host(HostSpec::new("flooder", 47).ipv6())
            .with_host(
                HostSpec::new("side-wsdd", 30)
                    .side()
                    .ipv6()
                    .run(wsdd("SIDE-WSDD", SIDE_WSDD_UUID)),
            )
            .with_host(HostSpec::new("side-pub", 31).side().run(wsd_publisher()))
            .with_host(HostSpec::new("side-standin", 40).side().ipv6())
            .with_host(
                HostSpec::new("offpub", 10)
                    .remote()
                    .with_alias()
                    .run(wsd_publisher()),
            )
            .with_host(
                HostSpec::new("offwsdd", 11)
                    .remote()
                    .with_alias()
                    .listen(&[4026])
                    .run(wsdd("OFF-WSDD", OFF_WSDD_UUID)),
            )
            .with_host(
                HostSpec::new("offdrop", 12)
                    .remote()
                    .iptables(DROP_3702)
                    .run(listen(&[])),
            )
    }

    pub fn main() -> ExitCode {
        let cases = vec![
            Case::lab("safety::everything_runs_inside_the_lab", everything_inside),
            Case::lab("wsdd::ipv4_on_the_link", wsdd_ipv4),
            Case::lab("wsdd::ipv6_link_local_with_zone", wsdd_link_local),
            Case::lab("wsdd::off_the_link", wsdd_off_link),
            Case::lab("python::on_the_link", python_on_link),
            Case::lab("python::off_the_link_unicast_only", python_off_link),
            Case::lab("listen::no_discovery", listen_no_discovery),
            Case::lab("firewall::udp_3702_dropped", firewall_drop),
            Case::lab("firewall::udp_3702_rejected", firewall_reject),
            Case::lab(
                "nmap::unicast_sees_neither_wsdd_nor_python",
                nmap_unicast_blind,
            ),
            // The stand-ins answer at most 50 Probes a second (src/listen.rs), and every
            // concurrent case's multicast Probes reach every stand-in on the LAN: the cases that
            // need their answers run alone, on a quiet link. The first one runs the shared
            // `--discover` of the LAN (lan0_discover) beside nmap's.
            Case::lab("nmap::broadcast_agrees_with_discover", nmap_broadcast).exclusive(),
            Case::lab("listen::found_over_multicast_v4_and_v6", listen_multicast).exclusive(),
            Case::lab("listen::bind_one_address", listen_bind).exclusive(),
            Case::lab("nmap::unicast_agrees_on_listen", nmap_unicast_listen).exclusive(),
            Case::lab("hostile::junk_is_counted_and_the_target_found", hostile).exclusive(),
            // Starts 400 responders and a flooder on the LAN: every --discover would see them.
            Case::lab("crowd::every_responder_listed_beside_a_flooder", crowd).exclusive(),
            // Starts and stops a stand-in on the second LAN: every --discover would see it.
            Case::lab("discover::machines_and_exit_codes", discover_machines).exclusive(),
            // Reads the scanner's UDP counters: nothing else may send meanwhile.
            Case::lab(
                "discover::interface_without_multicast_is_refused",
                discover_no_multicast,
            )
            .exclusive(),
            // Wall-clock bounds: measured alone.
            Case::lab("timing::closed_is_fast_dropped_costs_the_window", timing).exclusive(),
        ];
        runner::main("lab_discovery", cases, spec)
    }

    // ---- running the product ----------------------------------------------------------------

    /// One run of the binary in the scanner namespace with `--json`.
    struct Run {
        doc: Value,
        code: i32,
        line: String,
        wall: Duration,
    }

    impl Run {
        /// The first (or only) target.
        fn target(&self) -> &Value {
            &self.doc["targets"][0]
        }

        fn discovery(&self) -> &Value {
            &self.target()["discovery"]
        }

        /// The `--discover` target (machine) one of whose addresses is `ip`.
        fn machine(&self, ip: &str) -> Option<&Value> {
            self.doc["targets"]
                .as_array()
                .unwrap()
                .iter()
                .find(|t| strs(&t["resolution"]["addresses"]).contains(&ip))
        }

        fn machine_or_panic(&self, ip: &str) -> &Value {
            self.machine(ip).unwrap_or_else(|| {
                panic!(
                    "`{}`: no machine at {ip}; machines: {:?}",
                    self.line,
                    self.machines()
                )
            })
        }

        /// Every machine's addresses.
        fn machines(&self) -> Vec<Vec<String>> {
            self.doc["targets"]
                .as_array()
                .unwrap()
                .iter()
                .map(|t| {
                    strs(&t["resolution"]["addresses"])
                        .iter()
                        .map(|s| s.to_string())
                        .collect()
                })
                .collect()
        }
    }

    fn run_json(lab: &Lab, args: &[&str]) -> Run {
        let mut cmd = lab.scanner(BIN);
        cmd.env_remove("NO_COLOR").arg("--json").args(args);
        let line = format!(
            "ip netns exec {} msvsmon-probe --json {}",
            lab.scanner_ns(),
            args.join(" ")
        );
        let t = Instant::now();
        let out = cmd.output().expect("the binary runs");
        let wall = t.elapsed();
        let stdout = String::from_utf8_lossy(&out.stdout);
        let doc: Value = serde_json::from_str(&stdout).unwrap_or_else(|e| {
            panic!(
                "`{line}` did not print JSON ({e}); stderr: {}\nstdout: {stdout}",
                String::from_utf8_lossy(&out.stderr)
            )
        });
        assert_schema(&doc);
        Run {
            doc,
            code: out.status.code().expect("exited"),
            line,
            wall,
        }
    }

    /// Two runs at the same time (each waits out its own listening window).
    fn side_by_side(lab: &Lab, a: &[&str], b: &[&str]) -> (Run, Run) {
        std::thread::scope(|s| {
            let x = s.spawn(|| run_json(lab, a));
            let y = s.spawn(|| run_json(lab, b));
            (x.join().unwrap(), y.join().unwrap())
        })
    }

    /// `--discover --interface lan0`, run once per lab and shared: one observation of the LAN
    /// that several cases read (the stand-ins, nmap's view, the hostile responder).
    fn lan0_discover(lab: &Lab) -> &'static Run {
        static RUN: OnceLock<Run> = OnceLock::new();
        RUN.get_or_init(|| run_json(lab, &["--discover", "--interface", "lan0"]))
    }

    /// The string `key` of every object of the array `list`.
    fn each<'a>(list: &'a Value, key: &str) -> Vec<&'a str> {
        list.as_array()
            .unwrap_or_else(|| panic!("not an array: {list}"))
            .iter()
            .map(|o| o[key].as_str().unwrap_or_else(|| panic!("no {key} in {o}")))
            .collect()
    }

    fn strs(v: &Value) -> Vec<&str> {
        v.as_array()
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default()
    }

    fn ms(v: &Value) -> f64 {
        v.as_f64().unwrap_or_else(|| panic!("not a number: {v}"))
    }

    fn responders(discovery: &Value) -> &Vec<Value> {
        discovery["responders"].as_array().expect("responders")
    }

    /// Which of our Probes a responder answered: `(route, version, probe)`.
    fn answered(r: &Value) -> BTreeSet<(String, String, String)> {
        r["answered"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| {
                (
                    a["route"].as_str().unwrap().to_string(),
                    a["version"].as_str().unwrap().to_string(),
                    a["probe"].as_str().unwrap().to_string(),
                )
            })
            .collect()
    }

    fn routes_answered(rs: &[&Value]) -> BTreeSet<String> {
        rs.iter().flat_map(|r| answered(r)).map(|a| a.0).collect()
    }

    fn codes(t: &Value) -> Vec<&str> {
        t["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["code"].as_str().unwrap())
            .collect()
    }

    fn finding<'a>(t: &'a Value, code: &str) -> &'a Value {
        t["findings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["code"] == code)
            .unwrap_or_else(|| panic!("no finding {code} among {:?}", codes(t)))
    }

    /// A target has finding `code` at `severity`, and its cause says `part`.
    fn says(t: &Value, code: &str, severity: &str, part: &str) {
        let f = finding(t, code);
        assert_eq!(f["severity"], severity, "{f:#}");
        let cause = f["cause"].as_str().unwrap();
        assert!(cause.contains(part), "'{part}' not in: {cause}");
    }

    /// The state of `port` on `address` of a target.
    fn port_state<'a>(t: &'a Value, address: &str, port: u16) -> &'a str {
        let a = t["addresses"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["address"] == address)
            .unwrap_or_else(|| panic!("no address {address} in {:#}", t["addresses"]));
        let p = a["ports"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["port"] == port)
            .unwrap_or_else(|| panic!("{address}:{port} was not probed"));
        p["state"].as_str().unwrap()
    }

    /// The ICMP error the unicast Probe to `address` drew (a discovery object's `addresses[]`).
    fn icmp_of<'a>(discovery: &'a Value, address: &str) -> &'a Value {
        let a = discovery["addresses"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["address"] == address)
            .unwrap_or_else(|| panic!("no address {address} in {discovery:#}"));
        &a["icmp"]
    }

    /// Every release port was probed on every address of a target (what `--discover` does to
    /// each machine it finds).
    fn every_port_probed(t: &Value) {
        for a in t["addresses"].as_array().unwrap() {
            let ports: BTreeSet<u64> = a["ports"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| p["port"].as_u64().unwrap())
                .collect();
            let want: BTreeSet<u64> = RELEASE_PORTS.iter().map(|p| u64::from(*p)).collect();
            assert_eq!(ports, want, "ports probed on {}", a["address"]);
        }
    }

    /// The address of a discovery address entry or responder source without its `%zone`.
    fn unzoned(s: &str) -> &str {
        s.split('%').next().unwrap()
    }

    /// A host's IPv6 link-local address, as the kernel configured it on its eth0.
    fn link_local(lab: &Lab, host: &str) -> Ipv6Addr {
        let out = lab
            .in_host(host, "ip")
            .args(["-6", "-o", "addr", "show", "dev", "eth0", "scope", "link"])
            .output()
            .expect("ip runs");
        let text = String::from_utf8_lossy(&out.stdout);
        text.split_whitespace()
            .find_map(|w| w.split('/').next()?.parse::<Ipv6Addr>().ok())
            .unwrap_or_else(|| panic!("no link-local address on {host}'s eth0: {text}"))
    }

    /// What a lab process wrote (its stdout and stderr).
    fn log_of(lab: &Lab, label: &str) -> String {
        std::fs::read_to_string(lab.log_dir().join(format!("{label}.log"))).unwrap_or_default()
    }

    /// python wsdiscovery answers after a random 0–500 ms plus up to ~110 ms of its own polling
    /// loop (it sleeps 100 ms when its queue is empty), so under load one of its answers can miss
    /// our 500 ms of grace after the first answer, or the 1 s unicast window. Up to three runs
    /// until `complete` holds: a regression of ours fails every one of them.
    fn python_probe(lab: &Lab, args: &[&str], complete: impl Fn(&Run) -> bool) -> Run {
        let mut run = run_json(lab, args);
        for _ in 0..2 {
            if complete(&run) {
                break;
            }
            run = run_json(lab, args);
        }
        run
    }

    // ---- safety -------------------------------------------------------------------------------

    /// The network namespace a process runs in (`ip netns identify`), empty for the root one.
    fn netns_of(pid: &str) -> String {
        let out = std::process::Command::new("ip")
            .args(["netns", "identify", pid])
            .output()
            .expect("ip runs");
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    /// The daemons run inside the lab: every wsdd and fixture process (of any lab) in a lab
    /// namespace, this lab's stand-ins in their hosts; and the scanner has no default route
    /// (multicast leaves by its LANs only).
    fn everything_inside(lab: &Lab) {
        lab::tools::daemons_outside_the_lab("wsdd").unwrap();
        let fixtures = std::process::Command::new("pgrep")
            .args(["-f", lab::FIXTURE])
            .output()
            .unwrap();
        for pid in String::from_utf8_lossy(&fixtures.stdout).split_whitespace() {
            let ns = netns_of(pid);
            assert!(
                ns.starts_with("mpl-"),
                "fixture pid {pid} runs outside the lab ('{ns}')"
            );
        }
        for host in [
            "standin",
            "standin-bound",
            "standin-nodisc",
            "udpdrop",
            "udpreject",
            "offdrop",
        ] {
            let ns = &lab.host(host).ns;
            let pids = lab::tools::pids_of("msvsmon-probe");
            let here = pids
                .iter()
                .filter(|p| netns_of(&p.to_string()) == *ns)
                .count();
            assert_eq!(here, 1, "one stand-in in {host}");
        }
        for fam in ["-4", "-6"] {
            let out = lab
                .scanner("ip")
                .args([fam, "route", "show", "default"])
                .output()
                .unwrap();
            assert_eq!(
                String::from_utf8_lossy(&out.stdout).trim(),
                "",
                "{fam} default route"
            );
        }
    }

    // ---- wsdd ---------------------------------------------------------------------------------

    /// What every wsdd answer looks like: a Windows computer's Function Discovery publisher,
    /// from port 3702, to the multicast 2005/04 `wsdp:Device` Probe only, without XAddrs.
    fn assert_wsdd_answer(r: &Value, uuid: &str, line: &str) {
        let ctx = format!("{line}\nresponder: {r:#}");
        assert_eq!(r["source_port"], 3702, "{ctx}");
        assert_eq!(r["kind"], "computer", "{ctx}");
        assert_eq!(strs(&r["kinds"]), ["computer"], "{ctx}");
        assert_eq!(r["version"], "2005/04", "{ctx}");
        assert_eq!(r["endpoint"], format!("urn:uuid:{uuid}"), "{ctx}");
        assert_eq!(r["empty"], false, "{ctx}");
        let types: Vec<(&str, &str)> = r["types"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| {
                (
                    t["qname"].as_str().unwrap(),
                    t["namespace"].as_str().unwrap(),
                )
            })
            .collect();
        assert_eq!(
            types,
            [("wsdp:Device", DEVPROF_NS), ("pub:Computer", PUB_NS)],
            "{ctx}"
        );
        assert!(
            strs(&r["xaddrs"]).is_empty(),
            "a ProbeMatch of wsdd has no XAddrs: {ctx}"
        );
        assert_eq!(r["debugger"]["hint"], "nothing", "{ctx}");
        // wsdd ignores type-less Probes, compares the Types text literally, ignores unicast
        // Probes and does not speak 2009.
        let only: BTreeSet<(String, String, String)> =
            [("multicast".into(), "2005/04".into(), "device".into())].into();
        assert_eq!(answered(r), only, "{ctx}");
        // It sends every reply twice (the second 50–250 ms later): counted, not a second
        // responder.
        assert!(r["datagrams"].as_u64().unwrap() >= 2, "{ctx}");
    }

    fn wsdd_ipv4(lab: &Lab) {
        let ip = lab.host("wsdd").spec.v4().to_string();
        let run = run_json(lab, &[&ip]);
        let (t, d, line) = (run.target(), run.discovery(), &run.line);
        assert_eq!(d["status"], "answered", "{line}: {d:#}");
        let a = &d["addresses"][0];
        assert_eq!(
            (&a["reach"], &a["interface"], &a["multicast"]),
            (&"on_link".into(), &"lan0".into(), &true.into()),
            "{line}: {a:#}"
        );
        // wsdd's unicast socket is bound to this address: it reads the unicast Probe and drops
        // it, so there is no ICMP either.
        assert!(a["icmp"].is_null(), "{line}: {a:#}");
        let routes: Vec<(&str, &str)> = d["probes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| {
                assert!(
                    p["datagrams"].as_u64().unwrap() > 0 && p["error"].is_null(),
                    "{p:#}"
                );
                (
                    p["route"].as_str().unwrap(),
                    p["destination"].as_str().unwrap(),
                )
            })
            .collect();
        let unicast = format!("{ip}:3702");
        assert_eq!(
            routes,
            [
                ("multicast", "239.255.255.250:3702"),
                ("unicast", unicast.as_str())
            ],
            "{line}"
        );
        let rs = responders(d);
        assert_eq!(rs.len(), 1, "{line}: {d:#}");
        assert_eq!(rs[0]["source"], ip.as_str(), "{line}");
        assert_wsdd_answer(&rs[0], WSDD_UUID, line);
        assert!(
            d["ignored"]["duplicates"].as_u64().unwrap() >= 1,
            "{line}: {d:#}"
        );
        // Answered: 500 ms more for the host's other services, then done.
        assert_eq!(d["stopped_early"], true, "{line}");
        assert!(ms(&d["elapsed_ms"]) < ms(&d["wait_ms"]), "{line}: {d:#}");
        says(t, "discovery_without_debugger", "info", "pub:Computer");
        assert_eq!(run.code, 1, "{line}: no debugger port on the wsdd host");
    }

    /// The same over IPv6, at wsdd's link-local address with the scanner's zone.
    ///
    /// (Probed at its ULA instead, wsdd answers the ff02::c Probe from its link-local address,
    /// which is not the target's, and refuses the unicast Probe with ICMP port unreachable: its
    /// IPv6 sockets are bound to the link-local address and the group only. The report then
    /// says `closed`: docs/ws-discovery.md, "Known limit: IPv6 targets at a global or ULA address".)
    fn wsdd_link_local(lab: &Lab) {
        let ll = link_local(lab, "wsdd");
        let target = format!("{ll}%lan0");
        let run = run_json(lab, &[&target]);
        let (d, line) = (run.discovery(), &run.line);
        assert_eq!(d["status"], "answered", "{line}: {d:#}");
        assert_eq!(run.target()["addresses"][0]["address"], target.as_str());
        let a = &d["addresses"][0];
        assert_eq!(a["address"], target.as_str(), "{line}: {a:#}");
        assert_eq!(
            (&a["reach"], &a["interface"], &a["multicast"]),
            (&"on_link".into(), &"lan0".into(), &true.into()),
            "{line}: {a:#}"
        );
        assert!(a["icmp"].is_null(), "{line}: {a:#}");
        let probes = d["probes"].as_array().unwrap();
        let multicast = probes.iter().find(|p| p["route"] == "multicast").unwrap();
        assert!(
            multicast["destination"]
                .as_str()
                .unwrap()
                .starts_with("[ff02::c%")
                && multicast["interface"] == "lan0",
            "{line}: {multicast:#}"
        );
        assert!(probes.iter().any(|p| p["route"] == "unicast"));
        let rs = responders(d);
        assert_eq!(rs.len(), 1, "{line}: {d:#}");
        let source: IpAddr = unzoned(rs[0]["source"].as_str().unwrap()).parse().unwrap();
        assert_eq!(source, IpAddr::V6(ll), "{line}");
        assert_wsdd_answer(&rs[0], WSDD_UUID, line);
        assert!(
            d["ignored"]["duplicates"].as_u64().unwrap() >= 1,
            "{line}: {d:#}"
        );
    }

    /// Off the link only the unicast Probe goes, and wsdd never answers one. At an address its
    /// sockets are not bound to (the host's second address) UDP 3702 is closed; at its interface
    /// address wsdd reads the Probe and drops it: no reply. Either way a debugger port there is
    /// not in Find, and off the link that is expected: information, not a warning.
    fn wsdd_off_link(lab: &Lab) {
        let spec = &lab.host("offwsdd").spec;
        let (alias, eth0) = (spec.alias_v4().unwrap().to_string(), spec.v4().to_string());
        let (closed, silent) = side_by_side(lab, &["offwsdd-alias.lab"], &["offwsdd.lab"]);
        for (run, ip, status) in [(&closed, &alias, "closed"), (&silent, &eth0, "no_reply")] {
            let (t, d, line) = (run.target(), run.discovery(), &run.line);
            assert_eq!(d["status"], status, "{line}: {d:#}");
            assert_eq!(d["addresses"][0]["reach"], "off_link", "{line}");
            assert_eq!(
                each(&d["probes"], "route"),
                ["unicast"],
                "{line}: no multicast off the link"
            );
            assert!(ms(&d["wait_ms"]) <= 1000.0, "{line}");
            assert!(responders(d).is_empty(), "{line}: {d:#}");
            assert_eq!(port_state(t, ip, 4026), "open", "{line}");
            assert_eq!(run.code, 0, "{line}");
            says(t, "not_discoverable", "info", "another subnet");
        }
        let d = closed.discovery();
        let icmp = &d["addresses"][0]["icmp"];
        assert_eq!(icmp["kind"], "port-unreachable", "{}: {d:#}", closed.line);
        assert_eq!(icmp["from"], alias.as_str());
        assert_eq!(d["stopped_early"], true, "one round trip: {d:#}");
        assert!(ms(&d["elapsed_ms"]) < 500.0, "{d:#}");
        says(
            closed.target(),
            "not_discoverable",
            "info",
            "UDP 3702 is closed",
        );
        let d = silent.discovery();
        assert!(d["addresses"][0]["icmp"].is_null(), "{d:#}");
        assert_eq!(d["stopped_early"], false, "{d:#}");
    }

    // ---- python wsdiscovery -------------------------------------------------------------------

    /// The python publisher's Types, Scopes and XAddrs, exactly as published.
    fn assert_published(r: &Value, xaddr: &str, ctx: &str) {
        let (ns, prefix, local) = {
            let mut p = WSD_PUBLISHER_TYPE.split(' ');
            (p.next().unwrap(), p.next().unwrap(), p.next().unwrap())
        };
        let t = &r["types"];
        assert_eq!(t.as_array().unwrap().len(), 1, "{ctx}: {r:#}");
        assert_eq!(t[0]["qname"], format!("{prefix}:{local}"), "{ctx}");
        assert_eq!(t[0]["namespace"], ns, "{ctx}");
        assert_eq!(t[0]["local"], local, "{ctx}");
        assert_eq!(strs(&r["scopes"]), [WSD_PUBLISHER_SCOPE], "{ctx}");
        assert_eq!(strs(&r["xaddrs"]), [xaddr], "{ctx}");
        assert_eq!(r["kind"], "unrecognised", "{ctx}");
        // "RemoteDebugger" is in its Type: said in so many words, not claimed as msvsmon.
        assert_eq!(r["debugger"]["hint"], "mentions", "{ctx}");
        assert_eq!(r["empty"], false, "{ctx}");
    }

    fn python_on_link(lab: &Lab) {
        let ip = lab.host("wsdpub").spec.v4().to_string();
        let both = |run: &Run| {
            let rs: Vec<&Value> = responders(run.discovery()).iter().collect();
            rs.len() == 2 && routes_answered(&rs).len() == 2
        };
        let run = python_probe(lab, &["wsdpub.lab"], both);
        let (t, d, line) = (run.target(), run.discovery(), &run.line);
        assert_eq!(d["status"], "answered", "{line}: {d:#}");
        let rs = responders(d);
        assert_eq!(
            rs.len(),
            2,
            "{line}: a match and an empty ProbeMatches: {d:#}"
        );
        let full = rs.iter().find(|r| r["empty"] == false).unwrap();
        let empty = rs.iter().find(|r| r["empty"] == true).unwrap();
        for r in [full, empty] {
            assert_eq!(r["source"], ip.as_str(), "{line}");
            assert_eq!(r["version"], "2005/04", "{line}: it does not speak 2009");
        }
        // An ephemeral source port (a connect()ed socket would never see these answers), the
        // same for every answer.
        let port = full["source_port"].as_u64().unwrap();
        assert!(port != 3702 && port >= 1024, "{line}: source port {port}");
        assert_eq!(empty["source_port"], port, "{line}");
        assert_published(full, &format!("http://{ip}:4026/msvsmon-lab"), line);
        // The type-less Probes match; `wsdp:Device` does not, and gets an empty ProbeMatches.
        assert!(
            answered(full).iter().all(|a| a.2 == "any"),
            "{line}: {full:#}"
        );
        assert!(
            answered(empty).iter().all(|a| a.2 == "device"),
            "{line}: {empty:#}"
        );
        assert_eq!(empty["kind"], "no_match", "{line}");
        assert!(empty["endpoint"].is_null() && empty["types"] == Value::Array(vec![]));
        // Both ways: multicast and unicast.
        let routes = routes_answered(&[full, empty]);
        assert_eq!(
            routes,
            ["multicast".to_string(), "unicast".to_string()].into(),
            "{line}: {d:#}"
        );
        // wsdd and the others on the link answer the multicast Probes too: set aside.
        assert!(
            d["ignored"]["other_hosts"].as_u64().unwrap() > 0,
            "{line}: {d:#}"
        );
        assert_eq!(finding(t, "discovery_answered")["severity"], "info");
        assert_eq!(run.code, 0, "{line}: its 4026 accepts");
    }

    /// One router away: the unicast Probe alone, a window of at most 1 s, and the answer taken
    /// although it comes from the host's router-facing address, not the address probed.
    fn python_off_link(lab: &Lab) {
        let spec = &lab.host("offpub").spec;
        let (alias, eth0) = (spec.alias_v4().unwrap().to_string(), spec.v4().to_string());
        let matched = |run: &Run| {
            responders(run.discovery())
                .iter()
                .any(|r| r["empty"] == false)
        };
        let run = python_probe(lab, &["offpub-alias.lab"], matched);
        let (t, d, line) = (run.target(), run.discovery(), &run.line);
        assert_eq!(d["status"], "answered", "{line}: {d:#}");
        let a = &d["addresses"][0];
        assert_eq!(a["address"], alias.as_str());
        assert_eq!(
            (&a["reach"], &a["multicast"]),
            (&"off_link".into(), &false.into()),
            "{line}: {a:#}"
        );
        let probes = d["probes"].as_array().unwrap();
        assert_eq!(probes.len(), 1, "{line}: {d:#}");
        assert_eq!(probes[0]["route"], "unicast");
        assert_eq!(probes[0]["destination"], format!("{alias}:3702"));
        assert!(ms(&d["wait_ms"]) <= 1000.0, "{line}: {d:#}");
        assert!(ms(&d["elapsed_ms"]) <= 1100.0, "{line}: {d:#}");
        let rs = responders(d);
        assert!(!rs.is_empty());
        for r in rs {
            assert_eq!(
                r["source"],
                eth0.as_str(),
                "{line}: the router-facing address"
            );
            assert_ne!(r["source_port"], 3702, "{line}");
            assert!(
                answered(r).iter().all(|a| a.0 == "unicast"),
                "{line}: {r:#}"
            );
        }
        assert_eq!(d["ignored"]["other_hosts"], 0, "{line}: {d:#}");
        let full = rs.iter().find(|r| r["empty"] == false).unwrap();
        assert_published(full, &format!("http://{eth0}:4026/msvsmon-lab"), line);
        assert_eq!(finding(t, "discovery_without_debugger")["severity"], "info");
    }

    // ---- msvsmon-probe listen -----------------------------------------------------------------

    /// The Find dialog's way (multicast only): the stand-in answers every Probe, over IPv4 and
    /// over IPv6 (from its link-local address), and both are one machine.
    fn listen_multicast(lab: &Lab) {
        let v4 = lab.host("standin").spec.v4().to_string();
        let ll = link_local(lab, "standin");
        let run = lan0_discover(lab);
        let m = run.machine_or_panic(&v4);
        let addrs = strs(&m["resolution"]["addresses"]);
        assert_eq!(addrs, [v4.clone(), format!("{ll}%lan0")], "{}", run.line);
        assert_eq!(m["resolution"]["source"], "discovery");
        let rs = responders(&m["discovery"]);
        assert_eq!(rs.len(), 2, "{}: {:#}", run.line, m["discovery"]);
        let every: BTreeSet<(String, String, String)> = ["2005/04", "2009"]
            .iter()
            .flat_map(|v| {
                ["any", "device"].map(|p| ("multicast".to_string(), v.to_string(), p.to_string()))
            })
            .collect();
        for r in rs {
            assert_eq!(r["kind"], "stand_in", "{r:#}");
            assert_eq!(r["debugger"]["hint"], "stand_in");
            assert_eq!(r["source_port"], 3702);
            assert_eq!(r["endpoint"], rs[0]["endpoint"], "one endpoint");
            assert_eq!(answered(r), every, "{r:#}");
            let ours = r["types"]
                .as_array()
                .unwrap()
                .iter()
                .find(|t| t["local"] == "RemoteDebuggerStandIn")
                .unwrap();
            assert_eq!(ours["namespace"], STAND_IN_NS);
        }
        let sources: BTreeSet<IpAddr> = rs
            .iter()
            .map(|r| unzoned(r["source"].as_str().unwrap()).parse().unwrap())
            .collect();
        assert_eq!(sources, [v4.parse().unwrap(), IpAddr::V6(ll)].into());
        assert_eq!(m["verdict"]["status"], "reachable");
        assert_eq!(finding(m, "stand_in")["severity"], "info");
        every_port_probed(m);
        // The stand-ins behind DROP and REJECT, and the one without discovery, are not listed.
        for host in ["udpdrop", "udpreject", "standin-nodisc"] {
            let ip = lab.host(host).spec.v4().to_string();
            assert!(
                run.machine(&ip).is_none(),
                "{host} answered: {:?}",
                run.machines()
            );
        }
        // It said where it listens: both groups, on its interface.
        let log = log_of(lab, "standin-run0");
        for group in ["239.255.255.250:3702", "[ff02::c]:3702"] {
            assert!(
                log.lines()
                    .any(|l| l.contains(group) && l.contains("multicast on eth0")),
                "{group} not in its banner:\n{log}"
            );
        }
    }

    /// `listen --bind ADDRESS`: its TCP ports and its discovery on that address only.
    fn listen_bind(lab: &Lab) {
        let spec = &lab.host("standin-bound").spec;
        let (v4, v6) = (spec.v4().to_string(), spec.v6().unwrap().to_string());
        let run = run_json(lab, &["standin-bound.lab"]);
        let (t, d, line) = (run.target(), run.discovery(), &run.line);
        assert_eq!(port_state(t, &v4, 4026), "open", "{line}");
        assert_eq!(port_state(t, &v6, 4026), "closed", "{line}");
        assert_eq!(d["status"], "answered", "{line}: {d:#}");
        for r in responders(d) {
            assert_eq!(r["source"], v4.as_str(), "{line}: {r:#}");
            assert_eq!(r["kind"], "stand_in");
            assert_eq!(r["source_port"], 3702);
        }
        assert_eq!(icmp_of(d, &v6)["kind"], "port-unreachable", "{line}: {d:#}");
        // Multicast: the IPv4 group on the interface of that address, and nothing over IPv6.
        let disc = lan0_discover(lab);
        let m = disc.machine_or_panic(&v4);
        assert_eq!(
            strs(&m["resolution"]["addresses"]),
            [v4.as_str()],
            "{}",
            disc.line
        );
        let log = log_of(lab, "standin-bound-run0");
        assert!(log.contains("239.255.255.250:3702"), "{log}");
        assert!(!log.contains("ff02::c"), "{log}");
    }

    /// `listen --no-discovery`, as `msvsmon /nodiscovery`: its ports open, UDP 3702 closed, and
    /// "it will not show in Find" as a warning (it is on the link).
    fn listen_no_discovery(lab: &Lab) {
        let spec = &lab.host("standin-nodisc").spec;
        let run = run_json(lab, &["standin-nodisc.lab"]);
        let (t, d, line) = (run.target(), run.discovery(), &run.line);
        assert_eq!(d["status"], "closed", "{line}: {d:#}");
        for ip in spec.addresses() {
            let ip = ip.to_string();
            assert_eq!(port_state(t, &ip, 4026), "open", "{line}");
            let icmp = icmp_of(d, &ip);
            assert_eq!(icmp["kind"], "port-unreachable", "{line}: {icmp:#}");
            assert_eq!(icmp["from"], ip.as_str(), "{line}: {icmp:#}");
        }
        assert_eq!(d["stopped_early"], true, "{line}");
        says(t, "not_discoverable", "warning", "UDP 3702 is closed");
        assert_eq!(run.code, 0);
    }

    // ---- firewalls ----------------------------------------------------------------------------

    /// A firewall that drops UDP 3702 in front of a stand-in: nothing comes back, the probe
    /// listens for the whole window, every repeat goes out, and a warning says it will not show
    /// in Find.
    fn firewall_drop(lab: &Lab) {
        let run = run_json(lab, &["--discovery-wait", "1500ms", "udpdrop.lab"]);
        let (t, d, line) = (run.target(), run.discovery(), &run.line);
        assert_eq!(d["status"], "no_reply", "{line}: {d:#}");
        assert_eq!(d["stopped_early"], false, "{line}");
        assert_eq!(ms(&d["wait_ms"]), 1500.0);
        let elapsed = ms(&d["elapsed_ms"]);
        assert!((1500.0..2500.0).contains(&elapsed), "{line}: {elapsed} ms");
        for a in d["addresses"].as_array().unwrap() {
            assert!(a["icmp"].is_null(), "{line}: {a:#}");
        }
        for p in d["probes"].as_array().unwrap() {
            // 4 Probes, repeated as SOAP-over-UDP says: 4 times by multicast, twice by unicast.
            let want = if p["route"] == "multicast" { 16 } else { 8 };
            assert_eq!(p["datagrams"], want, "{line}: {p:#}");
            assert!(p["error"].is_null(), "{p:#}");
        }
        assert!(responders(d).is_empty());
        let cause = "no answer to multicast or unicast Probes";
        says(t, "not_discoverable", "warning", cause);
        assert_eq!(run.code, 0, "{line}: its 4026 accepts");
    }

    /// REJECT with admin-prohibited, both families: `rejected` at once, the ICMP named, and no
    /// send error (Linux reports the ICMPv6 as EACCES on the next send: that is the firewall's
    /// answer, not a local failure).
    fn firewall_reject(lab: &Lab) {
        let spec = &lab.host("udpreject").spec;
        let run = run_json(lab, &["udpreject.lab"]);
        let (t, d, line) = (run.target(), run.discovery(), &run.line);
        assert_eq!(d["status"], "rejected", "{line}: {d:#}");
        assert_eq!(d["stopped_early"], true, "{line}");
        assert!(ms(&d["elapsed_ms"]) < 1000.0, "{line}: {d:#}");
        for ip in spec.addresses() {
            let ip = ip.to_string();
            let icmp = icmp_of(d, &ip);
            assert_eq!(icmp["kind"], "admin-prohibited", "{line}: {icmp:#}");
            assert_eq!(icmp["from"], ip.as_str(), "{line}: {icmp:#}");
        }
        for p in d["probes"].as_array().unwrap() {
            assert!(p["error"].is_null(), "{line}: {p:#}");
        }
        let cause = "is rejected (icmp-admin-prohibited";
        says(t, "not_discoverable", "warning", cause);
        assert_eq!(run.code, 0);
    }

    // ---- a hostile responder ------------------------------------------------------------------

    /// fixture.py's hostile host answers every multicast Probe with junk, half a reply, a reply
    /// to a Probe nobody sent and 64 KiB of nesting. Each is counted and set aside; nothing
    /// stalls; the real responders are found as before, and the hostile host is none of them.
    fn hostile(lab: &Lab) {
        let hostile = lab.host("hostile").spec.v4().to_string();
        let wsdd_ip = lab.host("wsdd").spec.v4().to_string();
        let (wsdd_run, standin) = side_by_side(lab, &[&wsdd_ip], &["standin.lab"]);
        for run in [&wsdd_run, &standin] {
            let (d, line) = (run.discovery(), &run.line);
            assert_eq!(d["status"], "answered", "{line}: {d:#}");
            assert!(
                responders(d)
                    .iter()
                    .all(|r| r["source"] != hostile.as_str()),
                "{line}: {d:#}"
            );
            assert_eq!(d["stopped_early"], true, "{line}");
        }
        // wsdd answers only by multicast: its answer had to be read among the hostile's.
        let d = wsdd_run.discovery();
        let ig = &d["ignored"];
        assert!(
            ig["malformed"].as_u64().unwrap() >= 1 && ig["unrelated"].as_u64().unwrap() >= 1,
            "{}: {d:#}",
            wsdd_run.line
        );
        assert!(ms(&d["elapsed_ms"]) < 1500.0, "no stall: {d:#}");
        assert_eq!(responders(d)[0]["kind"], "computer");

        let disc = lan0_discover(lab);
        let x = &disc.doc["discover"];
        assert!(
            disc.machine(&hostile).is_none(),
            "{}: {:?}",
            disc.line,
            disc.machines()
        );
        // One reply to someone else's Probe per multicast Probe datagram it saw (4 Probes sent 4
        // times, each family); junk, halves and 64 KiB datagrams as many again. The kernel may
        // drop some of the big ones when the socket's buffer is full, so at least half.
        let ig = &x["ignored"];
        assert!(ig["unrelated"].as_u64().unwrap() >= 16, "{x:#}");
        assert!(ig["malformed"].as_u64().unwrap() >= 16, "{x:#}");
        assert_eq!(ig["not_parsed"], 0);
        assert!(
            ms(&x["elapsed_ms"]) < ms(&x["wait_ms"]) + 1000.0,
            "no stall: {x:#}"
        );
        assert!(disc.machine(&wsdd_ip).is_some());
        // It did send 64 KiB datagrams to the scanner.
        let log = log_of(lab, "hostile-run0");
        assert!(
            log.lines()
                .any(|l| l.contains("to 10.231.1.2,") && l.ends_with("largest 65507 bytes")),
            "{log}"
        );
    }

    // ---- a crowd and a flooder ----------------------------------------------------------------

    /// What fixture.py's crowd responder `n` (from 1) answers as.
    fn crowd_endpoint(n: u16) -> String {
        format!("urn:uuid:6d3a1f0e-5c2b-4e8a-9f71-c0{n:010x}")
    }

    /// Issue 11: one host hid the rest from `--discover`. Here 400 responders answer from 400
    /// addresses of one host (fixture.py wsd-crowd, as wsdd does: once per Probe, twice each,
    /// within 500 ms) while a flooder answers each Probe from its one address (per family) with
    /// junk and 300 distinct endpoints. Every responder of the crowd is listed, each its own
    /// machine with its own endpoint; the flooder keeps at most its budget and the rest of what it
    /// sent is counted; the real responders of the LAN are found as before, and the exit code is
    /// the one `--discover` documents (0: the stand-in's debugger port is reachable).
    fn crowd(lab: &Lab) {
        let crowd = {
            let mut cmd = lab.in_host("crowd", "python3");
            cmd.arg(lab::FIXTURE)
                .args(["wsd-crowd", "--interface", "eth0"]);
            cmd.args(["--first", &crowd_v6(1).to_string()]);
            cmd.args(["--count", &CROWD.to_string()]);
            start(cmd, "the crowd", "crowd of")
        };
        let flooder = {
            let mut cmd = lab.in_host("flooder", "python3");
            cmd.arg(lab::FIXTURE)
                .args(["wsd-flood", "--interface", "eth0"]);
            start(cmd, "the flooder", "flooder on")
        };
        let dropped = udp_counter(lab, "RcvbufErrors");
        let run = run_json(lab, &["--discover", "--interface", "lan0"]);
        let dropped = udp_counter(lab, "RcvbufErrors") - dropped;
        drop((crowd, flooder));
        let line = &run.line;
        let x = &run.doc["discover"];
        let ctx = format!(
            "{line}: {} machines, {dropped} datagrams dropped by the kernel (full buffer), discover: {}",
            run.machines().len(),
            serde_json::json!({"ignored": x["ignored"], "elapsed_ms": x["elapsed_ms"]})
        );

        // Every one of the crowd, by its address: one machine, one responder, its endpoint.
        let mut missing = Vec::new();
        for n in 1..=CROWD {
            let ip = crowd_v6(n).to_string();
            let Some(m) = run.machine(&ip) else {
                missing.push(ip);
                continue;
            };
            assert_eq!(strs(&m["resolution"]["addresses"]), [ip.as_str()], "{ctx}");
            let rs = responders(&m["discovery"]);
            assert_eq!(rs.len(), 1, "{ctx}: {:#}", m["discovery"]);
            assert_eq!(rs[0]["endpoint"], crowd_endpoint(n).as_str(), "{ctx}");
            assert_eq!(rs[0]["kind"], "computer");
            assert_eq!(m["verdict"]["status"], "not_reachable");
        }
        assert!(missing.is_empty(), "{ctx}: not listed: {missing:?}");

        // The flooder: what it sent past its budget is counted, never kept. 4 Probes per family
        // (it answers each once), each with 100 junk datagrams and 300 endpoints in random
        // order, from one address per family: 1,600 datagrams per address, of which 256 are
        // parsed (so at least 156 replies) and at most 32 responders kept.
        let ig = &x["ignored"];
        let count = |k: &str| ig[k].as_u64().unwrap();
        assert!(count("malformed") >= 100, "{ctx}");
        assert!(count("not_parsed") >= 1600 - 256, "{ctx}");
        assert!(count("over_limit") >= 156 - 32, "{ctx}");
        let flood_ip = lab.host("flooder").spec.v4().to_string();
        let f = run.machine_or_panic(&flood_ip);
        let addresses = strs(&f["resolution"]["addresses"]);
        assert!(addresses.len() <= 2, "{ctx}: {addresses:?}");
        assert!(
            responders(&f["discovery"]).len() <= 2 * 32,
            "{ctx}: {}",
            responders(&f["discovery"]).len()
        );

        // Everyone else on the LAN, as without the crowd.
        for host in ["wsdd", "wsdpub", "standin"] {
            run.machine_or_panic(&lab.host(host).spec.v4().to_string());
        }
        let hostile = lab.host("hostile").spec.v4().to_string();
        assert!(run.machine(&hostile).is_none(), "{ctx}");
        assert_eq!(run.code, 0, "{ctx}: the stand-in is reachable");
        let quiet = lan0_discover(lab);
        assert_eq!(
            run.doc["summary"]["reachable"], quiet.doc["summary"]["reachable"],
            "{ctx}; without the crowd: {}",
            quiet.line
        );
        assert_eq!(x["hosts"], run.machines().len());
        assert!(
            ms(&x["elapsed_ms"]) < ms(&x["wait_ms"]) + 1000.0,
            "no stall: {ctx}"
        );
    }

    // ---- nmap as a second client --------------------------------------------------------------

    /// nmap's text output, split per reply: `(Type, Address)` of each device it lists.
    fn nmap_replies(out: &str) -> Vec<(String, Option<String>)> {
        let mut replies: Vec<(String, Option<String>)> = Vec::new();
        let mut address: Option<String> = None;
        for line in out.lines() {
            let l = line.trim_start_matches('|').trim_start_matches('_').trim();
            if let Some(a) = l.strip_prefix("Address: ") {
                address = Some(a.to_string());
            } else if let Some(t) = l.strip_prefix("Type: ") {
                replies.push((t.to_string(), address.take()));
            } else if l.starts_with("Message id:") {
                address = None;
            }
        }
        replies
    }

    /// How nmap's wsdd library prints a reply's Types: the element's text with leading `w`,
    /// `s`, `d`, `p` and `:` characters stripped (its pattern is `<[^:]*:Types>[wsdp:]*(.*)<`),
    /// so `wsdp:Device msp:X` and `dpws:Device msp:X` both read `Device msp:X`.
    fn as_nmap_prints(types: &str) -> String {
        types
            .trim_start_matches(|c| "wsdp:".contains(c))
            .to_string()
    }

    /// Our responder's Types as nmap would print one of its replies: its 2005/04 reply has the
    /// Types in our list that are not 2009 ones.
    fn nmap_view(r: &Value) -> String {
        let types: Vec<&str> = r["types"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|t| t["namespace"] != "http://docs.oasis-open.org/ws-dd/ns/dpws/2009/01")
            .map(|t| t["qname"].as_str().unwrap())
            .collect();
        as_nmap_prints(&types.join(" "))
    }

    fn nmap(lab: &Lab, args: &[&str]) -> String {
        let out = lab.scanner("nmap").args(args).output().expect("nmap runs");
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(
            out.status.success(),
            "nmap {args:?}: {}\n{text}",
            String::from_utf8_lossy(&out.stderr)
        );
        text
    }

    /// nmap's `wsdd-discover` against `hosts`: a UDP scan of port 3702, then the script's
    /// unicast Probes. -T5: nmap's scripts listen 20 s / (timing level + 1), 3.3 s here.
    fn nmap_wsdd_discover(lab: &Lab, hosts: &[&str]) -> String {
        let mut args = vec!["-n", "-Pn", "-T5", "-sU", "-p", "3702"];
        args.extend(["--script", "wsdd-discover"]);
        args.extend_from_slice(hosts);
        nmap(lab, &args)
    }

    /// `broadcast-wsdd-discover` from the scanner (type-less and WCF 2009 Probes, multicast)
    /// against our `--discover` of the same link.
    fn nmap_broadcast(lab: &Lab) {
        // -T5: nmap's scripts listen 20 s / (timing level + 1), 3.3 s here.
        let (out, ours) = std::thread::scope(|s| {
            let n = s.spawn(|| {
                nmap(
                    lab,
                    &[
                        "-n",
                        "-T5",
                        "-e",
                        "lan0",
                        "--script",
                        "broadcast-wsdd-discover",
                    ],
                )
            });
            let ours = lan0_discover(lab);
            (n.join().unwrap(), ours)
        });
        let theirs = nmap_replies(&out);
        let ctx = format!("nmap:\n{out}\nours: {}", ours.line);
        // The stand-in: every type nmap printed for it is one of ours.
        let standin = ours.machine_or_panic(&lab.host("standin").spec.v4().to_string());
        let r = &responders(&standin["discovery"])[0];
        let want = nmap_view(r);
        assert_eq!(want, "Device msp:RemoteDebuggerStandIn", "{r:#}");
        assert!(
            theirs.iter().any(|(t, _)| *t == want),
            "{want} not listed by nmap: {ctx}"
        );
        // The python publisher: Types and XAddrs as we read them.
        let pub_ip = lab.host("wsdpub").spec.v4().to_string();
        let p = ours.machine_or_panic(&pub_ip);
        let full = responders(&p["discovery"])
            .iter()
            .find(|r| r["empty"] == false)
            .unwrap();
        let xaddr = strs(&full["xaddrs"])[0].to_string();
        assert!(
            theirs.contains(&(nmap_view(full), Some(xaddr.clone()))),
            "({}, {xaddr}) not listed by nmap: {ctx}",
            nmap_view(full)
        );
        // wsdd: we find it, nmap cannot. nmap's Probes are a type-less 2005/04 one (captured
        // from Windows 7) and a 2009 one (WCF); wsdd ignores a Probe without Types and does not
        // speak 2009. Our `wsdp:Device` Probe is the one it answers.
        let w = ours.machine_or_panic(&lab.host("wsdd").spec.v4().to_string());
        assert_eq!(responders(&w["discovery"])[0]["kind"], "computer");
        assert!(
            !theirs.iter().any(|(t, _)| t.contains("Computer")),
            "nmap saw wsdd after all: {ctx}"
        );
    }

    /// `wsdd-discover` (a unicast Probe on a connect()ed socket) against the stand-in: it
    /// answers from port 3702, so nmap sees it, with the Types our probe reads.
    fn nmap_unicast_listen(lab: &Lab) {
        let ip = lab.host("standin").spec.v4().to_string();
        let ours = run_json(lab, &[&ip]);
        let d = ours.discovery();
        assert_eq!(d["status"], "answered", "{}: {d:#}", ours.line);
        let want = nmap_view(&responders(d)[0]);
        let out = nmap_wsdd_discover(lab, &[&ip]);
        let theirs = nmap_replies(&out);
        assert!(
            !theirs.is_empty(),
            "nmap's wsdd-discover found nothing:\n{out}"
        );
        for (t, _) in &theirs {
            assert_eq!(*t, want, "nmap:\n{out}\nours: {d:#}");
        }
    }

    /// `wsdd-discover` against wsdd and a python publisher sees nothing, where we see both:
    /// wsdd ignores unicast Probes (we find it by multicast), and python answers from an
    /// ephemeral port, which nmap's connect()ed socket drops (our unconnected socket reads it).
    /// This publisher is the only one nmap's UDP scan touches (see [`spec`]), and our probe of it
    /// runs first.
    fn nmap_unicast_blind(lab: &Lab) {
        let wsdd_ip = lab.host("wsdd").spec.v4().to_string();
        let pub_ip = lab.host("nmappub").spec.v4().to_string();
        let has_match = |run: &Run| {
            responders(run.discovery())
                .iter()
                .any(|r| r["empty"] == false)
        };
        let py = python_probe(lab, &[&pub_ip], has_match);
        assert_eq!(py.discovery()["status"], "answered", "{}", py.line);
        let port = responders(py.discovery())[0]["source_port"]
            .as_u64()
            .unwrap();
        assert_ne!(port, 3702, "{}", py.line);
        let w = run_json(lab, &[&wsdd_ip]);
        assert_eq!(w.discovery()["status"], "answered", "{}", w.line);
        let out = nmap_wsdd_discover(lab, &[&wsdd_ip, &pub_ip]);
        // Both hosts were scanned (3702 open|filtered: no UDP answer to nmap's probe)…
        for ip in [&wsdd_ip, &pub_ip] {
            assert!(out.contains(&format!("Nmap scan report for {ip}")), "{out}");
        }
        // … and the script printed nothing for either.
        assert!(nmap_replies(&out).is_empty(), "nmap saw a reply:\n{out}");
        assert!(!out.contains("wsdd-discover:"), "{out}");
    }

    // ---- --discover ---------------------------------------------------------------------------

    /// A process started in a lab host for one case; killed on drop. What it printed is kept
    /// (every line, read to the end so it never writes to a closed pipe), for messages.
    struct Started {
        child: Child,
        lines: Arc<Mutex<Vec<String>>>,
    }

    impl Started {
        fn output(&self) -> String {
            self.lines.lock().unwrap().join("\n")
        }
    }

    impl Drop for Started {
        fn drop(&mut self) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }

    /// Starts `cmd` (made by `lab.in_host`) and waits until it prints a line starting with
    /// `ready`.
    fn start(mut cmd: Command, what: &str, ready: &str) -> Started {
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("{what} does not start: {e}"));
        let out = child.stdout.take().unwrap();
        let lines = Arc::new(Mutex::new(Vec::new()));
        let started = Started {
            child,
            lines: lines.clone(),
        };
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                lines.lock().unwrap().push(line.clone());
                let _ = tx.send(line);
            }
        });
        // Bound and serving once it says so.
        let deadline = Instant::now() + Duration::from_secs(20);
        while let Some(left) = deadline.checked_duration_since(Instant::now()) {
            match rx.recv_timeout(left) {
                Ok(l) if l.starts_with(ready) => return started,
                Ok(_) => {}
                Err(_) => break,
            }
        }
        panic!("{what} did not start: {}", started.output());
    }

    /// `msvsmon-probe listen` in `host`.
    fn start_listen(lab: &Lab, host: &str) -> Started {
        let mut cmd = lab.in_host(host, BIN);
        cmd.arg("listen");
        start(cmd, &format!("listen in {host}"), "listening")
    }

    /// `--discover` on the second LAN, where wsdd and a publisher without a debugger answer:
    /// exit 1; with a stand-in started there, exit 0. Then on every interface: both LANs, each
    /// machine once, grouped by endpoint across IPv4 and IPv6.
    fn discover_machines(lab: &Lab) {
        let lan1 = [
            "--discover",
            "--interface",
            "lan1",
            "--discovery-wait",
            "2s",
        ];
        let side_wsdd = lab.host("side-wsdd").spec.v4().to_string();
        let side_pub = lab.host("side-pub").spec.v4().to_string();
        let side_standin = lab.host("side-standin").spec.v4().to_string();

        let none = run_json(lab, &lan1);
        let line = &none.line;
        assert_eq!(none.code, 1, "{line}: no debugger on lan1");
        assert_eq!(none.doc["mode"], "discover");
        assert_eq!(none.doc["summary"]["reachable"], 0);
        let x = &none.doc["discover"];
        assert_eq!(each(&x["interfaces"], "name"), ["lan1"], "{line}");
        for p in x["probes"].as_array().unwrap() {
            assert_eq!(p["interface"], "lan1", "{p:#}");
            assert_eq!(p["route"], "multicast");
        }
        assert_eq!(none.machines().len(), 2, "{line}: {:?}", none.machines());
        assert_eq!(x["hosts"], 2);
        // wsdd over IPv4 and from its link-local address: one endpoint, one machine.
        let ll = link_local(lab, "side-wsdd");
        let w = none.machine_or_panic(&side_wsdd);
        assert_eq!(
            strs(&w["resolution"]["addresses"]),
            [side_wsdd.clone(), format!("{ll}%lan1")],
            "{line}"
        );
        for r in responders(&w["discovery"]) {
            assert_wsdd_answer(r, SIDE_WSDD_UUID, line);
        }
        assert_eq!(w["verdict"]["status"], "not_reachable");
        assert_eq!(finding(w, "discovery_without_debugger")["severity"], "info");
        every_port_probed(w);
        // The publisher: its match and its empty answer, one machine; its XAddrs name 4026,
        // where nothing listens.
        let p = none.machine_or_panic(&side_pub);
        assert_eq!(strs(&p["resolution"]["addresses"]), [side_pub.as_str()]);
        let full = responders(&p["discovery"])
            .iter()
            .find(|r| r["empty"] == false)
            .unwrap();
        assert_published(full, &format!("http://{side_pub}:4026/msvsmon-lab"), line);
        assert_eq!(port_state(p, &side_pub, 4026), "closed");
        every_port_probed(p);

        // A debugger (the stand-in) comes up on lan1.
        let listen = start_listen(lab, "side-standin");
        let one = run_json(lab, &lan1);
        let line = &one.line;
        assert_eq!(one.code, 0, "{line}");
        assert_eq!(one.doc["summary"]["reachable"], 1, "{line}");
        assert_eq!(one.machines().len(), 3, "{line}: {:?}", one.machines());
        let s = one.machine_or_panic(&side_standin);
        let ll = link_local(lab, "side-standin");
        assert_eq!(
            strs(&s["resolution"]["addresses"]),
            [side_standin.clone(), format!("{ll}%lan1")]
        );
        assert_eq!(s["verdict"]["status"], "reachable", "{line}");
        assert_eq!(port_state(s, &side_standin, 4026), "open");
        assert_eq!(port_state(s, &format!("{ll}%lan1"), 4026), "open");
        assert!(codes(s).contains(&"stand_in"));
        every_port_probed(s);
        discover_listing(lab, &lan1);

        // Every interface: both LANs and the router's link, never the one without multicast.
        let all = run_json(lab, &["--discover", "--discovery-wait", "2s"]);
        drop(listen);
        let line = &all.line;
        assert_eq!(all.code, 0, "{line}");
        let names: BTreeSet<&str> = each(&all.doc["discover"]["interfaces"], "name")
            .into_iter()
            .collect();
        assert_eq!(names, ["lan0", "lan1", "rt0"].into(), "{line}");
        let lan_wsdd = lab.host("wsdd").spec.v4().to_string();
        let lan_standin = lab.host("standin").spec.v4().to_string();
        for ip in [
            &side_wsdd,
            &side_pub,
            &side_standin,
            &lan_wsdd,
            &lan_standin,
        ] {
            all.machine_or_panic(ip);
        }
        // Two wsdd hosts, two endpoints: two machines.
        assert_ne!(
            all.machine(&side_wsdd).unwrap()["input"],
            all.machine(&lan_wsdd).unwrap()["input"]
        );
        assert_eq!(all.doc["discover"]["hosts"], all.machines().len());
    }

    /// The human listing of `--discover` on lan1 (wsdd and the stand-in dual-stack, the
    /// publisher IPv4 only): each machine once, its IPv4 address first and its link-local one
    /// beside it with the zone named by interface, one block per endpoint; at 80 columns no line
    /// longer, no word cut (the same words as unwrapped). The unwrapped listing is a snapshot
    /// (link-local addresses named after their hosts; times, counts, UUIDs, the publisher's
    /// source port and the repeats set aside redacted).
    fn discover_listing(lab: &Lab, args: &[&str]) {
        let human = |columns: Option<&str>| {
            let mut cmd = lab.scanner(BIN);
            cmd.env_remove("NO_COLOR").env_remove("COLUMNS");
            if let Some(c) = columns {
                cmd.env("COLUMNS", c);
            }
            let out = cmd.args(args).output().expect("the binary runs");
            assert_eq!(out.status.code(), Some(0), "{args:?}");
            String::from_utf8(out.stdout).unwrap()
        };
        let (wide, narrow) = std::thread::scope(|s| {
            let a = s.spawn(|| human(None));
            let b = s.spawn(|| human(Some("80")));
            (a.join().unwrap(), b.join().unwrap())
        });
        let mut named: Vec<(String, String)> = Vec::new();
        for host in ["side-wsdd", "side-pub", "side-standin"] {
            let v4 = lab.host(host).spec.v4().to_string();
            let header: Vec<&str> = wide.lines().filter(|l| l.starts_with(&v4)).collect();
            assert_eq!(header.len(), 1, "{host} listed once:\n{wide}");
            if host != "side-pub" {
                let ll = format!("{}%lan1", link_local(lab, host));
                assert!(
                    header[0].starts_with(&format!("{v4}, {ll}  ")),
                    "{host}: one line, IPv4 first, the zone by name:\n{wide}"
                );
                assert!(
                    !wide.lines().any(|l| l.starts_with(&ll)),
                    "{host}'s link-local address is not a machine of its own:\n{wide}"
                );
                named.push((ll, format!("fe80::{host}%lan1")));
            }
        }
        let wsdd_blocks = wide
            .matches(&format!("endpoint  urn:uuid:{SIDE_WSDD_UUID}"))
            .count();
        assert_eq!(
            wsdd_blocks, 1,
            "wsdd's IPv4 and IPv6 answers, one block:\n{wide}"
        );
        assert!(
            !wide.split_whitespace().any(|w| w.contains('%')
                && w.split('%')
                    .nth(1)
                    .is_some_and(|z| z.starts_with(|c: char| c.is_ascii_digit()))),
            "zones are interface names, never numbers:\n{wide}"
        );
        for l in narrow.lines() {
            assert!(l.chars().count() <= 80, "over 80 columns: {l:?}\n{narrow}");
        }
        // The same words, times, counts and which Probes a responder answered aside (two runs;
        // python wsdiscovery may miss one): wrapping moved them, never cut one.
        let probe_words = ["multicast", "unicast", "2005/04", "2009", "any", "device"];
        let words = |t: &str| -> Vec<String> {
            t.split_whitespace()
                .filter(|w| !w.chars().next().is_some_and(|c| c.is_ascii_digit()))
                .filter(|w| !probe_words.contains(&w.trim_end_matches(',')))
                .map(String::from)
                .collect()
        };
        assert_eq!(words(&wide), words(&narrow), "80 columns:\n{narrow}");
        let mut shown = wide.clone();
        for (ll, name) in &named {
            shown = shown.replace(ll, name);
        }
        insta::with_settings!({filters => vec![
            (r"fe80::[0-9a-f:]+", "fe80::[scanner]"),
            (r"urn:uuid:[0-9a-f-]{36}", "urn:uuid:[uuid]"),
            (r"\d+(\.\d+)? (ms|s)\b", "[time] $2"),
            (r"\d+ datagram\(s\)", "[n] datagram(s)"),
            (r"· ((multicast|unicast) [^·]*)· first", "· [probes answered] · first"),
            (r"(\d+\.\d+\.\d+\.\d+):\d+ ·", "$1:[port] ·"),
            (r"\n  set aside: [^\n]*\n", "\n"),
        ]}, {
            insta::assert_snapshot!("discover_lan1", shown);
        });
    }

    /// UDP datagrams the scanner namespace has sent (IPv4 and IPv6).
    fn udp_out(lab: &Lab) -> u64 {
        udp_counter(lab, "OutDatagrams")
    }

    /// A UDP counter of the scanner namespace (`OutDatagrams`, `RcvbufErrors` …), IPv4 and IPv6
    /// added up.
    fn udp_counter(lab: &Lab, name: &str) -> u64 {
        let read = |file: &str| {
            let out = lab.scanner("cat").arg(file).output().unwrap();
            String::from_utf8_lossy(&out.stdout).into_owned()
        };
        let snmp = read("/proc/net/snmp");
        let mut udp = snmp.lines().filter(|l| l.starts_with("Udp:"));
        let (head, vals) = (udp.next().unwrap(), udp.next().unwrap());
        let i = head.split_whitespace().position(|h| h == name).unwrap();
        let v4: u64 = vals.split_whitespace().nth(i).unwrap().parse().unwrap();
        let v6: u64 = read("/proc/net/snmp6")
            .lines()
            .find_map(|l| l.strip_prefix(&format!("Udp6{name}")))
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        v4 + v6
    }

    /// `--interface` naming an interface that cannot multicast is bad usage: exit 2, a message
    /// that names it and the usable ones, and not one datagram sent.
    fn discover_no_multicast(lab: &Lab) {
        for bad in [NO_MULTICAST_IF, "lo", "nosuch0"] {
            for json in [false, true] {
                let before = udp_out(lab);
                let mut cmd = lab.scanner(BIN);
                cmd.args(["--discover", "--interface", bad]);
                if json {
                    cmd.arg("--json");
                }
                let out = cmd.output().unwrap();
                let after = udp_out(lab);
                let err = String::from_utf8_lossy(&out.stderr);
                assert_eq!(out.status.code(), Some(2), "--interface {bad}: {err}");
                assert!(
                    out.stdout.is_empty(),
                    "{}",
                    String::from_utf8_lossy(&out.stdout)
                );
                assert!(err.contains(&format!("'{bad}'")), "{err}");
                assert!(
                    err.contains("lan0") && err.contains("lan1"),
                    "names the usable ones: {err}"
                );
                if bad != "nosuch0" {
                    assert!(err.contains("cannot multicast"), "{err}");
                }
                assert_eq!(
                    after,
                    before,
                    "--interface {bad} sent {} datagram(s)",
                    after - before
                );
            }
        }
    }

    // ---- timing -------------------------------------------------------------------------------

    /// Loose bounds, measured alone: a closed host on the link is told in one round trip, with
    /// discovery; a host that drops UDP 3702 costs the window on the link and 1 s off it.
    fn timing(lab: &Lab) {
        let closed = run_json(lab, &["closed.lab"]);
        let d = closed.discovery();
        assert_eq!(d["status"], "closed", "{}: {d:#}", closed.line);
        assert!(ms(&d["elapsed_ms"]) < 250.0, "{d:#}");
        assert!(
            closed.wall < Duration::from_millis(750),
            "{}: {:?} for a closed host on the link",
            closed.line,
            closed.wall
        );

        let (on, off) = side_by_side(lab, &["udpdrop.lab"], &["offdrop.lab"]);
        for (run, window) in [(&on, 3000.0), (&off, 1000.0)] {
            let d = run.discovery();
            assert_eq!(d["status"], "no_reply", "{}: {d:#}", run.line);
            assert_eq!(ms(&d["wait_ms"]), window, "{}", run.line);
            let elapsed = ms(&d["elapsed_ms"]);
            assert!(
                (window..window + 1000.0).contains(&elapsed),
                "{}: listened {elapsed} ms for a window of {window}",
                run.line
            );
            let wall = run.wall.as_secs_f64() * 1000.0;
            assert!(
                (window..window + 1500.0).contains(&wall),
                "{}: took {wall} ms for a window of {window}",
                run.line
            );
        }
    }
}
