#!/usr/bin/env bash
# run.sh - the benchmark behind `make bench`.
#
#   tests/bench/run.sh                 5 timed rounds (BENCH_ROUNDS=N to change)
#   BENCH_QUICK=1 tests/bench/run.sh   1 timed round (smoke run)
#
# What it does:
#   1. Once, cached in build/bench/data/: makes a 7216x5412 and a 7216x21648
#      photo-like RGB image (make_image.py) and their libvips
#      `dzsave --layout iiif --tile-size 256` trees (JPEG Q=85).
#   2. Starts a private nginx on 127.0.0.1 (nginx_bench.sh) serving the trees.
#   3. A warm-up pass runs every case once, untimed, checks each output's
#      width/height with vipsheader and compares its pixels with the floor's
#      (max |difference|, reported, not asserted).
#   4. R timed rounds, the cases interleaved in one run; the order rotates by
#      one case per round so that no method always runs first or last:
#        floor (c)        build/floor TREE OUT.tif          - local files, the yardstick
#        iiifstitch       build/iiifstitch over HTTP
#        seed (a)         seed_method.py, the reference notebook's method
#        curl+vips (b)    curl_arrayjoin.sh
#        iiifstitch, floor on the 4x taller image
#      each under /usr/bin/time -f '%e %M'. Every timed output is checked
#      again (exit status, width/height) before its time is kept; any failure
#      stops the benchmark.
#   5. Writes build/bench/results.md (medians, min/max, ratios to the floor,
#      exact commands, machine) and prints it.
# It is a measurement, not a test: nothing here asserts a time.
#
# Environment: BENCH_ROUNDS (default 5), BENCH_QUICK=1, BENCH_BUILD (default
# <repo>/build), BENCH_KEEP=1 keeps the outputs of the last round.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TOP=$(cd "$HERE/../.." && pwd)
BUILD=${BENCH_BUILD:-$TOP/build}
OUTDIR=$BUILD/bench
DATA=$OUTDIR/data
WORK=$OUTDIR/work
PY=/usr/bin/python3            # Debian's python3, which has cv2/numpy/requests
ROUNDS=${BENCH_ROUNDS:-5}
if [[ ${BENCH_QUICK:-0} = 1 ]]; then ROUNDS=1; fi
[[ $ROUNDS =~ ^[1-9][0-9]*$ ]] || { echo "bench: BENCH_ROUNDS must be a positive integer" >&2; exit 2; }

IMG_W=7216
IMG_H=5412
TALL_H=$(( IMG_H * 4 ))
JPEG_Q=85
TILE=256

say() { echo "bench: $*" >&2; }
die() { echo "bench: error: $*" >&2; exit 1; }

# ---------------------------------------------------------------- prerequisites
missing=()
[[ -x /usr/bin/time ]] || missing+=("/usr/bin/time (apt-get install time)")
for t in vips vipsheader curl tiffinfo; do
    command -v "$t" >/dev/null || missing+=("$t")
done
[[ -x /usr/sbin/nginx ]] || missing+=("/usr/sbin/nginx (apt-get install nginx-light)")
if [[ ! -x $PY ]] || ! "$PY" -c 'import cv2, numpy, requests' 2>/dev/null; then
    missing+=("$PY with cv2, numpy, requests (apt-get install python3-opencv python3-numpy python3-requests)")
