//! Rancher role rules: RANCHER001 (too many subjects hold the admin global roles or a
//! cluster's `cluster-owner`), RANCHER003 (the default role of new users), RANCHER008 (a global
//! role that can create clusters given to every new user or bound widely).
//!
//! They read GlobalRoles, GlobalRoleBindings and ClusterRoleTemplateBindings
//! (`management.cattle.io`). A subject is a user (`userName`, else `userPrincipalName`) or a group
//! (`groupPrincipalName`, `groupName`); the admin user Rancher creates at install (its binding
//! carries the label `authz.management.cattle.io/bootstrapping: admin-user`) is not counted.

use std::collections::{BTreeMap, BTreeSet};

use super::super::rule::{Findings, Need, Rule, Verdict};
use super::super::{Context, Severity};
use super::{MGMT, listed, mgmt, origin, setting, target};
use crate::snapshot::value::{as_str, get};
use crate::snapshot::{KubeObject, Snapshot};

/// RANCHER001's threshold: more subjects than this on one admin scope fail (rules.md:
/// overridable; a constant until a flag asks for it).
pub const MAX_ADMIN_SUBJECTS: usize = 3;

/// RANCHER008: a role bound to more users than this (or to any group) is bound widely.
pub const WIDE_BINDING: usize = 3;

/// The global roles that make a subject a Rancher administrator (besides any role granting
/// every verb on every resource).
const ADMIN_ROLES: &[&str] = &["admin", "restricted-admin"];

/// The label Rancher puts on the admin user it creates at install and on that user's binding.
const BOOTSTRAP_LABEL: &str = "authz.management.cattle.io/bootstrapping";

/// Too many administrators and cluster owners.
pub static RANCHER001: Rule = Rule {
    code: "RANCHER001",
    severity: Severity::Medium,
    title: "too many subjects bound to Rancher admin global roles or cluster-owner",
    source: "seeds/rancher-security-hardening.txt (RS)",
    needs: &[Need::RancherObjects],
    doc: r#"**What it reads.** Rancher's GlobalRoleBindings (`globalRoleName` and the subject:
`userName`, `userPrincipalName`, `groupPrincipalName`), GlobalRoles (to know which grant every
verb on every resource) and ClusterRoleTemplateBindings (`clusterName`, `roleTemplateName`,
the subject), `management.cattle.io`.

**What it reports.** One finding per scope holding more than 3 subjects (a constant of the rule,
`MAX_ADMIN_SUBJECTS`; rules.md calls it overridable): the global administrators (subjects bound
to `admin`, `restricted-admin` or a global role granting `*` on `*`), and each cluster's
`cluster-owner` role template. The admin user Rancher creates at install (its binding labelled
`authz.management.cattle.io/bootstrapping: admin-user`) is not counted. A group counts as one
subject; the finding names the subjects by their Rancher ids, never by anything secret.

**Why it matters.** An administrator of Rancher is an administrator of every downstream
cluster, and a cluster owner can grant anything inside its cluster. The seed asks for least
privilege: "No unnecessary cluster-owner", and to use cluster-member or custom roles instead.

**Remediation.** Review the bindings (`kubectl get globalrolebindings`, `kubectl get
clusterroletemplatebindings -A`), move users who do not need full control to Standard User,
cluster-member or a custom role (Users & Authentication > Users > Edit > Global Permissions),
and grant administration to an identity-provider group you audit.

**Not evaluable** without the GlobalRoleBindings and ClusterRoleTemplateBindings: a Harvester
support bundle of 2022 lacks them, and any bundle may; a bundle of the Rancher management
cluster (its `yamls/` lists) supplies them. A scope over the limit is reported even when the
other list is missing.

**Source.** `seeds/rancher-security-hardening.txt` ("Avoid Cluster-Owner overuse", "Audit RBAC
permissions", checklist "RBAC least privilege"); rules.md RANCHER001.
"#,
    evaluate: rancher001,
};

