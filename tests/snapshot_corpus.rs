//! The real 2022 Harvester support bundle of `../shared/corpus/` through the snapshot stage.
//!
//! Until the ingest readers land, a TEST-ONLY loader stands in for `read_input`: it extracts
//! the zip (and its `nodes/node1.zip`) with the `unzip` command into a temp dir and fills an
//! `InputTree` with the logical paths the real reader produces (`supportbundle_…/…`,
//! `supportbundle_…/nodes/node1.zip!node1/…`), honouring the `AnalysisSelector`'s decisions.
//! The lead swaps it for the real reader once ingest is merged.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use harrow::ingest::{Container, InputTree, Limits, LogLine, ScannedLog, Selector, VFile, Want};
use harrow::snapshot::{AnalysisSelector, InputKind, Role, build};

const CORPUS: &str =
    "../shared/corpus/supportbundle_9b6b22de-6e5d-4905-aec8-1f226e413986_2022-03-22T23-49-32Z.zip";

fn corpus() -> Option<PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join(CORPUS);
    if p.is_file() {
        Some(p)
    } else {
        eprintln!(
            "SKIPPED: corpus bundle {} not found (build outside the shared setup)",
            p.display()
        );
        None
    }
}

/// Extract `zip` into a new temp dir with the `unzip` command.
fn unzip(zip: &Path) -> Option<tempfile::TempDir> {
    let dir = tempfile::tempdir().ok()?;
    let status = Command::new("unzip")
        .arg("-q")
        .arg("-o")
        .arg(zip)
        .arg("-d")
        .arg(dir.path())
        .status()
        .ok()?;
    // unzip exits 1 for warnings (e.g. stored directory entries); accept 0 and 1.
    if status.code().is_some_and(|c| c <= 1) {
        Some(dir)
    } else {
        None
    }
}

/// Fill `tree` from the extracted directory `root`, logical paths prefixed by `prefix`.
fn walk(
    tree: &mut InputTree,
    root: &Path,
    dir: &Path,
    prefix: &str,
    sel: &AnalysisSelector,
    limits: &Limits,
    keep: &mut Vec<tempfile::TempDir>,
) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<PathBuf> = rd.filter_map(|e| e.ok().map(|e| e.path())).collect();
    entries.sort();
    for path in entries {
        let Ok(rel) = path.strip_prefix(root) else {
            continue;
        };
        let logical = format!("{prefix}{}", rel.to_string_lossy());
        tree.seen.push(logical.clone());
        if path.is_dir() {
            walk(tree, root, &path, prefix, sel, limits, keep);
            continue;
        }
        match sel.want(&logical) {
            Want::Skip => {}
            Want::Load => {
                let Ok(data) = std::fs::read(&path) else {
                    continue;
                };
                let mtime = std::fs::metadata(&path)
                    .ok()
                    .and_then(|m| m.modified().ok())
                    .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                    .and_then(|d| i64::try_from(d.as_secs()).ok());
                tree.loaded_bytes += data.len() as u64;
                tree.files.insert(
                    logical.clone(),
                    VFile {
                        path: logical,
                        data,
                        mode: None,
                        mtime,
                    },
                );
            }
            Want::Scan => {
                let Ok(data) = std::fs::read(&path) else {
                    continue;
                };
                let text = String::from_utf8_lossy(&data);
                let mut log = ScannedLog {
                    path: logical.clone(),
                    bytes: data.len() as u64,
                    lines: 0,
                    matches: Vec::new(),
                    matches_truncated: false,
                    incomplete: false,
                };
                for (i, line) in text.lines().enumerate() {
                    log.lines += 1;
                    if sel.needles().iter().any(|n| line.contains(n)) {
                        if log.matches.len() < limits.max_scan_matches {
                            log.matches.push(LogLine {
                                line: i as u64 + 1,
                                text: line.chars().take(4096).collect(),
                            });
                        } else {
                            log.matches_truncated = true;
                        }
                    }
                }
                tree.logs.insert(logical, log);
            }
            Want::Nested => {
                if logical.ends_with(".zip")
                    && let Some(inner) = unzip(&path)
                {
                    let inner_root = inner.path().to_path_buf();
                    walk(
                        tree,
                        &inner_root,
                        &inner_root,
                        &format!("{logical}!"),
                        sel,
                        limits,
                        keep,
                    );
                    keep.push(inner);
                }
            }
        }
    }
}

