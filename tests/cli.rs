//! End-to-end tests of the `harrow` binary: exit codes, reference time, the JSON contract, the
//! demo golden files, and the real support bundle from `../shared/corpus`.

// clippy.toml lets #[test] functions unwrap, panic and print; this lets their helpers too.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stderr
)]

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
fn at_far_future_offset_is_a_usage_error_not_a_panic() {
    // `now + 99999999 days` overflowed and panicked (exit 3) in every reading command.
    for cmd in ["analyze", "certs", "graph", "timeline"] {
        let run = Test::new()
            .args([cmd, "--at", "+99999999d"])
            .run()
            .code(2)
            .stderr_has(&format!("harrow {cmd}: --at: "))
            .stderr_has(" plus 99999999 days is outside the years -9999 to 9999");
        assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
    }
    Test::new()
        .args(["analyze", "--at=-99999999d"])
        .run()
        .code(2)
        .stderr_has(" minus 99999999 days is outside the years -9999 to 9999");
}

#[test]
fn at_the_last_representable_second_is_judged_without_overflow() {
    let run = Test::new()
        .args(["timeline", "-o", "json", "--at", "9999-12-31T23:59:59Z"])
        .run()
        .code(0);
    let events = run.json();
    let reference = events
        .as_array()
        .and_then(|e| e.iter().find(|e| e["kind"] == "reference-time"));
    assert_eq!(
        reference.map(|e| e["at"].clone()),
        Some("9999-12-31T23:59:59Z".into()),
        "{events}"
    );
    Test::new()
        .args(["analyze", "--at", "9999-12-31T23:59:59Z"])
        .run()
        .code(1)
        .stdout_has("9999-12-31T23:59:59Z");
}

#[test]
fn unwritable_out_file_is_a_usage_error_naming_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("no-such-dir/report.txt");
    Test::new()
        .args(["certs", "--at", AT, "--out"])
        .path(&out)
        .run()
        .code(2)
        .stderr_has(&format!("harrow certs: {}: ", out.display()));
}

#[test]
fn unknown_subcommand_is_a_usage_error() {
    Test::new().arg("frobnicate").run().code(2);
}

