//! Types of the merged snapshot.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use time::OffsetDateTime;

use crate::ingest::InputTree;
pub use crate::vocab::{Coverage, CoverageStatus, Origin};

/// What an input turned out to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum InputKind {
    HarvesterSupportBundle,
    NodeSnapshot,
    /// A directory that is neither a bundle nor a node snapshot.
    Directory,
    Unreadable,
}

/// One input as the report lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputSummary {
    pub path: String,
    /// File name used in provenance strings.
    pub name: String,
    pub kind: InputKind,
    pub sha256: String,
    pub collected_at: Option<OffsetDateTime>,
    /// Why the input could not be read (only for [`InputKind::Unreadable`]).
    pub error: Option<String>,
}

/// `metadata.yaml` of a support bundle (keys are lower-cased Go field names).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BundleMeta {
    pub bundle_name: Option<String>,
    pub bundle_version: Option<String>,
    pub kubernetes_version: Option<String>,
    pub project_namespace_uuid: Option<String>,
    pub created_at: Option<OffsetDateTime>,
    /// Index into [`Snapshot::inputs`].
    pub input: usize,
    /// Logical path of the bundle's top folder (`supportbundle_<id>_<ts>`), may be empty.
    pub top: String,
}

/// Node roles, as they appear in the JSON output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    ControlPlane,
    Etcd,
    Master,
    Worker,
    Witness,
    Management,
    /// Runs `rke2-server` (witnesses included).
    Server,
    /// Agent-only node.
    Agent,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::ControlPlane => "control-plane",
            Role::Etcd => "etcd",
            Role::Master => "master",
            Role::Worker => "worker",
            Role::Witness => "witness",
            Role::Management => "management",
            Role::Server => "server",
            Role::Agent => "agent",
        }
    }
}

/// A file on a node's host file system, as seen through one input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostFile {
    /// Index into [`Snapshot::inputs`] / [`Snapshot::trees`].
    pub input: usize,
    /// Logical path inside that input (look it up with [`InputTree::resolve`]); shared with the
    /// locations of the certificates read from it.
    pub logical: std::sync::Arc<str>,
}

/// A host file's bytes with the input's file name and the logical path inside it.
pub type HostBytes<'a> = (&'a [u8], String, String);

/// One cluster node.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Node {
    pub name: String,
    pub roles: BTreeSet<Role>,
    /// Internal/external IPs and hostnames, sorted, deduplicated.
    pub addresses: BTreeSet<String>,
    /// Where this node was seen: provenance strings (`bundle.zip!…/yamls/cluster/v1/nodes.yaml`,
    /// `n1.tgz`, `bundle.zip!…/nodes/n1.zip`).
    pub sources: BTreeSet<String>,
    /// The node's host files by host path without leading `/`
    /// (`var/lib/rancher/rke2/server/tls/server-ca.crt`, `etc/rancher/rke2/config.yaml.d/…`,
    /// `oem/90_custom.yaml`; the places are named in [`crate::layout`]). Bundle node zips map `configs/etc/…` → `etc/…`,
    /// `configs/oem/…` → `oem/…`, `logs/x.log` → `logs/x.log` (a scanned log).
    /// Keys are shared with the certificates' locations ([`crate::model::certs::Location`]).
    pub files: BTreeMap<std::sync::Arc<str>, Vec<HostFile>>,
    /// Indexes into [`Snapshot::inputs`] of the inputs that cover this node.
    pub inputs: BTreeSet<usize>,
    /// The host paths known to exist on the node besides its [`Node::files`]: every directory
    /// of a file, and the paths seen without content (links, skipped entries), mapped like
    /// `files`. [`Node::has_path`] asks both.
    pub present: BTreeSet<String>,
    /// `status.nodeInfo.kubeletVersion` of the Node object, when a bundle has one.
    pub kubelet_version: Option<String>,
    /// Index into [`Snapshot::objects`] of the Node object, when a bundle has one.
    pub object: Option<usize>,
    /// Where the roles came from: `labels` (Node object) or `files` (host files of a node
    /// snapshot or node zip), or empty when nothing said.
    pub roles_source: Option<String>,
}

impl Node {
    /// Whether the node has `host` (a host path without leading `/`): a file, a directory of
    /// one, or a path seen without content.
    pub fn has_path(&self, host: &str) -> bool {
        self.files.contains_key(host) || self.present.contains(host)
    }
}

