//! The token rules TOKEN002 (a joining node's token without a CA hash; info on Harvester),
//! TOKEN004 (the agent token has the server token's password; not applicable on Harvester) and
//! TOKEN005 (servers disagree on the server token password) through `harrow analyze`: each fails,
//! passes and is not evaluable, and no output format carries a token password.
//!
//! Where no committed fixture shows the fault, the test extracts the `healthy` fixture's nodes
//! into temporary node snapshot directories and edits them: removing `/oem` and
//! `etc/harvester-release.yaml` makes the cluster a plain RKE2 one; `bundles/` is never modified.

// clippy.toml lets #[test] functions unwrap, panic and print; this lets their helpers too.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stderr
)]

mod rules_common;
mod support;

use std::path::{Path, PathBuf};

use harrow::pki::token::{scan_env_file, scan_rke2_config};
use rules_common::{
    COLLECTED, analyze, coverage, findings, pin, status, support_bundle, targets, variant,
};
use support::Test;

const DROP_INS: &str = "etc/rancher/rke2/config.yaml.d/";
const RANCHERD_DROP_IN: &str = "etc/rancher/rke2/config.yaml.d/40-rancherd.yaml";
const SERVER_TOKEN: &str = "var/lib/rancher/rke2/server/token";
const AGENT_TOKEN: &str = "var/lib/rancher/rke2/server/agent-token";

/// `bundles/fixtures/<variant>/<node>.tgz` extracted into `<dir>/<node>`.
fn extract(variant: &str, node: &str, dir: &Path) -> PathBuf {
    rules_common::unpack(&format!("bundles/fixtures/{variant}/{node}.tgz"), dir, node)
}

/// The healthy cluster's nodes, extracted; `plain` removes what makes them Harvester nodes.
fn healthy(dir: &Path, nodes: &[&str], plain: bool) -> Vec<PathBuf> {
    nodes
        .iter()
        .map(|n| {
            let p = extract("healthy", n, dir);
            if plain {
                std::fs::remove_dir_all(p.join("oem")).expect("remove oem");
                std::fs::remove_file(p.join("etc/harvester-release.yaml"))
                    .expect("remove harvester-release.yaml");
            }
            p
        })
        .collect()
}

fn strings(paths: &[PathBuf]) -> Vec<String> {
    paths
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect()
}

/// `analyze` of node snapshot directories at collection time.
fn analyze_dirs(paths: &[PathBuf]) -> serde_json::Value {
    analyze(&strings(paths), COLLECTED)
}

/// The standard output of `analyze -o <fmt>` of `inputs`, with extra arguments.
fn output(inputs: &[String], fmt: &str, extra: &[&str]) -> String {
    Test::new()
        .arg("analyze")
        .args(inputs)
        .args(["-o", fmt, "--fail-on", "none", "--at", COLLECTED])
        .args(extra)
        .run()
        .code(0)
        .stdout
}

/// The password of a token file or `token:` line's value (`K10…::user:<pw>` or short).
fn password_of(value: &str) -> String {
    let v = value.trim().trim_matches('"');
    match v.split_once("::") {
        Some((_, creds)) => creds.rsplit(':').next().unwrap_or("").to_string(),
        None => v.to_string(),
    }
}

/// The password of `server/token` in a node directory.
fn server_password(node: &Path) -> String {
    let pw = password_of(&std::fs::read_to_string(node.join(SERVER_TOKEN)).expect("token"));
    assert!(pw.len() >= 16, "a real password");
    pw
}

/// Rewrite the `token:` line of a YAML file with `value`.
fn set_token(file: &Path, value: &str) {
    let text = std::fs::read_to_string(file).expect("read");
    assert!(text.lines().any(|l| l.starts_with("token:")), "{text}");
    let new: Vec<String> = text
        .lines()
        .map(|l| {
            if l.starts_with("token:") {
                format!("token: {value}")
            } else {
                l.to_string()
            }
        })
        .collect();
    std::fs::write(file, new.join("\n") + "\n").expect("write");
}

