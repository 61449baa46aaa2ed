//! Certificate inventory renderers: the JSON `certificates` array (shared with `analyze -o
//! json`), and the table / csv of `harrow certs`, one row per occurrence, extending
//! `rke2 certificate check -o table` across nodes.

use crate::model::certs::{CertEntry, Fp, Inventory, JudgeAt};
use crate::timefmt::rfc3339;

/// One certificate as the JSON contract names its fields. Fields are declared in
/// alphabetical order: the same bytes as the `serde_json::Value` form of older releases.
#[derive(serde::Serialize)]
struct CertJson<'a> {
    chain_status: &'static str,
    component_self_signed: bool,
    fingerprint_sha256: &'a str,
    in_use: &'static str,
    is_ca: bool,
    issuer: &'a str,
    issuer_fingerprint: Option<&'a str>,
    issuer_fingerprints: &'a [Fp],
    key_algorithm: &'a str,
    key_bits: Option<u32>,
    locations: LocationsJson<'a>,
    not_after: String,
    not_before: String,
    owner: &'static str,
    residual_seconds: i64,
    sans: Vec<String>,
    serial: String,
    signature_algorithm: &'a str,
    status: &'static str,
    subject: &'a str,
    usages: Vec<&'static str>,
}

/// A certificate's locations, serialised one at a time (a CA carried by 40,000 files would
/// otherwise build a 40,000-element vector first).
struct LocationsJson<'a>(&'a [crate::model::certs::Location]);

impl serde::Serialize for LocationsJson<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0.iter().map(|l| LocationJson {
            host_path: l.host_path.as_deref(),
            in_use: l.in_use.as_str(),
            index: l.index,
            node: l.node.as_deref(),
            path: &l.path,
            source: &l.source,
        }))
    }
}

#[derive(serde::Serialize)]
struct LocationJson<'a> {
    host_path: Option<&'a str>,
    in_use: &'static str,
    index: usize,
    node: Option<&'a str>,
    path: &'a str,
    source: &'a str,
}

impl<'a> CertJson<'a> {
    fn new(e: &'a CertEntry, inv: &Inventory, when: JudgeAt) -> Self {
        let c = &e.cert;
        let mut usages: Vec<&str> = c.usages().iter().map(|u| u.as_str()).collect();
        usages.sort();
        let mut sans = c.sans();
        sans.sort();
        CertJson {
            chain_status: inv.chain_at(e, when.at).as_str(),
            component_self_signed: e.component_self_signed,
            fingerprint_sha256: c.fingerprint_sha256(),
            in_use: e.in_use.as_str(),
            is_ca: c.is_ca,
            issuer: c.issuer(),
            issuer_fingerprint: e.issuers.first().map(Fp::as_str),
            issuer_fingerprints: &e.issuers,
            key_algorithm: c.key_algorithm.as_str(),
            key_bits: c.key_bits,
            locations: LocationsJson(&e.locations),
            not_after: rfc3339(c.not_after),
            not_before: rfc3339(c.not_before),
            owner: e.owner.as_str(),
            residual_seconds: e.residual_at(when.at),
            sans,
            serial: c.serial(),
            signature_algorithm: c.signature_algorithm(),
            status: e.status_at(when.at, when.window_days).as_str(),
            subject: c.subject(),
            usages,
        }
    }
}

/// The `certificates` array serialised lazily, one certificate at a time, so that a large
/// inventory is never held as one JSON tree (the analyze document embeds it this way).
pub struct CertificatesJson<'a>(pub &'a Inventory, pub JudgeAt);

impl serde::Serialize for CertificatesJson<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(
            self.0
                .certs
                .values()
                .map(|e| CertJson::new(e, self.0, self.1)),
        )
    }
}

/// Write the `certificates` array, pretty-printed and newline-terminated, to `w` (the same bytes
/// as [`CertificatesJson`] through `serde_json::to_writer_pretty`). Large inventories are
/// rendered in chunks on every core and written in order; no JSON tree is built.
pub fn write_certificates_json(
    inv: &Inventory,
    when: JudgeAt,
    w: &mut dyn std::io::Write,
) -> std::io::Result<()> {
    if inv.certs.is_empty() {
        return w.write_all(b"[]\n");
    }
    w.write_all(b"[")?;
    let pieces = pieces(inv);
    let helpers = std::thread::available_parallelism().map_or(1, |n| n.get()) - 1;
    let ahead = Ahead {
        pieces: &pieces,
        claimed: pieces
            .iter()
            .map(|p| std::sync::atomic::AtomicBool::new(matches!(p, Piece::Heavy(_))))
            .collect(),
        next: std::sync::atomic::AtomicUsize::new(0),
        state: std::sync::Mutex::new(AheadState {
            done: pieces.iter().map(|_| None).collect(),
            written: 0,
        }),
        changed: std::sync::Condvar::new(),
        ctx: (inv, when),
    };
    std::thread::scope(|s| {
        for _ in 0..helpers {
            s.spawn(|| ahead.help());
        }
        let result = ahead.write_in_order(w);
        // Whatever happened, let the helpers go.
        ahead.finish();
        result
    })?;
    w.write_all(b"\n]\n")
}

