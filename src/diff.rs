//! `harrow diff`: the credential-aware comparison of two states of one cluster, before and after
//! a rotation. Each side is read by the analysis pipeline up to the credential model
//! ([`crate::analyze::run`] through [`Through::Graph`]) and its trust state
//! ([`crate::rotation::state::build`]); the two are compared node by node:
//!
//! - the certificate files whose fingerprints changed (by host path, with the common name and the
//!   role of the certificate, and whether the new one has the old one's issuer);
//! - the cluster CAs that changed (a CA certificate in AFTER's CA bundles that BEFORE did not
//!   have), and whether the new CA has a new root or the old one;
//! - what is not consistent with the new state (a [`Problem`] each): a node whose CA bundle holds
//!   none of a rotated CA's new certificates, a live leaf still issued by a rotated CA's old
//!   certificate, a token source whose CA hash still pins the old served hash (or a hash no
//!   server serves), a node still presenting a token password other nodes rotated away from,
//!   a kubeconfig that embeds a replaced or old-CA certificate, a server still signing with a
//!   service-account key others rotated away from or not verifying another server's key.
//!
//! The rotation has converged when no problem is left. Secrets never leave this module: token
//! passwords are compared through the trust state's digests and only "changed" is reported.

use std::collections::{BTreeMap, BTreeSet};

use crate::analyze::{self, Analysis, Options, Through};
use crate::error::{Error, Result};
use crate::layout::{self, CaFile};
use crate::model::Model;
use crate::model::certs::{Fp, Location};
use crate::model::inventory::InUse;
use crate::pki::{ChainStatus, Usage};
use crate::rotation::state::{NodeState, Trust, TrustState};

/// The comparison of two sides.
#[derive(Debug, Clone, Default)]
pub struct Diff {
    /// The input names of each side, as the analysis names them.
    pub before_inputs: Vec<String>,
    pub after_inputs: Vec<String>,
    /// One entry per cluster CA either side holds, in rke2's order.
    pub cas: Vec<CaChange>,
    /// The CA hashes the servers of each side serve, sorted.
    pub served_before: Vec<String>,
    pub served_after: Vec<String>,
    /// Every node of either side, by name.
    pub nodes: Vec<NodeDiff>,
    /// What is not yet consistent with the new state, sorted by node, kind and target.
    pub problems: Vec<Problem>,
}

impl Diff {
    /// True when every node is consistent with the new state.
    pub fn converged(&self) -> bool {
        self.problems.is_empty()
    }
}

/// A certificate named by fingerprint and common name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct CertRef {
    pub fingerprint: String,
    pub cn: String,
}

/// What happened to one cluster CA.
#[derive(Debug, Clone)]
pub struct CaChange {
    pub ca: CaFile,
    /// The CA certificates of its bundles on each side (servers' `server/tls` files and agents'
    /// copies), sorted by fingerprint.
    pub before: Vec<CertRef>,
    pub after: Vec<CertRef>,
    /// The CA certificates AFTER has and BEFORE had not: not empty when the CA was rotated.
    pub new: Vec<CertRef>,
    /// For a rotated CA: whether the new CA has its own root.
    pub root: Option<RootChange>,
}

impl CaChange {
    /// The CA's short name (`server-ca`, `etcd/peer-ca`).
    pub fn name(&self) -> &'static str {
        ca_name(self.ca)
    }

    pub fn rotated(&self) -> bool {
        !self.new.is_empty()
    }
}

/// The short name of a cluster CA (`server-ca`, `etcd/peer-ca`).
pub fn ca_name(ca: CaFile) -> &'static str {
    let n = ca.tls_name();
    n.strip_suffix(".crt").unwrap_or(n)
}

/// Where a rotated CA's new certificates chain to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RootChange {
    /// Issued by a certificate BEFORE already had (a custom root kept, intermediates renewed).
    SameRoot,
    /// A new self-signed root.
    NewRoot,
    /// A new root, cross-signed by the old CA (rke2's `rotate-default-ca-certs.sh`).
    NewRootCrossSigned,
}

