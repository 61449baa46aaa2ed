//! The executor over the local transport: the crash matrix (SIGKILL at every journal record and
//! inside steps, then `resume`: every step × node exactly once), the journal lock, resume
//! refusing an edited runbook, interrupted steps (idempotent, verified, or a decision), step
//! failure, preflight failure, gates, masking of secrets, and `status`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stderr
)]

mod exec_support;
mod support;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use exec_support::*;

const INVENTORY: &str = "nodes:
  - {name: s1, role: server}
  - {name: s2, role: server}
  - {name: a1, role: agent}
  - {name: a2, role: agent}
";

/// A case directory with the marker runbook and the inventory; the `run` command for it.
fn setup(case: &Path, sleep: &str) -> Command {
    let rb = marker_runbook(&case.join("marks"), sleep);
    case_run(
        case,
        &rb,
        INVENTORY,
        &["--transport".into(), "local".into()],
    )
}

#[test]
fn a_run_without_interruption_runs_every_step_once_and_masks_the_secret() {
    let d = tempfile::tempdir().unwrap();
    let o = output(setup(d.path(), "0"));
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_exactly_once(&d.path().join("marks"), "clean run");
    let shown = text(&o);
    assert!(shown.contains("login with ***"), "{shown}");
    assert!(
        shown.contains("a1 | login with ***"),
        "output is streamed with the node: {shown}"
    );
    std::fs::write(d.path().join("run.out"), shown).unwrap();
    assert_no_secret_under(d.path());
    // The journal pins the secret as a digest only.
    let j = std::fs::read_to_string(d.path().join("journal/journal.jsonl")).unwrap();
    assert!(j.contains("\"token\":\"sha256:"), "{j}");
}

#[test]
fn sigkill_at_every_record_and_inside_steps_then_resume_runs_each_step_node_exactly_once() {
    let d = tempfile::tempdir().unwrap();
    // How many records a whole run writes.
    let full = d.path().join("full");
    let o = output(setup(&full, "0.05"));
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let total = records(&full.join("journal"));
    assert!(total >= 26, "12 units × 2 records and more: {total}");
    // Every record boundary, and for each a kill 60 ms later (inside the step that began).
    let mut points = Vec::new();
    for n in 1..total {
        points.push((n, 0));
        points.push((n, 60));
    }
    crash_matrix(&points, 6, &|case: &Path| setup(case, "0.05"), d.path());
}

#[test]
fn a_second_run_on_the_same_journal_is_refused_while_the_first_holds_it() {
    let d = tempfile::tempdir().unwrap();
    let mut first = spawn_logged(setup(d.path(), "1"), &d.path().join("logs"), "run");
    let journal = d.path().join("journal");
    let start = std::time::Instant::now();
    while records(&journal) < 2 {
        assert!(start.elapsed() < Duration::from_secs(30));
        std::thread::sleep(Duration::from_millis(10));
    }
    let o = output(resume(d.path()));
    assert_eq!(o.status.code(), Some(7), "{}", text(&o));
    assert!(text(&o).contains("locked"), "{}", text(&o));
    // A new run into the same journal directory is refused too.
    let o = output(setup(d.path(), "1"));
    assert_eq!(o.status.code(), Some(7), "{}", text(&o));
    assert!(text(&o).contains("harrow resume"), "{}", text(&o));
    assert!(first.wait().unwrap().success());
    assert_exactly_once(&d.path().join("marks"), "the first run alone");
}

#[test]
fn resume_after_editing_the_runbook_is_refused_naming_the_change() {
    let d = tempfile::tempdir().unwrap();
    let rb = marker_runbook(&d.path().join("marks"), "0").replace(
        "  - id: fourth",
        "  - id: look\n    confirm: Check the agents\n  - id: fourth",
    );
    std::fs::create_dir_all(d.path()).unwrap();
    let run = setup(d.path(), "0");
    std::fs::write(d.path().join("rb.yaml"), &rb).unwrap();
    // Without --yes the run stops at the gate (exit 5).
    let o = output(without_yes(&run));
    assert_eq!(o.status.code(), Some(5), "{}", text(&o));
    assert!(text(&o).contains("harrow resume"), "{}", text(&o));
    std::fs::write(
        d.path().join("rb.yaml"),
        rb.replace("echo fourth >>", "echo FOURTH >>"),
    )
    .unwrap();
    let o = output(resume(d.path()));
    assert_eq!(o.status.code(), Some(7), "{}", text(&o));
    assert!(text(&o).contains("step `fourth` changed"), "{}", text(&o));
    assert!(text(&o).contains("--accept-changes"), "{}", text(&o));
    let mut accept = resume(d.path());
    accept.arg("--accept-changes");
    let o = output(accept);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let s1 = std::fs::read_to_string(d.path().join("marks/s1")).unwrap();
    assert_eq!(s1, "first\nsecond\nFOURTH\n");
    // Changing the inventory is a change too.
    let o = output(resume(d.path()));
    assert_eq!(
        o.status.code(),
        Some(0),
        "a done run resumes to nothing: {}",
        text(&o)
    );
}

