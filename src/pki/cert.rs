//! Certificates and CSRs: parsing from PEM (many per file) or DER into [`Cert`], signature
//! verification between two certificates, and the chain status of a certificate against a set of
//! candidate issuers.
//!
//! Subjects and issuers are rendered like Go's `pkix.Name.String()` (RFC 4514 order, last RDN
//! first, `CN=…,O=…`), which is what `rke2 certificate check` and its logs print. Usages follow
//! `rke2 certificate check`: `CertSign` from KeyUsage, `ServerAuth`/`ClientAuth` from the EKU.

use std::collections::HashMap;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::ops::Range;
use std::sync::Arc;

use ring::signature as ring_sig;

use time::OffsetDateTime;
use x509_parser::certificate::X509Certificate;
use x509_parser::certification_request::X509CertificationRequest;
use x509_parser::error::X509Error;
use x509_parser::extensions::{GeneralName, ParsedExtension};
use x509_parser::prelude::FromDer;
use x509_parser::public_key::PublicKey;
use x509_parser::x509::{SubjectPublicKeyInfo, X509Name};

use super::{PkiError, pem, sha256_hex};

const OID_RSA: &str = "1.2.840.113549.1.1.1";
const OID_RSA_PSS: &str = "1.2.840.113549.1.1.10";
const OID_EC: &str = "1.2.840.10045.2.1";
const OID_P256: &str = "1.2.840.10045.3.1.7";
const OID_P384: &str = "1.3.132.0.34";
const OID_P521: &str = "1.3.132.0.35";
const OID_ED25519: &str = "1.3.101.112";
const OID_ED448: &str = "1.3.101.113";

/// The algorithm of a public key, as the analysis names it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum KeyAlgorithm {
    Rsa,
    RsaPss,
    EcdsaP256,
    EcdsaP384,
    EcdsaP521,
    Ed25519,
    Ed448,
    /// An EC key on another curve; the curve OID.
    EcdsaOther(Box<str>),
    /// Anything else; the algorithm OID.
    Other(Box<str>),
}

impl KeyAlgorithm {
    /// The name used in reports: `rsa`, `ecdsa-p256`, `ed25519`, …
    pub fn as_str(&self) -> &str {
        match self {
            KeyAlgorithm::Rsa => "rsa",
            KeyAlgorithm::RsaPss => "rsa-pss",
            KeyAlgorithm::EcdsaP256 => "ecdsa-p256",
            KeyAlgorithm::EcdsaP384 => "ecdsa-p384",
            KeyAlgorithm::EcdsaP521 => "ecdsa-p521",
            KeyAlgorithm::Ed25519 => "ed25519",
            KeyAlgorithm::Ed448 => "ed448",
            KeyAlgorithm::EcdsaOther(_) => "ecdsa-other",
            KeyAlgorithm::Other(_) => "other",
        }
    }

    /// From the SubjectPublicKeyInfo algorithm OID and, for EC keys, the curve OID.
    pub(crate) fn from_oids(alg: &str, curve: Option<&str>) -> Self {
        match alg {
            OID_RSA => KeyAlgorithm::Rsa,
            OID_RSA_PSS => KeyAlgorithm::RsaPss,
            OID_ED25519 => KeyAlgorithm::Ed25519,
            OID_ED448 => KeyAlgorithm::Ed448,
            OID_EC => match curve {
                Some(OID_P256) => KeyAlgorithm::EcdsaP256,
                Some(OID_P384) => KeyAlgorithm::EcdsaP384,
                Some(OID_P521) => KeyAlgorithm::EcdsaP521,
                Some(c) => KeyAlgorithm::EcdsaOther(c.into()),
                None => KeyAlgorithm::EcdsaOther("".into()),
            },
            other => KeyAlgorithm::Other(other.into()),
        }
    }
}

impl fmt::Display for KeyAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A usage as `rke2 certificate check` lists it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Usage {
    CertSign,
    ServerAuth,
    ClientAuth,
}

impl Usage {
    pub fn as_str(self) -> &'static str {
        match self {
            Usage::CertSign => "CertSign",
            Usage::ServerAuth => "ServerAuth",
            Usage::ClientAuth => "ClientAuth",
        }
    }
}

/// One parsed certificate. Holds only public material.
#[derive(Clone, PartialEq, Eq)]
pub struct Cert {
    /// One allocation (100,000 certificates pay for one each, not fifteen): the certificate's
    /// DER ([`Cert::der`]), then the SHA-256 of its SubjectPublicKeyInfo (32 bytes), then every
    /// text field one after the other ([`Text`], [`Cert::text`]), then where each text part ends
    /// (offsets into the text, little-endian, `u16` unless `wide_ends`: the [`Text`] fields in
    /// order, then the DNS, IP and other SANs).
    data: Box<[u8]>,
    /// Length of the DER at the start of `data`.
    der_len: u32,
    /// Length of the text after the key hash.
    text_len: u32,
    /// Which optional [`Text`] fields are present (bit = the field's index).
    present: u16,
    /// The ends are `u32` (a text over 64 KiB: thousands of SANs).
    wide_ends: bool,
    /// The signature algorithm's name: `SIG_NAMES[sig_name - 1]`, or the text part when 0 (an
    /// OID this crate does not name).
    sig_name: u8,
    /// The subject's and the issuer's first common name as a start and length in the subject
    /// or issuer text, when the name's text holds it (as a `CN=` value usually does); otherwise
    /// `NO_ALIAS` and the common name is a text part of its own.
    cn_alias: [u16; 4],
    /// How many DNS and IP SANs there are (the rest of `ends` are the other SANs).
    dns_count: u32,
    ip_count: u32,
    /// Where the raw DER of the subject and issuer names lie in the DER (for exact matching:
    /// [`Cert::subject_der`], [`Cert::issuer_der`]).
    subject_at: Range<u32>,
    issuer_at: Range<u32>,
    /// Where the serial number's content bytes, the SubjectKeyIdentifier and the
    /// AuthorityKeyIdentifier key id lie in the DER (rendered as hex when asked).
    serial_at: Range<u32>,
    ski_at: Span,
    aki_at: Span,
    pub not_before: OffsetDateTime,
    pub not_after: OffsetDateTime,
    /// X.509 version (1, 2 or 3).
    pub version: u8,
    /// BasicConstraints CA flag.
    pub is_ca: bool,
    /// Whether a BasicConstraints extension is present.
    pub has_basic_constraints: bool,
    /// `CertSign`, `ServerAuth`, `ClientAuth` as bits (1 << the usage's position).
    usage_bits: u8,
    pub path_len: Option<u32>,
    /// Raw KeyUsage flags when the extension is present.
    pub key_usage: Option<u16>,
    pub key_algorithm: KeyAlgorithm,
    pub key_bits: Option<u32>,
    /// Where the DER of the SubjectPublicKeyInfo lies in `der` ([`Cert::spki_der`]).
    spki_at: Range<u32>,
    /// What [`verify`] needs, located once at parse time so a check does not re-parse the DER.
    sig: SigParts,
}

/// The text fields of a [`Cert`], in the order they are stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Text {
    /// SHA-256 of the DER, lowercase hex.
    Fingerprint,
    /// Subject as `CN=…,O=…` (RFC 4514 order).
    Subject,
    /// Issuer as `CN=…,O=…` (RFC 4514 order).
    Issuer,
    /// The subject's first common name (optional).
    SubjectCn,
    /// The issuer's first common name (optional).
    IssuerCn,
    /// Signature algorithm name when not in `SIG_NAMES` (the OID, dotted).
    SignatureAlgorithm,
}

/// How many [`Text`] fields there are (the SANs follow them in the ends of `Cert::data`).
const TEXT_FIELDS: usize = 6;

/// A common name that is a text part of its own ([`Cert`]'s `cn_alias`).
const NO_ALIAS: u16 = u16::MAX;

/// Length of the SubjectPublicKeyInfo hash after the DER in `Cert::data`.
const SPKI_HASH: usize = 32;

/// A range of the DER, or none: 8 bytes where an `Option<Range<u32>>` takes 12 (five per
/// certificate).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Span(Range<u32>);

impl Span {
    const NONE: Span = Span(u32::MAX..u32::MAX);

    fn new(r: Option<Range<u32>>) -> Self {
        r.filter(|r| r.start != u32::MAX).map_or(Span::NONE, Span)
    }

    fn as_ref(&self) -> Option<&Range<u32>> {
        (self.0.start != u32::MAX).then_some(&self.0)
    }

    fn is_some(&self) -> bool {
        self.as_ref().is_some()
    }
}

impl Default for Span {
    fn default() -> Self {
        Span::NONE
    }
}

/// The usages in the order of their bits in `Cert::usage_bits`.
const USAGES: [Usage; 3] = [Usage::CertSign, Usage::ServerAuth, Usage::ClientAuth];

/// Builds the text of a [`Cert`] part by part.
#[derive(Default)]
struct TextBuilder {
    text: String,
    ends: Vec<u32>,
    present: u16,
}

