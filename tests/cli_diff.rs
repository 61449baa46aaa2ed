//! `harrow diff BEFORE AFTER`: before/after trees of each rotation kind, built in the test from
//! the fixtures' node snapshots (`bundles/fixtures/healthy`, `custom-ca`, `rotate-ca-staged`)
//! by replacing files with certificates and keys made with rcgen: leaf rotation (same CA),
//! service-account key rotation, CA rotation with a new root and with the same root, token
//! rotation, and the same rotations left unfinished on one node (exit 1 naming it). The
//! golden is the staged cross-signed CA rotation applied without restarting any node, built
//! from the committed fixture's bytes only, so it is deterministic.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stderr
)]

mod pki_support;
mod rules_common;
mod support;

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use rcgen::{
    CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, Issuer, KeyPair,
    KeyUsagePurpose, PKCS_ECDSA_P256_SHA256, PKCS_RSA_SHA256, SanType, SignatureAlgorithm,
};
use serde_json::Value;
use support::Test;

const TLS: &str = "var/lib/rancher/rke2/server/tls";
const AGENT: &str = "var/lib/rancher/rke2/agent";
const NODES: [&str; 3] = ["a1", "s1", "s2"];

/// A before and an after tree of the three nodes of a fixture variant, identical until the
/// test changes the after side.
struct Sides {
    _dir: tempfile::TempDir,
    before: PathBuf,
    after: PathBuf,
}

impl Sides {
    fn of(variant: &str) -> Sides {
        let dir = tempfile::tempdir().unwrap();
        let (before, after) = (dir.path().join("before"), dir.path().join("after"));
        for side in [&before, &after] {
            for n in NODES {
                rules_common::unpack(&format!("bundles/fixtures/{variant}/{n}.tgz"), side, n);
            }
        }
        Sides {
            _dir: dir,
            before,
            after,
        }
    }

    fn node(&self, n: &str) -> PathBuf {
        self.after.join(n)
    }

    /// `harrow diff BEFORE AFTER` with `extra` arguments, with the exit code checked.
    fn run(&self, extra: &[&str], code: i32) -> support::Run {
        Test::new()
            .arg("diff")
            .path(&self.before)
            .path(&self.after)
            .args(extra)
            .run()
            .code(code)
    }

    /// `harrow diff BEFORE AFTER -o json`, with the exit code checked.
    fn json(&self, code: i32) -> Value {
        self.run(&["-o", "json"], code).json()
    }
}

/// A CA that signs: its certificate PEM and key.
struct Signer {
    pem: String,
    key: KeyPair,
}

impl Signer {
    /// A CA of a node's `server/tls` (`server-ca`, `etcd/peer-ca`), its key read from there.
    fn of(node: &Path, ca: &str) -> Signer {
        Signer::from_files(
            &node.join(format!("{TLS}/{ca}.crt")),
            &node.join(format!("{TLS}/{ca}.key")),
            &PKCS_ECDSA_P256_SHA256,
        )
    }

    fn from_files(crt: &Path, key: &Path, alg: &'static SignatureAlgorithm) -> Signer {
        let pem = std::fs::read_to_string(crt).unwrap();
        let first = first_pem(&pem);
        let tmp = tempfile::tempdir().unwrap();
        let pkcs8 = pki_support::to_pkcs8(tmp.path(), &std::fs::read(key).unwrap());
        let key = KeyPair::from_pem_and_sign_algo(std::str::from_utf8(&pkcs8).unwrap(), alg)
            .expect("CA key");
        Signer { pem: first, key }
    }

    /// A new self-signed CA.
    fn root(cn: &str) -> Signer {
        let ca = pki_support::root_ca(cn, &PKCS_ECDSA_P256_SHA256);
        Signer {
            pem: ca.pem,
            key: ca.key,
        }
    }

    /// A new CA signed by `parent`.
    fn signed_by(cn: &str, parent: &Signer) -> Signer {
        let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).unwrap();
        let pem = pki_support::ca_params(cn)
            .signed_by(&key, &parent.issuer())
            .unwrap()
            .pem();
        Signer { pem, key }
    }

    fn issuer(&self) -> Issuer<'_, &KeyPair> {
        Issuer::from_ca_cert_pem(&self.pem, &self.key).unwrap()
    }

    fn subject(&self) -> String {
        harrow::pki::parse_certs(self.pem.as_bytes()).unwrap()[0]
            .subject()
            .to_string()
    }
}

