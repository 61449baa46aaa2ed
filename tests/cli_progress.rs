//! The progress display: on a terminal (a pseudo-terminal made by util-linux `script`) reading
//! inputs shows the indicatif line with entries, bytes and certificates; `--quiet`, or standard
//! output or error not being a terminal, shows nothing.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stderr
)]

mod support;

const DEMO_BUNDLE: &str =
    "bundles/demo/supportbundle_4f7c2a9e-3b1d-4e58-9a6f-0c2d8e1b7a53_2026-11-20T10-00-00Z.zip";

/// What a terminal shows when harrow runs with these arguments in a pseudo-terminal.
fn on_a_terminal(args: &str) -> String {
    support::on_a_terminal_in(&support::root(), args, &[])
}

#[test]
fn a_terminal_session_shows_entries_bytes_and_certificates() {
    let shown = on_a_terminal(&format!("analyze --fail-on none {DEMO_BUNDLE}"));
    assert!(shown.contains("reading: "), "{shown}");
    assert!(shown.contains(" entries, "), "{shown}");
    assert!(shown.contains("certificates parsed"), "{shown}");
    // The report itself is still there after the display is cleared.
    assert!(shown.contains("rules:"), "{shown}");
}

#[test]
fn quiet_shows_no_progress() {
    let shown = on_a_terminal(&format!("analyze --quiet --fail-on none {DEMO_BUNDLE}"));
    assert!(!shown.contains("reading: "), "{shown}");
    assert!(shown.contains("rules:"), "{shown}");
}

#[test]
fn no_progress_when_the_output_is_not_a_terminal() {
    // Standard output redirected inside the terminal session: no display.
    let shown = on_a_terminal(&format!("certs {DEMO_BUNDLE} -o csv > /dev/null"));
    assert!(!shown.contains("reading: "), "{shown}");
    // Plain pipes (as in scripts and CI): nothing on standard error but the command's own.
    let run = support::Test::new()
        .args(["analyze", "--fail-on", "none", DEMO_BUNDLE])
        .run()
        .code(0);
    assert!(!run.stderr.contains("reading: "), "{}", run.stderr);
}
