//! The protocol rules of the host firewall chain (FW010): the ICMP accept every node needs, and
//! the DHCP accept a node whose management NIC takes its address by DHCP needs.

use super::super::rule::{Findings, Need, Rule, Verdict};
use super::super::{Context, Severity};
use super::ports::{self, DHCP, Proto};
use crate::model::hostnet::Addressing;

/// The chain lacks ICMP, or DHCP while the management NIC uses DHCP.
pub static FW010: Rule = Rule {
    code: "FW010",
    severity: Severity::High,
    title: "host firewall chain lacks the ICMP accept, or the DHCP accept on a DHCP node",
    source: "seeds/harvester-host-firewall.txt (FW)",
    needs: &[Need::NodeCommands],
    doc: r#"**What it reads.** Each node's `iptables-save` output: the ACCEPT rules of its filtering
chain (the chain INPUT sends `mgmt-br` to, or INPUT with a DROP policy) before the first rule
that drops everything; how the management NIC gets its address: `commands/ip-addr.txt` of a
node snapshot (the live state: an address of `mgmt-br` marked `dynamic`), else
`/oem/harvester.config` (`install.managementinterface.method`,
`install.management_interface.method`, or v1.0's `install.networks.harvester-mgmt.method`).

**What it reports.** One finding per node and fault:
- no `-p icmp -j ACCEPT` (an accept of every packet counts): ping, and ICMP
  fragmentation-needed messages (path MTU discovery) are dropped;
- the management NIC uses DHCP and no `-p udp --dport 68` accept lets the DHCP server's replies
  in: the lease cannot be renewed and the node loses its management address.

**Why it matters.** Without ICMP, path MTU discovery breaks (large transfers over VXLAN or a
smaller-MTU link hang) and basic reachability checks fail; without DHCP on a DHCP node, the
node drops off the network when its lease expires.

**Remediation.** Add the guide's protocol rules before the port rules:
`iptables -A HARVESTER_INPUT -p icmp -m comment --comment "ICMP" -j ACCEPT`, and
`iptables -A HARVESTER_INPUT -p udp --sport 67 --dport 68 -m comment --comment "DHCP server reply" -j ACCEPT`
(with its `--sport 68 --dport 67` companion), live and in the CloudInit resource.

**Not evaluable** without `iptables-save` output from the nodes. **Not applicable** when no node
has a filtering chain (FW001). When the inputs do not tell how a node's management NIC is
addressed, only ICMP is judged there and the coverage row says so.

**Source.** `seeds/harvester-host-firewall.txt` (Protocol rules: "Allow ICMP, DHCP"; the
role-specific examples); rules.md FW010.
"#,
    evaluate: fw010,
};

fn fw010(cx: &Context, out: &mut Findings) -> Verdict {
    let chains = match ports::some_chains(cx) {
        Ok(c) => c,
        Err(v) => return v,
    };
    let mut dhcp_unknown = Vec::new();
    for nc in &chains {
        if nc.accepted.icmp.is_none() {
            out.add(
                Some(nc.node.to_string()),
                Some(format!("filter {} icmp", nc.chain.name)),
                format!(
                    "on {}, {} has no ICMP accept: ping and path MTU discovery (fragmentation-needed) are dropped",
                    nc.node, nc.chain.name
                ),
                vec![nc.origin()],
                format!(
                    "add `iptables -A {} -p icmp -m comment --comment \"ICMP\" -j ACCEPT` after the established accept, live and in the CloudInit resource",
                    nc.chain.name
                ),
            );
        }
        let Some(nic) = cx.model.mgmt_nics.get(nc.node) else {
            dhcp_unknown.push(nc.node);
            continue;
        };
        if nic.addressing != Addressing::Dhcp {
            continue;
        }
        let reply = &DHCP[0];
        if nc.accepted.uncovered(Proto::Udp, reply.ports).is_empty() {
            continue;
        }
        out.add(
            Some(nc.node.to_string()),
            Some(format!("filter {} dhcp", nc.chain.name)),
            format!(
                "on {}, the management NIC uses DHCP ({}) but {} does not accept udp 68 (DHCP server reply): the lease cannot be renewed",
                nc.node, nic.how, nc.chain.name
            ),
            vec![nc.origin(), nic.origin.clone()],
            format!(
                "add `iptables -A {c} -p udp --sport 67 --dport 68 -m comment --comment \"DHCP server reply\" -j ACCEPT` and `iptables -A {c} -p udp --sport 68 --dport 67 -m comment --comment \"DHCP client request\" -j ACCEPT`, live and in the CloudInit resource",
                c = nc.chain.name
            ),
        );
    }
    let nodes: Vec<&str> = chains.iter().map(|c| c.node).collect();
    let note = if dhcp_unknown.is_empty() {
        String::new()
    } else {
        format!(
            "; DHCP not judged on {} (how the management NIC is addressed is unknown: no /oem/harvester.config or commands/ip-addr.txt)",
            dhcp_unknown.join(",")
        )
    };
    Verdict::judged(
        format!(
            "{} protocol accept(s) missing in the chains of {}{note}",
            out.len(),
            nodes.join(",")
        ),
        format!(
            "the chains of {} accept ICMP, and DHCP where the management NIC uses it{note}",
            nodes.join(",")
        ),
    )
}
