//! `harrow analyze -o html`: one self-contained page (no network, no external asset: inline CSS,
//! inline script, inline SVG) with the summary (cluster, inputs, counts by severity), the findings
//! with their evidence grouped by severity, the certificate timeline drawn as a chart
//! (`timeline_svg`), the trust graph drawn as SVG laid out here (`graph_svg`, [`layout`]), the
//! certificates of each node in collapsible sections, and the rules' coverage.
//!
//! It reads the same data the other renderers read: the findings and coverage, the certificate
//! inventory judged at the reference time, and the trust graph. A cluster of 100 nodes and
//! thousands of certificates stays readable: leaves are grouped per node and issuing CA (one box,
//! "n17: 34 leaves", that opens its list), sections are collapsible and a search box filters
//! findings, certificates, nodes and the drawings' boxes and rows by text.
//!
//! Every string from the input goes through [`esc`] (a stranger's bundle may name a certificate
//! `<script>`); the page's Content-Security-Policy allows only its own script and style (by hash)
//! and no network at all, so even a string that escaped escaping would not run or load anything.
//! Secrets never reach the page: it shows findings (which carry none), certificates (public) and
//! paths. Same analysis, same bytes.

mod graph_svg;
mod groups;
pub mod layout;
mod timeline_svg;

use std::fmt::Write as _;

use base64::Engine as _;
use sha2::{Digest, Sha256};

use self::groups::{Groups, NodeCerts, Tally, name};
use super::{by_severity, by_status};
use crate::analyze::Analysis;
use crate::checks::{Finding, Severity};
use crate::model::certs::{CertEntry, Status};
use crate::snapshot::CoverageStatus;
use crate::timefmt::rfc3339;

const STYLE: &str = include_str!("page.css");
const SCRIPT: &str = include_str!("page.js");
/// A rule with more findings than this at one severity lists them in a collapsed section of
/// their own.
const RULE_LIST_OVER: usize = 3;
/// The inputs table is open up to this many inputs.
const INPUTS_OPEN_MAX: usize = 8;

/// Render the page.
pub fn render(a: &Analysis) -> String {
    let g = Groups::new(
        &a.model.certs,
        a.judge_at(),
        a.snapshot.nodes.keys().map(String::as_str),
    );
    let mut o = String::with_capacity(64 * 1024 + 400 * a.model.certs.certs.len());
    head(a, &mut o);
    summary(a, &g, &mut o);
    findings(a, &mut o);
    o.push_str("<section id=\"timeline\"><h2>Certificate timeline</h2>\n");
    timeline_svg::render(&g, &mut o);
    o.push_str("</section>\n<section id=\"graph\"><h2>Trust graph</h2>\n");
    graph_svg::render(&g, &a.graph, &mut o);
    o.push_str("</section>\n");
    nodes(a, &g, &mut o);
    coverage(a, &mut o);
    let _ = write!(
        o,
        "<footer>harrow {} · same inputs and reference time, same page</footer>\n<script>{SCRIPT}</script>\n</body>\n</html>\n",
        env!("CARGO_PKG_VERSION")
    );
    o
}

/// Text or attribute value from the input, made inert: `& < > " '` as entities, control
/// characters (other than tab and newline) as U+FFFD.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '\t' | '\n' => out.push(c),
            c if c.is_control() => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

/// At most `max` characters of `s`, an ellipsis marking a cut.
fn clip(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let mut c: String = s.chars().take(max.saturating_sub(1)).collect();
        c.push('…');
        c
    }
}

/// The CSS class of a status (`st-ok`, `st-warning`, `st-expired`, `st-not-yet-valid`).
fn status_class(s: Status) -> &'static str {
    match s {
        Status::Ok => "st-ok",
        Status::Warning => "st-warning",
        Status::Expired => "st-expired",
        Status::NotYetValid => "st-not-yet-valid",
    }
}

/// A status as the page words it.
fn status_word(s: Status) -> &'static str {
    match s {
        Status::Ok => "valid",
        Status::Warning => "expiring",
        Status::Expired => "expired",
        Status::NotYetValid => "not yet valid",
    }
}

