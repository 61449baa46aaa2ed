//! CERT013: trust copies in bundle objects that disagree with the cluster CAs
//! (`kube-root-ca.crt` ConfigMaps with the server CA, `extension-apiserver-authentication` with
//! the client and request-header CAs), and certificates in bundle objects (webhook and APIService
//! `caBundle`s, CA ConfigMaps, Rancher `cacerts`) expired at the reference time.

use std::collections::{BTreeMap, BTreeSet};

use super::{current_ca, describe};
use crate::checks::common::{instant, short, span};
use crate::checks::rule::{Findings, Need, Rule, Verdict};
use crate::checks::{Context, Origin, Severity};
use crate::layout::CaFile;
use crate::model::certs::{CertEntry, Location, Status};
use crate::model::inventory::{InUse, Owner};

/// Trust copies in bundle objects disagree with the cluster CAs, or an object's certificate
/// expired.
pub static CERT013: Rule = Rule {
    code: "CERT013",
    severity: Severity::High,
    title: "trust copy in a bundle object disagrees with the cluster CA",
    source: "reference/harvester-bundle.md §4",
    needs: &[Need::SupportBundle],
    doc: r#"**What it reads.** The certificate inventory's *object* certificates (from the support
bundle's objects): every namespace's `kube-root-ca.crt` ConfigMap (`ca.crt`), `kube-system`'s
`extension-apiserver-authentication` (`client-ca-file`, `requestheader-client-ca-file`), webhook
and APIService `caBundle`s, CA ConfigMaps (`kubevirt-ca`, CDI signer bundles) and Rancher's
`cacerts` settings; and, when node snapshots of servers are given, the first certificate of their
`server/tls/server-ca.crt`, `client-ca.crt` and `request-header-ca.crt`.

**What it reports.** One finding per group of trust copies holding the same certificates that
does not hold the cluster's current CA (server CA for `kube-root-ca.crt`, client CA for
`client-ca-file`, request-header CA for `requestheader-client-ca-file`); without server snapshots,
copies of `kube-root-ca.crt` that differ from the majority of the namespaces (or, without a
majority, one finding naming every version). One finding per certificate of a bundle object that
is expired at the reference time (title "certificate in a bundle object expired"), naming the
objects holding it: high, or info when a component that rotates its own CA owns it (kubevirt, CDI,
rancher-webhook).

**Why it matters.** Pods verify the API server with `kube-root-ca.crt`; aggregated API servers
verify clients with `extension-apiserver-authentication`. A copy left from before a CA rotation
breaks both. An expired `caBundle` makes the API server reject the webhook or the aggregated API
it fronts (admission calls fail, or with `failurePolicy: Ignore` are skipped).

**Remediation.** kube-controller-manager republishes `kube-root-ca.crt` and kube-apiserver
`extension-apiserver-authentication` from their CA files: restart them (rke2-server on the
servers) after a CA change and check the servers' files agree (CERT007). For an expired `caBundle`
of a component that rotates itself, check that the component (its operator or webhook pod) runs
and restart it so it renews and republishes its CA; otherwise renew the certificate of the
webhook's or APIService's owner.

**Not evaluable** without a support bundle (no bundle object carries a certificate). Without node
snapshots of the servers the cluster CAs are unknown: copies are compared with each other and
judged on expiry, and coverage says so.

**Source.** `reference/harvester-bundle.md` §4 (certificates present in bundles); rules.md
CERT013, "Owners".
"#,
    evaluate: cert013,
};

/// The trust copies compared with a cluster CA: (name, key, namespace if fixed, CA).
const COPIES: [(&str, &str, Option<&str>, CaFile); 3] = [
    ("kube-root-ca.crt", "ca.crt", None, CaFile::ServerCa),
    (
        "extension-apiserver-authentication",
        "client-ca-file",
        Some("kube-system"),
        CaFile::ClientCa,
    ),
    (
        "extension-apiserver-authentication",
        "requestheader-client-ca-file",
        Some("kube-system"),
        CaFile::RequestHeaderCa,
    ),
];

/// One object key holding certificates: where, and the certificates by position.
struct Copy<'a> {
    loc: &'a Location,
    ns: &'a str,
    certs: Vec<(usize, &'a str)>,
}

