//! The `yamls/` part of a synthetic bundle: `kind: List` documents in the support-bundle kit's
//! style (sorted keys, explicit apiVersion/kind per item, `continue: "null"`), sized like a
//! mid-size Harvester cluster: a 5-node `v1/nodes.yaml`, a ≈1.7 MB `cattle-dashboards`
//! configmaps list, a ≈2 MB CRD list, settings, per-namespace configmaps with `kube-root-ca.crt`,
//! and per-namespace pod lists.

use crate::certs::{CertSpec, cert_pem};
use crate::clock::BUNDLE_CREATED;
use crate::rng::Rng;
use std::fmt::Write as _;

/// A namespace and its pods, each with its container names.
pub type NamespacePods = (String, Vec<(String, Vec<String>)>);

/// One YAML file: path below `yamls/` and its text.
pub struct YamlFile {
    pub path: String,
    pub text: String,
}

fn list(items: &str, rv: u64) -> String {
    format!(
        "apiVersion: v1\nitems:\n{items}kind: List\nmetadata:\n  continue: \"null\"\n  resourceVersion: \"{rv}\"\n"
    )
}

fn indent(text: &str, by: usize) -> String {
    let pad = " ".repeat(by);
    text.lines().map(|l| format!("{pad}{l}\n")).collect()
}

/// Node names of the synthetic cluster; n1–n3 are control-plane, n4–n5 workers.
pub const NODES: [&str; 5] = ["n1", "n2", "n3", "n4", "n5"];

fn nodes_yaml(rng: &mut Rng) -> String {
    let mut items = String::new();
    for (i, n) in NODES.iter().enumerate() {
        let cp = i < 3;
        let mut images = String::new();
        for k in 0..120 {
            let _ = write!(
                images,
                "    - names:\n      - registry.suse.com/harvester/image-{k}@sha256:{}\n      - registry.suse.com/harvester/image-{k}:v1.7.{}\n      sizeBytes: {}.{}e+0{}\n",
                rng.hex(64),
                k % 5,
                1 + rng.below(9),
                rng.below(1_000_000),
                7 + rng.below(2)
            );
        }
        let roles = if cp {
            "      node-role.kubernetes.io/control-plane: \"true\"\n      node-role.kubernetes.io/etcd: \"true\"\n"
        } else {
            ""
        };
        let _ = write!(
            items,
            "- apiVersion: v1\n  kind: Node\n  metadata:\n    annotations:\n      rke2.io/hostname: {n}\n      rke2.io/internal-ip: 192.168.10.1{i}\n      rke2.io/node-args: '[\"{}\",\"--token\",\"********\"]'\n      harvesterhci.io/promote-status: complete\n    creationTimestamp: \"2026-01-0{}T10:00:00Z\"\n    labels:\n      harvesterhci.io/managed: \"true\"\n      kubernetes.io/hostname: {n}\n{roles}    name: {n}\n    resourceVersion: \"{}\"\n    uid: {}-0000-4000-8000-{}\n  spec:\n    podCIDR: 10.52.{i}.0/24\n    providerID: rke2://{n}\n  status:\n    addresses:\n    - address: 192.168.10.1{i}\n      type: InternalIP\n    - address: {n}\n      type: Hostname\n    allocatable:\n      cpu: \"32\"\n      memory: 131072Mi\n    conditions:\n    - lastHeartbeatTime: \"2026-11-19T21:59:00Z\"\n      message: kubelet is posting ready status\n      reason: KubeletReady\n      status: \"True\"\n      type: Ready\n    images:\n{images}    nodeInfo:\n      architecture: amd64\n      containerRuntimeVersion: containerd://2.1.4-k3s1\n      kernelVersion: 6.4.0-36-default\n      kubeletVersion: v1.34.2+rke2r1\n      osImage: Harvester v1.7.0\n",
            if cp { "server" } else { "agent" },
            i + 1,
            10_000 + rng.below(90_000),
            rng.hex(8),
            rng.hex(12)
        );
    }
    list(&items, 14_443)
}