/// The demo's support bundle alone (node config tokens masked).
fn reason(doc: &serde_json::Value, rule: &str) -> String {
    coverage(doc, rule)["reason"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

// ---- TOKEN002 ----

#[test]
fn token002_joining_server_with_the_short_token_is_info_on_harvester() {
    let doc = variant("healthy", COLLECTED);
    assert_eq!(status(&doc, "TOKEN002"), "fail");
    // s2 names `server:` and joins with the short cluster token; a1 uses the full K10 token;
    // s1 (cluster-init) names no server and may start with the short token.
    assert_eq!(
        targets(&doc, "TOKEN002"),
        [("s2".to_string(), RANCHERD_DROP_IN.to_string())]
    );
    let f = findings(&doc, "TOKEN002")[0];
    assert_eq!(f["severity"], "info");
    let msg = f["message"].as_str().unwrap();
    assert!(
        msg.contains("short token") && msg.contains("Harvester v1.6.1"),
        "{msg}"
    );
    assert!(msg.contains("https://10.9.0.10:9345"), "{msg}");
    // Evidence: the token's line, then the `server:` line.
    assert_eq!(f["evidence"][0]["pointer"], "7");
    assert_eq!(f["evidence"][1]["pointer"], "6");
    assert!(reason(&doc, "TOKEN002").contains("not judged: s1"));
    pin(&doc, "TOKEN002", "fail-info-on-harvester");
}

#[test]
fn token002_is_medium_on_a_plain_rke2_cluster() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let doc = analyze_dirs(&healthy(tmp.path(), &["s1", "s2", "a1"], true));
    assert_eq!(doc["cluster"]["harvester_version"], serde_json::Value::Null);
    assert_eq!(status(&doc, "TOKEN002"), "fail");
    assert_eq!(
        targets(&doc, "TOKEN002"),
        [("s2".to_string(), RANCHERD_DROP_IN.to_string())]
    );
    let f = findings(&doc, "TOKEN002")[0];
    assert_eq!(f["severity"], "medium");
    assert!(!f["message"].as_str().unwrap().contains("Harvester"));
    assert!(f["remediation"].as_str().unwrap().contains("K10<hash>"));
    pin(&doc, "TOKEN002", "fail-medium-on-plain-rke2");
}

#[test]
fn token002_an_agent_joining_by_environment_with_a_short_token_fails() {
    // a1 without its config token: rke2 takes RKE2_TOKEN and RKE2_URL from the unit
    // environment file.
    let tmp = tempfile::tempdir().expect("tempdir");
    let nodes = healthy(tmp.path(), &["s1", "s2", "a1"], true);
    let a1 = &nodes[2];
    let cfg = a1.join(RANCHERD_DROP_IN);
    let text = std::fs::read_to_string(&cfg).expect("read");
    let kept: Vec<&str> = text
        .lines()
        .filter(|l| !l.starts_with("token:") && !l.starts_with("server:"))
        .collect();
    std::fs::write(&cfg, kept.join("\n") + "\n").expect("write");
    let pw = server_password(&nodes[0]);
    let env = "etc/systemd/system/rke2-agent.service.env";
    std::fs::create_dir_all(a1.join("etc/systemd/system")).expect("mkdir");
    std::fs::write(
        a1.join(env),
        format!("RKE2_URL=https://10.9.0.10:9345\nRKE2_TOKEN={pw}\n"),
    )
    .expect("write env");
    let doc = analyze_dirs(&nodes);
    assert_eq!(
        targets(&doc, "TOKEN002"),
        [
            ("a1".to_string(), env.to_string()),
            ("s2".to_string(), RANCHERD_DROP_IN.to_string())
        ]
    );
    let f = findings(&doc, "TOKEN002")
        .into_iter()
        .find(|f| f["node"] == "a1")
        .unwrap();
    assert!(
        f["message"]
            .as_str()
            .unwrap()
            .contains("(RKE2_URL in etc/systemd/system/rke2-agent.service.env:1)"),
        "{}",
        f["message"]
    );
    pin(&doc, "TOKEN002", "fail-agent-joining-by-environment");
}

#[test]
fn token002_passes_when_every_joining_node_pins_the_ca() {
    let doc = variant("token-sources", COLLECTED);
    assert_eq!(status(&doc, "TOKEN002"), "pass");
    assert!(findings(&doc, "TOKEN002").is_empty());
    pin(&doc, "TOKEN002", "pass");
}

#[test]
fn token002_a_first_server_alone_is_not_judged() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let doc = analyze_dirs(&healthy(tmp.path(), &["s1"], true));
    assert_eq!(status(&doc, "TOKEN002"), "not-evaluable");
    assert!(reason(&doc, "TOKEN002").contains("not judged: s1"));
    pin(&doc, "TOKEN002", "not-evaluable-first-server-alone");
}