impl RootChange {
    pub fn as_str(self) -> &'static str {
        match self {
            RootChange::SameRoot => "same-root",
            RootChange::NewRoot => "new-root",
            RootChange::NewRootCrossSigned => "new-root-cross-signed",
        }
    }
}

/// Which sides a node is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Presence {
    Both,
    BeforeOnly,
    AfterOnly,
}

impl Presence {
    pub fn as_str(self) -> &'static str {
        match self {
            Presence::Both => "both",
            Presence::BeforeOnly => "before-only",
            Presence::AfterOnly => "after-only",
        }
    }
}

/// One node's changes.
#[derive(Debug, Clone)]
pub struct NodeDiff {
    pub name: String,
    /// `server`, `agent` or `witness` (AFTER's, else BEFORE's), `None` when unknown.
    pub role: Option<&'static str>,
    pub presence: Presence,
    /// Both sides hold the node's certificate files, so they were compared (a support bundle's
    /// node files carry no `server/tls` or agent certificates).
    pub judged: bool,
    /// Live certificate files whose certificates differ, by host path.
    pub files: Vec<FileChange>,
    /// The token rke2 presents, when either side has one.
    pub token: Option<TokenChange>,
    /// The service-account keys, when either side has them.
    pub service_keys: Option<ServiceKeyChange>,
}

/// How a file changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    Changed,
    Added,
    Removed,
}

impl Change {
    pub fn as_str(self) -> &'static str {
        match self {
            Change::Changed => "changed",
            Change::Added => "added",
            Change::Removed => "removed",
        }
    }
}

/// One live certificate file of a node that differs between the sides.
#[derive(Debug, Clone)]
pub struct FileChange {
    pub host: String,
    pub change: Change,
    /// The common name of its first leaf, else of its first certificate (AFTER's, else
    /// BEFORE's).
    pub cn: String,
    /// `ca`, `serving`, `client`, `serving+client` or `leaf`, from that certificate.
    pub role: &'static str,
    /// Fingerprints in file order.
    pub before: Vec<String>,
    pub after: Vec<String>,
    /// For a changed file: whether its new leaf (or first certificate) has an issuer of the old one
    /// (`Some(true)`: re-issued by the same CA), `None` when a side has no certificate or the
    /// issuers are unknown.
    pub same_issuer: Option<bool>,
}

/// The token a node's rke2 presents on each side (never its password).
#[derive(Debug, Clone)]
pub struct TokenChange {
    pub source_before: Option<String>,
    pub source_after: Option<String>,
    pub ca_hash_before: Option<String>,
    pub ca_hash_after: Option<String>,
    /// Both sides have a token and their passwords differ.
    pub password_changed: bool,
}

/// A server's service-account keys on each side, by public-key hash.
#[derive(Debug, Clone)]
pub struct ServiceKeyChange {
    pub verify_before: Vec<String>,
    pub verify_after: Vec<String>,
    pub current_before: Option<String>,
    pub current_after: Option<String>,
}

impl ServiceKeyChange {
    pub fn changed(&self) -> bool {
        self.verify_before != self.verify_after || self.current_before != self.current_after
    }
}

/// What a node still has of the old state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ProblemKind {
    /// A CA bundle holds none of a rotated CA's new certificates.
    TrustsOldCa,
    /// A live leaf is still issued by a rotated CA's old certificate.
    PresentsOldCaLeaf,
    /// A token source pins the CA hash the servers served before.
    TokenPinsOldHash,
    /// A token source pins a CA hash no server serves on either side.
    TokenPinsUnservedHash,
    /// The node presents a token password other nodes rotated away from.
    OldTokenPassword,
    /// A kubeconfig embeds a CA that is not the new one.
    KubeconfigStaleCa,
    /// A kubeconfig embeds a client certificate that was replaced or is issued by an old CA.
    KubeconfigStaleCert,
    /// A server still signs with a service-account key other servers rotated away from.
    OldServiceAccountKey,
    /// A server does not verify tokens signed by another server's current key.
    ServiceAccountKeyNotVerified,
}

