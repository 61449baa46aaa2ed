//! Service-account key rules (SAKEY): `service.current.key` must be the first key of
//! `service.key` (SAKEY001), and `service.key` must be the same list on every server
//! (SAKEY002), and no key of it may be RSA under 2048 bits (SAKEY003). Keys are compared by public key (SubjectPublicKeyInfo SHA-256), so a collected
//! `.pub-fingerprint` file stands for the key it replaced; no key material is ever shown.

use super::common::{
    NEEDS_NODE_SNAPSHOTS, cover, cover_result, cross_server_gate, disagreement_findings, short,
    title,
};
use super::{Context, Evidence, Finding, Judgement, Severity};
use crate::pki::{self, KeyAlgorithm};
use crate::snapshot::{CoverageStatus, Snapshot};

const TLS: &str = "var/lib/rancher/rke2/server/tls/";

/// True when the node holds `name` (or its `.pub-fingerprint` form) under `server/tls/`.
fn holds(snap: &Snapshot, node: &str, name: &str) -> bool {
    snap.nodes.get(node).is_some_and(|n| {
        n.files.contains_key(&format!("{TLS}{name}"))
            || n.files
                .contains_key(&format!("{TLS}{name}.pub-fingerprint"))
    })
}

pub(super) fn evaluate(snap: &Snapshot, cx: &Context, j: &mut Judgement) {
    current_key_first(snap, cx, j);
    same_on_every_server(snap, cx, j);
    weak_keys(snap, j);
}

/// SAKEY003: an RSA key under 2048 bits in a server's `service.key`. Only the public half of
/// each key (algorithm, size, SubjectPublicKeyInfo hash) is read or shown.
fn weak_keys(snap: &Snapshot, j: &mut Judgement) {
    const CODE: &str = "SAKEY003";
    let path = format!("{TLS}service.key");
    let mut checked = Vec::new();
    let mut n = 0;
    for node in snap.nodes.values() {
        let Some(copies) = node.files.get(&path) else {
            continue;
        };
        let Some((data, source, logical)) = snap.first_copy(copies) else {
            continue;
        };
        let Ok(keys) = pki::parse_keys(data) else {
            continue;
        };
        checked.push(node.name.as_str());
        for k in &keys {
            let Some(bits) = k.bits else { continue };
            if !matches!(k.algorithm, Some(KeyAlgorithm::Rsa | KeyAlgorithm::RsaPss))
                || bits >= 2048
            {
                continue;
            }
            let spki = k.spki_sha256.as_deref().map(short).unwrap_or("unknown");
            j.findings.push(Finding {
                severity: Severity::Medium,
                rule: CODE.into(),
                node: Some(node.name.clone()),
                target: Some(path.clone()),
                title: title(CODE),
                message: format!(
                    "on {}, key #{} of service.key (public key sha256 {spki}) is RSA of {bits} bits, under 2048: service-account tokens it signs or verifies rest on a weak key",
                    node.name,
                    k.index + 1
                ),
                evidence: vec![Evidence {
                    source: source.clone(),
                    path: logical.clone(),
                    pointer: Some(format!("key #{}", k.index + 1)),
                }],
                remediation: "generate an RSA 2048+ (or ECDSA) service-account key and install it with `rke2 certificate rotate-ca --path=…` (new key first in service.key, older keys kept after it until their tokens expire), then restart every server; drop the weak key once no token it signed is in use".into(),
            });
            n += 1;
        }
    }
    if checked.is_empty() {
        cover(
            j,
            CODE,
            CoverageStatus::NotEvaluable,
            "no readable server/tls/service.key in the inputs (a .pub-fingerprint form carries no key size)".into(),
            Some(NEEDS_NODE_SNAPSHOTS),
        );
        return;
    }
    let nodes = checked.join(",");
    cover_result(
        j,
        CODE,
        n > 0,
        format!("{n} RSA key(s) under 2048 bits in service.key on {nodes}"),
        format!("no RSA key under 2048 bits in service.key on {nodes}"),
    );
}

/// SAKEY001.
fn current_key_first(snap: &Snapshot, cx: &Context, j: &mut Judgement) {
    const CODE: &str = "SAKEY001";
    let checked: Vec<&str> = snap
        .nodes
        .keys()
        .map(String::as_str)
        .filter(|n| holds(snap, n, "service.key") && holds(snap, n, "service.current.key"))
        .collect();
    if checked.is_empty() {
        cover(
            j,
            CODE,
            CoverageStatus::NotEvaluable,
            "no server with both server/tls/service.key and service.current.key (or their .pub-fingerprint forms) in the inputs".into(),
            Some(NEEDS_NODE_SNAPSHOTS),
        );
        return;
    }
    for p in &cx.consistency.current_key {
        let place = match p.position {
            Some(i) => format!("is key #{} of service.key, not the first", i + 1),
            None => "is not in service.key at all".into(),
        };
        j.findings.push(Finding {
            severity: Severity::High,
            rule: CODE.into(),
            node: Some(p.node.clone()),
            target: Some(format!("{TLS}service.current.key")),
            title: title(CODE),
            message: format!(
                "on {}, service.current.key (the key that signs service-account tokens) {place}: at the next start rke2 rewrites it from service.key's first key and switches the signing key",
                p.node
            ),
            evidence: vec![Evidence {
                source: p.source.clone(),
                path: p.logical.clone(),
                pointer: None,
            }],
            remediation: "change service-account keys only through `rke2 certificate rotate-ca --path=…` with the new key first and the old keys kept after it, then restart every server; if service.key was edited by hand, restore the list whose first key is the current signing key".into(),
        });
    }
    let n = cx.consistency.current_key.len();
    let nodes = checked.join(",");
    cover_result(
        j,
        CODE,
        n > 0,
        format!("{n} of {} server(s) ({nodes})", checked.len()),
        format!("service.current.key is service.key's first key on {nodes}"),
    );
}

/// SAKEY002.
fn same_on_every_server(snap: &Snapshot, cx: &Context, j: &mut Judgement) {
    const CODE: &str = "SAKEY002";
    let holders: Vec<&str> = snap
        .servers()
        .into_iter()
        .filter(|s| holds(snap, s, "service.key"))
        .collect();
    if let Some((status, reason, needs)) = cross_server_gate(snap, &holders, "service.key") {
        cover(j, CODE, status, reason, needs);
        return;
    }
    let mut n = 0;
    for d in &cx.consistency.disagreements {
        if !d.file.ends_with("service.key") {
            continue;
        }
        n += 1;
        j.findings.extend(disagreement_findings(
            d,
            CODE,
            Severity::Critical,
            |v| {
                let keys = v.sha256.split(',').filter(|k| !k.is_empty()).count();
                format!(
                    "{keys} key(s), the first with public key sha256 {}",
                    v.first.as_deref().map(short).unwrap_or("unparsable")
                )
            },
            "make service.key the same list on every server (the datastore's copy: distribute it with `rke2 certificate rotate-ca --path=…`), keeping every older key after the current one, then restart every server; tokens signed on one server fail verification on another until then",
        ));
    }
    let compared = holders.join(",");
    cover_result(
        j,
        CODE,
        n > 0,
        format!("service.key differs between {compared}"),
        format!("service.key holds the same keys on {compared}"),
    );
}
