//! Private and public keys: PKCS#1 RSA, PKCS#8 (RSA, EC P-256/P-384, Ed25519), SEC1
//! `EC PRIVATE KEY`, `PUBLIC KEY` / `RSA PUBLIC KEY`, several keys per file in order, and
//! `.pub-fingerprint` files.
//!
//! For each private key only the public half survives: the SubjectPublicKeyInfo DER is derived
//! (RSA: modulus and exponent wrapped with the rsaEncryption OID and NULL parameters; EC: the
//! uncompressed point with the named-curve OID; Ed25519: the 32-byte point) and hashed, so
//! `key.spki_sha256 == cert.spki_sha256` is the pairing test. Private bytes live in zeroizing
//! buffers and are dropped before this module returns. Encrypted and OpenSSH keys are reported
//! with [`KeyStatus::NotParsed`], not as errors.

use pkcs8::der::asn1::{AnyRef, BitStringRef, ObjectIdentifier, OctetStringRef};
use pkcs8::der::{Decode, Encode};
use pkcs8::spki::{AlgorithmIdentifier, SubjectPublicKeyInfo};
use zeroize::Zeroizing;

use super::cert::{KeyAlgorithm, uint_bits};
use super::{PkiError, pem, sha256_hex};

const OID_RSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");
const OID_EC: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
const OID_P256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");
const OID_P384: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.34");
const OID_ED25519: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.101.112");

/// The encoding a key was found in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyFormat {
    /// `RSA PRIVATE KEY` (PKCS#1).
    Pkcs1,
    /// `PRIVATE KEY` (PKCS#8).
    Pkcs8,
    /// `EC PRIVATE KEY` (SEC1).
    Sec1,
    /// `ENCRYPTED PRIVATE KEY` (PKCS#8, encrypted).
    EncryptedPkcs8,
    /// A traditional key with `Proc-Type: 4,ENCRYPTED`.
    LegacyEncrypted,
    /// `OPENSSH PRIVATE KEY`.
    OpenSsh,
    /// `PUBLIC KEY` (SubjectPublicKeyInfo).
    Spki,
    /// `RSA PUBLIC KEY` (PKCS#1).
    Pkcs1Public,
    /// Another private key label (`DSA PRIVATE KEY`, …).
    Other,
}

/// Whether the key's public half could be derived.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyStatus {
    Parsed,
    /// Present but not read (encrypted, OpenSSH, unsupported algorithm): the reason.
    NotParsed(String),
}

/// One key of a key file. Holds only public material.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyInfo {
    /// Position among the keys of the file, from 0 (non-key blocks are not counted).
    pub index: usize,
    /// The PEM label, or `DER`.
    pub label: String,
    pub format: KeyFormat,
    /// A private key (as opposed to a public key).
    pub private: bool,
    pub status: KeyStatus,
    pub algorithm: Option<KeyAlgorithm>,
    pub bits: Option<u32>,
    /// DER of the derived SubjectPublicKeyInfo.
    pub spki_der: Option<Vec<u8>>,
    /// SHA-256 of `spki_der`, lowercase hex.
    pub spki_sha256: Option<String>,
}

impl KeyInfo {
    fn parsed(
        index: usize,
        label: &str,
        format: KeyFormat,
        private: bool,
        derived: Derived,
    ) -> Self {
        KeyInfo {
            index,
            label: label.to_string(),
            format,
            private,
            status: KeyStatus::Parsed,
            algorithm: Some(derived.algorithm),
            bits: derived.bits,
            spki_sha256: Some(sha256_hex(&derived.spki_der)),
            spki_der: Some(derived.spki_der),
        }
    }

    fn not_parsed(index: usize, label: &str, format: KeyFormat, reason: &str) -> Self {
        KeyInfo {
            index,
            label: label.to_string(),
            format,
            private: !label.contains("PUBLIC"),
            status: KeyStatus::NotParsed(reason.to_string()),
            algorithm: None,
            bits: None,
            spki_der: None,
            spki_sha256: None,
        }
    }
}

struct Derived {
    algorithm: KeyAlgorithm,
    bits: Option<u32>,
    spki_der: Vec<u8>,
}

