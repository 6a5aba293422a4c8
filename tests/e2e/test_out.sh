#!/usr/bin/env bash
# test_out.sh - end-to-end tests of the outputs: stdout and FIFOs (sequential
# TIFF, PNM), compression through libtiff, BigTIFF, TIFF tags, and the usage
# errors of those options.
#
# Usage: tests/e2e/test_out.sh
# Environment:
#   IIIFSTITCH=PATH    binary under test (default build/iiifstitch)
#   WRAP="CMD ARGS"    prefix for every run (an emulator)
#   RUN_TIMEOUT=N      seconds before one run is killed (default 60)
#   TREES_CACHE=DIR    the generated trees and references (tests/lib/data.sh)
#   ONLY=REGEX         run only the checks whose name matches (grep -E)
#   KEEP=1, VERBOSE=1  keep the work dir / print passing checks (tests/lib/common.sh)
#
# Pixels are compared exactly (tests/lib/pixcmp.sh) with the reference built
# from the tree's own tiles; JPEG-in-TIFF, being lossy, within a mean bound.
set -euo pipefail

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$TOP"
# shellcheck source=tests/lib/common.sh
. tests/lib/common.sh
# shellcheck source=tests/lib/nginx.sh
. tests/lib/nginx.sh
# shellcheck source=tests/lib/refimage.sh
. tests/lib/refimage.sh
# shellcheck source=tests/lib/data.sh
. tests/lib/data.sh
unset http_proxy HTTP_PROXY https_proxy HTTPS_PROXY no_proxy NO_PROXY

RUN_TIMEOUT=${RUN_TIMEOUT:-60}
PIXCMP=$TOP/tests/lib/pixcmp.sh

t_init
t_binary
O=$T_WORK/out
mkdir -p "$O"

# ------------------------------------------------------------------------------------------
# fixtures: the trees and references of test_e2e.sh, and one tree of 200-px tiles (a band
# height that is not a multiple of the JPEG block rows)

data_ready
TREES=$T_WORK/trees
mkdir -p "$TREES"
for t in odd_v2 gray_v2 odd_200; do
    ln -s "$DATA/iiif/$t" "$TREES/$t"
done
REF_RGB=$DATA/ref/odd_v2.v
REF_GRAY=$DATA/ref/gray_v2.v
RGB=$TREES/odd_v2/info.json
GRAY=$TREES/gray_v2/info.json
# a tree whose tile in the third row is cut short: the run fails after two bands
cp -r "$DATA/iiif/odd_v2" "$TREES/bad_row3"
bad=$TREES/bad_row3/256,512,256,256/256,/0/default.jpg
head -c 300 "$DATA/iiif/odd_v2/256,512,256,256/256,/0/default.jpg" >"$bad"

nginx_start "$TREES"
H=http://127.0.0.1:$NGINX_HTTP_PORT

# ------------------------------------------------------------------------------------------
# helpers

want() { [[ -z ${ONLY:-} ]] || grep -qE -- "$ONLY" <<<"$1"; }
first_line() { if [[ -s $1 ]]; then head -n1 "$1" | cut -c1-300; else echo "(stderr empty)"; fi; }
bin() { timeout -k 5 "$RUN_TIMEOUT" "${WRAP_ARR[@]}" "$BIN" "$@"; }

# stream NAME ARGS...: run with -o - piped through cat into $O/NAME.out; RC, ERR
stream() {
    local name=$1
    shift
    ERR=$O/$name.err
    RC=0
    set +o pipefail
    { bin -o - "$@" </dev/null 2>"$ERR" || echo $? >"$O/$name.rc"; } | cat >"$O/$name.out"
    set -o pipefail
    [[ -f $O/$name.rc ]] && RC=$(<"$O/$name.rc")
    OUT=$O/$name.out
}

# file NAME EXT ARGS...: run with -o $O/NAME.EXT; RC, ERR, OUT
file() {
    local name=$1 ext=$2
    shift 2
    OUT=$O/$name.$ext
    ERR=$O/$name.err
    RC=0
    bin -o "$OUT" "$@" </dev/null >"$O/$name.stdout" 2>"$ERR" || RC=$?
}

# same FILE REF: pixel-exact, or say why
same() { "$PIXCMP" "$1" "$2" 2>&1; }

