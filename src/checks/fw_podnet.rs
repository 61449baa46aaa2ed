//! FW011: the host firewall chain's pod-network accept (`-A HARVESTER_INPUT -s 10.52.0.0/16 -m
//! comment --comment "Allow pod network return traffic" -j ACCEPT`) names a network other than
//! the cluster's `cluster-cidr`. Read from each node's `iptables-save` in the model
//! ([`crate::model::Model::firewalls`]) and the merged rke2 configuration
//! ([`crate::model::host`]).

use super::host::cluster_network;
use super::rule::{Findings, Need, Rule, Verdict};
use super::{Context, Severity};
use crate::layout;
use crate::parse::cidr::Cidr;
use crate::parse::iptables::Rule as IptRule;

/// The pod-network accept names another network.
pub static FW011: Rule = Rule {
    code: "FW011",
    severity: Severity::Medium,
    title: "host firewall pod-network accept names a cidr other than cluster-cidr",
    source: "seeds/harvester-host-firewall.txt (FW)",
    needs: &[Need::NodeCommands, Need::HostConfig],
    doc: r#"**What it reads.** Each node's `iptables-save` output (`commands/iptables-save.txt` of a
node snapshot): the `filter` table's `HARVESTER_INPUT` chain and its pod-network accept, the
`ACCEPT` rule matching a source network (`-s`) with no protocol or port, or whose comment names
the pod network. The cluster's pod network is the `cluster-cidr` of the node's merged rke2
configuration (`config.yaml` + `config.yaml.d/*`; an agent's drop-ins leave it out, so a
server's is taken), else the default: 10.52.0.0/16 on Harvester, 10.42.0.0/16 on rke2.

**What it reports.** One finding per node whose pod-network accept names a network that is not
one of the `cluster-cidr` networks, with both.

**Why it matters.** The guide's accept lets return traffic from pods reach the node without
being logged and dropped; with the wrong network the pods' traffic is dropped (or another
network is let in), and the guide's example network is Harvester's default, which a cluster
installed with another `cluster-cidr` does not use.

**Remediation.** Replace the rule's `-s` network with the cluster's `cluster-cidr` in the
CloudInit that persists the chain, and re-apply it.

**Not evaluable** without `iptables-save` output from the nodes (support bundles do not collect
it). **Not applicable** when no node has a `HARVESTER_INPUT` chain with a pod-network accept (the
guide says the rule is safe to omit).

**Source.** `seeds/harvester-host-firewall.txt` ("The pod CIDR 10.52.0.0/16 is the default for
Harvester. Replace it with the actual CIDR of your cluster if it differs."); rules.md FW011.
"#,
    evaluate: fw011,
};

/// True for the guide's pod-network accept.
fn is_pod_accept(r: &IptRule) -> bool {
    let commented = r
        .comment
        .as_deref()
        .is_some_and(|c| c.to_ascii_lowercase().contains("pod"));
    r.jump.as_deref() == Some("ACCEPT")
        && r.source.as_ref().is_some_and(|s| !s.negated)
        && (commented || (r.protocol.is_none() && r.dports.is_empty()))
}

fn fw011(cx: &Context, out: &mut Findings) -> Verdict {
    if cx.model.all_firewalls().is_empty() {
        return Verdict::not_evaluable(
            "no node's iptables-save output in the inputs",
            Need::NodeCommands,
        );
    }
    let mut judged = Vec::new();
    for (node, fw) in cx.model.all_firewalls() {
        let Some(chain) = fw
            .rules
            .filter()
            .and_then(|t| t.chain(layout::HARVESTER_CHAIN))
        else {
            continue;
        };
        let (cidrs, set_at) = cluster_network(cx, Some(node), "cluster-cidr");
        let nets: Vec<Cidr> = cidrs.iter().filter_map(|c| Cidr::parse(c)).collect();
        for r in chain.rules.iter().filter(|r| is_pod_accept(r)) {
            judged.push(node.as_str());
            let Some(src) = r.source.as_ref() else {
                continue;
            };
            let matches = Cidr::parse(&src.value).is_some_and(|s| nets.contains(&s));
            if matches {
                continue;
            }
            let mut evidence = vec![fw.origin.clone().at(Some(format!("line {}", r.line)))];
            evidence.extend(set_at.clone());
            let whence = if set_at.is_some() {
                "the configured cluster-cidr"
            } else {
                "the default cluster-cidr (none configured)"
            };
            out.add(
                Some(node.clone()),
                Some(format!("{} -s {}", layout::HARVESTER_CHAIN, src.value)),
                format!(
                    "on {node}, {} accepts pod-network traffic from {} but {whence} is {}",
                    layout::HARVESTER_CHAIN,
                    src.value,
                    cidrs.join(",")
                ),
                evidence,
                format!(
                    "change the rule to `-s {}` in the CloudInit that persists {} and re-apply it",
                    cidrs.first().map_or("<cluster-cidr>", String::as_str),
                    layout::HARVESTER_CHAIN
                ),
            );
        }
    }
    if judged.is_empty() {
        return Verdict::not_applicable(format!(
            "no node's {} chain has a pod-network accept",
            layout::HARVESTER_CHAIN
        ));
    }
    judged.dedup();
    Verdict::judged(
        "the pod-network accept names another network than cluster-cidr",
        format!(
            "the pod-network accept names the cluster-cidr on {}",
            judged.join(",")
        ),
    )
}