impl TextBuilder {
    /// Whether the ends need `u32`s.
    fn wide(&self) -> bool {
        self.text.len() > usize::from(u16::MAX)
    }

    /// `der`, the key hash, the text and its ends in one allocation of the exact size
    /// (`Cert::data`).
    fn data(&self, der: &[u8], spki_hash: &[u8; SPKI_HASH]) -> Box<[u8]> {
        let wide = self.wide();
        let width = if wide { 4 } else { 2 };
        let mut data =
            Vec::with_capacity(der.len() + SPKI_HASH + self.text.len() + width * self.ends.len());
        data.extend_from_slice(der);
        data.extend_from_slice(spki_hash);
        data.extend_from_slice(self.text.as_bytes());
        for &e in &self.ends {
            if wide {
                data.extend_from_slice(&e.to_le_bytes());
            } else {
                data.extend_from_slice(&u16::try_from(e).unwrap_or(u16::MAX).to_le_bytes());
            }
        }
        data.into_boxed_slice()
    }

    fn push(&mut self, s: &str) {
        self.text.push_str(s);
        // A certificate is far below 4 GiB of text; saturate rather than wrap.
        self.ends
            .push(u32::try_from(self.text.len()).unwrap_or(u32::MAX));
    }

    fn field(&mut self, f: Text, s: &str) {
        debug_assert_eq!(self.ends.len(), f as usize);
        self.present |= 1 << f as usize;
        self.push(s);
    }

    /// An optional field: `present` says whether the certificate has it, `s` is its text when
    /// it is stored here (not an alias into another part).
    fn optional(&mut self, f: Text, present: bool, s: Option<&str>) {
        debug_assert_eq!(self.ends.len(), f as usize);
        if present {
            self.present |= 1 << f as usize;
        }
        if let Some(s) = s {
            self.text.push_str(s);
        }
        self.ends
            .push(u32::try_from(self.text.len()).unwrap_or(u32::MAX));
    }
}

/// The outer signature algorithm of a certificate as the verifier ([`x509_parser`]'s `verify`
/// over ring) dispatches on it: by OID only, parameters ignored (except for RSA-PSS, which goes
/// through x509-parser itself).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum SigAlg {
    RsaSha1,
    RsaSha256,
    RsaSha384,
    RsaSha512,
    EcdsaSha256,
    EcdsaSha384,
    Ed25519,
    /// Anything else (RSA-PSS, unsupported algorithms): checked through x509-parser.
    #[default]
    Other,
}

/// The named curve in a SubjectPublicKeyInfo's algorithm parameters (whatever the algorithm OID,
/// as x509-parser looks at it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum KeyCurve {
    P256,
    P384,
    #[default]
    Other,
}

/// The parts of a certificate signature checks use, in both roles (child and issuer).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
struct SigParts {
    /// The TBSCertificate bytes, as a range of `der`; none sends checks to x509-parser.
    tbs: Span,
    /// The signatureValue BIT STRING contents, as a range of `der` (none: x509-parser).
    signature: Span,
    alg: SigAlg,
    /// The subjectPublicKey BIT STRING contents (when acting as issuer), as a range of `der`
    /// (none: x509-parser).
    public_key: Span,
    curve: KeyCurve,
}

impl fmt::Debug for Cert {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Cert")
            .field("subject", &self.subject())
            .field("issuer", &self.issuer())
            .field("serial", &self.serial())
            .field("not_before", &self.not_before)
            .field("not_after", &self.not_after)
            .field("is_ca", &self.is_ca)
            .field("key_algorithm", &self.key_algorithm)
            .field("fingerprint_sha256", &self.fingerprint_sha256())
            .finish_non_exhaustive()
    }
}

impl Cert {
    /// The certificate's DER.
    pub fn der(&self) -> &[u8] {
        self.data.get(..self.der_len as usize).unwrap_or(&[])
    }

    /// Where the text starts in `data`.
    fn text_at(&self) -> usize {
        self.der_len as usize + SPKI_HASH
    }

    /// Where the ends of the text parts start in `data`.
    fn ends_at(&self) -> usize {
        self.text_at() + self.text_len as usize
    }

    /// Bytes per end.
    fn end_width(&self) -> usize {
        if self.wide_ends { 4 } else { 2 }
    }

    /// How many text parts there are.
    fn parts(&self) -> usize {
        self.data.len().saturating_sub(self.ends_at()) / self.end_width()
    }

    /// Where text part `i` ends in the text.
    fn end(&self, i: usize) -> Option<usize> {
        let w = self.end_width();
        let at = self.ends_at() + i * w;
        let b = self.data.get(at..at + w)?;
        Some(match *b {
            [b0, b1] => usize::from(u16::from_le_bytes([b0, b1])),
            [b0, b1, b2, b3] => u32::from_le_bytes([b0, b1, b2, b3]) as usize,
            _ => return None,
        })
    }

    /// Text part `i` (a [`Text`] field's index, or a SAN's after them).
    fn text(&self, i: usize) -> &str {
        let start = match i {
            0 => 0,
            _ => self.end(i - 1).unwrap_or(0),
        };
        let end = self.end(i).unwrap_or(start);
        self.text_range(start..end)
    }

    /// The text at `r` ("" when out of range or not on a character boundary).
    fn text_range(&self, r: Range<usize>) -> &str {
        let base = self.text_at();
        self.data
            .get(base + r.start..base + r.end)
            .and_then(|b| std::str::from_utf8(b).ok())
            .unwrap_or("")
    }

    /// A common name: inside its name's text (`cn_alias` at `at`), or its own text part.
    fn cn(&self, f: Text, name: Text, at: usize) -> Option<&str> {
        if self.present & (1 << f as usize) == 0 {
            return None;
        }
        let (start, len) = (self.cn_alias[at], self.cn_alias[at + 1]);
        if start == NO_ALIAS {
            return Some(self.text(f as usize));
        }
        let name_start = (name as usize)
            .checked_sub(1)
            .and_then(|i| self.end(i))
            .unwrap_or(0);
        let from = name_start + usize::from(start);
        Some(self.text_range(from..from + usize::from(len)))
    }

    /// A part of the DER as lowercase hex.
    fn hex_at(&self, at: &Range<u32>) -> String {
        super::hex_lower(part(self.der(), at))
    }

    /// SHA-256 of the DER, lowercase hex.
    pub fn fingerprint_sha256(&self) -> &str {
        self.text(Text::Fingerprint as usize)
    }

    /// A copy of this certificate that names itself by `fp` instead of its real fingerprint
    /// (tests that need many distinct inventory keys without generating as many certificates).
    #[cfg(test)]
    pub(crate) fn with_fingerprint(&self, fp: &str) -> Cert {
        let mut b = TextBuilder::default();
        b.field(Text::Fingerprint, fp);
        for i in 1..self.parts() {
            b.push(self.text(i));
        }
        b.present = self.present;
        Cert {
            data: b.data(self.der(), &self.spki_hash()),
            wide_ends: b.wide(),
            text_len: u32::try_from(b.text.len()).unwrap(),
            ..self.clone()
        }
    }

    /// Subject as `CN=…,O=…` (RFC 4514 order).
    pub fn subject(&self) -> &str {
        self.text(Text::Subject as usize)
    }

    /// Issuer as `CN=…,O=…` (RFC 4514 order).
    pub fn issuer(&self) -> &str {
        self.text(Text::Issuer as usize)
    }

    /// The subject's first common name.
    pub fn subject_cn(&self) -> Option<&str> {
        self.cn(Text::SubjectCn, Text::Subject, 0)
    }

    /// The issuer's first common name.
    pub fn issuer_cn(&self) -> Option<&str> {
        self.cn(Text::IssuerCn, Text::Issuer, 2)
    }

    /// Serial number, lowercase hex without separators.
    pub fn serial(&self) -> String {
        self.hex_at(&self.serial_at)
    }

    /// Signature algorithm name (`sha256WithRSAEncryption`, `ecdsa-with-SHA256`, `ed25519`, …;
    /// the OID when it has no name here).
    pub fn signature_algorithm(&self) -> &str {
        match self.sig_known() {
            Some((_, name, _)) => name,
            None => self.text(Text::SignatureAlgorithm as usize),
        }
    }

