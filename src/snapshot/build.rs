//! Building the snapshot: classify each input, read bundle metadata and objects, node zips and
//! node snapshots, derive the node inventory and cluster versions, check that all inputs are one
//! cluster, and collect coverage notes.

use std::collections::{BTreeMap, BTreeSet};

use time::OffsetDateTime;

use crate::ingest::{InputTree, Limits};
use crate::timefmt::rfc3339;

use super::certs::{all_cert_fingerprints, first_cert_fingerprint};
use super::classify::{Layout, classify, time_from_bundle_name};
use super::kube::{index_bundle, parse_metadata};
use super::model::{
    BundleMeta, ClusterInfo, IdentityKeys, InputInfo, InputKind, InputSummary, KubeObject, Node,
    Note, Snapshot,
};
use super::nodes::{
    active_rke2_unit, add_host_path, all_paths, file_roles, finish_roles, label_facts,
    manifest_from_value, node_addresses, snapshot_addresses, snapshot_node_name, zip_host_path,
};
use super::notes::{
    BUNDLE002, INPUT001, generation_error_note, ingest_issue_notes, malformed_note, note,
    refusal_note,
};
use super::value::{as_str, get, str_at};
use super::version::{KubeVersion, rke2_version_from_text};
use super::yaml;

/// Collector's cap on a unit log (`journalctl … | tail -c 10m`).
const UNIT_LOG_CAP: u64 = 10 * 1024 * 1024;
/// Inputs collected further apart than this are reported.
const FAR_APART_SECONDS: i64 = 24 * 3600;

/// One input's build state.
struct Work<'a> {
    idx: usize,
    tree: &'a InputTree,
    layout: Layout,
    info: InputInfo,
    collected_at: Option<OffsetDateTime>,
}

/// Per-node facts gathered before roles are final.
#[derive(Default)]
struct NodeFacts {
    labels: Option<super::nodes::LabelFacts>,
    /// From `commands/systemctl-show-rke2.txt`: rke2-server active (true) or only rke2-agent.
    unit_server: Option<bool>,
}

