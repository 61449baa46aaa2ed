//! Archives inside archives, read from a stream: the container is detected from the first
//! bytes, then a tar family stream is decoded on the fly and a zip is spilled to an anonymous
//! temp file (zips need random access).

use std::io::{self, Read};

use flate2::read::MultiGzDecoder;

use super::Container;
use super::IssueKind;
use super::detect::{PEEK, detect};
use super::entry::{Broken, Ctx, error_kind, read_full};
use super::tar::read_tar;
use super::zip::{counting, spill_and_read};

/// Memory limit of the xz decoder (dictionary and state), in KiB. `xz -9` needs 64 MiB.
pub(crate) const XZ_MEM_LIMIT_KB: u32 = 96 << 10;

/// The first bytes of a nested archive, for content detection; a stream that cannot be read is
/// an issue on `full`.
pub(crate) fn peek(ctx: &mut Ctx<'_>, full: &str, r: &mut dyn Read) -> Result<Vec<u8>, Broken> {
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

/// Read a nested archive from a stream. `full` is the logical path of the archive entry.
pub(crate) fn read_stream(
    ctx: &mut Ctx<'_>,
    full: &str,
    r: &mut dyn Read,
    depth: u32,
) -> Result<(), Broken> {
    let head = peek(ctx, full, r)?;
    let prefix = format!("{full}!");
    match detect(&head) {
        Some(Container::Zip) => spill_and_read(ctx, full, &head, r, depth),
        Some(kind) => {
            let chained = io::Cursor::new(head).chain(r);
            read_tar_family(ctx, kind, chained, &prefix, depth)
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
pub(crate) fn read_tar_family<R: Read>(
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
