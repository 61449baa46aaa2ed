//! The registry: every rule harrow evaluates, listed once, sorted by code. The runner evaluates
//! each and gives it exactly one coverage row; the rule pages (`docs/rules/`), finding titles and
//! the data the snapshot loads for the rules all come from this list.
//!
//! Adding a rule: write its `static` [`Rule`] in its family's file, add one line here, give it
//! fixtures that make it fail, pass and be not evaluable, and run
//! `HARROW_BLESS=1 cargo test --lib rule_pages` to write its page.

use super::rule::{Findings, Need, Rule, Verdict};
use super::{
    Context, Finding, Judgement, bundle, certs, firewall, firewall_persist, fw_podnet, harvester,
    harvester_proxy, host, host_modes, kube, leaks, rancher, rot, sakey, token_logs, tokens,
};
use crate::snapshot::{Coverage, CoverageStatus};

/// Every rule, sorted by code.
pub static RULES: &[&Rule] = &[
    &leaks::BUNDLE001,
    &bundle::BUNDLE002,
    &bundle::BUNDLE003,
    &certs::expiry::CERT001,
    &certs::expiry::CERT002,
    &certs::lifetime::CERT003,
    &certs::expiry::CERT004,
    &certs::chain::CERT005,
    &certs::pairs::CERT006,
    &certs::copies::CERT007,
    &certs::copies::CERT008,
    &certs::sans::CERT009,
    &certs::chain::CERT010,
    &certs::keys::CERT011,
    &certs::kubeconfigs::CERT012,
    &certs::objects::CERT013,
    &certs::bundle_expiry::CERT014,
    &certs::trees::CERT015,
    &certs::lifetime::CERT016,
    &firewall::FW001,
    &firewall::FW002,
    &firewall::FW003,
    &firewall_persist::FW004,
    &firewall_persist::FW005,
    &firewall_persist::FW006,
    &firewall::FW007,
    &firewall::FW008,
    &firewall_persist::FW009,
    &firewall::FW010,
    &fw_podnet::FW011,
    &firewall_persist::FW012,
    &harvester::HARV001,
    &harvester_proxy::HARV002,
    &harvester::HARV003,
    &harvester::HARV004,
    &harvester::HARV005,
    &host::HOST001,
    &host::HOST002,
    &host::HOST003,
    &host_modes::HOST004,
    &bundle::INPUT001,
    &kube::KUBE001,
    &kube::KUBE002,
    &kube::KUBE003,
    &rancher::rbac::RANCHER001,
    &rancher::auth::RANCHER002,
    &rancher::rbac::RANCHER003,
    &rancher::auth::RANCHER004,
    &rancher::exposure::RANCHER005,
    &rancher::exposure::RANCHER006,
    &rancher::exposure::RANCHER007,
    &rancher::rbac::RANCHER008,
    &rancher::agents::RANCHER009,
    &rancher::auth::RANCHER010,
    &rot::ROT001,
    &rot::ROT002,
    &rot::ROT003,
    &rot::ROT004,
    &rot::ROT005,
    &rot::ROT006,
    &rot::ROT007,
    &rot::ROT008,
    &rot::ROT009,
    &rot::ROT010,
    &rot::ROT011,
    &rot::ROT012,
    &sakey::SAKEY001,
    &sakey::SAKEY002,
    &sakey::SAKEY003,
    &tokens::TOKEN001,
    &tokens::TOKEN002,
    &token_logs::TOKEN003,
    &tokens::TOKEN004,
    &tokens::TOKEN005,
    &token_logs::TOKEN006,
];

/// Look a rule up by code.
pub fn rule(code: &str) -> Option<&'static Rule> {
    RULES.iter().copied().find(|r| r.code == code)
}

/// Every kind of data some rule reads, sorted.
pub fn needs() -> Vec<Need> {
    let mut v: Vec<Need> = RULES.iter().flat_map(|r| r.needs.iter().copied()).collect();
    v.sort();
    v.dedup();
    v
}

