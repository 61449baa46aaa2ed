//! The fallback for zips without a readable central directory (cut short, or damaged): walk the
//! local headers from the start so the entries before the damage still load. Entries with data
//! descriptors are delimited by decoding their deflate stream to its end.

use std::io::{self, BufReader, Read, SeekFrom};

use flate2::Crc;
use flate2::bufread::DeflateDecoder;

use super::entry::{Broken, Ctx, error_kind, read_full};
use super::zip::{ReadSeek, Record, Window, dos_time, entry, locate, u16le, u32le, u64le};
use super::{IssueKind, Want};

/// Decode a deflate stream at `start` to its end: (packed bytes, inflated bytes, CRC-32).
fn measure(src: &mut dyn ReadSeek, start: u64, len: u64) -> io::Result<(u64, u64, u32)> {
    let window = Window::new(src, start, len.saturating_sub(start));
    let mut d = DeflateDecoder::new(BufReader::with_capacity(64 << 10, window));
    let mut crc = Crc::new();
    let mut buf = vec![0u8; 64 << 10];
    let mut out: u64 = 0;
    loop {
        let n = d.read(&mut buf)?;
        if n == 0 {
            break;
        }
        crc.update(&buf[..n]);
        out += n as u64;
    }
    Ok((d.total_in(), out, crc.sum()))
}

/// Walk local headers. `prefix` is the enclosing logical path plus `!`.
pub(crate) fn scan_local(
    ctx: &mut Ctx<'_>,
    src: &mut dyn ReadSeek,
    len: u64,
    prefix: &str,
    depth: u32,
) -> Result<(), Broken> {
    let mut pos: u64 = 0;
    let mut count: u64 = 0;
    let mut last = String::from("(start of archive)");
    loop {
        let mut lh = [0u8; 30];
        let got = match src
            .seek(SeekFrom::Start(pos))
            .and_then(|_| read_full(src, &mut lh))
        {
            Ok(n) => n,
            Err(e) => {
                ctx.issue(error_kind(&e), &format!("{prefix}{last}"), e);
                return Err(Broken);
            }
        };
        if got == 0 {
            return Ok(());
        }
        if lh.starts_with(b"PK\x01\x02") || lh.starts_with(b"PK\x05\x06") {
            return Ok(());
        }
        if got < 30 || !lh.starts_with(b"PK\x03\x04") {
            ctx.issue(
                if got < 30 { IssueKind::Truncated } else { IssueKind::Corrupt },
                &format!("{prefix}{last}"),
                format!("no readable local header at offset {pos} after this entry; the rest is not read"),
            );
            return Err(Broken);
        }
        let flags = u16le(&lh, 6);
        let method = u16le(&lh, 8);
        let name_len = u64::from(u16le(&lh, 26));
        let extra_len = u64::from(u16le(&lh, 28));
        let mut name = Vec::new();
        let mut extra = Vec::new();
        let ok = (&mut *src).take(name_len).read_to_end(&mut name).is_ok()
            && (&mut *src).take(extra_len).read_to_end(&mut extra).is_ok()
            && name.len() as u64 == name_len
            && extra.len() as u64 == extra_len;
        if !ok {
            ctx.issue(
                IssueKind::Truncated,
                &format!("{prefix}{last}"),
                "archive ends inside a local header after this entry",
            );
            return Err(Broken);
        }
        let mut rec = Record {
            name,
            flags,
            method,
            crc: u32le(&lh, 14),
            csize: u64::from(u32le(&lh, 18)),
            usize: u64::from(u32le(&lh, 22)),
            offset: pos,
            unix_mode: None,
            mtime: dos_time(u16le(&lh, 10), u16le(&lh, 12)),
        };
        // Zip64 sizes in the local extra field.
        let mut i = 0;
        while i + 4 <= extra.len() {
            let id = u16le(&extra, i);
            let l = usize::from(u16le(&extra, i + 2));
            if id == 1 && l >= 16 {
                rec.usize = u64le(&extra, i + 4);
                rec.csize = u64le(&extra, i + 12);
            }
            i += 4 + l;
        }
        let data_start = pos + 30 + name_len + extra_len;
        count += 1;
        if count > ctx.limits.max_entries {
            ctx.issue(
                IssueKind::TooManyEntries,
                &format!("{prefix}{}", String::from_utf8_lossy(&rec.name)),
                format!(
                    "refused: more than {} entries (--max-entries); this and later entries are not read",
                    ctx.limits.max_entries
                ),
            );
            return Ok(());
        }
        let shown = format!("{prefix}{}", String::from_utf8_lossy(&rec.name));
        let next = if flags & 8 != 0 {
            if method != 8 {
                ctx.issue(
                    IssueKind::Truncated,
                    &shown,
                    "a stored entry with a data descriptor cannot be delimited without the central directory; the rest is not read",
                );
                return Err(Broken);
            }
            let (packed, out, crc) = match measure(src, data_start, len) {
                Ok(m) => m,
                Err(e) => {
                    ctx.issue(error_kind(&e), &shown, format!("corrupt entry data: {e}"));
                    return Err(Broken);
                }
            };
            let end = data_start + packed;
            if end >= len {
                ctx.issue(
                    IssueKind::Truncated,
                    &shown,
                    "the archive ends inside this entry's data",
                );
                return Err(Broken);
            }
            rec.csize = packed;
            rec.usize = out;
            rec.crc = crc;
            // Skip the data descriptor: optional signature, CRC, 32- or 64-bit sizes.
            let mut dd = [0u8; 28];
            let n = src
                .seek(SeekFrom::Start(end))
                .and_then(|_| read_full(src, &mut dd))
                .unwrap_or(0);
            let mut q = if dd.starts_with(b"PK\x07\x08") { 4 } else { 0 };
            q += 4;
            let sig_at = |k: usize| dd.get(k..k + 2) == Some(b"PK");
            q += if sig_at(q + 8) || n < q + 16 { 8 } else { 16 };
            end + q as u64
        } else {
            if data_start.saturating_add(rec.csize) > len {
                ctx.issue(
                    IssueKind::Truncated,
                    &shown,
                    "the archive ends inside this entry's data",
                );
                return Err(Broken);
            }
            data_start + rec.csize
        };
        if let Some(inner) = ctx.entry_name(prefix, &rec.name)
            && !inner.is_empty()
        {
            let full = format!("{prefix}{inner}");
            last = inner.clone();
            let file = !rec.name.ends_with(b"/");
            ctx.see(&full, file.then_some(rec.usize));
            let want = ctx.want(&full);
            if rec.name.ends_with(b"/") {
                ctx.visit_dir(&full, rec.meta());
            } else if want != Want::Skip {
                match locate(src, len, 0, &rec) {
                    Ok(loc) => {
                        let _ = entry(ctx, src, &full, &rec, &loc, want, depth);
                    }
                    Err((kind, msg)) => ctx.issue(kind, &full, msg),
                }
            }
        }
        pos = next;
    }
}
