//! The executor floor (above `runbook` and `rotation`): runs a runbook over an inventory with a
//! durable journal, resumes it after a crash, and reports its status.
//!
//! - [`inventory`]: the nodes, from `--inventory FILE` or the snapshot; target resolution.
//! - [`journal`]: `journal.jsonl` (fsync'd records), the lock, the runbook copy.
//! - [`wrapper`]: the detached runner and its markers on the node (exactly once).
//! - [`transport`]: `local` (`sh -c`) and `ssh`/`scp` (system OpenSSH).
//! - [`engine`]: preflights, steps × nodes in order, gates, verify, rollback, resume decisions.
//! - [`status`]: done / interrupted / pending per step × node from a journal.
//! - [`mask`]: secret values replaced in everything written.

pub mod engine;
pub mod inventory;
pub mod journal;
pub mod mask;
pub mod status;
pub mod transport;
pub mod wrapper;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::runbook::Loaded;
use crate::runbook::model::ParamType;

pub use engine::{Exec, Options, Outcome, Replay};
pub use inventory::{Inventory, TransportKind};
pub use journal::{Journal, Record};
pub use mask::Masker;

/// The default state directory on ssh nodes, relative to the login directory.
pub const REMOTE_STATE: &str = ".harrow/runs";

/// The values of a runbook's secret params, read from their environment variable or file. A
/// secret the runbook's templates use must be there and at least [`mask::MIN_SECRET_LEN`]
/// characters long (shorter values would mask ordinary words in the output).
pub fn secrets(loaded: &Loaded) -> Result<BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    for (name, p) in &loaded.runbook.params {
        if p.kind != ParamType::Secret {
            continue;
        }
        let used = loaded.text.contains(&format!("params.{name}"));
        let value = if let Some(var) = &p.from_env {
            std::env::var(var).ok()
        } else if let Some(file) = &p.from_file {
            std::fs::read_to_string(file)
                .ok()
                .map(|s| s.trim_end_matches(['\n', '\r']).to_string())
        } else {
            None
        };
        match value {
            Some(v) if v.chars().count() >= mask::MIN_SECRET_LEN => {
                out.insert(name.clone(), v);
            }
            Some(_) => {
                return Err(Error::Usage(format!(
                    "secret param `{name}` is shorter than {} characters",
                    mask::MIN_SECRET_LEN
                )));
            }
            None if used => {
                let whence = match (&p.from_env, &p.from_file) {
                    (Some(v), _) => format!("set the environment variable {v}"),
                    (None, Some(f)) => format!("write it to {f}"),
                    (None, None) => "the runbook gives it neither from_env nor from_file".into(),
                };
                return Err(Error::Usage(format!(
                    "secret param `{name}` has no value: {whence}"
                )));
            }
            None => {}
        }
    }
    Ok(out)
}

/// How the journal pins a secret: a short digest, never the value.
pub fn secret_digest(v: &str) -> String {
    format!("sha256:{}", &crate::pki::sha256_hex(v.as_bytes())[..16])
}

/// The params as the journal pins them: plain values, secrets as digests.
pub fn pinned_params(
    loaded: &Loaded,
    secrets: &BTreeMap<String, String>,
) -> BTreeMap<String, String> {
    let mut out = loaded.params.clone();
    for (k, v) in secrets {
        out.insert(k.clone(), secret_digest(v));
    }
    out
}

/// The `--var` pairs that reload a runbook with the plain params a journal pinned.
pub fn plain_vars(
    runbook_params: &BTreeMap<String, crate::runbook::model::Param>,
    pinned: &BTreeMap<String, String>,
) -> Vec<(String, String)> {
    pinned
        .iter()
        .filter(|(k, _)| {
            runbook_params
                .get(*k)
                .is_some_and(|p| p.kind != ParamType::Secret)
        })
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// The default journal directory of a run: `harrow-runs/<run id>`.
pub fn default_journal(run_id: &str) -> PathBuf {
    Path::new("harrow-runs").join(run_id)
}

/// A run id: the runbook's name and the UTC start time.
pub fn run_id(name: &str, at: time::OffsetDateTime) -> String {
    let fmt = time::macros::format_description!("[year][month][day]T[hour][minute][second]Z");
    let stamp = at.format(&fmt).unwrap_or_else(|_| "0".into());
    let clean: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '-'
            }
        })
        .collect();
    format!("{clean}-{stamp}")
}

