//! `harrow diff`: the comparison of two sides ([`crate::diff::Diff`]) as text for people and as
//! a JSON document (keys sorted, lists in the order the diff sorted them); `-o yaml` is the JSON
//! transcoded ([`super::tabular::yaml_from_json`]). Fingerprints and key hashes are public;
//! token passwords never reach this module (only whether one changed).

use std::fmt::Write as _;

use serde_json::{Value, json};

use crate::diff::{CaChange, CertRef, Diff, NodeDiff, Presence, TokenChange, short};

/// The JSON document.
pub fn json(d: &Diff) -> Value {
    let certs = |v: &[CertRef]| -> Value {
        v.iter()
            .map(|c| json!({"cn": c.cn, "fingerprint_sha256": c.fingerprint}))
            .collect()
    };
    let cas: Vec<Value> = d
        .cas
        .iter()
        .map(|c| {
            json!({
                "ca": c.name(),
                "before": certs(&c.before),
                "after": certs(&c.after),
                "new": certs(&c.new),
                "rotated": c.rotated(),
                "root": c.root.map(|r| r.as_str()),
            })
        })
        .collect();
    let nodes: Vec<Value> = d.nodes.iter().map(node_json).collect();
    let problems: Vec<Value> = d
        .problems
        .iter()
        .map(|p| {
            json!({
                "node": p.node,
                "kind": p.kind.as_str(),
                "target": p.target,
                "message": p.message,
            })
        })
        .collect();
    json!({
        "tool": {"name": "harrow", "version": env!("CARGO_PKG_VERSION")},
        "before": {"inputs": d.before_inputs, "served_ca_hashes": d.served_before},
        "after": {"inputs": d.after_inputs, "served_ca_hashes": d.served_after},
        "cas": cas,
        "nodes": nodes,
        "problems": problems,
        "converged": d.converged(),
    })
}

fn node_json(n: &NodeDiff) -> Value {
    let files: Vec<Value> = n
        .files
        .iter()
        .map(|f| {
            json!({
                "host_path": f.host,
                "change": f.change.as_str(),
                "cn": f.cn,
                "role": f.role,
                "before": f.before,
                "after": f.after,
                "same_issuer": f.same_issuer,
            })
        })
        .collect();
    let token = n.token.as_ref().map(|t| {
        json!({
            "source_before": t.source_before,
            "source_after": t.source_after,
            "ca_hash_before": t.ca_hash_before,
            "ca_hash_after": t.ca_hash_after,
            "password_changed": t.password_changed,
        })
    });
    let keys = n.service_keys.as_ref().map(|k| {
        json!({
            "verify_before": k.verify_before,
            "verify_after": k.verify_after,
            "current_before": k.current_before,
            "current_after": k.current_after,
            "changed": k.changed(),
        })
    });
    json!({
        "name": n.name,
        "role": n.role,
        "presence": n.presence.as_str(),
        "judged": n.judged,
        "files": files,
        "token": token,
        "service_account_keys": keys,
    })
}

/// Write the JSON document, pretty-printed and newline-terminated.
pub fn write_json(d: &Diff, w: &mut dyn std::io::Write) -> std::io::Result<()> {
    serde_json::to_writer_pretty(&mut *w, &json(d)).map_err(std::io::Error::from)?;
    w.write_all(b"\n")
}

fn fps(v: &[String]) -> String {
    if v.is_empty() {
        return "-".into();
    }
    let s: Vec<&str> = v.iter().map(|f| short(f)).collect();
    s.join("+")
}

fn token_changed(t: &TokenChange) -> bool {
    t.password_changed || t.ca_hash_before != t.ca_hash_after || t.source_before != t.source_after
}

fn ca_line(c: &CaChange) -> String {
    let list = |v: &[CertRef]| -> String {
        let s: Vec<String> = v
            .iter()
            .map(|c| format!("{} ({})", c.cn, short(&c.fingerprint)))
            .collect();
        s.join(", ")
    };
    match c.root {
        Some(r) => format!(
            "rotated, {}: new {}; before {}",
            r.as_str(),
            list(&c.new),
            list(&c.before)
        ),
        None if c.rotated() => format!("new in AFTER: {}", list(&c.new)),
        None if c.after.is_empty() => format!("not in AFTER (before: {})", list(&c.before)),
        None => format!("unchanged: {}", list(&c.after)),
    }
}