fn first_pem(pem: &str) -> String {
    let end = "-----END CERTIFICATE-----";
    let i = pem.find(end).expect("a certificate") + end.len();
    format!("{}\n", &pem[..i])
}

fn b64(b: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(b)
}

fn unb64(s: &str) -> Vec<u8> {
    base64::engine::general_purpose::STANDARD.decode(s).unwrap()
}

/// A leaf like `old` (subject, SANs, usages) with a new key, signed by `by`.
fn reissue(old: &harrow::pki::Cert, by: &Signer) -> (String, String) {
    use harrow::pki::Usage;
    let mut p = CertificateParams::default();
    let mut dn = DistinguishedName::new();
    for part in old.subject().split(',') {
        if let Some(o) = part.strip_prefix("O=") {
            dn.push(DnType::OrganizationName, o);
        }
    }
    dn.push(DnType::CommonName, old.subject_cn().unwrap_or_default());
    p.distinguished_name = dn;
    p.not_before = time::macros::datetime!(2026-11-19 00:00 UTC);
    p.not_after = time::macros::datetime!(2027-11-19 00:00 UTC);
    p.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
    ];
    if old.usages().contains(&Usage::ServerAuth) {
        p.extended_key_usages
            .push(ExtendedKeyUsagePurpose::ServerAuth);
    }
    if old.usages().contains(&Usage::ClientAuth) {
        p.extended_key_usages
            .push(ExtendedKeyUsagePurpose::ClientAuth);
    }
    p.subject_alt_names = old
        .dns_sans()
        .iter()
        .map(|d| SanType::DnsName(d.to_string().try_into().unwrap()))
        .chain(
            old.ip_sans()
                .iter()
                .map(|i| SanType::IpAddress(i.parse::<IpAddr>().unwrap())),
        )
        .collect();
    p.use_authority_key_identifier_extension = true;
    let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).unwrap();
    let cert = p.signed_by(&key, &by.issuer()).unwrap();
    (cert.pem(), key.serialize_pem())
}

fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(rd) = std::fs::read_dir(dir) else {
        return out;
    };
    for e in rd.flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(files_under(&p));
        } else {
            out.push(p);
        }
    }
    out.sort();
    out
}

/// Re-issue, with `by`, every live leaf of `node` whose issuer is `old_issuer` (certificate
/// files of `server/tls` and `agent/`, and `dynamic-cert.json`), with a new key beside it; each
/// file keeps its shape (the leaf, then `chain` where the file had a chain).
fn reissue_leaves(node: &Path, old_issuer: &str, by: &Signer, chain: &str) -> usize {
    let mut n = 0;
    for dir in [TLS, AGENT] {
        for path in files_under(&node.join(dir)) {
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            if name == "dynamic-cert.json" {
                let mut doc: Value =
                    serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
                let pem = unb64(doc["data"]["tls.crt"].as_str().unwrap());
                let old = &harrow::pki::parse_certs(&pem).unwrap()[0];
                if old.issuer() == old_issuer {
                    let (crt, key) = reissue(old, by);
                    doc["data"]["tls.crt"] = b64(format!("{crt}{chain}").as_bytes()).into();
                    doc["data"]["tls.key"] = b64(key.as_bytes()).into();
                    std::fs::write(&path, serde_json::to_vec(&doc).unwrap()).unwrap();
                    n += 1;
                }
                continue;
            }
            if !name.ends_with(".crt") {
                continue;
            }
            let bytes = std::fs::read(&path).unwrap();
            let certs = harrow::pki::parse_certs(&bytes).unwrap();
            let Some(old) = certs
                .first()
                .filter(|c| !c.is_ca && c.issuer() == old_issuer)
            else {
                continue;
            };
            let (crt, key) = reissue(old, by);
            let body = if certs.len() > 1 {
                format!("{crt}{chain}")
            } else {
                crt
            };
            std::fs::write(&path, body).unwrap();
            let key_path = path.with_extension("key");
            if key_path.exists() {
                std::fs::write(key_path, key).unwrap();
            }
            n += 1;
        }
    }
    n
}

