//! Effects on the credential model: what a step of a rotation does to the files of a node, and
//! the model that results (`apply(&Model, &Effect) -> Model`). The trust graph, the consistency
//! view and the rules judge the resulting model exactly as they judge one built from a snapshot;
//! the rotation simulator strings effects together and re-judges after each.
//!
//! This floor knows files, not services: "restart rke2-agent on a1" becomes, in the simulator,
//! the file effects a restart has (the agent re-fetching the servers' CA bundles is a
//! [`Effect::CopyFile`] from a server's `server/tls/server-ca.crt` to the agent's
//! `agent/server-ca.crt`).

use std::collections::BTreeMap;
use std::sync::Arc;

use super::Model;
use super::certs::{CertEntry, Location};
use super::inventory::{InUse, in_use_of_host_path};

/// The input name of what an effect wrote (locations and origins of simulated files).
pub const SIMULATED: &str = "(simulated)";

/// A node file, by node name and host path.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NodeFile {
    pub node: String,
    pub host: String,
}

impl NodeFile {
    pub fn new(node: impl Into<String>, host: impl Into<String>) -> NodeFile {
        NodeFile {
            node: node.into(),
            host: host.into(),
        }
    }

    fn key(&self) -> (String, String) {
        (self.node.clone(), self.host.clone())
    }
}

/// One change to the files of the cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// Copy a file's content to another place (the same or another node): its certificates, its
    /// keys, its digest. What `cp`/`scp` does, and what an agent's start does to its CA copies.
    CopyFile { from: NodeFile, to: NodeFile },
    /// Remove a file.
    RemoveFile(NodeFile),
}

/// The model after `effect`. `model` is left as it was: a simulator keeps every state.
pub fn apply(model: &Model, effect: &Effect) -> Model {
    let mut next = model.clone();
    match effect {
        Effect::CopyFile { from, to } => {
            remove(&mut next, to);
            copy(model, &mut next, from, to);
        }
        Effect::RemoveFile(f) => remove(&mut next, f),
    }
    next
}

/// True when a location is the file `f`.
fn at(l: &Location, f: &NodeFile) -> bool {
    l.node.as_deref() == Some(f.node.as_str()) && l.host_path.as_deref() == Some(f.host.as_str())
}

fn remove(m: &mut Model, f: &NodeFile) {
    let key = f.key();
    m.certs.certs.retain(|_, e| {
        e.locations.retain(|l| !at(l, f));
        !e.locations.is_empty()
    });
    for e in m.certs.certs.values_mut() {
        e.in_use = in_use_of_entry(e);
    }
    m.keys.remove(&key);
    m.csrs.remove(&key);
    m.kubeconfigs.remove(&key);
    m.digests.remove(&key);
    m.file_certs.remove(&key);
}

/// The most live place a certificate sits in.
fn in_use_of_entry(e: &CertEntry) -> InUse {
    e.locations
        .iter()
        .map(|l| l.in_use)
        .min()
        .unwrap_or(InUse::Object)
}

fn copy(old: &Model, m: &mut Model, from: &NodeFile, to: &NodeFile) {
    let source: Arc<str> = Arc::from(SIMULATED);
    let node: Arc<str> = Arc::from(to.node.as_str());
    let host: Arc<str> = Arc::from(to.host.as_str());
    let in_use = in_use_of_host_path(&to.host).unwrap_or(InUse::Object);
    let mut in_file: Vec<(usize, String)> = Vec::new();
    for (fp, e) in &old.certs.certs {
        for l in e.locations.iter().filter(|l| at(l, from)) {
            in_file.push((l.index, fp.to_string()));
            let copy = Location {
                node: Some(Arc::clone(&node)),
                source: Arc::clone(&source),
                path: Arc::clone(&host),
                host_path: Some(Arc::clone(&host)),
                index: l.index,
                in_use,
            };
            if let Some(entry) = m.certs.certs.get_mut(fp) {
                entry.locations.push(copy);
                entry.locations.sort();
                entry.locations.dedup();
                entry.in_use = in_use_of_entry(entry);
            }
        }
    }
    let origin =
        super::Origin::new(SIMULATED, to.host.as_str()).on(to.node.as_str(), to.host.as_str());
    let (from_key, to_key) = (from.key(), to.key());
    copy_record(&old.keys, &mut m.keys, &from_key, &to_key, &origin, |k| {
        &mut k.origin
    });
    copy_record(&old.csrs, &mut m.csrs, &from_key, &to_key, &origin, |c| {
        &mut c.origin
    });
    copy_record(
        &old.kubeconfigs,
        &mut m.kubeconfigs,
        &from_key,
        &to_key,
        &origin,
        |k| &mut k.origin,
    );
    copy_record(
        &old.digests,
        &mut m.digests,
        &from_key,
        &to_key,
        &origin,
        |d| &mut d.origin,
    );
    if !in_file.is_empty() {
        in_file.sort();
        m.file_certs.insert(
            to_key,
            super::FileCerts {
                origin,
                certs: in_file.into_iter().map(|(_, fp)| fp).collect(),
            },
        );
    }
}

/// Copy the record of `from` in `old` to `to` in `new`, with `origin` as where it now sits.
fn copy_record<T: Clone>(
    old: &BTreeMap<(String, String), T>,
    new: &mut BTreeMap<(String, String), T>,
    from: &(String, String),
    to: &(String, String),
    origin: &super::Origin,
    origin_of: impl Fn(&mut T) -> &mut super::Origin,
) {
    if let Some(r) = old.get(from) {
        let mut r = r.clone();
        *origin_of(&mut r) = origin.clone();
        new.insert(to.clone(), r);
    }
}
