//! Plain directories (an extracted bundle or a copied node tree): walked without following
//! symlinks (they are recorded as links and resolved virtually), special files never opened,
//! regular files opened with `O_NOFOLLOW`. The input hash is the SHA-256 of the sorted
//! `path\0sha256\n` lines of every regular file.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::entry::{Ctx, Packed, drain};
use super::nested::{Nested, read_nested};
use super::{EntryMeta, IssueKind, Want};

/// A reader that hashes what passes through it.
struct Hashing<R> {
    inner: R,
    hasher: Sha256,
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }
}

pub(crate) fn open_nofollow(p: &Path) -> io::Result<File> {
    OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(p)
}

/// SHA-256 of a whole file, streamed.
pub(crate) fn hash_file(p: &Path) -> io::Result<String> {
    let mut f = open_nofollow(p)?;
    let mut h = Hashing {
        inner: &mut f,
        hasher: Sha256::new(),
    };
    let mut buf = vec![0u8; 1 << 20];
    loop {
        if h.read(&mut buf)? == 0 {
            break;
        }
    }
    Ok(hex::encode(h.hasher.finalize()))
}

/// Walk a directory input.
pub(crate) fn read_dir(ctx: &mut Ctx<'_>, root: &Path) {
    let mut files: Vec<(String, PathBuf)> = Vec::new();
    let mut stack: Vec<(PathBuf, String)> = vec![(root.to_path_buf(), String::new())];
    let mut count: u64 = 0;
    'walk: while let Some((dir, rel)) = stack.pop() {
        let rd = match fs::read_dir(&dir) {
            Ok(rd) => rd,
            Err(e) => {
                ctx.issue(
                    IssueKind::Unreadable,
                    &rel,
                    format!("cannot list directory: {e}"),
                );
                continue;
            }
        };
        let mut names: Vec<fs::DirEntry> = rd.filter_map(Result::ok).collect();
        names.sort_by_key(|e| e.file_name());
        for e in names {
            count += 1;
            let raw = e.file_name();
            let (name, lossy) = super::path::decode_name(raw.as_encoded_bytes());
            let path = if rel.is_empty() {
                name.into_owned()
            } else {
                format!("{rel}/{name}")
            };
            if count > ctx.limits.max_entries {
                ctx.issue(
                    IssueKind::TooManyEntries,
                    &path,
                    format!(
                        "refused: more than {} entries in this directory tree (--max-entries); the rest is not read",
                        ctx.limits.max_entries
                    ),
                );
                break 'walk;
            }
            if lossy {
                ctx.issue(
                    IssueKind::NonUtf8Name,
                    &path,
                    "the file name is not UTF-8; it was decoded lossily and still read",
                );
            }
            let Ok(ft) = e.file_type() else { continue };
            // A stat only for log names (their size tells a log cut at the collector's cap).
            let size = (ft.is_file() && super::is_log_name(&path))
                .then(|| e.metadata().ok().map(|m| m.len()))
                .flatten();
            ctx.see(&path, size);
            if ft.is_symlink() {
                match fs::read_link(e.path()) {
                    Ok(t) => {
                        let t = t.to_string_lossy().into_owned();
                        ctx.link("", &path, &t, false);
                        ctx.visit_link(&path, &t, false, EntryMeta::default());
                    }
                    Err(err) => ctx.issue(
                        IssueKind::Unreadable,
                        &path,
                        format!("unreadable link: {err}"),
                    ),
                }
            } else if ft.is_dir() {
                let mode = e.metadata().ok().map(|m| {
                    use std::os::unix::fs::PermissionsExt;
                    m.permissions().mode()
                });
                ctx.see_dir(&path, mode);
                let mtime = e.metadata().ok().map(|m| {
                    use std::os::unix::fs::MetadataExt;
                    m.mtime()
                });
                let meta = EntryMeta {
                    mode: mode.map(|m| m & 0o7777),
                    mtime,
                    stored: false,
                };
                ctx.visit_dir(&path, meta);
                stack.push((e.path(), path));
            } else if ft.is_file() {
                files.push((path, e.path()));
            }
        }
    }
    ctx.propagate_link_wants();
    files.sort();
    let mut lines: Vec<String> = Vec::with_capacity(files.len());
    for (path, fs_path) in &files {
        let want = ctx.want(path);
        let digest = match want {
            Want::Nested => {
                let meta = file_meta(fs::symlink_metadata(fs_path).ok().as_ref());
                let _ = read_nested(ctx, path, 1, meta, Nested::File(fs_path));
                hash_file(fs_path)
            }
            _ => read_file(ctx, path, fs_path, want),
        };
        match digest {
            Ok(d) => lines.push(format!("{path}\0{d}\n")),
            Err(e) => ctx.issue(
                IssueKind::Unreadable,
                path,
                format!("cannot read file: {e}"),
            ),
        }
    }
    let mut h = Sha256::new();
    for l in &lines {
        h.update(l.as_bytes());
    }
    ctx.tree.sha256 = hex::encode(h.finalize());
}

/// A file's mode bits and modification time.
fn file_meta(meta: Option<&fs::Metadata>) -> EntryMeta {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    EntryMeta {
        mode: meta.map(|m| m.permissions().mode() & 0o7777),
        mtime: meta.map(MetadataExt::mtime),
        stored: false,
    }
}

/// Load, scan, stream or skip one file, hashing it in the same read.
fn read_file(ctx: &mut Ctx<'_>, path: &str, fs_path: &Path, want: Want) -> io::Result<String> {
    let f = open_nofollow(fs_path)?;
    let meta = f.metadata().ok();
    let em = file_meta(meta.as_ref());
    let size = meta.as_ref().map(|m| m.len()).unwrap_or(0);
    let mut r = Hashing {
        inner: io::BufReader::with_capacity(256 << 10, f),
        hasher: Sha256::new(),
    };
    let _ = match want {
        Want::Load => ctx.load(path, &mut r, Packed::Known(size), em.mode, em.mtime),
        Want::Scan => ctx.scan(path, &mut r),
        Want::Stream => ctx.stream(path, &mut r, Packed::Known(size), em),
        _ => Ok(()),
    };
    drain(&mut r)?;
    Ok(hex::encode(r.hasher.finalize()))
}
