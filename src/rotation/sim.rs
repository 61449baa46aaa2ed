//! The rotation simulator: a runbook's steps applied, node by node in the step's order, to the
//! trust state of a snapshot, with every trust link re-judged after every node's change
//! (`spec/runbooks.md`, "The simulator").
//!
//! The state keeps, per node, what is on disk and what its running rke2 loaded at its last
//! start, plus the datastore (the CA bundles and service-account keys of the bootstrap data, and
//! the token password that encrypts it). Effects change disk and datastore; a start reconciles
//! a server from the datastore (RKE2 reconciles bootstrap data at start) and re-issues its leaf
//! certificates when their CA changed, was rotated away (`rotate_leaf`) or they are due; an
//! agent re-validates its token against the CA hash a running server serves, verifies that
//! server's supervisor certificate against the downloaded bundle, and copies the bundles. A
//! node whose start fails stays down.
//!
//! A link that breaks only while its node restarts is transient (counted); one that breaks at a
//! step and is still broken when the runbook ends is a persistent break. The hazards of rules.md
//! (ROT001–ROT012) are reported as findings at the step that commits them.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use serde::Serialize;
use time::OffsetDateTime;

use super::links::{Link, LinkKind, LinkState, Verifier, check_with};
use super::rotate_ca::{CheckKind, checks_with};
use super::state::{
    CertFile, Leaf, NodeRole, NodeState, ServiceKeys, Trust, TrustState, bundle_hash,
};
use crate::checks::gates;
use crate::layout::{self, AgentCopy, CaFile};
use crate::model::Model;
use crate::pki::{self, Cert};
use crate::runbook::Loaded;
use crate::runbook::model::{Effect, Order, ParamType, Step, Target};
use crate::runbook::template::{self, Mode, Vars};
use crate::snapshot::Snapshot;
use crate::vocab::Severity;

/// The platform a runbook runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Platform {
    Harvester,
    Rke2,
}

/// A hazard of rules.md committed at a step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RotFinding {
    pub code: &'static str,
    pub severity: Severity,
    pub title: &'static str,
    /// The step id.
    pub step: String,
    /// The nodes it concerns (empty: the whole runbook or cluster).
    pub nodes: Vec<String>,
    pub message: String,
}

/// What one step did.
#[derive(Debug, Clone, Serialize)]
pub struct StepOutcome {
    pub id: String,
    /// The nodes it ran on, in order.
    pub nodes: Vec<String>,
    /// What happened, one sentence each (starts that failed, refusals, gates).
    pub events: Vec<String>,
    /// Links broken only while a node of the step was down.
    pub transient: usize,
    /// Links that held before the step and are broken after it.
    pub broke: Vec<Link>,
    /// Links that were broken before the step and hold after it.
    pub healed: usize,
    /// After the step: links holding, broken, unknown.
    pub holding: usize,
    pub broken: usize,
    pub unknown: usize,
}

/// The whole simulation.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub runbook: String,
    pub platform: Platform,
    pub rke2_version: Option<String>,
    pub at: String,
    /// What the simulation takes as given (printed first).
    pub assumptions: Vec<String>,
    /// Links already broken before step 1 (not the runbook's doing).
    pub broken_before: Vec<Link>,
    pub steps: Vec<StepOutcome>,
    pub findings: Vec<RotFinding>,
    /// Links that held before the runbook and are broken after it.
    pub persistent: Vec<Link>,
    /// What the simulation could not judge (material it was not given): it fails.
    pub problems: Vec<String>,
}

impl Report {
    /// The runbook is safe as far as the simulation sees: no persistent break, no hazard, nothing
    /// left unjudged.
    pub fn passes(&self) -> bool {
        self.persistent.is_empty() && self.findings.is_empty() && self.problems.is_empty()
    }
}

/// The datastore's bootstrap data as the simulator tracks it.
#[derive(Debug, Clone)]
struct Store {
    bundles: BTreeMap<CaFile, CertFile>,
    service: Option<ServiceKeys>,
    /// The token password that encrypts it.
    token: Option<super::state::PasswordDigest>,
    /// The CA hash of its `server-ca.crt`.
    served: Option<String>,
}

type LinkKey = (LinkKind, String, String);

/// The largest staged certificate or key file read (a CA bundle is a few KiB).
const MAX_STAGED_FILE: u64 = 1 << 20;
/// How deep a staged directory is walked (`tls/etcd/` is two levels).
const MAX_STAGED_DEPTH: usize = 8;

struct Sim<'a> {
    at: OffsetDateTime,
    platform: Platform,
    version: Option<String>,
    loaded: &'a Loaded,
    live: TrustState,
    disk: BTreeMap<String, NodeState>,
    /// First public-key hash of each node's live CA key files, by (node, host path).
    live_keys: BTreeMap<(String, String), String>,
    store: Store,
    served_before: Option<String>,
    pending: BTreeMap<String, BTreeSet<Leaf>>,
    regen_supervisor: BTreeSet<String>,
    links: BTreeMap<LinkKey, Link>,
    verifier: Verifier,
    snapshot_saved: bool,
    token_recorded: bool,
    pods_owed: Option<String>,
    pods_restarted: bool,
    expired: BTreeMap<String, Vec<String>>,
    recovered: BTreeSet<String>,
    rotated: bool,
    findings: Vec<RotFinding>,
    problems: Vec<String>,
    assumptions: Vec<String>,
    events: Vec<String>,
    step: String,
    renew_days: u32,
    outcomes: Vec<StepOutcome>,
    /// Every link's state before step 1.
    initial: BTreeMap<LinkKey, LinkState>,
    /// The links broken before step 1.
    broken_before: Vec<Link>,
}

/// Simulate `loaded` on the cluster of `snap` and `model`, at `at`.
pub fn simulate(loaded: &Loaded, snap: &Snapshot, model: &Model, at: OffsetDateTime) -> Report {
    let st = super::state::build(snap, model);
    let platform = platform_of(loaded, snap);
    let version = rke2_version(snap);
    let mut live_keys = BTreeMap::new();
    for ((node, host), k) in &model.keys {
        if let Some(first) = k.spkis().first() {
            live_keys.insert((node.clone(), host.clone()), (*first).to_string());
        }
    }
    let mut sim = Sim::new(loaded, st, live_keys, platform, version, at);
    for (name, p) in &loaded.runbook.params {
        if p.kind != ParamType::Secret && !loaded.params.contains_key(name) {
            sim.problems.push(format!(
                "param `{name}` has no default and no value: give --var {name}=VALUE (the steps \
                 that use it cannot be judged without it)"
            ));
        }
    }
    sim.run();
    sim.report()
}

/// The rke2 version of the inputs, else the one their Harvester release ships.
pub fn rke2_version(snap: &Snapshot) -> Option<String> {
    snap.cluster.rke2_version.clone().or_else(|| {
        snap.cluster
            .harvester_version
            .as_deref()
            .and_then(rke2_of_harvester)
            .map(str::to_string)
    })
}

