//! The merged model of one cluster: the inputs with their collection times, virtual files with
//! provenance, the Kubernetes object index over `yamls/`, bundle metadata, and the node inventory
//! (names, roles, addresses, which inputs cover each node).
//!
//! Built from the ingest stage's [`crate::ingest::InputTree`]s; later stages read only this.
//!
//! Rooms: [`selector`] (what ingest loads, scans, descends into), [`classify`] (what an input
//! is), [`yaml`] (budgeted YAML), [`value`] (accessors that respect masking and the collector's
//! encoding), [`kube`] (object index, `metadata.yaml`), [`nodes`] (inventory, roles, naming,
//! host file view), [`notes`] (BUNDLE002/BUNDLE003/INPUT001), [`version`], [`certs`]
//! (fingerprints and subject names for identity and naming), [`build`](mod@build) (the orchestration).

pub mod build;
pub mod certs;
pub mod classify;
pub mod kube;
pub mod listsplit;
mod model;
pub mod nodes;
pub mod notes;
pub mod selector;
pub mod value;
pub mod version;
pub mod yaml;

pub use build::build;
pub use model::*;
pub use selector::{AnalysisSelector, NEEDLES, YAML_WHITELIST};
