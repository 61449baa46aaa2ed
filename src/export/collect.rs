//! `harrow collect`: the node-side writer of the air-gapped node snapshot (product.md, "Inputs"
//! 2): a tar.gz holding `snapshot.yaml`, the node's host files under their host paths and the
//! output of a few commands under `commands/`.
//!
//! Host files, read under a root (`/`, or a copy of a node's tree): `var/lib/rancher/rke2` without
//! the datastore (`server/db`), the binaries (`data`), containerd's content and images, and logs
//! over the log cap; `etc/rancher` (rke2, rancherd, node, agent), `oem`, `etc/passwd`,
//! `etc/group`, `etc/sysctl.conf`, `etc/sysctl.d`, `etc/hostname`, `etc/os-release`,
//! `etc/harvester-release.yaml` and the rke2 unit environment files. Symlinks are kept as links
//! (never followed), directories and files keep their modes (HOST004 reads them from the archive
//! headers), special files are left out. Every file goes through [`super::scrub`]: private keys
//! become `<name>.pub-fingerprint` (unless `include_private_keys`), token passwords and other
//! secrets their keyed fingerprints. Entries are written in path order.
//!
//! Commands (`iptables-save`, `iptables-legacy-save`, `ip6tables-save`, `sysctl -a`, `ip addr`,
//! `ps -eo lstart,cmd` filtered to rke2, `systemctl show rke2-server rke2-agent`, `rke2
//! --version`): run on this machine ([`Commands::Run`]), copied from canned outputs
//! ([`Commands::Canned`], for tests), or not at all. A command that cannot run leaves its error
//! in its `.txt` as a `#` line and collection goes on.

use std::collections::BTreeSet;
use std::fs::{self, File};
use std::io::{self, Read};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;

use time::OffsetDateTime;

use super::archive::{Kind, Writer};
use super::scrub::{Reason, Scrubber};
use crate::ingest::EntryMeta;
use crate::layout;
use crate::pki::secret::FingerprintKey;

/// Where command output comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Commands {
    /// Run each command on this machine.
    Run,
    /// Copy `<name>.txt` from this directory when it is there (tests).
    Canned(PathBuf),
    /// No command output at all.
    None,
}

/// What to collect and how.
#[derive(Debug, Clone)]
pub struct Options {
    /// The root the host paths are read under.
    pub root: PathBuf,
    /// The node's name (`None`: `etc/hostname` under the root, else `unknown`).
    pub node: Option<String>,
    /// The collection time written to `snapshot.yaml`.
    pub at: OffsetDateTime,
    /// Keep private keys as they are instead of their `.pub-fingerprint` files.
    pub include_private_keys: bool,
    pub commands: Commands,
    /// Logs bigger than this are left out (named in `snapshot.yaml`'s `skipped`).
    pub max_log_bytes: u64,
    /// Other files bigger than this are left out too.
    pub max_file_bytes: u64,
}

/// The commands and the `.txt` each writes.
pub const COMMANDS: [(&str, &[&str]); 7] = [
    ("iptables-save", &["iptables-save"]),
    ("iptables-legacy-save", &["iptables-legacy-save"]),
    ("ip6tables-save", &["ip6tables-save"]),
    ("sysctl-a", &["sysctl", "-a"]),
    ("ip-addr", &["ip", "addr"]),
    ("ps-rke2", &["ps", "-eo", "lstart,cmd"]),
    (
        "systemctl-show-rke2",
        &["systemctl", "show", "rke2-server", "rke2-agent"],
    ),
];

/// Single host files collected when present.
const HOST_FILES: [&str; 8] = [
    "etc/passwd",
    "etc/group",
    "etc/hostname",
    "etc/os-release",
    "etc/harvester-release.yaml",
    "etc/sysctl.conf",
    "etc/default",
    "etc/sysconfig",
];

/// Host trees collected recursively.
const HOST_TREES: [&str; 4] = ["var/lib/rancher/rke2", "etc/rancher", "oem", "etc/sysctl.d"];

/// Directories where rke2 unit environment files sit (only `rke2-*` files are taken).
const UNIT_DIRS: [&str; 3] = [
    "etc/systemd/system",
    "usr/local/lib/systemd/system",
    "usr/lib/systemd/system",
];

/// Trees of the data directory left out: the datastore, the binaries, containerd's content.
const EXCLUDED: [&str; 5] = [
    "var/lib/rancher/rke2/server/db",
    "var/lib/rancher/rke2/data",
    "var/lib/rancher/rke2/agent/containerd",
    "var/lib/rancher/rke2/agent/images",
    "var/lib/rancher/rke2/bin",
];