#[test]
fn token002_is_not_evaluable_on_a_support_bundle() {
    let doc = analyze(&support_bundle(), COLLECTED);
    assert_eq!(status(&doc, "TOKEN002"), "not-evaluable");
    assert!(coverage(&doc, "TOKEN002")["needs"].is_string());
    pin(&doc, "TOKEN002", "not-evaluable");
}

#[test]
fn a_masked_config_token_is_unknown_not_the_written_token_file() {
    // In `collected` the servers' config tokens are `***`: rke2 uses them, not `server/token`
    // (`K10<hash>::server:***`), so s1 and s2 are not judged, and `***` passwords are not compared.
    let doc = variant("collected", COLLECTED);
    assert_eq!(status(&doc, "TOKEN002"), "pass");
    assert!(
        reason(&doc, "TOKEN002").contains("masked or absent on s1,s2"),
        "{}",
        reason(&doc, "TOKEN002")
    );
    assert_eq!(status(&doc, "TOKEN005"), "not-evaluable");
    pin(&doc, "TOKEN002", "pass-masked-config-tokens");
    pin(&doc, "TOKEN005", "not-evaluable-masked-config-tokens");
}

// ---- TOKEN004 ----

#[test]
fn token004_is_not_applicable_on_harvester() {
    let doc = variant("healthy", COLLECTED);
    assert_eq!(status(&doc, "TOKEN004"), "not-applicable");
    assert!(reason(&doc, "TOKEN004").starts_with("Harvester v1.6.1"));
    pin(&doc, "TOKEN004", "not-applicable");
    assert_eq!(
        status(&analyze(&support_bundle(), COLLECTED), "TOKEN004"),
        "not-applicable"
    );
}

#[test]
fn token004_agent_token_defaulting_to_the_server_password_fails() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let doc = analyze_dirs(&healthy(tmp.path(), &["s1", "s2", "a1"], true));
    assert_eq!(status(&doc, "TOKEN004"), "fail");
    assert_eq!(
        targets(&doc, "TOKEN004"),
        [
            ("s1".to_string(), AGENT_TOKEN.to_string()),
            ("s2".to_string(), AGENT_TOKEN.to_string())
        ]
    );
    for f in findings(&doc, "TOKEN004") {
        assert_eq!(f["severity"], "medium");
        let msg = f["message"].as_str().unwrap();
        assert!(msg.contains("no agent token is set"), "{msg}");
        assert!(msg.contains(RANCHERD_DROP_IN), "{msg}");
        assert_eq!(f["evidence"].as_array().unwrap().len(), 2);
    }
    pin(&doc, "TOKEN004", "fail-defaulting-to-the-server-password");
}

#[test]
fn token004_an_agent_token_set_to_the_server_password_fails_and_a_separate_one_passes() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let nodes = healthy(tmp.path(), &["s1"], true);
    let s1 = &nodes[0];
    let pw = server_password(s1);
    let drop_in = format!("{DROP_INS}60-agent-token.yaml");
    std::fs::write(s1.join(&drop_in), format!("agent-token: {pw}\n")).expect("write");
    let doc = analyze_dirs(&nodes);
    assert_eq!(
        targets(&doc, "TOKEN004"),
        [("s1".to_string(), drop_in.clone())]
    );
    let msg = findings(&doc, "TOKEN004")[0]["message"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        msg.contains(&format!("the agent token in {drop_in}:1 has the password")),
        "{msg}"
    );
    pin(&doc, "TOKEN004", "fail-set-to-the-server-password");

    std::fs::write(
        s1.join(&drop_in),
        "agent-token: a-separate-agent-password-0123456789\n",
    )
    .expect("write");
    let doc = analyze_dirs(&nodes);
    assert_eq!(status(&doc, "TOKEN004"), "pass");
    pin(&doc, "TOKEN004", "pass");
}

