//! Harvester rules (HARV). HARV001: RKE2 certificate auto-rotation disabled
//! (`auto-rotate-rke2-certs`, Harvester v1.3.0+). HARV003: an HTTP proxy set in the nodes' `/oem`
//! cloud-configs rather than through the `http-proxy` setting. HARV005: nodes the bundle lists
//! but cannot show (NotReady, or no node zip of their own).
//!
//! Settings and `/oem` proxy variables come from the model ([`crate::model::settings`]), parsed
//! once; proxy values are compared in memory and never shown. HARV005 reads the bundle's Node
//! objects and the paths its ingest saw; the bundle-wide gaps (no `nodes/`, an empty node zip)
//! are BUNDLE002's and are not repeated here.

use super::common::object_origin;
use super::gates::auto_rotate_setting;
use super::rule::{Findings, Need, Rule, Verdict};
use super::{Context, Origin, Severity};
use crate::model::settings::{AUTO_ROTATE, HTTP_PROXY, OemProxy};
use crate::snapshot::value::{as_str, get};
use crate::snapshot::{KubeObject, Snapshot};

/// RKE2 certificate auto-rotation disabled.
pub static HARV001: Rule = Rule {
    code: "HARV001",
    severity: Severity::Medium,
    title: "RKE2 certificate auto-rotation disabled",
    source: "seeds/harvester-credentials.txt (HC); reference/rke2-pki.md §8",
    needs: &[Need::SupportBundle],
    doc: r#"**What it reads.** The bundle's Harvester setting `auto-rotate-rke2-certs`
(`yamls/cluster/harvesterhci.io/v1beta1/settings.yaml`): its `value`, or its `default` when the
value is empty (the string `"null"` is empty), a JSON object inside a string,
`{"enable":false,"expiringInHours":240}`. The Harvester version comes from the `server-version`
setting or a node's `harvester-release.yaml`.

**What it reports.** One finding when the effective value has `"enable": false` (or no `enable`):
the field it came from (value or default) and the `expiringInHours` it would use.

**Why it matters.** RKE2 leaf certificates are valid for one year. Harvester v1.3.0 added this
setting so that the cluster rotates them before they expire; with it off, a cluster that has run
for a year can have Kubernetes components that fail to start after an upgrade or a reboot. The
Harvester documentation recommends enabling it.

**Remediation.** Enable the setting in the Harvester UI (Advanced > Settings >
`auto-rotate-rke2-certs`) or with `kubectl edit settings.harvesterhci.io auto-rotate-rke2-certs`,
setting `value: '{"enable":true,"expiringInHours":240}'` (the hours before expiry at which
Harvester rotates).

**Not evaluable** when the inputs hold no Harvester settings (no support bundle, or a bundle
from 2022 and before, whose collector did not gather them), or when the settings lack this one on
a version that has it. **Not applicable** before Harvester v1.3.0; an unknown version with no such
setting is taken as older, and the coverage row says so.

**Source.** `seeds/harvester-credentials.txt` (Other Credentials and Settings: "Enabling this
setting on your cluster is highly recommended"); `reference/rke2-pki.md` §8;
`reference/harvester-bundle.md` §5 (settings, JSON inside strings); rules.md HARV001.
"#,
    evaluate: harv001,
};

/// HTTP proxy set through `/oem` files.
pub static HARV003: Rule = Rule {
    code: "HARV003",
    severity: Severity::Low,
    title: "HTTP proxy set through files under /oem rather than the http-proxy setting",
    source: "seeds/harvester-credentials.txt (HC)",
    needs: &[Need::SupportBundle],
    doc: r#"**What it reads.** Every node's `/oem` cloud-configs (`*.yaml`, `*.yml`, `*.config`: a node
snapshot's `oem/`, a bundle node zip's `configs/oem/`): the lines that set `http_proxy` or
`https_proxy` (any case) to a value, as a YAML key (`environment:` of a stage,
`os.environment` of `harvester.config`) or as an assignment in a written file or a command
(`HTTP_PROXY="…"`, `export HTTPS_PROXY=…`). And the bundle's `http-proxy` setting
(`{"httpProxy","httpsProxy","noProxy"}`, JSON inside a string).

**What it reports.** One finding per node and file line that sets a proxy the `http-proxy` setting
does not hold: the setting is empty, or its `httpProxy` / `httpsProxy` differs from the value in
the file (compared in memory; proxy URLs may carry credentials and are never shown). A file that
repeats the setting's value (as the installer writes it when a proxy is given at install) is not
reported. Without the setting in the inputs, every such line is reported, and the message says the
setting could not be compared.

**Why it matters.** Harvester's documentation asks to change the proxy through the setting: a
proxy in `/oem` must be changed by hand on each node, is not given to new nodes, escapes the
webhook that checks the setting (node IPs and cluster CIDRs in `noProxy`), and depends on file
names and layouts Harvester may change.

**Remediation.** Set the proxy in the `http-proxy` setting (Harvester UI, Advanced > Settings, or
`kubectl edit settings.harvesterhci.io http-proxy`), then remove the proxy variables from the
`/oem` files on each node.

**Not evaluable** without any node's `/oem` files: a support bundle with node zips, or node
snapshots that include `/oem`.

**Source.** `seeds/harvester-credentials.txt` (HTTP Proxy: "Avoid changing the HTTP proxy from
files in the host /oem path"); `reference/harvester-bundle.md` §3, §5; rules.md HARV003.
"#,
    evaluate: harv003,
};

/// Nodes the bundle lists but cannot show.
pub static HARV005: Rule = Rule {
    code: "HARV005",
    severity: Severity::Info,
    title: "node expected but missing from the bundle",
    source: "reference/harvester-bundle.md §1, §3b",
    needs: &[Need::SupportBundle],
    doc: r#"**What it reads.** The bundle's Node objects (`yamls/cluster/v1/nodes.yaml`): their `Ready`
condition; and the node zips the bundle holds (`nodes/<name>.zip`).

**What it reports.** One finding per listed node that is not `Ready` (status `False` or
`Unknown`, or no `Ready` condition: its reason, message and time are given), or that has no node
zip although the bundle has a `nodes/` folder and no node snapshot of that node is among the
inputs. Bundle-wide gaps are BUNDLE002's and are not repeated here: a bundle without `nodes/`
(node collection timed out or was not triggered) and an empty node zip.

**Why it matters.** A NotReady node did not run the collector (its zip is missing or empty) and
may be the node that is failing; every rule that reads node files says nothing about it. The
report must name the nodes it could not see rather than judge the cluster by the others.

**Remediation.** Bring the node back (check its kubelet and rke2 service, `journalctl -u
rke2-server` or `rke2-agent`), then collect a new bundle; or collect a node snapshot of that node
by hand (a tar of its /etc/rancher, /var/lib/rancher/rke2 and /oem) and add it to the analysis.

**Not evaluable** without the bundle's Node objects (no support bundle, or one without
`nodes.yaml`).

**Source.** `reference/harvester-bundle.md` §1 (missing `nodes/`), §3b (node zips), §8 (a node
that never reports); rules.md HARV005.
"#,
    evaluate: harv005,
};

