//! The export floor: copies of inputs that can leave the site. `redact` writes a copy of a
//! support bundle or node snapshot with its secrets replaced; `collect` writes a node snapshot
//! (the air-gapped layout of product.md) from a node's own files. Both scrub with [`scrub`] (one
//! set of replacement rules) and write with [`archive`]. This floor stands on the analysis
//! (`redact` finds the secrets to replace with the credential model) and writes only the file it
//! is given.

pub mod archive;
pub mod collect;
pub mod redact;
pub mod scrub;
