//! How each node's management NIC gets its address (DHCP or static), read once for the host
//! firewall rules (FW010: a chain without the DHCP accept cuts a DHCP node off at lease renewal).
//!
//! Evidence, first found wins: a node snapshot's `commands/ip-addr.txt` (the live state:
//! `dynamic` on an address of `mgmt-br`), then `/oem/harvester.config`'s install section
//! (`install.managementinterface.method` in current releases, `install.management_interface.
//! method`, or `install.networks.harvester-mgmt.method` in v1.0). Neither: unknown (no entry).

use std::collections::BTreeMap;

use serde_json::Value;

use crate::layout;
use crate::snapshot::Snapshot;
use crate::snapshot::value::str_at;
use crate::vocab::Origin;

/// `ip addr` output as a node snapshot carries it.
pub const IP_ADDR: &str = "commands/ip-addr.txt";

/// The addressing of a management NIC.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Addressing {
    Dhcp,
    Static,
}

/// A node's management NIC addressing, how it was told and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MgmtNic {
    pub addressing: Addressing,
    /// What said so (`install.managementinterface.method: dhcp`).
    pub how: String,
    pub origin: Origin,
}

/// The install-config keys that hold the management NIC's method, newest first.
const METHOD_KEYS: [&[&str]; 3] = [
    &["install", "managementinterface", "method"],
    &["install", "management_interface", "method"],
    &["install", "networks", "harvester-mgmt", "method"],
];

/// The addressing of the method a Harvester install config names.
fn method_of(config: &Value) -> Option<(Addressing, String)> {
    METHOD_KEYS.iter().find_map(|k| {
        let m = str_at(config, k)?;
        let a = match m.to_ascii_lowercase().as_str() {
            "dhcp" => Addressing::Dhcp,
            "static" => Addressing::Static,
            _ => return None,
        };
        Some((a, format!("{}: {m}", k.join("."))))
    })
}

/// The addressing `ip addr` shows for the management bridge: DHCP when one of its addresses is
/// `dynamic`, static when it has addresses and none is.
pub fn addressing_in_ip_addr(text: &str) -> Option<Addressing> {
    let mut seen = false;
    for l in text.lines() {
        let words: Vec<&str> = l.split_whitespace().collect();
        if words.first().is_some_and(|w| w.starts_with("inet"))
            && words.last() == Some(&layout::MGMT_BRIDGE)
        {
            if words.contains(&"dynamic") {
                return Some(Addressing::Dhcp);
            }
            seen = true;
        }
    }
    seen.then_some(Addressing::Static)
}

/// Every node's management NIC addressing, where some input tells it.
pub fn read(snap: &Snapshot) -> BTreeMap<String, MgmtNic> {
    let limits = crate::ingest::Limits::default();
    let mut out = BTreeMap::new();
    for node in snap.nodes.values() {
        let from_ip_addr = node
            .files
            .get(IP_ADDR)
            .and_then(|c| super::build::read(snap, node, IP_ADDR, c))
            .and_then(|(data, origin)| {
                let addressing = addressing_in_ip_addr(&String::from_utf8_lossy(data))?;
                let how = match addressing {
                    Addressing::Dhcp => "a dynamic address on mgmt-br in `ip addr`",
                    Addressing::Static => "only static addresses on mgmt-br in `ip addr`",
                };
                Some(MgmtNic {
                    addressing,
                    how: how.into(),
                    origin,
                })
            });
        let nic = from_ip_addr.or_else(|| {
            let (data, origin) = node
                .files
                .get(layout::OEM_HARVESTER_CONFIG)
                .and_then(|c| super::build::read(snap, node, layout::OEM_HARVESTER_CONFIG, c))?;
            let v = crate::snapshot::yaml::parse(data, &limits).ok()?;
            let (addressing, how) = method_of(&v)?;
            Some(MgmtNic {
                addressing,
                how: format!("/{} {how}", layout::OEM_HARVESTER_CONFIG),
                origin,
            })
        });
        if let Some(n) = nic {
            out.insert(node.name.clone(), n);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn install_configs_of_every_release_name_the_method() {
        let now: Value =
            serde_json::json!({"install": {"managementinterface": {"method": "static"}}});
        let v1_0: Value =
            serde_json::json!({"install": {"networks": {"harvester-mgmt": {"method": "dhcp"}}}});
        assert_eq!(method_of(&now).map(|m| m.0), Some(Addressing::Static));
        let (a, how) = method_of(&v1_0).expect("v1.0");
        assert_eq!(a, Addressing::Dhcp);
        assert_eq!(how, "install.networks.harvester-mgmt.method: dhcp");
        assert!(method_of(&serde_json::json!({"install": {}})).is_none());
    }

    #[test]
    fn ip_addr_tells_dynamic_addresses_of_the_bridge() {
        let st = "3: mgmt-br: <UP>\n    inet 10.0.0.11/24 brd 10.0.0.255 scope global mgmt-br\n";
        let dy = "3: mgmt-br: <UP>\n    inet 10.0.0.11/24 brd 10.0.0.255 scope global dynamic mgmt-br\n       valid_lft 86000sec\n";
        assert_eq!(addressing_in_ip_addr(st), Some(Addressing::Static));
        assert_eq!(addressing_in_ip_addr(dy), Some(Addressing::Dhcp));
        assert_eq!(
            addressing_in_ip_addr("    inet 10.1.1.1/24 scope global dynamic eth1\n"),
            None
        );
    }
}
