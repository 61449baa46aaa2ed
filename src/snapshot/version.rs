//! Kubernetes / rke2 version strings (`v1.21.7+rke2r1`): parsing, ordering, and reading
//! `rke2 --version` output (`commands/rke2-version.txt`).

use std::cmp::Ordering;

/// A parsed `vMAJOR.MINOR.PATCH[+rke2rN]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct KubeVersion {
    pub major: u32,
    pub minor: u32,
    pub patch: u32,
    /// The `rN` of `+rke2rN`, 0 when absent.
    pub rke2_release: u32,
}

impl KubeVersion {
    /// Parse `v1.21.7+rke2r1`, `1.21.7`, `v1.28.10-rc1+rke2r2` (pre-release text ignored).
    pub fn parse(s: &str) -> Option<KubeVersion> {
        let s = s.trim();
        let s = s.strip_prefix('v').unwrap_or(s);
        let (core, build) = match s.split_once('+') {
            Some((c, b)) => (c, Some(b)),
            None => (s, None),
        };
        let core = core.split('-').next().unwrap_or(core);
        let mut it = core.split('.');
        let major = it.next()?.parse().ok()?;
        let minor = it.next()?.parse().ok()?;
        let patch = it.next().unwrap_or("0").parse().ok()?;
        let rke2_release = build
            .and_then(|b| b.strip_prefix("rke2r"))
            .and_then(|r| {
                let digits: String = r.chars().take_while(|c| c.is_ascii_digit()).collect();
                digits.parse().ok()
            })
            .unwrap_or(0);
        Some(KubeVersion {
            major,
            minor,
            patch,
            rke2_release,
        })
    }

    /// Order two version strings; unparsable strings sort first (treated as oldest), ties by
    /// text.
    pub fn cmp_str(a: &str, b: &str) -> Ordering {
        KubeVersion::parse(a)
            .cmp(&KubeVersion::parse(b))
            .then_with(|| a.cmp(b))
    }
}

/// The version in `rke2 --version` output: `rke2 version v1.28.10+rke2r1 (0f3ea9a…)`.
pub fn rke2_version_from_text(text: &str) -> Option<String> {
    for line in text.lines() {
        for word in line.split_whitespace() {
            if word.starts_with('v') && word.contains("+rke2") && KubeVersion::parse(word).is_some()
            {
                return Some(word.to_string());
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_order() {
        let v = KubeVersion::parse("v1.21.7+rke2r1");
        assert_eq!(
            v,
            Some(KubeVersion {
                major: 1,
                minor: 21,
                patch: 7,
                rke2_release: 1
            })
        );
        assert_eq!(
            KubeVersion::cmp_str("v1.21.10+rke2r1", "v1.21.7+rke2r2"),
            Ordering::Greater
        );
        assert_eq!(
            rke2_version_from_text("rke2 version v1.28.10+rke2r1 (0f3e)\ngo version go1.21\n"),
            Some("v1.28.10+rke2r1".into())
        );
    }
}
