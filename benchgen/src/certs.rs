//! Synthetic X.509 certificates, encoded by hand in DER and wrapped in PEM.
//!
//! Each certificate is structurally valid (v3, ECDSA P-256 key, `ecdsa-with-SHA256`, distinct
//! serial, subject, issuer and validity) so `openssl x509 -noout -enddate` and X.509 parsers read it,
//! but its signature is random bytes: nothing here is meant to verify. The public key is the P-256
//! base point G, whose private scalar is 1, which keeps generation free of any elliptic-curve
//! arithmetic; [`ec_private_key_pem`] writes that matching key.

use crate::clock::civil;
use crate::rng::Rng;
use std::io::{self, Write};
use std::path::Path;

/// P-256 base point, uncompressed (`04 || X || Y`).
const P256_G: [u8; 65] = [
    0x04, 0x6B, 0x17, 0xD1, 0xF2, 0xE1, 0x2C, 0x42, 0x47, 0xF8, 0xBC, 0xE6, 0xE5, 0x63, 0xA4, 0x40,
    0xF2, 0x77, 0x03, 0x7D, 0x81, 0x2D, 0xEB, 0x33, 0xA0, 0xF4, 0xA1, 0x39, 0x45, 0xD8, 0x98, 0xC2,
    0x96, 0x4F, 0xE3, 0x42, 0xE2, 0xFE, 0x1A, 0x7F, 0x9B, 0x8E, 0xE7, 0xEB, 0x4A, 0x7C, 0x0F, 0x9E,
    0x16, 0x2B, 0xCE, 0x33, 0x57, 0x6B, 0x31, 0x5E, 0xCE, 0xCB, 0xB6, 0x40, 0x68, 0x37, 0xBF, 0x51,
    0xF5,
];
const OID_ECDSA_SHA256: &[u8] = &[0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x04, 0x03, 0x02];
const OID_EC_PUBLIC_KEY: &[u8] = &[0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x02, 0x01];
const OID_PRIME256V1: &[u8] = &[0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x03, 0x01, 0x07];
const OID_CN: &[u8] = &[0x55, 0x04, 0x03];
const OID_O: &[u8] = &[0x55, 0x04, 0x0A];
const OID_BASIC_CONSTRAINTS: &[u8] = &[0x55, 0x1D, 0x13];

/// One DER TLV.
fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let len = content.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes.iter().take_while(|&&b| b == 0).count();
        out.push(0x80 | (bytes.len() - skip) as u8);
        out.extend_from_slice(&bytes[skip..]);
    }
    out.extend_from_slice(content);
    out
}

fn seq(parts: &[&[u8]]) -> Vec<u8> {
    tlv(0x30, &parts.concat())
}

/// A positive INTEGER from big-endian magnitude bytes.
fn uint(mag: &[u8]) -> Vec<u8> {
    let mut v = mag.to_vec();
    while v.len() > 1 && v[0] == 0 && v[1] & 0x80 == 0 {
        v.remove(0);
    }
    if v[0] & 0x80 != 0 {
        v.insert(0, 0);
    }
    tlv(0x02, &v)
}

fn name(cn: &str, org: Option<&str>) -> Vec<u8> {
    let mut rdns = Vec::new();
    if let Some(o) = org {
        rdns.extend(tlv(
            0x31,
            &seq(&[&tlv(0x06, OID_O), &tlv(0x0C, o.as_bytes())]),
        ));
    }
    rdns.extend(tlv(
        0x31,
        &seq(&[&tlv(0x06, OID_CN), &tlv(0x0C, cn.as_bytes())]),
    ));
    tlv(0x30, &rdns)
}

/// UTCTime before 2050, GeneralizedTime from then on (RFC 5280 §4.1.2.5).
fn time(unix: i64) -> Vec<u8> {
    let c = civil(unix);
    if (1950..2050).contains(&c.year) {
        let s = format!(
            "{:02}{:02}{:02}{:02}{:02}{:02}Z",
            c.year % 100,
            c.month,
            c.day,
            c.hour,
            c.min,
            c.sec
        );
        tlv(0x17, s.as_bytes())
    } else {
        let s = format!(
            "{:04}{:02}{:02}{:02}{:02}{:02}Z",
            c.year, c.month, c.day, c.hour, c.min, c.sec
        );
        tlv(0x18, s.as_bytes())
    }
}

/// What to put in one certificate.
pub struct CertSpec<'a> {
    pub subject_cn: &'a str,
    pub subject_o: Option<&'a str>,
    pub issuer_cn: &'a str,
    pub not_before: i64,
    pub not_after: i64,
    pub is_ca: bool,
}

