//! Retries under loss and the time to a verdict, in the lab (issue 11 item 6, issue 12 item 4).
//!
//! Run as root: `cargo bench --bench loss` (docs/benchmarks.md). Two lab hosts on the LAN:
//! - `loss30`: eight release ports listen (4026 among them), and each incoming SYN to them is
//!   dropped with probability 0.3 (`iptables -m statistic --mode random`); the other four reset,
//!   so the host is up. The single-host probe runs `BENCH_LOSS_RUNS` times (default 1,000; eight
//!   lossy ports per run) and every open port called anything else is counted: the rate, with
//!   its exact 95 % interval, against the 1/1,000 target. `nmap -sT -Pn -n` on the same host
//!   `BENCH_NMAP_LOSS_RUNS` times (default 50) for comparison.
//! - `fwdrop`: 4025 and 4026 listen behind a DROP, the other ports reset: the time to the
//!   verdict (`--no-discovery`, so the ports decide it), median of `BENCH_VERDICT_RUNS` (default
//!   15) runs, interleaved with `nmap -sT -Pn -n` on the same 12 ports.
//!
//! With `BENCH_BASELINE=/path/to/an/older/msvsmon-probe`, that build runs the same cases (the
//! loss case `BENCH_BASELINE_RUNS` times, default 100): the rate and time before.
//!
//! Timings and rates are printed, never asserted. Packets stay inside the lab.

#[cfg(target_os = "linux")]
fn main() {
    linux::main()
}

#[cfg(not(target_os = "linux"))]
fn main() {
    eprintln!("SKIPPED: the loss benchmark needs Linux network namespaces");
}

#[cfg(target_os = "linux")]
mod linux {
    use msvsmon_probe_lab as lab;

    use std::process::Stdio;
    use std::time::{Duration, Instant};

    use lab::{HostSpec, Lab, LabSpec};

    const BIN: &str = env!("CARGO_BIN_EXE_msvsmon-probe");
    /// The release ports, as nmap spells them.
    const PORTS: &str = "4016-4026,4040";
    const LOSSY: [u16; 8] = [4016, 4018, 4019, 4020, 4021, 4022, 4024, 4026];
    const DROPPED: [u16; 2] = [4025, 4026];

    fn env_usize(key: &str, default: usize) -> usize {
        std::env::var(key)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    }

    fn spec() -> LabSpec {
        let lossy: Vec<String> = LOSSY.iter().map(u16::to_string).collect();
        LabSpec {
            hosts: vec![
                HostSpec::new("loss30", 40).listen(&LOSSY).iptables(&format!(
                    "-A INPUT -p tcp --syn -m multiport --dports {} -m statistic --mode random --probability 0.3 -j DROP",
                    lossy.join(",")
                )),
                HostSpec::new("fwdrop", 41)
                    .listen(&DROPPED)
                    .iptables("-A INPUT -p tcp -m multiport --dports 4025,4026 -j DROP"),
            ],
            names: Vec::new(),
            lan: true,
            farm: false,
            no_multicast_if: false,
        }
    }

    /// One single-host probe by `bin`: each port's state and attempts, and the wall time.
    fn probe(lab: &Lab, bin: &str, ip: &str) -> (Vec<(u16, String, u64)>, Duration) {
        let t = Instant::now();
        let out = lab
            .scanner(bin)
            .args(["--json", "--no-discovery", "--greeting-wait", "0", ip])
            .stderr(Stdio::null())
            .output()
            .expect("the binary runs");
        let took = t.elapsed();
        let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
        let ports = doc["targets"][0]["addresses"][0]["ports"]
            .as_array()
            .expect("ports")
            .iter()
            .map(|p| {
                (
                    p["port"].as_u64().unwrap() as u16,
                    p["state"].as_str().unwrap().to_string(),
                    p["attempts"].as_u64().unwrap_or(0),
                )
            })
            .collect();
        (ports, took)
    }

