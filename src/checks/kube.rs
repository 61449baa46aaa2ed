//! Kubernetes object rules (KUBE) over a support bundle's objects, judged for the *workload
//! namespaces* only (rules.md, KUBE: every namespace but `kube-*`, `cattle-*`, `fleet-*`,
//! `cluster-fleet-*`, `user-*`, `p-*`, `harvester-*`, `longhorn-system`, `local` and `default`).
//! KUBE001: the `default` ServiceAccount mounts its token. KUBE002: no Pod Security Admission
//! `enforce` label of `restricted` or `baseline`. KUBE003: no default deny of both ingress and
//! egress.
//!
//! Objects come from [`crate::snapshot::Snapshot::objects_of`]; a cluster without a workload
//! namespace makes the three not applicable.

use std::collections::{BTreeMap, BTreeSet};

use super::common::object_origin;
use super::gates::Version;
use super::rule::{Findings, Need, Rule, Verdict};
use super::{Context, Severity};
use crate::snapshot::KubeObject;
use crate::snapshot::value::{as_str, get};

/// Namespace name prefixes that are not workload namespaces.
const SYSTEM_PREFIXES: [&str; 7] = [
    "kube-",
    "cattle-",
    "fleet-",
    "cluster-fleet-",
    "user-",
    "p-",
    "harvester-",
];

/// Namespace names that are not workload namespaces.
const SYSTEM_NAMES: [&str; 3] = ["longhorn-system", "local", "default"];

/// The PSA label a namespace must carry.
const PSA_ENFORCE: &str = "pod-security.kubernetes.io/enforce";

/// True for a workload namespace (rules.md's definition).
pub fn is_workload_namespace(name: &str) -> bool {
    !SYSTEM_PREFIXES.iter().any(|p| name.starts_with(p)) && !SYSTEM_NAMES.contains(&name)
}

/// True when the glob `pattern` (`*` any run of characters, `?` one character, the rest
/// literal) matches all of `name`.
fn glob(pattern: &[u8], name: &[u8]) -> bool {
    // Iterative matching with one backtrack point for the last `*`: linear in practice.
    let (mut p, mut n) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while n < name.len() {
        match pattern.get(p) {
            Some(b'*') => {
                star = Some((p, n));
                p += 1;
            }
            Some(&c) if c == b'?' || c == name[n] => {
                p += 1;
                n += 1;
            }
            _ => match star {
                Some((sp, sn)) => {
                    p = sp + 1;
                    n = sn + 1;
                    star = Some((sp, sn + 1));
                }
                None => return false,
            },
        }
    }
    pattern[p..].iter().all(|&c| c == b'*')
}

/// A `--workload-namespaces-exclude` pattern, checked: a namespace name (lower-case letters,
/// digits, `-`, `.`) with `*` and `?` wildcards.
pub fn namespace_pattern(s: &str) -> Result<String, String> {
    let ok = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || "-.*?".contains(c);
    if s.is_empty() || !s.chars().all(ok) {
        return Err(format!(
            "{s:?} is not a namespace pattern: lower-case letters, digits, '-', '.', and the wildcards '*' and '?'"
        ));
    }
    Ok(s.to_string())
}

/// The workload namespaces of the inputs, or the verdict when there are none to judge:
/// rules.md's definition less the namespaces `--workload-namespaces-exclude` matches.
fn workload_namespaces<'a>(cx: &Context<'a>) -> Result<Vec<&'a KubeObject>, Verdict> {
    let snap = cx.snapshot;
    let all: Vec<&KubeObject> = snap.objects_of("Namespace").collect();
    if all.is_empty() {
        return Err(Verdict::not_evaluable(
            "no Namespace objects in the inputs (yamls/cluster/v1/namespaces.yaml of a support bundle)",
            Need::SupportBundle,
        ));
    }
    let mut seen = BTreeSet::new();
    let workload: Vec<&KubeObject> = all
        .into_iter()
        .filter(|o| {
            is_workload_namespace(&o.name)
                && !cx
                    .workload_exclude
                    .iter()
                    .any(|g| glob(g.as_bytes(), o.name.as_bytes()))
                && seen.insert(o.name.as_str())
        })
        .collect();
    if workload.is_empty() {
        let extra = if cx.workload_exclude.is_empty() {
            String::new()
        } else {
            format!(
                " or excluded by --workload-namespaces-exclude ({})",
                cx.workload_exclude.join(",")
            )
        };
        return Err(Verdict::not_applicable(format!(
            "no workload namespace: every namespace is a system one (kube-*, cattle-*, fleet-*, cluster-fleet-*, user-*, p-*, harvester-*, longhorn-system, local, default){extra}"
        )));
    }
    Ok(workload)
}