fn harv001(cx: &Context, out: &mut Findings) -> Verdict {
    let settings = &cx.model.settings;
    if settings.count == 0 {
        return Verdict::not_evaluable(
            "the inputs hold no Harvester settings (no support bundle, or a bundle that does not collect them)",
            Need::SupportBundle,
        );
    }
    let version = cx.snapshot.cluster.harvester_version.as_deref();
    let Some(setting) = &settings.auto_rotate else {
        return match auto_rotate_setting(version) {
            Err(why) => Verdict::not_applicable(why),
            Ok(v) => Verdict::not_evaluable(
                format!(
                    "{v} has the {AUTO_ROTATE} setting, but the bundle's {} settings lack it",
                    settings.count
                ),
                Need::SupportBundle,
            ),
        };
    };
    // The setting exists, so the version has it even when the version is unknown; a known
    // older version with the setting is still judged by the gate.
    if let (Some(_), Err(why)) = (version, auto_rotate_setting(version)) {
        return Verdict::not_applicable(why);
    }
    let a = match &setting.parsed {
        Ok(a) => a,
        Err(e) => {
            return Verdict::not_evaluable(
                format!(
                    "the {AUTO_ROTATE} setting's {} is {e}",
                    setting.source.as_str()
                ),
                Need::SupportBundle,
            );
        }
    };
    if !a.enable {
        let hours = a
            .expiring_in_hours
            .map(|h| format!(" (expiringInHours {h})"))
            .unwrap_or_default();
        out.add(
            None,
            Some(format!("settings/{AUTO_ROTATE}")),
            format!(
                "{AUTO_ROTATE} is disabled: its {} has enable false{hours}; Harvester does not rotate the RKE2 certificates before they expire (one year)",
                setting.source.as_str()
            ),
            vec![setting.origin.clone()],
            format!(
                "enable it in the Harvester UI (Advanced > Settings > {AUTO_ROTATE}) or with `kubectl edit settings.harvesterhci.io {AUTO_ROTATE}`: value '{{\"enable\":true,\"expiringInHours\":240}}'"
            ),
        );
    }
    Verdict::judged(
        format!("{AUTO_ROTATE} is disabled"),
        format!(
            "{AUTO_ROTATE} is enabled (expiringInHours {})",
            a.expiring_in_hours
                .map_or_else(|| "not set".to_string(), |h| h.to_string())
        ),
    )
}

