//! The log-, event- and object-driven rules and two host/Kubernetes ones, through `harrow analyze
//! -o json`: TOKEN003 (token rotated on Harvester), TOKEN006 (join failures in the service logs),
//! CERT014 (expiry seen through the bundle), HARV004 (rotation stuck or failed), HOST004 (key and
//! `server/tls` modes), KUBE001–003 (workload namespaces), and the bundle rules BUNDLE001–003
//! on whole inputs (the regressions of BUNDLE001/002 are in `corrections.rs`). Each fails, passes
//! and is not evaluable (and not applicable where rules.md says so; the BUNDLE rules judge the
//! inputs themselves and are never not evaluable). Support bundles are built in the test
//! with the fixture generator's archive writer; node snapshots come from the healthy fixture's
//! `s1.tgz` extracted into a temporary directory. `bundles/` is never modified.

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
use rules_common::{
    COLLECTED, analyze, assert_pass_pinned, coverage, findings, healthy_s1, pin, status,
    support_bundle,
};

const TOP: &str = "supportbundle_6b6b6b6b-0000-4000-8000-000000000000_2026-11-20T10-00-00Z";
const MTIME: i64 = 1_795_168_800;

/// A support bundle in `dir`: one zip per `(node, files)` (paths under the node's folder) and
/// the bundle files `files` (paths under the top folder). With `kubernetes` in the metadata.
fn bundle(
    dir: &Path,
    kubernetes: &str,
    nodes: &[(&str, Vec<(&str, String)>)],
    files: &[(&str, String)],
) -> PathBuf {
    let mut b = Tree::new(MTIME);
    b.file(
        format!("{TOP}/metadata.yaml"),
        format!("bundlename: misc\nkubernetesversion: {kubernetes}\nprojectnamespaceuuid: 6b6b6b6b-0000-4000-8000-000000000000\nbundlecreatedat: \"2026-11-20T10:00:00Z\"\n"),
    );
    for (name, node_files) in nodes {
        let mut node = Tree::new(MTIME);
        node.file(format!("{name}/configs/etc/hostname"), format!("{name}\n"));
        for (p, data) in node_files {
            node.file(format!("{name}/{p}"), data.clone());
        }
        b.file(
            format!("{TOP}/nodes/{name}.zip"),
            zip_bytes(&node, ZipMode::Deflate).expect("node zip"),
        );
    }
    for (p, data) in files {
        b.file(format!("{TOP}/{p}"), data.clone());
    }
    let path = dir.join(format!("{TOP}.zip"));
    std::fs::write(&path, zip_bytes(&b, ZipMode::Store).expect("zip")).expect("write");
    path
}

use rules_common::analyze_paths as run;

/// The one finding of `rule`, which must have failed with exactly one finding.
fn only_finding(doc: &serde_json::Value, rule: &str) -> serde_json::Value {
    assert_eq!(status(doc, rule), "fail", "{}", coverage(doc, rule));
    let all = findings(doc, rule);
    assert_eq!(all.len(), 1, "{rule}: {all:?}");
    all[0].clone()
}

/// A `kind: List` of `items` (each a YAML mapping, indented as a list item).
fn list(items: &[String]) -> String {
    let mut s = String::from("apiVersion: v1\nitems:\n");
    for i in items {
        let mut first = true;
        for line in i.lines() {
            s.push_str(if first { "- " } else { "  " });
            s.push_str(line);
            s.push('\n');
            first = false;
        }
    }
    s.push_str("kind: List\n");
    s
}

/// `oem/harvester.config`: marks a node as Harvester's.
fn harvester_node() -> Vec<(&'static str, String)> {
    vec![(
        "configs/oem/harvester.config",
        "os:\n  hostname: x1\ninstall:\n  mode: create\n".to_string(),
    )]
}

/// The Harvester `server-version` setting.
fn server_version(v: &str) -> String {
    format!(
        "apiVersion: harvesterhci.io/v1beta1\nkind: Setting\nmetadata:\n  name: server-version\nvalue: {v}"
    )
}

const SETTINGS: &str = "yamls/cluster/harvesterhci.io/v1beta1/settings.yaml";
const SERVER_LOG: &str = "logs/rke2-server.log";

// ---------------------------------------------------------------- TOKEN006

