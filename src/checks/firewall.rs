//! Host firewall rules (FW), after Harvester's host firewall guide: inbound traffic on the
//! management bridge filtered by a chain attached to INPUT (FW001), and that chain built as the
//! guide builds it (FW003): the ESTABLISHED,RELATED accept first, no DROP before an accept, the
//! chain the last entry of INPUT, and in one backend only. Read from each node's `iptables-save`
//! and `iptables-legacy-save` in the credential model (`commands/iptables-save.txt`,
//! `commands/iptables-legacy-save.txt` of a node snapshot); a support bundle collects neither.
//! The ports, protocols and drop logs of the chain live in the submodules: `ports` (the role
//! port matrix, declared once, and what a chain accepts), `required` (FW002, FW007),
//! `protocols` (FW010), `drops` (FW008).

use super::rule::{Findings, Need, Rule, Verdict};
use super::{Context, Severity};
use crate::layout;
use crate::model::Firewall;
use crate::model::firewalls::Backend;
use crate::parse::iptables::{Chain, Rule as IptRule, Table};

mod drops;
mod ports;
mod protocols;
mod required;

pub use drops::FW008;
pub use protocols::FW010;
pub use required::{FW002, FW007};

/// No filtering chain on the management bridge.
pub static FW001: Rule = Rule {
    code: "FW001",
    severity: Severity::Medium,
    title: "no inbound filtering on the management bridge",
    source: "seeds/harvester-host-firewall.txt (FW)",
    needs: &[Need::NodeCommands],
    doc: r#"**What it reads.** Each node's `iptables-save` output (`commands/iptables-save.txt` of a node
snapshot): the `filter` table's INPUT chain; and `iptables-legacy-save`
(`commands/iptables-legacy-save.txt`) where the legacy tables hold rules of their own (the seed's
`iptables` warns "iptables-legacy tables present"): the kernel runs both, so a chain attached in
either filters the bridge. A legacy output with no table, or with the same tables as
`iptables-save` (a host whose default backend is the legacy one), adds nothing. Every FW rule that
reads the live chains reads them so; their messages say "legacy tables" for a chain found there.

**What it reports.** One finding per node whose INPUT chain has no rule that sends traffic
arriving on the management bridge (`-i mgmt-br`) to a chain of its own (`-j HARVESTER_INPUT`,
or any user chain), nor an INPUT policy of DROP.

**Why it matters.** Harvester nodes do not filter inbound traffic by default: any host that
reaches the management network reaches every open port of the node (kube-apiserver, the rke2
supervisor, etcd, kubelet, the node exporters). The host firewall guide attaches a
`HARVESTER_INPUT` chain to INPUT for `mgmt-br` that accepts only the ports the node's role needs.

**Remediation.** Apply the guide's rule set for the node's role (create `HARVESTER_INPUT`, attach
it with `iptables -A INPUT -i mgmt-br -j HARVESTER_INPUT`, accept established traffic, ICMP and
the role's ports, log and drop the rest) and persist it with a CloudInit resource in the `boot`
stage.

**Not evaluable** without `iptables-save` output from the nodes: support bundles do not collect
it; a node snapshot carries it in `commands/iptables-save.txt`.

**Source.** `seeds/harvester-host-firewall.txt` (Applying iptables Rules, Persisting Rules with
CloudInit CRD); `reference/harvester-bundle.md` (iptables-save is not collected); rules.md FW001.
"#,
    evaluate: fw001,
};

