//! The RKE2 / Harvester on-disk layout, declared once: the data and config directories, the
//! cluster CA files and the agents' copies of them, the staged and backup trees, the config
//! files and drop-ins, the token files and token keys, the service-account keys, the component
//! certificate directories, and the areas of a host the analysis reads ([`area`]).
//!
//! Every path here is a *host path*: relative to the node's `/`, without the leading `/`
//! (`var/lib/rancher/rke2/server/tls/server-ca.crt`), as [`crate::snapshot::Node::files`] keys
//! them. Directory constants end in `/`. The facts come from the project's research notes on the
//! RKE2 PKI (file inventory, tokens, rotation, service-account keys) and on the Harvester support
//! bundle (what a node zip copies from the host).
//!
//! Nothing here reads bytes: the module names places and tells them apart. The selector
//! ([`crate::snapshot::selector`]), the inventory and trust graph ([`crate::graph`]), the token
//! sources ([`crate::pki::token`]) and the rules take their paths from here.

pub mod area;

/// The rke2 data directory (`--data-dir`, default `/var/lib/rancher/rke2`): `server/` on
/// servers, `agent/` on every node, `data/` (binaries), `bin/`.
pub const DATA_DIR: &str = "var/lib/rancher/rke2/";
/// The server tree: `tls/`, `cred/`, `token`, `db/` (etcd), `manifests/`; its presence makes a
/// node a server (`rke2 certificate rotate` treats a node without it as an agent).
pub const SERVER_DIR: &str = "var/lib/rancher/rke2/server/";
/// The server PKI: cluster CAs and keys, client and serving leaves, `service.key`,
/// `dynamic-cert.json`. `rke2 certificate rotate` copies it to `tls-<unix>` first.
pub const SERVER_TLS_DIR: &str = "var/lib/rancher/rke2/server/tls/";
/// The etcd CAs (`server-ca`, `peer-ca`) and the etcd client and peer leaves; present on
/// etcd members only.
pub const ETCD_TLS_DIR: &str = "var/lib/rancher/rke2/server/tls/etcd/";
/// kube-apiserver's `--cert-dir`: ignored while `--tls-cert-file` is given, normally empty.
pub const TEMPORARY_CERTS_DIR: &str = "var/lib/rancher/rke2/server/tls/temporary-certs/";
/// Server credentials outside `tls/`: `passwd`, `ipsec.psk`, the encryption config and the
/// component kubeconfigs (`admin`, `supervisor`, `controller`, `scheduler`, `api-server`,
/// `cloud-controller`), which reference `tls/` files by path.
pub const CRED_DIR: &str = "var/lib/rancher/rke2/server/cred/";
/// Manifests the server's deploy controller applies (charts, add-ons): no credentials.
pub const MANIFESTS_DIR: &str = "var/lib/rancher/rke2/server/manifests/";
/// Where k3s' `rotate-default-ca-certs.sh` stages new CAs (`server/rotate-ca/tls/…`) before
/// `rke2 certificate rotate-ca --path` uploads them: staged, not used by the running node.
pub const ROTATE_CA_DIR: &str = "var/lib/rancher/rke2/server/rotate-ca/";
/// The agent tree: its copies of the server and client CA bundles, the kubelet, kube-proxy and
/// rke2-controller certificates (re-fetched at every agent start), their kubeconfigs,
/// `pod-manifests/`, `containerd/`, `images/`, `logs/`.
pub const AGENT_DIR: &str = "var/lib/rancher/rke2/agent/";
/// The kubelet's static pods; a server's control-plane components (`kube-apiserver.yaml`,
/// `etcd.yaml`, …) with their flags.
pub const POD_MANIFESTS_DIR: &str = "var/lib/rancher/rke2/agent/pod-manifests/";
/// The documented staging directory of a custom-CA rotation (`DATA_DIR=/opt/rke2` for
/// `generate-custom-ca-certs.sh`, then `rotate-ca --path=/opt/rke2/server`).
pub const CUSTOM_CA_STAGING_DIR: &str = "opt/rke2/server/";

/// The rke2 config directory.
pub const CONFIG_DIR: &str = "etc/rancher/rke2/";
/// rke2's config file (`--config`); on Harvester usually absent, the settings living in
/// drop-ins.
pub const CONFIG_FILE: &str = "etc/rancher/rke2/config.yaml";
/// The config drop-ins, merged after `config.yaml` in lexical order of their names (a later
/// scalar overrides); Harvester writes `90-harvester-server.yaml` and the like here.
pub const CONFIG_D_DIR: &str = "etc/rancher/rke2/config.yaml.d/";
/// The drop-in Harvester writes on a witness node (etcd only, no control plane).
pub const WITNESS_DROP_IN: &str = "etc/rancher/rke2/config.yaml.d/99-harvester-witness.yaml";
/// The admin kubeconfig rke2 writes (client-admin certificate, server CA); a support bundle's
/// collector deletes it.
pub const ADMIN_KUBECONFIG: &str = "etc/rancher/rke2/rke2.yaml";
/// The rancherd config directory (`config.yaml`, `config.yaml.d/`): Harvester's bootstrap,
/// which holds the cluster token rancherd hands to rke2.
pub const RANCHERD_DIR: &str = "etc/rancher/rancherd/";
/// The node identity directory (`password`).
pub const NODE_DIR: &str = "etc/rancher/node/";
/// The node password an agent sends when it joins (`rke2-Node-Password`).
pub const NODE_PASSWORD: &str = "etc/rancher/node/password";
/// `iptables-save` as a node snapshot carries it (command output beside the host tree).
pub const IPTABLES_SAVE: &str = "commands/iptables-save.txt";
/// `iptables-legacy-save` beside it: the legacy tables the kernel still runs.
pub const IPTABLES_LEGACY_SAVE: &str = "commands/iptables-legacy-save.txt";
/// The Harvester management bridge, the interface a host firewall chain guards.
pub const MGMT_BRIDGE: &str = "mgmt-br";
/// The chain Harvester's host firewall guide creates and attaches to INPUT for the bridge.
pub const HARVESTER_CHAIN: &str = "HARVESTER_INPUT";
/// The node's host name; a node snapshot without a better name is named by it.
pub const HOSTNAME: &str = "etc/hostname";
/// Harvester's `/oem`: cloud-init stage files (`90_custom.yaml`, `99_settings.yaml`,
/// `harvester.config`) from which the rke2 and rancherd configs are rendered at every boot, so
/// a token set there comes back after a reboot.
pub const OEM_DIR: &str = "oem/";
/// Harvester's install configuration in `/oem`: its presence marks a Harvester node.
pub const OEM_HARVESTER_CONFIG: &str = "oem/harvester.config";

