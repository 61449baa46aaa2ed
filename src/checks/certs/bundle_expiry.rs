//! CERT014: certificate expiry seen only through a support bundle, which never carries
//! `server/tls`: the rke2 certificate monitor's Node events (`CertificateExpirationWarning`,
//! `CACertificateExpirationWarning`, cleared by a later `CertificateExpirationOK`), the harvester
//! pod log's `earliestExpiringCert.notAfter` (the certificate served at `default/kubernetes`) and,
//! where a release writes it, the Node annotation `harvesterhci.io/rke2-cert-info`.
//!
//! Events are deduplicated across `v1` and `events.k8s.io` (one object, two APIs). A node whose
//! live certificates are in the inputs is judged from its files by CERT001/CERT002; its events
//! are not repeated here, except for the upgrade guard (high), which only this rule knows.

use std::collections::{BTreeMap, BTreeSet};

use time::OffsetDateTime;

use super::super::common::{instant, object_origin, span};
use super::super::gates::Version;
use super::super::rule::{Findings, Need, Rule, Verdict};
use super::super::{Context, Origin, Severity};
use super::live_nodes;
use crate::snapshot::{KubeObject, Snapshot};
use crate::timefmt::parse_rfc3339;

/// Expiry seen only through the bundle.
pub static CERT014: Rule = Rule {
    code: "CERT014",
    severity: Severity::Medium,
    title: "certificate expiry reported by the cluster",
    source: "reference/rke2-pki.md §8, §9; reference/harvester-bundle.md §4",
    needs: &[Need::SupportBundle],
    doc: r#"**What it reads.** What a support bundle says about certificate expiry, since it never
carries the certificates of `server/tls` or `agent/`:

- the rke2 certificate monitor's Node events (`yamls/namespaced/<ns>/v1/events.yaml` and
  `events.k8s.io/v1/events.yaml`, one object counted once): `CertificateExpirationWarning`
  (leaves in the renew window), `CACertificateExpirationWarning` (CAs within a year), and
  `CertificateExpirationOK`, which clears the warnings of its node seen before it. The expiry
  instants come from the message (`<svc>/<file>: certificate CN=… will expire within N days at
  <time>`);
- the harvester pod log (`logs/harvester-system/harvester-*/apiserver.log`) line of the
  `auto-rotate-rke2-certs` controller with `earliestExpiringCert.notAfter`: the earliest NotAfter
  of the certificates served at `default/kubernetes` (the latest such line counts);
- where a release writes it (no released Harvester up to v1.8 does), the Node annotation
  `harvesterhci.io/rke2-cert-info` `closestExpiryTime`.

The window: the `auto-rotate-rke2-certs` setting's `expiringInHours` when the setting is enabled,
else the renew window of the cluster's rke2 version (90 or 120 days).

**What it reports.** One finding per node (its warning events and its annotation together), and
one for the pod log, when the earliest expiry is within the window (or past): the certificates
the event names, the instant and the time left. A warning event whose message gives no instant is reported as the
monitor raised it. **High** when the certificate served at `default/kubernetes` (the pod log's
earliest certificate, or `serving-kube-apiserver.crt` in an event) expires within the upgrade
guard of Harvester v1.5.0 and later: 7 days, or the `harvesterhci.io/minCertsExpirationInDay`
annotation of an `Upgrade`: Harvester then refuses to upgrade.

A node whose live certificates are in the inputs (a node snapshot) is judged from its files by
CERT001 and CERT002; its events are not repeated here unless the upgrade guard is at stake.

**Why it matters.** RKE2 leaf certificates last one year and are renewed only when rke2 restarts
within the renew window; a cluster that has not restarted (or whose auto-rotation is off) runs
until the certificates expire, and then its nodes cannot talk to the API server. A bundle shows
that only through these indirect signs.

**Remediation.** Enable `auto-rotate-rke2-certs` (HARV001), or rotate now: on each server in turn,
`systemctl stop rke2-server; rke2 certificate rotate; systemctl start rke2-server` (then the
agents: `systemctl restart rke2-agent`), one node at a time, waiting for each to be Ready. Before
a Harvester upgrade, rotate first so that the `default/kubernetes` certificate has more than the
guard left.

**Not evaluable** when the inputs hold none of these signs (no support bundle, no certificate
monitor event, no `earliestExpiringCert` line, no annotation): events expire after an hour, so
their absence proves nothing.

**Source.** `reference/rke2-pki.md` §8 (auto-rotation, the upgrade guard), §9 (the certificate
monitor's events); `reference/harvester-bundle.md` §4 (expiry seen only indirectly); rules.md
CERT014.
"#,
    evaluate: cert014,
};

