//! The trust graph (petgraph): certificates (deduplicated by fingerprint), keys (by public key),
//! CA bundles (files and objects that trust CAs), service-account key sets, kubeconfigs, and
//! cluster nodes, with edges `signs`, `pairs-with`, `trusts`, `presents`, `holds`, `verifies`.
//!
//! Queries: `blast_radius` (what stops working if a CA, certificate or key expires or is
//! replaced) and `resolve_id`. The graph is rendered (dot, mermaid, JSON, blast-radius listing)
//! by `report::graph`.

use std::collections::{BTreeSet, HashMap, HashSet, VecDeque};

use petgraph::Direction;
use petgraph::graph::{DiGraph, NodeIndex};
use petgraph::visit::EdgeRef;

use super::certs::Inventory;
use super::inventory::{InUse, in_use_of_host_path};
use crate::layout::{self, CaFile, short_path as short};
use crate::pki::{self, Pairing};
use crate::snapshot::Snapshot;

/// What a graph vertex stands for.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Vertex {
    Cert {
        fingerprint: String,
        label: String,
        is_ca: bool,
    },
    Key {
        spki_sha256: String,
        label: String,
    },
    Bundle {
        node: Option<String>,
        path: String,
    },
    SaKeySet {
        node: String,
        path: String,
    },
    Kubeconfig {
        node: String,
        path: String,
    },
    /// A token occurrence (never its value).
    Token {
        node: String,
        path: String,
        role: &'static str,
    },
    Node {
        name: String,
    },
    /// A certificate signing request file (one vertex per request in the file).
    Csr {
        node: String,
        path: String,
        index: usize,
        subject: String,
    },
}

impl Vertex {
    /// The stable identifier used in exports and by `--blast-radius`.
    pub fn id(&self) -> String {
        match self {
            Vertex::Cert { fingerprint, .. } => format!("cert:sha256:{fingerprint}"),
            Vertex::Key { spki_sha256, .. } => format!("key:sha256:{spki_sha256}"),
            Vertex::Bundle { node, path } => {
                format!("bundle:{}:{}", node.as_deref().unwrap_or("-"), path)
            }
            Vertex::SaKeySet { node, path } => format!("sa-keys:{node}:{path}"),
            Vertex::Kubeconfig { node, path } => format!("kubeconfig:{node}:{path}"),
            Vertex::Token { node, path, role } => format!("token:{role}:{node}:{path}"),
            Vertex::Node { name } => format!("node:{name}"),
            Vertex::Csr {
                node, path, index, ..
            } => {
                if *index == 0 {
                    format!("csr:{node}:{path}")
                } else {
                    format!("csr:{node}:{path}#{index}")
                }
            }
        }
    }

    /// A short human label.
    pub fn label(&self) -> String {
        match self {
            Vertex::Cert { label, .. } | Vertex::Key { label, .. } => label.clone(),
            Vertex::Bundle { node, path } => {
                format!("{}:{}", node.as_deref().unwrap_or("bundle"), short(path))
            }
            Vertex::SaKeySet { node, .. } => format!("{node}:service.key"),
            Vertex::Kubeconfig { node, path } => format!("{node}:{}", short(path)),
            Vertex::Token { node, path, role } => format!("{node}:{role} token ({})", short(path)),
            Vertex::Node { name } => name.clone(),
            Vertex::Csr {
                node,
                path,
                subject,
                ..
            } => format!("{node}:{} (CSR {subject})", short(path)),
        }
    }

    /// The vertex kind as exports name it (`cert`, `key`, `bundle`, …).
    pub fn kind(&self) -> &'static str {
        match self {
            Vertex::Cert { .. } => "cert",
            Vertex::Key { .. } => "key",
            Vertex::Bundle { .. } => "bundle",
            Vertex::SaKeySet { .. } => "sa-key-set",
            Vertex::Kubeconfig { .. } => "kubeconfig",
            Vertex::Token { .. } => "token",
            Vertex::Node { .. } => "node",
            Vertex::Csr { .. } => "csr",
        }
    }
}

/// Edge kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Edge {
    /// CA certificate → certificate it signed (verified with the CA's key).
    Signs,
    /// Certificate → its private key (first cert ↔ first key); CSR → the key it requests a
    /// certificate for.
    PairsWith,
    /// Bundle or kubeconfig → CA certificate it trusts.
    Trusts,
    /// Node or kubeconfig → certificate it presents.
    Presents,
    /// Node → bundle, kubeconfig, key set, token or CSR it holds.
    Holds,
    /// Service-account key set → key it verifies with.
    Verifies,
    /// Token → the CA certificate whose hash it pins.
    Pins,
}