    /// `sha1`, `md5` or `md2` when the signature uses a weak hash.
    pub fn weak_signature_hash(&self) -> Option<&'static str> {
        self.sig_known().and_then(|(_, _, weak)| *weak)
    }

    fn sig_known(&self) -> Option<&'static SigName> {
        SIG_NAMES.get(usize::from(self.sig_name).checked_sub(1)?)
    }

    /// SHA-256 of the SubjectPublicKeyInfo's DER (lowercase hex): the pairing key.
    pub fn spki_sha256(&self) -> String {
        super::hex_lower(&self.spki_hash())
    }

    /// SHA-256 of the SubjectPublicKeyInfo's DER.
    pub fn spki_hash(&self) -> [u8; SPKI_HASH] {
        let at = self.der_len as usize;
        self.data
            .get(at..at + SPKI_HASH)
            .and_then(|b| b.try_into().ok())
            .unwrap_or([0; SPKI_HASH])
    }

    /// SubjectKeyIdentifier, lowercase hex.
    pub fn ski(&self) -> Option<String> {
        self.ski_at.as_ref().map(|r| self.hex_at(r))
    }

    /// AuthorityKeyIdentifier key id, lowercase hex.
    pub fn aki(&self) -> Option<String> {
        self.aki_at.as_ref().map(|r| self.hex_at(r))
    }

    /// DNS SANs, in certificate order.
    pub fn dns_sans(&self) -> Vec<&str> {
        self.texts(TEXT_FIELDS, self.dns_count as usize)
    }

    /// IP SANs as text, in certificate order.
    pub fn ip_sans(&self) -> Vec<&str> {
        self.texts(
            TEXT_FIELDS + self.dns_count as usize,
            self.ip_count as usize,
        )
    }

    /// Other SAN kinds, prefixed: `URI:…`, `email:…`.
    pub fn other_sans(&self) -> Vec<&str> {
        let from = TEXT_FIELDS + self.dns_count as usize + self.ip_count as usize;
        self.texts(from, self.parts().saturating_sub(from))
    }

    fn texts(&self, from: usize, n: usize) -> Vec<&str> {
        (from..from.saturating_add(n).min(self.parts()))
            .map(|i| self.text(i))
            .collect()
    }

    /// `CertSign`, `ServerAuth`, `ClientAuth` (empty means `Unknown` in check output).
    pub fn usages(&self) -> Vec<Usage> {
        USAGES
            .iter()
            .enumerate()
            .filter(|(i, _)| self.usage_bits & (1 << i) != 0)
            .map(|(_, u)| *u)
            .collect()
    }

    /// Whether the certificate carries `u`.
    pub fn has_usage(&self, u: Usage) -> bool {
        USAGES
            .iter()
            .position(|x| *x == u)
            .is_some_and(|i| self.usage_bits & (1 << i) != 0)
    }

    /// Raw DER of the subject name (a part of the certificate's DER).
    pub fn subject_der(&self) -> &[u8] {
        part(self.der(), &self.subject_at)
    }

    /// Raw DER of the issuer name.
    pub fn issuer_der(&self) -> &[u8] {
        part(self.der(), &self.issuer_at)
    }

    /// DER of the SubjectPublicKeyInfo.
    pub fn spki_der(&self) -> &[u8] {
        part(self.der(), &self.spki_at)
    }

    /// Subject DN equals issuer DN (byte-for-byte).
    pub fn is_self_issued(&self) -> bool {
        self.subject_der() == self.issuer_der()
    }

    /// RKE2's notion of a root in hashCA and `validateCA`: AKI empty or equal to SKI (the
    /// subject/issuer DNs are not compared).
    pub fn looks_like_root(&self) -> bool {
        match (self.aki_at.as_ref(), self.ski_at.as_ref()) {
            (None, _) => true,
            (Some(a), Some(s)) => part(self.der(), a) == part(self.der(), s),
            (Some(_), None) => false,
        }
    }

    /// `not_before <= at <= not_after`.
    pub fn is_valid_at(&self, at: OffsetDateTime) -> bool {
        self.not_before <= at && at <= self.not_after
    }

    /// Usages as `rke2 certificate check` prints them (`Unknown` when none).
    pub fn usage_strings(&self) -> Vec<&'static str> {
        if self.usage_bits == 0 {
            vec!["Unknown"]
        } else {
            self.usages().into_iter().map(Usage::as_str).collect()
        }
    }

    /// All SANs as strings: DNS names, then IPs, then the others.
    pub fn sans(&self) -> Vec<String> {
        (TEXT_FIELDS..self.parts())
            .map(|i| self.text(i).to_string())
            .collect()
    }

    /// Whether a signature by this certificate's key is allowed as Go's `CheckSignatureFrom`
    /// sees it: v1 certificates or CA:true, and CertSign when KeyUsage is present.
    pub fn may_sign_certs(&self) -> bool {
        let ca_ok = if self.has_basic_constraints {
            self.is_ca
        } else {
            self.version < 3
        };
        let ku_ok = self.key_usage.is_none_or(|ku| ku & KU_CERT_SIGN != 0);
        ca_ok && ku_ok
    }

    fn x509(&self) -> Result<X509Certificate<'_>, PkiError> {
        X509Certificate::from_der(self.der())
            .map(|(_, c)| c)
            .map_err(|e| PkiError::der("certificate", e))
    }
}

// KeyUsage flag bit for keyCertSign as x509-parser numbers the flags (bit 5).
const KU_CERT_SIGN: u16 = 1 << 5;

/// Parse every certificate in `data`: PEM (all `CERTIFICATE` blocks in order; other blocks
/// ignored) or DER (one certificate, or several concatenated).
pub fn parse_certs(data: &[u8]) -> Result<Vec<Cert>, PkiError> {
    parse_certs_with(data, parse_cert_der)
}

/// CA certificates already parsed, by the exact bytes they were parsed from. Files that repeat
/// a chain (every RKE2 leaf file carries its CA; bundles repeat the same roots) parse each CA
/// once. Leaves are not kept: they rarely repeat, and the memo stays small.
#[derive(Debug, Default)]
pub struct CertMemo {
    by_der: HashMap<Vec<u8>, Arc<Cert>>,
}

impl CertMemo {
    fn parse(&mut self, der: &[u8]) -> Result<Arc<Cert>, PkiError> {
        if let Some(c) = self.by_der.get(der) {
            return Ok(Arc::clone(c));
        }
        let cert = Arc::new(parse_cert_der(der)?);
        if cert.is_ca || cert.is_self_issued() {
            self.by_der.insert(der.to_vec(), Arc::clone(&cert));
        }
        Ok(cert)
    }
}

/// The certificates of one file as the ingest's decoding threads parsed them
/// ([`CertDecoder`]): what [`parse_certs_memo`] returns for its bytes, which are not kept.
/// Boxed to the exact size (one is held per certificate file: 100,000 on a big node).
#[derive(Debug)]
pub struct FileCerts(pub Result<Box<[Arc<Cert>]>, Box<PkiError>>);

impl FileCerts {
    /// What [`parse_certs_memo`] returned.
    pub fn parsed(&self) -> Result<Vec<Arc<Cert>>, PkiError> {
        match &self.0 {
            Ok(certs) => Ok(certs.to_vec()),
            Err(e) => Err((**e).clone()),
        }
    }
}

/// The certificate parser of one decoding thread of the ingest
/// ([`crate::ingest::Decoder`]), with its own memo: a CA repeated in thousands of chain files
/// is parsed once a thread.
#[derive(Default)]
pub struct CertDecoder {
    memo: CertMemo,
}

impl crate::ingest::Decoder for CertDecoder {
    /// The file's certificates; its bytes are kept when it does not parse or starts with a CA
    /// (CA files and custom CA material are read as bytes too: digests, CA hashes, `plan ca`),
    /// dropped for leaf files (a leaf, then its chain).
    fn decode(&mut self, _path: &str, data: &[u8]) -> Option<crate::ingest::Decoded> {
        let certs = parse_certs_memo(data, &mut self.memo);
        let keep_bytes = match &certs {
            Ok(c) => c.first().is_none_or(|c| c.is_ca),
            Err(_) => true,
        };
        Some(crate::ingest::Decoded {
            value: Arc::new(FileCerts(
                certs.map(Vec::into_boxed_slice).map_err(Box::new),
            )),
            keep_bytes,
        })
    }
}

/// [`parse_certs`] through a [`CertMemo`]: the same certificates and errors, shared.
pub fn parse_certs_memo(data: &[u8], memo: &mut CertMemo) -> Result<Vec<Arc<Cert>>, PkiError> {
    let parsed = if pem::looks_like_pem(data) {
        parse_certs_with(data, |der| memo.parse(der))
    } else {
        // Concatenated DER: each parse sees the rest of the input, not one certificate.
        parse_certs_with(data, |der| parse_cert_der(der).map(Arc::new))
    };
    if let Ok(v) = &parsed {
        crate::progress::certs(v.len() as u64);
    }
    parsed
}

