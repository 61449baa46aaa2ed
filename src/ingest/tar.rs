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
use super::{IssueKind, Want};

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
    let mut entries: u64 = 0;
    let mut last = String::from("(start of archive)");
    let mut pending = Pending::default();
    let mut header = [0u8; 512];
    let mut passed: BTreeSet<String> = BTreeSet::new();
    loop {
        let got = match read_full(r, &mut header) {
            Ok(n) => n,
            Err(e) => {
                ctx.issue(
                    error_kind(&e),
                    &format!("{prefix}{last}"),
                    format!("archive stream failed after this entry: {e}"),
                );
                break Err(Broken);
            }
        };
        if got == 0 {
            break Ok(());
        }
        if got < 512 {
            ctx.issue(
                IssueKind::Truncated,
                &format!("{prefix}{last}"),
                "archive ends inside the header after this entry",
            );
            break Err(Broken);
        }
        if header.iter().all(|&b| b == 0) {
            break Ok(());
        }
        if !checksum_ok(&header) {
            ctx.issue(
                IssueKind::Corrupt,
                &format!("{prefix}{last}"),
                "bad tar header checksum after this entry; the rest of the archive is not read",
            );
            break Err(Broken);
        }
        entries += 1;
        if entries > ctx.limits.max_entries {
            let name = String::from_utf8_lossy(cstr(&header[0..100])).into_owned();
            ctx.issue(
                IssueKind::TooManyEntries,
                &format!("{prefix}{name}"),
                format!(
                    "refused: more than {} entries in this archive (--max-entries); this and later entries are not read",
                    ctx.limits.max_entries
                ),
            );
            break Ok(());
        }
        let Some(hsize) = number(&header[124..136]) else {
            ctx.issue(
                IssueKind::Corrupt,
                &format!("{prefix}{last}"),
                "unreadable size field in the next header; the rest of the archive is not read",
            );
            break Err(Broken);
        };
        let kind = header[156];
        // Extension headers: bounded, applied to the next entry.
        if matches!(kind, b'L' | b'K' | b'x' | b'g') {
            let res = if hsize > MAX_EXTENSION || kind == b'g' {
                if kind != b'g' {
                    ctx.issue(
                        IssueKind::Corrupt,
                        &format!("{prefix}{last}"),
                        format!(
                            "an extension header of {hsize} bytes after this entry is over {MAX_EXTENSION} bytes and ignored"
                        ),
                    );
                }
                skip(r, hsize.saturating_add(padding(hsize)))
            } else {
                let mut data = Vec::new();
                match r.take(hsize).read_to_end(&mut data) {
                    Ok(n) if (n as u64) < hsize => Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "stream ends inside an extension header",
                    )),
                    Ok(_) => {
                        match kind {
                            b'L' => pending.name = Some(cstr(&data).to_vec()),
                            b'K' => pending.link = Some(cstr(&data).to_vec()),
                            _ => parse_pax(&data, &mut pending),
                        }
                        skip(r, padding(hsize))
                    }
                    Err(e) => Err(e),
                }
            };
            if let Err(e) = res {
                ctx.issue(
                    error_kind(&e),
                    &format!("{prefix}{last}"),
                    format!("archive stream failed after this entry: {e}"),
                );
                break Err(Broken);
            }
            continue;
        }
        let p = std::mem::take(&mut pending);
        let size = p.size.unwrap_or(hsize);
        let raw_name = match p.name {
            Some(n) => n,
            None => {
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
            }
        };
        let raw_link = p.link.unwrap_or_else(|| cstr(&header[157..257]).to_vec());
        let mode = number(&header[100..108]).map(|m| (m & 0o7777) as u32);
        let mtime = p
            .mtime
            .or_else(|| number(&header[136..148]).and_then(|t| i64::try_from(t).ok()));

        let name = ctx.entry_name(prefix, &raw_name);
        let mut data = r.take(size);
        let mut stream_ok = true;
        if let Some(inner) = name.filter(|n| !n.is_empty()) {
            let full = format!("{prefix}{inner}");
            last = inner.clone();
            ctx.see(&full);
            match kind {
                b'1' | b'2' => {
                    let target = String::from_utf8_lossy(&raw_link).into_owned();
                    ctx.link(prefix, &inner, &target, kind == b'1');
                    if let Some(resolved) =
                        ctx.tree.links.get(&full).and_then(|l| l.resolved.clone())
                        && ctx.link_wanted.contains_key(&resolved)
                    {
                        // Chains: a wanted link pointing at this link wants its target too.
                        ctx.propagate_link_wants();
                        if passed.contains(&resolved) {
                            ctx.issue(
                                IssueKind::LinkTargetNotLoaded,
                                &full,
                                format!(
                                    "its target `{resolved}` came earlier in the one-pass tar stream and was not selected, so it was not loaded"
                                ),
                            );
                        }
                    }
                }
                b'0' | 0 | b'7' => {
                    let want = ctx.want(&full);
                    let res = match want {
                        Want::Skip => {
                            if passed.len() < 100_000 {
                                passed.insert(full.clone());
                            }
                            Ok(())
                        }
                        Want::Load => ctx.load(
                            &full,
                            &mut data,
                            Packed::Counted(counter.clone(), counter.get()),
                            mode,
                            mtime,
                        ),
                        Want::Scan => ctx.scan(&full, &mut data),
                        Want::Nested => super::nested::read_nested(
                            ctx,
                            &full,
                            depth + 1,
                            super::nested::Nested::Stream(&mut data),
                        ),
                    };
                    if res.is_err() {
                        stream_ok = false;
                    }
                }
                _ => {}
            }
        }
        if !stream_ok {
            break Err(Broken);
        }
        let rest = data.limit();
        let res = drain(&mut data).and_then(|n| {
            if n < rest {
                Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    format!("stream ends {} bytes before the end of the entry", rest - n),
                ))
            } else {
                skip(r, padding(size))
            }
        });
        if let Err(e) = res {
            ctx.issue(
                error_kind(&e),
                &format!("{prefix}{last}"),
                format!("archive stream failed inside or after this entry: {e}"),
            );
            break Err(Broken);
        }
    }
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
