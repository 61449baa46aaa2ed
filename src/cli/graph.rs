//! `harrow graph`: the trust graph as dot, JSON or mermaid, and `--blast-radius ID`.

use std::path::PathBuf;

use clap::Args;

use super::format::{Format, FormatParser};

use super::common::{InputArgs, finish, write_out, write_out_with};
use crate::analyze;
use crate::error::{Error, Result};
use crate::graph::trust;
use crate::report;

/// Output formats of `graph` (with `--blast-radius`: `json`, `yaml`, or else the listing).
const FORMATS: &[Format] = &[Format::Dot, Format::Json, Format::Yaml, Format::Mermaid];

/// Print the trust graph, or what stops working if one CA, certificate or key is replaced.
#[derive(Debug, Clone, Args)]
#[command(
    after_help = "Examples:\n  harrow graph -o dot | dot -Tsvg > trust.svg\n  harrow graph n1.tgz -o mermaid\n  harrow graph --blast-radius ca:client\n  harrow graph --blast-radius sha256:3f1c9a02 -o json"
)]
pub struct GraphArgs {
    #[command(flatten)]
    pub input: InputArgs,
    /// Output format.
    #[arg(short = 'o', long = "output", value_name = "FORMAT", default_value = "dot",
          value_parser = FormatParser(FORMATS))]
    pub format: Format,
    /// Print what depends on ID: `sha256:<hex prefix>`, `<node>:<path>`, `ca:server`,
    /// `ca:client`, `ca:request-header`, `ca:etcd-server`, `ca:etcd-peer`, `sa-key`.
    #[arg(long, value_name = "ID")]
    pub blast_radius: Option<String>,
    /// Write to FILE instead of standard output.
    #[arg(long = "out", value_name = "FILE")]
    pub out: Option<PathBuf>,
}

pub(super) fn run(a: GraphArgs) -> Result<i32> {
    let opts = analyze::Options {
        through: analyze::Through::Graph,
        ..a.input.options()?
    };
    let analysis = super::common::analyze_with_progress(&opts, a.input.quiet)?;
    let g = &analysis.graph;
    let t = crate::timings::stage("output");
    let text = if let Some(id) = &a.blast_radius {
        let start = trust::resolve_id(g, &analysis.model.certs, id).map_err(Error::Usage)?;
        let hit = trust::blast_radius(g, &start);
        match a.format {
            Format::Json | Format::Yaml => report::graph::blast_radius_json(g, id, &start, &hit),
            _ => report::graph::blast_radius_text(g, &start, &hit),
        }
    } else {
        match a.format {
            Format::Mermaid => report::graph::mermaid(g),
            // Streamed: a 100,000-certificate graph is never one JSON tree or string.
            Format::Json | Format::Yaml => String::new(),
            _ => report::graph::dot(g),
        }
    };
    let json_graph = |w: &mut dyn std::io::Write| {
        report::graph::write_json(&analysis, opts.fingerprint_key.as_ref(), w)
    };
    let written = match (a.blast_radius.is_none(), a.format) {
        (true, Format::Json) => write_out_with(a.out.as_deref(), &mut |w| json_graph(w)),
        (true, Format::Yaml) => write_out_with(a.out.as_deref(), &mut |w| {
            report::tabular::yaml_via_json(w, &mut |j| json_graph(j))
        }),
        (false, Format::Yaml) => write_out_with(a.out.as_deref(), &mut |w| {
            report::tabular::yaml_from_json(text.as_bytes(), w)
        }),
        _ => write_out(a.out.as_deref(), text.as_bytes()),
    };
    drop(t);
    finish(written, analysis)
}
