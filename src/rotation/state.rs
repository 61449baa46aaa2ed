//! The trust state of a cluster, built from a [`Snapshot`] and its credential [`Model`]: per
//! node its role (server, agent, witness; etcd member or not), the CA bundles its components
//! trust on disk, the leaf certificates they present, the token its rke2 reads (CA hash and a
//! password digest, never the password), whether its service is taken as running, its
//! service-account key lists and its staged files. Certificates are named by fingerprint and
//! shared with the model (`Arc`), so a state built from a model an effect produced
//! ([`crate::model::effect::apply`]) sees the swapped files.
//!
//! What a snapshot cannot show is not guessed silently: it is an [`Assumption`] of the state.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use crate::layout::{self, AgentCopy, CaFile};
use crate::model::Model;
use crate::model::certs::Location;
use crate::pki::{self, CaHashMethod, Cert};
use crate::snapshot::{Role, Snapshot};

/// What a node is to the rotation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum NodeRole {
    /// Runs `rke2-server` with the control plane (and etcd unless `disable-etcd`).
    Server,
    /// Runs `rke2-agent` only.
    Agent,
    /// A Harvester witness: `rke2-server` running etcd only.
    Witness,
}

impl NodeRole {
    pub fn as_str(self) -> &'static str {
        match self {
            NodeRole::Server => "server",
            NodeRole::Agent => "agent",
            NodeRole::Witness => "witness",
        }
    }
}

/// A CA bundle a node's components trust, by the file they read it from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Trust {
    /// A cluster CA file of `server/tls/` (servers and witnesses).
    Cluster(CaFile),
    /// An agent copy (`agent/server-ca.crt`: every agent kubeconfig and the supervisor client;
    /// `agent/client-ca.crt`: the kubelet's `--client-ca-file`), on every node.
    Agent(AgentCopy),
}

impl Trust {
    /// Every bundle a node may hold.
    pub const ALL: [Trust; 7] = [
        Trust::Cluster(CaFile::ServerCa),
        Trust::Cluster(CaFile::ClientCa),
        Trust::Cluster(CaFile::RequestHeaderCa),
        Trust::Cluster(CaFile::EtcdServerCa),
        Trust::Cluster(CaFile::EtcdPeerCa),
        Trust::Agent(AgentCopy::ServerCa),
        Trust::Agent(AgentCopy::ClientCa),
    ];

    /// The host path the bundle is read from.
    pub const fn host_path(self) -> &'static str {
        match self {
            Trust::Cluster(c) => c.host_path(),
            Trust::Agent(a) => a.host_path(),
        }
    }
}

/// A leaf certificate a node's component presents.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Leaf {
    /// kube-apiserver serving (`serving-kube-apiserver.crt`, server CA).
    ApiserverServing,
    /// kube-apiserver's client towards kubelets (`client-kube-apiserver.crt`, client CA).
    ApiserverKubeletClient,
    /// kube-apiserver's front-proxy client (`client-auth-proxy.crt`, request-header CA).
    AuthProxyClient,
    /// kube-apiserver's etcd client (`etcd/client.crt`, etcd server CA).
    EtcdClient,
    /// The supervisor's :9345 listener (`dynamic-cert.json`, server CA).
    Supervisor,
    /// etcd serving (`etcd/server-client.crt`, etcd server CA).
    EtcdServer,
    /// etcd peer (`etcd/peer-server-client.crt`, etcd peer CA).
    EtcdPeer,
    /// kubelet serving (`agent/serving-kubelet.crt`, server CA).
    KubeletServing,
    /// kubelet client (`agent/client-kubelet.crt`, client CA).
    KubeletClient,
}

impl Leaf {
    pub const ALL: [Leaf; 9] = [
        Leaf::ApiserverServing,
        Leaf::ApiserverKubeletClient,
        Leaf::AuthProxyClient,
        Leaf::EtcdClient,
        Leaf::Supervisor,
        Leaf::EtcdServer,
        Leaf::EtcdPeer,
        Leaf::KubeletServing,
        Leaf::KubeletClient,
    ];

    /// The host path of the file presenting it.
    pub const fn host_path(self) -> &'static str {
        match self {
            Leaf::ApiserverServing => layout::APISERVER_SERVING_CERT,
            Leaf::ApiserverKubeletClient => layout::APISERVER_KUBELET_CLIENT_CERT,
            Leaf::AuthProxyClient => layout::AUTH_PROXY_CLIENT_CERT,
            Leaf::EtcdClient => layout::ETCD_CLIENT_CERT,
            Leaf::Supervisor => layout::DYNAMIC_CERT,
            Leaf::EtcdServer => layout::ETCD_SERVER_CERT,
            Leaf::EtcdPeer => layout::ETCD_PEER_CERT,
            Leaf::KubeletServing => layout::SERVING_KUBELET_CERT,
            Leaf::KubeletClient => layout::CLIENT_KUBELET_CERT,
        }
    }
}

