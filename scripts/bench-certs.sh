#!/usr/bin/env bash
# Certificate benchmark (docs/benchmark-certs.md): in ONE invocation, time
#   1. an `openssl x509 -noout -enddate` loop over a sample of certificate files (default 2,000),
#      extrapolated to the full count, and
#   2. `harrow certs <node snapshot with COUNT certificate files> -o json > /dev/null` (release
#      build: parse, verify every signature, build the trust graph, render),
# then print the ratio and write bench-out/certs-results.txt.
#
# Environment: COUNT (100000), SAMPLE (2000), OUT (bench-out), TARGET (500, the ratio to reach),
# GEN_ARGS (extra gen-certs arguments, e.g. --tar or --force). Inputs are cached in OUT and
# reused while their parameters match.
set -euo pipefail
cd "$(dirname "$0")/.."

COUNT=${COUNT:-100000}
SAMPLE=${SAMPLE:-2000}
OUT=${OUT:-bench-out}
TARGET=${TARGET:-500}
GEN_ARGS=${GEN_ARGS:-}

command -v openssl >/dev/null || { echo "bench-certs: openssl is needed for the baseline" >&2; exit 2; }

echo "bench-certs: building (release)" >&2
cargo build --release --quiet -p harrow --bin harrow -p harrow-fixtures --bin gen-certs
HARROW=target/release/harrow

# shellcheck disable=SC2086 # GEN_ARGS is a list of flags
input=$(target/release/gen-certs --count "$COUNT" --sample "$SAMPLE" --out "$OUT" $GEN_ARGS)
sample_dir="$OUT/certs-sample"
shopt -s nullglob
sample_files=("$sample_dir"/*.crt)
n_sample=${#sample_files[@]}
[ "$n_sample" -gt 0 ] || { echo "bench-certs: empty sample in $sample_dir" >&2; exit 1; }

now_ns() { date +%s%N; }
load() { cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo "n/a"; }

load_before=$(load)

# 1. Baseline: one openssl process per file, the way the seed documents check expiry.
echo "bench-certs: openssl x509 -noout -enddate over $n_sample files" >&2
t0=$(now_ns)
for f in "${sample_files[@]}"; do
    openssl x509 -noout -enddate -in "$f" >/dev/null
done
t1=$(now_ns)
openssl_s=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", (b - a) / 1e9 }')

# 2. harrow on the whole snapshot.
echo "bench-certs: harrow certs $input -o json" >&2
timefile=$(mktemp)
errfile="$OUT/certs-harrow.stderr"
if [ -x /usr/bin/time ]; then
    /usr/bin/time -f '%e %M' -o "$timefile" "$HARROW" certs "$input" -o json >/dev/null 2>"$errfile"
    read -r harrow_s harrow_rss_kb <"$timefile"
else
    t2=$(now_ns)
    "$HARROW" certs "$input" -o json >/dev/null 2>"$errfile"
    t3=$(now_ns)
    harrow_s=$(awk -v a="$t2" -v b="$t3" 'BEGIN { printf "%.3f", (b - a) / 1e9 }')
    harrow_rss_kb=n/a
fi
rm -f "$timefile"

load_after=$(load)

report=$(awk -v os="$openssl_s" -v n="$n_sample" -v count="$COUNT" -v hs="$harrow_s" \
    -v rss="$harrow_rss_kb" -v target="$TARGET" 'BEGIN {
    per_ms = os * 1000 / n
    extrap = per_ms * count / 1000
    ratio = extrap / hs
    printf "openssl loop:   %d files in %.2f s = %.2f ms/file -> %d files extrapolated: %.0f s\n", n, os, per_ms, count, extrap
    printf "harrow certs:   %d certificate files in %.2f s = %.1f us/file", count, hs, hs * 1e6 / count
    if (rss != "n/a") printf ", peak RSS %.0f MiB", rss / 1024
    printf "\n"
    printf "ratio:          %.0fx (target %dx: %s)\n", ratio, target, (ratio >= target ? "met" : "NOT met")
}')

{
    echo "# harrow certificate benchmark ($(date -u +%Y-%m-%dT%H:%M:%SZ))"
    echo "input:          $input ($COUNT leaf files + CAs; sample $sample_dir)"
    echo "machine:        $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo 2>/dev/null | cut -d: -f2 | sed 's/^ //'), load $load_before -> $load_after"
    echo "openssl:        $(openssl version)"
    echo "harrow:         $HARROW ($(git rev-parse --short HEAD 2>/dev/null || echo '?'))"
    echo "$report"
} | tee "$OUT/certs-results.txt"
