//! Parsers of the host and configuration formats the rules read (beside the credential formats
//! of `pki`): pure functions over bytes, on the bottom floor, each in its own module with its own
//! tests; the model calls them once. `iptables` reads `iptables-save` output; `cloudinit` reads
//! Elemental/yip stage files (`/oem`, the `contents` of Harvester `CloudInit` objects) and the
//! iptables commands they run; `ipaddr` reads `ip addr` output.

pub mod cloudinit;
pub mod ipaddr;
pub mod iptables;
