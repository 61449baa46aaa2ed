//! Harvester rules through `harrow analyze -o json`: RKE2 certificate auto-rotation disabled
//! (HARV001), an HTTP proxy set in `/oem` files outside the `http-proxy` setting (HARV003), nodes
//! the bundle lists but cannot show (HARV005).
//!
//! Each case rewrites a temporary copy of the demo support bundle (its settings, its Node list,
//! the `/oem` files of a node zip) with the `zip` crate; `bundles/` is never modified.

// clippy.toml lets #[test] functions unwrap, panic and print; this lets their helpers too.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stderr
)]

mod rules_common;
mod support;

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use rules_common::{
    COLLECTED, analyze, assert_pass_pinned, coverage, findings, healthy_s1, pin, status,
};
use support::{Test, corpus_bundle, inputs_in};

const SETTINGS: &str = "yamls/cluster/harvesterhci.io/v1beta1/settings.yaml";
const NODES: &str = "yamls/cluster/v1/nodes.yaml";
/// The proxy URL of the demo's `http-proxy` setting.
const DEMO_PROXY: &str = "http://proxy.corp.example:3128";
/// A proxy URL with credentials, which no output may show.
const SECRET_PROXY: &str = "http://squid-user:Pr0xyPa55@10.9.9.9:3128";

/// The demo support bundle.
fn demo_zip() -> PathBuf {
    PathBuf::from(
        inputs_in("bundles/demo")
            .into_iter()
            .find(|p| p.ends_with(".zip"))
            .expect("demo bundle"),
    )
}

/// The entries of a zip, in order: (name, bytes); directories have no bytes.
fn read_zip(data: &[u8]) -> Vec<(String, Option<Vec<u8>>)> {
    let mut z = zip::ZipArchive::new(std::io::Cursor::new(data)).expect("zip");
    (0..z.len())
        .map(|i| {
            let mut f = z.by_index(i).expect("entry");
            let name = f.name().expect("name").to_string();
            if f.is_dir() {
                return (name, None);
            }
            let mut buf = Vec::new();
            f.read_to_end(&mut buf).expect("read");
            (name, Some(buf))
        })
        .collect()
}

fn write_zip(entries: &[(String, Option<Vec<u8>>)]) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let o = zip::write::SimpleFileOptions::default();
    for (name, data) in entries {
        match data {
            None => w.add_directory(name.trim_end_matches('/'), o).expect("dir"),
            Some(d) => {
                w.start_file(name.as_str(), o).expect("file");
                w.write_all(d).expect("write");
            }
        }
    }
    w.finish().expect("zip").into_inner()
}

/// A copy of the demo bundle in `dir`, each entry passed through `edit` (given the path under the
/// bundle's top folder and the bytes; `None` drops the entry), plus `extra` entries.
fn demo_with(
    dir: &Path,
    edit: impl Fn(&str, Vec<u8>) -> Option<Vec<u8>>,
    extra: &[(&str, &[u8])],
) -> String {
    let src = demo_zip();
    let entries = read_zip(&std::fs::read(&src).expect("demo"));
    let top = entries[0].0.split('/').next().expect("top").to_string();
    let mut out = Vec::new();
    for (name, data) in entries {
        let rel = name.strip_prefix(&format!("{top}/")).unwrap_or(&name);
        match data {
            None => out.push((name, None)),
            Some(d) => {
                if let Some(d) = edit(rel, d) {
                    out.push((name, Some(d)));
                }
            }
        }
    }
    for (rel, data) in extra {
        out.push((format!("{top}/{rel}"), Some(data.to_vec())));
    }
    let path = dir.join(src.file_name().expect("name"));
    std::fs::write(&path, write_zip(&out)).expect("write");
    path.to_string_lossy().into_owned()
}

