//! The secrets of one file and what replaces them: the transform `redact` applies to every entry
//! it copies and `collect` to every file it writes. Pure functions over bytes.
//!
//! - A `.key` file holding a private key becomes `<name>.pub-fingerprint`: one line per key in
//!   file order, the SHA-256 of its SubjectPublicKeyInfo ([`crate::pki::parse_pub_fingerprints`]
//!   reads it back, so the model pairs it with its certificate as it paired the key).
//! - A PEM private key inside another file (a kubeconfig's `client-key-data`, the `tls.key` of
//!   `dynamic-cert.json` or a Secret, a block in a log or a cloud-config, base64-wrapped or with
//!   `\n` escapes) becomes the `PUBLIC KEY` block of its public half, in the same wrapping, so
//!   key/certificate pairing still reads the same. Certificates are never touched.
//! - Token values (`token:`, `agent-token:`, `RKE2_TOKEN=`, `--token`, token files; found by the
//!   line rules below and by [`crate::pki::token`]'s scanners): `K10<hash>::<user>:<password>`
//!   keeps its CA hash and user, the password becomes its keyed fingerprint
//!   ([`FingerprintKey::fingerprint_bytes`], `hm:` + 16 hex digits); other forms become the
//!   fingerprint whole.
//! - Passwords and password hashes (`password:`, `passwd:`, `secret:` values in YAML, JSON and
//!   environment files, `/etc/shadow`'s hash field, the first field of `server/cred/passwd`),
//!   whole-file secrets (`server/cred/ipsec.psk`, `etc/rancher/node/password`) and the `data`
//!   values of Kubernetes `Secret` objects (a value holding only certificates is kept): their
//!   keyed fingerprint.
//! - Secrets known from the whole input ([`Scrubber::new`]'s `known`: what the model found as
//!   tokens and exposed secrets, registration tokens) are replaced wherever they appear when they
//!   are long enough to be told from ordinary words ([`MIN_ANYWHERE`] characters).
//!
//! A fingerprint is keyed: equal secrets stay equal within one run (and across runs with the
//! same `--fingerprint-key`), and a dictionary cannot reverse it without the key. The analyzer
//! reads a fingerprint as a token password or a placeholder ([`is_keyed_fingerprint`]), never
//! as a leaked secret.

use std::collections::BTreeSet;

use base64::Engine;

use crate::layout;
use crate::model::exposed::{is_placeholder_word, is_private_key_line};
use crate::pki::secret::{FingerprintKey, Secret, is_keyed_fingerprint};
use crate::pki::{self, token};

/// Known secrets this long or longer are replaced wherever they appear in any entry.
pub const MIN_ANYWHERE: usize = 12;

/// Keys whose value is a secret (compared lowercased, `_` read as `-`).
const SECRET_KEYS: [&str; 9] = [
    "token",
    "agent-token",
    "password",
    "passwd",
    "secret",
    "client-secret",
    "bearer-token",
    "rke2-token",
    "k3s-token",
];

/// Why a file's content was replaced, as `snapshot.yaml`'s `replaced` says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Reason {
    /// A private key (replaced by its public half or its fingerprint).
    PrivateKey,
    /// A token password, a password, a password hash or another secret value.
    Secret,
}

impl Reason {
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::PrivateKey => "private-key",
            Reason::Secret => "secret",
        }
    }
}

/// The scrubbed content of one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scrubbed {
    pub data: Vec<u8>,
    /// The file's new name, when it changed (`server-ca.key` → `server-ca.key.pub-fingerprint`).
    pub rename: Option<String>,
    /// What was replaced (empty: the content is unchanged).
    pub reasons: BTreeSet<Reason>,
}

/// The replacement rules, with the key of the fingerprints and the secrets known beforehand.
pub struct Scrubber {
    key: FingerprintKey,
    /// Known secrets of at least [`MIN_ANYWHERE`] characters, longest first.
    known: Vec<Secret>,
    /// Leave private keys as they are (`collect --include-private-keys`).
    keep_keys: bool,
}

