//! Archives inside archives: [`read_nested`] is the one dispatch for a tar member, a zip entry or
//! a file of a directory selected as an archive. The container is detected from the first
//! bytes; a tar family stream is decoded on the fly, a zip is read in place when it can be and
//! otherwise spilled to an anonymous temp file (zips need random access).

use std::io::{self, Read};
use std::path::Path;

use flate2::read::MultiGzDecoder;

use super::IssueKind;
use super::detect::{PEEK, detect};
use super::dir::open_nofollow;
use super::entry::{Broken, Ctx, error_kind, read_full};
use super::tar::read_tar;
use super::zip::{Located, ReadSeek, Record, Window, counting, open, read_zip, spill_and_read};
use super::{Container, EntryMeta};

/// Memory limit of the xz decoder (dictionary and state), in KiB. `xz -9` needs 64 MiB.
pub(crate) const XZ_MEM_LIMIT_KB: u32 = 96 << 10;

/// The first bytes of a nested archive, for content detection; a stream that cannot be read is
/// an issue on `full`.
fn peek(ctx: &mut Ctx<'_>, full: &str, r: &mut dyn Read) -> Result<Vec<u8>, Broken> {
    let mut head = vec![0u8; PEEK];
    match read_full(r, &mut head) {
        Ok(n) => {
            head.truncate(n);
            Ok(head)
        }
        Err(e) => {
            ctx.issue(
                error_kind(&e),
                full,
                format!("unreadable nested archive: {e}"),
            );
            Err(Broken)
        }
    }
}

/// Where the bytes of an archive found inside an input are.
pub(crate) enum Nested<'a> {
    /// A member of a tar stream, read once from front to back.
    Stream(&'a mut dyn Read),
    /// A zip entry: streamed inflated and verified; a stored zip in it is read in place.
    ZipEntry {
        src: &'a mut dyn ReadSeek,
        loc: &'a Located,
        rec: &'a Record,
    },
    /// A file of a directory input: a zip in it is read in place.
    File(&'a Path),
}

/// The one place that decides how an archive inside an input is read: refused beyond
/// `max_depth`, then recognised by content. A zip with random access (a stored zip entry, a
/// file) is read in place, a streamed zip is spilled to a temp file, a tar, tar.gz or tar.xz is
/// decoded on the fly, and anything else is refused. `full` is the archive's logical path,
/// `depth` its own depth (a node zip in a bundle is 1).
pub(crate) fn read_nested(
    ctx: &mut Ctx<'_>,
    full: &str,
    depth: u32,
    meta: EntryMeta,
    src: Nested<'_>,
) -> Result<(), Broken> {
    if depth > ctx.limits.max_depth {
        ctx.issue(
            IssueKind::TooDeep,
            full,
            format!(
                "refused: nested archive deeper than {} levels (--max-depth)",
                ctx.limits.max_depth
            ),
        );
        return Ok(());
    }
    let prefix = format!("{full}!");
    match src {
        Nested::Stream(r) => {
            let head = peek(ctx, full, r)?;
            read_streamed(ctx, full, depth, meta, head, r)
        }
        Nested::ZipEntry { src, loc, rec } => {
            let mut r = open(src, loc, rec);
            let head = peek(ctx, full, &mut r)?;
            if loc.method == 0 && detect(&head) == Some(Container::Zip) {
                drop(r);
                let mut w = Window::new(src, loc.data_start, loc.csize);
                ctx.enter(full, Container::Zip, meta);
                let res = read_zip(ctx, &mut w, loc.csize, &prefix, depth);
                ctx.leave(full);
                return res;
            }
            read_streamed(ctx, full, depth, meta, head, &mut r)
        }
        Nested::File(path) => {
            let mut f = match open_nofollow(path) {
                Ok(f) => f,
                Err(e) => {
                    ctx.issue(IssueKind::Unreadable, full, format!("cannot open: {e}"));
                    return Ok(());
                }
            };
            let mut head = vec![0u8; PEEK];
            // A file that cannot be read is not recognised (and reported as such) below.
            let got = read_full(&mut f, &mut head).unwrap_or(0);
            head.truncate(got);
            if detect(&head) == Some(Container::Zip) {
                let len = f.metadata().map(|m| m.len()).unwrap_or(0);
                ctx.enter(full, Container::Zip, meta);
                let res = read_zip(ctx, &mut f, len, &prefix, depth);
                ctx.leave(full);
                return res;
            }
            read_streamed(ctx, full, depth, meta, head, &mut f)
        }
    }
}

/// A nested archive read as a stream, `head` already read from `rest`: a zip is spilled to a
/// temp file, a tar family stream decoded, anything else refused.
fn read_streamed(
    ctx: &mut Ctx<'_>,
    full: &str,
    depth: u32,
    meta: EntryMeta,
    head: Vec<u8>,
    rest: &mut dyn Read,
) -> Result<(), Broken> {
    match detect(&head) {
        Some(Container::Zip) => {
            ctx.enter(full, Container::Zip, meta);
            let res = spill_and_read(ctx, full, &head, rest, depth);
            ctx.leave(full);
            res
        }
        Some(kind) => {
            let chained = io::Cursor::new(head).chain(rest);
            ctx.enter(full, kind, meta);
            let res = read_tar_family(ctx, kind, chained, &format!("{full}!"), depth);
            ctx.leave(full);
            res
        }
        None => {
            ctx.issue(
                IssueKind::Corrupt,
                full,
                "selected as a nested archive but not a zip, tar, tar.gz or tar.xz",
            );
            Ok(())
        }
    }
}

/// [`read_tar_family`] for a whole input: a compressed stream is decoded on a second thread
/// ([`super::ahead`]) while this one reads the tar.
pub(crate) fn read_tar_family_ahead<R: Read + Send>(
    ctx: &mut Ctx<'_>,
    kind: Container,
    src: R,
) -> Result<(), Broken> {
    let (src, counter) = counting(src);
    std::thread::scope(|s| match kind {
        Container::TarGz => {
            let mut d = super::ahead::spawn(s, MultiGzDecoder::new(src));
            read_tar(ctx, &mut d, &counter, "", 0)
        }
        Container::TarXz => {
            let mut d = super::ahead::spawn(s, xz_decoder(src));
            read_tar(ctx, &mut d, &counter, "", 0)
        }
        _ => {
            let mut d = io::BufReader::with_capacity(64 << 10, src);
            read_tar(ctx, &mut d, &counter, "", 0)
        }
    })
}

fn xz_decoder<R: Read>(src: R) -> lzma_rust2::XzReader<io::BufReader<R>> {
    lzma_rust2::XzReader::new_mem_limit(
        io::BufReader::with_capacity(64 << 10, src),
        true,
        XZ_MEM_LIMIT_KB,
    )
}

/// Decode a tar, tar.gz or tar.xz stream and read its entries.
fn read_tar_family<R: Read>(
    ctx: &mut Ctx<'_>,
    kind: Container,
    src: R,
    prefix: &str,
    depth: u32,
) -> Result<(), Broken> {
    let (src, counter) = counting(src);
    match kind {
        Container::TarGz => {
            let mut d = MultiGzDecoder::new(src);
            read_tar(ctx, &mut d, &counter, prefix, depth)
        }
        Container::TarXz => {
            let mut d = xz_decoder(src);
            read_tar(ctx, &mut d, &counter, prefix, depth)
        }
        _ => {
            let mut d = io::BufReader::with_capacity(64 << 10, src);
            read_tar(ctx, &mut d, &counter, prefix, depth)
        }
    }
}
