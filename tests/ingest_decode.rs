//! Certificate files parsed while the ingest reads them (`src/ingest/decode.rs`): the analysis
//! is the same, byte for byte, as when every file is kept and parsed afterwards
//! (`HARROW_DECODE_AT_INGEST=0`), on the demo, the witness cluster, every fault fixture (tar,
//! tar.gz, tar.xz and directory inputs among them) and the real corpus bundle; the decoding does
//! happen (the leaf files' bytes are not kept; the files other readers need, CA files and custom
//! CA material, keep theirs); and a file
//! that does not parse is reported the same way, naming it.

// clippy.toml lets #[test] functions unwrap, panic and print; this lets their helpers too.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stderr
)]

mod support;

use harrow::ingest::{Budget, Limits, read_input};
use harrow::snapshot::AnalysisSelector;
use support::{Test, inputs_in, root};

const AT: &str = "2026-11-20T10:00:00Z";

/// `harrow <cmd> <inputs> -o json` with decoding on and off: (stdout, stderr) of each.
fn both_ways(cmd: &str, inputs: &[String]) -> [(String, String); 2] {
    ["1", "0"].map(|on| {
        let mut t = Test::new()
            .arg(cmd)
            .args(inputs)
            .args(["-o", "json", "--at", AT]);
        if cmd == "analyze" {
            t = t.args(["--fail-on", "none"]);
        }
        let r = t.env("HARROW_DECODE_AT_INGEST", on).run().code(0);
        (r.stdout, r.stderr)
    })
}

fn assert_same(what: &str, inputs: &[String]) {
    for cmd in ["analyze", "graph"] {
        let [on, off] = both_ways(cmd, inputs);
        assert!(
            on.0 == off.0,
            "{cmd} {what}: output differs when certificates are parsed while reading"
        );
        assert_eq!(on.1, off.1, "{cmd} {what}: warnings differ");
        assert!(on.0.len() > 1000, "{cmd} {what}: no output");
    }
}

#[test]
fn parsing_while_reading_changes_no_output_on_any_fixture() {
    let mut sets = vec![
        ("demo".to_string(), inputs_in("bundles/demo")),
        ("witness".to_string(), inputs_in("bundles/witness")),
    ];
    let mut variants: Vec<String> = std::fs::read_dir(root().join("bundles/fixtures"))
        .unwrap()
        .flatten()
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    variants.sort();
    assert!(variants.len() >= 10, "{variants:?}");
    for v in variants {
        sets.push((v.clone(), inputs_in(&format!("bundles/fixtures/{v}"))));
    }
    if let Some(corpus) = support::corpus_bundle() {
        sets.push(("corpus".into(), vec![corpus.display().to_string()]));
    }
    for (what, inputs) in &sets {
        assert_same(what, inputs);
    }
}

#[test]
fn leaf_certificate_files_are_kept_parsed_and_the_files_read_as_bytes_keep_their_bytes() {
    let tree = read_input(
        &root().join("bundles/fixtures/healthy/s1.tgz"),
        &Limits::default(),
        &AnalysisSelector::default(),
        &Budget::new(),
    );
    let file = |host: &str| {
        tree.files
            .iter()
            .find(|(p, _)| p.ends_with(host))
            .map(|(_, f)| f)
            .unwrap_or_else(|| panic!("{host} not loaded: {:?}", tree.files.keys()))
    };
    // A leaf: parsed as read, bytes not kept (they were charged all the same).
    let leaf = file("server/tls/serving-kube-apiserver.crt");
    assert!(leaf.data.is_empty());
    let parsed = leaf.decoded.as_ref().expect("decoded");
    let harrow::pki::FileCerts(certs) = parsed
        .value
        .downcast_ref::<harrow::pki::FileCerts>()
        .expect("certificates");
    assert_eq!(
        certs.as_ref().map(|c| c.len()).unwrap(),
        2,
        "leaf and its CA"
    );
    // Read as bytes elsewhere (digests, CA hash, node name): kept, not decoded.
    for host in [
        "server/tls/server-ca.crt",
        "server/tls/client-ca.crt",
        "agent/server-ca.crt",
        "agent/serving-kubelet.crt",
        "server/tls/service.key",
        "server/tls/dynamic-cert.json",
    ] {
        let f = file(host);
        assert!(!f.data.is_empty() && f.decoded.is_none(), "{host}");
    }
    assert!(tree.loaded_bytes > tree.files.values().map(|f| f.data.len() as u64).sum());
}

#[test]
fn custom_ca_files_are_parsed_and_keep_their_bytes_for_plan_ca() {
    let tree = read_input(
        &root().join("bundles/fixtures/custom-ca/s1.tgz"),
        &Limits::default(),
        &AnalysisSelector::default(),
        &Budget::new(),
    );
    for host in [
        "server/tls/intermediate-ca.crt",
        "server/tls/root-ca.pem",
        "server/tls/server-ca.nochain.crt",
    ] {
        let (_, f) = tree
            .files
            .iter()
            .find(|(p, _)| p.ends_with(host))
            .unwrap_or_else(|| panic!("{host} not loaded"));
        assert!(f.decoded.is_some(), "{host}: parsed as read");
        assert!(
            String::from_utf8_lossy(&f.data).starts_with("-----BEGIN CERTIFICATE-----"),
            "{host}: bytes kept"
        );
    }
}

#[test]
fn a_certificate_file_that_does_not_parse_is_named_the_same_way_both_ways() {
    let dir = tempfile::tempdir().unwrap();
    let tls = dir.path().join("n1/var/lib/rancher/rke2/server/tls");
    std::fs::create_dir_all(&tls).unwrap();
    std::fs::write(
        tls.join("broken.crt"),
        "-----BEGIN CERTIFICATE-----\nnot base64 at all!\n-----END CERTIFICATE-----\n",
    )
    .unwrap();
    let input = vec![dir.path().join("n1").display().to_string()];
    let [on, off] = ["1", "0"].map(|v| {
        Test::new()
            .args(["certs"])
            .args(&input)
            .args(["--at", AT])
            .env("HARROW_DECODE_AT_INGEST", v)
            .run()
    });
    assert_eq!(on.code, off.code);
    assert_eq!(on.stdout, off.stdout);
    assert_eq!(on.stderr, off.stderr);
    assert!(
        on.stderr.contains("broken.crt") && on.stderr.contains("malformed PEM"),
        "{}",
        on.stderr
    );
}