impl Scrubber {
    /// A scrubber keyed with `key`; `known` are secrets found elsewhere in the input.
    pub fn new(key: FingerprintKey, known: impl IntoIterator<Item = Secret>) -> Self {
        let mut known: Vec<Secret> = known
            .into_iter()
            .filter(|s| s.expose().len() >= MIN_ANYWHERE && !is_keyed_fingerprint(s.expose()))
            .collect();
        known.sort_by(|a, b| {
            b.expose()
                .len()
                .cmp(&a.expose().len())
                .then_with(|| a.expose().cmp(b.expose()))
        });
        known.dedup();
        Scrubber {
            key,
            known,
            keep_keys: false,
        }
    }

    /// This scrubber leaving private keys as they are when `keep`.
    pub fn keep_private_keys(mut self, keep: bool) -> Self {
        self.keep_keys = keep;
        self
    }

    /// The stand-in of a secret value: its keyed fingerprint.
    pub fn stand_in(&self, value: &str) -> String {
        self.key.fingerprint_bytes(value.as_bytes())
    }

    /// Scrub one file. `path` is its logical or host path (the name and the host part decide
    /// the file-specific rules).
    pub fn scrub(&self, path: &str, data: &[u8]) -> Scrubbed {
        let host = layout::host_part(path);
        let name = layout::file_name(host);
        let mut reasons = BTreeSet::new();
        if name.ends_with(".key")
            && !self.keep_keys
            && let Some(lines) = key_fingerprints(data)
        {
            reasons.insert(Reason::PrivateKey);
            return Scrubbed {
                data: lines.into_bytes(),
                rename: Some(format!("{name}{}", layout::FINGERPRINT_SUFFIX)),
                reasons,
            };
        }
        let Ok(text) = std::str::from_utf8(data) else {
            // Binary: only secrets known by value, byte for byte.
            let out = self.replace_known_bytes(data, &mut reasons);
            return Scrubbed {
                data: out,
                rename: None,
                reasons,
            };
        };
        let out = self.scrub_text(host, name, text, &mut reasons);
        Scrubbed {
            data: out.into_bytes(),
            rename: None,
            reasons,
        }
    }

    /// A chunk of a large text file (a log past the in-memory limit), cut at a line end: private
    /// key blocks, keyed values on its lines and known secrets. Returns the scrubbed chunk.
    pub fn scrub_chunk(&self, chunk: &[u8], reasons: &mut BTreeSet<Reason>) -> Vec<u8> {
        match std::str::from_utf8(chunk) {
            Ok(text) => {
                let t = self.replace_keys(text, reasons);
                let t = self.replace_keyed_lines(&t, reasons);
                self.replace_known(&t, reasons).into_bytes()
            }
            Err(_) => self.replace_known_bytes(chunk, reasons),
        }
    }

    fn scrub_text(
        &self,
        host: &str,
        name: &str,
        text: &str,
        reasons: &mut BTreeSet<Reason>,
    ) -> String {
        // Files that are a secret whole.
        if host.ends_with("server/cred/ipsec.psk") || host.ends_with(layout::NODE_PASSWORD) {
            let v = text.trim();
            if !v.is_empty() && !is_placeholder_word(v) && !is_keyed_fingerprint(v) {
                reasons.insert(Reason::Secret);
                return format!("{}\n", self.stand_in(v));
            }
            return text.to_string();
        }
        let mut t = self.replace_keys(text, reasons);
        t = self.replace_secret_data(&t, reasons);
        if name == "shadow" {
            t = self.replace_shadow(&t, reasons);
        } else if host.ends_with("server/cred/passwd") {
            t = self.replace_csv_first(&t, reasons);
        } else if is_token_file(host) {
            t = self.replace_token_file(&t, reasons);
        } else {
            t = self.replace_keyed_lines(&t, reasons);
            t = self.replace_found_tokens(host, &t, reasons);
        }
        self.replace_known(&t, reasons)
    }

    /// Private keys (PEM, and PEM in base64) replaced by their public halves, unless kept.
    fn replace_keys(&self, text: &str, reasons: &mut BTreeSet<Reason>) -> String {
        if self.keep_keys {
            return text.to_string();
        }
        let t = replace_pem_keys(text, reasons);
        self.replace_b64_keys(&t, reasons)
    }

