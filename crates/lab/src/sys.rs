//! Running the lab's commands (`ip`, `iptables-restore`, `sysctl`, `ss`) and removing namespaces.
//!
//! Every failure is a `String` that names the command and quotes its stderr: a lab that cannot be
//! built must say exactly what failed, because that text ends up in a skip or CI failure message.

use std::ffi::OsStr;
use std::io::Write;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// Every lab namespace starts with this, then `<pid>-<n>-`: the pid says whose it is, so a later
/// run can tell a leftover (its process is gone) from a lab that is still in use.
pub const FAMILY: &str = "mpl-";

/// The command line, for messages.
pub fn show(cmd: &Command) -> String {
    std::iter::once(cmd.get_program())
        .chain(cmd.get_args())
        .map(|s| s.to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Runs `cmd` to completion; its stdout, or an error naming the command and quoting stderr.
pub fn run(cmd: &mut Command) -> Result<String, String> {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run `{}`: {e}", show(cmd)))?;
    finish(cmd, out)
}

/// Runs `cmd` with `input` on stdin (for `iptables-restore`).
pub fn run_with_input(cmd: &mut Command, input: &str) -> Result<String, String> {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run `{}`: {e}", show(cmd)))?;
    child
        .stdin
        .take()
        .expect("piped stdin")
        .write_all(input.as_bytes())
        .map_err(|e| format!("`{}`: writing stdin: {e}", show(cmd)))?;
    let out = child
        .wait_with_output()
        .map_err(|e| format!("`{}`: {e}", show(cmd)))?;
    finish(cmd, out)
}

fn finish(cmd: &Command, out: Output) -> Result<String, String> {
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(format!(
            "`{}` failed ({}): {}",
            show(cmd),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// `ip ARGS...` in the root namespace (with `-n NS` among the args it acts inside NS).
pub fn ip(args: &[&str]) -> Result<String, String> {
    run(Command::new("ip").args(args))
}

/// `ip -n NS ARGS`, the arguments given as one string (lab names and addresses have no spaces).
pub fn ipn(ns: &str, args: &str) -> Result<String, String> {
    run(Command::new("ip")
        .args(["-n", ns])
        .args(args.split_whitespace()))
}

/// A command that runs `program` inside namespace `ns` (`ip netns exec`, which also bind-mounts
/// `/etc/netns/<ns>/*` over `/etc`, so the scanner sees its own hosts file and resolver).
pub fn in_ns(ns: &str, program: impl AsRef<OsStr>) -> Command {
    let mut c = Command::new("ip");
    c.args(["netns", "exec", ns]).arg(program);
    c
}

/// Sets sysctls inside `ns`, all in one process.
pub fn sysctl(ns: &str, settings: &[(&str, &str)]) -> Result<(), String> {
    let mut c = in_ns(ns, "sysctl");
    c.arg("-q").arg("-w");
    c.args(settings.iter().map(|(k, v)| format!("{k}={v}")));
    run(&mut c).map(drop)
}

/// Like [`sysctl`], for knobs that older kernels keep global (then absent from a namespace's
/// /proc/sys): ignored where they do not exist, never written outside `ns`.
pub fn sysctl_if_present(ns: &str, settings: &[(&str, &str)]) -> Result<(), String> {
    let mut c = in_ns(ns, "sysctl");
    c.args(["-q", "-e", "-w"]);
    c.args(settings.iter().map(|(k, v)| format!("{k}={v}")));
    run(&mut c).map(drop)
}

pub fn sysctl_get(ns: &str, key: &str) -> Result<String, String> {
    run(in_ns(ns, "sysctl").args(["-n", key])).map(|s| s.trim().to_string())
}

/// Every named network namespace on the machine.
pub fn namespaces() -> Vec<String> {
    ip(&["netns", "list"])
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.split_whitespace().next().map(str::to_string))
        .collect()
}

/// SIGKILLs every process whose network namespace is `ns` (`ip netns pids`).
pub fn kill_all_in(ns: &str) {
    let pids = ip(&["netns", "pids", ns]).unwrap_or_default();
    for pid in pids
        .split_whitespace()
        .filter_map(|p| p.parse::<i32>().ok())
    {
        // SAFETY: kill(2) with a pid read from the kernel and a constant signal.
        unsafe {
            libc::kill(pid, libc::SIGKILL);
        }
    }
}

/// Kills what runs in `ns`, deletes it and its `/etc/netns` directory. Best effort: a teardown
/// goes on with the next namespace whatever fails.
pub fn delete_ns(ns: &str) {
    kill_all_in(ns);
    let _ = ip(&["netns", "del", ns]);
    let _ = std::fs::remove_dir_all(Path::new("/etc/netns").join(ns));
}

fn owner_pid(name: &str) -> Option<i32> {
    name.strip_prefix(FAMILY)?.split('-').next()?.parse().ok()
}

fn alive(pid: i32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
}

/// Removes namespaces (and `/etc/netns` directories) left by lab runs whose process is gone,
/// e.g. killed by SIGKILL before its reaper could run. Returns the names removed.
pub fn remove_leftovers() -> Vec<String> {
    let mut removed = Vec::new();
    for ns in namespaces() {
        if owner_pid(&ns).is_some_and(|p| !alive(p)) {
            delete_ns(&ns);
            removed.push(ns);
        }
    }
    if let Ok(dir) = std::fs::read_dir("/etc/netns") {
        for e in dir.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if owner_pid(&name).is_some_and(|p| !alive(p)) {
                let _ = std::fs::remove_dir_all(e.path());
                removed.push(name);
            }
        }
    }
    removed
}

/// Starts a watchdog that deletes every namespace named `prefix*` and `log_dir` once this process
/// is gone without tearing its lab down (a normal teardown kills the watchdog instead).
///
/// It blocks reading a pipe whose only writer is this process: the read returns at EOF, which
/// the kernel delivers however this process ends (panic=abort, SIGINT, SIGKILL). It runs in its
/// own process group so Ctrl-C in the terminal does not kill it along with the tests.
pub fn spawn_reaper(prefix: &str, log_dir: &Path) -> Result<Child, String> {
    use std::os::unix::process::CommandExt;
    const SCRIPT: &str = r#"
read -r _ || true
for ns in $(ip netns list | awk '{print $1}'); do
  case "$ns" in
    "$1"*) for p in $(ip netns pids "$ns"); do kill -9 "$p"; done; ip netns del "$ns" ;;
  esac
done
rm -rf /etc/netns/"$1"* "$2"
"#;
    assert!(prefix.starts_with(FAMILY) && prefix.len() > FAMILY.len());
    Command::new("sh")
        .args(["-c", SCRIPT, "lab-reaper", prefix])
        .arg(log_dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn()
        .map_err(|e| format!("cannot start the lab reaper (sh): {e}"))
}

/// Ports with a listening socket of `proto` ("tcp" or "udp") inside `ns`, from `ss`.
pub fn listening_ports(ns: &str, proto: &str) -> Result<Vec<u16>, String> {
    let flag = if proto == "udp" { "-Hlnu" } else { "-Hlnt" };
    let out = run(in_ns(ns, "ss").arg(flag))?;
    Ok(out
        .lines()
        .filter_map(|l| l.split_whitespace().nth(3))
        .filter_map(|local| local.rsplit(':').next()?.parse().ok())
        .collect())
}

/// Polls until `done` returns true, or fails with `what` after `limit`. For waiting on state the
/// lab cannot be notified of (a daemon binding its port), never as a fixed delay.
pub fn wait_until(
    what: &str,
    limit: Duration,
    mut done: impl FnMut() -> Result<bool, String>,
) -> Result<(), String> {
    let deadline = Instant::now() + limit;
    loop {
        if done()? {
            return Ok(());
        }
        if Instant::now() >= deadline {
            return Err(format!("timed out after {limit:?} waiting for {what}"));
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

pub fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

/// Finds `program` on PATH or in the sbin directories (not on a non-root user's PATH on Debian).
pub fn which(program: &str) -> Option<std::path::PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/sbin", "/usr/bin", "/bin"].map(Into::into))
        .map(|d| d.join(program))
        .find(|p| p.is_file())
}
