//! The executor: takes a loaded runbook through its preflights, steps and gates over the
//! inventory, one step × node ("unit") at a time in the step's order (servers one at a time,
//! never two etcd members down together), writing every event to the journal before the next
//! action. A unit's command runs detached under the wrapper, so harrow's death does not stop
//! it; a `resume` replays the journal and settles each unit that was started and not recorded
//! as finished from the node's markers: finished (recorded from its exit marker, not run again),
//! running (waited for), never started (started now), or interrupted (re-run only when the step
//! is idempotent, its verify passes, or the operator says `--retry-interrupted`).

use std::collections::{BTreeMap, BTreeSet};
use std::io::{IsTerminal as _, Write as _};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::inventory::{Inventory, Node, TransportKind};
use super::journal::{Journal, Record};
use super::mask::Masker;
use super::transport::Transports;
use super::wrapper::{self, Marker};
use crate::error::{Error, Result, exit};
use crate::rotation::state::NodeRole;
use crate::runbook::Loaded;
use crate::runbook::model::{Effect, OnFailure, Order, Step, Target, duration};
use crate::runbook::template::{self, Mode, Vars};

/// The pseudo-node of steps that target `local` (the machine running harrow).
pub const LOCAL: &str = "local";

/// A command's timeout when its step sets none.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(600);
/// How long a launched runner may take to write its `started` marker.
const START_GRACE: Duration = Duration::from_secs(30);
/// How long a node may stay unreachable while harrow waits on one of its steps.
const CONTACT_GRACE: Duration = Duration::from_secs(90);
/// The output kept in memory per unit (the journal keeps its tail).
const OUTPUT_CAP: usize = 1 << 20;
/// The output tail written to the journal.
const JOURNAL_TAIL: usize = 4096;

/// How a run or resume behaves.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Answer every `confirm` gate (scripts).
    pub yes: bool,
    /// Re-run interrupted steps that are not idempotent.
    pub retry_interrupted: bool,
    /// No progress display.
    pub quiet: bool,
    /// The state directory on ssh nodes, relative to the login directory.
    pub remote_state: String,
}

/// How an invocation ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Done,
    StepFailed,
    StoppedAtGate,
    PreflightFailed,
    /// An interrupted, non-idempotent step needs the operator's decision.
    NeedsDecision,
}

impl Outcome {
    pub fn exit_code(self) -> i32 {
        match self {
            Outcome::Done => exit::OK,
            Outcome::StepFailed => exit::STEP_FAILED,
            Outcome::StoppedAtGate | Outcome::NeedsDecision => exit::STOPPED_AT_GATE,
            Outcome::PreflightFailed => exit::PREFLIGHT_FAILED,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Done => "done",
            Outcome::StepFailed => "step-failed",
            Outcome::StoppedAtGate => "stopped-at-gate",
            Outcome::PreflightFailed => "preflight-failed",
            Outcome::NeedsDecision => "interrupted-needs-decision",
        }
    }
}

/// What the journal says happened so far (empty for a new run).
#[derive(Debug, Clone, Default)]
pub struct Replay {
    /// Units finished with success.
    pub done: BTreeSet<(String, String)>,
    /// Units started and not recorded as finished: their latest attempt.
    pub started: BTreeMap<(String, String), u32>,
    /// The latest attempt of every unit that has one.
    pub attempts: BTreeMap<(String, String), u32>,
    /// Gates answered yes.
    pub gates: BTreeSet<String>,
    /// Checkpoints reached.
    pub checkpoints: BTreeSet<String>,
    /// The preflights passed (a resumed run does not repeat them).
    pub preflight_passed: bool,
}

impl Replay {
    /// Replay a journal's records.
    pub fn of(records: &[Record]) -> Replay {
        let mut r = Replay::default();
        // The preflights of the latest round (a run that failed them and was resumed runs them
        // again): passed when every record of that round passed.
        let mut round: Option<bool> = None;
        let mut in_round = false;
        for rec in records {
            let is_preflight = matches!(rec, Record::Preflight { .. });
            match rec {
                Record::UnitStarted {
                    step,
                    node,
                    attempt,
                    ..
                } => {
                    let k = (step.clone(), node.clone());
                    r.started.insert(k.clone(), *attempt);
                    r.attempts.insert(k, *attempt);
                }
                Record::UnitFinished { step, node, ok, .. } => {
                    let k = (step.clone(), node.clone());
                    r.started.remove(&k);
                    if *ok {
                        r.done.insert(k);
                    }
                }
                Record::Gate { step, answer } if answer != "stopped" => {
                    r.gates.insert(step.clone());
                }
                Record::Checkpoint { step } => {
                    r.checkpoints.insert(step.clone());
                }
                Record::Preflight { ok, .. } => {
                    round = Some(if in_round {
                        round.unwrap_or(true) && *ok
                    } else {
                        *ok
                    });
                }
                _ => {}
            }
            in_round = is_preflight;
        }
        r.preflight_passed = round == Some(true) || !r.attempts.is_empty() || !r.gates.is_empty();
        r
    }
}

