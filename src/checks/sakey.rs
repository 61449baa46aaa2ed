//! Service-account key rules (SAKEY): `service.current.key` must be the first key of
//! `service.key` (SAKEY001), `service.key` must be the same list on every server (SAKEY002), and
//! no key of it may be RSA under 2048 bits (SAKEY003). Keys are compared by public key
//! (SubjectPublicKeyInfo SHA-256), so a collected `.pub-fingerprint` file stands for the key it
//! replaced; no key material is ever shown.

use super::common::{cross_server_gate, disagreement_findings, short};
use super::rule::{Findings, Need, Rule, Verdict};
use super::{Context, Origin, Severity};
use crate::layout;
use crate::model::KeyList;
use crate::pki::KeyAlgorithm;
use crate::snapshot::Snapshot;

/// Service.current.key is not the first key of service.key.
pub static SAKEY001: Rule = Rule {
    code: "SAKEY001",
    severity: Severity::High,
    title: "service.current.key is not the first key of service.key",
    source: "reference/rke2-pki.md §5",
    needs: &[Need::NodeFiles],
    doc: r#"**What it reads.** The consistency checks on every server: the public keys of
`server/tls/service.key` (the verification list, all keys) and `service.current.key` (the signing
key), or their `.pub-fingerprint` forms. No key material is shown.

**What it reports.** One finding per server whose current key is not the first of `service.key`:
its position in the list, or that it is absent.

**Why it matters.** RKE2 writes `service.current.key` from the first key of `service.key` at every
start. A list edited without a restart or `rotate-ca` means the next start switches the key that
signs service-account tokens; if the old key is gone from the list, every issued token is rejected.

**Remediation.** Change service-account keys through `rke2 certificate rotate-ca --path=…` with the
new key first and the old ones after it, then restart every server; restore a hand-edited list whose
first key is the current signing key.

**Not evaluable** when no server's `service.key` and `service.current.key` are in the inputs (node
snapshots of the servers).

**Source.** `reference/rke2-pki.md` §5 (deps.go `genServiceAccount`); rules.md SAKEY001.
"#,
    evaluate: sakey001,
};

/// Service.key differs between servers.
pub static SAKEY002: Rule = Rule {
    code: "SAKEY002",
    severity: Severity::Critical,
    title: "service.key differs between servers",
    source: "reference/rke2-pki.md §5",
    needs: &[Need::TwoServers],
    doc: r#"**What it reads.** The consistency checks: the list of public keys in `server/tls/service.key` (or
its `.pub-fingerprint` form) on every server.

**What it reports.** When a strict majority of the servers share one list, one finding per server
holding another; without a majority, one finding naming every version. Each version is given by
its servers, its number of keys and its first key's public-key fingerprint prefix.

**Why it matters.** Every apiserver verifies service-account tokens with `service.key`; a token
signed on one server with a key another server does not list is rejected there, so workloads fail
depending on which apiserver they reach.

**Remediation.** Distribute one list to every server (`rke2 certificate rotate-ca --path=…`), with
every older key kept after the current one, then restart every server.

**Not applicable** with a single server. **Not evaluable** when fewer than two servers'
`service.key` are in the inputs.

**Source.** `reference/rke2-pki.md` §5; rules.md SAKEY002.
"#,
    evaluate: sakey002,
};

/// RSA key under 2048 bits in a server's service.key.
pub static SAKEY003: Rule = Rule {
    code: "SAKEY003",
    severity: Severity::Medium,
    title: "RSA key under 2048 bits in a server's service.key",
    source: "reference/rke2-pki.md §5",
    needs: &[Need::NodeFiles],
    doc: r#"**What it reads.** `var/lib/rancher/rke2/server/tls/service.key` on every node that holds it: each
key's algorithm, size and public-key (SubjectPublicKeyInfo) SHA-256. No private material is shown.

**What it reports.** One finding per weak key and node: the key's position in service.key, its
public-key hash prefix and its size. Evidence points at the file with the key number.

**Why it matters.** service.key holds the keys the apiserver uses to verify service-account tokens
(the first one also signs them, as service.current.key). An RSA key under 2048 bits is below current
guidance and refused by hardened profiles; tokens it signs can be forged more cheaply.

**Remediation.** Generate an RSA 2048+ (or ECDSA) key and install it with
`rke2 certificate rotate-ca --path=…` (new key first in service.key, older keys kept after it until
the tokens they signed expire), then restart every server; drop the weak key once unused.

**Not evaluable** without a readable service.key (node snapshots of servers); a collected
`.pub-fingerprint` form carries no key size.

**Source.** `reference/rke2-pki.md` §5; rules.md SAKEY003.
"#,
    evaluate: sakey003,
};

fn holds(snap: &Snapshot, node: &str, host: &str) -> bool {
    snap.nodes.get(node).is_some_and(|n| {
        n.files.contains_key(host)
            || n.files
                .contains_key(format!("{host}{}", layout::FINGERPRINT_SUFFIX).as_str())
    })
}

