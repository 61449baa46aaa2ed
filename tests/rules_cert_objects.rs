//! CERT012 (kubeconfig with an expired or mismatched client certificate, or a stale CA) and
//! CERT013 (trust copies in bundle objects that disagree with the cluster CAs, expired object
//! certificates) through `harrow analyze -o json`, on fixtures and on temporary copies of them
//! (the healthy `s1.tgz` extracted, the demo bundle unzipped) with material made by `openssl`.

// clippy.toml lets #[test] functions unwrap, panic and print; this lets their helpers too.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stderr
)]

mod pki_support;
mod rules_common;
mod support;

use std::path::{Path, PathBuf};

use base64::Engine;
use pki_support::{gen_key, self_signed};
use rules_common::{
    COLLECTED, analyze, coverage, findings, healthy_s1, pin, pin_generated, status, variant,
};
use support::{corpus_bundle, inputs_in};

const RKE2_YAML: &str = "etc/rancher/rke2/rke2.yaml";
/// The healthy fixture judged before its server leaves enter the renew window.
const BEFORE_WINDOW: &str = "2026-10-01T00:00:00Z";

fn demo_zip() -> String {
    inputs_in("bundles/demo")
        .into_iter()
        .find(|p| p.ends_with(".zip"))
        .expect("demo bundle")
}

/// Replace the value of `key:` on its line of the kubeconfig at `file` with `value`.
fn set_kubeconfig_value(file: &Path, key: &str, value: &str) {
    let text = std::fs::read_to_string(file).expect("kubeconfig");
    let out: Vec<String> = text
        .lines()
        .map(|l| match l.split_once(&format!("{key}:")) {
            Some((indent, _)) => format!("{indent}{key}: {value}"),
            None => l.to_string(),
        })
        .collect();
    assert_ne!(out.join("\n"), text.trim_end(), "{key} not in {file:?}");
    std::fs::write(file, out.join("\n") + "\n").expect("write");
}

fn b64(pem: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(pem)
}

#[test]
fn cert012_foreign_client_key_in_rke2_yaml_fails() {
    let tmp = tempfile::tempdir().unwrap();
    let s1 = healthy_s1(tmp.path());
    let key = gen_key(tmp.path(), "p256");
    set_kubeconfig_value(&s1.join(RKE2_YAML), "client-key-data", &b64(&key));
    let doc = analyze(&[s1.to_string_lossy().into_owned()], BEFORE_WINDOW);
    assert_eq!(status(&doc, "CERT012"), "fail");
    let all = findings(&doc, "CERT012");
    assert_eq!(all.len(), 1, "{all:?}");
    assert_eq!(all[0]["severity"], "high");
    assert_eq!(all[0]["target"], RKE2_YAML);
    let msg = all[0]["message"].as_str().unwrap();
    assert!(msg.contains("does not pair"), "{msg}");
    assert!(msg.contains("system:admin"), "{msg}");
    pin_generated(&doc, "CERT012", "fail-foreign-client-key");
}

#[test]
fn cert012_stale_ca_in_rke2_yaml_fails() {
    let tmp = tempfile::tempdir().unwrap();
    let s1 = healthy_s1(tmp.path());
    let key = gen_key(tmp.path(), "p256");
    let ca = self_signed(tmp.path(), &key, "rke2-server-ca@1600000000");
    set_kubeconfig_value(&s1.join(RKE2_YAML), "certificate-authority-data", &b64(&ca));
    let doc = analyze(&[s1.to_string_lossy().into_owned()], BEFORE_WINDOW);
    assert_eq!(status(&doc, "CERT012"), "fail");
    let all = findings(&doc, "CERT012");
    assert_eq!(all.len(), 1, "{all:?}");
    let msg = all[0]["message"].as_str().unwrap();
    assert!(msg.contains("rke2-server-ca@1600000000"), "{msg}");
    assert!(msg.contains("not the cluster's current server CA"), "{msg}");
    pin_generated(&doc, "CERT012", "fail-stale-ca");
}