/// What rke2 does at start: `rke2.yaml` rewritten from `server-ca.crt` and the admin client
/// certificate and key.
fn rewrite_admin_kubeconfig(node: &Path) {
    let path = node.join("etc/rancher/rke2/rke2.yaml");
    let read = |f: &str| std::fs::read(node.join(format!("{TLS}/{f}"))).unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    let mut out = String::new();
    for line in text.lines() {
        let (indent, key) = match line.trim_start().split_once(':') {
            Some((k, _)) => (&line[..line.len() - line.trim_start().len()], k),
            None => ("", ""),
        };
        let value = match key {
            "certificate-authority-data" => Some(read("server-ca.crt")),
            "client-certificate-data" => Some(read("client-admin.crt")),
            "client-key-data" => Some(read("client-admin.key")),
            _ => None,
        };
        match value {
            Some(v) => out.push_str(&format!("{indent}{key}: {}\n", b64(&v))),
            None => out.push_str(&format!("{line}\n")),
        }
    }
    std::fs::write(path, out).unwrap();
}

/// Replace `old` by `new` in every file of `node` that holds it (a token's hash or password).
fn replace_everywhere(node: &Path, old: &str, new: &str) -> usize {
    let mut n = 0;
    for path in files_under(node) {
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        if text.contains(old) {
            std::fs::write(&path, text.replace(old, new)).unwrap();
            n += 1;
        }
    }
    n
}

/// The CA hash a server serves for its `server-ca.crt`.
fn served_hash(node: &Path) -> String {
    harrow::pki::ca_hash(&std::fs::read(node.join(format!("{TLS}/server-ca.crt"))).unwrap())
        .unwrap()
        .hex
}

fn problems(doc: &Value) -> Vec<(String, String, String)> {
    doc["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["node"].as_str().unwrap().to_string(),
                p["kind"].as_str().unwrap().to_string(),
                p["target"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn node<'a>(doc: &'a Value, name: &str) -> &'a Value {
    doc["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["name"] == name)
        .unwrap_or_else(|| panic!("no node {name}"))
}

fn ca_of<'a>(doc: &'a Value, name: &str) -> &'a Value {
    doc["cas"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["ca"] == name)
        .unwrap_or_else(|| panic!("no CA {name}"))
}

fn no_ca_rotated(doc: &Value) -> bool {
    doc["cas"]
        .as_array()
        .unwrap()
        .iter()
        .all(|c| c["rotated"] == false)
}

