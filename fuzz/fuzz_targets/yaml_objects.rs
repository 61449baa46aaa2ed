//! Fuzz target: the budgeted YAML parser that reads a bundle's Kubernetes object lists, with the
//! default depth and alias budgets. Must never panic.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = harrow::snapshot::yaml::parse_here(data, &harrow::ingest::Limits::default());
});
