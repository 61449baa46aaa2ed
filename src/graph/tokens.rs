//! Tokens of every node, from every source rules.md lists — `server/token`, `server/agent-token`
//! (and the `node-token` link), `config.yaml` with its drop-ins in RKE2's merge order,
//! `token-file` targets, rke2 unit environment files, the rancherd config and `/oem` configs —
//! and the CA hash each server CA file gives by RKE2's hashCA rule.

use std::collections::BTreeMap;

use crate::pki::cahash::{CaHash, CaHashMethod, ca_hash};
use crate::pki::token::{
    TokenFound, TokenRole, TokenScan, scan_env_file, scan_rke2_config, scan_token_file,
    scan_yaml_tree,
};
use crate::snapshot::{HostBytes, HostFile, Node, Snapshot};

/// A token occurrence on a node.
#[derive(Debug, Clone)]
pub struct NodeToken {
    pub node: String,
    /// The node's host path of the source (`etc/rancher/rke2/config.yaml.d/90-x.yaml`).
    pub host_path: String,
    /// Input file name and logical path, for evidence.
    pub source: String,
    pub logical: String,
    pub found: TokenFound,
    /// True when this occurrence is the one the node's rke2 actually uses (config after merge,
    /// or the token file when no config sets one).
    pub effective: bool,
}

/// The CA hash a server CA file gives.
#[derive(Debug, Clone)]
pub struct ServedHash {
    pub node: String,
    pub host_path: String,
    pub hash: CaHash,
    /// The certificate the hash stands for: the root (multi-cert bundles) or the first
    /// certificate (raw-file hash).
    pub cert_fingerprint: Option<String>,
}

/// A file's bytes with its input name and logical path.
type Located<'a> = HostBytes<'a>;

fn bytes<'a>(snap: &'a Snapshot, copies: &[HostFile]) -> Option<Located<'a>> {
    snap.first_copy(copies)
}

const DATA: &str = "var/lib/rancher/rke2/";

fn is_env_file(host: &str) -> bool {
    let name = host.rsplit('/').next().unwrap_or(host);
    (host.starts_with("etc/systemd/system/")
        || host.starts_with("usr/local/lib/systemd/system/")
        || host.starts_with("lib/systemd/system/")
        || host.starts_with("usr/lib/systemd/system/")
        || host.starts_with("etc/default/")
        || host.starts_with("etc/sysconfig/"))
        && name.starts_with("rke2")
}

/// Every token of one node.
pub fn node_tokens(snap: &Snapshot, node: &Node) -> Vec<NodeToken> {
    let mut out = Vec::new();
    let push_scan =
        |scan: TokenScan, host: &str, source: &str, logical: &str, out: &mut Vec<NodeToken>| {
            for f in scan.found {
                out.push(NodeToken {
                    node: node.name.clone(),
                    host_path: host.to_string(),
                    source: source.to_string(),
                    logical: logical.to_string(),
                    found: f,
                    effective: false,
                });
            }
        };
    for (name, role) in [
        ("server/token", TokenRole::Server),
        ("server/agent-token", TokenRole::Agent),
    ] {
        let host = format!("{DATA}{name}");
        if let Some((data, source, logical)) = node.files.get(&host).and_then(|c| bytes(snap, c)) {
            push_scan(
                scan_token_file(&host, data, role),
                &host,
                &source,
                &logical,
                &mut out,
            );
        }
    }
    // config.yaml and drop-ins, merged.
    let cfg_host = "etc/rancher/rke2/config.yaml";
    let cfg = node.files.get(cfg_host).and_then(|c| bytes(snap, c));
    let dropins: Vec<(String, Located)> = node
        .files
        .iter()
        .filter(|(h, _)| {
            h.starts_with("etc/rancher/rke2/config.yaml.d/")
                && (h.ends_with(".yaml") || h.ends_with(".yml"))
        })
        .filter_map(|(h, c)| bytes(snap, c).map(|b| (h.clone(), b)))
        .collect();
    let merged = scan_rke2_config(
        cfg.as_ref().map(|(d, _, _)| (cfg_host, *d)),
        &dropins
            .iter()
            .map(|(h, (d, _, _))| (h.as_str(), *d))
            .collect::<Vec<_>>(),
    );
    let locate = |host: &str| -> (String, String) {
        if host == cfg_host {
            cfg.as_ref()
                .map(|(_, s, l)| (s.clone(), l.clone()))
                .unwrap_or_default()
        } else {
            dropins
                .iter()
                .find(|(h, _)| h == host)
                .map(|(_, (_, s, l))| (s.clone(), l.clone()))
                .unwrap_or_default()
        }
    };
    for f in &merged.scan.found {
        let (source, logical) = locate(&f.source);
        let effective = [&merged.token, &merged.agent_token].iter().any(|w| {
            w.as_ref()
                .is_some_and(|w| w.source == f.source && w.line == f.line && w.key == f.key)
        });
        out.push(NodeToken {
            node: node.name.clone(),
            host_path: f.source.clone(),
            source,
            logical,
            found: f.clone(),
            effective,
        });
    }
    // token-file targets.
    for r in [&merged.token_file, &merged.agent_token_file]
        .into_iter()
        .flatten()
    {
        let host = r.path.trim_start_matches('/').to_string();
        if let Some((data, source, logical)) = node.files.get(&host).and_then(|c| bytes(snap, c)) {
            push_scan(
                scan_token_file(&host, data, r.role),
                &host,
                &source,
                &logical,
                &mut out,
            );
        }
    }
    for (host, copies) in &node.files {
        let Some((data, source, logical)) = bytes(snap, copies) else {
            continue;
        };
        if is_env_file(host) {
            let scan = scan_env_file(host, data);
            // `RKE2_TOKEN_FILE=` / `RKE2_AGENT_TOKEN_FILE=`: the token lives in that file.
            for r in &scan.file_refs {
                let target = r.path.trim_start_matches('/').to_string();
                if let Some((d, s, l)) = node.files.get(&target).and_then(|c| bytes(snap, c)) {
                    push_scan(
                        scan_token_file(&target, d, r.role),
                        &target,
                        &s,
                        &l,
                        &mut out,
                    );
                }
            }
            push_scan(scan, host, &source, &logical, &mut out);
        } else if (host.starts_with("etc/rancher/rancherd/")
            && (host.ends_with(".yaml") || host.ends_with(".yml")))
            || (host.starts_with("oem/")
                && (host.ends_with(".yaml") || host.ends_with(".yml") || host.ends_with(".config")))
        {
            push_scan(
                scan_yaml_tree(host, data),
                host,
                &source,
                &logical,
                &mut out,
            );
        }
    }
    // With no token in the config, the token file is what a server uses.
    if merged.token.is_none()
        && let Some(t) = out
            .iter_mut()
            .find(|t| t.host_path == format!("{DATA}server/token"))
    {
        t.effective = true;
    }
    out
}

