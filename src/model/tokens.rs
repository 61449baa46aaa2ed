//! Tokens of every node, from every source rules.md lists — `server/token`, `server/agent-token`
//! (and the `node-token` link), `config.yaml` with its drop-ins in RKE2's merge order,
//! `token-file` targets, rke2 unit environment files, the rancherd config and `/oem` configs —
//! and the CA hash each server CA file gives by RKE2's hashCA rule — and, per node, how its
//! rke2 starts ([`NodeJoin`]): the server token it presents, the agent token a server gives its
//! agents (each by RKE2's precedence) and the server it joins, if it names one.

use std::collections::BTreeMap;

use crate::layout::{self, CaFile};
use crate::pki::cahash::{CaHash, CaHashMethod, ca_hash};
use crate::pki::token::{
    ServerRef, TokenFound, TokenRole, TokenScan, scan_env_file, scan_rke2_config, scan_token_file,
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

/// How a node's rke2 starts, from its token sources. The indexes point into the node's list of
/// [`NodeToken`]s (the model's `tokens[node]`).
///
/// RKE2's precedence (k3s turns config values into command-line flags, which beat the
/// environment; a token file is read only when no token is given): the config's `token` after
/// the merge, then `RKE2_TOKEN` of a unit environment file, then the config's `token-file`
/// target, then `RKE2_TOKEN_FILE`'s target, and on a server the `server/token` file it wrote at
/// its last start. The agent token follows the same order with `agent-token`,
/// `RKE2_AGENT_TOKEN`, `agent-token-file`, `RKE2_AGENT_TOKEN_FILE` and `server/agent-token`
/// (a link to `token` when no agent token is set).
#[derive(Debug, Clone, Default)]
pub struct NodeJoin {
    /// The server token rke2 presents (`--token`); `None` when no source holds a readable one
    /// (support bundles mask them).
    pub token: Option<usize>,
    /// The agent token a server gives its agents (`--agent-token`).
    pub agent_token: Option<usize>,
    /// True when `agent_token` was set by a config, environment or token file reference, false
    /// when it is only `server/agent-token`.
    pub agent_token_set: bool,
    /// Where the node names the server it joins: the config's `server:` after the merge, else
    /// `RKE2_URL` of a unit environment file. `None`: it names none (the first server of a
    /// cluster, or a node whose config is not in the inputs).
    pub server: Option<JoinServer>,
}

/// The place naming the server a node joins.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JoinServer {
    /// The node's host path of the file.
    pub host_path: String,
    /// Input file name and logical path, for evidence.
    pub source: String,
    pub logical: String,
    pub line: Option<usize>,
    /// `server`, `RKE2_URL`, `K3S_URL`.
    pub key: String,
    /// The URL (public).
    pub url: String,
}

impl NodeJoin {
    /// The server token the node presents, from its token list.
    pub fn server_token<'a>(&self, tokens: &'a [NodeToken]) -> Option<&'a NodeToken> {
        self.token.and_then(|i| tokens.get(i))
    }

    /// The agent token a server gives, from its token list.
    pub fn agent_token<'a>(&self, tokens: &'a [NodeToken]) -> Option<&'a NodeToken> {
        self.agent_token.and_then(|i| tokens.get(i))
    }
}

/// What one source says about a token: an occurrence (its index), or a value the collector
/// masked (the source sets the token, but its value is unknown).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pick {
    At(usize),
    Masked,
}

/// The token occurrences of one node that may decide what rke2 uses, by role and precedence.
#[derive(Default)]
struct Candidates {
    config: [Option<Pick>; 2],
    env: [Option<Pick>; 2],
    config_file: [Option<Pick>; 2],
    env_file: [Option<Pick>; 2],
    written: [Option<Pick>; 2],
}

fn slot(role: TokenRole) -> usize {
    match role {
        TokenRole::Server => 0,
        TokenRole::Agent => 1,
    }
}

impl Candidates {
    /// The occurrence rke2 uses for `role` (`None` when the source that decides is masked or
    /// absent), and whether a setting (not the written file) decides.
    fn pick(&self, role: TokenRole) -> (Option<usize>, bool) {
        let i = slot(role);
        let set = [
            self.config[i],
            self.env[i],
            self.config_file[i],
            self.env_file[i],
        ]
        .into_iter()
        .flatten()
        .next();
        let at = |p: Option<Pick>| match p {
            Some(Pick::At(t)) => Some(t),
            _ => None,
        };
        match set {
            Some(p) => (at(Some(p)), true),
            None => (at(self.written[i]), false),
        }
    }
}

