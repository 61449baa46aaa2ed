//! Whether a live certificate can be trusted at all: CERT005 (issuer missing or signature not
//! verifying) and CERT010 (weak crypto: RSA under 2048 bits, SHA-1 / MD5 / MD2 signatures).

use super::{copies_note, describe, live_or_not_evaluable, per_node};
use crate::checks::rule::{Findings, Need, Rule, Verdict};
use crate::checks::{Context, Severity};
use crate::model::certs::CertEntry;
use crate::pki::{ChainStatus, KeyAlgorithm};

/// Certificate chain broken: issuer missing or signature not verifying.
pub static CERT005: Rule = Rule {
    code: "CERT005",
    severity: Severity::High,
    title: "certificate chain broken: issuer missing or signature not verifying",
    source: "reference/rke2-pki.md §1",
    needs: &[Need::NodeFiles],
    doc: r#"**What it reads.** The certificate inventory's live certificates and their chain status: for each,
the certificates of the inputs whose subject is its issuer, and whether one of their keys verifies
its signature.

**What it reports.** One finding per certificate and node when its issuer is missing from every
input (`issuer-missing`) or no certificate of that name verifies its signature (`bad-signature`):
subject, fingerprint prefix, the issuer name, the host path and the files holding it.
kube-controller-manager / kube-scheduler serving certificates that the components signed themselves
(`--cert-dir`, Rancher-provisioned clusters before the May 2025 releases) are not breaks; their
expiry is CERT016's.

**Why it matters.** A leaf whose issuer is gone or whose signature does not verify is rejected by
every client trusting the cluster CAs: typically a leaf left behind by a CA change, or a CA file
replaced by hand.

**Remediation.** Find the CA that signed it: restore a missing CA file from a backup
(`server/tls-<unix>/`) or the datastore; if the leaf was signed by another CA, restart rke2 on the
node so it is reissued by the current CA.

**Not evaluable** without live certificates (node snapshots). A snapshot of one node only can lack
an issuer that other nodes hold: collect every server.

**Source.** `reference/rke2-pki.md` §1 (signers of every file), §1.1 (component certificates);
rules.md CERT005.
"#,
    evaluate: cert005,
};

/// Weak crypto on a live certificate: RSA under 2048 bits, SHA-1 or MD5 signature.
pub static CERT010: Rule = Rule {
    code: "CERT010",
    severity: Severity::Medium,
    title: "weak crypto on a live certificate: RSA under 2048 bits, SHA-1 or MD5 signature",
    source: "seeds/rke-hardening-guide.txt (HG)",
    needs: &[Need::NodeFiles],
    doc: r#"**What it reads.** The certificate inventory's live certificates (CAs and leaves): the public key
algorithm and size, and the signature algorithm.

**What it reports.** One finding per certificate and node with an RSA (or RSA-PSS) key under 2048
bits, or a signature over SHA-1, MD5 or MD2: subject, fingerprint prefix, the key size or signature
algorithm, the host path and the other files holding it.

**Why it matters.** rke2 issues ECDSA P-256 certificates signed with SHA-256; weak material comes
from hand-made or custom CA certificates and old tooling. RSA under 2048 bits and SHA-1/MD5
signatures are refused by hardened (CIS/FIPS) profiles and by current TLS clients.

**Remediation.** Leaves: delete the file and its key and restart rke2 on the node so it reissues
the certificate, or reissue it from its CA with a strong key and SHA-256 if it was supplied by
hand. CAs: rotate with `rke2 certificate rotate-ca` using CA files made with a strong key, then
restart every server and agent.

**Not evaluable** without live certificates (node snapshots).

**Source.** `seeds/rke-hardening-guide.txt` (HG); rules.md CERT010.
"#,
    evaluate: cert010,
};

/// Component self-signed serving certificates are not breaks (CERT016 judges them).
fn cert005(cx: &Context, out: &mut Findings) -> Verdict {
    let live = match live_or_not_evaluable(cx) {
        Ok(n) => n,
        Err(v) => return v,
    };
    let mut n = 0;
    for e in cx.model.certs.certs.values() {
        if e.component_self_signed {
            continue;
        }
        let why = match e.chain {
            ChainStatus::IssuerMissing => format!(
                "its issuer {} is not among the certificates of the inputs",
                e.cert.issuer()
            ),
            ChainStatus::BadSignature => format!(
                "no certificate named {} verifies its signature",
                e.cert.issuer()
            ),
            _ => continue,
        };
        let what = describe(e);
        n += per_node(
            e,
            out,
            None,
            |node, locs| format!("{what} on {node}: {why}{}", copies_note(locs)),
            |_| {
                "find the CA that signed it: if the issuer file is missing, restore it from a backup (server/tls-<unix>/) or etcd; if it was re-signed by another CA, restart rke2 on the node so the leaf is reissued by the current CA".to_string()
            },
        );
    }
    Verdict::judged(
        format!("{n} finding(s) among {live} live certificate(s)"),
        format!(
            "{live} live certificate(s): every issuer present and verifying (component self-signed certificates excepted)"
        ),
    )
}

/// What is weak about a certificate's crypto (rules.md CERT010), if anything.
fn weakness(e: &CertEntry) -> Option<String> {
    let mut why = Vec::new();
    if matches!(
        e.cert.key_algorithm,
        KeyAlgorithm::Rsa | KeyAlgorithm::RsaPss
    ) && let Some(bits) = e.cert.key_bits
        && bits < 2048
    {
        why.push(format!("an RSA key of {bits} bits (under 2048)"));
    }
    if let Some(h) = e.cert.weak_signature_hash() {
        why.push(format!(
            "a {} signature ({})",
            h.to_uppercase(),
            e.cert.signature_algorithm()
        ));
    }
    (!why.is_empty()).then(|| why.join(" and "))
}

fn cert010(cx: &Context, out: &mut Findings) -> Verdict {
    let live = match live_or_not_evaluable(cx) {
        Ok(n) => n,
        Err(v) => return v,
    };
    let mut n = 0;
    for e in cx.model.certs.certs.values() {
        let Some(why) = weakness(e) else { continue };
        let what = describe(e);
        n += per_node(
            e,
            out,
            None,
            |node, locs| format!("{what} on {node} has {why}{}", copies_note(locs)),
            |_| {
                if e.cert.is_ca {
                    "replace the CA with one using RSA 2048+ (or ECDSA) keys and SHA-256 signatures: rotate it with `rke2 certificate rotate-ca` (custom CA files generated with a strong key), then restart every server and agent".to_string()
                } else {
                    "reissue the certificate with an RSA 2048+ (or ECDSA) key and a SHA-256 signature: rke2 issues such certificates itself, so delete the file (and its key) and restart rke2 on the node, or reissue it from its CA if it was supplied by hand".to_string()
                }
            },
        );
    }
    Verdict::judged(
        format!("{n} finding(s) among {live} live certificate(s)"),
        format!(
            "{live} live certificate(s): no RSA key under 2048 bits, no SHA-1/MD5/MD2 signature"
        ),
    )
}