fn parse_certs_with<C: std::borrow::Borrow<Cert>>(
    data: &[u8],
    mut parse: impl FnMut(&[u8]) -> Result<C, PkiError>,
) -> Result<Vec<C>, PkiError> {
    if pem::looks_like_pem(data) {
        let mut out = Vec::new();
        for (i, block) in pem::parse_blocks(data)?.iter().enumerate() {
            if block.label != "CERTIFICATE" && block.label != "X509 CERTIFICATE" {
                continue;
            }
            let Some(der) = &block.der else { continue };
            let cert = parse(der).map_err(|e| match e {
                PkiError::Der { what, detail } => PkiError::Der {
                    what,
                    detail: format!("PEM block {}: {detail}", i + 1),
                },
                other => other,
            })?;
            out.push(cert);
        }
        if out.is_empty() {
            return Err(PkiError::Empty("certificate"));
        }
        Ok(out)
    } else {
        if data.is_empty() {
            return Err(PkiError::Empty("certificate"));
        }
        let mut out = Vec::new();
        let mut rest = data;
        while !rest.is_empty() {
            let cert = parse(rest)?;
            rest = &rest[cert.borrow().der().len().min(rest.len())..];
            out.push(cert);
        }
        Ok(out)
    }
}

/// Parse one DER certificate.
pub fn parse_cert_der(der: &[u8]) -> Result<Cert, PkiError> {
    let (rest, x) = X509Certificate::from_der(der).map_err(|e| PkiError::der("certificate", e))?;
    let der = &der[..der.len() - rest.len()];
    let tbs = &x.tbs_certificate;

    let bc = tbs
        .basic_constraints()
        .map_err(|e| PkiError::der("certificate basic constraints", e))?;
    let ku = tbs
        .key_usage()
        .map_err(|e| PkiError::der("certificate key usage", e))?;
    let eku = tbs
        .extended_key_usage()
        .map_err(|e| PkiError::der("certificate extended key usage", e))?;

    let mut usage_bits = 0u8;
    if ku.as_ref().is_some_and(|k| k.value.key_cert_sign()) {
        usage_bits |= 1;
    }
    if let Some(e) = &eku {
        if e.value.server_auth {
            usage_bits |= 2;
        }
        if e.value.client_auth {
            usage_bits |= 4;
        }
    }

    let (mut dns_sans, mut ip_sans, mut other_sans) = (Vec::new(), Vec::new(), Vec::new());
    let mut ski = None;
    let mut aki = None;
    for ext in tbs.iter_extensions() {
        match ext.parsed_extension() {
            ParsedExtension::SubjectAlternativeName(san) => {
                for gn in &san.general_names {
                    match gn {
                        GeneralName::DNSName(s) => dns_sans.push(*s),
                        GeneralName::IPAddress(b) => ip_sans.push(ip_string(b)),
                        GeneralName::URI(s) => other_sans.push(format!("URI:{s}")),
                        GeneralName::RFC822Name(s) => other_sans.push(format!("email:{s}")),
                        _ => {}
                    }
                }
            }
            ParsedExtension::SubjectKeyIdentifier(k) => ski = Some(part_at(der, k.0)?),
            ParsedExtension::AuthorityKeyIdentifier(a) => {
                aki = match a.key_identifier.as_ref() {
                    Some(k) => Some(part_at(der, k.0)?),
                    None => None,
                }
            }
            _ => {}
        }
    }

    let spki = tbs.public_key();
    let (key_algorithm, key_bits) = spki_algorithm(spki);
    let sig_oid = oid_string(&x.signature_algorithm.algorithm);
    let sig_name = SIG_NAMES
        .iter()
        .position(|(oid, _, _)| oid.contains(&&*sig_oid));
    let sig = SigParts {
        tbs: Span::new(part_at(der, tbs.as_ref()).ok()),
        signature: Span::new(part_at(der, &x.signature_value.data).ok()),
        alg: sig_alg(&sig_oid),
        public_key: Span::new(part_at(der, &spki.subject_public_key.data).ok()),
        curve: match spki
            .algorithm
            .parameters
            .as_ref()
            .and_then(|p| p.as_oid().ok())
            .map(|o| oid_string(&o))
            .as_deref()
        {
            Some(OID_P256) => KeyCurve::P256,
            Some(OID_P384) => KeyCurve::P384,
            _ => KeyCurve::Other,
        },
    };

    let mut text = TextBuilder::default();
    text.field(Text::Fingerprint, &sha256_hex(der));
    let subject = dn_string(tbs.subject());
    let issuer = dn_string(tbs.issuer());
    text.field(Text::Subject, &subject);
    text.field(Text::Issuer, &issuer);
    let subject_cn = first_cn(tbs.subject());
    let issuer_cn = first_cn(tbs.issuer());
    let (subject_alias, issuer_alias) = (
        cn_alias(&subject, subject_cn.as_deref()),
        cn_alias(&issuer, issuer_cn.as_deref()),
    );
    let own = |alias: [u16; 2], cn: Option<String>| cn.filter(|_| alias[0] == NO_ALIAS);
    text.optional(
        Text::SubjectCn,
        subject_cn.is_some(),
        own(subject_alias, subject_cn).as_deref(),
    );
    text.optional(
        Text::IssuerCn,
        issuer_cn.is_some(),
        own(issuer_alias, issuer_cn).as_deref(),
    );
    text.field(
        Text::SignatureAlgorithm,
        if sig_name.is_some() { "" } else { &sig_oid },
    );
    let spki_hash: [u8; SPKI_HASH] = super::sha256(spki.raw);
    for s in &dns_sans {
        text.push(s);
    }
    for s in ip_sans.iter().chain(&other_sans) {
        text.push(s);
    }
    // Counts of parts of one certificate: far below 4 billion.
    let count = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);

    Ok(Cert {
        data: text.data(der, &spki_hash),
        wide_ends: text.wide(),
        sig_name: sig_name.map_or(0, |i| u8::try_from(i + 1).unwrap_or(0)),
        cn_alias: [
            subject_alias[0],
            subject_alias[1],
            issuer_alias[0],
            issuer_alias[1],
        ],
        der_len: u32::try_from(der.len()).map_err(|_| PkiError::Der {
            what: "certificate",
            detail: "longer than 4 GiB".into(),
        })?,
        text_len: count(text.text.len()),
        serial_at: part_at(der, tbs.raw_serial())?,
        ski_at: Span::new(ski),
        aki_at: Span::new(aki),
        present: text.present,
        dns_count: count(dns_sans.len()),
        ip_count: count(ip_sans.len()),
        subject_at: part_at(der, tbs.subject().as_raw())?,
        issuer_at: part_at(der, tbs.issuer().as_raw())?,
        not_before: tbs.validity().not_before.to_datetime(),
        not_after: tbs.validity().not_after.to_datetime(),
        version: u8::try_from(tbs.version().0 + 1).unwrap_or(u8::MAX),
        is_ca: bc.as_ref().is_some_and(|b| b.value.ca),
        has_basic_constraints: bc.is_some(),
        path_len: bc.as_ref().and_then(|b| b.value.path_len_constraint),
        key_usage: ku.as_ref().map(|k| k.value.flags),
        usage_bits,
        key_algorithm,
        key_bits,
        spki_at: part_at(der, spki.raw)?,
        sig,
    })
}

/// The dotted form of the object identifiers certificates carry most (algorithms, curves,
/// name attributes) by their DER content bytes, so a parse does not format them digit by digit.
const KNOWN_OIDS: &[(&[u8], &str)] = &[
    (&[0x55, 0x04, 0x03], "2.5.4.3"),
    (&[0x55, 0x04, 0x05], "2.5.4.5"),
    (&[0x55, 0x04, 0x06], "2.5.4.6"),
    (&[0x55, 0x04, 0x07], "2.5.4.7"),
    (&[0x55, 0x04, 0x08], "2.5.4.8"),
    (&[0x55, 0x04, 0x09], "2.5.4.9"),
    (&[0x55, 0x04, 0x0a], "2.5.4.10"),
    (&[0x55, 0x04, 0x0b], "2.5.4.11"),
    (&[0x55, 0x04, 0x11], "2.5.4.17"),
    (&[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01], OID_EC),
    (&[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07], OID_P256),
    (&[0x2b, 0x81, 0x04, 0x00, 0x22], OID_P384),
    (&[0x2b, 0x81, 0x04, 0x00, 0x23], OID_P521),
    (&[0x2b, 0x65, 0x70], OID_ED25519),
    (&[0x2b, 0x65, 0x71], OID_ED448),
    (
        &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01],
        OID_RSA,
    ),
    (
        &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x05],
        "1.2.840.113549.1.1.5",
    ),
    (
        &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0a],
        OID_RSA_PSS,
    ),
    (
        &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0b],
        "1.2.840.113549.1.1.11",
    ),
    (
        &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0c],
        "1.2.840.113549.1.1.12",
    ),
    (
        &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0d],
        "1.2.840.113549.1.1.13",
    ),
    (
        &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02],
        "1.2.840.10045.4.3.2",
    ),
    (
        &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x03],
        "1.2.840.10045.4.3.3",
    ),
    (
        &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x04],
        "1.2.840.10045.4.3.4",
    ),
];

