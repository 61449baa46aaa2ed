//! The rotation planner and simulator on real snapshots: every `plan` output simulates clean
//! (fixtures and generated cluster shapes of 1–7 servers, 0–20 agents, with and without a
//! witness, self-signed and custom CA); a library of wrong runbooks, one per ROT rule, each caught
//! at the right step with the right rule; and the planner's refusals, each with its reason.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stderr
)]

mod support;

use std::path::{Path, PathBuf};

use harrow::analyze::Analysis;
use harrow::error::Error;
use harrow::rotation::plan::{self, Kind, Request};
use harrow::rotation::sim::{self, Report};
use harrow::rotation::stage::CaMode;
use harrow::runbook::model::{Effect, Effects, Order, Runbook, Step, Target};
use harrow::runbook::{self as rb};
use time::OffsetDateTime;
use time::macros::datetime;

const AT: OffsetDateTime = datetime!(2026-11-20 10:00 UTC);

fn analysis(rel: &str) -> Analysis {
    support::analysis_of(&support::inputs_in(rel), AT)
}

fn analysis_of_paths(paths: &[PathBuf]) -> Analysis {
    let inputs: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
    support::analysis_of(&inputs, AT)
}

fn request(kind: Kind, stage: Option<&Path>) -> Request {
    Request {
        kind,
        ca_mode: None,
        stage_dir: stage.map(Path::to_path_buf),
        ca_from: None,
        force: false,
        at: AT,
        services: Vec::new(),
        node: None,
    }
}

/// A runbook written to YAML and loaded back (the path `simulate` takes), then simulated.
fn simulate(a: &Analysis, runbook: &Runbook) -> Report {
    let text = rb::write::to_yaml(runbook, &[]).unwrap();
    let loaded = rb::load_str("test.yaml", &text, &[]).unwrap_or_else(|e| panic!("{e}\n{text}"));
    sim::simulate(&loaded, &a.snapshot, &a.model, AT)
}

fn planned(a: &Analysis, req: &Request) -> Runbook {
    plan::plan(req, &a.snapshot, &a.model)
        .unwrap_or_else(|e| panic!("plan {:?}: {e}", req.kind))
        .runbook
}

fn show(r: &Report) -> String {
    harrow::report::rotation::text(r)
}

fn assert_passes(r: &Report, what: &str) {
    assert!(r.passes(), "{what}:\n{}", show(r));
}

/// (code, step) of every finding.
fn caught(r: &Report) -> Vec<(&'static str, String)> {
    r.findings
        .iter()
        .map(|f| (f.code, f.step.clone()))
        .collect()
}

fn assert_caught(r: &Report, code: &str, step: &str) {
    assert!(
        r.findings.iter().any(|f| f.code == code && f.step == step),
        "expected {code} at step {step}, got {:?}\n{}",
        caught(r),
        show(r)
    );
    assert!(!r.passes());
}

fn step_mut<'a>(rb: &'a mut Runbook, id: &str) -> &'a mut Step {
    rb.steps
        .iter_mut()
        .find(|s| s.id == id)
        .unwrap_or_else(|| panic!("no step {id}"))
}

fn without(mut rb: Runbook, id: &str) -> Runbook {
    rb.steps.retain(|s| s.id != id);
    rb
}

#[test]
fn every_plan_simulates_clean_on_the_fixtures() {
    for fixture in [
        "bundles/fixtures/healthy",
        "bundles/fixtures/rotate-ca-staged",
        "bundles/fixtures/custom-ca",
        "bundles/demo",
    ] {
        let a = analysis(fixture);
        for kind in [Kind::LeafCerts, Kind::ServiceAccountKey, Kind::Ca] {
            let dir = tempfile::tempdir().unwrap();
            let stage = dir.path().join("stage");
            let rb = planned(&a, &request(kind, Some(&stage)));
            let r = simulate(&a, &rb);
            assert_passes(&r, &format!("{fixture} {kind:?}"));
            // The simulation judged something: links hold after every step.
            assert!(r.steps.iter().all(|s| s.holding > 0), "{}", show(&r));
        }
    }
}

#[test]
fn the_planned_self_signed_rotation_is_cross_signed_and_rotate_ca_accepts_it() {
    let a = analysis("bundles/fixtures/healthy");
    let dir = tempfile::tempdir().unwrap();
    let stage = dir.path().join("stage");
    let rb = planned(&a, &request(Kind::Ca, Some(&stage)));
    // Four certificates per bundle: new CA, new root, new root cross-signed, old root.
    let pem = std::fs::read(stage.join("tls/server-ca.crt")).unwrap();
    let certs = harrow::pki::parse_certs(&pem).unwrap();
    assert_eq!(certs.len(), 4);
    let key_mode = std::fs::metadata(stage.join("tls/server-ca.key")).unwrap();
    use std::os::unix::fs::PermissionsExt as _;
    assert_eq!(key_mode.permissions().mode() & 0o777, 0o600);
    // The token hash is RKE2's rule: the root the new CA chains to, not the new CA itself.
    let hash = &rb.params["new_ca_hash"].default.clone().unwrap();
    assert_ne!(hash, &certs[0].fingerprint_sha256());
    assert!(
        certs[1..].iter().any(|c| c.fingerprint_sha256() == hash),
        "{hash} is none of the roots"
    );
    // No --force, and rotate-ca's checks pass in the simulation.
    let load = rb.steps.iter().find(|s| s.id == "load").unwrap();
    assert!(!load.run.as_deref().unwrap().contains("--force"));
    let r = simulate(&a, &rb);
    assert_passes(&r, "cross-signed");
    assert!(
        r.steps.iter().any(|s| s
            .events
            .iter()
            .any(|e| e.contains("saved the staged CA data"))),
        "{}",
        show(&r)
    );
}