#[test]
fn token004_is_not_evaluable_without_an_agent_token() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let nodes = healthy(tmp.path(), &["s1"], true);
    std::fs::remove_file(nodes[0].join(AGENT_TOKEN)).expect("remove agent-token");
    let doc = analyze_dirs(&nodes);
    assert_eq!(status(&doc, "TOKEN004"), "not-evaluable");
    pin(&doc, "TOKEN004", "not-evaluable");
}

// ---- TOKEN005 ----

/// The healthy cluster (Harvester) with s2's config token set to another password.
fn diverging(dir: &Path) -> (Vec<PathBuf>, String, String) {
    let nodes = healthy(dir, &["s1", "s2", "a1"], false);
    let right = server_password(&nodes[0]);
    let wrong = "0123456789abcdef0123456789abcdef".to_string();
    set_token(&nodes[1].join(RANCHERD_DROP_IN), &wrong);
    (nodes, right, wrong)
}

#[test]
fn token005_two_servers_with_different_passwords_fail() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (nodes, _, _) = diverging(tmp.path());
    let doc = analyze_dirs(&nodes);
    assert_eq!(status(&doc, "TOKEN005"), "fail");
    // Two servers, two passwords: no majority, one finding naming both.
    let f = findings(&doc, "TOKEN005");
    assert_eq!(f.len(), 1);
    assert_eq!(f[0]["severity"], "high");
    assert_eq!(f[0]["node"], serde_json::Value::Null);
    let msg = f[0]["message"].as_str().unwrap();
    assert!(
        msg.contains(&format!("s1 ({RANCHERD_DROP_IN}:6)"))
            && msg.contains(&format!("s2 ({RANCHERD_DROP_IN}:7)")),
        "{msg}"
    );
    assert!(!msg.contains("hm:"), "no fingerprint without a key: {msg}");
    pin(&doc, "TOKEN005", "fail-two-servers");
}

#[test]
fn token005_a_majority_names_the_odd_server() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (nodes, _, _) = diverging(tmp.path());
    // A third server holding s1's configuration, named on the command line.
    let s3 = extract("healthy", "s1", &tmp.path().join("third"));
    let mut inputs = strings(&nodes);
    inputs.push(format!("s3={}", s3.display()));
    let doc = analyze(&inputs, COLLECTED);
    assert_eq!(status(&doc, "TOKEN005"), "fail");
    assert_eq!(
        targets(&doc, "TOKEN005"),
        [("s2".to_string(), RANCHERD_DROP_IN.to_string())]
    );
    let msg = findings(&doc, "TOKEN005")[0]["message"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(msg.contains("than the one s1 ("), "{msg}");
    assert!(msg.contains("s3 ("), "{msg}");
    pin(&doc, "TOKEN005", "fail-majority-names-the-odd-server");
}

#[test]
fn token005_passes_on_healthy_and_token_sources() {
    for v in ["healthy", "token-sources", "token-wrong-hash"] {
        let doc = variant(v, COLLECTED);
        assert_eq!(status(&doc, "TOKEN005"), "pass", "{v}");
        pin(&doc, "TOKEN005", &format!("pass-{v}"));
    }
}

#[test]
fn token005_is_not_evaluable_on_a_support_bundle_or_one_server() {
    let doc = analyze(&support_bundle(), COLLECTED);
    assert_eq!(status(&doc, "TOKEN005"), "not-evaluable");
    pin(&doc, "TOKEN005", "not-evaluable");
    let tmp = tempfile::tempdir().expect("tempdir");
    let doc = analyze_dirs(&healthy(tmp.path(), &["s1"], false));
    assert_eq!(status(&doc, "TOKEN005"), "not-evaluable");
    pin(&doc, "TOKEN005", "not-evaluable-one-server");
}

