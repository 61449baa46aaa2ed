//! Host firewall persistence rules (FW), after Harvester's host firewall guide ("Persisting Rules
//! with CloudInit CRD", "Role-Specific CloudInit Resources"): iptables CloudInit resources whose
//! selectors overlap (FW004), scripts without the leading cleanup or outside the `boot` stage
//! (FW005), extra NICs not jumped to the chain (FW006, judged in `fw_extra_nics` from `ip addr`
//! and Harvester's network objects), nodes the CloudInits leave out, paused
//! resources and pending rollouts (FW009), and live chains nothing persists or persisted chains
//! that are not live (FW012).
//!
//! They read the model's persisted host firewall ([`crate::model::hostfw`]: CloudInit objects of
//! a support bundle, the nodes' `/oem` iptables scripts, their `ip addr` interfaces) and the
//! live chains of the nodes' `iptables-save` (`firewalls`). A bundle without `cloudinits.yaml`
//! holds no CloudInit objects when it would have listed them: the collector skips empty lists,
//! so a bundle with the `node.harvesterhci.io` group, or of a Harvester version that has the CRD
//! (v1.3.0), holds none.

use std::collections::{BTreeMap, BTreeSet};

use super::firewall::{by_node, firewalls};
use super::gates::Version;
use super::rule::{Findings, Need, Rule, Verdict};
use super::{Context, Origin, Severity};
use crate::layout;
use crate::model::hostfw::{CloudInit, HostFirewall, chains_built, is_builtin_target};
use crate::parse::cloudinit::{IptCommand, Op};

