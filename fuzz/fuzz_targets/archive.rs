//! Fuzz target: a whole input (zip, tar, tar.gz, tar.xz, nested archives) through the ingest,
//! with the analysis selector and small limits. Must never panic.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let path = std::env::temp_dir().join(format!("harrow-fuzz-{}.bin", std::process::id()));
    if std::fs::write(&path, data).is_err() {
        return;
    }
    let limits = harrow::ingest::Limits {
        max_total_bytes: 64 << 20,
        max_entry_bytes: 16 << 20,
        ..harrow::ingest::Limits::default()
    };
    let spec = harrow::analyze::InputSpec::parse(&path.display().to_string());
    let _ = harrow::analyze::read_inputs(&[spec], &limits);
});