    /// Known secrets wherever they appear.
    fn replace_known(&self, text: &str, reasons: &mut BTreeSet<Reason>) -> String {
        let mut t = text.to_string();
        for s in &self.known {
            if t.contains(s.expose()) {
                t = t.replace(s.expose(), &self.stand_in(s.expose()));
                reasons.insert(Reason::Secret);
            }
        }
        t
    }

    fn replace_known_bytes(&self, data: &[u8], reasons: &mut BTreeSet<Reason>) -> Vec<u8> {
        let mut out = data.to_vec();
        for s in &self.known {
            let needle = s.expose().as_bytes();
            if memchr::memmem::find(&out, needle).is_none() {
                continue;
            }
            reasons.insert(Reason::Secret);
            let stand_in = self.stand_in(s.expose());
            let mut next = Vec::with_capacity(out.len());
            let mut at = 0;
            for i in memchr::memmem::find_iter(&out, needle) {
                if i < at {
                    continue;
                }
                next.extend_from_slice(&out[at..i]);
                next.extend_from_slice(stand_in.as_bytes());
                at = i + needle.len();
            }
            next.extend_from_slice(&out[at..]);
            out = next;
        }
        out
    }

    /// The stand-in of a token value: a `K10` token keeps its CA hash and user.
    fn token_stand_in(&self, value: &str) -> String {
        if let Ok(tok) = token::parse_token(value)
            && value.trim_start().starts_with("K10")
            && let Some(i) = value.rfind(tok.password.expose())
        {
            return format!("{}{}", &value[..i], self.stand_in(tok.password.expose()));
        }
        self.stand_in(value)
    }

    /// The stand-in of a value under `key`, or `None` when it holds no secret.
    fn value_stand_in(&self, key: &str, value: &str) -> Option<String> {
        let v = value.trim();
        if v.is_empty() || is_placeholder_word(v) || is_keyed_fingerprint(v) || v.contains("hm:") {
            return None;
        }
        let bare = v.trim_matches(['"', '\'']);
        if matches!(v, "|" | ">" | "|-" | ">-" | "{}" | "[]") || matches!(bare, "true" | "false") {
            return None;
        }
        Some(if key.contains("token") {
            self.token_stand_in(v)
        } else {
            self.stand_in(v)
        })
    }

    /// `key: value` (YAML), `"key": "value"` (JSON), `KEY=value` (environment) and
    /// `--key value` / `--key=value` (command lines) whose key names a secret.
    fn replace_keyed_lines(&self, text: &str, reasons: &mut BTreeSet<Reason>) -> String {
        let mut out = String::with_capacity(text.len());
        for line in text.split_inclusive('\n') {
            let (body, eol) = split_eol(line);
            let mut l = body.to_string();
            for (start, end, key) in keyed_values(body).into_iter().rev() {
                if let Some(rep) = self.value_stand_in(&key, &body[start..end]) {
                    l.replace_range(start..end, &rep);
                    reasons.insert(Reason::Secret);
                }
            }
            out.push_str(&l);
            out.push_str(eol);
        }
        out
    }

    /// Token values [`crate::pki::token`]'s scanners find (flow-style YAML, values over several
    /// lines) that the line rules did not already replace.
    fn replace_found_tokens(
        &self,
        host: &str,
        text: &str,
        reasons: &mut BTreeSet<Reason>,
    ) -> String {
        if !text.to_ascii_lowercase().contains("token") {
            return text.to_string();
        }
        let scan = if layout::is_unit_env_file(host) {
            token::scan_env_file(host, text.as_bytes())
        } else {
            token::scan_yaml_tree(host, text.as_bytes())
        };
        let mut t = text.to_string();
        for f in scan.found {
            let pw = f.token.password.expose();
            if pw.len() < 6 || is_placeholder_word(pw) || is_keyed_fingerprint(pw) {
                continue;
            }
            if t.contains(pw) {
                t = t.replace(pw, &self.stand_in(pw));
                reasons.insert(Reason::Secret);
            }
        }
        t
    }

