//! Key files of the credential model: a `.key` file's keys (public halves only) or a collected
//! `.pub-fingerprint` file's SubjectPublicKeyInfo hashes, which stand for the keys they replaced.

use super::Origin;
use crate::pki::{self, KeyInfo, KeyStatus};

/// One key of a key file: public material only.
pub type KeyRecord = KeyInfo;

/// What a key file holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyList {
    /// Keys read from a `.key` file, in file order.
    Keys(Vec<KeyRecord>),
    /// SPKI SHA-256 hashes from a `.pub-fingerprint` file, in file order.
    Fingerprints(Vec<String>),
}

/// A key file or its `.pub-fingerprint` stand-in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyFile {
    pub origin: Origin,
    /// The keys, or why the file could not be read.
    pub list: Result<KeyList, String>,
}

impl KeyFile {
    /// Read `data`, a `.pub-fingerprint` file when `fingerprints`, else a key file.
    pub fn read(origin: Origin, data: &[u8], fingerprints: bool) -> KeyFile {
        let list = if fingerprints {
            pki::parse_pub_fingerprints(data).map(KeyList::Fingerprints)
        } else {
            pki::parse_keys(data).map(KeyList::Keys)
        };
        KeyFile {
            origin,
            list: list.map_err(|e| e.to_string()),
        }
    }

    /// True for a `.pub-fingerprint` file.
    pub fn is_fingerprint_file(&self) -> bool {
        self.origin.host_path().ends_with(".pub-fingerprint")
    }

    /// The host path of the key this file is or stands for (`….key`).
    pub fn key_host(&self) -> &str {
        let host = self.origin.host_path();
        host.strip_suffix(".pub-fingerprint").unwrap_or(host)
    }

    /// The public-key hashes of the file's keys, in file order (keys whose public half could
    /// not be derived are left out).
    pub fn spkis(&self) -> Vec<&str> {
        match &self.list {
            Ok(KeyList::Keys(v)) => v.iter().filter_map(|k| k.spki_sha256.as_deref()).collect(),
            Ok(KeyList::Fingerprints(v)) => v.iter().map(String::as_str).collect(),
            Err(_) => Vec::new(),
        }
    }

    /// Why the file, or a key in it, could not be read: one sentence each.
    pub fn problems(&self) -> Vec<String> {
        match &self.list {
            Err(e) => vec![e.clone()],
            Ok(KeyList::Keys(v)) => v
                .iter()
                .filter_map(|k| match &k.status {
                    KeyStatus::NotParsed(reason) => {
                        Some(format!("key #{}: not parsed: {reason}", k.index))
                    }
                    KeyStatus::Parsed => None,
                })
                .collect(),
            Ok(KeyList::Fingerprints(_)) => Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn origin(host: &str) -> Origin {
        Origin::new("s1.tgz", host).on("s1", host)
    }

    #[test]
    fn a_fingerprint_file_stands_for_its_key() {
        let fp = "ab".repeat(32);
        let f = KeyFile::read(
            origin("var/lib/rancher/rke2/server/tls/service.key.pub-fingerprint"),
            format!("{fp}\n").as_bytes(),
            true,
        );
        assert!(f.is_fingerprint_file());
        assert_eq!(f.key_host(), "var/lib/rancher/rke2/server/tls/service.key");
        assert_eq!(f.spkis(), vec![fp.as_str()]);
        assert!(f.problems().is_empty());
    }

    #[test]
    fn an_unreadable_key_file_says_why() {
        let f = KeyFile::read(
            origin("var/lib/rancher/rke2/server/tls/x.key"),
            b"not a key",
            false,
        );
        assert!(f.spkis().is_empty());
        assert_eq!(f.problems().len(), 1, "{:?}", f.problems());
    }
}
