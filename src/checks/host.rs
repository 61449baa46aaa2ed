//! Host and rke2 hardening rules (HOST), after the RKE2 hardening guide: the kernel parameters
//! rke2's CIS profile requires (HOST001), the `etcd` user and group it requires (HOST002), and
//! secrets encryption, a CIS profile and audit logging in rke2's merged configuration
//! (HOST003). Everything is read from the model's host configuration
//! ([`crate::model::host`]): the merged `config.yaml` + drop-ins with the file and line of
//! each key, the effective kernel parameters, the accounts.

use std::collections::BTreeMap;

use super::rule::{Findings, Need, Rule, Verdict};
use super::{Context, Origin, Severity};
use crate::layout;
use crate::model::host::{Host, RkeConfig, SysctlSource};
use crate::snapshot::Role;

/// The kernel parameters of the hardening guide, with the kernel's default when none is set.
pub const KERNEL_PARAMS: [(&str, &str, &str); 4] = [
    ("vm.overcommit_memory", "1", "0"),
    ("vm.panic_on_oom", "0", "0"),
    ("kernel.panic", "10", "0"),
    ("kernel.panic_on_oops", "1", "0"),
];

/// The `profile` key of rke2's configuration.
pub const PROFILE_KEY: &str = "profile";

/// The CIS profile a node's merged configuration sets (`cis`, `cis-1.23`, `cis-1.6`, …) and
/// where, or `None`.
pub fn cis_profile(cfg: &RkeConfig) -> Option<(String, Origin)> {
    let e = cfg.get(PROFILE_KEY)?;
    let p = e.scalar()?.trim().to_string();
    (p == "cis" || p.starts_with("cis-")).then(|| (p, cfg.origin(&e.place)))
}

/// True when the inputs show a Harvester cluster (its version, or `/oem/harvester.config`).
pub fn is_harvester(cx: &Context) -> bool {
    cx.snapshot.cluster.harvester_version.is_some()
        || cx
            .snapshot
            .nodes
            .values()
            .any(|n| n.files.contains_key(layout::OEM_HARVESTER_CONFIG))
}

/// Kernel parameters differ from the hardening guide's.
pub static HOST001: Rule = Rule {
    code: "HOST001",
    severity: Severity::Medium,
    title: "kernel parameters differ from the hardening guide's",
    source: "seeds/rke-hardening-guide.txt (HG)",
    needs: &[Need::HostConfig],
    doc: r#"**What it reads.** Each node's effective kernel parameters: the live values of `sysctl -a`
(`commands/sysctl-a.txt` of a node snapshot; in a support bundle, the `sysctl -a | grep ^vm`
section of supportconfig's `memory.txt`, which covers `vm.*` only), else what the node's
`/etc/sysctl.d/*.conf` and `/etc/sysctl.conf` set in systemd's order (from the host tree or the
copies in supportconfig's `etc.txt`; a parameter no file sets has the kernel's default). The
node's merged rke2 configuration gives its `profile`.

**What it reports.** One finding per node and parameter that differs from
`vm.overcommit_memory=1`, `vm.panic_on_oom=0`, `kernel.panic=10`, `kernel.panic_on_oops=1`, with
the value found and the file and line it came from. High on a node whose rke2 configuration sets
a CIS profile (`cis`, `cis-1.23`, …): rke2 checks these parameters at start and refuses to start
when one differs, so the next restart fails.

**Why it matters.** These settings make the node reboot on a kernel oops and behave predictably
out of memory, as the CIS benchmark and the kubelet's `protect-kernel-defaults` expect.

**Remediation.** Set them in a file under `/etc/sysctl.d/` (rke2 ships
`rke2-cis-sysctl.conf`; Harvester writes `90-rke2.conf`) and apply it with
`sysctl --system` (or `sysctl -p <file>`).

**Not evaluable** when no node's kernel parameters are in the inputs (neither `sysctl -a` output
nor a sysctl configuration file: a support bundle from before supportconfig was collected, or a
node snapshot without `/etc/sysctl.d`).

