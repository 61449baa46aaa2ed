//! Certificate signing requests in the trust graph: a node's `*.csr` files become `csr`
//! vertices held by the node and paired with the key whose public key they carry; a request
//! that does not parse is reported, and no CSR is mistaken for a broken certificate.

// clippy.toml lets #[test] functions unwrap, panic and print; this lets their helpers too.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stderr
)]

mod support;

use support::Test;

const TLS: &str = "var/lib/rancher/rke2/server/tls";

fn write(root: &std::path::Path, rel: &str, body: &[u8]) {
    let p = root.join(rel);
    std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
    std::fs::write(p, body).expect("write");
}

/// A CSR for `cn` made with `key`.
fn csr(key: &rcgen::KeyPair, cn: &str) -> String {
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("params");
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, cn);
    params
        .serialize_request(key)
        .expect("csr")
        .pem()
        .expect("pem")
}

/// The lowercase-hex SHA-256 of a key's SubjectPublicKeyInfo, as harrow names keys.
fn spki_sha256(key: &rcgen::KeyPair) -> String {
    let keys = harrow::pki::parse_keys(key.serialize_pem().as_bytes()).expect("key parses");
    keys[0].spki_sha256.clone().expect("spki")
}

#[test]
fn csrs_are_vertices_paired_with_their_keys() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path().join("n9");
    write(&root, "etc/hostname", b"n9\n");
    let held = rcgen::KeyPair::generate().expect("key");
    let orphan = rcgen::KeyPair::generate().expect("key");
    write(
        &root,
        &format!("{TLS}/custom.key"),
        held.serialize_pem().as_bytes(),
    );
    write(
        &root,
        &format!("{TLS}/custom.csr"),
        csr(&held, "custom").as_bytes(),
    );
    // Two requests in one file, for a key the snapshot does not hold.
    let two = format!("{}{}", csr(&orphan, "first"), csr(&orphan, "second"));
    write(&root, &format!("{TLS}/orphan.csr"), two.as_bytes());
    write(
        &root,
        &format!("{TLS}/broken.csr"),
        b"-----BEGIN CERTIFICATE REQUEST-----\nMAMCAQA=\n-----END CERTIFICATE REQUEST-----\n",
    );

    let run = Test::new()
        .args(["graph", "-o", "json"])
        .path(&root)
        .run()
        .code(0);
    let doc = run.json();
    let has_edge = |from: &str, kind: &str, to: &str| {
        doc["edges"]
            .as_array()
            .expect("edges")
            .iter()
            .any(|e| e["from"] == from && e["kind"] == kind && e["to"] == to)
    };
    let kind_of = |id: &str| {
        doc["vertices"]
            .as_array()
            .expect("vertices")
            .iter()
            .find(|v| v["id"] == id)
            .map(|v| v["kind"].as_str().unwrap_or("").to_string())
    };

    let custom = format!("csr:n9:{TLS}/custom.csr");
    let held_key = format!("key:sha256:{}", spki_sha256(&held));
    assert_eq!(
        kind_of(&custom).as_deref(),
        Some("csr"),
        "{}",
        doc["vertices"]
    );
    assert!(has_edge("node:n9", "holds", &custom));
    // The request and the key file meet at one key vertex.
    assert!(has_edge(&custom, "pairs-with", &held_key));
    assert_eq!(kind_of(&held_key).as_deref(), Some("key"));

    let orphan_key = format!("key:sha256:{}", spki_sha256(&orphan));
    let first = format!("csr:n9:{TLS}/orphan.csr");
    let second = format!("csr:n9:{TLS}/orphan.csr#1");
    assert!(has_edge(&first, "pairs-with", &orphan_key));
    assert!(has_edge(&second, "pairs-with", &orphan_key));
    assert!(
        doc["vertices"]
            .as_array()
            .expect("vertices")
            .iter()
            .any(|v| v["id"] == second
                && v["label"]
                    .as_str()
                    .is_some_and(|l| l.contains("CSR second"))),
        "{}",
        doc["vertices"]
    );

    let problems = doc["key_problems"].as_array().expect("key_problems");
    assert!(
        problems.iter().any(|p| p["path"]
            .as_str()
            .is_some_and(|s| s.ends_with("broken.csr"))
            && p["reason"]
                .as_str()
                .is_some_and(|r| r.starts_with("CSR not parsed"))),
        "{problems:?}"
    );
    assert!(
        !problems.iter().any(|p| p["path"]
            .as_str()
            .is_some_and(|s| s.ends_with("custom.csr") || s.ends_with("orphan.csr"))),
        "{problems:?}"
    );

    // The inventory leaves requests to the graph: no CSR is reported as a broken certificate.
    let certs = Test::new()
        .args(["certs", "-o", "csv"])
        .path(&root)
        .run()
        .code(0);
    assert!(!certs.stderr.contains(".csr"), "{}", certs.stderr);
}
