//! The minimal certificate reading the snapshot needs (the PKI stage does the real work): the
//! first certificate of a PEM bundle, its SHA-256 fingerprint (identity keys) and its subject
//! common name (node naming from `serving-kubelet.crt` / `client-kubelet.crt`). PEM is read with
//! the crate's one PEM reader, [`crate::pki::pem`].

use crate::pki::pem::{self, Der};
use crate::pki::sha256_hex;

/// Blocks looked at before giving up on finding a certificate.
const MAX_BLOCKS: usize = 64;

/// The decoded `CERTIFICATE` blocks among the first [`MAX_BLOCKS`] blocks of a PEM text, up to
/// the first malformed block.
fn cert_blocks(pem: &[u8]) -> impl Iterator<Item = Der> + '_ {
    pem::blocks(pem)
        .take(MAX_BLOCKS)
        .map_while(Result::ok)
        .filter(|b| b.label == "CERTIFICATE")
        .filter_map(|b| b.der)
}

/// DER of the first `CERTIFICATE` block of a PEM text.
fn first_cert_der(pem: &[u8]) -> Option<Der> {
    cert_blocks(pem).next()
}

/// SHA-256 of every certificate of a PEM text (at most the first 64 blocks).
pub fn all_cert_fingerprints(pem: &[u8]) -> Vec<String> {
    cert_blocks(pem).map(|d| sha256_hex(&d)).collect()
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