/// The date of an instant (`2026-11-20`).
fn day(t: time::OffsetDateTime) -> String {
    let s = rfc3339(t);
    s.get(..10).unwrap_or(&s).to_string()
}

/// The `sha256-…` source of a CSP hash.
fn csp_hash(text: &str) -> String {
    let digest = Sha256::digest(text.as_bytes());
    format!(
        "'sha256-{}'",
        base64::engine::general_purpose::STANDARD.encode(digest)
    )
}

/// The document head: the CSP (no network; only this page's own script and style, by hash),
/// an empty favicon (no request), the title and the style sheet; then the top bar with the
/// search box.
fn head(a: &Analysis, o: &mut String) {
    let snap = &a.snapshot;
    let _ = write!(
        o,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; img-src data:; style-src {}; script-src {}\">\n\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
<link rel=\"icon\" href=\"data:,\">\n<title>harrow · report · {} node{} · {}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n",
        csp_hash(STYLE),
        csp_hash(SCRIPT),
        snap.nodes.len(),
        if snap.nodes.len() == 1 { "" } else { "s" },
        esc(&rfc3339(a.reference_time)),
    );
    o.push_str(
        "<header><h1>harrow · report</h1><nav><a href=\"#summary\">Summary</a> <a href=\"#findings\">Findings</a> \
<a href=\"#timeline\">Timeline</a> <a href=\"#graph\">Trust graph</a> <a href=\"#nodes\">Nodes</a> \
<a href=\"#coverage\">Coverage</a></nav>\
<input id=\"q\" type=\"search\" placeholder=\"Filter findings, certificates, nodes…\" aria-label=\"Filter\" autocomplete=\"off\">\
<span id=\"q-count\"></span></header>\n<main>\n",
    );
}

/// Cluster, times, counts by severity, rules, certificates and inputs.
fn summary(a: &Analysis, g: &Groups<'_>, o: &mut String) {
    let snap = &a.snapshot;
    o.push_str("<section id=\"summary\"><h2>Summary</h2>\n");
    if a.demo {
        o.push_str("<p class=\"note\">No INPUT given: the shipped demo (bundles/demo) at its collection time.</p>\n");
    }
    let _ = writeln!(
        o,
        "<p class=\"cluster\">{}</p>",
        esc(&super::text::cluster_line(a))
    );
    let _ = writeln!(
        o,
        "<p>Reference time <b>{}</b> ({}) · renew window {} days ({})</p>",
        esc(&rfc3339(a.reference_time)),
        esc(a.reference_label),
        a.renew_window_days,
        esc(&a.renew_window_source)
    );
    if let Some(r) = &snap.refused {
        let _ = writeln!(o, "<p class=\"refused\">Refused: {}</p>", esc(r));
    }
    o.push_str("<div class=\"badges\">");
    for (sev, n) in by_severity(a) {
        let s = sev.as_str();
        if n == 0 {
            let _ = write!(o, "<span class=\"badge sev-{s} zero\"><b>0</b> {s}</span>");
        } else {
            let _ = write!(
                o,
                "<a class=\"badge sev-{s}\" href=\"#sev-{s}\"><b>{n}</b> {s}</a>"
            );
        }
    }
    o.push_str("</div>\n");
    let st = by_status(a);
    let get = |s: CoverageStatus| st.get(&s).copied().unwrap_or(0);
    let _ = writeln!(
        o,
        "<p>{} rules: {} pass, {} fail, {} not evaluated, {} not applicable (<a href=\"#coverage\">coverage</a>)</p>",
        a.coverage.len(),
        get(CoverageStatus::Pass),
        get(CoverageStatus::Fail),
        get(CoverageStatus::NotEvaluable),
        get(CoverageStatus::NotApplicable),
    );
    let tally = Tally::of(g, g.inv.certs.values());
    let _ = writeln!(
        o,
        "<p>{} distinct certificates ({} CAs) on {} node{}: {} at the reference time</p>",
        tally.total(),
        g.cas.len(),
        snap.nodes.len(),
        if snap.nodes.len() == 1 { "" } else { "s" },
        tally.words()
    );
    // Open when short: a hundred node snapshots are one click away instead.
    let _ = writeln!(
        o,
        "<details class=\"inputs sc\"{}><summary>{} input{}</summary>",
        if snap.inputs.len() <= INPUTS_OPEN_MAX {
            " open"
        } else {
            ""
        },
        snap.inputs.len(),
        if snap.inputs.len() == 1 { "" } else { "s" },
    );
    o.push_str(
        "<table class=\"inputs\"><thead><tr><th>input</th><th>kind</th><th>sha256</th><th>node</th><th>collected</th><th>loaded</th></tr></thead><tbody>\n",
    );
    for (idx, i) in snap.inputs.iter().enumerate() {
        let node = snap
            .input_info
            .get(idx)
            .and_then(|x| x.node.as_deref())
            .unwrap_or("");
        let loaded = snap.trees.get(idx).map_or(String::new(), |t| {
            format!(
                "{} entries, {} loaded, {} KiB, {} logs scanned",
                t.seen.len(),
                t.files.len(),
                t.loaded_bytes / 1024,
                t.logs.len()
            )
        });
        let error = i.error.as_ref().map_or(String::new(), |e| {
            format!(" <span class=\"err\">error: {}</span>", esc(e))
        });
        let _ = writeln!(
            o,
            "<tr><td>{}</td><td>{}</td><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}{}</td></tr>",
            esc(&i.name),
            super::text::kind_word(i.kind),
            esc(i.sha256.get(..12).unwrap_or(&i.sha256)),
            esc(node),
            i.collected_at
                .map_or("unknown".into(), |t| esc(&rfc3339(t))),
            esc(&loaded),
            error
        );
    }
    o.push_str("</tbody></table>\n</details>\n</section>\n");
}