/// A cluster of `servers` management nodes (the first the init node), an optional witness and
/// `agents` workers, generated with real certificates and written as node snapshots; with
/// `custom`, the cluster CAs sit under a custom root and intermediate (the hierarchy of
/// `generate-custom-ca-certs.sh`) and `<dir>/ca-from` holds the intermediate and the current CA
/// files, as an operator keeps them off the cluster.
fn generated_with(
    servers: usize,
    witness: bool,
    agents: usize,
    custom: bool,
    dir: &Path,
) -> Vec<PathBuf> {
    use harrow_fixtures::pki::{ClusterPki, ec_key, script_ca};
    use harrow_fixtures::spec::{ClusterSpec, Role, node};
    let mut spec = ClusterSpec::demo();
    let up = spec.nodes[0].agent_issued;
    spec.name = format!("shape-{servers}-{witness}-{agents}-{custom}");
    let mut nodes = Vec::new();
    for i in 0..servers {
        nodes.push(node(
            &format!("s{i}"),
            [10, 1, 0, 10 + i as u8],
            Role::Management,
            true,
            up,
        ));
    }
    if witness {
        nodes.push(node("wit", [10, 1, 0, 9], Role::Witness, true, up));
    }
    for i in 0..agents {
        nodes.push(node(
            &format!("a{i}"),
            [10, 1, 1, 10 + i as u8],
            Role::Worker,
            false,
            up,
        ));
    }
    nodes[0].init = true;
    spec.nodes = nodes;
    let mut pki = ClusterPki::generate(&spec).unwrap();
    if custom {
        let t = spec.timeline.ca_created;
        const DAY: i64 = 86_400;
        let root = script_ca(
            &format!("rke2-root-ca@{t}"),
            None,
            t,
            t + 7300 * DAY,
            ec_key(),
        );
        let inter = script_ca(
            &format!("rke2-intermediate-ca@{t}"),
            Some(&root),
            t,
            t + 3700 * DAY,
            ec_key(),
        );
        let mk = |ty: &str| {
            script_ca(
                &format!("rke2-{}-ca@{t}", ty.replace('/', "-")),
                Some(&inter),
                t,
                t + 3700 * DAY,
                ec_key(),
            )
        };
        pki.client_ca = mk("client");
        pki.server_ca = mk("server");
        pki.request_header_ca = mk("request-header");
        pki.etcd_server_ca = mk("etcd/server");
        pki.etcd_peer_ca = mk("etcd/peer");
        pki.token_root_der = Some(root.der().to_vec());
        let from = dir.join("ca-from");
        std::fs::create_dir_all(from.join("etcd")).unwrap();
        for (file, ca) in [
            ("client-ca.crt", &pki.client_ca),
            ("server-ca.crt", &pki.server_ca),
            ("request-header-ca.crt", &pki.request_header_ca),
            ("etcd/server-ca.crt", &pki.etcd_server_ca),
            ("etcd/peer-ca.crt", &pki.etcd_peer_ca),
            ("intermediate-ca.crt", &inter),
        ] {
            std::fs::write(from.join(file), &ca.crt_file).unwrap();
        }
        std::fs::write(from.join("intermediate-ca.key"), &inter.key_file).unwrap();
    }
    let cluster = harrow_fixtures::Cluster::from_pki(spec.clone(), pki);
    spec.nodes
        .iter()
        .map(|n| {
            let p = dir.join(format!("{}.tgz", n.name));
            harrow_fixtures::snapshot::write_node_snapshot(&cluster, &n.name, &p).unwrap();
            p
        })
        .collect()
}

fn generated(servers: usize, witness: bool, agents: usize, dir: &Path) -> Vec<PathBuf> {
    generated_with(servers, witness, agents, false, dir)
}

/// Plan every kind for a generated shape and simulate each plan: all pass.
fn plans_pass_on_shape(servers: usize, witness: bool, agents: usize, custom: bool) {
    let dir = tempfile::tempdir().unwrap();
    let a = analysis_of_paths(&generated_with(
        servers,
        witness,
        agents,
        custom,
        dir.path(),
    ));
    for kind in [Kind::LeafCerts, Kind::ServiceAccountKey, Kind::Ca] {
        let mut req = request(kind, Some(&dir.path().join(format!("stage-{kind:?}"))));
        if custom && kind == Kind::Ca {
            req.ca_mode = Some(CaMode::SameRoot);
            req.ca_from = Some(dir.path().join("ca-from"));
        }
        let rb = planned(&a, &req);
        let r = simulate(&a, &rb);
        assert_passes(
            &r,
            &format!(
                "{servers} servers, witness {witness}, {agents} agents, custom CA {custom}, {kind:?}"
            ),
        );
    }
}

