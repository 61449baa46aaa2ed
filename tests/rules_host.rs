//! Host configuration rules through `harrow analyze -o json`: HOST001 (kernel parameters),
//! HOST002 (CIS profile without the etcd user and group), HOST003 (secrets encryption, CIS
//! profile, audit logging), FW011 (the firewall's pod-network accept against `cluster-cidr`)
//! and CERT009 (serving certificate SANs). Each case edits a temporary copy of the healthy
//! fixture's `s1` node snapshot; the demo support bundle supplies supportconfig's `memory.txt`
//! and `etc.txt`; `bundles/` is never modified.

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

use rules_common::{
    COLLECTED, analyze, assert_pass_pinned, coverage, findings, healthy_s1, pin, status,
    support_bundle,
};

const DROP_INS: &str = "etc/rancher/rke2/config.yaml.d";
const SYSCTL: &str = "etc/sysctl.d/90-rke2.conf";

fn run(s1: &Path) -> serde_json::Value {
    analyze(&[s1.to_string_lossy().into_owned()], COLLECTED)
}

/// `s1` with `file` (host path) written with `text`.
fn write(s1: &Path, file: &str, text: &str) {
    let p = s1.join(file);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, text).unwrap();
}

/// `s1` with a CIS profile in a drop-in of its own.
fn with_profile(s1: &Path, profile: &str) {
    write(
        s1,
        &format!("{DROP_INS}/95-cis.yaml"),
        &format!("profile: {profile}\n"),
    );
}

/// `s1` as a plain RKE2 node: no `/oem`, no Harvester release file.
fn plain_rke2(s1: &Path) {
    std::fs::remove_dir_all(s1.join("oem")).unwrap();
    std::fs::remove_file(s1.join("etc/harvester-release.yaml")).unwrap();
}

fn s1(tmp: &tempfile::TempDir) -> PathBuf {
    healthy_s1(tmp.path())
}

/// Asserts `rule` is not evaluable and its needs name `what`.
fn not_evaluable_needing(doc: &serde_json::Value, rule: &str, what: &str) {
    assert_eq!(status(doc, rule), "not-evaluable");
    let needs = coverage(doc, rule)["needs"].as_str().unwrap_or("");
    assert!(needs.contains(what), "{needs}");
}

/// The paths of a finding's evidence.
fn evidence_paths(f: &serde_json::Value) -> Vec<String> {
    f["evidence"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["path"].as_str().map(str::to_string))
        .collect()
}

fn messages(doc: &serde_json::Value, rule: &str) -> Vec<String> {
    findings(doc, rule)
        .iter()
        .filter_map(|f| f["message"].as_str().map(str::to_string))
        .collect()
}

#[test]
fn host001_passes_on_the_healthy_node_and_on_the_bundles_supportconfig() {
    let tmp = tempfile::tempdir().unwrap();
    let doc = run(&s1(&tmp));
    assert_eq!(
        status(&doc, "HOST001"),
        "pass",
        "{}",
        coverage(&doc, "HOST001")
    );
    pin(&doc, "HOST001", "pass");
    // The demo bundle alone: memory.txt's vm.* live, etc.txt's sysctl.d for kernel.*.
    let doc = analyze(&support_bundle(), COLLECTED);
    assert_eq!(
        status(&doc, "HOST001"),
        "pass",
        "{}",
        coverage(&doc, "HOST001")
    );
    pin(&doc, "HOST001", "pass-supportconfig");
}