/// The filtering chain built wrong.
pub static FW003: Rule = Rule {
    code: "FW003",
    severity: Severity::Critical,
    title: "host firewall chain lacks the established accept, drops before it accepts, or is not the last INPUT entry",
    source: "seeds/harvester-host-firewall.txt (FW)",
    needs: &[Need::NodeCommands],
    doc: r#"**What it reads.** Each node's `iptables-save` output: the INPUT rule that sends `mgmt-br`
traffic to a chain, and that chain's rules in order.

**What it reports.** One finding per node and fault:
- the chain has no `-m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT` (or `--state`) rule
  before its first DROP or REJECT: return traffic of the node's own connections is dropped;
- a DROP or REJECT rule that matches everything comes before an ACCEPT rule: that accept is
  never reached;
- the jump to the chain is not the last rule of INPUT: rules after it are evaluated only for
  traffic the chain returned, and the guide checks with `iptables -L INPUT` that it is last.
- the default (`iptables-save`) and the legacy (`iptables-legacy-save`) tables both attach a
  chain for `mgmt-br`: the kernel runs both and a packet must pass each, so a stale copy (one
  tool or an old script writing the legacy tables, the CloudInit's `iptables` the other) drops
  what the maintained chain accepts or keeps a removed rule alive. The message says whether the
  two copies hold the same rules. Each copy is also judged on its own.

**Why it matters.** Each of these either cuts the node off from the cluster (its own return
traffic, the ports after an early DROP) or leaves the chain's intent unenforced.

**Remediation.** Rebuild the chain in the guide's order (established, protocol rules, the role's
ports, LOG with a rate limit, DROP), attach it last to INPUT, and re-apply the CloudInit that
persists it (its leading cleanup removes the old entries).

**Not evaluable** without `iptables-save` output from the nodes; **not applicable** on a node with
no chain attached for `mgmt-br` (FW001 reports that).

**Source.** `seeds/harvester-host-firewall.txt` (the rule set's structure, "verify that
HARVESTER_INPUT appears as the last entry in the INPUT chain"); rules.md FW003.
"#,
    evaluate: fw003,
};

/// The chain INPUT sends management-bridge traffic to, and the position of that jump in INPUT.
pub(super) fn bridge_chain(filter: &Table) -> Option<(&Chain, usize)> {
    let input = filter.chain("INPUT")?;
    input.rules.iter().enumerate().find_map(|(i, r)| {
        let on_bridge = r
            .in_interface
            .as_ref()
            .is_some_and(|n| !n.negated && n.value == layout::MGMT_BRIDGE);
        let target = r.jump.as_deref().or(r.goto.as_deref())?;
        if !on_bridge {
            return None;
        }
        filter.chain(target).map(|c| (c, i))
    })
}

/// Every node's live rulesets (`iptables-save`, and `iptables-legacy-save` where the legacy
/// tables hold rules of their own), node by node, or the not-evaluable verdict.
pub(super) fn firewalls<'a>(cx: &Context<'a>) -> Result<Vec<(&'a String, &'a Firewall)>, Verdict> {
    let all = cx.model.all_firewalls();
    if all.is_empty() {
        return Err(Verdict::not_evaluable(
            "no node's iptables-save output in the inputs",
            Need::NodeCommands,
        ));
    }
    Ok(all)
}

/// `fws` grouped by node, each node's backends in order.
pub(super) fn by_node<'a>(
    fws: &[(&'a String, &'a Firewall)],
) -> std::collections::BTreeMap<&'a String, Vec<&'a Firewall>> {
    let mut out: std::collections::BTreeMap<&String, Vec<&Firewall>> = Default::default();
    for &(node, fw) in fws {
        out.entry(node).or_default().push(fw);
    }
    out
}

/// The node names of `fws`, each once, comma-separated.
fn nodes(fws: &[(&String, &Firewall)]) -> String {
    let mut names: Vec<&str> = fws.iter().map(|(n, _)| n.as_str()).collect();
    names.dedup();
    names.join(",")
}

/// ` (legacy tables)` for a ruleset of `iptables-legacy-save`, nothing for the default backend:
/// said after the chain's name in messages.
pub(super) fn in_backend(fw: &Firewall) -> &'static str {
    match fw.backend {
        Backend::Default => "",
        Backend::Legacy => " (legacy tables, iptables-legacy-save)",
    }
}

