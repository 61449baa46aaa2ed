//! A streaming tar reader: one pass over the (possibly decompressed) stream, never seeking,
//! never unpacking. Understands ustar/POSIX prefixes, GNU long names and links (`L`/`K`) and PAX
//! headers (`path`, `linkpath`, `size`, `mtime`), with every extension header bounded in memory
//! (the `tar` crate buffers them whole, which a hostile stream turns into an allocation bomb).
//!
//! Entries: regular files go to the selector (load, scan, descend, or streamed past); symlinks
//! and hardlinks are recorded as links; directories and special files are only seen.

use std::collections::BTreeSet;
use std::io::{self, Read};

use super::entry::{Broken, Counter, Ctx, Packed, drain, error_kind, read_full};
use super::nested::{Nested, read_nested};
use super::{EntryMeta, IssueKind, Want};

/// Largest GNU long-name or PAX extension header kept in memory.
const MAX_EXTENSION: u64 = 1 << 20;

/// Overrides carried by extension headers to the next entry.
#[derive(Default)]
struct Pending {
    name: Option<Vec<u8>>,
    link: Option<Vec<u8>>,
    size: Option<u64>,
    mtime: Option<i64>,
}

/// Parse an octal or base-256 numeric header field.
fn number(field: &[u8]) -> Option<u64> {
    if let Some(&first) = field.first()
        && first & 0x80 != 0
    {
        if first == 0xff {
            return None; // negative
        }
        let mut v: u64 = u64::from(first & 0x7f);
        for &b in &field[1..] {
            v = v.checked_mul(256)?.checked_add(u64::from(b))?;
        }
        return Some(v);
    }
    let s: Vec<u8> = field
        .iter()
        .copied()
        .take_while(|&b| b != 0)
        .filter(|&b| b != b' ')
        .collect();
    if s.is_empty() {
        return Some(0);
    }
    let mut v: u64 = 0;
    for b in s {
        if !(b'0'..=b'7').contains(&b) {
            return None;
        }
        v = v.checked_mul(8)?.checked_add(u64::from(b - b'0'))?;
    }
    Some(v)
}

/// A NUL-terminated string field.
fn cstr(field: &[u8]) -> &[u8] {
    match memchr::memchr(0, field) {
        Some(i) => &field[..i],
        None => field,
    }
}

fn checksum_ok(h: &[u8; 512]) -> bool {
    let Some(want) = number(&h[148..156]) else {
        return false;
    };
    let mut sum: u64 = 0;
    for (i, &b) in h.iter().enumerate() {
        sum += if (148..156).contains(&i) {
            u64::from(b' ')
        } else {
            u64::from(b)
        };
    }
    sum == want
}

/// Parse PAX records (`<len> key=value\n`) into the pending overrides.
fn parse_pax(data: &[u8], p: &mut Pending) {
    let mut rest = data;
    while !rest.is_empty() {
        let Some(sp) = memchr::memchr(b' ', rest) else {
            return;
        };
        let Some(len) = std::str::from_utf8(&rest[..sp])
            .ok()
            .and_then(|s| s.parse::<usize>().ok())
        else {
            return;
        };
        if len <= sp + 1 || len > rest.len() {
            return;
        }
        let rec = &rest[sp + 1..len];
        let rec = rec.strip_suffix(b"\n").unwrap_or(rec);
        if let Some(eq) = memchr::memchr(b'=', rec) {
            let (k, v) = (&rec[..eq], &rec[eq + 1..]);
            match k {
                b"path" => p.name = Some(v.to_vec()),
                b"linkpath" => p.link = Some(v.to_vec()),
                b"size" => {
                    p.size = std::str::from_utf8(v).ok().and_then(|s| s.parse().ok());
                }
                b"mtime" => {
                    p.mtime = std::str::from_utf8(v)
                        .ok()
                        .and_then(|s| s.split('.').next())
                        .and_then(|s| s.parse().ok());
                }
                _ => {}
            }
        }
        rest = &rest[len..];
    }
}

