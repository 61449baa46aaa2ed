//! The words every floor shares, at the bottom of the house: [`Severity`], [`Origin`] (where
//! something was found), [`Need`] (what data a rule reads), [`Finding`] and [`Coverage`]. The snapshot's notes, the rules, the
//! renderers and later the simulator and the executor speak them; nothing here depends on any
//! other module of the crate.

use serde::Serialize;

/// Finding severity, worst first when sorted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Critical,
    High,
    Medium,
    Low,
    Info,
}

impl Severity {
    pub const ALL: [Severity; 5] = [
        Severity::Critical,
        Severity::High,
        Severity::Medium,
        Severity::Low,
        Severity::Info,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Critical => "critical",
            Severity::High => "high",
            Severity::Medium => "medium",
            Severity::Low => "low",
            Severity::Info => "info",
        }
    }

    pub fn parse(s: &str) -> Option<Severity> {
        Severity::ALL.into_iter().find(|v| v.as_str() == s)
    }
}

/// Where something was found: the input (its file name as given), the logical path inside it
/// (nested archives joined by `!`), and a pointer inside the file where known (a line number, a
/// YAML path, `certificate #2`, `key #2`). Node files also name their node and host path.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Origin {
    pub input: String,
    pub path: String,
    pub pointer: Option<String>,
    pub node: Option<String>,
    /// The node's path without the leading `/` (`var/lib/rancher/rke2/server/tls/…`).
    pub host: Option<String>,
}

impl Origin {
    /// An origin in `input` at `path`.
    pub fn new(input: impl Into<String>, path: impl Into<String>) -> Origin {
        Origin {
            input: input.into(),
            path: path.into(),
            ..Origin::default()
        }
    }

    /// The same origin with a pointer inside the file.
    pub fn at(mut self, pointer: Option<String>) -> Origin {
        self.pointer = pointer;
        self
    }

    /// The same origin, of `host` on `node`.
    pub fn on(mut self, node: impl Into<String>, host: impl Into<String>) -> Origin {
        self.node = Some(node.into());
        self.host = Some(host.into());
        self
    }

    /// The node of a node file (empty for other origins).
    pub fn node_name(&self) -> &str {
        self.node.as_deref().unwrap_or("")
    }

    /// The host path of a node file (empty for other origins).
    pub fn host_path(&self) -> &str {
        self.host.as_deref().unwrap_or("")
    }

    /// Split a provenance string `input!path` into input and path.
    pub fn from_provenance(prov: &str, pointer: Option<String>) -> Origin {
        let (input, path) = prov.split_once('!').unwrap_or((prov, ""));
        Origin::new(input, path).at(pointer)
    }

    /// `input!path[:pointer]`, the form a person can open.
    pub fn display(&self) -> String {
        let mut s = self.input.clone();
        if !self.path.is_empty() {
            s.push('!');
            s.push_str(&self.path);
        }
        if let Some(p) = &self.pointer {
            s.push(':');
            s.push_str(p);
        }
        s
    }
}

/// The data a rule (or the credential model) reads: the snapshot loads what the registered
/// rules need, and `hint` is the sentence a not-evaluable coverage row shows as "needs": which
/// input would supply the data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Need {
    /// The inputs themselves and what the ingest recorded (every input supplies it).
    Inputs,
    /// A Harvester support bundle (its node configs, objects and logs).
    SupportBundle,
    /// Files from nodes: certificates, keys, tokens, CA bundles (node snapshots).
    NodeFiles,
    /// Node snapshots of at least two servers, to compare files between servers.
    TwoServers,
    /// Node snapshots of the other servers, or the bundle's node list, to know a cluster has one
    /// server only.
    OtherServers,
    /// Command output a node snapshot carries (`iptables-save`): support bundles do not collect it.
    NodeCommands,
    /// Node logs (`kernel.log*`, `rke2-server.log`, `rke2-agent.log`, `rancherd.log`) as a
    /// support bundle's node zips carry them.
    NodeLogs,
    /// Rancher's management objects (GlobalRoles, GlobalRoleBindings, ClusterRoleTemplateBindings,
    /// AuthConfigs), which a Harvester support bundle excludes or may lack.
    RancherObjects,
    /// Host configuration: rke2's `config.yaml` and drop-ins, kernel parameters, accounts.
    HostConfig,
    /// A runbook: the ROT rules judge a procedure (`harrow simulate`), not a snapshot.
    Runbook,
}

impl Need {
    /// Every kind of data.
    pub const ALL: [Need; 10] = [
        Need::Inputs,
        Need::SupportBundle,
        Need::NodeFiles,
        Need::TwoServers,
        Need::OtherServers,
        Need::NodeCommands,
        Need::NodeLogs,
        Need::RancherObjects,
        Need::HostConfig,
        Need::Runbook,
    ];

