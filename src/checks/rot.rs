//! Runbook rules (ROT001–ROT012 of rules.md): hazards of a rotation procedure, judged step by
//! step by the simulator (`harrow simulate`, [`crate::rotation::sim`]) against the trust state of
//! a snapshot. `analyze` judges snapshots, not procedures: its coverage row for each says so
//! (not applicable, with the command that judges it).

use super::rule::{Findings, Need, Rule, Verdict};
use super::{Context, Severity};

fn by_simulate(_: &Context, _: &mut Findings) -> Verdict {
    Verdict::not_applicable(
        "a runbook rule: `harrow simulate RUNBOOK [INPUT]...` judges it on a procedure",
    )
}

/// An agent restarts onto the new CA before every server serves it.
pub static ROT001: Rule = Rule {
    code: "ROT001",
    severity: Severity::Critical,
    title: "an agent restarts onto the new CA before every server serves it",
    source: "rke2-certificate-management",
    needs: &[Need::Runbook],
    doc: r#"**What it judges.** A runbook, step by step (`harrow simulate`): each start of an agent after a
`rotate_ca` effect, while at least one server still serves the CA bundle it loaded before the rotation.

**What it reports.** The step and the agents that started early, with the servers still on the old
bundle; the links that break then (kubelet → apiserver, apiserver → kubelet) are listed with the step.

**Why it matters.** An agent fetches the cluster CA from the server it reaches at start; a server that
has not restarted still presents leaf certificates of the old CA, which an agent holding only the new
bundle rejects, and the agent may pick up a bundle that the other servers stop using.

**Remediation.** Restart every server (one at a time) before any agent: the order the certificate
management document gives, and the order `harrow plan ca` writes.

**Not applicable** to `analyze`: a snapshot holds no procedure.

**Source.** rules.md ROT001; rke2-certificate-management.
"#,
    evaluate: by_simulate,
};

/// A staged CA bundle would be rejected by rotate-ca and the runbook does not use --force.
pub static ROT002: Rule = Rule {
    code: "ROT002",
    severity: Severity::Critical,
    title: "a staged CA bundle would be rejected by rotate-ca and the runbook does not use --force",
    source: "rke2-certificate-management, reference rke2-pki §3.2",
    needs: &[Need::Runbook],
    doc: r#"**What it judges.** Each `rotate_ca` effect without `force`: RKE2's integrity checks on the staged
material (k3s `validateBootstrap`): the new bundle holds more than one certificate, its first
certificate verifies against the old roots (same root, or a new root cross-signed by the old one, real
X.509 verification), and the first certificate pairs with the first staged key.

**What it reports.** The step, the staged file and RKE2's reason for each refused check.

**Why it matters.** The supervisor refuses the upload; the runbook's later restarts then run against
the unchanged datastore, and an operator at 2 a.m. believes the CA was rotated.

**Remediation.** Stage the intermediate and root after the new CA (or cross-sign the new root with the
old one, as `harrow plan ca --stage-dir` does); use `--force` only for a deliberate new root, with the
token and pod steps that a new root requires.

**Not evaluable** in a simulation when the staged material is neither in the inputs nor given by a
`stage_ca {from: DIR}` effect: the simulation says so and exits 1.

**Not applicable** to `analyze`: a snapshot holds no procedure.

**Source.** rules.md ROT002; rke2-certificate-management, reference rke2-pki §3.2.
"#,
    evaluate: by_simulate,
};

/// The new service.key list drops the current signing key.
pub static ROT003: Rule = Rule {
    code: "ROT003",
    severity: Severity::Critical,
    title: "the new service.key list drops the current signing key",
    source: "rke2-certificate-management, reference rke2-pki §5",
    needs: &[Need::Runbook],
    doc: r#"**What it judges.** Each `rotate_ca` effect whose stage holds a `service.key`, and each
`stage_service_key` without `keep_old`: whether the current signing key (the first key of the live
`service.key`) is in the new list.

**What it reports.** The step and the server whose signing key would be dropped; the service-account
links that break after the servers restart.

**Why it matters.** Every service-account token already issued is signed with that key; once the
apiservers stop listing it, every such token is rejected (controllers, operators, in-cluster clients).

**Remediation.** Write the new key first and append the old `service.key` (`cat
/var/lib/rancher/rke2/server/tls/service.key >> STAGE/tls/service.key`), as the seed does.

**Not applicable** to `analyze`: a snapshot holds no procedure.

**Source.** rules.md ROT003; rke2-certificate-management, reference rke2-pki §5.
"#,
    evaluate: by_simulate,
};

