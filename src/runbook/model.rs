//! The typed runbook document (`apiVersion: harrow/v1`, `kind: Runbook`): metadata, typed
//! params, read-only preflight checks and steps. A step runs a command (`run`), copies a local
//! file or directory to nodes (`copy`) or waits at a manual gate (`confirm`); its `effect` says
//! what it does to the cluster's trust, for the simulator. Targets and orders are parsed into
//! enums here, so a typo is a load error, not a surprise at 2 a.m.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

/// The `apiVersion` this model reads and writes.
pub const API_VERSION: &str = "harrow/v1";
/// The `kind` of a runbook document.
pub const KIND: &str = "Runbook";

/// A whole runbook.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Runbook {
    #[serde(rename = "apiVersion")]
    pub api_version: String,
    pub kind: String,
    pub metadata: Metadata,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub params: BTreeMap<String, Param>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub preflight: Vec<Preflight>,
    pub steps: Vec<Step>,
}

/// What the runbook is and where its procedure comes from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Metadata {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The seed document and section the steps follow.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// The platform the runbook was planned for (`harvester`, `rke2`): what the simulator
    /// assumes when the inputs do not say.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<String>,
}

/// The type of a param value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ParamType {
    Path,
    String,
    Int,
    Bool,
    /// A secret: never given a default in the file, read from the environment or a file only,
    /// and masked in every output.
    Secret,
}

/// One typed param.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Param {
    #[serde(rename = "type")]
    pub kind: ParamType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// For secrets: the environment variable that supplies the value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from_env: Option<String>,
    /// For secrets: the file that supplies the value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from_file: Option<String>,
}

/// A read-only check that must pass before step 1.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Preflight {
    pub id: String,
    pub target: Target,
    pub run: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expect: Option<Expect>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// What a command must produce.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stdout_matches: Option<String>,
}

/// A copy from the machine running harrow to the target nodes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CopySpec {
    pub src: String,
    pub dest: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<String>,
}

/// How a step is verified after it ran.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Verify {
    pub run: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retries: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<String>,
}

/// What a failed step does to the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnFailure {
    Stop,
    Continue,
    Rollback,
}

/// One step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Step {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<Target>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order: Option<Order>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub copy: Option<CopySpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confirm: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub effect: Option<Effects>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verify: Option<Verify>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_failure: Option<OnFailure>,
    /// The command that undoes the step, where one exists.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rollback: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idempotent: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checkpoint: Option<bool>,
    /// Per-command timeout (`90s`, `10m`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<String>,
}

impl Step {
    /// The step's effects in order (none for a gate or a plain command).
    pub fn effects(&self) -> &[Effect] {
        match &self.effect {
            None => &[],
            Some(Effects::One(e)) => std::slice::from_ref(e),
            Some(Effects::Many(v)) => v,
        }
    }

    /// The order nodes are taken in: `serial` unless the step says otherwise.
    pub fn order(&self) -> Order {
        self.order.unwrap_or(Order::Serial)
    }
}

/// One effect, or several applied in order on each node.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Effects {
    One(Effect),
    Many(Vec<Effect>),
}

/// What a step does to the cluster's trust state (`spec/runbooks.md`, "The simulator"). Fields
/// may hold templates (`{{ params.staging_dir }}`), rendered per node before simulation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Effect {
    /// `rke2 etcd-snapshot save`; `record_token`: the step also records which token the
    /// snapshot needs for a restore (ROT010).
    EtcdSnapshot {
        #[serde(default)]
        record_token: bool,
    },
    /// New CA material appears in a staging directory (`dir` mirrors `server/`: `dir/tls/...`).
    /// `from`: a local directory the simulator reads the material from (what `plan ca
    /// --stage-dir` wrote); without it, the node's staged files in the inputs are used.
    StageCa {
        dir: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        from: Option<String>,
    },
    /// A new `service.key` in `dir/tls/`: a new key first, then (`keep_old`) the current list.
    StageServiceKey {
        dir: String,
        #[serde(default)]
        keep_old: bool,
    },
    /// `rke2 certificate rotate-ca --path PATH [--force]`.
    RotateCa {
        path: String,
        #[serde(default)]
        force: bool,
    },
    /// `rke2 certificate rotate [--service ...]`: the services' leaf files are deleted and
    /// re-issued by the current CAs at the next start. Empty: every service of the node.
    RotateLeaf {
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        services: Vec<String>,
    },
    /// Restart the node's rke2 service.
    Restart {},
    /// Stop the node's rke2 service.
    Stop {},
    /// Start the node's rke2 service.
    Start {},
    /// Write the token rke2 reads into the places listed (host paths: config.yaml, drop-ins,
    /// `server/token`, the unit's environment file). `ca_hash`: the CA hash the new token pins
    /// (`served`: the hash of the CA the datastore holds now); `password`: `new` after a
    /// `token_rotate`, else unchanged.
    SetToken {
        #[serde(rename = "where")]
        places: Vec<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        ca_hash: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        password: Option<String>,
    },
    /// `rke2 token rotate`.
    TokenRotate {},
    /// Restart the pods that mount `kube-root-ca.crt` (after a new root).
    RestartPods {
        /// Harvester: the restart respects maintenance mode and system-pod order.
        #[serde(default)]
        maintenance_aware: bool,
    },
    /// Write a file on the node.
    WriteFile { path: String },
}

