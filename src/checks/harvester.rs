//! Harvester rules (HARV). HARV001: RKE2 certificate auto-rotation disabled
//! (`auto-rotate-rke2-certs`, Harvester v1.3.0+). HARV003: an HTTP proxy set in the nodes' `/oem`
//! cloud-configs rather than through the `http-proxy` setting. HARV005: nodes the bundle lists
//! but cannot show (NotReady, or no node zip of their own).
//!
//! Settings and `/oem` proxy variables come from the model ([`crate::model::settings`]), parsed
//! once; proxy values are compared in memory and never shown. HARV005 reads the bundle's Node
//! objects and the paths its ingest saw; the bundle-wide gaps (no `nodes/`, an empty node zip)
//! are BUNDLE002's and are not repeated here.

use super::gates::auto_rotate_setting;
use super::rule::{Findings, Need, Rule, Verdict};
use super::{Context, Severity};
use crate::model::settings::{AUTO_ROTATE, HTTP_PROXY, OemProxy};

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
