//! PEM/DER parsing of certificates, private keys, `.pub-fingerprint` files and CSRs; key↔cert
//! pairing; tokens in their three forms and the token CA hash (RKE2's hashCA); keyed fingerprints
//! for secrets.
//!
//! Everything here is a pure function over bytes: no file system, no archive code. Errors are
//! [`PkiError`] values that say what failed; the caller adds the input and entry names.
//!
//! Rooms:
//! - [`pem`]: PEM framing (labels, legacy `Proc-Type` headers) and lenient base64 bodies.
//! - [`cert`]: certificates and CSRs, signature verification and chain status.
//! - [`p256_fast`]: ECDSA P-256 checks through a per-key table, for keys that sign many
//!   certificates.
//! - [`key`]: private and public keys, their SubjectPublicKeyInfo hash, `.pub-fingerprint` files.
//! - [`pairing`]: key ↔ certificate matching with Go's `tls.X509KeyPair` semantics.
//! - [`cahash`]: RKE2's token CA hash.
//! - [`secret`]: the [`secret::Secret`] newtype and keyed (HMAC) fingerprints.
//! - [`token`]: token parsing and token sources (files, config YAML, env files, `/oem`).
//! - [`kubeconfig`]: kubeconfig clusters, users and contexts.
//! - [`dynamic_cert`]: the supervisor's `dynamic-cert.json`.

pub mod cahash;
pub mod cert;
pub mod dynamic_cert;
pub mod key;
pub mod kubeconfig;
pub mod p256_fast;
pub mod pairing;
pub mod pem;
pub mod secret;
pub mod token;

pub use cahash::{CaHash, CaHashMethod, ca_hash, ca_hash_at};
pub use cert::{
    Cert, CertDecoder, CertMemo, ChainResult, ChainStatus, Csr, FastIssuers, FileCerts,
    KeyAlgorithm, Usage, Verification, chain_links_fast, chain_links_refs, chain_status,
    chain_status_refs, issuers_status_at, parse_cert_der, parse_certs, parse_certs_memo,
    parse_csrs, verifies, verify,
};
pub use dynamic_cert::{DynamicCert, parse_dynamic_cert};
pub use key::{KeyFormat, KeyInfo, KeyStatus, parse_keys, parse_pub_fingerprints};
pub use kubeconfig::{Kubeconfig, parse_kubeconfig};
pub use pairing::{Pairing, pair, pair_files, pair_fingerprint};
pub use secret::{FingerprintKey, Secret, is_placeholder};
pub use token::{
    ConfigTokens, Token, TokenFileRef, TokenForm, TokenFound, TokenRole, TokenScan, parse_token,
    scan_env_file, scan_rancherd_config, scan_rke2_config, scan_token_file, scan_yaml_tree,
};

use sha2::{Digest, Sha256};

/// What went wrong while reading PKI material. The caller names the input and entry.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PkiError {
    /// The PEM framing is broken (missing END line, bad base64, …).
    #[error("malformed PEM: {0}")]
    Pem(String),
    /// A DER structure did not parse; `what` names the structure.
    #[error("malformed {what}: {detail}")]
    Der { what: &'static str, detail: String },
    /// The input holds nothing of the expected kind.
    #[error("no {0} found")]
    Empty(&'static str),
    /// A token does not have one of the accepted forms.
    #[error("{0}")]
    Token(String),
    /// A YAML or JSON document did not parse.
    #[error("malformed {what}: {detail}")]
    Document { what: &'static str, detail: String },
    /// A `.pub-fingerprint` line is not a SHA-256 hex digest.
    #[error("line {line}: not a sha256 fingerprint")]
    Fingerprint { line: usize },
    /// Random bytes for a fingerprint key could not be obtained.
    #[error("no random bytes available: {0}")]
    Random(String),
}

impl PkiError {
    /// The crate error for this failure in `input` (and `entry` inside it).
    pub fn in_input(self, input: &str, entry: Option<&str>) -> crate::error::Error {
        crate::error::Error::input(input, entry.map(str::to_string), self.to_string())
    }

    pub(crate) fn der(what: &'static str, detail: impl std::fmt::Display) -> Self {
        PkiError::Der {
            what,
            detail: detail.to_string(),
        }
    }
}

/// Lowercase hex of the SHA-256 digest of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex_lower(&sha256(bytes))
}

/// The SHA-256 digest of `bytes`.
pub fn sha256(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

/// Lowercase hex of `bytes` (what `hex::encode` gives, without its per-character iterator:
/// a certificate parse makes five of these).
pub fn hex_lower(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    out
}