/// A copy of the demo bundle in `dir` with the entry at `rel` passed through `edit`.
fn demo_editing(dir: &Path, rel: &str, edit: impl Fn(Vec<u8>) -> Vec<u8>) -> String {
    demo_with(dir, |p, d| Some(if p == rel { edit(d) } else { d }), &[])
}

/// The coverage reason of `rule`.
fn reason(doc: &serde_json::Value, rule: &str) -> String {
    coverage(doc, rule)["reason"]
        .as_str()
        .unwrap_or("")
        .to_string()
}

/// The message of the first finding of `rule`.
fn first_message(doc: &serde_json::Value, rule: &str) -> String {
    findings(doc, rule)
        .first()
        .and_then(|f| f["message"].as_str())
        .unwrap_or("")
        .to_string()
}

/// Node zip `name` of the demo with `files` added (paths under the node's folder).
fn node_zip_with(zip: Vec<u8>, node: &str, files: &[(&str, &str)]) -> Vec<u8> {
    let mut entries = read_zip(&zip);
    for (rel, text) in files {
        entries.push((format!("{node}/{rel}"), Some(text.as_bytes().to_vec())));
    }
    write_zip(&entries)
}

/// `text` with `from` replaced by `to`, asserting the fixture still holds `from`.
fn replace(text: &[u8], from: &str, to: &str) -> Vec<u8> {
    let s = String::from_utf8(text.to_vec()).expect("utf-8");
    assert!(s.contains(from), "fixture changed: no {from:?}");
    s.replacen(from, to, 1).into_bytes()
}

/// The demo's `auto-rotate-rke2-certs` item with `value:` set.
fn auto_rotate_value(settings: &[u8], value: &str) -> Vec<u8> {
    let default = "  default: '{\"enable\":false,\"expiringInHours\":240}'\n";
    replace(settings, default, &format!("{default}  value: {value}\n"))
}

/// The demo's `server-version` setting set to `v`.
fn server_version(settings: &[u8], v: &str) -> Vec<u8> {
    replace(settings, "value: v1.6.1", &format!("value: {v}"))
}

fn analyze_one(input: &str) -> serde_json::Value {
    analyze(&[input.to_string()], COLLECTED)
}

#[test]
fn harv001_fails_on_the_demo_whose_setting_keeps_its_default() {
    let doc = analyze_one(&demo_zip().to_string_lossy());
    assert_eq!(status(&doc, "HARV001"), "fail");
    let all = findings(&doc, "HARV001");
    assert_eq!(all.len(), 1, "{all:?}");
    let f = all[0];
    assert_eq!(f["severity"], "medium");
    assert_eq!(f["target"], "settings/auto-rotate-rke2-certs");
    let msg = f["message"].as_str().unwrap_or("");
    assert!(msg.contains("default") && msg.contains("240"), "{msg}");
    assert!(
        f["evidence"][0]["pointer"]
            .as_str()
            .unwrap_or("")
            .ends_with(".default"),
        "{f}"
    );
    pin(&doc, "HARV001", "fail");
}

#[test]
fn harv001_null_value_falls_back_to_the_default_and_fails() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let b = demo_editing(tmp.path(), SETTINGS, |d| auto_rotate_value(&d, "\"null\""));
    let doc = analyze_one(&b);
    assert_eq!(status(&doc, "HARV001"), "fail");
    let msg = first_message(&doc, "HARV001");
    assert!(msg.contains("default (value empty)"), "{msg}");
    pin(&doc, "HARV001", "fail-null-value");
}

#[test]
fn harv001_passes_when_enabled_with_hours_printed_as_a_float() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let b = demo_editing(tmp.path(), SETTINGS, |d| {
        auto_rotate_value(&d, r#"'{"enable":true,"expiringInHours":2.4e+02}'"#)
    });
    let doc = analyze_one(&b);
    assert_eq!(
        status(&doc, "HARV001"),
        "pass",
        "{}",
        coverage(&doc, "HARV001")
    );
    assert!(findings(&doc, "HARV001").is_empty());
    let why = reason(&doc, "HARV001");
    assert!(why.contains("240"), "{why}");
    pin(&doc, "HARV001", "pass");
}

