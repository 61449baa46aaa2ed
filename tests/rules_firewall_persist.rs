//! The host firewall persistence rules through `harrow analyze -o json`: overlapping iptables
//! CloudInit selectors (FW004), scripts without cleanup or outside `boot` (FW005), extra NICs
//! outside the chain (FW006), nodes left out, paused CloudInits and pending rollouts (FW009),
//! live and persisted chains that disagree (FW012).
//!
//! CloudInit objects are written into a temporary extracted copy of the demo support bundle
//! (`yamls/cluster/node.harvesterhci.io/v1beta1/cloudinits.yaml`; the demo's nodes n1–n3 are
//! control-plane, w1 a labelled worker, w2 unlabelled); node files (`iptables-save`, `ip addr`,
//! `/oem`) into temporary copies of node snapshots. `bundles/` is never modified.

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

use rules_common::{
    COLLECTED, analyze, coverage, findings, healthy_s1, pin, status, support_bundle,
};

const CLOUDINITS: &str = "yamls/cluster/node.harvesterhci.io/v1beta1/cloudinits.yaml";
const CP: &[(&str, &str)] = &[
    ("node-role.kubernetes.io/control-plane", "true"),
    ("node-role.kubernetes.io/etcd", "true"),
];
const WORKER: &[(&str, &str)] = &[("node-role.harvesterhci.io/worker", "true")];
const WITNESS: &[(&str, &str)] = &[("node-role.harvesterhci.io/witness", "true")];

/// The guide's script: cleanup, chain, attach, a few accepts, log and drop.
const SCRIPT: &[&str] = &[
    "iptables -D INPUT -i mgmt-br -j HARVESTER_INPUT 2>/dev/null || true",
    "iptables -F HARVESTER_INPUT 2>/dev/null || true",
    "iptables -X HARVESTER_INPUT 2>/dev/null || true",
    "iptables -N HARVESTER_INPUT",
    "iptables -A INPUT -i mgmt-br -j HARVESTER_INPUT",
    "iptables -A HARVESTER_INPUT -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT",
    "iptables -A HARVESTER_INPUT -p tcp --dport 6443 -j ACCEPT",
    "iptables -A HARVESTER_INPUT -m limit --limit 10/min -j LOG --log-prefix HARVESTER_DROP_",
    "iptables -A HARVESTER_INPUT -j DROP",
];

/// The chain as `iptables-save` shows it once the script ran.
const LIVE: &str = "*filter\n:INPUT ACCEPT [0:0]\n:HARVESTER_INPUT - [0:0]\n-A INPUT -j KUBE-FIREWALL\n-A INPUT -i mgmt-br -j HARVESTER_INPUT\n-A HARVESTER_INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n-A HARVESTER_INPUT -p tcp -m tcp --dport 6443 -j ACCEPT\n-A HARVESTER_INPUT -j DROP\nCOMMIT\n";

/// No host firewall.
const BARE: &str = "*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -j KUBE-FIREWALL\nCOMMIT\n";

/// One CloudInit object of a bundle list.
struct Ci<'a> {
    name: &'a str,
    selector: &'a [(&'a str, &'a str)],
    stage: &'a str,
    commands: &'a [&'a str],
    paused: bool,
    /// `status.rollouts` as YAML lines under `rollouts:` (indented 6).
    rollouts: &'a str,
}

impl<'a> Ci<'a> {
    fn new(name: &'a str, selector: &'a [(&'a str, &'a str)]) -> Self {
        Ci {
            name,
            selector,
            stage: "boot",
            commands: SCRIPT,
            paused: false,
            rollouts: "",
        }
    }

    fn yaml(&self) -> String {
        let mut s = format!(
            "- apiVersion: node.harvesterhci.io/v1beta1\n  kind: CloudInit\n  metadata:\n    name: {}\n  spec:\n    matchSelector:{}\n",
            self.name,
            if self.selector.is_empty() { " {}" } else { "" }
        );
        for (k, v) in self.selector {
            s.push_str(&format!("      {k}: \"{v}\"\n"));
        }
        s.push_str(&format!(
            "    filename: 91-{}\n    paused: {}\n    contents: |\n      stages:\n        {}:\n          - name: \"Apply iptables rules\"\n            commands:\n",
            self.name, self.paused, self.stage
        ));
        for c in self.commands {
            s.push_str(&format!("              - {c}\n"));
        }
        if !self.rollouts.is_empty() {
            s.push_str("  status:\n    rollouts:\n");
            s.push_str(self.rollouts);
        }
        s
    }
}

