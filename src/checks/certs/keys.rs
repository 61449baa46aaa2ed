//! CA keys kept on cluster members (CERT011): a custom root's or intermediate's private key left
//! on a node (high), and cross-signing root keys appended to a cluster CA's key file by a
//! self-signed CA rotation (low, informational).

use crate::checks::rule::{Findings, Need, Rule, Verdict};
use crate::checks::{Context, Origin, Severity};
use crate::layout::{self, CaFile};
use crate::model::{KeyFile, KeyList};

/// Off-cluster keys of a custom CA: `generate-custom-ca-certs.sh` reads them from the target
/// directory when present, and writes them there when it makes a new root or intermediate.
const OFF_CLUSTER_KEYS: [&str; 2] = ["root-ca.key", "intermediate-ca.key"];

/// CA keys on cluster members.
pub static CERT011: Rule = Rule {
    code: "CERT011",
    severity: Severity::High,
    title: "custom root or intermediate CA key left on a cluster member, or root keys appended to a CA key",
    source: "seeds/rke2-certificate-management.txt (CM), reference/rke2-pki.md §4",
    needs: &[Need::NodeFiles],
    doc: r#"**What it reads.** The key files of every node in the credential model (private keys, or the
`.pub-fingerprint` stand-ins a node snapshot may carry in their place), live, staged and backup trees
alike. No key material is shown: findings name the file and the public-key hash.

**What it reports.**
- High: a `root-ca.key` or `intermediate-ca.key` on a node. The custom-CA example script reads
  them from `server/tls/` when the operator places them there, and writes them there when it
  generates a new root or intermediate; rke2 itself never needs them.
- Low (informational): a cluster CA key file (`server-ca.key`, `client-ca.key`,
  `request-header-ca.key`, `etcd/server-ca.key`, `etcd/peer-ca.key`) holding more than one key:
  `rotate-default-ca-certs.sh` appends the new self-signed root's key after the CA key, so the
  file carries a root key until the next rotation.

**Why it matters.** Whoever holds the root or intermediate key can sign certificates every node
of the cluster trusts, for as long as the root lives (20 years for the script's roots). Keeping
it on a cluster member puts it in every backup, snapshot and support bundle of that node; the
certificate-management guide says to back these files up off the cluster and bring them back
only for a rotation.

**Remediation.** Move `root-ca.key` and `intermediate-ca.key` to offline storage (keep a backup:
the next custom CA rotation needs them) and delete them from the node, including staging and
backup trees; the appended root keys of a self-signed rotation are expected and need no action
beyond knowing they are there.

**Not evaluable** without key files from the nodes (node snapshots).

**Source.** `seeds/rke2-certificate-management.txt` (custom CA files, "back up these files");
`reference/rke2-pki.md` §4.1 (`generate-custom-ca-certs.sh` inputs and outputs), §4.2
(`rotate-default-ca-certs.sh` appends the root key); rules.md CERT011.
"#,
    evaluate: cert011,
};

/// The evidence of a key file: its input and logical path.
fn evidence(f: &KeyFile) -> Vec<Origin> {
    vec![Origin::new(f.origin.input.clone(), f.origin.path.clone())]
}

/// True for a cluster CA's key file, live (`server/tls/`) or staged for `rotate-ca`
/// (`server/rotate-ca/tls/`).
fn is_cluster_ca_key(host: &str) -> bool {
    let staged = host
        .strip_prefix(layout::ROTATE_CA_DIR)
        .and_then(|r| r.strip_prefix("tls/"));
    CaFile::ALL.iter().any(|c| {
        let live = c.key_host_path();
        host == live || staged.is_some() && staged == live.strip_prefix(layout::SERVER_TLS_DIR)
    })
}

fn cert011(cx: &Context, out: &mut Findings) -> Verdict {
    if cx.model.keys.is_empty() {
        return Verdict::not_evaluable("no key file from a node in the inputs", Need::NodeFiles);
    }
    let mut high = 0;
    let mut appended = 0;
    for f in cx.model.keys.values() {
        let host = f.key_host();
        let name = layout::file_name(host);
        let spkis = f.spkis();
        let first = spkis
            .first()
            .map_or("unknown", |s| s.get(..16).unwrap_or(s));
        if OFF_CLUSTER_KEYS.contains(&name) {
            high += 1;
            out.add(
                Some(f.origin.node_name().to_string()),
                Some(host.to_string()),
                format!(
                    "{} on {} holds the private key of a custom CA (public key sha256 {first}): whoever reads this node can sign certificates the whole cluster trusts",
                    f.origin.host_path(), f.origin.node_name()
                ),
                evidence(f),
                "move the key to offline storage (keep a backup for the next custom CA rotation) and delete it from the node, including staging and backup trees".into(),
            );
            continue;
        }
        let keys = match &f.list {
            Ok(KeyList::Keys(v)) => v.len(),
            Ok(KeyList::Fingerprints(v)) => v.len(),
            Err(_) => 0,
        };
        if is_cluster_ca_key(host) && keys > 1 {
            appended += 1;
            out.add(
                Some(f.origin.node_name().to_string()),
                Some(host.to_string()),
                format!(
                    "{} on {} holds {keys} keys: the CA key then {} appended root key(s), as a self-signed CA rotation leaves them",
                    f.origin.host_path(),
                    f.origin.node_name(),
                    keys - 1
                ),
                evidence(f),
                "nothing to do for a self-signed rotation; know that this file now carries the new root's key as well".into(),
            )
            .severity = Severity::Low;
        }
    }
    Verdict::judged(
        format!(
            "{high} off-cluster CA key(s) on nodes, {appended} CA key file(s) with appended root keys, among {} key file(s)",
            cx.model.keys.len()
        ),
        format!(
            "no root-ca.key or intermediate-ca.key and no CA key file with appended keys among {} key file(s)",
            cx.model.keys.len()
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cluster_ca_keys_are_recognised_live_and_staged() {
        assert!(is_cluster_ca_key(
            "var/lib/rancher/rke2/server/tls/server-ca.key"
        ));
        assert!(is_cluster_ca_key(
            "var/lib/rancher/rke2/server/tls/etcd/peer-ca.key"
        ));
        assert!(is_cluster_ca_key(
            "var/lib/rancher/rke2/server/rotate-ca/tls/client-ca.key"
        ));
        assert!(!is_cluster_ca_key(
            "var/lib/rancher/rke2/server/tls/client-admin.key"
        ));
        assert!(!is_cluster_ca_key(
            "var/lib/rancher/rke2/server/rotate-ca/tls/client-root.key"
        ));
    }
}