impl Edge {
    pub fn as_str(self) -> &'static str {
        match self {
            Edge::Signs => "signs",
            Edge::PairsWith => "pairs-with",
            Edge::Trusts => "trusts",
            Edge::Presents => "presents",
            Edge::Holds => "holds",
            Edge::Verifies => "verifies",
            Edge::Pins => "pins",
        }
    }
}

/// A key file whose first key does not belong to the first certificate of its `.crt`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Mismatch {
    pub node: String,
    pub cert_path: String,
    pub key_path: String,
    pub source: String,
}

/// A key file (or one key in it) that could not be read: encrypted, OpenSSH, malformed.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct KeyProblem {
    pub node: String,
    pub source: String,
    pub path: String,
    pub reason: String,
}

/// A token whose CA hash matches none of the server CA files in the snapshot.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct UnpinnedToken {
    pub node: String,
    pub host_path: String,
    pub source: String,
    pub logical: String,
    pub line: Option<usize>,
    pub pinned_hash: String,
}

/// A hasher for vertex-index pairs: the keys are small integers this program made, not input
/// bytes, so a multiply-rotate mix is enough (and several times faster than SipHash on the
/// hundreds of thousands of edges of a large node).
#[derive(Default, Clone, Copy)]
struct BuildIndexHasher;

#[derive(Default)]
struct IndexHasher(u64);

impl std::hash::Hasher for IndexHasher {
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.write_u64(u64::from(b));
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0.rotate_left(5) ^ n).wrapping_mul(0x517c_c1b7_2722_0a95);
    }

    fn write_u32(&mut self, n: u32) {
        self.write_u64(u64::from(n));
    }

    fn write_u8(&mut self, n: u8) {
        self.write_u64(u64::from(n));
    }

    fn write_usize(&mut self, n: usize) {
        self.write_u64(n as u64);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

impl std::hash::BuildHasher for BuildIndexHasher {
    type Hasher = IndexHasher;

    fn build_hasher(&self) -> IndexHasher {
        IndexHasher::default()
    }
}

/// The graph with a lookup from vertex id to index.
#[derive(Debug, Default)]
pub struct TrustGraph {
    pub graph: DiGraph<Vertex, Edge>,
    index: HashMap<String, NodeIndex>,
    /// Edges already added (deduplication without scanning a vertex's edges: a CA or a node can
    /// have hundreds of thousands).
    edges: HashSet<(NodeIndex, NodeIndex, Edge), BuildIndexHasher>,
    pub mismatches: Vec<Mismatch>,
    /// Tokens pinning a hash no server CA file gives (TOKEN001 material).
    pub unpinned: Vec<UnpinnedToken>,
    /// Keys that were present but not read (never silently dropped).
    pub key_problems: Vec<KeyProblem>,
}

impl TrustGraph {
    fn vertex(&mut self, v: Vertex) -> NodeIndex {
        let id = v.id();
        if let Some(i) = self.index.get(&id) {
            return *i;
        }
        let i = self.graph.add_node(v);
        self.index.insert(id, i);
        i
    }

    fn edge(&mut self, a: NodeIndex, b: NodeIndex, e: Edge) {
        if self.edges.insert((a, b, e)) {
            self.graph.add_edge(a, b, e);
        }
    }

    pub fn get(&self, id: &str) -> Option<NodeIndex> {
        self.index.get(id).copied()
    }

    /// Every vertex id, in no particular order.
    pub fn ids(&self) -> impl Iterator<Item = &String> {
        self.index.keys()
    }
}

fn file_bytes<'a>(
    snap: &'a Snapshot,
    copies: &[crate::snapshot::HostFile],
) -> Option<crate::snapshot::HostBytes<'a>> {
    snap.first_copy(copies)
}

