//! Areas of a node's host file system, declared as segment patterns: the rke2 server and agent
//! trees and the parts of them that hold no credentials, the staged custom-CA tree, the Rancher
//! and `/oem` configs, the host files that name the node, the rke2 unit environment files.
//!
//! The analysis selector ([`crate::snapshot::selector`]) decides what to load from an ordered
//! list of these areas; the token sources use [`UNIT_ENV_FILES`] to recognise the environment
//! files the selector loaded.

/// One segment of a host path pattern.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Seg {
    /// Exactly this segment.
    Is(&'static str),
    /// One of these segments.
    OneOf(&'static [&'static str]),
    /// Any one segment.
    Any,
    /// A segment that starts with `prefix` and ends with `suffix` (either may be empty).
    Named {
        prefix: &'static str,
        suffix: &'static str,
    },
    /// Zero or more further segments (last in a pattern only).
    Rest,
}

impl Seg {
    fn matches(self, seg: &str) -> bool {
        match self {
            Seg::Is(s) => seg == s,
            Seg::OneOf(list) => list.contains(&seg),
            Seg::Any | Seg::Rest => true,
            Seg::Named { prefix, suffix } => seg.starts_with(prefix) && seg.ends_with(suffix),
        }
    }
}

/// A host path pattern: segments matched one for one, unless the last is [`Seg::Rest`].
pub type Pattern = &'static [Seg];

fn pattern_matches(pattern: Pattern, segs: &[&str]) -> bool {
    match pattern.split_last() {
        Some((Seg::Rest, head)) => {
            segs.len() >= head.len() && head.iter().zip(segs).all(|(p, s)| p.matches(s))
        }
        _ => segs.len() == pattern.len() && pattern.iter().zip(segs).all(|(p, s)| p.matches(s)),
    }
}

/// A named area of the host: the patterns its paths match, and what RKE2 or Harvester keeps
/// there.
#[derive(Debug, Clone, Copy)]
pub struct Area {
    pub name: &'static str,
    pub patterns: &'static [Pattern],
    pub what: &'static str,
}

impl Area {
    /// True when a host path, split into its segments, lies in the area.
    pub fn matches(&self, segs: &[&str]) -> bool {
        self.patterns.iter().any(|p| pattern_matches(p, segs))
    }

    /// True when a host path (`/`-separated, no leading `/`) lies in the area.
    pub fn matches_path(&self, host: &str) -> bool {
        let segs: Vec<&str> = host.split('/').filter(|s| !s.is_empty()).collect();
        self.matches(&segs)
    }
}

const RKE2: [Seg; 4] = [
    Seg::Is("var"),
    Seg::Is("lib"),
    Seg::Is("rancher"),
    Seg::Is("rke2"),
];

/// Splice the data directory's segments in front of a pattern tail.
macro_rules! data {
    ($($seg:expr),* $(,)?) => {
        &[RKE2[0], RKE2[1], RKE2[2], RKE2[3], $($seg),*]
    };
}

/// Everything under the rke2 data directory (`var/lib/rancher/rke2/**`).
pub const DATA_TREE: Area = Area {
    name: "rke2 data directory",
    patterns: &[data![Seg::Rest]],
    what: "server/, agent/, data/ (binaries), bin/",
};

/// The parts of `server/` without credentials: `db/` (etcd data), `manifests/` (add-ons),
/// `static/` (charts), `logs/` (audit logs).
pub const SERVER_BULK: Area = Area {
    name: "rke2 server data",
    patterns: &[data![
        Seg::Is("server"),
        Seg::OneOf(&["db", "manifests", "static", "logs"]),
        Seg::Rest,
    ]],
    what: "etcd data, deployed manifests, charts, audit logs",
};

/// The server tree below `server/`: `tls/`, `cred/`, tokens, the rotation trees.
pub const SERVER_TREE: Area = Area {
    name: "rke2 server tree",
    patterns: &[data![Seg::Is("server"), Seg::Any, Seg::Rest]],
    what: "tls/ (PKI), cred/ (kubeconfigs, passwd), token, agent-token, rotate-ca/, tls-<unix>/",
};

/// The files directly in `agent/`: the CA copies, the kubelet, kube-proxy and rke2-controller
/// certificates and keys, their kubeconfigs.
pub const AGENT_FILES: Area = Area {
    name: "rke2 agent files",
    patterns: &[data![Seg::Is("agent"), Seg::Any]],
    what: "server-ca.crt, client-ca.crt, client-kubelet.crt, serving-kubelet.crt, *.kubeconfig",
};

/// The agent subtrees with configuration or credentials: `pod-manifests/` (static pods and
/// their flags), `etc/` (containerd and kubelet config), `tls-<unix>/` backups (`tls*` by name).
pub const AGENT_SUBTREES: Area = Area {
    name: "rke2 agent subtrees",
    patterns: &[
        data![
            Seg::Is("agent"),
            Seg::OneOf(&["pod-manifests", "etc"]),
            Seg::Any,
            Seg::Rest,
        ],
        data![
            Seg::Is("agent"),
            Seg::Named {
                prefix: "tls",
                suffix: ""
            },
            Seg::Any,
            Seg::Rest,
        ],
    ],
    what: "static pod manifests, agent config, certificate backups",
};