/// Every key in `data`, in file order: PEM blocks (non-key blocks such as `CERTIFICATE` or
/// `EC PARAMETERS` skipped), or one DER key (PKCS#8, PKCS#1, SEC1 or SubjectPublicKeyInfo).
/// A key that is present but malformed is an error; an encrypted or OpenSSH key is not.
pub fn parse_keys(data: &[u8]) -> Result<Vec<KeyInfo>, PkiError> {
    if !pem::looks_like_pem(data) {
        if data.is_empty() {
            return Err(PkiError::Empty("key"));
        }
        return Ok(vec![parse_der_key(data)?]);
    }
    let mut out = Vec::new();
    for block in pem::parse_blocks(data)? {
        let index = out.len();
        let label = block.label.as_str();
        let format = match label {
            "RSA PRIVATE KEY" => KeyFormat::Pkcs1,
            "PRIVATE KEY" => KeyFormat::Pkcs8,
            "EC PRIVATE KEY" => KeyFormat::Sec1,
            "ENCRYPTED PRIVATE KEY" => KeyFormat::EncryptedPkcs8,
            "OPENSSH PRIVATE KEY" => KeyFormat::OpenSsh,
            "PUBLIC KEY" => KeyFormat::Spki,
            "RSA PUBLIC KEY" => KeyFormat::Pkcs1Public,
            l if l.ends_with("PRIVATE KEY") => KeyFormat::Other,
            _ => continue,
        };
        if block.encrypted {
            out.push(KeyInfo::not_parsed(
                index,
                label,
                KeyFormat::LegacyEncrypted,
                "encrypted (Proc-Type: 4,ENCRYPTED)",
            ));
            continue;
        }
        let der = match (&block.der, format) {
            (_, KeyFormat::EncryptedPkcs8) => {
                out.push(KeyInfo::not_parsed(
                    index,
                    label,
                    format,
                    "encrypted PKCS#8",
                ));
                continue;
            }
            (_, KeyFormat::OpenSsh) => {
                out.push(KeyInfo::not_parsed(
                    index,
                    label,
                    format,
                    "OpenSSH key format",
                ));
                continue;
            }
            (_, KeyFormat::Other) => {
                out.push(KeyInfo::not_parsed(
                    index,
                    label,
                    format,
                    "unsupported key type",
                ));
                continue;
            }
            (Some(der), _) => der,
            (None, _) => {
                out.push(KeyInfo::not_parsed(
                    index,
                    label,
                    format,
                    "PEM headers present",
                ));
                continue;
            }
        };
        let key = match format {
            KeyFormat::Pkcs1 => {
                derive_pkcs1(der).map(|d| KeyInfo::parsed(index, label, format, true, d))
            }
            KeyFormat::Pkcs8 => derive_pkcs8(der).map(|r| match r {
                Ok(d) => KeyInfo::parsed(index, label, format, true, d),
                Err(reason) => KeyInfo::not_parsed(index, label, format, &reason),
            }),
            KeyFormat::Sec1 => derive_sec1(der, None).map(|r| match r {
                Ok(d) => KeyInfo::parsed(index, label, format, true, d),
                Err(reason) => KeyInfo::not_parsed(index, label, format, &reason),
            }),
            KeyFormat::Spki => {
                public_spki(der).map(|d| KeyInfo::parsed(index, label, format, false, d))
            }
            KeyFormat::Pkcs1Public => {
                public_pkcs1(der).map(|d| KeyInfo::parsed(index, label, format, false, d))
            }
            _ => continue,
        }?;
        out.push(key);
    }
    if out.is_empty() {
        return Err(PkiError::Empty("key"));
    }
    Ok(out)
}

fn parse_der_key(der: &[u8]) -> Result<KeyInfo, PkiError> {
    if let Ok(r) = derive_pkcs8(der) {
        return Ok(match r {
            Ok(d) => KeyInfo::parsed(0, "DER", KeyFormat::Pkcs8, true, d),
            Err(reason) => KeyInfo::not_parsed(0, "DER", KeyFormat::Pkcs8, &reason),
        });
    }
    if let Ok(d) = derive_pkcs1(der) {
        return Ok(KeyInfo::parsed(0, "DER", KeyFormat::Pkcs1, true, d));
    }
    if let Ok(Ok(d)) = derive_sec1(der, None) {
        return Ok(KeyInfo::parsed(0, "DER", KeyFormat::Sec1, true, d));
    }
    if let Ok(d) = public_spki(der) {
        return Ok(KeyInfo::parsed(0, "DER", KeyFormat::Spki, false, d));
    }
    Err(PkiError::der(
        "key",
        "not PKCS#8, PKCS#1, SEC1 or SubjectPublicKeyInfo DER",
    ))
}

fn encode_spki(
    oid: ObjectIdentifier,
    params: Option<AnyRef<'_>>,
    key: &[u8],
) -> Result<Vec<u8>, PkiError> {
    let spki = SubjectPublicKeyInfo {
        algorithm: AlgorithmIdentifier {
            oid,
            parameters: params,
        },
        subject_public_key: BitStringRef::from_bytes(key)
            .map_err(|e| PkiError::der("public key", e))?,
    };
    spki.to_der().map_err(|e| PkiError::der("public key", e))
}

