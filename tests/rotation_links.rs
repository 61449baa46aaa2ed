//! The rotation floor's trust state and trust links on the fixtures: every link holds on the
//! healthy fixture and the demo (or is unknown with a reason where a node's files are missing);
//! the fault variants break the links they should, naming the node; an effect that repairs the
//! fault makes the link hold again; quorum breaks when most etcd members stop.

// clippy.toml lets #[test] functions unwrap, panic and print; this lets their helpers too.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stderr
)]

mod support;

use harrow::analyze;
use harrow::model::effect::{Effect, NodeFile, apply};
use harrow::pki::parse_certs;
use harrow::rotation::state::NodeRole;
use harrow::rotation::verify::{Outcome, verify_chain};
use harrow::rotation::{self, Link, LinkKind, LinkState};
use harrow_fixtures::pki::{LeafSpec, cross_sign, leaf, self_signed_ca};
use time::OffsetDateTime;
use time::macros::datetime;

const AT: OffsetDateTime = datetime!(2026-11-20 10:00 UTC);

fn analysis(dir: &str) -> analyze::Analysis {
    support::analysis_of(&support::inputs_in(dir), AT)
}

fn links_of(dir: &str) -> (rotation::TrustState, Vec<Link>) {
    let a = analysis(dir);
    let st = rotation::build(&a.snapshot, &a.model);
    let links = rotation::check(&st, AT);
    (st, links)
}

fn kinds(links: &[Link]) -> Vec<LinkKind> {
    let mut k: Vec<LinkKind> = links.iter().map(|l| l.kind).collect();
    k.dedup();
    k
}

const EVERY_KIND: [LinkKind; 8] = [
    LinkKind::KubeletToApiserver,
    LinkKind::ApiserverToKubelet,
    LinkKind::SupervisorJoin,
    LinkKind::EtcdPeer,
    LinkKind::EtcdClient,
    LinkKind::RequestHeader,
    LinkKind::ServiceAccount,
    LinkKind::EtcdQuorum,
];

