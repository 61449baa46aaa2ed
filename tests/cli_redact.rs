//! `harrow redact`: the redacted copy of the demo's inputs and of the real corpus bundle gives
//! the same certificate and chain findings (CERT*) and the same certificate inventory as the
//! original; no secret of the original (private key bodies, token passwords, password hashes)
//! is left in any entry of the copy, nested archives included; a malformed entry is reported
//! with input and entry and the rest is still written; the input is never overwritten.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stderr
)]

mod export_common;
mod support;

use std::collections::BTreeSet;
use std::io::{Cursor, Read, Write};
use std::path::{Path, PathBuf};

use export_common::{analyze, cert_findings, fingerprints};
use serde_json::Value;
use support::{Test, corpus_bundle, inputs_in, root};

/// Every file of an archive (zip, tar, tar.gz, tar.xz), nested archives opened too: (path, bytes).
fn entries(name: &str, data: &[u8], out: &mut Vec<(String, Vec<u8>)>) {
    let is_archive = |n: &str| {
        [".zip", ".tgz", ".tar.gz", ".txz", ".tar.xz", ".tar"]
            .iter()
            .any(|s| n.ends_with(s))
    };
    let mut add = |path: String, bytes: Vec<u8>| {
        if is_archive(&path) {
            entries(&path, &bytes, out);
        } else {
            out.push((path, bytes));
        }
    };
    if data.starts_with(b"PK") {
        let mut z = zip::ZipArchive::new(Cursor::new(data)).unwrap();
        for i in 0..z.len() {
            let mut f = z.by_index(i).unwrap();
            if f.is_dir() {
                continue;
            }
            let mut b = Vec::new();
            f.read_to_end(&mut b).unwrap();
            add(format!("{name}!{}", f.name().unwrap()), b);
        }
        return;
    }
    let reader: Box<dyn Read> = if data.starts_with(&[0x1f, 0x8b]) {
        Box::new(flate2::read::GzDecoder::new(data))
    } else if data.starts_with(&[0xfd, b'7', b'z', b'X', b'Z']) {
        Box::new(lzma_rust2::XzReader::new(data, true))
    } else {
        Box::new(data)
    };
    let mut t = tar::Archive::new(reader);
    for e in t.entries().unwrap() {
        let mut e = e.unwrap();
        if e.header().entry_type() != tar::EntryType::Regular {
            continue;
        }
        let p = e.path().unwrap().to_string_lossy().into_owned();
        let mut b = Vec::new();
        e.read_to_end(&mut b).unwrap();
        add(format!("{name}!{p}"), b);
    }
}

fn entries_of(path: &Path) -> Vec<(String, Vec<u8>)> {
    let mut v = Vec::new();
    entries(
        &path.file_name().unwrap().to_string_lossy(),
        &std::fs::read(path).unwrap(),
        &mut v,
    );
    v
}

/// The secrets of an input, read independently of harrow: the body lines of PEM private keys
/// (and the base64 of PEM keys embedded in kubeconfigs and Secrets), token passwords of `K10`
/// tokens and of `token:` values, crypt password hashes.
fn secrets_of(path: &Path) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for (_, data) in entries_of(path) {
        let text = String::from_utf8_lossy(&data);
        let mut in_key = false;
        for line in text.lines() {
            let l = line.trim();
            if l.starts_with("-----BEGIN") && l.contains("PRIVATE KEY-----") {
                in_key = true;
                continue;
            }
            if l.starts_with("-----END") {
                in_key = false;
                continue;
            }
            if in_key && l.len() >= 40 {
                out.insert(l.to_string());
            }
            for w in l.split(|c: char| c.is_whitespace() || c == '"' || c == '\'' || c == ',') {
                if w.starts_with("LS0tLS1CRUdJTi") && w.len() > 200 {
                    use base64::Engine;
                    if let Ok(d) = base64::engine::general_purpose::STANDARD.decode(w)
                        && String::from_utf8_lossy(&d).contains("PRIVATE KEY")
                    {
                        out.insert(w.to_string());
                    }
                }
                if let Some(i) = w.find("K10")
                    && let Some((_, pw)) = w[i..].split_once("::")
                    && let Some((_, pw)) = pw.split_once(':')
                    && pw.len() >= 8
                {
                    out.insert(pw.to_string());
                }
                if ["$1$", "$5$", "$6$", "$y$"]
                    .iter()
                    .any(|p| w.starts_with(p))
                    && w.len() > 20
                {
                    out.insert(w.to_string());
                }
            }
            if let Some(v) = l
                .strip_prefix("token:")
                .or_else(|| l.strip_prefix("agent-token:"))
            {
                let v = v.trim().trim_matches(['"', '\'']);
                if v.len() >= 8 && !v.starts_with("K10") && !v.contains('*') {
                    out.insert(v.to_string());
                }
            }
        }
    }
    out
}

fn key_file(dir: &Path) -> PathBuf {
    let p = dir.join("fingerprint.key");
    std::fs::write(&p, "a key for the redact tests\n").unwrap();
    p
}

