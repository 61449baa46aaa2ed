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
//!
//! How the limits apply (each message names the limit, its value and its flag):
//! - `max_entry_bytes`, `max_ratio`: loaded entries only, counted while inflating (headers are not
//!   trusted). The ratio is inflated bytes over packed bytes read (a zip entry's compressed size;
//!   for tar streams the packed bytes consumed meanwhile) and applies above 1 MiB inflated.
//! - `max_total_bytes`: the run-wide [`Budget`], charged per loaded entry.
//! - `max_entries`: per archive (central directory records, tar headers, directory entries);
//!   later entries are not read. `seen` is capped at the same number per input.
//! - `max_depth`: the input is depth 0, a node zip depth 1, its supportconfig `.txz` depth 2.
//! - `max_spill_bytes`: bytes of deflated nested zips held in anonymous temp files at once (a
//!   stored nested zip is read in place and spills nothing).
//! - The xz decoder's memory is capped at 96 MiB (`xz -9` needs 64 MiB).
//! - Scanned logs: streamed in 64 KiB reads with lines cut at 64 KiB, at most
//!   `max_scan_matches` kept (4 KiB each); not charged.
//! - Zip entries whose data overlap another wanted entry's are refused (overlap bombs).
//!
//! Copying readers (`harrow redact`) use [`walk_input`]: the same readers hand every entry, in
//! archive order, to a [`Visitor`] ([`Want::Stream`] files read whole and verified first).
//!
//! Modules: `detect` (magic bytes), `path` (normalisation, link resolution), `entry`
//! (per-input context: loading, scanning, issues), `zip` and `zipscan` (central directory and the
//! local-header fallback), `tar` (own streaming parser with bounded extension headers),
//! `nested` (archives inside archives), `dir` (directories).

mod ahead;
mod decode;
mod detect;
mod dir;
mod entry;
mod model;
mod nested;
mod path;
mod tar;
mod zip;
mod zipscan;

pub use model::*;

use std::fs::File;
use std::path::Path;

use entry::{Ctx, read_full};

/// Read one input (file or directory) with the given limits and selector.
///
/// Never panics and never fails as a whole: an input that cannot be read at all comes back with
/// `container: None` and an [`IssueKind::Unreadable`] issue.
///
/// Files: the container is detected by content. A zip is read through its central directory
/// (only wanted entries are inflated); a tar, tar.gz or tar.xz in one streaming pass. The input's
/// SHA-256 is computed by a second thread reading the file alongside.
///
/// Directories: logical paths are relative to the directory (its own name is not a component).
///
/// Links: a wanted link makes its in-tree target wanted too. In a zip or a directory that always
/// works (the directory is known first); in a one-pass tar a target that came *before* the link
/// and was not selected is not loaded and noted as [`IssueKind::LinkTargetNotLoaded`]: select
/// both the link and its target (e.g. `*token*`) to avoid that.
pub fn read_input(
    path: &Path,
    limits: &Limits,
    selector: &dyn Selector,
    budget: &Budget,
) -> InputTree {
    read_with(path, limits, selector, budget, None)
}

/// Read one input for a reader that copies it: every entry, in archive order, goes to
/// `visitor` (directories, links, nested archives between `enter` and `leave`, and the files
/// `selector` marks [`Want::Stream`], each read whole and verified before it is handed over),
/// with the same path checks, limits and refusals as [`read_input`]. The returned tree holds the
/// issues (entries refused or unreadable, each naming input and entry) and what `selector`
/// asked to load.
pub fn walk_input(
    path: &Path,
    limits: &Limits,
    selector: &dyn Selector,
    visitor: &mut dyn Visitor,
) -> InputTree {
    read_with(path, limits, selector, &Budget::new(), Some(visitor))
}