/// Build the graph from the snapshot and its certificate inventory.
pub fn build(snap: &Snapshot, inv: &Inventory) -> TrustGraph {
    let mut g = TrustGraph::default();
    let n = inv.certs.len();
    g.graph.reserve_nodes(n + 64);
    g.graph.reserve_edges(2 * n + 64);
    g.index.reserve(n + 64);
    g.edges.reserve(2 * n + 64);
    // Node vertices by name: every location of every certificate names one.
    let mut nodes: HashMap<String, NodeIndex> = HashMap::new();
    // Certificate vertices by fingerprint, without building ids for the lookups.
    let mut certs: HashMap<&str, NodeIndex> = HashMap::with_capacity(inv.certs.len());
    for (fp, e) in &inv.certs {
        let label = e
            .cert
            .subject_cn
            .clone()
            .unwrap_or_else(|| e.cert.subject.clone());
        let v = g.vertex(Vertex::Cert {
            fingerprint: fp.clone(),
            label,
            is_ca: e.cert.is_ca,
        });
        certs.insert(fp, v);
    }
    for (fp, e) in &inv.certs {
        let child = certs[fp.as_str()];
        for issuer in &e.issuers {
            if issuer != fp {
                let parent = match certs.get(issuer.as_str()) {
                    Some(&v) => v,
                    None => g.vertex_of_cert(issuer),
                };
                g.edge(parent, child, Edge::Signs);
            }
        }
        // Locations: a CA certificate in a bundle file is trusted by that bundle; the first
        // certificate of a leaf file is presented by its node.
        for l in &e.locations {
            let bundle_path: &str = l.host_path.as_deref().unwrap_or(&l.path);
            if layout::is_kubeconfig(bundle_path) {
                continue; // kubeconfigs are added with their file references below
            }
            if e.cert.is_ca && is_ca_bundle_path(bundle_path) {
                let b = g.vertex(Vertex::Bundle {
                    node: l.node.as_deref().map(str::to_string),
                    path: bundle_path.to_string(),
                });
                g.edge(b, child, Edge::Trusts);
                if let Some(n) = &l.node {
                    let nv = node_vertex(&mut g, &mut nodes, n);
                    g.edge(nv, b, Edge::Holds);
                }
            } else if !e.cert.is_ca
                && l.index == 0
                && l.in_use == InUse::Live
                && let Some(n) = &l.node
            {
                let nv = node_vertex(&mut g, &mut nodes, n);
                g.edge(nv, child, Edge::Presents);
            }
        }
    }
    add_kubeconfigs(snap, &mut g);
    add_keys(snap, inv, &mut g);
    add_csrs(snap, &mut g);
    add_tokens(snap, &mut g);
    g.mismatches.sort();
    g.unpinned.sort();
    g.key_problems.sort();
    g
}

/// Token vertices, held by their node, pinning the CA whose hash they carry.
fn add_tokens(snap: &Snapshot, g: &mut TrustGraph) {
    let served = super::tokens::served_hashes(snap);
    for (node, tokens) in super::tokens::all_tokens(snap) {
        for t in tokens {
            let role = match t.found.role {
                pki::token::TokenRole::Server => "server",
                pki::token::TokenRole::Agent => "agent",
            };
            let tv = g.vertex(Vertex::Token {
                node: node.clone(),
                path: t.host_path.clone(),
                role,
            });
            let nv = g.vertex(Vertex::Node { name: node.clone() });
            g.edge(nv, tv, Edge::Holds);
            let Some(hash) = &t.found.token.ca_hash else {
                continue;
            };
            let pinned: Vec<String> = served
                .iter()
                .filter(|s| &s.hash.hex == hash)
                .filter_map(|s| s.cert_fingerprint.clone())
                .collect();
            if pinned.is_empty() {
                if !served.is_empty() {
                    g.unpinned.push(UnpinnedToken {
                        node: node.clone(),
                        host_path: t.host_path.clone(),
                        source: t.source.clone(),
                        logical: t.logical.clone(),
                        line: t.found.line,
                        pinned_hash: hash.clone(),
                    });
                }
                continue;
            }
            for fp in pinned {
                let c = g.vertex_of_cert(&fp);
                g.edge(tv, c, Edge::Pins);
            }
        }
    }
}

impl KeyProblem {
    fn at(node: &str, source: &str, path: &str, reason: String) -> Self {
        KeyProblem {
            node: node.to_string(),
            source: source.to_string(),
            path: path.to_string(),
            reason,
        }
    }
}

impl TrustGraph {
    fn vertex_of_cert(&mut self, fp: &str) -> NodeIndex {
        match self.index.get(&format!("cert:sha256:{fp}")) {
            Some(i) => *i,
            None => self.vertex(Vertex::Cert {
                fingerprint: fp.to_string(),
                label: fp.get(..12).unwrap_or(fp).to_string(),
                is_ca: true,
            }),
        }
    }
}

