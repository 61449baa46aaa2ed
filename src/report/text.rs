//! The text report: reference and collection times on top, inputs and nodes, findings grouped by
//! severity (worst first, one line each with an indented evidence pointer and remediation), what
//! was not judged and why, and a last summary line a script can read.

use std::fmt::Write as _;

use super::{by_severity, by_status};
use crate::analyze::Analysis;
use crate::checks::Severity;
use crate::snapshot::{CoverageStatus, InputKind};
use crate::timefmt::rfc3339;

pub(super) fn kind_word(k: InputKind) -> &'static str {
    match k {
        InputKind::HarvesterSupportBundle => "support bundle",
        InputKind::NodeSnapshot => "node snapshot",
        InputKind::Directory => "directory",
        InputKind::Unreadable => "UNREADABLE",
    }
}

/// `-o csv`: one row per finding, in the report's order: severity, rule, title, node, target,
/// message, evidence (each place as the text report shows it, joined by ` | `), remediation.
pub fn csv(a: &Analysis) -> String {
    const HEADER: [&str; 8] = [
        "severity",
        "rule",
        "title",
        "node",
        "target",
        "message",
        "evidence",
        "remediation",
    ];
    let rows: Vec<Vec<String>> = a
        .findings
        .iter()
        .map(|f| {
            vec![
                f.severity.as_str().to_string(),
                f.rule.clone(),
                f.title.clone(),
                f.node.clone().unwrap_or_default(),
                f.target.clone().unwrap_or_default(),
                f.message.clone(),
                f.evidence
                    .iter()
                    .map(|o| o.display())
                    .collect::<Vec<_>>()
                    .join(" | "),
                f.remediation.clone(),
            ]
        })
        .collect();
    super::tabular::csv(&HEADER, &rows)
}

/// Render the text report: one section after the other.
pub fn render(a: &Analysis) -> String {
    [
        header(a),
        inputs(a),
        nodes(a),
        findings(a),
        not_evaluated(a),
        summary(a),
    ]
    .concat()
}

/// The demo line, the cluster line, the reference and collection times, and a refusal.
fn header(a: &Analysis) -> String {
    let mut o = String::new();
    let snap = &a.snapshot;
    if a.demo {
        let _ = writeln!(
            o,
            "demo: no INPUT given, analyzing the shipped demo (bundles/demo) at its collection time"
        );
    }
    let _ = writeln!(o, "{}", cluster_line(a));
    let collected: Vec<String> = snap
        .inputs
        .iter()
        .map(|i| match i.collected_at {
            Some(t) => format!("{} ({})", rfc3339(t), i.name),
            None => format!("unknown ({})", i.name),
        })
        .collect();
    let _ = writeln!(
        o,
        "reference time {} ({}) · collected {}",
        rfc3339(a.reference_time),
        a.reference_label,
        collected.join(", ")
    );
    if let Some(latest) = snap.latest_collection() {
        let gap = a.reference_time - latest;
        if gap.whole_days() > 30 {
            let _ = writeln!(
                o,
                "note: the reference time is {} days after the latest collection: the cluster may have changed since",
                gap.whole_days()
            );
        }
    }
    if let Some(r) = &snap.refused {
        let _ = writeln!(o, "\nREFUSED: {r}");
    }
    o
}

/// `harrow <version> · N inputs · cluster of N nodes (…) · rke2 … (renew window …) · harvester …`
pub(super) fn cluster_line(a: &Analysis) -> String {
    let snap = &a.snapshot;
    let servers = snap.servers().len();
    let agents = snap.agents().len();
    let mut head = format!(
        "harrow {} · {} input{} · cluster of {} node{} ({} server{}, {} agent{})",
        env!("CARGO_PKG_VERSION"),
        snap.inputs.len(),
        plural(snap.inputs.len()),
        snap.nodes.len(),
        plural(snap.nodes.len()),
        servers,
        plural(servers),
        agents,
        plural(agents),
    );
    match (&snap.cluster.rke2_version, &snap.cluster.kubernetes_version) {
        (Some(v), _) => {
            let _ = write!(head, " · rke2 {v}");
        }
        (None, Some(k)) => {
            let _ = write!(head, " · kubernetes {k}");
        }
        _ => head.push_str(" · version unknown"),
    }
    let _ = write!(head, " (renew window {} d)", a.renew_window_days);
    if let Some(h) = &snap.cluster.harvester_version {
        let _ = write!(head, " · harvester {h}");
    }
    head
}

