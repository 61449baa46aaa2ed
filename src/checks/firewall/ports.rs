//! The host firewall guide's role port matrix, declared once ([`PORTS`]), and what a node's
//! filtering chain accepts: read by FW002 (required ports not accepted), FW007 (ports accepted
//! beyond the role's needs), FW008 (drop logs of a port the role needs) and FW010 (ICMP, DHCP).
//!
//! Roles come from the snapshot (server = control-plane, agent = worker, witness); add-on rows
//! (rancher-monitoring, kubeovn-operator) count only when the support bundle's Harvester `Addon`
//! object of that add-on is enabled. Source: `seeds/harvester-host-firewall.txt` (the
//! role-specific CloudInit examples, port by port) and rules.md (role port matrix).

use std::collections::BTreeSet;
use std::net::IpAddr;

use super::super::Context;
use super::super::rule::Verdict;
use crate::layout;
use crate::model::Firewall;
use crate::parse::iptables::{Chain, PortRange, Rule as IptRule, Table};
use crate::snapshot::value::bool_at;
use crate::snapshot::{Node, Role, Snapshot};
use crate::vocab::Origin;

/// A transport protocol of the matrix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Proto {
    Tcp,
    Udp,
}

impl Proto {
    pub fn as_str(self) -> &'static str {
        match self {
            Proto::Tcp => "tcp",
            Proto::Udp => "udp",
        }
    }

    /// The protocol of `-p` (`tcp`, `6`, `udp`, `17`), or of a log's `PROTO=`.
    pub fn of(p: &str) -> Option<Proto> {
        match p.to_ascii_lowercase().as_str() {
            "tcp" | "6" => Some(Proto::Tcp),
            "udp" | "17" => Some(Proto::Udp),
            _ => None,
        }
    }
}

/// A node role of the matrix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum NodeRole {
    ControlPlane,
    Worker,
    Witness,
}

impl NodeRole {
    pub fn as_str(self) -> &'static str {
        match self {
            NodeRole::ControlPlane => "control-plane",
            NodeRole::Worker => "worker",
            NodeRole::Witness => "witness",
        }
    }
}

/// An add-on whose ports the guide opens only when it is installed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Addon {
    RancherMonitoring,
    KubeovnOperator,
}

impl Addon {
    /// The Harvester `Addon` object's name.
    pub fn name(self) -> &'static str {
        match self {
            Addon::RancherMonitoring => "rancher-monitoring",
            Addon::KubeovnOperator => "kubeovn-operator",
        }
    }

    const ALL: [Addon; 2] = [Addon::RancherMonitoring, Addon::KubeovnOperator];
}

/// One row of the matrix: a port or range, the roles that need it, the add-on that opens it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PortRow {
    pub proto: Proto,
    pub ports: PortRange,
    pub roles: &'static [NodeRole],
    pub addon: Option<Addon>,
    /// What listens there, as the guide's comment says.
    pub purpose: &'static str,
}

impl PortRow {
    /// `tcp 2379-2380`.
    pub fn label(&self) -> String {
        format!("{} {}", self.proto.as_str(), range_text(self.ports))
    }

    /// The guide's rule for this row.
    pub fn guide_rule(&self, chain: &str) -> String {
        let p = if self.ports.lo == self.ports.hi {
            self.ports.lo.to_string()
        } else {
            format!("{}:{}", self.ports.lo, self.ports.hi)
        };
        format!(
            "iptables -A {chain} -p {} --dport {p} -m comment --comment \"{}\" -j ACCEPT",
            self.proto.as_str(),
            self.purpose
        )
    }
}

use NodeRole::{ControlPlane as CP, Witness as WIT, Worker as WK};

const ALL: &[NodeRole] = &[CP, WK, WIT];
const CP_WK: &[NodeRole] = &[CP, WK];
const CP_WIT: &[NodeRole] = &[CP, WIT];
const CP_ONLY: &[NodeRole] = &[CP];
const WK_ONLY: &[NodeRole] = &[WK];

const fn row(
    proto: Proto,
    lo: u16,
    hi: u16,
    roles: &'static [NodeRole],
    addon: Option<Addon>,
    purpose: &'static str,
) -> PortRow {
    PortRow {
        proto,
        ports: PortRange { lo, hi },
        roles,
        addon,
        purpose,
    }
}

