//! Rancher rules (RANCHER001–RANCHER010), from `seeds/rancher-security-hardening.txt` (RS) and
//! `reference/rke2-pki.md` §7: they read Rancher's objects in the snapshot (management.cattle.io
//! GlobalRoles, GlobalRoleBindings, ClusterRoleTemplateBindings, Settings, AuthConfigs,
//! ClusterRegistrationTokens, Clusters; resources.cattle.io Backups; the Rancher ingress and the
//! ingress-nginx controller's ConfigMap; the agents' `CATTLE_CA_CHECKSUM`), never raw bytes.
//!
//! Rooms: [`rbac`] (RANCHER001 admin and cluster-owner bindings, RANCHER003 the default user
//! role, RANCHER008 cluster creation granted widely), [`auth`] (RANCHER002 local auth next to an
//! external provider, RANCHER004 registration tokens, RANCHER010 token lifetimes), [`exposure`]
//! (RANCHER005 ingress TLS, HSTS and allow-list, RANCHER006 unencrypted backups, RANCHER007
//! disconnected clusters), [`agents`] (RANCHER009 `CATTLE_CA_CHECKSUM`). This file holds what they
//! share: Rancher's objects of a kind, its settings with their effective value, whether the
//! inputs hold a resource's list at all, and an object's place as evidence.
//!
//! A Harvester bundle excludes `authconfigs` and `users`, and a bundle written since 2023 leaves
//! out an empty list: a rule whose objects are absent says not-evaluable, never pass.

pub mod agents;
pub mod auth;
pub mod exposure;
pub mod rbac;

use super::Origin;
use crate::snapshot::selector::{parse_yaml_path, segments};
use crate::snapshot::{KubeObject, Snapshot};

/// Rancher's management API group.
pub const MGMT: &str = "management.cattle.io";

/// The objects of `kind` in API group `group` (a kind such as `Setting`, `Cluster` or `Backup`
/// exists in several groups).
pub fn objects<'a>(
    snap: &'a Snapshot,
    group: &'a str,
    kind: &'a str,
) -> impl Iterator<Item = &'a KubeObject> + 'a {
    snap.objects_of(kind).filter(move |o| {
        o.api_version
            .split_once('/')
            .is_some_and(|(g, _)| g == group)
    })
}

/// Rancher's management objects of `kind`.
pub fn mgmt<'a>(snap: &'a Snapshot, kind: &'a str) -> impl Iterator<Item = &'a KubeObject> + 'a {
    objects(snap, MGMT, kind)
}

/// True when some input holds the `yamls/` list of `group`/`plural` (in any namespace and
/// version), even an empty one: the collector listed the resource.
pub fn listed(snap: &Snapshot, group: &str, plural: &str) -> bool {
    listed_in(snap, None, group, plural)
}

/// [`listed`], in namespace `ns` only when given.
pub fn listed_in(snap: &Snapshot, ns: Option<&str>, group: &str, plural: &str) -> bool {
    snap.trees.iter().any(|t| {
        t.seen.iter().any(|p| {
            let outer = p.split('!').next().unwrap_or(p);
            let segs = segments(outer);
            segs.iter()
                .rposition(|s| *s == "yamls")
                .and_then(|i| parse_yaml_path(&segs[i + 1..]))
                .is_some_and(|y| {
                    y.group == group
                        && y.plural == plural
                        && ns.is_none_or(|n| y.namespace == Some(n))
                })
        })
    })
}

/// The place of `o` in its list file, with `pointer` under the item (`.spec.ttl`, or empty).
pub fn origin(snap: &Snapshot, o: &KubeObject, pointer: &str) -> Origin {
    Origin::new(
        snap.trees.get(o.input).map_or("", |t| t.name.as_str()),
        o.path.as_str(),
    )
    .at(Some(format!("items[{}]{pointer}", o.index)))
}

/// `<Kind>/<namespace>/<name>` or `<Kind>/<name>`.
pub fn target(o: &KubeObject) -> String {
    match &o.namespace {
        Some(ns) => format!("{}/{ns}/{}", o.kind, o.name),
        None => format!("{}/{}", o.kind, o.name),
    }
}

/// One Rancher setting and its effective value.
pub struct Setting<'a> {
    pub object: &'a KubeObject,
    /// The effective value: `value`, or `default` when the value is absent (null, `"null"`,
    /// empty or masked `***`); `None` when both are absent.
    pub value: Option<&'a str>,
    /// `value` or `default`: where the effective value came from.
    pub from: &'static str,
}

/// The Rancher setting `name` (`None` when the inputs hold no such Setting object).
pub fn setting<'a>(snap: &'a Snapshot, name: &str) -> Option<Setting<'a>> {
    let object = mgmt(snap, "Setting").find(|o| o.name == name)?;
    let (value, from) = match object.str_at(&["value"]) {
        Some(v) => (Some(v), "value"),
        None => (object.str_at(&["default"]), "default"),
    };
    Some(Setting {
        object,
        value,
        from,
    })
}

/// True when the inputs hold any Rancher setting (the management settings list was collected).
pub fn has_settings(snap: &Snapshot) -> bool {
    mgmt(snap, "Setting").next().is_some()
}

/// True when Harvester's embedded Rancher manages the cluster: a Harvester version is known, or
/// the `local` Cluster is provided by Harvester.
pub fn harvester_embedded(snap: &Snapshot) -> bool {
    snap.cluster.harvester_version.is_some()
        || mgmt(snap, "Cluster")
            .any(|c| c.name == "local" && c.label("provider.cattle.io") == Some("harvester"))
        || snap
            .objects_of("Setting")
            .any(|o| o.api_version.starts_with("harvesterhci.io/"))
}
