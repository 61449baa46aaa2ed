//! New CA material generated offline for `harrow plan ca --stage-dir DIR`, in the topology of
//! the seed and the k3s contrib scripts (reference rke2-pki §4):
//!
//! - **self-signed** (`rotate-default-ca-certs.sh`): for each cluster CA a new P-256 root,
//!   self-signed and cross-signed by the current root, and a new CA signed by the new root; the
//!   bundle is `ca + root (self-signed) + root (cross-signed) + old root`, the key file the CA key
//!   then the root key. RKE2's `rotate-ca` accepts it without `--force` (the new CA verifies
//!   from the old root through the cross-signed root).
//! - **same root** (`generate-custom-ca-certs.sh` with the existing root/intermediate): a new
//!   CA per purpose signed by the intermediate; bundle `ca + intermediate + root`.
//! - **new root** (`--force`): a new root and intermediate, then the per-purpose CAs; not
//!   verifiable from the old roots, so `rotate-ca --force`, new tokens and pod restarts follow.
//!
//! Keys are written mode 0600 and never leave DIR (the runbook names the directory, not the
//! keys). The current CA keys needed to cross-sign or to sign with the intermediate come from a
//! directory the operator copied from a server (`--ca-from`), or from a node snapshot that
//! carries them.

use std::path::{Path, PathBuf};

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, PKCS_ECDSA_P256_SHA256, SerialNumber,
};
use time::OffsetDateTime;

use crate::error::{Error, Result};
use crate::layout::CaFile;

/// How the new CAs relate to the current ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CaMode {
    /// New roots cross-signed by the old ones (RKE2's default self-signed CAs).
    SelfSigned,
    /// New per-purpose CAs under the same custom root.
    SameRoot,
    /// A new root, not cross-signed: `rotate-ca --force`.
    NewRoot,
}

impl CaMode {
    pub fn as_str(self) -> &'static str {
        match self {
            CaMode::SelfSigned => "cross-signed",
            CaMode::SameRoot => "same-root",
            CaMode::NewRoot => "new-root",
        }
    }
}

/// The current material of one CA: its bundle's PEM and its key file's PEM.
#[derive(Debug, Clone)]
pub struct Current {
    pub ca: CaFile,
    pub crt_pem: String,
    pub key_pem: String,
}

/// What was written.
#[derive(Debug, Clone)]
pub struct Staged {
    pub dir: PathBuf,
    /// The files written, relative to `dir`.
    pub files: Vec<String>,
    /// The new `server-ca.crt` bundle (PEM), for the token hash.
    pub server_ca_pem: String,
}

const DAY: i64 = 86_400;

fn name_of(ca: CaFile) -> &'static str {
    match ca {
        CaFile::ServerCa => "server",
        CaFile::ClientCa => "client",
        CaFile::RequestHeaderCa => "request-header",
        CaFile::EtcdServerCa => "etcd-server",
        CaFile::EtcdPeerCa => "etcd-peer",
    }
}

/// `server/tls/<rel>`'s path below `tls/`.
fn tls_rel(host: &str) -> &str {
    host.strip_prefix(crate::layout::SERVER_TLS_DIR)
        .unwrap_or(host)
        .trim_start_matches('/')
}

fn params(cn: &str, at: OffsetDateTime, days: i64) -> CertificateParams {
    let mut p = CertificateParams::default();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, cn);
    p.distinguished_name = dn;
    p.not_before = at - time::Duration::hours(1);
    p.not_after = at + time::Duration::seconds(days * DAY);
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    p.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
        KeyUsagePurpose::KeyCertSign,
    ];
    p.use_authority_key_identifier_extension = true;
    let mut serial = [0u8; 8];
    let _ = getrandom::fill(&mut serial);
    serial[0] &= 0x7f;
    p.serial_number = Some(SerialNumber::from_slice(&serial));
    p
}

fn gen_err(what: &str, e: impl std::fmt::Display) -> Error {
    Error::Internal(format!("generating {what}: {e}"))
}