/// Pieces rendered at most this far ahead of the one being written: enough buffers (under
/// 4 MiB) to keep the helpers busy while the writer renders a heavy piece itself (128 made the
/// output no faster on 100,000 certificates and held 11 MiB more).
const LOOKAHEAD: usize = 32;

/// The pieces of the `certificates` array, rendered ahead into buffers by helper threads while
/// the caller writes them in order; the caller renders a heavy piece, or a chunk no helper has
/// claimed, straight into the output.
struct Ahead<'a> {
    pieces: &'a [Piece<'a>],
    /// Whether a piece is taken (heavy pieces always are: the writer renders them).
    claimed: Vec<std::sync::atomic::AtomicBool>,
    /// The next piece a helper looks at.
    next: std::sync::atomic::AtomicUsize,
    state: std::sync::Mutex<AheadState>,
    changed: std::sync::Condvar,
    ctx: (&'a Inventory, JudgeAt),
}

struct AheadState {
    /// A helper's rendering of each piece, once done.
    done: Vec<Option<serde_json::Result<Vec<u8>>>>,
    /// How many pieces the writer has written (`usize::MAX` once it stopped).
    written: usize,
}

impl Ahead<'_> {
    fn lock(&self) -> std::sync::MutexGuard<'_, AheadState> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn wait<'g>(
        &self,
        g: std::sync::MutexGuard<'g, AheadState>,
    ) -> std::sync::MutexGuard<'g, AheadState> {
        self.changed
            .wait(g)
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn elements(&self, i: usize, out: &mut dyn std::io::Write) -> serde_json::Result<()> {
        let entries: &[&CertEntry] = match &self.pieces[i] {
            Piece::Chunk(c) => c,
            Piece::Heavy(e) => std::slice::from_ref(e),
        };
        render_elements(entries, i == 0, self.ctx, out)
    }

    /// A helper thread: claim the next chunks in order, at most [`LOOKAHEAD`] ahead of the
    /// writer, and render each into a buffer.
    fn help(&self) {
        use std::sync::atomic::Ordering;
        loop {
            let i = self.next.fetch_add(1, Ordering::Relaxed);
            if i >= self.pieces.len() {
                return;
            }
            let mut g = self.lock();
            while g.written != usize::MAX && i >= g.written + LOOKAHEAD {
                g = self.wait(g);
            }
            if g.written == usize::MAX {
                return;
            }
            drop(g);
            if self.claimed[i].swap(true, Ordering::AcqRel) {
                continue;
            }
            let mut buf = Vec::with_capacity(CHUNK_BYTES);
            let rendered = self.elements(i, &mut buf).map(|()| buf);
            self.lock().done[i] = Some(rendered);
            self.changed.notify_all();
        }
    }

    /// The caller's thread: every piece in order, from a helper's buffer or rendered here.
    fn write_in_order(&self, w: &mut dyn std::io::Write) -> std::io::Result<()> {
        use std::sync::atomic::Ordering;
        for i in 0..self.pieces.len() {
            let heavy = matches!(self.pieces[i], Piece::Heavy(_));
            if heavy || !self.claimed[i].swap(true, Ordering::AcqRel) {
                self.elements(i, w).map_err(std::io::Error::other)?;
            } else {
                let mut g = self.lock();
                let buf = loop {
                    if let Some(b) = g.done[i].take() {
                        break b;
                    }
                    g = self.wait(g);
                };
                drop(g);
                w.write_all(&buf.map_err(std::io::Error::other)?)?;
            }
            self.lock().written = i + 1;
            self.changed.notify_all();
        }
        Ok(())
    }

    fn finish(&self) {
        self.lock().written = usize::MAX;
        self.changed.notify_all();
    }
}

/// Write `entries` as pretty-printed array elements, each as `,\n  {…}` with the nesting of an
/// array member (the array's very first element without the comma).
fn render_elements(
    entries: &[&CertEntry],
    first_of_all: bool,
    ctx: (&Inventory, JudgeAt),
    out: &mut dyn std::io::Write,
) -> serde_json::Result<()> {
    use serde::Serialize as _;
    use serde_json::ser::{Formatter as _, PrettyFormatter};
    let (inv, when) = ctx;
    for (i, e) in entries.iter().enumerate() {
        let sep: &[u8] = if first_of_all && i == 0 {
            b"\n  "
        } else {
            b",\n  "
        };
        out.write_all(sep).map_err(serde_json::Error::io)?;
        let mut f = PrettyFormatter::new();
        // One level in, as inside the top-level array.
        f.begin_array(&mut std::io::sink())
            .map_err(serde_json::Error::io)?;
        let mut ser = serde_json::Serializer::with_formatter(&mut *out, f);
        CertJson::new(e, inv, when).serialize(&mut ser)?;
    }
    Ok(())
}