**Source.** `seeds/rke-hardening-guide.txt` (Host-level Requirements: Kernel Runtime
Parameters; RKE2 Specific Hardening); rules.md HOST001.
"#,
    evaluate: host001,
};

/// A CIS profile without the etcd user and group.
pub static HOST002: Rule = Rule {
    code: "HOST002",
    severity: Severity::High,
    title: "CIS profile configured but no etcd user or group",
    source: "seeds/rke-hardening-guide.txt (HG)",
    needs: &[Need::HostConfig],
    doc: r#"**What it reads.** Each server's merged rke2 configuration (`config.yaml` and
`config.yaml.d/*` in rke2's order) for its `profile`, and the node's accounts (`/etc/passwd`,
`/etc/group`, from the host tree or supportconfig's `etc.txt`) or, in a support bundle, the
`runAsUser` of the node's etcd static pod (`kube-system/etcd-<node>`).

**What it reports.** One finding per server whose configuration sets a CIS profile (`cis`,
`cis-1.23`, `cis-1.6`, …) while the node has no `etcd` user or no `etcd` group.

**Why it matters.** With a CIS profile rke2 runs etcd as the `etcd` user and checks at start
that the user and group exist: without them rke2 refuses to start.

**Remediation.** Create them before starting rke2, as the guide shows:
`groupadd --gid 52034 etcd` and
`useradd --comment "etcd service account" --uid 52034 --gid 52034 etcd --shell /usr/sbin/nologin`.

**Not applicable** when no node's configuration sets a CIS profile. **Not evaluable** without
any node's rke2 configuration, or when the servers that set a profile have neither their account
files nor an etcd pod in the inputs.

**Source.** `seeds/rke-hardening-guide.txt` (Creating etcd User and Group; RKE2 Specific
Hardening: "Ensure the etcd user is created"); rules.md HOST002.
"#,
    evaluate: host002,
};

/// Secrets encryption, CIS profile, audit logging.
pub static HOST003: Rule = Rule {
    code: "HOST003",
    severity: Severity::High,
    title: "rke2 hardening missing: secrets encryption, CIS profile or audit logging",
    source: "seeds/rke-hardening-guide.txt (HG); seeds/rancher-security-hardening.txt (RS)",
    needs: &[Need::HostConfig],
    doc: r#"**What it reads.** Each node's merged rke2 configuration (`config.yaml` and
`config.yaml.d/*` in rke2's order, with the file and line of each key), and on servers whose
data directory is in the inputs, `server/cred/encryption-config.json`.

**What it reports.** One finding per node and fault:
- high: `secrets-encryption: false` on a server, or a server whose `server/` tree is in the
  inputs without `cred/encryption-config.json`: Secrets are stored in etcd in clear;
- medium: no CIS profile (`profile: cis`, or a versioned `cis-1.x` name) on plain RKE2, one
  finding per node; on Harvester, which renders the rke2 configuration itself and does not
  support setting one, a single **info** finding naming the nodes;
- medium: audit logging disabled on a server: a `kube-apiserver-arg` of `audit-log-path=` with
  no path, or no `audit-policy-file` on plain RKE2 without a CIS profile (rke2's default policy
  then logs nothing).

**Why it matters.** The hardening guides ask for encrypted secrets at rest, the CIS profile's
runtime checks and policies, and an audit trail of API requests.

**Remediation.** Remove `secrets-encryption: false` (rke2 encrypts by default) and restart the
server; set `profile: cis` in `/etc/rancher/rke2/config.yaml` after meeting the host
requirements (HOST001, HOST002); give the API server an audit policy (`audit-policy-file`) and
a log path.

**Not evaluable** when no node's rke2 configuration is in the inputs.

**Source.** `seeds/rke-hardening-guide.txt` (Secure etcd and API Server: secrets encryption and
audit logging; Pod Security with RKE2's CIS profiles); `seeds/rancher-security-hardening.txt`;
rules.md HOST003.
"#,
    evaluate: host003,
};

/// The nodes with a merged rke2 configuration, or the not-evaluable verdict.
fn configs<'a>(cx: &Context<'a>) -> Result<BTreeMap<&'a str, &'a RkeConfig>, Verdict> {
    let m: BTreeMap<&str, &RkeConfig> = cx
        .model
        .hosts
        .iter()
        .filter_map(|(n, h)| Some((n.as_str(), h.config.as_ref()?)))
        .collect();
    if m.is_empty() {
        return Err(Verdict::not_evaluable(
            "no node's rke2 configuration (config.yaml, config.yaml.d) in the inputs",
            Need::HostConfig,
        ));
    }
    Ok(m)
}

fn is_server(cx: &Context, node: &str) -> bool {
    cx.snapshot
        .nodes
        .get(node)
        .is_some_and(|n| n.roles.contains(&Role::Server))
}

fn host001(cx: &Context, out: &mut Findings) -> Verdict {
    let judged: Vec<(&String, &Host)> = cx
        .model
        .hosts
        .iter()
        .filter(|(_, h)| h.sysctls.has_live || h.sysctls.has_configured)
        .collect();
    if judged.is_empty() {
        return Verdict::not_evaluable(
            "no node's kernel parameters (sysctl -a, sysctl.d) in the inputs",
            Need::HostConfig,
        );
    }
    let mut partial = Vec::new();
    for (node, h) in &judged {
        let profile = h.config.as_ref().and_then(cis_profile);
        for (key, want, default) in KERNEL_PARAMS {
            if !h.sysctls.knows(key) {
                partial.push(format!("{node}:{key}"));
                continue;
            }
            let (found, mut evidence, how) = match h.sysctls.effective(key) {
                Some(s) => (
                    s.value.clone(),
                    vec![s.origin.clone()],
                    match s.source {
                        SysctlSource::Live => "the running kernel has",
                        SysctlSource::Configured => "the sysctl configuration sets",
                    },
                ),
                None => (
                    default.to_string(),
                    Vec::new(),
                    "no sysctl file sets it: the kernel default is",
                ),
            };
            if found == want {
                continue;
            }
            let mut msg = format!(
                "on {node}, {how} {key}={found}; the hardening guide asks for {key}={want}"
            );
            if let Some((p, o)) = &profile {
                msg.push_str(&format!(
                    "; with profile {p} rke2 checks it at start and refuses to start"
                ));
                evidence.push(o.clone());
            }
            let f = out.add(
                Some(node.to_string()),
                Some(key.to_string()),
                msg,
                evidence,
                format!("set `{key}={want}` in a file under /etc/sysctl.d/ and apply it with `sysctl --system`"),
            );
            if profile.is_some() {
                f.severity = Severity::High;
            }
        }
    }
    let mut passed = format!(
        "the hardening guide's kernel parameters hold on {}",
        judged
            .iter()
            .map(|(n, _)| n.as_str())
            .collect::<Vec<_>>()
            .join(",")
    );
    if !partial.is_empty() {
        passed.push_str(&format!(" (not known: {})", partial.join(",")));
    }
    Verdict::judged(
        "kernel parameters differ from the hardening guide's",
        passed,
    )
}

/// The etcd user id of the node's etcd static pod, when the bundle holds it.
fn etcd_pod_user(cx: &Context, node: &str) -> Option<(i64, Origin)> {
    let pod = cx
        .snapshot
        .object("Pod", Some("kube-system"), &format!("etcd-{node}"))?;
    let uid = pod
        .i64_at(&["spec", "securityContext", "runAsUser"])
        .or_else(|| pod.i64_at(&["spec", "containers", "0", "securityContext", "runAsUser"]))?;
    let input = cx
        .snapshot
        .trees
        .get(pod.input)
        .map_or("", |t| t.name.as_str());
    Some((
        uid,
        Origin::new(input, pod.path.as_str()).at(Some(format!("items[{}]", pod.index))),
    ))
}

fn host002(cx: &Context, out: &mut Findings) -> Verdict {
    let cfgs = match configs(cx) {
        Ok(c) => c,
        Err(v) => return v,
    };
    let with_profile: Vec<(&str, String, Origin)> = cfgs
        .iter()
        .filter(|(n, _)| is_server(cx, n))
        .filter_map(|(n, c)| cis_profile(c).map(|(p, o)| (*n, p, o)))
        .collect();
    if with_profile.is_empty() {
        return Verdict::not_applicable("no server's rke2 configuration sets a CIS profile");
    }
    let mut judged = Vec::new();
    for (node, profile, porigin) in &with_profile {
        if let Some((uid, _)) = etcd_pod_user(cx, node)
            && uid != 0
        {
            judged.push(*node);
            continue;
        }
        let Some(h) = cx.model.hosts.get(*node) else {
            continue;
        };
        let (Some(users), Some(groups)) = (&h.accounts.users, &h.accounts.groups) else {
            continue;
        };
        judged.push(*node);
        let user = users.iter().any(|u| u.name == "etcd");
        let group = groups.iter().any(|g| g.name == "etcd");
        if user && group {
            continue;
        }
        let missing = match (user, group) {
            (false, false) => "no etcd user and no etcd group",
            (false, true) => "no etcd user",
            _ => "no etcd group",
        };
        let mut evidence = vec![porigin.clone()];
        evidence.extend(users.first().map(|u| u.origin.clone().at(None)));
        evidence.extend(groups.first().map(|g| g.origin.clone().at(None)));
        out.add(
            Some(node.to_string()),
            Some("etcd".into()),
            format!("{node} sets profile {profile} but has {missing}: rke2 refuses to start with a CIS profile until they exist"),
            evidence,
            "groupadd --gid 52034 etcd && useradd --comment \"etcd service account\" --uid 52034 --gid 52034 etcd --shell /usr/sbin/nologin, then start rke2".into(),
        );
    }
    if judged.is_empty() {
        return Verdict::not_evaluable(
            "the servers that set a CIS profile have neither /etc/passwd and /etc/group nor an etcd pod in the inputs",
            Need::HostConfig,
        );
    }
    Verdict::judged(
        "a CIS profile is set without the etcd user or group",
        format!("the etcd user and group exist on {}", judged.join(",")),
    )
}

/// The value of `name=` among a list of component arguments.
fn arg<'a>(items: &'a [String], name: &str) -> Option<&'a str> {
    items
        .iter()
        .rev()
        .find_map(|i| i.strip_prefix(name)?.strip_prefix('='))
}

