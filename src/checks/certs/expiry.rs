//! Expiry of live certificates at the reference time: CERT001 expired, CERT002 inside the renew
//! window of the cluster's version (high under 14 days), CERT004 not yet valid.

use super::{copies_note, describe, live_nodes, per_node};
use crate::checks::common::{instant, span};
use crate::checks::rule::{Findings, Need, Rule, Verdict};
use crate::checks::{Context, Severity};
use crate::model::certs::{CertEntry, Status};

/// High severity for a leaf in the renew window with less than this left.
const HIGH_UNDER_SECONDS: i64 = 14 * 86_400;

/// Live certificate expired at the reference time.
pub static CERT001: Rule = Rule {
    code: "CERT001",
    severity: Severity::Critical,
    title: "live certificate expired at the reference time",
    source: "seeds/rke2-certificate-management.txt, seeds/harvester-credentials.txt (CM, HC)",
    needs: &[Need::NodeFiles],
    doc: r#"**What it reads.** The certificate inventory: every certificate of the node snapshots' live layout
(`server/tls/**`, `agent/*`, `server/cred/*.kubeconfig`, `etc/rancher/rke2/rke2.yaml`), judged at
the reference time (`--at`, default now; `collected` for the collection time). Staged
(`server/rotate-ca/`, `/opt/rke2/server/`) and backup (`tls-<unix>/`) copies are not judged
(CERT015 lists them); bundle objects neither.

**What it reports.** One finding per certificate and node holding a live copy: the subject and
fingerprint prefix, NotAfter, how long before the reference time it expired, the host path
(target) and every file of that node holding it (evidence: input and logical path).

**Why it matters.** An expired serving or client certificate stops the component that presents it
(apiserver, etcd, kubelet); an expired CA breaks every chain under it. RKE2 renews leaves only at
start, inside the renew window, so a node that did not restart in time carries expired leaves.

**Remediation.** Leaves: restart rke2 on the node (server certificates renew at start, agent
certificates are re-signed at every agent start, `dynamic-cert.json` renews while rke2-server runs;
`rke2 certificate rotate` then a restart forces it). kube-controller-manager / kube-scheduler
certificates the component signed itself: delete them and restart the component. A CA is never
renewed automatically: `rke2 certificate rotate-ca` (from v1.26.2, v1.25.7, v1.24.11, v1.23.17).

**Not evaluable** when the inputs hold no live certificate (a support bundle alone never carries
`server/tls` or agent certificates): add node snapshots (a tar of each node's /etc/rancher and
/var/lib/rancher/rke2).

**Source.** `seeds/rke2-certificate-management.txt` (CM), `seeds/harvester-credentials.txt` (HC);
rules.md CERT001.
"#,
    evaluate: cert001,
};

/// Live leaf certificate inside the renew window.
pub static CERT002: Rule = Rule {
    code: "CERT002",
    severity: Severity::Medium,
    title: "live leaf certificate inside the renew window",
    source: "seeds/rke2-certificate-management.txt (CM), reference/rke2-pki.md §1.0",
    needs: &[Need::NodeFiles],
    doc: r#"**What it reads.** The certificate inventory's live leaf certificates (not CAs: CA expiry is
CERT003), judged at the reference time with the renew window of the cluster's rke2 version: 120 days
from v1.33.1, v1.32.5, v1.31.9, v1.30.13 (the May 2025 releases), 90 days before; an unknown
version takes 90 days and coverage says so.

**What it reports.** One finding per certificate and node: subject, fingerprint prefix, NotAfter,
the time left, the window, the host path and the files holding it. Severity is high when less than
14 days remain, medium otherwise.

**Why it matters.** Inside the window rke2 renews the certificate at its next start, and
`rke2 certificate check` reports it as warning; a node that is not restarted before NotAfter ends up
with expired certificates (CERT001).

**Remediation, by kind.**
- Supervisor `dynamic-cert.json`: renews itself every 6 h while rke2-server runs; if it stays in the
  window, check that rke2-server runs and the clock is right.
- Agent certificates (`agent/*`): re-signed at every agent start; restart rke2-agent (rke2-server on
  servers).
- Everything else (server/tls leaves, kubeconfig client certificates): renewed when rke2 restarts;
  restart rke2-server, or `rke2 certificate rotate` and restart.
- kube-controller-manager / kube-scheduler certificates the component signed itself: an rke2
  restart does not renew them; delete them and restart the component (see CERT016).

**Not evaluable** without live certificates (node snapshots).

**Source.** `seeds/rke2-certificate-management.txt` (CM), `reference/rke2-pki.md` §1.0 (renew window,
k3s PR #12232); rules.md CERT002.
"#,
    evaluate: cert002,
};

/// Live certificate not yet valid (clock skew or future-dated).
pub static CERT004: Rule = Rule {
    code: "CERT004",
    severity: Severity::High,
    title: "live certificate not yet valid (clock skew or future-dated)",
    source: "reference/rke2-pki.md §6.1",
    needs: &[Need::NodeFiles],
    doc: r#"**What it reads.** The certificate inventory's live certificates and their NotBefore, at the
reference time.

**What it reports.** One finding per certificate and node: subject, fingerprint prefix, NotBefore
and how far after the reference time it lies, the host path and the files holding it.

**Why it matters.** A certificate used before its NotBefore is rejected by every peer: clock skew
between the node that issued it and the nodes that check it, or a future-dated certificate.
`rke2 certificate check` reports it as not yet valid. A reference time earlier than the collection
(`--at` in the past) also shows certificates issued after that time.

**Remediation.** Check the clocks (chrony/NTP) of the issuing node and of the nodes using the
certificate; once they agree, reissue a future-dated certificate (restart rke2 on the node).

**Not evaluable** without live certificates (node snapshots).

**Source.** `reference/rke2-pki.md` §6.1 (`rke2 certificate check` statuses); rules.md CERT004.
"#,
    evaluate: cert004,
};

