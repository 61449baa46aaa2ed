//! The snapshot stage on in-memory inputs: the bundle encoding quirks (`"null"`, floats,
//! `items: []`, masked `***`, alias bombs, malformed YAML), input classification and prefixes,
//! collection times, roles (labels, witness taint, files), node naming, one-cluster identity,
//! and the notes of an incomplete bundle and of refused entries, and the remarks.

// clippy.toml lets #[test] functions unwrap, panic and print; this lets their helpers too.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stderr
)]

use std::collections::BTreeSet;

use harrow::ingest::{
    Container, IngestIssue, InputTree, IssueKind, Limits, Link, ScannedLog, VFile,
};
use harrow::snapshot::{InputKind, NoteKind, Role, Snapshot, build};

const TOP: &str = "supportbundle_0c1d_2026-11-20T10-00-00Z/";

/// A fluent builder of in-memory input trees.
struct Tree(InputTree);

impl Tree {
    fn new(name: &str) -> Tree {
        Tree(InputTree {
            path: format!("/in/{name}"),
            name: name.to_string(),
            container: Some(Container::Tar),
            sha256: "00".into(),
            ..InputTree::default()
        })
    }

    fn file(mut self, path: &str, data: impl AsRef<[u8]>) -> Tree {
        self.0.seen.push(path.into());
        self.0.files.insert(
            path.into(),
            VFile {
                data: data.as_ref().to_vec(),
                mode: Some(0o600),
                mtime: None,
                decoded: None,
            },
        );
        self
    }

    fn file_at(mut self, path: &str, data: impl AsRef<[u8]>, mtime: i64) -> Tree {
        self = self.file(path, data);
        if let Some(f) = self.0.files.get_mut(path) {
            f.mtime = Some(mtime);
        }
        self
    }

    fn seen(mut self, path: &str) -> Tree {
        self.0.seen.push(path.into());
        self
    }

    fn log(mut self, path: &str, bytes: u64, incomplete: bool) -> Tree {
        self.0.seen.push(path.into());
        self.0.logs.insert(
            path.to_string(),
            ScannedLog {
                path: path.to_string(),
                bytes,
                lines: 10,
                matches: Vec::new(),
                matches_truncated: false,
                incomplete,
                head: String::new(),
            },
        );
        self
    }

    fn link(mut self, path: &str, target: &str, resolved: Option<&str>) -> Tree {
        self.0.seen.push(path.into());
        self.0.links.insert(
            path.to_string(),
            Link {
                path: path.to_string(),
                target: target.to_string(),
                hard: false,
                resolved: resolved.map(str::to_string),
            },
        );
        self
    }

    fn issue(mut self, kind: IssueKind, entry: &str, message: &str) -> Tree {
        self.0.issues.push(IngestIssue {
            kind,
            entry: entry.to_string(),
            message: message.to_string(),
        });
        self
    }

    fn done(self) -> (InputTree, Option<String>) {
        (self.0, None)
    }

    fn named(self, node: &str) -> (InputTree, Option<String>) {
        (self.0, Some(node.to_string()))
    }
}

fn run(inputs: Vec<(InputTree, Option<String>)>) -> Snapshot {
    build(inputs, &Limits::default())
}

const METADATA: &str = r#"bundlename: ""
bundleversion: 0.1.0
kubernetesversion: v1.28.10+rke2r1
projectnamespaceuuid: 0c1d0c1d-0000-4000-8000-000000000001
bundlecreatedat: "2026-11-20T10:05:00Z"
issueurl: ""
issuedescription: ""
"#;

fn node_yaml(name: &str, labels: &str, taints: &str, args: &str) -> String {
    format!(
        r#"- apiVersion: v1
  kind: Node
  metadata:
    managedFields:
    - manager: kubelet
    annotations:
      rke2.io/internal-ip: 10.0.0.{n}
      rke2.io/node-args: '["{args}","--token","********"]'
    labels:
      kubernetes.io/hostname: {name}
{labels}
    name: {name}
  spec:
{taints}
    podCIDR: "null"
  status:
    addresses:
    - address: 10.0.0.{n}
      type: InternalIP
    - address: {name}
      type: Hostname
    capacity:
      ephemeral-storage: 1.780569233e+09
    nodeInfo:
      kubeletVersion: v1.28.10+rke2r1
"#,
        n = name.len(),
    )
}

