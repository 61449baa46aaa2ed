//! `harrow plan KIND`: the safe runbook for a rotation of this cluster, built from the same trust
//! state the simulator judges (`spec/runbooks.md`, "The simulator", last paragraph): the seed's
//! commands; servers one at a time (witnesses with them), then agents; every CA,
//! service-account-key and token plan opens with an etcd snapshot and live preflights that the
//! cluster still matches the snapshot; new tokens written into every place each node reads its
//! token before that node restarts; staging never in the live `server/tls`; pod restarts after a
//! new root that is not cross-signed; version gates respected. Refusals carry the reason and its
//! source.

use std::collections::BTreeSet;
use std::path::PathBuf;

use time::OffsetDateTime;

use super::sim::Platform;
use super::stage::{self, CaMode, Current};
use super::state::{NodeRole, Trust, TrustState};
use crate::checks::gates;
use crate::error::{Error, Result};
use crate::layout::{self, CaFile};
use crate::model::Model;
use crate::pki::Cert;
use crate::runbook::model::{
    API_VERSION, CopySpec, Effect, Effects, Expect, KIND, Metadata, OnFailure, Order, Param,
    ParamType, Preflight, Runbook, Step, Target, Verify,
};
use crate::snapshot::Snapshot;

/// What to plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    LeafCerts,
    ServiceAccountKey,
    Ca,
    Token,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::LeafCerts => "leaf-certs",
            Kind::ServiceAccountKey => "service-account-key",
            Kind::Ca => "ca",
            Kind::Token => "token",
        }
    }
}

/// A plan request.
#[derive(Debug, Clone)]
pub struct Request {
    pub kind: Kind,
    /// For `ca`: the topology (default: self-signed for RKE2's own CAs, same-root for a custom
    /// hierarchy).
    pub ca_mode: Option<CaMode>,
    /// For `ca`: where the new material is generated.
    pub stage_dir: Option<PathBuf>,
    /// For `ca`: a copy of a server's `server/tls` holding the current CA keys (or, same-root,
    /// `intermediate-ca.crt`/`.key` and `root-ca.crt`).
    pub ca_from: Option<PathBuf>,
    /// Plan although a refusal applies where `--force` is allowed (expired CA, new root).
    pub force: bool,
    pub at: OffsetDateTime,
    /// For `leaf-certs`: only these services (`rke2 certificate rotate --service`).
    pub services: Vec<String>,
    /// For `leaf-certs`: only this node.
    pub node: Option<String>,
}

/// A planned runbook and what to tell the operator.
#[derive(Debug, Clone)]
pub struct Plan {
    pub runbook: Runbook,
    /// The readable summary (stderr).
    pub summary: Vec<String>,
    /// Comment lines for the top of the file.
    pub header: Vec<String>,
}

/// The platform the inputs show.
pub fn platform_of(snap: &Snapshot) -> Platform {
    if snap.cluster.harvester_version.is_some() || !snap.bundles.is_empty() {
        Platform::Harvester
    } else {
        Platform::Rke2
    }
}

const KUBECTL: &str = "/var/lib/rancher/rke2/bin/kubectl --kubeconfig /etc/rancher/rke2/rke2.yaml";
/// kubectl as the node's kubelet (servers and agents alike).
const KUBECTL_SELF: &str =
    "/var/lib/rancher/rke2/bin/kubectl --kubeconfig /var/lib/rancher/rke2/agent/kubelet.kubeconfig";

fn param(kind: ParamType, default: &str, description: &str) -> Param {
    Param {
        kind,
        default: Some(default.to_string()),
        description: Some(description.to_string()),
        from_env: None,
        from_file: None,
    }
}

fn step(id: &str, target: Target, run: &str) -> Step {
    Step {
        id: id.to_string(),
        description: None,
        target: Some(target),
        order: None,
        run: Some(run.to_string()),
        copy: None,
        confirm: None,
        effect: None,
        verify: None,
        on_failure: Some(OnFailure::Stop),
        rollback: None,
        idempotent: None,
        checkpoint: None,
        timeout: None,
    }
}

fn with(mut s: Step, effects: Vec<Effect>) -> Step {
    s.effect = Some(if effects.len() == 1 {
        Effects::One(effects.into_iter().next().unwrap_or(Effect::Restart {}))
    } else {
        Effects::Many(effects)
    });
    s
}

fn gate_step(id: &str, text: &str) -> Step {
    Step {
        id: id.to_string(),
        description: None,
        target: None,
        order: None,
        run: None,
        copy: None,
        confirm: Some(text.to_string()),
        effect: None,
        verify: None,
        on_failure: None,
        rollback: None,
        idempotent: None,
        checkpoint: None,
        timeout: None,
    }
}