/// `(namespace, name, key)` of an object location's `path#ns/name/key`.
fn object_parts(path: &str) -> Option<(&str, &str, &str)> {
    let (_, rest) = path.split_once('#')?;
    let mut it = rest.splitn(3, '/');
    Some((it.next()?, it.next()?, it.next()?))
}

fn origin_of(l: &Location) -> Origin {
    Origin::new(l.source.to_string(), l.path.to_string())
}

/// True when a component that rotates its own certificates owns `e` (or its issuer).
fn component(cx: &Context, e: &CertEntry) -> bool {
    e.owner == Owner::Component
        || e.issuers
            .iter()
            .filter_map(|fp| cx.model.certs.certs.get(fp))
            .any(|i| i.owner == Owner::Component)
}

fn label(cx: &Context, fp: &str) -> String {
    cx.model
        .certs
        .certs
        .get(fp)
        .map(describe)
        .unwrap_or_else(|| format!("sha256 {}", short(fp)))
}

/// `kube-root-ca.crt in default, kube-system (+3 more)`.
fn places(copies: &[&Copy]) -> String {
    let ns: Vec<&str> = copies.iter().map(|c| c.ns).collect();
    let shown = ns.iter().take(6).copied().collect::<Vec<_>>().join(", ");
    if ns.len() > 6 {
        format!("{shown} (+{} more)", ns.len() - 6)
    } else {
        shown
    }
}

