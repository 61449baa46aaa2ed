//! `harrow timeline`: the dated list of what expires or breaks, from the reference time on, with
//! the collection times marked.

use std::path::PathBuf;

use clap::Args;

use super::format::{Format, FormatParser};

use super::common::{InputArgs, finish, write_out, write_out_with};
use crate::analyze;
use crate::error::Result;
use crate::graph::timeline;
use crate::report;

const FORMATS: &[Format] = &[Format::Text, Format::Json, Format::Yaml, Format::Csv];

/// What expires or breaks when: a cliff calendar of the live credentials.
#[derive(Debug, Clone, Args)]
#[command(
    after_help = "Examples:\n  harrow timeline\n  harrow timeline bundle.zip n1.tgz --at collected\n  harrow timeline n*.tgz -o json"
)]
pub struct TimelineArgs {
    #[command(flatten)]
    pub input: InputArgs,
    /// Output format.
    #[arg(short = 'o', long = "output", value_name = "FORMAT", default_value = "text",
          value_parser = FormatParser(FORMATS))]
    pub format: Format,
    /// Write to FILE instead of standard output.
    #[arg(long = "out", value_name = "FILE")]
    pub out: Option<PathBuf>,
}

pub(super) fn run(a: TimelineArgs) -> Result<i32> {
    let opts = analyze::Options {
        through: analyze::Through::Inventory,
        ..a.input.options()?
    };
    let analysis = super::common::analyze_with_progress(&opts, a.input.quiet)?;
    let collected: Vec<(String, time::OffsetDateTime)> = analysis
        .snapshot
        .inputs
        .iter()
        .filter_map(|i| i.collected_at.map(|t| (i.name.clone(), t)))
        .collect();
    let events = timeline::build(
        &analysis.model.certs,
        analysis.reference_time,
        analysis.renew_window_days,
        &collected,
        &timeline::annotated_expiries(&analysis.snapshot),
    );
    let written = match a.format {
        Format::Json => write_out(a.out.as_deref(), report::timeline::json(&events).as_bytes()),
        Format::Yaml => write_out_with(a.out.as_deref(), &mut |w| {
            report::tabular::yaml_from_json(report::timeline::json(&events).as_bytes(), w)
        }),
        Format::Csv => write_out(a.out.as_deref(), report::timeline::csv(&events).as_bytes()),
        _ => write_out(a.out.as_deref(), report::timeline::text(&events).as_bytes()),
    };
    finish(written, analysis)
}
