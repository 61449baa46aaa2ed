//! The trust graph of the HTML report as inline SVG: the CAs (roots, then intermediates, by
//! longest path) and, in the last column, the leaves grouped per node and issuing CA, one box
//! each ("n1: 12 leaves") that opens the group's list in the node section. A CA whose leaves
//! are held by more than [`AGGREGATE_OVER`] nodes gets one box for all of them ("100 nodes:
//! 3,400 leaves") that opens a per-node list below the drawing, so a large cluster stays a
//! drawing of a few dozen boxes. Laid out by [`super::layout`]; what trusts or pins each CA
//! (bundles, kubeconfigs, tokens) is read from the trust graph and shown in its box's tooltip.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;

use petgraph::Direction;
use petgraph::visit::EdgeRef;

use super::groups::{Groups, IssuerKey, LeafGroup, NodeCerts, Tally, leaves, name, nodes_of};
use super::layout::{self, Input};
use super::{clip, day, esc, status_class, status_word};
use crate::graph::trust::{Edge, TrustGraph, Vertex};
use crate::model::certs::{CertEntry, Fp};

/// A CA whose leaves are held by more nodes than this gets one box for all of them.
pub const AGGREGATE_OVER: usize = 8;
/// Box height (two lines of text).
const BOX_H: f64 = 34.0;
/// Characters of a box's first line at most.
const LABEL_MAX: usize = 40;
/// Width of one character of the boxes' 11px monospace text.
const CHAR_W: f64 = 6.7;
/// Names listed in a group's tooltip at most.
const TOOLTIP_NAMES: usize = 40;

/// A box of the drawing.
enum Box<'a> {
    Ca(&'a CertEntry),
    Group(&'a NodeCerts<'a>, &'a LeafGroup<'a>),
    /// The leaves of one issuer on many nodes; its number is the anchor `a<N>`.
    Many(usize, Vec<(&'a NodeCerts<'a>, &'a LeafGroup<'a>)>),
}