fn nodes_list(items: &[String]) -> String {
    format!(
        "apiVersion: v1\nitems:\n{}kind: List\nmetadata:\n  continue: \"null\"\n  resourceVersion: \"1\"\n",
        items.concat()
    )
}

fn bundle() -> Tree {
    let nodes = nodes_list(&[
        node_yaml(
            "cp1",
            "      node-role.kubernetes.io/control-plane: \"true\"\n      node-role.kubernetes.io/etcd: \"true\"\n      node-role.harvesterhci.io/management: \"true\"",
            "    taints: []",
            "server",
        ),
        node_yaml(
            "wit",
            "      node-role.kubernetes.io/etcd: \"true\"",
            "    taints:\n    - effect: NoExecute\n      key: node-role.kubernetes.io/etcd\n      value: \"true\"",
            "server",
        ),
        node_yaml(
            "work1",
            "      node-role.harvesterhci.io/worker: \"true\"",
            "    taints: []",
            "agent",
        ),
        node_yaml("plain", "      other: x", "    taints: []", "agent"),
    ]);
    Tree::new("bundle.zip")
        .file(&format!("{TOP}metadata.yaml"), METADATA)
        .file(&format!("{TOP}bundleGenerationError.log"), "")
        .file(&format!("{TOP}yamls/cluster/v1/nodes.yaml"), nodes)
        .file(
            &format!("{TOP}yamls/cluster/v1/persistentvolumes.yaml"),
            "apiVersion: v1\nitems: []\nkind: List\nmetadata:\n  resourceVersion: \"14658865\"\n",
        )
        .file(
            &format!("{TOP}yamls/cluster/harvesterhci.io/v1beta1/settings.yaml"),
            r#"apiVersion: v1
items:
- apiVersion: harvesterhci.io/v1beta1
  default: '{"enable":false,"expiringInHours":240}'
  kind: Setting
  metadata:
    name: auto-rotate-rke2-certs
- apiVersion: harvesterhci.io/v1beta1
  kind: Setting
  metadata:
    name: server-version
  value: v1.4.1
- apiVersion: harvesterhci.io/v1beta1
  kind: Setting
  metadata:
    name: http-proxy
  value: "***"
kind: List
metadata:
  continue: "null"
"#,
        )
        .file(
            &format!("{TOP}yamls/cluster/scheduling.k8s.io/v1/priorityclasses.yaml"),
            "apiVersion: v1\nitems:\n- apiVersion: scheduling.k8s.io/v1\n  kind: PriorityClass\n  metadata:\n    name: system-node-critical\n  value: 2.000001e+09\nkind: List\n",
        )
        .file(
            &format!("{TOP}yamls/namespaced/kube-system/v1/pods.yaml"),
            "apiVersion: v1\nitems:\n- apiVersion: v1\n  kind: Pod\n  metadata:\n    name: etcd-cp1\n  spec:\n    tolerations:\n    - key: \"null\"\n      operator: Exists\n      value: \"null\"\n    nodeName: cp1\nkind: List\n",
        )
        .file(&format!("{TOP}nodes/cp1.zip"), "")
        .file(
            &format!("{TOP}nodes/cp1.zip!cp1/configs/etc/rancher/rke2/config.yaml.d/90-harvester-server.yaml"),
            "token: '***'\n",
        )
        .file(&format!("{TOP}nodes/cp1.zip!cp1/configs/etc/hostname"), "cp1\n")
        .file(&format!("{TOP}nodes/cp1.zip!cp1/configs/oem/90_custom.yaml"), "name: x\n")
        .log(&format!("{TOP}nodes/cp1.zip!cp1/logs/rke2-server.log"), 1000, false)
        .log(
            &format!("{TOP}logs/harvester-system/harvester-d544ddb6f-6g2fl/apiserver.log"),
            2000,
            false,
        )
}

