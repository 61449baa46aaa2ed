//! `harrow simulate RUNBOOK [INPUT]...`: load a runbook (strict: file:line:col errors), build
//! the trust state of the inputs and apply the runbook's steps to it; print the assumptions,
//! then per step which links hold, break or heal and why, the ROT findings and the persistent
//! breaks. Exit 1 on any persistent break, finding, or part the simulation could not judge.

use std::path::PathBuf;

use clap::Args;

use super::common::{InputArgs, write_out, write_out_with};
use super::format::{Format, FormatParser};
use crate::analyze;
use crate::error::{Error, Result, exit};
use crate::report;
use crate::rotation::sim;
use crate::runbook;

const FORMATS: &[Format] = &[Format::Text, Format::Json, Format::Yaml];

/// Judge a runbook against the trust state of a snapshot, step by step.
#[derive(Debug, Clone, Args)]
#[command(
    after_help = "Examples:\n  harrow plan leaf-certs --out leaf.yaml && harrow simulate leaf.yaml\n  harrow simulate rotate-custom-ca.yaml bundle.zip s1.tgz s2.tgz --var staging_dir=/opt/rke2/server\n  harrow simulate runbook.yaml n*.tgz -o json"
)]
pub struct SimulateArgs {
    #[command(flatten)]
    pub rb: RunbookArgs,
    /// Output format.
    #[arg(short = 'o', long = "output", value_name = "FORMAT", default_value = "text",
          value_parser = FormatParser(FORMATS))]
    pub format: Format,
    /// Write to FILE instead of standard output.
    #[arg(long = "out", value_name = "FILE")]
    pub out: Option<PathBuf>,
}

/// A runbook, the inputs it is judged against, and `--var` overrides (`simulate` and `run`).
#[derive(Debug, Clone, Args)]
pub struct RunbookArgs {
    /// The runbook (YAML, apiVersion harrow/v1).
    #[arg(value_name = "RUNBOOK")]
    pub runbook: PathBuf,
    #[command(flatten)]
    pub input: InputArgs,
    /// Override a param: NAME=VALUE (repeatable; secrets come from their env or file only).
    #[arg(long = "var", value_name = "NAME=VALUE")]
    pub vars: Vec<String>,
}

impl RunbookArgs {
    /// The runbook loaded with the `--var` overrides.
    pub(super) fn load(&self) -> Result<runbook::Loaded> {
        runbook::load_file(&self.runbook, &parse_vars(&self.vars)?)
    }
}

/// `NAME=VALUE` pairs of `--var`.
pub(super) fn parse_vars(vars: &[String]) -> Result<Vec<(String, String)>> {
    vars.iter()
        .map(|v| {
            v.split_once('=')
                .map(|(k, val)| (k.trim().to_string(), val.to_string()))
                .filter(|(k, _)| !k.is_empty())
                .ok_or_else(|| Error::Usage(format!("--var {v}: expected NAME=VALUE")))
        })
        .collect()
}

pub(super) fn run(a: SimulateArgs) -> Result<i32> {
    let loaded = a.rb.load()?;
    let opts = analyze::Options {
        through: analyze::Through::Graph,
        ..a.rb.input.options()?
    };
    let analysis = super::common::analyze_with_progress(&opts, a.rb.input.quiet)?;
    let at = analysis.reference_time;
    let report = {
        let _t = crate::timings::stage("simulate");
        sim::simulate(&loaded, &analysis.snapshot, &analysis.model, at)
    };
    let written = match a.format {
        Format::Json => write_out(a.out.as_deref(), report::rotation::json(&report).as_bytes()),
        Format::Yaml => write_out_with(a.out.as_deref(), &mut |w| {
            report::tabular::yaml_from_json(report::rotation::json(&report).as_bytes(), w)
        }),
        _ => write_out(a.out.as_deref(), report::rotation::text(&report).as_bytes()),
    };
    written?;
    std::mem::forget(analysis);
    Ok(if report.passes() {
        exit::OK
    } else {
        exit::FINDINGS
    })
}