    /// A token file (`server/token`, `agent-token`, a `token-file` target): every non-empty line.
    fn replace_token_file(&self, text: &str, reasons: &mut BTreeSet<Reason>) -> String {
        let mut out = String::with_capacity(text.len());
        for line in text.split_inclusive('\n') {
            let (body, eol) = split_eol(line);
            match self.value_stand_in("token", body) {
                Some(rep) => {
                    let lead = &body[..body.len() - body.trim_start().len()];
                    out.push_str(lead);
                    out.push_str(&rep);
                    reasons.insert(Reason::Secret);
                }
                None => out.push_str(body),
            }
            out.push_str(eol);
        }
        out
    }

    /// `/etc/shadow`: the hash field (the second) of every account that has one.
    fn replace_shadow(&self, text: &str, reasons: &mut BTreeSet<Reason>) -> String {
        let mut out = String::with_capacity(text.len());
        for line in text.split_inclusive('\n') {
            let (body, eol) = split_eol(line);
            let mut fields: Vec<String> = body.split(':').map(str::to_string).collect();
            if let Some(h) = fields.get_mut(1)
                && h.contains('$')
            {
                // No `:` in the stand-in: the file stays a shadow file; `!` keeps it locked.
                *h = format!("!{}", self.stand_in(h).replace(':', "-"));
                reasons.insert(Reason::Secret);
            }
            out.push_str(&fields.join(":"));
            out.push_str(eol);
        }
        out
    }

    /// `server/cred/passwd`: `password,user,uid,groups` lines.
    fn replace_csv_first(&self, text: &str, reasons: &mut BTreeSet<Reason>) -> String {
        let mut out = String::with_capacity(text.len());
        for line in text.split_inclusive('\n') {
            let (body, eol) = split_eol(line);
            match body.split_once(',') {
                Some((pw, rest)) if self.value_stand_in("password", pw).is_some() => {
                    out.push_str(&self.stand_in(pw.trim()));
                    out.push(',');
                    out.push_str(rest);
                    reasons.insert(Reason::Secret);
                }
                _ => out.push_str(body),
            }
            out.push_str(eol);
        }
        out
    }

