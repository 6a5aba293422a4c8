#!/usr/bin/env bash
# test_net.sh - retries and politeness against the fault server on 127.0.0.1:
# each scenario asserts the outcome (exact pixels after retries, or a clean
# failure with no output) and what the server saw (requests per URL).
# The last line is "N passed, N failed, N skipped".
set -euo pipefail

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$TOP"
. tests/lib/common.sh
. tests/lib/fault.sh
. tests/lib/refimage.sh
. tests/lib/data.sh
unset http_proxy HTTP_PROXY https_proxy HTTPS_PROXY no_proxy NO_PROXY

t_init
t_binary
OUT=$T_WORK/out
mkdir -p "$OUT"
data_ready
REF=$DATA/ref/v2_256.v

# The Dead Sea Scrolls shape, served by the fault server's synthetic images: 7216x5412,
# 256-px tiles, level 1; "dss" declares no limits, "dssmax" declares maxWidth/maxHeight 1000,
# "dsslie" declares 2000 but the clamp rule below still shrinks at 1000.
SYN=$T_WORK/synth
mkdir -p "$SYN"
/usr/bin/python3 - tests/fixtures/dss-info.json "$SYN" <<'EOF'
import json, sys
info = json.load(open(sys.argv[1]))
for name, cap in (("dssmax", 1000), ("dsslie", 2000)):
    doc = json.loads(json.dumps(info))
    doc["profile"][1].update({"maxWidth": cap, "maxHeight": cap})
    json.dump(doc, open("%s/%s.json" % (sys.argv[2], name), "w"), indent=1)
EOF
DSS_PGM=$DATA/synth/dss.pgm
fault_start "$DATA/iiif" --synth dss "$DSS_PGM" tests/fixtures/dss-info.json \
    --synth dssmax "$DSS_PGM" "$SYN/dssmax.json" \
    --synth dsslie "$DSS_PGM" "$SYN/dsslie.json"
F=http://127.0.0.1:$FAULT_PORT/v2_256/info.json
TILE=/v2_256/256,256,256,256/256,/0/default.jpg

run() { # NAME ARGS...: stitch $F quietly into $OUT/NAME.tif; sets RC, ERR, SECS
    run_src "$F" "$1" -q "${@:2}"
}

run_src() { # SOURCE NAME ARGS...: stitch SOURCE into $OUT/NAME.tif; sets RC, ERR, SECS
    local src=$1 name=$2 t0
    shift 2
    ERR=$OUT/$name.err
    RC=0
    t0=$(date +%s%N)
    timeout -k 5 300 "${WRAP_ARR[@]}" "$BIN" -o "$OUT/$name.tif" "$@" "$src" \
        >/dev/null 2>"$ERR" </dev/null || RC=$?
    SECS=$(( ($(date +%s%N) - t0) / 1000000 ))
}

exact() { # NAME [REFERENCE]: the output exists, no .part, pixels equal the reference
    [[ $RC = 0 ]] || { echo "exit $RC: $(head -c 300 "$ERR")"; return 1; }
    [[ ! -e $OUT/$1.tif.part ]] || { echo ".part left behind"; return 1; }
    bash tests/lib/pixcmp.sh "$OUT/$1.tif" "${2:-$REF}" >/dev/null ||
        { echo "pixels differ from the reference"; return 1; }
}

says() { # REGEX: stderr of the last run matches
    grep -qE "$1" "$ERR" || { echo "stderr lacks /$1/: $(head -c 300 "$ERR")"; return 1; }
}

