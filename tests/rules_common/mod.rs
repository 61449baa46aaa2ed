//! Helpers of the rule tests (`tests/rules_*.rs`): run `harrow analyze -o json` on a fixture
//! variant at a reference time, read one rule's coverage and findings, and pin them (`pin`) in
//! the per-rule golden files of `golden/rules/<CODE>/<case>.txt`.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::support::{Test, inputs_in, root};

/// Collection time of every fault variant.
pub const COLLECTED: &str = "2026-11-20T10:00:00Z";

/// `harrow analyze -o json` of the given inputs at `at` (exit code not judged: `--fail-on none`).
pub fn analyze(inputs: &[String], at: &str) -> Value {
    Test::new()
        .arg("analyze")
        .args(inputs)
        .args(["-o", "json", "--fail-on", "none", "--at", at])
        .run()
        .code(0)
        .json()
}

/// `analyze` of every input of `bundles/fixtures/<variant>`.
pub fn variant(name: &str, at: &str) -> Value {
    analyze(&inputs_in(&format!("bundles/fixtures/{name}")), at)
}

/// The coverage row of `rule` (panics when there is none: every rule has one).
pub fn coverage<'a>(doc: &'a Value, rule: &str) -> &'a Value {
    doc["coverage"]
        .as_array()
        .and_then(|c| c.iter().find(|r| r["rule"] == rule))
        .unwrap_or_else(|| panic!("no coverage row for {rule}: {}", doc["coverage"]))
}

/// The coverage status of `rule`.
pub fn status(doc: &Value, rule: &str) -> String {
    coverage(doc, rule)["status"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

/// The findings of `rule`.
pub fn findings<'a>(doc: &'a Value, rule: &str) -> Vec<&'a Value> {
    doc["findings"]
        .as_array()
        .map(|f| f.iter().filter(|x| x["rule"] == rule).collect())
        .unwrap_or_default()
}