/// What a collection wrote.
#[derive(Debug, Default)]
pub struct Report {
    pub node: String,
    pub role: String,
    pub rke2_version: String,
    /// Host paths replaced: (path, replacement path if renamed, reason).
    pub replaced: Vec<(String, Option<String>, Reason)>,
    /// Host paths left out, and why.
    pub skipped: Vec<(String, String)>,
    /// Problems met (an unreadable file, a command that could not run), one sentence each.
    pub problems: Vec<String>,
    pub entries: u64,
}

/// One entry to write.
enum Item {
    Dir(EntryMeta),
    Link(String, EntryMeta),
    File(PathBuf, EntryMeta),
    Bytes(Vec<u8>, EntryMeta),
}

/// Collect the node under `opts.root` into `out` (a tar.gz).
pub fn collect(opts: &Options, key: FingerprintKey, out: File) -> io::Result<Report> {
    let scrubber = Scrubber::new(key, []).keep_private_keys(opts.include_private_keys);
    let mut report = Report::default();
    let mut items: Vec<(String, Item)> = Vec::new();
    let mut dirs: BTreeSet<String> = BTreeSet::new();
    for f in HOST_FILES {
        gather(opts, f, &mut items, &mut dirs, &mut report, false);
    }
    for t in HOST_TREES {
        gather(opts, t, &mut items, &mut dirs, &mut report, true);
    }
    for d in UNIT_DIRS {
        let Ok(rd) = fs::read_dir(opts.root.join(d)) else {
            continue;
        };
        let mut names: Vec<String> = rd
            .filter_map(Result::ok)
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with("rke2"))
            .collect();
        names.sort();
        for n in names {
            let host = format!("{d}/{n}");
            if layout::is_unit_env_file(&host) || n.ends_with(".service") {
                gather(opts, &host, &mut items, &mut dirs, &mut report, false);
            }
        }
    }
    report.role = role_guess(&opts.root);
    report.node = node_name(opts);
    report.rke2_version = rke2_version(opts, &mut items, &mut report);
    run_commands(opts, &scrubber, &mut items, &mut report);
    // Parent directories of everything collected, with their modes.
    let mut parents: BTreeSet<String> = BTreeSet::new();
    for (p, _) in &items {
        let mut cur = p.as_str();
        while let Some((dir, _)) = cur.rsplit_once('/') {
            parents.insert(dir.to_string());
            cur = dir;
        }
    }
    for d in parents.difference(&dirs) {
        let meta = fs::symlink_metadata(opts.root.join(d)).ok();
        let em = EntryMeta {
            mode: meta.as_ref().map(|m| m.permissions().mode() & 0o7777),
            mtime: meta.as_ref().map(MetadataExt::mtime),
            stored: false,
        };
        items.push((d.clone(), Item::Dir(em)));
    }
    items.sort_by(|a, b| a.0.cmp(&b.0));
    let mut w = Writer::new(Kind::TarGz, out)?;
    let mut body: Vec<(String, Item)> = Vec::new();
    for (path, item) in items {
        match item {
            Item::File(src, meta) => {
                let data = match read_capped(&src, opts.max_file_bytes) {
                    Ok(d) => d,
                    Err(e) => {
                        report.problems.push(format!("{path}: cannot read: {e}"));
                        continue;
                    }
                };
                let s = scrubber.scrub(&path, &data);
                let name = match &s.rename {
                    Some(new) => match path.rsplit_once('/') {
                        Some((dir, _)) => format!("{dir}/{new}"),
                        None => new.clone(),
                    },
                    None => path.clone(),
                };
                for r in &s.reasons {
                    report.replaced.push((
                        path.clone(),
                        s.rename.as_ref().map(|_| name.clone()),
                        *r,
                    ));
                }
                body.push((name, Item::Bytes(s.data, meta)));
            }
            other => body.push((path, other)),
        }
    }
    report.replaced.sort();
    report.replaced.dedup();
    let manifest = manifest(opts, &report);
    w.bytes(
        "snapshot.yaml",
        &EntryMeta {
            mode: Some(0o644),
            mtime: Some(opts.at.unix_timestamp()),
            stored: false,
        },
        manifest.as_bytes(),
    )?;
    report.entries += 1;
    for (name, item) in body {
        match item {
            Item::Dir(m) => w.dir(&name, &m)?,
            Item::Link(t, m) => w.link(&name, &t, false, &m)?,
            Item::Bytes(d, m) => w.bytes(&name, &m, &d)?,
            Item::File(..) => continue,
        }
        report.entries += 1;
    }
    w.finish()?;
    Ok(report)
}

