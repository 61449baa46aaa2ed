#!/usr/bin/env bash
# harrow rotation benchmark: `harrow plan ca` and `harrow simulate` on generated Harvester clusters
# of 10, 100, 1,000 and 5,000 nodes (3 etcd servers, the rest agents; every certificate real, made
# by fixtures' gen-cluster). For each size and command: the median, min and max over --runs runs of
# the whole process (wall time, peak RSS with GNU time) and of the rotation core alone (the plan /
# simulate stage of HARROW_TIMINGS: the analysis of the inputs is reported apart).
#
#   scripts/bench-rotation.sh            sizes 10 100 1000 5000, 3 runs
#   scripts/bench-rotation.sh --quick    sizes 10 100 1000, 1 run
#   --runs N, --sizes "10 100"           other run counts and sizes (scripts/bench.sh passes both)
#
# Inputs go to bench-out/rotation-<N>/ (reused). Results: a Markdown table on stdout and in
# bench-out/rotation.txt. Needs: cargo, GNU time (/usr/bin/time; apt-get install time).
set -euo pipefail
cd "$(dirname "$0")/.."

SIZES="10 100 1000 5000"
RUNS=3
while [ $# -gt 0 ]; do
    case "$1" in
        --quick) SIZES="10 100 1000"; RUNS=1 ;;
        --runs) RUNS=$2; shift ;;
        --sizes) SIZES=$2; shift ;;
        -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
        *) echo "bench-rotation.sh: unknown argument $1" >&2; exit 2 ;;
    esac
    shift
done
TIME_BIN=${BENCH_TIME_BIN:-/usr/bin/time}
[ -x "$TIME_BIN" ] || { echo "bench-rotation.sh: GNU time ($TIME_BIN) is needed for peak RSS" >&2; exit 2; }

cargo build --release --quiet
cargo build --release --quiet -p harrow-fixtures --bin gen-cluster
T=${CARGO_TARGET_DIR:-target}
H=$T/release/harrow
AT=2026-11-20T10:00:00Z
mkdir -p bench-out
OUT=bench-out/rotation.txt
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

# median min max of the numbers on stdin
stats() { sort -n | awk '{a[NR]=$1} END {printf "%s %s %s\n", a[int((NR+1)/2)], a[1], a[NR]}'; }

{
echo "| nodes | command | core median (min–max) | whole process median (min–max) | peak RSS median |"
echo "|---|---|---|---|---|"
} > "$OUT"
for n in $SIZES; do
    dir=bench-out/rotation-$n
    if [ ! -f "$dir/manifest" ]; then
        rm -rf "$dir"
        "$T"/release/gen-cluster --servers 3 --agents $((n - 3)) --out "$dir" >&2
    fi
    for cmd in plan simulate; do
        : > "$TMP/core"; : > "$TMP/wall"; : > "$TMP/rss"
        for r in $(seq "$RUNS"); do
            if [ "$cmd" = plan ]; then
                rm -rf "$TMP/stage"
                args=(plan ca "$dir"/*.tgz --at "$AT" --stage-dir "$TMP/stage" --out "$TMP/ca.yaml")
            else
                args=(simulate "$TMP/ca.yaml" "$dir"/*.tgz --at "$AT")
            fi
            HARROW_TIMINGS=1 "$TIME_BIN" -f "wall %e rss %M" -o "$TMP/time" "$H" "${args[@]}" \
                >"$TMP/stdout" 2>"$TMP/stderr" || { [ "$cmd" = simulate ] && { tail -3 "$TMP/stdout" >&2; exit 1; }; }
            grep -o "timings: $cmd [0-9]*" "$TMP/stderr" | awk '{print $3}' >> "$TMP/core"
            awk '{print $2}' "$TMP/time" >> "$TMP/wall"
            awk '{print $4}' "$TMP/time" >> "$TMP/rss"
        done
        read -r cm cmin cmax < <(stats < "$TMP/core")
        read -r wm wmin wmax < <(stats < "$TMP/wall")
        read -r rm _ _ < <(stats < "$TMP/rss")
        printf '| %s | %s | %s ms (%s–%s) | %s s (%s–%s) | %s MiB |\n' "$n" "$cmd" "$cm" "$cmin" "$cmax" \
            "$wm" "$wmin" "$wmax" "$((rm / 1024))" | tee -a "$OUT"
    done
    grep -q "^PASS" "$TMP/stdout" || { echo "simulate of $n nodes did not pass" >&2; exit 1; }
done
echo >&2
cat "$OUT"