/// The rke2 release a Harvester release ships (reference rke2-pki §9).
fn rke2_of_harvester(h: &str) -> Option<&'static str> {
    let h = h.trim().trim_start_matches('v');
    let table = [
        ("1.5.0", "v1.32.3"),
        ("1.5.1", "v1.32.4"),
        ("1.5.2", "v1.32.7"),
        ("1.6.0", "v1.33.3"),
        ("1.6.1", "v1.33.5"),
        ("1.7.0", "v1.34.2"),
        ("1.7.1", "v1.34.3"),
        ("1.8.0", "v1.35.2"),
        ("1.8.1", "v1.35.6"),
    ];
    table
        .iter()
        .find(|(hv, _)| h.starts_with(hv))
        .map(|(_, r)| *r)
}

/// Harvester when the inputs show a Harvester cluster, else what the runbook says it was
/// planned for, else plain RKE2.
pub fn platform_of(loaded: &Loaded, snap: &Snapshot) -> Platform {
    if snap.cluster.harvester_version.is_some()
        || !snap.bundles.is_empty()
        || loaded.runbook.metadata.platform.as_deref() == Some("harvester")
    {
        Platform::Harvester
    } else {
        Platform::Rke2
    }
}

fn key_of(l: &Link) -> LinkKey {
    (l.kind, l.from.clone(), l.to.clone())
}

/// The CA that signs a leaf.
fn signer(leaf: Leaf) -> CaFile {
    match leaf {
        Leaf::ApiserverServing | Leaf::Supervisor | Leaf::KubeletServing => CaFile::ServerCa,
        Leaf::ApiserverKubeletClient | Leaf::KubeletClient => CaFile::ClientCa,
        Leaf::AuthProxyClient => CaFile::RequestHeaderCa,
        Leaf::EtcdClient | Leaf::EtcdServer => CaFile::EtcdServerCa,
        Leaf::EtcdPeer => CaFile::EtcdPeerCa,
    }
}

/// The leaves `rke2 certificate rotate --service S` deletes.
fn leaves_of_service(s: &str) -> &'static [Leaf] {
    match s {
        "api-server" | "kube-apiserver" => &[Leaf::ApiserverServing, Leaf::ApiserverKubeletClient],
        "auth-proxy" => &[Leaf::AuthProxyClient],
        "etcd" => &[Leaf::EtcdServer, Leaf::EtcdPeer, Leaf::EtcdClient],
        "kubelet" => &[Leaf::KubeletServing, Leaf::KubeletClient],
        "supervisor" | "rke2-server" => &[Leaf::Supervisor],
        _ => &[],
    }
}

/// A host path as the model names it (no leading `/`, no trailing `/`).
fn host(p: &str) -> String {
    p.trim()
        .trim_start_matches('/')
        .trim_end_matches('/')
        .to_string()
}

/// Under the live `server/tls` (backups `tls-<unix>` are not).
fn in_live_tls(p: &str) -> bool {
    let h = host(p);
    let live = layout::SERVER_TLS_DIR.trim_end_matches('/');
    h == live || h.starts_with(&format!("{live}/"))
}

