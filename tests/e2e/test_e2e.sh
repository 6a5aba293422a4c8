#!/usr/bin/env bash
# test_e2e.sh - end-to-end tests of iiifstitch against local nginx and fault servers.
#
# Usage: tests/e2e/test_e2e.sh
# Environment:
#   IIIFSTITCH=PATH    binary under test (default build/iiifstitch; relative paths are taken
#                      from the repository top)
#   WRAP="CMD ARGS"    prefix for every run, e.g. WRAP="valgrind -q --error-exitcode=99"
#   RUN_TIMEOUT=N      seconds before one run is killed (default 60)
#   TREES_CACHE=DIR    the generated trees and references (tests/lib/data.sh; default
#                      build/e2e-trees, made once; "none": a private copy)
#   ONLY=REGEX         run only the checks whose name matches (grep -E)
#   KEEP=1, VERBOSE=1  keep the work dir / print passing checks (tests/lib/common.sh)
#
# Each check is one named pass/fail; the last line is "N passed, N failed, N skipped".
set -euo pipefail

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$TOP"
# shellcheck source=tests/lib/common.sh
. tests/lib/common.sh
# shellcheck source=tests/lib/nginx.sh
. tests/lib/nginx.sh
# shellcheck source=tests/lib/fault.sh
. tests/lib/fault.sh
# shellcheck source=tests/lib/refimage.sh
. tests/lib/refimage.sh
# shellcheck source=tests/lib/data.sh
. tests/lib/data.sh

# the servers are on 127.0.0.1: a proxy from the caller's environment must not get between
unset http_proxy HTTP_PROXY https_proxy HTTPS_PROXY no_proxy NO_PROXY

RUN_TIMEOUT=${RUN_TIMEOUT:-60}

t_init
t_binary
OUTDIR=$T_WORK/out
mkdir -p "$OUTDIR"

# ------------------------------------------------------------------------------------------
# fixtures: trees, references, served root

data_ready
TREES=$DATA_TREES

# Served root: the good trees (symlinked) plus damaged copies.
WWW=$T_WORK/www
mkdir -p "$WWW"
for t in $TREES; do
    ln -s "$DATA/iiif/$t" "$WWW/$t"
done
TILE='256,256,256,256/256,/0/default.jpg'   # an interior tile of v2_256

damaged_copy() {    # damaged_copy NAME: copy of v2_256 as $WWW/NAME
    cp -r "$DATA/iiif/v2_256" "$WWW/$1"
}
# Trees named in other URL forms (the fallback ladder, digest §4.4): v2 sizes as "w,h"
# where level 0 means "w,"; quality "native" instead of "default"; v3 sizes with a
# trailing comma (libvips 8.12.0-8.12.1). rename_tree TREE NEW PYEXPR: every file path
# rel (under TREE) moves to eval(PYEXPR) with parts = rel.split("/").
rename_tree() {
    cp -r "$DATA/iiif/$1" "$WWW/$2"
    /usr/bin/python3 - "$WWW/$2" "$3" <<'EOF'
import os, sys
root, expr = sys.argv[1], sys.argv[2]
for dirpath, _, files in list(os.walk(root)):
    for name in files:
        rel = os.path.relpath(os.path.join(dirpath, name), root)
        parts = rel.split("/")
        if len(parts) != 4:
            continue
        new = eval(expr)
        if new != rel:
            os.makedirs(os.path.join(root, os.path.dirname(new)), exist_ok=True)
            os.rename(os.path.join(root, rel), os.path.join(root, new))
EOF
}
# "256," -> "256,256": the height from the region (at scale 1 the region's own)
rename_tree v2_256 ladder_wh 'parts[0] + "/" + parts[1] + parts[0].split(",")[3] + "/" + \
    "/".join(parts[2:]) if parts[0].count(",") == 3 and parts[1].endswith(",") else rel'
rename_tree v2_256 ladder_native '"/".join(parts[:3] + ["native.jpg"])'
rename_tree v3_256 ladder_comma '"/".join([parts[0], parts[1] + ","] + parts[2:])'