/// Skip `n` bytes; an early end is an error.
fn skip(r: &mut dyn Read, n: u64) -> io::Result<()> {
    // Block padding (under 512 bytes, after every entry) is skipped without the bulk buffer.
    let got = if n < 512 {
        let mut pad = [0u8; 512];
        read_full(r, &mut pad[..n as usize])? as u64
    } else {
        drain(&mut r.take(n))?
    };
    if got < n {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            format!("stream ends {} bytes early", n - got),
        ));
    }
    Ok(())
}

fn padding(size: u64) -> u64 {
    (512 - size % 512) % 512
}

/// Read one tar stream. `prefix` is the enclosing logical path plus `!` (empty at top level);
/// `counter` counts packed bytes of the stream's source (for the ratio limit).
/// Returns `Err(Broken)` when the stream ended in error (already recorded).
pub(crate) fn read_tar(
    ctx: &mut Ctx<'_>,
    r: &mut dyn Read,
    counter: &Counter,
    prefix: &str,
    depth: u32,
) -> Result<(), Broken> {
    let mut tar = TarStream {
        prefix,
        depth,
        counter,
        last: String::from("(start of archive)"),
        passed: BTreeSet::new(),
    };
    let mut entries: u64 = 0;
    let mut pending = Pending::default();
    loop {
        let Some(header) = tar.next_header(ctx, r)? else {
            return Ok(());
        };
        entries += 1;
        if entries > ctx.limits.max_entries {
            tar.too_many_entries(ctx, &header);
            return Ok(());
        }
        let Some(hsize) = number(&header[124..136]) else {
            ctx.issue(
                IssueKind::Corrupt,
                &tar.after_last(),
                "unreadable size field in the next header; the rest of the archive is not read",
            );
            return Err(Broken);
        };
        let kind = header[156];
        if matches!(kind, b'L' | b'K' | b'x' | b'g') {
            pending = tar.extension(ctx, r, kind, hsize, pending)?;
            continue;
        }
        let entry = Entry::new(&header, std::mem::take(&mut pending), hsize);
        let mut data = r.take(entry.size);
        tar.body(ctx, &entry, &mut data)?;
        tar.finish(ctx, data, entry.size)?;
    }
}

/// One tar stream being read.
struct TarStream<'a> {
    /// The enclosing logical path plus `!`, empty at top level.
    prefix: &'a str,
    depth: u32,
    counter: &'a Counter,
    /// The last entry named: issues about what follows name it.
    last: String,
    /// Files passed over (not selected), for links to them that come later (at most 100,000).
    passed: BTreeSet<String>,
}

/// An entry's header fields, with the overrides of its extension headers applied.
struct Entry {
    kind: u8,
    size: u64,
    name: Vec<u8>,
    link: Vec<u8>,
    mode: Option<u32>,
    mtime: Option<i64>,
}

impl Entry {
    fn new(header: &[u8; 512], p: Pending, hsize: u64) -> Entry {
        let name = p.name.unwrap_or_else(|| {
            let name = cstr(&header[0..100]);
            let posix = &header[257..263] == b"ustar\0";
            let pre = cstr(&header[345..500]);
            if posix && !pre.is_empty() {
                let mut v = pre.to_vec();
                v.push(b'/');
                v.extend_from_slice(name);
                v
            } else {
                name.to_vec()
            }
        });
        Entry {
            kind: header[156],
            size: p.size.unwrap_or(hsize),
            name,
            link: p.link.unwrap_or_else(|| cstr(&header[157..257]).to_vec()),
            mode: number(&header[100..108]).map(|m| (m & 0o7777) as u32),
            mtime: p
                .mtime
                .or_else(|| number(&header[136..148]).and_then(|t| i64::try_from(t).ok())),
        }
    }
}

impl Entry {
    /// Mode bits and time, as a copying reader keeps them.
    fn meta(&self) -> EntryMeta {
        EntryMeta {
            mode: self.mode,
            mtime: self.mtime,
            stored: false,
        }
    }
}

