//! `snapshot` mode: a node snapshot tarball like `tar czf n1.tgz /var/lib/rancher/rke2
//! /etc/rancher/rke2` on an RKE2 server node (GNU tar strips the leading `/`).
//!
//! Content mix (fixed): containerd content-store blobs fill the size budget (one in eight is a
//! small compressible JSON manifest/config, the rest are pseudo-random layer blobs, since layers
//! are already gzip); a PKI-like `server/tls` tree, `server/token`, the `server/node-token`
//! symlink, agent kubeconfigs and certificates, and `/etc/rancher/rke2` configs.

use crate::certs::{CertSpec, cert_pem, ec_private_key_pem};
use crate::clock::BUNDLE_CREATED;
use crate::gz::GzSegments;
use crate::rng::Rng;
use std::io::{self, BufWriter, Write};
use std::path::Path;

const BLOBS: &str =
    "var/lib/rancher/rke2/agent/containerd/io.containerd.content.v1.content/blobs/sha256";

/// Statistics of one generated tarball.
#[derive(Default, Debug)]
pub struct SnapshotStats {
    pub layer_blobs: u64,
    pub layer_bytes: u64,
    pub json_blobs: u64,
    pub json_bytes: u64,
    pub other_files: u64,
    pub other_bytes: u64,
}

struct TarGz<W: Write> {
    gz: GzSegments<W>,
}

impl<W: Write> TarGz<W> {
    fn header(
        &mut self,
        path: &str,
        kind: tar::EntryType,
        mode: u32,
        size: u64,
        link: Option<&str>,
    ) -> io::Result<()> {
        // GNU tar (the default format of `tar czf`) puts names over 100 bytes in a
        // `././@LongLink` entry of type `L` ahead of the real header.
        if path.len() > 100 {
            let mut long = tar::Header::new_gnu();
            long.set_entry_type(tar::EntryType::GNULongName);
            long.as_old_mut().name[..13].copy_from_slice(b"././@LongLink");
            long.set_mode(0o644);
            long.set_size(path.len() as u64 + 1);
            long.set_mtime(0);
            long.set_uid(0);
            long.set_gid(0);
            long.set_username("root")?;
            long.set_groupname("root")?;
            long.set_cksum();
            self.gz.compressible(long.as_bytes())?;
            let mut name = path.as_bytes().to_vec();
            name.push(0);
            name.resize(name.len() + Self::padding(name.len() as u64), 0);
            self.gz.compressible(&name)?;
        }
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(kind);
        let cut = path.len().min(100);
        h.as_old_mut().name[..cut].copy_from_slice(&path.as_bytes()[..cut]);
        if let Some(target) = link {
            h.set_link_name(target)?;
        }
        h.set_mode(mode);
        h.set_size(size);
        h.set_mtime((BUNDLE_CREATED - 86_400) as u64);
        h.set_uid(0);
        h.set_gid(0);
        h.set_username("root")?;
        h.set_groupname("root")?;
        h.set_cksum();
        self.gz.compressible(h.as_bytes())
    }

    fn dir(&mut self, path: &str) -> io::Result<()> {
        self.header(
            &format!("{path}/"),
            tar::EntryType::Directory,
            0o755,
            0,
            None,
        )
    }

    fn padding(size: u64) -> usize {
        ((512 - size % 512) % 512) as usize
    }

    fn file(&mut self, path: &str, mode: u32, data: &[u8]) -> io::Result<()> {
        self.header(path, tar::EntryType::Regular, mode, data.len() as u64, None)?;
        self.gz.compressible(data)?;
        self.gz
            .compressible(&vec![0u8; Self::padding(data.len() as u64)])
    }

    fn incompressible(
        &mut self,
        path: &str,
        size: u64,
        rng: &mut Rng,
        buf: &mut [u8],
    ) -> io::Result<()> {
        self.header(path, tar::EntryType::Regular, 0o444, size, None)?;
        let mut left = size;
        while left > 0 {
            let n = left.min(buf.len() as u64) as usize;
            rng.fill(&mut buf[..n]);
            self.gz.stored(&buf[..n])?;
            left -= n as u64;
        }
        self.gz.compressible(&vec![0u8; Self::padding(size)])
    }