/// One Kubernetes object from a `yamls/` list, normalised: string `"null"` became null (except
/// under a key named `key`), masked values stay `"***"` (see [`is_masked`]).
#[derive(Debug, Clone, PartialEq)]
pub struct KubeObject {
    pub api_version: String,
    pub kind: String,
    pub namespace: Option<String>,
    pub name: String,
    pub value: serde_json::Value,
    /// Index into [`Snapshot::inputs`].
    pub input: usize,
    /// Logical path of the list file.
    pub path: String,
    /// Index of the item in the list's `items`.
    pub index: usize,
}

impl KubeObject {
    /// The value at a path of keys (`["metadata", "labels"]`).
    pub fn get(&self, path: &[&str]) -> Option<&serde_json::Value> {
        super::value::get(&self.value, path)
    }

    /// A present string at a path: null, `"null"`, empty and masked `***` are absent.
    pub fn str_at(&self, path: &[&str]) -> Option<&str> {
        super::value::str_at(&self.value, path)
    }

    /// An integer at a path, accepting the collector's float spelling (`2.000001e+09`).
    pub fn i64_at(&self, path: &[&str]) -> Option<i64> {
        super::value::i64_at(&self.value, path)
    }

    /// A label's present value.
    pub fn label(&self, key: &str) -> Option<&str> {
        self.str_at(&["metadata", "labels", key])
    }

    /// An annotation's present value.
    pub fn annotation(&self, key: &str) -> Option<&str> {
        self.str_at(&["metadata", "annotations", key])
    }

    /// Group (empty for core), version, plural and whether namespaced, from the list's path
    /// (`…/yamls/namespaced/<ns>/<group>/<version>/<plural>.yaml`).
    pub fn resource(&self) -> Option<(String, String, String, bool)> {
        let outer = self.path.rsplit('!').next().unwrap_or(&self.path);
        let segs = super::selector::segments(outer);
        let i = segs.iter().rposition(|s| *s == "yamls")?;
        let p = super::selector::parse_yaml_path(&segs[i + 1..])?;
        Some((
            p.group.to_string(),
            p.version.to_string(),
            p.plural.to_string(),
            p.namespace.is_some(),
        ))
    }
}

/// True for a value the support-bundle collector masked: it writes `"***"` over the values of
/// keys named `passwd`, `password`, `secret`, `token` and `agent-token`. Whether a secret value
/// holds no secret at all (empty, `null`, rke2's `********`) is a wider question:
/// [`crate::pki::secret::is_placeholder`].
pub fn is_masked(s: &str) -> bool {
    s == "***"
}

/// What a note raised while building the snapshot is about; each kind is judged by one rule
/// of the registry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum NoteKind {
    /// The bundle is incomplete: generation errors, missing or empty node zips, malformed files.
    Incomplete,
    /// An entry was refused as unsafe or over a limit.
    Refused,
    /// A fact about the inputs worth knowing before trusting the report.
    InputFact,
}

/// A finding raised while building the snapshot (bundle hygiene, malformed files, facts about
/// the inputs).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Note {
    pub kind: NoteKind,
    pub title: String,
    pub message: String,
    pub node: Option<String>,
    pub evidence: Vec<Origin>,
}

/// Cluster-wide facts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClusterInfo {
    pub kubernetes_version: Option<String>,
    pub rke2_version: Option<String>,
    pub harvester_version: Option<String>,
}

/// The merged snapshot of one cluster.
#[derive(Debug, Default)]
pub struct Snapshot {
    pub inputs: Vec<InputSummary>,
    /// The ingest output per input, same order as `inputs`.
    pub trees: Vec<InputTree>,
    pub bundles: Vec<BundleMeta>,
    pub cluster: ClusterInfo,
    /// Nodes by name.
    pub nodes: BTreeMap<String, Node>,
    pub objects: Vec<KubeObject>,
    pub notes: Vec<Note>,
    /// What the ingest passed over without it being a fault (links leaving an archive's tree,
    /// link targets not loaded), one sentence each.
    pub remarks: Vec<String>,
    /// Set when the inputs belong to different clusters: the reason. The analysis refuses.
    pub refused: Option<String>,
    /// Per input (same order as `inputs`): layout, prefix, node, manifest, identity keys.
    pub input_info: Vec<InputInfo>,
}