/// `opt/rke2/server/**`: custom-CA material staged for `rke2 certificate rotate-ca`.
pub const CUSTOM_CA_STAGING: Area = Area {
    name: "staged custom CA",
    patterns: &[&[
        Seg::Is("opt"),
        Seg::Is("rke2"),
        Seg::Is("server"),
        Seg::Any,
        Seg::Rest,
    ]],
    what: "CA certificates and keys prepared for rotate-ca",
};

/// `etc/rancher/**`: rke2's config and drop-ins, rancherd's, the node password, the Rancher
/// system agent's.
pub const RANCHER_CONFIG: Area = Area {
    name: "Rancher configs",
    patterns: &[&[Seg::Is("etc"), Seg::Is("rancher"), Seg::Any, Seg::Rest]],
    what: "rke2/config.yaml(.d), rke2/rke2.yaml, rancherd/, node/password, agent/",
};

/// `oem/**`: Harvester's cloud-init stage files.
pub const OEM: Area = Area {
    name: "Harvester /oem",
    patterns: &[&[Seg::Is("oem"), Seg::Any, Seg::Rest]],
    what: "90_custom.yaml, 99_settings.yaml, harvester.config, install/console.log",
};

/// Host files that name the node and its OS, its users and kernel settings.
pub const HOST_FILES: Area = Area {
    name: "host identity files",
    patterns: &[
        &[
            Seg::Is("etc"),
            Seg::OneOf(&[
                "passwd",
                "group",
                "hostname",
                "os-release",
                "harvester-release.yaml",
                "sysctl.conf",
            ]),
        ],
        &[
            Seg::Is("etc"),
            Seg::Is("sysctl.d"),
            Seg::Named {
                prefix: "",
                suffix: ".conf",
            },
        ],
    ],
    what: "passwd, group, hostname, os-release, harvester-release.yaml, sysctl",
};

/// A unit directory's segments followed by `systemd/system/rke2-*.env`.
macro_rules! beside_units {
    ($($seg:expr),* $(,)?) => {
        &[
            $($seg,)*
            Seg::Is("systemd"),
            Seg::Is("system"),
            Seg::Named {
                prefix: "rke2-",
                suffix: ".env",
            },
        ]
    };
}

/// The rke2 unit environment files (`RKE2_TOKEN=`, `RKE2_TOKEN_FILE=`, …): `rke2-*.env` beside
/// the units (`/etc/systemd/system`, `/usr/local/lib/systemd/system` for tarball installs,
/// `/usr/lib/systemd/system` for RPM installs) and the units' `EnvironmentFile=-/etc/default/%N`
/// and `-/etc/sysconfig/%N`.
pub const UNIT_ENV_FILES: Area = Area {
    name: "rke2 unit environment files",
    patterns: &[
        beside_units![Seg::Is("etc")],
        beside_units![Seg::Is("usr"), Seg::Is("local"), Seg::Is("lib")],
        beside_units![Seg::Is("usr"), Seg::Is("lib")],
        &[
            Seg::Is("etc"),
            Seg::OneOf(&["default", "sysconfig"]),
            Seg::Named {
                prefix: "rke2-",
                suffix: "",
            },
        ],
    ],
    what: "rke2-server.env, rke2-agent.env, /etc/default/rke2-*, /etc/sysconfig/rke2-*",
};

#[cfg(test)]
mod tests {
    use super::*;

    fn s(p: &str) -> Vec<&str> {
        p.split('/').collect()
    }

    #[test]
    fn patterns_match_segment_for_segment() {
        assert!(DATA_TREE.matches(&s("var/lib/rancher/rke2")));
        assert!(DATA_TREE.matches(&s("var/lib/rancher/rke2/data/v1/bin/kubectl")));
        assert!(!DATA_TREE.matches(&s("var/lib/rancher")));
        assert!(SERVER_BULK.matches(&s("var/lib/rancher/rke2/server/db")));
        assert!(SERVER_BULK.matches(&s("var/lib/rancher/rke2/server/manifests/x.yaml")));
        assert!(!SERVER_BULK.matches(&s("var/lib/rancher/rke2/server/tls/x.crt")));
        assert!(SERVER_TREE.matches(&s("var/lib/rancher/rke2/server/token")));
        assert!(!SERVER_TREE.matches(&s("var/lib/rancher/rke2/server")));
        assert!(AGENT_FILES.matches(&s("var/lib/rancher/rke2/agent/server-ca.crt")));
        assert!(!AGENT_FILES.matches(&s("var/lib/rancher/rke2/agent/etc/x")));
        assert!(AGENT_SUBTREES.matches(&s("var/lib/rancher/rke2/agent/etc/x")));
        assert!(AGENT_SUBTREES.matches(&s("var/lib/rancher/rke2/agent/tls-17/x.crt")));
        assert!(!AGENT_SUBTREES.matches(&s("var/lib/rancher/rke2/agent/pod-manifests")));
        assert!(!AGENT_SUBTREES.matches(&s("var/lib/rancher/rke2/agent/containerd/x")));
        assert!(CUSTOM_CA_STAGING.matches(&s("opt/rke2/server/tls/server-ca.crt")));
        assert!(!CUSTOM_CA_STAGING.matches(&s("opt/rke2/server")));
        assert!(HOST_FILES.matches(&s("etc/sysctl.d/90-rke2.conf")));
        assert!(!HOST_FILES.matches(&s("etc/shadow")));
        assert!(UNIT_ENV_FILES.matches_path("etc/default/rke2-server"));
        assert!(!UNIT_ENV_FILES.matches_path("usr/local/lib/systemd/system/rke2-agent.service"));
    }
}
