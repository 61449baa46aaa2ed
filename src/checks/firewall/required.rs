//! The ports of the host firewall chain against the role port matrix ([`super::ports`]): FW002
//! (a port the node's role requires is not accepted) and FW007 (a LOG rule without a rate limit;
//! ports accepted beyond the role's needs).

use super::super::rule::{Findings, Need, Rule, Verdict};
use super::super::{Context, Severity};
use super::ports::{self, Addons, DHCP, NodeChain, Proto, ranges_text, rows_for};
use crate::parse::iptables::PortRange;

/// A port the node's role requires is not accepted.
pub static FW002: Rule = Rule {
    code: "FW002",
    severity: Severity::Critical,
    title: "a port the node's role requires is not accepted by the host firewall chain",
    source: "seeds/harvester-host-firewall.txt (FW)",
    needs: &[Need::NodeCommands],
    doc: r#"**What it reads.** Each node's `iptables-save` output (`commands/iptables-save.txt` of a node
snapshot): the chain INPUT sends `mgmt-br` traffic to (or INPUT itself when its policy is DROP),
its ACCEPT rules up to the first rule that drops everything (`-p`, `--dport`, `-m multiport
--dports`, ranges `a:b`, `-s`, `-i`); the node's role from the snapshot (a server is
control-plane, an agent worker, a witness witness); the support bundle's Harvester `Addon`
objects (`harvesterhci.io`, `spec.enabled: true`).

**What it reports.** One finding per node and row of the guide's role port matrix whose ports
the chain does not accept, port by port (a range partly accepted names the ports left):

| port | control-plane | worker | witness |
|---|---|---|---|
| tcp 22, 9091, 10250; udp 8472 | yes | yes | yes |
| tcp 80, 443; tcp+udp 30000-32767 | yes | yes | no |
| tcp 2379-2380, 9345 | yes | no | yes |
| tcp 2112, 6443 | yes | no | no |
| rancher-monitoring: tcp 9796 | yes | yes | yes |
| kubeovn-operator: tcp 10665, udp 4789 | yes | yes | yes |
| kubeovn-operator: tcp 8080, 8443 | yes | yes | no |
| kubeovn-operator: tcp 6641-6644, 10661 | yes | no | no |
| kubeovn-operator: tcp 10660 | no | yes | no |

An accept limited by `-s` counts when its source covers every node address the inputs know
(else the finding names the node address it leaves out; with no node address known, an accept
of every port from a source, the pod-network return accept, does not count); an accept limited by `-i` to another
interface, or by `! -i mgmt-br`, never sees the bridge's traffic and does not count; accepts
after a catch-all DROP are never reached (FW003) and do not count. ICMP and DHCP are FW010's,
the pod-network accept FW011's.

**Why it matters.** The chain drops what it does not accept: a missing kubelet, etcd, supervisor
or API server port cuts the node out of the cluster (etcd quorum, joins, `kubectl logs/exec`),
a missing NodePort range breaks the services exposed on it, a missing VXLAN port breaks pod
networking between nodes.

