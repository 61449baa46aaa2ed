//! `harrow redact`: a copy of a support bundle or node snapshot with its secrets replaced
//! ([`super::scrub`]), certificate material kept, so that the copy analyzes the same.
//!
//! Two passes over the input. The first is the analysis' own reading (the credential model):
//! the token passwords, exposed secrets and registration tokens it finds are the secrets replaced
//! wherever they appear later, logs included. The second walks every entry in archive order with
//! the hardened ingest readers ([`crate::ingest::walk_input`]: the same path checks, limits and
//! refusals as the analysis) and writes each one, scrubbed, to the copy: same names, order, modes
//! and times; nested archives (a bundle's node zips, a supportconfig `.txz`) rewritten as archives
//! of their kind inside the copy. An entry that cannot be read is reported (input and entry) and
//! left out; the rest is still written. Only one entry is in memory at a time (past
//! [`IN_MEMORY`] bytes an entry is scrubbed in chunks through a temp file).

use std::collections::BTreeSet;
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::Path;

use super::archive::{Kind, Writer};
use super::scrub::{Reason, Scrubber};
use crate::analyze::InputSpec;
use crate::ingest::{self, Container, EntryMeta, IngestIssue, Limits, Selector, Visitor, Want};
use crate::model::exposed::{has_registration_token_shape, is_placeholder_word};
use crate::pki::secret::{FingerprintKey, Secret};

/// Entries up to this size are scrubbed in memory; larger ones in chunks.
pub const IN_MEMORY: u64 = 64 << 20;
/// Bytes of a large entry scrubbed at once (cut at a line end when there is one).
const CHUNK: usize = 4 << 20;

/// One replaced entry.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Replaced {
    /// The entry's logical path in the input.
    pub path: String,
    /// Its logical path in the copy, when renamed (a key file's `.pub-fingerprint`).
    pub renamed: Option<String>,
    pub reasons: BTreeSet<Reason>,
}

/// What a redaction did.
#[derive(Debug, Default)]
pub struct Report {
    /// Entries written (files, directories, links; nested archives count as one each).
    pub entries: u64,
    /// Entries whose content was replaced, by logical path.
    pub replaced: Vec<Replaced>,
    /// Entries left out because they could not be read, or were refused, each naming the input
    /// and the entry.
    pub issues: Vec<IngestIssue>,
    /// The kind of the copy (a directory input is written as a tar.gz).
    pub kind: Option<Kind>,
}

/// Every entry is copied; archive-named files are descended into and rewritten.
struct CopyAll;

impl Selector for CopyAll {
    fn want(&self, path: &str) -> Want {
        let name = path.rsplit(['/', '!']).next().unwrap_or(path);
        let archive = [".zip", ".tar", ".tgz", ".tar.gz", ".txz", ".tar.xz"]
            .iter()
            .any(|s| name.ends_with(s));
        if archive { Want::Nested } else { Want::Stream }
    }
    fn needles(&self) -> &[&str] {
        &[]
    }
}

/// The secrets the analysis finds in `input` (first pass): token passwords of every source,
/// the secrets a bundle's node configs expose, Rancher registration tokens.
pub fn known_secrets(input: &Path, limits: &Limits) -> Vec<Secret> {
    let spec = InputSpec {
        path: input.to_path_buf(),
        node: None,
    };
    let trees = crate::analyze::read_inputs(std::slice::from_ref(&spec), limits);
    let snap = crate::snapshot::build(trees.into_iter().map(|t| (t, None)).collect(), limits);
    let model = crate::model::build(&snap);
    let mut out: Vec<Secret> = model
        .tokens
        .values()
        .flatten()
        .map(|t| t.found.token.password.clone())
        .chain(model.exposed.iter().filter_map(|x| x.value.clone()))
        .collect();
    for o in snap.objects_of("ClusterRegistrationToken") {
        if let Some(t) = o.value.pointer("/status/token").and_then(|v| v.as_str())
            && !is_placeholder_word(t)
            && (has_registration_token_shape(t) || out.iter().any(|s| s.expose() == t))
        {
            out.push(Secret::new(t));
        }
    }
    out.retain(|s| !is_placeholder_word(s.expose()));
    out
}

