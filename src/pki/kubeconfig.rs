//! Kubeconfig files (`rke2.yaml`, `cred/*.kubeconfig`, agent kubeconfigs): clusters with their CA
//! (embedded `certificate-authority-data` or a `certificate-authority` file reference), users
//! with their client certificate and key (embedded or referenced), `token:` fields (secrets:
//! kept as [`Secret`], shown only as keyed fingerprints), contexts and the current context.
//!
//! An embedded value that does not decode is kept as an error on that field; the rest of the
//! kubeconfig still loads. Masked values (`***`, empty, `null`) are absent.

use base64::Engine as _;
use serde::Deserialize;
use zeroize::Zeroizing;

use super::PkiError;
use super::cert::{Cert, parse_certs};
use super::key::{KeyInfo, parse_keys};
use super::secret::{Secret, is_placeholder};

/// A cluster entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KubeCluster {
    pub name: String,
    pub server: Option<String>,
    /// Certificates of `certificate-authority-data`, or why they did not decode.
    pub ca: Option<Result<Vec<Cert>, PkiError>>,
    /// The `certificate-authority` file path.
    pub ca_file: Option<String>,
    pub insecure_skip_tls_verify: bool,
}

/// A user entry. Secret material is either reduced to public data (keys) or wrapped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KubeUser {
    pub name: String,
    /// Certificates of `client-certificate-data` (leaf first), or why they did not decode.
    pub client_cert: Option<Result<Vec<Cert>, PkiError>>,
    pub client_cert_file: Option<String>,
    /// Public halves of the keys in `client-key-data`, or why they did not decode.
    pub client_key: Option<Result<Vec<KeyInfo>, PkiError>>,
    pub client_key_file: Option<String>,
    /// A bearer `token:`.
    pub token: Option<Secret>,
    /// A `password:` (basic auth).
    pub password: Option<Secret>,
    /// Keys whose value was masked by the collector.
    pub masked: Vec<String>,
}

/// A context entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KubeContext {
    pub name: String,
    pub cluster: Option<String>,
    pub user: Option<String>,
    pub namespace: Option<String>,
}

/// A parsed kubeconfig.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Kubeconfig {
    pub clusters: Vec<KubeCluster>,
    pub users: Vec<KubeUser>,
    pub contexts: Vec<KubeContext>,
    pub current_context: Option<String>,
}

