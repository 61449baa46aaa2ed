//! Copies that must agree: CERT007 (a cluster CA file that differs between servers) and CERT008
//! (an agent's `server-ca.crt` / `client-ca.crt` that matches no server's current file).

use std::collections::BTreeMap;

use super::describe;
use crate::checks::common::{cross_server_gate, disagreement_findings, short};
use crate::checks::rule::{Findings, Need, Rule, Verdict};
use crate::checks::{Context, Severity};
use crate::layout::{self, AgentCopy, CaFile};

/// Cluster CA file differs between server nodes.
pub static CERT007: Rule = Rule {
    code: "CERT007",
    severity: Severity::Critical,
    title: "cluster CA file differs between server nodes",
    source: "reference/rke2-pki.md §2.5",
    needs: &[Need::TwoServers],
    doc: r#"**What it reads.** The consistency checks: the bytes of `server/tls/server-ca.crt`, `client-ca.crt`,
`request-header-ca.crt`, `etcd/server-ca.crt` and `etcd/peer-ca.crt` on every server node of the
inputs.

**What it reports.** When a strict majority of the servers share one version, one finding per
server holding another (node, file as target, its version and the majority's: the file's SHA-256
prefix and its first certificate's fingerprint prefix; evidence: its copy and a majority copy).
Without a majority (two servers, each its own version) one finding names every version and its
servers, with no single node: the files alone do not tell which copy is current.

**Why it matters.** The servers share one set of cluster CAs through the datastore. A server with
its own CA signs leaves that the other servers and the agents do not trust: clients fail
authentication depending on which server they reach.

**Remediation.** Find the current copy (the datastore's, held by the majority), restore that CA
certificate and key on the other servers, then reissue the leaves the stray CA signed
(`rke2 certificate rotate` and restart on those servers).

**Not applicable** with a single server. **Not evaluable** when fewer than two servers' `server/tls`
are in the inputs: add node snapshots of the servers.

**Source.** `reference/rke2-pki.md` §2.5 (bootstrap data holds the CAs); rules.md CERT007.
"#,
    evaluate: cert007,
};

/// Agent's CA bundle copy differs from the servers' current bundle.
pub static CERT008: Rule = Rule {
    code: "CERT008",
    severity: Severity::High,
    title: "agent's CA bundle copy differs from the servers' current bundle",
    source: "reference/rke2-pki.md §1.3",
    needs: &[Need::NodeFiles],
    doc: r#"**What it reads.** The consistency checks: every node's `agent/server-ca.crt` and
`agent/client-ca.crt` (servers have an agent directory too) against the servers'
`server/tls/server-ca.crt` and `client-ca.crt`.

**What it reports.** One finding per agent copy that matches no server's current file: node, the
file (target), the first certificate it holds and the one the servers serve.

**Why it matters.** The agent verifies the servers and its kubelet is verified with these copies. A
copy left from before a CA change means the node was not restarted since: it cannot validate the
servers, and its token probably pins the old CA hash too (TOKEN001).

**Remediation.** The agent re-fetches the bundles at start: make sure its token pins the current CA
hash (TOKEN001), then restart rke2-agent (rke2-server on servers) on the node.

**Not evaluable** without a server's `server/tls` CA files or without any agent copy in the inputs:
add node snapshots of a server and of the agents.

**Source.** `reference/rke2-pki.md` §1.3 (agent files); rules.md CERT008.
"#,
    evaluate: cert008,
};

fn cert007(cx: &Context, out: &mut Findings) -> Verdict {
    let snap = cx.snapshot;
    let holders: Vec<&str> = snap
        .servers()
        .into_iter()
        .filter(|s| {
            snap.nodes.get(*s).is_some_and(|n| {
                CaFile::ALL
                    .iter()
                    .any(|c| n.files.contains_key(c.host_path()))
            })
        })
        .collect();
    if let Some(v) = cross_server_gate(snap, &holders, "the cluster CA files") {
        return v;
    }
    let mut n = 0;
    for d in &cx.consistency.disagreements {
        if d.file.ends_with("service.key") {
            continue;
        }
        n += 1;
        disagreement_findings(
            d,
            out,
            |v| {
                format!(
                    "file sha256 {} (first certificate {})",
                    short(&v.sha256),
                    v.first.as_deref().map(short).unwrap_or("unparsable")
                )
            },
            "servers must share every cluster CA (the datastore holds one copy): find which server's copy is current (the one in the datastore, served by the majority), restore that CA file and key on the others from it, then reissue the leaves it signed (`rke2 certificate rotate` and restart on those servers)",
        );
    }
    let compared = holders.join(",");
    Verdict::judged(
        format!("{n} CA file(s) differ between servers {compared}"),
        format!("server-ca, client-ca, request-header-ca and etcd CAs identical on {compared}"),
    )
}

/// Subject CN and first-certificate fingerprint of a compared CA bundle file of `node`.
fn first_cert_label(cx: &Context, node: &str, host: &str) -> String {
    let first = cx
        .model
        .digests
        .get(&(node.to_string(), host.to_string()))
        .and_then(|d| d.first_cert.as_deref())
        .and_then(|fp| cx.model.certs.certs.get(fp));
    match first {
        Some(e) => describe(e),
        None => "no parsable certificate".into(),
    }
}

fn cert008(cx: &Context, out: &mut Findings) -> Verdict {
    let snap = cx.snapshot;
    let server_files: BTreeMap<&str, Vec<String>> = AgentCopy::ALL
        .into_iter()
        .map(|copy| {
            let server_file = copy.mirrors().host_path();
            let mut labels: Vec<String> = snap
                .servers()
                .into_iter()
                .filter_map(|s| snap.nodes.get(s))
                .filter(|n| {
                    cx.model
                        .digests
                        .contains_key(&(n.name.clone(), server_file.to_string()))
                })
                .map(|n| first_cert_label(cx, &n.name, server_file))
                .collect();
            labels.sort();
            labels.dedup();
            (copy.file_name(), labels)
        })
        .collect();
    let have_server = server_files.values().any(|v| !v.is_empty());
    let have_agent = snap.nodes.values().any(|n| {
        AgentCopy::ALL
            .iter()
            .any(|c| n.files.contains_key(c.host_path()))
    });
    if !have_server || !have_agent {
        let reason = if have_server {
            "no agent/server-ca.crt or agent/client-ca.crt in the inputs"
        } else {
            "no server's server/tls/server-ca.crt or client-ca.crt in the inputs to compare the agents' copies with"
        };
        return Verdict::not_evaluable(reason, Need::NodeFiles);
    }
    for s in &cx.consistency.stale {
        let name = s.file.rsplit('/').next().unwrap_or(&s.file);
        let held = first_cert_label(cx, &s.node, &format!("{}{}", layout::DATA_DIR, s.file));
        let current = server_files
            .get(name)
            .map(|v| v.join(" / "))
            .unwrap_or_default();
        out.add(
            Some(s.node.clone()),
            Some(s.file.clone()),
            format!(
                "{}'s {} starts with {held}, which matches no server's {}: the servers serve {current}",
                s.node, s.file, s.compared_with
            ),
            vec![s.origin.clone()],
            "the agent re-fetches the CA bundles from a server at start: make sure its token pins the current CA hash (TOKEN001), then restart rke2-agent (rke2-server on servers) on the node".into(),
        );
    }
    let n = cx.consistency.stale.len();
    Verdict::judged(
        format!("{n} agent CA copy(ies) differ from the servers' current bundles"),
        "every agent/server-ca.crt and agent/client-ca.crt matches a server's current bundle",
    )
}
