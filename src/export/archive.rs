//! Archive writers for the copies `redact` and `collect` write: zip, tar, tar.gz and tar.xz, each
//! into a file, entry by entry (never a whole archive in memory). Entry names, order and modes
//! are the caller's; times are kept when known (else the epoch: same input, same bytes); owners
//! are root. A nested archive is written to an anonymous temp file first and then added to its
//! parent as one entry.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom, Write};

use flate2::Compression;
use flate2::write::GzEncoder;

use crate::ingest::{Container, EntryMeta};

/// The kind of archive written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Zip,
    Tar,
    TarGz,
    TarXz,
}

impl Kind {
    /// The kind a copy of `c` is written as: the same, a directory as a tar.gz.
    pub fn of(c: Container) -> Kind {
        match c {
            Container::Zip => Kind::Zip,
            Container::Tar => Kind::Tar,
            Container::TarXz => Kind::TarXz,
            Container::TarGz | Container::Directory => Kind::TarGz,
        }
    }
}

/// The compressed stream under a tar.
enum Stream {
    Plain(File),
    Gz(Box<GzEncoder<File>>),
    Xz(Box<lzma_rust2::XzWriter<File>>),
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Stream::Plain(f) => f.write(buf),
            Stream::Gz(g) => g.write(buf),
            Stream::Xz(x) => x.write(buf),
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        match self {
            Stream::Plain(f) => f.flush(),
            Stream::Gz(g) => g.flush(),
            Stream::Xz(x) => x.flush(),
        }
    }
}

impl Stream {
    fn finish(self) -> io::Result<File> {
        match self {
            Stream::Plain(f) => Ok(f),
            Stream::Gz(g) => g.finish(),
            Stream::Xz(x) => x.finish(),
        }
    }
}

enum Inner {
    Zip(Box<zip::ZipWriter<File>>),
    Tar(tar::Builder<Stream>),
}

/// One archive being written.
pub struct Writer {
    inner: Inner,
}

fn zip_err(e: zip::result::ZipError) -> io::Error {
    match e {
        zip::result::ZipError::Io(e) => e,
        other => io::Error::other(other.to_string()),
    }
}

/// A zip time stamp from unix seconds (UTC; the DOS range 1980–2107, else 1980-01-01).
fn dos_time(mtime: Option<i64>) -> zip::DateTime {
    mtime
        .and_then(|t| time::OffsetDateTime::from_unix_timestamp(t).ok())
        .and_then(|t| {
            zip::DateTime::from_date_and_time(
                u16::try_from(t.year()).ok()?,
                u8::from(t.month()),
                t.day(),
                t.hour(),
                t.minute(),
                t.second(),
            )
            .ok()
        })
        .unwrap_or_default()
}

impl Writer {
    /// A writer of `kind` into `file` (from its start).
    pub fn new(kind: Kind, file: File) -> io::Result<Writer> {
        let inner = match kind {
            Kind::Zip => Inner::Zip(Box::new(zip::ZipWriter::new(file))),
            Kind::Tar => Inner::Tar(tar::Builder::new(Stream::Plain(file))),
            Kind::TarGz => Inner::Tar(tar::Builder::new(Stream::Gz(Box::new(GzEncoder::new(
                file,
                Compression::default(),
            ))))),
            Kind::TarXz => {
                let x = lzma_rust2::XzWriter::new(file, lzma_rust2::XzOptions::with_preset(6))?;
                Inner::Tar(tar::Builder::new(Stream::Xz(Box::new(x))))
            }
        };
        let mut w = Writer { inner };
        if let Inner::Tar(b) = &mut w.inner {
            b.mode(tar::HeaderMode::Deterministic);
            b.follow_symlinks(false);
        }
        Ok(w)
    }

    fn zip_options(meta: &EntryMeta, default_mode: u32, len: u64) -> zip::write::SimpleFileOptions {
        let method = if meta.stored {
            zip::CompressionMethod::Stored
        } else {
            zip::CompressionMethod::Deflated
        };
        zip::write::SimpleFileOptions::default()
            .compression_method(method)
            .unix_permissions(meta.mode.unwrap_or(default_mode))
            .last_modified_time(dos_time(meta.mtime))
            .large_file(len >= u64::from(u32::MAX))
    }

    fn tar_header(meta: &EntryMeta, default_mode: u32, kind: tar::EntryType) -> tar::Header {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(kind);
        h.set_mode(meta.mode.unwrap_or(default_mode));
        h.set_mtime(meta.mtime.and_then(|t| u64::try_from(t).ok()).unwrap_or(0));
        h.set_uid(0);
        h.set_gid(0);
        h.set_size(0);
        h
    }

    /// A directory entry.
    pub fn dir(&mut self, name: &str, meta: &EntryMeta) -> io::Result<()> {
        let name = format!("{}/", name.trim_end_matches('/'));
        match &mut self.inner {
            Inner::Zip(z) => z
                .add_directory(name, Self::zip_options(meta, 0o755, 0))
                .map_err(zip_err),
            Inner::Tar(b) => {
                let mut h = Self::tar_header(meta, 0o755, tar::EntryType::Directory);
                b.append_data(&mut h, name, io::empty())
            }
        }
    }

    /// A symlink (or, in a tar, a hardlink).
    pub fn link(
        &mut self,
        name: &str,
        target: &str,
        hard: bool,
        meta: &EntryMeta,
    ) -> io::Result<()> {
        match &mut self.inner {
            Inner::Zip(z) => z
                .add_symlink(name, target, Self::zip_options(meta, 0o777, 0))
                .map_err(zip_err),
            Inner::Tar(b) => {
                let kind = if hard {
                    tar::EntryType::Link
                } else {
                    tar::EntryType::Symlink
                };
                let mut h = Self::tar_header(meta, 0o777, kind);
                b.append_link(&mut h, name, target)
            }
        }
    }

    /// A regular file of `len` bytes read from `data`.
    pub fn file(
        &mut self,
        name: &str,
        meta: &EntryMeta,
        data: &mut dyn Read,
        len: u64,
    ) -> io::Result<()> {
        match &mut self.inner {
            Inner::Zip(z) => {
                z.start_file(name, Self::zip_options(meta, 0o644, len))
                    .map_err(zip_err)?;
                let n = io::copy(data, z)?;
                if n != len {
                    return Err(io::Error::other(format!(
                        "{name}: {n} bytes written, {len} expected"
                    )));
                }
                Ok(())
            }
            Inner::Tar(b) => {
                let mut h = Self::tar_header(meta, 0o644, tar::EntryType::Regular);
                h.set_size(len);
                b.append_data(&mut h, name, data.take(len))
            }
        }
    }

    /// A file whose bytes are in memory.
    pub fn bytes(&mut self, name: &str, meta: &EntryMeta, data: &[u8]) -> io::Result<()> {
        self.file(name, meta, &mut &data[..], data.len() as u64)
    }

    /// Finish the archive: its file, flushed, positioned at its start.
    pub fn finish(self) -> io::Result<File> {
        let mut f = match self.inner {
            Inner::Zip(z) => z.finish().map_err(zip_err)?,
            Inner::Tar(b) => b.into_inner()?.finish()?,
        };
        f.flush()?;
        f.seek(SeekFrom::Start(0))?;
        Ok(f)
    }
}
