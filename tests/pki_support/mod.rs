//! Shared helpers of the `pki_*` integration tests: the openssl CLI for keys rcgen cannot make
//! (RSA, traditional and encrypted encodings) and rcgen for CA hierarchies.
#![allow(dead_code)]

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use rcgen::{
    BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose,
    SignatureAlgorithm,
};

/// Run openssl in `dir` with `args`, feeding `stdin`, returning stdout.
pub fn openssl(dir: &Path, args: &[&str], stdin: &[u8]) -> Vec<u8> {
    let mut child = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("openssl runs");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin)
        .expect("write stdin");
    let out = child.wait_with_output().expect("openssl finishes");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// A private key PEM of the given kind: `rsa`, `p256`, `p384`, `ed25519`.
pub fn gen_key(dir: &Path, kind: &str) -> Vec<u8> {
    match kind {
        "rsa" => openssl(dir, &["genrsa", "-traditional", "2048"], b""),
        "rsa1024" => openssl(dir, &["genrsa", "-traditional", "1024"], b""),
        "p256" => openssl(dir, &["ecparam", "-genkey", "-name", "prime256v1"], b""),
        "p384" => openssl(dir, &["ecparam", "-genkey", "-name", "secp384r1"], b""),
        "ed25519" => openssl(dir, &["genpkey", "-algorithm", "ed25519"], b""),
        other => panic!("unknown key kind {other}"),
    }
}

/// Convert a key PEM to unencrypted PKCS#8 PEM.
pub fn to_pkcs8(dir: &Path, key: &[u8]) -> Vec<u8> {
    openssl(dir, &["pkcs8", "-topk8", "-nocrypt"], key)
}

/// A self-signed certificate PEM for `key` (any kind openssl knows).
pub fn self_signed(dir: &Path, key: &[u8], cn: &str) -> Vec<u8> {
    let path = dir.join(format!("key-{}.pem", sha_prefix(key)));
    std::fs::write(&path, key).expect("write key");
    let subj = format!("/CN={cn}");
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-new",
            "-key",
            path.to_str().expect("utf-8 path"),
            "-subj",
            &subj,
            "-days",
            "30",
        ],
        b"",
    )
}

fn sha_prefix(b: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(&sha2::Sha256::digest(b)[..6])
}

/// DER of the first certificate of a PEM, by openssl.
pub fn openssl_der(dir: &Path, pem: &[u8]) -> Vec<u8> {
    openssl(dir, &["x509", "-outform", "der"], pem)
}

/// SHA-256 hex, computed independently of harrow.
pub fn sha256_hex(b: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(b))
}

/// A CA made with rcgen: its params (for issuing), key and PEM.
pub struct Ca {
    pub params: CertificateParams,
    pub key: KeyPair,
    pub pem: String,
}

impl Ca {
    pub fn issuer(&self) -> Issuer<'_, &KeyPair> {
        Issuer::from_params(&self.params, &self.key)
    }
}

pub fn ca_params(cn: &str) -> CertificateParams {
    let mut p = CertificateParams::new(Vec::<String>::new()).expect("params");
    p.distinguished_name.push(DnType::CommonName, cn);
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    p.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
        KeyUsagePurpose::KeyCertSign,
    ];
    p.use_authority_key_identifier_extension = true;
    p
}

/// A self-signed CA.
pub fn root_ca(cn: &str, alg: &'static SignatureAlgorithm) -> Ca {
    let key = KeyPair::generate_for(alg).expect("key");
    let params = ca_params(cn);
    let pem = params.self_signed(&key).expect("self-signed").pem();
    Ca { params, key, pem }
}

/// A CA signed by `parent`.
pub fn sub_ca(cn: &str, alg: &'static SignatureAlgorithm, parent: &Ca) -> Ca {
    let key = KeyPair::generate_for(alg).expect("key");
    let params = ca_params(cn);
    let pem = params
        .signed_by(&key, &parent.issuer())
        .expect("signed")
        .pem();
    Ca { params, key, pem }
}
