//! The credential model: every credential of the snapshot parsed once, each with where it came
//! from. Certificates (deduplicated by fingerprint, DER kept once: [`crate::model::certs`]), key
//! files and their `.pub-fingerprint` stand-ins, signing requests, kubeconfigs (the certificates
//! they trust and present, embedded or by file reference), tokens of every source ([`tokens`]), the CA hash
//! each server serves, the digests of the files that must agree between nodes, and Harvester's
//! settings with the proxy variables of the nodes' `/oem` ([`settings`]), and the persisted host
//! firewall ([`hostfw`]: CloudInit objects, `/oem` iptables scripts, interfaces).
//!
//! This is the one place above `pki` that reads credential bytes. The trust graph, the
//! consistency checks, the timeline and the rules are views of it; none of them parses bytes
//! again. It holds no time: status at an instant is asked of it. [`effect::apply`] derives the
//! next model from this one (a file copied or removed), and the same views and rules judge it
//! ([`crate::analyze::judge`]): the ground the rotation simulator stands on.

mod build;
pub mod certs;
pub mod effect;
pub mod exposed;
pub mod firewalls;
pub mod host;
pub mod hostfw;
pub mod hostnet;
pub mod inventory;
pub mod keys;
pub mod settings;
pub mod tokens;

use std::collections::BTreeMap;

pub use build::{build, certificates};
pub use keys::{KeyFile, KeyList, KeyRecord};

use crate::model::certs::{CertEntry, Inventory};
use crate::model::tokens::{NodeJoin, NodeToken, ServedHash};
pub use crate::vocab::Origin;

/// A signing request file (`*.csr`): the requests it holds, or why it was not read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CsrFile {
    pub origin: Origin,
    pub requests: Result<Vec<CsrRecord>, String>,
}

/// One signing request: its subject and the public key it carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CsrRecord {
    pub subject: String,
    pub spki_sha256: String,
}

/// A kubeconfig: the certificates it trusts (cluster CAs) and presents (the first client
/// certificate of each user), by fingerprint, whether embedded or named by file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KubeconfigFile {
    pub origin: Origin,
    pub trusts: Vec<String>,
    pub presents: Vec<String>,
    /// For each certificate of `presents`, the SHA-256 of the public key of its user's first
    /// client key (`client-key-data`, or the `client-key` file when the model holds it); `None`
    /// when the key is not in the inputs or not read.
    pub client_keys: Vec<Option<String>>,
}

/// The digest of a file compared between nodes (cluster CA files, agents' copies): SHA-256 of
/// its bytes and the fingerprint of its first certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileDigest {
    pub origin: Origin,
    pub sha256: String,
    pub first_cert: Option<String>,
}

/// The credential model of one snapshot.
#[derive(Debug, Clone, Default)]
pub struct Model {
    /// Every certificate, by fingerprint, with its locations and issuers.
    pub certs: Inventory,
    /// Key files and `.pub-fingerprint` files, by (node, host path).
    pub keys: BTreeMap<(String, String), KeyFile>,
    /// Signing requests, by (node, host path).
    pub csrs: BTreeMap<(String, String), CsrFile>,
    /// Kubeconfigs, by (node, host path).
    pub kubeconfigs: BTreeMap<(String, String), KubeconfigFile>,
    /// Tokens of every source, by node.
    pub tokens: BTreeMap<String, Vec<NodeToken>>,
    /// How each node's rke2 starts (tokens it uses, server it joins), by node.
    pub joins: BTreeMap<String, NodeJoin>,
    /// The CA hash each server serves.
    pub served: Vec<ServedHash>,
    /// Each node's `iptables-save` output, read once, by node name.
    pub firewalls: BTreeMap<String, Firewall>,
    /// Each node's `iptables-legacy-save` output where it holds tables of its own
    /// ([`firewalls`]), by node name.
    pub legacy_firewalls: BTreeMap<String, Firewall>,
    /// How each node's management NIC is addressed (DHCP or static), where an input says so.
    pub mgmt_nics: BTreeMap<String, hostnet::MgmtNic>,
    /// Secrets the support bundles expose in their node configs.
    pub exposed: Vec<exposed::Exposed>,
    /// Files compared between nodes, by (node, host path).
    pub digests: BTreeMap<(String, String), FileDigest>,
    /// Certificates of each node file, in file order, by (node, host path) (only the files a view
    /// looks up: the certificates beside keys, the files kubeconfigs name, compared files).
    pub file_certs: BTreeMap<(String, String), FileCerts>,
    /// Harvester settings (JSON inside strings, parsed once) and the nodes' `/oem` proxy
    /// variables.
    pub settings: settings::Settings,
    /// Each node's host configuration (merged rke2 config, kernel parameters, accounts), by
    /// node name.
    pub hosts: BTreeMap<String, host::Host>,
    /// The persisted host firewall: CloudInit objects, `/oem` iptables scripts, interfaces.
    pub hostfw: hostfw::HostFirewall,
}

