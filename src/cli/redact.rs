//! `harrow redact INPUT --out FILE`: a copy of a support bundle or node snapshot with its secrets
//! replaced (private keys by their public halves or `.pub-fingerprint` files, token passwords,
//! passwords and password hashes by keyed fingerprints), certificate material kept. The copy is
//! written atomically; a summary of what was replaced (never a value) goes to standard output.

use std::fs::File;
use std::path::{Path, PathBuf};

use clap::Args;

use super::common::{LimitArgs, write_out};
use super::format::{Format, FormatParser};
use crate::error::{Error, Result};
use crate::export::redact::{self, RedactError, Report};
use crate::pki::secret::FingerprintKey;

/// Formats of the summary.
const FORMATS: &[Format] = &[Format::Text, Format::Json];

/// Write a copy of a bundle or node snapshot with every secret replaced.
#[derive(Debug, Clone, Args)]
#[command(
    after_help = "Examples:\n  harrow redact supportbundle_x.zip --out supportbundle_x-redacted.zip\n  harrow redact n1.tgz --out n1-redacted.tgz --fingerprint-key site.key\n  harrow redact extracted-bundle/ --out bundle-redacted.tar.gz"
)]
pub struct RedactArgs {
    /// The support bundle (zip or directory) or node snapshot (tar, tar.gz, tar.xz, directory).
    #[arg(value_name = "INPUT")]
    pub input: PathBuf,
    /// The copy to write: the input's kind (a directory is written as a tar.gz).
    #[arg(long = "out", value_name = "FILE")]
    pub out: PathBuf,
    /// Key file for the fingerprints that replace secrets, so that copies made with the same
    /// key can be compared (and the same input gives the same copy); without it, a random key.
    #[arg(long, value_name = "FILE")]
    pub fingerprint_key: Option<PathBuf>,
    /// Format of the summary.
    #[arg(short = 'o', long = "output", value_name = "FORMAT", default_value = "text",
          value_parser = FormatParser(FORMATS))]
    pub format: Format,
    #[command(flatten)]
    pub limits: LimitArgs,
}

/// The key of the fingerprints: read from `file`, else random.
pub(super) fn fingerprint_key(file: Option<&Path>) -> Result<FingerprintKey> {
    match file {
        Some(p) => std::fs::read(p)
            .map(|b| FingerprintKey::from_file_bytes(&b))
            .map_err(|e| Error::Usage(format!("--fingerprint-key {}: {e}", p.display()))),
        None => FingerprintKey::random().map_err(|e| Error::Internal(e.to_string())),
    }
}

/// `path` made absolute without following a last component that does not exist yet.
fn absolute(path: &Path) -> PathBuf {
    if let Ok(p) = path.canonicalize() {
        return p;
    }
    let parent = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    match (parent.canonicalize(), path.file_name()) {
        (Ok(d), Some(n)) => d.join(n),
        _ => path.to_path_buf(),
    }
}

/// Refuse an `--out` that is the input or inside an input directory.
pub(super) fn check_out(input: &Path, out: &Path) -> Result<()> {
    let (i, o) = (absolute(input), absolute(out));
    if i == o {
        return Err(Error::Usage(format!(
            "--out {} is the input: write the copy elsewhere",
            out.display()
        )));
    }
    if input.is_dir() && o.starts_with(&i) {
        return Err(Error::Usage(format!(
            "--out {} is inside the input directory: write the copy elsewhere",
            out.display()
        )));
    }
    if out.is_dir() {
        return Err(Error::Usage(format!(
            "--out {} is a directory: name a file",
            out.display()
        )));
    }
    Ok(())
}

/// Write `out` atomically (a temp file in its directory, fsync, rename) with `produce`.
pub(super) fn write_atomically<T>(
    out: &Path,
    produce: impl FnOnce(File) -> Result<T>,
) -> Result<T> {
    let dir = out
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let tmp = tempfile::NamedTempFile::new_in(dir).map_err(|e| Error::output(out.display(), e))?;
    let file = tmp
        .as_file()
        .try_clone()
        .map_err(|e| Error::output(out.display(), e))?;
    let value = produce(file)?;
    tmp.as_file()
        .sync_all()
        .map_err(|e| Error::output(out.display(), e))?;
    tmp.persist(out)
        .map_err(|e| Error::output(out.display(), e))?;
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(value)
}

pub(super) fn run(a: RedactArgs) -> Result<i32> {
    let input_name = a.input.display().to_string();
    if !a.input.exists() {
        return Err(Error::input(&input_name, None, "no such file or directory"));
    }
    check_out(&a.input, &a.out)?;
    let key = fingerprint_key(a.fingerprint_key.as_deref())?;
    let limits = a.limits.to_limits();
    let report = write_atomically(&a.out, |file| {
        redact::redact(&a.input, file, &limits, key).map_err(|e| match e {
            RedactError::Input(m) => Error::input(&input_name, None, m),
            RedactError::Output(e) => Error::output(a.out.display(), e),
        })
    })?;
    for i in &report.issues {
        let message = i
            .message
            .split_once(": ")
            .map_or(i.message.as_str(), |(_, m)| m);
        let entry = (!i.entry.is_empty()).then(|| i.entry.clone());
        super::warn(
            "redact",
            &Error::input(
                &input_name,
                entry,
                format!("{message} (left out of the copy)"),
            ),
        );
    }
    let summary = match a.format {
        Format::Json => summary_json(&a.input, &a.out, &report),
        _ => summary_text(&a.input, &a.out, &report),
    };
    write_out(None, summary.as_bytes())?;
    Ok(super::exit::OK)
}

fn file_name(p: &Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| p.display().to_string())
}

fn reasons(r: &redact::Replaced) -> Vec<&'static str> {
    r.reasons.iter().map(|x| x.as_str()).collect()
}

fn summary_text(input: &Path, out: &Path, r: &Report) -> String {
    let mut s = format!(
        "redacted {} into {}: {} entries written, {} with secrets replaced, {} left out (unreadable)\n",
        file_name(input),
        file_name(out),
        r.entries,
        r.replaced.len(),
        r.issues.len()
    );
    for x in &r.replaced {
        s.push_str(&format!("  {:<20} {}", reasons(x).join(","), x.path));
        if let Some(n) = &x.renamed {
            s.push_str(&format!(" -> {}", crate::layout::file_name(n)));
        }
        s.push('\n');
    }
    s
}

fn summary_json(input: &Path, out: &Path, r: &Report) -> String {
    let replaced: Vec<serde_json::Value> = r
        .replaced
        .iter()
        .map(|x| {
            serde_json::json!({
                "path": x.path,
                "renamed": x.renamed,
                "reasons": reasons(x),
            })
        })
        .collect();
    let left_out: Vec<serde_json::Value> = r
        .issues
        .iter()
        .map(|i| serde_json::json!({ "entry": i.entry, "message": i.message }))
        .collect();
    let v = serde_json::json!({
        "input": file_name(input),
        "output": file_name(out),
        "entries": r.entries,
        "replaced": replaced,
        "left_out": left_out,
    });
    format!(
        "{}\n",
        serde_json::to_string_pretty(&v).unwrap_or_else(|_| "{}".into())
    )
}
