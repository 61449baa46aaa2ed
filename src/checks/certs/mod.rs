//! Certificate rules (CERT), judged from the inventory, the trust graph and the consistency
//! checks, one file per small family: `expiry` (CERT001 expired, CERT002 renew window, CERT004
//! not yet valid), `lifetime` (CERT003 CA within a year or outlived by a leaf, CERT016 component
//! self-signed certificates), `chain` (CERT005 chain broken, CERT010 weak crypto), `pairs`
//! (CERT006 key mismatch), `sans` (CERT009 serving certificate SANs), `keys` (CERT011 CA keys left on cluster members), `copies` (CERT007 CA differs between servers, CERT008 stale agent
//! copy), `kubeconfigs` (CERT012 kubeconfig with an expired or mismatched client certificate or a
//! stale CA), `objects` (CERT013 trust copies in bundle objects), `trees` (CERT015 staged and
//! backup trees).
//!
//! Expiry rules judge *live* certificates only (rules.md, "In use"); staged and backup ones are
//! listed by CERT015. Each finding names the node, the host path of the file and the
//! certificate's fingerprint prefix; evidence points at the input and the logical path. This file
//! holds what the families share.

pub mod bundle_expiry;
pub mod chain;
pub mod copies;
pub mod expiry;
pub mod keys;
pub mod kubeconfigs;
pub mod lifetime;
pub mod objects;
pub mod pairs;
pub mod sans;
pub mod trees;

use std::collections::{BTreeMap, BTreeSet};

use super::common::short;
use super::rule::{Findings, Need, Verdict};
use super::{Context, Origin, Severity};
use crate::model::certs::{CertEntry, Location};
use crate::model::inventory::InUse;

/// Live locations of a certificate grouped by node.
fn live_by_node(e: &CertEntry) -> BTreeMap<&str, Vec<&Location>> {
    let mut by: BTreeMap<&str, Vec<&Location>> = BTreeMap::new();
    for l in &e.locations {
        if l.in_use == InUse::Live
            && let Some(n) = l.node.as_deref()
        {
            by.entry(n).or_default().push(l);
        }
    }
    by
}

fn evidence_of(locs: &[&Location]) -> Vec<Origin> {
    locs.iter()
        .map(|l| {
            Origin::new(l.source.to_string(), l.path.to_string())
                .at((l.index > 0).then(|| format!("certificate #{}", l.index + 1)))
        })
        .collect()
}

fn host_of(l: &Location) -> &str {
    l.host_path.as_deref().unwrap_or(&l.path)
}

/// `CN=… (sha256 0a0fb0eebaa92171)`.
fn describe(e: &CertEntry) -> String {
    let name = e
        .cert
        .subject_cn()
        .map(str::to_string)
        .unwrap_or_else(|| e.cert.subject().to_string());
    format!("{name} (sha256 {})", short(e.cert.fingerprint_sha256()))
}

/// One finding per node holding a live copy of `e`, at the rule's severity or the one `severity`
/// gives; returns how many.
fn per_node(
    e: &CertEntry,
    out: &mut Findings,
    severity: Option<Severity>,
    message: impl Fn(&str, &[&Location]) -> String,
    remediation: impl Fn(&str) -> String,
) -> usize {
    let mut n = 0;
    for (node, locs) in live_by_node(e) {
        let Some(first) = locs.first() else { continue };
        let host = host_of(first);
        let f = out.add(
            Some(node.to_string()),
            Some(host.to_string()),
            message(node, &locs),
            evidence_of(&locs),
            remediation(host),
        );
        if let Some(s) = severity {
            f.severity = s;
        }
        n += 1;
    }
    n
}

/// `; also in a, b` when a certificate sits in several files of the node.
fn copies_note(locs: &[&Location]) -> String {
    if locs.len() < 2 {
        return String::new();
    }
    let others: Vec<&str> = locs.iter().skip(1).map(|l| host_of(l)).collect();
    format!("; also in {}", others.join(", "))
}

/// The live certificates and the nodes holding them, counted once per run (seven rules ask).
fn live_nodes<'c, 'a>(cx: &'c Context<'a>) -> &'c (usize, BTreeSet<&'a str>) {
    cx.live.get_or_init(|| {
        let mut count = 0;
        let mut nodes = BTreeSet::new();
        for e in cx.model.certs.certs.values() {
            let mut live = false;
            for l in &e.locations {
                if l.in_use == InUse::Live
                    && let Some(n) = l.node.as_deref()
                {
                    live = true;
                    nodes.insert(n);
                }
            }
            count += usize::from(live);
        }
        (count, nodes)
    })
}

/// The number of live certificates, or the not-evaluable verdict when the inputs hold none.
fn live_or_not_evaluable(cx: &Context) -> Result<usize, Verdict> {
    match live_nodes(cx).0 {
        0 => Err(Verdict::not_evaluable(
            "no live certificate (server/tls, agent, kubeconfigs) in the inputs",
            Need::NodeFiles,
        )),
        live => Ok(live),
    }
}

/// The cluster's current `ca`: the first certificate of every server's live file (several when
/// the servers disagree: CERT007 reports that), by fingerprint; empty without a server snapshot.
fn current_ca<'a>(cx: &Context<'a>, ca: crate::layout::CaFile) -> BTreeSet<&'a str> {
    cx.snapshot
        .servers()
        .into_iter()
        .filter_map(|s| {
            cx.model
                .digests
                .get(&(s.to_string(), ca.host_path().to_string()))
        })
        .filter_map(|d| d.first_cert.as_deref())
        .collect()
}
