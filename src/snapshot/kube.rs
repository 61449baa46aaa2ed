//! The Kubernetes object index over a bundle's `yamls/` tree, and the bundle's `metadata.yaml`.
//!
//! Each list file is one `kind: List` document (never a stream). It is parsed within the YAML
//! budgets; its items are normalised (string `"null"` → null except under `key`, `***` kept) and
//! indexed with the namespace, group, version and plural the path gives. `metadata.managedFields`
//! is dropped (bookkeeping, often half of an object's size). A file that fails to
//! parse becomes a note naming the file (and line/column); the other files still load.

use crate::ingest::{InputTree, Limits};

use super::listsplit;
use super::model::{BundleMeta, KubeObject, Note};
use super::notes::{malformed_note, refusal_note};
use super::selector::{YamlPath, parse_yaml_path, segments};
use super::value::{as_str, get, normalize_nulls, str_at};
use super::yaml;
use crate::timefmt::parse_rfc3339;

/// Index every `yamls/**.yaml` file of the bundle rooted at `top` in `tree`.
pub fn index_bundle(
    input: usize,
    tree: &InputTree,
    top: &str,
    limits: &Limits,
    objects: &mut Vec<KubeObject>,
    notes: &mut Vec<Note>,
) {
    let base = format!("{top}yamls/");
    let mut lists = Vec::new();
    for (path, file) in tree.files.range::<str, _>((
        std::ops::Bound::Included(base.as_str()),
        std::ops::Bound::Unbounded,
    )) {
        if !path.starts_with(&base) {
            break;
        }
        if path.contains('!') || !path.ends_with(".yaml") {
            continue;
        }
        let segs = segments(&path[base.len()..]);
        if let Some(yp) = parse_yaml_path(&segs) {
            lists.push((path, file, yp));
        }
    }
    // Parsing dominates: every core takes a share of the lists by size; what follows reads
    // the results in path order, so objects and notes come out as from one pass.
    // The workers have the stack the depth budget needs, so each parse runs in place.
    let parsed = crate::par::map_balanced_on(
        &lists,
        |(_, file, _)| file.data.len() as u64,
        Some(yaml::stack_for(limits)),
        |(_, file, yp)| parse_list(&file.data, yp, limits),
    );
    for ((path, _, yp), parsed) in lists.into_iter().zip(parsed) {
        let value = match parsed {
            Parsed::Items(items) => {
                add_objects(input, path, &yp, items, objects);
                continue;
            }
            Parsed::Whole(value) => value,
        };
        let value = match value {
            Ok(v) => v,
            Err(e) if e.refused => {
                notes.push(refusal_note(tree, path, &e.message, e.pointer()));
                continue;
            }
            Err(e) => {
                notes.push(malformed_note(tree, path, "YAML", &e.message, e.pointer()));
                continue;
            }
        };
        let items: Vec<serde_json::Value> = match value {
            serde_json::Value::Null => Vec::new(),
            serde_json::Value::Object(mut m) => match m.remove("items") {
                Some(serde_json::Value::Array(a)) => a,
                Some(serde_json::Value::Null) => Vec::new(),
                Some(serde_json::Value::String(s)) if s == "null" => Vec::new(),
                Some(_) => {
                    notes.push(malformed_note(
                        tree,
                        path,
                        "YAML",
                        "`items` is not a list",
                        None,
                    ));
                    continue;
                }
                None if m.contains_key("metadata") && m.contains_key("kind") => {
                    if m.get("kind").and_then(|k| k.as_str()) == Some("List") {
                        Vec::new()
                    } else {
                        vec![serde_json::Value::Object(m)]
                    }
                }
                None => {
                    notes.push(malformed_note(
                        tree,
                        path,
                        "YAML",
                        "not a Kubernetes list (no `items`)",
                        None,
                    ));
                    continue;
                }
            },
            _ => {
                notes.push(malformed_note(
                    tree,
                    path,
                    "YAML",
                    "not a Kubernetes list (not a mapping)",
                    None,
                ));
                continue;
            }
        };
        add_objects(
            input,
            path,
            &yp,
            items.into_iter().enumerate().collect(),
            objects,
        );
    }
}

/// A list file parsed whole, or only the items the analysis reads (with their positions).
enum Parsed {
    Whole(Result<serde_json::Value, yaml::YamlError>),
    Items(Vec<(usize, serde_json::Value)>),
}

/// ConfigMaps the rules read by name; any other ConfigMap is parsed only when it carries a
/// PEM certificate (the inventory lists those). A rule that reads another ConfigMap adds its
/// name here.
pub const CONFIGMAPS_READ: &[&str] = &[
    "kube-root-ca.crt",
    "extension-apiserver-authentication",
    "rke2-ingress-nginx-controller",
    "ingress-nginx-controller",
];

/// Name prefixes of the `kube-system` pods the rules read: rke2's etcd static pod
/// (`etcd-<node>`: its `runAsUser`, HOST002). A rule that reads another pod adds it here.
pub const PODS_READ: &[&str] = &["etcd-"];