fn changed_files(doc: &Value, n: &str) -> Vec<String> {
    node(doc, n)["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["host_path"].as_str().unwrap().to_string())
        .collect()
}

/// s1's leaves re-issued by the CAs that issued them, as `rke2 certificate rotate` does.
fn rotate_leaves_of_s1(s: &Sides) -> usize {
    let s1 = s.node("s1");
    let mut n = 0;
    for ca in [
        "server-ca",
        "client-ca",
        "request-header-ca",
        "etcd/server-ca",
        "etcd/peer-ca",
    ] {
        let signer = Signer::of(&s1, ca);
        let subject = signer.subject();
        let chain = signer.pem.clone();
        n += reissue_leaves(&s1, &subject, &signer, &chain);
    }
    n
}

#[test]
fn identical_sides_converge_with_nothing_changed() {
    let s = Sides::of("healthy");
    let doc = s.json(0);
    assert_eq!(doc["converged"], true);
    assert!(problems(&doc).is_empty());
    for n in NODES {
        assert!(changed_files(&doc, n).is_empty(), "{n}");
        assert_eq!(node(&doc, n)["presence"], "both");
    }
    assert!(no_ca_rotated(&doc));
}

#[test]
fn leaf_rotation_by_the_same_ca_converges_and_names_every_changed_file() {
    let s = Sides::of("healthy");
    assert!(rotate_leaves_of_s1(&s) > 10);
    rewrite_admin_kubeconfig(&s.node("s1"));
    let doc = s.json(0);
    assert_eq!(doc["converged"], true, "{:?}", problems(&doc));
    let files = node(&doc, "s1")["files"].as_array().unwrap().clone();
    let serving = files
        .iter()
        .find(|f| f["host_path"] == format!("{TLS}/serving-kube-apiserver.crt"))
        .expect("the apiserver serving certificate changed");
    assert_eq!(serving["change"], "changed");
    assert_eq!(serving["cn"], "kube-apiserver");
    assert_eq!(serving["role"], "serving");
    assert_eq!(serving["same_issuer"], true);
    assert_ne!(serving["before"], serving["after"]);
    assert!(
        files
            .iter()
            .filter(|f| f["role"] != "ca")
            .all(|f| f["same_issuer"] == true),
        "{files:?}"
    );
    // The other nodes and the CAs did not change.
    assert!(changed_files(&doc, "s2").is_empty());
    assert!(changed_files(&doc, "a1").is_empty());
    assert!(no_ca_rotated(&doc));
}

#[test]
fn leaf_rotation_with_a_stale_admin_kubeconfig_does_not_converge() {
    let s = Sides::of("healthy");
    rotate_leaves_of_s1(&s);
    // rke2.yaml still embeds the replaced client-admin certificate.
    let run = s
        .run(&[], 1)
        .stdout_has("NOT CONVERGED")
        .stdout_has("kubeconfig-stale-cert");
    assert!(run.stdout.contains("(s1)"), "{}", run.stdout);
    let doc = s.json(1);
    assert_eq!(
        problems(&doc),
        vec![(
            "s1".to_string(),
            "kubeconfig-stale-cert".to_string(),
            "etc/rancher/rke2/rke2.yaml".to_string()
        )]
    );
}

/// A new P-256 service-account key (PKCS#8 PEM).
fn new_sa_key() -> String {
    KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256)
        .unwrap()
        .serialize_pem()
}

/// The new key first in `service.key`, the old kept; `service.current.key` the new one.
fn rotate_sa_key(node: &Path, new: &str) {
    let sk = node.join(format!("{TLS}/service.key"));
    let old = std::fs::read_to_string(&sk).unwrap();
    std::fs::write(&sk, format!("{new}{old}")).unwrap();
    std::fs::write(node.join(format!("{TLS}/service.current.key")), new).unwrap();
}

#[test]
fn service_account_key_rotation_on_every_server_converges() {
    let s = Sides::of("healthy");
    let key = new_sa_key();
    rotate_sa_key(&s.node("s1"), &key);
    rotate_sa_key(&s.node("s2"), &key);
    let doc = s.json(0);
    assert!(problems(&doc).is_empty());
    for n in ["s1", "s2"] {
        let k = &node(&doc, n)["service_account_keys"];
        assert_eq!(k["changed"], true, "{n}");
        assert_ne!(k["current_before"], k["current_after"]);
        assert_eq!(k["verify_after"].as_array().unwrap().len(), 2);
        assert_eq!(k["verify_after"][1], k["current_before"], "old key kept");
    }
    assert!(node(&doc, "a1")["service_account_keys"].is_null());
}

#[test]
fn service_account_key_rotated_on_one_server_only_does_not_converge() {
    let s = Sides::of("healthy");
    rotate_sa_key(&s.node("s1"), &new_sa_key());
    let doc = s.json(1);
    let p = problems(&doc);
    assert!(p.iter().all(|(n, _, _)| n == "s2"), "{p:?}");
    let kinds: Vec<&str> = p.iter().map(|(_, k, _)| k.as_str()).collect();
    assert!(kinds.contains(&"old-service-account-key"), "{p:?}");
    assert!(kinds.contains(&"service-account-key-not-verified"), "{p:?}");
    assert!(
        p.iter()
            .all(|(_, _, t)| t == "var/lib/rancher/rke2/server/service.key"
                || t == &format!("{TLS}/service.key"))
    );
}