/// The default role of new users.
pub static RANCHER003: Rule = Rule {
    code: "RANCHER003",
    severity: Severity::Info,
    title: "default role of new users is not Standard User",
    source: "seeds/rancher-security-hardening.txt (RS)",
    needs: &[Need::RancherObjects],
    doc: r#"**What it reads.** The Rancher setting `default-user-role` (`value`, else `default`),
and when the inputs have no such setting, the GlobalRoles marked `newUserDefault: true` (how
Rancher gives new users their global roles).

**What it reports.** One finding when the default is not `user` ("Standard User"): the role or
roles new users get instead (`user-base`, a custom role, or none at all).

**Why it matters.** The seed recommends Standard User rather than User Base as the role every
new user gets. Note that `user-base` is the stricter of the two: a Standard User can create
clusters, a User Base cannot; where users must not create clusters, `user-base` is the right
choice and this finding is informational only.

**Remediation.** Global Settings > Default User Role (or the global roles' "New User Default"
in Users & Authentication > Roles): choose Standard User, or keep User Base deliberately where
cluster creation must stay with administrators.

**Not evaluable** when the inputs hold neither the setting nor the GlobalRoles (a Harvester
bundle of 2022 lacks them).

**Source.** `seeds/rancher-security-hardening.txt` ("Configure default user role": Standard User
instead of User Base); rules.md RANCHER003.
"#,
    evaluate: rancher003,
};

/// Cluster creation granted widely.
pub static RANCHER008: Rule = Rule {
    code: "RANCHER008",
    severity: Severity::Medium,
    title: "global role that creates clusters is a new-user default or bound widely",
    source: "seeds/rancher-security-hardening.txt (RS)",
    needs: &[Need::RancherObjects],
    doc: r#"**What it reads.** Rancher's GlobalRoles (their `rules`, `newUserDefault`, `builtin`) and
GlobalRoleBindings (`management.cattle.io`).

**What it reports.** One finding per global role that grants `create` (or `*`) on `clusters`
or `clustertemplates` (or `*`) in the `management.cattle.io` or `provisioning.cattle.io` group
(or `*`) and is a new-user default (`newUserDefault: true`) or bound widely: to a group, or to
more than 3 users (`WIDE_BINDING`). The admin roles are RANCHER001's and the built-in Standard
User (`user`, the seed's recommended default, see RANCHER003) is not judged here.

**Why it matters.** Whoever can create or import clusters can provision infrastructure under
Rancher's credentials and becomes owner of what they create. The seed asks to limit who can
create or import clusters with a dedicated role given to the few who need it.

**Remediation.** Clear "New User Default" on the role (Users & Authentication > Roles > Global),
bind it only to the users or the narrow group that provision clusters, and remove the other
GlobalRoleBindings (`kubectl delete globalrolebinding <name>`).

**Not evaluable** without the GlobalRoles (a Harvester bundle of 2022 lacks them); a role that
is a new-user default is reported even when the bindings are missing, but no pass is given then.

**Source.** `seeds/rancher-security-hardening.txt` ("Limit who can create/import clusters",
checklist "Cluster creation restricted"); rules.md RANCHER008.
"#,
    evaluate: rancher008,
};

/// A subject of a binding: `user u-abc12`, `group okta_group://admins`.
fn subject(o: &KubeObject) -> Option<String> {
    let s = |k: &str| o.str_at(&[k]);
    s("userName")
        .or_else(|| s("userPrincipalName"))
        .map(|u| format!("user {u}"))
        .or_else(|| {
            s("groupPrincipalName")
                .or_else(|| s("groupName"))
                .map(|g| format!("group {g}"))
        })
}

/// True when the binding is the one Rancher made for its install-time admin user.
fn bootstrap_admin(o: &KubeObject) -> bool {
    o.label(BOOTSTRAP_LABEL) == Some("admin-user")
}

/// Whether a list of strings (a rule's `verbs`, `resources`, `apiGroups`) holds one of `want`.
fn holds(rule: &serde_json::Value, key: &str, want: &[&str]) -> bool {
    get(rule, &[key])
        .and_then(|v| v.as_array())
        .is_some_and(|a| a.iter().filter_map(as_str).any(|x| want.contains(&x)))
}

/// The `rules` of a GlobalRole.
fn rules(role: &KubeObject) -> impl Iterator<Item = &serde_json::Value> {
    role.get(&["rules"])
        .and_then(|r| r.as_array())
        .into_iter()
        .flatten()
}

/// A GlobalRole granting every verb on every resource of every group.
fn grants_all(role: &KubeObject) -> bool {
    rules(role).any(|r| {
        holds(r, "verbs", &["*"]) && holds(r, "resources", &["*"]) && holds(r, "apiGroups", &["*"])
    })
}

/// A GlobalRole granting `create` on clusters or cluster templates.
fn creates_clusters(role: &KubeObject) -> bool {
    rules(role).any(|r| {
        holds(r, "verbs", &["create", "*"])
            && holds(r, "resources", &["clusters", "clustertemplates", "*"])
            && holds(r, "apiGroups", &[MGMT, "provisioning.cattle.io", "*"])
    })
}

/// The roles RANCHER008 leaves to others: the admin roles (RANCHER001's) and the built-in
/// Standard User (the seed's recommended default, RANCHER003's).
fn excluded_from_008(r: &KubeObject) -> bool {
    let builtin = r.get(&["builtin"]).and_then(serde_json::Value::as_bool) == Some(true);
    ADMIN_ROLES.contains(&r.name.as_str()) || grants_all(r) || (r.name == "user" && builtin)
}

/// The subjects of `bindings`, with the bindings that bind them, the install-time admin left out.
fn subjects<'a>(bindings: &[&'a KubeObject]) -> BTreeMap<String, Vec<&'a KubeObject>> {
    let mut out: BTreeMap<String, Vec<&KubeObject>> = BTreeMap::new();
    for b in bindings.iter().filter(|b| !bootstrap_admin(b)) {
        if let Some(s) = subject(b) {
            out.entry(s).or_default().push(b);
        }
    }
    out
}

