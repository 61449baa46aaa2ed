//! Notes and remarks raised while building the snapshot: the bundle is incomplete
//! ([`NoteKind::Incomplete`]: generation errors, missing `nodes/`, empty node zips, truncated
//! logs — every log of a bundle, read or not, see [`truncated_log_notes`] — malformed files), entries were refused by the ingest limits or YAML budgets
//! ([`NoteKind::Refused`]), facts about the inputs themselves ([`NoteKind::InputFact`]:
//! collection times far apart, estimated times, unrecognised inputs). Every note carries its
//! evidence as [`Origin`]s; the rules of the registry judge them.

use std::collections::BTreeSet;

use crate::ingest::{InputTree, IssueKind};

use super::model::{Note, NoteKind, Origin};

/// Resources that can never be LISTed; their lines in `bundleGenerationError.log` are normal.
pub const NEVER_LISTABLE: &[&str] = &[
    "tokenreviews",
    "subjectaccessreviews",
    "selfsubjectaccessreviews",
    "selfsubjectrulesreviews",
    "selfsubjectreviews",
    "localsubjectaccessreviews",
    "bindings",
    "uploadtokenrequests",
    "tokenrequests",
    "eviction",
    "evictions",
];

/// A note with its evidence, given as provenance strings (`input!path`) and pointers.
pub fn note(
    kind: NoteKind,
    title: impl Into<String>,
    message: impl Into<String>,
    evidence: Vec<(String, Option<String>)>,
) -> Note {
    Note {
        kind,
        title: title.into(),
        message: message.into(),
        node: None,
        evidence: evidence
            .into_iter()
            .map(|(p, ptr)| Origin::from_provenance(&p, ptr))
            .collect(),
    }
}

/// The collector's cap on a unit log (`journalctl … | tail -c 10m`, reference
/// harvester-bundle.md §3): a log of exactly this many bytes was cut, its first line mid-line.
pub const UNIT_LOG_CAP: u64 = 10 * 1024 * 1024;

/// More truncated logs than this in one node zip (or among the pod logs) make one note.
pub const GROUP_OVER: usize = 3;

/// Why a log of a bundle is truncated, if it is. `host` is its path in the node zip
/// (`logs/rke2-server.log`) or in the bundle (`logs/<ns>/<pod>/<container>.log`).
///
/// Every log: its size (scanned, or as the archive states it for a skipped one) exactly the
/// collector's cap; a scanned log whose stream ended early. The first line tells more for a
/// scanned log: node unit logs are journal lines, and a capped one starts mid-line (said as
/// evidence; their size is the proof, since `tail -c` cuts only logs over the cap); pod logs
/// have no known byte cap, and one that does not start with its line's RFC 3339 timestamp was
/// cut at its beginning.
pub fn log_truncation(tree: &InputTree, host: &str, logical: &str) -> Option<String> {
    let scanned = tree.logs.get(logical);
    if scanned.is_some_and(|l| l.incomplete) {
        return Some(
            "the log stream ended early (truncated or corrupt); lines after the break are missing"
                .into(),
        );
    }
    let size = scanned
        .map(|l| l.bytes)
        .or_else(|| tree.log_sizes.get(logical).copied());
    let in_node_zip = logical.contains('!');
    if size == Some(UNIT_LOG_CAP) {
        let mid = match scanned {
            Some(l) if in_node_zip && starts_mid_journal_line(&l.head) == Some(true) => {
                " and its first line starts mid-line"
            }
            _ => "",
        };
        return Some(format!(
            "the log is exactly {UNIT_LOG_CAP} bytes (10 MiB), the collector's cap (`journalctl … | tail -c 10m`){mid}: older lines are missing"
        ));
    }
    let pod_log = !in_node_zip && host.starts_with("logs/");
    match scanned {
        Some(l) if pod_log && starts_mid_pod_line(&l.head) == Some(true) => Some(
            "the log starts mid-line (not with a timestamp): its beginning was cut, older lines are missing"
                .into(),
        ),
        _ => None,
    }
}

/// Whether a journal log (`journalctl -o short[-precise]`) starts mid-line: its lines start
/// with `Mmm dd hh:mm:ss` or are `-- ` markers (`-- Logs begin at …`, `-- Boot … --`). `None`
/// when the head is too short to tell.
pub fn starts_mid_journal_line(head: &str) -> Option<bool> {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    if head.is_empty() || head.starts_with("-- ") {
        return Some(false);
    }
    let b = head.as_bytes();
    if b.len() < 15 {
        return None;
    }
    let digits = |r: std::ops::Range<usize>| b[r].iter().all(|c| c.is_ascii_digit() || *c == b' ');
    let ok = MONTHS.iter().any(|m| head.starts_with(m))
        && b[3] == b' '
        && digits(4..6)
        && b[6] == b' '
        && digits(7..9)
        && b[9] == b':'
        && digits(10..12)
        && b[12] == b':'
        && digits(13..15);
    Some(!ok)
}