# mean_below FILE REF BOUND [b-w]: mean |difference| (of the luma with b-w) below BOUND
mean_below() {
    local a=$1 b=$2 bound=$3 m
    if [[ ${4:-} = b-w ]]; then
        vips colourspace "$a" "$T_WORK/la.v" b-w && vips colourspace "$b" "$T_WORK/lb.v" b-w
        a=$T_WORK/la.v b=$T_WORK/lb.v
    fi
    vips subtract "$a" "$b" "$T_WORK/d.v" && vips abs "$T_WORK/d.v" "$T_WORK/ad.v" || return 1
    m=$(vips avg "$T_WORK/ad.v")
    awk -v m="$m" -v b="$bound" 'BEGIN { exit !(m < b) }' || { echo "mean |diff| $m, want < $bound"; return 1; }
}

# ok_run: exit 0 and quiet
ok_run() {
    if (( RC != 0 )); then echo "exit $RC: $(first_line "$ERR")"; return 1; fi
    return 0
}

# tiff_has FILE REGEX...: tiffinfo of FILE matches every REGEX (one a line)
tiff_has() {
    local f=$1 info=$T_WORK/tiffinfo.txt
    shift
    tiffinfo "$f" >"$info" 2>&1 || { echo "tiffinfo failed: $(first_line "$info")"; return 1; }
    for re in "$@"; do
        grep -qE -- "$re" "$info" || { echo "tiffinfo lacks /$re/"; return 1; }
    done
}

kind_is() { # FILE ClassicTIFF|BigTIFF
    tiffdump "$1" 2>/dev/null | head -n2 | grep -q "<$2>" ||
        { echo "not $2: $(tiffdump "$1" 2>&1 | sed -n 2p)"; return 1; }
}

check() { # NAME FUNCTION: t_pass or t_fail with the function's output
    local name=$1 why
    shift
    if why=$("$@" 2>&1); then t_pass "$name"; else t_fail "$name" "$why"; fi
}

no_leftovers() { # nothing but the expected files in $O: no .part anywhere
    local p
    p=$(find "$O" "$TREES/" -name '*.part' | head -n1)
    [[ -z $p ]] || { echo "left behind: $p"; return 1; }
}

# ------------------------------------------------------------------------------------------
# stdout: a sequential TIFF through a pipe

t_stdout_rgb() {
    stream stdout_rgb -q "$RGB"
    ok_run || return 1
    [[ ! -s $ERR ]] || { echo "-q but stderr: $(first_line "$ERR")"; return 1; }
    tiff_has "$OUT" 'Compression Scheme: None' 'Photometric Interpretation: RGB color' \
        'Samples/Pixel: 3' 'Rows/Strip:' 'Software: iiifstitch ' \
        "DocumentName: $RGB\$" 'DateTime: [0-9]{4}:[0-9]{2}:[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}$' ||
        return 1
    kind_is "$OUT" ClassicTIFF && same "$OUT" "$REF_RGB" && no_leftovers
}
want stdout_rgb && check stdout_rgb t_stdout_rgb

t_stdout_gray_http() {
    stream stdout_gray_http -q --connections 4 "$H/gray_v2/info.json"
    ok_run && tiff_has "$OUT" 'Photometric Interpretation: min-is-black' 'Samples/Pixel: 1' &&
        same "$OUT" "$REF_GRAY"
}
want stdout_gray_http && check stdout_gray_http t_stdout_gray_http

# progress and the summary line go to stderr; stdout stays the image alone
t_stdout_progress() {
    stream stdout_progress --progress "$H/odd_v2/info.json"
    ok_run || return 1
    grep -q 'row ' "$ERR" || { echo "no progress on stderr: $(first_line "$ERR")"; return 1; }
    grep -qE '^stdout: 1001x777 RGB, TIFF, [0-9]+ bytes' "$ERR" ||
        { echo "no summary on stderr: $(tail -n1 "$ERR")"; return 1; }
    local bytes
    bytes=$(sed -nE 's/^stdout: .* ([0-9]+) bytes.*/\1/p' "$ERR")
    [[ $bytes = "$(stat -c %s "$OUT")" ]] || { echo "summary says $bytes bytes, stream has $(stat -c %s "$OUT")"; return 1; }
    same "$OUT" "$REF_RGB"
}
want stdout_progress && check stdout_progress t_stdout_progress

t_stdout_bigtiff() {
    stream stdout_bigtiff -q --bigtiff "$GRAY"
    ok_run && kind_is "$OUT" BigTIFF && tiff_has "$OUT" 'Compression Scheme: None' &&
        same "$OUT" "$REF_GRAY"
}
want stdout_bigtiff && check stdout_bigtiff t_stdout_bigtiff

