//! Strict templating of runbook strings: `{{ params.NAME }}`, `{{ node.name }}`,
//! `{{ node.ip }}`, `{{ node.role }}` and `{{ run.id }}`, optionally followed by `| raw`.
//!
//! [`expressions`] finds every `{{ ... }}` of a string and refuses an unknown variable or an
//! unterminated one (the loader turns the byte offset into file:line:column). [`render`] puts
//! the values in: shell-quoted for commands (a value from a stranger's inventory can never
//! become shell syntax) unless the template says `| raw`, verbatim for effect fields and paths.

use std::collections::BTreeMap;

/// One variable a template names.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Var {
    Param(String),
    NodeName,
    NodeIp,
    NodeRole,
    RunId,
}

/// One `{{ ... }}` of a string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expr {
    /// Byte offset of the `{{`.
    pub start: usize,
    /// Byte offset just after the `}}`.
    pub end: usize,
    pub var: Var,
    /// `| raw`: inserted without shell quoting.
    pub raw: bool,
}

/// A template error at a byte offset of the string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateError {
    pub offset: usize,
    pub message: String,
}

/// Every expression of `text`, in order; `params` are the names the runbook declares.
pub fn expressions(text: &str, params: &dyn Fn(&str) -> bool) -> Result<Vec<Expr>, TemplateError> {
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(i) = text[from..].find("{{") {
        let start = from + i;
        let Some(j) = text[start + 2..].find("}}") else {
            return Err(TemplateError {
                offset: start,
                message: "`{{` without a closing `}}`".to_string(),
            });
        };
        let end = start + 2 + j + 2;
        let inner = text[start + 2..start + 2 + j].trim();
        let (name, raw) = match inner.split_once('|') {
            Some((n, filter)) => {
                let filter = filter.trim();
                if filter != "raw" {
                    return Err(TemplateError {
                        offset: start,
                        message: format!("unknown filter `{filter}` (only `raw` exists)"),
                    });
                }
                (n.trim(), true)
            }
            None => (inner, false),
        };
        let var = match name {
            "node.name" => Var::NodeName,
            "node.ip" => Var::NodeIp,
            "node.role" => Var::NodeRole,
            "run.id" => Var::RunId,
            _ => match name.strip_prefix("params.") {
                Some(p) if params(p) => Var::Param(p.to_string()),
                Some(p) => {
                    return Err(TemplateError {
                        offset: start,
                        message: format!(
                            "undefined variable `params.{p}`: the runbook declares no param `{p}`"
                        ),
                    });
                }
                None => {
                    return Err(TemplateError {
                        offset: start,
                        message: format!(
                            "undefined variable `{name}`: expected params.NAME, node.name, \
                             node.ip, node.role or run.id"
                        ),
                    });
                }
            },
        };
        out.push(Expr {
            start,
            end,
            var,
            raw,
        });
        from = end;
    }
    Ok(out)
}

/// The values a rendering draws from.
#[derive(Debug, Clone, Default)]
pub struct Vars {
    pub params: BTreeMap<String, String>,
    pub node_name: Option<String>,
    pub node_ip: Option<String>,
    pub node_role: Option<String>,
    pub run_id: Option<String>,
}

impl Vars {
    fn get(&self, v: &Var) -> Option<&str> {
        match v {
            Var::Param(p) => self.params.get(p).map(String::as_str),
            Var::NodeName => self.node_name.as_deref(),
            Var::NodeIp => self.node_ip.as_deref(),
            Var::NodeRole => self.node_role.as_deref(),
            Var::RunId => self.run_id.as_deref(),
        }
    }
}

/// How values go in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// A shell command: values are quoted unless the expression says `| raw`.
    Shell,
    /// A path or an effect field: values verbatim.
    Verbatim,
}

/// `text` with every expression replaced; `Err` names a variable that has no value here (a
/// `node.*` in a step that runs on no node, a param without a value).
pub fn render(text: &str, vars: &Vars, mode: Mode) -> Result<String, TemplateError> {
    // Declarations were checked when the runbook loaded; here a param may be declared and
    // still have no value (no default, no `--var`).
    let exprs = expressions(text, &|_| true)?;
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for e in exprs {
        out.push_str(&text[at..e.start]);
        let Some(value) = vars.get(&e.var) else {
            return Err(TemplateError {
                offset: e.start,
                message: match &e.var {
                    Var::Param(p) => format!(
                        "param `{p}` has no value: it has no default; give it with --var {p}=VALUE"
                    ),
                    _ => format!("`{}` has no value here", &text[e.start..e.end]),
                },
            });
        };
        if mode == Mode::Shell && !e.raw {
            out.push_str(&shell_quote(value));
        } else {
            out.push_str(value);
        }
        at = e.end;
    }
    out.push_str(&text[at..]);
    Ok(out)
}

/// `s` as one shell word: unchanged when it holds only characters no shell treats specially,
/// else in single quotes (a `'` inside becomes `'\''`).
pub fn shell_quote(s: &str) -> String {
    let plain = !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_./:=@%+,-".contains(&b));
    if plain {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn declared(p: &str) -> bool {
        p == "rke2" || p == "dir"
    }

    #[test]
    fn every_known_form_parses_and_unknown_ones_are_refused_at_their_offset() {
        let e = expressions(
            "{{ params.rke2 }} x {{node.name}} {{ run.id | raw }}",
            &declared,
        )
        .unwrap();
        assert_eq!(e.len(), 3);
        assert_eq!(e[0].var, Var::Param("rke2".into()));
        assert_eq!(e[1].var, Var::NodeName);
        assert!(e[2].raw);
        let err = expressions("ab {{ params.nope }}", &declared).unwrap_err();
        assert_eq!(err.offset, 3);
        assert!(err.message.contains("params.nope"), "{}", err.message);
        assert!(expressions("{{ node.hostname }}", &declared).is_err());
        assert!(expressions("x {{ params.rke2 ", &declared).is_err());
        assert!(expressions("{{ params.rke2 | upper }}", &declared).is_err());
    }

    #[test]
    fn values_are_shell_quoted_unless_raw() {
        let mut v = Vars::default();
        v.params.insert("dir".into(), "/opt/x y".into());
        v.params.insert("rke2".into(), "/opt/rke2/bin/rke2".into());
        v.node_name = Some("n1; rm -rf /".into());
        let s = render(
            "{{ params.rke2 }} --path={{ params.dir }} {{ node.name }}",
            &v,
            Mode::Shell,
        )
        .unwrap();
        assert_eq!(s, "/opt/rke2/bin/rke2 --path='/opt/x y' 'n1; rm -rf /'");
        let raw = render("{{ params.dir | raw }}", &v, Mode::Shell).unwrap();
        assert_eq!(raw, "/opt/x y");
        let verbatim = render("{{ params.dir }}/tls", &v, Mode::Verbatim).unwrap();
        assert_eq!(verbatim, "/opt/x y/tls");
        assert_eq!(shell_quote("it's"), "'it'\\''s'");
        assert!(render("{{ node.ip }}", &v, Mode::Shell).is_err());
    }
}
