//! RKE2 join tokens: parsing the three forms (`K10<hash>::<user>:<password>`,
//! `K10<hash>::<id>.<secret>` bootstrap tokens, and the short `<password>`), and finding tokens
//! in their sources: token files, `config.yaml` with its drop-ins (RKE2 merge order), unit
//! environment files, the rancherd config and `/oem` cloud-config files (where the token may sit
//! in a `content: |` block holding another YAML document).
//!
//! Passwords are held in [`Secret`]; error messages never quote a value. Masked values (`***`,
//! empty, `null`) are absent, not values: they are reported as [`Masked`] entries.

use serde_json::Value;

use super::PkiError;
use super::secret::{Secret, is_placeholder};
use crate::layout;

const PREFIX: &str = "K10";

/// The form a token was written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TokenForm {
    /// `K10<hash>::<user>:<password>` (hash possibly empty).
    Secure,
    /// `K10<hash>::<id>.<secret>`: a kubeadm-style bootstrap token with the prefix.
    SecureBootstrap,
    /// `<password>` alone.
    Short,
    /// `<id>.<secret>` alone.
    ShortBootstrap,
}

impl TokenForm {
    pub fn as_str(self) -> &'static str {
        match self {
            TokenForm::Secure => "secure",
            TokenForm::SecureBootstrap => "secure-bootstrap",
            TokenForm::Short => "short",
            TokenForm::ShortBootstrap => "bootstrap",
        }
    }
}

/// A parsed token. `Debug` never shows the password.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    pub form: TokenForm,
    /// The pinned CA hash, lowercase hex (`None`: no hash, e.g. short form or `K10::…`).
    pub ca_hash: Option<String>,
    /// `server`, `node`, … (`None` for short and bootstrap forms or an empty user).
    pub user: Option<String>,
    /// The bootstrap token id (public part), for bootstrap forms.
    pub bootstrap_id: Option<String>,
    /// The password (or the bootstrap token secret).
    pub password: Secret,
}

fn is_bootstrap(creds: &str) -> Option<(&str, &str)> {
    let (id, secret) = creds.split_once('.')?;
    let ok = |s: &str, n: usize| {
        s.len() == n
            && s.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
    };
    (ok(id, 6) && ok(secret, 16)).then_some((id, secret))
}

/// Parse a token as k3s' `clientaccess.ParseToken` does (surrounding whitespace trimmed).
///
/// Errors: empty token; a CA hash that is not hex; `invalid token CA hash length` (not 0 or 64
/// hex digits); `invalid token format` (secure form without `user:password` or a bootstrap
/// token).
pub fn parse_token(raw: &str) -> Result<Token, PkiError> {
    let s = raw.trim();
    if s.is_empty() {
        return Err(PkiError::Token("token must not be empty".into()));
    }
    let Some(rest) = s.strip_prefix(PREFIX) else {
        if let Some((id, secret)) = is_bootstrap(s) {
            return Ok(Token {
                form: TokenForm::ShortBootstrap,
                ca_hash: None,
                user: None,
                bootstrap_id: Some(id.to_string()),
                password: Secret::new(secret),
            });
        }
        return Ok(Token {
            form: TokenForm::Short,
            ca_hash: None,
            user: None,
            bootstrap_id: None,
            password: Secret::new(s),
        });
    };
    let (hash, creds) = match rest.split_once("::") {
        Some((h, c)) => (h, c),
        None => ("", rest),
    };
    // k3s checks the length of the hash text first (64 hex digits or none).
    if !hash.is_empty() && hash.len() != 64 {
        return Err(PkiError::Token("invalid token CA hash length".into()));
    }
    if !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(PkiError::Token(
            "invalid token CA hash: not hexadecimal".into(),
        ));
    }
    let ca_hash = (!hash.is_empty()).then(|| hash.to_ascii_lowercase());
    if let Some((id, secret)) = is_bootstrap(creds) {
        return Ok(Token {
            form: TokenForm::SecureBootstrap,
            ca_hash,
            user: None,
            bootstrap_id: Some(id.to_string()),
            password: Secret::new(secret),
        });
    }
    match creds.split_once(':') {
        Some((user, password)) if !password.is_empty() => Ok(Token {
            form: TokenForm::Secure,
            ca_hash,
            user: (!user.is_empty()).then(|| user.to_string()),
            bootstrap_id: None,
            password: Secret::new(password),
        }),
        _ => Err(PkiError::Token("invalid token format".into())),
    }
}