/// How one input was understood, beyond [`InputSummary`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InputInfo {
    /// Bundle top folder or node snapshot prefix (logical path ending in `/`, or empty).
    pub prefix: String,
    /// The node name given on the command line (`NAME=PATH`).
    pub given_name: Option<String>,
    /// For a node snapshot: the node it holds.
    pub node: Option<String>,
    /// How the node snapshot's name was found (`command line`, `snapshot.yaml`,
    /// `serving-kubelet.crt`, `client-kubelet.crt`, `etc/hostname`, `file name`).
    pub node_name_source: Option<String>,
    /// `snapshot.yaml` of a node snapshot made by `harrow collect`.
    pub manifest: Option<SnapshotManifest>,
    /// True when `collected_at` was estimated (newest file mtime) rather than recorded.
    pub collected_at_estimated: bool,
    /// Identity keys used to decide whether inputs belong to one cluster.
    pub identity: IdentityKeys,
}

/// `snapshot.yaml` at the root of a node snapshot written by `harrow collect`:
///
/// ```yaml
/// node: node1                          # node name
/// collected_at: "2026-11-23T10:00:00Z" # RFC 3339
/// collector_version: harrow 0.1.0
/// replaced:                            # host paths whose content was replaced
///   - path: var/lib/rancher/rke2/server/tls/server-ca.key
///     with: var/lib/rancher/rke2/server/tls/server-ca.key.pub-fingerprint
///     reason: private-key              # or: secret
///   - etc/rancher/rke2/config.yaml     # a bare path is accepted too
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SnapshotManifest {
    pub node: Option<String>,
    pub collected_at: Option<OffsetDateTime>,
    pub collector_version: Option<String>,
    pub replaced: Vec<Replaced>,
}

/// One entry of [`SnapshotManifest::replaced`].
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Replaced {
    /// Host path (no leading `/`) of the original file.
    pub path: String,
    /// Host path of the replacement (`<name>.pub-fingerprint`), if it moved.
    pub with: Option<String>,
    /// Why (`private-key`, `secret`, …), if said.
    pub reason: Option<String>,
}

/// The identity keys of one input (product.md "One cluster").
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IdentityKeys {
    /// SHA-256 (hex) of the first certificate's DER of `server-ca.crt` copies and the
    /// `kube-root-ca.crt` ConfigMaps.
    pub server_ca: BTreeSet<String>,
    /// SHA-256 (hex) of the first certificate's DER of `client-ca.crt` copies and the
    /// `extension-apiserver-authentication` `client-ca-file`.
    pub client_ca: BTreeSet<String>,
    /// SHA-256 (hex) of every certificate (not only the first) of those CA bundles: links a
    /// node whose trust is stale, or a bundle mid-rotation, to the cluster it belongs to.
    pub ca_any: BTreeSet<String>,
    /// `projectnamespaceuuid` of bundle metadata.
    pub project_uuid: BTreeSet<String>,
    /// Node names the input covers.
    pub node_names: BTreeSet<String>,
}

impl IdentityKeys {
    pub fn is_empty(&self) -> bool {
        self.server_ca.is_empty()
            && self.client_ca.is_empty()
            && self.ca_any.is_empty()
            && self.project_uuid.is_empty()
            && self.node_names.is_empty()
    }

    /// The keys both share, as readable strings (`server-ca:sha256:…`, `node:n1`).
    pub fn shared_with(&self, other: &IdentityKeys) -> Vec<String> {
        let mut out = Vec::new();
        for f in self.server_ca.intersection(&other.server_ca) {
            out.push(format!("server-ca:sha256:{f}"));
        }
        for f in self.client_ca.intersection(&other.client_ca) {
            out.push(format!("client-ca:sha256:{f}"));
        }
        if out.is_empty() {
            for f in self.ca_any.intersection(&other.ca_any) {
                out.push(format!("ca:sha256:{f}"));
            }
        }
        for u in self.project_uuid.intersection(&other.project_uuid) {
            out.push(format!("projectnamespaceuuid:{u}"));
        }
        for n in self.node_names.intersection(&other.node_names) {
            out.push(format!("node:{n}"));
        }
        out
    }
}

