//! HARV002: the `http-proxy` setting's `noProxy`, with what Harvester appends to it, must cover
//! every node IP, the cluster VIP and the cluster's pod and service networks, or in-cluster
//! traffic goes to the proxy. The setting comes from the model ([`crate::model::settings`]),
//! the VIP and networks from the host configuration ([`crate::model::host`]). Proxy URLs may
//! hold credentials: they are never shown, only the addresses left uncovered.

use super::host::cluster_network;
use super::rule::{Findings, Need, Rule, Verdict};
use super::{Context, Origin, Severity};
use crate::model::settings::HTTP_PROXY;
use crate::parse::cidr::Cidr;

/// What Harvester appends to the `noProxy` of the `http-proxy` setting.
pub const HARVESTER_NO_PROXY: &str = "localhost,127.0.0.1,0.0.0.0,10.0.0.0/8,longhorn-system,cattle-system,cattle-system.svc,harvester-system,.svc,.cluster.local";

/// The proxy's noProxy misses cluster addresses.
pub static HARV002: Rule = Rule {
    code: "HARV002",
    severity: Severity::High,
    title: "http-proxy noProxy does not cover node IPs, the VIP or cluster networks",
    source: "seeds/harvester-credentials.txt (HC)",
    needs: &[Need::SupportBundle, Need::HostConfig],
    doc: r#"**What it reads.** The bundle's Harvester setting `http-proxy` (a JSON object inside a
string: `httpProxy`, `httpsProxy`, `noProxy`), the nodes' IP addresses (the bundle's Node
objects), the cluster VIP (`install.vip` of the nodes' `/oem/harvester.config`), and the
cluster's pod and service networks (`cluster-cidr`, `service-cidr` of the merged rke2
configuration, else Harvester's defaults).

**What it reports.** One finding when a proxy is set and its `noProxy`, together with what
Harvester appends itself (`localhost,127.0.0.1,0.0.0.0,10.0.0.0/8,longhorn-system,cattle-system,
cattle-system.svc,harvester-system,.svc,.cluster.local`), does not cover, by CIDR matching, every
node IP, the VIP and both networks; the message lists the uncovered addresses only. The proxy
URLs are never shown: they may hold credentials.

**Why it matters.** Traffic between nodes, to the VIP or to pods and services that is sent to
the proxy fails or leaks cluster traffic outside: nodes cannot join, upgrades and the
embedded Rancher break.

**Remediation.** Add the uncovered addresses or their networks to `noProxy` in the
`http-proxy` setting (Advanced > Settings), for instance the node subnet and the VIP.

**Not evaluable** without the bundle's settings. **Not applicable** when no proxy is set.

**Source.** `seeds/harvester-credentials.txt` (the http-proxy setting: Harvester's webhook checks
"that the internal IPs and CIDRs are specified in the noProxy field", and a setting applied
without it is not checked: "Node IP should be in noProxy"); rules.md HARV002.
"#,
    evaluate: harv002,
};

fn harv002(cx: &Context, out: &mut Findings) -> Verdict {
    let Some(setting) = &cx.model.settings.http_proxy else {
        return Verdict::not_evaluable(
            format!("no {HTTP_PROXY} setting in the inputs"),
            Need::SupportBundle,
        );
    };
    let proxy = match &setting.parsed {
        Ok(p) => p,
        Err(_) => {
            return Verdict::not_evaluable(
                format!("the {HTTP_PROXY} setting does not parse"),
                Need::SupportBundle,
            );
        }
    };
    if !proxy.is_set() {
        return Verdict::not_applicable(format!("the {HTTP_PROXY} setting sets no proxy"));
    }
    let entries: Vec<&str> = proxy
        .no_proxy
        .as_deref()
        .unwrap_or("")
        .split(',')
        .chain(HARVESTER_NO_PROXY.split(','))
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .collect();
    let everything = entries.contains(&"*");
    let nets: Vec<Cidr> = entries.iter().filter_map(|e| Cidr::parse(e)).collect();
    // What must be covered: (what, address, where it was read).
    let mut wanted: Vec<(String, String, Option<Origin>)> = Vec::new();
    for n in cx.snapshot.nodes.values() {
        for a in n.addresses.iter().filter(|a| Cidr::parse(a).is_some()) {
            wanted.push((format!("node {}", n.name), a.clone(), None));
        }
    }
    let vip = cx.model.hosts.values().find_map(|h| h.vip.clone());
    if let Some((ip, o)) = vip.filter(|(ip, _)| Cidr::parse(ip).is_some()) {
        wanted.push(("the VIP".into(), ip, Some(o)));
    }
    for key in ["cluster-cidr", "service-cidr"] {
        let (cidrs, o) = cluster_network(cx, None, key);
        for c in cidrs {
            wanted.push((key.to_string(), c, o.clone()));
        }
    }
    let mut missing = Vec::new();
    let mut evidence = vec![setting.origin.clone()];
    for (what, addr, o) in &wanted {
        let Some(c) = Cidr::parse(addr) else { continue };
        if everything || nets.iter().any(|n| n.covers(&c)) {
            continue;
        }
        missing.push(format!("{addr} ({what})"));
        evidence.extend(o.clone());
    }
    if !missing.is_empty() {
        evidence.dedup();
        out.add(
            None,
            Some(HTTP_PROXY.into()),
            format!(
                "a proxy is set but its noProxy, with what Harvester appends, does not cover {}: their traffic goes to the proxy",
                missing.join(", ")
            ),
            evidence,
            "add these addresses or their networks to noProxy in the http-proxy setting (Advanced > Settings)".into(),
        );
    }
    Verdict::judged(
        "noProxy misses cluster addresses",
        format!(
            "noProxy covers the {} node addresses, VIP and cluster networks known",
            wanted.len()
        ),
    )
}