/// The node's own Ready condition, read with its kubelet's kubeconfig: every node has one
/// (agents have no `rke2.yaml`), and the node authorizer lets a kubelet read its own Node.
fn ready_verify() -> Verify {
    Verify {
        run: format!(
            "{KUBECTL_SELF} get node {{{{ node.name }}}} -o jsonpath='{{.status.conditions[?(@.type==\"Ready\")].status}}' | grep -qx True"
        ),
        retries: Some(60),
        interval: Some("10s".to_string()),
        timeout: Some("15m".to_string()),
    }
}

/// Plan `req` for the cluster of `snap`/`model`.
pub fn plan(req: &Request, snap: &Snapshot, model: &Model) -> Result<Plan> {
    let st = super::state::build(snap, model);
    let platform = platform_of(snap);
    let version = super::sim::rke2_version(snap);
    let servers: Vec<&str> = names(&st, NodeRole::Server);
    let agents = names(&st, NodeRole::Agent);
    let witnesses = names(&st, NodeRole::Witness);
    if servers.is_empty() {
        return Err(Error::Declined(
            "no server node is known in the inputs: a rotation plan needs the cluster's nodes \
             (a support bundle or node snapshots)"
                .to_string(),
        ));
    }
    let mut summary = vec![format!(
        "plan {} for a {} cluster: {} server(s) ({}), {} witness(es), {} agent(s); rke2 {}",
        req.kind.as_str(),
        match platform {
            Platform::Harvester => "Harvester",
            Platform::Rke2 => "RKE2",
        },
        servers.len(),
        servers.join(", "),
        witnesses.len(),
        agents.len(),
        version.as_deref().unwrap_or("version unknown")
    )];
    let mut params = std::collections::BTreeMap::new();
    let rke2 = match platform {
        Platform::Harvester => "/opt/rke2/bin/rke2",
        Platform::Rke2 => "/usr/local/bin/rke2",
    };
    params.insert(
        "rke2".to_string(),
        param(ParamType::Path, rke2, "the rke2 binary on the nodes"),
    );
    let mut rb = Runbook {
        api_version: API_VERSION.to_string(),
        kind: KIND.to_string(),
        metadata: Metadata {
            name: format!("rotate-{}", req.kind.as_str()),
            description: None,
            source: None,
            platform: Some(
                match platform {
                    Platform::Harvester => "harvester",
                    Platform::Rke2 => "rke2",
                }
                .to_string(),
            ),
        },
        params,
        preflight: vec![Preflight {
            id: "servers-ready".to_string(),
            target: Target::Servers,
            run: format!(
                "{KUBECTL} get node {{{{ node.name }}}} -o jsonpath='{{.status.conditions[?(@.type==\"Ready\")].status}}'"
            ),
            expect: Some(Expect {
                exit: Some(0),
                stdout_matches: Some("True".to_string()),
            }),
            description: None,
        }],
        steps: Vec::new(),
    };
    match req.kind {
        Kind::LeafCerts => {
            if let Some(n) = &req.node
                && !st.nodes.contains_key(n)
            {
                return Err(Error::Usage(format!(
                    "--node {n}: no such node in the inputs (nodes: {})",
                    st.nodes.keys().cloned().collect::<Vec<_>>().join(", ")
                )));
            }
            plan_leaf(&mut rb, req, &st, version.as_deref(), &mut summary)
        }
        Kind::ServiceAccountKey => {
            refuse_gate(&gates::ROTATE_CA, version.as_deref(), "service-account-key")?;
            live_preflights(&mut rb, &st, snap, platform);
            plan_sa(&mut rb, &mut summary)
        }
        Kind::Ca => {
            refuse_gate(&gates::ROTATE_CA, version.as_deref(), "ca")?;
            live_preflights(&mut rb, &st, snap, platform);
            plan_ca(&mut rb, req, &st, snap, model, platform, &mut summary)?
        }
        Kind::Token => {
            if platform == Platform::Harvester {
                return Err(Error::Declined(
                    "plan token: the rke2 token is not rotated on Harvester. Harvester renders \
                     the token from /oem at every boot and `rke2 token rotate` does not edit those \
                     files, so the old token comes back and servers fail with \"bootstrap data \
                     already found and encrypted with different token\" (harvester-certificates; \
                     rke2 #6250)"
                        .to_string(),
                ));
            }
            refuse_gate(&gates::TOKEN_ROTATE, version.as_deref(), "token")?;
            live_preflights(&mut rb, &st, snap, platform);
            plan_token(&mut rb, &st, &mut summary)
        }
    }
    summary.push(format!(
        "{} steps; check it with: harrow simulate FILE INPUT...",
        rb.steps.len()
    ));
    let header = vec![
        format!(
            "Planned by harrow {} (plan {}) for the cluster of the inputs at {}.",
            env!("CARGO_PKG_VERSION"),
            req.kind.as_str(),
            crate::timefmt::rfc3339(req.at)
        ),
        "Check it before running: harrow simulate THIS-FILE INPUT... (the same inputs)."
            .to_string(),
    ];
    Ok(Plan {
        runbook: rb,
        summary,
        header,
    })
}

