//! Property tests (proptest) of the parsers that read strangers' bytes: arbitrary input never
//! panics (PEM/DER certificates and keys, kubeconfigs, tokens, the CA hash, `iptables-save`,
//! sysctl, passwd, rke2 config merging, supportconfig, `ip addr`, YAML, runbooks, whole archives
//! through the ingest), and the round trips that exist hold (a token's parts, a runbook written
//! and loaded back, a shell-quoted value read back by `sh`), and the per-key P-256 tables give
//! ring's verdict on every signature, tampered or not.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stderr
)]

use proptest::prelude::*;

/// Bytes that look a little like the formats (so the parsers get past their first checks), mixed
/// with arbitrary ones.
fn textish() -> impl Strategy<Value = Vec<u8>> {
    let fragments = prop::sample::select(vec![
        "-----BEGIN CERTIFICATE-----\n",
        "-----END CERTIFICATE-----\n",
        "-----BEGIN EC PRIVATE KEY-----\n",
        "-----BEGIN PRIVATE KEY-----\n",
        "MIIB",
        "MHcCAQEE",
        "AAAA",
        "====",
        "\n",
        " ",
        ":",
        "::",
        "K10",
        "server:",
        "*filter\n",
        ":INPUT ACCEPT [0:0]\n",
        "-A INPUT -p tcp --dport 6443 -j ACCEPT\n",
        "-m multiport --dports 2379:2380 ",
        "COMMIT\n",
        "net.ipv4.ip_forward = 1\n",
        "root:x:0:0:root:/root:/bin/bash\n",
        "token: ",
        "tls-san+:\n  - a\n",
        "- ",
        "{",
        "}",
        "[",
        "]",
        "\"",
        "'",
        "#==[ Command ]====#\n",
        "2: eth0: <UP> mtu 1500\n",
        "    inet 10.0.0.1/24 brd\n",
        "apiVersion: v1\n",
        "clusters:\n",
        "&a ",
        "*a ",
        "!!binary ",
    ]);
    let piece = prop_oneof![
        fragments.prop_map(|s| s.as_bytes().to_vec()),
        prop::collection::vec(any::<u8>(), 0..24),
    ];
    prop::collection::vec(piece, 0..48).prop_map(|v| v.concat())
}

/// One P-256 key pair (ring), its public key's table, and ring's verifier for it.
fn p256_key() -> &'static (
    ring::signature::EcdsaKeyPair,
    harrow::pki::p256_fast::KeyTable,
) {
    use ring::signature::{ECDSA_P256_SHA256_ASN1_SIGNING, EcdsaKeyPair, KeyPair};
    static KEY: std::sync::OnceLock<(EcdsaKeyPair, harrow::pki::p256_fast::KeyTable)> =
        std::sync::OnceLock::new();
    KEY.get_or_init(|| {
        let rng = ring::rand::SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &rng).unwrap();
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, pkcs8.as_ref(), &rng)
            .unwrap();
        let table = harrow::pki::p256_fast::KeyTable::new(pair.public_key().as_ref()).unwrap();
        (pair, table)
    })
}

