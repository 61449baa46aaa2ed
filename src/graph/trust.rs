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

use crate::layout::{self, CaFile, short_path as short};
use crate::model::certs::Inventory;
use crate::model::inventory::InUse;
use crate::model::{KeyList, Model, Origin};
use crate::pki::{self, Pairing};

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
    /// The certificate file and the key file.
    pub cert: Origin,
    pub key: Origin,
}

/// A key file (or one key in it) that could not be read: encrypted, OpenSSH, malformed.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct KeyProblem {
    pub node: String,
    pub origin: Origin,
    pub reason: String,
}

/// A token whose CA hash matches none of the server CA files in the snapshot.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct UnpinnedToken {
    pub node: String,
    pub host_path: String,
    /// The source file of the token (its line is `line`).
    pub origin: Origin,
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

/// Build the graph from the credential model.
pub fn build(model: &Model) -> TrustGraph {
    let inv = &model.certs;
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
            .subject_cn()
            .map(str::to_string)
            .unwrap_or_else(|| e.cert.subject().to_string());
        let v = g.vertex(Vertex::Cert {
            fingerprint: fp.to_string(),
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
    add_kubeconfigs(model, &mut g);
    add_keys(model, &mut g);
    add_csrs(model, &mut g);
    add_tokens(model, &mut g);
    g.mismatches.sort_by(|a, b| {
        (&a.node, &a.cert.path, &a.key.path, &a.cert.input).cmp(&(
            &b.node,
            &b.cert.path,
            &b.key.path,
            &b.cert.input,
        ))
    });
    g.unpinned.sort();
    g.key_problems.sort();
    g
}

/// Token vertices, held by their node, pinning the CA whose hash they carry.
fn add_tokens(model: &Model, g: &mut TrustGraph) {
    let served = &model.served;
    for (node, tokens) in &model.tokens {
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
            let pinned: Vec<&str> = served
                .iter()
                .filter(|s| &s.hash.hex == hash)
                .filter_map(|s| s.cert_fingerprint.as_deref())
                .collect();
            if pinned.is_empty() {
                if !served.is_empty() {
                    g.unpinned.push(UnpinnedToken {
                        node: node.clone(),
                        host_path: t.host_path.clone(),
                        origin: Origin::new(t.source.as_str(), t.logical.as_str()),
                        line: t.found.line,
                        pinned_hash: hash.clone(),
                    });
                }
                continue;
            }
            for fp in pinned {
                let c = g.vertex_of_cert(fp);
                g.edge(tv, c, Edge::Pins);
            }
        }
    }
}

impl KeyProblem {
    fn at(origin: &Origin, reason: String) -> Self {
        KeyProblem {
            node: origin.node_name().to_string(),
            origin: Origin::new(origin.input.as_str(), origin.path.as_str()),
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

    /// The vertex of the key with public-key hash `spki`.
    fn vertex_of_key(&mut self, spki: &str) -> NodeIndex {
        self.vertex(Vertex::Key {
            spki_sha256: spki.to_string(),
            label: format!("key {}", spki.get(..12).unwrap_or(spki)),
        })
    }

    /// The vertex of a node's file (kubeconfig, key set, …) held by the node.
    fn held(&mut self, node: &str, file: Vertex) -> NodeIndex {
        let fv = self.vertex(file);
        let nv = self.vertex(Vertex::Node {
            name: node.to_string(),
        });
        self.edge(nv, fv, Edge::Holds);
        fv
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

/// Kubeconfigs of every node: the CAs they trust and the client certificates they present,
/// embedded or referenced by path (RKE2's `cred/*.kubeconfig` reference `server/tls` files).
fn add_kubeconfigs(model: &Model, g: &mut TrustGraph) {
    for k in model.kubeconfigs.values() {
        let kv = g.held(
            k.origin.node_name(),
            Vertex::Kubeconfig {
                node: k.origin.node_name().to_string(),
                path: k.origin.host_path().to_string(),
            },
        );
        for fp in &k.trusts {
            let cv = g.vertex_of_cert(fp);
            g.edge(kv, cv, Edge::Trusts);
        }
        for fp in &k.presents {
            let cv = g.vertex_of_cert(fp);
            g.edge(kv, cv, Edge::Presents);
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
fn add_csrs(model: &Model, g: &mut TrustGraph) {
    for f in model.csrs.values() {
        let requests = match &f.requests {
            Ok(v) => v,
            Err(e) => {
                g.key_problems
                    .push(KeyProblem::at(&f.origin, format!("CSR not parsed: {e}")));
                continue;
            }
        };
        let nv = g.vertex(Vertex::Node {
            name: f.origin.node_name().to_string(),
        });
        for (index, csr) in requests.iter().enumerate() {
            let cv = g.vertex(Vertex::Csr {
                node: f.origin.node_name().to_string(),
                path: f.origin.host_path().to_string(),
                index,
                subject: csr.subject.clone(),
            });
            g.edge(nv, cv, Edge::Holds);
            let kv = g.vertex_of_key(&csr.spki_sha256);
            g.edge(cv, kv, Edge::PairsWith);
        }
    }
}

/// Keys of every node: pair `.key` files with their `.crt`, and the service-account key set.
fn add_keys(model: &Model, g: &mut TrustGraph) {
    for f in model.keys.values() {
        for problem in f.problems() {
            g.key_problems.push(KeyProblem::at(&f.origin, problem));
        }
        if f.list.is_err() {
            continue;
        }
        let spkis = f.spkis();
        let key_vertices: Vec<NodeIndex> = spkis.iter().map(|s| g.vertex_of_key(s)).collect();
        let host = f.origin.host_path();
        if layout::is_service_key_name(layout::file_name(host)) {
            let set = g.held(
                f.origin.node_name(),
                Vertex::SaKeySet {
                    node: f.origin.node_name().to_string(),
                    path: host.to_string(),
                },
            );
            for k in &key_vertices {
                g.edge(set, *k, Edge::Verifies);
            }
            continue;
        }
        // Pair with the first certificate of the sibling `.crt` (Go's X509KeyPair).
        let stem = f.key_host().strip_suffix(".key").unwrap_or(f.key_host());
        let crt = format!("{stem}.crt");
        let Some(crt_file) = model.file(f.origin.node_name(), &crt) else {
            continue;
        };
        let Some(first) = model.certs_of(f.origin.node_name(), &crt).next() else {
            continue;
        };
        let pairing = match &f.list {
            Ok(KeyList::Keys(keys)) => match keys.iter().find(|k| k.spki_sha256.is_some()) {
                Some(k) => pki::pairing::pair(&first.cert, k),
                None => Pairing::NotEvaluable("no key".into()),
            },
            Ok(KeyList::Fingerprints(fps)) => match fps.first() {
                Some(s) => pki::pairing::pair_fingerprint(&first.cert, s),
                None => Pairing::NotEvaluable("no key".into()),
            },
            Err(_) => Pairing::NotEvaluable("not read".into()),
        };
        match pairing {
            Pairing::Match => {
                if let Some(k) = key_vertices.first() {
                    let c = g.vertex_of_cert(first.cert.fingerprint_sha256());
                    g.edge(c, *k, Edge::PairsWith);
                }
            }
            Pairing::Mismatch => g.mismatches.push(Mismatch {
                node: f.origin.node_name().to_string(),
                cert: crt_file.origin.clone(),
                key: f.origin.clone(),
            }),
            Pairing::NotEvaluable(_) => {}
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
            let cn = e.cert.subject_cn().unwrap_or("");
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
