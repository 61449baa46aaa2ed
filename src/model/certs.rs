//! The certificate inventory: every certificate found in the snapshot (node host files, bundle
//! objects), deduplicated by fingerprint with every location, classified (in use, owner), with
//! the issuers whose keys sign it. It holds no time: the status at an instant (with a renew
//! window) and the chain status at an instant are asked of it ([`CertEntry::status_at`],
//! [`Inventory::chain_at`]), so the same inventory is judged at any reference time.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use base64::Engine as _;
use time::OffsetDateTime;

use super::inventory::{InUse, Owner, in_use_of_host_path, owner_of_ca};
use crate::ingest::VFile;
use crate::layout::{self, is_credential_file};
use crate::pki::{self, Cert, ChainStatus};
use crate::snapshot::Snapshot;
use crate::vocab::Origin;

/// A certificate's SHA-256 fingerprint (lowercase hex), borrowed from the certificate it names:
/// the inventory's keys and issuer lists share the certificate instead of holding a copy of the
/// 64 characters each. Compares, orders, hashes, prints and serialises as the fingerprint string
/// (so a map keyed by it iterates in the same order as one keyed by the `String`, and is looked
/// up by `&str`).
#[derive(Clone)]
pub struct Fp(Arc<Cert>);

impl Fp {
    /// The fingerprint of `cert`.
    pub fn new(cert: Arc<Cert>) -> Self {
        Fp(cert)
    }

    /// The fingerprint as a string slice.
    pub fn as_str(&self) -> &str {
        self.0.fingerprint_sha256()
    }

    /// The certificate it names.
    pub fn cert(&self) -> &Arc<Cert> {
        &self.0
    }
}

impl From<Arc<Cert>> for Fp {
    fn from(cert: Arc<Cert>) -> Self {
        Fp(cert)
    }
}

impl std::ops::Deref for Fp {
    type Target = str;
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl std::borrow::Borrow<str> for Fp {
    fn borrow(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<str> for Fp {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl std::fmt::Display for Fp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // `pad`, like `str`'s Display, so width and alignment flags behave the same.
        f.pad(self.as_str())
    }
}

impl std::fmt::Debug for Fp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(self.as_str(), f)
    }
}

impl PartialEq for Fp {
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for Fp {}

impl PartialOrd for Fp {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Fp {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.as_str().cmp(other.as_str())
    }
}

impl std::hash::Hash for Fp {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        // As `str` hashes, as `Borrow<str>` requires.
        self.as_str().hash(state)
    }
}