/// An object identifier in dotted form: from [`KNOWN_OIDS`] when it is one of them, else
/// formatted.
fn oid_string(oid: &x509_parser::der_parser::oid::Oid<'_>) -> std::borrow::Cow<'static, str> {
    let bytes = oid.as_bytes();
    match KNOWN_OIDS.iter().find(|(der, _)| *der == bytes) {
        Some((_, s)) => std::borrow::Cow::Borrowed(s),
        None => std::borrow::Cow::Owned(oid.to_id_string()),
    }
}

/// Where `part`, parsed out of `der`, lies in it (always inside: x509-parser borrows).
fn part_at(der: &[u8], part: &[u8]) -> Result<Range<u32>, PkiError> {
    subslice_range(der, part)
        .and_then(|r| Some(u32::try_from(r.start).ok()?..u32::try_from(r.end).ok()?))
        .ok_or_else(|| PkiError::Der {
            what: "certificate",
            detail: "a parsed part lies outside the certificate".into(),
        })
}

/// The bytes of `der` at `at` (empty if out of range, which [`part_at`] rules out).
fn part<'a>(der: &'a [u8], at: &Range<u32>) -> &'a [u8] {
    der.get(at.start as usize..at.end as usize).unwrap_or(&[])
}

/// The range of `part` inside `whole` when it is a sub-slice of it.
fn subslice_range(whole: &[u8], part: &[u8]) -> Option<Range<usize>> {
    let start = (part.as_ptr() as usize).checked_sub(whole.as_ptr() as usize)?;
    let end = start.checked_add(part.len())?;
    (end <= whole.len()).then_some(start..end)
}

/// The verifier's dispatch on the signature algorithm OID (x509-parser `verify_signature`).
fn sig_alg(oid: &str) -> SigAlg {
    match oid {
        "1.2.840.113549.1.1.5" | "1.3.14.3.2.29" => SigAlg::RsaSha1,
        "1.2.840.113549.1.1.11" => SigAlg::RsaSha256,
        "1.2.840.113549.1.1.12" => SigAlg::RsaSha384,
        "1.2.840.113549.1.1.13" => SigAlg::RsaSha512,
        "1.2.840.10045.4.3.2" => SigAlg::EcdsaSha256,
        "1.2.840.10045.4.3.3" => SigAlg::EcdsaSha384,
        "1.3.101.112" => SigAlg::Ed25519,
        _ => SigAlg::Other,
    }
}

/// A certificate signing request: its subject and public key hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Csr {
    pub subject: String,
    pub subject_cn: Option<String>,
    pub key_algorithm: KeyAlgorithm,
    pub spki_sha256: String,
}

/// Parse every `CERTIFICATE REQUEST` (or `NEW CERTIFICATE REQUEST`) block, or one DER CSR.
pub fn parse_csrs(data: &[u8]) -> Result<Vec<Csr>, PkiError> {
    let ders: Vec<Vec<u8>> = if pem::looks_like_pem(data) {
        pem::parse_blocks(data)?
            .into_iter()
            .filter(|b| b.label == "CERTIFICATE REQUEST" || b.label == "NEW CERTIFICATE REQUEST")
            .filter_map(|b| b.der.map(|d| d.to_vec()))
            .collect()
    } else {
        vec![data.to_vec()]
    };
    let mut out = Vec::new();
    for der in &ders {
        let (_, csr) = X509CertificationRequest::from_der(der)
            .map_err(|e| PkiError::der("certificate request", e))?;
        let info = &csr.certification_request_info;
        out.push(Csr {
            subject: dn_string(&info.subject),
            subject_cn: first_cn(&info.subject),
            key_algorithm: spki_algorithm(&info.subject_pki).0,
            spki_sha256: sha256_hex(info.subject_pki.raw),
        });
    }
    if out.is_empty() {
        return Err(PkiError::Empty("certificate request"));
    }
    Ok(out)
}

/// The outcome of checking one signature.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verification {
    /// The issuer's key verifies the child's signature.
    Verified,
    /// The signature does not verify with the issuer's key.
    BadSignature,
    /// The algorithm (or key size, e.g. RSA under 2048 bits with SHA-256) is not supported by
    /// the verifier: neither good nor bad.
    Unsupported,
}

/// Check `child`'s signature with `issuer`'s public key.
///
/// The same verifier as x509-parser's `verify_signature` (ring, the same algorithm choice), run
/// on the parts located at parse time; RSA-PSS and unknown algorithms go through x509-parser.
pub fn verify(child: &Cert, issuer: &Cert) -> Verification {
    let result = check_located(child, issuer).unwrap_or_else(|| check_x509(child, issuer));
    judge(result, issuer)
}

/// The most issuer keys [`FastIssuers`] builds tables for (13 MiB of tables).
const MAX_TABLES: usize = 16;

/// Precomputed tables ([`super::p256_fast`]) for the P-256 issuer keys that check many ECDSA
/// P-256 SHA-256 signatures (an RKE2 cluster CA signs thousands of leaves), by the issuer's
/// subjectPublicKey bytes.
#[derive(Debug, Default)]
pub struct FastIssuers {
    tables: HashMap<Box<[u8]>, super::p256_fast::KeyTable>,
}

impl FastIssuers {
    /// Tables for the issuer keys that `pairs` (a certificate, a candidate issuer) would have
    /// check at least `min` such signatures (a table costs about 170 checks to build).
    pub fn for_pairs<'a>(pairs: impl Iterator<Item = (&'a Cert, &'a Cert)>, min: usize) -> Self {
        Self::for_pairs_at_most(pairs, min, MAX_TABLES)
    }

    /// [`FastIssuers::for_pairs`] with at most `max` tables.
    fn for_pairs_at_most<'a>(
        pairs: impl Iterator<Item = (&'a Cert, &'a Cert)>,
        min: usize,
        max: usize,
    ) -> Self {
        let mut counts: HashMap<&[u8], usize> = HashMap::new();
        for (child, issuer) in pairs {
            if let Some(key) = fast_key(child, issuer) {
                *counts.entry(key).or_default() += 1;
            }
        }
        // The keys that check the most signatures first, and at most `max` of them: a table
        // holds 832 KiB, and a hostile input could name thousands of issuer keys.
        let mut ranked: Vec<(usize, &[u8])> = counts
            .into_iter()
            .filter(|&(_, n)| n >= min)
            .map(|(k, n)| (n, k))
            .collect();
        ranked.sort_unstable_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(b.1)));
        let keys: Vec<&[u8]> = ranked.into_iter().take(max).map(|(_, k)| k).collect();
        let tables = crate::par::map(&keys, |k| {
            super::p256_fast::KeyTable::new(k).map(|t| (Box::from(*k), t))
        });
        FastIssuers {
            tables: tables.into_iter().flatten().collect(),
        }
    }

    /// How many issuer keys have a table.
    pub fn len(&self) -> usize {
        self.tables.len()
    }

    /// Whether no issuer key has a table.
    pub fn is_empty(&self) -> bool {
        self.tables.is_empty()
    }
}

/// The issuer's subjectPublicKey bytes when `child`'s signature is one a [`FastIssuers`] table
/// can check (ECDSA with SHA-256 by a P-256 key, its parts located at parse time).
fn fast_key<'a>(child: &Cert, issuer: &'a Cert) -> Option<&'a [u8]> {
    let eligible = child.sig.alg == SigAlg::EcdsaSha256
        && issuer.sig.curve == KeyCurve::P256
        && child.sig.tbs.is_some()
        && child.sig.signature.is_some();
    let key = issuer.sig.public_key.as_ref()?;
    eligible.then(|| part(issuer.der(), key))
}

/// [`verify`] through the issuer's precomputed table when `fast` has one: a signature the
/// table verifies is verified; anything else (no table, or the table says no) is decided by
/// [`verify`] itself, so the table can only spare work, never turn a bad signature good that
/// ring would refuse.
pub fn verify_with(child: &Cert, issuer: &Cert, fast: &FastIssuers) -> Verification {
    if let Some(key) = fast_key(child, issuer)
        && let Some(table) = fast.tables.get(key)
        && let (Some(tbs), Some(sig)) = (child.sig.tbs.as_ref(), child.sig.signature.as_ref())
        && super::p256_fast::verify(table, part(child.der(), tbs), part(child.der(), sig))
    {
        return Verification::Verified;
    }
    verify(child, issuer)
}

