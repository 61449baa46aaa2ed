//! The real 2022 Harvester support bundle of `../shared/corpus/` through the ingest reader and
//! the snapshot stage: node `node1`, its roles, versions, collection time, host files.

// clippy.toml lets #[test] functions unwrap, panic and print; this lets their helpers too.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stderr
)]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use harrow::ingest::{Budget, InputTree, Limits, read_input};
use harrow::snapshot::{AnalysisSelector, InputKind, NoteKind, Role, build};

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

fn load(path: &Path, limits: &Limits) -> InputTree {
    read_input(path, limits, &AnalysisSelector::default(), &Budget::new())
}

#[test]
fn corpus_2022_bundle_loads() {
    let Some(zip) = corpus() else {
        return;
    };
    let limits = Limits::default();
    let t0 = std::time::Instant::now();
    let tree = load(&zip, &limits);
    let t1 = std::time::Instant::now();
    assert!(tree.issues.is_empty(), "{:#?}", tree.issues);
    let snap = build(vec![(tree, None)], &limits);
    eprintln!("read {:?}, build {:?}", t1 - t0, t1.elapsed());

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
        !snap.notes.iter().any(|n| n.kind == NoteKind::Refused),
        "{:#?}",
        snap.notes
    );
    // The generation error log only lists never-listable resources in this bundle? Either way
    // every note names its evidence as input!path.
    for note in &snap.notes {
        for o in &note.evidence {
            assert!(o.input.starts_with("supportbundle_"), "{o:?}");
        }
    }
    eprintln!(
        "objects: {}, notes: {:#?}",
        snap.objects.len(),
        snap.notes
            .iter()
            .map(|n| (n.kind, &n.title))
            .collect::<Vec<_>>()
    );
}