/// One unit's result.
#[derive(Debug)]
enum UnitEnd {
    Finished { ok: bool },
    NeedsDecision(String),
}

/// The executor of one run.
pub struct Exec<'a> {
    pub loaded: &'a Loaded,
    pub inventory: &'a Inventory,
    /// Every param value, secrets included (for rendering only).
    pub params: BTreeMap<String, String>,
    pub masker: Masker,
    pub run_id: String,
    pub transports: Transports,
    pub opts: Options,
    pub replay: Replay,
    journal: Mutex<Journal>,
    printer: Mutex<Printer>,
}

/// Where lines go: a progress bar on a terminal, plain lines otherwise.
struct Printer {
    bar: Option<indicatif::ProgressBar>,
}

impl Printer {
    #[allow(clippy::print_stdout)]
    fn line(&self, s: &str) {
        match &self.bar {
            Some(b) => b.println(s),
            None => {
                let mut out = std::io::stdout().lock();
                let _ = writeln!(out, "{s}");
                let _ = out.flush();
            }
        }
    }
}

impl<'a> Exec<'a> {
    #[allow(clippy::too_many_arguments)]
    /// An executor of `loaded` over `inventory`; `secrets` are the secret params' values (masked
    /// in everything written, used only to render commands).
    pub fn new(
        loaded: &'a Loaded,
        inventory: &'a Inventory,
        secrets: BTreeMap<String, String>,
        run_id: String,
        transports: Transports,
        opts: Options,
        replay: Replay,
        journal: Journal,
    ) -> Exec<'a> {
        let masker = Masker::new(secrets.values().map(String::as_str));
        let mut params = loaded.params.clone();
        params.extend(secrets);
        let total = units(loaded, inventory).len() as u64;
        let bar =
            (!opts.quiet && std::io::stdout().is_terminal() && std::io::stderr().is_terminal())
                .then(|| {
                    let b = indicatif::ProgressBar::new(total);
                    if let Ok(s) = indicatif::ProgressStyle::with_template(
                        "{bar:30} {pos}/{len} step × node  {msg}",
                    ) {
                        b.set_style(s);
                    }
                    b
                });
        Exec {
            loaded,
            inventory,
            params,
            masker,
            run_id,
            transports,
            opts,
            replay,
            journal: Mutex::new(journal),
            printer: Mutex::new(Printer { bar }),
        }
    }

    fn say(&self, s: &str) {
        let masked = self.masker.text(s);
        if let Ok(p) = self.printer.lock() {
            p.line(&masked);
        }
    }

    fn tick(&self, msg: &str) {
        if let Ok(p) = self.printer.lock()
            && let Some(b) = &p.bar
        {
            b.inc(1);
            b.set_message(msg.to_string());
        }
    }

    fn record(&self, r: &Record) -> Result<()> {
        let mut j = self
            .journal
            .lock()
            .map_err(|_| Error::Internal("journal lock poisoned".into()))?;
        j.append(r)
    }

    /// Run (or resume) to the end, a failure, a gate or a decision; the outcome is journaled.
    pub fn execute(&mut self) -> Result<Outcome> {
        let outcome = self.execute_inner()?;
        self.record(&Record::RunFinished {
            outcome: outcome.as_str().to_string(),
            exit: outcome.exit_code(),
            at: now(),
        })?;
        if let Ok(p) = self.printer.lock()
            && let Some(b) = &p.bar
        {
            b.finish_and_clear();
        }
        Ok(outcome)
    }

    fn execute_inner(&mut self) -> Result<Outcome> {
        if !self.replay.preflight_passed && !self.preflights()? {
            return Ok(Outcome::PreflightFailed);
        }
        let steps = &self.loaded.runbook.steps;
        for (i, step) in steps.iter().enumerate() {
            if let Some(text) = &step.confirm {
                if self.replay.gates.contains(&step.id) {
                    continue;
                }
                if !self.gate(step, text)? {
                    return Ok(Outcome::StoppedAtGate);
                }
                continue;
            }
            let nodes = targets(step, self.inventory);
            if nodes.is_empty() {
                self.say(&format!(
                    "[{}] names no node of the inventory: nothing to do",
                    step.id
                ));
                continue;
            }
            self.say(&format!(
                "== step {}/{}: {} on {}",
                i + 1,
                steps.len(),
                step.id,
                nodes.join(", ")
            ));
            for batch in batches(step, &nodes, self.inventory) {
                let ends: Vec<Result<UnitEnd>> = if batch.len() == 1 {
                    vec![self.unit(step, &batch[0])]
                } else {
                    let this = &*self;
                    std::thread::scope(|s| {
                        let handles: Vec<_> = batch
                            .iter()
                            .map(|n| s.spawn(move || this.unit(step, n)))
                            .collect();
                        handles
                            .into_iter()
                            .map(|h| {
                                h.join().unwrap_or_else(|_| {
                                    Err(Error::Internal("a unit's thread panicked".into()))
                                })
                            })
                            .collect()
                    })
                };
                let mut failed = false;
                for (node, end) in batch.iter().zip(ends) {
                    match end? {
                        UnitEnd::Finished { ok: true } => {}
                        UnitEnd::Finished { ok: false } => {
                            failed = true;
                            if step.on_failure == Some(OnFailure::Rollback) {
                                self.rollback(step, node)?;
                            }
                        }
                        UnitEnd::NeedsDecision(why) => {
                            self.say(&why);
                            return Ok(Outcome::NeedsDecision);
                        }
                    }
                }
                if failed && step.on_failure != Some(OnFailure::Continue) {
                    return Ok(Outcome::StepFailed);
                }
            }
            if step.checkpoint == Some(true) && !self.replay.checkpoints.contains(&step.id) {
                self.record(&Record::Checkpoint {
                    step: step.id.clone(),
                })?;
                self.say(&format!("checkpoint: {}", step.id));
            }
            let owed = pending(self.loaded, self.inventory, i + 1);
            if !owed.is_empty() {
                self.record(&Record::Pending { effects: owed })?;
            }
        }
        Ok(Outcome::Done)
    }

    /// Every preflight on its nodes; `false` when one fails (each result journaled).
    fn preflights(&self) -> Result<bool> {
        let mut all = self.reach()?;
        for check in &self.loaded.runbook.preflight {
            let nodes = match check.target {
                Target::Local => vec![LOCAL.to_string()],
                ref t => self.inventory.resolve(t),
            };
            for n in nodes {
                let node = self.inventory.nodes.get(&n);
                let cmd = self.render(&check.run, node)?;
                let out = self
                    .transports
                    .sh(transport_node(node), &cmd, b"", Duration::from_secs(120))
                    .map_err(|e| Error::Internal(format!("preflight {} on {n}: {e}", check.id)))?;
                let code = out.status.unwrap_or(124);
                let text = String::from_utf8_lossy(&out.out);
                let want = check.expect.as_ref().and_then(|e| e.exit).unwrap_or(0);
                let matches = check
                    .expect
                    .as_ref()
                    .and_then(|e| e.stdout_matches.as_deref())
                    .is_none_or(|re| {
                        regex::Regex::new(re).is_ok_and(|r| r.is_match(text.trim_end_matches('\n')))
                    });
                let ok = code == want && matches;
                self.record(&Record::Preflight {
                    id: check.id.clone(),
                    node: n.clone(),
                    ok,
                    exit: code,
                    output: tail(&self.masker.bytes(&out.out)),
                })?;
                self.say(&format!(
                    "preflight {} on {n}: {}",
                    check.id,
                    if ok {
                        "ok".to_string()
                    } else {
                        format!(
                            "FAILED (exit {code}{})",
                            if matches {
                                ""
                            } else {
                                ", output does not match"
                            }
                        )
                    }
                ));
                all &= ok;
            }
        }
        Ok(all)
    }

    /// Every ssh node a step or check targets answers (`reach`, journaled as a preflight):
    /// host keys, logins and `sudo -n` are found wrong before anything runs.
    fn reach(&self) -> Result<bool> {
        let mut wanted: BTreeSet<String> = BTreeSet::new();
        for s in &self.loaded.runbook.steps {
            wanted.extend(targets(s, self.inventory));
        }
        for c in &self.loaded.runbook.preflight {
            wanted.extend(self.inventory.resolve(&c.target));
        }
        let mut all = true;
        for n in wanted {
            let Some(node) = transport_node(self.inventory.nodes.get(&n)) else {
                continue;
            };
            let out = self
                .transports
                .sh(
                    Some(node),
                    "echo harrow-reach",
                    b"",
                    Duration::from_secs(60),
                )
                .map_err(|e| Error::Internal(format!("ssh to {n}: {e}")))?;
            let text = String::from_utf8_lossy(&out.out);
            let ok = out.status == Some(0) && text.contains("harrow-reach");
            self.record(&Record::Preflight {
                id: "reach".to_string(),
                node: n.clone(),
                ok,
                exit: out.status.unwrap_or(124),
                output: tail(&self.masker.text(text.trim())),
            })?;
            if !ok {
                self.say(&format!(
                    "preflight reach on {n}: FAILED: {}",
                    self.masker.text(text.trim())
                ));
            }
            all &= ok;
        }
        Ok(all)
    }

    /// A gate: `--yes`, a typed `yes` on a terminal, or stop.
    fn gate(&self, step: &Step, text: &str) -> Result<bool> {
        let answer = if self.opts.yes {
            "--yes".to_string()
        } else if std::io::stdin().is_terminal() && std::io::stderr().is_terminal() {
            self.say(&format!("[{}] {text}\nType yes to continue: ", step.id));
            let mut line = String::new();
            let _ = std::io::stdin().read_line(&mut line);
            if line.trim() == "yes" {
                "yes".to_string()
            } else {
                "stopped".to_string()
            }
        } else {
            "stopped".to_string()
        };
        self.record(&Record::Gate {
            step: step.id.clone(),
            answer: answer.clone(),
        })?;
        if answer == "stopped" {
            self.say(&format!(
                "stopped at gate `{}`: {text}\ncontinue with: harrow resume {} --yes",
                step.id,
                self.journal_dir()
            ));
            return Ok(false);
        }
        self.say(&format!("gate `{}` answered ({answer})", step.id));
        Ok(true)
    }

    fn journal_dir(&self) -> String {
        self.journal
            .lock()
            .map(|j| j.dir().display().to_string())
            .unwrap_or_default()
    }

    fn vars(&self, node: Option<&Node>) -> Vars {
        Vars {
            params: self.params.clone(),
            node_name: node.map(|n| n.name.clone()),
            node_ip: node.and_then(|n| n.address.map(|a| a.to_string())),
            node_role: node.and_then(|n| n.role.map(|r| r.as_str().to_string())),
            run_id: Some(self.run_id.clone()),
        }
    }

    /// A command rendered for a node (values shell-quoted).
    fn render(&self, text: &str, node: Option<&Node>) -> Result<String> {
        render_for(self.loaded, &self.vars(node), text, Mode::Shell)
    }

    /// The state directory of a unit's attempt on its node.
    fn state_dir(&self, step: &str, node: &str, attempt: u32) -> String {
        let remote = self
            .inventory
            .nodes
            .get(node)
            .is_some_and(|n| n.transport == TransportKind::Ssh);
        if remote {
            // The node's name is part of the path: two inventory entries may share a host.
            format!(
                "{}/{}/{node}/{step}.{attempt}",
                self.opts.remote_state, self.run_id
            )
        } else {
            format!("{}/nodes/{node}/{step}.{attempt}", self.journal_dir())
        }
    }

    /// One step on one node, to its end (or its need of a decision).
    fn unit(&self, step: &Step, node: &str) -> Result<UnitEnd> {
        let key = (step.id.clone(), node.to_string());
        if self.replay.done.contains(&key) {
            self.tick(&format!("{} {node}", step.id));
            return Ok(UnitEnd::Finished { ok: true });
        }
        let end = match self.replay.started.get(&key) {
            Some(&attempt) => self.settle(step, node, attempt)?,
            None => {
                let attempt = self.replay.attempts.get(&key).map_or(1, |a| a + 1);
                self.fresh(step, node, attempt)?
            }
        };
        self.tick(&format!("{} {node}", step.id));
        Ok(end)
    }

    fn fresh(&self, step: &Step, node: &str, attempt: u32) -> Result<UnitEnd> {
        let n = self.inventory.nodes.get(node);
        let shown = self.describe(step, n)?;
        self.record(&Record::UnitStarted {
            step: step.id.clone(),
            node: node.to_string(),
            attempt,
            command: self.masker.text(&shown),
            at: now(),
        })?;
        self.perform(step, node, attempt)
    }

    /// What a unit does, as the journal and dry-run show it (not yet masked).
    fn describe(&self, step: &Step, n: Option<&Node>) -> Result<String> {
        if let Some(c) = &step.copy {
            let src = render_for(self.loaded, &self.vars(n), &c.src, Mode::Verbatim)?;
            let dest = render_for(self.loaded, &self.vars(n), &c.dest, Mode::Verbatim)?;
            return Ok(format!("copy {src} -> {dest}"));
        }
        self.render(step.run.as_deref().unwrap_or_default(), n)
    }

    /// Run a unit's attempt (launch, wait, verify) and journal its end.
    fn perform(&self, step: &Step, node: &str, attempt: u32) -> Result<UnitEnd> {
        let n = self.inventory.nodes.get(node);
        let (code, output) = if step.copy.is_some() {
            self.copy(step, n)?
        } else {
            let cmd = self.render(step.run.as_deref().unwrap_or_default(), n)?;
            let dir = self.state_dir(&step.id, node, attempt);
            let timeout = step
                .timeout
                .as_deref()
                .and_then(duration)
                .unwrap_or(DEFAULT_TIMEOUT);
            match self.launch(n, &dir, &cmd, timeout, node)? {
                Some(refused) => refused,
                None => match self.wait(n, &dir, node)? {
                    Waited::Exit(c, out) => (c, out),
                    Waited::Dead(_) => return self.interrupted(step, node, attempt),
                },
            }
        };
        self.finish(step, node, attempt, code, &output, "ran")
    }

    /// Journal a unit's end (running its verify first when it succeeded).
    fn finish(
        &self,
        step: &Step,
        node: &str,
        attempt: u32,
        code: i32,
        output: &[u8],
        how: &str,
    ) -> Result<UnitEnd> {
        let mut ok = code == 0;
        let mut verify = None;
        if ok && step.verify.is_some() {
            let (passed, what) = self.verify(step, node)?;
            ok = passed;
            verify = Some(what);
        }
        let masked = self.masker.bytes(output);
        self.record(&Record::UnitFinished {
            step: step.id.clone(),
            node: node.to_string(),
            attempt,
            exit: code,
            ok,
            how: how.to_string(),
            output_sha256: crate::pki::sha256_hex(masked.as_bytes()),
            output: tail(&masked),
            verify: verify.clone(),
            at: now(),
        })?;
        self.say(&format!(
            "[{}] {node}: {}{}",
            step.id,
            if ok {
                "done".to_string()
            } else {
                format!("FAILED (exit {code})")
            },
            verify.map(|v| format!("; verify {v}")).unwrap_or_default()
        ));
        Ok(UnitEnd::Finished { ok })
    }

    /// A unit that was started before harrow stopped: decide from the node's markers.
    fn settle(&self, step: &Step, node: &str, attempt: u32) -> Result<UnitEnd> {
        let n = self.inventory.nodes.get(node);
        if step.copy.is_some() {
            // A copy writes the same bytes again: always safe to repeat.
            return self.perform(step, node, attempt);
        }
        let dir = self.state_dir(&step.id, node, attempt);
        let (marker, _) = self.query(n, &dir, 0, node)?;
        match marker {
            Marker::Exit(_) | Marker::Running => {
                self.say(&format!(
                    "[{}] {node}: {} (from the node's markers)",
                    step.id,
                    if marker == Marker::Running {
                        "still running: waiting"
                    } else {
                        "finished in the meantime"
                    }
                ));
                match self.wait(n, &dir, node)? {
                    Waited::Exit(c, out) => {
                        self.finish(step, node, attempt, c, &out, "exit-marker")
                    }
                    Waited::Dead(_) => self.interrupted(step, node, attempt),
                }
            }
            Marker::Launched | Marker::None => {
                // Never started: run it now (the launch refuses a second start by itself).
                self.perform(step, node, attempt)
            }
            Marker::Dead => self.interrupted(step, node, attempt),
        }
    }

    /// A unit that started and neither finished nor runs.
    fn interrupted(&self, step: &Step, node: &str, attempt: u32) -> Result<UnitEnd> {
        if step.verify.is_some() {
            let (passed, what) = self.verify(step, node)?;
            if passed {
                self.say(&format!(
                    "[{}] {node}: interrupted, and its verify passes: recorded as done",
                    step.id
                ));
                return self.record_verified(step, node, attempt, &what);
            }
        }
        if step.idempotent == Some(true) || self.opts.retry_interrupted {
            self.say(&format!(
                "[{}] {node}: interrupted; running it again ({})",
                step.id,
                if step.idempotent == Some(true) {
                    "idempotent"
                } else {
                    "--retry-interrupted"
                }
            ));
            return self.fresh(step, node, attempt + 1);
        }
        Ok(UnitEnd::NeedsDecision(format!(
            "step `{}` on {node} was interrupted: it started, has no exit status and is not \
             running, and it is not idempotent. Check the node, then run it again with \
             `harrow resume {} --retry-interrupted`",
            step.id,
            self.journal_dir()
        )))
    }

    fn record_verified(
        &self,
        step: &Step,
        node: &str,
        attempt: u32,
        what: &str,
    ) -> Result<UnitEnd> {
        self.record(&Record::UnitFinished {
            step: step.id.clone(),
            node: node.to_string(),
            attempt,
            exit: 0,
            ok: true,
            how: "verified".to_string(),
            output_sha256: crate::pki::sha256_hex(b""),
            output: String::new(),
            verify: Some(what.to_string()),
            at: now(),
        })?;
        Ok(UnitEnd::Finished { ok: true })
    }

    /// Put the command on the node and start it detached.
    fn launch(
        &self,
        n: Option<&Node>,
        dir: &str,
        cmd: &str,
        timeout: Duration,
        node: &str,
    ) -> Result<Option<(i32, Vec<u8>)>> {
        let script = wrapper::launch(dir, timeout.as_secs().max(1), cmd.len());
        let out = self
            .transports
            .sh(
                transport_node(n),
                &script,
                cmd.as_bytes(),
                Duration::from_secs(60),
            )
            .map_err(|e| Error::Internal(format!("{node}: cannot start the transport: {e}")))?;
        let text = String::from_utf8_lossy(&out.out);
        if text.contains("HARROW-LAUNCH") {
            return Ok(None);
        }
        match out.status {
            // The launch script ran and could not put the command in place (no state directory,
            // no flock): the step failed there without starting; `resume` tries it again.
            Some(code) if code != 0 && code != 255 => {
                let mut why = b"harrow: the step could not be started on this node: ".to_vec();
                why.extend_from_slice(&out.out);
                Ok(Some((code, why)))
            }
            // No answer (ssh exits 255 when it cannot connect; a timeout): the markers decide,
            // as the launch may have happened before the connection dropped.
            _ => {
                self.say(&format!(
                    "{node}: starting the step did not answer (exit {}): {}",
                    out.status.map_or("timeout".to_string(), |c| c.to_string()),
                    self.masker.text(text.trim())
                ));
                Ok(None)
            }
        }
    }

    /// The markers of `dir` and the output from `offset`; retries an unreachable node for a while.
    fn query(
        &self,
        n: Option<&Node>,
        dir: &str,
        offset: u64,
        node: &str,
    ) -> Result<(Marker, Vec<u8>)> {
        let start = Instant::now();
        loop {
            let out = self
                .transports
                .sh(
                    transport_node(n),
                    &wrapper::query(dir, offset),
                    b"",
                    Duration::from_secs(60),
                )
                .map_err(|e| Error::Internal(format!("{node}: {e}")))?;
            if let Some((m, rest)) = wrapper::parse_query(&out.out) {
                return Ok((m, rest.to_vec()));
            }
            if start.elapsed() > CONTACT_GRACE {
                return Err(Error::Journal(format!(
                    "lost contact with {node} ({}); what ran there is in its markers: \
                     `harrow resume {}` when the node answers again",
                    self.masker.bytes(&out.out).trim(),
                    self.journal_dir()
                )));
            }
            std::thread::sleep(Duration::from_secs(2));
        }
    }

    /// Wait for a launched command's exit marker, streaming its output with the node's prefix.
    fn wait(&self, n: Option<&Node>, dir: &str, node: &str) -> Result<Waited> {
        let start = Instant::now();
        let mut offset = 0u64;
        let mut all = Vec::new();
        let mut pending_line = Vec::new();
        let mut pause = Duration::from_millis(10);
        let max_pause = if n.is_some_and(|n| n.transport == TransportKind::Ssh) {
            Duration::from_millis(400)
        } else {
            Duration::from_millis(200)
        };
        loop {
            let (marker, chunk) = self.query(n, dir, offset, node)?;
            offset += chunk.len() as u64;
            if all.len() < OUTPUT_CAP {
                all.extend_from_slice(&chunk);
            }
            pending_line.extend_from_slice(&chunk);
            self.stream(node, &mut pending_line, false);
            let more = chunk.len() >= 65536;
            match marker {
                Marker::Exit(code) if !more => {
                    self.stream(node, &mut pending_line, true);
                    // The node keeps its markers (resume reads them), not the raw output: it
                    // may hold secrets, and the journal has it masked.
                    let _ = self.transports.sh(
                        transport_node(n),
                        &wrapper::forget_output(dir),
                        b"",
                        Duration::from_secs(60),
                    );
                    return Ok(Waited::Exit(code, all));
                }
                Marker::Dead => return Ok(Waited::Dead(all)),
                Marker::Launched | Marker::None if start.elapsed() > START_GRACE => {
                    return Err(Error::Journal(format!(
                        "{node}: the step's runner did not start within {}s (is `flock` from \
                         util-linux installed there?); `harrow resume {}` once it is",
                        START_GRACE.as_secs(),
                        self.journal_dir()
                    )));
                }
                _ => {}
            }
            if !more {
                std::thread::sleep(pause);
                pause = (pause * 2).min(max_pause);
            }
        }
    }

    /// Print the complete lines of `buf` with the node's prefix (all of it when `flush`).
    fn stream(&self, node: &str, buf: &mut Vec<u8>, flush: bool) {
        let keep = if flush {
            0
        } else {
            buf.len() - buf.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1)
        };
        let mut cut = buf.len() - keep;
        // A private key block is masked whole: wait for its END line.
        if !flush && let Some(open) = open_key_block(&buf[..cut]) {
            cut = open;
        }
        if cut == 0 {
            return;
        }
        let text = self.masker.bytes(&buf[..cut]);
        for line in text.lines() {
            self.say(&format!("  {node} | {line}"));
        }
        buf.drain(..cut);
    }

    /// A copy step on one node: scp to a scratch directory (ssh) and install in place.
    fn copy(&self, step: &Step, n: Option<&Node>) -> Result<(i32, Vec<u8>)> {
        let Some(c) = &step.copy else {
            return Ok((0, Vec::new()));
        };
        let vars = self.vars(n);
        let src = render_for(self.loaded, &vars, &c.src, Mode::Verbatim)?;
        let dest = render_for(self.loaded, &vars, &c.dest, Mode::Verbatim)?;
        let timeout = step
            .timeout
            .as_deref()
            .and_then(duration)
            .unwrap_or(DEFAULT_TIMEOUT);
        let node = transport_node(n);
        let script = match node {
            Some(remote) => {
                let scratch = format!(
                    "{}/{}/{}/copy-{}",
                    self.opts.remote_state, self.run_id, remote.name, step.id
                );
                let mk = self
                    .transports
                    .sh(
                        Some(remote),
                        &format!(
                            "umask 077; rm -rf {q}; mkdir -p \"$(dirname {q})\"",
                            q = template::shell_quote(&scratch)
                        ),
                        b"",
                        timeout,
                    )
                    .map_err(|e| Error::Internal(e.to_string()))?;
                if mk.status != Some(0) {
                    return Ok((mk.status.unwrap_or(124), mk.out));
                }
                let up = self
                    .transports
                    .upload(remote, std::path::Path::new(&src), &scratch, timeout)
                    .map_err(|e| Error::Internal(e.to_string()))?;
                if up.status != Some(0) {
                    return Ok((up.status.unwrap_or(124), up.out));
                }
                wrapper::install(&scratch, &dest, c.mode.as_deref(), true)
            }
            None => wrapper::install(&src, &dest, c.mode.as_deref(), false),
        };
        let out = self
            .transports
            .sh(node, &script, b"", timeout)
            .map_err(|e| Error::Internal(e.to_string()))?;
        Ok((out.status.unwrap_or(124), out.out))
    }

    /// Run a step's verify on a node with its retries; `(passed, what happened)`.
    fn verify(&self, step: &Step, node: &str) -> Result<(bool, String)> {
        let Some(v) = &step.verify else {
            return Ok((true, String::new()));
        };
        let n = self.inventory.nodes.get(node);
        let cmd = self.render(&v.run, n)?;
        let tries = v.retries.unwrap_or(0) + 1;
        let interval = v
            .interval
            .as_deref()
            .and_then(duration)
            .unwrap_or(Duration::from_secs(5));
        let limit = v
            .timeout
            .as_deref()
            .and_then(duration)
            .unwrap_or(Duration::from_secs(600));
        let start = Instant::now();
        let mut last = None;
        for i in 0..tries {
            let left = limit.saturating_sub(start.elapsed());
            if left.is_zero() {
                break;
            }
            let out = self
                .transports
                .sh(
                    transport_node(n),
                    &cmd,
                    b"",
                    left.min(Duration::from_secs(120)),
                )
                .map_err(|e| Error::Internal(format!("{node}: {e}")))?;
            if out.status == Some(0) {
                return Ok((true, format!("passed (try {})", i + 1)));
            }
            last = out.status;
            if i + 1 < tries {
                std::thread::sleep(interval.min(limit.saturating_sub(start.elapsed())));
            }
        }
        Ok((
            false,
            format!(
                "failed after {tries} tries (last exit {})",
                last.map_or("timeout".to_string(), |c| c.to_string())
            ),
        ))
    }

    /// A failed unit's rollback command, where the step has one.
    fn rollback(&self, step: &Step, node: &str) -> Result<()> {
        let Some(r) = &step.rollback else {
            return Ok(());
        };
        let n = self.inventory.nodes.get(node);
        let cmd = self.render(r, n)?;
        let out = self
            .transports
            .sh(transport_node(n), &cmd, b"", DEFAULT_TIMEOUT)
            .map_err(|e| Error::Internal(format!("{node}: {e}")))?;
        let code = out.status.unwrap_or(124);
        self.record(&Record::Rollback {
            step: step.id.clone(),
            node: node.to_string(),
            exit: code,
            output: tail(&self.masker.bytes(&out.out)),
        })?;
        self.say(&format!("[{}] {node}: rollback exit {code}", step.id));
        Ok(())
    }
}

