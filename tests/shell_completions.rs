//! The completion scripts and the man page, checked in the programs that read them: a real bash
//! completes each command line the way <Tab> would (the completion function called with
//! COMP_WORDS/COMP_CWORD set), fish answers `complete -C`, zsh loads the script and registers it,
//! `man -l` renders the page. zsh, fish and man are installed from Debian's packages when missing
//! (as root); otherwise the check is skipped loudly, and under CI=true that is a failure.
//! PowerShell has no Debian package: its script is not checked here (see docs/testing.md).
#![cfg(target_os = "linux")]

mod support;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use msvsmon_probe_lab as lab;
use support::*;

/// A scratch directory, removed when dropped; it holds one decoy file, so a completion that
/// falls back to file names shows.
struct Scratch(PathBuf);

const DECOY: &str = "decoy-file-not-a-completion";

impl Scratch {
    fn new(name: &str) -> Scratch {
        let d = std::env::temp_dir().join(format!("msvsmon-probe-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(d.join(DECOY), "").unwrap();
        Scratch(d)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn tool(program: &str, package: &str) -> Option<PathBuf> {
    match lab::tools::ensure_command(program, package) {
        Ok(p) => Some(p),
        Err(why) => {
            let ci = std::env::var("CI").is_ok_and(|v| v == "true");
            assert!(!ci, "{program} is required under CI=true: {why}");
            eprintln!("SKIPPED: the {program} check, because {why}");
            None
        }
    }
}

/// Writes `msvsmon-probe completions SHELL` into `dir` and returns its path.
fn script(shell: &str, dir: &Path) -> PathBuf {
    let out = run(&["completions", shell, "--dir", dir.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
    let path = PathBuf::from(String::from_utf8(out.stdout).unwrap().trim());
    assert!(path.starts_with(dir) && path.is_file(), "{path:?}");
    path
}

/// What bash offers for the command line `words` (the last word is the one being completed),
/// with the function that `complete -p msvsmon-probe` names, as readline would call it.
fn bash_complete(script: &Path, cwd: &Path, words: &[&str]) -> Vec<String> {
    let quoted: Vec<String> = words.iter().map(|w| format!("'{w}'")).collect();
    let cword = words.len() - 1;
    let prev = if cword > 0 { words[cword - 1] } else { "" };
    let program = format!(
        r#"set -eu
# compopt only tells readline how to insert the reply, and refuses to run outside a real <Tab>.
compopt() {{ :; }}
source '{script}'
spec=$(complete -p msvsmon-probe)
fn=$(printf '%s\n' "$spec" | sed -n 's/.*-F \([^ ]*\) .*/\1/p')
test -n "$fn"
COMP_WORDS=({words})
COMP_CWORD={cword}
COMP_LINE="${{COMP_WORDS[*]}}"
COMP_POINT=${{#COMP_LINE}}
"$fn" msvsmon-probe '{cur}' '{prev}'
printf '%s\n' "${{COMPREPLY[@]}}"
"#,
        script = script.display(),
        words = quoted.join(" "),
        cur = words[cword],
    );
    let out = Command::new("bash")
        .arg("--norc")
        .arg("-c")
        .arg(&program)
        .current_dir(cwd)
        .output()
        .expect("bash runs");
    assert!(
        out.status.success(),
        "bash completion of {words:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect()
}

/// Every `--long` option that `msvsmon-probe [SUBCOMMAND] --help` lists: the lines of its
/// option list start with `-x, --long` or `--long`.
fn long_options(subcommand: Option<&str>) -> BTreeSet<String> {
    let mut args: Vec<&str> = subcommand.into_iter().collect();
    args.push("--help");
    let out = run(&args);
    assert_eq!(out.status.code(), Some(0));
    let help = String::from_utf8(out.stdout).unwrap();
    let options: BTreeSet<String> = help
        .lines()
        .map(str::trim_start)
        .filter(|l| l.starts_with('-'))
        .filter_map(|l| {
            l.split([' ', ',', '='])
                .find(|w| w.starts_with("--") && w.len() > 2)
                .map(str::to_string)
        })
        .collect();
    assert!(options.contains("--help"), "{help}");
    options
}

const SUBCOMMANDS: [&str; 4] = ["catalog", "listen", "completions", "man"];
const SHELLS: [&str; 5] = ["bash", "elvish", "fish", "powershell", "zsh"];

fn release_names() -> BTreeSet<String> {
    let (doc, code) = {
        let out = run(&["catalog", "--json"]);
        (
            serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap(),
            out.status.code(),
        )
    };
    assert_eq!(code, Some(0));
    doc["releases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["key"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn bash_completes_every_commands_options() {
    let dir = Scratch::new("bash-completion");
    let script = script("bash", &dir.0);
    let offered = |words: &[&str]| -> BTreeSet<String> {
        bash_complete(&script, &dir.0, words).into_iter().collect()
    };

    // The issue's case: `msvsmon-probe listen --<Tab>` offers listen's options, and only those.
    let listen = offered(&["msvsmon-probe", "listen", "--"]);
    for option in ["--release", "--port", "--bind", "--no-discovery", "--help"] {
        assert!(listen.contains(option), "listen -- offers {listen:?}");
    }
    assert_eq!(listen, long_options(Some("listen")));
    assert!(!listen.contains("--watch"), "{listen:?}");

    for sub in SUBCOMMANDS {
        let got = offered(&["msvsmon-probe", sub, "--"]);
        assert_eq!(got, long_options(Some(sub)), "msvsmon-probe {sub} --<Tab>");
    }
    let top = offered(&["msvsmon-probe", "--"]);
    let expected = long_options(None);
    assert!(
        top.is_superset(&expected),
        "msvsmon-probe --<Tab> lacks {:?}",
        expected.difference(&top).collect::<Vec<_>>()
    );

    // The first word: subcommands are offered; a subcommand's argument: its values, not files.
    let first = offered(&["msvsmon-probe", ""]);
    for sub in SUBCOMMANDS {
        assert!(first.contains(sub), "{first:?}");
    }
    let shells = offered(&["msvsmon-probe", "completions", ""]);
    for shell in SHELLS {
        assert!(
            shells.contains(shell),
            "completions <Tab> offers {shells:?}"
        );
    }
    assert!(!shells.contains(DECOY), "completions <Tab> lists files");
}

#[test]
fn bash_completes_release_names_and_no_files_for_interfaces() {
    let dir = Scratch::new("bash-values");
    let script = script("bash", &dir.0);
    let releases = release_names();
    assert!(releases.contains("2022"), "{releases:?}");
    for words in [
        &["msvsmon-probe", "--release", ""][..],
        &["msvsmon-probe", "-r", ""][..],
        &["msvsmon-probe", "listen", "--release", ""][..],
    ] {
        let got: BTreeSet<String> = bash_complete(&script, &dir.0, words).into_iter().collect();
        assert_eq!(got, releases, "{words:?}");
    }
    let got = bash_complete(&script, &dir.0, &["msvsmon-probe", "--release", "201"]);
    assert!(
        !got.is_empty() && got.iter().all(|r| r.starts_with("201")),
        "{got:?}"
    );

    // No interface name can be known in advance; at least no file name is offered. The reply is
    // not empty either, or bash's `-o default` would fall back to file names.
    let got = bash_complete(&script, &dir.0, &["msvsmon-probe", "--interface", ""]);
    assert!(!got.is_empty(), "an empty reply falls back to file names");
    assert!(!got.iter().any(|w| w.contains(DECOY)), "{got:?}");
    // A file argument still completes file names.
    let got = bash_complete(&script, &dir.0, &["msvsmon-probe", "--hosts-file", "decoy"]);
    assert_eq!(got, [DECOY.to_string()]);
}

#[test]
fn fish_loads_and_completes_listens_options() {
    let Some(fish) = tool("fish", "fish") else {
        return;
    };
    let dir = Scratch::new("fish-completion");
    let script = script("fish", &dir.0);
    let fish_run = |command: &str| {
        let out = Command::new(&fish)
            .args(["--no-config", "-c"])
            .arg(format!("source '{}'; {command}", script.display()))
            .env("HOME", &dir.0)
            .env("XDG_CONFIG_HOME", &dir.0)
            .env("XDG_DATA_HOME", &dir.0)
            .current_dir(&dir.0)
            .output()
            .expect("fish runs");
        let stderr = String::from_utf8_lossy(&out.stderr).to_string();
        assert!(
            out.status.success() && stderr.is_empty(),
            "{command}: {stderr}"
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let offered = |line: &str| -> BTreeSet<String> {
        fish_run(&format!("complete -C '{line}'"))
            .lines()
            .map(|l| l.split('\t').next().unwrap().to_string())
            .collect()
    };
    let listen = offered("msvsmon-probe listen --");
    for option in long_options(Some("listen")) {
        assert!(
            listen.contains(&option),
            "fish: listen -- lacks {option}: {listen:?}"
        );
    }
    assert!(!listen.contains("--watch"), "{listen:?}");
    // At the top level, clap_complete's fish script completes no option's value (its argparse
    // refuses the line while the value is missing); after a subcommand it does.
    let releases = offered("msvsmon-probe listen --release ");
    assert_eq!(releases, release_names());
}

#[test]
fn zsh_loads_and_registers_the_script() {
    let Some(zsh) = tool("zsh", "zsh") else {
        return;
    };
    let dir = Scratch::new("zsh-completion");
    let script = script("zsh", &dir.0);
    assert_eq!(script.file_name().unwrap(), "_msvsmon-probe");
    let out = Command::new(&zsh)
        .arg("-f")
        .arg("-c")
        .arg(format!(
            "autoload -Uz compinit && compinit -u -D && source '{}' && print -r -- $_comps[msvsmon-probe]",
            script.display()
        ))
        .env("HOME", &dir.0)
        .env("ZDOTDIR", &dir.0)
        .output()
        .expect("zsh runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success() && stderr.is_empty(), "{stderr}");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "_msvsmon-probe",
        "compdef registered the function"
    );
}

#[test]
fn the_man_page_renders_exit_status_and_examples_in_columns() {
    let Some(man) = tool("man", "man-db") else {
        return;
    };
    let dir = Scratch::new("man-page");
    let pages = dir.0.join("not/yet/there");
    let out = run(&["man", "--dir", pages.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
    let main = pages.join("msvsmon-probe.1");
    assert!(pages.join("msvsmon-probe-listen.1").is_file());
    let out = Command::new(man)
        .args(["-l", "-P", "cat"])
        .arg(&main)
        .env("MANWIDTH", "100")
        .env("MAN_KEEP_FORMATTING", "0")
        .env_remove("MANPAGER")
        .env_remove("PAGER")
        .output()
        .expect("man runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stderr.is_empty(),
        "man -l: {stderr}"
    );
    // Overstrike bold (`X\bX`) off, so the text can be matched.
    let text: String = String::from_utf8_lossy(&out.stdout).to_string();
    let mut plain = String::new();
    for c in text.chars() {
        if c == '\u{8}' {
            plain.pop();
        } else {
            plain.push(c);
        }
    }
    let lines: Vec<&str> = plain.lines().collect();
    for heading in [
        "NAME",
        "SYNOPSIS",
        "OPTIONS",
        "EXIT STATUS",
        "EXAMPLES",
        "SEE ALSO",
    ] {
        assert!(lines.contains(&heading), "no {heading} section:\n{plain}");
    }
    assert!(!lines.contains(&"EXTRA"), "{plain}");
    // Each exit code in the left column, its meaning beside it.
    for (code, meaning) in [
        ("0", "Visual Studio can attach"),
        ("2", "bad usage or input"),
        ("130", "interrupted"),
    ] {
        assert!(
            lines.iter().any(|l| {
                let t = l.trim_start();
                t.starts_with(code)
                    && t[code.len()..].starts_with("  ")
                    && t[code.len()..].trim_start().starts_with(meaning)
            }),
            "exit status {code} is not a column:\n{plain}"
        );
    }
    // Each example: the command, then what it does indented under it.
    let at = lines
        .iter()
        .position(|l| l.trim() == "msvsmon-probe devbox:4567")
        .unwrap_or_else(|| panic!("no example line:\n{plain}"));
    let indent = |l: &str| l.len() - l.trim_start().len();
    assert_eq!(lines[at + 1].trim(), "A monitor started with /port 4567");
    assert!(indent(lines[at + 1]) > indent(lines[at]), "{plain}");
}
