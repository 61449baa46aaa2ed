//! `bundle` mode: a synthetic Harvester support bundle zip, mostly pod logs.
//!
//! Pod-log bodies come from a handful of templates (four sizes × three log styles), each deflated
//! once into an in-memory template archive and then raw-copied (`ZipWriter::raw_copy_file_rename`)
//! under every pod-log name that uses it: writing a 1 GiB bundle costs one pass of deflate over
//! ≈0.5 GiB of text plus a 1 GiB file copy, not 40 GiB of deflate. Node zips and YAMLs are
//! generated and compressed normally. See `docs/performance.md` for the exact content mix.

use crate::clock::{BUNDLE_CREATED, civil};
use crate::logs::{Style, journal_log, pod_log};
use crate::rng::Rng;
use crate::yamls::{self, NODES, NamespacePods};
use std::collections::BTreeMap;
use std::io::{self, Cursor, Seek, Write};
use std::path::Path;
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, DateTime, ZipArchive, ZipWriter};

/// Size class of a pod log (uncompressed bytes).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Tier {
    S,
    M,
    L,
    Xl,
}

impl Tier {
    /// Uncompressed size of this tier's template.
    pub fn bytes(self) -> usize {
        match self {
            Tier::S => 1 << 20,
            Tier::M => 8 << 20,
            Tier::L => 64 << 20,
            Tier::Xl => 256 << 20,
        }
    }
}

const ALL_TEMPLATES: &[(Tier, Style)] = &[
    (Tier::S, Style::Logrus),
    (Tier::S, Style::Klog),
    (Tier::S, Style::Json),
    (Tier::M, Style::Logrus),
    (Tier::M, Style::Klog),
    (Tier::M, Style::Json),
    (Tier::L, Style::Logrus),
    (Tier::L, Style::Klog),
    (Tier::L, Style::Json),
    (Tier::Xl, Style::Logrus),
];

fn template_name(tier: Tier, style: Style) -> String {
    format!("{tier:?}-{style:?}")
}

/// How a workload's pods are named and placed.
#[derive(Clone, Copy)]
enum Kind {
    /// `name-<rs>-<5>` × replicas.
    Deploy(usize),
    /// `name-<5>` on every node.
    DaemonSet,
    /// `name-<node>` on the three control-plane nodes.
    Static,
    /// `name-0`.
    StatefulSet,
}

use Style::{Json as J, Klog as K, Logrus as G};
use Tier::{L, M, S, Xl};

/// `(namespace, workload, kind, [(container, style, tier)], restarted)`. Order matters: when the
/// size budget is small, later entries are the ones left out.
type Workload = (
    &'static str,
    &'static str,
    Kind,
    &'static [(&'static str, Style, Tier)],
    bool,
);