/// `(node, target)` of every finding of `rule`, sorted.
pub fn targets(doc: &Value, rule: &str) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = findings(doc, rule)
        .iter()
        .map(|f| {
            (
                f["node"].as_str().unwrap_or("-").to_string(),
                f["target"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    v.sort();
    v
}

/// The rules that read files from nodes (certificates, keys, tokens, CA copies), from the
/// registry: a support bundle alone leaves each of them not evaluable or not applicable.
pub fn node_rules() -> Vec<&'static str> {
    use harrow::checks::{Need, RULES};
    RULES
        .iter()
        .filter(|r| {
            r.needs
                .iter()
                .any(|n| matches!(n, Need::NodeFiles | Need::TwoServers | Need::OtherServers))
        })
        .map(|r| r.code)
        .collect()
}

/// A node snapshot `.tgz` of the repository (`bundles/demo/n1.tgz`) extracted into
/// `<dir>/<name>`, as a node snapshot directory.
pub fn unpack(tgz: &str, dir: &Path, name: &str) -> PathBuf {
    let f = std::fs::File::open(root().join(tgz)).unwrap_or_else(|e| panic!("{tgz}: {e}"));
    let out = dir.join(name);
    tar::Archive::new(flate2::read::GzDecoder::new(f))
        .unpack(&out)
        .unwrap_or_else(|e| panic!("unpack {tgz}: {e}"));
    out
}

/// The healthy fixture's `s1.tgz` extracted into `<dir>/s1`, as a node snapshot directory.
pub fn healthy_s1(dir: &Path) -> PathBuf {
    unpack("bundles/fixtures/healthy/s1.tgz", dir, "s1")
}

/// `harrow analyze -o json` of these paths at the fixtures' collection time.
pub fn analyze_paths(paths: &[&Path]) -> Value {
    let inputs: Vec<String> = paths
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    analyze(&inputs, COLLECTED)
}

/// The demo's support bundle alone (no node snapshot).
pub fn support_bundle() -> Vec<String> {
    inputs_in("bundles/demo")
        .into_iter()
        .filter(|p| p.ends_with(".zip"))
        .collect()
}

/// The kinds of case a per-rule golden is named after, each the coverage status it records.
pub const CASE_KINDS: [&str; 4] = ["fail", "pass", "not-evaluable", "not-applicable"];

/// The kind of a case name (`fail`, `fail-expired-ca`, `not-evaluable-bundle-only`): the
/// coverage status a golden of that name records, or `None` for a name of no kind.
pub fn case_kind(case: &str) -> Option<&'static str> {
    CASE_KINDS.into_iter().find(|k| {
        case == *k
            || case
                .strip_prefix(k)
                .is_some_and(|rest| rest.starts_with('-') && rest.len() > 1)
    })
}

/// `<CODE>/<case>` pinned so far in this test binary, with the test that pinned it: one
/// (rule, case) is written by exactly one test.
static PINNED: std::sync::Mutex<std::collections::BTreeMap<String, String>> =
    std::sync::Mutex::new(std::collections::BTreeMap::new());

/// The test running on this thread, `<test binary>::<test name>` (libtest names each test's
/// thread after the test).
fn current_test() -> String {
    let name = std::thread::current()
        .name()
        .unwrap_or("unnamed")
        .to_string();
    format!("{}::{name}", env!("CARGO_CRATE_NAME"))
}

/// Compare `rule`'s coverage row and findings in `doc` (an `analyze -o json` document) with
/// `golden/rules/<rule>/<case>.txt`; `HARROW_BLESS=1` writes the file instead.
///
/// `case` is `fail`, `pass`, `not-evaluable` or `not-applicable`, optionally with a suffix
/// (`fail-expired-ca`), and must agree with the status the row shows. The golden names the
/// test that writes it: a second test pinning the same (rule, case) fails.
pub fn pin(doc: &Value, rule: &str, case: &str) {
    pin_as(doc, rule, case, false);
}

/// A rule that passes with no finding, its row pinned as `case` (a `pass` case).
#[track_caller]
pub fn assert_pass_pinned(doc: &Value, rule: &str, case: &str) {
    assert_eq!(status(doc, rule), "pass", "{}", coverage(doc, rule));
    assert!(
        findings(doc, rule).is_empty(),
        "{rule}: no finding expected"
    );
    pin(doc, rule, case);
}

/// `pin` for a fixture made at test time (keys generated by `openssl`, certificates dated
/// now): hex digests, RFC 3339 times and day-hour spans differ between runs there, so the
/// golden shows them as `<hex>`, `<time>` and `<span>` (and says so).
pub fn pin_generated(doc: &Value, rule: &str, case: &str) {
    pin_as(doc, rule, case, true);
}

fn pin_as(doc: &Value, rule: &str, case: &str, generated: bool) {
    let kind = case_kind(case).unwrap_or_else(|| {
        panic!("{rule}: case {case:?} is none of {CASE_KINDS:?} (optionally with a -suffix)")
    });
    let row = coverage(doc, rule);
    let status = row["status"].as_str().unwrap_or("");
    assert_eq!(
        status, kind,
        "{rule}: case {case:?} pins a {kind} row but the row says {status}: {row}"
    );
    let test = current_test();
    {
        let mut pinned = PINNED.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(other) = pinned.insert(format!("{rule}/{case}"), test.clone()) {
            panic!("{rule} {case} is pinned twice in this binary: by {other} and by {test}");
        }
    }
    let mut actual = render(doc, rule, case, &test);
    if generated {
        actual = mask_generated(&actual);
    }
    let rel = format!("golden/rules/{rule}/{case}.txt");
    let path = root().join(&rel);
    let existing = std::fs::read_to_string(&path).ok();
    let owner = |text: &str| {
        text.lines()
            .nth(1)
            .and_then(|l| l.strip_prefix("test: "))
            .map(str::to_string)
    };
    if std::env::var_os("HARROW_BLESS").is_some() {
        if let Some(other) = existing.as_deref().and_then(owner)
            && other != test
        {
            panic!(
                "{rel} is pinned by {other}, not {test}: give this test another case name \
                 (or delete the file if {other} was renamed)"
            );
        }
        if existing.as_deref() != Some(actual.as_str()) {
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir).unwrap_or_else(|e| panic!("{rel}: {e}"));
            }
            std::fs::write(&path, &actual).unwrap_or_else(|e| panic!("{rel}: {e}"));
        }
        return;
    }
    let bless = format!(
        "HARROW_BLESS=1 cargo test --test {}",
        env!("CARGO_CRATE_NAME")
    );
    let Some(want) = existing else {
        panic!("{rel} is missing: `{bless}` writes it\nactual:\n{actual}");
    };
    if want != actual {
        panic!(
            "{rel} differs from the output (- golden, + actual); if the change is deliberate, \
             `{bless}` rewrites it\n{}",
            line_diff(&want, &actual)
        );
    }
}