#[test]
fn token006_counts_join_failures_per_node_and_message_and_scrubs_the_sample() {
    let dir = tempfile::tempdir().unwrap();
    let log = "Nov 20 04:00:00 x1 rke2[12]: time=\"2026-11-20T04:00:00Z\" level=info msg=\"Starting rke2\"\n\
Nov 20 04:00:01 x1 rke2[12]: time=\"2026-11-20T04:00:01Z\" level=fatal msg=\"failed to validate token: token CA hash does not match (Current: 1c1d, Expected: 9a9b)\" token=K10abcdef::server:SECRETPASSWORD1\n\
Nov 20 05:00:01 x1 rke2[13]: time=\"2026-11-20T05:00:01Z\" level=fatal msg=\"failed to validate token: token CA hash does not match\"\n\
Nov 20 05:30:01 x1 rke2[13]: time=\"2026-11-20T05:30:01Z\" level=info msg=\"Waiting to retrieve agent configuration; server is not ready: CA cert validation failed: Get https://127.0.0.1:6444/cacerts: connection refused\"\n\
Nov 20 06:00:01 x1 rke2[14]: time=\"2026-11-20T06:00:01Z\" level=error msg=\"Node password rejected, duplicate hostname or contents of '/etc/rancher/node/password' may not match server node-passwd entry\"\n";
    let b = bundle(
        dir.path(),
        "v1.33.5+rke2r1",
        &[("x1", vec![(SERVER_LOG, log.to_string())])],
        &[],
    );
    let doc = run(&[&b]);
    assert_eq!(status(&doc, "TOKEN006"), "fail");
    let all = findings(&doc, "TOKEN006");
    assert_eq!(all.len(), 2, "{all:?}");
    for f in &all {
        assert_eq!(f["severity"], "high");
        assert_eq!(f["node"], "x1");
        assert!(!f.to_string().contains("SECRETPASSWORD1"), "{f}");
    }
    let ca = all
        .iter()
        .find(|f| {
            f["target"]
                .as_str()
                .unwrap()
                .contains("token CA hash does not match")
        })
        .expect("the CA hash finding");
    let msg = ca["message"].as_str().unwrap();
    assert!(msg.contains("2 time(s)"), "{msg}");
    assert!(msg.contains("first 2026-11-20T04:00:01Z"), "{msg}");
    assert!(msg.contains("last 2026-11-20T05:00:01Z"), "{msg}");
    assert!(msg.contains("<redacted>"), "{msg}");
    assert!(
        ca["evidence"][0]["path"]
            .as_str()
            .unwrap()
            .ends_with(SERVER_LOG)
    );
    assert_eq!(ca["evidence"][0]["pointer"], "line 2");
    let pw = all
        .iter()
        .find(|f| {
            f["target"]
                .as_str()
                .unwrap()
                .contains("Node password rejected")
        })
        .expect("the node password finding");
    assert!(pw["message"].as_str().unwrap().contains("1 time(s)"));
    let reason = coverage(&doc, "TOKEN006")["reason"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        reason.contains("1 line(s) naming a connection error"),
        "{reason}"
    );
    pin(&doc, "TOKEN006", "fail");
}

#[test]
fn token006_passes_on_clean_logs_and_is_not_evaluable_without_logs() {
    let dir = tempfile::tempdir().unwrap();
    let b = bundle(
        dir.path(),
        "v1.33.5+rke2r1",
        &[(
            "x1",
            vec![(
                SERVER_LOG,
                "time=\"2026-11-20T04:00:00Z\" level=info msg=\"Starting rke2\"\n".to_string(),
            )],
        )],
        &[],
    );
    let doc = run(&[&b]);
    assert_pass_pinned(&doc, "TOKEN006", "pass");

    let s1 = healthy_s1(dir.path());
    let doc = run(&[&s1]);
    assert_eq!(status(&doc, "TOKEN006"), "not-evaluable");
    let needs = coverage(&doc, "TOKEN006")["needs"]
        .as_str()
        .unwrap_or("")
        .to_string();
    assert!(needs.contains("rke2-server.log"), "{needs}");
    pin(&doc, "TOKEN006", "not-evaluable");
}

// ---------------------------------------------------------------- TOKEN003

#[test]
fn token003_fails_on_the_bootstrap_refusal_in_a_harvester_node_log() {
    let dir = tempfile::tempdir().unwrap();
    let mut files = harvester_node();
    files.push((
        SERVER_LOG,
        "Nov 20 04:00:00 x1 rke2[12]: time=\"2026-11-20T04:00:00Z\" level=fatal msg=\"starting kubernetes: preparing server: bootstrap data already found and encrypted with different token\"\n".to_string(),
    ));
    let b = bundle(dir.path(), "v1.33.5+rke2r1", &[("x1", files)], &[]);
    let doc = run(&[&b]);
    let f = only_finding(&doc, "TOKEN003");
    assert_eq!(f["severity"], "critical");
    assert_eq!(f["node"], "x1");
    assert_eq!(f["target"], SERVER_LOG);
    assert_eq!(f["evidence"][0]["pointer"], "line 1");
    pin(&doc, "TOKEN003", "fail-bootstrap-refusal-in-the-log");
}

