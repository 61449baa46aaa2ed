//! CERT012: a kubeconfig (`rke2.yaml` and its copies, `server/cred/*.kubeconfig`, agent
//! kubeconfigs) that presents an expired client certificate, one its client key does not pair
//! with, or that trusts a CA other than the cluster's current server CA.

use std::collections::BTreeSet;

use super::{current_ca, describe};
use crate::checks::common::{instant, span};
use crate::checks::rule::{Findings, Need, Rule, Verdict};
use crate::checks::{Context, Severity};
use crate::layout::{AgentCopy, CaFile};
use crate::model::certs::Status;

/// Kubeconfig with an expired or mismatched client certificate, or a stale CA.
pub static CERT012: Rule = Rule {
    code: "CERT012",
    severity: Severity::High,
    title: "kubeconfig presents an expired or mismatched client certificate or trusts a stale CA",
    source: "reference/rke2-pki.md §3.1",
    needs: &[Need::NodeFiles],
    doc: r#"**What it reads.** The credential model's kubeconfigs (`etc/rancher/rke2/rke2.yaml`,
`server/cred/*.kubeconfig`, the agent kubeconfigs): the first client certificate of each user and
its client key (embedded `client-certificate-data` / `client-key-data`, or the files named), and the
CA certificates each trusts; the servers' `server/tls/server-ca.crt` (else the nodes'
`agent/server-ca.crt`) as the cluster's current server CA.

**What it reports.** One finding per kubeconfig and fault (node, the kubeconfig as target): a client
certificate expired at the reference time (subject, fingerprint prefix, NotAfter); a client
certificate whose key does not pair with it (when the key is in the inputs); CA certificates none
of which is the cluster's current server CA (the first certificate of the servers' file).

**Why it matters.** A kubeconfig is only as good as the credentials it carries: after `rke2
certificate rotate` or a CA rotation, copies of `rke2.yaml` taken earlier still embed the old
`client-admin` certificate and the old CA, and every `kubectl` using them fails with an
authentication or `x509: certificate signed by unknown authority` error.

**Remediation.** The kubeconfigs rke2 writes (`rke2.yaml`, `server/cred/*`, agent kubeconfigs) are
rewritten when rke2 starts: restart rke2-server (rke2-agent) on the node. Copies elsewhere must be
refreshed from the current `/etc/rancher/rke2/rke2.yaml` (changing `server:` as needed).

**Not evaluable** without a kubeconfig in the inputs (node snapshots). The CA comparison is left
out, and coverage says so, when no node file shows the current server CA.

**Source.** `reference/rke2-pki.md` §3.1 (copies of `rke2.yaml` must be refreshed after a
rotation), §1.2 (`cred/*.kubeconfig`); rules.md CERT012.
"#,
    evaluate: cert012,
};

const REFRESH: &str = "rke2 rewrites rke2.yaml, server/cred/*.kubeconfig and the agent kubeconfigs when it starts: restart rke2-server (rke2-agent) on the node; refresh copies kept elsewhere from the current /etc/rancher/rke2/rke2.yaml";

fn cert012(cx: &Context, out: &mut Findings) -> Verdict {
    let kcs = &cx.model.kubeconfigs;
    if kcs.is_empty() {
        return Verdict::not_evaluable(
            "no kubeconfig (rke2.yaml, server/cred/*.kubeconfig, agent kubeconfigs) in the inputs",
            Need::NodeFiles,
        );
    }
    let mut current = current_ca(cx, CaFile::ServerCa);
    let mut against = "the servers' server/tls/server-ca.crt";
    if current.is_empty() {
        let copy = AgentCopy::ServerCa.host_path();
        current = cx
            .model
            .digests
            .iter()
            .filter(|((_, h), _)| h == copy)
            .filter_map(|(_, d)| d.first_cert.as_deref())
            .collect::<BTreeSet<&str>>();
        against = "the nodes' agent/server-ca.crt";
    }
    let at = instant(cx.reference_time);
    let mut keyed = 0;
    for ((node, host), kc) in kcs {
        let finding = |out: &mut Findings, message: String| {
            out.add(
                Some(node.clone()),
                Some(host.clone()),
                message,
                vec![kc.origin.clone()],
                REFRESH.into(),
            );
        };
        for (i, fp) in kc.presents.iter().enumerate() {
            let Some(e) = cx.model.certs.certs.get(fp.as_str()) else {
                continue;
            };
            if cx.status(e) == Status::Expired {
                finding(
                    out,
                    format!(
                        "{host} on {node} presents client certificate {}, expired {} ({} before {at})",
                        describe(e),
                        instant(e.cert.not_after),
                        span(-cx.residual(e)),
                    ),
                );
            }
            if let Some(Some(spki)) = kc.client_keys.get(i) {
                keyed += 1;
                if *spki != e.cert.spki_sha256() {
                    finding(
                        out,
                        format!(
                            "{host} on {node}: the client key does not pair with client certificate {}: the API server rejects the handshake",
                            describe(e)
                        ),
                    );
                }
            }
        }
        if !current.is_empty()
            && !kc.trusts.is_empty()
            && !kc.trusts.iter().any(|t| current.contains(t.as_str()))
        {
            let held = kc
                .trusts
                .first()
                .and_then(|fp| cx.model.certs.certs.get(fp.as_str()))
                .map(describe)
                .unwrap_or_default();
            let now: Vec<String> = current
                .iter()
                .filter_map(|fp| cx.model.certs.certs.get(*fp))
                .map(describe)
                .collect();
            finding(
                out,
                format!(
                    "{host} on {node} trusts {held}, not the cluster's current server CA {} ({against}): clients using it reject the API server",
                    now.join(" / ")
                ),
            );
        }
    }
    let trust = if current.is_empty() {
        "CA not compared: no server-ca.crt of a node in the inputs".to_string()
    } else {
        format!("CA compared with {against}")
    };
    let scope = format!(
        "{} kubeconfig(s) judged at {at} ({keyed} client key(s) in the inputs; {trust})",
        kcs.len()
    );
    Verdict::judged(
        format!("findings among {scope}"),
        format!("{scope}: client certificates valid and paired, CAs current"),
    )
}
