//! The analysis pipeline: read every input (in parallel, one thread per input), build the
//! snapshot, fix the reference time, judge the snapshot, and hand the result to a renderer.

use std::path::{Path, PathBuf};

use time::{Duration, OffsetDateTime};

use crate::checks::{self, Finding, Judgement};
use crate::error::{Error, Result};
use crate::graph::trust::TrustGraph;
use crate::ingest::{self, Budget, InputTree, Limits};
use crate::model::Model;
use crate::snapshot::{self, AnalysisSelector, Coverage, Snapshot};

/// One input as named on the command line: a path, optionally with a node name (`NAME=PATH`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputSpec {
    pub path: PathBuf,
    pub node: Option<String>,
}

impl InputSpec {
    /// Parse `PATH` or `NAME=PATH`. An argument that exists as a path is always a path, so a file
    /// name containing `=` still works.
    pub fn parse(arg: &str) -> InputSpec {
        if !Path::new(arg).exists()
            && let Some((name, path)) = arg.split_once('=')
            && !name.is_empty()
            && !name.contains('/')
            && !path.is_empty()
        {
            return InputSpec {
                path: PathBuf::from(path),
                node: Some(name.to_string()),
            };
        }
        InputSpec {
            path: PathBuf::from(arg),
            node: None,
        }
    }
}

/// The reference time as asked for with `--at`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum At {
    /// The clock of the machine running harrow.
    Now,
    /// The latest collection time among the inputs.
    Collected,
    /// A fixed instant.
    Fixed(OffsetDateTime),
    /// Now plus an offset (`+30d`).
    Relative(Duration),
}

impl At {
    /// Parse `now`, `collected`, an RFC 3339 instant, or `+N[smhdw]` / `-N[smhdw]`.
    pub fn parse(s: &str) -> Result<At> {
        let s = s.trim();
        match s {
            "now" => return Ok(At::Now),
            "collected" => return Ok(At::Collected),
            _ => {}
        }
        if let Some(t) = crate::timefmt::parse_rfc3339(s) {
            return Ok(At::Fixed(t));
        }
        let (sign, rest) = match s.as_bytes().first() {
            Some(b'+') => (1i64, &s[1..]),
            Some(b'-') => (-1i64, &s[1..]),
            _ => {
                return Err(Error::Usage(format!(
                    "--at {s:?}: expected now, collected, an RFC 3339 time (2027-01-15T02:00:00Z) or +30d"
                )));
            }
        };
        let unit_at = rest.len().saturating_sub(1);
        let (num, unit) = rest.split_at(unit_at);
        let n: i64 = num.parse().map_err(|_| {
            Error::Usage(format!(
                "--at {s:?}: the offset must be a whole number followed by s, m, h, d or w"
            ))
        })?;
        let secs = match unit {
            "s" => 1,
            "m" => 60,
            "h" => 3600,
            "d" => 86_400,
            "w" => 604_800,
            _ => {
                return Err(Error::Usage(format!(
                    "--at {s:?}: unknown unit {unit:?} (use s, m, h, d or w)"
                )));
            }
        };
        n.checked_mul(secs)
            .and_then(|v| v.checked_mul(sign))
            .map(|v| At::Relative(Duration::seconds(v)))
            .ok_or_else(|| Error::Usage(format!("--at {s:?}: offset too large")))
    }

    /// The reference time with `now` as the machine clock, when it does not depend on the inputs
    /// (`None` for [`At::Collected`]). An offset that leaves the years -9999 to 9999 (all that
    /// `time` represents) is a usage error naming it, never an overflow.
    pub fn resolve(&self, now: OffsetDateTime) -> Result<Option<OffsetDateTime>> {
        match *self {
            At::Now => Ok(Some(now)),
            At::Collected => Ok(None),
            At::Fixed(t) => Ok(Some(t)),
            At::Relative(d) => now.checked_add(d).map(Some).ok_or_else(|| {
                Error::Usage(format!(
                    "--at: {} {} {} is outside the years -9999 to 9999 (the range of dates this tool handles)",
                    crate::timefmt::rfc3339(now),
                    if d.is_negative() { "minus" } else { "plus" },
                    offset_words(d)
                ))
            }),
        }
    }

