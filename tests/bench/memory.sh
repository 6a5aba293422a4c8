#!/usr/bin/env bash
# memory.sh - the client part of `make bench` (after run.sh, which makes the data):
#   1. peak RSS against --max-memory: the 7216x5412 tree at 8M, 16M and 32M, and a
#      tree of 16 MiB tiles (make_fat.py) at 4 and 16 connections with the default 32M;
#      the target is peak RSS <= cap + the process alone (iiifstitch --version);
#   2. one client for a batch: 40 images of the small tree over HTTPS with --jobs 4,
#      wall time and the TLS connections nginx saw.
# Each case also runs the binary of BENCH_BASE (a commit, default the one before the
# client landed), built once into build/bench/base-COMMIT, side by side in the same
# rounds.
#
#   tests/bench/memory.sh        3 interleaved rounds (BENCH_ROUNDS=N)
#
# Medians to build/bench/memory.md. A measurement, not a test: nothing asserts a number.
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
BASE=${BENCH_BASE:-68b543a}
[[ -f $WWW/photo/info.json ]] || { echo "memory.sh: no $WWW/photo: run tests/bench/run.sh first" >&2; exit 1; }

# the baseline binary, built once from its commit
BASEDIR=$OUT/base-$BASE
if [[ ! -x $BASEDIR/build/iiifstitch ]]; then
    rm -rf "$BASEDIR"
    mkdir -p "$BASEDIR"
    git archive "$BASE" | tar -x -C "$BASEDIR"
    make -s -C "$BASEDIR" build/iiifstitch >/dev/null
fi
NEW=$B/iiifstitch
OLD=$BASEDIR/build/iiifstitch

t_init
[[ -d $WWW/fat16 ]] || /usr/bin/python3 tests/bench/make_fat.py "$WWW/fat16" 16
mkdir -p "$T_WORK/www"
ln -s "$WWW/photo" "$T_WORK/www/photo"
ln -s "$WWW/fat16" "$T_WORK/www/fat16"
[[ -d $T_WORK/data ]] || tests/e2e/make_trees.sh "$T_WORK/data" >/dev/null
ln -s "$T_WORK/data/iiif/tiny_v3" "$T_WORK/www/tiny"
nginx_start "$T_WORK/www"
H=http://127.0.0.1:$NGINX_HTTP_PORT
S=https://localhost:$NGINX_HTTPS_PORT
RAW=$T_WORK/raw
{ echo "id,url"; for i in $(seq 1 40); do echo "i$i,$S/tiny/info.json"; done; } >"$T_WORK/forty.csv"

cases=(version mem8 mem16 mem32 fat4 fat16 batch40)
args() { # CASE: the arguments
    case $1 in
        version) echo "--version" ;;
        mem8) echo "-q --max-memory 8M -o $T_WORK/o.tif $H/photo/info.json" ;;
        mem16) echo "-q --max-memory 16M -o $T_WORK/o.tif $H/photo/info.json" ;;
        mem32) echo "-q --max-memory 32M -o $T_WORK/o.tif $H/photo/info.json" ;;
        fat4) echo "-q --connections 4 -o $T_WORK/o.tif $H/fat16/info.json" ;;
        fat16) echo "-q --connections 16 -o $T_WORK/o.tif $H/fat16/info.json" ;;
        batch40) echo "-q --csv $T_WORK/forty.csv --url-column url --name {id} --out-dir $T_WORK/forty --jobs 4 --cacert $T_WORK/pki/ca.pem" ;;
    esac
}
run_case() { # CASE WHICH
    local bin=$NEW rc=0
    [[ $2 = old ]] && bin=$OLD
    rm -rf "$T_WORK/o.tif" "$T_WORK/forty"
    local before
    before=$(wc -l <"$NGINX_DIR/logs/access.log")
    # shellcheck disable=SC2046
    /usr/bin/time -f '%e %M' -o "$T_WORK/time" "$bin" $(args "$1") >/dev/null 2>"$T_WORK/err" || rc=$?
    local conns
    conns=$(tail -n +"$((before + 1))" "$NGINX_DIR/logs/access.log" | awk '{ print $4 }' | sort -u | grep -c . || true)
    echo "$1 $2 $(tail -n 1 "$T_WORK/time") $conns $rc $(head -c 120 "$T_WORK/err" | tr '\n' ' ')" >>"$RAW"
}
for c in "${cases[@]}"; do run_case "$c" new; run_case "$c" old; done      # warm-up
: >"$RAW"
for (( r = 0; r < ROUNDS; r++ )); do
    for (( i = 0; i < ${#cases[@]}; i++ )); do
        c=${cases[$(( (i + r) % ${#cases[@]} ))]}
        if (( (i + r) % 2 )); then run_case "$c" new; run_case "$c" old; else run_case "$c" old; run_case "$c" new; fi
    done
done

python3 - "$RAW" "$ROUNDS" "$BASE" >"$OUT/memory.md" <<'EOF'
import statistics, sys
raw, rounds, base = sys.argv[1], sys.argv[2], sys.argv[3]
t, m, c, rcs, errs = {}, {}, {}, {}, {}
for line in open(raw):
    f = line.split(None, 6)
    key = (f[0], f[1])
    t.setdefault(key, []).append(float(f[2])); m.setdefault(key, []).append(int(f[3]))
    c.setdefault(key, []).append(int(f[4])); rcs.setdefault(key, set()).add(f[5])
    if f[5] != "0" and len(f) > 6: errs[key] = f[6].strip()
med = lambda v: statistics.median(v)
alone = med(m[("version", "new")]) / 1024
caps = {"mem8": 8, "mem16": 16, "mem32": 32, "fat4": 32, "fat16": 32}
what = {"mem8": "7216x5412, --max-memory 8M", "mem16": "7216x5412, --max-memory 16M",
        "mem32": "7216x5412, --max-memory 32M", "fat4": "16 MiB tiles, 4 connections (32M)",
        "fat16": "16 MiB tiles, 16 connections (32M)",
        "batch40": "40 images over HTTPS, --jobs 4 (4 connections)"}
print("| case | peak RSS MiB | cap + alone | within | base %s: peak RSS MiB | wall s | base wall s | TLS conns | base TLS conns |" % base)
print("|---|---:|---:|---|---:|---:|---:|---:|---:|")
for k in ["mem8", "mem16", "mem32", "fat4", "fat16", "batch40"]:
    n, o = (k, "new"), (k, "old")
    rn, ro = med(m[n]) / 1024, med(m[o]) / 1024
    bound = caps.get(k, 0) + alone
    within = ("yes" if rn <= bound else "NO") if k in caps else ""
    exits = "" if rcs[n] == {"0"} else " (exit %s: %s)" % (",".join(sorted(rcs[n])), errs.get(n, ""))
    bexits = "" if rcs[o] == {"0"} else " (exit %s)" % ",".join(sorted(rcs[o]))
    print("| %s%s | %.1f | %s | %s | %.1f%s | %.2f | %.2f | %s | %s |" % (
        what[k], exits, rn, "%.1f" % bound if k in caps else "", within, ro, bexits,
        med(t[n]), med(t[o]), med(c[n]) if k == "batch40" else "",
        med(c[o]) if k == "batch40" else ""))
print()
print("The process alone (`iiifstitch --version`): %.1f MiB (base: %.1f MiB). %s interleaved "
      "rounds, nginx on 127.0.0.1, medians." % (alone, med(m[("version", "old")]) / 1024, rounds))
EOF
cat "$OUT/memory.md"
