//! No secret reaches any output: every command in every output format, on the demo and on the
//! fixture built to hold tokens in every source, is searched for the secrets the inputs hold —
//! token passwords (from `server/token`, `agent-token`, configs, drop-ins, unit environment
//! files, rancherd and `/oem` configs), and the base64 lines of every private key. The secrets are
//! read from the node snapshots themselves, so the test follows the fixtures.

// clippy.toml lets #[test] functions unwrap, panic and print; this lets their helpers too.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stderr
)]

mod support;

use std::collections::BTreeSet;
use std::io::Read as _;

use support::{Test, inputs_in, root};

/// The password part of a token value (`K10<hash>::server:<pw>`, `K10<hash>::<pw>`, or `<pw>`).
fn password(token: &str) -> &str {
    let t = token.trim().trim_matches(['"', '\'']);
    let creds = t.split_once("::").map_or(t, |(_, c)| c);
    creds.split_once(':').map_or(creds, |(_, pw)| pw)
}

/// Secrets of one node snapshot (`.tgz`): token passwords and private-key lines.
fn secrets_of(tgz: &str, out: &mut BTreeSet<String>) {
    let f = std::fs::File::open(root().join(tgz)).unwrap();
    let mut ar = tar::Archive::new(flate2::read::GzDecoder::new(f));
    for entry in ar.entries().unwrap() {
        let mut e = entry.unwrap();
        let path = e.path().unwrap().to_string_lossy().to_string();
        let mut text = String::new();
        if e.read_to_string(&mut text).is_err() {
            continue;
        }
        if path.ends_with("/token") || path.ends_with("agent-token") || path.ends_with("node-token")
        {
            let pw = password(&text);
            if pw.len() >= 8 {
                out.insert(pw.to_string());
            }
        }
        let in_key = text.contains("PRIVATE KEY-----");
        let mut inside = false;
        for line in text.lines() {
            let l = line.trim();
            if in_key {
                if l.starts_with("-----BEGIN") {
                    inside = l.contains("PRIVATE KEY");
                    continue;
                }
                if l.starts_with("-----END") {
                    inside = false;
                    continue;
                }
                if inside && l.len() >= 40 {
                    out.insert(l.to_string());
                }
            }
            // token: / agent-token: / RKE2_TOKEN= / agent_token: in configs and env files.
            let value = l
                .split_once(':')
                .filter(|(k, _)| {
                    let k = k.trim().trim_start_matches("- ").to_ascii_lowercase();
                    k == "token" || k == "agent-token" || k == "agent_token" || k == "agenttoken"
                })
                .or_else(|| {
                    l.split_once('=').filter(|(k, _)| {
                        k.trim().ends_with("_TOKEN") || k.trim().ends_with("_AGENT_TOKEN")
                    })
                })
                .map(|(_, v)| v.trim());
            if let Some(v) = value {
                let pw = password(v);
                if pw.len() >= 8 && pw != "***" {
                    out.insert(pw.to_string());
                }
            }
        }
    }
}

fn secrets(dir: &str) -> BTreeSet<String> {
    let mut s = BTreeSet::new();
    for p in inputs_in(dir).iter().filter(|p| p.ends_with(".tgz")) {
        secrets_of(p, &mut s);
    }
    s
}

/// Every command and format that renders a snapshot.
const RUNS: &[&[&str]] = &[
    &["analyze", "-o", "text"],
    &["analyze", "-o", "json"],
    &["analyze", "-o", "sarif"],
    &["analyze", "-o", "yaml"],
    &["analyze", "-o", "csv"],
    &["analyze", "-o", "html"],
    &["certs", "-o", "table"],
    &["certs", "-o", "csv"],
    &["certs", "-o", "json"],
    &["certs", "-o", "yaml"],
    &["graph", "-o", "json"],
    &["graph", "-o", "dot"],
    &["graph", "-o", "mermaid"],
    &["graph", "-o", "yaml"],
    &["timeline", "-o", "text"],
    &["timeline", "-o", "json"],
    &["timeline", "-o", "yaml"],
    &["timeline", "-o", "csv"],
];

fn assert_no_secret_anywhere(dir: &str) {
    let secrets = secrets(dir);
    assert!(
        secrets.len() >= 3,
        "{dir}: expected token passwords and key lines in the inputs, found {}",
        secrets.len()
    );
    let inputs = inputs_in(dir);
    for args in RUNS {
        let mut t = Test::new()
            .args(args.iter().copied())
            .args(&inputs)
            .args(["--at", "2026-11-20T10:00:00Z"]);
        if args[0] == "analyze" {
            t = t.args(["--fail-on", "none"]);
        }
        let run = t.run();
        let all = format!("{}{}", run.stdout, run.stderr);
        assert!(!all.is_empty(), "{args:?} printed nothing");
        for s in &secrets {
            assert!(
                !all.contains(s.as_str()),
                "{args:?} on {dir} shows a secret ({} chars)",
                s.len()
            );
        }
        assert!(
            !all.contains("PRIVATE KEY-----"),
            "{args:?} on {dir} shows a PEM key"
        );
    }
}

#[test]
fn no_secret_of_the_demo_in_any_command_or_format() {
    assert_no_secret_anywhere("bundles/demo");
}

#[test]
fn no_secret_of_the_token_sources_fixture_in_any_command_or_format() {
    assert_no_secret_anywhere("bundles/fixtures/token-sources");
}
