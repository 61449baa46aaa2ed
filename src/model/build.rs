//! Building the credential model from a snapshot: the certificate inventory, then one pass over
//! every node's credential files for keys, signing requests and kubeconfigs, the digests of the
//! files compared between nodes, and the tokens and served CA hashes.

use std::collections::{BTreeMap, BTreeSet};

use super::{CsrFile, CsrRecord, FileCerts, FileDigest, KeyFile, KubeconfigFile, Model, Origin};
use crate::layout::{self, AgentCopy, CaFile};
use crate::model::certs::Inventory;
use crate::model::inventory::in_use_of_host_path;
use crate::pki;
use crate::snapshot::{HostFile, Node, Role, Snapshot};

/// Resolve a path named inside a kubeconfig to a host path of the same node: absolute paths
/// lose their leading `/`, relative ones are taken from the kubeconfig's directory.
fn host_ref(kubeconfig_host: &str, named: &str) -> String {
    if let Some(abs) = named.strip_prefix('/') {
        return abs.to_string();
    }
    let dir = kubeconfig_host
        .rsplit_once('/')
        .map(|(d, _)| d)
        .unwrap_or("");
    let mut parts: Vec<&str> = dir.split('/').filter(|s| !s.is_empty()).collect();
    for seg in named.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            s => parts.push(s),
        }
    }
    parts.join("/")
}

/// The bytes of the first readable copy of a node file, with its origin.
pub(super) fn read<'a>(
    snap: &'a Snapshot,
    node: &Node,
    host: &str,
    copies: &[HostFile],
) -> Option<(&'a [u8], Origin)> {
    let (data, source, logical) = snap.first_copy(copies)?;
    Some((
        data,
        Origin::new(source, logical).on(node.name.as_str(), host),
    ))
}

/// A kubeconfig as read, before the files it names are resolved.
struct PendingKubeconfig {
    origin: Origin,
    /// Embedded CA certificates, and CA files named (host paths).
    cas: Vec<String>,
    ca_files: Vec<String>,
    /// Per user: the embedded client certificates, else the file named.
    users: Vec<(Vec<String>, Option<String>)>,
    /// Per user: the public-key hash of the first embedded client key, else the key file named.
    keys: Vec<ClientKey>,
}

/// A kubeconfig user's client key: embedded (its public-key hash, when read) or named by file.
enum ClientKey {
    Embedded(Option<String>),
    File(String),
    None,
}

fn read_kubeconfig(data: &[u8], origin: Origin) -> Option<PendingKubeconfig> {
    let kc = pki::kubeconfig::parse_kubeconfig(data).ok()?;
    let fps = |v: &Option<Result<Vec<pki::Cert>, pki::PkiError>>| -> Vec<String> {
        match v {
            Some(Ok(certs)) => certs
                .iter()
                .map(|c| c.fingerprint_sha256().to_string())
                .collect(),
            _ => Vec::new(),
        }
    };
    let mut cas = Vec::new();
    let mut ca_files = Vec::new();
    for c in &kc.clusters {
        cas.extend(fps(&c.ca));
        if let Some(f) = &c.ca_file {
            ca_files.push(host_ref(origin.host_path(), f));
        }
    }
    let users = kc
        .users
        .iter()
        .map(|u| {
            (
                fps(&u.client_cert),
                u.client_cert_file
                    .as_ref()
                    .map(|f| host_ref(origin.host_path(), f)),
            )
        })
        .collect();
    let keys = kc
        .users
        .iter()
        .map(|u| match (&u.client_key, &u.client_key_file) {
            (Some(Ok(keys)), _) => {
                ClientKey::Embedded(keys.first().and_then(|k| k.spki_sha256.clone()))
            }
            (Some(Err(_)), _) => ClientKey::Embedded(None),
            (None, Some(f)) => ClientKey::File(host_ref(origin.host_path(), f)),
            (None, None) => ClientKey::None,
        })
        .collect();
    Some(PendingKubeconfig {
        origin,
        cas,
        ca_files,
        users,
        keys,
    })
}

/// Certificates of one file by (position in the file, fingerprint).
type Positions<'a> = Vec<(usize, &'a str)>;

