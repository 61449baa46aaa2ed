//! `harrow rules` and `harrow explain`: the catalog comes from the registry (a golden pins the
//! list), every code is unique and has its page, `explain` prints the same page as
//! `docs/rules/<CODE>.md`, and an unknown code is a usage error that names the codes of its family.

// clippy.toml lets #[test] functions unwrap, panic and print; this lets their helpers too.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stderr
)]

mod support;

use std::collections::BTreeSet;

use harrow::checks::RULES;
use support::{Test, root};

#[test]
fn rules_table_lists_the_registry_golden() {
    let run = Test::new().arg("rules").run().code(0).golden("rules.txt");
    for r in RULES {
        assert!(run.stdout.contains(r.code), "{}", r.code);
    }
    assert!(run.stdout.contains(&format!("{} rules;", RULES.len())));
}

#[test]
fn rules_json_has_one_entry_per_unique_code_each_with_its_page() {
    let doc = Test::new()
        .args(["rules", "-o", "json"])
        .run()
        .code(0)
        .golden("rules.json")
        .json();
    let list = doc.as_array().expect("array");
    assert_eq!(list.len(), RULES.len());
    let codes: BTreeSet<&str> = list.iter().filter_map(|r| r["code"].as_str()).collect();
    assert_eq!(codes.len(), list.len(), "codes are unique");
    for r in list {
        let code = r["code"].as_str().unwrap();
        assert!(
            root().join(format!("docs/rules/{code}.md")).is_file(),
            "{code} has no page"
        );
        assert!(r["needs"].as_array().is_some_and(|n| !n.is_empty()), "{r}");
        assert!(
            ["critical", "high", "medium", "low", "info"]
                .contains(&r["severity"].as_str().unwrap())
        );
    }
}

#[test]
fn explain_prints_the_rule_page_in_any_case() {
    let page = std::fs::read_to_string(root().join("docs/rules/CERT002.md")).unwrap();
    let run = Test::new().args(["explain", "cert002"]).run().code(0);
    assert_eq!(run.stdout, page);
}

#[test]
fn explain_of_an_unknown_code_is_a_usage_error_naming_its_family() {
    Test::new()
        .args(["explain", "CERT999"])
        .run()
        .code(2)
        .stderr_has("harrow explain: no rule \"CERT999\"; CERT rules: CERT001,");
    Test::new()
        .args(["explain", "NOPE1"])
        .run()
        .code(2)
        .stderr_has("`harrow rules` lists every code");
}
