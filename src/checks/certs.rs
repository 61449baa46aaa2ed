//! Certificate rules (CERT) judged from the inventory, the trust graph and the consistency
//! checks: expired (CERT001), in the renew window (CERT002), not yet valid (CERT004), chain
//! broken (CERT005), key/cert mismatch (CERT006), a CA file that differs between servers
//! (CERT007), an agent's stale CA copy (CERT008), a CA expiring within a year or outlived by a leaf
//! (CERT003), weak crypto (CERT010), expiring component self-signed
//! serving certificates (CERT016), staged and backup trees present (CERT015).
//!
//! Expiry rules judge *live* certificates only (rules.md, "In use"); staged and backup ones are
//! listed by CERT015. Each finding names the node, the host path of the file and the
//! certificate's fingerprint prefix; evidence points at the input and the logical path.

use std::collections::{BTreeMap, BTreeSet};

use super::common::{
    NEEDS_NODE_SNAPSHOTS, cover, cover_result, cross_server_gate, disagreement_findings, instant,
    short, span, title,
};
use super::{Context, Evidence, Finding, Judgement, Severity};
use crate::graph::certs::{CertEntry, Location, Status};
use crate::graph::inventory::{InUse, Owner, in_use_of_host_path};
use crate::pki::{ChainStatus, KeyAlgorithm};
use crate::snapshot::{CoverageStatus, Snapshot};

const DATA: &str = "var/lib/rancher/rke2/";

/// High severity for a leaf in the renew window with less than this left.
const HIGH_UNDER_SECONDS: i64 = 14 * 86_400;

pub(super) fn evaluate(snap: &Snapshot, cx: &Context, j: &mut Judgement) {
    expiry_rules(cx, j);
    chain(cx, j);
    weak_crypto(cx, j);
    ca_lifetime(cx, j);
    component_self_signed(cx, j);
    key_mismatch(snap, cx, j);
    ca_differs(snap, cx, j);
    stale_agent_copies(snap, cx, j);
    staged_and_backup(cx, j);
}

/// Live locations of a certificate grouped by node.
fn live_by_node(e: &CertEntry) -> BTreeMap<&str, Vec<&Location>> {
    let mut by: BTreeMap<&str, Vec<&Location>> = BTreeMap::new();
    for l in &e.locations {
        if l.in_use == InUse::Live
            && let Some(n) = l.node.as_deref()
        {
            by.entry(n).or_default().push(l);
        }
    }
    by
}

fn evidence_of(locs: &[&Location]) -> Vec<Evidence> {
    locs.iter()
        .map(|l| Evidence {
            source: l.source.to_string(),
            path: l.path.to_string(),
            pointer: (l.index > 0).then(|| format!("certificate #{}", l.index + 1)),
        })
        .collect()
}

fn host_of(l: &Location) -> &str {
    l.host_path.as_deref().unwrap_or(&l.path)
}

/// `CN=… (sha256 0a0fb0eebaa92171)`.
fn describe(e: &CertEntry) -> String {
    let name = e
        .cert
        .subject_cn
        .clone()
        .unwrap_or_else(|| e.cert.subject.clone());
    format!("{name} (sha256 {})", short(&e.cert.fingerprint_sha256))
}

/// One finding per node holding a live copy of `e`.
fn per_node(
    e: &CertEntry,
    code: &str,
    severity: impl Fn(&CertEntry) -> Severity,
    message: impl Fn(&str, &[&Location]) -> String,
    remediation: impl Fn(&str) -> String,
    j: &mut Judgement,
) -> usize {
    let mut n = 0;
    for (node, locs) in live_by_node(e) {
        let Some(first) = locs.first() else { continue };
        let host = host_of(first);
        j.findings.push(Finding {
            severity: severity(e),
            rule: code.to_string(),
            node: Some(node.to_string()),
            target: Some(host.to_string()),
            title: title(code),
            message: message(node, &locs),
            evidence: evidence_of(&locs),
            remediation: remediation(host),
        });
        n += 1;
    }
    n
}

