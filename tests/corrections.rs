//! Regression tests of the corrections a real bundle showed (issue 9, point 5), each named after
//! the bug it pins: BUNDLE001 took the literal `token` of a registration token's `status.token`
//! for a leaked secret; BUNDLE002 passed a bundle whose `rancher-system-agent.log` the
//! collector's 10 MiB cap had cut (the log is skipped, never read); BUNDLE001 missed the token
//! files (`token-file:` targets) the collector copies with `/etc/rancher/rke2` (found by the
//! fault-fixture check of `tests/variants.rs`). Bundles are built in the test
//! with the fixture generator's archive writer. The third, a custom CA at
//! `server/tls/server-ca.crt` whose name is not rke2's that CERT003 never judged, is in
//! `rules_more.rs` with the other tests on the healthy fixture's `s1`.

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

use harrow_fixtures::archive::{Tree, ZipMode, zip_bytes};
use rules_common::{COLLECTED, analyze, findings, pin, status};

const TOP: &str = "supportbundle_5a5a5a5a-0000-4000-8000-000000000000_2026-11-20T10-00-00Z";
const MTIME: i64 = 1_795_168_800;

/// A small support bundle in `dir`: metadata, one node zip `x1.zip` holding `node_files`, and
/// the bundle files `files` (paths under the bundle's top folder).
fn small_bundle(dir: &Path, node_files: &[(&str, Vec<u8>)], files: &[(&str, Vec<u8>)]) -> PathBuf {
    let mut node = Tree::new(MTIME);
    node.file("x1/configs/etc/hostname", "x1\n");
    for (p, data) in node_files {
        node.file(format!("x1/{p}"), data.clone());
    }
    let node_zip = zip_bytes(&node, ZipMode::Deflate).expect("node zip");
    let mut b = Tree::new(MTIME);
    b.file(
        format!("{TOP}/metadata.yaml"),
        "bundlename: corrections\nkubernetesversion: v1.33.5+rke2r1\nprojectnamespaceuuid: 5a5a5a5a-0000-4000-8000-000000000000\nbundlecreatedat: \"2026-11-20T10:00:00Z\"\n",
    );
    for (p, data) in files {
        b.file(format!("{TOP}/{p}"), data.clone());
    }
    b.file(format!("{TOP}/nodes/x1.zip"), node_zip);
    let path = dir.join(format!("{TOP}.zip"));
    std::fs::write(&path, zip_bytes(&b, ZipMode::Store).expect("zip")).expect("write");
    path
}

fn analyze_one(path: &Path, at: &str) -> serde_json::Value {
    analyze(&[path.to_string_lossy().into_owned()], at)
}

/// `clusterregistrationtokens.yaml` with one token whose `status.token` is `value`.
fn registration_tokens(value: &str) -> Vec<u8> {
    format!(
        "apiVersion: v1\nitems:\n- apiVersion: management.cattle.io/v3\n  kind: ClusterRegistrationToken\n  metadata:\n    name: default-token\n    namespace: local\n  spec:\n    clusterName: local\n  status:\n    token: {value}\nkind: List\n"
    )
    .into_bytes()
}

const REGISTRATION: &str =
    "namespaced/local/management.cattle.io/v3/clusterregistrationtokens.yaml";

#[test]
fn bundle001_literal_token_left_by_kubectl_apply_in_status_token_is_not_a_leak() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = format!("yamls/{REGISTRATION}");
    for (placeholder, case) in [
        ("token", "pass-literal-token-placeholder"),
        ("\"<token>\"", "pass-angle-token-placeholder"),
        ("\"***\"", "pass-masked-placeholder"),
        ("\"null\"", "pass-null-placeholder"),
    ] {
        let sub = dir
            .path()
            .join(placeholder.replace(['"', '<', '>', '*'], "_"));
        std::fs::create_dir(&sub).expect("mkdir");
        let b = small_bundle(&sub, &[], &[(&path, registration_tokens(placeholder))]);
        let doc = analyze_one(&b, COLLECTED);
        assert_eq!(status(&doc, "BUNDLE001"), "pass", "{placeholder}");
        assert!(findings(&doc, "BUNDLE001").is_empty(), "{placeholder}");
        pin(&doc, "BUNDLE001", case);
    }
}