#[test]
fn a_changed_inventory_or_secret_refuses_resume() {
    let d = tempfile::tempdir().unwrap();
    let rb = marker_runbook(&d.path().join("marks"), "0").replace(
        "  - id: fourth",
        "  - id: look\n    confirm: Go on?\n  - id: fourth",
    );
    let run = setup(d.path(), "0");
    std::fs::write(d.path().join("rb.yaml"), &rb).unwrap();
    assert_eq!(output(without_yes(&run)).status.code(), Some(5));
    std::fs::write(
        d.path().join("inv.yaml"),
        INVENTORY.replace(
            "{name: a2, role: agent}",
            "{name: a2, role: agent, labels: [x]}",
        ),
    )
    .unwrap();
    let mut c = resume(d.path());
    c.env("HARROW_TEST_TOKEN", "another-secret-value");
    let o = output(c);
    assert_eq!(o.status.code(), Some(7), "{}", text(&o));
    let t = text(&o);
    assert!(t.contains("inventory") && t.contains("changed"), "{t}");
    assert!(t.contains("param `token` changed"), "{t}");
    assert!(!t.contains("another-secret-value"), "{t}");
}

/// The runbook of the interruption tests: one long step on one node (idempotent or not, with or
/// without a verify).
fn long_step(case: &Path, extra: &str) -> Command {
    let marks = case.join("marks");
    let rb = format!(
        "apiVersion: harrow/v1
kind: Runbook
metadata: {{name: long}}
steps:
  - id: long
    target: servers
    run: |
      mkdir -p {m}
      echo long >> {m}/{{{{ node.name }}}}
      sleep 30
{extra}",
        m = marks.display()
    );
    let inv = "nodes:\n  - {name: s1, role: server}\n";
    case_run(case, &rb, inv, &["--transport".into(), "local".into()])
}

