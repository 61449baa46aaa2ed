//! Recognising what an input is by its content: a Harvester support bundle (a top folder with
//! `metadata.yaml`, or `yamls/` with `nodes/` or `bundleGenerationError.log`), a node snapshot
//! (host paths such as `var/lib/rancher/rke2/…` or `etc/rancher/rke2/…`, the
//! [`layout::HOST_ANCHORS`], under some prefix, or a root `snapshot.yaml`), or neither; and the
//! collection-time helpers that go with each.

use std::collections::BTreeSet;

use time::OffsetDateTime;

use crate::ingest::{InputTree, IssueKind};
use crate::layout;
use crate::timefmt::parse_rfc3339;

use super::selector::segments;

/// The shape of one input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Layout {
    /// A support bundle; `top` is its top folder as a logical path prefix (`supportbundle_x/`,
    /// or empty when the extracted folder itself was given).
    Bundle { top: String },
    /// A node snapshot; `prefix` is the logical path prefix before the host paths (`node1/`,
    /// or empty). `others` lists further prefixes that also hold host paths (ignored).
    NodeSnapshot { prefix: String, others: Vec<String> },
    /// Readable, but neither.
    Directory,
    /// Nothing could be read: the reason.
    Unreadable(String),
}

/// Every path an input knows of in its outermost archive part (before any `!`), possibly
/// repeated (the callers collect sets).
fn outer_paths(tree: &InputTree) -> Vec<&str> {
    let mut out = Vec::new();
    let all = tree
        .files
        .keys()
        .map(|k| &**k)
        .chain(tree.logs.keys().map(String::as_str))
        .chain(tree.links.keys().map(String::as_str))
        .chain(tree.seen.iter().map(|p| &**p));
    for p in all {
        let outer = p.split('!').next().unwrap_or(p);
        out.push(outer.trim_end_matches('/'));
    }
    out
}

/// [`segments`] into a buffer reused from path to path.
fn split_into<'a>(p: &'a str, into: &mut Vec<&'a str>) {
    into.clear();
    into.extend(p.split('/').filter(|s| !s.is_empty() && *s != "."));
}

/// Join segments into a prefix ending in `/` (empty for none).
fn prefix_of(segs: &[&str]) -> String {
    let mut s = segs.join("/");
    if !s.is_empty() {
        s.push('/');
    }
    s
}

/// Decide what `tree` is.
pub fn classify(tree: &InputTree) -> Layout {
    let paths = outer_paths(tree);
    if paths.is_empty() {
        let reason = tree
            .issues
            .iter()
            .find(|i| i.kind == IssueKind::Unreadable)
            .map(|i| i.message.clone());
        return match reason {
            Some(r) => Layout::Unreadable(r),
            None if tree.container.is_none() => Layout::Unreadable("no entries read".into()),
            None => Layout::Directory,
        };
    }

    // Bundle: metadata.yaml at depth ≤ 1, or yamls/{cluster,namespaced} with nodes/ or the
    // error log next to it. The shallowest top wins.
    let mut bundle_tops: BTreeSet<(usize, String)> = BTreeSet::new();
    let mut yaml_tops: BTreeSet<String> = BTreeSet::new();
    let mut node_tops: BTreeSet<String> = BTreeSet::new();
    let mut errlog_tops: BTreeSet<String> = BTreeSet::new();
    // One buffer of segments for every path (a node snapshot has 100,000).
    let mut segs: Vec<&str> = Vec::new();
    for p in &paths {
        // Only the first three segments matter here (and whether there are more).
        segs.clear();
        segs.extend(p.split('/').filter(|s| !s.is_empty() && *s != ".").take(3));
        let n = segs.len();
        if n == 0 {
            continue;
        }
        if n <= 2 && segs[n - 1] == "metadata.yaml" {
            bundle_tops.insert((n - 1, prefix_of(&segs[..n - 1])));
        }
        if n <= 2 && segs[n - 1] == "bundleGenerationError.log" {
            errlog_tops.insert(prefix_of(&segs[..n - 1]));
        }
        if let Some(i) = segs.iter().position(|s| *s == "yamls")
            && i <= 1
            && matches!(segs.get(i + 1), Some(&"cluster") | Some(&"namespaced"))
        {
            yaml_tops.insert(prefix_of(&segs[..i]));
        }
        if let Some(i) = segs.iter().position(|s| *s == "nodes")
            && i <= 1
        {
            node_tops.insert(prefix_of(&segs[..i]));
        }
    }
    for t in &yaml_tops {
        if node_tops.contains(t) || errlog_tops.contains(t) {
            bundle_tops.insert((t.matches('/').count(), t.clone()));
        }
    }
    if let Some((_, top)) = bundle_tops.into_iter().next() {
        return Layout::Bundle { top };
    }

    // Node snapshot: host anchors (or a root snapshot.yaml) under some prefix.
    let anchors: Vec<Vec<&str>> = layout::HOST_ANCHORS.iter().map(|a| segments(a)).collect();
    let mut prefixes: BTreeSet<(usize, String)> = BTreeSet::new();
    // The anchor prefix last recorded: a node snapshot's 100,000 paths share one, which is then
    // neither joined nor inserted again.
    let mut last: Vec<&str> = Vec::new();
    // The last match as text, prefix and anchor (`n1/var/lib/rancher/rke2/`): a path that
    // starts with it has the same first match (no anchor is more than one segment longer than
    // another, so no earlier one can start inside the prefix and end past the shared part) and
    // nothing to record.
    let lens = anchors.iter().map(Vec::len);
    let reuse = lens.clone().max().unwrap_or(0) <= lens.min().unwrap_or(0) + 1;
    let mut hit = String::new();
    for p in &paths {
        if reuse && !hit.is_empty() && p.starts_with(&hit) {
            continue;
        }
        split_into(p, &mut segs);
        for j in 0..segs.len() {
            if let Some(a) = anchors.iter().find(|a| segs[j..].starts_with(a)) {
                if last.as_slice() != &segs[..j] || prefixes.is_empty() {
                    prefixes.insert((j, prefix_of(&segs[..j])));
                    last = segs[..j].to_vec();
                }
                hit = prefix_of(&segs[..j + a.len()]);
                break;
            }
        }
        if segs.len() <= 3 && segs.last() == Some(&"snapshot.yaml") {
            let n = segs.len();
            prefixes.insert((n - 1, prefix_of(&segs[..n - 1])));
        }
    }
    let mut it = prefixes.into_iter().map(|(_, p)| p);
    if let Some(prefix) = it.next() {
        let others: Vec<String> = it.collect();
        return Layout::NodeSnapshot { prefix, others };
    }
    Layout::Directory
}

