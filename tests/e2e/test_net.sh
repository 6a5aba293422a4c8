#!/usr/bin/env bash
# test_net.sh - retries and politeness against the fault server on 127.0.0.1:
# each scenario asserts the outcome (exact pixels after retries, or a clean
# failure with no output) and what the server saw (requests per URL).
# The last line is "N passed, N failed".
set -euo pipefail

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$TOP"
. tests/lib/common.sh
. tests/lib/fault.sh
unset http_proxy HTTP_PROXY https_proxy HTTPS_PROXY no_proxy NO_PROXY

IIIFSTITCH=${IIIFSTITCH:-build/iiifstitch}
BIN=$IIIFSTITCH
[[ $BIN = /* ]] || BIN=$TOP/$BIN
read -ra WRAP_ARR <<<"${WRAP:-}"

t_init
OUT=$T_WORK/out
mkdir -p "$OUT"
DATA=${TREES_CACHE:-$T_WORK/data}
[[ -f $DATA/iiif/v2_256/info.json ]] || bash tests/e2e/make_trees.sh "$DATA" >/dev/null
REF=$DATA/ref/v2_256.v
fault_start "$DATA/iiif"
F=http://127.0.0.1:$FAULT_PORT/v2_256/info.json
TILE=/v2_256/256,256,256,256/256,/0/default.jpg

run() { # NAME ARGS...: stitch $F into $OUT/NAME.tif; sets RC, ERR, SECS
    local name=$1 t0
    shift
    ERR=$OUT/$name.err
    RC=0
    t0=$(date +%s%N)
    timeout -k 5 120 "${WRAP_ARR[@]}" "$BIN" -q -o "$OUT/$name.tif" "$@" "$F" \
        >/dev/null 2>"$ERR" </dev/null || RC=$?
    SECS=$(( ($(date +%s%N) - t0) / 1000000 ))
}

exact() { # NAME: the output exists, no .part, pixels equal the reference
    [[ $RC = 0 ]] || { echo "exit $RC: $(head -c 300 "$ERR")"; return 1; }
    [[ ! -e $OUT/$1.tif.part ]] || { echo ".part left behind"; return 1; }
    bash tests/lib/pixcmp.sh "$OUT/$1.tif" "$REF" >/dev/null ||
        { echo "pixels differ from the reference"; return 1; }
}

failed() { # NAME RC REGEX: clean failure, one line, no output
    [[ $RC = "$2" ]] || { echo "exit $RC, want $2: $(head -c 300 "$ERR")"; return 1; }
    [[ $(wc -l <"$ERR") = 1 ]] || { echo "stderr has $(wc -l <"$ERR") lines"; return 1; }
    grep -qE "$3" "$ERR" || { echo "stderr lacks /$3/: $(head -c 300 "$ERR")"; return 1; }
    [[ ! -e $OUT/$1.tif && ! -e $OUT/$1.tif.part ]] || { echo "output left behind"; return 1; }
}

served() { fault_count "$1"; }

check() { # NAME CMD...: pass when CMD prints nothing and succeeds
    local why
    if why=$("${@:2}"); then t_pass "$1"; else t_fail "$1" "$why"; fi
}

# 503 three times, then the tile: retried with backoff, exact pixels, 4 requests
fault_scenario '[{"match": "'"$TILE"'", "fault": "status:503", "times": 3}]'
run retry_503_burst --connections 4
check retry_503_burst exact retry_503_burst
n=$(served "$TILE")
[[ $n = 4 ]] && t_pass retry_503_burst_requests || t_fail retry_503_burst_requests "$n requests"

# 503 for ever: 5 tries (--retries 4), then one line naming URL, status, tries
fault_scenario '[{"match": "'"$TILE"'", "fault": "status:503"}]'
run retry_503_forever --retries 4
check retry_503_forever failed retry_503_forever 5 "HTTP 503.*256,256,256,256.*after 5 tries"
n=$(served "$TILE")
[[ $n = 5 ]] && t_pass retry_503_forever_requests || t_fail retry_503_forever_requests "$n requests"

# 404 is final: one request, exit 5
fault_scenario '[{"match": "'"$TILE"'", "fault": "status:404"}]'
run no_retry_404
check no_retry_404 failed no_retry_404 5 "HTTP 404"
n=$(served "$TILE")
[[ $n = 1 ]] && t_pass no_retry_404_requests || t_fail no_retry_404_requests "$n requests"

# 403 is final too
fault_scenario '[{"match": "'"$TILE"'", "fault": "status:403"}]'
run no_retry_403
n=$(served "$TILE")
[[ $RC = 5 && $n = 1 ]] && t_pass no_retry_403 || t_fail no_retry_403 "exit $RC, $n requests"

# an HTML page with status 200 is bad data, not a transient failure: no retry
fault_scenario '[{"match": "'"$TILE"'", "fault": "html200"}]'
run no_retry_html200
check no_retry_html200 failed no_retry_html200 6 "JPEG"
n=$(served "$TILE")
[[ $n = 1 ]] && t_pass no_retry_html200_requests || t_fail no_retry_html200_requests "$n requests"

# 429 with Retry-After: 2, once: the run waits at least that long, exact pixels
fault_scenario '[{"match": "'"$TILE"'", "fault": "status:429", "times": 1, "headers": {"Retry-After": "2"}}]'
run retry_after_seconds
check retry_after_seconds exact retry_after_seconds
(( SECS >= 2000 )) && t_pass retry_after_waited || t_fail retry_after_waited "finished in ${SECS} ms"

# the same as an HTTP date 3 s ahead (1 s resolution: at least 2 s)
when=$(date -u -d '+3 seconds' '+%a, %d %b %Y %H:%M:%S GMT')
fault_scenario '[{"match": "'"$TILE"'", "fault": "status:429", "times": 1, "headers": {"Retry-After": "'"$when"'"}}]'
run retry_after_date
check retry_after_date exact retry_after_date
(( SECS >= 2000 )) && t_pass retry_after_date_waited || t_fail retry_after_date_waited "finished in ${SECS} ms"

# a connection closed mid-body, once: retried, exact
fault_scenario '[{"match": "'"$TILE"'", "fault": "truncate", "times": 1}]'
run retry_truncated
check retry_truncated exact retry_truncated
n=$(served "$TILE")
[[ $n = 2 ]] && t_pass retry_truncated_requests || t_fail retry_truncated_requests "$n requests"

# a stalled body, once, with --timeout 1: retried, exact
fault_scenario '[{"match": "'"$TILE"'", "fault": "stall", "times": 1}]'
run retry_stalled --timeout 1
check retry_stalled exact retry_stalled

# stalled for ever: exit 3, nothing left behind
fault_scenario '[{"match": "'"$TILE"'", "fault": "stall"}]'
run stalled_forever --timeout 1 --retries 1
check stalled_forever failed stalled_forever 3 "tim.*after 2 tries"

# the info.json itself: 502 twice, then fine
fault_scenario '[{"match": "/v2_256/info.json", "fault": "status:502", "times": 2}]'
run retry_info_502
check retry_info_502 exact retry_info_502

# every response chunked, 8 connections: exact
fault_scenario '[{"match": "/v2_256/*", "fault": "chunked:1000"}]'
run chunked_8 --connections 8
check chunked_8 exact chunked_8

# --rate 20: 20 tile requests (+ info.json) cannot take less than about 0.95 s
fault_scenario '[]'
run rate_20 --rate 20
check rate_20 exact rate_20
(( SECS >= 900 )) && t_pass rate_20_spacing || t_fail rate_20_spacing "finished in ${SECS} ms"

# connections: 4 by default, never more than asked
fault_scenario '[{"match": "/v2_256/*", "fault": "delay:30"}]'
run conns_2 --connections 2
check conns_2 exact conns_2
n=$(awk '{ c[$4] = 1 } END { print length(c) }' "$FAULT_LOG")
(( n <= 2 )) && t_pass conns_2_used || t_fail conns_2_used "$n connections"

t_summary
