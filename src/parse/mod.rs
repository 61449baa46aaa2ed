//! Parsers of the host and configuration formats the rules read (beside the credential formats
//! of `pki`): pure functions over bytes, on the bottom floor, each in its own module with its own
//! tests; the model calls them once. `iptables` reads `iptables-save` output, `droplog` the
//! netfilter LOG lines of a kernel log.

pub mod droplog;
pub mod iptables;
