//! `harrow analyze`: arguments, conversion to [`crate::analyze::Options`], rendering, exit code.

use std::io::Write;
use std::path::{Path, PathBuf};

use clap::{Args, ValueEnum};

use super::exit;
use crate::analyze::{self, At, InputSpec, Options};
use crate::checks::Severity;
use crate::ingest::Limits;
use crate::report;

/// Output formats of `analyze`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Text,
    Json,
}

/// `--fail-on` levels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FailOn {
    Critical,
    High,
    Medium,
    Low,
    Info,
    /// Never exit 1 for findings.
    None,
}

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

/// Analyze support bundles and node snapshots of one cluster.
///
/// With no INPUT, analyzes the demo shipped in `bundles/demo/` at its collection time.
#[derive(Debug, Clone, Args)]
#[command(
    after_help = "Examples:\n  harrow analyze\n  harrow analyze supportbundle_x.zip\n  harrow analyze supportbundle_x.zip n1=n1.tgz n2.tgz -o json --at collected\n  harrow analyze bundle.zip --at +30d --fail-on critical"
)]
pub struct AnalyzeArgs {
    /// Support bundles (zip or extracted directory) and node snapshots (.tar, .tar.gz, .tar.xz or
    /// a directory); `NAME=PATH` names the node of a snapshot.
    #[arg(value_name = "INPUT")]
    pub inputs: Vec<String>,
    /// Output format.
    #[arg(short = 'o', long = "output", value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Write the report to FILE instead of standard output.
    #[arg(long = "out", value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Reference time: now, collected, an RFC 3339 instant, or an offset such as +30d.
    #[arg(long, value_name = "WHEN", default_value = "now")]
    pub at: String,
    /// Exit 1 when a finding is at or above this severity.
    #[arg(long, value_enum, default_value_t = FailOn::High)]
    pub fail_on: FailOn,
    #[command(flatten)]
    pub limits: LimitArgs,
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
fn demo_inputs() -> Result<Vec<InputSpec>, String> {
    let dir = demo_dir();
    let rd = std::fs::read_dir(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let mut paths: Vec<PathBuf> = rd
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file())
        .collect();
    paths.sort();
    if paths.is_empty() {
        return Err(format!(
            "{}: no demo inputs (run the generator: see docs/fixtures.md)",
            dir.display()
        ));
    }
    Ok(paths
        .into_iter()
        .map(|path| InputSpec { path, node: None })
        .collect())
}

pub(super) fn run(a: AnalyzeArgs) -> i32 {
    let at = match At::parse(&a.at) {
        Ok(at) => at,
        Err(e) => {
            eprintln!("harrow analyze: {e}");
            return exit::USAGE;
        }
    };
    let demo = a.inputs.is_empty();
    let (inputs, at) = if demo {
        match demo_inputs() {
            Ok(i) => (i, if a.at == "now" { At::Collected } else { at }),
            Err(e) => {
                eprintln!("harrow analyze: {e}");
                return exit::USAGE;
            }
        }
    } else {
        (a.inputs.iter().map(|s| InputSpec::parse(s)).collect(), at)
    };
    let opts = Options {
        inputs,
        limits: a.limits.to_limits(),
        at,
        demo,
    };
    let analysis = analyze::run(&opts);
    let rendered = match a.format {
        Format::Text => report::text::render(&analysis),
        Format::Json => report::json::render(&analysis),
    };
    if let Err(e) = write_out(a.out.as_deref(), rendered.as_bytes()) {
        eprintln!("harrow analyze: {e}");
        return exit::USAGE;
    }
    if let Some(reason) = &analysis.snapshot.refused {
        eprintln!("harrow analyze: inputs refused: {reason}");
        return exit::USAGE;
    }
    if analysis.all_inputs_unreadable() {
        return exit::USAGE;
    }
    let threshold = match a.fail_on {
        FailOn::Critical => Some(Severity::Critical),
        FailOn::High => Some(Severity::High),
        FailOn::Medium => Some(Severity::Medium),
        FailOn::Low => Some(Severity::Low),
        FailOn::Info => Some(Severity::Info),
        FailOn::None => None,
    };
    match threshold {
        Some(t) if analysis.findings.iter().any(|f| f.severity <= t) => exit::FINDINGS,
        _ => exit::OK,
    }
}

/// Write to the file (atomically: temp file in the same directory, then rename) or to stdout.
pub fn write_out(out: Option<&Path>, bytes: &[u8]) -> Result<(), String> {
    match out {
        None => {
            let mut so = std::io::stdout().lock();
            so.write_all(bytes)
                .and_then(|_| so.flush())
                .map_err(|e| format!("standard output: {e}"))
        }
        Some(p) => {
            let dir = p
                .parent()
                .filter(|d| !d.as_os_str().is_empty())
                .unwrap_or(Path::new("."));
            let mut tmp = tempfile::NamedTempFile::new_in(dir)
                .map_err(|e| format!("{}: {e}", p.display()))?;
            tmp.write_all(bytes)
                .and_then(|_| tmp.as_file().sync_all())
                .map_err(|e| format!("{}: {e}", p.display()))?;
            tmp.persist(p)
                .map_err(|e| format!("{}: {e}", p.display()))?;
            Ok(())
        }
    }
}
