//! `harrow completions` and `harrow man`: generated from the CLI definition, they name every
//! command; the bash script is valid bash; `--out-dir` writes one page per command.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stderr
)]

mod support;

use support::Test;

const COMMANDS: &[&str] = &[
    "analyze",
    "certs",
    "graph",
    "timeline",
    "rules",
    "explain",
    "diff",
    "completions",
    "man",
    "redact",
    "collect",
];

#[test]
fn completions_name_every_command_for_each_shell() {
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let run = Test::new().args(["completions", shell]).run().code(0);
        for c in COMMANDS {
            assert!(run.stdout.contains(c), "{shell}: {c} missing");
        }
        // Option names come from the same definition.
        assert!(run.stdout.contains("fail-on"), "{shell}");
    }
    Test::new()
        .args(["completions", "tcsh"])
        .run()
        .code(2)
        .stderr_has("invalid value 'tcsh'");
}

#[test]
fn the_bash_completion_script_is_valid_bash() {
    let run = Test::new().args(["completions", "bash"]).run().code(0);
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("harrow.bash");
    std::fs::write(&script, &run.stdout).unwrap();
    let status = std::process::Command::new("bash")
        .arg("-n")
        .arg(&script)
        .status()
        .expect("bash");
    assert!(status.success());
}

#[test]
fn the_man_page_documents_every_command() {
    let run = Test::new().arg("man").run().code(0);
    assert!(
        run.stdout.contains(".TH harrow 1"),
        "{}",
        &run.stdout[..200]
    );
    assert!(
        run.stdout
            .contains("Offline analysis of Harvester support bundles")
    );
    for c in COMMANDS {
        assert!(run.stdout.contains(&format!("harrow\\-{c}")), "{c}");
    }
    let dir = tempfile::tempdir().unwrap();
    Test::new()
        .arg("man")
        .arg("--out-dir")
        .path(dir.path())
        .run()
        .code(0);
    let page = std::fs::read_to_string(dir.path().join("harrow-analyze.1")).unwrap();
    assert!(page.contains("fail\\-on"), "{page}");
    assert!(dir.path().join("harrow.1").is_file());
    for c in COMMANDS {
        assert!(dir.path().join(format!("harrow-{c}.1")).is_file(), "{c}");
    }
}
