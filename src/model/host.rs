//! Host configuration of each node, read once: rke2's merged configuration (`config.yaml` and
//! `config.yaml.d/*`, in rke2's order, each key with the file and line it came from), the
//! effective kernel parameters (the live `sysctl -a` of a node snapshot's
//! `commands/sysctl-a.txt`, else the `vm.*` of supportconfig's `memory.txt`, else what
//! `sysctl.d` / `sysctl.conf` configure, from the host tree or supportconfig's `etc.txt`), and
//! the accounts of `/etc/passwd` and `/etc/group` (host tree or `etc.txt`), and the VIP of
//! `/oem/harvester.config`. Every value carries
//! its [`Origin`]. The parsers are [`crate::parse`]'s; nothing here judges.

use std::collections::BTreeMap;

use crate::layout;
use crate::parse::{passwd, rke2config, supportconfig, sysctl};
use crate::snapshot::{Node, Snapshot};
use crate::vocab::Origin;

/// `sysctl -a` as a node snapshot carries it.
pub const SYSCTL_A: &str = "commands/sysctl-a.txt";
/// supportconfig's memory report (with `sysctl -a | grep ^vm`), as the node view maps it.
pub const SCC_MEMORY: &str = "scc/memory.txt";
/// supportconfig's `/etc` configuration files, as the node view maps it.
pub const SCC_ETC: &str = "scc/etc.txt";
/// The account files.
pub const PASSWD: &str = "etc/passwd";
pub const GROUP: &str = "etc/group";

/// rke2's merged configuration of a node with the origin of each file.
#[derive(Debug, Clone, Default)]
pub struct RkeConfig {
    pub merged: rke2config::Merged,
    /// The origin of each merged file, by host path.
    pub files: BTreeMap<String, Origin>,
}

impl RkeConfig {
    /// The origin of a place of the merged configuration (file and line).
    pub fn origin(&self, place: &rke2config::Place) -> Origin {
        self.files
            .get(&place.file)
            .cloned()
            .unwrap_or_else(|| Origin::new("", place.file.as_str()))
            .at(Some(format!("line {}", place.line)))
    }

    /// The entry of `key`.
    pub fn get(&self, key: &str) -> Option<&rke2config::Entry> {
        self.merged.get(key)
    }

    /// The origins of every merged file, in merge order.
    pub fn all_origins(&self) -> Vec<Origin> {
        self.merged
            .files
            .iter()
            .filter_map(|f| self.files.get(f).cloned())
            .collect()
    }
}

/// Where an effective kernel parameter comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SysctlSource {
    /// The running kernel (`sysctl -a`).
    Live,
    /// What the configuration files set (applied at boot).
    Configured,
}

/// One effective kernel parameter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sysctl {
    pub value: String,
    pub source: SysctlSource,
    pub origin: Origin,
}

/// A node's kernel parameters.
#[derive(Debug, Clone, Default)]
pub struct Sysctls {
    /// Live values and their file; `live_prefix` limits the keys they cover (`vm.` for
    /// supportconfig's `sysctl -a | grep ^vm`).
    pub live: BTreeMap<String, Sysctl>,
    pub live_prefix: Option<String>,
    /// True when some live output was read.
    pub has_live: bool,
    /// Configured values (sysctl.d, sysctl.conf), the winning file's.
    pub configured: BTreeMap<String, Sysctl>,
    /// True when some configuration file was read.
    pub has_configured: bool,
}

impl Sysctls {
    /// The effective value of `key`: live when the live output covers it, else configured.
    pub fn effective(&self, key: &str) -> Option<&Sysctl> {
        let covered = self.has_live
            && self
                .live_prefix
                .as_deref()
                .is_none_or(|p| key.starts_with(p));
        if covered {
            return self.live.get(key);
        }
        self.configured.get(key)
    }

    /// True when `key`'s value can be known (covered by live output or some configuration).
    pub fn knows(&self, key: &str) -> bool {
        (self.has_live
            && self
                .live_prefix
                .as_deref()
                .is_none_or(|p| key.starts_with(p)))
            || self.has_configured
    }
}

/// An account (user or group) with where it was read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    pub name: String,
    pub id: u32,
    pub origin: Origin,
}

