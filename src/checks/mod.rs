//! Rules: each has a code, a severity, a doc page (`docs/rules/<CODE>.md`) and an evaluation that
//! yields findings and a coverage status (pass, fail, not-evaluable, not-applicable).
//!
//! A rule whose data is absent is never reported as passed: it is not-evaluable, and coverage says
//! which input would make it evaluable.

mod bundle;
pub mod catalog;
mod certs;
mod common;
pub mod gates;
mod leaks;
mod sakey;
mod tokens;

use serde::Serialize;

use crate::snapshot::{Coverage, Snapshot};

pub use catalog::{RULES, Rule};

/// Finding severity, worst first when sorted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Critical,
    High,
    Medium,
    Low,
    Info,
}

impl Severity {
    pub const ALL: [Severity; 5] = [
        Severity::Critical,
        Severity::High,
        Severity::Medium,
        Severity::Low,
        Severity::Info,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Critical => "critical",
            Severity::High => "high",
            Severity::Medium => "medium",
            Severity::Low => "low",
            Severity::Info => "info",
        }
    }

    pub fn parse(s: &str) -> Option<Severity> {
        Severity::ALL.into_iter().find(|v| v.as_str() == s)
    }
}

/// A pointer to the evidence: the input (file name), the logical path inside it (nested archives
/// joined by `!`), and a line number or YAML path where known.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Evidence {
    pub source: String,
    pub path: String,
    pub pointer: Option<String>,
}

impl Evidence {
    /// Split a provenance string `input!path` into source and path.
    pub fn from_provenance(prov: &str, pointer: Option<String>) -> Evidence {
        match prov.split_once('!') {
            Some((s, p)) => Evidence {
                source: s.to_string(),
                path: p.to_string(),
                pointer,
            },
            None => Evidence {
                source: prov.to_string(),
                path: String::new(),
                pointer,
            },
        }
    }

    /// `input!path[:pointer]`, the form a person can open.
    pub fn display(&self) -> String {
        let mut s = self.source.clone();
        if !self.path.is_empty() {
            s.push('!');
            s.push_str(&self.path);
        }
        if let Some(p) = &self.pointer {
            s.push(':');
            s.push_str(p);
        }
        s
    }
}

/// One finding: a rule that failed for one target.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Finding {
    pub severity: Severity,
    pub rule: String,
    pub node: Option<String>,
    pub target: Option<String>,
    pub title: String,
    pub message: String,
    pub evidence: Vec<Evidence>,
    pub remediation: String,
}

/// Everything the rules produced.
#[derive(Debug, Default)]
pub struct Judgement {
    pub findings: Vec<Finding>,
    pub coverage: Vec<Coverage>,
}

/// What the rules read besides the snapshot: the certificate inventory judged at the reference
/// time, the trust graph, the consistency checks, and the renew window in force.
pub struct Context<'a> {
    pub inventory: &'a crate::graph::certs::Inventory,
    pub graph: &'a crate::graph::trust::TrustGraph,
    pub consistency: &'a crate::graph::consistency::Consistency,
    pub reference_time: time::OffsetDateTime,
    pub renew_window_days: u32,
    pub renew_window_source: &'a str,
    /// Keys the fingerprints of secrets (`--fingerprint-key`); without it findings name the
    /// place only.
    pub key: Option<&'a crate::pki::secret::FingerprintKey>,
}

/// Run every rule against the snapshot and what was derived from it. Findings come out sorted
/// and deduplicated, coverage sorted by rule.
pub fn evaluate(snap: &Snapshot, cx: &Context) -> Judgement {
    let mut j = Judgement::default();
    bundle::evaluate(snap, &mut j);
    leaks::evaluate(snap, cx.key, &mut j);
    certs::evaluate(snap, cx, &mut j);
    sakey::evaluate(snap, cx, &mut j);
    tokens::evaluate(snap, cx, &mut j);
    j.findings.sort();
    j.findings.dedup();
    j.coverage.sort();
    j
}