impl Pending {
    /// These overrides with an extension header's `data` applied.
    fn with(mut self, kind: u8, data: &[u8]) -> Pending {
        match kind {
            b'L' => self.name = Some(cstr(data).to_vec()),
            b'K' => self.link = Some(cstr(data).to_vec()),
            _ => parse_pax(data, &mut self),
        }
        self
    }
}

impl TarStream<'_> {
    /// Where an issue about the stream after the last entry is recorded.
    fn after_last(&self) -> String {
        format!("{}{}", self.prefix, self.last)
    }

    /// The next header: `None` at the end of the archive (end of stream or a zero block).
    fn next_header(
        &self,
        ctx: &mut Ctx<'_>,
        r: &mut dyn Read,
    ) -> Result<Option<[u8; 512]>, Broken> {
        let mut header = [0u8; 512];
        let got = match read_full(r, &mut header) {
            Ok(n) => n,
            Err(e) => {
                ctx.issue(
                    error_kind(&e),
                    &self.after_last(),
                    format!("archive stream failed after this entry: {e}"),
                );
                return Err(Broken);
            }
        };
        if got == 0 {
            return Ok(None);
        }
        if got < 512 {
            ctx.issue(
                IssueKind::Truncated,
                &self.after_last(),
                "archive ends inside the header after this entry",
            );
            return Err(Broken);
        }
        if header.iter().all(|&b| b == 0) {
            return Ok(None);
        }
        if !checksum_ok(&header) {
            ctx.issue(
                IssueKind::Corrupt,
                &self.after_last(),
                "bad tar header checksum after this entry; the rest of the archive is not read",
            );
            return Err(Broken);
        }
        Ok(Some(header))
    }

    fn too_many_entries(&self, ctx: &mut Ctx<'_>, header: &[u8; 512]) {
        let name = String::from_utf8_lossy(cstr(&header[0..100])).into_owned();
        ctx.issue(
            IssueKind::TooManyEntries,
            &format!("{}{name}", self.prefix),
            format!(
                "refused: more than {} entries in this archive (--max-entries); this and later entries are not read",
                ctx.limits.max_entries
            ),
        );
    }

    /// Read an extension header (GNU long name or link, PAX) of `size` bytes: `pending` with it
    /// applied. Global PAX headers, and others over [`MAX_EXTENSION`] (noted), are skipped.
    fn extension(
        &self,
        ctx: &mut Ctx<'_>,
        r: &mut dyn Read,
        kind: u8,
        size: u64,
        pending: Pending,
    ) -> Result<Pending, Broken> {
        let res = if size > MAX_EXTENSION || kind == b'g' {
            if kind != b'g' {
                ctx.issue(
                    IssueKind::Corrupt,
                    &self.after_last(),
                    format!(
                        "an extension header of {size} bytes after this entry is over {MAX_EXTENSION} bytes and ignored"
                    ),
                );
            }
            skip(r, size.saturating_add(padding(size))).map(|()| pending)
        } else {
            read_extension(r, size).map(|data| pending.with(kind, &data))
        };
        res.map_err(|e| {
            ctx.issue(
                error_kind(&e),
                &self.after_last(),
                format!("archive stream failed after this entry: {e}"),
            );
            Broken
        })
    }

    /// An entry's body: a link is recorded, a file loaded, scanned, descended into or passed
    /// (whatever is left of `data` is drained by [`TarStream::finish`]).
    fn body(
        &mut self,
        ctx: &mut Ctx<'_>,
        entry: &Entry,
        data: &mut dyn Read,
    ) -> Result<(), Broken> {
        let Some(inner) = ctx
            .entry_name(self.prefix, &entry.name)
            .filter(|n| !n.is_empty())
        else {
            return Ok(());
        };
        let full = format!("{}{inner}", self.prefix);
        self.last = inner.clone();
        let file = matches!(entry.kind, b'0' | 0 | b'7');
        ctx.see(&full, file.then_some(entry.size));
        match entry.kind {
            b'1' | b'2' => {
                self.link(ctx, &inner, &full, entry);
                let target = String::from_utf8_lossy(&entry.link).into_owned();
                ctx.visit_link(&full, &target, entry.kind == b'1', entry.meta());
                Ok(())
            }
            b'0' | 0 | b'7' => self.file(ctx, &full, entry, data),
            b'5' => {
                ctx.see_dir(&full, entry.mode);
                ctx.visit_dir(&full, entry.meta());
                Ok(())
            }
            _ => Ok(()),
        }
    }

    /// Record a symlink (`2`) or hardlink (`1`); a wanted link whose target was already passed
    /// over is noted.
    fn link(&self, ctx: &mut Ctx<'_>, inner: &str, full: &str, entry: &Entry) {
        let target = String::from_utf8_lossy(&entry.link).into_owned();
        ctx.link(self.prefix, inner, &target, entry.kind == b'1');
        if let Some(resolved) = ctx.tree.links.get(full).and_then(|l| l.resolved.clone())
            && ctx.link_wanted.contains_key(&resolved)
        {
            // Chains: a wanted link pointing at this link wants its target too.
            ctx.propagate_link_wants();
            if self.passed.contains(&resolved) {
                ctx.issue(
                    IssueKind::LinkTargetNotLoaded,
                    full,
                    format!(
                        "its target `{resolved}` came earlier in the one-pass tar stream and was not selected, so it was not loaded"
                    ),
                );
            }
        }
    }

    /// A regular file, as the selector wants it.
    fn file(
        &mut self,
        ctx: &mut Ctx<'_>,
        full: &str,
        entry: &Entry,
        data: &mut dyn Read,
    ) -> Result<(), Broken> {
        match ctx.want(full) {
            Want::Skip => {
                if self.passed.len() < 100_000 {
                    self.passed.insert(full.to_string());
                }
                Ok(())
            }
            Want::Load => ctx.load(
                full,
                data,
                Packed::Counted(self.counter.clone(), self.counter.get()),
                entry.mode,
                entry.mtime,
            ),
            Want::Scan => ctx.scan(full, data),
            Want::Nested => read_nested(
                ctx,
                full,
                self.depth + 1,
                entry.meta(),
                Nested::Stream(data),
            ),
            Want::Stream => ctx.stream(
                full,
                data,
                Packed::Counted(self.counter.clone(), self.counter.get()),
                entry.meta(),
            ),
        }
    }

    /// Drain what is left of an entry's `data` and its block padding.
    fn finish(
        &self,
        ctx: &mut Ctx<'_>,
        mut data: io::Take<&mut (dyn Read + '_)>,
        size: u64,
    ) -> Result<(), Broken> {
        let rest = data.limit();
        let res = match drain(&mut data) {
            Ok(n) if n < rest => Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!("stream ends {} bytes before the end of the entry", rest - n),
            )),
            Ok(_) => skip(data.into_inner(), padding(size)),
            Err(e) => Err(e),
        };
        res.map_err(|e| {
            ctx.issue(
                error_kind(&e),
                &self.after_last(),
                format!("archive stream failed inside or after this entry: {e}"),
            );
            Broken
        })
    }
}

/// The body of a kept extension header and its block padding.
fn read_extension(r: &mut dyn Read, size: u64) -> io::Result<Vec<u8>> {
    let mut data = Vec::new();
    let n = r.take(size).read_to_end(&mut data)?;
    if (n as u64) < size {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "stream ends inside an extension header",
        ));
    }
    skip(r, padding(size))?;
    Ok(data)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers() {
        assert_eq!(number(b"0000644\0"), Some(0o644));
        assert_eq!(number(b"   12 \0"), Some(0o12));
        assert_eq!(number(b"\0\0\0"), Some(0));
        assert_eq!(number(b"0009"), None);
        assert_eq!(number(&[0x80, 0, 0, 1, 0]), Some(256));
        assert_eq!(number(&[0xff, 0xff]), None);
        assert_eq!(
            number(&[0x80, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]),
            None
        );
    }

    #[test]
    fn pax_records() {
        let mut p = Pending::default();
        parse_pax(b"19 path=a/b/c.yaml\n11 size=42\n999 bad", &mut p);
        assert_eq!(p.name.as_deref(), Some(&b"a/b/c.yaml"[..]));
        assert_eq!(p.size, Some(42));
    }
}