# tiles that carry an ICC profile (libvips' built-in sRGB, 6922 bytes, kept by --no-strip)
ln -s "$DATA/iiif/icc_v2" "$WWW/icc_v2"

# the first interior tile missing: every rung of the ladder answers 404
damaged_copy bad_missing
rm "$WWW/bad_missing/0,0,256,256/256,/0/default.jpg"
# a JPEG cut in half, served whole (correct Content-Length)
damaged_copy bad_trunc
size=$(stat -c %s "$WWW/bad_trunc/$TILE")
head -c $((size / 2)) "$DATA/iiif/v2_256/$TILE" >"$WWW/bad_trunc/$TILE"
# a valid JPEG of the wrong size (200x180 where 256x256 is due)
damaged_copy bad_size
vips crop "$DATA/iiif/v2_256/$TILE" "$WWW/bad_size/$TILE" 0 0 200 180
# a PNG where a JPEG is due
damaged_copy bad_png
vips crop "$DATA/iiif/v2_256/$TILE" "$T_WORK/tile.png" 0 0 256 256
cp "$T_WORK/tile.png" "$WWW/bad_png/$TILE"
# info.json that is not valid JSON
mkdir -p "$WWW/bad_json"
head -c 200 "$DATA/iiif/v2_256/info.json" >"$WWW/bad_json/info.json"

nginx_start "$WWW"
fault_start "$WWW"
PKI=$T_WORK/pki
H=http://127.0.0.1:$NGINX_HTTP_PORT
S=https://localhost:$NGINX_HTTPS_PORT
R=https://localhost:$NGINX_ROGUE_PORT
F=http://127.0.0.1:$FAULT_PORT

# ------------------------------------------------------------------------------------------
# helpers

want() {    # want NAME: false when ONLY is set and NAME does not match it
    [[ -z ${ONLY:-} ]] || grep -qE -- "$ONLY" <<<"$1"
}

first_line() {
    if [[ -s $1 ]]; then head -n1 "$1" | cut -c1-300; else echo "(stderr empty)"; fi
}

# run NAME ARGS...: run the binary with -o $OUTDIR/NAME.tif ARGS; sets RC, OUT, ERR, SECS
run() {
    local name=$1 t0
    shift
    OUT=$OUTDIR/$name.tif
    ERR=$OUTDIR/$name.err
    RC=0
    t0=$(date +%s%N)
    timeout -k 5 "$RUN_TIMEOUT" "${WRAP_ARR[@]}" "$BIN" -o "$OUT" "$@" \
        >"$OUTDIR/$name.stdout" 2>"$ERR" </dev/null || RC=$?
    SECS=$(( ($(date +%s%N) - t0) / 1000000000 ))
}

# verify_ok REF [COMPRESSION]: prints why and fails unless the last run produced REF exactly
verify_ok() {
    local ref=$1 comp=${2:-} bands photo info
    bands=$(<"${ref%.v}.bands")
    if (( RC == 124 || RC == 137 )); then echo "timed out after ${RUN_TIMEOUT}s"; return 1; fi
    if (( RC != 0 )); then echo "exit $RC: $(first_line "$ERR")"; return 1; fi
    if [[ -e $OUT.part ]]; then echo "$OUT.part left behind"; return 1; fi
    if [[ ! -f $OUT ]]; then echo "exit 0 but no output file"; return 1; fi
    info=$OUTDIR/tiffinfo.txt
    if ! tiffinfo "$OUT" >"$info" 2>&1; then echo "tiffinfo failed: $(first_line "$info")"; return 1; fi
    if (( bands == 1 )); then photo=min-is-black; else photo='RGB color'; fi
    grep -q 'Bits/Sample: 8$' "$info" || { echo "not 8 bits/sample"; return 1; }
    grep -q "Samples/Pixel: $bands\$" "$info" || { echo "want $bands samples/pixel"; return 1; }
    grep -q "Photometric Interpretation: $photo\$" "$info" ||
        { echo "want photometric $photo: $(grep Photometric "$info")"; return 1; }
    if ! grep -q 'Rows/Strip:' "$info" || grep -q 'Tile Width' "$info"; then
        echo "not a striped TIFF"
        return 1
    fi
    if [[ -n $comp ]] && ! grep -qE "Compression Scheme: $comp\$" "$info"; then
        echo "want compression $comp: $(grep Compression "$info")"
        return 1
    fi
    ref_match "$OUT" "$ref" "$OUTDIR"
}

