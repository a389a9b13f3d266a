//! Makes sure the lab's tools are on the machine: Debian's `iproute2`, `iptables`, `nmap`,
//! `wsdd`, `samba` and `faketime`, and python `wsdiscovery` 2.1.2. A fresh CI machine has none of the last three, so the
//! lab installs them itself (as root), once per machine; later runs only check.
//!
//! - apt runs under a file lock, so test binaries that cargo-nextest starts in parallel never run
//!   apt at the same time; after taking the lock each one checks again.
//! - Daemons must never start in the root namespace: apt runs with `/usr/sbin/policy-rc.d`
//!   saying `exit 101` (Debian's "do not start services"), created for the install and restored
//!   after, and afterwards no `wsdd`, `smbd` or `nmbd` may run outside a lab namespace.
//! - `wsdiscovery` goes into a directory of its own (`pip install --target`), not into the
//!   system's python: nothing else on the machine changes, and Debian's "externally managed"
//!   python does not refuse it. Lab processes get it through PYTHONPATH.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use super::sys;

/// Where `pip install --target` puts wsdiscovery; versioned, so a change of version reinstalls.
pub const PYTHON_DIR: &str = "/var/lib/msvsmon-probe-lab/python-wsdiscovery-2.1.2";
const WSDISCOVERY: &str = "wsdiscovery==2.1.2";
const POLICY_RC_D: &str = "/usr/sbin/policy-rc.d";

/// (program, Debian package that provides it)
const PROGRAMS: &[(&str, &str)] = &[
    ("ip", "iproute2"),
    ("ss", "iproute2"),
    ("iptables", "iptables"),
    ("ip6tables", "iptables"),
    ("iptables-restore", "iptables"),
    ("ip6tables-restore", "iptables"),
    ("nmap", "nmap"),
    ("wsdd", "wsdd"),
    ("smbd", "samba"),
    ("nmbd", "samba"),
    ("faketime", "faketime"),
    ("sysctl", "procps"),
];

/// What the lab needs to know about its tools.
#[derive(Debug, Clone)]
pub struct Tools {
    /// PYTHONPATH for `import wsdiscovery`.
    pub python_path: PathBuf,
}

/// Checks, and installs what is missing; the answer is computed once per process.
pub fn ensure() -> Result<Tools, String> {
    static ONCE: OnceLock<Result<Tools, String>> = OnceLock::new();
    ONCE.get_or_init(ensure_uncached).clone()
}

fn ensure_uncached() -> Result<Tools, String> {
    if !sys::is_root() {
        // SAFETY: geteuid has no preconditions.
        let uid = unsafe { libc::geteuid() };
        return Err(format!(
            "not root (uid {uid}): network namespaces, veths and iptables need root; run `sudo -E cargo test` to include the lab"
        ));
    }
    if sys::which("python3").is_none() {
        return Err("python3 is not installed: the lab's listeners are python scripts".into());
    }
    let tools = Tools {
        python_path: PathBuf::from(PYTHON_DIR),
    };
    if missing_packages().is_empty() && wsdiscovery_ok() {
        return Ok(tools);
    }
    let _lock = lock()?;
    let packages = missing_packages();
    if !packages.is_empty() {
        apt_install(&packages)?;
        let still = missing_packages();
        if !still.is_empty() {
            return Err(format!(
                "apt-get installed {packages:?}, but these are still missing: {still:?}"
            ));
        }
    }
    if !wsdiscovery_ok() {
        pip_install()?;
    }
    Ok(tools)
}

/// Makes sure `program` (Debian package `package`) is installed, the way the lab's own tools
/// are: as root, with apt-get under the same lock and with no daemon started, and then checks
/// that no `daemon` process runs. For tests that need a peer tool but no lab (promtool).
pub fn ensure_program(program: &str, package: &str, daemon: &str) -> Result<PathBuf, String> {
    install_if_missing(program, package, Some(daemon))
}

/// [`ensure_program`] for a package that has no daemon (a shell, a man page viewer, Wine).
pub fn ensure_command(program: &str, package: &str) -> Result<PathBuf, String> {
    install_if_missing(program, package, None)
}

fn install_if_missing(
    program: &str,
    package: &str,
    daemon: Option<&str>,
) -> Result<PathBuf, String> {
    if let Some(p) = sys::which(program) {
        return Ok(p);
    }
    if !sys::is_root() {
        return Err(format!(
            "{program} is not installed, and installing Debian's {package} needs root"
        ));
    }
    let _lock = lock()?;
    if sys::which(program).is_none() {
        apt_install(&[package])?;
        if let Some(daemon) = daemon {
            daemons_outside_the_lab(daemon)?;
        }
    }
    sys::which(program)
        .ok_or_else(|| format!("apt-get installed {package}, but {program} is still missing"))
}

fn missing_packages() -> Vec<&'static str> {
    let mut v: Vec<&str> = PROGRAMS
        .iter()
        .filter(|(p, _)| sys::which(p).is_none())
        .map(|(_, pkg)| *pkg)
        .collect();
    v.dedup();
    v
}