impl ProblemKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ProblemKind::TrustsOldCa => "trusts-old-ca",
            ProblemKind::PresentsOldCaLeaf => "presents-old-ca-leaf",
            ProblemKind::TokenPinsOldHash => "token-pins-old-hash",
            ProblemKind::TokenPinsUnservedHash => "token-pins-unserved-hash",
            ProblemKind::OldTokenPassword => "old-token-password",
            ProblemKind::KubeconfigStaleCa => "kubeconfig-stale-ca",
            ProblemKind::KubeconfigStaleCert => "kubeconfig-stale-cert",
            ProblemKind::OldServiceAccountKey => "old-service-account-key",
            ProblemKind::ServiceAccountKeyNotVerified => "service-account-key-not-verified",
        }
    }
}

/// One thing a node still holds of the old state.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Problem {
    pub node: String,
    pub kind: ProblemKind,
    /// The host path it is about.
    pub target: String,
    pub message: String,
}

/// One side, read and modelled.
struct Side {
    analysis: Analysis,
    state: TrustState,
}

/// Read both sides (in parallel) and compare them. A side whose inputs are all unreadable, or
/// that mixes clusters, is an error naming the side; so are two sides without a node in common.
pub fn run(before: &Options, after: &Options) -> Result<Diff> {
    let sides = crate::par::each(&[("BEFORE", before), ("AFTER", after)], |(label, o)| {
        read_side(label, o)
    });
    let mut sides = sides.into_iter();
    let (Some(b), Some(a)) = (sides.next(), sides.next()) else {
        return Err(Error::Internal("diff: a side was not read".into()));
    };
    let (b, a) = (b?, a?);
    let with_files = |st: &TrustState, n: &str| st.nodes.get(n).is_some_and(has_certs);
    if !b.state.nodes.keys().any(|n| a.state.nodes.contains_key(n)) {
        return Err(Error::Usage(format!(
            "BEFORE ({}) and AFTER ({}) have no node in common: nothing to compare (name node \
             snapshots with NAME=PATH when their names differ)",
            names(&b.state).join(", "),
            names(&a.state).join(", ")
        )));
    }
    if !b
        .state
        .nodes
        .keys()
        .any(|n| with_files(&b.state, n) && with_files(&a.state, n))
    {
        return Err(Error::Usage(
            "no node has its host files on both sides, so no credential can be compared: give \
             node snapshots (support bundles carry no server/tls or agent certificates)"
                .into(),
        ));
    }
    Ok(compare(&b, &a))
}

/// The node's host files hold the certificates it trusts or presents (a support bundle's node
/// files carry none).
fn has_certs(n: &NodeState) -> bool {
    n.files && !(n.trusts.is_empty() && n.presents.is_empty())
}

fn names(st: &TrustState) -> Vec<&str> {
    st.nodes.keys().map(String::as_str).collect()
}

fn read_side(label: &str, o: &Options) -> Result<Side> {
    let opts = Options {
        through: Through::Graph,
        ..o.clone()
    };
    let analysis = analyze::run(&opts)?;
    if let Some(reason) = &analysis.snapshot.refused {
        return Err(Error::Refused(format!("{label}: {reason}")));
    }
    if analysis.all_inputs_unreadable() {
        let why: Vec<String> = analysis
            .snapshot
            .inputs
            .iter()
            .map(|i| format!("{}: {}", i.name, i.error.as_deref().unwrap_or("unreadable")))
            .collect();
        return Err(Error::input(
            label,
            None,
            format!("every input is unreadable ({})", why.join("; ")),
        ));
    }
    let state = crate::rotation::state::build(&analysis.snapshot, &analysis.model);
    Ok(Side { analysis, state })
}

/// The CA certificates of one CA's bundles on a side: the servers' `server/tls` file and the
/// agents' copies of it.
fn ca_certs(st: &TrustState, model: &Model, ca: CaFile) -> BTreeSet<String> {
    st.nodes
        .values()
        .flat_map(|n| n.trusts.iter())
        .filter(|(t, _)| trust_ca(**t) == ca)
        .flat_map(|(_, f)| f.certs.iter())
        .filter(|fp| {
            model
                .certs
                .certs
                .get(fp.as_str())
                .is_some_and(|e| e.cert.is_ca)
        })
        .cloned()
        .collect()
}