/// The demo bundle extracted into `dir/bundle`, with `cis` as its CloudInit list (none: no list).
fn bundle_with(dir: &Path, cis: &[Ci]) -> PathBuf {
    let out = dir.join("bundle");
    let zip = support_bundle().pop().expect("demo bundle");
    let mut z = zip::ZipArchive::new(std::fs::File::open(zip).unwrap()).unwrap();
    z.extract(&out).unwrap();
    if !cis.is_empty() {
        let top = std::fs::read_dir(&out)
            .unwrap()
            .next()
            .unwrap()
            .unwrap()
            .path();
        let list = format!(
            "apiVersion: v1\nitems:\n{}kind: List\n",
            cis.iter().map(Ci::yaml).collect::<String>()
        );
        let path = top.join(CLOUDINITS);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, list).unwrap();
    }
    out
}

/// A node snapshot (`.tgz` under the repository) extracted into `dir/<name>`, with `files`
/// (host path, content) written into it.
fn snapshot_with(dir: &Path, tgz: &str, name: &str, files: &[(&str, &str)]) -> PathBuf {
    let out = rules_common::unpack(tgz, dir, name);
    for (p, content) in files {
        let path = out.join(p);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, content).unwrap();
    }
    out
}

use rules_common::analyze_paths as run;

fn messages(doc: &serde_json::Value, rule: &str) -> Vec<String> {
    findings(doc, rule)
        .iter()
        .map(|f| f["message"].as_str().unwrap_or("").to_string())
        .collect()
}

/// An `/oem` stage file running `commands` in `stage`.
fn oem_file(stage: &str, commands: &[&str]) -> String {
    let mut s = format!("stages:\n  {stage}:\n    - name: firewall\n      commands:\n");
    for c in commands {
        s.push_str(&format!("        - {c}\n"));
    }
    s
}

#[test]
fn fw004_a_node_matched_by_two_iptables_cloudinits_fails() {
    let tmp = tempfile::tempdir().unwrap();
    let b = bundle_with(
        tmp.path(),
        &[Ci::new("iptables-cp", CP), Ci::new("iptables-all", &[])],
    );
    let doc = run(&[&b]);
    assert_eq!(status(&doc, "FW004"), "fail", "{}", coverage(&doc, "FW004"));
    let f = findings(&doc, "FW004");
    assert_eq!(f.len(), 1);
    assert_eq!(f[0]["severity"], "high");
    assert_eq!(f[0]["target"], "CloudInit iptables-cp / iptables-all");
    let m = f[0]["message"].as_str().unwrap();
    assert!(m.contains("both match node(s) n1, n2, n3"), "{m}");
    assert!(
        f[0]["evidence"][0]["path"]
            .as_str()
            .unwrap()
            .ends_with("cloudinits.yaml")
    );
    pin(&doc, "FW004", "fail");
}

#[test]
fn fw004_selectors_that_overlap_by_label_logic_fail_and_say_so() {
    let tmp = tempfile::tempdir().unwrap();
    let etcd = [("node-role.kubernetes.io/etcd", "true")];
    let b = bundle_with(
        tmp.path(),
        &[
            Ci::new("iptables-etcd", &etcd),
            Ci::new("iptables-witness", WITNESS),
        ],
    );
    let doc = run(&[&b]);
    assert_eq!(status(&doc, "FW004"), "fail");
    let m = messages(&doc, "FW004");
    assert_eq!(m.len(), 1, "{m:?}");
    assert!(m[0].contains("by label logic"), "{m:?}");
    pin(&doc, "FW004", "fail-label-logic-overlap");
}

#[test]
fn fw004_and_fw005_pass_with_the_guides_role_cloudinits() {
    let tmp = tempfile::tempdir().unwrap();
    let b = bundle_with(
        tmp.path(),
        &[
            Ci::new("iptables-control-plane", CP),
            Ci::new("iptables-worker", WORKER),
            Ci::new("iptables-witness", WITNESS),
        ],
    );
    let doc = run(&[&b]);
    assert_eq!(status(&doc, "FW004"), "pass", "{}", coverage(&doc, "FW004"));
    assert_eq!(status(&doc, "FW005"), "pass", "{}", coverage(&doc, "FW005"));
    // w2 carries no role label: no iptables CloudInit matches it.
    assert_eq!(status(&doc, "FW009"), "fail");
    let f = findings(&doc, "FW009");
    assert_eq!(f.len(), 1, "{f:?}");
    assert_eq!(f[0]["node"], "w2");
    assert_eq!(f[0]["severity"], "high");
    pin(&doc, "FW004", "pass");
    pin(&doc, "FW005", "pass");
    pin(&doc, "FW009", "fail-unlabelled-node");
}

