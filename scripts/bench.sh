#!/usr/bin/env bash
# harrow benchmark: harrow's wall time and peak RSS next to baselines run in the same invocation.
#
#   scripts/bench.sh            1 GiB bundle, 1 GiB snapshot, 2,000-cert openssl sample
#   scripts/bench.sh --quick    64 MiB variants (smoke test, ~1 min)
#
# Options: --size SIZE (bundle and snapshot size, e.g. 512MiB), --sample N (openssl sample, 2000),
#          --certs N (harrow certs set, 100000), --timeout S (per measured command, 1800).
# Inputs go to bench-out/ (gitignored) and are reused while their size and the generator source
# are unchanged. Results: a table on stdout and in bench-out/results.txt (results-quick.txt with
# --quick). Needs: cargo, unzip, gzip, openssl, timeout (coreutils), and ideally GNU time
# (`apt-get install time`; BENCH_TIME_BIN overrides /usr/bin/time) for peak RSS; without it, wall
# time only (bash TIMEFORMAT). See docs/benchmark.md.
set -euo pipefail

cd "$(dirname "$0")/.."

QUICK=0
SIZE=1GiB
SAMPLE=2000
CERTS_FULL=100000
TIMEOUT=1800
BUILD_TIMEOUT=3600
AT=2026-11-20T00:00:00Z

while [ $# -gt 0 ]; do
    case "$1" in
        --quick) QUICK=1; SIZE=64MiB; SAMPLE=200; TIMEOUT=300 ;;
        --size) SIZE=$2; shift ;;
        --sample) SAMPLE=$2; shift ;;
        --certs) CERTS_FULL=$2; shift ;;
        --timeout) TIMEOUT=$2; shift ;;
        -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
        *) echo "bench.sh: unknown argument $1" >&2; exit 2 ;;
    esac
    shift
done

OUT=bench-out
if [ "$QUICK" = 1 ]; then
    OUT=bench-out/quick
    RESULTS=bench-out/results-quick.txt
else
    RESULTS=bench-out/results.txt
fi
mkdir -p "$OUT"
BUNDLE=$OUT/bundle.zip
SNAPSHOT=$OUT/snapshot.tgz
CERTS_SAMPLE=$OUT/certs-sample
CERTS_BIG=$OUT/certs-full
HARROW=target/release/harrow
BENCHGEN=target/release/benchgen
CERT_SUBDIR=var/lib/rancher/rke2/server/tls/bench

for tool in cargo unzip gzip openssl timeout; do
    command -v "$tool" >/dev/null || { echo "bench.sh: $tool is required" >&2; exit 2; }
done
GNU_TIME=""
TIME_BIN=${BENCH_TIME_BIN:-/usr/bin/time}
if [ -x "$TIME_BIN" ] && "$TIME_BIN" -f '%e %M' true 2>/dev/null; then
    GNU_TIME=$TIME_BIN
else
    echo "bench.sh: GNU time not found (Debian/Ubuntu: apt-get install time); peak RSS will read n/a" >&2
fi

echo "== build (cargo build --release --workspace)" >&2
timeout "$BUILD_TIMEOUT" cargo build --release --quiet --workspace >&2 ||
    { echo "bench.sh: release build failed or exceeded ${BUILD_TIMEOUT}s" >&2; exit 1; }

