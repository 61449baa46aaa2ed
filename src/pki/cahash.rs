//! The token CA hash, as RKE2/K3s `hashCA` computes it over the served `server-ca.crt`.
//!
//! One certificate: SHA-256 of the raw file bytes. Several: the certificates at index ≥ 1 whose
//! AKI is empty or equals their SKI are roots, the other ones at index ≥ 1 intermediates;
//! chains for certificate 0 are built the way Go's `x509.Certificate.Verify` does (depth
//! first, roots tried before intermediates, candidates ordered by key-identifier match), and the
//! hash is SHA-256 of the DER of the last certificate of the first chain. If no chain verifies,
//! SHA-256 of the raw bytes.
//!
//! Not modelled from Go's verifier: EKU filtering (CA certificates normally carry no EKU) and
//! name constraints.

use time::OffsetDateTime;

use super::cert::{Cert, Verification, parse_certs, verify};
use super::{PkiError, sha256_hex};

/// How the hash was obtained.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CaHashMethod {
    /// The file holds one certificate: hash of the raw bytes.
    RawFile,
    /// The hash is the fingerprint of this root, reached through `chain` (indices into the
    /// file's certificates, starting with 0 and ending with the root).
    Root {
        root_fingerprint: String,
        chain: Vec<usize>,
    },
    /// Several certificates but no chain verifies: hash of the raw bytes.
    FallbackUnverifiable,
}

/// A token CA hash (public: it is printed as is).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaHash {
    /// 64 lowercase hex digits.
    pub hex: String,
    pub method: CaHashMethod,
    /// How many certificates the file holds.
    pub cert_count: usize,
}

/// `hashCA` over the bytes of `server-ca.crt`, ignoring validity periods.
pub fn ca_hash(file_bytes: &[u8]) -> Result<CaHash, PkiError> {
    ca_hash_at(file_bytes, None)
}

/// `hashCA` as a node computes it at instant `at` (`None`: validity periods ignored). Go's
/// verifier rejects expired or not-yet-valid certificates, so at a time when the chain has
/// expired the hash falls back to the raw bytes.
pub fn ca_hash_at(file_bytes: &[u8], at: Option<OffsetDateTime>) -> Result<CaHash, PkiError> {
    let certs = parse_certs(file_bytes)?;
    let raw = sha256_hex(file_bytes);
    if certs.len() <= 1 {
        return Ok(CaHash {
            hex: raw,
            method: CaHashMethod::RawFile,
            cert_count: certs.len(),
        });
    }
    let (roots, intermediates): (Vec<usize>, Vec<usize>) =
        (1..certs.len()).partition(|&i| certs[i].looks_like_root());
    let leaf_ok = at.is_none_or(|t| certs[0].is_valid_at(t));
    let mut budget = MAX_SIGNATURE_CHECKS;
    let mut chain = vec![0];
    let found = if leaf_ok {
        Builder {
            certs: &certs,
            roots: &roots,
            intermediates: &intermediates,
            at,
        }
        .first_chain(&mut chain, &mut budget)
    } else {
        None
    };
    Ok(match found {
        Some(chain) => {
            let root = chain.last().copied().unwrap_or(0);
            let fp = certs[root].fingerprint_sha256().to_string();
            CaHash {
                hex: fp.clone(),
                method: CaHashMethod::Root {
                    root_fingerprint: fp,
                    chain,
                },
                cert_count: certs.len(),
            }
        }
        None => CaHash {
            hex: raw,
            method: CaHashMethod::FallbackUnverifiable,
            cert_count: certs.len(),
        },
    })
}

/// Go's `maxChainSignatureChecks`.
const MAX_SIGNATURE_CHECKS: u32 = 100;

struct Builder<'a> {
    certs: &'a [Cert],
    roots: &'a [usize],
    intermediates: &'a [usize],
    at: Option<OffsetDateTime>,
}

impl Builder<'_> {
    fn first_chain(&self, chain: &mut Vec<usize>, budget: &mut u32) -> Option<Vec<usize>> {
        let current = *chain.last()?;
        for r in self.potential_parents(current, self.roots) {
            if self.consider(r, chain, budget) {
                let mut done = chain.clone();
                done.push(r);
                return Some(done);
            }
        }
        for i in self.potential_parents(current, self.intermediates) {
            if self.consider(i, chain, budget) {
                chain.push(i);
                if let Some(done) = self.first_chain(chain, budget) {
                    return Some(done);
                }
                chain.pop();
            }
        }
        None
    }

    /// Candidates whose subject is the current issuer, ordered as Go's
    /// `findPotentialParents`: key ids equal, then one missing, then different.
    fn potential_parents(&self, current: usize, pool: &[usize]) -> Vec<usize> {
        let child = &self.certs[current];
        let (mut matching, mut one, mut mismatch) = (Vec::new(), Vec::new(), Vec::new());
        for &p in pool {
            let cand = &self.certs[p];
            if cand.subject_der() != child.issuer_der() {
                continue;
            }
            match (&cand.ski(), &child.aki()) {
                (a, b) if a == b => matching.push(p),
                (None, Some(_)) | (Some(_), None) => one.push(p),
                _ => mismatch.push(p),
            }
        }
        matching.extend(one);
        matching.extend(mismatch);
        matching
    }

    fn consider(&self, cand: usize, chain: &[usize], budget: &mut u32) -> bool {
        let c = &self.certs[cand];
        let in_chain = chain.iter().any(|&i| {
            let o = &self.certs[i];
            o.subject_der() == c.subject_der() && o.spki_der() == c.spki_der()
        });
        if in_chain {
            return false;
        }
        if self.at.is_some_and(|t| !c.is_valid_at(t)) {
            return false;
        }
        if !c.may_sign_certs() {
            return false;
        }
        // Go's path length check: intermediates below the candidate.
        if let Some(max) = c.path_len
            && chain.len().saturating_sub(1) > max as usize
        {
            return false;
        }
        if *budget == 0 {
            return false;
        }
        *budget -= 1;
        let Some(&child) = chain.last() else {
            return false;
        };
        verify(&self.certs[child], c) == Verification::Verified
    }
}