/// The container of an input, by content (a directory is [`Container::Directory`]); an error
/// (in words) when it cannot be opened or holds no archive.
pub fn detect_container(path: &Path) -> Result<Container, String> {
    let meta = std::fs::metadata(path).map_err(|e| format!("cannot open the input: {e}"))?;
    if meta.is_dir() {
        return Ok(Container::Directory);
    }
    let mut file = File::open(path).map_err(|e| format!("cannot open the input: {e}"))?;
    let mut head = vec![0u8; detect::PEEK];
    let got = read_full(&mut file, &mut head).map_err(|e| format!("cannot read the input: {e}"))?;
    head.truncate(got);
    detect::detect(&head)
        .ok_or_else(|| "not a zip, tar, tar.gz or tar.xz (by content) and not a directory".into())
}

fn read_with(
    path: &Path,
    limits: &Limits,
    selector: &dyn Selector,
    budget: &Budget,
    visitor: Option<&mut dyn Visitor>,
) -> InputTree {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string());
    let tree = InputTree {
        path: path.display().to_string(),
        name,
        ..InputTree::default()
    };
    let mut ctx = Ctx::new(tree, limits, selector, budget);
    if let Some(v) = visitor {
        let mut ctx = ctx.with_visitor(v);
        read_into(&mut ctx, path);
        return ctx.into_tree();
    }
    decode::reading(selector, |decoding| {
        ctx.decoding = decoding;
        read_into(&mut ctx, path);
        // Hang up, so the decoding threads finish.
        ctx.decoding = None;
        ctx.into_tree()
    })
}

/// Read the input at `path` into `ctx`'s tree.
fn read_into(ctx: &mut Ctx<'_>, path: &Path) {
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(e) => {
            ctx.issue(
                IssueKind::Unreadable,
                "",
                format!("cannot open the input: {e}"),
            );
            return;
        }
    };
    if meta.is_dir() {
        ctx.tree.container = Some(Container::Directory);
        dir::read_dir(ctx, path);
        return;
    }
    ctx.tree.size = meta.len();
    let mut file = match File::open(path) {
        Ok(f) => f,
        Err(e) => {
            ctx.issue(
                IssueKind::Unreadable,
                "",
                format!("cannot open the input: {e}"),
            );
            return;
        }
    };
    let mut head = vec![0u8; detect::PEEK];
    let got = match read_full(&mut file, &mut head) {
        Ok(n) => n,
        Err(e) => {
            ctx.issue(
                IssueKind::Unreadable,
                "",
                format!("cannot read the input: {e}"),
            );
            return;
        }
    };
    head.truncate(got);
    let Some(kind) = detect::detect(&head) else {
        ctx.issue(
            IssueKind::Unreadable,
            "",
            "not a zip, tar, tar.gz or tar.xz (by content) and not a directory",
        );
        return;
    };
    ctx.tree.container = Some(kind);
    let hash_path = path.to_path_buf();
    let hasher = std::thread::Builder::new()
        .name("ingest-sha256".into())
        .spawn(move || dir::hash_file(&hash_path));
    match kind {
        Container::Zip => {
            let len = meta.len();
            let _ = zip::read_zip(ctx, &mut file, len, "", 0);
        }
        _ => {
            use std::io::{Read, Seek, SeekFrom};
            match file.seek(SeekFrom::Start(0)) {
                Ok(_) => {
                    let src = std::io::BufReader::with_capacity(256 << 10, file).take(u64::MAX);
                    let _ = nested::read_tar_family_ahead(ctx, kind, src);
                }
                Err(e) => ctx.issue(
                    IssueKind::Unreadable,
                    "",
                    format!("cannot read the input: {e}"),
                ),
            }
        }
    }
    match hasher.map(|h| h.join()) {
        Ok(Ok(Ok(digest))) => ctx.tree.sha256 = digest,
        Ok(Ok(Err(e))) => ctx.issue(
            IssueKind::Unreadable,
            "",
            format!("cannot hash the input: {e}"),
        ),
        _ => ctx.issue(IssueKind::Unreadable, "", "cannot hash the input"),
    }
}
