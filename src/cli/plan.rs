//! `harrow plan KIND [INPUT]...`: the safe rotation runbook for the cluster of the inputs, as
//! YAML on stdout (or `--out FILE`), with a readable summary on stderr. `ca` generates the new CA
//! material offline into `--stage-dir DIR`. Refusals name their reason and source.

use std::path::PathBuf;

use clap::{Args, ValueEnum};

use super::common::{InputArgs, write_out};
use crate::analyze;
use crate::error::{Result, exit};
use crate::rotation::plan::{self, Kind, Request};
use crate::rotation::stage::CaMode;
use crate::runbook;

/// What to rotate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum KindArg {
    /// Leaf certificates (`rke2 certificate rotate`), servers then agents.
    LeafCerts,
    /// The service-account issuer key (new key first, old kept; `rotate-ca`).
    ServiceAccountKey,
    /// The cluster CAs (`rotate-ca`): cross-signed, same root, or new root with --force.
    Ca,
    /// The server token (`rke2 token rotate`; refused on Harvester).
    Token,
}

/// The CA topology.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ModeArg {
    /// New roots cross-signed by the old ones (self-signed clusters).
    #[value(alias = "self-signed")]
    CrossSigned,
    /// New CAs under the same custom root (needs --ca-from with the intermediate).
    SameRoot,
    /// A new root, not cross-signed (needs --force).
    NewRoot,
}

/// Plan a rotation for the cluster of the inputs.
#[derive(Debug, Clone, Args)]
#[command(
    after_help = "Examples:\n  harrow plan leaf-certs bundle.zip n*.tgz --out leaf.yaml\n  harrow plan leaf-certs --service etcd --node n2 n2.tgz\n  harrow plan ca s1.tgz s2.tgz a1.tgz --stage-dir ./new-ca --out ca.yaml\n  harrow simulate ca.yaml s1.tgz s2.tgz a1.tgz"
)]
pub struct PlanArgs {
    /// What to rotate.
    #[arg(value_enum, value_name = "KIND")]
    pub kind: KindArg,
    #[command(flatten)]
    pub input: InputArgs,
    /// `ca`: the topology of the new CAs (default: cross-signed, or same-root for a custom CA).
    #[arg(long, value_enum)]
    pub mode: Option<ModeArg>,
    /// `ca`: a new, empty directory where the new CA material is generated (keys mode 0600).
    #[arg(long, value_name = "DIR")]
    pub stage_dir: Option<PathBuf>,
    /// `ca`: a root-only copy of a server's server/tls with the current CA keys (or, same-root,
    /// intermediate-ca.crt and intermediate-ca.key), when the inputs do not carry them.
    #[arg(long, value_name = "DIR")]
    pub ca_from: Option<PathBuf>,
    /// Plan a new root (`rotate-ca --force`), or a CA rotation of a cluster whose CA expired.
    #[arg(long)]
    pub force: bool,
    /// `leaf-certs`: rotate only this service (repeatable: api-server, etcd, kubelet, ...).
    #[arg(long = "service", value_name = "SERVICE")]
    pub services: Vec<String>,
    /// `leaf-certs`: rotate only this node.
    #[arg(long, value_name = "NAME")]
    pub node: Option<String>,
    /// Write the runbook to FILE instead of standard output.
    #[arg(long = "out", value_name = "FILE")]
    pub out: Option<PathBuf>,
}

pub(super) fn run(a: PlanArgs) -> Result<i32> {
    let opts = analyze::Options {
        through: analyze::Through::Graph,
        ..a.input.options()?
    };
    let analysis = super::common::analyze_with_progress(&opts, a.input.quiet)?;
    let req = Request {
        kind: match a.kind {
            KindArg::LeafCerts => Kind::LeafCerts,
            KindArg::ServiceAccountKey => Kind::ServiceAccountKey,
            KindArg::Ca => Kind::Ca,
            KindArg::Token => Kind::Token,
        },
        ca_mode: a.mode.map(|m| match m {
            ModeArg::CrossSigned => CaMode::SelfSigned,
            ModeArg::SameRoot => CaMode::SameRoot,
            ModeArg::NewRoot => CaMode::NewRoot,
        }),
        stage_dir: a.stage_dir,
        ca_from: a.ca_from,
        force: a.force,
        at: analysis.reference_time,
        services: a.services,
        node: a.node,
    };
    let p = {
        let _t = crate::timings::stage("plan");
        plan::plan(&req, &analysis.snapshot, &analysis.model)?
    };
    let yaml = runbook::write::to_yaml(&p.runbook, &p.header)?;
    // What is written must load: the executor and the simulator read this very text.
    runbook::load_str("(planned runbook)", &yaml, &[])?;
    write_out(a.out.as_deref(), yaml.as_bytes())?;
    let mut err = String::new();
    for line in &p.summary {
        err.push_str("harrow plan: ");
        err.push_str(line);
        err.push('\n');
    }
    if let Some(out) = &a.out {
        err.push_str(&format!(
            "harrow plan: runbook written to {}\n",
            out.display()
        ));
    }
    use std::io::Write as _;
    let _ = std::io::stderr().write_all(err.as_bytes());
    std::mem::forget(analysis);
    Ok(exit::OK)
}
