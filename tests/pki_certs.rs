//! Certificates: fields, PEM bundles and DER, malformed input, signature verification across
//! algorithms, chain status, cross-signing, CSRs.

// clippy.toml lets #[test] functions unwrap, panic and print; this lets their helpers too.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stderr
)]

mod pki_support;

use harrow::pki::{
    ChainStatus, Usage, Verification, chain_status, parse_cert_der, parse_certs, parse_csrs,
    parse_keys, verifies, verify,
};
use pki_support::{
    Ca, ca_params, gen_key, openssl, openssl_der, root_ca, self_signed, sha256_hex, sub_ca,
};
use rcgen::{
    CertificateParams, DnType, ExtendedKeyUsagePurpose, KeyPair, KeyUsagePurpose,
    PKCS_ECDSA_P256_SHA256, PKCS_ECDSA_P384_SHA384, PKCS_ED25519, SanType,
};
use time::OffsetDateTime;

fn leaf(cn: &str, org: &str, issuer: &Ca) -> (String, KeyPair) {
    let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).unwrap();
    let mut p = CertificateParams::new(vec!["kubernetes".to_string(), "localhost".into()]).unwrap();
    p.subject_alt_names
        .push(SanType::IpAddress("10.43.0.1".parse().unwrap()));
    p.subject_alt_names
        .push(SanType::IpAddress("fd00::1".parse().unwrap()));
    p.distinguished_name.push(DnType::OrganizationName, org);
    p.distinguished_name.push(DnType::CommonName, cn);
    p.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
    ];
    p.extended_key_usages = vec![
        ExtendedKeyUsagePurpose::ServerAuth,
        ExtendedKeyUsagePurpose::ClientAuth,
    ];
    p.use_authority_key_identifier_extension = true;
    let pem = p.signed_by(&key, &issuer.issuer()).unwrap().pem();
    (pem, key)
}

#[test]
fn leaf_with_chain_fields() {
    let dir = tempfile::tempdir().unwrap();
    let ca = root_ca("rke2-client-ca@1700000000", &PKCS_ECDSA_P256_SHA256);
    let (leaf_pem, key) = leaf("system:admin", "system:masters", &ca);
    let file = format!("{leaf_pem}{}", ca.pem);
    let certs = parse_certs(file.as_bytes()).unwrap();
    assert_eq!(certs.len(), 2);
    let (l, c) = (&certs[0], &certs[1]);
    // rcgen encodes CN before O; RFC 4514 order prints the last RDN first. (Go encodes O
    // before CN, which prints as `CN=…,O=…`: see the CSR test.)
    assert_eq!(l.subject(), "O=system:masters,CN=system:admin");
    assert_eq!(l.subject_cn(), Some("system:admin"));
    assert_eq!(l.issuer(), "CN=rke2-client-ca@1700000000");
    assert_eq!(l.issuer_cn(), Some("rke2-client-ca@1700000000"));
    assert!(!l.is_ca);
    assert!(c.is_ca);
    assert_eq!(l.usages(), vec![Usage::ServerAuth, Usage::ClientAuth]);
    assert_eq!(c.usages(), vec![Usage::CertSign]);
    assert_eq!(c.usage_strings(), vec!["CertSign"]);
    assert_eq!(l.dns_sans(), vec!["kubernetes", "localhost"]);
    assert_eq!(l.ip_sans(), vec!["10.43.0.1", "fd00::1"]);
    assert_eq!(l.aki(), c.ski());
    assert!(c.ski().is_some());
    assert_eq!(l.key_algorithm.as_str(), "ecdsa-p256");
    assert_eq!(l.key_bits, Some(256));
    assert_eq!(l.signature_algorithm(), "ecdsa-with-SHA256");
    assert_eq!(l.weak_signature_hash(), None);
    assert_eq!(
        l.fingerprint_sha256(),
        sha256_hex(&openssl_der(dir.path(), leaf_pem.as_bytes()))
    );
    let serial = openssl(
        dir.path(),
        &["x509", "-noout", "-serial"],
        leaf_pem.as_bytes(),
    );
    let serial = String::from_utf8(serial).unwrap();
    assert_eq!(
        serial
            .trim()
            .trim_start_matches("serial=")
            .to_ascii_lowercase(),
        l.serial().trim_start_matches("00")
    );
    assert!(l.not_before < l.not_after);
    let k = parse_keys(key.serialize_pem().as_bytes()).unwrap();
    assert_eq!(k[0].spki_sha256, Some(l.spki_sha256()));
    // DER input gives the same certificate.
    let der = openssl_der(dir.path(), leaf_pem.as_bytes());
    assert_eq!(parse_certs(&der).unwrap()[0], certs[0]);
    assert_eq!(parse_cert_der(&der).unwrap(), certs[0]);
    // Concatenated DER certificates.
    let mut two = der.clone();
    two.extend_from_slice(certs[1].der());
    assert_eq!(parse_certs(&two).unwrap(), certs);
}

