//! The merged model of one cluster: the inputs with their collection times, virtual files with
//! provenance, the Kubernetes object index over `yamls/`, bundle metadata, and the node inventory
//! (names, roles, addresses, which inputs cover each node).
//!
//! Built from the ingest stage's [`crate::ingest::InputTree`]s; later stages read only this.

mod model;

pub use model::*;

use crate::ingest::{InputTree, Limits, Selector, Want};

/// The entries the analysis needs, by logical path.
#[derive(Debug, Default, Clone, Copy)]
pub struct AnalysisSelector;

impl Selector for AnalysisSelector {
    fn want(&self, _path: &str) -> Want {
        Want::Skip
    }
    fn needles(&self) -> &[&str] {
        &[]
    }
}

/// Build the snapshot from every input read. Inputs of different clusters are refused here.
pub fn build(inputs: Vec<(InputTree, Option<String>)>, limits: &Limits) -> Snapshot {
    let _ = limits;
    let trees: Vec<InputTree> = inputs.into_iter().map(|(t, _)| t).collect();
    let inputs = trees
        .iter()
        .map(|t| InputSummary {
            path: t.path.clone(),
            name: t.name.clone(),
            kind: InputKind::Unreadable,
            sha256: t.sha256.clone(),
            collected_at: None,
            error: Some("snapshot not implemented".into()),
        })
        .collect();
    Snapshot {
        inputs,
        trees,
        ..Snapshot::default()
    }
}