impl Kubeconfig {
    /// The current context with its cluster and user, when they resolve.
    pub fn current(&self) -> Option<(&KubeContext, Option<&KubeCluster>, Option<&KubeUser>)> {
        let name = self.current_context.as_deref()?;
        let ctx = self.contexts.iter().find(|c| c.name == name)?;
        let cluster = ctx
            .cluster
            .as_deref()
            .and_then(|n| self.clusters.iter().find(|c| c.name == n));
        let user = ctx
            .user
            .as_deref()
            .and_then(|n| self.users.iter().find(|u| u.name == n));
        Some((ctx, cluster, user))
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct RawConfig {
    clusters: Option<Vec<RawNamedCluster>>,
    users: Option<Vec<RawNamedUser>>,
    contexts: Option<Vec<RawNamedContext>>,
    #[serde(rename = "current-context")]
    current_context: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct RawNamedCluster {
    name: String,
    cluster: RawCluster,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct RawCluster {
    server: Option<String>,
    #[serde(rename = "certificate-authority")]
    ca_file: Option<String>,
    #[serde(rename = "certificate-authority-data")]
    ca_data: Option<String>,
    #[serde(rename = "insecure-skip-tls-verify")]
    insecure: Option<bool>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct RawNamedUser {
    name: String,
    user: RawUser,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct RawUser {
    #[serde(rename = "client-certificate")]
    cert_file: Option<String>,
    #[serde(rename = "client-certificate-data")]
    cert_data: Option<String>,
    #[serde(rename = "client-key")]
    key_file: Option<String>,
    #[serde(rename = "client-key-data")]
    key_data: Option<String>,
    token: Option<String>,
    password: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct RawNamedContext {
    name: String,
    context: RawContext,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct RawContext {
    cluster: Option<String>,
    user: Option<String>,
    namespace: Option<String>,
}

/// Parse a kubeconfig. Only a document that is not YAML at all is an error; its message
/// carries the line but never the parser's text (which could quote a secret).
pub fn parse_kubeconfig(data: &[u8]) -> Result<Kubeconfig, PkiError> {
    let text = Zeroizing::new(String::from_utf8_lossy(data).into_owned());
    let raw: RawConfig = serde_saphyr::from_str(&text).map_err(|e| PkiError::Document {
        what: "kubeconfig",
        detail: match e.location() {
            Some(l) => format!("YAML error at line {}", l.line()),
            None => "YAML error".to_string(),
        },
    })?;
    let clusters = raw
        .clusters
        .unwrap_or_default()
        .into_iter()
        .map(|c| KubeCluster {
            name: c.name,
            server: c.cluster.server,
            ca: present(c.cluster.ca_data).map(|d| decode_b64(&d).and_then(|b| parse_certs(&b))),
            ca_file: present(c.cluster.ca_file),
            insecure_skip_tls_verify: c.cluster.insecure.unwrap_or(false),
        })
        .collect();
    let users = raw
        .users
        .unwrap_or_default()
        .into_iter()
        .map(|u| {
            let RawUser {
                cert_file,
                cert_data,
                key_file,
                key_data,
                token,
                password,
            } = u.user;
            let key_data = key_data.map(Zeroizing::new);
            let token = token.map(Zeroizing::new);
            let password = password.map(Zeroizing::new);
            let mut masked = Vec::new();
            let mut note = |k: &str, v: &Option<Zeroizing<String>>| {
                if v.as_ref().is_some_and(|s| is_placeholder(s)) {
                    masked.push(k.to_string());
                }
            };
            note("client-key-data", &key_data);
            note("token", &token);
            note("password", &password);
            if cert_data.as_ref().is_some_and(|s| is_placeholder(s)) {
                masked.push("client-certificate-data".into());
            }
            KubeUser {
                name: u.name,
                client_cert: present(cert_data)
                    .map(|d| decode_b64(&d).and_then(|b| parse_certs(&b))),
                client_cert_file: present(cert_file),
                client_key: key_data
                    .filter(|s| !is_placeholder(s))
                    .map(|d| decode_b64(&d).and_then(|b| parse_keys(&b))),
                client_key_file: present(key_file),
                token: token
                    .filter(|s| !is_placeholder(s))
                    .map(|s| Secret::new(s.as_str())),
                password: password
                    .filter(|s| !is_placeholder(s))
                    .map(|s| Secret::new(s.as_str())),
                masked,
            }
        })
        .collect();
    let contexts = raw
        .contexts
        .unwrap_or_default()
        .into_iter()
        .map(|c| KubeContext {
            name: c.name,
            cluster: c.context.cluster,
            user: c.context.user,
            namespace: c.context.namespace,
        })
        .collect();
    Ok(Kubeconfig {
        clusters,
        users,
        contexts,
        current_context: present(raw.current_context),
    })
}

fn present(v: Option<String>) -> Option<String> {
    v.filter(|s| !is_placeholder(s))
}

/// Base64 (standard alphabet, whitespace ignored) into a zeroizing buffer.
pub(crate) fn decode_b64(s: &str) -> Result<Zeroizing<Vec<u8>>, PkiError> {
    let compact: Zeroizing<String> =
        Zeroizing::new(s.chars().filter(|c| !c.is_ascii_whitespace()).collect());
    base64::engine::general_purpose::STANDARD
        .decode(compact.as_bytes())
        .map(Zeroizing::new)
        .map_err(|e| PkiError::der("base64 data", e))
}
