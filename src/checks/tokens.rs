//! Token rules (TOKEN). TOKEN001: a token pinning a CA hash other than the one the cluster's
//! servers give for their `server-ca.crt` by RKE2's hashCA rule (rules.md, "The CA hash").
//! TOKEN002: a joining node presents a token without a CA hash (info on Harvester). TOKEN004: a
//! server's agent token has the server token's password (not applicable on Harvester). TOKEN005:
//! servers present different server token passwords.
//!
//! The tokens a node uses and the server it joins come from the model ([`NodeJoin`]); passwords
//! are compared in memory ([`Secret`]'s constant-time equality). Findings name the places of the
//! tokens and, with `--fingerprint-key`, keyed fingerprints — never a password.

use std::collections::BTreeSet;

use super::common::{cross_server_gate, short};
use super::rule::{Findings, Need, Rule, Verdict};
use super::{Context, Origin, Severity};
use crate::layout;
use crate::model::tokens::{JoinServer, NodeJoin, NodeToken};
use crate::pki::secret::{Secret, is_placeholder};
use crate::pki::token::TokenForm;
use crate::snapshot::Snapshot;

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

/// A token without a CA hash on a joining node.
pub static TOKEN002: Rule = Rule {
    code: "TOKEN002",
    severity: Severity::Medium,
    title: "a joining node's token carries no CA hash",
    source: "seeds/harvester-credentials.txt; reference/rke2-pki.md §2.3",
    needs: &[Need::NodeFiles],
    doc: r#"**What it reads.** For every node, the server token its rke2 presents when it starts, by
RKE2's precedence: the `token` of `config.yaml` and its drop-ins after the merge, then
`RKE2_TOKEN` of a unit environment file, then the target of `token-file`, then that of
`RKE2_TOKEN_FILE`, then (on a server) `server/token`; and whether the node joins a cluster: its
merged config sets `server:` (or a unit environment file sets `RKE2_URL`), or it is an agent.
Harvester is recognised by its version (the `server-version` setting or `harvester-release.yaml`)
or by `/oem/harvester.config` on a node.

**What it reports.** One finding per joining node whose token is in short form (`<password>` or a
bare bootstrap token) or `K10::…` without a hash: node, the file (target) and line of the token,
its form and the server it joins. The password is never shown. Medium; **info on Harvester**,
whose installer asks for one cluster token that every other node uses to join, and which does
not allow changing that token.

A server that names no `server:` starts a cluster of its own (the first server): rke2's token
documentation says only the short token can start the first server unless custom CAs already
exist, so its token is not judged. Other occurrences (rancherd config, `/oem` files, copies
rke2 does not read) are not judged either: TOKEN001 judges every hash they pin.

**Why it matters.** A joining node (and an agent at every restart) fetches the servers' CA from
`/cacerts`; with a hash in its token it checks the CA against it and refuses an impostor. Without
one it trusts the CA it downloads (after the OS trust store fails) and logs "token does not
include a CA hash": whoever answers at the server address on first contact is trusted.

**Remediation.** Give joining nodes the full token from a server's
`/var/lib/rancher/rke2/server/token` (`K10<hash>::server:<password>`, or an agent token
`K10<hash>::node:<password>`) in every source that sets it; after a CA change, update the hash
(TOKEN001). On Harvester, nothing needs to change: the short cluster token is how Harvester
joins nodes; keep it secret.

**Not evaluable** when no joining node's token is readable (support bundles mask the tokens of
node configs): add node snapshots.

**Source.** `seeds/harvester-credentials.txt` (the cluster token); `reference/rke2-pki.md` §2.1,
§2.3; rules.md TOKEN002.
"#,
    evaluate: token002,
};

/// A server's agent token has the server token's password.
pub static TOKEN004: Rule = Rule {
    code: "TOKEN004",
    severity: Severity::Medium,
    title: "the agent token's password equals the server token's",
    source: "reference/rke2-pki.md §2.4",
    needs: &[Need::NodeFiles],
    doc: r#"**What it reads.** On every server, the server token and the agent token its rke2 uses, each by
RKE2's precedence (config after the merge, unit environment, `token-file`/`agent-token-file`
targets, then the `server/token` and `server/agent-token` files it wrote). Passwords are compared
in memory; none is shown.

**What it reports.** One finding per server whose agent token has the server token's password,
naming the places of both (and keyed fingerprints with `--fingerprint-key`). When no agent token
is set, rke2 makes `server/agent-token` a link to `server/token`: the finding says so.

