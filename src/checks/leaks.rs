//! BUNDLE001: secrets the support-bundle collector left unmasked. The collector masks the values
//! of keys named `token`, `password`, … in YAML it re-serialises, but not the token inside a
//! `content: |` block of `oem/90_custom.yaml`, nor the installer's `oem/install/console.log`,
//! nor `clusterregistrationtokens` `status.token` (reference harvester-bundle.md §4). Findings
//! give the place and, with `--fingerprint-key`, a keyed fingerprint — never the value.

use super::rule::{Findings, Need, Rule, Verdict};
use super::{Context, Origin, Severity};
use crate::pki::secret::{FingerprintKey, Secret, is_placeholder};
use crate::pki::token::scan_yaml_tree;
use crate::snapshot::InputKind;

/// Secrets left unmasked in the support bundle.
pub static BUNDLE001: Rule = Rule {
    code: "BUNDLE001",
    severity: Severity::High,
    title: "secrets left unmasked in the support bundle",
    source: "reference/harvester-bundle.md §4",
    needs: &[Need::SupportBundle],
    doc: r#"**What it flags.** Secrets a Harvester support bundle carries although the collector tries to mask
them: the cluster token inside the `content: |` blocks of `oem/90_custom.yaml` (the collector's
`yq` masks map keys only, and its `sed` targets the older `99_custom.yaml`), the installer's config
dumps in `oem/install/console.log` (token and password hash), `clusterregistrationtokens`
`status.token` (not an excluded resource), and any PEM private key in a node's collected configs.
Values the collector did mask (`***`) are absent, not secrets.

**Evidence.** The place only: the bundle, the nested path with `!`, and the line or YAML path. With
`--fingerprint-key FILE` the finding also carries a keyed HMAC-SHA256 fingerprint (`hm:…`), so
two bundles can be compared without showing the value. A bare hash is never shown: a short token
falls to a dictionary.

**Why it matters.** The cluster token joins nodes to the cluster and decrypts the datastore's
bootstrap data; on Harvester it cannot be rotated (`rke2 token rotate` breaks the next boot).
Whoever holds the bundle holds the token.

**Remediation.** Treat the bundle as secret; share it only with people who may join nodes, and
delete copies that are not needed.

**Source.** `reference/harvester-bundle.md` §4 (redaction gaps observed in a v1.7.0 bundle),
`seeds/harvester-credentials.txt` (the token cannot be rotated on Harvester).
"#,
    evaluate: bundle001,
};

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

/// One BUNDLE001 finding at `source!path[:pointer]`, with its own title.
#[allow(clippy::too_many_arguments)]
fn leak(
    out: &mut Findings,
    node: Option<String>,
    target: String,
    title: &str,
    message: String,
    source: &str,
    path: &str,
    pointer: Option<String>,
) {
    out.add(
        node,
        Some(target),
        message,
        vec![Origin::new(source, path).at(pointer)],
        REMEDIATION.into(),
    )
    .title = title.into();
}

fn bundle001(cx: &Context, out: &mut Findings) -> Verdict {
    let (snap, key) = (cx.snapshot, cx.key);
    let bundle_inputs: Vec<usize> = snap
        .inputs
        .iter()
        .enumerate()
        .filter(|(_, i)| i.kind == InputKind::HarvesterSupportBundle)
        .map(|(n, _)| n)
        .collect();
    if bundle_inputs.is_empty() {
        return Verdict::not_applicable("no support bundle among the inputs");
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
                leak(
                    out,
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
                );
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
                    leak(
                        out,
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
                    );
                }
                if l.starts_with("-----BEGIN") && l.contains("PRIVATE KEY-----") {
                    found += 1;
                    leak(
                        out,
                        node.clone(),
                        inner.to_string(),
                        "private key left in the bundle",
                        "a PEM private key is readable in the bundle".into(),
                        &tree.name,
                        path,
                        Some((n + 1).to_string()),
                    );
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
        leak(
            out,
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
        );
    }
    Verdict::judged(
        format!("{found} secret(s) readable in the bundle"),
        "no unmasked token, password hash or private key in the bundle's node configs or registration tokens",
    )
}