#[test]
fn token003_fails_when_server_token_differs_from_the_oem_token_and_never_shows_either() {
    let dir = tempfile::tempdir().unwrap();
    let s1 = healthy_s1(dir.path());
    let token = s1.join("var/lib/rancher/rke2/server/token");
    let old = std::fs::read_to_string(&token).unwrap();
    let (head, _) = old.trim().rsplit_once(':').unwrap();
    let rotated = "rotatedpassword0123456789abcdef";
    std::fs::write(&token, format!("{head}:{rotated}\n")).unwrap();
    let doc = run(&[&s1]);
    let f = only_finding(&doc, "TOKEN003");
    assert_eq!(f["severity"], "critical");
    assert_eq!(f["node"], "s1");
    assert_eq!(f["target"], "var/lib/rancher/rke2/server/token");
    assert!(f["message"].as_str().unwrap().contains("oem/"));
    let text = doc.to_string();
    assert!(!text.contains(rotated));
    assert!(!text.contains("2ce6b3f020818e94f568228d29d328c5"));
    pin(&doc, "TOKEN003", "fail-server-token-differs-from-oem");
}

#[test]
fn token003_passes_on_healthy_s1_and_clean_logs() {
    let dir = tempfile::tempdir().unwrap();
    let s1 = healthy_s1(dir.path());
    let doc = run(&[&s1]);
    assert_eq!(
        status(&doc, "TOKEN003"),
        "pass",
        "{}",
        coverage(&doc, "TOKEN003")
    );
    pin(&doc, "TOKEN003", "pass");
    let mut files = harvester_node();
    files.push((
        SERVER_LOG,
        "time=\"2026-11-20T04:00:00Z\" level=info msg=\"Starting rke2\"\n".to_string(),
    ));
    let b = bundle(dir.path(), "v1.33.5+rke2r1", &[("x1", files)], &[]);
    let doc = run(&[&b]);
    assert_eq!(
        status(&doc, "TOKEN003"),
        "pass",
        "{}",
        coverage(&doc, "TOKEN003")
    );
    pin(&doc, "TOKEN003", "pass-clean-log");
}

#[test]
fn token003_is_not_evaluable_without_logs_or_tokens_and_not_applicable_off_harvester() {
    let dir = tempfile::tempdir().unwrap();
    let b = bundle(
        dir.path(),
        "v1.33.5+rke2r1",
        &[("x1", harvester_node())],
        &[],
    );
    let doc = run(&[&b]);
    assert_eq!(status(&doc, "TOKEN003"), "not-evaluable");
    assert!(
        coverage(&doc, "TOKEN003")["needs"]
            .as_str()
            .unwrap_or("")
            .contains("rancherd.log")
    );
    pin(&doc, "TOKEN003", "not-evaluable");

    let plain = tempfile::tempdir().unwrap();
    let b = bundle(
        plain.path(),
        "v1.33.5+rke2r1",
        &[("x1", vec![(SERVER_LOG, "level=info\n".to_string())])],
        &[],
    );
    let doc = run(&[&b]);
    assert_eq!(status(&doc, "TOKEN003"), "not-applicable");
    pin(&doc, "TOKEN003", "not-applicable");
}

// ---------------------------------------------------------------- CERT014

/// A v1 certificate-monitor event for `node` (both APIs show the same uid).
fn event(api: &str, node: &str, reason: &str, at: &str, message: &str, uid: &str) -> String {
    let (regarding, msg_key, time_key) = if api == "v1" {
        ("involvedObject", "message", "lastTimestamp")
    } else {
        ("regarding", "note", "deprecatedLastTimestamp")
    };
    let api_version = if api == "v1" {
        "v1"
    } else {
        "events.k8s.io/v1"
    };
    format!(
        "apiVersion: {api_version}\nkind: Event\nmetadata:\n  name: {node}.{uid}\n  namespace: default\n  uid: {uid}\n{regarding}:\n  kind: Node\n  name: {node}\nreason: {reason}\n{msg_key}: '{message}'\n{time_key}: \"{at}\"\ncount: 3\ntype: Warning"
    )
}

const WARNING_SOON: &str = "Node certificates require attention - restart rke2 on this node to trigger automatic rotation: api-server/client-kube-apiserver.crt: certificate CN=system:apiserver will expire within 120 days at 2026-12-20T00:00:00Z";

