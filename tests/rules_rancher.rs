//! Rancher rules (RANCHER001–RANCHER010) through `harrow analyze -o json`: each case unzips the
//! demo support bundle into a temporary directory and writes the Rancher objects it needs as
//! `yamls/` lists (JSON, which YAML reads), so each rule is made to fail, pass, be not evaluable
//! and, where rules.md says so, not applicable. `bundles/` is never modified.

// clippy.toml lets #[test] functions unwrap, panic and print; this lets their helpers too.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stderr
)]

mod rules_common;
mod support;

use std::path::PathBuf;

use rules_common::{
    COLLECTED, analyze, coverage, findings, healthy_s1, pin, status, support_bundle,
};
use serde_json::{Value, json};
use support::corpus_bundle;

const SETTINGS: &str = "yamls/cluster/management.cattle.io/v3/settings.yaml";
const GLOBAL_ROLES: &str = "yamls/cluster/management.cattle.io/v3/globalroles.yaml";
const GRBS: &str = "yamls/cluster/management.cattle.io/v3/globalrolebindings.yaml";
const CRTBS: &str =
    "yamls/namespaced/c-abc12/management.cattle.io/v3/clusterroletemplatebindings.yaml";
const AUTHCONFIGS: &str = "yamls/cluster/management.cattle.io/v3/authconfigs.yaml";
const LOCAL_TOKENS: &str =
    "yamls/namespaced/local/management.cattle.io/v3/clusterregistrationtokens.yaml";
const DOWNSTREAM_TOKENS: &str =
    "yamls/namespaced/c-abc12/management.cattle.io/v3/clusterregistrationtokens.yaml";
const INGRESSES: &str = "yamls/namespaced/cattle-system/networking.k8s.io/v1/ingresses.yaml";
const KUBE_SYSTEM_CONFIGMAPS: &str = "yamls/namespaced/kube-system/v1/configmaps.yaml";
const BACKUPS: &str = "yamls/cluster/resources.cattle.io/v1/backups.yaml";
const CLUSTERS: &str = "yamls/cluster/management.cattle.io/v3/clusters.yaml";
const DEPLOYMENTS: &str = "yamls/namespaced/cattle-system/apps/v1/deployments.yaml";
/// The demo's `server-url` setting.
const SERVER_URL: &str = "https://10.0.0.10";
/// A registration token value that no output may show.
const TOKEN_VALUE: &str = "q7xk2m9vbn4lp8wz3rt6yh5jd0cfg1sa2ue7io9kx4mn8bv3";

/// A temporary copy of the demo support bundle as a directory.
struct Bundle {
    _tmp: tempfile::TempDir,
    dir: PathBuf,
}

impl Bundle {
    fn demo() -> Bundle {
        let tmp = tempfile::tempdir().unwrap();
        let zip = support_bundle().into_iter().next().expect("demo bundle");
        zip::ZipArchive::new(std::fs::File::open(zip).unwrap())
            .unwrap()
            .extract(tmp.path())
            .unwrap();
        let dir = std::fs::read_dir(tmp.path())
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| p.is_dir())
            .expect("bundle directory");
        Bundle { _tmp: tmp, dir }
    }

    /// Write the list file `rel` holding `items`.
    fn list(&self, rel: &str, items: Vec<Value>) -> &Bundle {
        let path = self.dir.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        let doc = json!({"apiVersion": "v1", "items": items, "kind": "List",
                         "metadata": {"resourceVersion": "1"}});
        std::fs::write(path, serde_json::to_vec_pretty(&doc).unwrap()).unwrap();
        self
    }

    fn remove(&self, rel: &str) -> &Bundle {
        std::fs::remove_file(self.dir.join(rel)).unwrap();
        self
    }

    /// Rewrite the Rancher settings: the demo's (cacerts, internal-cacerts, server-version,
    /// server-url) with `cacerts` given, plus `extra`.
    fn settings(&self, cacerts: &str, extra: Vec<Value>) -> &Bundle {
        let mut items = vec![
            setting("cacerts", Some(cacerts), None),
            setting("internal-cacerts", Some(cacerts), None),
            setting("server-version", Some("v2.12.3"), Some("dev")),
            setting("server-url", Some(SERVER_URL), None),
        ];
        items.extend(extra);
        self.list(SETTINGS, items)
    }

    /// [`Bundle::settings`] with the demo's own `cacerts`.
    fn settings_plus(&self, extra: Vec<Value>) -> &Bundle {
        self.settings(&demo_cacerts(self), extra)
    }

    fn analyze(&self) -> Value {
        analyze(&[self.dir.to_string_lossy().into_owned()], COLLECTED)
    }
}

