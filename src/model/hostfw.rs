//! The persisted host firewall, read once: the bundle's Harvester `CloudInit` objects
//! (`node.harvesterhci.io/v1beta1`, cluster-scoped: `spec.matchSelector`, `spec.filename`,
//! `spec.contents`, `spec.paused`, `status.rollouts`) with the nodes each matches by its labels,
//! the nodes' `/oem` stage files, each with the iptables commands it runs per stage
//! ([`crate::parse::cloudinit`]), and the interfaces of each node's `ip addr` output
//! ([`crate::parse::ipaddr`]). The live chains are the model's `firewalls`.
//!
//! A document that does not read is kept as an error naming the file, and the line and column
//! where the YAML parser gives them; the rest still reads. What the inputs say about the
//! existence of CloudInit objects is kept as facts (a bundle's `cloudinits.yaml`, its
//! `node.harvesterhci.io` group): the rules decide what an absent list means.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use crate::ingest::Limits;
use crate::layout;
use crate::parse::cloudinit::{self, IptCommand, Op, Stages};
use crate::parse::ipaddr::{self, Interface};
use crate::snapshot::value::{as_bool, get, str_at};
use crate::snapshot::{Snapshot, yaml};
use crate::vocab::Origin;

/// The API group of Harvester's node objects (`CloudInit`, `NodeConfig`).
pub const NODE_GROUP: &str = "node.harvesterhci.io";
/// The `ip addr` output a node snapshot carries.
pub const IP_ADDR: &str = "commands/ip-addr.txt";

/// The persisted host firewall of the snapshot.
#[derive(Debug, Clone, Default)]
pub struct HostFirewall {
    /// Every `CloudInit` object, iptables or not, in bundle order.
    pub cloudinits: Vec<CloudInit>,
    /// How many support bundles the inputs hold.
    pub bundles: usize,
    /// A bundle lists `CloudInit` objects (`…/node.harvesterhci.io/*/cloudinits.yaml`).
    pub cloudinit_list: bool,
    /// A bundle has the `node.harvesterhci.io` group (other lists of it): the collector would
    /// have listed CloudInit objects had there been any.
    pub node_group: bool,
    /// The nodes' `/oem` stage files that run iptables commands.
    pub oem: Vec<OemFile>,
    /// The nodes whose `/oem` the inputs show (a node snapshot's `oem/`, a node zip's
    /// `configs/oem/`).
    pub oem_nodes: BTreeSet<String>,
    /// Documents that mention iptables but do not read: the file and why (line and column).
    pub errors: Vec<(Origin, String)>,
    /// Node labels from the bundle's Node objects, by node.
    pub labels: BTreeMap<String, BTreeMap<String, String>>,
    /// Each node's interfaces from its `ip addr` output, with where it was read.
    pub interfaces: BTreeMap<String, (Origin, Vec<Interface>)>,
}

/// One `CloudInit` object.
#[derive(Debug, Clone)]
pub struct CloudInit {
    /// The bundle list and the item.
    pub origin: Origin,
    pub name: String,
    /// `spec.matchSelector`: every label must match; empty matches every node.
    pub selector: BTreeMap<String, String>,
    /// `spec.filename`: the file written to `/oem/<filename>`.
    pub filename: Option<String>,
    pub paused: bool,
    /// The iptables commands of `spec.contents` (empty when it runs none or does not read).
    pub iptables: Vec<IptCommand>,
    /// `status.rollouts`: per node, its conditions.
    pub rollouts: BTreeMap<String, Vec<Condition>>,
    /// The nodes whose labels match the selector.
    pub matched: BTreeSet<String>,
}

/// A rollout condition (`Present`, `Applicable`, `OutOfSync`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Condition {
    pub kind: String,
    pub status: String,
    pub reason: Option<String>,
    pub message: Option<String>,
}

/// An `/oem` stage file of a node that runs iptables commands.
#[derive(Debug, Clone)]
pub struct OemFile {
    pub origin: Origin,
    pub node: String,
    pub iptables: Vec<IptCommand>,
    /// The CloudInit whose `spec.filename` this file is, when one is.
    pub cloudinit: Option<String>,
}

