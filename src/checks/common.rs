//! Helpers shared by the rule families: durations and instants as printed in messages,
//! fingerprint prefixes, the servers a cross-server comparison needs, and the findings of a file
//! that differs between servers.

use time::OffsetDateTime;

use super::Origin;
use super::rule::{Findings, Need, Verdict};
use crate::graph::consistency::{Disagreement, Variant};
use crate::snapshot::Snapshot;

/// `2026-11-12T07:29:05Z`.
pub fn instant(t: OffsetDateTime) -> String {
    crate::timefmt::rfc3339(t)
}

/// A span of seconds as `55d 1h`, `3h 10m`, `42s` (sign dropped).
pub fn span(seconds: i64) -> String {
    let s = seconds.unsigned_abs();
    let (d, h, m) = (s / 86_400, (s % 86_400) / 3600, (s % 3600) / 60);
    if d > 0 {
        format!("{d}d {h}h")
    } else if h > 0 {
        format!("{h}h {m}m")
    } else if m > 0 {
        format!("{m}m {}s", s % 60)
    } else {
        format!("{s}s")
    }
}

/// The evidence of a bundle object: the list file it came from and `items[i]` plus `pointer`
/// (`.metadata.labels`).
pub fn object_origin(snap: &Snapshot, o: &crate::snapshot::KubeObject, pointer: &str) -> Origin {
    Origin::new(
        snap.trees.get(o.input).map_or("", |t| t.name.as_str()),
        o.path.as_str(),
    )
    .at(Some(format!("items[{}]{pointer}", o.index)))
}

/// The first 16 hex digits of a fingerprint or hash, as targets and messages show it.
pub fn short(fp: &str) -> &str {
    fp.get(..16).unwrap_or(fp)
}

/// The applicability of a rule comparing one file across servers: `Some(verdict)` when it cannot
/// be evaluated (one server: not-applicable; fewer than two servers hold the file:
/// not-evaluable), `None` when at least two servers hold it.
pub fn cross_server_gate(snap: &Snapshot, holders: &[&str], what: &str) -> Option<Verdict> {
    let servers = snap.servers();
    // One server is a single-server cluster only when a support bundle's node list says so;
    // one node snapshot alone says nothing about the other servers.
    let listed = snap.nodes.values().any(|n| n.object.is_some());
    if servers.len() == 1 && listed {
        return Some(Verdict::not_applicable(format!(
            "single server ({}): nothing to compare {what} with",
            servers.join(",")
        )));
    }
    if servers.len() == 1 {
        return Some(Verdict::not_evaluable(
            format!(
                "one server known ({}) and no support bundle listing the cluster's nodes: {what} cannot be compared",
                servers.join(",")
            ),
            Need::OtherServers,
        ));
    }
    if holders.len() < 2 {
        let reason = if servers.is_empty() {
            format!("no server node in the inputs, so {what} cannot be compared")
        } else {
            format!(
                "{what} was found on {} of the {} servers ({}): at least two are needed",
                holders.len(),
                servers.len(),
                servers.join(",")
            )
        };
        return Some(Verdict::not_evaluable(reason, Need::TwoServers));
    }
    None
}

/// The index of the variant a strict majority of the holders share, if any.
pub fn majority(variants: &[Variant]) -> Option<usize> {
    let total: usize = variants.iter().map(|v| v.holders.len()).sum();
    variants.iter().position(|v| v.holders.len() * 2 > total)
}

/// Findings of a file that differs between servers. With a strict majority, one finding per
/// server holding another version (named as the node, compared with the majority's copy);
/// without one (two servers, each its own version), one finding naming every version.
pub fn disagreement_findings(
    d: &Disagreement,
    out: &mut Findings,
    describe: impl Fn(&Variant) -> String,
    remediation: &str,
) {
    let evidence = |v: &Variant| -> Vec<Origin> { v.holders.clone() };
    let nodes = |v: &Variant| -> String {
        v.holders
            .iter()
            .map(|h| h.node_name())
            .collect::<Vec<_>>()
            .join(",")
    };
    let Some(m) = majority(&d.variants) else {
        let versions: Vec<String> = d
            .variants
            .iter()
            .map(|v| format!("{} hold(s) {}", nodes(v), describe(v)))
            .collect();
        out.add(
            None,
            Some(d.file.clone()),
            format!(
                "{} differs between servers: {}",
                d.file,
                versions.join("; ")
            ),
            d.variants.iter().flat_map(evidence).collect(),
            remediation.to_string(),
        );
        return;
    };
    let main = &d.variants[m];
    for (i, v) in d.variants.iter().enumerate() {
        if i == m {
            continue;
        }
        for holder in &v.holders {
            let node = holder.node_name();
            let mut ev = vec![holder.clone()];
            ev.extend(evidence(main).into_iter().take(1));
            out.add(
                Some(node.to_string()),
                Some(d.file.clone()),
                format!(
                    "{} on {node} differs from the other servers' copy: {node} holds {}; {} hold(s) {}",
                    d.file,
                    describe(v),
                    nodes(main),
                    describe(main)
                ),
                ev,
                remediation.to_string(),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::Severity;

    fn variant(id: &str, nodes: &[&str]) -> Variant {
        Variant {
            sha256: id.into(),
            first: Some(id.into()),
            holders: nodes
                .iter()
                .map(|n| Origin::new(format!("{n}.tgz"), "f").on(*n, "f"))
                .collect(),
        }
    }

    #[test]
    fn the_odd_server_is_named_when_a_majority_agrees() {
        let d = Disagreement {
            file: "server/tls/client-ca.crt".into(),
            variants: vec![variant("aa", &["n1", "n2"]), variant("bb", &["n3"])],
        };
        let mut out = Findings::new(&super::super::certs::copies::CERT007);
        disagreement_findings(&d, &mut out, |v| v.sha256.clone(), "r");
        let f = out.into_vec();
        assert_eq!(f[0].severity, Severity::Critical);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].node.as_deref(), Some("n3"));
        assert!(
            f[0].message.contains("n3 holds bb; n1,n2 hold(s) aa"),
            "{}",
            f[0].message
        );
        assert_eq!(f[0].evidence.len(), 2);
    }

    #[test]
    fn a_tie_gives_one_finding_naming_every_version() {
        let d = Disagreement {
            file: "server/tls/service.key".into(),
            variants: vec![variant("aa", &["s1"]), variant("bb", &["s2"])],
        };
        assert_eq!(majority(&d.variants), None);
        let mut out = Findings::new(&super::super::sakey::SAKEY002);
        disagreement_findings(&d, &mut out, |v| v.sha256.clone(), "r");
        let f = out.into_vec();
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].node, None);
        assert!(
            f[0].message.contains("s1 hold(s) aa; s2 hold(s) bb"),
            "{}",
            f[0].message
        );
    }

    #[test]
    fn spans_read_in_the_largest_units() {
        assert_eq!(span(55 * 86_400 + 3600 + 59), "55d 1h");
        assert_eq!(span(-(8 * 86_400 + 2 * 3600)), "8d 2h");
        assert_eq!(span(3 * 3600 + 600), "3h 10m");
        assert_eq!(span(125), "2m 5s");
        assert_eq!(span(42), "42s");
    }
}