fn rsa_spki(public: &pkcs1::RsaPublicKeyRef<'_>) -> Result<Derived, PkiError> {
    let pkcs1_der = public
        .to_der()
        .map_err(|e| PkiError::der("RSA public key", e))?;
    Ok(Derived {
        algorithm: KeyAlgorithm::Rsa,
        bits: Some(uint_bits(public.modulus.as_bytes())),
        spki_der: encode_spki(OID_RSA, Some(AnyRef::NULL), &pkcs1_der)?,
    })
}

fn derive_pkcs1(der: &[u8]) -> Result<Derived, PkiError> {
    let key =
        pkcs1::RsaPrivateKeyRef::from_der(der).map_err(|e| PkiError::der("RSA private key", e))?;
    rsa_spki(&key.public_key())
}

fn public_pkcs1(der: &[u8]) -> Result<Derived, PkiError> {
    let key =
        pkcs1::RsaPublicKeyRef::from_der(der).map_err(|e| PkiError::der("RSA public key", e))?;
    rsa_spki(&key)
}

/// Outer `Err`: malformed. Inner `Err`: well-formed but an algorithm not derived here.
fn derive_pkcs8(der: &[u8]) -> Result<Result<Derived, String>, PkiError> {
    let info = pkcs8::PrivateKeyInfoRef::from_der(der)
        .map_err(|e| PkiError::der("PKCS#8 private key", e))?;
    let inner = info.private_key.as_bytes();
    let oid = info.algorithm.oid;
    if oid == OID_RSA {
        derive_pkcs1(inner).map(Ok)
    } else if oid == OID_EC {
        let curve = info
            .algorithm
            .parameters
            .and_then(|p| p.decode_as::<ObjectIdentifier>().ok());
        derive_sec1(inner, curve)
    } else if oid == OID_ED25519 {
        let seed = <&OctetStringRef>::from_der(inner)
            .map_err(|e| PkiError::der("Ed25519 private key", e))?;
        let seed: Zeroizing<[u8; 32]> = Zeroizing::new(
            seed.as_bytes()
                .try_into()
                .map_err(|_| PkiError::der("Ed25519 private key", "seed is not 32 bytes"))?,
        );
        let signing = ed25519_dalek::SigningKey::from_bytes(&seed);
        let public = signing.verifying_key().to_bytes();
        drop(signing);
        Ok(Ok(Derived {
            algorithm: KeyAlgorithm::Ed25519,
            bits: Some(256),
            spki_der: encode_spki(OID_ED25519, None, &public)?,
        }))
    } else {
        Ok(Err(format!("unsupported PKCS#8 algorithm {oid}")))
    }
}

/// SEC1 `ECPrivateKey`; `outer_curve` is the curve named by an enclosing PKCS#8 structure.
fn derive_sec1(
    der: &[u8],
    outer_curve: Option<ObjectIdentifier>,
) -> Result<Result<Derived, String>, PkiError> {
    let key = sec1::EcPrivateKey::from_der(der).map_err(|e| PkiError::der("EC private key", e))?;
    let curve = key
        .parameters
        .and_then(|p| p.named_curve())
        .or(outer_curve)
        .or(match key.private_key.len() {
            32 => Some(OID_P256),
            48 => Some(OID_P384),
            _ => None,
        });
    let (algorithm, bits, point): (KeyAlgorithm, u32, Box<[u8]>) = match curve {
        Some(c) if c == OID_P256 => {
            // The public key the file carries (Go and OpenSSL write it), accepted only when
            // ring derives the same one from the private scalar (its constant-time assembly is
            // several times faster than deriving here); else derived.
            let embedded = key.public_key.filter(|p| {
                p.len() == 65
                    && ring::signature::EcdsaKeyPair::from_private_key_and_public_key(
                        &ring::signature::ECDSA_P256_SHA256_ASN1_SIGNING,
                        key.private_key,
                        p,
                        &ring::rand::SystemRandom::new(),
                    )
                    .is_ok()
            });
            let point: Box<[u8]> = match embedded {
                Some(p) => p.into(),
                None => p256::SecretKey::from_slice(key.private_key)
                    .map_err(|_| PkiError::der("EC private key", "invalid P-256 scalar"))?
                    .public_key()
                    .to_sec1_bytes(),
            };
            (KeyAlgorithm::EcdsaP256, 256, point)
        }
        Some(c) if c == OID_P384 => {
            let sk = p384::SecretKey::from_slice(key.private_key)
                .map_err(|_| PkiError::der("EC private key", "invalid P-384 scalar"))?;
            (
                KeyAlgorithm::EcdsaP384,
                384,
                sk.public_key().to_sec1_bytes(),
            )
        }
        Some(c) => return Ok(Err(format!("unsupported EC curve {c}"))),
        None => return Ok(Err("EC curve unknown".to_string())),
    };
    let curve_der = curve
        .unwrap_or(OID_P256)
        .to_der()
        .map_err(|e| PkiError::der("EC curve", e))?;
    let curve_any = AnyRef::from_der(&curve_der).map_err(|e| PkiError::der("EC curve", e))?;
    Ok(Ok(Derived {
        algorithm,
        bits: Some(bits),
        spki_der: encode_spki(OID_EC, Some(curve_any), &point)?,
    }))
}