/// The signature check on the parts located at parse time; `None` when x509-parser must do it
/// (RSA-PSS, unknown algorithms).
fn check_located(child: &Cert, issuer: &Cert) -> Option<Result<(), X509Error>> {
    let tbs = child.sig.tbs.as_ref()?;
    let alg: &'static dyn ring_sig::VerificationAlgorithm = match child.sig.alg {
        SigAlg::Other => return None,
        SigAlg::RsaSha1 => &ring_sig::RSA_PKCS1_1024_8192_SHA1_FOR_LEGACY_USE_ONLY,
        SigAlg::RsaSha256 => &ring_sig::RSA_PKCS1_2048_8192_SHA256,
        SigAlg::RsaSha384 => &ring_sig::RSA_PKCS1_2048_8192_SHA384,
        SigAlg::RsaSha512 => &ring_sig::RSA_PKCS1_2048_8192_SHA512,
        SigAlg::EcdsaSha256 => match issuer.sig.curve {
            KeyCurve::P256 => &ring_sig::ECDSA_P256_SHA256_ASN1,
            KeyCurve::P384 => &ring_sig::ECDSA_P384_SHA256_ASN1,
            KeyCurve::Other => return Some(Err(X509Error::SignatureUnsupportedAlgorithm)),
        },
        SigAlg::EcdsaSha384 => match issuer.sig.curve {
            KeyCurve::P256 => &ring_sig::ECDSA_P256_SHA384_ASN1,
            KeyCurve::P384 => &ring_sig::ECDSA_P384_SHA384_ASN1,
            KeyCurve::Other => return Some(Err(X509Error::SignatureUnsupportedAlgorithm)),
        },
        SigAlg::Ed25519 => &ring_sig::ED25519,
    };
    let public_key = part(issuer.der(), issuer.sig.public_key.as_ref()?);
    let signature = part(child.der(), child.sig.signature.as_ref()?);
    Some(
        ring_sig::UnparsedPublicKey::new(alg, public_key)
            .verify(part(child.der(), tbs), signature)
            .map_err(|_| X509Error::SignatureVerificationError),
    )
}

/// The signature check through x509-parser (re-parses both certificates).
fn check_x509(child: &Cert, issuer: &Cert) -> Result<(), X509Error> {
    let (Ok(c), Ok(i)) = (child.x509(), issuer.x509()) else {
        return Err(X509Error::SignatureUnsupportedAlgorithm);
    };
    c.verify_signature(Some(i.public_key()))
}

fn judge(result: Result<(), X509Error>, issuer: &Cert) -> Verification {
    match result {
        Ok(()) => Verification::Verified,
        Err(X509Error::SignatureUnsupportedAlgorithm) => Verification::Unsupported,
        Err(_) => {
            // ring refuses RSA keys under 2048 bits (except for SHA-1 legacy); that is not
            // evidence of a bad signature.
            let small_rsa = matches!(issuer.key_algorithm, KeyAlgorithm::Rsa)
                && issuer.key_bits.is_some_and(|b| b < 2048);
            if small_rsa {
                Verification::Unsupported
            } else {
                Verification::BadSignature
            }
        }
    }
}

/// `issuer`'s key verifies `child`'s signature.
pub fn verifies(child: &Cert, issuer: &Cert) -> bool {
    verify(child, issuer) == Verification::Verified
}

/// Chain status of one certificate, as the JSON output names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ChainStatus {
    Valid,
    SelfSigned,
    IssuerMissing,
    BadSignature,
    IssuerExpired,
    IssuerNotYetValid,
}

impl ChainStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ChainStatus::Valid => "valid",
            ChainStatus::SelfSigned => "self-signed",
            ChainStatus::IssuerMissing => "issuer-missing",
            ChainStatus::BadSignature => "bad-signature",
            ChainStatus::IssuerExpired => "issuer-expired",
            ChainStatus::IssuerNotYetValid => "issuer-not-yet-valid",
        }
    }
}

/// What the issuers of a signed certificate make of its chain at `at`: `valid` when one of them
/// is valid then (or there is none to judge), else `issuer-expired` when one of them has expired,
/// else `issuer-not-yet-valid` (every issuer starts after `at`).
pub fn issuers_status_at<'a>(
    issuers: impl IntoIterator<Item = &'a Cert>,
    at: OffsetDateTime,
) -> ChainStatus {
    let mut judged = false;
    let mut expired = false;
    for c in issuers {
        if c.is_valid_at(at) {
            return ChainStatus::Valid;
        }
        judged = true;
        expired |= c.not_after < at;
    }
    match (judged, expired) {
        (false, _) => ChainStatus::Valid,
        (true, true) => ChainStatus::IssuerExpired,
        (true, false) => ChainStatus::IssuerNotYetValid,
    }
}

/// The chain status of a certificate and the candidate issuers behind it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainResult {
    pub status: ChainStatus,
    /// Indices into the candidate slice of every issuer whose key verifies the signature
    /// (several with cross-signing).
    pub issuers: Vec<usize>,
    /// Indices of issuers that match by name and key id but whose signature algorithm the
    /// verifier does not support; they count as issuers for the status.
    pub unverified: Vec<usize>,
}

/// Judge `cert` against `candidates` at instant `at`.
///
/// A candidate matches when its subject DN equals the cert's issuer DN and, when both key
/// identifiers are present, its SKI equals the cert's AKI; it is an issuer when its key
/// verifies the signature. A self-issued cert whose own key verifies it is `self-signed`.
/// Several issuers (cross-signing) are all returned; the status is `valid` when any of them is
/// valid at `at`, else `issuer-expired` (or `issuer-not-yet-valid` when none of them has expired
/// but none has started either: see [`issuers_status_at`]). Name matches that do not verify give `bad-signature`;
/// no name match gives `issuer-missing`. The cert itself may be in `candidates`.
pub fn chain_status(cert: &Cert, candidates: &[Cert], at: OffsetDateTime) -> ChainResult {
    chain_status_by(cert, candidates.len(), |i| &candidates[i], at)
}

/// [`chain_status`] over borrowed candidates (no copies of the certificates needed).
pub fn chain_status_refs(cert: &Cert, candidates: &[&Cert], at: OffsetDateTime) -> ChainResult {
    chain_status_by(cert, candidates.len(), |i| candidates[i], at)
}

fn chain_status_by<'a>(
    cert: &Cert,
    n: usize,
    candidate: impl Fn(usize) -> &'a Cert,
    at: OffsetDateTime,
) -> ChainResult {
    let mut r = chain_links_by(cert, n, &candidate, verify);
    if r.status == ChainStatus::Valid {
        r.status = issuers_status_at(
            r.issuers
                .iter()
                .chain(r.unverified.iter())
                .map(|&i| candidate(i)),
            at,
        );
    }
    r
}

/// The time-free part of [`chain_status_refs`]: which candidates sign `cert`. The status is
/// `self-signed`, `bad-signature`, `issuer-missing`, or `valid` when at least one issuer signs it
/// (whether that issuer is valid at a given time is the caller's question: see
/// [`chain_status_refs`]).
pub fn chain_links_refs(cert: &Cert, candidates: &[&Cert]) -> ChainResult {
    chain_links_by(cert, candidates.len(), |i| candidates[i], verify)
}

/// [`chain_links_refs`] with the precomputed tables of the issuer keys that sign many
/// certificates (the same outcome, sooner).
pub fn chain_links_fast(cert: &Cert, candidates: &[&Cert], fast: &FastIssuers) -> ChainResult {
    chain_links_by(
        cert,
        candidates.len(),
        |i| candidates[i],
        |c, i| verify_with(c, i, fast),
    )
}

fn chain_links_by<'a>(
    cert: &Cert,
    n: usize,
    candidate: impl Fn(usize) -> &'a Cert,
    verify: impl Fn(&Cert, &Cert) -> Verification,
) -> ChainResult {
    let mut bad = false;
    if cert.is_self_issued() && cert.looks_like_root() {
        match verify(cert, cert) {
            Verification::Verified | Verification::Unsupported => {
                return ChainResult {
                    status: ChainStatus::SelfSigned,
                    issuers: Vec::new(),
                    unverified: Vec::new(),
                };
            }
            Verification::BadSignature => bad = true,
        }
    }
    let mut issuers = Vec::new();
    let mut unverified = Vec::new();
    for i in 0..n {
        let c = candidate(i);
        if c.der() == cert.der() || c.subject_der() != cert.issuer_der() {
            continue;
        }
        if let (Some(aki), Some(ski)) = (cert.aki_at.as_ref(), c.ski_at.as_ref())
            && part(cert.der(), aki) != part(c.der(), ski)
        {
            continue;
        }
        match verify(cert, c) {
            Verification::Verified => issuers.push(i),
            Verification::Unsupported => unverified.push(i),
            Verification::BadSignature => bad = true,
        }
    }
    let status = if !issuers.is_empty() || !unverified.is_empty() {
        ChainStatus::Valid
    } else if bad {
        ChainStatus::BadSignature
    } else {
        ChainStatus::IssuerMissing
    };
    ChainResult {
        status,
        issuers,
        unverified,
    }
}

fn spki_algorithm(spki: &SubjectPublicKeyInfo<'_>) -> (KeyAlgorithm, Option<u32>) {
    let alg = oid_string(&spki.algorithm.algorithm);
    let curve = spki
        .algorithm
        .parameters
        .as_ref()
        .and_then(|p| p.as_oid().ok())
        .map(|o| oid_string(&o));
    let ka = KeyAlgorithm::from_oids(&alg, curve.as_deref());
    let bits = match &ka {
        KeyAlgorithm::Rsa | KeyAlgorithm::RsaPss => match spki.parsed() {
            Ok(PublicKey::RSA(rsa)) => Some(uint_bits(rsa.modulus)),
            _ => None,
        },
        KeyAlgorithm::EcdsaP256 | KeyAlgorithm::Ed25519 => Some(256),
        KeyAlgorithm::EcdsaP384 => Some(384),
        KeyAlgorithm::EcdsaP521 => Some(521),
        KeyAlgorithm::Ed448 => Some(448),
        _ => None,
    };
    (ka, bits)
}