/// `other copies: a, b` when a certificate sits in several files of the node.
fn copies_note(locs: &[&Location]) -> String {
    if locs.len() < 2 {
        return String::new();
    }
    let others: Vec<&str> = locs.iter().skip(1).map(|l| host_of(l)).collect();
    format!("; also in {}", others.join(", "))
}

/// How the certificate at `host` is renewed, per rules.md CERT002.
fn renewal_of(e: &CertEntry, host: &str) -> String {
    if host.ends_with("dynamic-cert.json") {
        "the supervisor's listener certificate (dynamic-cert.json) renews itself every 6 h while rke2-server runs: check that rke2-server is running on the node and that its clock is right".into()
    } else if e.component_self_signed {
        "a kube-controller-manager / kube-scheduler certificate the component signed itself is not renewed by an rke2 restart: delete it (and its key) and restart the component".into()
    } else if host.starts_with(&format!("{DATA}agent/")) {
        "agent certificates are re-signed at every agent start: restart rke2-agent (rke2-server on servers) on the node".into()
    } else {
        "server certificates and kubeconfig client certificates renew when rke2 restarts inside the renew window: restart rke2-server on the node (or run `rke2 certificate rotate` and restart)".into()
    }
}

fn live_nodes<'a>(cx: &Context<'a>) -> (usize, BTreeSet<&'a str>) {
    let mut count = 0;
    let mut nodes = BTreeSet::new();
    for e in cx.inventory.certs.values() {
        let by = live_by_node(e);
        if !by.is_empty() {
            count += 1;
            nodes.extend(by.into_keys());
        }
    }
    (count, nodes)
}

/// The number of live certificates, or `None` after recording `code` as not evaluable when
/// the inputs hold none.
fn live_or_not_evaluable(cx: &Context, j: &mut Judgement, code: &str) -> Option<usize> {
    let (live, _) = live_nodes(cx);
    if live == 0 {
        cover(
            j,
            code,
            CoverageStatus::NotEvaluable,
            "no live certificate in the inputs".into(),
            Some(NEEDS_NODE_SNAPSHOTS),
        );
        return None;
    }
    Some(live)
}

/// CERT001, CERT002, CERT004.
fn expiry_rules(cx: &Context, j: &mut Judgement) {
    let (live, nodes) = live_nodes(cx);
    let at = instant(cx.reference_time);
    if live == 0 {
        for code in ["CERT001", "CERT002", "CERT004"] {
            cover(
                j,
                code,
                CoverageStatus::NotEvaluable,
                "no live certificate (server/tls, agent, kubeconfigs) in the inputs".into(),
                Some(NEEDS_NODE_SNAPSHOTS),
            );
        }
        return;
    }
    let scope = format!(
        "{live} live certificate(s) on {} judged at {at}",
        nodes.into_iter().collect::<Vec<_>>().join(",")
    );
    let (mut expired, mut warning, mut future) = (0, 0, 0);
    for e in cx.inventory.certs.values() {
        match e.status {
            Status::Expired => {
                let ago = span(e.residual_seconds);
                let what = describe(e);
                let not_after = instant(e.cert.not_after);
                expired += per_node(
                    e,
                    "CERT001",
                    |_| Severity::Critical,
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
                    j,
                );
            }
            Status::Warning if !e.cert.is_ca => {
                let left = span(e.residual_seconds);
                let what = describe(e);
                let not_after = instant(e.cert.not_after);
                let window = cx.renew_window_days;
                warning += per_node(
                    e,
                    "CERT002",
                    |e| {
                        if e.residual_seconds < HIGH_UNDER_SECONDS {
                            Severity::High
                        } else {
                            Severity::Medium
                        }
                    },
                    |node, locs| {
                        format!(
                            "{what} on {node} expires at {not_after}, {left} after the reference time {at}: inside the {window}-day renew window{}",
                            copies_note(locs)
                        )
                    },
                    |host| renewal_of(e, host),
                    j,
                );
            }
            Status::NotYetValid => {
                let ahead = span((e.cert.not_before - cx.reference_time).whole_seconds());
                let what = describe(e);
                let not_before = instant(e.cert.not_before);
                future += per_node(
                    e,
                    "CERT004",
                    |_| Severity::High,
                    |node, locs| {
                        format!(
                            "{what} on {node} is valid only from {not_before}, {ahead} after the reference time {at}{}",
                            copies_note(locs)
                        )
                    },
                    |_| {
                        "check the clocks (chrony/NTP) of the node that issued it and of the nodes that use it; if the certificate is future-dated, reissue it once the clocks agree (restart rke2 on the node)".to_string()
                    },
                    j,
                );
            }
            _ => {}
        }
    }
    for (code, n, none) in [
        ("CERT001", expired, "none expired"),
        ("CERT002", warning, "no leaf inside the renew window"),
        ("CERT004", future, "none before its NotBefore"),
    ] {
        let window = if code == "CERT002" {
            format!(
                " (window {} days: {})",
                cx.renew_window_days, cx.renew_window_source
            )
        } else {
            String::new()
        };
        cover_result(
            j,
            code,
            n > 0,
            format!("{n} finding(s) among {scope}{window}"),
            format!("{scope}: {none}{window}"),
        );
    }
}