/// Write the legend, the SVG (`id="graph-svg"`) and the lists the aggregated boxes open.
pub fn render(g: &Groups<'_>, tg: &TrustGraph, o: &mut String) {
    // CAs, by name then fingerprint: the initial order of the layout.
    let mut cas: Vec<&CertEntry> = g.cas.iter().filter_map(|fp| g.inv.certs.get(*fp)).collect();
    cas.sort_by_key(|e| (name(e), e.cert.fingerprint_sha256().to_string()));
    let mut boxes: Vec<Box<'_>> = cas.iter().map(|e| Box::Ca(e)).collect();
    let ca_index: HashMap<&str, usize> = cas
        .iter()
        .enumerate()
        .map(|(i, e)| (e.cert.fingerprint_sha256(), i))
        .collect();
    // Leaf groups by issuer, then by node.
    let mut by_issuer: BTreeMap<&IssuerKey, Vec<(&NodeCerts<'_>, &LeafGroup<'_>)>> =
        BTreeMap::new();
    for n in &g.nodes {
        for l in &n.leaves {
            by_issuer.entry(&l.issuer).or_default().push((n, l));
        }
    }
    let mut many = 0;
    for groups in by_issuer.into_values() {
        if groups.len() > AGGREGATE_OVER {
            boxes.push(Box::Many(many, groups));
            many += 1;
        } else {
            boxes.extend(groups.into_iter().map(|(n, l)| Box::Group(n, l)));
        }
    }
    let mut edges: Vec<(usize, usize)> = Vec::new();
    for (i, b) in boxes.iter().enumerate() {
        let issuers: Vec<&str> = match b {
            Box::Ca(e) => e
                .issuers
                .iter()
                .filter(|fp| **fp != e.cert.fingerprint_sha256())
                .map(Fp::as_str)
                .collect(),
            Box::Group(_, l) => issuer_fps(&l.issuer),
            Box::Many(_, groups) => groups
                .first()
                .map(|(_, l)| issuer_fps(&l.issuer))
                .unwrap_or_default(),
        };
        for fp in issuers {
            if let Some(&from) = ca_index.get(fp) {
                edges.push((from, i));
            }
        }
    }
    let labels: Vec<(String, String)> = boxes.iter().map(|b| labels(g, b)).collect();
    let input = Input {
        sizes: labels
            .iter()
            .map(|(a, b)| {
                let chars = a.chars().count().max(b.chars().count()) as f64;
                ((chars * CHAR_W + 16.0).clamp(120.0, 320.0).round(), BOX_H)
            })
            .collect(),
        edges,
        last: boxes.iter().map(|b| !matches!(b, Box::Ca(_))).collect(),
    };
    let lay = layout::layout(&input);
    o.push_str(
        "<p class=\"legend\">CAs left to right from their roots; leaves grouped per node and issuing CA (click a box to list them). \
Border: <span class=\"st-ok\">valid</span> · <span class=\"st-warning\">expiring within the renew window</span> · \
<span class=\"st-expired\">expired</span> · <span class=\"st-not-yet-valid\">not yet valid</span>; dashed: not live (staged, backup, object).</p>\n",
    );
    let (w, h) = if boxes.is_empty() {
        (400.0, 40.0)
    } else {
        (lay.width, lay.height)
    };
    let _ = writeln!(
        o,
        "<div class=\"scroll\"><svg id=\"graph-svg\" class=\"graph\" width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\" role=\"img\" aria-label=\"trust graph\">\n\
<defs><marker id=\"arrow\" viewBox=\"0 0 8 8\" refX=\"8\" refY=\"4\" markerWidth=\"7\" markerHeight=\"7\" orient=\"auto\"><path d=\"M0,0L8,4L0,8z\" class=\"arrowhead\"/></marker></defs>"
    );
    if boxes.is_empty() {
        o.push_str("<text x=\"10\" y=\"24\">no certificate in the inputs</text>\n");
    }
    o.push_str("<g class=\"edges\">\n");
    for (_, pts) in &lay.edges {
        let _ = writeln!(o, "<path d=\"{}\" marker-end=\"url(#arrow)\"/>", curve(pts));
    }
    o.push_str("</g>\n");
    for (i, b) in boxes.iter().enumerate() {
        let (Some(r), Some((l1, l2))) = (lay.boxes.get(i), labels.get(i)) else {
            continue;
        };
        let (class, link, tip) = match b {
            Box::Ca(e) => {
                let live = e.in_use == crate::model::inventory::InUse::Live;
                (
                    format!(
                        "ca {}{}",
                        status_class(g.status(e)),
                        if live { "" } else { " notlive" }
                    ),
                    None,
                    ca_tooltip(g, tg, e),
                )
            }
            Box::Group(n, l) => {
                let t = Tally::of(g, l.certs.iter().copied());
                (
                    format!("leaf {}", status_class(t.worst())),
                    Some(format!("g{}", l.id)),
                    group_tooltip(g, n, l),
                )
            }
            Box::Many(k, groups) => {
                let t = Tally::of(g, groups.iter().flat_map(|(_, l)| l.certs.iter().copied()));
                (
                    format!("leaf many {}", status_class(t.worst())),
                    Some(format!("a{k}")),
                    many_tooltip(g, groups),
                )
            }
        };
        if let Some(l) = &link {
            let _ = write!(o, "<a href=\"#{l}\">");
        }
        let _ = write!(
            o,
            "<g class=\"v s {class}\"><title>{}</title><rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" rx=\"4\"/>\
<text x=\"{}\" y=\"{}\" class=\"l1\">{}</text><text x=\"{}\" y=\"{}\" class=\"l2\">{}</text></g>",
            esc(&tip),
            r.x,
            r.y,
            r.w,
            r.h,
            r.x + 8.0,
            r.y + 14.0,
            esc(l1),
            r.x + 8.0,
            r.y + 28.0,
            esc(l2),
        );
        if link.is_some() {
            o.push_str("</a>");
        }
        o.push('\n');
    }
    o.push_str("</svg></div>\n");
    // The per-node lists of the aggregated boxes.
    for b in &boxes {
        if let Box::Many(k, groups) = b {
            let total: usize = groups.iter().map(|(_, l)| l.certs.len()).sum();
            let issuer = groups
                .first()
                .map(|(_, l)| g.issuer_name(&l.issuer))
                .unwrap_or_default();
            let _ = writeln!(
                o,
                "<details class=\"many sc\" id=\"a{k}\"><summary>{} issued by {} on {} nodes</summary><ul class=\"cols\">",
                leaves(total),
                esc(&issuer),
                groups.len()
            );
            for (n, l) in groups {
                let t = Tally::of(g, l.certs.iter().copied());
                let _ = writeln!(
                    o,
                    "<li class=\"s\"><a href=\"#g{}\">{}: {}</a> <span class=\"{}\">{}</span></li>",
                    l.id,
                    esc(node_name(n)),
                    leaves(l.certs.len()),
                    status_class(t.worst()),
                    t.words()
                );
            }
            o.push_str("</ul></details>\n");
        }
    }
}

/// The CA fingerprints of an issuer key.
fn issuer_fps(k: &IssuerKey) -> Vec<&str> {
    match k {
        IssuerKey::Cas(fps) => fps.iter().map(String::as_str).collect(),
        _ => Vec::new(),
    }
}

fn node_name<'a>(n: &NodeCerts<'a>) -> &'a str {
    n.node.unwrap_or("bundle objects")
}

