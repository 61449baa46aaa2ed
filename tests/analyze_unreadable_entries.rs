//! Entries of a node snapshot that the model cannot read (a malformed certificate, an rke2
//! config drop-in that is not YAML, a hostile nested one) are named on standard error by
//! `analyze`, input and entry, without their contents; the rest of the analysis still runs.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stderr
)]

mod rules_common;
mod support;

use rules_common::{COLLECTED, healthy_s1, status};
use support::Test;

const SECRET: &str = "K10notarealhash::server:s3cr3t-in-a-broken-file";

#[test]
fn unreadable_entries_are_named_and_the_rest_is_analyzed() {
    let dir = tempfile::tempdir().unwrap();
    let s1 = healthy_s1(dir.path());
    let d = s1.join("etc/rancher/rke2/config.yaml.d");
    std::fs::write(
        d.join("95-broken.yaml"),
        format!("token: {SECRET}\n  bad: [\n"),
    )
    .unwrap();
    std::fs::write(
        d.join("96-deep.yaml"),
        format!("a: {}{}\n", "[".repeat(5000), "]".repeat(5000)),
    )
    .unwrap();
    std::fs::write(
        s1.join("var/lib/rancher/rke2/server/tls/bad.crt"),
        "-----BEGIN CERTIFICATE-----\ngarbage\n-----END CERTIFICATE-----\n",
    )
    .unwrap();
    let run = Test::new()
        .arg("analyze")
        .arg(s1.display().to_string())
        .args(["-o", "json", "--fail-on", "none", "--at", COLLECTED])
        .run()
        .code(0);
    for entry in [
        "s1!etc/rancher/rke2/config.yaml.d/95-broken.yaml",
        "s1!etc/rancher/rke2/config.yaml.d/96-deep.yaml",
        "s1!var/lib/rancher/rke2/server/tls/bad.crt: malformed certificate",
    ] {
        assert!(
            run.stderr.contains(&format!("harrow analyze: {entry}")),
            "{entry}: {}",
            run.stderr
        );
    }
    assert!(!run.stderr.contains("s3cr3t"), "{}", run.stderr);
    assert!(!run.stdout.contains("s3cr3t"));
    // The rest is judged as on the healthy snapshot.
    let doc = run.json();
    for rule in ["CERT001", "CERT006", "SAKEY001", "TOKEN001"] {
        assert_eq!(status(&doc, rule), "pass", "{rule}");
    }
}

#[test]
fn the_demo_has_no_unreadable_entry() {
    let run = Test::new()
        .args(["analyze", "--fail-on", "none"])
        .run()
        .code(0);
    assert!(!run.stderr.contains("harrow analyze:"), "{}", run.stderr);
}
