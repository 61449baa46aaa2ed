//! PEM framing: split a file into labelled blocks, notice legacy encryption headers
//! (`Proc-Type: 4,ENCRYPTED`), and decode each block's body.
//!
//! Blocks with a label the analysis reads (certificates, CSRs, public keys, CRLs, unencrypted
//! private keys) are base64-decoded, leniently (padding optional, whitespace lines skipped);
//! private keys into zeroizing buffers end to end. Encrypted and OpenSSH blocks are kept
//! undecoded: their label is enough to report them as not parsed.

use base64::Engine as _;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use std::fmt;
use std::ops::Deref;
use zeroize::Zeroizing;

use super::PkiError;

/// One `-----BEGIN <label>----- … -----END <label>-----` block.
pub struct PemBlock {
    /// The label between `BEGIN ` and the dashes, e.g. `CERTIFICATE`.
    pub label: String,
    /// Whether RFC 1421 headers (`Proc-Type: 4,ENCRYPTED`, `DEK-Info: …`) mark it as encrypted.
    pub encrypted: bool,
    /// The decoded body; `None` for encrypted blocks and labels that are not decoded.
    pub der: Option<Der>,
}

/// A decoded block body: private keys are wiped from memory when dropped, public material
/// (certificates by the hundred thousand) is not.
pub enum Der {
    Public(Vec<u8>),
    Secret(Zeroizing<Vec<u8>>),
}

impl Deref for Der {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        match self {
            Der::Public(v) => v,
            Der::Secret(v) => v,
        }
    }
}

impl fmt::Debug for PemBlock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PemBlock")
            .field("label", &self.label)
            .field("encrypted", &self.encrypted)
            .field("der_len", &self.der.as_ref().map(|d| d.len()))
            .finish()
    }
}

/// Whether `data` contains a PEM BEGIN line (anything else is treated as DER).
pub fn looks_like_pem(data: &[u8]) -> bool {
    memchr::memmem::find(data, b"-----BEGIN ").is_some()
}

/// Public labels whose bodies are decoded.
const DECODED: &[&str] = &[
    "CERTIFICATE",
    "X509 CERTIFICATE",
    "TRUSTED CERTIFICATE",
    "CERTIFICATE REQUEST",
    "NEW CERTIFICATE REQUEST",
    "PUBLIC KEY",
    "RSA PUBLIC KEY",
    "X509 CRL",
];

/// Standard alphabet; padding optional and trailing bits tolerated, as PEM readers in the
/// field are (OpenSSL, Go's encoding/pem).
const LENIENT: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_decode_padding_mode(DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true),
);

/// A block being read: label, body lines, header lines.
type OpenBlock<'a> = (String, Vec<&'a [u8]>, Vec<&'a [u8]>);

/// Split `data` into its PEM blocks, in file order. Text outside blocks is ignored; the first
/// malformed block is the error.
pub fn parse_blocks(data: &[u8]) -> Result<Vec<PemBlock>, PkiError> {
    blocks(data).collect()
}

/// One PEM block of `der` under `label`, 64 base64 characters a line, as Go's `pem.Encode` and
/// OpenSSL write it.
pub fn encode(label: &str, der: &[u8]) -> String {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(chunk));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

/// The PEM blocks of `data`, in file order, decoded one at a time (a reader that needs only the
/// first few blocks stops early). The first malformed block is yielded as its error and ends
/// the iteration.
pub fn blocks(data: &[u8]) -> Blocks<'_> {
    Blocks {
        lines: Lines(Some(data)),
        done: false,
    }
}

/// The `\n`-separated lines of a byte string (the last one possibly empty), found with memchr.
struct Lines<'a>(Option<&'a [u8]>);

impl<'a> Iterator for Lines<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        let rest = self.0?;
        match memchr::memchr(b'\n', rest) {
            Some(i) => {
                self.0 = rest.get(i + 1..);
                rest.get(..i)
            }
            None => self.0.take(),
        }
    }
}

/// The iterator of [`blocks`].
pub struct Blocks<'a> {
    lines: Lines<'a>,
    done: bool,
}

impl Iterator for Blocks<'_> {
    type Item = Result<PemBlock, PkiError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let block = self.next_block();
        if !matches!(block, Some(Ok(_))) {
            self.done = true;
        }
        block
    }
}

impl<'a> Blocks<'a> {
    /// Read lines up to the end of the next block: `None` when no block is left.
    fn next_block(&mut self) -> Option<Result<PemBlock, PkiError>> {
        let mut open: Option<OpenBlock<'a>> = None;
        for raw_line in self.lines.by_ref() {
            let line = trim_ascii(raw_line);
            if let Some(rest) = line.strip_prefix(b"-----BEGIN ") {
                if let Some((label, _, _)) = &open {
                    return Some(Err(PkiError::Pem(format!(
                        "BEGIN inside an open {label} block"
                    ))));
                }
                let Some(label) = rest.strip_suffix(b"-----") else {
                    return Some(Err(PkiError::Pem(
                        "BEGIN line without trailing dashes".into(),
                    )));
                };
                let label = String::from_utf8_lossy(label).into_owned();
                open = Some((label, Vec::new(), Vec::new()));
                continue;
            }
            if let Some(rest) = line.strip_prefix(b"-----END ") {
                let Some((label, body, headers)) = open.take() else {
                    return Some(Err(PkiError::Pem("END line without BEGIN".into())));
                };
                let end_label = rest.strip_suffix(b"-----").unwrap_or(rest);
                if end_label != label.as_bytes() {
                    return Some(Err(PkiError::Pem(format!(
                        "{label} block ends with END {}",
                        String::from_utf8_lossy(end_label)
                    ))));
                }
                return Some(finish_block(label, &body, &headers));
            }
            if let Some((_, body, headers)) = open.as_mut() {
                if line.is_empty() {
                    continue;
                }
                if body.is_empty() && line.contains(&b':') {
                    headers.push(line);
                } else {
                    body.push(line);
                }
            }
        }
        open.map(|(label, _, _)| Err(PkiError::Pem(format!("{label} block has no END line"))))
    }
}