#[test]
fn cert014_reports_a_monitor_warning_once_across_both_event_apis() {
    let dir = tempfile::tempdir().unwrap();
    let v1 = list(&[event(
        "v1",
        "x1",
        "CertificateExpirationWarning",
        "2026-11-20T04:00:00Z",
        WARNING_SOON,
        "u-1",
    )]);
    let k8s = list(&[event(
        "events.k8s.io",
        "x1",
        "CertificateExpirationWarning",
        "2026-11-20T04:00:00Z",
        WARNING_SOON,
        "u-1",
    )]);
    let b = bundle(
        dir.path(),
        "v1.33.5+rke2r1",
        &[("x1", vec![])],
        &[
            ("yamls/namespaced/default/v1/events.yaml", v1),
            ("yamls/namespaced/default/events.k8s.io/v1/events.yaml", k8s),
        ],
    );
    let doc = run(&[&b]);
    let f = only_finding(&doc, "CERT014");
    assert_eq!(f["severity"], "medium");
    assert_eq!(f["node"], "x1");
    assert_eq!(f["target"], "Node/x1");
    let msg = f["message"].as_str().unwrap();
    assert!(msg.contains("2026-12-20T00:00:00Z"), "{msg}");
    assert!(msg.contains("client-kube-apiserver.crt"), "{msg}");
    assert!(msg.contains("3 time(s)"), "{msg}");
    pin(&doc, "CERT014", "fail");
}

#[test]
fn cert014_is_high_when_default_kubernetes_expires_within_the_upgrade_guard() {
    let dir = tempfile::tempdir().unwrap();
    let log = "2026-11-20T06:00:17.4Z time=\"2026-11-20T06:00:17Z\" level=info msg=\"RKE2 certificate is not expiring, reconcile setting again\" earliestExpiringCert.notAfter=\"2026-11-23T00:00:00Z\" expiringInHours=24\n";
    let b = bundle(
        dir.path(),
        "v1.33.5+rke2r1",
        &[("x1", vec![])],
        &[
            (SETTINGS, list(&[server_version("v1.6.1")])),
            (
                "logs/harvester-system/harvester-6c9bd7-x4z8q/apiserver.log",
                log.to_string(),
            ),
        ],
    );
    let doc = run(&[&b]);
    let f = only_finding(&doc, "CERT014");
    assert_eq!(f["severity"], "high");
    assert_eq!(f["target"], "Service/default/kubernetes");
    let msg = f["message"].as_str().unwrap();
    assert!(msg.contains("upgrade guard of 7 days"), "{msg}");
    assert_eq!(f["evidence"][0]["pointer"], "line 1");
    pin(&doc, "CERT014", "fail-upgrade-guard");
}

#[test]
fn cert014_passes_when_a_later_ok_event_clears_the_warning() {
    let dir = tempfile::tempdir().unwrap();
    let events = list(&[
        event(
            "v1",
            "x1",
            "CertificateExpirationWarning",
            "2026-11-19T04:00:00Z",
            WARNING_SOON,
            "u-1",
        ),
        event(
            "v1",
            "x1",
            "CertificateExpirationOK",
            "2026-11-20T04:00:00Z",
            "Node certificates are OK",
            "u-2",
        ),
    ]);
    let b = bundle(
        dir.path(),
        "v1.33.5+rke2r1",
        &[("x1", vec![])],
        &[("yamls/namespaced/default/v1/events.yaml", events)],
    );
    let doc = run(&[&b]);
    assert_pass_pinned(&doc, "CERT014", "pass");
}

#[test]
fn cert014_is_not_evaluable_without_any_sign() {
    let dir = tempfile::tempdir().unwrap();
    let b = bundle(dir.path(), "v1.33.5+rke2r1", &[("x1", vec![])], &[]);
    let doc = run(&[&b]);
    assert_eq!(status(&doc, "CERT014"), "not-evaluable");
    assert!(
        coverage(&doc, "CERT014")["needs"]
            .as_str()
            .unwrap_or("")
            .contains("support bundle")
    );
    pin(&doc, "CERT014", "not-evaluable");
}

// ---------------------------------------------------------------- HARV004

fn rotation(asked: i64, done: i64) -> Vec<(&'static str, String)> {
    vec![
        (
            "yamls/namespaced/fleet-local/provisioning.cattle.io/v1/clusters.yaml",
            list(&[format!(
                "apiVersion: provisioning.cattle.io/v1\nkind: Cluster\nmetadata:\n  name: local\n  namespace: fleet-local\nspec:\n  rkeConfig:\n    rotateCertificates:\n      generation: {asked}"
            )]),
        ),
        (
            "yamls/namespaced/fleet-local/rke.cattle.io/v1/rkecontrolplanes.yaml",
            list(&[format!(
                "apiVersion: rke.cattle.io/v1\nkind: RKEControlPlane\nmetadata:\n  name: local\n  namespace: fleet-local\nstatus:\n  certificateRotationGeneration: {done}"
            )]),
        ),
    ]
}

