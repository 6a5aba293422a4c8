#!/usr/bin/env bash
# memory.sh BOARD — peak RSS of the 7216x5412 benchmark job run by the
# board's binary under qemu-user (make BOARD=name memory).
#
# The tree and the nginx are the benchmark's (tests/bench: make_image.py,
# dzsave --layout iiif, tile 256, Q 85; cached in build/bench/data). qemu-user's
# RSS includes the emulator and its translated-code cache, so the same
# binary is also measured doing nothing (--version): the difference is
# closer to what the tool itself adds. The tool's own accounting is its
# final --progress line. --max-memory 8M is passed when the tool has it.
set -euo pipefail
TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$TOP"
BOARD=${1:?usage: boards/memory.sh BOARD}
if [[ $BOARD = host ]]; then BUILD=${BUILD:-build}; else BUILD=${BUILD:-build/$BOARD}; fi
RUNNER=$(make -s --no-print-directory BOARD="$BOARD" print-runner)
BIN=$BUILD/iiifstitch
[[ -x $BIN ]] || { echo "memory: $BIN not built (make BOARD=$BOARD)" >&2; exit 1; }
DATA=$TOP/build/bench/data
W=7216 H=5412
if [[ ! -f $DATA/www/photo/info.json ]]; then
    echo "memory: generating the ${W}x${H} tree once into $DATA" >&2
    tmp=$(mktemp -d)
    /usr/bin/python3 tests/bench/make_image.py $W $H 1 "$tmp/photo.ppm"
    vips dzsave "$tmp/photo.ppm" "$tmp/photo" --layout iiif --tile-size 256 --suffix ".jpg[Q=85]"
    mkdir -p "$DATA/www"
    mv "$tmp/photo" "$DATA/www/photo"
    rm -rf "$tmp"
fi
WORK=$(mktemp -d)
# shellcheck source=tests/bench/nginx_bench.sh
source tests/bench/nginx_bench.sh
trap 'bench_nginx_stop; rm -rf "$WORK"' EXIT
bench_nginx_start "$DATA/www" "$WORK/nginx"
URL=http://127.0.0.1:$BENCH_HTTP_PORT/photo/info.json
read -ra RUN <<<"$RUNNER"
cap=()
if "${RUN[@]}" "$BIN" --help 2>&1 | grep -q -- --max-memory; then
    cap=(--max-memory 8M)
else
    echo "note: this build has no --max-memory option: run without a cap" >&2
fi
/usr/bin/time -f '%M' -o "$WORK/idle" "${RUN[@]}" "$BIN" --version >/dev/null
/usr/bin/time -f '%e %M' -o "$WORK/job" "${RUN[@]}" "$BIN" "${cap[@]}" --progress \
    -o "$WORK/out.tif" "$URL" 2>"$WORK/err"
tr '\r' '\n' <"$WORK/err" | grep -v '^$' | tail -n 2
read -r secs rss <"$WORK/job"
idle=$(<"$WORK/idle")
echo "board $BOARD: ${W}x${H} in ${secs}s, peak RSS ${rss} KiB (runner: ${RUNNER:-native});" \
     "the same binary printing --version: ${idle} KiB; difference $((rss - idle)) KiB"
