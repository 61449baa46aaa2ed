//! Fuzz target: the per-key P-256 tables (`pki::p256_fast`) against ring. Three fixed keys sign
//! the input's message deterministically (RFC 6979); the rest of the input changes bytes of the
//! signature or replaces it. The table's verdict must be ring's, for valid and mangled
//! signatures alike, and nothing may panic.
#![no_main]
use libfuzzer_sys::fuzz_target;
use p256::ecdsa::signature::Signer;
use p256::ecdsa::{Signature, SigningKey};
use p256::elliptic_curve::sec1::ToSec1Point;
use ring::signature::{ECDSA_P256_SHA256_ASN1, UnparsedPublicKey};
use std::sync::OnceLock;

struct Key {
    signing: SigningKey,
    public: Vec<u8>,
    table: harrow::pki::p256_fast::KeyTable,
}

fn keys() -> &'static [Key] {
    static KEYS: OnceLock<Vec<Key>> = OnceLock::new();
    KEYS.get_or_init(|| {
        (1..=3u8)
            .map(|i| {
                let signing = SigningKey::from_slice(&[i; 32]).unwrap();
                let public = signing
                    .verifying_key()
                    .as_affine()
                    .to_sec1_point(false)
                    .as_bytes()
                    .to_vec();
                let table = harrow::pki::p256_fast::KeyTable::new(&public).unwrap();
                Key { signing, public, table }
            })
            .collect()
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&head, rest)) = data.split_first() else {
        return;
    };
    let key = &keys()[usize::from(head % 3)];
    let split = rest.len().min(usize::from(rest.first().copied().unwrap_or(0)));
    let (msg, tail) = rest.split_at(split);
    let sig: Signature = key.signing.sign(msg);
    let mut der = sig.to_der().as_bytes().to_vec();
    if head >= 0xf0 {
        // The tail is the signature itself.
        der = tail.to_vec();
    } else {
        // The tail is (position, xor) pairs applied to the signature.
        for pair in tail.chunks_exact(2) {
            let i = usize::from(pair[0]) % der.len();
            der[i] ^= pair[1];
        }
    }
    let fast = harrow::pki::p256_fast::verify(&key.table, msg, &der);
    let ring = UnparsedPublicKey::new(&ECDSA_P256_SHA256_ASN1, &key.public)
        .verify(msg, &der)
        .is_ok();
    assert_eq!(fast, ring, "table and ring disagree");
    let _ = harrow::pki::p256_fast::KeyTable::new(tail);
});
