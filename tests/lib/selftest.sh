#!/usr/bin/env bash
# selftest.sh - check the test servers themselves with curl (no iiifstitch needed):
# mkca.sh certificates, the private nginx (HTTP, HTTPS, rogue HTTPS, keep-alive), every
# fault of fault_server.py and the private iipsrv behind lighttpd (info.json, the 303, tiles,
# the stop). Last line: "N passed, N failed, N skipped".
set -euo pipefail

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=tests/lib/common.sh
. "$TOP/tests/lib/common.sh"
# shellcheck source=tests/lib/nginx.sh
. "$TOP/tests/lib/nginx.sh"
# shellcheck source=tests/lib/fault.sh
. "$TOP/tests/lib/fault.sh"
# shellcheck source=tests/lib/iipsrv.sh
. "$TOP/tests/lib/iipsrv.sh"
t_init

# check NAME WANT GOT: pass if equal
check() {
    if [[ $2 == "$3" ]]; then t_pass "$1"; else t_fail "$1" "want '$2', got '$3'"; fi
}

# the counting itself: a summary always has three numbers, and a skip for missing
# ../shared data is one only outside CI
tally_of() { # CI-VALUE: one pass, one plain skip, one shared skip, in a fresh shell
    CI=$1 bash -c '. "$1/tests/lib/common.sh"; t_pass a; t_skip b "old tool"
        t_skip_shared c ../shared/x; t_summary' _ "$TOP" | tr '\n' '|' || true
}
check skip_shared_outside_ci \
    "SKIP b: old tool|SKIP c: ../shared/x not present|1 passed, 0 failed, 2 skipped|" \
    "$(tally_of "")"
check skip_shared_under_ci "SKIP b: old tool|FAIL c: ../shared/x not present \
(CI=true: ../shared must be there)|1 passed, 1 failed, 1 skipped|" "$(tally_of true)"

# a tiny served tree
root=$T_WORK/root
mkdir -p "$root/img/0,0,4,4/4,/0"
printf '{"width": 4, "height": 4}\n' >"$root/img/info.json"
head -c 5000 /dev/urandom >"$root/img/0,0,4,4/4,/0/default.jpg"
J=/img/info.json
B='/img/0,0,4,4/4,/0/default.jpg'
bsize=5000

nginx_start "$root"
PKI=$T_WORK/pki
H=http://127.0.0.1:$NGINX_HTTP_PORT

check nginx_http "200 application/json" \
    "$(curl -s -o /dev/null -w '%{http_code} %{content_type}' "$H$J")"
check nginx_https "200" "$(curl -s -o /dev/null -w '%{http_code}' --cacert "$PKI/ca.pem" \
    "https://localhost:$NGINX_HTTPS_PORT$J")"
check nginx_https_tls12 "200" "$(curl -s -o /dev/null -w '%{http_code}' --tlsv1.2 \
    --tls-max 1.2 --cacert "$PKI/ca.pem" "https://localhost:$NGINX_HTTPS_PORT$J")"
rc=0
curl -s -o /dev/null --cacert "$PKI/ca.pem" "https://localhost:$NGINX_ROGUE_PORT$J" || rc=$?
check nginx_rogue_untrusted 60 "$rc"
check nginx_rogue_own_ca "200" "$(curl -s -o /dev/null -w '%{http_code}' \
    --cacert "$PKI/rogue-ca.pem" "https://localhost:$NGINX_ROGUE_PORT$J")"
check nginx_keepalive "1 0" "$(curl -s -o /dev/null -o /dev/null -w '%{num_connects} ' \
    "$H$J" "$H$B" | xargs)"

fault_start "$root"
F=http://127.0.0.1:$FAULT_PORT

fault_scenario '[{"match": "/img/*", "fault": "status:404"}]'
check fault_status "404" "$(curl -s -o /dev/null -w '%{http_code}' "$F$J")"
check fault_log "GET $J 404" "$(awk '{ print $1, $2, $3 }' "$FAULT_LOG")"

fault_scenario '[{"match": "/img/info.json", "fault": "html200"}]'
check fault_html200 "200 text/html; charset=utf-8" \
    "$(curl -s -o /dev/null -w '%{http_code} %{content_type}' "$F$J")"

