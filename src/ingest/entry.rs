//! The per-input reading context shared by every container reader: entry bookkeeping (`seen`,
//! issues naming the input and the entry), bounded loading with the byte, ratio and total limits
//! enforced while inflating, line-streaming of scanned logs, and link recording.

use std::collections::BTreeMap;
use std::io::{self, Read};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use memchr::memmem;

use super::path;
use super::{
    Budget, IngestIssue, InputTree, IssueKind, LOG_HEAD_BYTES, Limits, Link, LogLine, ScannedLog,
    Selector, VFile, Want, is_log_name,
};

/// Below this many inflated bytes the ratio limit does not apply (tiny files of spaces or
/// `items: []` compress far better than 200:1 and are harmless).
pub(crate) const RATIO_FLOOR: u64 = 1 << 20;
/// Longest line kept in the scan buffer; the rest of a longer line is streamed past.
pub(crate) const MAX_LINE: usize = 64 << 10;
/// Longest text kept per matched log line.
const MAX_MATCH_TEXT: usize = 4 << 10;
/// Read chunk size for loading and scanning.
const CHUNK: usize = 64 << 10;

/// Bytes read from the packed (compressed) source so far, shared with the reader that counts
/// (which may run on a read-ahead thread, see [`super::ahead`]).
#[derive(Debug, Clone, Default)]
pub(crate) struct Counter(Arc<AtomicU64>);

impl Counter {
    pub(crate) fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }

    fn add(&self, n: u64) {
        self.0.fetch_add(n, Ordering::Relaxed);
    }
}

/// A reader that counts the bytes pulled through it into a shared [`Counter`].
pub(crate) struct Counting<R> {
    pub inner: R,
    pub count: Counter,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.add(n as u64);
        Ok(n)
    }
}

/// How many packed bytes an entry took, for the ratio limit.
pub(crate) enum Packed {
    /// Known from the archive (a zip entry's compressed size: the window actually read).
    Known(u64),
    /// Measured: the packed-source counter and its value when the entry started.
    Counted(Counter, u64),
}

impl Packed {
    fn so_far(&self) -> u64 {
        match self {
            Packed::Known(n) => *n,
            Packed::Counted(c, start) => c.get().saturating_sub(*start),
        }
    }
}

/// The stream under an entry broke (truncated or corrupt); the issue is already recorded.
#[derive(Debug)]
pub(crate) struct Broken;

/// Classify an I/O error from a decoder or a short archive.
pub(crate) fn error_kind(e: &io::Error) -> IssueKind {
    match e.kind() {
        io::ErrorKind::UnexpectedEof => IssueKind::Truncated,
        _ => IssueKind::Corrupt,
    }
}

/// Reading state of one input.
pub(crate) struct Ctx<'a> {
    pub limits: &'a Limits,
    pub selector: &'a dyn Selector,
    pub budget: &'a Budget,
    pub tree: InputTree,
    /// Bytes currently spilled to anonymous temp files.
    pub spilled: u64,
    /// Link targets wanted because a wanted link points at them.
    pub link_wanted: BTreeMap<String, Want>,
    seen_capped: bool,
    finders: Vec<memmem::Finder<'static>>,
    /// Read buffer reused by every load and scan (a fresh zeroed 64 KiB per entry costs more
    /// than the entry itself when there are 100,000 small files).
    scratch: Vec<u8>,
}

impl<'a> Ctx<'a> {
    pub fn new(
        tree: InputTree,
        limits: &'a Limits,
        selector: &'a dyn Selector,
        budget: &'a Budget,
    ) -> Self {
        let finders = selector
            .needles()
            .iter()
            .filter(|n| !n.is_empty())
            .map(|n| memmem::Finder::new(n.as_bytes()).into_owned())
            .collect();
        Ctx {
            limits,
            selector,
            budget,
            tree,
            spilled: 0,
            link_wanted: BTreeMap::new(),
            seen_capped: false,
            finders,
            scratch: Vec::new(),
        }
    }

    /// What the analysis wants for a logical path (a wanted link's target counts as wanted).
    pub fn want(&self, path: &str) -> Want {
        match self.selector.want(path) {
            Want::Skip => self.link_wanted.get(path).copied().unwrap_or(Want::Skip),
            w => w,
        }
    }

    /// Record an issue naming the input and the entry.
    pub fn issue(&mut self, kind: IssueKind, entry: &str, what: impl std::fmt::Display) {
        let message = if entry.is_empty() {
            format!("{}: {}", self.tree.name, what)
        } else {
            format!("{}!{}: {}", self.tree.name, entry, what)
        };
        self.tree.issues.push(IngestIssue {
            kind,
            entry: entry.to_string(),
            message,
        });
    }

    /// Record the permission bits of a directory entry (within the cap of `seen`).
    pub fn see_dir(&mut self, path: &str, mode: Option<u32>) {
        if let Some(m) = mode
            && (self.tree.dir_modes.len() as u64) < self.limits.max_entries
        {
            let path = path.trim_end_matches('/');
            self.tree.dir_modes.insert(path.to_string(), m & 0o7777);
        }
    }

