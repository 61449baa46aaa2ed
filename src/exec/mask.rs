//! Secret values of a run (params of type `secret`, read from the environment or a file) are
//! replaced by `***` in everything harrow writes: the journal, the streamed output, dry-run
//! listings and error messages. Each value is masked as given and as shell-quoting writes it
//! into a command, so neither form leaks.

use crate::runbook::template::shell_quote;

/// The shortest secret accepted: shorter values would mask ordinary words.
pub const MIN_SECRET_LEN: usize = 6;

/// What replaces a secret.
pub const MASK: &str = "***";

/// Replaces every secret value.
#[derive(Debug, Clone, Default)]
pub struct Masker {
    /// Longest first, so a secret holding another is masked whole.
    needles: Vec<String>,
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
        Masker { needles }
    }

    /// `text` with every secret replaced.
    pub fn text(&self, text: &str) -> String {
        let mut out = text.to_string();
        for n in &self.needles {
            if out.contains(n.as_str()) {
                out = out.replace(n.as_str(), MASK);
            }
        }
        out
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
}
