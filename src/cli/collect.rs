//! `harrow collect --out FILE`: writes this node's air-gapped snapshot (tar.gz: `snapshot.yaml`,
//! host files, `commands/*.txt`), private keys replaced by `.pub-fingerprint` files unless
//! `--include-private-keys`, secrets by keyed fingerprints. `--root DIR` reads a copy of a node's
//! tree; `--no-commands` and `--commands-dir DIR` (canned `<name>.txt` outputs) keep the commands
//! of this machine out of it (tests).

use std::path::PathBuf;

use clap::Args;

use super::common::write_out;
use super::redact::{fingerprint_key, write_atomically};
use crate::error::{Error, Result};
use crate::export::collect::{self, Commands, Options};

/// Write this node's snapshot (the air-gapped layout `analyze` reads).
#[derive(Debug, Clone, Args)]
#[command(
    after_help = "Examples:\n  harrow collect --out /tmp/$(hostname).tgz\n  harrow collect --root /mnt/node1 --node node1 --no-commands --out node1.tgz"
)]
pub struct CollectArgs {
    /// The snapshot to write (tar.gz).
    #[arg(long = "out", value_name = "FILE")]
    pub out: PathBuf,
    /// Read the host files under DIR instead of `/` (a copy of a node's tree).
    #[arg(long, value_name = "DIR", default_value = "/")]
    pub root: PathBuf,
    /// Keep private keys instead of replacing them by `.pub-fingerprint` files.
    #[arg(long)]
    pub include_private_keys: bool,
    /// The node's name (default: `etc/hostname` under the root).
    #[arg(long, value_name = "NAME")]
    pub node: Option<String>,
    /// Collection time written to snapshot.yaml: now, or an RFC 3339 instant.
    #[arg(long, value_name = "WHEN", default_value = "now")]
    pub at: String,
    /// Run no command (no commands/*.txt).
    #[arg(long, conflicts_with = "commands_dir")]
    pub no_commands: bool,
    /// Take each command's output from `DIR/NAME.txt` instead of running it.
    #[arg(long, value_name = "DIR")]
    pub commands_dir: Option<PathBuf>,
    /// Key file for the fingerprints that replace secrets (compare nodes collected with the same
    /// key); without it, a random key.
    #[arg(long, value_name = "FILE")]
    pub fingerprint_key: Option<PathBuf>,
    /// Logs bigger than this are left out.
    #[arg(long, value_name = "BYTES", default_value_t = 16 << 20)]
    pub max_log_bytes: u64,
}

pub(super) fn run(a: CollectArgs) -> Result<i32> {
    if !a.root.is_dir() {
        return Err(Error::Usage(format!(
            "--root {} is not a directory",
            a.root.display()
        )));
    }
    if a.out.is_dir() {
        return Err(Error::Usage(format!(
            "--out {} is a directory: name a file",
            a.out.display()
        )));
    }
    let at = if a.at == "now" {
        time::OffsetDateTime::now_utc()
    } else {
        crate::timefmt::parse_rfc3339(&a.at).ok_or_else(|| {
            Error::Usage(format!(
                "--at {:?}: give now or an RFC 3339 instant such as 2026-11-20T10:00:00Z",
                a.at
            ))
        })?
    };
    let commands = match (&a.commands_dir, a.no_commands) {
        (Some(d), _) => Commands::Canned(d.clone()),
        (None, true) => Commands::None,
        (None, false) => Commands::Run,
    };
    let opts = Options {
        root: a.root.clone(),
        node: a.node.clone(),
        at,
        include_private_keys: a.include_private_keys,
        commands,
        max_log_bytes: a.max_log_bytes,
        max_file_bytes: 64 << 20,
    };
    let key = fingerprint_key(a.fingerprint_key.as_deref())?;
    let report = write_atomically(&a.out, |file| {
        collect::collect(&opts, key, file).map_err(|e| Error::output(a.out.display(), e))
    })?;
    for p in &report.problems {
        super::warn(
            "collect",
            &Error::input(a.root.display().to_string(), None, p),
        );
    }
    let mut s = format!(
        "collected node {} ({}, rke2 {}) into {}: {} entries, {} replaced, {} left out\n",
        report.node,
        report.role,
        report.rke2_version,
        a.out
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
        report.entries,
        report.replaced.len(),
        report.skipped.len()
    );
    for (path, with, reason) in &report.replaced {
        s.push_str(&format!("  {:<12} {path}", reason.as_str()));
        if let Some(w) = with {
            s.push_str(&format!(" -> {}", crate::layout::file_name(w)));
        }
        s.push('\n');
    }
    for (path, why) in &report.skipped {
        s.push_str(&format!("  left out     {path} ({why})\n"));
    }
    write_out(None, s.as_bytes())?;
    Ok(super::exit::OK)
}