impl CloudInit {
    /// The origin of a line of its `spec.contents`.
    pub fn at_line(&self, line: Option<usize>) -> Origin {
        let base = self.origin.pointer.clone().unwrap_or_default();
        match line {
            Some(l) => self
                .origin
                .clone()
                .at(Some(format!("{base}.spec.contents line {l}"))),
            None => self.origin.clone(),
        }
    }

    /// True when `labels` match the selector (every key with its value; an empty selector
    /// matches every node).
    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        self.selector
            .iter()
            .all(|(k, v)| labels.get(k).is_some_and(|l| l == v))
    }
}

impl OemFile {
    /// The origin of a line of the file.
    pub fn at_line(&self, line: Option<usize>) -> Origin {
        self.origin.clone().at(line.map(|l| format!("line {l}")))
    }
}

/// The chains a list of iptables commands builds in the filter table: those it creates (`-N`)
/// and those it sends INPUT traffic to (`-A`/`-I INPUT … -j CHAIN`), with the line that does.
pub fn chains_built(cmds: &[IptCommand]) -> BTreeMap<String, Option<usize>> {
    let mut out = BTreeMap::new();
    for c in cmds
        .iter()
        .filter(|c| c.tool == "iptables" && c.table == "filter")
    {
        let chain = match c.op {
            Op::NewChain => c.chain.clone(),
            Op::Append | Op::Insert if c.chain.as_deref() == Some("INPUT") => c
                .target()
                .filter(|t| !is_builtin_target(t))
                .map(str::to_string),
            _ => None,
        };
        if let Some(ch) = chain {
            out.entry(ch).or_insert(c.line);
        }
    }
    out
}

/// Targets that are not chains of one's own.
pub fn is_builtin_target(t: &str) -> bool {
    matches!(
        t,
        "ACCEPT" | "DROP" | "REJECT" | "LOG" | "RETURN" | "QUEUE" | "MARK" | "NFLOG" | "CT"
    )
}

