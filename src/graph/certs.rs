//! The certificate inventory: every certificate found in the snapshot (node host files, bundle
//! objects), deduplicated by fingerprint with every location, classified (in use, owner), and
//! judged at the reference time (status with the renew window, chain status with the verifying
//! issuer).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use base64::Engine as _;
use time::OffsetDateTime;

use super::inventory::{InUse, Owner, in_use_of_host_path, is_credential_file, owner_of_ca};
use crate::pki::{self, Cert, ChainStatus};
use crate::snapshot::Snapshot;

/// Where one copy of a certificate was found.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Location {
    pub node: Option<String>,
    /// The input's file name.
    pub source: String,
    /// The logical path inside the input (plus `#namespace/name/key` for bundle objects).
    pub path: String,
    /// The node's host path (`var/lib/rancher/rke2/server/tls/…`) when from a node.
    pub host_path: Option<String>,
    /// Position of the certificate in its file (0 = first).
    pub index: usize,
    pub in_use: InUse,
}

/// Expiry status at the reference time, as `rke2 certificate check` judges it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Status {
    Ok,
    Warning,
    Expired,
    NotYetValid,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Warning => "warning",
            Status::Expired => "expired",
            Status::NotYetValid => "not-yet-valid",
        }
    }
}

/// One distinct certificate with its judgement and locations.
#[derive(Debug, Clone)]
pub struct CertEntry {
    pub cert: Cert,
    pub status: Status,
    pub residual_seconds: i64,
    pub chain: ChainStatus,
    /// Fingerprints of every issuer whose key verifies this certificate (cross-signing gives
    /// several), sorted.
    pub issuers: Vec<String>,
    pub in_use: InUse,
    pub owner: Owner,
    /// A kube-controller-manager / kube-scheduler serving certificate the component made
    /// itself (not signed by the cluster's server CA).
    pub component_self_signed: bool,
    pub locations: Vec<Location>,
}

/// A file that looked like certificate material but did not parse.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct ParseProblem {
    pub source: String,
    pub path: String,
    pub node: Option<String>,
    pub message: String,
}

/// The whole inventory.
#[derive(Debug, Default)]
pub struct Inventory {
    /// By fingerprint.
    pub certs: BTreeMap<String, CertEntry>,
    pub problems: Vec<ParseProblem>,
}

/// Status of a certificate at `at` with a renew window of `window_days`.
pub fn status_at(cert: &Cert, at: OffsetDateTime, window_days: u32) -> Status {
    if at < cert.not_before {
        Status::NotYetValid
    } else if at > cert.not_after {
        Status::Expired
    } else if at + time::Duration::days(i64::from(window_days)) > cert.not_after {
        Status::Warning
    } else {
        Status::Ok
    }
}

struct Found {
    /// Shared: a CA repeated in thousands of chain files is parsed (and held) once.
    cert: Arc<Cert>,
    loc: Location,
}

fn collect_file(
    data: &[u8],
    loc: Location,
    memo: &mut pki::CertMemo,
    out: &mut Vec<Found>,
    problems: &mut Vec<ParseProblem>,
) {
    let certs = if loc.path.ends_with("dynamic-cert.json") {
        pki::dynamic_cert::parse_dynamic_cert(data).and_then(|d| match d.certs {
            Some(r) => r.map(|v| v.into_iter().map(Arc::new).collect()),
            None => Err(pki::PkiError::Empty("certificate")),
        })
    } else {
        pki::parse_certs_memo(data, memo)
    };
    match certs {
        Ok(certs) => {
            let last = certs.len().saturating_sub(1);
            let mut loc = Some(loc);
            for (i, cert) in certs.into_iter().enumerate() {
                let l = if i == last { loc.take() } else { loc.clone() };
                if let Some(l) = l {
                    out.push(Found {
                        cert,
                        loc: Location { index: i, ..l },
                    });
                }
            }
        }
        Err(pki::PkiError::Empty(_)) => {}
        Err(e) => problems.push(ParseProblem {
            source: loc.source.clone(),
            path: loc.path.clone(),
            node: loc.node.clone(),
            message: e.to_string(),
        }),
    }
}