/// The certificates of one node file, by fingerprint in file order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertFile {
    pub host: String,
    pub certs: Vec<String>,
    /// A leaf the simulator had rke2 re-issue at a start: `certs[0]` is then the CA that signed
    /// it (the leaf itself has no bytes; it verifies wherever its signer does), the rest the
    /// chain the file carries.
    pub reissued: bool,
}

/// A digest of a token password: SHA-256 over a domain-separated password, for comparing two
/// nodes' passwords. It never reaches an output (its `Debug` shows a prefix only).
#[derive(Clone, PartialEq, Eq)]
pub struct PasswordDigest(String);

impl PasswordDigest {
    fn of(password: &pki::Secret) -> PasswordDigest {
        let mut bytes = b"harrow:token-password:".to_vec();
        bytes.extend_from_slice(password.expose().as_bytes());
        PasswordDigest(pki::sha256_hex(&bytes))
    }
}

impl PasswordDigest {
    /// The digest standing for the password `token rotate` sets after this one (the simulator
    /// knows a new password exists, never its value).
    pub fn rotated(&self) -> PasswordDigest {
        PasswordDigest(pki::sha256_hex(
            format!("harrow:rotated:{}", self.0).as_bytes(),
        ))
    }
}

impl std::fmt::Debug for PasswordDigest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PasswordDigest({}…)", self.0.get(..8).unwrap_or(""))
    }
}

/// The token a node's rke2 presents when it starts (by RKE2's precedence, [`crate::model::tokens::NodeJoin`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenState {
    /// The host path of the source rke2 reads it from.
    pub source: String,
    /// The CA hash it pins (`None`: short form or no hash).
    pub ca_hash: Option<String>,
    pub password: PasswordDigest,
}

/// The service-account keys of a server, by public-key hash (SHA-256 of the SPKI).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceKeys {
    /// `service.key`: every key the apiserver verifies tokens with, in file order.
    pub verify: Vec<String>,
    /// The key tokens are signed with: `service.current.key`, else the first of `service.key`.
    pub current: Option<String>,
    /// Every key known to have signed tokens still in use: the current one of the snapshot and,
    /// in a simulation, each one a rotation replaced (tokens they signed must keep verifying).
    pub signed: Vec<String>,
}

/// One node's trust state.
#[derive(Debug, Clone)]
pub struct NodeState {
    pub name: String,
    /// `None` when nothing in the inputs tells.
    pub role: Option<NodeRole>,
    /// Runs an etcd member (servers and witnesses unless `disable-etcd`).
    pub etcd: bool,
    /// Runs kube-apiserver (servers unless `disable-apiserver`; never witnesses or agents).
    pub apiserver: bool,
    /// The node's host files are in the inputs (a node snapshot or a bundle's node files).
    pub files: bool,
    /// Taken as running with what is on disk (see the state's assumptions).
    pub running: bool,
    pub trusts: BTreeMap<Trust, CertFile>,
    pub presents: BTreeMap<Leaf, CertFile>,
    /// The server token it presents; `None` when no readable source holds one.
    pub token: Option<TokenState>,
    /// The CA hash it serves at `/cacerts` (hashCA over `server/tls/server-ca.crt`).
    pub served_hash: Option<String>,
    pub service_keys: Option<ServiceKeys>,
    /// Certificates in staged trees (`opt/rke2/server/**`, `server/rotate-ca/**`), by host path.
    pub staged: BTreeMap<String, CertFile>,
    /// Key files in staged trees, by host path: their public-key hashes in file order.
    pub staged_keys: BTreeMap<String, Vec<String>>,
}

impl NodeState {
    /// Runs rke2-server (server or witness).
    pub fn is_server(&self) -> bool {
        matches!(self.role, Some(NodeRole::Server | NodeRole::Witness))
    }
}

/// Something the state takes as given because a snapshot cannot show it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Assumption {
    /// The node it is about, `None` for the whole cluster.
    pub node: Option<String>,
    pub text: String,
}

/// The trust state of the cluster.
#[derive(Debug, Clone, Default)]
pub struct TrustState {
    pub nodes: BTreeMap<String, NodeState>,
    /// Every certificate the nodes' files name, by fingerprint (shared with the model).
    pub certs: BTreeMap<String, Arc<Cert>>,
    pub assumptions: Vec<Assumption>,
}

impl TrustState {
    /// The certificates of a file, parsed, in file order.
    pub fn certs_of<'a>(&'a self, file: &CertFile) -> Vec<&'a Cert> {
        file.certs
            .iter()
            .filter_map(|fp| self.certs.get(fp))
            .map(|c| &**c)
            .collect()
    }

    /// The etcd members, by name.
    pub fn etcd_members(&self) -> impl Iterator<Item = &NodeState> {
        self.nodes.values().filter(|n| n.etcd)
    }
}