    /// Base64 runs that decode to PEM holding a private key (`client-key-data`, `tls.key`):
    /// re-encoded with the key replaced by its public half.
    fn replace_b64_keys(&self, text: &str, reasons: &mut BTreeSet<Reason>) -> String {
        const B64_BEGIN: &str = "LS0tLS1CRUdJTi";
        if !text.contains(B64_BEGIN) {
            return text.to_string();
        }
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        while let Some(i) = rest.find(B64_BEGIN) {
            out.push_str(&rest[..i]);
            let run = &rest[i..];
            let len = run
                .bytes()
                .take_while(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'='))
                .count();
            let (b64, after) = run.split_at(len);
            let replaced = base64::engine::general_purpose::STANDARD
                .decode(b64)
                .ok()
                .and_then(|d| String::from_utf8(d).ok())
                .filter(|d| d.contains("PRIVATE KEY-----"))
                .map(|d| replace_pem_keys(&d, reasons))
                .map(|d| base64::engine::general_purpose::STANDARD.encode(d));
            out.push_str(replaced.as_deref().unwrap_or(b64));
            rest = after;
        }
        out.push_str(rest);
        out
    }

    /// The `data:` / `stringData:` values of `kind: Secret` objects in a YAML dump (one object
    /// or a list's items), each replaced by its fingerprint unless it holds only certificates.
    fn replace_secret_data(&self, text: &str, reasons: &mut BTreeSet<Reason>) -> String {
        if !text.contains("kind: Secret") {
            return text.to_string();
        }
        let lines: Vec<&str> = text.split_inclusive('\n').collect();
        let mut replace: Vec<Option<String>> = vec![None; lines.len()];
        let mut drop = vec![false; lines.len()];
        for (k, line) in lines.iter().enumerate() {
            let (body, _) = split_eol(line);
            let Some(indent) = item_key_indent(body, "kind: Secret") else {
                continue;
            };
            let (start, end) = item_span(&lines, k, indent);
            for j in start..end {
                let (b, _) = split_eol(lines[j]);
                let is_data = item_key_indent(b, "data:") == Some(indent)
                    || item_key_indent(b, "stringData:") == Some(indent);
                if !is_data {
                    continue;
                }
                let mut c = j + 1;
                while c < end {
                    let (cb, _) = split_eol(lines[c]);
                    let ci = indent_of(cb);
                    if !cb.trim().is_empty() && ci <= indent {
                        break;
                    }
                    if let Some((key, value)) = cb.trim().split_once(':') {
                        let value = value.trim();
                        let decoded = base64::engine::general_purpose::STANDARD
                            .decode(value.trim_matches(['"', '\'']))
                            .unwrap_or_default();
                        let no_key = !String::from_utf8_lossy(&decoded).contains("PRIVATE KEY");
                        let certs_only = no_key
                            && (pki::pem::looks_like_pem(&decoded) || key.trim().ends_with(".crt"));
                        if !certs_only && !value.is_empty() && !is_keyed_fingerprint(value) {
                            let lead = &cb[..ci];
                            replace[c] =
                                Some(format!("{lead}{}: {}", key.trim(), self.stand_in(value)));
                            reasons.insert(Reason::Secret);
                            // A block scalar's lines go with it.
                            if matches!(value, "|" | ">" | "|-" | ">-") {
                                let mut d = c + 1;
                                while d < end && indent_of(split_eol(lines[d]).0) > ci {
                                    drop[d] = true;
                                    d += 1;
                                }
                            }
                        }
                    }
                    c += 1;
                }
            }
        }
        let mut out = String::with_capacity(text.len());
        for (i, line) in lines.iter().enumerate() {
            if drop[i] {
                continue;
            }
            match &replace[i] {
                Some(r) => {
                    out.push_str(r);
                    out.push_str(split_eol(line).1);
                }
                None => out.push_str(line),
            }
        }
        out
    }
}

/// The `.pub-fingerprint` text of a key file holding at least one private key: one line per key
/// in file order (SHA-256 of its SubjectPublicKeyInfo; a comment for a key whose public half
/// could not be derived). `None` for a file with no private key (or not a key file).
pub fn key_fingerprints(data: &[u8]) -> Option<String> {
    let keys = pki::parse_keys(data).ok()?;
    if !keys.iter().any(|k| k.private) {
        return None;
    }
    let mut out = String::new();
    for k in &keys {
        match &k.spki_sha256 {
            Some(fp) => out.push_str(&format!("{fp}\n")),
            None => out.push_str(&format!(
                "# key #{}: {} not derived, left out\n",
                k.index, k.label
            )),
        }
    }
    Some(out)
}