/// The demo's `cacerts` PEM, as Rancher stores it without its trailing newline.
fn demo_cacerts(b: &Bundle) -> String {
    let text = std::fs::read_to_string(b.dir.join(SETTINGS)).unwrap();
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .skip_while(|l| !l.starts_with("-----BEGIN CERTIFICATE-----"))
        .collect();
    let end = lines
        .iter()
        .position(|l| l.starts_with("-----END CERTIFICATE-----"))
        .unwrap();
    lines[..=end].join("\n")
}

/// A `management.cattle.io/v3` object with `fields` merged in.
fn mgmt(kind: &str, name: &str, ns: Option<&str>, fields: Value) -> Value {
    let mut o = json!({"apiVersion": "management.cattle.io/v3", "kind": kind,
                       "metadata": {"name": name, "creationTimestamp": "2025-11-12T08:29:05Z"}});
    if let Some(ns) = ns {
        o["metadata"]["namespace"] = json!(ns);
    }
    merge(&mut o, fields);
    o
}

fn merge(into: &mut Value, from: Value) {
    match (into, from) {
        (Value::Object(a), Value::Object(b)) => {
            for (k, v) in b {
                merge(a.entry(k).or_insert(Value::Null), v);
            }
        }
        (slot, v) => *slot = v,
    }
}

/// A Rancher setting (`None`: the collector's `"null"`).
fn setting(name: &str, value: Option<&str>, default: Option<&str>) -> Value {
    mgmt(
        "Setting",
        name,
        None,
        json!({"value": value.unwrap_or("null"), "default": default.unwrap_or("null"),
               "customized": false, "source": "null"}),
    )
}

fn grb(name: &str, role: &str, subject: (&str, &str)) -> Value {
    mgmt(
        "GlobalRoleBinding",
        name,
        None,
        json!({"globalRoleName": role, (subject.0): subject.1}),
    )
}

fn crtb(name: &str, role: &str, user: &str) -> Value {
    mgmt(
        "ClusterRoleTemplateBinding",
        name,
        Some("c-abc12"),
        json!({"clusterName": "c-abc12", "roleTemplateName": role, "userName": user}),
    )
}

/// The binding Rancher makes for its install-time admin.
fn bootstrap_admin() -> Value {
    let mut b = grb(
        "globalrolebinding-boot",
        "admin",
        ("userName", "user-admin0"),
    );
    b["metadata"]["labels"] = json!({"authz.management.cattle.io/bootstrapping": "admin-user"});
    b
}

fn global_role(name: &str, rules: Value, new_user_default: bool, builtin: bool) -> Value {
    mgmt(
        "GlobalRole",
        name,
        None,
        json!({"rules": rules, "newUserDefault": new_user_default, "builtin": builtin}),
    )
}

fn create_clusters() -> Value {
    json!([{"apiGroups": ["management.cattle.io"], "resources": ["clusters"], "verbs": ["create"]}])
}

fn reason(doc: &Value, rule: &str) -> String {
    coverage(doc, rule)["reason"]
        .as_str()
        .unwrap_or("")
        .to_string()
}

fn needs(doc: &Value, rule: &str) -> String {
    coverage(doc, rule)["needs"]
        .as_str()
        .unwrap_or("")
        .to_string()
}

/// The one finding of `rule`, with its severity checked against the rule's default.
fn only_finding<'a>(doc: &'a Value, rule: &str, severity: &str) -> &'a Value {
    assert_eq!(status(doc, rule), "fail", "{}", coverage(doc, rule));
    let all = findings(doc, rule);
    assert_eq!(all.len(), 1, "{all:?}");
    assert_eq!(all[0]["severity"], severity);
    assert!(!all[0]["evidence"].as_array().unwrap().is_empty());
    all[0]
}

fn message(f: &Value) -> &str {
    f["message"].as_str().unwrap()
}

fn demo() -> Value {
    analyze(&support_bundle(), COLLECTED)
}