/// A step writes CA material into the live server/tls.
pub static ROT004: Rule = Rule {
    code: "ROT004",
    severity: Severity::Critical,
    title: "a step writes CA material into the live server/tls",
    source: "rke2-certificate-management",
    needs: &[Need::Runbook],
    doc: r#"**What it judges.** Every step's command, copy destination and staging effect: a write (`>`, `-out`,
`cp`/`mv`/`install`/`tee` destination, `stage_ca`/`stage_service_key` directory, `write_file`) into
`/var/lib/rancher/rke2/server/tls`. `rke2 certificate rotate`, which deletes live leaf files by
design, is exempt.

**What it reports.** The step and the line (no secret value: runbooks hold none).

**Why it matters.** The seed: never overwrite the live `server/tls`. A server that restarts with a CA
file replaced on disk but not in the datastore reconciles against the datastore, or starts with a CA
its peers do not have.

**Remediation.** Stage under `/var/lib/rancher/rke2/server/rotate-ca/` or `/opt/rke2/server` and load
the material with `rke2 certificate rotate-ca --path=…`.

**Not applicable** to `analyze`: a snapshot holds no procedure.

**Source.** rules.md ROT004; rke2-certificate-management.
"#,
    evaluate: by_simulate,
};

/// After a root change a node restarts before its configured token pins the new CA hash.
pub static ROT005: Rule = Rule {
    code: "ROT005",
    severity: Severity::Critical,
    title: "after a root change a node restarts before its configured token pins the new CA hash",
    source: "rke2-certificate-management, reference rke2-pki §2.3",
    needs: &[Need::Runbook],
    doc: r#"**What it judges.** Every start of a node after the cluster's served CA hash changed (a new root,
or a self-signed rotation whose `server-ca.crt` changed): the CA hash of the token the node reads,
wherever it lives (`config.yaml`, a drop-in, the unit's environment file, `server/token`). Also
every server start whose token password no longer decrypts the bootstrap data.

**What it reports.** The step, the node, the token source and both hash prefixes (never the token).

**Why it matters.** A joining node checks the token's CA hash against `/cacerts` at every start and
refuses to start on a mismatch ("token CA hash does not match the Cluster CA certificate hash"); a
server whose token password does not match fails with "bootstrap data already found and encrypted
with different token".

**Remediation.** Put the new `K10<hash>` token (hash computed by RKE2's rule: the root's fingerprint
for a multi-certificate bundle) into every place each node reads it, before that node restarts.

**Not applicable** to `analyze`: a snapshot holds no procedure.

**Source.** rules.md ROT005; rke2-certificate-management, reference rke2-pki §2.3.
"#,
    evaluate: by_simulate,
};

/// More etcd members down at once than quorum allows.
pub static ROT006: Rule = Rule {
    code: "ROT006",
    severity: Severity::Critical,
    title: "more etcd members down at once than quorum allows",
    source: "reference rke2-pki §9",
    needs: &[Need::Runbook],
    doc: r#"**What it judges.** Every step that stops or restarts etcd members (servers and witnesses),
`parallel` or in batches: the etcd quorum at the instant its nodes are down.

**What it reports.** The step, the members down together and how many quorum needs.

**Why it matters.** Restarting etcd members together loses quorum: the apiservers stop serving and
the cluster may need a snapshot restore (seen in the field when auto-rotation restarted three
servers at nearly the same time).

**Remediation.** Restart etcd members one at a time (`order: serial`) and wait for each to be ready
(`verify`) before the next.

**Not applicable** to `analyze`: a snapshot holds no procedure.

**Source.** rules.md ROT006; reference rke2-pki §9.
"#,
    evaluate: by_simulate,
};

/// Rke2 token rotate on Harvester.
pub static ROT007: Rule = Rule {
    code: "ROT007",
    severity: Severity::Critical,
    title: "rke2 token rotate on Harvester",
    source: "harvester-certificates",
    needs: &[Need::Runbook],
    doc: r#"**What it judges.** Any `token_rotate` effect (or `rke2 token rotate` command) in a runbook
simulated against a Harvester cluster.

**What it reports.** The step.

**Why it matters.** Harvester renders the rke2 token from `/oem` at every boot; `token rotate` does
not edit those files, so the old token comes back and servers fail with "bootstrap data already found
and encrypted with different token" (rke2 #6250). The Harvester document says not to rotate it.

**Remediation.** Do not rotate the token on Harvester; `harrow plan token` refuses with this reason.

**Not applicable** to `analyze`: a snapshot holds no procedure.

**Source.** rules.md ROT007; harvester-certificates.
"#,
    evaluate: by_simulate,
};

