//! Tokens: the three forms, errors, redaction, and the token sources (token files, config.yaml
//! with drop-ins, unit environment files, rancherd config, `/oem` cloud-config).

// clippy.toml lets #[test] functions unwrap, panic and print; this lets their helpers too.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stderr
)]

use harrow::pki::token::{
    TokenRole, scan_env_file, scan_rancherd_config, scan_rke2_config, scan_token_file,
    scan_yaml_tree,
};
use harrow::pki::{FingerprintKey, Secret, TokenForm, parse_token};

const HASH: &str = "5ea3b1e0f0c1d2e3a4b5c6d7e8f90123456789abcdef0123456789abcdef0123";
const PW: &str = "0f1e2d3c4b5a69788796a5b4c3d2e1f0";

#[test]
fn secure_token_form() {
    let t = parse_token(&format!("K10{HASH}::server:{PW}\n")).unwrap();
    assert_eq!(t.form, TokenForm::Secure);
    assert_eq!(t.ca_hash.as_deref(), Some(HASH));
    assert_eq!(t.user.as_deref(), Some("server"));
    assert_eq!(t.password, Secret::new(PW));
    assert_eq!(t.password.expose(), PW);
}

#[test]
fn bootstrap_and_short_forms() {
    let t = parse_token(&format!("K10{HASH}::abcdef.0123456789abcdef")).unwrap();
    assert_eq!(t.form, TokenForm::SecureBootstrap);
    assert_eq!(t.bootstrap_id.as_deref(), Some("abcdef"));
    assert_eq!(t.ca_hash.as_deref(), Some(HASH));
    let t = parse_token("abcdef.0123456789abcdef").unwrap();
    assert_eq!(t.form, TokenForm::ShortBootstrap);
    let t = parse_token("rancher").unwrap();
    assert_eq!(t.form, TokenForm::Short);
    assert_eq!(t.ca_hash, None);
    assert_eq!(t.user, None);
    // K10 with an empty hash.
    let t = parse_token(&format!("K10::node:{PW}")).unwrap();
    assert_eq!(t.ca_hash, None);
    assert_eq!(t.user.as_deref(), Some("node"));
}

#[test]
fn invalid_tokens() {
    let e = parse_token(&format!("K10abcd::server:{PW}")).unwrap_err();
    assert_eq!(e.to_string(), "invalid token CA hash length");
    let e = parse_token(&format!("K10{}::server:{PW}", &HASH[..63])).unwrap_err();
    assert_eq!(e.to_string(), "invalid token CA hash length");
    let e = parse_token(&format!("K10zz::server:{PW}")).unwrap_err();
    assert_eq!(e.to_string(), "invalid token CA hash length");
    let e = parse_token(&format!("K10{}::server:{PW}", "g".repeat(64))).unwrap_err();
    assert_eq!(e.to_string(), "invalid token CA hash: not hexadecimal");
    let e = parse_token(&format!("K10{HASH}::justapassword")).unwrap_err();
    assert_eq!(e.to_string(), "invalid token format");
    assert!(parse_token("   ").is_err());
    // Errors never quote the secret.
    let e = parse_token(&format!("K10{HASH}::{PW}")).unwrap_err();
    assert!(!e.to_string().contains(PW));
}

#[test]
fn secrets_never_appear_in_debug() {
    let t = parse_token(&format!("K10{HASH}::server:{PW}")).unwrap();
    let dbg = format!("{t:?}");
    assert!(!dbg.contains(PW), "{dbg}");
    assert!(dbg.contains("<redacted>"));
    let scan = scan_token_file(
        "server/token",
        format!("K10{HASH}::server:{PW}\n").as_bytes(),
        TokenRole::Server,
    );
    assert!(!format!("{scan:?}").contains(PW));
    let short = parse_token("rancher-secret-pass").unwrap();
    assert!(!format!("{short:?}").contains("rancher-secret-pass"));
}

#[test]
fn keyed_fingerprints_compare_without_revealing() {
    let key = FingerprintKey::from_file_bytes(b"site-key");
    let a = parse_token(&format!("K10{HASH}::server:{PW}")).unwrap();
    let b = parse_token(PW).unwrap();
    assert_eq!(key.fingerprint(&a.password), key.fingerprint(&b.password));
    assert!(!key.fingerprint(&a.password).contains(&PW[..8]));
    assert_eq!(a.password, b.password);
}

#[test]
fn token_files() {
    let s = scan_token_file(
        "server/token",
        format!("\nK10{HASH}::server:{PW}\n").as_bytes(),
        TokenRole::Server,
    );
    assert_eq!(s.found.len(), 1);
    assert_eq!(s.found[0].line, Some(2));
    assert_eq!(s.found[0].role, TokenRole::Server);
    let masked = scan_token_file("server/agent-token", b"***\n", TokenRole::Agent);
    assert!(masked.found.is_empty());
    assert_eq!(masked.masked.len(), 1);
    let bad = scan_token_file("server/token", b"K10abc::server:x", TokenRole::Server);
    assert_eq!(bad.problems[0].message, "invalid token CA hash length");
}