#[test]
fn fw004_fw005_fw009_not_evaluable_without_a_bundle() {
    let tmp = tempfile::tempdir().unwrap();
    let s1 = healthy_s1(tmp.path());
    std::fs::remove_dir_all(s1.join("oem")).unwrap();
    let doc = run(&[&s1]);
    for rule in ["FW004", "FW005", "FW009"] {
        assert_eq!(status(&doc, rule), "not-evaluable", "{rule}");
        assert!(coverage(&doc, rule)["needs"].as_str().is_some(), "{rule}");
    }
    assert!(
        coverage(&doc, "FW004")["needs"]
            .as_str()
            .unwrap()
            .contains("support bundle")
    );
    for rule in ["FW004", "FW005", "FW009"] {
        pin(&doc, rule, "not-evaluable");
    }
}

#[test]
fn fw004_fw005_fw009_not_applicable_when_no_cloudinit_runs_iptables() {
    // The demo bundle (Harvester v1.6.1) lists no CloudInit: it has none.
    let doc = analyze(&support_bundle(), COLLECTED);
    for rule in ["FW004", "FW005", "FW009"] {
        assert_eq!(status(&doc, rule), "not-applicable", "{rule}");
    }
    assert!(
        coverage(&doc, "FW004")["reason"]
            .as_str()
            .unwrap()
            .contains("collector skips empty lists")
    );
    for rule in ["FW004", "FW005", "FW009"] {
        pin(&doc, rule, "not-applicable");
    }
}

#[test]
fn fw005_script_without_cleanup_and_outside_boot_fails() {
    let tmp = tempfile::tempdir().unwrap();
    let mut ci = Ci::new("iptables-control-plane", CP);
    ci.commands = &SCRIPT[3..];
    ci.stage = "initramfs";
    let b = bundle_with(tmp.path(), &[ci]);
    let doc = run(&[&b]);
    assert_eq!(status(&doc, "FW005"), "fail");
    let f = findings(&doc, "FW005");
    assert_eq!(f.len(), 2, "{f:?}");
    assert!(f.iter().all(|f| f["severity"] == "medium"));
    let m = messages(&doc, "FW005");
    assert!(
        m.iter().any(|m| m.contains(
            "-D INPUT … -j HARVESTER_INPUT, -F HARVESTER_INPUT, -X HARVESTER_INPUT missing"
        )),
        "{m:?}"
    );
    assert!(m.iter().any(|m| m.contains("initramfs")), "{m:?}");
    let cleanup = f
        .iter()
        .find(|f| f["target"] == "CloudInit iptables-control-plane HARVESTER_INPUT")
        .expect("cleanup finding");
    assert!(
        cleanup["evidence"][0]["pointer"]
            .as_str()
            .unwrap()
            .ends_with(".spec.contents line 5"),
        "{cleanup}"
    );
    pin(&doc, "FW005", "fail");
}

#[test]
fn fw005_judges_oem_files_of_a_node_snapshot_and_names_a_bad_one() {
    let tmp = tempfile::tempdir().unwrap();
    let s1 = healthy_s1(tmp.path());
    std::fs::write(
        s1.join("oem/91-iptables.yaml"),
        oem_file("boot", &SCRIPT[1..]),
    )
    .unwrap();
    std::fs::write(
        s1.join("oem/92-broken.yaml"),
        "stages:\n  boot:\n    - commands:\n      - iptables -N X\n     bad: [\n",
    )
    .unwrap();
    let doc = run(&[&s1]);
    assert_eq!(status(&doc, "FW005"), "fail", "{}", coverage(&doc, "FW005"));
    let f = findings(&doc, "FW005");
    assert_eq!(f.len(), 2, "{f:?}");
    assert!(f.iter().all(|f| f["node"] == "s1"));
    let m = messages(&doc, "FW005");
    assert!(
        m.iter()
            .any(|m| m.contains("-D INPUT … -j HARVESTER_INPUT missing")),
        "{m:?}"
    );
    assert!(
        m.iter()
            .any(|m| m.contains("does not read") && m.contains("line")),
        "{m:?}"
    );
    pin(&doc, "FW005", "fail-oem-files");
}

