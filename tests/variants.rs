//! The fault variants of `bundles/fixtures/` (made by the generator): each shows exactly its
//! fault in `harrow certs` / `harrow graph` output, and the healthy cluster shows none; each
//! adds to (and takes from) the healthy cluster's findings exactly what its fault explains; a
//! golden pins every variant's faults, certificate counts and the findings of the whole analysis.

// clippy.toml lets #[test] functions unwrap, panic and print; this lets their helpers too.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stderr
)]

mod support;

use std::collections::{BTreeMap, BTreeSet};

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

/// `(count, rule, severity, node)`: `count` findings of `rule` at `severity` on `node` (`-`: the
/// cluster).
type Row = (i64, &'static str, &'static str, &'static str);

/// The findings of the healthy cluster at [`AT`], each with why: the baseline every variant's
/// findings are compared with.
const HEALTHY: &[Row] = &[
    // The 15 server leaves of s1 and of s2 expire 2027-01-14, 55 days after collection: inside
    // the renew window (no rke2 version in the snapshots: the older 90 days).
    (15, "CERT002", "medium", "s1"),
    (15, "CERT002", "medium", "s2"),
    // Harvester renders the rke2 configuration and sets no CIS profile: info on Harvester.
    (1, "HOST003", "info", "-"),
    // s2.tgz and a1.tgz carry no snapshot.yaml: their collection times are estimated.
    (2, "INPUT001", "info", "-"),
    // s2 joins with the short cluster token, which pins no CA: info on Harvester.
    (1, "TOKEN002", "info", "s2"),
];

/// What one variant's fault changes in the healthy cluster's findings, derived from what its
/// generator injects (`fixtures/src/variants.rs`, `collected.rs`, `token_sources.rs`) and what
/// the rules mean (rules.md): the findings it adds and the healthy ones it removes.
struct Fault {
    variant: &'static str,
    adds: &'static [Row],
    removes: &'static [Row],
}

const FAULTS: &[Fault] = &[
    Fault {
        variant: "healthy",
        adds: &[],
        removes: &[],
    },
    Fault {
        // The same cluster as other snapshot shapes: nothing changes, but a1, the directory,
        // carries its snapshot.yaml (a checkout gives its files the checkout's times, not the
        // collection's), so its "collection time estimated" fact is not there.
        variant: "formats",
        adds: &[],
        removes: &[(1, "INPUT001", "info", "-")],
    },
    Fault {
        variant: "custom-ca",
        // generate-custom-ca-certs.sh left root-ca.key and intermediate-ca.key in s1's tls/.
        adds: &[(2, "CERT011", "high", "s1")],
        removes: &[],
    },
    Fault {
        variant: "rotate-ca-staged",
        adds: &[
            // The staged tree server/rotate-ca/ is listed.
            (1, "CERT015", "info", "s1"),
            // The five staged *-ca.key files carry the cross-signing root key appended.
            (5, "CERT011", "low", "s1"),
            // The script rewrote server/token (and agent-token, a link to it) with the hash of
            // the new leaf CA: not the hash of the server CA the cluster serves.
            (2, "TOKEN001", "critical", "s1"),
        ],
        removes: &[],
    },
    Fault {
        variant: "post-rotate",
        // `rke2 certificate rotate` on 2026-11-18 reissued s1's leaves (a year left) and kept
        // the old tls/ as the backup tree server/tls-1794967200/, which is listed.
        adds: &[(1, "CERT015", "info", "s1")],
        removes: &[(15, "CERT002", "medium", "s1")],
    },
    Fault {
        variant: "expired-leaf",
        adds: &[
            // Every live leaf of s2 (15 server, 4 agent) was issued at install and expired on
            // 2026-11-12; only dynamic-cert.json, renewed while rke2 runs, is still valid.
            (19, "CERT001", "critical", "s2"),
            // s2's 10 kubeconfigs (rke2.yaml, six in server/cred, three agent ones) embed or
            // reference those expired client certificates.
            (10, "CERT012", "high", "s2"),
        ],
        // Expired, no longer inside the renew window.
        removes: &[(15, "CERT002", "medium", "s2")],
    },
    Fault {
        variant: "key-mismatch",
        // s1's serving-kube-apiserver.key is another key.
        adds: &[(1, "CERT006", "critical", "s1")],
        removes: &[],
    },
    Fault {
        variant: "ca-differs",
        // s2's client-ca.crt is its own: the same CA file differs between the servers.
        adds: &[(1, "CERT007", "critical", "-")],
        removes: &[],
    },
    Fault {
        variant: "stale-agent-ca",
        adds: &[
            // a1 keeps the old agent/server-ca.crt.
            (1, "CERT008", "high", "a1"),
            // a1's three agent kubeconfigs embed the old server CA.
            (3, "CERT012", "high", "a1"),
            // a1's token pins the old CA's hash in each of its four token sources
            // (40-rancherd.yaml, rancherd/config.yaml, oem/90_custom.yaml, oem/harvester.config).
            (4, "TOKEN001", "critical", "a1"),
        ],
        // The servers' leaves were reissued when the server CA was replaced on 2026-10-05.
        removes: &[
            (15, "CERT002", "medium", "s1"),
            (15, "CERT002", "medium", "s2"),
        ],
    },
    Fault {
        variant: "token-wrong-hash",
        // s2's rke2 drop-in and rancherd config pin the hash of another CA...
        adds: &[(2, "TOKEN001", "critical", "s2")],
        // ...so its token is no longer the short one that pins nothing.
        removes: &[(1, "TOKEN002", "info", "s2")],
    },
    Fault {
        variant: "service-key-order",
        adds: &[
            // s1's service.current.key is the second key of its service.key...
            (1, "SAKEY001", "high", "s1"),
            // ...whose two keys differ from s2's one.
            (1, "SAKEY002", "critical", "-"),
        ],
        removes: &[],
    },
    Fault {
        variant: "collected",
        adds: &[
            // The planted a1 serving-kubelet.key.pub-fingerprint matches no certificate.
            (1, "CERT006", "critical", "a1"),
            // `harrow collect` captures iptables-save: no host firewall chain on any node
            // (Harvester's default).
            (1, "FW001", "medium", "a1"),
            (1, "FW001", "medium", "s1"),
            (1, "FW001", "medium", "s2"),
        ],
        removes: &[
            // Every collected snapshot has its snapshot.yaml: no collection time is estimated.
            (2, "INPUT001", "info", "-"),
            // s2's config token is masked (***): unknown, not judged.
            (1, "TOKEN002", "info", "s2"),
        ],
    },
    Fault {
        variant: "token-sources",
        adds: &[
            // The added agent a2.tgz has no snapshot.yaml either.
            (1, "INPUT001", "info", "-"),
            // The variant's support bundle leaves secrets readable, as the collector does: the
            // registration token's status.token (the cluster token)...
            (1, "BUNDLE001", "high", "-"),
            // ...on every node the token in oem/90_custom.yaml's content block and the token
            // and password hash of oem/install/console.log...
            (3, "BUNDLE001", "high", "a1"),
            (3, "BUNDLE001", "high", "s1"),
            // ...on s2 also the token files its token-file and agent-token-file name
            // (etc/rancher/rke2/join-token, agent-join-token), collected unmasked with the
            // rest of /etc/rancher/rke2...
            (5, "BUNDLE001", "high", "s2"),
            // ...and on a2 the file RKE2_TOKEN_FILE names (etc/rancher/rke2/token-from-env).
            (4, "BUNDLE001", "high", "a2"),
            // The bundle's kubevirt CA (a component CA) expired on 2025-11-19, as the demo's.
            (1, "CERT013", "info", "-"),
            // The bundle's auto-rotate-rke2-certs keeps its default (disabled), as the demo's.
            (1, "HARV001", "medium", "-"),
        ],
        // Every token is in the full K10 form: each pins the CA.
        removes: &[(1, "TOKEN002", "info", "s2")],
    },
];

/// Differences between what the output shows and what the faults explain, reported to the
/// lead and not yet resolved: `(variant, count, rule, severity, node)`, a positive count shown
/// but not explained, a negative one explained but not shown. Each is a bug in harrow or in a
/// fixture; the entry goes when it is fixed (this test then fails until it is removed).
// The two reported here first (formats' a1 dated by its checkout; BUNDLE001 blind to the
// token files of a bundle's node configs) are fixed.
const REPORTED: &[(&str, Row)] = &[];

type Multiset = BTreeMap<(String, String, String), i64>;

fn add_rows(into: &mut Multiset, rows: &[Row], sign: i64) {
    for (n, rule, severity, node) in rows {
        *into
            .entry((rule.to_string(), severity.to_string(), node.to_string()))
            .or_default() += sign * n;
    }
    into.retain(|_, n| *n != 0);
}

/// The (rule, severity, node) multiset of a variant's `analyze -o json` findings.
fn finding_multiset(variant: &str) -> Multiset {
    let doc = Test::new()
        .arg("analyze")
        .args(support::inputs_in(&format!("bundles/fixtures/{variant}")))
        .args(["-o", "json", "--at", AT, "--fail-on", "none"])
        .run()
        .code(0)
        .json();
    let mut out = Multiset::new();
    for f in doc["findings"].as_array().expect("findings") {
        let key = (
            f["rule"].as_str().unwrap_or("").to_string(),
            f["severity"].as_str().unwrap_or("").to_string(),
            f["node"].as_str().unwrap_or("-").to_string(),
        );
        *out.entry(key).or_default() += 1;
    }
    out
}

/// `want` and `got` side by side where they differ, one line per (rule, severity, node).
fn differences(want: &Multiset, got: &Multiset) -> Vec<String> {
    let keys: BTreeSet<_> = want.keys().chain(got.keys()).collect();
    keys.into_iter()
        .filter(|k| want.get(*k) != got.get(*k))
        .map(|k| {
            format!(
                "{} {} {}: expected {:+}, shown {:+}",
                k.0,
                k.1,
                k.2,
                want.get(k).copied().unwrap_or(0),
                got.get(k).copied().unwrap_or(0)
            )
        })
        .collect()
}

#[test]
fn each_fault_fixture_shows_exactly_its_injected_findings() {
    let healthy = finding_multiset("healthy");
    let mut baseline = Multiset::new();
    add_rows(&mut baseline, HEALTHY, 1);
    assert_eq!(
        healthy,
        baseline,
        "the healthy cluster's findings differ from HEALTHY: {:?}",
        differences(&baseline, &healthy)
    );
    let mut names: Vec<String> = std::fs::read_dir(root().join("bundles/fixtures"))
        .expect("bundles/fixtures")
        .filter_map(|e| e.ok())
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    let mut table: Vec<&str> = FAULTS.iter().map(|f| f.variant).collect();
    table.sort_unstable();
    assert_eq!(names, table, "every fixture directory has one FAULTS entry");
    let mut wrong = Vec::new();
    for fault in FAULTS {
        let mut want = Multiset::new();
        add_rows(&mut want, fault.adds, 1);
        add_rows(&mut want, fault.removes, -1);
        for (_, row) in REPORTED.iter().filter(|(v, _)| *v == fault.variant) {
            add_rows(&mut want, std::slice::from_ref(row), 1);
        }
        let mut got = finding_multiset(fault.variant);
        for (k, n) in &healthy {
            *got.entry(k.clone()).or_default() -= n;
        }
        got.retain(|_, n| *n != 0);
        for d in differences(&want, &got) {
            wrong.push(format!("{}: {d}", fault.variant));
        }
    }
    assert!(
        wrong.is_empty(),
        "findings that the faults (FAULTS, REPORTED) do not explain:\n{}",
        wrong.join("\n")
    );
}