impl Effect {
    /// The effect's name as written in YAML.
    pub fn name(&self) -> &'static str {
        match self {
            Effect::EtcdSnapshot { .. } => "etcd_snapshot",
            Effect::StageCa { .. } => "stage_ca",
            Effect::StageServiceKey { .. } => "stage_service_key",
            Effect::RotateCa { .. } => "rotate_ca",
            Effect::RotateLeaf { .. } => "rotate_leaf",
            Effect::Restart {} => "restart",
            Effect::Stop {} => "stop",
            Effect::Start {} => "start",
            Effect::SetToken { .. } => "set_token",
            Effect::TokenRotate {} => "token_rotate",
            Effect::RestartPods { .. } => "restart_pods",
            Effect::WriteFile { .. } => "write_file",
        }
    }

    /// Whether the effect can be undone by a `rollback` command (after `rotate-ca` has
    /// updated the datastore, the way back is the etcd snapshot).
    pub fn reversible(&self) -> bool {
        matches!(
            self,
            Effect::StageCa { .. }
                | Effect::StageServiceKey { .. }
                | Effect::Restart {}
                | Effect::Stop {}
                | Effect::Start {}
                | Effect::SetToken { .. }
                | Effect::WriteFile { .. }
        )
    }
}

/// Which nodes a step runs on.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum Target {
    /// The machine running harrow.
    Local,
    /// The first server of the inventory (the one `rotate-ca` and `token rotate` run on).
    FirstServer,
    /// Servers and witnesses (etcd members one at a time).
    Servers,
    Agents,
    Witnesses,
    All,
    Node(String),
    Role(String),
}

impl TryFrom<String> for Target {
    type Error = String;

    fn try_from(s: String) -> Result<Target, String> {
        Ok(match s.as_str() {
            "local" => Target::Local,
            "first-server" => Target::FirstServer,
            "servers" => Target::Servers,
            "agents" => Target::Agents,
            "witnesses" => Target::Witnesses,
            "all" => Target::All,
            _ => {
                if let Some(n) = s.strip_prefix("node:").filter(|n| !n.is_empty()) {
                    Target::Node(n.to_string())
                } else if let Some(r) = s.strip_prefix("role:").filter(|r| !r.is_empty()) {
                    Target::Role(r.to_string())
                } else {
                    return Err(format!(
                        "unknown target `{s}`: expected local, first-server, servers, agents, \
                         witnesses, all, node:NAME or role:LABEL"
                    ));
                }
            }
        })
    }
}

impl From<Target> for String {
    fn from(t: Target) -> String {
        t.to_string()
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Target::Local => f.write_str("local"),
            Target::FirstServer => f.write_str("first-server"),
            Target::Servers => f.write_str("servers"),
            Target::Agents => f.write_str("agents"),
            Target::Witnesses => f.write_str("witnesses"),
            Target::All => f.write_str("all"),
            Target::Node(n) => write!(f, "node:{n}"),
            Target::Role(r) => write!(f, "role:{r}"),
        }
    }
}

/// How a step takes its nodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum Order {
    /// One node after the other (the default; restarts of etcd members always).
    Serial,
    /// Every node at once.
    Parallel,
    /// N nodes at a time.
    Batch(u32),
}

impl TryFrom<String> for Order {
    type Error = String;

    fn try_from(s: String) -> Result<Order, String> {
        match s.as_str() {
            "serial" => Ok(Order::Serial),
            "parallel" => Ok(Order::Parallel),
            _ => s
                .strip_prefix("batch:")
                .and_then(|n| n.parse::<u32>().ok())
                .filter(|n| *n > 0)
                .map(Order::Batch)
                .ok_or_else(|| {
                    format!("unknown order `{s}`: expected serial, parallel or batch:N (N > 0)")
                }),
        }
    }
}

impl From<Order> for String {
    fn from(o: Order) -> String {
        match o {
            Order::Serial => "serial".to_string(),
            Order::Parallel => "parallel".to_string(),
            Order::Batch(n) => format!("batch:{n}"),
        }
    }
}

/// A duration as runbooks write it: `90s`, `10m`, `1h`, `500ms`, or plain seconds (`90`).
pub fn duration(s: &str) -> Option<std::time::Duration> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (n, unit) = s.split_at(split);
    let n: u64 = n.parse().ok()?;
    let d = match unit {
        "" | "s" => std::time::Duration::from_secs(n),
        "ms" => std::time::Duration::from_millis(n),
        "m" => std::time::Duration::from_secs(n.checked_mul(60)?),
        "h" => std::time::Duration::from_secs(n.checked_mul(3600)?),
        _ => return None,
    };
    Some(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_and_orders_round_trip_and_refuse_typos() {
        for t in [
            "local",
            "first-server",
            "servers",
            "agents",
            "witnesses",
            "all",
            "node:n1",
            "role:etcd",
        ] {
            let parsed = Target::try_from(t.to_string()).unwrap();
            assert_eq!(String::from(parsed), t);
        }
        assert!(Target::try_from("server".to_string()).is_err());
        assert!(Target::try_from("node:".to_string()).is_err());
        assert_eq!(Order::try_from("batch:3".to_string()), Ok(Order::Batch(3)));
        assert!(Order::try_from("batch:0".to_string()).is_err());
        assert!(Order::try_from("serially".to_string()).is_err());
        assert_eq!(String::from(Order::Batch(2)), "batch:2");
    }

    #[test]
    fn durations_read_with_their_unit() {
        use std::time::Duration as D;
        assert_eq!(duration("90s"), Some(D::from_secs(90)));
        assert_eq!(duration("10m"), Some(D::from_secs(600)));
        assert_eq!(duration("2h"), Some(D::from_secs(7200)));
        assert_eq!(duration("250ms"), Some(D::from_millis(250)));
        assert_eq!(duration("45"), Some(D::from_secs(45)));
        assert_eq!(duration("ten"), None);
        assert_eq!(duration("5d"), None);
        assert_eq!(duration(""), None);
    }
}