fi
if (( ${#missing[@]} )); then
    printf 'bench: missing: %s\n' "${missing[@]}" >&2
    exit 1
fi
for b in iiifstitch floor; do
    [[ -x $BUILD/$b ]] || die "$BUILD/$b not found or not executable: build it first (make)"
done

mkdir -p "$OUTDIR" "$DATA"
rm -rf "$WORK"
mkdir -p "$WORK"

# shellcheck source=SCRIPTDIR/nginx_bench.sh
source "$HERE/nginx_bench.sh"

cleanup() {
    local status=$?
    trap - EXIT INT TERM
    set +e
    bench_nginx_stop
    if [[ ${BENCH_KEEP:-0} != 1 ]]; then rm -rf "$WORK"; fi
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---------------------------------------------------------------- test data
# The stamp names everything the trees depend on; a change regenerates them.
stamp_text="make_image=$(sha256sum "$HERE/make_image.py" | cut -c1-16) $(vips --version) q=$JPEG_Q tile=$TILE"

make_tree() {   # NAME W H SEED
    local name=$1 w=$2 h=$3 seed=$4 tmp
    if [[ -f $DATA/www/$name/info.json && -f $DATA/$name.stamp &&
          $(<"$DATA/$name.stamp") == "$stamp_text $w $h $seed" ]]; then
        return 0
    fi
    say "generating $name (${w}x${h}, seed $seed): once, cached in $DATA"
    rm -rf "$DATA/www/$name" "$DATA/$name.stamp"
    tmp=$(mktemp -d "$DATA/tmp.XXXXXX")
    "$PY" "$HERE/make_image.py" "$w" "$h" "$seed" "$tmp/$name.ppm"
    vips dzsave "$tmp/$name.ppm" "$tmp/$name" --layout iiif --tile-size "$TILE" \
        --suffix ".jpg[Q=$JPEG_Q]"
    [[ -f $tmp/$name/info.json ]] || die "dzsave made no $tmp/$name/info.json"
    mkdir -p "$DATA/www"
    mv "$tmp/$name" "$DATA/www/$name"
    rm -rf "$tmp"
    echo "$stamp_text $w $h $seed" >"$DATA/$name.stamp"
}
make_tree photo "$IMG_W" "$IMG_H" 1
make_tree photo_tall "$IMG_W" "$TALL_H" 2
TREE=$DATA/www/photo
TREE_TALL=$DATA/www/photo_tall

tile_stats() {  # TREE W H -> one line about the scale-factor-1 tiles
    local tree=$1 w=$2 h=$3
    "$PY" - "$tree" "$w" "$h" "$TILE" <<'EOF'
import os, statistics, sys
tree, W, H, T = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
every, full = [], []
for y in range(0, H, T):
    for x in range(0, W, T):
        w, h = min(T, W - x), min(T, H - y)
        n = os.path.getsize("%s/%d,%d,%d,%d/%d,/0/default.jpg" % (tree, x, y, w, h, w))
        every.append(n)
        if w == T and h == T:
            full.append(n)
q = statistics.quantiles(full, n=10)
print("%d tiles at scale factor 1, %.1f MB; full %dx%d tiles: mean %.1f KB, "
      "10th-90th percentile %.1f-%.1f KB" % (len(every), sum(every) / 1e6, T, T,
      sum(full) / len(full) / 1024, q[0] / 1024, q[-1] / 1024))
EOF
}

# ---------------------------------------------------------------- server
bench_nginx_start "$DATA/www" "$WORK/nginx" || die "nginx did not start"
URL=http://127.0.0.1:$BENCH_HTTP_PORT/photo/info.json
URL_TALL=http://127.0.0.1:$BENCH_HTTP_PORT/photo_tall/info.json
curl -sSf -o /dev/null "$URL" || die "nginx does not serve $URL"
curl -sSf -o /dev/null "$URL_TALL" || die "nginx does not serve $URL_TALL"
say "nginx on 127.0.0.1:$BENCH_HTTP_PORT serving $DATA/www"

# ---------------------------------------------------------------- cases
# id | label | image | floor id | expected WxH | command (@OUT@ stands for the output path)
CASE_IDS=(floor tool seed curl tool_tall floor_tall)
declare -A LABEL IMAGE FLOOR_OF EXP_W EXP_H
declare -A CMD
set_case() {    # ID LABEL IMAGE FLOOR_ID H -- CMD...
    local id=$1
    LABEL[$id]=$2; IMAGE[$id]=$3; FLOOR_OF[$id]=$4; EXP_W[$id]=$IMG_W; EXP_H[$id]=$5
    shift 6
    CMD[$id]=$(printf '%q ' "$@")
}
set_case floor      "(c) floor: build/floor, local tiles" "${IMG_W}×${IMG_H}" floor "$IMG_H" -- \
    "$BUILD/floor" "$TREE" @OUT@
set_case tool       "iiifstitch over HTTP" "${IMG_W}×${IMG_H}" floor "$IMG_H" -- \
    "$BUILD/iiifstitch" -q --compression none "$URL" -o @OUT@
set_case seed       "(a) seed method: requests + cv2, seed_method.py" "${IMG_W}×${IMG_H}" floor "$IMG_H" -- \
    "$PY" "$HERE/seed_method.py" "$URL" @OUT@
set_case curl       "(b) curl --parallel + vips arrayjoin" "${IMG_W}×${IMG_H}" floor "$IMG_H" -- \
    "$HERE/curl_arrayjoin.sh" "$URL" @OUT@
set_case tool_tall  "iiifstitch over HTTP" "${IMG_W}×${TALL_H}" floor_tall "$TALL_H" -- \
    "$BUILD/iiifstitch" -q --compression none "$URL_TALL" -o @OUT@
set_case floor_tall "(c) floor: build/floor, local tiles" "${IMG_W}×${TALL_H}" floor_tall "$TALL_H" -- \
    "$BUILD/floor" "$TREE_TALL" @OUT@

out_of() { echo "$WORK/out-$1.tif"; }
cmd_of() {      # ID -> command line with OUT replaced by the real path
    local c=${CMD[$1]}
    c=${c//@OUT@ /$(printf '%q' "$(out_of "$1")") }
    echo "${c% }"
}

check_output() {    # ID -> 0 if the output exists with the right width/height
    local id=$1 f w h
    f=$(out_of "$id")
    [[ -s $f ]] || { say "$id: no output $f"; return 1; }
    w=$(vipsheader -f width "$f" 2>/dev/null) || { say "$id: vipsheader cannot read $f"; return 1; }
    h=$(vipsheader -f height "$f" 2>/dev/null) || { say "$id: vipsheader cannot read $f"; return 1; }
    if [[ $w != "${EXP_W[$id]}" || $h != "${EXP_H[$id]}" ]]; then
        say "$id: output is ${w}x${h}, expected ${EXP_W[$id]}x${EXP_H[$id]}"
        return 1
    fi
    [[ $(vipsheader -f bands "$f") == 3 ]] || { say "$id: output is not 3-band"; return 1; }
}

run_case() {    # ID TIMEFILE -> runs the case once under /usr/bin/time, checks it
    local id=$1 tf=$2 out log cmd
    out=$(out_of "$id")
    log=$WORK/$id.log
    rm -f "$out" "$out.part"
    cmd=$(cmd_of "$id")
    if ! eval "/usr/bin/time -f '%e %M' -o $(printf '%q' "$tf") $cmd" >"$log" 2>&1; then
        say "$id failed: $cmd"
        sed 's/^/    /' "$log" >&2
        [[ -s $tf ]] && sed 's/^/    time: /' "$tf" >&2
        return 1
    fi
    check_output "$id" || { say "$id produced a bad output: $cmd"; return 1; }
}

max_diff() {    # A.tif B.tif -> max |A-B| over all pixels and bands
    vips subtract "$1" "$2" "$WORK/diff.v" &&
        vips abs "$WORK/diff.v" "$WORK/absdiff.v" &&
        vips max "$WORK/absdiff.v"
    rm -f "$WORK/diff.v" "$WORK/absdiff.v"
}

compression_of() {
    tiffinfo "$1" 2>/dev/null | sed -n 's/^ *Compression Scheme: *//p' | head -n1
}

# ---------------------------------------------------------------- warm-up and checks
declare -A CHECK
say "warm-up pass (untimed): run each case once, check outputs"
for id in "${CASE_IDS[@]}"; do
    say "  $id"
    run_case "$id" "$WORK/warmup.time" || die "warm-up run of $id failed; no timings taken"
done
for id in "${CASE_IDS[@]}"; do
    f=$(out_of "$id")
    fl=$(out_of "${FLOOR_OF[$id]}")
    comp=$(compression_of "$f")
    if [[ $id == "${FLOOR_OF[$id]}" ]]; then
        CHECK[$id]="${EXP_W[$id]}×${EXP_H[$id]} ok; TIFF ${comp:-?}"
    else
        d=$(max_diff "$f" "$fl") || d="?"
        d=${d%%.*}
        CHECK[$id]="${EXP_W[$id]}×${EXP_H[$id]} ok; TIFF ${comp:-?}; max abs diff vs floor: $d"
    fi
    say "  $id: ${CHECK[$id]}"
done
for id in "${CASE_IDS[@]}"; do rm -f "$(out_of "$id")"; done
sync

# ---------------------------------------------------------------- timed rounds
RAW=$WORK/raw.tsv
: >"$RAW"
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
n=${#CASE_IDS[@]}
for (( r = 1; r <= ROUNDS; r++ )); do
    order=()
    for (( i = 0; i < n; i++ )); do order+=("${CASE_IDS[(i + r - 1) % n]}"); done
    say "round $r/$ROUNDS: ${order[*]}"
    pos=0
    for id in "${order[@]}"; do
        pos=$(( pos + 1 ))
        tf=$WORK/$id.time
        rm -f "$tf"
        run_case "$id" "$tf" || die "round $r: $id failed; stopping (no partial results posted)"
        read -r wall rss < <(tail -n1 "$tf")
        [[ $wall =~ ^[0-9.]+$ && $rss =~ ^[0-9]+$ ]] || die "cannot parse /usr/bin/time output: $(cat "$tf")"
        printf '%d\t%d\t%s\t%s\t%s\n' "$r" "$pos" "$id" "$wall" "$rss" >>"$RAW"
        say "    $id: ${wall} s, $(( rss / 1024 )) MiB"
        if [[ ${BENCH_KEEP:-0} != 1 || $r -lt $ROUNDS ]]; then rm -f "$(out_of "$id")"; fi
    done
done

# ---------------------------------------------------------------- report
CASES=$WORK/cases.tsv
: >"$CASES"
for id in "${CASE_IDS[@]}"; do
    printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$id" "${LABEL[$id]}" "${IMAGE[$id]}" "${FLOOR_OF[$id]}" \
        "${CHECK[$id]}" "$(cmd_of "$id")" >>"$CASES"
done
META=$WORK/meta.txt
{
    echo "date: $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
    echo "machine: $(uname -m), $(nproc) CPUs ($(uname -sr)); $(awk '/MemTotal/ {printf "%.1f GiB RAM", $2/1048576}' /proc/meminfo)"
    if cpu=$(grep -m1 'model name' /proc/cpuinfo 2>/dev/null); then echo "cpu: ${cpu#*: }"; fi
    echo "iiifstitch: $("$BUILD/iiifstitch" --version 2>&1 | head -n1)$(cd "$TOP" && rev=$(git rev-parse --short HEAD 2>/dev/null) && echo ", commit $rev")"
    echo "load average (1/5/15 min) before the timed rounds: $LOAD_BEFORE; after: $(cut -d' ' -f1-3 /proc/loadavg)"
    echo "rounds: $ROUNDS timed, after one untimed warm-up pass; case order rotates each round"
    echo "server: nginx $(/usr/sbin/nginx -v 2>&1 | sed 's|.*/||'), 1 worker, keep-alive on, 127.0.0.1:$BENCH_HTTP_PORT, access log off"
    echo "image ${IMG_W}×${IMG_H}: $(tile_stats "$TREE" "$IMG_W" "$IMG_H")"
    echo "image ${IMG_W}×${TALL_H}: $(tile_stats "$TREE_TALL" "$IMG_W" "$TALL_H")"
    echo "trees: $(vips --version) \`dzsave --layout iiif --tile-size $TILE --suffix .jpg[Q=$JPEG_Q]\` of make_image.py output"
    echo "tools: $(curl --version | head -n1 | cut -d' ' -f1-2), $("$PY" -c 'import sys, cv2, numpy, requests; print("Python %s, OpenCV %s, numpy %s, requests %s" % (sys.version.split()[0], cv2.__version__, numpy.__version__, requests.__version__))')"
    echo "curl+vips internals: \`curl --no-progress-meter --parallel --parallel-max ${CURL_PARALLEL_MAX:-8} --fail -sS -K CONFIG\` (url/output pairs, raster order) into a temp dir, then \`vips arrayjoin TILES JOINED.v --across COLS\` and \`vips crop JOINED.v OUT.tif[compression=none] 0 0 W H\`"
    echo "seed method: one requests.get per tile (no Session: a new connection each), cv2.imdecode into one H×W×3 array, cv2.imwrite (OpenCV's default TIFF compression, LZW)"
    echo "outputs written to $WORK (same disk as the build), each deleted after it is checked"
} >"$META"

"$PY" "$HERE/report.py" "$CASES" "$RAW" "$META" >"$OUTDIR/results.md"
cp "$RAW" "$OUTDIR/raw.tsv"
cat "$OUTDIR/results.md"
say "report written to $OUTDIR/results.md"