/// A key PEM rcgen can sign with: PKCS#8 as is, SEC1 (`EC PRIVATE KEY`, what RKE2 writes)
/// converted.
fn key_pair(pem: &str, what: &str) -> Result<KeyPair> {
    if let Ok(k) = KeyPair::from_pem(pem) {
        return Ok(k);
    }
    use p256::pkcs8::EncodePrivateKey as _;
    let block = crate::pki::pem::parse_blocks(pem.as_bytes())
        .ok()
        .and_then(|b| b.into_iter().find(|b| b.label.contains("PRIVATE KEY")))
        .ok_or_else(|| Error::Usage(format!("{what}: no private key")))?;
    let der = block
        .der
        .ok_or_else(|| Error::Usage(format!("{what}: an encrypted or unreadable key")))?;
    if block.label == "RSA PRIVATE KEY" {
        // PKCS#1 (openssl genrsa -traditional, as the custom-CA script writes root and
        // intermediate keys): wrapped as PKCS#8 with the rsaEncryption algorithm.
        const RSA_ALG: [u8; 15] = [
            0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01, 0x05,
            0x00,
        ];
        let mut body = vec![0x02, 0x01, 0x00];
        body.extend_from_slice(&RSA_ALG);
        body.push(0x04);
        body.extend_from_slice(&der_len(der.len()));
        body.extend_from_slice(&der);
        let mut pkcs8 = vec![0x30];
        pkcs8.extend_from_slice(&der_len(body.len()));
        pkcs8.extend_from_slice(&body);
        let pem = crate::pki::pem::encode("PRIVATE KEY", &pkcs8);
        return KeyPair::from_pem(&pem).map_err(|e| Error::Usage(format!("{what}: {e}")));
    }
    let sk = p256::SecretKey::from_sec1_der(&der)
        .map_err(|e| Error::Usage(format!("{what}: not a P-256 key RKE2 writes ({e})")))?;
    let der = sk
        .to_pkcs8_der()
        .map_err(|e| Error::Usage(format!("{what}: {e}")))?;
    let pem = crate::pki::pem::encode("PRIVATE KEY", der.as_bytes());
    KeyPair::from_pem(&pem).map_err(|e| Error::Usage(format!("{what}: {e}")))
}

/// A DER length.
fn der_len(n: usize) -> Vec<u8> {
    if n < 0x80 {
        return vec![n as u8];
    }
    let bytes: Vec<u8> = n
        .to_be_bytes()
        .iter()
        .copied()
        .skip_while(|b| *b == 0)
        .collect();
    let mut out = vec![0x80 | bytes.len() as u8];
    out.extend(bytes);
    out
}

/// The certificate PEM blocks of a bundle, in order.
fn cert_blocks(pem: &str) -> Vec<String> {
    crate::pki::pem::parse_blocks(pem.as_bytes())
        .map(|v| {
            v.into_iter()
                .filter(|b| b.label == "CERTIFICATE")
                .filter_map(|b| b.der.map(|d| crate::pki::pem::encode("CERTIFICATE", &d)))
                .collect()
        })
        .unwrap_or_default()
}

/// The private key PEM blocks of a key file, in order.
fn key_blocks(pem: &str) -> Vec<String> {
    crate::pki::pem::parse_blocks(pem.as_bytes())
        .map(|v| {
            v.into_iter()
                .filter(|b| b.label.contains("PRIVATE KEY"))
                .filter_map(|b| b.der.map(|d| crate::pki::pem::encode(&b.label, &d)))
                .collect()
        })
        .unwrap_or_default()
}

