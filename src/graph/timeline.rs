//! The "cliff calendar": dated events from the reference time forward — when live certificates
//! enter the renew window, expire, or stop verifying because their CA expires first — with the
//! collection times and the reference time marked. Rendered by `report::timeline`.

use time::{Duration, OffsetDateTime};

use crate::model::certs::Inventory;
use crate::model::inventory::InUse;

/// What happens on a date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum EventKind {
    Collected,
    Reference,
    EntersRenewWindow,
    Expires,
    /// A leaf outlives its issuing CA: it stops verifying when the CA expires.
    IssuerExpires,
    /// The closest certificate expiry Harvester recorded on a node (annotation
    /// `harvesterhci.io/rke2-cert-info`): seen only through the bundle.
    AnnotatedExpiry,
}

impl EventKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Collected => "collected",
            EventKind::Reference => "reference-time",
            EventKind::EntersRenewWindow => "renew-window",
            EventKind::Expires => "expires",
            EventKind::IssuerExpires => "issuer-expires",
            EventKind::AnnotatedExpiry => "annotated-expiry",
        }
    }
}

/// One dated event.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Event {
    pub at: OffsetDateTime,
    pub kind: EventKind,
    pub what: String,
    /// Fingerprints of the certificates concerned (copies on several nodes of the same
    /// certificate kind expiring at the same instant are one event).
    pub fingerprints: Vec<String>,
    /// Nodes holding the certificate.
    pub nodes: Vec<String>,
}

/// Build the calendar for live certificates from `from` on (past events are dropped, except the
/// markers), with the renew window in days.
pub fn build(
    inv: &Inventory,
    from: OffsetDateTime,
    window_days: u32,
    collected: &[(String, OffsetDateTime)],
    annotated: &[(String, OffsetDateTime)],
) -> Vec<Event> {
    let mut out = Vec::new();
    for (node, t) in annotated {
        if *t >= from {
            out.push(Event {
                at: *t,
                kind: EventKind::AnnotatedExpiry,
                what: "closest rke2 certificate expiry recorded by Harvester (rke2-cert-info)"
                    .into(),
                fingerprints: Vec::new(),
                nodes: vec![node.clone()],
            });
        }
    }
    for (name, t) in collected {
        out.push(Event {
            at: *t,
            kind: EventKind::Collected,
            what: format!("{name} collected"),
            fingerprints: Vec::new(),
            nodes: Vec::new(),
        });
    }
    out.push(Event {
        at: from,
        kind: EventKind::Reference,
        what: "reference time".into(),
        fingerprints: Vec::new(),
        nodes: Vec::new(),
    });
    for (fp, e) in &inv.certs {
        if e.in_use != InUse::Live {
            continue;
        }
        let mut nodes: Vec<String> = e
            .locations
            .iter()
            .filter_map(|l| l.node.as_deref().map(str::to_string))
            .collect();
        nodes.sort();
        nodes.dedup();
        let name = e
            .cert
            .subject_cn()
            .map(str::to_string)
            .unwrap_or_else(|| e.cert.subject().to_string());
        let kind = if e.cert.is_ca { "CA" } else { "certificate" };
        let mut push = |at: OffsetDateTime, k: EventKind, what: String| {
            if at >= from {
                out.push(Event {
                    at,
                    kind: k,
                    what,
                    fingerprints: vec![fp.to_string()],
                    nodes: nodes.clone(),
                });
            }
        };
        // Before the year -9999 is before any reference time: no event.
        if !e.cert.is_ca
            && let Some(opens) = e
                .cert
                .not_after
                .checked_sub(Duration::days(i64::from(window_days)))
        {
            push(
                opens,
                EventKind::EntersRenewWindow,
                format!("{kind} {name} enters the {window_days}-day renew window"),
            );
        }
        push(
            e.cert.not_after,
            EventKind::Expires,
            format!("{kind} {name} expires"),
        );
        for issuer in &e.issuers {
            if let Some(ca) = inv.certs.get(issuer)
                && ca.cert.not_after < e.cert.not_after
                && issuer != fp
            {
                let ca_name = ca.cert.subject_cn().map(str::to_string).unwrap_or_default();
                push(
                    ca.cert.not_after,
                    EventKind::IssuerExpires,
                    format!("{kind} {name} stops verifying: its issuer {ca_name} expires first"),
                );
            }
        }
    }
    out.sort();
    // One line per (instant, kind, what): the nodes and fingerprints of every copy together.
    let mut merged: Vec<Event> = Vec::new();
    for e in out {
        match merged.last_mut() {
            Some(last) if last.at == e.at && last.kind == e.kind && last.what == e.what => {
                last.nodes.extend(e.nodes);
                last.fingerprints.extend(e.fingerprints);
            }
            _ => merged.push(e),
        }
    }
    for e in &mut merged {
        e.nodes.sort();
        e.nodes.dedup();
        e.fingerprints.sort();
        e.fingerprints.dedup();
    }
    merged
}

/// The `closestExpiryTime` of every Node's `harvesterhci.io/rke2-cert-info` annotation.
pub fn annotated_expiries(snap: &crate::snapshot::Snapshot) -> Vec<(String, OffsetDateTime)> {
    let mut out = Vec::new();
    for o in snap.objects_of("Node") {
        let Some(raw) = o.annotation("harvesterhci.io/rke2-cert-info") else {
            continue;
        };
        let Ok(v) = serde_json::from_str::<serde_json::Value>(raw) else {
            continue;
        };
        if let Some(t) = v
            .get("closestExpiryTime")
            .and_then(|t| t.as_str())
            .and_then(crate::timefmt::parse_rfc3339)
        {
            out.push((o.name.clone(), t));
        }
    }
    out.sort();
    out
}