#[test]
fn bundle_quirks_load() {
    let s = run(vec![bundle().done()]);
    assert_eq!(s.inputs[0].kind, InputKind::HarvesterSupportBundle);
    assert_eq!(s.refused, None);
    assert_eq!(
        s.inputs[0].collected_at.map(harrow::timefmt::rfc3339),
        Some("2026-11-20T10:05:00Z".into()),
        "bundlecreatedat wins over the folder name"
    );
    assert_eq!(s.input_info[0].prefix, TOP);
    // "null" → null, except under `key`.
    let pod = s
        .object("Pod", Some("kube-system"), "etcd-cp1")
        .unwrap_or_else(|| panic!("pod"));
    assert_eq!(
        pod.get(&["spec", "tolerations", "0", "key"]),
        Some(&serde_json::json!("null"))
    );
    assert_eq!(
        pod.get(&["spec", "tolerations", "0", "value"]),
        Some(&serde_json::Value::Null)
    );
    let cp1 = s
        .object("Node", None, "cp1")
        .unwrap_or_else(|| panic!("node"));
    assert_eq!(
        cp1.get(&["spec", "podCIDR"]),
        Some(&serde_json::Value::Null)
    );
    assert_eq!(
        cp1.i64_at(&["status", "capacity", "ephemeral-storage"]),
        Some(1_780_569_233)
    );
    // Floats as integers.
    let pc = s
        .object("PriorityClass", None, "system-node-critical")
        .unwrap_or_else(|| panic!("priorityclass"));
    assert_eq!(pc.i64_at(&["value"]), Some(2_000_001_000));
    assert_eq!(
        pc.resource(),
        Some((
            "scheduling.k8s.io".into(),
            "v1".into(),
            "priorityclasses".into(),
            false
        ))
    );
    // Masked values are kept but absent.
    let proxy = s
        .object("Setting", None, "http-proxy")
        .unwrap_or_else(|| panic!("setting"));
    assert_eq!(proxy.get(&["value"]), Some(&serde_json::json!("***")));
    assert_eq!(proxy.str_at(&["value"]), None);
    // items: [] loads as nothing, without notes.
    assert_eq!(s.objects_of("PersistentVolume").count(), 0);
    assert!(s.notes.is_empty(), "{:#?}", s.notes);
    // Versions.
    assert_eq!(
        s.cluster.kubernetes_version.as_deref(),
        Some("v1.28.10+rke2r1")
    );
    assert_eq!(s.cluster.rke2_version.as_deref(), Some("v1.28.10+rke2r1"));
    assert_eq!(s.cluster.harvester_version.as_deref(), Some("v1.4.1"));
}

fn roles(v: &[Role]) -> BTreeSet<Role> {
    v.iter().copied().collect()
}

#[test]
fn roles_from_labels_taints_and_node_args() {
    let s = run(vec![bundle().done()]);
    assert_eq!(
        s.nodes["cp1"].roles,
        roles(&[
            Role::ControlPlane,
            Role::Etcd,
            Role::Management,
            Role::Server
        ])
    );
    assert_eq!(
        s.nodes["wit"].roles,
        roles(&[Role::Etcd, Role::Witness, Role::Server]),
        "the witness taint makes a witness, which runs rke2-server"
    );
    assert_eq!(s.nodes["work1"].roles, roles(&[Role::Worker, Role::Agent]));
    assert_eq!(s.nodes["plain"].roles, roles(&[Role::Agent]));
    assert_eq!(s.servers(), ["cp1", "wit"]);
    assert_eq!(s.agents(), ["plain", "work1"]);
    assert_eq!(s.witnesses(), ["wit"]);
    let cp1 = &s.nodes["cp1"];
    assert!(cp1.addresses.contains("10.0.0.3"));
    assert!(cp1.addresses.contains("cp1"));
    assert!(
        cp1.files
            .contains_key("etc/rancher/rke2/config.yaml.d/90-harvester-server.yaml")
    );
    assert!(cp1.files.contains_key("oem/90_custom.yaml"));
    assert!(cp1.files.contains_key("logs/rke2-server.log"));
    assert!(
        cp1.sources
            .contains(&format!("bundle.zip!{TOP}nodes/cp1.zip"))
    );
    assert!(
        cp1.sources
            .contains(&format!("bundle.zip!{TOP}yamls/cluster/v1/nodes.yaml"))
    );
}

#[test]
fn alias_bomb_is_refused_and_the_rest_loads() {
    let mut bomb =
        String::from("apiVersion: v1\nitems:\n- a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for i in 1..10 {
        let p = i - 1;
        bomb.push_str(&format!(
            "  a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
        ));
    }
    bomb.push_str("kind: List\n");
    let path = format!("{TOP}yamls/namespaced/default/v1/configmaps.yaml");
    let s = run(vec![bundle().file(&path, bomb).done()]);
    let refusals: Vec<_> = s
        .notes
        .iter()
        .filter(|n| n.kind == NoteKind::Refused)
        .collect();
    assert_eq!(refusals.len(), 1, "{:#?}", s.notes);
    assert_eq!(
        refusals[0].evidence[0].display().split(':').next(),
        Some(format!("bundle.zip!{path}").as_str())
    );
    assert!(
        refusals[0].evidence[0]
            .pointer
            .as_deref()
            .is_some_and(|p| p.starts_with("line "))
    );
    assert!(
        s.object("Node", None, "cp1").is_some(),
        "the rest still loads"
    );
}