/// The collection time encoded in a bundle folder or file name:
/// `supportbundle_<id>_2022-03-22T23-49-32Z[.zip]` → 2022-03-22T23:49:32Z.
pub fn time_from_bundle_name(name: &str) -> Option<OffsetDateTime> {
    let name = name.trim_end_matches('/');
    let name = name.rsplit('/').next().unwrap_or(name);
    let name = name.strip_suffix(".zip").unwrap_or(name);
    let ts = name.rsplit('_').next()?;
    let (date, time) = ts.split_once('T')?;
    let time = time.replace('-', ":");
    parse_rfc3339(&format!("{date}T{time}"))
}

/// The file stem of an input name: `n1.tgz` → `n1`, `node1.tar.gz` → `node1`.
pub fn file_stem(name: &str) -> String {
    let base = name.trim_end_matches('/');
    let base = base.rsplit('/').next().unwrap_or(base);
    for ext in [
        ".tar.gz", ".tar.xz", ".tar.zst", ".tgz", ".txz", ".tar", ".zip", ".gz",
    ] {
        if let Some(s) = base.strip_suffix(ext)
            && !s.is_empty()
        {
            return s.to_string();
        }
    }
    base.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::{Container, IngestIssue, VFile};

    fn tree(paths: &[&str]) -> InputTree {
        let mut t = InputTree {
            name: "x".into(),
            container: Some(Container::Tar),
            ..InputTree::default()
        };
        for p in paths {
            t.files.insert(
                (*p).into(),
                VFile {
                    data: Vec::new(),
                    mode: None,
                    mtime: None,
                    decoded: None,
                },
            );
        }
        t
    }

    #[test]
    fn bundle_top_detected() {
        let t = tree(&["sb_x_2022-03-22T23-49-32Z/metadata.yaml"]);
        assert_eq!(
            classify(&t),
            Layout::Bundle {
                top: "sb_x_2022-03-22T23-49-32Z/".into()
            }
        );
        let t = tree(&["yamls/cluster/v1/nodes.yaml", "nodes/n1.zip"]);
        assert_eq!(classify(&t), Layout::Bundle { top: String::new() });
    }

    #[test]
    fn snapshot_prefix_detected() {
        for (paths, want) in [
            (vec!["var/lib/rancher/rke2/server/token"], ""),
            (vec!["./etc/rancher/rke2/config.yaml"], ""),
            (
                vec!["node1/var/lib/rancher/rke2/agent/client-kubelet.crt"],
                "node1/",
            ),
            (
                vec![
                    "host/root/etc/rancher/rke2/config.yaml",
                    "host/root/etc/passwd",
                ],
                "host/root/",
            ),
            (vec!["n2/snapshot.yaml", "n2/etc/passwd"], "n2/"),
        ] {
            match classify(&tree(&paths)) {
                Layout::NodeSnapshot { prefix, .. } => assert_eq!(prefix, want, "{paths:?}"),
                other => panic!("{paths:?}: {other:?}"),
            }
        }
    }

    #[test]
    fn neither_and_unreadable() {
        assert_eq!(classify(&tree(&["README.md"])), Layout::Directory);
        let t = InputTree {
            issues: vec![IngestIssue {
                kind: IssueKind::Unreadable,
                entry: String::new(),
                message: "not an archive".into(),
            }],
            ..InputTree::default()
        };
        assert_eq!(classify(&t), Layout::Unreadable("not an archive".into()));
    }

    #[test]
    fn names() {
        assert_eq!(
            time_from_bundle_name("supportbundle_9b6b_2022-03-22T23-49-32Z.zip")
                .map(crate::timefmt::rfc3339),
            Some("2022-03-22T23:49:32Z".into())
        );
        assert_eq!(time_from_bundle_name("custom-name"), None);
        assert_eq!(file_stem("n1.tgz"), "n1");
        assert_eq!(file_stem("/tmp/node1.tar.gz"), "node1");
        assert_eq!(file_stem("snapdir"), "snapdir");
    }
}