#[test]
fn bundle001_registration_token_remediation_is_rancher_s_not_the_join_token_s() {
    let dir = tempfile::tempdir().expect("tempdir");
    // A Rancher registration token: 54 characters of its alphabet, nowhere else in the inputs.
    let token = "x7kqzr2bn9c6dtvwlm5p8fghj4sxbq2n7wkrc9dz6tlpv5mhgf8jq4";
    let b = small_bundle(
        dir.path(),
        &[],
        &[(&format!("yamls/{REGISTRATION}"), registration_tokens(token))],
    );
    let run = support::Test::new()
        .arg("analyze")
        .path(&b)
        .args(["-o", "json", "--fail-on", "none", "--at", COLLECTED])
        .run()
        .code(0);
    assert!(!run.stdout.contains(token) && !run.stderr.contains(token));
    let doc = run.json();
    let all = findings(&doc, "BUNDLE001");
    assert_eq!(all.len(), 1, "{all:?}");
    let fix = all[0]["remediation"].as_str().unwrap_or_default();
    assert!(fix.contains("regenerate it in Rancher"), "{fix}");
    assert!(!fix.contains("cannot be rotated"), "{fix}");
    pin(&doc, "BUNDLE001", "fail-registration-token");
}

/// A journal log of exactly `size` bytes, cut like `tail -c` does: the first line starts
/// mid-line.
fn capped_journal(size: usize) -> Vec<u8> {
    let line = "Nov 20 09:00:00.123456 x1 rancher-system-agent[2501]: time=\"2026-11-20T09:00:00Z\" level=info msg=\"Starting remote watch of plans\"\n";
    let mut s = String::with_capacity(size + line.len());
    while s.len() < size + 11 {
        s.push_str(line);
    }
    let cut = s.len() - size;
    s.into_bytes().split_off(cut)
}

/// The BUNDLE002 findings on truncated logs, out of `all`.
fn truncated_logs(mut all: Vec<&serde_json::Value>) -> Vec<&serde_json::Value> {
    all.retain(|f| {
        f["title"]
            .as_str()
            .unwrap_or_default()
            .contains("truncated log")
    });
    all
}

#[test]
fn bundle002_rancher_system_agent_log_cut_at_the_collector_s_10_mib_cap_is_truncated() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = capped_journal(10 * 1024 * 1024);
    assert_eq!(log.len(), 10_485_760);
    assert_ne!(log[0], b'N', "starts mid-line");
    let b = small_bundle(
        dir.path(),
        &[
            ("logs/rancher-system-agent.log", log),
            ("logs/rke2-server.log", capped_journal(4096)),
        ],
        &[],
    );
    let doc = analyze_one(&b, COLLECTED);
    assert_eq!(status(&doc, "BUNDLE002"), "fail");
    let all = findings(&doc, "BUNDLE002");
    let cut = truncated_logs(all.clone());
    assert_eq!(cut.len(), 1, "only the capped log: {all:?}");
    let f = cut[0];
    assert_eq!(f["severity"], "info");
    assert_eq!(f["node"], "x1");
    assert_eq!(
        f["title"],
        "bundle incomplete: truncated log logs/rancher-system-agent.log on x1"
    );
    assert_eq!(
        f["evidence"][0]["path"],
        format!("{TOP}/nodes/x1.zip!x1/logs/rancher-system-agent.log")
    );
    let msg = f["message"].as_str().unwrap_or_default();
    assert!(msg.contains("10485760 bytes"), "{msg}");
    pin(&doc, "BUNDLE002", "fail-truncated-log");
}

