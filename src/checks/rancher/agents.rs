//! RANCHER009: the Rancher agents' `CATTLE_CA_CHECKSUM` against the checksum of the CA Rancher
//! serves, computed as Rancher does (`CAChecksum`: SHA-256 of the `cacerts` setting's value, a
//! newline added when it does not end with one; empty when the setting is empty).
//!
//! An agent is a container of a `cattle-system` Deployment or DaemonSet
//! (`cattle-cluster-agent`, `cattle-node-agent`) whose environment names `CATTLE_CA_CHECKSUM`.
//! It is judged against this Rancher only when its `CATTLE_SERVER` is this Rancher's
//! `server-url` (then `cacerts`) or `internal-server-url` (then `internal-cacerts`): a Harvester
//! cluster imported into another Rancher runs an agent that pins that Rancher's CA, which the
//! inputs do not hold.

use super::super::common::short;
use super::super::rule::{Findings, Need, Rule, Verdict};
use super::super::{Context, Origin, Severity};
use super::{Setting, has_settings, listed_in, origin, setting, target};
use crate::pki::sha256_hex;
use crate::snapshot::value::{as_str, get};
use crate::snapshot::{KubeObject, Snapshot, is_masked};

/// The agents' checksum against the `cacerts` setting.
pub static RANCHER009: Rule = Rule {
    code: "RANCHER009",
    severity: Severity::High,
    title: "Rancher agent CA checksum differs from the cacerts setting",
    source: "reference/rke2-pki.md §7",
    needs: &[Need::SupportBundle],
    doc: r#"**What it reads.** The containers of `cattle-system` Deployments and DaemonSets whose
environment names `CATTLE_CA_CHECKSUM` (`cattle-cluster-agent`, `cattle-node-agent`), with their
`CATTLE_SERVER`; and Rancher's settings `server-url`, `cacerts`, `internal-server-url` and
`internal-cacerts` (`value`, or the `default` when the value is masked or `"null"`).

**What it reports.** One finding per agent container whose checksum differs from the checksum
of the CA of the Rancher it connects to, computed as Rancher's `CAChecksum` does: SHA-256 of the
setting's value followed by a newline (added when the value does not already end with one;
hashing the bare value gives a false failure), or empty when the setting is empty. An agent
pinning no checksum while the setting holds a CA is reported too. Checksums are shown by their
first 16 hex digits; they are hashes of public certificates.

**Why it matters.** The agent refuses a Rancher whose CA does not match its checksum
("Configured cacerts checksum does not match given --ca-checksum"): after Rancher's certificate
or CA is replaced, agents that still pin the old checksum disconnect, and the cluster can no
longer be managed (rancher #13244, #24125, #36632).

**Remediation.** Make the agents pin the current CA: re-run the cluster's registration command
(Cluster Management > the cluster > Registration) or update `CATTLE_CA_CHECKSUM` of the
agent workloads to the checksum of the current `cacerts` (`curl -sk
https://<rancher>/v3/settings/cacerts | jq -r .value | sha256sum`); if `cacerts` itself is
wrong, fix the setting first.

**Not applicable** when `cattle-system` holds no agent, or when every agent connects to another
Rancher (its `CATTLE_SERVER` is neither `server-url` nor `internal-server-url`: the CA it pins is
not in the inputs). **Not evaluable** without the `cattle-system` Deployments and DaemonSets or
the Rancher settings (no support bundle), or when the setting the agent needs is absent.

**Source.** `reference/rke2-pki.md` §7 (known issues: `CATTLE_CA_CHECKSUM` mismatch); rules.md
RANCHER009 (the newline, checked on a 2025 bundle).
"#,
    evaluate: rancher009,
};

/// One agent container.
struct Agent<'a> {
    workload: &'a KubeObject,
    container: String,
    /// `containers[i].env[j]` of the checksum.
    pointer: String,
    checksum: Option<&'a str>,
    server: Option<&'a str>,
}

/// The agent containers of `cattle-system`.
fn agents(snap: &Snapshot) -> Vec<Agent<'_>> {
    let mut out = Vec::new();
    let workloads = snap
        .objects_in("Deployment", "cattle-system")
        .chain(snap.objects_in("DaemonSet", "cattle-system"));
    for w in workloads {
        let containers = w
            .get(&["spec", "template", "spec", "containers"])
            .and_then(|c| c.as_array())
            .into_iter()
            .flatten()
            .enumerate();
        for (i, c) in containers {
            let env = get(c, &["env"])
                .and_then(|e| e.as_array())
                .map(Vec::as_slice)
                .unwrap_or_default();
            let var = |name: &str| {
                env.iter()
                    .enumerate()
                    .find(|(_, e)| get(e, &["name"]).and_then(as_str) == Some(name))
            };
            let Some((j, sum)) = var("CATTLE_CA_CHECKSUM") else {
                continue;
            };
            out.push(Agent {
                workload: w,
                container: get(c, &["name"])
                    .and_then(as_str)
                    .unwrap_or("?")
                    .to_string(),
                pointer: format!(".spec.template.spec.containers[{i}].env[{j}]"),
                checksum: get(sum, &["value"]).and_then(as_str),
                server: var("CATTLE_SERVER").and_then(|(_, e)| get(e, &["value"]).and_then(as_str)),
            });
        }
    }
    out
}

