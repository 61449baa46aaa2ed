//! The rotation floor (issue 10): what a rotation does to the cluster's trust, judged offline.
//! It stands on `snapshot`, `model` and `pki` and nothing below reaches into it.
//!
//! - [`state`]: the trust state built from a snapshot and its credential model: per node its
//!   role, the CA bundles it trusts, the leaf certificates it presents, its token (CA hash and
//!   a password digest), its service-account keys, its staged files; and the assumptions taken
//!   where a snapshot cannot show something.
//! - [`links`]: the trust links of a state (kubelet → apiserver, apiserver → kubelet, supervisor
//!   join, etcd peer and client, request-header, service-account, etcd quorum), each holding,
//!   broken or unknown with the reason.
//! - [`verify`]: the chain verification the links use (a bundle's certificates as anchors, the
//!   presented file's as intermediates, real signature checks, cross-signing included).
//!
//! A model an effect produced ([`crate::model::effect::apply`]) gives the next state through
//! [`state::build`]; the planner and the simulator are the next pieces.

pub mod links;
pub mod plan;
pub mod rotate_ca;
pub mod sim;
pub mod stage;
pub mod state;
pub mod verify;

pub use links::{Link, LinkKind, LinkState, check};
pub use state::{Assumption, NodeRole, NodeState, TrustState, build};