/// What a scan of one source says about a token of one role, once its occurrences are pushed
/// from index `first` on.
fn level(scan: &TokenScan, role: TokenRole, first: usize) -> Option<Pick> {
    if let Some(i) = scan.found.iter().position(|f| f.role == role) {
        return Some(Pick::At(first + i));
    }
    let masked = scan.masked.iter().any(|m| {
        layout::ENV_TOKEN_VARS
            .iter()
            .any(|(k, r, _)| *k == m.key && *r == role)
            || layout::CONFIG_TOKEN_KEYS
                .iter()
                .any(|(k, r)| *k == m.key && *r == role)
            || (m.key == "file" && scan.found.is_empty())
    });
    masked.then_some(Pick::Masked)
}

/// The merge position of a config file: `config.yaml` first, then drop-ins by file name.
fn merge_rank(host: &str) -> (bool, &str, &str) {
    let name = host.rsplit('/').next().unwrap_or(host);
    (host != layout::CONFIG_FILE, name, host)
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

/// Every token of one node.
pub fn node_tokens(snap: &Snapshot, node: &Node) -> Vec<NodeToken> {
    node_tokens_and_join(snap, node).0
}

/// Every token of one node, and how its rke2 starts.
pub fn node_tokens_and_join(snap: &Snapshot, node: &Node) -> (Vec<NodeToken>, NodeJoin) {
    let mut out = Vec::new();
    let mut picks = Candidates::default();
    // Pushes every token of a scan; returns what it says about the token of `role`.
    let push_scan = |scan: TokenScan,
                     role: TokenRole,
                     host: &str,
                     source: &str,
                     logical: &str,
                     out: &mut Vec<NodeToken>| {
        let said = level(&scan, role, out.len());
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
        said
    };
    for (host, role) in layout::TOKEN_FILES {
        if let Some((data, source, logical)) = node.files.get(host).and_then(|c| bytes(snap, c)) {
            picks.written[slot(role)] = push_scan(
                scan_token_file(host, data, role),
                role,
                host,
                &source,
                &logical,
                &mut out,
            );
        }
    }
    // config.yaml and drop-ins, merged.
    let cfg_host = layout::CONFIG_FILE;
    let cfg = node.files.get(cfg_host).and_then(|c| bytes(snap, c));
    let dropins: Vec<(String, Located)> = node
        .files
        .iter()
        .filter(|(h, _)| layout::is_config_drop_in(h))
        .filter_map(|(h, c)| bytes(snap, c).map(|b| (h.to_string(), b)))
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
        if effective {
            picks.config[slot(f.role)] = Some(Pick::At(out.len()));
        }
        out.push(NodeToken {
            node: node.name.clone(),
            host_path: f.source.clone(),
            source,
            logical,
            found: f.clone(),
            effective,
        });
    }
    // A value the collector masked in a file merged at or after the winning one: rke2 uses a
    // token the inputs do not show.
    for m in &merged.scan.masked {
        let Some((_, role)) = layout::CONFIG_TOKEN_KEYS.iter().find(|(k, _)| *k == m.key) else {
            continue;
        };
        let pick = &mut picks.config[slot(*role)];
        let later = match *pick {
            Some(Pick::At(i)) => out
                .get(i)
                .is_none_or(|w| merge_rank(&w.host_path) <= merge_rank(&m.source)),
            _ => true,
        };
        if later {
            *pick = Some(Pick::Masked);
        }
    }
    // token-file targets.
    for r in [&merged.token_file, &merged.agent_token_file]
        .into_iter()
        .flatten()
    {
        let host = r.path.trim_start_matches('/').to_string();
        if let Some((data, source, logical)) =
            node.files.get(host.as_str()).and_then(|c| bytes(snap, c))
        {
            picks.config_file[slot(r.role)] = push_scan(
                scan_token_file(&host, data, r.role),
                r.role,
                &host,
                &source,
                &logical,
                &mut out,
            );
        }
    }
    let mut env_server: Option<JoinServer> = None;
    for (host, copies) in &node.files {
        let Some((data, source, logical)) = bytes(snap, copies) else {
            continue;
        };
        if layout::is_unit_env_file(host) {
            let scan = scan_env_file(host, data);
            // `RKE2_TOKEN_FILE=` / `RKE2_AGENT_TOKEN_FILE=`: the token lives in that file.
            for r in &scan.file_refs {
                let target = r.path.trim_start_matches('/').to_string();
                if let Some((d, s, l)) =
                    node.files.get(target.as_str()).and_then(|c| bytes(snap, c))
                {
                    let at = push_scan(
                        scan_token_file(&target, d, r.role),
                        r.role,
                        &target,
                        &s,
                        &l,
                        &mut out,
                    );
                    let pick = &mut picks.env_file[slot(r.role)];
                    *pick = pick.or(at);
                }
            }
            if env_server.is_none()
                && let Some(r) = scan.servers.first()
            {
                env_server = Some(join_server(r, host, &source, &logical));
            }
            let agent = level(&scan, TokenRole::Agent, out.len());
            let server = push_scan(scan, TokenRole::Server, host, &source, &logical, &mut out);
            for (role, said) in [(TokenRole::Server, server), (TokenRole::Agent, agent)] {
                let pick = &mut picks.env[slot(role)];
                *pick = pick.or(said);
            }
        } else if layout::is_rancherd_config(host) || layout::is_oem_config(host) {
            push_scan(
                scan_yaml_tree(host, data),
                TokenRole::Server,
                host,
                &source,
                &logical,
                &mut out,
            );
        }
    }
    // With no token in the config, the token file is what a server uses.
    if merged.token.is_none()
        && let Some(t) = out.iter_mut().find(|t| t.host_path == layout::SERVER_TOKEN)
    {
        t.effective = true;
    }
    let (token, _) = picks.pick(TokenRole::Server);
    let (agent_token, agent_token_set) = picks.pick(TokenRole::Agent);
    let server = merged
        .server
        .as_ref()
        .map(|r| {
            let (source, logical) = locate(&r.source);
            join_server(r, &r.source, &source, &logical)
        })
        .or(env_server);
    let join = NodeJoin {
        token,
        agent_token,
        agent_token_set,
        server,
    };
    (out, join)
}

