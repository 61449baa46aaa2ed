//! The certificates of the HTML report grouped once, for the trust graph, the timeline and the
//! node sections alike: the CAs (every CA certificate and every certificate that signs another),
//! and per node (or "bundle objects" for certificates held by no node) the leaves grouped by the
//! CA that issued them. A leaf group has one number, used as the anchor (`g<N>`) that the graph's
//! box links to and the node section's list carries, so "n17: 34 leaves" opens its list.

use std::collections::{BTreeMap, BTreeSet};

use crate::model::certs::{CertEntry, Inventory, JudgeAt, Status};
use crate::pki::ChainStatus;

/// What issued a group of leaves: the issuers' fingerprints (sorted), or, when no certificate
/// of the inputs signs them, why (self-signed, or the issuer's name as the leaf gives it).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum IssuerKey {
    Cas(Vec<String>),
    SelfSigned,
    Missing(String),
}

/// Leaves of one node issued by the same CA(s).
#[derive(Debug)]
pub struct LeafGroup<'a> {
    /// The group's number (anchor `g<id>`), in node order then issuer order.
    pub id: usize,
    pub issuer: IssuerKey,
    pub certs: Vec<&'a CertEntry>,
}

/// The certificates one node holds (or the bundle's objects hold, when `node` is `None`).
#[derive(Debug)]
pub struct NodeCerts<'a> {
    pub node: Option<&'a str>,
    /// The node's number (anchor `node<N>`).
    pub id: usize,
    pub cas: Vec<&'a CertEntry>,
    pub leaves: Vec<LeafGroup<'a>>,
}

/// Every certificate, grouped.
#[derive(Debug)]
pub struct Groups<'a> {
    pub inv: &'a Inventory,
    pub at: JudgeAt,
    /// Fingerprints of the CAs, sorted.
    pub cas: BTreeSet<&'a str>,
    /// Nodes by name, the certificates held by no node last.
    pub nodes: Vec<NodeCerts<'a>>,
}