/// The demo bundle (Harvester's embedded Rancher, its settings and registration token only):
/// every Rancher rule whose objects it lacks is not evaluable and names what would supply them.
#[test]
fn not_evaluable_on_the_demo_bundle_naming_the_input() {
    let doc = demo();
    for (rule, need) in [
        ("RANCHER001", "globalrolebindings"),
        ("RANCHER002", "authconfigs"),
        ("RANCHER003", "globalroles"),
        ("RANCHER005", "support bundle"),
        ("RANCHER007", "support bundle"),
        ("RANCHER008", "globalroles"),
        ("RANCHER009", "support bundle"),
        ("RANCHER010", "support bundle"),
    ] {
        assert_eq!(status(&doc, rule), "not-evaluable", "{rule}");
        assert!(
            needs(&doc, rule).contains(need),
            "{rule}: {}",
            needs(&doc, rule)
        );
        assert!(findings(&doc, rule).is_empty(), "{rule}");
        pin(&doc, rule, "not-evaluable");
    }
}

/// RANCHER004 leaves Harvester's own `local` default-token alone; RANCHER006 does not apply
/// without the rancher-backup operator.
#[test]
fn not_applicable_on_the_demo_bundle() {
    let doc = demo();
    assert_eq!(status(&doc, "RANCHER004"), "not-applicable");
    assert!(reason(&doc, "RANCHER004").contains("default-token"));
    assert_eq!(status(&doc, "RANCHER006"), "not-applicable");
    assert!(reason(&doc, "RANCHER006").contains("not installed"));
    pin(&doc, "RANCHER004", "not-applicable");
    pin(&doc, "RANCHER006", "not-applicable");
}

/// Judged, and no finding.
fn assert_pass(doc: &Value, rule: &str) {
    assert_eq!(status(doc, rule), "pass", "{}", coverage(doc, rule));
    assert!(findings(doc, rule).is_empty());
}

// ---- RANCHER001 -------------------------------------------------------------------------------

#[test]
fn rancher001_fails_with_four_global_admins_besides_the_install_admin() {
    let b = Bundle::demo();
    let mut grbs = vec![bootstrap_admin()];
    for i in 1..=4 {
        grbs.push(grb(
            &format!("grb-{i}"),
            "admin",
            ("userName", &format!("u-{i}")),
        ));
    }
    grbs.push(grb("grb-std", "user", ("userName", "u-9")));
    b.list(GRBS, grbs)
        .list(CRTBS, vec![crtb("crtb-1", "cluster-owner", "u-1")]);
    let doc = b.analyze();
    let f = only_finding(&doc, "RANCHER001", "medium");
    assert_eq!(f["target"], "GlobalRoleBinding/admin");
    let m = message(f);
    assert!(m.starts_with("4 subjects"), "{m}");
    assert!(
        m.contains("user u-4") && !m.contains("user-admin0") && !m.contains("u-9"),
        "{m}"
    );
    pin(&doc, "RANCHER001", "fail-four-global-admins");
}

#[test]
fn rancher001_fails_on_a_cluster_with_four_owners_including_a_group() {
    let b = Bundle::demo();
    let mut owners: Vec<Value> = (1..=3)
        .map(|i| crtb(&format!("crtb-{i}"), "cluster-owner", &format!("u-{i}")))
        .collect();
    owners.push(mgmt(
        "ClusterRoleTemplateBinding",
        "crtb-group",
        Some("c-abc12"),
        json!({"clusterName": "c-abc12", "roleTemplateName": "cluster-owner",
               "groupPrincipalName": "okta_group://ops"}),
    ));
    owners.push(crtb("crtb-member", "cluster-member", "u-8"));
    b.list(GRBS, vec![bootstrap_admin()]).list(CRTBS, owners);
    let doc = b.analyze();
    let f = only_finding(&doc, "RANCHER001", "medium");
    assert_eq!(f["target"], "Cluster/c-abc12/cluster-owner");
    assert!(
        message(f).contains("group okta_group://ops"),
        "{}",
        message(f)
    );
    pin(&doc, "RANCHER001", "fail-four-cluster-owners");
}

#[test]
fn rancher001_passes_with_three_admins_and_three_owners() {
    let b = Bundle::demo();
    let mut grbs = vec![bootstrap_admin()];
    for i in 1..=3 {
        grbs.push(grb(
            &format!("grb-{i}"),
            "admin",
            ("userName", &format!("u-{i}")),
        ));
    }
    let owners = (1..=3)
        .map(|i| crtb(&format!("crtb-{i}"), "cluster-owner", &format!("u-{i}")))
        .collect();
    b.list(GRBS, grbs).list(CRTBS, owners);
    let doc = b.analyze();
    assert_pass(&doc, "RANCHER001");
    pin(&doc, "RANCHER001", "pass");
}

