//! Secret values of a run (params of type `secret`, read from the environment or a file) are
//! replaced by `***` in everything harrow writes: the journal, the streamed output, dry-run
//! listings and error messages. Each value is masked as given and as shell-quoting writes it
//! into a command, so neither form leaks. Secrets a command prints that harrow was never given
//! (a token read from a node's file, a private key, a password line) go through the scrubber of
//! `harrow redact` ([`crate::export::scrub::Scrubber`]): token passwords and password values
//! become keyed fingerprints, private keys their public halves.

use std::collections::BTreeSet;

use crate::export::scrub::Scrubber;
use crate::pki::secret::FingerprintKey;
use crate::runbook::template::shell_quote;

/// The shortest secret accepted: shorter values would mask ordinary words.
pub const MIN_SECRET_LEN: usize = 6;

/// What replaces a secret.
pub const MASK: &str = "***";

/// Replaces every secret value.
pub struct Masker {
    /// Longest first, so a secret holding another is masked whole.
    needles: Vec<String>,
    scrubber: Scrubber,
}

impl std::fmt::Debug for Masker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Masker({} values)", self.needles.len())
    }
}

impl Masker {
    pub fn new<'a>(secrets: impl IntoIterator<Item = &'a str>) -> Masker {
        let mut needles = Vec::new();
        for s in secrets {
            if s.is_empty() {
                continue;
            }
            needles.push(s.to_string());
            let q = shell_quote(s);
            if q != s {
                needles.push(q);
                // Inside single quotes a `'` is written `'\''`.
                needles.push(s.replace('\'', "'\\''"));
            }
        }
        needles.sort_by(|a, b| b.len().cmp(&a.len()).then(a.cmp(b)));
        needles.dedup();
        // A key of this run only: fingerprints of what commands print compare within the run
        // and cannot be looked up in a dictionary by anyone reading the journal.
        let key = FingerprintKey::random().unwrap_or_else(|_| {
            let seed = format!("{:?}{}", std::time::SystemTime::now(), std::process::id());
            FingerprintKey::from_file_bytes(seed.as_bytes())
        });
        Masker {
            needles,
            scrubber: Scrubber::new(key, Vec::new()),
        }
    }

    /// `text` with every secret replaced.
    pub fn text(&self, text: &str) -> String {
        let mut out = text.to_string();
        for n in &self.needles {
            if out.contains(n.as_str()) {
                out = out.replace(n.as_str(), MASK);
            }
        }
        let mut reasons = BTreeSet::new();
        let scrubbed = self.scrubber.scrub_chunk(out.as_bytes(), &mut reasons);
        String::from_utf8_lossy(&scrubbed).into_owned()
    }

    /// Bytes (command output) with every secret replaced, as text.
    pub fn bytes(&self, b: &[u8]) -> String {
        self.text(&String::from_utf8_lossy(b))
    }

    /// The longest secret's length: a streamed chunk keeps this many bytes back so that a value
    /// split between two chunks is still masked.
    pub fn longest(&self) -> usize {
        self.needles.first().map_or(0, String::len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_masked_as_given_and_as_quoted() {
        let m = Masker::new(["s3cr'et-value", "K10abc::server:pw123456"]);
        let quoted = shell_quote("s3cr'et-value");
        let line = format!("echo {quoted} K10abc::server:pw123456 s3cr'et-value");
        let out = m.text(&line);
        assert!(!out.contains("s3cr") && !out.contains("pw123456"), "{out}");
        assert_eq!(out.matches(MASK).count(), 3, "{out}");
    }

    #[test]
    fn secrets_a_command_prints_unasked_are_scrubbed_too() {
        let m = Masker::new([]);
        let token = format!("K10{}::server:unasked-password-42", "ab".repeat(32));
        let out = m.text(&format!("token: {token}\n"));
        assert!(!out.contains("unasked-password-42"), "{out}");
        assert!(out.contains(&"ab".repeat(32)), "the CA hash stays: {out}");
        let key = rcgen::KeyPair::generate().unwrap().serialize_pem();
        let out = m.text(&key);
        assert!(!out.contains("PRIVATE KEY"), "{out}");
    }
}