const WARNING: &str = "CertificateExpirationWarning";
const CA_WARNING: &str = "CACertificateExpirationWarning";
const OK: &str = "CertificateExpirationOK";
/// The pod log field with the earliest NotAfter served at `default/kubernetes`.
const EARLIEST: &str = "earliestExpiringCert.notAfter=\"";
/// The Node annotation a future Harvester release writes.
const CERT_INFO: &str = "harvesterhci.io/rke2-cert-info";
/// The Upgrade annotation that changes the guard's 7 days.
const MIN_DAYS: &str = "harvesterhci.io/minCertsExpirationInDay";
/// The apiserver's serving certificate: the one `default/kubernetes` presents.
const APISERVER_SERVING: &str = "serving-kube-apiserver.crt";

/// What the events and the annotation say about one node.
#[derive(Default)]
struct NodeSigns {
    texts: Vec<String>,
    evidence: Vec<Origin>,
    high: bool,
}

/// One certificate-monitor event, deduplicated.
struct MonitorEvent<'a> {
    object: &'a KubeObject,
    node: &'a str,
    reason: &'a str,
    at: Option<OffsetDateTime>,
    message: &'a str,
    count: i64,
}

fn event_of(o: &KubeObject) -> Option<MonitorEvent<'_>> {
    let reason = o.str_at(&["reason"])?;
    if ![WARNING, CA_WARNING, OK].contains(&reason) {
        return None;
    }
    let node = o
        .str_at(&["involvedObject", "name"])
        .or_else(|| o.str_at(&["regarding", "name"]))?;
    let at = [
        &["lastTimestamp"][..],
        &["series", "lastObservedTime"],
        &["deprecatedLastTimestamp"],
        &["eventTime"],
        &["firstTimestamp"],
        &["metadata", "creationTimestamp"],
    ]
    .iter()
    .find_map(|p| o.str_at(p).and_then(parse_rfc3339));
    let message = o.str_at(&["message"]).or_else(|| o.str_at(&["note"]))?;
    let count = o
        .i64_at(&["count"])
        .or_else(|| o.i64_at(&["series", "count"]))
        .or_else(|| o.i64_at(&["deprecatedCount"]))
        .unwrap_or(1);
    Some(MonitorEvent {
        object: o,
        node,
        reason,
        at,
        message,
        count,
    })
}

/// Every `(file, instant)` a monitor message names: `…/<file>.crt: certificate … at <time>`.
fn expiries(message: &str) -> Vec<(Option<&str>, OffsetDateTime)> {
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(i) = message[from..].find(" at ") {
        let start = from + i + 4;
        let word = message[start..]
            .split_whitespace()
            .next()
            .unwrap_or("")
            .trim_end_matches([',', ';', '.', ')']);
        if let Some(t) = parse_rfc3339(word) {
            let before = &message[..from + i];
            let file = before.rfind(".crt:").and_then(|end| {
                let head = &before[..end + 4];
                head.rsplit([' ', ',']).next()
            });
            out.push((file, t));
        }
        from = start;
    }
    out
}

/// The window in force: seconds and how it was chosen.
fn window(cx: &Context) -> (i64, String) {
    if let Some(a) = cx
        .model
        .settings
        .auto_rotate
        .as_ref()
        .and_then(|s| s.parsed.as_ref().ok())
        .filter(|a| a.enable)
    {
        let hours = a.expiring_in_hours.unwrap_or(240);
        return (
            hours.saturating_mul(3600),
            format!("auto-rotate-rke2-certs expiringInHours {hours}"),
        );
    }
    (
        i64::from(cx.renew_window_days) * 86_400,
        format!(
            "the renew window of {} days ({})",
            cx.renew_window_days, cx.renew_window_source
        ),
    )
}

/// The upgrade guard in seconds, when Harvester v1.5.0 or later has one.
fn upgrade_guard(snap: &Snapshot) -> Option<(i64, String)> {
    let v = snap.cluster.harvester_version.as_deref()?;
    if Version::parse(v)? < Version(1, 5, 0) {
        return None;
    }
    let days = snap
        .objects_of("Upgrade")
        .filter(|o| o.api_version.starts_with("harvesterhci.io/"))
        .filter_map(|o| {
            o.annotation(MIN_DAYS)
                .and_then(|d| d.trim().parse::<i64>().ok())
        })
        .max();
    Some(match days {
        Some(d) => (d * 86_400, format!("{d} days ({MIN_DAYS} of an Upgrade)")),
        None => (7 * 86_400, "7 days".to_string()),
    })
}