/// CERT005: issuer missing or signature not verifying, for live certificates; component
/// self-signed serving certificates are not breaks (CERT016).
fn chain(cx: &Context, j: &mut Judgement) {
    let Some(live) = live_or_not_evaluable(cx, j, "CERT005") else {
        return;
    };
    let mut n = 0;
    for e in cx.inventory.certs.values() {
        if e.component_self_signed {
            continue;
        }
        let why = match e.chain {
            ChainStatus::IssuerMissing => format!(
                "its issuer {} is not among the certificates of the inputs",
                e.cert.issuer
            ),
            ChainStatus::BadSignature => format!(
                "no certificate named {} verifies its signature",
                e.cert.issuer
            ),
            _ => continue,
        };
        let what = describe(e);
        n += per_node(
            e,
            "CERT005",
            |_| Severity::High,
            |node, locs| format!("{what} on {node}: {why}{}", copies_note(locs)),
            |_| {
                "find the CA that signed it: if the issuer file is missing, restore it from a backup (server/tls-<unix>/) or etcd; if it was re-signed by another CA, restart rke2 on the node so the leaf is reissued by the current CA".to_string()
            },
            j,
        );
    }
    cover_result(
        j,
        "CERT005",
        n > 0,
        format!("{n} finding(s) among {live} live certificate(s)"),
        format!(
            "{live} live certificate(s): every issuer present and verifying (component self-signed certificates excepted)"
        ),
    );
}

/// A CA expires within this of the reference time: CERT003.
const CA_HORIZON_SECONDS: i64 = 365 * 86_400;

