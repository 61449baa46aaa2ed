//! The rule catalog as people read it: the page of one rule (`docs/rules/<CODE>.md`, and later
//! `harrow explain`), generated from its definition in the registry.

use crate::checks::rule::Rule;

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
