//! Synthetic log text: pod logs in the three styles Harvester's pods write (logrus text, klog,
//! zap JSON), each line prefixed with the RFC3339Nano timestamp the support-bundle kit asks the
//! kubelet for, and node journal logs in `journalctl -o short-precise` format.
//!
//! The text is made of a small set of message templates with a few varying fields, and a clock that
//! moves forward in small steps; reconcile loops often repeat a message in bursts. That gives a
//! deflate ratio in the range real, chatty controller logs show (measured ≈ 40:1 for pod logs, see
//! `docs/performance.md`).

use crate::clock::Clock;
use crate::rng::Rng;
use std::fmt::Write as _;

/// How a pod's container formats its log lines.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Style {
    /// logrus text: harvester, rancher, longhorn, fleet-agent.
    Logrus,
    /// klog: kube-* components, CSI sidecars, kubevirt handlers.
    Klog,
    /// zap JSON: controller-runtime operators (cert-manager-like, prometheus-operator, …).
    Json,
}

const NAMESPACES: &[&str] = &[
    "default",
    "harvester-system",
    "longhorn-system",
    "cattle-system",
    "kube-system",
    "cattle-fleet-local-system",
];
const KINDS: &[&str] = &[
    "VirtualMachine",
    "VirtualMachineInstance",
    "Volume",
    "Engine",
    "Replica",
    "Setting",
    "Node",
    "Secret",
    "ConfigMap",
    "PersistentVolumeClaim",
];
const RESOURCES: &[&str] = &[
    "*v1.Secret",
    "*v1.ConfigMap",
    "*v1.Pod",
    "*v1.Node",
    "*v1beta1.VirtualMachineImage",
    "*v1beta2.Volume",
    "*v1.PersistentVolumeClaim",
];

fn obj_name(rng: &mut Rng) -> String {
    const BASES: &[&str] = &[
        "vm-ubuntu",
        "vm-sles",
        "pvc-data",
        "image-cache",
        "n1",
        "n2",
        "n3",
        "n4",
        "n5",
        "harvester-webhook",
    ];
    format!("{}-{}", rng.pick(BASES), rng.below(24))
}

/// One new message in `BURST_ONE_IN` starts a burst of repeats…
const BURST_ONE_IN: u64 = 3;
/// …of at least `BURST_MIN` more lines…
const BURST_MIN: u64 = 16;
/// …plus up to `BURST_SPREAD - 1`.
const BURST_SPREAD: u64 = 64;

/// A lower bound of the pod-log growth rate in bytes per second of log time.
const POD_LOG_BYTES_PER_SEC: usize = 8_000;
/// The same for journal logs (one line every 1.5 s on average), and for the shorter kernel lines.
const JOURNAL_BYTES_PER_SEC: usize = 150;
const KERNEL_BYTES_PER_SEC: usize = 50;

/// Generate at least `target` bytes (and then up to one more line) of pod log text.
pub fn pod_log(style: Style, seed: u64, target: usize) -> Vec<u8> {
    let mut rng = Rng::new(seed, style as u64 + 1);
    // These logs grow by roughly 10 kB per second of log time: start far enough back that the
    // last line falls shortly before the bundle's creation time.
    let mut clock =
        Clock::at(crate::clock::BUNDLE_CREATED - 60 - (target / POD_LOG_BYTES_PER_SEC) as i64);
    let mut out = String::with_capacity(target + 4096);
    let mut line = String::with_capacity(1024);
    let mut burst_left = 0u32;
    while out.len() < target {
        // Reconcile loops: the same message again within microseconds, several times.
        let repeat = burst_left > 0;
        if repeat {
            burst_left -= 1;
            clock.advance(1_000 + rng.below(400_000) as i64);
        } else {
            clock.advance(1_000_000 + rng.below(2_000_000_000) as i64);
            if rng.below(BURST_ONE_IN) == 0 {
                burst_left = (BURST_MIN + rng.below(BURST_SPREAD)) as u32;
            }
            line.clear();
            match style {
                Style::Logrus => logrus_body(&mut rng, &mut line),
                Style::Klog => klog_body(&mut rng, &mut line),
                Style::Json => json_body(&mut rng, &mut line),
            }
        }
        clock.rfc3339_nano(&mut out);
        out.push(' ');
        match style {
            Style::Logrus => {
                out.push_str("time=\"");
                clock.rfc3339(&mut out);
                out.push_str("\" ");
                out.push_str(&line);
            }
            Style::Klog => {
                out.push(line.as_bytes()[0] as char);
                clock.klog(&mut out);
                out.push_str(&line[1..]);
            }
            Style::Json => {
                out.push_str("{\"level\":");
                out.push_str(&line);
            }
        }
        out.push('\n');
    }
    out.into_bytes()
}

