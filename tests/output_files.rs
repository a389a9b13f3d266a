//! `-o FILE` never clobbers what it should not: a FIFO or a device is written through as a
//! stream, a symbolic link to a file is refused, and the temporary file that makes a report
//! appear whole is created exclusively under an unpredictable name, so a link planted in the
//! output directory cannot make the tool write anywhere else. Loopback only.
#![cfg(unix)]

mod support;

use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Stdio;

use support::*;

const FAST: &[&str] = &[
    "--timeout",
    "300ms",
    "--greeting-wait",
    "0",
    "--no-discovery",
];

/// A directory of its own for each test, removed on drop.
struct Dir(PathBuf);

impl Dir {
    fn new(name: &str) -> Dir {
        let d = std::env::temp_dir().join(format!(
            "msvsmon-probe-output-files-{}-{name}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        Dir(d)
    }

    fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }

    fn names(&self) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(&self.0)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn args<'a>(target: &'a str, out: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut v = FAST.to_vec();
    v.extend_from_slice(extra);
    v.extend(["-o", out, target]);
    v
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

fn mkfifo(p: &Path) {
    let c = std::ffi::CString::new(p.as_os_str().as_encoded_bytes()).unwrap();
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0, "mkfifo");
}

/// The temporary file's name cannot be guessed: a link planted under the old predictable name
/// (`.NAME.tmp-PID`) is never followed, so the file it points at is never truncated.
#[test]
fn a_planted_link_in_the_output_directory_is_never_followed() {
    let lo = Loopback::claim();
    // Dropped SYNs on a host that answers nothing keep the probe running long enough to plant
    // the link first.
    let (_l, _f) = lo.drop_syns(4026);
    let (_l2, _f2) = lo.drop_syns(4025);
    let (_l3, _f3) = lo.drop_syns(4040);
    let d = Dir::new("planted");
    let victim = TempFile::with("victim", "precious\n");
    let out = d.path("out.json");
    let ip = lo.ip.to_string();
    let mut child = bin()
        .args(args(
            &ip,
            out.to_str().unwrap(),
            &["--json", "--retries", "0", "-r", "2022"],
        ))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let planted = d.path(&format!(".out.json.tmp-{}", child.id()));
    std::os::unix::fs::symlink(&victim.0, &planted).unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(1), "nothing reachable");
    assert_eq!(std::fs::read_to_string(&victim.0).unwrap(), "precious\n");
    assert!(std::fs::symlink_metadata(&planted)
        .unwrap()
        .file_type()
        .is_symlink());
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(doc["summary"]["exit_code"], 1);
    let mut expected = vec![
        planted.file_name().unwrap().to_string_lossy().into_owned(),
        "out.json".to_string(),
    ];
    expected.sort();
    assert_eq!(
        d.names(),
        expected,
        "the report and the planted link, and no temporary file left behind"
    );
}

/// A report replaces its file whole, readable as a file of the user's would be (the textfile
/// collector runs as another user): the temporary file is not left private.
#[test]
fn a_replaced_report_keeps_ordinary_permissions() {
    let lo = Loopback::claim();
    let d = Dir::new("perms");
    let out = d.path("m.prom");
    std::fs::write(&out, "old\n").unwrap();
    let ip = lo.ip.to_string();
    let st = bin()
        .args(args(
            &ip,
            out.to_str().unwrap(),
            &["--format", "prometheus"],
        ))
        .status()
        .unwrap();
    assert_eq!(st.code(), Some(1));
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(text.contains("msvsmon_probe_"), "{text}");
    let mode = std::fs::metadata(&out).unwrap().permissions().mode();
    assert_eq!(
        mode & 0o044,
        0o044,
        "group and others can read it: {mode:o}"
    );
    assert_eq!(d.names(), ["m.prom"]);
}

