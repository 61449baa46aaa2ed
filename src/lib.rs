//! harrow: an offline analyzer of Harvester support bundles and air-gapped RKE2 node snapshots.
//!
//! The data flows one way, one stage per module:
//!
//! ```text
//! inputs ──► ingest ──► snapshot ──► pki + graph ──► checks ──► report
//! ```
//!
//! - [`layout`] declares the RKE2/Harvester on-disk layout every stage names paths by: data
//!   and config directories, CA files and agent copies, staged and backup trees, token places.
//! - [`ingest`] reads archives (zip, nested zip, tar, tar.gz, tar.xz, directories) safely and
//!   streams only the entries the analysis asked for into bounded memory.
//! - [`snapshot`] merges the inputs of one cluster into one model: virtual files with provenance,
//!   a Kubernetes object index, the node inventory and roles.
//! - [`pki`] parses certificates, keys, tokens and computes the token CA hash; [`parse`] the host
//!   and configuration formats (`iptables-save`).
//! - [`model`] is the credential model: every credential of the snapshot parsed once, with its
//!   origin; the graph, consistency checks, timeline and rules are views of it.
//! - [`graph`] builds the trust graph.
//! - [`checks`] judges the model (rules with codes) and records coverage.
//! - [`report`] renders text and JSON.
//! - [`rotation`] is the rotation floor: the trust state of a cluster and its trust links.
//! - [`exec`] executes a runbook over the nodes with a durable journal, resume and status.
//! - [`diff`] compares two states of one cluster (before and after a rotation) node by node.
//! - [`vocab`] is the bottom floor: `Severity`, `Origin`, `Finding`, `Coverage`.
//! - [`cli`] holds the clap definitions; `main.rs` is a thin shell around [`cli::main_with_args`].

#![forbid(unsafe_code)]

pub mod analyze;
pub mod checks;
pub mod cli;
pub mod diff;
pub mod error;
pub mod exec;
pub mod export;
pub mod graph;
pub mod ingest;
pub mod layout;
pub mod model;
pub mod par;
pub mod parse;
pub mod pki;
pub mod progress;
pub mod report;
pub mod rotation;
pub mod runbook;
pub mod snapshot;
pub mod timefmt;
pub mod timings;
pub mod vocab;
