//! BUNDLE001: secrets the support-bundle collector left unmasked. The collector masks the values
//! of keys named `token`, `password`, … in YAML it re-serialises, but not the token inside a
//! `content: |` block of `oem/90_custom.yaml`, nor the installer's `oem/install/console.log`,
//! nor `clusterregistrationtokens` `status.token` (reference harvester-bundle.md §4). Findings
//! give the place and, with `--fingerprint-key`, a keyed fingerprint — never the value.

use super::{Evidence, Finding, Judgement, Severity};
use crate::pki::secret::{FingerprintKey, Secret, is_placeholder};
use crate::pki::token::scan_yaml_tree;
use crate::snapshot::{Coverage, CoverageStatus, InputKind, Snapshot};

const CODE: &str = "BUNDLE001";

const REMEDIATION: &str = "treat this bundle as secret: share it only with people allowed to join nodes to the cluster, and delete copies you do not need; the token cannot be rotated on Harvester";

fn fingerprint(key: Option<&FingerprintKey>, value: &str) -> String {
    match key {
        Some(k) => format!(" (fingerprint {})", k.fingerprint(&Secret::new(value))),
        None => String::new(),
    }
}

/// True for a crypt(3) password hash (`$1$`, `$5$`, `$6$`, `$y$`, `$2b$`…).
fn is_password_hash(v: &str) -> bool {
    let v = v.trim().trim_matches(['"', '\'']);
    ["$1$", "$5$", "$6$", "$y$", "$2a$", "$2b$", "$2y$", "$7$"]
        .iter()
        .any(|p| v.starts_with(p))
        && v.len() > 20
}

/// One BUNDLE001 finding at `source!path[:pointer]`.
fn leak(
    node: Option<String>,
    target: String,
    title: &str,
    message: String,
    source: &str,
    path: &str,
    pointer: Option<String>,
) -> Finding {
    Finding {
        severity: Severity::High,
        rule: CODE.into(),
        node,
        target: Some(target),
        title: title.into(),
        message,
        evidence: vec![Evidence {
            source: source.to_string(),
            path: path.to_string(),
            pointer,
        }],
        remediation: REMEDIATION.into(),
    }
}

pub(super) fn evaluate(snap: &Snapshot, key: Option<&FingerprintKey>, j: &mut Judgement) {
    let bundle_inputs: Vec<usize> = snap
        .inputs
        .iter()
        .enumerate()
        .filter(|(_, i)| i.kind == InputKind::HarvesterSupportBundle)
        .map(|(n, _)| n)
        .collect();
    if bundle_inputs.is_empty() {
        j.coverage.push(Coverage {
            rule: CODE.into(),
            status: CoverageStatus::NotApplicable,
            reason: "no support bundle among the inputs".into(),
            needs: None,
        });
        return;
    }
    let mut found = 0usize;
    // Node configs collected into the bundle's node zips.
    for idx in &bundle_inputs {
        let Some(tree) = snap.trees.get(*idx) else {
            continue;
        };
        for (path, file) in &tree.files {
            let Some((_, inner)) = path.rsplit_once('!') else {
                continue;
            };
            if !inner.contains("/configs/") {
                continue;
            }
            let node = inner.split('/').next().map(str::to_string);
            let text = String::from_utf8_lossy(&file.data);
            let scan = scan_yaml_tree(path, &file.data);
            for t in &scan.found {
                let pw = t.token.password.expose();
                if is_placeholder(pw) {
                    continue;
                }
                found += 1;
                let role = match t.role {
                    crate::pki::token::TokenRole::Server => "server",
                    crate::pki::token::TokenRole::Agent => "agent",
                };
                j.findings.push(leak(
                    node.clone(),
                    inner.to_string(),
                    "cluster token left unmasked by the collector",
                    format!(
                        "the {role} token (`{}`) is readable in the bundle{}",
                        t.key,
                        fingerprint(key, pw)
                    ),
                    &tree.name,
                    path,
                    t.line.map(|l| l.to_string()),
                ));
            }
            for (n, line) in text.lines().enumerate() {
                let l = line.trim();
                let hash_value = l
                    .split_once(':')
                    .filter(|(k, _)| {
                        let k = k.trim().trim_start_matches("- ").to_ascii_lowercase();
                        k.ends_with("password") || k.ends_with("passwd")
                    })
                    .map(|(_, v)| v.trim());
                if let Some(v) = hash_value.filter(|v| is_password_hash(v)) {
                    found += 1;
                    j.findings.push(leak(
                        node.clone(),
                        inner.to_string(),
                        "password hash left unmasked by the collector",
                        format!(
                            "a password hash is readable in the bundle{}",
                            fingerprint(key, v)
                        ),
                        &tree.name,
                        path,
                        Some((n + 1).to_string()),
                    ));
                }
                if l.starts_with("-----BEGIN") && l.contains("PRIVATE KEY-----") {
                    found += 1;
                    j.findings.push(leak(
                        node.clone(),
                        inner.to_string(),
                        "private key left in the bundle",
                        "a PEM private key is readable in the bundle".into(),
                        &tree.name,
                        path,
                        Some((n + 1).to_string()),
                    ));
                }
            }
        }
    }
    // Rancher cluster registration tokens are not excluded from bundles.
    for o in snap.objects_of("ClusterRegistrationToken") {
        let Some(tok) = o.value.pointer("/status/token").and_then(|v| v.as_str()) else {
            continue;
        };
        if is_placeholder(tok) {
            continue;
        }
        let Some(tree) = snap.trees.get(o.input) else {
            continue;
        };
        found += 1;
        j.findings.push(leak(
            None,
            format!(
                "clusterregistrationtokens/{}/{}",
                o.namespace.as_deref().unwrap_or("-"),
                o.name
            ),
            "cluster registration token in the bundle",
            format!(
                "status.token of ClusterRegistrationToken {} is readable in the bundle{}",
                o.name,
                fingerprint(key, tok)
            ),
            &tree.name,
            &o.path,
            Some(format!("items[{}].status.token", o.index)),
        ));
    }
    j.coverage.push(Coverage {
        rule: CODE.into(),
        status: if found > 0 {
            CoverageStatus::Fail
        } else {
            CoverageStatus::Pass
        },
        reason: if found > 0 {
            format!("{found} secret(s) readable in the bundle")
        } else {
            "no unmasked token, password hash or private key in the bundle's node configs or registration tokens".into()
        },
        needs: None,
    });
}
