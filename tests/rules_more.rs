//! More certificate and service-account key rules through `harrow analyze -o json`: weak crypto
//! (CERT010), a CA expiring within a year or outlived by a leaf (CERT003), a weak RSA key in
//! `service.key` (SAKEY003), expiring component self-signed serving certificates (CERT016), CA keys left
//! on cluster members (CERT011).
//! Where no committed fixture shows the fault, the test extracts the healthy fixture's `s1.tgz`
//! into a temporary node snapshot directory and adds weak material made with the `openssl`
//! command line; `bundles/` is never modified.

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

use std::path::Path;

use pki_support::{gen_key, openssl, self_signed};

use rules_common::{
    COLLECTED, analyze, coverage, findings, healthy_s1, pin, pin_generated, status, support_bundle,
    variant,
};

const TLS: &str = "var/lib/rancher/rke2/server/tls/";
/// The healthy fixture judged before its server leaves enter the renew window.
const BEFORE_WINDOW: &str = "2026-10-01T00:00:00Z";

fn analyze_dir(node: &Path, at: &str) -> serde_json::Value {
    analyze(&[node.to_string_lossy().into_owned()], at)
}

#[test]
fn cert010_rsa1024_sha1_serving_cert_fails_on_s1() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let s1 = healthy_s1(tmp.path());
    let pem = openssl(
        tmp.path(),
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:1024",
            "-sha1",
            "-nodes",
            "-keyout",
            "weak.key",
            "-subj",
            "/CN=weak-apiserver",
            "-days",
            "3650",
            "-out",
            "/dev/stdout",
        ],
        b"",
    );
    std::fs::write(s1.join(format!("{TLS}serving-kube-apiserver.crt")), pem).expect("write");
    let doc = analyze_dir(&s1, BEFORE_WINDOW);
    assert_eq!(status(&doc, "CERT010"), "fail");
    let all = findings(&doc, "CERT010");
    assert_eq!(all.len(), 1, "{all:?}");
    let f = all[0];
    assert_eq!(f["severity"], "medium");
    assert_eq!(f["node"], "s1");
    assert_eq!(f["target"], format!("{TLS}serving-kube-apiserver.crt"));
    let msg = f["message"].as_str().unwrap_or("");
    assert!(msg.contains("weak-apiserver"), "{msg}");
    assert!(msg.contains("RSA key of 1024 bits"), "{msg}");
    assert!(msg.contains("SHA1 signature"), "{msg}");
    assert_eq!(
        f["evidence"][0]["path"],
        format!("{TLS}serving-kube-apiserver.crt")
    );
    pin_generated(&doc, "CERT010", "fail");
}

#[test]
fn cert010_passes_on_the_healthy_cluster() {
    let doc = variant("healthy", COLLECTED);
    assert_eq!(status(&doc, "CERT010"), "pass");
    assert!(findings(&doc, "CERT010").is_empty());
    pin(&doc, "CERT010", "pass");
}

#[test]
fn cert010_not_evaluable_on_a_support_bundle_alone() {
    let doc = analyze(&support_bundle(), COLLECTED);
    assert_eq!(status(&doc, "CERT010"), "not-evaluable");
    assert!(coverage(&doc, "CERT010")["needs"].is_string());
    pin(&doc, "CERT010", "not-evaluable");
}

#[test]
fn sakey003_rsa1024_key_appended_to_service_key_fails_on_s1() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let s1 = healthy_s1(tmp.path());
    let weak = openssl(tmp.path(), &["genrsa", "1024"], b"");
    let file = s1.join(format!("{TLS}service.key"));
    let mut keys = std::fs::read(&file).expect("service.key");
    keys.extend_from_slice(&weak);
    std::fs::write(&file, keys).expect("write");
    let doc = analyze_dir(&s1, BEFORE_WINDOW);
    assert_eq!(status(&doc, "SAKEY003"), "fail");
    let all = findings(&doc, "SAKEY003");
    assert_eq!(all.len(), 1, "{all:?}");
    let f = all[0];
    assert_eq!(f["severity"], "medium");
    assert_eq!(f["node"], "s1");
    assert_eq!(f["target"], format!("{TLS}service.key"));
    let msg = f["message"].as_str().unwrap_or("");
    assert!(msg.contains("key #2 of service.key"), "{msg}");
    assert!(msg.contains("RSA of 1024 bits"), "{msg}");
    assert_eq!(f["evidence"][0]["pointer"], "key #2");
    // The private key is never printed.
    let text = doc.to_string();
    assert!(!text.contains("PRIVATE KEY"), "{text}");
    pin_generated(&doc, "SAKEY003", "fail");
}

