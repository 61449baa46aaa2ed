//! `harrow collect --root DIR`: the healthy fixture's node snapshot, unpacked as a fake node
//! tree, collected again gives the same certificate findings, the same certificates and the
//! same coverage verdicts as the original snapshot (with private keys replaced by their
//! `.pub-fingerprint` files, SAKEY003, which needs a key's size, becomes not evaluable); without
//! `--include-private-keys` no private key is in the output, with it the keys are kept.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stderr
)]

mod export_common;
mod support;

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use export_common::{AT, analyze, cert_findings, fingerprints};
use serde_json::Value;
use support::{Test, root};

const S1: &str = "bundles/fixtures/healthy/s1.tgz";

/// The fixture unpacked as a node's root (its `snapshot.yaml` is not a host file).
fn fake_root(dir: &Path) -> PathBuf {
    let out = dir.join("root");
    let f = std::fs::File::open(root().join(S1)).unwrap();
    let mut a = tar::Archive::new(flate2::read::GzDecoder::new(f));
    a.set_preserve_permissions(true);
    a.unpack(&out).unwrap();
    std::fs::remove_file(out.join("snapshot.yaml")).unwrap();
    out
}

fn collect(root_dir: &Path, out: &Path, extra: &[&str]) -> support::Run {
    Test::new()
        .arg("collect")
        .arg("--root")
        .arg(root_dir.display().to_string())
        .arg("--out")
        .arg(out.display().to_string())
        .args(["--node", "s1", "--at", AT])
        .args(extra)
        .run()
        .code(0)
}