/// INPUTS: one line per input.
fn inputs(a: &Analysis) -> String {
    let snap = &a.snapshot;
    let mut o = String::from("\nINPUTS\n");
    for (idx, i) in snap.inputs.iter().enumerate() {
        let sha = i.sha256.get(..12).unwrap_or(&i.sha256);
        let _ = write!(o, "  {}  {}  sha256 {}", i.name, kind_word(i.kind), sha);
        if let Some(n) = snap.input_info.get(idx).and_then(|x| x.node.as_ref()) {
            let _ = write!(o, "  node {n}");
        }
        if let Some(t) = snap.trees.get(idx) {
            let _ = write!(
                o,
                "  ({} entries, {} loaded, {} KiB, {} logs scanned)",
                t.seen.len(),
                t.files.len(),
                t.loaded_bytes / 1024,
                t.logs.len()
            );
        }
        if let Some(e) = &i.error {
            let _ = write!(o, "  error: {e}");
        }
        o.push('\n');
    }
    o
}

/// NODES: roles, addresses and sources of each node; nothing when there is no node.
fn nodes(a: &Analysis) -> String {
    let snap = &a.snapshot;
    let mut o = String::new();
    if snap.nodes.is_empty() {
        return o;
    }
    let _ = writeln!(o, "\nNODES");
    let width = snap.nodes.keys().map(|k| k.len()).max().unwrap_or(0);
    for n in snap.nodes.values() {
        let roles: Vec<&str> = n.roles.iter().map(|r| r.as_str()).collect();
        let addrs: Vec<&str> = n.addresses.iter().map(|s| s.as_str()).collect();
        let _ = writeln!(
            o,
            "  {:width$}  {:40}  {}",
            n.name,
            roles.join(","),
            if addrs.is_empty() {
                "-".to_string()
            } else {
                addrs.join(" ")
            },
        );
        let _ = writeln!(
            o,
            "  {:width$}  sources: {}",
            "",
            n.sources.iter().cloned().collect::<Vec<_>>().join(", ")
        );
    }
    o
}

/// One section per severity with findings, worst first.
fn findings(a: &Analysis) -> String {
    let mut o = String::new();
    for sev in Severity::ALL {
        let fs: Vec<_> = a.findings.iter().filter(|f| f.severity == sev).collect();
        if fs.is_empty() {
            continue;
        }
        let _ = writeln!(o, "\n{}", sev.as_str().to_uppercase());
        for f in fs {
            let _ = writeln!(
                o,
                "  {:9} {:3}  {}: {}",
                f.rule,
                f.node.as_deref().unwrap_or("-"),
                f.title,
                f.message
            );
            for e in &f.evidence {
                let _ = writeln!(o, "            {}", e.display());
            }
            if !f.remediation.is_empty() {
                let _ = writeln!(o, "            → {}", f.remediation);
            }
        }
    }
    o
}

/// NOT EVALUATED: rules not evaluable or not applicable, one line per thing missing rather than
/// per rule. Rules not evaluable for want of the same input share a line: their codes (see
/// [`code_list`]), the reason and `→` what would supply the data. When their reasons differ
/// (each rule says what it looked for), the line names the codes and the input, and one indented
/// line per reason follows. Rules not applicable for the same reason share a line too.
fn not_evaluated(a: &Analysis) -> String {
    let mut o = String::new();
    let rows: Vec<_> = a
        .coverage
        .iter()
        .filter(|c| {
            matches!(
                c.status,
                CoverageStatus::NotEvaluable | CoverageStatus::NotApplicable
            )
        })
        .collect();
    if rows.is_empty() {
        return o;
    }
    let groups = not_evaluated_groups(&rows);
    let _ = writeln!(
        o,
        "\nNOT EVALUATED ({} rule{})",
        rows.len(),
        plural(rows.len())
    );
    let heads: Vec<String> = groups
        .iter()
        .map(|g| code_list(g.codes.iter().copied()))
        .collect();
    for (g, head) in groups.iter().zip(&heads) {
        let _ = write!(o, "  {head:width$}", width = aligned(&heads));
        if let [(reason, _)] = g.reasons.as_slice() {
            let _ = write!(o, "  {reason}");
        }
        if let Some(n) = g.needs {
            let _ = write!(o, "  → {n}");
        }
        o.push('\n');
        if g.reasons.len() > 1 {
            let lists: Vec<String> = g
                .reasons
                .iter()
                .map(|(_, codes)| code_list(codes.iter().copied()))
                .collect();
            for ((reason, _), list) in g.reasons.iter().zip(&lists) {
                let _ = writeln!(o, "      {list:width$}  {reason}", width = aligned(&lists));
            }
        }
    }
    o
}

/// Rules of the NOT EVALUATED section that share a line.
struct NotEvaluatedGroup<'a> {
    /// What would supply the data (none for rules not applicable).
    needs: Option<&'a str>,
    /// Every rule of the group, in coverage order.
    codes: Vec<&'a str>,
    /// Each distinct reason with its rules.
    reasons: Vec<(String, Vec<&'a str>)>,
}

