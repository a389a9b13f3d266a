//! What the Windows checks (SMB2 NEGOTIATE, NetBIOS node status) cost the default single-host
//! report, in the lab (issue 14): a LAN host that answers everything (Samba's smbd and nmbd, a
//! monitor's port 4026 open, the other release ports closed), probed with the default options
//! and with `--no-windows-checks`, interleaved with nmap's connect scan of the release ports plus
//! its `nbstat` and `smb2-time` scripts, `BENCH_WINDOWS_RUNS` times each (default 15); medians.
//!
//! Run as root: `cargo bench --bench windows_checks` (docs/benchmarks.md). Timings are printed,
//! never asserted. Packets stay inside the lab.

#[cfg(target_os = "linux")]
fn main() {
    linux::main()
}

#[cfg(not(target_os = "linux"))]
fn main() {
    eprintln!("SKIPPED: the windows_checks benchmark needs Linux network namespaces");
}

#[cfg(target_os = "linux")]
mod linux {
    use msvsmon_probe_lab as lab;

    use std::process::Stdio;
    use std::time::{Duration, Instant};

    use lab::hosts::samba;
    use lab::{HostSpec, Lab, LabSpec};

    const BIN: &str = env!("CARGO_BIN_EXE_msvsmon-probe");

    fn spec() -> LabSpec {
        LabSpec {
            hosts: vec![HostSpec::new("smbhost", 60)
                .listen(&[4026])
                .run(samba("nmbd", "SMBHOST", None))
                .run(samba("smbd", "SMBHOST", None))],
            names: Vec::new(),
            lan: true,
            farm: false,
            no_multicast_if: false,
        }
    }

    fn timed(lab: &Lab, program: &str, args: &[&str]) -> Duration {
        let t = Instant::now();
        let st = lab
            .scanner(program)
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .expect("it runs");
        assert!(st.code().is_some());
        t.elapsed()
    }

    fn median(mut v: Vec<Duration>) -> Duration {
        v.sort();
        v[v.len() / 2]
    }

    pub fn main() {
        // `cargo test --benches` runs this too; it is a benchmark, so only under `cargo bench`.
        if !std::env::args().any(|a| a == "--bench") {
            return;
        }
        let lab = match Lab::build(&spec()) {
            Ok(l) => l,
            Err(why) => {
                if lab::runner::unavailable("bench windows_checks", &why) {
                    std::process::exit(1);
                }
                return;
            }
        };
        let runs: usize = std::env::var("BENCH_WINDOWS_RUNS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(15);
        let ip = lab.host("smbhost").spec.v4().to_string();
        let (mut with, mut without, mut nmap) = (Vec::new(), Vec::new(), Vec::new());
        for _ in 0..runs {
            with.push(timed(&lab, BIN, &["--json", &ip]));
            without.push(timed(&lab, BIN, &["--json", "--no-windows-checks", &ip]));
            nmap.push(timed(
                &lab,
                "nmap",
                &[
                    "-Pn",
                    "-n",
                    "-sU",
                    "-sT",
                    "-p",
                    "U:137,T:445,4016-4026,4040",
                    "--script",
                    "nbstat,smb2-time",
                    &ip,
                ],
            ));
        }
        println!(
            "windows_checks: a LAN host answering everything (Samba, 4026 open), {runs} runs each, medians"
        );
        println!("  default (windows checks on)   {:?}", median(with));
        println!("  --no-windows-checks           {:?}", median(without));
        println!("  nmap -sT + nbstat, smb2-time  {:?}", median(nmap));
        lab.teardown();
    }
}