/// CERT003: a live rke2 or custom-root CA expiring within a year (CAs are never renewed
/// automatically), or a live leaf whose NotAfter is later than its issuing CA's.
fn ca_lifetime(cx: &Context, j: &mut Judgement) {
    const CODE: &str = "CERT003";
    let Some(live) = live_or_not_evaluable(cx, j, CODE) else {
        return;
    };
    let at = instant(cx.reference_time);
    let mut n = 0;
    for (fp, e) in &cx.inventory.certs {
        let what = describe(e);
        let not_after = instant(e.cert.not_after);
        if e.cert.is_ca {
            if !matches!(e.owner, Owner::Rke2 | Owner::CustomRoot)
                || e.residual_seconds < 0
                || e.residual_seconds > CA_HORIZON_SECONDS
            {
                continue;
            }
            let left = span(e.residual_seconds);
            let owner = e.owner.as_str();
            n += per_node(
                e,
                CODE,
                |_| Severity::High,
                |node, locs| {
                    format!(
                        "{owner} CA {what} on {node} expires at {not_after}, {left} after the reference time {at}: under a year, and CAs are never renewed automatically{}",
                        copies_note(locs)
                    )
                },
                |_| {
                    "plan a CA rotation before it expires: `rke2 certificate rotate-ca` with new CA files (v1.26.2+/v1.25.7+/v1.24.11+/v1.23.17+; for a custom root, sign new intermediates with it or cross-sign a new root), then restart every server and agent".to_string()
                },
                j,
            );
            continue;
        }
        for issuer in &e.issuers {
            let Some(ca) = cx.inventory.certs.get(issuer) else {
                continue;
            };
            if issuer == fp || ca.cert.not_after >= e.cert.not_after {
                continue;
            }
            let ca_what = describe(ca);
            let ca_not_after = instant(ca.cert.not_after);
            let gap = span((e.cert.not_after - ca.cert.not_after).whole_seconds());
            n += per_node(
                e,
                CODE,
                |_| Severity::High,
                |node, locs| {
                    format!(
                        "{what} on {node} expires at {not_after}, {gap} after its issuing CA {ca_what} (NotAfter {ca_not_after}): it stops verifying when the CA expires{}",
                        copies_note(locs)
                    )
                },
                |_| {
                    "rotate the issuing CA (`rke2 certificate rotate-ca`) before its NotAfter and restart rke2 so the leaf is reissued by the new CA; a leaf cannot outlive the CA that verifies it".to_string()
                },
                j,
            );
        }
    }
    cover_result(
        j,
        CODE,
        n > 0,
        format!("{n} finding(s) among {live} live certificate(s) judged at {at}"),
        format!(
            "{live} live certificate(s) judged at {at}: no rke2 or custom-root CA expiring within a year, no leaf outliving its CA"
        ),
    );
}

/// CERT016: kube-controller-manager / kube-scheduler serving certificates the component signed
/// itself (`--cert-dir`), expired or inside the renew window: an rke2 restart does not renew them.
fn component_self_signed(cx: &Context, j: &mut Judgement) {
    const CODE: &str = "CERT016";
    let Some(live) = live_or_not_evaluable(cx, j, CODE) else {
        return;
    };
    let at = instant(cx.reference_time);
    let window = cx.renew_window_days;
    let window_seconds = i64::from(window) * 86_400;
    let mut seen = 0;
    let mut n = 0;
    for e in cx.inventory.certs.values() {
        if !e.component_self_signed || live_by_node(e).is_empty() {
            continue;
        }
        seen += 1;
        if e.residual_seconds > window_seconds {
            continue;
        }
        let what = describe(e);
        let not_after = instant(e.cert.not_after);
        let when = if e.residual_seconds < 0 {
            format!(
                "expired at {not_after}, {} before the reference time {at}",
                span(e.residual_seconds)
            )
        } else {
            format!(
                "expires at {not_after}, {} after the reference time {at}, inside the {window}-day renew window",
                span(e.residual_seconds)
            )
        };
        n += per_node(
            e,
            CODE,
            |_| Severity::High,
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
            j,
        );
    }
    cover_result(
        j,
        CODE,
        n > 0,
        format!(
            "{n} finding(s) among {seen} live component self-signed certificate(s) judged at {at} (window {window} days: {})",
            cx.renew_window_source
        ),
        format!(
            "{seen} live component self-signed certificate(s) among {live} live certificate(s): none expired or inside the {window}-day renew window at {at}"
        ),
    );
}

