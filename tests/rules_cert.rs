//! The certificate rules (CERT001, CERT002, CERT004, CERT005, CERT006, CERT007, CERT008,
//! CERT015) through `harrow analyze -o json`: each fails on the fixture variant that carries its
//! fault (or on the healthy cluster pushed in time with `--at`), passes on the healthy cluster,
//! and is not evaluable (never passed) when the inputs lack the node files it reads.

// clippy.toml lets #[test] functions unwrap, panic and print; this lets their helpers too.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stderr
)]

mod rules_common;
mod support;

use std::io::Read as _;
use std::path::Path;

use base64::Engine as _;
use rules_common::{COLLECTED, analyze, findings, node_rules, pin, status, targets, variant};
use support::{corpus_bundle, inputs_in};

const TLS: &str = "var/lib/rancher/rke2/server/tls/";

/// The token rules the platform decides: on the Harvester fixtures TOKEN002 reports s2's short
/// cluster token at info (Harvester joins nodes that way) and TOKEN004 does not apply.
fn harvester_token_rules(doc: &serde_json::Value, rule: &str) -> bool {
    match rule {
        "TOKEN002" => {
            assert_eq!(status(doc, rule), "fail");
            assert_eq!(targets(doc, rule).len(), 1, "s2's short token");
            assert!(findings(doc, rule).iter().all(|f| f["severity"] == "info"));
            true
        }
        "TOKEN004" => {
            assert_eq!(status(doc, rule), "not-applicable");
            true
        }
        _ => false,
    }
}

#[test]
fn healthy_at_collection_raises_only_the_renew_window() {
    // The healthy variant's server leaves expire 2027-01-14, 55 days after collection; with no
    // rke2 version in the inputs the 90-day window applies, so CERT002 (medium) is right there.
    let doc = variant("healthy", COLLECTED);
    for rule in node_rules() {
        if rule == "CERT002" || harvester_token_rules(&doc, rule) {
            continue;
        }
        assert_eq!(status(&doc, rule), "pass", "{rule}");
        assert!(findings(&doc, rule).is_empty(), "{rule}");
    }
    let warn = findings(&doc, "CERT002");
    assert_eq!(warn.len(), 30, "15 server leaves on each of s1 and s2");
    assert!(warn.iter().all(|f| f["severity"] == "medium"));
    assert!(
        warn.iter().all(|f| f["node"] != "a1"),
        "agent certs are recent"
    );
    pin(&doc, "CERT002", "fail-renew-window");
}

#[test]
fn healthy_before_the_window_passes_every_rule() {
    // 2026-10-01: server leaves 105 days from expiry, agent certificates issued on 2026-09-01.
    let doc = variant("healthy", "2026-10-01T00:00:00Z");
    for rule in node_rules() {
        if !harvester_token_rules(&doc, rule) {
            assert_eq!(status(&doc, rule), "pass", "{rule}");
            pin(&doc, rule, "pass-before-window");
        }
    }
    assert!(
        doc["findings"]
            .as_array()
            .expect("findings")
            .iter()
            .all(|f| f["rule"] == "INPUT001"
                || f["rule"] == "TOKEN002"
                // Harvester sets no CIS profile: one info finding.
                || (f["rule"] == "HOST003" && f["severity"] == "info")),
        "{}",
        doc["findings"]
    );
}

#[test]
fn cert001_expired_leaf_names_s2_and_its_files() {
    let doc = variant("expired-leaf", COLLECTED);
    assert_eq!(status(&doc, "CERT001"), "fail");
    let all = findings(&doc, "CERT001");
    assert!(!all.is_empty());
    assert!(
        all.iter()
            .all(|f| f["node"] == "s2" && f["severity"] == "critical")
    );
    let apiserver = all
        .iter()
        .find(|f| f["target"] == format!("{TLS}serving-kube-apiserver.crt"))
        .expect("the apiserver serving certificate of s2");
    let msg = apiserver["message"].as_str().unwrap_or("");
    assert!(msg.contains("expired at 2026-11-12T07:29:05Z"), "{msg}");
    assert!(msg.contains("8d 2h before"), "{msg}");
    assert_eq!(apiserver["evidence"][0]["source"], "s2.tgz");
    assert_eq!(
        apiserver["evidence"][0]["path"],
        format!("{TLS}serving-kube-apiserver.crt")
    );
    // dynamic-cert.json is renewed at runtime: still valid on s2.
    assert!(all.iter().all(|f| {
        !f["target"]
            .as_str()
            .unwrap_or("")
            .ends_with("dynamic-cert.json")
    }));
    pin(&doc, "CERT001", "fail");
}

