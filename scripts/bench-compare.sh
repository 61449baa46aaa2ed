#!/usr/bin/env bash
# Before/after benchmark: two harrow binaries side by side on the same inputs, in one invocation.
#
#   scripts/bench-compare.sh BASE_REV [--runs N] [--size SIZE] [--certs N]
#
# Builds BASE_REV (a commit) in a temporary worktree and the working tree, both in release, then
# for each case runs the base and the new binary alternately N times (3 by default) and prints the
# min / median / max wall time and peak RSS of each, with the ratio of the medians:
#   - bundle:   harrow analyze on a synthetic Harvester support bundle (benchgen, --size, 256MiB)
#   - snapshot: harrow analyze on a synthetic tar.gz node snapshot (benchgen, --size)
#   - certs:    harrow certs, graph and analyze -o json on --certs certificates (gen-certs, 100000)
# Outputs of both binaries are also compared byte for byte (certs -o json, graph -o json).
# Inputs go to bench-out/compare/ (gitignored). Needs GNU time (`apt-get install time`).
# BASE_BIN=path skips building BASE_REV and uses that binary.
set -euo pipefail
cd "$(dirname "$0")/.."

[ $# -ge 1 ] || { sed -n '2,13p' "$0"; exit 2; }
BASE_REV=$1; shift
RUNS=3
SIZE=256MiB
CERTS=100000
AT=2026-11-20T00:00:00Z
while [ $# -gt 0 ]; do
    case "$1" in
        --runs) RUNS=$2; shift ;;
        --size) SIZE=$2; shift ;;
        --certs) CERTS=$2; shift ;;
        *) echo "bench-compare: unknown argument $1" >&2; exit 2 ;;
    esac
    shift
done
TIME_BIN=${BENCH_TIME_BIN:-/usr/bin/time}
"$TIME_BIN" -f '%e %M' true 2>/dev/null || { echo "bench-compare: GNU time is needed (apt-get install time)" >&2; exit 2; }

OUT=bench-out/compare
mkdir -p "$OUT"
if [ -n "${BASE_BIN:-}" ]; then
    BASE=$BASE_BIN  # a release build of BASE_REV made earlier
else
    BASE_DIR=$(mktemp -d)
    trap 'git worktree remove --force "$BASE_DIR" >/dev/null 2>&1 || true' EXIT
    git worktree add -q --detach "$BASE_DIR" "$BASE_REV"
    echo "bench-compare: building $BASE_REV (release)" >&2
    (cd "$BASE_DIR" && CARGO_TARGET_DIR="$BASE_DIR/target" cargo build --release --quiet -p harrow --bin harrow)
    BASE=$BASE_DIR/target/release/harrow
fi
echo "bench-compare: building the working tree (release)" >&2
cargo build --release --quiet -p harrow --bin harrow
cargo build --release --quiet -p benchgen
cargo build --release --quiet -p harrow-fixtures --bin gen-certs
T=${CARGO_TARGET_DIR:-target}
NEW=$T/release/harrow

[ -f "$OUT/bundle.zip" ] || "$T"/release/benchgen bundle "$OUT/bundle.zip" --size "$SIZE" >&2
[ -f "$OUT/snapshot.tgz" ] || "$T"/release/benchgen snapshot "$OUT/snapshot.tgz" --size "$SIZE" >&2
CERT_INPUT=$("$T"/release/gen-certs --count "$CERTS" --sample 10 --out "$OUT")

measure() { # label binary args... -> "seconds kib"
    local tf; tf=$(mktemp)
    "$TIME_BIN" -f '%e %M' -o "$tf" "$@" >/dev/null 2>/dev/null || true
    # GNU time writes "Command exited with non-zero status N" first when the command fails.
    tail -n 1 "$tf"; rm -f "$tf"
}
stats() { # values on stdin -> "min median max"
    sort -g | awk '{ v[NR] = $1 } END { printf "%s %s %s\n", v[1], v[int((NR + 1) / 2)], v[NR] }'
}
row() { # name args...
    local name=$1; shift
    local bt=() br=() nt=() nr=() r
    for _ in $(seq "$RUNS"); do
        read -r t m < <(measure "$BASE" "$@"); bt+=("$t"); br+=("$m")
        read -r t m < <(measure "$NEW" "$@"); nt+=("$t"); nr+=("$m")
    done
    read -r b0 b1 b2 < <(printf '%s\n' "${bt[@]}" | stats)
    read -r n0 n1 n2 < <(printf '%s\n' "${nt[@]}" | stats)
    read -r bm0 bm1 bm2 < <(printf '%s\n' "${br[@]}" | stats)
    read -r nm0 nm1 nm2 < <(printf '%s\n' "${nr[@]}" | stats)
    r=$(awk -v a="$b1" -v b="$n1" 'BEGIN { printf "%.2f", (a > 0 ? b / a : 0) }')
    printf '| %s | %s / %s / %s | %s / %s / %s | %s | %d / %d / %d | %d / %d / %d |\n' \
        "$name" "$b0" "$b1" "$b2" "$n0" "$n1" "$n2" "$r" \
        $((bm0 / 1024)) $((bm1 / 1024)) $((bm2 / 1024)) $((nm0 / 1024)) $((nm1 / 1024)) $((nm2 / 1024))
}

{
    echo "# harrow before/after: base $BASE_REV ($(git rev-parse --short "$BASE_REV")), new $(git rev-parse --short HEAD)$(git diff --quiet || echo '+changes')"
    echo "# $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg), $RUNS runs each, alternating; time in s, RSS in MiB (min / median / max)"
    echo
    echo "| case | base time | new time | new/base (median) | base RSS | new RSS |"
    echo "|---|---|---|---|---|---|"
    row "bundle $SIZE: analyze -o json" analyze "$OUT/bundle.zip" -o json --at "$AT" --fail-on none
    row "snapshot $SIZE tar.gz: analyze -o json" analyze "$OUT/snapshot.tgz" -o json --at "$AT" --fail-on none
    row "$CERTS certs: certs -o json" certs "$CERT_INPUT" -o json --at "$AT"
    row "$CERTS certs: graph -o json" graph "$CERT_INPUT" -o json --at "$AT"
    row "$CERTS certs: analyze -o json" analyze "$CERT_INPUT" -o json --at "$AT" --fail-on none
    echo
    for cmd in certs graph; do
        if cmp -s <("$BASE" "$cmd" "$CERT_INPUT" -o json --at "$AT" 2>/dev/null) \
                  <("$NEW" "$cmd" "$CERT_INPUT" -o json --at "$AT" 2>/dev/null); then
            echo "$cmd -o json on $CERTS certificates: identical bytes"
        else
            echo "$cmd -o json on $CERTS certificates: OUTPUTS DIFFER"
        fi
    done
} | tee "$OUT/results.txt"