#[test]
fn simulate_passes_every_plan_at_the_bounds_of_the_shapes() {
    for (servers, witness, agents, custom) in [
        (1, false, 0, false),
        (1, true, 20, true),
        (7, false, 20, false),
        (7, true, 0, true),
    ] {
        plans_pass_on_shape(servers, witness, agents, custom);
    }
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig { cases: 10, ..Default::default() })]

    /// The property of issue 10: `simulate` passes every `plan` output, over generated cluster
    /// shapes (1 to 7 servers, 0 to 20 agents, with and without a witness, self-signed and
    /// custom CA).
    #[test]
    fn simulate_passes_every_plan_over_generated_cluster_shapes(
        servers in 1usize..=7,
        witness in proptest::prelude::any::<bool>(),
        agents in 0usize..=20,
        custom in proptest::prelude::any::<bool>(),
    ) {
        plans_pass_on_shape(servers, witness, agents, custom);
    }
}

#[test]
fn simulate_passes_the_custom_ca_plans_same_root_and_new_root() {
    let a = analysis("bundles/fixtures/custom-ca");
    let dir = tempfile::tempdir().unwrap();
    let mut req = request(Kind::Ca, Some(&dir.path().join("same")));
    req.ca_mode = Some(CaMode::SameRoot);
    let same = planned(&a, &req);
    // Same root: the token hash does not change, so no token step.
    assert!(!same.steps.iter().any(|s| s.id.starts_with("write-token")));
    assert_passes(&simulate(&a, &same), "same root");
    let mut req = request(Kind::Ca, Some(&dir.path().join("new")));
    req.ca_mode = Some(CaMode::NewRoot);
    req.force = true;
    let new = planned(&a, &req);
    let load = new.steps.iter().find(|s| s.id == "load").unwrap();
    assert!(load.run.as_deref().unwrap().contains("--force"));
    assert!(new.steps.iter().any(|s| s.id == "restart-pods"));
    let r = simulate(&a, &new);
    assert_passes(&r, "new root");
}

// ---- The wrong-runbook library: one per ROT rule. ----

fn staged_ca_plan(a: &Analysis, dir: &Path) -> Runbook {
    planned(a, &request(Kind::Ca, Some(&dir.join("stage"))))
}

#[test]
fn rot001_agents_before_servers() {
    let a = analysis("bundles/fixtures/healthy");
    let dir = tempfile::tempdir().unwrap();
    let mut rb = staged_ca_plan(&a, dir.path());
    let agents = rb
        .steps
        .iter()
        .position(|s| s.id == "restart-agents")
        .unwrap();
    let servers = rb
        .steps
        .iter()
        .position(|s| s.id == "restart-servers")
        .unwrap();
    let moved = rb.steps.remove(agents);
    rb.steps.insert(servers, moved);
    let r = simulate(&a, &rb);
    assert_caught(&r, "ROT001", "restart-agents");
}

#[test]
fn rot002_single_certificate_bundle_without_force() {
    let a = analysis("bundles/fixtures/healthy");
    let dir = tempfile::tempdir().unwrap();
    let rb = staged_ca_plan(&a, dir.path());
    // Cut the staged server CA bundle to its first certificate.
    let path = dir.path().join("stage/tls/server-ca.crt");
    let pem = std::fs::read_to_string(&path).unwrap();
    let first = pem
        .split_inclusive("-----END CERTIFICATE-----\n")
        .next()
        .unwrap()
        .to_string();
    std::fs::write(&path, first).unwrap();
    let r = simulate(&a, &rb);
    assert_caught(&r, "ROT002", "load");
    let f = r.findings.iter().find(|f| f.code == "ROT002").unwrap();
    assert!(
        f.message.contains("only a single certificate"),
        "{}",
        f.message
    );
}

#[test]
fn rot003_new_key_list_without_the_old_signing_key() {
    let a = analysis("bundles/fixtures/healthy");
    let mut rb = planned(&a, &request(Kind::ServiceAccountKey, None));
    let stage = step_mut(&mut rb, "stage-key");
    stage.effect = Some(Effects::One(Effect::StageServiceKey {
        dir: "{{ params.staging_dir }}".to_string(),
        keep_old: false,
    }));
    let r = simulate(&a, &rb);
    assert_caught(&r, "ROT003", "load");
    // Forced through, the new list is loaded: once the servers restart, tokens signed with the
    // old key are rejected, a persistent break of the service-account links.
    if let Some(Effects::One(Effect::RotateCa { force, .. })) =
        &mut step_mut(&mut rb, "load").effect
    {
        *force = true;
    }
    let r = simulate(&a, &rb);
    assert_caught(&r, "ROT003", "load");
    assert!(
        r.persistent
            .iter()
            .any(|l| l.why.contains("signed earlier") && l.kind.as_str() == "service-account"),
        "{}",
        show(&r)
    );
}

