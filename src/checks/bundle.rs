//! Bundle hygiene rules (BUNDLE): incomplete bundles (BUNDLE002) and archive entries refused as
//! unsafe or over a limit (BUNDLE003); facts about the inputs (INPUT001: collection times far
//! apart or estimated, unrecognised inputs, ignored node names). All are raised while the
//! snapshot is built, as notes; this module turns them into findings and coverage.

use super::{Evidence, Finding, Judgement, Severity, catalog};
use crate::snapshot::{Coverage, CoverageStatus, InputKind, Snapshot};

pub(super) fn evaluate(snap: &Snapshot, j: &mut Judgement) {
    let has_bundle = snap
        .inputs
        .iter()
        .any(|i| i.kind == InputKind::HarvesterSupportBundle);
    for code in ["BUNDLE002", "BUNDLE003", "INPUT001"] {
        let Some(rule) = catalog::rule(code) else {
            continue;
        };
        let notes: Vec<_> = snap.notes.iter().filter(|n| n.rule == code).collect();
        for n in &notes {
            j.findings.push(Finding {
                severity: Severity::parse(&n.severity).unwrap_or(rule.severity),
                rule: code.to_string(),
                node: n.node.clone(),
                target: None,
                title: n.title.clone(),
                message: n.message.clone(),
                evidence: n
                    .evidence
                    .iter()
                    .map(|(p, ptr)| Evidence::from_provenance(p, ptr.clone()))
                    .collect(),
                remediation: remediation(code).to_string(),
            });
        }
        let (status, reason) = if !notes.is_empty() {
            (CoverageStatus::Fail, format!("{} finding(s)", notes.len()))
        } else if code == "INPUT001" {
            (
                CoverageStatus::Pass,
                "collection times and inputs are consistent".to_string(),
            )
        } else if code == "BUNDLE002" && !has_bundle {
            (
                CoverageStatus::NotApplicable,
                "no support bundle among the inputs".to_string(),
            )
        } else {
            (
                CoverageStatus::Pass,
                "every input was read in full".to_string(),
            )
        };
        j.coverage.push(Coverage {
            rule: code.to_string(),
            status,
            reason,
            needs: None,
        });
    }
}

fn remediation(code: &str) -> &'static str {
    match code {
        "INPUT001" => {
            "weigh time-dependent judgements with this in mind; collect the inputs together, and name node snapshots with NAME=PATH where the name was guessed"
        }
        "BUNDLE002" => {
            "collect a new bundle (raise support-bundle-node-collection-timeout if nodes are missing), or add node snapshots with `harrow collect`"
        }
        _ => {
            "inspect the entry by hand; if it is legitimate, raise the limit named in the message with its flag and rerun"
        }
    }
}