#[rustfmt::skip]
const CATALOG: &[Workload] = &[
    ("harvester-system", "harvester", Kind::Deploy(3), &[("apiserver", G, L)], false),
    ("harvester-system", "harvester-webhook", Kind::Deploy(3), &[("harvester-webhook", G, M)], false),
    ("harvester-system", "virt-controller", Kind::Deploy(2), &[("virt-controller", K, L)], false),
    ("harvester-system", "virt-handler", Kind::DaemonSet, &[("virt-handler", K, L)], false),
    ("longhorn-system", "longhorn-manager", Kind::DaemonSet, &[("longhorn-manager", G, Xl), ("pre-pull-share-manager-image", G, S)], false),
    ("cattle-system", "rancher", Kind::Deploy(1), &[("rancher", G, Xl)], true),
    ("kube-system", "kube-apiserver", Kind::Static, &[("kube-apiserver", K, L)], false),
    ("kube-system", "kube-controller-manager", Kind::Static, &[("kube-controller-manager", K, L)], true),
    ("kube-system", "etcd", Kind::Static, &[("etcd", J, L)], false),
    ("longhorn-system", "instance-manager", Kind::DaemonSet, &[("instance-manager", G, L)], false),
    ("cattle-fleet-local-system", "fleet-agent", Kind::Deploy(1), &[("fleet-agent", J, L)], false),
    ("cattle-fleet-system", "fleet-controller", Kind::Deploy(1), &[("fleet-controller", J, L), ("fleet-cleanup", J, S), ("fleet-agentmanagement", J, S)], false),
    ("harvester-system", "harvester-network-controller", Kind::DaemonSet, &[("harvester-network", G, S)], false),
    ("harvester-system", "harvester-network-controller-manager", Kind::Deploy(2), &[("harvester-network-manager", G, M)], false),
    ("harvester-system", "harvester-node-manager", Kind::DaemonSet, &[("node-manager", G, M)], false),
    ("harvester-system", "harvester-node-disk-manager", Kind::DaemonSet, &[("harvester-node-disk-manager", G, M)], false),
    ("harvester-system", "harvester-load-balancer", Kind::Deploy(1), &[("harvester-load-balancer", G, S)], false),
    ("harvester-system", "harvester-pcidevices-controller", Kind::DaemonSet, &[("agent", G, S)], false),
    ("harvester-system", "kube-vip", Kind::Static, &[("kube-vip", G, S)], false),
    ("harvester-system", "virt-api", Kind::Deploy(2), &[("virt-api", K, M)], false),
    ("harvester-system", "virt-operator", Kind::Deploy(2), &[("virt-operator", K, M)], false),
    ("harvester-system", "cdi-deployment", Kind::Deploy(1), &[("cdi-deployment", K, M)], false),
    ("harvester-system", "cdi-apiserver", Kind::Deploy(1), &[("cdi-apiserver", K, S)], true),
    ("harvester-system", "cdi-operator", Kind::Deploy(1), &[("cdi-operator", K, S)], false),
    ("longhorn-system", "longhorn-driver-deployer", Kind::Deploy(1), &[("longhorn-driver-deployer", G, S)], false),
    ("longhorn-system", "csi-attacher", Kind::Deploy(3), &[("csi-attacher", K, M)], false),
    ("longhorn-system", "csi-provisioner", Kind::Deploy(3), &[("csi-provisioner", K, M)], false),
    ("longhorn-system", "csi-resizer", Kind::Deploy(3), &[("csi-resizer", K, S)], false),
    ("longhorn-system", "csi-snapshotter", Kind::Deploy(3), &[("csi-snapshotter", K, S)], false),
    ("longhorn-system", "longhorn-csi-plugin", Kind::DaemonSet, &[("node-driver-registrar", K, S), ("longhorn-liveness-probe", K, S), ("longhorn-csi-plugin", G, M)], false),
    ("longhorn-system", "engine-image-ei-db6c2b6f", Kind::DaemonSet, &[("engine-image-ei-db6c2b6f", G, S)], false),
    ("longhorn-system", "longhorn-ui", Kind::Deploy(2), &[("longhorn-ui", G, S)], false),
    ("cattle-system", "rancher-webhook", Kind::Deploy(1), &[("rancher-webhook", G, M)], false),
    ("cattle-system", "system-upgrade-controller", Kind::Deploy(1), &[("system-upgrade-controller", G, S)], false),
    ("kube-system", "kube-scheduler", Kind::Static, &[("kube-scheduler", K, M)], false),
    ("kube-system", "cloud-controller-manager", Kind::Static, &[("cloud-controller-manager", K, S)], false),
    ("kube-system", "kube-proxy", Kind::DaemonSet, &[("kube-proxy", K, S)], false),
    ("kube-system", "rke2-canal", Kind::DaemonSet, &[("calico-node", K, M), ("kube-flannel", K, S)], false),
    ("kube-system", "rke2-multus", Kind::DaemonSet, &[("kube-rke2-multus", K, S)], false),
    ("kube-system", "rke2-coredns-rke2-coredns", Kind::Deploy(2), &[("coredns", K, S)], false),
    ("kube-system", "rke2-ingress-nginx-controller", Kind::DaemonSet, &[("rke2-ingress-nginx-controller", K, M)], false),
    ("kube-system", "rke2-metrics-server", Kind::Deploy(1), &[("metrics-server", K, M)], false),
    ("kube-system", "snapshot-controller", Kind::Deploy(2), &[("snapshot-controller", K, S)], false),
    ("kube-system", "harvester-whereabouts", Kind::DaemonSet, &[("whereabouts", K, S)], false),
    ("cattle-fleet-system", "gitjob", Kind::Deploy(1), &[("gitjob", J, S)], false),
    ("cattle-monitoring-system", "prometheus-rancher-monitoring-prometheus", Kind::StatefulSet, &[("prometheus", J, M), ("config-reloader", K, S)], false),
    ("cattle-monitoring-system", "alertmanager-rancher-monitoring-alertmanager", Kind::StatefulSet, &[("alertmanager", J, S), ("config-reloader", K, S)], false),
    ("cattle-monitoring-system", "rancher-monitoring-grafana", Kind::Deploy(1), &[("grafana", J, S), ("grafana-sc-dashboard", J, S)], false),
    ("cattle-monitoring-system", "rancher-monitoring-operator", Kind::Deploy(1), &[("rancher-monitoring", J, M)], false),
    ("cattle-monitoring-system", "rancher-monitoring-prometheus-node-exporter", Kind::DaemonSet, &[("node-exporter", K, S)], false),
    ("cattle-monitoring-system", "rancher-monitoring-kube-state-metrics", Kind::Deploy(1), &[("kube-state-metrics", K, S)], false),
    ("cattle-logging-system", "rancher-logging", Kind::Deploy(1), &[("rancher-logging", J, S)], false),
    ("cattle-logging-system", "rancher-logging-root-fluentbit", Kind::DaemonSet, &[("fluent-bit", J, S)], false),
];

