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
}

pub(super) fn run(a: AnalyzeArgs) -> Result<i32> {
    let opts = analyze::Options {
        workload_namespaces_exclude: a.workload_namespaces_exclude.clone(),
        ..a.input.options()?
    };
    let analysis = analyze::run(&opts)?;
    // Entries the model could not read: named on standard error; the analysis ran without them.
    for (origin, message) in analysis.model.problems() {
        let entry = match &origin.pointer {
            Some(p) => format!("{} ({p})", origin.path),
            None => origin.path.clone(),
        };
        super::warn(
            "analyze",
            &Error::input(&origin.input, Some(entry), &message),
        );
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
    if analysis.all_inputs_unreadable() {
        return Ok(exit::USAGE);
    }
    let threshold = match a.fail_on {
        FailOn::Critical => Some(Severity::Critical),
        FailOn::High => Some(Severity::High),
        FailOn::Medium => Some(Severity::Medium),
        FailOn::Low => Some(Severity::Low),
        FailOn::Info => Some(Severity::Info),
        FailOn::None => None,
    };
    Ok(match threshold {
        Some(t) if analysis.findings.iter().any(|f| f.severity <= t) => exit::FINDINGS,
        _ => exit::OK,
    })
}