/// What changed between the runbook a run began with (its copy in the journal) and the file
/// now: steps added, removed or changed, by id; params whose value changed.
pub fn runbook_changes(old: &Loaded, new: &Loaded) -> Vec<String> {
    let mut out = Vec::new();
    let index = |l: &Loaded| -> BTreeMap<String, String> {
        l.runbook
            .steps
            .iter()
            .map(|s| (s.id.clone(), serde_json::to_string(s).unwrap_or_default()))
            .collect()
    };
    let (a, b) = (index(old), index(new));
    for (id, s) in &a {
        match b.get(id) {
            None => out.push(format!("step `{id}` removed")),
            Some(t) if t != s => out.push(format!("step `{id}` changed")),
            _ => {}
        }
    }
    for id in b.keys().filter(|id| !a.contains_key(*id)) {
        out.push(format!("step `{id}` added"));
    }
    let order =
        |l: &Loaded| -> Vec<String> { l.runbook.steps.iter().map(|s| s.id.clone()).collect() };
    if out.is_empty() && order(old) != order(new) {
        out.push("the steps' order changed".to_string());
    }
    if serde_json::to_string(&old.runbook.preflight).ok()
        != serde_json::to_string(&new.runbook.preflight).ok()
    {
        out.push("the preflight checks changed".to_string());
    }
    if out.is_empty() {
        out.push("the file changed (metadata, params or formatting)".to_string());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn loaded(extra: &str) -> Loaded {
        let text = format!(
            "apiVersion: harrow/v1
kind: Runbook
metadata: {{name: t}}
params:
  tok: {{type: secret, {extra}}}
steps:
  - id: a
    target: all
    run: echo {{{{ params.tok }}}}
"
        );
        crate::runbook::load_str("t.yaml", &text, &[]).unwrap()
    }

    #[test]
    fn a_secret_comes_from_its_file_without_the_last_newline_and_is_pinned_as_a_digest() {
        let d = tempfile::tempdir().unwrap();
        let f = d.path().join("tok");
        std::fs::write(&f, "K10abc::server:from-a-file\n").unwrap();
        let l = loaded(&format!("from_file: {}", f.display()));
        let s = secrets(&l).unwrap();
        assert_eq!(s["tok"], "K10abc::server:from-a-file");
        let pinned = pinned_params(&l, &s);
        assert!(pinned["tok"].starts_with("sha256:"), "{pinned:?}");
        assert!(!pinned["tok"].contains("from-a-file"));
    }

    #[test]
    fn a_missing_or_short_secret_is_named_with_where_it_comes_from() {
        let l = loaded("from_file: /nonexistent/harrow-secret");
        let e = secrets(&l).unwrap_err().to_string();
        assert!(e.contains("write it to /nonexistent/harrow-secret"), "{e}");
        let d = tempfile::tempdir().unwrap();
        let f = d.path().join("tok");
        std::fs::write(&f, "abc").unwrap();
        let e = secrets(&loaded(&format!("from_file: {}", f.display())))
            .unwrap_err()
            .to_string();
        assert!(e.contains("shorter than 6"), "{e}");
    }

    #[test]
    fn run_ids_carry_the_name_and_the_utc_time() {
        let at = time::macros::datetime!(2027-01-15 02:00:00 UTC);
        assert_eq!(run_id("rotate ca/x", at), "rotate-ca-x-20270115T020000Z");
    }
}
