//! Counters of long work, for the progress display of a terminal session: the ingest adds each
//! entry it walks (and its size when known), the certificate parser each certificate. Plain
//! relaxed atomics, read by the CLI's display thread; nothing here draws or prints.

use std::sync::atomic::{AtomicU64, Ordering};

static ENTRIES: AtomicU64 = AtomicU64::new(0);
static BYTES: AtomicU64 = AtomicU64::new(0);
static CERTS: AtomicU64 = AtomicU64::new(0);

/// One archive or directory entry walked, of `size` bytes when known.
pub fn entry(size: Option<u64>) {
    ENTRIES.fetch_add(1, Ordering::Relaxed);
    if let Some(n) = size {
        BYTES.fetch_add(n, Ordering::Relaxed);
    }
}

/// `n` certificates parsed.
pub fn certs(n: u64) {
    CERTS.fetch_add(n, Ordering::Relaxed);
}

/// (entries, bytes, certificates) so far.
pub fn snapshot() -> (u64, u64, u64) {
    (
        ENTRIES.load(Ordering::Relaxed),
        BYTES.load(Ordering::Relaxed),
        CERTS.load(Ordering::Relaxed),
    )
}