/// Directories only an rke2 node has: found under some prefix of an input, they make it a node
/// snapshot and the prefix its `/`.
pub const HOST_ANCHORS: [&str; 4] = [DATA_DIR, CONFIG_DIR, RANCHERD_DIR, NODE_DIR];

/// The server token file (`K10<hash>::server:<password>`); `node-token` links to it.
pub const SERVER_TOKEN: &str = "var/lib/rancher/rke2/server/token";
/// The agent token file (`K10<hash>::node:<password>`), or a link to the server token when no
/// agent token is set.
pub const AGENT_TOKEN: &str = "var/lib/rancher/rke2/server/agent-token";
/// The legacy name of the server token, a symbolic link to `token`.
pub const NODE_TOKEN: &str = "var/lib/rancher/rke2/server/node-token";
/// The token files rke2 writes on a server, with the token each holds.
pub const TOKEN_FILES: [(&str, TokenRole); 2] = [
    (SERVER_TOKEN, TokenRole::Server),
    (AGENT_TOKEN, TokenRole::Agent),
];

/// The service-account key list: apiserver `--service-account-key-file` (every key verifies
/// tokens); the first key is the current one.
pub const SERVICE_KEY: &str = "var/lib/rancher/rke2/server/tls/service.key";
/// The first key of `service.key`, written at every start: apiserver
/// `--service-account-signing-key-file` and KCM `--service-account-private-key-file`.
pub const SERVICE_CURRENT_KEY: &str = "var/lib/rancher/rke2/server/tls/service.current.key";
/// The supervisor (:9345) listener's certificate and key, a JSON `kubernetes.io/tls` Secret
/// renewed at runtime; mirrored to the `kube-system/rke2-serving` secret.
pub const DYNAMIC_CERT: &str = "var/lib/rancher/rke2/server/tls/dynamic-cert.json";
/// kube-apiserver's serving certificate (signed by the server CA).
pub const APISERVER_SERVING_CERT: &str =
    "var/lib/rancher/rke2/server/tls/serving-kube-apiserver.crt";
/// kube-apiserver's static pod manifest: present on control-plane nodes.
pub const APISERVER_MANIFEST: &str = "var/lib/rancher/rke2/agent/pod-manifests/kube-apiserver.yaml";
/// etcd's serving (and client) certificate, signed by the etcd server CA: etcd `cert-file`.
pub const ETCD_SERVER_CERT: &str = "var/lib/rancher/rke2/server/tls/etcd/server-client.crt";
/// etcd's peer certificate, signed by the etcd peer CA: etcd `peer-cert-file`.
pub const ETCD_PEER_CERT: &str = "var/lib/rancher/rke2/server/tls/etcd/peer-server-client.crt";
/// kube-apiserver's etcd client certificate (`--etcd-certfile`), signed by the etcd server CA.
pub const ETCD_CLIENT_CERT: &str = "var/lib/rancher/rke2/server/tls/etcd/client.crt";
/// kube-apiserver's client certificate towards kubelets (`--kubelet-client-certificate`).
pub const APISERVER_KUBELET_CLIENT_CERT: &str =
    "var/lib/rancher/rke2/server/tls/client-kube-apiserver.crt";
/// kube-apiserver's front-proxy client certificate (`--proxy-client-cert-file`), signed by the
/// request-header CA.
pub const AUTH_PROXY_CLIENT_CERT: &str = "var/lib/rancher/rke2/server/tls/client-auth-proxy.crt";
/// The kubelet serving certificate: CN the node name, SANs its addresses.
pub const SERVING_KUBELET_CERT: &str = "var/lib/rancher/rke2/agent/serving-kubelet.crt";
/// The kubelet client certificate: CN `system:node:<node>`.
pub const CLIENT_KUBELET_CERT: &str = "var/lib/rancher/rke2/agent/client-kubelet.crt";

/// What `harrow collect` appends to a private key's name when it keeps only the public halves
/// (`server-ca.key.pub-fingerprint`).
pub const FINGERPRINT_SUFFIX: &str = ".pub-fingerprint";
/// The suffix of the component kubeconfigs (`cred/*.kubeconfig`, `agent/kubelet.kubeconfig`).
pub const KUBECONFIG_SUFFIX: &str = ".kubeconfig";

