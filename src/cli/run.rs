//! `harrow run RUNBOOK [INPUT]...`, `harrow resume DIR` and `harrow status DIR`: the executor's
//! commands. `run` loads the runbook, simulates it against the inputs (refusing one that fails
//! unless `--skip-simulate`), builds the inventory (`--inventory FILE` or the snapshot), and
//! executes it with a journal (`--dry-run` prints what would run and touches nothing).
//! `resume` continues a run from its journal, refusing when the runbook, params or inventory
//! changed unless `--accept-changes`. `status` reads a journal.

use std::collections::BTreeMap;
use std::io::IsTerminal as _;
use std::path::{Path, PathBuf};

use clap::{Args, ValueEnum};

use super::common::write_out;
use super::format::{Format, FormatParser};
use crate::analyze;
use crate::error::{Error, Result, exit};
use crate::exec::engine::{self, LOCAL};
use crate::exec::journal::{self, Journal, Record};
use crate::exec::transport::Transports;
use crate::exec::{self, Exec, Inventory, Masker, Options, Replay, TransportKind};
use crate::rotation::sim;
use crate::runbook::{self, Loaded};

/// The transport for every node of a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TransportArg {
    /// `sh -c` on this machine, with each node's variables (single-node sites, rehearsals).
    Local,
    /// The system OpenSSH client (`BatchMode`, host keys checked, your ssh config).
    Ssh,
}

impl TransportArg {
    fn kind(self) -> TransportKind {
        match self {
            TransportArg::Local => TransportKind::Local,
            TransportArg::Ssh => TransportKind::Ssh,
        }
    }
}

/// Execute a runbook step by step with a durable journal.
#[derive(Debug, Clone, Args)]
#[command(
    after_help = "Examples:\n  harrow run leaf.yaml bundle.zip n*.tgz --inventory nodes.yaml --dry-run\n  harrow run leaf.yaml bundle.zip n*.tgz --inventory nodes.yaml\n  harrow run rehearsal.yaml s1.tgz --transport local --yes\n  harrow resume harrow-runs/rotate-leaf-certs-20270115T020000Z --yes\n\nExit codes: 0 done; 4 a step failed; 5 stopped at a confirm gate (or an interrupted step\nneeds a decision); 6 preflight or simulation failed; 7 journal locked or resume refused."
)]
pub struct RunArgs {
    #[command(flatten)]
    pub rb: super::simulate::RunbookArgs,
    /// The run's journal directory (default: harrow-runs/NAME-TIME, the runbook's name and the UTC start).
    #[arg(long, value_name = "DIR")]
    pub journal: Option<PathBuf>,
    /// Print what would run on which node, in order; run nothing, write no journal.
    #[arg(long)]
    pub dry_run: bool,
    /// Answer every confirm gate with yes (scripts).
    #[arg(long)]
    pub yes: bool,
    /// The nodes (YAML: nodes with name, role, address, transport, user, port, become).
    #[arg(long, value_name = "FILE")]
    pub inventory: Option<PathBuf>,
    /// Reach every node this way (default: as the inventory says; ssh for a snapshot's nodes).
    #[arg(long, value_enum)]
    pub transport: Option<TransportArg>,
    /// An ssh configuration file for every ssh and scp call (`-F FILE`).
    #[arg(long, value_name = "FILE")]
    pub ssh_config: Option<PathBuf>,
    /// The state directory on ssh nodes where each step's command, output and markers live,
    /// relative to the login directory unless absolute.
    #[arg(long, value_name = "DIR", default_value = crate::exec::REMOTE_STATE)]
    pub remote_state: String,
    /// Run without simulating first (the simulation needs the cluster's inputs).
    #[arg(long)]
    pub skip_simulate: bool,
}

/// Continue a run from its journal.
#[derive(Debug, Clone, Args)]
#[command(
    after_help = "Examples:\n  harrow resume harrow-runs/rotate-leaf-certs-20270115T020000Z\n  harrow resume DIR --yes --accept-changes\n  harrow resume DIR --retry-interrupted"
)]
pub struct ResumeArgs {
    /// The run's journal directory.
    #[arg(value_name = "DIR")]
    pub dir: PathBuf,
    /// Answer every confirm gate with yes.
    #[arg(long)]
    pub yes: bool,
    /// Continue although the runbook, params or inventory changed since the run began.
    #[arg(long)]
    pub accept_changes: bool,
    /// Run an interrupted step again even when it is not idempotent.
    #[arg(long)]
    pub retry_interrupted: bool,
    /// No progress display.
    #[arg(long, short = 'q')]
    pub quiet: bool,
}

