//! The fault variants of `bundles/fixtures/` (made by the generator): each shows exactly its
//! fault in `harrow certs` / `harrow graph` output, and the healthy cluster shows none; a golden
//! pins every variant's faults, certificate counts and the findings of the whole analysis.

// clippy.toml lets #[test] functions unwrap, panic and print; this lets their helpers too.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stderr
)]

mod support;

use std::collections::BTreeSet;

use support::{Test, root};

const AT: &str = "2026-11-20T10:00:00Z";

/// The faults `certs` and `graph` report for one variant, one short line each.
fn faults(variant: &str) -> BTreeSet<String> {
    let inputs = support::inputs_in(&format!("bundles/fixtures/{variant}"));
    let certs = Test::new()
        .arg("certs")
        .args(&inputs)
        .args(["-o", "json", "--at", AT])
        .run()
        .code(0)
        .json();
    let graph = Test::new()
        .arg("graph")
        .args(&inputs)
        .args(["-o", "json", "--at", AT])
        .run()
        .code(0)
        .json();
    // Every variant's graph, faults included, keeps the published contract.
    support::assert_valid(&graph, &root().join("docs/graph.schema.json"));
    let mut out = BTreeSet::new();
    for c in certs.as_array().expect("certificates") {
        let nodes: BTreeSet<&str> = c["locations"]
            .as_array()
            .expect("locations")
            .iter()
            .filter_map(|l| l["node"].as_str())
            .collect();
        let nodes = nodes.into_iter().collect::<Vec<_>>().join(",");
        match c["in_use"].as_str() {
            Some("live") => {}
            Some(other) => {
                out.insert(format!("{other} certificates on {nodes}"));
                continue;
            }
            None => continue,
        }
        if c["status"] == "expired" {
            out.insert(format!("expired live certificates on {nodes}"));
        }
        if !matches!(c["chain_status"].as_str(), Some("valid" | "self-signed")) {
            out.insert(format!("chain {} on {nodes}", c["chain_status"]));
        }
    }
    for m in graph["key_mismatches"].as_array().expect("key_mismatches") {
        out.insert(format!(
            "key mismatch {} {}",
            m["node"].as_str().unwrap_or(""),
            m["cert"].as_str().unwrap_or("")
        ));
    }
    for u in graph["unpinned_tokens"]
        .as_array()
        .expect("unpinned_tokens")
    {
        out.insert(format!(
            "token pins an unknown CA hash on {}",
            u["node"].as_str().unwrap_or("")
        ));
    }
    let cons = &graph["consistency"];
    for d in cons["disagreements"].as_array().expect("disagreements") {
        out.insert(format!(
            "differs between servers: {}",
            d["file"].as_str().unwrap_or("")
        ));
    }
    for s in cons["stale_copies"].as_array().expect("stale_copies") {
        out.insert(format!(
            "stale {} on {}",
            s["file"].as_str().unwrap_or(""),
            s["node"].as_str().unwrap_or("")
        ));
    }
    for k in cons["service_current_key"]
        .as_array()
        .expect("service_current_key")
    {
        out.insert(format!(
            "service.current.key is key #{} on {}",
            k["position"],
            k["node"].as_str().unwrap_or("")
        ));
    }
    out
}

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| s.to_string()).collect()
}

#[test]
fn healthy_cluster_and_other_archive_formats_show_no_fault() {
    assert_eq!(faults("healthy"), set(&[]));
    assert_eq!(faults("formats"), set(&[]));
}

#[test]
fn expired_leaf_is_expired_on_its_node_only() {
    assert_eq!(
        faults("expired-leaf"),
        set(&["expired live certificates on s2"])
    );
}

#[test]
fn key_mismatch_is_caught_on_its_pair() {
    assert_eq!(
        faults("key-mismatch"),
        set(&["key mismatch s1 var/lib/rancher/rke2/server/tls/serving-kube-apiserver.crt"])
    );
}

#[test]
fn a_ca_that_differs_between_servers_is_shown() {
    assert_eq!(
        faults("ca-differs"),
        set(&["differs between servers: server/tls/client-ca.crt"])
    );
}

