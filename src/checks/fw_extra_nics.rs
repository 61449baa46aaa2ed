//! FW006, extra NICs of host networks not jumped to the host firewall chain, from two kinds of
//! evidence: a node snapshot's `ip addr` (the interfaces that carry a host address) and, for a
//! node without it, Harvester's network objects of a support bundle
//! (`network.harvesterhci.io`): `VlanConfig` (`spec.clusterNetwork`, `spec.nodeSelector`,
//! `spec.uplink.nics`: which nodes carry a cluster network, on the bridge
//! `<clusternetwork>-br`) and `HostNetworkConfig` (`spec.clusterNetwork`, `spec.vlanID`,
//! `spec.nodeSelector`, `spec.mode`: a host address on that network, on the VLAN interface
//! `<clusternetwork>-br.<vlanID>`). The live chains are the model's `firewalls` (both iptables
//! backends).

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use super::common::object_origin;
use super::firewall::{bridge_chain, by_node, firewalls};
use super::rule::{Findings, Need, Verdict};
use super::{Context, Origin};
use crate::layout;
use crate::snapshot::value::{as_str, get, str_at};

/// The API group of Harvester's network objects.
pub const NETWORK_GROUP: &str = "network.harvesterhci.io";
/// The lists of that group a bundle may hold: any of them shows the collector listed the group
/// (it skips empty lists), so an absent `hostnetworkconfigs.yaml` means none.
const NETWORK_PLURALS: [&str; 4] = [
    "clusternetworks",
    "vlanconfigs",
    "hostnetworkconfigs",
    "nodenetworks",
];
/// Harvester's management cluster network, present on every node (bridge `mgmt-br`).
const MGMT_NETWORK: &str = "mgmt";

/// A cluster network a `VlanConfig` puts on a node.
#[derive(Debug)]
struct Uplink {
    cluster_network: String,
    vlanconfig: String,
    nics: Vec<String>,
    origin: Origin,
}

/// A host address a `HostNetworkConfig` gives a node on a cluster network.
#[derive(Debug)]
struct HostNet {
    object: String,
    cluster_network: String,
    vlan: u64,
    /// The VLAN interface the address sits on: `<clusternetwork>-br.<vlanID>`.
    iface: String,
    /// The node's address as the object states it (`status.nodeStatus`, `spec.ips`).
    address: Option<String>,
    origin: Origin,
}

/// What the bundle's network objects say per node.
#[derive(Debug, Default)]
struct NetObjects {
    /// A bundle lists the `network.harvesterhci.io` group.
    listed: bool,
    uplinks: BTreeMap<String, Vec<Uplink>>,
    host: BTreeMap<String, Vec<HostNet>>,
}

/// True when a `LabelSelector` (`matchLabels`, `matchExpressions` with `In`, `NotIn`, `Exists`,
/// `DoesNotExist`) selects `labels`; an absent or empty selector selects every node. An unknown
/// operator selects nothing.
fn selects(selector: Option<&Value>, labels: &BTreeMap<String, String>) -> bool {
    let Some(sel) = selector else {
        return true;
    };
    let by_labels = get(sel, &["matchLabels"])
        .and_then(Value::as_object)
        .is_none_or(|m| {
            m.iter()
                .all(|(k, v)| as_str(v).is_some_and(|v| labels.get(k).is_some_and(|l| l == v)))
        });
    let exprs = get(sel, &["matchExpressions"])
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    by_labels
        && exprs.iter().all(|e| {
            let key = str_at(e, &["key"]).unwrap_or_default();
            let values: Vec<&str> = get(e, &["values"])
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(as_str).collect())
                .unwrap_or_default();
            let have = labels.get(key).map(String::as_str);
            match str_at(e, &["operator"]) {
                Some("In") => have.is_some_and(|h| values.contains(&h)),
                Some("NotIn") => have.is_none_or(|h| !values.contains(&h)),
                Some("Exists") => have.is_some(),
                Some("DoesNotExist") => have.is_none(),
                _ => false,
            }
        })
}

