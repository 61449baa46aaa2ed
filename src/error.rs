//! The crate's error type and exit codes. Every error a command reports is an [`Error`]: its kind
//! decides the exit code ([`Error::exit_code`], product.md's codes in [`exit`]) and its `Display`
//! is the one sentence the CLI prints after `harrow <command>: `. Errors at a place in a text file
//! (YAML, runbooks) carry a [`Span`] and render with a caret under the column ([`render_caret`]).

use std::fmt;

/// Exit codes of product.md.
pub mod exit {
    /// Nothing at or above `--fail-on`; `run`/`resume`: done.
    pub const OK: i32 = 0;
    /// Findings at or above `--fail-on` (`simulate`: a break; `diff`: no convergence).
    pub const FINDINGS: i32 = 1;
    /// Usage error, or every input unreadable.
    pub const USAGE: i32 = 2;
    /// Internal error (a bug).
    pub const INTERNAL: i32 = 3;
    /// `run`/`resume`: a step failed.
    pub const STEP_FAILED: i32 = 4;
    /// `run`/`resume`: stopped at a `confirm` gate without `--yes`.
    pub const STOPPED_AT_GATE: i32 = 5;
    /// `run`/`resume`: preflight failed.
    pub const PREFLIGHT_FAILED: i32 = 6;
    /// `run`/`resume`: journal locked, or resume refused.
    pub const JOURNAL_REFUSED: i32 = 7;
}

/// A place in a text file: 1-based line, and 1-based column counted in characters (as
/// serde-saphyr reports them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Span {
    /// 1-based line.
    pub line: usize,
    /// 1-based column, in characters.
    pub column: usize,
}

/// Why a command failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// A bad argument or value (`--at tomorrow`, an unreadable `--fingerprint-key`, an unknown
    /// `--blast-radius` id).
    Usage(String),
    /// An input that cannot be read or understood.
    Input {
        /// The input as the user named it (file or directory).
        input: String,
        /// The entry inside the input (nested archives joined by `!`), if any.
        entry: Option<String>,
        /// What went wrong, in words a person can act on.
        message: String,
    },
    /// The inputs as a whole were refused (they describe more than one cluster).
    Refused(String),
    /// A command declines what was asked, with the reason and its source (`plan token` on
    /// Harvester, a release below a version gate, an expired CA without `--force`).
    Declined(String),
    /// A text file the user gave (a runbook, a YAML document) does not parse at a place.
    Syntax {
        /// The file as the user named it.
        path: String,
        /// Where.
        span: Span,
        /// What is wrong there.
        message: String,
        /// The source line at `span.line`, shown under the message with a caret; `None` when
        /// the file may hold secrets (bundle and node files never have their text shown).
        source_line: Option<String>,
    },
    /// The output could not be written (`--out FILE`, or standard output).
    Output {
        /// `FILE`, or `standard output`.
        target: String,
        /// The system's reason.
        message: String,
    },
    /// `run`/`resume`: the journal is locked by a live run, unreadable, or `resume` refuses
    /// (the runbook, params or inventory changed since the run began).
    Journal(String),
    /// A bug.
    Internal(String),
}

impl Error {
    /// An [`Error::Input`] for `input` (and `entry` inside it).
    pub fn input(
        input: impl Into<String>,
        entry: Option<String>,
        message: impl Into<String>,
    ) -> Self {
        Error::Input {
            input: input.into(),
            entry,
            message: message.into(),
        }
    }

    /// An [`Error::Syntax`] in `path` at `span`; with `source`, the offending line is kept for the
    /// caret display.
    pub fn syntax(
        path: impl Into<String>,
        source: Option<&str>,
        span: Span,
        message: impl Into<String>,
    ) -> Self {
        Error::Syntax {
            path: path.into(),
            span,
            message: message.into(),
            source_line: source.map(|s| line_of(s, span.line).to_string()),
        }
    }

    /// An [`Error::Output`] writing to `target`.
    pub fn output(target: impl fmt::Display, e: impl fmt::Display) -> Self {
        Error::Output {
            target: target.to_string(),
            message: e.to_string(),
        }
    }

    /// The process exit code for this error (product.md).
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Usage(_)
            | Error::Input { .. }
            | Error::Refused(_)
            | Error::Declined(_)
            | Error::Syntax { .. }
            | Error::Output { .. } => exit::USAGE,
            Error::Journal(_) => exit::JOURNAL_REFUSED,
            Error::Internal(_) => exit::INTERNAL,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Usage(m) | Error::Internal(m) | Error::Journal(m) => f.write_str(m),
            Error::Input {
                input,
                entry: Some(e),
                message,
            } => write!(f, "{input}!{e}: {message}"),
            Error::Input {
                input,
                entry: None,
                message,
            } => write!(f, "{input}: {message}"),
            Error::Refused(reason) => write!(f, "inputs refused: {reason}"),
            Error::Declined(reason) => write!(f, "refused: {reason}"),
            Error::Syntax {
                path,
                span,
                message,
                source_line,
            } => f.write_str(&caret(path, source_line.as_deref(), *span, message)),
            Error::Output { target, message } => write!(f, "{target}: {message}"),
        }
    }
}

impl std::error::Error for Error {}

/// The crate's result type.
pub type Result<T> = std::result::Result<T, Error>;