impl PartialEq<str> for Fp {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for Fp {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl PartialEq<String> for Fp {
    fn eq(&self, other: &String) -> bool {
        self.as_str() == other.as_str()
    }
}

impl PartialEq<Fp> for str {
    fn eq(&self, other: &Fp) -> bool {
        self == other.as_str()
    }
}

impl PartialEq<Fp> for &str {
    fn eq(&self, other: &Fp) -> bool {
        *self == other.as_str()
    }
}

impl PartialEq<Fp> for String {
    fn eq(&self, other: &Fp) -> bool {
        self.as_str() == other.as_str()
    }
}

impl serde::Serialize for Fp {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

/// Where one copy of a certificate was found. The strings are shared (every certificate of a
/// node names the same node and input; every certificate of a file the same paths).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Location {
    pub node: Option<Arc<str>>,
    /// The input's file name.
    pub source: Arc<str>,
    /// The logical path inside the input (plus `#namespace/name/key` for bundle objects).
    pub path: Arc<str>,
    /// The node's host path (`var/lib/rancher/rke2/server/tls/…`) when from a node.
    pub host_path: Option<Arc<str>>,
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
    /// Shared with the parse that found it (moving a whole certificate around costs more
    /// than the pointer).
    pub cert: Arc<Cert>,
    /// The time-free chain status: self-signed, bad-signature, issuer-missing, or valid when an
    /// issuer signs it (whether that issuer is valid at an instant: [`Inventory::chain_at`]).
    pub chain: ChainStatus,
    /// Fingerprints of every issuer whose key verifies this certificate (cross-signing gives
    /// several), sorted.
    pub issuers: Vec<Fp>,
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
    pub origin: Origin,
    pub message: String,
}

impl ParseProblem {
    fn at(loc: &Location, message: String) -> Self {
        ParseProblem {
            origin: loc.origin(),
            message,
        }
    }
}

impl Location {
    /// The full origin of this compact location (node and host path set when from a node).
    pub fn origin(&self) -> Origin {
        Origin {
            input: self.source.to_string(),
            path: self.path.to_string(),
            pointer: None,
            node: self.node.as_deref().map(str::to_string),
            host: self.host_path.as_deref().map(str::to_string),
        }
    }
}

/// The whole inventory.
#[derive(Debug, Clone, Default)]
pub struct Inventory {
    /// By fingerprint.
    pub certs: BTreeMap<Fp, CertEntry>,
    pub problems: Vec<ParseProblem>,
}

/// Status of a certificate at `at` with a renew window of `window_days` (a window reaching past
/// the last representable instant counts as reaching past NotAfter).
pub fn status_at(cert: &Cert, at: OffsetDateTime, window_days: u32) -> Status {
    if at < cert.not_before {
        Status::NotYetValid
    } else if at > cert.not_after {
        Status::Expired
    } else if at
        .checked_add(time::Duration::days(i64::from(window_days)))
        .is_none_or(|end| end > cert.not_after)
    {
        Status::Warning
    } else {
        Status::Ok
    }
}

/// The instant and renew window at which certificates are judged (the reference time and the
/// cluster version's window), passed to whatever judges or renders status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JudgeAt {
    pub at: OffsetDateTime,
    pub window_days: u32,
}

impl CertEntry {
    /// Expiry status at `at` with a renew window of `window_days`.
    pub fn status_at(&self, at: OffsetDateTime, window_days: u32) -> Status {
        status_at(&self.cert, at, window_days)
    }

    /// Seconds from `at` to NotAfter (negative once expired).
    pub fn residual_at(&self, at: OffsetDateTime) -> i64 {
        (self.cert.not_after - at).whole_seconds()
    }
}

impl Inventory {
    /// The chain status of `e` at `at`: when it has issuers and none of them is valid at `at`,
    /// `issuer-expired` (or `issuer-not-yet-valid` when none has expired: every issuer starts
    /// later, [`pki::issuers_status_at`]), else its time-free status.
    pub fn chain_at(&self, e: &CertEntry, at: OffsetDateTime) -> ChainStatus {
        if e.chain == ChainStatus::Valid {
            return pki::issuers_status_at(
                e.issuers
                    .iter()
                    .filter_map(|fp| self.certs.get(fp.as_str()))
                    .map(|i| &*i.cert),
                at,
            );
        }
        e.chain
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
    let certs = if layout::is_dynamic_cert(&loc.path) {
        pki::dynamic_cert::parse_dynamic_cert(data).and_then(|d| match d.certs {
            Some(r) => r.map(|v| v.into_iter().map(Arc::new).collect()),
            None => Err(pki::PkiError::Empty("certificate")),
        })
    } else {
        pki::parse_certs_memo(data, memo)
    };
    record(certs, loc, out, problems);
}

/// The certificates of one file (or why it did not parse), each with its location.
fn record(
    certs: Result<Vec<Arc<Cert>>, pki::PkiError>,
    loc: Location,
    out: &mut Vec<Found>,
    problems: &mut Vec<ParseProblem>,
) {
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
        Err(e) => problems.push(ParseProblem::at(&loc, e.to_string())),
    }
}

/// A found certificate with its locations and keys computed while the certificate is hot in the
/// parsing thread's cache: the merge and the issuer lookup then run over these instead of
/// chasing pointers into 100,000 certificates.
struct Keyed {
    /// The first 8 bytes of the SHA-256 fingerprint (sort key; equal keys compare the whole).
    fp: u64,
    /// A hash of the subject name's DER (groups candidate issuers; equality is checked).
    subject: u64,
    /// The same of the issuer name's DER.
    issuer: u64,
    occ: Occurrences,
}

impl Keyed {
    fn new(cert: Arc<Cert>, locs: Vec<Location>) -> Self {
        Keyed {
            fp: cert
                .fingerprint_sha256()
                .get(..16)
                .and_then(|h| u64::from_str_radix(h, 16).ok())
                .unwrap_or(0),
            subject: name_key(cert.subject_der()),
            issuer: name_key(cert.issuer_der()),
            occ: (cert, locs),
        }
    }