fn harv003(cx: &Context, out: &mut Findings) -> Verdict {
    let settings = &cx.model.settings;
    if settings.oem_nodes.is_empty() {
        return Verdict::not_evaluable(
            "no node's /oem cloud-configs in the inputs (a support bundle's node zips or node snapshots with /oem carry them)",
            Need::SupportBundle,
        );
    }
    let setting = settings
        .http_proxy
        .as_ref()
        .and_then(|s| s.parsed.as_ref().ok().map(|p| (s, p)));
    for p in &settings.oem_proxies {
        let node = p.origin.node_name().to_string();
        let place = place(p);
        let (why, mut evidence) = match setting {
            None => (
                format!(
                    "the {HTTP_PROXY} setting is not in the inputs, so the two could not be compared"
                ),
                vec![],
            ),
            Some((s, proxy)) => {
                let held = if p.https {
                    proxy.https_proxy.as_ref()
                } else {
                    proxy.http_proxy.as_ref()
                };
                match held {
                    Some(v) if *v == p.value => continue,
                    Some(_) => (
                        format!(
                            "the {HTTP_PROXY} setting holds a different {} proxy",
                            if p.https { "HTTPS" } else { "HTTP" }
                        ),
                        vec![s.origin.clone()],
                    ),
                    None if proxy.is_set() => (
                        format!(
                            "the {HTTP_PROXY} setting sets no {} proxy",
                            if p.https { "HTTPS" } else { "HTTP" }
                        ),
                        vec![s.origin.clone()],
                    ),
                    None => (
                        format!("the {HTTP_PROXY} setting sets no proxy"),
                        vec![s.origin.clone()],
                    ),
                }
            }
        };
        evidence.insert(0, p.origin.clone());
        out.add(
            Some(node.clone()),
            Some(place.clone()),
            format!(
                "{place} on {node} sets {} outside Harvester's {HTTP_PROXY} setting: {why}; the value is not shown",
                p.variable
            ),
            evidence,
            format!(
                "set the proxy in the {HTTP_PROXY} setting (Harvester UI, Advanced > Settings, or `kubectl edit settings.harvesterhci.io {HTTP_PROXY}`), then remove {} from /{} on every node",
                p.variable,
                p.origin.host_path()
            ),
        );
    }
    let nodes = settings.oem_nodes.join(",");
    Verdict::judged(
        format!(
            "{} proxy line(s) in /oem files outside the {HTTP_PROXY} setting",
            out.len()
        ),
        format!("the /oem files of {nodes} set no proxy outside the {HTTP_PROXY} setting"),
    )
}