/// `path:line:col: message`, then the source line at `span` with a `^` under its column, the way
/// rustc and just show them:
///
/// ```text
/// plan.yaml:3:7: unknown step kind
///   |
/// 3 | - do: rotat
///   |       ^
/// ```
///
/// Tabs before the column are repeated in the caret line, so the caret stays under its character
/// in a terminal; a column past the end of the line points just after its last character; a line
/// past the end of the text shows as empty.
pub fn render_caret(path: &str, source_text: &str, span: Span, message: &str) -> String {
    caret(path, Some(line_of(source_text, span.line)), span, message)
}

/// Line `line` (1-based; 0 counts as 1) of `text` without its line ending, or "" past the end.
fn line_of(text: &str, line: usize) -> &str {
    text.split('\n')
        .nth(line.max(1) - 1)
        .map(|l| l.strip_suffix('\r').unwrap_or(l))
        .unwrap_or("")
}

fn caret(path: &str, source_line: Option<&str>, span: Span, message: &str) -> String {
    let head = format!("{path}:{}:{}: {message}", span.line, span.column);
    let Some(src) = source_line else {
        return head;
    };
    let number = span.line.to_string();
    let gutter = " ".repeat(number.len());
    let pad: String = src
        .chars()
        .take(span.column.max(1) - 1)
        .map(|c| if c == '\t' { '\t' } else { ' ' })
        .collect();
    format!("{head}\n{gutter} |\n{number} | {src}\n{gutter} | {pad}^")
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "steps:\n  - do: rotat\n\tkey: x\nlast: line";

    #[test]
    fn caret_sits_under_the_column() {
        let s = render_caret(
            "plan.yaml",
            TEXT,
            Span { line: 2, column: 9 },
            "unknown step",
        );
        assert_eq!(
            s,
            "plan.yaml:2:9: unknown step\n  |\n2 |   - do: rotat\n  |         ^"
        );
    }

    #[test]
    fn caret_repeats_tabs_before_the_column() {
        let s = render_caret("p", TEXT, Span { line: 3, column: 2 }, "tab");
        assert_eq!(s, "p:3:2: tab\n  |\n3 | \tkey: x\n  | \t^");
    }

    #[test]
    fn caret_past_the_end_of_the_line_points_after_it() {
        let s = render_caret("p", "ab\ncd", Span { line: 1, column: 9 }, "m");
        assert_eq!(s, "p:1:9: m\n  |\n1 | ab\n  |   ^");
        let s = render_caret("p", "ab\ncd", Span { line: 1, column: 3 }, "m");
        assert_eq!(s, "p:1:3: m\n  |\n1 | ab\n  |   ^");
    }

    #[test]
    fn caret_on_the_first_and_last_line() {
        let s = render_caret("p", TEXT, Span { line: 1, column: 1 }, "first");
        assert_eq!(s, "p:1:1: first\n  |\n1 | steps:\n  | ^");
        let s = render_caret("p", TEXT, Span { line: 4, column: 7 }, "last");
        assert_eq!(s, "p:4:7: last\n  |\n4 | last: line\n  |       ^");
        // A line past the end (an error at end of input) shows as empty.
        let s = render_caret("p", "a\n", Span { line: 2, column: 1 }, "eof");
        assert_eq!(s, "p:2:1: eof\n  |\n2 | \n  | ^");
    }

    #[test]
    fn caret_gutter_fits_the_line_number_and_drops_carriage_returns() {
        let text = "x\r\n".repeat(11);
        let s = render_caret(
            "p",
            &text,
            Span {
                line: 10,
                column: 1,
            },
            "m",
        );
        assert_eq!(s, "p:10:1: m\n   |\n10 | x\n   | ^");
    }

    #[test]
    fn syntax_error_without_source_is_one_line() {
        let e = Error::syntax("a.yaml", None, Span { line: 3, column: 4 }, "bad");
        assert_eq!(e.to_string(), "a.yaml:3:4: bad");
        let e = Error::syntax(
            "a.yaml",
            Some("x\ny: [\n"),
            Span { line: 2, column: 4 },
            "bad",
        );
        assert_eq!(e.to_string(), "a.yaml:2:4: bad\n  |\n2 | y: [\n  |    ^");
        assert_eq!(e.exit_code(), exit::USAGE);
    }

    #[test]
    fn every_kind_has_its_exit_code_and_sentence() {
        assert_eq!(Error::Usage("u".into()).exit_code(), exit::USAGE);
        assert_eq!(Error::Internal("bug".into()).exit_code(), exit::INTERNAL);
        assert_eq!(
            Error::Refused("two clusters".into()).exit_code(),
            exit::USAGE
        );
        let e = Error::input("b.zip", Some("x/y.yaml".into()), "truncated");
        assert_eq!(
            (e.to_string().as_str(), e.exit_code()),
            ("b.zip!x/y.yaml: truncated", 2)
        );
        assert_eq!(Error::input("dir", None, "gone").to_string(), "dir: gone");
        assert_eq!(
            Error::Refused("two clusters".into()).to_string(),
            "inputs refused: two clusters"
        );
        let e = Error::output("standard output", "broken pipe");
        assert_eq!(
            (e.to_string().as_str(), e.exit_code()),
            ("standard output: broken pipe", 2)
        );
    }
}
