//! Loading a runbook: YAML parsed into the typed model (serde-saphyr, unknown keys refused),
//! then validated as a whole before anything runs: the `apiVersion` and `kind`, unique step ids,
//! one action per step, typed param defaults, `--var` overrides, and every template of every
//! string (an undefined variable is an error at its file:line:column, shown with a caret).

use std::collections::{BTreeMap, BTreeSet};

use super::model::{API_VERSION, Effect, KIND, ParamType, Runbook, Step};
use super::template::{self, Mode, Vars};
use crate::error::{Error, Result, Span};

/// A loaded, validated runbook with its source and resolved params.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub runbook: Runbook,
    /// The file as the user named it.
    pub path: String,
    /// The file's text (runbooks hold no secret values: secrets come from env or files).
    pub text: String,
    /// SHA-256 of the file's bytes (the journal pins it).
    pub sha256: String,
    /// Every non-secret param with its value (default or `--var`).
    pub params: BTreeMap<String, String>,
}

impl Loaded {
    /// The values templates draw params from.
    pub fn vars(&self) -> Vars {
        Vars {
            params: self.params.clone(),
            ..Vars::default()
        }
    }

    /// A string field rendered verbatim with the params (effect fields, paths); `Err` when a
    /// node variable is needed.
    pub fn render(&self, text: &str) -> Result<String> {
        template::render(text, &self.vars(), Mode::Verbatim)
            .map_err(|e| self.error_at_text(text, e.offset, &e.message))
    }

    fn error_at_text(&self, value: &str, offset: usize, message: &str) -> Error {
        error_in(&self.path, &self.text, 0, value, offset, message)
    }
}

/// The largest runbook file read.
const MAX_RUNBOOK_BYTES: u64 = 4 << 20;

/// Load a runbook file; `vars` are `--var name=value` overrides.
pub fn load_file(path: &std::path::Path, vars: &[(String, String)]) -> Result<Loaded> {
    let shown = path.display().to_string();
    let size = std::fs::metadata(path)
        .map_err(|e| Error::input(&shown, None, e.to_string()))?
        .len();
    if size > MAX_RUNBOOK_BYTES {
        return Err(Error::input(
            &shown,
            None,
            format!("{size} bytes: a runbook is at most {MAX_RUNBOOK_BYTES} bytes"),
        ));
    }
    let bytes = std::fs::read(path).map_err(|e| Error::input(&shown, None, e.to_string()))?;
    let text = String::from_utf8(bytes)
        .map_err(|_| Error::input(&shown, None, "not UTF-8 text: a runbook is a YAML file"))?;
    load_str(&shown, &text, vars)
}