/// `oem/90_custom.yaml:12`.
fn place(p: &OemProxy) -> String {
    match &p.origin.pointer {
        Some(l) => format!("{}:{}", p.origin.host_path(), l.trim_start_matches("line ")),
        None => p.origin.host_path().to_string(),
    }
}

/// The `Ready` condition of a Node object: `(status, reason, message, lastTransitionTime)`.
fn ready(o: &KubeObject) -> Option<[Option<&str>; 4]> {
    let conditions = o.get(&["status", "conditions"])?.as_array()?;
    let c = conditions
        .iter()
        .find(|c| get(c, &["type"]).and_then(as_str) == Some("Ready"))?;
    let s = |k: &str| get(c, &[k]).and_then(as_str);
    Some([
        s("status"),
        s("reason"),
        s("message"),
        s("lastTransitionTime"),
    ])
}

/// Whether the bundle of `input` has a `nodes/` folder, and whether it holds `<name>.zip`.
fn node_zip(snap: &Snapshot, input: usize, name: &str) -> (bool, bool) {
    let (Some(tree), Some(b)) = (
        snap.trees.get(input),
        snap.bundles.iter().find(|b| b.input == input),
    ) else {
        return (false, false);
    };
    let dir = if b.top.is_empty() {
        "nodes/".to_string()
    } else {
        format!("{}/nodes/", b.top)
    };
    let zip = format!("{dir}{name}.zip");
    let outer = |p: &str| p.split('!').next().unwrap_or(p).to_string();
    let has_dir = tree
        .seen
        .iter()
        .any(|p| outer(p).starts_with(&dir) || outer(p) == dir.trim_end_matches('/'));
    let has_zip = tree.seen.iter().any(|p| outer(p) == zip);
    (has_dir, has_zip)
}

fn harv005(cx: &Context, out: &mut Findings) -> Verdict {
    let snap = cx.snapshot;
    let listed: Vec<(&crate::snapshot::Node, &KubeObject)> = snap
        .nodes
        .values()
        .filter_map(|n| n.object.and_then(|i| snap.objects.get(i)).map(|o| (n, o)))
        .collect();
    if listed.is_empty() {
        return Verdict::not_evaluable(
            "no Node objects in the inputs (no support bundle, or one without nodes.yaml)",
            Need::SupportBundle,
        );
    }
    let mut without_dir = false;
    for (node, o) in &listed {
        let mut faults = Vec::new();
        let origin = Origin::new(
            snap.trees.get(o.input).map_or("", |t| t.name.as_str()),
            o.path.as_str(),
        );
        let mut evidence = Vec::new();
        match ready(o) {
            Some([Some("True"), ..]) => {}
            Some([status, reason, message, since]) => {
                let mut f = format!("NotReady (Ready={}", status.unwrap_or("unknown"));
                for (k, v) in [("reason", reason), ("since", since)] {
                    if let Some(v) = v {
                        f.push_str(&format!(", {k} {v}"));
                    }
                }
                f.push(')');
                if let Some(m) = message {
                    f.push_str(&format!(": {m}"));
                }
                faults.push(f);
                evidence.push(origin.clone().at(Some(format!(
                    "items[{}].status.conditions[type=Ready]",
                    o.index
                ))));
            }
            None => {
                faults.push("without a Ready condition (its state is unknown)".to_string());
                evidence.push(
                    origin
                        .clone()
                        .at(Some(format!("items[{}].status", o.index))),
                );
            }
        }
        let (has_dir, has_zip) = node_zip(snap, o.input, &node.name);
        let other_input = node.files.values().flatten().any(|hf| hf.input != o.input);
        without_dir |= !has_dir;
        if has_dir && !has_zip && !other_input {
            faults.push(format!(
                "without a node zip (nodes/{}.zip): none of its configs or logs are in the bundle",
                node.name
            ));
            evidence.push(origin.clone().at(Some(format!("items[{}]", o.index))));
        }
        if faults.is_empty() {
            continue;
        }
        out.add(
            Some(node.name.clone()),
            Some(format!("Node/{}", node.name)),
            format!("node {} is listed {}", node.name, faults.join("; and ")),
            evidence,
            "bring the node back (its kubelet and rke2 service: `journalctl -u rke2-server` or `rke2-agent`) and collect a new bundle, or add a node snapshot of it (a tar of /etc/rancher, /var/lib/rancher/rke2 and /oem)".to_string(),
        );
    }
    let (zips, also) = if without_dir {
        (
            "",
            "; node zips not judged: the bundle has no nodes/ folder (BUNDLE002)",
        )
    } else {
        (" and each has its node zip", "")
    };
    Verdict::judged(
        format!(
            "{} of {} listed node(s) NotReady or missing from the bundle{also}",
            out.len(),
            listed.len()
        ),
        format!("the {} listed node(s) are Ready{zips}{also}", listed.len()),
    )
}

