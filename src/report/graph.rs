//! Trust-graph renderers: `harrow graph` as JSON (streamed, with the consistency and tokens
//! sections), Graphviz dot and mermaid, and the `--blast-radius` listing (text or JSON). The
//! model and its queries (`blast_radius`, `resolve_id`) are in `graph::trust`.

use std::collections::HashMap;

use petgraph::graph::NodeIndex;
use petgraph::visit::EdgeRef;
use serde_json::{Value, json};

use crate::analyze::Analysis;
use crate::graph::consistency::Consistency;
use crate::graph::trust::{TrustGraph, Vertex};
use crate::model::Model;
use crate::model::tokens::NodeToken;
use crate::pki::secret::{FingerprintKey, Secret, is_placeholder};
use crate::pki::token::TokenRole;

/// Every vertex's id, by vertex index (ids are built once, not per comparison).
fn vertex_ids(g: &TrustGraph) -> Vec<String> {
    g.graph.node_weights().map(Vertex::id).collect()
}

/// An edge by vertex ids: (from, kind, to).
type EdgeIds<'a> = (&'a str, &'static str, &'a str);

/// Sorted (vertices with their ids, edges by ids).
fn sorted<'a>(
    g: &'a TrustGraph,
    ids: &'a [String],
) -> (Vec<(&'a str, &'a Vertex)>, Vec<EdgeIds<'a>>) {
    let mut vs: Vec<(&str, &Vertex)> = ids
        .iter()
        .map(String::as_str)
        .zip(g.graph.node_weights())
        .collect();
    vs.sort_unstable_by(|a, b| a.0.cmp(b.0));
    let mut es: Vec<EdgeIds<'_>> = g
        .graph
        .edge_references()
        .map(|e| {
            (
                ids[e.source().index()].as_str(),
                e.weight().as_str(),
                ids[e.target().index()].as_str(),
            )
        })
        .collect();
    es.sort_unstable();
    (vs, es)
}

/// `harrow graph -o json`: `{"vertices": [{id, kind, label}], "edges": [{from, kind, to}], …}`
/// with the `consistency` and `tokens` sections (see [`consistency_json`], [`tokens_json`];
/// `key` is the `--fingerprint-key`), written pretty-printed to `w` without building a JSON tree
/// of the graph (a 100,000-certificate graph is hundreds of thousands of vertices and edges).
/// Keys are in alphabetical order; the schema is `docs/graph.schema.json`.
pub fn write_json(
    a: &Analysis,
    key: Option<&FingerprintKey>,
    w: &mut dyn std::io::Write,
) -> std::io::Result<()> {
    let g = &a.graph;
    let consistency = &consistency_json(&a.consistency);
    let tokens = &tokens_json(&a.model, key);
    #[derive(serde::Serialize)]
    struct VertexJson<'a> {
        id: &'a str,
        kind: &'static str,
        label: String,
    }
    #[derive(serde::Serialize)]
    struct EdgeJson<'a> {
        from: &'a str,
        kind: &'static str,
        to: &'a str,
    }
    /// The edge list, serialised lazily.
    struct Edges<'a>(&'a [EdgeIds<'a>]);
    impl serde::Serialize for Edges<'_> {
        fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            s.collect_seq(
                self.0
                    .iter()
                    .map(|&(from, kind, to)| EdgeJson { from, kind, to }),
            )
        }
    }
    /// The vertex list, serialised lazily.
    struct Vertices<'a>(&'a [(&'a str, &'a Vertex)]);
    impl serde::Serialize for Vertices<'_> {
        fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            s.collect_seq(self.0.iter().map(|&(id, v)| VertexJson {
                id,
                kind: v.kind(),
                label: v.label(),
            }))
        }
    }
    #[derive(serde::Serialize)]
    struct GraphJson<'a> {
        consistency: &'a Value,
        edges: Edges<'a>,
        key_mismatches: Vec<Value>,
        key_problems: Vec<Value>,
        tokens: &'a Value,
        unpinned_tokens: Vec<Value>,
        vertices: Vertices<'a>,
    }
    let ids = vertex_ids(g);
    let (vs, es) = sorted(g, &ids);
    let doc = GraphJson {
        consistency,
        edges: Edges(&es),
        key_mismatches: g.mismatches.iter().map(|m| json!({
            "node": m.node, "source": m.key.input, "cert": m.cert.path, "key": m.key.path,
        })).collect(),
        key_problems: g.key_problems.iter().map(|k| json!({
            "node": k.node, "source": k.origin.input, "path": k.origin.path, "reason": k.reason,
        })).collect(),
        tokens,
        unpinned_tokens: g.unpinned.iter().map(|u| json!({
            "node": u.node, "source": u.origin.input, "path": u.origin.path, "line": u.line, "pinned_hash": u.pinned_hash,
        })).collect(),
        vertices: Vertices(&vs),
    };
    serde_json::to_writer_pretty(&mut *w, &doc).map_err(std::io::Error::from)?;
    w.write_all(b"\n")
}

fn quote(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}

