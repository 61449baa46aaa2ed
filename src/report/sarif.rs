//! `analyze -o sarif`: the findings as a SARIF 2.1.0 log, for code-scanning viewers. One run; the
//! driver lists every rule of the registry (id, title, full page as help, default level); each
//! finding is a result at its evidence: the input file as the artifact, the path inside it as a
//! logical location, the line as the region where the pointer is a line. Coverage goes into the
//! run's property bag.

use serde_json::{Value, json};

use crate::analyze::Analysis;
use crate::checks::{Origin, RULES, Severity};

/// SARIF's level for a severity: critical and high are errors, medium warnings, low and info notes.
pub fn level(s: Severity) -> &'static str {
    match s {
        Severity::Critical | Severity::High => "error",
        Severity::Medium => "warning",
        Severity::Low | Severity::Info => "note",
    }
}

/// The `security-severity` score code-scanning viewers sort by (CVSS-like, 0.0–10.0).
fn security_severity(s: Severity) -> &'static str {
    match s {
        Severity::Critical => "9.5",
        Severity::High => "7.5",
        Severity::Medium => "5.0",
        Severity::Low => "3.0",
        Severity::Info => "0.0",
    }
}

/// A URI reference for a file name as given (percent-encoding what a URI may not hold).
fn uri(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/!:@".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn location(o: &Origin) -> Value {
    let mut physical = json!({ "artifactLocation": { "uri": uri(&o.input) } });
    if let Some(line) = o
        .pointer
        .as_deref()
        .map(|p| p.trim_start_matches("line "))
        .and_then(|p| p.parse::<u64>().ok())
        .filter(|l| *l > 0)
    {
        physical["region"] = json!({ "startLine": line });
    }
    let mut loc = json!({ "physicalLocation": physical });
    if !o.path.is_empty() {
        let mut name = o.path.clone();
        if let Some(p) = &o.pointer {
            name.push(':');
            name.push_str(p);
        }
        loc["logicalLocations"] = json!([{ "fullyQualifiedName": name, "kind": "member" }]);
    }
    loc
}

/// The SARIF log of an analysis, pretty-printed, newline-terminated.
pub fn render(a: &Analysis) -> String {
    let rules: Vec<Value> = RULES
        .iter()
        .map(|r| {
            json!({
                "id": r.code,
                "name": r.code,
                "shortDescription": { "text": r.title },
                "fullDescription": { "text": format!("{} ({}; source: {})", r.title, r.severity.as_str(), r.source) },
                "help": { "text": r.title, "markdown": super::rules::doc_page(r) },
                "defaultConfiguration": { "level": level(r.severity) },
                "properties": {
                    "security-severity": security_severity(r.severity),
                    "tags": ["security", "pki", r.code.trim_end_matches(char::is_numeric).to_ascii_lowercase()],
                },
            })
        })
        .collect();
    let results: Vec<Value> = a
        .findings
        .iter()
        .map(|f| {
            let mut text = f.title.clone();
            if let Some(n) = &f.node {
                text.push_str(&format!(" on {n}"));
            }
            text.push_str(&format!(": {}", f.message));
            if !f.remediation.is_empty() {
                text.push_str(&format!(" Remediation: {}", f.remediation));
            }
            let mut r = json!({
                "ruleId": f.rule,
                "level": level(f.severity),
                "message": { "text": text },
                "locations": f.evidence.iter().map(location).collect::<Vec<_>>(),
                "properties": { "severity": f.severity.as_str() },
            });
            if let Some(i) = RULES.iter().position(|x| x.code == f.rule) {
                r["ruleIndex"] = json!(i);
            }
            if let Some(t) = &f.target {
                r["properties"]["target"] = json!(t);
            }
            if let Some(n) = &f.node {
                r["properties"]["node"] = json!(n);
            }
            r
        })
        .collect();
    let coverage: Vec<Value> = a
        .coverage
        .iter()
        .map(|c| json!({ "rule": c.rule, "status": c.status.as_str(), "reason": c.reason }))
        .collect();
    let doc = json!({
        "$schema": "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": { "driver": {
                "name": "harrow",
                "version": env!("CARGO_PKG_VERSION"),
                "rules": rules,
            }},
            "results": results,
            "invocations": [{
                "executionSuccessful": true,
                "properties": { "referenceTime": crate::timefmt::rfc3339(a.reference_time) },
            }],
            "properties": { "coverage": coverage },
        }],
    });
    super::pretty_line(&doc)
}