    /// How the reference time was chosen, as printed next to it.
    pub fn label(&self) -> &'static str {
        match self {
            At::Now => "now",
            At::Collected => "collected",
            At::Fixed(_) => "fixed",
            At::Relative(_) => "relative to now",
        }
    }
}

/// An offset in the largest unit that divides it exactly: `99999999 days`, `90 minutes`.
fn offset_words(d: Duration) -> String {
    let secs = d.whole_seconds().unsigned_abs();
    let (n, unit) = [(86_400, "day"), (3600, "hour"), (60, "minute")]
        .into_iter()
        .find(|(u, _)| secs.is_multiple_of(*u))
        .map_or((secs, "second"), |(u, name)| (secs / u, name));
    format!("{n} {unit}{}", if n == 1 { "" } else { "s" })
}

/// Validated options of one analysis.
#[derive(Debug, Clone)]
pub struct Options {
    pub inputs: Vec<InputSpec>,
    pub limits: Limits,
    pub at: At,
    /// True when no input was given and the shipped demo is analyzed.
    pub demo: bool,
    /// Key of keyed fingerprints of secrets (`--fingerprint-key`).
    pub fingerprint_key: Option<crate::pki::secret::FingerprintKey>,
    /// How far the analysis goes: `certs` and `timeline` stop after the inventory, `graph`
    /// after the trust graph and consistency checks; `analyze` runs the rules too.
    pub through: Through,
    /// Namespace globs the KUBE rules exclude besides their built-in system namespaces
    /// (`--workload-namespaces-exclude`); empty by default.
    pub workload_namespaces_exclude: Vec<String>,
}

/// The last stage an analysis runs (later stages cost time on a large node, and a command that
/// does not show their results should not pay for them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Through {
    /// The certificate inventory.
    Inventory,
    /// The trust graph and the consistency checks.
    Graph,
    /// The rules: findings and coverage.
    Rules,
}

/// The result of one analysis, ready to render.
#[derive(Debug)]
pub struct Analysis {
    pub snapshot: Snapshot,
    pub reference_time: OffsetDateTime,
    pub reference_label: &'static str,
    pub renew_window_days: u32,
    pub renew_window_source: String,
    pub findings: Vec<Finding>,
    pub coverage: Vec<Coverage>,
    /// The credential model: every certificate (deduplicated, time-free), key, signing request,
    /// kubeconfig and token of the inputs (only the certificates when the analysis stops at the
    /// inventory).
    pub model: Model,
    /// The trust graph.
    pub graph: TrustGraph,
    /// Copies that should agree and do not.
    pub consistency: crate::graph::consistency::Consistency,
    pub demo: bool,
}

impl Analysis {
    /// The reference time and renew window certificates are judged at.
    pub fn judge_at(&self) -> crate::model::certs::JudgeAt {
        crate::model::certs::JudgeAt {
            at: self.reference_time,
            window_days: self.renew_window_days,
        }
    }

    /// True when every input was unreadable (exit code 2).
    pub fn all_inputs_unreadable(&self) -> bool {
        !self.snapshot.inputs.is_empty()
            && self
                .snapshot
                .inputs
                .iter()
                .all(|i| i.kind == snapshot::InputKind::Unreadable)
    }
}

/// The data the analysis reads: what the registered rules need, and the node files the
/// credential model is built from (`certs`, `graph` and `timeline` show them without rules).
pub fn needs() -> Vec<crate::vocab::Need> {
    let mut v = checks::registry::needs();
    v.extend(crate::model::NEEDS);
    v.sort();
    v.dedup();
    v
}

/// Inputs read at once: one thread each (every input has its own decoding and hashing threads
/// too); more inputs wait for a free reader.
const MAX_READERS: usize = 16;

