//! Fuzz target: the host-format parsers (`iptables-save`, sysctl, passwd and group, rke2
//! config merging, supportconfig, `ip addr`, kernel drop lines). Must never panic.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = harrow::parse::iptables::parse(data);
    let _ = harrow::parse::sysctl::parse_live(data);
    let _ = harrow::parse::sysctl::parse_conf(data);
    let _ = harrow::parse::passwd::parse_passwd(data);
    let _ = harrow::parse::passwd::parse_group(data);
    let _ = harrow::parse::supportconfig::sections(data);
    let _ = harrow::parse::ipaddr::parse(data);
    let _ = harrow::parse::rke2config::merge(&[("etc/rancher/rke2/config.yaml", data)]);
    for line in String::from_utf8_lossy(data).lines() {
        let _ = harrow::parse::droplog::parse(line, "HARVESTER_DROP_");
    }
});