    /// Record an entry path in `seen` (capped at `max_entries`), and the size of a log-named
    /// entry in `log_sizes` when it is known.
    pub fn see(&mut self, path: &str, size: Option<u64>) {
        if (self.tree.seen.len() as u64) < self.limits.max_entries {
            self.tree.seen.push(path.to_string());
            if let Some(n) = size
                && is_log_name(path)
            {
                self.tree.log_sizes.insert(path.to_string(), n);
            }
        } else if !self.seen_capped {
            self.seen_capped = true;
        }
    }

    /// Decode and normalise a raw name; `None` (with an issue) when refused.
    /// `prefix` is the logical path of the enclosing archive plus `!` (empty at top level).
    pub fn entry_name(&mut self, prefix: &str, raw: &[u8]) -> Option<String> {
        let (name, lossy) = path::decode_name(raw);
        let name = name.into_owned();
        if lossy {
            self.issue(
                IssueKind::NonUtf8Name,
                &format!("{prefix}{name}"),
                "the entry name is not UTF-8; it was decoded lossily and still read",
            );
        }
        match path::normalise(&name) {
            Ok(p) => Some(p),
            Err(e) => {
                self.issue(
                    IssueKind::UnsafePath,
                    &format!("{prefix}{}", name.replace('\0', "\\0")),
                    format!("refused: {}", e.describe()),
                );
                None
            }
        }
    }

    /// Record a link. `inner` is the link's path inside its archive, `prefix` the enclosing
    /// archive's logical path plus `!`.
    pub fn link(&mut self, prefix: &str, inner: &str, target: &str, hard: bool) {
        let full = format!("{prefix}{inner}");
        let resolved = path::resolve_link(inner, target, hard).map(|p| format!("{prefix}{p}"));
        if resolved.is_none() {
            self.issue(
                IssueKind::LinkOutsideTree,
                &full,
                format!(
                    "{} to `{}` leaves the archive's tree (or is empty): noted, never followed",
                    if hard { "hardlink" } else { "symlink" },
                    target.replace('\0', "\\0")
                ),
            );
        }
        let want = self.want(&full);
        if let (Some(r), Want::Load | Want::Scan) = (&resolved, want) {
            self.link_wanted.entry(r.clone()).or_insert(want);
        }
        self.tree.links.insert(
            full.clone(),
            Link {
                path: full,
                target: target.to_string(),
                hard,
                resolved,
            },
        );
    }

    /// Propagate link wants through chains of links already recorded (at most 16 hops).
    pub fn propagate_link_wants(&mut self) {
        let starts: Vec<(String, Want)> = self
            .link_wanted
            .iter()
            .map(|(k, v)| (k.clone(), *v))
            .collect();
        for (mut p, w) in starts {
            for _ in 0..16 {
                match self.tree.links.get(&p).and_then(|l| l.resolved.clone()) {
                    Some(next) => {
                        self.link_wanted.entry(next.clone()).or_insert(w);
                        p = next;
                    }
                    None => break,
                }
            }
        }
    }

    /// Load an entry into memory, enforcing the entry-size, ratio and total limits while
    /// reading. A limit refuses the entry (issue) and returns `Ok`: the caller skips the rest.
    /// A stream error is recorded and returned as [`Broken`].
    pub fn load(
        &mut self,
        path: &str,
        r: &mut dyn Read,
        packed: Packed,
        mode: Option<u32>,
        mtime: Option<i64>,
    ) -> Result<(), Broken> {
        let mut chunk = self.take_scratch();
        let read = self.read_limited(path, r, &packed, &mut chunk);
        self.scratch = chunk;
        let Some(data) = read? else {
            return Ok(());
        };
        let len = data.len() as u64;
        if !self.budget.charge(len, self.limits.max_total_bytes) {
            self.issue(
                IssueKind::TotalExceeded,
                path,
                format!(
                    "refused: loading {len} more bytes passes the total limit of {} bytes (--max-total-bytes)",
                    self.limits.max_total_bytes
                ),
            );
            return Ok(());
        }
        self.tree.loaded_bytes += len;
        self.tree.files.insert(
            path.to_string(),
            VFile {
                path: path.to_string(),
                data,
                mode,
                mtime,
            },
        );
        Ok(())
    }

    /// The read buffer, allocated on first use.
    fn take_scratch(&mut self) -> Vec<u8> {
        let mut chunk = std::mem::take(&mut self.scratch);
        if chunk.len() < CHUNK {
            chunk = vec![0u8; CHUNK];
        }
        chunk
    }

