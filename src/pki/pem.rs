//! PEM framing: split a file into labelled blocks, notice legacy encryption headers
//! (`Proc-Type: 4,ENCRYPTED`), and decode each block's body.
//!
//! Public blocks whose label `rustls-pki-types` knows are decoded by it; private keys and a few
//! other labels the analysis needs (`RSA PUBLIC KEY`, `NEW CERTIFICATE REQUEST`) are
//! base64-decoded here, private ones into zeroizing buffers throughout. Encrypted and
//! OpenSSH blocks are kept undecoded: their label is enough to report them as not parsed.
//! Decoded bodies live in [`Zeroizing`] buffers, since a block may hold a private key.

use base64::Engine as _;
use rustls_pki_types::pem::{PemObject, SectionKind};
use std::fmt;
use zeroize::Zeroizing;

use super::PkiError;

/// One `-----BEGIN <label>----- … -----END <label>-----` block.
pub struct PemBlock {
    /// The label between `BEGIN ` and the dashes, e.g. `CERTIFICATE`.
    pub label: String,
    /// Whether RFC 1421 headers (`Proc-Type: 4,ENCRYPTED`, `DEK-Info: …`) mark it as encrypted.
    pub encrypted: bool,
    /// The decoded body; `None` for encrypted blocks and labels that are not decoded.
    pub der: Option<Zeroizing<Vec<u8>>>,
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
    data.windows(11).any(|w| w == b"-----BEGIN ")
}

/// Labels decoded here rather than by `rustls-pki-types`.
const EXTRA_DECODED: &[&str] = &[
    "RSA PUBLIC KEY",
    "NEW CERTIFICATE REQUEST",
    "TRUSTED CERTIFICATE",
];

/// A block being read: label, byte offset of its BEGIN line, body lines, header lines.
type OpenBlock<'a> = (String, usize, Vec<&'a [u8]>, Vec<&'a [u8]>);

/// Split `data` into its PEM blocks, in file order. Text outside blocks is ignored.
pub fn parse_blocks(data: &[u8]) -> Result<Vec<PemBlock>, PkiError> {
    let mut blocks = Vec::new();
    let mut open: Option<OpenBlock<'_>> = None;
    let mut offset = 0usize;
    for raw_line in data.split_inclusive(|b| *b == b'\n') {
        let line_start = offset;
        offset += raw_line.len();
        let line = trim_ascii(raw_line);
        if let Some(rest) = line.strip_prefix(b"-----BEGIN ") {
            if let Some((label, _, _, _)) = &open {
                return Err(PkiError::Pem(format!("BEGIN inside an open {label} block")));
            }
            let label = rest
                .strip_suffix(b"-----")
                .ok_or_else(|| PkiError::Pem("BEGIN line without trailing dashes".into()))?;
            let label = String::from_utf8_lossy(label).into_owned();
            open = Some((label, line_start, Vec::new(), Vec::new()));
            continue;
        }
        if let Some(rest) = line.strip_prefix(b"-----END ") {
            let Some((label, start, body, headers)) = open.take() else {
                return Err(PkiError::Pem("END line without BEGIN".into()));
            };
            let end_label = rest.strip_suffix(b"-----").unwrap_or(rest);
            if end_label != label.as_bytes() {
                return Err(PkiError::Pem(format!(
                    "{label} block ends with END {}",
                    String::from_utf8_lossy(end_label)
                )));
            }
            blocks.push(finish_block(label, &data[start..offset], &body, &headers)?);
            continue;
        }
        if let Some((_, _, body, headers)) = open.as_mut() {
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
    if let Some((label, _, _, _)) = open {
        return Err(PkiError::Pem(format!("{label} block has no END line")));
    }
    Ok(blocks)
}

fn finish_block(
    label: String,
    whole: &[u8],
    body: &[&[u8]],
    headers: &[&[u8]],
) -> Result<PemBlock, PkiError> {
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
    // Private keys are decoded here, into zeroizing buffers end to end.
    if label.ends_with("PRIVATE KEY") {
        let decoded = matches!(
            label.as_str(),
            "RSA PRIVATE KEY" | "PRIVATE KEY" | "EC PRIVATE KEY"
        );
        return Ok(PemBlock {
            der: if decoded {
                Some(decode_body(&label, body)?)
            } else {
                None
            },
            label,
            encrypted: false,
        });
    }
    if SectionKind::try_from(label.as_bytes()).is_ok() {
        let (_, der) = <(SectionKind, Vec<u8>)>::from_pem_slice(whole)
            .map_err(|e| PkiError::Pem(format!("{label} block: {e}")))?;
        return Ok(PemBlock {
            label,
            encrypted: false,
            der: Some(Zeroizing::new(der)),
        });
    }
    if EXTRA_DECODED.contains(&label.as_str()) {
        return Ok(PemBlock {
            der: Some(decode_body(&label, body)?),
            label,
            encrypted: false,
        });
    }
    Ok(PemBlock {
        label,
        encrypted: false,
        der: None,
    })
}

fn decode_body(label: &str, body: &[&[u8]]) -> Result<Zeroizing<Vec<u8>>, PkiError> {
    let b64: Zeroizing<Vec<u8>> = Zeroizing::new(body.concat());
    base64::engine::general_purpose::STANDARD
        .decode(b64.as_slice())
        .map(Zeroizing::new)
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
    fn unknown_labels_are_kept_undecoded() {
        let pem = b"junk\n-----BEGIN EC PARAMETERS-----\nBggqhkjOPQMBBw==\n-----END EC PARAMETERS-----\r\n";
        let blocks = parse_blocks(pem).unwrap();
        assert_eq!(blocks[0].label, "EC PARAMETERS");
        assert!(blocks[0].der.is_none());
    }
}
