//! Fuzz target: the runbook loader (YAML, validation, templates). Must never panic.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = harrow::runbook::load_str("fuzz.yaml", text, &[]);
    }
});