    fn same_cert(&self, other: &Keyed) -> bool {
        self.fp == other.fp && self.occ.0.fingerprint_sha256() == other.occ.0.fingerprint_sha256()
    }
}

/// A hash of a DER name, for grouping.
fn name_key(der: &[u8]) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    der.hash(&mut h);
    h.finish()
}

/// What one parsing thread found: certificates with their locations, a memoised CA (the same
/// `Arc` in every chain file that repeats it) gathered once with all of its locations.
#[derive(Default)]
struct Gathered {
    memo: pki::CertMemo,
    /// Index in `found` of each shared certificate, by its address.
    shared: HashMap<usize, usize>,
    found: Vec<Keyed>,
    problems: Vec<ParseProblem>,
    scratch: Vec<Found>,
}

impl Gathered {
    fn add(&mut self, f: Found) {
        // What no memo holds (a leaf: the memos keep CAs and self-issued certificates), so no
        // other copy of the same parse to join.
        if !(f.cert.is_ca || f.cert.is_self_issued()) {
            self.found.push(Keyed::new(f.cert, vec![f.loc]));
            return;
        }
        let addr = Arc::as_ptr(&f.cert) as usize;
        match self.shared.get(&addr) {
            Some(&i) => self.found[i].occ.1.push(f.loc),
            None => {
                self.shared.insert(addr, self.found.len());
                self.found.push(Keyed::new(f.cert, vec![f.loc]));
            }
        }
    }

    /// A certificate file: parsed by the ingest as it read it ([`pki::FileCerts`]) or here.
    fn file(&mut self, file: &VFile, loc: Location) {
        let mut out = std::mem::take(&mut self.scratch);
        match file
            .decoded
            .as_ref()
            .and_then(|d| d.value.downcast_ref::<pki::FileCerts>())
        {
            Some(certs) => record(certs.parsed(), loc, &mut out, &mut self.problems),
            None => collect_file(
                &file.data,
                loc,
                &mut self.memo,
                &mut out,
                &mut self.problems,
            ),
        }
        for f in out.drain(..) {
            self.add(f);
        }
        self.scratch = out;
    }
}