fn wsdiscovery_ok() -> bool {
    Command::new("python3")
        .args([
            "-c",
            "import importlib.metadata as m, wsdiscovery; assert m.version('wsdiscovery') == '2.1.2'",
        ])
        .env("PYTHONPATH", PYTHON_DIR)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// An exclusive `flock` on a machine-wide file, held until the value drops.
fn lock() -> Result<File, String> {
    use std::os::fd::AsRawFd;
    let dir = if Path::new("/run/lock").is_dir() {
        PathBuf::from("/run/lock")
    } else {
        std::env::temp_dir()
    };
    let path = dir.join("msvsmon-probe-lab-tools.lock");
    let f = File::create(&path).map_err(|e| format!("cannot create {}: {e}", path.display()))?;
    // SAFETY: flock on a descriptor we own; blocks until the other installer is done.
    if unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX) } != 0 {
        return Err(format!(
            "cannot lock {}: {}",
            path.display(),
            std::io::Error::last_os_error()
        ));
    }
    Ok(f)
}

/// Puts `exit 101` into policy-rc.d for its lifetime and restores what was there (or nothing).
struct NoDaemonStarts {
    previous: Option<Vec<u8>>,
}

impl NoDaemonStarts {
    fn new() -> Result<Self, String> {
        use std::os::unix::fs::PermissionsExt;
        let previous = std::fs::read(POLICY_RC_D).ok();
        std::fs::write(POLICY_RC_D, "#!/bin/sh\n# msvsmon-probe lab: no daemon starts during its apt-get install\nexit 101\n")
            .and_then(|()| std::fs::set_permissions(POLICY_RC_D, std::fs::Permissions::from_mode(0o755)))
            .map_err(|e| format!("cannot write {POLICY_RC_D}: {e}"))?;
        Ok(NoDaemonStarts { previous })
    }
}

impl Drop for NoDaemonStarts {
    fn drop(&mut self) {
        let _ = match &self.previous {
            Some(bytes) => std::fs::write(POLICY_RC_D, bytes),
            None => std::fs::remove_file(POLICY_RC_D),
        };
    }
}

fn apt_install(packages: &[&str]) -> Result<(), String> {
    eprintln!("lab: installing {packages:?} with apt-get (once per machine)");
    let guard = NoDaemonStarts::new()?;
    let apt = |args: &[&str]| {
        sys::run(
            Command::new("apt-get")
                .args(["-q", "-y", "-o", "DPkg::Lock::Timeout=300"])
                .args(args)
                .env("DEBIAN_FRONTEND", "noninteractive"),
        )
    };
    apt(&["update"])?;
    let mut install = vec!["install", "--no-install-recommends"];
    install.extend_from_slice(packages);
    apt(&install)?;
    drop(guard);
    for daemon in ["wsdd", "smbd", "nmbd"] {
        daemons_outside_the_lab(daemon)?;
    }
    Ok(())
}

/// Processes running program `name`: its basename is `argv[0]`, or `argv[1]` after an interpreter
/// (`python3 /usr/sbin/wsdd`, whose comm is "python3", so `pgrep -x wsdd` misses it).
pub fn pids_of(name: &str) -> Vec<u32> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            cmdline
                .split(|&b| b == 0)
                .take(2)
                .any(|arg| arg.rsplit(|&b| b == b'/').next() == Some(name.as_bytes()))
        })
        .collect()
}

/// Fails if `name` runs in the root namespace (or any namespace that is not a lab's).
pub fn daemons_outside_the_lab(name: &str) -> Result<(), String> {
    for pid in pids_of(name) {
        let ns = sys::ip(&["netns", "identify", &pid.to_string()]).unwrap_or_default();
        if !ns.trim().starts_with(sys::FAMILY) {
            return Err(format!(
                "{name} (pid {pid}) runs outside every lab namespace (in '{}'): it must run only inside the lab",
                ns.trim()
            ));
        }
    }
    Ok(())
}

fn pip_install() -> Result<(), String> {
    eprintln!("lab: installing python {WSDISCOVERY} into {PYTHON_DIR} (once per machine)");
    let staging = format!("{PYTHON_DIR}.partial");
    let _ = std::fs::remove_dir_all(&staging);
    if let Some(parent) = Path::new(PYTHON_DIR).parent() {
        std::fs::create_dir_all(parent)
            .map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
    }
    let pip = || {
        let mut c = Command::new("python3");
        c.args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
        ])
        .args([
            "--no-warn-script-location",
            "--target",
            &staging,
            WSDISCOVERY,
        ])
        .env("PIP_ROOT_USER_ACTION", "ignore");
        c
    };
    if sys::run(&mut pip()).is_err() {
        // Debian's own python3 comes without pip.
        apt_install(&["python3-pip"])?;
        sys::run(&mut pip())?;
    }
    let _ = std::fs::remove_dir_all(PYTHON_DIR);
    std::fs::rename(&staging, PYTHON_DIR)
        .map_err(|e| format!("cannot move {staging} to {PYTHON_DIR}: {e}"))?;
    if wsdiscovery_ok() {
        Ok(())
    } else {
        Err(format!(
            "pip installed {WSDISCOVERY} into {PYTHON_DIR}, but python3 cannot import it"
        ))
    }
}