/// Generate the new material for `current` (every cluster CA) into `dir/tls/`, at `at`.
/// `custom_issuer`: for `SameRoot`, the intermediate (or root) certificate and key PEMs that
/// sign the new CAs, and the chain to append.
pub fn generate(
    dir: &Path,
    mode: CaMode,
    current: &[Current],
    custom_issuer: Option<(&str, &str, &str)>,
    at: OffsetDateTime,
) -> Result<Staged> {
    let stamp = at.unix_timestamp();
    let tls = dir.join("tls");
    let mut files = Vec::new();
    let mut server_ca_pem = String::new();
    // A new root and intermediate shared by every CA for NewRoot.
    let new_hierarchy = if mode == CaMode::NewRoot {
        let root_key =
            KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).map_err(|e| gen_err("root key", e))?;
        let root_params = params(&format!("rke2-root-ca@{stamp}"), at, 7300);
        let root = root_params
            .self_signed(&root_key)
            .map_err(|e| gen_err("root", e))?;
        let int_key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256)
            .map_err(|e| gen_err("intermediate key", e))?;
        let int_params = params(&format!("rke2-intermediate-ca@{stamp}"), at, 3700);
        let issuer = Issuer::from_params(&root_params, &root_key);
        let int = int_params
            .signed_by(&int_key, &issuer)
            .map_err(|e| gen_err("intermediate", e))?;
        write(
            &tls.join("root-ca.crt"),
            root.pem().as_bytes(),
            0o644,
            &mut files,
            dir,
        )?;
        write(
            &tls.join("root-ca.key"),
            root_key.serialize_pem().as_bytes(),
            0o600,
            &mut files,
            dir,
        )?;
        write(
            &tls.join("intermediate-ca.crt"),
            format!("{}{}", int.pem(), root.pem()).as_bytes(),
            0o644,
            &mut files,
            dir,
        )?;
        write(
            &tls.join("intermediate-ca.key"),
            int_key.serialize_pem().as_bytes(),
            0o600,
            &mut files,
            dir,
        )?;
        Some((int_params, int_key, format!("{}{}", int.pem(), root.pem())))
    } else {
        None
    };
    for cur in current {
        let ty = name_of(cur.ca);
        let ca_key =
            KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).map_err(|e| gen_err("CA key", e))?;
        let ca_params = params(&format!("rke2-{ty}-ca@{stamp}"), at, 3700);
        let (bundle, key_file) = match mode {
            CaMode::SelfSigned => {
                // The old root: the current bundle's second certificate and key when it was
                // rotated before, else the one CA (as the script picks it).
                let certs = cert_blocks(&cur.crt_pem);
                let keys = key_blocks(&cur.key_pem);
                let (old_pem, old_key_pem) = if certs.len() > 1 && keys.len() > 1 {
                    (certs[1].clone(), keys[1].clone())
                } else {
                    (
                        certs.first().cloned().unwrap_or_default(),
                        keys.first().cloned().unwrap_or_default(),
                    )
                };
                let what = format!("the current {} key", tls_rel(cur.ca.key_host_path()));
                let old_key = key_pair(&old_key_pem, &what)?;
                let old_issuer = Issuer::from_ca_cert_pem(&old_pem, &old_key).map_err(|e| {
                    Error::Usage(format!("the current {}: {e}", tls_rel(cur.ca.host_path())))
                })?;
                let root_key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256)
                    .map_err(|e| gen_err("root key", e))?;
                let root_params = params(&format!("rke2-{ty}-root@{stamp}"), at, 7300);
                let ssigned = root_params
                    .self_signed(&root_key)
                    .map_err(|e| gen_err("root", e))?;
                let mut x_params = root_params.clone();
                let mut serial = [0u8; 8];
                let _ = getrandom::fill(&mut serial);
                serial[0] &= 0x7f;
                x_params.serial_number = Some(SerialNumber::from_slice(&serial));
                let xsigned = x_params
                    .signed_by(&root_key, &old_issuer)
                    .map_err(|e| gen_err("cross-signed root", e))?;
                let root_issuer = Issuer::from_params(&root_params, &root_key);
                let ca = ca_params
                    .signed_by(&ca_key, &root_issuer)
                    .map_err(|e| gen_err("CA", e))?;
                (
                    format!("{}{}{}{}", ca.pem(), ssigned.pem(), xsigned.pem(), old_pem),
                    format!("{}{}", ca_key.serialize_pem(), root_key.serialize_pem()),
                )
            }
            CaMode::SameRoot => {
                let Some((issuer_crt, issuer_key, chain)) = custom_issuer else {
                    return Err(Error::Usage(
                        "same-root: the intermediate (or root) certificate and key that sign the \
                         cluster CAs are needed (--ca-from DIR with intermediate-ca.crt and \
                         intermediate-ca.key)"
                            .to_string(),
                    ));
                };
                let key = key_pair(issuer_key, "the intermediate CA key")?;
                let issuer = Issuer::from_ca_cert_pem(issuer_crt, &key)
                    .map_err(|e| Error::Usage(format!("the intermediate CA certificate: {e}")))?;
                let ca = ca_params
                    .signed_by(&ca_key, &issuer)
                    .map_err(|e| gen_err("CA", e))?;
                (format!("{}{chain}", ca.pem()), ca_key.serialize_pem())
            }
            CaMode::NewRoot => {
                let Some((int_params, int_key, chain)) = &new_hierarchy else {
                    return Err(Error::Internal("new root without a hierarchy".to_string()));
                };
                let issuer = Issuer::from_params(int_params, int_key);
                let ca = ca_params
                    .signed_by(&ca_key, &issuer)
                    .map_err(|e| gen_err("CA", e))?;
                (format!("{}{chain}", ca.pem()), ca_key.serialize_pem())
            }
        };
        if cur.ca == CaFile::ServerCa {
            server_ca_pem = bundle.clone();
        }
        write(
            &tls.join(tls_rel(cur.ca.host_path())),
            bundle.as_bytes(),
            0o644,
            &mut files,
            dir,
        )?;
        write(
            &tls.join(tls_rel(cur.ca.key_host_path())),
            key_file.as_bytes(),
            0o600,
            &mut files,
            dir,
        )?;
    }
    files.sort();
    Ok(Staged {
        dir: dir.to_path_buf(),
        files,
        server_ca_pem,
    })
}

fn write(path: &Path, bytes: &[u8], mode: u32, files: &mut Vec<String>, dir: &Path) -> Result<()> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(|e| Error::output(parent.display(), e))?;
    }
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(path)
        .map_err(|e| Error::output(path.display(), e))?;
    f.write_all(bytes)
        .map_err(|e| Error::output(path.display(), e))?;
    files.push(path.strip_prefix(dir).unwrap_or(path).display().to_string());
    Ok(())
}
