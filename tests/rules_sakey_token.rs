//! The service-account key rules (SAKEY001, SAKEY002) and the token CA-hash rule (TOKEN001)
//! through `harrow analyze`: each fails on the fixture variant carrying its fault, passes on the
//! healthy cluster, and no output carries a token password or a private key.

// clippy.toml lets #[test] functions unwrap, panic and print; this lets their helpers too.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stderr
)]

mod rules_common;
mod support;

use std::io::Read as _;

use rules_common::{COLLECTED, findings, pin, status, targets, variant};
use support::Test;

const TLS: &str = "var/lib/rancher/rke2/server/tls/";

#[test]
fn sakey001_current_key_second_in_the_list() {
    let doc = variant("service-key-order", COLLECTED);
    assert_eq!(status(&doc, "SAKEY001"), "fail");
    assert_eq!(
        targets(&doc, "SAKEY001"),
        [("s1".to_string(), format!("{TLS}service.current.key"))]
    );
    let f = findings(&doc, "SAKEY001")[0];
    assert_eq!(f["severity"], "high");
    assert!(
        f["message"]
            .as_str()
            .unwrap_or("")
            .contains("is key #2 of service.key"),
        "{f}"
    );
    pin(&doc, "SAKEY001", "fail");
}

#[test]
fn sakey002_service_key_differs_between_servers() {
    let doc = variant("service-key-order", COLLECTED);
    assert_eq!(status(&doc, "SAKEY002"), "fail");
    let all = findings(&doc, "SAKEY002");
    assert_eq!(all.len(), 1);
    assert_eq!(all[0]["severity"], "critical");
    assert_eq!(all[0]["target"], "server/tls/service.key");
    let msg = all[0]["message"].as_str().unwrap_or("");
    assert!(
        msg.contains("s1 hold(s) 2 key(s)") && msg.contains("s2 hold(s) 1 key(s)"),
        "{msg}"
    );
    pin(&doc, "SAKEY002", "fail");
}

#[test]
fn sakey_rules_pass_on_the_healthy_and_collected_clusters() {
    for v in ["healthy", "collected"] {
        let doc = variant(v, COLLECTED);
        assert_eq!(status(&doc, "SAKEY001"), "pass", "{v}");
        assert_eq!(status(&doc, "SAKEY002"), "pass", "{v}");
        pin(&doc, "SAKEY001", &format!("pass-{v}"));
        pin(&doc, "SAKEY002", &format!("pass-{v}"));
    }
}

#[test]
fn token001_wrong_hash_on_s2_configs() {
    let doc = variant("token-wrong-hash", COLLECTED);
    assert_eq!(status(&doc, "TOKEN001"), "fail");
    assert_eq!(
        targets(&doc, "TOKEN001"),
        [
            (
                "s2".to_string(),
                "etc/rancher/rancherd/config.yaml".to_string()
            ),
            (
                "s2".to_string(),
                "etc/rancher/rke2/config.yaml.d/40-rancherd.yaml".to_string()
            ),
        ]
    );
    assert!(
        findings(&doc, "TOKEN001")
            .iter()
            .all(|f| f["severity"] == "critical" && f["evidence"][0]["pointer"].is_string())
    );
    pin(&doc, "TOKEN001", "fail");
}

#[test]
fn token001_agent_left_on_the_old_ca() {
    let doc = variant("stale-agent-ca", COLLECTED);
    assert_eq!(status(&doc, "TOKEN001"), "fail");
    assert!(targets(&doc, "TOKEN001").iter().all(|(n, _)| n == "a1"));
    pin(&doc, "TOKEN001", "fail-stale-agent");
    let healthy = variant("healthy", COLLECTED);
    assert_eq!(status(&healthy, "TOKEN001"), "pass");
    pin(&healthy, "TOKEN001", "pass");
    let custom = variant("custom-ca", COLLECTED);
    assert_eq!(status(&custom, "TOKEN001"), "pass");
    pin(&custom, "TOKEN001", "pass-custom-ca");
}

/// The password of `server/token` in `bundles/fixtures/<variant>/s1.tgz`.
fn server_password(variant: &str) -> String {
    let path = support::root().join(format!("bundles/fixtures/{variant}/s1.tgz"));
    let f = std::fs::File::open(path).expect("fixture");
    let mut ar = tar::Archive::new(flate2::read::GzDecoder::new(f));
    for e in ar.entries().expect("entries") {
        let mut e = e.expect("entry");
        let p = e.path().expect("path").display().to_string();
        if p.trim_start_matches("./") == "var/lib/rancher/rke2/server/token" {
            let mut s = String::new();
            e.read_to_string(&mut s).expect("token");
            let pw = s.trim().rsplit(':').next().unwrap_or("").to_string();
            assert!(pw.len() >= 16, "a real password");
            return pw;
        }
    }
    panic!("no server/token in {variant}/s1.tgz");
}

#[test]
fn findings_never_show_the_token_password_or_a_private_key() {
    let pw = server_password("token-wrong-hash");
    let inputs = support::inputs_in("bundles/fixtures/token-wrong-hash");
    for fmt in ["json", "text"] {
        let run = Test::new()
            .arg("analyze")
            .args(&inputs)
            .args(["-o", fmt, "--fail-on", "none", "--at", COLLECTED])
            .run()
            .code(0);
        assert!(run.stdout.contains("TOKEN001"), "{fmt}");
        assert!(!run.stdout.contains(&pw), "{fmt}: the password leaked");
        assert!(!run.stdout.contains("PRIVATE KEY"), "{fmt}");
    }
}
