//! Token rules that read the nodes' service logs (TOKEN003, TOKEN006). TOKEN003: evidence of
//! `rke2 token rotate` on Harvester (the datastore refusing the token at start, or a server
//! token whose password differs from the one Harvester renders from `/oem`). TOKEN006: join and
//! restart failures logged by rke2-server, rke2-agent or rancherd (CA hash mismatch, node
//! password rejected, CA validation failure, a malformed CA hash).
//!
//! The logs were streamed once by the ingest for [`crate::snapshot::NEEDLES`]; this file reads
//! the matched lines only ([`crate::snapshot::Snapshot::host_log`]). A sample line is shown with
//! anything token-shaped scrubbed ([`scrub`]); token passwords are compared in memory and never
//! shown.

use std::collections::BTreeMap;

use super::rule::{Findings, Need, Rule, Verdict};
use super::tokens::{evidence as token_evidence, harvester, place};
use super::{Context, Origin, Severity};
use crate::layout;
use crate::model::tokens::NodeToken;
use crate::pki::secret::is_placeholder;
use crate::snapshot::Snapshot;

/// The node service logs the rules read, by host path.
const SERVICE_LOGS: [&str; 3] = [
    "logs/rke2-server.log",
    "logs/rke2-agent.log",
    "logs/rancherd.log",
];

/// The line the datastore logs when the token's password does not decrypt the bootstrap data.
const BOOTSTRAP_MISMATCH: &str = "bootstrap data already found and encrypted with different token";

/// The join and restart failures of TOKEN006, with what each means.
const JOIN_FAILURES: [(&str, &str); 4] = [
    (
        "token CA hash does not match",
        "the CA hash in the node's token differs from the hash of the CA the server serves",
    ),
    (
        "Node password rejected",
        "the server holds another password for this node name (etc/rancher/node/password against the node-password secret)",
    ),
    (
        "CA cert validation failed",
        "the node could not validate the server's certificate against the CA it trusts",
    ),
    (
        "invalid token CA hash length",
        "the token's CA hash is not 64 hex digits: the token is malformed",
    ),
];

/// Causes that make a matched line a transient connection error rather than a failure: the
/// agent logs "CA cert validation failed: Get …/cacerts: connection refused" while its local
/// supervisor starts.
const TRANSIENT: [&str; 5] = [
    "connection refused",
    "i/o timeout",
    "no route to host",
    "connection reset by peer",
    "context deadline exceeded",
];

/// True when the text after `needle` in `line` names a connection error only.
fn transient(line: &str, needle: &str) -> bool {
    let tail = line
        .find(needle)
        .map_or(line, |i| &line[i + needle.len()..]);
    TRANSIENT.iter().any(|t| tail.contains(t)) && !tail.contains("x509")
}

/// One matched line of a node's service log.
struct LogHit<'a> {
    node: &'a str,
    host_path: &'static str,
    input: String,
    logical: &'a str,
    line: u64,
    text: &'a str,
}

impl LogHit<'_> {
    fn origin(&self) -> Origin {
        Origin::new(self.input.as_str(), self.logical)
            .on(self.node, self.host_path)
            .at(Some(format!("line {}", self.line)))
    }
}

/// The nodes whose service logs are in the inputs, and every line of them that holds `needle`,
/// in node, log and line order. The second value is true when some log kept only part of its
/// matches (the ingest's cap).
fn service_log_hits<'a>(snap: &'a Snapshot, needle: &str) -> (Vec<&'a str>, Vec<LogHit<'a>>, bool) {
    let mut nodes = Vec::new();
    let mut hits = Vec::new();
    let mut truncated = false;
    for node in snap.nodes.values() {
        let mut any = false;
        for host_path in SERVICE_LOGS {
            let Some((hf, log)) = snap.host_log(&node.name, host_path) else {
                continue;
            };
            any = true;
            truncated |= log.matches_truncated;
            let input = snap
                .trees
                .get(hf.input)
                .map_or_else(String::new, |t| t.name.clone());
            for l in log.matches.iter().filter(|l| l.text.contains(needle)) {
                hits.push(LogHit {
                    node: node.name.as_str(),
                    host_path,
                    input: input.clone(),
                    logical: &hf.logical,
                    line: l.line,
                    text: l.text.as_str(),
                });
            }
        }
        if any {
            nodes.push(node.name.as_str());
        }
    }
    (nodes, hits, truncated)
}