#[test]
fn rancher001_not_evaluable_with_global_bindings_alone() {
    // Global bindings alone are no pass: the cluster-owner bindings are unknown.
    let b = Bundle::demo();
    b.list(GRBS, vec![bootstrap_admin()]);
    let doc = b.analyze();
    assert_eq!(status(&doc, "RANCHER001"), "not-evaluable");
    assert!(reason(&doc, "RANCHER001").contains("ClusterRoleTemplateBindings"));
    pin(&doc, "RANCHER001", "not-evaluable-global-bindings-alone");
}

// ---- RANCHER002 -------------------------------------------------------------------------------

fn authconfig(name: &str, enabled: bool) -> Value {
    mgmt(
        "AuthConfig",
        name,
        None,
        json!({"enabled": enabled, "type": format!("{name}Config")}),
    )
}

#[test]
fn rancher002_fails_when_local_auth_stays_next_to_github() {
    let b = Bundle::demo();
    b.list(
        AUTHCONFIGS,
        vec![
            authconfig("local", true),
            authconfig("github", true),
            authconfig("openldap", false),
        ],
    );
    let doc = b.analyze();
    let f = only_finding(&doc, "RANCHER002", "medium");
    assert_eq!(f["target"], "AuthConfig/local");
    assert!(message(f).contains("github") && !message(f).contains("openldap"));
    pin(&doc, "RANCHER002", "fail");
}

#[test]
fn rancher002_passes_with_local_auth_disabled() {
    let b = Bundle::demo();
    b.list(
        AUTHCONFIGS,
        vec![authconfig("local", false), authconfig("github", true)],
    );
    let doc = b.analyze();
    assert_pass(&doc, "RANCHER002");
    pin(&doc, "RANCHER002", "pass");
}

// ---- RANCHER003 -------------------------------------------------------------------------------

#[test]
fn rancher003_reports_user_base_as_the_default_user_role() {
    let b = Bundle::demo();
    b.settings_plus(vec![setting(
        "default-user-role",
        Some("user-base"),
        Some("user"),
    )]);
    let doc = b.analyze();
    let f = only_finding(&doc, "RANCHER003", "info");
    assert_eq!(f["target"], "Setting/default-user-role");
    assert!(message(f).contains("user-base") && message(f).contains("stricter"));
    pin(&doc, "RANCHER003", "fail-default-user-role-setting");
}

#[test]
fn rancher003_reads_the_new_user_default_global_roles() {
    let b = Bundle::demo();
    b.list(
        GLOBAL_ROLES,
        vec![
            global_role("user-base", json!([]), true, true),
            global_role("user", create_clusters(), false, true),
        ],
    );
    let doc = b.analyze();
    let f = only_finding(&doc, "RANCHER003", "info");
    assert!(message(f).contains("user-base"), "{}", message(f));
    pin(&doc, "RANCHER003", "fail-new-user-default-global-role");

    let b = Bundle::demo();
    b.list(
        GLOBAL_ROLES,
        vec![
            global_role("user-base", json!([]), false, true),
            global_role("user", create_clusters(), true, true),
        ],
    );
    let doc = b.analyze();
    assert_pass(&doc, "RANCHER003");
    pin(&doc, "RANCHER003", "pass");
}

// ---- RANCHER004 -------------------------------------------------------------------------------

fn registration_token(name: &str, ns: &str, created: &str, ttl: Option<i64>) -> Value {
    let mut t = mgmt(
        "ClusterRegistrationToken",
        name,
        Some(ns),
        json!({"spec": {"clusterName": ns}, "status": {"token": TOKEN_VALUE}}),
    );
    t["metadata"]["creationTimestamp"] = json!(created);
    if let Some(ttl) = ttl {
        t["spec"]["ttl"] = json!(ttl);
    }
    t
}

#[test]
fn rancher004_fails_on_a_token_without_ttl_and_days_old() {
    let b = Bundle::demo();
    b.list(
        DOWNSTREAM_TOKENS,
        vec![
            registration_token("default-token", "c-abc12", "2026-11-01T00:00:00Z", None),
            registration_token("fresh", "c-abc12", "2026-11-20T09:00:00Z", Some(86400)),
        ],
    );
    let doc = b.analyze();
    let f = only_finding(&doc, "RANCHER004", "medium");
    assert_eq!(
        f["target"],
        "ClusterRegistrationToken/c-abc12/default-token"
    );
    let m = message(f);
    assert!(m.contains("no TTL") && m.contains("more than 24 h"), "{m}");
    // The token value never reaches the output, in any format.
    for format in ["json", "text", "sarif"] {
        let out = support::Test::new()
            .arg("analyze")
            .arg(b.dir.to_string_lossy())
            .args(["-o", format, "--fail-on", "none", "--at", COLLECTED])
            .run()
            .code(0);
        assert!(
            !out.stdout.contains(TOKEN_VALUE),
            "-o {format} shows the token"
        );
    }
    pin(&doc, "RANCHER004", "fail");
}

