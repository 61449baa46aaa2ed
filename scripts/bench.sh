#!/usr/bin/env bash
# harrow benchmark, every case of issue 13 in one invocation, each next to its baselines and its
# floor, measured alternately (round by round) so that drift in the machine's speed hits all the
# commands of a case alike. For every command: wall time and peak RSS (GNU time), min / median /
# max over --runs runs. Writes the tables into docs/performance.md (between its
# `<!-- bench.sh:NAME -->` markers) and prints them.
#
#   scripts/bench.sh                full: bundles 100MiB 1GiB 5GiB, 1 GiB tar.gz, 100,000
#                                   certificates, rotation at 10 to 5,000 nodes, 3 runs
#   scripts/bench.sh --quick        smoke test (a few minutes): small inputs, 3 runs, tables to
#                                   bench-out/performance-quick.md, docs/performance.md untouched
#
# Options: --runs N (3) · --cases "bundles snapshot certs rotation" (all) · --sizes "100MiB 1GiB"
#          (bundle sizes) · --snapshot-size SIZE (1GiB) · --certs N (100000) · --sample N (openssl
#          loop sample, 2000) · --nodes "10 100 1000 5000" · --timeout S (per command, 3600) ·
#          --doc FILE (where the tables go).
# Inputs are generated into bench-out/ (gitignored) and reused while their parameters and their
# generator's source are unchanged. Needs: cargo, unzip, gzip, openssl, timeout (coreutils) and
# GNU time (`apt-get install time`; BENCH_TIME_BIN overrides /usr/bin/time).
# The cases: docs/performance.md. The parts it calls: scripts/bench-rotation.sh, benchgen,
# gen-certs (fixtures).
set -euo pipefail
cd "$(dirname "$0")/.."

QUICK=0
RUNS=3
CASES="bundles snapshot certs rotation"
SIZES="100MiB 1GiB 5GiB"
SNAP_SIZE=1GiB
CERTS=100000
SAMPLE=2000
NODES="10 100 1000 5000"
TIMEOUT=3600
DOC=docs/performance.md
AT=2026-11-20T00:00:00Z
while [ $# -gt 0 ]; do
    case "$1" in
        --quick) QUICK=1; SIZES="32MiB"; SNAP_SIZE=64MiB; CERTS=20000; SAMPLE=200; NODES="10 100"
                 TIMEOUT=600; DOC=bench-out/performance-quick.md ;;
        --runs) RUNS=$2; shift ;;
        --cases) CASES=$2; shift ;;
        --sizes) SIZES=$2; shift ;;
        --snapshot-size) SNAP_SIZE=$2; shift ;;
        --certs) CERTS=$2; shift ;;
        --sample) SAMPLE=$2; shift ;;
        --nodes) NODES=$2; shift ;;
        --timeout) TIMEOUT=$2; shift ;;
        --doc) DOC=$2; shift ;;
        -h|--help) sed -n '2,22p' "$0"; exit 0 ;;
        *) echo "bench.sh: unknown argument $1" >&2; exit 2 ;;
    esac
    shift
done
[ "$RUNS" -ge 1 ] || { echo "bench.sh: --runs must be at least 1" >&2; exit 2; }

for tool in cargo unzip gzip openssl timeout awk; do
    command -v "$tool" >/dev/null || { echo "bench.sh: $tool is required" >&2; exit 2; }
done
TIME_BIN=${BENCH_TIME_BIN:-/usr/bin/time}
"$TIME_BIN" -f '%e %M' true >/dev/null 2>&1 ||
    { echo "bench.sh: GNU time is required for peak RSS (Debian/Ubuntu: apt-get install time)" >&2; exit 2; }

TARGET_DIR=${CARGO_TARGET_DIR:-target}
echo "== build (cargo build --release --workspace)" >&2
cargo build --release --quiet --workspace >&2
HARROW=$TARGET_DIR/release/harrow
BENCHGEN=$TARGET_DIR/release/benchgen
GEN_CERTS=$TARGET_DIR/release/gen-certs