/// Group the rows by status and hint (by status and reason when there is no hint), in the order
/// of their first rule, reasons within a group likewise.
fn not_evaluated_groups<'a>(rows: &[&'a crate::vocab::Coverage]) -> Vec<NotEvaluatedGroup<'a>> {
    let mut keys: Vec<(CoverageStatus, Option<&str>, Option<&str>)> = Vec::new();
    let mut groups: Vec<NotEvaluatedGroup<'a>> = Vec::new();
    for c in rows {
        let needs = c.needs.as_deref();
        let key = (
            c.status,
            needs,
            needs.is_none().then_some(c.reason.as_str()),
        );
        let at = match keys.iter().position(|k| *k == key) {
            Some(at) => at,
            None => {
                keys.push(key);
                groups.push(NotEvaluatedGroup {
                    needs,
                    codes: Vec::new(),
                    reasons: Vec::new(),
                });
                groups.len() - 1
            }
        };
        let Some(g) = groups.get_mut(at) else {
            continue;
        };
        let reason = match c.status {
            CoverageStatus::NotApplicable => format!("not applicable: {}", c.reason),
            _ => c.reason.clone(),
        };
        g.codes.push(&c.rule);
        match g.reasons.iter_mut().find(|(r, _)| *r == reason) {
            Some((_, codes)) => codes.push(&c.rule),
            None => g.reasons.push((reason, vec![&c.rule])),
        }
    }
    groups
}

/// The column width that aligns what follows these lists of codes, leaving out a list so long
/// that it would push every other line aside.
fn aligned(lists: &[String]) -> usize {
    lists
        .iter()
        .map(|l| l.chars().count())
        .filter(|&n| n <= 40)
        .max()
        .unwrap_or(0)
}

/// Rule codes as one list: a run of three or more consecutive codes of one family becomes a
/// range (`CERT001–CERT004`, only when every code between is in the list), the rest are
/// separated by commas (`CERT001–CERT004, CERT006, CERT008`). Codes keep their given order.
fn code_list<'a>(codes: impl IntoIterator<Item = &'a str>) -> String {
    fn split(code: &str) -> Option<(&str, u32)> {
        let at = code.find(|c: char| c.is_ascii_digit())?;
        let (family, number) = code.split_at(at);
        Some((family, number.parse().ok()?))
    }
    let mut runs: Vec<Vec<&str>> = Vec::new();
    for code in codes {
        let extends = runs.last().and_then(|run| run.last()).is_some_and(|last| {
            matches!((split(last), split(code)), (Some((f, n)), Some((g, m))) if f == g && m == n + 1)
        });
        match runs.last_mut() {
            Some(run) if extends => run.push(code),
            _ => runs.push(vec![code]),
        }
    }
    let parts: Vec<String> = runs
        .iter()
        .flat_map(|run| match run.as_slice() {
            [first, .., last] if run.len() >= 3 => vec![format!("{first}–{last}")],
            _ => run.iter().map(|c| c.to_string()).collect(),
        })
        .collect();
    parts.join(", ")
}

/// The last line: findings by severity and rules by coverage status.
fn summary(a: &Analysis) -> String {
    let sev = by_severity(a);
    let st = by_status(a);
    let get = |s: CoverageStatus| st.get(&s).copied().unwrap_or(0);
    format!(
        "\n{} critical, {} high, {} medium, {} low, {} info · {} rules: {} pass, {} fail, {} not evaluated, {} not applicable\n",
        sev[&Severity::Critical],
        sev[&Severity::High],
        sev[&Severity::Medium],
        sev[&Severity::Low],
        sev[&Severity::Info],
        a.coverage.len(),
        get(CoverageStatus::Pass),
        get(CoverageStatus::Fail),
        get(CoverageStatus::NotEvaluable),
        get(CoverageStatus::NotApplicable),
    )
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

#[cfg(test)]
mod tests {
    use super::code_list;

    #[test]
    fn code_lists_collapse_runs_of_three_or_more_of_one_family() {
        let list = |c: &[&str]| code_list(c.iter().copied());
        assert_eq!(
            list(&[
                "CERT001", "CERT002", "CERT003", "CERT004", "CERT006", "CERT007", "CERT010",
                "CERT011", "CERT012", "SAKEY001", "SAKEY002", "SAKEY003", "TOKEN001"
            ]),
            "CERT001–CERT004, CERT006, CERT007, CERT010–CERT012, SAKEY001–SAKEY003, TOKEN001"
        );
        // A gap (an unbuilt CERT009) breaks the run; another family never continues it.
        assert_eq!(
            list(&["CERT007", "CERT008", "CERT010", "FW001"]),
            "CERT007, CERT008, CERT010, FW001"
        );
        assert_eq!(list(&["FW009", "FW010", "FW011"]), "FW009–FW011");
        assert_eq!(list(&["odd", "INPUT001"]), "odd, INPUT001");
        assert_eq!(list(&[]), "");
    }
}