t_stdout_tags() {
    stream stdout_tags -q --tag 'Artist=A. Scribe' --tag 'copyright=CC0 1.0' \
        --tag 'ImageDescription=fragment, recto' "$GRAY"
    ok_run && tiff_has "$OUT" 'Artist: A. Scribe$' 'Copyright: CC0 1.0$' \
        'ImageDescription: fragment, recto$' && same "$OUT" "$REF_GRAY"
}
want stdout_tags && check stdout_tags t_stdout_tags

# straight into libvips through a pipe. libvips before 8.16 reads a TIFF from a
# pipe with single read calls and fails on a short one (libvips issue 4400), so
# the TIFF goes in directly only from 8.16 on; PNM always.
t_stdout_into_vips_pnm() {
    local rc=0
    bin -q --format pnm -o - "$RGB" </dev/null 2>"$O/vips_pnm.err" |
        vips copy stdin "$O/vips_pnm.v" || rc=$?
    (( rc == 0 )) || { echo "pipe into vips failed ($rc): $(first_line "$O/vips_pnm.err")"; return 1; }
    same "$O/vips_pnm.v" "$REF_RGB"
}
want stdout_into_vips_pnm && check stdout_into_vips_pnm t_stdout_into_vips_pnm

vips_minor=$(vips --version | sed -nE 's/^vips-8\.([0-9]+).*/\1/p')
t_stdout_into_vips_tiff() {
    local rc=0
    bin -q -o - "$RGB" </dev/null 2>"$O/vips_tiff.err" | vips copy stdin "$O/vips_tiff.v" || rc=$?
    (( rc == 0 )) || { echo "pipe into vips failed ($rc): $(first_line "$O/vips_tiff.err")"; return 1; }
    same "$O/vips_tiff.v" "$REF_RGB"
}
if want stdout_into_vips_tiff; then
    if [[ ${vips_minor:-0} -ge 16 ]]; then
        check stdout_into_vips_tiff t_stdout_into_vips_tiff
    else
        t_skip stdout_into_vips_tiff "libvips 8.${vips_minor:-?} cannot read a TIFF from a pipe (fixed in 8.16)"
    fi
fi

# a FIFO named by -o is written straight through: no .part beside it
t_fifo() {
    local fifo=$O/fifo.tif rc=0
    mkfifo "$fifo"
    cat "$fifo" >"$O/fifo_copy.tif" &
    local reader=$!
    bin -q -o "$fifo" "$RGB" </dev/null 2>"$O/fifo.err" || rc=$?
    wait "$reader"
    (( rc == 0 )) || { echo "exit $rc: $(first_line "$O/fifo.err")"; return 1; }
    [[ -p $fifo ]] || { echo "the FIFO was replaced"; return 1; }
    [[ ! -e $fifo.part ]] || { echo "$fifo.part made"; return 1; }
    same "$O/fifo_copy.tif" "$REF_RGB"
}
want fifo && check fifo t_fifo

# a failure half way: the stream is short, the exit code says why, one line
t_stdout_fails_mid_stream() {
    stream stdout_fails -q --connections 1 "$TREES/bad_row3/info.json"
    (( RC == 6 )) || { echo "exit $RC, want 6: $(first_line "$ERR")"; return 1; }
    (( $(grep -c '' "$ERR") == 1 )) || { echo "stderr has $(grep -c '' "$ERR") lines"; return 1; }
    grep -q '^iiifstitch: .*512' "$ERR" || { echo "message does not name the tile: $(first_line "$ERR")"; return 1; }
    local size full
    size=$(stat -c %s "$OUT")
    full=$((1001 * 777 * 3))
    (( size > 1001 * 256 * 3 && size < full )) ||
        { echo "stream of $size bytes, want two bands' worth and short of $full"; return 1; }
}
want stdout_fails_mid_stream && check stdout_fails_mid_stream t_stdout_fails_mid_stream

# ------------------------------------------------------------------------------------------
# PNM

pnm_magic() { [[ $(head -c 2 "$1") = "$2" ]] || { echo "magic $(head -c 2 "$1" | od -An -c), want $2"; return 1; }; }

t_pnm_file_rgb() {
    file pnm_file_rgb ppm -q "$RGB"     # the extension chooses PNM
    ok_run && pnm_magic "$OUT" P6 && same "$OUT" "$REF_RGB" && no_leftovers
}
want pnm_file_rgb && check pnm_file_rgb t_pnm_file_rgb

