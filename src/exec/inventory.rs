//! The inventory a run executes against: the cluster's nodes with their role, etcd membership,
//! address and how to reach them. It comes from `--inventory FILE` (YAML, validated with
//! file:line:col errors) or from the snapshot (names and roles from the trust state, addresses
//! from the node objects; such addresses came from a customer's bundle and are used only after
//! an explicit confirmation). Targets resolve here, for the executor and the simulator alike:
//! servers by name, then witnesses, then agents.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::journal::PinnedNode;
use crate::error::{Error, Result, Span};
use crate::rotation::state::{NodeRole, TrustState};
use crate::runbook::model::Target;

/// The largest inventory file read (thousands of nodes fit in a fraction of it).
const MAX_INVENTORY_BYTES: u64 = 4 << 20;

/// How commands reach a node.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TransportKind {
    /// `sh -c` on the machine running harrow, with the node's variables.
    Local,
    /// The system OpenSSH client.
    Ssh,
}

impl TransportKind {
    pub fn as_str(self) -> &'static str {
        match self {
            TransportKind::Local => "local",
            TransportKind::Ssh => "ssh",
        }
    }
}

/// One node of the inventory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    pub name: String,
    pub role: Option<NodeRole>,
    pub etcd: bool,
    pub apiserver: bool,
    pub address: Option<IpAddr>,
    pub transport: TransportKind,
    pub user: Option<String>,
    pub port: Option<u16>,
    /// `sudo`: commands run under `sudo -n`.
    pub become_sudo: bool,
    pub labels: Vec<String>,
}

/// The nodes of a run, by name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Inventory {
    pub nodes: BTreeMap<String, Node>,
    /// `FILE` of `--inventory FILE`, or `snapshot`.
    pub source: String,
}

/// One node as written in an inventory file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileNode {
    name: String,
    role: String,
    #[serde(default)]
    etcd: Option<bool>,
    #[serde(default)]
    address: Option<String>,
    #[serde(default)]
    transport: Option<TransportKind>,
    #[serde(default)]
    user: Option<String>,
    #[serde(default)]
    port: Option<u16>,
    #[serde(default, rename = "become")]
    become_: Option<String>,
    #[serde(default)]
    labels: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileInventory {
    nodes: Vec<FileNode>,
}

/// A DNS-1123 subdomain: lowercase letters, digits, `-` and `.`, starting and ending with a
/// letter or digit, at most 253 characters.
pub fn valid_node_name(s: &str) -> bool {
    let edge = |c: Option<char>| c.is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    s.len() <= 253
        && edge(s.chars().next())
        && edge(s.chars().last())
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.')
}

/// A login name an ssh command line may carry.
fn valid_user(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && !s.starts_with('-')
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.')
}

fn role_of(s: &str) -> Option<NodeRole> {
    match s {
        "server" => Some(NodeRole::Server),
        "agent" => Some(NodeRole::Agent),
        "witness" => Some(NodeRole::Witness),
        _ => None,
    }
}

impl Inventory {
    /// Read `--inventory FILE`.
    pub fn load(path: &Path) -> Result<Inventory> {
        use std::io::Read as _;
        let shown = path.display().to_string();
        let file =
            std::fs::File::open(path).map_err(|e| Error::input(&shown, None, e.to_string()))?;
        let mut text = String::new();
        file.take(MAX_INVENTORY_BYTES + 1)
            .read_to_string(&mut text)
            .map_err(|e| Error::input(&shown, None, e.to_string()))?;
        if text.len() as u64 > MAX_INVENTORY_BYTES {
            return Err(Error::input(
                &shown,
                None,
                format!("an inventory is at most {MAX_INVENTORY_BYTES} bytes"),
            ));
        }
        Self::parse(&shown, &text)
    }