#[test]
fn rot004_staging_into_the_live_server_tls() {
    let a = analysis("bundles/fixtures/healthy");
    let rb = planned(&a, &request(Kind::ServiceAccountKey, None));
    let text = rb::write::to_yaml(&rb, &[]).unwrap();
    let loaded = rb::load_str(
        "t.yaml",
        &text,
        &[("staging_dir".into(), "/var/lib/rancher/rke2/server".into())],
    )
    .unwrap();
    let r = sim::simulate(&loaded, &a.snapshot, &a.model, AT);
    assert!(
        r.findings
            .iter()
            .any(|f| f.code == "ROT004" && f.step == "stage-key"),
        "{}",
        show(&r)
    );
    // A command writing a key into the live directory is caught from its text too.
    let mut rb = planned(&a, &request(Kind::ServiceAccountKey, None));
    step_mut(&mut rb, "stage-key").run =
        Some("openssl genrsa -out /var/lib/rancher/rke2/server/tls/service.key 2048".to_string());
    assert_caught(&simulate(&a, &rb), "ROT004", "stage-key");
}

#[test]
fn rot005_restart_before_the_token_update_after_a_new_root() {
    let a = analysis("bundles/fixtures/healthy");
    let dir = tempfile::tempdir().unwrap();
    let rb = without(staged_ca_plan(&a, dir.path()), "write-token-hash");
    let r = simulate(&a, &rb);
    assert!(
        r.findings.iter().any(|f| f.code == "ROT005"),
        "{}",
        show(&r)
    );
    // The agent whose token pins the old hash fails to start and stays down.
    assert!(!r.persistent.is_empty(), "{}", show(&r));
    // Writing only config.yaml misses the drop-in the nodes read their token from.
    let dir2 = tempfile::tempdir().unwrap();
    let mut rb = staged_ca_plan(&a, dir2.path());
    if let Some(Effects::One(Effect::SetToken { places, .. })) =
        &mut step_mut(&mut rb, "write-token-hash").effect
    {
        places.retain(|p| p == "/etc/rancher/rke2/config.yaml");
    }
    let r = simulate(&a, &rb);
    assert!(
        r.findings.iter().any(|f| f.code == "ROT005"),
        "{}",
        show(&r)
    );
}

#[test]
fn rot006_all_servers_restarted_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let a = analysis_of_paths(&generated(3, false, 1, dir.path()));
    let mut rb = planned(&a, &request(Kind::ServiceAccountKey, None));
    step_mut(&mut rb, "restart-servers").order = Some(Order::Parallel);
    assert_caught(&simulate(&a, &rb), "ROT006", "restart-servers");
    // One at a time keeps quorum.
    step_mut(&mut rb, "restart-servers").order = Some(Order::Serial);
    assert_passes(&simulate(&a, &rb), "serial");
}

#[test]
fn rot007_token_rotate_on_harvester() {
    let a = analysis("bundles/fixtures/healthy");
    let mut rb = planned(&a, &request(Kind::ServiceAccountKey, None));
    let mut s = rb.steps[1].clone();
    s.id = "token-rotate".to_string();
    s.run = Some("{{ params.rke2 }} token rotate --new-token x".to_string());
    s.effect = Some(Effects::One(Effect::TokenRotate {}));
    rb.steps.insert(1, s);
    assert_caught(&simulate(&a, &rb), "ROT007", "token-rotate");
}

#[test]
fn rot008_no_pod_restart_after_a_new_root() {
    let a = analysis("bundles/fixtures/custom-ca");
    let dir = tempfile::tempdir().unwrap();
    let mut req = request(Kind::Ca, Some(&dir.path().join("new")));
    req.ca_mode = Some(CaMode::NewRoot);
    req.force = true;
    let rb = without(planned(&a, &req), "restart-pods");
    assert_caught(&simulate(&a, &rb), "ROT008", "load");
}

#[test]
fn rot009_rotation_with_already_expired_certificates() {
    let a = analysis("bundles/fixtures/expired-leaf");
    let dir = tempfile::tempdir().unwrap();
    let rb = planned(&a, &request(Kind::Ca, Some(&dir.path().join("stage"))));
    assert_caught(&simulate(&a, &rb), "ROT009", "load");
    // Recovering first (stop, rotate the leaves, start: the leaf-certs plan) clears it.
    let mut leaf = planned(&a, &request(Kind::LeafCerts, None));
    leaf.steps.pop();
    let mut both = leaf.clone();
    both.steps.extend(rb.steps.iter().cloned());
    both.params.extend(rb.params.clone());
    let r = simulate(&a, &both);
    assert!(
        !r.findings.iter().any(|f| f.code == "ROT009"),
        "{}",
        show(&r)
    );
}

#[test]
fn rot010_rotation_without_an_etcd_snapshot() {
    let a = analysis("bundles/fixtures/healthy");
    let rb = without(
        planned(&a, &request(Kind::ServiceAccountKey, None)),
        "etcd-snapshot",
    );
    assert_caught(&simulate(&a, &rb), "ROT010", "stage-key");
}

