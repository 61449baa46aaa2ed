//! The types the ingest stage hands to the snapshot stage: limits, the selector contract,
//! loaded files, scanned logs, links and issues.

use std::collections::BTreeMap;

/// Resource limits for one run. Every field has a flag on the command line.
///
/// Defaults are calibrated on real bundles: node logs compress 30-65:1, a ConfigMap list of
/// 1.7 MB and CRD dumps over 4 MiB are normal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Bytes inflated for one loaded (parsed) entry.
    pub max_entry_bytes: u64,
    /// Compression ratio (inflated / stored) allowed for one loaded entry.
    pub max_ratio: u64,
    /// Total inflated bytes of all loaded entries of one run.
    pub max_total_bytes: u64,
    /// Entries per archive (zip central directory records, tar headers, directory entries).
    pub max_entries: u64,
    /// Nesting depth of archives inside archives (the input itself is depth 0).
    pub max_depth: u32,
    /// Bytes a deflated nested zip may spill to its anonymous temp file.
    pub max_spill_bytes: u64,
    /// YAML nesting depth.
    pub max_yaml_depth: usize,
    /// YAML alias expansions.
    pub max_yaml_aliases: usize,
    /// Matched lines kept per scanned log.
    pub max_scan_matches: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_entry_bytes: 64 << 20,
            max_ratio: 200,
            max_total_bytes: 1 << 30,
            max_entries: 500_000,
            max_depth: 4,
            max_spill_bytes: 4 << 30,
            max_yaml_depth: 128,
            max_yaml_aliases: 1_000,
            max_scan_matches: 2_000,
        }
    }
}

/// What to do with one entry, decided by the analysis from its logical path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Want {
    /// Not needed: never inflated, never charged.
    Skip,
    /// Read into memory (charged against the limits) as a [`VFile`].
    Load,
    /// Streamed line by line; lines containing one of [`Selector::needles`] are kept as a
    /// [`ScannedLog`]. Never fully buffered, not charged against the byte limits.
    Scan,
    /// A nested archive (zip, tar, tar.gz, tar.xz; detected by content): descend into it.
    Nested,
    /// Read whole (under the ratio limit, and `max_spill_bytes` as the entry's size limit,
    /// spooled to an anonymous temp file past 8 MiB) and handed to the [`Visitor`] of
    /// [`super::walk_input`]; not charged against the total. Without a visitor: skipped.
    Stream,
}

/// What an archive says of one entry besides its name: mode bits, modification time, and for a
/// zip entry whether it was stored (not deflated).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EntryMeta {
    /// Permission bits (`0o7777` mask), when the archive or file system states them.
    pub mode: Option<u32>,
    /// Modification time (unix seconds), when known.
    pub mtime: Option<i64>,
    /// A zip entry stored without compression.
    pub stored: bool,
}

/// Every entry of an input in archive order, for a reader that copies it ([`super::walk_input`]):
/// directories, links, whole files ([`Want::Stream`]) and nested archives (between
/// [`Visitor::enter`] and [`Visitor::leave`]). Paths are logical paths (module docs), already
/// normalised and checked; an entry refused by a limit or unreadable is not handed over (it is an
/// issue of the returned [`InputTree`]).
pub trait Visitor {
    /// A directory entry.
    fn dir(&mut self, path: &str, meta: &EntryMeta);
    /// A symlink (or a hardlink, `hard`) and its target as stored.
    fn link(&mut self, path: &str, target: &str, hard: bool, meta: &EntryMeta);
    /// A file read whole and verified: `data` yields its `len` bytes.
    fn file(&mut self, path: &str, meta: &EntryMeta, data: &mut dyn std::io::Read, len: u64);
    /// A nested archive of this kind starts: the entries up to [`Visitor::leave`] are its own.
    fn enter(&mut self, path: &str, kind: Container, meta: &EntryMeta);
    /// The nested archive entered at `path` ends (also after an error inside it).
    fn leave(&mut self, path: &str);
}

/// The analysis' choice of entries. Implemented by the snapshot stage.
pub trait Selector: Sync {
    /// Decide for one entry. `path` is the full logical path (nested parts joined by `!`).
    fn want(&self, path: &str) -> Want;
    /// Substrings a scanned log line must contain to be kept.
    fn needles(&self) -> &[&str];
    /// Whether a loaded entry is decoded as it is read, on the input's decoding threads, and
    /// kept as what [`Selector::decoder`] makes of it instead of its bytes ([`VFile::decoded`]),
    /// unless the decoder says to keep them too. Default: none.
    fn decodes(&self, _path: &str) -> bool {
        false
    }
    /// A decoder for one decoding thread (its own state, such as a memo of what it has parsed);
    /// `None` when [`Selector::decodes`] is false for every path. The decoder returns `None` to
    /// keep the file's bytes after all.
    fn decoder(&self) -> Option<Box<dyn Decoder + '_>> {
        None
    }
}