#[test]
fn harv004_fails_when_the_cluster_asks_a_generation_the_control_plane_has_not_finished() {
    let dir = tempfile::tempdir().unwrap();
    let b = bundle(
        dir.path(),
        "v1.33.5+rke2r1",
        &[("x1", vec![])],
        &rotation(3, 2),
    );
    let doc = run(&[&b]);
    let f = only_finding(&doc, "HARV004");
    assert_eq!(f["severity"], "high");
    assert_eq!(f["target"], "Cluster/fleet-local/local");
    let msg = f["message"].as_str().unwrap();
    assert!(
        msg.contains("generation 3") && msg.contains("generation 2"),
        "{msg}"
    );
    assert_eq!(f["evidence"].as_array().unwrap().len(), 2);
    pin(&doc, "HARV004", "fail");
}

#[test]
fn harv004_fails_on_a_failed_or_stale_rotation_state() {
    let dir = tempfile::tempdir().unwrap();
    let mut files = rotation(2, 2);
    files.push((
        SETTINGS,
        list(&[
            "apiVersion: harvesterhci.io/v1beta1\nkind: Setting\nmetadata:\n  name: auto-rotate-rke2-certs\n  annotations:\n    harvesterhci.io/rke2-cert-rotation-state: '{\"generation\":2,\"phase\":\"cp-rotation\",\"currentNode\":\"x1\",\"startedAt\":\"2026-11-20T08:00:00Z\",\"updatedAt\":\"2026-11-20T09:00:00Z\"}'\nvalue: '{\"enable\":true,\"expiringInHours\":240}'".to_string(),
        ]),
    ));
    let b = bundle(dir.path(), "v1.33.5+rke2r1", &[("x1", vec![])], &files);
    let doc = run(&[&b]);
    let f = only_finding(&doc, "HARV004");
    assert_eq!(f["node"], "x1");
    let msg = f["message"].as_str().unwrap();
    assert!(
        msg.contains("phase cp-rotation") && msg.contains("1h 0m"),
        "{msg}"
    );
    pin(&doc, "HARV004", "fail-stale-rotation-state");
}

#[test]
fn harv004_passes_on_the_demo_and_is_not_evaluable_on_a_node_snapshot() {
    let doc = analyze(&support_bundle(), COLLECTED);
    assert_eq!(
        status(&doc, "HARV004"),
        "pass",
        "{}",
        coverage(&doc, "HARV004")
    );
    pin(&doc, "HARV004", "pass");
    let dir = tempfile::tempdir().unwrap();
    let s1 = healthy_s1(dir.path());
    let doc = run(&[&s1]);
    assert_eq!(status(&doc, "HARV004"), "not-evaluable");
    pin(&doc, "HARV004", "not-evaluable");
}

// ---------------------------------------------------------------- HOST004

fn chmod(p: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).unwrap();
}

const TLS: &str = "var/lib/rancher/rke2/server/tls";

/// `dir` as a tar archive beside it, with the modes its files have (an archive states them; a
/// directory input's modes are not judged).
fn tarred(dir: &Path) -> PathBuf {
    let out = dir.with_extension("tar");
    let mut b = tar::Builder::new(std::fs::File::create(&out).unwrap());
    b.follow_symlinks(false);
    b.append_dir_all(".", dir).unwrap();
    b.finish().unwrap();
    out
}

#[test]
fn host004_fails_on_a_readable_key_and_an_open_tls_directory() {
    let dir = tempfile::tempdir().unwrap();
    let s1 = healthy_s1(dir.path());
    chmod(&s1.join(TLS), 0o755);
    chmod(&s1.join(format!("{TLS}/server-ca.key")), 0o644);
    let doc = run(&[&tarred(&s1)]);
    assert_eq!(status(&doc, "HOST004"), "fail");
    let all = findings(&doc, "HOST004");
    assert_eq!(all.len(), 2, "{all:?}");
    let keys = all
        .iter()
        .find(|f| f["target"] == format!("{TLS}/*.key"))
        .expect("keys");
    assert_eq!(keys["severity"], "medium");
    assert_eq!(keys["node"], "s1");
    let msg = keys["message"].as_str().unwrap();
    assert!(msg.contains("server-ca.key (0644)"), "{msg}");
    assert!(!msg.contains("BEGIN"), "{msg}");
    let tls = all.iter().find(|f| f["target"] == TLS).expect("tls dir");
    assert!(tls["message"].as_str().unwrap().contains("0755"));
    pin(&doc, "HOST004", "fail");
}