    /// Parse an inventory's text; `shown` names it in errors.
    pub fn parse(shown: &str, text: &str) -> Result<Inventory> {
        let doc: FileInventory = serde_saphyr::from_str(text)
            .map_err(|e| crate::snapshot::yaml::syntax_error(shown, text, &e))?;
        let at = |needle: &str, message: String| {
            let line = text
                .lines()
                .position(|l| l.contains(needle))
                .map_or(1, |i| i + 1);
            let col = text
                .lines()
                .nth(line - 1)
                .and_then(|l| l.find(needle))
                .map_or(1, |c| c + 1);
            Error::syntax(shown, Some(text), Span { line, column: col }, message)
        };
        let mut nodes = BTreeMap::new();
        for n in doc.nodes {
            if !valid_node_name(&n.name) {
                return Err(at(
                    &n.name,
                    format!("node name `{}` is not a DNS-1123 name", n.name),
                ));
            }
            let Some(role) = role_of(&n.role) else {
                return Err(at(
                    &n.role,
                    format!("role `{}`: expected server, agent or witness", n.role),
                ));
            };
            let address = match &n.address {
                None => None,
                Some(a) => Some(a.parse::<IpAddr>().map_err(|_| {
                    at(
                        a,
                        format!("address `{a}` of node {} is not an IP address", n.name),
                    )
                })?),
            };
            if let Some(u) = n.user.as_deref().filter(|u| !valid_user(u)) {
                return Err(at(u, format!("user `{u}` is not a login name")));
            }
            let become_sudo = match n.become_.as_deref() {
                None => false,
                Some("sudo") => true,
                Some(b) => return Err(at(b, format!("become `{b}`: only `sudo` is known"))),
            };
            let transport = n.transport.unwrap_or(if address.is_some() {
                TransportKind::Ssh
            } else {
                TransportKind::Local
            });
            if transport == TransportKind::Ssh && address.is_none() {
                return Err(at(
                    &n.name,
                    format!("node {} uses ssh and has no address", n.name),
                ));
            }
            let node = Node {
                etcd: n.etcd.unwrap_or(role != NodeRole::Agent),
                apiserver: role == NodeRole::Server,
                name: n.name.clone(),
                role: Some(role),
                address,
                transport,
                user: n.user,
                port: n.port,
                become_sudo,
                labels: n.labels,
            };
            if nodes.insert(n.name.clone(), node).is_some() {
                return Err(at(&n.name, format!("node {} is listed twice", n.name)));
            }
        }
        if nodes.is_empty() {
            return Err(Error::input(shown, None, "the inventory lists no node"));
        }
        Ok(Inventory {
            nodes,
            source: shown.to_string(),
        })
    }

    /// The inventory of a snapshot's trust state: names and roles; addresses from the node
    /// objects when `addresses` gives them (the first IP of each node). Every node is reached
    /// over `transport`.
    pub fn from_state(
        state: &TrustState,
        addresses: &BTreeMap<String, Vec<String>>,
        transport: TransportKind,
    ) -> Inventory {
        let nodes = state
            .nodes
            .values()
            .filter(|n| valid_node_name(&n.name))
            .map(|n| {
                let address = addresses
                    .get(&n.name)
                    .into_iter()
                    .flatten()
                    .filter_map(|a| a.parse::<IpAddr>().ok())
                    .min_by_key(|ip| (ip.is_ipv6(), *ip));
                let node = Node {
                    name: n.name.clone(),
                    role: n.role,
                    etcd: n.etcd,
                    apiserver: n.apiserver,
                    address,
                    transport,
                    user: None,
                    port: None,
                    become_sudo: false,
                    labels: Vec::new(),
                };
                (n.name.clone(), node)
            })
            .collect();
        Inventory {
            nodes,
            source: "snapshot".to_string(),
        }
    }

    /// Every node reached over `kind` from now on (`--transport`).
    pub fn with_transport(mut self, kind: TransportKind) -> Inventory {
        for n in self.nodes.values_mut() {
            n.transport = kind;
        }
        self
    }

    fn of(&self, role: NodeRole) -> impl Iterator<Item = &Node> {
        self.nodes.values().filter(move |n| n.role == Some(role))
    }

    /// The nodes a target names, in the order a step takes them: servers by name, then
    /// witnesses, then agents (then nodes whose role nothing tells, for `all`).
    pub fn resolve(&self, target: &Target) -> Vec<String> {
        let names = |it: &mut dyn Iterator<Item = &Node>| -> Vec<String> {
            it.map(|n| n.name.clone()).collect()
        };
        let ordered = || {
            self.of(NodeRole::Server)
                .chain(self.of(NodeRole::Witness))
                .chain(self.of(NodeRole::Agent))
        };
        match target {
            Target::Local => Vec::new(),
            Target::FirstServer => names(&mut self.of(NodeRole::Server).take(1)),
            Target::Servers => {
                names(&mut self.of(NodeRole::Server).chain(self.of(NodeRole::Witness)))
            }
            Target::Agents => names(&mut self.of(NodeRole::Agent)),
            Target::Witnesses => names(&mut self.of(NodeRole::Witness)),
            Target::All => {
                names(&mut ordered().chain(self.nodes.values().filter(|n| n.role.is_none())))
            }
            Target::Node(n) => self
                .nodes
                .contains_key(n)
                .then(|| n.clone())
                .into_iter()
                .collect(),
            Target::Role(r) => names(&mut ordered().filter(|n| match r.as_str() {
                "etcd" => n.etcd,
                "control-plane" | "controlplane" => n.apiserver,
                other => {
                    n.role.map(NodeRole::as_str) == Some(other)
                        || n.labels.iter().any(|l| l == other)
                }
            })),
        }
    }