#[test]
fn cert001_healthy_pushed_past_expiry_fails_on_both_servers() {
    let doc = variant("healthy", "2027-02-01T00:00:00Z");
    assert_eq!(status(&doc, "CERT001"), "fail");
    let nodes: std::collections::BTreeSet<String> = targets(&doc, "CERT001")
        .into_iter()
        .map(|(n, _)| n)
        .collect();
    assert_eq!(nodes.into_iter().collect::<Vec<_>>(), ["s1", "s2"]);
    pin(&doc, "CERT001", "fail-healthy-past-expiry");
}

#[test]
fn cert002_severity_is_high_under_14_days() {
    let doc = variant("healthy", "2027-01-05T00:00:00Z");
    assert_eq!(status(&doc, "CERT002"), "fail");
    let all = findings(&doc, "CERT002");
    assert_eq!(all.len(), 30);
    assert!(all.iter().all(|f| f["severity"] == "high"));
    let msg = all[0]["message"].as_str().unwrap_or("");
    assert!(
        msg.contains("2027-01-14T08:30:00Z") && msg.contains("9d 8h after"),
        "{msg}"
    );
    // Remediation by kind: server leaves renew at the next rke2 start.
    assert!(
        all[0]["remediation"]
            .as_str()
            .unwrap_or("")
            .contains("restart rke2-server")
    );
    pin(&doc, "CERT002", "fail-high-under-14-days");
}

#[test]
fn cert002_remediation_names_the_agent_restart_for_agent_certificates() {
    // 2027-08-20: the agent certificates (issued 2026-09-01) are inside the 90-day window.
    let doc = variant("healthy", "2027-08-20T00:00:00Z");
    let agent: Vec<_> = findings(&doc, "CERT002")
        .into_iter()
        .filter(|f| f["node"] == "a1")
        .collect();
    assert!(!agent.is_empty());
    assert!(agent.iter().all(|f| {
        f["remediation"]
            .as_str()
            .unwrap_or("")
            .contains("re-signed at every agent start")
    }));
    pin(&doc, "CERT002", "fail-agent-certificates");
}

#[test]
fn cert004_certificates_issued_after_the_reference_time() {
    let doc = variant("healthy", "2026-09-01T00:00:00Z");
    assert_eq!(status(&doc, "CERT004"), "fail");
    let t = targets(&doc, "CERT004");
    assert!(
        t.contains(&(
            "a1".into(),
            "var/lib/rancher/rke2/agent/client-kubelet.crt".into()
        )),
        "{t:?}"
    );
    assert!(
        findings(&doc, "CERT004")
            .iter()
            .all(|f| f["severity"] == "high")
    );
    pin(&doc, "CERT004", "fail");
}

/// Unpack `bundles/fixtures/<variant>/<node>.tgz` into `dir`.
fn unpack(variant: &str, node: &str, dir: &Path) {
    let path = support::root().join(format!("bundles/fixtures/{variant}/{node}.tgz"));
    let f = std::fs::File::open(&path).expect("fixture");
    tar::Archive::new(flate2::read::GzDecoder::new(f))
        .unpack(dir)
        .expect("unpack");
}

/// The PEM certificates of a file, as DER.
fn pem_blocks(text: &str) -> Vec<Vec<u8>> {
    text.split("-----BEGIN CERTIFICATE-----")
        .skip(1)
        .filter_map(|b| b.split("-----END CERTIFICATE-----").next())
        .map(|b| {
            let b64: String = b.chars().filter(|c| !c.is_whitespace()).collect();
            base64::engine::general_purpose::STANDARD
                .decode(b64)
                .expect("base64")
        })
        .collect()
}

