//! Key and certificate pairs: CERT006, the first key of a `.key` (or its `.pub-fingerprint`
//! line) does not match the first certificate of the `.crt` beside it.

use crate::checks::rule::{Findings, Need, Rule, Verdict};
use crate::checks::{Context, Severity};
use crate::layout;
use crate::model::inventory::{InUse, in_use_of_host_path};
use crate::snapshot::Snapshot;

/// Private key does not match the first certificate of its pair.
pub static CERT006: Rule = Rule {
    code: "CERT006",
    severity: Severity::Critical,
    title: "private key does not match the first certificate of its pair",
    source: "reference/rke2-pki.md §1.0",
    needs: &[Need::NodeFiles],
    doc: r#"**What it reads.** The trust graph's key pairing: on every node, each `.key` file (or the
`.key.pub-fingerprint` stand-in a node snapshot may carry in its place) beside a `.crt` file, in the live,
staged and backup trees. As RKE2 does (Go's `tls.X509KeyPair`), the first key pairs with the first
certificate; further keys (cross-signing roots in `*-ca.key`, older keys in `service.key`) are not
compared. Keys are compared by public key; no key material is shown.

**What it reports.** One finding per pair that does not match: node, the certificate file (target),
the key file, and whether the pair is live, staged or backup.

**Why it matters.** rke2 cannot load the pair: the component using it (apiserver, etcd, kubelet)
fails to start, and a staged pair makes `rotate-ca` fail.

**Remediation.** Put back the key that belongs to the certificate (from a `tls-<unix>/` backup), or
delete both files and restart rke2 on the node so the pair is reissued; regenerate a staging
directory whose pair does not match.

**Not evaluable** when the inputs hold no key or `.pub-fingerprint` file beside a certificate (a
support bundle alone). Keys present but unreadable (encrypted, malformed) are counted in coverage.

**Source.** `reference/rke2-pki.md` §1.0 (leaf and key files), rules.md "Key pairing" and CERT006.
"#,
    evaluate: cert006,
};

/// True for a key (or key fingerprint) file beside a certificate, in a credential place.
fn has_key_pairs(snap: &Snapshot) -> bool {
    snap.nodes.values().any(|n| {
        n.files.keys().any(|h| {
            let stem = h
                .strip_suffix(".key.pub-fingerprint")
                .or_else(|| h.strip_suffix(".key"));
            stem.is_some_and(|s| {
                in_use_of_host_path(h).is_some()
                    && n.files.contains_key(format!("{s}.crt").as_str())
            })
        })
    })
}

fn cert006(cx: &Context, out: &mut Findings) -> Verdict {
    if !has_key_pairs(cx.snapshot) {
        return Verdict::not_evaluable(
            "no private key or .pub-fingerprint file beside a certificate in the inputs",
            Need::NodeFiles,
        );
    }
    for m in &cx.graph.mismatches {
        let place = in_use_of_host_path(layout::host_part(&m.cert.path))
            .map(InUse::as_str)
            .unwrap_or("live");
        out.add(
            Some(m.node.clone()),
            Some(m.cert.path.clone()),
            format!(
                "on {}, the first key of {} does not belong to the first certificate of {} ({place} pair): rke2 fails to load the pair",
                m.node, m.key.path, m.cert.path
            ),
            vec![
                m.cert.clone(),
                m.key.clone(),
            ],
            "put back the key that belongs to the certificate (from a backup server/tls-<unix>/), or delete both files and restart rke2 on the node so the pair is reissued; for a staged pair, regenerate the staging directory".into(),
        );
    }
    let unread = if cx.graph.key_problems.is_empty() {
        String::new()
    } else {
        format!(
            "; {} key file(s) present but not read (see the graph's key problems)",
            cx.graph.key_problems.len()
        )
    };
    let n = cx.graph.mismatches.len();
    Verdict::judged(
        format!("{n} key/certificate pair(s) do not match{unread}"),
        format!("every key beside a certificate pairs with its first certificate{unread}"),
    )
}