/// The cluster CA a trusted bundle is (or mirrors).
fn trust_ca(t: Trust) -> CaFile {
    match t {
        Trust::Cluster(c) => c,
        Trust::Agent(a) => a.mirrors(),
    }
}

fn cert_ref(model: &Model, fp: &str) -> CertRef {
    CertRef {
        fingerprint: fp.to_string(),
        cn: model
            .certs
            .certs
            .get(fp)
            .and_then(|e| e.cert.subject_cn().map(str::to_string))
            .unwrap_or_default(),
    }
}

/// The issuers (by fingerprint) of a certificate, as its model verified them.
fn issuers<'m>(model: &'m Model, fp: &str) -> &'m [Fp] {
    model
        .certs
        .certs
        .get(fp)
        .map_or(&[][..], |e| e.issuers.as_slice())
}

/// The old and new CA certificates of every rotated CA.
struct Rotated {
    /// Per rotated CA: the CA certificates BEFORE had and the new ones.
    cas: Vec<(CaFile, BTreeSet<String>, BTreeSet<String>)>,
    /// Every new CA certificate of every rotated CA.
    all_new: BTreeSet<String>,
}

impl Rotated {
    /// The rotated CA whose old certificates issued this certificate and none of whose new
    /// ones did: the certificate is still of the old CA.
    fn old_issuer_of(&self, issuers: &[Fp]) -> Option<CaFile> {
        if issuers.iter().any(|i| self.all_new.contains(i.as_str())) {
            return None;
        }
        self.cas
            .iter()
            .find(|(_, old, _)| issuers.iter().any(|i| old.contains(i.as_str())))
            .map(|(ca, _, _)| *ca)
    }
}

fn compare(b: &Side, a: &Side) -> Diff {
    let (bm, am) = (&b.analysis.model, &a.analysis.model);
    let mut cas = Vec::new();
    let mut rotated = Rotated {
        cas: Vec::new(),
        all_new: BTreeSet::new(),
    };
    for ca in CaFile::ALL {
        let before = ca_certs(&b.state, bm, ca);
        let after = ca_certs(&a.state, am, ca);
        if before.is_empty() && after.is_empty() {
            continue;
        }
        let new: BTreeSet<String> = after.difference(&before).cloned().collect();
        let root = (!new.is_empty() && !before.is_empty()).then(|| root_change(am, &before, &new));
        cas.push(CaChange {
            ca,
            before: before.iter().map(|fp| cert_ref(bm, fp)).collect(),
            after: after.iter().map(|fp| cert_ref(am, fp)).collect(),
            new: new.iter().map(|fp| cert_ref(am, fp)).collect(),
            root,
        });
        if !new.is_empty() && !before.is_empty() {
            rotated.all_new.extend(new.iter().cloned());
            rotated.cas.push((ca, before, new));
        }
    }
    let served = |st: &TrustState| -> BTreeSet<String> {
        st.nodes
            .values()
            .filter_map(|n| n.served_hash.clone())
            .collect()
    };
    let (served_before, served_after) = (served(&b.state), served(&a.state));
    let mut diff = Diff {
        before_inputs: input_names(&b.analysis),
        after_inputs: input_names(&a.analysis),
        cas,
        served_before: served_before.iter().cloned().collect(),
        served_after: served_after.iter().cloned().collect(),
        ..Diff::default()
    };
    let all: BTreeSet<&String> = b.state.nodes.keys().chain(a.state.nodes.keys()).collect();
    for name in all {
        let (bn, an) = (b.state.nodes.get(name), a.state.nodes.get(name));
        diff.nodes.push(node_diff(name, bn, an, bm, am));
    }
    let mut problems = Vec::new();
    for n in a.state.nodes.values().filter(|n| n.files) {
        trust_problems(n, &rotated, am, &mut problems);
        leaf_problems(n, &rotated, am, &mut problems);
        kubeconfig_problems(n, &rotated, bm, am, &mut problems);
        token_hash_problems(n, &served_before, &served_after, am, &mut problems);
    }
    password_problems(&b.state, &a.state, &mut problems);
    service_key_problems(&b.state, &a.state, &mut problems);
    problems.sort();
    problems.dedup();
    diff.problems = problems;
    diff
}

