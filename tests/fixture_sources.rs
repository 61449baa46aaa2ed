//! The credential-source variants of `bundles/fixtures/`: `token-sources` (the token in every
//! source rules.md lists) and `collected` (`harrow collect`'s redacted form, keys replaced by
//! `.pub-fingerprint` files). Checked through harrow's JSON output, and no output of harrow
//! may carry a token password or a private key.

// clippy.toml lets #[test] functions unwrap, panic and print; this lets their helpers too.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stderr
)]

mod support;

use std::collections::BTreeSet;
use std::io::Read;

use base64::Engine;
use serde_json::Value;
use sha2::Digest;
use support::Test;

const AT: &str = "2026-11-20T10:00:00Z";

fn inputs(variant: &str) -> Vec<String> {
    support::inputs_in(&format!("bundles/fixtures/{variant}"))
}

/// The regular files of a node `.tgz`: (node = file stem, path, bytes).
fn files(variant: &str) -> Vec<(String, String, Vec<u8>)> {
    let mut out = Vec::new();
    for p in inputs(variant).into_iter().filter(|p| p.ends_with(".tgz")) {
        let node = p
            .rsplit('/')
            .next()
            .unwrap()
            .trim_end_matches(".tgz")
            .to_string();
        let gz = flate2::read::GzDecoder::new(std::fs::File::open(&p).unwrap());
        let mut ar = tar::Archive::new(gz);
        for e in ar.entries().unwrap() {
            let mut e = e.unwrap();
            if !e.header().entry_type().is_file() {
                continue;
            }
            let path = e.path().unwrap().display().to_string();
            let mut data = Vec::new();
            e.read_to_end(&mut data).unwrap();
            out.push((node.clone(), path, data));
        }
    }
    out
}

fn harrow(cmd: &str, variant: &str, format: &[&str]) -> (String, String) {
    // analyze exits 1 on a variant bundle's leaked secrets (token-sources: BUNDLE001, high):
    // ask for the report whatever the findings.
    let fail_on: &[&str] = if cmd == "analyze" {
        &["--fail-on", "none"]
    } else {
        &[]
    };
    let r = Test::new()
        .arg(cmd)
        .args(inputs(variant))
        .args(format)
        .args(fail_on)
        .args(["--at", AT])
        .run()
        .code(0);
    (r.stdout, r.stderr)
}

fn graph(variant: &str) -> Value {
    Test::new()
        .arg("graph")
        .args(inputs(variant))
        .args(["-o", "json", "--at", AT])
        .run()
        .code(0)
        .json()
}

/// `cert:sha256:<hex>` of the first certificate of a PEM file.
fn first_cert_id(pem: &[u8]) -> String {
    let text = String::from_utf8_lossy(pem);
    let body: String = text
        .lines()
        .skip_while(|l| !l.starts_with("-----BEGIN CERTIFICATE"))
        .skip(1)
        .take_while(|l| !l.starts_with("-----END"))
        .collect();
    let der = base64::engine::general_purpose::STANDARD
        .decode(body)
        .unwrap();
    format!("cert:sha256:{}", hex::encode(sha2::Sha256::digest(&der)))
}

fn edges(g: &Value, kind: &str) -> BTreeSet<(String, String)> {
    g["edges"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == kind)
        .map(|e| {
            let s = |k: &str| e[k].as_str().unwrap().to_string();
            (s("from"), s("to"))
        })
        .collect()
}

fn token_vertices(g: &Value) -> BTreeSet<String> {
    g["vertices"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|v| v["kind"] == "token")
        .map(|v| v["id"].as_str().unwrap().to_string())
        .collect()
}

fn ids(list: &[(&str, &str, &str)]) -> BTreeSet<String> {
    list.iter()
        .map(|(node, role, path)| format!("token:{role}:{node}:{path}"))
        .collect()
}

/// `cert:sha256:…` of the server CA of `token-sources`.
fn server_ca() -> String {
    files("token-sources")
        .into_iter()
        .find(|f| f.0 == "s1" && f.1 == "var/lib/rancher/rke2/server/tls/server-ca.crt")
        .map(|f| first_cert_id(&f.2))
        .expect("s1 server-ca.crt")
}

