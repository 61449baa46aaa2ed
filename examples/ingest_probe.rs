//! `ingest_probe`: read inputs with `harrow::ingest::read_input` and print what came out (files,
//! logs, links, issues, timing). For poking at real bundles and for benchmarks:
//!
//! ```text
//! cargo run --release --example ingest_probe -- bundle.zip [node.tgz ...]
//! ```
//!
//! The selector loads `*.yaml`, `*.yml`, `*.crt`, `*.pem`, `*.key`, `*.json`, `*token*`,
//! `*.conf`, `*.txt`; scans `*.log`; and descends into `*.zip`, `*.txz`, `*.tgz`, `*.tar.gz`,
//! `*.tar.xz`, `*.tar`. `INGEST_PROBE_SKIP_LOGS=1` skips the logs instead (pure decode cost).

// A probe: printing is its job.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::io::Write;
use std::path::Path;
use std::time::Instant;

use harrow::ingest::{Budget, Limits, Selector, Want, read_input};

struct Probe;

impl Selector for Probe {
    fn want(&self, p: &str) -> Want {
        let last = p.rsplit('!').next().unwrap_or(p);
        let base = last.rsplit('/').next().unwrap_or(last);
        let ends = |xs: &[&str]| xs.iter().any(|s| base.ends_with(s));
        if ends(&[".zip", ".txz", ".tgz", ".tar.gz", ".tar.xz", ".tar"]) {
            Want::Nested
        } else if ends(&[
            ".yaml", ".yml", ".crt", ".pem", ".key", ".json", ".conf", ".txt",
        ]) || base.contains("token")
        {
            Want::Load
        } else if base.ends_with(".log") && std::env::var_os("INGEST_PROBE_SKIP_LOGS").is_none() {
            Want::Scan
        } else {
            Want::Skip
        }
    }
    fn needles(&self) -> &[&str] {
        &["certificate", "x509", "expired"]
    }
}

fn main() {
    if let Err(e) = run()
        && e.kind() != std::io::ErrorKind::BrokenPipe
    {
        eprintln!("ingest_probe: {e}");
        std::process::exit(1);
    }
}

fn run() -> std::io::Result<()> {
    let limits = Limits::default();
    let budget = Budget::new();
    let mut out = std::io::stdout().lock();
    for arg in std::env::args().skip(1) {
        let start = Instant::now();
        let t = read_input(Path::new(&arg), &limits, &Probe, &budget);
        let took = start.elapsed();
        writeln!(
            out,
            "{}: {:?} sha256={} size={} seen={} files={} loaded={} logs={} links={} issues={} in {:.3}s",
            t.name,
            t.container,
            t.sha256,
            t.size,
            t.seen.len(),
            t.files.len(),
            t.loaded_bytes,
            t.logs.len(),
            t.links.len(),
            t.issues.len(),
            took.as_secs_f64()
        )?;
        for (p, l) in &t.logs {
            writeln!(
                out,
                "  log {p}: {} bytes, {} lines, {} matches{}",
                l.bytes,
                l.lines,
                l.matches.len(),
                if l.incomplete { " (incomplete)" } else { "" }
            )?;
        }
        for l in t.links.values() {
            writeln!(out, "  link {} -> {} ({:?})", l.path, l.target, l.resolved)?;
        }
        for i in &t.issues {
            writeln!(out, "  issue {:?}: {}", i.kind, i.message)?;
        }
    }
    Ok(())
}