#[test]
fn malformed_yaml_is_noted_with_position() {
    let path = format!("{TOP}yamls/namespaced/default/v1/serviceaccounts.yaml");
    let s = run(vec![
        bundle()
            .file(&path, "apiVersion: v1\nitems:\n- kind: ServiceAccount\n  metadata: {name: [unclosed\nkind: List\n")
            .done(),
    ]);
    let bad: Vec<_> = s
        .notes
        .iter()
        .filter(|n| n.title.contains("serviceaccounts.yaml"))
        .collect();
    assert_eq!(bad.len(), 1, "{:#?}", s.notes);
    assert_eq!(bad[0].kind, NoteKind::Incomplete);
    assert_eq!(
        (
            bad[0].evidence[0].input.as_str(),
            bad[0].evidence[0].path.as_str()
        ),
        ("bundle.zip", path.as_str())
    );
    assert!(bad[0].evidence[0].pointer.is_some(), "line/column pointer");
    assert_eq!(s.nodes.len(), 4, "the rest still loads");
}

#[test]
fn bundle_incomplete_notes() {
    // Missing nodes/, collection errors, empty node zip, truncated and capped logs.
    let no_nodes = Tree::new("b.zip")
        .file(&format!("{TOP}metadata.yaml"), METADATA)
        .file(
            &format!("{TOP}bundleGenerationError.log"),
            "Failed to get /apis/authentication.k8s.io/v1/tokenreviews: not allowed\nFailed to get /apis/longhorn.io/v1beta2/volumes: timeout\n",
        )
        .file(&format!("{TOP}yamls/cluster/v1/nodes.yaml"), nodes_list(&[]));
    let s = run(vec![no_nodes.done()]);
    let titles: Vec<&str> = s.notes.iter().map(|n| n.title.as_str()).collect();
    assert!(
        titles.contains(&"bundle incomplete: no nodes/"),
        "{titles:?}"
    );
    assert!(
        titles.contains(&"bundle incomplete: collection errors"),
        "{titles:?}"
    );
    assert!(s.notes.iter().all(|n| n.kind == NoteKind::Incomplete));

    let s = run(vec![
        bundle()
            .seen(&format!("{TOP}nodes/empty.zip"))
            .seen(&format!("{TOP}nodes/empty.zip!empty/"))
            .log(
                &format!("{TOP}nodes/cp1.zip!cp1/logs/kernel.log"),
                500,
                true,
            )
            .log(
                &format!("{TOP}nodes/cp1.zip!cp1/logs/rke2-agent.log"),
                10 * 1024 * 1024,
                false,
            )
            .done(),
    ]);
    let titles: Vec<&str> = s.notes.iter().map(|n| n.title.as_str()).collect();
    assert!(
        titles.contains(&"bundle incomplete: empty node zip empty.zip"),
        "{titles:?}"
    );
    assert!(
        titles
            .iter()
            .any(|t| t.contains("truncated log logs/kernel.log")),
        "{titles:?}"
    );
    assert!(
        titles
            .iter()
            .any(|t| t.contains("truncated log logs/rke2-agent.log")),
        "{titles:?}"
    );
}

#[test]
fn ingest_issues_become_bundle003_and_coverage() {
    let s = run(vec![
        bundle()
            .issue(
                IssueKind::EntryTooLarge,
                &format!("{TOP}yamls/namespaced/default/v1/events.yaml"),
                "72 MiB over the 64 MiB limit",
            )
            .issue(IssueKind::LinkOutsideTree, "x/bin", "/usr/bin")
            .done(),
    ]);
    let refusals: Vec<_> = s
        .notes
        .iter()
        .filter(|n| n.kind == NoteKind::Refused)
        .collect();
    assert_eq!(refusals.len(), 1);
    assert_eq!(
        refusals[0].evidence[0].display(),
        format!("bundle.zip!{TOP}yamls/namespaced/default/v1/events.yaml")
    );
    // A link leaving the tree is no fault: a remark, said in BUNDLE003's one coverage row.
    assert_eq!(s.remarks.len(), 1);
    assert!(s.remarks[0].contains("bundle.zip!x/bin"), "{:?}", s.remarks);
}

