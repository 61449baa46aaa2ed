//! Parsers of the host and configuration formats the rules read (beside the credential formats
//! of `pki`): pure functions over bytes, on the bottom floor, each in its own module with its own
//! tests; the model calls them once. `iptables` reads `iptables-save` output; `rke2config` merges
//! rke2's `config.yaml` and drop-ins in rke2's order; `sysctl` reads `sysctl -a` and
//! `sysctl.d`; `passwd` reads `/etc/passwd` and `/etc/group`; `supportconfig` splits the
//! supportconfig text files (`memory.txt`, `etc.txt`) into their sections; `cidr` parses
//! and compares networks; `cloudinit` reads Elemental/yip stage files (`/oem`, the `contents`
//! of Harvester `CloudInit` objects) and the iptables commands they run; `ipaddr` reads
//! `ip addr` output; `droplog` the netfilter LOG lines of a kernel log.

pub mod cidr;
pub mod cloudinit;
pub mod droplog;
pub mod ipaddr;
pub mod iptables;
pub mod passwd;
pub mod rke2config;
pub mod supportconfig;
pub mod sysctl;