# verify_err WANT_RC REGEX: the last run failed with WANT_RC, one stderr line
# "iiifstitch: ..." matching REGEX (case-insensitive), and left no output file
verify_err() {
    local want=$1 re=$2 lines first
    if (( RC == 124 || RC == 137 )); then echo "timed out after ${RUN_TIMEOUT}s"; return 1; fi
    first=$(first_line "$ERR")
    if (( RC != want )); then echo "exit $RC, want $want: $first"; return 1; fi
    lines=$(grep -c '' "$ERR" || true)
    if [[ $first != "iiifstitch: "* ]]; then
        echo "stderr does not start with 'iiifstitch: ': $first"
        return 1
    fi
    if (( lines != 1 )); then
        echo "stderr has $lines lines, want 1: $(head -n3 "$ERR" | tr '\n' '|' | cut -c1-300)"
        return 1
    fi
    if ! grep -qiE -- "$re" <<<"$first"; then
        echo "message does not name the cause (/$re/): $first"
        return 1
    fi
    if [[ -e $OUT ]]; then echo "output file left behind"; return 1; fi
    if [[ -e $OUT.part ]]; then echo "$OUT.part left behind"; return 1; fi
    return 0
}

# ok NAME REF SOURCE [ARGS...]: run quietly, expect REF exactly
ok() {
    local name=$1 ref=$2 src=$3 why
    shift 3
    want "$name" || return 0
    run "$name" -q "$@" "$src"
    if why=$(verify_ok "$DATA/ref/$ref.v"); then t_pass "$name"; else t_fail "$name" "$why"; fi
}

# err NAME WANT_RC REGEX SOURCE [ARGS...]: run quietly, expect a clean failure
err() {
    local name=$1 rc=$2 re=$3 src=$4 why
    shift 4
    want "$name" || return 0
    run "$name" -q "$@" "$src"
    if why=$(verify_err "$rc" "$re"); then t_pass "$name"; else t_fail "$name" "$why"; fi
}

# ------------------------------------------------------------------------------------------
# good trees over HTTP and HTTPS

for t in $TREES; do
    ok "http_info_$t" "$t" "$H/$t/info.json"
    ok "http_base_$t" "$t" "$H/$t"
    ok "https_info_$t" "$t" "$S/$t/info.json" --cacert "$PKI/ca.pem"
done
ok https_base_v2_256 v2_256 "$S/v2_256" --cacert "$PKI/ca.pem"
ok https_base_v3_256 v3_256 "$S/v3_256" --cacert "$PKI/ca.pem"
ok http_base_trailing_slash v2_512 "$H/v2_512/"
# mbedTLS 2.28 matches certificates by DNS name only: an IP-literal https
# URL must be refused (never silently accepted), with a message saying why.
err https_ip_literal_refused 4 'certificate.*IP address' \
    "https://127.0.0.1:$NGINX_HTTPS_PORT/v3_256/info.json" --cacert "$PKI/ca.pem"

# one request per tile, one info.json, over reused connections
if want http_requests_keepalive; then
    : >"$NGINX_DIR/logs/access.log"
    run http_requests_keepalive -q "$H/v2_256/info.json"
    log=$NGINX_DIR/logs/access.log
    nreq=$(grep -c '' "$log" || true)
    nbad=$(awk '$3 != 200' "$log" | grep -c '' || true)
    nconn=$(awk '{ print $4 }' "$log" | sort -u | grep -c '' || true)
    # 1200x900 at 256: 5 x 4 tiles
    if (( RC != 0 )); then
        t_fail http_requests_keepalive "exit $RC: $(first_line "$ERR")"
    elif (( nreq != 21 || nbad != 0 )); then
        t_fail http_requests_keepalive "want 21 requests all 200 (1 info.json + 20 tiles), got $nreq ($nbad not 200)"
    elif (( nconn >= nreq )); then
        t_fail http_requests_keepalive "no keep-alive: $nreq requests on $nconn connections"
    else
        t_pass http_requests_keepalive
    fi
