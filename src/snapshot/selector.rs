//! [`AnalysisSelector`]: which entries of a bundle or node snapshot the analysis needs, decided
//! from the logical path alone, under any leading prefix (`./`, `node1/`, `host/`, the bundle's
//! top folder, a node zip's `<node>/configs/`).
//!
//! - **Load** (read into memory, charged): bundle `metadata.yaml` and `bundleGenerationError.log`;
//!   the `yamls/` lists of [`YAML_WHITELIST`]; everything under a node zip's `configs/`; node host
//!   paths by the layout's areas that the rules' needs name ([`HOST_AREAS`],
//!   [`AnalysisSelector::for_needs`], declared in [`crate::layout::area`]): rke2
//!   `server/` except `db/`, `manifests/`, `static/` (charts) and
//!   `logs/` (audit logs); the files directly in rke2 `agent/` plus its
//!   `pod-manifests/`, `etc/` and `tls-*/` backups (not `containerd/`, `images/`, `logs/`);
//!   `opt/rke2/server/**` (staged custom CA material); `etc/rancher/**`; `oem/**`; `etc/passwd`,
//!   `etc/group`, `etc/hostname`, `etc/os-release`, `etc/harvester-release.yaml`,
//!   `etc/sysctl.conf`, `etc/sysctl.d/*.conf`; rke2 unit environment files
//!   (`{etc,usr/local/lib,usr/lib}/systemd/system/rke2-*.env`, `etc/default/rke2-*`,
//!   `etc/sysconfig/rke2-*`); a node snapshot's `snapshot.yaml` and `commands/*.txt`; from a
//!   supportconfig archive `etc.txt`, `basic-environment.txt` and `memory.txt`.
//! - **Scan** (streamed for [`NEEDLES`]): node logs `rke2-server.log`, `rke2-agent.log`,
//!   `rancherd.log`, `kernel.log*`, and the harvester pod's logs
//!   (`logs/harvester-system/harvester-<rs>-<pod>/<container>.log[.1]`).
//! - **Nested**: `nodes/*.zip` of a bundle; `*.txz` under a node zip's `scc/` or `logs/`.
//! - **Skip**: everything else (other pod logs, containerd content, etcd data, charts).

use crate::ingest::{Decoder, Selector, Want};
use crate::layout;
use crate::layout::area::{self, Area};
use crate::vocab::Need;

/// The entries the analysis needs, by logical path. Its host areas come from the data the
/// registered rules and the credential model need ([`AnalysisSelector::for_needs`]): a node
/// file no need names is never inflated.
#[derive(Debug, Clone)]
pub struct AnalysisSelector {
    host: Vec<(&'static Area, Want)>,
}

impl Default for AnalysisSelector {
    /// The selector for every kind of data.
    fn default() -> Self {
        AnalysisSelector::for_needs(&Need::ALL)
    }
}

/// The host areas a kind of data is read from.
pub fn areas_of(need: Need) -> &'static [&'static Area] {
    match need {
        Need::NodeFiles | Need::TwoServers | Need::OtherServers => &[
            &area::SERVER_TREE,
            &area::AGENT_FILES,
            &area::AGENT_SUBTREES,
            &area::CUSTOM_CA_STAGING,
            &area::RANCHER_CONFIG,
            &area::OEM,
            &area::UNIT_ENV_FILES,
        ],
        Need::HostConfig => &[&area::HOST_FILES, &area::RANCHER_CONFIG],
        // Command outputs are not host areas: the selector loads a node snapshot's
        // `commands/*.txt` for every need.
        Need::Inputs
        | Need::SupportBundle
        | Need::NodeCommands
        | Need::NodeLogs
        | Need::RancherObjects
        | Need::Runbook => &[],
    }
}

/// The host areas the snapshot reads for itself, whatever the rules need: what names and
/// describes a node (hostname, OS release, accounts, sysctl).
pub const SNAPSHOT_AREAS: &[&Area] = &[&area::HOST_FILES];

