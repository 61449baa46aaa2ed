//! Private and public keys: derivation of the SubjectPublicKeyInfo for every supported encoding,
//! byte-for-byte agreement with the certificate's SPKI, pairing, encrypted keys, ordering.

// clippy.toml lets #[test] functions unwrap, panic and print; this lets their helpers too.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stderr
)]

mod pki_support;

use harrow::pki::{
    KeyFormat, KeyStatus, Pairing, pair, pair_files, pair_fingerprint, parse_certs, parse_keys,
    parse_pub_fingerprints,
};
use pki_support::{gen_key, openssl, self_signed, to_pkcs8};

const KINDS: [&str; 4] = ["rsa", "p256", "p384", "ed25519"];

#[test]
fn derived_spki_equals_certificate_spki_byte_for_byte() {
    let dir = tempfile::tempdir().unwrap();
    for kind in KINDS {
        let key = gen_key(dir.path(), kind);
        let cert = parse_certs(&self_signed(dir.path(), &key, kind)).unwrap();
        for encoding in [key.clone(), to_pkcs8(dir.path(), &key)] {
            let keys = parse_keys(&encoding).unwrap();
            assert_eq!(keys.len(), 1, "{kind}");
            let k = &keys[0];
            assert_eq!(k.status, KeyStatus::Parsed, "{kind}");
            assert_eq!(k.algorithm.as_ref(), Some(&cert[0].key_algorithm), "{kind}");
            assert_eq!(k.spki_der.as_deref(), Some(cert[0].spki_der()), "{kind}");
            assert_eq!(k.spki_sha256, Some(cert[0].spki_sha256()));
            assert_eq!(pair_files(&cert, &keys), Pairing::Match, "{kind}");
        }
    }
}

#[test]
fn formats_and_bits_are_reported() {
    let dir = tempfile::tempdir().unwrap();
    let rsa = parse_keys(&gen_key(dir.path(), "rsa")).unwrap();
    assert_eq!(rsa[0].format, KeyFormat::Pkcs1);
    assert_eq!(rsa[0].bits, Some(2048));
    // `openssl ecparam -genkey` writes an EC PARAMETERS block first: not a key.
    let p384 = parse_keys(&gen_key(dir.path(), "p384")).unwrap();
    assert_eq!(p384.len(), 1);
    assert_eq!(p384[0].format, KeyFormat::Sec1);
    assert_eq!(p384[0].index, 0);
    assert_eq!(p384[0].bits, Some(384));
    let ed = parse_keys(&gen_key(dir.path(), "ed25519")).unwrap();
    assert_eq!(ed[0].format, KeyFormat::Pkcs8);
    assert_eq!(
        ed[0].algorithm.as_ref().map(|a| a.as_str()),
        Some("ed25519")
    );
}

#[test]
fn key_mismatch_is_caught_for_rsa_p256_and_ed25519() {
    let dir = tempfile::tempdir().unwrap();
    for kind in ["rsa", "p256", "p384", "ed25519"] {
        let a = gen_key(dir.path(), kind);
        let b = gen_key(dir.path(), kind);
        let cert_a = parse_certs(&self_signed(dir.path(), &a, "a")).unwrap();
        let keys_b = parse_keys(&b).unwrap();
        assert_eq!(pair_files(&cert_a, &keys_b), Pairing::Mismatch, "{kind}");
        assert_eq!(
            pair(&cert_a[0], &parse_keys(&a).unwrap()[0]),
            Pairing::Match
        );
    }
}

#[test]
fn encrypted_and_openssh_keys_are_not_parsed() {
    let dir = tempfile::tempdir().unwrap();
    let rsa = gen_key(dir.path(), "rsa");
    let cert = parse_certs(&self_signed(dir.path(), &rsa, "enc")).unwrap();
    let pkcs8_enc = openssl(
        dir.path(),
        &["pkcs8", "-topk8", "-v2", "aes256", "-passout", "pass:x"],
        &rsa,
    );
    let legacy_enc = openssl(
        dir.path(),
        &["rsa", "-aes256", "-passout", "pass:x", "-traditional"],
        &rsa,
    );
    let openssh = b"-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ==\n-----END OPENSSH PRIVATE KEY-----\n";
    for (data, format) in [
        (pkcs8_enc, KeyFormat::EncryptedPkcs8),
        (legacy_enc, KeyFormat::LegacyEncrypted),
        (openssh.to_vec(), KeyFormat::OpenSsh),
    ] {
        let keys = parse_keys(&data).unwrap();
        assert_eq!(keys.len(), 1);
        assert_eq!(keys[0].format, format);
        assert!(matches!(keys[0].status, KeyStatus::NotParsed(_)));
        assert!(keys[0].spki_sha256.is_none());
        assert!(matches!(pair_files(&cert, &keys), Pairing::NotEvaluable(_)));
    }
}