#[test]
fn cert012_expired_client_certificates_fail_on_the_expired_leaf_fixture() {
    let doc = variant("expired-leaf", COLLECTED);
    assert_eq!(status(&doc, "CERT012"), "fail");
    let all = findings(&doc, "CERT012");
    assert!(all.iter().any(|f| f["target"] == RKE2_YAML), "{all:?}");
    assert!(
        all.iter()
            .all(|f| f["node"] == "s2" && f["message"].as_str().unwrap().contains("expired"))
    );
    pin(&doc, "CERT012", "fail-expired-client-certificates");
}

#[test]
fn cert012_passes_on_the_healthy_cluster() {
    let doc = variant("healthy", COLLECTED);
    assert_eq!(status(&doc, "CERT012"), "pass");
    let reason = coverage(&doc, "CERT012")["reason"].as_str().unwrap();
    assert!(reason.contains("CA compared with"), "{reason}");
    pin(&doc, "CERT012", "pass");
}

#[test]
fn cert012_not_evaluable_on_a_support_bundle_alone() {
    let doc = analyze(&[demo_zip()], COLLECTED);
    assert_eq!(status(&doc, "CERT012"), "not-evaluable");
    assert!(coverage(&doc, "CERT012")["needs"].is_string());
    pin(&doc, "CERT012", "not-evaluable");
}

/// The demo bundle unzipped into `dir`, the path of its top directory.
fn demo_bundle_dir(dir: &Path) -> PathBuf {
    let f = std::fs::File::open(demo_zip()).unwrap();
    zip::ZipArchive::new(f).unwrap().extract(dir).unwrap();
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.is_dir())
        .expect("bundle directory")
}

/// Replace the first PEM certificate of `file` with `pem`, keeping the indentation.
fn replace_first_pem(file: &Path, pem: &[u8]) {
    let text = std::fs::read_to_string(file).unwrap();
    let begin = text.find("-----BEGIN CERTIFICATE-----").unwrap();
    let end = text.find("-----END CERTIFICATE-----").unwrap() + "-----END CERTIFICATE-----".len();
    let line_start = text[..begin].rfind('\n').map_or(0, |i| i + 1);
    let indent = &text[line_start..begin];
    let new: Vec<String> = String::from_utf8_lossy(pem)
        .trim()
        .lines()
        .enumerate()
        .map(|(i, l)| {
            if i == 0 {
                l.to_string()
            } else {
                format!("{indent}{l}")
            }
        })
        .collect();
    let out = format!("{}{}{}", &text[..begin], new.join("\n"), &text[end..]);
    std::fs::write(file, out).unwrap();
}

fn demo_nodes() -> Vec<String> {
    inputs_in("bundles/demo")
        .into_iter()
        .filter(|p| p.ends_with(".tgz"))
        .collect()
}

