//! A zip reader for untrusted archives, driven by the central directory: zip64 records, data
//! descriptors (sizes come from the central directory), stored and deflated entries, unix
//! symlinks. Only entries the selector wants are inflated; nothing is allocated from a header
//! size. The central directory is streamed record by record and stops at `max_entries`.
//!
//! When there is no central directory (an archive cut short), the local headers are walked from
//! the start instead, so the entries before the cut still load.
//!
//! Nested zips are read in place through a [`Window`] when stored, or spilled to one anonymous
//! temp file (within `max_spill_bytes`) when deflated.

use std::io::{self, BufReader, Read, Seek, SeekFrom};

use flate2::Crc;
use flate2::read::DeflateDecoder;

use super::entry::{Broken, Counter, Counting, Ctx, Packed, error_kind, read_full};
use super::nested::Nested;
use super::{EntryMeta, IssueKind, Want};

/// Read + Seek as one object-safe trait.
pub(crate) trait ReadSeek: Read + Seek {}
impl<T: Read + Seek> ReadSeek for T {}

/// A read-only view of `len` bytes at `start` of an underlying reader.
pub(crate) struct Window<'a> {
    inner: &'a mut dyn ReadSeek,
    start: u64,
    len: u64,
    pos: u64,
}

impl<'a> Window<'a> {
    pub fn new(inner: &'a mut dyn ReadSeek, start: u64, len: u64) -> Self {
        Window {
            inner,
            start,
            len,
            pos: 0,
        }
    }
}

impl Read for Window<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let left = self.len.saturating_sub(self.pos);
        if left == 0 || buf.is_empty() {
            return Ok(0);
        }
        let want = buf.len().min(usize::try_from(left).unwrap_or(usize::MAX));
        let at = self.start.checked_add(self.pos).ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                "offset past the addressable range",
            )
        })?;
        self.inner.seek(SeekFrom::Start(at))?;
        let n = self.inner.read(&mut buf[..want])?;
        self.pos += n as u64;
        Ok(n)
    }
}

impl Seek for Window<'_> {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        let target = match to {
            SeekFrom::Start(n) => Some(n),
            SeekFrom::End(d) => self.len.checked_add_signed(d),
            SeekFrom::Current(d) => self.pos.checked_add_signed(d),
        };
        match target {
            Some(t) => {
                self.pos = t;
                Ok(t)
            }
            None => Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "seek before the start of the window",
            )),
        }
    }
}

pub(crate) fn u16le(b: &[u8], at: usize) -> u16 {
    match b.get(at..at + 2) {
        Some(s) => u16::from_le_bytes([s[0], s[1]]),
        None => 0,
    }
}

pub(crate) fn u32le(b: &[u8], at: usize) -> u32 {
    match b.get(at..at + 4) {
        Some(s) => u32::from_le_bytes([s[0], s[1], s[2], s[3]]),
        None => 0,
    }
}

pub(crate) fn u64le(b: &[u8], at: usize) -> u64 {
    match b.get(at..at + 8) {
        Some(s) => {
            let mut a = [0u8; 8];
            a.copy_from_slice(s);
            u64::from_le_bytes(a)
        }
        None => 0,
    }
}

/// One central directory record, as far as we need it.
#[derive(Debug, Clone)]
pub(crate) struct Record {
    pub name: Vec<u8>,
    pub flags: u16,
    pub method: u16,
    pub crc: u32,
    pub csize: u64,
    pub usize: u64,
    pub offset: u64,
    pub unix_mode: Option<u32>,
    pub mtime: Option<i64>,
}

impl Record {
    fn is_dir(&self) -> bool {
        self.name.ends_with(b"/")
    }
    fn is_symlink(&self) -> bool {
        self.unix_mode.is_some_and(|m| m & 0o170000 == 0o120000)
    }
    /// Mode bits, time and method, as a copying reader keeps them.
    pub(crate) fn meta(&self) -> EntryMeta {
        EntryMeta {
            mode: self.unix_mode.map(|m| m & 0o7777),
            mtime: self.mtime,
            stored: self.method == 0,
        }
    }
}

