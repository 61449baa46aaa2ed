//! `harrow analyze --batch DIR`: one JSON line per entry of DIR, in name order, each the
//! document `analyze -o json` gives for that entry plus its `input` name, valid against the
//! schemas; a bad entry (a truncated zip, a file that is no archive) carries its `error` and
//! the others are still analyzed; the exit code is the worst entry's.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stderr
)]

mod support;

use std::path::Path;

use serde_json::Value;
use support::{Test, assert_valid, inputs_in, root, shared_schema};

const AT: &str = "2026-11-20T10:00:00Z";

fn demo_bundle() -> std::path::PathBuf {
    let zip = inputs_in("bundles/demo")
        .into_iter()
        .find(|p| p.ends_with(".zip"))
        .expect("the demo bundle");
    root().join(zip)
}

/// A directory with the demo bundle, a fixture node snapshot and a truncated copy of the demo
/// bundle.
fn batch_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let bundle = std::fs::read(demo_bundle()).unwrap();
    std::fs::write(dir.path().join("a-bundle.zip"), &bundle).unwrap();
    std::fs::copy(
        root().join("bundles/fixtures/healthy/s1.tgz"),
        dir.path().join("b-s1.tgz"),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("c-truncated.zip"),
        &bundle[..bundle.len() / 3],
    )
    .unwrap();
    dir
}

fn lines(stdout: &str) -> Vec<Value> {
    stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect()
}

fn analyze_json(path: &Path) -> Value {
    Test::new()
        .arg("analyze")
        .path(path)
        .args(["-o", "json", "--at", AT, "--fail-on", "none"])
        .run()
        .code(0)
        .json()
}

#[test]
fn every_entry_is_one_line_equal_to_its_own_analysis_and_a_bad_one_says_why() {
    let dir = batch_dir();
    let run = Test::new()
        .args(["analyze", "--batch"])
        .path(dir.path())
        .args(["--at", AT, "--fail-on", "none"])
        .run()
        .code(0);
    let docs = lines(&run.stdout);
    assert_eq!(docs.len(), 3, "{}", run.stdout);
    let names: Vec<&str> = docs.iter().map(|d| d["input"].as_str().unwrap()).collect();
    assert_eq!(names, ["a-bundle.zip", "b-s1.tgz", "c-truncated.zip"]);
    let project = root().join("docs/analyze.schema.json");
    for d in &docs {
        assert_valid(d, &project);
        if let Some(shared) = shared_schema() {
            assert_valid(d, &shared);
        }
    }
    // The good entries: the very document `analyze -o json` gives, plus `input`.
    for (d, name) in docs.iter().zip(&names).take(2) {
        assert!(d.get("error").is_none(), "{name}: {}", d["error"]);
        let mut d = d.clone();
        d.as_object_mut().unwrap().remove("input");
        assert_eq!(d, analyze_json(&dir.path().join(name)), "{name}");
    }
    assert_eq!(docs[0]["inputs"][0]["kind"], "harvester-support-bundle");
    assert_eq!(docs[1]["inputs"][0]["kind"], "node-snapshot");
    // The truncated zip: its error, and what could still be read.
    let bad = &docs[2];
    let error = bad["error"].as_str().expect("an error");
    assert!(error.contains("c-truncated.zip"), "{error}");
    assert!(
        error.contains("cut short") || error.contains("ends"),
        "{error}"
    );
}

#[test]
fn the_exit_code_is_the_worst_entrys() {
    let dir = batch_dir();
    std::fs::write(dir.path().join("d-notes.txt"), "not an archive\n").unwrap();
    let run = Test::new()
        .args(["analyze", "--batch"])
        .path(dir.path())
        .args(["--at", AT, "--fail-on", "none", "-o", "json"])
        .run()
        // d-notes.txt: every input of that entry unreadable, exit 2; the rest still analyzed.
        .code(2);
    let docs = lines(&run.stdout);
    assert_eq!(docs.len(), 4);
    assert_eq!(docs[3]["input"], "d-notes.txt");
    assert_eq!(docs[3]["inputs"][0]["kind"], "unreadable");
    assert!(docs[3]["error"].as_str().unwrap().contains("d-notes.txt"));
    assert!(docs[..3].iter().all(|d| !d["findings"].is_null()));
    // With the default --fail-on high the demo bundle's findings decide for the good entries.
    let code = |path: &Path| {
        Test::new()
            .arg("analyze")
            .path(path)
            .args(["--at", AT])
            .run()
            .code
    };
    let worst_good = ["a-bundle.zip", "b-s1.tgz", "c-truncated.zip"]
        .iter()
        .map(|n| code(&dir.path().join(n)))
        .max()
        .unwrap();
    std::fs::remove_file(dir.path().join("d-notes.txt")).unwrap();
    Test::new()
        .args(["analyze", "--batch"])
        .path(dir.path())
        .args(["--at", AT])
        .run()
        .code(worst_good);
}

#[test]
fn batch_is_deterministic_and_refuses_what_it_cannot_do() {
    let dir = batch_dir();
    let once = |extra: &[&str]| {
        Test::new()
            .args(["analyze", "--batch"])
            .path(dir.path())
            .args(["--at", AT, "--fail-on", "none"])
            .args(extra)
            .run()
            .code(0)
            .stdout
    };
    assert_eq!(once(&[]), once(&[]));
    // --out writes the same lines.
    let elsewhere = tempfile::tempdir().unwrap();
    let out = elsewhere.path().join("batch.jsonl");
    assert_eq!(once(&["--out", out.to_str().unwrap()]), "");
    assert_eq!(std::fs::read_to_string(&out).unwrap(), once(&[]));
    // Other formats, INPUTs next to --batch, and an empty or missing DIR are usage errors.
    Test::new()
        .args(["analyze", "--batch"])
        .path(dir.path())
        .args(["-o", "csv"])
        .run()
        .code(2)
        .stderr_has("JSON Lines");
    Test::new()
        .args(["analyze", "--batch"])
        .path(dir.path())
        .path(&demo_bundle())
        .run()
        .code(2);
    let empty = tempfile::tempdir().unwrap();
    Test::new()
        .args(["analyze", "--batch"])
        .path(empty.path())
        .run()
        .code(2)
        .stderr_has("holds no input");
    Test::new()
        .args(["analyze", "--batch", "/nonexistent/batch-dir"])
        .run()
        .code(2);
}