#[test]
fn unreadable_input() {
    let t = InputTree {
        path: "/in/junk.bin".into(),
        name: "junk.bin".into(),
        issues: vec![IngestIssue {
            kind: IssueKind::Unreadable,
            entry: String::new(),
            message: "not a zip, tar or directory".into(),
        }],
        ..InputTree::default()
    };
    let s = run(vec![(t, None), bundle().done()]);
    assert_eq!(s.inputs[0].kind, InputKind::Unreadable);
    assert_eq!(
        s.inputs[0].error.as_deref(),
        Some("not a zip, tar or directory")
    );
    assert_eq!(s.inputs[1].kind, InputKind::HarvesterSupportBundle);
    assert!(
        s.notes
            .iter()
            .any(|n| n.kind == NoteKind::Refused && n.evidence[0].display() == "junk.bin")
    );
    assert_eq!(s.refused, None);
}

// ---- node snapshots -------------------------------------------------------------------------

fn cert(cn: &str) -> String {
    let key = rcgen::KeyPair::generate().unwrap_or_else(|e| panic!("{e}"));
    let mut params =
        rcgen::CertificateParams::new(Vec::<String>::new()).unwrap_or_else(|e| panic!("{e}"));
    params.distinguished_name = rcgen::DistinguishedName::new();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, cn);
    params
        .self_signed(&key)
        .unwrap_or_else(|e| panic!("{e}"))
        .pem()
}

fn server_snapshot(name: &str, prefix: &str, ca: &str) -> Tree {
    let p = |s: &str| format!("{prefix}{s}");
    Tree::new(name)
        .file(&p("var/lib/rancher/rke2/server/tls/server-ca.crt"), ca)
        .file(
            &p("var/lib/rancher/rke2/server/tls/etcd/server-ca.crt"),
            "x",
        )
        .file(
            &p("var/lib/rancher/rke2/server/token"),
            "K10abc::server:secret\n",
        )
        .link(
            &p("var/lib/rancher/rke2/server/node-token"),
            "token",
            Some(&p("var/lib/rancher/rke2/server/token")),
        )
        .link(
            &p("var/lib/rancher/rke2/bin"),
            "/var/lib/rancher/rke2/data/v1/bin",
            None,
        )
        .file(
            &p("var/lib/rancher/rke2/agent/pod-manifests/kube-apiserver.yaml"),
            "kind: Pod\n",
        )
        .file(&p("etc/rancher/rke2/config.yaml"), "token: '***'\n")
}

#[test]
fn snapshot_prefixes_and_links() {
    let ca = cert("rke2-server-ca@1");
    for prefix in ["", "node1/", "host/root/"] {
        let s = run(vec![server_snapshot("n1.tgz", prefix, &ca).done()]);
        assert_eq!(s.inputs[0].kind, InputKind::NodeSnapshot, "{prefix}");
        assert_eq!(s.input_info[0].prefix, prefix);
        let n = &s.nodes["n1"];
        assert_eq!(
            s.input_info[0].node_name_source.as_deref(),
            Some("file name")
        );
        assert!(
            n.files
                .contains_key("var/lib/rancher/rke2/server/tls/server-ca.crt")
        );
        let (_, f) = s
            .host_file("n1", "var/lib/rancher/rke2/server/node-token")
            .unwrap_or_else(|| panic!("node-token → token"));
        assert_eq!(f.data, b"K10abc::server:secret\n");
        assert!(
            !n.files.contains_key("var/lib/rancher/rke2/bin"),
            "link outside the tree"
        );
        assert!(n.present.contains("var/lib/rancher/rke2/bin"));
        assert_eq!(
            n.roles,
            roles(&[Role::ControlPlane, Role::Etcd, Role::Server])
        );
        assert_eq!(n.roles_source.as_deref(), Some("files"));
        assert_eq!(n.sources, ["n1.tgz".to_string()].into_iter().collect());
    }
}

