//! Copies that must agree: the cluster CA files on every server (CERT007), the agents' copies of
//! the server and client CA bundles (CERT008), and the service-account keys (`service.key` the
//! same on every server, SAKEY002; `service.current.key` its first key, SAKEY001). A view of the
//! credential model: file digests and key lists come from it, no bytes are read here.

use std::collections::BTreeMap;

use crate::layout::{self, AgentCopy, CaFile};
use crate::model::{Model, Origin};
use crate::snapshot::Snapshot;

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
    /// Where each holding server's copy was read (node set), sorted by node.
    pub holders: Vec<Origin>,
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
    pub origin: Origin,
    /// The servers' file (`server/tls/server-ca.crt`).
    pub compared_with: String,
}

/// A server whose `service.current.key` is not the first key of its `service.key`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct CurrentKeyProblem {
    pub node: String,
    pub origin: Origin,
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

/// A node's version of a compared file: its id (SHA-256 of the bytes, or the comma-joined
/// public-key hashes of a key list), its first certificate or key, and where it was read.
fn version<'m>(
    model: &'m Model,
    node: &str,
    host: &str,
    keys: bool,
) -> Option<(String, Option<String>, &'m Origin)> {
    if keys {
        // Key files are compared by their public keys (a pub-fingerprint file and the key file
        // it replaced agree).
        let f = model.key_file(node, host)?;
        let list = f.spkis();
        Some((
            list.join(","),
            list.first().map(|s| s.to_string()),
            &f.origin,
        ))
    } else {
        let d = model.digests.get(&(node.to_string(), host.to_string()))?;
        Some((d.sha256.clone(), d.first_cert.clone(), &d.origin))
    }
}

/// Group a file's versions across the given nodes.
fn variants(model: &Model, host: &str, servers: &[&str], keys: bool) -> Vec<Variant> {
    let mut by: BTreeMap<String, Variant> = BTreeMap::new();
    for name in servers {
        let Some((id, first, origin)) = version(model, name, host, keys) else {
            continue;
        };
        let v = by.entry(id.clone()).or_insert_with(|| Variant {
            sha256: id,
            first,
            holders: Vec::new(),
        });
        v.holders.push(origin.clone());
    }
    let mut out: Vec<Variant> = by.into_values().collect();
    for v in &mut out {
        v.holders.sort_by(|a, b| {
            (a.node_name(), &a.input, &a.path).cmp(&(b.node_name(), &b.input, &b.path))
        });
    }
    out.sort();
    out
}

/// Compare every copy.
pub fn check(snap: &Snapshot, model: &Model) -> Consistency {
    let mut c = Consistency::default();
    let servers = snap.servers();
    let mut current_bundles: BTreeMap<AgentCopy, Vec<String>> = BTreeMap::new();
    for ca in CaFile::ALL {
        let v = variants(model, ca.host_path(), &servers, false);
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
    let sa = variants(model, layout::SERVICE_KEY, &servers, true);
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
            let Some(d) = model
                .digests
                .get(&(node.name.clone(), copy.host_path().to_string()))
            else {
                continue;
            };
            if !known.contains(&d.sha256) {
                c.stale.push(StaleCopy {
                    node: node.name.clone(),
                    file: copy.data_relative().into(),
                    origin: d.origin.clone(),
                    compared_with: copy.mirrors().data_relative().into(),
                });
            }
        }
        // service.current.key must be the first key of service.key.
        if let (Some(list), Some(current)) = (
            model.key_file(&node.name, layout::SERVICE_KEY),
            model.key_file(&node.name, layout::SERVICE_CURRENT_KEY),
        ) && let Some(cur) = current.spkis().first().copied()
            && list.spkis().first() != Some(&cur)
        {
            let list = list.spkis();
            c.current_key.push(CurrentKeyProblem {
                node: node.name.clone(),
                origin: current.origin.clone(),
                position: list.iter().position(|k| *k == cur),
            });
        }
    }
    c.disagreements.sort();
    c.stale.sort();
    c.current_key.sort();
    c
}
