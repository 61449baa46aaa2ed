//! `-o json`: the analyze JSON document, `schema_version` 1, valid against
//! `docs/analyze.schema.json` (which extends the shared contract and renames nothing). Keys are
//! sorted (serde_json's default map is ordered) and every list is sorted before output.

use serde_json::{Value, json};

use super::{by_severity, by_status};
use crate::analyze::Analysis;
use crate::snapshot::InputKind;
use crate::timefmt::rfc3339;

fn kind_str(k: InputKind) -> &'static str {
    match k {
        InputKind::HarvesterSupportBundle => "harvester-support-bundle",
        InputKind::NodeSnapshot => "node-snapshot",
        InputKind::Directory => "directory",
        InputKind::Unreadable => "unreadable",
    }
}

/// The analyze document without its `certificates` array (which [`write`](fn@write) streams into place).
fn head(a: &Analysis) -> Value {
    let snap = &a.snapshot;
    let inputs: Vec<Value> = snap
        .inputs
        .iter()
        .enumerate()
        .map(|(idx, i)| {
            let mut v = json!({
                "path": i.path,
                "name": i.name,
                "kind": kind_str(i.kind),
                "sha256": i.sha256,
                "collected_at": i.collected_at.map(rfc3339),
            });
            if let Some(t) = snap.trees.get(idx) {
                v["loaded"] = json!({
                    "entries_seen": t.seen.len(),
                    "files": t.files.len(),
                    "bytes": t.loaded_bytes,
                    "logs_scanned": t.logs.len(),
                    "links": t.links.len(),
                    "issues": t.issues.len(),
                });
            }
            if let Some(info) = snap.input_info.get(idx) {
                if let Some(n) = &info.node {
                    v["node"] = json!(n);
                }
                if let Some(s) = &info.node_name_source {
                    v["node_name_source"] = json!(s);
                }
            }
            if let Some(e) = &i.error {
                v["error"] = json!(e);
            }
            v
        })
        .collect();
    let nodes: Vec<Value> = snap
        .nodes
        .values()
        .map(|n| {
            json!({
                "name": n.name,
                "roles": n.roles.iter().map(|r| r.as_str()).collect::<Vec<_>>(),
                "addresses": n.addresses,
                "sources": n.sources,
            })
        })
        .collect();
    let findings: Vec<Value> = a
        .findings
        .iter()
        .map(|f| {
            json!({
                "rule": f.rule,
                "severity": f.severity.as_str(),
                "title": f.title,
                "message": f.message,
                "node": f.node,
                "target": f.target,
                "evidence": f.evidence.iter().map(|e| json!({
                    "source": e.input, "path": e.path, "pointer": e.pointer,
                })).collect::<Vec<_>>(),
                "remediation": f.remediation,
            })
        })
        .collect();
    let coverage: Vec<Value> = a
        .coverage
        .iter()
        .map(|c| {
            let mut v = json!({
                "rule": c.rule,
                "status": c.status.as_str(),
                "reason": c.reason,
            });
            if let Some(n) = &c.needs {
                v["needs"] = json!(n);
            }
            v
        })
        .collect();
    let sev: serde_json::Map<String, Value> = by_severity(a)
        .into_iter()
        .map(|(s, n)| (s.as_str().to_string(), json!(n)))
        .collect();
    let rules: serde_json::Map<String, Value> = by_status(a)
        .into_iter()
        .map(|(s, n)| (s.as_str().to_string(), json!(n)))
        .collect();
    let mut doc = json!({
        "schema_version": 1,
        "tool": {"name": "harrow", "version": env!("CARGO_PKG_VERSION")},
        "reference_time": rfc3339(a.reference_time),
        "reference_time_source": a.reference_label,
        "demo": a.demo,
        "inputs": inputs,
        "cluster": {
            "kubernetes_version": snap.cluster.kubernetes_version,
            "rke2_version": snap.cluster.rke2_version,
            "harvester_version": snap.cluster.harvester_version,
            "renew_window_days": a.renew_window_days,
            "renew_window_source": a.renew_window_source,
        },
        "nodes": nodes,
        "findings": findings,
        "coverage": coverage,
        "summary": {"by_severity": sev, "rules": rules},
    });
    if let Some(r) = &snap.refused {
        doc["refused"] = json!(r);
    }
    doc
}

/// The document with its certificates written one at a time in their sorted place.
struct Streamed<'a> {
    head: Value,
    certificates: super::certs::CertificatesJson<'a>,
}

impl serde::Serialize for Streamed<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        const KEY: &str = "certificates";
        let empty = serde_json::Map::new();
        let head = self.head.as_object().unwrap_or(&empty);
        let mut m = s.serialize_map(Some(head.len() + 1))?;
        let mut written = false;
        // Keys in the same (alphabetical) order as the JSON tree would give.
        for (k, v) in head {
            if !written && k.as_str() > KEY {
                m.serialize_entry(KEY, &self.certificates)?;
                written = true;
            }
            m.serialize_entry(k, v)?;
        }
        if !written {
            m.serialize_entry(KEY, &self.certificates)?;
        }
        m.end()
    }
}

/// Write the document, pretty-printed and newline-terminated, to `w`, without building the
/// certificates as a JSON tree.
pub fn write(a: &Analysis, w: &mut dyn std::io::Write) -> std::io::Result<()> {
    let doc = Streamed {
        head: head(a),
        certificates: super::certs::CertificatesJson(&a.model.certs, a.judge_at()),
    };
    serde_json::to_writer_pretty(&mut *w, &doc).map_err(std::io::Error::from)?;
    w.write_all(b"\n")
}