/// The stable text of `rule`'s coverage row and findings: the header `<CODE> <case>`, the test
/// that writes it, the status (with reason and needs when not evaluable or not applicable) and
/// every finding, sorted, temporary directories shown as `<tmp>`.
fn render(doc: &Value, rule: &str, case: &str, test: &str) -> String {
    let row = coverage(doc, rule);
    let text = |v: &Value| match v {
        Value::String(s) => s.clone(),
        Value::Null => "-".to_string(),
        other => other.to_string(),
    };
    let mut out = format!("{rule} {case}\ntest: {test}\n");
    let status = text(&row["status"]);
    out.push_str(&format!("status: {status}\n"));
    if status != "pass" && status != "fail" {
        for key in ["reason", "needs"] {
            if !row[key].is_null() {
                out.push_str(&format!("{key}: {}\n", text(&row[key])));
            }
        }
    }
    let mut blocks: Vec<String> = findings(doc, rule)
        .iter()
        .map(|f| {
            let mut b = String::new();
            let obj = f.as_object().cloned().unwrap_or_default();
            const FIRST: [&str; 5] = ["severity", "node", "target", "title", "message"];
            b.push_str(&format!("- severity: {}\n", text(&f["severity"])));
            for key in &FIRST[1..] {
                b.push_str(&format!("  {key}: {}\n", text(&f[*key])));
            }
            for e in f["evidence"].as_array().into_iter().flatten() {
                let parts: Vec<String> = e
                    .as_object()
                    .into_iter()
                    .flatten()
                    .map(|(k, v)| format!("{k}={}", text(v)))
                    .collect();
                b.push_str(&format!("  evidence: {}\n", parts.join(" ")));
            }
            b.push_str(&format!("  remediation: {}\n", text(&f["remediation"])));
            for (k, v) in &obj {
                let known = FIRST.contains(&k.as_str())
                    || ["rule", "evidence", "remediation"].contains(&k.as_str());
                if !known {
                    b.push_str(&format!("  {k}: {}\n", text(v)));
                }
            }
            b
        })
        .collect();
    blocks.sort();
    out.push_str(&format!("findings: {}\n", blocks.len()));
    for b in blocks {
        out.push('\n');
        out.push_str(&b);
    }
    normalize_tmp(&out)
}

/// `text` with every temporary directory made by `tempfile` (`<temp dir>/.tmpXXXXXX`) shown as
/// `<tmp>`: the one part of a rule's output that differs between runs of the same fixture.
pub fn normalize_tmp(text: &str) -> String {
    let base = std::env::temp_dir();
    let prefix = format!("{}/.tmp", base.to_string_lossy().trim_end_matches('/'));
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find(&prefix) {
        out.push_str(&rest[..i]);
        let after = &rest[i + prefix.len()..];
        let n = after
            .find(|c: char| !c.is_ascii_alphanumeric())
            .unwrap_or(after.len());
        out.push_str("<tmp>");
        rest = &after[n..];
    }
    out.push_str(rest);
    out
}

/// `text` with what a fixture made at test time changes from run to run masked: hex digests of
/// 16 digits or more (`<hex>`), RFC 3339 times (`<time>`), spans such as `30d 6h` (`<span>`);
/// a line after the test's says so.
fn mask_generated(text: &str) -> String {
    let hex = regex::Regex::new(r"\b[0-9a-f]{16,}\b").unwrap();
    let time =
        regex::Regex::new(r"\b\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})")
            .unwrap();
    let span = regex::Regex::new(r"\b\d+d \d+h\b").unwrap();
    let masked = hex.replace_all(text, "<hex>");
    let masked = time.replace_all(&masked, "<time>");
    let masked = span.replace_all(&masked, "<span>").into_owned();
    let mut lines: Vec<&str> = masked.lines().collect();
    let note = "masked: hex digests, times and spans (material made at test time)";
    lines.insert(2.min(lines.len()), note);
    lines.join("\n") + "\n"
}

/// A line diff of two small texts: lines only in `want` as `-`, only in `got` as `+`, common
/// lines as ` ` (longest common subsequence; at most 3 common lines around each change).
fn line_diff(want: &str, got: &str) -> String {
    let a: Vec<&str> = want.lines().collect();
    let b: Vec<&str> = got.lines().collect();
    let mut lcs = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for i in (0..a.len()).rev() {
        for j in (0..b.len()).rev() {
            lcs[i][j] = if a[i] == b[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let mut ops: Vec<(char, &str)> = Vec::new();
    let (mut i, mut j) = (0, 0);
    while i < a.len() || j < b.len() {
        if i < a.len() && j < b.len() && a[i] == b[j] {
            ops.push((' ', a[i]));
            i += 1;
            j += 1;
        } else if i < a.len() && (j == b.len() || lcs[i + 1][j] >= lcs[i][j + 1]) {
            ops.push(('-', a[i]));
            i += 1;
        } else {
            ops.push(('+', b[j]));
            j += 1;
        }
    }
    let near = |k: usize| {
        let lo = k.saturating_sub(3);
        let hi = (k + 4).min(ops.len());
        ops[lo..hi].iter().any(|(c, _)| *c != ' ')
    };
    let mut out = String::new();
    let mut skipped = false;
    for (k, (c, line)) in ops.iter().enumerate() {
        if *c == ' ' && !near(k) {
            skipped = true;
            continue;
        }
        if skipped {
            out.push_str("  ...\n");
            skipped = false;
        }
        out.push_str(&format!("{c} {line}\n"));
    }
    out
}
