//! Budgeted YAML parsing of untrusted bundle and node files into `serde_json::Value`.
//!
//! The budgets come from [`Limits`]: nesting depth ([`Limits::max_yaml_depth`]) and alias use
//! ([`Limits::max_yaml_aliases`] alias events; replayed events capped at 100 per allowed alias).
//! Node, event and scalar budgets scale with the input's length, so no document can expand
//! beyond a small multiple of its own size: an alias bomb is refused, never a hang or OOM.
//! Errors carry line and column where the parser knows them, and are rendered without source
//! snippets (the source may hold secrets).

use serde_json::Value;

use crate::ingest::Limits;

/// Why a YAML document could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct YamlError {
    pub message: String,
    /// 1-based line, when known.
    pub line: Option<u64>,
    /// 1-based column, when known.
    pub column: Option<u64>,
    /// True when a budget (depth, aliases, size) refused the document: a limit, not a typo.
    pub refused: bool,
}

impl YamlError {
    /// `line L, column C` when known.
    pub fn pointer(&self) -> Option<String> {
        match (self.line, self.column) {
            (Some(l), Some(c)) => Some(format!("line {l}, column {c}")),
            (Some(l), None) => Some(format!("line {l}")),
            _ => None,
        }
    }

    /// Where, for [`crate::error::Error::syntax`] and its caret display, when the parser knows
    /// the line and column (1-based, in characters). Bundle and node files are never shown with
    /// their text (they may hold secrets); a runbook is.
    pub fn span(&self) -> Option<crate::error::Span> {
        Some(crate::error::Span {
            line: usize::try_from(self.line?).ok()?,
            column: usize::try_from(self.column?).ok()?,
        })
    }
}

impl std::fmt::Display for YamlError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.pointer() {
            Some(p) => write!(f, "{} ({p})", self.message),
            None => write!(f, "{}", self.message),
        }
    }
}

/// The parser options for one document of `len` bytes under `limits`.
fn options(len: usize, limits: &Limits) -> serde_saphyr::Options {
    let mut budget = serde_saphyr::Budget::default();
    let scaled = len.saturating_mul(2).saturating_add(4096);
    budget.max_depth = limits.max_yaml_depth;
    budget.max_aliases = limits.max_yaml_aliases;
    budget.max_anchors = limits.max_yaml_aliases.max(1);
    budget.max_nodes = scaled;
    budget.max_events = scaled.saturating_mul(2);
    budget.max_total_scalar_bytes = scaled;
    budget.max_documents = 1;
    budget.max_recorded_anchor_events = limits.max_yaml_aliases.saturating_mul(100).max(1024);
    budget.max_recorded_anchor_bytes = scaled;
    budget.max_merge_keys = limits.max_yaml_aliases;

    let mut o = serde_saphyr::Options::default();
    o.budget = Some(budget);
    o.alias_limits.max_total_replayed_events =
        limits.max_yaml_aliases.saturating_mul(100).max(1024);
    o.alias_limits.max_replay_stack_depth = limits.max_yaml_depth.min(64);
    o.duplicate_keys = serde_saphyr::DuplicateKeyPolicy::LastWins;
    o.with_snippet = false;
    o.non_finite_float_policy = serde_saphyr::NonFiniteFloatPolicy::AsString;
    o
}

/// The stack a thread needs to parse within `limits`' depth budget.
pub fn stack_for(limits: &Limits) -> usize {
    (1usize << 20)
        .saturating_add(limits.max_yaml_depth.saturating_mul(STACK_PER_LEVEL))
        .min(1 << 30)
}

/// Parse one YAML document (an empty document is null) into a value, within the budgets, on a
/// thread of its own with the stack the depth budget needs.
pub fn parse(data: &[u8], limits: &Limits) -> Result<Value, YamlError> {
    let text = checked_text(data)?;
    if text.trim().is_empty() {
        return Ok(Value::Null);
    }
    parse_spawned(text, limits)
}

/// [`parse`] on the calling thread, which must have [`stack_for`]`(limits)` bytes of stack
/// (a thread of [`crate::par::map_balanced_on`] with that stack): many small documents then
/// cost no thread each.
pub fn parse_here(data: &[u8], limits: &Limits) -> Result<Value, YamlError> {
    let text = checked_text(data)?;
    if text.trim().is_empty() {
        return Ok(Value::Null);
    }
    parse_text(text, limits)
}

fn parse_text(text: &str, limits: &Limits) -> Result<Value, YamlError> {
    serde_saphyr::from_str_with_options::<Value>(text, options(text.len(), limits))
        .map_err(|e| convert(&e))
}

/// The document as text without a byte-order mark, or why it is not text.
fn checked_text(data: &[u8]) -> Result<&str, YamlError> {
    let text = match std::str::from_utf8(data) {
        Ok(t) => t,
        Err(e) => {
            return Err(YamlError {
                message: format!(
                    "not UTF-8 text (invalid byte at offset {})",
                    e.valid_up_to()
                ),
                line: None,
                column: None,
                refused: false,
            });
        }
    };
    Ok(text.strip_prefix('\u{feff}').unwrap_or(text))
}

