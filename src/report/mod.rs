//! Renderers of the analysis: text (for people) and JSON (the contract in
//! `docs/analyze.schema.json`). Both are deterministic: same inputs and reference time, same bytes.

pub mod certs;
pub mod json;
pub mod rules;
pub mod text;

use std::collections::BTreeMap;

use crate::analyze::Analysis;
use crate::checks::Severity;
use crate::snapshot::CoverageStatus;

/// Findings per severity (every severity present, zero included).
pub fn by_severity(a: &Analysis) -> BTreeMap<Severity, usize> {
    let mut m: BTreeMap<Severity, usize> = Severity::ALL.iter().map(|s| (*s, 0)).collect();
    for f in &a.findings {
        *m.entry(f.severity).or_default() += 1;
    }
    m
}

/// Rules per coverage status.
pub fn by_status(a: &Analysis) -> BTreeMap<CoverageStatus, usize> {
    let mut m = BTreeMap::new();
    for c in &a.coverage {
        *m.entry(c.status).or_default() += 1;
    }
    m
}

pub fn status_str(s: CoverageStatus) -> &'static str {
    match s {
        CoverageStatus::Pass => "pass",
        CoverageStatus::Fail => "fail",
        CoverageStatus::NotEvaluable => "not-evaluable",
        CoverageStatus::NotApplicable => "not-applicable",
    }
}
