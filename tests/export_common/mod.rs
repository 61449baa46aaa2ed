//! Helpers of the export tests (`cli_redact.rs`, `cli_collect.rs`): `analyze -o json` of one
//! input at the fixtures' collection time, and the views of it a copy must keep: the CERT
//! findings and the certificate fingerprints.

#![allow(dead_code)]

use serde_json::Value;

use crate::support::Test;

/// Collection time of the demo and the fixtures.
pub const AT: &str = "2026-11-20T10:00:00Z";

/// `harrow analyze -o json` of one input at [`AT`] (`--fail-on none`).
pub fn analyze(input: &str) -> Value {
    Test::new()
        .arg("analyze")
        .arg(input)
        .args(["-o", "json", "--fail-on", "none", "--at", AT])
        .run()
        .code(0)
        .json()
}

/// The CERT findings (rule, severity, node, target, message), sorted.
pub fn cert_findings(doc: &Value) -> Vec<String> {
    let mut v: Vec<String> = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule"].as_str().unwrap_or("").starts_with("CERT"))
        .map(|f| {
            format!(
                "{} {} {} {} {}",
                f["rule"], f["severity"], f["node"], f["target"], f["message"]
            )
        })
        .collect();
    v.sort();
    v
}

/// The certificate inventory's fingerprints, sorted.
pub fn fingerprints(doc: &Value) -> Vec<String> {
    let mut v: Vec<String> = doc["certificates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["fingerprint_sha256"].as_str().unwrap().to_string())
        .collect();
    v.sort();
    v
}
