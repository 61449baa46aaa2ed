//! The one `-o` vocabulary across commands: every command's formats work on the demo, `-o yaml`
//! is the JSON document, `-o csv` has one row per item of the JSON, `text` and `table` name the
//! same view, and an unknown or unoffered name is a usage error listing the command's names.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stderr
)]

mod support;

use support::Test;

const AT: &str = "2026-11-20T10:00:00Z";

/// Runs `harrow <args>` on the demo and returns standard output (exit 0 or 1: findings).
fn out(args: &[&str]) -> String {
    let run = Test::new().args(args).run();
    assert!(
        matches!(run.code, 0 | 1),
        "{args:?}: exit {} {}",
        run.code,
        run.stderr
    );
    run.stdout
}

fn yaml(text: &str) -> serde_json::Value {
    serde_saphyr::from_str(text).unwrap_or_else(|e| panic!("not YAML: {e}\n{text}"))
}

fn json(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap()
}

#[test]
fn yaml_is_the_json_document_of_every_command() {
    for cmd in [
        &["analyze", "--at", AT][..],
        &["certs", "--at", AT],
        &["timeline", "--at", AT],
        &["graph", "--at", AT],
        &["graph", "--at", AT, "--blast-radius", "ca:client"],
        &["rules"],
    ] {
        let j = out(&[cmd, &["-o", "json"]].concat());
        let y = out(&[cmd, &["-o", "yaml"]].concat());
        assert_eq!(yaml(&y), json(&j), "{cmd:?}");
    }
}

#[test]
fn csv_has_a_header_and_one_row_per_item_of_the_json() {
    let count_rows = |csv: &str| {
        // Quoted fields may hold line breaks: count records, not lines.
        let mut records = 0;
        let mut quoted = false;
        for c in csv.chars() {
            match c {
                '"' => quoted = !quoted,
                '\n' if !quoted => records += 1,
                _ => {}
            }
        }
        records - 1
    };
    let analyze = json(&out(&["analyze", "--at", AT, "-o", "json"]));
    let csv = out(&["analyze", "--at", AT, "-o", "csv"]);
    assert!(csv.starts_with("severity,rule,title,node,target,message,evidence,remediation\n"));
    assert_eq!(
        count_rows(&csv),
        analyze["findings"].as_array().unwrap().len()
    );
    let timeline = json(&out(&["timeline", "--at", AT, "-o", "json"]));
    let csv = out(&["timeline", "--at", AT, "-o", "csv"]);
    assert!(csv.starts_with("at,kind,what,fingerprints,nodes\n"));
    assert_eq!(count_rows(&csv), timeline.as_array().unwrap().len());
    let rules = json(&out(&["rules", "-o", "json"]));
    let csv = out(&["rules", "-o", "csv"]);
    assert!(csv.starts_with("code,severity,title,source,needs\n"));
    assert_eq!(count_rows(&csv), rules.as_array().unwrap().len());
}

#[test]
fn text_and_table_are_one_view_wherever_there_is_one() {
    for cmd in [
        &["analyze", "--at", AT][..],
        &["certs", "--at", AT],
        &["timeline", "--at", AT],
        &["rules"],
    ] {
        let text = out(&[cmd, &["-o", "text"]].concat());
        let table = out(&[cmd, &["-o", "table"]].concat());
        assert_eq!(text, table, "{cmd:?}");
        assert_eq!(text, out(cmd), "{cmd:?}: the default is the human view");
    }
}

#[test]
fn an_unknown_or_unoffered_format_is_a_usage_error_listing_the_commands_own() {
    for (cmd, bad, listed) in [
        ("analyze", "dot", "text, json, yaml, csv, sarif, html"),
        ("analyze", "xml", "text, json, yaml, csv, sarif, html"),
        ("certs", "sarif", "table, csv, json, yaml"),
        ("timeline", "mermaid", "text, json, yaml, csv"),
        ("graph", "csv", "dot, json, yaml, mermaid"),
        ("rules", "html", "table, json, yaml, csv"),
    ] {
        Test::new()
            .args([cmd, "-o", bad])
            .run()
            .code(2)
            .stderr_has(&format!("invalid value '{bad}'"))
            .stderr_has(listed);
    }
}

#[test]
fn new_formats_goldens() {
    Test::new()
        .args(["analyze", "--at", AT, "-o", "csv", "--fail-on", "none"])
        .run()
        .code(0)
        .golden("analyze-demo.csv");
    Test::new()
        .args(["timeline", "--at", AT, "-o", "yaml"])
        .run()
        .code(0)
        .golden("timeline-demo.yaml");
    Test::new()
        .args(["rules", "-o", "csv"])
        .run()
        .code(0)
        .golden("rules.csv");
}

#[test]
fn a_reader_that_stops_early_is_not_an_error() {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};
    let mut child = Command::new(env!("CARGO_BIN_EXE_harrow"))
        // 200 kB: more than a pipe holds, so harrow is still writing when the reader leaves.
        .args(["analyze", "--at", AT, "-o", "json", "--fail-on", "none"])
        .current_dir(support::root())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    // The pipe's reader is gone (as with `| head -1`).
    let done = child.wait_with_output().unwrap();
    assert_eq!(first.trim(), "{");
    let stderr = String::from_utf8_lossy(&done.stderr);
    assert!(!stderr.contains("Broken pipe"), "{stderr}");
    assert_eq!(done.status.code(), Some(0), "{stderr}");
}
