//! `harrow diff BEFORE AFTER` (or `--before INPUT... --after INPUT...`): arguments, the inputs of
//! each side, rendering, and the exit code (0 converged, 1 not converged, 2 usage).

use std::path::{Path, PathBuf};

use clap::Args;

use super::common::{InputArgs, LimitArgs, dir_entries, write_out, write_out_with};
use super::exit;
use super::format::{Format, FormatParser};
use crate::error::{Error, Result};
use crate::report;

/// Output formats of `diff`.
const FORMATS: &[Format] = &[Format::Text, Format::Json, Format::Yaml];

/// Compare the credentials of one cluster before and after a rotation.
///
/// Per node: which certificate fingerprints changed, which nodes still present a leaf of the old
/// CA or trust only the old CA, which tokens still pin the old CA hash, which kubeconfig copies
/// are stale, and how the service-account keys changed. Exits 0 when the rotation converged
/// (every node consistent with the new state), 1 when it did not (the report says which node and
/// what).
///
/// BEFORE and AFTER are each one input (a support bundle or node snapshot) or a directory whose
/// entries are the inputs of that side; `--before` and `--after` take several inputs each.
#[derive(Debug, Clone, Args)]
#[command(
    after_help = "Examples:\n  harrow diff before/ after/\n  harrow diff --before s1-old.tgz s2-old.tgz --after s1.tgz s2.tgz -o json"
)]
pub struct DiffArgs {
    /// The inputs before the rotation: one input, or a directory of inputs.
    #[arg(value_name = "BEFORE", required_unless_present = "before",
          conflicts_with_all = ["before", "after"])]
    pub before_side: Option<String>,
    /// The inputs after the rotation: one input, or a directory of inputs.
    #[arg(value_name = "AFTER", required_unless_present = "after",
          conflicts_with_all = ["before", "after"])]
    pub after_side: Option<String>,
    /// The inputs before the rotation (instead of BEFORE).
    #[arg(long, value_name = "INPUT", num_args = 1.., requires = "after")]
    pub before: Vec<String>,
    /// The inputs after the rotation (instead of AFTER).
    #[arg(long, value_name = "INPUT", num_args = 1.., requires = "before")]
    pub after: Vec<String>,
    /// Output format.
    #[arg(short = 'o', long = "output", value_name = "FORMAT", default_value = "text",
          value_parser = FormatParser(FORMATS))]
    pub format: Format,
    /// Write the report to FILE instead of standard output.
    #[arg(long = "out", value_name = "FILE")]
    pub out: Option<PathBuf>,
    #[command(flatten)]
    pub limits: LimitArgs,
}

/// Files and directories whose presence at the top of a directory make it one input (a support
/// bundle or a node snapshot) rather than a directory of inputs.
const INPUT_MARKERS: &[&str] = &[
    "metadata.yaml",
    "yamls",
    "bundleGenerationError.log",
    "snapshot.yaml",
    "etc",
    "var",
    "oem",
    "commands",
];

/// The inputs of one side: each argument as given, except a directory that is neither a
/// bundle nor a node snapshot at its top, which stands for its entries.
fn side(args: &[String]) -> Result<Vec<String>> {
    let mut out = Vec::new();
    for a in args {
        let p = Path::new(a);
        if p.is_dir() && !INPUT_MARKERS.iter().any(|m| p.join(m).exists()) {
            let entries = dir_entries(p)?;
            if entries.is_empty() {
                return Err(Error::Usage(format!("{a}: an empty directory is no input")));
            }
            out.extend(entries.iter().map(|e| e.display().to_string()));
        } else {
            out.push(a.clone());
        }
    }
    Ok(out)
}

pub(super) fn run(a: DiffArgs) -> Result<i32> {
    let (before, after) = match (&a.before_side, &a.after_side) {
        (Some(b), Some(af)) => (vec![b.clone()], vec![af.clone()]),
        _ => (a.before.clone(), a.after.clone()),
    };
    let options = |inputs: Vec<String>| {
        InputArgs {
            inputs,
            at: "collected".into(),
            fingerprint_key: None,
            limits: a.limits.clone(),
            quiet: true,
        }
        .options()
    };
    let (before, after) = (options(side(&before)?)?, options(side(&after)?)?);
    let diff = crate::diff::run(&before, &after)?;
    match a.format {
        Format::Json => write_out_with(a.out.as_deref(), &mut |w| {
            report::diff::write_json(&diff, w)
        }),
        Format::Yaml => write_out_with(a.out.as_deref(), &mut |w| {
            report::tabular::yaml_via_json(w, &mut |j| report::diff::write_json(&diff, j))
        }),
        _ => write_out(a.out.as_deref(), report::diff::text(&diff).as_bytes()),
    }?;
    Ok(if diff.converged() {
        exit::OK
    } else {
        exit::FINDINGS
    })
}