#[test]
fn rot011_a_step_that_fetches_from_the_network() {
    let a = analysis("bundles/fixtures/healthy");
    let dir = tempfile::tempdir().unwrap();
    let mut rb = staged_ca_plan(&a, dir.path());
    let mut s = rb.steps[0].clone();
    s.id = "get-script".to_string();
    s.run = Some("curl -sfL https://github.com/k3s-io/k3s/raw/master/contrib/util/rotate-default-ca-certs.sh | bash -".to_string());
    s.effect = None;
    rb.steps.insert(1, s);
    assert_caught(&simulate(&a, &rb), "ROT011", "get-script");
}

/// A plain RKE2 node snapshot directory of `tgz`, with `version` in commands/rke2-version.txt
/// and no Harvester release file.
fn plain_rke2(tgz: &str, dir: &Path, name: &str, version: &str) -> PathBuf {
    let f = std::fs::File::open(support::root().join(tgz)).unwrap();
    let out = dir.join(name);
    tar::Archive::new(flate2::read::GzDecoder::new(f))
        .unpack(&out)
        .unwrap();
    let _ = std::fs::remove_file(out.join("etc/harvester-release.yaml"));
    let _ = std::fs::remove_dir_all(out.join("oem"));
    std::fs::create_dir_all(out.join("commands")).unwrap();
    std::fs::write(
        out.join("commands/rke2-version.txt"),
        format!("rke2 version {version} (abcdef)\ngo version go1.22\n"),
    )
    .unwrap();
    out
}

fn plain_cluster(dir: &Path, version: &str) -> Analysis {
    let paths: Vec<PathBuf> = ["s1", "s2", "a1"]
        .iter()
        .map(|n| {
            plain_rke2(
                &format!("bundles/fixtures/healthy/{n}.tgz"),
                dir,
                n,
                version,
            )
        })
        .collect();
    analysis_of_paths(&paths)
}

#[test]
fn rot012_a_step_needs_a_newer_rke2() {
    let dir = tempfile::tempdir().unwrap();
    let a = plain_cluster(dir.path(), "v1.24.9+rke2r1");
    assert_eq!(
        sim::rke2_version(&a.snapshot).as_deref(),
        Some("v1.24.9+rke2r1")
    );
    let new = tempfile::tempdir().unwrap();
    let b = plain_cluster(new.path(), "v1.33.5+rke2r1");
    let rb = planned(&b, &request(Kind::ServiceAccountKey, None));
    assert_caught(&simulate(&a, &rb), "ROT012", "load");
}

#[test]
fn plan_token_on_plain_rke2_writes_every_token_place_before_the_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let a = plain_cluster(dir.path(), "v1.33.5+rke2r1");
    let rb = planned(&a, &request(Kind::Token, None));
    let ids: Vec<&str> = rb.steps.iter().map(|s| s.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "etcd-snapshot",
            "token-rotate",
            "write-token",
            "restart-servers",
            "restart-agents"
        ]
    );
    // The secrets are params from the environment, never in the file.
    assert!(rb.params["new_token"].default.is_none());
    assert_eq!(
        rb.params["new_token"].from_env.as_deref(),
        Some("HARROW_NEW_TOKEN")
    );
    let r = simulate(&a, &rb);
    assert_passes(&r, "token");
    // Without the write step the servers cannot decrypt the bootstrap data at their restart.
    let r = simulate(&a, &without(rb, "write-token"));
    assert_caught(&r, "ROT005", "restart-servers");
}

// ---- Refusals. ----

fn refusal(a: &Analysis, req: &Request) -> String {
    match plan::plan(req, &a.snapshot, &a.model) {
        Err(Error::Declined(m)) => m,
        other => panic!(
            "expected a refusal, got {:?}",
            other.map(|p| p.runbook.metadata.name)
        ),
    }
}

#[test]
fn plan_token_is_refused_on_harvester_with_the_seed_reason() {
    let a = analysis("bundles/fixtures/healthy");
    let m = refusal(&a, &request(Kind::Token, None));
    assert!(
        m.contains("Harvester") && m.contains("/oem") && m.contains("harvester-certificates"),
        "{m}"
    );
    // And the command says so, exit 2.
    support::Test::new()
        .args(["plan", "token"])
        .args(support::inputs_in("bundles/fixtures/healthy"))
        .run()
        .code(2)
        .stderr_has("harrow plan: refused: plan token: the rke2 token is not rotated on Harvester");
}

#[test]
fn a_release_below_a_gate_is_refused_naming_the_releases() {
    let dir = tempfile::tempdir().unwrap();
    let a = plain_cluster(dir.path(), "v1.24.9+rke2r1");
    let m = refusal(&a, &request(Kind::ServiceAccountKey, None));
    assert!(
        m.contains("v1.24.9") && m.contains("v1.24.11") && m.contains("rotate-ca"),
        "{m}"
    );
    let m = refusal(&a, &request(Kind::Token, None));
    assert!(m.contains("token rotate") && m.contains("v1.25.15"), "{m}");
}

