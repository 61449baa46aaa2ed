//! FW006 from Harvester's network objects (`network.harvesterhci.io`): a `HostNetworkConfig`
//! that gives a node a host address on a cluster network (interface
//! `<clusternetwork>-br.<vlanID>`) whose traffic no INPUT rule sends to the chain fails; a jump
//! for the interface (or iptables' `storage-br+` wildcard) passes, and so does a cluster network
//! that only a `VlanConfig` puts on the node (VM traffic); without `ip addr` and without network
//! objects the rule is not evaluable. The objects are written into a temporary extracted copy of
//! the demo support bundle; the node is the demo's `n1` (control-plane) with its `ip addr`
//! removed and the guide's chain as its `iptables-save`.

// clippy.toml lets #[test] functions unwrap, panic and print; this lets their helpers too.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stderr
)]

mod rules_common;
mod support;

use std::path::{Path, PathBuf};

use rules_common::{coverage, findings, pin, status, support_bundle};

const NET: &str = "yamls/cluster/network.harvesterhci.io/v1beta1";

/// The chain as `iptables-save` shows it once the guide's script ran.
const LIVE: &str = "*filter\n:INPUT ACCEPT [0:0]\n:HARVESTER_INPUT - [0:0]\n-A INPUT -j KUBE-FIREWALL\n-A INPUT -i mgmt-br -j HARVESTER_INPUT\n-A HARVESTER_INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n-A HARVESTER_INPUT -p tcp -m tcp --dport 6443 -j ACCEPT\n-A HARVESTER_INPUT -j DROP\nCOMMIT\n";

const CLUSTER_NETWORKS: &str = "apiVersion: v1\nitems:\n- apiVersion: network.harvesterhci.io/v1beta1\n  kind: ClusterNetwork\n  metadata:\n    name: mgmt\n- apiVersion: network.harvesterhci.io/v1beta1\n  kind: ClusterNetwork\n  metadata:\n    name: storage\nkind: List\n";

/// A VlanConfig that puts the `storage` cluster network on every node (uplink eth2).
const VLANCONFIGS: &str = "apiVersion: v1\nitems:\n- apiVersion: network.harvesterhci.io/v1beta1\n  kind: VlanConfig\n  metadata:\n    name: storage-all\n  spec:\n    clusterNetwork: storage\n    uplink:\n      nics:\n      - eth2\n      linkAttributes:\n        mtu: 1500\nkind: List\n";

/// A HostNetworkConfig on `cluster_network`, VLAN `vlan`, for the control-plane nodes, with
/// n1's DHCP lease in its status.
fn host_network_configs(cluster_network: &str, vlan: u16) -> String {
    format!(
        "apiVersion: v1\nitems:\n- apiVersion: network.harvesterhci.io/v1beta1\n  kind: HostNetworkConfig\n  metadata:\n    name: host-{cluster_network}\n  spec:\n    clusterNetwork: {cluster_network}\n    vlanID: {vlan}\n    mode: dhcp\n    nodeSelector:\n      matchLabels:\n        node-role.kubernetes.io/control-plane: \"true\"\n  status:\n    nodeStatus:\n      n1:\n        mode: dhcp\n        network:\n          ipv4: 172.16.0.11/24\nkind: List\n"
    )
}

/// The demo bundle extracted into `dir/bundle`, with `lists` (file name under the network
/// group's directory, content) written into it.
fn bundle_with(dir: &Path, lists: &[(&str, &str)]) -> PathBuf {
    let out = dir.join("bundle");
    let zip = support_bundle().pop().expect("demo bundle");
    let mut z = zip::ZipArchive::new(std::fs::File::open(zip).unwrap()).unwrap();
    z.extract(&out).unwrap();
    let top = std::fs::read_dir(&out)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    for (name, content) in lists {
        let path = top.join(NET).join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, content).unwrap();
    }
    out
}

/// The demo's `n1` extracted into `dir/n1`, without `ip addr`, with `rules` as iptables-save.
fn n1_with(dir: &Path, rules: &str) -> PathBuf {
    let out = rules_common::unpack("bundles/demo/n1.tgz", dir, "n1");
    std::fs::remove_file(out.join("commands/ip-addr.txt")).unwrap();
    std::fs::write(out.join("commands/iptables-save.txt"), rules).unwrap();
    out
}

use rules_common::analyze_paths as run;

fn storage_objects(dir: &Path) -> PathBuf {
    bundle_with(
        dir,
        &[
            ("clusternetworks.yaml", CLUSTER_NETWORKS),
            ("vlanconfigs.yaml", VLANCONFIGS),
            (
                "hostnetworkconfigs.yaml",
                &host_network_configs("storage", 100),
            ),
        ],
    )
}

#[test]
fn fw006_a_host_network_config_interface_outside_the_chain_fails() {
    let tmp = tempfile::tempdir().unwrap();
    let b = storage_objects(tmp.path());
    let n1 = n1_with(tmp.path(), LIVE);
    let doc = run(&[&b, &n1]);
    assert_eq!(status(&doc, "FW006"), "fail", "{}", coverage(&doc, "FW006"));
    let f = findings(&doc, "FW006");
    assert_eq!(f.len(), 1, "{f:?}");
    assert_eq!(f[0]["node"], "n1");
    assert_eq!(f[0]["severity"], "medium");
    assert_eq!(f[0]["target"], "interface storage-br.100");
    let msg = f[0]["message"].as_str().unwrap();
    assert!(
        msg.contains("HostNetworkConfig host-storage") && msg.contains("172.16.0.11/24"),
        "{msg}"
    );
    assert!(
        f[0]["evidence"][0]["path"]
            .as_str()
            .unwrap()
            .ends_with("hostnetworkconfigs.yaml")
    );
    assert!(
        f[0]["evidence"][1]["path"]
            .as_str()
            .unwrap()
            .ends_with("commands/iptables-save.txt")
    );
    assert!(
        f[0]["remediation"]
            .as_str()
            .unwrap()
            .contains("-i storage-br.100 -j HARVESTER_INPUT")
    );
    pin(&doc, "FW006", "fail-host-network-config");
}