/// Convert an MS-DOS date and time to unix seconds (UTC assumed).
pub(crate) fn dos_time(date: u16, time: u16) -> Option<i64> {
    let year = i64::from((date >> 9) & 0x7f) + 1980;
    let month = i64::from((date >> 5) & 0x0f);
    let day = i64::from(date & 0x1f);
    if !(1..=12).contains(&month) || day == 0 {
        return None;
    }
    let (h, m, s) = (
        i64::from(time >> 11),
        i64::from((time >> 5) & 0x3f),
        i64::from(time & 0x1f) * 2,
    );
    // Days from civil (Howard Hinnant's algorithm).
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(days * 86_400 + h * 3600 + m * 60 + s)
}

/// Walk the extra fields: zip64 sizes/offset (0x0001) and the extended timestamp (0x5455).
fn apply_extra(extra: &[u8], rec: &mut Record, raw_usize: u32, raw_csize: u32, raw_off: u32) {
    let mut i = 0;
    while i + 4 <= extra.len() {
        let id = u16le(extra, i);
        let len = usize::from(u16le(extra, i + 2));
        let Some(data) = extra.get(i + 4..i + 4 + len) else {
            return;
        };
        match id {
            0x0001 => {
                let mut at = 0;
                if raw_usize == u32::MAX {
                    rec.usize = u64le(data, at);
                    at += 8;
                }
                if raw_csize == u32::MAX {
                    rec.csize = u64le(data, at);
                    at += 8;
                }
                if raw_off == u32::MAX {
                    rec.offset = u64le(data, at);
                }
            }
            0x5455 if data.first().is_some_and(|f| f & 1 != 0) && data.len() >= 5 => {
                rec.mtime = Some(i64::from(u32le(data, 1) as i32));
            }
            _ => {}
        }
        i += 4 + len;
    }
}

/// Where the central directory is.
struct Directory {
    /// Offset added to every stored offset (data prepended to the archive).
    base: u64,
    start: u64,
    size: u64,
    entries: u64,
}

/// Find the end-of-central-directory record (and its zip64 form).
fn find_directory(src: &mut dyn ReadSeek, len: u64) -> io::Result<Option<Directory>> {
    let tail_len = len.min(22 + 65_535);
    let tail_start = len - tail_len;
    src.seek(SeekFrom::Start(tail_start))?;
    let mut tail = Vec::new();
    src.take(tail_len).read_to_end(&mut tail)?;
    let Some(pos) = (0..tail.len().saturating_sub(21))
        .rev()
        .find(|&i| tail.get(i..i + 4) == Some(b"PK\x05\x06"))
    else {
        return Ok(None);
    };
    let eocd = &tail[pos..];
    let eocd_at = tail_start + pos as u64;
    let mut entries = u64::from(u16le(eocd, 10));
    let mut size = u64::from(u32le(eocd, 12));
    let mut offset = u64::from(u32le(eocd, 16));
    let mut end = eocd_at;
    // Zip64 locator just before the EOCD.
    if pos >= 20 && tail.get(pos - 20..pos - 16) == Some(b"PK\x06\x07") {
        let z64_at = u64le(&tail, pos - 20 + 8);
        if z64_at < eocd_at {
            src.seek(SeekFrom::Start(z64_at))?;
            let mut rec = [0u8; 56];
            if read_full(src, &mut rec)? == 56 && rec.starts_with(b"PK\x06\x06") {
                entries = u64le(&rec, 32);
                size = u64le(&rec, 40);
                offset = u64le(&rec, 48);
                end = z64_at;
            }
        }
    }
    let Some(actual) = end.checked_sub(size) else {
        return Ok(None);
    };
    let base = actual.saturating_sub(offset);
    // Data before the archive is a self-extractor's stub; a file that itself starts with a
    // local header has none, so this directory is a stored nested zip's and the outer archive
    // was cut short after it.
    if base > 0 {
        src.seek(SeekFrom::Start(0))?;
        let mut sig = [0u8; 4];
        if read_full(src, &mut sig)? == 4 && &sig == b"PK\x03\x04" {
            return Ok(None);
        }
    }
    Ok(Some(Directory {
        base,
        start: actual,
        size,
        entries,
    }))
}

