//! The rule registry as the runner uses it: every analysis gives every rule of the registry
//! exactly one coverage row, on the demo, every fault fixture and the real corpus bundle; every
//! finding belongs to a registered rule; the catalog's pages exist for every code; and every
//! analysis rule has pinned outputs (`golden/rules/<CODE>/`) that make it fail, pass and be not
//! evaluable.

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

/// Analysis rules that can never be not evaluable, each with why: they judge the inputs
/// themselves, so no missing input would make them unable to judge. Every other analysis rule
/// has a `not-evaluable*` golden.
const NEVER_NOT_EVALUABLE: [(&str, &str); 3] = [
    // Secrets left by the collector are looked for in whatever support bundle is given; without
    // a bundle there is nothing a collector could have left: not applicable (pinned as such).
    ("BUNDLE001", "not-applicable"),
    // A bundle is incomplete or it is not; without a bundle: not applicable (pinned as such).
    ("BUNDLE002", "not-applicable"),
    // Every entry of every input is either read or refused: always judged.
    ("BUNDLE003", ""),
];

/// One per-rule golden as `rules_common::pin` writes it.
struct Golden {
    path: String,
    case: String,
    test: String,
    status: String,
    needs: Option<String>,
    reason: Option<String>,
    findings: usize,
}

fn read_golden(code: &str, file: &std::path::Path) -> Golden {
    let rel = format!(
        "golden/rules/{code}/{}",
        file.file_name().unwrap().to_string_lossy()
    );
    let text = std::fs::read_to_string(file).unwrap_or_else(|e| panic!("{rel}: {e}"));
    let case = file
        .file_stem()
        .and_then(|s| s.to_str())
        .filter(|_| file.extension().is_some_and(|x| x == "txt"))
        .unwrap_or_else(|| panic!("{rel}: not a <case>.txt"))
        .to_string();
    let mut lines = text.lines();
    assert_eq!(
        lines.next(),
        Some(format!("{code} {case}").as_str()),
        "{rel}: the first line names another rule or case"
    );
    let field = |key: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(&format!("{key}: ")))
            .map(str::to_string)
    };
    Golden {
        test: field("test").unwrap_or_else(|| panic!("{rel}: no test line")),
        status: field("status").unwrap_or_else(|| panic!("{rel}: no status")),
        needs: field("needs"),
        reason: field("reason"),
        findings: field("findings")
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("{rel}: no findings count")),
        case,
        path: rel,
    }
}

#[test]
fn every_analysis_rule_has_pinned_fail_pass_and_not_evaluable_outputs() {
    use rules_common::case_kind;
    if std::env::var_os("HARROW_BLESS").is_some() {
        // The goldens are being written by the other test binaries, maybe after this one.
        eprintln!("skipped while blessing: run the tests again to check golden/rules/");
        return;
    }
    let root = support::root();
    let analysis: Vec<&str> = RULES
        .iter()
        .map(|r| r.code)
        .filter(|c| !c.starts_with("ROT") && *c != "INPUT001")
        .collect();
    assert_eq!(analysis.len(), 62, "{analysis:?}");
    let dir = root.join("golden/rules");
    let mut dirs: Vec<String> = std::fs::read_dir(&dir)
        .expect("golden/rules")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    dirs.sort();
    for d in &dirs {
        assert!(
            RULES.iter().any(|r| r.code == d),
            "golden/rules/{d}: no registered rule has this code"
        );
    }
    let mut missing = Vec::new();
    for code in analysis {
        let mut goldens: Vec<Golden> = std::fs::read_dir(dir.join(code))
            .map(|rd| {
                rd.map(|e| read_golden(code, &e.expect("entry").path()))
                    .collect()
            })
            .unwrap_or_default();
        goldens.sort_by(|a, b| a.case.cmp(&b.case));
        for g in &goldens {
            let kind = case_kind(&g.case)
                .unwrap_or_else(|| panic!("{}: the case names no status", g.path));
            assert_eq!(
                g.status, kind,
                "{}: the status disagrees with the name",
                g.path
            );
            match kind {
                "fail" => assert!(g.findings > 0, "{}: a fail without a finding", g.path),
                "pass" => assert_eq!(g.findings, 0, "{}: a pass with findings", g.path),
                "not-evaluable" => {
                    assert!(
                        g.needs.as_deref().is_some_and(|n| !n.is_empty()),
                        "{}: not evaluable without the need that would supply the data",
                        g.path
                    );
                    assert_eq!(g.findings, 0, "{}", g.path);
                }
                _ => assert!(
                    g.reason.is_some(),
                    "{}: not applicable without a reason",
                    g.path
                ),
            }
            // The test that writes it still exists (a renamed test leaves its old goldens).
            let (binary, name) = g.test.split_once("::").expect("binary::test");
            let source = std::fs::read_to_string(root.join(format!("tests/{binary}.rs")))
                .unwrap_or_else(|e| panic!("{}: tests/{binary}.rs: {e}", g.path));
            assert!(
                source.contains(&format!("fn {name}(")),
                "{}: written by {}, which tests/{binary}.rs no longer has",
                g.path,
                g.test
            );
        }
        let has = |kind: &str| goldens.iter().any(|g| case_kind(&g.case) == Some(kind));
        let exempt = NEVER_NOT_EVALUABLE.iter().find(|(c, _)| *c == code);
        let mut wanted = vec!["fail", "pass"];
        match exempt {
            None => wanted.push("not-evaluable"),
            Some((_, instead)) => {
                assert!(
                    !has("not-evaluable"),
                    "{code} is not evaluable in a golden: take it off NEVER_NOT_EVALUABLE"
                );
                if !instead.is_empty() {
                    wanted.push(instead);
                }
            }
        }
        for kind in wanted {
            if !has(kind) {
                missing.push(format!("{code} {kind}"));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "rules without a pinned case of that kind (golden/rules/<CODE>/<kind>*.txt, written by \
         `pin` in a tests/rules_*.rs test): {missing:?}"
    );
}