fn fw001(cx: &Context, out: &mut Findings) -> Verdict {
    let fws = match firewalls(cx) {
        Ok(f) => f,
        Err(v) => return v,
    };
    let by_node = by_node(&fws);
    for (node, backends) in &by_node {
        let filters = |fw: &&Firewall| {
            fw.rules.filter().is_some_and(|filter| {
                let drops_by_policy = filter
                    .chain("INPUT")
                    .and_then(|c| c.policy.as_deref())
                    .is_some_and(|p| p == "DROP");
                bridge_chain(filter).is_some() || drops_by_policy
            })
        };
        if backends.iter().any(filters) {
            continue;
        }
        let node = (*node).clone();
        let evidence: Vec<_> = backends.iter().map(|fw| fw.origin.clone()).collect();
        if !backends.iter().any(|fw| fw.rules.filter().is_some()) {
            out.add(
                Some(node.clone()),
                Some("filter INPUT".into()),
                format!("{node}'s iptables-save has no filter table: nothing filters inbound traffic on {}", layout::MGMT_BRIDGE),
                evidence,
                "apply the host firewall guide's rule set for the node's role and persist it with a CloudInit in the boot stage".into(),
            );
            continue;
        }
        out.add(
            Some(node.clone()),
            Some("filter INPUT".into()),
            format!(
                "on {node}, no INPUT rule sends traffic arriving on {} to a filtering chain (such as {}) and the INPUT policy accepts: every open port of the node is reachable from the management network",
                layout::MGMT_BRIDGE,
                layout::HARVESTER_CHAIN
            ),
            evidence,
            format!(
                "create {chain} with the ports of the node's role, attach it with `iptables -A INPUT -i {br} -j {chain}`, and persist it with a CloudInit resource in the boot stage (harvester-host-firewall)",
                chain = layout::HARVESTER_CHAIN,
                br = layout::MGMT_BRIDGE
            ),
        );
    }
    Verdict::judged(
        format!(
            "{} of {} node(s) without a filtering chain on {}",
            out.len(),
            by_node.len(),
            layout::MGMT_BRIDGE
        ),
        format!(
            "inbound traffic on {} is filtered on {}",
            layout::MGMT_BRIDGE,
            nodes(&fws)
        ),
    )
}

/// True for a rule that accepts return traffic of established connections.
fn accepts_established(r: &IptRule) -> bool {
    r.jump.as_deref() == Some("ACCEPT")
        && r.states.iter().any(|s| s == "ESTABLISHED")
        && r.states.iter().any(|s| s == "RELATED")
}

/// True for a DROP or REJECT that matches every packet (no protocol, port, interface, address
/// or state restriction).
fn drops_everything(r: &IptRule) -> bool {
    matches!(r.jump.as_deref(), Some("DROP" | "REJECT"))
        && r.protocol.is_none()
        && r.in_interface.is_none()
        && r.source.is_none()
        && r.destination.is_none()
        && r.dports.is_empty()
        && r.sports.is_empty()
        && r.states.is_empty()
}

fn fw003(cx: &Context, out: &mut Findings) -> Verdict {
    let fws = match firewalls(cx) {
        Ok(f) => f,
        Err(v) => return v,
    };
    let mut judged = Vec::new();
    let mut attached: std::collections::BTreeMap<&String, Vec<(&Firewall, &Chain)>> =
        Default::default();
    for &(node, fw) in &fws {
        let Some((chain, at)) = fw.rules.filter().and_then(bridge_chain) else {
            continue;
        };
        judged.push(node.as_str());
        attached.entry(node).or_default().push((fw, chain));
        let name = &chain.name;
        let name = &format!("{name}{}", in_backend(fw));
        let first_drop = chain.rules.iter().position(drops_everything);
        let established = chain.rules.iter().position(accepts_established);
        let origin = |line: usize| fw.origin.clone().at(Some(format!("line {line}")));
        let mut fault = |what: String, line: usize, remedy: &str| {
            out.add(
                Some(node.clone()),
                Some(format!("filter {name}")),
                format!("on {node}, {what}"),
                vec![origin(line)],
                remedy.to_string(),
            );
        };
        match (established, first_drop) {
            (None, _) => fault(
                format!(
                    "{name} has no ESTABLISHED,RELATED accept: the return traffic of the node's own connections is dropped"
                ),
                chain.rules.first().map_or(0, |r| r.line),
                "add `-m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT` as the chain's first rule",
            ),
            (Some(e), Some(d)) if d < e => fault(
                format!(
                    "{name} drops every packet (line {}) before it accepts established traffic",
                    chain.rules[d].line
                ),
                chain.rules[d].line,
                "move the ESTABLISHED,RELATED accept to the top of the chain",
            ),
            _ => {}
        }
        if let Some(d) = first_drop
            && let Some(accept) = chain.rules[d + 1..]
                .iter()
                .find(|r| r.jump.as_deref() == Some("ACCEPT"))
        {
            fault(
                format!(
                    "{name} drops every packet at line {} before the accept at line {}, which is never reached",
                    chain.rules[d].line, accept.line
                ),
                chain.rules[d].line,
                "keep the LOG and DROP rules last in the chain, after every accept",
            );
        }
        if let Some(input) = fw.rules.filter().and_then(|f| f.chain("INPUT"))
            && at + 1 < input.rules.len()
        {
            let jump = &input.rules[at];
            fault(
                format!(
                    "the jump to {name} (line {}) is not the last INPUT rule: {} rule(s) follow it",
                    jump.line,
                    input.rules.len() - at - 1
                ),
                jump.line,
                "attach the chain last (`iptables -A INPUT -i mgmt-br -j HARVESTER_INPUT` after the other INPUT rules) and check with `iptables -L INPUT -v -n --line-numbers`",
            );
        }
    }
    for (node, copies) in &attached {
        two_copies(node, copies, out);
    }
    judged.dedup();
    if judged.is_empty() {
        return Verdict::not_applicable(format!(
            "no node has a chain attached to INPUT for {} (FW001)",
            layout::MGMT_BRIDGE
        ));
    }
    Verdict::judged(
        format!(
            "{} fault(s) in the chains of {}",
            out.len(),
            judged.join(",")
        ),
        format!(
            "the chains of {} accept established traffic first, drop last and are the last INPUT entry",
            judged.join(",")
        ),
    )
}

