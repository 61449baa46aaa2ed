//! The node inventory: nodes from bundle Node objects, bundle node zips and node snapshots;
//! their names (node snapshot naming rules), roles (labels, the witness taint, or host files),
//! addresses, sources, and each node's host file view.
//!
//! Host file view: a bundle node zip maps `<node>/configs/etc/…` → `etc/…`,
//! `<node>/configs/oem/…` → `oem/…`, `<node>/logs/x.log` → `logs/x.log` and the contents of a
//! supportconfig archive (`<node>/scc/*.txz!scc_…/etc.txt`) → `scc/etc.txt`; a node snapshot
//! maps its prefix away (`node1/var/lib/…` → `var/lib/…`).

use std::collections::BTreeSet;
use std::sync::Arc;

use serde_json::Value;

use crate::ingest::InputTree;
use crate::layout;

use super::certs::first_cert_cn;
use super::classify::file_stem;
use super::model::{HostFile, KubeObject, Node, Role, SnapshotManifest};
use super::selector::segments;
use super::value::{as_bool, as_str, get, str_at};

/// What the Node object said about roles, before files are consulted.
#[derive(Debug, Default, Clone)]
pub struct LabelFacts {
    pub roles: BTreeSet<Role>,
    /// `rke2.io/node-args` first element: `server` → true, `agent` → false.
    pub runs_server: Option<bool>,
}

/// True when a label is set: present and not `"false"` (an empty value, normalised to null,
/// counts as set).
fn label_set(labels: Option<&Value>, key: &str) -> bool {
    match labels.and_then(|l| l.get(key)) {
        None => false,
        Some(v) => as_bool(v) != Some(false),
    }
}

/// Roles from a Node object's labels and taints, and its `rke2.io/node-args`.
pub fn label_facts(obj: &KubeObject) -> LabelFacts {
    let labels = get(&obj.value, &["metadata", "labels"]);
    let mut roles = BTreeSet::new();
    for (key, role) in [
        ("node-role.kubernetes.io/control-plane", Role::ControlPlane),
        ("node-role.kubernetes.io/etcd", Role::Etcd),
        ("node-role.kubernetes.io/master", Role::Master),
        ("node-role.harvesterhci.io/management", Role::Management),
        ("node-role.harvesterhci.io/worker", Role::Worker),
        ("node-role.harvesterhci.io/witness", Role::Witness),
    ] {
        if label_set(labels, key) {
            roles.insert(role);
        }
    }
    if let Some(Value::Array(taints)) = get(&obj.value, &["spec", "taints"]) {
        for t in taints {
            if str_at(t, &["key"]) == Some("node-role.kubernetes.io/etcd")
                && str_at(t, &["value"]) == Some("true")
                && str_at(t, &["effect"]) == Some("NoExecute")
            {
                roles.insert(Role::Witness);
            }
        }
    }
    let runs_server = str_at(
        &obj.value,
        &["metadata", "annotations", "rke2.io/node-args"],
    )
    .and_then(|a| serde_json::from_str::<Vec<String>>(a).ok())
    .and_then(|args| args.first().cloned())
    .and_then(|first| match first.as_str() {
        "server" => Some(true),
        "agent" => Some(false),
        _ => None,
    });
    LabelFacts { roles, runs_server }
}

/// Roles from host files, for nodes no Node object describes. Empty when the files say nothing.
pub fn file_roles(node: &Node) -> BTreeSet<Role> {
    // Something under directory `p` (ending in `/`): a file, or a directory or seen path.
    let has_under = |p: &str| {
        node.present
            .range::<str, _>((std::ops::Bound::Included(p), std::ops::Bound::Unbounded))
            .next()
            .is_some_and(|x| x.starts_with(p))
            || node
                .files
                .range::<str, _>((std::ops::Bound::Included(p), std::ops::Bound::Unbounded))
                .next()
                .is_some_and(|(x, _)| x.starts_with(p))
    };
    let present = |p: &str| node.has_path(p);
    let mut roles = BTreeSet::new();
    let server_tree = has_under(layout::SERVER_DIR);
    if server_tree {
        roles.insert(Role::Server);
    }
    if has_under(layout::ETCD_TLS_DIR) {
        roles.insert(Role::Etcd);
    }
    let apiserver = present(layout::APISERVER_MANIFEST)
        || (server_tree
            && !has_under(layout::POD_MANIFESTS_DIR)
            && present(layout::APISERVER_SERVING_CERT));
    if apiserver {
        roles.insert(Role::ControlPlane);
    }
    if present(layout::WITNESS_DROP_IN) {
        roles.insert(Role::Witness);
        roles.insert(Role::Etcd);
        roles.remove(&Role::ControlPlane);
    }
    if roles.is_empty() && has_under(layout::AGENT_DIR) {
        roles.insert(Role::Agent);
    }
    roles
}