/// Read one central directory record; `Ok(None)` at a non-record signature.
fn read_record(r: &mut dyn Read) -> io::Result<Option<Record>> {
    let mut h = [0u8; 46];
    let got = read_full(r, &mut h)?;
    if got < 46 || !h.starts_with(b"PK\x01\x02") {
        return Ok(None);
    }
    let made_by = u16le(&h, 4);
    let raw_csize = u32le(&h, 20);
    let raw_usize = u32le(&h, 24);
    let name_len = u64::from(u16le(&h, 28));
    let extra_len = u64::from(u16le(&h, 30));
    let comment_len = u64::from(u16le(&h, 32));
    let ext = u32le(&h, 38);
    let raw_off = u32le(&h, 42);
    let mut name = Vec::new();
    r.take(name_len).read_to_end(&mut name)?;
    let mut extra = Vec::new();
    r.take(extra_len).read_to_end(&mut extra)?;
    io::copy(&mut r.take(comment_len), &mut io::sink())?;
    if (name.len() as u64) < name_len || (extra.len() as u64) < extra_len {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "central directory ends inside a record",
        ));
    }
    let mode = ext >> 16;
    let mut rec = Record {
        name,
        flags: u16le(&h, 8),
        method: u16le(&h, 10),
        crc: u32le(&h, 16),
        csize: u64::from(raw_csize),
        usize: u64::from(raw_usize),
        offset: u64::from(raw_off),
        unix_mode: (made_by >> 8 == 3 && mode != 0).then_some(mode),
        mtime: dos_time(u16le(&h, 14), u16le(&h, 12)),
    };
    apply_extra(&extra, &mut rec, raw_usize, raw_csize, raw_off);
    Ok(Some(rec))
}

/// Verifies size and CRC-32 of an inflated entry at its end.
struct Verify<R> {
    inner: R,
    crc: Crc,
    read: u64,
    want_size: u64,
    want_crc: u32,
}

impl<R: Read> Read for Verify<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if n == 0 && !buf.is_empty() {
            if self.read < self.want_size {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    format!(
                        "entry data ends after {} of {} bytes",
                        self.read, self.want_size
                    ),
                ));
            }
            if self.read != self.want_size || self.crc.sum() != self.want_crc {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    "entry data does not match its size or CRC-32",
                ));
            }
            return Ok(0);
        }
        self.crc.update(&buf[..n]);
        self.read += n as u64;
        Ok(n)
    }
}

/// Where an entry's data is and how it is packed.
pub(crate) struct Located {
    pub data_start: u64,
    pub csize: u64,
    pub method: u16,
}

/// Find the data of a record through its local header.
pub(crate) fn locate(
    src: &mut dyn ReadSeek,
    len: u64,
    base: u64,
    rec: &Record,
) -> Result<Located, (IssueKind, String)> {
    let at = base.saturating_add(rec.offset);
    let mut lh = [0u8; 30];
    let ok = src
        .seek(SeekFrom::Start(at))
        .and_then(|_| read_full(src, &mut lh));
    match ok {
        Ok(30) if lh.starts_with(b"PK\x03\x04") => {}
        Ok(30) => {
            return Err((
                IssueKind::Corrupt,
                format!("no local header at offset {at}"),
            ));
        }
        Ok(_) => {
            return Err((
                IssueKind::Truncated,
                format!("archive ends before the local header at offset {at}"),
            ));
        }
        Err(e) => return Err((error_kind(&e), format!("cannot read the local header: {e}"))),
    }
    let data_start = at
        .saturating_add(30)
        .saturating_add(u64::from(u16le(&lh, 26)))
        .saturating_add(u64::from(u16le(&lh, 28)));
    if data_start.saturating_add(rec.csize) > len {
        return Err((
            IssueKind::Truncated,
            format!(
                "entry data ({} bytes at offset {data_start}) extends past the end of the archive ({len} bytes)",
                rec.csize
            ),
        ));
    }
    if rec.flags & 1 != 0 {
        return Err((
            IssueKind::Corrupt,
            "encrypted entries are not supported".into(),
        ));
    }
    if rec.method != 0 && rec.method != 8 {
        return Err((
            IssueKind::Corrupt,
            format!("compression method {} is not supported", rec.method),
        ));
    }
    Ok(Located {
        data_start,
        csize: rec.csize,
        method: rec.method,
    })
}

