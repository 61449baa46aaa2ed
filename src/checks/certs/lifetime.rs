//! How long CAs and component certificates last: CERT003 (a live rke2 or custom-root CA expiring
//! within a year, or a live leaf outliving its issuing CA) and CERT016 (component self-signed
//! serving certificates expired or inside the renew window, which an rke2 restart does not renew).

use super::{copies_note, describe, live_by_node, live_or_not_evaluable, per_node};
use crate::checks::common::{instant, span};
use crate::checks::rule::{Findings, Need, Rule, Verdict};
use crate::checks::{Context, Severity};
use crate::model::inventory::Owner;

/// A CA expires within this of the reference time: CERT003.
const CA_HORIZON_SECONDS: i64 = 365 * 86_400;

/// Rke2 or custom-root CA expiring within a year, or a leaf outliving its issuing CA.
pub static CERT003: Rule = Rule {
    code: "CERT003",
    severity: Severity::High,
    title: "rke2 or custom-root CA expiring within a year, or a leaf outliving its issuing CA",
    source: "seeds/rke2-certificate-management.txt (CM)",
    needs: &[Need::NodeFiles],
    doc: r#"**What it reads.** The certificate inventory's live certificates judged at the reference time: the
CAs whose owner is rke2 (self-generated cluster CAs) or a custom root, and, for every live leaf,
the CAs whose key verifies it.

**What it reports.** One finding per certificate and node:
- a live rke2 or custom-root CA that expires less than a year after the reference time (an expired
  one is CERT001): subject, fingerprint prefix, owner, NotAfter and the time left;
- a live leaf whose NotAfter is later than its issuing CA's: both subjects and NotAfters and the
  gap.

**Why it matters.** rke2 renews leaves at restart inside the renew window but never renews a CA:
when it expires every certificate it signed stops verifying at once. A leaf that outlives its CA
looks valid on its own but fails verification from the CA's NotAfter on.

**Remediation.** Plan a CA rotation with `rke2 certificate rotate-ca`
(v1.26.2+/v1.25.7+/v1.24.11+/v1.23.17+) before the CA expires, with new CA files (for a custom root,
new intermediates signed by it or a cross-signed new root), then restart every server and agent so
leaves are reissued by the new CAs.

**Not evaluable** without live certificates (node snapshots).

**Source.** `seeds/rke2-certificate-management.txt` (CM); rules.md CERT003.
"#,
    evaluate: cert003,
};

/// Component self-signed serving certificate expired or inside the renew window.
pub static CERT016: Rule = Rule {
    code: "CERT016",
    severity: Severity::High,
    title: "component self-signed serving certificate expired or inside the renew window",
    source: "reference/rke2-pki.md §1.1, §7",
    needs: &[Need::NodeFiles],
    doc: r#"**What it reads.** The certificate inventory's live certificates in
`server/tls/kube-controller-manager/` and `server/tls/kube-scheduler/` that the component signed
itself (`--cert-dir`, Rancher-provisioned clusters before the May 2025 releases) rather than an rke2
CA, judged at the reference time with the renew window of the cluster's rke2 version (120 days from
the May 2025 releases, 90 before or when the version is unknown).

**What it reports.** One finding per certificate and node that is expired or expires inside the
renew window: subject, fingerprint prefix, NotAfter, the time past or left, the host path and the
other files holding it.

**Why it matters.** rke2 renews the certificates it issues when it restarts inside the renew window,
but not these: the component made them and only makes new ones when they are missing. Once expired,
the component's secure port serves an expired certificate (metrics scraping and health checks
fail). CERT005 does not count them as broken chains.

**Remediation.** Delete the certificate and its key in the component's cert directory and restart
the component (its static pod, or rke2-server on the node); it signs a new one at start.

**Not evaluable** without live certificates (node snapshots); passes when none of the live
certificates is a component self-signed one or none is expiring.

**Source.** `reference/rke2-pki.md` §1.1, §7; rules.md CERT016.
"#,
    evaluate: cert016,
};