const STATUS_FORMATS: &[Format] = &[Format::Text, Format::Json];

/// Show a run's journal: done / interrupted / pending per step × node.
#[derive(Debug, Clone, Args)]
#[command(
    after_help = "Examples:\n  harrow status harrow-runs/rotate-leaf-certs-20270115T020000Z\n  harrow status DIR -o json"
)]
pub struct StatusArgs {
    /// The run's journal directory.
    #[arg(value_name = "DIR")]
    pub dir: PathBuf,
    /// Output format.
    #[arg(short = 'o', long = "output", value_name = "FORMAT", default_value = "text",
          value_parser = FormatParser(STATUS_FORMATS))]
    pub format: Format,
    /// Write to FILE instead of standard output.
    #[arg(long = "out", value_name = "FILE")]
    pub out: Option<PathBuf>,
}

pub(super) fn run(a: RunArgs) -> Result<i32> {
    let loaded = a.rb.load()?;
    let secrets = exec::secrets(&loaded)?;
    let masker = Masker::new(secrets.values().map(String::as_str));
    let explicit_inputs = !a.rb.input.inputs.is_empty();
    let analysis = if explicit_inputs || a.inventory.is_none() {
        let opts = analyze::Options {
            through: analyze::Through::Graph,
            ..a.rb.input.options()?
        };
        Some(super::common::analyze_with_progress(
            &opts,
            a.rb.input.quiet,
        )?)
    } else {
        None
    };
    if analysis.is_some() && !explicit_inputs {
        say(
            "harrow run: no INPUT given: the inventory and simulation are the demo's (bundles/demo)",
        );
    }
    // Simulate first.
    if a.skip_simulate {
        say(
            "harrow run: --skip-simulate: the runbook is not checked against the cluster's trust state",
        );
    } else {
        let Some(an) = &analysis else {
            return Err(Error::Usage(
                "the simulation needs the cluster's inputs: give its support bundle or node \
                 snapshots as INPUT, or --skip-simulate"
                    .into(),
            ));
        };
        let report = sim::simulate(&loaded, &an.snapshot, &an.model, an.reference_time);
        if !report.passes() {
            eprint_block(&crate::report::rotation::text(&report));
            say(&format!(
                "harrow run: refused: the simulation of {} fails (above); fix the runbook, or run \
                 it anyway with --skip-simulate",
                loaded.path
            ));
            return Ok(exit::PREFLIGHT_FAILED);
        }
        say("harrow run: simulation passes");
    }
    // The inventory.
    let mut inventory = match &a.inventory {
        Some(p) => Inventory::load(p)?,
        None => {
            let an = analysis
                .as_ref()
                .ok_or_else(|| Error::Internal("no analysis for the inventory".into()))?;
            let state = crate::rotation::state::build(&an.snapshot, &an.model);
            let addresses: BTreeMap<String, Vec<String>> = an
                .snapshot
                .nodes
                .iter()
                .map(|(name, n)| (name.clone(), n.addresses.iter().cloned().collect()))
                .collect();
            let inv = Inventory::from_state(&state, &addresses, TransportKind::Ssh);
            let left_out: Vec<&str> = state
                .nodes
                .keys()
                .filter(|n| !inv.nodes.contains_key(*n))
                .map(String::as_str)
                .collect();
            if !left_out.is_empty() {
                say(&format!(
                    "harrow run: left out of the inventory (not DNS-1123 names): {}; give them                      with --inventory FILE",
                    left_out.join(", ")
                ));
            }
            inv
        }
    };
    if let Some(t) = a.transport {
        inventory = inventory.with_transport(t.kind());
    }
    let transports = Transports {
        ssh_config: a.ssh_config.clone(),
    };
    let started = time::OffsetDateTime::now_utc();
    let run_id = exec::run_id(&loaded.runbook.metadata.name, started);
    let mut params = loaded.params.clone();
    params.extend(secrets.clone());
    // Every command renders before anything runs (a missing param is found now, not at 2 a.m.).
    // A dry run shows `<run-id>` where the real run puts its id (its start time): the listing
    // is the same for the same inputs.
    let shown_id = if a.dry_run {
        "<run-id>"
    } else {
        run_id.as_str()
    };
    let listing = dry_listing(&loaded, &inventory, &params, shown_id, &masker)?;
    if a.dry_run {
        print_block(&listing);
        return Ok(exit::OK);
    }
    if inventory.source == "snapshot"
        && inventory
            .nodes
            .values()
            .any(|n| n.transport == TransportKind::Ssh)
    {
        confirm_snapshot_addresses(&inventory)?;
    }
    let dir = a
        .journal
        .clone()
        .unwrap_or_else(|| exec::default_journal(&run_id));
    let mut j = Journal::create(&dir)?;
    std::fs::write(dir.join(journal::RUNBOOK_COPY), &loaded.text)
        .map_err(|e| Error::Journal(format!("{}: {e}", dir.display())))?;
    j.append(&Record::RunStarted {
        run_id: run_id.clone(),
        runbook_path: absolute(&a.rb.runbook),
        runbook_name: loaded.runbook.metadata.name.clone(),
        runbook_sha256: loaded.sha256.clone(),
        params: exec::pinned_params(&loaded, &secrets),
        inventory: inventory.pinned(),
        inventory_source: if inventory.source == "snapshot" {
            "snapshot".into()
        } else {
            a.inventory.as_deref().map(absolute).unwrap_or_default()
        },
        transport: a.transport.map(|t| t.kind().as_str().to_string()),
        ssh_config: a.ssh_config.as_deref().map(absolute),
        remote_state: Some(a.remote_state.clone()),
        harrow: env!("CARGO_PKG_VERSION").to_string(),
        at: engine::now(),
    })?;
    say(&format!("harrow run: journal {}", dir.display()));
    let opts = Options {
        yes: a.yes,
        retry_interrupted: false,
        quiet: a.rb.input.quiet,
        remote_state: a.remote_state.clone(),
    };
    std::mem::forget(analysis);
    let (rb, inv, id, tr) = (&loaded, &inventory, run_id, transports);
    finish(
        Exec::new(rb, inv, secrets, id, tr, opts, Replay::default(), j),
        &dir,
    )
}