/// What one decoding thread runs on each file [`Selector::decodes`] picks.
pub trait Decoder: Send {
    /// Decode the file at the logical `path`; `None` keeps its bytes instead.
    fn decode(&mut self, path: &str, data: &[u8]) -> Option<Decoded>;
}

/// What a [`Decoder`] made of a file, for the stage that knows its type (the certificate
/// inventory downcasts `value`), and whether the file's bytes are kept beside it (the decoder
/// saw something other readers read as bytes, such as a CA certificate). Compared by identity.
#[derive(Clone)]
pub struct Decoded {
    pub value: std::sync::Arc<dyn std::any::Any + Send + Sync>,
    pub keep_bytes: bool,
}

impl std::fmt::Debug for Decoded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Decoded(..)")
    }
}

impl PartialEq for Decoded {
    fn eq(&self, other: &Self) -> bool {
        std::sync::Arc::ptr_eq(&self.value, &other.value) && self.keep_bytes == other.keep_bytes
    }
}

impl Eq for Decoded {}

/// How an input is stored, detected by content (magic bytes), not only by extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Container {
    Zip,
    Tar,
    TarGz,
    TarXz,
    Directory,
}

/// A file read into memory (its logical path is its key in [`InputTree::files`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VFile {
    pub data: Vec<u8>,
    /// Unix mode bits from the archive header or file system, when known.
    pub mode: Option<u32>,
    /// Modification time (unix seconds), when known.
    pub mtime: Option<i64>,
    /// What the selector's decoder made of the file as it was read ([`Selector::decodes`]);
    /// `data` is then empty unless the decoder kept it ([`Decoded::keep_bytes`]); its length
    /// was charged against the limits all the same.
    pub decoded: Option<Decoded>,
}

/// One kept line of a scanned log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogLine {
    /// 1-based line number.
    pub line: u64,
    /// The line, lossily decoded, cut to 4 KiB.
    pub text: String,
}

/// A log streamed past, with the lines that matched a needle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScannedLog {
    pub path: String,
    pub bytes: u64,
    pub lines: u64,
    pub matches: Vec<LogLine>,
    /// True when more lines matched than [`Limits::max_scan_matches`].
    pub matches_truncated: bool,
    /// True when the stream ended in error (truncated or corrupt): what was read is kept.
    pub incomplete: bool,
    /// The start of the log's first line (at most [`LOG_HEAD_BYTES`] bytes, lossily decoded):
    /// enough to tell a log that starts mid-line.
    pub head: String,
}

/// Bytes of a scanned log's first line kept as [`ScannedLog::head`].
pub const LOG_HEAD_BYTES: usize = 64;

/// A symlink or hardlink recorded from an archive or directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    /// Logical path of the link itself.
    pub path: String,
    /// The target as stored in the archive.
    pub target: String,
    pub hard: bool,
    /// The logical path the target resolves to inside the archive's own tree, or `None` when it
    /// leaves the tree (never followed) or cannot be resolved.
    pub resolved: Option<String>,
}

/// Why an entry (or a whole input) was refused or only partly read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum IssueKind {
    /// `..` escaping the root, or a NUL / drive prefix in a name.
    UnsafePath,
    /// Inflated size above [`Limits::max_entry_bytes`].
    EntryTooLarge,
    /// Compression ratio above [`Limits::max_ratio`].
    RatioExceeded,
    /// Total loaded bytes above [`Limits::max_total_bytes`].
    TotalExceeded,
    /// More entries than [`Limits::max_entries`].
    TooManyEntries,
    /// Archive nested deeper than [`Limits::max_depth`].
    TooDeep,
    /// Archive or stream ends early.
    Truncated,
    /// Corrupt compressed data or archive structure.
    Corrupt,
    /// A name that is not UTF-8 (kept lossily, noted).
    NonUtf8Name,
    /// A link whose target leaves the archive's tree: noted, never followed. Not BUNDLE003.
    LinkOutsideTree,
    /// The input as a whole could not be opened or recognised.
    Unreadable,
    /// A wanted link whose target (inside the tree) could not be loaded: in a one-pass tar
    /// stream the target came before the link and was not selected. Noted, not BUNDLE003.
    LinkTargetNotLoaded,
}