impl<'a> Groups<'a> {
    /// Group the inventory; `nodes` are the snapshot's node names (a node with no certificate
    /// still gets its section).
    pub fn new(inv: &'a Inventory, at: JudgeAt, nodes: impl IntoIterator<Item = &'a str>) -> Self {
        let mut cas: BTreeSet<&str> = BTreeSet::new();
        for (fp, e) in &inv.certs {
            if e.cert.is_ca {
                cas.insert(fp);
            }
            for i in &e.issuers {
                if i != fp
                    && let Some((k, _)) = inv.certs.get_key_value(i)
                {
                    cas.insert(k);
                }
            }
        }
        type PerNode<'a> = (Vec<&'a CertEntry>, BTreeMap<IssuerKey, Vec<&'a CertEntry>>);
        let mut by_node: BTreeMap<Option<&str>, PerNode<'a>> = BTreeMap::new();
        for n in nodes {
            by_node.entry(Some(n)).or_default();
        }
        for (fp, e) in &inv.certs {
            let mut held: BTreeSet<Option<&str>> =
                e.locations.iter().map(|l| l.node.as_deref()).collect();
            if held.is_empty() {
                held.insert(None);
            }
            let is_ca = cas.contains(fp.as_str());
            for n in held {
                let slot = by_node.entry(n).or_default();
                if is_ca {
                    slot.0.push(e);
                } else {
                    slot.1.entry(issuer_key(e)).or_default().push(e);
                }
            }
        }
        // `None` sorts first in the map: the bundle's objects go last on the page.
        let mut ordered: Vec<(Option<&str>, PerNode<'a>)> = by_node.into_iter().collect();
        let objects_first = ordered.first().is_some_and(|(n, _)| n.is_none());
        ordered.rotate_left(usize::from(objects_first));
        let mut next_group = 0;
        let nodes = ordered
            .into_iter()
            .enumerate()
            .map(|(id, (node, (cas, leaves)))| NodeCerts {
                node,
                id,
                cas,
                leaves: leaves
                    .into_iter()
                    .map(|(issuer, certs)| {
                        next_group += 1;
                        LeafGroup {
                            id: next_group - 1,
                            issuer,
                            certs,
                        }
                    })
                    .collect(),
            })
            .collect();
        Groups {
            inv,
            at,
            cas,
            nodes,
        }
    }

    /// A certificate's status at the reference time.
    pub fn status(&self, e: &CertEntry) -> Status {
        e.status_at(self.at.at, self.at.window_days)
    }

    /// The name of an issuer key as a group's title says it.
    pub fn issuer_name(&self, k: &IssuerKey) -> String {
        match k {
            IssuerKey::Cas(fps) => fps
                .iter()
                .map(|fp| match self.inv.certs.get(fp.as_str()) {
                    Some(ca) => name(ca),
                    None => fp.get(..12).unwrap_or(fp).to_string(),
                })
                .collect::<Vec<_>>()
                .join(" + "),
            IssuerKey::SelfSigned => "self-signed".into(),
            IssuerKey::Missing(dn) => format!("{dn} (not in the inputs)"),
        }
    }
}

/// A certificate's common name, else its subject.
pub fn name(e: &CertEntry) -> String {
    e.cert
        .subject_cn()
        .map(str::to_string)
        .unwrap_or_else(|| e.cert.subject().to_string())
}

/// The nodes holding a certificate, sorted, each once.
pub fn nodes_of(e: &CertEntry) -> Vec<&str> {
    let mut nodes: Vec<&str> = e
        .locations
        .iter()
        .filter_map(|l| l.node.as_deref())
        .collect();
    nodes.sort_unstable();
    nodes.dedup();
    nodes
}

/// `1 leaf`, `34 leaves`.
pub fn leaves(n: usize) -> String {
    format!("{n} lea{}", if n == 1 { "f" } else { "ves" })
}

/// The issuer key of a leaf.
fn issuer_key(e: &CertEntry) -> IssuerKey {
    let mut fps: Vec<String> = e
        .issuers
        .iter()
        .filter(|i| **i != e.cert.fingerprint_sha256())
        .map(|i| i.to_string())
        .collect();
    if !fps.is_empty() {
        fps.sort();
        fps.dedup();
        return IssuerKey::Cas(fps);
    }
    if e.chain == ChainStatus::SelfSigned || e.cert.subject() == e.cert.issuer() {
        IssuerKey::SelfSigned
    } else {
        IssuerKey::Missing(
            e.cert
                .issuer_cn()
                .map(str::to_string)
                .unwrap_or_else(|| e.cert.issuer().to_string()),
        )
    }
}

/// Counts of a set of certificates by status at the reference time.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Tally {
    pub ok: usize,
    pub warning: usize,
    pub expired: usize,
    pub not_yet_valid: usize,
}

impl Tally {
    pub fn of<'e>(g: &Groups<'_>, certs: impl IntoIterator<Item = &'e CertEntry>) -> Tally {
        let mut t = Tally::default();
        for e in certs {
            t.add(g.status(e));
        }
        t
    }

    pub fn add(&mut self, s: Status) {
        match s {
            Status::Ok => self.ok += 1,
            Status::Warning => self.warning += 1,
            Status::Expired => self.expired += 1,
            Status::NotYetValid => self.not_yet_valid += 1,
        }
    }

    pub fn total(&self) -> usize {
        self.ok + self.warning + self.expired + self.not_yet_valid
    }

    /// The worst status present (expired, then expiring, then not yet valid).
    pub fn worst(&self) -> Status {
        if self.expired > 0 {
            Status::Expired
        } else if self.warning > 0 {
            Status::Warning
        } else if self.not_yet_valid > 0 {
            Status::NotYetValid
        } else {
            Status::Ok
        }
    }

    /// `3 expired · 2 expiring` (only the non-zero counts), or `valid`.
    pub fn words(&self) -> String {
        let parts: Vec<String> = [
            (self.expired, "expired"),
            (self.warning, "expiring"),
            (self.not_yet_valid, "not yet valid"),
        ]
        .iter()
        .filter(|(n, _)| *n > 0)
        .map(|(n, w)| format!("{n} {w}"))
        .collect();
        if parts.is_empty() {
            "valid".into()
        } else {
            parts.join(" · ")
        }
    }
}