/// Report `scope` when its subjects exceed the limit.
fn over_limit(
    snap: &Snapshot,
    out: &mut Findings,
    scope: &str,
    role: &str,
    subjects: &BTreeMap<String, Vec<&KubeObject>>,
) {
    if subjects.len() <= MAX_ADMIN_SUBJECTS {
        return;
    }
    let names: Vec<&str> = subjects.keys().map(String::as_str).collect();
    let evidence = subjects
        .values()
        .flatten()
        .map(|b| origin(snap, b, ""))
        .collect();
    out.add(
        None,
        Some(scope.to_string()),
        format!(
            "{} subjects hold {role} (more than {MAX_ADMIN_SUBJECTS}): {}",
            names.len(),
            names.join(", ")
        ),
        evidence,
        format!(
            "review who needs {role}: move the others to Standard User, cluster-member or a custom role, and grant administration to one audited identity-provider group"
        ),
    );
}

fn rancher001(cx: &Context, out: &mut Findings) -> Verdict {
    let snap = cx.snapshot;
    let grbs: Vec<&KubeObject> = mgmt(snap, "GlobalRoleBinding").collect();
    let crtbs: Vec<&KubeObject> = mgmt(snap, "ClusterRoleTemplateBinding").collect();
    let admin_roles: BTreeSet<&str> = ADMIN_ROLES
        .iter()
        .copied()
        .chain(
            mgmt(snap, "GlobalRole")
                .filter(|r| grants_all(r))
                .map(|r| r.name.as_str()),
        )
        .collect();
    let admins: Vec<&KubeObject> = grbs
        .iter()
        .copied()
        .filter(|b| {
            b.str_at(&["globalRoleName"])
                .is_some_and(|r| admin_roles.contains(r))
        })
        .collect();
    let admin_subjects = subjects(&admins);
    over_limit(
        snap,
        out,
        "GlobalRoleBinding/admin",
        "the admin global roles",
        &admin_subjects,
    );
    let mut owners: BTreeMap<&str, Vec<&KubeObject>> = BTreeMap::new();
    for b in &crtbs {
        if b.str_at(&["roleTemplateName"]) == Some("cluster-owner") {
            let cluster = b
                .str_at(&["clusterName"])
                .or(b.namespace.as_deref())
                .unwrap_or("?");
            owners.entry(cluster).or_default().push(b);
        }
    }
    for (cluster, bindings) in &owners {
        over_limit(
            snap,
            out,
            &format!("Cluster/{cluster}/cluster-owner"),
            &format!("cluster-owner of cluster {cluster}"),
            &subjects(bindings),
        );
    }
    let have_grbs = !grbs.is_empty();
    let have_crtbs = !crtbs.is_empty() || listed(snap, MGMT, "clusterroletemplatebindings");
    if out.is_empty() && !(have_grbs && have_crtbs) {
        let missing: Vec<&str> = [
            (!have_grbs).then_some("GlobalRoleBindings"),
            (!have_crtbs).then_some("ClusterRoleTemplateBindings"),
        ]
        .into_iter()
        .flatten()
        .collect();
        return Verdict::not_evaluable(
            format!(
                "the inputs hold no Rancher {} (a Harvester bundle may lack them)",
                missing.join(" nor ")
            ),
            Need::RancherObjects,
        );
    }
    Verdict::judged(
        format!(
            "{} scope(s) with more than {MAX_ADMIN_SUBJECTS} admin or cluster-owner subjects",
            out.len()
        ),
        format!(
            "{} admin subject(s) besides the install-time admin, and at most {MAX_ADMIN_SUBJECTS} cluster-owner subjects on each of {} cluster(s)",
            admin_subjects.len(),
            owners.len()
        ),
    )
}