fn cert013(cx: &Context, out: &mut Findings) -> Verdict {
    let mut by_path: BTreeMap<&str, Copy> = BTreeMap::new();
    let mut objects: Vec<(&CertEntry, Vec<&Location>)> = Vec::new();
    for (fp, e) in &cx.model.certs.certs {
        let locs: Vec<&Location> = e
            .locations
            .iter()
            .filter(|l| l.in_use == InUse::Object)
            .collect();
        for l in &locs {
            if let Some((ns, _, _)) = object_parts(&l.path) {
                by_path
                    .entry(&l.path)
                    .or_insert_with(|| Copy {
                        loc: l,
                        ns,
                        certs: Vec::new(),
                    })
                    .certs
                    .push((l.index, fp));
            }
        }
        if !locs.is_empty() {
            objects.push((e, locs));
        }
    }
    if objects.is_empty() {
        return Verdict::not_evaluable(
            "no certificate in bundle objects (kube-root-ca.crt, extension-apiserver-authentication, caBundles) in the inputs",
            Need::SupportBundle,
        );
    }
    let mut compared = Vec::new();
    for (name, key, fixed_ns, ca) in COPIES {
        let copies: Vec<&Copy> = by_path
            .values()
            .filter(|c| {
                object_parts(&c.loc.path).is_some_and(|(ns, n, k)| {
                    n == name && k == key && fixed_ns.is_none_or(|f| f == ns)
                })
            })
            .collect();
        if copies.is_empty() {
            continue;
        }
        // Versions: the certificates of each copy, in file order.
        let mut versions: BTreeMap<Vec<&str>, Vec<&Copy>> = BTreeMap::new();
        for c in &copies {
            let mut certs = c.certs.clone();
            certs.sort();
            versions
                .entry(certs.into_iter().map(|(_, fp)| fp).collect())
                .or_default()
                .push(c);
        }
        let current = current_ca(cx, ca);
        let what = format!("{name} {key}");
        if !current.is_empty() {
            compared.push(format!(
                "{} {what} with the servers' {}",
                copies.len(),
                ca.tls_name()
            ));
            let now: Vec<String> = current.iter().map(|fp| label(cx, fp)).collect();
            for (certs, group) in &versions {
                if certs.iter().any(|fp| current.contains(fp)) {
                    continue;
                }
                let held = certs.first().map(|fp| label(cx, fp)).unwrap_or_default();
                out.add(
                    None,
                    group.first().map(|c| c.loc.path.to_string()),
                    format!(
                        "{what} in {} holds {held}, not the cluster's current {} {}: clients trusting this copy reject the cluster",
                        places(group),
                        ca.tls_name(),
                        now.join(" / ")
                    ),
                    group.iter().take(5).map(|c| origin_of(c.loc)).collect(),
                    "kube-controller-manager (kube-root-ca.crt) and kube-apiserver (extension-apiserver-authentication) republish these copies from the servers' CA files: make sure the servers' files agree (CERT007), then restart rke2-server on the servers".into(),
                );
            }
            continue;
        }
        compared.push(format!(
            "{} {what} with each other (no server snapshot: the cluster CA is unknown)",
            copies.len()
        ));
        if versions.len() < 2 {
            continue;
        }
        let majority = versions
            .iter()
            .find(|(_, g)| g.len() * 2 > copies.len())
            .map(|(k, _)| k.clone());
        match majority {
            Some(m) => {
                let held = m.first().map(|fp| label(cx, fp)).unwrap_or_default();
                for (certs, group) in versions.iter().filter(|(k, _)| **k != m) {
                    let own = certs.first().map(|fp| label(cx, fp)).unwrap_or_default();
                    out.add(
                        None,
                        group.first().map(|c| c.loc.path.to_string()),
                        format!(
                            "{what} in {} holds {own}, while {} other copies hold {held}: one of them is stale",
                            places(group),
                            copies.len() - group.len()
                        ),
                        group.iter().take(5).map(|c| origin_of(c.loc)).collect(),
                        "compare with the servers' server/tls CA files (add node snapshots of the servers); kube-controller-manager republishes kube-root-ca.crt from them: restart rke2-server on the servers".into(),
                    );
                }
            }
            None => {
                let all: Vec<String> = versions
                    .iter()
                    .map(|(k, g)| {
                        format!(
                            "{} in {}",
                            k.first().map(|fp| label(cx, fp)).unwrap_or_default(),
                            places(g)
                        )
                    })
                    .collect();
                out.add(
                    None,
                    copies.first().map(|c| c.loc.path.to_string()),
                    format!(
                        "{what} copies disagree with no majority: {}",
                        all.join("; ")
                    ),
                    copies.iter().take(5).map(|c| origin_of(c.loc)).collect(),
                    "compare with the servers' server/tls CA files (add node snapshots of the servers); kube-controller-manager republishes kube-root-ca.crt from them: restart rke2-server on the servers".into(),
                );
            }
        }
    }
    let at = instant(cx.reference_time);
    let mut expired = 0;
    for (e, locs) in &objects {
        if cx.status(e) != Status::Expired {
            continue;
        }
        expired += 1;
        let comp = component(cx, e);
        let mut paths: Vec<&str> = locs.iter().map(|l| &*l.path).collect();
        paths.sort();
        paths.dedup();
        let shown: Vec<&str> = paths
            .iter()
            .map(|p| p.split_once('#').map(|(_, o)| o).unwrap_or(p))
            .take(4)
            .collect();
        let more = match paths.len() {
            n if n > 4 => format!(" (+{} more)", n - 4),
            _ => String::new(),
        };
        let f = out.add(
            None,
            paths.first().map(|p| p.to_string()),
            format!(
                "{} expired {} ({} before {at}), carried by {} object key(s): {}{more}{}",
                describe(e),
                instant(e.cert.not_after),
                span(-cx.residual(e)),
                paths.len(),
                shown.join(", "),
                if comp {
                    "; its component rotates this certificate itself: the bundle may predate the renewal, or the component is not running"
                } else {
                    ""
                }
            ),
            locs.iter().take(5).map(|l| origin_of(l)).collect(),
            if comp {
                "check that the owning component (virt-operator, cdi-operator, rancher-webhook) runs and renews its certificate; restart its pod so it regenerates and republishes the CA bundle".into()
            } else {
                "renew the certificate of the webhook's or APIService's owner and update its caBundle (usually by restarting the owning controller, which republishes it)".into()
            },
        );
        f.title = "certificate in a bundle object expired".into();
        if comp {
            f.severity = Severity::Info;
        }
    }
    let unique: BTreeSet<&str> = objects
        .iter()
        .map(|(e, _)| e.cert.fingerprint_sha256())
        .collect();
    let scope = format!(
        "{} certificate(s) in bundle objects judged at {at} ({expired} expired); compared: {}",
        unique.len(),
        if compared.is_empty() {
            "no kube-root-ca.crt or extension-apiserver-authentication copy".to_string()
        } else {
            compared.join("; ")
        }
    );
    Verdict::judged(
        format!("findings among {scope}"),
        format!("{scope}: copies agree, none expired"),
    )
}