pub(super) fn resume(a: ResumeArgs) -> Result<i32> {
    // The lock first: nothing is read or decided while another run holds the journal.
    let j = Journal::open(&a.dir)?;
    let records = journal::read(&a.dir)?;
    let Some(Record::RunStarted {
        run_id,
        runbook_path,
        runbook_sha256,
        params: pinned,
        inventory: pinned_inv,
        inventory_source,
        transport,
        ssh_config,
        remote_state,
        ..
    }) = records.first().cloned()
    else {
        return Err(Error::Journal(format!(
            "{}: no start record",
            a.dir.display()
        )));
    };
    if let Some(Record::RunFinished { outcome, .. }) = records.last()
        && outcome == "done"
    {
        say(&format!("harrow resume: run {run_id} is already done"));
        return Ok(exit::OK);
    }
    let copy_path = a.dir.join(journal::RUNBOOK_COPY);
    let copy_text = std::fs::read_to_string(&copy_path)
        .map_err(|e| Error::Journal(format!("{}: {e}", copy_path.display())))?;
    let probe = runbook::load_str(&copy_path.display().to_string(), &copy_text, &[])
        .map_err(|e| Error::Journal(format!("the run's runbook copy does not load: {e}")))?;
    let vars = exec::plain_vars(&probe.runbook.params, &pinned);
    let old = runbook::load_str(&copy_path.display().to_string(), &copy_text, &vars)?;
    let mut changes = Vec::new();
    let loaded: Loaded = match runbook::load_file(Path::new(&runbook_path), &vars) {
        Ok(now) if now.sha256 == runbook_sha256 => now,
        Ok(now) => {
            changes.extend(
                exec::runbook_changes(&old, &now)
                    .into_iter()
                    .map(|c| format!("runbook {runbook_path}: {c}")),
            );
            now
        }
        Err(e) => {
            return Err(Error::Journal(format!(
                "resume refused: the runbook {runbook_path} no longer loads with the run's params: {e}"
            )));
        }
    };
    let secrets = exec::secrets(&loaded)?;
    let now_params = exec::pinned_params(&loaded, &secrets);
    for (k, v) in &now_params {
        if pinned.get(k) != Some(v) {
            changes.push(format!("param `{k}` changed"));
        }
    }
    for k in pinned.keys().filter(|k| !now_params.contains_key(*k)) {
        changes.push(format!("param `{k}` has no value now"));
    }
    let mut inventory = Inventory::from_pinned(&pinned_inv, &inventory_source);
    if inventory_source != "snapshot" {
        match Inventory::load(Path::new(&inventory_source)) {
            Ok(mut file) => {
                if let Some(t) = transport.as_deref() {
                    file = file.with_transport(if t == "ssh" {
                        TransportKind::Ssh
                    } else {
                        TransportKind::Local
                    });
                }
                if file.pinned() != pinned_inv {
                    changes.push(format!("inventory {inventory_source} changed"));
                    inventory = file;
                }
            }
            Err(e) => changes.push(format!("inventory {inventory_source} no longer reads: {e}")),
        }
    }
    if !changes.is_empty() && !a.accept_changes {
        return Err(Error::Journal(format!(
            "resume refused: since the run began, {}. Continue with them: harrow resume {} --accept-changes",
            changes.join("; "),
            a.dir.display()
        )));
    }
    let mut j = j;
    j.append(&Record::Resumed {
        at: engine::now(),
        accepted_changes: changes,
    })?;
    say(&format!("harrow resume: run {run_id}"));
    let opts = Options {
        yes: a.yes,
        retry_interrupted: a.retry_interrupted,
        quiet: a.quiet,
        remote_state: remote_state.unwrap_or_else(|| exec::REMOTE_STATE.to_string()),
    };
    let transports = Transports {
        ssh_config: ssh_config.map(PathBuf::from),
    };
    let (rb, inv, id, tr) = (&loaded, &inventory, run_id, transports);
    finish(
        Exec::new(rb, inv, secrets, id, tr, opts, Replay::of(&records), j),
        &a.dir,
    )
}