/// Read every input, one thread per input (at most 16 at once: thousands of node
/// snapshots are read in turn), sharing one byte budget; the snapshot loads what [`needs`] names.
pub fn read_inputs(specs: &[InputSpec], limits: &Limits) -> Vec<InputTree> {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let budget = Budget::new();
    let selector = AnalysisSelector::for_needs(&needs());
    let next = AtomicUsize::new(0);
    let read_one = |spec: &InputSpec| {
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            ingest::read_input(&spec.path, limits, &selector, &budget)
        }))
        .unwrap_or_else(|_| InputTree {
            path: spec.path.display().to_string(),
            name: spec.path.display().to_string(),
            issues: vec![ingest::IngestIssue {
                kind: ingest::IssueKind::Unreadable,
                entry: String::new(),
                message: "internal error while reading this input (a bug)".into(),
            }],
            ..InputTree::default()
        })
    };
    let mut read: Vec<(usize, InputTree)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..specs.len().min(MAX_READERS))
            .map(|_| {
                s.spawn(|| {
                    let mut mine = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(spec) = specs.get(i) else {
                            return mine;
                        };
                        mine.push((i, read_one(spec)));
                    }
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_default())
            .collect()
    });
    read.sort_by_key(|(i, _)| *i);
    read.into_iter().map(|(_, t)| t).collect()
}

/// Run the whole analysis.
pub fn run(opts: &Options) -> Result<Analysis> {
    run_at(opts, OffsetDateTime::now_utc())
}

/// Run the whole analysis with `now` as the machine clock (tests pin it). Fails, before reading
/// anything, only when the reference time is out of range.
pub fn run_at(opts: &Options, now: OffsetDateTime) -> Result<Analysis> {
    let fixed_reference = opts.at.resolve(now)?;
    let trees = {
        let _t = crate::timings::stage("ingest");
        read_inputs(&opts.inputs, &opts.limits)
    };
    let names: Vec<Option<String>> = opts.inputs.iter().map(|s| s.node.clone()).collect();
    let snap = {
        let _t = crate::timings::stage("snapshot");
        snapshot::build(trees.into_iter().zip(names).collect(), &opts.limits)
    };
    let reference_time = fixed_reference.unwrap_or_else(|| snap.latest_collection().unwrap_or(now));
    let (renew_window_days, renew_window_source) =
        checks::gates::renew_window_days(snap.cluster.rke2_version.as_deref());
    let model = if opts.through < Through::Graph {
        crate::model::certificates(&snap)
    } else {
        let _t = crate::timings::stage("model");
        crate::model::build(&snap)
    };
    let (graph, consistency, Judgement { findings, coverage }) = if opts.through < Through::Graph {
        (
            TrustGraph::default(),
            crate::graph::consistency::Consistency::default(),
            Judgement::default(),
        )
    } else {
        let judged = judge_through(
            &snap,
            &model,
            crate::model::certs::JudgeAt {
                at: reference_time,
                window_days: renew_window_days,
            },
            &renew_window_source,
            opts.fingerprint_key.as_ref(),
            opts.through,
            &opts.workload_namespaces_exclude,
        );
        (judged.graph, judged.consistency, judged.judgement)
    };
    Ok(Analysis {
        snapshot: snap,
        reference_time,
        reference_label: opts.at.label(),
        renew_window_days,
        renew_window_source,
        findings,
        coverage,
        model,
        graph,
        consistency,
        demo: opts.demo,
    })
}

/// The views of one model and the rules' judgement of it.
#[derive(Debug)]
pub struct Judged {
    pub graph: TrustGraph,
    pub consistency: crate::graph::consistency::Consistency,
    pub judgement: Judgement,
}

/// Build the views of `model` (trust graph, consistency) and run every rule of the registry on
/// it at `when`: what `analyze` does after building the model, and what a simulator does after
/// each effect ([`crate::model::effect::apply`]).
pub fn judge(
    snap: &Snapshot,
    model: &Model,
    when: crate::model::certs::JudgeAt,
    renew_window_source: &str,
    key: Option<&crate::pki::secret::FingerprintKey>,
) -> Judged {
    judge_through(
        snap,
        model,
        when,
        renew_window_source,
        key,
        Through::Rules,
        &[],
    )
}