fault_scenario '[{"match": "*.jpg", "fault": "truncate"}]'
rc=0
got=$(curl -s -o /dev/null -w '%{size_download}' "$F$B") || rc=$?
check fault_truncate "18 $((bsize / 2))" "$rc $got"

fault_scenario '[{"match": "*.jpg", "fault": "chunked:100"}]'
curl -s -D "$T_WORK/h" -o "$T_WORK/body" "$F$B"
check fault_chunked_header 1 "$(grep -ci '^transfer-encoding: chunked' "$T_WORK/h")"
check fault_chunked_body same "$(cmp -s "$T_WORK/body" "$root$B" && echo same)"

fault_scenario '[{"match": "*.jpg", "fault": "delay:400"}]'
ms=$(curl -s -o /dev/null -w '%{time_total}' "$F$B" | awk '{ printf "%d", $1 * 1000 }')
check fault_delay yes "$( (( ms >= 400 )) && echo yes || echo "no (${ms}ms)")"

fault_scenario '[{"match": "/img/info.json", "fault": "close"}]'
rc=0
curl -s -o /dev/null "$F$J" || rc=$?
check fault_close 52 "$rc"

fault_scenario '[{"match": "/a", "fault": "redirect:303://{host}:{port}/img/info.json"},
                 {"match": "/b", "fault": "redirect:302:../img/info.json"}]'
check fault_redirect_protocol_relative "303 //127.0.0.1:$FAULT_PORT/img/info.json" \
    "$(curl -s -o /dev/null -w '%{http_code} %header{location}' "$F/a")"
check fault_redirect_follow "200 $F/img/info.json" \
    "$(curl -sL -o /dev/null -w '%{http_code} %{url_effective}' "$F/b")"

fault_scenario '[{"match": "*.jpg", "fault": "stall:1000"}]'
rc=0
got=$(curl -s -m 1 -o /dev/null -w '%{size_download}' "$F$B") || rc=$?
check fault_stall "28 1000" "$rc $got"

# hold: the request is logged at once, never answered; the same scenario written again
# starts its counters again, however soon
fault_scenario '[{"match": "*.jpg", "fault": "hold", "after": 1}]'
rc=0
first=$(curl -s -o /dev/null -w '%{http_code}' "$F$B")
got=$(curl -s -m 1 -o /dev/null -w '%{http_code}' "$F$B") || rc=$?
check fault_hold "200 28 000 1 000" "$first $rc $got $(fault_held) $(awk '$5 == "hold" { print $3 }' "$FAULT_LOG")"
fault_scenario '[{"match": "*.jpg", "fault": "hold", "after": 1}]'
check fault_same_scenario_again "200" "$(curl -s -m 5 -o /dev/null -w '%{http_code}' "$F$B")"

fault_scenario '[{"match": "*.jpg", "fault": "status:429", "after": 1, "times": 2,
                  "headers": {"Retry-After": "3"}}]'
codes=""
for _ in 1 2 3 4; do codes+="$(curl -s -o /dev/null -w '%{http_code}' "$F$B") "; done
check fault_after_times "200 429 429 200" "${codes% }"
fault_scenario '[{"match": "*.jpg", "fault": "status:429", "headers": {"Retry-After": "3"}}]'
check fault_extra_header "Retry-After: 3" \
    "$(curl -s -D - -o /dev/null "$F$B" | grep -i '^retry-after' | tr -d '\r')"

fault_scenario '[{"match": "*.jpg", "fault": "nolength"}]'
curl -s -D "$T_WORK/h" -o "$T_WORK/body" "$F$B"
check fault_nolength "0 same" "$(grep -ci '^content-length' "$T_WORK/h" || true) \
$(cmp -s "$T_WORK/body" "$root$B" && echo same)"

fault_scenario '[{"match": "/img/info.json", "fault": "gzip"}]'
curl -s --compressed -o "$T_WORK/body" "$F$J"
check fault_gzip same "$(cmp -s "$T_WORK/body" "$root$J" && echo same)"

fault_scenario '[{"match": "/img/*", "fault": "dropkeepalive"}]'
check fault_dropkeepalive "1 1" "$(curl -s -o /dev/null -o /dev/null -w '%{num_connects} ' \
    "$F$J" "$F$B" | xargs)"

fault_scenario '[{"match": "/img/info.json", "fault": "garbage"}]'
rc=0
curl -s -o /dev/null "$F$J" 2>/dev/null || rc=$?
check fault_garbage nonzero "$( (( rc != 0 )) && echo nonzero || echo 0)"