/// Certificate-bearing files of every node (by host path) and bundle objects, each
/// certificate with its locations (a certificate can still appear more than once: the caller
/// merges by fingerprint).
fn gather(snap: &Snapshot, problems: &mut Vec<ParseProblem>) -> Vec<Keyed> {
    let mut out = Vec::new();
    let mut memo = pki::CertMemo::default();
    // Plain certificate files are the bulk (tens of thousands on a big node): parsed in
    // parallel below.
    let mut files: Vec<(&VFile, Location)> = Vec::new();
    let sources: Vec<Arc<str>> = snap
        .trees
        .iter()
        .map(|t| Arc::from(t.name.as_str()))
        .collect();
    for node in snap.nodes.values() {
        let node_name: Arc<str> = Arc::from(node.name.as_str());
        for (host, copies) in &node.files {
            let Some(in_use) = in_use_of_host_path(host) else {
                continue;
            };
            // Keys, key fingerprints and signing requests are read by the trust graph.
            if !is_credential_file(host)
                || host.ends_with(".key")
                || host.ends_with(layout::FINGERPRINT_SUFFIX)
                || host.ends_with(".csr")
            {
                continue;
            }
            let is_kubeconfig = layout::is_kubeconfig(host);
            let host_path: Arc<str> = Arc::clone(host);
            for hf in copies {
                let Some(tree) = snap.trees.get(hf.input) else {
                    continue;
                };
                let Some(file) = tree.resolve(&hf.logical) else {
                    continue;
                };
                let loc = Location {
                    node: Some(Arc::clone(&node_name)),
                    source: Arc::clone(&sources[hf.input]),
                    path: Arc::clone(&hf.logical),
                    host_path: Some(Arc::clone(&host_path)),
                    index: 0,
                    in_use,
                };
                if is_kubeconfig {
                    collect_kubeconfig(&file.data, loc, &mut memo, &mut out, problems);
                } else {
                    files.push((file, loc));
                }
            }
        }
    }
    for obj in &snap.objects {
        for (key, pem) in object_pems(obj) {
            let source = sources
                .get(obj.input)
                .cloned()
                .unwrap_or_else(|| Arc::from(""));
            let ns = obj.namespace.as_deref().unwrap_or("-");
            let loc = Location {
                node: None,
                source,
                path: Arc::from(format!("{}#{}/{}/{}", obj.path, ns, obj.name, key)),
                host_path: None,
                index: 0,
                in_use: InUse::Object,
            };
            collect_file(pem.as_bytes(), loc, &mut memo, &mut out, problems);
        }
    }
    drop(memo);
    let mut all: Vec<Keyed> = out
        .into_iter()
        .map(|f| Keyed::new(f.cert, vec![f.loc]))
        .collect();
    for g in crate::par::fold(&files, Gathered::default, |g, (file, loc)| {
        g.file(file, loc.clone())
    }) {
        all.extend(g.found);
        problems.extend(g.problems);
    }
    all
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
                    Err(e) => {
                        problems.push(ParseProblem::at(&loc, format!("{key} is not base64: {e}")))
                    }
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

/// Issuer keys that check at least this many ECDSA P-256 signatures of one inventory get a
/// precomputed table ([`pki::FastIssuers`]); below it, building the table costs more than it
/// saves.
pub const FAST_ISSUER_MIN: usize = 256;

/// Build the inventory of every certificate of the snapshot.
pub fn build(snap: &Snapshot) -> Inventory {
    build_with(snap, FAST_ISSUER_MIN)
}

/// [`build`], with tables for the issuer keys that check at least `fast_min` signatures.
pub fn build_with(snap: &Snapshot, fast_min: usize) -> Inventory {
    let mut problems = Vec::new();
    let t = crate::timings::stage("inventory: parse");
    let mut found = gather(snap, &mut problems);
    drop(t);
    let t = crate::timings::stage("inventory: dedup");
    // Deduplicate by fingerprint: sorted, copies side by side, the first parse kept (copies
    // are byte-identical) with every location.
    found.sort_unstable_by(|a, b| {
        a.fp.cmp(&b.fp).then_with(|| {
            a.occ
                .0
                .fingerprint_sha256()
                .cmp(b.occ.0.fingerprint_sha256())
        })
    });
    // In place, and the room of the copies given back (half of it when every file carries
    // its CA).
    found.dedup_by(|copy, kept| {
        let same = kept.same_cert(copy);
        if same {
            kept.occ.1.append(&mut copy.occ.1);
        }
        same
    });
    found.shrink_to_fit();
    let entries = found;
    // Candidate issuers grouped by subject name, so each certificate is checked only against
    // certificates whose subject is its issuer.
    // Only subjects some certificate names as its issuer (a handful of CAs, where 100,000
    // leaves would each have a group of their own).
    let mut issuer_names: Vec<u64> = entries.iter().map(|k| k.issuer).collect();
    issuer_names.sort_unstable();
    issuer_names.dedup();
    let mut by_subject: HashMap<u64, Vec<usize>> = HashMap::new();
    for (i, k) in entries.iter().enumerate() {
        if issuer_names.binary_search(&k.subject).is_ok() {
            by_subject.entry(k.subject).or_default().push(i);
        }
    }
    drop(issuer_names);
    // The certificates whose subject is `cert`'s issuer (their `Arc`s, so an issuer is named by
    // sharing its certificate).
    let candidates = |k: &Keyed| -> Vec<&Arc<Cert>> {
        let cert = &k.occ.0;
        by_subject
            .get(&k.issuer)
            .into_iter()
            .flatten()
            .map(|&i| &entries[i].occ.0)
            .filter(|c| c.subject_der() == cert.issuer_der())
            .collect()
    };
    drop(t);
    let t = crate::timings::stage("inventory: signatures");
    // Issuer keys that sign many certificates get a precomputed table first.
    let fast = pki::FastIssuers::for_pairs(
        entries.iter().flat_map(|k| {
            let cert = &*k.occ.0;
            candidates(k).into_iter().map(move |c| (cert, &**c))
        }),
        fast_min,
    );
    // Signature checks dominate: every core.
    let chains: Vec<(ChainStatus, Vec<Fp>)> = crate::par::map(&entries, |k| {
        let cert = &k.occ.0;
        let candidates = candidates(k);
        let refs: Vec<&Cert> = candidates.iter().map(|c| &***c).collect();
        let chain = pki::chain_links_fast(cert, &refs, &fast);
        let mut issuers: Vec<Fp> = chain
            .issuers
            .iter()
            .chain(chain.unverified.iter())
            .filter_map(|&i| candidates.get(i).map(|c| Fp::new(Arc::clone(c))))
            .collect();
        // Sorted and distinct by fingerprint, as the set of strings was.
        issuers.sort_unstable();
        issuers.dedup();
        (chain.status, issuers)
    });
    drop(fast);
    drop(by_subject);
    drop(t);
    let _t = crate::timings::stage("inventory: entries");
    // Keys arrive sorted: collecting builds the map in bulk instead of inserting one by one.
    let mut certs: BTreeMap<Fp, CertEntry> = entries
        .into_iter()
        .zip(chains)
        .map(
            |(
                Keyed {
                    occ: (cert, mut locations),
                    ..
                },
                (chain, issuers),
            )| {
                locations.sort();
                locations.dedup();
                let in_use = locations
                    .iter()
                    .map(|l| l.in_use)
                    .min()
                    .unwrap_or(InUse::Object);
                let entry = CertEntry {
                    chain,
                    issuers,
                    in_use,
                    owner: Owner::Unknown,
                    component_self_signed: false,
                    cert,
                    locations,
                };
                (Fp::new(Arc::clone(&entry.cert)), entry)
            },
        )
        .collect();
    assign_owners(&mut certs);
    problems.sort();
    problems.dedup();
    Inventory { certs, problems }
}

/// CAs are owned by where they sit (a cluster CA file, live, staged or backup), then by their
/// kind (common name, object) as a hint, then by what they sign (a CA that signs a cluster CA is
/// a custom root); a leaf inherits the owner of its issuer.
fn assign_owners(certs: &mut BTreeMap<Fp, CertEntry>) {
    let mut ca_owner: BTreeMap<Fp, Owner> = certs
        .iter()
        .filter(|(_, e)| e.cert.is_ca)
        .map(|(fp, e)| {
            let hint = e.locations.first().map(|l| &*l.path);
            let hosts = e.locations.iter().filter_map(|l| l.host_path.as_deref());
            (
                fp.clone(),
                owner_of_ca(e.cert.subject_cn().unwrap_or(""), hosts, hint),
            )
        })
        .collect();
    // What a CA signs: the issuer of a cluster CA (a custom root above an intermediate in
    // `server-ca.crt`) is a cluster CA too, whatever its name. Chains are short; a few rounds.
    for _ in 0..8 {
        let signers: Vec<Fp> = ca_owner
            .iter()
            .filter(|(_, o)| matches!(o, Owner::Rke2 | Owner::CustomRoot))
            .filter_map(|(fp, _)| certs.get(fp))
            .flat_map(|e| e.issuers.iter())
            .filter(|i| ca_owner.get(*i) == Some(&Owner::Unknown))
            .cloned()
            .collect();
        if signers.is_empty() {
            break;
        }
        for fp in signers {
            ca_owner.insert(fp, Owner::CustomRoot);
        }
    }
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
        l.host_path
            .as_deref()
            .is_some_and(|h| layout::component_of_cert(h).is_some())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    /// A fingerprint key behaves as its string in every way an output or a map can see:
    /// order, equality, hashing, lookups by `&str`, Display (with padding), Debug, JSON.
    #[test]
    fn a_fingerprint_key_behaves_as_its_string() {
        use std::collections::{BTreeSet, HashMap};
        let fps: Vec<Fp> = (0..6)
            .map(|i| {
                let p = rcgen::CertificateParams::new(vec![format!("h{i}.example")]).unwrap();
                let key = rcgen::KeyPair::generate().unwrap();
                let c = pki::cert::parse_cert_der(p.self_signed(&key).unwrap().der()).unwrap();
                Fp::new(Arc::new(c))
            })
            .collect();
        let strings: Vec<String> = fps
            .iter()
            .map(|f| f.cert().fingerprint_sha256().into())
            .collect();
        let mut by_fp = fps.clone();
        by_fp.sort();
        let mut by_string = strings.clone();
        by_string.sort();
        assert_eq!(
            by_fp.iter().map(Fp::as_str).collect::<Vec<_>>(),
            by_string.iter().map(String::as_str).collect::<Vec<_>>()
        );
        for (f, s) in fps.iter().zip(&strings) {
            assert_eq!(f.len(), 64);
            // Each comparison impl: with String, &str and str, both ways round.
            assert!(*f == *s);
            assert!(*f == s.as_str());
            assert!(*f == **s);
            assert!(*s == *f);
            assert!(s.as_str() == *f);
            assert_eq!(f.to_string(), *s);
            assert_eq!(format!("{f:>70}|{f:.8}"), format!("{s:>70}|{s:.8}"));
            assert_eq!(format!("{f:?}"), format!("{s:?}"));
            assert_eq!(
                serde_json::to_string(&[f]).unwrap(),
                serde_json::to_string(&[s]).unwrap()
            );
            let h = |x: &dyn Fn(&mut std::collections::hash_map::DefaultHasher)| {
                use std::hash::Hasher;
                let mut st = std::collections::hash_map::DefaultHasher::new();
                x(&mut st);
                st.finish()
            };
            use std::hash::Hash;
            assert_eq!(h(&|st| f.hash(st)), h(&|st| s.as_str().hash(st)));
        }
        let tree: BTreeMap<Fp, usize> = fps.iter().cloned().zip(0..).collect();
        let hash: HashMap<Fp, usize> = fps.iter().cloned().zip(0..).collect();
        let set: BTreeSet<&Fp> = fps.iter().collect();
        for (i, s) in strings.iter().enumerate() {
            assert_eq!(tree.get(s.as_str()), Some(&i));
            assert_eq!(hash.get(s.as_str()), Some(&i));
            assert!(set.iter().any(|f| **f == *s));
        }
        assert!(
            tree.keys()
                .map(Fp::as_str)
                .eq(by_string.iter().map(String::as_str))
        );
        assert_eq!(tree.get("not a fingerprint"), None);
    }

    #[test]
    fn status_near_the_year_9999_is_judged_without_overflow() {
        let mut p = rcgen::CertificateParams::new(vec!["far.example".to_string()]).unwrap();
        p.not_before = datetime!(2020-01-01 00:00 UTC);
        p.not_after = datetime!(9999-12-31 23:59:59 UTC);
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = pki::cert::parse_cert_der(p.self_signed(&key).unwrap().der()).unwrap();
        // The renew window would end past 9999-12-31: inside it, not an overflow.
        assert_eq!(
            status_at(&cert, datetime!(9999-12-01 00:00 UTC), 120),
            Status::Warning
        );
        assert_eq!(
            status_at(&cert, datetime!(2026-01-01 00:00 UTC), 120),
            Status::Ok
        );
    }
}