impl<'a> Sim<'a> {
    fn new(
        loaded: &'a Loaded,
        st: TrustState,
        live_keys: BTreeMap<(String, String), String>,
        platform: Platform,
        version: Option<String>,
        at: OffsetDateTime,
    ) -> Sim<'a> {
        let mut assumptions: Vec<String> = st
            .assumptions
            .iter()
            .map(|a| match &a.node {
                Some(n) => format!("{n}: {}", a.text),
                None => a.text.clone(),
            })
            .collect();
        let first = st
            .nodes
            .values()
            .find(|n| n.role == Some(NodeRole::Server) && n.files)
            .or_else(|| st.nodes.values().find(|n| n.is_server() && n.files));
        let store = match first {
            Some(s) => {
                assumptions.push(format!(
                    "the datastore is taken as the newest consistent copy among the servers: \
                     the CA bundles and service.key of {}, encrypted with its server token",
                    s.name
                ));
                let bundles = CaFile::ALL
                    .iter()
                    .filter_map(|ca| s.trusts.get(&Trust::Cluster(*ca)).map(|f| (*ca, f.clone())))
                    .collect();
                Store {
                    bundles,
                    service: s.service_keys.clone(),
                    token: s.token.as_ref().map(|t| t.password.clone()),
                    served: s.served_hash.clone(),
                }
            }
            None => {
                assumptions.push(
                    "no server's files are in the inputs: the datastore's content is unknown and \
                     every link that depends on it is unknown"
                        .to_string(),
                );
                Store {
                    bundles: BTreeMap::new(),
                    service: None,
                    token: None,
                    served: None,
                }
            }
        };
        match (platform, &version) {
            (_, Some(v)) => assumptions.push(format!(
                "the nodes run rke2 {v} (version gates of rules.md applied to it)"
            )),
            (_, None) => assumptions.push(
                "the rke2 version is unknown: the older behaviour of each version gate is taken \
                 (no supervisor regeneration by rotate-ca, no start with expired certificates); \
                 commands are taken as present (the preflight checks them live)"
                    .to_string(),
            ),
        }
        let renew_days = gates::renew_window_days(version.as_deref()).0;
        let mut expired: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for n in st.nodes.values() {
            for (leaf, f) in &n.presents {
                if let Some(c) = f.certs.first().and_then(|fp| st.certs.get(fp))
                    && c.not_after < at
                {
                    expired
                        .entry(n.name.clone())
                        .or_default()
                        .push(layout::short_path(leaf.host_path()).to_string());
                }
            }
        }
        let verifier = Verifier::default();
        let links = check_with(&st, at, None, &verifier)
            .into_iter()
            .map(|l| (key_of(&l), l))
            .collect();
        let disk = st.nodes.clone();
        let mut sim = Sim {
            at,
            platform,
            version,
            loaded,
            served_before: store.served.clone(),
            store,
            live: st,
            disk,
            live_keys,
            pending: BTreeMap::new(),
            regen_supervisor: BTreeSet::new(),
            links,
            verifier,
            snapshot_saved: false,
            token_recorded: false,
            pods_owed: None,
            pods_restarted: false,
            expired,
            recovered: BTreeSet::new(),
            rotated: false,
            findings: Vec::new(),
            problems: Vec::new(),
            assumptions,
            events: Vec::new(),
            step: String::new(),
            renew_days,
            outcomes: Vec::new(),
            initial: BTreeMap::new(),
            broken_before: Vec::new(),
        };
        sim.initial = sim
            .links
            .iter()
            .map(|(k, l)| (k.clone(), l.state))
            .collect();
        let judged = sim
            .links
            .values()
            .filter(|l| l.kind != LinkKind::EtcdQuorum && l.state != LinkState::Unknown)
            .count();
        if judged == 0 {
            sim.problems.push(
                "no trust link can be judged from the inputs (no node's certificates were read: a \
                 support bundle carries none): give the node snapshots of the cluster"
                    .to_string(),
            );
        }
        sim.broken_before = sim
            .links
            .values()
            .filter(|l| l.state == LinkState::Breaks)
            .cloned()
            .collect();
        sim
    }

    fn finding(&mut self, code: &'static str, nodes: Vec<String>, message: String) {
        let rule = crate::checks::registry::RULES
            .iter()
            .find(|r| r.code == code);
        let (severity, title) = rule.map_or((Severity::High, ""), |r| (r.severity, r.title));
        let step = self.step.clone();
        if let Some(f) = self
            .findings
            .iter_mut()
            .find(|f| f.code == code && f.step == step && f.message == message)
        {
            for n in nodes {
                if !f.nodes.contains(&n) {
                    f.nodes.push(n);
                }
            }
            return;
        }
        self.findings.push(RotFinding {
            code,
            severity,
            title,
            step,
            nodes,
            message,
        });
    }

    /// The nodes a target names, in the order a step takes them: servers by name, then
    /// witnesses, then agents.
    fn resolve(&self, target: &Target) -> Vec<String> {
        let of = |r: NodeRole| -> Vec<String> {
            self.live
                .nodes
                .values()
                .filter(|n| n.role == Some(r))
                .map(|n| n.name.clone())
                .collect()
        };
        match target {
            Target::Local => Vec::new(),
            Target::FirstServer => of(NodeRole::Server).into_iter().take(1).collect(),
            Target::Servers => {
                let mut v = of(NodeRole::Server);
                v.extend(of(NodeRole::Witness));
                v
            }
            Target::Agents => of(NodeRole::Agent),
            Target::Witnesses => of(NodeRole::Witness),
            Target::All => {
                let mut v = of(NodeRole::Server);
                v.extend(of(NodeRole::Witness));
                v.extend(of(NodeRole::Agent));
                v.extend(
                    self.live
                        .nodes
                        .values()
                        .filter(|n| n.role.is_none())
                        .map(|n| n.name.clone()),
                );
                v
            }
            Target::Node(n) => self
                .live
                .nodes
                .contains_key(n)
                .then(|| n.clone())
                .into_iter()
                .collect(),
            Target::Role(r) => self
                .live
                .nodes
                .values()
                .filter(|n| match r.as_str() {
                    "etcd" => n.etcd,
                    "control-plane" | "controlplane" => n.apiserver,
                    other => n.role.map(|x| x.as_str()) == Some(other),
                })
                .map(|n| n.name.clone())
                .collect(),
        }
    }

    fn run(&mut self) {
        let loaded = self.loaded;
        let mut outcomes = Vec::new();
        for step in &loaded.runbook.steps {
            self.step = step.id.clone();
            self.events.clear();
            let before: BTreeMap<LinkKey, LinkState> = self
                .links
                .iter()
                .map(|(k, l)| (k.clone(), l.state))
                .collect();
            self.scan_text(step);
            let nodes = step
                .target
                .as_ref()
                .map(|t| self.resolve(t))
                .unwrap_or_default();
            if let Some(gate) = &step.confirm {
                self.events.push(format!("gate: {gate}"));
            }
            if step.target.as_ref().is_some_and(|t| *t != Target::Local) && nodes.is_empty() {
                self.events
                    .push("its target names no node of the inputs".to_string());
            }
            self.step_prechecks(step);
            let transient = self.apply_step(step, &nodes);
            let mut out = StepOutcome {
                id: step.id.clone(),
                nodes,
                events: std::mem::take(&mut self.events),
                transient,
                broke: Vec::new(),
                healed: 0,
                holding: 0,
                broken: 0,
                unknown: 0,
            };
            for (k, l) in &self.links {
                match l.state {
                    LinkState::Holds => out.holding += 1,
                    LinkState::Breaks => out.broken += 1,
                    LinkState::Unknown => out.unknown += 1,
                }
                match (before.get(k), l.state) {
                    (Some(LinkState::Holds), LinkState::Breaks) => out.broke.push(l.clone()),
                    (Some(LinkState::Breaks), LinkState::Holds) => out.healed += 1,
                    _ => {}
                }
            }
            outcomes.push(out);
        }
        self.step = loaded
            .runbook
            .steps
            .last()
            .map(|s| s.id.clone())
            .unwrap_or_default();
        if let Some(step) = self.pods_owed.clone()
            && !self.pods_restarted
        {
            self.step = step;
            self.finding(
                "ROT008",
                Vec::new(),
                "a new root that is not cross-signed by the old one is loaded here, and no later \
                 step restarts the pods that mount kube-root-ca.crt"
                    .to_string(),
            );
        }
        self.outcomes = outcomes;
    }

    /// ROT004, ROT007, ROT011 from a step's text.
    fn scan_text(&mut self, step: &Step) {
        let mut texts: Vec<&str> = Vec::new();
        texts.extend(step.run.as_deref());
        texts.extend(step.verify.as_ref().map(|v| v.run.as_str()));
        if let Some(c) = &step.copy {
            texts.push(&c.src);
            if in_live_tls(&self.render_plain(&c.dest)) {
                self.finding(
                    "ROT004",
                    Vec::new(),
                    format!("the step copies into the live server/tls ({})", c.dest),
                );
            }
        }
        for text in texts {
            for line in text.lines() {
                if let Some(why) = network_fetch(line) {
                    self.finding("ROT011", Vec::new(), format!("`{}`: {why}", line.trim()));
                }
                if writes_live_tls(line) {
                    self.finding(
                        "ROT004",
                        Vec::new(),
                        format!("`{}` writes into the live server/tls", line.trim()),
                    );
                }
                if self.platform == Platform::Harvester
                    && line.contains("token rotate")
                    && !step
                        .effects()
                        .iter()
                        .any(|e| matches!(e, Effect::TokenRotate {}))
                {
                    self.finding(
                        "ROT007",
                        Vec::new(),
                        format!("`{}` rotates the rke2 token on Harvester", line.trim()),
                    );
                }
            }
        }
    }

    /// A string rendered with the params only (no node variables).
    fn render_plain(&self, text: &str) -> String {
        template::render(text, &self.loaded.vars(), Mode::Verbatim)
            .unwrap_or_else(|_| text.to_string())
    }

    /// ROT010 and ROT009 before a step's effects run.
    fn step_prechecks(&mut self, step: &Step) {
        let rotates = step.effects().iter().any(|e| {
            matches!(
                e,
                Effect::RotateCa { .. } | Effect::StageServiceKey { .. } | Effect::TokenRotate {}
            )
        });
        if rotates && !(self.snapshot_saved && self.token_recorded) {
            let missing = if self.snapshot_saved {
                "no earlier step records which token the etcd snapshots need"
            } else {
                "no earlier step saves an etcd snapshot (rke2 etcd-snapshot save)"
            };
            self.finding(
                "ROT010",
                Vec::new(),
                format!("the step rotates credentials but {missing}"),
            );
        }
        let ca_or_token = step
            .effects()
            .iter()
            .any(|e| matches!(e, Effect::RotateCa { .. } | Effect::TokenRotate {}));
        if ca_or_token {
            let unrecovered: Vec<String> = self
                .expired
                .keys()
                .filter(|n| !self.recovered.contains(*n))
                .cloned()
                .collect();
            if !unrecovered.is_empty() {
                let files: Vec<String> = unrecovered
                    .iter()
                    .map(|n| format!("{n} ({})", self.expired[n].join(", ")))
                    .collect();
                self.finding(
                    "ROT009",
                    unrecovered,
                    format!(
                        "certificates have already expired at the simulated instant on {}; no \
                         earlier step recovers them (stop, rke2 certificate rotate, start)",
                        files.join("; ")
                    ),
                );
            }
        }
    }

    /// Apply a step to its nodes in its order; returns the links broken only while nodes were
    /// down.
    fn apply_step(&mut self, step: &Step, nodes: &[String]) -> usize {
        let effects = step.effects();
        let mut expanded: Vec<Effect> = Vec::new();
        for e in effects {
            match e {
                Effect::Restart {} => {
                    expanded.push(Effect::Stop {});
                    expanded.push(Effect::Start {});
                }
                other => expanded.push(other.clone()),
            }
        }
        if let Some(c) = &step.copy {
            for n in nodes {
                self.copy_into(n, &c.src, &c.dest);
            }
        }
        if expanded.is_empty() {
            return 0;
        }
        let split = expanded
            .iter()
            .position(|e| matches!(e, Effect::Start {}))
            .unwrap_or(expanded.len());
        let batch = match step.order() {
            Order::Serial => 1,
            Order::Parallel => nodes.len().max(1),
            Order::Batch(n) => n as usize,
        };
        let mut transient = 0;
        if nodes.is_empty() {
            // Effects on no node (a local step): datastore-level effects still apply.
            for e in &expanded {
                self.apply(None, e);
            }
            return 0;
        }
        for group in nodes.chunks(batch) {
            for n in group {
                for e in &expanded[..split] {
                    self.apply(Some(n), e);
                }
            }
            let touched: BTreeSet<String> = group.iter().cloned().collect();
            if group.iter().any(|n| !self.running(n)) {
                transient += self.refresh(&touched, true);
                self.check_quorum(group);
            }
            for n in group {
                for e in &expanded[split..] {
                    self.apply(Some(n), e);
                }
            }
            self.refresh(&touched, false);
        }
        transient
    }

    fn running(&self, n: &str) -> bool {
        self.live.nodes.get(n).is_some_and(|s| s.running)
    }

    fn check_quorum(&mut self, group: &[String]) {
        let members: Vec<&NodeState> = self.live.etcd_members().collect();
        if members.is_empty() {
            return;
        }
        let down: Vec<String> = members
            .iter()
            .filter(|m| !m.running)
            .map(|m| m.name.clone())
            .collect();
        let need = members.len() / 2 + 1;
        if members.len() - down.len() < need {
            let in_group: Vec<String> =
                down.iter().filter(|d| group.contains(d)).cloned().collect();
            let message = format!(
                "{} of {} etcd members are down at once ({}); quorum needs {need} running",
                down.len(),
                members.len(),
                down.join(", ")
            );
            if down.len() > 1 && !in_group.is_empty() {
                self.finding("ROT006", in_group, message);
            } else if !in_group.is_empty() {
                // One member at a time is the least a restart can take down: a cluster of one
                // or two members loses quorum whatever the runbook does.
                self.events.push(format!(
                    "{message}: a cluster of {} etcd member(s) cannot lose one; the apiservers \
                     pause until it is back (transient)",
                    members.len()
                ));
            }
        }
    }

    /// Re-judge the links of the touched nodes; with `probe`, judge them without keeping the
    /// result and return how many holding links broke (the transient breaks of a restart).
    fn refresh(&mut self, touched: &BTreeSet<String>, probe: bool) -> usize {
        let fresh = check_with(&self.live, self.at, Some(touched), &self.verifier);
        let mut broke = 0;
        for l in fresh {
            let k = key_of(&l);
            if probe {
                if l.state == LinkState::Breaks
                    && self
                        .links
                        .get(&k)
                        .is_some_and(|old| old.state == LinkState::Holds)
                {
                    broke += 1;
                }
            } else {
                self.links.insert(k, l);
            }
        }
        broke
    }

    /// A step's `copy` of a local file or directory onto a node: certificates and keys under a
    /// staging directory become the node's staged material.
    fn copy_into(&mut self, node: &str, src: &str, dest: &str) {
        let src = self.render_plain(src);
        let dest = self.render_plain(dest);
        let path = std::path::Path::new(&src);
        if !path.exists() {
            self.problems.push(format!(
                "step {}: the copy source {src} does not exist on this machine: the material it \
                 stages cannot be verified",
                self.step
            ));
            return;
        }
        self.load_material(node, path, &dest);
    }

    /// Read certificates and keys from a local directory (or file) into `node`'s staged files
    /// under `dest`.
    fn load_material(&mut self, node: &str, src: &std::path::Path, dest: &str) {
        let mut files: Vec<(std::path::PathBuf, String)> = Vec::new();
        collect_files(src, &host(dest), 0, &mut files);
        let step = self.step.clone();
        let Some(disk) = self.disk.get_mut(node) else {
            return;
        };
        let mut problem = |file: &std::path::Path, why: String| {
            self.problems.push(format!(
                "step {step}: staged material {}: {why}",
                file.display()
            ));
        };
        for (file, at) in files {
            let is_cert = at.ends_with(".crt") || at.ends_with(".pem");
            if !is_cert && !at.ends_with(".key") {
                continue;
            }
            let too_big = std::fs::metadata(&file).is_ok_and(|m| m.len() > MAX_STAGED_FILE);
            if too_big {
                problem(
                    &file,
                    format!("larger than {MAX_STAGED_FILE} bytes: not read"),
                );
                continue;
            }
            let bytes = match std::fs::read(&file) {
                Ok(b) => b,
                Err(e) => {
                    problem(&file, e.to_string());
                    continue;
                }
            };
            if is_cert {
                match pki::parse_certs(&bytes) {
                    Ok(certs) => {
                        let mut fps = Vec::new();
                        for c in certs {
                            fps.push(c.fingerprint_sha256().to_string());
                            self.live
                                .certs
                                .entry(c.fingerprint_sha256().to_string())
                                .or_insert_with(|| Arc::new(c));
                        }
                        disk.staged.insert(
                            at.clone(),
                            CertFile {
                                host: at,
                                certs: fps,
                                reissued: false,
                            },
                        );
                    }
                    Err(e) => problem(&file, format!("not a certificate bundle ({e})")),
                }
            } else {
                match pki::parse_keys(&bytes) {
                    Ok(keys) => {
                        let spkis = keys.into_iter().filter_map(|k| k.spki_sha256).collect();
                        disk.staged_keys.insert(at, spkis);
                    }
                    Err(e) => problem(&file, format!("not a key file ({e})")),
                }
            }
        }
    }

    /// Apply one effect on one node (`None`: a step on no node).
    fn apply(&mut self, node: Option<&String>, e: &Effect) {
        let vars = {
            let mut v: Vars = self.loaded.vars();
            if let Some(n) = node {
                v.node_name = Some(n.clone());
                v.node_role = self
                    .live
                    .nodes
                    .get(n)
                    .and_then(|s| s.role)
                    .map(|r| r.as_str().to_string());
            }
            v
        };
        let render =
            |t: &str| template::render(t, &vars, Mode::Verbatim).unwrap_or_else(|_| t.to_string());
        match e {
            Effect::EtcdSnapshot { record_token } => {
                self.snapshot_saved = true;
                self.token_recorded |= *record_token;
            }
            Effect::StageCa { dir, from } => {
                let dir = render(dir);
                if in_live_tls(&format!("{dir}/tls")) {
                    self.finding(
                        "ROT004",
                        Vec::new(),
                        format!("CA material is staged into the live server/tls ({dir})"),
                    );
                }
                let Some(n) = node else { return };
                match from {
                    Some(local) => {
                        let local = render(local);
                        let p = std::path::Path::new(&local);
                        if p.exists() {
                            self.load_material(n, p, &dir);
                        } else {
                            self.problems.push(format!(
                                "step {}: the staged material {local} does not exist on this \
                                 machine: rotate-ca's checks cannot be judged",
                                self.step
                            ));
                        }
                    }
                    None => {
                        let prefix = format!("{}/", host(&dir));
                        let present = self
                            .disk
                            .get(n)
                            .is_some_and(|d| d.staged.keys().any(|k| k.starts_with(&prefix)));
                        if !present {
                            self.problems.push(format!(
                                "step {}: no CA material staged under {dir} on {n} in the inputs, \
                                 and the effect names no local copy (stage_ca {{from: DIR}})",
                                self.step
                            ));
                        }
                    }
                }
            }
            Effect::StageServiceKey { dir, keep_old } => {
                let dir = render(dir);
                if in_live_tls(&format!("{dir}/tls")) {
                    self.finding(
                        "ROT004",
                        Vec::new(),
                        format!("a service-account key is staged into the live server/tls ({dir})"),
                    );
                }
                let Some(n) = node else { return };
                let step = self.step.clone();
                if let Some(d) = self.disk.get_mut(n) {
                    let mut list = vec![format!("(new key staged by step {step})")];
                    if *keep_old {
                        list.extend(d.service_keys.iter().flat_map(|k| k.verify.clone()));
                    }
                    d.staged_keys
                        .insert(format!("{}/tls/service.key", host(&dir)), list);
                }
            }
            Effect::RotateCa { path, force } => {
                let path = render(path);
                if let Some(n) = node {
                    self.rotate_ca(n, &path, *force);
                }
            }
            Effect::RotateLeaf { services } => {
                let Some(n) = node else { return };
                let leaves: Vec<Leaf> = if services.is_empty() {
                    Leaf::ALL.to_vec()
                } else {
                    services
                        .iter()
                        .flat_map(|s| leaves_of_service(s).iter().copied())
                        .collect()
                };
                self.pending.entry(n.clone()).or_default().extend(leaves);
                if !self.running(n) {
                    self.recovered.insert(n.clone());
                }
                self.events.push(format!(
                    "{n}: leaf certificates deleted, re-issued at its next start"
                ));
            }
            Effect::Stop {} => {
                if let Some(n) = node
                    && let Some(s) = self.live.nodes.get_mut(n)
                {
                    s.running = false;
                }
            }
            Effect::Start {} => {
                if let Some(n) = node {
                    self.start(n);
                }
            }
            Effect::Restart {} => {
                if let Some(n) = node {
                    if let Some(s) = self.live.nodes.get_mut(n) {
                        s.running = false;
                    }
                    self.start(n);
                }
            }
            Effect::SetToken {
                places,
                ca_hash,
                password,
            } => {
                let Some(n) = node else { return };
                let places: Vec<String> = places.iter().map(|p| host(&render(p))).collect();
                let hash = ca_hash.as_deref().map(render).map(|h| {
                    if h == "served" {
                        self.store.served.clone().unwrap_or_default()
                    } else {
                        h
                    }
                });
                let new_password = password.as_deref() == Some("new");
                let store_token = self.store.token.clone();
                let Some(d) = self.disk.get_mut(n) else {
                    return;
                };
                match &mut d.token {
                    Some(t) if places.iter().any(|p| place_matches(p, &host(&t.source))) => {
                        if let Some(h) = hash {
                            t.ca_hash = Some(h);
                        }
                        if new_password && let Some(p) = store_token {
                            t.password = p;
                        }
                    }
                    Some(t) => {
                        let source = layout::short_path(&t.source).to_string();
                        self.events.push(format!(
                            "{n} reads its token from {source}, which the step does not write"
                        ));
                    }
                    None => self.events.push(format!(
                        "{n}: its token is not in the inputs; the step is taken to write it"
                    )),
                }
            }
            Effect::TokenRotate {} => {
                if self.platform == Platform::Harvester {
                    self.finding(
                        "ROT007",
                        Vec::new(),
                        "`rke2 token rotate` on Harvester: the token comes back from /oem at the \
                         next boot and servers fail with \"bootstrap data already found and \
                         encrypted with different token\""
                            .to_string(),
                    );
                }
                self.gate(&gates::TOKEN_ROTATE);
                if let Some(t) = &self.store.token {
                    self.store.token = Some(t.rotated());
                }
                if let Some(n) = node
                    && let Some(d) = self.disk.get_mut(n)
                    && let Some(t) = &mut d.token
                    && host(&t.source) == layout::SERVER_TOKEN
                    && let Some(p) = &self.store.token
                {
                    t.password = p.clone();
                }
                self.rotated = true;
            }
            Effect::RestartPods { maintenance_aware } => {
                if self.pods_owed.is_some() {
                    self.pods_restarted = true;
                }
                if self.platform == Platform::Harvester && !maintenance_aware {
                    self.finding(
                        "ROT008",
                        Vec::new(),
                        "on Harvester the pod restart must respect maintenance mode and the \
                         system-pod order (restart_pods {maintenance_aware: true})"
                            .to_string(),
                    );
                }
            }
            Effect::WriteFile { path } => {
                let path = render(path);
                if in_live_tls(&path) {
                    self.finding(
                        "ROT004",
                        Vec::new(),
                        format!("a file is written into the live server/tls ({path})"),
                    );
                }
            }
        }
    }

    /// ROT012 when the nodes' release lacks a capability.
    fn gate(&mut self, g: &gates::Gate) {
        if g.has(self.version.as_deref()) == Some(false) {
            let v = self.version.clone().unwrap_or_default();
            self.finding(
                "ROT012",
                Vec::new(),
                format!(
                    "{} needs rke2 {} or later in its line; the nodes run {v} ({})",
                    g.capability,
                    g.releases(),
                    g.source
                ),
            );
        }
    }

    fn rotate_ca(&mut self, n: &str, path: &str, force: bool) {
        self.gate(&gates::ROTATE_CA);
        let Some(node) = self.disk.get(n).cloned() else {
            return;
        };
        let stage = host(path);
        let certs = &self.live.certs;
        let lookup = |fp: &str| certs.get(fp).map(|c| &**c);
        let live_keys = &self.live_keys;
        let live_key = |h: &str| live_keys.get(&(n.to_string(), h.to_string())).cloned();
        let checks = checks_with(&lookup, &live_key, &node, &stage, self.at);
        let prefix = format!("{stage}/tls/");
        let staged_any = node.staged.keys().any(|k| k.starts_with(&prefix))
            || node.staged_keys.keys().any(|k| k.starts_with(&prefix));
        if !staged_any {
            self.problems.push(format!(
                "step {}: nothing is staged under {path} on {n}: rotate-ca would upload the \
                 current data unchanged",
                self.step
            ));
            return;
        }
        let mut refused = Vec::new();
        let mut new_root = false;
        for c in &checks {
            if let Err(why) = &c.result {
                if c.kind == CheckKind::ServiceKey {
                    self.finding(
                        "ROT003",
                        vec![n.to_string()],
                        format!(
                            "{}: {why}; every service-account token already issued would be \
                             rejected",
                            layout::short_path(&c.staged)
                        ),
                    );
                } else {
                    if c.kind == CheckKind::Chain {
                        new_root = true;
                    }
                    refused.push(format!("{}: {why}", layout::short_path(&c.staged)));
                }
            }
        }
        if !refused.is_empty() && !force {
            self.finding(
                "ROT002",
                vec![n.to_string()],
                format!(
                    "rotate-ca would refuse the staged material: {}",
                    refused.join("; ")
                ),
            );
            self.events.push(format!(
                "{n}: rotate-ca refused; the datastore is unchanged"
            ));
            return;
        }
        for ca in CaFile::ALL {
            let staged = format!("{prefix}{}", relative_tls(ca.host_path()));
            if let Some(f) = node.staged.get(&staged) {
                let mut f = f.clone();
                f.host = ca.host_path().to_string();
                self.store.bundles.insert(ca, f);
            }
        }
        if let Some(list) = node.staged_keys.get(&format!("{prefix}service.key")) {
            let mut signed: Vec<String> = self
                .store
                .service
                .as_ref()
                .map(|k| k.signed.iter().chain(k.current.iter()).cloned().collect())
                .unwrap_or_default();
            signed.sort();
            signed.dedup();
            self.store.service = Some(ServiceKeys {
                verify: list.clone(),
                current: list.first().cloned(),
                signed,
            });
        }
        self.store.served = self.store.bundles.get(&CaFile::ServerCa).and_then(|f| {
            let cs: Vec<&Cert> = f
                .certs
                .iter()
                .filter_map(|fp| self.live.certs.get(fp))
                .map(|c| &**c)
                .collect();
            bundle_hash(&cs, None)
        });
        if new_root && force {
            self.pods_owed = Some(self.step.clone());
        }
        if gates::SUPERVISOR_REGEN.has(self.version.as_deref()) == Some(true) {
            self.regen_supervisor = self
                .live
                .nodes
                .values()
                .filter(|s| s.is_server())
                .map(|s| s.name.clone())
                .collect();
        }
        self.rotated = true;
        let hash = self
            .store
            .served
            .as_deref()
            .map(|h| h.get(..12).unwrap_or(h))
            .unwrap_or("?");
        self.events.push(format!(
            "{n}: rotate-ca{} saved the staged CA data to the datastore (served CA hash now {hash}…)",
            if force { " --force" } else { "" }
        ));
    }

    /// A node's rke2 starts: reconcile, validate, re-issue, load.
    fn start(&mut self, n: &str) {
        let Some(mut d) = self.disk.get(n).cloned() else {
            return;
        };
        if !d.files {
            // Nothing to judge: the node comes back as it was.
            if let Some(s) = self.live.nodes.get_mut(n) {
                s.running = true;
            }
            return;
        }
        let root_changed = self.store.served != self.served_before;
        if root_changed
            && let Some(t) = &d.token
            && let Some(h) = &t.ca_hash
            && Some(h) != self.store.served.as_ref()
        {
            let served = self.store.served.clone().unwrap_or_default();
            self.finding(
                "ROT005",
                vec![n.to_string()],
                format!(
                    "the node restarts with a token ({}) pinning CA hash {}… while the cluster's \
                     CA now hashes to {}…",
                    layout::short_path(&t.source),
                    h.get(..12).unwrap_or(h),
                    served.get(..12).unwrap_or(&served)
                ),
            );
        }
        let fail = |sim: &mut Sim<'_>, why: String| {
            sim.events.push(format!("{n} fails to start: {why}"));
            if let Some(s) = sim.live.nodes.get_mut(n) {
                s.running = false;
            }
        };
        if d.is_server() {
            if let (Some(store), Some(t)) = (&self.store.token, &d.token)
                && *store != t.password
            {
                self.finding(
                    "ROT005",
                    vec![n.to_string()],
                    format!(
                        "the server's token ({}) is not the one that encrypts the bootstrap data",
                        layout::short_path(&t.source)
                    ),
                );
                return fail(
                    self,
                    "bootstrap data already found and encrypted with different token".to_string(),
                );
            }
            for (ca, f) in &self.store.bundles {
                d.trusts.insert(Trust::Cluster(*ca), f.clone());
            }
            for (copy, ca) in [
                (AgentCopy::ServerCa, CaFile::ServerCa),
                (AgentCopy::ClientCa, CaFile::ClientCa),
            ] {
                if let Some(f) = self.store.bundles.get(&ca) {
                    let mut f = f.clone();
                    f.host = copy.host_path().to_string();
                    d.trusts.insert(Trust::Agent(copy), f);
                }
            }
            if let Some(k) = &self.store.service {
                d.service_keys = Some(k.clone());
            }
            d.served_hash = self.store.served.clone();
            // The server's own agent joins its local supervisor with the token: after the
            // reconcile, that supervisor serves the datastore's CA.
            if let (Some(served), Some(t)) = (&d.served_hash, &d.token)
                && let Some(h) = &t.ca_hash
                && h != served
            {
                return fail(
                    self,
                    format!(
                        "token CA hash does not match the Cluster CA certificate hash ({}… != {}…)",
                        h.get(..12).unwrap_or(h),
                        served.get(..12).unwrap_or(served)
                    ),
                );
            }
            let mut leaves = vec![
                Leaf::ApiserverServing,
                Leaf::ApiserverKubeletClient,
                Leaf::AuthProxyClient,
                Leaf::EtcdClient,
                Leaf::EtcdServer,
                Leaf::EtcdPeer,
                Leaf::KubeletServing,
                Leaf::KubeletClient,
            ];
            if self.regen_supervisor.remove(n) {
                self.pending
                    .entry(n.to_string())
                    .or_default()
                    .insert(Leaf::Supervisor);
            }
            leaves.push(Leaf::Supervisor);
            let bundles = self.store.bundles.clone();
            for leaf in leaves {
                let supervisor = leaf == Leaf::Supervisor;
                let forced = self.pending.get(n).is_some_and(|p| p.contains(&leaf));
                if supervisor && !forced {
                    continue;
                }
                if let Some(b) = bundles.get(&signer(leaf)) {
                    self.reissue(&mut d, leaf, b, forced);
                }
            }
        } else {
            let server = self
                .live
                .nodes
                .values()
                .find(|s| s.is_server() && s.running && s.files)
                .cloned();
            let Some(server) = server else {
                return fail(self, "no running server to join".to_string());
            };
            let store_bundle = self
                .store
                .bundles
                .get(&CaFile::ServerCa)
                .map(|f| f.certs.clone());
            let lagging: Vec<String> = self
                .live
                .nodes
                .values()
                .filter(|s| {
                    s.is_server()
                        && s.files
                        && s.trusts
                            .get(&Trust::Cluster(CaFile::ServerCa))
                            .map(|f| &f.certs)
                            != store_bundle.as_ref()
                })
                .map(|s| s.name.clone())
                .collect();
            if self.rotated && !lagging.is_empty() {
                self.finding(
                    "ROT001",
                    vec![n.to_string()],
                    format!(
                        "the agent restarts after rotate-ca while {} still serve the CA bundle \
                         they loaded before it",
                        lagging.join(", ")
                    ),
                );
            }
            if let (Some(t), Some(served)) = (&d.token, &server.served_hash)
                && let Some(h) = &t.ca_hash
                && h != served
            {
                return fail(
                    self,
                    format!(
                        "token CA hash does not match the Cluster CA certificate hash ({}… != {}… \
                         served by {})",
                        h.get(..12).unwrap_or(h),
                        served.get(..12).unwrap_or(served),
                        server.name
                    ),
                );
            }
            let fetched = server
                .trusts
                .get(&Trust::Cluster(CaFile::ServerCa))
                .cloned();
            if let (Some(bundle), Some(sup)) = (&fetched, server.presents.get(&Leaf::Supervisor))
                && let super::verify::Outcome::Fails(why) = self.verify_files(sup, bundle)
            {
                return fail(
                    self,
                    format!(
                        "CA cert validation failed against {}'s supervisor: {why}",
                        server.name
                    ),
                );
            }
            for (copy, ca) in [
                (AgentCopy::ServerCa, CaFile::ServerCa),
                (AgentCopy::ClientCa, CaFile::ClientCa),
            ] {
                if let Some(f) = server.trusts.get(&Trust::Cluster(ca)) {
                    let mut f = f.clone();
                    f.host = copy.host_path().to_string();
                    d.trusts.insert(Trust::Agent(copy), f);
                }
            }
            for leaf in [Leaf::KubeletServing, Leaf::KubeletClient] {
                let forced = self.pending.get(n).is_some_and(|p| p.contains(&leaf));
                if let Some(b) = server.trusts.get(&Trust::Cluster(signer(leaf))).cloned() {
                    self.reissue(&mut d, leaf, &b, forced);
                }
            }
        }
        self.pending.remove(n);
        let mut loaded = d.clone();
        loaded.running = true;
        self.disk.insert(n.to_string(), d);
        self.live.nodes.insert(n.to_string(), loaded);
    }

    fn verify_files(&self, presented: &CertFile, bundle: &CertFile) -> super::verify::Outcome {
        let look = |fps: &[String]| -> Vec<&Cert> {
            fps.iter()
                .filter_map(|fp| self.live.certs.get(fp))
                .map(|c| &**c)
                .collect()
        };
        super::verify::verify_chain(&look(&presented.certs), &look(&bundle.certs), self.at)
    }

    /// Re-issue `leaf` on `d` from `bundle` (its first certificate signs) when forced, when its
    /// current certificate was not signed by that CA, or when it is due for renewal.
    fn reissue(&mut self, d: &mut NodeState, leaf: Leaf, bundle: &CertFile, forced: bool) {
        let Some(signer_fp) = bundle.certs.first() else {
            return;
        };
        let current = d.presents.get(&leaf);
        let needed = forced
            || match current {
                None => false,
                Some(f) if f.reissued => f.certs.first() != Some(signer_fp),
                Some(f) => {
                    let leaf_cert = f.certs.first().and_then(|fp| self.live.certs.get(fp));
                    let signer_cert = self.live.certs.get(signer_fp);
                    match (leaf_cert, signer_cert) {
                        (Some(l), Some(s)) => {
                            let other_ca = match (&l.aki(), &s.ski()) {
                                (Some(a), Some(k)) => a != k,
                                _ => !pki::verifies(l, s),
                            };
                            let due = l.not_after
                                < self.at + time::Duration::days(i64::from(self.renew_days));
                            other_ca || due
                        }
                        _ => false,
                    }
                }
            };
        if needed {
            d.presents.insert(
                leaf,
                CertFile {
                    host: leaf.host_path().to_string(),
                    certs: bundle.certs.clone(),
                    reissued: true,
                },
            );
        }
    }

    fn report(mut self) -> Report {
        let initial = std::mem::take(&mut self.initial);
        let broken_before = std::mem::take(&mut self.broken_before);
        let persistent: Vec<Link> = self
            .links
            .values()
            .filter(|l| {
                l.state == LinkState::Breaks && initial.get(&key_of(l)) == Some(&LinkState::Holds)
            })
            .cloned()
            .collect();
        self.findings
            .sort_by(|a, b| (a.severity, a.code, &a.step).cmp(&(b.severity, b.code, &b.step)));
        Report {
            runbook: self.loaded.path.clone(),
            platform: self.platform,
            rke2_version: self.version.clone(),
            at: crate::timefmt::rfc3339(self.at),
            assumptions: self.assumptions,
            broken_before,
            steps: self.outcomes,
            findings: self.findings,
            persistent,
            problems: self.problems,
        }
    }
}