/// Which token a source names (declared with the token places in [`crate::layout`]).
pub use crate::layout::TokenRole;

/// A token found in a source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenFound {
    /// The source path as the caller named it.
    pub source: String,
    /// 1-based line in the source, where known.
    pub line: Option<usize>,
    /// The key it was found under (`token`, `agent-token`, `RKE2_TOKEN`, or `file`).
    pub key: String,
    pub role: TokenRole,
    pub token: Token,
}

/// A `token-file` / `agent-token-file` reference: the token lives in that file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenFileRef {
    pub source: String,
    pub line: Option<usize>,
    pub role: TokenRole,
    pub path: String,
}

/// Where a config or environment names the server a node joins (`server:`, `RKE2_URL=`). The
/// URL is public.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerRef {
    pub source: String,
    pub line: Option<usize>,
    pub key: String,
    pub url: String,
}

/// A value the collector masked (`***`, empty, `null`): absent, but present as a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Masked {
    pub source: String,
    pub line: Option<usize>,
    pub key: String,
}

/// A value that is there but is not a valid token (the message never quotes it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenProblem {
    pub source: String,
    pub line: Option<usize>,
    pub key: String,
    pub message: String,
}

/// Everything one or more sources say about tokens.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TokenScan {
    pub found: Vec<TokenFound>,
    pub file_refs: Vec<TokenFileRef>,
    pub masked: Vec<Masked>,
    pub problems: Vec<TokenProblem>,
    /// `RKE2_URL=` / `K3S_URL=` of an environment file: the server the node joins.
    pub servers: Vec<ServerRef>,
}

impl TokenScan {
    fn add_value(
        &mut self,
        source: &str,
        line: Option<usize>,
        key: &str,
        role: TokenRole,
        v: &str,
    ) {
        if is_placeholder(v) {
            self.masked.push(Masked {
                source: source.into(),
                line,
                key: key.into(),
            });
            return;
        }
        match parse_token(v) {
            Ok(token) => self.found.push(TokenFound {
                source: source.into(),
                line,
                key: key.into(),
                role,
                token,
            }),
            Err(e) => self.problems.push(TokenProblem {
                source: source.into(),
                line,
                key: key.into(),
                message: e.to_string(),
            }),
        }
    }

    fn extend(&mut self, other: TokenScan) {
        self.found.extend(other.found);
        self.file_refs.extend(other.file_refs);
        self.masked.extend(other.masked);
        self.problems.extend(other.problems);
        self.servers.extend(other.servers);
    }
}

/// A plain token file (`server/token`, `server/agent-token`, a `token-file` target).
pub fn scan_token_file(source: &str, data: &[u8], role: TokenRole) -> TokenScan {
    let mut scan = TokenScan::default();
    let text = String::from_utf8_lossy(data);
    let line = text
        .lines()
        .position(|l| !l.trim().is_empty())
        .map(|i| i + 1);
    scan.add_value(source, line, "file", role, text.trim());
    scan
}

/// A unit environment file or systemd unit: `RKE2_TOKEN=…`, `RKE2_AGENT_TOKEN=…` (also with
/// `export `, quotes, or `Environment="…"`), and the `K3S_` equivalents; `*_TOKEN_FILE` are
/// file references.
pub fn scan_env_file(source: &str, data: &[u8]) -> TokenScan {
    let mut scan = TokenScan::default();
    let text = String::from_utf8_lossy(data);
    for (i, line) in text.lines().enumerate() {
        let mut l = line.trim();
        if l.starts_with('#') {
            continue;
        }
        if let Some(rest) = l.strip_prefix("Environment=") {
            l = unquote(rest);
        }
        if let Some(rest) = l.strip_prefix("export ") {
            l = rest.trim_start();
        }
        let Some((key, value)) = l.split_once('=') else {
            continue;
        };
        let key = key.trim();
        let value = unquote(value.trim());
        if layout::ENV_SERVER_VARS.contains(&key) {
            if !is_placeholder(value) {
                scan.servers.push(ServerRef {
                    source: source.into(),
                    line: Some(i + 1),
                    key: key.into(),
                    url: value.into(),
                });
            }
            continue;
        }
        let Some(role) = layout::ENV_TOKEN_VARS
            .iter()
            .find(|(k, _, _)| *k == key)
            .map(|(_, role, file)| (*role, *file))
        else {
            continue;
        };
        if role.1 {
            if !is_placeholder(value) {
                scan.file_refs.push(TokenFileRef {
                    source: source.into(),
                    line: Some(i + 1),
                    role: role.0,
                    path: value.to_string(),
                });
            }
        } else {
            scan.add_value(source, Some(i + 1), key, role.0, value);
        }
    }
    scan
}