**Why it matters.** The agent token (user `node`) only joins agents; the server token (user
`server`) joins servers too and is the passphrase of the bootstrap data in the datastore (CA keys,
service-account keys). When the agent token defaults to the server password, every agent (and
every install script or automation that joins one) holds the key to the cluster's CAs.

**Remediation.** Set a separate agent token on every server (`agent-token` in `config.yaml`, or
`RKE2_AGENT_TOKEN`; it can be set before or after the cluster has started), restart the servers
one at a time, and give agents `K10<hash>::node:<agent password>` instead of the server token.

**Not applicable** on Harvester: one cluster token joins every node and Harvester sets no agent
token. **Not evaluable** when no server's server and agent tokens are both readable (node
snapshots of the servers).

**Source.** `reference/rke2-pki.md` §2.4 (deps.go `genUsers`, `getNodePass`; rke2 token docs);
rules.md TOKEN004.
"#,
    evaluate: token004,
};

/// Servers present different server token passwords.
pub static TOKEN005: Rule = Rule {
    code: "TOKEN005",
    severity: Severity::High,
    title: "servers disagree on the server token password",
    source: "reference/rke2-pki.md §2.5",
    needs: &[Need::TwoServers],
    doc: r#"**What it reads.** On every server, the server token its rke2 presents at its next start, by
RKE2's precedence (config after the merge, `RKE2_TOKEN`, the `token-file` or `RKE2_TOKEN_FILE`
target, else `server/token`). Passwords are compared in memory; none is shown.

**What it reports.** When a strict majority of the servers share one password, one finding per
server using another; without a majority, one finding naming every server. Each names the file
and line of the server's token, and with `--fingerprint-key` keyed fingerprints of the passwords
(`hm:…`), so runs can be compared without revealing them.

**Why it matters.** The server token's password is the passphrase of the bootstrap data in the
datastore. A server starting with another password fails with "bootstrap data already found and
encrypted with different token" — the failure Harvester nodes showed after `rke2 token rotate`,
which does not change config files.

**Remediation.** Find the password the datastore is encrypted with (the one the running servers
started with, in their `server/token`), and set it in every source of every server (config and
drop-ins, unit environment, token files; on Harvester the `/oem` configs the rke2 config is
rendered from) before the next restart.

**Not applicable** with a single server. **Not evaluable** when fewer than two servers' tokens are
readable (support bundles mask them).

**Source.** `reference/rke2-pki.md` §2.5; `seeds/harvester-credentials.txt`; rules.md TOKEN005.
"#,
    evaluate: token005,
};

/// Why the cluster is a Harvester cluster, if it is one.
pub(super) fn harvester(snap: &Snapshot) -> Option<String> {
    if let Some(v) = &snap.cluster.harvester_version {
        return Some(format!("Harvester {v}"));
    }
    snap.nodes
        .values()
        .find(|n| n.files.contains_key(layout::OEM_HARVESTER_CONFIG))
        .map(|n| {
            format!(
                "Harvester (/{} on {})",
                layout::OEM_HARVESTER_CONFIG,
                n.name
            )
        })
}

/// `host/path:line` of a token occurrence.
pub(super) fn place(t: &NodeToken) -> String {
    match t.found.line {
        Some(l) => format!("{}:{l}", t.host_path),
        None => t.host_path.clone(),
    }
}

/// The evidence of a token occurrence.
pub(super) fn evidence(t: &NodeToken) -> Origin {
    Origin::new(t.source.as_str(), t.logical.as_str())
        .on(t.node.as_str(), t.host_path.as_str())
        .at(t.found.line.map(|l| l.to_string()))
}

/// The evidence of the place naming the server a node joins.
fn server_evidence(node: &str, s: &JoinServer) -> Origin {
    Origin::new(s.source.as_str(), s.logical.as_str())
        .on(node, s.host_path.as_str())
        .at(s.line.map(|l| l.to_string()))
}

/// True when the occurrence's password is a value, not a stand-in the collector left
/// (`K10<hash>::server:***`): only values are compared.
fn readable(t: &NodeToken) -> bool {
    !is_placeholder(t.found.token.password.expose())
}

/// ` (fingerprint hm:…)` with `--fingerprint-key`, else nothing.
fn keyed(cx: &Context, secret: &Secret) -> String {
    cx.key
        .map(|k| format!(" (fingerprint {})", k.fingerprint(secret)))
        .unwrap_or_default()
}

