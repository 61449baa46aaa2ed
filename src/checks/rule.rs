//! What a rule is: one definition holding its code, default severity, title, source, the data it
//! needs, its documentation and its evaluation. Every rule of the catalog is one `static` of this
//! type in its family's file, listed once in [`super::registry`]; the doc pages in `docs/rules/`,
//! coverage rows and finding titles all come from it.
//!
//! A rule's evaluation writes findings through a [`Findings`] (which stamps the rule's code, title
//! and default severity on each) and returns a [`Verdict`]: judged (the runner makes it a pass or
//! a fail from the findings written), not evaluable (with the [`Need`] that would make it
//! evaluable) or not applicable. The runner turns the verdict into the rule's one coverage row.

use super::{Context, Finding, Origin, Severity};
pub use crate::vocab::Need;

/// One rule: everything about it in one place.
#[derive(Debug)]
pub struct Rule {
    /// `CERT001`: family letters then three digits, unique in the catalog.
    pub code: &'static str,
    /// The severity of its findings unless the evaluation says otherwise for one finding.
    pub severity: Severity,
    /// One line, lower case, as findings and coverage show it.
    pub title: &'static str,
    /// The source documents or reference sections it rests on (short form).
    pub source: &'static str,
    /// The data it reads.
    pub needs: &'static [Need],
    /// Its documentation in Markdown (what it reads, what it reports, why it matters,
    /// remediation, when it is not evaluable, sources): the body of `docs/rules/<CODE>.md`, whose
    /// heading and data line are generated from the fields above.
    pub doc: &'static str,
    /// Judge the context: write findings, return the verdict.
    pub evaluate: fn(&Context, &mut Findings) -> Verdict,
}

/// The outcome of one rule's evaluation, besides its findings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// The rule judged its data: a fail (with `failed` as the reason) when it wrote findings, a
    /// pass (with `passed`) when it wrote none.
    Judged { failed: String, passed: String },
    /// The data is not in the inputs; `need` says which input would supply it.
    NotEvaluable { reason: String, need: Need },
    /// The rule does not apply to this cluster or these inputs.
    NotApplicable { reason: String },
}

impl Verdict {
    /// Judged, with the reasons of a fail and a pass.
    pub fn judged(failed: impl Into<String>, passed: impl Into<String>) -> Verdict {
        Verdict::Judged {
            failed: failed.into(),
            passed: passed.into(),
        }
    }

    /// Not evaluable for `reason`, needing `need`.
    pub fn not_evaluable(reason: impl Into<String>, need: Need) -> Verdict {
        Verdict::NotEvaluable {
            reason: reason.into(),
            need,
        }
    }

    /// Not applicable for `reason`.
    pub fn not_applicable(reason: impl Into<String>) -> Verdict {
        Verdict::NotApplicable {
            reason: reason.into(),
        }
    }
}

/// The findings one rule writes during its evaluation.
#[derive(Debug)]
pub struct Findings {
    rule: &'static Rule,
    list: Vec<Finding>,
}

impl Findings {
    /// An empty list for `rule`.
    pub fn new(rule: &'static Rule) -> Findings {
        Findings {
            rule,
            list: Vec::new(),
        }
    }

    /// Write one finding with the rule's code, title and default severity; the returned
    /// reference lets the caller raise or lower the severity of this one finding, or give it a
    /// title of its own.
    pub fn add(
        &mut self,
        node: Option<String>,
        target: Option<String>,
        message: String,
        evidence: Vec<Origin>,
        remediation: String,
    ) -> &mut Finding {
        self.list.push(Finding {
            severity: self.rule.severity,
            rule: self.rule.code.to_string(),
            node,
            target,
            title: self.rule.title.to_string(),
            message,
            evidence,
            remediation,
        });
        let last = self.list.len() - 1;
        &mut self.list[last]
    }

    /// The number of findings written so far.
    pub fn len(&self) -> usize {
        self.list.len()
    }

    /// True when no finding was written.
    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// The findings written.
    pub fn into_vec(self) -> Vec<Finding> {
        self.list
    }
}