/// Write the redacted copy of `input` into `out` (a file the caller renames into place).
/// Fails only when the copy cannot be written or the input not opened at all; unreadable
/// entries are in the report.
pub fn redact(
    input: &Path,
    out: File,
    limits: &Limits,
    key: FingerprintKey,
) -> Result<Report, RedactError> {
    let known = known_secrets(input, limits);
    let scrubber = Scrubber::new(key, known);
    let container = ingest::detect_container(input).map_err(RedactError::Input)?;
    let kind = Kind::of(container);
    let writer = Writer::new(kind, out).map_err(RedactError::Output)?;
    let mut v = Copier {
        scrubber: &scrubber,
        stack: vec![Level {
            path: String::new(),
            writer,
            meta: EntryMeta::default(),
        }],
        report: Report {
            kind: Some(kind),
            ..Report::default()
        },
        failed: None,
    };
    let tree = ingest::walk_input(input, limits, &CopyAll, &mut v);
    if let Some(e) = v.failed.take() {
        return Err(RedactError::Output(e));
    }
    let mut report = std::mem::take(&mut v.report);
    let Some(top) = v.stack.pop() else {
        return Err(RedactError::Output(io::Error::other("no archive open")));
    };
    top.writer.finish().map_err(RedactError::Output)?;
    report.issues = tree.issues;
    report.replaced.sort();
    Ok(report)
}

/// Why a redaction failed as a whole.
#[derive(Debug)]
pub enum RedactError {
    /// The input could not be opened or is not an archive or directory.
    Input(String),
    /// The copy could not be written.
    Output(io::Error),
}

/// One archive being written: the top one (path empty) or a nested one.
struct Level {
    /// Logical path of the nested archive in the input (empty for the top).
    path: String,
    writer: Writer,
    meta: EntryMeta,
}

/// The visitor that writes the copy.
struct Copier<'s> {
    scrubber: &'s Scrubber,
    stack: Vec<Level>,
    report: Report,
    /// The first write error: the copy is abandoned.
    failed: Option<io::Error>,
}

impl Copier<'_> {
    /// The name of `path` inside the archive being written.
    fn inner<'p>(&self, path: &'p str) -> &'p str {
        match self.stack.last() {
            Some(l) if !l.path.is_empty() => path
                .strip_prefix(l.path.as_str())
                .and_then(|p| p.strip_prefix('!'))
                .unwrap_or(path),
            _ => path,
        }
    }

    fn run(&mut self, f: impl FnOnce(&mut Self) -> io::Result<()>) {
        if self.failed.is_some() {
            return;
        }
        if let Err(e) = f(self) {
            self.failed = Some(e);
        }
    }

    fn writer(&mut self) -> io::Result<&mut Writer> {
        self.stack
            .last_mut()
            .map(|l| &mut l.writer)
            .ok_or_else(|| io::Error::other("no archive open"))
    }

    fn copy_file(
        &mut self,
        path: &str,
        meta: &EntryMeta,
        data: &mut dyn Read,
        len: u64,
    ) -> io::Result<()> {
        let name = self.inner(path).to_string();
        if len <= IN_MEMORY {
            let mut buf = Vec::with_capacity(usize::try_from(len).unwrap_or(0));
            data.read_to_end(&mut buf)?;
            let s = self.scrubber.scrub(path, &buf);
            let out_name = match &s.rename {
                Some(new) => match name.rsplit_once('/') {
                    Some((dir, _)) => format!("{dir}/{new}"),
                    None => new.clone(),
                },
                None => name,
            };
            if !s.reasons.is_empty() {
                let renamed = s.rename.as_ref().map(|_| match path.rsplit_once('/') {
                    Some((dir, _)) => format!("{dir}/{}", crate::layout::file_name(&out_name)),
                    None => out_name.clone(),
                });
                self.report.replaced.push(Replaced {
                    path: path.to_string(),
                    renamed,
                    reasons: s.reasons,
                });
            }
            self.writer()?.bytes(&out_name, meta, &s.data)?;
        } else {
            let mut reasons = BTreeSet::new();
            let mut spool = tempfile::tempfile()?;
            let written = scrub_stream(self.scrubber, data, &mut spool, &mut reasons)?;
            spool.seek(SeekFrom::Start(0))?;
            if !reasons.is_empty() {
                self.report.replaced.push(Replaced {
                    path: path.to_string(),
                    renamed: None,
                    reasons,
                });
            }
            self.writer()?.file(&name, meta, &mut spool, written)?;
        }
        self.report.entries += 1;
        Ok(())
    }
}