/// TEST-ONLY stand-in for `ingest::read_input` on a zip bundle.
fn load_zip(zip: &Path, limits: &Limits) -> Option<InputTree> {
    let dir = unzip(zip)?;
    let mut tree = InputTree {
        path: zip.display().to_string(),
        name: zip.file_name()?.to_string_lossy().into_owned(),
        container: Some(Container::Zip),
        ..InputTree::default()
    };
    let mut keep = Vec::new();
    let root = dir.path().to_path_buf();
    walk(
        &mut tree,
        &root,
        &root,
        "",
        &AnalysisSelector,
        limits,
        &mut keep,
    );
    tree.seen.sort();
    Some(tree)
}

#[test]
fn corpus_2022_bundle_loads() {
    let Some(zip) = corpus() else {
        return;
    };
    let limits = Limits::default();
    let Some(tree) = load_zip(&zip, &limits) else {
        eprintln!("SKIPPED: could not extract the corpus with `unzip`");
        return;
    };
    let snap = build(vec![(tree, None)], &limits);

    assert_eq!(snap.refused, None);
    assert_eq!(snap.inputs.len(), 1);
    assert_eq!(snap.inputs[0].kind, InputKind::HarvesterSupportBundle);
    assert_eq!(
        snap.inputs[0].collected_at.map(harrow::timefmt::rfc3339),
        Some("2022-03-22T23:49:32Z".to_string())
    );

    // Metadata and versions.
    assert_eq!(snap.bundles.len(), 1);
    let meta = &snap.bundles[0];
    assert_eq!(
        meta.project_namespace_uuid.as_deref(),
        Some("9b6b22de-6e5d-4905-aec8-1f226e413986")
    );
    assert_eq!(meta.bundle_name, None, "empty bundlename is absent");
    assert_eq!(
        snap.cluster.kubernetes_version.as_deref(),
        Some("v1.21.7+rke2r1")
    );
    assert_eq!(snap.cluster.rke2_version.as_deref(), Some("v1.21.7+rke2r1"));
    assert_eq!(
        snap.cluster.harvester_version.as_deref(),
        Some("1a861fc-dirty"),
        "2022 bundles have no settings: harvester-release.yaml of the node"
    );

    // Nodes.
    let names: Vec<&str> = snap.nodes.keys().map(String::as_str).collect();
    assert_eq!(names, ["node1"]);
    let n = &snap.nodes["node1"];
    let want: BTreeSet<Role> = [Role::ControlPlane, Role::Etcd, Role::Master, Role::Server]
        .into_iter()
        .collect();
    assert_eq!(n.roles, want);
    assert_eq!(n.roles_source.as_deref(), Some("labels"));
    assert_eq!(n.kubelet_version.as_deref(), Some("v1.21.7+rke2r1"));
    assert!(n.addresses.contains("172.16.132.182"), "{:?}", n.addresses);
    assert!(
        n.sources
            .iter()
            .any(|s| s.ends_with("/yamls/cluster/v1/nodes.yaml"))
    );
    assert!(n.sources.iter().any(|s| s.ends_with("/nodes/node1.zip")));
    assert_eq!(n.inputs, [0].into_iter().collect());
    for host in [
        "etc/rancher/rke2/config.yaml.d/90-harvester-server.yaml",
        "etc/hostname",
        "oem/99_custom.yaml",
        "logs/rke2-server.log",
        "logs/kernel.log",
    ] {
        assert!(n.files.contains_key(host), "missing host file {host}");
    }
    assert!(!n.files.contains_key("logs/rancher-system-agent.log"));
    let (hf, f) = snap
        .host_file("node1", "etc/hostname")
        .unwrap_or_else(|| panic!("etc/hostname unreadable"));
    assert_eq!(String::from_utf8_lossy(&f.data).trim(), "node1");
    assert!(
        snap.provenance(hf)
            .ends_with("/nodes/node1.zip!node1/configs/etc/hostname")
    );

    // Objects: the 2022 encoding loads (items: [] files, "null" strings).
    assert!(snap.objects_of("Node").count() == 1);
    assert!(
        snap.object("ConfigMap", Some("kube-system"), "kube-root-ca.crt")
            .is_some()
    );
    let id = &snap.input_info[0].identity;
    assert_eq!(id.server_ca.len(), 1, "kube-root-ca.crt fingerprint");
    assert!(id.node_names.contains("node1"));
    assert!(
        !snap.notes.iter().any(|n| n.rule == "BUNDLE003"),
        "{:#?}",
        snap.notes
    );
    // The generation error log only lists never-listable resources in this bundle? Either way
    // every note names its evidence as input!path.
    for note in &snap.notes {
        for (src, _) in &note.evidence {
            assert!(src.starts_with("supportbundle_"), "{src}");
        }
    }
    eprintln!(
        "objects: {}, notes: {:#?}",
        snap.objects.len(),
        snap.notes
            .iter()
            .map(|n| (&n.rule, &n.title))
            .collect::<Vec<_>>()
    );
}
