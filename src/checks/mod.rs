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
mod firewall;
mod firewall_persist;
mod fw_extra_nics;
mod fw_podnet;
pub mod gates;
mod harvester;
mod harvester_proxy;
pub mod host;
mod host_modes;
mod kube;
mod leaks;
mod rancher;
pub mod registry;
pub mod rot;
pub mod rule;
mod sakey;
mod token_logs;
mod tokens;

use crate::snapshot::Snapshot;
pub use crate::vocab::{Coverage, CoverageStatus, Finding, Origin, Severity};

pub use kube::namespace_pattern;
pub use registry::RULES;
pub use rule::{Need, Rule, Verdict};

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
    /// The live certificates and the nodes holding them, computed by the first rule that asks.
    pub live: std::cell::OnceCell<(usize, std::collections::BTreeSet<&'a str>)>,
    /// Keys the fingerprints of secrets (`--fingerprint-key`); without it findings name the
    /// place only.
    pub key: Option<&'a crate::pki::secret::FingerprintKey>,
    /// Namespace globs (`kube-*`) the KUBE rules exclude besides the built-in system ones.
    pub workload_exclude: &'a [String],
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
