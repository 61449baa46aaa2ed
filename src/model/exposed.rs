//! Secrets a Harvester support bundle exposes in its node configs: cluster tokens the collector
//! did not mask (inside `content: |` blocks of `/oem` files, in the installer's console log),
//! crypt(3) password hashes, PEM private keys. Read once with the rest of the credential model;
//! the value is kept only as a [`Secret`] (zeroized, never printed), for keyed fingerprints.
//!
//! As rules.md's BUNDLE001 says: in a token field of an oem, rancherd or rke2 config any value
//! that is not a placeholder ([`is_placeholder_word`]: masked, empty, `null`, the literal
//! `token`, `<token>`) is the secret; elsewhere a value counts only when it has a secret's shape
//! (a crypt hash, a PEM private key, [`has_registration_token_shape`]). A file that holds
//! nothing but a token (a `token-file:` target such as `/etc/rancher/rke2/join-token`) is a
//! token field as a whole.

use super::Origin;
use crate::layout::TokenRole;
use crate::pki::secret::{Secret, is_placeholder};
use crate::pki::token::scan_yaml_tree;
use crate::snapshot::{InputKind, Snapshot};

/// What kind of secret was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExposedKind {
    /// A cluster token, under the config key that holds it.
    Token { role: TokenRole, key: String },
    /// A crypt(3) password hash.
    PasswordHash,
    /// A PEM private key (its first line).
    PrivateKey,
}

/// One secret readable in a bundle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exposed {
    /// The bundle, the path inside it, the line; the node whose configs hold it.
    pub origin: Origin,
    /// The path inside the node zip (`n1/configs/oem/90_custom.yaml`).
    pub inner: String,
    pub kind: ExposedKind,
    /// The value, for keyed fingerprints only (none for private keys).
    pub value: Option<Secret>,
}

/// True for a crypt(3) password hash (`$1$`, `$5$`, `$6$`, `$y$`, `$2b$`…).
pub fn is_password_hash(v: &str) -> bool {
    let v = v.trim().trim_matches(['"', '\'']);
    ["$1$", "$5$", "$6$", "$y$", "$2a$", "$2b$", "$2y$", "$7$"]
        .iter()
        .any(|p| v.starts_with(p))
        && v.len() > 20
}

/// True for the first line of a PEM private key block (`-----BEGIN … PRIVATE KEY-----`).
pub fn is_private_key_line(line: &str) -> bool {
    line.starts_with("-----BEGIN") && line.contains("PRIVATE KEY-----")
}

/// True for a value that stands in for a secret rather than being one: what
/// [`is_placeholder`] says (empty, `null`, masked `***`), or a placeholder word such as the
/// literal `token` that `kubectl apply` leaves in a registration token's `status.token`,
/// `<token>`, `${TOKEN}`, `password`, `redacted`; and a keyed fingerprint that `harrow redact`
/// or `harrow collect` put in a secret's place.
pub fn is_placeholder_word(value: &str) -> bool {
    let v = value.trim().trim_matches(['"', '\'']);
    if is_placeholder(v) || crate::pki::secret::is_keyed_fingerprint(v) {
        return true;
    }
    let word = v
        .trim_start_matches(['<', '$', '{', '['])
        .trim_end_matches(['>', '}', ']'])
        .trim()
        .to_ascii_lowercase()
        .replace('_', "-");
    matches!(
        word.as_str(),
        "token"
            | "agent-token"
            | "cluster-token"
            | "rke2-token"
            | "k3s-token"
            | "password"
            | "passwd"
            | "secret"
            | "redacted"
            | "none"
            | "nil"
            | "null"
    )
}

/// True for a value shaped like a Rancher registration token (or any generated token): at least
/// 40 ASCII letters and digits with the variety of a random string (Rancher's are 54 characters
/// of `bcdfghjklmnpqrstvwxz2456789`).
pub fn has_registration_token_shape(value: &str) -> bool {
    let v = value.trim();
    if v.len() < 40 || !v.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return false;
    }
    let mut seen = [false; 128];
    for b in v.bytes() {
        seen[usize::from(b & 0x7f)] = true;
    }
    seen.iter().filter(|s| **s).count() >= 10
}