/// Bit length of a big-endian unsigned integer.
pub(crate) fn uint_bits(bytes: &[u8]) -> u32 {
    let Some(first) = bytes.iter().position(|b| *b != 0) else {
        return 0;
    };
    let len = (bytes.len() - first) as u32;
    len * 8 - bytes[first].leading_zeros()
}

/// A signature algorithm's OIDs, name and weak hash.
type SigName = (&'static [&'static str], &'static str, Option<&'static str>);

/// The signature algorithms named here ([`Cert::signature_algorithm`]); others are named by
/// their OID. A certificate stores its entry's index, not the name.
const SIG_NAMES: &[SigName] = &[
    (
        &["1.2.840.113549.1.1.2"],
        "md2WithRSAEncryption",
        Some("md2"),
    ),
    (
        &["1.2.840.113549.1.1.4"],
        "md5WithRSAEncryption",
        Some("md5"),
    ),
    (
        &["1.2.840.113549.1.1.5", "1.3.14.3.2.29"],
        "sha1WithRSAEncryption",
        Some("sha1"),
    ),
    (&["1.2.840.113549.1.1.11"], "sha256WithRSAEncryption", None),
    (&["1.2.840.113549.1.1.12"], "sha384WithRSAEncryption", None),
    (&["1.2.840.113549.1.1.13"], "sha512WithRSAEncryption", None),
    (&["1.2.840.113549.1.1.10"], "rsassaPss", None),
    (&["1.2.840.10045.4.1"], "ecdsa-with-SHA1", Some("sha1")),
    (&["1.2.840.10045.4.3.2"], "ecdsa-with-SHA256", None),
    (&["1.2.840.10045.4.3.3"], "ecdsa-with-SHA384", None),
    (&["1.2.840.10045.4.3.4"], "ecdsa-with-SHA512", None),
    (&["1.2.840.10040.4.3"], "dsa-with-SHA1", Some("sha1")),
    (&["1.3.101.112"], "ed25519", None),
    (&["1.3.101.113"], "ed448", None),
];

/// Where `cn` lies in `name`'s text, as a start and length (`NO_ALIAS` when it is not there or
/// out of `u16` reach).
fn cn_alias(name: &str, cn: Option<&str>) -> [u16; 2] {
    let none = [NO_ALIAS, 0];
    let Some(cn) = cn else { return none };
    // The value of the first `CN=`, unescaped, is the common name in the usual case.
    let found = name
        .match_indices(cn)
        .map(|(i, _)| i)
        .find(|&i| name.get(..i).is_some_and(|before| before.ends_with("CN=")))
        .or_else(|| name.find(cn));
    match found.map(|i| (u16::try_from(i), u16::try_from(cn.len()))) {
        Some((Ok(start), Ok(len))) if start != NO_ALIAS => [start, len],
        _ => none,
    }
}

fn ip_string(b: &[u8]) -> String {
    if let Ok(a) = <[u8; 4]>::try_from(b) {
        IpAddr::V4(Ipv4Addr::from(a)).to_string()
    } else if let Ok(a) = <[u8; 16]>::try_from(b) {
        IpAddr::V6(Ipv6Addr::from(a)).to_string()
    } else {
        format!("IP:{}", hex::encode(b))
    }
}

fn first_cn(name: &X509Name<'_>) -> Option<String> {
    name.iter_common_name().next().map(attr_value_string)
}

fn attr_value_string(a: &x509_parser::x509::AttributeTypeAndValue<'_>) -> String {
    match a.as_str() {
        Ok(s) => s.to_string(),
        Err(_) => String::from_utf8_lossy(a.as_slice()).into_owned(),
    }
}

fn attr_short_name(oid: &str) -> Option<&'static str> {
    Some(match oid {
        "2.5.4.3" => "CN",
        "2.5.4.10" => "O",
        "2.5.4.11" => "OU",
        "2.5.4.6" => "C",
        "2.5.4.7" => "L",
        "2.5.4.8" => "ST",
        "2.5.4.9" => "STREET",
        "2.5.4.17" => "POSTALCODE",
        "2.5.4.5" => "SERIALNUMBER",
        "0.9.2342.19200300.100.1.25" => "DC",
        "0.9.2342.19200300.100.1.1" => "UID",
        _ => return None,
    })
}

/// RFC 4514 string of a name: RDNs last-first, `,` between RDNs, `+` inside one.
pub(crate) fn dn_string(name: &X509Name<'_>) -> String {
    // Written into one string, last RDN first (the same text as formatting each attribute and
    // joining them).
    let rdns: Vec<_> = name.iter_rdn().collect();
    let mut out = String::new();
    for (i, rdn) in rdns.iter().rev().enumerate() {
        if i > 0 {
            out.push(',');
        }
        for (j, atv) in rdn.iter().enumerate() {
            if j > 0 {
                out.push('+');
            }
            let oid = oid_string(atv.attr_type());
            match attr_short_name(&oid) {
                Some(short) => {
                    out.push_str(short);
                    out.push('=');
                    out.push_str(&escape_rdn(&attr_value_string(atv)));
                }
                None => {
                    out.push_str(&oid);
                    out.push('=');
                    match atv.as_str() {
                        Ok(s) => out.push_str(&escape_rdn(s)),
                        Err(_) => {
                            out.push('#');
                            out.push_str(&hex::encode(atv.as_slice()));
                        }
                    }
                }
            }
        }
    }
    out
}