fn logrus_body(rng: &mut Rng, l: &mut String) {
    let ns = *rng.pick(NAMESPACES);
    let name = obj_name(rng);
    let _ = match rng.below(24) {
        12..=23 => write!(
            l,
            "level=error msg=\"Error syncing volume {name}\" controller=longhorn-volume error=\"failed to reconcile volume state for {name}: failed to get engine {name}-e-0: volume {name} status: {{OwnerID:n{} State:attaching Robustness:degraded CurrentNodeID:n{} FrontendDisabled:false RestoreRequired:false RestoreInitiated:false CloneStatus:{{SourceVolume: Snapshot: State: AttemptCount:0}} Conditions:[{{Type:TooManySnapshots Status:False Reason: Message:}} {{Type:Scheduled Status:True Reason: Message:}} {{Type:Restore Status:False Reason: Message:}}] KubernetesStatus:{{PVName:{name} PVStatus:Bound Namespace:{ns} PVCName:{name} WorkloadsStatus:[{{PodName:virt-launcher-{name}-{} PodStatus:Running WorkloadName:{name} WorkloadType:VirtualMachineInstance}}]}} ExpansionRequired:false IsStandby:false ActualSize:{} LastDegradedAt:2026-11-1{}T0{}:00:00Z ShareEndpoint: ShareState: RemountRequestedAt:2026-10-20T22:00:00Z}}: replica {name}-r-{} is in error state\" node=n{}",
            1 + rng.below(5),
            1 + rng.below(5),
            rng.k8s_suffix(5),
            rng.below(1 << 36),
            rng.below(10),
            rng.below(10),
            rng.hex(8),
            1 + rng.below(5)
        ),
        0 => write!(
            l,
            "level=info msg=\"RKE2 certificate is not expiring, reconcile setting again\" earliestExpiringCert.notAfter=\"2027-0{}-1{} 08:1{}:00 +0000 UTC\" setting=auto-rotate-rke2-certs",
            1 + rng.below(9),
            rng.below(10),
            rng.below(10)
        ),
        1 => write!(
            l,
            "level=error msg=\"error syncing '{ns}/{name}': handler harvester-vm-controller: Operation cannot be fulfilled on virtualmachines.kubevirt.io \\\"{name}\\\": the object has been modified; please apply your changes to the latest version and try again, requeuing\""
        ),
        2 => write!(
            l,
            "level=debug msg=\"Requeue volume due to conflict\" controller=longhorn-volume error=\"Operation cannot be fulfilled on volumes.longhorn.io \\\"{name}\\\": the object has been modified; please apply your changes to the latest version and try again\" node=n{} volume={name}",
            1 + rng.below(5)
        ),
        3 => write!(
            l,
            "level=info msg=\"Starting {}, Kind={} controller\" generation={}",
            if rng.below(2) == 0 {
                "harvesterhci.io/v1beta1"
            } else {
                "longhorn.io/v1beta2"
            },
            rng.pick(KINDS),
            rng.below(40)
        ),
        4 => write!(
            l,
            "level=warning msg=\"Failed to get volume attachment for volume {name}, will retry\" accessMode=rwo controller=longhorn-engine engine={name}-e-0 frontend=blockdev node=n{} state=attached",
            1 + rng.below(5)
        ),
        5 => write!(
            l,
            "level=info msg=\"Watch close - {} total {} items received\" reflector=\"k8s.io/client-go@v0.34.2/tools/cache/reflector.go:290\"",
            rng.pick(RESOURCES),
            rng.below(200)
        ),
        6 => write!(
            l,
            "level=info msg=\"Updated node {name} status\" cpu.allocatable=32 memory.allocatable=131072Mi storage.scheduled={}Gi conditions=\"[Ready=True Schedulable=True MountPropagation=True]\"",
            rng.below(4000)
        ),
        7 => write!(
            l,
            "level=info msg=\"Reconciling backing image {name} in namespace longhorn-system, current state ready, desired state ready, disk uuid {}\"",
            rng.hex(8)
        ),
        8 => write!(
            l,
            "level=error msg=\"Failed to sync upgrade {ns}/hvst-upgrade-{}: Internal error occurred: failed calling webhook \\\"validator.harvesterhci.io\\\": failed to call webhook: Post \\\"https://harvester-webhook.harvester-system.svc:443/v1/webhook/validation?timeout=10s\\\": context deadline exceeded\"",
            rng.k8s_suffix(5)
        ),
        9 => write!(
            l,
            "level=info msg=\"OnVMIChanged: vmi {ns}/{name} phase Running, node n{}, guest agent connected, interfaces [default/mgmt-vlan1]\"",
            1 + rng.below(5)
        ),
        10 => write!(
            l,
            "level=info msg=\"[harvester-setting] apply setting {} value unchanged, skipping\" component=setting-controller",
            rng.pick(&[
                "ntp-servers",
                "http-proxy",
                "log-level",
                "auto-rotate-rke2-certs",
                "backup-target",
                "overcommit-config"
            ])
        ),
        _ => write!(
            l,
            "level=debug msg=\"Skip sync of instance manager instance-manager-{}: no change in spec or status\" controller=longhorn-instance-manager node=n{}",
            rng.hex(32),
            1 + rng.below(5)
        ),
    };
}