    fn nmap(lab: &Lab, ip: &str) -> Option<(Duration, Vec<lab::nmap::NmapPort>)> {
        let mut cmd = lab.scanner("nmap");
        cmd.args(["-sT", "-Pn", "-n", "-p", PORTS, ip]);
        let t = Instant::now();
        let ports = lab::nmap::scan(cmd).ok()?;
        Some((t.elapsed(), ports))
    }

    fn median(mut v: Vec<Duration>) -> Duration {
        v.sort();
        v[v.len() / 2]
    }

    fn ms(d: Duration) -> String {
        format!("{:.0} ms", d.as_secs_f64() * 1e3)
    }

    /// P(X ≤ k) for X ~ Binomial(n, p).
    fn binom_cdf(k: u64, n: u64, p: f64) -> f64 {
        if p <= 0.0 {
            return 1.0;
        }
        if p >= 1.0 {
            return if k >= n { 1.0 } else { 0.0 };
        }
        let (lp, lq) = (p.ln(), (1.0 - p).ln());
        let mut log_c = 0.0; // ln C(n, i)
        let mut sum = 0.0;
        for i in 0..=k.min(n) {
            if i > 0 {
                log_c += ((n - i + 1) as f64).ln() - (i as f64).ln();
            }
            sum += (log_c + i as f64 * lp + (n - i) as f64 * lq).exp();
        }
        sum.min(1.0)
    }

    /// The exact (Clopper-Pearson) 95 % interval of a rate of `k` in `n`.
    fn interval(k: u64, n: u64) -> (f64, f64) {
        let solve = |f: &dyn Fn(f64) -> bool| {
            // The p where f turns from true to false, by bisection.
            let (mut lo, mut hi) = (0.0f64, 1.0f64);
            for _ in 0..100 {
                let mid = (lo + hi) / 2.0;
                if f(mid) {
                    lo = mid;
                } else {
                    hi = mid;
                }
            }
            lo
        };
        let upper = solve(&|p| binom_cdf(k, n, p) > 0.025);
        let lower = if k == 0 {
            0.0
        } else {
            solve(&|p| 1.0 - binom_cdf(k - 1, n, p) < 0.025)
        };
        (lower, upper)
    }

    struct LossTally {
        runs: usize,
        samples: u64,
        wrong: u64,
        attempts: Vec<u64>,
        times: Vec<Duration>,
    }

    fn loss_runs(lab: &Lab, bin: &str, ip: &str, runs: usize) -> LossTally {
        let mut t = LossTally {
            runs,
            samples: 0,
            wrong: 0,
            attempts: vec![0; 16],
            times: Vec::with_capacity(runs),
        };
        for i in 0..runs {
            let (ports, took) = probe(lab, bin, ip);
            t.times.push(took);
            for (port, state, attempts) in ports {
                if !LOSSY.contains(&port) {
                    continue;
                }
                t.samples += 1;
                if state != "open" {
                    t.wrong += 1;
                    eprintln!("run {i}: port {port} called {state} after {attempts} attempts");
                }
                t.attempts[(attempts as usize).min(15)] += 1;
            }
        }
        t
    }

    fn report_loss(name: &str, t: &LossTally) {
        let rate = t.wrong as f64 / t.samples as f64;
        let (lo, hi) = interval(t.wrong, t.samples);
        println!(
            "| {name} | {} runs × {} ports = {} | {} | {:.4} % | {:.4} – {:.4} % | {} |",
            t.runs,
            LOSSY.len(),
            t.samples,
            t.wrong,
            rate * 100.0,
            lo * 100.0,
            hi * 100.0,
            ms(median(t.times.clone())),
        );
    }