fi

# output options
if want compression_deflate; then
    run compression_deflate -q --compression deflate "$H/odd_v2/info.json"
    if why=$(verify_ok "$DATA/ref/odd_v2.v" '(AdobeDeflate|Deflate)'); then
        t_pass compression_deflate
    else
        t_fail compression_deflate "$why"
    fi
fi
if want compression_none; then
    run compression_none -q --compression none "$H/gray_v2/info.json"
    if why=$(verify_ok "$DATA/ref/gray_v2.v" None); then
        t_pass compression_none
    else
        t_fail compression_none "$why"
    fi
fi
if want progress; then
    run progress --progress "$H/gray_v3/info.json"
    if why=$(verify_ok "$DATA/ref/gray_v3.v"); then t_pass progress; else t_fail progress "$why"; fi
fi

# an existing output file is replaced
if want output_replaced; then
    echo "old content" >"$OUTDIR/output_replaced.tif"
    run output_replaced -q "$H/tiny_v2/info.json"
    if why=$(verify_ok "$DATA/ref/tiny_v2.v"); then
        t_pass output_replaced
    else
        t_fail output_replaced "$why"
    fi
fi

# --insecure against the rogue certificate: works, but says so
if want insecure_rogue; then
    run insecure_rogue --insecure "$R/v2_256/info.json"
    if ! why=$(verify_ok "$DATA/ref/v2_256.v"); then
        t_fail insecure_rogue "$why"
    elif ! grep -qiE '^iiifstitch: .*(insecure|verif|certificate)' "$ERR"; then
        t_fail insecure_rogue "no warning on stderr: $(first_line "$ERR")"
    else
        t_pass insecure_rogue
    fi
fi

# ------------------------------------------------------------------------------------------
# connections, memory cap, request size on a static (level 0) tree

# this build's cap on connections (16 on a PC, less on small boards), from --help
CAP=$("${WRAP_ARR[@]}" "$BIN" --help | sed -n 's/.*connections, 1\.\.\([0-9]*\).*/\1/p')
[[ $CAP =~ ^[0-9]+$ ]] || CAP=4
for c in 1 2 "$CAP"; do
    ok "connections_$c" v2_256 "$H/v2_256/info.json" --connections "$c"
done
ok connections_8_https odd_v3 "$S/odd_v3/info.json" --cacert "$PKI/ca.pem" --connections "$CAP"
ok local_tree_4_threads v3_256 "$DATA/iiif/v3_256/info.json" --connections 4
ok local_tree_whole_tile tiny_v2 "$DATA/iiif/tiny_v2/info.json"
ok max_memory_2m v2_256 "$H/v2_256/info.json" --max-memory 2M --connections "$CAP"
err max_memory_under_band 8 'memory|max-memory' "$H/v2_512/info.json" --max-memory 1M
ok request_size_auto_level0 v2_512 "$H/v2_512/info.json" --request-size auto

# the fallback ladder: one class at a time learns the form that answers, exact pixels; on
# one connection the requests are counted: 20 tiles, the info.json, and per class (4 of
# them) the forms that were missing: 1 for "w,h", 3 for "native" (w,h; full; native),
# 4 for the trailing comma (w,h; w,; max; native)
ladder() { # NAME REF WANT_REQUESTS
    want "$1" || return 0
    local why
    run "$1" --connections 1 "$H/$1/info.json"
    if ! why=$(verify_ok "$DATA/ref/$2.v"); then t_fail "$1" "$why"
    elif ! grep -q " $3 requests" "$ERR"; then t_fail "$1" "want $3 requests: $(tail -n1 "$ERR")"
    elif ! grep -q 'warning: .* answer at ' "$ERR"; then t_fail "$1" "no warning names the form"
    else t_pass "$1"; fi
}
ladder ladder_wh v2_256 25
ladder ladder_native v2_256 33
ladder ladder_comma v3_256 37
err ladder_exhausted 5 'HTTP 404.*and [0-9]+ other URL forms' "$H/bad_missing/info.json"

