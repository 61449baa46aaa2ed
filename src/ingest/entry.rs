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
    Budget, Container, EntryMeta, IngestIssue, InputTree, IssueKind, LOG_HEAD_BYTES, Limits, Link,
    LogLine, ScannedLog, Selector, VFile, Visitor, Want, is_log_name,
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
/// Bytes of a streamed entry ([`Want::Stream`]) kept in memory before it spools to a temp file.
const SPOOL_IN_MEMORY: usize = 8 << 20;

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
    /// The copying reader's visitor ([`super::walk_input`]), if any.
    visitor: Option<&'a mut dyn Visitor>,
    /// Where the files the selector decodes go as they are loaded ([`super::decode`]).
    pub decoding: Option<std::sync::mpsc::SyncSender<super::decode::Job>>,
    /// Files handed to the decoding threads so far (their order).
    handed: u64,
    /// Loaded files in reading order, put into the tree's map at once by [`Ctx::into_tree`]:
    /// a map built in bulk has full nodes, one filled insert by insert has half-empty ones
    /// (23 MiB instead of 9 for 100,000 files).
    loaded: Vec<(Arc<str>, VFile)>,
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
            visitor: None,
            decoding: None,
            handed: 0,
            loaded: Vec::new(),
        }
    }

    /// The tree read, with every loaded file in [`InputTree::files`] (a path loaded twice keeps
    /// its last copy, as the archive's own readers do).
    pub fn into_tree(self) -> InputTree {
        let mut tree = self.tree;
        // Collecting sorts stably and keeps the last of equal keys (`extend` would insert one
        // by one).
        let earlier = std::mem::take(&mut tree.files);
        tree.files = earlier.into_iter().chain(self.loaded).collect();
        tree
    }

    /// This context handing every entry to `visitor` (directories, links, streamed files,
    /// nested archives).
    pub fn with_visitor(mut self, visitor: &'a mut dyn Visitor) -> Self {
        self.visitor = Some(visitor);
        self
    }

    /// A directory entry, for the visitor.
    pub fn visit_dir(&mut self, path: &str, meta: EntryMeta) {
        if let Some(v) = self.visitor.as_deref_mut() {
            v.dir(path, &meta);
        }
    }

    /// A link entry, for the visitor.
    pub fn visit_link(&mut self, path: &str, target: &str, hard: bool, meta: EntryMeta) {
        if let Some(v) = self.visitor.as_deref_mut() {
            v.link(path, target, hard, &meta);
        }
    }

    /// A nested archive of `kind` starts at `path`, for the visitor.
    pub fn enter(&mut self, path: &str, kind: Container, meta: EntryMeta) {
        if let Some(v) = self.visitor.as_deref_mut() {
            v.enter(path, kind, &meta);
        }
    }

    /// The nested archive at `path` ends, for the visitor.
    pub fn leave(&mut self, path: &str) {
        if let Some(v) = self.visitor.as_deref_mut() {
            v.leave(path);
        }
    }

    /// Read an entry whole for the visitor ([`Want::Stream`]): under the ratio limit and
    /// `max_spill_bytes` as its size limit, kept in memory up to 8 MiB and spooled to an
    /// anonymous temp file past that; handed over only when read to its verified end. A limit
    /// refuses the entry (issue, `Ok`); a stream error is recorded and returned as [`Broken`].
    pub fn stream(
        &mut self,
        path: &str,
        r: &mut dyn Read,
        packed: Packed,
        meta: EntryMeta,
    ) -> Result<(), Broken> {
        use std::io::{Seek, SeekFrom, Write};
        if self.visitor.is_none() {
            return Ok(());
        }
        let mut chunk = self.take_scratch();
        let mut spool = tempfile::spooled_tempfile(SPOOL_IN_MEMORY);
        let max = self.limits.max_spill_bytes;
        let mut total: u64 = 0;
        let outcome = loop {
            let n = match self.next_chunk(path, r, &mut chunk, total) {
                Ok(0) => break Ok(true),
                Ok(n) => n,
                Err(b) => break Err(b),
            };
            total += n as u64;
            if self.over_limits(path, total, &packed, (max, "--max-spill-bytes")) {
                break Ok(false);
            }
            if let Err(e) = spool.write_all(&chunk[..n]) {
                self.issue(
                    IssueKind::Unreadable,
                    path,
                    format!("cannot spool the entry to a temp file: {e}"),
                );
                break Ok(false);
            }
        };
        self.scratch = chunk;
        if !outcome? {
            return Ok(());
        }
        if let Err(e) = spool.seek(SeekFrom::Start(0)) {
            self.issue(
                IssueKind::Unreadable,
                path,
                format!("cannot read back the spooled entry: {e}"),
            );
            return Ok(());
        }
        if let Some(v) = self.visitor.as_deref_mut() {
            v.file(path, &meta, &mut spool, total);
        }
        Ok(())
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
        crate::progress::entry(size);
        if (self.tree.seen.len() as u64) < self.limits.max_entries {
            self.tree.seen.push(Arc::from(path));
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
        let data = self.hand_over(path, data);
        // The path was just seen (the readers see an entry, then load it): one allocation.
        let key = match self.tree.seen.last() {
            Some(p) if **p == *path => Arc::clone(p),
            _ => Arc::from(path),
        };
        self.loaded.push((
            key,
            VFile {
                data,
                mode,
                mtime,
                decoded: None,
            },
        ));
        Ok(())
    }

    /// Hand a loaded file the selector decodes to the decoding threads (the tree keeps an empty
    /// placeholder until they are done); other files, or all when no thread listens, keep their
    /// bytes.
    fn hand_over(&mut self, path: &str, data: Vec<u8>) -> Vec<u8> {
        let Some(tx) = &self.decoding else {
            return data;
        };
        if !self.selector.decodes(path) {
            return data;
        }
        self.handed += 1;
        match tx.send((self.handed, path.to_string(), data)) {
            Ok(()) => Vec::new(),
            Err(std::sync::mpsc::SendError((_, _, data))) => data,
        }
    }

    /// The next read of an entry into `chunk` (0 at its end); a failed read is recorded (after
    /// `so_far` bytes) and returned as [`Broken`].
    fn next_chunk(
        &mut self,
        path: &str,
        r: &mut dyn Read,
        chunk: &mut [u8],
        so_far: u64,
    ) -> Result<usize, Broken> {
        loop {
            match r.read(chunk) {
                Ok(n) => return Ok(n),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    self.issue(
                        error_kind(&e),
                        path,
                        format!("read failed after {so_far} bytes: {e}"),
                    );
                    return Err(Broken);
                }
            }
        }
    }

    /// Whether `total` inflated bytes of the entry at `path` pass the size limit `(max, flag)`
    /// or the ratio limit (recorded as an issue when they do).
    fn over_limits(&mut self, path: &str, total: u64, packed: &Packed, limit: (u64, &str)) -> bool {
        let (max, flag) = limit;
        let ratio = self.limits.max_ratio;
        if total > max {
            self.issue(
                IssueKind::EntryTooLarge,
                path,
                format!("refused: inflates past the entry limit of {max} bytes ({flag})"),
            );
            return true;
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
            return true;
        }
        false
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
        let mut data: Vec<u8> = Vec::new();
        loop {
            let n = match self.next_chunk(path, r, chunk, data.len() as u64)? {
                0 => break,
                n => n,
            };
            let total = data.len() as u64 + n as u64;
            if self.over_limits(path, total, packed, (max, "--max-entry-bytes")) {
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
            let Some(first_nl) = memchr::memchr(b'\n', buf) else {
                push_bounded(&mut carry, buf);
                continue;
            };
            // The line the previous chunk began.
            log.lines += 1;
            if carry.is_empty() {
                self.check_line(&mut log, &buf[..first_nl]);
            } else {
                push_bounded(&mut carry, &buf[..first_nl]);
                let line = std::mem::take(&mut carry);
                self.check_line(&mut log, &line);
            }
            // The whole lines after it, searched at once; the rest is carried.
            let last_nl = memchr::memrchr(b'\n', buf).unwrap_or(first_nl);
            if last_nl > first_nl {
                self.scan_lines(&mut log, &buf[first_nl + 1..=last_nl]);
            }
            push_bounded(&mut carry, &buf[last_nl + 1..]);
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

    /// Scans `region`, whole lines each ending in `\n`: every needle is searched over the whole
    /// region (a few passes of a vectorised search instead of one search per line and needle),
    /// and the lines holding a match are kept in order, once each.
    fn scan_lines(&self, log: &mut ScannedLog, region: &[u8]) {
        let before = log.lines;
        let mut hits: Vec<usize> = Vec::new();
        for f in &self.finders {
            hits.extend(f.find_iter(region));
        }
        hits.sort_unstable();
        let mut counted = 0; // bytes of `region` whose newlines are in `line_no`
        let mut line_no = before; // lines ended before `counted`
        let mut last_line_start = None;
        for pos in hits {
            let start = memchr::memrchr(b'\n', &region[..pos]).map_or(0, |i| i + 1);
            if last_line_start == Some(start) {
                continue;
            }
            last_line_start = Some(start);
            line_no += memchr::memchr_iter(b'\n', &region[counted..start]).count() as u64;
            counted = start;
            let end =
                start + memchr::memchr(b'\n', &region[start..]).unwrap_or(region.len() - start);
            let line = &region[start..end];
            log.lines = line_no + 1;
            self.keep_line(log, &line[..line.len().min(MAX_LINE)]);
        }
        log.lines = before + memchr::memchr_iter(b'\n', region).count() as u64;
    }

    fn check_line(&self, log: &mut ScannedLog, line: &[u8]) {
        if !self.finders.iter().any(|f| f.find(line).is_some()) {
            return;
        }
        self.keep_line(log, line);
    }

    /// Keeps a matching line (its number is `log.lines`), within the match limit.
    fn keep_line(&self, log: &mut ScannedLog, line: &[u8]) {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::{Budget, Limits, Selector, Want};

    struct Needles(&'static [&'static str]);
    impl Selector for Needles {
        fn want(&self, _: &str) -> Want {
            Want::Scan
        }
        fn needles(&self) -> &[&str] {
            self.0
        }
    }

    /// Hands out the bytes `step` at a time (cycling through odd sizes), as a slow stream does.
    struct Trickle<'a> {
        data: &'a [u8],
        steps: &'a [usize],
        i: usize,
    }
    impl Read for Trickle<'_> {
        fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
            let step = self.steps[self.i % self.steps.len()];
            self.i += 1;
            let n = step.min(out.len()).min(self.data.len());
            out[..n].copy_from_slice(&self.data[..n]);
            self.data = &self.data[n..];
            Ok(n)
        }
    }

    /// The lines of `text` holding a needle, numbered from 1, and the number of lines: the
    /// plain line-by-line reading the chunked scan must equal.
    fn reference(text: &[u8], needles: &[&str]) -> (Vec<(u64, String)>, u64) {
        let mut lines: Vec<&[u8]> = text.split(|b| *b == b'\n').collect();
        if text.ends_with(b"\n") || text.is_empty() {
            lines.pop();
        }
        let hits = lines
            .iter()
            .enumerate()
            .filter(|(_, l)| {
                needles
                    .iter()
                    .any(|n| memmem::find(l, n.as_bytes()).is_some())
            })
            .map(|(i, l)| {
                let l = l.strip_suffix(b"\r").unwrap_or(l);
                (i as u64 + 1, String::from_utf8_lossy(l).into_owned())
            })
            .collect();
        (hits, lines.len() as u64)
    }

    #[test]
    fn the_chunked_scan_keeps_exactly_the_lines_a_line_by_line_reading_keeps() {
        const NEEDLES: &[&str] = &["HARVESTER_DROP_", "token CA hash", "expire"];
        let limits = Limits::default();
        let budget = Budget::new();
        let sel = Needles(NEEDLES);
        // Lines of varied length, some with one needle, some with two, some at chunk edges.
        let mut seed = 7u64;
        let mut text = Vec::new();
        for i in 0..20_000u64 {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let len = (seed >> 33) % 300;
            let mut line = format!("{i} kernel: ").into_bytes();
            line.extend(std::iter::repeat_n(b'x', len as usize));
            match (seed >> 20) % 41 {
                0 => line.extend_from_slice(b" HARVESTER_DROP_IN=mgmt-br SYN"),
                1 => line.extend_from_slice(b" token CA hash does not match; will expire"),
                2 => line.extend_from_slice(b"\r"),
                _ => {}
            }
            text.extend_from_slice(&line);
            text.push(b'\n');
        }
        text.extend_from_slice(b"last line without newline, expire");
        for steps in [&[CHUNK][..], &[1, 7, 4096, 333][..], &[65_537, 13][..]] {
            let mut ctx = Ctx::new(InputTree::default(), &limits, &sel, &budget);
            let mut r = Trickle {
                data: &text,
                steps,
                i: 0,
            };
            ctx.scan("x.log", &mut r).unwrap();
            let log = &ctx.tree.logs["x.log"];
            let (want, lines) = reference(&text, NEEDLES);
            let got: Vec<(u64, String)> = log
                .matches
                .iter()
                .map(|m| (m.line, m.text.clone()))
                .collect();
            assert_eq!(log.lines, lines, "{steps:?}");
            assert_eq!(got.len(), want.len(), "{steps:?}");
            assert_eq!(got, want, "{steps:?}");
            assert_eq!(log.bytes, text.len() as u64);
        }
    }
}