fn klog_body(rng: &mut Rng, l: &mut String) {
    let ns = *rng.pick(NAMESPACES);
    let name = obj_name(rng);
    let _ = match rng.below(16) {
        8..=15 => write!(
            l,
            "E       1 vmi.go:{}] \"Synchronizing the VirtualMachineInstance failed\" err=\"failed to configure vmi network: setup failed, err: pod link (pod{}) is missing\" logger=\"virt-handler\" kind=\"VirtualMachineInstance\" namespace=\"{ns}\" name=\"{name}\" uid=\"{}-0000-4000-8000-000000000000\" reason=\"SyncFailed\" vmi=\"{{Phase:Scheduled Conditions:[{{Type:Ready Status:False Reason:PodNotReady}} {{Type:LiveMigratable Status:True}} {{Type:StorageLiveMigratable Status:True}}] NodeName:n{} Interfaces:[{{Name:default MAC:52:54:00:{:02x}:{:02x}:{:02x} InterfaceName:pod{} InfoSource:domain,guest-agent}}] GuestOSInfo:{{Name:Ubuntu KernelRelease:6.8.0-48-generic Version:24.04.1 LTS (Noble Numbat) ID:ubuntu}} QOSClass:Burstable LauncherContainerImageVersion:registry.suse.com/suse/sles/15.7/virt-launcher:1.6.0 MigrationMethod:BlockMigration}}\"",
            300 + rng.below(50),
            rng.hex(7),
            rng.hex(8),
            1 + rng.below(5),
            rng.below(256),
            rng.below(256),
            rng.below(256),
            rng.hex(7)
        ),
        0 => write!(
            l,
            "I       1 reflector.go:368] \"Caches populated\" type=\"{}\" reflector=\"k8s.io/client-go@v0.34.2/tools/cache/reflector.go:251\"",
            rng.pick(RESOURCES)
        ),
        1 => write!(
            l,
            "E       1 controller.go:{}] \"Unhandled Error\" err=\"error syncing '{ns}/{name}': failed to update object status: Operation cannot be fulfilled, the object has been modified; please apply your changes to the latest version and try again\" logger=\"UnhandledError\"",
            100 + rng.below(300)
        ),
        2 => write!(
            l,
            "I       1 event.go:389] \"Event occurred\" object=\"{ns}/{name}\" fieldPath=\"\" kind=\"{}\" apiVersion=\"v1\" type=\"Normal\" reason=\"SuccessfulAttachVolume\" message=\"AttachVolume.Attach succeeded for volume \\\"pvc-{}\\\"\"",
            rng.pick(KINDS),
            rng.hex(8)
        ),
        3 => write!(
            l,
            "W       1 warnings.go:70] kubevirt.io/v1 VirtualMachineInstancePresets is now deprecated and will be removed in v2. Use {ns}/{name} instance types instead."
        ),
        4 => write!(
            l,
            "I       1 csi_handler.go:{}] \"Processing VolumeAttachment\" VolumeAttachment=\"csi-{}\" node=\"n{}\" attacher=\"driver.longhorn.io\"",
            200 + rng.below(50),
            rng.hex(12),
            1 + rng.below(5)
        ),
        5 => write!(
            l,
            "I       1 garbagecollector.go:{}] \"Garbage collector: all resource monitors have synced. Proceeding to collect garbage\" logger=\"garbage-collector-controller\" resource=\"{}\"",
            600 + rng.below(200),
            rng.pick(RESOURCES)
        ),
        6 => write!(
            l,
            "I       1 leaderelection.go:271] \"successfully renewed lease\" lease=\"kube-system/{}\" holder=\"n{}_{}\"",
            rng.pick(&[
                "kube-controller-manager",
                "kube-scheduler",
                "cloud-controller-manager"
            ]),
            1 + rng.below(3),
            rng.hex(8)
        ),
        _ => write!(
            l,
            "E       1 reflector.go:158] \"Unhandled Error\" err=\"k8s.io/client-go@v0.34.2/tools/cache/reflector.go:251: Failed to watch {}: the server has asked for the client to provide credentials\" logger=\"UnhandledError\"",
            rng.pick(RESOURCES)
        ),
    };
}

