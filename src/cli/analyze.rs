//! `harrow analyze`: arguments, conversion to [`crate::analyze::Options`], rendering, exit code.

use std::path::PathBuf;

use clap::{Args, ValueEnum};

use super::format::{Format, FormatParser};

use super::common::{InputArgs, write_out, write_out_with};
use super::exit;
use crate::analyze;
use crate::checks::Severity;
use crate::error::{Error, Result};
use crate::report;

/// Output formats of `analyze`.
const FORMATS: &[Format] = &[
    Format::Text,
    Format::Json,
    Format::Yaml,
    Format::Csv,
    Format::Sarif,
    Format::Html,
];

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

/// Analyze support bundles and node snapshots of one cluster.
///
/// With no INPUT, analyzes the demo shipped in `bundles/demo/` at its collection time.
#[derive(Debug, Clone, Args)]
#[command(
    after_help = "Examples:\n  harrow analyze\n  harrow analyze supportbundle_x.zip\n  harrow analyze supportbundle_x.zip n1=n1.tgz n2.tgz -o json --at collected\n  harrow analyze bundle.zip --at +30d --fail-on critical"
)]
pub struct AnalyzeArgs {
    #[command(flatten)]
    pub input: InputArgs,
    /// Output format.
    #[arg(short = 'o', long = "output", value_name = "FORMAT", default_value = "text",
          value_parser = FormatParser(FORMATS))]
    pub format: Format,
    /// Write the report to FILE instead of standard output.
    #[arg(long = "out", value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Exit 1 when a finding is at or above this severity.
    #[arg(long, value_enum, default_value_t = FailOn::High)]
    pub fail_on: FailOn,
    /// Namespaces the KUBE rules do not judge, besides the built-in system ones: globs such as
    /// `kube-*` or `team-?`, comma-separated or repeated.
    #[arg(long, value_name = "PATTERN[,PATTERN]", value_delimiter = ',',
          value_parser = crate::checks::namespace_pattern)]
    pub workload_namespaces_exclude: Vec<String>,
    /// Analyze every entry of DIR (each file or sub-directory one input) on every core and
    /// write JSON Lines: per entry, in name order, its `-o json` document with its `input`
    /// name (and `error` when it could not be read); the exit code is the worst entry's.
    #[arg(long, value_name = "DIR", conflicts_with = "inputs")]
    pub batch: Option<PathBuf>,
}

pub(super) fn run(a: AnalyzeArgs) -> Result<i32> {
    if let Some(dir) = &a.batch {
        return batch(&a, dir);
    }
    let opts = analyze::Options {
        workload_namespaces_exclude: a.workload_namespaces_exclude.clone(),
        ..a.input.options()?
    };
    let analysis = super::common::analyze_with_progress(&opts, a.input.quiet)?;
    // Entries the model could not read: named on standard error; the analysis ran without them.
    for problem in unread_entries(&analysis) {
        super::warn("analyze", &problem);
    }
    match a.format {
        // Streamed: a 100,000-certificate report is never one JSON tree or string.
        Format::Json => {
            write_out_with(a.out.as_deref(), &mut |w| report::json::write(&analysis, w))
        }
        Format::Yaml => write_out_with(a.out.as_deref(), &mut |w| {
            report::tabular::yaml_via_json(w, &mut |j| report::json::write(&analysis, j))
        }),
        Format::Csv => write_out(a.out.as_deref(), report::text::csv(&analysis).as_bytes()),
        Format::Sarif => write_out(
            a.out.as_deref(),
            report::sarif::render(&analysis).as_bytes(),
        ),
        Format::Html => write_out(a.out.as_deref(), report::html::render(&analysis).as_bytes()),
        _ => write_out(a.out.as_deref(), report::text::render(&analysis).as_bytes()),
    }?;
    if let Some(reason) = &analysis.snapshot.refused {
        return Err(Error::Refused(reason.clone()));
    }
    Ok(exit_code(&analysis, a.fail_on))
}

/// The entries of the inputs the model could not read, as problems to name on standard error.
fn unread_entries(analysis: &analyze::Analysis) -> Vec<Error> {
    analysis
        .model
        .problems()
        .into_iter()
        .map(|(origin, message)| {
            let entry = match &origin.pointer {
                Some(p) => format!("{} ({p})", origin.path),
                None => origin.path.clone(),
            };
            Error::input(&origin.input, Some(entry), &message)
        })
        .collect()
}