/// A new self-signed server CA, installed everywhere it lives, the leaves it signs re-issued
/// and the tokens re-pinned on `nodes` (the others are left as they were).
fn rotate_server_ca_new_root(s: &Sides, nodes: &[&str]) -> Signer {
    let old_subject = Signer::of(&s.node("s1"), "server-ca").subject();
    let old_hash = served_hash(&s.node("s1"));
    let ca = Signer::root("rke2-server-ca@1795000000");
    for n in nodes {
        let dir = s.node(n);
        if dir.join(format!("{TLS}/server-ca.crt")).exists() {
            for f in ["server-ca.crt", "server-ca.nochain.crt"] {
                std::fs::write(dir.join(format!("{TLS}/{f}")), &ca.pem).unwrap();
            }
            std::fs::write(
                dir.join(format!("{TLS}/server-ca.key")),
                ca.key.serialize_pem(),
            )
            .unwrap();
        }
        std::fs::write(dir.join(format!("{AGENT}/server-ca.crt")), &ca.pem).unwrap();
        assert!(reissue_leaves(&dir, &old_subject, &ca, &ca.pem) > 0, "{n}");
        if dir.join("etc/rancher/rke2/rke2.yaml").exists() {
            rewrite_admin_kubeconfig(&dir);
        }
    }
    let new_hash = harrow::pki::ca_hash(ca.pem.as_bytes()).unwrap().hex;
    for n in nodes {
        replace_everywhere(&s.node(n), &old_hash, &new_hash);
    }
    ca
}

#[test]
fn ca_rotation_with_a_new_root_converges_when_every_node_has_it() {
    let s = Sides::of("healthy");
    rotate_server_ca_new_root(&s, &NODES);
    let doc = s.json(0);
    assert_eq!(doc["converged"], true, "{:?}", problems(&doc));
    let server = ca_of(&doc, "server-ca");
    assert_eq!(server["rotated"], true);
    assert_eq!(server["root"], "new-root");
    assert_eq!(server["new"][0]["cn"], "rke2-server-ca@1795000000");
    assert_eq!(ca_of(&doc, "client-ca")["rotated"], false);
    assert_ne!(
        doc["before"]["served_ca_hashes"],
        doc["after"]["served_ca_hashes"]
    );
    // a1's token pins the new hash now.
    let t = &node(&doc, "a1")["token"];
    assert_ne!(t["ca_hash_before"], t["ca_hash_after"]);
    assert_eq!(t["ca_hash_after"], doc["after"]["served_ca_hashes"][0]);
    assert_eq!(t["password_changed"], false);
    assert!(changed_files(&doc, "a1").contains(&format!("{AGENT}/serving-kubelet.crt")));
}

#[test]
fn ca_rotation_with_one_node_left_on_the_old_ca_does_not_converge_and_names_it() {
    let s = Sides::of("healthy");
    rotate_server_ca_new_root(&s, &["s1", "s2"]);
    let run = Test::new()
        .arg("diff")
        .arg("--before")
        .args(NODES.map(|n| s.before.join(n).display().to_string()))
        .arg("--after")
        .args(NODES.map(|n| s.after.join(n).display().to_string()))
        .run()
        .code(1);
    assert!(
        run.stdout.contains("NOT CONVERGED") && run.stdout.contains("(a1)"),
        "{}",
        run.stdout
    );
    let doc = s.json(1);
    let p = problems(&doc);
    assert!(p.iter().all(|(n, _, _)| n == "a1"), "{p:?}");
    let has = |kind: &str, target: &str| {
        p.iter()
            .any(|(_, k, t)| k == kind && (target.is_empty() || t == target))
    };
    assert!(
        has("trusts-old-ca", &format!("{AGENT}/server-ca.crt")),
        "{p:?}"
    );
    assert!(
        has(
            "presents-old-ca-leaf",
            &format!("{AGENT}/serving-kubelet.crt")
        ),
        "{p:?}"
    );
    assert!(has("token-pins-old-hash", ""), "{p:?}");
    // The agent's copy of the client CA did not rotate: nothing said about it.
    assert!(!has("trusts-old-ca", &format!("{AGENT}/client-ca.crt")));
}

