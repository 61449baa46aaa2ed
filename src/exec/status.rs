//! `harrow status DIR`: what a run's journal says, per step × node — done, failed, interrupted
//! (started and not recorded as finished: `resume` settles it from the node's markers) or
//! pending — with the gates, the last checkpoint, the effects still owed and how the latest
//! invocation ended. Read-only: it takes no lock and contacts no node.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use serde::Serialize;

use super::engine::{self, Replay};
use super::inventory::Inventory;
use super::journal::{self, Record};
use crate::error::{Error, Result};

/// One step × node.
#[derive(Debug, Clone, Serialize)]
pub struct UnitStatus {
    pub node: String,
    /// `done`, `failed`, `interrupted`, `pending`.
    pub state: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exit: Option<i32>,
    pub attempts: u32,
}

/// One step.
#[derive(Debug, Clone, Serialize)]
pub struct StepStatus {
    pub id: String,
    /// `run`, `copy` or `confirm`.
    pub kind: &'static str,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub nodes: Vec<UnitStatus>,
    /// For gates: `answered`, `stopped` or `pending`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gate: Option<&'static str>,
}

/// A run's status.
#[derive(Debug, Clone, Serialize)]
pub struct Status {
    pub run_id: String,
    pub runbook: String,
    pub runbook_sha256: String,
    /// How the latest invocation ended; `running-or-crashed` when it recorded no end.
    pub outcome: String,
    pub last_checkpoint: Option<String>,
    pub pending_effects: Vec<String>,
    pub steps: Vec<StepStatus>,
    pub counts: BTreeMap<&'static str, usize>,
}

/// Read a run directory's status.
pub fn read(dir: &Path) -> Result<Status> {
    let records = journal::read(dir)?;
    let Some(Record::RunStarted {
        run_id,
        runbook_path,
        runbook_sha256,
        params,
        inventory,
        inventory_source,
        ..
    }) = records.first()
    else {
        return Err(Error::Journal(format!(
            "{}: no start record",
            dir.display()
        )));
    };
    let copy = dir.join(journal::RUNBOOK_COPY);
    let text = std::fs::read_to_string(&copy)
        .map_err(|e| Error::Journal(format!("{}: {e}", copy.display())))?;
    let probe = crate::runbook::load_str(&copy.display().to_string(), &text, &[])
        .map_err(|e| Error::Journal(format!("the run's runbook copy does not load: {e}")))?;
    let vars = super::plain_vars(&probe.runbook.params, params);
    let loaded = crate::runbook::load_str(&copy.display().to_string(), &text, &vars)?;
    let inv = Inventory::from_pinned(inventory, inventory_source);
    let replay = Replay::of(&records);
    let mut exits: BTreeMap<(String, String), i32> = BTreeMap::new();
    let mut stopped_gates = Vec::new();
    let mut outcome = "running-or-crashed".to_string();
    let mut last_checkpoint = None;
    let mut pending_effects = Vec::new();
    for r in &records {
        match r {
            Record::UnitFinished {
                step, node, exit, ..
            } => {
                exits.insert((step.clone(), node.clone()), *exit);
            }
            Record::Gate { step, answer } if answer == "stopped" => {
                stopped_gates.push(step.clone());
            }
            Record::Checkpoint { step } => last_checkpoint = Some(step.clone()),
            Record::Pending { effects } => pending_effects = effects.clone(),
            Record::RunFinished { outcome: o, .. } => outcome = o.clone(),
            Record::UnitStarted { .. } | Record::Resumed { .. } => {
                outcome = "running-or-crashed".to_string();
            }
            _ => {}
        }
    }
    if outcome == "done" {
        pending_effects.clear();
    }
    let mut counts: BTreeMap<&'static str, usize> = BTreeMap::new();
    let mut steps = Vec::new();
    for s in &loaded.runbook.steps {
        if s.confirm.is_some() {
            let gate = if replay.gates.contains(&s.id) {
                "answered"
            } else if stopped_gates.contains(&s.id) {
                "stopped"
            } else {
                "pending"
            };
            steps.push(StepStatus {
                id: s.id.clone(),
                kind: "confirm",
                nodes: Vec::new(),
                gate: Some(gate),
            });
            continue;
        }
        let nodes = engine::targets(s, &inv)
            .into_iter()
            .map(|n| {
                let k = (s.id.clone(), n.clone());
                let state = if replay.done.contains(&k) {
                    "done"
                } else if replay.started.contains_key(&k) {
                    "interrupted"
                } else if exits.contains_key(&k) {
                    "failed"
                } else {
                    "pending"
                };
                *counts.entry(state).or_default() += 1;
                UnitStatus {
                    exit: exits.get(&k).copied(),
                    attempts: replay.attempts.get(&k).copied().unwrap_or(0),
                    node: n,
                    state,
                }
            })
            .collect();
        steps.push(StepStatus {
            id: s.id.clone(),
            kind: if s.copy.is_some() { "copy" } else { "run" },
            nodes,
            gate: None,
        });
    }
    Ok(Status {
        run_id: run_id.clone(),
        runbook: runbook_path.clone(),
        runbook_sha256: runbook_sha256.clone(),
        outcome,
        last_checkpoint,
        pending_effects,
        steps,
        counts,
    })
}

/// The status as text: a header, then one line per step × node.
pub fn text(s: &Status) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "run {} ({})", s.run_id, s.runbook);
    let _ = writeln!(out, "outcome: {}", s.outcome);
    let _ = writeln!(
        out,
        "last checkpoint: {}",
        s.last_checkpoint.as_deref().unwrap_or("none")
    );
    let counts: Vec<String> = s.counts.iter().map(|(k, v)| format!("{v} {k}")).collect();
    let _ = writeln!(out, "step × node: {}", counts.join(", "));
    for st in &s.steps {
        if let Some(g) = st.gate {
            let _ = writeln!(out, "  {:<28} gate {g}", st.id);
            continue;
        }
        for u in &st.nodes {
            let exit = u.exit.map(|c| format!(" (exit {c})")).unwrap_or_default();
            let tries = if u.attempts > 1 {
                format!(", {} attempts", u.attempts)
            } else {
                String::new()
            };
            let _ = writeln!(
                out,
                "  {:<28} {:<20} {}{exit}{tries}",
                st.id, u.node, u.state
            );
        }
    }
    if !s.pending_effects.is_empty() {
        let _ = writeln!(out, "effects still owed:");
        for e in &s.pending_effects {
            let _ = writeln!(out, "  {e}");
        }
    }
    out
}

/// The status as JSON (sorted keys).
pub fn json(s: &Status) -> String {
    let v = serde_json::to_value(s).unwrap_or_default();
    let mut text = serde_json::to_string_pretty(&v).unwrap_or_default();
    text.push('\n');
    text
}