/// Evaluate one rule: its findings and its one coverage row.
pub fn evaluate_rule(rule: &'static Rule, cx: &Context) -> (Vec<Finding>, Coverage) {
    let mut out = Findings::new(rule);
    let verdict = (rule.evaluate)(cx, &mut out);
    let (status, reason, needs) = match verdict {
        Verdict::Judged { failed, .. } if !out.is_empty() => (CoverageStatus::Fail, failed, None),
        Verdict::Judged { passed, .. } => (CoverageStatus::Pass, passed, None),
        Verdict::NotEvaluable { reason, need } => (
            CoverageStatus::NotEvaluable,
            reason,
            Some(need.hint().to_string()),
        ),
        Verdict::NotApplicable { reason } => (CoverageStatus::NotApplicable, reason, None),
    };
    let coverage = Coverage {
        rule: rule.code.to_string(),
        status,
        reason,
        needs,
    };
    (out.into_vec(), coverage)
}

/// Run every rule. Findings come out sorted and deduplicated; coverage has exactly one row per
/// rule of [`RULES`], in code order.
pub fn evaluate(cx: &Context) -> Judgement {
    let mut j = Judgement::default();
    for rule in RULES {
        let (findings, coverage) = evaluate_rule(rule, cx);
        j.findings.extend(findings);
        j.coverage.push(coverage);
    }
    j.findings.sort();
    j.findings.dedup();
    j.coverage.sort();
    j
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_sorted_and_well_formed() {
        for w in RULES.windows(2) {
            assert!(w[0].code < w[1].code, "{} before {}", w[0].code, w[1].code);
        }
        for r in RULES {
            let (alpha, digits) = r.code.split_at(r.code.len() - 3);
            assert!(
                !alpha.is_empty() && alpha.chars().all(|c| c.is_ascii_uppercase()),
                "{}",
                r.code
            );
            assert!(digits.chars().all(|c| c.is_ascii_digit()), "{}", r.code);
            assert_eq!(rule(r.code).map(|x| x.code), Some(r.code));
        }
    }

    #[test]
    fn every_rule_is_documented_and_names_its_data() {
        for r in RULES {
            assert!(!r.title.is_empty() && !r.source.is_empty(), "{}", r.code);
            assert!(!r.needs.is_empty(), "{} declares no data", r.code);
            for section in ["**Why it matters.**", "**Remediation", "**Source.**"] {
                assert!(
                    r.doc.contains(section),
                    "{}: no {section} in its doc",
                    r.code
                );
            }
        }
    }

    /// The pages in `docs/rules/` are generated from the definitions; this fails when one
    /// differs, or when a page has no rule. `HARROW_BLESS=1` rewrites them.
    #[test]
    fn rule_pages_match_the_definitions() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/rules");
        let bless = std::env::var_os("HARROW_BLESS").is_some();
        let mut stale = Vec::new();
        for r in RULES {
            let page = dir.join(format!("{}.md", r.code));
            let want = crate::report::rules::doc_page(r);
            let have = std::fs::read_to_string(&page).unwrap_or_default();
            if have != want {
                if bless {
                    std::fs::write(&page, &want).unwrap_or_else(|e| panic!("{page:?}: {e}"));
                } else {
                    stale.push(r.code);
                }
            }
        }
        assert!(
            stale.is_empty(),
            "docs/rules pages differ from the definitions: {stale:?}; run `HARROW_BLESS=1 cargo test --lib rule_pages` and commit"
        );
        let mut orphans = Vec::new();
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let name = entry.file_name().to_string_lossy().to_string();
            if let Some(code) = name.strip_suffix(".md")
                && rule(code).is_none()
            {
                orphans.push(name);
            }
        }
        assert!(orphans.is_empty(), "pages without a rule: {orphans:?}");
    }
}