/// The path of a `server/tls/` file below `tls/`.
fn relative_tls(h: &str) -> &str {
    h.strip_prefix(layout::SERVER_TLS_DIR)
        .unwrap_or(h)
        .trim_start_matches('/')
}

/// Every file under `src` with the host path it gets under `dest` (a file copied onto a
/// directory keeps its name).
fn collect_files(
    src: &std::path::Path,
    dest: &str,
    depth: usize,
    out: &mut Vec<(std::path::PathBuf, String)>,
) {
    // Symbolic links are not followed (a loop, or a way out of the directory), nor trees deeper
    // than a CA stage can be.
    let Ok(meta) = std::fs::symlink_metadata(src) else {
        return;
    };
    if meta.is_file() {
        out.push((src.to_path_buf(), dest.to_string()));
        return;
    }
    if !meta.is_dir() || depth > MAX_STAGED_DEPTH {
        return;
    }
    let Ok(rd) = std::fs::read_dir(src) else {
        return;
    };
    let mut entries: Vec<_> = rd.filter_map(|e| e.ok()).collect();
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let name = e.file_name().to_string_lossy().to_string();
        collect_files(&e.path(), &format!("{dest}/{name}"), depth + 1, out);
    }
}

/// Whether a `set_token` place (a host path as `host` gives it; `*` stands for any characters
/// within one path segment, as a shell glob does: `etc/rancher/rke2/config.yaml.d/*.yaml`)
/// names the host path `path`.
fn place_matches(place: &str, path: &str) -> bool {
    let (ps, ns): (Vec<&str>, Vec<&str>) = (place.split('/').collect(), path.split('/').collect());
    ps.len() == ns.len() && ps.iter().zip(&ns).all(|(p, n)| segment_matches(p, n))
}

