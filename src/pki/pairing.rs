//! Key ↔ certificate pairing with Go's `tls.X509KeyPair` semantics: the first certificate of a
//! `.crt` file pairs with the first private key of its `.key` file. Further keys (cross-signing
//! roots appended to `*-ca.key`, older `service.key` entries) are ordered lists, not pairs.

use super::cert::{Cert, KeyAlgorithm};
use super::key::{KeyInfo, KeyStatus};

/// The outcome of a pairing test.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pairing {
    /// The key's public half is the certificate's public key.
    Match,
    /// It is not.
    Mismatch,
    /// Cannot be judged (encrypted key, no key, unsupported algorithm): the reason.
    NotEvaluable(String),
}

/// Whether `key` is the private (or public) key of `cert`: their SubjectPublicKeyInfo hashes
/// are equal. Judged for RSA, ECDSA P-256/P-384 and Ed25519 keys.
pub fn pair(cert: &Cert, key: &KeyInfo) -> Pairing {
    if let KeyStatus::NotParsed(reason) = &key.status {
        return Pairing::NotEvaluable(format!("key not parsed: {reason}"));
    }
    let Some(spki) = &key.spki_sha256 else {
        return Pairing::NotEvaluable("key has no public key".into());
    };
    let supported = |a: &KeyAlgorithm| {
        matches!(
            a,
            KeyAlgorithm::Rsa
                | KeyAlgorithm::EcdsaP256
                | KeyAlgorithm::EcdsaP384
                | KeyAlgorithm::Ed25519
        )
    };
    if !supported(&cert.key_algorithm) {
        return Pairing::NotEvaluable(format!(
            "certificate key algorithm {} not supported",
            cert.key_algorithm
        ));
    }
    if !key.algorithm.as_ref().is_some_and(supported) {
        return Pairing::NotEvaluable("key algorithm not supported".into());
    }
    if *spki == cert.spki_sha256() {
        Pairing::Match
    } else {
        Pairing::Mismatch
    }
}

/// Pair the files of a `.crt`/`.key` pair: the first certificate with the first private key
/// (public keys in the key file are skipped, as Go's `X509KeyPair` skips non-key blocks).
pub fn pair_files(certs: &[Cert], keys: &[KeyInfo]) -> Pairing {
    let Some(cert) = certs.first() else {
        return Pairing::NotEvaluable("no certificate".into());
    };
    let Some(key) = keys.iter().find(|k| k.private) else {
        return Pairing::NotEvaluable("no private key".into());
    };
    pair(cert, key)
}

/// Pair a certificate with a `.pub-fingerprint` line (SHA-256 hex of the key's SPKI).
pub fn pair_fingerprint(cert: &Cert, fingerprint: &str) -> Pairing {
    let fp = fingerprint.trim();
    let fp = fp.strip_prefix("sha256:").unwrap_or(fp);
    if fp.len() != 64 {
        return Pairing::NotEvaluable("not a sha256 fingerprint".into());
    }
    if fp.eq_ignore_ascii_case(&cert.spki_sha256()) {
        Pairing::Match
    } else {
        Pairing::Mismatch
    }
}