/// Where a PEM private key block that has no END line yet begins in `b` (a byte offset).
fn open_key_block(b: &[u8]) -> Option<usize> {
    let begin = memchr::memmem::rfind(b, b"-----BEGIN ")?;
    let rest = &b[begin..];
    let line = &rest[..memchr::memchr(b'\n', rest).unwrap_or(rest.len())];
    let opens_key = memchr::memmem::find(line, b"PRIVATE KEY").is_some();
    let ended = memchr::memmem::find(rest, b"-----END ").is_some();
    (opens_key && !ended).then_some(begin)
}

/// How waiting on a command ended.
enum Waited {
    Exit(i32, Vec<u8>),
    Dead(#[allow(dead_code)] Vec<u8>),
}

/// The node a transport call goes to: `None` for the local pseudo-node and local-transport nodes.
fn transport_node(n: Option<&Node>) -> Option<&Node> {
    n.filter(|n| n.transport == TransportKind::Ssh)
}

/// A template rendered with these values; errors placed in the runbook file.
pub fn render_for(loaded: &Loaded, vars: &Vars, text: &str, mode: Mode) -> Result<String> {
    template::render(text, vars, mode).map_err(|e| {
        Error::Usage(format!(
            "{}: {} (in `{}`)",
            loaded.path,
            e.message,
            text.lines().next().unwrap_or(text)
        ))
    })
}

/// The nodes a step runs on (the `local` pseudo-node for `target: local`).
pub fn targets(step: &Step, inv: &Inventory) -> Vec<String> {
    match &step.target {
        Some(Target::Local) => vec![LOCAL.to_string()],
        Some(t) => inv.resolve(t),
        None => Vec::new(),
    }
}

/// Every (step, node) of a runbook, in order (gates as `(step, "")`).
pub fn units(loaded: &Loaded, inv: &Inventory) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for s in &loaded.runbook.steps {
        if s.confirm.is_some() {
            out.push((s.id.clone(), String::new()));
        } else {
            out.extend(targets(s, inv).into_iter().map(|n| (s.id.clone(), n)));
        }
    }
    out
}

