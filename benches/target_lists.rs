//! Target lists (`-iL`) at scale: how long the binary takes to read a list, merge it and
//! subtract the exclusions, and its peak resident memory, for lists of 10k, 100k and 1M random
//! lines, 1M copies of one line, 100k names, one 64 MiB line and `/dev/zero`.
//!
//! Run: `cargo bench --bench target_lists` (Linux: the peak RSS comes from wait4). Each run is
//! `msvsmon-probe --scan -iL LIST --exclude 0.0.0.0/0 --exclude ::/0 --hosts-file EMPTY`: every
//! address is excluded and names resolve only from an empty hosts file, so the run ends after
//! reading, before any probe. Each child also runs in a network namespace of its own when this
//! process may create one (root, or unprivileged user namespaces), so even a regression could
//! send nothing. Its address space is capped at 4 GiB and it is killed after `BENCH_TIMEOUT`
//! seconds (default 120).
//!
//! `BENCH_BASELINE=/path/to/another/msvsmon-probe` runs that build on the same files, after this
//! one, for comparison. Timings are printed, never asserted.

#[cfg(not(target_os = "linux"))]
fn main() {
    eprintln!("SKIPPED: target_lists measures peak RSS with wait4, on Linux only");
}

#[cfg(target_os = "linux")]
fn main() {
    linux::main();
}

#[cfg(target_os = "linux")]
mod linux {
    use std::io::{BufWriter, Read, Write};
    use std::os::unix::process::CommandExt;
    use std::path::{Path, PathBuf};
    use std::process::{Command, Stdio};
    use std::time::{Duration, Instant};

    const BIN: &str = env!("CARGO_BIN_EXE_msvsmon-probe");

    /// What one run did.
    struct Run {
        wall: Duration,
        peak_rss_kib: i64,
        /// The exit code, or why there is none.
        end: String,
        first_line: String,
    }