fn coverage(doc: &Value) -> BTreeMap<String, String> {
    doc["coverage"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["rule"].as_str().unwrap().to_string(),
                c["status"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// Every regular file of a tar.gz: (path, bytes, mode).
fn files(tgz: &Path) -> Vec<(String, Vec<u8>, u32)> {
    let f = std::fs::File::open(tgz).unwrap();
    let mut a = tar::Archive::new(flate2::read::GzDecoder::new(f));
    let mut out = Vec::new();
    for e in a.entries().unwrap() {
        let mut e = e.unwrap();
        if e.header().entry_type() != tar::EntryType::Regular {
            continue;
        }
        let p = e.path().unwrap().to_string_lossy().into_owned();
        let mode = e.header().mode().unwrap();
        let mut b = Vec::new();
        e.read_to_end(&mut b).unwrap();
        out.push((p, b, mode));
    }
    out
}

#[test]
fn a_collected_fake_node_analyzes_like_the_original_snapshot() {
    let dir = tempfile::tempdir().unwrap();
    let r = fake_root(dir.path());
    let original = analyze(S1);
    for (flags, differs) in [
        (&["--no-commands"][..], &["SAKEY003"][..]),
        (&["--no-commands", "--include-private-keys"][..], &[][..]),
    ] {
        let out = dir.path().join("s1-collected.tgz");
        collect(&r, &out, flags);
        let doc = analyze(&out.display().to_string());
        assert_eq!(cert_findings(&original), cert_findings(&doc), "{flags:?}");
        assert_eq!(fingerprints(&original), fingerprints(&doc), "{flags:?}");
        let (a, b) = (coverage(&original), coverage(&doc));
        for (rule, status) in &a {
            if differs.contains(&rule.as_str()) {
                assert_eq!(b[rule], "not-evaluable", "{rule} {flags:?}");
            } else {
                assert_eq!(status, &b[rule], "{rule} {flags:?}");
            }
        }
        assert_eq!(a.len(), b.len());
    }
}

#[test]
fn private_keys_are_left_out_unless_asked_for_and_modes_are_kept() {
    let dir = tempfile::tempdir().unwrap();
    let r = fake_root(dir.path());
    let out = dir.path().join("s1.tgz");
    collect(&r, &out, &["--no-commands"]);
    let fs = files(&out);
    for (p, data, _) in &fs {
        assert!(
            memchr::memmem::find(data, b"PRIVATE KEY").is_none(),
            "a private key in {p}"
        );
        assert!(!p.ends_with(".key"), "{p}");
    }
    let get = |name: &str| fs.iter().find(|(p, _, _)| p == name).unwrap();
    let (_, fp, mode) = get("var/lib/rancher/rke2/server/tls/server-ca.key.pub-fingerprint");
    assert_eq!(String::from_utf8_lossy(fp).trim().len(), 64);
    assert_eq!(*mode & 0o777, 0o600);
    let (_, token, _) = get("var/lib/rancher/rke2/server/token");
    assert!(String::from_utf8_lossy(token).contains("::server:hm:"));
    let (_, manifest, _) = get("snapshot.yaml");
    let manifest = String::from_utf8_lossy(manifest);
    for want in [
        "node: \"s1\"",
        "role: \"server\"",
        "rke2_version: \"unknown\"",
        "collected_at: \"2026-11-20T10:00:00Z\"",
        "reason: private-key",
        "with: \"var/lib/rancher/rke2/server/tls/server-ca.key.pub-fingerprint\"",
    ] {
        assert!(manifest.contains(want), "{want}: {manifest}");
    }
    let with_keys = dir.path().join("s1-keys.tgz");
    collect(&r, &with_keys, &["--no-commands", "--include-private-keys"]);
    let fs = files(&with_keys);
    let (_, key, _) = fs
        .iter()
        .find(|(p, _, _)| p == "var/lib/rancher/rke2/server/tls/server-ca.key")
        .unwrap();
    assert!(memchr::memmem::find(key, b"PRIVATE KEY").is_some());
    // Tokens are replaced either way.
    let (_, token, _) = fs
        .iter()
        .find(|(p, _, _)| p == "var/lib/rancher/rke2/server/token")
        .unwrap();
    assert!(String::from_utf8_lossy(token).contains("::server:hm:"));
}

#[test]
fn command_output_comes_from_canned_files_or_from_this_machine() {
    let dir = tempfile::tempdir().unwrap();
    let r = fake_root(dir.path());
    let canned = dir.path().join("canned");
    std::fs::create_dir(&canned).unwrap();
    std::fs::write(
        canned.join("iptables-save.txt"),
        "*filter\n:INPUT ACCEPT [0:0]\nCOMMIT\n",
    )
    .unwrap();
    std::fs::write(
        canned.join("rke2-version.txt"),
        "rke2 version v1.33.5+rke2r1 (abc)\n",
    )
    .unwrap();
    std::fs::write(
        canned.join("ps-rke2.txt"),
        "STARTED CMD\nMon Nov 20 rke2 server --token s3cr3t-flag-token\nMon Nov 20 sshd\n",
    )
    .unwrap();
    let out = dir.path().join("canned.tgz");
    let run = collect(&r, &out, &["--commands-dir", &canned.display().to_string()]);
    assert!(run.stdout.contains("rke2 v1.33.5+rke2r1"), "{}", run.stdout);
    let fs = files(&out);
    let names: Vec<&str> = fs.iter().map(|(p, _, _)| p.as_str()).collect();
    assert!(names.contains(&"commands/iptables-save.txt"));
    assert!(!names.contains(&"commands/sysctl-a.txt"));
    let (_, ps, _) = fs
        .iter()
        .find(|(p, _, _)| p == "commands/ps-rke2.txt")
        .unwrap();
    let ps = String::from_utf8_lossy(ps);
    assert!(!ps.contains("s3cr3t") && !ps.contains("sshd"), "{ps}");
    // On this machine: every command gets its .txt, with its error when it cannot run.
    let live = dir.path().join("live.tgz");
    collect(&r, &live, &[]);
    let names: Vec<String> = files(&live).into_iter().map(|(p, _, _)| p).collect();
    for c in [
        "iptables-save",
        "iptables-legacy-save",
        "ip6tables-save",
        "sysctl-a",
        "ip-addr",
    ] {
        assert!(
            names.contains(&format!("commands/{c}.txt")),
            "{c}: {names:?}"
        );
    }
}

#[test]
fn the_summary_is_pinned() {
    let dir = tempfile::tempdir().unwrap();
    let r = fake_root(dir.path());
    let key = dir.path().join("k");
    std::fs::write(&key, "collect test key").unwrap();
    collect(
        &r,
        &dir.path().join("s1.tgz"),
        &[
            "--no-commands",
            "--fingerprint-key",
            &key.display().to_string(),
        ],
    )
    .golden("collect-s1.txt");
}
