//! Token rules (TOKEN): TOKEN001, a token pinning a CA hash other than the one the cluster's
//! servers give for their `server-ca.crt` by RKE2's hashCA rule (rules.md, "The CA hash").
//! Findings name the place of the token and the hashes (public values) — never the password.

use std::collections::BTreeSet;

use super::common::short;
use super::rule::{Findings, Need, Rule, Verdict};
use super::{Context, Severity};

/// Token pins a CA hash other than the cluster's server CA.
pub static TOKEN001: Rule = Rule {
    code: "TOKEN001",
    severity: Severity::Critical,
    title: "token pins a CA hash other than the cluster's server CA",
    source: "reference/rke2-pki.md §2",
    needs: &[Need::NodeFiles],
    doc: r#"**What it reads.** Every token of every node from the sources rules.md lists (`server/token`,
`server/agent-token`, `config.yaml` and drop-ins, `token-file` targets, rke2 unit environment files,
the rancherd config, `/oem` configs) in `K10<hash>::…` form, and the CA hash of each server's live
`server/tls/server-ca.crt` by RKE2's hashCA rule (one certificate: SHA-256 of the file; a bundle:
SHA-256 of the root's DER).

**What it reports.** One finding per token occurrence whose hash matches no server's: node, the
file (target) and line, the pinned hash prefix and the servers' hash. The password is never shown
(hashes of CA certificates are public).

**Why it matters.** A joining or restarting node checks the servers' CA against the hash in its
token and refuses to continue when they differ ("token CA hash does not match"). After a CA change,
or with `rotate-default-ca-certs.sh`'s leaf-CA hash, the node fails at its next start.

**Remediation.** Before the node's next start, set the token in every source to the cluster's
current `K10<hash>::…` form (the hash part of a server's `server/token`), or to the short form
without a hash.

**Not evaluable** without a server's `server-ca.crt` or without any token carrying a hash (support
bundles mask tokens): add node snapshots.

**Source.** `reference/rke2-pki.md` §2.2, §2.3; rules.md "The CA hash" and TOKEN001.
"#,
    evaluate: token001,
};

fn token001(cx: &Context, out: &mut Findings) -> Verdict {
    let served = &cx.model.served;
    let served_hex: BTreeSet<&str> = served.iter().map(|s| s.hash.hex.as_str()).collect();
    let pinning = cx
        .model
        .tokens
        .values()
        .flatten()
        .filter(|t| t.found.token.ca_hash.is_some())
        .count();
    if served.is_empty() || pinning == 0 {
        let reason = if served.is_empty() {
            "no server's server/tls/server-ca.crt in the inputs: the cluster's CA hash is unknown"
        } else {
            "no token in the inputs carries a CA hash (K10<hash>::…); collected bundles mask tokens"
        };
        return Verdict::not_evaluable(reason, Need::NodeFiles);
    }
    let expected: Vec<String> = served_hex.iter().map(|h| short(h).to_string()).collect();
    let expected = expected.join(" or ");
    for u in &cx.graph.unpinned {
        out.add(
            Some(u.node.clone()),
            Some(u.host_path.clone()),
            format!(
                "the token in {} on {} pins CA hash {}…, but the servers' server-ca.crt gives {expected}…: the node fails to join or restart against this cluster",
                u.host_path,
                u.node,
                short(&u.pinned_hash)
            ),
            vec![u.origin.clone().at(u.line.map(|l| l.to_string()))],
            "before the node's next rke2 start, set its token to the cluster's current K10<hash>::… form (the hash part of a server's /var/lib/rancher/rke2/server/token) or to the short form without a hash, in every source that sets it (config.yaml and drop-ins, rancherd config, /oem)".into(),
        );
    }
    let n = cx.graph.unpinned.len();
    Verdict::judged(
        format!("{n} of {pinning} token occurrence(s) with a CA hash pin another CA"),
        format!(
            "{pinning} token occurrence(s) with a CA hash, each pinning the servers' CA ({expected}…)"
        ),
    )
}
