//! Where a credential sits and who owns it, per rules.md's shared definitions.
//!
//! - *live*: the live layout (`server/tls/**`, `agent/*`), kubeconfigs (`server/cred/*.kubeconfig`,
//!   `etc/rancher/rke2/rke2.yaml`, agent kubeconfigs);
//! - *staged*: `server/rotate-ca/**`, `opt/rke2/server/**`, or a `--path` directory;
//! - *backup*: `server/tls-<unix>/**`, `agent/tls-<unix>/**`;
//! - *object*: from a bundle object (ConfigMap, setting, webhook `caBundle`, node annotation).
//!
//! The first three are the layout's trees ([`layout::in_use_of`]).
//!
//! Owners: RKE2 cluster CAs (server, client, request-header, etcd server, etcd peer) are `rke2`;
//! custom roots and intermediates `custom-root`; CAs of components that rotate themselves
//! (kubevirt, CDI, rancher-webhook) `component`; Rancher's `cacerts` CA `rancher`.

use serde::Serialize;

pub use crate::layout::is_credential_file;
use crate::layout::{self, AgentCopy, CaFile, Tree};

/// Where a certificate occurrence sits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum InUse {
    Live,
    Staged,
    Backup,
    Object,
}

impl InUse {
    pub fn as_str(self) -> &'static str {
        match self {
            InUse::Live => "live",
            InUse::Staged => "staged",
            InUse::Backup => "backup",
            InUse::Object => "object",
        }
    }
}

/// Who owns (and renews) a CA.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Owner {
    Rke2,
    CustomRoot,
    Component,
    Rancher,
    Unknown,
}

impl Owner {
    pub fn as_str(self) -> &'static str {
        match self {
            Owner::Rke2 => "rke2",
            Owner::CustomRoot => "custom-root",
            Owner::Component => "component",
            Owner::Rancher => "rancher",
            Owner::Unknown => "unknown",
        }
    }
}

impl From<Tree> for InUse {
    fn from(t: Tree) -> Self {
        match t {
            Tree::Live => InUse::Live,
            Tree::Staged => InUse::Staged,
            Tree::Backup => InUse::Backup,
        }
    }
}

/// Classify a host path (no leading `/`) of a node by [`layout::in_use_of`]. `None` when the
/// path is not a place credentials are read from.
pub fn in_use_of_host_path(host: &str) -> Option<InUse> {
    layout::in_use_of(host).map(InUse::from)
}

/// The cluster CA a host path holds: one of the five cluster CA files ([`CaFile`]) in the live
/// layout, in a staged tree (`opt/rke2/server/tls/…`, `server/rotate-ca/tls/…`) or a backup tree
/// (`server/tls-<unix>/…`), or an agent's copy of one ([`AgentCopy`]).
pub fn cluster_ca_file_at(host: &str) -> Option<CaFile> {
    if let Some(ca) = CaFile::of_host_path(host) {
        return Some(ca);
    }
    if let Some(copy) = AgentCopy::of_host_path(host) {
        return Some(copy.mirrors());
    }
    let root = layout::tree_root(host)?;
    let rest = &host[root.len()..];
    let rest = rest.strip_prefix("tls/").unwrap_or(rest);
    CaFile::ALL.into_iter().find(|c| c.tls_name() == rest)
}

/// The owner of a CA, from where it sits first and its common name as a hint. A CA found at a
/// cluster CA file path ([`cluster_ca_file_at`], live, staged or backup) is a cluster CA,
/// whatever its name: `rke2` when the name is one rke2 gives, else `custom-root` (a custom CA
/// called "Acme Issuing CA" in `server/tls/server-ca.crt` is judged like rke2's own). Elsewhere
/// the name decides, then, for bundle objects, where the object was found (`object_hint`).
/// [`assign_owners`](super::certs) also makes a CA that signs a cluster CA `custom-root`.
pub fn owner_of_ca<'a>(
    common_name: &str,
    host_paths: impl IntoIterator<Item = &'a str>,
    object_hint: Option<&str>,
) -> Owner {
    let cn = common_name.to_ascii_lowercase();
    let base = cn.split('@').next().unwrap_or(&cn);
    let named_rke2 = layout::cluster_ca_of_common_name(base).is_some();
    if host_paths
        .into_iter()
        .any(|h| cluster_ca_file_at(h).is_some())
    {
        return if named_rke2 {
            Owner::Rke2
        } else {
            Owner::CustomRoot
        };
    }
    if named_rke2 {
        return Owner::Rke2;
    }
    if base.ends_with("-root-ca")
        || base.ends_with("-intermediate-ca")
        || base.ends_with("-root")
        || base.contains("root-ca")
        || base.contains("intermediate-ca")
    {
        return Owner::CustomRoot;
    }
    if base.starts_with("dynamiclistener-ca") || base.starts_with("cattle-ca") {
        return Owner::Rancher;
    }
    if [
        "kubevirt",
        "cdi",
        "rancher-webhook",
        "cattle-webhook",
        "webhook",
    ]
    .iter()
    .any(|c| base.contains(c))
    {
        return Owner::Component;
    }
    match object_hint {
        Some(h) if h.contains("cacerts") => Owner::Rancher,
        Some(h) if h.contains("kubevirt") || h.contains("cdi") => Owner::Component,
        _ => Owner::Unknown,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trees_map_to_places() {
        assert_eq!(
            in_use_of_host_path(layout::CaFile::ServerCa.host_path()),
            Some(InUse::Live)
        );
        assert_eq!(
            in_use_of_host_path("opt/rke2/server/tls/server-ca.crt"),
            Some(InUse::Staged)
        );
        assert_eq!(
            in_use_of_host_path("var/lib/rancher/rke2/agent/tls-1732000000/client-kubelet.crt"),
            Some(InUse::Backup)
        );
        assert_eq!(in_use_of_host_path("etc/ssl/certs/ca.pem"), None);
    }

    #[test]
    fn owners_follow_common_names_elsewhere() {
        assert_eq!(
            owner_of_ca("rke2-server-ca@1700000000", [], None),
            Owner::Rke2
        );
        assert_eq!(
            owner_of_ca("etcd-peer-ca@1700000000", [], None),
            Owner::Rke2
        );
        assert_eq!(
            owner_of_ca("rke2-root-ca@1700000000", [], None),
            Owner::CustomRoot
        );
        assert_eq!(
            owner_of_ca("rke2-intermediate-ca@1700000000", [], None),
            Owner::CustomRoot
        );
        assert_eq!(
            owner_of_ca("dynamiclistener-ca@1700000000", [], None),
            Owner::Rancher
        );
        assert_eq!(
            owner_of_ca("kubevirt.io@1700000000", [], None),
            Owner::Component
        );
        assert_eq!(
            owner_of_ca("cdi-apiserver-signer", [], None),
            Owner::Component
        );
        assert_eq!(
            owner_of_ca(
                "something",
                [],
                Some("management.cattle.io/v3/settings.yaml#cacerts")
            ),
            Owner::Rancher
        );
        assert_eq!(owner_of_ca("something", [], None), Owner::Unknown);
    }
}