#[test]
fn snapshot_roles_from_files() {
    let agent = Tree::new("a1.tgz")
        .file("var/lib/rancher/rke2/agent/client-kubelet.crt", "x")
        .file(
            "etc/rancher/rke2/config.yaml",
            "server: https://10.0.0.1:9345\n",
        );
    let witness = Tree::new("w1.tgz")
        .file("var/lib/rancher/rke2/server/tls/etcd/peer-ca.crt", "x")
        .file(
            "etc/rancher/rke2/config.yaml.d/99-harvester-witness.yaml",
            "node-taint: []\n",
        );
    let s = run(vec![agent.done()]);
    assert_eq!(s.nodes["a1"].roles, roles(&[Role::Agent]));
    let s = run(vec![witness.done()]);
    assert_eq!(
        s.nodes["w1"].roles,
        roles(&[Role::Etcd, Role::Witness, Role::Server])
    );
}

#[test]
fn snapshot_naming_rules() {
    let base = || Tree::new("n9.tar.gz").file("etc/rancher/rke2/config.yaml", "a: 1\n");
    // file stem
    let s = run(vec![base().done()]);
    assert!(s.nodes.contains_key("n9"));
    // etc/hostname
    let s = run(vec![base().file("etc/hostname", "host-a\n").done()]);
    assert_eq!(s.input_info[0].node.as_deref(), Some("host-a"));
    // client-kubelet.crt system:node:<name>
    let s = run(vec![
        base()
            .file("etc/hostname", "host-a\n")
            .file(
                "var/lib/rancher/rke2/agent/client-kubelet.crt",
                cert("system:node:kube-b"),
            )
            .done(),
    ]);
    assert_eq!(s.input_info[0].node.as_deref(), Some("kube-b"));
    assert_eq!(
        s.input_info[0].node_name_source.as_deref(),
        Some("client-kubelet.crt")
    );
    // serving-kubelet.crt CN
    let s = run(vec![
        base()
            .file(
                "var/lib/rancher/rke2/agent/client-kubelet.crt",
                cert("system:node:kube-b"),
            )
            .file(
                "var/lib/rancher/rke2/agent/serving-kubelet.crt",
                cert("kube-c"),
            )
            .done(),
    ]);
    assert_eq!(s.input_info[0].node.as_deref(), Some("kube-c"));
    // snapshot.yaml
    let manifest = "node: from-manifest\ncollected_at: \"2026-11-21T08:00:00Z\"\ncollector_version: harrow 0.1.0\nreplaced:\n  - path: /var/lib/rancher/rke2/server/tls/server-ca.key\n    with: var/lib/rancher/rke2/server/tls/server-ca.key.pub-fingerprint\n    reason: private-key\n  - etc/rancher/rke2/config.yaml\n";
    let s = run(vec![
        base()
            .file(
                "var/lib/rancher/rke2/agent/serving-kubelet.crt",
                cert("kube-c"),
            )
            .file("snapshot.yaml", manifest)
            .done(),
    ]);
    assert_eq!(s.input_info[0].node.as_deref(), Some("from-manifest"));
    assert_eq!(
        s.inputs[0].collected_at.map(harrow::timefmt::rfc3339),
        Some("2026-11-21T08:00:00Z".into())
    );
    let m = s.input_info[0].manifest.clone().unwrap_or_default();
    assert_eq!(m.collector_version.as_deref(), Some("harrow 0.1.0"));
    assert_eq!(m.replaced.len(), 2);
    assert_eq!(
        m.replaced[1].path,
        "var/lib/rancher/rke2/server/tls/server-ca.key"
    );
    assert_eq!(m.replaced[1].reason.as_deref(), Some("private-key"));
    // NAME=PATH wins over everything
    let s = run(vec![base().file("snapshot.yaml", manifest).named("given")]);
    assert_eq!(s.input_info[0].node.as_deref(), Some("given"));
    assert_eq!(
        s.input_info[0].node_name_source.as_deref(),
        Some("command line")
    );
}

#[test]
fn snapshot_time_estimated_from_mtime() {
    let s = run(vec![
        Tree::new("n1.tgz")
            .file_at("etc/rancher/rke2/config.yaml", "a: 1\n", 1_700_000_000)
            .file_at("var/lib/rancher/rke2/server/token", "t\n", 1_700_000_500)
            .done(),
    ]);
    assert_eq!(
        s.inputs[0].collected_at.map(|t| t.unix_timestamp()),
        Some(1_700_000_500)
    );
    assert!(s.input_info[0].collected_at_estimated);
    assert!(
        s.notes
            .iter()
            .any(|n| n.title == "collection time estimated")
    );
}

