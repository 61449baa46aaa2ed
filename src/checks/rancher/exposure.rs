//! Rancher exposure rules: RANCHER005 (the Rancher ingress: TLS below 1.2, HSTS off, no
//! source-range allow-list), RANCHER006 (rancher-backup Backups without encryption), RANCHER007
//! (downstream clusters disconnected).
//!
//! They read the Ingresses of `cattle-system` that route to the `rancher` service, the
//! ingress-nginx controller's ConfigMap (its effective configuration, rendered from the chart
//! values), `resources.cattle.io` Backups, `catalog.cattle.io` Apps and `management.cattle.io`
//! Clusters.

use std::collections::BTreeMap;

use super::super::rule::{Findings, Need, Rule, Verdict};
use super::super::{Context, Severity};
use super::{listed, mgmt, objects, origin, target};
use crate::snapshot::value::{as_bool, as_str, get};
use crate::snapshot::{KubeObject, Snapshot};

/// The ConfigMaps that hold an ingress-nginx controller's configuration.
const CONTROLLER_CONFIGMAPS: &[&str] = &[
    "rke2-ingress-nginx-controller",
    "ingress-nginx-controller",
    "nginx-configuration",
];

/// The annotations (and controller keys) of a source-range allow-list.
const ALLOW_LIST: &[&str] = &["whitelist-source-range", "allowlist-source-range"];

/// The protocols below TLS 1.2 an `ssl-protocols` value may name.
const WEAK_PROTOCOLS: &[&str] = &["SSLv2", "SSLv3", "TLSv1", "TLSv1.1"];

/// ingress-nginx's defaults (controller v0.35 and later; RKE2 ships v1).
const DEFAULT_SSL_PROTOCOLS: &str = "TLSv1.2 TLSv1.3";

