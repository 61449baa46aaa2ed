//! The rule catalog: every rule harrow evaluates, with its code, default severity, title and
//! source. `docs/rules/<CODE>.md` holds each rule's page; a test keeps codes unique and the pages
//! present.

use super::Severity;

/// A rule's static description.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    pub code: &'static str,
    pub severity: Severity,
    pub title: &'static str,
    /// The source documents or reference sections the rule rests on.
    pub source: &'static str,
}

/// Every rule evaluated by this version, sorted by code.
pub const RULES: &[Rule] = &[
    Rule {
        code: "BUNDLE001",
        severity: Severity::High,
        title: "secrets left unmasked in the support bundle",
        source: "reference/harvester-bundle.md §4",
    },
    Rule {
        code: "BUNDLE002",
        severity: Severity::Info,
        title: "support bundle incomplete",
        source: "reference/harvester-bundle.md §1, §3b",
    },
    Rule {
        code: "BUNDLE003",
        severity: Severity::High,
        title: "archive entry refused as unsafe or over a limit",
        source: "spec/product.md, Safety with untrusted archives",
    },
    Rule {
        code: "CERT001",
        severity: Severity::Critical,
        title: "live certificate expired at the reference time",
        source: "seeds/rke2-certificate-management.txt, seeds/harvester-credentials.txt (CM, HC)",
    },
    Rule {
        code: "CERT002",
        severity: Severity::Medium,
        title: "live leaf certificate inside the renew window",
        source: "seeds/rke2-certificate-management.txt (CM), reference/rke2-pki.md §1.0",
    },
    Rule {
        code: "CERT003",
        severity: Severity::High,
        title: "rke2 or custom-root CA expiring within a year, or a leaf outliving its issuing CA",
        source: "seeds/rke2-certificate-management.txt (CM)",
    },
    Rule {
        code: "CERT004",
        severity: Severity::High,
        title: "live certificate not yet valid (clock skew or future-dated)",
        source: "reference/rke2-pki.md §6.1",
    },
    Rule {
        code: "CERT005",
        severity: Severity::High,
        title: "certificate chain broken: issuer missing or signature not verifying",
        source: "reference/rke2-pki.md §1",
    },
    Rule {
        code: "CERT006",
        severity: Severity::Critical,
        title: "private key does not match the first certificate of its pair",
        source: "reference/rke2-pki.md §1.0",
    },
    Rule {
        code: "CERT007",
        severity: Severity::Critical,
        title: "cluster CA file differs between server nodes",
        source: "reference/rke2-pki.md §2.5",
    },
    Rule {
        code: "CERT008",
        severity: Severity::High,
        title: "agent's CA bundle copy differs from the servers' current bundle",
        source: "reference/rke2-pki.md §1.3",
    },
    Rule {
        code: "CERT010",
        severity: Severity::Medium,
        title: "weak crypto on a live certificate: RSA under 2048 bits, SHA-1 or MD5 signature",
        source: "seeds/rke-hardening-guide.txt (HG)",
    },
    Rule {
        code: "CERT015",
        severity: Severity::Info,
        title: "staged and backup certificate trees present",
        source: "reference/rke2-pki.md §3.1",
    },
    Rule {
        code: "CERT016",
        severity: Severity::High,
        title: "component self-signed serving certificate expired or inside the renew window",
        source: "reference/rke2-pki.md §1.1, §7",
    },
    Rule {
        code: "INPUT001",
        severity: Severity::Info,
        title: "facts about the inputs worth knowing before trusting the report",
        source: "spec/product.md, Inputs and One cluster",
    },
    Rule {
        code: "SAKEY001",
        severity: Severity::High,
        title: "service.current.key is not the first key of service.key",
        source: "reference/rke2-pki.md §5",
    },
    Rule {
        code: "SAKEY002",
        severity: Severity::Critical,
        title: "service.key differs between servers",
        source: "reference/rke2-pki.md §5",
    },
    Rule {
        code: "SAKEY003",
        severity: Severity::Medium,
        title: "RSA key under 2048 bits in a server's service.key",
        source: "reference/rke2-pki.md §5",
    },
    Rule {
        code: "TOKEN001",
        severity: Severity::Critical,
        title: "token pins a CA hash other than the cluster's server CA",
        source: "reference/rke2-pki.md §2",
    },
];

/// Look a rule up by code.
pub fn rule(code: &str) -> Option<&'static Rule> {
    RULES.iter().find(|r| r.code == code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_sorted_and_well_formed() {
        for w in RULES.windows(2) {
            assert!(w[0].code < w[1].code, "{} before {}", w[0].code, w[1].code);
        }
        for r in RULES {
            let (alpha, digits) = r.code.split_at(r.code.len() - 3);
            assert!(!alpha.is_empty() && alpha.chars().all(|c| c.is_ascii_uppercase()));
            assert!(digits.chars().all(|c| c.is_ascii_digit()), "{}", r.code);
        }
    }

    #[test]
    fn every_rule_has_a_doc_page() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        for r in RULES {
            let page = root.join("docs/rules").join(format!("{}.md", r.code));
            assert!(page.is_file(), "missing {}", page.display());
        }
    }
}