fn input_names(a: &Analysis) -> Vec<String> {
    a.snapshot.inputs.iter().map(|i| i.name.clone()).collect()
}

/// Whether a rotated CA's new certificates have a root of their own.
fn root_change(am: &Model, before: &BTreeSet<String>, new: &BTreeSet<String>) -> RootChange {
    let self_signed = new.iter().any(|fp| {
        am.certs
            .certs
            .get(fp.as_str())
            .is_some_and(|e| e.chain == ChainStatus::SelfSigned)
    });
    let by_old = new
        .iter()
        .any(|fp| issuers(am, fp).iter().any(|i| before.contains(i.as_str())));
    match (self_signed, by_old) {
        (true, true) => RootChange::NewRootCrossSigned,
        (true, false) => RootChange::NewRoot,
        (false, _) => RootChange::SameRoot,
    }
}

/// A node's live certificate files, by host path: fingerprints in file order.
fn live_files<'m>(model: &'m Model, node: &str) -> BTreeMap<&'m str, Vec<String>> {
    let mut out: BTreeMap<&str, Vec<(usize, &str)>> = BTreeMap::new();
    for (fp, e) in &model.certs.certs {
        for l in &e.locations {
            if let Location {
                node: Some(n),
                host_path: Some(host),
                in_use: InUse::Live,
                ..
            } = l
                && &**n == node
            {
                out.entry(&**host).or_default().push((l.index, fp.as_str()));
            }
        }
    }
    out.into_iter()
        .map(|(h, mut v)| {
            v.sort();
            v.dedup();
            (h, v.into_iter().map(|(_, fp)| fp.to_string()).collect())
        })
        .collect()
}

/// The certificate a file is about: its first leaf (a chain file, a kubeconfig with its CA
/// and client certificate), else its first certificate.
fn principal<'v>(model: &Model, fps: &'v [String]) -> Option<&'v String> {
    let is_ca = |fp: &String| {
        model
            .certs
            .certs
            .get(fp.as_str())
            .is_some_and(|e| e.cert.is_ca)
    };
    fps.iter().find(|fp| !is_ca(fp)).or_else(|| fps.first())
}

/// `ca`, `serving`, `client`, `serving+client` or `leaf`: what a certificate is for.
fn cert_role(model: &Model, fp: &str) -> &'static str {
    let Some(e) = model.certs.certs.get(fp) else {
        return "leaf";
    };
    let u = &e.cert.usages();
    match (
        e.cert.is_ca,
        u.contains(&Usage::ServerAuth),
        u.contains(&Usage::ClientAuth),
    ) {
        (true, _, _) => "ca",
        (false, true, true) => "serving+client",
        (false, true, false) => "serving",
        (false, false, true) => "client",
        _ => "leaf",
    }
}