#[test]
fn an_expired_ca_is_refused_without_force() {
    let a = support::analysis_of(
        &support::inputs_in("bundles/fixtures/healthy"),
        datetime!(2040-01-01 0:00 UTC),
    );
    let dir = tempfile::tempdir().unwrap();
    let mut req = request(Kind::Ca, Some(&dir.path().join("stage")));
    req.at = datetime!(2040-01-01 0:00 UTC);
    let m = refusal(&a, &req);
    assert!(
        m.contains("expired") && m.contains("--force") && m.contains("§7"),
        "{m}"
    );
}

#[test]
fn servers_that_disagree_on_the_ca_are_refused() {
    let a = analysis("bundles/fixtures/ca-differs");
    let dir = tempfile::tempdir().unwrap();
    let m = refusal(&a, &request(Kind::Ca, Some(&dir.path().join("stage"))));
    assert!(m.contains("disagree") && m.contains("client-ca.crt"), "{m}");
}

#[test]
fn simulate_cli_prints_assumptions_first_and_exits_1_on_a_break() {
    let a = analysis("bundles/fixtures/healthy");
    let dir = tempfile::tempdir().unwrap();
    let rb = without(staged_ca_plan(&a, dir.path()), "write-token-hash");
    let file = dir.path().join("bad.yaml");
    std::fs::write(&file, rb::write::to_yaml(&rb, &[]).unwrap()).unwrap();
    let run = support::Test::new()
        .arg("simulate")
        .path(&file)
        .args(support::inputs_in("bundles/fixtures/healthy"))
        .args(["--at", "2026-11-20T10:00:00Z"])
        .run()
        .code(1)
        .stdout_has("ROT005");
    let out = run.stdout.clone();
    assert!(
        out.find("Assumptions").unwrap() < out.find("Steps").unwrap(),
        "{out}"
    );
    // A runbook with an undefined variable is refused at its line and column.
    let bad = dir.path().join("typo.yaml");
    let text =
        rb::write::to_yaml(&rb, &[])
            .unwrap()
            .replacen("{{ params.rke2 }}", "{{ params.rke }}", 1);
    std::fs::write(&bad, text).unwrap();
    support::Test::new()
        .arg("simulate")
        .path(&bad)
        .args(support::inputs_in("bundles/fixtures/healthy"))
        .run()
        .code(2)
        .stderr_has("undefined variable `params.rke`");
}

#[test]
fn targets_resolve_against_the_inventory() {
    let a = analysis("bundles/demo");
    let rb = planned(&a, &request(Kind::LeafCerts, None));
    let r = simulate(&a, &rb);
    let nodes = |id: &str| r.steps.iter().find(|s| s.id == id).unwrap().nodes.clone();
    assert_eq!(nodes("rotate-servers"), ["n1", "n2", "n3"]);
    assert_eq!(nodes("rotate-agents"), ["w1", "w2"]);
    let _ = Target::All;
}

#[test]
fn the_staged_fixture_rotates_without_force_and_its_new_hash_is_the_root_not_the_new_ca() {
    let a = analysis("bundles/fixtures/rotate-ca-staged");
    let st = harrow::rotation::build(&a.snapshot, &a.model);
    let staged = &st.nodes["s1"].staged["var/lib/rancher/rke2/server/rotate-ca/tls/server-ca.crt"];
    let certs = st.certs_of(staged);
    assert_eq!(
        certs.len(),
        4,
        "new CA, new root, cross-signed root, old root"
    );
    let hash = harrow::rotation::state::bundle_hash(&certs, None).unwrap();
    // rotate-default-ca-certs.sh prints the new CA's own fingerprint; RKE2's hashCA takes the
    // root the first certificate chains to.
    assert_ne!(hash, certs[0].fingerprint_sha256());
    assert!(
        certs[1..].iter().any(|c| c.fingerprint_sha256() == hash),
        "{hash}"
    );
    // A runbook that loads the staged material as it is, without --force.
    let text = "apiVersion: harrow/v1
kind: Runbook
metadata: {name: staged}
steps:
  - id: snapshot
    target: first-server
    run: rke2 etcd-snapshot save
    effect: {etcd_snapshot: {record_token: true}}
  - id: load
    target: first-server
    run: rke2 certificate rotate-ca --path=/var/lib/rancher/rke2/server/rotate-ca
    effect: {rotate_ca: {path: /var/lib/rancher/rke2/server/rotate-ca, force: false}}
  - id: tokens
    target: all
    run: update tokens
    effect: {set_token: {where: [/etc/rancher/rke2/config.yaml.d/40-rancherd.yaml], ca_hash: served}}
  - id: servers
    target: servers
    run: systemctl restart rke2-server
    effect: {restart: {}}
  - id: agents
    target: agents
    run: systemctl restart rke2-agent
    effect: {restart: {}}
";
    let loaded = rb::load_str("staged.yaml", text, &[]).unwrap();
    let r = sim::simulate(&loaded, &a.snapshot, &a.model, AT);
    assert_passes(&r, "staged fixture");
    let load = r.steps.iter().find(|s| s.id == "load").unwrap();
    assert!(
        load.events
            .iter()
            .any(|e| e.contains(&hash[..12]) && !e.contains("--force")),
        "{:?}",
        load.events
    );
}

