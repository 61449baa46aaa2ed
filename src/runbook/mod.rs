//! The runbook model shared by `plan` (which writes runbooks), `simulate` (which judges them
//! against a snapshot's trust state) and the executor (which runs them): the YAML format of
//! `spec/runbooks.md` ("Format"), loaded with file:line:column errors and strict templating.
//!
//! - [`model`]: the typed document (params, preflight, steps, targets, orders, effects).
//! - [`template`]: `{{ params.x }}`, `{{ node.name }}`, `{{ node.ip }}`, `{{ node.role }}`,
//!   `{{ run.id }}`; an undefined variable is a load-time error; values are shell-quoted unless
//!   the template says `| raw`.
//! - [`load`]: parsing (serde-saphyr), validation and `--var` overrides.
//! - [`write`](mod@write): the YAML text of a runbook, as `plan` emits it.

pub mod load;
pub mod model;
pub mod template;
pub mod write;

pub use load::{Loaded, load_file, load_str};
pub use model::{
    Effect, Effects, Metadata, OnFailure, Order, Param, ParamType, Preflight, Runbook, Step, Target,
};
