//! The trust links of a [`TrustState`], each checked with real X.509 verification
//! ([`super::verify`]) at an instant: kubelet → apiserver, apiserver → kubelet, supervisor join,
//! etcd peer and client, request-header, service-account token verification and etcd quorum.
//!
//! Each link names the node that trusts or joins (`from`) and the node whose credential is
//! judged (`to`), and says whether it holds, breaks, or cannot be judged: a link whose
//! evidence is missing is [`LinkState::Unknown`] with the reason, never taken as holding.

use std::cell::RefCell;
use std::collections::{BTreeSet, HashMap};

use time::OffsetDateTime;

use super::state::{Leaf, NodeState, Trust, TrustState};
use super::verify::{Outcome, name, verify_chain};
use crate::layout::{AgentCopy, CaFile};

/// The `from`/`to` of a link about the whole cluster (etcd quorum).
pub const CLUSTER: &str = "(cluster)";

/// What a link is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum LinkKind {
    /// A node's kubelet (and agent kubeconfigs) talking to a server's apiserver: the node's
    /// `agent/server-ca.crt` verifies the apiserver serving certificate, and the apiserver's
    /// `client-ca.crt` verifies the kubelet's client certificate.
    KubeletToApiserver,
    /// A server's apiserver calling a node's kubelet: the node's `agent/client-ca.crt` verifies
    /// the apiserver's kubelet client certificate (rke2 sets no
    /// `--kubelet-certificate-authority`, so the apiserver does not verify the kubelet's serving
    /// certificate).
    ApiserverToKubelet,
    /// A node (re)joining through a server's supervisor: its token's CA hash equals the hash the
    /// server serves, and its `agent/server-ca.crt` verifies the supervisor's certificate.
    SupervisorJoin,
    /// etcd member to member: the member's peer CA verifies the other's peer certificate.
    EtcdPeer,
    /// A server's apiserver to etcd: the apiserver's etcd server CA verifies etcd's serving
    /// certificate, and the member's etcd server CA verifies the apiserver's etcd client
    /// certificate.
    EtcdClient,
    /// An apiserver's front-proxy client towards an apiserver: the request-header CA verifies
    /// the `client-auth-proxy` certificate.
    RequestHeader,
    /// Service-account tokens signed on one server verify on another: the signing key is in the
    /// other's `service.key` list.
    ServiceAccount,
    /// More than half of the etcd members run.
    EtcdQuorum,
}

impl LinkKind {
    pub fn as_str(self) -> &'static str {
        match self {
            LinkKind::KubeletToApiserver => "kubelet-to-apiserver",
            LinkKind::ApiserverToKubelet => "apiserver-to-kubelet",
            LinkKind::SupervisorJoin => "supervisor-join",
            LinkKind::EtcdPeer => "etcd-peer",
            LinkKind::EtcdClient => "etcd-client",
            LinkKind::RequestHeader => "request-header",
            LinkKind::ServiceAccount => "service-account",
            LinkKind::EtcdQuorum => "etcd-quorum",
        }
    }
}

/// Whether a link holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LinkState {
    Holds,
    Breaks,
    /// The evidence is missing or cannot be judged.
    Unknown,
}

/// One checked trust link.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
pub struct Link {
    pub kind: LinkKind,
    /// The node that trusts, calls or joins (or [`CLUSTER`]).
    pub from: String,
    /// The node whose credential is judged (or [`CLUSTER`]).
    pub to: String,
    pub state: LinkState,
    /// Why, in one or more sentences (no secret: fingerprints, paths, hash prefixes).
    pub why: String,
}

impl Link {
    pub fn holds(&self) -> bool {
        self.state == LinkState::Holds
    }
}

/// One judged part of a link.
type Part = (LinkState, String);

/// Chain verification with a memory: the same presented chain against the same bundle is
/// verified once (a simulation re-judges the same pairs after every step).
#[derive(Debug, Default)]
pub struct Verifier {
    memo: RefCell<HashMap<ChainKey, Outcome>>,
}