/// What the expiry rules judged (`N live certificate(s) on n1,n2 judged at …`), or the
/// not-evaluable verdict when the inputs hold no live certificate.
fn scope(cx: &Context) -> Result<String, Verdict> {
    let (live, nodes) = live_nodes(cx);
    if *live == 0 {
        return Err(Verdict::not_evaluable(
            "no live certificate (server/tls, agent, kubeconfigs) in the inputs",
            Need::NodeFiles,
        ));
    }
    Ok(format!(
        "{live} live certificate(s) on {} judged at {}",
        nodes.iter().copied().collect::<Vec<_>>().join(","),
        instant(cx.reference_time)
    ))
}

/// An expiry rule: every live certificate in `status` at the reference time goes through
/// `each` (which writes its findings and returns how many); the verdict names the scope, `none`
/// when nothing was found, and `note` after either.
fn judge_status(
    cx: &Context,
    out: &mut Findings,
    status: Status,
    none: &str,
    note: &str,
    mut each: impl FnMut(&CertEntry, &str, &mut Findings) -> usize,
) -> Verdict {
    let scope = match scope(cx) {
        Ok(s) => s,
        Err(v) => return v,
    };
    let at = instant(cx.reference_time);
    let n: usize = cx
        .model
        .certs
        .certs
        .values()
        .filter(|e| cx.status(e) == status)
        .map(|e| each(e, &at, out))
        .sum();
    Verdict::judged(
        format!("{n} finding(s) among {scope}{note}"),
        format!("{scope}: {none}{note}"),
    )
}

/// How the certificate at `host` is renewed, per rules.md CERT002.
fn renewal_of(e: &CertEntry, host: &str) -> String {
    if host.ends_with("dynamic-cert.json") {
        "the supervisor's listener certificate (dynamic-cert.json) renews itself every 6 h while rke2-server runs: check that rke2-server is running on the node and that its clock is right".into()
    } else if e.component_self_signed {
        "a kube-controller-manager / kube-scheduler certificate the component signed itself is not renewed by an rke2 restart: delete it (and its key) and restart the component".into()
    } else if host.starts_with(crate::layout::AGENT_DIR) {
        "agent certificates are re-signed at every agent start: restart rke2-agent (rke2-server on servers) on the node".into()
    } else {
        "server certificates and kubeconfig client certificates renew when rke2 restarts inside the renew window: restart rke2-server on the node (or run `rke2 certificate rotate` and restart)".into()
    }
}

fn cert001(cx: &Context, out: &mut Findings) -> Verdict {
    judge_status(
        cx,
        out,
        Status::Expired,
        "none expired",
        "",
        |e, at, out| {
            let ago = span(cx.residual(e));
            let what = describe(e);
            let not_after = instant(e.cert.not_after);
            per_node(
                e,
                out,
                None,
                |node, locs| {
                    format!(
                        "{what} on {node} expired at {not_after}, {ago} before the reference time {at}{}",
                        copies_note(locs)
                    )
                },
                |host| {
                    if e.cert.is_ca {
                        "a CA is never renewed automatically: rotate it with `rke2 certificate rotate-ca` (v1.26.2+/v1.25.7+/v1.24.11+/v1.23.17+), then restart every server and agent".to_string()
                    } else {
                        renewal_of(e, host)
                    }
                },
            )
        },
    )
}

fn cert002(cx: &Context, out: &mut Findings) -> Verdict {
    let window = cx.renew_window_days;
    let note = format!(" (window {window} days: {})", cx.renew_window_source);
    judge_status(
        cx,
        out,
        Status::Warning,
        "no leaf inside the renew window",
        &note,
        |e, at, out| {
            if e.cert.is_ca {
                return 0;
            }
            let left = span(cx.residual(e));
            let what = describe(e);
            let not_after = instant(e.cert.not_after);
            let severity = (cx.residual(e) < HIGH_UNDER_SECONDS).then_some(Severity::High);
            per_node(
                e,
                out,
                severity,
                |node, locs| {
                    format!(
                        "{what} on {node} expires at {not_after}, {left} after the reference time {at}: inside the {window}-day renew window{}",
                        copies_note(locs)
                    )
                },
                |host| renewal_of(e, host),
            )
        },
    )
}

fn cert004(cx: &Context, out: &mut Findings) -> Verdict {
    judge_status(
        cx,
        out,
        Status::NotYetValid,
        "none before its NotBefore",
        "",
        |e, at, out| {
            let ahead = span((e.cert.not_before - cx.reference_time).whole_seconds());
            let what = describe(e);
            let not_before = instant(e.cert.not_before);
            per_node(
                e,
                out,
                None,
                |node, locs| {
                    format!(
                        "{what} on {node} is valid only from {not_before}, {ahead} after the reference time {at}{}",
                        copies_note(locs)
                    )
                },
                |_| {
                    "check the clocks (chrony/NTP) of the node that issued it and of the nodes that use it; if the certificate is future-dated, reissue it once the clocks agree (restart rke2 on the node)".to_string()
                },
            )
        },
    )
}