/// `harrow graph -o dot`: Graphviz.
pub fn dot(g: &TrustGraph) -> String {
    let ids = vertex_ids(g);
    let (vs, es) = sorted(g, &ids);
    let mut o = String::from("digraph trust {\n  rankdir=LR;\n  node [fontname=\"monospace\"];\n");
    for (id, v) in vs {
        let shape = match v {
            Vertex::Cert { is_ca: true, .. } => "box, style=bold",
            Vertex::Cert { .. } => "box",
            Vertex::Key { .. } => "ellipse",
            Vertex::Node { .. } => "house",
            _ => "folder",
        };
        o.push_str(&format!(
            "  \"{}\" [label=\"{}\", shape={}];\n",
            quote(id),
            quote(&v.label()),
            shape
        ));
    }
    for (a, k, b) in es {
        o.push_str(&format!(
            "  \"{}\" -> \"{}\" [label=\"{}\"];\n",
            quote(a),
            quote(b),
            k
        ));
    }
    o.push_str("}\n");
    o
}

/// `harrow graph -o mermaid`: a flowchart (ids replaced by short stable names).
pub fn mermaid(g: &TrustGraph) -> String {
    let ids = vertex_ids(g);
    let (vs, es) = sorted(g, &ids);
    let names: HashMap<&str, String> = vs
        .iter()
        .enumerate()
        .map(|(i, (id, _))| (*id, format!("v{i}")))
        .collect();
    let mut o = String::from("flowchart LR\n");
    for (id, v) in &vs {
        let label = v.label().replace('"', "'");
        o.push_str(&format!("  {}[\"{}\"]\n", names[id], label));
    }
    for (a, k, b) in es {
        o.push_str(&format!("  {} -->|{}| {}\n", names[a], k, names[b]));
    }
    o
}

/// `harrow graph --blast-radius ID`: the starting vertices, then every dependent with its id.
pub fn blast_radius_text(g: &TrustGraph, start: &[NodeIndex], hit: &[NodeIndex]) -> String {
    let mut s = String::new();
    for i in start {
        s.push_str(&format!("{} ({})\n", g.graph[*i].label(), g.graph[*i].id()));
    }
    s.push_str(&format!("{} dependent(s):\n", hit.len()));
    for i in hit {
        s.push_str(&format!(
            "  {:40} {}\n",
            g.graph[*i].label(),
            g.graph[*i].id()
        ));
    }
    s
}

/// `harrow graph --blast-radius ID -o json`: `{id, start: [ids], affected: [{id, label}]}`.
pub fn blast_radius_json(
    g: &TrustGraph,
    id: &str,
    start: &[NodeIndex],
    hit: &[NodeIndex],
) -> String {
    let v = json!({
        "id": id,
        "start": start.iter().map(|i| g.graph[*i].id()).collect::<Vec<_>>(),
        "affected": hit.iter().map(|i| json!({
            "id": g.graph[*i].id(), "label": g.graph[*i].label(),
        })).collect::<Vec<_>>(),
    });
    super::pretty_line(&v)
}

/// The `consistency` section of the graph JSON: copies that should agree and do not.
pub fn consistency_json(c: &Consistency) -> Value {
    json!({
        "disagreements": c.disagreements.iter().map(|d| json!({
            "file": d.file,
            "variants": d.variants.iter().map(|v| json!({
                "id": v.sha256,
                "first": v.first,
                "nodes": v.holders.iter().map(|h| h.node_name()).collect::<Vec<_>>(),
            })).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
        "stale_copies": c.stale.iter().map(|s| json!({
            "node": s.node, "file": s.file, "source": s.origin.input, "path": s.origin.path,
            "compared_with": s.compared_with,
        })).collect::<Vec<_>>(),
        "service_current_key": c.current_key.iter().map(|k| json!({
            "node": k.node, "source": k.origin.input, "path": k.origin.path, "position": k.position,
        })).collect::<Vec<_>>(),
    })
}

/// The `tokens` section of the graph JSON: every token occurrence, never with its value — place,
/// role, form, the pinned CA hash (public), whether it is the one rke2 uses, and
/// `password_group` — occurrences with the same password share a group number (numbered in
/// sorted order, so the output is deterministic) — plus a keyed fingerprint when a fingerprint
/// key was given (`--fingerprint-key`).
pub fn tokens_json(model: &Model, key: Option<&FingerprintKey>) -> Value {
    let mut all: Vec<&NodeToken> = model.tokens.values().flatten().collect();
    all.sort_by(|a, b| {
        (&a.node, &a.host_path, a.found.line, &a.found.key).cmp(&(
            &b.node,
            &b.host_path,
            b.found.line,
            &b.found.key,
        ))
    });
    let mut groups: Vec<&Secret> = Vec::new();
    let mut out = Vec::new();
    for t in &all {
        let pw = &t.found.token.password;
        let group = if is_placeholder(pw.expose()) {
            None
        } else {
            match groups.iter().position(|g| *g == pw) {
                Some(i) => Some(i + 1),
                None => {
                    groups.push(pw);
                    Some(groups.len())
                }
            }
        };
        let mut v = json!({
            "node": t.node,
            "host_path": t.host_path,
            "source": t.source,
            "path": t.logical,
            "line": t.found.line,
            "key": t.found.key,
            "role": match t.found.role {
                TokenRole::Server => "server",
                TokenRole::Agent => "agent",
            },
            "form": t.found.token.form.as_str(),
            "ca_hash": t.found.token.ca_hash,
            "effective": t.effective,
            "password_group": group,
        });
        if let (Some(k), Some(_)) = (key, group) {
            v["password_fingerprint"] = json!(k.fingerprint(pw));
        }
        out.push(v);
    }
    Value::Array(out)
}