fn json_body(rng: &mut Rng, l: &mut String) {
    let ns = *rng.pick(NAMESPACES);
    let name = obj_name(rng);
    let (level, msg) = match rng.below(12) {
        6..=11 => (
            "error",
            "Reconciler error: failed to apply bundle deployment resources: error while running post render on files: admission webhook \\\"validation.gatekeeper.sh\\\" denied the request: [required-labels] you must provide labels: {\\\"app.kubernetes.io/managed-by\\\", \\\"app.kubernetes.io/part-of\\\"}; objects: ConfigMap/cattle-fleet-local-system/fleet-agent-values, Deployment/cattle-fleet-local-system/fleet-agent, Service/cattle-fleet-local-system/fleet-agent-metrics, ServiceMonitor/cattle-fleet-local-system/fleet-agent",
        ),
        0 => ("info", "Reconciling"),
        1 => ("info", "Reconciliation finished"),
        2 => ("error", "Reconciler error"),
        3 => (
            "debug",
            "certificate does not require re-issuance, certificate is up to date and no action is needed",
        ),
        4 => ("info", "Starting workers"),
        _ => (
            "info",
            "Bundle deployment status updated, no change in resources, applied and ready",
        ),
    };
    let _ = write!(
        l,
        "\"{level}\",\"logger\":\"controller.{}\",\"msg\":\"{msg}\",\"controller\":\"{}\",\"controllerGroup\":\"{}\",\"namespace\":\"{ns}\",\"name\":\"{name}\",\"reconcileID\":\"{}\",\"worker count\":{}}}",
        rng.pick(&["bundledeployment", "certificate", "cluster", "gitrepo"]),
        rng.pick(&["bundledeployment", "certificates-trigger", "prometheus"]),
        rng.pick(&[
            "fleet.cattle.io",
            "cert-manager.io",
            "monitoring.coreos.com"
        ]),
        if rng.below(8) == 0 {
            rng.hex(8)
        } else {
            "00000000".to_string()
        },
        1 + rng.below(8)
    );
}

