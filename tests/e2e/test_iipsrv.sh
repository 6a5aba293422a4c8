#!/usr/bin/env bash
# test_iipsrv.sh - end-to-end tests against a real IIIF image server: Debian's iipsrv 1.1
# (IIPImage) behind lighttpd FastCGI on 127.0.0.1 (tests/lib/iipsrv.sh), serving pyramidal
# tiled TIFFs made with vips tiffsave --tile --pyramid.
#
# iipsrv decodes the TIFF and re-encodes every answer as JPEG, so the expected image is not
# the source: it is built from the same server's own answers by tests/e2e/reference.sh
# --server (every tile fetched with curl, joined with vips arrayjoin), and the output must
# equal it pixel for pixel. With --request-size the client asks for larger regions, which the
# server encodes differently at the seams (chroma subsampling and block edges fall
# elsewhere); those runs are compared, exactly too, with a reference fetched in the same
# regions, and the plan is checked for the regions it chose.
#
# Environment: IIIFSTITCH (default build/iiifstitch), WRAP, RUN_TIMEOUT (default 120),
# KEEP=1, VERBOSE=1 as in test_e2e.sh. Without lighttpd or iipimage-server every check is
# skipped (make check installs them). Last line: "N passed, N failed, N skipped".
set -euo pipefail

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$TOP"
# shellcheck source=tests/lib/common.sh
. tests/lib/common.sh
# shellcheck source=tests/lib/iipsrv.sh
. tests/lib/iipsrv.sh
# shellcheck source=tests/lib/refimage.sh
. tests/lib/refimage.sh
unset http_proxy HTTP_PROXY https_proxy HTTPS_PROXY no_proxy NO_PROXY

RUN_TIMEOUT=${RUN_TIMEOUT:-120}

t_init
t_binary
OUT=$T_WORK/out
IMG=$T_WORK/img
REF=$T_WORK/ref
mkdir -p "$OUT" "$IMG" "$REF"

if ! why=$(iipsrv_available); then
    t_skip iipsrv "$why"
    t_summary
    exit 0
fi

# ------------------------------------------------------------------------------------------
# images: every band a different pattern (a ramp wrapping every 256 px, sines off the tile
# grid, noise), so shifted, swapped or mirrored tiles all change pixels

tmp=$T_WORK/tmp
mkdir -p "$tmp"
make_rgb() { # W H OUT.v
    vips xyz "$tmp/xy.v" "$1" "$2"
    vips extract_band "$tmp/xy.v" "$tmp/x.v" 0
    vips extract_band "$tmp/xy.v" "$tmp/y.v" 1
    vips linear "$tmp/y.v" "$tmp/y2.v" 2 0
    vips add "$tmp/x.v" "$tmp/y2.v" "$tmp/xy2.v"
    vips remainder_const "$tmp/xy2.v" "$tmp/r.v" 256
    vips sines "$tmp/s.v" "$1" "$2" --hfreq 7.3 --vfreq 5.1
    vips linear "$tmp/s.v" "$tmp/g.v" 110 128
    vips gaussnoise "$tmp/n.v" "$1" "$2" --sigma 25 --mean 0
    vips linear "$tmp/y.v" "$tmp/yr.v" "$(awk -v h="$2" 'BEGIN { print 200 / h }')" 20
    vips add "$tmp/yr.v" "$tmp/n.v" "$tmp/b.v"
    vips bandjoin "$tmp/r.v $tmp/g.v $tmp/b.v" "$tmp/rgb.v"
    vips cast "$tmp/rgb.v" "$tmp/rgb8.v" uchar
    vips copy "$tmp/rgb8.v" "$3" --interpretation srgb
}
make_gray() { # W H OUT.v
    vips xyz "$tmp/xy.v" "$1" "$2"
    vips extract_band "$tmp/xy.v" "$tmp/x.v" 0
    vips remainder_const "$tmp/x.v" "$tmp/xm.v" 97
    vips sines "$tmp/s.v" "$1" "$2" --hfreq 3.7 --vfreq 9.2
    vips linear "$tmp/s.v" "$tmp/s1.v" 60 90
    vips gaussnoise "$tmp/n.v" "$1" "$2" --sigma 12 --mean 0
    vips add "$tmp/s1.v" "$tmp/xm.v" "$tmp/a.v"
    vips add "$tmp/a.v" "$tmp/n.v" "$tmp/b.v"
    vips cast "$tmp/b.v" "$tmp/g.v" uchar
    vips copy "$tmp/g.v" "$3" --interpretation b-w
}
pyramid() { # SRC.v NAME TILE_W TILE_H COMPRESSION: $IMG/NAME.tif
    vips tiffsave "$1" "$IMG/$2.tif" --tile --pyramid --tile-width "$3" --tile-height "$4" \
        --compression "$5" --Q 90
}

