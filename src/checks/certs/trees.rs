//! Staged and backup certificate trees (CERT015, info): what each holds and where, so nobody
//! applies stale material later or forgets keys lying in a backup.

use std::collections::{BTreeMap, BTreeSet};

use super::host_of;
use crate::checks::common::instant;
use crate::checks::rule::{Findings, Need, Rule, Verdict};
use crate::checks::{Context, Origin, Severity};
use crate::layout;
use crate::model::inventory::InUse;

/// Staged and backup certificate trees present.
pub static CERT015: Rule = Rule {
    code: "CERT015",
    severity: Severity::Info,
    title: "staged and backup certificate trees present",
    source: "reference/rke2-pki.md §3.1",
    needs: &[Need::NodeFiles],
    doc: r#"**What it reads.** The certificate inventory's locations on nodes: *staged* trees
(`server/rotate-ca/`, `/opt/rke2/server/`) and *backup* trees (`server/tls-<unix>/`,
`agent/tls-<unix>/`, left by `rke2 certificate rotate`).

**What it reports.** One finding per node and tree: staged or backup, the tree's root (target), how
many certificates and CAs it holds, the oldest and newest NotBefore, and the first NotAfter.
Expiry rules do not judge these copies; this rule lists them.

**Why it matters.** A staged rotation waits for `rke2 certificate rotate-ca --path=…`; applying a
stale staging tree later replaces the live CAs with old material. Backups hold private keys and are
not used by rke2.

**Remediation.** Finish or remove a staged rotation; keep the newest backup until the new
certificates are proven, then remove older ones.

**Pass** when node certificates were read and no such tree exists. **Not evaluable** without node
snapshots.

**Source.** `reference/rke2-pki.md` §3.1 (`rotate` backs `tls/` up to `tls-<unix>/`), §3.2;
rules.md CERT015 and "In use".
"#,
    evaluate: cert015,
};

/// One staged or backup tree on one node.
struct Tree<'a> {
    in_use: InUse,
    source: &'a str,
    logical_root: String,
    certs: BTreeSet<&'a str>,
    cas: BTreeSet<&'a str>,
    oldest: Option<time::OffsetDateTime>,
    newest: Option<time::OffsetDateTime>,
    first_expiry: Option<time::OffsetDateTime>,
}

/// The staged and backup trees by (node, root), or `None` when no certificate of the inputs
/// comes from a node.
fn trees<'a>(cx: &Context<'a>) -> Option<BTreeMap<(&'a str, String), Tree<'a>>> {
    let mut trees: BTreeMap<(&str, String), Tree> = BTreeMap::new();
    let mut any_node_cert = false;
    for (fp, e) in &cx.model.certs.certs {
        for l in &e.locations {
            let Some(node) = l.node.as_deref() else {
                continue;
            };
            any_node_cert = true;
            if !matches!(l.in_use, InUse::Staged | InUse::Backup) {
                continue;
            }
            let host = host_of(l);
            let Some(root) = layout::tree_root(host).map(str::to_string) else {
                continue;
            };
            let prefix_len = l.path.len().saturating_sub(host.len());
            let logical_root = format!("{}{root}", l.path.get(..prefix_len).unwrap_or(""));
            let t = trees.entry((node, root)).or_insert_with(|| Tree {
                in_use: l.in_use,
                source: &l.source,
                logical_root,
                certs: BTreeSet::new(),
                cas: BTreeSet::new(),
                oldest: None,
                newest: None,
                first_expiry: None,
            });
            t.certs.insert(fp);
            if e.cert.is_ca {
                t.cas.insert(fp);
            }
            let nb = e.cert.not_before;
            t.oldest = Some(t.oldest.map_or(nb, |o| o.min(nb)));
            t.newest = Some(t.newest.map_or(nb, |o| o.max(nb)));
            let na = e.cert.not_after;
            t.first_expiry = Some(t.first_expiry.map_or(na, |o| o.min(na)));
        }
    }
    any_node_cert.then_some(trees)
}

fn cert015(cx: &Context, out: &mut Findings) -> Verdict {
    let Some(trees) = trees(cx) else {
        return Verdict::not_evaluable("no certificate from a node in the inputs", Need::NodeFiles);
    };
    let opt = |t: Option<time::OffsetDateTime>| t.map(instant).unwrap_or_default();
    for ((node, root), t) in &trees {
        let kind = t.in_use.as_str();
        out.add(
            Some(node.to_string()),
            Some(root.clone()),
            format!(
                "{kind} tree {root} on {node}: {} certificate(s), {} of them CAs; issued from {} to {}, the first expires at {}",
                t.certs.len(),
                t.cas.len(),
                opt(t.oldest),
                opt(t.newest),
                opt(t.first_expiry)
            ),
            vec![Origin::new(t.source.to_string(), t.logical_root.clone())],
            if t.in_use == InUse::Staged {
                "a staged CA rotation waits for `rke2 certificate rotate-ca --path=…`: finish it (servers first, then agents) or remove the staging directory so nobody applies stale material later".into()
            } else {
                "backups left by `rke2 certificate rotate` are not used by rke2: keep the newest until the new certificates are proven, then remove old ones (they hold private keys)".into()
            },
        );
    }
    Verdict::judged(
        format!("{} staged or backup tree(s)", trees.len()),
        "no staged (server/rotate-ca, /opt/rke2/server) or backup (tls-<unix>) certificate tree on the nodes",
    )
}