fn redact(input: &str, out: &Path, key: &Path) -> support::Run {
    Test::new()
        .arg("redact")
        .arg(input)
        .arg("--out")
        .arg(out.display().to_string())
        .arg("--fingerprint-key")
        .arg(key.display().to_string())
        .run()
        .code(0)
}

/// Redact `input` into `dir`, then compare: same CERT findings and certificates, no secret left.
fn check_copy(input: &Path, dir: &Path) {
    let name = input.file_name().unwrap().to_string_lossy().into_owned();
    let out = dir.join(format!("redacted-{name}"));
    let key = key_file(dir);
    let shown = input.display().to_string();
    let run = redact(&shown, &out, &key);
    assert!(run.stdout.starts_with("redacted "), "{}", run.stdout);
    let (before, after) = (analyze(&shown), analyze(&out.display().to_string()));
    assert_eq!(
        cert_findings(&before),
        cert_findings(&after),
        "{name}: CERT findings differ"
    );
    assert!(!fingerprints(&before).is_empty(), "{name}: no certificate");
    assert_eq!(
        fingerprints(&before),
        fingerprints(&after),
        "{name}: certificate inventory differs"
    );
    let secrets = secrets_of(input);
    let copy = entries_of(&out);
    for s in &secrets {
        for (path, data) in &copy {
            assert!(
                memchr::memmem::find(data, s.as_bytes()).is_none(),
                "{name}: a secret of the original ({}…) is still in {path}",
                &s[..6.min(s.len())]
            );
        }
    }
    // The copy holds as many files, nested ones included (key files renamed, not dropped).
    assert_eq!(entries_of(input).len(), copy.len(), "{name}");
    eprintln!("{name}: {} secrets checked", secrets.len());
}

#[test]
fn the_demo_inputs_redact_to_copies_with_the_same_certificate_findings_and_no_secret() {
    let dir = tempfile::tempdir().unwrap();
    let mut checked = 0;
    for input in inputs_in("bundles/demo") {
        check_copy(&root().join(&input), dir.path());
        checked += 1;
    }
    assert!(checked >= 2);
    // The node snapshot has private keys and tokens, the bundle tokens and password hashes: the
    // search found something to look for.
    assert!(secrets_of(&root().join("bundles/demo/n1.tgz")).len() > 10);
}

#[test]
fn the_corpus_bundle_redacts_to_a_copy_with_the_same_certificate_findings_and_no_secret() {
    let Some(bundle) = corpus_bundle() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    check_copy(&bundle, dir.path());
}

#[test]
fn a_redacted_snapshot_reads_its_keys_as_fingerprints_and_its_tokens_with_their_hash() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("n1.tgz");
    let run = redact("bundles/demo/n1.tgz", &out, &key_file(dir.path()));
    assert!(
        run.stdout
            .contains("server/tls/server-ca.key -> server-ca.key.pub-fingerprint"),
        "{}",
        run.stdout
    );
    let files = entries_of(&out);
    let get = |suffix: &str| {
        files
            .iter()
            .find(|(p, _)| p.ends_with(suffix))
            .map(|(_, d)| String::from_utf8_lossy(d).into_owned())
            .unwrap_or_else(|| panic!("{suffix} missing"))
    };
    let fp = get("server/tls/server-ca.key.pub-fingerprint");
    assert_eq!(fp.trim().len(), 64, "{fp}");
    assert!(
        !files
            .iter()
            .any(|(p, _)| p.ends_with("server/tls/server-ca.key"))
    );
    let token = get("var/lib/rancher/rke2/server/token");
    assert!(token.starts_with("K10b49f4307"), "{token}");
    assert!(token.contains("::server:hm:"), "{token}");
    // Certificates are byte for byte the same.
    let orig = entries_of(&root().join("bundles/demo/n1.tgz"));
    for (p, d) in orig.iter().filter(|(p, _)| p.ends_with(".crt")) {
        let name = p.split_once('!').unwrap().1;
        let copy = files
            .iter()
            .find(|(q, _)| q.ends_with(&format!("!{name}")))
            .unwrap();
        assert_eq!(&copy.1, d, "{name}");
    }
    // Tokens are still read with their CA hash; keys pair with their certificates.
    let status = |doc: &Value, rule: &str| {
        doc["coverage"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["rule"] == rule)
            .map(|c| c["status"].clone())
            .unwrap()
    };
    let (before, after) = (
        analyze("bundles/demo/n1.tgz"),
        analyze(&out.display().to_string()),
    );
    for rule in ["TOKEN001", "TOKEN002", "CERT006", "CERT012", "SAKEY001"] {
        assert_eq!(status(&before, rule), status(&after, rule), "{rule}");
    }
}

#[test]
fn the_summary_is_pinned() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("n1-redacted.tgz");
    Test::new()
        .arg("redact")
        .arg("bundles/demo/n1.tgz")
        .arg("--out")
        .arg(out.display().to_string())
        .arg("--fingerprint-key")
        .arg(key_file(dir.path()).display().to_string())
        .run()
        .code(0)
        .golden("redact-demo-n1.txt");
}