/// The bundle's network objects, matched to the nodes whose labels the bundle's Node objects
/// give.
fn read(cx: &Context) -> NetObjects {
    let snap = cx.snapshot;
    let nodes = &cx.model.hostfw.labels;
    let mut out = NetObjects {
        listed: NETWORK_PLURALS
            .iter()
            .any(|p| super::rancher::listed(snap, NETWORK_GROUP, p)),
        ..NetObjects::default()
    };
    let of_group = |kind: &'static str| {
        snap.objects_of(kind)
            .filter(|o| o.api_version.starts_with(NETWORK_GROUP))
    };
    for o in of_group("VlanConfig") {
        let Some(cn) = str_at(&o.value, &["spec", "clusterNetwork"]) else {
            continue;
        };
        let selector: BTreeMap<String, String> = get(&o.value, &["spec", "nodeSelector"])
            .and_then(Value::as_object)
            .map(|m| {
                m.iter()
                    .filter_map(|(k, v)| as_str(v).map(|v| (k.clone(), v.to_string())))
                    .collect()
            })
            .unwrap_or_default();
        let nics: Vec<String> = get(&o.value, &["spec", "uplink", "nics"])
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(as_str).map(str::to_string).collect())
            .unwrap_or_default();
        for (node, labels) in nodes {
            if selector.iter().all(|(k, v)| labels.get(k) == Some(v)) {
                out.uplinks.entry(node.clone()).or_default().push(Uplink {
                    cluster_network: cn.to_string(),
                    vlanconfig: o.name.clone(),
                    nics: nics.clone(),
                    origin: object_origin(snap, o, ""),
                });
            }
        }
    }
    for o in of_group("HostNetworkConfig") {
        let (Some(cn), Some(vlan)) = (
            str_at(&o.value, &["spec", "clusterNetwork"]),
            get(&o.value, &["spec", "vlanID"]).and_then(Value::as_u64),
        ) else {
            continue;
        };
        let selector = get(&o.value, &["spec", "nodeSelector"]);
        for (node, labels) in nodes {
            let carried = cn == MGMT_NETWORK
                || out
                    .uplinks
                    .get(node)
                    .is_some_and(|u| u.iter().any(|u| u.cluster_network == cn));
            if !carried || !selects(selector, labels) {
                continue;
            }
            let address = ["ipv4", "ipv6"]
                .iter()
                .find_map(|f| str_at(&o.value, &["status", "nodeStatus", node, "network", f]))
                .or_else(|| str_at(&o.value, &["spec", "ips", node]))
                .map(str::to_string);
            out.host.entry(node.clone()).or_default().push(HostNet {
                object: o.name.clone(),
                cluster_network: cn.to_string(),
                vlan,
                iface: format!("{cn}-br.{vlan}"),
                address,
                origin: object_origin(snap, o, ""),
            });
        }
    }
    out
}

impl NetObjects {
    /// The network objects behind interface `iface` of `node`: a phrase for the message and the
    /// object's place.
    fn behind(&self, node: &str, iface: &str) -> Option<(String, Origin)> {
        if let Some(h) = self
            .host
            .get(node)
            .into_iter()
            .flatten()
            .find(|h| h.iface == iface)
        {
            return Some((
                format!(
                    " (HostNetworkConfig {} on cluster network {}, VLAN {})",
                    h.object, h.cluster_network, h.vlan
                ),
                h.origin.clone(),
            ));
        }
        self.uplinks
            .get(node)
            .into_iter()
            .flatten()
            .find(|u| {
                let bridge = format!("{}-br", u.cluster_network);
                iface == bridge || iface.starts_with(&format!("{bridge}."))
            })
            .map(|u| {
                (
                    format!(
                        " (cluster network {} of VlanConfig {}, uplink {})",
                        u.cluster_network,
                        u.vlanconfig,
                        u.nics.join(",")
                    ),
                    u.origin.clone(),
                )
            })
    }
}

/// True when an INPUT rule's `-i` value covers `iface`: the same name, or iptables' prefix
/// wildcard (`storage-br+`).
fn covers(jumped: &str, iface: &str) -> bool {
    jumped == iface
        || jumped
            .strip_suffix('+')
            .is_some_and(|prefix| iface.starts_with(prefix))
}

/// True for an interface of the container network, not a host network.
fn is_container_iface(name: &str) -> bool {
    const PREFIXES: &[&str] = &[
        "cni",
        "flannel",
        "cali",
        "vxlan",
        "tunl",
        "kube-ipvs",
        "docker",
        "veth",
        "genev_sys",
        "ovn",
        "ovs",
        "br-int",
        "nodelocaldns",
        "cilium",
        "lxc",
    ];
    PREFIXES.iter().any(|p| name.starts_with(p))
}