fn node_diff(
    name: &str,
    bn: Option<&NodeState>,
    an: Option<&NodeState>,
    bm: &Model,
    am: &Model,
) -> NodeDiff {
    let presence = match (bn, an) {
        (Some(_), None) => Presence::BeforeOnly,
        (None, Some(_)) => Presence::AfterOnly,
        _ => Presence::Both,
    };
    let role = an
        .and_then(|n| n.role)
        .or_else(|| bn.and_then(|n| n.role))
        .map(|r| r.as_str());
    let mut files = Vec::new();
    let judged = bn.is_some_and(has_certs) && an.is_some_and(has_certs);
    if judged {
        let (bf, af) = (live_files(bm, name), live_files(am, name));
        let hosts: BTreeSet<&str> = bf.keys().chain(af.keys()).copied().collect();
        for host in hosts {
            let (old, new) = (bf.get(host), af.get(host));
            if old == new {
                continue;
            }
            let change = match (old, new) {
                (None, Some(_)) => Change::Added,
                (Some(_), None) => Change::Removed,
                _ => Change::Changed,
            };
            let first_new = new.and_then(|v| principal(am, v));
            let first_old = old.and_then(|v| principal(bm, v));
            let (model, first) = match (first_new, first_old) {
                (Some(f), _) => (am, f.as_str()),
                (None, Some(f)) => (bm, f.as_str()),
                (None, None) => continue,
            };
            let same_issuer = match (first_old, first_new) {
                (Some(o), Some(n)) => {
                    let (oi, ni) = (issuers(bm, o), issuers(am, n));
                    (!oi.is_empty() && !ni.is_empty()).then(|| ni.iter().any(|i| oi.contains(i)))
                }
                _ => None,
            };
            files.push(FileChange {
                host: host.to_string(),
                change,
                cn: cert_ref(model, first).cn,
                role: cert_role(model, first),
                before: old.cloned().unwrap_or_default(),
                after: new.cloned().unwrap_or_default(),
                same_issuer,
            });
        }
    }
    let token = match (
        bn.and_then(|n| n.token.as_ref()),
        an.and_then(|n| n.token.as_ref()),
    ) {
        (None, None) => None,
        (bt, at) => Some(TokenChange {
            source_before: bt.map(|t| t.source.clone()),
            source_after: at.map(|t| t.source.clone()),
            ca_hash_before: bt.and_then(|t| t.ca_hash.clone()),
            ca_hash_after: at.and_then(|t| t.ca_hash.clone()),
            password_changed: matches!((bt, at), (Some(x), Some(y)) if x.password != y.password),
        }),
    };
    let service_keys = match (
        bn.and_then(|n| n.service_keys.as_ref()),
        an.and_then(|n| n.service_keys.as_ref()),
    ) {
        (None, None) => None,
        (bk, ak) => Some(ServiceKeyChange {
            verify_before: bk.map(|k| k.verify.clone()).unwrap_or_default(),
            verify_after: ak.map(|k| k.verify.clone()).unwrap_or_default(),
            current_before: bk.and_then(|k| k.current.clone()),
            current_after: ak.and_then(|k| k.current.clone()),
        }),
    };
    NodeDiff {
        name: name.to_string(),
        role,
        presence,
        judged,
        files,
        token,
        service_keys,
    }
}

/// The common names of a list of certificates, for messages.
fn cns(model: &Model, fps: &[String]) -> String {
    let v: Vec<String> = fps
        .iter()
        .map(|fp| {
            let r = cert_ref(model, fp);
            if r.cn.is_empty() {
                short(fp).to_string()
            } else {
                r.cn
            }
        })
        .collect();
    v.join(", ")
}

/// The first 12 hex digits of a fingerprint or key hash, as messages show it.
pub fn short(fp: &str) -> &str {
    fp.get(..12).unwrap_or(fp)
}

fn trust_problems(n: &NodeState, rot: &Rotated, am: &Model, out: &mut Vec<Problem>) {
    for (t, file) in &n.trusts {
        let ca = trust_ca(*t);
        let Some((_, _, new)) = rot.cas.iter().find(|(c, _, _)| *c == ca) else {
            continue;
        };
        if file.certs.iter().any(|fp| new.contains(fp)) {
            continue;
        }
        out.push(Problem {
            node: n.name.clone(),
            kind: ProblemKind::TrustsOldCa,
            target: file.host.clone(),
            message: format!(
                "does not trust the new {} ({}): the file holds only {}",
                ca_name(ca),
                cns(am, &new.iter().cloned().collect::<Vec<_>>()),
                cns(am, &file.certs)
            ),
        });
    }
}