fn names(st: &TrustState, r: NodeRole) -> Vec<&str> {
    st.nodes
        .values()
        .filter(|n| n.role == Some(r))
        .map(|n| n.name.as_str())
        .collect()
}

fn refuse_gate(g: &gates::Gate, version: Option<&str>, kind: &str) -> Result<()> {
    if g.has(version) == Some(false) {
        return Err(Error::Declined(format!(
            "plan {kind}: the nodes run rke2 {}, which lacks {}: it arrived in {} ({})",
            version.unwrap_or_default(),
            g.capability,
            g.releases(),
            g.source
        )));
    }
    Ok(())
}

/// The etcd snapshot step every CA, service-account-key and token plan opens with, recording
/// which token the snapshot needs (by digest: the token itself stays where it is).
fn snapshot_step(prefix: &str) -> Step {
    let mut s = step(
        "etcd-snapshot",
        Target::FirstServer,
        &format!(
            "{{{{ params.rke2 }}}} etcd-snapshot save --name {prefix}-{{{{ run.id }}}}\n\
             sha256sum /var/lib/rancher/rke2/server/token > /var/lib/rancher/rke2/server/db/snapshots/{prefix}-{{{{ run.id }}}}.token.sha256"
        ),
    );
    s.description = Some(
        "the way back after the rotation is this snapshot; the token it needs for a restore is \
         recorded by digest next to it"
            .to_string(),
    );
    s.idempotent = Some(true);
    with(s, vec![Effect::EtcdSnapshot { record_token: true }])
}

/// Live preflights that the cluster still matches the snapshot it was planned on.
fn live_preflights(rb: &mut Runbook, st: &TrustState, snap: &Snapshot, platform: Platform) {
    if let Some(first) = st.nodes.values().find(|n| n.role == Some(NodeRole::Server)) {
        if let Some(f) = first.trusts.get(&Trust::Cluster(CaFile::ServerCa)) {
            let fps = f.certs.join(" ");
            rb.preflight.push(Preflight {
                id: "same-server-ca".to_string(),
                target: Target::FirstServer,
                run: "d=$(mktemp -d); awk -v d=\"$d\" '/BEGIN CERT/{n++} {print > (d \"/\" n)}' /var/lib/rancher/rke2/server/tls/server-ca.crt; for i in $(ls \"$d\" | sort -n); do openssl x509 -in \"$d/$i\" -outform DER | sha256sum | cut -c1-64; done | tr '\\n' ' '; rm -rf \"$d\"".to_string(),
                expect: Some(Expect {
                    exit: Some(0),
                    stdout_matches: Some(regex_escape(&fps)),
                }),
                description: Some(
                    "the served CA is the one the plan was made for (certificate fingerprints of server-ca.crt)"
                        .to_string(),
                ),
            });
        }
        if let Some(k) = first.service_keys.as_ref().and_then(|k| k.verify.first()) {
            rb.preflight.push(Preflight {
                id: "same-service-key".to_string(),
                target: Target::FirstServer,
                run: "openssl pkey -in /var/lib/rancher/rke2/server/tls/service.key -pubout -outform DER | sha256sum | cut -c1-64".to_string(),
                expect: Some(Expect {
                    exit: Some(0),
                    stdout_matches: Some(k.clone()),
                }),
                description: Some("the first service.key is the one the plan was made for".to_string()),
            });
        }
    }
    let members: Vec<&str> = st.etcd_members().map(|m| m.name.as_str()).collect();
    rb.preflight.push(Preflight {
        id: "same-etcd-members".to_string(),
        target: Target::FirstServer,
        run: format!("{KUBECTL} get nodes -l node-role.kubernetes.io/etcd=true -o jsonpath='{{.items[*].metadata.name}}'"),
        expect: Some(Expect {
            exit: Some(0),
            stdout_matches: Some(format!("^{}$", members.join(" "))),
        }),
        description: Some("etcd membership is the one the plan was made for".to_string()),
    });
    if platform == Platform::Harvester {
        rb.preflight.push(Preflight {
            id: "no-upgrade-or-rotation".to_string(),
            target: Target::FirstServer,
            run: format!(
                "{KUBECTL} get upgrades.harvesterhci.io -n harvester-system -o jsonpath='{{range .items[*]}}{{.status.conditions[?(@.type==\"Completed\")].status}}{{\"\\n\"}}{{end}}' | grep -vqx True && echo busy || echo idle"
            ),
            expect: Some(Expect {
                exit: Some(0),
                stdout_matches: Some("idle".to_string()),
            }),
            description: Some(
                "no Harvester upgrade is in progress (nor an auto-rotation about to fire: check the auto-rotate-rke2-certs setting)"
                    .to_string(),
            ),
        });
        let _ = snap;
    }
}