**Remediation.** Add the guide's rule for the row (`iptables -A HARVESTER_INPUT -p tcp --dport
6443 -m comment --comment "Kubernetes API server" -j ACCEPT`) before the LOG and DROP rules, and
add it to the role's CloudInit resource so that it comes back at boot.

**Add-ons.** The add-on rows count only when the support bundle's Harvester `Addon` object shows
the add-on enabled; without `Addon` objects (no support bundle, or a Harvester release before
add-ons, v1.0 and v1.1, whose monitoring was built in) they are skipped and the coverage row
says so.

**Not evaluable** without `iptables-save` output from the nodes (support bundles do not collect
it). **Not applicable** when no node has a filtering chain (FW001 reports that); a node whose
role the inputs do not tell is named in the coverage row and not judged.

**Source.** `seeds/harvester-host-firewall.txt` (Role-Specific CloudInit Resources: the
control-plane, worker and witness examples; Port Requirements for Addons); rules.md FW002.
"#,
    evaluate: fw002,
};

/// Unlimited logging, ports beyond the role's needs.
pub static FW007: Rule = Rule {
    code: "FW007",
    severity: Severity::Low,
    title: "LOG rule without a rate limit, or ports accepted beyond the node role's needs",
    source: "seeds/harvester-host-firewall.txt (FW)",
    needs: &[Need::NodeCommands],
    doc: r#"**What it reads.** Each node's `iptables-save` output: every `-j LOG` rule of the `filter`
table, and the ACCEPT rules of the node's filtering chain (the chain INPUT sends `mgmt-br` to,
or INPUT with a DROP policy) against the role port matrix of FW002.

**What it reports.**
- one finding per LOG rule without `-m limit` (or `hashlimit`): every dropped packet is written
  to the kernel log;
- one finding per node whose chain accepts ports its role does not need, listing them with
  their lines (an accept of every port of a protocol, or of everything, says so). The add-on
  rows count as needed when the add-on is enabled, and also when no Harvester `Addon` object
  tells whether it is; DHCP (udp 67, 68) is always needed. Accepts limited to a source that leaves out
  a node (the pod-network accept) are not listed.

**Why it matters.** An unlimited LOG rule lets anyone who can reach the management network fill
the kernel log and the journal (a cheap denial of service, and real drops drowned in noise);
the guide logs at `--limit 10/min`. A port accepted that the role does not use widens the attack
surface the chain exists to reduce.

**Remediation.** Add `-m limit --limit 10/min` to the LOG rule; remove the extra ACCEPT rules
from the chain and from the CloudInit resource that persists it (or restrict them with `-s` to
the hosts that need them).

**Not evaluable** without `iptables-save` output from the nodes. The ports part is skipped for
a node without a filtering chain or whose role is unknown (the coverage row says which).

**Source.** `seeds/harvester-host-firewall.txt` (the rate-limited LOG rule, the role-specific
rule sets); rules.md FW007.
"#,
    evaluate: fw007,
};

/// The remediation of a missing row.
fn add_rule(nc: &NodeChain, row: &ports::PortRow) -> String {
    format!(
        "add `{}` before the chain's LOG and DROP rules, and to the node role's iptables CloudInit resource (boot stage) so that it survives a reboot (harvester-host-firewall)",
        row.guide_rule(&nc.chain.name)
    )
}

fn fw002(cx: &Context, out: &mut Findings) -> Verdict {
    let chains = match ports::some_chains(cx) {
        Ok(c) => c,
        Err(v) => return v,
    };
    let addons = Addons::of(cx.snapshot);
    let mut judged = Vec::new();
    let mut unknown = Vec::new();
    for nc in &chains {
        let Some(role) = nc.role else {
            unknown.push(nc.node);
            continue;
        };
        judged.push(nc.who());
        for row in rows_for(role, &addons, false) {
            let left = nc.accepted.uncovered(row.proto, row.ports);
            let Some(first) = left.first() else {
                continue;
            };
            let mut msg = format!(
                "on {}, {} does not accept {} ({})",
                nc.who(),
                nc.chain.name,
                row.label(),
                row.purpose
            );
            if left != [row.ports] {
                msg.push_str(&format!(": ports {} of it are dropped", ranges_text(&left)));
            }
            if let Some(r) = nc.accepted.restricted_for(row.proto, first.lo) {
                msg.push_str(&format!(
                    "; the accept at line {} is limited to source {}, which leaves out the node address {}",
                    r.accept.line, r.source, r.left_out
                ));
            }
            let mut evidence = vec![nc.origin()];
            if let Some(a) = row.addon {
                msg.push_str(&format!(" (the {} add-on is enabled)", a.name()));
                evidence.extend(
                    addons
                        .enabled
                        .iter()
                        .filter(|(x, _)| *x == a)
                        .map(|(_, o)| o.clone()),
                );
            }
            out.add(
                Some(nc.node.to_string()),
                Some(format!("filter {} {}", nc.chain.name, row.label())),
                msg,
                evidence,
                add_rule(nc, row),
            );
        }
    }
    let skipped = if unknown.is_empty() {
        String::new()
    } else {
        format!("; not judged (role unknown): {}", unknown.join(","))
    };
    if judged.is_empty() {
        return Verdict::not_applicable(format!(
            "the role of every node with a filtering chain is unknown ({})",
            unknown.join(",")
        ));
    }
    Verdict::judged(
        format!(
            "{} required port row(s) not accepted; {}{skipped}",
            out.len(),
            addons.describe()
        ),
        format!(
            "the chains of {} accept every port of their role; {}{skipped}",
            judged.join(", "),
            addons.describe()
        ),
    )
}

/// True for a LOG rule without a rate limit.
fn unlimited_log(r: &crate::parse::iptables::Rule) -> bool {
    r.jump.as_deref() == Some("LOG")
        && r.limit.is_none()
        && !r.modules.iter().any(|m| m == "limit" || m == "hashlimit")
}

/// The ports `nc` accepts beyond its role's needs, as `tcp 3306 (line 14)` texts.
fn beyond(nc: &NodeChain, addons: &Addons) -> Vec<String> {
    let Some(role) = nc.role else {
        return Vec::new();
    };
    let allowed: Vec<&ports::PortRow> = rows_for(role, addons, true).chain(DHCP.iter()).collect();
    let mut out = Vec::new();
    // Ports beyond the needs, by rule (the ports of one multiport rule together).
    let mut ranges: Vec<(Proto, usize, Vec<PortRange>)> = Vec::new();
    for a in &nc.accepted.ports {
        let Some(proto) = a.proto else {
            out.push(format!("every packet (line {})", a.line));
            continue;
        };
        if a.any_port {
            out.push(format!("every {} port (line {})", proto.as_str(), a.line));
            continue;
        }
        let needed: Vec<PortRange> = allowed
            .iter()
            .filter(|r| r.proto == proto)
            .map(|r| r.ports)
            .collect();
        let extra = ports::subtract(a.ports, &needed);
        match ranges.last_mut() {
            Some((p, line, v)) if *p == proto && *line == a.line => v.extend(extra),
            _ if extra.is_empty() => {}
            _ => ranges.push((proto, a.line, extra)),
        }
    }
    for (proto, line, mut v) in ranges {
        v.sort();
        let mut merged: Vec<PortRange> = Vec::new();
        for r in v {
            match merged.last_mut() {
                Some(m) if u32::from(r.lo) <= u32::from(m.hi) + 1 => m.hi = m.hi.max(r.hi),
                _ => merged.push(r),
            }
        }
        if !merged.is_empty() {
            out.push(format!(
                "{} {} (line {line})",
                proto.as_str(),
                ranges_text(&merged)
            ));
        }
    }
    out
}

fn fw007(cx: &Context, out: &mut Findings) -> Verdict {
    let chains = match ports::node_chains(cx) {
        Ok(c) => c,
        Err(v) => return v,
    };
    let fws = cx.model.all_firewalls();
    for &(node, fw) in &fws {
        let Some(filter) = fw.rules.filter() else {
            continue;
        };
        for chain in &filter.chains {
            for r in chain.rules.iter().filter(|r| unlimited_log(r)) {
                out.add(
                    Some(node.clone()),
                    Some(format!("filter {} line {}", chain.name, r.line)),
                    format!(
                        "on {node}, the LOG rule at line {} of {}{} has no rate limit: every packet it matches is written to the kernel log",
                        r.line, chain.name, super::in_backend(fw)
                    ),
                    vec![fw.origin.clone().at(Some(format!("line {}", r.line)))],
                    "add `-m limit --limit 10/min` to the LOG rule (as the guide's `-m limit --limit 10/min ... -j LOG --log-prefix HARVESTER_DROP_ --log-level 4`), live and in the CloudInit resource that persists it".into(),
                );
            }
        }
    }
    let addons = Addons::of(cx.snapshot);
    let mut judged = Vec::new();
    let mut unknown = Vec::new();
    for nc in &chains {
        if nc.role.is_none() {
            unknown.push(nc.node);
            continue;
        }
        judged.push(nc.node);
        let extra = beyond(nc, &addons);
        if extra.is_empty() {
            continue;
        }
        out.add(
            Some(nc.node.to_string()),
            Some(format!("filter {} extra ports", nc.chain.name)),
            format!(
                "on {}, {} accepts beyond the role's needs: {}",
                nc.who(),
                nc.chain.name,
                extra.join(", ")
            ),
            vec![nc.origin()],
            "remove the extra ACCEPT rules (or restrict them with -s to the hosts that need them), live and in the role's iptables CloudInit resource".into(),
        );
    }
    let mut scope = format!("LOG rules of {} node(s)", super::by_node(&fws).len());
    if !judged.is_empty() {
        scope.push_str(&format!("; ports of {}", judged.join(",")));
    }
    if !unknown.is_empty() {
        scope.push_str(&format!(
            "; ports not judged (role unknown): {}",
            unknown.join(",")
        ));
    }
    if !addons.known && !judged.is_empty() {
        scope.push_str("; add-on ports allowed (no Harvester Addon object tells the add-ons)");
    }
    Verdict::judged(
        format!("{} finding(s) in {scope}", out.len()),
        format!("every LOG rule is rate-limited and no chain accepts beyond its role ({scope})"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::iptables::parse;

    #[test]
    fn a_log_rule_needs_a_limit() {
        let rs = parse(
            b"*filter\n:X - [0:0]\n-A X -m limit --limit 10/min -j LOG --log-prefix A\n-A X -j LOG --log-prefix B\nCOMMIT\n",
        );
        let c = rs.filter().and_then(|f| f.chain("X")).expect("chain");
        assert!(!unlimited_log(&c.rules[0]));
        assert!(unlimited_log(&c.rules[1]));
    }
}