/// Build the snapshot from every input read, each with the node name given on the command line
/// (`NAME=PATH`) if any. Inputs of different clusters are refused here (`Snapshot::refused`).
pub fn build(inputs: Vec<(InputTree, Option<String>)>, limits: &Limits) -> Snapshot {
    let (trees, given): (Vec<InputTree>, Vec<Option<String>>) = inputs.into_iter().unzip();
    let mut notes: Vec<Note> = Vec::new();
    let mut coverage = Vec::new();
    let mut objects: Vec<KubeObject> = Vec::new();
    let mut bundles: Vec<BundleMeta> = Vec::new();
    let mut nodes: BTreeMap<String, Node> = BTreeMap::new();
    let mut facts: BTreeMap<String, NodeFacts> = BTreeMap::new();
    let mut rke2_from_snapshots: Vec<String> = Vec::new();
    let mut harvester_release: BTreeMap<String, String> = BTreeMap::new();

    let mut work: Vec<Work<'_>> = trees
        .iter()
        .enumerate()
        .map(|(idx, tree)| Work {
            idx,
            tree,
            layout: classify(tree),
            info: InputInfo {
                given_name: given.get(idx).cloned().flatten(),
                ..InputInfo::default()
            },
            collected_at: None,
        })
        .collect();

    // Pass 1: bundles (metadata, objects) and node snapshots (files).
    for w in work.iter_mut() {
        ingest_issue_notes(w.tree, &mut notes, &mut coverage);
        match w.layout.clone() {
            Layout::Bundle { top } => {
                w.info.prefix = top.clone();
                if let Some(g) = &w.info.given_name {
                    notes.push(note(
                        INPUT001,
                        "info",
                        "node name ignored for a support bundle",
                        format!(
                            "{}: `{g}=` names the node of a node snapshot; this input is a support bundle, whose nodes are named by the bundle",
                            w.tree.name
                        ),
                        vec![(w.tree.name.clone(), None)],
                    ));
                }
                read_bundle(w, limits, &mut objects, &mut bundles, &mut notes);
            }
            Layout::NodeSnapshot { prefix, others } => {
                w.info.prefix = prefix.clone();
                if !others.is_empty() {
                    notes.push(note(
                        INPUT001,
                        "info",
                        "several host trees in one node snapshot",
                        format!(
                            "{}: host paths under `{}` are used; also found under {}",
                            w.tree.name,
                            if prefix.is_empty() {
                                "/"
                            } else {
                                prefix.as_str()
                            },
                            others.join(", ")
                        ),
                        vec![(w.tree.name.clone(), None)],
                    ));
                }
                read_snapshot(
                    w,
                    limits,
                    &mut nodes,
                    &mut facts,
                    &mut notes,
                    &mut rke2_from_snapshots,
                );
            }
            Layout::Directory => {
                notes.push(note(
                    INPUT001,
                    "info",
                    "input not recognised",
                    format!(
                        "{}: neither a support bundle (no metadata.yaml, no yamls/) nor a node snapshot (no var/lib/rancher/rke2, etc/rancher)",
                        w.tree.name
                    ),
                    vec![(w.tree.name.clone(), None)],
                ));
            }
            Layout::Unreadable(_) => {}
        }
    }

    // Collection times.
    for w in work.iter_mut() {
        collection_time(w, &bundles, &mut notes);
    }

    // Pass 2: nodes from Node objects (every bundle's), then one copy of each object: the
    // newest input's.
    for (oi, obj) in objects.iter().enumerate() {
        if obj.kind != "Node" || obj.api_version != "v1" || obj.name.is_empty() {
            continue;
        }
        let Some(w) = work.get(obj.input) else {
            continue;
        };
        let node = nodes.entry(obj.name.clone()).or_insert_with(|| Node {
            name: obj.name.clone(),
            ..Node::default()
        });
        node.sources.insert(w.tree.provenance(&obj.path));
        node.inputs.insert(obj.input);
        node.addresses.extend(node_addresses(obj));
        if node.object.is_none() {
            node.object = Some(oi);
        }
        if let Some(v) = str_at(&obj.value, &["status", "nodeInfo", "kubeletVersion"]) {
            node.kubelet_version = Some(v.to_string());
        }
        let lf = label_facts(obj);
        let f = facts.entry(obj.name.clone()).or_default();
        match &mut f.labels {
            Some(prev) => {
                prev.roles.extend(lf.roles);
                prev.runs_server = prev.runs_server.or(lf.runs_server);
            }
            None => f.labels = Some(lf),
        }
    }

    if bundles.len() > 1 {
        objects = dedupe_objects(objects, &work);
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
    }

    // Pass 3: bundle node zips.
    for w in &work {
        if let Layout::Bundle { top } = &w.layout {
            read_node_zips(
                w,
                top,
                limits,
                &mut nodes,
                &mut notes,
                &mut harvester_release,
            );
        }
    }
    for w in &work {
        if let Layout::NodeSnapshot { prefix, .. } = &w.layout
            && let Some(name) = &w.info.node
            && let Some(v) = w
                .tree
                .resolve(&format!("{prefix}etc/harvester-release.yaml"))
                .and_then(|f| yaml::parse(&f.data, limits).ok())
                .and_then(|v| str_at(&v, &["harvester"]).map(str::to_string))
        {
            harvester_release.entry(name.clone()).or_insert(v);
        }
    }

    // Roles.
    for (name, node) in nodes.iter_mut() {
        let lf = facts.get(name).and_then(|f| f.labels.clone());
        let unit_server = facts.get(name).and_then(|f| f.unit_server);
        match lf {
            Some(lf) if !lf.roles.is_empty() || lf.runs_server.is_some() => {
                node.roles = lf.roles;
                node.roles_source = Some("labels".into());
                finish_roles(&mut node.roles, lf.runs_server, true);
            }
            other => {
                let mut roles = file_roles(&node.present);
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

    // Identity keys.
    for w in work.iter_mut() {
        w.info.identity = identity(w, &objects, &bundles, &nodes);
    }

    let cluster = cluster_info(
        &bundles,
        &nodes,
        &objects,
        &rke2_from_snapshots,
        &harvester_release,
    );
    let refused = check_one_cluster(&work);
    far_apart_note(&work, &mut notes);

    let mut inputs = Vec::new();
    let mut input_info = Vec::new();
    for w in work {
        let (kind, error) = match &w.layout {
            Layout::Bundle { .. } => (InputKind::HarvesterSupportBundle, None),
            Layout::NodeSnapshot { .. } => (InputKind::NodeSnapshot, None),
            Layout::Directory => (InputKind::Directory, None),
            Layout::Unreadable(e) => (InputKind::Unreadable, Some(e.clone())),
        };
        inputs.push(InputSummary {
            path: w.tree.path.clone(),
            name: w.tree.name.clone(),
            kind,
            sha256: w.tree.sha256.clone(),
            collected_at: w.collected_at,
            error,
        });
        input_info.push(w.info);
    }

    notes.sort();
    notes.dedup();
    coverage.sort();
    coverage.dedup();
    Snapshot {
        inputs,
        trees,
        bundles,
        cluster,
        nodes,
        objects,
        notes,
        coverage,
        refused,
        input_info,
    }
}

fn read_bundle(
    w: &mut Work<'_>,
    limits: &Limits,
    objects: &mut Vec<KubeObject>,
    bundles: &mut Vec<BundleMeta>,
    notes: &mut Vec<Note>,
) {
    let Layout::Bundle { top } = &w.layout else {
        return;
    };
    let tree = w.tree;
    let meta = parse_metadata(w.idx, tree, top, limits, notes).unwrap_or_else(|| BundleMeta {
        input: w.idx,
        top: top.trim_end_matches('/').to_string(),
        ..BundleMeta::default()
    });
    bundles.push(meta);
    index_bundle(w.idx, tree, top, limits, objects, notes);

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
            BUNDLE002,
            "info",
            "bundle incomplete: no nodes/",
            format!(
                "{}: the bundle has no nodes/ folder: node collection timed out or was not triggered, so no node configs or logs are available",
                tree.provenance(top.trim_end_matches('/'))
            ),
            vec![(tree.provenance(&nodes_dir), None)],
        ));
    }
}

