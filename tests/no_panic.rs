//! No command line makes the tool panic: generated argument lists, mixing valid, boundary and
//! hostile values of every option, must each end in an exit code the tool documents (or still be
//! running when the test gives up on it), never exit 101 or print "panicked".
//!
//! Every run targets this test's loopback address (or `::1`, or names the hosts file maps to
//! loopback) with `--no-discovery`: nothing is sent anywhere else, and no port there listens, so
//! a probe ends with a reset at once. A run that is still going after [`RUN_LIMIT`] (a watch, a
//! tiny `--rate`) is killed and counts as "no panic so far".
//!
//! The generator is seeded: `MSVSMON_PROBE_ARGV_SEED` replays a failure, and
//! `MSVSMON_PROBE_ARGV_CASES` (default 400) runs more.

mod support;

use std::fs::File;
use std::process::Stdio;
use std::time::{Duration, Instant};

use support::*;

/// How long one run may take before it is killed (and counted as not having panicked).
const RUN_LIMIT: Duration = Duration::from_secs(4);

/// Values of one kind: those an option accepts (some of them), and hostile ones. A run picks a
/// hostile value a quarter of the time, so that most runs get past parsing and probe.
struct Values {
    valid: &'static [&'static str],
    hostile: &'static [&'static str],
}

impl Values {
    fn pick(&self, rng: &mut fastrand::Rng) -> String {
        let from = if rng.u8(..4) == 0 || self.valid.is_empty() {
            self.hostile
        } else {
            self.valid
        };
        from[rng.usize(..from.len())].to_string()
    }
}

const DURATIONS: Values = Values {
    valid: &["1ms", "50ms", "0.2", "1.5", "2s", "10s", "600", "10min"],
    hostile: &[
        "1e99",
        "1e20",
        "1.8446744073709552e19",
        "18446744073709551616",
        "99999999999999999999h",
        "1e308s",
        "-1",
        "-0",
        "0",
        "NaN",
        "inf",
        "1e-300",
        "1ns",
        "601",
        "1h",
        "1day",
        "86401s",
        "",
        "soon",
    ],
};

const COUNTS: Values = Values {
    valid: &[
        "1",
        "2",
        "3",
        "10",
        "512",
        "1000000",
        "18446744073709551615",
    ],
    hostile: &[
        "0",
        "11",
        "1000001",
        "4294967296",
        "18446744073709551616",
        "340282366920938463463374607431768211455",
        "340282366920938463463374607431768211456",
        "-1",
        "1e3",
        "",
    ],
};

const RATES: Values = Values {
    valid: &["50", "1000", "1e7"],
    hostile: &[
        "1e-20", "0.001", "0.01", "0.5", "1e8", "1e300", "inf", "NaN", "0", "-1", "",
    ],
};

const SHARDS: Values = Values {
    valid: &[
        "1/1",
        "1/2",
        "2/2",
        "1/18446744073709551615",
        "18446744073709551615/18446744073709551615",
    ],
    hostile: &["0/1", "2/1", "1/0", "/", "1/18446744073709551616"],
};

const PORTS: Values = Values {
    valid: &["1", "4024", "4026", "65535", "4022,4023", "1,1,1"],
    hostile: &["0", "65536", "-1", "x", ""],
};

const RELEASES: Values = Values {
    valid: &["2019", "2022", "2026", "2012,2013", "app-service"],
    hostile: &["2020", ""],
};

const FORMATS: Values = Values {
    valid: &["human", "json", "ndjson", "prometheus"],
    hostile: &["xml"],
};

const EXCLUSIONS: Values = Values {
    valid: &["10.0.0.1", "224.0.0.1", "::/0"],
    hostile: &["127.0.0.0/8", "0.0.0.0/0", "4024"],
};