/// Load a runbook from its text; `path` names it in errors.
pub fn load_str(path: &str, text: &str, vars: &[(String, String)]) -> Result<Loaded> {
    let runbook: Runbook = serde_saphyr::from_str(text)
        .map_err(|e| crate::snapshot::yaml::syntax_error(path, text, &e))?;
    let at_key = |key: &str, message: String| -> Error {
        let span = find(text, key).map_or(Span { line: 1, column: 1 }, |at| span_at(text, at));
        Error::syntax(path, Some(text), span, message)
    };
    if runbook.api_version != API_VERSION {
        return Err(at_key(
            "apiVersion",
            format!(
                "apiVersion is `{}`; the supported apiVersion is `{API_VERSION}`",
                runbook.api_version
            ),
        ));
    }
    if runbook.kind != KIND {
        return Err(at_key(
            "kind",
            format!("kind is `{}`; expected `{KIND}`", runbook.kind),
        ));
    }
    if runbook.steps.is_empty() {
        return Err(at_key("steps", "the runbook has no step".to_string()));
    }
    let mut params = BTreeMap::new();
    for (name, p) in &runbook.params {
        if !valid_name(name) {
            return Err(at_key(
                name,
                format!("param name `{name}` must be lowercase letters, digits and `_`"),
            ));
        }
        match (&p.kind, &p.default) {
            (ParamType::Secret, Some(_)) => {
                return Err(at_key(
                    name,
                    format!(
                        "param `{name}` is a secret and has a default: secrets come from the \
                         environment (from_env) or a file (from_file), never from the runbook"
                    ),
                ));
            }
            (ParamType::Secret, None) => {}
            (kind, Some(d)) => {
                check_type(*kind, d).map_err(|m| at_key(name, format!("param `{name}`: {m}")))?;
                params.insert(name.clone(), d.clone());
            }
            (_, None) => {}
        }
    }
    for (name, value) in vars {
        let Some(p) = runbook.params.get(name) else {
            let known: Vec<&str> = runbook.params.keys().map(String::as_str).collect();
            return Err(Error::Usage(format!(
                "--var {name}: {path} declares no param `{name}` (its params: {})",
                if known.is_empty() {
                    "none".to_string()
                } else {
                    known.join(", ")
                }
            )));
        };
        if p.kind == ParamType::Secret {
            return Err(Error::Usage(format!(
                "--var {name}: `{name}` is a secret; give it through its environment variable \
                 or file, never on the command line"
            )));
        }
        check_type(p.kind, value).map_err(|m| Error::Usage(format!("--var {name}: {m}")))?;
        params.insert(name.clone(), value.clone());
    }
    let declared: BTreeSet<&str> = runbook.params.keys().map(String::as_str).collect();
    let is_declared = |p: &str| declared.contains(p);
    let mut seen = BTreeSet::new();
    for check in &runbook.preflight {
        if !seen.insert(check.id.clone()) {
            return Err(at_key(
                &check.id,
                format!("id `{}` is used twice", check.id),
            ));
        }
        templates(
            path,
            text,
            item_at(text, &check.id),
            &check.run,
            &is_declared,
        )?;
    }
    for step in &runbook.steps {
        if !valid_id(&step.id) {
            return Err(at_key(
                &step.id,
                format!(
                    "step id `{}` must be lowercase letters, digits and `-`",
                    step.id
                ),
            ));
        }
        if !seen.insert(step.id.clone()) {
            return Err(at_key(&step.id, format!("id `{}` is used twice", step.id)));
        }
        let actions = [
            step.run.is_some(),
            step.copy.is_some(),
            step.confirm.is_some(),
        ];
        if actions.iter().filter(|a| **a).count() != 1 {
            return Err(at_key(
                &step.id,
                format!(
                    "step `{}` must have exactly one of run, copy or confirm",
                    step.id
                ),
            ));
        }
        if step.confirm.is_none() && step.target.is_none() {
            return Err(at_key(
                &step.id,
                format!("step `{}` has no target", step.id),
            ));
        }
        let from = item_at(text, &step.id);
        check_timings(step).map_err(|m| at_key(&step.id, format!("step `{}`: {m}", step.id)))?;
        for s in strings_of(step) {
            templates(path, text, from, s, &is_declared)?;
        }
    }
    Ok(Loaded {
        sha256: crate::pki::sha256_hex(text.as_bytes()),
        runbook,
        path: path.to_string(),
        text: text.to_string(),
        params,
    })
}

/// Every templated string of a step.
fn strings_of(step: &Step) -> Vec<&str> {
    let mut out: Vec<&str> = Vec::new();
    out.extend(step.run.as_deref());
    out.extend(step.confirm.as_deref());
    out.extend(step.rollback.as_deref());
    if let Some(c) = &step.copy {
        out.push(&c.src);
        out.push(&c.dest);
    }
    if let Some(v) = &step.verify {
        out.push(&v.run);
    }
    for e in step.effects() {
        match e {
            Effect::StageCa { dir, from } => {
                out.push(dir);
                out.extend(from.as_deref());
            }
            Effect::StageServiceKey { dir, .. } => out.push(dir),
            Effect::RotateCa { path, .. } => out.push(path),
            Effect::SetToken {
                places, ca_hash, ..
            } => {
                out.extend(places.iter().map(String::as_str));
                out.extend(ca_hash.as_deref());
            }
            Effect::WriteFile { path } => out.push(path),
            _ => {}
        }
    }
    out
}

fn templates(
    path: &str,
    text: &str,
    from: usize,
    value: &str,
    declared: &dyn Fn(&str) -> bool,
) -> Result<()> {
    template::expressions(value, declared)
        .map(|_| ())
        .map_err(|e| error_in(path, text, from, value, e.offset, &e.message))
}