fn parse_spawned(text: &str, limits: &Limits) -> Result<Value, YamlError> {
    // The deserializer recurses per nesting level (tens of KiB per level in debug builds): run
    // it on a thread whose stack fits the depth budget, so the budget, not the stack, decides.
    let run = || parse_text(text, limits);
    std::thread::scope(|s| {
        match std::thread::Builder::new()
            .name("yaml".into())
            .stack_size(stack_for(limits))
            .spawn_scoped(s, run)
        {
            Ok(h) => h.join().unwrap_or_else(|_| {
                Err(YamlError {
                    message: "YAML parser failed".into(),
                    line: None,
                    column: None,
                    refused: true,
                })
            }),
            Err(_) => Err(YamlError {
                message: "could not start the YAML parser thread".into(),
                line: None,
                column: None,
                refused: true,
            }),
        }
    })
}

/// Stack reserved per allowed nesting level (generous for debug builds; only touched pages are
/// committed).
const STACK_PER_LEVEL: usize = 96 << 10;

/// A file the user wrote (a runbook, an inventory) that does not parse: the error at its line
/// and column, with the source line and a caret.
pub fn syntax_error(path: &str, text: &str, e: &serde_saphyr::Error) -> crate::error::Error {
    let y = convert(e);
    let span = crate::error::Span {
        line: y.line.unwrap_or(1) as usize,
        column: y.column.unwrap_or(1) as usize,
    };
    crate::error::Error::syntax(path, Some(text), span, y.message)
}

/// A serde-saphyr error as one bounded line and its place (for any typed YAML the crate reads).
pub fn convert(e: &serde_saphyr::Error) -> YamlError {
    use serde_saphyr::Error as E;
    let refused = is_refusal(e);
    let (line, column) = match e.location() {
        Some(l) if l.line() > 0 => (Some(l.line()), Some(l.column())),
        _ => (None, None),
    };
    let mut message = e.to_string();
    if let E::WithSnippet { .. } = e {
        message = e.without_snippet().to_string();
    }
    // Keep one line, bounded (the message may quote input text), without the parser's own
    // location suffix: the location is kept apart.
    let first = message.lines().next().unwrap_or("");
    let first = match first.rfind(" at line ") {
        Some(i) => &first[..i],
        None => first,
    };
    let mut message: String = first.chars().take(200).collect();
    if message.is_empty() {
        message = "malformed YAML".into();
    }
    YamlError {
        message,
        line,
        column,
        refused,
    }
}

fn is_refusal(e: &serde_saphyr::Error) -> bool {
    use serde_saphyr::Error as E;
    match e {
        E::Budget { .. }
        | E::AliasReplayCounterOverflow { .. }
        | E::AliasReplayLimitExceeded { .. }
        | E::AliasExpansionLimitExceeded { .. }
        | E::AliasReplayStackDepthExceeded { .. } => true,
        E::WithSnippet { .. } => {
            let inner = e.without_snippet();
            !std::ptr::eq(inner, e) && is_refusal(inner)
        }
        _ => {
            let s = e.to_string().to_ascii_lowercase();
            s.contains("budget") || s.contains("alias") && s.contains("limit")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_document() {
        let v = parse(b"a: 1\nb: [x, 2.000001e+09]\n", &Limits::default());
        assert_eq!(
            v,
            Ok(serde_json::json!({"a": 1, "b": ["x", 2_000_001_000.0]}))
        );
    }

    #[test]
    fn alias_bomb_is_refused() {
        let mut y = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..12 {
            let p = i - 1;
            y.push_str(&format!(
                "a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
            ));
        }
        let err = parse(y.as_bytes(), &Limits::default());
        match err {
            Err(e) => assert!(e.refused, "{e:?}"),
            Ok(_) => panic!("alias bomb accepted"),
        }
    }

    #[test]
    fn deep_nesting_is_refused() {
        let y = "[".repeat(500) + &"]".repeat(500);
        assert!(parse(y.as_bytes(), &Limits::default()).is_err());
        let y = (0..300)
            .map(|i| format!("{}k:\n", "  ".repeat(i)))
            .collect::<String>();
        let e = parse(y.as_bytes(), &Limits::default());
        assert!(matches!(e, Err(ref e) if e.refused), "{e:?}");
    }

    #[test]
    fn malformed_has_location() {
        const SRC: &str = "a: 1\nb: [unclosed\nc: 2\n";
        let e = parse(SRC.as_bytes(), &Limits::default());
        match e {
            Err(e) => {
                assert!(!e.refused);
                assert!(e.line.is_some(), "{e:?}");
                let span = e.span().expect("span");
                let shown = crate::error::render_caret("x.yaml", SRC, span, &e.message);
                // serde-saphyr's columns are 1-based characters: the caret sits under the ':'.
                assert_eq!(
                    shown,
                    "x.yaml:3:2: illegal placement of ':' indicator\n  |\n3 | c: 2\n  |  ^"
                );
            }
            Ok(v) => panic!("accepted {v}"),
        }
    }

    #[test]
    fn integer_keys_and_empty() {
        assert_eq!(parse(b"", &Limits::default()), Ok(Value::Null));
        let v = parse(b"1: a\ntrue: b\n", &Limits::default());
        assert!(v.is_ok(), "{v:?}");
    }
}