#[test]
fn the_same_key_gives_the_same_copy() {
    let dir = tempfile::tempdir().unwrap();
    let key = key_file(dir.path());
    let (a, b) = (dir.path().join("a.zip"), dir.path().join("b.zip"));
    let input = support::inputs_in("bundles/demo")
        .into_iter()
        .find(|p| p.ends_with(".zip"))
        .unwrap();
    redact(&input, &a, &key);
    redact(&input, &b, &key);
    assert_eq!(std::fs::read(&a).unwrap(), std::fs::read(&b).unwrap());
}

#[test]
fn a_malformed_entry_is_reported_and_the_rest_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("bundle.zip");
    {
        let mut z = zip::ZipWriter::new(std::fs::File::create(&input).unwrap());
        let o = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Stored);
        for (n, body) in [
            ("b/a.yaml", "token: a-secret-token-value\n"),
            ("b/bad.txt", "BROKEN-BODY-BYTES\n"),
            ("b/c.txt", "fine\n"),
        ] {
            z.start_file(n, o).unwrap();
            z.write_all(body.as_bytes()).unwrap();
        }
        z.finish().unwrap();
    }
    // Corrupt the stored body of b/bad.txt: its CRC-32 no longer matches.
    let mut bytes = std::fs::read(&input).unwrap();
    let at = memchr::memmem::find(&bytes, b"BROKEN-BODY").unwrap();
    bytes[at] = b'X';
    std::fs::write(&input, bytes).unwrap();
    let out = dir.path().join("copy.zip");
    let run = redact(&input.display().to_string(), &out, &key_file(dir.path()));
    assert!(
        run.stderr.contains("bundle.zip") && run.stderr.contains("b/bad.txt"),
        "{}",
        run.stderr
    );
    let names: Vec<String> = entries_of(&out).into_iter().map(|(p, _)| p).collect();
    assert_eq!(
        names,
        ["copy.zip!b/a.yaml", "copy.zip!b/c.txt"],
        "{names:?}"
    );
    let copy = entries_of(&out);
    assert!(!String::from_utf8_lossy(&copy[0].1).contains("a-secret-token-value"));
}

#[test]
fn the_input_is_never_the_output() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("n1.tgz");
    std::fs::copy(root().join("bundles/demo/n1.tgz"), &input).unwrap();
    let before = std::fs::read(&input).unwrap();
    let run = Test::new()
        .arg("redact")
        .arg(input.display().to_string())
        .arg("--out")
        .arg(input.display().to_string())
        .run()
        .code(2);
    assert!(run.stderr.contains("is the input"), "{}", run.stderr);
    assert_eq!(std::fs::read(&input).unwrap(), before);
}

/// `n1.tgz` with its token files and the rancherd config carrying `password` (and, in the
/// config, a `token:` line): a tar.gz written to `path`.
fn n1_with_token(path: &Path, password: &str) {
    let data = std::fs::read(root().join("bundles/demo/n1.tgz")).unwrap();
    let gz = flate2::read::GzDecoder::new(&data[..]);
    let mut src = tar::Archive::new(gz);
    let out = std::fs::File::create(path).unwrap();
    let mut dst = tar::Builder::new(flate2::write::GzEncoder::new(
        out,
        flate2::Compression::fast(),
    ));
    let token = format!(
        "K10b49f4307aad93f420f81fe90270ed0f40119a31116d1027c37d6b7a595e21313::server:{password}\n"
    );
    for e in src.entries().unwrap() {
        let mut e = e.unwrap();
        let name = e.path().unwrap().to_string_lossy().into_owned();
        let mut header = e.header().clone();
        let mut body = Vec::new();
        e.read_to_end(&mut body).unwrap();
        if name.ends_with("server/token") || name.ends_with("server/node-token") {
            body = token.clone().into_bytes();
        } else if name == "etc/rancher/rancherd/config.yaml" {
            body.extend_from_slice(format!("\ntoken: {password}\n").as_bytes());
        }
        header.set_size(body.len() as u64);
        header.set_cksum();
        dst.append(&header, &body[..]).unwrap();
    }
    dst.into_inner().unwrap().finish().unwrap().flush().unwrap();
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig { cases: 6, ..Default::default() })]

    /// The round trip of issue 13, over generated token passwords: redact, then analyze. The
    /// copy gives the same CERT findings and certificate inventory, and the password is in no
    /// entry of the copy (nor is any other secret the original holds).
    #[test]
    fn redact_then_analyze_keeps_the_findings_and_drops_generated_passwords(
        password in "[A-Za-z0-9]{12,40}",
    ) {
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join("n1-generated.tgz");
        n1_with_token(&input, &password);
        assert!(secrets_of(&input).contains(&password), "the original carries the password");
        check_copy(&input, dir.path());
        let copy = entries_of(&dir.path().join("redacted-n1-generated.tgz"));
        for (path, data) in &copy {
            assert!(
                memchr::memmem::find(data, password.as_bytes()).is_none(),
                "the generated password is still in {path}"
            );
        }
    }
}