/// Where the step or check with this id is written (its `id:` line), so that errors in its
/// strings are looked for there first; the start of the file when it cannot be found.
fn item_at(text: &str, id: &str) -> usize {
    text.match_indices(id)
        .find(|(i, _)| {
            let line_start = text[..*i].rfind('\n').map_or(0, |n| n + 1);
            let head = text[line_start..*i].trim_start_matches([' ', '-']);
            let head = head.trim_end_matches(['"', '\'']);
            head.trim_end() == "id:"
        })
        .map_or(0, |(i, _)| i)
}

/// An error at byte `offset` of `value`, placed in the file where that part of the value sits:
/// the expression's text searched from where the whole value is written (so an earlier field
/// holding the same text is not blamed), else anywhere, else the value's first line.
fn error_in(
    path: &str,
    text: &str,
    from: usize,
    value: &str,
    offset: usize,
    message: &str,
) -> Error {
    let piece = value
        .get(offset..)
        .map(|rest| match rest.find("}}") {
            Some(i) => &rest[..i + 2],
            None => rest.lines().next().unwrap_or(rest),
        })
        .unwrap_or(value);
    let first_line = value.lines().next().unwrap_or(value);
    let value_at = text[from..].find(first_line).map_or(from, |i| from + i);
    let at = text[value_at..]
        .find(piece)
        .filter(|_| !piece.is_empty())
        .map(|i| value_at + i)
        .or_else(|| find(text, piece))
        .or_else(|| find(text, first_line));
    let span = at.map_or(Span { line: 1, column: 1 }, |at| span_at(text, at));
    Error::syntax(path, Some(text), span, message)
}

/// The first place `needle` occurs in `text`, as a byte offset.
fn find(text: &str, needle: &str) -> Option<usize> {
    if needle.is_empty() {
        return None;
    }
    text.find(needle)
}

/// Byte offset `at` of `text` as a 1-based line and character column.
fn span_at(text: &str, at: usize) -> Span {
    let before = &text[..at];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = text[line_start..at].chars().count() + 1;
    Span { line, column }
}

/// A step's `timeout` and its verify's `interval` and `timeout` must read as durations.
fn check_timings(step: &Step) -> std::result::Result<(), String> {
    let v = step.verify.as_ref();
    let fields = [
        ("timeout", step.timeout.as_deref()),
        ("verify.interval", v.and_then(|v| v.interval.as_deref())),
        ("verify.timeout", v.and_then(|v| v.timeout.as_deref())),
    ];
    for (name, value) in fields {
        if let Some(value) = value
            && super::model::duration(value).is_none()
        {
            return Err(format!(
                "{name} `{value}` is not a duration (90s, 10m, 1h, 500ms)"
            ));
        }
    }
    Ok(())
}

fn check_type(kind: ParamType, value: &str) -> std::result::Result<(), String> {
    match kind {
        ParamType::Int if value.parse::<i64>().is_err() => {
            Err(format!("`{value}` is not an integer"))
        }
        ParamType::Bool if value != "true" && value != "false" => {
            Err(format!("`{value}` is not true or false"))
        }
        ParamType::Path if value.is_empty() || value.contains('\0') => {
            Err("a path must be non-empty".to_string())
        }
        _ => Ok(()),
    }
}