/// DER of one certificate; `rng` supplies the serial and the (meaningless) signature.
pub fn cert_der(spec: &CertSpec<'_>, rng: &mut Rng) -> Vec<u8> {
    let mut serial = [0u8; 16];
    rng.fill(&mut serial);
    serial[0] = (serial[0] & 0x3F) | 0x01;
    let alg = seq(&[&tlv(0x06, OID_ECDSA_SHA256)]);
    let mut bitstring = vec![0u8];
    bitstring.extend_from_slice(&P256_G);
    let spki = seq(&[
        &seq(&[&tlv(0x06, OID_EC_PUBLIC_KEY), &tlv(0x06, OID_PRIME256V1)]),
        &tlv(0x03, &bitstring),
    ]);
    let mut bc_value = Vec::new();
    if spec.is_ca {
        bc_value.extend(tlv(0x01, &[0xFF]));
    }
    let basic_constraints = seq(&[
        &tlv(0x06, OID_BASIC_CONSTRAINTS),
        &tlv(0x01, &[0xFF]),
        &tlv(0x04, &seq(&[&bc_value])),
    ]);
    let extensions = tlv(0xA3, &seq(&[&basic_constraints]));
    let tbs = seq(&[
        &tlv(0xA0, &uint(&[2])),
        &uint(&serial),
        &alg,
        &name(spec.issuer_cn, None),
        &seq(&[&time(spec.not_before), &time(spec.not_after)]),
        &name(spec.subject_cn, spec.subject_o),
        &spki,
        &extensions,
    ]);
    let mut r = [0u8; 32];
    let mut s = [0u8; 32];
    rng.fill(&mut r);
    rng.fill(&mut s);
    r[0] |= 0x01;
    s[0] |= 0x01;
    let mut sig = vec![0u8];
    sig.extend(seq(&[&uint(&r), &uint(&s)]));
    seq(&[&tbs, &alg, &tlv(0x03, &sig)])
}

/// Standard base64 with padding.
pub fn base64(data: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = u32::from(b[0]) << 16 | u32::from(b[1]) << 8 | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(T[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// PEM armour with 64-column lines.
pub fn pem(label: &str, der: &[u8]) -> String {
    let b64 = base64(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for line in b64.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(line).unwrap_or_default());
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

/// SEC1 `EC PRIVATE KEY` for scalar 1 on P-256 (matches every certificate made here).
pub fn ec_private_key_pem() -> String {
    let mut scalar = [0u8; 32];
    scalar[31] = 1;
    let mut pubkey = vec![0u8];
    pubkey.extend_from_slice(&P256_G);
    let der = seq(&[
        &tlv(0x02, &[1]),
        &tlv(0x04, &scalar),
        &tlv(0xA0, &tlv(0x06, OID_PRIME256V1)),
        &tlv(0xA1, &tlv(0x03, &pubkey)),
    ]);
    pem("EC PRIVATE KEY", &der)
}

/// PEM of a certificate.
pub fn cert_pem(spec: &CertSpec<'_>, rng: &mut Rng) -> String {
    pem("CERTIFICATE", &cert_der(spec, rng))
}

/// Where `certs` mode puts the files below its output directory, so that the directory is also a
/// node-snapshot-shaped input (host paths under a root) for `harrow certs DIR`.
pub const CERT_SUBDIR: &str = "var/lib/rancher/rke2/server/tls/bench";

/// `certs` mode: `count` PEM certificate files `DIR/<CERT_SUBDIR>/cert-NNNNNN.crt`, leaves of a
/// few CAs, with expiry dates spread from two years before to ten years after the bundle date.
/// File i is the same in every run, so a small sample is a prefix of a big set.
pub fn write_cert_dir(root: &Path, count: u64) -> io::Result<()> {
    let dir = root.join(CERT_SUBDIR);
    std::fs::create_dir_all(&dir)?;
    let base = crate::clock::BUNDLE_CREATED;
    for i in 0..count {
        let mut rng = Rng::new(0xCE27, i);
        let cn = format!("svc-{i}.harvester-system.svc");
        let issuer = format!("rke2-server-ca@{}", 1_700_000_000 + i % 7);
        let not_after = base - 2 * 365 * 86_400 + rng.below(12 * 365 * 86_400) as i64;
        let spec = CertSpec {
            subject_cn: &cn,
            subject_o: if i % 3 == 0 {
                Some("system:nodes")
            } else {
                None
            },
            issuer_cn: &issuer,
            not_before: not_after - 365 * 86_400,
            not_after,
            is_ca: i % 50 == 0,
        };
        let path = dir.join(format!("cert-{i:06}.crt"));
        let mut f = io::BufWriter::new(std::fs::File::create(path)?);
        f.write_all(cert_pem(&spec, &mut rng).as_bytes())?;
        f.flush()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_padding() {
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
    }

    #[test]
    fn long_lengths_use_long_form() {
        let v = tlv(0x04, &[0u8; 300]);
        assert_eq!(&v[..4], &[0x04, 0x82, 0x01, 0x2C]);
    }
}