#[test]
fn every_token_source_yields_a_token_that_pins_the_server_ca() {
    use harrow_fixtures::token_sources::{BY_REFERENCE, SOURCES};
    let g = graph("token-sources");
    let ca = server_ca();
    let want = ids(SOURCES);
    for id in [
        "token:agent:s1:etc/systemd/system/rke2-server.service.env",
        "token:server:a1:etc/systemd/system/rke2-agent.service.env",
        "token:server:s2:etc/rancher/rke2/join-token",
        "token:agent:s2:etc/rancher/rke2/agent-join-token",
        "token:server:s1:etc/rancher/rke2/config.yaml",
        "token:server:a1:etc/rancher/rancherd/config.yaml.d/10-join.yaml",
    ] {
        assert!(want.contains(id), "{id} is not among the planted sources");
    }
    let got = token_vertices(&g);
    let missing: Vec<&String> = want.difference(&got).collect();
    assert!(missing.is_empty(), "no token vertex for {missing:?}");
    let all: BTreeSet<String> = want.union(&ids(BY_REFERENCE)).cloned().collect();
    let extra: Vec<&String> = got.difference(&all).collect();
    assert!(extra.is_empty(), "unexpected token vertices {extra:?}");
    let pins = edges(&g, "pins");
    for id in &got {
        assert!(
            pins.contains(&(id.clone(), ca.clone())),
            "{id} does not pin the server CA {ca}"
        );
    }
    assert_eq!(g["unpinned_tokens"], serde_json::json!([]));
}

#[test]

fn token_files_named_by_reference_yield_tokens_that_pin_the_server_ca() {
    let g = graph("token-sources");
    let ca = server_ca();
    let got = token_vertices(&g);
    let pins = edges(&g, "pins");
    for id in ids(harrow_fixtures::token_sources::BY_REFERENCE) {
        assert!(got.contains(&id), "no token vertex for {id}");
        assert!(
            pins.contains(&(id.clone(), ca.clone())),
            "{id} does not pin {ca}"
        );
    }
}

#[test]
fn the_bundles_apiservice_ca_bundle_is_inventoried() {
    let certs = Test::new()
        .arg("certs")
        .args(inputs("token-sources"))
        .args(["-o", "json", "--at", AT])
        .run()
        .code(0)
        .json();
    let found: Vec<&Value> = certs
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| {
            c["locations"].as_array().unwrap().iter().any(|l| {
                l["path"].as_str().is_some_and(|p| {
                    p.ends_with("apiservices.yaml#-/v1.ext.cattle.io/spec.caBundle")
                })
            })
        })
        .collect();
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0]["in_use"], "object");
    assert_eq!(found[0]["is_ca"], true);
}

#[test]
fn collected_keys_pair_through_pub_fingerprint_files() {
    let g = graph("collected");
    let fs = files("collected");
    let pairs = edges(&g, "pairs-with");
    let mut checked = 0;
    for (node, path, data) in &fs {
        let Some(stem) = path.strip_suffix(".key.pub-fingerprint") else {
            continue;
        };
        let Some(crt) = fs
            .iter()
            .find(|f| &f.0 == node && f.1 == format!("{stem}.crt"))
        else {
            continue;
        };
        let key = String::from_utf8_lossy(data);
        let key = format!("key:sha256:{}", key.lines().next().unwrap());
        let edge = (first_cert_id(&crt.2), key);
        let planted = node == "a1" && stem == "var/lib/rancher/rke2/agent/serving-kubelet";
        assert_eq!(
            pairs.contains(&edge),
            !planted,
            "{node}:{path}: pairs-with {edge:?}"
        );
        checked += 1;
    }
    assert!(checked >= 50, "only {checked} key/cert pairs");
    assert_eq!(
        g["key_mismatches"],
        serde_json::json!([{
            "cert": "var/lib/rancher/rke2/agent/serving-kubelet.crt",
            "key": "var/lib/rancher/rke2/agent/serving-kubelet.key.pub-fingerprint",
            "node": "a1",
            "source": "a1.tgz",
        }])
    );
    // service.key holds two keys; service.current.key is the first, on both servers
    let sa = |node: &str, name: &str| -> Vec<String> {
        let f = fs
            .iter()
            .find(|f| f.0 == node && f.1.ends_with(&format!("/tls/{name}.pub-fingerprint")))
            .expect(name);
        String::from_utf8_lossy(&f.2)
            .lines()
            .map(String::from)
            .collect()
    };
    for node in ["s1", "s2"] {
        let keys = sa(node, "service.key");
        assert_eq!(keys.len(), 2, "{node} service.key");
        assert_eq!(sa(node, "service.current.key"), keys[..1], "{node}");
    }
    let cons = &g["consistency"];
    assert_eq!(cons["service_current_key"], serde_json::json!([]));
    assert_eq!(cons["disagreements"], serde_json::json!([]));
    assert_eq!(g["unpinned_tokens"], serde_json::json!([]));
}

