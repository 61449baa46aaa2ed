//! `harrow explain CODE`: one rule's page (what it reads and reports, why it matters, what to do,
//! when it is not evaluable, its sources), as `cargo --explain` prints an error's.

use clap::Args;

use crate::checks::registry;
use crate::error::{Error, Result};
use crate::report;

/// Print the documentation of one rule.
#[derive(Debug, Clone, Args)]
#[command(after_help = "Examples:\n  harrow explain CERT002\n  harrow explain token001")]
pub struct ExplainArgs {
    /// The rule's code (`CERT002`; case does not matter).
    #[arg(value_name = "CODE")]
    pub code: String,
}

pub(super) fn run(a: ExplainArgs) -> Result<i32> {
    let code = a.code.trim().to_ascii_uppercase();
    let Some(rule) = registry::rule(&code) else {
        let family: String = code.chars().take_while(char::is_ascii_alphabetic).collect();
        let same: Vec<&str> = registry::RULES
            .iter()
            .map(|r| r.code)
            .filter(|c| !family.is_empty() && c.starts_with(&family))
            .collect();
        let hint = if same.is_empty() {
            "`harrow rules` lists every code".to_string()
        } else {
            format!("{family} rules: {}", same.join(", "))
        };
        return Err(Error::Usage(format!("no rule {:?}; {hint}", a.code)));
    };
    super::common::write_out(None, report::rules::doc_page(rule).as_bytes())?;
    Ok(super::exit::OK)
}