/// A node's users and groups; `None` when the file is not in the inputs.
#[derive(Debug, Clone, Default)]
pub struct Accounts {
    pub users: Option<Vec<Account>>,
    pub groups: Option<Vec<Account>>,
}

/// Everything of one node's host configuration.
#[derive(Debug, Clone, Default)]
pub struct Host {
    /// `None` when the node has neither `config.yaml` nor a drop-in in the inputs.
    pub config: Option<RkeConfig>,
    pub sysctls: Sysctls,
    pub accounts: Accounts,
    /// The cluster's virtual IP as the node's `/oem/harvester.config` gives it (`install.vip`).
    pub vip: Option<(String, Origin)>,
}

/// The bytes and origin of `host` on `node`.
fn file<'a>(snap: &'a Snapshot, node: &Node, host: &str) -> Option<(&'a [u8], Origin)> {
    let (data, input, logical) = snap.first_copy(node.files.get(host)?)?;
    Some((
        data,
        Origin::new(input, logical).on(node.name.as_str(), host),
    ))
}

fn at_line(o: &Origin, line: usize, what: Option<&str>) -> Origin {
    let pointer = match what {
        Some(w) => format!("line {line} ({w})"),
        None => format!("line {line}"),
    };
    o.clone().at(Some(pointer))
}

fn rke_config(snap: &Snapshot, node: &Node) -> Option<RkeConfig> {
    let cfg = file(snap, node, layout::CONFIG_FILE).map(|(d, o)| (layout::CONFIG_FILE, (d, o)));
    let drops: Vec<(&str, (&[u8], Origin))> = node
        .files
        .keys()
        .filter(|h| layout::is_config_drop_in(h))
        .filter_map(|h| file(snap, node, h).map(|f| (&**h, f)))
        .collect();
    if cfg.is_none() && drops.is_empty() {
        return None;
    }
    let refs: Vec<(&str, &(&[u8], Origin))> = drops.iter().map(|(h, f)| (*h, f)).collect();
    let ordered = rke2config::merge_order(cfg.as_ref().map(|(h, f)| (*h, f)), &refs);
    let bytes: Vec<(&str, &[u8])> = ordered.iter().map(|(h, f)| (*h, f.0)).collect();
    Some(RkeConfig {
        merged: rke2config::merge(&bytes),
        files: ordered
            .iter()
            .map(|(h, f)| (h.to_string(), f.1.clone()))
            .collect(),
    })
}

fn live(o: &Origin, body: &[u8], first_line: usize) -> BTreeMap<String, Sysctl> {
    sysctl::parse_live(body)
        .values
        .into_iter()
        .map(|(k, v)| {
            let origin = at_line(o, first_line + v.line - 1, None);
            (
                k,
                Sysctl {
                    value: v.value,
                    source: SysctlSource::Live,
                    origin,
                },
            )
        })
        .collect()
}

/// A configuration file read: its host path on the node, bytes, origin and the line offset
/// of its first line in the file the origin names (supportconfig sections), with the name to
/// show beside the line when the origin is another file.
struct ConfFile<'a> {
    data: std::borrow::Cow<'a, [u8]>,
    origin: Origin,
    first_line: usize,
    shown: Option<String>,
}

fn sysctls(snap: &Snapshot, node: &Node, scc: &[(String, ConfFile)]) -> Sysctls {
    let mut s = Sysctls::default();
    if let Some((data, o)) = file(snap, node, SYSCTL_A) {
        s.live = live(&o, data, 1);
        s.has_live = true;
    } else if let Some((data, o)) = file(snap, node, SCC_MEMORY) {
        let secs = supportconfig::sections(data);
        if let Some(sec) = supportconfig::sysctl_section(&secs) {
            s.live = live(&o, sec.body.as_bytes(), sec.body_line);
            s.has_live = true;
            s.live_prefix = Some("vm.".into());
        }
    }
    // Configuration files: the host tree's, else the copies in supportconfig's etc.txt.
    let mut confs: Vec<(String, ConfFile)> = node
        .files
        .keys()
        .filter(|h| sysctl::is_conf(h))
        .filter_map(|h| {
            let (data, origin) = file(snap, node, h)?;
            Some((
                h.to_string(),
                ConfFile {
                    data: data.into(),
                    origin,
                    first_line: 1,
                    shown: None,
                },
            ))
        })
        .collect();
    if confs.is_empty() {
        confs = scc
            .iter()
            .filter(|(h, _)| sysctl::is_conf(h))
            .map(|(h, f)| {
                (
                    h.clone(),
                    ConfFile {
                        data: f.data.clone(),
                        origin: f.origin.clone(),
                        first_line: f.first_line,
                        shown: f.shown.clone(),
                    },
                )
            })
            .collect();
    }
    let keyed: Vec<(&str, &ConfFile)> = confs.iter().map(|(h, f)| (h.as_str(), f)).collect();
    for (_, f) in sysctl::conf_order(&keyed) {
        s.has_configured = true;
        for (k, v) in sysctl::parse_conf(&f.data).values {
            let origin = at_line(&f.origin, f.first_line + v.line - 1, f.shown.as_deref());
            s.configured.insert(
                k,
                Sysctl {
                    value: v.value,
                    source: SysctlSource::Configured,
                    origin,
                },
            );
        }
    }
    s
}