t_pnm_file_gray() {
    file pnm_file_gray img -q --format pnm "$GRAY"
    ok_run && pnm_magic "$OUT" P5 && cp "$OUT" "$O/pnm_file_gray.pgm" &&
        same "$O/pnm_file_gray.pgm" "$REF_GRAY"
}
want pnm_file_gray && check pnm_file_gray t_pnm_file_gray

t_pnm_stdout() {
    stream pnm_stdout -q --format pnm "$H/odd_v2/info.json"
    ok_run && pnm_magic "$OUT" P6 && cp "$OUT" "$O/pnm_stdout.ppm" &&
        same "$O/pnm_stdout.ppm" "$REF_RGB"
}
want pnm_stdout && check pnm_stdout t_pnm_stdout

# ------------------------------------------------------------------------------------------
# compression through libtiff: lossless ones exact, with the predictor

t_lossless() { # NAME SCHEME TREE REF
    file "$1" tif -q --compression "$2" "$3"
    local scheme
    case $2 in deflate) scheme='(AdobeDeflate|Deflate)' ;; lzw) scheme=LZW ;; zstd) scheme=ZSTD ;; none) scheme=None ;; esac
    ok_run && tiff_has "$OUT" "Compression Scheme: $scheme\$" &&
        if [[ $2 != none ]]; then tiff_has "$OUT" 'Predictor: horizontal differencing'; fi &&
        kind_is "$OUT" ClassicTIFF && same "$OUT" "$4" && no_leftovers
}
for c in none deflate lzw zstd; do
    want "compression_${c}_rgb" && check "compression_${c}_rgb" t_lossless "c_${c}_rgb" "$c" "$RGB" "$REF_RGB"
    want "compression_${c}_gray" && check "compression_${c}_gray" t_lossless "c_${c}_gray" "$c" "$GRAY" "$REF_GRAY"
done

# JPEG: RGB as YCbCr 4:2:0, so the luma is close and the colours a little less
t_jpeg_rgb() {
    file jpeg_rgb tif -q --compression jpeg "$H/odd_v2/info.json"
    ok_run && tiff_has "$OUT" 'Compression Scheme: JPEG$' 'Photometric Interpretation: YCbCr' &&
        mean_below "$OUT" "$REF_RGB" 4 b-w && mean_below "$OUT" "$REF_RGB" 16
}
want jpeg_rgb && check jpeg_rgb t_jpeg_rgb

t_jpeg_gray() {
    file jpeg_gray tif -q --compression jpeg --jpeg-quality 95 "$GRAY"
    ok_run && tiff_has "$OUT" 'Compression Scheme: JPEG$' 'Photometric Interpretation: min-is-black' &&
        mean_below "$OUT" "$REF_GRAY" 1
}
want jpeg_gray && check jpeg_gray t_jpeg_gray

# 200-row bands are not whole 16-row JPEG blocks: strips of 192 rows, written by scanline
t_jpeg_odd_band() {
    file jpeg_odd tif -q --compression jpeg "$TREES/odd_200/info.json"
    ok_run && tiff_has "$OUT" 'Compression Scheme: JPEG$' 'Rows/Strip: 192$' &&
        mean_below "$OUT" "$DATA/ref/odd_200.v" 4 b-w
}
want jpeg_odd_band && check jpeg_odd_band t_jpeg_odd_band

t_jpeg_quality_matters() {
    file jpeg_q20 tif -q --compression jpeg --jpeg-quality 20 "$RGB" && ok_run || return 1
    local small=$OUT
    file jpeg_q98 tif -q --compression jpeg --jpeg-quality 98 "$RGB" && ok_run || return 1
    (( $(stat -c %s "$small") * 2 < $(stat -c %s "$OUT") )) ||
        { echo "quality 20: $(stat -c %s "$small") bytes, 98: $(stat -c %s "$OUT")"; return 1; }
    mean_below "$OUT" "$REF_RGB" 3 b-w
}
want jpeg_quality_matters && check jpeg_quality_matters t_jpeg_quality_matters

# ------------------------------------------------------------------------------------------
# BigTIFF and tags on files