#[test]
fn host001_configured_value_differs_medium_and_high_with_a_cis_profile() {
    let tmp = tempfile::tempdir().unwrap();
    let s1 = s1(&tmp);
    let conf = std::fs::read_to_string(s1.join(SYSCTL)).unwrap();
    assert!(conf.contains("kernel.panic=10"), "fixture changed");
    write(
        &s1,
        SYSCTL,
        &conf.replace("kernel.panic=10", "kernel.panic = 0"),
    );
    let doc = run(&s1);
    assert_eq!(status(&doc, "HOST001"), "fail");
    let all = findings(&doc, "HOST001");
    assert_eq!(all.len(), 1, "{all:?}");
    let f = all[0];
    assert_eq!(f["severity"], "medium");
    assert_eq!(f["node"], "s1");
    assert_eq!(f["target"], "kernel.panic");
    assert!(
        f["evidence"][0]["path"].as_str().unwrap().ends_with(SYSCTL),
        "{f}"
    );
    assert!(
        f["evidence"][0]["pointer"]
            .as_str()
            .unwrap()
            .starts_with("line "),
        "{f}"
    );
    pin(&doc, "HOST001", "fail");

    with_profile(&s1, "cis-1.23");
    let doc = run(&s1);
    let f = findings(&doc, "HOST001")[0].clone();
    assert_eq!(f["severity"], "high");
    assert!(f["message"].as_str().unwrap().contains("cis-1.23"), "{f}");
    pin(&doc, "HOST001", "fail-cis-profile");
}

#[test]
fn host001_live_sysctl_output_wins_over_the_configuration() {
    let tmp = tempfile::tempdir().unwrap();
    let s1 = s1(&tmp);
    write(
        &s1,
        "commands/sysctl-a.txt",
        "kernel.panic = 10\nkernel.panic_on_oops = 1\nvm.overcommit_memory = 0\nvm.panic_on_oom = 0\n",
    );
    let doc = run(&s1);
    let all = findings(&doc, "HOST001");
    assert_eq!(all.len(), 1, "{all:?}");
    assert_eq!(all[0]["target"], "vm.overcommit_memory");
    assert!(
        all[0]["message"]
            .as_str()
            .unwrap()
            .contains("running kernel")
    );
    pin(&doc, "HOST001", "fail-live-sysctl");
}

#[test]
fn host001_not_evaluable_without_kernel_parameters() {
    let tmp = tempfile::tempdir().unwrap();
    let s1 = s1(&tmp);
    std::fs::remove_dir_all(s1.join("etc/sysctl.d")).unwrap();
    let doc = run(&s1);
    not_evaluable_needing(&doc, "HOST001", "sysctl");
    pin(&doc, "HOST001", "not-evaluable");
}

#[test]
fn host002_profile_without_etcd_user_fails_high() {
    let tmp = tempfile::tempdir().unwrap();
    let s1 = s1(&tmp);
    with_profile(&s1, "cis");
    let doc = run(&s1);
    assert_eq!(status(&doc, "HOST002"), "fail");
    let f = findings(&doc, "HOST002")[0].clone();
    assert_eq!(f["severity"], "high");
    assert_eq!(f["node"], "s1");
    assert_eq!(f["target"], "etcd");
    assert!(
        f["message"]
            .as_str()
            .unwrap()
            .contains("no etcd user and no etcd group")
    );
    let paths = evidence_paths(&f);
    assert!(
        paths.iter().any(|p| p.ends_with("95-cis.yaml")),
        "{paths:?}"
    );
    assert!(paths.iter().any(|p| p.ends_with("etc/passwd")), "{paths:?}");
    pin(&doc, "HOST002", "fail");
}

#[test]
fn host002_passes_with_the_etcd_user_and_group() {
    let tmp = tempfile::tempdir().unwrap();
    let s1 = s1(&tmp);
    with_profile(&s1, "cis");
    let passwd = std::fs::read_to_string(s1.join("etc/passwd")).unwrap();
    write(
        &s1,
        "etc/passwd",
        &format!("{passwd}etcd:x:52034:52034:etcd service account:/home/etcd:/usr/sbin/nologin\n"),
    );
    let group = std::fs::read_to_string(s1.join("etc/group")).unwrap();
    write(&s1, "etc/group", &format!("{group}etcd:x:52034:\n"));
    let doc = run(&s1);
    assert_pass_pinned(&doc, "HOST002", "pass");
}

#[test]
fn host002_not_applicable_without_profile_not_evaluable_without_accounts() {
    let tmp = tempfile::tempdir().unwrap();
    let s1 = s1(&tmp);
    let doc = run(&s1);
    assert_eq!(status(&doc, "HOST002"), "not-applicable");
    pin(&doc, "HOST002", "not-applicable");
    with_profile(&s1, "cis");
    std::fs::remove_file(s1.join("etc/passwd")).unwrap();
    std::fs::remove_file(s1.join("etc/group")).unwrap();
    let doc = run(&s1);
    not_evaluable_needing(&doc, "HOST002", "/etc/passwd");
    pin(&doc, "HOST002", "not-evaluable");
}