    fn run(bin: &Path, list: &str, hosts: &Path, timeout: Duration) -> Run {
        let mut cmd = Command::new(bin);
        cmd.args(["--scan", "-iL", list])
            .args(["--exclude", "0.0.0.0/0", "--exclude", "::/0"])
            .arg("--hosts-file")
            .arg(hosts)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        // SAFETY: unshare and setrlimit between fork and exec touch only the child.
        unsafe {
            cmd.pre_exec(|| {
                // A network namespace of its own if allowed (lo only, and down).
                if libc::unshare(libc::CLONE_NEWNET) != 0 {
                    let _ = libc::unshare(libc::CLONE_NEWUSER | libc::CLONE_NEWNET);
                }
                let lim = libc::rlimit {
                    rlim_cur: 4 << 30,
                    rlim_max: 4 << 30,
                };
                libc::setrlimit(libc::RLIMIT_AS, &lim);
                Ok(())
            });
        }
        let started = Instant::now();
        // Reaped by wait4 below, which also gives its peak RSS.
        #[allow(clippy::zombie_processes)]
        let mut child = cmd.spawn().expect("the binary runs");
        let mut stderr = child.stderr.take().unwrap();
        let reader = std::thread::spawn(move || {
            let mut s = String::new();
            let _ = stderr.read_to_string(&mut s);
            s
        });
        let pid = child.id() as libc::pid_t;
        let mut status = 0;
        // SAFETY: a zeroed rusage is a valid out-parameter.
        let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
        let mut killed = false;
        loop {
            // SAFETY: wait4 on our own child with valid pointers.
            let r = unsafe { libc::wait4(pid, &mut status, libc::WNOHANG, &mut usage) };
            if r == pid {
                break;
            }
            if !killed && started.elapsed() > timeout {
                // SAFETY: kill(2) on our own child.
                unsafe { libc::kill(pid, libc::SIGKILL) };
                killed = true;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        let wall = started.elapsed();
        let err = reader.join().unwrap_or_default();
        let end = if killed {
            format!("killed at {} s", timeout.as_secs())
        } else if libc::WIFEXITED(status) {
            format!("exit {}", libc::WEXITSTATUS(status))
        } else {
            format!("signal {}", libc::WTERMSIG(status))
        };
        let mut first_line: String = err.lines().next().unwrap_or("").chars().take(90).collect();
        if first_line.len() == 90 {
            first_line.push('…');
        }
        Run {
            wall,
            peak_rss_kib: usage.ru_maxrss,
            end,
            first_line,
        }
    }

    /// A random target: mostly IPv4 addresses, some CIDR blocks, ranges and IPv6 addresses.
    fn random_line(rng: &mut fastrand::Rng) -> String {
        let a = rng.u8(1..224);
        let (b, c, d) = (rng.u8(..), rng.u8(..), rng.u8(..));
        match rng.u8(..20) {
            0 | 1 => format!("{a}.{b}.{c}.0/{}", rng.u8(24..=30)),
            2 => format!(
                "{a}.{b}.{c}.{}-{a}.{b}.{c}.{}",
                d / 2,
                d / 2 + rng.u8(..100)
            ),
            3 => format!(
                "fd00:{:x}::{:x}:{:x}",
                rng.u16(..),
                rng.u16(..),
                rng.u16(..)
            ),
            _ => format!("{a}.{b}.{c}.{d}"),
        }
    }

    fn write_lines(path: &Path, n: usize, mut line: impl FnMut() -> String) {
        let mut w = BufWriter::new(std::fs::File::create(path).unwrap());
        for _ in 0..n {
            writeln!(w, "{}", line()).unwrap();
        }
        w.flush().unwrap();
    }

    pub fn main() {
        let dir = std::env::temp_dir().join(format!("msvsmon-probe-lists-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let timeout = Duration::from_secs(
            std::env::var("BENCH_TIMEOUT")
                .ok()
                .and_then(|s| s.parse().ok())
                .unwrap_or(120),
        );
        let hosts = dir.join("empty.hosts");
        std::fs::write(&hosts, "# no names: nothing is resolved\n").unwrap();
        let mut rng = fastrand::Rng::with_seed(2026);
        let mut cases: Vec<(&str, String, PathBuf)> = Vec::new();
        for (label, n) in [
            ("10k random lines", 10_000),
            ("100k random lines", 100_000),
            ("1M random lines", 1_000_000),
        ] {
            let p = dir.join(format!("random-{n}.txt"));
            write_lines(&p, n, || random_line(&mut rng));
            cases.push((label, n.to_string(), p));
        }
        let p = dir.join("duplicates.txt");
        write_lines(&p, 1_000_000, || "10.1.2.3".to_string());
        cases.push(("1M copies of one line", "1000000".into(), p));
        let p = dir.join("names.txt");
        write_lines(&p, 100_000, || format!("host-{}.lab.example", rng.u32(..)));
        cases.push(("100k random names", "100000".into(), p));
        let p = dir.join("huge-line.txt");
        {
            let mut w = BufWriter::new(std::fs::File::create(&p).unwrap());
            let chunk = "1".repeat(1 << 20);
            for _ in 0..64 {
                w.write_all(chunk.as_bytes()).unwrap();
            }
        }
        cases.push(("one 64 MiB line", "1".into(), p));
        cases.push((
            "/dev/zero",
            "1 (endless)".into(),
            PathBuf::from("/dev/zero"),
        ));

        let mut builds = vec![("this build", PathBuf::from(BIN))];
        if let Some(b) = std::env::var_os("BENCH_BASELINE").map(PathBuf::from) {
            assert!(b.is_file(), "BENCH_BASELINE={} is not a file", b.display());
            builds.push(("baseline", b));
        }
        for (build, bin) in &builds {
            println!("\n{build}: {}", bin.display());
            println!(
                "{:<24} {:>12} {:>10} {:>12}  {:<16} first line of stderr",
                "list", "lines", "wall", "peak RSS", "end"
            );
            for (label, lines, path) in &cases {
                let r = run(bin, path.to_str().unwrap(), &hosts, timeout);
                println!(
                    "{:<24} {:>12} {:>9.2}s {:>9.1} MiB  {:<16} {}",
                    label,
                    lines,
                    r.wall.as_secs_f64(),
                    r.peak_rss_kib as f64 / 1024.0,
                    r.end,
                    r.first_line
                );
            }
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}
