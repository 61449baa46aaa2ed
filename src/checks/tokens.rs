//! Token rules (TOKEN): TOKEN001, a token pinning a CA hash other than the one the cluster's
//! servers give for their `server-ca.crt` by RKE2's hashCA rule (rules.md, "The CA hash").
//! Findings name the place of the token and the hashes (public values) — never the password.

use std::collections::BTreeSet;

use super::common::{NEEDS_NODE_SNAPSHOTS, cover, cover_result, short, title};
use super::{Context, Evidence, Finding, Judgement, Severity};
use crate::graph::tokens::{all_tokens, served_hashes};
use crate::snapshot::{CoverageStatus, Snapshot};

const CODE: &str = "TOKEN001";

pub(super) fn evaluate(snap: &Snapshot, cx: &Context, j: &mut Judgement) {
    let served = served_hashes(snap);
    let served_hex: BTreeSet<&str> = served.iter().map(|s| s.hash.hex.as_str()).collect();
    let pinning = all_tokens(snap)
        .values()
        .flatten()
        .filter(|t| t.found.token.ca_hash.is_some())
        .count();
    if served.is_empty() || pinning == 0 {
        let reason = if served.is_empty() {
            "no server's server/tls/server-ca.crt in the inputs: the cluster's CA hash is unknown"
        } else {
            "no token in the inputs carries a CA hash (K10<hash>::…); collected bundles mask tokens"
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
    let expected: Vec<String> = served_hex.iter().map(|h| short(h).to_string()).collect();
    let expected = expected.join(" or ");
    for u in &cx.graph.unpinned {
        j.findings.push(Finding {
            severity: Severity::Critical,
            rule: CODE.into(),
            node: Some(u.node.clone()),
            target: Some(u.host_path.clone()),
            title: title(CODE),
            message: format!(
                "the token in {} on {} pins CA hash {}…, but the servers' server-ca.crt gives {expected}…: the node fails to join or restart against this cluster",
                u.host_path,
                u.node,
                short(&u.pinned_hash)
            ),
            evidence: vec![Evidence {
                source: u.source.clone(),
                path: u.logical.clone(),
                pointer: u.line.map(|l| l.to_string()),
            }],
            remediation: "before the node's next rke2 start, set its token to the cluster's current K10<hash>::… form (the hash part of a server's /var/lib/rancher/rke2/server/token) or to the short form without a hash, in every source that sets it (config.yaml and drop-ins, rancherd config, /oem)".into(),
        });
    }
    let n = cx.graph.unpinned.len();
    cover_result(
        j,
        CODE,
        n > 0,
        format!("{n} of {pinning} token occurrence(s) with a CA hash pin another CA"),
        format!(
            "{pinning} token occurrence(s) with a CA hash, each pinning the servers' CA ({expected}…)"
        ),
    );
}