# the ICC profile of the tiles goes into the TIFF, file and stream; not into a gray image
icc() { # NAME WANT_BYTES ARGS...
    local name=$1 want=$2 got
    shift 2
    want "$name" || return 0
    RC=0
    "${WRAP_ARR[@]}" "$BIN" -q "$@" "$H/icc_v2/info.json" >"$OUTDIR/$name.tif" \
        2>"$OUTDIR/$name.err" </dev/null || RC=$?
    [[ -s $OUTDIR/$name.tif ]] || mv -f "$OUTDIR/$name.file.tif" "$OUTDIR/$name.tif"
    got=$(tiffinfo "$OUTDIR/$name.tif" 2>/dev/null | sed -n 's/.*ICC Profile: <present>, \([0-9]*\) bytes.*/\1/p')
    if (( RC != 0 )); then t_fail "$name" "exit $RC: $(head -c 300 "$OUTDIR/$name.err")"
    elif [[ ${got:-none} != "$want" ]]; then t_fail "$name" "ICC profile: ${got:-none}, want $want"
    elif [[ $want != none ]] && ! bash tests/lib/pixcmp.sh "$OUTDIR/$name.tif" "$DATA/ref/icc_v2.v" >/dev/null; then
        t_fail "$name" "pixels differ from the reference"
    else t_pass "$name"; fi
}
icc icc_file 6922 -o "$OUTDIR/icc_file.file.tif" --compression deflate
icc icc_stdout 6922 -o -
icc icc_gray none -o "$OUTDIR/icc_gray.file.tif" --quality gray

# scale factors (digest §4.1): --scale, and --max-width/--max-height picking the level
for t in v2_256 v3_256 odd_v2 odd_v3; do
    ok "scale_2_$t" "${t}_s2" "$H/$t/info.json" --scale 2
done
ok scale_4_v2_256 v2_256_s4 "$H/v2_256/info.json" --scale 4
ok scale_4_v3_256 v3_256_s4 "$H/v3_256/info.json" --scale 4 --connections 1
ok max_width_300 v2_256_s4 "$H/v2_256/info.json" --max-width 300          # 1200/4
ok max_height_450 v3_256_s2 "$H/v3_256/info.json" --max-height 450        # 900/2
ok max_both_fit_full v2_256 "$H/v2_256/info.json" --max-width 1200 --max-height 900
err scale_not_listed 2 'scale 3 is not a scale factor.*1, 2, 4' "$H/v2_256/info.json" --scale 3
err scale_not_listed_odd 2 'scale 4 is not a scale factor.*lists 1, 2\)' "$H/odd_v2/info.json" \
    --scale 4
err max_width_too_small 2 'smallest is 300x225' "$H/v2_256/info.json" --max-width 100

# --quality gray: luma by the documented formula, also at a scale factor
ok quality_gray v2_256_gray "$H/v2_256/info.json" --quality gray
ok quality_gray_scale_2 v3_256_s2_gray "$H/v3_256/info.json" --quality gray --scale 2 \
    --connections 2

# --quality bitonal: a 1-bit TIFF (tiffinfo), PBM, and the stdout stream, each equal to the
# thresholded gray reference
bitonal() { # NAME REF SUFFIX stdout|file ARGS...
    local name=$1 ref=$2 sfx=$3 to=$4 why=""
    local out=$OUTDIR/$name.$sfx
    shift 4
    want "$name" || return 0
    RC=0
    if [[ $to = stdout ]]; then
        "${WRAP_ARR[@]}" "$BIN" -q --quality bitonal -o - "$@" "$H/v2_256/info.json" \
            >"$out" 2>"$OUTDIR/$name.err" </dev/null || RC=$?
    else
        "${WRAP_ARR[@]}" "$BIN" -q --quality bitonal -o "$out" "$@" "$H/v2_256/info.json" \
            2>"$OUTDIR/$name.err" </dev/null || RC=$?
    fi
    if (( RC != 0 )); then why="exit $RC: $(head -c 300 "$OUTDIR/$name.err")"
    elif [[ $sfx = tif ]] && ! tiffinfo "$OUTDIR/$name.$sfx" 2>&1 | grep -q 'Bits/Sample: 1$'; then
        why="not 1 bit per sample"
    elif ! bash tests/lib/pixcmp.sh "$OUTDIR/$name.$sfx" "$DATA/ref/$ref.v" >/dev/null; then
        why="pixels differ from $ref"
    fi
    if [[ -z $why ]]; then t_pass "$name"; else t_fail "$name" "$why"; fi
}
bitonal quality_bitonal_file v2_256_bw tif file --compression deflate
bitonal quality_bitonal_pbm_r270 v2_256_bw_r270 pbm stdout --format pnm --rotate 270
bitonal quality_bitonal_stdout v2_256_bw tif stdout
err quality_bitonal_jpeg 2 'bitonal cannot be JPEG' "$H/v2_256/info.json" --quality bitonal \
    --compression jpeg