#[test]
fn harv001_explicitly_disabled_value_fails() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let b = demo_editing(tmp.path(), SETTINGS, |d| {
        auto_rotate_value(&d, r#"'{"enable":false,"expiringInHours":480}'"#)
    });
    let doc = analyze_one(&b);
    let msg = first_message(&doc, "HARV001");
    assert!(
        msg.contains("its value has enable false (expiringInHours 480)"),
        "{msg}"
    );
    pin(&doc, "HARV001", "fail-disabled");
}

#[test]
fn harv001_not_evaluable_without_settings() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let b = demo_with(tmp.path(), |p, d| (p != SETTINGS).then_some(d), &[]);
    let doc = analyze_one(&b);
    assert_eq!(status(&doc, "HARV001"), "not-evaluable");
    assert_eq!(
        coverage(&doc, "HARV001")["needs"],
        "a Harvester support bundle of the cluster"
    );
    pin(&doc, "HARV001", "not-evaluable");
    // A node snapshot has no settings either.
    let s1 = healthy_s1(tmp.path());
    let doc = analyze(&[s1.to_string_lossy().into_owned()], COLLECTED);
    assert_eq!(status(&doc, "HARV001"), "not-evaluable");
    pin(&doc, "HARV001", "not-evaluable-node-snapshot");
}

#[test]
fn harv001_not_applicable_before_harvester_1_3_0() {
    let tmp = tempfile::tempdir().expect("tempdir");
    // A v1.2 bundle: settings collected, no auto-rotate setting yet.
    let b = demo_editing(tmp.path(), SETTINGS, |d| {
        let s = server_version(&d, "v1.2.2");
        replace(
            &s,
            "name: auto-rotate-rke2-certs",
            "name: some-older-setting",
        )
    });
    let doc = analyze_one(&b);
    assert_eq!(status(&doc, "HARV001"), "not-applicable");
    let why = reason(&doc, "HARV001");
    assert!(why.contains("v1.2.2") && why.contains("v1.3.0"), "{why}");
    pin(&doc, "HARV001", "not-applicable");
}

#[test]
fn harv001_a_missing_setting_on_a_version_that_has_it_is_not_evaluable() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let b = demo_editing(tmp.path(), SETTINGS, |d| {
        replace(
            &d,
            "name: auto-rotate-rke2-certs",
            "name: some-other-setting",
        )
    });
    let doc = analyze_one(&b);
    assert_eq!(status(&doc, "HARV001"), "not-evaluable");
    let why = reason(&doc, "HARV001");
    assert!(why.contains("v1.6.1"), "{why}");
    pin(&doc, "HARV001", "not-evaluable-setting-missing");
}

#[test]
fn harv001_corpus_bundle_of_2022_is_not_evaluable() {
    let Some(bundle) = corpus_bundle() else {
        eprintln!("corpus bundle absent: skipped");
        return;
    };
    let doc = analyze_one(&bundle.to_string_lossy());
    assert_eq!(status(&doc, "HARV001"), "not-evaluable");
    assert_eq!(status(&doc, "HARV003"), "pass");
    assert_eq!(status(&doc, "HARV005"), "pass");
}

/// The demo bundle with `files` added to node zip `node`.
fn demo_with_oem(dir: &Path, node: &str, files: &[(&str, &str)]) -> String {
    demo_editing(dir, &format!("nodes/{node}.zip"), |d| {
        node_zip_with(d, node, files)
    })
}

#[test]
fn harv003_passes_on_the_demo() {
    let doc = analyze(&inputs_in("bundles/demo"), COLLECTED);
    assert_eq!(
        status(&doc, "HARV003"),
        "pass",
        "{}",
        coverage(&doc, "HARV003")
    );
    pin(&doc, "HARV003", "pass");
}