/// One collapsible section per severity (worst first), one collapsible finding each: code,
/// title, node and target in its summary; message, evidence and remediation inside.
fn findings(a: &Analysis, o: &mut String) {
    let _ = writeln!(
        o,
        "<section id=\"findings\"><h2>Findings ({})</h2>",
        a.findings.len()
    );
    if a.findings.is_empty() {
        o.push_str("<p>No finding.</p>\n");
    }
    for sev in Severity::ALL {
        let fs: Vec<_> = a.findings.iter().filter(|f| f.severity == sev).collect();
        if fs.is_empty() {
            continue;
        }
        let _ = writeln!(
            o,
            "<details class=\"sev sc\" id=\"sev-{s}\" open><summary><span class=\"badge sev-{s}\">{S}</span> {n} finding{p}</summary>",
            s = sev.as_str(),
            S = sev.as_str().to_uppercase(),
            n = fs.len(),
            p = if fs.len() == 1 { "" } else { "s" },
        );
        // A rule with many findings at this severity gets its own collapsed list.
        let mut rules: Vec<(&str, Vec<&Finding>)> = Vec::new();
        for f in fs {
            match rules.iter_mut().find(|(r, _)| *r == f.rule) {
                Some((_, v)) => v.push(f),
                None => rules.push((&f.rule, vec![f])),
            }
        }
        for (rule, list) in rules {
            if list.len() <= RULE_LIST_OVER {
                list.iter().for_each(|f| finding(f, o));
                continue;
            }
            let mut nodes: Vec<&str> = list.iter().filter_map(|f| f.node.as_deref()).collect();
            nodes.sort_unstable();
            nodes.dedup();
            let _ = writeln!(
                o,
                "<details class=\"rule sc\"><summary><code class=\"code\">{}</code> {} <span class=\"node\">{} findings{}</span></summary>",
                esc(rule),
                esc(list.first().map_or("", |f| f.title.as_str())),
                list.len(),
                match nodes.len() {
                    0 => String::new(),
                    1..=6 => format!(" on {}", esc(&nodes.join(", "))),
                    n => format!(" on {n} nodes"),
                }
            );
            list.iter().for_each(|f| finding(f, o));
            o.push_str("</details>\n");
        }
        o.push_str("</details>\n");
    }
    o.push_str("</section>\n");
}