/// Add `server` to every node running rke2-server (control-plane, etcd, master, witness) and
/// `agent` to agent-only nodes; `known` says whether an absence of server roles means agent.
pub fn finish_roles(roles: &mut BTreeSet<Role>, runs_server: Option<bool>, known: bool) {
    let serverish = roles.iter().any(|r| {
        matches!(
            r,
            Role::ControlPlane | Role::Etcd | Role::Master | Role::Witness | Role::Server
        )
    });
    if serverish || runs_server == Some(true) {
        roles.insert(Role::Server);
        roles.remove(&Role::Agent);
    } else if known || runs_server == Some(false) || roles.contains(&Role::Worker) {
        roles.insert(Role::Agent);
    }
}

/// Addresses from a Node object: `status.addresses` and the rke2 IP annotations.
pub fn node_addresses(obj: &KubeObject) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    if let Some(Value::Array(a)) = get(&obj.value, &["status", "addresses"]) {
        for addr in a {
            if let Some(s) = str_at(addr, &["address"]) {
                out.insert(s.to_string());
            }
        }
    }
    for key in ["rke2.io/internal-ip", "rke2.io/external-ip"] {
        if let Some(s) = str_at(&obj.value, &["metadata", "annotations", key]) {
            for part in s.split(',') {
                let p = part.trim();
                if !p.is_empty() {
                    out.insert(p.to_string());
                }
            }
        }
    }
    out
}

/// Addresses of a node snapshot: the `serving-kubelet.crt` SANs (the node's `--node-ip`,
/// `--node-external-ip` and host name, like a Node's `status.addresses`), without `localhost`
/// and loopback addresses. `commands/ip-addr.txt` is not used: it also lists VIPs (kube-vip's
/// `/32` on `mgmt-br`) and storage NICs, which are not the node's addresses (see
/// [`ip_addr_addresses`] for callers that want every interface address).
pub fn snapshot_addresses(tree: &InputTree, prefix: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    if let Some(data) = host_file(tree, prefix, layout::SERVING_KUBELET_CERT) {
        for san in super::certs::first_cert_sans(data) {
            if !is_local_address(&san) && san != "localhost" {
                out.insert(san);
            }
        }
    }
    out
}

fn is_local_address(a: &str) -> bool {
    match a.parse::<std::net::IpAddr>() {
        Ok(ip) => {
            ip.is_loopback()
                || ip.is_unspecified()
                || match ip {
                    std::net::IpAddr::V4(v4) => v4.is_link_local(),
                    std::net::IpAddr::V6(v6) => (v6.segments()[0] & 0xffc0) == 0xfe80,
                }
        }
        Err(_) => false,
    }
}

/// Interfaces whose addresses are not the node's own (CNI, tunnels, bridges of containers).
fn is_virtual_interface(name: &str) -> bool {
    const PREFIXES: &[&str] = &[
        "lo",
        "cni",
        "flannel",
        "cali",
        "vxlan",
        "kube-",
        "docker",
        "tunl",
        "veth",
        "genev",
        "ovn",
        "nodelocaldns",
    ];
    PREFIXES.iter().any(|p| name.starts_with(p))
}

/// Global addresses from `ip addr` / `ip -o addr` output.
pub fn ip_addr_addresses(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut iface = String::new();
    for line in text.lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        // `2: eth0: <BROADCAST,…>` (header) or `2: eth0    inet 10.0.0.5/24 …` (-o form).
        if let [idx, name, ..] = words.as_slice()
            && idx.ends_with(':')
            && idx
                .trim_end_matches(':')
                .chars()
                .all(|c| c.is_ascii_digit())
        {
            iface = name
                .trim_end_matches(':')
                .split('@')
                .next()
                .unwrap_or("")
                .to_string();
        }
        if let Some(i) = words.iter().position(|w| *w == "inet" || *w == "inet6")
            && let Some(cidr) = words.get(i + 1)
        {
            let addr = cidr.split('/').next().unwrap_or("");
            if addr.parse::<std::net::IpAddr>().is_ok()
                && !is_local_address(addr)
                && !is_virtual_interface(&iface)
            {
                out.insert(addr.to_string());
            }
        }
    }
    out
}