#[test]
fn rancher004_passes_on_a_fresh_token_with_a_ttl() {
    let b = Bundle::demo();
    b.list(
        DOWNSTREAM_TOKENS,
        vec![registration_token(
            "fresh",
            "c-abc12",
            "2026-11-20T09:00:00Z",
            Some(86400),
        )],
    );
    let doc = b.analyze();
    assert_pass(&doc, "RANCHER004");
    assert!(reason(&doc, "RANCHER004").contains("default-token Harvester manages"));
    pin(&doc, "RANCHER004", "pass");
}

#[test]
fn rancher004_not_evaluable_without_registration_tokens() {
    let b = Bundle::demo();
    b.remove(LOCAL_TOKENS);
    let doc = b.analyze();
    assert_eq!(status(&doc, "RANCHER004"), "not-evaluable");
    assert!(needs(&doc, "RANCHER004").contains("support bundle"));
    pin(&doc, "RANCHER004", "not-evaluable");
}

// ---- RANCHER005 -------------------------------------------------------------------------------

fn ingress(name: &str, service: &str, annotations: Value) -> Value {
    json!({"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
           "metadata": {"name": name, "namespace": "cattle-system", "annotations": annotations},
           "spec": {"rules": [{"http": {"paths": [{"path": "/", "pathType": "Prefix",
               "backend": {"service": {"name": service, "port": {"number": 80}}}}]}}]}})
}

/// The demo's kube-system ConfigMaps with the ingress-nginx controller's added, holding `data`
/// (inserted as a flow-style item at the head of the demo's block list).
fn with_controller_config(b: &Bundle, data: Value) {
    let controller = json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "rke2-ingress-nginx-controller", "namespace": "kube-system"},
        "data": data});
    let path = b.dir.join(KUBE_SYSTEM_CONFIGMAPS);
    let demo = std::fs::read_to_string(&path).unwrap();
    let item = serde_json::to_string(&controller).unwrap();
    let text = demo.replacen("items:\n", &format!("items:\n- {item}\n"), 1);
    assert_ne!(text, demo, "no items: in the demo ConfigMaps");
    std::fs::write(path, text).unwrap();
}

#[test]
fn rancher005_fails_on_weak_tls_hsts_off_and_no_allow_list() {
    let b = Bundle::demo();
    b.list(
        INGRESSES,
        vec![ingress("rancher-expose", "rancher", json!({}))],
    );
    with_controller_config(
        &b,
        json!({"ssl-protocols": "TLSv1 TLSv1.2", "hsts": "false"}),
    );
    let doc = b.analyze();
    assert_eq!(status(&doc, "RANCHER005"), "fail");
    let all = findings(&doc, "RANCHER005");
    assert_eq!(all.len(), 3, "{all:?}");
    assert!(all.iter().all(|f| f["severity"] == "medium"));
    let text: Vec<&str> = all.iter().map(|f| message(f)).collect();
    assert!(text.iter().any(|m| m.contains("allows TLSv1 ")), "{text:?}");
    assert!(text.iter().any(|m| m.contains("HSTS off")), "{text:?}");
    assert!(
        all.iter()
            .any(|f| f["target"] == "Ingress/cattle-system/rancher-expose"
                && message(f).contains("no source-range allow-list"))
    );
    pin(&doc, "RANCHER005", "fail");
}

#[test]
fn rancher005_passes_with_an_allow_list_and_default_tls() {
    let b = Bundle::demo();
    b.list(
        INGRESSES,
        vec![ingress(
            "rancher",
            "rancher",
            json!({"nginx.ingress.kubernetes.io/whitelist-source-range": "10.0.0.0/8"}),
        )],
    );
    with_controller_config(&b, json!({"proxy-body-size": "0"}));
    let doc = b.analyze();
    assert_pass(&doc, "RANCHER005");
    pin(&doc, "RANCHER005", "pass");
}