/// Each node's join record with the token list it indexes.
fn joins<'a>(cx: &'a Context) -> impl Iterator<Item = (&'a str, &'a NodeJoin, &'a [NodeToken])> {
    cx.model.joins.iter().map(|(node, j)| {
        let tokens = cx.model.tokens.get(node).map(Vec::as_slice).unwrap_or(&[]);
        (node.as_str(), j, tokens)
    })
}

const HARVESTER_TOKEN: &str = "Harvester asks for one cluster token when the first node is installed, every other node must use it to join, and Harvester does not allow changing it (seeds/harvester-credentials.txt)";

fn token002(cx: &Context, out: &mut Findings) -> Verdict {
    let snap = cx.snapshot;
    let agents = snap.agents();
    let on_harvester = harvester(snap);
    let mut judged = 0;
    let mut first: Vec<&str> = Vec::new();
    let mut unread: Vec<&str> = Vec::new();
    for (node, join, tokens) in joins(cx) {
        let Some(t) = join.server_token(tokens) else {
            unread.push(node);
            continue;
        };
        let is_agent = agents.contains(&node);
        if join.server.is_none() && !is_agent {
            first.push(node);
            continue;
        }
        judged += 1;
        if t.found.token.ca_hash.is_some() {
            continue;
        }
        let mut ev = vec![evidence(t)];
        let joins = match &join.server {
            Some(s) => {
                ev.push(server_evidence(node, s));
                let at = s.line.map(|l| format!(":{l}")).unwrap_or_default();
                format!("joins {} ({} in {}{at})", s.url, s.key, s.host_path)
            }
            None => "joins the cluster as an agent".to_string(),
        };
        let form = match t.found.token.form {
            TokenForm::Secure | TokenForm::SecureBootstrap => "K10::… token with an empty hash",
            TokenForm::ShortBootstrap => "bare bootstrap token",
            TokenForm::Short => "short token",
        };
        let mut message = format!(
            "{node} {joins} with the {form} in {}: it does not pin the cluster CA and trusts the CA the server it reaches presents",
            place(t)
        );
        let remediation = match &on_harvester {
            Some(h) => {
                message.push_str(&format!(
                    "; on {h} this is expected: {HARVESTER_TOKEN}"
                ));
                "nothing to change on Harvester: keep the cluster token secret (it joins servers); a node may also be added with the full token of a server's /var/lib/rancher/rke2/server/token".to_string()
            }
            None => "give the node the full token of a server's /var/lib/rancher/rke2/server/token (K10<hash>::server:<password>, or an agent token K10<hash>::node:<password>) in every source that sets it; the short form is needed only to start the first server".to_string(),
        };
        let f = out.add(
            Some(node.to_string()),
            Some(t.host_path.clone()),
            message,
            ev,
            remediation,
        );
        if on_harvester.is_some() {
            f.severity = Severity::Info;
        }
    }
    let mut exempt = String::new();
    if !first.is_empty() {
        exempt.push_str(&format!(
            "; not judged: {} (names no server to join: a first server may start with the short token)",
            first.join(",")
        ));
    }
    if judged == 0 {
        return Verdict::not_evaluable(
            format!(
                "no token of a joining node is readable in the inputs (support bundles mask node config tokens){exempt}"
            ),
            Need::NodeFiles,
        );
    }
    if !unread.is_empty() {
        exempt.push_str(&format!("; token masked or absent on {}", unread.join(",")));
    }
    let n = out.len();
    Verdict::judged(
        format!("{n} of {judged} joining node(s) present a token without a CA hash{exempt}"),
        format!("{judged} joining node(s), each presenting a token that pins a CA hash{exempt}"),
    )
}