/// Containers of each VM's `virt-launcher` pod in `default`, which fill the rest of the budget.
const VM_CONTAINERS: &[(&str, Style, Tier)] = &[("compute", J, L), ("guest-console-log", K, S)];

/// One planned pod-log entry.
struct LogEntry {
    path: String,
    tier: Tier,
    style: Style,
}

/// What the generator wrote, for the summary.
#[derive(Default, Debug)]
pub struct BundleStats {
    pub pod_logs: BTreeMap<String, (u64, u64, u64)>,
    pub pod_log_entries: u64,
    pub pod_log_compressed: u64,
    pub pod_log_uncompressed: u64,
    pub vm_pods: u64,
    pub node_zip_bytes: u64,
    pub node_log_uncompressed: u64,
    pub yaml_uncompressed: u64,
    pub yaml_files: u64,
    pub total_bytes: u64,
}

fn zip_time() -> DateTime {
    let c = civil(BUNDLE_CREATED);
    DateTime::from_date_and_time(
        c.year as u16,
        c.month as u8,
        c.day as u8,
        c.hour as u8,
        c.min as u8,
        c.sec as u8,
    )
    .unwrap_or_default()
}

fn deflated() -> SimpleFileOptions {
    SimpleFileOptions::default()
        .compression_method(CompressionMethod::Deflated)
        .compression_level(Some(6))
        .last_modified_time(zip_time())
        .unix_permissions(0o644)
}

fn dir_options() -> SimpleFileOptions {
    SimpleFileOptions::default()
        .last_modified_time(zip_time())
        .unix_permissions(0o755)
}

/// Build the template archive: every (tier, style) body deflated once.
fn build_templates() -> zip::result::ZipResult<ZipArchive<Cursor<Vec<u8>>>> {
    let mut w = ZipWriter::new(Cursor::new(Vec::new()));
    for (i, &(tier, style)) in ALL_TEMPLATES.iter().enumerate() {
        let body = pod_log(style, 0xB0D1 + i as u64, tier.bytes());
        w.start_file(template_name(tier, style), deflated())?;
        w.write_all(&body)?;
    }
    w.finish_into_readable()
}