impl AnalysisSelector {
    /// The selector for `needs`: the skips of [`HOST_AREAS`] always, its loads when the snapshot
    /// or one of `needs` reads that area, in [`HOST_AREAS`]' order.
    pub fn for_needs(needs: &[Need]) -> AnalysisSelector {
        // Areas are constants: compared by name, each name declared once in the layout.
        let wanted = |a: &Area| {
            SNAPSHOT_AREAS.iter().any(|s| s.name == a.name)
                || needs
                    .iter()
                    .any(|n| areas_of(*n).iter().any(|s| s.name == a.name))
        };
        AnalysisSelector {
            host: HOST_AREAS
                .iter()
                .filter(|(a, w)| *w != Want::Load || wanted(a))
                .map(|(a, w)| (*a, *w))
                .collect(),
        }
    }

    /// Whether this selector loads the rke2 server tree (where certificate files are) and
    /// parses its certificate files as they are read. `HARROW_DECODE_AT_INGEST=0` in the
    /// environment turns the latter off (a diagnostic: the tests compare both ways).
    fn decodes_certs(&self) -> bool {
        static OFF: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
        let off = *OFF
            .get_or_init(|| std::env::var_os("HARROW_DECODE_AT_INGEST").is_some_and(|v| v == "0"));
        !off && self
            .host
            .iter()
            .any(|(a, w)| *w == Want::Load && a.name == area::SERVER_TREE.name)
    }

    /// The host areas this selector reads or leaves, in order.
    pub fn host_areas(&self) -> &[(&'static Area, Want)] {
        &self.host
    }

    /// The decision for a path that starts with a host path anchor, or `None` when `segs` does
    /// not start with one.
    fn host_want(&self, segs: &[&str]) -> Option<Want> {
        self.host
            .iter()
            .find(|(a, _)| a.matches(segs))
            .map(|(_, w)| *w)
    }
}

/// Substrings that make a scanned log line worth keeping: TOKEN003/TOKEN006 join and bootstrap
/// failures, FW008 drop logs, CERT014 expiry messages.
pub const NEEDLES: &[&str] = &[
    "token CA hash does not match",
    "Node password rejected",
    "CA cert validation failed",
    "invalid token CA hash length",
    "bootstrap data already found and encrypted with different token",
    "HARVESTER_DROP_",
    "earliestExpiringCert",
    "certificate",
    "Certificate",
    "expire",
];

/// One whitelisted Kubernetes resource of a bundle's `yamls/` tree (any served version).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct YamlResource {
    /// API group; empty for the core group.
    pub group: &'static str,
    /// Resource plural (the file stem).
    pub plural: &'static str,
    /// For namespaced resources: load only these namespaces (`None`: every namespace).
    pub namespaces: Option<&'static [&'static str]>,
    /// What the analysis reads it for.
    pub why: &'static str,
}

const fn res(group: &'static str, plural: &'static str, why: &'static str) -> YamlResource {
    YamlResource {
        group,
        plural,
        namespaces: None,
        why,
    }
}