fn valid_name(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

fn valid_id(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = "apiVersion: harrow/v1
kind: Runbook
metadata:
  name: demo
params:
  rke2: {type: path, default: /opt/rke2/bin/rke2}
  retries: {type: int, default: \"3\"}
steps:
  - id: snapshot
    target: first-server
    run: \"{{ params.rke2 }} etcd-snapshot save --name pre-{{ run.id }}\"
    effect: {etcd_snapshot: {record_token: true}}
  - id: restart-servers
    target: servers
    order: serial
    run: systemctl restart rke2-server
    effect: [{stop: {}}, {start: {}}]
  - id: gate
    confirm: Check the workloads
";

    #[test]
    fn a_good_runbook_loads_with_typed_steps() {
        let l = load_str("r.yaml", GOOD, &[]).unwrap();
        assert_eq!(l.runbook.steps.len(), 3);
        assert_eq!(l.runbook.steps[1].effects().len(), 2);
        assert_eq!(
            l.runbook.steps[0].effects(),
            &[Effect::EtcdSnapshot { record_token: true }]
        );
        assert_eq!(l.params["rke2"], "/opt/rke2/bin/rke2");
        let l = load_str("r.yaml", GOOD, &[("retries".into(), "5".into())]).unwrap();
        assert_eq!(l.params["retries"], "5");
    }

    #[test]
    fn an_undefined_variable_is_an_error_at_its_line_and_column() {
        let bad = GOOD.replace("{{ run.id }}", "{{ params.runid }}");
        let e = load_str("r.yaml", &bad, &[]).unwrap_err();
        let Error::Syntax { span, message, .. } = &e else {
            panic!("{e:?}")
        };
        assert_eq!(span.line, 11);
        assert_eq!(span.column, 59);
        assert!(message.contains("params.runid"), "{message}");
        let shown = e.to_string();
        assert!(shown.starts_with("r.yaml:11:59:"), "{shown}");
        assert!(shown.contains('^'), "{shown}");
    }

    /// Regression (proptest): an unclosed `{{` in a step was shown on an earlier line that held
    /// the same text (the metadata description), not on the step's own line.
    #[test]
    fn an_unclosed_template_is_shown_on_the_step_that_has_it() {
        let text = GOOD
            .replace("metadata:\n", "metadata:\n  description: \"x {{\"\n")
            .replace("run: systemctl restart rke2-server", "run: x {{");
        let e = load_str("r.yaml", &text, &[]).unwrap_err();
        let Error::Syntax {
            span, source_line, ..
        } = &e
        else {
            panic!("{e:?}")
        };
        assert_eq!(source_line.as_deref(), Some("    run: x {{"), "{e}");
        assert_eq!(span.column, 12, "{e}");
    }

    #[test]
    fn bad_documents_are_refused_with_the_reason() {
        let cases = [
            (GOOD.replace("harrow/v1", "harrow/v2"), "apiVersion"),
            (
                GOOD.replace("order: serial", "order: sideways"),
                "unknown order",
            ),
            (
                GOOD.replace("target: servers", "target: server"),
                "unknown target",
            ),
            (GOOD.replace("id: gate", "id: snapshot"), "used twice"),
            (
                GOOD.replace("    confirm: Check", "    shout: Check"),
                "shout",
            ),
            (
                GOOD.replace("default: \"3\"", "default: three"),
                "not an integer",
            ),
            (
                GOOD.replace("{stop: {}}", "{reboot: {}}"),
                "restart-servers",
            ),
        ];
        for (text, needle) in cases {
            let e = load_str("r.yaml", &text, &[]).unwrap_err();
            assert!(
                e.to_string().contains(needle) || matches!(e, Error::Syntax { .. }),
                "{needle}: {e}"
            );
            assert!(matches!(e, Error::Syntax { .. }), "{needle}: {e:?}");
        }
        let e = load_str("r.yaml", GOOD, &[("nope".into(), "1".into())]).unwrap_err();
        assert!(matches!(e, Error::Usage(_)), "{e:?}");
        let e = load_str("r.yaml", GOOD, &[("retries".into(), "x".into())]).unwrap_err();
        assert!(e.to_string().contains("not an integer"), "{e}");
    }

    #[test]
    fn a_secret_param_never_has_a_default_nor_a_var() {
        let text = GOOD.replace(
            "  retries: {type: int, default: \"3\"}",
            "  retries: {type: int, default: \"3\"}\n  token: {type: secret, from_env: NEW_TOKEN}",
        );
        let l = load_str("r.yaml", &text, &[]).unwrap();
        assert!(!l.params.contains_key("token"));
        let e = load_str("r.yaml", &text, &[("token".into(), "x".into())]).unwrap_err();
        assert!(e.to_string().contains("secret"), "{e}");
        let bad = text.replace("from_env: NEW_TOKEN", "default: hunter2");
        assert!(load_str("r.yaml", &bad, &[]).is_err());
    }
}