fn join_server(r: &ServerRef, host: &str, source: &str, logical: &str) -> JoinServer {
    JoinServer {
        host_path: host.to_string(),
        source: source.to_string(),
        logical: logical.to_string(),
        line: r.line,
        key: r.key.clone(),
        url: r.url.clone(),
    }
}

/// The CA hash of what servers serve at `/cacerts`: their live `server/tls/server-ca.crt`.
/// Agents' copies are not served, so a token pinning only a stale agent copy matches nothing.
pub fn served_hashes(snap: &Snapshot) -> Vec<ServedHash> {
    let mut out = Vec::new();
    for node in snap.nodes.values() {
        {
            let host = CaFile::ServerCa.host_path();
            let Some((data, _, _)) = node.files.get(host).and_then(|c| bytes(snap, c)) else {
                continue;
            };
            let Ok(hash) = ca_hash(data) else { continue };
            let cert_fingerprint = match &hash.method {
                CaHashMethod::Root {
                    root_fingerprint, ..
                } => Some(root_fingerprint.clone()),
                _ => crate::pki::parse_certs(data)
                    .ok()
                    .and_then(|c| c.first().map(|c| c.fingerprint_sha256().to_string())),
            };
            out.push(ServedHash {
                node: node.name.clone(),
                host_path: host.to_string(),
                hash,
                cert_fingerprint,
            });
        }
    }
    out
}

/// Every token of every node, by node name.
pub fn all_tokens(snap: &Snapshot) -> BTreeMap<String, Vec<NodeToken>> {
    all_tokens_and_joins(snap).0
}

/// Every token of every node and how each node's rke2 starts, by node name.
pub type TokensAndJoins = (BTreeMap<String, Vec<NodeToken>>, BTreeMap<String, NodeJoin>);

/// Every token of every node and how each node's rke2 starts, by node name.
pub fn all_tokens_and_joins(snap: &Snapshot) -> TokensAndJoins {
    let mut tokens = BTreeMap::new();
    let mut joins = BTreeMap::new();
    // Node by node on every core, merged in node order.
    let nodes: Vec<&crate::snapshot::Node> = snap.nodes.values().collect();
    let read = crate::par::map(&nodes, |n| node_tokens_and_join(snap, n));
    for (n, (t, j)) in nodes.into_iter().zip(read) {
        tokens.insert(n.name.clone(), t);
        joins.insert(n.name.clone(), j);
    }
    (tokens, joins)
}
