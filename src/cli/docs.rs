//! `harrow completions SHELL` and `harrow man`: the shell completion scripts and the manual
//! pages, generated from the same clap definition the parser uses, so they never drift from it.

use std::path::PathBuf;

use clap::{Args, CommandFactory};

use super::Cli;
use super::common::write_out;
use crate::error::{Error, Result};

/// Print the completion script for a shell.
#[derive(Debug, Clone, Args)]
#[command(
    after_help = "Examples:\n  harrow completions bash > /etc/bash_completion.d/harrow\n  harrow completions zsh > \"${fpath[1]}/_harrow\"\n  harrow completions fish > ~/.config/fish/completions/harrow.fish"
)]
pub struct CompletionsArgs {
    /// The shell to complete for.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

/// Print the manual page, or write one page per command into a directory.
#[derive(Debug, Clone, Args)]
#[command(
    after_help = "Examples:\n  harrow man | man -l -\n  harrow man --out-dir /usr/local/share/man/man1"
)]
pub struct ManArgs {
    /// Write `harrow.1` and `harrow-COMMAND.1` into DIR instead of printing `harrow.1`.
    #[arg(long, value_name = "DIR")]
    pub out_dir: Option<PathBuf>,
}

pub(super) fn completions(a: CompletionsArgs) -> Result<i32> {
    let mut cmd = Cli::command();
    let mut buf = Vec::new();
    clap_complete::generate(a.shell, &mut cmd, "harrow", &mut buf);
    write_out(None, &buf)?;
    Ok(super::exit::OK)
}

pub(super) fn man(a: ManArgs) -> Result<i32> {
    let cmd = Cli::command();
    match a.out_dir {
        None => {
            let mut buf = Vec::new();
            clap_mangen::Man::new(cmd)
                .render(&mut buf)
                .map_err(|e| Error::output("standard output", e))?;
            write_out(None, &buf)?;
        }
        Some(dir) => {
            std::fs::create_dir_all(&dir).map_err(|e| Error::output(dir.display(), e))?;
            clap_mangen::generate_to(cmd, &dir).map_err(|e| Error::output(dir.display(), e))?;
        }
    }
    Ok(super::exit::OK)
}
