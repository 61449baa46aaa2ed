//! Version gates of rules.md: which RKE2 (and Harvester) behaviour applies to a given version. An unknown version
//! takes the older behaviour, and the caller says so.

/// A parsed `v1.33.5+rke2r1`-style version: (major, minor, patch).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Version(pub u32, pub u32, pub u32);

impl Version {
    /// Parse `v1.33.5+rke2r1`, `1.33.5`, `v1.21.7+rke2r1` (the suffix is ignored).
    pub fn parse(s: &str) -> Option<Version> {
        let s = s.trim().trim_start_matches('v');
        let core = s.split(['+', '-', ' ']).next()?;
        let mut it = core.split('.');
        let major = it.next()?.parse().ok()?;
        let minor = it.next()?.parse().ok()?;
        let patch = it.next().unwrap_or("0").parse().ok()?;
        Some(Version(major, minor, patch))
    }
}

/// True when `v` is at or past the gate: the first release of its minor line in `firsts`, or any
/// later minor than the newest line listed.
fn at_or_after(v: Version, firsts: &[Version]) -> bool {
    let newest_minor = firsts.iter().map(|f| (f.0, f.1)).max();
    if let Some((maj, min)) = newest_minor
        && (v.0, v.1) > (maj, min)
    {
        return true;
    }
    firsts
        .iter()
        .any(|f| f.0 == v.0 && f.1 == v.1 && v.2 >= f.2)
}

/// The renew window of `rke2 certificate check` and of renewal at start: 120 days from the May
/// 2025 releases (v1.33.1, v1.32.5, v1.31.9, v1.30.13), 90 days before.
pub fn renew_window_days(rke2_version: Option<&str>) -> (u32, String) {
    const GATE: [Version; 4] = [
        Version(1, 33, 1),
        Version(1, 32, 5),
        Version(1, 31, 9),
        Version(1, 30, 13),
    ];
    match rke2_version.and_then(|s| Version::parse(s).map(|v| (s, v))) {
        Some((s, v)) if at_or_after(v, &GATE) => (
            120,
            format!("rke2 {s} is at or past v1.33.1/v1.32.5/v1.31.9/v1.30.13 (120 days)"),
        ),
        Some((s, _)) => (
            90,
            format!("rke2 {s} predates the May 2025 releases (90 days)"),
        ),
        None => (
            90,
            "rke2 version unknown: the older 90-day window is assumed".to_string(),
        ),
    }
}

/// Whether Harvester has the `auto-rotate-rke2-certs` setting (v1.3.0 and later): `Ok` with
/// the version that has it, `Err` with why it does not apply (an older version, or an unknown
/// one, taken as older).
pub fn auto_rotate_setting(harvester_version: Option<&str>) -> Result<String, String> {
    const GATE: [Version; 1] = [Version(1, 3, 0)];
    match harvester_version.and_then(|s| Version::parse(s).map(|v| (s, v))) {
        Some((s, v)) if at_or_after(v, &GATE) => Ok(format!("Harvester {s}")),
        Some((s, _)) => Err(format!(
            "Harvester {s} predates the auto-rotate-rke2-certs setting (v1.3.0)"
        )),
        None => Err(
            "Harvester version unknown: taken as older than v1.3.0, which added the auto-rotate-rke2-certs setting"
                .to_string(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renew_window_follows_the_may_2025_gate() {
        assert_eq!(renew_window_days(Some("v1.33.1+rke2r1")).0, 120);
        assert_eq!(renew_window_days(Some("v1.33.0+rke2r1")).0, 90);
        assert_eq!(renew_window_days(Some("v1.32.5+rke2r1")).0, 120);
        assert_eq!(renew_window_days(Some("v1.32.4+rke2r1")).0, 90);
        assert_eq!(renew_window_days(Some("v1.30.13+rke2r1")).0, 120);
        assert_eq!(renew_window_days(Some("v1.34.2+rke2r1")).0, 120);
        assert_eq!(renew_window_days(Some("v1.29.15+rke2r1")).0, 90);
        assert_eq!(renew_window_days(Some("v1.21.7+rke2r1")).0, 90);
        let (d, why) = renew_window_days(None);
        assert_eq!(d, 90);
        assert!(why.contains("unknown"));
    }

    #[test]
    fn auto_rotate_setting_from_harvester_1_3_0() {
        assert!(auto_rotate_setting(Some("v1.3.0")).is_ok());
        assert!(auto_rotate_setting(Some("v1.6.1")).is_ok());
        assert!(auto_rotate_setting(Some("v2.0.0")).is_ok());
        assert!(auto_rotate_setting(Some("v1.2.2")).is_err());
        assert!(auto_rotate_setting(Some("v1.0.1")).is_err());
        let why = auto_rotate_setting(None).err().unwrap_or_default();
        assert!(why.contains("unknown"), "{why}");
    }

    #[test]
    fn version_parse_ignores_suffixes() {
        assert_eq!(Version::parse("v1.21.7+rke2r1"), Some(Version(1, 21, 7)));
        assert_eq!(Version::parse("1.33"), Some(Version(1, 33, 0)));
        assert_eq!(Version::parse("banana"), None);
    }
}