/// The data the model is built from, whatever rules run: the nodes' credential files.
pub const NEEDS: [crate::vocab::Need; 1] = [crate::vocab::Need::NodeFiles];

/// A node's `iptables-save` (or `iptables-legacy-save`) output and where it was read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Firewall {
    pub origin: Origin,
    pub rules: crate::parse::iptables::Ruleset,
    /// The backend it was saved from.
    pub backend: firewalls::Backend,
}

/// The certificates of one node file, by fingerprint in file order, and the copy they were read
/// from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileCerts {
    pub origin: Origin,
    pub certs: Vec<String>,
}

impl Model {
    /// The certificates of `host` on `node`, in file order.
    pub fn certs_of(&self, node: &str, host: &str) -> impl Iterator<Item = &CertEntry> {
        self.file_certs
            .get(&(node.to_string(), host.to_string()))
            .into_iter()
            .flat_map(|f| f.certs.iter())
            .filter_map(|fp| self.certs.certs.get(fp.as_str()))
    }

    /// The certificates of `host` on `node` with the copy they were read from.
    pub fn file(&self, node: &str, host: &str) -> Option<&FileCerts> {
        self.file_certs.get(&(node.to_string(), host.to_string()))
    }

    /// Every input entry the model could not read, or read only in part, with why: certificate
    /// files, key files, rke2 config files, `iptables-save` lines, CloudInit and `/oem`
    /// documents. In a stable order (by input, path, message); the rest of the model is built
    /// without them.
    pub fn problems(&self) -> Vec<(Origin, String)> {
        let mut out: Vec<(Origin, String)> = Vec::new();
        out.extend(
            self.certs
                .problems
                .iter()
                .map(|p| (p.origin.clone(), p.message.clone())),
        );
        for k in self.keys.values() {
            out.extend(k.problems().into_iter().map(|m| (k.origin.clone(), m)));
        }
        for host in self.hosts.values() {
            if let Some(cfg) = &host.config {
                for e in &cfg.merged.errors {
                    let origin = cfg
                        .files
                        .get(&e.file)
                        .cloned()
                        .unwrap_or_else(|| Origin::new("", e.file.as_str()));
                    let origin = match e.line {
                        Some(l) => origin.at(Some(format!("line {l}"))),
                        None => origin,
                    };
                    out.push((origin, e.message.clone()));
                }
            }
        }
        for (_, fw) in self.all_firewalls() {
            for e in &fw.rules.errors {
                out.push((
                    fw.origin.clone().at(Some(format!("line {}", e.line))),
                    e.message.clone(),
                ));
            }
        }
        out.extend(self.hostfw.errors.iter().cloned());
        out.sort_by(|a, b| {
            (&a.0.input, &a.0.path, &a.0.pointer, &a.1).cmp(&(
                &b.0.input,
                &b.0.path,
                &b.0.pointer,
                &b.1,
            ))
        });
        out.dedup();
        out
    }

    /// The key file (or its `.pub-fingerprint` stand-in) at `host` on `node`.
    pub fn key_file(&self, node: &str, host: &str) -> Option<&KeyFile> {
        self.keys
            .get(&(node.to_string(), host.to_string()))
            .or_else(|| {
                self.keys
                    .get(&(node.to_string(), format!("{host}.pub-fingerprint")))
            })
    }
}