/// Work units of the parallel JSON rendering: a chunk holds about [`CHUNK_WEIGHT`] locations
/// (a certificate weighs one plus its locations), so a buffer stays under [`CHUNK_BYTES`] and
/// the allocator serves it from memory already in use rather than a fresh mapping; a
/// certificate heavier than that on its own (a CA carried by thousands of files) is written
/// straight to the output instead of into a buffer.
const CHUNK_WEIGHT: usize = 64;

/// A chunk's buffer, allocated at once (below glibc's 128 KiB mmap threshold).
const CHUNK_BYTES: usize = 120 << 10;

enum Piece<'a> {
    Chunk(Vec<&'a CertEntry>),
    Heavy(&'a CertEntry),
}

fn pieces(inv: &Inventory) -> Vec<Piece<'_>> {
    let mut out = Vec::new();
    let mut chunk = Vec::new();
    let mut weight = 0;
    for e in inv.certs.values() {
        let w = 1 + e.locations.len();
        if w >= CHUNK_WEIGHT {
            if !chunk.is_empty() {
                out.push(Piece::Chunk(std::mem::take(&mut chunk)));
                weight = 0;
            }
            out.push(Piece::Heavy(e));
            continue;
        }
        if weight + w > CHUNK_WEIGHT && !chunk.is_empty() {
            out.push(Piece::Chunk(std::mem::take(&mut chunk)));
            weight = 0;
        }
        chunk.push(e);
        weight += w;
    }
    if !chunk.is_empty() {
        out.push(Piece::Chunk(chunk));
    }
    out
}

/// A residual time the way a person reads it: `8y 11m`, `335d`, `5h`, `-3d` when past.
pub fn residual(secs: i64) -> String {
    let sign = if secs < 0 { "-" } else { "" };
    let s = secs.unsigned_abs();
    let day = 86_400;
    if s >= 365 * day {
        let y = s / (365 * day);
        let m = (s % (365 * day)) / (30 * day);
        format!("{sign}{y}y {m}m")
    } else if s >= day {
        format!("{sign}{}d", s / day)
    } else if s >= 3600 {
        format!("{sign}{}h", s / 3600)
    } else {
        format!("{sign}{}m", s / 60)
    }
}

/// A bundle object location (`…/v1/configmaps.yaml#ns/name/key`) as `configmaps:ns/name/key`.
fn object_label(path: &str) -> String {
    match path.split_once('#') {
        Some((file, obj)) => {
            let plural = file
                .rsplit('/')
                .next()
                .unwrap_or(file)
                .trim_end_matches(".yaml");
            format!("{plural}:{obj}")
        }
        None => path.to_string(),
    }
}

/// One row per occurrence.
pub fn rows(inv: &Inventory, when: JudgeAt) -> Vec<[String; 10]> {
    let mut rows = Vec::new();
    for e in inv.certs.values() {
        let c = &e.cert;
        let issuer = if e.chain == crate::pki::ChainStatus::SelfSigned {
            "(self)".to_string()
        } else {
            c.issuer_cn()
                .map(str::to_string)
                .unwrap_or_else(|| c.issuer().to_string())
        };
        for l in &e.locations {
            let file = l
                .host_path
                .as_deref()
                .map_or_else(|| object_label(&l.path), str::to_string);
            let file = crate::layout::short_path(&file).to_string();
            let file = if l.index > 0 {
                format!("{file}[{}]", l.index)
            } else {
                file
            };
            rows.push([
                l.node.as_deref().unwrap_or("-").to_string(),
                file,
                c.subject_cn()
                    .map(str::to_string)
                    .unwrap_or_else(|| c.subject().to_string()),
                issuer.clone(),
                c.usage_strings().join(","),
                c.not_after
                    .format(time::macros::format_description!(
                        "[year]-[month]-[day] [hour]:[minute]"
                    ))
                    .unwrap_or_default(),
                residual(e.residual_at(when.at)),
                e.status_at(when.at, when.window_days).as_str().to_string(),
                inv.chain_at(e, when.at).as_str().to_string(),
                c.fingerprint_sha256().get(..16).unwrap_or("").to_string(),
            ]);
        }
    }
    rows.sort();
    rows
}

const HEADER: [&str; 10] = [
    "NODE",
    "FILE",
    "SUBJECT",
    "ISSUER",
    "USAGES",
    "EXPIRES",
    "RESIDUAL",
    "STATUS",
    "CHAIN",
    "FINGERPRINT",
];