pub(super) fn fw006(cx: &Context, out: &mut Findings) -> Verdict {
    let fws = match firewalls(cx) {
        Ok(f) => f,
        Err(v) => return v,
    };
    let nets = read(cx);
    let mut by_addr = Vec::new();
    let mut by_objects = Vec::new();
    let mut with_chain = 0;
    for (node, backends) in by_node(&fws) {
        // Every backend that attaches a chain for the bridge, with its chain: an interface is
        // filtered when any of them sends it to its chain (the kernel runs them all).
        let chains: Vec<_> = backends
            .iter()
            .filter_map(|fw| {
                let filter = fw.rules.filter()?;
                bridge_chain(filter).map(|(chain, _)| (*fw, filter, chain))
            })
            .collect();
        let Some(&(fw, _, chain)) = chains.first() else {
            continue;
        };
        with_chain += 1;
        let jumped: BTreeSet<&str> = chains
            .iter()
            .flat_map(|(_, filter, chain)| {
                filter
                    .chain("INPUT")
                    .map(|c| c.rules.as_slice())
                    .unwrap_or_default()
                    .iter()
                    .filter(|r| {
                        r.jump.as_deref().or(r.goto.as_deref()) == Some(chain.name.as_str())
                    })
                    .filter_map(|r| r.in_interface.as_ref().filter(|n| !n.negated))
                    .map(|n| n.value.as_str())
            })
            .collect();
        let covered = |iface: &str| jumped.iter().any(|j| covers(j, iface));
        let remedy = |iface: &str| {
            format!(
                "add `iptables -A INPUT -i {iface} -j {}` (and its `-D` to the cleanup) in the CloudInit that persists the chain",
                chain.name
            )
        };
        if let Some((origin, ifaces)) = cx.model.hostfw.interfaces.get(node) {
            by_addr.push(node.as_str());
            for i in ifaces {
                let host_addr = i.addresses.iter().any(|a| !a.starts_with("fe80:"));
                if !host_addr
                    || i.name == "lo"
                    || i.name == layout::MGMT_BRIDGE
                    || is_container_iface(&i.name)
                    || covered(&i.name)
                {
                    continue;
                }
                let (via, object) = nets.behind(node, &i.name).unzip();
                let mut evidence = vec![
                    origin.clone().at(Some(format!("line {}", i.line))),
                    fw.origin.clone(),
                ];
                evidence.extend(object);
                out.add(
                    Some(node.clone()),
                    Some(format!("interface {}", i.name)),
                    format!(
                        "on {node}, {}{} carries a host address ({}) but no INPUT rule sends its traffic to {}: every open port is reachable on that network",
                        i.name,
                        via.unwrap_or_default(),
                        i.addresses.join(", "),
                        chain.name
                    ),
                    evidence,
                    remedy(&i.name),
                );
            }
            continue;
        }
        if !nets.listed || !cx.model.hostfw.labels.contains_key(node) {
            continue;
        }
        by_objects.push(node.as_str());
        for h in nets.host.get(node).into_iter().flatten() {
            if covered(&h.iface) {
                continue;
            }
            let address = h
                .address
                .as_deref()
                .map_or(String::new(), |a| format!(" ({a})"));
            out.add(
                Some(node.clone()),
                Some(format!("interface {}", h.iface)),
                format!(
                    "on {node}, HostNetworkConfig {} gives the host an address{address} on cluster network {} (VLAN {}, interface {}) but no INPUT rule sends that interface's traffic to {}: every open port is reachable on that network",
                    h.object, h.cluster_network, h.vlan, h.iface, chain.name
                ),
                vec![h.origin.clone(), fw.origin.clone()],
                remedy(&h.iface),
            );
        }
    }
    if with_chain == 0 {
        return Verdict::not_applicable(format!(
            "no node has a chain attached to INPUT for {} (FW001)",
            layout::MGMT_BRIDGE
        ));
    }
    if by_addr.is_empty() && by_objects.is_empty() {
        return Verdict::not_evaluable(
            "no `ip addr` output from the nodes with a host firewall chain, and no Harvester network objects (network.harvesterhci.io, with the nodes' labels) for them",
            Need::NodeCommands,
        );
    }
    let mut scope = Vec::new();
    if !by_addr.is_empty() {
        scope.push(format!("{} by ip addr", by_addr.join(",")));
    }
    if !by_objects.is_empty() {
        scope.push(format!(
            "{} by HostNetworkConfig objects (VlanConfig-only cluster networks carry VM traffic, no host address)",
            by_objects.join(",")
        ));
    }
    let scope = scope.join("; ");
    Verdict::judged(
        format!("{} interface(s) outside the chain ({scope})", out.len()),
        format!("every host interface is jumped to the chain ({scope})"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn label_selectors_match_as_kubernetes_does() {
        let node = labels(&[("zone", "a"), ("storage", "true")]);
        assert!(selects(None, &node));
        assert!(selects(Some(&serde_json::json!({})), &node));
        let sel = serde_json::json!({"matchLabels": {"zone": "a"}});
        assert!(selects(Some(&sel), &node));
        let sel = serde_json::json!({"matchLabels": {"zone": "b"}});
        assert!(!selects(Some(&sel), &node));
        let sel = serde_json::json!({"matchExpressions": [
            {"key": "zone", "operator": "In", "values": ["a", "c"]},
            {"key": "gpu", "operator": "DoesNotExist"}
        ]});
        assert!(selects(Some(&sel), &node));
        let sel = serde_json::json!({"matchExpressions": [{"key": "zone", "operator": "NotIn", "values": ["a"]}]});
        assert!(!selects(Some(&sel), &node));
        let sel = serde_json::json!({"matchExpressions": [{"key": "zone", "operator": "Gt", "values": ["1"]}]});
        assert!(!selects(Some(&sel), &node));
    }

    #[test]
    fn a_prefix_wildcard_covers_the_vlan_interfaces() {
        assert!(covers("storage-br.100", "storage-br.100"));
        assert!(covers("storage-br+", "storage-br.100"));
        assert!(covers("+", "eth1"));
        assert!(!covers("storage-br", "storage-br.100"));
        assert!(!covers("mgmt-br+", "storage-br.100"));
    }
}
