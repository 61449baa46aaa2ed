//! Types of the merged snapshot.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use time::OffsetDateTime;

use crate::ingest::InputTree;

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
    /// Logical path inside that input (look it up with [`InputTree::resolve`]).
    pub logical: String,
}

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
    /// `oem/90_custom.yaml`). Bundle node zips map `configs/etc/…` → `etc/…`,
    /// `configs/oem/…` → `oem/…`, `logs/x.log` → `logs/x.log` (a scanned log).
    pub files: BTreeMap<String, Vec<HostFile>>,
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

/// True for a value the collector masked.
pub fn is_masked(s: &str) -> bool {
    s == "***"
}

/// A coverage note: something that could not be (fully) evaluated or was refused.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Coverage {
    /// Rule code (`BUNDLE002`, `BUNDLE003`, …).
    pub rule: String,
    pub status: CoverageStatus,
    pub reason: String,
    /// Which input would make it evaluable, when it is not evaluable.
    pub needs: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum CoverageStatus {
    Pass,
    Fail,
    NotEvaluable,
    NotApplicable,
}

/// A finding raised while building the snapshot (bundle hygiene: BUNDLE002, BUNDLE003; malformed
/// files).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Note {
    pub rule: String,
    pub severity: String,
    pub title: String,
    pub message: String,
    pub node: Option<String>,
    /// Provenance of the evidence (`input!path`), optional pointer (line, YAML path).
    pub evidence: Vec<(String, Option<String>)>,
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
    pub coverage: Vec<Coverage>,
    /// Set when the inputs belong to different clusters: the reason. The analysis refuses.
    pub refused: Option<String>,
}

impl Snapshot {
    /// Objects of a kind (and optionally namespace), in a stable order.
    pub fn objects_of<'a>(&'a self, kind: &'a str) -> impl Iterator<Item = &'a KubeObject> + 'a {
        self.objects.iter().filter(move |o| o.kind == kind)
    }

    /// The latest collection time among the inputs.
    pub fn latest_collection(&self) -> Option<OffsetDateTime> {
        self.inputs.iter().filter_map(|i| i.collected_at).max()
    }
}
