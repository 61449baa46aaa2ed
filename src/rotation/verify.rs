//! TLS-style chain verification for the trust links: does a CA bundle a component trusts verify
//! the certificate chain a peer presents? As Go's `x509.Certificate.Verify` does it for rke2's
//! components: every certificate of the bundle is a trust anchor (self-signed or not), the rest
//! of the presented file after the leaf are intermediates, a chain is built depth first from the
//! leaf to any anchor with a real signature check at each step ([`crate::pki::verify`]), and
//! every certificate of the chain must be valid at the instant judged. Cross-signing is covered:
//! a bundle with several roots (or a presented chain with several paths) verifies when any chain
//! does.
//!
//! Not modelled from Go's verifier: key usage / EKU filtering of the leaf and name
//! constraints; host names are not checked (rke2's components dial addresses the certificates
//! were issued for).

use time::OffsetDateTime;

use crate::pki::{Cert, Verification, verify};

/// Go's `maxChainSignatureChecks`: a bound on the work of one verification.
const MAX_SIGNATURE_CHECKS: u32 = 100;

/// The outcome of verifying one presented chain against one bundle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// A chain reaches an anchor: the fingerprints from the leaf to the anchor.
    Verified(Vec<String>),
    /// No chain verifies; why, in one sentence.
    Fails(String),
    /// Only signatures the verifier cannot check stand between the leaf and an anchor: neither
    /// verified nor refuted.
    Undecided(String),
}

/// Verify `presented` (the leaf first, then the intermediates its file carries) against the
/// anchors of `bundle` at `at`.
pub fn verify_chain(presented: &[&Cert], bundle: &[&Cert], at: OffsetDateTime) -> Outcome {
    let Some(leaf) = presented.first() else {
        return Outcome::Fails("no certificate is presented".to_string());
    };
    if bundle.is_empty() {
        return Outcome::Fails("the trust bundle holds no certificate".to_string());
    }
    if !leaf.is_valid_at(at) {
        return Outcome::Fails(format!(
            "{} is not valid at {} (valid {} to {})",
            name(leaf),
            crate::timefmt::rfc3339(at),
            crate::timefmt::rfc3339(leaf.not_before),
            crate::timefmt::rfc3339(leaf.not_after)
        ));
    }
    // Go: a leaf that is itself in the root pool verifies.
    if bundle.iter().any(|a| a.der() == leaf.der()) {
        return Outcome::Verified(vec![leaf.fingerprint_sha256().to_string()]);
    }
    let mut search = Search {
        intermediates: &presented[1..],
        bundle,
        at,
        budget: MAX_SIGNATURE_CHECKS,
        unsupported: false,
        expired_anchor: None,
        bad_signature: None,
    };
    let mut chain = vec![*leaf];
    if let Some(done) = search.extend(&mut chain) {
        return Outcome::Verified(done);
    }
    if search.unsupported {
        return Outcome::Undecided(format!(
            "a signature on the way from {} to the bundle uses an algorithm the verifier does \
             not support",
            name(leaf)
        ));
    }
    let anchors: Vec<String> = bundle.iter().map(|a| name(a)).collect();
    let detail = if let Some(a) = search.expired_anchor {
        format!("; its issuer {a} in the bundle is not valid at that instant")
    } else if let Some(b) = search.bad_signature {
        format!("; {b}")
    } else {
        String::new()
    };
    Outcome::Fails(format!(
        "no chain from {} (issuer {}) reaches the trusted bundle [{}]{detail}",
        name(leaf),
        leaf.issuer(),
        anchors.join(", ")
    ))
}

/// A certificate's name for a sentence: its common name (or subject) and a fingerprint prefix.
pub fn name(c: &Cert) -> String {
    let cn = c.subject_cn().unwrap_or(c.subject());
    let fp = c
        .fingerprint_sha256()
        .get(..12)
        .unwrap_or(c.fingerprint_sha256());
    format!("{cn} [{fp}]")
}

struct Search<'a> {
    intermediates: &'a [&'a Cert],
    bundle: &'a [&'a Cert],
    at: OffsetDateTime,
    budget: u32,
    unsupported: bool,
    expired_anchor: Option<String>,
    bad_signature: Option<String>,
}

impl<'a> Search<'a> {
    /// Extend `chain` (ending at a certificate not yet anchored) to an anchor, anchors tried
    /// before intermediates, depth first.
    fn extend(&mut self, chain: &mut Vec<&'a Cert>) -> Option<Vec<String>> {
        let current = *chain.last()?;
        for &a in self.bundle {
            if self.signs(current, a, chain) {
                if !a.is_valid_at(self.at) {
                    self.expired_anchor.get_or_insert_with(|| name(a));
                    continue;
                }
                let mut done: Vec<String> = chain
                    .iter()
                    .map(|c| c.fingerprint_sha256().to_string())
                    .collect();
                done.push(a.fingerprint_sha256().to_string());
                return Some(done);
            }
        }
        for &i in self.intermediates {
            if i.is_valid_at(self.at) && self.signs(current, i, chain) {
                chain.push(i);
                if let Some(done) = self.extend(chain) {
                    return Some(done);
                }
                chain.pop();
            }
        }
        None
    }

    /// `parent` may sign and its key verifies `child`'s signature; a parent already in the
    /// chain (a loop) is refused.
    fn signs(&mut self, child: &Cert, parent: &Cert, chain: &[&Cert]) -> bool {
        if parent.subject_der() != child.issuer_der() || !parent.may_sign_certs() {
            return false;
        }
        if let (Some(aki), Some(ski)) = (&child.aki(), &parent.ski())
            && aki != ski
        {
            return false;
        }
        if chain
            .iter()
            .any(|c| c.subject_der() == parent.subject_der() && c.spki_der() == parent.spki_der())
        {
            return false;
        }
        if self.budget == 0 {
            return false;
        }
        self.budget -= 1;
        match verify(child, parent) {
            Verification::Verified => true,
            Verification::Unsupported => {
                self.unsupported = true;
                false
            }
            Verification::BadSignature => {
                self.bad_signature.get_or_insert_with(|| {
                    format!(
                        "{} names {} as issuer but its signature does not verify with that key",
                        name(child),
                        name(parent)
                    )
                });
                false
            }
        }
    }
}