/// Pods that mount kube-root-ca.crt are not restarted after a new root that is not cross-signed.
pub static ROT008: Rule = Rule {
    code: "ROT008",
    severity: Severity::High,
    title: "pods that mount kube-root-ca.crt are not restarted after a new root that is not cross-signed",
    source: "rke2-certificate-management",
    needs: &[Need::Runbook],
    doc: r#"**What it judges.** A runbook with a `rotate_ca` whose new root is not cross-signed by the old one
(`force`): whether a later `restart_pods` effect restarts the workloads (on Harvester,
maintenance-aware: `restart_pods {maintenance_aware: true}`).

**What it reports.** The rotation step.

**Why it matters.** Pods keep the old `kube-root-ca.crt` until they restart and then fail to verify
the apiserver.

**Remediation.** Restart the pods after every node restarted (on Harvester respecting maintenance mode
and the system-pod order).

**Not applicable** to `analyze`: a snapshot holds no procedure.

**Source.** rules.md ROT008; rke2-certificate-management.
"#,
    evaluate: by_simulate,
};

/// Rotation on a cluster whose certificates already expired, without the recovery path.
pub static ROT009: Rule = Rule {
    code: "ROT009",
    severity: Severity::High,
    title: "rotation on a cluster whose certificates already expired, without the recovery path",
    source: "reference rke2-pki §7, §9",
    needs: &[Need::Runbook],
    doc: r#"**What it judges.** The initial trust state: leaf or CA certificates the nodes present or trust that
are already expired at the simulated instant, and whether the runbook first recovers them (each such
node stopped, `rotate_leaf`, started) on a release that can start with expired certificates.

**What it reports.** The nodes with expired certificates and the step that rotates without recovery.

**Why it matters.** A CA rotation or a restart order planned for a healthy cluster fails at the first
start when certificates have already expired; older releases cannot even start to renew.

**Remediation.** Recover first (stop, `rke2 certificate rotate`, start, node by node; on releases
before the June 2025 backports, the manual procedure), then rotate.

**Not applicable** to `analyze`: a snapshot holds no procedure.

**Source.** rules.md ROT009; reference rke2-pki §7, §9.
"#,
    evaluate: by_simulate,
};

/// A CA, service-account key or token rotation without an earlier etcd snapshot and token record.
pub static ROT010: Rule = Rule {
    code: "ROT010",
    severity: Severity::High,
    title: "a CA, service-account key or token rotation without an earlier etcd snapshot and token record",
    source: "harvester-certificates, rke2-certificate-management",
    needs: &[Need::Runbook],
    doc: r#"**What it judges.** Each `rotate_ca`, `stage_service_key` or `token_rotate` effect: whether an
earlier step saved an etcd snapshot and recorded which token restores need
(`etcd_snapshot {record_token: true}`).

**What it reports.** The step without a prior snapshot or token record.

**Why it matters.** After `rotate-ca` has updated the datastore, the way back is the etcd snapshot,
and a restore needs the token of the snapshot (k3s #8264).

**Remediation.** Start with `rke2 etcd-snapshot save` and keep a root-only copy of the current token
next to the snapshot name.

**Not applicable** to `analyze`: a snapshot holds no procedure.

**Source.** rules.md ROT010; harvester-certificates, rke2-certificate-management.
"#,
    evaluate: by_simulate,
};

/// A step fetches from the network.
pub static ROT011: Rule = Rule {
    code: "ROT011",
    severity: Severity::High,
    title: "a step fetches from the network",
    source: "rke2-certificate-management",
    needs: &[Need::Runbook],
    doc: r#"**What it judges.** Every command, copy source and verify command: `curl`, `wget` or a URL that is
not the local supervisor (`https://127.0.0.1:9345`, `localhost`).

**What it reports.** The step and the line.

**Why it matters.** The sites harrow serves are air-gapped: a step that downloads a script (the seed's
`curl … | bash`) fails there, half-way through a maintenance window.

**Remediation.** Ship what the step needs with the runbook (`copy` from the operator's machine).

**Not applicable** to `analyze`: a snapshot holds no procedure.

**Source.** rules.md ROT011; rke2-certificate-management.
"#,
    evaluate: by_simulate,
};

/// A step needs a newer rke2 than the nodes run.
pub static ROT012: Rule = Rule {
    code: "ROT012",
    severity: Severity::High,
    title: "a step needs a newer rke2 than the nodes run",
    source: "rke2-certificate-management, harvester-certificates",
    needs: &[Need::Runbook],
    doc: r#"**What it judges.** The rke2 version of the inputs against the version gates of rules.md: `rotate_ca`
needs v1.26.2/v1.25.7/v1.24.11/v1.23.17, `token_rotate` v1.28.3/v1.27.7/v1.26.10/v1.25.15.

**What it reports.** The step, the command and the releases that have it.

**Why it matters.** The command is missing on older releases; the runbook stops in the middle.

**Remediation.** Upgrade first, or use the procedure of the running release. When the version is
unknown the simulation says so and takes the command as present (the preflight checks it live).

**Not applicable** to `analyze`: a snapshot holds no procedure.

**Source.** rules.md ROT012; rke2-certificate-management, harvester-certificates.
"#,
    evaluate: by_simulate,
};