/// Certificate-bearing files of every node (by host path) and bundle objects.
fn gather(snap: &Snapshot, problems: &mut Vec<ParseProblem>) -> Vec<Found> {
    let mut out = Vec::new();
    let mut memo = pki::CertMemo::default();
    // Plain certificate files are the bulk (tens of thousands on a big node): parsed in
    // parallel below.
    let mut files: Vec<(&[u8], Location)> = Vec::new();
    for node in snap.nodes.values() {
        for (host, copies) in &node.files {
            let Some(in_use) = in_use_of_host_path(host) else {
                continue;
            };
            if !is_credential_file(host)
                || host.ends_with(".key")
                || host.ends_with(".pub-fingerprint")
            {
                continue;
            }
            let is_kubeconfig = host.ends_with(".kubeconfig") || host.ends_with("rke2.yaml");
            for hf in copies {
                let Some(tree) = snap.trees.get(hf.input) else {
                    continue;
                };
                let Some(file) = tree.resolve(&hf.logical) else {
                    continue;
                };
                let loc = Location {
                    node: Some(node.name.clone()),
                    source: tree.name.clone(),
                    path: hf.logical.clone(),
                    host_path: Some(host.clone()),
                    index: 0,
                    in_use,
                };
                if is_kubeconfig {
                    collect_kubeconfig(&file.data, loc, &mut memo, &mut out, problems);
                } else {
                    files.push((&file.data, loc));
                }
            }
        }
    }
    for obj in &snap.objects {
        for (key, pem) in object_pems(obj) {
            let source = snap
                .trees
                .get(obj.input)
                .map(|t| t.name.clone())
                .unwrap_or_default();
            let ns = obj.namespace.as_deref().unwrap_or("-");
            let loc = Location {
                node: None,
                source,
                path: format!("{}#{}/{}/{}", obj.path, ns, obj.name, key),
                host_path: None,
                index: 0,
                in_use: InUse::Object,
            };
            collect_file(pem.as_bytes(), loc, &mut memo, &mut out, problems);
        }
    }
    drop(memo);
    for (found, probs) in
        crate::par::map_init(&files, pki::CertMemo::default, |memo, (data, loc)| {
            let (mut o, mut p) = (Vec::new(), Vec::new());
            collect_file(data, loc.clone(), memo, &mut o, &mut p);
            (o, p)
        })
    {
        out.extend(found);
        problems.extend(probs);
    }
    out
}

/// Embedded certificates of a kubeconfig (`certificate-authority-data`,
/// `client-certificate-data`).
fn collect_kubeconfig(
    data: &[u8],
    loc: Location,
    memo: &mut pki::CertMemo,
    out: &mut Vec<Found>,
    problems: &mut Vec<ParseProblem>,
) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    for line in text.lines() {
        let t = line.trim();
        for key in ["certificate-authority-data:", "client-certificate-data:"] {
            if let Some(v) = t.strip_prefix(key) {
                let v = v.trim().trim_matches('"');
                match base64::engine::general_purpose::STANDARD.decode(v) {
                    Ok(pem) => collect_file(&pem, loc.clone(), memo, out, problems),
                    Err(e) => problems.push(ParseProblem {
                        source: loc.source.clone(),
                        path: loc.path.clone(),
                        node: loc.node.clone(),
                        message: format!("{key} is not base64: {e}"),
                    }),
                }
            }
        }
    }
}

/// PEM strings carried by a Kubernetes object: ConfigMap data values, webhook and APIService
/// `caBundle`s (base64), Rancher `cacerts` settings.
fn object_pems(obj: &crate::snapshot::KubeObject) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let v = &obj.value;
    match obj.kind.as_str() {
        "ConfigMap" => {
            if let Some(data) = v.get("data").and_then(|d| d.as_object()) {
                for (k, val) in data {
                    if let Some(s) = val.as_str()
                        && s.contains("-----BEGIN CERTIFICATE-----")
                    {
                        out.push((k.clone(), s.to_string()));
                    }
                }
            }
        }
        "MutatingWebhookConfiguration" | "ValidatingWebhookConfiguration" => {
            if let Some(hooks) = v.get("webhooks").and_then(|h| h.as_array()) {
                for (i, h) in hooks.iter().enumerate() {
                    if let Some(b) = h.pointer("/clientConfig/caBundle").and_then(|b| b.as_str())
                        && let Ok(pem) = base64::engine::general_purpose::STANDARD.decode(b.trim())
                    {
                        out.push((
                            format!("webhooks[{i}].clientConfig.caBundle"),
                            String::from_utf8_lossy(&pem).into_owned(),
                        ));
                    }
                }
            }
        }
        "APIService" => {
            if let Some(b) = v.pointer("/spec/caBundle").and_then(|b| b.as_str())
                && let Ok(pem) = base64::engine::general_purpose::STANDARD.decode(b.trim())
            {
                out.push((
                    "spec.caBundle".into(),
                    String::from_utf8_lossy(&pem).into_owned(),
                ));
            }
        }
        "Setting"
            if obj.api_version.starts_with("management.cattle.io")
                && (obj.name == "cacerts" || obj.name == "internal-cacerts") =>
        {
            for key in ["value", "default"] {
                if let Some(s) = v.get(key).and_then(|s| s.as_str())
                    && s.contains("-----BEGIN CERTIFICATE-----")
                {
                    out.push((key.to_string(), s.to_string()));
                }
            }
        }
        _ => {}
    }
    out
}

/// One distinct certificate and where it was found.
type Occurrences = (Arc<Cert>, Vec<Location>);