/// A node whose default and legacy tables both attach a chain for the bridge: the kernel runs
/// both, a packet must pass each, so the copy nothing maintains (usually the legacy one, left by
/// an older script or tool) drops what the other accepts, or keeps ports open the other closed.
fn two_copies(node: &String, copies: &[(&Firewall, &Chain)], out: &mut Findings) {
    let [(a, ca), (b, cb), ..] = copies else {
        return;
    };
    let strip = |c: &Chain| {
        c.rules
            .iter()
            .map(|r| IptRule {
                line: 0,
                ..r.clone()
            })
            .collect::<Vec<_>>()
    };
    let how = if ca.name == cb.name && strip(ca) == strip(cb) {
        "with the same rules".to_string()
    } else {
        format!(
            "with different rules ({} rule(s) in {} of {}, {} in {} of {})",
            ca.rules.len(),
            ca.name,
            a.backend.command(),
            cb.rules.len(),
            cb.name,
            b.backend.command()
        )
    };
    out.add(
        Some(node.clone()),
        Some(format!("filter {} in two backends", ca.name)),
        format!(
            "on {node}, both {} and {} attach a chain to INPUT for {} ({} and {}), {how}: the kernel runs both tables and a packet must pass each, so a stale copy drops what the maintained chain accepts or hides a change to it",
            a.backend.command(),
            b.backend.command(),
            layout::MGMT_BRIDGE,
            ca.name,
            cb.name
        ),
        vec![
            a.origin.clone().at(Some(format!("chain {}", ca.name))),
            b.origin.clone().at(Some(format!("chain {}", cb.name))),
        ],
        format!(
            "keep the chain in the backend the CloudInit's `iptables` writes to and remove the other copy (`iptables-legacy -D INPUT -i {br} -j {c}; iptables-legacy -F {c}; iptables-legacy -X {c}` for a legacy copy)",
            br = layout::MGMT_BRIDGE,
            c = cb.name
        ),
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::iptables::parse;

    const GOOD: &str = "*filter\n:INPUT ACCEPT [0:0]\n:HARVESTER_INPUT - [0:0]\n-A INPUT -j KUBE-FIREWALL\n-A INPUT -i mgmt-br -j HARVESTER_INPUT\n-A HARVESTER_INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n-A HARVESTER_INPUT -p tcp -m tcp --dport 6443 -j ACCEPT\n-A HARVESTER_INPUT -m limit --limit 10/min -j LOG --log-prefix HARVESTER_DROP_\n-A HARVESTER_INPUT -j DROP\nCOMMIT\n";

    #[test]
    fn the_guides_chain_is_found_behind_the_bridge_jump() {
        let rs = parse(GOOD.as_bytes());
        let (chain, at) = bridge_chain(rs.filter().expect("filter")).expect("chain");
        assert_eq!(chain.name, "HARVESTER_INPUT");
        assert_eq!(at, 1);
        assert!(accepts_established(&chain.rules[0]));
        assert!(!drops_everything(&chain.rules[2]));
        assert!(drops_everything(&chain.rules[3]));
    }

    #[test]
    fn a_negated_bridge_match_is_not_the_bridge_chain() {
        let text = GOOD.replace("-A INPUT -i mgmt-br", "-A INPUT ! -i mgmt-br");
        let rs = parse(text.as_bytes());
        assert!(bridge_chain(rs.filter().expect("filter")).is_none());
    }
}