/// The vertex of node `name`, through a cache of the ones already made.
fn node_vertex(
    g: &mut TrustGraph,
    cache: &mut HashMap<String, NodeIndex>,
    name: &str,
) -> NodeIndex {
    if let Some(i) = cache.get(name) {
        return *i;
    }
    let i = g.vertex(Vertex::Node {
        name: name.to_string(),
    });
    cache.insert(name.to_string(), i);
    i
}

/// Resolve a path named inside a kubeconfig to a host path of the same node: absolute paths
/// lose their leading `/`, relative ones are taken from the kubeconfig's directory.
fn host_ref(kubeconfig_host: &str, named: &str) -> String {
    if let Some(abs) = named.strip_prefix('/') {
        return abs.to_string();
    }
    let dir = kubeconfig_host
        .rsplit_once('/')
        .map(|(d, _)| d)
        .unwrap_or("");
    let mut parts: Vec<&str> = dir.split('/').filter(|s| !s.is_empty()).collect();
    for seg in named.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            s => parts.push(s),
        }
    }
    parts.join("/")
}

/// Kubeconfigs of every node: the CA they trust and the client certificate they present,
/// embedded or referenced by path (RKE2's `cred/*.kubeconfig` reference `server/tls` files).
fn add_kubeconfigs(snap: &Snapshot, g: &mut TrustGraph) {
    for node in snap.nodes.values() {
        for (host, copies) in &node.files {
            if !layout::is_kubeconfig(host) || in_use_of_host_path(host).is_none() {
                continue;
            }
            let Some((data, _, _)) = file_bytes(snap, copies) else {
                continue;
            };
            let Ok(kc) = pki::kubeconfig::parse_kubeconfig(data) else {
                continue;
            };
            let kv = g.vertex(Vertex::Kubeconfig {
                node: node.name.clone(),
                path: host.clone(),
            });
            let nv = g.vertex(Vertex::Node {
                name: node.name.clone(),
            });
            g.edge(nv, kv, Edge::Holds);
            let certs_of = |named: &str| -> Vec<pki::Cert> {
                node.files
                    .get(&host_ref(host, named))
                    .and_then(|c| file_bytes(snap, c))
                    .and_then(|(d, _, _)| pki::parse_certs(d).ok())
                    .unwrap_or_default()
            };
            for c in &kc.clusters {
                let mut cas: Vec<pki::Cert> = match &c.ca {
                    Some(Ok(v)) => v.clone(),
                    _ => Vec::new(),
                };
                if let Some(f) = &c.ca_file {
                    cas.extend(certs_of(f));
                }
                for ca in cas {
                    let cv = g.vertex_of_cert(&ca.fingerprint_sha256);
                    g.edge(kv, cv, Edge::Trusts);
                }
            }
            for u in &kc.users {
                let mut certs: Vec<pki::Cert> = match &u.client_cert {
                    Some(Ok(v)) => v.clone(),
                    _ => Vec::new(),
                };
                if certs.is_empty()
                    && let Some(f) = &u.client_cert_file
                {
                    certs = certs_of(f);
                }
                if let Some(first) = certs.first() {
                    let cv = g.vertex_of_cert(&first.fingerprint_sha256);
                    g.edge(kv, cv, Edge::Presents);
                }
            }
        }
    }
}

fn is_ca_bundle_path(p: &str) -> bool {
    let name = p.rsplit('/').next().unwrap_or(p);
    name.ends_with("ca.crt") || name.contains("ca.pem") || p.contains('#')
}

/// Certificate signing requests (`*.csr`) of every node: held by the node, paired with the key
/// whose public key they carry (the key vertex is made if no key file of the snapshot has it).
/// A request that does not parse is a key problem of its file.
fn add_csrs(snap: &Snapshot, g: &mut TrustGraph) {
    for node in snap.nodes.values() {
        for (host, copies) in &node.files {
            if !host.ends_with(".csr") || in_use_of_host_path(host).is_none() {
                continue;
            }
            let Some((data, source, logical)) = file_bytes(snap, copies) else {
                continue;
            };
            let csrs = match pki::parse_csrs(data) {
                Ok(v) => v,
                Err(e) => {
                    g.key_problems.push(KeyProblem::at(
                        &node.name,
                        &source,
                        &logical,
                        format!("CSR not parsed: {e}"),
                    ));
                    continue;
                }
            };
            let nv = g.vertex(Vertex::Node {
                name: node.name.clone(),
            });
            for (index, csr) in csrs.into_iter().enumerate() {
                let cv = g.vertex(Vertex::Csr {
                    node: node.name.clone(),
                    path: host.clone(),
                    index,
                    subject: csr.subject_cn.clone().unwrap_or(csr.subject.clone()),
                });
                g.edge(nv, cv, Edge::Holds);
                let kv = g.vertex(Vertex::Key {
                    label: format!("key {}", csr.spki_sha256.get(..12).unwrap_or("")),
                    spki_sha256: csr.spki_sha256,
                });
                g.edge(cv, kv, Edge::PairsWith);
            }
        }
    }
}

