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
use crate::model::settings::AUTO_ROTATE;

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