/// What is weak about a certificate's crypto (rules.md CERT010), if anything.
fn weakness(e: &CertEntry) -> Option<String> {
    let mut why = Vec::new();
    if matches!(
        e.cert.key_algorithm,
        KeyAlgorithm::Rsa | KeyAlgorithm::RsaPss
    ) && let Some(bits) = e.cert.key_bits
        && bits < 2048
    {
        why.push(format!("an RSA key of {bits} bits (under 2048)"));
    }
    if let Some(h) = e.cert.weak_signature_hash {
        why.push(format!(
            "a {} signature ({})",
            h.to_uppercase(),
            e.cert.signature_algorithm
        ));
    }
    (!why.is_empty()).then(|| why.join(" and "))
}

/// CERT010: weak crypto on a live certificate: RSA under 2048 bits, SHA-1 / MD5 / MD2 signature.
fn weak_crypto(cx: &Context, j: &mut Judgement) {
    const CODE: &str = "CERT010";
    let Some(live) = live_or_not_evaluable(cx, j, CODE) else {
        return;
    };
    let mut n = 0;
    for e in cx.inventory.certs.values() {
        let Some(why) = weakness(e) else { continue };
        let what = describe(e);
        n += per_node(
            e,
            CODE,
            |_| Severity::Medium,
            |node, locs| format!("{what} on {node} has {why}{}", copies_note(locs)),
            |_| {
                if e.cert.is_ca {
                    "replace the CA with one using RSA 2048+ (or ECDSA) keys and SHA-256 signatures: rotate it with `rke2 certificate rotate-ca` (custom CA files generated with a strong key), then restart every server and agent".to_string()
                } else {
                    "reissue the certificate with an RSA 2048+ (or ECDSA) key and a SHA-256 signature: rke2 issues such certificates itself, so delete the file (and its key) and restart rke2 on the node, or reissue it from its CA if it was supplied by hand".to_string()
                }
            },
            j,
        );
    }
    cover_result(
        j,
        CODE,
        n > 0,
        format!("{n} finding(s) among {live} live certificate(s)"),
        format!(
            "{live} live certificate(s): no RSA key under 2048 bits, no SHA-1/MD5/MD2 signature"
        ),
    );
}

/// True for a key (or key fingerprint) file beside a certificate, in a credential place.
fn has_key_pairs(snap: &Snapshot) -> bool {
    snap.nodes.values().any(|n| {
        n.files.keys().any(|h| {
            let stem = h
                .strip_suffix(".key.pub-fingerprint")
                .or_else(|| h.strip_suffix(".key"));
            stem.is_some_and(|s| {
                in_use_of_host_path(h).is_some() && n.files.contains_key(&format!("{s}.crt"))
            })
        })
    })
}

/// CERT006: the first key of a `.key` (or its `.pub-fingerprint` line) does not match the first
/// certificate of the `.crt` beside it.
fn key_mismatch(snap: &Snapshot, cx: &Context, j: &mut Judgement) {
    const CODE: &str = "CERT006";
    if !has_key_pairs(snap) {
        cover(
            j,
            CODE,
            CoverageStatus::NotEvaluable,
            "no private key or .pub-fingerprint file beside a certificate in the inputs".into(),
            Some(NEEDS_NODE_SNAPSHOTS),
        );
        return;
    }
    for m in &cx.graph.mismatches {
        let place = in_use_of_host_path(strip_to_host(&m.cert_path))
            .map(InUse::as_str)
            .unwrap_or("live");
        j.findings.push(Finding {
            severity: Severity::Critical,
            rule: CODE.into(),
            node: Some(m.node.clone()),
            target: Some(m.cert_path.clone()),
            title: title(CODE),
            message: format!(
                "on {}, the first key of {} does not belong to the first certificate of {} ({place} pair): rke2 fails to load the pair",
                m.node, m.key_path, m.cert_path
            ),
            evidence: vec![
                Evidence {
                    source: m.source.clone(),
                    path: m.cert_path.clone(),
                    pointer: None,
                },
                Evidence {
                    source: m.source.clone(),
                    path: m.key_path.clone(),
                    pointer: None,
                },
            ],
            remediation: "put back the key that belongs to the certificate (from a backup server/tls-<unix>/), or delete both files and restart rke2 on the node so the pair is reissued; for a staged pair, regenerate the staging directory".into(),
        });
    }
    let unread = if cx.graph.key_problems.is_empty() {
        String::new()
    } else {
        format!(
            "; {} key file(s) present but not read (see the graph's key problems)",
            cx.graph.key_problems.len()
        )
    };
    let n = cx.graph.mismatches.len();
    cover_result(
        j,
        CODE,
        n > 0,
        format!("{n} key/certificate pair(s) do not match{unread}"),
        format!("every key beside a certificate pairs with its first certificate{unread}"),
    );
}