#[test]
fn host004_passes_with_0600_keys_and_a_0700_tls_directory() {
    let dir = tempfile::tempdir().unwrap();
    let s1 = healthy_s1(dir.path());
    chmod(&s1.join(TLS), 0o700);
    let doc = run(&[&tarred(&s1)]);
    assert_eq!(
        status(&doc, "HOST004"),
        "pass",
        "{}",
        coverage(&doc, "HOST004")
    );
    pin(&doc, "HOST004", "pass");
}

#[test]
fn host004_does_not_judge_the_modes_of_a_snapshot_directory() {
    // A directory's modes say how it was copied (a checkout, `cp -r`), not what the node has.
    let dir = tempfile::tempdir().unwrap();
    let s1 = healthy_s1(dir.path());
    chmod(&s1.join(TLS), 0o755);
    chmod(&s1.join(format!("{TLS}/server-ca.key")), 0o644);
    let doc = run(&[&s1]);
    assert_eq!(status(&doc, "HOST004"), "not-evaluable");
    assert!(findings(&doc, "HOST004").is_empty());
    pin(&doc, "HOST004", "not-evaluable-snapshot-directory");
}

#[test]
fn host004_is_not_evaluable_on_a_support_bundle() {
    let doc = analyze(&support_bundle(), COLLECTED);
    assert_eq!(status(&doc, "HOST004"), "not-evaluable");
    pin(&doc, "HOST004", "not-evaluable");
}

// ---------------------------------------------------------------- KUBE

fn namespace(name: &str, labels: &[(&str, &str)]) -> String {
    let mut s = format!(
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {name}\n  labels:\n    kubernetes.io/metadata.name: {name}"
    );
    for (k, v) in labels {
        s.push_str(&format!("\n    {k}: {v}"));
    }
    s
}

fn kube_bundle(dir: &Path, kubernetes: &str, hardened: bool) -> PathBuf {
    let labels: &[(&str, &str)] = if hardened {
        &[("pod-security.kubernetes.io/enforce", "restricted")]
    } else {
        &[("pod-security.kubernetes.io/enforce", "privileged")]
    };
    let mut files = vec![
        (
            "yamls/cluster/v1/namespaces.yaml",
            list(&[
                namespace("kube-system", &[]),
                namespace("vms", labels),
                namespace("harvester-public", &[]),
            ]),
        ),
        (
            "yamls/namespaced/vms/v1/serviceaccounts.yaml",
            list(&[format!(
                "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: default\n  namespace: vms{}",
                if hardened {
                    "\nautomountServiceAccountToken: false"
                } else {
                    ""
                }
            )]),
        ),
    ];
    let policies = if hardened {
        vec![
            "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: deny-in\n  namespace: vms\nspec:\n  podSelector: {}\n  policyTypes:\n  - Ingress".to_string(),
            "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: deny-out\n  namespace: vms\nspec:\n  podSelector: {}\n  policyTypes:\n  - Egress".to_string(),
        ]
    } else {
        vec!["apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: web\n  namespace: vms\nspec:\n  podSelector:\n    matchLabels:\n      app: web\n  policyTypes:\n  - Ingress".to_string()]
    };
    files.push((
        "yamls/namespaced/vms/networking.k8s.io/v1/networkpolicies.yaml",
        list(&policies),
    ));
    bundle(dir, kubernetes, &[("x1", vec![])], &files)
}