#[test]
fn token005_keyed_fingerprints_only_with_a_key() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (nodes, _, _) = diverging(tmp.path());
    let key = tmp.path().join("fp.key");
    std::fs::write(&key, b"a test key\n").expect("key");
    let out = output(
        &strings(&nodes),
        "json",
        &["--fingerprint-key", key.to_str().unwrap()],
    );
    let doc: serde_json::Value = serde_json::from_str(&out).expect("json");
    let msg = findings(&doc, "TOKEN005")[0]["message"]
        .as_str()
        .unwrap()
        .to_string();
    let fps: Vec<&str> = msg
        .split("fingerprint ")
        .skip(1)
        .map(|s| s.get(..19).unwrap_or(s))
        .collect();
    assert_eq!(fps.len(), 2, "{msg}");
    assert!(fps.iter().all(|f| f.starts_with("hm:")), "{msg}");
    assert_ne!(
        fps[0], fps[1],
        "different passwords, different fingerprints"
    );
    pin(&doc, "TOKEN005", "fail-keyed-fingerprints");
}

// ---- secrets ----

#[test]
fn no_token_password_reaches_json_or_text_output() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let key = tmp.path().join("fp.key");
    std::fs::write(&key, b"another key").expect("key");
    // TOKEN005 fails with two passwords and TOKEN002 fails (Harvester); the plain cluster
    // makes TOKEN002 medium and TOKEN004 fail.
    let (nodes, right, wrong) = diverging(&tmp.path().join("harvester"));
    let plain = healthy(&tmp.path().join("plain"), &["s1", "s2", "a1"], true);
    for (inputs, rules) in [
        (strings(&nodes), &["TOKEN002", "TOKEN005"][..]),
        (strings(&plain), &["TOKEN002", "TOKEN004"][..]),
    ] {
        for fmt in ["json", "text"] {
            for extra in [&[][..], &["--fingerprint-key", key.to_str().unwrap()][..]] {
                let out = output(&inputs, fmt, extra);
                for r in rules {
                    assert!(out.contains(r), "{fmt}: {r} missing");
                }
                assert!(!out.contains(&right), "{fmt}: the cluster password leaked");
                assert!(!out.contains(&wrong), "{fmt}: the other password leaked");
            }
        }
    }
}

// ---- the parsers the model reads `server:` with ----

#[test]
fn the_server_a_node_joins_comes_from_the_merged_config_or_the_environment() {
    let config = "server: https://first:9345\ntoken: pw\n";
    let later = "# joins the VIP\nserver: \"https://vip:9345\"\n";
    let out = scan_rke2_config(
        Some(("etc/rancher/rke2/config.yaml", config.as_bytes())),
        &[("etc/rancher/rke2/config.yaml.d/40-x.yaml", later.as_bytes())],
    );
    let s = out.server.expect("server");
    assert_eq!(s.url, "https://vip:9345");
    assert_eq!(s.source, "etc/rancher/rke2/config.yaml.d/40-x.yaml");
    assert_eq!(s.line, Some(2));
    // An empty later value unsets it: the node starts a cluster of its own.
    let cleared = scan_rke2_config(
        Some(("etc/rancher/rke2/config.yaml", config.as_bytes())),
        &[(
            "etc/rancher/rke2/config.yaml.d/90-init.yaml",
            b"server: \"\"\n".as_slice(),
        )],
    );
    assert_eq!(cleared.server, None);
    let env = scan_env_file(
        "etc/default/rke2-agent",
        b"# agent\nRKE2_URL=\"https://vip:9345\"\nRKE2_TOKEN=pw\n",
    );
    assert_eq!(env.servers.len(), 1);
    assert_eq!(env.servers[0].key, "RKE2_URL");
    assert_eq!(env.servers[0].line, Some(2));
    assert_eq!(env.servers[0].url, "https://vip:9345");
    assert_eq!(env.found.len(), 1);
}