/// The host path inside a logical path (node zips and directories prefix it).
fn strip_to_host(logical: &str) -> &str {
    let inner = logical.rsplit('!').next().unwrap_or(logical);
    for anchor in [DATA, "opt/rke2/", "etc/rancher/"] {
        if let Some(i) = inner.find(anchor) {
            return &inner[i..];
        }
    }
    inner
}

/// CERT007: a cluster CA file that differs between servers.
fn ca_differs(snap: &Snapshot, cx: &Context, j: &mut Judgement) {
    const CODE: &str = "CERT007";
    let holders: Vec<&str> = snap
        .servers()
        .into_iter()
        .filter(|s| {
            snap.nodes.get(*s).is_some_and(|n| {
                crate::graph::consistency::CA_FILES
                    .iter()
                    .any(|f| n.files.contains_key(&format!("{DATA}server/tls/{f}")))
            })
        })
        .collect();
    if let Some((status, reason, needs)) = cross_server_gate(snap, &holders, "the cluster CA files")
    {
        cover(j, CODE, status, reason, needs);
        return;
    }
    let mut n = 0;
    for d in &cx.consistency.disagreements {
        if d.file.ends_with("service.key") {
            continue;
        }
        n += 1;
        j.findings.extend(disagreement_findings(
            d,
            CODE,
            Severity::Critical,
            |v| {
                format!(
                    "file sha256 {} (first certificate {})",
                    short(&v.sha256),
                    v.first.as_deref().map(short).unwrap_or("unparsable")
                )
            },
            "servers must share every cluster CA (the datastore holds one copy): find which server's copy is current (the one in the datastore, served by the majority), restore that CA file and key on the others from it, then reissue the leaves it signed (`rke2 certificate rotate` and restart on those servers)",
        ));
    }
    let compared = holders.join(",");
    cover_result(
        j,
        CODE,
        n > 0,
        format!("{n} CA file(s) differ between servers {compared}"),
        format!("server-ca, client-ca, request-header-ca and etcd CAs identical on {compared}"),
    );
}

/// Subject CN and first-certificate fingerprint of a CA bundle file.
fn first_cert_label(data: &[u8]) -> String {
    match crate::pki::parse_certs(data)
        .ok()
        .and_then(|c| c.into_iter().next())
    {
        Some(c) => format!(
            "{} (sha256 {})",
            c.subject_cn.clone().unwrap_or_else(|| c.subject.clone()),
            short(&c.fingerprint_sha256)
        ),
        None => "no parsable certificate".into(),
    }
}