/// The CA hash of what servers serve at `/cacerts`: their live `server/tls/server-ca.crt`.
/// Agents' copies are not served, so a token pinning only a stale agent copy matches nothing.
pub fn served_hashes(snap: &Snapshot) -> Vec<ServedHash> {
    let mut out = Vec::new();
    for node in snap.nodes.values() {
        {
            let host = format!("{DATA}server/tls/server-ca.crt");
            let Some((data, _, _)) = node.files.get(&host).and_then(|c| bytes(snap, c)) else {
                continue;
            };
            let Ok(hash) = ca_hash(data) else { continue };
            let cert_fingerprint = match &hash.method {
                CaHashMethod::Root {
                    root_fingerprint, ..
                } => Some(root_fingerprint.clone()),
                _ => crate::pki::parse_certs(data)
                    .ok()
                    .and_then(|c| c.first().map(|c| c.fingerprint_sha256.clone())),
            };
            out.push(ServedHash {
                node: node.name.clone(),
                host_path: host,
                hash,
                cert_fingerprint,
            });
        }
    }
    out
}

/// Every token of every node, by node name.
pub fn all_tokens(snap: &Snapshot) -> BTreeMap<String, Vec<NodeToken>> {
    snap.nodes
        .values()
        .map(|n| (n.name.clone(), node_tokens(snap, n)))
        .collect()
}

/// Every token occurrence as JSON, never with its value: place, role, form, the pinned CA hash
/// (public), whether it is the one rke2 uses, and `password_group` — occurrences with the same
/// password share a group number (numbered in sorted order, so the output is deterministic) —
/// plus a keyed fingerprint when a fingerprint key was given (`--fingerprint-key`).
pub fn tokens_json(
    snap: &Snapshot,
    key: Option<&crate::pki::secret::FingerprintKey>,
) -> serde_json::Value {
    use crate::pki::secret::{Secret, is_placeholder};
    use serde_json::json;
    let mut all: Vec<NodeToken> = all_tokens(snap).into_values().flatten().collect();
    all.sort_by(|a, b| {
        (&a.node, &a.host_path, a.found.line, &a.found.key).cmp(&(
            &b.node,
            &b.host_path,
            b.found.line,
            &b.found.key,
        ))
    });
    let mut groups: Vec<&Secret> = Vec::new();
    let mut out = Vec::new();
    for t in &all {
        let pw = &t.found.token.password;
        let group = if is_placeholder(pw.expose()) {
            None
        } else {
            match groups.iter().position(|g| *g == pw) {
                Some(i) => Some(i + 1),
                None => {
                    groups.push(pw);
                    Some(groups.len())
                }
            }
        };
        let mut v = json!({
            "node": t.node,
            "host_path": t.host_path,
            "source": t.source,
            "path": t.logical,
            "line": t.found.line,
            "key": t.found.key,
            "role": match t.found.role {
                TokenRole::Server => "server",
                TokenRole::Agent => "agent",
            },
            "form": t.found.token.form.as_str(),
            "ca_hash": t.found.token.ca_hash,
            "effective": t.effective,
            "password_group": group,
        });
        if let (Some(k), Some(_)) = (key, group) {
            v["password_fingerprint"] = json!(k.fingerprint(pw));
        }
        out.push(v);
    }
    serde_json::Value::Array(out)
}
