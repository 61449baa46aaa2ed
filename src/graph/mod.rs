//! The trust graph of certificates, keys, CA bundles, tokens, service-account key sets,
//! kubeconfigs and nodes (petgraph), with its queries and exports. `inventory` decides where a
//! credential file sits (live, staged, backup, object) and who owns a CA.

pub mod inventory;
