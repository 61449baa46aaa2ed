//! CERT009: serving certificates whose SANs miss a name clients use: the node's name or IPs
//! (kube-apiserver's `serving-kube-apiserver.crt`, the supervisor's `dynamic-cert.json`, the
//! kubelet's `agent/serving-kubelet.crt`), the cluster VIP or the `tls-san` entries of the
//! merged rke2 configuration (kube-apiserver and supervisor). SANs come from the inventory;
//! node addresses from the snapshot, VIP and `tls-san` from the host model.

use std::net::IpAddr;

use super::super::rule::{Findings, Need, Rule, Verdict};
use super::super::{Context, Origin, Severity};
use crate::layout;
use crate::model::inventory::InUse;

/// Serving certificate SANs incomplete.
pub static CERT009: Rule = Rule {
    code: "CERT009",
    severity: Severity::Medium,
    title: "serving certificate SANs miss the node's name or IP, the VIP or tls-san entries",
    source: "reference/rke2-pki.md §1.1",
    needs: &[Need::NodeFiles],
    doc: r#"**What it reads.** The live serving certificates of each node: kube-apiserver's
`server/tls/serving-kube-apiserver.crt`, the supervisor's (:9345) `server/tls/dynamic-cert.json`,
and the kubelet's `agent/serving-kubelet.crt` (first certificate of each), with their DNS and IP
SANs; the node's name and IP addresses (the bundle's Node objects, the `node-ip` of its rke2
configuration); the cluster VIP (`install.vip` of `/oem/harvester.config`) and the `tls-san`
entries of the node's merged rke2 configuration.

**What it reports.** One finding per certificate whose SANs miss the node's name or one of its IP
addresses, or (kube-apiserver and supervisor only) the VIP or a `tls-san` entry, listing what is
missing.

**Why it matters.** Clients check the name they dial against the SANs: a kubelet that joins
through the VIP, `kubectl` through a `tls-san` name, or the API server reaching a kubelet by its
IP fail TLS verification. A SAN goes missing when an address or `tls-san` changes after the
certificate was issued.

**Remediation.** kube-apiserver's certificate is re-issued with the configured SANs when rke2
restarts after `rke2 certificate rotate --service api-server`; the supervisor's
`dynamic-cert.json` after `rke2 certificate rotate --service rke2-server` (or removing it and
restarting); the kubelet's serving certificate at every agent start.

**Not evaluable** without the nodes' serving certificates: support bundles do not carry
`server/tls` or `agent` certificates.

**Source.** `reference/rke2-pki.md` §1.1 (serving-kube-apiserver SANs: `config.SANs`, tls-san,
node IPs and names; serving-kubelet SANs: the node name, localhost, node IPs; the supervisor's
dynamic certificate); rules.md CERT009.
"#,
    evaluate: cert009,
};

/// The serving certificates judged: host path, what it serves, whether the cluster's names
/// (VIP, tls-san) belong in it.
const SERVING: [(&str, &str, bool); 3] = [
    (layout::APISERVER_SERVING_CERT, "kube-apiserver", true),
    (layout::DYNAMIC_CERT, "the supervisor", true),
    (layout::SERVING_KUBELET_CERT, "the kubelet", false),
];

fn has(dns: &[&str], ips: &[IpAddr], name: &str) -> bool {
    match name.parse::<IpAddr>() {
        Ok(ip) => ips.contains(&ip),
        Err(_) => dns.iter().any(|d| d.eq_ignore_ascii_case(name)),
    }
}

fn cert009(cx: &Context, out: &mut Findings) -> Verdict {
    let mut judged = 0;
    for e in cx.model.certs.certs.values() {
        for l in &e.locations {
            let (Some(node), Some(host)) = (l.node.as_deref(), l.host_path.as_deref()) else {
                continue;
            };
            let Some((_, serves, cluster_names)) = SERVING.iter().find(|(h, _, _)| *h == host)
            else {
                continue;
            };
            if l.index != 0 || l.in_use != InUse::Live {
                continue;
            }
            judged += 1;
            let dns = &e.cert.dns_sans();
            let ips: Vec<IpAddr> = e
                .cert
                .ip_sans()
                .iter()
                .filter_map(|i| i.parse().ok())
                .collect();
            let h = cx.model.hosts.get(node);
            let cfg = h.and_then(|h| h.config.as_ref());
            // Wanted names with where each was read (`None`: the snapshot's node record).
            let mut wanted: Vec<(String, Option<Origin>)> = vec![(node.to_string(), None)];
            if let Some(n) = cx.snapshot.nodes.get(node) {
                wanted.extend(
                    n.addresses
                        .iter()
                        .filter(|a| a.parse::<IpAddr>().is_ok())
                        .map(|a| (a.clone(), None)),
                );
            }
            if let Some(c) = cfg
                && let Some(ent) = c.get("node-ip")
            {
                let o = c.origin(&ent.place);
                wanted.extend(ent.items().into_iter().map(|i| (i, Some(o.clone()))));
            }
            if *cluster_names {
                if let Some(c) = cfg
                    && let Some(ent) = c.get("tls-san")
                {
                    for (i, item) in ent.items().into_iter().enumerate() {
                        let p = ent.item_places.get(i).unwrap_or(&ent.place);
                        wanted.push((item, Some(c.origin(p))));
                    }
                }
                if let Some((vip, o)) = cx.model.hosts.values().find_map(|h| h.vip.clone()) {
                    wanted.push((vip, Some(o)));
                }
            }
            let mut missing: Vec<String> = Vec::new();
            let mut evidence = vec![l.origin()];
            for (name, o) in wanted {
                if has(dns, &ips, &name) || missing.contains(&name) {
                    continue;
                }
                missing.push(name);
                evidence.extend(o);
            }
            if missing.is_empty() {
                continue;
            }
            evidence.dedup();
            out.add(
                Some(node.to_string()),
                Some(host.to_string()),
                format!(
                    "{serves}'s serving certificate on {node} ({}) has no SAN for {}: clients that dial these names fail TLS verification",
                    super::super::common::short(e.cert.fingerprint_sha256()),
                    missing.join(", ")
                ),
                evidence,
                match *serves {
                    "kube-apiserver" => "restart rke2-server after `rke2 certificate rotate --service api-server` so that the certificate is re-issued with the configured SANs".into(),
                    "the supervisor" => "run `rke2 certificate rotate --service rke2-server` (it regenerates dynamic-cert.json; `--service supervisor` renews only client-supervisor.crt) and restart rke2-server".into(),
                    _ => "restart the rke2 service on the node: the kubelet serving certificate is re-issued with the node's addresses at every start".into(),
                },
            );
        }
    }
    if judged == 0 {
        return Verdict::not_evaluable(
            "no live kube-apiserver, supervisor or kubelet serving certificate in the inputs",
            Need::NodeFiles,
        );
    }
    Verdict::judged(
        "serving certificate SANs are incomplete",
        format!(
            "{judged} serving certificates name their node, its IPs, the VIP and tls-san entries"
        ),
    )
}