/// A presented chain and a bundle, by fingerprints.
type ChainKey = (Vec<String>, Vec<String>);

impl Verifier {
    fn verify(
        &self,
        st: &TrustState,
        presented: &[String],
        bundle: &[String],
        at: OffsetDateTime,
    ) -> Outcome {
        let key = (presented.to_vec(), bundle.to_vec());
        if let Some(o) = self.memo.borrow().get(&key) {
            return o.clone();
        }
        let lookup = |fps: &[String]| -> Vec<&crate::pki::Cert> {
            fps.iter()
                .filter_map(|fp| st.certs.get(fp))
                .map(|c| &**c)
                .collect()
        };
        let o = verify_chain(&lookup(presented), &lookup(bundle), at);
        self.memo.borrow_mut().insert(key, o.clone());
        o
    }
}

/// Every link of `st`, judged at `at`, sorted by kind, then from, then to.
pub fn check(st: &TrustState, at: OffsetDateTime) -> Vec<Link> {
    check_with(st, at, None, &Verifier::default())
}

/// The links of `st` at `at` that involve a node of `touched` (every link with `None`, the
/// quorum always), verified through `v`; sorted as [`check`].
pub fn check_with(
    st: &TrustState,
    at: OffsetDateTime,
    touched: Option<&BTreeSet<String>>,
    v: &Verifier,
) -> Vec<Link> {
    let mut out = Vec::new();
    let wanted = |a: &NodeState, b: &NodeState| {
        touched.is_none_or(|t| t.contains(&a.name) || t.contains(&b.name))
    };
    let nodes: Vec<&NodeState> = st.nodes.values().collect();
    let touched_nodes: Option<Vec<&NodeState>> =
        touched.map(|t| t.iter().filter_map(|n| st.nodes.get(n)).collect());
    let touched_nodes = touched_nodes.as_deref();
    let apiservers: Vec<&NodeState> = nodes.iter().copied().filter(|n| n.apiserver).collect();
    let supervisors: Vec<&NodeState> = nodes.iter().copied().filter(|n| n.is_server()).collect();
    let members: Vec<&NodeState> = st.etcd_members().collect();
    let tls = |truster: &NodeState, trust: Trust, presenter: &NodeState, leaf: Leaf| {
        tls(st, v, truster, trust, presenter, leaf, at)
    };
    let mut push =
        |kind: LinkKind, from: &NodeState, to: &NodeState, parts: &dyn Fn() -> Vec<Part>| {
            if !wanted(from, to) {
                return;
            }
            let (state, why) = combine(parts());
            out.push(Link {
                kind,
                from: from.name.clone(),
                to: to.name.clone(),
                state,
                why,
            });
        };
    let server_copy = Trust::Agent(AgentCopy::ServerCa);
    for (n, s) in pairs(&nodes, any, &apiservers, is_apiserver, touched_nodes) {
        push(LinkKind::KubeletToApiserver, n, s, &|| {
            vec![
                tls(n, server_copy, s, Leaf::ApiserverServing),
                tls(s, Trust::Cluster(CaFile::ClientCa), n, Leaf::KubeletClient),
            ]
        });
    }
    for (s, n) in pairs(&apiservers, is_apiserver, &nodes, any, touched_nodes) {
        push(LinkKind::ApiserverToKubelet, s, n, &|| {
            vec![tls(
                n,
                Trust::Agent(AgentCopy::ClientCa),
                s,
                Leaf::ApiserverKubeletClient,
            )]
        });
    }
    for (n, s) in pairs(&nodes, any, &supervisors, is_supervisor, touched_nodes) {
        if s.name != n.name {
            push(LinkKind::SupervisorJoin, n, s, &|| {
                vec![token_hash(n, s), tls(n, server_copy, s, Leaf::Supervisor)]
            });
        }
    }
    let peer_ca = Trust::Cluster(CaFile::EtcdPeerCa);
    for a in &members {
        for b in members.iter().filter(|b| b.name != a.name) {
            push(LinkKind::EtcdPeer, a, b, &|| {
                vec![tls(a, peer_ca, b, Leaf::EtcdPeer)]
            });
        }
    }
    let etcd_ca = Trust::Cluster(CaFile::EtcdServerCa);
    for s in &apiservers {
        // rke2's apiserver dials its local etcd member; one without etcd dials the members.
        let targets = members.iter().filter(|m| !s.etcd || m.name == s.name);
        for m in targets {
            push(LinkKind::EtcdClient, s, m, &|| {
                vec![
                    tls(s, etcd_ca, m, Leaf::EtcdServer),
                    tls(m, etcd_ca, s, Leaf::EtcdClient),
                ]
            });
        }
    }
    let rh_ca = Trust::Cluster(CaFile::RequestHeaderCa);
    for s in &apiservers {
        for t in &apiservers {
            push(LinkKind::RequestHeader, s, t, &|| {
                vec![tls(t, rh_ca, s, Leaf::AuthProxyClient)]
            });
        }
    }
    for s in &apiservers {
        for t in &apiservers {
            push(LinkKind::ServiceAccount, s, t, &|| {
                vec![service_account(s, t)]
            });
        }
    }
    out.push(quorum(&members));
    out.sort();
    out
}