#[test]
fn bundle_time_from_folder_name() {
    let s = run(vec![
        Tree::new("custom.zip")
            .file(
                &format!("{TOP}yamls/cluster/v1/nodes.yaml"),
                nodes_list(&[]),
            )
            .seen(&format!("{TOP}nodes/"))
            .done(),
    ]);
    assert_eq!(s.inputs[0].kind, InputKind::HarvesterSupportBundle);
    assert_eq!(
        s.inputs[0].collected_at.map(harrow::timefmt::rfc3339),
        Some("2026-11-20T10:00:00Z".into())
    );
}

// ---- one cluster -----------------------------------------------------------------------------

#[test]
fn inputs_of_different_clusters_are_refused() {
    let ca_a = cert("rke2-server-ca@1");
    let ca_b = cert("rke2-server-ca@2");
    let s = run(vec![
        server_snapshot("n1.tgz", "", &ca_a).done(),
        server_snapshot("n2.tgz", "", &ca_b).done(),
    ]);
    let reason = s.refused.clone().unwrap_or_default();
    assert!(
        reason.contains("n1.tgz") && reason.contains("n2.tgz"),
        "{reason}"
    );

    // Same server CA: one cluster, two nodes.
    let s = run(vec![
        server_snapshot("n1.tgz", "", &ca_a).done(),
        server_snapshot("n2.tgz", "", &ca_a).done(),
    ]);
    assert_eq!(s.refused, None);
    assert_eq!(s.nodes.len(), 2);

    // A bundle and a snapshot of one of its nodes share the node name.
    let s = run(vec![
        bundle().done(),
        server_snapshot("cp1.tgz", "", &ca_b).done(),
    ]);
    assert_eq!(s.refused, None, "shared node name cp1");
    let cp1 = &s.nodes["cp1"];
    assert_eq!(cp1.inputs, [0, 1].into_iter().collect());
    assert!(cp1.files.contains_key("var/lib/rancher/rke2/server/token"));
    assert!(cp1.files.contains_key("oem/90_custom.yaml"));
    assert_eq!(
        cp1.roles_source.as_deref(),
        Some("labels"),
        "labels win over files"
    );
}

#[test]
fn far_apart_inputs_are_noted_but_merged() {
    let ca = cert("rke2-server-ca@1");
    let s = run(vec![
        server_snapshot("n1.tgz", "", &ca)
            .file(
                "snapshot.yaml",
                "node: n1\ncollected_at: \"2026-11-01T00:00:00Z\"\n",
            )
            .done(),
        server_snapshot("n2.tgz", "", &ca)
            .file(
                "snapshot.yaml",
                "node: n2\ncollected_at: \"2026-11-03T00:00:00Z\"\n",
            )
            .done(),
    ]);
    assert_eq!(s.refused, None);
    let far: Vec<_> = s
        .notes
        .iter()
        .filter(|n| n.title == "inputs collected far apart")
        .collect();
    assert_eq!(far.len(), 1);
    assert!(far[0].message.contains("48 h"), "{}", far[0].message);
}

#[test]
fn stale_trust_is_the_same_cluster() {
    // After a cross-signed rotation the servers' bundle holds the new and the old root; an
    // agent that still trusts only the old root is the same cluster (with a finding later).
    let old = cert("rke2-server-ca@1");
    let new = cert("rke2-server-ca@2");
    let agent = Tree::new("a1.tgz")
        .file("var/lib/rancher/rke2/agent/server-ca.crt", &old)
        .file(
            "var/lib/rancher/rke2/agent/client-kubelet.crt",
            cert("system:node:a1"),
        );
    let server = server_snapshot("s1.tgz", "", &format!("{new}{old}"));
    let s = run(vec![server.done(), agent.done()]);
    assert_eq!(s.refused, None);
    assert_ne!(
        s.input_info[0].identity.server_ca,
        s.input_info[1].identity.server_ca
    );
    assert_eq!(s.nodes["a1"].roles, roles(&[Role::Agent]));
}

fn cert_with_sans(cn: &str, sans: &[&str]) -> String {
    let key = rcgen::KeyPair::generate().unwrap_or_else(|e| panic!("{e}"));
    let sans: Vec<String> = sans.iter().map(|s| s.to_string()).collect();
    let mut params = rcgen::CertificateParams::new(sans).unwrap_or_else(|e| panic!("{e}"));
    params.distinguished_name = rcgen::DistinguishedName::new();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, cn);
    params
        .self_signed(&key)
        .unwrap_or_else(|e| panic!("{e}"))
        .pem()
}