#[test]
fn harv003_fails_for_a_proxy_in_oem_that_the_setting_does_not_hold() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let cfg = format!(
        "name: proxy\nstages:\n  initramfs:\n    - environment:\n        HTTP_PROXY: {SECRET_PROXY}\n        NO_PROXY: localhost\n      files:\n        - path: /etc/sysconfig/proxy\n          content: |\n            PROXY_ENABLED=\"yes\"\n            HTTPS_PROXY=\"{DEMO_PROXY}\"\n"
    );
    let b = demo_with_oem(tmp.path(), "n2", &[("configs/oem/95_proxy.yaml", &cfg)]);
    let doc = analyze_one(&b);
    assert_eq!(status(&doc, "HARV003"), "fail");
    let all = findings(&doc, "HARV003");
    // The HTTPS proxy repeats the setting's value: only the HTTP one is reported.
    assert_eq!(all.len(), 1, "{all:?}");
    let f = all[0];
    assert_eq!(f["severity"], "low");
    assert_eq!(f["node"], "n2");
    assert_eq!(f["target"], "oem/95_proxy.yaml:5");
    let msg = f["message"].as_str().unwrap_or("");
    assert!(
        msg.contains("HTTP_PROXY") && msg.contains("different HTTP proxy"),
        "{msg}"
    );
    pin(&doc, "HARV003", "fail");
    // The proxy's credentials reach no output format.
    for fmt in ["json", "text", "sarif"] {
        let out = Test::new()
            .args([
                "analyze",
                b.as_str(),
                "-o",
                fmt,
                "--fail-on",
                "none",
                "--at",
                COLLECTED,
            ])
            .run();
        let out = out.code(0);
        assert!(!out.stdout.is_empty(), "{fmt}: no output");
        assert!(
            !out.stdout.contains("Pr0xyPa55") && !out.stderr.contains("Pr0xyPa55"),
            "{fmt} shows the proxy password"
        );
    }
}

#[test]
fn harv003_proxy_in_oem_without_the_setting_fails() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let b = demo_with(
        tmp.path(),
        |p, d| {
            Some(match p {
                SETTINGS => replace(
                    &d,
                    &format!("\"httpProxy\":\"{DEMO_PROXY}\",\"httpsProxy\":\"{DEMO_PROXY}\","),
                    "",
                ),
                "nodes/w1.zip" => node_zip_with(
                    d,
                    "w1",
                    &[(
                        "configs/oem/proxy.config",
                        "os:\n  environment:\n    https_proxy: http://p:1\n",
                    )],
                ),
                _ => d,
            })
        },
        &[],
    );
    let doc = analyze_one(&b);
    let all = findings(&doc, "HARV003");
    assert_eq!(all.len(), 1, "{all:?}");
    assert_eq!(all[0]["node"], "w1");
    let msg = all[0]["message"].as_str().unwrap_or("");
    assert!(msg.contains("sets no proxy"), "{msg}");
    pin(&doc, "HARV003", "fail-proxy-without-the-setting");
}

#[test]
fn harv003_not_evaluable_without_oem_files() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let b = demo_with(
        tmp.path(),
        |p, d| (!p.starts_with("nodes/")).then_some(d),
        &[],
    );
    let doc = analyze_one(&b);
    assert_eq!(status(&doc, "HARV003"), "not-evaluable");
    pin(&doc, "HARV003", "not-evaluable");
}

/// The demo's Node list with node `name`'s Ready condition set to `status`.
fn ready_status(nodes: &[u8], name: &str, status: &str) -> Vec<u8> {
    let s = String::from_utf8(nodes.to_vec()).expect("utf-8");
    let items: Vec<&str> = s.split("\n- apiVersion").collect();
    let ready = "message: kubelet is posting ready status\n      reason: KubeletReady\n      status: \"True\"\n      type: Ready";
    let not_ready = format!(
        "message: Kubelet stopped posting node status.\n      reason: NodeStatusUnknown\n      status: \"{status}\"\n      type: Ready"
    );
    let edited: Vec<String> = items
        .iter()
        .map(|it| {
            if it.contains(&format!("\n    name: {name}\n")) {
                assert!(it.contains(ready), "fixture changed");
                it.replacen(ready, &not_ready, 1)
            } else {
                it.to_string()
            }
        })
        .collect();
    edited.join("\n- apiVersion").into_bytes()
}

