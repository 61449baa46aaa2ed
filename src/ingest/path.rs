//! Logical paths of archive entries: decoding of raw names, normalisation inside the archive
//! root, and virtual resolution of link targets. Nothing here touches the file system.

use std::borrow::Cow;

/// Why a name was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PathError {
    /// A NUL byte in the name.
    Nul,
    /// A drive prefix such as `C:`.
    Drive,
    /// A `..` that would leave the archive root.
    Escapes,
}

impl PathError {
    pub(crate) fn describe(self) -> &'static str {
        match self {
            PathError::Nul => "the name contains a NUL byte",
            PathError::Drive => "the name has a drive prefix",
            PathError::Escapes => "a `..` component leaves the archive root",
        }
    }
}

/// Decode a raw entry name: UTF-8 as is, anything else lossily (the flag says it was lossy).
pub(crate) fn decode_name(raw: &[u8]) -> (Cow<'_, str>, bool) {
    match std::str::from_utf8(raw) {
        Ok(s) => (Cow::Borrowed(s), false),
        Err(_) => (String::from_utf8_lossy(raw), true),
    }
}

/// True when the first component looks like a drive (`C:`).
fn has_drive(name: &str) -> bool {
    let b = name.as_bytes();
    b.len() >= 2 && b[0].is_ascii_alphabetic() && b[1] == b':'
}

/// Normalise an entry name: `\` read as `/`, leading `/` and `./` dropped, `.` removed, `..`
/// resolved inside the root. A `..` leaving the root, a NUL or a drive prefix is refused.
/// The root itself normalises to the empty string.
pub(crate) fn normalise(name: &str) -> Result<String, PathError> {
    if name.contains('\0') {
        return Err(PathError::Nul);
    }
    let name = name.replace('\\', "/");
    let trimmed = name.trim_start_matches('/');
    if has_drive(trimmed) {
        return Err(PathError::Drive);
    }
    let mut parts: Vec<&str> = Vec::new();
    for comp in trimmed.split('/') {
        match comp {
            "" | "." => {}
            ".." => {
                if parts.pop().is_none() {
                    return Err(PathError::Escapes);
                }
            }
            c => parts.push(c),
        }
    }
    Ok(parts.join("/"))
}

/// The directory part of a normalised path (`a/b/c` → `a/b`, `c` → ``).
pub(crate) fn parent(path: &str) -> &str {
    match path.rfind('/') {
        Some(i) => &path[..i],
        None => "",
    }
}

/// Resolve a link target virtually inside the archive's own tree.
///
/// `link` is the normalised path of the link inside its archive (no `!` prefix). Symlink
/// targets are relative to the link's directory; hardlink targets are archive paths (relative
/// to the root). Absolute targets, NUL, drive prefixes and `..` leaving the root resolve to
/// `None`: they leave the tree and are never followed.
pub(crate) fn resolve_link(link: &str, target: &str, hard: bool) -> Option<String> {
    if target.is_empty() || target.starts_with('/') || target.starts_with('\\') {
        return None;
    }
    if target.contains('\0') || has_drive(target) {
        return None;
    }
    let joined = if hard || parent(link).is_empty() {
        target.to_string()
    } else {
        format!("{}/{}", parent(link), target)
    };
    match normalise(&joined) {
        Ok(p) if !p.is_empty() => Some(p),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalise_drops_dot_and_leading_slash() {
        assert_eq!(normalise("./a/./b").as_deref(), Ok("a/b"));
        assert_eq!(normalise("/var/lib/x").as_deref(), Ok("var/lib/x"));
        assert_eq!(normalise("a/b/../c").as_deref(), Ok("a/c"));
        assert_eq!(normalise("a//b/").as_deref(), Ok("a/b"));
        assert_eq!(normalise("./").as_deref(), Ok(""));
    }

    #[test]
    fn normalise_refuses_escape_nul_and_drive() {
        assert_eq!(normalise("../../etc/passwd"), Err(PathError::Escapes));
        assert_eq!(normalise("a/../../b"), Err(PathError::Escapes));
        assert_eq!(normalise("a\0b"), Err(PathError::Nul));
        assert_eq!(normalise("C:/Windows"), Err(PathError::Drive));
        assert_eq!(normalise("..\\..\\x"), Err(PathError::Escapes));
    }

    #[test]
    fn links_resolve_inside_the_tree_only() {
        assert_eq!(
            resolve_link(crate::layout::NODE_TOKEN, "token", false).as_deref(),
            Some(crate::layout::SERVER_TOKEN)
        );
        assert_eq!(resolve_link("a/b/l", "../c", false).as_deref(), Some("a/c"));
        assert_eq!(resolve_link("a/l", "/etc/passwd", false), None);
        assert_eq!(resolve_link("a/l", "../../etc/passwd", false), None);
        assert_eq!(resolve_link("a/l", "a/x", true).as_deref(), Some("a/x"));
        assert_eq!(resolve_link("l", "", false), None);
    }
}
