//! `harrow simulate` (text, JSON) and the stderr summary of `harrow plan`: the simulation's
//! assumptions first, then per step what held, broke or healed and why, the ROT findings and the
//! persistent breaks. Long lists are cut with a count, so 5,000 nodes stay readable.

use std::fmt::Write as _;

use crate::rotation::links::{Link, LinkState};
use crate::rotation::sim::{Platform, Report};

/// Links listed per step before "… and N more".
const SHOWN: usize = 8;

fn link_line(l: &Link) -> String {
    let state = match l.state {
        LinkState::Holds => "holds",
        LinkState::Breaks => "breaks",
        LinkState::Unknown => "unknown",
    };
    format!(
        "{} {} -> {} {state}: {}",
        l.kind.as_str(),
        l.from,
        l.to,
        l.why
    )
}

fn list(out: &mut String, indent: &str, lines: &[String]) {
    for l in lines.iter().take(SHOWN) {
        let _ = writeln!(out, "{indent}{l}");
    }
    if lines.len() > SHOWN {
        let _ = writeln!(out, "{indent}… and {} more", lines.len() - SHOWN);
    }
}

/// The simulation for people.
pub fn text(r: &Report) -> String {
    let mut out = String::new();
    let platform = match r.platform {
        Platform::Harvester => "Harvester",
        Platform::Rke2 => "RKE2",
    };
    let _ = writeln!(
        out,
        "Simulation of {} on a {platform} cluster (rke2 {}) at {}",
        r.runbook,
        r.rke2_version.as_deref().unwrap_or("version unknown"),
        r.at
    );
    let _ = writeln!(out, "\nAssumptions");
    for a in &r.assumptions {
        let _ = writeln!(out, "  - {a}");
    }
    if !r.broken_before.is_empty() {
        let _ = writeln!(
            out,
            "\nBroken before step 1 ({}; not the runbook's doing)",
            r.broken_before.len()
        );
        let lines: Vec<String> = r.broken_before.iter().map(link_line).collect();
        list(&mut out, "  ", &lines);
    }
    let _ = writeln!(out, "\nSteps");
    for (i, s) in r.steps.iter().enumerate() {
        let nodes = if s.nodes.is_empty() {
            String::new()
        } else if s.nodes.len() > SHOWN {
            format!(
                " on {} … ({} nodes)",
                s.nodes[..SHOWN].join(", "),
                s.nodes.len()
            )
        } else {
            format!(" on {}", s.nodes.join(", "))
        };
        let _ = writeln!(out, "  {}. {}{nodes}", i + 1, s.id);
        list(&mut out, "       ", &s.events);
        if s.transient > 0 {
            let _ = writeln!(
                out,
                "       transient: {} link(s) broken only while nodes restarted",
                s.transient
            );
        }
        let broke: Vec<String> = s
            .broke
            .iter()
            .map(|l| format!("broke: {}", link_line(l)))
            .collect();
        list(&mut out, "       ", &broke);
        if s.healed > 0 {
            let _ = writeln!(out, "       healed: {} link(s)", s.healed);
        }
        let _ = writeln!(
            out,
            "       links after: {} hold, {} break, {} unknown",
            s.holding, s.broken, s.unknown
        );
    }
    if !r.problems.is_empty() {
        let _ = writeln!(out, "\nNot judged");
        for p in &r.problems {
            let _ = writeln!(out, "  - {p}");
        }
    }
    let _ = writeln!(out, "\nFindings");
    if r.findings.is_empty() {
        let _ = writeln!(out, "  none");
    }
    for f in &r.findings {
        let nodes = match f.nodes.len() {
            0 => String::new(),
            n if n > SHOWN => format!(" [{} … {n} nodes]", f.nodes[..SHOWN].join(", ")),
            _ => format!(" [{}]", f.nodes.join(", ")),
        };
        let _ = writeln!(
            out,
            "  {} {} at step {}{nodes}: {}\n      {}",
            f.severity.as_str().to_uppercase(),
            f.code,
            f.step,
            f.title,
            f.message
        );
    }
    let _ = writeln!(out, "\nPersistent breaks");
    if r.persistent.is_empty() {
        let _ = writeln!(out, "  none");
    }
    let persistent: Vec<String> = r.persistent.iter().map(link_line).collect();
    list(&mut out, "  ", &persistent);
    let verdict = if r.passes() {
        "PASS: every link that held before the runbook holds after it, no hazard found".to_string()
    } else {
        format!(
            "FAIL: {} finding(s), {} persistent break(s), {} part(s) not judged",
            r.findings.len(),
            r.persistent.len(),
            r.problems.len()
        )
    };
    let _ = writeln!(out, "\n{verdict}");
    out
}

/// The simulation as JSON.
pub fn json(r: &Report) -> String {
    let mut s =
        serde_json::to_string_pretty(r).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"));
    s.push('\n');
    s
}
