//! The certificate timeline of the HTML report as inline SVG: a time axis, one bar per
//! certificate from NotBefore to NotAfter (CAs first, then leaves by expiry), coloured by its
//! status at the reference time (expired, expiring within the renew window, valid, not yet
//! valid), the reference time as a line and the renew window after it shaded. Past
//! [`PER_CERT_MAX`] certificates, the CAs keep their bars and the leaves become one row per node:
//! a mark at each leaf's expiry (marks at the same pixel and status merged), so 100 nodes are
//! 100 rows. The axis spans the certificates' validity, at most two years before and five after
//! the reference time, where the leaves' cliffs are: a bar running past the right edge (a
//! ten-year CA) is cut there and ends with its expiry year; its tooltip gives the dates.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use time::{Date, Duration, Month, OffsetDateTime};

use super::groups::{Groups, NodeCerts, Tally, name, nodes_of};
use super::{clip, day, esc, status_class, status_word};
use crate::model::certs::{CertEntry, Status};
use crate::model::inventory::InUse;

/// Up to this many certificates, one bar each; past it, leaves are drawn per node.
pub const PER_CERT_MAX: usize = 150;
const LABEL_W: f64 = 330.0;
const CHART_W: f64 = 960.0;
const ROW_H: f64 = 16.0;
const TOP: f64 = 40.0;
const BOTTOM: f64 = 12.0;
/// Characters of a row's label at most.
const LABEL_MAX: usize = 48;