fn public_spki(der: &[u8]) -> Result<Derived, PkiError> {
    use x509_parser::prelude::FromDer;
    let (rest, spki) = x509_parser::x509::SubjectPublicKeyInfo::from_der(der)
        .map_err(|e| PkiError::der("public key", e))?;
    let raw = &der[..der.len() - rest.len()];
    let alg = spki.algorithm.algorithm.to_id_string();
    let curve = spki
        .algorithm
        .parameters
        .as_ref()
        .and_then(|p| p.as_oid().ok())
        .map(|o| o.to_id_string());
    let algorithm = KeyAlgorithm::from_oids(&alg, curve.as_deref());
    let bits = match &algorithm {
        KeyAlgorithm::Rsa => match spki.parsed() {
            Ok(x509_parser::public_key::PublicKey::RSA(r)) => Some(uint_bits(r.modulus)),
            _ => None,
        },
        KeyAlgorithm::EcdsaP256 | KeyAlgorithm::Ed25519 => Some(256),
        KeyAlgorithm::EcdsaP384 => Some(384),
        _ => None,
    };
    Ok(Derived {
        algorithm,
        bits,
        spki_der: raw.to_vec(),
    })
}

/// The lines of a `.pub-fingerprint` file, in order: the SHA-256 hex of each key's
/// SubjectPublicKeyInfo, lowercased, with an optional `sha256:` prefix removed. Blank lines and
/// `#` comments are skipped; anything else that is not 64 hex digits is an error naming the line.
pub fn parse_pub_fingerprints(data: &[u8]) -> Result<Vec<String>, PkiError> {
    let text = String::from_utf8_lossy(data);
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let token = line.split_whitespace().next().unwrap_or("");
        let token = token
            .strip_prefix("sha256:")
            .or_else(|| token.strip_prefix("SHA256:"))
            .unwrap_or(token);
        if token.len() != 64 || !token.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(PkiError::Fingerprint { line: i + 1 });
        }
        out.push(token.to_ascii_lowercase());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    #[test]
    fn an_embedded_public_key_that_does_not_match_the_private_key_is_not_believed() {
        use sec1::der::Encode as _;
        let public = |scalar: &[u8; 32]| {
            p256::SecretKey::from_slice(scalar)
                .unwrap()
                .public_key()
                .to_sec1_bytes()
        };
        let (one, two) = ([1u8; 32], [2u8; 32]);
        let key = |public_of: &[u8]| {
            sec1::EcPrivateKey {
                private_key: &one,
                parameters: None,
                public_key: Some(public_of),
            }
            .to_der()
            .unwrap()
        };
        let truth = derive_sec1(&key(&public(&one)), Some(OID_P256))
            .unwrap()
            .unwrap();
        let lying = derive_sec1(&key(&public(&two)), Some(OID_P256))
            .unwrap()
            .unwrap();
        assert_eq!(
            lying.spki_der, truth.spki_der,
            "the public key is the private key's"
        );
        let derived = derive_sec1(
            &sec1::EcPrivateKey {
                private_key: &one,
                parameters: None,
                public_key: None,
            }
            .to_der()
            .unwrap(),
            Some(OID_P256),
        )
        .unwrap()
        .unwrap();
        assert_eq!(derived.spki_der, truth.spki_der);
    }

    use super::*;

    #[test]
    fn fingerprint_file_lines() {
        let fp = "AB".repeat(32);
        let data = format!(
            "# keys\n\nsha256:{fp}\n{}  service.key#1\n",
            "cd".repeat(32)
        );
        let v = parse_pub_fingerprints(data.as_bytes()).unwrap();
        assert_eq!(v, vec!["ab".repeat(32), "cd".repeat(32)]);
        assert_eq!(
            parse_pub_fingerprints(b"nothex\n"),
            Err(PkiError::Fingerprint { line: 1 })
        );
    }

    #[test]
    fn garbage_der_is_an_error() {
        assert!(parse_keys(b"\x30\x03\x02\x01\x00").is_err());
        assert!(parse_keys(b"").is_err());
    }
}
