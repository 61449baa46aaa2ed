//! Helpers of the rule tests (`rules_cert.rs`, `rules_sakey_token.rs`, `rules_more.rs`,
//! `rules_registry.rs`): run `harrow analyze -o
//! json` on a fixture variant at a reference time, and read one rule's coverage and findings.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::support::{Test, inputs_in, root};

/// Collection time of every fault variant.
pub const COLLECTED: &str = "2026-11-20T10:00:00Z";

/// `harrow analyze -o json` of the given inputs at `at` (exit code not judged: `--fail-on none`).
pub fn analyze(inputs: &[String], at: &str) -> Value {
    Test::new()
        .arg("analyze")
        .args(inputs)
        .args(["-o", "json", "--fail-on", "none", "--at", at])
        .run()
        .code(0)
        .json()
}

/// `analyze` of every input of `bundles/fixtures/<variant>`.
pub fn variant(name: &str, at: &str) -> Value {
    analyze(&inputs_in(&format!("bundles/fixtures/{name}")), at)
}

/// The coverage row of `rule` (panics when there is none: every rule has one).
pub fn coverage<'a>(doc: &'a Value, rule: &str) -> &'a Value {
    doc["coverage"]
        .as_array()
        .and_then(|c| c.iter().find(|r| r["rule"] == rule))
        .unwrap_or_else(|| panic!("no coverage row for {rule}: {}", doc["coverage"]))
}

/// The coverage status of `rule`.
pub fn status(doc: &Value, rule: &str) -> String {
    coverage(doc, rule)["status"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

/// The findings of `rule`.
pub fn findings<'a>(doc: &'a Value, rule: &str) -> Vec<&'a Value> {
    doc["findings"]
        .as_array()
        .map(|f| f.iter().filter(|x| x["rule"] == rule).collect())
        .unwrap_or_default()
}

/// `(node, target)` of every finding of `rule`, sorted.
pub fn targets(doc: &Value, rule: &str) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = findings(doc, rule)
        .iter()
        .map(|f| {
            (
                f["node"].as_str().unwrap_or("-").to_string(),
                f["target"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    v.sort();
    v
}

/// The rules that read files from nodes (certificates, keys, tokens, CA copies), from the
/// registry: a support bundle alone leaves each of them not evaluable or not applicable.
pub fn node_rules() -> Vec<&'static str> {
    use harrow::checks::{Need, RULES};
    RULES
        .iter()
        .filter(|r| {
            r.needs
                .iter()
                .any(|n| matches!(n, Need::NodeFiles | Need::TwoServers | Need::OtherServers))
        })
        .map(|r| r.code)
        .collect()
}

/// A node snapshot `.tgz` of the repository (`bundles/demo/n1.tgz`) extracted into
/// `<dir>/<name>`, as a node snapshot directory.
pub fn unpack(tgz: &str, dir: &Path, name: &str) -> PathBuf {
    let f = std::fs::File::open(root().join(tgz)).unwrap_or_else(|e| panic!("{tgz}: {e}"));
    let out = dir.join(name);
    tar::Archive::new(flate2::read::GzDecoder::new(f))
        .unpack(&out)
        .unwrap_or_else(|e| panic!("unpack {tgz}: {e}"));
    out
}

/// The healthy fixture's `s1.tgz` extracted into `<dir>/s1`, as a node snapshot directory.
pub fn healthy_s1(dir: &Path) -> PathBuf {
    unpack("bundles/fixtures/healthy/s1.tgz", dir, "s1")
}

/// `harrow analyze -o json` of these paths at the fixtures' collection time.
pub fn analyze_paths(paths: &[&Path]) -> Value {
    let inputs: Vec<String> = paths
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    analyze(&inputs, COLLECTED)
}

/// The demo's support bundle alone (no node snapshot).
pub fn support_bundle() -> Vec<String> {
    inputs_in("bundles/demo")
        .into_iter()
        .filter(|p| p.ends_with(".zip"))
        .collect()
}
