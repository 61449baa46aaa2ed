//! Building the snapshot: classify each input, read bundle metadata and objects, node zips and
//! node snapshots, derive the node inventory and cluster versions, check that all inputs are one
//! cluster, and collect notes and remarks. [`build`] is the sequence of those steps; each step
//! takes what the earlier ones returned and returns its own part.

use std::collections::{BTreeMap, BTreeSet};

use time::OffsetDateTime;

use crate::ingest::{InputTree, Limits, is_log_name};
use crate::timefmt::rfc3339;

use super::certs::{all_cert_fingerprints, first_cert_fingerprint};
use super::classify::{Layout, classify, time_from_bundle_name};
use super::kube::{index_bundle, parse_metadata};
use super::model::{
    BundleMeta, ClusterInfo, IdentityKeys, InputInfo, InputKind, InputSummary, KubeObject, Node,
    Note, NoteKind, Snapshot,
};
use super::nodes::{
    HostPaths, LabelFacts, Logical, active_rke2_unit, all_paths, file_roles, finish_roles,
    label_facts, manifest_from_value, node_addresses, snapshot_addresses, snapshot_node_name,
    zip_host_path,
};
use super::notes::{
    generation_error_note, ingest_issue_notes, malformed_note, note, refusal_note,
    truncated_log_notes,
};
use super::value::{as_str, get, str_at};
use super::version::{KubeVersion, rke2_version_from_text};
use super::yaml;

/// Inputs collected further apart than this are reported.
const FAR_APART_SECONDS: i64 = 24 * 3600;

/// Build the snapshot from every input read, each with the node name given on the command line
/// (`NAME=PATH`) if any. Inputs of different clusters are refused here (`Snapshot::refused`).
///
/// The steps: classify each input; read bundles (metadata, objects) and node snapshots (the
/// node and its files); date each input; take nodes from `Node` objects and keep one copy of
/// each object; read the bundles' node zips; merge the nodes and give them roles; then the
/// identity keys, the cluster facts, the one-cluster check, and the notes.
pub fn build(inputs: Vec<(InputTree, Option<String>)>, limits: &Limits) -> Snapshot {
    let (trees, given): (Vec<InputTree>, Vec<Option<String>>) = inputs.into_iter().unzip();
    let t = crate::timings::stage("snapshot: classify");
    let classified = classify_inputs(&trees, given);
    drop(t);
    let t = crate::timings::stage("snapshot: read inputs");
    let read = read_inputs(&classified, limits);
    drop(t);
    let dates: Vec<Dated> = classified
        .iter()
        .zip(&read.infos)
        .map(|(c, info)| collection_time(c, info, &read.bundles))
        .collect();
    let collected_at: Vec<Option<OffsetDateTime>> = dates.iter().map(|d| d.at).collect();
    let t = crate::timings::stage("snapshot: listed nodes");
    let listed = listed_nodes(&read.objects, &trees);
    drop(t);
    let (objects, listed_nodes) = one_copy_of_each(
        read.objects,
        listed.nodes,
        read.bundles.len(),
        &collected_at,
    );
    let t = crate::timings::stage("snapshot: node zips");
    let zips = read_node_zips(&classified, limits);
    drop(t);
    let t = crate::timings::stage("snapshot: merge nodes");
    let nodes = merge_nodes(
        read.nodes
            .into_iter()
            .chain(listed_nodes.into_values())
            .chain(zips.nodes),
    );
    let nodes = assign_roles(nodes, &listed.labels, &read.unit_server);
    drop(t);
    let harvester_release = first_per_node(zips.releases.into_iter().chain(read.releases));
    let t = crate::timings::stage("snapshot: identity");
    let identities: Vec<IdentityKeys> = classified
        .iter()
        .map(|c| identity(c, &objects, &read.bundles, &nodes))
        .collect();
    let cluster = cluster_info(
        &read.bundles,
        &nodes,
        &objects,
        &read.rke2_versions,
        &harvester_release,
    );
    drop(t);
    let names: Vec<&str> = trees.iter().map(|t| t.name.as_str()).collect();
    let refused = check_one_cluster(&names, &identities);
    let far_apart = far_apart_note(&names, &collected_at);
    let notes = sorted(
        read.notes
            .into_iter()
            .chain(dates.iter().filter_map(|d| d.note.clone()))
            .chain(zips.notes)
            .chain(far_apart)
            .collect(),
    );
    let remarks = sorted(read.remarks);
    let (inputs, input_info) = summaries(&classified, read.infos, &dates, identities);
    Snapshot {
        inputs,
        trees,
        bundles: read.bundles,
        cluster,
        nodes,
        objects,
        notes,
        remarks,
        refused,
        input_info,
    }
}