/// Ingress TLS, HSTS and allow-list.
pub static RANCHER005: Rule = Rule {
    code: "RANCHER005",
    severity: Severity::Medium,
    title: "Rancher ingress allows TLS below 1.2, has HSTS off or no source-range allow-list",
    source: "seeds/rancher-security-hardening.txt (RS)",
    needs: &[Need::SupportBundle],
    doc: r#"**What it reads.** The Ingresses of `cattle-system` that route to the `rancher` service
(`networking.k8s.io` or, on old clusters, `extensions`; Harvester's is `rancher-expose`), their
annotations `nginx.ingress.kubernetes.io/whitelist-source-range` (or `allowlist-source-range`);
and the ingress-nginx controller's ConfigMap (`kube-system/rke2-ingress-nginx-controller` on
RKE2, `ingress-nginx-controller` or `nginx-configuration` elsewhere): `ssl-protocols`, `hsts`,
`whitelist-source-range`. A key the ConfigMap does not set has ingress-nginx's default
(`ssl-protocols: TLSv1.2 TLSv1.3`, `hsts: true`, no allow-list).

**What it reports.** One finding for the controller when `ssl-protocols` names a protocol below
TLS 1.2 (SSLv2, SSLv3, TLSv1, TLSv1.1), one when `hsts` is `false`, and one per Rancher ingress
that has no source-range allow-list (neither its annotation nor the controller's key).

**Why it matters.** The seed asks for TLS 1.2 or later with strong ciphers, HSTS, and access to
Rancher's API and UI restricted by IP (or a VPN): Rancher's login and API are the keys to every
managed cluster.

**Remediation.** Set the controller's configuration through a HelmChartConfig
(`kube-system/rke2-ingress-nginx`, `controller.config`): `ssl-protocols: "TLSv1.2 TLSv1.3"`,
`hsts: "true"`; and add `nginx.ingress.kubernetes.io/whitelist-source-range: "<admin CIDRs>"` to
the Rancher ingress (or the controller's `whitelist-source-range`).

**Not evaluable** without the Ingresses of `cattle-system` or without the controller's ConfigMap
(TLS and HSTS unknown: a missing allow-list is still reported). **Not applicable** when the
ingress lists are present but none routes to the `rancher` service.

**Source.** `seeds/rancher-security-hardening.txt` ("Expose Rancher only via HTTPS", "Configure
strong TLS settings", "Restrict access by IP"); rules.md RANCHER005.
"#,
    evaluate: rancher005,
};

/// Backups without encryption.
pub static RANCHER006: Rule = Rule {
    code: "RANCHER006",
    severity: Severity::Medium,
    title: "Rancher backups without encryption",
    source: "seeds/rancher-security-hardening.txt (RS)",
    needs: &[Need::SupportBundle],
    doc: r#"**What it reads.** The rancher-backup operator's Backups (`resources.cattle.io`,
cluster-scoped): `spec.encryptionConfigSecretName`, `spec.storageLocation`; and whether the
operator is installed (its Backups list in the bundle, or a `catalog.cattle.io` App named
`rancher-backup`).

**What it reports.** One finding per Backup without `encryptionConfigSecretName`.

**Why it matters.** A Rancher backup holds every Rancher object, the Secrets among them
(cloud credentials, cluster registration and API tokens); unencrypted, the backup's storage
(an S3 bucket, a volume) holds them in the clear. The seed asks for encrypted backups.

**Remediation.** Create an `EncryptionConfiguration` Secret in `cattle-resources-system` and set
`spec.encryptionConfigSecretName` on each Backup (then take a new backup and remove the old
unencrypted ones from the storage location).

**Not applicable** when the operator is not installed (a support bundle lists every
cluster-scoped resource the cluster serves: no Backups list and no `rancher-backup` App).
**Not evaluable** without a support bundle.

**Source.** `seeds/rancher-security-hardening.txt` ("Install Rancher Backup Operator",
"Configure encrypted backups", checklist "Backups encrypted"); rules.md RANCHER006.
"#,
    evaluate: rancher006,
};

/// Disconnected downstream clusters.
pub static RANCHER007: Rule = Rule {
    code: "RANCHER007",
    severity: Severity::Low,
    title: "downstream clusters disconnected",
    source: "seeds/rancher-security-hardening.txt (RS)",
    needs: &[Need::SupportBundle],
    doc: r#"**What it reads.** Rancher's Clusters (`management.cattle.io`): the `Connected`
condition, else `status.connected`, else the `Ready` condition, of every cluster but `local`.

**What it reports.** One finding per downstream cluster that is not connected (condition
`False` or `Unknown`, or `connected: false`): its name, display name and since when.

**Why it matters.** A disconnected cluster is no longer managed: Rancher cannot rotate its
certificates, apply its role bindings or upgrade its agents, and its registration and API
tokens stay valid. The seed asks to identify and clean up disconnected clusters.

**Remediation.** Check the cluster's agent (`kubectl -n cattle-system logs -l
app=cattle-cluster-agent` on the downstream cluster); if the cluster is gone, delete it from
Rancher (`kubectl delete clusters.management.cattle.io <name>`).

**Not applicable** when only the `local` cluster exists. **Not evaluable** without the Clusters
(no support bundle), or when no downstream cluster says whether it is connected.

**Source.** `seeds/rancher-security-hardening.txt` ("Identify disconnected clusters", "Clean up
disconnected clusters"); rules.md RANCHER007.
"#,
    evaluate: rancher007,
};

/// True when an Ingress routes (a path or its default backend) to the `rancher` service.
fn routes_to_rancher(o: &KubeObject) -> bool {
    let service = |b: &serde_json::Value| {
        get(b, &["service", "name"])
            .or_else(|| get(b, &["serviceName"]))
            .and_then(as_str)
            == Some("rancher")
    };
    let default = o
        .get(&["spec", "defaultBackend"])
        .or_else(|| o.get(&["spec", "backend"]))
        .is_some_and(service);
    let paths = o
        .get(&["spec", "rules"])
        .and_then(|r| r.as_array())
        .into_iter()
        .flatten()
        .filter_map(|r| get(r, &["http", "paths"]).and_then(|p| p.as_array()))
        .flatten()
        .filter_map(|p| get(p, &["backend"]))
        .any(service);
    default || paths
}

/// The Rancher ingresses, one per name (`networking.k8s.io` preferred over `extensions`).
fn rancher_ingresses(snap: &Snapshot) -> Vec<&KubeObject> {
    let mut by_name: BTreeMap<&str, &KubeObject> = BTreeMap::new();
    for o in snap.objects_in("Ingress", "cattle-system") {
        if !routes_to_rancher(o) {
            continue;
        }
        let newer = o.api_version.starts_with("networking.k8s.io/");
        by_name
            .entry(o.name.as_str())
            .and_modify(|e| {
                if newer {
                    *e = o;
                }
            })
            .or_insert(o);
    }
    by_name.into_values().collect()
}

/// The ingress-nginx controller's ConfigMap.
fn controller_config(snap: &Snapshot) -> Option<&KubeObject> {
    snap.objects_of("ConfigMap").find(|o| {
        CONTROLLER_CONFIGMAPS.contains(&o.name.as_str())
            || (o.label("app.kubernetes.io/component") == Some("controller")
                && o.label("app.kubernetes.io/name")
                    .is_some_and(|n| n.contains("ingress-nginx")))
    })
}

fn rancher005(cx: &Context, out: &mut Findings) -> Verdict {
    let snap = cx.snapshot;
    let ingresses = rancher_ingresses(snap);
    if ingresses.is_empty() {
        let any = snap.objects_of("Ingress").next().is_some()
            || listed(snap, "networking.k8s.io", "ingresses")
            || listed(snap, "extensions", "ingresses");
        return if any {
            Verdict::not_applicable(
                "no Ingress of cattle-system routes to the rancher service: Rancher is not exposed through an ingress",
            )
        } else {
            Verdict::not_evaluable(
                "the inputs hold no Ingresses (a support bundle carries those of cattle-system)",
                Need::SupportBundle,
            )
        };
    }
    let config = controller_config(snap);
    let key = |k: &str| config.and_then(|c| c.str_at(&["data", k]));
    let controller_allow = ALLOW_LIST.iter().find_map(|k| key(k));
    if let Some(c) = config {
        let protocols = key("ssl-protocols").unwrap_or(DEFAULT_SSL_PROTOCOLS);
        let weak: Vec<&str> = protocols
            .split_whitespace()
            .filter(|p| WEAK_PROTOCOLS.contains(p))
            .collect();
        if !weak.is_empty() {
            out.add(
                None,
                Some(target(c)),
                format!(
                    "the ingress controller serving Rancher allows {} (ssl-protocols \"{protocols}\"): below TLS 1.2",
                    weak.join(", ")
                ),
                vec![origin(snap, c, ".data.ssl-protocols")],
                "set controller.config.ssl-protocols: \"TLSv1.2 TLSv1.3\" in the HelmChartConfig kube-system/rke2-ingress-nginx".to_string(),
            );
        }
        if key("hsts")
            .map(|v| serde_json::Value::String(v.to_string()))
            .as_ref()
            .and_then(as_bool)
            == Some(false)
        {
            out.add(
                None,
                Some(target(c)),
                "the ingress controller serving Rancher has HSTS off (hsts \"false\"): browsers may be downgraded to plain HTTP".to_string(),
                vec![origin(snap, c, ".data.hsts")],
                "set controller.config.hsts: \"true\" in the HelmChartConfig kube-system/rke2-ingress-nginx".to_string(),
            );
        }
    }
    for i in &ingresses {
        let annotated = ALLOW_LIST.iter().any(|k| {
            i.annotation(&format!("nginx.ingress.kubernetes.io/{k}"))
                .is_some()
        });
        if annotated || controller_allow.is_some() {
            continue;
        }
        out.add(
            None,
            Some(target(i)),
            format!(
                "the Rancher ingress {} has no source-range allow-list (no whitelist-source-range annotation, none in the controller's configuration): Rancher's UI and API answer every address",
                i.name
            ),
            vec![origin(snap, i, ".metadata.annotations")],
            format!(
                "add nginx.ingress.kubernetes.io/whitelist-source-range: \"<admin CIDRs>\" to Ingress cattle-system/{} (or reach Rancher through a VPN)",
                i.name
            ),
        );
    }
    if config.is_none() && out.is_empty() {
        return Verdict::not_evaluable(
            "the inputs hold no ingress-nginx controller ConfigMap: the TLS protocols and HSTS are unknown",
            Need::SupportBundle,
        );
    }
    let names: Vec<&str> = ingresses.iter().map(|i| i.name.as_str()).collect();
    Verdict::judged(
        format!(
            "Rancher ingress {}: weak TLS, HSTS off or no allow-list{}",
            names.join(","),
            if config.is_none() {
                " (TLS and HSTS unknown: no controller ConfigMap)"
            } else {
                ""
            }
        ),
        format!(
            "Rancher ingress {}: TLS 1.2 or later, HSTS on, source ranges allow-listed",
            names.join(",")
        ),
    )
}

fn rancher006(cx: &Context, out: &mut Findings) -> Verdict {
    let snap = cx.snapshot;
    let backups: Vec<&KubeObject> = objects(snap, "resources.cattle.io", "Backup").collect();
    let app = objects(snap, "catalog.cattle.io", "App").any(|a| a.name == "rancher-backup");
    let installed = !backups.is_empty() || app || listed(snap, "resources.cattle.io", "backups");
    if !installed {
        if snap.bundles.is_empty() {
            return Verdict::not_evaluable(
                "no support bundle: whether the rancher-backup operator is installed is unknown",
                Need::SupportBundle,
            );
        }
        return Verdict::not_applicable(
            "the rancher-backup operator is not installed (the bundle lists no resources.cattle.io Backups and no rancher-backup App)",
        );
    }
    for b in &backups {
        if b.str_at(&["spec", "encryptionConfigSecretName"]).is_some() {
            continue;
        }
        let storage = b
            .get(&["spec", "storageLocation"])
            .and_then(|s| s.as_object())
            .and_then(|m| m.keys().next().cloned())
            .map_or_else(
                || "the operator's default storage location".to_string(),
                |k| format!("its {k} storage location"),
            );
        out.add(
            None,
            Some(target(b)),
            format!(
                "Backup {} has no encryptionConfigSecretName: its archives in {storage} hold Rancher's Secrets unencrypted",
                b.name
            ),
            vec![origin(snap, b, ".spec")],
            format!(
                "create an EncryptionConfiguration Secret in cattle-resources-system, set spec.encryptionConfigSecretName on Backup {}, take a new backup and remove the unencrypted ones",
                b.name
            ),
        );
    }
    Verdict::judged(
        "Rancher backups without encryption",
        format!(
            "{} Backup(s), each with an encryptionConfigSecretName",
            backups.len()
        ),
    )
}

/// `Some(true)` connected, `Some(false)` not, `None` unknown; with the place that says it and
/// the condition's reason and time.
fn connected(o: &KubeObject) -> Option<(bool, String, Option<String>)> {
    let conditions = o
        .get(&["status", "conditions"])
        .and_then(|c| c.as_array())
        .map(Vec::as_slice)
        .unwrap_or_default();
    let condition = |t: &str| {
        conditions
            .iter()
            .find(|c| get(c, &["type"]).and_then(as_str) == Some(t))
    };
    let from_condition = |t: &str| {
        condition(t).and_then(|c| {
            let status = get(c, &["status"]).and_then(as_str)?;
            let since = get(c, &["lastUpdateTime"])
                .or_else(|| get(c, &["lastTransitionTime"]))
                .and_then(as_str)
                .map(str::to_string);
            Some((status == "True", format!("condition {t}={status}"), since))
        })
    };
    from_condition("Connected")
        .or_else(|| {
            o.get(&["status", "connected"])
                .and_then(as_bool)
                .map(|c| (c, format!("status.connected={c}"), None))
        })
        .or_else(|| from_condition("Ready"))
}

fn rancher007(cx: &Context, out: &mut Findings) -> Verdict {
    let snap = cx.snapshot;
    let clusters: Vec<&KubeObject> = mgmt(snap, "Cluster").collect();
    if clusters.is_empty() {
        return Verdict::not_evaluable(
            "the inputs hold no Rancher Clusters (management.cattle.io)",
            Need::SupportBundle,
        );
    }
    let downstream: Vec<&KubeObject> = clusters
        .iter()
        .copied()
        .filter(|c| c.name != "local")
        .collect();
    if downstream.is_empty() {
        return Verdict::not_applicable("only the local cluster exists: no downstream cluster");
    }
    let mut known = 0;
    for c in &downstream {
        let Some((ok, said, since)) = connected(c) else {
            continue;
        };
        known += 1;
        if ok {
            continue;
        }
        let display = c
            .str_at(&["spec", "displayName"])
            .filter(|d| *d != c.name)
            .map(|d| format!(" ({d})"))
            .unwrap_or_default();
        let since = since.map(|s| format!(" since {s}")).unwrap_or_default();
        out.add(
            None,
            Some(target(c)),
            format!(
                "downstream cluster {}{display} is not connected ({said}{since})",
                c.name
            ),
            vec![origin(snap, c, ".status")],
            format!(
                "check the cluster's agent (`kubectl -n cattle-system logs -l app=cattle-cluster-agent` on it); if the cluster is gone, delete it from Rancher (`kubectl delete clusters.management.cattle.io {}`)",
                c.name
            ),
        );
    }
    if known == 0 {
        return Verdict::not_evaluable(
            format!(
                "none of the {} downstream cluster(s) says whether it is connected",
                downstream.len()
            ),
            Need::SupportBundle,
        );
    }
    Verdict::judged(
        format!(
            "{} of {} downstream cluster(s) disconnected",
            out.len(),
            downstream.len()
        ),
        format!("the {known} downstream cluster(s) are connected"),
    )
}
