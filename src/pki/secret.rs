//! Secrets in memory and their keyed fingerprints.
//!
//! [`Secret`] holds a password or other secret string: it has no `Display`, its `Debug` prints
//! `<redacted>`, equality is compared in constant time, and the bytes are zeroized on drop.
//! Where output must show that two secrets are equal or different it shows
//! [`FingerprintKey::fingerprint`]: `hm:` and the first 16 hex digits of HMAC-SHA256 keyed with a
//! per-run random key (or a key read from a file, to compare across runs) — never a bare hash.

use std::fmt;

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use super::PkiError;

/// A secret string. Never printed.
#[derive(Clone)]
pub struct Secret(Zeroizing<String>);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(Zeroizing::new(value.into()))
    }

    /// The value, for comparisons and key derivations inside the analysis. Never print it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl PartialEq for Secret {
    fn eq(&self, other: &Self) -> bool {
        self.0.as_bytes().ct_eq(other.0.as_bytes()).into()
    }
}

impl Eq for Secret {}

/// Whether a collected secret value (a token, a password, key data) holds no secret: a stand-in
/// for one that was removed (the collector's `***`, rke2's `********`: any run of asterisks),
/// the empty string, or the string `null`. A wider question than
/// [`crate::snapshot::is_masked`], which asks only whether the collector masked a value.
pub fn is_placeholder(value: &str) -> bool {
    let v = value.trim();
    v.is_empty() || v == "null" || v.bytes().all(|b| b == b'*')
}

/// Whether `value` is a keyed fingerprint ([`FingerprintKey::fingerprint`]: `hm:` and 16
/// lowercase hex digits), the stand-in `harrow redact` and `harrow collect` write for a secret.
pub fn is_keyed_fingerprint(value: &str) -> bool {
    value.trim().strip_prefix("hm:").is_some_and(|h| {
        h.len() == 16
            && h.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    })
}

/// The key of keyed fingerprints.
#[derive(Clone)]
pub struct FingerprintKey(Zeroizing<Vec<u8>>);

impl fmt::Debug for FingerprintKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("FingerprintKey(<redacted>)")
    }
}

impl FingerprintKey {
    /// A fresh random 32-byte key for this run.
    pub fn random() -> Result<Self, PkiError> {
        let mut key = Zeroizing::new(vec![0u8; 32]);
        getrandom::fill(&mut key).map_err(|e| PkiError::Random(e.to_string()))?;
        Ok(FingerprintKey(key))
    }

    /// A key from the bytes of a `--fingerprint-key` file (surrounding whitespace trimmed, so
    /// a trailing newline does not change the key).
    pub fn from_file_bytes(bytes: &[u8]) -> Self {
        let start = bytes
            .iter()
            .position(|b| !b.is_ascii_whitespace())
            .unwrap_or(bytes.len());
        let end = bytes
            .iter()
            .rposition(|b| !b.is_ascii_whitespace())
            .map_or(start, |i| i + 1);
        FingerprintKey(Zeroizing::new(bytes[start..end.max(start)].to_vec()))
    }

    /// `hm:` + the first 16 hex digits of HMAC-SHA256(key, value).
    pub fn fingerprint_bytes(&self, value: &[u8]) -> String {
        // HMAC accepts keys of any length, so this cannot fail; fall back to an empty key to
        // stay total without a panic path.
        let mut mac = match <Hmac<Sha256> as KeyInit>::new_from_slice(&self.0) {
            Ok(m) => m,
            Err(_) => <Hmac<Sha256> as KeyInit>::new(&Default::default()),
        };
        mac.update(value);
        let digest = mac.finalize().into_bytes();
        let mut hexed = hex::encode(digest);
        hexed.truncate(16);
        format!("hm:{hexed}")
    }

    /// The keyed fingerprint of a secret.
    pub fn fingerprint(&self, secret: &Secret) -> String {
        self.fingerprint_bytes(secret.expose().as_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_is_redacted_and_eq_compares_values() {
        let a = Secret::new("hunter2-password");
        assert_eq!(format!("{a:?}"), "<redacted>");
        assert_eq!(a, Secret::new("hunter2-password"));
        assert_ne!(a, Secret::new("hunter3-password"));
        assert_ne!(a, Secret::new("hunter2"));
    }

    #[test]
    fn fingerprints_are_keyed() {
        let k1 = FingerprintKey::from_file_bytes(b"key-one\n");
        let k2 = FingerprintKey::from_file_bytes(b"key-two");
        let s = Secret::new("rancher");
        let f1 = k1.fingerprint(&s);
        assert!(f1.starts_with("hm:"));
        assert_eq!(f1.len(), 3 + 16);
        assert_eq!(
            f1,
            FingerprintKey::from_file_bytes(b"key-one").fingerprint(&s)
        );
        assert_ne!(f1, k2.fingerprint(&s));
        let r = FingerprintKey::random().unwrap();
        assert_ne!(r.fingerprint(&s), f1);
        assert_eq!(format!("{r:?}"), "FingerprintKey(<redacted>)");
    }

    #[test]
    fn placeholders_hold_no_secret() {
        for v in ["***", "", "null", "  ", "********", " *** "] {
            assert!(is_placeholder(v), "{v:?}");
        }
        for v in ["K10abc::server:pw", "pw***", "nullable", "*a*"] {
            assert!(!is_placeholder(v), "{v:?}");
        }
    }
}