#[test]
fn kube_rules_fail_on_an_open_workload_namespace() {
    let dir = tempfile::tempdir().unwrap();
    let doc = run(&[&kube_bundle(dir.path(), "v1.33.5+rke2r1", false)]);
    for (rule, severity, target) in [
        ("KUBE001", "low", "ServiceAccount/vms/default"),
        ("KUBE002", "medium", "Namespace/vms"),
        ("KUBE003", "medium", "Namespace/vms"),
    ] {
        let f = only_finding(&doc, rule);
        assert_eq!(f["severity"], severity, "{rule}");
        assert_eq!(f["target"], target, "{rule}");
        assert!(
            f["evidence"][0]["path"]
                .as_str()
                .unwrap()
                .contains("yamls/"),
            "{rule}"
        );
    }
    let kube002 = findings(&doc, "KUBE002")[0]["message"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(kube002.contains("enforce=privileged"), "{kube002}");
    let kube003 = findings(&doc, "KUBE003")[0]["message"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        kube003.contains("1 NetworkPolicy") && kube003.contains("Ingress and Egress"),
        "{kube003}"
    );
    for rule in ["KUBE001", "KUBE002", "KUBE003"] {
        pin(&doc, rule, "fail");
    }
}

#[test]
fn kube_rules_pass_on_a_hardened_workload_namespace() {
    let dir = tempfile::tempdir().unwrap();
    let doc = run(&[&kube_bundle(dir.path(), "v1.33.5+rke2r1", true)]);
    for rule in ["KUBE001", "KUBE002", "KUBE003"] {
        assert_eq!(status(&doc, rule), "pass", "{}", coverage(&doc, rule));
        pin(&doc, rule, "pass");
    }
}

#[test]
fn kube_rules_no_longer_judge_a_namespace_excluded_by_the_option() {
    let dir = tempfile::tempdir().unwrap();
    let path = kube_bundle(dir.path(), "v1.33.5+rke2r1", false)
        .to_string_lossy()
        .into_owned();
    // `vms` excluded by a glob (with a pattern that matches nothing beside it): not judged.
    let doc = analyze(
        &[
            path.clone(),
            "--workload-namespaces-exclude".into(),
            "team-?,v*s".into(),
        ],
        COLLECTED,
    );
    for rule in ["KUBE001", "KUBE002", "KUBE003"] {
        assert_eq!(
            status(&doc, rule),
            "not-applicable",
            "{}",
            coverage(&doc, rule)
        );
        assert!(findings(&doc, rule).is_empty(), "{rule}");
        let reason = coverage(&doc, rule)["reason"].as_str().unwrap();
        assert!(reason.contains("--workload-namespaces-exclude"), "{reason}");
        pin(&doc, rule, "not-applicable-excluded-by-the-option");
    }
    // A pattern that does not match the whole name excludes nothing; repeated flags add up.
    let doc = analyze(
        &[
            path.clone(),
            "--workload-namespaces-exclude".into(),
            "vm".into(),
            "--workload-namespaces-exclude".into(),
            "x*".into(),
        ],
        COLLECTED,
    );
    for rule in ["KUBE001", "KUBE002", "KUBE003"] {
        assert_eq!(status(&doc, rule), "fail", "{}", coverage(&doc, rule));
        pin(&doc, rule, "fail-exclusion-matching-nothing");
    }
    // A pattern that cannot name a namespace is a usage error.
    support::Test::new()
        .arg("analyze")
        .arg(&path)
        .args(["--workload-namespaces-exclude", "VMs!"])
        .run()
        .code(2)
        .stderr_has("namespace pattern");
}

#[test]
fn kube_rules_are_not_applicable_without_workload_namespaces_or_psa() {
    // The demo has system namespaces only.
    let doc = analyze(&support_bundle(), COLLECTED);
    for rule in ["KUBE001", "KUBE002", "KUBE003"] {
        assert_eq!(
            status(&doc, rule),
            "not-applicable",
            "{}",
            coverage(&doc, rule)
        );
        pin(&doc, rule, "not-applicable");
    }
    let dir = tempfile::tempdir().unwrap();
    let doc = run(&[&kube_bundle(dir.path(), "v1.22.9+rke2r1", false)]);
    assert_eq!(status(&doc, "KUBE002"), "not-applicable");
    assert!(
        coverage(&doc, "KUBE002")["reason"]
            .as_str()
            .unwrap()
            .contains("1.23")
    );
    pin(&doc, "KUBE002", "not-applicable-before-kubernetes-1-23");
}

/// `rules` are not evaluable on `doc` for want of the bundle's Namespace list; pinned as `case`.
fn not_evaluable_without_namespaces(doc: &serde_json::Value, rules: &[&str], case: &str) {
    for rule in rules {
        assert_eq!(
            status(doc, rule),
            "not-evaluable",
            "{}",
            coverage(doc, rule)
        );
        let reason = coverage(doc, rule)["reason"].as_str().unwrap();
        assert!(reason.contains("namespaces.yaml"), "{reason}");
        assert!(findings(doc, rule).is_empty(), "{rule}");
        pin(doc, rule, case);
    }
}

#[test]
fn kube_rules_are_not_evaluable_on_a_bundle_without_namespaces() {
    // Kubernetes 1.33 has Pod Security Admission: KUBE002 applies, but which namespaces are
    // workload ones is unknown without the Namespace list.
    let dir = tempfile::tempdir().unwrap();
    let b = bundle(dir.path(), "v1.33.5+rke2r1", &[("x1", vec![])], &[]);
    let doc = run(&[&b]);
    not_evaluable_without_namespaces(
        &doc,
        &["KUBE001", "KUBE002", "KUBE003"],
        "not-evaluable-bundle-without-namespaces",
    );
}

#[test]
fn kube_rules_are_not_evaluable_without_namespaces() {
    let dir = tempfile::tempdir().unwrap();
    let s1 = healthy_s1(dir.path());
    let doc = run(&[&s1]);
    not_evaluable_without_namespaces(&doc, &["KUBE001", "KUBE003"], "not-evaluable");
}

// ---------------------------------------------------------------- BUNDLE

#[test]
fn bundle003_an_entry_over_the_entry_limit_is_refused_naming_input_and_entry() {
    let dir = tempfile::tempdir().unwrap();
    let node = "apiVersion: v1\nkind: Node\nmetadata:\n  name: x1\n".to_string();
    let nodes = list(&vec![node; 200]);
    assert!(nodes.len() > 8192, "{}", nodes.len());
    let b = bundle(
        dir.path(),
        "v1.33.5+rke2r1",
        &[("x1", vec![])],
        &[("yamls/cluster/v1/nodes.yaml", nodes)],
    );
    let doc = analyze(
        &[
            b.to_string_lossy().into_owned(),
            "--max-entry-bytes".into(),
            "8192".into(),
        ],
        COLLECTED,
    );
    let f = only_finding(&doc, "BUNDLE003");
    assert_eq!(f["severity"], "high");
    assert_eq!(
        f["evidence"][0]["path"],
        format!("{TOP}/yamls/cluster/v1/nodes.yaml")
    );
    let msg = f["message"].as_str().unwrap();
    assert!(msg.contains("--max-entry-bytes"), "{msg}");
    // The rest of the bundle is read: its metadata gives the Kubernetes version.
    assert_eq!(doc["cluster"]["kubernetes_version"], "v1.33.5+rke2r1");
    pin(&doc, "BUNDLE003", "fail-entry-over-the-limit");
}

#[test]
fn bundle_rules_judge_the_demo_bundle_read_in_full() {
    let doc = analyze(&support_bundle(), COLLECTED);
    for rule in ["BUNDLE002", "BUNDLE003"] {
        assert_eq!(status(&doc, rule), "pass", "{}", coverage(&doc, rule));
        assert!(findings(&doc, rule).is_empty(), "{rule}");
        pin(&doc, rule, "pass");
    }
    // The demo's collector masks every secret: content blocks, the installer log and the
    // registration token's status included.
    assert_pass_pinned(&doc, "BUNDLE001", "pass-demo-bundle");
    // The witness bundle's collector is v1.7.0's, with its gaps (reference/harvester-bundle.md
    // §4): on every node the token of the `90_custom.yaml` content block and the token and
    // password hash of `install/console.log`, and the registration token's status.token.
    let witness: Vec<String> = support::inputs_in("bundles/witness")
        .into_iter()
        .filter(|p| p.ends_with(".zip"))
        .collect();
    let doc = analyze(&witness, "2026-11-20T10:30:00Z");
    assert_eq!(status(&doc, "BUNDLE001"), "fail");
    let leaks = findings(&doc, "BUNDLE001");
    assert!(leaks.iter().all(|f| f["severity"] == "high"));
    let at = |needle: &str| {
        leaks
            .iter()
            .filter(|f| {
                f["evidence"][0]["path"]
                    .as_str()
                    .is_some_and(|p| p.contains(needle))
            })
            .count()
    };
    assert_eq!(at("oem/90_custom.yaml"), 4, "{leaks:?}");
    assert_eq!(at("oem/install/console.log"), 8, "{leaks:?}");
    assert_eq!(at("clusterregistrationtokens.yaml"), 1, "{leaks:?}");
    pin(&doc, "BUNDLE001", "fail-witness-bundle");
}

#[test]
fn bundle_rules_on_a_node_snapshot_alone() {
    let dir = tempfile::tempdir().unwrap();
    let s1 = healthy_s1(dir.path());
    let doc = run(&[&s1]);
    // No bundle: nothing a collector could leave unmasked or incomplete.
    for rule in ["BUNDLE001", "BUNDLE002"] {
        assert_eq!(
            status(&doc, rule),
            "not-applicable",
            "{}",
            coverage(&doc, rule)
        );
        pin(&doc, rule, "not-applicable");
    }
    // Every entry of the snapshot is still judged for refusal.
    assert_eq!(status(&doc, "BUNDLE003"), "pass");
    pin(&doc, "BUNDLE003", "pass-node-snapshot");
}
