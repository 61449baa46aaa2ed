#!/usr/bin/env bash
# Certificate benchmark (docs/benchmark-certs.md): in ONE invocation, time
#   1. an `openssl x509 -noout -enddate` loop over a sample of certificate files (default 2,000),
#      extrapolated to the full count, and
#   2. `harrow certs <node snapshot with COUNT certificate files> -o json > /dev/null` (release
#      build: parse every file, verify every signature, chain status, render the inventory), and
#   3. `harrow graph <same input> -o json > /dev/null` (all of that plus the trust graph and its
#      export: the "parses, verifies and graphs" of the target),
# then print both ratios and write bench-out/certs-results.txt.
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

# 2. and 3. harrow on the whole snapshot: the inventory, then the trust graph.
timefile=$(mktemp)
# run_harrow SUBCOMMAND: sets harrow_s and harrow_rss_kb.
run_harrow() {
    local errfile="$OUT/certs-harrow-$1.stderr"
    echo "bench-certs: harrow $1 $input -o json" >&2
    if [ -x /usr/bin/time ]; then
        /usr/bin/time -f '%e %M' -o "$timefile" "$HARROW" "$1" "$input" -o json >/dev/null 2>"$errfile"
        read -r harrow_s harrow_rss_kb <"$timefile"
    else
        local t2 t3
        t2=$(now_ns)
        "$HARROW" "$1" "$input" -o json >/dev/null 2>"$errfile"
        t3=$(now_ns)
        harrow_s=$(awk -v a="$t2" -v b="$t3" 'BEGIN { printf "%.3f", (b - a) / 1e9 }')
        harrow_rss_kb=n/a
    fi
}
run_harrow certs
certs_s=$harrow_s
certs_rss_kb=$harrow_rss_kb
run_harrow graph
graph_s=$harrow_s
graph_rss_kb=$harrow_rss_kb
rm -f "$timefile"

load_after=$(load)

report=$(awk -v os="$openssl_s" -v n="$n_sample" -v count="$COUNT" -v target="$TARGET" \
    -v cs="$certs_s" -v crss="$certs_rss_kb" -v gs="$graph_s" -v grss="$graph_rss_kb" '
function line(name, s, rss, extrap,    ratio) {
    ratio = extrap / s
    printf "%-15s %d certificate files in %.2f s = %.1f us/file", name ":", count, s, s * 1e6 / count
    if (rss != "n/a") printf ", peak RSS %.0f MiB", rss / 1024
    printf "; ratio %.0fx (target %dx: %s)\n", ratio, target, (ratio >= target ? "met" : "NOT met")
}
BEGIN {
    per_ms = os * 1000 / n
    extrap = per_ms * count / 1000
    printf "openssl loop:   %d files in %.2f s = %.2f ms/file -> %d files extrapolated: %.0f s\n", n, os, per_ms, count, extrap
    line("harrow certs", cs, crss, extrap)
    line("harrow graph", gs, grss, extrap)
}')

{
    echo "# harrow certificate benchmark ($(date -u +%Y-%m-%dT%H:%M:%SZ))"
    echo "input:          $input ($COUNT leaf files + CAs; sample $sample_dir)"
    echo "machine:        $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo 2>/dev/null | cut -d: -f2 | sed 's/^ //'), load $load_before -> $load_after"
    echo "openssl:        $(openssl version)"
    echo "harrow:         $HARROW ($(git rev-parse --short HEAD 2>/dev/null || echo '?'))"
    echo "$report"
} | tee "$OUT/certs-results.txt"