/// The exit code of an analysis that was written: 2 when every input was unreadable, 1 for a
/// finding at or above `--fail-on`, else 0.
fn exit_code(analysis: &analyze::Analysis, fail_on: FailOn) -> i32 {
    if analysis.all_inputs_unreadable() {
        return exit::USAGE;
    }
    let threshold = match fail_on {
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

/// Why a batch entry is bad, when it is: the input could not be read, or its archive (or one
/// nested in it) is cut short or corrupt, so what was analyzed is only what could be read.
fn damage(analysis: &analyze::Analysis) -> Option<String> {
    use crate::ingest::IssueKind;
    let mut why: Vec<String> = analysis
        .snapshot
        .inputs
        .iter()
        .filter_map(|i| i.error.clone())
        .collect();
    for t in &analysis.snapshot.trees {
        why.extend(
            t.issues
                .iter()
                .filter(|i| {
                    matches!(
                        i.kind,
                        IssueKind::Unreadable | IssueKind::Truncated | IssueKind::Corrupt
                    )
                })
                .map(|i| i.message.clone()),
        );
    }
    why.dedup();
    (!why.is_empty()).then(|| why.join("; "))
}

/// One entry of a batch: its JSON line, the problems to name on standard error, its exit code.
struct BatchLine {
    line: String,
    problems: Vec<Error>,
    code: i32,
}

/// `--batch DIR`: every entry of DIR analyzed on its own (entries in parallel, larger first),
/// one JSON line each in name order; the exit code is the worst entry's.
fn batch(a: &AnalyzeArgs, dir: &std::path::Path) -> Result<i32> {
    if !matches!(a.format, Format::Json | Format::Text) {
        return Err(Error::Usage(format!(
            "--batch writes JSON Lines: -o {} is not offered with it (use -o json)",
            a.format.name()
        )));
    }
    let entries = super::common::dir_entries(dir)?;
    if entries.is_empty() {
        return Err(Error::Usage(format!(
            "--batch {}: the directory holds no input",
            dir.display()
        )));
    }
    let size = |p: &PathBuf| std::fs::metadata(p).map_or(0, |m| m.len());
    let lines = crate::par::map_balanced(&entries, size, |p| batch_line(a, p));
    let mut out = String::new();
    for l in &lines {
        out.push_str(&l.line);
        out.push('\n');
        for p in &l.problems {
            super::warn("analyze", p);
        }
    }
    write_out(a.out.as_deref(), out.as_bytes())?;
    Ok(lines.iter().map(|l| l.code).max().unwrap_or(exit::OK))
}

/// Analyze one batch entry into its JSON line: the `-o json` document with `input` (the
/// entry's name) and, for an entry that could not be read or mixes clusters, `error`; an entry
/// that could not be analyzed at all is `{"input", "error"}`.
fn batch_line(a: &AnalyzeArgs, path: &std::path::Path) -> BatchLine {
    let name = path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    let input = super::common::InputArgs {
        inputs: vec![path.display().to_string()],
        ..a.input.clone()
    };
    let analysis = input.options().and_then(|o| {
        analyze::run(&analyze::Options {
            workload_namespaces_exclude: a.workload_namespaces_exclude.clone(),
            ..o
        })
    });
    let failed = |e: Error| BatchLine {
        line: serde_json::json!({"input": name, "error": e.to_string()}).to_string(),
        problems: Vec::new(),
        code: e.exit_code(),
    };
    let analysis = match analysis {
        Ok(x) => x,
        Err(e) => return failed(e),
    };
    let mut buf = Vec::new();
    let doc = report::json::write(&analysis, &mut buf)
        .map_err(|e| Error::Internal(format!("rendering {name}: {e}")))
        .and_then(|()| {
            serde_json::from_slice::<serde_json::Value>(&buf)
                .map_err(|e| Error::Internal(format!("rendering {name}: {e}")))
        });
    let mut doc = match doc {
        Ok(d) => d,
        Err(e) => return failed(e),
    };
    doc["input"] = serde_json::json!(name);
    let mut code = exit_code(&analysis, a.fail_on);
    if let Some(reason) = &analysis.snapshot.refused {
        doc["error"] = serde_json::json!(Error::Refused(reason.clone()).to_string());
        code = exit::USAGE;
    } else if let Some(why) = damage(&analysis) {
        doc["error"] = serde_json::json!(why);
    }
    BatchLine {
        line: doc.to_string(),
        problems: unread_entries(&analysis),
        code,
    }
}