/// CERT008: an agent's `server-ca.crt` / `client-ca.crt` that matches no server's current file.
fn stale_agent_copies(snap: &Snapshot, cx: &Context, j: &mut Judgement) {
    const CODE: &str = "CERT008";
    let server_files: BTreeMap<&str, Vec<String>> = ["server-ca.crt", "client-ca.crt"]
        .into_iter()
        .map(|f| {
            let mut labels: Vec<String> = snap
                .servers()
                .into_iter()
                .filter_map(|s| snap.nodes.get(s))
                .filter_map(|n| n.files.get(&format!("{DATA}server/tls/{f}")))
                .filter_map(|c| snap.first_copy(c))
                .map(|(d, _, _)| first_cert_label(d))
                .collect();
            labels.sort();
            labels.dedup();
            (f, labels)
        })
        .collect();
    let have_server = server_files.values().any(|v| !v.is_empty());
    let have_agent = snap.nodes.values().any(|n| {
        ["server-ca.crt", "client-ca.crt"]
            .iter()
            .any(|f| n.files.contains_key(&format!("{DATA}agent/{f}")))
    });
    if !have_server || !have_agent {
        let reason = if have_server {
            "no agent/server-ca.crt or agent/client-ca.crt in the inputs"
        } else {
            "no server's server/tls/server-ca.crt or client-ca.crt in the inputs to compare the agents' copies with"
        };
        cover(
            j,
            CODE,
            CoverageStatus::NotEvaluable,
            reason.into(),
            Some(NEEDS_NODE_SNAPSHOTS),
        );
        return;
    }
    for s in &cx.consistency.stale {
        let name = s.file.rsplit('/').next().unwrap_or(&s.file);
        let held = snap
            .nodes
            .get(&s.node)
            .and_then(|n| n.files.get(&format!("{DATA}{}", s.file)))
            .and_then(|c| snap.first_copy(c))
            .map(|(d, _, _)| first_cert_label(d))
            .unwrap_or_else(|| "an unreadable file".into());
        let current = server_files
            .get(name)
            .map(|v| v.join(" / "))
            .unwrap_or_default();
        j.findings.push(Finding {
            severity: Severity::High,
            rule: CODE.into(),
            node: Some(s.node.clone()),
            target: Some(s.file.clone()),
            title: title(CODE),
            message: format!(
                "{}'s {} starts with {held}, which matches no server's {}: the servers serve {current}",
                s.node, s.file, s.compared_with
            ),
            evidence: vec![Evidence {
                source: s.source.clone(),
                path: s.logical.clone(),
                pointer: None,
            }],
            remediation: "the agent re-fetches the CA bundles from a server at start: make sure its token pins the current CA hash (TOKEN001), then restart rke2-agent (rke2-server on servers) on the node".into(),
        });
    }
    let n = cx.consistency.stale.len();
    cover_result(
        j,
        CODE,
        n > 0,
        format!("{n} agent CA copy(ies) differ from the servers' current bundles"),
        "every agent/server-ca.crt and agent/client-ca.crt matches a server's current bundle"
            .into(),
    );
}

/// The root of a staged or backup tree holding `host`.
fn tree_root(host: &str) -> Option<String> {
    if host.starts_with("opt/rke2/server/") {
        return Some("opt/rke2/server/".into());
    }
    let rest = host.strip_prefix(DATA)?;
    let mut parts = rest.split('/');
    let (a, b) = (parts.next()?, parts.next()?);
    parts.next()?;
    match in_use_of_host_path(host)? {
        InUse::Staged | InUse::Backup => Some(format!("{DATA}{a}/{b}/")),
        _ => None,
    }
}

