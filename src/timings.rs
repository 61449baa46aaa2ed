//! Stage timings for performance work: with `HARROW_TIMINGS=1` in the environment, each stage
//! of a run prints its wall time to standard error (`harrow timings: <stage> <ms> ms`), followed
//! on Linux by the process's resident and peak resident memory at its end (`rss <MiB> peak
//! <MiB>`). Off by default; never touches standard output, so reports stay byte-identical.

use std::sync::OnceLock;
use std::time::Instant;

fn enabled() -> bool {
    static ON: OnceLock<bool> = OnceLock::new();
    *ON.get_or_init(|| {
        std::env::var_os("HARROW_TIMINGS").is_some_and(|v| !v.is_empty() && v != "0")
    })
}

/// Times the stage it names until dropped.
pub struct Stage {
    name: &'static str,
    start: Option<Instant>,
}

/// Start timing `name` (a no-op unless `HARROW_TIMINGS` is set).
pub fn stage(name: &'static str) -> Stage {
    Stage {
        name,
        start: enabled().then(Instant::now),
    }
}

impl Drop for Stage {
    // The stage times are diagnostics asked for with HARROW_TIMINGS, printed where they are taken.
    #[allow(clippy::print_stderr)]
    fn drop(&mut self) {
        if let Some(t) = self.start {
            eprintln!(
                "harrow timings: {} {:.0} ms{}",
                self.name,
                t.elapsed().as_secs_f64() * 1000.0,
                memory()
            );
        }
    }
}

/// ` rss <MiB> peak <MiB>` from `/proc/self/status` (`VmRSS`, `VmHWM`), empty where there is
/// no such file.
fn memory() -> String {
    let Ok(status) = std::fs::read_to_string("/proc/self/status") else {
        return String::new();
    };
    let kib = |key: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(key))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
    };
    match (kib("VmRSS:"), kib("VmHWM:")) {
        (Some(rss), Some(peak)) => format!(" rss {} peak {}", rss / 1024, peak / 1024),
        _ => String::new(),
    }
}