fn leaf_problems(n: &NodeState, rot: &Rotated, am: &Model, out: &mut Vec<Problem>) {
    if rot.cas.is_empty() {
        return;
    }
    for (host, fps) in live_files(am, &n.name) {
        if layout::is_kubeconfig(host) {
            continue;
        }
        for fp in &fps {
            let is_ca = am
                .certs
                .certs
                .get(fp.as_str())
                .is_some_and(|e| e.cert.is_ca);
            if is_ca {
                continue;
            }
            if let Some(ca) = rot.old_issuer_of(issuers(am, fp)) {
                out.push(Problem {
                    node: n.name.clone(),
                    kind: ProblemKind::PresentsOldCaLeaf,
                    target: host.to_string(),
                    message: format!(
                        "{} ({}) is still issued by the old {}: it was not re-issued after the \
                         CA rotation (restart rke2 on this node)",
                        cns(am, std::slice::from_ref(fp)),
                        short(fp),
                        ca_name(ca)
                    ),
                });
            }
        }
    }
}

/// True when `fp` sits in the file `host` of `node` itself (embedded in a kubeconfig, not
/// referenced from another file).
fn embedded(model: &Model, node: &str, host: &str, fp: &str) -> bool {
    model.certs.certs.get(fp).is_some_and(|e| {
        e.locations
            .iter()
            .any(|l| l.node.as_deref() == Some(node) && l.host_path.as_deref() == Some(host))
    })
}

/// The live certificate files (kubeconfigs aside) of every node of a model, by fingerprint.
fn live_cert_homes(model: &Model) -> BTreeMap<&str, Vec<(&str, &str)>> {
    let mut out: BTreeMap<&str, Vec<(&str, &str)>> = BTreeMap::new();
    for (fp, e) in &model.certs.certs {
        for l in &e.locations {
            if let (Some(n), Some(h), InUse::Live) = (&l.node, &l.host_path, l.in_use)
                && !layout::is_kubeconfig(h)
            {
                out.entry(fp.as_str()).or_default().push((&**n, &**h));
            }
        }
    }
    out
}

fn kubeconfig_problems(
    n: &NodeState,
    rot: &Rotated,
    bm: &Model,
    am: &Model,
    out: &mut Vec<Problem>,
) {
    let (before_homes, after_homes) = (live_cert_homes(bm), live_cert_homes(am));
    for ((node, host), kc) in am.kubeconfigs.range((n.name.clone(), String::new())..) {
        if *node != n.name {
            break;
        }
        let trusts: Vec<&String> = kc
            .trusts
            .iter()
            .filter(|fp| embedded(am, node, host, fp))
            .collect();
        for (ca, old, new) in &rot.cas {
            let trusted_old = trusts.iter().any(|fp| old.contains(*fp));
            if trusted_old && !trusts.iter().any(|fp| new.contains(*fp)) {
                out.push(Problem {
                    node: node.clone(),
                    kind: ProblemKind::KubeconfigStaleCa,
                    target: host.clone(),
                    message: format!(
                        "embeds the old {} ({}), not the new one: clients using this copy \
                         will not verify the servers",
                        ca_name(*ca),
                        cns(am, &trusts.iter().map(|s| (*s).clone()).collect::<Vec<_>>())
                    ),
                });
            }
        }
        for fp in kc.presents.iter().filter(|fp| embedded(am, node, host, fp)) {
            let why = if let Some(ca) = rot.old_issuer_of(issuers(am, fp)) {
                Some(format!("is issued by the old {}", ca_name(ca)))
            } else if !after_homes.contains_key(fp.as_str()) {
                before_homes.get(fp.as_str()).and_then(|homes| {
                    homes.first().map(|(hn, hh)| {
                        format!("was replaced: {hn}:{hh} held it before and holds another now")
                    })
                })
            } else {
                None
            };
            if let Some(why) = why {
                out.push(Problem {
                    node: node.clone(),
                    kind: ProblemKind::KubeconfigStaleCert,
                    target: host.clone(),
                    message: format!(
                        "embeds the client certificate {} ({}), which {why}",
                        cns(am, std::slice::from_ref(fp)),
                        short(fp)
                    ),
                });
            }
        }
    }
}

