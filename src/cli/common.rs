//! Arguments shared by every command that reads inputs (INPUT..., `--at`, limits), their
//! validation into [`crate::analyze::Options`], the demo location, and atomic output.

use std::io::Write;
use std::path::{Path, PathBuf};

use clap::Args;

use super::exit;
use crate::analyze::{At, InputSpec, Options};
use crate::error::{Error, Result};
use crate::ingest::Limits;

/// Limits on untrusted archives (each defaults to a value calibrated on real bundles).
#[derive(Debug, Clone, Args)]
pub struct LimitArgs {
    /// Bytes inflated for one parsed entry.
    #[arg(long, value_name = "BYTES", default_value_t = Limits::default().max_entry_bytes)]
    pub max_entry_bytes: u64,
    /// Compression ratio allowed for one parsed entry.
    #[arg(long, value_name = "RATIO", default_value_t = Limits::default().max_ratio)]
    pub max_ratio: u64,
    /// Total bytes of all parsed entries.
    #[arg(long, value_name = "BYTES", default_value_t = Limits::default().max_total_bytes)]
    pub max_total_bytes: u64,
    /// Entries per archive.
    #[arg(long, value_name = "N", default_value_t = Limits::default().max_entries)]
    pub max_entries: u64,
    /// Nesting depth of archives inside archives.
    #[arg(long, value_name = "N", default_value_t = Limits::default().max_depth)]
    pub max_depth: u32,
    /// Bytes a deflated nested zip may spill to its temporary file.
    #[arg(long, value_name = "BYTES", default_value_t = Limits::default().max_spill_bytes)]
    pub max_spill_bytes: u64,
    /// YAML nesting depth.
    #[arg(long, value_name = "N", default_value_t = Limits::default().max_yaml_depth)]
    pub max_yaml_depth: usize,
    /// YAML alias expansions.
    #[arg(long, value_name = "N", default_value_t = Limits::default().max_yaml_aliases)]
    pub max_yaml_aliases: usize,
}

impl LimitArgs {
    pub fn to_limits(&self) -> Limits {
        Limits {
            max_entry_bytes: self.max_entry_bytes,
            max_ratio: self.max_ratio,
            max_total_bytes: self.max_total_bytes,
            max_entries: self.max_entries,
            max_depth: self.max_depth,
            max_spill_bytes: self.max_spill_bytes,
            max_yaml_depth: self.max_yaml_depth,
            max_yaml_aliases: self.max_yaml_aliases,
            ..Limits::default()
        }
    }
}

/// Inputs and reference time, shared by `analyze`, `certs`, `graph` and `timeline`.
#[derive(Debug, Clone, Args)]
pub struct InputArgs {
    /// Support bundles (zip or extracted directory) and node snapshots (.tar, .tar.gz, .tar.xz or
    /// a directory); `NAME=PATH` names the node of a snapshot. None: the demo in bundles/demo.
    #[arg(value_name = "INPUT")]
    pub inputs: Vec<String>,
    /// Reference time: now, collected, an RFC 3339 instant, or an offset such as +30d.
    #[arg(long, value_name = "WHEN", default_value = "now")]
    pub at: String,
    /// No progress display on a terminal.
    #[arg(long, short = 'q')]
    pub quiet: bool,
    /// Key file for keyed (HMAC-SHA256) fingerprints of secrets, so that runs can be compared;
    /// without it, secrets are reported by place only.
    #[arg(long, value_name = "FILE")]
    pub fingerprint_key: Option<PathBuf>,
    #[command(flatten)]
    pub limits: LimitArgs,
}

impl InputArgs {
    /// Validate into analysis options. No INPUT at all is the demo; an INPUT that is empty (an
    /// unset shell variable) or names nothing that can be opened is a usage error naming it, so
    /// that no report describes an input that was never there.
    pub fn options(&self) -> Result<Options> {
        let at = At::parse(&self.at)?;
        let demo = self.inputs.is_empty();
        let (inputs, at) = if demo {
            let at = if self.at == "now" { At::Collected } else { at };
            (demo_inputs()?, at)
        } else {
            (
                self.inputs
                    .iter()
                    .map(|s| input_spec(s))
                    .collect::<Result<_>>()?,
                at,
            )
        };
        let fingerprint_key = match &self.fingerprint_key {
            Some(p) => match std::fs::read(p) {
                Ok(b) => Some(crate::pki::secret::FingerprintKey::from_file_bytes(&b)),
                Err(e) => {
                    return Err(Error::Usage(format!(
                        "--fingerprint-key {}: {e}",
                        p.display()
                    )));
                }
            },
            None => None,
        };
        Ok(Options {
            inputs,
            limits: self.limits.to_limits(),
            at,
            demo,
            fingerprint_key,
            through: crate::analyze::Through::Rules,
            workload_namespaces_exclude: Vec::new(),
        })
    }
}

