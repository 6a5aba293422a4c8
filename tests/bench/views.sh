#!/usr/bin/env bash
# views.sh - the views part of `make bench` (after run.sh, which makes the data): the
# 7216x5412 RGB tree from nginx, 4 connections, with no view and with each streamed view.
# A rotation by 90/270 makes bands of the turned image (5412 px wide, 256 rows), 180 walks
# tile rows bottom-up; memory should stay one band plus the window in every case.
#
#   tests/bench/views.sh        3 interleaved rounds (BENCH_ROUNDS=N)
#
# Medians of wall time and the largest peak RSS go to build/bench/views.md. A measurement,
# not a test: nothing here asserts a time.
set -euo pipefail
TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$TOP"
. tests/lib/common.sh
. tests/lib/nginx.sh
unset http_proxy HTTP_PROXY https_proxy HTTPS_PROXY no_proxy NO_PROXY

ROUNDS=${BENCH_ROUNDS:-3}
B=${BENCH_BUILD:-$TOP/build}
WWW=$B/bench/data/www
OUT=$B/bench
[[ -f $WWW/photo/info.json ]] || { echo "views.sh: no $WWW/photo: run tests/bench/run.sh first" >&2; exit 1; }

t_init
nginx_start "$WWW"
H=http://127.0.0.1:$NGINX_HTTP_PORT/photo/info.json
RAW=$T_WORK/raw

names=(none rotate_180 rotate_90 mirror_rotate_270 region_rotate_90 gray_rotate_90)
args=("" "--rotate 180" "--rotate 90" "--mirror --rotate 270"
      "--region 1000,1000,4000,3000 --rotate 90" "--quality gray --rotate 90")
run_case() { # I
    local tif=$T_WORK/out.tif
    rm -f "$tif"
    # shellcheck disable=SC2086
    /usr/bin/time -f '%e %M' -o "$T_WORK/time" "$B/iiifstitch" -q ${args[$1]} -o "$tif" "$H" \
        2>"$T_WORK/err" >/dev/null ||
        { echo "views.sh: ${names[$1]} failed: $(head -c 300 "$T_WORK/err")" >&2; exit 1; }
    echo "${names[$1]} $(cat "$T_WORK/time")" >>"$RAW"
}
for (( i = 0; i < ${#names[@]}; i++ )); do run_case "$i"; done   # warm-up
: >"$RAW"
for (( r = 0; r < ROUNDS; r++ )); do
    for (( i = 0; i < ${#names[@]}; i++ )); do run_case $(( (i + r) % ${#names[@]} )); done
done

python3 - "$RAW" "$ROUNDS" "${names[@]}" >"$OUT/views.md" <<'EOF'
import statistics, sys
raw, rounds, names = sys.argv[1], sys.argv[2], sys.argv[3:]
t, m = {}, {}
for line in open(raw):
    name, secs, kb = line.split()
    t.setdefault(name, []).append(float(secs)); m.setdefault(name, []).append(int(kb))
print("| view | median s | peak RSS MiB | time ÷ none |")
print("|---|---|---|---|")
base = statistics.median(t["none"])
for k in names:
    print("| %s | %.3f | %.1f | %.2f× |" % (k, statistics.median(t[k]), max(m[k]) / 1024,
                                           statistics.median(t[k]) / base))
print()
print("%s interleaved rounds, 4 connections, nginx on 127.0.0.1; medians." % rounds)
EOF
cat "$OUT/views.md"