/// Which token a source names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TokenRole {
    /// `token`, `RKE2_TOKEN`, `server/token`.
    Server,
    /// `agent-token`, `RKE2_AGENT_TOKEN`, `server/agent-token`.
    Agent,
}

/// The config keys (`config.yaml`, drop-ins, the CLI flags of the same names) that set a token.
pub const CONFIG_TOKEN_KEYS: [(&str, TokenRole); 2] = [
    ("token", TokenRole::Server),
    ("agent-token", TokenRole::Agent),
];
/// The config keys that name a file holding the token.
pub const CONFIG_TOKEN_FILE_KEYS: [(&str, TokenRole); 2] = [
    ("token-file", TokenRole::Server),
    ("agent-token-file", TokenRole::Agent),
];
/// The config key (`config.yaml`, drop-ins) naming the server a node joins (`https://…:9345`);
/// a server without it starts a cluster of its own.
pub const CONFIG_SERVER_KEY: &str = "server";
/// Environment variables (unit environment files) naming the server a node joins.
pub const ENV_SERVER_VARS: [&str; 2] = ["RKE2_URL", "K3S_URL"];
/// Token keys in a cloud-config or rancherd YAML tree (`/oem`, rancherd): the config keys and
/// the other spellings Harvester's install config uses for the agent token.
pub const YAML_TOKEN_KEYS: [(&str, TokenRole); 4] = [
    ("token", TokenRole::Server),
    ("agent-token", TokenRole::Agent),
    ("agent_token", TokenRole::Agent),
    ("agentToken", TokenRole::Agent),
];
/// Environment variables (unit environment files, `Environment=`) that set a token, with
/// whether they name a file holding it instead.
pub const ENV_TOKEN_VARS: [(&str, TokenRole, bool); 8] = [
    ("RKE2_TOKEN", TokenRole::Server, false),
    ("K3S_TOKEN", TokenRole::Server, false),
    ("RKE2_AGENT_TOKEN", TokenRole::Agent, false),
    ("K3S_AGENT_TOKEN", TokenRole::Agent, false),
    ("RKE2_TOKEN_FILE", TokenRole::Server, true),
    ("K3S_TOKEN_FILE", TokenRole::Server, true),
    ("RKE2_AGENT_TOKEN_FILE", TokenRole::Agent, true),
    ("K3S_AGENT_TOKEN_FILE", TokenRole::Agent, true),
];

/// A cluster CA file in `server/tls/`: created once (10 years) by the first server, shared by
/// every server through the datastore, never renewed automatically.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum CaFile {
    /// `server-ca.crt`: signs serving certificates and the supervisor's; served at `/cacerts`,
    /// the input of the token CA hash; agents keep a copy.
    ServerCa,
    /// `client-ca.crt`: signs client certificates; kube-apiserver `--client-ca-file`; agents
    /// keep a copy for the kubelet's `--client-ca-file`.
    ClientCa,
    /// `request-header-ca.crt`: signs the auth-proxy client; `--requestheader-client-ca-file`.
    RequestHeaderCa,
    /// `etcd/server-ca.crt`: signs etcd's serving and client certificates.
    EtcdServerCa,
    /// `etcd/peer-ca.crt`: signs etcd's peer certificates.
    EtcdPeerCa,
}

impl CaFile {
    /// Every cluster CA, in the order rke2's documentation lists them.
    pub const ALL: [CaFile; 5] = [
        CaFile::ServerCa,
        CaFile::ClientCa,
        CaFile::RequestHeaderCa,
        CaFile::EtcdServerCa,
        CaFile::EtcdPeerCa,
    ];