/// The planned pod logs, in order, and the per-namespace pod lists for `pods.yaml`.
fn plan(
    budget: u64,
    compressed: &BTreeMap<String, u64>,
    root: &str,
    stats: &mut BundleStats,
) -> (Vec<LogEntry>, Vec<NamespacePods>) {
    let mut rng = Rng::new(0x9A7E, 7);
    let mut entries = Vec::new();
    let mut pods: BTreeMap<&str, Vec<(String, Vec<String>)>> = BTreeMap::new();
    let mut used = 0u64;
    let cost = |tier: Tier, style: Style| compressed[&template_name(tier, style)];
    for &(ns, name, kind, containers, restarted) in CATALOG {
        let pod_names: Vec<String> = match kind {
            Kind::Deploy(n) => {
                let rs = rng.k8s_suffix(10);
                (0..n)
                    .map(|_| format!("{name}-{rs}-{}", rng.k8s_suffix(5)))
                    .collect()
            }
            Kind::DaemonSet if name == "instance-manager" => NODES
                .iter()
                .map(|_| format!("{name}-{}", rng.hex(32)))
                .collect(),
            Kind::DaemonSet => NODES
                .iter()
                .map(|_| format!("{name}-{}", rng.k8s_suffix(5)))
                .collect(),
            Kind::Static => NODES[..3].iter().map(|n| format!("{name}-{n}")).collect(),
            Kind::StatefulSet => vec![format!("{name}-0")],
        };
        for pod in pod_names {
            for &(c, style, tier) in containers {
                let mut suffixes = vec![".log"];
                if restarted {
                    suffixes.push(".log.1");
                }
                for sfx in suffixes {
                    if used + cost(tier, style) > budget {
                        continue;
                    }
                    used += cost(tier, style);
                    entries.push(LogEntry {
                        path: format!("{root}/logs/{ns}/{pod}/{c}{sfx}"),
                        tier,
                        style,
                    });
                }
            }
            pods.entry(ns)
                .or_default()
                .push((pod, containers.iter().map(|c| c.0.to_string()).collect()));
        }
    }
    let vm_cost: u64 = VM_CONTAINERS.iter().map(|&(_, s, t)| cost(t, s)).sum();
    let mut vm = 0u64;
    while used + vm_cost <= budget {
        let pod = format!("virt-launcher-vm-{vm:04}-{}", rng.k8s_suffix(5));
        for &(c, style, tier) in VM_CONTAINERS {
            entries.push(LogEntry {
                path: format!("{root}/logs/default/{pod}/{c}.log"),
                tier,
                style,
            });
        }
        used += vm_cost;
        pods.entry("default")
            .or_default()
            .push((pod, VM_CONTAINERS.iter().map(|c| c.0.to_string()).collect()));
        vm += 1;
    }
    stats.vm_pods = vm;
    let pods = pods
        .into_iter()
        .map(|(ns, p)| (ns.to_string(), p))
        .collect();
    (entries, pods)
}