const TCP: Proto = Proto::Tcp;
const UDP: Proto = Proto::Udp;
const MON: Option<Addon> = Some(Addon::RancherMonitoring);
const OVN: Option<Addon> = Some(Addon::KubeovnOperator);

/// The role port matrix of the host firewall guide, port by port.
#[rustfmt::skip]
pub static PORTS: &[PortRow] = &[
    row(TCP, 22, 22, ALL, None, "SSH"),
    row(TCP, 80, 80, CP_WK, None, "Harvester UI HTTP"),
    row(TCP, 443, 443, CP_WK, None, "Harvester UI HTTPS"),
    row(TCP, 2112, 2112, CP_ONLY, None, "kube-vip Prometheus metrics"),
    row(TCP, 2379, 2380, CP_WIT, None, "etcd client/peer"),
    row(TCP, 6443, 6443, CP_ONLY, None, "Kubernetes API server"),
    row(TCP, 9091, 9091, ALL, None, "calico-node metrics (Prometheus)"),
    row(TCP, 9345, 9345, CP_WIT, None, "RKE2 supervisor API"),
    row(TCP, 10250, 10250, ALL, None, "kubelet API"),
    row(TCP, 30000, 32767, CP_WK, None, "NodePort TCP range"),
    row(UDP, 30000, 32767, CP_WK, None, "NodePort UDP range"),
    row(UDP, 8472, 8472, ALL, None, "VXLAN (Flannel/Canal)"),
    row(TCP, 9796, 9796, ALL, MON, "Prometheus node-exporter metrics (rancher-monitoring)"),
    row(TCP, 8080, 8080, CP_WK, OVN, "kube-ovn-webhook HTTP (kubeovn-operator)"),
    row(TCP, 8443, 8443, CP_WK, OVN, "kube-ovn-webhook HTTPS (kubeovn-operator)"),
    row(TCP, 6641, 6644, CP_ONLY, OVN, "OVN NB/SB DB, Northd, and Raft (kubeovn-operator)"),
    row(TCP, 10660, 10660, WK_ONLY, OVN, "kube-ovn-controller (kubeovn-operator)"),
    row(TCP, 10661, 10661, CP_ONLY, OVN, "kube-ovn-monitor metrics (kubeovn-operator)"),
    row(TCP, 10665, 10665, ALL, OVN, "kube-ovn-daemon (kubeovn-operator)"),
    row(UDP, 4789, 4789, ALL, OVN, "VXLAN (Kube-OVN, kubeovn-operator)"),
];

/// The DHCP accepts of every role (protocol rules, judged by FW010, never beyond a role's needs).
pub static DHCP: [PortRow; 2] = [
    row(UDP, 68, 68, ALL, None, "DHCP server reply"),
    row(UDP, 67, 67, ALL, None, "DHCP client request"),
];

/// A node's role in the matrix: witness, else control-plane for a server (or a node labelled
/// control-plane, master or etcd), else worker for an agent; `None` when nothing says.
pub fn role_of(node: &Node) -> Option<NodeRole> {
    let has = |r: Role| node.roles.contains(&r);
    if has(Role::Witness) {
        Some(WIT)
    } else if has(Role::ControlPlane) || has(Role::Master) || has(Role::Server) || has(Role::Etcd) {
        Some(CP)
    } else if has(Role::Agent) || has(Role::Worker) {
        Some(WK)
    } else {
        None
    }
}

/// What the inputs say of the add-ons: unknown without Harvester `Addon` objects (no support
/// bundle, or a release before add-ons, whose monitoring was built in), else the enabled ones
/// with where each was read.
#[derive(Debug, Clone, Default)]
pub struct Addons {
    /// True when the inputs hold Harvester `Addon` objects (Harvester lists every add-on it
    /// ships, enabled or not): their `spec.enabled` is the truth.
    pub known: bool,
    pub enabled: Vec<(Addon, Origin)>,
}

