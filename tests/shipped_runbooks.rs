//! The runbooks shipped in `runbooks/` (issue 11, point 2): every file loads and is generic (no
//! node of any cluster named, secrets from the environment only, nothing fetched from the
//! network); each simulates clean through the `harrow` binary against the demo cluster, the
//! custom-CA fixture where the runbook needs a custom CA, or a plain-RKE2 copy of the healthy
//! fixture for `rotate-token` (refused on the demo with the seed's reason); each follows its
//! seed (commands and their order, run here where they can run without a cluster: the
//! service-account key staging, the CA hash check, the token write, the firewall's persisted
//! commands, which harrow's own FW rules then pass); and a few broken copies fail `simulate`.

// clippy.toml lets #[test] functions unwrap, panic and print; this lets their helpers too.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stderr
)]

mod rules_common;
mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use harrow::rotation::sim;
use harrow::runbook::model::{Effect, Order, ParamType, Runbook, Step, Target};
use harrow::runbook::template::{self, Mode, Vars};
use harrow::runbook::{self as rb, Loaded};
use time::macros::datetime;

const AT: &str = "2026-11-20T10:00:00Z";
const KUBECTL: &str = "/var/lib/rancher/rke2/bin/kubectl";
const LIVE_SERVICE_KEY: &str = "/var/lib/rancher/rke2/server/tls/service.key";

/// Every file `runbooks/` must hold.
const SHIPPED: [&str; 9] = [
    "apply-host-firewall",
    "enable-auto-rotate-certs",
    "remove-host-firewall",
    "rotate-custom-ca",
    "rotate-custom-ca-new-root",
    "rotate-leaf-certs",
    "rotate-self-signed-ca",
    "rotate-service-account-key",
    "rotate-token",
];

fn path_of(name: &str) -> PathBuf {
    support::root().join(format!("runbooks/{name}.yaml"))
}

fn load(name: &str) -> Loaded {
    rb::load_file(&path_of(name), &[]).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// The runbook `name`, asserting its step ids in order.
fn with_steps(name: &str, want: &[&str]) -> Runbook {
    let r = load(name).runbook;
    let ids: Vec<&str> = r.steps.iter().map(|s| s.id.as_str()).collect();
    assert_eq!(ids, want, "{name}");
    r
}

fn step<'a>(r: &'a Runbook, id: &str) -> &'a Step {
    r.steps
        .iter()
        .find(|s| s.id == id)
        .unwrap_or_else(|| panic!("{}: no step {id}", r.metadata.name))
}

fn index(r: &Runbook, id: &str) -> usize {
    r.steps
        .iter()
        .position(|s| s.id == id)
        .unwrap_or_else(|| panic!("{}: no step {id}", r.metadata.name))
}

fn run_of<'a>(r: &'a Runbook, id: &str) -> &'a str {
    step(r, id).run.as_deref().unwrap_or_default()
}

/// Where `needle` starts in `hay` (panics when absent).
fn at(hay: &str, needle: &str) -> usize {
    hay.find(needle)
        .unwrap_or_else(|| panic!("{needle:?} not in:\n{hay}"))
}

/// A string rendered as the executor renders a command: params shell-quoted.
fn render(text: &str, params: &[(&str, &str)]) -> String {
    let mut vars = Vars::default();
    for (k, v) in params {
        vars.params.insert((*k).to_string(), (*v).to_string());
    }
    vars.node_name = Some("n1".to_string());
    vars.run_id = Some("test".to_string());
    template::render(text, &vars, Mode::Shell).unwrap_or_else(|e| panic!("{e:?}: {text}"))
}