#[test]
fn malformed_input_is_an_error_not_a_panic() {
    let ca = root_ca("x", &PKCS_ECDSA_P256_SHA256);
    let der = pem_to_der(&ca.pem);
    let inputs: Vec<Vec<u8>> = vec![
        b"".to_vec(),
        b"not a certificate".to_vec(),
        b"-----BEGIN CERTIFICATE-----\nMAMCAQA=\n-----END CERTIFICATE-----\n".to_vec(),
        b"-----BEGIN CERTIFICATE-----\n@@@@\n-----END CERTIFICATE-----\n".to_vec(),
        b"-----BEGIN CERTIFICATE-----\nMIIB\n".to_vec(),
        der[..der.len() / 2].to_vec(),
        b"-----BEGIN PRIVATE KEY-----\nMAMCAQA=\n-----END PRIVATE KEY-----\n".to_vec(),
    ];
    for input in inputs {
        let r = parse_certs(&input);
        assert!(r.is_err(), "{:?}", String::from_utf8_lossy(&input));
        assert!(!r.unwrap_err().to_string().is_empty());
    }
}

fn pem_to_der(pem: &str) -> Vec<u8> {
    parse_certs(pem.as_bytes())
        .unwrap()
        .remove(0)
        .der()
        .to_vec()
}

#[test]
fn signatures_verify_for_p256_p384_ed25519_and_rsa() {
    for alg in [
        &PKCS_ECDSA_P256_SHA256,
        &PKCS_ECDSA_P384_SHA384,
        &PKCS_ED25519,
    ] {
        let root = root_ca("root", alg);
        let child = sub_ca("child", alg, &root);
        let r = parse_certs(root.pem.as_bytes()).unwrap().remove(0);
        let c = parse_certs(child.pem.as_bytes()).unwrap().remove(0);
        assert!(verifies(&c, &r));
        assert!(verifies(&r, &r));
        assert_eq!(verify(&r, &c), Verification::BadSignature);
    }
    let dir = tempfile::tempdir().unwrap();
    let rsa = gen_key(dir.path(), "rsa");
    let cert = parse_certs(&self_signed(dir.path(), &rsa, "rsa-root"))
        .unwrap()
        .remove(0);
    assert_eq!(cert.key_algorithm.as_str(), "rsa");
    assert_eq!(cert.key_bits, Some(2048));
    assert!(verifies(&cert, &cert));
    let now = OffsetDateTime::now_utc();
    assert_eq!(
        chain_status(&cert, &[], now).status,
        ChainStatus::SelfSigned
    );
}

#[test]
fn chain_statuses() {
    let now = OffsetDateTime::now_utc();
    let root = root_ca("rke2-server-ca@1", &PKCS_ECDSA_P256_SHA256);
    let (leaf_pem, _) = leaf("kube-apiserver", "", &root);
    let r = parse_certs(root.pem.as_bytes()).unwrap().remove(0);
    let l = parse_certs(leaf_pem.as_bytes()).unwrap().remove(0);

    let res = chain_status(&l, std::slice::from_ref(&r), now);
    assert_eq!(res.status, ChainStatus::Valid);
    assert_eq!(res.issuers, vec![0]);
    assert_eq!(
        chain_status(&r, std::slice::from_ref(&r), now).status,
        ChainStatus::SelfSigned
    );
    assert_eq!(
        chain_status(&l, &[], now).status,
        ChainStatus::IssuerMissing
    );

    // A tampered signature: same issuer, signature no longer verifies.
    let mut der = l.der().to_vec();
    let last = der.len() - 1;
    der[last] ^= 0x01;
    let tampered = parse_cert_der(&der).unwrap();
    assert_eq!(
        chain_status(&tampered, std::slice::from_ref(&r), now).status,
        ChainStatus::BadSignature
    );

    // The issuer has expired at the reference time.
    let later = r.not_after + time::Duration::days(1);
    assert_eq!(
        chain_status(&l, std::slice::from_ref(&r), later).status,
        ChainStatus::IssuerExpired
    );

    // Another CA with the same name but another key: not an issuer.
    let impostor = root_ca("rke2-server-ca@1", &PKCS_ECDSA_P256_SHA256);
    let i = parse_certs(impostor.pem.as_bytes()).unwrap().remove(0);
    let res = chain_status(&l, &[i.clone(), r.clone()], now);
    assert_eq!(res.issuers, vec![1]);
    assert_eq!(res.status, ChainStatus::Valid);
}

