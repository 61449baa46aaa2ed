//! `harrow certs`: the certificate inventory across nodes, one row per occurrence (table, csv) or
//! the analyze JSON `certificates` array.

use std::path::PathBuf;

use clap::Args;

use super::format::{Format, FormatParser};

use super::common::{InputArgs, finish, write_out, write_out_with};
use crate::analyze;
use crate::error::{Error, Result};
use crate::report;

/// Output formats of `certs`.
const FORMATS: &[Format] = &[Format::Table, Format::Csv, Format::Json, Format::Yaml];

/// List every certificate of every node and bundle object, with status and chain status.
#[derive(Debug, Clone, Args)]
#[command(
    after_help = "Examples:\n  harrow certs\n  harrow certs n1.tgz n2.tgz -o csv --out certs.csv\n  harrow certs bundle.zip n1.tgz -o json --at +30d"
)]
pub struct CertsArgs {
    #[command(flatten)]
    pub input: InputArgs,
    /// Output format.
    #[arg(short = 'o', long = "output", value_name = "FORMAT", default_value = "table",
          value_parser = FormatParser(FORMATS))]
    pub format: Format,
    /// Write to FILE instead of standard output.
    #[arg(long = "out", value_name = "FILE")]
    pub out: Option<PathBuf>,
}

pub(super) fn run(a: CertsArgs) -> Result<i32> {
    let opts = analyze::Options {
        through: analyze::Through::Inventory,
        ..a.input.options()?
    };
    let analysis = super::common::analyze_with_progress(&opts, a.input.quiet)?;
    let inv = &analysis.model.certs;
    for p in &inv.problems {
        super::warn(
            "certs",
            &Error::input(&p.origin.input, Some(p.origin.path.clone()), &p.message),
        );
    }
    let t = crate::timings::stage("output");
    let written = match a.format {
        Format::Table | Format::Text => {
            let mut s = format!(
                "reference time {} ({}) · renew window {} d: {}\n",
                crate::timefmt::rfc3339(analysis.reference_time),
                analysis.reference_label,
                analysis.renew_window_days,
                analysis.renew_window_source
            );
            s.push_str(&report::certs::table(inv, analysis.judge_at()));
            write_out(a.out.as_deref(), s.as_bytes())
        }
        Format::Csv => write_out(
            a.out.as_deref(),
            report::certs::csv(inv, analysis.judge_at()).as_bytes(),
        ),
        // Streamed: a 100,000-certificate inventory is never one JSON tree or string.
        Format::Json => write_out_with(a.out.as_deref(), &mut |w| {
            report::certs::write_certificates_json(inv, analysis.judge_at(), w)
        }),
        _ => write_out_with(a.out.as_deref(), &mut |w| {
            report::tabular::yaml_via_json(w, &mut |j| {
                report::certs::write_certificates_json(inv, analysis.judge_at(), j)
            })
        }),
    };
    drop(t);
    finish(written, analysis)
}