/// `https://rancher.example/` → `https://rancher.example`.
fn url(u: &str) -> String {
    u.trim().trim_end_matches('/').to_ascii_lowercase()
}

/// Rancher's `CAChecksum` of a CA setting: `None` when it cannot be known (masked without a
/// default), `Some("")` when the setting is empty.
fn checksum(s: &Setting) -> Option<String> {
    match s.value {
        Some(v) if v.ends_with('\n') => Some(sha256_hex(v.as_bytes())),
        Some(v) => Some(sha256_hex(format!("{v}\n").as_bytes())),
        None if s
            .object
            .get(&["value"])
            .and_then(|v| v.as_str())
            .is_some_and(is_masked) =>
        {
            None
        }
        None => Some(String::new()),
    }
}

fn rancher009(cx: &Context, out: &mut Findings) -> Verdict {
    let snap = cx.snapshot;
    let all = agents(snap);
    if all.is_empty() {
        let workloads = snap
            .objects_in("Deployment", "cattle-system")
            .next()
            .is_some()
            || listed_in(snap, Some("cattle-system"), "apps", "deployments");
        return if workloads {
            Verdict::not_applicable("no Rancher agent (CATTLE_CA_CHECKSUM) in cattle-system")
        } else {
            Verdict::not_evaluable(
                "the inputs hold no cattle-system Deployments or DaemonSets (a support bundle carries them)",
                Need::SupportBundle,
            )
        };
    }
    if !has_settings(snap) {
        return Verdict::not_evaluable(
            "the inputs hold no Rancher settings (cacerts, server-url)",
            Need::SupportBundle,
        );
    }
    let urls: Vec<(String, &str)> = [
        ("server-url", "cacerts"),
        ("internal-server-url", "internal-cacerts"),
    ]
    .into_iter()
    .filter_map(|(u, ca)| setting(snap, u).and_then(|s| s.value).map(|v| (url(v), ca)))
    .collect();
    let mut judged = 0;
    let mut elsewhere = Vec::new();
    let mut unknown = Vec::new();
    for a in &all {
        let name = format!("{}/{}", target(a.workload), a.container);
        let ca = match (a.server, urls.as_slice()) {
            (Some(s), _) if !urls.is_empty() => match urls.iter().find(|(u, _)| *u == url(s)) {
                Some((_, ca)) => *ca,
                None => {
                    elsewhere.push(format!("{name} ({s})"));
                    continue;
                }
            },
            (None, [(_, ca)]) => *ca,
            _ => {
                unknown.push(format!(
                    "{name} (which Rancher it connects to: no server-url known or no CATTLE_SERVER)"
                ));
                continue;
            }
        };
        let Some(s) = setting(snap, ca) else {
            unknown.push(format!("{name} (no {ca} setting)"));
            continue;
        };
        let Some(want) = checksum(&s) else {
            unknown.push(format!("{name} ({ca} masked)"));
            continue;
        };
        judged += 1;
        let have = a.checksum.map(str::to_ascii_lowercase).unwrap_or_default();
        if have == want {
            continue;
        }
        let show = |c: &str| {
            if c.is_empty() {
                "none".to_string()
            } else {
                short(c).to_string()
            }
        };
        let evidence: Vec<Origin> = vec![
            origin(snap, a.workload, &a.pointer),
            origin(snap, s.object, &format!(".{}", s.from)),
        ];
        out.add(
            None,
            Some(name.clone()),
            format!(
                "agent {name} pins CATTLE_CA_CHECKSUM {} but the {ca} setting's {} has checksum {} (SHA-256 of the value and a newline): the agent refuses this Rancher's certificate",
                show(&have),
                s.from,
                show(&want)
            ),
            evidence,
            format!(
                "re-run the cluster's registration command, or set CATTLE_CA_CHECKSUM of {} to the checksum of the current {ca} (`curl -sk <rancher>/v3/settings/{ca} | jq -r .value | sha256sum`); fix the {ca} setting first if it is the one that is wrong",
                target(a.workload)
            ),
        );
    }
    if judged == 0 {
        if !unknown.is_empty() {
            return Verdict::not_evaluable(
                format!("the CA the agents pin is unknown: {}", unknown.join(", ")),
                Need::SupportBundle,
            );
        }
        return Verdict::not_applicable(format!(
            "every agent connects to another Rancher, whose CA is not in the inputs: {}",
            elsewhere.join(", ")
        ));
    }
    let mut also = String::new();
    if !elsewhere.is_empty() {
        also.push_str(&format!(
            "; not judged, connecting to another Rancher: {}",
            elsewhere.join(", ")
        ));
    }
    if !unknown.is_empty() {
        also.push_str(&format!("; not judged: {}", unknown.join(", ")));
    }
    Verdict::judged(
        format!(
            "{} agent(s) pin a CA checksum that differs{also}",
            out.len()
        ),
        format!("{judged} agent(s) pin the checksum of Rancher's CA{also}"),
    )
}