fn regex_escape(s: &str) -> String {
    s.chars()
        .flat_map(|c| {
            if "\\.+*?()|[]{}^$".contains(c) {
                vec!['\\', c]
            } else {
                vec![c]
            }
        })
        .collect()
}

fn restart_servers(id: &str) -> Step {
    let mut s = step(id, Target::Servers, "systemctl restart rke2-server");
    s.order = Some(Order::Serial);
    s.verify = Some(ready_verify());
    s.description =
        Some("one server at a time, each Ready before the next: etcd keeps quorum".to_string());
    with(s, vec![Effect::Restart {}])
}

fn restart_agents(id: &str) -> Step {
    let mut s = step(id, Target::Agents, "systemctl restart rke2-agent");
    s.order = Some(Order::Serial);
    s.verify = Some(ready_verify());
    with(s, vec![Effect::Restart {}])
}

fn plan_leaf(
    rb: &mut Runbook,
    req: &Request,
    st: &TrustState,
    version: Option<&str>,
    summary: &mut Vec<String>,
) {
    rb.metadata.source = Some(
        "rke2-certificate-management, \"Rotating Client and Server Certificates Manually\""
            .to_string(),
    );
    rb.metadata.description = Some(
        "stop each node's rke2, rotate its leaf certificates, start it: servers one at a time, then agents"
            .to_string(),
    );
    let services: String = req
        .services
        .iter()
        .map(|s| format!(" --service {}", crate::runbook::template::shell_quote(s)))
        .collect();
    let rotate = |unit: &str| {
        format!(
            "systemctl stop {unit}\n{{{{ params.rke2 }}}} certificate rotate{services}\nsystemctl start {unit}"
        )
    };
    let effects = || {
        vec![
            Effect::Stop {},
            Effect::RotateLeaf {
                services: req.services.clone(),
            },
            Effect::Start {},
        ]
    };
    if let Some(n) = &req.node {
        let node = &st.nodes[n];
        let unit = if node.is_server() {
            "rke2-server"
        } else {
            "rke2-agent"
        };
        let mut s = step("rotate-node", Target::Node(n.clone()), &rotate(unit));
        s.verify = Some(ready_verify());
        rb.steps.push(with(s, effects()));
        summary.push(format!(
            "only {n}{}",
            if req.services.is_empty() {
                String::new()
            } else {
                format!(", services {}", req.services.join(", "))
            }
        ));
        return;
    }
    let any_order = gates::LEAF_ANY_ORDER.has(version) == Some(true);
    let split = st
        .nodes
        .values()
        .any(|n| n.role == Some(NodeRole::Server) && (n.etcd != n.apiserver));
    if !any_order && split {
        // Before the January 2025 releases: etcd servers, then control-plane servers.
        summary.push(format!(
            "rke2 {} predates {}: etcd servers first, then control-plane servers, then agents",
            version.unwrap_or("(unknown)"),
            gates::LEAF_ANY_ORDER.releases()
        ));
        for (id, role) in [
            ("rotate-etcd-servers", "etcd"),
            ("rotate-control-plane", "control-plane"),
        ] {
            let mut s = step(id, Target::Role(role.to_string()), &rotate("rke2-server"));
            s.order = Some(Order::Serial);
            s.verify = Some(ready_verify());
            rb.steps.push(with(s, effects()));
        }
    } else {
        let mut s = step("rotate-servers", Target::Servers, &rotate("rke2-server"));
        s.order = Some(Order::Serial);
        s.verify = Some(ready_verify());
        s.description = Some("servers and witnesses one at a time: etcd keeps quorum".to_string());
        rb.steps.push(with(s, effects()));
    }
    if st.nodes.values().any(|n| n.role == Some(NodeRole::Agent)) {
        let mut s = step("rotate-agents", Target::Agents, &rotate("rke2-agent"));
        s.order = Some(Order::Serial);
        s.verify = Some(ready_verify());
        rb.steps.push(with(s, effects()));
    }
    rb.steps.push(gate_step(
        "refresh-kubeconfigs",
        "Copies of /etc/rancher/rke2/rke2.yaml kept elsewhere embed the old client-admin certificate: replace them now",
    ));
}

