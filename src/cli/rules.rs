//! `harrow rules`: the rule catalog from the registry, as a table or JSON.

use std::path::PathBuf;

use clap::{Args, ValueEnum};

use super::common::write_out;
use crate::error::Result;
use crate::report;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RulesFormat {
    Table,
    Json,
}

/// List every rule harrow evaluates: code, severity, title, the data it needs, its source.
#[derive(Debug, Clone, Args)]
#[command(
    after_help = "Examples:\n  harrow rules\n  harrow rules -o json\n  harrow explain CERT002"
)]
pub struct RulesArgs {
    /// Output format.
    #[arg(short = 'o', long = "output", value_enum, default_value_t = RulesFormat::Table)]
    pub format: RulesFormat,
    /// Write to FILE instead of standard output.
    #[arg(long = "out", value_name = "FILE")]
    pub out: Option<PathBuf>,
}

pub(super) fn run(a: RulesArgs) -> Result<i32> {
    let text = match a.format {
        RulesFormat::Table => report::rules::table(crate::checks::RULES),
        RulesFormat::Json => report::rules::json(crate::checks::RULES),
    };
    write_out(a.out.as_deref(), text.as_bytes())?;
    Ok(super::exit::OK)
}