impl Snapshot {
    /// Objects of a kind (and optionally namespace), in a stable order.
    pub fn objects_of<'a>(&'a self, kind: &'a str) -> impl Iterator<Item = &'a KubeObject> + 'a {
        self.objects.iter().filter(move |o| o.kind == kind)
    }

    /// Objects of a kind in a namespace.
    pub fn objects_in<'a>(
        &'a self,
        kind: &'a str,
        namespace: &'a str,
    ) -> impl Iterator<Item = &'a KubeObject> + 'a {
        self.objects
            .iter()
            .filter(move |o| o.kind == kind && o.namespace.as_deref() == Some(namespace))
    }

    /// The first object of a kind, namespace (`None` for cluster-scoped) and name.
    pub fn object(&self, kind: &str, namespace: Option<&str>, name: &str) -> Option<&KubeObject> {
        self.objects
            .iter()
            .find(|o| o.kind == kind && o.namespace.as_deref() == namespace && o.name == name)
    }

    /// Read one of a node's host files: the first readable copy among `copies` (a node's entry
    /// in [`Node::files`]), a node snapshot's before a support bundle's (the bundle's collector
    /// masks values a snapshot of the node keeps): its bytes, the input's file name and the
    /// logical path, for evidence.
    pub fn first_copy(&self, copies: &[HostFile]) -> Option<HostBytes<'_>> {
        let from_bundle = |hf: &&HostFile| {
            self.inputs
                .get(hf.input)
                .is_some_and(|i| i.kind == InputKind::HarvesterSupportBundle)
        };
        let read = |hf: &HostFile| {
            let tree = self.trees.get(hf.input)?;
            let f = tree.resolve(&hf.logical)?;
            Some((f.data.as_slice(), tree.name.clone(), hf.logical.to_string()))
        };
        copies
            .iter()
            .filter(|hf| !from_bundle(hf))
            .chain(copies.iter().filter(|hf| from_bundle(hf)))
            .find_map(read)
    }

    pub fn host_file(
        &self,
        node: &str,
        host_path: &str,
    ) -> Option<(&HostFile, &crate::ingest::VFile)> {
        let list = self.nodes.get(node)?.files.get(host_path)?;
        list.iter().find_map(|hf| {
            self.trees
                .get(hf.input)
                .and_then(|t| t.resolve(&hf.logical))
                .map(|f| (hf, f))
        })
    }

    /// One of a node's scanned logs (`logs/rke2-server.log`, `logs/kernel.log.1`): the first
    /// input that holds it.
    pub fn host_log(
        &self,
        node: &str,
        host_path: &str,
    ) -> Option<(&HostFile, &crate::ingest::ScannedLog)> {
        let list = self.nodes.get(node)?.files.get(host_path)?;
        list.iter().find_map(|hf| {
            self.trees
                .get(hf.input)
                .and_then(|t| t.logs.get(&*hf.logical))
                .map(|l| (hf, l))
        })
    }

    /// Scanned logs of support bundles outside node zips (the harvester pod's logs), with the
    /// index of their input.
    pub fn pod_logs(&self) -> impl Iterator<Item = (usize, &crate::ingest::ScannedLog)> + '_ {
        self.bundles.iter().flat_map(move |b| {
            let top = if b.top.is_empty() {
                String::new()
            } else {
                format!("{}/", b.top)
            };
            self.trees
                .get(b.input)
                .into_iter()
                .flat_map(|t| t.logs.iter())
                .filter(move |(p, _)| !p.contains('!') && p.starts_with(&top))
                .map(move |(_, l)| (b.input, l))
        })
    }

    /// The provenance string (`<input name>!<logical path>`) of a host file.
    pub fn provenance(&self, hf: &HostFile) -> String {
        match self.trees.get(hf.input) {
            Some(t) => t.provenance(&hf.logical),
            None => hf.logical.to_string(),
        }
    }

    /// Names of the nodes with a role, sorted.
    pub fn nodes_with(&self, role: Role) -> Vec<&str> {
        self.nodes
            .values()
            .filter(|n| n.roles.contains(&role))
            .map(|n| n.name.as_str())
            .collect()
    }

    /// Target set `servers`: every node running rke2-server, witnesses included.
    pub fn servers(&self) -> Vec<&str> {
        self.nodes_with(Role::Server)
    }

    /// Target set `agents`: agent-only nodes.
    pub fn agents(&self) -> Vec<&str> {
        self.nodes_with(Role::Agent)
    }

    /// Target set `witnesses`.
    pub fn witnesses(&self) -> Vec<&str> {
        self.nodes_with(Role::Witness)
    }

    /// The latest collection time among the inputs.
    pub fn latest_collection(&self) -> Option<OffsetDateTime> {
        self.inputs.iter().filter_map(|i| i.collected_at).max()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_collectors_mask_is_masked() {
        assert!(is_masked("***"));
        for v in ["", "null", "********", "*", " *** ", "pw", "***x"] {
            assert!(!is_masked(v), "{v:?}");
        }
    }
}