t_bigtiff_file() {
    file bigtiff_file tif -q --bigtiff "$RGB"
    ok_run && kind_is "$OUT" BigTIFF && tiff_has "$OUT" 'Image Width: 1001 Image Length: 777' &&
        same "$OUT" "$REF_RGB" && grep -q 'BigTIFF' <(bin --bigtiff -o "$O/b2.tif" "$GRAY" 2>&1)
}
want bigtiff_file && check bigtiff_file t_bigtiff_file

t_bigtiff_deflate() {
    file bigtiff_deflate tif -q --bigtiff --compression deflate "$GRAY"
    ok_run && kind_is "$OUT" BigTIFF && same "$OUT" "$REF_GRAY"
}
want bigtiff_deflate && check bigtiff_deflate t_bigtiff_deflate

t_tags_file() {
    file tags_file tif -q --compression zstd --tag 'Artist=A. Scribe' \
        --tag 'Copyright=© 2026 the owners' --tag 'IMAGEDESCRIPTION=x=y' "$RGB"
    ok_run && tiff_has "$OUT" 'Artist: A. Scribe$' 'Copyright: © 2026 the owners$' \
        'ImageDescription: x=y$' 'Software: iiifstitch ' "DocumentName: $RGB\$" \
        'DateTime: [0-9]{4}:[0-9]{2}:[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}$' && same "$OUT" "$REF_RGB"
}
want tags_file && check tags_file t_tags_file

# ------------------------------------------------------------------------------------------
# usage errors: exit 2, one stderr line naming the cause, no output made

usage() { # NAME REGEX ARGS...
    local name=$1 re=$2
    shift 2
    want "$name" || return 0
    local err=$O/$name.err rc=0 out=$O/$name.tif
    bin -o "$out" "$@" </dev/null >"$O/$name.stdout" 2>"$err" || rc=$?
    if (( rc != 2 )); then
        t_fail "$name" "exit $rc, want 2: $(first_line "$err")"
    elif (( $(grep -c '' "$err") != 1 )) || ! grep -qE "^iiifstitch: .*$re" "$err"; then
        t_fail "$name" "want one line naming /$re/: $(head -n3 "$err" | tr '\n' '|')"
    elif [[ -e $out || -e $out.part ]]; then
        t_fail "$name" "an output file was made"
    else
        t_pass "$name"
    fi
}
usage usage_tag_unknown "Make" --tag Make=Canon "$RGB"
usage usage_tag_no_value "NAME=VALUE" --tag Artist "$RGB"
usage usage_compression_unknown "lzma.*none\|deflate\|lzw\|zstd\|jpeg" --compression lzma "$RGB"
usage usage_jpeg_quality_0 "jpeg-quality '0'" --compression jpeg --jpeg-quality 0 "$RGB"
usage usage_jpeg_quality_101 "jpeg-quality '101'" --compression jpeg --jpeg-quality 101 "$RGB"
usage usage_jpeg_quality_junk "jpeg-quality 'high'" --compression jpeg --jpeg-quality high "$RGB"
usage usage_jpeg_quality_alone "needs --compression jpeg" --jpeg-quality 80 "$RGB"
usage usage_format_unknown "format 'png'" --format png "$RGB"
usage usage_pnm_compressed "PNM" --format pnm --compression deflate "$RGB"
usage usage_pnm_bigtiff "bigtiff" --format pnm --bigtiff "$RGB"
if want usage_stdout_compressed; then
    rc=0
    bin --compression deflate -o - "$RGB" </dev/null >"$O/sc.out" 2>"$O/sc.err" || rc=$?
    if (( rc != 2 )) || ! grep -q 'seekable' "$O/sc.err" || [[ -s $O/sc.out ]]; then
        t_fail usage_stdout_compressed "exit $rc, $(stat -c %s "$O/sc.out") bytes out: $(first_line "$O/sc.err")"
    else
        t_pass usage_stdout_compressed
    fi
fi

# image data is not written to a terminal
if want usage_stdout_terminal; then
    if command -v script >/dev/null; then
        rc=0
        # the run goes through WRAP too (an emulator for a board's binary)
        script -qec "${WRAP:+$WRAP }$BIN -q -o - $RGB" /dev/null >"$O/tty.out" 2>&1 \
            </dev/null || rc=$?
        if (( rc != 2 )) || ! grep -q 'terminal' "$O/tty.out"; then
            t_fail usage_stdout_terminal "exit $rc: $(head -c 200 "$O/tty.out")"
        else
            t_pass usage_stdout_terminal
        fi
    else
        t_skip usage_stdout_terminal "no script(1)"
    fi
fi

t_summary