#[test]
fn harv005_passes_on_the_demo() {
    let doc = analyze_one(&demo_zip().to_string_lossy());
    assert_eq!(
        status(&doc, "HARV005"),
        "pass",
        "{}",
        coverage(&doc, "HARV005")
    );
    pin(&doc, "HARV005", "pass");
}

#[test]
fn harv005_reports_a_not_ready_node() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let b = demo_editing(tmp.path(), NODES, |d| ready_status(&d, "n3", "Unknown"));
    let doc = analyze_one(&b);
    assert_eq!(status(&doc, "HARV005"), "fail");
    let all = findings(&doc, "HARV005");
    assert_eq!(all.len(), 1, "{all:?}");
    assert_eq!(all[0]["severity"], "info");
    assert_eq!(all[0]["node"], "n3");
    assert_eq!(all[0]["target"], "Node/n3");
    let msg = all[0]["message"].as_str().unwrap_or("");
    assert!(
        msg.contains("NotReady (Ready=Unknown, reason NodeStatusUnknown"),
        "{msg}"
    );
    pin(&doc, "HARV005", "fail");
}

#[test]
fn harv005_reports_a_listed_node_without_its_zip_and_bundle002_does_not() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let b = demo_with(tmp.path(), |p, d| (p != "nodes/w2.zip").then_some(d), &[]);
    let doc = analyze_one(&b);
    let all = findings(&doc, "HARV005");
    assert_eq!(all.len(), 1, "{all:?}");
    assert_eq!(all[0]["node"], "w2");
    let msg = all[0]["message"].as_str().unwrap_or("");
    assert!(msg.contains("without a node zip (nodes/w2.zip)"), "{msg}");
    assert!(
        findings(&doc, "BUNDLE002")
            .iter()
            .all(|f| !f["message"].as_str().unwrap_or("").contains("w2")),
        "BUNDLE002 repeats the missing zip"
    );
    pin(&doc, "HARV005", "fail-node-without-its-zip");
    // A node snapshot of w2 supplies what the zip would have: nothing is missing.
    let mut inputs = vec![b];
    inputs.extend(
        inputs_in("bundles/demo")
            .into_iter()
            .filter(|p| p.ends_with("w2.tgz")),
    );
    let doc = analyze(&inputs, COLLECTED);
    assert!(
        findings(&doc, "HARV005").is_empty(),
        "{:?}",
        findings(&doc, "HARV005")
    );
    pin(&doc, "HARV005", "pass-snapshot-instead-of-the-zip");
}

#[test]
fn harv005_leaves_a_bundle_without_nodes_folder_to_bundle002() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let b = demo_with(
        tmp.path(),
        |p, d| (!p.starts_with("nodes/")).then_some(d),
        &[],
    );
    // The copy keeps the `nodes/` directory entry: drop it too.
    let data = std::fs::read(&b).expect("read");
    let entries: Vec<_> = read_zip(&data)
        .into_iter()
        .filter(|(n, _)| !n.trim_end_matches('/').ends_with("/nodes"))
        .collect();
    std::fs::write(&b, write_zip(&entries)).expect("write");
    let doc = analyze_one(&b);
    assert_eq!(status(&doc, "HARV005"), "pass");
    assert!(findings(&doc, "HARV005").is_empty());
    let why = reason(&doc, "HARV005");
    assert!(why.contains("no nodes/ folder (BUNDLE002)"), "{why}");
    pin(&doc, "HARV005", "pass-no-nodes-folder");
    assert!(
        findings(&doc, "BUNDLE002").iter().any(|f| f["title"]
            .as_str()
            .unwrap_or("")
            .contains("no nodes/")
            || f["message"].as_str().unwrap_or("").contains("no nodes/")),
        "{:?}",
        findings(&doc, "BUNDLE002")
    );
}