/// Certificate rotation stuck or failed.
pub static HARV004: Rule = Rule {
    code: "HARV004",
    severity: Severity::High,
    title: "RKE2 certificate rotation stuck or failed",
    source: "reference/rke2-pki.md §8",
    needs: &[Need::SupportBundle],
    doc: r#"**What it reads.** The provisioning Cluster `fleet-local/local`
(`yamls/namespaced/fleet-local/provisioning.cattle.io/v1/clusters.yaml`):
`spec.rkeConfig.rotateCertificates.generation`, which Harvester's `auto-rotate-rke2-certs`
controller (and a manual rotation from Rancher) increments; and the RKEControlPlane
`fleet-local/local` (`rke.cattle.io/v1/rkecontrolplanes.yaml`): `status.certificateRotationGeneration`,
the generation Rancher finished rotating. Where a release writes it (not any released Harvester
up to v1.8), also the annotation `harvesterhci.io/rke2-cert-rotation-state` of the
`auto-rotate-rke2-certs` setting: `{generation, phase, currentNode, startedAt, updatedAt,
lastError}`.

**What it reports.** One finding when the Cluster's generation is ahead of the control plane's
(a rotation was asked for and has not finished: stuck, or still running when the bundle was
collected); and one when the rotation-state annotation says `failed`, or a phase other than
`idle` or `completed` last updated more than 25 minutes before the collection (the controller
marks such a phase failed).

**Why it matters.** A rotation restarts rke2 on every node, one at a time. A rotation that stops
half-way leaves nodes with renewed and nodes with old certificates, and the auto-rotation
controller does not start another one until the generations are in sync: the certificates then
expire although auto-rotation is enabled.

**Remediation.** Look at the RKEControlPlane `fleet-local/local` conditions and the
`rancher-system-agent` logs of the nodes (`journalctl -u rancher-system-agent`) for the node that
did not finish; fix it (a node down, a failing plan), and the rotation resumes. With the
rotation-state annotation, read its `currentNode` and `lastError`.

**Not evaluable** without the provisioning Cluster or the RKEControlPlane `fleet-local/local` in
the inputs (no support bundle, or an older bundle that does not collect them).

**Source.** `reference/rke2-pki.md` §8 (auto-rotation: generation bump, state machine, 25-minute
phase timeout); `reference/harvester-bundle.md` §4; rules.md HARV004.
"#,
    evaluate: harv004,
};

/// The annotation a future release writes on the setting with the rotation's state.
const ROTATION_STATE: &str = "harvesterhci.io/rke2-cert-rotation-state";

/// How long a rotation phase may last before Harvester's controller marks it failed.
const PHASE_TIMEOUT_SECONDS: i64 = 25 * 60;