/// Whether a pod log (kubelet's, with timestamps) starts mid-line: its lines start with an
/// RFC 3339 timestamp (`2026-11-20T10:00:00.123456789Z`). `None` when the head is too short.
pub fn starts_mid_pod_line(head: &str) -> Option<bool> {
    let b = head.as_bytes();
    if b.is_empty() {
        return Some(false);
    }
    if b.len() < 11 {
        return None;
    }
    let d = |r: std::ops::Range<usize>| b[r].iter().all(u8::is_ascii_digit);
    let ok = d(0..4) && b[4] == b'-' && d(5..7) && b[7] == b'-' && d(8..10) && b[10] == b'T';
    Some(!ok)
}

/// BUNDLE002 notes on truncated logs, each `(host, logical)` judged by [`log_truncation`]: one
/// note per log, or, over [`GROUP_OVER`] of them, one note naming them all (per node zip, or
/// for the bundle's pod logs when `node` is `None`).
pub fn truncated_log_notes<'a>(
    tree: &InputTree,
    node: Option<&str>,
    logs: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> Vec<Note> {
    let found: Vec<(&str, &str, String)> = logs
        .into_iter()
        .filter_map(|(host, logical)| {
            log_truncation(tree, host, logical).map(|why| (host, logical, why))
        })
        .collect();
    let on = node.map(|n| format!(" on {n}")).unwrap_or_default();
    let with_node = |n: Note| Note {
        node: node.map(str::to_string),
        ..n
    };
    if found.len() > GROUP_OVER {
        let list: Vec<String> = found
            .iter()
            .map(|(host, _, why)| format!("{host}: {why}"))
            .collect();
        let evidence = found
            .iter()
            .map(|(_, logical, _)| (tree.provenance(logical), None))
            .collect();
        return vec![with_node(note(
            NoteKind::Incomplete,
            format!("bundle incomplete: {} truncated logs{on}", found.len()),
            format!("{} truncated logs{on}: {}", found.len(), list.join("; ")),
            evidence,
        ))];
    }
    found
        .into_iter()
        .map(|(host, logical, why)| {
            with_node(note(
                NoteKind::Incomplete,
                format!("bundle incomplete: truncated log {host}{on}"),
                format!("{}: {why}", tree.provenance(logical)),
                vec![(tree.provenance(logical), None)],
            ))
        })
        .collect()
}

/// A file that could not be parsed (the bundle is incomplete), naming the file and the position.
pub fn malformed_note(
    tree: &InputTree,
    path: &str,
    what: &str,
    message: &str,
    pointer: Option<String>,
) -> Note {
    let at = pointer
        .as_deref()
        .map(|p| format!(" at {p}"))
        .unwrap_or_default();
    note(
        NoteKind::Incomplete,
        format!("malformed {what}: {}", short(path)),
        format!(
            "{}{at}: {message}; the file is ignored, the rest of the input still loads",
            tree.provenance(path)
        ),
        vec![(tree.provenance(path), pointer)],
    )
}

/// A file refused by a budget (YAML depth or aliases).
pub fn refusal_note(tree: &InputTree, path: &str, message: &str, pointer: Option<String>) -> Note {
    let at = pointer
        .as_deref()
        .map(|p| format!(" at {p}"))
        .unwrap_or_default();
    note(
        NoteKind::Refused,
        format!("entry refused: {}", short(path)),
        format!(
            "{}{at}: {message}; the entry was refused, the rest of the input still loads",
            tree.provenance(path)
        ),
        vec![(tree.provenance(path), pointer)],
    )
}

fn short(path: &str) -> &str {
    let last = path.rsplit('!').next().unwrap_or(path);
    last.rsplit('/').next().unwrap_or(last)
}

/// Notes and remarks from the ingest issues of one input: refusals are notes; links leaving the
/// tree and undecodable names are remarks only.
pub fn ingest_issue_notes(tree: &InputTree, notes: &mut Vec<Note>, remarks: &mut Vec<String>) {
    for issue in &tree.issues {
        let place = if issue.entry.is_empty() {
            tree.name.clone()
        } else {
            tree.provenance(&issue.entry)
        };
        if issue.kind.is_refusal() {
            let what = match issue.kind {
                IssueKind::UnsafePath => "unsafe path",
                IssueKind::EntryTooLarge => "entry too large",
                IssueKind::RatioExceeded => "compression ratio exceeded",
                IssueKind::TotalExceeded => "total size limit exceeded",
                IssueKind::TooManyEntries => "too many entries",
                IssueKind::TooDeep => "archives nested too deep",
                IssueKind::Truncated => "truncated",
                IssueKind::Corrupt => "corrupt",
                IssueKind::Unreadable => "input unreadable",
                IssueKind::NonUtf8Name
                | IssueKind::LinkOutsideTree
                | IssueKind::LinkTargetNotLoaded => "refused",
            };
            let title = if issue.entry.is_empty() {
                format!("{what}: {}", tree.name)
            } else {
                format!("entry refused ({what}): {}", short(&issue.entry))
            };
            // The ingest's message names the input and entry already; a message that does not
            // is given its place.
            let message = if issue.message.starts_with(&place) {
                issue.message.clone()
            } else {
                format!("{place}: {}", issue.message)
            };
            notes.push(note(NoteKind::Refused, title, message, vec![(place, None)]));
        } else {
            let reason = match issue.kind {
                IssueKind::LinkOutsideTree => format!(
                    "{place}: link leaves the archive's tree and was not followed ({}); normal in node snapshots",
                    issue.message
                ),
                IssueKind::LinkTargetNotLoaded => format!(
                    "{place}: link target not loaded ({}); the link's content is not evaluated",
                    issue.message
                ),
                _ => format!("{place}: {}", issue.message),
            };
            remarks.push(reason);
        }
    }
}