/// A YAML double-quoted scalar holding `text`.
fn yaml_quoted(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + text.len() / 8 + 2);
    out.push('"');
    for ch in text.chars() {
        match ch {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn dashboards_yaml(rng: &mut Rng) -> String {
    let mut items = String::new();
    let mut n = 0;
    while items.len() < 1_700_000 {
        let mut json = String::from("{\"panels\":[");
        for p in 0..60 {
            if p > 0 {
                json.push(',');
            }
            let _ = write!(
                json,
                "{{\"datasource\":\"Prometheus\",\"gridPos\":{{\"h\":8,\"w\":12,\"x\":{},\"y\":{}}},\"id\":{p},\"targets\":[{{\"expr\":\"sum(rate(container_cpu_usage_seconds_total{{namespace=~\\\"$namespace\\\",pod=~\\\"$pod-{}\\\"}}[5m])) by (pod)\",\"legendFormat\":\"{{{{pod}}}}\",\"refId\":\"A\"}}],\"title\":\"CPU usage {}\",\"type\":\"timeseries\"}}",
                (p % 2) * 12,
                p * 8,
                rng.hex(4),
                rng.hex(6)
            );
        }
        let _ = write!(json, "],\"title\":\"Harvester dashboard {n}\"}}");
        let _ = write!(
            items,
            "- apiVersion: v1\n  data:\n    dashboard-{n}.json: {}\n  kind: ConfigMap\n  metadata:\n    labels:\n      grafana_dashboard: \"1\"\n    name: rancher-default-dashboards-{n}\n    namespace: cattle-dashboards\n    resourceVersion: \"{}\"\n",
            yaml_quoted(&json),
            rng.below(100_000)
        );
        n += 1;
    }
    list(&items, 14_443)
}

fn crds_yaml(rng: &mut Rng) -> String {
    let mut items = String::new();
    let mut n = 0;
    while items.len() < 2_000_000 {
        let mut props = String::new();
        for p in 0..40 {
            let _ = write!(
                props,
                "                  field{p}{}:\n                    description: Field {p} of the spec; see the upstream API reference for details.\n                    type: {}\n",
                rng.hex(4),
                rng.pick(&["string", "integer", "boolean"])
            );
        }
        let _ = write!(
            items,
            "- apiVersion: apiextensions.k8s.io/v1\n  kind: CustomResourceDefinition\n  metadata:\n    name: kind{n}s.example{}.cattle.io\n  spec:\n    group: example{}.cattle.io\n    names:\n      kind: Kind{n}\n      plural: kind{n}s\n    scope: Namespaced\n    versions:\n    - name: v1\n      schema:\n        openAPIV3Schema:\n          properties:\n            spec:\n              properties:\n                inner:\n                  properties:\n{props}          type: object\n      served: true\n      storage: true\n",
            n % 20,
            n % 20
        );
        n += 1;
    }
    list(&items, 14_443)
}

fn settings_yaml() -> String {
    let settings = [
        (
            "auto-rotate-rke2-certs",
            "'{\"enable\":false,\"expiringInHours\":240}'",
        ),
        ("server-version", "v1.7.0"),
        (
            "ntp-servers",
            "'{\"ntpServers\":[\"0.suse.pool.ntp.org\"]}'",
        ),
        ("http-proxy", "'{}'"),
        ("log-level", "info"),
        (
            "backup-target",
            "'{\"type\":\"nfs\",\"endpoint\":\"nfs://192.168.10.200:/backups\"}'",
        ),
        (
            "overcommit-config",
            "'{\"cpu\":1600,\"memory\":150,\"storage\":200}'",
        ),
    ];
    let mut items = String::new();
    for (name, value) in settings {
        let _ = write!(
            items,
            "- apiVersion: harvesterhci.io/v1beta1\n  default: {value}\n  kind: Setting\n  metadata:\n    name: {name}\n    resourceVersion: \"1234\"\n  status: {{}}\n"
        );
    }
    list(&items, 14_443)
}

fn configmaps_with_root_ca(ns: &str, ca_pem: &str) -> String {
    let item = format!(
        "- apiVersion: v1\n  data:\n    ca.crt: |\n{}  kind: ConfigMap\n  metadata:\n    name: kube-root-ca.crt\n    namespace: {ns}\n    resourceVersion: \"310\"\n",
        indent(ca_pem, 6)
    );
    list(&item, 14_443)
}

/// Pod list for one namespace: `(pod, containers)` pairs.
fn pods_yaml(ns: &str, pods: &[(String, Vec<String>)], nodes_cycle: usize) -> String {
    let mut items = String::new();
    for (i, (pod, containers)) in pods.iter().enumerate() {
        let mut cs = String::new();
        let mut st = String::new();
        for c in containers {
            let _ = write!(
                cs,
                "    - image: registry.suse.com/harvester/{c}:v1.7.0\n      imagePullPolicy: IfNotPresent\n      name: {c}\n      resources: {{}}\n"
            );
            let _ = write!(
                st,
                "    - containerID: containerd://{:064x}\n      image: registry.suse.com/harvester/{c}:v1.7.0\n      name: {c}\n      ready: true\n      restartCount: 0\n      started: true\n      state:\n        running:\n          startedAt: \"2026-11-01T08:00:00Z\"\n",
                i * 131 + c.len()
            );
        }
        let _ = write!(
            items,
            "- apiVersion: v1\n  kind: Pod\n  metadata:\n    name: {pod}\n    namespace: {ns}\n    resourceVersion: \"{}\"\n  spec:\n    containers:\n{cs}    nodeName: {}\n  status:\n    containerStatuses:\n{st}    phase: Running\n",
            5000 + i,
            NODES[(i + nodes_cycle) % NODES.len()]
        );
    }
    list(&items, 14_443)
}

/// All YAML files of the bundle; `pods` maps namespace → pods with their containers.
pub fn all(pods: &[NamespacePods]) -> Vec<YamlFile> {
    let mut rng = Rng::new(0x7A31, 3);
    let created = BUNDLE_CREATED - 300 * 86_400;
    let root_ca = cert_pem(
        &CertSpec {
            subject_cn: &format!("rke2-server-ca@{created}"),
            subject_o: None,
            issuer_cn: &format!("rke2-server-ca@{created}"),
            not_before: created,
            not_after: created + 3650 * 86_400,
            is_ca: true,
        },
        &mut rng,
    );
    let mut files = vec![
        YamlFile {
            path: "cluster/v1/nodes.yaml".into(),
            text: nodes_yaml(&mut rng),
        },
        YamlFile {
            path: "cluster/apiextensions.k8s.io/v1/customresourcedefinitions.yaml".into(),
            text: crds_yaml(&mut rng),
        },
        YamlFile {
            path: "cluster/harvesterhci.io/v1beta1/settings.yaml".into(),
            text: settings_yaml(),
        },
        YamlFile {
            path: "namespaced/cattle-dashboards/v1/configmaps.yaml".into(),
            text: dashboards_yaml(&mut rng),
        },
    ];
    for (k, (ns, ns_pods)) in pods.iter().enumerate() {
        files.push(YamlFile {
            path: format!("namespaced/{ns}/v1/configmaps.yaml"),
            text: configmaps_with_root_ca(ns, &root_ca),
        });
        files.push(YamlFile {
            path: format!("namespaced/{ns}/v1/pods.yaml"),
            text: pods_yaml(ns, ns_pods, k),
        });
    }
    files
}