/// Every PEM private key block of `text` replaced by the `PUBLIC KEY` block of its public half,
/// in the block's own layout (lines with their indentation, or `\n` escapes inside a string).
pub fn replace_pem_keys(text: &str, reasons: &mut BTreeSet<Reason>) -> String {
    if !text.contains("PRIVATE KEY-----") {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(b) = find_private_begin(rest) {
        let (label, after_begin) = b;
        let end_marker = format!("-----END {label}-----");
        let begin_at = rest.len() - after_begin.len() - format!("-----BEGIN {label}-----").len();
        let Some(e) = after_begin.find(&end_marker) else {
            // No end: everything after the marker goes.
            out.push_str(&rest[..begin_at]);
            out.push_str(REMOVED);
            reasons.insert(Reason::PrivateKey);
            return out;
        };
        let block_end = rest.len() - after_begin.len() + e + end_marker.len();
        let block = &rest[begin_at..block_end];
        out.push_str(&rest[..begin_at]);
        out.push_str(&public_block(block).unwrap_or_else(|| REMOVED.to_string()));
        reasons.insert(Reason::PrivateKey);
        rest = &rest[block_end..];
    }
    out.push_str(rest);
    out
}

/// What stands where a private key whose public half cannot be derived was.
const REMOVED: &str = "[private key removed by harrow redact]";

/// The next `-----BEGIN <label>-----` whose label is a private key's: the label and the text
/// after the marker.
fn find_private_begin(text: &str) -> Option<(&str, &str)> {
    let mut from = 0;
    while let Some(i) = text[from..].find("-----BEGIN ") {
        let at = from + i;
        let tail = &text[at + "-----BEGIN ".len()..];
        if let Some(j) = tail.find("-----") {
            let label = &tail[..j];
            if is_private_key_line(&format!("-----BEGIN {label}-----")) && !label.contains('\n') {
                return Some((label, &tail[j + 5..]));
            }
        }
        from = at + 1;
    }
    None
}

/// The `PUBLIC KEY` block of a private key block, laid out as `block` is.
fn public_block(block: &str) -> Option<String> {
    let escaped = block.contains("\\n") && !block.contains('\n');
    let clean: String = if escaped {
        block.replace("\\n", "\n")
    } else {
        block.lines().map(|l| format!("{}\n", l.trim())).collect()
    };
    let keys = pki::parse_keys(clean.as_bytes()).ok()?;
    let der = keys.first()?.spki_der.clone()?;
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut lines = vec!["-----BEGIN PUBLIC KEY-----".to_string()];
    lines.extend(
        b64.as_bytes()
            .chunks(64)
            .map(|c| String::from_utf8_lossy(c).into_owned()),
    );
    lines.push("-----END PUBLIC KEY-----".to_string());
    if escaped {
        return Some(lines.join("\\n"));
    }
    // Continuation lines keep the indentation of the block's second line.
    let indent = block
        .lines()
        .nth(1)
        .map(|l| &l[..l.len() - l.trim_start().len()])
        .unwrap_or("");
    let mut s = String::new();
    for (i, l) in lines.iter().enumerate() {
        if i > 0 {
            s.push('\n');
            s.push_str(indent);
        }
        s.push_str(l);
    }
    Some(s)
}

/// True for a file that holds a token and nothing else.
fn is_token_file(host: &str) -> bool {
    layout::TOKEN_FILES.iter().any(|(p, _)| host.ends_with(p))
        || host.ends_with(layout::NODE_TOKEN)
        || (layout::file_name(host).contains("token")
            && !layout::file_name(host).contains('.')
            && !host.contains("containerd"))
}

/// A line without its line end, and the line end.
fn split_eol(line: &str) -> (&str, &str) {
    let body = line.trim_end_matches(['\n', '\r']);
    (body, &line[body.len()..])
}

fn indent_of(line: &str) -> usize {
    line.len() - line.trim_start_matches(' ').len()
}

/// The column of `key` on a line `<spaces>[- ]key`, when the line is exactly that.
fn item_key_indent(line: &str, key: &str) -> Option<usize> {
    let t = line.trim_end();
    let lead = indent_of(t);
    let rest = &t[lead..];
    if rest == key {
        return Some(lead);
    }
    rest.strip_prefix("- ")
        .filter(|r| *r == key)
        .map(|_| lead + 2)
}

/// The lines of the mapping (list item or document) holding line `k` at `indent`.
fn item_span(lines: &[&str], k: usize, indent: usize) -> (usize, usize) {
    let item_start = |l: &str| {
        let b = split_eol(l).0;
        let i = indent_of(b);
        (i + 2 == indent && b[i..].starts_with("- ")) || b.trim() == "---"
    };
    let outside = |l: &str| {
        let b = split_eol(l).0;
        !b.trim().is_empty() && indent_of(b) < indent && !b.trim_start().starts_with('#')
    };
    let mut start = k;
    while start > 0 {
        if item_start(lines[start]) {
            break;
        }
        if outside(lines[start - 1]) && !item_start(lines[start - 1]) {
            break;
        }
        start -= 1;
    }
    let mut end = k + 1;
    while end < lines.len() && !item_start(lines[end]) && !outside(lines[end]) {
        end += 1;
    }
    (start, end)
}

/// Whether a key names a secret.
fn is_secret_key(key: &str) -> bool {
    let k = key
        .trim()
        .trim_matches(['"', '\''])
        .to_ascii_lowercase()
        .replace('_', "-");
    let k = k.trim_start_matches("--");
    if k.ends_with("-file") || k.ends_with("-path") || k.ends_with("-ref") {
        return false;
    }
    SECRET_KEYS.contains(&k)
        || k.ends_with("-password")
        || k.ends_with("-token") && !k.contains("auth-token-webhook")
        || k.ends_with("password")
}

/// The byte ranges (start, end, lowercased key) of secret values on one line, in order.
fn keyed_values(line: &str) -> Vec<(usize, usize, String)> {
    let mut out = Vec::new();
    let lead = indent_of(line);
    let t = &line[lead..];
    let t_at = lead + if t.starts_with("- ") { 2 } else { 0 };
    let t = &line[t_at..];
    // YAML `key: value` (value on the line, not a block or flow collection).
    if let Some((k, v)) = t.split_once(':')
        && !k.is_empty()
        && k.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        && is_secret_key(k)
        && (v.is_empty() || v.starts_with(' '))
    {
        let vs = t_at + k.len() + 1;
        let raw = &line[vs..];
        let value = raw.trim();
        if !value.is_empty() && !value.starts_with('#') {
            let off = vs + (raw.len() - raw.trim_start().len());
            let (s, e) = unquoted(line, off, off + value.len());
            out.push((s, e, k.to_ascii_lowercase()));
            return out;
        }
    }
    // Environment `KEY=value`, `export KEY=value`, `Environment="KEY=value"`.
    let env = t
        .strip_prefix("export ")
        .or_else(|| t.strip_prefix("Environment=\""))
        .unwrap_or(t);
    let env_at = line.len() - env.len();
    if let Some((k, v)) = env.split_once('=')
        && !k.is_empty()
        && k.bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
        && is_secret_key(k.rsplit('_').next().unwrap_or(k))
        && !k.ends_with("_FILE")
    {
        let vs = env_at + k.len() + 1;
        let value = v.trim_end_matches('"').trim();
        if !value.is_empty() {
            let (s, e) = unquoted(line, vs, vs + value.len());
            out.push((s, e, "token".into()));
        }
    }
    // JSON `"key": "value"` and command-line `--key value` / `--key=value`, anywhere.
    let bytes = line.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'"'
            && let Some(kend) = line[i + 1..].find('"').map(|j| i + 1 + j)
        {
            let key = &line[i + 1..kend];
            let after = &line[kend + 1..];
            let colon = after.trim_start();
            if is_secret_key(key)
                && let Some(v) = colon.strip_prefix(':')
            {
                let v2 = v.trim_start();
                if let Some(body) = v2.strip_prefix('"') {
                    let vs = line.len() - body.len();
                    let ve = body
                        .char_indices()
                        .find(|&(j, c)| c == '"' && !body[..j].ends_with('\\'))
                        .map(|(j, _)| vs + j);
                    if let Some(ve) = ve {
                        out.push((vs, ve, key.to_ascii_lowercase()));
                        i = ve + 1;
                        continue;
                    }
                }
            }
            i = kend + 1;
            continue;
        }
        if bytes[i..].starts_with(b"--") && (i == 0 || bytes[i - 1] == b' ') {
            let flag_end = line[i..]
                .find([' ', '='])
                .map(|j| i + j)
                .unwrap_or(line.len());
            let flag = &line[i + 2..flag_end];
            if is_secret_key(flag) && flag_end < line.len() {
                let vs = flag_end + 1;
                let ve = line[vs..].find(' ').map(|j| vs + j).unwrap_or(line.len());
                if ve > vs {
                    let (s, e) = unquoted(line, vs, ve);
                    out.push((s, e, flag.to_ascii_lowercase()));
                }
                i = ve;
                continue;
            }
            i = flag_end;
            continue;
        }
        i += 1;
    }
    out.sort();
    out.dedup_by(|a, b| a.0 < b.1 && b.0 < a.1);
    out
}