fn plan_sa(rb: &mut Runbook, summary: &mut Vec<String>) {
    rb.metadata.source =
        Some("rke2-certificate-management, \"Service-Account Issuer Key Rotation\"".to_string());
    rb.metadata.description = Some(
        "a new service-account signing key first, the current keys kept for verification, loaded with rotate-ca; servers restart one at a time; agents and pods need nothing"
            .to_string(),
    );
    rb.params.insert(
        "staging_dir".to_string(),
        param(
            ParamType::Path,
            "/opt/rke2/server",
            "where rotate-ca reads the staged tls/ (never the live server/tls)",
        ),
    );
    rb.steps.push(snapshot_step("pre-sa-key"));
    let mut s = step(
        "stage-key",
        Target::FirstServer,
        "mkdir -p {{ params.staging_dir }}/tls\nchmod 0700 {{ params.staging_dir }}/tls\nopenssl version | grep -qF 'OpenSSL 3' && F=-traditional\nopenssl genrsa ${F:-} -out {{ params.staging_dir }}/tls/service.key 2048\ncat /var/lib/rancher/rke2/server/tls/service.key >> {{ params.staging_dir }}/tls/service.key\nchmod 0600 {{ params.staging_dir }}/tls/service.key",
    );
    s.description = Some(
        "the new key first, then every current key (the old signing key must stay in the list)"
            .to_string(),
    );
    s.idempotent = Some(false);
    s.rollback = Some("rm -f {{ params.staging_dir }}/tls/service.key".to_string());
    rb.steps.push(with(
        s,
        vec![Effect::StageServiceKey {
            dir: "{{ params.staging_dir }}".to_string(),
            keep_old: true,
        }],
    ));
    let mut s = step(
        "load",
        Target::FirstServer,
        "{{ params.rke2 }} certificate rotate-ca --path={{ params.staging_dir }}",
    );
    s.checkpoint = Some(true);
    s.description = Some(
        "saves the new key list to the datastore; the way back is the etcd snapshot".to_string(),
    );
    rb.steps.push(with(
        s,
        vec![Effect::RotateCa {
            path: "{{ params.staging_dir }}".to_string(),
            force: false,
        }],
    ));
    rb.steps.push(restart_servers("restart-servers"));
    summary.push("agents and pods need no restart for a service-account key rotation".to_string());
}

/// Every place a node of the state reads its token from, absolute, sorted; plus the places rke2
/// always reads.
fn token_places(st: &TrustState) -> Vec<String> {
    let mut places: BTreeSet<String> = st
        .nodes
        .values()
        .filter_map(|n| n.token.as_ref())
        .map(|t| format!("/{}", t.source.trim_start_matches('/')))
        .collect();
    places.insert(format!("/{}", layout::CONFIG_FILE.trim_start_matches('/')));
    places.into_iter().collect()
}

/// The awk program of the token write: each whole-value occurrence of `o` in a line becomes `n`.
const REPLACE_TOKEN_AWK: &str = r#"{ out = ""; s = $0; while ((i = index(s, o)) > 0) { p = (i > 1) ? substr(s, i - 1, 1) : substr(out, length(out), 1); q = substr(s, i + length(o), 1); if ((p == "" || index(":= \"\047", p)) && (q == "" || index(" \"\047\r", q))) out = out substr(s, 1, i - 1) n; else out = out substr(s, 1, i - 1) o; s = substr(s, i + length(o)) } print out s }"#;

fn set_token_step(id: &str, places: &[String], ca_hash: Option<&str>, password: bool) -> Step {
    let files = places.join(" ");
    let mut cmds = Vec::new();
    if ca_hash.is_some() {
        cmds.push(format!(
            "for f in {files}; do if [ -f \"$f\" ]; then sed -i -E 's/K10[0-9a-f]{{64}}::/K10{{{{ params.new_ca_hash }}}}::/' \"$f\"; fi; done"
        ));
    }
    if password {
        // The password part of the old and new tokens (a full K10 token or a bare password),
        // replaced as plain text where it stands as a token value (after `:`, `=`, a space or a
        // quote, or at the start of a line, and up to a space, a quote or the end): never read as
        // a pattern, never inside a CA hash.
        cmds.push(format!(
            "o={{{{ params.old_token }}}}; n={{{{ params.new_token }}}}; o=${{o##*:}}; n=${{n##*:}}\n\
             [ -n \"$o\" ] && [ -n \"$n\" ] || {{ echo 'the old and the new token are both needed' >&2; exit 1; }}\n\
             for f in {files}; do [ -f \"$f\" ] || continue; awk -v o=\"$o\" -v n=\"$n\" '{REPLACE_TOKEN_AWK}' \"$f\" > \"$f.harrow-new\" && cat \"$f.harrow-new\" > \"$f\"; rm -f \"$f.harrow-new\"; done"
        ));
    }
    let mut s = step(id, Target::All, &cmds.join("\n"));
    s.order = Some(Order::Parallel);
    s.description = Some(
        "the new token into every place a node reads it (config, drop-ins, server/token, unit environment) before any restart"
            .to_string(),
    );
    s.idempotent = Some(true);
    with(
        s,
        vec![Effect::SetToken {
            places: places.to_vec(),
            ca_hash: ca_hash.map(str::to_string),
            password: password.then(|| "new".to_string()),
        }],
    )
}