/// One path segment against a pattern whose `*` matches any run of characters.
fn segment_matches(pattern: &str, name: &str) -> bool {
    let mut parts = pattern.split('*');
    let first = parts.next().unwrap_or_default();
    let Some(mut rest) = name.strip_prefix(first) else {
        return false;
    };
    let parts: Vec<&str> = parts.collect();
    let Some((last, middle)) = parts.split_last() else {
        return rest.is_empty();
    };
    for m in middle {
        match rest.find(m) {
            Some(i) => rest = &rest[i + m.len()..],
            None => return false,
        }
    }
    rest.len() >= last.len() && rest.ends_with(last)
}

/// Why a command line fetches from the network, if it does.
pub fn network_fetch(line: &str) -> Option<String> {
    let words: Vec<&str> = line
        .split(|c: char| c.is_whitespace() || c == '|' || c == ';' || c == '&' || c == '(')
        .filter(|w| !w.is_empty())
        .collect();
    if let Some(w) = words
        .iter()
        .find(|w| **w == "curl" || **w == "wget" || w.ends_with("/curl") || w.ends_with("/wget"))
    {
        return Some(format!(
            "`{w}` downloads from the network; the site is air-gapped"
        ));
    }
    for w in &words {
        let w = w.trim_matches(|c| c == '"' || c == '\'');
        let url = w
            .find("http://")
            .or_else(|| w.find("https://"))
            .map(|i| &w[i..]);
        if let Some(u) = url {
            let hostpart = u.split("://").nth(1).unwrap_or("");
            let local = ["127.0.0.1", "localhost", "[::1]"]
                .iter()
                .any(|l| hostpart.starts_with(l));
            if !local {
                return Some(format!("it reaches {u}; the site is air-gapped"));
            }
        }
    }
    None
}