fn pem(der: &[u8]) -> String {
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut s = String::from("-----BEGIN CERTIFICATE-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        s.push_str(&String::from_utf8_lossy(chunk));
        s.push('\n');
    }
    s.push_str("-----END CERTIFICATE-----\n");
    s
}

#[test]
fn cert005_a_leaf_whose_signature_does_not_verify() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("a1");
    std::fs::create_dir(&dir).expect("mkdir");
    unpack("healthy", "a1", &dir);
    let crt = dir.join("var/lib/rancher/rke2/agent/client-kubelet.crt");
    let mut text = String::new();
    std::fs::File::open(&crt)
        .and_then(|mut f| f.read_to_string(&mut text))
        .expect("read");
    let mut blocks = pem_blocks(&text);
    assert!(blocks.len() >= 2, "leaf and its CA");
    // The last byte of a DER certificate is the last byte of its signature.
    if let Some(b) = blocks[0].last_mut() {
        *b ^= 0x01;
    }
    let rewritten: String = blocks.iter().map(|d| pem(d)).collect();
    std::fs::write(&crt, rewritten).expect("write");
    let doc = analyze(&[format!("a1={}", dir.display())], COLLECTED);
    assert_eq!(status(&doc, "CERT005"), "fail");
    assert_eq!(
        targets(&doc, "CERT005"),
        [(
            "a1".to_string(),
            "var/lib/rancher/rke2/agent/client-kubelet.crt".to_string()
        )]
    );
    let msg = findings(&doc, "CERT005")[0]["message"]
        .as_str()
        .unwrap_or("")
        .to_string();
    assert!(msg.contains("verifies its signature"), "{msg}");
    // The untouched healthy node passes.
    let healthy = analyze(&inputs_in("bundles/fixtures/healthy"), COLLECTED);
    assert_eq!(status(&healthy, "CERT005"), "pass");
    pin(&doc, "CERT005", "fail");
    pin(&healthy, "CERT005", "pass");
}

#[test]
fn cert006_key_mismatch_on_its_pair() {
    let doc = variant("key-mismatch", COLLECTED);
    assert_eq!(status(&doc, "CERT006"), "fail");
    assert_eq!(
        targets(&doc, "CERT006"),
        [("s1".to_string(), format!("{TLS}serving-kube-apiserver.crt"))]
    );
    let f = findings(&doc, "CERT006")[0];
    assert_eq!(f["severity"], "critical");
    assert_eq!(
        f["evidence"][1]["path"],
        format!("{TLS}serving-kube-apiserver.key")
    );
    pin(&doc, "CERT006", "fail");
}

#[test]
fn cert006_reads_collected_pub_fingerprints() {
    // `collected`: a1's serving-kubelet.key.pub-fingerprint matches no certificate.
    let doc = variant("collected", COLLECTED);
    assert_eq!(
        targets(&doc, "CERT006"),
        [(
            "a1".to_string(),
            "var/lib/rancher/rke2/agent/serving-kubelet.crt".to_string()
        )]
    );
    pin(&doc, "CERT006", "fail-collected-pub-fingerprint");
}

#[test]
fn cert007_client_ca_differs_between_servers() {
    let doc = variant("ca-differs", COLLECTED);
    assert_eq!(status(&doc, "CERT007"), "fail");
    let all = findings(&doc, "CERT007");
    assert_eq!(all.len(), 1);
    assert_eq!(all[0]["target"], "server/tls/client-ca.crt");
    assert_eq!(all[0]["severity"], "critical");
    let msg = all[0]["message"].as_str().unwrap_or("");
    assert!(
        msg.contains("s1 hold(s)") && msg.contains("s2 hold(s)"),
        "{msg}"
    );
    pin(&doc, "CERT007", "fail");
}