/// `sh -c script`: (exit code, stdout, stderr).
fn sh(script: &str) -> (i32, String, String) {
    let out = Command::new("sh").arg("-c").arg(script).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn has_openssl() -> bool {
    let ok = Command::new("openssl")
        .arg("version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        eprintln!("skipped: no openssl on this machine (.ci/run installs it)");
    }
    ok
}

/// `harrow simulate runbooks/NAME.yaml INPUTS --at AT --var ...`.
fn simulate(name: &str, inputs: &[String], vars: &[(&str, String)]) -> support::Run {
    let mut t = support::Test::new()
        .arg("simulate")
        .arg(format!("runbooks/{name}.yaml"))
        .args(inputs)
        .args(["--at", AT]);
    for (k, v) in vars {
        t = t.arg("--var").arg(format!("{k}={v}"));
    }
    t.run()
}

fn simulates_clean(name: &str, inputs: &[String], vars: &[(&str, String)]) {
    simulate(name, inputs, vars)
        .code(0)
        .stdout_has("PASS: every link that held before the runbook holds after it");
    dry_runs(name, inputs, vars);
}

/// The old and new tokens the token runbook reads from the environment, in the test only.
const OLD_TOKEN: &str = "K10oldtokenvalue::server:old-password-1234";
const NEW_TOKEN: &str = "K10newtokenvalue::server:new-password-5678";

/// `harrow run runbooks/NAME.yaml INPUTS --dry-run` with the same inputs and vars as the
/// simulation: the simulation passes first, every step is listed with the nodes of the
/// inventory the snapshot gives, and nothing else happens (no journal is written).
fn dry_runs(name: &str, inputs: &[String], vars: &[(&str, String)]) {
    let cwd = tempfile::tempdir().unwrap();
    let mut t = support::Test::new()
        .cwd(cwd.path())
        .env("HARROW_OLD_TOKEN", OLD_TOKEN)
        .env("HARROW_NEW_TOKEN", NEW_TOKEN)
        .arg("run")
        .path(&path_of(name))
        .args(inputs.iter().map(|i| {
            let p = Path::new(i);
            if p.is_absolute() {
                p.to_path_buf()
            } else {
                support::root().join(p)
            }
            .display()
            .to_string()
        }))
        .args(["--at", AT, "--dry-run"]);
    for (k, v) in vars {
        t = t.arg("--var").arg(format!("{k}={v}"));
    }
    let run = t.run().code(0).stderr_has("simulation passes");
    let out = run.stdout;
    assert!(out.starts_with("dry run of "), "{name}: {out}");
    for s in &load(name).runbook.steps {
        assert!(
            out.contains(&format!(" {}:", s.id)),
            "{name}: step {} not listed:\n{out}",
            s.id
        );
    }
    assert!(
        !out.contains("old-password-1234") && !out.contains("new-password-5678"),
        "{out}"
    );
    assert!(
        std::fs::read_dir(cwd.path()).unwrap().next().is_none(),
        "a dry run writes nothing"
    );
}

/// New CA material from `harrow plan ca --mode MODE --stage-dir DIR/stage` on `inputs`: the
/// stage directory and the CA hash the plan computed (its `new_ca_hash`).
fn plan_ca(dir: &Path, mode: &str, inputs: &[String]) -> (PathBuf, String) {
    std::fs::create_dir_all(dir).unwrap();
    let stage = dir.join("stage");
    let out = dir.join("plan.yaml");
    let mut t = support::Test::new().args(["plan", "ca", "--mode", mode]);
    if mode == "new-root" {
        t = t.arg("--force");
    }
    t.args(inputs)
        .args(["--at", AT, "--stage-dir"])
        .path(&stage)
        .arg("--out")
        .path(&out)
        .run()
        .code(0);
    let plan = rb::load_file(&out, &[]).unwrap();
    let hash = plan.params["new_ca_hash"].clone();
    assert_eq!(hash.len(), 64, "{hash}");
    (stage, hash)
}

fn stage_vars(stage: &Path, hash: Option<&str>) -> Vec<(&'static str, String)> {
    let mut v = vec![("local_stage", stage.display().to_string())];
    if let Some(h) = hash {
        v.push(("new_ca_hash", h.to_string()));
    }
    v
}

/// A plain RKE2 node snapshot directory made from a healthy fixture node: no Harvester release
/// file, no `/oem`, the rke2 version in `commands/`.
fn plain_rke2(dir: &Path, name: &str) -> PathBuf {
    let out = rules_common::unpack(&format!("bundles/fixtures/healthy/{name}.tgz"), dir, name);
    let _ = std::fs::remove_file(out.join("etc/harvester-release.yaml"));
    let _ = std::fs::remove_dir_all(out.join("oem"));
    std::fs::create_dir_all(out.join("commands")).unwrap();
    std::fs::write(
        out.join("commands/rke2-version.txt"),
        "rke2 version v1.33.5+rke2r1 (abcdef)\ngo version go1.22\n",
    )
    .unwrap();
    out
}

/// The healthy fixture's three nodes as a plain RKE2 cluster.
fn plain_cluster(dir: &Path) -> Vec<String> {
    ["s1", "s2", "a1"]
        .iter()
        .map(|n| plain_rke2(dir, n).display().to_string())
        .collect()
}

fn demo() -> Vec<String> {
    support::inputs_in("bundles/demo")
}

// ---- Every file: loads, generic, air-gapped. ----

#[test]
fn runbooks_holds_exactly_the_shipped_files_and_each_loads() {
    let mut found: Vec<String> = std::fs::read_dir(support::root().join("runbooks"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    found.sort();
    let mut want: Vec<String> = SHIPPED.iter().map(|n| format!("{n}.yaml")).collect();
    want.sort();
    assert_eq!(found, want);
    for name in SHIPPED {
        let l = load(name);
        let r = &l.runbook;
        assert_eq!(r.metadata.name, name);
        let source = r.metadata.source.as_deref().unwrap_or_default();
        assert!(
            [
                "rke2-certificate-management",
                "harvester-host-firewall",
                "harvester-credentials"
            ]
            .iter()
            .any(|s| source.starts_with(s)),
            "{name}: source {source:?}"
        );
        assert!(r.metadata.description.is_some(), "{name}");
    }
}

#[test]
fn shipped_runbooks_are_generic_and_fetch_nothing() {
    for name in SHIPPED {
        let l = load(name);
        let r = &l.runbook;
        for (p, param) in &r.params {
            match param.kind {
                ParamType::Secret => {
                    assert!(param.default.is_none(), "{name}: {p}");
                    assert!(
                        param.from_env.is_some() || param.from_file.is_some(),
                        "{name}: {p}"
                    );
                }
                // Only the material of a CA rotation is the operator's to give.
                _ if param.default.is_none() => {
                    assert!(
                        ["local_stage", "new_ca_hash"].contains(&p.as_str()),
                        "{name}: {p}"
                    )
                }
                _ => {}
            }
            assert!(param.description.is_some(), "{name}: {p}");
        }
        if let Some(rke2) = r.params.get("rke2") {
            let want = if name == "rotate-token" {
                "/usr/local/bin/rke2"
            } else {
                "/opt/rke2/bin/rke2"
            };
            assert_eq!(rke2.default.as_deref(), Some(want), "{name}");
        }
        let targets = r
            .steps
            .iter()
            .filter_map(|s| s.target.as_ref())
            .chain(r.preflight.iter().map(|p| &p.target));
        for t in targets {
            assert!(!matches!(t, Target::Node(_)), "{name}: {t}");
        }
        // Air-gapped: no curl, wget or remote URL in any command (ROT011's reader).
        for line in l.text.lines() {
            assert!(sim::network_fetch(line).is_none(), "{name}: {line}");
            assert!(!sim::writes_live_tls(line), "{name}: {line}");
        }
        for s in &r.steps {
            // A rollback only where every effect of the step can be undone.
            if s.rollback.is_some() {
                assert!(
                    s.effects().iter().all(Effect::reversible),
                    "{name}: {}",
                    s.id
                );
            }
            // rke2 restarts take servers one at a time.
            let restarts = s
                .effects()
                .iter()
                .any(|e| matches!(e, Effect::Restart {} | Effect::Stop {}));
            if restarts {
                assert_eq!(s.order(), Order::Serial, "{name}: {}", s.id);
                assert!(s.verify.is_some(), "{name}: {}", s.id);
            }
        }
        assert!(!l.text.contains("\t"), "{name}: a tab");
    }
}

/// Every command, verify, rollback and preflight of every runbook, rendered with sample values
/// (secrets included), is shell syntax `sh -n` accepts.
#[test]
fn every_command_is_valid_shell() {
    for name in SHIPPED {
        let r = load(name).runbook;
        let values: Vec<(String, String)> = r
            .params
            .iter()
            .map(|(k, p)| {
                let v = p.default.clone().unwrap_or_else(|| match k.as_str() {
                    "new_ca_hash" => "a".repeat(64),
                    "local_stage" => "/tmp/new ca".to_string(),
                    _ => "K10x::server:it's secret".to_string(),
                });
                (k.clone(), v)
            })
            .collect();
        let params: Vec<(&str, &str)> = values
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let mut scripts: Vec<(String, &str)> = Vec::new();
        for p in &r.preflight {
            scripts.push((p.id.clone(), &p.run));
        }
        for s in &r.steps {
            scripts.extend(s.run.as_deref().map(|t| (s.id.clone(), t)));
            scripts.extend(s.rollback.as_deref().map(|t| (s.id.clone(), t)));
            scripts.extend(s.verify.as_ref().map(|v| (s.id.clone(), v.run.as_str())));
        }
        for (id, text) in scripts {
            let script = render(text, &params);
            let out = Command::new("sh")
                .args(["-n", "-c", &script])
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "{name} {id}: {}\n{script}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
}

#[test]
fn every_credential_rotation_opens_with_an_etcd_snapshot_recording_the_token() {
    for name in [
        "rotate-service-account-key",
        "rotate-custom-ca",
        "rotate-custom-ca-new-root",
        "rotate-self-signed-ca",
        "rotate-token",
    ] {
        let r = load(name).runbook;
        let first = &r.steps[0];
        assert_eq!(first.id, "etcd-snapshot", "{name}");
        assert_eq!(first.target, Some(Target::FirstServer), "{name}");
        assert_eq!(
            first.effects(),
            &[Effect::EtcdSnapshot { record_token: true }],
            "{name}"
        );
        let run = first.run.as_deref().unwrap();
        assert!(
            at(run, "etcd-snapshot save") < at(run, "sha256sum /var/lib/rancher/rke2/server/token"),
            "{name}"
        );
        assert_eq!(first.idempotent, Some(true), "{name}");
        // Live read-only checks before step 1: every node Ready, and the command exists.
        let ids: Vec<&str> = r.preflight.iter().map(|p| p.id.as_str()).collect();
        assert!(ids.contains(&"nodes-ready"), "{name}: {ids:?}");
        if name != "rotate-token" {
            for id in [
                "rotate-ca-available",
                "staging-empty",
                "no-upgrade",
                "auto-rotate-not-due",
            ] {
                assert!(ids.contains(&id), "{name}: {id} in {ids:?}");
            }
        }
        // The way back after the datastore changed is the snapshot: no rollback pretends.
        for s in &r.steps {
            if s.effects()
                .iter()
                .any(|e| matches!(e, Effect::RotateCa { .. } | Effect::TokenRotate {}))
            {
                assert!(s.rollback.is_none(), "{name}: {}", s.id);
                assert_eq!(s.checkpoint, Some(true), "{name}: {}", s.id);
            }
        }
    }
}

// ---- Each simulates clean. ----

#[test]
fn leaf_and_service_account_key_rotations_simulate_clean_on_the_demo() {
    simulates_clean("rotate-leaf-certs", &demo(), &[]);
    simulates_clean("rotate-service-account-key", &demo(), &[]);
}

#[test]
fn the_firewall_and_auto_rotate_runbooks_simulate_clean_on_the_demo() {
    for name in [
        "apply-host-firewall",
        "remove-host-firewall",
        "enable-auto-rotate-certs",
    ] {
        simulates_clean(name, &demo(), &[]);
    }
}

#[test]
fn the_self_signed_ca_rotation_simulates_clean_with_material_from_plan() {
    let dir = tempfile::tempdir().unwrap();
    let (stage, hash) = plan_ca(dir.path(), "cross-signed", &demo());
    simulates_clean(
        "rotate-self-signed-ca",
        &demo(),
        &stage_vars(&stage, Some(&hash)),
    );
    // Regression (simulator): the demo's nodes read their token from
    // config.yaml.d/40-rancherd.yaml, which the step names by the glob config.yaml.d/*.yaml.
    let run = simulate(
        "rotate-self-signed-ca",
        &demo(),
        &stage_vars(&stage, Some(&hash)),
    );
    assert!(
        !run.stdout.contains("which the step does not write"),
        "{}",
        run.stdout
    );
    // A hash other than the one the material gives: the nodes restart pinning it (ROT005).
    let wrong = "0".repeat(64);
    simulate(
        "rotate-self-signed-ca",
        &demo(),
        &stage_vars(&stage, Some(&wrong)),
    )
    .code(1)
    .stdout_has("ROT005");
    // Regression (simulator): without the hash, the run is not judged, and says which param.
    simulate("rotate-self-signed-ca", &demo(), &stage_vars(&stage, None))
        .code(1)
        .stdout_has("param `new_ca_hash` has no default and no value");
}

#[test]
fn the_custom_ca_rotations_simulate_clean_with_material_from_plan() {
    let custom = support::inputs_in("bundles/fixtures/custom-ca");
    let dir = tempfile::tempdir().unwrap();
    let (stage, _) = plan_ca(&dir.path().join("same"), "same-root", &custom);
    simulates_clean("rotate-custom-ca", &custom, &stage_vars(&stage, None));
    // A new root: on the custom-CA fixture and on the demo (a self-signed cluster moving to a
    // custom root).
    for (what, inputs) in [("custom", custom.clone()), ("demo", demo())] {
        let (stage, hash) = plan_ca(&dir.path().join(what), "new-root", &inputs);
        simulates_clean(
            "rotate-custom-ca-new-root",
            &inputs,
            &stage_vars(&stage, Some(&hash)),
        );
    }
    // Same-root staging of material with another root: rotate-ca refuses it (ROT002).
    let (other, _) = plan_ca(&dir.path().join("other"), "new-root", &custom);
    simulate("rotate-custom-ca", &custom, &stage_vars(&other, None))
        .code(1)
        .stdout_has("ROT002");
}

#[test]
fn rotate_token_simulates_clean_on_plain_rke2_and_is_refused_on_harvester() {
    let dir = tempfile::tempdir().unwrap();
    simulates_clean("rotate-token", &plain_cluster(dir.path()), &[]);
    // The demo is a Harvester cluster: the seed's reason, ROT007.
    simulate("rotate-token", &demo(), &[])
        .code(1)
        .stdout_has("ROT007")
        .stdout_has("the token comes back from /oem at the next boot")
        .stdout_has("bootstrap data already found and encrypted with different token");
    // And a live preflight says so on every node before anything runs.
    let r = load("rotate-token").runbook;
    let p = r
        .preflight
        .iter()
        .find(|p| p.id == "not-harvester")
        .unwrap();
    assert_eq!(p.target, Target::All);
    assert!(p.run.contains("/oem/harvester.config"), "{}", p.run);
}

// ---- Faithful to the seed. ----

#[test]
fn leaf_rotation_stops_rotates_and_starts_servers_one_at_a_time_then_agents() {
    let r = with_steps(
        "rotate-leaf-certs",
        &["rotate-servers", "rotate-agents", "refresh-kubeconfigs"],
    );
    for (id, unit, target) in [
        ("rotate-servers", "rke2-server", Target::Servers),
        ("rotate-agents", "rke2-agent", Target::Agents),
    ] {
        let s = step(&r, id);
        assert_eq!(s.target, Some(target));
        assert_eq!(s.order(), Order::Serial);
        let run = s.run.as_deref().unwrap();
        assert!(at(run, &format!("systemctl stop {unit}")) < at(run, "certificate rotate"));
        assert!(at(run, "certificate rotate") < at(run, &format!("systemctl start {unit}")));
        assert_eq!(
            s.effects(),
            &[
                Effect::Stop {},
                Effect::RotateLeaf {
                    services: Vec::new()
                },
                Effect::Start {}
            ]
        );
    }
    // The order before the January 2025 releases is checked live, not assumed.
    // Run here with rke2 and kubectl stood in for by functions: the release from
    // `rke2 --version`, the control-plane-only servers from kubectl.
    let p = r.preflight.iter().find(|p| p.id == "leaf-order").unwrap();
    let kubectl = "/var/lib/rancher/rke2/bin/kubectl --kubeconfig /etc/rancher/rke2/rke2.yaml";
    for (version, cp_only, want) in [
        ("v1.33.5+rke2r1", "node/c1", "any-order"),
        ("v1.29.13+rke2r1", "node/c1", "any-order"),
        ("v1.31.4+rke2r1", "", "etcd-on-every-server"),
        (
            "v1.30.8+rke2r1",
            "node/c1",
            "rke2 v1.30.8+rke2r1 with control-plane-only",
        ),
    ] {
        let script = format!(
            "r2() {{ echo 'rke2 version {version} (abcdef)'; }}; kc() {{ printf '%s' '{cp_only}'; }}; {}",
            render(&p.run, &[("rke2", "r2")]).replace(kubectl, "kc")
        );
        let (code, out, err) = sh(&script);
        assert_eq!(code, 0, "{err}");
        assert!(out.starts_with(want), "{version}: {out}");
    }
}

#[test]
fn service_account_key_rotation_stages_the_new_key_first_then_the_old_and_restarts_servers_only() {
    let r = with_steps(
        "rotate-service-account-key",
        &[
            "etcd-snapshot",
            "stage-key",
            "load",
            "remove-stage",
            "restart-servers",
        ],
    );
    let stage = run_of(&r, "stage-key");
    // -traditional only where `openssl version` says OpenSSL 3, as the seed checks.
    let flag = "openssl version | grep -qF 'OpenSSL 3' && OPENSSL_GENRSA_FLAGS=-traditional";
    assert!(at(stage, flag) < at(stage, "openssl genrsa ${OPENSSL_GENRSA_FLAGS:-} -out"));
    assert_eq!(stage.matches("-traditional").count(), 1, "{stage}");
    // The new key first, the current list appended after it.
    assert!(
        at(stage, "openssl genrsa") < at(stage, &format!("cat {LIVE_SERVICE_KEY} >>")),
        "{stage}"
    );
    assert_eq!(
        step(&r, "stage-key").effects(),
        &[Effect::StageServiceKey {
            dir: "{{ params.staging_dir }}".to_string(),
            keep_old: true
        }]
    );
    assert_eq!(
        r.params["staging_dir"].default.as_deref(),
        Some("/opt/rke2/server")
    );
    assert_eq!(
        run_of(&r, "load"),
        "{{ params.rke2 }} certificate rotate-ca --path={{ params.staging_dir }}"
    );
    // "restart RKE2 on all servers ... It is not necessary to restart agents or restart any pods."
    assert_eq!(step(&r, "restart-servers").target, Some(Target::Servers));
    assert!(r.steps.iter().all(|s| s.target != Some(Target::Agents)));
    assert!(r.steps.iter().all(|s| {
        !s.effects()
            .iter()
            .any(|e| matches!(e, Effect::RestartPods { .. }))
    }));
}

/// The stage-key step run for real on this machine, the live key replaced by a temporary one:
/// the staged list is a new RSA key, then the current one byte for byte; the step's verify
/// passes; a second run starts over (safe to repeat before the load).
#[test]
fn service_account_key_staging_runs_as_the_seed_says() {
    if !has_openssl() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let live = dir.path().join("live-service.key");
    let (code, _, err) = sh(&format!(
        "openssl genrsa -out '{}' 2048 2>/dev/null",
        live.display()
    ));
    assert_eq!(code, 0, "{err}");
    let r = load("rotate-service-account-key").runbook;
    let staging = dir.path().join("staging");
    let params = [("staging_dir", staging.to_str().unwrap())];
    let subst = |t: &str| render(t, &params).replace(LIVE_SERVICE_KEY, live.to_str().unwrap());
    let s = step(&r, "stage-key");
    let verify = subst(&s.verify.as_ref().unwrap().run);
    for round in 0..2 {
        let (code, _, err) = sh(&subst(s.run.as_deref().unwrap()));
        assert_eq!(code, 0, "round {round}: {err}");
        let (code, _, err) = sh(&verify);
        assert_eq!(code, 0, "round {round}: verify: {err}");
    }
    let staged = std::fs::read_to_string(staging.join("tls/service.key")).unwrap();
    let current = std::fs::read_to_string(&live).unwrap();
    assert!(staged.ends_with(&current));
    let new = &staged[..staged.len() - current.len()];
    assert_eq!(
        new.matches("PRIVATE KEY-----\n").count(),
        2,
        "one new key: {new}"
    );
    assert!(!current.contains(new));
    let (_, version, _) = sh("openssl version");
    if version.contains("OpenSSL 3") {
        assert!(new.starts_with("-----BEGIN RSA PRIVATE KEY-----"), "{new}");
    }
    // The verify refuses a list that lost the current key.
    std::fs::write(staging.join("tls/service.key"), new).unwrap();
    assert_ne!(sh(&verify).0, 0);
}

#[test]
fn custom_ca_rotation_stages_keeps_the_service_key_and_restarts_servers_then_agents() {
    let r = with_steps(
        "rotate-custom-ca",
        &[
            "etcd-snapshot",
            "put-material",
            "same-root",
            "keep-service-key",
            "load",
            "remove-stage",
            "restart-servers",
            "check-servers",
            "restart-agents",
            "refresh-kubeconfigs",
        ],
    );
    let put = step(&r, "put-material");
    let copy = put.copy.as_ref().unwrap();
    assert_eq!(copy.src, "{{ params.local_stage }}/tls");
    assert_eq!(copy.dest, "{{ params.staging_dir }}/tls");
    assert_eq!(
        put.effects(),
        &[Effect::StageCa {
            dir: "{{ params.staging_dir }}".to_string(),
            from: Some("{{ params.local_stage }}".to_string())
        }]
    );
    assert!(run_of(&r, "keep-service-key").contains(&format!(
        "cp -p {LIVE_SERVICE_KEY} {{{{ params.staging_dir }}}}/tls/service.key"
    )));
    // Same root: rotate-ca without --force, no token change.
    assert!(!run_of(&r, "load").contains("--force"));
    assert!(r.steps.iter().all(|s| {
        !s.effects()
            .iter()
            .any(|e| matches!(e, Effect::SetToken { .. } | Effect::RestartPods { .. }))
    }));
    assert_servers_then_gate_then_agents(&r);
}

fn assert_servers_then_gate_then_agents(r: &Runbook) {
    let servers = step(r, "restart-servers");
    assert_eq!(servers.target, Some(Target::Servers));
    assert_eq!(servers.order(), Order::Serial);
    // The supervisor listener re-issued from the new CA at each server's restart (before
    // k3s #12978 rotate-ca leaves it on the old CA).
    let run = servers.run.as_deref().unwrap();
    assert!(
        at(run, "systemctl stop rke2-server") < at(run, "certificate rotate --service rke2-server")
    );
    assert!(
        at(run, "certificate rotate --service rke2-server")
            < at(run, "systemctl start rke2-server")
    );
    assert!(index(r, "restart-servers") < index(r, "check-servers"));
    assert!(step(r, "check-servers").confirm.is_some());
    assert!(index(r, "check-servers") < index(r, "restart-agents"));
    assert_eq!(step(r, "restart-agents").target, Some(Target::Agents));
}

/// The same-root check run for real: the custom-CA fixture's live server-ca.crt against the
/// material `plan ca --mode same-root` made (passes) and against a new root (refused).
#[test]
fn the_same_root_check_tells_a_same_root_stage_from_a_new_root() {
    if !has_openssl() {
        return;
    }
    let custom = support::inputs_in("bundles/fixtures/custom-ca");
    let dir = tempfile::tempdir().unwrap();
    let (same, _) = plan_ca(&dir.path().join("same"), "same-root", &custom);
    let (new, _) = plan_ca(&dir.path().join("new"), "new-root", &custom);
    let s1 = rules_common::unpack("bundles/fixtures/custom-ca/s1.tgz", dir.path(), "s1");
    let live = s1.join("var/lib/rancher/rke2/server/tls/server-ca.crt");
    let r = load("rotate-custom-ca").runbook;
    let check = |stage: &Path| {
        sh(&render(
            run_of(&r, "same-root"),
            &[("staging_dir", stage.to_str().unwrap())],
        )
        .replace(
            "/var/lib/rancher/rke2/server/tls/server-ca.crt",
            live.to_str().unwrap(),
        ))
    };
    let (code, _, err) = check(&same);
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = check(&new);
    assert_eq!(code, 1);
    assert!(err.contains("another root"), "{err}");
}

#[test]
fn self_signed_ca_rotation_loads_cross_signed_roots_and_writes_tokens_before_any_restart() {
    let r = load("rotate-self-signed-ca").runbook;
    assert_eq!(
        r.params["staging_dir"].default.as_deref(),
        Some("/var/lib/rancher/rke2/server/rotate-ca")
    );
    assert!(index(&r, "put-material") < index(&r, "load"));
    assert_eq!(
        run_of(&r, "load"),
        "{{ params.rke2 }} certificate rotate-ca --path={{ params.staging_dir }}"
    );
    assert_token_hash_before_restarts(&r);
    assert_servers_then_gate_then_agents(&r);
}

fn assert_token_hash_before_restarts(r: &Runbook) {
    assert!(index(r, "load") < index(r, "write-token-hash"));
    assert!(index(r, "write-token-hash") < index(r, "restart-servers"));
    let s = step(r, "write-token-hash");
    assert_eq!(s.target, Some(Target::All));
    let Some(Effect::SetToken {
        places, ca_hash, ..
    }) = s.effects().first()
    else {
        panic!("{:?}", s.effect)
    };
    assert_eq!(ca_hash.as_deref(), Some("{{ params.new_ca_hash }}"));
    // Every place a node may read its token (rules.md, "Token sources"), the command's list.
    let run = s.run.as_deref().unwrap();
    for p in places {
        assert!(run.contains(p.as_str()), "{p}");
    }
    for p in [
        "/etc/rancher/rke2/config.yaml",
        "/etc/rancher/rke2/config.yaml.d/*.yaml",
        "/var/lib/rancher/rke2/server/token",
        "/etc/systemd/system/rke2-*.env",
        "/etc/rancher/rancherd/config.yaml",
        "/oem/*.yaml",
    ] {
        assert!(places.iter().any(|x| x == p), "{p}");
    }
}

/// The CA hash the self-signed and new-root runbooks check before step 1 is RKE2's hashCA,
/// computed here by the preflight's shell on the material plan made: it matches the hash plan
/// computed (the new root's fingerprint, not the new CA's the k3s script prints), and refuses
/// another, printing the right one.
#[test]
fn the_local_ca_hash_preflight_computes_rke2s_hash_of_the_staged_bundle() {
    if !has_openssl() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    for (name, mode) in [
        ("rotate-self-signed-ca", "cross-signed"),
        ("rotate-custom-ca-new-root", "new-root"),
    ] {
        let (stage, hash) = plan_ca(&dir.path().join(mode), mode, &demo());
        let r = load(name).runbook;
        let p = r.preflight.iter().find(|p| p.id == "new-ca-hash").unwrap();
        assert_eq!(p.target, Target::Local);
        let check = |h: &str| {
            sh(&render(
                &p.run,
                &[("local_stage", stage.to_str().unwrap()), ("new_ca_hash", h)],
            ))
        };
        let (code, out, err) = check(&hash);
        assert_eq!((code, out.trim()), (0, "match"), "{name}: {err}");
        let (_, out, _) = check(&"0".repeat(64));
        assert_eq!(
            out.trim(),
            format!("the staged server-ca.crt hashes to {hash}")
        );
        // Not the new CA's own fingerprint (what rotate-default-ca-certs.sh prints).
        let (_, own, _) = sh(&format!(
            "openssl x509 -in '{}/tls/server-ca.crt' -outform DER | sha256sum | cut -c1-64",
            stage.display()
        ));
        assert_ne!(own.trim(), hash, "{name}");
    }
}

#[test]
fn new_root_rotation_forces_rotate_ca_writes_tokens_and_restarts_pods_last() {
    let r = load("rotate-custom-ca-new-root").runbook;
    assert!(run_of(&r, "load").ends_with("--force"));
    assert_eq!(
        step(&r, "load").effects(),
        &[Effect::RotateCa {
            path: "{{ params.staging_dir }}".to_string(),
            force: true
        }]
    );
    assert_token_hash_before_restarts(&r);
    assert_servers_then_gate_then_agents(&r);
    assert!(index(&r, "restart-agents") < index(&r, "restart-pods"));
    assert_eq!(
        step(&r, "restart-pods").effects(),
        &[Effect::RestartPods {
            maintenance_aware: true
        }]
    );
    // The new root's and intermediate's keys never stay on the cluster.
    let keep = run_of(&r, "keep-service-key");
    assert!(
        keep.contains("rm -f {{ params.staging_dir }}/tls/root-ca.key"),
        "{keep}"
    );
    assert!(keep.contains("intermediate-ca.key"), "{keep}");
    assert!(index(&r, "load") < index(&r, "remove-stage"));
}

#[test]
fn token_rotation_rotates_then_writes_every_place_then_restarts() {
    let r = with_steps(
        "rotate-token",
        &[
            "etcd-snapshot",
            "token-rotate",
            "write-token",
            "restart-servers",
            "check-servers",
            "restart-agents",
        ],
    );
    assert_eq!(
        run_of(&r, "token-rotate"),
        "{{ params.rke2 }} token rotate --token {{ params.old_token }} --new-token {{ params.new_token }}"
    );
    for p in ["old_token", "new_token"] {
        assert_eq!(r.params[p].kind, ParamType::Secret);
    }
    let Some(Effect::SetToken {
        places, password, ..
    }) = step(&r, "write-token").effects().first()
    else {
        panic!()
    };
    assert_eq!(password.as_deref(), Some("new"));
    assert!(
        places
            .iter()
            .any(|p| p == "/var/lib/rancher/rke2/server/token")
    );
    assert!(
        places
            .iter()
            .any(|p| p == "/etc/rancher/rke2/config.yaml.d/*.yaml")
    );
}

/// The write-token step run for real on copies of the places it rewrites: the old password
/// becomes the new one wherever it stands as a token value (a full K10 token, `token:` in a
/// config, `RKE2_TOKEN=` in a unit environment), and nothing else changes.
#[test]
fn the_token_write_replaces_the_password_where_it_is_a_token_value() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let hash = "a".repeat(64);
    let files = [
        (
            "/etc/rancher/rke2/config.yaml",
            "token: old-Pw1\nnode-label:\n  - note=old-Pw1x\n".to_string(),
            "token: new-Pw2\nnode-label:\n  - note=old-Pw1x\n".to_string(),
        ),
        (
            "/etc/rancher/rke2/config.yaml.d/40-rancherd.yaml",
            format!("token: \"K10{hash}::server:old-Pw1\"\n"),
            format!("token: \"K10{hash}::server:new-Pw2\"\n"),
        ),
        (
            "/var/lib/rancher/rke2/server/token",
            format!("K10{hash}::server:old-Pw1\n"),
            format!("K10{hash}::server:new-Pw2\n"),
        ),
        (
            "/etc/systemd/system/rke2-agent.service.env",
            "RKE2_TOKEN=old-Pw1\n".to_string(),
            "RKE2_TOKEN=new-Pw2\n".to_string(),
        ),
    ];
    let r = load("rotate-token").runbook;
    let mut script = run_of(&r, "write-token").to_string();
    // Every absolute place under the temporary root.
    for prefix in ["/etc/", "/var/", "/usr/"] {
        script = script.replace(
            &format!(" {prefix}"),
            &format!(" {}{prefix}", root.display()),
        );
    }
    for (place, before, _) in &files {
        let p = root.join(place.trim_start_matches('/'));
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, before).unwrap();
    }
    let rendered = script
        .replace(
            "{{ params.old_token }}",
            &format!("K10{hash}::server:old-Pw1"),
        )
        .replace("{{ params.new_token }}", "new-Pw2");
    let (code, _, err) = sh(&rendered);
    assert_eq!(code, 0, "{err}\n{rendered}");
    for (place, _, after) in &files {
        let got = std::fs::read_to_string(root.join(place.trim_start_matches('/'))).unwrap();
        assert_eq!(&got, after, "{place}");
    }
    // Safe to repeat: a second run changes nothing.
    assert_eq!(sh(&rendered).0, 0);
    let got = std::fs::read_to_string(root.join("etc/rancher/rke2/config.yaml")).unwrap();
    assert_eq!(got, files[0].2);
}

/// The CloudInit a firewall step applies, parsed from its `kubectl apply` here-document.
fn cloudinit_of(run: &str) -> serde_json::Value {
    let doc = run
        .split_once("<<'EOF'\n")
        .and_then(|(_, rest)| rest.rsplit_once("\nEOF"))
        .map(|(doc, _)| doc)
        .unwrap_or_else(|| panic!("no here-document in {run}"));
    serde_saphyr::from_str(doc).unwrap_or_else(|e| panic!("{e}\n{doc}"))
}

/// The iptables commands the persisted file runs, as the apply steps extract them.
fn iptables_lines(contents: &str) -> Vec<String> {
    contents
        .lines()
        .map(str::trim)
        .filter_map(|l| l.strip_prefix("- "))
        .filter(|l| l.starts_with("iptables "))
        .map(str::to_string)
        .collect()
}

/// The seed's commands of a role's CloudInit, when the seeds are beside the checkout.
fn seed_commands(role: &str) -> Option<Vec<String>> {
    let seed = std::fs::read_to_string(
        support::root().join("../shared/seeds/harvester-host-firewall.txt"),
    )
    .ok()?;
    let head = match role {
        "control-plane" => "Control-Plane Node\n",
        "worker" => "Worker Node\n",
        _ => "Witness Node\n",
    };
    let from = seed.find(head)?;
    let to = from + seed[from..].find("paused: false")?;
    Some(
        seed[from..to]
            .lines()
            .filter_map(|l| l.strip_prefix("- "))
            .filter(|l| l.starts_with("iptables "))
            .map(str::to_string)
            .collect(),
    )
}

#[test]
fn firewall_is_persisted_per_role_with_the_guides_commands_then_applied_and_verified() {
    let r = load("apply-host-firewall").runbook;
    let ports =
        |cmds: &[String], p: &str| cmds.iter().any(|c| c.contains(&format!("--dport {p} ")));
    for (role, selector, target) in [
        (
            "control-plane",
            &[
                "node-role.kubernetes.io/control-plane",
                "node-role.kubernetes.io/etcd",
            ][..],
            Target::Role("control-plane".to_string()),
        ),
        (
            "worker",
            &["node-role.harvesterhci.io/worker"][..],
            Target::Agents,
        ),
        (
            "witness",
            &["node-role.harvesterhci.io/witness"][..],
            Target::Witnesses,
        ),
    ] {
        let persist = format!("persist-{role}");
        let apply = format!("apply-{role}");
        assert!(index(&r, &persist) < index(&r, &apply));
        assert_eq!(step(&r, &persist).target, Some(Target::FirstServer));
        let ci = cloudinit_of(&render(
            run_of(&r, &persist),
            &[("pod_cidr", "10.52.0.0/16")],
        ));
        assert_eq!(ci["kind"], "CloudInit");
        assert_eq!(ci["metadata"]["name"], format!("iptables-{role}"));
        assert_eq!(ci["spec"]["filename"], format!("91-iptables-{role}"));
        assert_eq!(ci["spec"]["paused"], false);
        let sel = ci["spec"]["matchSelector"].as_object().unwrap();
        assert_eq!(sel.len(), selector.len());
        for k in selector {
            assert_eq!(sel[*k], "true", "{role}: {k}");
        }
        let contents = ci["spec"]["contents"].as_str().unwrap();
        let stages: serde_json::Value = serde_saphyr::from_str(contents).unwrap();
        assert!(stages["stages"]["boot"].is_array(), "{role}: boot stage");
        let cmds = iptables_lines(contents);
        // Cleanup first, then the chain attached to mgmt-br, LOG then DROP last.
        assert!(cmds[0].starts_with("iptables -D INPUT -i mgmt-br -j HARVESTER_INPUT"));
        assert!(cmds[1].starts_with("iptables -F HARVESTER_INPUT"));
        assert!(cmds[2].starts_with("iptables -X HARVESTER_INPUT"));
        assert_eq!(cmds[3], "iptables -N HARVESTER_INPUT");
        assert_eq!(cmds[4], "iptables -A INPUT -i mgmt-br -j HARVESTER_INPUT");
        assert!(cmds[cmds.len() - 2].contains("-j LOG --log-prefix HARVESTER_DROP_"));
        assert!(cmds[cmds.len() - 1].ends_with("-j DROP"));
        // The role matrix of the seed.
        assert!(ports(&cmds, "22") && ports(&cmds, "10250") && ports(&cmds, "8472"));
        assert_eq!(ports(&cmds, "6443"), role == "control-plane", "{role}");
        assert_eq!(ports(&cmds, "9345"), role != "worker", "{role}");
        assert_eq!(ports(&cmds, "30000:32767"), role != "witness", "{role}");
        if let Some(seed) = seed_commands(role) {
            assert_eq!(cmds, seed, "{role}: the seed's commands");
        }
        // Applied now: exactly the persisted file's iptables lines, one node at a time.
        let s = step(&r, &apply);
        assert_eq!(s.target, Some(target));
        assert_eq!(s.order(), Order::Serial);
        assert_eq!(s.idempotent, Some(true));
        let run = s.run.as_deref().unwrap();
        assert!(run.contains(&format!("f=/oem/91-iptables-{role}")), "{run}");
        let extract = run
            .lines()
            .find(|l| l.starts_with("sed -n"))
            .unwrap()
            .replace("\"$f\" | sh -e", "");
        let file = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(file.path(), contents).unwrap();
        let (code, out, err) = sh(&format!("{extract} '{}'", file.path().display()));
        assert_eq!(code, 0, "{err}");
        let extracted: Vec<String> = out.lines().map(str::to_string).collect();
        assert_eq!(extracted, cmds, "{role}");
        let verify = &s.verify.as_ref().unwrap().run;
        assert!(
            verify.contains("iptables -L INPUT -v -n --line-numbers"),
            "{verify}"
        );
    }
}

/// The control-plane chain of the runbook on a node snapshot (its iptables-save as the
/// commands leave it, the persisted file under /oem): harrow's own firewall rules pass it.
#[test]
fn the_applied_control_plane_firewall_passes_harrows_fw_rules() {
    let r = load("apply-host-firewall").runbook;
    let ci = cloudinit_of(&render(
        run_of(&r, "persist-control-plane"),
        &[("pod_cidr", "10.52.0.0/16")],
    ));
    let contents = ci["spec"]["contents"].as_str().unwrap();
    let mut chains = String::new();
    let mut rules = String::new();
    for c in iptables_lines(contents) {
        let args = c.trim_start_matches("iptables ");
        if args.contains("2>/dev/null") {
            continue;
        }
        match args.strip_prefix("-N ") {
            Some(chain) => chains.push_str(&format!(":{chain} - [0:0]\n")),
            None => rules.push_str(&format!("{args}\n")),
        }
    }
    let save = format!(
        "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n{chains}{rules}COMMIT\n"
    );
    let dir = tempfile::tempdir().unwrap();
    let s1 = rules_common::healthy_s1(dir.path());
    std::fs::create_dir_all(s1.join("commands")).unwrap();
    std::fs::write(s1.join("commands/iptables-save.txt"), save).unwrap();
    std::fs::write(s1.join("oem/91-iptables-control-plane"), contents).unwrap();
    let doc = rules_common::analyze_paths(&[&s1]);
    for rule in [
        "FW001", "FW002", "FW003", "FW005", "FW007", "FW010", "FW011", "FW012",
    ] {
        assert_eq!(
            rules_common::status(&doc, rule),
            "pass",
            "{rule}: {}",
            rules_common::coverage(&doc, rule)
        );
    }
}

#[test]
fn firewall_removal_deletes_the_cloudinits_first_then_the_chain() {
    let r = with_steps(
        "remove-host-firewall",
        &["delete-cloudinits", "remove-chain"],
    );
    let delete = run_of(&r, "delete-cloudinits");
    for role in ["control-plane", "worker", "witness"] {
        assert!(delete.contains(&format!("iptables-{role}")), "{delete}");
    }
    assert!(delete.contains("delete cloudinits.node.harvesterhci.io"));
    let chain = step(&r, "remove-chain");
    assert_eq!(chain.target, Some(Target::All));
    let run = chain.run.as_deref().unwrap();
    // The guide's three commands, in its order, after the node's /oem file is gone.
    let d = at(
        run,
        "iptables -D INPUT -i mgmt-br -j HARVESTER_INPUT 2>/dev/null || true",
    );
    let f = at(run, "iptables -F HARVESTER_INPUT 2>/dev/null || true");
    let x = at(run, "iptables -X HARVESTER_INPUT 2>/dev/null || true");
    assert!(
        at(run, "/oem/91-iptables-control-plane") < d && d < f && f < x,
        "{run}"
    );
}

#[test]
fn auto_rotate_is_enabled_with_kubectl_and_a_valid_setting_value() {
    let r = load("enable-auto-rotate-certs").runbook;
    assert_eq!(
        r.params["expiring_in_hours"].default.as_deref(),
        Some("240")
    );
    let s = step(&r, "enable");
    // The rendered command, kubectl replaced by a function that prints its last argument.
    let run = render(s.run.as_deref().unwrap(), &[("expiring_in_hours", "240")]);
    assert!(run.contains("patch settings.harvesterhci.io auto-rotate-rke2-certs --type merge"));
    let script = format!(
        "k() {{ for a; do last=$a; done; printf '%s' \"$last\"; }}; {}",
        run.replacen(KUBECTL, "k", 1)
    );
    let (code, out, err) = sh(&script);
    assert_eq!(code, 0, "{err}");
    let patch: serde_json::Value = serde_json::from_str(&out).unwrap();
    let value: serde_json::Value = serde_json::from_str(patch["value"].as_str().unwrap()).unwrap();
    assert_eq!(
        value,
        serde_json::json!({"enable": true, "expiringInHours": 240})
    );
    let back = render(
        s.rollback.as_deref().unwrap(),
        &[("expiring_in_hours", "240")],
    );
    assert!(back.contains("\\\"enable\\\":false"), "{back}");
    // The webhook's range, checked before anything changes.
    let p = r
        .preflight
        .iter()
        .find(|p| p.id == "hours-in-range")
        .unwrap();
    for (h, want) in [
        ("240", "valid"),
        ("0", "out-of-range"),
        ("8760", "out-of-range"),
    ] {
        let (_, out, _) = sh(&render(&p.run, &[("expiring_in_hours", h)]));
        assert_eq!(out.trim(), want, "{h}");
    }
}

// ---- Broken copies fail. ----

/// `name` with `edit` applied, written to `dir`, simulated by the binary.
fn simulate_edited(
    dir: &Path,
    name: &str,
    inputs: &[String],
    vars: &[(&str, String)],
    edit: impl FnOnce(&mut Runbook),
) -> support::Run {
    let mut r = load(name).runbook;
    edit(&mut r);
    let file = dir.join(format!("{name}-broken.yaml"));
    std::fs::write(&file, rb::write::to_yaml(&r, &[]).unwrap()).unwrap();
    let mut t = support::Test::new()
        .arg("simulate")
        .path(&file)
        .args(inputs)
        .args(["--at", AT]);
    for (k, v) in vars {
        t = t.arg("--var").arg(format!("{k}={v}"));
    }
    t.run()
}

fn move_before(r: &mut Runbook, id: &str, before: &str) {
    let s = r.steps.remove(index(r, id));
    let to = index(r, before);
    r.steps.insert(to, s);
}

#[test]
fn agents_restarted_before_the_servers_fail_the_self_signed_rotation() {
    let dir = tempfile::tempdir().unwrap();
    let (stage, hash) = plan_ca(dir.path(), "cross-signed", &demo());
    simulate_edited(
        dir.path(),
        "rotate-self-signed-ca",
        &demo(),
        &stage_vars(&stage, Some(&hash)),
        |r| move_before(r, "restart-agents", "restart-servers"),
    )
    .code(1)
    .stdout_has("ROT001 at step restart-agents");
}

#[test]
fn a_token_written_after_the_restarts_fails_the_token_rotation() {
    let dir = tempfile::tempdir().unwrap();
    let inputs = plain_cluster(&dir.path().join("nodes"));
    simulate_edited(dir.path(), "rotate-token", &inputs, &[], |r| {
        let w = r.steps.remove(index(r, "write-token"));
        r.steps.push(w);
    })
    .code(1)
    .stdout_has("ROT005 at step restart-servers");
}

#[test]
fn a_service_account_key_list_without_the_old_key_fails() {
    let dir = tempfile::tempdir().unwrap();
    simulate_edited(
        dir.path(),
        "rotate-service-account-key",
        &demo(),
        &[],
        |r| {
            let s = r.steps.iter_mut().find(|s| s.id == "stage-key").unwrap();
            s.effect = Some(harrow::runbook::Effects::One(Effect::StageServiceKey {
                dir: "{{ params.staging_dir }}".to_string(),
                keep_old: false,
            }));
        },
    )
    .code(1)
    .stdout_has("ROT003 at step load");
}

/// The library path gives the same verdict as the binary (the demo at the fixtures' time).
#[test]
fn the_leaf_rotation_passes_through_the_library_too() {
    let l = load("rotate-leaf-certs");
    let a = support::analysis_of(&demo(), datetime!(2026-11-20 10:00 UTC));
    let report = sim::simulate(&l, &a.snapshot, &a.model, datetime!(2026-11-20 10:00 UTC));
    assert!(
        report.passes(),
        "{}",
        harrow::report::rotation::text(&report)
    );
    let nodes = |id: &str| {
        report
            .steps
            .iter()
            .find(|s| s.id == id)
            .unwrap()
            .nodes
            .clone()
    };
    assert_eq!(nodes("rotate-servers"), ["n1", "n2", "n3"]);
    assert_eq!(nodes("rotate-agents"), ["w1", "w2"]);
}