/// Every secret readable in the node configs of the snapshot's support bundles.
pub fn scan(snap: &Snapshot) -> Vec<Exposed> {
    let mut out = Vec::new();
    for (idx, input) in snap.inputs.iter().enumerate() {
        if input.kind != InputKind::HarvesterSupportBundle {
            continue;
        }
        let Some(tree) = snap.trees.get(idx) else {
            continue;
        };
        for (path, file) in &tree.files {
            let Some((_, inner)) = path.rsplit_once('!') else {
                continue;
            };
            if !inner.contains("/configs/") {
                continue;
            }
            let node = inner.split('/').next().unwrap_or_default();
            let at = |line: Option<usize>| {
                let mut o =
                    Origin::new(tree.name.as_str(), &**path).at(line.map(|l| l.to_string()));
                o.node = Some(node.to_string());
                o
            };
            for t in scan_yaml_tree(path, &file.data).found {
                let pw = t.token.password.expose();
                if is_placeholder_word(pw) {
                    continue;
                }
                out.push(Exposed {
                    origin: at(t.line),
                    inner: inner.to_string(),
                    kind: ExposedKind::Token {
                        role: t.role,
                        key: t.key.clone(),
                    },
                    value: Some(t.token.password.clone()),
                });
            }
            if let Some((role, password)) = token_file(inner, &file.data) {
                out.push(Exposed {
                    origin: at(Some(1)),
                    inner: inner.to_string(),
                    kind: ExposedKind::Token {
                        role,
                        key: file_name(inner).to_string(),
                    },
                    value: Some(password),
                });
            }
            let text = String::from_utf8_lossy(&file.data);
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
                    out.push(Exposed {
                        origin: at(Some(n + 1)),
                        inner: inner.to_string(),
                        kind: ExposedKind::PasswordHash,
                        value: Some(Secret::new(v)),
                    });
                }
                if is_private_key_line(l) {
                    out.push(Exposed {
                        origin: at(Some(n + 1)),
                        inner: inner.to_string(),
                        kind: ExposedKind::PrivateKey,
                        value: None,
                    });
                }
            }
        }
    }
    out
}

fn file_name(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

/// A file that holds nothing but a token, as the targets of `token-file:`,
/// `agent-token-file:` and `RKE2_TOKEN_FILE=` do (`/etc/rancher/rke2/join-token`): its name
/// says token, it is not a YAML or JSON document, and its one line is a token whose password
/// is not a placeholder. The whole file is the token field. Its role: agent when the name says
/// so.
fn token_file(inner: &str, data: &[u8]) -> Option<(TokenRole, Secret)> {
    let name = file_name(inner);
    if !name.contains("token") || [".yaml", ".yml", ".json"].iter().any(|e| name.ends_with(e)) {
        return None;
    }
    let text = std::str::from_utf8(data).ok()?;
    let mut lines = text.lines().map(str::trim).filter(|l| !l.is_empty());
    let line = lines.next()?;
    if lines.next().is_some() {
        return None;
    }
    let token = crate::pki::token::parse_token(line).ok()?;
    if is_placeholder_word(token.password.expose()) {
        return None;
    }
    let role = if name.contains("agent") {
        TokenRole::Agent
    } else {
        TokenRole::Server
    };
    Some((role, token.password))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_holding_only_a_token_is_a_token_field() {
        let full = format!("K10{}::server:s3cr3t-pass", "ab".repeat(32));
        let (role, pw) = token_file("s2/configs/etc/rancher/rke2/join-token", full.as_bytes())
            .expect("join-token");
        assert_eq!(role, TokenRole::Server);
        assert_eq!(pw.expose(), "s3cr3t-pass");
        let (role, _) = token_file(
            "s2/configs/etc/rancher/rke2/agent-join-token",
            b"plain-agent-pw\n",
        )
        .expect("agent-join-token");
        assert_eq!(role, TokenRole::Agent);
        // Placeholders, documents, several lines and other names are not token files.
        for (path, data) in [
            ("n/configs/etc/rancher/rke2/join-token", "***\n"),
            ("n/configs/etc/rancher/rke2/join-token", "token\n"),
            ("n/configs/etc/rancher/rke2/token.yaml", "token: abc\n"),
            ("n/configs/etc/rancher/rke2/join-token", "a\nb\n"),
            ("n/configs/etc/rancher/rke2/config.yaml", full.as_str()),
            ("n/configs/etc/rancher/rke2/join-token", ""),
        ] {
            assert!(
                token_file(path, data.as_bytes()).is_none(),
                "{path}: {data:?}"
            );
        }
    }

    #[test]
    fn password_hashes_are_recognised_by_their_crypt_prefix() {
        assert!(is_password_hash("$6$rounds=4096$abcdefgh$0123456789abcdef"));
        assert!(is_password_hash("'$y$j9T$abcdefghijklmnopqrstuv'"));
        assert!(!is_password_hash("$6$short"));
        assert!(!is_password_hash("hunter2-but-long-enough-to-pass"));
    }

    #[test]
    fn placeholder_words_are_not_secrets() {
        for v in [
            "token",
            "TOKEN",
            "<token>",
            "${TOKEN}",
            "'token'",
            "***",
            "",
            "null",
            "<password>",
            "agent_token",
        ] {
            assert!(is_placeholder_word(v), "{v:?}");
        }
        for v in ["tokenized-value-1234", "K10abc::server:pw", "s3cr3t"] {
            assert!(!is_placeholder_word(v), "{v:?}");
        }
    }

    #[test]
    fn registration_tokens_are_recognised_by_their_shape() {
        assert!(has_registration_token_shape(
            "x7kqzr2bn9c6dtvwlm5p8fghj4sxbq2n7wkrc9dz6tlpv5mhgf8jq4"
        ));
        assert!(!has_registration_token_shape("token"));
        assert!(!has_registration_token_shape(&"a".repeat(54)));
        assert!(!has_registration_token_shape(
            "0123456789abcdef0123456789abcdef"
        ));
        assert!(!has_registration_token_shape(
            "K10abcdef0123456789::server:0123456789abcdef0123456789"
        ));
    }
}