#[test]
fn rancher005_not_evaluable_or_not_applicable() {
    // An allow-listed ingress but no controller configuration: TLS and HSTS unknown.
    let b = Bundle::demo();
    b.list(
        INGRESSES,
        vec![ingress(
            "rancher",
            "rancher",
            json!({"nginx.ingress.kubernetes.io/whitelist-source-range": "10.0.0.0/8"}),
        )],
    );
    let doc = b.analyze();
    assert_eq!(status(&doc, "RANCHER005"), "not-evaluable");
    assert!(reason(&doc, "RANCHER005").contains("TLS protocols and HSTS are unknown"));
    pin(&doc, "RANCHER005", "not-evaluable-no-controller-config");
    // Ingresses, none of them Rancher's.
    let b = Bundle::demo();
    b.list(INGRESSES, vec![ingress("grafana", "grafana", json!({}))]);
    let doc = b.analyze();
    assert_eq!(status(&doc, "RANCHER005"), "not-applicable");
    pin(&doc, "RANCHER005", "not-applicable");
}

// ---- RANCHER006 -------------------------------------------------------------------------------

fn backup(name: &str, encryption: Option<&str>) -> Value {
    let mut spec = json!({"retentionCount": 10,
        "storageLocation": {"s3": {"bucketName": "rancher-backups", "credentialSecretName": "s3"}}});
    if let Some(e) = encryption {
        spec["encryptionConfigSecretName"] = json!(e);
    }
    json!({"apiVersion": "resources.cattle.io/v1", "kind": "Backup",
           "metadata": {"name": name}, "spec": spec})
}

#[test]
fn rancher006_fails_on_an_unencrypted_backup() {
    let b = Bundle::demo();
    b.list(
        BACKUPS,
        vec![
            backup("nightly", None),
            backup("weekly", Some("encryption-key")),
        ],
    );
    let doc = b.analyze();
    let f = only_finding(&doc, "RANCHER006", "medium");
    assert_eq!(f["target"], "Backup/nightly");
    assert!(message(f).contains("s3 storage location"), "{}", message(f));
    pin(&doc, "RANCHER006", "fail");
}

#[test]
fn rancher006_passes_on_encrypted_backups() {
    let b = Bundle::demo();
    b.list(BACKUPS, vec![backup("weekly", Some("encryption-key"))]);
    let doc = b.analyze();
    assert_pass(&doc, "RANCHER006");
    pin(&doc, "RANCHER006", "pass");
}

#[test]
fn rancher006_not_evaluable_without_a_bundle() {
    let tmp = tempfile::tempdir().unwrap();
    let s1 = healthy_s1(tmp.path());
    let doc = analyze(&[s1.to_string_lossy().into_owned()], COLLECTED);
    assert_eq!(status(&doc, "RANCHER006"), "not-evaluable");
    assert!(needs(&doc, "RANCHER006").contains("support bundle"));
    pin(&doc, "RANCHER006", "not-evaluable");
}

// ---- RANCHER007 -------------------------------------------------------------------------------

fn cluster(name: &str, connected: Option<&str>) -> Value {
    let mut c = mgmt(
        "Cluster",
        name,
        None,
        json!({"spec": {"displayName": format!("{name}-prod")}}),
    );
    c["metadata"]["labels"] = json!({"provider.cattle.io": "harvester"});
    if let Some(s) = connected {
        c["status"] = json!({"conditions": [{"type": "Connected", "status": s,
                                             "lastUpdateTime": "2026-11-18T10:00:00Z"}]});
    }
    c
}

#[test]
fn rancher007_fails_on_a_disconnected_downstream_cluster() {
    let b = Bundle::demo();
    b.list(
        CLUSTERS,
        vec![
            cluster("local", Some("True")),
            cluster("c-abc12", Some("False")),
            cluster("c-ok", Some("True")),
        ],
    );
    let doc = b.analyze();
    let f = only_finding(&doc, "RANCHER007", "low");
    assert_eq!(f["target"], "Cluster/c-abc12");
    assert!(message(f).contains("Connected=False") && message(f).contains("c-abc12-prod"));
    pin(&doc, "RANCHER007", "fail");
}

#[test]
fn rancher007_passes_when_downstream_clusters_are_connected() {
    let b = Bundle::demo();
    b.list(
        CLUSTERS,
        vec![cluster("local", None), cluster("c-ok", Some("True"))],
    );
    let doc = b.analyze();
    assert_pass(&doc, "RANCHER007");
    pin(&doc, "RANCHER007", "pass");
}

