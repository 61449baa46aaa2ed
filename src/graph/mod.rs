//! The credential model built from the snapshot: the certificate inventory (`certs`), where
//! credentials sit and who owns them (`inventory`), the trust graph with its queries (`trust`,
//! petgraph), and the cliff calendar (`timeline`). Data and queries only: every output format is
//! rendered in `report`.

pub mod certs;
pub mod consistency;
pub mod inventory;
pub mod timeline;
pub mod tokens;
pub mod trust;
