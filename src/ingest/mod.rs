//! Safe, streaming readers for untrusted inputs: zip (zip64, data descriptors), zip nested in zip,
//! tar, tar.gz (multi-member), tar.xz, and plain directories.
//!
//! Nothing is extracted as files. The caller passes a [`Selector`] that says, per logical path,
//! whether an entry is loaded into memory ([`Want::Load`]), scanned line by line for needles
//! ([`Want::Scan`]), descended into as a nested archive ([`Want::Nested`]) or skipped
//! ([`Want::Skip`], never inflated and never charged against the limits).
//!
//! Logical paths: the path of an entry inside its input, normalised (no `.`/`..`, no leading `/`),
//! with nested archives joined by `!`:
//! `supportbundle_x/nodes/n1.zip!n1/configs/oem/90_custom.yaml`.
//! The provenance shown to users is `<input file name>!<logical path>`.
//!
//! Anything refused (traversal, limits, truncation, corrupt streams, links leaving the tree) becomes
//! an [`IngestIssue`] naming the input and the entry; the rest of the input is still read.

mod model;

pub use model::*;

use std::path::Path;

/// Read one input (file or directory) with the given limits and selector.
///
/// Never panics and never fails as a whole: an input that cannot be read at all comes back with
/// `container: None` and an [`IssueKind::Unreadable`] issue.
pub fn read_input(
    path: &Path,
    limits: &Limits,
    selector: &dyn Selector,
    budget: &Budget,
) -> InputTree {
    let _ = (limits, selector, budget);
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string());
    InputTree {
        path: path.display().to_string(),
        name,
        issues: vec![IngestIssue {
            kind: IssueKind::Unreadable,
            entry: String::new(),
            message: "readers not implemented yet".into(),
        }],
        ..InputTree::default()
    }
}