/// The time a log line carries: logrus' `time="…"`, else a leading RFC 3339 stamp, else a
/// journal prefix (`Nov 20 04:00:00`).
pub(super) fn line_time(text: &str) -> Option<&str> {
    if let Some(i) = text.find("time=\"") {
        let rest = &text[i + 6..];
        if let Some(end) = rest.find('"') {
            return Some(&rest[..end]);
        }
    }
    let first = text.split_whitespace().next()?;
    if first.len() >= 19 && first.as_bytes().get(4) == Some(&b'-') && first.contains('T') {
        return Some(first);
    }
    let journal = text.get(..15)?;
    let b = journal.as_bytes();
    (b.get(3) == Some(&b' ') && b.get(9) == Some(&b':') && b.get(12) == Some(&b':'))
        .then_some(journal)
}

/// A log line fit to show: every word that looks like a token or follows a token or password
/// key is replaced by `<redacted>`, and the line is cut to 300 characters.
pub(super) fn scrub(text: &str) -> String {
    let mut out: Vec<String> = Vec::new();
    let mut redact_next = false;
    for word in text.split(' ') {
        let lower = word.to_ascii_lowercase();
        let bare = lower.trim_matches(|c: char| !c.is_ascii_alphanumeric() && c != '-');
        if redact_next && !word.is_empty() {
            redact_next = false;
            // `failed to validate token: token CA hash …` names no value.
            if !["token", "the", "a", "invalid", "failed", "ca", "is", "not"].contains(&bare) {
                out.push("<redacted>".into());
                continue;
            }
        }
        let keyed = ["token", "password", "passwd", "secret"]
            .iter()
            .find_map(|k| {
                ["=", ":", "\":\"", "=\""].iter().find_map(|sep| {
                    lower
                        .find(&format!("{k}{sep}"))
                        .map(|i| i + k.len() + sep.len())
                })
            });
        if let Some(cut) = keyed {
            if cut < word.len() {
                out.push(format!("{}<redacted>", &word[..cut]));
            } else {
                out.push(word.to_string());
                redact_next = true;
            }
            continue;
        }
        if matches!(bare, "--token" | "--agent-token" | "--password") {
            out.push(word.to_string());
            redact_next = true;
            continue;
        }
        if looks_secret(word) {
            out.push("<redacted>".into());
            continue;
        }
        out.push(word.to_string());
    }
    let line = out.join(" ");
    match line.char_indices().nth(300) {
        Some((i, _)) => format!("{}…", &line[..i]),
        None => line,
    }
}

/// A `K10…::…` token, or a run of 32 or more letters and digits mixing both (a password or a
/// bootstrap secret; a hex hash is scrubbed too, which costs nothing).
fn looks_secret(word: &str) -> bool {
    if word.contains("K10") && word.contains("::") {
        return true;
    }
    let mut run = 0usize;
    let (mut letters, mut digits) = (false, false);
    for c in word.chars() {
        if c.is_ascii_alphanumeric() {
            run += 1;
            letters |= c.is_ascii_alphabetic();
            digits |= c.is_ascii_digit();
            if run >= 32 && letters && digits {
                return true;
            }
        } else {
            run = 0;
            letters = false;
            digits = false;
        }
    }
    false
}

/// Evidence of `rke2 token rotate` on Harvester.
pub static TOKEN003: Rule = Rule {
    code: "TOKEN003",
    severity: Severity::Critical,
    title: "evidence of rke2 token rotate on Harvester",
    source: "seeds/harvester-credentials.txt (HC); reference/rke2-pki.md §2.5",
    needs: &[Need::NodeLogs],
    doc: r#"**What it reads.** Two kinds of evidence, either of which suffices:

- the nodes' `rke2-server`, `rke2-agent` and `rancherd` logs (a support bundle's node zips,
  `logs/*.log`) for the line `bootstrap data already found and encrypted with different token`;
- on each server, the password of `/var/lib/rancher/rke2/server/token` (what rke2 started with)
  and the passwords of the tokens in the node's `/oem` cloud-configs, from which Harvester renders
  the rke2 and rancherd configs at every boot. Passwords are compared in memory and never shown;
  a value the collector masked (`***`) is not compared.

The logs are the data the rule needs (a support bundle has them); the token comparison is made
where node snapshots supply both files. Harvester is recognised by its version (the `server-version` setting or `harvester-release.yaml`)
or by `/oem/harvester.config` on a node.