/// The `yamls/` lists the analysis loads (cluster-scoped or namespaced, any version).
pub const YAML_WHITELIST: &[YamlResource] = &[
    res(
        "",
        "nodes",
        "node inventory, roles, addresses, kubelet versions",
    ),
    res(
        "",
        "namespaces",
        "workload namespaces, PSA labels (KUBE002)",
    ),
    res(
        "",
        "configmaps",
        "kube-root-ca.crt, extension-apiserver-authentication (CERT013)",
    ),
    res("", "serviceaccounts", "default SA automount (KUBE001)"),
    res(
        "",
        "events",
        "CertificateExpirationWarning events (CERT014)",
    ),
    res("", "services", "the kubernetes service (its cluster IP)"),
    YamlResource {
        group: "",
        plural: "pods",
        namespaces: Some(&["kube-system"]),
        why: "static control-plane pods: flags, etcd runAsUser (HOST002)",
    },
    YamlResource {
        group: "",
        plural: "secrets",
        namespaces: Some(&["fleet-local"]),
        why: "machine-plan secrets (applied output)",
    },
    YamlResource {
        group: "apps",
        plural: "deployments",
        namespaces: Some(&["cattle-system"]),
        why: "cattle-cluster-agent CATTLE_CA_CHECKSUM (RANCHER009)",
    },
    YamlResource {
        group: "apps",
        plural: "daemonsets",
        namespaces: Some(&["cattle-system"]),
        why: "cattle-node-agent CATTLE_CA_CHECKSUM (RANCHER009)",
    },
    res(
        "events.k8s.io",
        "events",
        "CertificateExpirationWarning events (CERT014)",
    ),
    res(
        "harvesterhci.io",
        "settings",
        "server-version, auto-rotate-rke2-certs, http-proxy",
    ),
    res("harvesterhci.io", "upgrades", "upgrade windows (FW008)"),
    res(
        "harvesterhci.io",
        "addons",
        "add-ons that open ports (FW002)",
    ),
    res(
        "management.cattle.io",
        "settings",
        "cacerts, internal-cacerts (RANCHER009)",
    ),
    res(
        "management.cattle.io",
        "clusters",
        "local cluster CA and agent state (RANCHER007)",
    ),
    res(
        "management.cattle.io",
        "clusterregistrationtokens",
        "tokens (RANCHER004, BUNDLE001)",
    ),
    res("management.cattle.io", "globalroles", "RANCHER008"),
    res("management.cattle.io", "globalrolebindings", "RANCHER001"),
    res(
        "management.cattle.io",
        "clusterroletemplatebindings",
        "RANCHER001",
    ),
    res("management.cattle.io", "authconfigs", "RANCHER002"),
    res("management.cattle.io", "users", "RANCHER002"),
    res(
        "admissionregistration.k8s.io",
        "mutatingwebhookconfigurations",
        "caBundle (CERT013)",
    ),
    res(
        "admissionregistration.k8s.io",
        "validatingwebhookconfigurations",
        "caBundle (CERT013)",
    ),
    res(
        "apiregistration.k8s.io",
        "apiservices",
        "caBundle (CERT013)",
    ),
    res(
        "networking.k8s.io",
        "networkpolicies",
        "default deny (KUBE003)",
    ),
    res(
        "networking.k8s.io",
        "ingresses",
        "rancher ingress TLS (RANCHER005)",
    ),
    res(
        "extensions",
        "ingresses",
        "rancher ingress TLS on old clusters (RANCHER005)",
    ),
    res(
        "provisioning.cattle.io",
        "clusters",
        "rotateCertificates.generation (HARV004)",
    ),
    res(
        "rke.cattle.io",
        "rkecontrolplanes",
        "certificateRotationGeneration (HARV004)",
    ),
    res(
        "node.harvesterhci.io",
        "cloudinits",
        "iptables CloudInits (FW004, FW005, FW009)",
    ),
    res("node.harvesterhci.io", "nodeconfigs", "node NTP/config"),
    res(
        "network.harvesterhci.io",
        "clusternetworks",
        "extra NICs (FW006)",
    ),
    res(
        "network.harvesterhci.io",
        "vlanconfigs",
        "extra NICs (FW006)",
    ),
    res(
        "network.harvesterhci.io",
        "hostnetworkconfigs",
        "extra NICs (FW006)",
    ),
    res("catalog.cattle.io", "apps", "installed add-ons (FW002)"),
    res(
        "certificates.k8s.io",
        "certificatesigningrequests",
        "leaf signing requests",
    ),
    res(
        "resources.cattle.io",
        "backups",
        "encryptionConfigSecretName (RANCHER006)",
    ),
    res("upgrade.cattle.io", "plans", "sync-additional-ca plan"),
    res("helm.cattle.io", "helmchartconfigs", "rke2 chart overrides"),
];