/// The two lines of a box.
fn labels(g: &Groups<'_>, b: &Box<'_>) -> (String, String) {
    match b {
        Box::Ca(e) => {
            let nodes = nodes_of(e);
            let use_ = match e.in_use {
                crate::model::inventory::InUse::Live => "CA".to_string(),
                other => format!("{} CA", other.as_str()),
            };
            let held = match nodes.len() {
                0 => String::new(),
                1 => format!(" · {}", nodes[0]),
                n => format!(" · {n} nodes"),
            };
            (
                clip(&name(e), LABEL_MAX),
                clip(
                    &format!("{use_} · until {}{held}", day(e.cert.not_after)),
                    LABEL_MAX,
                ),
            )
        }
        Box::Group(n, l) => {
            let first = match l.certs.as_slice() {
                [one] => format!("{}: {}", node_name(n), name(one)),
                more => format!("{}: {} leaves", node_name(n), more.len()),
            };
            let t = Tally::of(g, l.certs.iter().copied());
            (clip(&first, LABEL_MAX), second_line(&t, &l.certs))
        }
        Box::Many(_, groups) => {
            let leaves: Vec<&CertEntry> = groups
                .iter()
                .flat_map(|(_, l)| l.certs.iter().copied())
                .collect();
            let t = Tally::of(g, leaves.iter().copied());
            (
                format!("{} nodes: {} leaves", groups.len(), leaves.len()),
                second_line(&t, &leaves),
            )
        }
    }
}

/// `2 expired · 1 expiring`, or `valid · next 2027-11-20`.
fn second_line(t: &Tally, certs: &[&CertEntry]) -> String {
    if t.expired + t.warning + t.not_yet_valid > 0 {
        return clip(&t.words(), LABEL_MAX);
    }
    match certs.iter().map(|e| e.cert.not_after).min() {
        Some(first) => format!("valid · next {}", day(first)),
        None => "valid".into(),
    }
}

/// A CA's tooltip: subject, issuer, fingerprint, validity and status, and what trusts, pins
/// or presents it in the trust graph.
fn ca_tooltip(g: &Groups<'_>, tg: &TrustGraph, e: &CertEntry) -> String {
    let c = &e.cert;
    let mut t = format!(
        "{}\nissuer: {}\nsha256: {}\nvalid {} to {} ({})\nin use: {}, owner {}",
        c.subject(),
        c.issuer(),
        c.fingerprint_sha256(),
        day(c.not_before),
        day(c.not_after),
        status_word(g.status(e)),
        e.in_use.as_str(),
        e.owner.as_str(),
    );
    if let Some(v) = tg.get(&format!("cert:sha256:{}", c.fingerprint_sha256())) {
        let mut counts: BTreeMap<(&str, &str), usize> = BTreeMap::new();
        for edge in tg.graph.edges_directed(v, Direction::Incoming) {
            let kind = match edge.weight() {
                Edge::Trusts => "trusted by",
                Edge::Pins => "pinned by",
                Edge::Presents => "presented by",
                _ => continue,
            };
            let what = match &tg.graph[edge.source()] {
                Vertex::Bundle { .. } => "CA bundles",
                Vertex::Kubeconfig { .. } => "kubeconfigs",
                Vertex::Token { .. } => "tokens",
                Vertex::Node { .. } => "nodes",
                _ => "others",
            };
            *counts.entry((kind, what)).or_default() += 1;
        }
        for ((kind, what), n) in counts {
            let _ = write!(t, "\n{kind} {n} {what}");
        }
    }
    t
}

/// The names of up to [`TOOLTIP_NAMES`] certificates, one a line.
fn names(t: &mut String, certs: &[&CertEntry]) {
    for e in certs.iter().take(TOOLTIP_NAMES) {
        let _ = write!(t, "\n{} · {}", name(e), day(e.cert.not_after));
    }
    if certs.len() > TOOLTIP_NAMES {
        let _ = write!(t, "\n… and {} more", certs.len() - TOOLTIP_NAMES);
    }
}

fn group_tooltip(g: &Groups<'_>, n: &NodeCerts<'_>, l: &LeafGroup<'_>) -> String {
    let mut t = format!(
        "{}: {} issued by {}",
        node_name(n),
        leaves(l.certs.len()),
        g.issuer_name(&l.issuer)
    );
    names(&mut t, &l.certs);
    t
}

fn many_tooltip(g: &Groups<'_>, groups: &[(&NodeCerts<'_>, &LeafGroup<'_>)]) -> String {
    let issuer = groups
        .first()
        .map(|(_, l)| g.issuer_name(&l.issuer))
        .unwrap_or_default();
    let mut t = format!("leaves issued by {issuer} on {} nodes:", groups.len());
    for (n, l) in groups {
        let _ = write!(t, "\n{}: {}", node_name(n), l.certs.len());
    }
    t
}

/// An SVG path through the points: horizontal-tangent curves between consecutive points.
fn curve(pts: &[(f64, f64)]) -> String {
    let mut d = String::new();
    for (i, &(x, y)) in pts.iter().enumerate() {
        if i == 0 {
            let _ = write!(d, "M{x},{y}");
        } else {
            let (px, py) = pts[i - 1];
            let mx = ((px + x) / 2.0 * 10.0).round() / 10.0;
            let _ = write!(d, "C{mx},{py} {mx},{y} {x},{y}");
        }
    }
    d
}