/// CERT015 (info): staged and backup certificate trees, what and where, oldest/newest.
fn staged_and_backup(cx: &Context, j: &mut Judgement) {
    const CODE: &str = "CERT015";
    struct Tree<'a> {
        in_use: InUse,
        source: &'a str,
        logical_root: String,
        certs: BTreeSet<&'a str>,
        cas: BTreeSet<&'a str>,
        oldest: Option<time::OffsetDateTime>,
        newest: Option<time::OffsetDateTime>,
        first_expiry: Option<time::OffsetDateTime>,
    }
    let mut trees: BTreeMap<(&str, String), Tree> = BTreeMap::new();
    let mut any_node_cert = false;
    for (fp, e) in &cx.inventory.certs {
        for l in &e.locations {
            let Some(node) = l.node.as_deref() else {
                continue;
            };
            any_node_cert = true;
            if !matches!(l.in_use, InUse::Staged | InUse::Backup) {
                continue;
            }
            let host = host_of(l);
            let Some(root) = tree_root(host) else {
                continue;
            };
            let prefix_len = l.path.len().saturating_sub(host.len());
            let logical_root = format!("{}{root}", l.path.get(..prefix_len).unwrap_or(""));
            let t = trees.entry((node, root)).or_insert_with(|| Tree {
                in_use: l.in_use,
                source: &l.source,
                logical_root,
                certs: BTreeSet::new(),
                cas: BTreeSet::new(),
                oldest: None,
                newest: None,
                first_expiry: None,
            });
            t.certs.insert(fp);
            if e.cert.is_ca {
                t.cas.insert(fp);
            }
            let nb = e.cert.not_before;
            t.oldest = Some(t.oldest.map_or(nb, |o| o.min(nb)));
            t.newest = Some(t.newest.map_or(nb, |o| o.max(nb)));
            let na = e.cert.not_after;
            t.first_expiry = Some(t.first_expiry.map_or(na, |o| o.min(na)));
        }
    }
    if !any_node_cert {
        cover(
            j,
            CODE,
            CoverageStatus::NotEvaluable,
            "no certificate from a node in the inputs".into(),
            Some(NEEDS_NODE_SNAPSHOTS),
        );
        return;
    }
    let opt = |t: Option<time::OffsetDateTime>| t.map(instant).unwrap_or_default();
    for ((node, root), t) in &trees {
        let kind = t.in_use.as_str();
        j.findings.push(Finding {
            severity: Severity::Info,
            rule: CODE.into(),
            node: Some(node.to_string()),
            target: Some(root.clone()),
            title: title(CODE),
            message: format!(
                "{kind} tree {root} on {node}: {} certificate(s), {} of them CAs; issued from {} to {}, the first expires at {}",
                t.certs.len(),
                t.cas.len(),
                opt(t.oldest),
                opt(t.newest),
                opt(t.first_expiry)
            ),
            evidence: vec![Evidence {
                source: t.source.to_string(),
                path: t.logical_root.clone(),
                pointer: None,
            }],
            remediation: if t.in_use == InUse::Staged {
                "a staged CA rotation waits for `rke2 certificate rotate-ca --path=…`: finish it (servers first, then agents) or remove the staging directory so nobody applies stale material later".into()
            } else {
                "backups left by `rke2 certificate rotate` are not used by rke2: keep the newest until the new certificates are proven, then remove old ones (they hold private keys)".into()
            },
        });
    }
    cover_result(
        j,
        CODE,
        !trees.is_empty(),
        format!("{} staged or backup tree(s)", trees.len()),
        "no staged (server/rotate-ca, /opt/rke2/server) or backup (tls-<unix>) certificate tree on the nodes".into(),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tree_roots_name_the_staging_or_backup_directory() {
        assert_eq!(
            tree_root("var/lib/rancher/rke2/server/tls-1794967200/client-admin.crt").as_deref(),
            Some("var/lib/rancher/rke2/server/tls-1794967200/")
        );
        assert_eq!(
            tree_root("var/lib/rancher/rke2/server/rotate-ca/tls/server-ca.crt").as_deref(),
            Some("var/lib/rancher/rke2/server/rotate-ca/")
        );
        assert_eq!(
            tree_root("opt/rke2/server/tls/server-ca.crt").as_deref(),
            Some("opt/rke2/server/")
        );
        assert_eq!(
            tree_root("var/lib/rancher/rke2/server/tls/server-ca.crt"),
            None
        );
    }

    #[test]
    fn host_paths_are_found_inside_logical_paths() {
        assert_eq!(
            strip_to_host("b.zip!n1/var/lib/rancher/rke2/server/tls/x.crt"),
            "var/lib/rancher/rke2/server/tls/x.crt"
        );
        assert_eq!(
            strip_to_host("var/lib/rancher/rke2/server/rotate-ca/tls/x.crt"),
            "var/lib/rancher/rke2/server/rotate-ca/tls/x.crt"
        );
    }
}