/// Every node file's certificates, by (node, host path), from the certificates' locations.
type FileIndex<'m> = BTreeMap<(&'m str, &'m str), Vec<(usize, &'m str)>>;

fn file_index(model: &Model) -> FileIndex<'_> {
    let mut out: FileIndex<'_> = BTreeMap::new();
    for (fp, e) in &model.certs.certs {
        for l in &e.locations {
            if let Location {
                node: Some(node),
                host_path: Some(host),
                ..
            } = l
            {
                out.entry((&**node, &**host))
                    .or_default()
                    .push((l.index, fp.as_str()));
            }
        }
    }
    for v in out.values_mut() {
        v.sort();
        v.dedup();
    }
    out
}

fn cert_file(index: &FileIndex<'_>, node: &str, host: &str) -> Option<CertFile> {
    index.get(&(node, host)).map(|v| CertFile {
        host: host.to_string(),
        certs: v.iter().map(|(_, fp)| (*fp).to_string()).collect(),
        reissued: false,
    })
}

/// Build the trust state of `snap` as `model` describes its credentials.
pub fn build(snap: &Snapshot, model: &Model) -> TrustState {
    let index = file_index(model);
    let mut st = TrustState::default();
    st.assumptions.push(Assumption {
        node: None,
        text: "every node's rke2 service is taken as running with the files on its disk: a \
               snapshot shows no process state, so a process that still holds older files is \
               not seen"
            .to_string(),
    });
    st.assumptions.push(Assumption {
        node: None,
        text: "only each server's current service-account key (service.current.key, else the \
               first key of service.key) is known to have signed tokens; keys that signed \
               earlier are not visible in a snapshot"
            .to_string(),
    });
    for node in snap.nodes.values() {
        let name = node.name.as_str();
        let files = !node.files.is_empty();
        let config = model.hosts.get(name).and_then(|h| h.config.as_ref());
        let flag = |key: &str| config.and_then(|c| c.get(key)).is_some_and(|e| e.is_true());
        let role = if node.roles.contains(&Role::Witness) {
            Some(NodeRole::Witness)
        } else if node.roles.contains(&Role::Server) {
            Some(NodeRole::Server)
        } else if node.roles.contains(&Role::Agent) {
            Some(NodeRole::Agent)
        } else {
            st.assumptions.push(Assumption {
                node: Some(name.to_string()),
                text: "its role is unknown: no Node object or host file says whether it runs \
                       rke2-server or rke2-agent"
                    .to_string(),
            });
            None
        };
        let serverish = matches!(role, Some(NodeRole::Server | NodeRole::Witness));
        if serverish && config.is_none() {
            st.assumptions.push(Assumption {
                node: Some(name.to_string()),
                text: "its rke2 configuration is not in the inputs: it is taken to run etcd \
                       (and, unless a witness, the apiserver) as rke2 does by default"
                    .to_string(),
            });
        }
        if !files {
            st.assumptions.push(Assumption {
                node: Some(name.to_string()),
                text: "its host files are not in the inputs: the links it takes part in are \
                       unknown"
                    .to_string(),
            });
        }
        let etcd = serverish && !flag("disable-etcd");
        let apiserver = role == Some(NodeRole::Server) && !flag("disable-apiserver");
        let mut trusts = BTreeMap::new();
        for t in Trust::ALL {
            if let Some(f) = cert_file(&index, name, t.host_path()) {
                trusts.insert(t, f);
            }
        }
        let mut presents = BTreeMap::new();
        for l in Leaf::ALL {
            if let Some(f) = cert_file(&index, name, l.host_path()) {
                presents.insert(l, f);
            }
        }
        let token = model.joins.get(name).and_then(|j| {
            let t = j.server_token(model.tokens.get(name).map_or(&[][..], |v| v))?;
            Some(TokenState {
                source: t.host_path.clone(),
                ca_hash: t.found.token.ca_hash.clone(),
                password: PasswordDigest::of(&t.found.token.password),
            })
        });
        let served_hash = trusts
            .get(&Trust::Cluster(CaFile::ServerCa))
            .and_then(|f| served_hash(model, &st_certs(model, f), name));
        let service_keys = service_keys(model, name);
        let staged: BTreeMap<String, CertFile> = index
            .range((name, "")..)
            .take_while(|((n, _), _)| *n == name)
            .filter(|((_, host), _)| layout::is_staged(host))
            .map(|((_, host), v)| {
                let file = CertFile {
                    host: host.to_string(),
                    certs: v.iter().map(|(_, fp)| (*fp).to_string()).collect(),
                    reissued: false,
                };
                (host.to_string(), file)
            })
            .collect();
        let staged_keys = model
            .keys
            .range((name.to_string(), String::new())..)
            .take_while(|((n, _), _)| n == name)
            .filter(|((_, host), _)| layout::is_staged(host))
            .map(|((_, host), k)| {
                (
                    host.clone(),
                    k.spkis().into_iter().map(str::to_string).collect(),
                )
            })
            .collect();
        st.nodes.insert(
            name.to_string(),
            NodeState {
                name: name.to_string(),
                role,
                etcd,
                apiserver,
                files,
                running: true,
                trusts,
                presents,
                token,
                served_hash,
                service_keys,
                staged,
                staged_keys,
            },
        );
    }
    let wanted: BTreeSet<&String> = st
        .nodes
        .values()
        .flat_map(|n| {
            n.trusts
                .values()
                .chain(n.presents.values())
                .chain(n.staged.values())
        })
        .flat_map(|f| f.certs.iter())
        .collect();
    let certs = wanted
        .into_iter()
        .filter_map(|fp| {
            model
                .certs
                .certs
                .get(fp.as_str())
                .map(|e| (fp.clone(), Arc::clone(&e.cert)))
        })
        .collect();
    st.certs = certs;
    st
}