#[test]
fn ca_rotation_under_the_same_custom_root_keeps_the_token_hash() {
    let s = Sides::of("custom-ca");
    let s1 = s.node("s1");
    let inter = Signer::from_files(
        &s1.join(format!("{TLS}/intermediate-ca.crt")),
        &s1.join(format!("{TLS}/intermediate-ca.key")),
        &PKCS_RSA_SHA256,
    );
    let old_bundle = std::fs::read_to_string(s1.join(format!("{TLS}/server-ca.crt"))).unwrap();
    let old_subject = harrow::pki::parse_certs(old_bundle.as_bytes()).unwrap()[0]
        .subject()
        .to_string();
    // The new server CA under the same intermediate: the bundle keeps intermediate and root.
    let ca = Signer::signed_by("rke2-server-ca@1795000000", &inter);
    let rest = &old_bundle[first_pem(&old_bundle).len()..];
    let bundle = format!("{}{}", ca.pem, rest.trim_start());
    for n in NODES {
        let dir = s.node(n);
        if dir.join(format!("{TLS}/server-ca.crt")).exists() {
            std::fs::write(dir.join(format!("{TLS}/server-ca.crt")), &bundle).unwrap();
        }
        std::fs::write(dir.join(format!("{AGENT}/server-ca.crt")), &bundle).unwrap();
        reissue_leaves(&dir, &old_subject, &ca, &bundle);
        if dir.join("etc/rancher/rke2/rke2.yaml").exists() {
            rewrite_admin_kubeconfig(&dir);
        }
    }
    let doc = s.json(0);
    assert_eq!(doc["converged"], true, "{:?}", problems(&doc));
    let server = ca_of(&doc, "server-ca");
    assert_eq!(server["rotated"], true);
    assert_eq!(server["root"], "same-root");
    assert_eq!(
        doc["before"]["served_ca_hashes"],
        doc["after"]["served_ca_hashes"]
    );
    let t = &node(&doc, "a1")["token"];
    assert_eq!(t["ca_hash_before"], t["ca_hash_after"]);
}

/// The server token's password, from a node's `server/token`.
fn token_password(node: &Path) -> String {
    let t = std::fs::read_to_string(node.join("var/lib/rancher/rke2/server/token")).unwrap();
    t.trim().rsplit(':').next().unwrap().to_string()
}

#[test]
fn token_rotation_converges_when_every_node_has_the_new_token_and_shows_no_password() {
    let s = Sides::of("healthy");
    let old = token_password(&s.node("s1"));
    let new = "0f1e2d3c4b5a69788796a5b4c3d2e1f0";
    for n in NODES {
        assert!(replace_everywhere(&s.node(n), &old, new) > 0, "{n}");
    }
    let run = s.run(&["-o", "json"], 0);
    assert!(!run.stdout.contains(&old) && !run.stdout.contains(new));
    let doc = run.json();
    for n in NODES {
        assert_eq!(node(&doc, n)["token"]["password_changed"], true, "{n}");
    }
    let text = s
        .run(&[], 0)
        .stdout_has("password changed")
        .stdout_has("CONVERGED");
    assert!(!text.stdout.contains(&old) && !text.stdout.contains(new));
}

#[test]
fn token_rotation_missed_by_the_agent_does_not_converge() {
    let s = Sides::of("healthy");
    let old = token_password(&s.node("s1"));
    let new = "0f1e2d3c4b5a69788796a5b4c3d2e1f0";
    for n in ["s1", "s2"] {
        replace_everywhere(&s.node(n), &old, new);
    }
    let run = s.run(&["-o", "yaml"], 1);
    assert!(!run.stdout.contains(&old) && !run.stdout.contains(new));
    assert!(run.stdout.contains("old-token-password"), "{}", run.stdout);
    let doc = s.json(1);
    let p = problems(&doc);
    assert!(!p.is_empty());
    assert!(
        p.iter()
            .all(|(n, k, _)| n == "a1" && k == "old-token-password"),
        "{p:?}"
    );
}