#[test]
fn host003_secrets_encryption_disabled_is_high_with_file_and_line() {
    let tmp = tempfile::tempdir().unwrap();
    let s1 = s1(&tmp);
    write(
        &s1,
        &format!("{DROP_INS}/95-x.yaml"),
        "# hardening off\nsecrets-encryption: false\n",
    );
    let doc = run(&s1);
    assert_eq!(status(&doc, "HOST003"), "fail");
    let f = findings(&doc, "HOST003")
        .into_iter()
        .find(|f| f["target"] == "secrets-encryption")
        .expect("secrets-encryption finding")
        .clone();
    assert_eq!(f["severity"], "high");
    assert!(
        f["evidence"][0]["path"]
            .as_str()
            .unwrap()
            .ends_with("95-x.yaml")
    );
    assert_eq!(f["evidence"][0]["pointer"], "line 2");
    pin(&doc, "HOST003", "fail-secrets-encryption-disabled");
}

#[test]
fn host003_harvester_without_profile_is_one_info_finding() {
    let tmp = tempfile::tempdir().unwrap();
    let doc = run(&s1(&tmp));
    let all = findings(&doc, "HOST003");
    assert_eq!(all.len(), 1, "{all:?}");
    assert_eq!(all[0]["severity"], "info");
    assert_eq!(all[0]["target"], "profile");
    pin(&doc, "HOST003", "fail-harvester-without-profile");
}

