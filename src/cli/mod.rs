//! Command-line interface: clap definitions and dispatch. Raw arguments are turned into validated
//! options once, here; the library below never sees clap types. Each subcommand's `run` returns
//! its exit code or an [`Error`]; [`main_with_args`] is the one place that prints an error
//! (`harrow <command>: <message>`) and turns it into its exit code.

mod analyze;
mod certs;
mod collect;
mod common;
mod diff;
mod docs;
mod explain;
mod format;
mod graph;
mod plan;
mod progress;
mod redact;
mod rules;
mod run;
mod simulate;
mod timeline;

use std::ffi::OsString;

use clap::{Parser, Subcommand};

pub use analyze::AnalyzeArgs;

use crate::error::Error;
pub use crate::error::exit;

/// Offline analysis of Harvester support bundles and RKE2 node snapshots.
///
/// harrow reads what was collected from a cluster (never the live cluster), builds one model of
/// its certificates, keys, tokens and nodes, and reports what is expired, broken, inconsistent or
/// unhardened, each finding with a pointer to its evidence. It needs no network.
#[derive(Debug, Parser)]
#[command(name = "harrow", version, propagate_version = true)]
#[command(
    after_help = "Examples:\n  harrow analyze                          # the demo in bundles/demo\n  harrow analyze supportbundle_x.zip n1.tgz n2.tgz\n  harrow analyze bundle.zip -o json --at 2027-01-15T02:00:00Z"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Full analysis: inputs, cluster, nodes, findings and coverage.
    Analyze(AnalyzeArgs),
    /// Certificate inventory across all nodes, one row per occurrence.
    Certs(certs::CertsArgs),
    /// The trust graph (dot, json, mermaid), or --blast-radius ID.
    Graph(graph::GraphArgs),
    /// Dated list of what expires or breaks, from the reference time on.
    Timeline(timeline::TimelineArgs),
    /// The rule catalog: every rule with its code, severity, title and the data it needs.
    Rules(rules::RulesArgs),
    /// One rule's documentation: what it reads and reports, why it matters, what to do.
    Explain(explain::ExplainArgs),
    /// Compare one cluster's credentials before and after a rotation; exit 1 if not converged.
    Diff(diff::DiffArgs),
    /// The completion script for a shell (bash, zsh, fish, elvish, powershell).
    Completions(docs::CompletionsArgs),
    /// The manual page (harrow.1), or every command's page with --out-dir.
    Man(docs::ManArgs),
    /// Plan a rotation (leaf-certs, service-account-key, ca, token) as a runbook.
    Plan(plan::PlanArgs),
    /// Judge a rotation runbook against the inputs' trust state, step by step.
    Simulate(simulate::SimulateArgs),
    /// Execute a runbook over the nodes with a durable journal (--dry-run to see it first).
    Run(run::RunArgs),
    /// Continue a run from its journal after a crash, a failure or a gate.
    Resume(run::ResumeArgs),
    /// A run's progress from its journal: done / interrupted / pending per step × node.
    Status(run::StatusArgs),
    /// A copy of a bundle or node snapshot with every secret replaced.
    Redact(redact::RedactArgs),
    /// Write this node's air-gapped snapshot (host files, commands/*.txt, snapshot.yaml).
    Collect(collect::CollectArgs),
}

/// Run harrow with these arguments (the first is the program name); returns the exit code.
pub fn main_with_args<I: IntoIterator<Item = OsString>>(args: I) -> i32 {
    let cli = match Cli::try_parse_from(args) {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() {
                exit::USAGE
            } else {
                exit::OK
            };
            let _ = e.print();
            return code;
        }
    };
    let name = cli.command.name();
    let outcome = std::panic::catch_unwind(move || match cli.command {
        Command::Analyze(a) => analyze::run(a),
        Command::Certs(a) => certs::run(a),
        Command::Graph(a) => graph::run(a),
        Command::Timeline(a) => timeline::run(a),
        Command::Rules(a) => rules::run(a),
        Command::Explain(a) => explain::run(a),
        Command::Diff(a) => diff::run(a),
        Command::Completions(a) => docs::completions(a),
        Command::Man(a) => docs::man(a),
        Command::Plan(a) => plan::run(a),
        Command::Simulate(a) => simulate::run(a),
        Command::Run(a) => run::run(a),
        Command::Resume(a) => run::resume(a),
        Command::Status(a) => run::status(a),
        Command::Redact(a) => redact::run(a),
        Command::Collect(a) => collect::run(a),
    })
    .unwrap_or_else(|_| {
        Err(Error::Internal(
            "internal error (a bug): please report it with the command line used".into(),
        ))
    });
    match outcome {
        Ok(code) => code,
        Err(e) => {
            print_error(name, &e);
            e.exit_code()
        }
    }
}

impl Command {
    /// The subcommand's name, as errors are prefixed with it.
    fn name(&self) -> &'static str {
        match self {
            Command::Analyze(_) => "analyze",
            Command::Certs(_) => "certs",
            Command::Graph(_) => "graph",
            Command::Timeline(_) => "timeline",
            Command::Rules(_) => "rules",
            Command::Explain(_) => "explain",
            Command::Diff(_) => "diff",
            Command::Completions(_) => "completions",
            Command::Man(_) => "man",
            Command::Plan(_) => "plan",
            Command::Simulate(_) => "simulate",
            Command::Run(_) => "run",
            Command::Resume(_) => "resume",
            Command::Status(_) => "status",
            Command::Redact(_) => "redact",
            Command::Collect(_) => "collect",
        }
    }
}

/// A problem a command reports and carries on after (an input entry it could not read): printed
/// like an error, without ending the command.
fn warn(command: &str, problem: &Error) {
    print_error(command, problem);
}

/// The one place an error reaches standard error.
#[allow(clippy::print_stderr)]
fn print_error(command: &str, e: &Error) {
    eprintln!("harrow {command}: {e}");
}
