//! Copies that must agree: the cluster CA files on every server (CERT007), the agents' copies of
//! the server and client CA bundles (CERT008), and the service-account keys (`service.key` the
//! same on every server, SAKEY002; `service.current.key` its first key, SAKEY001).

use std::collections::BTreeMap;

use crate::layout::{self, AgentCopy, CaFile};
use crate::pki;
use crate::snapshot::{HostBytes, HostFile, Role, Snapshot};

/// The cluster CA files compared across servers, inside `server/tls/` (the names of
/// [`CaFile::ALL`], for callers that join them to the directory themselves).
pub const CA_FILES: [&str; 5] = [
    CaFile::ServerCa.tls_name(),
    CaFile::ClientCa.tls_name(),
    CaFile::RequestHeaderCa.tls_name(),
    CaFile::EtcdServerCa.tls_name(),
    CaFile::EtcdPeerCa.tls_name(),
];

/// One version of a file and the nodes holding it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Variant {
    /// SHA-256 of the file bytes.
    pub sha256: String,
    /// Fingerprint of the first certificate (or first key's public key), when it parses.
    pub first: Option<String>,
    /// (node, input name, logical path).
    pub holders: Vec<(String, String, String)>,
}

/// A file that differs between nodes that should hold the same bytes.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Disagreement {
    /// The file, relative to the rke2 data dir (`server/tls/server-ca.crt`).
    pub file: String,
    pub variants: Vec<Variant>,
}

/// An agent copy of a CA bundle that matches no server's current bundle.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct StaleCopy {
    pub node: String,
    pub file: String,
    pub source: String,
    pub logical: String,
    /// The servers' file (`server/tls/server-ca.crt`).
    pub compared_with: String,
}

/// A server whose `service.current.key` is not the first key of its `service.key`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct CurrentKeyProblem {
    pub node: String,
    pub source: String,
    pub logical: String,
    /// Position of the current key in `service.key`, `None` when absent from the list.
    pub position: Option<usize>,
}

/// Everything that should agree and does not.
#[derive(Debug, Default)]
pub struct Consistency {
    pub disagreements: Vec<Disagreement>,
    pub stale: Vec<StaleCopy>,
    pub current_key: Vec<CurrentKeyProblem>,
}

fn read<'a>(snap: &'a Snapshot, copies: &[HostFile]) -> Option<HostBytes<'a>> {
    snap.first_copy(copies)
}

fn first_cert(data: &[u8]) -> Option<String> {
    pki::parse_certs(data)
        .ok()
        .and_then(|c| c.first().map(|c| c.fingerprint_sha256.clone()))
}

fn key_list(data: &[u8], fingerprints: bool) -> Vec<String> {
    if fingerprints {
        pki::parse_pub_fingerprints(data).unwrap_or_default()
    } else {
        pki::parse_keys(data)
            .map(|ks| ks.into_iter().filter_map(|k| k.spki_sha256).collect())
            .unwrap_or_default()
    }
}

/// Group a file's versions across the given nodes.
fn variants(snap: &Snapshot, host: &str, servers: &[&str], keys: bool) -> Vec<Variant> {
    let mut by: BTreeMap<String, Variant> = BTreeMap::new();
    for name in servers {
        let Some(node) = snap.nodes.get(*name) else {
            continue;
        };
        let fp_host = format!("{host}{}", layout::FINGERPRINT_SUFFIX);
        let (copies, is_fp) = match (node.files.get(host), node.files.get(&fp_host)) {
            (Some(c), _) => (c, false),
            (None, Some(c)) => (c, true),
            _ => continue,
        };
        let Some((data, source, logical)) = read(snap, copies) else {
            continue;
        };
        // Key files are compared by their public keys (a pub-fingerprint file and the key file
        // it replaced agree); certificate files by their bytes.
        let (id, first) = if keys {
            let list = key_list(data, is_fp);
            (list.join(","), list.first().cloned())
        } else {
            (pki::sha256_hex(data), first_cert(data))
        };
        let v = by.entry(id.clone()).or_insert_with(|| Variant {
            sha256: id,
            first,
            holders: Vec::new(),
        });
        v.holders.push((name.to_string(), source, logical));
    }
    let mut out: Vec<Variant> = by.into_values().collect();
    for v in &mut out {
        v.holders.sort();
    }
    out.sort();
    out
}

/// Compare every copy.
pub fn check(snap: &Snapshot) -> Consistency {
    let mut c = Consistency::default();
    let servers: Vec<&str> = snap
        .nodes
        .values()
        .filter(|n| n.roles.contains(&Role::Server))
        .map(|n| n.name.as_str())
        .collect();
    let mut current_bundles: BTreeMap<AgentCopy, Vec<String>> = BTreeMap::new();
    for ca in CaFile::ALL {
        let v = variants(snap, ca.host_path(), &servers, false);
        if let Some(copy) = ca.agent_copy() {
            current_bundles.insert(copy, v.iter().map(|x| x.sha256.clone()).collect());
        }
        if v.len() > 1 {
            c.disagreements.push(Disagreement {
                file: ca.data_relative().into(),
                variants: v,
            });
        }
    }
    let sa = variants(snap, layout::SERVICE_KEY, &servers, true);
    if sa.len() > 1 {
        c.disagreements.push(Disagreement {
            file: layout::data_relative(layout::SERVICE_KEY)
                .unwrap_or(layout::SERVICE_KEY)
                .into(),
            variants: sa,
        });
    }
    // Agents' copies against the servers' bundles (only when some server bundle is known).
    for node in snap.nodes.values() {
        for copy in AgentCopy::ALL {
            let Some(known) = current_bundles.get(&copy).filter(|k| !k.is_empty()) else {
                continue;
            };
            let Some((data, source, logical)) = node
                .files
                .get(copy.host_path())
                .and_then(|cp| read(snap, cp))
            else {
                continue;
            };
            if !known.contains(&pki::sha256_hex(data)) {
                c.stale.push(StaleCopy {
                    node: node.name.clone(),
                    file: copy.data_relative().into(),
                    source,
                    logical,
                    compared_with: copy.mirrors().data_relative().into(),
                });
            }
        }
        // service.current.key must be the first key of service.key.
        let get = |h: &str| -> Option<(Vec<String>, String, String)> {
            if let Some(cp) = node.files.get(h) {
                read(snap, cp).map(|(d, s, l)| (key_list(d, false), s, l))
            } else {
                node.files
                    .get(&format!("{h}{}", layout::FINGERPRINT_SUFFIX))
                    .and_then(|cp| read(snap, cp))
                    .map(|(d, s, l)| (key_list(d, true), s, l))
            }
        };
        if let (Some((list, _, _)), Some((cur, source, logical))) =
            (get(layout::SERVICE_KEY), get(layout::SERVICE_CURRENT_KEY))
            && let Some(cur) = cur.first()
            && list.first() != Some(cur)
        {
            c.current_key.push(CurrentKeyProblem {
                node: node.name.clone(),
                source,
                logical,
                position: list.iter().position(|k| k == cur),
            });
        }
    }
    c.disagreements.sort();
    c.stale.sort();
    c.current_key.sort();
    c
}