#[test]
fn a_bundle_without_node_certificates_is_not_judged_never_passed() {
    let bundle =
        "bundles/demo/supportbundle_4f7c2a9e-3b1d-4e58-9a6f-0c2d8e1b7a53_2026-11-20T10-00-00Z.zip";
    let a = support::analysis_of(&[bundle.to_string()], AT);
    let rb = planned(&a, &request(Kind::LeafCerts, None));
    let r = simulate(&a, &rb);
    assert!(!r.passes(), "{}", show(&r));
    assert!(
        r.problems
            .iter()
            .any(|p| p.contains("no trust link can be judged")),
        "{}",
        show(&r)
    );
}

/// A runbook command rendered with `vars` (shell quoting) and run by `sh`.
fn sh_with(run: &str, vars: &harrow::runbook::template::Vars) -> std::process::Output {
    let cmd = harrow::runbook::template::render(run, vars, harrow::runbook::template::Mode::Shell)
        .unwrap();
    std::process::Command::new("sh")
        .arg("-c")
        .arg(&cmd)
        .output()
        .unwrap()
}

#[test]
fn the_planned_token_write_replaces_whole_token_values_only() {
    let dir = tempfile::tempdir().unwrap();
    let a = plain_cluster(dir.path(), "v1.33.5+rke2r1");
    let rb = planned(&a, &request(Kind::Token, None));
    let step = rb.steps.iter().find(|s| s.id == "write-token").unwrap();
    let run = step.run.clone().unwrap();
    let places = "/etc/rancher/rke2/config.yaml /etc/rancher/rke2/config.yaml.d/40-rancherd.yaml";
    assert!(run.contains(places), "{run}");
    // The same command on two files of this machine, with the secrets as params.
    let hash = "ab".repeat(32);
    let config = dir.path().join("config.yaml");
    let env = dir.path().join("rke2.env");
    std::fs::write(
        &config,
        format!("token: K10{hash}::server:ab\nnode-label: [\"x=abc\"]\n"),
    )
    .unwrap();
    std::fs::write(&env, "RKE2_TOKEN=ab\n").unwrap();
    let run = run.replace(places, &format!("{} {}", config.display(), env.display()));
    let mut vars = harrow::runbook::template::Vars::default();
    vars.params
        .insert("old_token".into(), format!("K10{hash}::server:ab"));
    vars.params.insert("new_token".into(), "n3w-pass".into());
    let out = sh_with(&run, &vars);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        std::fs::read_to_string(&config).unwrap(),
        format!("token: K10{hash}::server:n3w-pass\nnode-label: [\"x=abc\"]\n"),
        "the CA hash and other values keep their 'ab's"
    );
    assert_eq!(
        std::fs::read_to_string(&env).unwrap(),
        "RKE2_TOKEN=n3w-pass\n"
    );
    // Without the secrets it refuses instead of rewriting anything.
    let empty = harrow::runbook::template::Vars {
        params: [
            ("old_token".to_string(), String::new()),
            ("new_token".to_string(), "x".to_string()),
        ]
        .into(),
        ..Default::default()
    };
    assert!(!sh_with(&run, &empty).status.success());
}

#[test]
fn hostile_staged_material_is_reported_by_file_and_never_followed() {
    let a = analysis("bundles/fixtures/healthy");
    let dir = tempfile::tempdir().unwrap();
    let rb = staged_ca_plan(&a, dir.path());
    let tls = dir.path().join("stage/tls");
    // A symbolic link loop and a file that is no certificate bundle.
    std::os::unix::fs::symlink(&tls, tls.join("loop")).unwrap();
    std::fs::write(
        tls.join("request-header-ca.crt"),
        "-----BEGIN CERTIFICATE-----\n!!!!\n",
    )
    .unwrap();
    let r = simulate(&a, &rb);
    assert!(!r.passes());
    assert!(
        r.problems
            .iter()
            .any(|p| p.contains("request-header-ca.crt") && p.contains("not a certificate bundle")),
        "{}",
        show(&r)
    );
}

#[test]
fn a_runbook_too_large_is_refused_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let big = dir.path().join("big.yaml");
    std::fs::write(&big, vec![b'#'; (4 << 20) + 1]).unwrap();
    let e = rb::load_file(&big, &[]).unwrap_err();
    assert!(
        e.to_string().contains("big.yaml") && e.to_string().contains("at most"),
        "{e}"
    );
}