/// An account as parsed: name, id, 1-based line.
type Named = (String, u32, usize);

fn accounts_of(
    snap: &Snapshot,
    node: &Node,
    scc: &[(String, ConfFile)],
    host: &str,
    parse: fn(&[u8]) -> Vec<Named>,
) -> Option<Vec<Account>> {
    let (data, origin, first, shown) = match file(snap, node, host) {
        Some((d, o)) => (std::borrow::Cow::Borrowed(d), o, 1, None),
        None => {
            let (_, f) = scc.iter().find(|(h, _)| h == host)?;
            (
                f.data.clone(),
                f.origin.clone(),
                f.first_line,
                f.shown.clone(),
            )
        }
    };
    Some(
        parse(&data)
            .into_iter()
            .map(|(name, id, line)| Account {
                name,
                id,
                origin: at_line(&origin, first + line - 1, shown.as_deref()),
            })
            .collect(),
    )
}

fn users(data: &[u8]) -> Vec<Named> {
    passwd::parse_passwd(data)
        .records
        .into_iter()
        .map(|u| (u.name, u.uid, u.line))
        .collect()
}

fn groups(data: &[u8]) -> Vec<Named> {
    passwd::parse_group(data)
        .records
        .into_iter()
        .map(|g| (g.name, g.gid, g.line))
        .collect()
}

/// `install.vip` of the node's `/oem/harvester.config` (a masked or empty value is absent).
fn vip(snap: &Snapshot, node: &Node) -> Option<(String, Origin)> {
    let (data, origin) = file(snap, node, layout::OEM_HARVESTER_CONFIG)?;
    let v: serde_json::Value = serde_saphyr::from_str(&String::from_utf8_lossy(data)).ok()?;
    let ip = crate::snapshot::value::str_at(&v, &["install", "vip"])?;
    Some((ip.to_string(), origin.at(Some("install.vip".into()))))
}

/// The configuration files of supportconfig's `etc.txt`, by host path.
fn scc_files<'a>(snap: &'a Snapshot, node: &Node) -> Vec<(String, ConfFile<'a>)> {
    let Some((data, origin)) = file(snap, node, SCC_ETC) else {
        return Vec::new();
    };
    let secs = supportconfig::sections(data);
    supportconfig::config_files(&secs)
        .into_iter()
        .map(|(host, sec)| {
            let shown = Some(format!("/{host}"));
            (
                host,
                ConfFile {
                    data: sec.body.clone().into_bytes().into(),
                    origin: origin.clone(),
                    first_line: sec.body_line,
                    shown,
                },
            )
        })
        .collect()
}

/// The host configuration of every node of `snap`, by node name.
pub fn read(snap: &Snapshot) -> BTreeMap<String, Host> {
    // Node by node on every core.
    let nodes: Vec<&crate::snapshot::Node> = snap.nodes.values().collect();
    crate::par::map(&nodes, |node| {
        let scc = scc_files(snap, node);
        let host = Host {
            config: rke_config(snap, node),
            sysctls: sysctls(snap, node, &scc),
            accounts: Accounts {
                users: accounts_of(snap, node, &scc, PASSWD, users),
                groups: accounts_of(snap, node, &scc, GROUP, groups),
            },
            vip: vip(snap, node),
        };
        (node.name.clone(), host)
    })
    .into_iter()
    .collect()
}
