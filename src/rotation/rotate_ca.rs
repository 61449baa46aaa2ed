//! RKE2's `rotate-ca` integrity checks, run offline on a node's staged CA material
//! (reference/rke2-pki.md §3.2, k3s `validateBootstrap`): what the supervisor would refuse
//! without `--force`.
//!
//! For each cluster CA whose staged `<stage>/tls/<file>` differs from the live one:
//! - the staged bundle must hold more than one certificate;
//! - its first certificate must verify against the OLD bundle: roots are the old certificates
//!   whose AKI is empty or equals their SKI, intermediates the other old certificates plus the
//!   staged ones after the first that carry an AKI (so the new CA keeps the same root, or a new
//!   root cross-signed by the old one);
//! - its first certificate must pair with the first key of the staged `.key` (the live key when
//!   none is staged: the supervisor keeps what the upload leaves out).
//!
//! And for a staged `service.key`: the current public key of the old `service.key` must be in the
//! new list. A file the stage does not hold keeps its current value and is not checked.

use time::OffsetDateTime;

use super::state::{NodeState, Trust};
use super::verify::{Outcome, verify_chain};
use crate::layout::{self, CaFile};
use crate::model::Model;
use crate::pki::Cert;

/// One integrity check `rotate-ca` makes, and its result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaCheck {
    /// The staged file the check is about (host path).
    pub staged: String,
    pub kind: CheckKind,
    /// `Err` with RKE2's reason when the supervisor refuses it without `--force`.
    pub result: Result<(), String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum CheckKind {
    /// More than one certificate in the new bundle.
    BundleSize,
    /// The new CA verifies against the old chain.
    Chain,
    /// The new CA certificate and its key pair.
    KeyPair,
    /// The old signing key is kept in the new `service.key`.
    ServiceKey,
}

/// The checks `rotate-ca --path <stage>` would make on `node`, at `at`: `stage` is the staged
/// data directory (`var/lib/rancher/rke2/server/rotate-ca`, `opt/rke2/server`), whose `tls/`
/// mirrors `server/tls/`. Empty when the stage changes nothing.
pub fn checks(model: &Model, node: &NodeState, stage: &str, at: OffsetDateTime) -> Vec<CaCheck> {
    let certs = |fp: &str| model.certs.certs.get(fp).map(|e| e.cert.as_ref());
    let live_key = |host: &str| {
        model
            .key_file(&node.name, host)
            .and_then(|k| k.spkis().first().map(|s| s.to_string()))
    };
    checks_with(&certs, &live_key, node, stage, at)
}

/// [`checks`] over any certificate store: `certs` finds a certificate by fingerprint,
/// `live_key` the first public-key hash of one of the node's live key files (the simulator's
/// state, where staged material may come from a local directory).
pub fn checks_with<'c>(
    certs: &dyn Fn(&str) -> Option<&'c Cert>,
    live_key: &dyn Fn(&str) -> Option<String>,
    node: &NodeState,
    stage: &str,
    at: OffsetDateTime,
) -> Vec<CaCheck> {
    let stage = stage.trim_end_matches('/');
    let mut out = Vec::new();
    let certs =
        |fps: &[String]| -> Vec<&'c Cert> { fps.iter().filter_map(|fp| certs(fp)).collect() };
    for ca in CaFile::ALL {
        let rel = relative(ca.host_path());
        let staged_host = format!("{stage}/tls/{rel}");
        let Some(new) = node.staged.get(&staged_host) else {
            continue;
        };
        let old = node
            .trusts
            .get(&Trust::Cluster(ca))
            .map(|f| f.certs.clone())
            .unwrap_or_default();
        if new.certs == old {
            continue;
        }
        let new_certs = certs(&new.certs);
        let old_certs = certs(&old);
        let check = |kind, result| CaCheck {
            staged: staged_host.clone(),
            kind,
            result,
        };
        out.push(check(
            CheckKind::BundleSize,
            if new_certs.len() > 1 {
                Ok(())
            } else {
                Err("new CA bundle contains only a single certificate but should include root or intermediate CA certificates".into())
            },
        ));
        if let Some(first) = new_certs.first() {
            out.push(check(
                CheckKind::Chain,
                chain(first, &new_certs, &old_certs, at),
            ));
            let staged_key = format!("{stage}/tls/{}", relative(ca.key_host_path()));
            let key = node
                .staged_keys
                .get(&staged_key)
                .and_then(|k| k.first().cloned())
                .or_else(|| live_key(ca.key_host_path()));
            out.push(check(
                CheckKind::KeyPair,
                match key {
                    Some(k) if k == first.spki_sha256() => Ok(()),
                    Some(_) => Err(format!(
                        "{rel}: the new CA certificate and its key cannot be loaded as an X509 key pair"
                    )),
                    None => Err(format!("{rel}: no key for the new CA certificate in the stage or on the node")),
                },
            ));
        }
    }
    let staged_service = format!("{stage}/tls/{}", relative(layout::SERVICE_KEY));
    if let (Some(new), Some(old)) = (node.staged_keys.get(&staged_service), &node.service_keys) {
        let current = old.verify.first();
        out.push(CaCheck {
            staged: staged_service,
            kind: CheckKind::ServiceKey,
            result: match current {
                Some(k) if new.contains(k) => Ok(()),
                Some(_) => {
                    Err("old ServiceAccount signing key not in new ServiceAccount key list".into())
                }
                None => Ok(()),
            },
        });
    }
    out
}

/// The path of a `server/tls/` file below `tls/` (`server-ca.crt`, `etcd/peer-ca.crt`).
fn relative(host: &str) -> &str {
    host.strip_prefix(layout::SERVER_TLS_DIR)
        .unwrap_or(host)
        .trim_start_matches('/')
}

/// RKE2's `validateCA`: the new bundle's first certificate verifies against the old roots, with
/// the old non-roots and the new bundle's later AKI-carrying certificates as intermediates.
fn chain(first: &Cert, new: &[&Cert], old: &[&Cert], at: OffsetDateTime) -> Result<(), String> {
    let is_root = |c: &Cert| c.aki().is_none_or(|a| Some(a) == c.ski());
    let roots: Vec<&Cert> = old.iter().copied().filter(|c| is_root(c)).collect();
    let mut presented: Vec<&Cert> = vec![first];
    presented.extend(old.iter().copied().filter(|c| !is_root(c)));
    presented.extend(new.iter().skip(1).copied().filter(|c| c.aki().is_some()));
    match verify_chain(&presented, &roots, at) {
        Outcome::Verified(_) => Ok(()),
        Outcome::Fails(why) | Outcome::Undecided(why) => Err(format!(
            "new CA cert cannot be verified using old CA chain: {why}"
        )),
    }
}