fn show(links: &[Link]) -> String {
    links
        .iter()
        .map(|l| {
            format!(
                "{:?} {} -> {} {:?}: {}",
                l.kind, l.from, l.to, l.state, l.why
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn role_of(st: &rotation::TrustState, role: NodeRole) -> Vec<String> {
    st.nodes
        .values()
        .filter(|n| n.role == Some(role))
        .map(|n| n.name.clone())
        .collect()
}

#[test]
fn every_link_of_the_healthy_fixture_holds() {
    let (st, links) = links_of("bundles/fixtures/healthy");
    assert_eq!(kinds(&links), EVERY_KIND);
    let not: Vec<Link> = links.iter().filter(|l| !l.holds()).cloned().collect();
    assert!(not.is_empty(), "{}", show(&not));
    // Two servers, one agent: roles, etcd membership and what they present.
    assert_eq!(role_of(&st, NodeRole::Server).len(), 2);
    assert_eq!(role_of(&st, NodeRole::Agent).len(), 1);
    assert_eq!(st.etcd_members().count(), 2);
    for n in st.nodes.values() {
        assert!(n.running && n.files);
        assert!(
            n.trusts.len() >= 2,
            "{} trusts {:?}",
            n.name,
            n.trusts.keys()
        );
        assert!(
            n.presents.len() >= 2,
            "{} presents {:?}",
            n.name,
            n.presents.keys()
        );
        if n.is_server() {
            assert!(n.served_hash.is_some() && n.service_keys.is_some());
        }
    }
    // A holding link says what verified it.
    let k = links
        .iter()
        .find(|l| l.kind == LinkKind::KubeletToApiserver)
        .unwrap();
    assert!(k.why.contains("verifies to rke2-server-ca"), "{}", k.why);
}

#[test]
fn the_demo_holds_or_says_why_not() {
    let (st, links) = links_of("bundles/demo");
    assert_eq!(kinds(&links), EVERY_KIND);
    let broken: Vec<Link> = links
        .iter()
        .filter(|l| l.state == LinkState::Breaks)
        .cloned()
        .collect();
    assert!(broken.is_empty(), "{}", show(&broken));
    // Every node's token is readable: the node snapshots' copies are read before the bundle's
    // masked ones, so no link is left unknown.
    let unknown: Vec<Link> = links
        .iter()
        .filter(|l| l.state == LinkState::Unknown)
        .cloned()
        .collect();
    assert!(unknown.is_empty(), "{}", show(&unknown));
    // Every kind holds somewhere.
    for k in EVERY_KIND {
        assert!(links.iter().any(|l| l.kind == k && l.holds()), "{k:?}");
    }
    assert_eq!(st.etcd_members().count(), 3);
}

#[test]
fn a_witness_is_an_etcd_member_without_an_apiserver() {
    let (st, links) = links_of("bundles/witness");
    let witnesses = role_of(&st, NodeRole::Witness);
    assert_eq!(witnesses.len(), 1);
    let w = &st.nodes[&witnesses[0]];
    assert!(w.etcd && !w.apiserver && w.is_server());
    assert!(
        links
            .iter()
            .any(|l| l.kind == LinkKind::EtcdPeer && l.to == w.name && l.holds())
    );
    assert!(
        !links
            .iter()
            .any(|l| l.kind == LinkKind::KubeletToApiserver && l.to == w.name)
    );
    assert!(
        links.iter().all(|l| l.state != LinkState::Breaks),
        "{}",
        show(&links)
    );
    let q = links
        .iter()
        .find(|l| l.kind == LinkKind::EtcdQuorum)
        .unwrap();
    assert!(q.holds() && q.why.starts_with("3 of 3"), "{}", q.why);
}

#[test]
fn a_stale_agent_ca_breaks_the_agents_links_to_every_server() {
    let (st, links) = links_of("bundles/fixtures/stale-agent-ca");
    let agents = role_of(&st, NodeRole::Agent);
    assert_eq!(agents.len(), 1);
    let agent = &agents[0];
    let servers = role_of(&st, NodeRole::Server);
    for kind in [LinkKind::KubeletToApiserver, LinkKind::SupervisorJoin] {
        for s in &servers {
            let l = links
                .iter()
                .find(|l| l.kind == kind && &l.from == agent && &l.to == s)
                .unwrap();
            assert_eq!(l.state, LinkState::Breaks, "{}", l.why);
            assert!(l.why.contains(agent.as_str()), "{}", l.why);
            assert!(l.why.contains("agent/server-ca.crt"), "{}", l.why);
        }
    }
    // Nothing else breaks.
    let other: Vec<Link> = links
        .iter()
        .filter(|l| !l.holds() && &l.from != agent)
        .cloned()
        .collect();
    assert!(other.is_empty(), "{}", show(&other));
}

#[test]
fn copying_the_servers_ca_over_the_stale_copy_restores_the_kubelet_link() {
    let a = analysis("bundles/fixtures/stale-agent-ca");
    let st = rotation::build(&a.snapshot, &a.model);
    let agent = role_of(&st, NodeRole::Agent).remove(0);
    let server = role_of(&st, NodeRole::Server).remove(0);
    let next = apply(
        &a.model,
        &Effect::CopyFile {
            from: NodeFile::new(&server, "var/lib/rancher/rke2/server/tls/server-ca.crt"),
            to: NodeFile::new(&agent, "var/lib/rancher/rke2/agent/server-ca.crt"),
        },
    );
    let links = rotation::check(&rotation::build(&a.snapshot, &next), AT);
    for l in links.iter().filter(|l| l.from == agent) {
        match l.kind {
            // The agent's token still pins the old CA's hash: only that part is left.
            LinkKind::SupervisorJoin => {
                assert_eq!(l.state, LinkState::Breaks);
                assert!(l.why.contains("pins CA hash"), "{}", l.why);
                assert!(!l.why.contains("agent/server-ca.crt"), "{}", l.why);
            }
            _ => assert!(l.holds(), "{}", show(std::slice::from_ref(l))),
        }
    }
    // The first state is untouched.
    let before = rotation::check(&st, AT);
    assert!(
        before
            .iter()
            .any(|l| l.kind == LinkKind::KubeletToApiserver && l.from == agent && !l.holds())
    );
}

#[test]
fn a_token_pinning_the_wrong_hash_breaks_that_nodes_join() {
    let (st, links) = links_of("bundles/fixtures/token-wrong-hash");
    let served: Vec<&String> = st
        .nodes
        .values()
        .filter_map(|n| n.served_hash.as_ref())
        .collect();
    let wrong: Vec<&str> = st
        .nodes
        .values()
        .filter(|n| {
            n.token
                .as_ref()
                .and_then(|t| t.ca_hash.as_ref())
                .is_some_and(|h| !served.contains(&h))
        })
        .map(|n| n.name.as_str())
        .collect();
    assert_eq!(wrong.len(), 1, "one node pins a wrong hash");
    for l in links.iter().filter(|l| l.kind == LinkKind::SupervisorJoin) {
        if l.from == wrong[0] {
            assert_eq!(l.state, LinkState::Breaks);
            assert!(l.why.contains("pins CA hash") && l.why.contains(wrong[0]));
        } else {
            assert!(l.holds(), "{}", l.why);
        }
    }
    assert!(
        links
            .iter()
            .filter(|l| l.kind != LinkKind::SupervisorJoin)
            .all(Link::holds)
    );
}

#[test]
fn servers_with_different_cas_break_the_links_between_them() {
    let (st, links) = links_of("bundles/fixtures/ca-differs");
    let servers = role_of(&st, NodeRole::Server);
    let broken: Vec<&Link> = links
        .iter()
        .filter(|l| l.state == LinkState::Breaks)
        .collect();
    assert!(!broken.is_empty());
    assert!(
        broken
            .iter()
            .any(|l| l.from != l.to && servers.contains(&l.from) && servers.contains(&l.to)),
        "{}",
        show(&links)
    );
    // Every break involves a server whose CA is not the others'.
    for l in &broken {
        assert!(servers.contains(&l.from) || servers.contains(&l.to));
        assert!(l.why.contains("no chain"), "{}", l.why);
    }
}

#[test]
fn quorum_breaks_when_most_etcd_members_stop() {
    let a = analysis("bundles/demo");
    let mut st = rotation::build(&a.snapshot, &a.model);
    let members: Vec<String> = st.etcd_members().map(|m| m.name.clone()).collect();
    assert_eq!(members.len(), 3);
    let quorum = |st: &rotation::TrustState| {
        rotation::check(st, AT)
            .into_iter()
            .find(|l| l.kind == LinkKind::EtcdQuorum)
            .unwrap()
    };
    assert!(quorum(&st).holds());
    st.nodes.get_mut(&members[0]).unwrap().running = false;
    let q = quorum(&st);
    assert!(q.holds(), "{}", q.why);
    st.nodes.get_mut(&members[1]).unwrap().running = false;
    let q = quorum(&st);
    assert_eq!(q.state, LinkState::Breaks);
    assert!(q.why.starts_with("1 of 3"), "{}", q.why);
    assert!(q.why.contains(&members[0]) && q.why.contains(&members[1]));
}

#[test]
fn the_served_hash_is_the_models_for_every_fixture() {
    for d in [
        "bundles/fixtures/healthy",
        "bundles/fixtures/custom-ca",
        "bundles/fixtures/rotate-ca-staged",
        "bundles/fixtures/post-rotate",
        "bundles/demo",
    ] {
        let a = analysis(d);
        let st = rotation::build(&a.snapshot, &a.model);
        assert!(!a.model.served.is_empty(), "{d}");
        for s in &a.model.served {
            assert_eq!(
                st.nodes[&s.node].served_hash.as_deref(),
                Some(s.hash.hex.as_str()),
                "{d} {}",
                s.node
            );
        }
    }
}

#[test]
fn staged_files_are_part_of_the_state() {
    let (st, _) = links_of("bundles/fixtures/rotate-ca-staged");
    let staged: Vec<&String> = st.nodes.values().flat_map(|n| n.staged.keys()).collect();
    assert!(!staged.is_empty());
    assert!(
        staged
            .iter()
            .all(|h| h.starts_with("opt/rke2/server/") || h.contains("/server/rotate-ca/")),
        "{staged:?}"
    );
}

#[test]
fn custom_ca_chains_verify_through_their_intermediates() {
    let (_, links) = links_of("bundles/fixtures/custom-ca");
    let not: Vec<Link> = links.iter().filter(|l| !l.holds()).cloned().collect();
    assert!(not.is_empty(), "{}", show(&not));
}

#[test]
fn without_node_files_no_tls_link_holds() {
    // The support bundle alone: node configs, but no certificate of any node.
    let bundle = support::inputs_in("bundles/demo")
        .into_iter()
        .filter(|p| p.ends_with(".zip"))
        .collect::<Vec<_>>();
    assert_eq!(bundle.len(), 1);
    let a = support::analysis_of(&bundle, AT);
    let st = rotation::build(&a.snapshot, &a.model);
    let links = rotation::check(&st, AT);
    assert!(!links.is_empty());
    for l in links.iter().filter(|l| l.kind != LinkKind::EtcdQuorum) {
        assert_eq!(
            l.state,
            LinkState::Unknown,
            "{}",
            show(std::slice::from_ref(l))
        );
        assert!(!l.why.is_empty());
    }
}

#[test]
fn token_passwords_never_show() {
    for d in [
        "bundles/fixtures/healthy",
        "bundles/fixtures/token-wrong-hash",
    ] {
        let a = analysis(d);
        let st = rotation::build(&a.snapshot, &a.model);
        let text = format!("{st:?}\n{}", show(&rotation::check(&st, AT)));
        let mut checked = 0;
        for t in a.model.tokens.values().flatten() {
            let pw = t.found.token.password.expose();
            if pw.len() >= 8 {
                assert!(!text.contains(pw), "{d}: a token password shows");
                checked += 1;
            }
        }
        assert!(checked > 0);
    }
}

// Chain verification on generated certificates.

/// An apiserver serving certificate signed by `ca`, issued at `NOW` for a year.
fn serving(ca: &harrow_fixtures::pki::Ca) -> harrow_fixtures::pki::Leaf {
    leaf(
        &LeafSpec::server("kube-apiserver", vec![]),
        ca,
        NOW,
        365,
        None,
    )
}

const NOW: i64 = 1_790_000_000;

fn certs(pem: &str) -> Vec<harrow::pki::Cert> {
    parse_certs(pem.as_bytes()).unwrap()
}

fn at(unix: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(unix).unwrap()
}

#[test]
fn a_leaf_verifies_to_its_ca_and_not_to_another() {
    let ca = self_signed_ca("rke2-server-ca@1", NOW - 86_400);
    let other = self_signed_ca("rke2-server-ca@1", NOW - 86_400);
    let l = serving(&ca);
    let presented = certs(&l.crt_file);
    let p: Vec<_> = presented.iter().collect();
    let good = certs(&ca.pem());
    assert!(matches!(
        verify_chain(&p, &good.iter().collect::<Vec<_>>(), at(NOW)),
        Outcome::Verified(ref c) if c.len() == 2
    ));
    // Same name, other key: the signature does not verify.
    let bad = certs(&other.pem());
    match verify_chain(&p, &bad.iter().collect::<Vec<_>>(), at(NOW)) {
        Outcome::Fails(why) => assert!(why.contains("does not verify"), "{why}"),
        o => panic!("{o:?}"),
    }
    // Expired at the instant judged.
    match verify_chain(&p, &good.iter().collect::<Vec<_>>(), at(NOW + 400 * 86_400)) {
        Outcome::Fails(why) => assert!(why.contains("not valid at"), "{why}"),
        o => panic!("{o:?}"),
    }
    // Nothing trusted, nothing presented.
    assert!(matches!(verify_chain(&p, &[], at(NOW)), Outcome::Fails(_)));
    assert!(matches!(
        verify_chain(&[], &good.iter().collect::<Vec<_>>(), at(NOW)),
        Outcome::Fails(_)
    ));
}

#[test]
fn cross_signed_chains_verify_from_either_root() {
    let old = self_signed_ca("rke2-server-ca@1", NOW - 86_400);
    let new = self_signed_ca("rke2-server-ca@2", NOW - 3_600);
    let cross = cross_sign(&new, &old);
    let l = serving(&new);
    let leaf_only = certs(&l.cert.pem());
    // The leaf presented with the new root cross-signed by the old one.
    let with_cross = certs(&format!("{}{}", l.cert.pem(), cross.pem()));
    let old_bundle = certs(&old.pem());
    let new_bundle = certs(&new.pem());
    let both = certs(&format!("{}{}", new.pem(), old.pem()));
    let v = |p: &[harrow::pki::Cert], b: &[harrow::pki::Cert]| {
        verify_chain(
            &p.iter().collect::<Vec<_>>(),
            &b.iter().collect::<Vec<_>>(),
            at(NOW),
        )
    };
    // A node that still trusts only the old root verifies through the cross-signed cert.
    assert!(matches!(v(&with_cross, &old_bundle), Outcome::Verified(ref c) if c.len() == 3));
    assert!(matches!(v(&leaf_only, &old_bundle), Outcome::Fails(_)));
    // A node that trusts the new root verifies either way.
    assert!(matches!(v(&leaf_only, &new_bundle), Outcome::Verified(_)));
    assert!(matches!(v(&with_cross, &new_bundle), Outcome::Verified(_)));
    // A bundle with several roots verifies when any chain does.
    assert!(matches!(v(&leaf_only, &both), Outcome::Verified(_)));
    // A leaf of the old root verifies against the combined bundle too.
    let old_leaf = serving(&old);
    assert!(matches!(
        v(&certs(&old_leaf.cert.pem()), &both),
        Outcome::Verified(_)
    ));
    assert!(matches!(
        v(&certs(&old_leaf.cert.pem()), &new_bundle),
        Outcome::Fails(_)
    ));
}

#[test]
fn the_real_bundle_never_holds_without_evidence() {
    let Some(bundle) = support::corpus_bundle() else {
        return;
    };
    let a = support::analysis_of(&[bundle.to_string_lossy().into_owned()], AT);
    let st = rotation::build(&a.snapshot, &a.model);
    let links = rotation::check(&st, AT);
    assert!(!links.is_empty());
    // A support bundle holds no node certificate: every TLS and key link is unknown, naming
    // what is missing; only quorum is judged (membership from the Node objects, services
    // taken as running, which the assumptions say).
    for l in &links {
        if l.kind == LinkKind::EtcdQuorum {
            assert!(l.holds(), "{}", l.why);
        } else {
            assert_eq!(
                l.state,
                LinkState::Unknown,
                "{}",
                show(std::slice::from_ref(l))
            );
            assert!(l.why.contains("no "), "{}", l.why);
        }
    }
    assert!(
        st.assumptions
            .iter()
            .any(|a| a.text.contains("taken as running"))
    );
}