#[test]
fn an_agent_with_a_stale_server_ca_and_old_token_is_shown() {
    assert_eq!(
        faults("stale-agent-ca"),
        set(&[
            "stale agent/server-ca.crt on a1",
            "token pins an unknown CA hash on a1",
        ])
    );
}

#[test]
fn a_token_pinning_the_wrong_hash_is_shown() {
    assert_eq!(
        faults("token-wrong-hash"),
        set(&["token pins an unknown CA hash on s2"])
    );
}

#[test]
fn service_current_key_not_first_is_shown() {
    // s1 prepended a new key to service.key, so its list also differs from s2's.
    assert_eq!(
        faults("service-key-order"),
        set(&[
            "differs between servers: server/tls/service.key",
            "service.current.key is key #1 on s1",
        ])
    );
}

#[test]
fn custom_ca_topology_verifies_with_three_cert_bundles() {
    assert_eq!(faults("custom-ca"), set(&[]));
}

#[test]
fn backups_after_certificate_rotate_are_classified_as_backup() {
    assert_eq!(faults("post-rotate"), set(&["backup certificates on s1"]));
}

#[test]
fn staged_rotation_is_staged_and_the_scripts_token_hash_matches_no_served_ca() {
    // rotate-default-ca-certs.sh rewrites server/token with the new *leaf* CA's fingerprint,
    // which is not what hashCA gives (reference §4.2): the token pins nothing served.
    assert_eq!(
        faults("rotate-ca-staged"),
        set(&[
            "staged certificates on s1",
            "token pins an unknown CA hash on s1",
        ])
    );
}

/// Every variant's faults and certificate counts by (in use, status, chain), in one golden file.
#[test]
fn fault_summary_of_every_variant_golden() {
    let mut names: Vec<String> = std::fs::read_dir(root().join("bundles/fixtures"))
        .expect("bundles/fixtures")
        .filter_map(|e| e.ok())
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    let mut out = String::new();
    for v in &names {
        out.push_str(&format!("== {v}\n"));
        for f in faults(v) {
            out.push_str(&format!("  fault: {f}\n"));
        }
        let inputs = support::inputs_in(&format!("bundles/fixtures/{v}"));
        let certs = Test::new()
            .arg("certs")
            .args(&inputs)
            .args(["-o", "json", "--at", AT])
            .run()
            .code(0)
            .json();
        let mut counts: std::collections::BTreeMap<String, usize> = Default::default();
        for c in certs.as_array().expect("certificates") {
            let k = format!(
                "{} {} {} {}",
                c["in_use"].as_str().unwrap_or(""),
                c["owner"].as_str().unwrap_or(""),
                c["status"].as_str().unwrap_or(""),
                c["chain_status"].as_str().unwrap_or("")
            );
            *counts.entry(k).or_default() += 1;
        }
        for (k, n) in counts {
            out.push_str(&format!("  certificates: {n:3} {k}\n"));
        }
        // Every finding of the whole analysis, by rule, severity and node: a fault fixture
        // shows its injected findings, and what else it shows is pinned here.
        let analysis = Test::new()
            .arg("analyze")
            .args(&inputs)
            .args(["-o", "json", "--at", AT, "--fail-on", "none"])
            .run()
            .code(0)
            .json();
        let mut found: std::collections::BTreeMap<String, usize> = Default::default();
        for f in analysis["findings"].as_array().expect("findings") {
            let k = format!(
                "{} {} {}",
                f["rule"].as_str().unwrap_or(""),
                f["severity"].as_str().unwrap_or(""),
                f["node"].as_str().unwrap_or("-")
            );
            *found.entry(k).or_default() += 1;
        }
        for (k, n) in found {
            out.push_str(&format!("  findings: {n:3} {k}\n"));
        }
    }
    let path = root().join("golden/variants-summary.txt");
    if std::env::var_os("HARROW_BLESS").is_some() {
        std::fs::write(&path, &out).expect("bless");
    }
    let want =
        std::fs::read_to_string(&path).expect("golden/variants-summary.txt (HARROW_BLESS=1)");
    assert_eq!(
        want, out,
        "golden/variants-summary.txt differs (HARROW_BLESS=1 rewrites it)"
    );
}