fn judge_through(
    snap: &Snapshot,
    model: &Model,
    when: crate::model::certs::JudgeAt,
    renew_window_source: &str,
    key: Option<&crate::pki::secret::FingerprintKey>,
    through: Through,
    workload_exclude: &[String],
) -> Judged {
    let t = crate::timings::stage("graph");
    let graph = crate::graph::trust::build(model);
    drop(t);
    let t = crate::timings::stage("consistency");
    let consistency = crate::graph::consistency::check(snap, model);
    drop(t);
    let judgement = if snap.refused.is_some() || through < Through::Rules {
        Judgement::default()
    } else {
        let _t = crate::timings::stage("checks");
        checks::evaluate(&checks::Context {
            snapshot: snap,
            model,
            graph: &graph,
            consistency: &consistency,
            reference_time: when.at,
            renew_window_days: when.window_days,
            renew_window_source,
            live: Default::default(),
            key,
            workload_exclude,
        })
    };
    Judged {
        graph,
        consistency,
        judgement,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn at_parses_every_form() {
        assert_eq!(At::parse("now"), Ok(At::Now));
        assert_eq!(At::parse("collected"), Ok(At::Collected));
        assert_eq!(At::parse("+30d"), Ok(At::Relative(Duration::days(30))));
        assert_eq!(At::parse("-2h"), Ok(At::Relative(Duration::hours(-2))));
        match At::parse("2027-01-15T02:00:00Z") {
            Ok(At::Fixed(t)) => assert_eq!(t.unix_timestamp(), 1_799_978_400),
            other => panic!("{other:?}"),
        }
        assert!(At::parse("tomorrow").is_err());
        assert!(At::parse("+30y").is_err());
        assert!(At::parse("+99999999999999999d").is_err());
    }

    #[test]
    fn at_far_future_offset_is_a_usage_error_not_a_panic() {
        let now = time::macros::datetime!(2026-05-01 10:00 UTC);
        let far = At::parse("+99999999d").map(|a| a.resolve(now));
        assert_eq!(
            far,
            Ok(Err(Error::Usage(
                "--at: 2026-05-01T10:00:00Z plus 99999999 days is outside the years -9999 to 9999 (the range of dates this tool handles)".into()
            )))
        );
        let past = At::parse("-9999999w").map(|a| a.resolve(now));
        match past {
            Ok(Err(e)) => {
                assert_eq!(e.exit_code(), crate::error::exit::USAGE);
                assert!(e.to_string().contains("minus 69999993 days"), "{e}");
            }
            other => panic!("{other:?}"),
        }
        // The edges that fit still resolve; a run with an unrepresentable offset reads nothing.
        let last = time::macros::datetime!(9999-12-31 23:59:59 UTC);
        let to_last = Duration::seconds((last - now).whole_seconds());
        assert_eq!(At::Relative(to_last).resolve(now), Ok(Some(last)));
        assert!(
            At::Relative(to_last + Duration::seconds(1))
                .resolve(now)
                .is_err()
        );
        assert_eq!(At::Collected.resolve(now), Ok(None));
        let opts = Options {
            inputs: vec![InputSpec::parse("/nonexistent/input.tgz")],
            limits: Limits::default(),
            at: At::Relative(Duration::days(99_999_999)),
            demo: false,
            fingerprint_key: None,
            through: Through::Rules,
            workload_namespaces_exclude: Vec::new(),
        };
        assert!(matches!(run_at(&opts, now), Err(Error::Usage(_))));
    }

    #[test]
    fn offsets_read_in_the_largest_exact_unit() {
        assert_eq!(offset_words(Duration::days(14)), "14 days");
        assert_eq!(offset_words(Duration::hours(-1)), "1 hour");
        assert_eq!(offset_words(Duration::minutes(90)), "90 minutes");
        assert_eq!(offset_words(Duration::seconds(61)), "61 seconds");
    }

    #[test]
    fn input_spec_splits_name_only_when_the_path_does_not_exist() {
        let s = InputSpec::parse("n1=/nonexistent/n1.tgz");
        assert_eq!(s.node.as_deref(), Some("n1"));
        assert_eq!(s.path, PathBuf::from("/nonexistent/n1.tgz"));
        let s = InputSpec::parse("/nonexistent/a=b.tgz");
        assert_eq!(s.node, None);
    }
}
