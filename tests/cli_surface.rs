//! The command-line surface as snapshots (insta): a changed flag, default or help text shows up
//! in review as a diff of these files. Update with `cargo insta review` or
//! `INSTA_UPDATE=always cargo test --test cli_surface`.

mod support;

use support::*;

fn stdout_of(args: &[&str]) -> String {
    let out = run(args);
    assert_eq!(out.status.code(), Some(0), "{args:?}: {}", stderr_of(&out));
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn help() {
    insta::assert_snapshot!("help", stdout_of(&["--help"]));
}

#[test]
fn short_help() {
    insta::assert_snapshot!("short_help", stdout_of(&["-h"]));
}

#[test]
fn listen_help() {
    insta::assert_snapshot!("listen_help", stdout_of(&["listen", "--help"]));
}

#[test]
fn catalog_table() {
    insta::assert_snapshot!("catalog", stdout_of(&["catalog"]));
}

/// The machine-readable catalog is part of the output contract, and says what the table says.
#[test]
fn catalog_json_follows_the_schema_and_the_table() {
    let doc: serde_json::Value = serde_json::from_str(&stdout_of(&["catalog", "--json"])).unwrap();
    assert_schema(&doc);
    let table = stdout_of(&["catalog"]);
    for r in doc["releases"].as_array().unwrap() {
        for p in r["ports"].as_array().unwrap() {
            let port = p["port"].to_string();
            assert!(
                table.contains(&port),
                "{port} of {} missing from the table",
                r["key"]
            );
        }
    }
}

#[test]
fn version_names_the_tool() {
    let v = stdout_of(&["--version"]);
    assert_eq!(
        v.trim(),
        format!("msvsmon-probe {}", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn completions_and_man_page_come_from_the_same_definitions() {
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        let script = stdout_of(&["completions", shell]);
        // fish writes `-l watch`, the others `--watch`.
        for flag in ["watch", "fail-if-open", "discover", "shard"] {
            assert!(script.contains(flag), "{shell} completions lack {flag}");
        }
    }
    let man = stdout_of(&["man"]);
    assert!(
        man.starts_with(".ie") || man.contains(".TH msvsmon-probe 1"),
        "{}",
        &man[..200.min(man.len())]
    );
    assert!(
        man.contains("fail\\-if\\-open"),
        "the man page has every flag"
    );
}

#[test]
fn completions_and_man_into_a_directory_and_bad_input() {
    // Directories that do not exist yet are created, as `~/.zfunc` often does not.
    let top = std::env::temp_dir().join(format!("msvsmon-probe-gen-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&top);
    let dir = top.join("zfunc");
    let d = dir.to_str().unwrap();
    stdout_of(&["completions", "zsh", "--dir", d]);
    assert!(dir.join("_msvsmon-probe").is_file());
    let man = top.join("man/man1");
    stdout_of(&["man", "--dir", man.to_str().unwrap()]);
    assert!(man.join("msvsmon-probe.1").is_file());
    assert!(man.join("msvsmon-probe-listen.1").is_file());
    let file = top.join("a-file");
    std::fs::write(&file, "").unwrap();
    let under_a_file = file.join("sub");
    let under_a_file = under_a_file.to_str().unwrap();

    for (args, needle) in [
        (
            &["completions", "tcsh"][..],
            "invalid value 'tcsh' for '<SHELL>'; accepted: bash, elvish, fish, powershell, zsh",
        ),
        (&["man", "--dir", under_a_file][..], "cannot write into"),
        (
            &["completions", "bash", "--dir", "/proc/1"][..],
            "cannot write into /proc/1",
        ),
    ] {
        let out = run(args);
        let err = stderr_of(&out);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert_eq!(err.trim_end().lines().count(), 1, "{err}");
        assert!(err.contains(needle), "{args:?}: {err}");
    }
    std::fs::remove_dir_all(&top).unwrap();
}