/// One finding, collapsed: code, node, title and target; message, evidence and remediation.
fn finding(f: &Finding, o: &mut String) {
    let _ = write!(
        o,
        "<details class=\"finding s\"><summary><code class=\"code\">{}</code> <span class=\"node\">{}</span> {}",
        esc(&f.rule),
        esc(f.node.as_deref().unwrap_or("-")),
        esc(&f.title),
    );
    if let Some(t) = &f.target {
        let _ = write!(o, " <span class=\"target\">{}</span>", esc(t));
    }
    let _ = write!(o, "</summary><p>{}</p>", esc(&f.message));
    if !f.evidence.is_empty() {
        o.push_str("<p class=\"label\">Evidence</p><ul class=\"evidence\">");
        for e in &f.evidence {
            let _ = write!(o, "<li><code>{}</code></li>", esc(&e.display()));
        }
        o.push_str("</ul>");
    }
    if !f.remediation.is_empty() {
        let _ = write!(o, "<p class=\"fix\">→ {}</p>", esc(&f.remediation));
    }
    o.push_str("</details>\n");
}

/// One collapsible section per node (and one for the certificates no node holds): its roles,
/// addresses, findings count, then its CA certificates and its leaves per issuing CA, each a
/// collapsible list the graph's boxes open.
fn nodes(a: &Analysis, g: &Groups<'_>, o: &mut String) {
    let _ = writeln!(
        o,
        "<section id=\"nodes\"><h2>Nodes and certificates</h2>\n<p class=\"hint\">Each certificate once per node holding it; open a node, then a list.</p>"
    );
    for n in &g.nodes {
        node_section(a, g, n, o);
    }
    o.push_str("</section>\n");
}

fn node_section(a: &Analysis, g: &Groups<'_>, n: &NodeCerts<'_>, o: &mut String) {
    let all = n
        .cas
        .iter()
        .copied()
        .chain(n.leaves.iter().flat_map(|l| l.certs.iter().copied()));
    let tally = Tally::of(g, all);
    let title = match n.node {
        Some(name) => {
            let mut t = format!("<b>{}</b>", esc(name));
            if let Some(node) = a.snapshot.nodes.get(name) {
                let roles: Vec<&str> = node.roles.iter().map(|r| r.as_str()).collect();
                if !roles.is_empty() {
                    let _ = write!(t, " · {}", esc(&roles.join(",")));
                }
                let addrs: Vec<&str> = node.addresses.iter().map(String::as_str).collect();
                if !addrs.is_empty() {
                    let _ = write!(t, " · {}", esc(&addrs.join(" ")));
                }
            }
            t
        }
        None => "<b>bundle objects</b> · certificates no node holds".to_string(),
    };
    let nfind = a
        .findings
        .iter()
        .filter(|f| f.node.as_deref() == n.node && n.node.is_some())
        .count();
    let _ = writeln!(
        o,
        "<details class=\"node sc\" id=\"node{}\"><summary>{} · {} certificate{}{}{}</summary>",
        n.id,
        title,
        tally.total(),
        if tally.total() == 1 { "" } else { "s" },
        if tally.total() == 0 {
            String::new()
        } else {
            format!(
                " <span class=\"{}\">({})</span>",
                status_class(tally.worst()),
                tally.words()
            )
        },
        if nfind > 0 {
            format!(" · {nfind} finding{}", if nfind == 1 { "" } else { "s" })
        } else {
            String::new()
        }
    );
    if !n.cas.is_empty() {
        let mut cas = n.cas.clone();
        cas.sort_by_key(|e| (name(e), e.cert.fingerprint_sha256().to_string()));
        let _ = writeln!(
            o,
            "<details class=\"list sc\"><summary>CA certificates ({})</summary>",
            cas.len()
        );
        cert_table(g, n.node, &cas, o);
        o.push_str("</details>\n");
    }
    for l in &n.leaves {
        let t = Tally::of(g, l.certs.iter().copied());
        let _ = writeln!(
            o,
            "<details class=\"list sc\" id=\"g{}\"><summary>{} issued by {} <span class=\"{}\">({})</span></summary>",
            l.id,
            groups::leaves(l.certs.len()),
            esc(&g.issuer_name(&l.issuer)),
            status_class(t.worst()),
            t.words()
        );
        cert_table(g, n.node, &l.certs, o);
        o.push_str("</details>\n");
    }
    o.push_str("</details>\n");
}