fn st_certs<'m>(model: &'m Model, f: &CertFile) -> Vec<&'m Cert> {
    f.certs
        .iter()
        .filter_map(|fp| model.certs.certs.get(fp.as_str()))
        .map(|e| &*e.cert)
        .collect()
}

/// The CA hash a server serves, by RKE2's hashCA over its `server-ca.crt` as the model knows
/// it: for one certificate the SHA-256 of the file's bytes (the compared-file digest), for
/// several the fingerprint of the root the first certificate chains to ([`pki::ca_hash`] over
/// the certificates re-encoded), falling back to the file's bytes when none verifies.
fn served_hash(model: &Model, certs: &[&Cert], node: &str) -> Option<String> {
    let raw = model
        .digests
        .get(&(node.to_string(), CaFile::ServerCa.host_path().to_string()))
        .map(|d| d.sha256.clone());
    bundle_hash(certs, raw)
}

/// RKE2's hashCA of a bundle: for several certificates the fingerprint of the root the first
/// chains to, else `raw` (the SHA-256 of the file's bytes when known; for one certificate
/// without known bytes, of its PEM as rke2 writes it).
pub fn bundle_hash(certs: &[&Cert], raw: Option<String>) -> Option<String> {
    let pem = pem_of(certs);
    if certs.len() <= 1 {
        return raw.or_else(|| (!certs.is_empty()).then(|| pki::sha256_hex(pem.as_bytes())));
    }
    match pki::ca_hash(pem.as_bytes()) {
        Ok(h) if matches!(h.method, CaHashMethod::Root { .. }) => Some(h.hex),
        _ => raw.or_else(|| Some(pki::sha256_hex(pem.as_bytes()))),
    }
}

/// The certificates as one PEM file, 64 columns, as Go's `pem.Encode` writes them.
pub fn pem_of(certs: &[&Cert]) -> String {
    certs
        .iter()
        .map(|c| pki::pem::encode("CERTIFICATE", c.der()))
        .collect()
}

fn service_keys(model: &Model, node: &str) -> Option<ServiceKeys> {
    let verify: Vec<String> = model
        .key_file(node, layout::SERVICE_KEY)?
        .spkis()
        .into_iter()
        .map(str::to_string)
        .collect();
    let current = model
        .key_file(node, layout::SERVICE_CURRENT_KEY)
        .and_then(|k| k.spkis().first().map(|s| (*s).to_string()))
        .or_else(|| verify.first().cloned());
    let signed = current.iter().cloned().collect();
    Some(ServiceKeys {
        verify,
        current,
        signed,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_password_digest_shows_a_prefix_only() {
        let d = PasswordDigest::of(&pki::Secret::new("s3cr3t-password"));
        let shown = format!("{d:?}");
        assert!(!shown.contains("s3cr3t"));
        assert!(shown.len() < 30, "{shown}");
        assert_eq!(d, PasswordDigest::of(&pki::Secret::new("s3cr3t-password")));
        assert_ne!(d, PasswordDigest::of(&pki::Secret::new("other")));
    }

    #[test]
    fn every_trust_and_leaf_has_its_own_place() {
        let mut seen: Vec<&str> = Trust::ALL.iter().map(|t| t.host_path()).collect();
        seen.extend(Leaf::ALL.iter().map(|l| l.host_path()));
        let n = seen.len();
        seen.sort();
        seen.dedup();
        assert_eq!(seen.len(), n);
        assert!(seen.iter().all(|p| p.starts_with(layout::DATA_DIR)));
    }
}