/// Read a file of at most `max` bytes.
fn read_capped(p: &Path, max: u64) -> io::Result<Vec<u8>> {
    let f = File::open(p)?;
    let mut data = Vec::new();
    f.take(max.saturating_add(1)).read_to_end(&mut data)?;
    if data.len() as u64 > max {
        return Err(io::Error::other(format!("larger than {max} bytes")));
    }
    Ok(data)
}

/// Add the host path `rel` (a file, a link, or with `tree` a whole directory) to `items`.
fn gather(
    opts: &Options,
    rel: &str,
    items: &mut Vec<(String, Item)>,
    dirs: &mut BTreeSet<String>,
    report: &mut Report,
    tree: bool,
) {
    let path = opts.root.join(rel);
    let Ok(meta) = fs::symlink_metadata(&path) else {
        return;
    };
    if EXCLUDED.contains(&rel) {
        report.skipped.push((rel.to_string(), "excluded".into()));
        return;
    }
    let em = EntryMeta {
        mode: Some(meta.permissions().mode() & 0o7777),
        mtime: Some(meta.mtime()),
        stored: false,
    };
    let ft = meta.file_type();
    if ft.is_symlink() {
        if let Ok(t) = fs::read_link(&path) {
            items.push((
                rel.to_string(),
                Item::Link(t.to_string_lossy().into_owned(), em),
            ));
        }
    } else if ft.is_file() {
        let log = crate::ingest::is_log_name(rel);
        if log && meta.len() > opts.max_log_bytes {
            report.skipped.push((
                rel.to_string(),
                format!("log over {} bytes", opts.max_log_bytes),
            ));
        } else if meta.len() > opts.max_file_bytes {
            report.skipped.push((
                rel.to_string(),
                format!("over {} bytes", opts.max_file_bytes),
            ));
        } else {
            items.push((rel.to_string(), Item::File(path, em)));
        }
    } else if ft.is_dir() {
        if !tree && !rel.starts_with("etc/default") && !rel.starts_with("etc/sysconfig") {
            return;
        }
        dirs.insert(rel.to_string());
        items.push((rel.to_string(), Item::Dir(em)));
        let Ok(rd) = fs::read_dir(&path) else {
            report.problems.push(format!("{rel}: cannot list"));
            return;
        };
        let mut names: Vec<String> = rd
            .filter_map(Result::ok)
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        for n in names {
            let child = format!("{rel}/{n}");
            // `etc/default` and `etc/sysconfig`: only rke2's own files.
            if !tree && !n.starts_with("rke2") {
                continue;
            }
            gather(opts, &child, items, dirs, report, tree);
        }
    }
}

/// Server when the node has a `server/tls` tree, witness with the witness drop-in, else agent
/// when it has agent files.
fn role_guess(root: &Path) -> String {
    if root.join(layout::WITNESS_DROP_IN).exists() {
        "witness"
    } else if root.join(layout::SERVER_TLS_DIR).is_dir() {
        "server"
    } else if root.join(layout::AGENT_DIR).is_dir() {
        "agent"
    } else {
        "unknown"
    }
    .to_string()
}

fn node_name(opts: &Options) -> String {
    if let Some(n) = &opts.node {
        return n.clone();
    }
    fs::read_to_string(opts.root.join(layout::HOSTNAME))
        .ok()
        .and_then(|h| {
            h.lines()
                .map(str::trim)
                .find(|l| !l.is_empty() && !l.starts_with('#'))
                .map(str::to_string)
        })
        .unwrap_or_else(|| "unknown".into())
}

/// `rke2 --version` of the node's binary, when commands run and it is runnable; `unknown`
/// otherwise. Its output goes to `commands/rke2-version.txt`.
fn rke2_version(opts: &Options, items: &mut Vec<(String, Item)>, report: &mut Report) -> String {
    let out = match &opts.commands {
        Commands::None => return "unknown".into(),
        Commands::Canned(dir) => fs::read(dir.join("rke2-version.txt")).ok(),
        Commands::Run => ["usr/local/bin/rke2", "opt/rke2/bin/rke2", "usr/bin/rke2"]
            .iter()
            .map(|p| opts.root.join(p))
            .find(|p| p.is_file())
            .and_then(|bin| match Command::new(&bin).arg("--version").output() {
                Ok(o) if o.status.success() => Some(o.stdout),
                Ok(o) => {
                    report
                        .problems
                        .push(format!("rke2 --version exited with {}", o.status));
                    None
                }
                Err(e) => {
                    report.problems.push(format!("rke2 --version: {e}"));
                    None
                }
            }),
    };
    let Some(out) = out else {
        return "unknown".into();
    };
    let text = String::from_utf8_lossy(&out);
    let version = text
        .split_whitespace()
        .find(|w| w.starts_with('v') && w.contains("rke2"))
        .unwrap_or("unknown")
        .to_string();
    items.push((
        "commands/rke2-version.txt".into(),
        Item::Bytes(out, command_meta(opts)),
    ));
    version
}

