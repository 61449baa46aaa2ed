//! Effects on the credential model: applying one gives the next model, which the same views and
//! rules judge (the shape the rotation simulator stands on). On the `stale-agent-ca` fixture the
//! agent's `server-ca.crt` is an old copy (CERT008 fails); copying a server's current bundle over
//! it, as the agent's next start does, makes CERT008 pass, and removing it makes CERT008 not
//! evaluable for want of an agent copy, without touching the snapshot or the first model.

// clippy.toml lets #[test] functions unwrap, panic and print; this lets their helpers too.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stderr
)]

mod support;

use harrow::analyze::{self, At, InputSpec, Options, Through};
use harrow::checks::CoverageStatus;
use harrow::ingest::Limits;
use harrow::model::effect::{Effect, NodeFile, apply};
use time::macros::datetime;

const SERVER_CA: &str = "var/lib/rancher/rke2/server/tls/server-ca.crt";
const AGENT_COPY: &str = "var/lib/rancher/rke2/agent/server-ca.crt";

fn stale_agent_ca() -> analyze::Analysis {
    let inputs = support::inputs_in("bundles/fixtures/stale-agent-ca")
        .iter()
        .map(|p| InputSpec::parse(p))
        .collect();
    let opts = Options {
        inputs,
        limits: Limits::default(),
        at: At::Fixed(datetime!(2026-11-20 10:00 UTC)),
        demo: false,
        fingerprint_key: None,
        through: Through::Rules,
        workload_namespaces_exclude: Vec::new(),
    };
    analyze::run_at(&opts, datetime!(2026-11-20 10:00 UTC)).expect("analysis")
}

fn cert008(a: &analyze::Analysis, model: &harrow::model::Model) -> (CoverageStatus, usize) {
    let judged = analyze::judge(
        &a.snapshot,
        model,
        a.judge_at(),
        &a.renew_window_source,
        None,
    );
    let row = judged
        .judgement
        .coverage
        .iter()
        .find(|c| c.rule == "CERT008")
        .expect("CERT008 row")
        .clone();
    let n = judged
        .judgement
        .findings
        .iter()
        .filter(|f| f.rule == "CERT008")
        .count();
    (row.status, n)
}

/// The agent of the fixture: the node that holds an agent copy and no server CA.
fn agent(a: &analyze::Analysis) -> String {
    a.model
        .digests
        .keys()
        .find(|(_, h)| h == AGENT_COPY)
        .map(|(n, _)| n.clone())
        .filter(|n| {
            !a.model
                .digests
                .contains_key(&(n.clone(), SERVER_CA.to_string()))
        })
        .expect("an agent with a server-ca.crt copy")
}

#[test]
fn judging_the_first_model_again_gives_what_analyze_gave() {
    let a = stale_agent_ca();
    let judged = analyze::judge(
        &a.snapshot,
        &a.model,
        a.judge_at(),
        &a.renew_window_source,
        None,
    );
    assert_eq!(judged.judgement.findings, a.findings);
    assert_eq!(judged.judgement.coverage, a.coverage);
}

#[test]
fn copying_the_servers_bundle_to_the_agent_clears_the_stale_copy() {
    let a = stale_agent_ca();
    let (status, n) = cert008(&a, &a.model);
    assert_eq!(status, CoverageStatus::Fail);
    assert!(n >= 1);
    let agent = agent(&a);
    let server = a.snapshot.servers().first().expect("a server").to_string();
    let next = apply(
        &a.model,
        &Effect::CopyFile {
            from: NodeFile::new(&server, SERVER_CA),
            to: NodeFile::new(&agent, AGENT_COPY),
        },
    );
    let (status, n) = cert008(&a, &next);
    assert_eq!(status, CoverageStatus::Pass, "{n} finding(s) left");
    // The first model is untouched: a simulator keeps every state.
    assert_eq!(cert008(&a, &a.model).0, CoverageStatus::Fail);
    // The copy is the server's bytes: same digest.
    let d = |m: &harrow::model::Model, node: &str, host: &str| {
        m.digests
            .get(&(node.to_string(), host.to_string()))
            .map(|d| d.sha256.clone())
    };
    assert_eq!(
        d(&next, &agent, AGENT_COPY),
        d(&a.model, &server, SERVER_CA)
    );
}

#[test]
fn removing_every_agent_copy_leaves_nothing_to_compare() {
    let a = stale_agent_ca();
    let copies: Vec<(String, String)> = a
        .model
        .digests
        .keys()
        .filter(|(_, h)| h.contains("/agent/"))
        .cloned()
        .collect();
    assert!(!copies.is_empty());
    let mut m = a.model.clone();
    for (node, host) in copies {
        m = apply(&m, &Effect::RemoveFile(NodeFile::new(node, host)));
    }
    assert!(m.digests.keys().all(|(_, h)| !h.contains("/agent/")));
    // The snapshot still lists the agent files by name, so CERT008 still runs: it now finds no
    // stale copy among the files left.
    let (status, n) = cert008(&a, &m);
    assert_eq!(n, 0);
    assert_ne!(status, CoverageStatus::Fail);
}
