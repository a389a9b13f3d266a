//! Prometheus' own checker, for tests that write the text exposition format.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

/// `promtool`, installed (as root, like the lab's tools, no daemon started) when missing;
/// otherwise the check is skipped loudly, and under CI=true that is a failure.
pub fn promtool() -> Option<PathBuf> {
    #[cfg(target_os = "linux")]
    let found = msvsmon_probe_lab::tools::ensure_program("promtool", "prometheus", "prometheus");
    #[cfg(not(target_os = "linux"))]
    let found: Result<PathBuf, String> = Err("promtool is installed from Debian packages".into());
    match found {
        Ok(p) => Some(p),
        Err(why) => {
            let ci = std::env::var("CI").is_ok_and(|v| v == "true");
            assert!(!ci, "promtool is required under CI=true: {why}");
            eprintln!("SKIPPED: the promtool check of the Prometheus output, because {why}");
            None
        }
    }
}

/// Fails unless `promtool check metrics` accepts `text` (`what` names whose output it is).
pub fn promtool_accepts(what: &str, text: &str) {
    let Some(tool) = promtool() else { return };
    let mut child = Command::new(tool)
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "promtool check metrics rejects {what}:\n{}{}\n{text}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