#[test]
fn sakey003_passes_on_the_healthy_cluster() {
    let doc = variant("healthy", COLLECTED);
    assert_eq!(status(&doc, "SAKEY003"), "pass");
    assert!(findings(&doc, "SAKEY003").is_empty());
    pin(&doc, "SAKEY003", "pass");
}

#[test]
fn sakey003_not_evaluable_on_a_support_bundle_alone() {
    let doc = analyze(&support_bundle(), COLLECTED);
    assert_eq!(status(&doc, "SAKEY003"), "not-evaluable");
    assert!(coverage(&doc, "SAKEY003")["needs"].is_string());
    pin(&doc, "SAKEY003", "not-evaluable");
}

#[test]
fn cert003_healthy_cas_within_a_year_of_expiry_fail() {
    // The healthy fixture's rke2 CAs expire 2035-11-10T07:14:05Z.
    let doc = variant("healthy", "2035-01-01T00:00:00Z");
    assert_eq!(status(&doc, "CERT003"), "fail");
    let all = findings(&doc, "CERT003");
    assert!(!all.is_empty());
    assert!(all.iter().all(|f| f["severity"] == "high"));
    let server_ca = all
        .iter()
        .find(|f| f["node"] == "a1" && f["target"] == "var/lib/rancher/rke2/agent/server-ca.crt")
        .expect("the agent's server CA copy");
    let msg = server_ca["message"].as_str().unwrap_or("");
    assert!(msg.contains("rke2 CA rke2-server-ca@1762935245"), "{msg}");
    assert!(msg.contains("expires at 2035-11-10T07:14:05Z"), "{msg}");
    assert!(msg.contains("313d 7h after"), "{msg}");
    pin(&doc, "CERT003", "fail-ca-within-a-year");
}

#[test]
fn cert003_leaf_outliving_its_ca_fails_on_s1() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let s1 = healthy_s1(tmp.path());
    let d = tmp.path();
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
    ];
    let mut ca_args = vec!["req", "-x509"];
    ca_args.extend(ec);
    ca_args.extend([
        "-keyout",
        "ca.key",
        "-subj",
        "/CN=short-ca",
        "-days",
        "200",
        "-out",
        "ca.pem",
    ]);
    openssl(d, &ca_args, b"");
    let mut csr_args = vec!["req"];
    csr_args.extend(ec);
    csr_args.extend([
        "-keyout",
        "leaf.key",
        "-subj",
        "/CN=long-leaf",
        "-out",
        "leaf.csr",
    ]);
    openssl(d, &csr_args, b"");
    openssl(
        d,
        &[
            "x509", "-req", "-in", "leaf.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-days",
            "3650", "-out", "leaf.pem",
        ],
        b"",
    );
    let mut chain = std::fs::read(d.join("leaf.pem")).expect("leaf");
    chain.extend(std::fs::read(d.join("ca.pem")).expect("ca"));
    std::fs::write(s1.join(format!("{TLS}serving-kube-apiserver.crt")), chain).expect("write");
    let doc = analyze_dir(&s1, BEFORE_WINDOW);
    assert_eq!(status(&doc, "CERT003"), "fail");
    let all = findings(&doc, "CERT003");
    assert_eq!(all.len(), 1, "{all:?}");
    let f = all[0];
    assert_eq!(f["severity"], "high");
    assert_eq!(f["node"], "s1");
    assert_eq!(f["target"], format!("{TLS}serving-kube-apiserver.crt"));
    let msg = f["message"].as_str().unwrap_or("");
    assert!(msg.contains("long-leaf"), "{msg}");
    assert!(msg.contains("after its issuing CA short-ca"), "{msg}");
    pin_generated(&doc, "CERT003", "fail-leaf-outlives-its-ca");
}