#[test]
fn host003_plain_rke2_without_profile_and_with_an_appended_empty_audit_path_fails_medium() {
    let tmp = tempfile::tempdir().unwrap();
    let s1 = s1(&tmp);
    plain_rke2(&s1);
    write(
        &s1,
        &format!("{DROP_INS}/95-audit.yaml"),
        "kube-apiserver-arg+:\n  - audit-log-path=\n",
    );
    let doc = run(&s1);
    let mut got: Vec<(String, String)> = findings(&doc, "HOST003")
        .iter()
        .map(|f| {
            (
                f["target"].as_str().unwrap().to_string(),
                f["severity"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    got.sort();
    assert_eq!(
        got,
        vec![
            ("audit-log-path".to_string(), "medium".to_string()),
            ("profile".to_string(), "medium".to_string())
        ]
    );
    pin(&doc, "HOST003", "fail-plain-rke2-empty-audit-path");
}

#[test]
fn host003_passes_on_plain_rke2_with_a_cis_profile() {
    let tmp = tempfile::tempdir().unwrap();
    let s1 = s1(&tmp);
    plain_rke2(&s1);
    with_profile(&s1, "cis");
    let doc = run(&s1);
    assert_eq!(
        status(&doc, "HOST003"),
        "pass",
        "{:?}",
        messages(&doc, "HOST003")
    );
    pin(&doc, "HOST003", "pass");
}

#[test]
fn host003_not_evaluable_without_rke2_configuration() {
    let tmp = tempfile::tempdir().unwrap();
    let s1 = s1(&tmp);
    std::fs::remove_dir_all(s1.join(DROP_INS)).unwrap();
    let doc = run(&s1);
    assert_eq!(status(&doc, "HOST003"), "not-evaluable");
    assert_eq!(status(&doc, "HOST002"), "not-evaluable");
    pin(&doc, "HOST003", "not-evaluable");
    pin(&doc, "HOST002", "not-evaluable-without-rke2-configuration");
}

/// The guide's chain with a pod-network accept from `cidr`.
fn chain_with_pod_accept(cidr: Option<&str>) -> String {
    let pod = cidr.map_or(String::new(), |c| {
        format!("-A HARVESTER_INPUT -s {c} -m comment --comment \"Allow pod network return traffic\" -j ACCEPT\n")
    });
    format!(
        "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n:HARVESTER_INPUT - [0:0]\n-A INPUT -i mgmt-br -j HARVESTER_INPUT\n-A HARVESTER_INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n-A HARVESTER_INPUT -p icmp -j ACCEPT\n{pod}-A HARVESTER_INPUT -p tcp -m multiport --dports 6443,9345 -j ACCEPT\n-A HARVESTER_INPUT -j DROP\nCOMMIT\n"
    )
}

#[test]
fn fw011_pod_accept_of_another_network_fails() {
    let tmp = tempfile::tempdir().unwrap();
    let s1 = s1(&tmp);
    write(
        &s1,
        "commands/iptables-save.txt",
        &chain_with_pod_accept(Some("10.42.0.0/16")),
    );
    let doc = run(&s1);
    assert_eq!(status(&doc, "FW011"), "fail");
    let f = findings(&doc, "FW011")[0].clone();
    assert_eq!(f["severity"], "medium");
    assert_eq!(f["node"], "s1");
    assert_eq!(f["target"], "HARVESTER_INPUT -s 10.42.0.0/16");
    assert!(f["message"].as_str().unwrap().contains("10.52.0.0/16"));
    let paths = evidence_paths(&f);
    assert!(
        paths
            .iter()
            .any(|p| p.ends_with("90-harvester-server.yaml")),
        "{paths:?}"
    );
    pin(&doc, "FW011", "fail");
}

#[test]
fn fw011_passes_with_cluster_cidr_and_is_not_applicable_without_pod_accept() {
    let tmp = tempfile::tempdir().unwrap();
    let s1 = s1(&tmp);
    write(
        &s1,
        "commands/iptables-save.txt",
        &chain_with_pod_accept(Some("10.52.0.0/16")),
    );
    let doc = run(&s1);
    assert_eq!(status(&doc, "FW011"), "pass", "{}", coverage(&doc, "FW011"));
    pin(&doc, "FW011", "pass");
    write(
        &s1,
        "commands/iptables-save.txt",
        &chain_with_pod_accept(None),
    );
    let doc = run(&s1);
    assert_eq!(status(&doc, "FW011"), "not-applicable");
    pin(&doc, "FW011", "not-applicable");
}

#[test]
fn fw011_and_cert009_not_evaluable_on_a_support_bundle() {
    let doc = analyze(&support_bundle(), COLLECTED);
    not_evaluable_needing(&doc, "FW011", "iptables-save");
    not_evaluable_needing(&doc, "CERT009", "server/tls");
    pin(&doc, "FW011", "not-evaluable");
    pin(&doc, "CERT009", "not-evaluable");
}

#[test]
fn cert009_passes_on_the_healthy_node() {
    let tmp = tempfile::tempdir().unwrap();
    let doc = run(&s1(&tmp));
    assert_eq!(
        status(&doc, "CERT009"),
        "pass",
        "{}",
        coverage(&doc, "CERT009")
    );
    pin(&doc, "CERT009", "pass");
}

#[test]
fn cert009_tls_san_added_after_issue_fails_for_apiserver_and_supervisor() {
    let tmp = tempfile::tempdir().unwrap();
    let s1 = s1(&tmp);
    write(
        &s1,
        &format!("{DROP_INS}/95-san.yaml"),
        "tls-san+:\n  - api.example.com\n",
    );
    let doc = run(&s1);
    assert_eq!(status(&doc, "CERT009"), "fail");
    let mut targets: Vec<String> = findings(&doc, "CERT009")
        .iter()
        .map(|f| f["target"].as_str().unwrap().to_string())
        .collect();
    targets.sort();
    assert_eq!(
        targets,
        vec![
            "var/lib/rancher/rke2/server/tls/dynamic-cert.json".to_string(),
            "var/lib/rancher/rke2/server/tls/serving-kube-apiserver.crt".to_string(),
        ]
    );
    for f in findings(&doc, "CERT009") {
        assert_eq!(f["severity"], "medium");
        let msg = f["message"].as_str().unwrap();
        assert!(
            msg.contains("api.example.com") && !msg.contains("10.9.0.10"),
            "{msg}"
        );
    }
    pin(&doc, "CERT009", "fail");
}