#[test]
fn cert013_stale_kube_root_ca_fails_against_the_servers_ca() {
    let tmp = tempfile::tempdir().unwrap();
    let bundle = demo_bundle_dir(tmp.path());
    let key = gen_key(tmp.path(), "p256");
    let stale = self_signed(tmp.path(), &key, "rke2-server-ca@1600000000");
    replace_first_pem(
        &bundle.join("yamls/namespaced/default/v1/configmaps.yaml"),
        &stale,
    );
    let mut inputs = vec![bundle.to_string_lossy().into_owned()];
    inputs.extend(demo_nodes());
    let doc = analyze(&inputs, COLLECTED);
    assert_eq!(status(&doc, "CERT013"), "fail");
    let all = high(&doc, "CERT013");
    assert_eq!(all.len(), 1, "{all:?}");
    let msg = all[0]["message"].as_str().unwrap();
    assert!(
        msg.contains("kube-root-ca.crt ca.crt in default holds rke2-server-ca@1600000000"),
        "{msg}"
    );
    assert!(
        msg.contains("not the cluster's current server-ca.crt"),
        "{msg}"
    );
    assert!(
        all[0]["target"]
            .as_str()
            .unwrap()
            .ends_with("#default/kube-root-ca.crt/ca.crt")
    );
    pin_generated(&doc, "CERT013", "fail-stale-kube-root-ca");
    // The bundle alone: the odd copy is the one that differs from the other namespaces.
    let doc = analyze(&[bundle.to_string_lossy().into_owned()], COLLECTED);
    let all = high(&doc, "CERT013");
    assert_eq!(all.len(), 1, "{all:?}");
    let msg = all[0]["message"].as_str().unwrap();
    assert!(
        msg.contains("in default holds rke2-server-ca@1600000000 (")
            && msg.contains("while 8 other copies hold"),
        "{msg}"
    );
    let reason = coverage(&doc, "CERT013")["reason"].as_str().unwrap();
    assert!(reason.contains("with each other"), "{reason}");
    pin_generated(&doc, "CERT013", "fail-stale-kube-root-ca-bundle-only");
}

#[test]
fn cert013_expired_kubevirt_ca_is_an_info_finding_on_the_demo() {
    let mut inputs = vec![demo_zip()];
    inputs.extend(demo_nodes());
    let doc = analyze(&inputs, COLLECTED);
    assert_eq!(status(&doc, "CERT013"), "fail");
    let all = findings(&doc, "CERT013");
    assert_eq!(all.len(), 1, "{all:?}");
    assert_eq!(all[0]["severity"], "info");
    assert_eq!(all[0]["title"], "certificate in a bundle object expired");
    assert!(all[0]["message"].as_str().unwrap().contains("kubevirt.io"));
    pin(&doc, "CERT013", "fail-expired-kubevirt-ca");
}

#[test]
fn cert013_passes_on_the_demo_before_the_kubevirt_ca_expires() {
    let mut inputs = vec![demo_zip()];
    inputs.extend(demo_nodes());
    let doc = analyze(&inputs, "2025-11-18T00:00:00Z");
    assert_eq!(status(&doc, "CERT013"), "pass");
    let reason = coverage(&doc, "CERT013")["reason"].as_str().unwrap();
    assert!(
        reason.contains("kube-root-ca.crt ca.crt with the servers' server-ca.crt"),
        "{reason}"
    );
    pin(&doc, "CERT013", "pass");
}

#[test]
fn cert013_not_evaluable_without_a_support_bundle() {
    let doc = variant("healthy", COLLECTED);
    assert_eq!(status(&doc, "CERT013"), "not-evaluable");
    assert!(coverage(&doc, "CERT013")["needs"].is_string());
    pin(&doc, "CERT013", "not-evaluable");
}

#[test]
fn cert013_on_the_corpus_bundle() {
    let Some(zip) = corpus_bundle() else {
        eprintln!("corpus bundle absent: skipped");
        return;
    };
    let zip = zip.to_string_lossy().into_owned();
    // At collection nothing in the objects has expired and the copies agree.
    let doc = analyze(std::slice::from_ref(&zip), "collected");
    assert_eq!(status(&doc, "CERT013"), "pass");
    // Later, only the self-rotating kubevirt and rancher-webhook certificates have expired: info.
    let doc = analyze(&[zip], "2026-11-20T10:00:00Z");
    let all = findings(&doc, "CERT013");
    assert_eq!(all.len(), 3, "{all:?}");
    assert!(all.iter().all(|f| f["severity"] == "info"), "{all:?}");
}

/// The high-severity findings of `rule`.
fn high<'a>(doc: &'a serde_json::Value, rule: &str) -> Vec<&'a serde_json::Value> {
    findings(doc, rule)
        .into_iter()
        .filter(|f| f["severity"] == "high")
        .collect()
}