fn names(list: &[&KubeObject]) -> String {
    list.iter()
        .map(|o| o.name.as_str())
        .collect::<Vec<_>>()
        .join(",")
}

/// Default ServiceAccounts that mount their token.
pub static KUBE001: Rule = Rule {
    code: "KUBE001",
    severity: Severity::Low,
    title: "default ServiceAccount of a workload namespace mounts its token",
    source: "seeds/rke-hardening-guide.txt (HG)",
    needs: &[Need::SupportBundle],
    doc: r#"**What it reads.** The bundle's Namespace objects and ServiceAccount objects
(`yamls/namespaced/<ns>/v1/serviceaccounts.yaml`). Workload namespaces are all but `kube-*`,
`cattle-*`, `fleet-*`, `cluster-fleet-*`, `user-*` (Rancher's per-user namespaces), `p-*`
(Rancher projects' system namespaces), `harvester-*`, `longhorn-system`, `local` and `default`.

**What it reports.** One finding per workload namespace whose `default` ServiceAccount does not
set `automountServiceAccountToken: false`.

**Why it matters.** Every pod that names no ServiceAccount runs as `default`, and by default its
API token is mounted into the pod: a compromised container can then talk to the API server with
whatever the namespace's `default` account was granted. The CIS benchmark (5.1.5) and the RKE2
hardening guide ask that default service accounts do not mount tokens.

**Remediation.** In each namespace:
`kubectl patch serviceaccount default -n <ns> -p '{"automountServiceAccountToken": false}'`;
workloads that need the API get a ServiceAccount of their own.

**Overridable.** `harrow analyze --workload-namespaces-exclude PATTERN[,PATTERN]` (globs: `*`
any characters, `?` one; the flag may repeat) excludes more namespaces, such as a team's own
system namespaces (`--workload-namespaces-exclude 'infra-*,monitoring'`), besides the built-in
ones; the coverage row names the patterns when nothing is left to judge.

**Not applicable** when the cluster has no workload namespace (or none the patterns leave). **Not evaluable** without the
bundle's Namespace and ServiceAccount objects. A workload namespace whose `default` account is not
in the inputs is named in the coverage row, not judged.

**Source.** `seeds/rke-hardening-guide.txt` (service accounts); rules.md KUBE001.
"#,
    evaluate: kube001,
};

fn kube001(cx: &Context, out: &mut Findings) -> Verdict {
    let snap = cx.snapshot;
    let workload = match workload_namespaces(cx) {
        Ok(w) => w,
        Err(v) => return v,
    };
    if snap.objects_of("ServiceAccount").next().is_none() {
        return Verdict::not_evaluable(
            "no ServiceAccount objects in the inputs (yamls/namespaced/<ns>/v1/serviceaccounts.yaml of a support bundle)",
            Need::SupportBundle,
        );
    }
    let mut judged = Vec::new();
    let mut missing = Vec::new();
    for ns in &workload {
        let Some(sa) = snap.object("ServiceAccount", Some(&ns.name), "default") else {
            missing.push(ns.name.as_str());
            continue;
        };
        judged.push(ns.name.as_str());
        if sa
            .get(&["automountServiceAccountToken"])
            .and_then(serde_json::Value::as_bool)
            == Some(false)
        {
            continue;
        }
        out.add(
            None,
            Some(format!("ServiceAccount/{}/default", ns.name)),
            format!(
                "the default ServiceAccount of workload namespace {} does not set automountServiceAccountToken: false: every pod that names no account gets its API token mounted",
                ns.name
            ),
            vec![object_origin(snap, sa, "")],
            format!(
                "kubectl patch serviceaccount default -n {} -p '{{\"automountServiceAccountToken\": false}}', and give workloads that need the API an account of their own",
                ns.name
            ),
        );
    }
    let missing = if missing.is_empty() {
        String::new()
    } else {
        format!(
            "; no default ServiceAccount in the inputs for {}",
            missing.join(",")
        )
    };
    if judged.is_empty() {
        return Verdict::not_evaluable(
            format!("no default ServiceAccount of a workload namespace in the inputs{missing}"),
            Need::SupportBundle,
        );
    }
    Verdict::judged(
        format!(
            "{} of {} workload namespace(s) mount the default account's token{missing}",
            out.len(),
            judged.len()
        ),
        format!(
            "the default ServiceAccount of {} does not mount its token{missing}",
            judged.join(",")
        ),
    )
}

/// Workload namespaces without a PSA enforce label.
pub static KUBE002: Rule = Rule {
    code: "KUBE002",
    severity: Severity::Medium,
    title: "workload namespace without a Pod Security Admission enforce label",
    source: "seeds/rancher-security-hardening.txt (RS)",
    needs: &[Need::SupportBundle],
    doc: r#"**What it reads.** The bundle's Namespace objects (`yamls/cluster/v1/namespaces.yaml`):
the label `pod-security.kubernetes.io/enforce` of each workload namespace (all but `kube-*`,
`cattle-*`, `fleet-*`, `cluster-fleet-*`, `user-*`, `p-*`, `harvester-*`, `longhorn-system`,
`local`, `default`); the Kubernetes version from the nodes' kubelet versions.

**What it reports.** One finding per workload namespace whose `enforce` label is absent or is
neither `restricted` nor `baseline` (for instance `privileged`).

On Harvester the cluster-wide default (`rke2-pss.yaml`, `enforce: privileged`) is by design:
virtual machines need privileged pods. Only the namespaces' own labels are judged.

**Why it matters.** Without an enforce level a namespace admits any pod the cluster default
allows: host namespaces, privileged containers, host paths. Rancher's hardening guide asks for
`restricted` (or at least `baseline`) on workload namespaces.

**Remediation.** `kubectl label namespace <ns> pod-security.kubernetes.io/enforce=restricted`
(or `baseline` when a workload needs more), after checking the workloads with
`--dry-run=server` and the `warn` label.

**Overridable.** `harrow analyze --workload-namespaces-exclude PATTERN[,PATTERN]` (globs: `*`
any characters, `?` one; the flag may repeat) excludes more namespaces, such as a team's own
system namespaces (`--workload-namespaces-exclude 'infra-*,monitoring'`), besides the built-in
ones; the coverage row names the patterns when nothing is left to judge.

**Not applicable** when the cluster has no workload namespace (or none the patterns leave), and before Kubernetes 1.23 (no
Pod Security Admission; an unknown version is taken as older and the coverage row says so).
**Not evaluable** without the bundle's Namespace objects.

**Source.** `seeds/rancher-security-hardening.txt` (Pod Security Admission); rules.md KUBE002.
"#,
    evaluate: kube002,
};

fn kube002(cx: &Context, out: &mut Findings) -> Verdict {
    let snap = cx.snapshot;
    let version = snap.cluster.kubernetes_version.as_deref();
    match version.and_then(|s| Version::parse(s).map(|v| (s, v))) {
        Some((_, v)) if v >= Version(1, 23, 0) => {}
        Some((s, _)) => {
            return Verdict::not_applicable(format!(
                "Kubernetes {s} predates Pod Security Admission (1.23)"
            ));
        }
        None => {
            return Verdict::not_applicable(
                "Kubernetes version unknown: taken as older than 1.23, which has no Pod Security Admission",
            );
        }
    }
    let workload = match workload_namespaces(cx) {
        Ok(w) => w,
        Err(v) => return v,
    };
    for ns in &workload {
        let level = ns.label(PSA_ENFORCE);
        if matches!(level, Some("restricted" | "baseline")) {
            continue;
        }
        let why = match level {
            Some(l) => format!("has {PSA_ENFORCE}={l}"),
            None => format!("has no {PSA_ENFORCE} label"),
        };
        out.add(
            None,
            Some(format!("Namespace/{}", ns.name)),
            format!(
                "workload namespace {} {why}: it admits any pod the cluster default allows",
                ns.name
            ),
            vec![object_origin(snap, ns, ".metadata.labels")],
            format!(
                "kubectl label namespace {} {PSA_ENFORCE}=restricted --overwrite (or baseline), after checking its workloads with --dry-run=server",
                ns.name
            ),
        );
    }
    Verdict::judged(
        format!(
            "{} of {} workload namespace(s) without a restricted or baseline enforce label",
            out.len(),
            workload.len()
        ),
        format!(
            "every workload namespace ({}) enforces restricted or baseline",
            names(&workload)
        ),
    )
}

/// Workload namespaces without default deny.
pub static KUBE003: Rule = Rule {
    code: "KUBE003",
    severity: Severity::Medium,
    title: "workload namespace without a default-deny NetworkPolicy",
    source: "seeds/rancher-security-hardening.txt (RS); seeds/rke-hardening-guide.txt (HG)",
    needs: &[Need::SupportBundle],
    doc: r#"**What it reads.** The bundle's Namespace objects and NetworkPolicy objects
(`yamls/namespaced/<ns>/networking.k8s.io/v1/networkpolicies.yaml`), for each workload namespace
(all but `kube-*`, `cattle-*`, `fleet-*`, `cluster-fleet-*`, `user-*`, `p-*`, `harvester-*`,
`longhorn-system`, `local`, `default`).

**What it reports.** One finding per workload namespace where no NetworkPolicy, alone or together
with others, selects every pod (`podSelector: {}`) with both the `Ingress` and the `Egress`
policy types. A policy without `policyTypes` has `Ingress`, and `Egress` when it has egress
rules (Kubernetes' defaults). The finding says which direction is missing.

**Why it matters.** Pods are non-isolated until a policy selects them: without a default deny,
every pod of the namespace accepts traffic from anywhere in the cluster and may reach anything.
The hardening guides ask for a default-deny policy in every namespace, then policies that allow
what the workloads need.

**Remediation.** Apply a default-deny policy in the namespace:
`{"apiVersion":"networking.k8s.io/v1","kind":"NetworkPolicy","metadata":{"name":"default-deny"},"spec":{"podSelector":{},"policyTypes":["Ingress","Egress"]}}`,
then allow the traffic the workloads need (DNS egress at least).

**Overridable.** `harrow analyze --workload-namespaces-exclude PATTERN[,PATTERN]` (globs: `*`
any characters, `?` one; the flag may repeat) excludes more namespaces, such as a team's own
system namespaces (`--workload-namespaces-exclude 'infra-*,monitoring'`), besides the built-in
ones; the coverage row names the patterns when nothing is left to judge.

**Not applicable** when the cluster has no workload namespace (or none the patterns leave). **Not evaluable** without the
bundle's Namespace objects. A support bundle collects every NetworkPolicy, so a namespace with
none in the bundle has none.

**Source.** `seeds/rancher-security-hardening.txt`; `seeds/rke-hardening-guide.txt` (network
policies); rules.md KUBE003.
"#,
    evaluate: kube003,
};

/// The policy types a NetworkPolicy that selects every pod applies, by Kubernetes' defaults.
fn deny_types(p: &KubeObject) -> Vec<&str> {
    let selects_all = match p.get(&["spec", "podSelector"]) {
        None => true,
        Some(sel) => {
            let empty = |k: &str| {
                get(sel, &[k]).is_none_or(|v| {
                    v.as_object().is_some_and(|m| m.is_empty())
                        || v.as_array().is_some_and(|a| a.is_empty())
                        || v.is_null()
                })
            };
            sel.is_null() || (empty("matchLabels") && empty("matchExpressions"))
        }
    };
    if !selects_all {
        return Vec::new();
    }
    match p
        .get(&["spec", "policyTypes"])
        .and_then(serde_json::Value::as_array)
    {
        Some(types) => types.iter().filter_map(as_str).collect(),
        None => {
            let mut v = vec!["Ingress"];
            if p.get(&["spec", "egress"]).is_some() {
                v.push("Egress");
            }
            v
        }
    }
}

fn kube003(cx: &Context, out: &mut Findings) -> Verdict {
    let snap = cx.snapshot;
    let workload = match workload_namespaces(cx) {
        Ok(w) => w,
        Err(v) => return v,
    };
    let mut types: BTreeMap<&str, (BTreeSet<&str>, usize)> = BTreeMap::new();
    for p in snap.objects_of("NetworkPolicy") {
        if let Some(ns) = p.namespace.as_deref() {
            let e = types.entry(ns).or_default();
            e.0.extend(deny_types(p));
            e.1 += 1;
        }
    }
    for ns in &workload {
        let (have, count) = types.get(ns.name.as_str()).cloned().unwrap_or_default();
        let lacking: Vec<&str> = ["Ingress", "Egress"]
            .into_iter()
            .filter(|t| !have.contains(t))
            .collect();
        if lacking.is_empty() {
            continue;
        }
        let what = if count == 0 {
            "has no NetworkPolicy".to_string()
        } else {
            format!(
                "has {count} NetworkPolicy object(s), none selecting every pod for {}",
                lacking.join(" and ")
            )
        };
        out.add(
            None,
            Some(format!("Namespace/{}", ns.name)),
            format!(
                "workload namespace {} {what}: its pods accept and send {} traffic without restriction",
                ns.name,
                lacking.join(" and ").to_lowercase()
            ),
            vec![object_origin(snap, ns, "")],
            format!(
                "apply a default-deny policy in {}: podSelector {{}} with policyTypes [Ingress, Egress], then allow what the workloads need (DNS egress at least)",
                ns.name
            ),
        );
    }
    Verdict::judged(
        format!(
            "{} of {} workload namespace(s) without a default deny of ingress and egress",
            out.len(),
            workload.len()
        ),
        format!(
            "every workload namespace ({}) denies ingress and egress by default",
            names(&workload)
        ),
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn globs_match_whole_names() {
        let m = |p: &str, n: &str| super::glob(p.as_bytes(), n.as_bytes());
        assert!(m("kube-*", "kube-system"));
        assert!(m("*", ""));
        assert!(m("team-?", "team-a"));
        assert!(!m("team-?", "team-ab"));
        assert!(m("*-dev*", "web-dev-1"));
        assert!(m("a*b*c", "axxbyybzc"));
        assert!(!m("vm", "vms"));
        assert!(!m("vms", "vm"));
        assert!(!m("a*c", "ab"));
        assert!(super::namespace_pattern("team-*").is_ok());
        assert!(super::namespace_pattern("").is_err());
        assert!(super::namespace_pattern("Team").is_err());
    }

    use super::*;

    #[test]
    fn workload_namespaces_follow_rules_md() {
        for ns in [
            "kube-system",
            "kube-public",
            "cattle-system",
            "fleet-local",
            "cluster-fleet-local-x",
            "user-abcde",
            "p-xyz12",
            "harvester-system",
            "longhorn-system",
            "local",
            "default",
        ] {
            assert!(!is_workload_namespace(ns), "{ns}");
        }
        for ns in ["vms", "team-a", "longhorn", "defaults", "production"] {
            assert!(is_workload_namespace(ns), "{ns}");
        }
    }
}