/// One input and what it turned out to be.
struct Classified<'a> {
    idx: usize,
    tree: &'a InputTree,
    layout: Layout,
    /// The node name given on the command line (`NAME=PATH`).
    given_name: Option<String>,
}

fn classify_inputs(trees: &[InputTree], given: Vec<Option<String>>) -> Vec<Classified<'_>> {
    trees
        .iter()
        .zip(given)
        .enumerate()
        .map(|(idx, (tree, given_name))| Classified {
            idx,
            tree,
            layout: classify(tree),
            given_name,
        })
        .collect()
}

/// What one input gives in the first pass: bundle metadata and objects, or a node snapshot's
/// node.
#[derive(Default)]
struct InputRead {
    /// Prefix and given name; for a node snapshot its manifest and node name too.
    info: InputInfo,
    notes: Vec<Note>,
    remarks: Vec<String>,
    bundle: Option<BundleMeta>,
    objects: Vec<KubeObject>,
    /// A node snapshot's node, with its host files.
    node: Option<Node>,
    /// From a node snapshot's `commands/systemctl-show-rke2.txt`: rke2-server is active (true)
    /// or only rke2-agent.
    unit_server: Option<bool>,
    /// From a node snapshot's `commands/rke2-version.txt`.
    rke2_version: Option<String>,
    /// From a node snapshot's `etc/harvester-release.yaml`.
    harvester_release: Option<String>,
}

/// The first pass over every input, in input order.
#[derive(Default)]
struct InputsRead {
    /// One per input.
    infos: Vec<InputInfo>,
    notes: Vec<Note>,
    remarks: Vec<String>,
    bundles: Vec<BundleMeta>,
    objects: Vec<KubeObject>,
    /// The node snapshots' nodes (a node may come several times).
    nodes: Vec<Node>,
    /// Per node name: whether a node snapshot shows rke2-server active.
    unit_server: BTreeMap<String, bool>,
    rke2_versions: Vec<String>,
    /// Node name and Harvester version, per node snapshot.
    releases: Vec<(String, String)>,
}