    /// The certificate's host path.
    pub const fn host_path(self) -> &'static str {
        match self {
            CaFile::ServerCa => "var/lib/rancher/rke2/server/tls/server-ca.crt",
            CaFile::ClientCa => "var/lib/rancher/rke2/server/tls/client-ca.crt",
            CaFile::RequestHeaderCa => "var/lib/rancher/rke2/server/tls/request-header-ca.crt",
            CaFile::EtcdServerCa => "var/lib/rancher/rke2/server/tls/etcd/server-ca.crt",
            CaFile::EtcdPeerCa => "var/lib/rancher/rke2/server/tls/etcd/peer-ca.crt",
        }
    }

    /// The CA key's host path (the certificate's, `.key` for `.crt`).
    pub const fn key_host_path(self) -> &'static str {
        match self {
            CaFile::ServerCa => "var/lib/rancher/rke2/server/tls/server-ca.key",
            CaFile::ClientCa => "var/lib/rancher/rke2/server/tls/client-ca.key",
            CaFile::RequestHeaderCa => "var/lib/rancher/rke2/server/tls/request-header-ca.key",
            CaFile::EtcdServerCa => "var/lib/rancher/rke2/server/tls/etcd/server-ca.key",
            CaFile::EtcdPeerCa => "var/lib/rancher/rke2/server/tls/etcd/peer-ca.key",
        }
    }

    /// The certificate's path inside `server/tls/` (`etcd/server-ca.crt`).
    pub const fn tls_name(self) -> &'static str {
        after(self.host_path(), SERVER_TLS_DIR)
    }

    /// The certificate's path inside the data directory (`server/tls/server-ca.crt`).
    pub const fn data_relative(self) -> &'static str {
        after(self.host_path(), DATA_DIR)
    }

    /// The certificate's file name (`server-ca.crt`; the etcd server CA's is too).
    pub fn file_name(self) -> &'static str {
        file_name(self.host_path())
    }

    /// The common name rke2 gives the CA, before `@<unix seconds>`.
    pub const fn common_name(self) -> &'static str {
        match self {
            CaFile::ServerCa => "rke2-server-ca",
            CaFile::ClientCa => "rke2-client-ca",
            CaFile::RequestHeaderCa => "rke2-request-header-ca",
            CaFile::EtcdServerCa => "etcd-server-ca",
            CaFile::EtcdPeerCa => "etcd-peer-ca",
        }
    }

    /// Every common name (before `@`) this CA carries in the wild: rke2's, k3s' and the one
    /// `generate-custom-ca-certs.sh` gives (`rke2-etcd-server-ca`).
    pub const fn common_names(self) -> &'static [&'static str] {
        match self {
            CaFile::ServerCa => &["rke2-server-ca", "k3s-server-ca"],
            CaFile::ClientCa => &["rke2-client-ca", "k3s-client-ca"],
            CaFile::RequestHeaderCa => &["rke2-request-header-ca", "k3s-request-header-ca"],
            CaFile::EtcdServerCa => &["etcd-server-ca", "rke2-etcd-server-ca"],
            CaFile::EtcdPeerCa => &["etcd-peer-ca", "rke2-etcd-peer-ca"],
        }
    }

    /// The agents' copy of this CA, for the two CAs agents fetch.
    pub const fn agent_copy(self) -> Option<AgentCopy> {
        match self {
            CaFile::ServerCa => Some(AgentCopy::ServerCa),
            CaFile::ClientCa => Some(AgentCopy::ClientCa),
            _ => None,
        }
    }

    /// The cluster CA whose certificate sits at `host`.
    pub fn of_host_path(host: &str) -> Option<CaFile> {
        CaFile::ALL.into_iter().find(|c| c.host_path() == host)
    }
}

/// The cluster CA a common name (`rke2-server-ca@1700000000`, case as given) names, if any.
pub fn cluster_ca_of_common_name(cn: &str) -> Option<CaFile> {
    let base = cn.split('@').next().unwrap_or(cn);
    CaFile::ALL
        .into_iter()
        .find(|c| c.common_names().contains(&base))
}

/// An agent's copy of a server CA bundle, fetched from a server (`/v1-rke2/server-ca.crt`,
/// `/v1-rke2/client-ca.crt`) at every agent start; servers hold one too.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum AgentCopy {
    /// `agent/server-ca.crt`: the CA every agent kubeconfig trusts.
    ServerCa,
    /// `agent/client-ca.crt`: the kubelet's `--client-ca-file`.
    ClientCa,
}

impl AgentCopy {
    /// Both copies.
    pub const ALL: [AgentCopy; 2] = [AgentCopy::ServerCa, AgentCopy::ClientCa];

    /// The copy's host path.
    pub const fn host_path(self) -> &'static str {
        match self {
            AgentCopy::ServerCa => "var/lib/rancher/rke2/agent/server-ca.crt",
            AgentCopy::ClientCa => "var/lib/rancher/rke2/agent/client-ca.crt",
        }
    }

    /// The copy's path inside the data directory (`agent/server-ca.crt`).
    pub const fn data_relative(self) -> &'static str {
        after(self.host_path(), DATA_DIR)
    }

    /// The copy's file name, the same as the server file's (`server-ca.crt`).
    pub fn file_name(self) -> &'static str {
        file_name(self.host_path())
    }

    /// The server CA file it mirrors.
    pub const fn mirrors(self) -> CaFile {
        match self {
            AgentCopy::ServerCa => CaFile::ServerCa,
            AgentCopy::ClientCa => CaFile::ClientCa,
        }
    }

    /// The agent copy at `host`, if it is one.
    pub fn of_host_path(host: &str) -> Option<AgentCopy> {
        AgentCopy::ALL.into_iter().find(|c| c.host_path() == host)
    }
}

/// A control-plane component whose serving certificate rke2 writes in its own directory under
/// `server/tls/` (since the May 2025 releases, signed by the server CA); before that, or on
/// Rancher-provisioned clusters, the component made a self-signed one there (`--cert-dir`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Component {
    KubeControllerManager,
    KubeScheduler,
}

impl Component {
    /// Both components.
    pub const ALL: [Component; 2] = [Component::KubeControllerManager, Component::KubeScheduler];

    /// The live certificate directory.
    pub const fn cert_dir(self) -> &'static str {
        match self {
            Component::KubeControllerManager => {
                "var/lib/rancher/rke2/server/tls/kube-controller-manager/"
            }
            Component::KubeScheduler => "var/lib/rancher/rke2/server/tls/kube-scheduler/",
        }
    }

    /// `server/tls/<component>/` with slashes on both sides: found in the live tree and in a
    /// staged `opt/rke2/server/tls/` alike.
    fn marker(self) -> &'static str {
        let dir = self.cert_dir();
        &dir[DATA_DIR.len() - 1..]
    }
}

/// The component whose certificate directory holds `host`, anywhere a `server/tls/` tree sits.
pub fn component_of_cert(host: &str) -> Option<Component> {
    Component::ALL
        .into_iter()
        .find(|c| host.contains(c.marker()))
}

