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

/// A capability that arrived in a set of releases (rules.md, "Version gates"), for the
/// rotation planner and simulator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Gate {
    /// What the releases brought, as a sentence names it.
    pub capability: &'static str,
    /// The first release of each minor line that has it.
    pub firsts: &'static [Version],
    /// Where the gate comes from.
    pub source: &'static str,
}

/// `rke2 certificate rotate-ca`.
pub const ROTATE_CA: Gate = Gate::new(
    "`rke2 certificate rotate-ca`",
    &[
        Version(1, 26, 2),
        Version(1, 25, 7),
        Version(1, 24, 11),
        Version(1, 23, 17),
    ],
    "rke2-certificate-management, rotate-ca version gate",
);

/// `rke2 token rotate`.
pub const TOKEN_ROTATE: Gate = Gate::new(
    "`rke2 token rotate`",
    &[
        Version(1, 28, 3),
        Version(1, 27, 7),
        Version(1, 26, 10),
        Version(1, 25, 15),
    ],
    "harvester-certificates, token rotate version gate",
);

/// `rotate-ca` regenerating the supervisor certificate (k3s #12978, the October 2025
/// releases; the rke2 patch versions are taken as v1.34.2, v1.33.6, v1.32.10, v1.31.14).
pub const SUPERVISOR_REGEN: Gate = Gate::new(
    "`rotate-ca` regenerating the supervisor certificate",
    &[
        Version(1, 34, 2),
        Version(1, 33, 6),
        Version(1, 32, 10),
        Version(1, 31, 14),
    ],
    "reference rke2-pki §9 (k3s #12978)",
);

/// Leaf rotation in any order (before: etcd servers, control-plane servers, agents).
pub const LEAF_ANY_ORDER: Gate = Gate::new(
    "leaf rotation in any node order",
    &[
        Version(1, 32, 0),
        Version(1, 31, 5),
        Version(1, 30, 9),
        Version(1, 29, 13),
    ],
    "rke2-certificate-management, rotation order version gate; PKI §9",
);

/// Starting with expired certificates and renewing them (k3s #12472, rke2 June 2025
/// backports; taken as v1.33.2, v1.32.6, v1.31.10, v1.30.14).
pub const EXPIRED_START: Gate = Gate::new(
    "starting with expired certificates and renewing them",
    &[
        Version(1, 33, 2),
        Version(1, 32, 6),
        Version(1, 31, 10),
        Version(1, 30, 14),
    ],
    "reference rke2-pki §9 (k3s #12472)",
);

impl Gate {
    /// A gate: the capability, the first release of each line that has it, the source.
    pub const fn new(
        capability: &'static str,
        firsts: &'static [Version],
        source: &'static str,
    ) -> Gate {
        Gate {
            capability,
            firsts,
            source,
        }
    }

    /// Whether `version` has the capability: `None` when the version is unknown (the caller
    /// takes the older behaviour and says so).
    pub fn has(&self, version: Option<&str>) -> Option<bool> {
        version
            .and_then(Version::parse)
            .map(|v| at_or_after(v, self.firsts))
    }

    /// The releases as a sentence lists them.
    pub fn releases(&self) -> String {
        let v: Vec<String> = self
            .firsts
            .iter()
            .map(|f| format!("v{}.{}.{}", f.0, f.1, f.2))
            .collect();
        v.join(", ")
    }
}