fn sakey001(cx: &Context, out: &mut Findings) -> Verdict {
    let snap = cx.snapshot;
    let checked: Vec<&str> = snap
        .nodes
        .keys()
        .map(String::as_str)
        .filter(|n| {
            holds(snap, n, layout::SERVICE_KEY) && holds(snap, n, layout::SERVICE_CURRENT_KEY)
        })
        .collect();
    if checked.is_empty() {
        return Verdict::not_evaluable(
            "no server with both server/tls/service.key and service.current.key (or their .pub-fingerprint forms) in the inputs",
            Need::NodeFiles,
        );
    }
    for p in &cx.consistency.current_key {
        let place = match p.position {
            Some(i) => format!("is key #{} of service.key, not the first", i + 1),
            None => "is not in service.key at all".into(),
        };
        out.add(
            Some(p.node.clone()),
            Some(layout::SERVICE_CURRENT_KEY.to_string()),
            format!(
                "on {}, service.current.key (the key that signs service-account tokens) {place}: at the next start rke2 rewrites it from service.key's first key and switches the signing key",
                p.node
            ),
            vec![p.origin.clone()],
            "change service-account keys only through `rke2 certificate rotate-ca --path=…` with the new key first and the old keys kept after it, then restart every server; if service.key was edited by hand, restore the list whose first key is the current signing key".into(),
        );
    }
    let n = cx.consistency.current_key.len();
    let nodes = checked.join(",");
    Verdict::judged(
        format!("{n} of {} server(s) ({nodes})", checked.len()),
        format!("service.current.key is service.key's first key on {nodes}"),
    )
}

fn sakey002(cx: &Context, out: &mut Findings) -> Verdict {
    let snap = cx.snapshot;
    let holders: Vec<&str> = snap
        .servers()
        .into_iter()
        .filter(|s| holds(snap, s, layout::SERVICE_KEY))
        .collect();
    if let Some(v) = cross_server_gate(snap, &holders, "service.key") {
        return v;
    }
    for d in &cx.consistency.disagreements {
        if !d.file.ends_with("service.key") {
            continue;
        }
        disagreement_findings(
            d,
            out,
            |v| {
                let keys = v.sha256.split(',').filter(|k| !k.is_empty()).count();
                format!(
                    "{keys} key(s), the first with public key sha256 {}",
                    v.first.as_deref().map(short).unwrap_or("unparsable")
                )
            },
            "make service.key the same list on every server (the datastore's copy: distribute it with `rke2 certificate rotate-ca --path=…`), keeping every older key after the current one, then restart every server; tokens signed on one server fail verification on another until then",
        );
    }
    let compared = holders.join(",");
    Verdict::judged(
        format!("service.key differs between {compared}"),
        format!("service.key holds the same keys on {compared}"),
    )
}

fn sakey003(cx: &Context, out: &mut Findings) -> Verdict {
    let path = layout::SERVICE_KEY.to_string();
    let mut checked = Vec::new();
    let mut n = 0;
    for node in cx.snapshot.nodes.values() {
        let Some(f) = cx.model.keys.get(&(node.name.clone(), path.clone())) else {
            continue;
        };
        let Ok(KeyList::Keys(keys)) = &f.list else {
            continue;
        };
        checked.push(node.name.as_str());
        for k in keys {
            let Some(bits) = k.bits else { continue };
            if !matches!(k.algorithm, Some(KeyAlgorithm::Rsa | KeyAlgorithm::RsaPss))
                || bits >= 2048
            {
                continue;
            }
            let spki = k.spki_sha256.as_deref().map(short).unwrap_or("unknown");
            out.add(
                Some(node.name.clone()),
                Some(path.clone()),
                format!(
                    "on {}, key #{} of service.key (public key sha256 {spki}) is RSA of {bits} bits, under 2048: service-account tokens it signs or verifies rest on a weak key",
                    node.name,
                    k.index + 1
                ),
                vec![Origin::new(f.origin.input.clone(), f.origin.path.clone()).at(Some(format!("key #{}", k.index + 1)))],
                "generate an RSA 2048+ (or ECDSA) service-account key and install it with `rke2 certificate rotate-ca --path=…` (new key first in service.key, older keys kept after it until their tokens expire), then restart every server; drop the weak key once no token it signed is in use".into(),
            );
            n += 1;
        }
    }
    if checked.is_empty() {
        return Verdict::not_evaluable(
            "no readable server/tls/service.key in the inputs (a .pub-fingerprint form carries no key size)",
            Need::NodeFiles,
        );
    }
    let nodes = checked.join(",");
    Verdict::judged(
        format!("{n} RSA key(s) under 2048 bits in service.key on {nodes}"),
        format!("no RSA key under 2048 bits in service.key on {nodes}"),
    )
}
