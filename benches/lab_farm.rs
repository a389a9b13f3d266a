//! The lab's own cost, and the farm as a workload: how long a farm-only lab takes to build and
//! tear down, and one /24 of the farm probed by msvsmon-probe (every address as a target) and
//! by nmap, each result checked against crates/lab/data/farm_open.txt.
//!
//! Run as root: `cargo bench --bench lab_farm`. Timings are printed, never asserted; the subnet
//! scan benchmarks of the next issue build on the same `LabSpec::farm_only()`.

#[cfg(target_os = "linux")]
fn main() {
    linux::main()
}

#[cfg(not(target_os = "linux"))]
fn main() {
    eprintln!("SKIPPED: the lab benchmark needs Linux network namespaces");
}

/// The lab is Linux network namespaces: everything below is Linux-only.
#[cfg(target_os = "linux")]
mod linux {
    use msvsmon_probe_lab as lab;

    use std::net::{IpAddr, Ipv4Addr};
    use std::time::Instant;

    use lab::{Answer, Lab, LabSpec};

    const BIN: &str = env!("CARGO_BIN_EXE_msvsmon-probe");

    pub fn main() {
        // `cargo test --benches` runs this too; it is a benchmark, so only under `cargo bench`.
        if !std::env::args().any(|a| a == "--bench") {
            return;
        }
        let lab = match Lab::build(&LabSpec::farm_only()) {
            Ok(l) => l,
            Err(why) => {
                if lab::runner::unavailable("bench lab_farm", &why) {
                    std::process::exit(1);
                }
                return;
            }
        };
        println!(
            "farm-only lab built in {:.2} s ({} namespaces)",
            lab.build_time().as_secs_f64(),
            lab.namespaces().len()
        );
        let truth = lab.farm_truth().expect("a farm").clone();
        // The /24 of the reset half with the most open addresses: a sweep answered by SYN-ACK/RST.
        let c = (0u8..128)
            .max_by_key(|c| {
                truth
                    .open_addresses()
                    .iter()
                    .filter(|a| a.octets()[2] == *c)
                    .count()
            })
            .unwrap();
        let addrs: Vec<Ipv4Addr> = (1..=254).map(|d| Ipv4Addr::new(10, 232, c, d)).collect();
        let expected_open = addrs
            .iter()
            .flat_map(|a| lab::plan::RELEASE_PORTS.map(|p| (*a, p)))
            .filter(|(a, p)| truth.answer(*a, *p) == Answer::Open)
            .count();

        let t = Instant::now();
        let out = lab
            .scanner(BIN)
            .args(["--json", "--timeout", "600ms"])
            .args(addrs.iter().map(Ipv4Addr::to_string))
            .output()
            .expect("the binary runs");
        let ours = t.elapsed();
        let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
        let mut ours_open = 0;
        let mut ours_wrong = 0;
        for tj in doc["targets"].as_array().unwrap() {
            for a in tj["addresses"].as_array().unwrap() {
                let ip: Ipv4Addr = a["address"].as_str().unwrap().parse().unwrap();
                for p in a["ports"].as_array().unwrap() {
                    let port = p["port"].as_u64().unwrap() as u16;
                    let open = p["state"] == "open";
                    ours_open += usize::from(open);
                    ours_wrong += usize::from(open != (truth.answer(ip, port) == Answer::Open));
                }
            }
        }

        let t = Instant::now();
        let mut cmd = lab.scanner("nmap");
        cmd.args(["-sT", "-Pn", "-n", "-T4", "-p", "4016-4026,4040"])
            .arg(format!("10.232.{c}.1-254"));
        let nm = lab::nmap::scan(cmd).expect("nmap runs");
        let theirs = t.elapsed();
        let nmap_wrong = nm
            .iter()
            .filter(|p| {
                let IpAddr::V4(a) = p.address else {
                    return true;
                };
                (p.state == "open") != (truth.answer(a, p.port) == Answer::Open)
            })
            .count();

        println!(
            "| sweep of 10.232.{c}.1-254 × 12 ports | time | open found | disagreements with truth |"
        );
        println!("|---|---|---|---|");
        println!(
            "| msvsmon-probe (254 targets) | {:.2} s | {ours_open} of {expected_open} | {ours_wrong} |",
            ours.as_secs_f64()
        );
        println!(
            "| nmap -sT -T4 | {:.2} s | {} of {expected_open} | {nmap_wrong} |",
            theirs.as_secs_f64(),
            nm.iter().filter(|p| p.state == "open").count()
        );
        println!("lab torn down in {:.2} s", lab.teardown().as_secs_f64());
    }
}