fn escape_rdn(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    let n = v.chars().count();
    for (i, c) in v.chars().enumerate() {
        let special = matches!(c, ',' | '+' | '"' | '\\' | '<' | '>' | ';')
            || (i == 0 && (c == '#' || c == ' '))
            || (i + 1 == n && c == ' ');
        if special {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use rcgen::{
        BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair, PKCS_ECDSA_P256_SHA256,
        PKCS_ECDSA_P384_SHA384, PKCS_ED25519, SignatureAlgorithm,
    };

    fn ca(cn: &str, alg: &'static SignatureAlgorithm) -> (CertificateParams, KeyPair) {
        let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
        p.distinguished_name = rcgen::DistinguishedName::new();
        p.distinguished_name.push(rcgen::DnType::CommonName, cn);
        p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        (p, KeyPair::generate_for(alg).unwrap())
    }

    /// The located check gives what x509-parser gives, for every pair of certificates of
    /// several algorithms (matching and mismatching keys, self and cross).
    #[test]
    fn known_oids_read_as_they_format() {
        for (der, dotted) in KNOWN_OIDS {
            let oid = x509_parser::der_parser::oid::Oid::new(std::borrow::Cow::Borrowed(der));
            assert_eq!(oid.to_id_string(), *dotted);
            assert_eq!(oid_string(&oid), *dotted);
        }
        let other =
            x509_parser::der_parser::oid::Oid::new(std::borrow::Cow::Borrowed(&[0x2b, 0x06, 0x01]));
        assert_eq!(oid_string(&other), "1.3.6.1");
    }

    #[test]
    fn located_check_agrees_with_x509_parser() {
        let algs = [
            &PKCS_ECDSA_P256_SHA256,
            &PKCS_ECDSA_P384_SHA384,
            &PKCS_ED25519,
        ];
        let mut certs = Vec::new();
        for (i, alg) in algs.iter().enumerate() {
            let (p, k) = ca(&format!("root-{i}"), alg);
            let root = p.self_signed(&k).unwrap();
            certs.push(parse_cert_der(root.der()).unwrap());
            let issuer = Issuer::new(p, k);
            for (j, child_alg) in algs.iter().enumerate() {
                let (cp, ck) = ca(&format!("child-{i}-{j}"), child_alg);
                let child = cp.signed_by(&ck, &issuer).unwrap();
                certs.push(parse_cert_der(child.der()).unwrap());
            }
        }
        let mut verified = 0;
        for c in &certs {
            for i in &certs {
                let located = check_located(c, i).expect("located");
                assert_eq!(
                    judge(located, i),
                    judge(check_x509(c, i), i),
                    "{} by {}",
                    c.subject(),
                    i.subject()
                );
                verified += usize::from(verify(c, i) == Verification::Verified);
            }
        }
        assert_eq!(verified, 3 + 9);
    }

    /// The per-key tables give every chain exactly what ring gives: two P-256 CAs under the
    /// same name (each leaf has one true issuer and one that fails), a P-384 CA under that name
    /// too (no table), leaves with a flipped signature byte and a changed TBS byte.
    #[test]
    fn per_key_tables_give_the_chains_ring_gives() {
        let (p1, k1) = ca("twin", &PKCS_ECDSA_P256_SHA256);
        let (p2, k2) = ca("twin", &PKCS_ECDSA_P256_SHA256);
        let (p3, k3) = ca("twin", &PKCS_ECDSA_P384_SHA384);
        let mut certs = vec![
            parse_cert_der(p1.self_signed(&k1).unwrap().der()).unwrap(),
            parse_cert_der(p2.self_signed(&k2).unwrap().der()).unwrap(),
            parse_cert_der(p3.self_signed(&k3).unwrap().der()).unwrap(),
        ];
        let issuers = [
            Issuer::new(p1, k1),
            Issuer::new(p2, k2),
            Issuer::new(p3, k3),
        ];
        for i in 0..12 {
            let mut lp = CertificateParams::new(vec![format!("l{i}.example")]).unwrap();
            lp.distinguished_name
                .push(rcgen::DnType::CommonName, format!("l{i}"));
            let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).unwrap();
            let leaf = lp.signed_by(&key, &issuers[i % 3]).unwrap();
            let mut der = leaf.der().to_vec();
            // The last byte of the signature; a letter of the SAN inside the TBS.
            if i == 3 || i == 6 {
                *der.last_mut().unwrap() ^= 1;
            }
            if i == 4 || i == 5 {
                let at = der
                    .windows(10)
                    .position(|w| w == format!("l{i}.example").as_bytes());
                der[at.unwrap()] = b'm';
            }
            certs.push(parse_cert_der(&der).unwrap());
        }
        let refs: Vec<&Cert> = certs.iter().collect();
        let fast = FastIssuers::for_pairs(
            refs.iter().flat_map(|&c| {
                refs.iter()
                    .filter(move |i| i.subject_der() == c.issuer_der())
                    .map(move |&i| (c, i))
            }),
            1,
        );
        assert_eq!(fast.len(), 2, "a table for each P-256 CA key");
        let mut bad = 0;
        for c in &refs {
            let slow = chain_links_refs(c, &refs);
            let quick = chain_links_fast(c, &refs, &fast);
            assert_eq!(
                (quick.status, &quick.issuers, &quick.unverified),
                (slow.status, &slow.issuers, &slow.unverified),
                "{}",
                c.subject()
            );
            bad += usize::from(slow.status == ChainStatus::BadSignature);
        }
        assert_eq!(bad, 4, "the tampered leaves fail both ways");
        // The tables themselves accept what ring accepts (not only the fallback).
        let mut by_table = 0;
        for c in &refs {
            for i in &refs {
                if let Some(key) = fast_key(c, i)
                    && let Some(table) = fast.tables.get(key)
                {
                    let (tbs, sig) = (c.sig.tbs.0.clone(), c.sig.signature.0.clone());
                    let quick = super::super::p256_fast::verify(
                        table,
                        part(c.der(), &tbs),
                        part(c.der(), &sig),
                    );
                    assert_eq!(quick, verify(c, i) == Verification::Verified);
                    by_table += usize::from(quick);
                }
            }
        }
        // The two P-256 roots, and the 8 leaves of the P-256 CAs but the 3 tampered (3, 4, 6).
        assert_eq!(by_table, 2 + 8 - 3);
        // With room for one table, the other CA's signatures go to ring: the same chains.
        let pairs = refs.iter().flat_map(|&c| {
            refs.iter()
                .filter(move |i| i.subject_der() == c.issuer_der())
                .map(move |&i| (c, i))
        });
        let one = FastIssuers::for_pairs_at_most(pairs, 1, 1);
        assert_eq!(one.len(), 1);
        for c in &refs {
            let (slow, quick) = (chain_links_refs(c, &refs), chain_links_fast(c, &refs, &one));
            assert_eq!(
                (quick.status, quick.issuers, quick.unverified),
                (slow.status, slow.issuers, slow.unverified)
            );
        }
    }

    /// A record of 100,000 certificates holds 100,000 of these: the text lives in one
    /// allocation, the ranges are `u32` with no `Option` tag, the signature's name is an index,
    /// so the inline part stays small (with the `Arc`'s counts, a 224-byte heap chunk; it was
    /// 240 bytes, 272 on the heap).
    #[test]
    fn a_certificate_record_stays_compact() {
        let size = std::mem::size_of::<Cert>();
        assert!(size <= 200, "Cert is {size} bytes inline");
    }

    /// Every text field reads back what the parse wrote, optional ones absent when the
    /// certificate lacks them, SANs in order by kind; a name the table does not know is its
    /// OID from the text.
    #[test]
    fn text_fields_read_back_by_kind() {
        let mut b = TextBuilder::default();
        b.field(Text::Fingerprint, "f");
        b.field(Text::Subject, "CN=a");
        b.field(Text::Issuer, "CN=b");
        b.optional(Text::SubjectCn, true, Some("a"));
        b.optional(Text::IssuerCn, false, None);
        b.field(Text::SignatureAlgorithm, "1.2.3.4");
        for s in ["x.example", "10.0.0.1", "URI:spiffe://a"] {
            b.push(s);
        }
        let (p, k) = ca("x", &PKCS_ECDSA_P256_SHA256);
        let mut c = parse_cert_der(p.self_signed(&k).unwrap().der()).unwrap();
        let der = c.der().to_vec();
        (c.data, c.text_len, c.present) = (b.data(&der, &[7; 32]), b.text.len() as u32, b.present);
        (c.dns_count, c.ip_count, c.sig_name) = (1, 1, 0);
        c.cn_alias = [NO_ALIAS, 0, NO_ALIAS, 0];
        assert_eq!(c.der(), der, "the DER is kept in front of the text");
        assert_eq!(c.fingerprint_sha256(), "f");
        assert_eq!((c.subject(), c.issuer()), ("CN=a", "CN=b"));
        assert_eq!((c.subject_cn(), c.issuer_cn()), (Some("a"), None));
        assert_eq!(c.spki_sha256(), "07".repeat(32));
        assert_eq!(c.signature_algorithm(), "1.2.3.4");
        assert_eq!(c.weak_signature_hash(), None);
        assert_eq!(c.dns_sans(), ["x.example"]);
        assert_eq!(c.ip_sans(), ["10.0.0.1"]);
        assert_eq!(c.other_sans(), ["URI:spiffe://a"]);
        assert_eq!(c.sans(), ["x.example", "10.0.0.1", "URI:spiffe://a"]);
    }

    /// A common name found in its name's text is read from there; one the text escapes (a
    /// comma) is a text part of its own; either way it reads back as the parse saw it.
    #[test]
    fn common_names_read_back_aliased_or_not() {
        use rcgen::{DistinguishedName, DnType};
        let k = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).unwrap();
        let named = |attrs: &[(DnType, &str)]| {
            let mut p = CertificateParams::default();
            p.distinguished_name = DistinguishedName::new();
            for (t, v) in attrs {
                p.distinguished_name.push(t.clone(), *v);
            }
            parse_cert_der(p.self_signed(&k).unwrap().der()).unwrap()
        };
        let plain = named(&[
            (DnType::OrganizationName, "CN=tricky"),
            (DnType::CommonName, "tricky"),
        ]);
        assert_eq!(plain.subject_cn(), Some("tricky"));
        assert_eq!(plain.issuer_cn(), Some("tricky"));
        assert_ne!(plain.cn_alias[0], NO_ALIAS, "found in {}", plain.subject());
        let escaped = named(&[(DnType::CommonName, "a,b+c")]);
        assert_eq!(escaped.subject_cn(), Some("a,b+c"));
        assert_eq!(escaped.cn_alias[0], NO_ALIAS, "{}", escaped.subject());
        let none = named(&[(DnType::OrganizationName, "no cn")]);
        assert_eq!((none.subject_cn(), none.issuer_cn()), (None, None));
    }

    /// Over 64 KiB of text (thousands of SANs) the ends are `u32`s and every SAN reads back;
    /// the key hash is the SHA-256 of the SubjectPublicKeyInfo either way.
    #[test]
    fn long_texts_and_the_key_hash_read_back() {
        let names: Vec<String> = (0..3000)
            .map(|i| format!("host-{i:05}.a-rather-long-domain.example"))
            .collect();
        let p = CertificateParams::new(names.clone()).unwrap();
        let k = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).unwrap();
        let c = parse_cert_der(p.self_signed(&k).unwrap().der()).unwrap();
        assert!(c.wide_ends);
        assert_eq!(c.dns_sans(), names);
        assert_eq!(c.signature_algorithm(), "ecdsa-with-SHA256");
        assert_eq!(c.spki_sha256(), sha256_hex(c.spki_der()));
        let small = parse_cert_der(
            CertificateParams::new(vec!["a".to_string()])
                .unwrap()
                .self_signed(&k)
                .unwrap()
                .der(),
        )
        .unwrap();
        assert!(!small.wide_ends);
        assert_eq!(small.dns_sans(), ["a"]);
        assert_eq!(small.spki_sha256(), sha256_hex(small.spki_der()));
    }
}