#[test]
fn snapshot_addresses_and_active_unit() {
    let s = run(vec![
        Tree::new("x.tgz")
            .file("etc/rancher/rke2/config.yaml", "server: https://10.0.0.1:9345\n")
            .file(
                "var/lib/rancher/rke2/agent/serving-kubelet.crt",
                cert_with_sans("a7", &["a7", "localhost", "10.0.0.7", "127.0.0.1"]),
            )
            .file(
                "commands/ip-addr.txt",
                "1: lo: <LOOPBACK>\n    inet 127.0.0.1/8 scope host lo\n2: eth0: <UP>\n    inet 10.0.0.7/24 scope global eth0\n    inet 192.168.5.7/24 scope global eth0\n",
            )
            .file(
                "commands/systemctl-show-rke2.txt",
                "Id=rke2-server.service\nActiveState=inactive\n\nId=rke2-agent.service\nActiveState=active\n",
            )
            .done(),
    ]);
    let n = &s.nodes["a7"];
    let addrs: Vec<&str> = n.addresses.iter().map(String::as_str).collect();
    assert_eq!(
        addrs,
        ["10.0.0.7", "a7"],
        "kubelet SANs, not every interface"
    );
    assert_eq!(
        n.roles,
        roles(&[Role::Agent]),
        "rke2-agent is the active unit"
    );
}

#[test]
fn two_bundles_of_one_cluster_keep_the_newest_objects() {
    let older = bundle().done();
    let newer = bundle()
        .file(
            &format!("{TOP}metadata.yaml"),
            METADATA.replace("2026-11-20T10:05:00Z", "2026-11-20T18:00:00Z"),
        )
        .file(
            &format!("{TOP}yamls/cluster/harvesterhci.io/v1beta1/settings.yaml"),
            "apiVersion: v1\nitems:\n- apiVersion: harvesterhci.io/v1beta1\n  kind: Setting\n  metadata:\n    name: server-version\n  value: v1.5.0\nkind: List\n",
        );
    let mut newer = newer.0;
    newer.name = "newer.zip".into();
    let s = run(vec![older, (newer, None)]);
    assert_eq!(s.refused, None);
    let versions: Vec<_> = s
        .objects_of("Setting")
        .filter(|o| o.name == "server-version")
        .map(|o| (o.input, o.str_at(&["value"]).unwrap_or("")))
        .collect();
    assert_eq!(versions, [(1, "v1.5.0")]);
    assert_eq!(s.cluster.harvester_version.as_deref(), Some("v1.5.0"));
    assert_eq!(s.objects_of("Node").count(), 4);
    let cp1 = &s.nodes["cp1"];
    assert_eq!(cp1.inputs, [0, 1].into_iter().collect());
    assert_eq!(
        cp1.object.and_then(|i| s.objects.get(i)).map(|o| o.input),
        Some(1)
    );
    // Settings only in the older bundle stay.
    assert!(s.object("Setting", None, "http-proxy").is_some());
}

#[test]
fn odd_paths_never_panic() {
    use harrow::ingest::Selector;
    let odd = [
        "",
        "/",
        "//",
        "!",
        "!!",
        "a!",
        "!b",
        "nodes/.zip",
        "nodes/x.zip!",
        "nodes/x.zip!x",
        "nodes/x.zip!/",
        "nodes/x.zip!x/scc/a.txz!",
        "yamls",
        "yamls/cluster",
        "yamls/namespaced/ns",
        "yamls/cluster/v1/.yaml",
        "var/lib/rancher/rke2",
        "var/lib/rancher/rke2/agent",
        "etc/rancher",
        "é/ü/var/lib/rancher/rke2/server/tls/ä.crt",
        "metadata.yaml/x",
        "snapshot.yaml",
        "commands/.txt",
        "logs/harvester-system/harvester-",
    ];
    let mut t = Tree::new("odd.tar");
    for p in odd {
        let _ = harrow::snapshot::AnalysisSelector::default().want(p);
        t = t.file(p, b"\xff\xfe: [").seen(p).log(p, 0, true);
    }
    let s = run(vec![t.done(), Tree::new("empty").done()]);
    assert_eq!(s.inputs.len(), 2);
}