fn rancher003(cx: &Context, out: &mut Findings) -> Verdict {
    let snap = cx.snapshot;
    if let Some(s) = setting(snap, "default-user-role") {
        let Some(role) = s.value else {
            return Verdict::not_evaluable(
                "the default-user-role setting has neither a value nor a default (masked or null)",
                Need::SupportBundle,
            );
        };
        if role != "user" {
            out.add(
                None,
                Some("Setting/default-user-role".to_string()),
                format!(
                    "new users get the global role {role} (the setting's {}), not Standard User (user){}",
                    s.from,
                    stricter(role)
                ),
                vec![origin(snap, s.object, &format!(".{}", s.from))],
                remediation(),
            );
        }
        return Verdict::judged(
            format!("new users get {role}, not Standard User"),
            "new users get Standard User (default-user-role is user)",
        );
    }
    let roles: Vec<&KubeObject> = mgmt(snap, "GlobalRole").collect();
    if roles.is_empty() {
        return Verdict::not_evaluable(
            "the inputs hold neither the default-user-role setting nor Rancher's GlobalRoles",
            Need::RancherObjects,
        );
    }
    let defaults: Vec<&KubeObject> = roles
        .iter()
        .copied()
        .filter(|r| {
            r.get(&["newUserDefault"])
                .and_then(crate::snapshot::value::as_bool)
                == Some(true)
        })
        .collect();
    let names: Vec<&str> = defaults.iter().map(|r| r.name.as_str()).collect();
    if !names.contains(&"user") {
        let (what, extra) = if names.is_empty() {
            (
                "no global role is a new-user default: new users get no global role".to_string(),
                String::new(),
            )
        } else {
            (
                format!("the new-user default global roles are {}", names.join(", ")),
                names.iter().map(|n| stricter(n)).collect::<String>(),
            )
        };
        let evidence = if defaults.is_empty() {
            roles.iter().map(|r| origin(snap, r, "")).take(1).collect()
        } else {
            defaults
                .iter()
                .map(|r| origin(snap, r, ".newUserDefault"))
                .collect()
        };
        out.add(
            None,
            Some("GlobalRole/newUserDefault".to_string()),
            format!("{what}, not Standard User (user){extra}"),
            evidence,
            remediation(),
        );
    }
    Verdict::judged(
        "new users do not get Standard User",
        "Standard User (user) is a new-user default global role",
    )
}