/// One row of the chart.
enum Row<'a> {
    Cert(&'a CertEntry),
    Node(&'a NodeCerts<'a>, Vec<&'a CertEntry>),
}

/// The time axis: instant to x.
struct Axis {
    lo: OffsetDateTime,
    hi: OffsetDateTime,
}

impl Axis {
    fn x(&self, t: OffsetDateTime) -> f64 {
        let span = (self.hi - self.lo).as_seconds_f64().max(1.0);
        let f = ((t - self.lo).as_seconds_f64() / span).clamp(0.0, 1.0);
        ((LABEL_W + f * CHART_W) * 10.0).round() / 10.0
    }
}

/// `t` moved by `days`, or `t` itself past the representable years.
fn shift(t: OffsetDateTime, days: i64) -> OffsetDateTime {
    t.checked_add(Duration::days(days)).unwrap_or(t)
}

/// Write the legend and the SVG (`id="timeline-svg"`).
pub fn render(g: &Groups<'_>, o: &mut String) {
    let reference = g.at.at;
    let window_end = shift(reference, i64::from(g.at.window_days));
    let mut cas: Vec<&CertEntry> = g.cas.iter().filter_map(|fp| g.inv.certs.get(*fp)).collect();
    cas.sort_by_key(|e| {
        (
            e.cert.not_after,
            name(e),
            e.cert.fingerprint_sha256().to_string(),
        )
    });
    let mut rows: Vec<Row<'_>> = cas.iter().map(|e| Row::Cert(e)).collect();
    let per_cert = g.inv.certs.len() <= PER_CERT_MAX;
    if per_cert {
        let mut leaves: Vec<&CertEntry> = g
            .inv
            .certs
            .iter()
            .filter(|(fp, _)| !g.cas.contains(fp.as_str()))
            .map(|(_, e)| e)
            .collect();
        leaves.sort_by_key(|e| {
            (
                e.cert.not_after,
                name(e),
                e.cert.fingerprint_sha256().to_string(),
            )
        });
        rows.extend(leaves.into_iter().map(Row::Cert));
    } else {
        for n in &g.nodes {
            let leaves: Vec<&CertEntry> = n
                .leaves
                .iter()
                .flat_map(|l| l.certs.iter().copied())
                .collect();
            if !leaves.is_empty() {
                rows.push(Row::Node(n, leaves));
            }
        }
    }
    let all = g.inv.certs.values();
    let lo = all
        .clone()
        .map(|e| e.cert.not_before)
        .min()
        .unwrap_or(shift(reference, -365))
        .max(shift(reference, -730))
        .min(shift(reference, -90));
    let hi = all
        .map(|e| e.cert.not_after)
        .max()
        .unwrap_or(shift(reference, 365))
        .min(shift(reference, 1826))
        .max(shift(window_end, 90));
    let axis = Axis { lo, hi };
    let height = TOP + ROW_H * rows.len().max(1) as f64 + BOTTOM;
    let width = LABEL_W + CHART_W + 20.0;
    let _ = writeln!(
        o,
        "<p class=\"legend\"><span class=\"sw st-expired\"></span> expired <span class=\"sw st-warning\"></span> expiring within the {} day renew window \
<span class=\"sw st-ok\"></span> valid <span class=\"sw st-not-yet-valid\"></span> not yet valid · the dashed line is the reference time. {}</p>",
        g.at.window_days,
        if per_cert {
            "One bar per certificate: CAs first, then leaves by expiry."
        } else {
            "CAs one bar each; leaves one row per node, a mark at each expiry."
        }
    );
    let _ = writeln!(
        o,
        "<div class=\"scroll\"><svg id=\"timeline-svg\" class=\"timeline\" width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\" role=\"img\" aria-label=\"certificate timeline\">"
    );
    ticks(&axis, height, o);
    let (xr, xw) = (axis.x(reference), axis.x(window_end));
    let _ = writeln!(
        o,
        "<rect class=\"window\" x=\"{xr}\" y=\"{TOP}\" width=\"{}\" height=\"{}\"/>",
        ((xw - xr) * 10.0).round() / 10.0,
        height - TOP - BOTTOM
    );
    if rows.is_empty() {
        let _ = writeln!(
            o,
            "<text x=\"10\" y=\"{}\">no certificate in the inputs</text>",
            TOP + 12.0
        );
    }
    for (i, row) in rows.iter().enumerate() {
        let y = TOP + ROW_H * i as f64;
        match row {
            Row::Cert(e) => cert_row(g, &axis, e, y, i, o),
            Row::Node(n, leaves) => node_row(g, &axis, n, leaves, y, i, o),
        }
    }
    let _ = writeln!(
        o,
        "<line class=\"ref\" x1=\"{xr}\" y1=\"{}\" x2=\"{xr}\" y2=\"{}\"/><text class=\"reflabel\" x=\"{}\" y=\"13\">reference {}</text>",
        TOP - 24.0,
        height - BOTTOM,
        xr + 4.0,
        esc(&day(reference))
    );
    o.push_str("</svg></div>\n");
}

/// Gridlines and labels: every three months over a short span, every 1, 2 or 5 years over longer.
fn ticks(axis: &Axis, height: f64, o: &mut String) {
    let days = (axis.hi - axis.lo).whole_days();
    let (months, label_month) = if days <= 800 {
        (3, true)
    } else if days <= 4400 {
        (12, false)
    } else if days <= 11000 {
        (24, false)
    } else {
        (60, false)
    };
    let mut y = axis.lo.year();
    let mut m: u8 = 1;
    if months >= 12 {
        y -= y.rem_euclid(months / 12);
    }
    for _ in 0..200 {
        let Some(t) = Month::try_from(m)
            .ok()
            .and_then(|mm| Date::from_calendar_date(y, mm, 1).ok())
            .map(|d| d.midnight().assume_utc())
        else {
            break;
        };
        if t > axis.hi {
            break;
        }
        if t >= axis.lo {
            let x = axis.x(t);
            let label = if label_month {
                format!("{y}-{m:02}")
            } else {
                y.to_string()
            };
            let _ = writeln!(
                o,
                "<line class=\"grid\" x1=\"{x}\" y1=\"{}\" x2=\"{x}\" y2=\"{}\"/><text class=\"tick\" x=\"{x}\" y=\"{}\">{label}</text>",
                TOP - 4.0,
                height - BOTTOM,
                TOP - 8.0
            );
        }
        let next = i32::from(m) - 1 + months;
        y += next / 12;
        m = u8::try_from(next % 12 + 1).unwrap_or(1);
    }
}

/// The band behind odd rows and the row's label.
fn row_start(i: usize, y: f64, label: &str, o: &mut String) {
    if i % 2 == 1 {
        let _ = write!(
            o,
            "<rect class=\"band\" x=\"0\" y=\"{y}\" width=\"{}\" height=\"{ROW_H}\"/>",
            LABEL_W + CHART_W
        );
    }
    let _ = write!(
        o,
        "<text class=\"rl\" x=\"4\" y=\"{}\">{}</text>",
        y + 12.0,
        esc(&clip(label, LABEL_MAX))
    );
}

fn cert_row(g: &Groups<'_>, axis: &Axis, e: &CertEntry, y: f64, i: usize, o: &mut String) {
    let c = &e.cert;
    let s = g.status(e);
    let nodes = nodes_of(e);
    let held = match nodes.len() {
        0 => "objects".to_string(),
        1..=3 => nodes.join(","),
        n => format!("{n} nodes"),
    };
    let kind = if g.cas.contains(c.fingerprint_sha256()) {
        "CA "
    } else {
        ""
    };
    let use_ = match e.in_use {
        InUse::Live => String::new(),
        other => format!("[{}] ", other.as_str()),
    };
    let label = format!("{use_}{kind}{} · {held}", name(e));
    let tip = format!(
        "{}\n{}{}valid {} to {} ({})\non {}\nsha256 {}",
        c.subject(),
        use_,
        kind,
        day(c.not_before),
        day(c.not_after),
        status_word(s),
        if nodes.is_empty() {
            "the bundle's objects".to_string()
        } else {
            nodes.join(", ")
        },
        c.fingerprint_sha256()
    );
    let (x1, x2) = (axis.x(c.not_before), axis.x(c.not_after));
    let _ = write!(o, "<g class=\"s row\"><title>{}</title>", esc(&tip));
    row_start(i, y, &label, o);
    let _ = write!(
        o,
        "<rect class=\"bar {}\" x=\"{x1}\" y=\"{}\" width=\"{}\" height=\"10\"/>",
        status_class(s),
        y + 3.0,
        (((x2 - x1) * 10.0).round() / 10.0).max(2.0)
    );
    if c.not_after > axis.hi {
        let _ = write!(
            o,
            "<text class=\"past\" x=\"{}\" y=\"{}\">→ {}</text>",
            x2 - 4.0,
            y + 11.5,
            c.not_after.year()
        );
    }
    o.push_str("</g>\n");
}

fn node_row(
    g: &Groups<'_>,
    axis: &Axis,
    n: &NodeCerts<'_>,
    leaves: &[&CertEntry],
    y: f64,
    i: usize,
    o: &mut String,
) {
    let node = n.node.unwrap_or("bundle objects");
    let t = Tally::of(g, leaves.iter().copied());
    let first = leaves.iter().map(|e| e.cert.not_after).min();
    let tip = format!(
        "{node}: {} leaves, {}{}",
        leaves.len(),
        t.words(),
        first.map_or(String::new(), |f| format!(", first expiry {}", day(f)))
    );
    let _ = write!(o, "<g class=\"s row\"><title>{}</title>", esc(&tip));
    row_start(i, y, &format!("{node} · {} leaves", leaves.len()), o);
    let from = leaves.iter().map(|e| e.cert.not_before).min();
    let to = leaves.iter().map(|e| e.cert.not_after).max();
    if let (Some(a), Some(b)) = (from, to) {
        let _ = write!(
            o,
            "<line class=\"span\" x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\"/>",
            axis.x(a),
            y + 8.0,
            axis.x(b),
            y + 8.0
        );
    }
    // One mark per (pixel, status), the worst drawn last (on top).
    let mut marks: BTreeMap<(u8, i64), Status> = BTreeMap::new();
    for e in leaves {
        let s = g.status(e);
        let rank = match s {
            Status::Ok => 0,
            Status::NotYetValid => 1,
            Status::Warning => 2,
            Status::Expired => 3,
        };
        marks.insert((rank, axis.x(e.cert.not_after).round() as i64), s);
    }
    for ((_, px), s) in marks {
        let _ = write!(
            o,
            "<rect class=\"mark {}\" x=\"{}\" y=\"{}\" width=\"3\" height=\"12\"/>",
            status_class(s),
            px - 1,
            y + 2.0
        );
    }
    o.push_str("</g>\n");
}