/// The staged cross-signed CA bundles of `rotate-ca-staged` put in place on every node (as
/// `rke2 certificate rotate-ca` distributes them), no node restarted: the CAs are new, every
/// leaf still of the old CAs, the agent's token still pinning the old hash.
#[test]
fn staged_ca_rotation_applied_without_restarts_golden() {
    let s = Sides::of("rotate-ca-staged");
    let staged = s
        .node("s1")
        .join("var/lib/rancher/rke2/server/rotate-ca/tls");
    for n in ["s1", "s2"] {
        for ca in ["server-ca", "client-ca"] {
            let body = std::fs::read(staged.join(format!("{ca}.crt"))).unwrap();
            std::fs::write(s.node(n).join(format!("{TLS}/{ca}.crt")), &body).unwrap();
        }
    }
    for n in NODES {
        for ca in ["server-ca", "client-ca"] {
            let body = std::fs::read(staged.join(format!("{ca}.crt"))).unwrap();
            std::fs::write(s.node(n).join(format!("{AGENT}/{ca}.crt")), &body).unwrap();
        }
    }
    let run = Test::new()
        .cwd(s.before.parent().unwrap())
        .args(["diff", "before", "after"])
        .run()
        .code(1)
        .golden("diff-rotate-ca-applied.txt");
    for n in NODES {
        assert!(run.stdout.contains(&format!("NODE {n} ")), "{n}");
    }
    let doc = s.json(1);
    assert_eq!(ca_of(&doc, "server-ca")["root"], "new-root-cross-signed");
    assert_eq!(ca_of(&doc, "request-header-ca")["rotated"], false);
    // Trust is fine everywhere (the bundles hold the new CAs); the leaves are not.
    let p = problems(&doc);
    assert!(!p.iter().any(|(_, k, _)| k == "trusts-old-ca"), "{p:?}");
    assert!(
        p.iter()
            .any(|(n, k, _)| n == "a1" && k == "presents-old-ca-leaf")
    );
}

#[test]
fn usage_errors_exit_2() {
    let s = Sides::of("healthy");
    // Only one side.
    Test::new().arg("diff").path(&s.before).run().code(2);
    // Positional sides mixed with --before/--after.
    Test::new()
        .arg("diff")
        .path(&s.before)
        .path(&s.after)
        .arg("--before")
        .path(&s.before)
        .run()
        .code(2);
    // --before without --after.
    Test::new()
        .arg("diff")
        .arg("--before")
        .path(&s.before)
        .run()
        .code(2);
    // A format diff does not offer.
    s.run(&["-o", "sarif"], 2).stderr_has("text, json, yaml");
    // No node in common.
    Test::new()
        .arg("diff")
        .path(&s.before.join("s1"))
        .path(&s.after.join("a1"))
        .run()
        .code(2)
        .stderr_has("no node in common");
    // A side that does not exist.
    Test::new()
        .arg("diff")
        .path(&s.before)
        .arg("/nonexistent/after")
        .run()
        .code(2);
}

#[test]
fn nodes_without_certificate_files_on_both_sides_are_not_compared() {
    let bundle = support::inputs_in("bundles/demo")
        .into_iter()
        .find(|p| p.ends_with(".zip"))
        .unwrap();
    // A support bundle on both sides: no node has its certificate files, nothing to compare.
    Test::new()
        .args(["diff", &bundle, &bundle])
        .run()
        .code(2)
        .stderr_has("no node has its host files on both sides");
    // n2's snapshot only BEFORE: n2 is named as not compared, n1 is compared.
    let run = Test::new()
        .args([
            "diff",
            "--before",
            "bundles/demo/n1.tgz",
            "bundles/demo/n2.tgz",
        ])
        .args(["--after", &bundle, "bundles/demo/n1.tgz", "-o", "json"])
        .run()
        .code(0);
    let doc = run.json();
    assert_eq!(node(&doc, "n1")["judged"], true);
    assert_eq!(node(&doc, "n2")["judged"], false);
    assert!(node(&doc, "n2")["files"].as_array().unwrap().is_empty());
    Test::new()
        .args([
            "diff",
            "--before",
            "bundles/demo/n1.tgz",
            "bundles/demo/n2.tgz",
        ])
        .args(["--after", &bundle, "bundles/demo/n1.tgz"])
        .run()
        .code(0)
        .stdout_has("NOT COMPARED: n2, n3, w1, w2");
}