fn finish_block(label: String, body: &[&[u8]], headers: &[&[u8]]) -> Result<PemBlock, PkiError> {
    let encrypted = headers.iter().any(|h| {
        let h = String::from_utf8_lossy(h);
        h.starts_with("Proc-Type") && h.contains("ENCRYPTED")
    });
    if encrypted || !headers.is_empty() {
        return Ok(PemBlock {
            label,
            encrypted,
            der: None,
        });
    }
    let der = if label.ends_with("PRIVATE KEY") {
        // Private keys are decoded into zeroizing buffers end to end.
        let decoded = matches!(
            label.as_str(),
            "RSA PRIVATE KEY" | "PRIVATE KEY" | "EC PRIVATE KEY"
        );
        if decoded {
            let b64 = Zeroizing::new(body.concat());
            let mut out = Zeroizing::new(Vec::with_capacity(b64.len() / 4 * 3 + 3));
            decode_into(&label, &b64, &mut out)?;
            Some(Der::Secret(out))
        } else {
            None
        }
    } else if DECODED.contains(&label.as_str()) {
        let b64 = body.concat();
        let mut out = Vec::with_capacity(b64.len() / 4 * 3 + 3);
        decode_into(&label, &b64, &mut out)?;
        Some(Der::Public(out))
    } else {
        None
    };
    Ok(PemBlock {
        label,
        encrypted: false,
        der,
    })
}

fn decode_into(label: &str, b64: &[u8], out: &mut Vec<u8>) -> Result<(), PkiError> {
    LENIENT
        .decode_vec(b64, out)
        .map_err(|e| PkiError::Pem(format!("{label} block: base64: {e}")))
}

fn trim_ascii(line: &[u8]) -> &[u8] {
    let start = line
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(line.len());
    let end = line
        .iter()
        .rposition(|b| !b.is_ascii_whitespace())
        .map_or(start, |i| i + 1);
    &line[start..end.max(start)]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn legacy_encrypted_block_is_flagged_not_decoded() {
        let pem = b"-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-256-CBC,00\n\nAAAA\n-----END RSA PRIVATE KEY-----\n";
        let blocks = parse_blocks(pem).unwrap();
        assert_eq!(blocks.len(), 1);
        assert!(blocks[0].encrypted);
        assert!(blocks[0].der.is_none());
    }

    #[test]
    fn missing_end_is_an_error() {
        let pem = b"-----BEGIN CERTIFICATE-----\nAAAA\n";
        assert!(matches!(parse_blocks(pem), Err(PkiError::Pem(_))));
    }

    #[test]
    fn bad_base64_is_an_error() {
        let pem = b"-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n";
        assert!(matches!(parse_blocks(pem), Err(PkiError::Pem(_))));
    }

    #[test]
    fn bodies_decode_with_or_without_padding_and_crlf() {
        // "hello!!" is 7 bytes: base64 `aGVsbG8hIQ==`.
        let padded =
            b"-----BEGIN CERTIFICATE-----\r\naGVsbG8h\r\nIQ==\r\n-----END CERTIFICATE-----\r\n";
        let bare = b"-----BEGIN CERTIFICATE-----\naGVsbG8hIQ\n-----END CERTIFICATE-----\n";
        for pem in [&padded[..], &bare[..]] {
            let blocks = parse_blocks(pem).unwrap();
            assert_eq!(blocks.len(), 1);
            assert_eq!(blocks[0].der.as_deref(), Some(&b"hello!!"[..]));
        }
    }

    #[test]
    fn private_key_bodies_are_secret_buffers() {
        let pem = b"-----BEGIN PRIVATE KEY-----\naGVsbG8hIQ==\n-----END PRIVATE KEY-----\n";
        let blocks = parse_blocks(pem).unwrap();
        assert!(matches!(blocks[0].der, Some(Der::Secret(_))));
        let pem = b"-----BEGIN PUBLIC KEY-----\naGVsbG8hIQ==\n-----END PUBLIC KEY-----\n";
        let blocks = parse_blocks(pem).unwrap();
        assert!(matches!(blocks[0].der, Some(Der::Public(_))));
    }

    #[test]
    fn blocks_stop_at_the_first_malformed_block() {
        let pem = b"-----BEGIN CERTIFICATE-----\naGVsbG8hIQ==\n-----END CERTIFICATE-----\n\
            -----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n\
            -----BEGIN CERTIFICATE-----\naGVsbG8hIQ==\n-----END CERTIFICATE-----\n";
        let read: Vec<_> = blocks(pem).collect();
        assert_eq!(read.len(), 2);
        assert_eq!(
            read[0].as_ref().unwrap().der.as_deref(),
            Some(&b"hello!!"[..])
        );
        assert!(matches!(read[1], Err(PkiError::Pem(_))));
        assert!(matches!(parse_blocks(pem), Err(PkiError::Pem(_))));
        assert_eq!(blocks(b"no pem here").count(), 0);
    }

    #[test]
    fn unknown_labels_are_kept_undecoded() {
        let pem = b"junk\n-----BEGIN EC PARAMETERS-----\nBggqhkjOPQMBBw==\n-----END EC PARAMETERS-----\r\n";
        let blocks = parse_blocks(pem).unwrap();
        assert_eq!(blocks[0].label, "EC PARAMETERS");
        assert!(blocks[0].der.is_none());
    }
}
