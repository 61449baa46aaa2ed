//! The trust graph of certificates, keys, CA bundles, tokens, service-account key sets,
//! kubeconfigs and nodes (petgraph), with its queries and exports.