fault_scenario '[{"match": "re:^/img/0,0,[0-9]+", "fault": "status:500"}]'
check fault_regex "500 200" "$(curl -s -o /dev/null -o /dev/null -w '%{http_code} ' \
    "$F$B" "$F$J" | xargs)"

fault_scenario '[]'
check fault_keepalive "1 0 0" "$(curl -s -o /dev/null -o /dev/null -o /dev/null \
    -w '%{num_connects} ' "$F$J" "$F$B" "$F/nothing" | xargs)"
check fault_traversal 404 "$(curl -s --path-as-is -o /dev/null -w '%{http_code}' \
    "$F/../../../etc/passwd")"

rc=0
PYTHONDONTWRITEBYTECODE=1 python3 -c 'import sys; sys.path.insert(0, sys.argv[1])
import fault_server
rules = fault_server.RuleSet(sys.argv[2], [])
assert rules.file_rules, "no rules loaded"' "$T_LIB" "$TOP/tests/fixtures/fault-scenario-example.json" ||
    rc=$?
check fault_example_scenario 0 "$rc"

# the in-flight count: a request that arrives while another is held sees 2
fault_scenario '[{"match": "*.jpg", "fault": "hold"}]'
curl -s -o /dev/null "$F$B" &
bg=$!
held() { (( $(fault_held) > 0 )); }
t_wait_until 30 held || true
curl -s -o /dev/null "$F$J"
kill "$bg" 2>/dev/null || true
wait "$bg" 2>/dev/null || true
check fault_log_inflight "1 2" "$(awk '{ print $8 }' "$FAULT_LOG" | xargs)"

# a synthetic image: info.json with this server's id, exact regions, and the clamp
fault_stop
/usr/bin/python3 "$T_LIB/make_synth.py" 40 24 "$T_WORK/s.pgm"
fault_start "$root" --synth syn "$T_WORK/s.pgm" "$TOP/tests/fixtures/dss-info.json"
F=http://127.0.0.1:$FAULT_PORT
check synth_info "http://127.0.0.1:$FAULT_PORT/syn 40 24" "$(curl -s "$F/syn/info.json" |
    /usr/bin/python3 -c 'import json, sys; d = json.load(sys.stdin)
print(d["@id"], d["width"], d["height"])')"
curl -s -o "$T_WORK/r.jpg" "$F/syn/8,16,32,8/32,/0/default.jpg"
vips crop "$T_WORK/s.pgm" "$T_WORK/r.v" 8 16 32 8
check synth_region_exact same "$(bash "$T_LIB/pixcmp.sh" "$T_WORK/r.jpg" "$T_WORK/r.v" >/dev/null &&
    echo same)"
check synth_bad_region 400 "$(curl -s -o /dev/null -w '%{http_code}' "$F/syn/40,0,8,8/8,/0/default.jpg")"
fault_scenario '[{"match": "/syn/*", "fault": "clamp:16"}]'
curl -s -o "$T_WORK/c.jpg" "$F/syn/full/max/0/default.jpg"
check synth_clamp "16x9 200" "$(vipsheader -f width "$T_WORK/c.jpg")x$(vipsheader -f height \
    "$T_WORK/c.jpg") $(awk '{ print $3 }' "$FAULT_LOG")"

# any identifier below a prefix: each info.json names its own id, regions come from the image
fault_stop
fault_start "$root" --synth-any any "$T_WORK/s.pgm" "$TOP/tests/fixtures/dss-info.json"
F=http://127.0.0.1:$FAULT_PORT
check synth_any_info "http://127.0.0.1:$FAULT_PORT/any/abc 40 24 http://127.0.0.1:$FAULT_PORT/any/x%20y" \
    "$(curl -s "$F/any/abc/info.json" | /usr/bin/python3 -c 'import json, sys; d = json.load(sys.stdin)
print(d["@id"], d["width"], d["height"])') $(curl -s "$F/any/x%20y/info.json" |
    /usr/bin/python3 -c 'import json, sys; print(json.load(sys.stdin)["@id"])')"
curl -s -o "$T_WORK/r2.jpg" "$F/any/def/8,16,32,8/32,/0/default.jpg"
check synth_any_region_exact same "$(bash "$T_LIB/pixcmp.sh" "$T_WORK/r2.jpg" "$T_WORK/r.v" \
    >/dev/null && echo same)"