#[test]
fn plan_and_simulate_outputs_are_pinned() {
    // The runbook plan writes and what simulate prints of it, in a directory of their own so
    // that the runbook's name is the same on every machine.
    let dir = tempfile::tempdir().unwrap();
    let inputs: Vec<String> = support::inputs_in("bundles/fixtures/healthy")
        .iter()
        .map(|p| support::root().join(p).display().to_string())
        .collect();
    for kind in ["leaf-certs", "service-account-key"] {
        let plan = support::Test::new()
            .args(["plan", kind])
            .args(&inputs)
            .args(["--at", "2026-11-20T10:00:00Z"])
            .run()
            .code(0)
            .golden(&format!("plan-{kind}-healthy.yaml"));
        std::fs::write(dir.path().join("runbook.yaml"), &plan.stdout).unwrap();
        support::Test::new()
            .cwd(dir.path())
            .args(["simulate", "runbook.yaml"])
            .args(&inputs)
            .args(["--at", "2026-11-20T10:00:00Z"])
            .run()
            .code(0)
            .golden(&format!("simulate-{kind}-healthy.txt"));
    }
}

// ---- Regressions found by the shipped runbooks' review. ----

/// Agents have no `/etc/rancher/rke2/rke2.yaml`: the readiness verify of every restart reads
/// the node's own Node object with its kubelet's kubeconfig.
#[test]
fn regression_restarts_are_verified_with_the_nodes_kubelet_kubeconfig() {
    let a = analysis("bundles/fixtures/healthy");
    let rb = planned(&a, &request(Kind::LeafCerts, None));
    let verifies: Vec<&str> = rb
        .steps
        .iter()
        .filter_map(|s| s.verify.as_ref().map(|v| v.run.as_str()))
        .collect();
    assert!(verifies.len() >= 2, "{verifies:?}");
    for v in verifies {
        assert!(
            v.contains("/var/lib/rancher/rke2/agent/kubelet.kubeconfig"),
            "{v}"
        );
        assert!(!v.contains("rke2.yaml"), "{v}");
    }
}

/// The token hash write ran `[ -f "$f" ] && sed ...` per place: a missing last place made the
/// loop, and so the step under `sh -e`, exit 1 on that node.
#[test]
fn regression_the_token_hash_write_succeeds_when_a_place_is_missing() {
    let a = analysis("bundles/fixtures/healthy");
    let dir = tempfile::tempdir().unwrap();
    let rb = staged_ca_plan(&a, dir.path());
    let step = rb
        .steps
        .iter()
        .find(|s| s.id == "write-token-hash")
        .expect("a cross-signed rotation writes the new hash");
    let places: Vec<String> = match step.effects() {
        [harrow::runbook::model::Effect::SetToken { places, .. }] => places.clone(),
        other => panic!("{other:?}"),
    };
    assert!(places.len() >= 2, "{places:?}");
    let root = dir.path().join("node");
    let mut script = step
        .run
        .clone()
        .unwrap()
        .replace("{{ params.new_ca_hash }}", &"ab".repeat(32));
    for p in &places {
        script = script.replace(p.as_str(), &format!("{}{p}", root.display()));
    }
    // Only the first place exists on this node.
    let first = root.join(places[0].trim_start_matches('/'));
    std::fs::create_dir_all(first.parent().unwrap()).unwrap();
    let old = format!("token: K10{}::server:pw\n", "cd".repeat(32));
    std::fs::write(&first, &old).unwrap();
    let out = std::process::Command::new("sh")
        .args(["-e", "-c", &script])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        std::fs::read_to_string(&first).unwrap(),
        format!("token: K10{}::server:pw\n", "ab".repeat(32))
    );
}

/// The supervisor's :9345 listener certificate (`dynamic-cert.json`) is renewed by the
/// `rke2-server` service of `certificate rotate`; `--service supervisor` renews only
/// `client-supervisor.crt` (reference rke2-pki §1, §3.1).
#[test]
fn regression_a_release_before_the_supervisor_fix_renews_the_listener_with_rke2_server() {
    let dir = tempfile::tempdir().unwrap();
    let a = plain_cluster(dir.path(), "v1.31.5+rke2r1");
    let rb = staged_ca_plan(&a, dir.path());
    let restart = rb.steps.iter().find(|s| s.id == "restart-servers").unwrap();
    let run = restart.run.as_deref().unwrap();
    assert!(
        run.contains("certificate rotate --service rke2-server"),
        "{run}"
    );
    assert!(!run.contains("--service supervisor"), "{run}");
    assert_passes(
        &simulate(&a, &rb),
        "pre-fix release with the listener renewed",
    );
}

/// New CA material (root and intermediate keys for new-root and same-root plans) stayed in the
/// first server's staging directory after `rotate-ca` had saved it.
#[test]
fn regression_staged_private_keys_are_removed_right_after_rotate_ca() {
    let a = analysis("bundles/fixtures/healthy");
    let dir = tempfile::tempdir().unwrap();
    let rb = staged_ca_plan(&a, dir.path());
    let ids: Vec<&str> = rb.steps.iter().map(|s| s.id.as_str()).collect();
    let load = ids.iter().position(|i| *i == "load").unwrap();
    assert_eq!(ids[load + 1], "remove-staged-keys", "{ids:?}");
    let run = rb.steps[load + 1].run.as_deref().unwrap();
    assert!(
        run.starts_with("rm -f {{ params.staging_dir }}/tls/*.key"),
        "{run}"
    );
    assert_passes(&simulate(&a, &rb), "with the staged keys removed");
}