fn harv004(cx: &Context, out: &mut Findings) -> Verdict {
    let snap = cx.snapshot;
    let cluster = snap
        .objects_in("Cluster", "fleet-local")
        .find(|o| o.name == "local" && o.api_version.starts_with("provisioning.cattle.io/"));
    let plane = snap
        .objects_in("RKEControlPlane", "fleet-local")
        .find(|o| o.name == "local");
    let (Some(cluster), Some(plane)) = (cluster, plane) else {
        return Verdict::not_evaluable(
            "the provisioning Cluster or the RKEControlPlane fleet-local/local is not in the inputs",
            Need::SupportBundle,
        );
    };
    let asked = cluster
        .i64_at(&["spec", "rkeConfig", "rotateCertificates", "generation"])
        .unwrap_or(0);
    let done = plane
        .i64_at(&["status", "certificateRotationGeneration"])
        .unwrap_or(0);
    if asked > done {
        out.add(
            None,
            Some("Cluster/fleet-local/local".into()),
            format!(
                "the provisioning Cluster fleet-local/local asks for certificate rotation generation {asked}, but the RKEControlPlane has finished generation {done}: a rotation is stuck (or was still running when the bundle was collected), and no further automatic rotation starts until they agree"
            ),
            vec![
                object_origin(snap, cluster, ".spec.rkeConfig.rotateCertificates.generation"),
                object_origin(snap, plane, ".status.certificateRotationGeneration"),
            ],
            "read the RKEControlPlane fleet-local/local conditions and the nodes' rancher-system-agent logs (journalctl -u rancher-system-agent) for the node that did not finish; fix that node and the rotation resumes".into(),
        );
    }
    let now = snap.latest_collection().unwrap_or(cx.reference_time);
    let setting = snap
        .objects_of("Setting")
        .find(|o| o.name == AUTO_ROTATE && o.api_version.starts_with("harvesterhci.io/"));
    let mut state_note = String::new();
    if let Some((s, raw)) = setting.and_then(|s| s.annotation(ROTATION_STATE).map(|a| (s, a))) {
        state_note = "; rotation-state annotation read".into();
        let state: serde_json::Value = serde_json::from_str(raw).unwrap_or_default();
        let field = |k: &str| get(&state, &[k]).and_then(as_str);
        let phase = field("phase").unwrap_or("");
        let since = field("updatedAt")
            .or(field("startedAt"))
            .and_then(crate::timefmt::parse_rfc3339);
        let stale = since.map(|t| (now - t).whole_seconds());
        let fault = match (phase, stale) {
            ("failed", _) => Some(format!(
                "phase failed{}",
                field("lastError")
                    .map(|e| format!(" (lastError: {e})"))
                    .unwrap_or_default()
            )),
            ("" | "idle" | "completed", _) => None,
            (p, Some(age)) if age > PHASE_TIMEOUT_SECONDS => Some(format!(
                "phase {p} last updated {} before the collection (more than 25 minutes)",
                super::common::span(age)
            )),
            _ => None,
        };
        if let Some(fault) = fault {
            let node = field("currentNode").map(str::to_string);
            out.add(
                node.clone(),
                Some(format!("settings/{AUTO_ROTATE}")),
                format!(
                    "the {AUTO_ROTATE} rotation state says {fault}{}: the rotation halts until an operator intervenes",
                    node.map(|n| format!(", at node {n}")).unwrap_or_default()
                ),
                vec![object_origin(snap, s, &format!(".metadata.annotations[{ROTATION_STATE}]"))],
                "read the rotation state's currentNode and lastError, fix that node (its rke2-cert-rotate job's logs), then let the controller retry".into(),
            );
        }
    }
    Verdict::judged(
        format!(
            "certificate rotation stuck or failed (generation asked {asked}, done {done}){state_note}"
        ),
        if asked == 0 && done == 0 {
            format!("no certificate rotation asked yet (generation 0 on both){state_note}")
        } else {
            format!("certificate rotation generations in sync ({asked}){state_note}")
        },
    )
}