fn token004(cx: &Context, out: &mut Findings) -> Verdict {
    let snap = cx.snapshot;
    if let Some(h) = harvester(snap) {
        return Verdict::not_applicable(format!(
            "{h}: one cluster token joins every node and Harvester sets no agent token"
        ));
    }
    let servers = snap.servers();
    let mut judged = Vec::new();
    for (node, join, tokens) in joins(cx) {
        if !servers.contains(&node) {
            continue;
        }
        let (Some(server), Some(agent)) = (join.server_token(tokens), join.agent_token(tokens))
        else {
            continue;
        };
        if !readable(server) || !readable(agent) {
            continue;
        }
        judged.push(node);
        if server.found.token.password != agent.found.token.password {
            continue;
        }
        let how = if join.agent_token_set {
            format!(
                "the agent token in {} has the password of the server token in {}",
                place(agent),
                place(server)
            )
        } else {
            format!(
                "no agent token is set, so {} holds the server token's password (server token in {})",
                place(agent),
                place(server)
            )
        };
        out.add(
            Some(node.to_string()),
            Some(agent.host_path.clone()),
            format!(
                "on {node} {how}{}: every agent joins with the token that also joins servers and decrypts the bootstrap data",
                keyed(cx, &server.found.token.password)
            ),
            vec![evidence(agent), evidence(server)],
            "set a separate agent token on every server (agent-token in config.yaml or RKE2_AGENT_TOKEN; it can be set after the cluster has started), restart the servers one at a time, and join agents with K10<hash>::node:<agent password>".into(),
        );
    }
    if judged.is_empty() {
        return Verdict::not_evaluable(
            "no server's server token and agent token are both readable in the inputs (support bundles mask tokens)",
            Need::NodeFiles,
        );
    }
    let list = judged.join(",");
    Verdict::judged(
        format!(
            "{} of {} server(s) ({list}) give agents the server token's password",
            out.len(),
            judged.len()
        ),
        format!(
            "{} server(s) ({list}) have an agent token of its own",
            judged.len()
        ),
    )
}

fn token005(cx: &Context, out: &mut Findings) -> Verdict {
    let snap = cx.snapshot;
    let servers = snap.servers();
    let used: Vec<&NodeToken> = joins(cx)
        .filter(|(node, _, _)| servers.contains(node))
        .filter_map(|(_, j, tokens)| j.server_token(tokens))
        .filter(|t| readable(t))
        .collect();
    let holders: Vec<&str> = used.iter().map(|t| t.node.as_str()).collect();
    if let Some(v) = cross_server_gate(snap, &holders, "the server token password") {
        return v;
    }
    // Servers grouped by password, in node order.
    let mut groups: Vec<Vec<&NodeToken>> = Vec::new();
    for t in &used {
        match groups
            .iter_mut()
            .find(|g| g[0].found.token.password == t.found.token.password)
        {
            Some(g) => g.push(t),
            None => groups.push(vec![t]),
        }
    }
    let passed = format!(
        "{} servers ({}) present the same server token password",
        used.len(),
        holders.join(",")
    );
    if groups.len() < 2 {
        return Verdict::judged("", passed);
    }
    let at = |g: &[&NodeToken]| -> String {
        g.iter()
            .map(|t| format!("{} ({})", t.node, place(t)))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let fp = |g: &[&NodeToken]| keyed(cx, &g[0].found.token.password);
    let remediation = "set the password the datastore is encrypted with (the one the running servers started with, in their /var/lib/rancher/rke2/server/token) in every token source of every server (config and drop-ins, unit environment, token files; on Harvester the /oem configs) before the next restart";
    let total = used.len();
    match groups.iter().position(|g| g.len() * 2 > total) {
        Some(m) => {
            let main = &groups[m];
            for (i, g) in groups.iter().enumerate() {
                if i == m {
                    continue;
                }
                for t in g {
                    out.add(
                        Some(t.node.clone()),
                        Some(t.host_path.clone()),
                        format!(
                            "the server token in {} on {}{} has another password than the one {} use{}: {} fails to start against the datastore (\"bootstrap data already found and encrypted with different token\")",
                            place(t),
                            t.node,
                            fp(g),
                            at(main),
                            fp(main),
                            t.node
                        ),
                        vec![evidence(t), evidence(main[0])],
                        remediation.into(),
                    );
                }
            }
        }
        None => {
            let versions: Vec<String> = groups
                .iter()
                .enumerate()
                .map(|(i, g)| format!("password {}{}: {}", i + 1, fp(g), at(g)))
                .collect();
            out.add(
                None,
                Some("server token".into()),
                format!(
                    "servers present different server token passwords, with no majority: {}; the servers not started with the datastore's password fail to start (\"bootstrap data already found and encrypted with different token\")",
                    versions.join("; ")
                ),
                groups.iter().flatten().map(|t| evidence(t)).collect(),
                remediation.into(),
            );
        }
    }
    Verdict::judged(
        format!(
            "{} servers present {} different server token passwords",
            total,
            groups.len()
        ),
        passed,
    )
}
