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

/// Subject alternative names (DNS names and IP addresses) of the first certificate of a PEM
/// text.
pub fn first_cert_sans(pem: &[u8]) -> Vec<String> {
    use x509_parser::extensions::GeneralName;
    let Some(der) = first_cert_der(pem) else {
        return Vec::new();
    };
    let Ok((_, cert)) = x509_parser::parse_x509_certificate(&der) else {
        return Vec::new();
    };
    let Ok(Some(san)) = cert.subject_alternative_name() else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for name in &san.value.general_names {
        match name {
            GeneralName::DNSName(s) => out.push((*s).to_string()),
            GeneralName::IPAddress(b) => {
                if let Ok(a) = <[u8; 4]>::try_from(*b) {
                    out.push(std::net::Ipv4Addr::from(a).to_string());
                } else if let Ok(a) = <[u8; 16]>::try_from(*b) {
                    out.push(std::net::Ipv6Addr::from(a).to_string());
                }
            }
            _ => {}
        }
    }
    out
}