/// Keys of every node: pair `.key` files with their `.crt`, and the service-account key set.
fn add_keys(snap: &Snapshot, inv: &Inventory, g: &mut TrustGraph) {
    let by_fp = &inv.certs;
    for node in snap.nodes.values() {
        for (host, copies) in &node.files {
            if in_use_of_host_path(host).is_none() {
                continue;
            }
            let (stem, fingerprint_file) =
                if let Some(s) = host.strip_suffix(layout::FINGERPRINT_SUFFIX) {
                    (s.strip_suffix(".key").unwrap_or(s).to_string(), true)
                } else if let Some(s) = host.strip_suffix(".key") {
                    (s.to_string(), false)
                } else {
                    continue;
                };
            let Some((data, source, logical)) = file_bytes(snap, copies) else {
                continue;
            };
            let parsed: Result<Vec<(String, Option<pki::KeyInfo>)>, pki::PkiError> =
                if fingerprint_file {
                    pki::parse_pub_fingerprints(data)
                        .map(|v| v.into_iter().map(|f| (f, None)).collect())
                } else {
                    pki::parse_keys(data).map(|v| {
                        for k in &v {
                            if let pki::KeyStatus::NotParsed(reason) = &k.status {
                                g.key_problems.push(KeyProblem::at(
                                    &node.name,
                                    &source,
                                    &logical,
                                    format!("key #{}: not parsed: {reason}", k.index),
                                ));
                            }
                        }
                        v.into_iter()
                            .filter_map(|k| k.spki_sha256.clone().map(|s| (s, Some(k))))
                            .collect()
                    })
                };
            let spkis = match parsed {
                Ok(v) => v,
                Err(e) => {
                    g.key_problems.push(KeyProblem::at(
                        &node.name,
                        &source,
                        &logical,
                        e.to_string(),
                    ));
                    continue;
                }
            };
            let name = layout::file_name(host);
            let key_vertices: Vec<NodeIndex> = spkis
                .iter()
                .map(|(s, _)| {
                    g.vertex(Vertex::Key {
                        spki_sha256: s.clone(),
                        label: format!("key {}", s.get(..12).unwrap_or(s)),
                    })
                })
                .collect();
            if layout::is_service_key_name(name) {
                let set = g.vertex(Vertex::SaKeySet {
                    node: node.name.clone(),
                    path: host.clone(),
                });
                let nv = g.vertex(Vertex::Node {
                    name: node.name.clone(),
                });
                g.edge(nv, set, Edge::Holds);
                for k in &key_vertices {
                    g.edge(set, *k, Edge::Verifies);
                }
                continue;
            }
            // Pair with the first certificate of the sibling `.crt` (Go's X509KeyPair).
            let crt = format!("{stem}.crt");
            let Some(crt_copies) = node.files.get(&crt) else {
                continue;
            };
            let Some((crt_data, _, crt_logical)) = file_bytes(snap, crt_copies) else {
                continue;
            };
            let Ok(certs) = pki::parse_certs(crt_data) else {
                continue;
            };
            let Some(first) = certs.first() else { continue };
            let pairing = match spkis.first() {
                Some((s, Some(k))) => {
                    let _ = s;
                    pki::pairing::pair(first, k)
                }
                Some((s, None)) => pki::pairing::pair_fingerprint(first, s),
                None => Pairing::NotEvaluable("no key".into()),
            };
            match pairing {
                Pairing::Match => {
                    if by_fp.contains_key(&first.fingerprint_sha256)
                        && let Some(k) = key_vertices.first()
                    {
                        let c = g.vertex_of_cert(&first.fingerprint_sha256);
                        g.edge(c, *k, Edge::PairsWith);
                    }
                }
                Pairing::Mismatch => g.mismatches.push(Mismatch {
                    node: node.name.clone(),
                    cert_path: crt_logical,
                    key_path: logical,
                    source,
                }),
                Pairing::NotEvaluable(_) => {}
            }
        }
    }
}