/// Whether `commands/systemctl-show-rke2.txt` shows rke2-server (`Some(true)`) or only
/// rke2-agent (`Some(false)`) active.
pub fn active_rke2_unit(tree: &InputTree, prefix: &str) -> Option<bool> {
    let data = host_file(tree, prefix, "commands/systemctl-show-rke2.txt")?;
    let text = String::from_utf8_lossy(data);
    let (mut server, mut agent) = (false, false);
    for block in text.split("\n\n") {
        let mut id = "";
        let mut active = false;
        for line in block.lines() {
            if let Some(v) = line.strip_prefix("Id=") {
                id = v.trim();
            }
            if line.trim() == "ActiveState=active" {
                active = true;
            }
        }
        if active {
            server |= id == "rke2-server.service";
            agent |= id == "rke2-agent.service";
        }
    }
    if server {
        Some(true)
    } else if agent {
        Some(false)
    } else {
        None
    }
}

/// The host path of an entry inside a bundle node zip (the part after `<zip>!`), or `None` for
/// the node folder itself.
pub fn zip_host_path(inner: &str) -> Option<String> {
    let (first, nested) = match inner.split_once('!') {
        Some((a, b)) => (a, Some(b)),
        None => (inner, None),
    };
    let segs = segments(first);
    if segs.len() < 2 {
        return None;
    }
    let rest = &segs[1..];
    let mapped = match rest {
        ["configs", tail @ ..] if !tail.is_empty() => tail.join("/"),
        _ => rest.join("/"),
    };
    match nested {
        None => Some(mapped),
        Some(n) => {
            let n = n.split('!').next().unwrap_or(n);
            let ns = segments(n);
            match ns.len() {
                0 => None,
                1 => Some(format!("scc/{}", ns[0])),
                _ => Some(format!("scc/{}", ns[1..].join("/"))),
            }
        }
    }
}

/// Every logical path a tree knows of, sorted and unique, with whether it is readable content
/// (file, log, resolved link) or only seen. The tree's lists are each sorted already: a stable
/// sort merges them in near-linear time.
pub fn all_paths(tree: &InputTree) -> Vec<(&str, bool)> {
    let mut v: Vec<(&str, bool)> =
        Vec::with_capacity(tree.seen.len() + tree.files.len() + tree.logs.len() + tree.links.len());
    v.extend(tree.seen.iter().map(|p| (&**p, false)));
    v.extend(
        tree.files
            .keys()
            .map(|p| (&**p, true))
            .chain(tree.logs.keys().map(|p| (p.as_str(), true))),
    );
    v.extend(
        tree.links
            .iter()
            .map(|(p, l)| (p.as_str(), l.resolved.is_some())),
    );
    v.sort_by(|a, b| a.0.cmp(b.0));
    // Readable when any source says so.
    v.dedup_by(|later, kept| {
        if later.0 == kept.0 {
            kept.1 |= later.1;
            true
        } else {
            false
        }
    });
    v
}

/// A logical path of an input tree, shared with the tree's own key when it names a loaded file
/// (the snapshot then holds the path once, however many views name it).
pub struct Logical<'a> {
    pub tree: &'a InputTree,
    pub path: &'a str,
}

impl Logical<'_> {
    fn shared(&self) -> Arc<str> {
        match self.tree.files.get_key_value(self.path) {
            Some((k, _)) => Arc::clone(k),
            None => Arc::from(self.path),
        }
    }
}

/// Depth kept in [`Node::present`] for entries that were only seen (containerd snapshots and
/// the like hold hundreds of thousands of deep paths no rule needs).
pub const PRESENT_DEPTH: usize = 8;

/// Record one host path of a node ([`HostPaths::add`] for many).
pub fn add_host_path(
    node: &mut Node,
    input: usize,
    host: String,
    logical: Logical<'_>,
    readable: bool,
) {
    HostPaths::new(node).add(input, host, logical, readable);
}

/// Adds host paths to a node: readable content goes to `files` and its ancestor directories
/// to `present`; a seen-only path goes to `present` with its ancestors (cut to
/// [`PRESENT_DEPTH`] segments). A node snapshot's 100,000 certificate files are then one key
/// each, not two. The files are put into the node's map when this is dropped, all at once: a
/// map built in bulk has full nodes, one filled insert by insert has half-empty ones.
pub struct HostPaths<'n> {
    node: &'n mut Node,
    staged: Vec<(Arc<str>, HostFile)>,
}