    fn symlink(&mut self, path: &str, target: &str) -> io::Result<()> {
        self.header(path, tar::EntryType::Symlink, 0o777, 0, Some(target))
    }
}

/// Layer sizes cycle through this list (bytes), a spread typical of system images.
const LAYER_SIZES: &[u64] = &[
    48 << 20,
    3 << 20,
    700 << 10,
    120 << 20,
    12 << 20,
    90 << 10,
    26 << 20,
    5 << 20,
];

/// Write the tarball to `out`; `size` is the approximate uncompressed (≈ compressed) size.
pub fn write_snapshot(out: &Path, size: u64, level: u32) -> io::Result<SnapshotStats> {
    let file = BufWriter::with_capacity(1 << 20, std::fs::File::create(out)?);
    let mut t = TarGz {
        gz: GzSegments::new(file, level)?,
    };
    let mut stats = SnapshotStats::default();
    let mut rng = Rng::new(0x5A7, 1);
    let node = "n1";

    for d in ["etc/rancher/rke2", "etc/rancher/rke2/config.yaml.d"] {
        t.dir(d)?;
    }
    let mut small = |t: &mut TarGz<_>, path: &str, mode: u32, data: &[u8]| -> io::Result<()> {
        stats.other_files += 1;
        stats.other_bytes += data.len() as u64;
        t.file(path, mode, data)
    };
    let token_hex = rng.hex(64);
    small(&mut t, "etc/rancher/rke2/config.yaml.d/90-harvester-server.yaml", 0o600,
        format!("cni: multus,canal\ncluster-cidr: 10.52.0.0/16\nservice-cidr: 10.53.0.0/16\ncluster-dns: 10.53.0.10\ntls-san:\n  - 192.168.10.10\naudit-policy-file: /etc/rancher/rke2/config.yaml.d/92-harvester-kube-audit-policy.yaml\ntoken: {token_hex}\n").as_bytes())?;
    small(&mut t, "etc/rancher/rke2/config.yaml.d/50-rancher.yaml", 0o600,
        b"disable-kube-proxy: false\netcd-expose-metrics: false\nkubelet-arg:\n  - max-pods=200\nnode-label:\n  - harvesterhci.io/managed=true\nprotect-kernel-defaults: false\n")?;
    small(&mut t, "etc/rancher/rke2/rke2-pss.yaml", 0o600,
        b"apiVersion: apiserver.config.k8s.io/v1\nkind: AdmissionConfiguration\nplugins:\n- name: PodSecurity\n  configuration:\n    apiVersion: pod-security.admission.config.k8s.io/v1\n    kind: PodSecurityConfiguration\n    defaults:\n      enforce: privileged\n")?;
    small(
        &mut t,
        "etc/rancher/rke2/registries.yaml",
        0o600,
        b"mirrors: {}\nconfigs: {}\n",
    )?;

    let ca_cns = [
        "rke2-server-ca",
        "rke2-client-ca",
        "rke2-request-header-ca",
        "etcd-server-ca",
        "etcd-peer-ca",
    ];
    let created = BUNDLE_CREATED - 300 * 86_400;
    let cert = |rng: &mut Rng, cn: &str, issuer: &str, days: i64, ca: bool| {
        cert_pem(
            &CertSpec {
                subject_cn: cn,
                subject_o: if cn.starts_with("system:") {
                    Some("system:masters")
                } else {
                    None
                },
                issuer_cn: issuer,
                not_before: created,
                not_after: created + days * 86_400,
                is_ca: ca,
            },
            rng,
        )
    };
    let ca_pems: Vec<String> = ca_cns
        .iter()
        .map(|cn| {
            cert(
                &mut rng,
                &format!("{cn}@{created}"),
                &format!("{cn}@{created}"),
                3650,
                true,
            )
        })
        .collect();
    let key = ec_private_key_pem();
    let admin_client = cert(
        &mut rng,
        "system:admin",
        &format!("rke2-client-ca@{created}"),
        365,
        false,
    );
    small(&mut t, "etc/rancher/rke2/rke2.yaml", 0o600, format!(
        "apiVersion: v1\nclusters:\n- cluster:\n    certificate-authority-data: {}\n    server: https://127.0.0.1:6443\n  name: default\ncontexts:\n- context:\n    cluster: default\n    user: default\n  name: default\ncurrent-context: default\nkind: Config\npreferences: {{}}\nusers:\n- name: default\n  user:\n    client-certificate-data: {}\n    client-key-data: {}\n",
        crate::certs::base64(ca_pems[0].as_bytes()), crate::certs::base64(admin_client.as_bytes()), crate::certs::base64(key.as_bytes())).as_bytes())?;

    for d in [
        "var/lib/rancher/rke2",
        "var/lib/rancher/rke2/server",
        "var/lib/rancher/rke2/server/tls",
        "var/lib/rancher/rke2/server/tls/etcd",
        "var/lib/rancher/rke2/server/cred",
        "var/lib/rancher/rke2/agent",
    ] {
        t.dir(d)?;
    }
    let tls = "var/lib/rancher/rke2/server/tls";
    let ca_files = [
        "server-ca",
        "client-ca",
        "request-header-ca",
        "etcd/server-ca",
        "etcd/peer-ca",
    ];
    for (file, pem) in ca_files.iter().zip(&ca_pems) {
        small(&mut t, &format!("{tls}/{file}.crt"), 0o644, pem.as_bytes())?;
        small(&mut t, &format!("{tls}/{file}.key"), 0o600, key.as_bytes())?;
    }
    let leaves: &[(&str, &str, usize)] = &[
        ("client-admin", "system:admin", 1),
        ("client-auth-proxy", "system:auth-proxy", 2),
        ("client-controller", "system:kube-controller-manager", 1),
        ("client-kube-apiserver", "system:kube-apiserver", 1),
        ("client-kube-proxy", "system:kube-proxy", 1),
        (
            "client-rke2-cloud-controller",
            "rke2-cloud-controller-manager",
            1,
        ),
        ("client-rke2-controller", "system:rke2-controller", 1),
        ("client-scheduler", "system:kube-scheduler", 1),
        ("client-supervisor", "system:rke2-supervisor", 1),
        ("serving-kube-apiserver", "kube-apiserver", 0),
        ("serving-kubelet", node, 0),
        ("client-kubelet", "system:node:n1", 1),
        ("etcd/client", "etcd-client", 3),
        ("etcd/server-client", "etcd-server", 3),
        ("etcd/peer-server-client", "etcd-peer", 4),
    ];
    for (file, cn, ca) in leaves {
        let leaf = cert(
            &mut rng,
            cn,
            &format!("{}@{created}", ca_cns[*ca]),
            365,
            false,
        );
        let chain = format!("{leaf}{}", ca_pems[*ca]);
        small(
            &mut t,
            &format!("{tls}/{file}.crt"),
            0o644,
            chain.as_bytes(),
        )?;
        small(&mut t, &format!("{tls}/{file}.key"), 0o600, key.as_bytes())?;
    }
    small(&mut t, &format!("{tls}/service.key"), 0o600, key.as_bytes())?;
    small(&mut t, &format!("{tls}/dynamic-cert.json"), 0o600, b"{\"kind\":\"Secret\",\"apiVersion\":\"v1\",\"metadata\":{\"name\":\"rke2-serving\",\"namespace\":\"kube-system\"},\"type\":\"kubernetes.io/tls\"}\n")?;
    let server_token = format!("K10{}::server:{}\n", rng.hex(64), token_hex);
    small(
        &mut t,
        "var/lib/rancher/rke2/server/token",
        0o600,
        server_token.as_bytes(),
    )?;
    small(
        &mut t,
        "var/lib/rancher/rke2/server/agent-token",
        0o600,
        server_token.as_bytes(),
    )?;
    t.symlink(
        "var/lib/rancher/rke2/server/node-token",
        "/var/lib/rancher/rke2/server/token",
    )?;
    small(
        &mut t,
        "var/lib/rancher/rke2/server/cred/passwd",
        0o600,
        format!(
            "{},node,node,rke2:agent\n{},server,server,rke2:server\n",
            rng.hex(32),
            rng.hex(32)
        )
        .as_bytes(),
    )?;
    small(
        &mut t,
        "var/lib/rancher/rke2/agent/client-ca.crt",
        0o644,
        ca_pems[1].as_bytes(),
    )?;
    small(
        &mut t,
        "var/lib/rancher/rke2/agent/server-ca.crt",
        0o644,
        ca_pems[0].as_bytes(),
    )?;
    small(
        &mut t,
        "var/lib/rancher/rke2/agent/client-kubelet.crt",
        0o644,
        cert(
            &mut rng,
            "system:node:n1",
            &format!("rke2-client-ca@{created}"),
            365,
            false,
        )
        .as_bytes(),
    )?;
    small(
        &mut t,
        "var/lib/rancher/rke2/agent/client-kubelet.key",
        0o600,
        key.as_bytes(),
    )?;
    small(
        &mut t,
        "var/lib/rancher/rke2/agent/serving-kubelet.crt",
        0o644,
        cert(
            &mut rng,
            node,
            &format!("rke2-server-ca@{created}"),
            365,
            false,
        )
        .as_bytes(),
    )?;
    small(
        &mut t,
        "var/lib/rancher/rke2/agent/serving-kubelet.key",
        0o600,
        key.as_bytes(),
    )?;
    small(&mut t, "var/lib/rancher/rke2/agent/kubelet.kubeconfig", 0o600,
        b"apiVersion: v1\nclusters:\n- cluster:\n    certificate-authority: /var/lib/rancher/rke2/agent/server-ca.crt\n    server: https://127.0.0.1:6443\n  name: local\ncontexts:\n- context:\n    cluster: local\n    user: user\n  name: Default\ncurrent-context: Default\nkind: Config\nusers:\n- name: user\n  user:\n    client-certificate: /var/lib/rancher/rke2/agent/client-kubelet.crt\n    client-key: /var/lib/rancher/rke2/agent/client-kubelet.key\n")?;

    // The content store: blobs until the size budget is used up.
    let mut dir = String::new();
    for part in BLOBS.split('/').skip(4) {
        if !dir.is_empty() {
            dir.push('/');
        }
        dir.push_str(part);
        t.dir(&format!("var/lib/rancher/rke2/{dir}"))?;
    }
    let mut buf = vec![0u8; 1 << 20];
    let mut used = stats.other_bytes;
    let mut i = 0usize;
    while used < size {
        let digest = rng.hex(64);
        if i % 8 == 7 {
            let json = format!(
                "{{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"config\":{{\"mediaType\":\"application/vnd.oci.image.config.v1+json\",\"digest\":\"sha256:{}\",\"size\":{}}},\"layers\":[{{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+gzip\",\"digest\":\"sha256:{}\",\"size\":{}}}]}}",
                rng.hex(64),
                1000 + rng.below(9000),
                rng.hex(64),
                rng.below(1 << 27)
            );
            t.file(&format!("{BLOBS}/{digest}"), 0o444, json.as_bytes())?;
            stats.json_blobs += 1;
            stats.json_bytes += json.len() as u64;
            used += json.len() as u64;
        } else {
            let layer = LAYER_SIZES[i % LAYER_SIZES.len()].min(size - used).max(1);
            t.incompressible(&format!("{BLOBS}/{digest}"), layer, &mut rng, &mut buf)?;
            stats.layer_blobs += 1;
            stats.layer_bytes += layer;
            used += layer;
        }
        i += 1;
    }
    // End-of-archive: two zero blocks (GNU tar pads to a 10 KiB record).
    t.gz.compressible(&[0u8; 10240])?;
    t.gz.finish()?;
    Ok(stats)
}