# name: size, bands, tiles, compression inside the TIFF
#   odd   1001x777  RGB   256x256  jpeg     (4 x 4 tiles, 233 x 9 px corner)
#   wide  2113x1409 RGB   256x256  jpeg     (9 x 6 tiles)
#   gray   777x1001 gray  256x128  deflate  (4 x 8 tiles, not square)
#   tiny   200x150  RGB   256x256  deflate  (one tile, smaller than the tile size)
make_rgb 1001 777 "$tmp/odd.v" && pyramid "$tmp/odd.v" odd 256 256 jpeg
make_rgb 2113 1409 "$tmp/wide.v" && pyramid "$tmp/wide.v" wide 256 256 jpeg
make_gray 777 1001 "$tmp/gray.v" && pyramid "$tmp/gray.v" gray 256 128 deflate
make_rgb 200 150 "$tmp/tiny.v" && pyramid "$tmp/tiny.v" tiny 256 256 deflate
IMAGES="odd wide gray tiny"

iipsrv_start "$IMG"
I=http://127.0.0.1:$IIPSRV_PORT
Q="$I/fcgi-bin/iipsrv.fcgi?IIIF="

# reference NAME KEY [RW RH]: $REF/KEY.v (and .raw, .hdr) from the server's own answers for
# image NAME, in its tiles or in RW x RH regions; refused when far from the TIFF served
reference() {
    local name=$1 key=$2 mean
    tests/e2e/reference.sh --server "$I/iiif/$name.tif/info.json" "$REF/$key.v" "${@:3}"
    # Only the server's JPEG encoding may differ from the TIFF, and a misplaced tile would
    # show. The encoding takes a lot of the blue noise away (4:2:0 chroma), so both are
    # blurred first: then the mean difference is about 1, a tile out of place far more.
    vips gaussblur "$REF/$key.v" "$tmp/a.v" 2
    vips gaussblur "$IMG/$name.tif" "$tmp/b.v" 2
    vips subtract "$tmp/a.v" "$tmp/b.v" "$tmp/d.v"
    vips abs "$tmp/d.v" "$tmp/ad.v"
    mean=$(vips avg "$tmp/ad.v")
    if ! awk -v m="$mean" 'BEGIN { exit !(m < 3) }'; then
        echo "test_iipsrv: reference $key is off from its TIFF (mean |diff| $mean)" >&2
        exit 1
    fi
    ref_cache "$REF/$key.v"
}

for name in $IMAGES; do
    reference "$name" "$name"
done

# ------------------------------------------------------------------------------------------
# helpers

first_line() {
    if [[ -s $1 ]]; then head -n1 "$1" | cut -c1-300; else echo "(stderr empty)"; fi
}

# run NAME ARGS...: the binary with -o $OUT/NAME.tif ARGS; sets RC, FILE, ERR
run() {
    local name=$1
    shift
    FILE=$OUT/$name.tif
    ERR=$OUT/$name.err
    RC=0
    timeout -k 5 "$RUN_TIMEOUT" "${WRAP_ARR[@]}" "$BIN" -o "$FILE" "$@" \
        >"$OUT/$name.stdout" 2>"$ERR" </dev/null || RC=$?
}

# exact KEY: the last run exited 0, left no .part, and wrote a striped TIFF whose pixels
# are exactly $REF/KEY.v
exact() {
    local key=$1
    if (( RC == 124 || RC == 137 )); then echo "timed out after ${RUN_TIMEOUT}s"; return 1; fi
    if (( RC != 0 )); then echo "exit $RC: $(first_line "$ERR")"; return 1; fi
    if [[ -e $FILE.part ]]; then echo "$FILE.part left behind"; return 1; fi
    if [[ ! -f $FILE ]]; then echo "exit 0 but no output file"; return 1; fi
    if ! tiffinfo "$FILE" 2>&1 | grep -q 'Rows/Strip:'; then echo "not a striped TIFF"; return 1; fi
    ref_match "$FILE" "$REF/$key.v" "$OUT"
}

# ok NAME KEY SOURCE [ARGS...]: stitch SOURCE quietly, expect $REF/KEY.v exactly
ok() {
    local name=$1 key=$2 src=$3 why
    shift 3
    run "$name" -q "$@" "$src"
    if why=$(exact "$key"); then t_pass "$name"; else t_fail "$name" "$why"; fi
}