/// Which tree a credential file sits in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Tree {
    /// What the running node uses: `server/tls/**`, `server/cred/**`, key files directly in
    /// `server/`, files directly in `agent/`, `etc/rancher/rke2/rke2.yaml`.
    Live,
    /// Prepared for a rotation, not in use: `server/rotate-ca/**`, `opt/rke2/server/**`.
    Staged,
    /// Left by `rke2 certificate rotate`: `server/tls-<unix>/**`, `agent/tls-<unix>/**`.
    Backup,
}

/// True for a `tls-<unix seconds>` backup directory name made by `rke2 certificate rotate`.
pub fn is_backup_dir_name(name: &str) -> bool {
    name.strip_prefix("tls-")
        .is_some_and(|d| !d.is_empty() && d.len() <= 12 && d.bytes().all(|b| b.is_ascii_digit()))
}

/// The tree of a host path; `None` when the path is not a place credentials are read from
/// (`agent/containerd/…`, `server/tls-abc/…`, `etc/ssl/…`).
pub fn in_use_of(host: &str) -> Option<Tree> {
    if host.starts_with(CUSTOM_CA_STAGING_DIR) {
        return Some(Tree::Staged);
    }
    if host == ADMIN_KUBECONFIG {
        return Some(Tree::Live);
    }
    let rest = host.strip_prefix(DATA_DIR)?;
    let mut parts = rest.split('/');
    match (parts.next(), parts.next()) {
        (Some("server"), Some("rotate-ca")) => Some(Tree::Staged),
        (Some("server" | "agent"), Some(d)) if is_backup_dir_name(d) => Some(Tree::Backup),
        (Some("server"), Some("tls" | "cred")) => Some(Tree::Live),
        (Some("server"), Some(f)) if parts.next().is_none() && f.ends_with(".key") => {
            Some(Tree::Live)
        }
        (Some("agent"), Some(_)) if parts.next().is_none() => Some(Tree::Live),
        _ => None,
    }
}

/// True for a host path in a staged tree.
pub fn is_staged(host: &str) -> bool {
    in_use_of(host) == Some(Tree::Staged)
}

/// True for a host path in a backup tree.
pub fn is_backup(host: &str) -> bool {
    in_use_of(host) == Some(Tree::Backup)
}

/// The root directory (ending in `/`) of the staged or backup tree holding the file `host`:
/// `opt/rke2/server/`, `…/server/rotate-ca/`, `…/server/tls-<unix>/`, `…/agent/tls-<unix>/`.
pub fn tree_root(host: &str) -> Option<&str> {
    if host.starts_with(CUSTOM_CA_STAGING_DIR) {
        return Some(CUSTOM_CA_STAGING_DIR);
    }
    if !matches!(in_use_of(host)?, Tree::Staged | Tree::Backup) {
        return None;
    }
    // `<data dir><server|agent>/<dir>/` and a file below it.
    let rest = &host[DATA_DIR.len()..];
    let first = rest.find('/')?;
    let second = first + 1 + rest[first + 1..].find('/')?;
    Some(&host[..DATA_DIR.len() + second + 1])
}

/// Where a host path begins inside a logical path, first match first: the data directory, the
/// staging tree's `opt/rke2/`, the Rancher configs' `etc/rancher/`.
pub const HOST_PART_ANCHORS: [&str; 3] = [DATA_DIR, "opt/rke2/", "etc/rancher/"];

/// The host path inside a logical path (`b.zip!n1/var/lib/rancher/rke2/…` →
/// `var/lib/rancher/rke2/…`): the last `!` part from the first [`HOST_PART_ANCHORS`] found in
/// it, or that whole part.
pub fn host_part(logical: &str) -> &str {
    let inner = logical.rsplit('!').next().unwrap_or(logical);
    HOST_PART_ANCHORS
        .iter()
        .find_map(|a| inner.find(a))
        .map_or(inner, |i| &inner[i..])
}

/// A host path relative to the data directory (`server/tls/server-ca.crt`).
pub fn data_relative(host: &str) -> Option<&str> {
    host.strip_prefix(DATA_DIR)
}

/// A host path shortened for display: relative to `server/tls/`, else to the data directory,
/// else as given.
pub fn short_path(host: &str) -> &str {
    host.strip_prefix(SERVER_TLS_DIR)
        .or_else(|| host.strip_prefix(DATA_DIR))
        .unwrap_or(host)
}