impl Addons {
    /// Read the enabled Harvester `Addon` objects (`harvesterhci.io`, `spec.enabled: true`).
    pub fn of(snap: &Snapshot) -> Addons {
        let mut enabled = Vec::new();
        let mut known = false;
        for o in snap.objects_of("Addon") {
            if !o.api_version.starts_with("harvesterhci.io/") {
                continue;
            }
            known = true;
            if bool_at(&o.value, &["spec", "enabled"]) != Some(true) {
                continue;
            }
            if let Some(a) = Addon::ALL.iter().find(|a| a.name() == o.name) {
                let input = snap.trees.get(o.input).map_or("", |t| t.name.as_str());
                enabled.push((*a, Origin::new(input, o.path.as_str())));
            }
        }
        enabled.sort_by_key(|(a, _)| *a);
        enabled.dedup_by_key(|(a, _)| *a);
        Addons { known, enabled }
    }

    /// True when `addon` is known to be enabled.
    pub fn is_enabled(&self, addon: Addon) -> bool {
        self.enabled.iter().any(|(a, _)| *a == addon)
    }

    /// The add-on rows' status, one sentence for a verdict or a finding.
    pub fn describe(&self) -> String {
        if !self.known {
            return "add-on rows (rancher-monitoring 9796, kubeovn-operator) not judged: no Harvester Addon object in the inputs (no support bundle, or a release before add-ons), so the installed add-ons are unknown".into();
        }
        if self.enabled.is_empty() {
            return "no add-on that opens ports is enabled".into();
        }
        let names: Vec<&str> = self.enabled.iter().map(|(a, _)| a.name()).collect();
        format!("enabled add-ons: {}", names.join(", "))
    }
}

/// The rows `role` needs: its own rows, and the add-on rows of the enabled add-ons; with
/// `unknown_addons_too`, also the add-on rows of add-ons the inputs cannot tell about.
pub fn rows_for(
    role: NodeRole,
    addons: &Addons,
    unknown_addons_too: bool,
) -> impl Iterator<Item = &'static PortRow> + '_ {
    PORTS.iter().filter(move |r| {
        r.roles.contains(&role)
            && r.addon
                .is_none_or(|a| addons.is_enabled(a) || (unknown_addons_too && !addons.known))
    })
}

/// The chain that filters a node's inbound management traffic: the chain INPUT sends `mgmt-br`
/// to, else INPUT itself when its policy is DROP.
pub fn filtering_chain(filter: &Table) -> Option<&Chain> {
    super::bridge_chain(filter).map(|(c, _)| c).or_else(|| {
        filter
            .chain("INPUT")
            .filter(|c| c.policy.as_deref() == Some("DROP"))
    })
}

/// One accept of ports in a chain: the protocol (`None`: every protocol), the ports and the
/// rule's line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Accept {
    pub proto: Option<Proto>,
    pub ports: PortRange,
    /// True when the rule names no port (every port of its protocol).
    pub any_port: bool,
    pub line: usize,
}

/// An accept that does not count: limited to a source that leaves out some node address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Restricted {
    pub accept: Accept,
    pub source: String,
    pub left_out: String,
}

/// What a chain accepts before its first catch-all DROP: ICMP, ports, and accepts limited to a
/// source that leaves out a node of the cluster.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Accepted {
    pub icmp: Option<usize>,
    pub ports: Vec<Accept>,
    pub restricted: Vec<Restricted>,
}

const FULL: PortRange = PortRange {
    lo: 0,
    hi: u16::MAX,
};

/// True when the rule can match traffic that reached the chain on the management bridge.
fn on_bridge(r: &IptRule) -> bool {
    r.in_interface
        .as_ref()
        .is_none_or(|i| i.negated != (i.value == layout::MGMT_BRIDGE))
}

/// The addresses of the cluster's nodes (IP literals only).
pub fn node_ips(snap: &Snapshot) -> Vec<IpAddr> {
    let set: BTreeSet<IpAddr> = snap
        .nodes
        .values()
        .flat_map(|n| n.addresses.iter())
        .filter_map(|a| a.parse().ok())
        .collect();
    set.into_iter().collect()
}

