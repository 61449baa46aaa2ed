//! Shared by the executor tests: a runbook of several steps across several nodes whose every
//! step appends one line per run to a marker file per node, the harrow binary, journal
//! watching, and the check that every step × node ran exactly once.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// The secret every test run is given (through HARROW_TEST_TOKEN) and must never find.
pub const SECRET: &str = "K10secret-token-value-7f3a91::server:pw-9d2e41c0";

/// The steps of the marker runbook and the nodes each runs on.
pub const STEPS: &[(&str, &[&str])] = &[
    ("first", &["s1", "s2"]),
    ("second", &["s1", "s2", "a1", "a2"]),
    ("third", &["a1", "a2"]),
    ("fourth", &["s1", "s2", "a1", "a2"]),
];

pub fn harrow() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_harrow"));
    c.env("HARROW_TEST_TOKEN", SECRET);
    c
}

/// A runbook of four steps over two servers and two agents (serial, batch:2, serial with a
/// checkpoint, parallel); each appends its name to `marks/<node>` once per execution and
/// sleeps a little, so kills land inside steps too.
pub fn marker_runbook(marks: &Path, sleep: &str) -> String {
    format!(
        r#"apiVersion: harrow/v1
kind: Runbook
metadata:
  name: crash-test
  description: every step appends a line to a marker file per node
params:
  marks: {{type: path, default: "{marks}"}}
  token: {{type: secret, from_env: HARROW_TEST_TOKEN}}
steps:
  - id: first
    target: servers
    run: |
      mkdir -p {{{{ params.marks }}}}
      echo first >> {{{{ params.marks }}}}/{{{{ node.name }}}}
      sleep {sleep}
  - id: second
    target: all
    order: batch:2
    run: "mkdir -p {{{{ params.marks }}}}; echo second >> {{{{ params.marks }}}}/{{{{ node.name }}}}; sleep {sleep}"
  - id: third
    target: agents
    run: |
      echo third >> {{{{ params.marks }}}}/{{{{ node.name }}}}
      echo "login with {{{{ params.token }}}}"
      sleep {sleep}
    checkpoint: true
  - id: fourth
    target: all
    order: parallel
    run: "echo fourth >> {{{{ params.marks }}}}/{{{{ node.name }}}}; echo {{{{ params.token }}}} >&2; sleep {sleep}"
"#,
        marks = marks.display()
    )
}

/// Every step × node ran exactly once: each node's marker file holds its steps once, in order.
pub fn assert_exactly_once(marks: &Path, context: &str) {
    for node in ["s1", "s2", "a1", "a2"] {
        let want: Vec<&str> = STEPS
            .iter()
            .filter(|(_, nodes)| nodes.contains(&node))
            .map(|(s, _)| *s)
            .collect();
        let got = std::fs::read_to_string(marks.join(node)).unwrap_or_default();
        let got: Vec<&str> = got.lines().collect();
        assert_eq!(got, want, "{context}: marker file of {node}");
    }
}

/// The number of complete records in a journal directory.
pub fn records(dir: &Path) -> usize {
    std::fs::read(dir.join("journal.jsonl"))
        .map(|b| b.iter().filter(|c| **c == b'\n').count())
        .unwrap_or(0)
}

/// Wait until the journal holds `n` records or the child ends; then wait `extra` and kill the
/// child with SIGKILL. Returns whether the kill hit a live process.
pub fn kill_at(child: &mut Child, dir: &Path, n: usize, extra: Duration) -> bool {
    let start = Instant::now();
    loop {
        if child.try_wait().ok().flatten().is_some() {
            return false;
        }
        if records(dir) >= n {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "no record {n} in {}",
            dir.display()
        );
        std::thread::sleep(Duration::from_millis(2));
    }
    std::thread::sleep(extra);
    let alive = child.try_wait().ok().flatten().is_none();
    let _ = child.kill();
    let _ = child.wait();
    alive
}

/// Spawn a command with its output captured to files in `dir` (so a killed child leaves them).
pub fn spawn_logged(mut c: Command, dir: &Path, name: &str) -> Child {
    std::fs::create_dir_all(dir).unwrap();
    let out = std::fs::File::create(dir.join(format!("{name}.stdout"))).unwrap();
    let err = std::fs::File::create(dir.join(format!("{name}.stderr"))).unwrap();
    c.stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .spawn()
        .unwrap()
}