# is NAME WANT GOT
is() {
    if [[ $2 == "$3" ]]; then t_pass "$1"; else t_fail "$1" "want '$2', got '$3'"; fi
}

# plan FIELD...: print the fields of the last --plan=json output, space-separated (lists
# joined by x)
plan() {
    /usr/bin/python3 - "$OUT/plan.json" "$@" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
print(" ".join("x".join(map(str, d[k])) if isinstance(d[k], list) else str(d[k])
               for k in sys.argv[2:]))
EOF
}

# run_plan NAME ARGS...: --plan=json ARGS into $OUT/plan.json; sets RC
run_plan() {
    RC=0
    timeout -k 5 "$RUN_TIMEOUT" "${WRAP_ARR[@]}" "$BIN" --plan=json "${@:2}" \
        >"$OUT/plan.json" 2>"$OUT/$1.err" </dev/null || RC=$?
    if (( RC != 0 )); then
        t_fail "$1" "exit $RC: $(first_line "$OUT/$1.err")"
        return 1
    fi
}

# log_reset, then logged N: the access log's lines once at least N are in
log_reset() { : >"$IIPSRV_ACCESS_LOG"; }
logged() { iipsrv_log_wait "$1" >/dev/null; cat "$IIPSRV_ACCESS_LOG"; }

# ------------------------------------------------------------------------------------------
# every image through its info.json and its base URL (the /iiif/ form)

for name in $IMAGES; do
    ok "info_$name" "$name" "$I/iiif/$name.tif/info.json"
    ok "base_$name" "$name" "$I/iiif/$name.tif"
done
ok base_trailing_slash tiny "$I/iiif/tiny.tif/"

# the fcgi?IIIF= form: the id holds a query string, tiles are appended inside it
ok fcgi_info_odd odd "${Q}odd.tif/info.json"
ok fcgi_base_gray gray "${Q}gray.tif"
ok fcgi_info_wide_4 wide "${Q}wide.tif/info.json" --connections 4

# connections
ok connections_1 wide "$I/iiif/wide.tif/info.json" --connections 1
ok connections_4 wide "$I/iiif/wide.tif/info.json" --connections 4

# what the server saw: the info.json and each of the 9 x 6 tiles once, all 200
log_reset
run requests_wide -q --connections 4 "$I/iiif/wide.tif/info.json"
log=$(logged 55)
is requests_wide "exit 0: 55 requests, 55 distinct, 0 not 200, 1 info.json" \
    "exit $RC: $(grep -c '' <<<"$log") requests, $(awk '{ print $2 }' <<<"$log" | sort -u |
        grep -c '') distinct, $(awk '$4 != 200' <<<"$log" | grep -c '') not 200, \
$(grep -c '/info.json ' <<<"$log") info.json"
# the last column and row are clipped (65 and 129 px), none runs past the image (iipsrv
# would upscale it)
is requests_wide_edges "6 in the last column, 9 in the last row, 0 past the edge" \
    "$(awk '{ n = split($2, p, "/"); if (n < 7) next; split(p[4], r, ",")
              if (r[1] == 2048 && r[3] == 65) c++
              if (r[2] == 1280 && r[4] == 129) w++
              if (r[1] + r[3] > 2113 || r[2] + r[4] > 1409) x++ }
         END { printf "%d in the last column, %d in the last row, %d past the edge", c, w, x }' \
        <<<"$log")"

# the base URL: base/info.json is asked first, and iipsrv answers it (the 303 for the bare
# id, checked in tests/lib/selftest.sh, is the fallback when that fails)
log_reset
run base_requests -q "$I/iiif/tiny.tif"
is base_requests "exit 0: GET /iiif/tiny.tif/info.json 200" \
    "exit $RC: $(logged 2 | head -n1 | awk '{ print $1, $2, $4 }')"

# ------------------------------------------------------------------------------------------
# --plan=json: the grid and the first and last URL in both id forms, no image request

log_reset
if run_plan plan_iiif "$I/iiif/odd.tif/info.json"; then
    is plan_iiif "2 1 1001 777 256x256 4x4 16 False \
$I/iiif/odd.tif/0,0,256,256/256,256/0/default.jpg \
$I/iiif/odd.tif/768,768,233,9/233,9/0/default.jpg" \
        "$(plan api level width height request grid requests probe first last)"
    is plan_iiif_no_image_request "GET /iiif/odd.tif/info.json HTTP/1.1 200" "$(logged 1)"
