//! Views of the credential model ([`crate::model`]): the trust graph with its queries
//! (`trust`, petgraph: blast radius, id resolution), the copies that should agree and do not
//! (`consistency`), and the cliff calendar (`timeline`). Data and queries only, no parsing of
//! bytes: every output format is rendered in `report`.

pub mod consistency;
pub mod timeline;
pub mod trust;
