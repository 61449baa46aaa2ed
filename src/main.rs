//! The `harrow` binary: parse arguments, call the library, map the outcome to an exit code.

// The library forbids `unsafe`; the binary allows exactly one call, the allocator setting below.
#![deny(unsafe_code)]

fn main() {
    fixed_mmap_threshold();
    let code = harrow::cli::main_with_args(std::env::args_os());
    std::process::exit(code);
}

/// Keep glibc's mmap threshold at its 128 KiB default. Left dynamic, glibc raises it to the size
/// of every large buffer freed (inflate windows, JSON chunks, grown vectors), after which large
/// allocations come from the heaps and fragment them: `harrow certs` over 100,000 certificates
/// peaks about 23 MiB higher (docs/performance.md).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn fixed_mmap_threshold() {
    // SAFETY: `mallopt` only changes the allocator's parameters; it is called first thing in
    // `main`, before any other thread exists, with a valid parameter and value.
    #[allow(unsafe_code)]
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 128 * 1024);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn fixed_mmap_threshold() {}