# --region, --mirror, --rotate: streamed, checked against libvips doing the same
ok rotate_90 v2_256_r90 "$H/v2_256/info.json" --rotate 90
ok rotate_180 v2_256_r180 "$H/v2_256/info.json" --rotate 180
ok rotate_270 v2_256_r270 "$H/v2_256/info.json" --rotate 270 --connections 1
ok mirror v2_256_m "$H/v2_256/info.json" --mirror
ok mirror_rotate_90 v2_256_m90 "$H/v2_256/info.json" --mirror --rotate 90
ok mirror_rotate_270 v2_256_m270 "$H/v2_256/info.json" --mirror --rotate 270
ok region v2_256_crop "$H/v2_256/info.json" --region 100,50,700,600
ok region_last_pixel odd_v3_crop "$H/odd_v3/info.json" --region 1000,776,1,1
ok region_rotate_180 odd_v2_crop_r180b "$H/odd_v2/info.json" --region 300,0,413,900 \
    --rotate 180
ok region_local_rotate_90 v2_256_r90 "$DATA/iiif/v2_256/info.json" --rotate 90 --region \
    0,0,1200,900
ok combo_pct_mirror_270_gray_s2 v3_256_s2_combo_gray "$H/v3_256/info.json" \
    --region pct:10,20,50,50 --mirror --rotate 270 --quality gray --scale 2
ok combo_deflate v2_256_m90 "$H/v2_256/info.json" --mirror --rotate 90 --compression deflate
# only the tiles that meet the region: 4 x 3 of 256 px, and the info.json
if want region_requests; then
    run region_requests "$H/v2_256/info.json" --region 100,50,700,600
    if grep -q ' 13 requests' "$ERR"; then t_pass region_requests
    else t_fail region_requests "$(tail -n1 "$ERR")"; fi
fi
err region_outside 2 'region 1200,0,10,10 is not inside the 1200x900 image' \
    "$H/v2_256/info.json" --region 1200,0,10,10
err request_size_level0 6 'region' "$H/v2_256/info.json" --request-size 512

# ------------------------------------------------------------------------------------------
# fault server: redirects, chunked, slow servers

# iipsrv style: base URL -> 303 with a protocol-relative Location
fault_scenario '[
  {"match": "/iip/v2_256/info.json", "fault": "status:404"},
  {"match": "/iip/v2_256", "fault": "redirect:303://{host}:{port}/v2_256/info.json"}
]'
ok redirect_303_protocol_relative v2_256 "$F/iip/v2_256"

fault_scenario '[
  {"match": "/rel/v3_256/info.json", "fault": "status:404"},
  {"match": "/rel/v3_256", "fault": "redirect:303:/v3_256/info.json"}
]'
ok redirect_303_absolute_path v3_256 "$F/rel/v3_256"

fault_scenario '[
  {"match": "/a/b/odd_v3/info.json", "fault": "status:404"},
  {"match": "/a/b/odd_v3", "fault": "redirect:302:../../odd_v3/info.json"}
]'
ok redirect_302_dot_relative odd_v3 "$F/a/b/odd_v3"

fault_scenario '[{"match": "/moved/gray_v2/info.json", "fault": "redirect:301:/gray_v2/info.json"}]'
ok redirect_301_info_json gray_v2 "$F/moved/gray_v2/info.json"