fn cert003(cx: &Context, out: &mut Findings) -> Verdict {
    let live = match live_or_not_evaluable(cx) {
        Ok(n) => n,
        Err(v) => return v,
    };
    let at = instant(cx.reference_time);
    let mut n = 0;
    for (fp, e) in &cx.model.certs.certs {
        // Described only when a finding is written (most certificates pass).
        let what = || describe(e);
        let not_after = || instant(e.cert.not_after);
        if e.cert.is_ca {
            if !matches!(e.owner, Owner::Rke2 | Owner::CustomRoot)
                || cx.residual(e) < 0
                || cx.residual(e) > CA_HORIZON_SECONDS
            {
                continue;
            }
            let left = span(cx.residual(e));
            let owner = e.owner.as_str();
            let what = what();
            let not_after = not_after();
            n += per_node(
                e,
                out,
                None,
                |node, locs| {
                    format!(
                        "{owner} CA {what} on {node} expires at {not_after}, {left} after the reference time {at}: under a year, and CAs are never renewed automatically{}",
                        copies_note(locs)
                    )
                },
                |_| {
                    "plan a CA rotation before it expires: `rke2 certificate rotate-ca` with new CA files (v1.26.2+/v1.25.7+/v1.24.11+/v1.23.17+; for a custom root, sign new intermediates with it or cross-sign a new root), then restart every server and agent".to_string()
                },
            );
            continue;
        }
        for issuer in &e.issuers {
            let Some(ca) = cx.model.certs.certs.get(issuer) else {
                continue;
            };
            if issuer == fp || ca.cert.not_after >= e.cert.not_after {
                continue;
            }
            let what = what();
            let not_after = not_after();
            let ca_what = describe(ca);
            let ca_not_after = instant(ca.cert.not_after);
            let gap = span((e.cert.not_after - ca.cert.not_after).whole_seconds());
            n += per_node(
                e,
                out,
                None,
                |node, locs| {
                    format!(
                        "{what} on {node} expires at {not_after}, {gap} after its issuing CA {ca_what} (NotAfter {ca_not_after}): it stops verifying when the CA expires{}",
                        copies_note(locs)
                    )
                },
                |_| {
                    "rotate the issuing CA (`rke2 certificate rotate-ca`) before its NotAfter and restart rke2 so the leaf is reissued by the new CA; a leaf cannot outlive the CA that verifies it".to_string()
                },
            );
        }
    }
    Verdict::judged(
        format!("{n} finding(s) among {live} live certificate(s) judged at {at}"),
        format!(
            "{live} live certificate(s) judged at {at}: no rke2 or custom-root CA expiring within a year, no leaf outliving its CA"
        ),
    )
}

fn cert016(cx: &Context, out: &mut Findings) -> Verdict {
    let live = match live_or_not_evaluable(cx) {
        Ok(n) => n,
        Err(v) => return v,
    };
    let at = instant(cx.reference_time);
    let window = cx.renew_window_days;
    let window_seconds = i64::from(window) * 86_400;
    let mut seen = 0;
    let mut n = 0;
    for e in cx.model.certs.certs.values() {
        if !e.component_self_signed || live_by_node(e).is_empty() {
            continue;
        }
        seen += 1;
        if cx.residual(e) > window_seconds {
            continue;
        }
        let what = describe(e);
        let not_after = instant(e.cert.not_after);
        let when = if cx.residual(e) < 0 {
            format!(
                "expired at {not_after}, {} before the reference time {at}",
                span(cx.residual(e))
            )
        } else {
            format!(
                "expires at {not_after}, {} after the reference time {at}, inside the {window}-day renew window",
                span(cx.residual(e))
            )
        };
        n += per_node(
            e,
            out,
            None,
            |node, locs| {
                format!(
                    "component self-signed serving certificate {what} on {node} {when}: an rke2 restart does not renew it{}",
                    copies_note(locs)
                )
            },
            |host| {
                let dir = host.rsplit_once('/').map_or(host, |(d, _)| d);
                format!(
                    "delete the certificate and its key in {dir}/ and restart the component (its static pod, or rke2-server on the node); the component then signs a new one"
                )
            },
        );
    }
    Verdict::judged(
        format!(
            "{n} finding(s) among {seen} live component self-signed certificate(s) judged at {at} (window {window} days: {})",
            cx.renew_window_source
        ),
        format!(
            "{seen} live component self-signed certificate(s) among {live} live certificate(s): none expired or inside the {window}-day renew window at {at}"
        ),
    )
}