fn read_inputs(classified: &[Classified<'_>], limits: &Limits) -> InputsRead {
    let mut all = InputsRead::default();
    for c in classified {
        let read = read_input(c, limits);
        if let (Some(node), Some(unit)) = (&read.node, read.unit_server) {
            let server = all.unit_server.entry(node.name.clone()).or_insert(false);
            *server = *server || unit;
        }
        if let (Some(node), Some(v)) = (&read.node, read.harvester_release) {
            all.releases.push((node.name.clone(), v));
        }
        all.infos.push(read.info);
        all.notes.extend(read.notes);
        all.remarks.extend(read.remarks);
        all.bundles.extend(read.bundle);
        all.objects.extend(read.objects);
        all.nodes.extend(read.node);
        all.rke2_versions.extend(read.rke2_version);
    }
    all
}

/// Read one input as what it is, with the notes of its ingest issues.
fn read_input(c: &Classified<'_>, limits: &Limits) -> InputRead {
    let mut read = match &c.layout {
        Layout::Bundle { top } => read_bundle(c, top, limits),
        Layout::NodeSnapshot { prefix, others } => read_snapshot(c, prefix, others, limits),
        Layout::Directory => InputRead {
            notes: vec![note(
                NoteKind::InputFact,
                "input not recognised",
                format!(
                    "{}: neither a support bundle (no metadata.yaml, no yamls/) nor a node snapshot (no var/lib/rancher/rke2, etc/rancher)",
                    c.tree.name
                ),
                vec![(c.tree.name.clone(), None)],
            )],
            ..InputRead::default()
        },
        Layout::Unreadable(_) => InputRead::default(),
    };
    read.info.given_name = c.given_name.clone();
    ingest_issue_notes(c.tree, &mut read.notes, &mut read.remarks);
    read
}

/// A support bundle: metadata, objects, and notes on what it lacks.
fn read_bundle(c: &Classified<'_>, top: &str, limits: &Limits) -> InputRead {
    let tree = c.tree;
    let mut notes = Vec::new();
    if let Some(g) = &c.given_name {
        notes.push(note(
                NoteKind::InputFact,
            "node name ignored for a support bundle",
            format!(
                "{}: `{g}=` names the node of a node snapshot; this input is a support bundle, whose nodes are named by the bundle",
                tree.name
            ),
            vec![(tree.name.clone(), None)],
        ));
    }
    let meta = parse_metadata(c.idx, tree, top, limits, &mut notes).unwrap_or_else(|| BundleMeta {
        input: c.idx,
        top: top.trim_end_matches('/').to_string(),
        ..BundleMeta::default()
    });
    let mut objects = Vec::new();
    let t = crate::timings::stage("snapshot: objects");
    index_bundle(c.idx, tree, top, limits, &mut objects, &mut notes);
    drop(t);

    let errlog = format!("{top}bundleGenerationError.log");
    if let Some(f) = tree.resolve(&errlog)
        && let Some(n) = generation_error_note(tree, &errlog, &f.data)
    {
        notes.push(n);
    }

    let nodes_dir = format!("{top}nodes/");
    let has_nodes = all_paths(tree).into_iter().any(|(p, _)| {
        let outer = p.split('!').next().unwrap_or(p);
        outer.starts_with(&nodes_dir)
            || outer.trim_end_matches('/') == nodes_dir.trim_end_matches('/')
    });
    if !has_nodes {
        notes.push(note(
                NoteKind::Incomplete,
            "bundle incomplete: no nodes/",
            format!(
                "{}: the bundle has no nodes/ folder: node collection timed out or was not triggered, so no node configs or logs are available",
                tree.provenance(top.trim_end_matches('/'))
            ),
            vec![(tree.provenance(&nodes_dir), None)],
        ));
    }
    InputRead {
        info: InputInfo {
            prefix: top.to_string(),
            ..InputInfo::default()
        },
        notes,
        bundle: Some(meta),
        objects,
        ..InputRead::default()
    }
}

/// A node snapshot: its manifest, the node it holds and that node's host files.
fn read_snapshot(
    c: &Classified<'_>,
    prefix: &str,
    others: &[String],
    limits: &Limits,
) -> InputRead {
    let tree = c.tree;
    let mut notes = Vec::new();
    if !others.is_empty() {
        notes.push(note(
            NoteKind::InputFact,
            "several host trees in one node snapshot",
            format!(
                "{}: host paths under `{}` are used; also found under {}",
                tree.name,
                if prefix.is_empty() { "/" } else { prefix },
                others.join(", ")
            ),
            vec![(tree.name.clone(), None)],
        ));
    }
    let manifest_path = format!("{prefix}snapshot.yaml");
    let mut manifest = None;
    if let Some(f) = tree.resolve(&manifest_path) {
        match yaml::parse(&f.data, limits) {
            Ok(v) => manifest = Some(manifest_from_value(&v)),
            Err(e) if e.refused => {
                notes.push(refusal_note(tree, &manifest_path, &e.message, e.pointer()))
            }
            Err(e) => notes.push(malformed_note(
                tree,
                &manifest_path,
                "YAML",
                &e.message,
                e.pointer(),
            )),
        }
    }
    let (name, source) =
        snapshot_node_name(tree, prefix, c.given_name.as_deref(), manifest.as_ref());

    let mut node = Node {
        name: name.clone(),
        ..Node::default()
    };
    node.sources.insert(tree.name.clone());
    node.inputs.insert(c.idx);
    node.addresses.extend(snapshot_addresses(tree, prefix));
    let mut hosts = HostPaths::new(&mut node);
    for (path, readable) in all_paths(tree) {
        if path.contains('!') {
            continue;
        }
        if let Some(host) = path.strip_prefix(prefix) {
            hosts.add(c.idx, host.to_string(), Logical { tree, path }, readable);
        }
    }
    drop(hosts);
    let rke2_version = tree
        .resolve(&format!("{prefix}commands/rke2-version.txt"))
        .and_then(|f| rke2_version_from_text(&String::from_utf8_lossy(&f.data)));
    let harvester_release = tree
        .resolve(&format!("{prefix}etc/harvester-release.yaml"))
        .and_then(|f| yaml::parse(&f.data, limits).ok())
        .and_then(|v| str_at(&v, &["harvester"]).map(str::to_string));
    InputRead {
        info: InputInfo {
            prefix: prefix.to_string(),
            node: Some(name),
            node_name_source: Some(source.to_string()),
            manifest,
            ..InputInfo::default()
        },
        notes,
        node: Some(node),
        unit_server: active_rke2_unit(tree, prefix),
        rke2_version,
        harvester_release,
        ..InputRead::default()
    }
}

/// When an input was collected, whether that was estimated, and the note saying so.
struct Dated {
    at: Option<OffsetDateTime>,
    estimated: bool,
    note: Option<Note>,
}

fn collection_time(c: &Classified<'_>, info: &InputInfo, bundles: &[BundleMeta]) -> Dated {
    let undated = Dated {
        at: None,
        estimated: false,
        note: None,
    };
    match &c.layout {
        Layout::Bundle { top } => {
            let meta = bundles
                .iter()
                .find(|b| b.input == c.idx)
                .and_then(|b| b.created_at);
            let at = meta
                .or_else(|| {
                    if top.is_empty() {
                        None
                    } else {
                        time_from_bundle_name(top)
                    }
                })
                .or_else(|| time_from_bundle_name(&c.tree.name));
            Dated { at, ..undated }
        }
        Layout::NodeSnapshot { prefix, .. } => {
            if let Some(t) = info.manifest.as_ref().and_then(|m| m.collected_at) {
                return Dated {
                    at: Some(t),
                    ..undated
                };
            }
            let newest = c
                .tree
                .files
                .iter()
                .filter(|(p, _)| p.starts_with(prefix.as_str()) && !p.contains('!'))
                .filter_map(|(_, f)| f.mtime)
                .max();
            let Some(t) = newest.and_then(|s| OffsetDateTime::from_unix_timestamp(s).ok()) else {
                return undated;
            };
            Dated {
                at: Some(t),
                estimated: true,
                note: Some(note(
                    NoteKind::InputFact,
                    "collection time estimated",
                    format!(
                        "{}: no snapshot.yaml; collection time estimated as {} (the newest file modification time)",
                        c.tree.name,
                        rfc3339(t)
                    ),
                    vec![(c.tree.name.clone(), None)],
                )),
            }
        }
        Layout::Directory | Layout::Unreadable(_) => undated,
    }
}

/// Nodes named by the `Node` objects of every bundle, and what their labels say about roles.
struct Listed {
    nodes: BTreeMap<String, Node>,
    labels: BTreeMap<String, LabelFacts>,
}

/// The nodes of the `Node` objects (all copies, every bundle's): sources, addresses, kubelet
/// version and the first object's index.
fn listed_nodes(objects: &[KubeObject], trees: &[InputTree]) -> Listed {
    let mut nodes: BTreeMap<String, Node> = BTreeMap::new();
    let mut labels: BTreeMap<String, LabelFacts> = BTreeMap::new();
    for (oi, obj) in objects.iter().enumerate() {
        if obj.kind != "Node" || obj.api_version != "v1" || obj.name.is_empty() {
            continue;
        }
        let Some(tree) = trees.get(obj.input) else {
            continue;
        };
        let node = nodes.entry(obj.name.clone()).or_insert_with(|| Node {
            name: obj.name.clone(),
            ..Node::default()
        });
        node.sources.insert(tree.provenance(&obj.path));
        node.inputs.insert(obj.input);
        node.addresses.extend(node_addresses(obj));
        if node.object.is_none() {
            node.object = Some(oi);
        }
        if let Some(v) = str_at(&obj.value, &["status", "nodeInfo", "kubeletVersion"]) {
            node.kubelet_version = Some(v.to_string());
        }
        let lf = label_facts(obj);
        match labels.get_mut(&obj.name) {
            Some(prev) => {
                prev.roles.extend(lf.roles);
                prev.runs_server = prev.runs_server.or(lf.runs_server);
            }
            None => {
                labels.insert(obj.name.clone(), lf);
            }
        }
    }
    Listed { nodes, labels }
}

/// With several bundles, one copy of each object (see [`dedupe_objects`]) and the listed nodes
/// pointed at the copies kept; with one bundle, the objects and nodes as they are.
fn one_copy_of_each(
    objects: Vec<KubeObject>,
    nodes: BTreeMap<String, Node>,
    bundles: usize,
    collected_at: &[Option<OffsetDateTime>],
) -> (Vec<KubeObject>, BTreeMap<String, Node>) {
    if bundles < 2 {
        return (objects, nodes);
    }
    let objects = dedupe_objects(objects, collected_at);
    let nodes = relink_objects(nodes, &objects);
    (objects, nodes)
}

/// Point each node at its `Node` object among `objects` (one copy of each kept), taking that
/// copy's kubelet version when it has one.
fn relink_objects(
    mut nodes: BTreeMap<String, Node>,
    objects: &[KubeObject],
) -> BTreeMap<String, Node> {
    for node in nodes.values_mut() {
        node.object = objects
            .iter()
            .position(|o| o.kind == "Node" && o.api_version == "v1" && o.name == node.name);
        if let Some(o) = node.object.and_then(|i| objects.get(i))
            && let Some(v) = str_at(&o.value, &["status", "nodeInfo", "kubeletVersion"])
        {
            node.kubelet_version = Some(v.to_string());
        }
    }
    nodes
}

/// What the bundles' node zips give.
#[derive(Default)]
struct ZipsRead {
    /// One node per node zip, with that zip's host files.
    nodes: Vec<Node>,
    notes: Vec<Note>,
    /// Node name and Harvester version, per node zip.
    releases: Vec<(String, String)>,
}

/// The node zips of every bundle, in input order.
fn read_node_zips(classified: &[Classified<'_>], limits: &Limits) -> ZipsRead {
    let mut all = ZipsRead::default();
    for c in classified {
        if let Layout::Bundle { top } = &c.layout {
            let read = bundle_node_zips(c, top, limits);
            all.nodes.extend(read.nodes);
            all.notes.extend(read.notes);
            all.releases.extend(read.releases);
        }
    }
    all
}

/// One bundle's node zips (`nodes/<name>.zip`): each node's host files, Harvester version and
/// truncated logs; and the bundle's truncated pod logs.
fn bundle_node_zips(c: &Classified<'_>, top: &str, limits: &Limits) -> ZipsRead {
    let tree = c.tree;
    let nodes_dir = format!("{top}nodes/");
    let paths = all_paths(tree);
    let mut read = ZipsRead::default();
    // zip logical path → node name
    let mut zips: BTreeMap<String, String> = BTreeMap::new();
    for (p, _) in &paths {
        let outer = p.split('!').next().unwrap_or(p);
        if let Some(file) = outer.strip_prefix(&nodes_dir)
            && !file.contains('/')
            && let Some(stem) = file.strip_suffix(".zip")
            && !stem.is_empty()
        {
            zips.insert(outer.to_string(), stem.to_string());
        }
    }
    for (zip, name) in zips {
        let mut node = Node {
            name: name.clone(),
            ..Node::default()
        };
        node.sources.insert(tree.provenance(&zip));
        node.inputs.insert(c.idx);
        let inner_prefix = format!("{zip}!");
        let mut content = false;
        let start = paths.partition_point(|(p, _)| *p < inner_prefix.as_str());
        let mut hosts = HostPaths::new(&mut node);
        for &(path, readable) in &paths[start..] {
            let Some(inner) = path.strip_prefix(inner_prefix.as_str()) else {
                break;
            };
            if let Some(host) = zip_host_path(inner) {
                content = true;
                hosts.add(c.idx, host, Logical { tree, path }, readable);
            }
        }
        drop(hosts);
        if !content {
            read.notes.push(Note {
                node: Some(name.clone()),
                ..note(
                NoteKind::Incomplete,
                    format!("bundle incomplete: empty node zip {name}.zip"),
                    format!(
                        "{}: the node zip holds no files (the collector does not know the node's OS, or the node failed to report)",
                        tree.provenance(&zip)
                    ),
                    vec![(tree.provenance(&zip), None)],
                )
            });
        }
        if let Some(hf) = node.files.get("etc/harvester-release.yaml")
            && let Some(f) = hf
                .iter()
                .find(|h| h.input == c.idx)
                .and_then(|h| tree.resolve(&h.logical))
            && let Ok(v) = yaml::parse(&f.data, limits)
            && let Some(h) = str_at(&v, &["harvester"])
        {
            read.releases.push((name.clone(), h.to_string()));
        }
        read.notes
            .extend(truncated_node_logs(tree, &name, &inner_prefix));
        read.nodes.push(node);
    }
    read.notes.extend(truncated_pod_logs(tree, top));
    read
}

/// Notes on a node zip's truncated logs (entries under `inner_prefix`, the zip's logical path
/// and `!`), every log of the zip, read or not.
fn truncated_node_logs(tree: &InputTree, name: &str, inner_prefix: &str) -> Vec<Note> {
    let logs: BTreeMap<String, &str> = tree
        .logs
        .keys()
        .chain(tree.log_sizes.keys())
        .filter(|p| is_log_name(p))
        .filter_map(|p| {
            let host = zip_host_path(p.strip_prefix(inner_prefix)?)?;
            host.starts_with("logs/").then_some((host, p.as_str()))
        })
        .collect();
    truncated_log_notes(
        tree,
        Some(name),
        logs.iter().map(|(host, logical)| (host.as_str(), *logical)),
    )
}

/// Notes on the truncated pod logs a bundle holds outside its node zips, read or not.
fn truncated_pod_logs(tree: &InputTree, top: &str) -> Vec<Note> {
    let logs: BTreeSet<&str> = tree
        .logs
        .keys()
        .chain(tree.log_sizes.keys())
        .map(String::as_str)
        .filter(|p| !p.contains('!') && is_log_name(p))
        .collect();
    let logs = logs
        .into_iter()
        .filter_map(|p| p.strip_prefix(top).map(|short| (short, p)));
    truncated_log_notes(tree, None, logs)
}

/// One node per name, the views of every input merged: sources, inputs, addresses, host files
/// and paths united; the object index and kubelet version of the one that has them.
fn merge_nodes(nodes: impl IntoIterator<Item = Node>) -> BTreeMap<String, Node> {
    let mut merged: BTreeMap<String, Node> = BTreeMap::new();
    for node in nodes {
        match merged.get_mut(&node.name) {
            Some(into) => merge_node(into, node),
            None => {
                merged.insert(node.name.clone(), node);
            }
        }
    }
    merged
}

fn merge_node(into: &mut Node, from: Node) {
    into.sources.extend(from.sources);
    into.inputs.extend(from.inputs);
    into.addresses.extend(from.addresses);
    into.present.extend(from.present);
    for (host, copies) in from.files {
        let list = into.files.entry(host).or_default();
        for hf in copies {
            if !list.contains(&hf) {
                list.push(hf);
            }
        }
        list.sort_by(|a, b| (a.input, &a.logical).cmp(&(b.input, &b.logical)));
    }
    into.kubelet_version = into.kubelet_version.take().or(from.kubelet_version);
    into.object = into.object.or(from.object);
}

/// Each node's roles: from its `Node` object's labels when they say anything, else from its
/// host files and rke2 unit, else (a `Node` object that says nothing) an agent.
fn assign_roles(
    mut nodes: BTreeMap<String, Node>,
    labels: &BTreeMap<String, LabelFacts>,
    unit_server: &BTreeMap<String, bool>,
) -> BTreeMap<String, Node> {
    for (name, node) in nodes.iter_mut() {
        let lf = labels.get(name).cloned();
        let unit_server = unit_server.get(name).copied();
        match lf {
            Some(lf) if !lf.roles.is_empty() || lf.runs_server.is_some() => {
                node.roles = lf.roles;
                node.roles_source = Some("labels".into());
                finish_roles(&mut node.roles, lf.runs_server, true);
            }
            other => {
                let mut roles = file_roles(node);
                if !roles.is_empty() || unit_server.is_some() {
                    node.roles_source = Some("files".into());
                    finish_roles(&mut roles, unit_server, false);
                } else if other.is_some() {
                    // A Node object without role labels or node-args: an agent.
                    node.roles_source = Some("labels".into());
                    finish_roles(&mut roles, None, true);
                }
                node.roles = roles;
            }
        }
    }
    nodes
}

/// The first value given for each node name.
fn first_per_node(values: impl IntoIterator<Item = (String, String)>) -> BTreeMap<String, String> {
    let mut first = BTreeMap::new();
    for (name, v) in values {
        first.entry(name).or_insert(v);
    }
    first
}

/// Sorted, without repeats.
fn sorted<T: Ord>(mut v: Vec<T>) -> Vec<T> {
    v.sort();
    v.dedup();
    v
}

/// The inputs as the report lists them, and how each was understood.
fn summaries(
    classified: &[Classified<'_>],
    infos: Vec<InputInfo>,
    dates: &[Dated],
    identities: Vec<IdentityKeys>,
) -> (Vec<InputSummary>, Vec<InputInfo>) {
    classified
        .iter()
        .zip(infos.into_iter().zip(dates).zip(identities))
        .map(|(c, ((info, dated), identity))| {
            let (kind, error) = match &c.layout {
                Layout::Bundle { .. } => (InputKind::HarvesterSupportBundle, None),
                Layout::NodeSnapshot { .. } => (InputKind::NodeSnapshot, None),
                Layout::Directory => (InputKind::Directory, None),
                Layout::Unreadable(e) => (InputKind::Unreadable, Some(e.clone())),
            };
            let summary = InputSummary {
                path: c.tree.path.clone(),
                name: c.tree.name.clone(),
                kind,
                sha256: c.tree.sha256.clone(),
                collected_at: dated.at,
                error,
            };
            let info = InputInfo {
                collected_at_estimated: dated.estimated,
                identity,
                ..info
            };
            (summary, info)
        })
        .unzip()
}

/// Keep one copy of each object (API group, kind, namespace, name) present in several inputs:
/// the one from the input collected last (ties: the first input). Order is kept.
fn dedupe_objects(
    objects: Vec<KubeObject>,
    collected_at: &[Option<OffsetDateTime>],
) -> Vec<KubeObject> {
    type Key = (String, String, Option<String>, String);
    let key = |o: &KubeObject| -> Key {
        let group = o
            .api_version
            .rsplit_once('/')
            .map(|(g, _)| g.to_string())
            .unwrap_or_default();
        (group, o.kind.clone(), o.namespace.clone(), o.name.clone())
    };
    let rank = |input: usize| {
        let t = collected_at.get(input).copied().flatten();
        (t, std::cmp::Reverse(input))
    };
    let mut best: BTreeMap<Key, usize> = BTreeMap::new();
    for o in objects.iter().filter(|o| !o.name.is_empty()) {
        let k = key(o);
        match best.get(&k) {
            Some(&cur) if cur == o.input || rank(cur) >= rank(o.input) => {}
            _ => {
                best.insert(k, o.input);
            }
        }
    }
    objects
        .into_iter()
        .filter(|o| o.name.is_empty() || best.get(&key(o)) == Some(&o.input))
        .collect()
}

/// Record a CA bundle's first-certificate fingerprint in `first` and all of its certificates in
/// `any`.
fn add_ca(pem: &[u8], first: &mut BTreeSet<String>, any: &mut BTreeSet<String>) {
    if let Some(fp) = first_cert_fingerprint(pem) {
        first.insert(fp);
    }
    any.extend(all_cert_fingerprints(pem));
}

fn identity(
    w: &Classified<'_>,
    objects: &[KubeObject],
    bundles: &[BundleMeta],
    nodes: &BTreeMap<String, Node>,
) -> IdentityKeys {
    let mut id = IdentityKeys::default();
    for (name, node) in nodes {
        if node.inputs.contains(&w.idx) {
            id.node_names.insert(name.clone());
        }
    }
    match &w.layout {
        Layout::Bundle { .. } => {
            for b in bundles.iter().filter(|b| b.input == w.idx) {
                if let Some(u) = &b.project_namespace_uuid {
                    id.project_uuid.insert(u.clone());
                }
            }
            for o in objects
                .iter()
                .filter(|o| o.input == w.idx && o.kind == "ConfigMap")
            {
                let data = |k: &str| get(&o.value, &["data", k]).and_then(as_str);
                if o.name == "kube-root-ca.crt"
                    && let Some(pem) = data("ca.crt")
                {
                    add_ca(pem.as_bytes(), &mut id.server_ca, &mut id.ca_any);
                }
                if o.name == "extension-apiserver-authentication"
                    && o.namespace.as_deref() == Some("kube-system")
                    && let Some(pem) = data("client-ca-file")
                {
                    add_ca(pem.as_bytes(), &mut id.client_ca, &mut id.ca_any);
                }
            }
        }
        Layout::NodeSnapshot { prefix, .. } => {
            for p in [
                "var/lib/rancher/rke2/server/tls/server-ca.crt",
                "var/lib/rancher/rke2/agent/server-ca.crt",
            ] {
                if let Some(f) = w.tree.resolve(&format!("{prefix}{p}")) {
                    add_ca(&f.data, &mut id.server_ca, &mut id.ca_any);
                }
            }
            for p in [
                "var/lib/rancher/rke2/server/tls/client-ca.crt",
                "var/lib/rancher/rke2/agent/client-ca.crt",
            ] {
                if let Some(f) = w.tree.resolve(&format!("{prefix}{p}")) {
                    add_ca(&f.data, &mut id.client_ca, &mut id.ca_any);
                }
            }
        }
        Layout::Directory | Layout::Unreadable(_) => {}
    }
    id
}

/// `Some(reason)` when the inputs with identity keys fall into more than one group of inputs
/// linked by shared keys. `names` and `identities` are per input.
fn check_one_cluster(names: &[&str], identities: &[IdentityKeys]) -> Option<String> {
    let keyed: Vec<(&str, &IdentityKeys)> = names
        .iter()
        .copied()
        .zip(identities)
        .filter(|(_, id)| !id.is_empty())
        .collect();
    if keyed.len() < 2 {
        return None;
    }
    // Union-find over keyed inputs.
    let mut parent: Vec<usize> = (0..keyed.len()).collect();
    fn find(p: &mut [usize], mut i: usize) -> usize {
        while p[i] != i {
            p[i] = p[p[i]];
            i = p[i];
        }
        i
    }
    // Two inputs are linked when they share a key of one kind (`IdentityKeys::shared_with`
    // is non-empty exactly then: a shared CA fingerprint of any role links them whether or not
    // it is a server or client CA); each key links its inputs to the first that holds it, so the
    // grouping is linear in the keys, not quadratic in the inputs.
    let mut first: std::collections::HashMap<(u8, &str), usize> = std::collections::HashMap::new();
    for (i, (_, id)) in keyed.iter().enumerate() {
        let keys = [
            &id.server_ca,
            &id.client_ca,
            &id.ca_any,
            &id.project_uuid,
            &id.node_names,
        ];
        for (tag, set) in keys.iter().enumerate() {
            for k in set.iter() {
                match first.entry((tag as u8, k.as_str())) {
                    std::collections::hash_map::Entry::Vacant(e) => {
                        e.insert(i);
                    }
                    std::collections::hash_map::Entry::Occupied(e) => {
                        let (ra, rb) = (find(&mut parent, *e.get()), find(&mut parent, i));
                        // The smaller index stays the root: groups list in input order.
                        parent[ra.max(rb)] = ra.min(rb);
                    }
                }
            }
        }
    }
    let mut groups: BTreeMap<usize, Vec<&str>> = BTreeMap::new();
    for (i, (name, _)) in keyed.iter().enumerate() {
        let r = find(&mut parent, i);
        groups.entry(r).or_default().push(name);
    }
    if groups.len() < 2 {
        return None;
    }
    let described: Vec<String> = groups
        .values()
        .map(|g| format!("[{}]", g.join(", ")))
        .collect();
    Some(format!(
        "the inputs belong to different clusters: {} share no identity key (server/client CA fingerprint, projectnamespaceuuid, node name); analyze each cluster separately (inputs of one cluster taken at different times are compared run by run)",
        described.join(" and ")
    ))
}

/// A note when the inputs were collected more than a day apart. `names` and `collected_at` are
/// per input.
fn far_apart_note(names: &[&str], collected_at: &[Option<OffsetDateTime>]) -> Option<Note> {
    let times: Vec<(OffsetDateTime, &str)> = collected_at
        .iter()
        .zip(names)
        .filter_map(|(t, name)| t.map(|t| (t, *name)))
        .collect();
    let min = times.iter().min_by_key(|t| t.0)?;
    let max = times.iter().max_by_key(|t| t.0)?;
    if (max.0 - min.0).whole_seconds() <= FAR_APART_SECONDS {
        return None;
    }
    let hours = (max.0 - min.0).whole_hours();
    Some(note(
        NoteKind::InputFact,
        "inputs collected far apart",
        format!(
            "{} was collected at {} and {} at {} ({hours} h apart): merged as one cluster, but state may have changed in between; analyze before/after snapshots separately to compare them",
            min.1,
            rfc3339(min.0),
            max.1,
            rfc3339(max.0)
        ),
        vec![(min.1.to_string(), None), (max.1.to_string(), None)],
    ))
}

fn cluster_info(
    bundles: &[BundleMeta],
    nodes: &BTreeMap<String, Node>,
    objects: &[KubeObject],
    rke2_from_snapshots: &[String],
    harvester_release: &BTreeMap<String, String>,
) -> ClusterInfo {
    // Kubernetes: bundle metadata, else the oldest kubelet, else rke2-version.txt.
    let from_meta = bundles
        .iter()
        .filter_map(|b| b.kubernetes_version.clone())
        .min_by(|a, b| KubeVersion::cmp_str(a, b));
    let from_kubelets = nodes
        .values()
        .filter_map(|n| n.kubelet_version.clone())
        .min_by(|a, b| KubeVersion::cmp_str(a, b));
    let from_snapshots = rke2_from_snapshots
        .iter()
        .cloned()
        .min_by(|a, b| KubeVersion::cmp_str(a, b));
    let kubernetes_version = from_meta
        .clone()
        .or(from_kubelets.clone())
        .or(from_snapshots.clone());
    let rke2_version = [from_kubelets, from_meta, from_snapshots]
        .into_iter()
        .flatten()
        .find(|v| v.contains("+rke2"));

    // Harvester: the server-version setting, else harvester-release.yaml of a node.
    let from_setting = objects
        .iter()
        .filter(|o| {
            o.kind == "Setting"
                && o.api_version.starts_with("harvesterhci.io/")
                && o.name == "server-version"
        })
        .find_map(|o| {
            str_at(&o.value, &["value"])
                .or_else(|| str_at(&o.value, &["default"]))
                .map(str::to_string)
        });
    let harvester_version = from_setting.or_else(|| harvester_release.values().next().cloned());
    ClusterInfo {
        kubernetes_version,
        rke2_version,
        harvester_version,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(server: &[&str], client: &[&str], uuid: &[&str], nodes: &[&str]) -> IdentityKeys {
        let set = |v: &[&str]| {
            v.iter()
                .map(|s| s.to_string())
                .collect::<BTreeSet<String>>()
        };
        let mut k = IdentityKeys {
            server_ca: set(server),
            client_ca: set(client),
            project_uuid: set(uuid),
            node_names: set(nodes),
            ..IdentityKeys::default()
        };
        k.ca_any = k.server_ca.union(&k.client_ca).cloned().collect();
        k
    }

    #[test]
    fn inputs_linked_through_any_shared_key_are_one_cluster() {
        // a–b share the project uuid, b–c a CA that is b's server CA and c's client CA.
        let ids = [
            id(&[], &[], &["u1"], &["n1"]),
            id(&["X"], &[], &["u1"], &[]),
            id(&[], &["X"], &[], &["n9"]),
        ];
        assert_eq!(check_one_cluster(&["a", "b", "c"], &ids), None);
    }

    #[test]
    fn inputs_sharing_nothing_are_refused_in_input_order() {
        let ids = [
            id(&["X"], &[], &[], &["n1"]),
            id(&["Y"], &[], &[], &["m1"]),
            id(&[], &[], &[], &["n1"]),
        ];
        let why = check_one_cluster(&["a", "b", "c"], &ids).unwrap();
        assert!(why.contains("[a, c] and [b]"), "{why}");
    }
}