/// Issue 9: a chain whose CA starts after the reference time was labelled `issuer-expired`.
#[test]
fn a_ca_not_yet_valid_is_labelled_issuer_not_yet_valid_not_issuer_expired() {
    let now = OffsetDateTime::now_utc();
    let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).unwrap();
    let mut params = ca_params("rke2-server-ca@2000000000");
    params.not_before = now + time::Duration::days(30);
    params.not_after = now + time::Duration::days(3650);
    let pem = params.self_signed(&key).unwrap().pem();
    let future = Ca { params, key, pem };
    let (leaf_pem, _) = leaf("kube-apiserver", "", &future);
    let ca = parse_certs(future.pem.as_bytes()).unwrap().remove(0);
    let l = parse_certs(leaf_pem.as_bytes()).unwrap().remove(0);

    let res = chain_status(&l, std::slice::from_ref(&ca), now);
    assert_eq!(res.status, ChainStatus::IssuerNotYetValid);
    assert_eq!(res.status.as_str(), "issuer-not-yet-valid");
    assert_eq!(res.issuers, vec![0]);
    // Once it has started the chain is valid; once it has ended, expired.
    let started = ca.not_before + time::Duration::days(1);
    assert_eq!(
        chain_status(&l, std::slice::from_ref(&ca), started).status,
        ChainStatus::Valid
    );
    let ended = ca.not_after + time::Duration::days(1);
    assert_eq!(
        chain_status(&l, std::slice::from_ref(&ca), ended).status,
        ChainStatus::IssuerExpired
    );

    // Cross-signed: one issuer expired and the other not yet valid is an expired chain (its
    // only started issuer has ended); a valid one among them makes the chain valid.
    // (The same name and key, an earlier validity: both verify the leaf.)
    let old = {
        let mut params = ca_params("rke2-server-ca@2000000000");
        params.not_before = now - time::Duration::days(3650);
        params.not_after = now - time::Duration::days(1);
        let pem = params.self_signed(&future.key).unwrap().pem();
        parse_certs(pem.as_bytes()).unwrap().remove(0)
    };
    let both = [ca.clone(), old.clone()];
    let res = chain_status(&l, &both, now);
    assert_eq!(res.issuers, vec![0, 1]);
    assert_eq!(res.status, ChainStatus::IssuerExpired);
    assert_eq!(chain_status(&l, &both, started).status, ChainStatus::Valid);
    assert_eq!(
        harrow::pki::issuers_status_at([&ca, &old], now),
        ChainStatus::IssuerExpired
    );
    assert_eq!(
        harrow::pki::issuers_status_at([&ca], now),
        ChainStatus::IssuerNotYetValid
    );
}

#[test]
fn cross_signed_certificate_has_every_verifying_issuer() {
    let now = OffsetDateTime::now_utc();
    let old_root = root_ca("old-root", &PKCS_ECDSA_P256_SHA256);
    let new_key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).unwrap();
    let new_params = ca_params("new-root");
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
    let leaf_ca = sub_ca("server-ca", &PKCS_ECDSA_P256_SHA256, &new_root);
    let file = format!("{}{self_signed}{cross}{}", leaf_ca.pem, old_root.pem);
    let certs = parse_certs(file.as_bytes()).unwrap();
    // The leaf CA verifies under both certificates of the new root (same key).
    let res = chain_status(&certs[0], &certs, now);
    assert_eq!(res.status, ChainStatus::Valid);
    assert_eq!(res.issuers, vec![1, 2]);
    // The cross-signed certificate chains to the old root.
    let res = chain_status(&certs[2], &certs, now);
    assert_eq!(res.issuers, vec![3]);
    assert_eq!(
        chain_status(&certs[1], &certs, now).status,
        ChainStatus::SelfSigned
    );
}