pub(super) fn status(a: StatusArgs) -> Result<i32> {
    let s = exec::status::read(&a.dir)?;
    let text = match a.format {
        Format::Json => exec::status::json(&s),
        _ => exec::status::text(&s),
    };
    write_out(a.out.as_deref(), text.as_bytes())?;
    Ok(exit::OK)
}

/// What `--dry-run` prints: the preflights and every step × node with its rendered command
/// (secrets masked), the batches and the gates. Rendering every command also proves, before a
/// real run starts, that no param is missing.
fn dry_listing(
    loaded: &Loaded,
    inv: &Inventory,
    params: &BTreeMap<String, String>,
    run_id: &str,
    masker: &Masker,
) -> Result<String> {
    use std::fmt::Write as _;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "dry run of {} ({} steps) over {} nodes (inventory: {})",
        loaded.path,
        loaded.runbook.steps.len(),
        inv.nodes.len(),
        inv.source
    );
    for n in inv.nodes.values() {
        let _ = writeln!(
            out,
            "  node {:<20} {:<8} {}{}",
            n.name,
            n.role.map_or("unknown", |r| r.as_str()),
            reach(n),
            if n.etcd { ", etcd" } else { "" }
        );
    }
    let vars = |node: Option<&crate::exec::inventory::Node>| crate::runbook::template::Vars {
        params: params.clone(),
        node_name: node.map(|n| n.name.clone()),
        node_ip: node.and_then(|n| n.address.map(|a| a.to_string())),
        node_role: node.and_then(|n| n.role.map(|r| r.as_str().to_string())),
        run_id: Some(run_id.to_string()),
    };
    let shell = crate::runbook::template::Mode::Shell;
    for c in &loaded.runbook.preflight {
        let nodes = match &c.target {
            crate::runbook::model::Target::Local => vec![LOCAL.to_string()],
            t => inv.resolve(t),
        };
        for n in nodes {
            let cmd = engine::render_for(loaded, &vars(inv.nodes.get(&n)), &c.run, shell)?;
            let _ = writeln!(
                out,
                "preflight {} on {n}: {}",
                c.id,
                masker.text(&one_line(&cmd))
            );
        }
    }
    for (i, s) in loaded.runbook.steps.iter().enumerate() {
        if let Some(text) = &s.confirm {
            let _ = writeln!(out, "step {} {}: gate: {text}", i + 1, s.id);
            continue;
        }
        let nodes = engine::targets(s, inv);
        if nodes.is_empty() {
            let _ = writeln!(out, "step {} {}: names no node: skipped", i + 1, s.id);
            continue;
        }
        let groups: Vec<String> = engine::batches(s, &nodes, inv)
            .iter()
            .map(|b| b.join("+"))
            .collect();
        let _ = writeln!(out, "step {} {}: {}", i + 1, s.id, groups.join(" -> "));
        for n in nodes {
            let node = inv.nodes.get(&n);
            let v = vars(node);
            let what = match (&s.copy, &s.run) {
                (Some(c), _) => {
                    let mode = crate::runbook::template::Mode::Verbatim;
                    format!(
                        "copy {} -> {}",
                        engine::render_for(loaded, &v, &c.src, mode)?,
                        engine::render_for(loaded, &v, &c.dest, mode)?
                    )
                }
                (None, Some(r)) => engine::render_for(loaded, &v, r, shell)?,
                (None, None) => String::new(),
            };
            let _ = writeln!(out, "  on {n}: {}", masker.text(&one_line(&what)));
        }
    }
    Ok(out)
}

