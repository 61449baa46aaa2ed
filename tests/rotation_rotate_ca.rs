//! `rotate-ca`'s integrity checks on staged CA material, offline: the staged self-signed
//! rotation of `bundles/fixtures/rotate-ca-staged` (new roots cross-signed by the old ones)
//! passes them without `--force`; a single-certificate bundle, a CA that does not chain to the
//! old roots, a certificate without its key and a service-account key list that drops the old
//! signing key are each refused with RKE2's reason.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stderr
)]

mod support;

use harrow::rotation::rotate_ca::{CaCheck, CheckKind, checks};
use harrow::rotation::{self, TrustState};
use time::OffsetDateTime;
use time::macros::datetime;

const AT: OffsetDateTime = datetime!(2026-11-20 10:00 UTC);
const STAGE: &str = "var/lib/rancher/rke2/server/rotate-ca";
const SERVER_CA: &str = "var/lib/rancher/rke2/server/rotate-ca/tls/server-ca.crt";
const CLIENT_CA: &str = "var/lib/rancher/rke2/server/rotate-ca/tls/client-ca.crt";
const SERVICE_KEY: &str = "var/lib/rancher/rke2/server/rotate-ca/tls/service.key";

fn staged() -> (harrow::analyze::Analysis, TrustState) {
    let a = support::analysis_of(&support::inputs_in("bundles/fixtures/rotate-ca-staged"), AT);
    let st = rotation::build(&a.snapshot, &a.model);
    (a, st)
}

fn failed(cs: &[CaCheck]) -> Vec<&CaCheck> {
    cs.iter().filter(|c| c.result.is_err()).collect()
}

fn of<'a>(cs: &'a [CaCheck], staged: &str, kind: CheckKind) -> &'a CaCheck {
    cs.iter()
        .find(|c| c.staged == staged && c.kind == kind)
        .unwrap_or_else(|| panic!("no {kind:?} check of {staged}: {cs:?}"))
}

#[test]
fn the_staged_cross_signed_rotation_passes_without_force() {
    let (a, st) = staged();
    let s1 = &st.nodes["s1"];
    let cs = checks(&a.model, s1, STAGE, AT);
    // Every cluster CA is staged: size, chain and key pair are checked for each.
    for kind in [CheckKind::BundleSize, CheckKind::Chain, CheckKind::KeyPair] {
        assert_eq!(
            cs.iter().filter(|c| c.kind == kind).count(),
            5,
            "{kind:?}: {cs:?}"
        );
    }
    assert!(failed(&cs).is_empty(), "{:?}", failed(&cs));
}

#[test]
fn a_single_certificate_bundle_is_refused() {
    let (a, mut st) = staged();
    let s1 = st.nodes.get_mut("s1").unwrap();
    let file = s1.staged.get_mut(SERVER_CA).unwrap();
    file.certs.truncate(1);
    let cs = checks(&a.model, s1, STAGE, AT);
    let size = of(&cs, SERVER_CA, CheckKind::BundleSize);
    assert!(
        size.result
            .as_ref()
            .unwrap_err()
            .contains("contains only a single certificate"),
        "{size:?}"
    );
}

#[test]
fn a_ca_that_does_not_chain_to_the_old_roots_is_refused() {
    let (a, mut st) = staged();
    let s1 = st.nodes.get_mut("s1").unwrap();
    // Stage the client CA's new bundle as the server CA: it chains to the client root only.
    let client = s1.staged[CLIENT_CA].certs.clone();
    s1.staged.get_mut(SERVER_CA).unwrap().certs = client;
    let cs = checks(&a.model, s1, STAGE, AT);
    let chain = of(&cs, SERVER_CA, CheckKind::Chain);
    assert!(
        chain
            .result
            .as_ref()
            .unwrap_err()
            .contains("cannot be verified using old CA chain"),
        "{chain:?}"
    );
    // And its key is the server CA's staged key, which does not pair with it.
    assert!(of(&cs, SERVER_CA, CheckKind::KeyPair).result.is_err());
    // The client CA itself still passes.
    assert!(of(&cs, CLIENT_CA, CheckKind::Chain).result.is_ok());
}

#[test]
fn a_new_key_list_without_the_old_signing_key_is_refused() {
    let (a, mut st) = staged();
    let s1 = st.nodes.get_mut("s1").unwrap();
    let current = s1.service_keys.as_ref().unwrap().verify[0].clone();
    s1.staged_keys
        .insert(SERVICE_KEY.into(), vec!["0".repeat(64), current]);
    let keep = checks(&a.model, s1, STAGE, AT);
    assert!(of(&keep, SERVICE_KEY, CheckKind::ServiceKey).result.is_ok());
    s1.staged_keys
        .insert(SERVICE_KEY.into(), vec!["0".repeat(64)]);
    let drop = checks(&a.model, s1, STAGE, AT);
    assert_eq!(
        of(&drop, SERVICE_KEY, CheckKind::ServiceKey).result,
        Err("old ServiceAccount signing key not in new ServiceAccount key list".into())
    );
}

#[test]
fn a_stage_that_changes_nothing_makes_no_check() {
    let (a, st) = staged();
    // s2 has no staged material.
    assert!(checks(&a.model, &st.nodes["s2"], STAGE, AT).is_empty());
}
