//! The run journal: one directory per run holding `journal.jsonl` (append-only, one JSON record
//! per event, each flushed to disk with `fsync` before harrow takes its next action), a copy of
//! the runbook as it was when the run began, and `lock`, an exclusive file lock that keeps a
//! second `run` or `resume` off the same journal while one is alive (the operating system drops
//! it when the holder dies, even by SIGKILL). Reading tolerates a last line cut short by a crash.

use std::fs::{File, OpenOptions};
use std::io::Write as _;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// The journal file's name inside the run directory.
pub const JOURNAL_FILE: &str = "journal.jsonl";
/// The lock file's name.
pub const LOCK_FILE: &str = "lock";
/// The runbook copy's name.
pub const RUNBOOK_COPY: &str = "runbook.yaml";

/// One inventory node as pinned in the journal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PinnedNode {
    pub name: String,
    pub role: String,
    pub etcd: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    pub transport: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub become_: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub labels: Vec<String>,
}

/// One journal record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Record {
    /// The run began: what it is pinned to.
    RunStarted {
        run_id: String,
        runbook_path: String,
        runbook_name: String,
        runbook_sha256: String,
        /// Every param: plain values, and `sha256:<prefix>` digests for secrets.
        params: std::collections::BTreeMap<String, String>,
        inventory: Vec<PinnedNode>,
        /// Where the inventory came from: `--inventory FILE` (re-read and compared by
        /// `resume`), or the snapshot.
        inventory_source: String,
        /// `--transport` as given for the whole run.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        transport: Option<String>,
        ssh_config: Option<String>,
        /// The state directory on ssh nodes (`--remote-state`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        remote_state: Option<String>,
        harrow: String,
        at: String,
    },
    /// A later `resume` took over.
    Resumed {
        at: String,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        accepted_changes: Vec<String>,
    },
    /// A preflight check on a node.
    Preflight {
        id: String,
        node: String,
        ok: bool,
        exit: i32,
        output: String,
    },
    /// A step × node is about to run (`attempt` 1, or more after an interrupted idempotent run).
    UnitStarted {
        step: String,
        node: String,
        attempt: u32,
        command: String,
        at: String,
    },
    /// A step × node ended.
    UnitFinished {
        step: String,
        node: String,
        attempt: u32,
        exit: i32,
        ok: bool,
        /// How the result was learned: `ran`, `exit-marker` (read after a crash), `verified`
        /// (an interrupted step whose verify passed), `skipped-dry`.
        how: String,
        output_sha256: String,
        /// The output's last lines, secrets masked.
        output: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        verify: Option<String>,
        at: String,
    },
    /// A rollback command ran after a failure.
    Rollback {
        step: String,
        node: String,
        exit: i32,
        output: String,
    },
    /// A `confirm` gate was answered (or not).
    Gate {
        step: String,
        /// `yes` (typed), `--yes`, or `stopped`.
        answer: String,
    },
    /// A step marked `checkpoint` finished on every node.
    Checkpoint { step: String },
    /// Effects the rest of the runbook still owes (restarts after a rotate, agents after servers).
    Pending { effects: Vec<String> },
    /// The run ended (this invocation): `done`, `step-failed`, `stopped-at-gate`,
    /// `preflight-failed`, `interrupted-needs-decision`.
    RunFinished {
        outcome: String,
        exit: i32,
        at: String,
    },
}

/// An open journal, appending.
#[derive(Debug)]
pub struct Journal {
    dir: PathBuf,
    file: File,
    _lock: File,
}

impl Journal {
    /// Create a new run directory (it must not hold a journal yet) and take its lock.
    pub fn create(dir: &Path) -> Result<Journal> {
        if dir.join(JOURNAL_FILE).exists() {
            return Err(Error::Journal(format!(
                "{}: holds a journal already; continue it with `harrow resume {}`",
                dir.display(),
                dir.display()
            )));
        }
        std::fs::create_dir_all(dir).map_err(|e| io(dir, &e))?;
        let j = Self::open(dir)?;
        // The new files' directory entries reach the disk too.
        if let Ok(d) = File::open(dir) {
            let _ = d.sync_all();
        }
        Ok(j)
    }

    /// Open an existing run directory for appending, taking its lock.
    pub fn open(dir: &Path) -> Result<Journal> {
        let lock = lock(dir)?;
        let path = dir.join(JOURNAL_FILE);
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(|e| io(&path, &e))?;
        Ok(Journal {
            dir: dir.to_path_buf(),
            file,
            _lock: lock,
        })
    }

    /// The run directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Append one record and wait until it is on disk.
    pub fn append(&mut self, r: &Record) -> Result<()> {
        let mut line = serde_json::to_vec(r).map_err(|e| Error::Internal(e.to_string()))?;
        line.push(b'\n');
        let path = self.dir.join(JOURNAL_FILE);
        self.file.write_all(&line).map_err(|e| io(&path, &e))?;
        self.file.sync_data().map_err(|e| io(&path, &e))
    }
}