    pub fn main() {
        // `cargo test --benches` runs this too; it is a benchmark, so only under `cargo bench`.
        if !std::env::args().any(|a| a == "--bench") {
            return;
        }
        let lab = match Lab::build(&spec()) {
            Ok(l) => l,
            Err(why) => {
                if lab::runner::unavailable("bench loss", &why) {
                    std::process::exit(1);
                }
                return;
            }
        };
        let baseline = std::env::var("BENCH_BASELINE").ok();
        let lossy = lab.host("loss30").spec.v4().to_string();
        let fw = lab.host("fwdrop").spec.v4().to_string();

        // ---- a 30 %-loss port of an up host ------------------------------------------------
        let runs = env_usize("BENCH_LOSS_RUNS", 1000);
        let t0 = Instant::now();
        let ours = loss_runs(&lab, BIN, &lossy, runs);
        let loss_took = t0.elapsed();
        println!(
            "\n30 % SYN loss on {} of an up host ({lossy}), single-host probe, default flags:\n",
            LOSSY.map(|p| p.to_string()).join(", ")
        );
        println!(
            "| build | port probes | not called open | rate | exact 95 % interval | median run |"
        );
        println!("|---|---|---|---|---|---|");
        report_loss("this build", &ours);
        if let Some(b) = &baseline {
            let t = loss_runs(&lab, b, &lossy, env_usize("BENCH_BASELINE_RUNS", 100));
            report_loss("BENCH_BASELINE", &t);
        }
        let nmap_runs = env_usize("BENCH_NMAP_LOSS_RUNS", 50);
        let mut nm = LossTally {
            runs: nmap_runs,
            samples: 0,
            wrong: 0,
            attempts: Vec::new(),
            times: Vec::new(),
        };
        for _ in 0..nmap_runs {
            let Some((took, ports)) = nmap(&lab, &lossy) else {
                break;
            };
            nm.times.push(took);
            for p in ports.iter().filter(|p| LOSSY.contains(&p.port)) {
                nm.samples += 1;
                nm.wrong += u64::from(p.state != "open");
            }
        }
        nm.runs = nm.times.len();
        if nm.samples > 0 {
            report_loss("nmap -sT -Pn -n", &nm);
        }
        let dist: Vec<String> = ours
            .attempts
            .iter()
            .enumerate()
            .filter(|(_, n)| **n > 0)
            .map(|(a, n)| format!("{a}: {n}"))
            .collect();
        println!(
            "\nthis build's attempts per lossy port (attempts: ports): {}; {:.0} s for its runs",
            dist.join(", "),
            loss_took.as_secs_f64()
        );

        // ---- the time to a verdict on a firewalled LAN host ----------------------------------
        let runs = env_usize("BENCH_VERDICT_RUNS", 15);
        let (mut a, mut b, mut n) = (Vec::new(), Vec::new(), Vec::new());
        let mut wrong = 0usize;
        let mut nmap_wrong = 0usize;
        let mut nmap_missing = false;
        for _ in 0..runs {
            let (ports, took) = probe(&lab, BIN, &fw);
            wrong += ports
                .iter()
                .filter(|(p, s, _)| {
                    let want = if DROPPED.contains(p) {
                        "filtered"
                    } else {
                        "closed"
                    };
                    s != want
                })
                .count();
            a.push(took);
            if let Some(bin) = &baseline {
                b.push(probe(&lab, bin, &fw).1);
            }
            match nmap(&lab, &fw) {
                Some((took, ports)) => {
                    n.push(took);
                    nmap_wrong += ports
                        .iter()
                        .filter(|p| (p.state == "filtered") != DROPPED.contains(&p.port))
                        .count();
                }
                None => nmap_missing = true,
            }
        }
        println!(
            "\nFirewalled LAN host ({fw}: 4025, 4026 dropped, 10 ports reset), 12 ports, median of {runs}:\n"
        );
        println!("| tool | time to verdict | ports misreported (all runs) |");
        println!("|---|---|---|");
        println!(
            "| msvsmon-probe --no-discovery | {} | {wrong} |",
            ms(median(a))
        );
        if !b.is_empty() {
            println!("| BENCH_BASELINE --no-discovery | {} | – |", ms(median(b)));
        }
        if n.is_empty() || nmap_missing {
            println!("| nmap -sT -Pn -n | n/a (nmap did not run) | – |");
        } else {
            println!("| nmap -sT -Pn -n | {} | {nmap_wrong} |", ms(median(n)));
        }
        println!("\nlab torn down in {:.2} s", lab.teardown().as_secs_f64());
    }
}