impl IssueKind {
    /// True for issues that are BUNDLE003 (an entry refused as unsafe or over a limit).
    pub fn is_refusal(self) -> bool {
        !matches!(
            self,
            IssueKind::LinkOutsideTree | IssueKind::NonUtf8Name | IssueKind::LinkTargetNotLoaded
        )
    }
}

/// An entry refused or read only in part, naming the entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IngestIssue {
    pub kind: IssueKind,
    /// Logical path of the entry (empty for the input as a whole).
    pub entry: String,
    pub message: String,
}

/// Everything read from one input.
#[derive(Debug, Clone, Default)]
pub struct InputTree {
    /// The input path as the user gave it.
    pub path: String,
    /// The file name (or directory name) used in provenance strings.
    pub name: String,
    pub container: Option<Container>,
    /// SHA-256 of the input file (for a directory: of the sorted list of (path, sha256) pairs).
    pub sha256: String,
    pub size: u64,
    /// Loaded files by logical path (the path shared with the snapshot's host-file view and the
    /// certificates' locations).
    pub files: BTreeMap<std::sync::Arc<str>, VFile>,
    /// Scanned logs by logical path.
    pub logs: BTreeMap<String, ScannedLog>,
    /// Links by logical path.
    pub links: BTreeMap<String, Link>,
    /// Every entry's logical path seen (files, dirs, links), loaded or not, capped by the limits.
    /// Lets the analysis know a file exists without loading it.
    /// A loaded file's path is the same allocation as its key in `files`.
    pub seen: Vec<std::sync::Arc<str>>,
    /// The size of every log-named entry seen ([`is_log_name`]), loaded, scanned or skipped, as
    /// the archive header or the file system states it (capped with `seen`). Lets the analysis
    /// tell a log the collector cut at its size cap without reading it.
    pub log_sizes: BTreeMap<String, u64>,
    /// The permission bits of every directory entry whose mode the archive header or the file
    /// system states, by logical path without a trailing `/` (capped with `seen`): lets a rule
    /// judge a directory's mode (`server/tls` 0700) without any file in it.
    pub dir_modes: BTreeMap<String, u32>,
    pub issues: Vec<IngestIssue>,
    /// Bytes loaded (charged) from this input.
    pub loaded_bytes: u64,
}

impl InputTree {
    /// The provenance string of a logical path: `<input name>!<path>`.
    pub fn provenance(&self, path: &str) -> String {
        format!("{}!{}", self.name, path)
    }

    /// Look a file up by logical path, following recorded links virtually inside the tree
    /// (at most 16 hops). A link leaving the tree resolves to nothing.
    pub fn resolve(&self, path: &str) -> Option<&VFile> {
        let mut p = path.to_string();
        for _ in 0..16 {
            if let Some(f) = self.files.get(p.as_str()) {
                return Some(f);
            }
            match self.links.get(&p).and_then(|l| l.resolved.clone()) {
                Some(next) => p = next,
                None => return None,
            }
        }
        None
    }
}

/// True for a log file's name (the last segment of a logical path): `*.log` or a rotated
/// `*.log.<n>`.
pub fn is_log_name(path: &str) -> bool {
    let name = path.rsplit(['/', '!']).next().unwrap_or(path);
    match name.rsplit_once(".log") {
        Some((stem, rest)) => {
            !stem.is_empty()
                && (rest.is_empty()
                    || rest
                        .strip_prefix('.')
                        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit())))
        }
        None => false,
    }
}

/// The run-wide byte budget for loaded entries ([`Limits::max_total_bytes`]), shared by every
/// input of one run.
#[derive(Debug, Default)]
pub struct Budget {
    used: std::sync::atomic::AtomicU64,
}

impl Budget {
    pub fn new() -> Self {
        Budget::default()
    }

    /// Charge `n` bytes; false (and nothing charged) when that would pass `max`.
    pub fn charge(&self, n: u64, max: u64) -> bool {
        use std::sync::atomic::Ordering;
        let mut cur = self.used.load(Ordering::Relaxed);
        loop {
            let next = match cur.checked_add(n) {
                Some(v) if v <= max => v,
                _ => return false,
            };
            match self
                .used
                .compare_exchange(cur, next, Ordering::Relaxed, Ordering::Relaxed)
            {
                Ok(_) => return true,
                Err(seen) => cur = seen,
            }
        }
    }

    pub fn used(&self) -> u64 {
        self.used.load(std::sync::atomic::Ordering::Relaxed)
    }
}