/// A FIFO is a stream: the report goes through it, and it stays a FIFO.
#[test]
fn a_fifo_is_written_through() {
    let lo = Loopback::claim();
    let d = Dir::new("fifo");
    let fifo = d.path("pipe");
    mkfifo(&fifo);
    let reader = {
        let fifo = fifo.clone();
        std::thread::spawn(move || std::fs::read_to_string(fifo).unwrap())
    };
    let ip = lo.ip.to_string();
    let st = bin()
        .args(args(&ip, fifo.to_str().unwrap(), &["--json"]))
        .status()
        .unwrap();
    assert_eq!(st.code(), Some(1));
    // Before joining the reader: a FIFO replaced by a file would leave it waiting forever.
    assert!(
        std::fs::metadata(&fifo).unwrap().file_type().is_fifo(),
        "the FIFO was replaced"
    );
    let text = reader.join().unwrap();
    let doc: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(doc["summary"]["exit_code"], 1);
    assert_eq!(d.names(), ["pipe"]);
}

/// A character device (a copy of /dev/null, made here) is written to, never replaced by a file.
#[test]
fn a_device_is_written_through_never_replaced() {
    if !is_root() {
        eprintln!("SKIPPED: making a device node needs root");
        assert!(std::env::var_os("CI").is_none(), "CI runs as root");
        return;
    }
    let lo = Loopback::claim();
    let d = Dir::new("device");
    let dev = d.path("null");
    let c = std::ffi::CString::new(dev.as_os_str().as_encoded_bytes()).unwrap();
    // SAFETY: a valid path; (1, 3) is the null device.
    let made = unsafe { libc::mknod(c.as_ptr(), libc::S_IFCHR | 0o666, libc::makedev(1, 3)) };
    assert_eq!(made, 0, "mknod");
    let ip = lo.ip.to_string();
    let st = bin()
        .args(args(&ip, dev.to_str().unwrap(), &["--json"]))
        .status()
        .unwrap();
    assert_eq!(st.code(), Some(1));
    assert!(std::fs::metadata(&dev)
        .unwrap()
        .file_type()
        .is_char_device());
    assert_eq!(d.names(), ["null"]);
}

/// A symbolic link at the output path is not followed to a file (whoever can write the
/// directory could point it anywhere); the file it names is left alone.
#[test]
fn a_link_to_a_file_is_refused_before_anything_is_probed() {
    let lo = Loopback::claim();
    let listener = lo.listen(4026);
    let d = Dir::new("link");
    let target = d.path("real.json");
    std::fs::write(&target, "keep\n").unwrap();
    let link = d.path("out.json");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    let ip = lo.ip.to_string();
    assert_usage_error(
        &args(&ip, link.to_str().unwrap(), &["--json"]),
        "symbolic link",
    );
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "keep\n");
    assert!(std::fs::symlink_metadata(&link)
        .unwrap()
        .file_type()
        .is_symlink());
    assert!(nothing_accepted(&listener), "nothing was probed");
}

/// A link to a stream (as /dev/stdout is) is followed: that is what it is for.
#[test]
fn a_link_to_a_fifo_is_followed() {
    let lo = Loopback::claim();
    let d = Dir::new("link-fifo");
    let fifo = d.path("pipe");
    mkfifo(&fifo);
    let link = d.path("out");
    std::os::unix::fs::symlink(&fifo, &link).unwrap();
    let reader = {
        let fifo = fifo.clone();
        std::thread::spawn(move || std::fs::read_to_string(fifo).unwrap())
    };
    let ip = lo.ip.to_string();
    let st = bin()
        .args(args(&ip, link.to_str().unwrap(), &["--json"]))
        .status()
        .unwrap();
    assert_eq!(st.code(), Some(1), "the link is followed to the FIFO");
    // Before joining the reader: a link replaced by a file would leave it waiting forever.
    assert!(
        std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink(),
        "the link was replaced"
    );
    assert!(reader.join().unwrap().contains("\"exit_code\": 1"));
}