fn host003(cx: &Context, out: &mut Findings) -> Verdict {
    let cfgs = match configs(cx) {
        Ok(c) => c,
        Err(v) => return v,
    };
    let harvester = is_harvester(cx);
    let mut unprofiled: Vec<(String, Vec<Origin>)> = Vec::new();
    for (node, cfg) in &cfgs {
        let server = is_server(cx, node);
        let profile = cis_profile(cfg);
        if server {
            if let Some(e) = cfg.get("secrets-encryption")
                && e.scalar().is_some_and(|s| s.eq_ignore_ascii_case("false"))
            {
                out.add(
                    Some(node.to_string()),
                    Some("secrets-encryption".into()),
                    format!("{node}'s rke2 configuration disables secrets encryption: Secrets are stored in etcd unencrypted"),
                    vec![cfg.origin(&e.place)],
                    "remove `secrets-encryption: false` (rke2 encrypts secrets by default), restart rke2-server, then re-encrypt existing secrets with `rke2 secrets-encrypt rotate-keys`".into(),
                );
            } else if let Some(n) = cx.snapshot.nodes.get(*node)
                && n.files.keys().any(|h| h.starts_with(layout::CRED_DIR))
                && !n
                    .files
                    .contains_key(format!("{}encryption-config.json", layout::CRED_DIR).as_str())
            {
                out.add(
                    Some(node.to_string()),
                    Some("encryption-config.json".into()),
                    format!("{node}'s server/cred has no encryption-config.json: the API server runs without encryption at rest"),
                    cfg.all_origins(),
                    "enable secrets encryption (`secrets-encryption: true`, the default) and restart rke2-server so that it writes server/cred/encryption-config.json".into(),
                );
            }
        }
        if profile.is_none() {
            if harvester {
                unprofiled.push((node.to_string(), cfg.all_origins()));
            } else {
                out.add(
                    Some(node.to_string()),
                    Some(PROFILE_KEY.into()),
                    format!("{node}'s rke2 configuration sets no CIS profile (`profile: cis`): rke2 runs without the CIS benchmark's checks and policies"),
                    cfg.all_origins(),
                    "meet the host requirements (HOST001, HOST002), then set `profile: cis` in /etc/rancher/rke2/config.yaml and restart rke2".into(),
                )
                .severity = Severity::Medium;
            }
        }
        if server {
            let args = cfg
                .get("kube-apiserver-arg")
                .map(|e| (e.items(), cfg.origin(&e.place)));
            let empty_path = args.as_ref().and_then(|(a, o)| {
                arg(a, "audit-log-path")
                    .filter(|p| p.is_empty())
                    .map(|_| o.clone())
            });
            let no_policy =
                cfg.get("audit-policy-file").is_none() && profile.is_none() && !harvester;
            if let Some(o) = empty_path {
                out.add(
                    Some(node.to_string()),
                    Some("audit-log-path".into()),
                    format!("{node}'s kube-apiserver-arg sets an empty audit-log-path: API requests are not audited"),
                    vec![o],
                    "give the API server an audit log path (remove the empty `audit-log-path=`) and an audit policy (`audit-policy-file`)".into(),
                )
                .severity = Severity::Medium;
            } else if no_policy {
                out.add(
                    Some(node.to_string()),
                    Some("audit-policy-file".into()),
                    format!("{node}'s rke2 configuration sets neither audit-policy-file nor a CIS profile: rke2's default audit policy logs nothing"),
                    cfg.all_origins(),
                    "write an audit policy and set `audit-policy-file` in /etc/rancher/rke2/config.yaml, then restart rke2-server".into(),
                )
                .severity = Severity::Medium;
            }
        }
    }
    if !unprofiled.is_empty() {
        let nodes: Vec<&str> = unprofiled.iter().map(|(n, _)| n.as_str()).collect();
        let evidence = unprofiled
            .iter()
            .flat_map(|(_, o)| o.iter().take(1).cloned())
            .collect();
        out.add(
            None,
            Some(PROFILE_KEY.into()),
            format!("no CIS profile is set in the rke2 configuration of {}; Harvester renders the rke2 configuration itself and does not set one", nodes.join(",")),
            evidence,
            "none needed on Harvester: it manages the rke2 configuration; harden through Harvester's own settings".into(),
        )
        .severity = Severity::Info;
    }
    Verdict::judged(
        "rke2 hardening settings are missing",
        format!(
            "secrets encryption, a CIS profile and audit logging are configured on {}",
            cfgs.keys().copied().collect::<Vec<_>>().join(",")
        ),
    )
}