/// Build the inventory at reference time `at` with the cluster's renew window.
pub fn build(snap: &Snapshot, at: OffsetDateTime, window_days: u32) -> Inventory {
    let mut problems = Vec::new();
    let t = crate::timings::stage("inventory: parse");
    let found = gather(snap, &mut problems);
    drop(t);
    let t = crate::timings::stage("inventory: dedup");
    // Deduplicate by fingerprint, keeping the first parse of each certificate (copies are
    // byte-identical) and moving, not copying, certificates and locations.
    let mut by_fp: HashMap<String, Occurrences> = HashMap::new();
    for f in found {
        match by_fp.get_mut(&f.cert.fingerprint_sha256) {
            Some((_, locs)) => locs.push(f.loc),
            None => {
                by_fp.insert(f.cert.fingerprint_sha256.clone(), (f.cert, vec![f.loc]));
            }
        }
    }
    let mut entries: Vec<(String, Occurrences)> = by_fp.into_iter().collect();
    entries.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    // Candidate issuers grouped by subject DN, so each certificate is checked only against
    // certificates whose subject is its issuer.
    let mut by_subject: HashMap<&[u8], Vec<&Cert>> = HashMap::new();
    for (_, (cert, _)) in &entries {
        by_subject
            .entry(cert.subject_der.as_slice())
            .or_default()
            .push(cert);
    }
    drop(t);
    let t = crate::timings::stage("inventory: signatures");
    // Signature checks dominate: every core.
    let chains: Vec<(ChainStatus, Vec<String>)> = crate::par::map(&entries, |(_, (cert, _))| {
        let candidates = by_subject
            .get(cert.issuer_der.as_slice())
            .map_or(&[][..], |v| v.as_slice());
        let chain = pki::chain_status_refs(cert, candidates, at);
        let issuers: BTreeSet<&str> = chain
            .issuers
            .iter()
            .chain(chain.unverified.iter())
            .filter_map(|&i| candidates.get(i).map(|c| c.fingerprint_sha256.as_str()))
            .collect();
        (
            chain.status,
            issuers.into_iter().map(str::to_string).collect(),
        )
    });
    drop(by_subject);
    drop(t);
    let _t = crate::timings::stage("inventory: entries");
    // Keys arrive sorted: collecting builds the map in bulk instead of inserting one by one.
    let mut certs: BTreeMap<String, CertEntry> = entries
        .into_iter()
        .zip(chains)
        .map(|((fp, (cert, mut locations)), (chain, issuers))| {
            // The memos are gone: this is the only reference left.
            let cert = Arc::try_unwrap(cert).unwrap_or_else(|c| (*c).clone());
            locations.sort();
            locations.dedup();
            let in_use = locations
                .iter()
                .map(|l| l.in_use)
                .min()
                .unwrap_or(InUse::Object);
            let entry = CertEntry {
                status: status_at(&cert, at, window_days),
                residual_seconds: (cert.not_after - at).whole_seconds(),
                chain,
                issuers,
                in_use,
                owner: Owner::Unknown,
                component_self_signed: false,
                cert,
                locations,
            };
            (fp, entry)
        })
        .collect();
    assign_owners(&mut certs);
    problems.sort();
    problems.dedup();
    Inventory { certs, problems }
}

/// CAs are owned by their kind (common name, object); a leaf inherits the owner of its issuer.
fn assign_owners(certs: &mut BTreeMap<String, CertEntry>) {
    let ca_owner: BTreeMap<String, Owner> = certs
        .iter()
        .filter(|(_, e)| e.cert.is_ca)
        .map(|(fp, e)| {
            let hint = e.locations.first().map(|l| l.path.as_str());
            (
                fp.clone(),
                owner_of_ca(e.cert.subject_cn.as_deref().unwrap_or(""), hint),
            )
        })
        .collect();
    for (fp, e) in certs.iter_mut() {
        e.owner = match ca_owner.get(fp) {
            Some(o) => *o,
            None => e
                .issuers
                .iter()
                .find_map(|i| ca_owner.get(i).copied())
                .unwrap_or(Owner::Unknown),
        };
        // kube-controller-manager / kube-scheduler serving certificates that the components
        // made themselves (`--cert-dir`, Rancher-provisioned clusters before the May 2025
        // releases): not signed by an rke2 CA, renewed by deleting them and restarting the
        // component, not by an rke2 restart.
        if e.owner != Owner::Rke2 && e.owner != Owner::CustomRoot && in_component_cert_dir(e) {
            e.owner = Owner::Component;
            e.component_self_signed = true;
        }
    }
}

/// True when a location sits in `server/tls/kube-controller-manager/` or `kube-scheduler/`.
fn in_component_cert_dir(e: &CertEntry) -> bool {
    e.locations.iter().any(|l| {
        l.host_path.as_deref().is_some_and(|h| {
            h.contains("/server/tls/kube-controller-manager/")
                || h.contains("/server/tls/kube-scheduler/")
        })
    })
}