/// Aligned table.
pub fn table(inv: &Inventory, when: JudgeAt) -> String {
    let rows = rows(inv, when);
    let mut width = HEADER.map(|h| h.chars().count());
    for r in &rows {
        for (w, c) in width.iter_mut().zip(r.iter()) {
            *w = (*w).max(c.chars().count());
        }
    }
    let mut out = String::new();
    let line = |cells: Vec<&str>, out: &mut String| {
        let mut s = String::new();
        for (i, c) in cells.iter().enumerate() {
            if i + 1 == cells.len() {
                s.push_str(c);
            } else {
                s.push_str(c);
                s.push_str(&" ".repeat(width[i] - c.chars().count() + 2));
            }
        }
        out.push_str(s.trim_end());
        out.push('\n');
    };
    line(HEADER.to_vec(), &mut out);
    for r in &rows {
        line(r.iter().map(|s| s.as_str()).collect(), &mut out);
    }
    out
}

/// RFC 4180 csv.
pub fn csv(inv: &Inventory, when: JudgeAt) -> String {
    let header = HEADER.map(|h| h.to_ascii_lowercase());
    let header: Vec<&str> = header.iter().map(String::as_str).collect();
    let rows: Vec<Vec<String>> = rows(inv, when).into_iter().map(Vec::from).collect();
    super::tabular::csv(&header, &rows)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::certs::Location;
    use crate::model::inventory::{InUse, Owner};
    use std::sync::Arc;

    /// An inventory of `n` entries (one real certificate under `n` fingerprints, each with a
    /// location; the entries in `heavy` with more locations than a chunk holds, like a CA
    /// carried by thousands of files).
    fn inventory(n: usize, heavy: &[usize]) -> Inventory {
        let key = rcgen::KeyPair::generate().unwrap();
        let params = rcgen::CertificateParams::new(vec!["a.example".to_string()]).unwrap();
        let pem = params.self_signed(&key).unwrap().pem();
        let cert = crate::pki::parse_certs(pem.as_bytes()).unwrap().remove(0);
        let mut inv = Inventory::default();
        for i in 0..n {
            let node: Arc<str> = Arc::from(format!("n{}", i % 3));
            let cert = Arc::new(cert.with_fingerprint(&format!("{i:064x}")));
            inv.certs.insert(
                Fp::new(Arc::clone(&cert)),
                CertEntry {
                    issuers: vec![Fp::new(Arc::clone(&cert))],
                    cert,
                    chain: crate::pki::ChainStatus::SelfSigned,
                    in_use: InUse::Live,
                    owner: Owner::Unknown,
                    component_self_signed: false,
                    locations: (0..if heavy.contains(&i) {
                        CHUNK_WEIGHT + 3
                    } else {
                        1
                    })
                        .map(|j| Location {
                            node: Some(Arc::clone(&node)),
                            source: Arc::from("n.tgz"),
                            path: Arc::from(format!("tls/{i}-{j}.crt")),
                            host_path: None,
                            index: 0,
                            in_use: InUse::Live,
                        })
                        .collect(),
                },
            );
        }
        inv
    }

    #[test]
    fn chunked_parallel_json_is_byte_identical_to_one_pass() {
        // 0, 1, exactly one chunk, several batches of chunks on every core, and certificates
        // written straight to the output (first, between chunks, last, side by side).
        let cases: [(usize, &[usize]); 8] = [
            (0, &[]),
            (1, &[]),
            (CHUNK_WEIGHT, &[]),
            (5000, &[]),
            (9000, &[]),
            (1, &[0]),
            (3000, &[0, 1, 1500, 2999]),
            (40, &[7, 8, 39]),
        ];
        for (n, heavy) in cases {
            let inv = inventory(n, heavy);
            let mut fast = Vec::new();
            let when = JudgeAt {
                at: time::OffsetDateTime::UNIX_EPOCH + time::Duration::seconds(n as i64),
                window_days: 90,
            };
            write_certificates_json(&inv, when, &mut fast).unwrap();
            let mut plain = serde_json::to_vec_pretty(&CertificatesJson(&inv, when)).unwrap();
            plain.push(b'\n');
            assert_eq!(
                String::from_utf8(fast).unwrap(),
                String::from_utf8(plain).unwrap(),
                "{n} certificates, heavy {heavy:?}"
            );
        }
    }

    #[test]
    fn residual_reads_like_a_person_would_say_it() {
        assert_eq!(residual(30 * 86_400), "30d");
        assert_eq!(residual(-3 * 86_400), "-3d");
        assert_eq!(residual(5 * 3600 + 12), "5h");
        assert_eq!(residual(9 * 365 * 86_400 - 30 * 86_400), "8y 11m");
        assert_eq!(residual(59), "0m");
    }
}