fn plan_token(rb: &mut Runbook, st: &TrustState, summary: &mut Vec<String>) {
    rb.metadata.source =
        Some("reference rke2-pki §2.5 (rke2 token rotate), runbooks.md rotate-token".to_string());
    rb.metadata.description = Some(
        "rotate the server token, then write it into every place each node reads it before that node restarts"
            .to_string(),
    );
    for (name, env) in [
        ("old_token", "HARROW_OLD_TOKEN"),
        ("new_token", "HARROW_NEW_TOKEN"),
    ] {
        rb.params.insert(
            name.to_string(),
            Param {
                kind: ParamType::Secret,
                default: None,
                description: Some(format!(
                    "from the environment variable {env}; masked everywhere"
                )),
                from_env: Some(env.to_string()),
                from_file: None,
            },
        );
    }
    rb.steps.push(snapshot_step("pre-token"));
    let mut s = step(
        "token-rotate",
        Target::FirstServer,
        "{{ params.rke2 }} token rotate --token {{ params.old_token }} --new-token {{ params.new_token }}",
    );
    s.checkpoint = Some(true);
    s.description = Some("re-encrypts the bootstrap data with the new token; existing etcd snapshots still need the old one (recorded above)".to_string());
    rb.steps.push(with(s, vec![Effect::TokenRotate {}]));
    let places = token_places(st);
    rb.steps
        .push(set_token_step("write-token", &places, None, true));
    rb.steps.push(restart_servers("restart-servers"));
    rb.steps.push(restart_agents("restart-agents"));
    summary.push(format!(
        "the new token goes into {} before any restart",
        places.join(", ")
    ));
}