is() { # WHAT GOT WANT
    [[ $2 = "$3" ]] || { echo "$1: $2, want $3"; return 1; }
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

# every response chunked, on as many connections as this build allows (8 on most): exact
CAP=$("${WRAP_ARR[@]}" "$BIN" --help | sed -n 's/.*connections, 1\.\.\([0-9]*\).*/\1/p')
CAP=$(( ${CAP:-4} < 8 ? ${CAP:-4} : 8 ))
fault_scenario '[{"match": "/v2_256/*", "fault": "chunked:1000"}]'
run chunked_many --connections "$CAP"
check chunked_many exact chunked_many

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

# --allow-partial: a tile lost for good (404; an HTML page) is filled with 128, listed on one
# line, the image is written and the exit code is 9; the first tile too
partial_ref() { # OUT.v X Y: the reference with the 256x256 tile at X,Y filled with 128
    cp "$REF" "$1"
    vips draw_rect "$1" "128 128 128" "$2" "$3" 256 256 --fill
}
for case in "partial_404 $TILE status:404 256 256 1,1" \
            "partial_html $TILE html200 256 256 1,1" \
            "partial_first /v2_256/0,0,256,256/256,/0/default.jpg status:404 0 0 0,0"; do
    read -r name path spec x y nm <<<"$case"
    fault_scenario '[{"match": "'"$path"'", "fault": "'"$spec"'"}]'
    run_src "$F" "$name" --allow-partial
    partial_ref "$OUT/$name.ref.v" "$x" "$y"
    if [[ $RC != 9 ]]; then t_fail "$name" "exit $RC, want 9: $(head -c 300 "$ERR")"
    elif ! grep -qE "is partial: 1 tile filled with 128: $nm\$" "$ERR"; then
        t_fail "$name" "no list of the missing tile: $(tail -n 2 "$ERR")"
    elif ! bash tests/lib/pixcmp.sh "$OUT/$name.tif" "$OUT/$name.ref.v" >/dev/null; then
        t_fail "$name" "pixels differ from the filled reference"
    else t_pass "$name"; fi
done
# without it the same 404 fails the image, nothing written
fault_scenario '[{"match": "'"$TILE"'", "fault": "status:404"}]'
run partial_off
check partial_off failed partial_off 5 "HTTP 404"

# ---- the silent clamp (the Dead Sea Scrolls server: anything above 1000 px comes back
# shrunk to fit 1000x1000, status 200)
DSS=http://127.0.0.1:$FAULT_PORT
DREF=$DSS_PGM
CLAMP='[{"match": "/dss*", "fault": "clamp:1000"}]'
region_reqs() { fault_count '/dss[a-z]*/[0-9]+,[0-9]+,[0-9]+,[0-9]+/.*'; }

# advertised tiles pass under the clamp: 638 tile requests, exact
fault_scenario "$CLAMP"
run_src "$DSS/dss/info.json" dss_tiles
check dss_tiles exact dss_tiles "$DREF"
check dss_tiles_requests is "tile requests" "$(region_reqs)" 638

# auto: one probe finds the 1000-px cap, then 8 x 6 = 48 regions; exact. (--max-memory
# 32M, the host's default: boards with smaller defaults would make the regions shorter.)
fault_scenario "$CLAMP"
run_src "$DSS/dss/info.json" dss_auto --request-size auto --max-memory 32M
check dss_auto exact dss_auto "$DREF"
check dss_auto_says says "clamps requests to 1000 px"
check dss_auto_probe is "probes" "$(fault_count '/dss/0,0,2048,2048/.*')" 1
check dss_auto_requests is "requests" "$(fault_count '/dss/.*')" 50

# auto with a declared maxWidth/maxHeight: no probe, 48 regions + info.json
fault_scenario "$CLAMP"
run_src "$DSS/dssmax/info.json" dss_auto_declared --request-size auto --max-memory 32M
check dss_auto_declared exact dss_auto_declared "$DREF"
check dss_auto_declared_requests is "requests" "$(fault_count '/dssmax/.*')" 49

# a declared limit the server does not honour: the first region comes back clamped, the
# run says so and falls back on the advertised tiles; exact
fault_scenario "$CLAMP"
run_src "$DSS/dsslie/info.json" dss_auto_lying --request-size auto
check dss_auto_lying exact dss_auto_lying "$DREF"
# (which region is decoded first depends on the connections: any of row 0's)
check dss_auto_lying_says says "server sent [0-9]+x[0-9]+ for a [0-9]+x[0-9]+ request.*clamp"

# an explicit --request-size above the clamp: the same fallback
fault_scenario "$CLAMP"
run_src "$DSS/dss/info.json" dss_request_2048 --request-size 2048
check dss_request_2048 exact dss_request_2048 "$DREF"
check dss_request_2048_says says "clamp"
n=$(region_reqs)
(( n <= 638 + 24 )) && t_pass dss_request_2048_requests ||
    t_fail dss_request_2048_requests "$n requests"

# auto within --max-memory 8M: regions only as tall as a band that fits (1000x256); exact
fault_scenario "$CLAMP"
run_src "$DSS/dss/info.json" dss_auto_8m --request-size auto --max-memory 8M
check dss_auto_8m exact dss_auto_8m "$DREF"
check dss_auto_8m_requests is "region requests" "$(region_reqs)" $(( 1 + 8 * 22 ))

# a server that refuses the probe: auto keeps the advertised tiles
fault_scenario '[{"match": "/dss/0,0,2048,2048/*", "fault": "status:403"}]'
run_src "$DSS/dss/info.json" dss_auto_refused --request-size auto
check dss_auto_refused exact dss_auto_refused "$DREF"
check dss_auto_refused_says says "probe .*failed.*403.*using its 256x256 tiles"

# a tile of the wrong size (not a clamp: smaller than asked, under the cap) is bad data:
# one line naming the tile, what was asked and what came, no retry, nothing left behind
fault_scenario '[{"match": "/dss/512,256,256,256/*", "fault": "wrongsize"}]'
run_src "$DSS/dss/info.json" dss_wrong_size -q
check dss_wrong_size failed dss_wrong_size 6 "512,256,256,256.*216x216 for a 256x256"
check dss_wrong_size_requests is "requests for the tile" \
    "$(fault_count '/dss/512,256,256,256/.*')" 1

# ---- --plan: the info.json only, no image request, no file
fault_scenario "$CLAMP"
plan() { # NAME SOURCE ARGS...: --plan=json into $OUT/NAME.json; sets RC, ERR
    ERR=$OUT/$1.err
    RC=0
    "${WRAP_ARR[@]}" "$BIN" --plan=json "${@:3}" "$2" >"$OUT/$1.json" 2>"$ERR" </dev/null ||
        RC=$?
}
field() { # NAME KEY: a field of the plan, lists joined with x
    /usr/bin/python3 -c 'import json, sys
v = json.load(open(sys.argv[1]))[sys.argv[2]]
print("x".join(map(str, v)) if isinstance(v, list) else str(v).lower())' "$OUT/$1.json" "$2"
}
plan plan_dss "$DSS/dss/info.json"
check plan_dss is "exit" "$RC" 0
check plan_dss_grid is "requests" "$(field plan_dss requests) $(field plan_dss grid)" "638 29x22"
check plan_dss_first is "first" "$(field plan_dss first)" \
    "$DSS/dss/0,0,256,256/256,/0/default.jpg"
check plan_dss_last is "last" "$(field plan_dss last)" \
    "$DSS/dss/7168,5376,48,36/48,/0/default.jpg"
check plan_dss_level is "api, level, size" \
    "$(field plan_dss api) $(field plan_dss level) $(field plan_dss width)x$(field plan_dss height)" \
    "2 1 7216x5412"
check plan_dss_only_info is "requests seen" "$(fault_count '.*')" 1
fault_scenario "$CLAMP"
plan plan_dss_auto "$DSS/dss/info.json" --request-size auto
check plan_dss_auto_no_probe is "requests seen, probe" \
    "$(fault_count '.*') $(field plan_dss_auto probe)" "1 true"
plan plan_dssmax_auto "$DSS/dssmax/info.json" --request-size auto --max-memory 32M
check plan_dssmax_auto is "requests, first, last" "$(field plan_dssmax_auto requests) \
$(field plan_dssmax_auto first) $(field plan_dssmax_auto last)" "48 \
$DSS/dssmax/0,0,1000,1000/1000,/0/default.jpg $DSS/dssmax/7000,5000,216,412/216,/0/default.jpg"
# the text form, run where the default output (dss.tif) would go: nothing is written
mkdir -p "$OUT/plan_text"
RC=0
(cd "$OUT/plan_text" && "${WRAP_ARR[@]}" "$BIN" --plan "$DSS/dss/info.json") \
    >"$OUT/plan_text.out" 2>"$OUT/plan_text.err" || RC=$?
check plan_text is "exit, requests line" "$RC $(grep -c \
    '^requests   638 (29 x 22 of 256x256 px)$' "$OUT/plan_text.out")" "0 1"
check plan_no_file is "files written" "$(ls -A "$OUT/plan_text" | wc -l)" 0

# ---- 429 halves the connections in use, which grow back slowly. Every answer takes 40 ms;
# one tile in the fifth row is refused once. Requests that arrive once those in flight at
# the refusal have had time to finish see at most 2 in progress; later ones see 4 again.
fault_scenario '[{"match": "/dss/2560,1024,256,256/*", "fault": "status:429", "times": 1},
                 {"match": "/dss/*", "fault": "delay:40"}]'
run_src "$DSS/dss/info.json" dss_429 -q --connections 4
check dss_429 exact dss_429 "$DREF"
read -r before after later < <(awk '
    $3 == 429 && !t { t = $7; next }
    !t { if ($8 > b) b = $8; next }
    $6 > t + 100 && n < 8 { n++; if ($8 > a) a = $8; next }
    n >= 8 { if ($8 > l) l = $8 }
    END { print b + 0, a + 0, l + 0 }' "$FAULT_LOG")
check dss_429_before is "in flight before the 429" "$before" 4
(( after <= 2 )) && t_pass dss_429_halved || t_fail dss_429_halved "$after in flight after the 429"
check dss_429_grows_back is "in flight later" "$later" 4

t_summary