/// Scrub a large entry chunk by chunk (cut at line ends; a private key block is never cut).
fn scrub_stream(
    scrubber: &Scrubber,
    data: &mut dyn Read,
    out: &mut File,
    reasons: &mut BTreeSet<Reason>,
) -> io::Result<u64> {
    let mut carry: Vec<u8> = Vec::new();
    let mut buf = vec![0u8; CHUNK];
    let mut written: u64 = 0;
    loop {
        let n = data.read(&mut buf)?;
        let end = n == 0;
        carry.extend_from_slice(&buf[..n]);
        // Cut after the last line end, unless a private key block starts after it … or the
        // carry has grown past four chunks (a file without line ends).
        let cut = if end {
            carry.len()
        } else {
            let last_nl = memchr::memrchr(b'\n', &carry).map(|i| i + 1);
            let open_key = memchr::memmem::rfind(&carry, b"-----BEGIN ")
                .filter(|&b| memchr::memmem::find(&carry[b..], b"-----END ").is_none());
            match (last_nl, open_key) {
                _ if carry.len() > 4 * CHUNK => carry.len(),
                (Some(nl), Some(k)) => nl.min(k),
                (Some(nl), None) => nl,
                (None, _) => 0,
            }
        };
        if cut > 0 {
            let rest = carry.split_off(cut);
            let s = scrubber.scrub_chunk(&carry, reasons);
            out.write_all(&s)?;
            written += s.len() as u64;
            carry = rest;
        }
        if end {
            break;
        }
    }
    Ok(written)
}

impl Visitor for Copier<'_> {
    fn dir(&mut self, path: &str, meta: &EntryMeta) {
        let name = self.inner(path).to_string();
        self.run(|c| {
            c.writer()?.dir(&name, meta)?;
            c.report.entries += 1;
            Ok(())
        });
    }

    fn link(&mut self, path: &str, target: &str, hard: bool, meta: &EntryMeta) {
        let name = self.inner(path).to_string();
        // A hardlink's target is a path in the same archive, as the entry names are.
        let target = if hard {
            self.inner(target).to_string()
        } else {
            target.to_string()
        };
        self.run(|c| {
            c.writer()?.link(&name, &target, hard, meta)?;
            c.report.entries += 1;
            Ok(())
        });
    }

    fn file(&mut self, path: &str, meta: &EntryMeta, data: &mut dyn Read, len: u64) {
        self.run(|c| c.copy_file(path, meta, data, len));
    }

    fn enter(&mut self, path: &str, kind: Container, meta: &EntryMeta) {
        let path = path.to_string();
        let meta = *meta;
        self.run(|c| {
            let writer = Writer::new(Kind::of(kind), tempfile::tempfile()?)?;
            c.stack.push(Level { path, writer, meta });
            Ok(())
        });
    }

    fn leave(&mut self, path: &str) {
        self.run(|c| {
            let level = match c.stack.last() {
                Some(l) if l.path == path => c.stack.pop(),
                _ => None,
            };
            let Some(level) = level else {
                return Ok(());
            };
            let mut file = level.writer.finish()?;
            let len = file.metadata()?.len();
            let name = c.inner(&level.path).to_string();
            c.writer()?.file(&name, &level.meta, &mut file, len)?;
            c.report.entries += 1;
            Ok(())
        });
    }
}