/// A cluster network (`cluster-cidr`, `service-cidr`) as a node runs with it: the items of its
/// own merged configuration, else of another node's (agents' drop-ins leave them out), else
/// the default (Harvester's 10.52.0.0/16 and 10.53.0.0/16, rke2's 10.42.0.0/16 and
/// 10.43.0.0/16), with where it was set (`None` for a default).
pub fn cluster_network(
    cx: &Context,
    node: Option<&str>,
    key: &str,
) -> (Vec<String>, Option<Origin>) {
    let of = |c: &RkeConfig| c.get(key).map(|e| (e.items(), Some(c.origin(&e.place))));
    let own = node
        .and_then(|n| cx.model.hosts.get(n))
        .and_then(|h| h.config.as_ref())
        .and_then(of);
    if let Some(v) = own.or_else(|| {
        cx.model
            .hosts
            .values()
            .filter_map(|h| h.config.as_ref())
            .find_map(of)
    }) {
        return v;
    }
    let harvester = is_harvester(cx);
    let default = match (key, harvester) {
        ("cluster-cidr", true) => "10.52.0.0/16",
        ("cluster-cidr", false) => "10.42.0.0/16",
        (_, true) => "10.53.0.0/16",
        (_, false) => "10.43.0.0/16",
    };
    (vec![default.to_string()], None)
}