# one tile answers 307 to the same path with a query string (served normally then)
fault_scenario '[{"match": "/v2_512/512,512,*", "fault": "redirect:307:{path}?x=1", "times": 1}]'
ok redirect_307_tile v2_512 "$F/v2_512/info.json"

fault_scenario '[{"match": "/v2_512/info.json", "fault": "chunked:7"}]'
ok chunked_info_json v2_512 "$F/v2_512/info.json"

fault_scenario '[{"match": "/odd_v3/*.jpg", "fault": "chunked:1000"}]'
ok chunked_tiles odd_v3 "$F/odd_v3/info.json"

fault_scenario '[{"match": "/v3_512/0,0,*", "fault": "delay:1500"}]'
ok slow_tile v3_512 "$F/v3_512/info.json" --timeout 10

# bodies delimited by the connection close (no Content-Length, no chunking)
fault_scenario '[{"match": "/gray_v3/*", "fault": "nolength"}]'
ok close_delimited_bodies gray_v3 "$F/gray_v3/info.json"

# the server drops every connection right after a complete keep-alive response
fault_scenario '[{"match": "/odd_v2/*", "fault": "dropkeepalive"}]'
ok keepalive_dropped odd_v2 "$F/odd_v2/info.json"

# info.json gzip-compressed although not asked for (some CDNs)
fault_scenario '[{"match": "/v3_256/info.json", "fault": "gzip"}]'
ok gzip_info_json v3_256 "$F/v3_256/info.json"

# http -> https redirect to another host:port
fault_scenario "[{\"match\": \"/secure/v2_512/info.json\",
                  \"fault\": \"redirect:301:$S/v2_512/info.json\"}]"
ok redirect_http_to_https v2_512 "$F/secure/v2_512/info.json" --cacert "$PKI/ca.pem"

# ------------------------------------------------------------------------------------------
# bad input: exit code, one stderr line naming the cause, no output

err http_404_info 5 '404' "$H/missing/info.json"
err bad_json 6 'json' "$H/bad_json/info.json"
err truncated_jpeg 6 'jpe?g|truncat|premature|corrupt|decod' "$H/bad_trunc/info.json"
err not_a_jpeg 6 'jpe?g' "$H/bad_png/info.json"
if want wrong_size_tile; then
    run wrong_size_tile -q "$H/bad_size/info.json"
    if ! why=$(verify_err 6 'size|dimension|expected'); then
        t_fail wrong_size_tile "$why"
    elif ! grep -qE '256[^0-9]{1,4}256' "$ERR" || ! grep -qE '200[^0-9]{1,4}180' "$ERR"; then
        t_fail wrong_size_tile "message lacks expected 256x256 and actual 200x180: $(first_line "$ERR")"
    else
        t_pass wrong_size_tile
    fi
fi
err tls_untrusted_rogue 4 'certif|verif|trust' "$R/v2_256/info.json" --cacert "$PKI/ca.pem"
err tls_no_cacert 4 'certif|verif|trust' "$S/v2_256/info.json"
t_closed_port
err connection_refused 3 'refused|connect' "http://127.0.0.1:$CLOSED_PORT/v2_256/info.json"

fault_scenario '[{"match": "/v2_256/info.json", "fault": "html200"}]'
err html200_info 6 'json|html' "$F/v2_256/info.json"

fault_scenario '[{"match": "/v2_256/256,256,256,256/*", "fault": "truncate"}]'
err truncated_body 3 'clos|truncat|short|premature|incomplete|eof|end of' "$F/v2_256/info.json"
if want truncated_body_tries && ! grep -q 'after 5 tries' "$OUTDIR/truncated_body.err"; then
    t_fail truncated_body_tries "no 'after 5 tries': $(first_line "$OUTDIR/truncated_body.err")"
elif want truncated_body_tries; then
    t_pass truncated_body_tries
fi

fault_scenario '[{"match": "/v2_256/256,256,256,256/*", "fault": "html200"}]'
err html200_tile 6 'jpe?g' "$F/v2_256/info.json"

fault_scenario '[{"match": "/v2_256/256,256,256,256/*", "fault": "status:403"}]'
err http_403_tile 5 '403' "$F/v2_256/info.json"