# ---- inputs ---------------------------------------------------------------------------------
# The stamp ties a generated file to its size and to the generator's source; a change of either
# regenerates it.
gen_stamp() {
    local src
    src=$(cat benchgen/Cargo.toml benchgen/src/*.rs | cksum | cut -d' ' -f1)
    echo "$1 size=$2 benchgen=$src"
}
generate() { # generate MODE FILE SIZE
    local mode=$1 file=$2 size=$3 stamp
    stamp=$(gen_stamp "$mode" "$size")
    if [ -s "$file" ] && [ -f "$file.stamp" ] && [ "$(cat "$file.stamp")" = "$stamp" ]; then
        echo "== reuse $file ($size)" >&2
        return
    fi
    echo "== generate $file ($size)" >&2
    rm -f "$file" "$file.stamp"
    timeout "$TIMEOUT" "$BENCHGEN" "$mode" "$file" --size "$size" | tee "$file.summary" >&2
    echo "$stamp" >"$file.stamp"
}
generate_certs() { # generate_certs DIR COUNT
    local dir=$1 count=$2 stamp
    stamp=$(gen_stamp certs "$count")
    if [ -f "$dir.stamp" ] && [ "$(cat "$dir.stamp")" = "$stamp" ]; then
        echo "== reuse $dir ($count certs)" >&2
        return
    fi
    echo "== generate $dir ($count certs)" >&2
    rm -rf "$dir" "$dir.stamp"
    timeout "$TIMEOUT" "$BENCHGEN" certs "$dir" --count "$count" >&2
    echo "$stamp" >"$dir.stamp"
}

generate bundle "$BUNDLE" "$SIZE"
SMALL_BUNDLE=$OUT/bundle-24MiB.zip
generate bundle "$SMALL_BUNDLE" 24MiB
generate snapshot "$SNAPSHOT" "$SIZE"
generate_certs "$CERTS_SAMPLE" "$SAMPLE"

# ---- measuring ------------------------------------------------------------------------------
# measure NAME CMD...: run CMD (stdout to /dev/null) under GNU time and timeout; sets
# W_<NAME> (wall seconds), M_<NAME> (peak RSS MiB or n/a) and X_<NAME> (exit status).
measure() {
    local name=$1 tf status wall rss
    shift
    tf=$(mktemp)
    echo "== run: $*" >&2
    set +e
    if [ -n "$GNU_TIME" ]; then
        # GNU time gives the peak RSS; its wall time has 10 ms steps, so the wall time is taken
        # from the clock around it (nanoseconds, printed to the millisecond).
        local t0 t1
        t0=$(date +%s%N)
        "$GNU_TIME" -o "$tf" -f '%e %M' timeout "$TIMEOUT" "$@" >/dev/null
        status=$?
        t1=$(date +%s%N)
        # On a non-zero exit GNU time writes "Command exited with non-zero status N" first.
        read -r wall rss < <(tail -n1 "$tf")
        wall=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", (b - a) / 1e9 }')
        rss=$(awk -v k="$rss" 'BEGIN { printf "%.1f", k / 1024 }')
    else
        local TIMEFORMAT=%R
        { time timeout "$TIMEOUT" "$@" >/dev/null 2>"$tf.err"; } 2>"$tf"
        status=$?
        wall=$(tail -n1 "$tf")
        rss=n/a
        rm -f "$tf.err"
    fi
    set -e
    rm -f "$tf"
    [ "$status" = 124 ] && wall="TIMEOUT(>${TIMEOUT})"
    printf -v "W_$name" '%s' "$wall"
    printf -v "M_$name" '%s' "$rss"
    printf -v "X_$name" '%s' "$status"
}

# median_of "v1 v2 ...": "median min / median / max" of the numeric values.
median_of() {
    tr ' ' '\n' <<<"$1" | grep -E '^[0-9.]+$' | sort -g | awk '{ a[NR] = $1 }
        END { m = a[int((NR + 1) / 2)]; if (NR) printf "%s %s / %s / %s", m, a[1], m, a[NR]; else print "n/a n/a" }'
}

# measure_pair A B RUNS CMD_A -- CMD_B: RUNS rounds of `measure` of CMD_A then CMD_B, alternating
# so that drift in the machine's speed hits both alike; sets W_ (median wall), WR_ ("min / median
# / max"), M_ (median peak RSS) and X_ (worst exit) for A and B.
measure_pair() {
    local a=$1 b=$2 runs=$3 i n w m
    shift 3
    local cmd_a=() cmd_b=()
    while [ "$1" != -- ]; do cmd_a+=("$1"); shift; done
    shift
    cmd_b=("$@")
    local wa="" wb="" ma="" mb="" xa=0 xb=0
    for ((i = 0; i < runs; i++)); do
        measure _run "${cmd_a[@]}"; wa+="$W__run "; ma+="$M__run "; [ "$X__run" != 0 ] && xa=$X__run
        measure _run "${cmd_b[@]}"; wb+="$W__run "; mb+="$M__run "; [ "$X__run" != 0 ] && xb=$X__run
    done
    for n in a b; do
        if [ "$n" = a ]; then w=$(median_of "$wa"); m=$(median_of "$ma"); printf -v "X_$a" '%s' "$xa"; set -- "$a"
        else w=$(median_of "$wb"); m=$(median_of "$mb"); printf -v "X_$b" '%s' "$xb"; set -- "$b"; fi
        printf -v "W_$1" '%s' "${w%% *}"
        printf -v "WR_$1" '%s' "${w#* }"
        printf -v "M_$1" '%s' "${m%% *}"
    done
}

openssl_loop() { # openssl_loop DIR: the per-file baseline, one openssl process per certificate
    local f
    for f in "$1"/*.crt; do
        openssl x509 -noout -enddate -in "$f" || return 1
    done
}
export -f openssl_loop

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b + 0 > 0 && a ~ /^[0-9.]+$/) printf "%.3f", a / b; else print "n/a" }'; }
pct() { awk -v r="$1" 'BEGIN { if (r ~ /^[0-9.]+$/) printf "%.1f %%", r * 100; else print "n/a" }'; }
verdict() { # verdict VALUE OP LIMIT
    awk -v v="$1" -v op="$2" -v l="$3" 'BEGIN {
        if (v !~ /^[0-9.]+$/) { print "n/a"; exit }
        ok = (op == "<=") ? (v + 0 <= l + 0) : (v + 0 < l + 0)
        print ok ? "PASS" : "FAIL" }'
}
# harrow exits 0 (no findings at --fail-on) or 1 (findings): both are successful runs.
harrow_ok() { [ "$1" = 0 ] || [ "$1" = 1 ]; }

measure unzip unzip -t "$BUNDLE"
measure hbundle "$HARROW" analyze "$BUNDLE" -o json --at "$AT"
measure gzip gzip -dc "$SNAPSHOT"
measure hsnap "$HARROW" analyze "$SNAPSHOT" -o json --at "$AT"
measure openssl bash -c "openssl_loop '$CERTS_SAMPLE/$CERT_SUBDIR'"

# Whole analyses (every rule) of real bundles next to `unzip -p` of the same bundle: the support
# bundle in ../shared/corpus when present and a 24 MiB generated one (the demo's 0.1 MiB bundle
# is left out: at that size both are process start-up). Nine alternating rounds, median reported.
RUNS=9
REAL=()
for z in ../shared/corpus/*.zip "$SMALL_BUNDLE"; do
    [ -f "$z" ] && REAL+=("$z")
done
for i in "${!REAL[@]}"; do
    measure_pair "unzipp$i" "hreal$i" "$RUNS" unzip -p "${REAL[$i]}" -- "$HARROW" analyze "${REAL[$i]}" --at "$AT"
done

# harrow certs: only once the subcommand exists (a clap binary prints help and exits 0).
HARROW_CERTS=0
if help=$("$HARROW" certs --help 2>/dev/null) && [ -n "$help" ]; then
    HARROW_CERTS=1
    generate_certs "$CERTS_BIG" "$CERTS_FULL"
    measure hcerts "$HARROW" certs "$CERTS_BIG" -o json --at "$AT"
fi

# ---- report ---------------------------------------------------------------------------------
mib() { awk -v b="$(stat -c %s "$1")" 'BEGIN { printf "%.1f MiB", b / 1048576 }'; }
BUNDLE_U=$(unzip -Zt "$BUNDLE" 2>/dev/null | awk '{ printf "%.1f GiB uncompressed, %d entries", $3 / 1073741824, $1 }')
SNAP_U=$(gzip -l "$SNAPSHOT" | awk 'NR == 2 { printf "%.1f MiB uncompressed", $2 / 1048576 }')

R_BUNDLE=$(ratio "$W_hbundle" "$W_unzip")
R_SNAP=$(ratio "$W_hsnap" "$W_gzip")
PER_CERT=$(awk -v w="$W_openssl" -v n="$SAMPLE" 'BEGIN { if (w ~ /^[0-9.]+$/) printf "%.2f", w * 1000 / n; else print "n/a" }')
EXTRA=$(awk -v w="$W_openssl" -v n="$SAMPLE" -v N="$CERTS_FULL" 'BEGIN { if (w ~ /^[0-9.]+$/) printf "%.0f", w * N / n; else print "n/a" }')

row() { printf '%-46s %12s %14s %6s\n' "$@"; }
{
    echo "harrow benchmark  $(date -u +%Y-%m-%dT%H:%M:%SZ)  mode=$([ "$QUICK" = 1 ] && echo quick || echo full)"
    echo "host: $(nproc) CPUs, $(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo 2>/dev/null || echo unknown)"
    echo "harrow: $(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet 2>/dev/null || echo '-dirty')   --at $AT"
    echo
    echo "inputs"
    echo "  $BUNDLE     $(mib "$BUNDLE") ($BUNDLE_U)"
    echo "  $SNAPSHOT   $(mib "$SNAPSHOT") ($SNAP_U)"
    echo "  $CERTS_SAMPLE  $SAMPLE PEM certificates"
    echo
    row "command" "wall s" "peak RSS MiB" "exit"
    row "unzip -t bundle.zip" "$W_unzip" "$M_unzip" "$X_unzip"
    row "harrow analyze bundle.zip -o json" "$W_hbundle" "$M_hbundle" "$X_hbundle"
    row "gzip -dc snapshot.tgz" "$W_gzip" "$M_gzip" "$X_gzip"
    row "harrow analyze snapshot.tgz -o json" "$W_hsnap" "$M_hsnap" "$X_hsnap"
    row "openssl x509 -enddate loop, $SAMPLE certs" "$W_openssl" "$M_openssl" "$X_openssl"
    if [ "$HARROW_CERTS" = 1 ]; then
        row "harrow certs, $CERTS_FULL certs -o json" "$W_hcerts" "$M_hcerts" "$X_hcerts"
    fi
    echo
    echo "whole analysis vs unzip -p ($RUNS alternating runs: min / median / max wall s; median peak RSS MiB)"
    for i in "${!REAL[@]}"; do
        u="WR_unzipp$i"; h="WR_hreal$i"; hm="M_hreal$i"; uw="W_unzipp$i"; hw="W_hreal$i"; hx="X_hreal$i"
        r=$(ratio "${!hw}" "${!uw}")
        printf '  %s (%s)\n' "$(basename "${REAL[$i]}")" "$(mib "${REAL[$i]}")"
        printf '    unzip -p        %-24s\n' "${!u}"
        printf '    harrow analyze  %-24s  %s MiB  exit %s\n' "${!h}" "${!hm}" "${!hx}"
        printf '    harrow/unzip -p = %-7s (target <= 1.0) %s   peak RSS (target < 64 MiB) %s\n' \
            "$r" "$(verdict "$r" '<=' 1.0)" "$(verdict "${!hm}" '<' 64)"
    done
    echo
    echo "targets"
    printf '  bundle:   harrow/unzip -t = %-9s (target <= 5 %%)      %s\n' "$(pct "$R_BUNDLE")" "$(verdict "$R_BUNDLE" '<=' 0.05)"
    printf '            harrow peak RSS = %-9s (target < 200 MiB)   %s\n' "$M_hbundle" "$(verdict "$M_hbundle" '<' 200)"
    printf '  snapshot: harrow/gzip -dc = %-9s (target <= 1.0)      %s\n' "$R_SNAP" "$(verdict "$R_SNAP" '<=' 1.0)"
    printf '            harrow peak RSS = %-9s (target < 200 MiB)   %s\n' "$M_hsnap" "$(verdict "$M_hsnap" '<' 200)"
    echo "  certs:    openssl loop = $PER_CERT ms/cert; extrapolated to $CERTS_FULL certs: $EXTRA s"
    if [ "$HARROW_CERTS" = 1 ]; then
        R_CERTS=$(ratio "$W_hcerts" "$EXTRA")
        printf '            harrow certs on %s certs = %s s, %s of the extrapolated loop\n' "$CERTS_FULL" "$W_hcerts" "$(pct "$R_CERTS")"
    else
        echo "            harrow certs: not implemented yet"
    fi
    for x in hbundle hsnap; do
        s="X_$x"
        harrow_ok "${!s}" || echo "  WARNING: harrow ($x) exited ${!s}: its time is not a valid measurement"
    done
    for x in unzip gzip openssl; do
        s="X_$x"
        [ "${!s}" = 0 ] || echo "  WARNING: baseline $x exited ${!s}"
    done
} | tee "$RESULTS"
echo "results written to $RESULTS" >&2