#[test]
fn config_yaml_with_dropins_in_merge_order() {
    let config = format!(
        "write-kubeconfig-mode: \"0644\"\ntoken: K10{HASH}::server:first\nagent-token: agentpw\n"
    );
    let d10 = "token: second\n";
    let d20 = "# override\ntoken: \"third\"\ntoken-file: /etc/rancher/rke2/token\n";
    let masked = "agent-token: \"***\"\n";
    // Given out of order: lexical order of the file names decides.
    let dropins: Vec<(&str, &[u8])> = vec![
        ("etc/rancher/rke2/config.yaml.d/20-b.yaml", d20.as_bytes()),
        (
            "etc/rancher/rke2/config.yaml.d/30-masked.yaml",
            masked.as_bytes(),
        ),
        ("etc/rancher/rke2/config.yaml.d/10-a.yaml", d10.as_bytes()),
    ];
    let out = scan_rke2_config(
        Some(("etc/rancher/rke2/config.yaml", config.as_bytes())),
        &dropins,
    );
    let tok = out.token.as_ref().unwrap();
    assert_eq!(tok.token.password, Secret::new("third"));
    assert_eq!(tok.source, "etc/rancher/rke2/config.yaml.d/20-b.yaml");
    assert_eq!(tok.line, Some(2));
    assert_eq!(out.scan.found.len(), 4);
    assert_eq!(out.scan.found[0].line, Some(2));
    assert_eq!(out.scan.found[0].token.ca_hash.as_deref(), Some(HASH));
    assert_eq!(out.scan.found[2].token.password, Secret::new("second"));
    // A masked value is absent: the last real agent token stays effective.
    assert_eq!(
        out.agent_token.as_ref().unwrap().token.password,
        Secret::new("agentpw")
    );
    assert_eq!(out.scan.masked.len(), 1);
    assert_eq!(
        out.token_file.as_ref().unwrap().path,
        "/etc/rancher/rke2/token"
    );
    assert!(!format!("{out:?}").contains("agentpw"));
}

#[test]
fn env_files() {
    let env = format!(
        "# rke2\nexport RKE2_TOKEN=\"K10{HASH}::server:{PW}\"\nRKE2_AGENT_TOKEN='agentpw'\nHOME=/root\nEnvironment=\"K3S_TOKEN=k3spw\"\nRKE2_TOKEN_FILE=/run/token\n"
    );
    let s = scan_env_file("etc/default/rke2-server", env.as_bytes());
    assert_eq!(s.found.len(), 3);
    assert_eq!(s.found[0].key, "RKE2_TOKEN");
    assert_eq!(s.found[0].line, Some(2));
    assert_eq!(s.found[1].role, TokenRole::Agent);
    assert_eq!(s.found[1].token.password, Secret::new("agentpw"));
    assert_eq!(s.found[2].token.password, Secret::new("k3spw"));
    assert_eq!(s.file_refs[0].path, "/run/token");
}

#[test]
fn rancherd_config() {
    let y = format!(
        "role: cluster-init\nserver: https://10.0.0.10:443\ntoken: {PW}\nkubernetesVersion: v1.29.9+rke2r1\n"
    );
    let s = scan_rancherd_config("etc/rancher/rancherd/config.yaml", y.as_bytes());
    assert_eq!(s.found.len(), 1);
    assert_eq!(s.found[0].line, Some(3));
    assert_eq!(s.found[0].token.form, TokenForm::Short);
}

#[test]
fn oem_cloud_config_with_nested_content_blocks() {
    let y = format!(
        r#"name: Harvester Configuration
stages:
  initramfs:
  - commands:
    - echo hi
    files:
    - path: /etc/rancher/rancherd/config.yaml
      permissions: 384
      owner: 0
      group: 0
      content: |
        role: cluster-init
        token: {PW}
        kubernetesVersion: v1.29.9+rke2r1
      encoding: ""
    - path: /etc/rancher/rke2/config.yaml.d/90-harvester-server.yaml
      content: |
        cni: multus,canal
        agent-token: "***"
    - path: /etc/default/rke2-agent
      content: |
        RKE2_TOKEN=K10{HASH}::node:agentpw
"#
    );
    let s = scan_yaml_tree("oem/90_custom.yaml", y.as_bytes());
    assert_eq!(s.found.len(), 2, "{:?}", s);
    assert_eq!(s.found[0].token.password, Secret::new(PW));
    assert_eq!(s.found[0].line, Some(13));
    assert_eq!(s.found[1].key, "RKE2_TOKEN");
    assert_eq!(s.found[1].line, Some(22));
    assert_eq!(s.found[1].token.ca_hash.as_deref(), Some(HASH));
    assert_eq!(s.masked.len(), 1);
    assert_eq!(s.masked[0].line, Some(19));

    // harvester.config: a top-level token.
    let hc = format!("schemeversion: 1\nserverurl: \"\"\ntoken: {PW}\nos:\n  hostname: n1\n");
    let s = scan_yaml_tree("oem/harvester.config", hc.as_bytes());
    assert_eq!(s.found.len(), 1);
    assert_eq!(s.found[0].line, Some(3));
}

#[test]
fn non_yaml_text_falls_back_to_lines() {
    let t = format!("token: {PW}\n\t- bad: [yaml\n");
    let s = scan_yaml_tree("oem/broken.yaml", t.as_bytes());
    assert_eq!(s.found.len(), 1);
    assert_eq!(s.found[0].line, Some(1));
}