/// One INPUT argument, checked: present (not empty) and openable. Whether it holds an archive is
/// the ingest's question (an input that is not one is reported as unreadable, not refused here).
fn input_spec(arg: &str) -> Result<InputSpec> {
    if arg.trim().is_empty() {
        return Err(Error::Usage(format!(
            "INPUT {arg:?} is empty (an unset shell variable?): name a support bundle or node \
             snapshot, or give no INPUT at all for the demo"
        )));
    }
    let spec = InputSpec::parse(arg);
    let opened = if spec.path.is_dir() {
        std::fs::read_dir(&spec.path).map(drop)
    } else {
        std::fs::File::open(&spec.path).map(drop)
    };
    opened.map_err(|e| Error::input(spec.path.display().to_string(), None, io_words(&e)))?;
    Ok(spec)
}

/// An I/O error in words, without the `(os error N)` tail.
fn io_words(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file or directory".to_string(),
        std::io::ErrorKind::PermissionDenied => "permission denied".to_string(),
        _ => e.to_string(),
    }
}

/// Where the demo lives: `bundles/demo` under the working directory, else under the source tree
/// harrow was built from.
pub fn demo_dir() -> PathBuf {
    let local = Path::new("bundles/demo");
    if local.is_dir() {
        return local.to_path_buf();
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join("bundles/demo")
}

/// The demo inputs: every file of the demo directory, sorted.
fn demo_inputs() -> Result<Vec<InputSpec>> {
    let dir = demo_dir();
    let rd = std::fs::read_dir(&dir)
        .map_err(|e| Error::input(dir.display().to_string(), None, e.to_string()))?;
    let mut paths: Vec<PathBuf> = rd
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file())
        .collect();
    paths.sort();
    if paths.is_empty() {
        return Err(Error::input(
            dir.display().to_string(),
            None,
            "no demo inputs (run the generator: see docs/fixtures.md)",
        ));
    }
    Ok(paths
        .into_iter()
        .map(|path| InputSpec { path, node: None })
        .collect())
}

/// The entries of a directory (files and sub-directories, hidden ones aside), sorted by name:
/// the inputs `analyze --batch DIR` analyzes one by one and a `diff` side stands for.
pub fn dir_entries(dir: &Path) -> Result<Vec<PathBuf>> {
    let rd = std::fs::read_dir(dir)
        .map_err(|e| Error::input(dir.display().to_string(), None, io_words(&e)))?;
    let mut paths: Vec<PathBuf> = rd
        .filter_map(|e| e.ok())
        .filter(|e| !e.file_name().to_string_lossy().starts_with('.'))
        .map(|e| e.path())
        .collect();
    paths.sort();
    Ok(paths)
}

/// Run the analysis with the progress display of a terminal session (none with `--quiet`, or
/// when standard output or standard error is not a terminal).
pub fn analyze_with_progress(opts: &Options, quiet: bool) -> Result<crate::analyze::Analysis> {
    let display = super::progress::start(quiet);
    let analysis = crate::analyze::run(opts);
    drop(display);
    analysis
}

/// The exit code of a reading command once its output is written (`written`): a write error
/// is the command's error; inputs that were all unreadable exit 2 (the output says why). The
/// analysis is not freed: the process ends right after, and freeing a 100,000-certificate model
/// piece by piece only costs time.
pub fn finish(written: Result<()>, analysis: crate::analyze::Analysis) -> Result<i32> {
    let all_unreadable = analysis.all_inputs_unreadable();
    std::mem::forget(analysis);
    written?;
    Ok(if all_unreadable {
        exit::USAGE
    } else {
        exit::OK
    })
}

/// Write to the file (atomically: temp file in the same directory, then rename) or to stdout.
pub fn write_out(out: Option<&Path>, bytes: &[u8]) -> Result<()> {
    write_out_with(out, &mut |w| w.write_all(bytes))
}

/// Like [`write_out`], with the content produced by a writer function: streamed (buffered) to
/// standard output, or into the temporary file that is then renamed over FILE.
pub fn write_out_with(
    out: Option<&Path>,
    produce: &mut dyn FnMut(&mut dyn Write) -> std::io::Result<()>,
) -> Result<()> {
    match out {
        None => {
            let so = std::io::stdout().lock();
            let mut w = std::io::BufWriter::with_capacity(1 << 16, so);
            // A reader that stopped early (`| head`) is not an error: stop writing quietly.
            match produce(&mut w).and_then(|_| w.flush()) {
                Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
                r => r.map_err(|e| Error::output("standard output", e)),
            }
        }
        Some(p) => {
            let dir = p
                .parent()
                .filter(|d| !d.as_os_str().is_empty())
                .unwrap_or(Path::new("."));
            let tmp =
                tempfile::NamedTempFile::new_in(dir).map_err(|e| Error::output(p.display(), e))?;
            let mut w = std::io::BufWriter::with_capacity(1 << 16, tmp);
            produce(&mut w)
                .and_then(|_| w.flush())
                .map_err(|e| Error::output(p.display(), e))?;
            let tmp = w
                .into_inner()
                .map_err(|e| Error::output(p.display(), e.error()))?;
            tmp.as_file()
                .sync_all()
                .map_err(|e| Error::output(p.display(), e))?;
            tmp.persist(p).map_err(|e| Error::output(p.display(), e))?;
            if let Some(d) = p.parent().filter(|d| !d.as_os_str().is_empty()) {
                // Make the rename durable; a directory that cannot be opened is not an error.
                if let Ok(f) = std::fs::File::open(d) {
                    let _ = f.sync_all();
                }
            }
            Ok(())
        }
    }
}
