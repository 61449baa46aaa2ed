//! HOST004: file modes of the credentials on a node, from the archive headers (a snapshot
//! directory's modes say how it was copied, not what the node has: not judged): private keys readable beyond their owner (not 0600 or
//! stricter), and `server/tls` open beyond its owner (not 0700).
//!
//! Modes come from the ingest ([`crate::ingest::VFile::mode`] for files,
//! [`crate::ingest::InputTree::dir_modes`] for directories); a file whose mode the input does not
//! state is not judged. Only the place and the mode are shown, never a key.

use std::collections::BTreeMap;

use super::rule::{Findings, Need, Rule, Verdict};
use super::{Context, Origin, Severity};
use crate::layout;
use crate::snapshot::{HostFile, Snapshot};

/// Private keys or `server/tls` open beyond their owner.
pub static HOST004: Rule = Rule {
    code: "HOST004",
    severity: Severity::Medium,
    title: "private keys or server/tls readable beyond their owner",
    source: "seeds/harvester-credentials.txt (HC)",
    needs: &[Need::NodeFiles],
    doc: r#"**What it reads.** The permission bits that the node snapshot's archive headers give for
every private key file of the rke2 layout
(`*.key` under `/var/lib/rancher/rke2/` and `/opt/rke2/`), and for the directory
`/var/lib/rancher/rke2/server/tls` of each server. A file or directory whose mode the input does
not state is not judged, nor are the modes of a snapshot given as a directory: they say how the
copy was made (`cp -r`, a checkout), not what the node has.

**What it reports.** One finding per node and directory holding private keys that grant any
permission to the group or to others (mode not 0600, or stricter such as 0400): each file with
its mode. One finding per server whose `server/tls` grants any permission to the group or to
others (not 0700).

**Why it matters.** The CA keys and the component keys in `server/tls` let their holder sign
certificates the whole cluster trusts or impersonate its components; rke2 writes them 0600 in a
0700 directory. Wider modes (after a restore from a backup, a copy with `cp -r`, or a custom CA
staged by hand) let any local account read them.

**Remediation.** `chmod 600` the key files and `chmod 700 /var/lib/rancher/rke2/server/tls` (as
root), then check how they became readable (a backup or restore procedure, a staging script).

**Not evaluable** when no node snapshot archive with key files and their modes is in the inputs
(support bundles carry no keys; directories are not judged).

**Source.** `seeds/harvester-credentials.txt` (credential files on the nodes); rules.md HOST004.
"#,
    evaluate: host004,
};

/// True for a private key file of the rke2 layout.
fn is_private_key(host_path: &str) -> bool {
    host_path.ends_with(".key")
        && (host_path.starts_with(layout::DATA_DIR)
            || host_path.starts_with(layout::CUSTOM_CA_STAGING_DIR))
}

/// The archive a host file comes from: a directory input's modes say how the copy was made
/// (`cp -r`, a git checkout), not what the node has, so they are not judged.
fn archive<'a>(snap: &'a Snapshot, hf: &HostFile) -> Option<&'a crate::ingest::InputTree> {
    snap.trees.get(hf.input).filter(|t| {
        !matches!(
            t.container,
            None | Some(crate::ingest::Container::Directory)
        )
    })
}

/// The mode the input states for the first readable copy of a host file, with its evidence.
fn file_mode(
    snap: &Snapshot,
    node: &str,
    host: &str,
    copies: &[HostFile],
) -> Option<(u32, Origin)> {
    copies.iter().find_map(|hf| {
        let tree = archive(snap, hf)?;
        let mode = tree.resolve(&hf.logical)?.mode?;
        Some((
            mode & 0o7777,
            Origin::new(tree.name.as_str(), &*hf.logical).on(node, host),
        ))
    })
}

/// The mode the input states for `server/tls` of a node, from the logical path of any file in it.
fn tls_dir_mode(snap: &Snapshot, node: &crate::snapshot::Node) -> Option<(u32, Origin)> {
    let dir = layout::SERVER_TLS_DIR.trim_end_matches('/');
    node.files
        .range::<str, _>((
            std::ops::Bound::Included(layout::SERVER_TLS_DIR),
            std::ops::Bound::Unbounded,
        ))
        .take_while(|(h, _)| h.starts_with(layout::SERVER_TLS_DIR))
        .flat_map(|(h, copies)| copies.iter().map(move |hf| (h, hf)))
        .find_map(|(h, hf)| {
            let tree = archive(snap, hf)?;
            let rest = &h[layout::SERVER_TLS_DIR.len()..];
            let logical = hf.logical.strip_suffix(rest)?.trim_end_matches('/');
            let mode = *tree.dir_modes.get(logical)?;
            Some((
                mode,
                Origin::new(tree.name.as_str(), logical).on(node.name.as_str(), dir),
            ))
        })
}

fn host004(cx: &Context, out: &mut Findings) -> Verdict {
    let snap = cx.snapshot;
    let mut keys_judged = 0usize;
    let mut dirs_judged = Vec::new();
    for node in snap.nodes.values() {
        // Keys open beyond their owner, grouped by directory.
        let mut open: BTreeMap<&str, Vec<(&str, u32, Origin)>> = BTreeMap::new();
        for (host, copies) in &node.files {
            if !is_private_key(host) {
                continue;
            }
            let Some((mode, origin)) = file_mode(snap, &node.name, host, copies) else {
                continue;
            };
            keys_judged += 1;
            if mode & 0o077 != 0 {
                let dir = host.rsplit_once('/').map_or("", |(d, _)| d);
                open.entry(dir).or_default().push((host, mode, origin));
            }
        }
        for (dir, list) in open {
            let files: Vec<String> = list
                .iter()
                .map(|(h, m, _)| format!("{} ({m:04o})", h.rsplit('/').next().unwrap_or(h)))
                .collect();
            out.add(
                Some(node.name.clone()),
                Some(format!("{dir}/*.key")),
                format!(
                    "{} private key file(s) in /{dir} on {} grant access beyond their owner (not 0600): {}",
                    list.len(),
                    node.name,
                    files.join(", ")
                ),
                list.into_iter().map(|(_, _, o)| o).collect(),
                format!("chmod 600 /{dir}/*.key as root, and find how the keys became readable (a backup restore, a copy, a staging script)"),
            );
        }
        if let Some((mode, origin)) = tls_dir_mode(snap, node) {
            dirs_judged.push(node.name.as_str());
            if mode & 0o077 != 0 {
                let dir = layout::SERVER_TLS_DIR.trim_end_matches('/');
                out.add(
                    Some(node.name.clone()),
                    Some(dir.to_string()),
                    format!(
                        "/{dir} on {} has mode {mode:04o}, not 0700: the group or others may list it and enter it",
                        node.name
                    ),
                    vec![origin],
                    format!("chmod 700 /{dir} as root"),
                );
            }
        }
    }
    if keys_judged == 0 && dirs_judged.is_empty() {
        return Verdict::not_evaluable(
            "no private key file or server/tls directory whose mode the inputs state (node snapshots carry them; support bundles do not)",
            Need::NodeFiles,
        );
    }
    let dirs = if dirs_judged.is_empty() {
        String::new()
    } else {
        format!(" and server/tls on {}", dirs_judged.join(","))
    };
    Verdict::judged(
        format!(
            "{} place(s) open beyond their owner among {keys_judged} private key file(s){dirs}",
            out.len()
        ),
        format!("{keys_judged} private key file(s) 0600 or stricter{dirs} 0700 or stricter"),
    )
}