#[test]
fn rancher007_not_applicable_with_only_the_local_cluster() {
    let b = Bundle::demo();
    b.list(CLUSTERS, vec![cluster("local", Some("True"))]);
    let doc = b.analyze();
    assert_eq!(status(&doc, "RANCHER007"), "not-applicable");
    pin(&doc, "RANCHER007", "not-applicable");
}

// ---- RANCHER008 -------------------------------------------------------------------------------

#[test]
fn rancher008_fails_on_a_cluster_creator_role_given_to_every_new_user() {
    let b = Bundle::demo();
    b.list(
        GLOBAL_ROLES,
        vec![
            global_role("cluster-creator", create_clusters(), true, false),
            global_role("user", create_clusters(), false, true),
        ],
    )
    .list(GRBS, vec![bootstrap_admin()]);
    let doc = b.analyze();
    let f = only_finding(&doc, "RANCHER008", "medium");
    assert_eq!(f["target"], "GlobalRole/cluster-creator");
    assert!(message(f).contains("new-user default"), "{}", message(f));
    pin(&doc, "RANCHER008", "fail-new-user-default");
}

#[test]
fn rancher008_fails_on_a_cluster_creator_role_bound_to_a_group() {
    let b = Bundle::demo();
    b.list(
        GLOBAL_ROLES,
        vec![global_role(
            "cluster-creator",
            create_clusters(),
            false,
            false,
        )],
    )
    .list(
        GRBS,
        vec![
            bootstrap_admin(),
            grb(
                "grb-g",
                "cluster-creator",
                ("groupPrincipalName", "okta_group://everyone"),
            ),
        ],
    );
    let doc = b.analyze();
    let f = only_finding(&doc, "RANCHER008", "medium");
    assert!(
        message(f).contains("okta_group://everyone"),
        "{}",
        message(f)
    );
    pin(&doc, "RANCHER008", "fail-bound-to-a-group");
}

#[test]
fn rancher008_passes_on_a_narrowly_bound_creator_and_standard_user_default() {
    let b = Bundle::demo();
    b.list(
        GLOBAL_ROLES,
        vec![
            global_role("cluster-creator", create_clusters(), false, false),
            global_role("user", create_clusters(), true, true),
        ],
    )
    .list(
        GRBS,
        vec![
            bootstrap_admin(),
            grb("grb-1", "cluster-creator", ("userName", "u-1")),
        ],
    );
    let doc = b.analyze();
    assert_pass(&doc, "RANCHER008");
    pin(&doc, "RANCHER008", "pass");
}

// ---- RANCHER009 -------------------------------------------------------------------------------

fn agent(server: &str, checksum: &str) -> Value {
    json!({"apiVersion": "apps/v1", "kind": "Deployment",
           "metadata": {"name": "cattle-cluster-agent", "namespace": "cattle-system"},
           "spec": {"template": {"spec": {"containers": [{"name": "cluster-register",
               "env": [{"name": "CATTLE_SERVER", "value": server},
                       {"name": "CATTLE_CA_CHECKSUM", "value": checksum}]}]}}}})
}

/// A bundle whose `cacerts` has no trailing newline (as Rancher stores it) and whose agent
/// pins `checksum_of(cacerts)`.
fn agent_bundle(checksum_of: impl Fn(&str) -> String, server: &str) -> Bundle {
    let b = Bundle::demo();
    let ca = demo_cacerts(&b);
    assert!(!ca.ends_with('\n'));
    b.settings(&ca, vec![]);
    b.list(DEPLOYMENTS, vec![agent(server, &checksum_of(&ca))]);
    b
}

#[test]
fn rancher009_fails_when_the_agent_pins_the_hash_of_the_bare_value() {
    let b = agent_bundle(|ca| harrow::pki::sha256_hex(ca.as_bytes()), SERVER_URL);
    let doc = b.analyze();
    let f = only_finding(&doc, "RANCHER009", "high");
    assert_eq!(
        f["target"],
        "Deployment/cattle-system/cattle-cluster-agent/cluster-register"
    );
    assert!(message(f).contains("cacerts"), "{}", message(f));
    pin(&doc, "RANCHER009", "fail-hash-of-the-bare-value");
}