/// Every token source of the node whose CA hash is not the one the servers serve now: the old
/// served hash (when the hash changed), or a hash no server serves on either side.
fn token_hash_problems(
    n: &NodeState,
    before: &BTreeSet<String>,
    after: &BTreeSet<String>,
    am: &Model,
    out: &mut Vec<Problem>,
) {
    if after.is_empty() {
        return;
    }
    let new: BTreeSet<&String> = after.difference(before).collect();
    let current: BTreeSet<&String> = if new.is_empty() {
        after.iter().collect()
    } else {
        new
    };
    for t in am.tokens.get(&n.name).into_iter().flatten() {
        let Some(h) = &t.found.token.ca_hash else {
            continue;
        };
        if current.contains(h) {
            continue;
        }
        let (kind, what) = if before.contains(h) || after.contains(h) {
            (
                ProblemKind::TokenPinsOldHash,
                "the CA hash the servers served before the rotation",
            )
        } else {
            (
                ProblemKind::TokenPinsUnservedHash,
                "a CA hash no server serves (before or after)",
            )
        };
        let now: Vec<&str> = current.iter().map(|s| short(s)).collect();
        out.push(Problem {
            node: n.name.clone(),
            kind,
            target: t.host_path.clone(),
            message: format!(
                "its token (`{}`) pins {} ({}…), not the served {}…: a node that joins with it \
                 refuses the servers",
                t.found.key,
                what,
                short(h),
                now.join("…, ")
            ),
        });
    }
}

/// Nodes still presenting a token password that other nodes rotated away from.
fn password_problems(b: &TrustState, a: &TrustState, out: &mut Vec<Problem>) {
    let rotated_away: Vec<_> = a
        .nodes
        .values()
        .filter_map(|an| {
            let bt = b.nodes.get(&an.name)?.token.as_ref()?;
            let at = an.token.as_ref()?;
            (bt.password != at.password).then_some((&an.name, &bt.password))
        })
        .collect();
    for n in a.nodes.values() {
        let Some(t) = &n.token else { continue };
        if let Some((by, _)) = rotated_away.iter().find(|(_, p)| **p == t.password) {
            out.push(Problem {
                node: n.name.clone(),
                kind: ProblemKind::OldTokenPassword,
                target: t.source.clone(),
                message: format!(
                    "still presents the token password {by} rotated away from: set the new \
                     token here before rke2 restarts"
                ),
            });
        }
    }
}

/// Servers still signing with a key others rotated away from, and servers that do not verify
/// another server's current key.
fn service_key_problems(b: &TrustState, a: &TrustState, out: &mut Vec<Problem>) {
    let rotated_away: BTreeMap<&String, &String> = a
        .nodes
        .values()
        .filter_map(|an| {
            let old = b
                .nodes
                .get(&an.name)?
                .service_keys
                .as_ref()?
                .current
                .as_ref()?;
            let new = an.service_keys.as_ref()?.current.as_ref()?;
            (old != new).then_some((old, &an.name))
        })
        .collect();
    let servers: Vec<(&NodeState, &crate::rotation::state::ServiceKeys)> = a
        .nodes
        .values()
        .filter_map(|n| Some((n, n.service_keys.as_ref()?)))
        .collect();
    for (n, keys) in &servers {
        if let Some(by) = keys.current.as_ref().and_then(|c| rotated_away.get(c)) {
            out.push(Problem {
                node: n.name.clone(),
                kind: ProblemKind::OldServiceAccountKey,
                target: layout::SERVICE_KEY.to_string(),
                message: format!(
                    "still signs service-account tokens with the key {} ({}…) rotated away from",
                    by,
                    short(keys.current.as_deref().unwrap_or_default())
                ),
            });
        }
        for (other, okeys) in &servers {
            let Some(c) = &okeys.current else { continue };
            if !keys.verify.contains(c) {
                out.push(Problem {
                    node: n.name.clone(),
                    kind: ProblemKind::ServiceAccountKeyNotVerified,
                    target: layout::SERVICE_KEY.to_string(),
                    message: format!(
                        "does not verify service-account tokens signed by {}'s current key \
                         ({}…): it is not in this server's service.key",
                        other.name,
                        short(c)
                    ),
                });
            }
        }
    }
}
