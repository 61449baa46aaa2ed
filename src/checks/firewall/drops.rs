//! Packets the host firewall dropped (FW008), from the `HARVESTER_DROP_` lines the guide's LOG
//! rule writes to the node's kernel log (`logs/kernel.log*` of a support bundle's node zip,
//! scanned once by the ingest for [`crate::snapshot::NEEDLES`]): SYN packets or destination
//! ports of the node's role mean a missing accept (high); ACK packets from a known service port
//! to an ephemeral port are conntrack false positives (info).

use std::collections::BTreeMap;

use super::super::rule::{Findings, Need, Rule, Verdict};
use super::super::{Context, Severity};
use super::ports::{self, Addons, NodeRole, PORTS, PortRow, Proto, rows_for};
use crate::parse::droplog::{self, Drop};
use crate::snapshot::Node;
use crate::vocab::Origin;

/// The log prefix of the guide's LOG rule.
pub const DROP_PREFIX: &str = "HARVESTER_DROP_";
/// A node's kernel log as a support bundle's node zip carries it (`kernel.log`, `kernel.log.1`).
pub const KERNEL_LOG: &str = "logs/kernel.log";

/// Drop logs that show a missing rule, or conntrack false positives.
pub static FW008: Rule = Rule {
    code: "FW008",
    severity: Severity::High,
    title: "the host firewall drops packets the node's role needs (HARVESTER_DROP_ log lines)",
    source: "seeds/harvester-host-firewall.txt (FW)",
    needs: &[Need::NodeLogs],
    doc: r#"**What it reads.** The `HARVESTER_DROP_` lines of each node's kernel log
(`logs/kernel.log*` in a support bundle's node zip), which the guide's rate-limited LOG rule
writes before its DROP: `IN=`, `SRC=`, `DST=`, `PROTO=`, `SPT=`, `DPT=` and the TCP flags
(`SYN`, `ACK`, `FIN`, `RST`, `PSH`); the node's role (the role port matrix of FW002) and the
support bundle's enabled Harvester `Addon` objects.

**What it reports.**
- **high**, one finding per node and destination port: packets with `SYN` (a new connection),
  or to a port the node's role needs (the matrix, with the enabled add-ons' rows), were dropped:
  an accept is missing. The finding gives the count, the first and last time and a source.
- **info**, one finding per node and source port: `ACK`, `ACK PSH`, `ACK FIN` or `ACK RST`
  packets from a known service port of the matrix (6443, 9345, 10250, …) to an ephemeral port
  (above 1024) are conntrack false positives: return traffic of connections opened before the
  rules were applied, or across a component restart (an upgrade). They are harmless when they
  stop.
Other drop lines (UDP or ACK traffic to ports no role uses) are what the chain is for; the
coverage row counts them.

**Why it matters.** A drop log that keeps showing SYNs or a required port means a service is
unreachable from the management network (joins, etcd, the API server, NodePorts); telling the
false positives apart avoids opening ports that are not needed.

**Remediation.** For a high finding, add the accept of the port (FW002 names the guide's rule)
live and in the role's CloudInit resource; check with `journalctl -k | grep HARVESTER_DROP`
that the SYNs stop. For an info finding, nothing: it self-heals as connections are
re-established (if it persists after an upgrade completes, look again).

**Not evaluable** without node logs (a support bundle's node zips carry `logs/kernel.log`). A
node with no drop line passes only when its kernel log was read; when the ingest's cap on kept
lines was reached, the counts are a lower bound and the coverage row says so.

**Source.** `seeds/harvester-host-firewall.txt` (Monitoring Dropped Packets, False Positives,
False Positives During Upgrade); rules.md FW008.
"#,
    evaluate: fw008,
};

/// Lines of one kind, grouped: how many, first and last time and line, a source.
#[derive(Debug)]
struct Group {
    count: usize,
    first: (String, Origin),
    last: (String, Origin),
    src: String,
    flags: String,
}

impl Group {
    fn add(g: Option<Group>, d: &Drop, at: Origin) -> Group {
        match g {
            None => Group {
                count: 1,
                first: (d.time.clone(), at.clone()),
                last: (d.time.clone(), at),
                src: d.src.clone(),
                flags: d.flags_text(),
            },
            Some(mut g) => {
                g.count += 1;
                g.last = (d.time.clone(), at);
                g
            }
        }
    }

    fn span(&self) -> String {
        let t = |s: &str| {
            if s.is_empty() {
                "an undated line".to_string()
            } else {
                s.to_string()
            }
        };
        format!("between {} and {}", t(&self.first.0), t(&self.last.0))
    }

    fn evidence(&self) -> Vec<Origin> {
        let mut v = vec![self.first.1.clone()];
        if self.last.1 != self.first.1 {
            v.push(self.last.1.clone());
        }
        v
    }
}

/// The rotation number of a kernel log (`kernel.log` 0, `kernel.log.2` 2).
fn rotation(host: &str) -> u32 {
    host.rsplit('.')
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

/// A node's kernel logs, oldest first.
fn kernel_logs(node: &Node) -> Vec<&str> {
    let mut v: Vec<&str> = node
        .files
        .range::<str, _>((
            std::ops::Bound::Included(KERNEL_LOG),
            std::ops::Bound::Unbounded,
        ))
        .map(|(k, _)| &**k)
        .take_while(|k| k.starts_with(KERNEL_LOG))
        .collect();
    v.sort_by_key(|k| std::cmp::Reverse(rotation(k)));
    v
}

/// The matrix row of a port, among `rows`.
fn row_of<'a>(
    rows: impl IntoIterator<Item = &'a PortRow>,
    proto: Proto,
    port: u16,
) -> Option<&'a PortRow> {
    rows.into_iter()
        .find(|r| r.proto == proto && r.ports.contains(port))
}

fn fw008(cx: &Context, out: &mut Findings) -> Verdict {
    let snap = cx.snapshot;
    let addons = Addons::of(snap);
    let mut read = Vec::new();
    let mut capped = Vec::new();
    let mut other = 0usize;
    // (node, proto, port) → group, for missing rules and for false positives.
    let mut missing: BTreeMap<(String, Proto, u16), Group> = BTreeMap::new();
    let mut benign: BTreeMap<(String, Proto, u16), Group> = BTreeMap::new();
    for node in snap.nodes.values() {
        let role = ports::role_of(node);
        let needed: Vec<&PortRow> = match role {
            Some(r) => rows_for(r, &addons, false).collect(),
            None => [NodeRole::ControlPlane, NodeRole::Worker, NodeRole::Witness]
                .into_iter()
                .flat_map(|r| rows_for(r, &addons, false))
                .collect(),
        };
        let mut any = false;
        for host in kernel_logs(node) {
            let Some((hf, log)) = snap.host_log(&node.name, host) else {
                continue;
            };
            any = true;
            if log.matches_truncated {
                capped.push(format!("{}:{host}", node.name));
            }
            let input = snap.trees.get(hf.input).map_or("", |t| t.name.as_str());
            for m in &log.matches {
                let Some(d) = droplog::parse(&m.text, DROP_PREFIX) else {
                    continue;
                };
                let at = Origin::new(input, &*hf.logical)
                    .on(node.name.as_str(), host)
                    .at(Some(format!("line {}", m.line)));
                let proto = Proto::of(&d.proto);
                let from_service = proto
                    .zip(d.spt)
                    .and_then(|(p, s)| row_of(PORTS, p, s))
                    .is_some();
                let to_ephemeral = d.dpt.is_some_and(|p| p > 1024);
                let to_needed = proto
                    .zip(d.dpt)
                    .and_then(|(p, port)| row_of(needed.iter().copied(), p, port))
                    .is_some();
                let key = |port: Option<u16>| {
                    proto
                        .zip(port)
                        .map(|(p, port)| (node.name.clone(), p, port))
                };
                if d.is_ack() && from_service && to_ephemeral {
                    if let Some(k) = key(d.spt) {
                        let g = benign.remove(&k);
                        benign.insert(k, Group::add(g, &d, at));
                    }
                } else if (d.is_syn() || to_needed)
                    && let Some(k) = key(d.dpt)
                {
                    let g = missing.remove(&k);
                    missing.insert(k, Group::add(g, &d, at));
                } else {
                    other += 1;
                }
            }
        }
        if any {
            read.push(node.name.as_str());
        }
    }
    if read.is_empty() {
        return Verdict::not_evaluable("no node's kernel log in the inputs", Need::NodeLogs);
    }
    for ((node, proto, port), g) in &missing {
        let role = snap.nodes.get(node).and_then(ports::role_of);
        let who = role.map_or("role unknown", NodeRole::as_str);
        let what = match role.and_then(|r| row_of(rows_for(r, &addons, false), *proto, *port)) {
            Some(row) => format!("{}, which the {who} role needs", row.purpose),
            None => format!(
                "not a port of the {who} role, but SYN packets try to open connections there"
            ),
        };
        out.add(
            Some(node.clone()),
            Some(format!("{DROP_PREFIX} {} {port}", proto.as_str())),
            format!(
                "on {node} ({who}), the host firewall dropped {} packet(s) to {} {port} ({what}) {}; e.g. from {} with flags {}",
                g.count,
                proto.as_str(),
                g.span(),
                g.src,
                g.flags
            ),
            g.evidence(),
            format!(
                "if the port is needed, add `-p {} --dport {port} -j ACCEPT` to the chain before its LOG and DROP rules, live and in the role's CloudInit resource; then check with `journalctl -k | grep HARVESTER_DROP` that the drops stop",
                proto.as_str()
            ),
        );
    }
    for ((node, proto, port), g) in &benign {
        let purpose = row_of(PORTS, *proto, *port).map_or("", |r| r.purpose);
        out.add(
            Some(node.clone()),
            Some(format!("{DROP_PREFIX} from {} {port}", proto.as_str())),
            format!(
                "on {node}, {} {} packet(s) from {} {port} ({purpose}) to ephemeral ports were dropped {}: conntrack false positives (return traffic of connections opened before the rules were applied or across a restart, as during an upgrade)",
                g.count,
                g.flags,
                proto.as_str(),
                g.span()
            ),
            g.evidence(),
            "nothing to do if they stop within minutes (or once an upgrade completes); if they persist, look for SYN drops or a missing port (harvester-host-firewall, False Positives)".into(),
        )
        .severity = Severity::Info;
    }
    let mut scope = format!("kernel logs of {}", read.join(","));
    if other > 0 {
        scope.push_str(&format!(
            "; {other} other drop line(s) (ports no role uses, not SYN): the chain doing its job"
        ));
    }
    if !capped.is_empty() {
        scope.push_str(&format!(
            "; kept lines capped in {}: counts are a lower bound",
            capped.join(",")
        ));
    }
    Verdict::judged(
        format!(
            "{} port(s) with drops that mean a missing rule, {} with conntrack false positives ({scope})",
            missing.len(),
            benign.len()
        ),
        format!("no drop of a needed port or SYN in the {scope}"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rotated_kernel_logs_come_oldest_first() {
        let mut n = Node::default();
        for k in [
            "logs/kernel.log",
            "logs/kernel.log.1",
            "logs/kernel.log.2",
            "logs/rke2-server.log",
            "logs/iscsid.log",
        ] {
            n.files.insert(k.into(), Vec::new());
        }
        assert_eq!(
            kernel_logs(&n),
            ["logs/kernel.log.2", "logs/kernel.log.1", "logs/kernel.log"]
        );
    }
}