/// `expires 2027-01-14T08:30:00Z (in 55d 1h)` or `expired … (3d 2h ago)`.
fn when(t: OffsetDateTime, residual: i64) -> String {
    if residual < 0 {
        format!("expired {} ({} ago)", instant(t), span(residual))
    } else {
        format!("expires {} (in {})", instant(t), span(residual))
    }
}

const REMEDIATION: &str = "enable auto-rotate-rke2-certs (HARV001), or rotate now one node at a time: on each server `systemctl stop rke2-server; rke2 certificate rotate; systemctl start rke2-server`, then restart rke2-agent on the agents, waiting for each node to be Ready";

fn cert014(cx: &Context, out: &mut Findings) -> Verdict {
    let snap = cx.snapshot;
    let (win, win_why) = window(cx);
    let guard = upgrade_guard(snap);
    let with_files = &live_nodes(cx).1;
    let residual = |t: OffsetDateTime| (t - cx.reference_time).whole_seconds();
    let guarded = |r: i64| guard.as_ref().is_some_and(|(g, _)| r <= *g);
    let mut signs = 0usize;
    let mut left_to_files = BTreeSet::new();

    // Certificate-monitor events, one per object (v1 and events.k8s.io show the same one).
    let mut per_node: BTreeMap<String, NodeSigns> = BTreeMap::new();
    let mut seen = BTreeSet::new();
    let mut by_node: BTreeMap<&str, Vec<MonitorEvent>> = BTreeMap::new();
    for o in snap.objects_of("Event") {
        let Some(e) = event_of(o) else { continue };
        let key = o
            .str_at(&["metadata", "uid"])
            .map(str::to_string)
            .unwrap_or_else(|| format!("{:?}/{}", o.namespace, o.name));
        if seen.insert(key) {
            by_node.entry(e.node).or_default().push(e);
        }
    }
    for (node, events) in &by_node {
        signs += events.len();
        let cleared_at = events
            .iter()
            .filter(|e| e.reason == OK)
            .filter_map(|e| e.at)
            .max();
        for reason in [WARNING, CA_WARNING] {
            let live: Vec<&MonitorEvent> = events
                .iter()
                .filter(|e| e.reason == reason)
                .filter(|e| match (e.at, cleared_at) {
                    (Some(w), Some(ok)) => w > ok,
                    (None, Some(_)) => false,
                    _ => true,
                })
                .collect();
            if live.is_empty() {
                continue;
            }
            let mut certs: Vec<(Option<&str>, OffsetDateTime)> =
                live.iter().flat_map(|e| expiries(e.message)).collect();
            certs.sort_by_key(|c| c.1);
            let earliest = certs.first().map(|c| c.1);
            if let Some(t) = earliest
                && residual(t) > win
            {
                continue;
            }
            let serving = certs
                .iter()
                .find(|c| c.0.is_some_and(|f| f.ends_with(APISERVER_SERVING)));
            let high = reason == WARNING && serving.is_some_and(|c| guarded(residual(c.1)));
            if with_files.contains(node) && !high {
                left_to_files.insert(*node);
                continue;
            }
            let count: i64 = live.iter().map(|e| e.count).sum();
            let last = live.iter().filter_map(|e| e.at).max();
            let what = match earliest {
                Some(t) => {
                    let mut files: Vec<&str> = certs
                        .iter()
                        .filter(|c| residual(c.1) <= win)
                        .filter_map(|c| c.0)
                        .collect();
                    files.dedup();
                    format!(
                        "the earliest certificate named {}{}",
                        when(t, residual(t)),
                        if files.is_empty() {
                            String::new()
                        } else {
                            format!(" ({})", files.join(", "))
                        }
                    )
                }
                None => "the message gives no instant (as the monitor raised it)".to_string(),
            };
            let mut text = format!(
                "{reason} ({count} time(s), last {}): {what}",
                last.map_or_else(|| "at an unknown time".to_string(), instant)
            );
            if high && let (Some(c), Some((_, g))) = (serving, &guard) {
                text.push_str(&format!(
                    "; the certificate served at default/kubernetes ({APISERVER_SERVING}) expires within the upgrade guard of {g}: Harvester refuses to upgrade until it is rotated ({})",
                    instant(c.1)
                ));
            }
            let sign = per_node.entry(node.to_string()).or_default();
            sign.texts.push(text);
            sign.evidence.extend(
                live.iter()
                    .map(|e| object_origin(snap, e.object, ".message")),
            );
            sign.high |= high;
        }
    }

    // The harvester pod log: the latest earliestExpiringCert line.
    let mut latest: Option<(OffsetDateTime, String, String, u64)> = None;
    for (input, log) in snap.pod_logs() {
        for l in &log.matches {
            let Some(i) = l.text.find(EARLIEST) else {
                continue;
            };
            let rest = &l.text[i + EARLIEST.len()..];
            let Some(t) = rest.split('"').next().and_then(parse_rfc3339) else {
                continue;
            };
            signs += 1;
            let name = snap
                .trees
                .get(input)
                .map_or_else(String::new, |t| t.name.clone());
            // Lines come in log order; a later log file or line replaces an earlier one.
            latest = Some((t, name, log.path.clone(), l.line));
        }
    }
    if let Some((t, input, path, line)) = latest {
        let r = residual(t);
        let high = guarded(r);
        if r <= win || high {
            let mut message = format!(
                "the harvester pod log's earliest certificate served at default/kubernetes {}, within {win_why}",
                when(t, r)
            );
            if let (true, Some((_, g))) = (high, &guard) {
                message.push_str(&format!(
                    "; within the upgrade guard of {g}: Harvester refuses to upgrade until it is rotated"
                ));
            }
            let f = out.add(
                None,
                Some("Service/default/kubernetes".into()),
                message,
                vec![Origin::new(input, path).at(Some(format!("line {line}")))],
                REMEDIATION.into(),
            );
            if high {
                f.severity = Severity::High;
            }
        }
    }

    // The Node annotation of a future release.
    for node in snap.nodes.values() {
        let Some(o) = node.object.and_then(|i| snap.objects.get(i)) else {
            continue;
        };
        let Some(raw) = o.annotation(CERT_INFO) else {
            continue;
        };
        let info: serde_json::Value = serde_json::from_str(raw).unwrap_or_default();
        let Some(t) =
            crate::snapshot::value::str_at(&info, &["closestExpiryTime"]).and_then(parse_rfc3339)
        else {
            continue;
        };
        signs += 1;
        let r = residual(t);
        if r > win || with_files.contains(node.name.as_str()) {
            continue;
        }
        let sign = per_node.entry(node.name.clone()).or_default();
        sign.texts.push(format!(
            "the {CERT_INFO} annotation says its closest certificate {}",
            when(t, r)
        ));
        sign.evidence.push(object_origin(
            snap,
            o,
            &format!(".metadata.annotations[{CERT_INFO}]"),
        ));
    }
    for (node, sign) in per_node {
        let f = out.add(
            Some(node.clone()),
            Some(format!("Node/{node}")),
            format!(
                "node {node}: {}; within {win_why}",
                sign.texts.join("; and ")
            ),
            sign.evidence,
            REMEDIATION.into(),
        );
        if sign.high {
            f.severity = Severity::High;
        }
    }

    if signs == 0 {
        return Verdict::not_evaluable(
            "no sign of certificate expiry in the inputs: no certificate-monitor event (events last an hour), no earliestExpiringCert line in the harvester pod log, no rke2-cert-info annotation",
            Need::SupportBundle,
        );
    }
    let files = if left_to_files.is_empty() {
        String::new()
    } else {
        format!(
            "; the warnings of {} are judged from their certificate files (CERT001, CERT002)",
            left_to_files.into_iter().collect::<Vec<_>>().join(",")
        )
    };
    Verdict::judged(
        format!(
            "{} sign(s) of a certificate expiring within {win_why}{files}",
            out.len()
        ),
        format!(
            "{signs} sign(s) read, none judged here of a certificate expiring within {win_why}{files}"
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expiries_read_the_monitor_message() {
        let m = "Node certificates require attention - restart rke2 on this node to trigger automatic rotation: api-server/client-kube-apiserver.crt: certificate CN=system:apiserver,O=system:masters will expire within 120 days at 2027-01-14T08:30:00Z, api-server/serving-kube-apiserver.crt: certificate CN=kube-apiserver will expire within 120 days at 2027-01-10T00:00:00Z";
        let e = expiries(m);
        assert_eq!(e.len(), 2);
        assert_eq!(e[0].0, Some("api-server/client-kube-apiserver.crt"));
        assert_eq!(e[1].0, Some("api-server/serving-kube-apiserver.crt"));
        assert_eq!(instant(e[1].1), "2027-01-10T00:00:00Z");
        assert!(expiries("nothing here at all").is_empty());
    }
}
