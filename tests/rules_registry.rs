//! The rule registry as the runner uses it: every analysis gives every rule of the registry
//! exactly one coverage row, on the demo, every fault fixture and the real corpus bundle; every
//! finding belongs to a registered rule; and the catalog's pages exist for every code.

// clippy.toml lets #[test] functions unwrap, panic and print; this lets their helpers too.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stderr
)]

mod rules_common;
mod support;

use std::collections::BTreeMap;

use harrow::checks::RULES;
use rules_common::analyze;
use serde_json::Value;
use support::inputs_in;

/// Coverage rows per rule code.
fn rows(doc: &Value) -> BTreeMap<String, usize> {
    let mut by = BTreeMap::new();
    for row in doc["coverage"].as_array().expect("coverage") {
        *by.entry(row["rule"].as_str().expect("rule").to_string())
            .or_insert(0) += 1;
    }
    by
}

fn assert_one_row_per_rule(doc: &Value, what: &str) {
    let by = rows(doc);
    let codes: Vec<&str> = RULES.iter().map(|r| r.code).collect();
    let seen: Vec<&str> = by.keys().map(String::as_str).collect();
    assert_eq!(
        seen, codes,
        "{what}: coverage rules differ from the registry"
    );
    for (code, n) in &by {
        assert_eq!(*n, 1, "{what}: {code} has {n} coverage rows");
    }
    for f in doc["findings"].as_array().expect("findings") {
        let code = f["rule"].as_str().expect("rule");
        assert!(
            RULES.iter().any(|r| r.code == code),
            "{what}: finding of unregistered rule {code}"
        );
    }
}

#[test]
fn every_rule_has_one_coverage_row_on_the_demo_and_every_fixture() {
    assert_one_row_per_rule(&analyze(&inputs_in("bundles/demo"), "collected"), "demo");
    let dir = support::root().join("bundles/fixtures");
    let mut variants: Vec<String> = std::fs::read_dir(&dir)
        .expect("fixtures")
        .flatten()
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().to_string_lossy().to_string())
        .collect();
    variants.sort();
    assert!(variants.len() >= 10, "{variants:?}");
    for v in variants {
        let doc = analyze(
            &inputs_in(&format!("bundles/fixtures/{v}")),
            "2026-11-20T10:00:00Z",
        );
        assert_one_row_per_rule(&doc, &v);
    }
}

#[test]
fn every_rule_has_one_coverage_row_on_the_real_corpus_bundle() {
    let Some(bundle) = support::corpus_bundle() else {
        return;
    };
    let doc = analyze(&[bundle.display().to_string()], "collected");
    assert_one_row_per_rule(&doc, "corpus");
}

#[test]
fn findings_carry_the_registered_title_unless_the_rule_names_its_own() {
    // Rules whose findings carry a title per finding (the snapshot's notes, the kind of leak).
    const OWN_TITLES: [&str; 4] = ["BUNDLE001", "BUNDLE002", "BUNDLE003", "INPUT001"];
    let doc = analyze(
        &inputs_in("bundles/fixtures/expired-leaf"),
        "2026-11-20T10:00:00Z",
    );
    let findings = doc["findings"].as_array().expect("findings");
    assert!(!findings.is_empty());
    for f in findings {
        let code = f["rule"].as_str().expect("rule");
        if OWN_TITLES.contains(&code) {
            continue;
        }
        let rule = RULES.iter().find(|r| r.code == code).expect("registered");
        assert_eq!(f["title"], rule.title, "{code}");
    }
}

#[test]
fn the_snapshot_loads_what_the_registered_rules_and_the_model_need() {
    use harrow::snapshot::AnalysisSelector;
    let needs = harrow::analyze::needs();
    for r in RULES {
        for n in r.needs {
            assert!(needs.contains(n), "{} needs {n:?}", r.code);
        }
    }
    let names = |s: &AnalysisSelector| -> Vec<(&'static str, String)> {
        s.host_areas()
            .iter()
            .map(|(a, w)| (a.name, format!("{w:?}")))
            .collect()
    };
    let ours = AnalysisSelector::for_needs(&needs);
    // Every host area there is to load is loaded because a rule or the model needs it (or the
    // snapshot names nodes with it)...
    assert_eq!(names(&ours), names(&AnalysisSelector::default()));
    // ...and data nobody needs is not loaded.
    let bare = AnalysisSelector::for_needs(&[]);
    assert!(names(&bare).len() < names(&ours).len());
}