#[test]
fn cert003_passes_on_the_healthy_cluster() {
    let doc = variant("healthy", COLLECTED);
    assert_eq!(status(&doc, "CERT003"), "pass");
    assert!(findings(&doc, "CERT003").is_empty());
    pin(&doc, "CERT003", "pass");
}

#[test]
fn cert003_not_evaluable_on_a_support_bundle_alone() {
    let doc = analyze(&support_bundle(), COLLECTED);
    assert_eq!(status(&doc, "CERT003"), "not-evaluable");
    assert!(coverage(&doc, "CERT003")["needs"].is_string());
    pin(&doc, "CERT003", "not-evaluable");
}

/// s1 of the healthy fixture with its kube-controller-manager serving certificate replaced by a
/// self-signed one valid `days` days from now.
fn s1_with_self_signed_kcm(dir: &Path, days: &str) -> std::path::PathBuf {
    let s1 = healthy_s1(dir);
    let kcm = s1.join("var/lib/rancher/rke2/server/tls/kube-controller-manager");
    let key = kcm.join("kube-controller-manager.key");
    let crt = kcm.join("kube-controller-manager.crt");
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            &key.to_string_lossy(),
            "-subj",
            "/CN=kube-controller-manager@1700000000",
            "-days",
            days,
            "-out",
            &crt.to_string_lossy(),
        ],
        b"",
    );
    s1
}

/// Today at midnight UTC, as `--at` takes it.
fn today() -> String {
    let now = time::OffsetDateTime::now_utc();
    format!(
        "{:04}-{:02}-{:02}T00:00:00Z",
        now.year(),
        u8::from(now.month()),
        now.day()
    )
}

const KCM: &str =
    "var/lib/rancher/rke2/server/tls/kube-controller-manager/kube-controller-manager.crt";

#[test]
fn cert016_expired_component_self_signed_cert_fails() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let s1 = s1_with_self_signed_kcm(tmp.path(), "30");
    let doc = analyze_dir(&s1, "2040-01-01T00:00:00Z");
    assert_eq!(status(&doc, "CERT016"), "fail");
    let all = findings(&doc, "CERT016");
    assert_eq!(all.len(), 1, "{all:?}");
    let f = all[0];
    assert_eq!(f["severity"], "high");
    assert_eq!(f["node"], "s1");
    assert_eq!(f["target"], KCM);
    let msg = f["message"].as_str().unwrap_or("");
    assert!(msg.contains("kube-controller-manager@1700000000"), "{msg}");
    assert!(msg.contains("expired at"), "{msg}");
    let fix = f["remediation"].as_str().unwrap_or("");
    assert!(fix.contains("delete the certificate and its key"), "{fix}");
    pin_generated(&doc, "CERT016", "fail-expired");
}

#[test]
fn cert016_component_self_signed_cert_in_the_window_fails() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let s1 = s1_with_self_signed_kcm(tmp.path(), "30");
    let doc = analyze_dir(&s1, &today());
    assert_eq!(status(&doc, "CERT016"), "fail");
    let all = findings(&doc, "CERT016");
    assert_eq!(all.len(), 1, "{all:?}");
    let msg = all[0]["message"].as_str().unwrap_or("");
    assert!(msg.contains("inside the 90-day renew window"), "{msg}");
    pin_generated(&doc, "CERT016", "fail-renew-window");
}

#[test]
fn cert016_fresh_component_self_signed_cert_passes() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let s1 = s1_with_self_signed_kcm(tmp.path(), "3650");
    let doc = analyze_dir(&s1, &today());
    assert_eq!(status(&doc, "CERT016"), "pass");
    assert!(findings(&doc, "CERT016").is_empty());
    let reason = coverage(&doc, "CERT016")["reason"].as_str().unwrap_or("");
    assert!(
        reason.starts_with("1 live component self-signed"),
        "{reason}"
    );
    pin(&doc, "CERT016", "pass");
}

#[test]
fn cert016_not_evaluable_on_a_support_bundle_alone() {
    let doc = analyze(&support_bundle(), COLLECTED);
    assert_eq!(status(&doc, "CERT016"), "not-evaluable");
    assert!(coverage(&doc, "CERT016")["needs"].is_string());
    pin(&doc, "CERT016", "not-evaluable");
}