/// Every pair of `xs` × `ys`, or with `touched` only the pairs with a touched side (each once):
/// a simulation re-judges the links of one restarted node among thousands without walking
/// every pair. `in_xs`/`in_ys` say whether a node belongs to `xs`/`ys` (their filters).
fn pairs<'a>(
    xs: &[&'a NodeState],
    in_xs: fn(&NodeState) -> bool,
    ys: &[&'a NodeState],
    in_ys: fn(&NodeState) -> bool,
    touched: Option<&[&'a NodeState]>,
) -> Vec<(&'a NodeState, &'a NodeState)> {
    let Some(t) = touched else {
        return xs
            .iter()
            .flat_map(|x| ys.iter().map(move |y| (*x, *y)))
            .collect();
    };
    let is_touched = |n: &NodeState| t.iter().any(|m| std::ptr::eq(*m, n));
    let mut out = Vec::new();
    for x in t.iter().copied().filter(|x| in_xs(x)) {
        out.extend(ys.iter().map(|y| (x, *y)));
    }
    for y in t.iter().copied().filter(|y| in_ys(y)) {
        out.extend(xs.iter().filter(|x| !is_touched(x)).map(|x| (*x, y)));
    }
    out
}

fn any(_: &NodeState) -> bool {
    true
}

fn is_apiserver(n: &NodeState) -> bool {
    n.apiserver
}

fn is_supervisor(n: &NodeState) -> bool {
    n.is_server()
}

/// The worst state of the parts with the sentences of the parts in that state.
fn combine(parts: Vec<Part>) -> Part {
    let worst = [LinkState::Breaks, LinkState::Unknown, LinkState::Holds]
        .into_iter()
        .find(|w| parts.iter().any(|(s, _)| s == w))
        .unwrap_or(LinkState::Unknown);
    let mut why: Vec<String> = Vec::new();
    for (_, w) in parts.into_iter().filter(|(s, _)| *s == worst) {
        if !why.contains(&w) {
            why.push(w);
        }
    }
    (worst, why.join("; "))
}

fn unknown(why: String) -> Part {
    (LinkState::Unknown, why)
}

fn holds(why: String) -> Part {
    (LinkState::Holds, why)
}

fn breaks(why: String) -> Part {
    (LinkState::Breaks, why)
}

fn missing_files(n: &NodeState) -> Option<Part> {
    if !n.running {
        return Some(breaks(format!("{} is not running", n.name)));
    }
    (!n.files).then(|| {
        unknown(format!(
            "the host files of {} are not in the inputs",
            n.name
        ))
    })
}

fn short(host: &str) -> &str {
    crate::layout::short_path(host)
}

/// `truster`'s bundle `trust` verifies the chain `presenter` presents as `leaf`.
fn tls(
    st: &TrustState,
    v: &Verifier,
    truster: &NodeState,
    trust: Trust,
    presenter: &NodeState,
    leaf: Leaf,
    at: OffsetDateTime,
) -> Part {
    if let Some(p) = missing_files(truster).or_else(|| missing_files(presenter)) {
        return p;
    }
    let Some(bundle) = truster.trusts.get(&trust) else {
        return absent(truster, trust.host_path());
    };
    let Some(presented) = presenter.presents.get(&leaf) else {
        return absent(presenter, leaf.host_path());
    };
    let what = format!(
        "{}'s {} against {}'s {}{}",
        truster.name,
        short(&bundle.host),
        presenter.name,
        short(&presented.host),
        if presented.reissued {
            " (re-issued at its start)"
        } else {
            ""
        }
    );
    match v.verify(st, &presented.certs, &bundle.certs, at) {
        Outcome::Verified(chain) => {
            let anchor = chain
                .last()
                .and_then(|fp| st.certs.get(fp))
                .map(|c| name(c))
                .unwrap_or_default();
            holds(format!("{what}: verifies to {anchor}"))
        }
        Outcome::Fails(why) => breaks(format!("{what}: {why}")),
        Outcome::Undecided(why) => unknown(format!("{what}: {why}")),
    }
}

fn absent(n: &NodeState, host: &str) -> Part {
    unknown(format!(
        "no certificate of {} read on {}",
        short(host),
        n.name
    ))
}

fn prefix(hash: &str) -> &str {
    hash.get(..12).unwrap_or(hash)
}

/// The CA hash `n`'s token pins against the hash `s` serves.
fn token_hash(n: &NodeState, s: &NodeState) -> Part {
    if let Some(p) = missing_files(n) {
        return p;
    }
    let Some(token) = &n.token else {
        let why = format!(
            "no readable token of {} in the inputs (absent or masked)",
            n.name
        );
        return unknown(why);
    };
    let source = short(&token.source);
    let Some(pinned) = &token.ca_hash else {
        return holds(format!("{}'s token ({source}) pins no CA hash", n.name));
    };
    let Some(served) = &s.served_hash else {
        let why = format!(
            "the CA hash {} serves is unknown (no server-ca.crt of it read)",
            s.name
        );
        return unknown(why);
    };
    if pinned == served {
        holds(format!(
            "{}'s token ({source}) pins the CA hash {} serves ({}…)",
            n.name,
            s.name,
            prefix(served)
        ))
    } else {
        breaks(format!(
            "{}'s token ({source}) pins CA hash {}… but {} serves {}… (token CA hash does not \
             match the cluster CA certificate hash)",
            n.name,
            prefix(pinned),
            s.name,
            prefix(served)
        ))
    }
}

/// Tokens `s` signs, and tokens signed earlier with the keys it signed with before, verify on `t`.
fn service_account(s: &NodeState, t: &NodeState) -> Part {
    if let Some(p) = missing_files(s).or_else(|| missing_files(t)) {
        return p;
    }
    let Some(signing) = s.service_keys.as_ref().and_then(|k| k.current.as_ref()) else {
        return unknown(format!("no service-account signing key of {} read", s.name));
    };
    let Some(keys) = &t.service_keys else {
        return unknown(format!("no service.key of {} read", t.name));
    };
    let key = format!("{}'s signing key (SPKI {}…)", s.name, prefix(signing));
    if !keys.verify.contains(signing) {
        return breaks(format!(
            "{key} is not among the {} keys of {}'s service.key: tokens it signs are rejected \
             there",
            keys.verify.len(),
            t.name
        ));
    }
    let earlier = s
        .service_keys
        .iter()
        .flat_map(|k| k.signed.iter())
        .find(|k| *k != signing && !keys.verify.contains(k));
    if let Some(old) = earlier {
        return breaks(format!(
            "tokens signed earlier with {}'s former signing key (SPKI {}…) are rejected by {}: \
             the key is no longer in its service.key",
            s.name,
            prefix(old),
            t.name
        ));
    }
    holds(format!("{key} is in {}'s service.key", t.name))
}

/// More than half of the members run.
fn quorum(members: &[&NodeState]) -> Link {
    let (state, why) = if members.is_empty() {
        unknown("no etcd member is known in the inputs".to_string())
    } else {
        let (running, stopped): (Vec<&NodeState>, Vec<&NodeState>) =
            members.iter().copied().partition(|m| m.running);
        let need = members.len() / 2 + 1;
        let mut text = format!(
            "{} of {} etcd members running (quorum needs {need})",
            running.len(),
            members.len()
        );
        if !stopped.is_empty() {
            let names: Vec<&str> = stopped.iter().map(|m| m.name.as_str()).collect();
            text.push_str(&format!("; stopped: {}", names.join(", ")));
        }
        if running.len() >= need {
            holds(text)
        } else {
            breaks(text)
        }
    };
    Link {
        kind: LinkKind::EtcdQuorum,
        from: CLUSTER.to_string(),
        to: CLUSTER.to_string(),
        state,
        why,
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::rotation::state::NodeRole;

    fn member(name: &str, running: bool) -> NodeState {
        NodeState {
            name: name.to_string(),
            role: Some(NodeRole::Server),
            etcd: true,
            apiserver: true,
            files: true,
            running,
            trusts: BTreeMap::new(),
            presents: BTreeMap::new(),
            token: None,
            served_hash: None,
            service_keys: None,
            staged: BTreeMap::new(),
            staged_keys: BTreeMap::new(),
        }
    }

    #[test]
    fn the_worst_part_decides_and_explains() {
        let h = (LinkState::Holds, "a".to_string());
        let u = (LinkState::Unknown, "b".to_string());
        let b = (LinkState::Breaks, "c".to_string());
        assert_eq!(
            combine(vec![h.clone(), u.clone()]),
            (LinkState::Unknown, "b".into())
        );
        assert_eq!(
            combine(vec![u.clone(), b.clone(), b]),
            (LinkState::Breaks, "c".into())
        );
        let h2 = (LinkState::Holds, "d".to_string());
        assert_eq!(
            combine(vec![h.clone(), h2]),
            (LinkState::Holds, "a; d".into())
        );
        assert_eq!(combine(vec![]).0, LinkState::Unknown);
    }

    #[test]
    fn quorum_needs_more_than_half() {
        let m = |r: &[bool]| {
            let nodes: Vec<NodeState> = r
                .iter()
                .enumerate()
                .map(|(i, &run)| member(&format!("s{i}"), run))
                .collect();
            quorum(&nodes.iter().collect::<Vec<_>>())
        };
        assert!(m(&[true]).holds());
        assert!(!m(&[false]).holds());
        assert!(!m(&[true, false]).holds(), "two members need both");
        assert!(m(&[true, true, false]).holds());
        assert!(!m(&[true, false, false]).holds());
        assert!(m(&[true, true, true, false, false]).holds());
        assert!(!m(&[true, true, false, false]).holds());
        let none = quorum(&[]);
        assert_eq!(none.state, LinkState::Unknown);
        assert_eq!(none.from, CLUSTER);
    }

    #[test]
    fn missing_evidence_is_unknown_never_holding() {
        let st = TrustState::default();
        let (a, mut b) = (member("s1", true), member("s2", true));
        let p = tls(
            &st,
            &Verifier::default(),
            &a,
            Trust::Cluster(CaFile::EtcdPeerCa),
            &b,
            Leaf::EtcdPeer,
            time::OffsetDateTime::UNIX_EPOCH,
        );
        assert_eq!(p.0, LinkState::Unknown);
        assert!(
            p.1.contains("etcd/peer-ca.crt") && p.1.contains("s1"),
            "{}",
            p.1
        );
        b.files = false;
        let p = service_account(&a, &b);
        assert_eq!(p.0, LinkState::Unknown);
        assert!(p.1.contains("not in the inputs"), "{}", p.1);
        assert_eq!(token_hash(&a, &b).0, LinkState::Unknown);
    }
}