/// The first of `ips` a source match (`10.0.0.0/24`, `10.0.0.5`) leaves out.
fn left_out(source: &str, ips: &[IpAddr]) -> Option<IpAddr> {
    let (net, len) = source.split_once('/').unwrap_or((source, ""));
    let Ok(net) = net.parse::<IpAddr>() else {
        return None;
    };
    let bits = |ip: IpAddr| -> (u128, u32) {
        match ip {
            IpAddr::V4(v) => (u128::from(u32::from(v)), 32),
            IpAddr::V6(v) => (u128::from(v), 128),
        }
    };
    let (n, width) = bits(net);
    let len = if len.is_empty() {
        width
    } else {
        len.parse::<u32>().ok()?.min(width)
    };
    let mask = |x: u128| {
        if len == 0 { 0 } else { x >> (width - len) }
    };
    ips.iter()
        .copied()
        .filter(|ip| bits(*ip).1 == width)
        .find(|ip| mask(bits(*ip).0) != mask(n))
}

/// What `chain` accepts for new traffic arriving on the management bridge, up to its first rule
/// that drops everything; `ips` are the node addresses a source restriction must cover.
pub fn accepted(chain: &Chain, ips: &[IpAddr]) -> Accepted {
    let mut out = Accepted::default();
    for r in &chain.rules {
        if super::drops_everything(r) {
            break;
        }
        if r.jump.as_deref() != Some("ACCEPT") || !on_bridge(r) {
            continue;
        }
        // Return traffic only (the established accept): no new connection.
        if !r.states.is_empty() && !r.states.iter().any(|s| s == "NEW") {
            continue;
        }
        let proto = match &r.protocol {
            None => None,
            Some(p) if p.negated => continue,
            Some(p) if matches!(p.value.to_ascii_lowercase().as_str(), "icmp" | "1") => {
                if r.source.is_none() {
                    out.icmp.get_or_insert(r.line);
                }
                continue;
            }
            Some(p) if matches!(p.value.to_ascii_lowercase().as_str(), "all" | "0") => None,
            Some(p) => match Proto::of(&p.value) {
                Some(p) => Some(p),
                None => continue,
            },
        };
        let mk = |ports: PortRange, any_port: bool| Accept {
            proto,
            ports,
            any_port,
            line: r.line,
        };
        let accepts: Vec<Accept> = if r.dports.is_empty() {
            vec![mk(FULL, true)]
        } else {
            r.dports.iter().map(|p| mk(*p, false)).collect()
        };
        // Without a known node address, an accept of every port from a source is taken for
        // the pod-network return accept (FW011's), never for a port accept.
        let restriction = r.source.as_ref().filter(|s| !s.negated).and_then(|s| {
            let out = match left_out(&s.value, ips) {
                Some(ip) => ip.to_string(),
                None if ips.is_empty() && r.dports.is_empty() => "(node addresses unknown)".into(),
                None => return None,
            };
            Some((s.value.clone(), out))
        });
        match restriction {
            Some((source, left)) => {
                out.restricted
                    .extend(accepts.into_iter().map(|accept| Restricted {
                        accept,
                        source: source.clone(),
                        left_out: left.clone(),
                    }))
            }
            None => {
                if proto.is_none() && r.dports.is_empty() {
                    out.icmp.get_or_insert(r.line);
                }
                out.ports.extend(accepts);
            }
        }
    }
    out
}

/// A node's filtering chain with its role and what it accepts.
#[derive(Debug)]
pub struct NodeChain<'a> {
    pub node: &'a str,
    pub fw: &'a Firewall,
    pub chain: &'a Chain,
    pub role: Option<NodeRole>,
    pub accepted: Accepted,
}

impl NodeChain<'_> {
    /// `n1 (control-plane)`, and which tables when the chain is in the legacy ones.
    pub fn who(&self) -> String {
        format!(
            "{} ({}){}",
            self.node,
            self.role.map_or("role unknown", NodeRole::as_str),
            super::in_backend(self.fw)
        )
    }

    /// The chain's place in the node's iptables-save, for evidence.
    pub fn origin(&self) -> Origin {
        self.fw
            .origin
            .clone()
            .at(Some(format!("chain {}", self.chain.name)))
    }
}

