//! BUNDLE001: secrets the support-bundle collector left unmasked. The collector masks the values
//! of keys named `token`, `password`, … in YAML it re-serialises, but not the token inside a
//! `content: |` block of `oem/90_custom.yaml`, nor the installer's `oem/install/console.log`,
//! nor `clusterregistrationtokens` `status.token` (reference harvester-bundle.md §4). Findings
//! give the place and, with `--fingerprint-key`, a keyed fingerprint — never the value.

use super::rule::{Findings, Need, Rule, Verdict};
use super::{Context, Origin, Severity};
use crate::layout::TokenRole;
use crate::model::exposed::ExposedKind;
use crate::pki::secret::{FingerprintKey, Secret, is_placeholder};
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

fn fingerprint(key: Option<&FingerprintKey>, value: Option<&Secret>) -> String {
    match (key, value) {
        (Some(k), Some(v)) => format!(" (fingerprint {})", k.fingerprint(v)),
        _ => String::new(),
    }
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
    // Node configs collected into the bundle's node zips, as the model read them.
    for x in &cx.model.exposed {
        found += 1;
        let (title, message) = match &x.kind {
            ExposedKind::Token { role, key: k } => {
                let role = match role {
                    TokenRole::Server => "server",
                    TokenRole::Agent => "agent",
                };
                (
                    "cluster token left unmasked by the collector",
                    format!(
                        "the {role} token (`{k}`) is readable in the bundle{}",
                        fingerprint(key, x.value.as_ref())
                    ),
                )
            }
            ExposedKind::PasswordHash => (
                "password hash left unmasked by the collector",
                format!(
                    "a password hash is readable in the bundle{}",
                    fingerprint(key, x.value.as_ref())
                ),
            ),
            ExposedKind::PrivateKey => (
                "private key left in the bundle",
                "a PEM private key is readable in the bundle".to_string(),
            ),
        };
        leak(
            out,
            x.origin.node.clone(),
            x.inner.clone(),
            title,
            message,
            &x.origin.input,
            &x.origin.path,
            x.origin.pointer.clone(),
        );
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
                fingerprint(key, Some(&Secret::new(tok)))
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