/// Resolve a blast-radius ID: `sha256:<hex prefix>` of a certificate or key, `<node>:<path>`,
/// or a well-known name (`ca:server`, `ca:client`, `ca:request-header`, `ca:etcd-server`,
/// `ca:etcd-peer`, `sa-key`).
pub fn resolve_id(g: &TrustGraph, inv: &Inventory, id: &str) -> Result<Vec<NodeIndex>, String> {
    let well_known = match id {
        "ca:server" => Some(CaFile::ServerCa),
        "ca:client" => Some(CaFile::ClientCa),
        "ca:request-header" => Some(CaFile::RequestHeaderCa),
        "ca:etcd-server" => Some(CaFile::EtcdServerCa),
        "ca:etcd-peer" => Some(CaFile::EtcdPeerCa),
        _ => None,
    }
    .map(CaFile::common_name);
    let mut out = Vec::new();
    if let Some(prefix) = well_known {
        for (fp, e) in &inv.certs {
            let cn = e.cert.subject_cn.as_deref().unwrap_or("");
            let base = cn.split('@').next().unwrap_or(cn);
            if e.cert.is_ca
                && (base == prefix || base == format!("rke2-{prefix}"))
                && e.in_use == InUse::Live
                && let Some(i) = g.get(&format!("cert:sha256:{fp}"))
            {
                out.push(i);
            }
        }
    } else if let Some(role) = id.strip_prefix("token:") {
        out.extend(
            g.graph
                .node_indices()
                .filter(|i| matches!(&g.graph[*i], Vertex::Token { role: r, .. } if *r == role)),
        );
    } else if id == "sa-key" {
        out.extend(
            g.graph
                .node_indices()
                .filter(|i| matches!(&g.graph[*i], Vertex::SaKeySet { path, .. } if path.ends_with(layout::file_name(layout::SERVICE_KEY)))),
        );
    } else if let Some(hex) = id.strip_prefix("sha256:") {
        let hex = hex.to_ascii_lowercase();
        if hex.len() < 6 {
            return Err(format!("{id}: give at least 6 hex digits"));
        }
        for vid in g.ids() {
            let digest = vid
                .strip_prefix("cert:sha256:")
                .or_else(|| vid.strip_prefix("key:sha256:"));
            if digest.is_some_and(|d| d.starts_with(&hex))
                && let Some(i) = g.get(vid)
            {
                out.push(i);
            }
        }
    } else if let Some((node, path)) = id.split_once(':') {
        for (fp, e) in &inv.certs {
            if e.locations.iter().any(|l| {
                l.node.as_deref() == Some(node)
                    && (l
                        .host_path
                        .as_deref()
                        .is_some_and(|h| h == path || h.ends_with(&format!("/{path}")))
                        || &*l.path == path)
            }) && let Some(i) = g.get(&format!("cert:sha256:{fp}"))
            {
                out.push(i);
            }
        }
    }
    if out.is_empty() {
        Err(format!(
            "{id}: nothing in the graph matches this ID (sha256:<prefix>, <node>:<path>, ca:server, ca:client, ca:request-header, ca:etcd-server, ca:etcd-peer, sa-key)"
        ))
    } else {
        out.sort();
        out.dedup();
        Ok(out)
    }
}

/// What depends on the given vertices: certificates they sign (transitively), keys paired with
/// them, and every bundle, kubeconfig, key set and node that trusts, presents or holds any of
/// those. Sorted ids, the starting vertices excluded.
pub fn blast_radius(g: &TrustGraph, start: &[NodeIndex]) -> Vec<NodeIndex> {
    let mut seen: BTreeSet<NodeIndex> = start.iter().copied().collect();
    let mut queue: VecDeque<NodeIndex> = start.iter().copied().collect();
    while let Some(v) = queue.pop_front() {
        let mut next = Vec::new();
        for e in g.graph.edges_directed(v, Direction::Outgoing) {
            if *e.weight() == Edge::Signs {
                next.push(e.target());
            }
        }
        for e in g.graph.edges_directed(v, Direction::Incoming) {
            match e.weight() {
                Edge::Trusts
                | Edge::Presents
                | Edge::Holds
                | Edge::Verifies
                | Edge::Pins
                | Edge::PairsWith => next.push(e.source()),
                Edge::Signs => {}
            }
        }
        for n in next {
            if seen.insert(n) {
                queue.push_back(n);
            }
        }
    }
    let mut out: Vec<NodeIndex> = seen.into_iter().filter(|i| !start.contains(i)).collect();
    out.sort_by_key(|i| g.graph[*i].id());
    out
}