fn read_snapshot(
    w: &mut Work<'_>,
    limits: &Limits,
    nodes: &mut BTreeMap<String, Node>,
    facts: &mut BTreeMap<String, NodeFacts>,
    notes: &mut Vec<Note>,
    rke2_versions: &mut Vec<String>,
) {
    let Layout::NodeSnapshot { prefix, .. } = &w.layout else {
        return;
    };
    let tree = w.tree;
    let manifest_path = format!("{prefix}snapshot.yaml");
    if let Some(f) = tree.resolve(&manifest_path) {
        match yaml::parse(&f.data, limits) {
            Ok(v) => w.info.manifest = Some(manifest_from_value(&v)),
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
    let (name, source) = snapshot_node_name(
        tree,
        prefix,
        w.info.given_name.as_deref(),
        w.info.manifest.as_ref(),
    );
    w.info.node = Some(name.clone());
    w.info.node_name_source = Some(source.to_string());

    let node = nodes.entry(name.clone()).or_insert_with(|| Node {
        name: name.clone(),
        ..Node::default()
    });
    node.sources.insert(tree.name.clone());
    node.inputs.insert(w.idx);
    node.addresses.extend(snapshot_addresses(tree, prefix));
    if let Some(unit) = active_rke2_unit(tree, prefix) {
        let f = facts.entry(name.clone()).or_default();
        f.unit_server = Some(f.unit_server.unwrap_or(false) || unit);
    }
    for (path, readable) in all_paths(tree) {
        if path.contains('!') {
            continue;
        }
        if let Some(host) = path.strip_prefix(prefix.as_str()) {
            add_host_path(node, w.idx, host.to_string(), path, readable);
        }
    }

    if let Some(f) = tree.resolve(&format!("{prefix}commands/rke2-version.txt"))
        && let Some(v) = rke2_version_from_text(&String::from_utf8_lossy(&f.data))
    {
        rke2_versions.push(v);
    }
}

fn read_node_zips(
    w: &Work<'_>,
    top: &str,
    limits: &Limits,
    nodes: &mut BTreeMap<String, Node>,
    notes: &mut Vec<Note>,
    harvester_release: &mut BTreeMap<String, String>,
) {
    let tree = w.tree;
    let nodes_dir = format!("{top}nodes/");
    let paths = all_paths(tree);
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
        let node = nodes.entry(name.clone()).or_insert_with(|| Node {
            name: name.clone(),
            ..Node::default()
        });
        node.sources.insert(tree.provenance(&zip));
        node.inputs.insert(w.idx);
        let inner_prefix = format!("{zip}!");
        let mut content = false;
        let start = paths.partition_point(|(p, _)| *p < inner_prefix.as_str());
        for &(path, readable) in &paths[start..] {
            let Some(inner) = path.strip_prefix(inner_prefix.as_str()) else {
                break;
            };
            if let Some(host) = zip_host_path(inner) {
                content = true;
                add_host_path(node, w.idx, host, path, readable);
            }
        }
        if !content {
            notes.push(Note {
                node: Some(name.clone()),
                ..note(
                    BUNDLE002,
                    "info",
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
                .find(|h| h.input == w.idx)
                .and_then(|h| tree.resolve(&h.logical))
            && let Ok(v) = yaml::parse(&f.data, limits)
            && let Some(h) = str_at(&v, &["harvester"])
        {
            harvester_release
                .entry(name.clone())
                .or_insert_with(|| h.to_string());
        }
        // Truncated or capped node logs.
        for (host, list) in &node.files {
            if !host.starts_with("logs/") {
                continue;
            }
            for hf in list.iter().filter(|h| h.input == w.idx) {
                let Some(log) = tree.logs.get(&hf.logical) else {
                    continue;
                };
                let why = if log.incomplete {
                    Some(
                        "the log stream ended early (truncated or corrupt); lines after the break are missing",
                    )
                } else if log.bytes == UNIT_LOG_CAP {
                    Some("the log was capped at 10 MiB by the collector; older lines are missing")
                } else {
                    None
                };
                if let Some(why) = why {
                    notes.push(Note {
                        node: Some(name.clone()),
                        ..note(
                            BUNDLE002,
                            "info",
                            format!("bundle incomplete: truncated log {host} on {name}"),
                            format!("{}: {why}", tree.provenance(&hf.logical)),
                            vec![(tree.provenance(&hf.logical), None)],
                        )
                    });
                }
            }
        }
    }
    // Pod logs scanned at the bundle level.
    for (path, log) in &tree.logs {
        if path.contains('!') || !path.starts_with(top) {
            continue;
        }
        if log.incomplete {
            notes.push(note(
                BUNDLE002,
                "info",
                "bundle incomplete: truncated log",
                format!(
                    "{}: the log stream ended early (truncated or corrupt)",
                    tree.provenance(path)
                ),
                vec![(tree.provenance(path), None)],
            ));
        }
    }
}

/// Keep one copy of each object (API group, kind, namespace, name) present in several inputs:
/// the one from the input collected last (ties: the first input). Order is kept.
fn dedupe_objects(objects: Vec<KubeObject>, work: &[Work<'_>]) -> Vec<KubeObject> {
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
        let t = work.get(input).and_then(|w| w.collected_at);
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

fn collection_time(w: &mut Work<'_>, bundles: &[BundleMeta], notes: &mut Vec<Note>) {
    match &w.layout {
        Layout::Bundle { top } => {
            let meta = bundles
                .iter()
                .find(|b| b.input == w.idx)
                .and_then(|b| b.created_at);
            w.collected_at = meta
                .or_else(|| {
                    if top.is_empty() {
                        None
                    } else {
                        time_from_bundle_name(top)
                    }
                })
                .or_else(|| time_from_bundle_name(&w.tree.name));
        }
        Layout::NodeSnapshot { prefix, .. } => {
            if let Some(t) = w.info.manifest.as_ref().and_then(|m| m.collected_at) {
                w.collected_at = Some(t);
                return;
            }
            let newest = w
                .tree
                .files
                .iter()
                .filter(|(p, _)| p.starts_with(prefix.as_str()) && !p.contains('!'))
                .filter_map(|(_, f)| f.mtime)
                .max();
            if let Some(t) = newest.and_then(|s| OffsetDateTime::from_unix_timestamp(s).ok()) {
                w.collected_at = Some(t);
                w.info.collected_at_estimated = true;
                notes.push(note(
                    INPUT001,
                    "info",
                    "collection time estimated",
                    format!(
                        "{}: no snapshot.yaml; collection time estimated as {} (the newest file modification time)",
                        w.tree.name,
                        rfc3339(t)
                    ),
                    vec![(w.tree.name.clone(), None)],
                ));
            }
        }
        Layout::Directory | Layout::Unreadable(_) => {}
    }
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
    w: &Work<'_>,
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
/// linked by shared keys.
fn check_one_cluster(work: &[Work<'_>]) -> Option<String> {
    let keyed: Vec<&Work<'_>> = work
        .iter()
        .filter(|w| !w.info.identity.is_empty())
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
    for a in 0..keyed.len() {
        for b in a + 1..keyed.len() {
            if !keyed[a]
                .info
                .identity
                .shared_with(&keyed[b].info.identity)
                .is_empty()
            {
                let (ra, rb) = (find(&mut parent, a), find(&mut parent, b));
                if ra != rb {
                    parent[rb] = ra;
                }
            }
        }
    }
    let mut groups: BTreeMap<usize, Vec<&str>> = BTreeMap::new();
    for (i, w) in keyed.iter().enumerate() {
        let r = find(&mut parent, i);
        groups.entry(r).or_default().push(w.tree.name.as_str());
    }
    if groups.len() < 2 {
        return None;
    }
    let described: Vec<String> = groups
        .values()
        .map(|g| format!("[{}]", g.join(", ")))
        .collect();
    Some(format!(
        "the inputs belong to different clusters: {} share no identity key (server/client CA fingerprint, projectnamespaceuuid, node name); analyze each cluster separately, or use `harrow diff` for before/after snapshots",
        described.join(" and ")
    ))
}

fn far_apart_note(work: &[Work<'_>], notes: &mut Vec<Note>) {
    let times: Vec<(OffsetDateTime, &str)> = work
        .iter()
        .filter_map(|w| w.collected_at.map(|t| (t, w.tree.name.as_str())))
        .collect();
    let (Some(min), Some(max)) = (
        times.iter().min_by_key(|t| t.0),
        times.iter().max_by_key(|t| t.0),
    ) else {
        return;
    };
    if (max.0 - min.0).whole_seconds() > FAR_APART_SECONDS {
        let hours = (max.0 - min.0).whole_hours();
        notes.push(note(
            INPUT001,
            "info",
            "inputs collected far apart",
            format!(
                "{} was collected at {} and {} at {} ({hours} h apart): merged as one cluster, but state may have changed in between; `harrow diff` compares before/after snapshots",
                min.1,
                rfc3339(min.0),
                max.1,
                rfc3339(max.0)
            ),
            vec![(min.1.to_string(), None), (max.1.to_string(), None)],
        ));
    }
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