/// Kill harrow and the step's runner with its command (a node reboot, as seen by the markers).
fn interrupt(case: &Path, run: Command) {
    let mut child = spawn_logged(run, &case.join("logs"), "run");
    let started = case.join("journal/nodes/s1/long.1/started");
    let start = std::time::Instant::now();
    // The command itself has begun (its first line wrote the marker), not only the runner.
    let began = case.join("marks/s1");
    while !started.exists() || !began.exists() {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "the step never started"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    let _ = child.kill();
    let _ = child.wait();
    let pid = std::fs::read_to_string(&started).unwrap();
    let pid = pid.split_whitespace().next().unwrap().to_string();
    // The runner's process group (a reboot as the markers see it: started, no exit, the lock
    // free); `sh`'s own kill, as a fresh Debian has no procps. `timeout` and the command sit in
    // their own group and may finish later: only the runner writes `exit`, and it is gone.
    let _ = Command::new("sh")
        .arg("-c")
        .arg(format!("kill -9 -{pid}"))
        .status();
    std::thread::sleep(Duration::from_millis(100));
}

fn marks(case: &Path) -> String {
    std::fs::read_to_string(case.join("marks/s1")).unwrap_or_default()
}

#[test]
fn an_interrupted_step_that_is_not_idempotent_stops_and_asks() {
    let d = tempfile::tempdir().unwrap();
    let run = long_step(d.path(), "");
    interrupt(d.path(), run);
    let o = output(resume(d.path()));
    assert_eq!(o.status.code(), Some(5), "{}", text(&o));
    assert!(text(&o).contains("--retry-interrupted"), "{}", text(&o));
    assert_eq!(marks(d.path()), "long\n", "not run again");
    let st = output({
        let mut c = harrow();
        c.arg("status").arg(d.path().join("journal"));
        c
    });
    assert!(
        String::from_utf8_lossy(&st.stdout).contains("interrupted"),
        "{}",
        text(&st)
    );
    // The operator decides: run it again (shortened so the test ends).
    let rb = std::fs::read_to_string(d.path().join("rb.yaml")).unwrap();
    std::fs::write(d.path().join("rb.yaml"), rb.replace("sleep 30", "sleep 0")).unwrap();
    let mut again = resume(d.path());
    again.args(["--retry-interrupted", "--accept-changes"]);
    let o = output(again);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_eq!(marks(d.path()), "long\nlong\n");
    let st = output({
        let mut c = harrow();
        c.arg("status")
            .arg(d.path().join("journal"))
            .args(["-o", "json"]);
        c
    });
    let v: serde_json::Value = serde_json::from_slice(&st.stdout).unwrap();
    assert_eq!(v["steps"][0]["nodes"][0]["attempts"], 2, "{v}");
}

#[test]
fn an_interrupted_idempotent_step_runs_again_and_a_verified_one_does_not() {
    let d = tempfile::tempdir().unwrap();
    let case = d.path().join("idem");
    let run = long_step(&case, "    idempotent: true\n    timeout: 3s\n");
    interrupt(&case, run);
    let o = output(resume(&case));
    // Run again, it ends at its 3 s timeout: a failed step (exit 4), run twice.
    assert_eq!(o.status.code(), Some(4), "{}", text(&o));
    assert!(
        text(&o).contains("running it again (idempotent)"),
        "{}",
        text(&o)
    );
    assert_eq!(marks(&case), "long\nlong\n");

    let case = d.path().join("verified");
    let run = long_step(
        &case,
        "    verify: {run: \"grep -q long marks/s1\", retries: 2, interval: 100ms}\n",
    );
    // The verify reads relative to the resume's working directory.
    interrupt(&case, run);
    let mut c = resume(&case);
    c.current_dir(&case);
    let o = output(c);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(text(&o).contains("verify passes"), "{}", text(&o));
    assert_eq!(
        marks(&case),
        "long\n",
        "recorded from its verify, not run again"
    );
}

#[test]
fn a_failed_step_stops_the_run_with_4_and_its_rollback_runs() {
    let d = tempfile::tempdir().unwrap();
    std::fs::write(
        d.path().join("rb.yaml"),
        "apiVersion: harrow/v1
kind: Runbook
metadata: {name: fails}
steps:
  - id: bad
    target: servers
    run: \"echo trying; exit 3\"
    on_failure: rollback
    rollback: \"echo undone > rolled-back\"
  - id: never
    target: all
    run: \"touch never-ran\"
",
    )
    .unwrap();
    std::fs::write(d.path().join("inv.yaml"), INVENTORY).unwrap();
    let o = run_local_in(d.path(), &[]);
    assert_eq!(o.status.code(), Some(4), "{}", text(&o));
    assert!(text(&o).contains("FAILED (exit 3)"), "{}", text(&o));
    assert!(d.path().join("rolled-back").exists());
    assert!(!d.path().join("never-ran").exists());
    let j = std::fs::read_to_string(d.path().join("j/journal.jsonl")).unwrap();
    assert!(j.contains("\"event\":\"rollback\""), "{j}");
    assert!(j.contains("\"outcome\":\"step-failed\""), "{j}");
}

#[test]
fn a_failed_preflight_runs_nothing_and_exits_6() {
    let d = tempfile::tempdir().unwrap();
    std::fs::write(
        d.path().join("rb.yaml"),
        "apiVersion: harrow/v1
kind: Runbook
metadata: {name: pre}
preflight:
  - id: cluster-idle
    target: servers
    run: echo busy
    expect: {stdout_matches: \"^idle$\"}
steps:
  - id: work
    target: all
    run: touch ran
",
    )
    .unwrap();
    std::fs::write(d.path().join("inv.yaml"), INVENTORY).unwrap();
    let o = run_local_in(d.path(), &["--yes"]);
    assert_eq!(o.status.code(), Some(6), "{}", text(&o));
    assert!(
        text(&o).contains("preflight cluster-idle on s1: FAILED"),
        "{}",
        text(&o)
    );
    assert!(!d.path().join("ran").exists());
}

#[test]
fn a_gate_without_yes_stops_with_5_and_resume_yes_goes_on() {
    let d = tempfile::tempdir().unwrap();
    std::fs::write(
        d.path().join("rb.yaml"),
        "apiVersion: harrow/v1
kind: Runbook
metadata: {name: gate}
steps:
  - id: before
    target: first-server
    run: echo before >> log
  - id: ask
    confirm: Are the workloads healthy?
  - id: after
    target: first-server
    run: echo after >> log
",
    )
    .unwrap();
    std::fs::write(d.path().join("inv.yaml"), INVENTORY).unwrap();
    let o = run_local_in(d.path(), &[]);
    assert_eq!(o.status.code(), Some(5), "{}", text(&o));
    assert!(
        text(&o).contains("Are the workloads healthy?"),
        "{}",
        text(&o)
    );
    assert_eq!(
        std::fs::read_to_string(d.path().join("log")).unwrap(),
        "before\n"
    );
    let mut c = harrow();
    c.current_dir(d.path()).args(["resume", "j", "--yes", "-q"]);
    let o = output(c);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_eq!(
        std::fs::read_to_string(d.path().join("log")).unwrap(),
        "before\nafter\n"
    );
}

/// What a terminal shows when `harrow ARGS` runs in `dir` in a pseudo-terminal.
fn on_a_terminal(dir: &Path, args: &str) -> String {
    support::on_a_terminal_in(dir, args, &[("HARROW_TEST_TOKEN", SECRET)])
}

#[test]
fn a_terminal_shows_step_by_node_progress_and_pipes_get_plain_lines() {
    let d = tempfile::tempdir().unwrap();
    drop(setup(d.path(), "0.05"));
    let shown = on_a_terminal(
        d.path(),
        "run rb.yaml --inventory inv.yaml --transport local --skip-simulate --yes --journal tty-run",
    );
    assert!(shown.contains("/12 step × node"), "{shown}");
    assert!(shown.contains("[fourth] a2: done"), "{shown}");
    assert!(!shown.contains("pw-9d2e41c0"), "{shown}");
    // The same run through pipes: the plain lines only.
    let mut c = setup(&d.path().join("piped"), "0");
    c.current_dir(d.path());
    let o = output(c);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(!text(&o).contains("step × node"), "{}", text(&o));
    assert!(text(&o).contains("[fourth] a2: done"), "{}", text(&o));
}

#[test]
fn secrets_a_command_prints_that_harrow_was_not_given_are_scrubbed_from_output_and_journal() {
    let d = tempfile::tempdir().unwrap();
    let key = rcgen::KeyPair::generate().unwrap().serialize_pem();
    std::fs::write(d.path().join("server.key"), &key).unwrap();
    let token = format!("K10{}::server:node-password-31337", "c4".repeat(32));
    std::fs::write(d.path().join("token"), format!("{token}\n")).unwrap();
    let rb = format!(
        "apiVersion: harrow/v1
kind: Runbook
metadata: {{name: leaky}}
steps:
  - id: show
    target: first-server
    run: |
      cat {dir}/server.key
      echo \"token: $(cat {dir}/token)\"
",
        dir = d.path().display()
    );
    std::fs::write(d.path().join("rb.yaml"), rb).unwrap();
    std::fs::write(d.path().join("inv.yaml"), INVENTORY).unwrap();
    let o = run_local_in(d.path(), &[]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let body: String = key.lines().filter(|l| !l.starts_with("-----")).collect();
    for (what, hay) in [
        ("output", text(&o)),
        (
            "journal",
            std::fs::read_to_string(d.path().join("j/journal.jsonl")).unwrap(),
        ),
    ] {
        assert!(!hay.contains("node-password-31337"), "{what}: {hay}");
        assert!(!hay.contains("PRIVATE KEY"), "{what}: {hay}");
        assert!(!hay.contains(&body[..40]), "{what}: {hay}");
        assert!(
            hay.contains(&"c4".repeat(32)),
            "{what}: the CA hash is kept: {hay}"
        );
    }
}

#[test]
fn a_step_that_cannot_be_put_in_place_fails_at_once_with_the_reason() {
    let d = tempfile::tempdir().unwrap();
    std::fs::write(
        d.path().join("rb.yaml"),
        "apiVersion: harrow/v1\nkind: Runbook\nmetadata: {name: blocked}\nsteps:\n  - id: one\n    target: first-server\n    run: touch ran\n",
    )
    .unwrap();
    std::fs::write(d.path().join("inv.yaml"), INVENTORY).unwrap();
    // The local nodes' state directory cannot be made: a file stands where it goes.
    std::fs::create_dir_all(d.path().join("j")).unwrap();
    std::fs::write(d.path().join("j/nodes"), "in the way").unwrap();
    let start = std::time::Instant::now();
    let o = run_local_in(d.path(), &[]);
    assert_eq!(o.status.code(), Some(4), "{}", text(&o));
    assert!(
        start.elapsed() < Duration::from_secs(20),
        "no wait for a runner that cannot start"
    );
    assert!(!d.path().join("ran").exists());
    let j = std::fs::read_to_string(d.path().join("j/journal.jsonl")).unwrap();
    assert!(j.contains("could not be started"), "{j}");
}