#[test]
fn cert011_root_ca_key_left_in_server_tls_fails_high_on_s1() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let s1 = healthy_s1(tmp.path());
    let key = openssl(tmp.path(), &["genrsa", "2048"], b"");
    std::fs::write(s1.join(format!("{TLS}root-ca.key")), &key).expect("write");
    let doc = analyze_dir(&s1, BEFORE_WINDOW);
    assert_eq!(status(&doc, "CERT011"), "fail");
    let high: Vec<_> = findings(&doc, "CERT011")
        .into_iter()
        .filter(|f| f["severity"] == "high")
        .collect();
    assert_eq!(high.len(), 1, "{high:?}");
    assert_eq!(high[0]["node"], "s1");
    assert_eq!(high[0]["target"], format!("{TLS}root-ca.key"));
    // Named by place and public-key hash, never by its bytes.
    let text = doc.to_string();
    assert!(!text.contains("PRIVATE KEY"), "{text}");
    let body: String = String::from_utf8_lossy(&key)
        .lines()
        .nth(1)
        .unwrap_or_default()
        .to_string();
    assert!(!body.is_empty() && !text.contains(&body));
    pin_generated(&doc, "CERT011", "fail-root-ca-key");
}

#[test]
fn cert011_staged_self_signed_rotation_appends_root_keys_low() {
    let doc = variant("rotate-ca-staged", COLLECTED);
    assert_eq!(status(&doc, "CERT011"), "fail");
    let all = findings(&doc, "CERT011");
    assert!(!all.is_empty());
    for f in &all {
        assert_eq!(f["severity"], "low", "{f}");
        let target = f["target"].as_str().unwrap_or("");
        assert!(target.ends_with("-ca.key"), "{target}");
        assert!(
            f["message"]
                .as_str()
                .unwrap_or("")
                .contains("appended root key"),
            "{f}"
        );
    }
    pin(&doc, "CERT011", "fail-staged-root-keys");
}

#[test]
fn cert011_passes_on_the_healthy_cluster() {
    let doc = variant("healthy", COLLECTED);
    assert_eq!(status(&doc, "CERT011"), "pass");
    assert!(findings(&doc, "CERT011").is_empty());
    pin(&doc, "CERT011", "pass");
}

#[test]
fn cert011_not_evaluable_on_a_support_bundle_alone() {
    let doc = analyze(&support_bundle(), COLLECTED);
    assert_eq!(status(&doc, "CERT011"), "not-evaluable");
    assert!(coverage(&doc, "CERT011")["needs"].is_string());
    pin(&doc, "CERT011", "not-evaluable");
}

#[test]
fn cert003_custom_ca_named_acme_issuing_ca_in_server_ca_crt_is_judged() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let s1 = healthy_s1(tmp.path());
    let tls = s1.join("var/lib/rancher/rke2/server/tls");
    let key = gen_key(tmp.path(), "p256");
    let ca = self_signed(tmp.path(), &key, "Acme Issuing CA");
    std::fs::write(tls.join("server-ca.key"), &key).expect("write key");
    std::fs::write(tls.join("server-ca.crt"), &ca).expect("write CA");
    // Judged now: the CA was made now and expires in 30 days.
    let now = harrow::timefmt::rfc3339(time::OffsetDateTime::now_utc());
    let doc = analyze_dir(&s1, &now);
    assert_eq!(status(&doc, "CERT003"), "fail");
    let acme: Vec<_> = findings(&doc, "CERT003")
        .into_iter()
        .filter(|f| {
            f["message"]
                .as_str()
                .is_some_and(|m| m.contains("Acme Issuing CA"))
        })
        .collect();
    assert_eq!(acme.len(), 1, "{acme:?}");
    assert_eq!(acme[0]["node"], "s1");
    assert_eq!(
        acme[0]["target"],
        "var/lib/rancher/rke2/server/tls/server-ca.crt"
    );
    let msg = acme[0]["message"].as_str().unwrap_or_default();
    assert!(msg.starts_with("custom-root CA"), "{msg}");
    pin_generated(&doc, "CERT003", "fail-custom-ca-acme");
}