/// The certificates of each wanted (node, host path), in file order, with the copy read.
fn certificates_by_file(
    snap: &Snapshot,
    inv: &Inventory,
    wanted: &BTreeSet<(String, String)>,
) -> BTreeMap<(String, String), FileCerts> {
    if wanted.is_empty() {
        return BTreeMap::new();
    }
    // Looked up by borrowed node and host, so the pass over every location allocates nothing.
    let mut by: BTreeMap<&str, BTreeMap<&str, Positions>> = BTreeMap::new();
    for (node, host) in wanted {
        by.entry(node.as_str())
            .or_default()
            .insert(host.as_str(), Vec::new());
    }
    for (fp, e) in &inv.certs {
        for l in &e.locations {
            let (Some(node), Some(host)) = (l.node.as_deref(), l.host_path.as_deref()) else {
                continue;
            };
            if let Some(v) = by.get_mut(node).and_then(|h| h.get_mut(host)) {
                v.push((l.index, fp));
            }
        }
    }
    let by = by.into_iter().flat_map(|(node, hosts)| {
        hosts
            .into_iter()
            .filter(|(_, v)| !v.is_empty())
            .map(move |(host, v)| ((node.to_string(), host.to_string()), v))
    });
    by.filter_map(|((node, host), mut v)| {
        let n = snap.nodes.get(&node)?;
        let (_, origin) = read(snap, n, &host, n.files.get(host.as_str())?)?;
        v.sort();
        v.dedup();
        let certs = v.into_iter().map(|(_, fp)| fp.to_string()).collect();
        Some(((node, host), FileCerts { origin, certs }))
    })
    .collect()
}

/// The model of `snap` with its certificates only (what `certs` and `timeline` show).
pub fn certificates(snap: &Snapshot) -> Model {
    let _t = crate::timings::stage("inventory");
    Model {
        certs: crate::model::certs::build(snap),
        ..Model::default()
    }
}

/// What one node's credential files give the model: keys, signing requests and kubeconfigs by
/// (node, host path), the files whose certificates are wanted by place, and the digests of the
/// files compared between nodes.
#[derive(Default)]
struct NodeFiles {
    keys: Vec<((String, String), KeyFile)>,
    csrs: Vec<((String, String), CsrFile)>,
    kubeconfigs: Vec<PendingKubeconfig>,
    wanted: Vec<(String, String)>,
    compared: Vec<(Origin, String)>,
}

fn node_files(snap: &Snapshot, node: &Node) -> NodeFiles {
    let mut out = NodeFiles::default();
    let server = node.roles.contains(&Role::Server);
    for (host, copies) in &node.files {
        let compared_here = (server && CaFile::of_host_path(host).is_some())
            || AgentCopy::of_host_path(host).is_some();
        if compared_here && let Some((data, origin)) = read(snap, node, host, copies) {
            out.wanted.push((node.name.clone(), host.to_string()));
            out.compared.push((origin, pki::sha256_hex(data)));
        }
        if in_use_of_host_path(host).is_none() {
            continue;
        }
        let key = (node.name.clone(), host.to_string());
        if let Some(stem) = host.strip_suffix(".pub-fingerprint") {
            if let Some((data, origin)) = read(snap, node, host, copies) {
                let stem = stem.strip_suffix(".key").unwrap_or(stem);
                out.wanted.push((node.name.clone(), format!("{stem}.crt")));
                out.keys.push((key, KeyFile::read(origin, data, true)));
            }
        } else if let Some(stem) = host.strip_suffix(".key") {
            if let Some((data, origin)) = read(snap, node, host, copies) {
                out.wanted.push((node.name.clone(), format!("{stem}.crt")));
                out.keys.push((key, KeyFile::read(origin, data, false)));
            }
        } else if host.ends_with(".csr") {
            if let Some((data, origin)) = read(snap, node, host, copies) {
                let requests = pki::parse_csrs(data)
                    .map(|v| {
                        v.into_iter()
                            .map(|c| CsrRecord {
                                subject: c.subject_cn.unwrap_or(c.subject),
                                spki_sha256: c.spki_sha256,
                            })
                            .collect()
                    })
                    .map_err(|e| e.to_string());
                out.csrs.push((key, CsrFile { origin, requests }));
            }
        } else if layout::is_kubeconfig(host)
            && let Some((data, origin)) = read(snap, node, host, copies)
            && let Some(k) = read_kubeconfig(data, origin)
        {
            for f in k.ca_files.iter().chain(k.users.iter().filter_map(|u| {
                // A user's certificate file counts only without embedded certificates.
                u.1.as_ref().filter(|_| u.0.is_empty())
            })) {
                out.wanted.push((node.name.clone(), f.clone()));
            }
            out.kubeconfigs.push(k);
        }
    }
    out
}