/// Write `runbook` and `inventory` into the case directory and give the command that runs them
/// with `--yes -q`, its journal in `CASE/journal`, over `transport` (the transport's own
/// arguments: `--transport local`, or `--ssh-config FILE --remote-state DIR`).
pub fn case_run(
    case: &Path,
    runbook: &str,
    inventory: &str,
    transport: &[std::ffi::OsString],
) -> Command {
    std::fs::create_dir_all(case).unwrap();
    std::fs::write(case.join("rb.yaml"), runbook).unwrap();
    std::fs::write(case.join("inv.yaml"), inventory).unwrap();
    let mut c = harrow();
    c.arg("run")
        .arg(case.join("rb.yaml"))
        .arg("--inventory")
        .arg(case.join("inv.yaml"))
        .args(transport)
        .args(["--skip-simulate", "--yes", "-q", "--journal"])
        .arg(case.join("journal"));
    c
}

/// The same command line without `--yes` (so the run stops at its gates).
pub fn without_yes(run: &Command) -> Command {
    let mut c = harrow();
    c.args(run.get_args().filter(|a| *a != "--yes"));
    c
}

/// `harrow resume CASE/journal --yes -q`.
pub fn resume(case: &Path) -> Command {
    let mut c = harrow();
    c.arg("resume")
        .arg(case.join("journal"))
        .args(["--yes", "-q"]);
    c
}

/// `harrow run rb.yaml --inventory inv.yaml --transport local --skip-simulate --journal j -q`
/// in `dir`, with `extra` arguments.
pub fn run_local_in(dir: &Path, extra: &[&str]) -> Output {
    let mut c = harrow();
    c.current_dir(dir)
        .args([
            "run",
            "rb.yaml",
            "--inventory",
            "inv.yaml",
            "--transport",
            "local",
        ])
        .args(["--skip-simulate", "--journal", "j", "-q"])
        .args(extra);
    output(c)
}

/// Run to completion.
pub fn output(mut c: Command) -> Output {
    c.stdin(Stdio::null()).output().unwrap()
}

pub fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// Every file under `root`, recursively.
pub fn files_under(root: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut todo = vec![root.to_path_buf()];
    while let Some(d) = todo.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                todo.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// No file under `root` holds the secret.
pub fn assert_no_secret_under(root: &Path) {
    for f in files_under(root) {
        let bytes = std::fs::read(&f).unwrap_or_default();
        let hit = bytes.windows(SECRET.len()).any(|w| w == SECRET.as_bytes())
            || bytes.windows(14).any(|w| w == b"pw-9d2e41c0::s");
        assert!(!hit, "the secret is in {}", f.display());
        let text = String::from_utf8_lossy(&bytes);
        assert!(
            !text.contains("pw-9d2e41c0"),
            "the secret's password is in {}",
            f.display()
        );
    }
}

/// The crash matrix: for each kill point (journal record count, delay after it), run, kill the
/// executor with SIGKILL there, resume with `--yes` until it exits 0, and check every step ×
/// node ran exactly once. `make` builds the `run` command for a case directory. Cases run
/// `parallel` at a time; most kills must hit a live executor (else the matrix proved little).
pub fn crash_matrix(
    points: &[(usize, u64)],
    parallel: usize,
    make: &(dyn Fn(&Path) -> Command + Sync),
    root: &Path,
) {
    let hits = std::sync::atomic::AtomicUsize::new(0);
    for chunk in points.chunks(parallel) {
        std::thread::scope(|s| {
            for &(n, extra) in chunk {
                let hits = &hits;
                s.spawn(move || {
                    let case = root.join(format!("case-{n}-{extra}"));
                    let journal = case.join("journal");
                    let mut child = spawn_logged(make(&case), &case, "run");
                    if kill_at(&mut child, &journal, n, Duration::from_millis(extra)) {
                        hits.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    }
                    let o = output(resume(&case));
                    assert_eq!(
                        o.status.code(),
                        Some(0),
                        "resume after a kill at record {n} (+{extra} ms): {}",
                        text(&o)
                    );
                    assert_exactly_once(
                        &case.join("marks"),
                        &format!("kill at record {n} +{extra} ms"),
                    );
                    let st = output({
                        let mut c = harrow();
                        c.arg("status").arg(&journal).args(["-o", "json"]);
                        c
                    });
                    let v: serde_json::Value = serde_json::from_slice(&st.stdout).unwrap();
                    assert_eq!(v["outcome"], "done", "{v}");
                    assert_eq!(v["counts"]["done"], 12, "{v}");
                    assert_no_secret_under(&case);
                });
            }
        });
    }
    let hits = hits.into_inner();
    assert!(
        hits * 10 >= points.len() * 8,
        "most kills hit a live executor: {hits} of {}",
        points.len()
    );
}
