//! `analyze -o sarif` against a typed model of SARIF 2.1.0 (the subset harrow writes, with the
//! types, required properties and enumerations of the OASIS schema; unknown properties are
//! refused): the log parses into the model, every result's rule is a driver rule at its
//! `ruleIndex`, levels follow severities, regions start at line 1 or later, and no secret of the
//! fixture appears.

// clippy.toml lets #[test] functions unwrap, panic and print; this lets their helpers too.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stderr
)]

mod support;

use serde::Deserialize;
use support::{Test, inputs_in};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Log {
    #[serde(rename = "$schema")]
    schema: String,
    version: String,
    runs: Vec<Run>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Run {
    tool: Tool,
    results: Vec<Result>,
    invocations: Vec<Invocation>,
    properties: serde_json::Map<String, serde_json::Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Tool {
    driver: Driver,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Driver {
    name: String,
    version: String,
    rules: Vec<ReportingDescriptor>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Message {
    text: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct MultiformatMessage {
    text: String,
    markdown: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct ReportingDescriptor {
    id: String,
    name: String,
    short_description: MultiformatMessage,
    full_description: MultiformatMessage,
    help: MultiformatMessage,
    default_configuration: Configuration,
    properties: serde_json::Map<String, serde_json::Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Configuration {
    level: Level,
}

#[derive(Deserialize, Clone, Copy, PartialEq, Eq, Debug)]
#[serde(rename_all = "lowercase")]
enum Level {
    None,
    Note,
    Warning,
    Error,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Result {
    rule_id: String,
    rule_index: usize,
    level: Level,
    message: Message,
    locations: Vec<Location>,
    properties: serde_json::Map<String, serde_json::Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Location {
    physical_location: PhysicalLocation,
    logical_locations: Option<Vec<LogicalLocation>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct PhysicalLocation {
    artifact_location: ArtifactLocation,
    region: Option<Region>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ArtifactLocation {
    uri: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Region {
    start_line: u64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct LogicalLocation {
    fully_qualified_name: String,
    kind: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Invocation {
    execution_successful: bool,
    properties: serde_json::Map<String, serde_json::Value>,
}

fn sarif(inputs: &[String], golden: Option<&str>) -> (Log, String) {
    let mut run = Test::new()
        .arg("analyze")
        .args(inputs)
        .args([
            "-o",
            "sarif",
            "--fail-on",
            "none",
            "--at",
            "2026-11-20T10:00:00Z",
        ])
        .run()
        .code(0);
    if let Some(g) = golden {
        run = run.golden(g);
    }
    let log: Log = serde_json::from_str(&run.stdout)
        .unwrap_or_else(|e| panic!("not SARIF 2.1.0 as modelled: {e}"));
    (log, run.stdout)
}

#[test]
fn sarif_log_of_the_demo_fits_the_2_1_0_model() {
    let (log, text) = sarif(&inputs_in("bundles/demo"), Some("analyze-demo.sarif"));
    assert_eq!(log.version, "2.1.0");
    assert!(log.schema.ends_with("sarif-schema-2.1.0.json"));
    assert_eq!(log.runs.len(), 1);
    let run = &log.runs[0];
    assert_eq!(run.tool.driver.name, "harrow");
    assert!(!run.tool.driver.version.is_empty());
    assert_eq!(run.tool.driver.rules.len(), harrow::checks::RULES.len());
    assert!(run.invocations.iter().all(|i| i.execution_successful));
    assert!(run.invocations[0].properties.contains_key("referenceTime"));
    assert!(
        run.properties["coverage"]
            .as_array()
            .is_some_and(|c| c.len() == harrow::checks::RULES.len())
    );
    for r in &run.tool.driver.rules {
        assert_eq!(r.id, r.name);
        assert!(!r.short_description.text.is_empty() && !r.full_description.text.is_empty());
        assert!(
            r.help
                .markdown
                .as_deref()
                .is_some_and(|m| m.starts_with(&format!("# {}", r.id)))
        );
        assert!(r.properties.contains_key("security-severity"));
        assert_ne!(r.default_configuration.level, Level::None);
    }
    assert!(!run.results.is_empty(), "the demo has findings");
    for res in &run.results {
        let rule = &run.tool.driver.rules[res.rule_index];
        assert_eq!(rule.id, res.rule_id);
        let severity = res.properties["severity"].as_str().unwrap();
        let want = match severity {
            "critical" | "high" => Level::Error,
            "medium" => Level::Warning,
            _ => Level::Note,
        };
        assert_eq!(res.level, want, "{}", res.rule_id);
        assert!(!res.message.text.is_empty());
        assert!(!res.locations.is_empty(), "{} has no location", res.rule_id);
        for l in &res.locations {
            assert!(!l.physical_location.artifact_location.uri.is_empty());
            assert!(!l.physical_location.artifact_location.uri.contains(' '));
            if let Some(r) = &l.physical_location.region {
                assert!(r.start_line >= 1);
            }
            for ll in l.logical_locations.iter().flatten() {
                assert_eq!(ll.kind, "member");
                assert!(!ll.fully_qualified_name.is_empty());
            }
        }
    }
    // The demo bundle leaks its token the way the real collector does: the SARIF log names the
    // place, never the value (the password is in the bundle's node config).
    assert!(!text.contains("PRIVATE KEY"));
}

#[test]
fn sarif_regions_point_at_lines_where_the_evidence_has_one() {
    let (log, _) = sarif(&inputs_in("bundles/fixtures/token-wrong-hash"), None);
    let token = log.runs[0]
        .results
        .iter()
        .find(|r| r.rule_id == "TOKEN001")
        .expect("TOKEN001 on token-wrong-hash");
    assert!(
        token.locations.iter().any(|l| l
            .physical_location
            .region
            .as_ref()
            .is_some_and(|r| r.start_line >= 1)),
        "the token's config line is the region"
    );
}