#[test]
fn cert007_and_sakey002_need_two_servers() {
    // One snapshot, no bundle: the other servers are unknown, not absent.
    let doc = analyze(&["bundles/fixtures/healthy/s1.tgz".to_string()], COLLECTED);
    assert_eq!(status(&doc, "CERT007"), "not-evaluable");
    assert_eq!(status(&doc, "SAKEY002"), "not-evaluable");
    pin(&doc, "CERT007", "not-evaluable-one-snapshot");
    pin(&doc, "SAKEY002", "not-evaluable-one-snapshot");
}

#[test]
fn cert008_agent_keeps_the_old_server_ca() {
    let doc = variant("stale-agent-ca", COLLECTED);
    assert_eq!(status(&doc, "CERT008"), "fail");
    assert_eq!(
        targets(&doc, "CERT008"),
        [("a1".to_string(), "agent/server-ca.crt".to_string())]
    );
    let msg = findings(&doc, "CERT008")[0]["message"]
        .as_str()
        .unwrap_or("")
        .to_string();
    assert!(
        msg.contains("rke2-server-ca@1762935245") && msg.contains("rke2-server-ca@1791201600"),
        "{msg}"
    );
    pin(&doc, "CERT008", "fail");
}

#[test]
fn cert015_lists_staged_and_backup_trees() {
    let staged = variant("rotate-ca-staged", COLLECTED);
    assert_eq!(status(&staged, "CERT015"), "fail");
    assert_eq!(
        targets(&staged, "CERT015"),
        [(
            "s1".to_string(),
            "var/lib/rancher/rke2/server/rotate-ca/".to_string()
        )]
    );
    let f = findings(&staged, "CERT015")[0];
    assert_eq!(f["severity"], "info");
    assert!(
        f["message"]
            .as_str()
            .unwrap_or("")
            .starts_with("staged tree")
    );
    let backup = variant("post-rotate", COLLECTED);
    assert_eq!(
        targets(&backup, "CERT015"),
        [(
            "s1".to_string(),
            "var/lib/rancher/rke2/server/tls-1794967200/".to_string()
        )]
    );
    // Backup copies are listed, not judged: the old leaves (expiring 2027-01-14) raise no
    // CERT002 on s1, whose live leaves were reissued on 2026-11-18.
    assert!(
        findings(&backup, "CERT002")
            .iter()
            .all(|f| f["node"] != "s1")
    );
    pin(&staged, "CERT015", "fail-staged");
    pin(&backup, "CERT015", "fail-backup");
}

#[test]
fn a_support_bundle_alone_leaves_every_rule_not_evaluable() {
    let zip = inputs_in("bundles/demo")
        .into_iter()
        .find(|p| p.ends_with(".zip"))
        .expect("demo bundle");
    let doc = analyze(&[zip], COLLECTED);
    for rule in node_rules() {
        let row = rules_common::coverage(&doc, rule);
        if rule == "TOKEN004" {
            // Harvester: one cluster token, no agent token.
            assert_eq!(row["status"], "not-applicable", "{rule}: {row}");
            pin(&doc, rule, "not-applicable-bundle-only");
            continue;
        }
        assert_eq!(row["status"], "not-evaluable", "{rule}: {row}");
        assert!(
            row["needs"].as_str().is_some_and(|n| !n.is_empty()),
            "{rule}: {row}"
        );
        assert!(findings(&doc, rule).is_empty(), "{rule}");
        pin(&doc, rule, "not-evaluable-bundle-only");
    }
}

#[test]
fn the_real_corpus_bundle_is_not_evaluable_and_single_server() {
    let Some(bundle) = corpus_bundle() else {
        return;
    };
    let doc = analyze(&[bundle.display().to_string()], "collected");
    for rule in node_rules() {
        // Single server: nothing to compare; Harvester: no agent token (TOKEN004).
        let want = if ["CERT007", "SAKEY002", "TOKEN004", "TOKEN005"].contains(&rule) {
            "not-applicable"
        } else {
            "not-evaluable"
        };
        assert_eq!(status(&doc, rule), want, "{rule}");
    }
}