/// The range inside surrounding quotes, if any.
fn unquoted(line: &str, s: usize, e: usize) -> (usize, usize) {
    let v = &line[s..e];
    for q in ['"', '\''] {
        if v.len() >= 2 && v.starts_with(q) && v.ends_with(q) {
            return (s + 1, e - 1);
        }
    }
    (s, e)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scrubber() -> Scrubber {
        Scrubber::new(
            FingerprintKey::from_file_bytes(b"test-key"),
            [Secret::new("f3c815a56e861908acad597acef0e67e")],
        )
    }

    #[test]
    fn tokens_keep_their_hash() {
        let s = scrubber();
        let hash = "b49f4307aad93f420f81fe90270ed0f40119a31116d1027c37d6b7a595e21313";
        let out = s.scrub(
            "n1/var/lib/rancher/rke2/server/token",
            format!("K10{hash}::server:s3cr3t-pass\n").as_bytes(),
        );
        let text = String::from_utf8(out.data).unwrap();
        assert!(
            text.starts_with(&format!("K10{hash}::server:hm:")),
            "{text}"
        );
        assert!(!text.contains("s3cr3t"));
        let tok = token::parse_token(text.trim()).unwrap();
        assert_eq!(tok.ca_hash.as_deref(), Some(hash));
    }

    #[test]
    fn keyed_values_in_yaml_json_env_and_flags() {
        let s = scrubber();
        let text = "token: abc-secret\nagent-token: \"xyz-secret\"\npassword: $6$aaaaaaaa$bbbbbbbbbbbbbbbbbbbbbbbbb\n\
                    data-dir: /var/lib/rancher\n{\"secret\":\"Zm9vYmFyYmF6\",\"name\":\"k\"}\nRKE2_TOKEN=envsecret\n\
                    RKE2_TOKEN_FILE=/x/token\nrke2 server --token flagsecret --debug\nserver: https://a:9345\n";
        let out = String::from_utf8(s.scrub("etc/x/config.yaml", text.as_bytes()).data).unwrap();
        for gone in [
            "abc-secret",
            "xyz-secret",
            "$6$",
            "Zm9vYmFyYmF6",
            "envsecret",
            "flagsecret",
        ] {
            assert!(!out.contains(gone), "{gone} in {out}");
        }
        for kept in [
            "data-dir: /var/lib/rancher",
            "RKE2_TOKEN_FILE=/x/token",
            "\"name\":\"k\"",
            "--debug",
            "server: https://a:9345",
        ] {
            assert!(out.contains(kept), "{kept} not in {out}");
        }
    }

    #[test]
    fn known_secrets_go_everywhere_and_placeholders_stay() {
        let s = scrubber();
        let text =
            "msg=\"joined with f3c815a56e861908acad597acef0e67e\"\ntoken: ***\npassword: \"\"\n";
        let out = String::from_utf8(s.scrub("logs/x.log", text.as_bytes()).data).unwrap();
        assert!(!out.contains("f3c815a5"));
        assert!(out.contains("token: ***") && out.contains("password: \"\""));
    }

    #[test]
    fn shadow_and_secret_objects() {
        let s = scrubber();
        let out = s.scrub(
            "etc/shadow",
            b"root:$6$salt$hashhashhashhashhash:19000:0:99999:7:::\nbin:*:19000::::::\n",
        );
        let text = String::from_utf8(out.data).unwrap();
        assert!(!text.contains("$6$salt"));
        assert!(text.contains("bin:*:19000"));
        assert_eq!(text.lines().next().unwrap().split(':').count(), 9);
        let list = "apiVersion: v1\nitems:\n- apiVersion: v1\n  data:\n    applied-output: c2VjcmV0LXZhbHVl\n  kind: Secret\n  metadata:\n    name: a\n- apiVersion: v1\n  data:\n    ca.crt: x\n  kind: ConfigMap\nkind: List\n";
        let out = String::from_utf8(s.scrub("yamls/secrets.yaml", list.as_bytes()).data).unwrap();
        assert!(!out.contains("c2VjcmV0LXZhbHVl"), "{out}");
        assert!(
            out.contains("ca.crt: x") && out.contains("name: a"),
            "{out}"
        );
    }
}