fn unquote(v: &str) -> &str {
    let v = v.trim();
    for q in ['"', '\''] {
        if let Some(inner) = v.strip_prefix(q).and_then(|r| r.strip_suffix(q)) {
            return inner;
        }
    }
    v
}

/// The effective token settings of an RKE2 config after merging, plus every occurrence.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConfigTokens {
    /// Every occurrence in every file, in merge order.
    pub scan: TokenScan,
    /// The value that wins for `token` (later files override earlier ones).
    pub token: Option<TokenFound>,
    pub agent_token: Option<TokenFound>,
    pub token_file: Option<TokenFileRef>,
    pub agent_token_file: Option<TokenFileRef>,
    /// The `server:` that wins: the server the node joins (`None`: it names none, as the first
    /// server of a cluster does).
    pub server: Option<ServerRef>,
    /// Files that did not parse as YAML (path, 1-based line if known). The message is not kept:
    /// parser messages may quote the source.
    pub unparsed: Vec<(String, Option<usize>)>,
}

/// Merge `config.yaml` and its `config.yaml.d/*.yaml` drop-ins as RKE2 does
/// ([`crate::parse::rke2config::merge_order`]: `config` first, then the drop-ins in lexical order
/// of their file names); for scalars a later file overrides.
pub fn scan_rke2_config(config: Option<(&str, &[u8])>, dropins: &[(&str, &[u8])]) -> ConfigTokens {
    let mut out = ConfigTokens::default();
    for (path, data) in crate::parse::rke2config::merge_order(config, dropins) {
        let text = String::from_utf8_lossy(data);
        let value: Value = match serde_saphyr::from_str(&text) {
            Ok(v) => v,
            Err(e) => {
                out.unparsed
                    .push((path.to_string(), e.location().map(|l| l.line() as usize)));
                continue;
            }
        };
        let Value::Object(map) = value else { continue };
        let mut scan = TokenScan::default();
        for (key, role) in layout::CONFIG_TOKEN_KEYS {
            if let Some(v) = map.get(key) {
                let line = find_line(&text, key, scalar(v).as_deref());
                let before = scan.found.len();
                match scalar(v) {
                    Some(s) => scan.add_value(path, line, key, role, &s),
                    None => scan.add_value(path, line, key, role, ""),
                }
                if scan.found.len() > before {
                    let f = scan.found[before].clone();
                    match role {
                        TokenRole::Server => out.token = Some(f),
                        TokenRole::Agent => out.agent_token = Some(f),
                    }
                }
            }
        }
        for (key, role) in layout::CONFIG_TOKEN_FILE_KEYS {
            if let Some(p) = map.get(key).and_then(scalar).filter(|p| !is_placeholder(p)) {
                let r = TokenFileRef {
                    source: path.to_string(),
                    line: find_line(&text, key, Some(&p)),
                    role,
                    path: p,
                };
                scan.file_refs.push(r.clone());
                match role {
                    TokenRole::Server => out.token_file = Some(r),
                    TokenRole::Agent => out.agent_token_file = Some(r),
                }
            }
        }
        if let Some(v) = map.get(layout::CONFIG_SERVER_KEY) {
            let url = scalar(v).filter(|u| !is_placeholder(u));
            out.server = url.map(|url| ServerRef {
                source: path.to_string(),
                line: find_line(&text, layout::CONFIG_SERVER_KEY, Some(&url)),
                key: layout::CONFIG_SERVER_KEY.to_string(),
                url,
            });
        }
        out.scan.extend(scan);
    }
    out
}

/// The rancherd config (`/etc/rancher/rancherd/config.yaml`): a top-level `token:`.
pub fn scan_rancherd_config(source: &str, data: &[u8]) -> TokenScan {
    scan_yaml_tree(source, data)
}