#[test]
fn bundle002_scanned_log_at_the_cap_says_it_starts_mid_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let b = small_bundle(
        dir.path(),
        &[("logs/rke2-server.log", capped_journal(10 * 1024 * 1024))],
        &[],
    );
    let doc = analyze_one(&b, COLLECTED);
    let all = findings(&doc, "BUNDLE002");
    let f = all
        .iter()
        .find(|f| f["title"] == "bundle incomplete: truncated log logs/rke2-server.log on x1")
        .unwrap_or_else(|| panic!("{all:?}"));
    let msg = f["message"].as_str().unwrap_or_default();
    assert!(msg.contains("starts mid-line"), "{msg}");
    pin(&doc, "BUNDLE002", "fail-scanned-log-starts-mid-line");
}

#[test]
fn bundle002_many_truncated_logs_of_one_node_zip_make_one_note() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cap = capped_journal(10 * 1024 * 1024);
    let names = [
        "rancher-system-agent",
        "iscsid",
        "NetworkManager",
        "rancherd",
        "rke2-agent",
    ];
    let logs: Vec<(String, Vec<u8>)> = names
        .iter()
        .map(|n| (format!("logs/{n}.log"), cap.clone()))
        .collect();
    let refs: Vec<(&str, Vec<u8>)> = logs.iter().map(|(p, d)| (p.as_str(), d.clone())).collect();
    let b = small_bundle(dir.path(), &refs, &[]);
    let doc = analyze_one(&b, COLLECTED);
    let all = findings(&doc, "BUNDLE002");
    let cut = truncated_logs(all.clone());
    assert_eq!(cut.len(), 1, "{all:?}");
    assert_eq!(cut[0]["title"], "bundle incomplete: 5 truncated logs on x1");
    assert_eq!(cut[0]["evidence"].as_array().map(Vec::len), Some(5));
    pin(&doc, "BUNDLE002", "fail-many-truncated-logs-of-one-node");
}

/// Found by the fault-fixture check: the collector copies `/etc/rancher/rke2` whole, so a
/// `token-file:` target (`join-token`, `agent-join-token`, the file `RKE2_TOKEN_FILE=` names)
/// sits unmasked in the node zip, and BUNDLE001 read only YAML token keys. A file that holds
/// only a token is a token field; a placeholder in it is not a leak.
#[test]
fn bundle001_reads_token_files_of_a_bundles_node_configs() {
    let dir = tempfile::tempdir().expect("tempdir");
    let full = format!("K10{}::server:{}", "c".repeat(64), "f00dfeed".repeat(4));
    let b = small_bundle(
        dir.path(),
        &[
            (
                "configs/etc/rancher/rke2/join-token",
                format!("{full}\n").into_bytes(),
            ),
            (
                "configs/etc/rancher/rke2/agent-join-token",
                b"agentsecret-0123456789\n".to_vec(),
            ),
            (
                "configs/etc/rancher/rke2/token-placeholder",
                b"***\n".to_vec(),
            ),
        ],
        &[],
    );
    let doc = analyze_one(&b, COLLECTED);
    assert_eq!(status(&doc, "BUNDLE001"), "fail");
    let msgs: Vec<String> = findings(&doc, "BUNDLE001")
        .iter()
        .map(|f| f["message"].as_str().unwrap_or("").to_string())
        .collect();
    assert_eq!(msgs.len(), 2, "{msgs:?}");
    assert!(
        msgs.iter()
            .any(|m| m.contains("server token (`join-token`)")),
        "{msgs:?}"
    );
    assert!(
        msgs.iter()
            .any(|m| m.contains("agent token (`agent-join-token`)")),
        "{msgs:?}"
    );
    let text = doc.to_string();
    assert!(
        !text.contains("f00dfeed") && !text.contains("agentsecret"),
        "a secret leaked"
    );
    pin(&doc, "BUNDLE001", "fail-token-files-in-node-configs");
}
