#!/usr/bin/env bash
# compress.sh - the outputs half of `make bench` (after run.sh, which makes the data).
#
#   tests/bench/compress.sh     3 interleaved rounds (BENCH_OUT_ROUNDS=N)
#
# On the cached 7216x5412 tree (build/bench/data), served by nginx, iiifstitch
# with its defaults (4 connections) writes a TIFF file with each compression
# (JPEG at the default quality), then the sequential TIFF and a PPM to stdout
# (redirected to a file). The order rotates every round. Every output's
# width and height are checked; lossless ones are compared pixel by pixel
# with the uncompressed one in the warm-up pass. Medians of wall time and
# peak RSS, and the size, go to build/bench/compress.md.
# A measurement, not a test: nothing here asserts a time.
set -euo pipefail
TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$TOP"
. tests/lib/common.sh
. tests/lib/nginx.sh
unset http_proxy HTTP_PROXY https_proxy HTTPS_PROXY no_proxy NO_PROXY

ROUNDS=${BENCH_OUT_ROUNDS:-3}
B=${BENCH_BUILD:-$TOP/build}
WWW=$B/bench/data/www
OUT=$B/bench
[[ -f $WWW/photo/info.json ]] || { echo "compress.sh: no $WWW/photo: run tests/bench/run.sh first" >&2; exit 1; }

t_init
nginx_start "$WWW"
H=http://127.0.0.1:$NGINX_HTTP_PORT/photo/info.json
RAW=$T_WORK/raw
cases=(none deflate lzw zstd jpeg stdout_tiff stdout_ppm resume_none resume_deflate)

run_case() { # CASE: one timed run, its output checked; logs "CASE secs kb bytes"
    local c=$1 f=$T_WORK/$1.out
    rm -f "$f"
    case $c in
    stdout_tiff) /usr/bin/time -f '%e %M' -o "$T_WORK/time" "$B/iiifstitch" -q -o - "$H" >"$f" ;;
    stdout_ppm) /usr/bin/time -f '%e %M' -o "$T_WORK/time" "$B/iiifstitch" -q --format pnm -o - "$H" >"$f" ;;
    resume_*) /usr/bin/time -f '%e %M' -o "$T_WORK/time" "$B/iiifstitch" -q --resume \
                  --compression "${c#resume_}" "$H" -o "$f" ;;
    *) /usr/bin/time -f '%e %M' -o "$T_WORK/time" "$B/iiifstitch" -q --compression "$c" "$H" -o "$f" ;;
    esac
    [[ $c = stdout_ppm ]] && mv "$f" "$f.ppm" && f=$f.ppm
    [[ $(vipsheader -f width "$f")x$(vipsheader -f height "$f") = 7216x5412 ]] ||
        { echo "compress.sh: $c: wrong output size" >&2; exit 1; }
    echo "$c $(cat "$T_WORK/time") $(stat -c %s "$f")" >>"$RAW"
    LAST=$f
}

# warm-up, with the lossless outputs compared against the uncompressed one
for c in "${cases[@]}"; do
    run_case "$c"
    case $c in
    none) cp "$LAST" "$T_WORK/ref.tif" ;;
    jpeg) ;;
    *) tests/lib/pixcmp.sh "$LAST" "$T_WORK/ref.tif" ||
           { echo "compress.sh: $c differs from none" >&2; exit 1; } ;;
    esac
done
: >"$RAW"
for (( r = 0; r < ROUNDS; r++ )); do
    for (( i = 0; i < ${#cases[@]}; i++ )); do run_case "${cases[(i + r) % ${#cases[@]}]}"; done
done

python3 - "$RAW" "$ROUNDS" >"$OUT/compress.md" <<'EOF2'
import statistics, sys
raw, rounds = sys.argv[1], sys.argv[2]
t, m, size = {}, {}, {}
for line in open(raw):
    name, secs, kb, n = line.split()
    t.setdefault(name, []).append(float(secs)); m.setdefault(name, []).append(int(kb))
    size[name] = int(n)
base = size["none"]
label = {"none": "TIFF, none", "deflate": "TIFF, deflate + predictor",
         "lzw": "TIFF, LZW + predictor", "zstd": "TIFF, zstd + predictor",
         "jpeg": "TIFF, JPEG q90 (YCbCr 4:2:0)", "stdout_tiff": "stdout, sequential TIFF",
         "stdout_ppm": "stdout, PPM", "resume_none": "--resume, none (own writer)",
         "resume_deflate": "--resume, deflate + predictor (own writer, zlib)"}
print("| output | size MB | × none | median s | min–max s | peak RSS MiB |")
print("|---|---:|---:|---:|---:|---:|")
for k in ["none", "deflate", "lzw", "zstd", "jpeg", "stdout_tiff", "stdout_ppm", "resume_none",
          "resume_deflate"]:
    print("| %s | %.1f | %.2f | %.2f | %.2f–%.2f | %.1f |" % (label[k], size[k] / 1e6,
          size[k] / base, statistics.median(t[k]), min(t[k]), max(t[k]),
          statistics.median(m[k]) / 1024))
print()
print("%s interleaved rounds after a warm-up; medians." % rounds)
EOF2
cat "$OUT/compress.md"
