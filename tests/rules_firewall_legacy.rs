//! The host firewall rules over both iptables backends: a node snapshot's
//! `commands/iptables-legacy-save.txt` beside `commands/iptables-save.txt` (the seed warns
//! "iptables-legacy tables present"). A chain that lives only in the legacy tables is judged
//! there (FW001 passes, FW002/FW003/FW007 read it, evidence names the legacy file); a chain in
//! both backends is an FW003 finding; a legacy output that repeats the default tables, or holds
//! none, changes nothing. The node is the healthy `s1`, copied into a temporary directory.

// clippy.toml lets #[test] functions unwrap, panic and print; this lets their helpers too.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stderr
)]

mod rules_common;
mod support;

use std::path::Path;

use rules_common::{COLLECTED, analyze, coverage, findings, healthy_s1, pin, status};

/// The guide's structure for a control-plane node (a few of its ports).
const GUIDE: &str = "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n:HARVESTER_INPUT - [0:0]\n-A INPUT -j KUBE-FIREWALL\n-A INPUT -i mgmt-br -j HARVESTER_INPUT\n-A HARVESTER_INPUT -m conntrack --ctstate RELATED,ESTABLISHED -m comment --comment \"Accept return traffic from established connections\" -j ACCEPT\n-A HARVESTER_INPUT -p icmp -m comment --comment ICMP -j ACCEPT\n-A HARVESTER_INPUT -p tcp -m multiport --dports 6443,9345,2379,2380,10250 -j ACCEPT\n-A HARVESTER_INPUT -m limit --limit 10/min -j LOG --log-prefix HARVESTER_DROP_ --log-level 4\n-A HARVESTER_INPUT -m comment --comment \"Drop all other traffic\" -j DROP\nCOMMIT\n";

/// What iptables-nft-save prints on a node without a host firewall (Kubernetes' chains only).
const NFT_NO_CHAIN: &str = "# Warning: iptables-legacy tables present, use iptables-legacy-save to see them\n*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:KUBE-FIREWALL - [0:0]\n-A INPUT -j KUBE-FIREWALL\nCOMMIT\n";

/// `s1` with `nft` as its iptables-save and `legacy` as its iptables-legacy-save output.
fn s1_with(dir: &Path, nft: &str, legacy: &str) -> serde_json::Value {
    let s1 = healthy_s1(dir);
    std::fs::create_dir_all(s1.join("commands")).unwrap();
    std::fs::write(s1.join("commands/iptables-save.txt"), nft).unwrap();
    std::fs::write(s1.join("commands/iptables-legacy-save.txt"), legacy).unwrap();
    analyze(&[s1.to_string_lossy().into_owned()], COLLECTED)
}

fn paths(f: &serde_json::Value) -> Vec<String> {
    f["evidence"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["path"].as_str().map(str::to_string))
        .collect()
}

#[test]
fn a_chain_only_in_the_legacy_tables_filters_the_bridge() {
    let tmp = tempfile::tempdir().unwrap();
    let doc = s1_with(tmp.path(), NFT_NO_CHAIN, GUIDE);
    assert_eq!(status(&doc, "FW001"), "pass", "{}", coverage(&doc, "FW001"));
    assert_eq!(status(&doc, "FW003"), "pass", "{}", coverage(&doc, "FW003"));
    // The role's ports are judged in the legacy chain: 80/443 etc. are missing from GUIDE.
    assert_eq!(status(&doc, "FW002"), "fail", "{}", coverage(&doc, "FW002"));
    let f = findings(&doc, "FW002")[0];
    assert_eq!(f["severity"], "critical");
    assert!(
        paths(f)
            .iter()
            .any(|p| p.ends_with("commands/iptables-legacy-save.txt")),
        "{f}"
    );
    assert!(
        f["message"].as_str().unwrap().contains("legacy tables"),
        "{f}"
    );
    pin(&doc, "FW001", "pass-legacy-chain");
    pin(&doc, "FW003", "pass-legacy-chain");
    pin(&doc, "FW002", "fail-legacy-chain-missing-ports");
}

#[test]
fn without_the_legacy_chain_the_bridge_is_unfiltered() {
    let tmp = tempfile::tempdir().unwrap();
    let doc = s1_with(tmp.path(), NFT_NO_CHAIN, "");
    assert_eq!(status(&doc, "FW001"), "fail");
    let f = findings(&doc, "FW001");
    assert_eq!(f.len(), 1);
    // An empty legacy output (no legacy tables) is no evidence.
    assert_eq!(
        paths(f[0]),
        vec![paths(f[0])[0].clone()],
        "only iptables-save: {}",
        f[0]
    );
    assert!(paths(f[0])[0].ends_with("commands/iptables-save.txt"));
    pin(&doc, "FW001", "fail-empty-legacy-output");
}