/// The bundle is incomplete, from `bundleGenerationError.log`: every line except resources that can never be
/// listed. One note per input, with the line numbers as pointers (first 20).
pub fn generation_error_note(tree: &InputTree, path: &str, data: &[u8]) -> Option<Note> {
    let text = String::from_utf8_lossy(data);
    let mut kept: Vec<(usize, String)> = Vec::new();
    let mut resources: BTreeSet<String> = BTreeSet::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || is_never_listable(line) {
            continue;
        }
        if let Some(r) = failed_resource(line) {
            resources.insert(r);
        }
        kept.push((i + 1, line.chars().take(300).collect()));
    }
    if kept.is_empty() {
        return None;
    }
    let mut message = format!(
        "{} line(s) in {} report data the collector could not gather",
        kept.len(),
        tree.provenance(path)
    );
    if !resources.is_empty() {
        let list: Vec<&str> = resources.iter().map(String::as_str).take(20).collect();
        message.push_str(&format!("; resources: {}", list.join(", ")));
    }
    if let Some((n, l)) = kept.first() {
        message.push_str(&format!("; first (line {n}): {l}"));
    }
    let evidence = kept
        .iter()
        .take(20)
        .map(|(n, _)| (tree.provenance(path), Some(format!("line {n}"))))
        .collect();
    Some(note(
        NoteKind::Incomplete,
        "bundle incomplete: collection errors",
        message,
        evidence,
    ))
}

/// The URL path of a `Failed to get <url>: …` line.
fn failed_url(line: &str) -> Option<&str> {
    let rest = line.strip_prefix("Failed to get ")?;
    let end = rest.find(": ").unwrap_or(rest.len());
    Some(rest[..end].trim())
}

fn failed_resource(line: &str) -> Option<String> {
    let url = failed_url(line)?;
    let url = url.split('?').next().unwrap_or(url);
    url.rsplit('/').next().map(str::to_string)
}

fn is_never_listable(line: &str) -> bool {
    match failed_resource(line) {
        Some(r) => NEVER_LISTABLE.contains(&r.as_str()),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_listable_lines_are_ignored() {
        let t = InputTree {
            name: "b.zip".into(),
            ..InputTree::default()
        };
        let log = b"Failed to get /apis/authentication.k8s.io/v1/tokenreviews: the server does not allow this method\n\
Failed to get /api/v1/namespaces/default/bindings: the server does not allow this method\n\
Failed to get /apis/upload.cdi.kubevirt.io/v1beta1/namespaces/x/uploadtokenrequests: no\n";
        assert_eq!(
            generation_error_note(&t, "sb/bundleGenerationError.log", log),
            None
        );
        let log2 = b"Failed to get /apis/authentication.k8s.io/v1/tokenreviews: no\n\
BUG: Support bundle: cannot get log for pod foo\n\
Failed to get /apis/longhorn.io/v1beta2/volumes: timeout\n";
        let n = generation_error_note(&t, "sb/bundleGenerationError.log", log2);
        let n = n.unwrap_or_else(|| panic!("no note"));
        assert_eq!(n.kind, NoteKind::Incomplete);
        assert_eq!(n.evidence.len(), 2);
        assert_eq!(
            n.evidence[0],
            Origin::new("b.zip", "sb/bundleGenerationError.log").at(Some("line 2".to_string()))
        );
        assert!(n.message.contains("volumes"), "{}", n.message);
    }

    #[test]
    fn journal_and_pod_log_line_starts() {
        assert_eq!(
            starts_mid_journal_line("-- Logs begin at Sun 2022-03-06"),
            Some(false)
        );
        assert_eq!(
            starts_mid_journal_line("Mar 22 22:07:48.123456 node1 rancher-system-agent[1]: x"),
            Some(false)
        );
        assert_eq!(
            starts_mid_journal_line("Mar  2 22:07:48 node1 kernel: x"),
            Some(false)
        );
        assert_eq!(
            starts_mid_journal_line("r 22 22:07:48 node1 rancher-system-agent[1]: x"),
            Some(true)
        );
        assert_eq!(starts_mid_journal_line(""), Some(false));
        assert_eq!(starts_mid_journal_line("Mar 22"), None);
        assert_eq!(
            starts_mid_pod_line("2022-03-06T22:51:46.883418515Z WARNING: x"),
            Some(false)
        );
        assert_eq!(
            starts_mid_pod_line("6:46.883418515Z WARNING: x"),
            Some(true)
        );
        assert_eq!(starts_mid_pod_line("2022"), None);
    }
}