#[test]
fn fw006_a_vlan_on_the_management_network_needs_its_own_jump() {
    // `-i mgmt-br` does not match packets that arrive on the VLAN interface mgmt-br.20.
    let tmp = tempfile::tempdir().unwrap();
    let b = bundle_with(
        tmp.path(),
        &[
            ("clusternetworks.yaml", CLUSTER_NETWORKS),
            ("hostnetworkconfigs.yaml", &host_network_configs("mgmt", 20)),
        ],
    );
    let n1 = n1_with(tmp.path(), LIVE);
    let doc = run(&[&b, &n1]);
    assert_eq!(status(&doc, "FW006"), "fail", "{}", coverage(&doc, "FW006"));
    assert_eq!(findings(&doc, "FW006")[0]["target"], "interface mgmt-br.20");
    pin(&doc, "FW006", "fail-vlan-on-the-management-network");
}

#[test]
fn fw006_passes_with_the_interface_jumped_or_a_vm_only_cluster_network() {
    let tmp = tempfile::tempdir().unwrap();
    let b = storage_objects(tmp.path());
    let jumped = LIVE.replace(
        "-A INPUT -i mgmt-br -j HARVESTER_INPUT\n",
        "-A INPUT -i storage-br+ -j HARVESTER_INPUT\n-A INPUT -i mgmt-br -j HARVESTER_INPUT\n",
    );
    let n1 = n1_with(tmp.path(), &jumped);
    let doc = run(&[&b, &n1]);
    assert_eq!(status(&doc, "FW006"), "pass", "{}", coverage(&doc, "FW006"));
    assert!(
        coverage(&doc, "FW006")["reason"]
            .as_str()
            .unwrap()
            .contains("n1 by HostNetworkConfig objects")
    );
    pin(&doc, "FW006", "pass-interface-jumped");

    // A VlanConfig alone: the cluster network carries VM traffic, the host has no address there.
    let tmp = tempfile::tempdir().unwrap();
    let b = bundle_with(
        tmp.path(),
        &[
            ("clusternetworks.yaml", CLUSTER_NETWORKS),
            ("vlanconfigs.yaml", VLANCONFIGS),
        ],
    );
    let n1 = n1_with(tmp.path(), LIVE);
    let doc = run(&[&b, &n1]);
    assert_eq!(status(&doc, "FW006"), "pass", "{}", coverage(&doc, "FW006"));
    pin(&doc, "FW006", "pass-vm-only-cluster-network");

    // A HostNetworkConfig on a cluster network no VlanConfig puts on the node: no interface.
    let tmp = tempfile::tempdir().unwrap();
    let b = bundle_with(
        tmp.path(),
        &[(
            "hostnetworkconfigs.yaml",
            &host_network_configs("storage", 100),
        )],
    );
    let n1 = n1_with(tmp.path(), LIVE);
    let doc = run(&[&b, &n1]);
    assert_eq!(status(&doc, "FW006"), "pass", "{}", coverage(&doc, "FW006"));
    pin(
        &doc,
        "FW006",
        "pass-host-network-config-without-vlan-config",
    );
}

#[test]
fn fw006_names_the_network_objects_behind_an_ip_addr_interface() {
    let tmp = tempfile::tempdir().unwrap();
    let b = storage_objects(tmp.path());
    let n1 = n1_with(tmp.path(), LIVE);
    std::fs::write(
        n1.join("commands/ip-addr.txt"),
        "1: lo: <LOOPBACK,UP,LOWER_UP> mtu 65536\n    inet 127.0.0.1/8 scope host lo\n2: mgmt-br: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500\n    inet 10.0.0.11/24 scope global mgmt-br\n3: storage-br.100@storage-br: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500\n    inet 172.16.0.11/24 scope global storage-br.100\n",
    )
    .unwrap();
    let doc = run(&[&b, &n1]);
    assert_eq!(status(&doc, "FW006"), "fail", "{}", coverage(&doc, "FW006"));
    let f = findings(&doc, "FW006");
    assert_eq!(f.len(), 1, "{f:?}");
    let msg = f[0]["message"].as_str().unwrap();
    assert!(msg.contains("HostNetworkConfig host-storage"), "{msg}");
    assert!(
        f[0]["evidence"][0]["path"]
            .as_str()
            .unwrap()
            .ends_with("commands/ip-addr.txt")
    );
    assert!(
        f[0]["evidence"][2]["path"]
            .as_str()
            .unwrap()
            .ends_with("hostnetworkconfigs.yaml")
    );
    pin(&doc, "FW006", "fail-ip-addr-interface-named-by-objects");
}

#[test]
fn fw006_not_evaluable_without_ip_addr_or_network_objects() {
    let tmp = tempfile::tempdir().unwrap();
    let b = bundle_with(tmp.path(), &[]);
    let n1 = n1_with(tmp.path(), LIVE);
    let doc = run(&[&b, &n1]);
    assert_eq!(
        status(&doc, "FW006"),
        "not-evaluable",
        "{}",
        coverage(&doc, "FW006")
    );
    let reason = coverage(&doc, "FW006")["reason"].as_str().unwrap();
    assert!(reason.contains("network.harvesterhci.io"), "{reason}");
    pin(
        &doc,
        "FW006",
        "not-evaluable-without-ip-addr-or-network-objects",
    );
}