fn plan_ca(
    rb: &mut Runbook,
    req: &Request,
    st: &TrustState,
    snap: &Snapshot,
    model: &Model,
    platform: Platform,
    summary: &mut Vec<String>,
) -> Result<()> {
    let first = st
        .nodes
        .values()
        .find(|n| n.role == Some(NodeRole::Server) && n.files)
        .ok_or_else(|| {
            Error::Declined(
                "plan ca: no server's files are in the inputs: the current CAs must be read from a node snapshot of a server"
                    .to_string(),
            )
        })?;
    // Servers that disagree on a CA: converge first.
    for ca in CaFile::ALL {
        let bundles: BTreeSet<Vec<String>> = st
            .nodes
            .values()
            .filter(|n| n.is_server() && n.files)
            .filter_map(|n| n.trusts.get(&Trust::Cluster(ca)))
            .map(|f| f.certs.clone())
            .collect();
        if bundles.len() > 1 {
            return Err(Error::Declined(format!(
                "plan ca: the servers of the inputs disagree on {} (CERT007 lists them): a CA rotation planned on one of them would strand the others; converge first (rke2-certificate-management)",
                layout::short_path(ca.host_path())
            )));
        }
    }
    let certs_of = |ca: CaFile| -> Vec<&Cert> {
        first
            .trusts
            .get(&Trust::Cluster(ca))
            .map(|f| st.certs_of(f))
            .unwrap_or_default()
    };
    for ca in CaFile::ALL {
        if let Some(c) = certs_of(ca).first()
            && c.not_after < req.at
            && !req.force
        {
            return Err(Error::Declined(format!(
                "plan ca: {} expired on {}: a rotation on expired certificates needs the recovery path first (reference rke2-pki §7); plan with --force to rotate to a new root anyway",
                layout::short_path(ca.host_path()),
                crate::timefmt::rfc3339(c.not_after)
            )));
        }
    }
    let custom = certs_of(CaFile::ServerCa).len() > 1
        && certs_of(CaFile::ServerCa)
            .iter()
            .any(|c| c.subject_cn().is_some_and(|cn| cn.contains("intermediate")));
    let mode = match (req.ca_mode, req.force) {
        (Some(m), _) => m,
        (None, true) => CaMode::NewRoot,
        (None, false) if custom => CaMode::SameRoot,
        (None, false) => CaMode::SelfSigned,
    };
    if mode == CaMode::NewRoot && !req.force {
        return Err(Error::Declined(
            "plan ca --mode new-root: a new root that is not cross-signed needs rotate-ca --force, new tokens on every node and pod restarts; say --force to plan it"
                .to_string(),
        ));
    }
    let Some(dir) = &req.stage_dir else {
        return Err(Error::Usage(
            "plan ca needs --stage-dir DIR: the new CA material is generated offline there (keys mode 0600) and copied to the first server by the runbook"
                .to_string(),
        ));
    };
    if dir.exists()
        && std::fs::read_dir(dir)
            .map(|mut d| d.next().is_some())
            .unwrap_or(true)
    {
        return Err(Error::Usage(format!(
            "--stage-dir {}: not empty; give a new directory (existing material is never overwritten)",
            dir.display()
        )));
    }
    let mut current = Vec::new();
    for ca in CaFile::ALL {
        let crt = read_current(req, snap, &first.name, ca.host_path())?;
        let key = if mode == CaMode::SelfSigned {
            read_current(req, snap, &first.name, ca.key_host_path())?
        } else {
            String::new()
        };
        current.push(Current {
            ca,
            crt_pem: crt,
            key_pem: key,
        });
    }
    let custom_issuer = if mode == CaMode::SameRoot {
        let int = |f: &str| {
            read_current(
                req,
                snap,
                &first.name,
                &format!("{}{f}", layout::SERVER_TLS_DIR),
            )
        };
        Some((int("intermediate-ca.crt")?, int("intermediate-ca.key")?))
    } else {
        None
    };
    let staged = stage::generate(
        dir,
        mode,
        &current,
        custom_issuer
            .as_ref()
            .map(|(c, k)| (c.as_str(), k.as_str(), c.as_str())),
        req.at,
    )?;
    let new_certs = crate::pki::parse_certs(staged.server_ca_pem.as_bytes())
        .map_err(|e| Error::Internal(format!("re-reading the staged server-ca.crt: {e}")))?;
    let refs: Vec<&Cert> = new_certs.iter().collect();
    let new_hash = super::state::bundle_hash(&refs, None).unwrap_or_default();
    let old_hash = first.served_hash.clone().unwrap_or_default();
    let root_changes = new_hash != old_hash;
    let _ = model;
    summary.push(format!(
        "new CA material ({}) in {}: {} files, keys mode 0600",
        mode.as_str(),
        dir.display(),
        staged.files.len()
    ));
    summary.push(format!(
        "the served CA hash becomes {}… (RKE2's rule: the root the new server CA chains to){}",
        new_hash.get(..16).unwrap_or(&new_hash),
        if root_changes {
            "; every node's token is updated before its restart"
        } else {
            "; tokens stay valid"
        }
    ));
    rb.metadata.source = Some(match mode {
        CaMode::SelfSigned => {
            "rke2-certificate-management, \"Rotating Self-Signed CA Certificates\"".to_string()
        }
        CaMode::SameRoot => {
            "rke2-certificate-management, \"Rotating Custom CA Certificates\" (same root)"
                .to_string()
        }
        CaMode::NewRoot => {
            "rke2-certificate-management, \"Rotating Custom CA Certificates\" (new root, --force)"
                .to_string()
        }
    });
    rb.metadata.name = format!("rotate-ca-{}", mode.as_str());
    rb.params.insert(
        "staging_dir".to_string(),
        param(
            ParamType::Path,
            "/opt/rke2/server",
            "where rotate-ca reads the staged tls/ on the first server (never the live server/tls)",
        ),
    );
    rb.params.insert(
        "local_stage".to_string(),
        param(
            ParamType::Path,
            &dir.display().to_string(),
            "the material harrow plan generated, on this machine",
        ),
    );
    rb.params.insert(
        "new_ca_hash".to_string(),
        param(
            ParamType::String,
            &new_hash,
            "the CA hash new tokens pin (hashCA of the new server-ca.crt)",
        ),
    );
    rb.steps.push(snapshot_step("pre-ca"));
    let mut s = Step {
        copy: Some(CopySpec {
            src: "{{ params.local_stage }}/tls".to_string(),
            dest: "{{ params.staging_dir }}/tls".to_string(),
            mode: Some("0600".to_string()),
        }),
        run: None,
        ..step("put-material", Target::FirstServer, "")
    };
    s.description = Some(
        "the offline-generated CA material to the first server's staging directory".to_string(),
    );
    s.idempotent = Some(true);
    rb.steps.push(with(
        s,
        vec![Effect::StageCa {
            dir: "{{ params.staging_dir }}".to_string(),
            from: Some("{{ params.local_stage }}".to_string()),
        }],
    ));
    let mut s = step(
        "keep-service-key",
        Target::FirstServer,
        "cp -p /var/lib/rancher/rke2/server/tls/service.key {{ params.staging_dir }}/tls/service.key",
    );
    s.description = Some("the current service.key goes with the CAs unchanged".to_string());
    s.idempotent = Some(true);
    rb.steps.push(s);
    let force = mode == CaMode::NewRoot;
    let mut s = step(
        "load",
        Target::FirstServer,
        &format!(
            "{{{{ params.rke2 }}}} certificate rotate-ca --path={{{{ params.staging_dir }}}}{}",
            if force { " --force" } else { "" }
        ),
    );
    s.checkpoint = Some(true);
    s.description = Some(
        "saves the new CA data to the datastore; the way back is the etcd snapshot".to_string(),
    );
    rb.steps.push(with(
        s,
        vec![Effect::RotateCa {
            path: "{{ params.staging_dir }}".to_string(),
            force,
        }],
    ));
    // The datastore holds the new CA data now: the private keys staged for it (new CA keys,
    // root and intermediate keys, the service.key copy) do not stay on the node (CERT011, CERT015).
    let mut s = step(
        "remove-staged-keys",
        Target::FirstServer,
        "rm -f {{ params.staging_dir }}/tls/*.key {{ params.staging_dir }}/tls/etcd/*.key",
    );
    s.description = Some(
        "rotate-ca has saved the new CA data: the staged private keys are removed".to_string(),
    );
    s.idempotent = Some(true);
    rb.steps.push(s);
    if root_changes {
        let places = token_places(st);
        rb.steps.push(set_token_step(
            "write-token-hash",
            &places,
            Some("{{ params.new_ca_hash }}"),
            false,
        ));
        summary.push(format!("token places written: {}", places.join(", ")));
    }
    if gates::SUPERVISOR_REGEN.has(super::sim::rke2_version(snap).as_deref()) == Some(true) {
        rb.steps.push(restart_servers("restart-servers"));
    } else {
        // Before k3s #12978 rotate-ca does not regenerate the supervisor certificate: agents
        // joining later fail "CA cert validation failed … unknown authority" (PKI §9).
        let mut s = step(
            "restart-servers",
            Target::Servers,
            "systemctl stop rke2-server\n{{ params.rke2 }} certificate rotate --service rke2-server\nsystemctl start rke2-server",
        );
        s.order = Some(Order::Serial);
        s.verify = Some(ready_verify());
        s.description = Some(
            "one server at a time; this release's rotate-ca leaves the supervisor certificate on the old CA, so it is rotated with the restart (reference rke2-pki §9)"
                .to_string(),
        );
        rb.steps.push(with(
            s,
            vec![
                Effect::Stop {},
                Effect::RotateLeaf {
                    services: vec!["rke2-server".to_string()],
                },
                Effect::Start {},
            ],
        ));
        summary.push(format!(
            "rke2 {} predates {}: the supervisor certificate is rotated with each server's restart",
            super::sim::rke2_version(snap)
                .as_deref()
                .unwrap_or("(unknown)"),
            gates::SUPERVISOR_REGEN.releases()
        ));
    }
    if !st.nodes.values().all(|n| n.role != Some(NodeRole::Agent)) {
        rb.steps.push(gate_step(
            "check-servers",
            "Every server runs on the new CA: check the workloads before the agents restart",
        ));
        rb.steps.push(restart_agents("restart-agents"));
    }
    if force {
        let mut s = step(
            "restart-pods",
            Target::FirstServer,
            &format!(
                "for ns in $({KUBECTL} get ns -o jsonpath='{{.items[*].metadata.name}}'); do {KUBECTL} -n \"$ns\" rollout restart deploy,ds,sts; done"
            ),
        );
        s.description = Some(
            "workloads reload kube-root-ca.crt; rollout restarts leave VM (virt-launcher) pods and nodes in maintenance mode alone"
                .to_string(),
        );
        rb.steps.push(with(
            s,
            vec![Effect::RestartPods {
                maintenance_aware: platform == Platform::Harvester,
            }],
        ));
    }
    Ok(())
}

/// A current CA file of the first server: from `--ca-from` (a copy of its `server/tls`), else
/// from the inputs.
fn read_current(req: &Request, snap: &Snapshot, node: &str, host: &str) -> Result<String> {
    let rel = host
        .strip_prefix(layout::SERVER_TLS_DIR)
        .unwrap_or(host)
        .trim_start_matches('/');
    if let Some(from) = &req.ca_from {
        let p = from.join(rel);
        return std::fs::read_to_string(&p)
            .map_err(|e| Error::input(p.display().to_string(), None, e.to_string()));
    }
    let bytes = snap
        .nodes
        .get(node)
        .and_then(|n| n.files.get(host))
        .and_then(|copies| snap.first_copy(copies))
        .map(|(b, _, _)| String::from_utf8_lossy(b).to_string());
    match bytes {
        Some(b) if !host.ends_with(".key") || b.contains("PRIVATE KEY") => Ok(b),
        _ => Err(Error::Usage(format!(
            "plan ca: {rel} of {node} is not in the inputs (keys are replaced by fingerprints in collected snapshots): give --ca-from DIR, a root-only copy of a server's /var/lib/rancher/rke2/server/tls"
        ))),
    }
}