fn command_meta(opts: &Options) -> EntryMeta {
    EntryMeta {
        mode: Some(0o644),
        mtime: Some(opts.at.unix_timestamp()),
        stored: false,
    }
}

/// Each command's output (or its error) as `commands/<name>.txt`, scrubbed.
fn run_commands(
    opts: &Options,
    scrubber: &Scrubber,
    items: &mut Vec<(String, Item)>,
    report: &mut Report,
) {
    for (name, argv) in COMMANDS {
        let out: Vec<u8> = match &opts.commands {
            Commands::None => continue,
            Commands::Canned(dir) => match fs::read(dir.join(format!("{name}.txt"))) {
                Ok(d) => d,
                Err(_) => continue,
            },
            Commands::Run => match Command::new(argv[0]).args(&argv[1..]).output() {
                Ok(o) if o.status.success() => o.stdout,
                Ok(o) => {
                    let msg = format!(
                        "# harrow collect: `{}` exited with {}: {}\n",
                        argv.join(" "),
                        o.status,
                        String::from_utf8_lossy(&o.stderr).trim()
                    );
                    report
                        .problems
                        .push(msg.trim_start_matches("# ").to_string());
                    let mut d = o.stdout;
                    d.extend_from_slice(msg.as_bytes());
                    d
                }
                Err(e) => {
                    let msg = format!(
                        "# harrow collect: `{}` could not run: {e}\n",
                        argv.join(" ")
                    );
                    report
                        .problems
                        .push(msg.trim_start_matches("# ").trim().to_string());
                    msg.into_bytes()
                }
            },
        };
        let out = if name == "ps-rke2" {
            keep_rke2_lines(&out)
        } else {
            out
        };
        let path = format!("commands/{name}.txt");
        let s = scrubber.scrub(&path, &out);
        for r in &s.reasons {
            report.replaced.push((path.clone(), None, *r));
        }
        items.push((path, Item::Bytes(s.data, command_meta(opts))));
    }
}

/// `ps` output: the header and the lines that mention rke2.
fn keep_rke2_lines(out: &[u8]) -> Vec<u8> {
    let text = String::from_utf8_lossy(out);
    let mut s = String::new();
    for (i, l) in text.lines().enumerate() {
        if i == 0 || l.contains("rke2") || l.starts_with('#') {
            s.push_str(l);
            s.push('\n');
        }
    }
    s.into_bytes()
}

/// `snapshot.yaml`: node, role, rke2 version, collection time, collector version, whether
/// private keys were kept, what was replaced and what was left out.
fn manifest(opts: &Options, r: &Report) -> String {
    let q = |s: &str| serde_json::Value::String(s.to_string()).to_string();
    let mut s = String::from("apiVersion: harrow/v1\nkind: NodeSnapshot\n");
    s.push_str(&format!("node: {}\n", q(&r.node)));
    s.push_str(&format!("role: {}\n", q(&r.role)));
    s.push_str(&format!("rke2_version: {}\n", q(&r.rke2_version)));
    s.push_str(&format!(
        "collected_at: {}\n",
        q(&crate::timefmt::rfc3339(opts.at))
    ));
    s.push_str(&format!(
        "collector_version: {}\n",
        q(&format!("harrow-collect {}", env!("CARGO_PKG_VERSION")))
    ));
    s.push_str(&format!(
        "include_private_keys: {}\n",
        opts.include_private_keys
    ));
    if r.replaced.is_empty() {
        s.push_str("replaced: []\n");
    } else {
        s.push_str("replaced:\n");
        for (path, with, reason) in &r.replaced {
            s.push_str(&format!("  - path: {}\n", q(path)));
            if let Some(w) = with {
                s.push_str(&format!("    with: {}\n", q(w)));
            }
            s.push_str(&format!("    reason: {}\n", reason.as_str()));
        }
    }
    if r.skipped.is_empty() {
        s.push_str("skipped: []\n");
    } else {
        s.push_str("skipped:\n");
        for (path, why) in &r.skipped {
            s.push_str(&format!("  - path: {}\n    reason: {}\n", q(path), q(why)));
        }
    }
    s
}