/// Whether a step takes its nodes' service down (stop, restart, start, leaf rotation).
fn disruptive(step: &Step) -> bool {
    step.effects().iter().any(|e| {
        matches!(
            e,
            Effect::Stop {} | Effect::Restart {} | Effect::Start {} | Effect::RotateLeaf { .. }
        )
    })
}

/// The step's nodes in groups run together: its order, except that a step taking services down
/// never has two etcd members in one group (quorum).
pub fn batches(step: &Step, nodes: &[String], inv: &Inventory) -> Vec<Vec<String>> {
    let size = match step.order() {
        Order::Serial => 1,
        Order::Parallel => nodes.len().max(1),
        Order::Batch(n) => n as usize,
    };
    let etcd = |n: &String| {
        inv.nodes
            .get(n)
            .is_some_and(|x| x.etcd && x.role != Some(NodeRole::Agent))
    };
    let guard = disruptive(step);
    let mut out: Vec<Vec<String>> = Vec::new();
    let mut cur: Vec<String> = Vec::new();
    for n in nodes {
        let clash = guard && etcd(n) && cur.iter().any(etcd);
        if cur.len() >= size || clash {
            out.push(std::mem::take(&mut cur));
        }
        cur.push(n.clone());
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// The effects the steps from `from` on still owe, one line per step.
fn pending(loaded: &Loaded, inv: &Inventory, from: usize) -> Vec<String> {
    loaded
        .runbook
        .steps
        .iter()
        .skip(from)
        .filter(|s| !s.effects().is_empty())
        .map(|s| {
            let names: Vec<&str> = s.effects().iter().map(Effect::name).collect();
            format!(
                "{}: {} on {}",
                s.id,
                names.join(", "),
                targets(s, inv).join(", ")
            )
        })
        .collect()
}

/// The last [`JOURNAL_TAIL`] bytes of a text, cut at a character boundary.
fn tail(s: &str) -> String {
    if s.len() <= JOURNAL_TAIL {
        return s.to_string();
    }
    let mut at = s.len() - JOURNAL_TAIL;
    while !s.is_char_boundary(at) {
        at += 1;
    }
    format!("…{}", &s[at..])
}

/// Now, as RFC 3339 UTC.
pub fn now() -> String {
    crate::timefmt::rfc3339(time::OffsetDateTime::now_utc())
}