#[test]
fn harv005_not_evaluable_without_node_objects() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let s1 = healthy_s1(tmp.path());
    let doc = analyze(&[s1.to_string_lossy().into_owned()], COLLECTED);
    assert_eq!(status(&doc, "HARV005"), "not-evaluable");
    pin(&doc, "HARV005", "not-evaluable-node-snapshot");
    let b = demo_with(tmp.path(), |p, d| (p != NODES).then_some(d), &[]);
    let doc = analyze_one(&b);
    assert_eq!(status(&doc, "HARV005"), "not-evaluable");
    pin(&doc, "HARV005", "not-evaluable");
}

/// The demo's Node objects with `n1`'s address moved out of 10.0.0.0/8.
fn n1_outside_ten(nodes: &[u8]) -> Vec<u8> {
    let s = String::from_utf8(nodes.to_vec()).expect("utf-8");
    assert!(s.contains("address: 10.0.0.11"), "fixture changed");
    s.replace("10.0.0.11", "192.168.5.11").into_bytes()
}

#[test]
fn harv002_passes_on_the_demo_whose_node_ips_sit_in_harvesters_ten_slash_eight() {
    let doc = analyze_one(&demo_zip().to_string_lossy());
    assert_pass_pinned(&doc, "HARV002", "pass");
}

#[test]
fn harv002_uncovered_node_ip_fails_high_without_showing_the_proxy() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let b = demo_with(
        tmp.path(),
        |p, d| {
            Some(match p {
                NODES => n1_outside_ten(&d),
                SETTINGS => replace(&d, DEMO_PROXY, SECRET_PROXY),
                _ => d,
            })
        },
        &[],
    );
    let out = Test::new()
        .arg("analyze")
        .arg(&b)
        .args(["-o", "json", "--fail-on", "none", "--at", COLLECTED])
        .run()
        .code(0);
    let doc = out.json();
    assert_eq!(status(&doc, "HARV002"), "fail");
    let all = findings(&doc, "HARV002");
    assert_eq!(all.len(), 1, "{all:?}");
    let f = all[0];
    assert_eq!(f["severity"], "high");
    assert_eq!(f["target"], "http-proxy");
    let msg = f["message"].as_str().unwrap_or("");
    assert!(msg.contains("192.168.5.11 (node n1)"), "{msg}");
    assert!(!msg.contains("10.0.0.12"), "{msg}");
    let text = doc.to_string();
    assert!(!text.contains("Pr0xyPa55") && !text.contains("squid-user"));
    assert!(
        f["evidence"][0]["pointer"]
            .as_str()
            .unwrap_or("")
            .ends_with(".value")
    );
    pin(&doc, "HARV002", "fail");
}

#[test]
fn harv002_not_applicable_without_a_proxy_not_evaluable_without_settings() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let b = demo_editing(tmp.path(), SETTINGS, |d| {
        let s = String::from_utf8(d).expect("utf-8");
        let line = s
            .lines()
            .find(|l| l.contains("\"httpProxy\""))
            .expect("http-proxy value")
            .to_string();
        s.replace(&line, "  value: '{}'").into_bytes()
    });
    let doc = analyze_one(&b);
    assert_eq!(status(&doc, "HARV002"), "not-applicable");
    pin(&doc, "HARV002", "not-applicable");
    let s1 = healthy_s1(tmp.path());
    let doc = analyze(&[s1.to_string_lossy().into_owned()], COLLECTED);
    assert_eq!(status(&doc, "HARV002"), "not-evaluable");
    pin(&doc, "HARV002", "not-evaluable");
}
