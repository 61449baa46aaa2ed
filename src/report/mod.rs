//! Every output format harrow produces is rendered here, and only here; the stages below
//! (`snapshot`, `graph`, `checks`) hold data and queries, never formats. One file per output:
//!
//! | module | renders |
//! |---|---|
//! | `text` | `harrow analyze` (for people) |
//! | `json` | `harrow analyze -o json` (schema `docs/analyze.schema.json`), streamed |
//! | `certs` | `harrow certs`: table, csv, and the `certificates` array (streamed, also embedded in the analyze JSON) |
//! | `graph` | `harrow graph`: JSON (streamed, schema `docs/graph.schema.json`, with the consistency and tokens sections), dot, mermaid, and the `--blast-radius` listing (text, JSON) |
//! | `diff` | `harrow diff`: text, JSON (the comparison of two sides, [`crate::diff::Diff`]) |
//! | `timeline` | `harrow timeline`: text, JSON |
//! | `sarif` | `harrow analyze -o sarif`: SARIF 2.1.0, rules from the registry |
//! | `html` | `harrow analyze -o html`: one self-contained page (summary, findings, certificate timeline and trust graph as inline SVG laid out in-process, node sections, search) |
//! | `rules` | `harrow rules` (table, JSON, CSV), `harrow explain` and `docs/rules/*.md`: the pages generated from the definitions |
//! | `tabular` | what every command shares: CSV rows (RFC 4180) and `-o yaml`, transcoded from the command's JSON |
//!
//! All are deterministic: same inputs and reference time, same bytes.

pub mod certs;
pub mod diff;
pub mod graph;
pub mod html;
pub mod json;
pub mod rotation;
pub mod rules;
pub mod sarif;
pub mod tabular;
pub mod text;
pub mod timeline;

use std::collections::BTreeMap;

use crate::analyze::Analysis;
use crate::checks::Severity;
use crate::snapshot::CoverageStatus;

/// Findings per severity (every severity present, zero included).
pub fn by_severity(a: &Analysis) -> BTreeMap<Severity, usize> {
    let mut m: BTreeMap<Severity, usize> = Severity::ALL.iter().map(|s| (*s, 0)).collect();
    for f in &a.findings {
        *m.entry(f.severity).or_default() += 1;
    }
    m
}

/// Rules per coverage status.
pub fn by_status(a: &Analysis) -> BTreeMap<CoverageStatus, usize> {
    let mut m = BTreeMap::new();
    for c in &a.coverage {
        *m.entry(c.status).or_default() += 1;
    }
    m
}

/// A value as pretty-printed JSON with a final newline (the whole-document outputs that are small
/// enough to build as one string).
fn pretty_line(v: &impl serde::Serialize) -> String {
    serde_json::to_string_pretty(v).unwrap_or_default() + "\n"
}