fi
if run_plan plan_fcgi "${Q}odd.tif/info.json"; then
    is plan_fcgi "${Q}odd.tif/0,0,256,256/256,256/0/default.jpg \
${Q}odd.tif/768,768,233,9/233,9/0/default.jpg" "$(plan first last)"
    # the last URL is one the server answers with exactly the planned size
    curl -s -o "$OUT/last.jpg" "$(plan last)"
    is plan_fcgi_last_served "233x9" \
        "$(vipsheader -f width "$OUT/last.jpg")x$(vipsheader -f height "$OUT/last.jpg")"
fi
if run_plan plan_gray "$I/iiif/gray.tif"; then
    is plan_gray "256x128 4x8 32 $I/iiif/gray.tif/768,896,9,105/9,105/0/default.jpg" \
        "$(plan tile grid requests last)"
fi

# ------------------------------------------------------------------------------------------
# --request-size auto: iipsrv declares maxWidth = maxHeight = MAX_CVT (5000 here), so no
# probe; the regions are as wide as the image and as tall as --max-memory allows: 8M gives
# a band of 8 MiB x 2/3 / (2113 x 3) = 882 rows, 768 as whole tile rows; 1 x 2 regions.

if run_plan auto_plan "$I/iiif/wide.tif/info.json" --request-size auto --max-memory 8M; then
    is auto_plan "2113x768 1x2 2 False $I/iiif/wide.tif/0,768,2113,641/2113,641/0/default.jpg" \
        "$(plan request grid requests probe last)"
fi
reference wide wide_2113x768 2113 768
ok auto_8m wide_2113x768 "$I/iiif/wide.tif/info.json" --request-size auto --max-memory 8M
ok auto_8m_fcgi_1 wide_2113x768 "${Q}wide.tif" --request-size auto --max-memory 8M \
    --connections 1
# --request-size 512: 5 x 3 regions of 512 px
reference wide wide_512x512 512 512
ok request_size_512 wide_512x512 "$I/iiif/wide.tif/info.json" --request-size 512

# iipsrv with MAX_CVT 1000: the declared limit now binds, and larger requests are shrunk
# silently (status 200, a smaller JPEG)
iipsrv_stop
iipsrv_start "$IMG" 1000
I=http://127.0.0.1:$IIPSRV_PORT
Q="$I/fcgi-bin/iipsrv.fcgi?IIIF="

is maxwidth_declared "1000 1000" "$(curl -s "$I/iiif/wide.tif/info.json" | /usr/bin/python3 -c \
    'import json, sys; p = json.load(sys.stdin)["profile"][1]
print(p["maxWidth"], p["maxHeight"])')"
# regions of the declared 1000 px (no probe): 3 x 2 of them. --max-memory 32M (the PC's
# default) so that boards with a smaller default plan the same bands.
M32=(--max-memory 32M)
if run_plan auto_maxwidth_plan "$I/iiif/wide.tif/info.json" --request-size auto "${M32[@]}"; then
    is auto_maxwidth_plan \
        "1000x1000 3x2 6 False $I/iiif/wide.tif/2000,1000,113,409/113,409/0/default.jpg" \
        "$(plan request grid requests probe last)"
fi
reference wide wide_1000x1000 1000 1000
ok auto_maxwidth wide_1000x1000 "$I/iiif/wide.tif/info.json" --request-size auto "${M32[@]}"
ok auto_maxwidth_fcgi_4 wide_1000x1000 "${Q}wide.tif/info.json" --request-size auto \
    --connections 4 "${M32[@]}"

# 2048-px regions from a server that shrinks them to 1000: the first answer is the wrong
# size, so that region and every one after it come as the advertised tiles, and the
# output is exactly the tile reference
log_reset
ok clamp_detected wide "$I/iiif/wide.tif/info.json" --request-size 2048 --connections 1 \
    "${M32[@]}"
log=$(logged 56)
is clamp_requests "1 region, 54 tiles" "$(grep -c '/0,0,2048,1409/' <<<"$log") region, \
$(grep -cE '/[0-9]+,[0-9]+,(256|65),(256|129)/' <<<"$log") tiles"

# ------------------------------------------------------------------------------------------
# errors: one line, exit code, no output

run missing_image -q "$I/iiif/none.tif/info.json"
if (( RC != 5 )); then
    t_fail missing_image "exit $RC, want 5: $(first_line "$ERR")"
elif ! grep -q '404' "$ERR" || [[ $(grep -c '' "$ERR") != 1 ]]; then
    t_fail missing_image "want one line naming the 404: $(first_line "$ERR")"
elif [[ -e $FILE || -e $FILE.part ]]; then
    t_fail missing_image "output left behind"
else
    t_pass missing_image
fi

t_summary