/// Token passwords, private-key bodies and other credentials present in a variant's inputs.
fn secrets(variant: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for (_, path, data) in files(variant) {
        let text = String::from_utf8_lossy(&data);
        let mut in_key = false;
        for line in text.lines() {
            let l = line.trim();
            if l.starts_with("-----BEGIN") {
                in_key = l.contains("PRIVATE KEY");
                continue;
            }
            if l.starts_with("-----END") {
                in_key = false;
            } else if in_key {
                out.insert(l.to_string());
            }
            // K10<hash>::<user>:<password>, RKE2_TOKEN=…, token: <short>
            for part in l.split(['"', '\'', ' ', '=']) {
                if let Some(rest) = part.strip_prefix("K10")
                    && let Some((_, creds)) = rest.split_once("::")
                {
                    out.insert(creds.rsplit(':').next().unwrap().to_string());
                }
            }
            for key in ["token: ", "client-key-data: "] {
                if let Some(v) = l.strip_prefix(key) {
                    out.insert(v.trim_matches('"').to_string());
                }
            }
        }
        if path.ends_with("cred/ipsec.psk") || path.ends_with("rancher/node/password") {
            out.insert(text.trim().to_string());
        }
        if path.ends_with("dynamic-cert.json") {
            let v: Value = serde_json::from_slice(&data).unwrap();
            out.insert(v["data"]["tls.key"].as_str().unwrap().to_string());
        }
    }
    // placeholders, the public CA hash part, and short strings are not secrets
    out.retain(|s| s.len() >= 16 && !s.starts_with("K10") && !s.contains("***"));
    out
}

fn outputs(variant: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (cmd, formats) in [
        ("analyze", &["text", "json"][..]),
        ("certs", &["table", "csv", "json"][..]),
        ("graph", &["dot", "json", "mermaid"][..]),
        ("timeline", &["text", "json"][..]),
    ] {
        for f in formats {
            let (stdout, stderr) = harrow(cmd, variant, &["-o", f]);
            out.push((format!("{cmd} -o {f}"), format!("{stdout}\n{stderr}")));
        }
    }
    out
}

#[test]
fn no_output_carries_a_token_password_or_private_key() {
    let planted = secrets("token-sources");
    // server, agent and the overridden install-time password, plus keys and PSKs
    let passwords = planted.iter().filter(|s| s.len() == 32).count();
    assert!(
        passwords >= 3,
        "{passwords} passwords found in token-sources"
    );
    assert!(planted.len() > 100, "{} secrets", planted.len());
    // the collected form holds none: every key and password was replaced
    assert_eq!(secrets("collected"), BTreeSet::new());
    for variant in ["token-sources", "collected"] {
        for (what, text) in outputs(variant) {
            assert!(!text.contains("PRIVATE KEY"), "{variant}: {what}");
            for s in &planted {
                assert!(
                    !text.contains(s.as_str()),
                    "{variant}: `harrow {what}` shows a secret of the inputs"
                );
            }
        }
    }
}
