#!/usr/bin/env bash
# net.sh - the network half of `make bench` (after run.sh, which makes the data).
#
#   tests/bench/net.sh          5 interleaved rounds (BENCH_ROUNDS=N), 2 latency rounds
#
# Side by side, in one run, on the cached 7216x5412 tree (build/bench/data):
#   floor            build/floor TREE OUT.tif (local files, one thread: the yardstick)
#   http c4          iiifstitch over HTTP from nginx, 4 connections (the default)
#   https c4         the same over HTTPS (test CA made here)
#   http c8          8 connections; its peak RSS is the memory figure
#   latency c4/c8    the fault server delaying every response by 50 ms; compared
#                    with the ideal requests x 50 ms / connections
# Every timed output's size is checked. Medians go to build/bench/net.md.
# A measurement, not a test: nothing here asserts a time.
set -euo pipefail
TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$TOP"
. tests/lib/common.sh
. tests/lib/nginx.sh
. tests/lib/fault.sh
unset http_proxy HTTP_PROXY https_proxy HTTPS_PROXY no_proxy NO_PROXY

ROUNDS=${BENCH_ROUNDS:-5}
LAT_ROUNDS=${BENCH_LAT_ROUNDS:-2}
B=${BENCH_BUILD:-$TOP/build}
WWW=$B/bench/data/www
OUT=$B/bench
[[ -f $WWW/photo/info.json ]] || { echo "net.sh: no $WWW/photo: run tests/bench/run.sh first" >&2; exit 1; }

t_init
nginx_start "$WWW"
fault_start "$WWW" --fault '*' 'delay:50'
H=http://127.0.0.1:$NGINX_HTTP_PORT/photo/info.json
S=https://localhost:$NGINX_HTTPS_PORT/photo/info.json
F=http://127.0.0.1:$FAULT_PORT/photo/info.json
RAW=$T_WORK/raw
: >"$RAW"

timed() { # NAME CMD...: run under /usr/bin/time, check the output, log "NAME secs kb"
    local name=$1 tif=$T_WORK/out.tif
    shift
    rm -f "$tif"
    /usr/bin/time -f '%e %M' -o "$T_WORK/time" "$@" "$tif" 2>"$T_WORK/err" >/dev/null ||
        { echo "net.sh: $name failed: $(head -c 300 "$T_WORK/err")" >&2; exit 1; }
    [[ $(vipsheader -f width "$tif")x$(vipsheader -f height "$tif") = 7216x5412 ]] ||
        { echo "net.sh: $name: wrong output size" >&2; exit 1; }
    echo "$name $(cat "$T_WORK/time")" >>"$RAW"
}

cases=(floor http_c4 https_c4 http_c8)
run_case() {
    case $1 in
    floor) timed floor "$B/floor" "$WWW/photo" ;;
    http_c4) timed http_c4 "$B/iiifstitch" -q "$H" -o ;;
    https_c4) timed https_c4 "$B/iiifstitch" -q --cacert "$T_WORK/pki/ca.pem" "$S" -o ;;
    http_c8) timed http_c8 "$B/iiifstitch" -q --connections 8 "$H" -o ;;
    esac
}
for c in "${cases[@]}"; do run_case "$c"; done # warm-up
: >"$RAW"
for (( r = 0; r < ROUNDS; r++ )); do
    for (( i = 0; i < ${#cases[@]}; i++ )); do run_case "${cases[(i + r) % ${#cases[@]}]}"; done
done
for (( r = 0; r < LAT_ROUNDS; r++ )); do
    for c in 4 8; do
        timed "latency_c$c" "$B/iiifstitch" -q --connections "$c" "$F" -o
    done
done
REQS=$(awk 'END { print NR }' "$FAULT_LOG")
REQS=$(( REQS / (LAT_ROUNDS * 2) ))

python3 - "$RAW" "$REQS" "$ROUNDS" "$LAT_ROUNDS" >"$OUT/net.md" <<'EOF'
import statistics, sys
raw, reqs, rounds, lat = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
t, m = {}, {}
for line in open(raw):
    name, secs, kb = line.split()
    t.setdefault(name, []).append(float(secs)); m.setdefault(name, []).append(int(kb))
med = {k: statistics.median(v) for k, v in t.items()}
rss = {k: max(v) / 1024 for k, v in m.items()}
print("| case | median s | min–max s | peak RSS MiB | ratio |")
print("|---|---|---|---|---|")
ref = {"http_c4": "floor", "http_c8": "floor", "https_c4": "http_c4"}
for k in ["floor", "http_c4", "https_c4", "http_c8"]:
    r = "%.2f× %s" % (med[k] / med[ref[k]], ref[k]) if k in ref else "1"
    print("| %s | %.3f | %.3f–%.3f | %.1f | %s |" % (k, med[k], min(t[k]), max(t[k]), rss[k], r))
for c in (4, 8):
    k = "latency_c%d" % c
    ideal = reqs * 0.050 / c
    print("| %s (50 ms) | %.2f | %.2f–%.2f | %.1f | %.3f× ideal %.2f s (%d requests) |"
          % (k, med[k], min(t[k]), max(t[k]), rss[k], med[k] / ideal, ideal, reqs))
print()
print("%s interleaved rounds, %s latency rounds; medians." % (rounds, lat))
EOF
cat "$OUT/net.md"
