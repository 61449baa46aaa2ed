//! Where a credential sits and who owns it, per rules.md's shared definitions.
//!
//! - *live*: the live layout (`server/tls/**`, `agent/*`), kubeconfigs (`server/cred/*.kubeconfig`,
//!   `etc/rancher/rke2/rke2.yaml`, agent kubeconfigs);
//! - *staged*: `server/rotate-ca/**`, `opt/rke2/server/**`, or a `--path` directory;
//! - *backup*: `server/tls-<unix>/**`, `agent/tls-<unix>/**`;
//! - *object*: from a bundle object (ConfigMap, setting, webhook `caBundle`, node annotation).
//!
//! Owners: RKE2 cluster CAs (server, client, request-header, etcd server, etcd peer) are `rke2`;
//! custom roots and intermediates `custom-root`; CAs of components that rotate themselves
//! (kubevirt, CDI, rancher-webhook) `component`; Rancher's `cacerts` CA `rancher`.

use serde::Serialize;

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

const DATA_DIR: &str = "var/lib/rancher/rke2/";

/// True for a `tls-<unix seconds>` backup directory name made by `rke2 certificate rotate`.
fn is_backup_dir(name: &str) -> bool {
    name.strip_prefix("tls-")
        .is_some_and(|d| !d.is_empty() && d.len() <= 12 && d.bytes().all(|b| b.is_ascii_digit()))
}

/// Classify a host path (no leading `/`) of a node. `None` when the path is not a place
/// credentials are read from.
pub fn in_use_of_host_path(host: &str) -> Option<InUse> {
    if host.starts_with("opt/rke2/server/") {
        return Some(InUse::Staged);
    }
    if host == "etc/rancher/rke2/rke2.yaml" {
        return Some(InUse::Live);
    }
    let rest = host.strip_prefix(DATA_DIR)?;
    let mut parts = rest.split('/');
    match (parts.next(), parts.next()) {
        (Some("server"), Some("rotate-ca")) => Some(InUse::Staged),
        (Some("server" | "agent"), Some(d)) if is_backup_dir(d) => Some(InUse::Backup),
        (Some("server"), Some("tls")) => Some(InUse::Live),
        (Some("server"), Some("cred")) => Some(InUse::Live),
        (Some("server"), Some(f)) if parts.next().is_none() && f.ends_with(".key") => {
            Some(InUse::Live)
        }
        (Some("agent"), Some(_)) if parts.next().is_none() => Some(InUse::Live),
        _ => None,
    }
}

/// True for a file name that may hold certificates, keys or kubeconfigs.
pub fn is_credential_file(host: &str) -> bool {
    let name = host.rsplit('/').next().unwrap_or(host);
    [
        ".crt",
        ".pem",
        ".key",
        ".kubeconfig",
        ".pub-fingerprint",
        ".csr",
    ]
    .iter()
    .any(|s| name.ends_with(s))
        || name == "dynamic-cert.json"
        || name == "rke2.yaml"
}

/// The owner of a CA, from its common name (and, for bundle objects, where it was found).
pub fn owner_of_ca(common_name: &str, object_hint: Option<&str>) -> Owner {
    let cn = common_name.to_ascii_lowercase();
    let base = cn.split('@').next().unwrap_or(&cn);
    const RKE2: [&str; 10] = [
        "rke2-server-ca",
        "rke2-client-ca",
        "rke2-request-header-ca",
        "etcd-server-ca",
        "etcd-peer-ca",
        "k3s-server-ca",
        "k3s-client-ca",
        "k3s-request-header-ca",
        "rke2-etcd-server-ca",
        "rke2-etcd-peer-ca",
    ];
    if RKE2.contains(&base) {
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
    fn live_staged_and_backup_trees_are_told_apart() {
        let p = |s: &str| in_use_of_host_path(s);
        assert_eq!(
            p("var/lib/rancher/rke2/server/tls/server-ca.crt"),
            Some(InUse::Live)
        );
        assert_eq!(
            p("var/lib/rancher/rke2/server/tls/etcd/peer-ca.crt"),
            Some(InUse::Live)
        );
        assert_eq!(
            p("var/lib/rancher/rke2/agent/client-kubelet.crt"),
            Some(InUse::Live)
        );
        assert_eq!(
            p("var/lib/rancher/rke2/server/cred/admin.kubeconfig"),
            Some(InUse::Live)
        );
        assert_eq!(p("etc/rancher/rke2/rke2.yaml"), Some(InUse::Live));
        assert_eq!(
            p("var/lib/rancher/rke2/server/tls-1732000000/client-admin.crt"),
            Some(InUse::Backup)
        );
        assert_eq!(
            p("var/lib/rancher/rke2/agent/tls-1732000000/client-kubelet.crt"),
            Some(InUse::Backup)
        );
        assert_eq!(
            p("var/lib/rancher/rke2/server/rotate-ca/tls/server-ca.crt"),
            Some(InUse::Staged)
        );
        assert_eq!(p("opt/rke2/server/tls/server-ca.crt"), Some(InUse::Staged));
        assert_eq!(p("var/lib/rancher/rke2/agent/containerd/x.crt"), None);
        assert_eq!(p("var/lib/rancher/rke2/server/tls-abc/x.crt"), None);
        assert_eq!(p("etc/ssl/certs/ca.pem"), None);
    }

    #[test]
    fn owners_follow_common_names() {
        assert_eq!(owner_of_ca("rke2-server-ca@1700000000", None), Owner::Rke2);
        assert_eq!(owner_of_ca("etcd-peer-ca@1700000000", None), Owner::Rke2);
        assert_eq!(
            owner_of_ca("rke2-root-ca@1700000000", None),
            Owner::CustomRoot
        );
        assert_eq!(
            owner_of_ca("rke2-intermediate-ca@1700000000", None),
            Owner::CustomRoot
        );
        assert_eq!(
            owner_of_ca("dynamiclistener-ca@1700000000", None),
            Owner::Rancher
        );
        assert_eq!(
            owner_of_ca("kubevirt.io@1700000000", None),
            Owner::Component
        );
        assert_eq!(owner_of_ca("cdi-apiserver-signer", None), Owner::Component);
        assert_eq!(
            owner_of_ca(
                "something",
                Some("management.cattle.io/v3/settings.yaml#cacerts")
            ),
            Owner::Rancher
        );
        assert_eq!(owner_of_ca("something", None), Owner::Unknown);
    }

    #[test]
    fn credential_files_are_recognised_by_name() {
        assert!(is_credential_file(
            "var/lib/rancher/rke2/server/tls/server-ca.crt"
        ));
        assert!(is_credential_file(
            "var/lib/rancher/rke2/server/tls/dynamic-cert.json"
        ));
        assert!(is_credential_file(
            "var/lib/rancher/rke2/server/tls/service.key.pub-fingerprint"
        ));
        assert!(!is_credential_file("var/lib/rancher/rke2/server/token"));
    }
}
