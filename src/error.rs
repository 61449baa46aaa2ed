//! The crate's error type: every error names the input and, where there is one, the entry.

use std::fmt;

/// An error while reading or understanding an input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    /// The input as the user named it (file or directory), or "-" when not tied to an input.
    pub input: String,
    /// The entry inside the input (nested archives joined by `!`), if any.
    pub entry: Option<String>,
    /// What went wrong, in words a person can act on.
    pub message: String,
}

impl Error {
    pub fn new(
        input: impl Into<String>,
        entry: Option<String>,
        message: impl Into<String>,
    ) -> Self {
        Error {
            input: input.into(),
            entry,
            message: message.into(),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.entry {
            Some(e) => write!(f, "{}!{}: {}", self.input, e, self.message),
            None => write!(f, "{}: {}", self.input, self.message),
        }
    }
}

impl std::error::Error for Error {}

pub type Result<T> = std::result::Result<T, Error>;