    /// Read a whole entry through `chunk` under the entry-size and ratio limits: `None` when a
    /// limit refused it (the issue is recorded).
    fn read_limited(
        &mut self,
        path: &str,
        r: &mut dyn Read,
        packed: &Packed,
        chunk: &mut [u8],
    ) -> Result<Option<Vec<u8>>, Broken> {
        let max = self.limits.max_entry_bytes;
        let ratio = self.limits.max_ratio;
        let mut data: Vec<u8> = Vec::new();
        loop {
            let n = match r.read(chunk) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    self.issue(
                        error_kind(&e),
                        path,
                        format!("read failed after {} bytes: {e}", data.len()),
                    );
                    return Err(Broken);
                }
            };
            let total = data.len() as u64 + n as u64;
            if total > max {
                self.issue(
                    IssueKind::EntryTooLarge,
                    path,
                    format!(
                        "refused: inflates past the entry limit of {max} bytes (--max-entry-bytes)"
                    ),
                );
                return Ok(None);
            }
            let allowed = packed.so_far().saturating_mul(ratio).max(RATIO_FLOOR);
            if total > allowed {
                self.issue(
                    IssueKind::RatioExceeded,
                    path,
                    format!(
                        "refused: {total} bytes inflated from {} packed bytes passes the compression ratio limit of {ratio}:1 (--max-ratio)",
                        packed.so_far()
                    ),
                );
                return Ok(None);
            }
            data.extend_from_slice(&chunk[..n]);
        }
        Ok(Some(data))
    }

    /// Stream a log line by line, keeping the lines that contain a needle. Bounded memory:
    /// lines longer than [`MAX_LINE`] are cut. Not charged against the byte limits.
    pub fn scan(&mut self, path: &str, r: &mut dyn Read) -> Result<(), Broken> {
        let mut log = ScannedLog {
            path: path.to_string(),
            bytes: 0,
            lines: 0,
            matches: Vec::new(),
            matches_truncated: false,
            incomplete: false,
            head: String::new(),
        };
        let mut chunk = self.take_scratch();
        let mut carry: Vec<u8> = Vec::new();
        let mut result = Ok(());
        loop {
            let n = match r.read(&mut chunk) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    self.issue(
                        error_kind(&e),
                        path,
                        format!("log read failed after {} bytes: {e}", log.bytes),
                    );
                    log.incomplete = true;
                    result = Err(Broken);
                    break;
                }
            };
            let buf = &chunk[..n];
            if log.bytes == 0 {
                let first = &buf[..buf.len().min(LOG_HEAD_BYTES)];
                let first = memchr::memchr(b'\n', first).map_or(first, |i| &first[..i]);
                log.head = String::from_utf8_lossy(first).into_owned();
            }
            log.bytes += n as u64;
            let mut start = 0;
            while let Some(i) = memchr::memchr(b'\n', &buf[start..]) {
                let seg = &buf[start..start + i];
                log.lines += 1;
                if carry.is_empty() {
                    self.check_line(&mut log, seg);
                } else {
                    push_bounded(&mut carry, seg);
                    let line = std::mem::take(&mut carry);
                    self.check_line(&mut log, &line);
                }
                start += i + 1;
            }
            push_bounded(&mut carry, &buf[start..]);
        }
        if !carry.is_empty() {
            log.lines += 1;
            let line = std::mem::take(&mut carry);
            self.check_line(&mut log, &line);
        }
        self.tree.logs.insert(path.to_string(), log);
        self.scratch = chunk;
        result
    }

    fn check_line(&self, log: &mut ScannedLog, line: &[u8]) {
        if !self.finders.iter().any(|f| f.find(line).is_some()) {
            return;
        }
        if log.matches.len() >= self.limits.max_scan_matches {
            log.matches_truncated = true;
            return;
        }
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let cut = &line[..line.len().min(MAX_MATCH_TEXT)];
        let mut text = String::from_utf8_lossy(cut).into_owned();
        if text.len() > MAX_MATCH_TEXT {
            let mut end = MAX_MATCH_TEXT;
            while !text.is_char_boundary(end) {
                end -= 1;
            }
            text.truncate(end);
        }
        log.matches.push(LogLine {
            line: log.lines,
            text,
        });
    }
}

/// Append to a line buffer without passing [`MAX_LINE`].
fn push_bounded(carry: &mut Vec<u8>, seg: &[u8]) {
    let room = MAX_LINE.saturating_sub(carry.len());
    carry.extend_from_slice(&seg[..seg.len().min(room)]);
}

/// Read and discard everything left in `r` (in 32 KiB reads: decoders run faster on larger
/// output buffers than `io::copy`'s 8 KiB).
pub(crate) fn drain(r: &mut dyn Read) -> io::Result<u64> {
    let mut buf = [0u8; 32 << 10];
    let mut total: u64 = 0;
    loop {
        match r.read(&mut buf) {
            Ok(0) => return Ok(total),
            Ok(n) => total += n as u64,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

/// Read up to `buf.len()` bytes, stopping early only at end of stream.
pub(crate) fn read_full(r: &mut dyn Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        match r.read(&mut buf[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(got)
}