/// What changed on a node whose certificate files are on both sides, one line each: its
/// certificate files, its token (never the password, only whether it changed), its
/// service-account keys.
fn changes(n: &NodeDiff) -> Vec<String> {
    let mut out = Vec::new();
    for f in &n.files {
        let issuer = match f.same_issuer {
            Some(true) => "  same issuer",
            Some(false) => "  new issuer",
            None => "",
        };
        out.push(format!(
            "{:<8} {}  {} [{}]  {} → {}{issuer}",
            f.change.as_str(),
            f.host,
            if f.cn.is_empty() { "-" } else { &f.cn },
            f.role,
            fps(&f.before),
            fps(&f.after)
        ));
    }
    if let Some(t) = n.token.as_ref().filter(|t| token_changed(t)) {
        let hash = |h: &Option<String>| h.as_deref().map_or("no hash", short).to_string();
        out.push(format!(
            "token    {}: password {} · CA hash {} → {}",
            t.source_after
                .as_deref()
                .or(t.source_before.as_deref())
                .unwrap_or("-"),
            if t.password_changed {
                "changed"
            } else {
                "unchanged"
            },
            hash(&t.ca_hash_before),
            hash(&t.ca_hash_after)
        ));
    }
    if let Some(k) = n.service_keys.as_ref().filter(|k| k.changed()) {
        let cur = |c: &Option<String>| c.as_deref().map_or("-", short).to_string();
        out.push(format!(
            "sa keys  signing {} → {} · verifies {} → {}",
            cur(&k.current_before),
            cur(&k.current_after),
            fps(&k.verify_before),
            fps(&k.verify_after)
        ));
    }
    out
}

/// The text for people: the CAs, the served CA hashes, then node by node what changed and what
/// is left of the old state, and the verdict.
pub fn text(d: &Diff) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "harrow diff · BEFORE {} · AFTER {}",
        d.before_inputs.join(", "),
        d.after_inputs.join(", ")
    );
    s.push_str("\nCLUSTER CAS\n");
    for c in &d.cas {
        let _ = writeln!(s, "  {:<18} {}", c.name(), ca_line(c));
    }
    let hashes = |v: &[String]| -> String {
        if v.is_empty() {
            return "none known".into();
        }
        let s: Vec<&str> = v.iter().map(|h| short(h)).collect();
        s.join(", ")
    };
    let _ = writeln!(
        s,
        "  {:<18} {} → {}",
        "served CA hash",
        hashes(&d.served_before),
        hashes(&d.served_after)
    );
    for n in &d.nodes {
        let _ = writeln!(
            s,
            "\nNODE {} ({})",
            n.name,
            n.role.unwrap_or("role unknown")
        );
        match n.presence {
            Presence::BeforeOnly => {
                s.push_str("  only in BEFORE: not judged\n");
                continue;
            }
            Presence::AfterOnly => s.push_str("  only in AFTER: no change to show\n"),
            Presence::Both if !n.judged => {
                s.push_str("  certificate files not on both sides: not compared\n");
            }
            Presence::Both => {}
        }
        let mine: Vec<_> = d.problems.iter().filter(|p| p.node == n.name).collect();
        if n.judged {
            let changes = changes(n);
            if changes.is_empty() && mine.is_empty() {
                s.push_str("  no credential changed\n");
            }
            changes.iter().for_each(|l| {
                let _ = writeln!(s, "  {l}");
            });
        }
        for p in mine {
            let _ = writeln!(
                s,
                "  STALE    {} {}: {}",
                p.kind.as_str(),
                p.target,
                p.message
            );
        }
    }
    s.push('\n');
    let unjudged: Vec<&str> = d
        .nodes
        .iter()
        .filter(|n| !n.judged)
        .map(|n| n.name.as_str())
        .collect();
    if !unjudged.is_empty() {
        let _ = writeln!(
            s,
            "NOT COMPARED: {} (certificate files not on both sides)",
            unjudged.join(", ")
        );
    }
    if d.converged() {
        s.push_str("CONVERGED: every node is consistent with the new state\n");
    } else {
        let mut nodes: Vec<&str> = d.problems.iter().map(|p| p.node.as_str()).collect();
        nodes.dedup();
        let _ = writeln!(
            s,
            "NOT CONVERGED: {} problem{} on {} ({})",
            d.problems.len(),
            if d.problems.len() == 1 { "" } else { "s" },
            if nodes.len() == 1 { "node" } else { "nodes" },
            nodes.join(", ")
        );
    }
    s
}
