//! Rancher authentication rules: RANCHER002 (local authentication left enabled next to an
//! external identity provider), RANCHER004 (cluster registration tokens without a TTL or older
//! than a day), RANCHER010 (API and kubeconfig tokens that never expire).
//!
//! They read AuthConfigs, ClusterRegistrationTokens and Settings (`management.cattle.io`). A
//! registration token's value (`status.token`) is never read: its exposure is BUNDLE001's.

use super::super::common::{instant, span};
use super::super::rule::{Findings, Need, Rule, Verdict};
use super::super::{Context, Severity};
use super::{MGMT, harvester_embedded, has_settings, listed, mgmt, origin, setting, target};
use crate::snapshot::KubeObject;
use crate::snapshot::value::as_bool;
use crate::timefmt::parse_rfc3339;

/// RANCHER004's age limit in seconds: a registration token older than this fails (rules.md:
/// 24 h, overridable; a constant until a flag asks for it).
pub const MAX_TOKEN_AGE_SECONDS: i64 = 24 * 3600;

/// The settings RANCHER010 reads: 0 means tokens never expire.
const TTL_SETTINGS: [&str; 2] = [
    "auth-token-max-ttl-minutes",
    "kubeconfig-default-token-ttl-minutes",
];

/// Local authentication next to an external provider.
pub static RANCHER002: Rule = Rule {
    code: "RANCHER002",
    severity: Severity::Medium,
    title: "local authentication enabled next to an external identity provider",
    source: "seeds/rancher-security-hardening.txt (RS)",
    needs: &[Need::RancherObjects],
    doc: r#"**What it reads.** Rancher's AuthConfigs (`management.cattle.io`, cluster-scoped):
`local` and the external providers (`github`, `activedirectory`, `openldap`, `keycloakoidc`,
`genericoidc`, `azuread`, `okta`, `shibboleth`, …), each with its `enabled` flag.

**What it reports.** One finding when the `local` provider is enabled while an external provider
is enabled too: the providers enabled.

**Why it matters.** Once single sign-on is configured, the local accounts (the install-time
admin and any local user) bypass the identity provider's MFA, password policy and offboarding.
The seed: "After configuring SSO, disable local authentication".

**Remediation.** Users & Authentication > Auth Provider: keep the external provider and disable
local authentication (the seed's API call sets `enabled: false` on `authConfigs/local`), after
making sure an administrator can log in through the provider.

**Not evaluable** without the AuthConfigs: Harvester's collector excludes
`authconfigs.management.cattle.io` from its bundles, so a Harvester bundle never carries them;
a bundle of the Rancher management cluster does. **Passes** when no external provider is
enabled (local authentication is then the only way in) or local authentication is disabled.

**Source.** `seeds/rancher-security-hardening.txt` ("Disable local admin fallback", checklist
"Local auth disabled"); `reference/harvester-bundle.md` §4 (excluded resources); rules.md
RANCHER002.
"#,
    evaluate: rancher002,
};

/// Registration tokens without TTL or older than 24 h.
pub static RANCHER004: Rule = Rule {
    code: "RANCHER004",
    severity: Severity::Medium,
    title: "cluster registration token without TTL or older than 24 h",
    source: "seeds/rancher-security-hardening.txt (RS)",
    needs: &[Need::SupportBundle],
    doc: r#"**What it reads.** Rancher's ClusterRegistrationTokens (`management.cattle.io`, in each
cluster's namespace): `spec.ttl` (seconds) and `metadata.creationTimestamp`, against the
reference time. The token value (`status.token`) is never read or shown.

**What it reports.** One finding per token that has no TTL (absent or 0: it never expires) or
was created more than 24 hours before the reference time (`MAX_TOKEN_AGE_SECONDS`; rules.md
calls it overridable).

**Why it matters.** A registration token lets whoever holds it register a cluster or a node
with Rancher. The seed asks for tokens with an expiry, rotated after onboarding, and stale tokens
removed.

**Remediation.** Delete the token once the clusters are registered (`kubectl -n <cluster-ns>
delete clusterregistrationtoken <name>`; Rancher makes a new one when one is needed), and create
tokens with a TTL (`spec.ttl: 86400`).

**Not applicable** to the `local` cluster's `default-token` of Harvester's embedded Rancher:
Harvester manages that token, and its exposure in a bundle is BUNDLE001's. **Not evaluable**
without the tokens (no support bundle, or one that holds no registration token list); a
Harvester bundle holds only the namespaces it collects (`local`, not downstream clusters').

**Source.** `seeds/rancher-security-hardening.txt` ("Rotate registration tokens after
onboarding", "Restrict token usage", "Remove stale tokens"); rules.md RANCHER004.
"#,
    evaluate: rancher004,
};

/// API and kubeconfig tokens that never expire.
pub static RANCHER010: Rule = Rule {
    code: "RANCHER010",
    severity: Severity::Low,
    title: "Rancher API or kubeconfig tokens never expire",
    source: "seeds/rancher-security-hardening.txt (RS)",
    needs: &[Need::SupportBundle],
    doc: r#"**What it reads.** The Rancher settings `auth-token-max-ttl-minutes` (the longest any
API token may live) and `kubeconfig-default-token-ttl-minutes` (the lifetime of tokens in
generated kubeconfigs): the `value`, or the `default` when the value is empty (`"null"`) or
masked.

**What it reports.** One finding per setting whose effective value is 0: with
`auth-token-max-ttl-minutes` at 0 no token's lifetime is capped, so API tokens can be made that
never expire; with `kubeconfig-default-token-ttl-minutes` at 0 kubeconfig tokens are made
without expiry (unless the maximum caps them).

**Why it matters.** A token that never expires stays valid after a laptop is lost or a person
leaves, until someone finds and deletes it. The seed asks to restrict token usage.

**Remediation.** Set a maximum (Global Settings > `auth-token-max-ttl-minutes`, e.g. 129600 for
90 days) and a kubeconfig token lifetime (`kubeconfig-default-token-ttl-minutes`, e.g. 43200
for 30 days); existing tokens keep their TTL, so delete the old non-expiring ones.

**Not evaluable** when the inputs hold no Rancher settings, or neither of the two (a Rancher
older than the setting keeps it absent: only the present one is judged).

**Source.** `seeds/rancher-security-hardening.txt` ("Restrict token usage"); rules.md
RANCHER010.
"#,
    evaluate: rancher010,
};

fn rancher002(cx: &Context, out: &mut Findings) -> Verdict {
    let snap = cx.snapshot;
    let configs: Vec<&KubeObject> = mgmt(snap, "AuthConfig").collect();
    if configs.is_empty() {
        return Verdict::not_evaluable(
            "the inputs hold no Rancher AuthConfigs (Harvester's collector excludes them)",
            Need::RancherObjects,
        );
    }
    let enabled = |o: &KubeObject| o.get(&["enabled"]).and_then(as_bool) == Some(true);
    let Some(local) = configs.iter().find(|o| o.name == "local") else {
        return Verdict::not_evaluable(
            "the inputs hold Rancher AuthConfigs but not the local one",
            Need::RancherObjects,
        );
    };
    let external: Vec<&KubeObject> = configs
        .iter()
        .copied()
        .filter(|o| o.name != "local" && enabled(o))
        .collect();
    let names: Vec<&str> = external.iter().map(|o| o.name.as_str()).collect();
    if enabled(local) && !external.is_empty() {
        let mut evidence = vec![origin(snap, local, ".enabled")];
        evidence.extend(external.iter().map(|o| origin(snap, o, ".enabled")));
        out.add(
            None,
            Some(target(local)),
            format!(
                "local authentication is enabled next to the external provider(s) {}: local accounts bypass the provider's MFA and offboarding",
                names.join(", ")
            ),
            evidence,
            "disable local authentication (Users & Authentication > Auth Provider, or set enabled: false on authConfigs/local) once an administrator can log in through the provider".to_string(),
        );
    }
    Verdict::judged(
        "local authentication is enabled next to an external provider",
        if external.is_empty() {
            "no external identity provider is enabled (local authentication is the only one)"
                .to_string()
        } else {
            format!(
                "local authentication is disabled; external provider(s) {}",
                names.join(", ")
            )
        },
    )
}

fn rancher004(cx: &Context, out: &mut Findings) -> Verdict {
    let snap = cx.snapshot;
    let tokens: Vec<&KubeObject> = mgmt(snap, "ClusterRegistrationToken").collect();
    if tokens.is_empty() {
        if listed(snap, MGMT, "clusterregistrationtokens") {
            return Verdict::judged(
                "",
                "the collected namespaces hold no cluster registration token",
            );
        }
        return Verdict::not_evaluable(
            "the inputs hold no cluster registration tokens (no support bundle, or no token list in it)",
            Need::SupportBundle,
        );
    }
    let embedded = harvester_embedded(snap);
    let managed = |o: &KubeObject| {
        embedded && o.name == "default-token" && o.namespace.as_deref() == Some("local")
    };
    let judged: Vec<&KubeObject> = tokens.iter().copied().filter(|o| !managed(o)).collect();
    if judged.is_empty() {
        return Verdict::not_applicable(
            "the only registration token is the local cluster's default-token, which Harvester's embedded Rancher manages (its exposure is BUNDLE001's)",
        );
    }
    for o in &judged {
        let mut why = Vec::new();
        let mut evidence = Vec::new();
        let ttl = o.i64_at(&["spec", "ttl"]).or_else(|| o.i64_at(&["ttl"]));
        if ttl.is_none_or(|t| t <= 0) {
            why.push("it has no TTL (it never expires)".to_string());
            evidence.push(origin(snap, o, ".spec"));
        }
        if let Some(created) = o
            .str_at(&["metadata", "creationTimestamp"])
            .and_then(parse_rfc3339)
        {
            let age = (cx.reference_time - created).whole_seconds();
            if age > MAX_TOKEN_AGE_SECONDS {
                why.push(format!(
                    "it was created {} ({} before the reference time, more than {} h)",
                    instant(created),
                    span(age),
                    MAX_TOKEN_AGE_SECONDS / 3600
                ));
                evidence.push(origin(snap, o, ".metadata.creationTimestamp"));
            }
        }
        if why.is_empty() {
            continue;
        }
        let cluster = o
            .str_at(&["spec", "clusterName"])
            .or(o.namespace.as_deref())
            .unwrap_or("?");
        out.add(
            None,
            Some(target(o)),
            format!(
                "registration token {} of cluster {cluster}: {}; the value is not shown",
                o.name,
                why.join("; and ")
            ),
            evidence,
            format!(
                "delete it once the cluster is registered (`kubectl -n {} delete clusterregistrationtoken {}`) and create registration tokens with a TTL (spec.ttl: 86400)",
                o.namespace.as_deref().unwrap_or(cluster),
                o.name
            ),
        );
    }
    let skipped = if judged.len() < tokens.len() {
        " (the local default-token Harvester manages is not judged)"
    } else {
        ""
    };
    Verdict::judged(
        format!("registration tokens without TTL or older than 24 h{skipped}"),
        format!(
            "{} registration token(s) with a TTL and younger than 24 h{skipped}",
            judged.len()
        ),
    )
}

fn rancher010(cx: &Context, out: &mut Findings) -> Verdict {
    let snap = cx.snapshot;
    if !has_settings(snap) {
        return Verdict::not_evaluable("the inputs hold no Rancher settings", Need::SupportBundle);
    }
    let mut judged = Vec::new();
    for name in TTL_SETTINGS {
        let Some(s) = setting(snap, name) else {
            continue;
        };
        let Some(minutes) = s.value.and_then(|v| v.trim().parse::<i64>().ok()) else {
            continue;
        };
        judged.push(format!("{name} {minutes}"));
        if minutes != 0 {
            continue;
        }
        let what = if name == TTL_SETTINGS[0] {
            "no API token's lifetime is capped: tokens can be made that never expire"
        } else {
            "tokens of generated kubeconfigs are made without expiry (unless auth-token-max-ttl-minutes caps them)"
        };
        out.add(
            None,
            Some(format!("Setting/{name}")),
            format!("{name} is 0 (its {}): {what}", s.from),
            vec![origin(snap, s.object, &format!(".{}", s.from))],
            format!(
                "set {name} (Global Settings) to a lifetime in minutes, e.g. {}, and delete existing tokens that never expire",
                if name == TTL_SETTINGS[0] {
                    "129600 (90 days)"
                } else {
                    "43200 (30 days)"
                }
            ),
        );
    }
    if judged.is_empty() {
        return Verdict::not_evaluable(
            format!(
                "the Rancher settings hold neither {} nor {} with a number",
                TTL_SETTINGS[0], TTL_SETTINGS[1]
            ),
            Need::SupportBundle,
        );
    }
    Verdict::judged(
        "Rancher tokens can be made that never expire",
        format!("token lifetimes are bounded ({})", judged.join(", ")),
    )
}