/// An inflating, verifying reader over an entry's data.
pub(crate) fn open<'s>(
    src: &'s mut dyn ReadSeek,
    loc: &Located,
    rec: &Record,
) -> Box<dyn Read + 's> {
    let window = Window::new(src, loc.data_start, loc.csize);
    let inner: Box<dyn Read + 's> = if loc.method == 8 {
        Box::new(DeflateDecoder::new(BufReader::with_capacity(
            64 << 10,
            window,
        )))
    } else {
        Box::new(BufReader::with_capacity(64 << 10, window))
    };
    Box::new(Verify {
        inner,
        crc: Crc::new(),
        read: 0,
        want_size: rec.usize,
        want_crc: rec.crc,
    })
}

/// Read a zip archive from `src` (`len` bytes). `prefix` is the enclosing logical path plus `!`
/// (empty at top level).
pub(crate) fn read_zip(
    ctx: &mut Ctx<'_>,
    src: &mut dyn ReadSeek,
    len: u64,
    prefix: &str,
    depth: u32,
) -> Result<(), Broken> {
    let Some(dir) = directory(ctx, src, len, prefix)? else {
        return super::zipscan::scan_local(ctx, src, len, prefix, depth);
    };
    let listed = list_records(ctx, src, len, &dir, prefix)?;
    if listed.count == 0 && dir.entries > 0 {
        ctx.issue(
            IssueKind::Corrupt,
            archive_at(prefix),
            format!(
                "the end record declares {} entries but no central directory record was found: walking the local headers instead",
                dir.entries
            ),
        );
        return super::zipscan::scan_local(ctx, src, len, prefix, depth);
    }
    let at = Archive {
        len,
        base: dir.base,
        prefix,
        depth,
    };
    record_links(ctx, src, &at, &listed.records);
    read_wanted(ctx, src, &at, &listed.records);
    Ok(())
}

/// The logical path of the archive whose entries are under `prefix` (empty at top level).
fn archive_at(prefix: &str) -> &str {
    prefix.trim_end_matches('!')
}

/// The central directory, or `None` (noted) when there is none and the local headers are to be
/// walked instead.
fn directory(
    ctx: &mut Ctx<'_>,
    src: &mut dyn ReadSeek,
    len: u64,
    prefix: &str,
) -> Result<Option<Directory>, Broken> {
    match find_directory(src, len) {
        Ok(Some(d)) => Ok(Some(d)),
        Ok(None) => {
            ctx.issue(
                IssueKind::Truncated,
                archive_at(prefix),
                "no zip central directory (archive cut short?): walking the local headers instead",
            );
            Ok(None)
        }
        Err(e) => {
            ctx.issue(
                error_kind(&e),
                archive_at(prefix),
                format!("cannot read the zip directory: {e}"),
            );
            Err(Broken)
        }
    }
}

/// The records of a central directory, by logical name.
struct Listed {
    /// The records with a usable name, in directory order.
    records: Vec<(String, Record)>,
    /// Records read (named or not), up to one over `max_entries`.
    count: u64,
}