#[test]
fn fw009_paused_and_out_of_sync_rollouts_fail() {
    let tmp = tempfile::tempdir().unwrap();
    let mut cp = Ci::new("iptables-control-plane", CP);
    cp.rollouts = "      n1:\n        conditions:\n        - type: OutOfSync\n          status: \"True\"\n          reason: ContentsChanged\n      n2:\n        conditions:\n        - type: OutOfSync\n          status: \"False\"\n";
    let mut all = Ci::new(
        "iptables-rest",
        &[("node-role.kubernetes.io/control-plane", "false")],
    );
    all.paused = true;
    let b = bundle_with(tmp.path(), &[cp, all]);
    let doc = run(&[&b]);
    assert_eq!(status(&doc, "FW009"), "fail");
    let f = findings(&doc, "FW009");
    let paused = f
        .iter()
        .find(|f| f["target"] == "CloudInit iptables-rest" && f["node"].is_null())
        .expect("paused finding");
    assert!(paused["message"].as_str().unwrap().contains("paused"));
    let sync = f
        .iter()
        .find(|f| f["node"] == "n1" && f["target"] == "CloudInit iptables-control-plane")
        .expect("rollout finding");
    assert!(sync["message"].as_str().unwrap().contains("OutOfSync=True"));
    assert!(
        !f.iter()
            .any(|f| f["node"] == "n2" && f["target"] == "CloudInit iptables-control-plane")
    );
    pin(&doc, "FW009", "fail");
}

#[test]
fn fw009_passes_when_every_node_is_matched_and_in_sync() {
    let tmp = tempfile::tempdir().unwrap();
    let b = bundle_with(tmp.path(), &[Ci::new("iptables-all", &[])]);
    let doc = run(&[&b]);
    assert_eq!(status(&doc, "FW009"), "pass", "{}", coverage(&doc, "FW009"));
    assert_eq!(status(&doc, "FW004"), "pass");
    pin(&doc, "FW009", "pass");
    pin(&doc, "FW004", "pass-one-cloudinit-for-all");
}

#[test]
fn fw012_live_chain_without_persistence_fails_and_persisted_chain_not_live_fails() {
    let tmp = tempfile::tempdir().unwrap();
    let live_only = snapshot_with(
        tmp.path(),
        "bundles/fixtures/healthy/s1.tgz",
        "a",
        &[("commands/iptables-save.txt", LIVE)],
    );
    let doc = run(&[&live_only]);
    assert_eq!(status(&doc, "FW012"), "fail", "{}", coverage(&doc, "FW012"));
    let f = findings(&doc, "FW012");
    assert_eq!(f.len(), 1);
    assert_eq!(f[0]["target"], "chain HARVESTER_INPUT");
    assert_eq!(f[0]["severity"], "medium");
    assert!(
        f[0]["message"]
            .as_str()
            .unwrap()
            .contains("persisted by no")
    );
    assert_eq!(f[0]["evidence"][0]["pointer"], "line 5");
    pin(&doc, "FW012", "fail-live-not-persisted");

    let tmp = tempfile::tempdir().unwrap();
    let script = oem_file("boot", SCRIPT);
    let persisted_only = snapshot_with(
        tmp.path(),
        "bundles/fixtures/healthy/s1.tgz",
        "b",
        &[
            ("commands/iptables-save.txt", BARE),
            ("oem/91-iptables.yaml", &script),
        ],
    );
    let doc = run(&[&persisted_only]);
    assert_eq!(status(&doc, "FW012"), "fail");
    let m = messages(&doc, "FW012");
    assert_eq!(m.len(), 1);
    assert!(m[0].contains("persisted but not live"), "{m:?}");
    pin(&doc, "FW012", "fail-persisted-not-live");
}

#[test]
fn fw012_passes_with_a_persisted_live_chain_through_oem_or_a_cloudinit() {
    let tmp = tempfile::tempdir().unwrap();
    let script = oem_file("boot", SCRIPT);
    let s = snapshot_with(
        tmp.path(),
        "bundles/fixtures/healthy/s1.tgz",
        "s1",
        &[
            ("commands/iptables-save.txt", LIVE),
            ("oem/91-iptables.yaml", &script),
        ],
    );
    let doc = run(&[&s]);
    assert_eq!(status(&doc, "FW012"), "pass", "{}", coverage(&doc, "FW012"));
    assert_eq!(status(&doc, "FW005"), "pass", "{}", coverage(&doc, "FW005"));

    // The demo bundle with a control-plane CloudInit and n1's snapshot with the live chain.
    pin(&doc, "FW012", "pass-oem");
    pin(&doc, "FW005", "pass-oem");
    let tmp = tempfile::tempdir().unwrap();
    let b = bundle_with(tmp.path(), &[Ci::new("iptables-control-plane", CP)]);
    let n1 = snapshot_with(
        tmp.path(),
        "bundles/demo/n1.tgz",
        "n1",
        &[("commands/iptables-save.txt", LIVE)],
    );
    let doc = run(&[&b, &n1]);
    assert_eq!(status(&doc, "FW012"), "pass", "{}", coverage(&doc, "FW012"));
    pin(&doc, "FW012", "pass-cloudinit");
}