impl<'n> HostPaths<'n> {
    pub fn new(node: &'n mut Node) -> Self {
        HostPaths {
            node,
            staged: Vec::new(),
        }
    }

    /// Record one host path.
    pub fn add(&mut self, input: usize, host: String, logical: Logical<'_>, readable: bool) {
        let mut host = host.trim_end_matches('/').to_string();
        if host.is_empty() {
            return;
        }
        if !readable && let Some((i, _)) = host.match_indices('/').nth(PRESENT_DEPTH - 1) {
            host.truncate(i);
        }
        if readable {
            let hf = HostFile {
                input,
                logical: logical.shared(),
            };
            self.staged.push((Arc::from(host.as_str()), hf));
        }
        // The path (unless it is a file, which `files` holds) and every ancestor directory are
        // present. Once one is, all above it already are (this is the only place that adds to
        // `present`), so the walk up stops there.
        let mut end = if readable {
            match host.rfind('/') {
                Some(i) => i,
                None => return,
            }
        } else {
            host.len()
        };
        let present = &mut self.node.present;
        loop {
            let p = &host[..end];
            if present.contains(p) {
                break;
            }
            present.insert(p.to_string());
            match p.rfind('/') {
                Some(i) => end = i,
                None => break,
            }
        }
    }
}

impl Drop for HostPaths<'_> {
    /// Merge the staged files with the node's: each host path's copies sorted by input and
    /// logical path, without repeats.
    fn drop(&mut self) {
        if self.staged.is_empty() {
            return;
        }
        let earlier = std::mem::take(&mut self.node.files);
        let mut all: Vec<(Arc<str>, HostFile)> = earlier
            .into_iter()
            .flat_map(|(k, v)| v.into_iter().map(move |h| (Arc::clone(&k), h)))
            .chain(std::mem::take(&mut self.staged))
            .collect();
        all.sort_by(|a, b| (&a.0, a.1.input, &a.1.logical).cmp(&(&b.0, b.1.input, &b.1.logical)));
        all.dedup();
        let mut grouped: Vec<(Arc<str>, Vec<HostFile>)> = Vec::new();
        for (k, h) in all {
            match grouped.last_mut() {
                Some((last, copies)) if *last == k => copies.push(h),
                _ => grouped.push((k, vec![h])),
            }
        }
        self.node.files = grouped.into_iter().collect();
    }
}

/// Read a host file of a node snapshot (following links inside the tree).
fn host_file<'a>(tree: &'a InputTree, prefix: &str, host: &str) -> Option<&'a [u8]> {
    tree.resolve(&format!("{prefix}{host}"))
        .map(|f| f.data.as_slice())
}

/// The name of the node a node snapshot holds, and where the name came from: `NAME=PATH`, then
/// `snapshot.yaml`, then the `serving-kubelet.crt` CN / `client-kubelet.crt`
/// `system:node:<name>`, then `etc/hostname`, then the file stem.
pub fn snapshot_node_name(
    tree: &InputTree,
    prefix: &str,
    given: Option<&str>,
    manifest: Option<&SnapshotManifest>,
) -> (String, &'static str) {
    if let Some(g) = given.map(str::trim).filter(|g| !g.is_empty()) {
        return (g.to_string(), "command line");
    }
    if let Some(n) = manifest.and_then(|m| m.node.clone()) {
        return (n, "snapshot.yaml");
    }
    if let Some(cn) = host_file(tree, prefix, layout::SERVING_KUBELET_CERT).and_then(first_cert_cn)
        && valid_name(&cn)
    {
        return (cn, "serving-kubelet.crt");
    }
    if let Some(cn) = host_file(tree, prefix, layout::CLIENT_KUBELET_CERT).and_then(first_cert_cn)
        && let Some(n) = cn.strip_prefix("system:node:")
        && valid_name(n)
    {
        return (n.to_string(), "client-kubelet.crt");
    }
    if let Some(h) = host_file(tree, prefix, layout::HOSTNAME) {
        let text = String::from_utf8_lossy(h);
        if let Some(line) = text
            .lines()
            .map(str::trim)
            .find(|l| !l.is_empty() && !l.starts_with('#'))
            && valid_name(line)
        {
            return (line.to_string(), layout::HOSTNAME);
        }
    }
    (file_stem(&tree.name), "file name")
}

fn valid_name(n: &str) -> bool {
    !n.is_empty()
        && n.len() <= 253
        && n.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_'))
}