OUT=bench-out
SECTIONS=$OUT/sections
rm -rf "$SECTIONS"
mkdir -p "$SECTIONS"
NPROC=$(nproc)
STARTED=$(date -u +%Y-%m-%dT%H:%M:%SZ)
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)

# ---- inputs -----------------------------------------------------------------------------------
# A generated file carries a stamp of its parameters and of its generator's source.
stamp_of() { echo "$* benchgen=$(cat benchgen/Cargo.toml benchgen/src/*.rs | cksum | cut -d' ' -f1)"; }
generate() { # generate MODE FILE SIZE
    local mode=$1 file=$2 size=$3 stamp
    stamp=$(stamp_of "$mode" "$size")
    if [ -s "$file" ] && [ "$(cat "$file.stamp" 2>/dev/null)" = "$stamp" ]; then
        echo "== reuse $file" >&2
        return
    fi
    echo "== generate $file ($size)" >&2
    rm -f "$file" "$file.stamp"
    "$BENCHGEN" "$mode" "$file" --size "$size" >"$file.summary"
    echo "$stamp" >"$file.stamp"
}
mib_of() { awk -v b="$(stat -c %s "$1")" 'BEGIN { printf "%.1f MiB", b / 1048576 }'; }

# ---- measuring --------------------------------------------------------------------------------
# warm FILE...: read the inputs into the page cache before a measured run, so every command
# (baseline, floor and harrow alike) starts from the same warm cache: the host reclaims cold
# pages (DAMON), and a 1 GiB bundle read two minutes earlier by unzip is partly on disk again.
WARM=()
warm() { [ ${#WARM[@]} -eq 0 ] || cat "${WARM[@]}" >/dev/null 2>&1 || true; }
# measure ARRAY_NAME: run the command held in the named array (stdout and stderr dropped) under
# GNU time and timeout; appends "wall rss_mib status" to $OUT/runs/ARRAY_NAME. Wall time is taken
# from the clock around it (GNU time rounds to 10 ms).
mkdir -p "$OUT/runs"
measure() {
    local -n cmd=$1
    local tf t0 t1 status wall rss
    warm
    tf=$(mktemp)
    t0=$(date +%s%N)
    set +e
    "$TIME_BIN" -o "$tf" -f '%M' timeout "$TIMEOUT" "${cmd[@]}" >/dev/null 2>&1
    status=$?
    set -e
    t1=$(date +%s%N)
    rss=$(tail -n1 "$tf")
    rm -f "$tf"
    wall=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", (b - a) / 1e9 }')
    [ "$status" = 124 ] && wall=timeout
    echo "$wall $(awk -v k="$rss" 'BEGIN { printf "%.1f", k / 1024 }') $status" >>"$OUT/runs/$1"
    echo "   $1: ${wall} s, $(awk -v k="$rss" 'BEGIN { printf "%.1f", k / 1024 }') MiB, exit $status" >&2
}
# rounds N NAME...: N rounds, each measuring every named command once, in order.
rounds() {
    local n=$1 i name
    shift
    for name in "$@"; do : >"$OUT/runs/$name"; done
    for ((i = 1; i <= n; i++)); do
        echo "== round $i/$n: $*" >&2
        for name in "$@"; do measure "$name"; done
    done
}
# stat_of NAME FIELD: "min / median / max" of a column of the runs (1 wall, 2 RSS).
stat_of() {
    awk -v f="$2" '{ print $f }' "$OUT/runs/$1" | grep -E '^[0-9.]+$' | sort -g | awk '
        { v[NR] = $1 } END { if (NR) printf "%s / %s / %s", v[1], v[int((NR + 1) / 2)], v[NR]; else printf "n/a" }'
}
median_of() { stat_of "$1" "$2" | awk -F' / ' '{ print $2 }'; }
# exits NAME: the exit statuses seen, when any was not 0 (harrow's 1 is "findings", a valid run).
exits() { awk '{ print $3 }' "$OUT/runs/$1" | sort -u | tr '\n' ' ' | sed 's/ $//'; }
# when: the date and the load average, stamped on each case as it starts.
when() { echo "$(date -u +%Y-%m-%dT%H:%MZ), load average $(cut -d' ' -f1-3 /proc/loadavg)"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a ~ /^[0-9.]+$/ && b + 0 > 0) printf "%.3f", a / b; else printf "n/a" }'; }
verdict() { # verdict VALUE OP LIMIT
    awk -v v="$1" -v op="$2" -v l="$3" 'BEGIN {
        if (v !~ /^[0-9.]+$/) { print "n/a"; exit }
        ok = (op == "<=") ? (v + 0 <= l + 0) : (v + 0 < l + 0)
        print ok ? "**holds**" : "**does not hold**" }'
}
row() { # row LABEL NAME [RATIO_TEXT]: a table row of a measured command
    printf '| %s | %s | %s | %s | %s |\n' "$1" "$(stat_of "$2" 1)" "$(stat_of "$2" 2)" "${3:-}" "$(exits "$2")"
}
HEAD='| command | wall s (min / median / max) | peak RSS MiB (min / median / max) | ratio (medians) | exit |
|---|---|---|---|---|'

# ---- case: support bundles --------------------------------------------------------------------
case_bundles() {
    local f=$SECTIONS/bundles.md size b i
    {
        echo "Measured $(when), $RUNS run(s) per command, alternating. harrow:"
        echo "\`harrow analyze BUNDLE -o json --at $AT --fail-on none\`; baselines \`unzip -t BUNDLE\`"
        echo "(inflate and CRC-check every entry) and \`unzip -p BUNDLE >/dev/null\` (inflate every entry)."
        echo
    } >"$f"
    local curve=""
    for size in $SIZES; do
        b=$OUT/bundle-$size.zip
        generate bundle "$b" "$size"
        local u
        u=$(unzip -Zt "$b" 2>/dev/null | awk '{ printf "%.1f GiB inflated, %d entries", $3 / 1073741824, $1 }')
        # shellcheck disable=SC2034 # used through `local -n` in measure
        {
            BU_T=(unzip -t "$b"); BU_P=(unzip -p "$b")
            BU_H=("$HARROW" analyze "$b" -o json --at "$AT" --fail-on none)
        }
        WARM=("$b")
        rounds "$RUNS" BU_T BU_P BU_H
        WARM=()
        local ht hu hp hm
        ht=$(median_of BU_H 1); hu=$(median_of BU_T 1); hp=$(median_of BU_P 1); hm=$(median_of BU_H 2)
        {
            echo "**$size** ($(mib_of "$b"), $u)"
            echo
            echo "$HEAD"
            row '`unzip -t`' BU_T
            row '`unzip -p >/dev/null`' BU_P
            row '`harrow analyze -o json`' BU_H "$(awk -v r="$(ratio "$ht" "$hu")" 'BEGIN { printf "%.1f %% of unzip -t", r * 100 }') · $(ratio "$ht" "$hp")× unzip -p"
            echo
        } >>"$f"
        curve+="| $size | $ht | $hm | $(ratio "$ht" "$hu") | $(verdict "$(ratio "$ht" "$hu")" '<=' 0.05) | $(verdict "$hm" '<' 64) |"$'\n'
    done
    # The real support bundle of ../shared/corpus, when present, and a 24 MiB generated one: whole
    # analyses (every rule, text report) next to `unzip -p`, 9 rounds at least (they are short).
    local real=() z
    for z in ../shared/corpus/*.zip; do [ -f "$z" ] && real+=("$z"); done
    generate bundle "$OUT/bundle-24MiB.zip" 24MiB
    real+=("$OUT/bundle-24MiB.zip")
    {
        echo "Whole analyses (every rule, text report: \`harrow analyze BUNDLE --at $AT --fail-on none\`) of small bundles next to"
        echo "\`unzip -p\`, $((RUNS > 9 ? RUNS : 9)) alternating runs:"
        echo
        echo "$HEAD"
    } >>"$f"
    for i in "${!real[@]}"; do
        # shellcheck disable=SC2034
        { RU_P=(unzip -p "${real[$i]}"); RU_H=("$HARROW" analyze "${real[$i]}" --at "$AT" --fail-on none); }
        WARM=("${real[$i]}")
        rounds $((RUNS > 9 ? RUNS : 9)) RU_P RU_H
        WARM=()
        row "\`unzip -p\` $(basename "${real[$i]}") ($(mib_of "${real[$i]}"))" RU_P >>"$f"
        row "\`harrow analyze\` of it" RU_H "$(ratio "$(median_of RU_H 1)" "$(median_of RU_P 1)")× unzip -p" >>"$f"
    done
    {
        echo
        echo "The curve (medians) against the targets: harrow at most 5 % of \`unzip -t\`, peak RSS under 64 MiB at every size."
        echo
        echo "| bundle | harrow s | harrow peak RSS MiB | harrow ÷ unzip -t | ≤ 5 % | RSS < 64 MiB |"
        echo "|---|---|---|---|---|---|"
        printf '%s' "$curve"
    } >>"$f"
}

# ---- case: tar.gz node snapshot ---------------------------------------------------------------
case_snapshot() {
    local f=$SECTIONS/snapshot.md s=$OUT/snapshot-$SNAP_SIZE.tgz
    generate snapshot "$s" "$SNAP_SIZE"
    # shellcheck disable=SC2034
    {
        SN_G=(gzip -dc "$s"); SN_F=("$BENCHGEN" inflate "$s")
        SN_H=("$HARROW" analyze "$s" -o json --at "$AT" --fail-on none)
    }
    local started
    started=$(when)
    WARM=("$s")
    rounds "$RUNS" SN_G SN_F SN_H
    WARM=()
    local ht r
    ht=$(median_of SN_H 1)
    r=$(ratio "$ht" "$(median_of SN_G 1)")
    {
        echo "Measured $started, $RUNS run(s) per command, alternating, on \`$s\` ($(mib_of "$s"), $(gzip -l "$s" | awk 'NR == 2 { printf "%.1f MiB", $2 / 1048576 }') of tar)."
        echo
        echo "$HEAD"
        row '`gzip -dc >/dev/null`' SN_G
        row '`benchgen inflate` (zlib-rs alone: the floor)' SN_F
        row '`harrow analyze -o json`' SN_H "$r× gzip -dc · $(ratio "$ht" "$(median_of SN_F 1)")× the floor"
        echo
        echo "Target: harrow at most 1.0× \`gzip -dc\`: $r, $(verdict "$r" '<=' 1.0)."
    } >"$f"
}

# ---- case: 100,000 certificates ---------------------------------------------------------------
case_certs() {
    local f=$SECTIONS/certs.md input started
    started=$(when)
    input=$("$GEN_CERTS" --count "$CERTS" --sample "$SAMPLE" --out "$OUT")
    # The floor: what the signatures alone cost at openssl's verify rates on this machine, one
    # process per core. The mix (gen-certs): 17 of 20 leaves signed by P-256 CAs, 3 by an RSA-2048
    # intermediate; 5 self-signed P-256 CAs, an RSA root and the intermediate it signs.
    echo "== openssl speed -seconds 3 ecdsap256 rsa2048" >&2
    local speed ecdsa rsa n_ec n_rsa floor
    speed=$(openssl speed -seconds 3 ecdsap256 rsa2048 2>/dev/null)
    ecdsa=$(awk '/ecdsa \(nistp256\)/ { v = $NF } END { print v }' <<<"$speed")
    rsa=$(awk '/^rsa 2048 bits/ { v = $NF } END { print v }' <<<"$speed")
    n_ec=$((CERTS * 17 / 20 + 5))
    n_rsa=$((CERTS * 3 / 20 + 2))
    floor=$(awk -v e="$n_ec" -v r="$n_rsa" -v ve="$ecdsa" -v vr="$rsa" -v c="$NPROC" \
        'BEGIN { printf "%.3f", (e / ve + r / vr) / c }')
    local sample_dir=$OUT/certs-sample
    # shellcheck disable=SC2034
    {
        CE_O=(bash -c 'for f in "$1"/*.crt; do openssl x509 -noout -enddate -in "$f" || exit 1; done' _ "$sample_dir")
        CE_C=("$HARROW" certs "$input" -o json --at "$AT")
        CE_G=("$HARROW" graph "$input" -o json --at "$AT")
        CE_A=("$HARROW" analyze "$input" -o json --at "$AT" --fail-on none)
    }
    WARM=("$input" "$sample_dir"/*.crt)
    rounds "$RUNS" CE_O CE_C CE_G CE_A
    WARM=()
    local n_sample loop c g a
    n_sample=$(find "$sample_dir" -name '*.crt' | wc -l)
    loop=$(awk -v w="$(median_of CE_O 1)" -v n="$n_sample" -v N="$CERTS" 'BEGIN { printf "%.0f", w * N / n }')
    c=$(median_of CE_C 1); g=$(median_of CE_G 1); a=$(median_of CE_A 1)
    # Where the time goes: the stages of one more `certs` run.
    local stages
    stages=$(HARROW_TIMINGS=1 "$HARROW" certs "$input" -o json --at "$AT" 2>&1 >/dev/null |
        sed -n 's/^harrow timings: //p' | grep -v '^snapshot: ' |
        awk '{ ms = ""; for (i = 1; i <= NF; i++) if ($(i + 1) == "ms") { ms = $i; name = ""; for (j = 1; j < i; j++) name = name (j > 1 ? " " : "") $j; break }
               rss = ""; for (i = 1; i <= NF; i++) if ($i == "peak") rss = $(i + 1)
               printf "| %s | %s | %s |\n", name, ms, rss }')
    {
        echo "Measured $started, $RUNS run(s) per command, alternating, on \`$input\` ($CERTS leaf files, each the leaf and its CA; $(mib_of "$input"))."
        echo
        echo "The floor: \`openssl speed -seconds 3 ecdsap256 rsa2048\` here verifies $ecdsa P-256 and $rsa RSA-2048 signatures a second on one core;"
        echo "the input's $n_ec P-256 and $n_rsa RSA-2048 signatures over $NPROC cores take **$floor s**. The openssl loop:"
        echo "\`openssl x509 -noout -enddate\` once per file over the first $n_sample files, extrapolated to $CERTS: **$loop s**."
        echo
        echo "$HEAD"
        row "\`openssl x509\` loop over $n_sample files" CE_O
        row '`harrow certs -o json`' CE_C "$(ratio "$c" "$floor")× floor · 1/$(awk -v l="$loop" -v h="$c" 'BEGIN { printf "%.0f", l / h }') of the loop"
        row '`harrow graph -o json`' CE_G "$(ratio "$g" "$floor")× floor · 1/$(awk -v l="$loop" -v h="$g" 'BEGIN { printf "%.0f", l / h }') of the loop"
        row '`harrow analyze -o json`' CE_A "$(ratio "$a" "$floor")× floor · 1/$(awk -v l="$loop" -v h="$a" 'BEGIN { printf "%.0f", l / h }') of the loop"
        echo
        echo "Targets of \`harrow certs\`: at most 1.5× the floor: $(ratio "$c" "$floor")×, $(verdict "$(ratio "$c" "$floor")" '<=' 1.5);"
        echo "peak RSS at most 200 MiB: $(median_of CE_C 2) MiB, $(verdict "$(median_of CE_C 2)" '<=' 200)."
        echo
        echo "Where the time goes (\`HARROW_TIMINGS=1 harrow certs … -o json\`, one more run: each stage's wall time and the process's peak RSS at its end):"
        echo
        echo "| stage | ms | peak RSS MiB |"
        echo "|---|---|---|"
        echo "$stages"
    } >"$f"
}

# ---- case: rotation plan and simulation -------------------------------------------------------
case_rotation() {
    local f=$SECTIONS/rotation.md started
    started=$(when)
    # shellcheck disable=SC2086 # NODES is a list
    scripts/bench-rotation.sh --runs "$RUNS" --sizes "$NODES" >&2
    {
        echo "Measured $started by \`scripts/bench-rotation.sh --runs $RUNS --sizes \"$NODES\"\`:"
        echo
        cat "$OUT/rotation.txt"
    } >"$f"
}

for c in $CASES; do
    case "$c" in
        bundles|snapshot|certs|rotation) "case_$c" ;;
        *) echo "bench.sh: unknown case $c" >&2; exit 2 ;;
    esac
done

# ---- the machine and the commands -------------------------------------------------------------
{
    echo "- when: $STARTED to $(date -u +%Y-%m-%dT%H:%M:%SZ); load average (1, 5, 15 min) $LOAD_BEFORE before, $(cut -d' ' -f1-3 /proc/loadavg) after"
    echo "- CPU: $NPROC × $(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo)"
    echo "- memory: $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo); $( (. /etc/os-release && echo "$PRETTY_NAME") 2>/dev/null || uname -s), kernel $(uname -r)"
    echo "- harrow $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- src Cargo.toml Cargo.lock || echo ' with uncommitted changes'), release build; $(unzip -v | head -n1 | cut -d' ' -f1-2), gzip $(gzip --version | head -n1 | awk '{ print $NF }'), $(openssl version | cut -d' ' -f1-2)"
} >"$SECTIONS/machine.md"
{
    echo '```sh'
    echo "scripts/bench.sh$([ "$QUICK" = 1 ] && echo ' --quick') --runs $RUNS --cases \"$CASES\" --sizes \"$SIZES\" --snapshot-size $SNAP_SIZE --certs $CERTS --sample $SAMPLE --nodes \"$NODES\""
    echo '```'
} >"$SECTIONS/reproduce.md"

# Splice every section written into the document between its markers (a document without the
# markers, such as a new --doc file, gets the sections appended under headings).
[ -f "$DOC" ] || : >"$DOC"
tmp=$(mktemp)
cp "$DOC" "$tmp"
for s in machine reproduce bundles snapshot certs rotation; do
    [ -f "$SECTIONS/$s.md" ] || continue
    if grep -q "^<!-- bench.sh:$s -->" "$tmp"; then
        awk -v name="$s" -v file="$SECTIONS/$s.md" '
            $0 == "<!-- bench.sh:" name " -->" { print; while ((getline l < file) > 0) print l; skip = 1; next }
            $0 == "<!-- /bench.sh:" name " -->" { skip = 0 }
            !skip { print }' "$tmp" >"$tmp.new"
        mv "$tmp.new" "$tmp"
    else
        { echo; echo "## $s"; echo; echo "<!-- bench.sh:$s -->"; cat "$SECTIONS/$s.md"; echo "<!-- /bench.sh:$s -->"; } >>"$tmp"
    fi
done
mv "$tmp" "$DOC"
for s in machine bundles snapshot certs rotation; do
    [ -f "$SECTIONS/$s.md" ] && { echo; cat "$SECTIONS/$s.md"; }
done
echo >&2
echo "bench.sh: tables written to $DOC" >&2