/// `catalog.cattle.io` Apps the rules read (the backup operator, RANCHER006). A rule that reads
/// another App adds it here.
pub const APPS_READ: &[&str] = &["rancher-backup"];

/// Which items of a list of `yp`'s resource are read, or `None` when every item is (the list
/// is then parsed whole). An item whose name the split could not see is always read.
fn item_filter(yp: &YamlPath) -> Option<fn(&listsplit::Item) -> bool> {
    fn named(it: &listsplit::Item, pred: impl Fn(&str) -> bool) -> bool {
        it.name.as_deref().is_none_or(pred)
    }
    match (yp.group, yp.plural) {
        ("", "configmaps") => Some(|it| {
            named(it, |n| CONFIGMAPS_READ.contains(&n))
                || it.text.contains("-----BEGIN CERTIFICATE-----")
        }),
        ("", "pods") => Some(|it| named(it, |n| PODS_READ.iter().any(|p| n.starts_with(p)))),
        // Each namespace's `default` account (KUBE001); the `kubernetes` service.
        ("", "serviceaccounts") => Some(|it| named(it, |n| n == "default")),
        ("", "services") => Some(|it| named(it, |n| n == "kubernetes")),
        ("catalog.cattle.io", "apps") => Some(|it| named(it, |n| APPS_READ.contains(&n))),
        // Read for their `caBundle` only (the inventory): the local ones carry none.
        ("apiregistration.k8s.io", "apiservices") => Some(|it| it.text.contains("caBundle")),
        _ => None,
    }
}

/// Parses a list file, item by item where only some items are read ([`item_filter`]: a
/// bundle's dashboards are megabytes of ConfigMaps no rule reads), else whole; a list that
/// does not split, or whose item fails to parse, is parsed whole. Runs on a thread with
/// [`yaml::stack_for`]`(limits)` of stack.
fn parse_list(data: &[u8], yp: &YamlPath, limits: &Limits) -> Parsed {
    let whole = || Parsed::Whole(yaml::parse_here(data, limits));
    let Some(read) = item_filter(yp) else {
        return whole();
    };
    let Some(items) = std::str::from_utf8(data).ok().and_then(listsplit::split) else {
        return whole();
    };
    let mut out = Vec::new();
    for it in items.iter().filter(|it| read(it)) {
        match yaml::parse_here(it.text.as_bytes(), limits) {
            Ok(v) => out.push((it.index, v)),
            // The whole file's parse reports the error where it is, or reads what the split
            // misread.
            Err(_) => return whole(),
        }
    }
    Parsed::Items(out)
}

/// Indexes a list's items (with their positions in `items`) as objects.
fn add_objects(
    input: usize,
    path: &str,
    yp: &YamlPath,
    items: Vec<(usize, serde_json::Value)>,
    objects: &mut Vec<KubeObject>,
) {
    let api_default = yp.api_version();
    for (index, mut item) in items {
        if !item.is_object() {
            continue;
        }
        normalize_nulls(&mut item);
        // managedFields are bookkeeping no rule reads; they are often half an object.
        if let Some(serde_json::Value::Object(meta)) = item.get_mut("metadata") {
            meta.remove("managedFields");
        }
        let api_version = str_at(&item, &["apiVersion"])
            .map(str::to_string)
            .unwrap_or_else(|| api_default.clone());
        let kind = str_at(&item, &["kind"]).unwrap_or("").to_string();
        let name = str_at(&item, &["metadata", "name"])
            .unwrap_or("")
            .to_string();
        let namespace = str_at(&item, &["metadata", "namespace"])
            .map(str::to_string)
            .or_else(|| yp.namespace.map(str::to_string));
        objects.push(KubeObject {
            api_version,
            kind,
            namespace,
            name,
            value: item,
            input,
            path: path.to_string(),
            index,
        });
    }
}

/// Parse `metadata.yaml` (yaml.v2 output: lower-cased Go field names). Empty strings and
/// `"null"` are absent.
pub fn parse_metadata(
    input: usize,
    tree: &InputTree,
    top: &str,
    limits: &Limits,
    notes: &mut Vec<Note>,
) -> Option<BundleMeta> {
    let path = format!("{top}metadata.yaml");
    let file = tree.resolve(&path)?;
    let v = match yaml::parse(&file.data, limits) {
        Ok(v) => v,
        Err(e) => {
            notes.push(if e.refused {
                refusal_note(tree, &path, &e.message, e.pointer())
            } else {
                malformed_note(tree, &path, "YAML", &e.message, e.pointer())
            });
            return None;
        }
    };
    let s = |k: &str| get(&v, &[k]).and_then(as_str).map(str::to_string);
    Some(BundleMeta {
        bundle_name: s("bundlename"),
        bundle_version: s("bundleversion"),
        kubernetes_version: s("kubernetesversion"),
        project_namespace_uuid: s("projectnamespaceuuid"),
        created_at: s("bundlecreatedat").and_then(|t| parse_rfc3339(&t)),
        input,
        top: top.trim_end_matches('/').to_string(),
    })
}