/// One generated argument list for a target on `ip` (with `box` mapped to loopback by
/// `hosts`), writing files under `dir`.
fn generate(rng: &mut fastrand::Rng, ip: &str, hosts: &str, dir: &str) -> Vec<String> {
    // Options (with their values) and targets in any order, as people type them.
    let mut units: Vec<Vec<String>> = Vec::new();
    for _ in 0..rng.usize(0..5) {
        let (name, value): (&str, Option<String>) = match rng.usize(0..24) {
            0 => ("--timeout", Some(DURATIONS.pick(rng))),
            1 => ("--min-timeout", Some(DURATIONS.pick(rng))),
            2 => ("--greeting-wait", Some(DURATIONS.pick(rng))),
            3 => ("--discovery-wait", Some(DURATIONS.pick(rng))),
            // A valid watch runs until it is killed: rare, so the test stays quick.
            4 if rng.u8(..) < 24 => ("--watch", Some("1s".into())),
            4 => ("--watch", Some(DURATIONS.hostile[rng.usize(..6)].into())),
            5 => ("--retries", Some(COUNTS.pick(rng))),
            6 => ("--concurrency", Some(COUNTS.pick(rng))),
            7 => ("--max-targets", Some(COUNTS.pick(rng))),
            8 => ("--seed", Some(COUNTS.pick(rng))),
            9 => ("--rate", Some(RATES.pick(rng))),
            10 => ("--shard", Some(SHARDS.pick(rng))),
            11 => ("-p", Some(PORTS.pick(rng))),
            12 => ("--release", Some(RELEASES.pick(rng))),
            13 => ("--format", Some(FORMATS.pick(rng))),
            14 => ("--exclude", Some(EXCLUSIONS.pick(rng))),
            15 => (
                "-o",
                Some(match rng.u8(..4) {
                    0 => dir.to_string(),
                    1 => String::new(),
                    _ => format!("{dir}/out"),
                }),
            ),
            16 => ("--scan", None),
            17 => ("--ndjson", None),
            18 => ("--json", None),
            19 => ("--all", None),
            20 => ("--fail-if-open", None),
            21 => ("-q", None),
            22 => ("--yes", None),
            _ => ("--azure-cloud-service", None),
        };
        units.push(std::iter::once(name.to_string()).chain(value).collect());
    }
    // Usually one target or two; none now and then.
    for _ in 0..[0, 1, 1, 1, 1, 2, 2, 3][rng.usize(..8)] {
        let t = match rng.usize(0..16) {
            0..=6 => ip.to_string(),
            7 => format!("{ip}:4026"),
            8 => format!("{ip}-{ip}"),
            9 => format!("{ip}/32"),
            10 => "::1".into(),
            11 => "[::1]:4024".into(),
            12 | 13 => "box".into(),
            _ => {
                let hostile = [
                    "",
                    "box:0",
                    "[::1]:99999",
                    "127.0.0.1-127.0.0.0",
                    "4024",
                    "lisen",
                ];
                hostile[rng.usize(..hostile.len())].to_string()
            }
        };
        units.push(vec![t]);
    }
    rng.shuffle(&mut units);
    let mut argv: Vec<String> = vec!["--no-discovery".into(), "--hosts-file".into(), hosts.into()];
    argv.extend(units.into_iter().flatten());
    argv
}

/// Runs `argv`; returns (exit code if it exited, stderr, killed).
fn run_bounded(argv: &[String], stderr_path: &std::path::Path) -> (Option<i32>, String, bool) {
    let err = File::create(stderr_path).unwrap();
    let mut child = bin()
        .args(argv)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(err)
        .spawn()
        .expect("the binary runs");
    let deadline = Instant::now() + RUN_LIMIT;
    let (status, killed) = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break (status, false);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            break (child.wait().unwrap(), true);
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let stderr = std::fs::read_to_string(stderr_path).unwrap_or_default();
    #[cfg(unix)]
    if !killed {
        use std::os::unix::process::ExitStatusExt;
        if let Some(sig) = status.signal() {
            panic!("{argv:?} died of signal {sig}: {stderr}");
        }
    }
    (status.code(), stderr, killed)
}

#[test]
fn no_generated_command_line_panics() {
    let seed: u64 = std::env::var("MSVSMON_PROBE_ARGV_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x006d_7376_736d_6f6e);
    let cases: usize = std::env::var("MSVSMON_PROBE_ARGV_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(400);
    let lo = Loopback::claim();
    let ip = lo.ip.to_string();
    let hosts = TempFile::with("hosts", &format!("{ip} box\n::1 box\n"));
    let dir = std::env::temp_dir().join(format!("msvsmon-probe-no-panic-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let dir_s = dir.to_str().unwrap().to_string();

    // Two runners: the runs are short, and most of their time is process start-up.
    let runners = 2;
    let started = Instant::now();
    let results: Vec<(usize, usize, usize)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..runners)
            .map(|r| {
                let (ip, hosts, dir_s) = (&ip, hosts.path(), &dir_s);
                s.spawn(move || {
                    let mut rng = fastrand::Rng::with_seed(seed.wrapping_add(r as u64));
                    let (mut exited, mut killed, mut usage) = (0, 0, 0);
                    let stderr_path = std::path::Path::new(dir_s).join(format!("stderr-{r}"));
                    for case in (r..cases).step_by(runners) {
                        let argv = generate(&mut rng, ip, hosts, dir_s);
                        let (code, stderr, was_killed) = run_bounded(&argv, &stderr_path);
                        assert!(
                            code != Some(101) && !stderr.contains("panicked"),
                            "case {case} (seed {seed}, runner {r}) panicked: {argv:?}\n{stderr}"
                        );
                        if was_killed {
                            killed += 1;
                            continue;
                        }
                        exited += 1;
                        assert!(
                            matches!(code, Some(0..=4)),
                            "case {case} (seed {seed}): undocumented exit {code:?}: {argv:?}\n{stderr}"
                        );
                        usage += usize::from(code == Some(2));
                    }
                    (exited, killed, usage)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let _ = std::fs::remove_dir_all(&dir);
    let (exited, killed, usage) = results
        .iter()
        .fold((0, 0, 0), |a, r| (a.0 + r.0, a.1 + r.1, a.2 + r.2));
    eprintln!(
        "{cases} command lines in {:.1} s: {exited} exited ({usage} usage errors), {killed} still running at {RUN_LIMIT:?} and killed",
        started.elapsed().as_secs_f64()
    );
    assert!(
        exited > cases / 2,
        "most runs end by themselves: {exited} of {cases}"
    );
    assert!(
        exited - usage > cases / 10,
        "the generator still makes runs that probe: {} of {cases}",
        exited - usage
    );
}