/// Build the whole credential model of `snap`.
pub fn build(snap: &Snapshot) -> Model {
    let mut m = certificates(snap);
    let t = crate::timings::stage("model: keys, CSRs, kubeconfigs");
    let mut kubeconfigs = Vec::new();
    let mut wanted: BTreeSet<(String, String)> = BTreeSet::new();
    let mut compared = Vec::new();
    // Node by node on every core (a node's files are read alone), merged in node order.
    let nodes: Vec<&Node> = snap.nodes.values().collect();
    for f in crate::par::map(&nodes, |node| node_files(snap, node)) {
        m.keys.extend(f.keys);
        m.csrs.extend(f.csrs);
        kubeconfigs.extend(f.kubeconfigs);
        wanted.extend(f.wanted);
        compared.extend(f.compared);
    }
    drop(t);
    let t = crate::timings::stage("model: file certificates");
    m.file_certs = certificates_by_file(snap, &m.certs, &wanted);
    drop(t);
    for (origin, sha256) in compared {
        let key = (
            origin.node_name().to_string(),
            origin.host_path().to_string(),
        );
        let first_cert = m
            .file_certs
            .get(&key)
            .and_then(|f| f.certs.first().cloned());
        m.digests.insert(
            key,
            FileDigest {
                origin,
                sha256,
                first_cert,
            },
        );
    }
    for k in kubeconfigs {
        let node = k.origin.node_name().to_string();
        let file = |h: &String| -> Vec<String> {
            m.file_certs
                .get(&(node.clone(), h.clone()))
                .map(|f| f.certs.clone())
                .unwrap_or_default()
        };
        let mut trusts = k.cas.clone();
        for f in &k.ca_files {
            trusts.extend(file(f));
        }
        let (presents, client_keys) = k
            .users
            .iter()
            .zip(&k.keys)
            .filter_map(|((embedded, f), key)| {
                let certs = match f {
                    Some(f) if embedded.is_empty() => file(f),
                    _ => embedded.clone(),
                };
                let key = match key {
                    ClientKey::Embedded(spki) => spki.clone(),
                    ClientKey::File(h) => m
                        .keys
                        .get(&(node.clone(), h.clone()))
                        .and_then(|kf| kf.spkis().first().map(|s| s.to_string())),
                    ClientKey::None => None,
                };
                certs.into_iter().next().map(|c| (c, key))
            })
            .unzip();
        m.kubeconfigs.insert(
            (node.clone(), k.origin.host_path().to_string()),
            KubeconfigFile {
                origin: k.origin,
                trusts,
                presents,
                client_keys,
            },
        );
    }
    let t = crate::timings::stage("model: exposed secrets");
    m.exposed = super::exposed::scan(snap);
    drop(t);
    (m.firewalls, m.legacy_firewalls) = super::firewalls::read(snap);
    let t = crate::timings::stage("model: tokens");
    (m.tokens, m.joins) = crate::model::tokens::all_tokens_and_joins(snap);
    m.served = crate::model::tokens::served_hashes(snap);
    drop(t);
    m.settings = super::settings::read(snap);
    let _t = crate::timings::stage("model: hosts");
    m.hosts = super::host::read(snap);
    m.hostfw = super::hostfw::read(snap);
    m.mgmt_nics = super::hostnet::read(snap);
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kubeconfig_file_references_resolve_against_its_directory() {
        let kc = "var/lib/rancher/rke2/server/cred/admin.kubeconfig";
        assert_eq!(
            host_ref(kc, "/var/lib/rancher/rke2/server/tls/client-admin.crt"),
            "var/lib/rancher/rke2/server/tls/client-admin.crt"
        );
        assert_eq!(
            host_ref(kc, "../tls/server-ca.crt"),
            "var/lib/rancher/rke2/server/tls/server-ca.crt"
        );
        assert_eq!(
            host_ref(kc, "./x.crt"),
            "var/lib/rancher/rke2/server/cred/x.crt"
        );
    }
}
