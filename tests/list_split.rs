//! The list splitter on real data: every `configmaps.yaml` of the real support bundle and of the
//! demo splits into items that each parse to exactly the item the whole file's parse gives, and
//! the analysis keeps every ConfigMap a rule or the inventory reads, and of pods and catalog
//! Apps only those the rules name.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stderr
)]

mod support;

use harrow::analyze::{self, At, InputSpec, Options, Through};
use harrow::ingest::Limits;
use harrow::snapshot::listsplit;
use time::macros::datetime;

fn analysis(inputs: Vec<String>) -> analyze::Analysis {
    let opts = Options {
        inputs: inputs.iter().map(|p| InputSpec::parse(p)).collect(),
        limits: Limits::default(),
        at: At::Fixed(datetime!(2026-11-20 10:00 UTC)),
        demo: false,
        fingerprint_key: None,
        through: Through::Rules,
        workload_namespaces_exclude: Vec::new(),
    };
    analyze::run_at(&opts, datetime!(2026-11-20 10:00 UTC)).expect("analysis")
}

/// Checks every ConfigMap list of `a`; returns how many items were compared.
fn items_equal_whole_parse(a: &analyze::Analysis) -> usize {
    let mut compared = 0;
    for tree in &a.snapshot.trees {
        for (path, file) in &tree.files {
            let split_kinds = [
                "/v1/configmaps.yaml",
                "/v1/pods.yaml",
                "/v1/serviceaccounts.yaml",
                "/v1/services.yaml",
                "/catalog.cattle.io/v1/apps.yaml",
            ];
            if !split_kinds.iter().any(|k| path.ends_with(k)) || path.contains('!') {
                continue;
            }
            let text = std::str::from_utf8(&file.data).unwrap();
            let whole: serde_json::Value = serde_saphyr::from_str(text).unwrap();
            let items = listsplit::split(text).unwrap_or_else(|| panic!("{path} did not split"));
            assert_eq!(
                items.len(),
                whole["items"].as_array().map_or(0, Vec::len),
                "{path}"
            );
            for it in &items {
                let v: serde_json::Value = serde_saphyr::from_str(&it.text).unwrap();
                assert_eq!(v, whole["items"][it.index], "{path} item {}", it.index);
                assert_eq!(
                    it.name.as_deref(),
                    v["metadata"]["name"].as_str(),
                    "{path} item {}",
                    it.index
                );
                compared += 1;
            }
        }
    }
    compared
}

/// Every ConfigMap named in the list, or carrying a certificate, is indexed; of pods and Apps,
/// exactly the named ones.
fn kept_what_is_read(a: &analyze::Analysis) {
    use harrow::snapshot::kube::{APPS_READ, PODS_READ};
    for o in &a.snapshot.objects {
        match o.kind.as_str() {
            "Pod" => assert!(
                PODS_READ.iter().any(|p| o.name.starts_with(p)),
                "{}",
                o.name
            ),
            "App" => assert!(APPS_READ.contains(&o.name.as_str()), "{}", o.name),
            "ServiceAccount" => assert_eq!(o.name, "default"),
            "Service" => assert_eq!(o.name, "kubernetes"),
            "APIService" => assert!(o.value.to_string().contains("caBundle"), "{}", o.name),
            _ => {}
        }
    }
    let kept: Vec<_> = a
        .snapshot
        .objects
        .iter()
        .filter(|o| o.kind == "ConfigMap")
        .collect();
    assert!(kept.iter().any(|o| o.name == "kube-root-ca.crt"));
    for o in &kept {
        let pem = o.value.to_string().contains("BEGIN CERTIFICATE");
        assert!(
            pem || harrow::snapshot::kube::CONFIGMAPS_READ.contains(&o.name.as_str()),
            "{}",
            o.name
        );
    }
}

#[test]
fn the_demo_bundles_configmaps_split_as_they_parse() {
    let a = analysis(support::inputs_in("bundles/demo"));
    assert!(items_equal_whole_parse(&a) > 0);
    kept_what_is_read(&a);
}

#[test]
fn the_real_bundles_configmaps_split_as_they_parse() {
    let Some(zip) = support::corpus_bundle() else {
        return;
    };
    let a = analysis(vec![zip.display().to_string()]);
    let n = items_equal_whole_parse(&a);
    assert!(n > 50, "{n} items compared");
    kept_what_is_read(&a);
}
