//! The supervisor listener's `server/tls/dynamic-cert.json`: the JSON encoding of a
//! `kubernetes.io/tls` v1.Secret whose `data["tls.crt"]` (leaf + server-ca chain) and
//! `data["tls.key"]` (an ECDSA key) are base64. Annotations (`listener.cattle.io/cn-*`,
//! `listener.cattle.io/fingerprint`) are kept; the key is reduced to its public half.

use std::collections::BTreeMap;

use serde::Deserialize;
use zeroize::Zeroizing;

use super::PkiError;
use super::cert::{Cert, parse_certs};
use super::key::{KeyInfo, parse_keys};
use super::kubeconfig::decode_b64;
use super::secret::is_placeholder;

/// What `dynamic-cert.json` holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DynamicCert {
    /// The secret's `type` (normally `kubernetes.io/tls`).
    pub secret_type: Option<String>,
    pub annotations: BTreeMap<String, String>,
    /// `tls.crt`: leaf first, then the chain; or why it did not decode; `None` when absent.
    pub certs: Option<Result<Vec<Cert>, PkiError>>,
    /// `tls.key` public halves; or why it did not decode; `None` when absent or masked.
    pub keys: Option<Result<Vec<KeyInfo>, PkiError>>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct RawSecret {
    #[serde(rename = "type")]
    secret_type: Option<String>,
    metadata: RawMeta,
    data: BTreeMap<String, String>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct RawMeta {
    annotations: BTreeMap<String, String>,
}

/// Parse `dynamic-cert.json`. Only JSON that does not parse is an error (its message carries
/// the position, never the text).
pub fn parse_dynamic_cert(data: &[u8]) -> Result<DynamicCert, PkiError> {
    let mut raw: RawSecret = serde_json::from_slice(data).map_err(|e| PkiError::Document {
        what: crate::layout::file_name(crate::layout::DYNAMIC_CERT),
        detail: format!("JSON error at line {} column {}", e.line(), e.column()),
    })?;
    let crt = raw.data.remove("tls.crt");
    let key = raw.data.remove("tls.key").map(Zeroizing::new);
    Ok(DynamicCert {
        secret_type: raw.secret_type,
        annotations: raw.metadata.annotations,
        certs: crt
            .filter(|s| !is_placeholder(s))
            .map(|s| decode_b64(&s).and_then(|b| parse_certs(&b))),
        keys: key
            .filter(|s| !is_placeholder(s))
            .map(|s| decode_b64(&s).and_then(|b| parse_keys(&b))),
    })
}