/// One node's `nodes/<node>.zip`, with `<node>/` as its single top directory.
fn node_zip(index: usize, node: &str, stats: &mut BundleStats) -> zip::result::ZipResult<Vec<u8>> {
    let mut w = ZipWriter::new(Cursor::new(Vec::new()));
    let server = index < 3;
    for d in [
        "",
        "logs/",
        "configs/",
        "configs/etc/",
        "configs/etc/rancher/",
        "configs/etc/rancher/rke2/",
        "configs/etc/rancher/rke2/config.yaml.d/",
        "configs/etc/rancher/rancherd/",
        "configs/oem/",
    ] {
        w.add_directory(format!("{node}/{d}"), dir_options())?;
    }
    let seed = 0x40DE + index as u64;
    let rke2_unit = if server { "rke2-server" } else { "rke2-agent" };
    // (file, unit, size, capped by `tail -c 10m`)
    let logs: &[(&str, &str, usize, bool)] = &[
        (
            if server {
                "rke2-server.log"
            } else {
                "rke2-agent.log"
            },
            rke2_unit,
            10 << 20,
            true,
        ),
        ("rancherd.log", "rancherd", 1 << 20, false),
        (
            "rancher-system-agent.log",
            "rancher-system-agent",
            2 << 20,
            false,
        ),
        ("kubelet.log", "kubelet", 8 << 20, false),
        ("containerd.log", "containerd", 2 << 20, false),
        ("kernel.log", "kernel", 6 << 20, false),
        ("kernel.log.1", "kernel", 2 << 20, false),
        ("NetworkManager.log", "NetworkManager", 512 << 10, false),
        ("iscsid.log", "iscsid", 64 << 10, false),
        ("console.log", "console", 64 << 10, false),
    ];
    for (k, &(file, unit, size, capped)) in logs.iter().enumerate() {
        let body = journal_log(node, unit, seed * 64 + k as u64, size, capped);
        stats.node_log_uncompressed += body.len() as u64;
        w.start_file(format!("{node}/logs/{file}"), deflated())?;
        w.write_all(&body)?;
    }
    let mut images = String::from(
        "REF                                                     TYPE                                                 DIGEST   SIZE      PLATFORMS   LABELS\n",
    );
    let mut rng = Rng::new(seed, 99);
    for k in 0..120 {
        images.push_str(&format!("registry.suse.com/harvester/image-{k}:v1.7.{} application/vnd.oci.image.index.v1+json sha256:{} {}.{} MiB linux/amd64 io.cri-containerd.image=managed\n", k % 5, rng.hex(64), 1 + rng.below(500), rng.below(10)));
    }
    let role_file = if server {
        "90-harvester-server.yaml"
    } else {
        "90-harvester-agent.yaml"
    };
    let configs: Vec<(String, String)> = vec![
        ("logs/containerd-images.log".into(), images),
        ("configs/etc/hostname".into(), format!("{node}\n")),
        ("configs/etc/os-release".into(), "NAME=\"SL-Micro\"\nVERSION=\"6.1\"\nID=\"sl-micro\"\nPRETTY_NAME=\"Harvester v1.7.0\"\n".into()),
        ("configs/etc/harvester-release.yaml".into(), "harvester: v1.7.0\nharvesterChart: 1.7.0\nos: Harvester v1.7.0\nkubernetes: v1.34.2+rke2r1\nrancher: v2.13.0\nmonitoringChart: 105.1.2+up61.3.2\n".into()),
        (format!("configs/etc/rancher/rke2/config.yaml.d/{role_file}"), format!("# Note: this file is re-formatted by support-bundle-kit collector.\ncni: multus,canal\ncluster-cidr: 10.52.0.0/16\nservice-cidr: 10.53.0.0/16\ntoken: '***'\nnode-name: {node}\n")),
        ("configs/etc/rancher/rke2/config.yaml.d/50-rancher.yaml".into(), "# Note: this file is re-formatted by support-bundle-kit collector.\nkubelet-arg:\n  - max-pods=200\nnode-label:\n  - harvesterhci.io/managed=true\n".into()),
        ("configs/etc/rancher/rke2/registries.yaml".into(), "# Note: this file is re-formatted by support-bundle-kit collector.\nmirrors: {}\nconfigs: {}\n".into()),
        ("configs/etc/rancher/rancherd/config.yaml".into(), format!("# Note: this file is re-formatted by support-bundle-kit collector.\nrole: {}\nkubernetesVersion: v1.34.2+rke2r1\nrancherVersion: v2.13.0\ntoken: '***'\nserver: https://192.168.10.10:443\n", if index == 0 { "cluster-init" } else if server { "server" } else { "agent" })),
        ("configs/oem/90_custom.yaml".into(), format!("name: Harvester Configuration\nstages:\n  initramfs:\n  - hostname: {node}\n    users:\n      rancher:\n        passwd: '***'\n")),
        ("configs/oem/harvester.config".into(), format!("# Note: this file is re-formatted by support-bundle-kit collector.\nos:\n  hostname: {node}\n  password: '***'\ninstall:\n  mode: {}\n  managementInterface:\n    interfaces:\n      - name: eno1\n", if index == 0 { "create" } else { "join" })),
    ];
    for (path, text) in configs {
        w.start_file(format!("{node}/{path}"), deflated())?;
        w.write_all(text.as_bytes())?;
    }
    Ok(w.finish()?.into_inner())
}

