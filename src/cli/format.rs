//! The one set of `-o/--output` names every command draws from: `text`, `table`, `json`,
//! `yaml`, `csv`, `sarif`, `dot`, `mermaid`, `html`. Each command offers the ones that make sense for
//! it ([`FormatParser`] with its list); `text` and `table` name the same human view, so a
//! command that has one accepts both. An unknown name is a usage error (exit 2) that lists the
//! command's own names.

use clap::builder::{PossibleValue, TypedValueParser};

/// An output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Lines for people (`table` where the view is a table).
    Text,
    Table,
    Json,
    /// The JSON document as YAML (same keys, same order).
    Yaml,
    Csv,
    /// SARIF 2.1.0, for code-scanning viewers.
    Sarif,
    Dot,
    Mermaid,
    /// One self-contained HTML page.
    Html,
}

impl Format {
    pub const ALL: [Format; 9] = [
        Format::Text,
        Format::Table,
        Format::Json,
        Format::Yaml,
        Format::Csv,
        Format::Sarif,
        Format::Dot,
        Format::Mermaid,
        Format::Html,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Format::Text => "text",
            Format::Table => "table",
            Format::Json => "json",
            Format::Yaml => "yaml",
            Format::Csv => "csv",
            Format::Sarif => "sarif",
            Format::Dot => "dot",
            Format::Mermaid => "mermaid",
            Format::Html => "html",
        }
    }

    /// True for the human view, whichever of its two names was given.
    pub fn is_human(self) -> bool {
        matches!(self, Format::Text | Format::Table)
    }

    fn help(self) -> &'static str {
        match self {
            Format::Text | Format::Table => "for people (`text` and `table` are the same view)",
            Format::Json => "JSON",
            Format::Yaml => "the JSON document as YAML",
            Format::Csv => "comma-separated values (RFC 4180), one row per item",
            Format::Sarif => "SARIF 2.1.0, for code-scanning viewers",
            Format::Dot => "Graphviz dot",
            Format::Mermaid => "a Mermaid flowchart",
            Format::Html => {
                "one self-contained HTML page: summary, findings, certificate timeline, trust graph"
            }
        }
    }
}

/// The `-o` parser of a command: the formats it offers, in the order its help lists them.
#[derive(Debug, Clone, Copy)]
pub struct FormatParser(pub &'static [Format]);

impl FormatParser {
    fn offered(&self, f: Format) -> bool {
        self.0.contains(&f) || (f.is_human() && self.0.iter().any(|o| o.is_human()))
    }
}

impl TypedValueParser for FormatParser {
    type Value = Format;

    fn parse_ref(
        &self,
        cmd: &clap::Command,
        arg: Option<&clap::Arg>,
        value: &std::ffi::OsStr,
    ) -> Result<Format, clap::Error> {
        let given = value.to_string_lossy();
        match Format::ALL
            .into_iter()
            .find(|f| f.name() == given && self.offered(*f))
        {
            Some(f) => Ok(f),
            None => {
                let arg = arg.map(|a| a.to_string()).unwrap_or_else(|| "-o".into());
                let names: Vec<&str> = self.0.iter().map(|f| f.name()).collect();
                let mut err = clap::Error::new(clap::error::ErrorKind::InvalidValue).with_cmd(cmd);
                use clap::error::{ContextKind, ContextValue};
                err.insert(ContextKind::InvalidArg, ContextValue::String(arg));
                err.insert(
                    ContextKind::InvalidValue,
                    ContextValue::String(given.into_owned()),
                );
                err.insert(
                    ContextKind::ValidValue,
                    ContextValue::Strings(names.iter().map(|s| s.to_string()).collect()),
                );
                Err(err)
            }
        }
    }

    fn possible_values(&self) -> Option<Box<dyn Iterator<Item = PossibleValue> + '_>> {
        Some(Box::new(
            self.0
                .iter()
                .map(|f| PossibleValue::new(f.name()).help(f.help())),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::{Arg, Command};

    fn cmd(offered: &'static [Format], default: &'static str) -> Command {
        Command::new("t").arg(
            Arg::new("output")
                .short('o')
                .long("output")
                .default_value(default)
                .value_parser(FormatParser(offered)),
        )
    }

    #[test]
    fn text_and_table_name_the_one_human_view() {
        const F: &[Format] = &[Format::Table, Format::Json];
        let m = cmd(F, "table")
            .try_get_matches_from(["t", "-o", "text"])
            .unwrap();
        assert!(m.get_one::<Format>("output").unwrap().is_human());
        let m = cmd(F, "table").try_get_matches_from(["t"]).unwrap();
        assert_eq!(m.get_one::<Format>("output"), Some(&Format::Table));
    }

    #[test]
    fn an_unknown_or_unoffered_name_is_a_usage_error_listing_the_commands_names() {
        const F: &[Format] = &[Format::Text, Format::Json, Format::Yaml];
        for bad in ["nope", "dot", "sarif"] {
            let e = cmd(F, "text")
                .try_get_matches_from(["t", "-o", bad])
                .unwrap_err();
            assert_eq!(e.kind(), clap::error::ErrorKind::InvalidValue);
            assert_eq!(e.exit_code(), 2);
            let msg = e.to_string();
            assert!(msg.contains(bad), "{msg}");
            assert!(msg.contains("text, json, yaml"), "{msg}");
        }
    }
}
