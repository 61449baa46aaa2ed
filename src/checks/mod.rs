//! Rules: each is one definition ([`rule::Rule`]: code, severity, title, source, the data it
//! needs, its documentation and its evaluation) in its family's file, listed once in
//! [`registry::RULES`]. The runner gives every rule exactly one coverage row (pass, fail,
//! not-evaluable, not-applicable).
//!
//! A rule whose data is absent is never reported as passed: it is not-evaluable, and coverage says
//! which input would make it evaluable.

mod bundle;
mod certs;
mod common;
pub mod gates;
mod leaks;
pub mod registry;
pub mod rule;
mod sakey;
mod tokens;

use serde::Serialize;

use crate::snapshot::{Coverage, Snapshot};

pub use registry::RULES;
pub use rule::{Need, Rule, Verdict};

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
    /// The merged inputs.
    pub snapshot: &'a Snapshot,
    /// The credential model.
    pub model: &'a crate::model::Model,
    pub graph: &'a crate::graph::trust::TrustGraph,
    pub consistency: &'a crate::graph::consistency::Consistency,
    pub reference_time: time::OffsetDateTime,
    pub renew_window_days: u32,
    pub renew_window_source: &'a str,
    /// Keys the fingerprints of secrets (`--fingerprint-key`); without it findings name the
    /// place only.
    pub key: Option<&'a crate::pki::secret::FingerprintKey>,
}

impl Context<'_> {
    /// The expiry status of `e` at the reference time with the renew window in force.
    pub fn status(&self, e: &crate::model::certs::CertEntry) -> crate::model::certs::Status {
        e.status_at(self.reference_time, self.renew_window_days)
    }

    /// Seconds from the reference time to `e`'s NotAfter (negative once expired).
    pub fn residual(&self, e: &crate::model::certs::CertEntry) -> i64 {
        e.residual_at(self.reference_time)
    }
}

/// Run every rule of the registry. Findings come out sorted and deduplicated, coverage with one
/// row per rule, sorted by rule.
pub fn evaluate(cx: &Context) -> Judgement {
    registry::evaluate(cx)
}