#[test]
fn rancher009_passes_with_rancher_checksum_of_the_value_and_a_newline() {
    let b = agent_bundle(
        |ca| harrow::pki::sha256_hex(format!("{ca}\n").as_bytes()),
        &format!("{SERVER_URL}/"),
    );
    let doc = b.analyze();
    assert_pass(&doc, "RANCHER009");
    pin(&doc, "RANCHER009", "pass");
}

/// A value that already ends with a newline gets no second one (Rancher's `CAChecksum`).
#[test]
fn rancher009_adds_no_second_newline() {
    let b = Bundle::demo();
    let ca = format!("{}\n", demo_cacerts(&b));
    b.settings(&ca, vec![]);
    b.list(
        DEPLOYMENTS,
        vec![agent(SERVER_URL, &harrow::pki::sha256_hex(ca.as_bytes()))],
    );
    let doc = b.analyze();
    assert_pass(&doc, "RANCHER009");
    pin(&doc, "RANCHER009", "pass-value-ending-in-a-newline");
}

/// An agent that pins nothing while `cacerts` holds a private CA cannot verify Rancher.
#[test]
fn rancher009_fails_when_the_agent_pins_nothing() {
    let b = agent_bundle(|_| String::new(), SERVER_URL);
    let doc = b.analyze();
    let f = only_finding(&doc, "RANCHER009", "high");
    assert!(
        message(f).contains("CATTLE_CA_CHECKSUM none"),
        "{}",
        message(f)
    );
    pin(&doc, "RANCHER009", "fail-pins-nothing");
}

#[test]
fn rancher009_not_applicable_for_an_agent_of_another_rancher() {
    let b = agent_bundle(|_| "0".repeat(64), "https://rancher.elsewhere.example");
    let doc = b.analyze();
    assert_eq!(status(&doc, "RANCHER009"), "not-applicable");
    assert!(reason(&doc, "RANCHER009").contains("rancher.elsewhere.example"));
    pin(&doc, "RANCHER009", "not-applicable");
}

// ---- RANCHER010 -------------------------------------------------------------------------------

#[test]
fn rancher010_fails_when_the_max_ttl_defaults_to_zero() {
    let b = Bundle::demo();
    b.settings_plus(vec![
        setting("auth-token-max-ttl-minutes", None, Some("0")),
        setting("kubeconfig-default-token-ttl-minutes", None, Some("43200")),
    ]);
    let doc = b.analyze();
    let f = only_finding(&doc, "RANCHER010", "low");
    assert_eq!(f["target"], "Setting/auth-token-max-ttl-minutes");
    assert!(message(f).contains("its default"), "{}", message(f));
    pin(&doc, "RANCHER010", "fail");
}

#[test]
fn rancher010_passes_with_bounded_lifetimes() {
    let b = Bundle::demo();
    b.settings_plus(vec![
        setting("auth-token-max-ttl-minutes", Some("129600"), Some("0")),
        setting("kubeconfig-default-token-ttl-minutes", None, Some("43200")),
    ]);
    let doc = b.analyze();
    assert_pass(&doc, "RANCHER010");
    pin(&doc, "RANCHER010", "pass");
}

// ---- the real bundle --------------------------------------------------------------------------

/// The 2022 corpus bundle: a Harvester v1.0 imported into another Rancher.
#[test]
fn rancher_rules_on_the_corpus_bundle() {
    let Some(zip) = corpus_bundle() else {
        eprintln!("skipped: ../shared/corpus is absent");
        return;
    };
    let doc = analyze(
        &[zip.to_string_lossy().into_owned()],
        "2022-03-22T23:49:32Z",
    );
    for rule in ["RANCHER001", "RANCHER002", "RANCHER003", "RANCHER008"] {
        assert_eq!(status(&doc, rule), "not-evaluable", "{rule}");
    }
    assert_eq!(status(&doc, "RANCHER004"), "not-applicable");
    assert_eq!(status(&doc, "RANCHER007"), "not-applicable");
    // The cluster agent registers with another Rancher: its CA is not in the bundle.
    assert_eq!(status(&doc, "RANCHER009"), "not-applicable");
    assert_eq!(
        findings(&doc, "RANCHER005")
            .iter()
            .map(|f| f["target"].as_str().unwrap())
            .collect::<Vec<_>>(),
        ["Ingress/cattle-system/rancher-expose"]
    );
    assert_eq!(
        findings(&doc, "RANCHER010")
            .iter()
            .map(|f| f["target"].as_str().unwrap())
            .collect::<Vec<_>>(),
        ["Setting/auth-token-max-ttl-minutes"]
    );
}