**What it reports.** One finding per node and log with the datastore's refusal (count, first
line), and one finding per server whose `server/token` password differs from the one its `/oem`
configs hold.

**Why it matters.** Harvester does not support `rke2 token rotate`. The rotation re-encrypts the
bootstrap data with a new password and writes it to `server/token`, but Harvester renders the old
token from `/oem` at the next boot: rke2-server then cannot decrypt the datastore ("bootstrap data
already found and encrypted with different token") and the node does not come back.

**Remediation.** Do not rotate the token on Harvester. If it was rotated, put the password the
datastore is now encrypted with (the one in the servers' current `server/token`) back into every
`/oem` source of every node before any reboot, or rotate the token back to the original password
with `rke2 token rotate --token <new> --new-token <original>` on one server; ask SUSE support
before touching a production cluster.

**Not applicable** off Harvester. **Not evaluable** when the inputs hold neither node service logs
nor a server whose `server/token` and `/oem` token are both readable (support bundles mask the
`/oem` tokens; node snapshots carry no logs).

**Source.** `seeds/harvester-credentials.txt` (the cluster token cannot be changed on Harvester);
`reference/rke2-pki.md` §2.5 (bootstrap data encrypted with the token's password); rules.md
TOKEN003.
"#,
    evaluate: token003,
};

/// True for a token occurrence found in a node's `/oem` cloud-configs (not the installer's
/// console dump), with a readable password.
fn oem_token(t: &NodeToken) -> bool {
    t.host_path.starts_with(layout::OEM_DIR)
        && !t.host_path.starts_with("oem/install/")
        && !is_placeholder(t.found.token.password.expose())
}

fn token003(cx: &Context, out: &mut Findings) -> Verdict {
    let snap = cx.snapshot;
    let Some(on) = harvester(snap) else {
        return Verdict::not_applicable(
            "not a Harvester cluster (no Harvester version, no /oem/harvester.config): rke2 token rotate is supported on RKE2",
        );
    };
    let (log_nodes, hits, _) = service_log_hits(snap, BOOTSTRAP_MISMATCH);
    let mut by_log: BTreeMap<(&str, &str), Vec<&LogHit>> = BTreeMap::new();
    for h in &hits {
        by_log.entry((h.node, h.host_path)).or_default().push(h);
    }
    for ((node, host_path), list) in &by_log {
        let first = list[0];
        out.add(
            Some(node.to_string()),
            Some(host_path.to_string()),
            format!(
                "{host_path} on {node} logs \"{BOOTSTRAP_MISMATCH}\" {} time(s) (first at line {}{}): rke2 started with a token whose password does not decrypt the datastore, as after `rke2 token rotate` on {on}",
                list.len(),
                first.line,
                line_time(first.text).map(|t| format!(", {t}")).unwrap_or_default()
            ),
            list.iter().take(3).map(|h| h.origin()).collect(),
            "do not rotate the token on Harvester: put the password the datastore is encrypted with (the servers' current server/token) back into every /oem source of every node before any reboot, or rotate back to the original password; ask SUSE support first".into(),
        );
    }
    let mut compared = Vec::new();
    for (node, tokens) in &cx.model.tokens {
        let Some(server) = tokens.iter().find(|t| {
            t.host_path == layout::SERVER_TOKEN && !is_placeholder(t.found.token.password.expose())
        }) else {
            continue;
        };
        let oem: Vec<&NodeToken> = tokens
            .iter()
            .filter(|t| oem_token(t) && t.found.role == server.found.role)
            .collect();
        if oem.is_empty() {
            continue;
        }
        compared.push(node.as_str());
        let differ: Vec<&&NodeToken> = oem
            .iter()
            .filter(|t| t.found.token.password != server.found.token.password)
            .collect();
        if differ.is_empty() {
            continue;
        }
        let places: Vec<String> = differ.iter().map(|t| place(t)).collect();
        let mut evidence = vec![token_evidence(server)];
        evidence.extend(differ.iter().map(|t| token_evidence(t)));
        out.add(
            Some(node.clone()),
            Some(layout::SERVER_TOKEN.to_string()),
            format!(
                "on {node} the password of {} differs from the token Harvester renders from {}: the server token was changed (rke2 token rotate), and the next boot renders the old token, which no longer decrypts the datastore",
                layout::SERVER_TOKEN,
                places.join(", ")
            ),
            evidence,
            "do not rotate the token on Harvester: before any reboot, set the password of the servers' current server/token in every /oem source of every node (or rotate back to the original password); ask SUSE support first".into(),
        );
    }
    if log_nodes.is_empty() && compared.is_empty() {
        return Verdict::not_evaluable(
            format!(
                "{on}: no node's rke2-server, rke2-agent or rancherd log in the inputs, and no server whose server/token and /oem token are both readable"
            ),
            Need::NodeLogs,
        );
    }
    let mut judged = Vec::new();
    if !log_nodes.is_empty() {
        judged.push(format!("the service logs of {}", log_nodes.join(",")));
    }
    if !compared.is_empty() {
        judged.push(format!(
            "server/token against /oem on {}",
            compared.join(",")
        ));
    }
    let judged = judged.join(" and ");
    Verdict::judged(
        format!(
            "{} sign(s) of a token rotation on {on} ({judged})",
            out.len()
        ),
        format!("no sign of a token rotation on {on} ({judged})"),
    )
}

/// Join and restart failures in the nodes' service logs.
pub static TOKEN006: Rule = Rule {
    code: "TOKEN006",
    severity: Severity::High,
    title: "join or restart failures in the rke2 and rancherd logs",
    source: "seeds/harvester-credentials.txt (HC); reference/rke2-pki.md §2.3",
    needs: &[Need::NodeLogs],
    doc: r#"**What it reads.** The nodes' `rke2-server`, `rke2-agent` and `rancherd` logs (a support
bundle's node zips, `logs/*.log`), streamed once by the ingest, for four messages:
`token CA hash does not match`, `Node password rejected`, `CA cert validation failed` and
`invalid token CA hash length`.

**What it reports.** One finding per node and message: how many lines hold it (a lower bound when
the ingest kept only the first matches), the time of the first and the last (logrus `time="…"`,
an RFC 3339 prefix or the journal's prefix), what the message means, and one sample line with
anything token-shaped replaced by `<redacted>`. A line whose cause is a connection error only
(`connection refused`, `i/o timeout`, `no route to host`, `connection reset by peer`, `context
deadline exceeded`, without an `x509` error) is not counted: an agent logs "CA cert validation
failed: Get …/cacerts: connection refused" while its local supervisor starts; the coverage row
says how many such lines were passed over.

**Why it matters.** Each message is a node that fails to join or to restart: its token pins
another CA than the one the servers serve (after a CA change), the server holds another node
password for its name (a reinstalled node that kept its name), it cannot validate the server's
certificate (a supervisor certificate signed by an old CA), or its token is malformed. The node
stays out of the cluster until the cause is fixed.

**Remediation.** By message. CA hash: set the token's hash to the cluster's current one (the hash
part of a server's `server/token`) or use the short form (TOKEN001). Node password: delete the
node's `<node>.node-password.rke2` secret in `kube-system` (or the Node object) before the node
rejoins, or restore its `/etc/rancher/node/password`. CA validation: make sure the servers serve a
certificate signed by the current server CA (restart rke2-server after a CA rotation). Malformed
hash: fix the token.

**Not evaluable** without any node's service logs (node snapshots do not carry them; a support
bundle's node zips do).

**Source.** `seeds/harvester-credentials.txt`; `reference/rke2-pki.md` §2.3 (how a joining node
validates); rules.md TOKEN006.
"#,
    evaluate: token006,
};

fn token006(cx: &Context, out: &mut Findings) -> Verdict {
    let snap = cx.snapshot;
    let mut log_nodes = Vec::new();
    let mut any_truncated = false;
    let mut transients = 0usize;
    for (needle, meaning) in JOIN_FAILURES {
        let (nodes, hits, truncated) = service_log_hits(snap, needle);
        log_nodes = nodes;
        any_truncated |= truncated;
        let mut by_node: BTreeMap<&str, Vec<&LogHit>> = BTreeMap::new();
        for h in &hits {
            if transient(h.text, needle) {
                transients += 1;
                continue;
            }
            by_node.entry(h.node).or_default().push(h);
        }
        for (node, list) in by_node {
            let (first, last) = (list[0], list[list.len() - 1]);
            let when = |h: &LogHit| {
                line_time(h.text).map_or_else(
                    || format!("{} line {}", h.host_path, h.line),
                    str::to_string,
                )
            };
            let logs: Vec<&str> = {
                let mut v: Vec<&str> = list.iter().map(|h| h.host_path).collect();
                v.dedup();
                v
            };
            let at_least = if truncated { "at least " } else { "" };
            let mut evidence = vec![first.origin()];
            if list.len() > 1 {
                evidence.push(last.origin());
            }
            out.add(
                Some(node.to_string()),
                Some(format!("{} \"{needle}\"", logs.join(","))),
                format!(
                    "{node} logged \"{needle}\" {at_least}{} time(s) in {}, first {}, last {}: {meaning}; sample: {}",
                    list.len(),
                    logs.join(", "),
                    when(first),
                    when(last),
                    scrub(first.text)
                ),
                evidence,
                remediation(needle).into(),
            );
        }
    }
    if log_nodes.is_empty() {
        return Verdict::not_evaluable(
            "no node's rke2-server, rke2-agent or rancherd log in the inputs",
            Need::NodeLogs,
        );
    }
    let mut capped = String::new();
    if transients > 0 {
        capped.push_str(&format!(
            "; {transients} line(s) naming a connection error only (a server not up yet) not counted"
        ));
    }
    if any_truncated {
        capped.push_str("; some logs had more matches than the ingest keeps");
    }
    Verdict::judged(
        format!(
            "{} node/message pair(s) of join or restart failures in the service logs of {}{capped}",
            out.len(),
            log_nodes.join(",")
        ),
        format!(
            "no join or restart failure in the service logs of {}{capped}",
            log_nodes.join(",")
        ),
    )
}

fn remediation(needle: &str) -> &'static str {
    match needle {
        "token CA hash does not match" => {
            "set the node's token hash to the cluster's current one (the hash part of a server's /var/lib/rancher/rke2/server/token) or use the short form without a hash (see TOKEN001), then restart the node's rke2"
        }
        "Node password rejected" => {
            "delete the node's <node>.node-password.rke2 secret in kube-system (or remove the Node object) before it rejoins, or restore its /etc/rancher/node/password"
        }
        "CA cert validation failed" => {
            "make the servers serve a certificate signed by the current server CA (restart rke2-server on each server after a CA rotation), and check the CA the node trusts"
        }
        _ => {
            "fix the node's token: its CA hash must be 64 hex digits (K10<hash>::user:password), or use the short form"
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scrub_hides_token_shapes() {
        let line = "time=\"2026-11-20T04:00:00Z\" level=fatal msg=\"failed: token CA hash does not match\" token=K10abc::server:hunter2hunter2 --token s3cr3tpassw0rd K10deadbeef::node:pw";
        let s = scrub(line);
        assert!(!s.contains("hunter2"), "{s}");
        assert!(!s.contains("s3cr3t"), "{s}");
        assert!(!s.contains("node:pw"), "{s}");
        assert!(s.contains("token CA hash does not match"), "{s}");
        let s = scrub("msg=\"failed to validate token: token CA hash does not match\"");
        assert!(s.contains("token: token CA hash does not match"), "{s}");
        let long =
            "password: abcdefghij0123456789abcdefghij0123 and aB3dE6gH9jK2mN5pQ8sT1vW4yZ7bC0eF";
        let s = scrub(long);
        assert!(!s.contains("abcdefghij0123"), "{s}");
        assert!(!s.contains("aB3dE6"), "{s}");
    }

    #[test]
    fn connection_errors_are_transient_but_x509_is_not() {
        let n = "CA cert validation failed";
        assert!(transient(
            "msg=\"Waiting to retrieve agent configuration; server is not ready: CA cert validation failed: Get \\\"https://127.0.0.1:6444/cacerts\\\": connection refused\"",
            n
        ));
        assert!(!transient(
            "msg=\"CA cert validation failed: Get https://10.0.0.1:9345/cacerts: tls: failed to verify certificate: x509: certificate signed by unknown authority\"",
            n
        ));
    }

    #[test]
    fn line_time_reads_the_three_shapes() {
        assert_eq!(
            line_time("time=\"2026-11-20T04:00:00Z\" level=info"),
            Some("2026-11-20T04:00:00Z")
        );
        assert_eq!(
            line_time("2026-11-20T04:00:00.1Z something"),
            Some("2026-11-20T04:00:00.1Z")
        );
        assert_eq!(
            line_time("Nov 20 04:00:00 n1 rke2[12]: x"),
            Some("Nov 20 04:00:00")
        );
        assert_eq!(line_time("no time here"), None);
    }
}