/// Take the run directory's lock, or say who holds it.
fn lock(dir: &Path) -> Result<File> {
    let path = dir.join(LOCK_FILE);
    let f = OpenOptions::new()
        .create(true)
        .truncate(false)
        .read(true)
        .write(true)
        .open(&path)
        .map_err(|e| io(&path, &e))?;
    // A lock held for less than a moment is not a live run: a process harrow was starting when
    // it died keeps a copy of the descriptor until it executes its program.
    let start = std::time::Instant::now();
    let mut got = f.try_lock();
    while matches!(got, Err(std::fs::TryLockError::WouldBlock))
        && start.elapsed() < std::time::Duration::from_secs(3)
    {
        std::thread::sleep(std::time::Duration::from_millis(50));
        got = f.try_lock();
    }
    match got {
        Ok(()) => {
            let _ = f.set_len(0);
            let _ = (&f).write_all(format!("{}\n", std::process::id()).as_bytes());
            Ok(f)
        }
        Err(std::fs::TryLockError::WouldBlock) => {
            let holder = std::fs::read_to_string(&path).unwrap_or_default();
            Err(Error::Journal(format!(
                "{}: locked by another harrow run or resume (process {}); wait for it to end",
                dir.display(),
                holder.trim()
            )))
        }
        Err(std::fs::TryLockError::Error(e)) => Err(io(&path, &e)),
    }
}

/// Read every record of a run directory's journal. A last line cut short (a crash in the
/// middle of a write) is dropped; any other unreadable line is an error naming it.
pub fn read(dir: &Path) -> Result<Vec<Record>> {
    let path = dir.join(JOURNAL_FILE);
    let text = std::fs::read_to_string(&path).map_err(|e| io(&path, &e))?;
    let complete = text.ends_with('\n');
    let lines: Vec<&str> = text.lines().collect();
    let mut out = Vec::with_capacity(lines.len());
    for (i, line) in lines.iter().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str::<Record>(line) {
            Ok(r) => out.push(r),
            Err(_) if i + 1 == lines.len() && !complete => {}
            Err(e) => {
                return Err(Error::Journal(format!(
                    "{}:{}: not a journal record ({e})",
                    path.display(),
                    i + 1
                )));
            }
        }
    }
    if !matches!(out.first(), Some(Record::RunStarted { .. })) {
        return Err(Error::Journal(format!(
            "{}: does not begin with the run's start record",
            path.display()
        )));
    }
    Ok(out)
}

fn io(path: &Path, e: &std::io::Error) -> Error {
    Error::Journal(format!("{}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn started() -> Record {
        Record::RunStarted {
            run_id: "r".into(),
            runbook_path: "r.yaml".into(),
            runbook_name: "r".into(),
            runbook_sha256: "00".into(),
            params: Default::default(),
            inventory: Vec::new(),
            inventory_source: "snapshot".into(),
            transport: None,
            ssh_config: None,
            remote_state: None,
            harrow: "0".into(),
            at: "t".into(),
        }
    }

    #[test]
    fn records_read_back_and_a_torn_last_line_is_dropped() {
        let d = tempfile::tempdir().unwrap();
        let mut j = Journal::create(d.path()).unwrap();
        j.append(&started()).unwrap();
        j.append(&Record::Checkpoint { step: "a".into() }).unwrap();
        drop(j);
        let mut f = OpenOptions::new()
            .append(true)
            .open(d.path().join(JOURNAL_FILE))
            .unwrap();
        f.write_all(b"{\"event\":\"checkp").unwrap();
        let back = read(d.path()).unwrap();
        assert_eq!(
            back,
            vec![started(), Record::Checkpoint { step: "a".into() }]
        );
    }

    #[test]
    fn a_second_holder_is_refused_while_the_first_lives() {
        let d = tempfile::tempdir().unwrap();
        let j = Journal::create(d.path()).unwrap();
        let e = Journal::open(d.path()).unwrap_err();
        assert!(e.to_string().contains("locked"), "{e}");
        assert_eq!(e.exit_code(), crate::error::exit::JOURNAL_REFUSED);
        drop(j);
        assert!(Journal::open(d.path()).is_ok());
    }

    #[test]
    fn a_damaged_middle_line_is_an_error_naming_it() {
        let d = tempfile::tempdir().unwrap();
        let mut j = Journal::create(d.path()).unwrap();
        j.append(&started()).unwrap();
        drop(j);
        let p = d.path().join(JOURNAL_FILE);
        let mut t = std::fs::read_to_string(&p).unwrap();
        t.push_str("garbage\n");
        std::fs::write(&p, t).unwrap();
        let e = read(d.path()).unwrap_err();
        assert!(e.to_string().contains(":2:"), "{e}");
    }
}