proptest! {
    // Debug builds check a signature through the table in about 0.6 ms.
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    /// The table accepts exactly what ring accepts: a signature over an arbitrary message, the
    /// same with one byte of the signature or of the message changed, and arbitrary signature
    /// bytes; a table from arbitrary key bytes is refused or built, never a panic.
    #[test]
    fn p256_tables_give_rings_verdict(
        msg in prop::collection::vec(any::<u8>(), 0..300),
        flip in prop::option::of((any::<prop::sample::Index>(), 1u8..=255, any::<bool>())),
        junk in prop::collection::vec(any::<u8>(), 0..80),
        key in prop::collection::vec(any::<u8>(), 0..70),
    ) {
        use ring::signature::{ECDSA_P256_SHA256_ASN1, KeyPair, UnparsedPublicKey};
        let (pair, table) = p256_key();
        let rng = ring::rand::SystemRandom::new();
        let mut sig = pair.sign(&rng, &msg).unwrap().as_ref().to_vec();
        let mut msg = msg;
        if let Some((at, x, in_msg)) = flip {
            let target = if in_msg && !msg.is_empty() { &mut msg } else { &mut sig };
            let i = at.index(target.len());
            target[i] ^= x;
        }
        let ring_key = UnparsedPublicKey::new(&ECDSA_P256_SHA256_ASN1, pair.public_key().as_ref());
        for sig in [&sig, &junk] {
            let fast = harrow::pki::p256_fast::verify(table, &msg, sig);
            prop_assert_eq!(fast, ring_key.verify(&msg, sig).is_ok());
        }
        if flip.is_none() {
            prop_assert!(harrow::pki::p256_fast::verify(table, &msg, &sig));
        }
        let _ = harrow::pki::p256_fast::KeyTable::new(&key);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn pki_parsers_never_panic(data in textish()) {
        let _ = harrow::pki::parse_certs(&data);
        let _ = harrow::pki::parse_keys(&data);
        let _ = harrow::pki::parse_pub_fingerprints(&data);
        let _ = harrow::pki::parse_kubeconfig(&data);
        let _ = harrow::pki::ca_hash(&data);
        let _ = harrow::pki::pem::parse_blocks(&data);
        let _ = harrow::pki::parse_token(&String::from_utf8_lossy(&data));
    }

    #[test]
    fn der_certificates_never_panic(data in prop::collection::vec(any::<u8>(), 0..2048)) {
        let _ = harrow::pki::cert::parse_cert_der(&data);
    }

    #[test]
    fn host_parsers_never_panic(data in textish()) {
        let _ = harrow::parse::iptables::parse(&data);
        let _ = harrow::parse::sysctl::parse_live(&data);
        let _ = harrow::parse::sysctl::parse_conf(&data);
        let _ = harrow::parse::passwd::parse_passwd(&data);
        let _ = harrow::parse::passwd::parse_group(&data);
        let _ = harrow::parse::supportconfig::sections(&data);
        let _ = harrow::parse::ipaddr::parse(&data);
        let _ = harrow::parse::rke2config::merge(&[("etc/rancher/rke2/config.yaml", &data)]);
        let text = String::from_utf8_lossy(&data);
        for line in text.lines() {
            if let Ok(w) = harrow::parse::iptables::words(line) {
                let _ = harrow::parse::iptables::rule(1, &w);
            }
            let _ = harrow::parse::droplog::parse(line, "HARVESTER_DROP_");
        }
    }

    #[test]
    fn yaml_and_runbooks_never_panic(data in textish()) {
        let limits = harrow::ingest::Limits::default();
        let _ = harrow::snapshot::yaml::parse(&data, &limits);
        let _ = harrow::runbook::load_str("p.yaml", &String::from_utf8_lossy(&data), &[]);
    }

    #[test]
    fn a_token_keeps_its_hash_and_user(hash in "[0-9a-f]{64}", pw in "[A-Za-z0-9]{1,40}") {
        let t = harrow::pki::parse_token(&format!("K10{hash}::server:{pw}")).unwrap();
        prop_assert_eq!(t.ca_hash.as_deref(), Some(hash.as_str()));
        prop_assert_eq!(t.password.expose(), pw.as_str());
    }

    #[test]
    fn a_shell_quoted_value_reads_back_the_same(s in "[ -~]{0,40}") {
        let quoted = harrow::runbook::template::shell_quote(&s);
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(format!("printf %s {quoted}"))
            .output()
            .unwrap();
        prop_assert_eq!(String::from_utf8_lossy(&out.stdout), s);
    }

    #[test]
    fn a_runbook_written_loads_back_equal(
        ids in prop::collection::btree_set("[a-z][a-z0-9-]{0,12}", 1..6),
        // Printable ASCII without `{`: a literal `{{` is an unclosed template, refused on load.
        cmd in "[ -z|-~]{1,60}",
        serial in any::<bool>(),
    ) {
        use harrow::runbook::model::*;
        let steps = ids
            .iter()
            .map(|id| Step {
                id: id.clone(),
                description: None,
                target: Some(Target::Servers),
                order: Some(if serial { Order::Serial } else { Order::Batch(2) }),
                run: Some(cmd.clone()),
                copy: None,
                confirm: None,
                effect: Some(Effects::Many(vec![Effect::Stop {}, Effect::Start {}])),
                verify: None,
                on_failure: Some(OnFailure::Stop),
                rollback: None,
                idempotent: Some(serial),
                checkpoint: None,
                timeout: None,
            })
            .collect();
        let rb = Runbook {
            api_version: API_VERSION.to_string(),
            kind: KIND.to_string(),
            metadata: Metadata { name: "p".into(), description: Some(cmd.clone()), source: None, platform: None },
            params: Default::default(),
            preflight: Vec::new(),
            steps,
        };
        let text = harrow::runbook::write::to_yaml(&rb, &[]).unwrap();
        let back = harrow::runbook::load_str("p.yaml", &text, &[]).unwrap();
        prop_assert_eq!(back.runbook, rb);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// Whole inputs: arbitrary bytes (and arbitrary bytes behind a zip, gzip or xz magic) through
    /// the ingest never panic and always give a tree (an unreadable input is an issue, not a crash).
    #[test]
    fn the_ingest_never_panics_on_arbitrary_archives(
        magic in prop::sample::select(vec![&b""[..], b"PK\x03\x04", b"\x1f\x8b\x08", b"\xfd7zXZ\x00", b"PK\x05\x06"]),
        body in prop::collection::vec(any::<u8>(), 0..4096),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("input.bin");
        let mut bytes = magic.to_vec();
        bytes.extend_from_slice(&body);
        std::fs::write(&p, &bytes).unwrap();
        let spec = harrow::analyze::InputSpec::parse(&p.display().to_string());
        let trees = harrow::analyze::read_inputs(&[spec], &harrow::ingest::Limits::default());
        prop_assert_eq!(trees.len(), 1);
    }
}