/// Read the persisted host firewall of `snap`.
pub fn read(snap: &Snapshot) -> HostFirewall {
    let limits = Limits::default();
    let mut h = HostFirewall {
        bundles: snap.bundles.len(),
        ..HostFirewall::default()
    };
    for b in &snap.bundles {
        let Some(tree) = snap.trees.get(b.input) else {
            continue;
        };
        for p in tree
            .seen
            .iter()
            .map(|p| &**p)
            .chain(tree.files.keys().map(|k| &**k))
        {
            let outer = p.split('!').next().unwrap_or(p);
            if outer.contains(&format!("/yamls/cluster/{NODE_GROUP}/"))
                || outer.starts_with(&format!("yamls/cluster/{NODE_GROUP}/"))
            {
                h.node_group = true;
                if outer.ends_with("/cloudinits.yaml") {
                    h.cloudinit_list = true;
                }
            }
        }
    }
    for node in snap.nodes.values() {
        if let Some(o) = node.object.and_then(|i| snap.objects.get(i))
            && let Some(Value::Object(m)) = o.get(&["metadata", "labels"])
        {
            let labels = m
                .iter()
                .filter_map(|(k, v)| v.as_str().map(|s| (k.clone(), s.to_string())))
                .collect();
            h.labels.insert(node.name.clone(), labels);
        }
    }
    for o in snap
        .objects_of("CloudInit")
        .filter(|o| o.api_version.starts_with(NODE_GROUP))
    {
        h.cloudinit_list = true;
        let input = snap.trees.get(o.input).map_or("", |t| t.name.as_str());
        let origin = Origin::new(input, o.path.as_str()).at(Some(format!("items[{}]", o.index)));
        let selector: BTreeMap<String, String> = match o.get(&["spec", "matchSelector"]) {
            Some(Value::Object(m)) => m
                .iter()
                .filter_map(|(k, v)| v.as_str().map(|s| (k.clone(), s.to_string())))
                .collect(),
            _ => BTreeMap::new(),
        };
        let mut ci = CloudInit {
            name: o.name.clone(),
            filename: o.str_at(&["spec", "filename"]).map(str::to_string),
            paused: o
                .get(&["spec", "paused"])
                .and_then(as_bool)
                .unwrap_or(false),
            selector,
            iptables: Vec::new(),
            rollouts: rollouts(o.get(&["status", "rollouts"])),
            matched: BTreeSet::new(),
            origin,
        };
        ci.matched = h
            .labels
            .iter()
            .filter(|(_, l)| ci.matches(l))
            .map(|(n, _)| n.clone())
            .collect();
        if let Some(text) = o.str_at(&["spec", "contents"]) {
            match read_stages(text.as_bytes(), &limits) {
                Ok(s) => ci.iptables = s.iptables(),
                Err(e) if text.contains("iptables") => {
                    let at = ci.origin.pointer.clone().unwrap_or_default();
                    h.errors
                        .push((ci.origin.clone().at(Some(format!("{at}.spec.contents"))), e));
                }
                Err(_) => {}
            }
        }
        h.cloudinits.push(ci);
    }
    let filenames: BTreeMap<&str, &str> = h
        .cloudinits
        .iter()
        .filter_map(|c| c.filename.as_deref().map(|f| (f, c.name.as_str())))
        .collect();
    let mut oem = Vec::new();
    for node in snap.nodes.values() {
        if node.present.iter().any(|p| p.starts_with(layout::OEM_DIR))
            || node.files.keys().any(|p| p.starts_with(layout::OEM_DIR))
        {
            h.oem_nodes.insert(node.name.clone());
        }
        for (host, copies) in node.files.range::<str, _>((
            std::ops::Bound::Included(layout::OEM_DIR),
            std::ops::Bound::Unbounded,
        )) {
            if !host.starts_with(layout::OEM_DIR) {
                break;
            }
            let name = &host[layout::OEM_DIR.len()..];
            if name.contains('/') {
                continue; // `install/`, not a stage file
            }
            let Some((data, input, logical)) = snap.first_copy(copies) else {
                continue;
            };
            if !contains(data, b"iptables") {
                continue;
            }
            let origin = Origin::new(input, logical).on(node.name.as_str(), &**host);
            match read_stages(data, &limits) {
                Ok(s) => {
                    let iptables = s.iptables();
                    if !iptables.is_empty() {
                        oem.push(OemFile {
                            origin,
                            node: node.name.clone(),
                            iptables,
                            cloudinit: filenames.get(name).map(|s| s.to_string()),
                        });
                    }
                }
                Err(e) => h.errors.push((origin, e)),
            }
        }
        if let Some((data, origin)) = node.files.get(IP_ADDR).and_then(|c| {
            snap.first_copy(c)
                .map(|(d, i, l)| (d, Origin::new(i, l).on(node.name.as_str(), IP_ADDR)))
        }) {
            h.interfaces
                .insert(node.name.clone(), (origin, ipaddr::parse(data)));
        }
    }
    h.oem = oem;
    h
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

/// A stage file's stages: YAML errors with their line and column.
fn read_stages(data: &[u8], limits: &Limits) -> Result<Stages, String> {
    let doc = yaml::parse(data, limits).map_err(|e| e.to_string())?;
    let text = String::from_utf8_lossy(data);
    cloudinit::stages(&doc, &text)
}

/// `status.rollouts`: `{<node>: {conditions: [{type, status, reason, message}]}}`.
fn rollouts(v: Option<&Value>) -> BTreeMap<String, Vec<Condition>> {
    let Some(Value::Object(m)) = v else {
        return BTreeMap::new();
    };
    m.iter()
        .map(|(node, r)| {
            let conds = match get(r, &["conditions"]) {
                Some(Value::Array(cs)) => cs
                    .iter()
                    .filter_map(|c| {
                        Some(Condition {
                            kind: str_at(c, &["type"])?.to_string(),
                            status: str_at(c, &["status"]).unwrap_or("Unknown").to_string(),
                            reason: str_at(c, &["reason"]).map(str::to_string),
                            message: str_at(c, &["message"]).map(str::to_string),
                        })
                    })
                    .collect(),
                _ => Vec::new(),
            };
            (node.clone(), conds)
        })
        .collect()
}