/// The last segment of a path.
pub fn file_name(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

/// `path` after the directory `dir` it is declared in (both constants of this module; the
/// unit tests check every declaration sits in its directory).
const fn after(path: &'static str, dir: &str) -> &'static str {
    path.split_at(dir.len()).1
}

/// True for a kubeconfig: `*.kubeconfig` (`cred/admin.kubeconfig`, `agent/kubelet.kubeconfig`)
/// or rke2's admin `rke2.yaml`.
pub fn is_kubeconfig(path: &str) -> bool {
    let name = file_name(path);
    name.ends_with(KUBECONFIG_SUFFIX) || name == file_name(ADMIN_KUBECONFIG)
}

/// True for the supervisor's `dynamic-cert.json` (a path ending in its name).
pub fn is_dynamic_cert(path: &str) -> bool {
    path.ends_with(file_name(DYNAMIC_CERT))
}

/// True for a service-account key file name: `service.key`, `service.current.key` (and any
/// `service.*` key an operator keeps beside them).
pub fn is_service_key_name(name: &str) -> bool {
    name.starts_with("service.")
}

/// True for a certificate file nothing reads but the certificate inventory: a `.crt` or `.pem`
/// file of an rke2 credential tree ([`in_use_of`]: live, staged or backup) other than the
/// cluster CA files, the agents' CA copies and the kubelet's certificates, whose bytes are also
/// read (digests compared between nodes, the CA hash, node names and addresses). Those are told
/// apart by file name wherever they sit, so their copies in staged and backup trees keep their
/// bytes too. The ingest parses these files as it reads them and keeps the parse.
pub fn is_inventory_only_cert(host: &str) -> bool {
    let name = file_name(host);
    let read_as_bytes = CaFile::ALL
        .iter()
        .map(|c| file_name(c.host_path()))
        .chain(AgentCopy::ALL.iter().map(|c| file_name(c.host_path())))
        .chain([
            file_name(SERVING_KUBELET_CERT),
            file_name(CLIENT_KUBELET_CERT),
        ]);
    (name.ends_with(".crt") || name.ends_with(".pem"))
        && in_use_of(host).is_some()
        && !read_as_bytes.into_iter().any(|n| n == name)
}

/// True for a file name that may hold certificates, keys, signing requests or kubeconfigs.
pub fn is_credential_file(host: &str) -> bool {
    let name = file_name(host);
    [
        ".crt",
        ".pem",
        ".key",
        KUBECONFIG_SUFFIX,
        FINGERPRINT_SUFFIX,
        ".csr",
    ]
    .iter()
    .any(|s| name.ends_with(s))
        || name == file_name(DYNAMIC_CERT)
        || name == file_name(ADMIN_KUBECONFIG)
}

fn is_yaml_name(path: &str) -> bool {
    path.ends_with(".yaml") || path.ends_with(".yml")
}

/// True for an rke2 config drop-in: a YAML file under `config.yaml.d/`.
pub fn is_config_drop_in(host: &str) -> bool {
    host.starts_with(CONFIG_D_DIR) && is_yaml_name(host)
}

/// True for a rancherd config file (`etc/rancher/rancherd/config.yaml`, its drop-ins).
pub fn is_rancherd_config(host: &str) -> bool {
    host.starts_with(RANCHERD_DIR) && is_yaml_name(host)
}

/// True for a Harvester `/oem` cloud-config (`*.yaml`, `*.yml`, `harvester.config`).
pub fn is_oem_config(host: &str) -> bool {
    host.starts_with(OEM_DIR) && (is_yaml_name(host) || host.ends_with(".config"))
}

/// True for an rke2 unit environment file ([`area::UNIT_ENV_FILES`]): the `rke2-*.env` beside
/// the units, `/etc/default/rke2-*`, `/etc/sysconfig/rke2-*`.
pub fn is_unit_env_file(host: &str) -> bool {
    area::UNIT_ENV_FILES.matches_path(host)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn live_staged_and_backup_trees_are_told_apart() {
        let p = in_use_of;
        assert_eq!(
            p("var/lib/rancher/rke2/server/tls/server-ca.crt"),
            Some(Tree::Live)
        );
        assert_eq!(
            p("var/lib/rancher/rke2/server/tls/etcd/peer-ca.crt"),
            Some(Tree::Live)
        );
        assert_eq!(
            p("var/lib/rancher/rke2/agent/client-kubelet.crt"),
            Some(Tree::Live)
        );
        assert_eq!(
            p("var/lib/rancher/rke2/server/cred/admin.kubeconfig"),
            Some(Tree::Live)
        );
        assert_eq!(
            p("var/lib/rancher/rke2/server/client-ca.key"),
            Some(Tree::Live)
        );
        assert_eq!(p("etc/rancher/rke2/rke2.yaml"), Some(Tree::Live));
        assert_eq!(
            p("var/lib/rancher/rke2/server/tls-1732000000/client-admin.crt"),
            Some(Tree::Backup)
        );
        assert_eq!(
            p("var/lib/rancher/rke2/agent/tls-1732000000/client-kubelet.crt"),
            Some(Tree::Backup)
        );
        assert_eq!(
            p("var/lib/rancher/rke2/server/rotate-ca/tls/server-ca.crt"),
            Some(Tree::Staged)
        );
        assert_eq!(p("opt/rke2/server/tls/server-ca.crt"), Some(Tree::Staged));
        assert_eq!(p("var/lib/rancher/rke2/agent/containerd/x.crt"), None);
        assert_eq!(p("var/lib/rancher/rke2/server/tls-abc/x.crt"), None);
        assert_eq!(p("var/lib/rancher/rke2/server/token"), None);
        assert_eq!(p("etc/ssl/certs/ca.pem"), None);
        assert!(is_staged("opt/rke2/server/tls/etcd/peer-ca.crt"));
        assert!(!is_staged("var/lib/rancher/rke2/server/tls/server-ca.crt"));
        assert!(is_backup(
            "var/lib/rancher/rke2/server/tls-1732000000/etcd/server-ca.crt"
        ));
        assert!(!is_backup("var/lib/rancher/rke2/server/tls/server-ca.crt"));
        assert!(is_backup_dir_name("tls-1732000000"));
        assert!(!is_backup_dir_name("tls-"));
        assert!(!is_backup_dir_name("tls-1234567890123"));
        assert!(!is_backup_dir_name("tls"));
    }

    #[test]
    fn tree_roots_name_the_staging_or_backup_directory() {
        assert_eq!(
            tree_root("var/lib/rancher/rke2/server/tls-1794967200/client-admin.crt"),
            Some("var/lib/rancher/rke2/server/tls-1794967200/")
        );
        assert_eq!(
            tree_root("var/lib/rancher/rke2/agent/tls-1794967200/client-kubelet.crt"),
            Some("var/lib/rancher/rke2/agent/tls-1794967200/")
        );
        assert_eq!(
            tree_root("var/lib/rancher/rke2/server/rotate-ca/tls/server-ca.crt"),
            Some("var/lib/rancher/rke2/server/rotate-ca/")
        );
        assert_eq!(
            tree_root("opt/rke2/server/tls/server-ca.crt"),
            Some("opt/rke2/server/")
        );
        assert_eq!(
            tree_root("var/lib/rancher/rke2/server/tls/server-ca.crt"),
            None
        );
        // The directory itself is not a file inside it.
        assert_eq!(
            tree_root("var/lib/rancher/rke2/server/tls-1794967200"),
            None
        );
    }

    #[test]
    fn only_certificate_files_no_other_reader_needs_are_inventory_only() {
        for host in [
            "var/lib/rancher/rke2/server/tls/serving-kube-apiserver.crt",
            "var/lib/rancher/rke2/server/tls/etcd/server-client.crt",
            "var/lib/rancher/rke2/server/tls/bench/17.crt",
            "var/lib/rancher/rke2/agent/client-kube-proxy.crt",
            "var/lib/rancher/rke2/server/tls-1700000000/client-admin.crt",
            "opt/rke2/server/tls/intermediate-ca.pem",
        ] {
            assert!(is_inventory_only_cert(host), "{host}");
        }
        for host in [
            // Read as bytes: digests, the CA hash, node names and addresses.
            "var/lib/rancher/rke2/server/tls/server-ca.crt",
            "var/lib/rancher/rke2/server/tls/etcd/peer-ca.crt",
            "var/lib/rancher/rke2/server/rotate-ca/tls/client-ca.crt",
            "opt/rke2/server/tls/request-header-ca.crt",
            "var/lib/rancher/rke2/agent/server-ca.crt",
            "var/lib/rancher/rke2/agent/serving-kubelet.crt",
            "var/lib/rancher/rke2/agent/client-kubelet.crt",
            // Not certificate files, or outside the credential trees.
            "var/lib/rancher/rke2/server/tls/service.key",
            "var/lib/rancher/rke2/server/tls/dynamic-cert.json",
            "var/lib/rancher/rke2/agent/kubelet.kubeconfig",
            "var/lib/rancher/rke2/agent/images/x.crt",
            "etc/ssl/certs/ca.crt",
        ] {
            assert!(!is_inventory_only_cert(host), "{host}");
        }
    }

    #[test]
    fn host_paths_are_found_inside_logical_paths() {
        assert_eq!(
            host_part("b.zip!n1/var/lib/rancher/rke2/server/tls/x.crt"),
            "var/lib/rancher/rke2/server/tls/x.crt"
        );
        assert_eq!(
            host_part("n1.tgz!n1/opt/rke2/server/tls/server-ca.crt"),
            "opt/rke2/server/tls/server-ca.crt"
        );
        assert_eq!(
            host_part("n1/etc/rancher/rke2/rke2.yaml"),
            "etc/rancher/rke2/rke2.yaml"
        );
        assert_eq!(host_part("a.zip!n1/logs/x.log"), "n1/logs/x.log");
    }

    #[test]
    fn ca_files_and_agent_copies_pair_up() {
        for ca in CaFile::ALL {
            assert!(ca.host_path().starts_with(SERVER_TLS_DIR), "{ca:?}");
            assert_eq!(
                ca.key_host_path().strip_suffix(".key"),
                ca.host_path().strip_suffix(".crt")
            );
            assert_eq!(CaFile::of_host_path(ca.host_path()), Some(ca));
            assert_eq!(in_use_of(ca.host_path()), Some(Tree::Live));
            assert_eq!(
                cluster_ca_of_common_name(&format!("{}@1700000000", ca.common_name())),
                Some(ca)
            );
            if let Some(copy) = ca.agent_copy() {
                assert_eq!(copy.mirrors(), ca);
                assert_eq!(copy.file_name(), ca.file_name());
            }
        }
        assert_eq!(CaFile::EtcdServerCa.tls_name(), "etcd/server-ca.crt");
        assert_eq!(CaFile::ServerCa.data_relative(), "server/tls/server-ca.crt");
        for copy in AgentCopy::ALL {
            assert!(copy.host_path().starts_with(AGENT_DIR));
            assert_eq!(copy.mirrors().agent_copy(), Some(copy));
            assert_eq!(AgentCopy::of_host_path(copy.host_path()), Some(copy));
            assert_eq!(in_use_of(copy.host_path()), Some(Tree::Live));
        }
        assert_eq!(AgentCopy::ClientCa.data_relative(), "agent/client-ca.crt");
        assert_eq!(CaFile::RequestHeaderCa.agent_copy(), None);
        assert_eq!(
            cluster_ca_of_common_name("k3s-client-ca@1"),
            Some(CaFile::ClientCa)
        );
        assert_eq!(
            cluster_ca_of_common_name("rke2-etcd-peer-ca@1"),
            Some(CaFile::EtcdPeerCa)
        );
        assert_eq!(cluster_ca_of_common_name("rke2-root-ca@1"), None);
    }

    #[test]
    fn constants_sit_in_their_directories() {
        for dir in [
            SERVER_DIR,
            AGENT_DIR,
            SERVER_TLS_DIR,
            ETCD_TLS_DIR,
            TEMPORARY_CERTS_DIR,
            CRED_DIR,
            MANIFESTS_DIR,
            ROTATE_CA_DIR,
            POD_MANIFESTS_DIR,
        ] {
            assert!(dir.starts_with(DATA_DIR) && dir.ends_with('/'), "{dir}");
        }
        for f in [SERVER_TOKEN, AGENT_TOKEN, NODE_TOKEN] {
            assert_eq!(
                f.rsplit_once('/').map(|(d, _)| d),
                SERVER_DIR.strip_suffix('/')
            );
        }
        for f in [
            SERVICE_KEY,
            SERVICE_CURRENT_KEY,
            DYNAMIC_CERT,
            APISERVER_SERVING_CERT,
        ] {
            assert_eq!(in_use_of(f), Some(Tree::Live), "{f}");
            assert!(f.starts_with(SERVER_TLS_DIR));
        }
        for f in [SERVING_KUBELET_CERT, CLIENT_KUBELET_CERT] {
            assert_eq!(in_use_of(f), Some(Tree::Live), "{f}");
        }
        assert!(APISERVER_MANIFEST.starts_with(POD_MANIFESTS_DIR));
        for f in [CONFIG_FILE, CONFIG_D_DIR, ADMIN_KUBECONFIG] {
            assert!(f.starts_with(CONFIG_DIR));
        }
        assert!(is_config_drop_in(WITNESS_DROP_IN));
        for c in Component::ALL {
            assert!(c.cert_dir().starts_with(SERVER_TLS_DIR));
        }
    }

    #[test]
    fn config_drop_ins_and_token_sources_match() {
        assert!(is_config_drop_in(
            "etc/rancher/rke2/config.yaml.d/90-harvester-server.yaml"
        ));
        assert!(is_config_drop_in("etc/rancher/rke2/config.yaml.d/50-x.yml"));
        assert!(!is_config_drop_in("etc/rancher/rke2/config.yaml"));
        assert!(!is_config_drop_in("etc/rancher/rke2/config.yaml.d/README"));
        assert!(!is_config_drop_in("etc/rancher/rke2/registries.yaml"));
        assert!(is_rancherd_config("etc/rancher/rancherd/config.yaml"));
        assert!(is_rancherd_config(
            "etc/rancher/rancherd/config.yaml.d/20-harvester-settings.yaml"
        ));
        assert!(!is_rancherd_config("etc/rancher/rke2/config.yaml"));
        assert!(is_oem_config("oem/90_custom.yaml"));
        assert!(is_oem_config("oem/harvester.config"));
        assert!(!is_oem_config("oem/grubenv"));
        assert!(is_unit_env_file("etc/systemd/system/rke2-server.env"));
        assert!(is_unit_env_file(
            "usr/local/lib/systemd/system/rke2-agent.env"
        ));
        assert!(is_unit_env_file("etc/default/rke2-agent"));
        assert!(is_unit_env_file("etc/sysconfig/rke2-server"));
        assert!(!is_unit_env_file("etc/systemd/system/rke2-server.service"));
        assert!(!is_unit_env_file("etc/default/grub"));
    }

    #[test]
    fn credential_files_and_kubeconfigs_are_recognised_by_name() {
        assert!(is_credential_file(CaFile::ServerCa.host_path()));
        assert!(is_credential_file(DYNAMIC_CERT));
        assert!(is_credential_file(
            "var/lib/rancher/rke2/server/tls/service.key.pub-fingerprint"
        ));
        assert!(!is_credential_file(SERVER_TOKEN));
        assert!(is_kubeconfig(
            "var/lib/rancher/rke2/server/cred/admin.kubeconfig"
        ));
        assert!(is_kubeconfig(ADMIN_KUBECONFIG));
        assert!(is_kubeconfig("rke2.yaml"));
        assert!(!is_kubeconfig("etc/rancher/rke2/my-rke2.yaml"));
        assert!(is_dynamic_cert(
            "n1.tgz!n1/var/lib/rancher/rke2/server/tls/dynamic-cert.json"
        ));
        assert!(is_service_key_name(file_name(SERVICE_CURRENT_KEY)));
        assert!(!is_service_key_name("serving-kubelet.key"));
        assert_eq!(
            component_of_cert("var/lib/rancher/rke2/server/tls/kube-scheduler/kube-scheduler.crt"),
            Some(Component::KubeScheduler)
        );
        assert_eq!(
            component_of_cert(
                "opt/rke2/server/tls/kube-controller-manager/kube-controller-manager.crt"
            ),
            Some(Component::KubeControllerManager)
        );
        assert_eq!(component_of_cert(APISERVER_SERVING_CERT), None);
        assert_eq!(
            short_path(CaFile::EtcdPeerCa.host_path()),
            "etcd/peer-ca.crt"
        );
        assert_eq!(short_path(CLIENT_KUBELET_CERT), "agent/client-kubelet.crt");
        assert_eq!(short_path(ADMIN_KUBECONFIG), ADMIN_KUBECONFIG);
    }
}
