//! Golden vectors for the token CA hash (RKE2's hashCA). Expected values are computed apart
//! from harrow: raw-file hashes with sha2 over the bytes, root hashes with
//! `openssl x509 -outform der` and sha2.

// clippy.toml lets #[test] functions unwrap, panic and print; this lets their helpers too.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stderr
)]

mod pki_support;

use harrow::pki::{CaHashMethod, ca_hash, ca_hash_at};
use pki_support::{Ca, ca_params, openssl_der, root_ca, sha256_hex, sub_ca};
use rcgen::{KeyPair, PKCS_ECDSA_P256_SHA256};

fn cat(parts: &[&str]) -> Vec<u8> {
    parts.concat().into_bytes()
}

#[test]
fn self_signed_cluster_single_cert_hashes_raw_bytes() {
    let ca = root_ca("rke2-server-ca@1700000000", &PKCS_ECDSA_P256_SHA256);
    let file = cat(&[&ca.pem]);
    let h = ca_hash(&file).unwrap();
    assert_eq!(h.method, CaHashMethod::RawFile);
    assert_eq!(h.hex, sha256_hex(&file));
    // The trailing newline is part of the hash: any byte change changes it.
    let mut no_nl = file.clone();
    no_nl.pop();
    assert_ne!(ca_hash(&no_nl).unwrap().hex, h.hex);
}

#[test]
fn custom_ca_three_cert_bundle_hashes_root_der() {
    let dir = tempfile::tempdir().unwrap();
    let root = root_ca("rke2-root-ca@1", &PKCS_ECDSA_P256_SHA256);
    let inter = sub_ca("rke2-intermediate-ca@1", &PKCS_ECDSA_P256_SHA256, &root);
    let server = sub_ca("rke2-server-ca@1", &PKCS_ECDSA_P256_SHA256, &inter);
    let file = cat(&[&server.pem, &inter.pem, &root.pem]);
    let h = ca_hash(&file).unwrap();
    let expected = sha256_hex(&openssl_der(dir.path(), root.pem.as_bytes()));
    assert_eq!(h.hex, expected);
    assert!(matches!(h.method, CaHashMethod::Root { ref chain, .. } if *chain == vec![0, 1, 2]));
    assert_ne!(h.hex, sha256_hex(&file));
}

#[test]
fn cross_signed_rotation_bundle_hashes_new_self_signed_root() {
    let dir = tempfile::tempdir().unwrap();
    let old_root = root_ca("rke2-server-ca@1", &PKCS_ECDSA_P256_SHA256);
    // New root: one key, two certificates (self-signed, and cross-signed by the old root).
    let new_key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).unwrap();
    let new_params = ca_params("rke2-server-root@2");
    let self_signed = new_params.self_signed(&new_key).unwrap().pem();
    let cross = new_params
        .signed_by(&new_key, &old_root.issuer())
        .unwrap()
        .pem();
    let new_root = Ca {
        params: new_params,
        key: new_key,
        pem: self_signed.clone(),
    };
    let leaf_ca = sub_ca("rke2-server-ca@2", &PKCS_ECDSA_P256_SHA256, &new_root);
    let file = cat(&[&leaf_ca.pem, &self_signed, &cross, &old_root.pem]);

    let certs = harrow::pki::parse_certs(&file).unwrap();
    assert_eq!(
        certs[1].aki(),
        certs[1].ski(),
        "self-signed new root: AKI == SKI"
    );
    assert_ne!(
        certs[2].aki(),
        certs[2].ski(),
        "cross-signed cert: AKI != SKI"
    );
    let h = ca_hash(&file).unwrap();
    let new_root_hash = sha256_hex(&openssl_der(dir.path(), self_signed.as_bytes()));
    let old_root_hash = sha256_hex(&openssl_der(dir.path(), old_root.pem.as_bytes()));
    let leaf_hash = sha256_hex(&openssl_der(dir.path(), leaf_ca.pem.as_bytes()));
    assert_eq!(h.hex, new_root_hash);
    assert_ne!(h.hex, old_root_hash);
    // What rotate-default-ca-certs.sh prints (the new leaf CA) is not what nodes compute.
    assert_ne!(h.hex, leaf_hash);
    assert!(matches!(h.method, CaHashMethod::Root { ref chain, .. } if *chain == vec![0, 1]));

    // Without the self-signed new root, the chain goes through the cross-signed cert.
    let file = cat(&[&leaf_ca.pem, &cross, &old_root.pem]);
    let h = ca_hash(&file).unwrap();
    assert_eq!(h.hex, old_root_hash);
    assert!(matches!(h.method, CaHashMethod::Root { ref chain, .. } if *chain == vec![0, 1, 2]));
}

#[test]
fn unverifiable_bundle_hashes_raw_bytes() {
    let a = root_ca("unrelated-a", &PKCS_ECDSA_P256_SHA256);
    let b = root_ca("unrelated-b", &PKCS_ECDSA_P256_SHA256);
    let file = cat(&[&a.pem, &b.pem]);
    let h = ca_hash(&file).unwrap();
    assert_eq!(h.method, CaHashMethod::FallbackUnverifiable);
    assert_eq!(h.hex, sha256_hex(&file));
}

#[test]
fn expired_root_at_reference_time_falls_back_to_raw_bytes() {
    let root = root_ca("root", &PKCS_ECDSA_P256_SHA256);
    let leaf = sub_ca("leaf-ca", &PKCS_ECDSA_P256_SHA256, &root);
    let file = cat(&[&leaf.pem, &root.pem]);
    let later = time::OffsetDateTime::now_utc() + time::Duration::days(365 * 5000);
    let h = ca_hash_at(&file, Some(later)).unwrap();
    assert_eq!(h.method, CaHashMethod::FallbackUnverifiable);
    let now = ca_hash_at(&file, Some(time::OffsetDateTime::now_utc())).unwrap();
    assert!(matches!(now.method, CaHashMethod::Root { .. }));
}

#[test]
fn not_a_certificate_file_is_an_error() {
    assert!(ca_hash(b"hello").is_err());
    assert!(ca_hash(b"").is_err());
}