#[test]
fn weak_signatures_and_small_rsa_keys_are_reported() {
    let dir = tempfile::tempdir().unwrap();
    let key = gen_key(dir.path(), "rsa1024");
    let path = dir.path().join("weak.key");
    std::fs::write(&path, &key).unwrap();
    let pem = openssl(
        dir.path(),
        &[
            "req",
            "-x509",
            "-new",
            "-sha1",
            "-key",
            path.to_str().unwrap(),
            "-subj",
            "/CN=weak",
            "-days",
            "1",
        ],
        b"",
    );
    let c = parse_certs(&pem).unwrap().remove(0);
    assert_eq!(c.key_bits, Some(1024));
    assert_eq!(c.weak_signature_hash(), Some("sha1"));
    assert_eq!(c.signature_algorithm(), "sha1WithRSAEncryption");
    let now = OffsetDateTime::now_utc();
    assert_eq!(chain_status(&c, &[], now).status, ChainStatus::SelfSigned);
}

#[test]
fn csr_subject_and_key_hash() {
    let dir = tempfile::tempdir().unwrap();
    let key = gen_key(dir.path(), "p256");
    let path = dir.path().join("csr.key");
    std::fs::write(&path, &key).unwrap();
    let csr = openssl(
        dir.path(),
        &[
            "req",
            "-new",
            "-key",
            path.to_str().unwrap(),
            "-subj",
            "/O=system:nodes/CN=system:node:n1",
        ],
        b"",
    );
    let csrs = parse_csrs(&csr).unwrap();
    assert_eq!(csrs.len(), 1);
    assert_eq!(csrs[0].subject, "CN=system:node:n1,O=system:nodes");
    assert_eq!(csrs[0].subject_cn.as_deref(), Some("system:node:n1"));
    assert_eq!(
        Some(csrs[0].spki_sha256.clone()),
        parse_keys(&key).unwrap()[0].spki_sha256
    );
    assert!(
        parse_csrs(
            b"-----BEGIN CERTIFICATE REQUEST-----\nMAMCAQA=\n-----END CERTIFICATE REQUEST-----\n"
        )
        .is_err()
    );
}

#[test]
fn mutated_inputs_never_panic() {
    let dir = tempfile::tempdir().unwrap();
    let root = root_ca("root", &PKCS_ECDSA_P256_SHA256);
    let der = pem_to_der(&root.pem);
    let rsa = gen_key(dir.path(), "rsa");
    let p256 = gen_key(dir.path(), "p256");
    let key_ders: Vec<Vec<u8>> = [&rsa, &p256]
        .iter()
        .map(|k| {
            let text = String::from_utf8(k.to_vec()).unwrap();
            let b64: String = text
                .lines()
                .skip_while(|l| !l.contains("PRIVATE KEY"))
                .filter(|l| !l.starts_with("-----"))
                .collect();
            use base64::Engine as _;
            base64::engine::general_purpose::STANDARD
                .decode(b64)
                .unwrap()
        })
        .collect();
    let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
    let mut next = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for i in 0..der.len() {
        let mut m = der.clone();
        m[i] ^= (next() as u8) | 1;
        let _ = parse_certs(&m);
        let _ = ca_hash_like(&m);
        m.truncate(i);
        let _ = parse_certs(&m);
    }
    for kd in &key_ders {
        for i in (0..kd.len()).step_by(3) {
            let mut m = kd.clone();
            m[i] ^= (next() as u8) | 1;
            let _ = parse_keys(&m);
            m.truncate(i);
            let _ = parse_keys(&m);
        }
    }
    for _ in 0..2000 {
        let len = (next() % 300) as usize;
        let bytes: Vec<u8> = (0..len).map(|_| next() as u8).collect();
        let _ = parse_certs(&bytes);
        let _ = parse_keys(&bytes);
        let _ = parse_csrs(&bytes);
        let _ = harrow::pki::parse_pub_fingerprints(&bytes);
        let _ = harrow::pki::parse_kubeconfig(&bytes);
        let _ = harrow::pki::parse_dynamic_cert(&bytes);
        let _ = harrow::pki::token::scan_yaml_tree("x", &bytes);
        let _ = harrow::pki::parse_token(&String::from_utf8_lossy(&bytes));
    }
}

fn ca_hash_like(der: &[u8]) -> Option<String> {
    harrow::pki::ca_hash(der).ok().map(|h| h.hex)
}