/// The filtering chain of every node that has one, in node order; not evaluable without any
/// node's iptables-save.
pub fn node_chains<'a>(cx: &Context<'a>) -> Result<Vec<NodeChain<'a>>, Verdict> {
    let fws = super::firewalls(cx)?;
    let ips = node_ips(cx.snapshot);
    Ok(fws
        .into_iter()
        .filter_map(|(node, fw)| {
            let chain = fw.rules.filter().and_then(filtering_chain)?;
            Some(NodeChain {
                node,
                fw,
                chain,
                role: cx.snapshot.nodes.get(node).and_then(role_of),
                accepted: accepted(chain, &ips),
            })
        })
        .collect())
}

/// [`node_chains`], or not applicable when no node has a filtering chain (FW001 reports it).
pub fn some_chains<'a>(cx: &Context<'a>) -> Result<Vec<NodeChain<'a>>, Verdict> {
    let chains = node_chains(cx)?;
    if chains.is_empty() {
        return Err(Verdict::not_applicable(format!(
            "no node has a filtering chain for {} (FW001 reports that)",
            layout::MGMT_BRIDGE
        )));
    }
    Ok(chains)
}

impl Accepted {
    /// The ports of `range` (of `proto`) no counted accept covers, as ranges.
    pub fn uncovered(&self, proto: Proto, range: PortRange) -> Vec<PortRange> {
        let covers: Vec<PortRange> = self
            .ports
            .iter()
            .filter(|a| a.proto.is_none_or(|p| p == proto))
            .map(|a| a.ports)
            .collect();
        subtract(range, &covers)
    }

    /// The restricted accept that names `port` of `proto` (not one of every port, such as the
    /// pod-network accept).
    pub fn restricted_for(&self, proto: Proto, port: u16) -> Option<&Restricted> {
        self.restricted.iter().find(|r| {
            !r.accept.any_port
                && r.accept.proto.is_none_or(|p| p == proto)
                && r.accept.ports.contains(port)
        })
    }
}

/// `range` minus every range of `minus`, as sorted disjoint ranges.
pub fn subtract(range: PortRange, minus: &[PortRange]) -> Vec<PortRange> {
    let mut left = vec![range];
    for m in minus {
        left = left
            .into_iter()
            .flat_map(|r| {
                let mut parts = Vec::new();
                if m.hi < r.lo || m.lo > r.hi {
                    parts.push(r);
                    return parts;
                }
                if m.lo > r.lo {
                    parts.push(PortRange {
                        lo: r.lo,
                        hi: m.lo - 1,
                    });
                }
                if m.hi < r.hi {
                    parts.push(PortRange {
                        lo: m.hi + 1,
                        hi: r.hi,
                    });
                }
                parts
            })
            .collect();
    }
    left
}

/// `22` or `30000-32767`.
pub fn range_text(r: PortRange) -> String {
    if r.lo == r.hi {
        r.lo.to_string()
    } else {
        format!("{}-{}", r.lo, r.hi)
    }
}

