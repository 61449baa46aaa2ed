//! Node snapshots made with plain `tar` (as an operator would: `./` prefixes, a `node1/` folder,
//! the `server/node-token → token` link, the absolute `bin` link, containerd content) through the
//! real ingest reader and the snapshot stage.

// clippy.toml lets #[test] functions unwrap, panic and print; this lets their helpers too.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stderr
)]

use std::path::Path;
use std::process::Command;

use harrow::ingest::{Budget, Limits, read_input};
use harrow::snapshot::{AnalysisSelector, InputKind, NoteKind, Role, build};

/// Lay out a small rke2 server host tree under `root`.
fn host_tree(root: &Path, ca: &str) -> std::io::Result<()> {
    let w = |p: &str, data: &str| -> std::io::Result<()> {
        let path = root.join(p);
        if let Some(d) = path.parent() {
            std::fs::create_dir_all(d)?;
        }
        std::fs::write(path, data)
    };
    w("var/lib/rancher/rke2/server/tls/server-ca.crt", ca)?;
    w("var/lib/rancher/rke2/server/tls/etcd/peer-ca.crt", "x\n")?;
    w("var/lib/rancher/rke2/server/token", "K10abc::server:pw\n")?;
    w(
        "var/lib/rancher/rke2/server/db/etcd/member/snap/db",
        "etcd data\n",
    )?;
    w(
        "var/lib/rancher/rke2/agent/containerd/io.containerd.content.v1.content/blobs/sha256/aa",
        "blob\n",
    )?;
    w(
        "var/lib/rancher/rke2/agent/pod-manifests/kube-apiserver.yaml",
        "kind: Pod\n",
    )?;
    w("var/lib/rancher/rke2/agent/client-kubelet.crt", "x\n")?;
    w("etc/rancher/rke2/config.yaml", "token: secret\n")?;
    w("etc/hostname", "srv-1\n")?;
    std::os::unix::fs::symlink("token", root.join("var/lib/rancher/rke2/server/node-token"))?;
    std::os::unix::fs::symlink(
        "/var/lib/rancher/rke2/data/v1.28.10-rke2r1/bin",
        root.join("var/lib/rancher/rke2/bin"),
    )?;
    Ok(())
}

fn tar(args: &[&str], cwd: &Path) -> bool {
    Command::new("tar")
        .args(args)
        .current_dir(cwd)
        .status()
        .is_ok_and(|s| s.success())
}

#[test]
fn plain_tar_node_snapshots_load() {
    let Ok(dir) = tempfile::tempdir() else {
        return;
    };
    let host = dir.path().join("host");
    let ca = rcgen::KeyPair::generate()
        .and_then(|k| {
            rcgen::CertificateParams::new(Vec::<String>::new()).and_then(|p| p.self_signed(&k))
        })
        .map(|c| c.pem())
        .unwrap_or_else(|e| panic!("{e}"));
    if host_tree(&host, &ca).is_err() {
        eprintln!("SKIPPED: could not lay out the host tree");
        return;
    }
    let out = dir.path().join("out");
    if std::fs::create_dir_all(&out).is_err() {
        return;
    }
    // `tar czf n1.tgz .` from the host root: entries start with `./`.
    let dot = out.join("n1.tgz");
    let dot_s = dot.to_string_lossy().into_owned();
    // `tar czf snap.tgz host` from the parent: entries start with `host/`.
    let pre = out.join("snap.tgz");
    let pre_s = pre.to_string_lossy().into_owned();
    if !tar(&["czf", &dot_s, "."], &host) || !tar(&["czf", &pre_s, "host"], dir.path()) {
        eprintln!("SKIPPED: `tar` not available");
        return;
    }
    let limits = Limits::default();
    let budget = Budget::new();
    let t1 = read_input(&dot, &limits, &AnalysisSelector::default(), &budget);
    let t2 = read_input(&pre, &limits, &AnalysisSelector::default(), &budget);
    assert!(
        !t1.files
            .keys()
            .any(|p| p.contains("containerd") || p.contains("/db/")),
        "skipped entries are not loaded"
    );
    let s = build(vec![(t1, None), (t2, Some("named".into()))], &limits);
    assert_eq!(s.inputs[0].kind, InputKind::NodeSnapshot);
    assert_eq!(s.inputs[1].kind, InputKind::NodeSnapshot);
    assert_eq!(s.input_info[0].prefix, "");
    assert_eq!(s.input_info[1].prefix, "host/");
    // Node names: etc/hostname, then NAME=PATH.
    let names: Vec<&str> = s.nodes.keys().map(String::as_str).collect();
    assert_eq!(names, ["named", "srv-1"]);
    assert_eq!(s.refused, None, "one server CA");
    assert_eq!(s.input_info[0].identity.server_ca.len(), 1);
    for node in ["named", "srv-1"] {
        let n = &s.nodes[node];
        assert_eq!(
            n.roles,
            [Role::ControlPlane, Role::Etcd, Role::Server]
                .into_iter()
                .collect()
        );
        let (_, f) = s
            .host_file(node, "var/lib/rancher/rke2/server/node-token")
            .unwrap_or_else(|| panic!("{node}: node-token → token"));
        assert_eq!(f.data, b"K10abc::server:pw\n");
        assert!(n.present.contains("var/lib/rancher/rke2/bin"));
        assert!(!n.files.contains_key("var/lib/rancher/rke2/bin"));
        assert!(n.present.contains("var/lib/rancher/rke2/server/db"));
    }
    // The absolute `bin` link is coverage, not BUNDLE003.
    assert!(
        !s.notes.iter().any(|n| n.kind == NoteKind::Refused),
        "{:#?}",
        s.notes
    );
}
