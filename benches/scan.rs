//! Subnet-scan benchmarks, in the lab's farm and on loopback, against nmap, RustScan and a floor.
//!
//! Run (as root, Linux): `cargo bench --bench scan`. It builds a farm-only lab (scanner → router →
//! a namespace answering for all of 10.232.0.0/16, crates/lab/), compiles the floor
//! (benches/floor.c: a bare epoll connect loop, one thread per core, no retries), installs RustScan
//! with `cargo install rustscan --locked` when it is missing, and prints markdown tables:
//!
//! 1. the farm /16 × the 12 default ports: every tool in the same run, interleaved round by round:
//!    wall time, CPU time, peak RSS, open ports found / missed / invented against
//!    crates/lab/data/farm_open.txt;
//! 2. 127.0.0.0/16 on loopback, everything closed: probes per second against the floor;
//! 3. memory: peak RSS for the /16 and for the first million targets of 10.0.0.0/8.
//!
//! Environment: `BENCH_ROUNDS` (default 3), `BENCH_ONLY` (farm, loopback, memory; comma list),
//! `BENCH_BASELINE` (the path of another msvsmon-probe build, e.g. the last release or the
//! commit before a change: it runs interleaved with this one in the same rounds, and the ratio
//! of the two is printed, so a regression shows against the same machine's noise).
//! Every packet stays in namespaces the bench creates or on loopback; the scanner has no
//! default route. Timings are printed, never asserted.

#[cfg(target_os = "linux")]
fn main() {
    linux::main()
}

#[cfg(not(target_os = "linux"))]
fn main() {
    eprintln!("SKIPPED: the scan benchmarks run in a Linux network-namespace lab");
}

/// The lab is Linux network namespaces: everything below is Linux-only.
#[cfg(target_os = "linux")]
mod linux {
    use msvsmon_probe_lab as lab;

    use std::collections::BTreeSet;
    use std::net::Ipv4Addr;
    use std::path::PathBuf;
    use std::process::Command;
    use std::time::{Duration, Instant};

    use lab::{Lab, LabSpec};

    const BIN: &str = env!("CARGO_BIN_EXE_msvsmon-probe");
    const PORTS: &str = "4016,4017,4018,4019,4020,4021,4022,4023,4024,4025,4026,4040";
    const FARM: &str = "10.232.0.0/16";

    /// What one run of one tool cost and found.
    #[derive(Debug, Clone, Default)]
    struct Run {
        wall: Duration,
        cpu: Duration,
        max_rss_kib: u64,
        open: BTreeSet<(Ipv4Addr, u16)>,
        /// Tools that only count (the floor).
        open_count: Option<usize>,
        exit: i32,
        note: String,
    }

