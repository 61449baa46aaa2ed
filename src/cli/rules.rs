//! `harrow rules`: the rule catalog from the registry, as a table or JSON.

use std::path::PathBuf;

use clap::Args;

use super::format::{Format, FormatParser};

use super::common::{write_out, write_out_with};
use crate::error::Result;
use crate::report;

const FORMATS: &[Format] = &[Format::Table, Format::Json, Format::Yaml, Format::Csv];

/// List every rule harrow evaluates: code, severity, title, the data it needs, its source.
#[derive(Debug, Clone, Args)]
#[command(
    after_help = "Examples:\n  harrow rules\n  harrow rules -o json\n  harrow explain CERT002"
)]
pub struct RulesArgs {
    /// Output format.
    #[arg(short = 'o', long = "output", value_name = "FORMAT", default_value = "table",
          value_parser = FormatParser(FORMATS))]
    pub format: Format,
    /// Write to FILE instead of standard output.
    #[arg(long = "out", value_name = "FILE")]
    pub out: Option<PathBuf>,
}

pub(super) fn run(a: RulesArgs) -> Result<i32> {
    let rules = crate::checks::RULES;
    match a.format {
        Format::Json => write_out(a.out.as_deref(), report::rules::json(rules).as_bytes()),
        Format::Yaml => write_out_with(a.out.as_deref(), &mut |w| {
            report::tabular::yaml_from_json(report::rules::json(rules).as_bytes(), w)
        }),
        Format::Csv => write_out(a.out.as_deref(), report::rules::csv(rules).as_bytes()),
        _ => write_out(a.out.as_deref(), report::rules::table(rules).as_bytes()),
    }?;
    Ok(super::exit::OK)
}