/// Journal log of one systemd unit on `node` (`journalctl -o short-precise -u <unit>`): `target`
/// bytes and, when `truncated`, starting mid-line as `tail -c 10m` leaves it.
pub fn journal_log(node: &str, unit: &str, seed: u64, target: usize, truncated: bool) -> Vec<u8> {
    let mut rng = Rng::new(seed, 0x10 + unit.len() as u64);
    let rate = if unit == "kernel" {
        KERNEL_BYTES_PER_SEC
    } else {
        JOURNAL_BYTES_PER_SEC
    };
    let mut clock = Clock::at(crate::clock::BUNDLE_CREATED - 60 - (target / rate) as i64);
    let (process, pid) = match unit {
        "kernel" => ("kernel".to_string(), None),
        "rke2-server" | "rke2-agent" => ("rke2".to_string(), Some(1207)),
        other => (other.to_string(), Some(900 + rng.below(3000))),
    };
    let mut out = String::with_capacity(target + 4096);
    while out.len() < target + 200 {
        clock.advance(1_000 + rng.below(3_000_000_000) as i64);
        clock.journal(&mut out);
        let _ = match pid {
            Some(p) => write!(out, " {node} {process}[{p}]: "),
            None => write!(out, " {node} {process}: "),
        };
        if unit == "kernel" {
            kernel_body(&mut rng, &mut out);
        } else {
            clock_inner(&clock, &mut out);
            logrus_body(&mut rng, &mut out);
        }
        out.push('\n');
    }
    let bytes = out.into_bytes();
    if truncated {
        // `tail -c 10m` keeps the last `target` bytes, usually starting in the middle of a line.
        bytes[bytes.len() - target..].to_vec()
    } else {
        bytes
    }
}

fn clock_inner(clock: &Clock, out: &mut String) {
    out.push_str("time=\"");
    clock.rfc3339(out);
    out.push_str("\" ");
}

fn kernel_body(rng: &mut Rng, out: &mut String) {
    let _ = match rng.below(6) {
        0 => write!(
            out,
            "IPv6: ADDRCONF(NETDEV_CHANGE): cali{}: link becomes ready",
            rng.hex(11)
        ),
        1 => write!(
            out,
            "mgmt-br: port {}(veth{}) entered forwarding state",
            1 + rng.below(30),
            rng.hex(8)
        ),
        2 => write!(
            out,
            "sd {}:0:0:0: [sd{}] Attached SCSI disk",
            rng.below(40),
            (b'a' + rng.below(26) as u8) as char
        ),
        3 => write!(
            out,
            "EXT4-fs (dm-{}): mounted filesystem {}-{}-{} r/w with ordered data mode. Quota mode: none.",
            rng.below(30),
            rng.hex(8),
            rng.hex(4),
            rng.hex(4)
        ),
        4 => write!(
            out,
            "iscsi: registered transport (tcp); scsi host{}: iSCSI Initiator over TCP/IP",
            rng.below(60)
        ),
        _ => write!(
            out,
            "audit: type=1400 audit({}.{:03}:{}): apparmor=\"DENIED\" operation=\"open\" profile=\"cri-containerd.apparmor.d\" name=\"/proc/sys/kernel/random/boot_id\" pid={} comm=\"runc\"",
            crate::clock::BUNDLE_CREATED - rng.below(600_000) as i64,
            rng.below(1000),
            rng.below(100_000),
            rng.below(60_000)
        ),
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    fn last_line(text: &[u8]) -> String {
        let s = String::from_utf8_lossy(text);
        s.trim_end().lines().last().unwrap_or_default().to_string()
    }

    #[test]
    fn pod_logs_end_shortly_before_the_bundle_date() {
        for style in [Style::Logrus, Style::Klog, Style::Json] {
            let log = pod_log(style, 3, 4 << 20);
            let last = last_line(&log);
            // 2026-11-19T2x: within two hours before 22:00, never after.
            assert!(last.starts_with("2026-11-19T2"), "{style:?}: {last}");
            assert!(last.as_str() < "2026-11-19T22:00:00", "{style:?}: {last}");
            assert!(log.iter().filter(|&&b| b == b'\n').count() > 1000);
        }
    }

    #[test]
    fn journal_logs_end_on_the_bundle_day_and_start_mid_line() {
        let log = journal_log("n2", "rke2-server", 3, 1 << 20, true);
        assert_eq!(log.len(), 1 << 20);
        let last = last_line(&log);
        assert!(last.starts_with("Nov 19 "), "{last}");
        assert!(last.contains(" n2 rke2[1207]: "), "{last}");
        let kernel = journal_log("n2", "kernel", 3, 1 << 20, false);
        assert!(kernel.starts_with(b"Nov 1"));
        let last = last_line(&kernel);
        assert!(
            last.starts_with("Nov 19 ") && last.as_str() < "Nov 19 22:00",
            "{last}"
        );
    }
}