#[test]
fn every_input_unreadable_exits_2_and_names_the_input() {
    // Files that exist but hold no archive: the report says why each is unreadable.
    let dir = tempfile::tempdir().expect("tempdir");
    let junk = dir.path().join("junk.zip");
    std::fs::write(&junk, b"this is not an archive").expect("write");
    let empty = dir.path().join("empty.tgz");
    std::fs::write(&empty, b"").expect("write");
    let run = Test::new()
        .arg("analyze")
        .path(&junk)
        .path(&empty)
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

/// Issue 9: a missing input file was reported three times over, as a BUNDLE003 finding with an
/// empty sha256 and a remediation about limits.
#[test]
fn a_missing_input_file_is_a_usage_error_naming_it_once_and_no_report() {
    let dir = tempfile::tempdir().expect("tempdir");
    let missing = dir.path().join("nonexistent.zip");
    for cmd in ["analyze", "certs", "graph", "timeline"] {
        for format in ["text", "json"] {
            let run = Test::new()
                .arg(cmd)
                .path(&missing)
                .args(["--at", AT])
                .args(if format == "json" {
                    &["-o", "json"][..]
                } else {
                    &[]
                })
                .run()
                .code(2);
            assert_eq!(
                run.stderr,
                format!(
                    "harrow {cmd}: {}: no such file or directory\n",
                    missing.display()
                )
            );
            assert_eq!(run.stdout, "", "{cmd} {format}");
        }
    }
    // Among good inputs too (no partial report), and named `NAME=PATH`: the path is named.
    let run = Test::new()
        .args(["analyze", "bundles/demo/n1.tgz"])
        .arg(format!("n2={}", missing.display()))
        .run()
        .code(2);
    assert_eq!(
        run.stderr,
        format!(
            "harrow analyze: {}: no such file or directory\n",
            missing.display()
        )
    );
    assert_eq!(run.stdout, "");
}

/// Issue 9: `harrow analyze "$UNSET"` analyzed the demo.
#[test]
fn an_empty_input_argument_is_a_usage_error_never_the_demo() {
    for cmd in ["analyze", "certs", "graph", "timeline"] {
        for args in [&[""][..], &["bundles/demo/n1.tgz", ""][..], &["  "][..]] {
            let run = Test::new()
                .arg(cmd)
                .args(args)
                .run()
                .code(2)
                .stderr_has(&format!("harrow {cmd}: INPUT "))
                .stderr_has(" is empty");
            assert_eq!(run.stdout, "", "{cmd} {args:?}");
            assert!(!run.stderr.contains("demo input"), "{}", run.stderr);
            assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
        }
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

const AT: &str = "2026-11-20T10:00:00Z";

#[test]
fn demo_without_input_says_so_first_and_uses_its_collection_time() {
    // The healthy demo has no critical or high finding (its bundle's collector masks the
    // secrets v1.7.0's leaves readable): analyze exits 0 at the default --fail-on high.
    let run = Test::new().arg("analyze").run().code(0);
    let first = run.stdout.lines().next().unwrap_or("");
    assert!(first.starts_with("demo:"), "first line: {first}");
    assert!(
        run.stdout
            .contains("reference time 2026-11-20T10:00:00Z (collected)")
    );
}

#[test]
fn demo_analyze_json_golden_and_schema() {
    let run = Test::new()
        .args(["analyze", "-o", "json", "--at", AT])
        .run()
        .code(0)
        .golden("analyze-demo.json");
    let doc = run.json();
    assert_valid(&doc, &root().join("docs/analyze.schema.json"));
    if let Some(s) = shared_schema() {
        assert_valid(&doc, &s);
    }
    let nodes: Vec<&str> = doc["nodes"]
        .as_array()
        .expect("nodes")
        .iter()
        .filter_map(|n| n["name"].as_str())
        .collect();
    assert_eq!(nodes, ["n1", "n2", "n3", "w1", "w2"]);
}

#[test]
fn demo_analyze_text_golden() {
    Test::new()
        .args(["analyze", "--at", AT])
        .run()
        .code(0)
        .golden("analyze-demo.txt");
}

/// Issue 9: the NOT EVALUATED section repeated the same hint once per rule. On a support bundle
/// alone (no node snapshot: most rules lack their input), each hint is on one line, and every rule
/// not judged is named, in a list or a range (`CERT001–CERT006`).
#[test]
fn not_evaluated_groups_rules_that_miss_the_same_input_into_one_line() {
    let bundle = support::inputs_in("bundles/demo")
        .into_iter()
        .find(|p| p.ends_with(".zip"))
        .expect("the demo's support bundle");
    let text = Test::new()
        .args(["analyze", &bundle, "--at", AT])
        .run()
        .stdout;
    let doc = Test::new()
        .args(["analyze", &bundle, "--at", AT, "-o", "json"])
        .run()
        .json();
    let coverage = doc["coverage"].as_array().expect("coverage");
    let not_judged: Vec<&serde_json::Value> = coverage
        .iter()
        .filter(|c| c["status"] == "not-evaluable" || c["status"] == "not-applicable")
        .collect();
    let hints: std::collections::BTreeSet<&str> = not_judged
        .iter()
        .filter_map(|c| c["needs"].as_str())
        .collect();
    assert!(not_judged.len() >= 10, "{not_judged:?}");
    assert!(hints.len() < not_judged.len(), "{hints:?}");

    let section: Vec<&str> = text
        .lines()
        .skip_while(|l| !l.starts_with("NOT EVALUATED"))
        .take_while(|l| !l.is_empty())
        .collect();
    assert_eq!(
        section.first().copied(),
        Some(format!("NOT EVALUATED ({} rules)", not_judged.len()).as_str()),
        "{text}"
    );
    // One line per distinct hint, each hint once.
    let hint_lines: Vec<&&str> = section.iter().filter(|l| l.contains(" → ")).collect();
    assert_eq!(hint_lines.len(), hints.len(), "{section:#?}");
    for h in &hints {
        assert_eq!(
            section.iter().filter(|l| l.contains(h)).count(),
            1,
            "{h}: {section:#?}"
        );
    }
    // Every rule not judged is named on its group's first line.
    let named: std::collections::BTreeSet<String> = section[1..]
        .iter()
        .filter(|l| !l.starts_with("      "))
        .flat_map(|l| codes_of(l))
        .collect();
    for c in &not_judged {
        let code = c["rule"].as_str().expect("rule");
        assert!(named.contains(code), "{code} missing: {section:#?}");
    }
    assert_eq!(named.len(), not_judged.len(), "{named:?}");
}

/// The codes a NOT EVALUATED line names, its ranges (`CERT001–CERT004`) expanded.
fn codes_of(line: &str) -> Vec<String> {
    let list = line.trim_start().split("  ").next().unwrap_or("");
    let mut out = Vec::new();
    for part in list.split(", ") {
        match part.split_once('–') {
            Some((first, last)) => {
                let digits = |c: &str| c.find(|ch: char| ch.is_ascii_digit()).unwrap();
                let (family, from) = first.split_at(digits(first));
                let width = from.len();
                let from: u32 = from.parse().unwrap();
                let to: u32 = last[digits(last)..].parse().unwrap();
                assert!(from < to, "{part}");
                out.extend((from..=to).map(|n| format!("{family}{n:0width$}")));
            }
            None => out.push(part.to_string()),
        }
    }
    out
}

#[test]
fn witness_cluster_has_a_witness_server() {
    // Relative paths: the golden pins paths as given.
    let inputs = support::inputs_in("bundles/witness");
    let run = Test::new()
        .arg("analyze")
        .args(&inputs)
        .args(["-o", "json", "--at", AT, "--fail-on", "critical"])
        .run()
        .code(0)
        .golden("analyze-witness.json");
    let doc = run.json();
    let witness: Vec<&serde_json::Value> = doc["nodes"]
        .as_array()
        .expect("nodes")
        .iter()
        .filter(|n| {
            n["roles"]
                .as_array()
                .is_some_and(|r| r.iter().any(|x| x == "witness"))
        })
        .collect();
    assert_eq!(witness.len(), 1, "{}", doc["nodes"]);
    let roles = witness[0]["roles"].as_array().expect("roles");
    assert!(
        roles.iter().any(|r| r == "server"),
        "a witness runs rke2-server: {roles:?}"
    );
    assert!(!roles.iter().any(|r| r == "agent"), "{roles:?}");
}

#[test]
fn same_inputs_and_reference_time_give_the_same_bytes() {
    let a = Test::new()
        .args(["analyze", "-o", "json", "--at", AT])
        .run();
    let b = Test::new()
        .args(["analyze", "-o", "json", "--at", AT])
        .run();
    assert_eq!(a.stdout, b.stdout);
}

#[test]
fn reference_time_far_after_collection_is_said_at_the_top() {
    let run = Test::new()
        .args(["analyze", "--at", "2027-06-01T00:00:00Z"])
        .run();
    let head: Vec<&str> = run.stdout.lines().take(4).collect();
    assert!(
        head.iter()
            .any(|l| l.contains("days after the latest collection")),
        "{head:?}"
    );
}

#[test]
fn demo_certs_table_csv_and_json_goldens() {
    Test::new()
        .args(["certs", "--at", AT])
        .run()
        .code(0)
        .golden("certs-demo.txt");
    Test::new()
        .args(["certs", "--at", AT, "-o", "csv"])
        .run()
        .code(0)
        .golden("certs-demo.csv");
    let run = Test::new()
        .args(["certs", "--at", AT, "-o", "json"])
        .run()
        .code(0);
    // The certs JSON is the analyze JSON's `certificates` array.
    let analyze = Test::new()
        .args(["analyze", "-o", "json", "--at", AT])
        .run();
    assert_eq!(run.json(), analyze.json()["certificates"]);
}

#[test]
fn every_live_certificate_of_the_demo_has_a_verified_chain() {
    let doc = Test::new()
        .args(["certs", "--at", AT, "-o", "json"])
        .run()
        .code(0)
        .json();
    let certs = doc.as_array().expect("array");
    let live: Vec<&serde_json::Value> = certs.iter().filter(|c| c["in_use"] == "live").collect();
    assert!(live.len() >= 30, "only {} live certificates", live.len());
    for c in live {
        let chain = c["chain_status"].as_str().unwrap_or("");
        if c["is_ca"] == true {
            assert_eq!(chain, "self-signed", "{}", c["subject"]);
        } else {
            assert_eq!(chain, "valid", "{} {}", c["subject"], c["locations"]);
            assert!(c["issuer_fingerprint"].is_string(), "{}", c["subject"]);
        }
    }
}

/// Issue 9: a chain whose CAs had not started at the reference time said `issuer-expired`.
#[test]
fn a_ca_not_yet_valid_is_labelled_issuer_not_yet_valid_not_issuer_expired() {
    // The demo's CAs start in November 2025: before then every chain waits for its issuer, and
    // after the CAs' end every chain has an expired issuer.
    for (at, want) in [
        ("2020-01-01T00:00:00Z", "issuer-not-yet-valid"),
        ("9999-12-31T23:59:59Z", "issuer-expired"),
    ] {
        let doc = Test::new()
            .args(["certs", "--at", at, "-o", "json"])
            .run()
            .code(0)
            .json();
        let signed: Vec<&str> = doc
            .as_array()
            .expect("array")
            .iter()
            .filter_map(|c| c["chain_status"].as_str())
            .filter(|s| *s != "self-signed")
            .collect();
        assert!(signed.len() >= 30, "{signed:?}");
        assert!(signed.iter().all(|s| *s == want), "at {at}: {signed:?}");
    }
}

#[test]
fn blast_radius_of_the_client_ca_lists_every_client_certificate_and_kubeconfig() {
    let certs = Test::new()
        .args(["certs", "--at", AT, "-o", "json"])
        .run()
        .json();
    let client_ca: Vec<String> = certs
        .as_array()
        .expect("array")
        .iter()
        .filter(|c| {
            c["is_ca"] == true
                && c["subject"]
                    .as_str()
                    .is_some_and(|s| s.contains("rke2-client-ca@"))
                && c["in_use"] == "live"
        })
        .filter_map(|c| c["fingerprint_sha256"].as_str().map(str::to_string))
        .collect();
    assert_eq!(client_ca.len(), 1, "one live client CA");
    let signed: Vec<String> = certs
        .as_array()
        .expect("array")
        .iter()
        .filter(|c| c["issuer_fingerprint"].as_str() == Some(client_ca[0].as_str()))
        .filter_map(|c| c["fingerprint_sha256"].as_str().map(str::to_string))
        .collect();
    assert!(signed.len() >= 20, "{} client certificates", signed.len());
    let graph = Test::new()
        .args(["graph", "--at", AT, "-o", "json"])
        .run()
        .code(0)
        .json();
    let kubeconfigs: Vec<String> = graph["vertices"]
        .as_array()
        .expect("vertices")
        .iter()
        .filter(|v| v["kind"] == "kubeconfig")
        .filter_map(|v| v["id"].as_str().map(str::to_string))
        .collect();
    assert!(kubeconfigs.len() >= 20, "{kubeconfigs:?}");
    let radius = Test::new()
        .args([
            "graph",
            "--at",
            AT,
            "-o",
            "json",
            "--blast-radius",
            "ca:client",
        ])
        .run()
        .code(0)
        .json();
    let hit: Vec<&str> = radius["affected"]
        .as_array()
        .expect("affected")
        .iter()
        .filter_map(|a| a["id"].as_str())
        .collect();
    for fp in &signed {
        assert!(
            hit.contains(&format!("cert:sha256:{fp}").as_str()),
            "cert {fp} missing"
        );
    }
    for k in &kubeconfigs {
        assert!(
            hit.contains(&k.as_str()),
            "{k} missing from the blast radius"
        );
    }
}

#[test]
fn blast_radius_of_an_unknown_id_is_a_usage_error() {
    Test::new()
        .args(["graph", "--blast-radius", "sha256:ffffffffffff"])
        .run()
        .code(2)
        .stderr_has("nothing in the graph matches");
}

#[test]
fn demo_graph_and_timeline_goldens() {
    let run = Test::new()
        .args(["graph", "--at", AT, "-o", "json"])
        .run()
        .code(0)
        .golden("graph-demo.json");
    assert_valid(&run.json(), &root().join("docs/graph.schema.json"));
    Test::new()
        .args(["graph", "--at", AT, "-o", "dot"])
        .run()
        .code(0)
        .golden("graph-demo.dot");
    Test::new()
        .args(["graph", "--at", AT, "-o", "mermaid"])
        .run()
        .code(0)
        .golden("graph-demo.mmd");
    Test::new()
        .args(["graph", "--at", AT, "--blast-radius", "ca:client"])
        .run()
        .code(0)
        .golden("blast-radius-ca-client.txt");
    Test::new()
        .args(["timeline", "--at", AT])
        .run()
        .code(0)
        .golden("timeline-demo.txt");
    let run = Test::new()
        .args(["timeline", "--at", AT, "-o", "json"])
        .run()
        .code(0)
        .golden("timeline-demo.json");
    let doc = run.json();
    assert_valid(&doc, &root().join("docs/timeline.schema.json"));
    // Chronological, from the reference time on (collection times may precede it).
    let ats: Vec<&str> = doc
        .as_array()
        .expect("events")
        .iter()
        .filter_map(|e| e["at"].as_str())
        .collect();
    assert!(ats.windows(2).all(|w| w[0] <= w[1]), "{ats:?}");
    assert!(
        doc.as_array()
            .expect("events")
            .iter()
            .filter(|e| e["kind"] != "collected")
            .all(|e| e["at"].as_str() >= Some(AT)),
        "{doc}"
    );
}

/// A support bundle whose `nodes.yaml` is a zip bomb, beside a good `metadata.yaml`.
fn bomb_bundle(dir: &std::path::Path) -> std::path::PathBuf {
    let top = "supportbundle_0b0b0b0b-0000-4000-8000-000000000000_2026-11-20T10-00-00Z";
    let meta = b"bundlename: bomb\nkubernetesversion: v1.33.5+rke2r1\nprojectnamespaceuuid: 0b0b0b0b-0000-4000-8000-000000000000\nbundlecreatedat: \"2026-11-20T10:00:00Z\"\n";
    let zip = harrow_fixtures::hostile::zip_bomb(
        &format!("{top}/yamls/cluster/v1/nodes.yaml"),
        512,
        &format!("{top}/metadata.yaml"),
        meta,
    );
    let path = dir.join(format!("{top}.zip"));
    std::fs::write(&path, zip).expect("write bomb");
    path
}

#[test]
fn zip_bomb_in_a_bundle_is_bundle003_naming_input_and_entry_and_the_rest_loads() {
    let dir = tempfile::tempdir().expect("tempdir");
    let bundle = bomb_bundle(dir.path());
    let run = Test::new()
        .arg("analyze")
        .path(&bundle)
        .args(["-o", "json", "--at", AT, "--max-entry-bytes", "16777216"])
        .run()
        .code(1);
    let doc = run.json();
    let f = doc["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .find(|f| f["rule"] == "BUNDLE003")
        .unwrap_or_else(|| panic!("no BUNDLE003 in {}", doc["findings"]));
    let ev = &f["evidence"][0];
    assert!(
        ev["source"].as_str().is_some_and(|s| s.ends_with(".zip")),
        "{ev}"
    );
    assert!(
        ev["path"]
            .as_str()
            .is_some_and(|p| p.ends_with("yamls/cluster/v1/nodes.yaml")),
        "{ev}"
    );
    assert!(
        f["message"]
            .as_str()
            .is_some_and(|m| m.contains("--max-entry-bytes")),
        "{f}"
    );
    // The rest of the bundle still loads: metadata gives the version and collection time.
    assert_eq!(doc["inputs"][0]["kind"], "harvester-support-bundle");
    assert_eq!(doc["inputs"][0]["collected_at"], "2026-11-20T10:00:00Z");
    assert_eq!(doc["cluster"]["kubernetes_version"], "v1.33.5+rke2r1");
    // Nothing was written beside the input.
    let names: Vec<_> = std::fs::read_dir(dir.path()).expect("dir").collect();
    assert_eq!(names.len(), 1);
}

#[test]
fn one_unreadable_input_among_good_ones_is_coverage_not_exit_2() {
    let dir = tempfile::tempdir().expect("tempdir");
    let junk = dir.path().join("junk.tgz");
    std::fs::write(&junk, b"not an archive at all").expect("write");
    let run = Test::new()
        .arg("analyze")
        .arg("bundles/demo/n1.tgz")
        .path(&junk)
        .args(["-o", "json", "--at", AT, "--fail-on", "critical"])
        .run()
        .code(0);
    let doc = run.json();
    let kinds: Vec<&str> = doc["inputs"]
        .as_array()
        .expect("inputs")
        .iter()
        .filter_map(|i| i["kind"].as_str())
        .collect();
    assert_eq!(kinds, ["node-snapshot", "unreadable"]);
    assert!(
        doc["findings"]
            .as_array()
            .expect("findings")
            .iter()
            .any(|f| f["rule"] == "BUNDLE003" && f["evidence"][0]["source"] == "junk.tgz"),
        "{}",
        doc["findings"]
    );
}

#[test]
fn analyze_of_a_zip_bomb_stays_under_256_mib_peak_rss() {
    let dir = tempfile::tempdir().expect("tempdir");
    let bundle = bomb_bundle(dir.path());
    // Default limits; the child is harrow itself, its peak RSS read from the kernel.
    let before = children_maxrss_kib();
    let status = std::process::Command::new(env!("CARGO_BIN_EXE_harrow"))
        .arg("analyze")
        .arg(&bundle)
        .args(["-o", "json", "--at", AT])
        .stdout(std::process::Stdio::null())
        .status()
        .expect("run harrow");
    assert_eq!(status.code(), Some(1));
    let peak = children_maxrss_kib();
    assert!(peak >= before);
    assert!(peak < 256 * 1024, "peak RSS {peak} KiB");
}

#[allow(unsafe_code)] // getrusage: the one way to read the children's peak memory
fn children_maxrss_kib() -> i64 {
    // SAFETY: getrusage writes into the zeroed struct we pass.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    let rc = unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut ru) };
    assert_eq!(rc, 0);
    ru.ru_maxrss
}

#[test]
fn token_passwords_are_grouped_and_fingerprinted_with_a_given_key_only() {
    let dir = tempfile::tempdir().expect("tempdir");
    let key = dir.path().join("fp.key");
    std::fs::write(&key, b"a test key\n").expect("write key");
    let plain = Test::new()
        .args(["graph", "-o", "json", "--at", AT])
        .run()
        .code(0)
        .json();
    let tokens = plain["tokens"].as_array().expect("tokens");
    assert!(tokens.len() >= 15, "{} tokens", tokens.len());
    assert!(
        tokens
            .iter()
            .all(|t| t.get("password_fingerprint").is_none())
    );
    // The demo cluster uses one password everywhere (server, agent and /oem copies).
    assert!(
        tokens.iter().all(|t| t["password_group"] == 1),
        "{tokens:?}"
    );
    let keyed = |k: &std::path::Path| {
        Test::new()
            .args(["graph", "-o", "json", "--at", AT, "--fingerprint-key"])
            .path(k)
            .run()
            .code(0)
            .json()["tokens"]
            .clone()
    };
    let a = keyed(&key);
    let b = keyed(&key);
    assert_eq!(a, b, "the same key gives the same fingerprints");
    let fp = a[0]["password_fingerprint"]
        .as_str()
        .expect("fingerprint")
        .to_string();
    assert!(fp.starts_with("hm:") && fp.len() == 19, "{fp}");
    let other = dir.path().join("other.key");
    std::fs::write(&other, b"another key").expect("write key");
    assert_ne!(
        keyed(&other)[0]["password_fingerprint"],
        a[0]["password_fingerprint"]
    );
}

#[test]
fn inputs_of_two_different_clusters_are_refused() {
    let run = Test::new()
        .args(["analyze", "bundles/demo/n1.tgz", "bundles/witness/m1.tgz"])
        .args(["-o", "json", "--at", AT])
        .run()
        .code(2)
        .stderr_has("refused");
    let doc = run.json();
    assert!(
        doc["refused"].as_str().is_some_and(|r| !r.is_empty()),
        "{doc}"
    );
    assert_eq!(doc["findings"].as_array().map(|f| f.len()), Some(0));
}

#[test]
fn a_node_snapshot_can_be_named_on_the_command_line() {
    let doc = Test::new()
        .args([
            "analyze",
            "renamed=bundles/demo/w2.tgz",
            "-o",
            "json",
            "--at",
            AT,
        ])
        .run()
        .code(0)
        .json();
    assert_eq!(doc["nodes"][0]["name"], "renamed", "{}", doc["nodes"]);
    assert_eq!(doc["inputs"][0]["node_name_source"], "command line");
}

#[test]
fn encrypted_and_openssh_keys_are_reported_as_not_parsed_not_dropped() {
    let dir = tempfile::tempdir().expect("tempdir");
    let tls = dir.path().join("n9/var/lib/rancher/rke2/server/tls");
    std::fs::create_dir_all(&tls).expect("mkdir");
    std::fs::write(
        tls.join("client-admin.key"),
        "-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIIBvTBXBgkqhkiG9w0BBQ0wSjApBgkqhkiG9w0BBQwwHAQI\n-----END ENCRYPTED PRIVATE KEY-----\n",
    )
    .expect("write");
    std::fs::write(
        tls.join("client-supervisor.key"),
        "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ==\n-----END OPENSSH PRIVATE KEY-----\n",
    )
    .expect("write");
    let doc = Test::new()
        .arg("graph")
        .path(&dir.path().join("n9"))
        .args(["-o", "json", "--at", AT])
        .run()
        .code(0)
        .json();
    let problems: Vec<String> = doc["key_problems"]
        .as_array()
        .expect("key_problems")
        .iter()
        .map(|p| {
            format!(
                "{} {}",
                p["path"].as_str().unwrap_or(""),
                p["reason"].as_str().unwrap_or("")
            )
        })
        .collect();
    assert_eq!(problems.len(), 2, "{problems:?}");
    assert!(
        problems[0].contains("client-admin.key") && problems[0].contains("not parsed"),
        "{problems:?}"
    );
    assert!(
        problems[1].contains("client-supervisor.key") && problems[1].contains("not parsed"),
        "{problems:?}"
    );
}

/// A small support bundle whose node configs hold `token_line` in `oem/90_custom.yaml`.
fn bundle_with_oem_token(dir: &std::path::Path, token_line: &str) -> std::path::PathBuf {
    use harrow_fixtures::archive::{Tree, ZipMode, zip_bytes};
    let top = "supportbundle_5a5a5a5a-0000-4000-8000-000000000000_2026-11-20T10-00-00Z";
    let mut node = Tree::new(1_795_168_800);
    node.file("x1/configs/etc/hostname", "x1\n");
    node.file(
        "x1/configs/oem/90_custom.yaml",
        format!("name: custom\nstages:\n  initramfs:\n  - files:\n    - path: /etc/rancher/rancherd/config.yaml\n      content: |\n        role: cluster-init\n        {token_line}\n"),
    );
    let node_zip = zip_bytes(&node, ZipMode::Deflate).expect("node zip");
    let mut b = Tree::new(1_795_168_800);
    b.file(
        format!("{top}/metadata.yaml"),
        "bundlename: leak\nkubernetesversion: v1.33.5+rke2r1\nprojectnamespaceuuid: 5a5a5a5a-0000-4000-8000-000000000000\nbundlecreatedat: \"2026-11-20T10:00:00Z\"\n",
    );
    b.file(format!("{top}/nodes/x1.zip"), node_zip);
    let path = dir.join(format!("{top}.zip"));
    std::fs::write(&path, zip_bytes(&b, ZipMode::Store).expect("zip")).expect("write");
    path
}

#[test]
fn bundle001_fails_on_a_leaked_token_passes_on_a_masked_one_and_never_shows_the_value() {
    let dir = tempfile::tempdir().expect("tempdir");
    let secret = "s3cr3t-cluster-token-value";
    let leaky = bundle_with_oem_token(dir.path(), &format!("token: {secret}"));
    let run = Test::new()
        .arg("analyze")
        .path(&leaky)
        .args(["-o", "json", "--at", AT])
        .run()
        .code(1);
    assert!(!run.stdout.contains(secret) && !run.stderr.contains(secret));
    let doc = run.json();
    let leak: Vec<&serde_json::Value> = doc["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter(|f| f["rule"] == "BUNDLE001")
        .collect();
    assert_eq!(leak.len(), 1, "{}", doc["findings"]);
    assert_eq!(
        leak[0]["evidence"][0]["path"],
        "supportbundle_5a5a5a5a-0000-4000-8000-000000000000_2026-11-20T10-00-00Z/nodes/x1.zip!x1/configs/oem/90_custom.yaml"
    );
    assert_eq!(leak[0]["evidence"][0]["pointer"], "8");
    // With a key: a keyed fingerprint, still never the value.
    let key = dir.path().join("k");
    std::fs::write(&key, "k").expect("key");
    let text = Test::new()
        .arg("analyze")
        .path(&leaky)
        .args(["--at", AT, "--fingerprint-key"])
        .path(&key)
        .run()
        .code(1);
    assert!(text.stdout.contains("(fingerprint hm:"), "{}", text.stdout);
    assert!(!text.stdout.contains(secret));

    let masked = dir.path().join("masked");
    std::fs::create_dir(&masked).expect("mkdir");
    let clean = bundle_with_oem_token(&masked, "token: \"***\"");
    let doc = Test::new()
        .arg("analyze")
        .path(&clean)
        .args(["-o", "json", "--at", AT])
        .run()
        .code(0)
        .json();
    let cov = doc["coverage"]
        .as_array()
        .expect("coverage")
        .iter()
        .find(|c| c["rule"] == "BUNDLE001")
        .cloned()
        .expect("BUNDLE001 coverage");
    assert_eq!(cov["status"], "pass", "{cov}");
}

#[test]
fn bundle001_is_not_applicable_without_a_bundle() {
    let doc = Test::new()
        .args(["analyze", "bundles/demo/n1.tgz", "-o", "json", "--at", AT])
        .run()
        .json();
    let cov = doc["coverage"]
        .as_array()
        .expect("coverage")
        .iter()
        .find(|c| c["rule"] == "BUNDLE001")
        .cloned()
        .expect("BUNDLE001 coverage");
    assert_eq!(cov["status"], "not-applicable", "{cov}");
}
