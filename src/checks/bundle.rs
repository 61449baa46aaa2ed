//! Bundle hygiene rules (BUNDLE): incomplete bundles (BUNDLE002) and archive entries refused as
//! unsafe or over a limit (BUNDLE003); facts about the inputs (INPUT001: collection times far
//! apart or estimated, unrecognised inputs, ignored node names). All are raised while the
//! snapshot is built, as notes; this module turns them into findings and verdicts.

use super::rule::{Findings, Need, Rule, Verdict};
use super::{Context, Severity};
use crate::snapshot::{InputKind, NoteKind};

/// Support bundle incomplete.
pub static BUNDLE002: Rule = Rule {
    code: "BUNDLE002",
    severity: Severity::Info,
    title: "support bundle incomplete",
    source: "reference/harvester-bundle.md §1, §3b",
    needs: &[Need::Inputs],
    doc: r#"**What it flags.** A Harvester support bundle that lacks part of what the collector should have
gathered: lines in `bundleGenerationError.log` other than the resources that can never be listed
(`tokenreviews`, `subjectaccessreviews`, `selfsubjectaccessreviews`, `selfsubjectrulesreviews`,
`localsubjectaccessreviews`, `bindings`, CDI `uploadtokenrequests`…), a missing `nodes/` folder (node
collection timed out or was never triggered), node zips that are empty (the collector found an
unknown OS `ID`), and logs cut short.

**Why it matters.** Every rule that needs the missing part becomes not-evaluable; a report on an
incomplete bundle must say what it could not see rather than pass it.

**Evidence.** The bundle's `bundleGenerationError.log` line, or the path of the missing or empty
part.

**Remediation.** Collect a new bundle (raise `support-bundle-node-collection-timeout` when nodes are
late), or add node snapshots (a tar of each node's /etc/rancher and
/var/lib/rancher/rke2) for the nodes that are missing.

**Source.** `reference/harvester-bundle.md` §1 (`bundleGenerationError.log`, missing `nodes/`), §3b
(empty node zips, 10 MiB-capped journal logs).
"#,
    evaluate: bundle002,
};

/// Archive entry refused as unsafe or over a limit.
pub static BUNDLE003: Rule = Rule {
    code: "BUNDLE003",
    severity: Severity::High,
    title: "archive entry refused as unsafe or over a limit",
    source: "spec/product.md, Safety with untrusted archives",
    needs: &[Need::Inputs],
    doc: r#"**What it flags.** An entry of an input that was refused: a path that escapes the
archive's root (`..`), a NUL or drive prefix in a name, an entry whose inflated size, compression
ratio or the run's total passes its limit, too many entries, archives nested too deep, a truncated
archive or a corrupt compressed stream. The finding names the input and the entry; the rest of the
input is still analyzed.

Links are not BUNDLE003: symlinks and hardlinks are normal in node snapshots (`server/node-token →
token`, rke2's absolute `bin` link). They are resolved virtually inside the archive's own tree; a
link whose target leaves the tree is never followed and is only noted in coverage.

**Why it matters.** Bundles come from strangers. A refused entry means the analysis did not see
that file: rules that needed it may be not-evaluable.

**Remediation.** Inspect the entry by hand. If it is legitimate (an unusually large CRD dump, say),
raise the limit the message names with its flag (`--max-entry-bytes`, `--max-ratio`,
`--max-total-bytes`, `--max-entries`, `--max-depth`, `--max-spill-bytes`, `--max-yaml-depth`,
`--max-yaml-aliases`) and rerun.

**Source.** `spec/product.md`, "Safety with untrusted archives".
"#,
    evaluate: bundle003,
};

/// Facts about the inputs worth knowing before trusting the report.
pub static INPUT001: Rule = Rule {
    code: "INPUT001",
    severity: Severity::Info,
    title: "facts about the inputs worth knowing before trusting the report",
    source: "spec/product.md, Inputs and One cluster",
    needs: &[Need::Inputs],
    doc: r#"**What it flags.** Things about the inputs themselves that change how far the report can be
trusted: inputs of one cluster collected more than a day apart (they are still merged: the newer
state of a copied object wins), a collection time that had to be estimated from file times (a plain
`tar czf` snapshot has no `snapshot.yaml`), an input that is neither a support bundle nor a node
snapshot, a node snapshot holding host trees under several prefixes, and a `NAME=PATH` given for a
support bundle (where node names come from the bundle).

**Why it matters.** Time-dependent rules are judged against one reference time; copies collected
far apart can disagree only because the cluster changed between the collections.

**Remediation.** Collect the inputs together, with a `snapshot.yaml` holding the collection time
in each node snapshot (what a node snapshot may carry); name node snapshots with
`NAME=PATH` when the name was guessed. Before/after comparisons of one cluster are a job for a
separate diff, not for one merged analysis.

**Source.** `spec/product.md`, "Inputs" and "One cluster".
"#,
    evaluate: input001,
};

/// One finding per snapshot note of `kind`, with the note's title and evidence; returns how many.
fn from_notes(cx: &Context, out: &mut Findings, kind: NoteKind, remediation: &str) -> usize {
    let mut n = 0;
    for note in cx.snapshot.notes.iter().filter(|n| n.kind == kind) {
        out.add(
            note.node.clone(),
            None,
            note.message.clone(),
            note.evidence.clone(),
            remediation.to_string(),
        )
        .title = note.title.clone();
        n += 1;
    }
    n
}

fn bundle002(cx: &Context, out: &mut Findings) -> Verdict {
    let n = from_notes(
        cx,
        out,
        NoteKind::Incomplete,
        "collect a new bundle (raise support-bundle-node-collection-timeout if nodes are missing), or add node snapshots (a tar of each node's /etc/rancher and /var/lib/rancher/rke2)",
    );
    let has_bundle = cx
        .snapshot
        .inputs
        .iter()
        .any(|i| i.kind == InputKind::HarvesterSupportBundle);
    if n == 0 && !has_bundle {
        return Verdict::not_applicable("no support bundle among the inputs");
    }
    Verdict::judged(format!("{n} finding(s)"), "every input was read in full")
}

fn bundle003(cx: &Context, out: &mut Findings) -> Verdict {
    let n = from_notes(
        cx,
        out,
        NoteKind::Refused,
        "inspect the entry by hand; if it is legitimate, raise the limit named in the message with its flag and rerun",
    );
    // What the ingest passed over without a fault (links leaving the tree, link targets not
    // loaded) is said in this rule's one coverage row.
    let remarks = &cx.snapshot.remarks;
    let passed_over = if remarks.is_empty() {
        String::new()
    } else {
        format!(
            "; {} entr(ies) passed over: {}",
            remarks.len(),
            remarks.join("; ")
        )
    };
    Verdict::judged(
        format!("{n} finding(s){passed_over}"),
        format!("every input was read in full{passed_over}"),
    )
}

fn input001(cx: &Context, out: &mut Findings) -> Verdict {
    let n = from_notes(
        cx,
        out,
        NoteKind::InputFact,
        "weigh time-dependent judgements with this in mind; collect the inputs together, and name node snapshots with NAME=PATH where the name was guessed",
    );
    Verdict::judged(
        format!("{n} finding(s)"),
        "collection times and inputs are consistent",
    )
}