#[test]
fn fw012_and_fw006_not_evaluable_on_a_bundle() {
    let doc = analyze(&support_bundle(), COLLECTED);
    for rule in ["FW006", "FW012"] {
        assert_eq!(status(&doc, rule), "not-evaluable", "{rule}");
        assert!(
            coverage(&doc, rule)["needs"]
                .as_str()
                .unwrap()
                .contains("iptables-save"),
            "{rule}"
        );
        pin(&doc, rule, "not-evaluable");
    }
}

const IP_ADDR: &str = "1: lo: <LOOPBACK,UP,LOWER_UP> mtu 65536\n    inet 127.0.0.1/8 scope host lo\n2: eth0: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 master mgmt-bo state UP\n3: mgmt-br: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500\n    inet 10.0.0.11/24 brd 10.0.0.255 scope global mgmt-br\n4: flannel.1: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1450\n    inet 10.52.0.0/32 scope global flannel.1\n";

#[test]
fn fw006_an_extra_nic_with_a_host_address_outside_the_chain_fails() {
    let tmp = tempfile::tempdir().unwrap();
    let ip = format!(
        "{IP_ADDR}5: storage-br.100@storage-br: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500\n    inet 172.16.0.11/24 scope global storage-br.100\n"
    );
    let s = snapshot_with(
        tmp.path(),
        "bundles/fixtures/healthy/s1.tgz",
        "s1",
        &[
            ("commands/iptables-save.txt", LIVE),
            ("commands/ip-addr.txt", &ip),
        ],
    );
    let doc = run(&[&s]);
    assert_eq!(status(&doc, "FW006"), "fail", "{}", coverage(&doc, "FW006"));
    let f = findings(&doc, "FW006");
    assert_eq!(f.len(), 1, "{f:?}");
    assert_eq!(f[0]["target"], "interface storage-br.100");
    assert_eq!(f[0]["severity"], "medium");
    assert_eq!(f[0]["evidence"][0]["pointer"], "line 8");
    pin(&doc, "FW006", "fail");

    // Jumped to the chain: judged, no finding.
    let jumped = LIVE.replace(
        "-A INPUT -i mgmt-br -j HARVESTER_INPUT\n",
        "-A INPUT -i mgmt-br -j HARVESTER_INPUT\n-A INPUT -i storage-br.100 -j HARVESTER_INPUT\n",
    );
    let tmp = tempfile::tempdir().unwrap();
    let s = snapshot_with(
        tmp.path(),
        "bundles/fixtures/healthy/s1.tgz",
        "s1",
        &[
            ("commands/iptables-save.txt", &jumped),
            ("commands/ip-addr.txt", &ip),
        ],
    );
    let doc = run(&[&s]);
    assert_eq!(status(&doc, "FW006"), "pass", "{}", coverage(&doc, "FW006"));
    pin(&doc, "FW006", "pass");
}

#[test]
fn fw006_not_applicable_without_a_chain_and_not_evaluable_without_ip_addr() {
    let tmp = tempfile::tempdir().unwrap();
    let s = snapshot_with(
        tmp.path(),
        "bundles/fixtures/healthy/s1.tgz",
        "s1",
        &[
            ("commands/iptables-save.txt", BARE),
            ("commands/ip-addr.txt", IP_ADDR),
        ],
    );
    let doc = run(&[&s]);
    assert_eq!(status(&doc, "FW006"), "not-applicable");
    pin(&doc, "FW006", "not-applicable");
    let tmp = tempfile::tempdir().unwrap();
    let s = snapshot_with(
        tmp.path(),
        "bundles/fixtures/healthy/s1.tgz",
        "s1",
        &[("commands/iptables-save.txt", LIVE)],
    );
    let doc = run(&[&s]);
    assert_eq!(
        status(&doc, "FW006"),
        "not-evaluable",
        "{}",
        coverage(&doc, "FW006")
    );
    pin(&doc, "FW006", "not-evaluable-without-ip-addr");
}