/// Write the bundle zip to `out`, aiming at `size` bytes in total.
pub fn write_bundle(out: &Path, size: u64) -> zip::result::ZipResult<BundleStats> {
    let mut stats = BundleStats::default();
    let root = "supportbundle_c06e4a42-d16c-4e90-8041-67c6f532e9d1_2026-11-19T22-00-00Z";
    let file = io::BufWriter::with_capacity(4 << 20, std::fs::File::create(out)?);
    let mut w = ZipWriter::new(file);

    let mut node_zips = Vec::new();
    for (i, node) in NODES.iter().enumerate() {
        node_zips.push(node_zip(i, node, &mut stats)?);
    }
    stats.node_zip_bytes = node_zips.iter().map(|z| z.len() as u64).sum();

    let mut templates = build_templates()?;
    let mut compressed = BTreeMap::new();
    let mut uncompressed = BTreeMap::new();
    for i in 0..templates.len() {
        let f = templates.by_index_raw(i)?;
        let name = f.name()?.to_string();
        compressed.insert(name.clone(), f.compressed_size());
        uncompressed.insert(name, f.size());
    }

    // Everything but pod logs: node zips, YAMLs (≈7 MB, ≈0.5 MB compressed), small root files,
    // plus per-entry header overhead of the pod logs (≈200 bytes each).
    let fixed = stats.node_zip_bytes + 700_000;
    let budget = size.saturating_sub(fixed);
    let (entries, pods) = plan(budget, &compressed, root, &mut stats);

    w.add_directory(format!("{root}/"), dir_options())?;
    w.start_file(format!("{root}/metadata.yaml"), deflated())?;
    w.write_all(b"bundlename: bundle-bench-v1.7.0-x7q2k\nbundleversion: 0.1.0\nkubernetesversion: v1.34.2+rke2r1\nprojectnamespaceuuid: c06e4a42-d16c-4e90-8041-67c6f532e9d1\nbundlecreatedat: \"2026-11-19T22:00:00Z\"\nissueurl: \"\"\nissuedescription: synthetic benchmark bundle (harrow benchgen)\n")?;
    w.start_file(format!("{root}/bundleGenerationError.log"), deflated())?;
    w.write_all(b"Failed to get /apis/authentication.k8s.io/v1/tokenreviews: the server does not allow this method on the requested resource\nFailed to get /apis/authorization.k8s.io/v1/subjectaccessreviews: the server does not allow this method on the requested resource\n")?;

    let mut dirs = std::collections::BTreeSet::new();
    let mut add_dirs = |w: &mut ZipWriter<_>, path: &str| -> zip::result::ZipResult<()> {
        let mut end = 0;
        while let Some(pos) = path[end..].find('/') {
            end += pos + 1;
            let d = &path[..end];
            if d.len() > root.len() + 1 && dirs.insert(d.to_string()) {
                w.add_directory(d, dir_options())?;
            }
        }
        Ok(())
    };

    for y in yamls::all(&pods) {
        let path = format!("{root}/yamls/{}", y.path);
        add_dirs(&mut w, &path)?;
        stats.yaml_files += 1;
        stats.yaml_uncompressed += y.text.len() as u64;
        w.start_file(path, deflated())?;
        w.write_all(y.text.as_bytes())?;
    }

    for e in &entries {
        add_dirs(&mut w, &e.path)?;
        let name = template_name(e.tier, e.style);
        let t = templates.by_name(&name)?;
        w.raw_copy_file_rename(t, &e.path)?;
        let c = compressed[&name];
        let u = uncompressed[&name];
        let slot = stats.pod_logs.entry(name).or_default();
        slot.0 += 1;
        slot.1 += c;
        slot.2 += u;
        stats.pod_log_entries += 1;
        stats.pod_log_compressed += c;
        stats.pod_log_uncompressed += u;
    }

    let stored = SimpleFileOptions::default()
        .compression_method(CompressionMethod::Stored)
        .last_modified_time(zip_time())
        .unix_permissions(0o644);
    add_dirs(&mut w, &format!("{root}/nodes/x"))?;
    for (node, z) in NODES.iter().zip(&node_zips) {
        w.start_file(format!("{root}/nodes/{node}.zip"), stored)?;
        w.write_all(z)?;
    }
    let mut file = w.finish()?;
    file.flush()?;
    let mut inner = file.into_inner().map_err(|e| e.into_error())?;
    stats.total_bytes = inner.stream_position()?;
    Ok(stats)
}
