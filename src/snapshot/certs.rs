//! The minimal certificate reading the snapshot needs (the PKI stage does the real work): the
//! first certificate of a PEM bundle, its SHA-256 fingerprint (identity keys) and its subject
//! common name (node naming from `serving-kubelet.crt` / `client-kubelet.crt`).

use sha2::{Digest, Sha256};
use x509_parser::pem::Pem;

/// Blocks looked at before giving up on finding a certificate.
const MAX_BLOCKS: usize = 64;

/// DER of the first `CERTIFICATE` block of a PEM text.
pub fn first_cert_der(pem: &[u8]) -> Option<Vec<u8>> {
    for block in Pem::iter_from_buffer(pem).take(MAX_BLOCKS) {
        match block {
            Ok(p) if p.label == "CERTIFICATE" => return Some(p.contents),
            Ok(_) => continue,
            Err(_) => return None,
        }
    }
    None
}

/// Lower-case hex SHA-256 of DER bytes.
pub fn sha256_hex(der: &[u8]) -> String {
    hex::encode(Sha256::digest(der))
}

/// SHA-256 of every certificate of a PEM text (at most the first 64 blocks).
pub fn all_cert_fingerprints(pem: &[u8]) -> Vec<String> {
    let mut out = Vec::new();
    for block in Pem::iter_from_buffer(pem).take(MAX_BLOCKS) {
        match block {
            Ok(p) if p.label == "CERTIFICATE" => out.push(sha256_hex(&p.contents)),
            Ok(_) => continue,
            Err(_) => break,
        }
    }
    out
}

/// SHA-256 of the first certificate of a PEM text.
pub fn first_cert_fingerprint(pem: &[u8]) -> Option<String> {
    first_cert_der(pem).map(|d| sha256_hex(&d))
}

/// Subject common name of the first certificate of a PEM text.
pub fn first_cert_cn(pem: &[u8]) -> Option<String> {
    let der = first_cert_der(pem)?;
    let (_, cert) = x509_parser::parse_x509_certificate(&der).ok()?;
    cert.subject()
        .iter_common_name()
        .next()
        .and_then(|a| a.as_str().ok())
        .map(str::to_string)
}
