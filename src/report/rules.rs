//! The rule catalog as people and programs read it, generated from the definitions in the
//! registry: the page of one rule (`docs/rules/<CODE>.md`, `harrow explain`), and the catalog
//! (`harrow rules`, as a table or JSON).

use serde_json::json;

use crate::checks::rule::Rule;

/// The catalog as a table: code, severity, the data it needs, title.
pub fn table(rules: &[&Rule]) -> String {
    let mut rows: Vec<[String; 4]> = vec![[
        "CODE".into(),
        "SEVERITY".into(),
        "NEEDS".into(),
        "TITLE".into(),
    ]];
    for r in rules {
        rows.push([
            r.code.into(),
            r.severity.as_str().into(),
            r.needs
                .iter()
                .map(|n| n.as_str())
                .collect::<Vec<_>>()
                .join(","),
            r.title.into(),
        ]);
    }
    let width = |i: usize| rows.iter().map(|r| r[i].chars().count()).max().unwrap_or(0);
    let (w0, w1, w2) = (width(0), width(1), width(2));
    let mut out = String::new();
    for r in &rows {
        out.push_str(&format!(
            "{:w0$}  {:w1$}  {:w2$}  {}\n",
            r[0], r[1], r[2], r[3]
        ));
    }
    out.push_str(&format!(
        "{} rules; `harrow explain CODE` shows one rule's page\n",
        rules.len()
    ));
    out
}

/// The catalog as CSV: `code,severity,title,source,needs` (needs joined by spaces).
pub fn csv(rules: &[&Rule]) -> String {
    let rows: Vec<Vec<String>> = rules
        .iter()
        .map(|r| {
            vec![
                r.code.to_string(),
                r.severity.as_str().to_string(),
                r.title.to_string(),
                r.source.to_string(),
                r.needs
                    .iter()
                    .map(|n| n.as_str())
                    .collect::<Vec<_>>()
                    .join(" "),
            ]
        })
        .collect();
    super::tabular::csv(&["code", "severity", "title", "source", "needs"], &rows)
}

/// The catalog as JSON: `[{code, severity, title, source, needs}]`, in code order.
pub fn json(rules: &[&Rule]) -> String {
    let v: Vec<serde_json::Value> = rules
        .iter()
        .map(|r| {
            json!({
                "code": r.code,
                "severity": r.severity.as_str(),
                "title": r.title,
                "source": r.source,
                "needs": r.needs.iter().map(|n| n.as_str()).collect::<Vec<_>>(),
            })
        })
        .collect();
    super::pretty_line(&v)
}

/// The Markdown page of `rule`: a heading with code, title and severity, the rule's own
/// documentation, and the data it needs.
pub fn doc_page(rule: &Rule) -> String {
    let mut page = format!(
        "# {} — {} ({})\n\n{}",
        rule.code,
        rule.title,
        rule.severity.as_str(),
        rule.doc.trim_end()
    );
    page.push_str("\n\n**Data it needs.** ");
    let needs: Vec<String> = rule
        .needs
        .iter()
        .map(|n| format!("`{}`: {}", n.as_str(), n.hint()))
        .collect();
    page.push_str(&needs.join("; "));
    page.push_str(".\n");
    page
}