#[test]
fn multi_key_files_keep_their_order() {
    let dir = tempfile::tempdir().unwrap();
    // service.key after rotation: the new RSA key first, the old appended.
    let new = gen_key(dir.path(), "rsa");
    let old = gen_key(dir.path(), "rsa");
    let ed = gen_key(dir.path(), "ed25519");
    let mut file = new.clone();
    file.extend_from_slice(&old);
    file.extend_from_slice(&to_pkcs8(dir.path(), &ed));
    let keys = parse_keys(&file).unwrap();
    assert_eq!(keys.len(), 3);
    for (i, k) in keys.iter().enumerate() {
        assert_eq!(k.index, i);
    }
    let fp = |k: &[u8]| parse_keys(k).unwrap()[0].spki_sha256.clone();
    assert_eq!(keys[0].spki_sha256, fp(&new));
    assert_eq!(keys[1].spki_sha256, fp(&old));
    assert_eq!(keys[2].spki_sha256, fp(&ed));
    // *-ca.key with a root key appended: the first key pairs with the CA cert.
    let ca_key = gen_key(dir.path(), "p256");
    let root_key = gen_key(dir.path(), "p256");
    let ca_cert = parse_certs(&self_signed(dir.path(), &ca_key, "ca")).unwrap();
    let mut ca_file = ca_key.clone();
    ca_file.extend_from_slice(&root_key);
    let ca_keys = parse_keys(&ca_file).unwrap();
    assert_eq!(ca_keys.len(), 2);
    assert_eq!(pair_files(&ca_cert, &ca_keys), Pairing::Match);
    // The same file in the other order does not pair.
    let mut swapped = root_key;
    swapped.extend_from_slice(&ca_key);
    assert_eq!(
        pair_files(&ca_cert, &parse_keys(&swapped).unwrap()),
        Pairing::Mismatch
    );
}

#[test]
fn public_key_pems_and_der_keys() {
    let dir = tempfile::tempdir().unwrap();
    let rsa = gen_key(dir.path(), "rsa");
    let expected = parse_keys(&rsa).unwrap()[0].spki_sha256.clone();
    let spki_pem = openssl(dir.path(), &["pkey", "-pubout"], &rsa);
    let pkcs1_pub = openssl(dir.path(), &["rsa", "-RSAPublicKey_out"], &rsa);
    let der = openssl(
        dir.path(),
        &["pkcs8", "-topk8", "-nocrypt", "-outform", "der"],
        &rsa,
    );
    let pkcs1_der = openssl(
        dir.path(),
        &["rsa", "-outform", "der", "-traditional"],
        &rsa,
    );
    for (data, format, private) in [
        (spki_pem, KeyFormat::Spki, false),
        (pkcs1_pub, KeyFormat::Pkcs1Public, false),
        (der, KeyFormat::Pkcs8, true),
        (pkcs1_der, KeyFormat::Pkcs1, true),
    ] {
        let k = parse_keys(&data).unwrap();
        assert_eq!(k[0].format, format);
        assert_eq!(k[0].private, private);
        assert_eq!(k[0].spki_sha256, expected);
    }
    let p256 = gen_key(dir.path(), "p256");
    let sec1_der = openssl(dir.path(), &["ec", "-outform", "der"], &p256);
    assert_eq!(
        parse_keys(&sec1_der).unwrap()[0].spki_sha256,
        parse_keys(&p256).unwrap()[0].spki_sha256
    );
}

#[test]
fn pub_fingerprint_lines_pair_like_keys() {
    let dir = tempfile::tempdir().unwrap();
    let a = gen_key(dir.path(), "p256");
    let b = gen_key(dir.path(), "p256");
    let cert = parse_certs(&self_signed(dir.path(), &a, "fp")).unwrap();
    let fa = parse_keys(&a).unwrap()[0].spki_sha256.clone().unwrap();
    let fb = parse_keys(&b).unwrap()[0].spki_sha256.clone().unwrap();
    let file = format!("# client-ca.key\nsha256:{fa}\n\n{}\n", fb.to_uppercase());
    let fps = parse_pub_fingerprints(file.as_bytes()).unwrap();
    assert_eq!(fps, vec![fa, fb]);
    assert_eq!(pair_fingerprint(&cert[0], &fps[0]), Pairing::Match);
    assert_eq!(pair_fingerprint(&cert[0], &fps[1]), Pairing::Mismatch);
}

#[test]
fn debug_output_holds_no_key_material() {
    let dir = tempfile::tempdir().unwrap();
    for kind in KINDS {
        let key = gen_key(dir.path(), kind);
        let text = String::from_utf8(key.clone()).unwrap();
        let body: Vec<&str> = text
            .lines()
            .filter(|l| !l.starts_with("-----") && l.len() > 20)
            .collect();
        let dbg = format!("{:?}", parse_keys(&key).unwrap());
        for line in body {
            assert!(!dbg.contains(line), "{kind}: key text in Debug");
        }
    }
}

#[test]
fn malformed_key_blocks_are_errors() {
    let bad = b"-----BEGIN RSA PRIVATE KEY-----\nMAMCAQA=\n-----END RSA PRIVATE KEY-----\n";
    assert!(parse_keys(bad).is_err());
    let bad_ec = b"-----BEGIN EC PRIVATE KEY-----\nMAMCAQA=\n-----END EC PRIVATE KEY-----\n";
    assert!(parse_keys(bad_ec).is_err());
    assert!(
        parse_keys(b"-----BEGIN CERTIFICATE-----\nMAMCAQA=\n-----END CERTIFICATE-----\n").is_err()
    );
}

#[test]
fn rcgen_pkcs8_keys_pair_with_their_certificates() {
    use rcgen::{
        CertificateParams, KeyPair, PKCS_ECDSA_P256_SHA256, PKCS_ECDSA_P384_SHA384, PKCS_ED25519,
    };
    for alg in [
        &PKCS_ECDSA_P256_SHA256,
        &PKCS_ECDSA_P384_SHA384,
        &PKCS_ED25519,
    ] {
        let key = KeyPair::generate_for(alg).unwrap();
        let cert = CertificateParams::new(vec!["x".to_string()])
            .unwrap()
            .self_signed(&key)
            .unwrap();
        let certs = parse_certs(cert.pem().as_bytes()).unwrap();
        let keys = parse_keys(key.serialize_pem().as_bytes()).unwrap();
        assert_eq!(keys[0].spki_der.as_deref(), Some(certs[0].spki_der()));
        assert_eq!(pair_files(&certs, &keys), Pairing::Match);
    }
}
