//! BUNDLE001: secrets the support-bundle collector left unmasked. The collector masks the values
//! of keys named `token`, `password`, … in YAML it re-serialises, but not the token inside a
//! `content: |` block of `oem/90_custom.yaml`, nor the installer's `oem/install/console.log`,
//! nor `clusterregistrationtokens` `status.token` (reference harvester-bundle.md §4). As rules.md
//! says, a token field of a node config counts with any unmasked value, a registration token's
//! `status.token` only with a secret's shape or when it equals a token found elsewhere (the
//! literal `token` that `kubectl apply` leaves there is a placeholder). Each kind of secret has
//! its own remediation. Findings give the place and, with `--fingerprint-key`, a keyed
//! fingerprint — never the value.

use std::collections::BTreeSet;

use super::rule::{Findings, Need, Rule, Verdict};
use super::{Context, Origin, Severity};
use crate::layout::TokenRole;
use crate::model::exposed::{ExposedKind, has_registration_token_shape, is_placeholder_word};
use crate::pki::secret::{FingerprintKey, Secret};
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
`status.token` (not an excluded resource), crypt(3) password hashes, and any PEM private key in a
node's collected configs. In a token field of an oem, rancherd or rke2 config any unmasked value is
the secret; elsewhere a value counts only when it has a secret's shape: a registration token's
`status.token` when it looks like one (40 or more random letters and digits) or equals a cluster
token found elsewhere in the inputs. Placeholders are not secrets: values the collector masked
(`***`), empty or `null` values, and words such as the literal `token` that `kubectl apply` leaves
in `status.token` or `<token>`.

**Evidence.** The place only: the bundle, the nested path with `!`, and the line or YAML path. With
`--fingerprint-key FILE` the finding also carries a keyed HMAC-SHA256 fingerprint (`hm:…`), so
two bundles can be compared without showing the value. A bare hash is never shown: a short token
falls to a dictionary.

**Why it matters.** The cluster (join) token joins nodes to the cluster and decrypts the
datastore's bootstrap data; on Harvester it cannot be rotated (`rke2 token rotate` breaks the next
boot). Rancher's cluster registration token is a different credential: it lets an agent register
a cluster with Rancher (on Harvester's embedded Rancher its value may equal the cluster token). A
password hash can be cracked offline; a private key lets its holder impersonate its certificate.
Whoever holds the bundle holds them.

**Remediation.** By kind. Every finding: treat the bundle as secret, share it only with people who
may hold the secret, delete copies that are not needed. A cluster token cannot be rotated on
Harvester: limit who holds the bundle. A registration token: regenerate it in Rancher (delete the
`ClusterRegistrationToken`; Rancher creates a new one with a new value); when it equals the cluster
token, the cluster token's advice applies too. A password hash: change the password of the account
on the node. A private key: replace the key and the certificate it pairs with, and keep the key out
of the collected directories.

**Source.** `reference/harvester-bundle.md` §4 (redaction gaps observed in a v1.7.0 bundle),
`seeds/harvester-credentials.txt` (the token cannot be rotated on Harvester).
"#,
    evaluate: bundle001,
};

/// Said of every leak: the bundle itself is the exposure.
const SHARE: &str = "treat this bundle as secret: share it only with people allowed to hold this secret, and delete copies you do not need";

/// The remediation of one kind of leak.
fn remediation(kind: &Leak) -> String {
    let what = match kind {
        Leak::ClusterToken => {
            "the cluster join token cannot be rotated on Harvester (`rke2 token rotate` breaks the next boot): only who holds the bundle can be limited"
        }
        Leak::RegistrationToken => {
            "this is Rancher's cluster registration token, not the RKE2 join token: regenerate it in Rancher (delete the ClusterRegistrationToken; Rancher creates a new one with a new value) and use the new registration command from then on"
        }
        Leak::RegistrationIsClusterToken => {
            "this registration token carries the cluster join token's value, which cannot be rotated on Harvester (`rke2 token rotate` breaks the next boot): only who holds the bundle can be limited"
        }
        Leak::PasswordHash => {
            "the hash can be cracked offline: change the password of the account on the node (`passwd` as that user), on every node installed with it"
        }
        Leak::PrivateKey => {
            "consider the key compromised: replace the key and the certificate it pairs with, and keep private keys out of the directories the collector copies"
        }
    };
    format!("{SHARE}; {what}")
}