/// Whether a command line writes into the live `server/tls` (reads and `rke2 certificate
/// rotate`, which deletes live leaf files by design, do not count).
pub fn writes_live_tls(line: &str) -> bool {
    const LIVE: &str = "/var/lib/rancher/rke2/server/tls";
    if line.contains("certificate rotate") && !line.contains("rotate-ca") {
        return false;
    }
    let mut from = 0;
    while let Some(i) = line[from..].find(LIVE) {
        let at = from + i;
        let after = &line[at + LIVE.len()..];
        // `server/tls-<unix>` is a backup, not the live directory.
        if !after.starts_with('-') {
            let before = &line[..at];
            let first = line.split_whitespace().next().unwrap_or("");
            let last_word = line.split_whitespace().last().unwrap_or("");
            let redirect = before.trim_end().ends_with('>')
                || before.trim_end().ends_with("-out")
                || before.ends_with("-out=")
                || before.trim_end().ends_with("tee")
                || before.trim_end().ends_with("tee -a");
            let copy_dest = ["cp", "mv", "install", "rsync", "scp"].contains(&first)
                && (last_word == LIVE || last_word.starts_with(&format!("{LIVE}/")));
            if redirect || copy_dest {
                return true;
            }
        }
        from = at + LIVE.len();
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_places_match_exactly_or_by_a_glob_within_one_segment() {
        let drop_in = "etc/rancher/rke2/config.yaml.d/40-rancherd.yaml";
        assert!(place_matches(drop_in, drop_in));
        assert!(place_matches(
            "etc/rancher/rke2/config.yaml.d/*.yaml",
            drop_in
        ));
        assert!(place_matches("etc/rancher/rke2/config.yaml.d/*", drop_in));
        assert!(place_matches("etc/*/rke2/config.yaml.d/40-*.yaml", drop_in));
        assert!(!place_matches(
            "etc/rancher/rke2/config.yaml.d/*.yml",
            drop_in
        ));
        assert!(!place_matches("etc/rancher/rke2/*.yaml", drop_in));
        assert!(!place_matches("etc/rancher/rke2/config.yaml", drop_in));
        assert!(place_matches(
            "etc/default/rke2-*",
            "etc/default/rke2-agent"
        ));
        assert!(!place_matches("etc/default/rke2-*", "etc/default/rke2"));
        assert!(place_matches("oem/*.yaml", "oem/90_custom.yaml"));
        assert!(!place_matches("oem/*.yaml", "oem/harvester.config"));
        assert!(place_matches("a/*x*y", "a/xxy"));
        assert!(!place_matches("a/*xy*y", "a/xy"));
    }

    #[test]
    fn network_fetches_are_seen_and_the_local_supervisor_is_not_one() {
        assert!(network_fetch("curl -sfL https://get.rke2.io | sh -").is_some());
        assert!(network_fetch("/usr/bin/wget x").is_some());
        assert!(network_fetch("git clone https://github.com/k3s-io/k3s").is_some());
        assert!(
            network_fetch(
                "rke2 certificate rotate-ca --server https://127.0.0.1:9345 --path=/opt/rke2/server"
            )
            .is_none()
        );
        assert!(network_fetch("systemctl restart rke2-server").is_none());
        assert!(network_fetch("echo curling").is_none());
    }

    #[test]
    fn writes_into_the_live_tls_are_told_from_reads_and_rotate() {
        assert!(writes_live_tls(
            "openssl genrsa -out /var/lib/rancher/rke2/server/tls/service.key 2048"
        ));
        assert!(writes_live_tls(
            "cat x >> /var/lib/rancher/rke2/server/tls/service.key"
        ));
        assert!(writes_live_tls(
            "cp -r /tmp/stage/tls/server-ca.crt /var/lib/rancher/rke2/server/tls/"
        ));
        assert!(!writes_live_tls(
            "cat /var/lib/rancher/rke2/server/tls/service.key >> /opt/rke2/server/tls/service.key"
        ));
        assert!(!writes_live_tls(
            "cp -a /var/lib/rancher/rke2/server/tls /var/lib/rancher/rke2/server/tls-backup"
        ));
        assert!(!writes_live_tls("rke2 certificate rotate"));
        assert!(!writes_live_tls("ls /var/lib/rancher/rke2/server/tls"));
    }
}
