//! Timeline renderers: `harrow timeline` as text (one line per event, the collection and
//! reference times marked) or JSON (`[{at, kind, what, fingerprints, nodes}]`). The events are
//! built by `graph::timeline`.

use serde_json::json;

use crate::graph::timeline::{Event, EventKind};
use crate::timefmt::rfc3339;

/// `-o text`: `<time> <marker> <kind> <what>  [nodes]`, one event a line.
pub fn text(events: &[Event]) -> String {
    let mut s = String::new();
    for e in events {
        let marker = match e.kind {
            EventKind::Collected | EventKind::Reference => "──",
            _ => "  ",
        };
        let nodes = if e.nodes.is_empty() {
            String::new()
        } else {
            format!("  [{}]", e.nodes.join(","))
        };
        s.push_str(&format!(
            "{} {} {:16} {}{}\n",
            rfc3339(e.at),
            marker,
            e.kind.as_str(),
            e.what,
            nodes
        ));
    }
    s
}

/// `-o csv`: `at,kind,what,fingerprints,nodes`, one event a row (lists joined by spaces).
pub fn csv(events: &[Event]) -> String {
    let rows: Vec<Vec<String>> = events
        .iter()
        .map(|e| {
            vec![
                rfc3339(e.at),
                e.kind.as_str().to_string(),
                e.what.clone(),
                e.fingerprints.join(" "),
                e.nodes.join(" "),
            ]
        })
        .collect();
    super::tabular::csv(&["at", "kind", "what", "fingerprints", "nodes"], &rows)
}

/// `-o json`: the events as an array, pretty-printed and newline-terminated.
pub fn json(events: &[Event]) -> String {
    let v: Vec<_> = events
        .iter()
        .map(|e| {
            json!({
                "at": rfc3339(e.at), "kind": e.kind.as_str(), "what": e.what,
                "fingerprints": e.fingerprints, "nodes": e.nodes,
            })
        })
        .collect();
    super::pretty_line(&v)
}
