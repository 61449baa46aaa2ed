//! Notes and remarks raised while building the snapshot: the bundle is incomplete
//! ([`NoteKind::Incomplete`]: generation errors, missing `nodes/`, empty node zips, truncated
//! logs, malformed files), entries were refused by the ingest limits or YAML budgets
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
            notes.push(note(
                NoteKind::Refused,
                title,
                format!("{place}: {}", issue.message),
                vec![(place, None)],
            ));
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
}