    /// benches/measure.c, compiled once: runs a program and reports its own CPU time and peak
    /// RSS (a child forked from this big process would inherit our resident set).
    fn measure_bin() -> &'static PathBuf {
        static BIN_PATH: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
        BIN_PATH.get_or_init(|| compile("measure", &[]))
    }

    /// A command that runs `program` in the scanner namespace under `measure`.
    fn tool(lab: &Lab, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut cmd = lab.scanner(measure_bin());
        cmd.arg(program);
        cmd
    }

    /// Runs a [`tool`] command; wall time here, CPU time and peak RSS from `measure`'s report.
    fn measure(mut cmd: Command) -> (Run, Vec<u8>) {
        let t = Instant::now();
        let out = cmd.output().expect("the tool starts");
        let wall = t.elapsed();
        let err = String::from_utf8_lossy(&out.stderr);
        let report = err
            .lines()
            .rfind(|l| l.starts_with("MEASURE "))
            .unwrap_or_else(|| panic!("no MEASURE line from {cmd:?}: {err}"));
        let field = |k: &str| -> u64 {
            report
                .split_whitespace()
                .find_map(|kv| kv.strip_prefix(k))
                .and_then(|v| v.parse().ok())
                .unwrap_or(0)
        };
        let note = err
            .lines()
            .rfind(|l| !l.trim().is_empty() && !l.starts_with("MEASURE "))
            .unwrap_or("")
            .chars()
            .take(80)
            .collect();
        (
            Run {
                wall,
                cpu: Duration::from_micros(field("cpu_us=")),
                max_rss_kib: field("maxrss_kib="),
                exit: field("exit=") as i32,
                note,
                ..Default::default()
            },
            out.stdout,
        )
    }

    fn ours(lab: &Lab, target: &str, extra: &[&str]) -> Run {
        build_of(lab, std::path::Path::new(BIN), target, extra)
    }

    /// A run of an msvsmon-probe binary (this build, or `BENCH_BASELINE`'s).
    fn build_of(lab: &Lab, bin: &std::path::Path, target: &str, extra: &[&str]) -> Run {
        let mut cmd = tool(lab, bin);
        cmd.arg("--ndjson").args(extra).arg(target);
        let (mut run, out) = measure(cmd);
        for line in String::from_utf8_lossy(&out).lines() {
            let v: serde_json::Value = serde_json::from_str(line).expect("NDJSON");
            if v["type"] == "summary" {
                if std::env::var_os("BENCH_VERBOSE").is_some() {
                    eprintln!("ours: {line}");
                }
                continue;
            }
            for a in v["addresses"].as_array().unwrap() {
                let ip: Ipv4Addr = a["address"].as_str().unwrap().parse().unwrap();
                for p in a["ports"].as_array().unwrap() {
                    if p["state"] == "open" {
                        run.open.insert((ip, p["port"].as_u64().unwrap() as u16));
                    }
                }
            }
        }
        run
    }

    fn floor(
        lab: &Lab,
        floor_bin: &PathBuf,
        first: &str,
        count: u32,
        concurrency: usize,
        timeout_ms: u64,
    ) -> Run {
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
        let mut cmd = tool(lab, floor_bin);
        cmd.args([
            first.to_string(),
            count.to_string(),
            PORTS.to_string(),
            concurrency.to_string(),
            timeout_ms.to_string(),
            threads.to_string(),
        ]);
        let (mut run, out) = measure(cmd);
        let text = String::from_utf8_lossy(&out);
        run.open_count = text
            .split_whitespace()
            .find_map(|kv| kv.strip_prefix("open="))
            .and_then(|n| n.parse().ok());
        run
    }

    fn nmap(lab: &Lab, target: &str) -> Run {
        let mut cmd = tool(lab, "nmap");
        // The fastest flags that still find every open port of a loss-free farm: no retransmission,
        // aggressive timing, short RTT bounds, as much parallelism as nmap's connect scan takes.
        cmd.args([
            "-sT",
            "-Pn",
            "-n",
            "-T5",
            "--max-retries",
            "0",
            "--min-rtt-timeout",
            "50ms",
            "--max-rtt-timeout",
            "100ms",
            "--initial-rtt-timeout",
            "100ms",
            "--min-hostgroup",
            "4096",
            "--min-parallelism",
            "1024",
            "-p",
            PORTS,
            "-oG",
            "-",
            target,
        ]);
        let (mut run, out) = measure(cmd);
        for line in String::from_utf8_lossy(&out).lines() {
            let Some(rest) = line.strip_prefix("Host: ") else {
                continue;
            };
            let Some(ip) = rest.split_whitespace().next().and_then(|s| s.parse().ok()) else {
                continue;
            };
            let Some((_, ports)) = rest.split_once("Ports: ") else {
                continue;
            };
            for p in ports.split(", ") {
                let f: Vec<&str> = p.split('/').collect();
                if f.len() > 2 && f[1] == "open" {
                    if let Ok(port) = f[0].trim().parse() {
                        run.open.insert((ip, port));
                    }
                }
            }
        }
        run
    }

    fn rustscan_bin() -> Option<PathBuf> {
        let home = std::env::var_os("CARGO_HOME")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))?;
        let bin = home.join("bin/rustscan");
        if !bin.exists() {
            eprintln!("installing RustScan: cargo install rustscan --locked");
            let ok = Command::new("cargo")
                .args(["install", "rustscan", "--locked"])
                .status()
                .map(|s| s.success())
                .unwrap_or(false);
            if !ok {
                return None;
            }
        }
        bin.exists().then_some(bin)
    }

    fn rustscan(lab: &Lab, bin: &PathBuf, target: &str) -> Run {
        let mut cmd = tool(lab, bin);
        // Its documented fast settings: a big batch (bounded by --ulimit), a short timeout, one
        // try, no scripts, greppable output.
        cmd.args([
            "--no-config",
            "-a",
            target,
            "-p",
            PORTS,
            "-b",
            "10000",
            "--ulimit",
            "20000",
            "-t",
            "500",
            "--tries",
            "1",
            "--scripts",
            "none",
            "-g",
        ]);
        let (mut run, out) = measure(cmd);
        for line in String::from_utf8_lossy(&out).lines() {
            let Some((ip, ports)) = line.split_once(" -> ") else {
                continue;
            };
            let Ok(ip) = ip.trim().parse::<Ipv4Addr>() else {
                continue;
            };
            for p in ports.trim_matches(|c| c == '[' || c == ']').split(',') {
                if let Ok(port) = p.trim().parse() {
                    run.open.insert((ip, port));
                }
            }
        }
        run
    }

    fn median(mut v: Vec<Duration>) -> Duration {
        v.sort();
        v[v.len() / 2]
    }

    /// Compiles benches/NAME.c into target/bench-NAME.
    fn compile(name: &str, flags: &[&str]) -> PathBuf {
        let out = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!("target/bench-{name}"));
        let src = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!("benches/{name}.c"));
        let st = Command::new("cc")
            .arg("-O2")
            .args(flags)
            .arg("-o")
            .arg(&out)
            .arg(&src)
            .status()
            .expect("a C compiler (cc)");
        assert!(st.success(), "{} compiles", src.display());
        out
    }

    fn row(name: &str, runs: &[Run], truth: Option<&BTreeSet<(Ipv4Addr, u16)>>) {
        let wall = median(runs.iter().map(|r| r.wall).collect());
        let cpu = median(runs.iter().map(|r| r.cpu).collect());
        let rss = runs.iter().map(|r| r.max_rss_kib).max().unwrap_or(0);
        let last = runs.last().unwrap();
        let found = match (truth, last.open_count) {
            (_, Some(n)) => format!("{n} (count only)"),
            (Some(t), None) => {
                let missed: usize = runs
                    .iter()
                    .map(|r| t.difference(&r.open).count())
                    .max()
                    .unwrap_or(0);
                let invented: usize = runs
                    .iter()
                    .map(|r| r.open.difference(t).count())
                    .max()
                    .unwrap_or(0);
                format!("{} / {missed} / {invented}", last.open.len())
            }
            (None, None) => format!("{}", last.open.len()),
        };
        let exit = if runs.iter().all(|r| r.exit == runs[0].exit) {
            runs[0].exit.to_string()
        } else {
            "varies".into()
        };
        println!(
            "| {name:<16} | {:>8.2} s | {:>8.2} s | {:>7.1} MiB | {found:<22} | {exit:>4} | {} |",
            wall.as_secs_f64(),
            cpu.as_secs_f64(),
            rss as f64 / 1024.0,
            last.note
        );
    }

    /// This build against the baseline's, medians of the same interleaved rounds.
    fn compare_to_baseline(ours: &[Run], base: &[Run]) {
        if base.is_empty() {
            return;
        }
        let wall = |r: &[Run]| median(r.iter().map(|x| x.wall).collect()).as_secs_f64();
        let cpu = |r: &[Run]| median(r.iter().map(|x| x.cpu).collect()).as_secs_f64();
        println!(
            "this build / baseline build: wall {:.3}×, CPU {:.3}×",
            wall(ours) / wall(base),
            cpu(ours) / cpu(base)
        );
    }

    fn header(title: &str) {
        println!("\n### {title}\n");
        println!("| tool             | wall (median) | CPU (median) | peak RSS | open found / missed / invented | exit | last stderr line |");
        println!("|------------------|-----------|-----------|-------------|------------------------|------|---|");
    }

    pub fn main() {
        if !std::env::args().any(|a| a == "--bench") {
            return; // `cargo test --benches` builds this; only `cargo bench` runs it.
        }
        let rounds: usize = std::env::var("BENCH_ROUNDS")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(3);
        let only = std::env::var("BENCH_ONLY").unwrap_or_else(|_| "farm,loopback,memory".into());
        let lab = match Lab::build(&LabSpec::farm_only()) {
            Ok(l) => l,
            Err(why) => {
                if lab::runner::unavailable("bench scan", &why) {
                    std::process::exit(1);
                }
                return;
            }
        };
        let floor_bin = compile("floor", &["-pthread"]);
        let baseline = std::env::var_os("BENCH_BASELINE").map(PathBuf::from);
        if let Some(b) = &baseline {
            assert!(b.is_file(), "BENCH_BASELINE={} is not a file", b.display());
            println!("baseline build: {}", b.display());
        }
        let concurrency = {
            // Same budget as ours: the open-file limit less headroom (the config's rule).
            let mut lim: libc::rlimit = unsafe { std::mem::zeroed() };
            unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) };
            (lim.rlim_max.min(1 << 20) as usize)
                .saturating_sub(64)
                .min(32_768)
        };
        let cpu = std::fs::read_to_string("/proc/cpuinfo")
            .ok()
            .and_then(|c| {
                c.lines()
                    .find(|l| l.starts_with("model name"))
                    .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
            })
            .unwrap_or_default();
        println!(
            "msvsmon-probe scan benchmarks — {} cores ({cpu}), {rounds} round(s), concurrency budget {concurrency}",
            std::thread::available_parallelism().map_or(1, |n| n.get())
        );

        if only.contains("farm") {
            let truth: BTreeSet<(Ipv4Addr, u16)> = {
                let t = lab.farm_truth().expect("a farm");
                t.open_addresses()
                    .iter()
                    .flat_map(|a| lab::plan::RELEASE_PORTS.iter().map(move |p| (*a, *p)))
                    .filter(|(a, p)| t.answer(*a, *p) == lab::Answer::Open)
                    .collect()
            };
            let rs = rustscan_bin();
            let (mut o, mut f, mut n, mut r) = (vec![], vec![], vec![], vec![]);
            let mut b = vec![];
            for round in 0..rounds {
                eprintln!("farm round {}/{rounds}", round + 1);
                o.push(ours(&lab, FARM, &[]));
                if let Some(base) = &baseline {
                    b.push(build_of(&lab, base, FARM, &[]));
                }
                f.push(floor(
                    &lab,
                    &floor_bin,
                    "10.232.0.0",
                    65_536,
                    concurrency,
                    100,
                ));
                n.push(nmap(&lab, FARM));
                if let Some(b) = &rs {
                    r.push(rustscan(&lab, b, FARM));
                }
            }
            header(&format!(
                "Farm: {FARM} × 12 ports ({} open pairs; half the rest reset, half drop)",
                truth.len()
            ));
            row("msvsmon-probe", &o, Some(&truth));
            if !b.is_empty() {
                row("baseline build", &b, Some(&truth));
            }
            row("floor (C, epoll)", &f, Some(&truth));
            row("nmap -sT", &n, Some(&truth));
            if !r.is_empty() {
                row("RustScan", &r, Some(&truth));
            } else {
                println!("| RustScan | not installed (cargo install rustscan --locked failed) |");
            }
            let ratio = median(o.iter().map(|r| r.wall).collect()).as_secs_f64()
                / median(f.iter().map(|r| r.wall).collect()).as_secs_f64();
            println!("\nmsvsmon-probe / floor wall time: {ratio:.2}×");
            compare_to_baseline(&o, &b);
        }

        if only.contains("loopback") {
            let (mut o, mut f, mut b) = (vec![], vec![], vec![]);
            for round in 0..rounds {
                eprintln!("loopback round {}/{rounds}", round + 1);
                o.push(ours(&lab, "127.0.0.0/16", &[]));
                if let Some(base) = &baseline {
                    b.push(build_of(&lab, base, "127.0.0.0/16", &[]));
                }
                f.push(floor(
                    &lab,
                    &floor_bin,
                    "127.0.0.0",
                    65_536,
                    concurrency,
                    100,
                ));
            }
            header("Loopback: 127.0.0.0/16 × 12 ports, all closed (786,432 probes)");
            row("msvsmon-probe", &o, None);
            if !b.is_empty() {
                row("baseline build", &b, None);
            }
            row("floor (C, epoll)", &f, None);
            let pps = |runs: &[Run]| {
                786_432.0 / median(runs.iter().map(|r| r.wall).collect()).as_secs_f64()
            };
            println!(
                "\nprobes/s: msvsmon-probe {:.0}, floor {:.0}; msvsmon-probe / floor wall time: {:.2}×",
                pps(&o),
                pps(&f),
                pps(&f) / pps(&o)
            );
            compare_to_baseline(&o, &b);
        }

        if only.contains("memory") {
            println!("\n### Memory\n");
            println!("| scan | peak RSS | wall |");
            println!("|---|---|---|");
            let r = ours(&lab, FARM, &[]);
            println!(
                "| {FARM} × 12 ports | {:.1} MiB | {:.1} s |",
                r.max_rss_kib as f64 / 1024.0,
                r.wall.as_secs_f64()
            );
            let r = ours(
                &lab,
                "10.0.0.0/8",
                &["--max-targets", "1000000", "--release", "2022"],
            );
            println!(
                "| first 1,000,000 targets of 10.0.0.0/8 × 3 ports (unrouted addresses fail locally) | {:.1} MiB | {:.1} s |",
                r.max_rss_kib as f64 / 1024.0,
                r.wall.as_secs_f64()
            );
        }
    }
}
