//! Kubeconfigs (embedded and referenced credentials, tokens as secrets) and the supervisor's
//! `dynamic-cert.json`.

// clippy.toml lets #[test] functions unwrap, panic and print; this lets their helpers too.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stderr
)]

mod pki_support;

use base64::Engine as _;
use harrow::pki::{Pairing, pair_files, parse_dynamic_cert, parse_kubeconfig};
use pki_support::{root_ca, sub_ca};
use rcgen::PKCS_ECDSA_P256_SHA256;

fn b64(s: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(s)
}

#[test]
fn embedded_credentials_parse_and_pair() {
    let ca = root_ca("rke2-server-ca@1", &PKCS_ECDSA_P256_SHA256);
    let client_ca = root_ca("rke2-client-ca@1", &PKCS_ECDSA_P256_SHA256);
    let admin = sub_ca("system:admin", &PKCS_ECDSA_P256_SHA256, &client_ca);
    let key_pem = admin.key.serialize_pem();
    let y = format!(
        r#"apiVersion: v1
clusters:
- cluster:
    certificate-authority-data: {}
    server: https://127.0.0.1:6443
  name: default
contexts:
- context:
    cluster: default
    user: default
  name: default
current-context: default
kind: Config
preferences: {{}}
users:
- name: default
  user:
    client-certificate-data: {}
    client-key-data: {}
- name: sa
  user:
    token: eyJhbGciOiJSUzI1NiJ9.secret-bearer-value
"#,
        b64(&ca.pem),
        b64(&format!("{}{}", admin.pem, client_ca.pem)),
        b64(&key_pem)
    );
    let kc = parse_kubeconfig(y.as_bytes()).unwrap();
    let (ctx, cluster, user) = kc.current().unwrap();
    assert_eq!(ctx.name, "default");
    let cluster = cluster.unwrap();
    assert_eq!(cluster.server.as_deref(), Some("https://127.0.0.1:6443"));
    let ca_certs = cluster.ca.as_ref().unwrap().as_ref().unwrap();
    assert_eq!(ca_certs[0].subject_cn(), Some("rke2-server-ca@1"));
    let user = user.unwrap();
    let certs = user.client_cert.as_ref().unwrap().as_ref().unwrap();
    assert_eq!(certs.len(), 2);
    let keys = user.client_key.as_ref().unwrap().as_ref().unwrap();
    assert_eq!(pair_files(certs, keys), Pairing::Match);
    let sa = &kc.users[1];
    assert_eq!(
        sa.token.as_ref().unwrap().expose(),
        "eyJhbGciOiJSUzI1NiJ9.secret-bearer-value"
    );
    let dbg = format!("{kc:?}");
    assert!(!dbg.contains("secret-bearer-value"));
    let key_body: Vec<&str> = key_pem
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect();
    for l in key_body {
        assert!(!dbg.contains(l));
    }
}

#[test]
fn file_references_masked_values_and_bad_data() {
    let y = r#"clusters:
- name: local
  cluster:
    certificate-authority: /var/lib/rancher/rke2/server/tls/server-ca.crt
    server: https://127.0.0.1:6443
- name: broken
  cluster:
    certificate-authority-data: "!!!notbase64"
users:
- name: admin
  user:
    client-certificate: /var/lib/rancher/rke2/server/tls/client-admin.crt
    client-key: /var/lib/rancher/rke2/server/tls/client-admin.key
- name: masked
  user:
    client-key-data: "***"
    token: "***"
contexts: []
"#;
    let kc = parse_kubeconfig(y.as_bytes()).unwrap();
    assert_eq!(
        kc.clusters[0].ca_file.as_deref(),
        Some("/var/lib/rancher/rke2/server/tls/server-ca.crt")
    );
    assert!(kc.clusters[0].ca.is_none());
    assert!(matches!(kc.clusters[1].ca, Some(Err(_))));
    assert_eq!(
        kc.users[0].client_key_file.as_deref(),
        Some("/var/lib/rancher/rke2/server/tls/client-admin.key")
    );
    assert!(kc.users[1].client_key.is_none());
    assert!(kc.users[1].token.is_none());
    assert_eq!(kc.users[1].masked, vec!["client-key-data", "token"]);
    assert!(kc.current().is_none());
}

#[test]
fn malformed_kubeconfig_error_does_not_quote_the_source() {
    let y = "users:\n- name: x\n  user:\n    token: topsecretvalue\n  - [broken\n";
    let e = parse_kubeconfig(y.as_bytes()).unwrap_err();
    assert!(!e.to_string().contains("topsecretvalue"), "{e}");
}

#[test]
fn dynamic_cert_json() {
    let ca = root_ca("rke2-server-ca@1", &PKCS_ECDSA_P256_SHA256);
    let listener = sub_ca("rke2", &PKCS_ECDSA_P256_SHA256, &ca);
    let json = serde_json::json!({
        "metadata": {
            "name": "rke2-serving",
            "annotations": {
                "listener.cattle.io/cn-10.0.0.10": "10.0.0.10",
                "listener.cattle.io/fingerprint": "SHA1=ABCDEF"
            }
        },
        "data": {
            "tls.crt": b64(&format!("{}{}", listener.pem, ca.pem)),
            "tls.key": b64(&listener.key.serialize_pem()),
        },
        "type": "kubernetes.io/tls"
    });
    let d = parse_dynamic_cert(json.to_string().as_bytes()).unwrap();
    assert_eq!(d.secret_type.as_deref(), Some("kubernetes.io/tls"));
    assert_eq!(d.annotations.len(), 2);
    let certs = d.certs.as_ref().unwrap().as_ref().unwrap();
    assert_eq!(certs.len(), 2);
    assert_eq!(certs[0].subject_cn(), Some("rke2"));
    let keys = d.keys.as_ref().unwrap().as_ref().unwrap();
    assert_eq!(pair_files(certs, keys), Pairing::Match);
    assert!(parse_dynamic_cert(b"{not json").is_err());
    let masked = parse_dynamic_cert(br#"{"data":{"tls.key":"***"}}"#).unwrap();
    assert!(masked.keys.is_none() && masked.certs.is_none());
}