/// The kinds of leak, each with its own remediation.
enum Leak {
    ClusterToken,
    RegistrationToken,
    RegistrationIsClusterToken,
    PasswordHash,
    PrivateKey,
}

fn fingerprint(key: Option<&FingerprintKey>, value: Option<&Secret>) -> String {
    match (key, value) {
        (Some(k), Some(v)) => format!(" (fingerprint {})", k.fingerprint(v)),
        _ => String::new(),
    }
}

/// One BUNDLE001 finding at `origin`, with its own title and the remediation of its kind.
fn leak(
    out: &mut Findings,
    node: Option<String>,
    target: String,
    title: &str,
    message: String,
    kind: &Leak,
    origin: Origin,
) {
    out.add(node, Some(target), message, vec![origin], remediation(kind))
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
        let (kind, title, message) = match &x.kind {
            ExposedKind::Token { role, key: k } => {
                let role = match role {
                    TokenRole::Server => "server",
                    TokenRole::Agent => "agent",
                };
                (
                    Leak::ClusterToken,
                    "cluster token left unmasked by the collector",
                    format!(
                        "the {role} token (`{k}`) is readable in the bundle{}",
                        fingerprint(key, x.value.as_ref())
                    ),
                )
            }
            ExposedKind::PasswordHash => (
                Leak::PasswordHash,
                "password hash left unmasked by the collector",
                format!(
                    "a password hash is readable in the bundle{}",
                    fingerprint(key, x.value.as_ref())
                ),
            ),
            ExposedKind::PrivateKey => (
                Leak::PrivateKey,
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
            &kind,
            Origin::new(x.origin.input.as_str(), x.origin.path.as_str())
                .at(x.origin.pointer.clone()),
        );
    }
    // Rancher cluster registration tokens are not excluded from bundles. A `status.token` counts
    // when it has a registration token's shape or equals a cluster token found elsewhere.
    let known = known_token_passwords(cx);
    for o in snap.objects_of("ClusterRegistrationToken") {
        let Some(tok) = o.value.pointer("/status/token").and_then(|v| v.as_str()) else {
            continue;
        };
        if is_placeholder_word(tok) {
            continue;
        }
        let kind = if known.contains(tok) {
            Leak::RegistrationIsClusterToken
        } else if has_registration_token_shape(tok) {
            Leak::RegistrationToken
        } else {
            continue;
        };
        let Some(tree) = snap.trees.get(o.input) else {
            continue;
        };
        found += 1;
        let also = match kind {
            Leak::RegistrationIsClusterToken => ", and its value is the cluster join token's",
            _ => "",
        };
        leak(
            out,
            None,
            format!(
                "clusterregistrationtokens/{}/{}",
                o.namespace.as_deref().unwrap_or("-"),
                o.name
            ),
            "Rancher cluster registration token left in the bundle",
            format!(
                "status.token of ClusterRegistrationToken {} is readable in the bundle{also}{}",
                o.name,
                fingerprint(key, Some(&Secret::new(tok)))
            ),
            &kind,
            Origin::new(tree.name.as_str(), o.path.as_str())
                .at(Some(format!("items[{}].status.token", o.index))),
        );
    }
    Verdict::judged(
        format!("{found} secret(s) readable in the bundle"),
        "no unmasked token, password hash or private key in the bundle's node configs or registration tokens",
    )
}

/// The passwords of every cluster token the inputs hold (node configs of a bundle, node
/// snapshots' token files and configs), for comparison in memory only.
fn known_token_passwords<'a>(cx: &'a Context) -> BTreeSet<&'a str> {
    let exposed = cx
        .model
        .exposed
        .iter()
        .filter(|x| matches!(x.kind, ExposedKind::Token { .. }))
        .filter_map(|x| x.value.as_ref().map(Secret::expose));
    let on_nodes = cx
        .model
        .tokens
        .values()
        .flatten()
        .map(|t| t.found.token.password.expose());
    exposed
        .chain(on_nodes)
        .filter(|p| !is_placeholder_word(p))
        .collect()
}