/// Where a `yamls/` path points: `yamls/cluster/<group>/<version>/<plural>.yaml` or
/// `yamls/namespaced/<ns>/<group>/<version>/<plural>.yaml` (no group segment for core `v1`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct YamlPath<'a> {
    pub namespace: Option<&'a str>,
    pub group: &'a str,
    pub version: &'a str,
    pub plural: &'a str,
}

impl YamlPath<'_> {
    /// `group/version`, or `version` for the core group.
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.to_string()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }
}

/// Parse the segments after `yamls/`.
pub fn parse_yaml_path<'a>(after_yamls: &[&'a str]) -> Option<YamlPath<'a>> {
    let (namespace, rest) = match after_yamls.split_first()? {
        (&"cluster", rest) => (None, rest),
        (&"namespaced", rest) => {
            let (ns, rest) = rest.split_first()?;
            (Some(*ns), rest)
        }
        _ => return None,
    };
    let (group, version, file) = match rest {
        [v, f] => ("", *v, *f),
        [g, v, f] => (*g, *v, *f),
        _ => return None,
    };
    let plural = file.strip_suffix(".yaml")?;
    if plural.is_empty() || !is_version(version) {
        return None;
    }
    Some(YamlPath {
        namespace,
        group,
        version,
        plural,
    })
}

fn is_version(v: &str) -> bool {
    let mut c = v.chars();
    c.next() == Some('v') && c.next().is_some_and(|d| d.is_ascii_digit())
}

