//! End-to-end tests of the `harrow` binary: exit codes, reference time, the JSON contract, the
//! demo golden files, and the real support bundle from `../shared/corpus`.

mod support;

use support::{Test, assert_valid, corpus_bundle, root, shared_schema};

#[test]
fn bad_reference_time_is_a_usage_error() {
    Test::new()
        .args(["analyze", "--at", "tomorrow"])
        .run()
        .code(2)
        .stderr_has("--at \"tomorrow\"");
}

#[test]
fn unknown_subcommand_is_a_usage_error() {
    Test::new().arg("frobnicate").run().code(2);
}

#[test]
fn every_input_unreadable_exits_2_and_names_the_input() {
    let dir = tempfile::tempdir().expect("tempdir");
    let junk = dir.path().join("junk.zip");
    std::fs::write(&junk, b"this is not an archive").expect("write");
    let missing = dir.path().join("missing.tgz");
    let run = Test::new()
        .arg("analyze")
        .path(&junk)
        .path(&missing)
        .args(["-o", "json", "--at", "2026-11-20T00:00:00Z"])
        .run()
        .code(2);
    let doc = run.json();
    let inputs = doc["inputs"].as_array().expect("inputs");
    assert_eq!(inputs.len(), 2);
    for i in inputs {
        assert_eq!(i["kind"], "unreadable", "{i}");
        assert!(i["error"].as_str().is_some_and(|e| !e.is_empty()), "{i}");
    }
}

#[test]
fn json_output_is_valid_against_both_schemas() {
    let dir = tempfile::tempdir().expect("tempdir");
    let junk = dir.path().join("junk.tgz");
    std::fs::write(&junk, b"\x1f\x8bnot really gzip").expect("write");
    let run = Test::new()
        .arg("analyze")
        .path(&junk)
        .args(["-o", "json", "--at", "2026-11-20T00:00:00Z"])
        .run();
    let doc = run.json();
    assert_valid(&doc, &root().join("docs/analyze.schema.json"));
    if let Some(s) = shared_schema() {
        assert_valid(&doc, &s);
    }
}

#[test]
fn out_file_receives_the_report() {
    let dir = tempfile::tempdir().expect("tempdir");
    let junk = dir.path().join("junk.zip");
    std::fs::write(&junk, b"PK\x03\x04broken").expect("write");
    let out = dir.path().join("report.json");
    let run = Test::new()
        .arg("analyze")
        .path(&junk)
        .args(["-o", "json", "--at", "2026-11-20T00:00:00Z", "--out"])
        .path(&out)
        .run();
    assert!(run.stdout.is_empty(), "stdout should be empty with --out");
    let text = std::fs::read_to_string(&out).expect("report written");
    let doc: serde_json::Value = serde_json::from_str(&text).expect("json");
    assert_eq!(doc["schema_version"], 1);
    assert_eq!(doc["reference_time"], "2026-11-20T00:00:00Z");
}

#[test]
fn corpus_bundle_loads_node_roles_version_and_collection_time() {
    let Some(bundle) = corpus_bundle() else {
        return;
    };
    let run = Test::new()
        .arg("analyze")
        .path(&bundle)
        .args(["-o", "json", "--at", "collected", "--fail-on", "none"])
        .run()
        .code(0);
    let doc = run.json();
    assert_eq!(doc["inputs"][0]["kind"], "harvester-support-bundle");
    assert_eq!(doc["inputs"][0]["collected_at"], "2022-03-22T23:49:32Z");
    assert_eq!(doc["reference_time"], "2022-03-22T23:49:32Z");
    assert_eq!(doc["cluster"]["kubernetes_version"], "v1.21.7+rke2r1");
    let nodes = doc["nodes"].as_array().expect("nodes");
    assert_eq!(nodes.len(), 1, "{nodes:?}");
    assert_eq!(nodes[0]["name"], "node1");
    let roles: Vec<&str> = nodes[0]["roles"]
        .as_array()
        .expect("roles")
        .iter()
        .filter_map(|r| r.as_str())
        .collect();
    for want in ["control-plane", "etcd", "master", "server"] {
        assert!(roles.contains(&want), "{want} missing from {roles:?}");
    }
    assert!(
        nodes[0]["addresses"]
            .as_array()
            .is_some_and(|a| a.iter().any(|x| x == "172.16.132.182")),
        "{}",
        nodes[0]
    );
    assert_valid(&doc, &root().join("docs/analyze.schema.json"));
    if let Some(s) = shared_schema() {
        assert_valid(&doc, &s);
    }
}
