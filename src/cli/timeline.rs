//! `harrow timeline`: the dated list of what expires or breaks, from the reference time on, with
//! the collection times marked.

use std::path::PathBuf;

use clap::{Args, ValueEnum};

use super::common::{InputArgs, finish, write_out};
use crate::analyze;
use crate::error::Result;
use crate::graph::timeline;
use crate::report;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TimelineFormat {
    Text,
    Json,
}

/// What expires or breaks when: a cliff calendar of the live credentials.
#[derive(Debug, Clone, Args)]
#[command(
    after_help = "Examples:\n  harrow timeline\n  harrow timeline bundle.zip n1.tgz --at collected\n  harrow timeline n*.tgz -o json"
)]
pub struct TimelineArgs {
    #[command(flatten)]
    pub input: InputArgs,
    /// Output format.
    #[arg(short = 'o', long = "output", value_enum, default_value_t = TimelineFormat::Text)]
    pub format: TimelineFormat,
    /// Write to FILE instead of standard output.
    #[arg(long = "out", value_name = "FILE")]
    pub out: Option<PathBuf>,
}

pub(super) fn run(a: TimelineArgs) -> Result<i32> {
    let opts = analyze::Options {
        through: analyze::Through::Inventory,
        ..a.input.options()?
    };
    let analysis = analyze::run(&opts)?;
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
    let text = match a.format {
        TimelineFormat::Json => report::timeline::json(&events),
        TimelineFormat::Text => report::timeline::text(&events),
    };
    finish(write_out(a.out.as_deref(), text.as_bytes()), analysis)
}