check synth_any_no_id "404 404" "$(curl -s -o /dev/null -o /dev/null -w '%{http_code} ' "$F/any" "$F/any/" | xargs)"

# iipsrv behind lighttpd: a 600x400 RGB pyramidal tiled TIFF, 256-px tiles
if ! why=$(iipsrv_available); then
    t_skip iipsrv "$why"
else
    mkdir -p "$T_WORK/iip"
    vips black "$T_WORK/b.v" 600 400 --bands 3
    vips linear "$T_WORK/b.v" "$T_WORK/g.v" 1 90 --uchar
    vips copy "$T_WORK/g.v" "$T_WORK/gs.v" --interpretation srgb
    vips tiffsave "$T_WORK/gs.v" "$T_WORK/iip/s.tif" --tile --pyramid --tile-width 256 \
        --tile-height 256 --compression jpeg
    iipsrv_start "$T_WORK/iip"
    I=http://127.0.0.1:$IIPSRV_PORT
    # shellcheck disable=SC2016 # the program is Python
    info_py='import json, sys; d = json.load(sys.stdin); p = d["profile"]
print(d["@context"], d["@id"], d["width"], d["height"], d["tiles"][0]["width"],
      d["tiles"][0]["height"], p[0], p[1]["maxWidth"], p[1]["maxHeight"])'
    check iipsrv_info "http://iiif.io/api/image/2/context.json $I/iiif/s.tif 600 400 256 256 \
http://iiif.io/api/image/2/level1.json 5000 5000" "$(curl -s "$I/iiif/s.tif/info.json" |
        /usr/bin/python3 -c "$info_py")"
    check iipsrv_info_fcgi_id "$I/fcgi-bin/iipsrv.fcgi?IIIF=s.tif" \
        "$(curl -s "$I/fcgi-bin/iipsrv.fcgi?IIIF=s.tif/info.json" |
            /usr/bin/python3 -c 'import json, sys; print(json.load(sys.stdin)["@id"])')"
    check iipsrv_base_303 "303 $I/iiif/s.tif/info.json" \
        "$(curl -s -o /dev/null -w '%{http_code} %header{location}' "$I/iiif/s.tif")"
    curl -s -o "$T_WORK/t.jpg" -w '%{http_code} %{content_type}' \
        "$I/iiif/s.tif/256,0,256,256/256,/0/default.jpg" >"$T_WORK/t.status"
    check iipsrv_tile "200 image/jpeg ffd8 256x256" "$(<"$T_WORK/t.status") \
$(head -c 2 "$T_WORK/t.jpg" | od -An -tx1 | tr -d ' ') $(vipsheader -f width "$T_WORK/t.jpg")x\
$(vipsheader -f height "$T_WORK/t.jpg")"
    curl -s -o "$T_WORK/e.jpg" "$I/iiif/s.tif/512,256,88,144/88,/0/default.jpg"
    check iipsrv_edge_tile "88x144 3" "$(vipsheader -f width "$T_WORK/e.jpg")x\
$(vipsheader -f height "$T_WORK/e.jpg") $(vipsheader -f bands "$T_WORK/e.jpg")"
    n=$(iipsrv_log_wait 5)
    check iipsrv_access_log "5 GET /iiif/s.tif/512,256,88,144/88,/0/default.jpg HTTP/1.1 200" \
        "$n $(tail -n 1 "$IIPSRV_ACCESS_LOG")"
    check iipsrv_missing_image 404 "$(curl -s -o /dev/null -w '%{http_code}' \
        "$I/iiif/none.tif/info.json")"
    lpid=$(<"$IIPSRV_DIR/lighttpd.pid")
    ipid=$(<"$IIPSRV_DIR/iipsrv.pid")
    iipsrv_stop
    left=""
    for p in $lpid $ipid; do
        if kill -0 "$p" 2>/dev/null && [[ $(awk '{ print $3 }' "/proc/$p/stat") != Z ]]; then
            left+="$p "
        fi
    done
    port="port closed"
    if (exec 3<>"/dev/tcp/127.0.0.1/$IIPSRV_PORT") 2>/dev/null; then port="port open"; fi
    check iipsrv_stopped "port closed, nothing left" "$port, ${left:-nothing left}"
fi

t_summary