/// How a node is reached, for listings.
fn reach(n: &crate::exec::inventory::Node) -> String {
    match n.transport {
        TransportKind::Local => "local".to_string(),
        TransportKind::Ssh => format!(
            "ssh {}{}{}{}",
            n.user.as_ref().map(|u| format!("{u}@")).unwrap_or_default(),
            n.address
                .map_or("(no address)".to_string(), |a| a.to_string()),
            n.port.map(|p| format!(":{p}")).unwrap_or_default(),
            if n.become_sudo { " (sudo)" } else { "" }
        ),
    }
}

/// A multi-line command shown on one line.
fn one_line(s: &str) -> String {
    let lines: Vec<&str> = s.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
    lines.join(" ; ")
}

/// Addresses from a customer's snapshot are connected to only after a typed confirmation.
fn confirm_snapshot_addresses(inv: &Inventory) -> Result<()> {
    let list: Vec<String> = inv.nodes.values().map(reach).collect();
    let refuse = || {
        Error::Usage(format!(
            "the node addresses come from the snapshot ({}); addresses from a bundle are \
             connected to only when you confirm them on a terminal or give them with --inventory \
             FILE (or --transport local to run every node's commands on this machine)",
            list.join(", ")
        ))
    };
    if !(std::io::stdin().is_terminal() && std::io::stderr().is_terminal()) {
        return Err(refuse());
    }
    say(&format!(
        "harrow run: the node addresses come from the snapshot:\n  {}\nType yes to connect to them: ",
        list.join("\n  ")
    ));
    let mut line = String::new();
    let _ = std::io::stdin().read_line(&mut line);
    if line.trim() == "yes" {
        Ok(())
    } else {
        Err(refuse())
    }
}

/// Execute to the end of this invocation and say how it ended and what to do next.
fn finish(mut ex: Exec<'_>, dir: &Path) -> Result<i32> {
    let outcome = ex.execute()?;
    report_end(outcome, dir);
    Ok(outcome.exit_code())
}

fn report_end(outcome: exec::Outcome, dir: &Path) {
    let d = dir.display();
    let msg = match outcome {
        exec::Outcome::Done => format!("harrow: run done (journal {d})"),
        exec::Outcome::StepFailed => format!(
            "harrow: a step failed; see `harrow status {d}`, fix the cause, then `harrow resume {d}`"
        ),
        exec::Outcome::StoppedAtGate => {
            format!("harrow: stopped at a gate; `harrow resume {d} --yes` to go on")
        }
        exec::Outcome::PreflightFailed => format!(
            "harrow: a preflight check failed: nothing ran; fix the cause, then `harrow resume {d}`"
        ),
        exec::Outcome::NeedsDecision => format!(
            "harrow: an interrupted step needs your decision; `harrow resume {d} --retry-interrupted` runs it again"
        ),
    };
    say(&msg);
}

fn absolute(p: &Path) -> String {
    std::path::absolute(p)
        .unwrap_or_else(|_| p.to_path_buf())
        .display()
        .to_string()
}

#[allow(clippy::print_stderr)]
fn say(s: &str) {
    eprintln!("{s}");
}

#[allow(clippy::print_stderr)]
fn eprint_block(s: &str) {
    eprint!("{s}");
}

#[allow(clippy::print_stdout)]
fn print_block(s: &str) {
    use std::io::Write as _;
    let mut o = std::io::stdout().lock();
    let _ = o.write_all(s.as_bytes());
}
