//! The executor's command line: runbook errors shown as file:line:col with a caret (golden),
//! the dry-run listing of a planned runbook (golden), `status` of a journal (golden, text and
//! JSON), the refusals: a runbook the simulation fails, addresses taken from a snapshot without
//! `--inventory` or a confirmation, a directory that holds no journal.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stderr
)]

mod support;

use support::Test;

const INVENTORY: &str = "nodes:\n  - {name: s1, role: server}\n  - {name: a1, role: agent}\n";

const RUNBOOK: &str = "apiVersion: harrow/v1
kind: Runbook
metadata: {name: small}
params:
  dir: {type: path, default: /tmp}
steps:
  - id: restart-servers
    target: servers
    order: serial
    run: systemctl restart rke2-server
  - id: check
    confirm: Look at the workloads
  - id: agents
    target: agents
    run: ls {{ params.dir }}
";

fn case(runbook: &str) -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    std::fs::write(d.path().join("rb.yaml"), runbook).unwrap();
    std::fs::write(d.path().join("inv.yaml"), INVENTORY).unwrap();
    d
}

fn dry(d: &tempfile::TempDir) -> support::Run {
    Test::new()
        .cwd(d.path())
        .args([
            "run",
            "rb.yaml",
            "--inventory",
            "inv.yaml",
            "--skip-simulate",
            "--dry-run",
        ])
        .run()
}

#[test]
fn a_yaml_error_in_a_runbook_shows_file_line_column_and_a_caret() {
    let d = case(&RUNBOOK.replace("order: serial", "order: sideways"));
    dry(&d).code(2).golden_stderr("run-yaml-error.txt");
}

#[test]
fn an_undefined_template_variable_is_a_load_error_at_its_place() {
    let d = case(&RUNBOOK.replace("{{ params.dir }}", "{{ params.dirs }}"));
    dry(&d).code(2).golden_stderr("run-template-error.txt");
}

#[test]
fn a_bad_inventory_is_refused_at_its_line() {
    let d = case(RUNBOOK);
    std::fs::write(
        d.path().join("inv.yaml"),
        INVENTORY.replace("s1", "S1; reboot"),
    )
    .unwrap();
    let r = dry(&d).code(2);
    assert!(r.stderr.contains("inv.yaml:2:"), "{}", r.stderr);
    assert!(r.stderr.contains("DNS-1123"), "{}", r.stderr);
}

#[test]
fn the_dry_run_of_a_planned_runbook_lists_every_step_and_node() {
    let inputs = support::inputs_in("bundles/fixtures/healthy");
    Test::new()
        .args(["run", "golden/plan-leaf-certs-healthy.yaml"])
        .args(&inputs)
        .args(["--at", "2026-11-20T10:00:00Z", "--dry-run"])
        .run()
        .code(0)
        .stderr_has("simulation passes")
        .golden("run-dry-leaf-certs-healthy.txt");
}

#[test]
fn a_runbook_the_simulation_fails_is_refused_with_6_unless_skip_simulate() {
    // The custom-CA rotation without its staged material: the simulation cannot judge it.
    let r = Test::new()
        .args(["run", "runbooks/rotate-custom-ca.yaml", "--dry-run", "-q"])
        .run()
        .code(6)
        .stderr_has("refused: the simulation of runbooks/rotate-custom-ca.yaml fails")
        .stderr_has("--skip-simulate");
    assert!(r.stdout.is_empty(), "nothing listed: {}", r.stdout);
    // Skipping the simulation does not skip rendering every command first: the param the
    // operator must set is named, before anything would run.
    Test::new()
        .args([
            "run",
            "runbooks/rotate-custom-ca.yaml",
            "--dry-run",
            "-q",
            "--skip-simulate",
        ])
        .run()
        .code(2)
        .stderr_has("param `local_stage` has no value")
        .stderr_has("--var local_stage=VALUE");
}

#[test]
fn addresses_from_a_snapshot_are_not_used_without_inventory_or_confirmation() {
    let d = tempfile::tempdir().unwrap();
    let inputs = support::inputs_in("bundles/fixtures/healthy");
    let r = Test::new()
        .cwd(d.path())
        .arg("run")
        .path(&support::root().join("golden/plan-leaf-certs-healthy.yaml"))
        .args(
            inputs
                .iter()
                .map(|i| support::root().join(i).display().to_string()),
        )
        .args(["--at", "2026-11-20T10:00:00Z", "-q"])
        .run()
        .code(2)
        .stderr_has("come from the snapshot")
        .stderr_has("--inventory FILE");
    assert!(
        std::fs::read_dir(d.path()).unwrap().next().is_none(),
        "no journal was started: {}",
        r.stderr
    );
}

/// A journal written by hand (fixed times), as a run stopped at its gate leaves it, with one
/// unit interrupted: `status` reads it the same every time.
fn journal(dir: &std::path::Path) {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(dir.join("runbook.yaml"), RUNBOOK).unwrap();
    let records = [
        r#"{"event":"run_started","run_id":"small-20270115T020000Z","runbook_path":"/ops/small.yaml","runbook_name":"small","runbook_sha256":"00ff","params":{"dir":"/tmp"},"inventory":[{"name":"a1","role":"agent","etcd":false,"transport":"local"},{"name":"s1","role":"server","etcd":true,"transport":"local"},{"name":"s2","role":"server","etcd":true,"transport":"local"}],"inventory_source":"/ops/inv.yaml","ssh_config":null,"harrow":"0.1.0","at":"2027-01-15T02:00:00Z"}"#,
        r#"{"event":"unit_started","step":"restart-servers","node":"s1","attempt":1,"command":"systemctl restart rke2-server","at":"2027-01-15T02:00:01Z"}"#,
        r#"{"event":"unit_finished","step":"restart-servers","node":"s1","attempt":1,"exit":0,"ok":true,"how":"ran","output_sha256":"e3","output":"","at":"2027-01-15T02:00:09Z"}"#,
        r#"{"event":"pending","effects":[]}"#,
        r#"{"event":"unit_started","step":"restart-servers","node":"s2","attempt":1,"command":"systemctl restart rke2-server","at":"2027-01-15T02:00:10Z"}"#,
    ];
    std::fs::write(dir.join("journal.jsonl"), records.join("\n") + "\n").unwrap();
}

#[test]
fn status_shows_done_interrupted_and_pending_per_step_and_node() {
    let d = tempfile::tempdir().unwrap();
    let j = d.path().join("run");
    journal(&j);
    Test::new()
        .arg("status")
        .path(&j)
        .run()
        .code(0)
        .golden("status-interrupted.txt");
    let r = Test::new()
        .arg("status")
        .path(&j)
        .args(["-o", "json"])
        .run()
        .code(0)
        .golden("status-interrupted.json");
    let v = r.json();
    assert_eq!(v["outcome"], "running-or-crashed");
    assert_eq!(v["steps"][0]["nodes"][1]["state"], "interrupted");
    assert_eq!(v["steps"][1]["gate"], "pending");
    assert_eq!(v["counts"]["pending"], 1);
}

#[test]
fn status_and_resume_of_a_directory_without_a_journal_say_so_with_7() {
    let d = tempfile::tempdir().unwrap();
    Test::new()
        .arg("status")
        .path(d.path())
        .run()
        .code(7)
        .stderr_has("journal.jsonl");
    Test::new()
        .arg("resume")
        .path(d.path())
        .run()
        .code(7)
        .stderr_has("journal.jsonl");
}