/// `22, 30000-32767`.
pub fn ranges_text(rs: &[PortRange]) -> String {
    rs.iter()
        .map(|r| range_text(*r))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::iptables::parse;

    fn pr(lo: u16, hi: u16) -> PortRange {
        PortRange { lo, hi }
    }

    #[test]
    fn the_matrix_follows_the_guide_per_role() {
        let none = Addons {
            known: true,
            enabled: Vec::new(),
        };
        let labels = |role| {
            rows_for(role, &none, false)
                .map(PortRow::label)
                .collect::<Vec<_>>()
        };
        assert_eq!(
            labels(NodeRole::Witness),
            [
                "tcp 22",
                "tcp 2379-2380",
                "tcp 9091",
                "tcp 9345",
                "tcp 10250",
                "udp 8472"
            ]
        );
        assert!(labels(NodeRole::Worker).contains(&"udp 30000-32767".to_string()));
        assert!(!labels(NodeRole::Worker).contains(&"tcp 6443".to_string()));
        assert_eq!(labels(NodeRole::ControlPlane).len(), 12);
        let all = Addons {
            known: true,
            enabled: vec![
                (Addon::KubeovnOperator, Origin::default()),
                (Addon::RancherMonitoring, Origin::default()),
            ],
        };
        let wk: Vec<String> = rows_for(NodeRole::Worker, &all, false)
            .map(PortRow::label)
            .collect();
        assert!(wk.contains(&"tcp 10660".to_string()) && !wk.contains(&"tcp 10661".to_string()));
        // Unknown add-ons: skipped when required, allowed when asked.
        let unknown = Addons::default();
        assert_eq!(rows_for(NodeRole::Witness, &unknown, false).count(), 6);
        assert_eq!(rows_for(NodeRole::Witness, &unknown, true).count(), 9);
    }

    #[test]
    fn accepts_read_multiport_ranges_and_stop_at_the_drop() {
        let rs = parse(
            b"*filter\n:INPUT ACCEPT [0:0]\n:HARVESTER_INPUT - [0:0]\n-A INPUT -i mgmt-br -j HARVESTER_INPUT\n-A HARVESTER_INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n-A HARVESTER_INPUT -p icmp -j ACCEPT\n-A HARVESTER_INPUT -s 10.52.0.0/16 -j ACCEPT\n-A HARVESTER_INPUT -p tcp -m multiport --dports 22,2379:2380 -j ACCEPT\n-A HARVESTER_INPUT -s 192.168.1.0/24 -p tcp --dport 6443 -j ACCEPT\n-A HARVESTER_INPUT -i eth9 -p tcp --dport 9345 -j ACCEPT\n-A HARVESTER_INPUT -j DROP\n-A HARVESTER_INPUT -p tcp --dport 10250 -j ACCEPT\nCOMMIT\n",
        );
        let chain = filtering_chain(rs.filter().expect("filter")).expect("chain");
        let ips: Vec<IpAddr> = vec!["10.0.0.11".parse().expect("ip")];
        let a = accepted(chain, &ips);
        assert_eq!(a.icmp, Some(6));
        assert_eq!(
            a.ports.iter().map(|p| p.ports).collect::<Vec<_>>(),
            [pr(22, 22), pr(2379, 2380)]
        );
        assert_eq!(a.uncovered(Proto::Tcp, pr(2379, 2380)), []);
        assert_eq!(a.uncovered(Proto::Tcp, pr(6443, 6443)), [pr(6443, 6443)]);
        let r = a.restricted_for(Proto::Tcp, 6443).expect("restricted");
        assert_eq!(
            (r.source.as_str(), r.left_out.as_str()),
            ("192.168.1.0/24", "10.0.0.11")
        );
        // The pod network accept is restricted too, and the rules after the DROP never count.
        assert_eq!(a.restricted.len(), 2);
        assert!(a.restricted_for(Proto::Udp, 53).is_none());
        assert_eq!(a.uncovered(Proto::Tcp, pr(10250, 10250)).len(), 1);
    }

    #[test]
    fn a_source_that_covers_every_node_counts() {
        let ips: Vec<IpAddr> = vec![
            "10.0.0.11".parse().expect("ip"),
            "10.0.0.12".parse().expect("ip"),
        ];
        assert_eq!(left_out("10.0.0.0/24", &ips), None);
        assert_eq!(left_out("10.0.0.11", &ips), ips.get(1).copied());
        assert_eq!(left_out("0.0.0.0/0", &ips), None);
        assert_eq!(left_out("fd00::/8", &ips), None);
        // Unknown node addresses: a port accept from a source counts, an every-port one not.
        let rs = parse(
            b"*filter\n:INPUT DROP [0:0]\n-A INPUT -s 10.52.0.0/16 -j ACCEPT\n-A INPUT -s 10.0.0.0/24 -p tcp --dport 22 -j ACCEPT\nCOMMIT\n",
        );
        let a = accepted(
            filtering_chain(rs.filter().expect("filter")).expect("INPUT"),
            &[],
        );
        assert_eq!(a.ports.len(), 1);
        assert_eq!(a.restricted.len(), 1);
        assert_eq!(a.icmp, None);
    }

    #[test]
    fn subtraction_splits_ranges() {
        assert_eq!(
            subtract(pr(30000, 32767), &[pr(30000, 30999), pr(32000, 32000)]),
            [pr(31000, 31999), pr(32001, 32767)]
        );
        assert_eq!(ranges_text(&[pr(22, 22), pr(1, 5)]), "22, 1-5");
    }
}