/// Overlapping selectors of iptables CloudInits.
pub static FW004: Rule = Rule {
    code: "FW004",
    severity: Severity::High,
    title: "iptables CloudInit resources with overlapping matchSelectors",
    source: "seeds/harvester-host-firewall.txt (FW)",
    needs: &[Need::SupportBundle],
    doc: r#"**What it reads.** The bundle's Harvester `CloudInit` objects
(`yamls/cluster/node.harvesterhci.io/v1beta1/cloudinits.yaml`): the ones whose `spec.contents`
run iptables commands, their `spec.matchSelector`; and the labels of the bundle's Node objects.

**What it reports.** One finding per pair of iptables CloudInit resources that can both apply to
one node:
- a node listed in the bundle whose labels match both selectors (the nodes are named);
- or, when no listed node matches both, selectors that overlap by label logic: no label key with
  two different values, and no pair of labels a node cannot carry together (Harvester's install
  roles `node-role.harvesterhci.io/{management,worker,witness}` exclude one another, and a
  `worker` or `witness` carries no `node-role.kubernetes.io/control-plane`; a `worker` no
  `etcd`). The message says which of the two it is. An empty selector matches every node.

**Why it matters.** A node matched by two iptables CloudInits runs both scripts at boot: the
chain is created twice, with duplicate rules and an order that depends on file names. The guide
asks for mutually exclusive selectors.

**Remediation.** Give each role's CloudInit a selector no other iptables CloudInit can match (the
guide's control-plane, worker and witness examples), or merge the scripts into one resource.

**Not evaluable** without a support bundle (CloudInit objects are cluster objects). A bundle
without `cloudinits.yaml` holds none when it would have listed them (the collector skips empty
lists): when it has the `node.harvesterhci.io` group, or its Harvester version has the CRD
(v1.3.0 and later). **Not applicable** before Harvester v1.3.0 (no CloudInit CRD; an unknown
version without the group is taken as older, and the coverage row says so) and when no
CloudInit runs iptables.

**Source.** `seeds/harvester-host-firewall.txt` (Role-Specific CloudInit Resources: "Ensure that
the spec.matchSelector of each CloudInit resource is mutually exclusive");
`reference/harvester-bundle.md` §5 (CloudInit CRD); rules.md FW004.
"#,
    evaluate: fw004,
};

/// Scripts without cleanup, or outside `boot`.
pub static FW005: Rule = Rule {
    code: "FW005",
    severity: Severity::Medium,
    title: "CloudInit iptables script without the leading cleanup, or not in the boot stage",
    source: "seeds/harvester-host-firewall.txt (FW)",
    needs: &[Need::SupportBundle],
    doc: r#"**What it reads.** The iptables commands of the bundle's `CloudInit` objects
(`spec.contents`, an Elemental/yip cloud-config: `stages:` → stage → steps → `commands:`) and of
the nodes' `/oem` stage files that no CloudInit wrote (a node snapshot's `oem/`, a node zip's
`configs/oem/`).

**What it reports.** One finding per script and fault:
- a chain it creates (`iptables -N CHAIN`) or attaches to INPUT (`iptables -A INPUT … -j CHAIN`)
  without first removing the previous boot's copy: `-D INPUT … -j CHAIN`, `-F CHAIN` and
  `-X CHAIN`, each before the chain is created (the missing ones are named);
- iptables commands in a stage other than `boot` (`initramfs`, `network`, `boot.after`, …);
- a script that mentions iptables but does not read as YAML (the line and column the parser
  gives) or has the wrong shape.

**Why it matters.** `/oem` files run at every boot; without the cleanup a second run (a re-applied
CloudInit, a service restart) appends the rules again and the INPUT jump twice. The `boot` stage
runs before the node is operational, so the rules are in place from the start and no conntrack
state is lost.

**Remediation.** Start the script with the guide's cleanup (`iptables -D INPUT -i mgmt-br -j
HARVESTER_INPUT 2>/dev/null || true`, `iptables -F HARVESTER_INPUT 2>/dev/null || true`,
`iptables -X HARVESTER_INPUT 2>/dev/null || true`) and put it under `stages: boot:`.

**Not evaluable** without CloudInit objects (a support bundle, see FW004 for when an absent list
means none) and without any node's `/oem`. **Not applicable** when no script runs iptables.

**Source.** `seeds/harvester-host-firewall.txt` (Persisting Rules with CloudInit CRD: "The cleanup
commands at the beginning prevent duplicate chain entries on subsequent reboots", "The boot stage
runs before the node is fully operational"); rules.md FW005.
"#,
    evaluate: fw005,
};

/// Extra NICs not jumped to the chain.
pub static FW006: Rule = Rule {
    code: "FW006",
    severity: Severity::Medium,
    title: "extra NIC of a host network not jumped to the host firewall chain",
    source: "seeds/harvester-host-firewall.txt (FW)",
    needs: &[Need::NodeCommands],
    doc: r#"**What it reads.** Each node's `iptables-save` output (and `iptables-legacy-save`, see
FW001): the chain INPUT sends `mgmt-br` traffic to, and the interfaces (`-i`, with iptables'
`+` prefix wildcard) INPUT sends to that chain. Which interfaces carry a host network, from two
kinds of evidence:
- the node's `ip addr` output (`commands/ip-addr.txt` of a node snapshot): every interface that
  carries a host address (IPv4, or IPv6 other than link-local) besides `mgmt-br` and `lo` — a
  HostNetwork configuration's NIC, a VLAN sub-interface with an address. Interfaces of the
  container network (`cni*`, `flannel*`, `cali*`, `vxlan*`, `tunl*`, `kube-ipvs*`, `docker*`,
  `veth*`, `genev_sys*`, `ovn*`, `ovs*`, `br-int`, `nodelocaldns`, `cilium*`, `lxc*`) are not
  host networks;
- for a node without `ip addr`, the support bundle's Harvester network objects
  (`yamls/cluster/network.harvesterhci.io/v1beta1/`) matched to the node's labels (its Node
  object): a `VlanConfig` puts the cluster network `spec.clusterNetwork` on the nodes of its
  `spec.nodeSelector` (none: every node), on the bridge `<clusternetwork>-br` with the uplink
  NICs `spec.uplink.nics`; a `HostNetworkConfig` gives the nodes of its `spec.nodeSelector`
  (`matchLabels`, `matchExpressions`) that carry `spec.clusterNetwork` (the `mgmt` network is on
  every node) a host address on VLAN `spec.vlanID`, on the interface
  `<clusternetwork>-br.<vlanID>`. A cluster network that only a `VlanConfig` puts on a node
  carries VM traffic (bridged, no host address): nothing to jump. When `ip addr` is there too,
  the finding names the objects behind the interface.

**What it reports.** One finding per node and interface that carries a host address when no
INPUT rule sends its traffic to the chain (a jump for `mgmt-br` does not cover `mgmt-br.<vlan>`:
packets arrive on the VLAN interface).

**Why it matters.** The chain filters only the interfaces INPUT sends to it: a host reachable on
another network keeps every port open there. The guide: "When using HostNetwork Configuration,
need to create another rule for the new NIC".

**Remediation.** Add `iptables -A INPUT -i <interface> -j HARVESTER_INPUT` for the NIC, in the
CloudInit script too (with its `-D` in the cleanup).

**What the sources do not say.** The seed names HostNetwork configuration but none of its fields,
and the project's reference has no `VlanConfig` or `HostNetworkConfig` (the 2022 corpus bundle
holds only the older `ClusterNetwork`/`NodeNetwork` API, which FW006 does not read). The field
names above are those of the Harvester network controller's `v1beta1` API types; the interface
name `<clusternetwork>-br.<vlanID>` is the one Harvester's design for host addresses on cluster
networks gives, not one a bundle in the sources shows: a jump for the exact name or a `+`
wildcard that covers it counts, and with `ip addr` the live name is judged.

**Not evaluable** without `iptables-save` output from the nodes (node snapshots), or when the
nodes with a chain have neither `ip addr` output nor network objects of a bundle (a bundle that
lists the `network.harvesterhci.io` group and labels the node: the collector skips empty lists,
so a listed group without `hostnetworkconfigs.yaml` means none); **not applicable** when no node
has a chain attached for `mgmt-br` (FW001 reports that).

**Source.** `seeds/harvester-host-firewall.txt` (Applying iptables Rules); rules.md FW006.
"#,
    evaluate: super::fw_extra_nics::fw006,
};

/// Nodes left out, paused resources, pending rollouts.
pub static FW009: Rule = Rule {
    code: "FW009",
    severity: Severity::High,
    title: "node without its iptables CloudInit, paused CloudInit, or rollout pending",
    source: "seeds/harvester-host-firewall.txt (FW)",
    needs: &[Need::SupportBundle],
    doc: r#"**What it reads.** The bundle's `CloudInit` objects that run iptables commands
(`spec.matchSelector`, `spec.paused`, `status.rollouts.<node>.conditions`) and the labels of the
bundle's Node objects.

**What it reports.**
- each listed node that no iptables CloudInit matches while others are matched: its host
  firewall is not persisted and is gone after a reboot;
- each iptables CloudInit with `paused: true`: its changes are not rolled out;
- each rollout whose `OutOfSync` condition is `True` (the file on the node differs from the
  resource: the node must be rebooted, or the file is stale), or whose `Applicable` condition is
  `False` on a node the selector matches.

**Why it matters.** CloudInit files are applied at boot: a node left out, a paused resource or a
rollout out of sync means the rules a reboot brings back are not the rules intended.

**Remediation.** Create the CloudInit for the node's role (or fix its labels), unpause the
resource, and reboot the nodes whose rollout is out of sync (or apply the commands by hand, as
the guide says).

**Not evaluable** without a support bundle (see FW004 for when an absent `cloudinits.yaml` means
no objects); **not applicable** before Harvester v1.3.0 and when no CloudInit runs iptables.

**Source.** `seeds/harvester-host-firewall.txt` (Persisting Rules with CloudInit CRD: "nodes must be
rebooted for the changes to take effect"); `reference/harvester-bundle.md` §5 (rollouts);
rules.md FW009.
"#,
    evaluate: fw009,
};

/// Live and persisted chains disagree.
pub static FW012: Rule = Rule {
    code: "FW012",
    severity: Severity::Medium,
    title: "live host firewall chain not persisted, or persisted chain not live",
    source: "seeds/harvester-host-firewall.txt (FW)",
    needs: &[Need::NodeCommands, Need::SupportBundle],
    doc: r#"**What it reads.** Each node's `iptables-save` output (the host firewall chains INPUT
sends traffic to: `HARVESTER_INPUT`, or any chain of one's own INPUT jumps to for an interface;
Kubernetes and CNI chains are not host firewalls), and what persists chains for the node: its
`/oem` stage files and the bundle's iptables CloudInit objects whose selector matches its labels
(not paused), the chains they create (`-N`) or attach to INPUT.

**What it reports.** One finding per node and chain: a live chain that nothing persists (it is
gone after the next reboot), or a persisted chain that is not live (the node was not rebooted
since the CloudInit was written, or the script fails).

**Why it matters.** The iptables rules are lost on reboot; the guide persists them with a
CloudInit in the `boot` stage. A chain applied by hand only, or a persisted one never applied,
leaves the node's filtering to chance.

**Remediation.** Persist the live chain with a CloudInit (the guide's role examples); for a
persisted chain that is not live, reboot the node or run the script's commands by hand, and read
the boot log for failures.

**Not evaluable** without `iptables-save` output (node snapshots) or without a way to know what is
persisted for a node (its `/oem` in a node snapshot or node zip, or the bundle's CloudInit objects
with the node's labels).

**Source.** `seeds/harvester-host-firewall.txt` ("The iptables rules are lost on reboot. Use the
CloudInit CRD to re-apply them at boot time."); rules.md FW012.
"#,
    evaluate: fw012,
};

/// The first Harvester release with the CloudInit CRD.
const CRD_FROM: Version = Version(1, 3, 0);

/// Whether the inputs say which CloudInit objects exist: `Ok` with how, or the verdict.
fn listing(cx: &Context) -> Result<String, Verdict> {
    let h = &cx.model.hostfw;
    if h.bundles == 0 {
        return Err(Verdict::not_evaluable(
            "no support bundle among the inputs: CloudInit objects are cluster objects",
            Need::SupportBundle,
        ));
    }
    if h.cloudinit_list {
        return Ok(format!("{} CloudInit object(s) listed", h.cloudinits.len()));
    }
    if h.node_group {
        return Ok(format!(
            "no cloudinits.yaml in a bundle that has the {} group: no CloudInit objects (the collector skips empty lists)",
            crate::model::hostfw::NODE_GROUP
        ));
    }
    let version = cx.snapshot.cluster.harvester_version.as_deref();
    match version.and_then(|s| Version::parse(s).map(|v| (s, v))) {
        Some((s, v)) if v >= CRD_FROM => Ok(format!(
            "Harvester {s} has the CloudInit CRD (v1.3.0+) and the bundle lists none: no CloudInit objects (the collector skips empty lists)"
        )),
        Some((s, _)) => Err(Verdict::not_applicable(format!(
            "Harvester {s} predates the CloudInit CRD (v1.3.0)"
        ))),
        None => Err(Verdict::not_applicable(
            "the bundle lists no CloudInit objects and has no node.harvesterhci.io group; Harvester version unknown: taken as older than v1.3.0, which added the CloudInit CRD",
        )),
    }
}

/// The iptables CloudInits.
fn iptables_cloudinits(h: &HostFirewall) -> Vec<&CloudInit> {
    h.cloudinits
        .iter()
        .filter(|c| !c.iptables.is_empty())
        .collect()
}

fn selector(c: &CloudInit) -> String {
    if c.selector.is_empty() {
        return "{} (every node)".into();
    }
    let s: Vec<String> = c.selector.iter().map(|(k, v)| format!("{k}={v}")).collect();
    format!("{{{}}}", s.join(", "))
}

/// Label pairs no node carries together (both `"true"`): Harvester's install roles exclude one
/// another; a worker or witness is no control-plane node, a worker no etcd member.
const EXCLUSIVE: &[(&str, &str)] = &[
    (
        "node-role.harvesterhci.io/management",
        "node-role.harvesterhci.io/worker",
    ),
    (
        "node-role.harvesterhci.io/management",
        "node-role.harvesterhci.io/witness",
    ),
    (
        "node-role.harvesterhci.io/worker",
        "node-role.harvesterhci.io/witness",
    ),
    (
        "node-role.kubernetes.io/control-plane",
        "node-role.harvesterhci.io/worker",
    ),
    (
        "node-role.kubernetes.io/control-plane",
        "node-role.harvesterhci.io/witness",
    ),
    (
        "node-role.kubernetes.io/master",
        "node-role.harvesterhci.io/worker",
    ),
    (
        "node-role.kubernetes.io/master",
        "node-role.harvesterhci.io/witness",
    ),
    (
        "node-role.kubernetes.io/etcd",
        "node-role.harvesterhci.io/worker",
    ),
];

/// True when some node could carry the labels of both selectors.
fn can_overlap(a: &CloudInit, b: &CloudInit) -> bool {
    let mut union: BTreeMap<&str, &str> = BTreeMap::new();
    for (k, v) in a.selector.iter().chain(&b.selector) {
        if union.insert(k, v).is_some_and(|old| old != v) {
            return false;
        }
    }
    let set = |k: &str| union.get(k).is_some_and(|v| *v == "true");
    !EXCLUSIVE.iter().any(|(x, y)| set(x) && set(y))
}

fn fw004(cx: &Context, out: &mut Findings) -> Verdict {
    let how = match listing(cx) {
        Ok(h) => h,
        Err(v) => return v,
    };
    let cis = iptables_cloudinits(&cx.model.hostfw);
    if cis.is_empty() {
        return Verdict::not_applicable(format!("{how}; none runs iptables"));
    }
    for (i, a) in cis.iter().enumerate() {
        for b in &cis[i + 1..] {
            let both: Vec<&str> = a
                .matched
                .intersection(&b.matched)
                .map(String::as_str)
                .collect();
            let what = if !both.is_empty() {
                format!("both match node(s) {}", both.join(", "))
            } else if can_overlap(a, b) {
                "no node in the bundle matches both, but by label logic a node carrying the labels of both selectors would".to_string()
            } else {
                continue;
            };
            out.add(
                None,
                Some(format!("CloudInit {} / {}", a.name, b.name)),
                format!(
                    "iptables CloudInits {} (matchSelector {}) and {} (matchSelector {}): {what}; such a node creates the chain twice at boot",
                    a.name,
                    selector(a),
                    b.name,
                    selector(b)
                ),
                vec![a.origin.clone(), b.origin.clone()],
                "make the matchSelectors mutually exclusive (one iptables CloudInit per node role, as the host firewall guide's examples) or merge the scripts".into(),
            );
        }
    }
    Verdict::judged(
        format!(
            "{} overlapping pair(s) among {} iptables CloudInit(s)",
            out.len(),
            cis.len()
        ),
        format!(
            "the {} iptables CloudInit(s) have mutually exclusive selectors",
            cis.len()
        ),
    )
}

/// A script to judge: its name, commands and the origin of a line.
struct Script<'a> {
    name: String,
    node: Option<String>,
    cmds: &'a [IptCommand],
    at: Box<dyn Fn(Option<usize>) -> Origin + 'a>,
}

/// The cleanup commands missing before `chain` is created at index `created`.
fn missing_cleanup(cmds: &[IptCommand], chain: &str, created: usize) -> Vec<String> {
    let before = &cmds[..created];
    let has = |op: Op, on: &str, target: Option<&str>| {
        before.iter().any(|c| {
            c.op == op
                && c.chain.as_deref() == Some(on)
                && target.is_none_or(|t| c.target() == Some(t))
        })
    };
    let mut missing = Vec::new();
    if !has(Op::Delete, "INPUT", Some(chain)) {
        missing.push(format!("-D INPUT … -j {chain}"));
    }
    if !has(Op::Flush, chain, None) {
        missing.push(format!("-F {chain}"));
    }
    if !has(Op::DeleteChain, chain, None) {
        missing.push(format!("-X {chain}"));
    }
    missing
}

fn judge_script(s: &Script, out: &mut Findings) {
    for (chain, _) in chains_built(s.cmds) {
        let Some(created) = s.cmds.iter().position(|c| {
            (c.op == Op::NewChain && c.chain.as_deref() == Some(chain.as_str()))
                || (matches!(c.op, Op::Append | Op::Insert)
                    && c.chain.as_deref() == Some("INPUT")
                    && c.target() == Some(chain.as_str()))
        }) else {
            continue;
        };
        let missing = missing_cleanup(s.cmds, &chain, created);
        if missing.is_empty() {
            continue;
        }
        out.add(
            s.node.clone(),
            Some(format!("{} {chain}", s.name)),
            format!(
                "{} creates {chain} without first removing the previous boot's copy: {} missing before line {}",
                s.name,
                missing.join(", "),
                s.cmds[created].line.map_or("?".into(), |l| l.to_string())
            ),
            vec![(s.at)(s.cmds[created].line)],
            format!(
                "start the script with `iptables -D INPUT -i {br} -j {chain} 2>/dev/null || true`, `iptables -F {chain} 2>/dev/null || true` and `iptables -X {chain} 2>/dev/null || true`",
                br = layout::MGMT_BRIDGE
            ),
        );
    }
    let elsewhere: BTreeSet<&str> = s
        .cmds
        .iter()
        .filter(|c| c.stage != "boot")
        .map(|c| c.stage.as_str())
        .collect();
    if let Some(first) = s.cmds.iter().find(|c| c.stage != "boot") {
        out.add(
            s.node.clone(),
            Some(format!("{} stages", s.name)),
            format!(
                "{} runs iptables commands in stage(s) {} rather than boot",
                s.name,
                elsewhere.into_iter().collect::<Vec<_>>().join(", ")
            ),
            vec![(s.at)(first.line)],
            "move the iptables commands under `stages: boot:`, which runs before the node is operational".into(),
        );
    }
}

fn fw005(cx: &Context, out: &mut Findings) -> Verdict {
    let h = &cx.model.hostfw;
    let listed = listing(cx);
    if let (Err(v), true) = (&listed, h.oem_nodes.is_empty()) {
        return match v {
            Verdict::NotApplicable { .. } => v.clone(),
            _ => Verdict::not_evaluable(
                "neither CloudInit objects nor any node's /oem in the inputs (a support bundle carries both: its objects and its node zips' configs/oem)",
                Need::SupportBundle,
            ),
        };
    }
    let mut scripts = Vec::new();
    if listed.is_ok() {
        for c in iptables_cloudinits(h) {
            scripts.push(Script {
                name: format!("CloudInit {}", c.name),
                node: None,
                cmds: &c.iptables,
                at: Box::new(|l| c.at_line(l)),
            });
        }
    }
    for f in h
        .oem
        .iter()
        .filter(|f| f.cloudinit.is_none() || listed.is_err())
    {
        scripts.push(Script {
            name: format!("/{}", f.origin.host_path()),
            node: Some(f.node.clone()),
            cmds: &f.iptables,
            at: Box::new(|l| f.at_line(l)),
        });
    }
    for (origin, e) in &h.errors {
        out.add(
            origin.node.clone(),
            Some(origin.host.clone().map_or_else(|| "CloudInit contents".to_string(), |p| format!("/{p}"))),
            format!("a cloud-config that runs iptables does not read: {e}"),
            vec![origin.clone()],
            "fix the YAML: elemental skips a file it cannot read, and the rules are not applied at boot".into(),
        );
    }
    if scripts.is_empty() && out.is_empty() {
        return Verdict::not_applicable(match &listed {
            Ok(_) => "no CloudInit object or /oem file runs iptables".to_string(),
            Err(_) => format!(
                "no /oem file of {} runs iptables (the inputs say nothing of CloudInit objects)",
                h.oem_nodes
                    .iter()
                    .map(String::as_str)
                    .collect::<Vec<_>>()
                    .join(",")
            ),
        });
    }
    for s in &scripts {
        judge_script(s, out);
    }
    Verdict::judged(
        format!(
            "{} fault(s) in {} iptables script(s)",
            out.len(),
            scripts.len()
        ),
        format!(
            "the {} iptables script(s) clean up before they create their chains and run in the boot stage",
            scripts.len()
        ),
    )
}

fn fw009(cx: &Context, out: &mut Findings) -> Verdict {
    let how = match listing(cx) {
        Ok(h) => h,
        Err(v) => return v,
    };
    let h = &cx.model.hostfw;
    let cis = iptables_cloudinits(h);
    if cis.is_empty() {
        return Verdict::not_applicable(format!("{how}; none runs iptables"));
    }
    let matched: BTreeSet<&str> = cis
        .iter()
        .flat_map(|c| c.matched.iter().map(String::as_str))
        .collect();
    if !matched.is_empty() {
        for node in h.labels.keys().filter(|n| !matched.contains(n.as_str())) {
            out.add(
                Some(node.clone()),
                Some("iptables CloudInit".into()),
                format!(
                    "{node} is matched by no iptables CloudInit while {} are: its host firewall is not persisted",
                    matched.iter().copied().collect::<Vec<_>>().join(", ")
                ),
                cis.iter().map(|c| c.origin.clone()).collect(),
                "create the iptables CloudInit for the node's role, or give the node the labels its role's CloudInit selects".into(),
            );
        }
    }
    for c in &cis {
        if c.paused {
            out.add(
                None,
                Some(format!("CloudInit {}", c.name)),
                format!("iptables CloudInit {} is paused: its changes are not rolled out to the nodes", c.name),
                vec![c.origin.clone()],
                format!("set `spec.paused: false` on CloudInit {} (kubectl edit cloudinits.node.harvesterhci.io {})", c.name, c.name),
            );
        }
        for (node, conds) in &c.rollouts {
            for k in conds {
                let pending = (k.kind == "OutOfSync" && k.status == "True")
                    || (k.kind == "Applicable" && k.status == "False" && c.matched.contains(node));
                if !pending {
                    continue;
                }
                let why = k
                    .message
                    .as_deref()
                    .or(k.reason.as_deref())
                    .map(|m| format!(" ({m})"))
                    .unwrap_or_default();
                out.add(
                    Some(node.clone()),
                    Some(format!("CloudInit {}", c.name)),
                    format!(
                        "the rollout of iptables CloudInit {} on {node} is {}={}{why}: the node does not run the intended rules until it is rebooted",
                        c.name, k.kind, k.status
                    ),
                    vec![c.origin.clone().at(Some(format!(
                        "{}.status.rollouts.{node}",
                        c.origin.pointer.clone().unwrap_or_default()
                    )))],
                    format!("reboot {node} (or run the script's commands by hand) so that the file in /oem and the live rules agree"),
                );
            }
        }
    }
    Verdict::judged(
        format!(
            "{} fault(s) in the rollout of {} iptables CloudInit(s)",
            out.len(),
            cis.len()
        ),
        format!("every listed node is matched, none paused, every rollout in sync ({how})"),
    )
}

/// The host firewall chains of INPUT: jumped to for an interface, or the guide's chain; not
/// Kubernetes' or a CNI's.
fn live_chains(fw: &crate::model::Firewall) -> BTreeMap<String, usize> {
    let mut out = BTreeMap::new();
    let Some(filter) = fw.rules.filter() else {
        return out;
    };
    for r in filter
        .chain("INPUT")
        .map(|c| c.rules.as_slice())
        .unwrap_or_default()
    {
        let Some(t) = r.jump.as_deref().or(r.goto.as_deref()) else {
            continue;
        };
        let system = ["KUBE-", "cali-", "CNI-", "FLANNEL", "cilium", "OVN"]
            .iter()
            .any(|p| t.starts_with(p));
        if is_builtin_target(t) || system || filter.chain(t).is_none() {
            continue;
        }
        if r.in_interface.is_some() || t == layout::HARVESTER_CHAIN {
            out.entry(t.to_string()).or_insert(r.line);
        }
    }
    out
}

fn fw012(cx: &Context, out: &mut Findings) -> Verdict {
    let fws = match firewalls(cx) {
        Ok(f) => f,
        Err(v) => return v,
    };
    let h = &cx.model.hostfw;
    let objects = listing(cx).is_ok();
    let mut judged = Vec::new();
    for (node, backends) in by_node(&fws) {
        let by_objects = objects && h.labels.contains_key(node);
        if !h.oem_nodes.contains(node) && !by_objects {
            continue;
        }
        judged.push(node.as_str());
        let mut persisted: BTreeMap<String, Origin> = BTreeMap::new();
        if by_objects {
            for c in h
                .cloudinits
                .iter()
                .filter(|c| !c.paused && c.matched.contains(node))
            {
                for (ch, line) in chains_built(&c.iptables) {
                    persisted.entry(ch).or_insert_with(|| c.at_line(line));
                }
            }
        }
        for f in h.oem.iter().filter(|f| &f.node == node) {
            for (ch, line) in chains_built(&f.iptables) {
                persisted.entry(ch).or_insert_with(|| f.at_line(line));
            }
        }
        // Live in any backend; each chain with the ruleset and line it was found at.
        let mut live: BTreeMap<String, (&crate::model::Firewall, usize)> = BTreeMap::new();
        for fw in &backends {
            for (ch, line) in live_chains(fw) {
                live.entry(ch).or_insert((*fw, line));
            }
        }
        let Some(fw) = backends.first() else {
            continue;
        };
        for (ch, (at, line)) in &live {
            if persisted.contains_key(ch) {
                continue;
            }
            out.add(
                Some(node.clone()),
                Some(format!("chain {ch}")),
                format!("on {node}, the live chain {ch} is persisted by no /oem file or CloudInit: it is gone after the next reboot"),
                vec![at.origin.clone().at(Some(format!("line {line}")))],
                "persist the chain with an iptables CloudInit for the node's role (boot stage, with the leading cleanup)".into(),
            );
        }
        for (ch, origin) in &persisted {
            if live.contains_key(ch) {
                continue;
            }
            out.add(
                Some(node.clone()),
                Some(format!("chain {ch}")),
                format!("on {node}, the chain {ch} is persisted but not live: the node was not rebooted since, or the script fails"),
                vec![origin.clone(), fw.origin.clone()],
                "reboot the node or run the script's commands by hand, and check the boot log (journalctl -b) for the script's errors".into(),
            );
        }
    }
    if judged.is_empty() {
        return Verdict::not_evaluable(
            "nothing says what is persisted for the nodes with iptables-save output: neither their /oem nor a bundle's CloudInit objects with their labels",
            Need::SupportBundle,
        );
    }
    Verdict::judged(
        format!(
            "{} chain(s) live but not persisted or persisted but not live on {}",
            out.len(),
            judged.join(",")
        ),
        format!(
            "live and persisted host firewall chains agree on {}",
            judged.join(",")
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ci(name: &str, sel: &[(&str, &str)]) -> CloudInit {
        CloudInit {
            origin: Origin::default(),
            name: name.into(),
            selector: sel
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            filename: None,
            paused: false,
            iptables: Vec::new(),
            rollouts: BTreeMap::new(),
            matched: BTreeSet::new(),
        }
    }

    #[test]
    fn the_guides_role_selectors_do_not_overlap_by_label_logic() {
        let cp = ci(
            "cp",
            &[
                ("node-role.kubernetes.io/control-plane", "true"),
                ("node-role.kubernetes.io/etcd", "true"),
            ],
        );
        let worker = ci("w", &[("node-role.harvesterhci.io/worker", "true")]);
        let witness = ci("x", &[("node-role.harvesterhci.io/witness", "true")]);
        assert!(!can_overlap(&cp, &worker));
        assert!(!can_overlap(&cp, &witness));
        assert!(!can_overlap(&worker, &witness));
        let everyone = ci("all", &[]);
        assert!(can_overlap(&everyone, &cp));
        let etcd = ci("etcd", &[("node-role.kubernetes.io/etcd", "true")]);
        assert!(can_overlap(&etcd, &cp));
        assert!(can_overlap(&etcd, &witness));
        let not_cp = ci("n", &[("node-role.kubernetes.io/control-plane", "false")]);
        assert!(!can_overlap(&not_cp, &cp));
    }
}