#[test]
fn fw003_a_stale_legacy_copy_of_the_chain_fails() {
    let stale = GUIDE.replace(
        "-A HARVESTER_INPUT -p icmp -m comment --comment ICMP -j ACCEPT\n",
        "",
    );
    let tmp = tempfile::tempdir().unwrap();
    let doc = s1_with(tmp.path(), GUIDE, &stale);
    assert_eq!(status(&doc, "FW003"), "fail", "{}", coverage(&doc, "FW003"));
    let f = findings(&doc, "FW003");
    assert_eq!(f.len(), 1, "{f:?}");
    assert_eq!(f[0]["severity"], "critical");
    assert_eq!(f[0]["node"], "s1");
    assert_eq!(f[0]["target"], "filter HARVESTER_INPUT in two backends");
    let msg = f[0]["message"].as_str().unwrap();
    assert!(msg.contains("iptables-legacy-save"), "{msg}");
    assert!(msg.contains("different rules"), "{msg}");
    let p = paths(f[0]);
    assert!(p[0].ends_with("commands/iptables-save.txt"), "{p:?}");
    assert!(p[1].ends_with("commands/iptables-legacy-save.txt"), "{p:?}");
    // FW010 judges each copy: the legacy one lacks ICMP.
    assert_eq!(status(&doc, "FW010"), "fail");
    assert!(
        findings(&doc, "FW010")
            .iter()
            .all(|f| paths(f)[0].ends_with("commands/iptables-legacy-save.txt"))
    );
    pin(&doc, "FW003", "fail-stale-legacy-copy");
    pin(&doc, "FW010", "fail-legacy-copy-without-icmp");
}

#[test]
fn the_same_tables_printed_by_both_commands_are_one_backend() {
    // A host whose default iptables is the legacy backend prints the same tables twice.
    let tmp = tempfile::tempdir().unwrap();
    let doc = s1_with(
        tmp.path(),
        &format!("# Generated by iptables-save v1.8.4\n{GUIDE}"),
        &format!("# Generated by iptables-legacy-save v1.8.4\n{GUIDE}"),
    );
    assert_eq!(status(&doc, "FW001"), "pass");
    assert_eq!(status(&doc, "FW003"), "pass", "{}", coverage(&doc, "FW003"));
    pin(&doc, "FW001", "pass-same-tables-in-both-backends");
    pin(&doc, "FW003", "pass-same-tables-in-both-backends");
}

#[test]
fn fw007_an_unlimited_log_rule_in_the_legacy_tables_fails() {
    let unlimited = GUIDE.replace("-m limit --limit 10/min ", "");
    let tmp = tempfile::tempdir().unwrap();
    let doc = s1_with(tmp.path(), NFT_NO_CHAIN, &unlimited);
    assert_eq!(status(&doc, "FW007"), "fail");
    let logs: Vec<_> = findings(&doc, "FW007")
        .into_iter()
        .filter(|f| f["message"].as_str().unwrap().contains("LOG rule"))
        .collect();
    assert_eq!(logs.len(), 1);
    assert_eq!(logs[0]["severity"], "low");
    assert!(paths(logs[0])[0].ends_with("commands/iptables-legacy-save.txt"));
    pin(&doc, "FW007", "fail-legacy-unlimited-log");
}

#[test]
fn only_a_legacy_output_is_still_evidence_and_none_is_not_evaluable() {
    let tmp = tempfile::tempdir().unwrap();
    let s1 = healthy_s1(tmp.path());
    std::fs::create_dir_all(s1.join("commands")).unwrap();
    std::fs::write(s1.join("commands/iptables-legacy-save.txt"), GUIDE).unwrap();
    let doc = analyze(&[s1.to_string_lossy().into_owned()], COLLECTED);
    assert_eq!(status(&doc, "FW001"), "pass", "{}", coverage(&doc, "FW001"));
    pin(&doc, "FW001", "pass-legacy-output-only");
    let tmp2 = tempfile::tempdir().unwrap();
    let bare = healthy_s1(tmp2.path());
    let doc = analyze(&[bare.to_string_lossy().into_owned()], COLLECTED);
    assert_eq!(status(&doc, "FW001"), "not-evaluable");
    assert_eq!(status(&doc, "FW003"), "not-evaluable");
    pin(&doc, "FW001", "not-evaluable-no-iptables-output");
    pin(&doc, "FW003", "not-evaluable-no-iptables-output");
}