/// The whitelist entry for a `yamls/` path, if any.
pub fn whitelisted(p: &YamlPath<'_>) -> Option<&'static YamlResource> {
    YAML_WHITELIST.iter().find(|r| {
        r.group == p.group
            && r.plural == p.plural
            && match (r.namespaces, p.namespace) {
                (Some(list), Some(ns)) => list.contains(&ns),
                _ => true,
            }
    })
}

/// Split a logical path into its non-empty `/` segments (a leading `./` or `/` vanishes).
pub(crate) fn segments(path: &str) -> Vec<&str> {
    path.split('/')
        .filter(|s| !s.is_empty() && *s != ".")
        .collect()
}

impl AnalysisSelector {
    /// The decision for the innermost part of a logical path, knowing the part that contains it.
    fn decide(&self, outer: Option<&str>, inner: &str) -> Want {
        let segs = segments(inner);
        let Some(last) = segs.last().copied() else {
            return Want::Skip;
        };
        let n = segs.len();

        // Inside a supportconfig archive.
        if outer.is_some_and(is_txz) {
            return if matches!(last, "etc.txt" | "basic-environment.txt" | "memory.txt") {
                Want::Load
            } else {
                Want::Skip
            };
        }

        // Everything under a node zip's `configs/`.
        if outer.is_some_and(is_node_zip) && n >= 3 && segs[1] == "configs" {
            return Want::Load;
        }

        // Nested archives.
        if n >= 2 && segs[n - 2] == "nodes" && last.ends_with(".zip") {
            return Want::Nested;
        }
        if n >= 2 && matches!(segs[n - 2], "scc" | "logs") && is_txz(last) {
            return Want::Nested;
        }

        // Bundle root files.
        if n <= 2 && matches!(last, "metadata.yaml" | "bundleGenerationError.log") {
            return Want::Load;
        }

        // Bundle object lists.
        if let Some(i) = segs
            .iter()
            .position(|s| *s == "yamls")
            .filter(|i| matches!(segs.get(i + 1), Some(&"cluster") | Some(&"namespaced")))
        {
            return match parse_yaml_path(&segs[i + 1..]) {
                Some(p) if whitelisted(&p).is_some() => Want::Load,
                _ => Want::Skip,
            };
        }

        // Logs: `<node>/logs/<file>` (node) or `logs/<ns>/<pod>/<container>.log` (pods).
        if let Some(i) = segs.iter().rposition(|s| *s == "logs") {
            let after = &segs[i + 1..];
            match after {
                [file] if is_node_log(file) => return Want::Scan,
                [ns, pod, file] if *ns == "harvester-system" && is_harvester_pod(pod) => {
                    return if file.ends_with(".log") || file.ends_with(".log.1") {
                        Want::Scan
                    } else {
                        Want::Skip
                    };
                }
                [_, _, _] => return Want::Skip,
                _ => {}
            }
        }

        // Host paths under any prefix.
        for j in 0..n {
            if let Some(w) = self.host_want(&segs[j..]) {
                return w;
            }
        }

        // Collector additions at the snapshot root.
        if n <= 3 && last == "snapshot.yaml" {
            return Want::Load;
        }
        if (2..=4).contains(&n) && segs[n - 2] == "commands" && last.ends_with(".txt") {
            return Want::Load;
        }
        // `token-file:` / `RKE2_TOKEN_FILE=` may name a file anywhere on the host (`/root/…`):
        // small files named like a token are loaded wherever they sit, so the reference can be
        // followed (never under containerd content).
        if n <= 8 && last.contains("token") && !segs.contains(&"containerd") {
            return Want::Load;
        }
        Want::Skip
    }
}

/// `…/nodes/<node>.zip` (the last `!` part of the outer path).
fn is_node_zip(outer: &str) -> bool {
    let last = outer.rsplit('!').next().unwrap_or(outer);
    let segs = segments(last);
    segs.len() >= 2 && segs[segs.len() - 2] == "nodes" && last.ends_with(".zip")
}

fn is_txz(name: &str) -> bool {
    name.ends_with(".txz") || name.ends_with(".tar.xz")
}

fn is_node_log(file: &str) -> bool {
    matches!(file, "rke2-server.log" | "rke2-agent.log" | "rancherd.log")
        || file.starts_with("kernel.log")
}

/// `harvester-<replicaset hash>-<pod hash>`: the harvester deployment's pod, not
/// `harvester-webhook-…`, `harvester-network-controller-…` and the like. Both hashes use
/// Kubernetes' safe alphabet (no vowels): the replicaset hash has 6-10 characters, the pod
/// suffix 5.
fn is_harvester_pod(pod: &str) -> bool {
    const SAFE: &str = "bcdfghjklmnpqrstvwxz2456789";
    let safe = |s: &str, min: usize, max: usize| {
        (min..=max).contains(&s.len()) && s.chars().all(|c| SAFE.contains(c))
    };
    match pod
        .strip_prefix("harvester-")
        .map(|rest| rest.split('-').collect::<Vec<_>>())
        .as_deref()
    {
        Some([rs, suffix]) => safe(rs, 6, 10) && safe(suffix, 5, 5),
        _ => false,
    }
}

/// Every host area the analysis may read or leave, in order: the first area a path lies in
/// decides. A selector keeps the skips and the loads its needs name
/// ([`AnalysisSelector::for_needs`]).
/// The rke2 data directory ends with a catch-all skip, so nothing else under it is loaded (nor
/// tried at a deeper prefix).
pub const HOST_AREAS: &[(&Area, Want)] = &[
    (&area::SERVER_BULK, Want::Skip),
    (&area::SERVER_TREE, Want::Load),
    (&area::AGENT_FILES, Want::Load),
    (&area::AGENT_SUBTREES, Want::Load),
    (&area::DATA_TREE, Want::Skip),
    (&area::CUSTOM_CA_STAGING, Want::Load),
    (&area::RANCHER_CONFIG, Want::Load),
    (&area::OEM, Want::Load),
    (&area::HOST_FILES, Want::Load),
    (&area::UNIT_ENV_FILES, Want::Load),
];

impl Selector for AnalysisSelector {
    fn want(&self, path: &str) -> Want {
        let mut parts = path.rsplitn(2, '!');
        let inner = parts.next().unwrap_or("");
        let outer = parts.next();
        self.decide(outer, inner)
    }

    fn needles(&self) -> &[&str] {
        NEEDLES
    }

    /// Certificate files only the inventory reads ([`layout::is_inventory_only_cert`]), when
    /// this selector loads the server tree: parsed as they are read, their bytes not kept.
    fn decodes(&self, path: &str) -> bool {
        self.decodes_certs() && layout::is_inventory_only_cert(layout::host_part(path))
    }

    fn decoder(&self) -> Option<Box<dyn Decoder + '_>> {
        self.decodes_certs()
            .then(|| Box::new(crate::pki::CertDecoder::default()) as Box<dyn Decoder>)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(p: &str) -> Want {
        AnalysisSelector::default().want(p)
    }

    const TOP: &str = "supportbundle_9b6b22de_2022-03-22T23-49-32Z";

    #[test]
    fn bundle_paths() {
        assert_eq!(w(&format!("{TOP}/metadata.yaml")), Want::Load);
        assert_eq!(w("metadata.yaml"), Want::Load);
        assert_eq!(w(&format!("{TOP}/bundleGenerationError.log")), Want::Load);
        assert_eq!(w(&format!("{TOP}/yamls/cluster/v1/nodes.yaml")), Want::Load);
        assert_eq!(
            w(&format!(
                "{TOP}/yamls/cluster/harvesterhci.io/v1beta1/settings.yaml"
            )),
            Want::Load
        );
        assert_eq!(
            w(&format!("{TOP}/yamls/namespaced/kube-system/v1/pods.yaml")),
            Want::Load
        );
        assert_eq!(
            w(&format!(
                "{TOP}/yamls/namespaced/longhorn-system/v1/pods.yaml"
            )),
            Want::Skip
        );
        assert_eq!(
            w(&format!(
                "{TOP}/yamls/cluster/apiextensions.k8s.io/v1/customresourcedefinitions.yaml"
            )),
            Want::Skip
        );
        assert_eq!(
            w(&format!(
                "{TOP}/yamls/namespaced/default/events.k8s.io/v1/events.yaml"
            )),
            Want::Load
        );
        assert_eq!(
            w(&format!(
                "{TOP}/yamls/namespaced/cattle-system/apps/v1/deployments.yaml"
            )),
            Want::Load
        );
        assert_eq!(
            w(&format!(
                "{TOP}/yamls/namespaced/longhorn-system/apps/v1/deployments.yaml"
            )),
            Want::Skip
        );
        assert_eq!(w(&format!("{TOP}/nodes/node1.zip")), Want::Nested);
        assert_eq!(
            w(&format!(
                "{TOP}/logs/harvester-system/harvester-d544ddb6f-6g2fl/apiserver.log"
            )),
            Want::Scan
        );
        assert_eq!(
            w(&format!(
                "{TOP}/logs/harvester-system/harvester-webhook-67744f845f-5msj8/harvester-webhook.log"
            )),
            Want::Skip
        );
        assert_eq!(
            w(&format!("{TOP}/logs/cattle-system/rancher-1/rancher.log")),
            Want::Skip
        );
    }

    #[test]
    fn node_zip_paths() {
        let z = format!("{TOP}/nodes/node1.zip!node1");
        assert_eq!(w(&format!("{z}/configs/etc/hostname")), Want::Load);
        assert_eq!(
            w(&format!(
                "{z}/configs/etc/rancher/rke2/config.yaml.d/90-harvester-server.yaml"
            )),
            Want::Load
        );
        assert_eq!(w(&format!("{z}/configs/oem/99_custom.yaml")), Want::Load);
        assert_eq!(
            w(&format!("{z}/configs/etc/rancher/agent/cattle-id")),
            Want::Load
        );
        assert_eq!(w(&format!("{z}/configs/etc/ssh/sshd_config")), Want::Load);
        assert_eq!(w(&format!("{z}/logs/rke2-server.log")), Want::Scan);
        assert_eq!(w(&format!("{z}/logs/kernel.log.1")), Want::Scan);
        assert_eq!(w(&format!("{z}/logs/rancherd.log")), Want::Scan);
        assert_eq!(w(&format!("{z}/logs/rancher-system-agent.log")), Want::Skip);
        assert_eq!(w(&format!("{z}/logs/console.log")), Want::Skip);
        assert_eq!(
            w(&format!("{z}/scc/scc_supportconfig_node1-abc123.txz")),
            Want::Nested
        );
        assert_eq!(
            w(&format!("{z}/logs/scc_supportconfig_node1.txz")),
            Want::Nested
        );
        assert_eq!(
            w(&format!("{z}/scc/x.txz!scc_supportconfig_node1/etc.txt")),
            Want::Load
        );
        assert_eq!(
            w(&format!(
                "{z}/scc/x.txz!scc_supportconfig_node1/systemd.txt"
            )),
            Want::Skip
        );
    }

    #[test]
    fn node_snapshot_paths_under_any_prefix() {
        for prefix in ["", "./", "node1/", "host/root/"] {
            let l = |p: &str| w(&format!("{prefix}{p}"));
            assert_eq!(
                l("var/lib/rancher/rke2/server/tls/server-ca.crt"),
                Want::Load,
                "{prefix}"
            );
            assert_eq!(l("var/lib/rancher/rke2/server/token"), Want::Load);
            assert_eq!(l("var/lib/rancher/rke2/server/cred/passwd"), Want::Load);
            assert_eq!(
                l("var/lib/rancher/rke2/server/db/etcd/member/snap/db"),
                Want::Skip
            );
            assert_eq!(
                l("var/lib/rancher/rke2/server/manifests/rke2-canal.yaml"),
                Want::Skip
            );
            assert_eq!(
                l("var/lib/rancher/rke2/agent/client-kubelet.crt"),
                Want::Load
            );
            assert_eq!(
                l("var/lib/rancher/rke2/agent/kubelet.kubeconfig"),
                Want::Load
            );
            assert_eq!(
                l("var/lib/rancher/rke2/agent/pod-manifests/etcd.yaml"),
                Want::Load
            );
            assert_eq!(
                l(
                    "var/lib/rancher/rke2/agent/containerd/io.containerd.content.v1.content/blobs/sha256/ab"
                ),
                Want::Skip
            );
            assert_eq!(
                l("var/lib/rancher/rke2/agent/images/rke2-images.tar.zst"),
                Want::Skip
            );
            assert_eq!(l("var/lib/rancher/rke2/data/v1.28/bin/kubectl"), Want::Skip);
            assert_eq!(l("etc/rancher/rke2/config.yaml"), Want::Load);
            assert_eq!(
                l("etc/rancher/rke2/config.yaml.d/99-harvester-witness.yaml"),
                Want::Load
            );
            assert_eq!(l("etc/rancher/node/password"), Want::Load);
            assert_eq!(l("oem/90_custom.yaml"), Want::Load);
            assert_eq!(l("etc/passwd"), Want::Load);
            assert_eq!(l("etc/group"), Want::Load);
            assert_eq!(l("etc/hostname"), Want::Load);
            assert_eq!(l("etc/shadow"), Want::Skip);
            assert_eq!(l("etc/sysctl.d/90-rke2.conf"), Want::Load);
            assert_eq!(l("etc/systemd/system/rke2-server.env"), Want::Load);
            assert_eq!(l("usr/local/lib/systemd/system/rke2-agent.env"), Want::Load);
            assert_eq!(
                l("usr/local/lib/systemd/system/rke2-agent.service"),
                Want::Skip
            );
            assert_eq!(l("snapshot.yaml"), Want::Load);
            assert_eq!(l("commands/iptables-save.txt"), Want::Load);
            assert_eq!(l("commands/rke2-version.txt"), Want::Load);
            assert_eq!(l("var/log/messages"), Want::Skip);
        }
    }

    #[test]
    fn every_declared_credential_and_config_place_is_loaded() {
        use crate::layout::{self, AgentCopy, CaFile, Component};
        let mut places: Vec<&str> = vec![
            layout::SERVER_TOKEN,
            layout::AGENT_TOKEN,
            layout::NODE_TOKEN,
            layout::SERVICE_KEY,
            layout::SERVICE_CURRENT_KEY,
            layout::DYNAMIC_CERT,
            layout::APISERVER_SERVING_CERT,
            layout::APISERVER_MANIFEST,
            layout::SERVING_KUBELET_CERT,
            layout::CLIENT_KUBELET_CERT,
            layout::CONFIG_FILE,
            layout::WITNESS_DROP_IN,
            layout::ADMIN_KUBECONFIG,
            layout::NODE_PASSWORD,
            layout::HOSTNAME,
        ];
        places.extend(CaFile::ALL.iter().map(|c| c.host_path()));
        places.extend(CaFile::ALL.iter().map(|c| c.key_host_path()));
        places.extend(AgentCopy::ALL.iter().map(|c| c.host_path()));
        let component: Vec<String> = Component::ALL
            .iter()
            .map(|c| format!("{}x.crt", c.cert_dir()))
            .collect();
        places.extend(component.iter().map(String::as_str));
        for p in places {
            assert_eq!(w(p), Want::Load, "{p}");
            assert_eq!(w(&format!("node1/{p}")), Want::Load, "{p}");
        }
        assert_eq!(w(&format!("{}x.yaml", layout::MANIFESTS_DIR)), Want::Skip);
    }

    #[test]
    fn host_area_names_are_unique_as_the_selector_compares_them() {
        let mut names: Vec<&str> = HOST_AREAS.iter().map(|(a, _)| a.name).collect();
        let n = names.len();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), n, "{names:?}");
    }

    #[test]
    fn a_selector_for_inputs_alone_reads_no_node_credentials() {
        use crate::layout;
        let s = AnalysisSelector::for_needs(&[Need::Inputs]);
        for p in [
            layout::SERVICE_KEY,
            layout::SERVER_TOKEN,
            layout::CONFIG_FILE,
            layout::CaFile::ServerCa.host_path(),
        ] {
            assert_eq!(s.want(p), Want::Skip, "{p}");
            assert_eq!(AnalysisSelector::default().want(p), Want::Load, "{p}");
        }
        // The snapshot's own areas stay: a node is still named.
        assert_eq!(s.want(layout::HOSTNAME), Want::Load);
        // Node files of a bundle's node zip are not host areas: still loaded.
        assert_eq!(
            s.want("sb/nodes/n1.zip!n1/configs/oem/90_custom.yaml"),
            Want::Load
        );
    }

    #[test]
    fn harvester_pod_names() {
        assert!(is_harvester_pod("harvester-d544ddb6f-6g2fl"));
        assert!(is_harvester_pod("harvester-7c9f8b6d4-xkq2m"));
        assert!(!is_harvester_pod("harvester-webhook-5msj8"));
        assert!(!is_harvester_pod("harvester-webhook-67744f845f-5msj8"));
        assert!(!is_harvester_pod("harvester-network-controller-jldp7"));
        assert!(!is_harvester_pod("harvester-node-disk-manager-tx686"));
    }

    #[test]
    fn yaml_paths_parse() {
        let p = parse_yaml_path(&["namespaced", "kube-system", "v1", "configmaps.yaml"]);
        assert_eq!(
            p,
            Some(YamlPath {
                namespace: Some("kube-system"),
                group: "",
                version: "v1",
                plural: "configmaps"
            })
        );
        let p = parse_yaml_path(&["cluster", "harvesterhci.io", "v1beta1", "settings.yaml"]);
        assert_eq!(
            p.map(|p| p.api_version()),
            Some("harvesterhci.io/v1beta1".into())
        );
        assert_eq!(parse_yaml_path(&["cluster", "x", "settings.yaml"]), None);
    }
}