    /// What supplies this data, as the coverage row's `needs`.
    pub fn hint(self) -> &'static str {
        match self {
            Need::Inputs => "any readable input",
            Need::SupportBundle => "a Harvester support bundle of the cluster",
            Need::NodeFiles => {
                "node snapshots of the cluster's nodes (a tar of each node's /etc/rancher and /var/lib/rancher/rke2, with /oem on Harvester); a support bundle never carries server/tls or agent certificates"
            }
            Need::TwoServers => {
                "node snapshots of at least two server nodes (a tar of /etc/rancher and /var/lib/rancher/rke2 on each server)"
            }
            Need::OtherServers => {
                "node snapshots of the other servers, or the support bundle (its node list shows a single-server cluster)"
            }
            Need::NodeCommands => {
                "node snapshots with the output of `iptables-save` in commands/iptables-save.txt (and `iptables-legacy-save` in commands/iptables-legacy-save.txt where the legacy tables are used; a support bundle collects neither)"
            }
            Need::NodeLogs => {
                "a Harvester support bundle with its node zips (nodes/<node>.zip: logs/kernel.log*, rke2-server.log, rke2-agent.log, rancherd.log)"
            }
            Need::RancherObjects => {
                "Rancher's management objects in a support bundle's yamls/ (management.cattle.io globalroles, globalrolebindings, clusterroletemplatebindings, authconfigs): Harvester's collector excludes authconfigs, older bundles the role objects"
            }
            Need::Runbook => {
                "a runbook given to `harrow simulate RUNBOOK [INPUT]...`, which judges a procedure against the snapshot's trust state"
            }
            Need::HostConfig => {
                "node snapshots with /etc/rancher/rke2/config.yaml(.d), /etc/sysctl.d/*.conf, /etc/passwd, /etc/group and commands/sysctl-a.txt, or a support bundle whose node zips carry configs/etc/rancher/rke2 and supportconfig (scc/*.txz: memory.txt, etc.txt)"
            }
        }
    }

    /// A short name for the data, as the rule's doc page and `harrow rules` list it.
    pub fn as_str(self) -> &'static str {
        match self {
            Need::Inputs => "inputs",
            Need::SupportBundle => "support-bundle",
            Need::NodeFiles => "node-files",
            Need::TwoServers => "two-servers",
            Need::NodeCommands => "node-commands",
            Need::OtherServers => "other-servers",
            Need::NodeLogs => "node-logs",
            Need::RancherObjects => "rancher-objects",
            Need::HostConfig => "host-config",
            Need::Runbook => "runbook",
        }
    }
}

/// One finding: a rule that failed for one target.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Finding {
    pub severity: Severity,
    pub rule: String,
    pub node: Option<String>,
    pub target: Option<String>,
    pub title: String,
    pub message: String,
    pub evidence: Vec<Origin>,
    pub remediation: String,
}

/// One rule's coverage in one run: whether it passed, failed, could not be evaluated (and what
/// would make it evaluable) or does not apply.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Coverage {
    /// Rule code (`BUNDLE002`, `CERT001`, …).
    pub rule: String,
    pub status: CoverageStatus,
    pub reason: String,
    /// Which input would make it evaluable, when it is not evaluable.
    pub needs: Option<String>,
}

/// A rule's status in one run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum CoverageStatus {
    Pass,
    Fail,
    NotEvaluable,
    NotApplicable,
}

impl CoverageStatus {
    /// `pass`, `fail`, `not-evaluable`, `not-applicable`.
    pub fn as_str(self) -> &'static str {
        match self {
            CoverageStatus::Pass => "pass",
            CoverageStatus::Fail => "fail",
            CoverageStatus::NotEvaluable => "not-evaluable",
            CoverageStatus::NotApplicable => "not-applicable",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_display_as_a_person_opens_them() {
        let o =
            Origin::from_provenance("b.zip!x/nodes/n1.zip!n1/configs/a.yaml", Some("31".into()));
        assert_eq!(o.input, "b.zip");
        assert_eq!(o.path, "x/nodes/n1.zip!n1/configs/a.yaml");
        assert_eq!(o.display(), "b.zip!x/nodes/n1.zip!n1/configs/a.yaml:31");
        assert_eq!(Origin::new("n1.tgz", "").display(), "n1.tgz");
    }

    #[test]
    fn severities_sort_worst_first_and_parse_back() {
        let mut v = Severity::ALL.to_vec();
        v.reverse();
        v.sort();
        assert_eq!(v, Severity::ALL.to_vec());
        for s in Severity::ALL {
            assert_eq!(Severity::parse(s.as_str()), Some(s));
        }
        assert_eq!(Severity::parse("severe"), None);
    }
}