/// Stream the central directory, at most `max_entries` records.
fn list_records(
    ctx: &mut Ctx<'_>,
    src: &mut dyn ReadSeek,
    len: u64,
    dir: &Directory,
    prefix: &str,
) -> Result<Listed, Broken> {
    let mut records: Vec<(String, Record)> = Vec::new();
    let mut count: u64 = 0;
    if src.seek(SeekFrom::Start(dir.start)).is_err() {
        ctx.issue(
            IssueKind::Corrupt,
            archive_at(prefix),
            "cannot seek to the central directory",
        );
        return Err(Broken);
    }
    let cd_len = dir.size.min(len.saturating_sub(dir.start));
    let mut cd = BufReader::with_capacity(64 << 10, Window::new(src, dir.start, cd_len));
    loop {
        let rec = match read_record(&mut cd) {
            Ok(Some(r)) => r,
            Ok(None) => break,
            Err(e) => {
                let at = records
                    .last()
                    .map(|(p, _)| p.clone())
                    .unwrap_or_else(|| archive_at(prefix).to_string());
                ctx.issue(
                    error_kind(&e),
                    &at,
                    format!("central directory unreadable after this entry: {e}"),
                );
                break;
            }
        };
        count += 1;
        if count > ctx.limits.max_entries {
            let name = String::from_utf8_lossy(&rec.name).into_owned();
            ctx.issue(
                IssueKind::TooManyEntries,
                &format!("{prefix}{name}"),
                format!(
                    "refused: the archive declares {} entries, more than {} (--max-entries); this and later entries are not read",
                    dir.entries, ctx.limits.max_entries
                ),
            );
            break;
        }
        if let Some(inner) = ctx.entry_name(prefix, &rec.name)
            && !inner.is_empty()
        {
            records.push((inner, rec));
        }
    }
    Ok(Listed { records, count })
}

/// The zip archive being read: its length, where its offsets start, its logical place.
struct Archive<'p> {
    len: u64,
    /// Offset added to every stored offset (data prepended to the archive).
    base: u64,
    prefix: &'p str,
    depth: u32,
}

/// Every entry seen; symlinks recorded with their targets (so links can make their targets
/// wanted before any file is read).
fn record_links(
    ctx: &mut Ctx<'_>,
    src: &mut dyn ReadSeek,
    at: &Archive<'_>,
    records: &[(String, Record)],
) {
    for (inner, rec) in records {
        let full = format!("{}{inner}", at.prefix);
        let file = !rec.is_dir() && !rec.is_symlink();
        ctx.see(&full, file.then_some(rec.usize));
        if rec.is_dir() {
            ctx.see_dir(&full, rec.unix_mode);
        }
        if rec.is_dir() || !rec.is_symlink() {
            continue;
        }
        if let Some(t) = link_target(ctx, src, at, &full, rec) {
            ctx.link(at.prefix, inner, &t, false);
        }
    }
    ctx.propagate_link_wants();
}

/// A symlink entry's target (its data, at most 4 KiB); `None` (noted) when unreadable.
fn link_target(
    ctx: &mut Ctx<'_>,
    src: &mut dyn ReadSeek,
    at: &Archive<'_>,
    full: &str,
    rec: &Record,
) -> Option<String> {
    let loc = match locate(src, at.len, at.base, rec) {
        Ok(loc) => loc,
        Err((kind, msg)) => {
            ctx.issue(kind, full, msg);
            return None;
        }
    };
    let mut r = open(src, &loc, rec);
    let mut t = Vec::new();
    match r.by_ref().take(4096).read_to_end(&mut t) {
        Ok(_) => Some(String::from_utf8_lossy(&t).into_owned()),
        Err(e) => {
            ctx.issue(error_kind(&e), full, format!("unreadable link target: {e}"));
            None
        }
    }
}

/// The wanted files, in archive order (sequential reads). Entries whose data overlap the
/// previous wanted entry's are refused (the overlapping-entry zip bomb makes thousands of
/// entries share one inflating kernel). Entries are independent: a broken one is recorded and
/// the next one is read.
fn read_wanted(
    ctx: &mut Ctx<'_>,
    src: &mut dyn ReadSeek,
    at: &Archive<'_>,
    records: &[(String, Record)],
) {
    let mut order: Vec<usize> = (0..records.len()).collect();
    order.sort_by_key(|&i| records[i].1.offset);
    // End of the data of the last wanted entry.
    let mut prev_end: u64 = 0;
    for i in order {
        let (inner, rec) = &records[i];
        if rec.is_dir() || rec.is_symlink() {
            visit_special(ctx, &format!("{}{inner}", at.prefix), rec);
            continue;
        }
        let full = format!("{}{inner}", at.prefix);
        let want = ctx.want(&full);
        if want == Want::Skip {
            continue;
        }
        let loc = match locate(src, at.len, at.base, rec) {
            Ok(l) => l,
            Err((kind, msg)) => {
                ctx.issue(kind, &full, msg);
                continue;
            }
        };
        if loc.data_start < prev_end {
            ctx.issue(
                IssueKind::Corrupt,
                &full,
                "refused: its data overlaps another entry's (an overlapping-entry zip bomb?)",
            );
            continue;
        }
        prev_end = loc.data_start.saturating_add(loc.csize);
        let _ = entry(ctx, src, &full, rec, &loc, want, at.depth);
    }
}

