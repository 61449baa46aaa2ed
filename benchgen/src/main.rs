//! benchgen: writes the large synthetic inputs of harrow's benchmark (`scripts/bench.sh`).
//!
//! ```text
//! benchgen bundle   OUT.zip [--size 1GiB]              synthetic Harvester support bundle
//! benchgen snapshot OUT.tgz [--size 1GiB] [--level 6]  RKE2 node snapshot tarball
//! benchgen certs    DIR     [--count 2000]             PEM certificates, one per file, in
//!                                                      DIR/var/lib/rancher/rke2/server/tls/bench/
//! benchgen inflate  IN.gz                              the benchmark's inflate floor: gunzip
//!                                                      IN.gz with zlib-rs alone, output dropped
//! ```
//!
//! All output is deterministic (fixed seeds). The content mix is documented in
//! `docs/performance.md`; a summary of what was written goes to stdout.

mod bundle;
mod certs;
mod clock;
mod gz;
mod logs;
mod rng;
mod snapshot;
mod yamls;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

const USAGE: &str = "usage:
  benchgen bundle   OUT.zip [--size 1GiB]
  benchgen snapshot OUT.tgz [--size 1GiB] [--level 6]
  benchgen certs    DIR     [--count 2000]
  benchgen inflate  IN.gz
sizes: plain bytes or with a K/M/G/KiB/MiB/GiB suffix (all binary)";

/// Parse `64MiB`, `1GiB`, `512M`, `1048576`.
fn parse_size(s: &str) -> Option<u64> {
    let s = s.trim();
    let digits = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let n: u64 = s[..digits].parse().ok()?;
    let mult = match s[digits..].to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kib" | "kb" => 1 << 10,
        "m" | "mib" | "mb" => 1 << 20,
        "g" | "gib" | "gb" => 1 << 30,
        _ => return None,
    };
    n.checked_mul(mult)
}

struct Args {
    mode: String,
    out: PathBuf,
    size: u64,
    level: u32,
    count: u64,
}

fn parse_args() -> Result<Args, String> {
    let mut it = std::env::args().skip(1);
    let mode = it.next().ok_or("missing mode")?;
    if mode == "-h" || mode == "--help" {
        return Err(String::new());
    }
    let out = PathBuf::from(it.next().ok_or("missing output path")?);
    let mut a = Args {
        mode,
        out,
        size: 1 << 30,
        level: 6,
        count: 2000,
    };
    while let Some(flag) = it.next() {
        let value = it.next().ok_or_else(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--size" => a.size = parse_size(&value).ok_or_else(|| format!("bad size {value}"))?,
            "--level" => {
                a.level = value
                    .parse()
                    .ok()
                    .filter(|l| (1..=9).contains(l))
                    .ok_or("--level is 1..9")?
            }
            "--count" => a.count = value.parse().map_err(|_| format!("bad count {value}"))?,
            _ => return Err(format!("unknown flag {flag}")),
        }
    }
    Ok(a)
}

fn mib(b: u64) -> f64 {
    b as f64 / f64::from(1 << 20)
}

fn run(a: &Args) -> Result<(), Box<dyn std::error::Error>> {
    let start = Instant::now();
    match a.mode.as_str() {
        "bundle" => {
            let s = bundle::write_bundle(&a.out, a.size)?;
            println!("bundle: {}", a.out.display());
            println!("  total size           {:>10.1} MiB", mib(s.total_bytes));
            println!(
                "  pod logs             {:>10.1} MiB compressed ({:.1}% of the zip), {:.1} MiB uncompressed, {} entries, ratio {:.1}:1",
                mib(s.pod_log_compressed),
                100.0 * s.pod_log_compressed as f64 / s.total_bytes as f64,
                mib(s.pod_log_uncompressed),
                s.pod_log_entries,
                s.pod_log_uncompressed as f64 / s.pod_log_compressed.max(1) as f64
            );
            for (name, (n, c, u)) in &s.pod_logs {
                println!(
                    "    {name:<12} x{n:<5} {:>10.1} MiB compressed {:>10.1} MiB uncompressed",
                    mib(*c),
                    mib(*u)
                );
            }
            println!("  virt-launcher pods   {:>10}", s.vm_pods);
            println!(
                "  node zips (5)        {:>10.1} MiB ({:.1} MiB of logs uncompressed)",
                mib(s.node_zip_bytes),
                mib(s.node_log_uncompressed)
            );
            println!(
                "  yamls                {:>10.1} MiB uncompressed, {} files",
                mib(s.yaml_uncompressed),
                s.yaml_files
            );
        }
        "snapshot" => {
            let s = snapshot::write_snapshot(&a.out, a.size, a.level)?;
            let total = std::fs::metadata(&a.out)?.len();
            println!("snapshot: {} (gzip level {})", a.out.display(), a.level);
            println!("  total size           {:>10.1} MiB", mib(total));
            println!(
                "  layer blobs          {:>10.1} MiB in {} files (pseudo-random)",
                mib(s.layer_bytes),
                s.layer_blobs
            );
            println!(
                "  manifest blobs       {:>10.1} KiB in {} files (JSON)",
                s.json_bytes as f64 / 1024.0,
                s.json_blobs
            );
            println!(
                "  pki/configs/tokens   {:>10.1} KiB in {} files (+1 symlink)",
                s.other_bytes as f64 / 1024.0,
                s.other_files
            );
        }
        "certs" => {
            certs::write_cert_dir(&a.out, a.count)?;
            println!(
                "certs: {} PEM files in {}",
                a.count,
                a.out.join(certs::CERT_SUBDIR).display()
            );
        }
        "inflate" => {
            let n = inflate(&a.out)?;
            println!(
                "inflate: {} -> {:.1} MiB in {:.2} s",
                a.out.display(),
                mib(n),
                start.elapsed().as_secs_f64()
            );
            return Ok(());
        }
        other => return Err(format!("unknown mode {other}\n{USAGE}").into()),
    }
    println!("  generated in {:.1} s", start.elapsed().as_secs_f64());
    Ok(())
}

/// Inflate a gzip file (every member) with zlib-rs into a reused buffer and drop the bytes: the
/// least work any reader of a `.tgz` must do, and the floor the benchmark compares harrow with.
fn inflate(path: &std::path::Path) -> std::io::Result<u64> {
    use std::io::Read;
    let file = std::io::BufReader::with_capacity(1 << 18, std::fs::File::open(path)?);
    let mut gz = flate2::read::MultiGzDecoder::new(file);
    let mut buf = vec![0u8; 1 << 18];
    let mut total = 0u64;
    loop {
        match gz.read(&mut buf)? {
            0 => return Ok(total),
            n => total += n as u64,
        }
    }
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            if e.is_empty() {
                println!("{USAGE}");
                return ExitCode::SUCCESS;
            }
            eprintln!("benchgen: {e}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("benchgen: {e}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::parse_size;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("1GiB"), Some(1 << 30));
        assert_eq!(parse_size("64MiB"), Some(64 << 20));
        assert_eq!(parse_size("512M"), Some(512 << 20));
        assert_eq!(parse_size("1000"), Some(1000));
        assert_eq!(parse_size("1TB"), None);
    }
}