/// The note RANCHER003 adds for `user-base`.
fn stricter(role: &str) -> &'static str {
    if role == "user-base" {
        "; user-base is stricter (its users cannot create clusters): keep it where users must not create clusters"
    } else {
        ""
    }
}

fn remediation() -> String {
    "choose the default in Global Settings > Default User Role (or the roles' New User Default in Users & Authentication > Roles): Standard User as the seed recommends, or User Base deliberately where users must not create clusters".to_string()
}

fn rancher008(cx: &Context, out: &mut Findings) -> Verdict {
    let snap = cx.snapshot;
    let roles: Vec<&KubeObject> = mgmt(snap, "GlobalRole").collect();
    if roles.is_empty() {
        return Verdict::not_evaluable(
            "the inputs hold no Rancher GlobalRoles (a Harvester bundle may lack them)",
            Need::RancherObjects,
        );
    }
    let grbs: Vec<&KubeObject> = mgmt(snap, "GlobalRoleBinding").collect();
    let creators: Vec<&KubeObject> = roles
        .iter()
        .copied()
        .filter(|r| creates_clusters(r) && !excluded_from_008(r))
        .collect();
    for role in &creators {
        let mut why = Vec::new();
        let mut evidence = Vec::new();
        if role
            .get(&["newUserDefault"])
            .and_then(crate::snapshot::value::as_bool)
            == Some(true)
        {
            why.push("it is a new-user default: every new user gets it".to_string());
            evidence.push(origin(snap, role, ".newUserDefault"));
        }
        let bindings: Vec<&KubeObject> = grbs
            .iter()
            .copied()
            .filter(|b| b.str_at(&["globalRoleName"]) == Some(role.name.as_str()))
            .collect();
        let bound = subjects(&bindings);
        let groups: Vec<&str> = bound
            .keys()
            .filter_map(|s| s.strip_prefix("group "))
            .collect();
        let users = bound.keys().filter(|s| s.starts_with("user ")).count();
        if !groups.is_empty() {
            why.push(format!("it is bound to group(s) {}", groups.join(", ")));
        }
        if users > WIDE_BINDING {
            why.push(format!(
                "it is bound to {users} users (more than {WIDE_BINDING})"
            ));
        }
        if why.len() > evidence.len() {
            evidence.extend(bindings.iter().map(|b| origin(snap, b, "")));
        }
        if why.is_empty() {
            continue;
        }
        out.add(
            None,
            Some(target(role)),
            format!(
                "global role {} grants create on clusters or cluster templates and {}",
                role.name,
                why.join("; ")
            ),
            evidence,
            format!(
                "clear New User Default on {} (Users & Authentication > Roles > Global) and bind it only to the few users or the narrow group that provision clusters",
                role.name
            ),
        );
    }
    if out.is_empty() && grbs.is_empty() {
        return Verdict::not_evaluable(
            "the inputs hold Rancher's GlobalRoles but no GlobalRoleBindings: how widely the roles are bound is unknown",
            Need::RancherObjects,
        );
    }
    Verdict::judged(
        "global roles that create clusters are given to every new user or bound widely",
        format!(
            "{} global role(s) that create clusters, none a new-user default or bound widely",
            creators.len()
        ),
    )
}