    /// The inventory as the journal pins it.
    pub fn pinned(&self) -> Vec<PinnedNode> {
        self.nodes
            .values()
            .map(|n| PinnedNode {
                name: n.name.clone(),
                role: n.role.map_or("unknown", NodeRole::as_str).to_string(),
                etcd: n.etcd,
                address: n.address.map(|a| a.to_string()),
                transport: n.transport.as_str().to_string(),
                user: n.user.clone(),
                port: n.port,
                become_: n.become_sudo.then(|| "sudo".to_string()),
                labels: n.labels.clone(),
            })
            .collect()
    }

    /// The inventory back from its journal pin.
    pub fn from_pinned(pinned: &[PinnedNode], source: &str) -> Inventory {
        let nodes = pinned
            .iter()
            .map(|p| {
                let role = role_of(&p.role);
                let node = Node {
                    name: p.name.clone(),
                    role,
                    etcd: p.etcd,
                    apiserver: role == Some(NodeRole::Server),
                    address: p.address.as_deref().and_then(|a| a.parse().ok()),
                    transport: if p.transport == "ssh" {
                        TransportKind::Ssh
                    } else {
                        TransportKind::Local
                    },
                    user: p.user.clone(),
                    port: p.port,
                    become_sudo: p.become_.is_some(),
                    labels: p.labels.clone(),
                };
                (p.name.clone(), node)
            })
            .collect();
        Inventory {
            nodes,
            source: source.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = "nodes:
  - {name: s2, role: server, address: 10.0.0.12, user: rancher, become: sudo}
  - {name: s1, role: server, address: 10.0.0.11}
  - {name: w1, role: witness, address: 10.0.0.13}
  - {name: a1, role: agent, address: 10.0.0.21, labels: [gpu]}
  - {name: l1, role: agent}
";

    #[test]
    fn targets_resolve_servers_first_then_witnesses_then_agents() {
        let inv = Inventory::parse("inv.yaml", FILE).unwrap();
        assert_eq!(inv.resolve(&Target::Servers), ["s1", "s2", "w1"]);
        assert_eq!(inv.resolve(&Target::FirstServer), ["s1"]);
        assert_eq!(inv.resolve(&Target::All), ["s1", "s2", "w1", "a1", "l1"]);
        assert_eq!(
            inv.resolve(&Target::Role("etcd".into())),
            ["s1", "s2", "w1"]
        );
        assert_eq!(inv.resolve(&Target::Role("gpu".into())), ["a1"]);
        assert_eq!(inv.resolve(&Target::Node("a1".into())), ["a1"]);
        assert!(inv.resolve(&Target::Node("zz".into())).is_empty());
        assert_eq!(inv.nodes["s2"].transport, TransportKind::Ssh);
        assert!(inv.nodes["s2"].become_sudo);
        assert_eq!(inv.nodes["l1"].transport, TransportKind::Local);
        let back = Inventory::from_pinned(&inv.pinned(), "inv.yaml");
        assert_eq!(back, inv);
    }

    #[test]
    fn an_oversized_or_missing_inventory_is_refused_naming_the_file() {
        let d = tempfile::tempdir().unwrap();
        let big = d.path().join("big.yaml");
        std::fs::write(&big, "#".repeat((MAX_INVENTORY_BYTES + 10) as usize)).unwrap();
        let e = Inventory::load(&big).unwrap_err().to_string();
        assert!(e.contains("big.yaml") && e.contains("at most"), "{e}");
        let e = Inventory::load(&d.path().join("none.yaml"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("none.yaml"), "{e}");
    }

    #[test]
    fn bad_names_addresses_and_users_are_refused_at_their_line() {
        let e = Inventory::parse("inv.yaml", &FILE.replace("name: s1", "name: S_1")).unwrap_err();
        assert!(e.to_string().contains("DNS-1123"), "{e}");
        assert!(e.to_string().starts_with("inv.yaml:3:"), "{e}");
        let e = Inventory::parse(
            "inv.yaml",
            &FILE.replace("10.0.0.11", "10.0.0.11; rm -rf /"),
        )
        .unwrap_err();
        assert!(e.to_string().contains("not an IP address"), "{e}");
        let e = Inventory::parse(
            "inv.yaml",
            &FILE.replace("user: rancher", "user: -oProxyCommand=x"),
        )
        .unwrap_err();
        assert!(e.to_string().contains("not a login name"), "{e}");
        let e = Inventory::parse("inv.yaml", &FILE.replace("role: agent}", "role: worker}"))
            .unwrap_err();
        assert!(
            e.to_string().contains("expected server, agent or witness"),
            "{e}"
        );
        let e = Inventory::parse("inv.yaml", &FILE.replace("name: l1", "name: s1")).unwrap_err();
        assert!(e.to_string().contains("twice"), "{e}");
    }
}