/// A directory or symlink entry, for a copying reader's visitor (in archive order).
fn visit_special(ctx: &mut Ctx<'_>, full: &str, rec: &Record) {
    if rec.is_dir() {
        ctx.visit_dir(full, rec.meta());
    } else if let Some(t) = ctx.tree.links.get(full).map(|l| l.target.clone()) {
        ctx.visit_link(full, &t, false, rec.meta());
    }
}

/// Handle one wanted entry of a zip whose data is located.
pub(crate) fn entry(
    ctx: &mut Ctx<'_>,
    src: &mut dyn ReadSeek,
    full: &str,
    rec: &Record,
    loc: &Located,
    want: Want,
    depth: u32,
) -> Result<(), Broken> {
    match want {
        Want::Skip => Ok(()),
        Want::Load => {
            let mut r = open(src, loc, rec);
            ctx.load(
                full,
                &mut r,
                Packed::Known(loc.csize),
                rec.unix_mode.map(|m| m & 0o7777),
                rec.mtime,
            )
        }
        Want::Scan => {
            let mut r = open(src, loc, rec);
            ctx.scan(full, &mut r)
        }
        Want::Nested => super::nested::read_nested(
            ctx,
            full,
            depth + 1,
            rec.meta(),
            Nested::ZipEntry { src, loc, rec },
        ),
        Want::Stream => {
            let mut r = open(src, loc, rec);
            ctx.stream(full, &mut r, Packed::Known(loc.csize), rec.meta())
        }
    }
}

/// Read a deflated or streamed zip: spill it to one anonymous temp file within
/// `max_spill_bytes`, then read it with random access. `head` was already read from `r`.
pub(crate) fn spill_and_read(
    ctx: &mut Ctx<'_>,
    full: &str,
    head: &[u8],
    r: &mut dyn Read,
    depth: u32,
) -> Result<(), Broken> {
    let allow = ctx.limits.max_spill_bytes.saturating_sub(ctx.spilled);
    let mut file = match tempfile::tempfile() {
        Ok(f) => f,
        Err(e) => {
            ctx.issue(
                IssueKind::Unreadable,
                full,
                format!("cannot create an anonymous temp file to read this nested zip: {e}"),
            );
            return Ok(());
        }
    };
    let mut src = io::Cursor::new(head).chain(r);
    let copied = io::copy(&mut (&mut src).take(allow.saturating_add(1)), &mut file);
    let n = match copied {
        Ok(n) => n,
        Err(e) => {
            ctx.issue(
                error_kind(&e),
                full,
                format!("nested zip unreadable while spilling: {e}"),
            );
            return Err(Broken);
        }
    };
    if n > allow {
        ctx.issue(
            IssueKind::EntryTooLarge,
            full,
            format!(
                "refused: the nested zip needs more than the {} bytes left of the spill limit of {} bytes (--max-spill-bytes)",
                allow, ctx.limits.max_spill_bytes
            ),
        );
        // The caller streams the rest past.
        return Ok(());
    }
    ctx.spilled += n;
    let res = read_zip(ctx, &mut file, n, &format!("{full}!"), depth);
    ctx.spilled -= n;
    res
}

/// A counter for packed bytes read through `r`.
pub(crate) fn counting<R: Read>(inner: R) -> (Counting<R>, Counter) {
    let count = Counter::default();
    (
        Counting {
            inner,
            count: count.clone(),
        },
        count,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dos_epoch() {
        // 1980-01-01 00:00:00
        assert_eq!(dos_time(0x21, 0), Some(315_532_800));
        assert_eq!(dos_time(0, 0), None);
    }
}