/// Parse `snapshot.yaml` values into a manifest.
pub fn manifest_from_value(v: &Value) -> SnapshotManifest {
    let mut m = SnapshotManifest {
        node: str_at(v, &["node"]).map(str::to_string),
        collected_at: str_at(v, &["collected_at"]).and_then(crate::timefmt::parse_rfc3339),
        collector_version: str_at(v, &["collector_version"]).map(str::to_string),
        replaced: Vec::new(),
    };
    if let Some(Value::Array(items)) = get(v, &["replaced"]) {
        for item in items {
            let r = match item {
                Value::String(_) => as_str(item).map(|p| super::model::Replaced {
                    path: p.trim_start_matches('/').to_string(),
                    with: None,
                    reason: None,
                }),
                Value::Object(_) => str_at(item, &["path"]).map(|p| super::model::Replaced {
                    path: p.trim_start_matches('/').to_string(),
                    with: str_at(item, &["with"]).map(|w| w.trim_start_matches('/').to_string()),
                    reason: str_at(item, &["reason"]).map(str::to_string),
                }),
                _ => None,
            };
            if let Some(r) = r {
                m.replaced.push(r);
            }
        }
        m.replaced.sort();
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zip_paths_map_to_host_paths() {
        assert_eq!(
            zip_host_path("node1/configs/etc/rancher/rke2/config.yaml.d/90-harvester-server.yaml"),
            Some("etc/rancher/rke2/config.yaml.d/90-harvester-server.yaml".into())
        );
        assert_eq!(
            zip_host_path("node1/configs/oem/99_custom.yaml"),
            Some("oem/99_custom.yaml".into())
        );
        assert_eq!(
            zip_host_path("node1/logs/rke2-server.log"),
            Some("logs/rke2-server.log".into())
        );
        assert_eq!(
            zip_host_path("node1/scc/scc_x.txz!scc_supportconfig_node1/etc.txt"),
            Some("scc/etc.txt".into())
        );
        assert_eq!(zip_host_path("node1/"), None);
    }

    #[test]
    fn ip_addr_parsing() {
        let text = "1: lo: <LOOPBACK,UP> mtu 65536\n    inet 127.0.0.1/8 scope host lo\n\
2: mgmt-br: <BROADCAST,MULTICAST,UP> mtu 1500\n    inet 10.0.0.5/24 brd 10.0.0.255 scope global mgmt-br\n\
    inet 10.0.0.100/32 scope global mgmt-br\n    inet6 fe80::1/64 scope link\n\
5: flannel.1: <BROADCAST,UP> mtu 1450\n    inet 10.52.0.0/32 scope global flannel.1\n\
7: cali123@if3    inet 10.52.0.9/32 scope global cali123\n\
3: eth1    inet6 2001:db8::5/64 scope global \\       valid_lft forever\n";
        let got: Vec<String> = ip_addr_addresses(text).into_iter().collect();
        assert_eq!(got, ["10.0.0.100", "10.0.0.5", "2001:db8::5"]);
    }

    #[test]
    fn file_roles_rules() {
        // Nodes whose files were read (the files in `files`, their directories in `present`).
        let set = |v: &[&str]| {
            let mut n = Node::default();
            for p in v {
                add_host_path(
                    &mut n,
                    0,
                    p.to_string(),
                    Logical {
                        tree: &InputTree::default(),
                        path: p,
                    },
                    true,
                );
            }
            assert!(v.iter().all(|p| n.has_path(p) && !n.present.contains(*p)));
            n
        };
        let server = set(&[
            layout::CaFile::ServerCa.host_path(),
            layout::CaFile::EtcdServerCa.host_path(),
            layout::APISERVER_MANIFEST,
        ]);
        let mut r = file_roles(&server);
        finish_roles(&mut r, None, false);
        assert_eq!(
            r,
            [Role::ControlPlane, Role::Etcd, Role::Server]
                .into_iter()
                .collect()
        );
        let agent = set(&[layout::CLIENT_KUBELET_CERT]);
        let mut r = file_roles(&agent);
        finish_roles(&mut r, None, false);
        assert_eq!(r, [Role::Agent].into_iter().collect());
        let witness = set(&[
            layout::CaFile::EtcdPeerCa.host_path(),
            layout::WITNESS_DROP_IN,
        ]);
        let mut r = file_roles(&witness);
        finish_roles(&mut r, None, false);
        assert_eq!(
            r,
            [Role::Etcd, Role::Witness, Role::Server]
                .into_iter()
                .collect()
        );
        let mut r = file_roles(&set(&["etc/passwd"]));
        finish_roles(&mut r, None, false);
        assert!(r.is_empty());
    }
}