/// The certificates of a list: name, status, expiry, use, the node's paths and the fingerprint.
fn cert_table(g: &Groups<'_>, node: Option<&str>, certs: &[&CertEntry], o: &mut String) {
    o.push_str("<table class=\"certs\"><thead><tr><th>subject</th><th>status</th><th>not after</th><th>use</th><th>where</th><th>sha256</th></tr></thead><tbody>\n");
    for e in certs {
        let s = g.status(e);
        let mut places: Vec<String> = e
            .locations
            .iter()
            .filter(|l| l.node.as_deref() == node)
            .map(|l| {
                let p = l.host_path.as_deref().unwrap_or(&l.path);
                if l.index > 0 {
                    format!("{p} #{}", l.index + 1)
                } else {
                    p.to_string()
                }
            })
            .collect();
        places.sort();
        places.dedup();
        let more = places.len().saturating_sub(4);
        places.truncate(4);
        let mut where_ = places
            .iter()
            .map(|p| format!("<code>{}</code>", esc(p)))
            .collect::<Vec<_>>()
            .join("<br>");
        if more > 0 {
            let _ = write!(where_, "<br>+{more} more");
        }
        let _ = writeln!(
            o,
            "<tr class=\"s\"><td title=\"{}\">{}</td><td class=\"{}\">{}</td><td>{}</td><td>{}</td><td>{}</td><td><code>{}</code></td></tr>",
            esc(e.cert.subject()),
            esc(&name(e)),
            status_class(s),
            status_word(s),
            day(e.cert.not_after),
            e.in_use.as_str(),
            where_,
            esc(e
                .cert
                .fingerprint_sha256()
                .get(..16)
                .unwrap_or(e.cert.fingerprint_sha256())),
        );
    }
    o.push_str("</tbody></table>\n");
}

/// Every rule's coverage row, in a collapsed section.
fn coverage(a: &Analysis, o: &mut String) {
    let _ = writeln!(
        o,
        "<section id=\"coverage\"><h2>Coverage</h2>\n<details class=\"sc\"><summary>{} rules: what each judged, or why not</summary>\n<table class=\"coverage\"><thead><tr><th>rule</th><th>status</th><th>reason</th><th>needs</th></tr></thead><tbody>",
        a.coverage.len()
    );
    for c in &a.coverage {
        let _ = writeln!(
            o,
            "<tr class=\"s cov-{}\"><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td></tr>",
            c.status.as_str(),
            esc(&c.rule),
            c.status.as_str(),
            esc(&c.reason),
            esc(c.needs.as_deref().unwrap_or("")),
        );
    }
    o.push_str("</tbody></table>\n</details>\n</section>\n</main>\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn esc_makes_markup_inert() {
        assert_eq!(
            esc("<script>alert('x\")</script> & co"),
            "&lt;script&gt;alert(&#39;x&quot;)&lt;/script&gt; &amp; co"
        );
        assert_eq!(esc("a\u{0}b\u{1b}c\td"), "a\u{fffd}b\u{fffd}c\td");
    }

    #[test]
    fn clip_marks_a_cut() {
        assert_eq!(clip("abcdef", 4), "abc…");
        assert_eq!(clip("abc", 4), "abc");
    }

    #[test]
    fn the_style_and_script_carry_no_url() {
        for s in [STYLE, SCRIPT] {
            assert!(!s.contains("http:") && !s.contains("https:") && !s.contains("url(h"));
            assert!(!s.contains("</script"), "the script would close early");
        }
    }
}