/// An `/oem` cloud-config (`90_custom.yaml`, `harvester.config`, …) or any YAML: every
/// `token` / `agent-token` key at any depth, and, inside multi-line string values (the
/// `content: |` of a `files` entry), the same search over the embedded YAML text (or, when it
/// does not parse, over its `token:` lines). Line numbers refer to the outer file.
pub fn scan_yaml_tree(source: &str, data: &[u8]) -> TokenScan {
    let text = String::from_utf8_lossy(data);
    let mut scan = TokenScan::default();
    scan_text(source, &text, &text, 0, &mut scan);
    scan
}

const MAX_NESTING: usize = 4;

fn scan_text(source: &str, outer: &str, text: &str, depth: usize, scan: &mut TokenScan) {
    match serde_saphyr::from_str::<Value>(text) {
        Ok(v @ (Value::Object(_) | Value::Array(_))) => walk(source, outer, &v, depth, scan),
        _ => scan_lines(source, outer, text, scan),
    }
}

fn walk(source: &str, outer: &str, v: &Value, depth: usize, scan: &mut TokenScan) {
    match v {
        Value::Object(map) => {
            for (k, val) in map {
                let role = layout::YAML_TOKEN_KEYS
                    .iter()
                    .find(|(key, _)| key == k)
                    .map(|(_, role)| *role);
                if let Some(role) = role
                    && let Some(s) = scalar_or_null(val)
                {
                    let line = find_line(outer, k, Some(&s));
                    scan.add_value(source, line, k, role, &s);
                    continue;
                }
                if let Some((_, role)) = layout::CONFIG_TOKEN_FILE_KEYS
                    .iter()
                    .find(|(key, _)| key == k)
                    && let Some(p) = scalar(val).filter(|p| !is_placeholder(p))
                {
                    scan.file_refs.push(TokenFileRef {
                        source: source.into(),
                        line: find_line(outer, k, Some(&p)),
                        role: *role,
                        path: p,
                    });
                    continue;
                }
                walk(source, outer, val, depth, scan);
            }
        }
        Value::Array(items) => {
            for item in items {
                walk(source, outer, item, depth, scan);
            }
        }
        Value::String(s)
            if s.contains('\n')
                && s.to_ascii_lowercase().contains("token")
                && depth < MAX_NESTING =>
        {
            scan_text(source, outer, s, depth + 1, scan);
        }
        _ => {}
    }
}

/// Fallback for text that is not YAML: `token:` / `agent-token:` lines and env assignments.
fn scan_lines(source: &str, outer: &str, text: &str, scan: &mut TokenScan) {
    for line in text.lines() {
        let l = line.trim().trim_start_matches("- ");
        for (key, role) in layout::CONFIG_TOKEN_KEYS {
            if let Some(rest) = l
                .strip_prefix(key)
                .and_then(|r| r.trim_start().strip_prefix(':'))
            {
                let value = unquote(rest.trim());
                let at = find_line(outer, key, Some(value));
                scan.add_value(source, at, key, role, value);
            }
        }
    }
    let mut env = scan_env_file(source, text.as_bytes());
    let relocate = |key: &str| {
        outer
            .lines()
            .position(|l| l.contains(&format!("{key}=")))
            .map(|i| i + 1)
    };
    for f in &mut env.found {
        f.line = relocate(&f.key);
    }
    for m in &mut env.masked {
        m.line = relocate(&m.key);
    }
    for p in &mut env.problems {
        p.line = relocate(&p.key);
    }
    for s in &mut env.servers {
        s.line = relocate(&s.key);
    }
    for r in &mut env.file_refs {
        r.line = None;
    }
    scan.extend(env);
}

fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn scalar_or_null(v: &Value) -> Option<String> {
    match v {
        Value::Null => Some(String::new()),
        other => scalar(other),
    }
}

/// The 1-based line of `text` holding `key:` with `value` (quotes ignored); the first `key:`
/// line when the value is not found on one line.
fn find_line(text: &str, key: &str, value: Option<&str>) -> Option<usize> {
    let mut first = None;
    for (i, line) in text.lines().enumerate() {
        let l = line.trim().trim_start_matches("- ").trim_start();
        let Some(rest) = l.strip_prefix(key) else {
            continue;
        };
        let Some(rest) = rest.trim_start().strip_prefix(':') else {
            continue;
        };
        first.get_or_insert(i + 1);
        if let Some(v) = value
            && unquote(rest.trim()) == v
        {
            return Some(i + 1);
        }
    }
    first
}
