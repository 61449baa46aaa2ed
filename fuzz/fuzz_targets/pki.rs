//! Fuzz target: PEM and DER certificates, private and public keys, kubeconfigs, tokens and the
//! RKE2 CA hash. Must never panic.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = harrow::pki::parse_certs(data);
    let _ = harrow::pki::cert::parse_cert_der(data);
    let _ = harrow::pki::parse_keys(data);
    let _ = harrow::pki::parse_pub_fingerprints(data);
    let _ = harrow::pki::parse_kubeconfig(data);
    let _ = harrow::pki::ca_hash(data);
    let _ = harrow::pki::parse_token(&String::from_utf8_lossy(data));
});