fault_scenario '[{"match": "/v2_256/info.json", "fault": "close"}]'
err closed_no_answer 3 'clos|reset|eof|connection' "$F/v2_256/info.json" --retries 0

fault_scenario '[{"match": "/v2_256/info.json", "fault": "garbage"}]'
err malformed_http 5 'http|malformed|invalid|response|status' "$F/v2_256/info.json"

fault_scenario '[{"match": "/loop/v2_256/info.json", "fault": "redirect:302:{path}"}]'
err redirect_loop 5 'redirect' "$F/loop/v2_256/info.json"

if want read_timeout; then
    fault_scenario '[{"match": "/v3_512/512,0,*", "fault": "stall"}]'
    run read_timeout -q --timeout 2 --retries 0 "$F/v3_512/info.json"
    if ! why=$(verify_err 3 'time'); then
        t_fail read_timeout "$why"
    elif (( SECS > 20 )); then
        t_fail read_timeout "took ${SECS}s with --timeout 2"
    else
        t_pass read_timeout
    fi
fi
fault_scenario '[]'

if want output_dir_missing; then
    OUT=$T_WORK/no/such/dir/x.tif
    ERR=$OUTDIR/output_dir_missing.err
    RC=0
    timeout -k 5 "$RUN_TIMEOUT" "${WRAP_ARR[@]}" "$BIN" -q -o "$OUT" "$H/v2_256/info.json" \
        >/dev/null 2>"$ERR" </dev/null || RC=$?
    if why=$(verify_err 7 'no such|director|open|creat|write'); then
        t_pass output_dir_missing
    else
        t_fail output_dir_missing "$why"
    fi
fi

# usage errors: exit 2, first stderr line "iiifstitch: ..."
usage() {
    local name=$1 first
    shift
    want "$name" || return 0
    ERR=$OUTDIR/$name.err
    RC=0
    timeout -k 5 "$RUN_TIMEOUT" "${WRAP_ARR[@]}" "$BIN" "$@" >/dev/null 2>"$ERR" </dev/null || RC=$?
    first=$(first_line "$ERR")
    if (( RC != 2 )); then
        t_fail "$name" "exit $RC, want 2: $first"
    elif [[ $first != "iiifstitch: "* ]]; then
        t_fail "$name" "stderr does not start with 'iiifstitch: ': $first"
    else
        t_pass "$name"
    fi
}
usage usage_no_args
usage usage_bad_flag --no-such-flag "$H/v2_256/info.json"
usage usage_bad_scheme -o "$OUTDIR/x.tif" "ftp://127.0.0.1/v2_256/info.json"
usage usage_bad_compression --compression lzma -o "$OUTDIR/x.tif" "$H/v2_256/info.json"
usage usage_connections_0 --connections 0 -o "$OUTDIR/x.tif" "$H/v2_256/info.json"
usage usage_connections_17 --connections 17 -o "$OUTDIR/x.tif" "$H/v2_256/info.json"
usage usage_max_memory_tiny --max-memory 100K -o "$OUTDIR/x.tif" "$H/v2_256/info.json"
usage usage_max_memory_junk --max-memory 12Q -o "$OUTDIR/x.tif" "$H/v2_256/info.json"
usage usage_rate_zero --rate 0 -o "$OUTDIR/x.tif" "$H/v2_256/info.json"
usage usage_retries_junk --retries many -o "$OUTDIR/x.tif" "$H/v2_256/info.json"
usage usage_request_size_small --request-size 8 -o "$OUTDIR/x.tif" "$H/v2_256/info.json"
usage usage_plan_format --plan=xml "$H/v2_256/info.json"
usage usage_scale_and_max --scale 2 --max-width 300 "$H/v2_256/info.json"
usage usage_scale_zero --scale 0 "$H/v2_256/info.json"
usage usage_quality --quality sepia "$H/v2_256/info.json"
usage usage_rotate --rotate 45 "$H/v2_256/info.json"
usage usage_region_form --region 1,2,3 "$H/v2_256/info.json"
usage usage_region_empty --region 0,0,0,10 "$H/v2_256/info.json"
usage usage_region_fraction --region 1.5,2,3,4 "$H/v2_256/info.json"

t_summary
