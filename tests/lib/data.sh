# shellcheck shell=bash
# data.sh - the generated images, tile trees and references the end-to-end suites read, made
# once and shared. Source after common.sh and refimage.sh, then call data_ready after t_init.
#
#   data_ready
#       Sets DATA to a directory holding (nothing in it is written afterwards):
#         src/{rgb,odd,tiny,gray}.jpg   make_trees.sh's source images
#         iiif/<tree>/                  its ten tile trees (v2_256 v3_256 v2_512 v3_512 odd_v2
#                                       odd_v3 gray_v2 gray_v3 tiny_v2 tiny_v3), and:
#                                         icc_v2   rgb, tiles carrying libvips' sRGB profile
#                                         odd_200  odd, 200-px tiles (test_out.sh)
#                                         tall     odd three times over, 1001x2331 (test_resume.sh)
#         ref/<name>.v                  the reference of every tree (reference.sh), each with
#                                       the side files ref_match reads (.hdr, .raw) and .bands;
#                                       those at scale factors 2 and 4 (<tree>_s2, _s4); and
#                                       crops, mirrors and rotations by libvips, gray by the
#                                       documented luma formula and bitonal by libvips'
#                                       threshold, for test_e2e.sh (listed in _data_derived)
#         synth/dss.pgm                 make_synth.py's 7216x5412 image (test_net.sh)
#       DATA is $TREES_CACHE, by default build/e2e-trees at the top of the tree: made when it
#       is missing or was made by other versions of the generators (a checksum of their text),
#       under a lock, so that suites started at once make it once and then only read it.
#       TREES_CACHE=none makes a private copy in the suite's work dir.

DATA_TREES="v2_256 v3_256 v2_512 v3_512 odd_v2 odd_v3 gray_v2 gray_v3 tiny_v2 tiny_v3"

data_ready() {
    local dir=${TREES_CACHE:-$T_TOP/build/e2e-trees} stamp fd
    if [[ $dir = none ]]; then
        DATA=$T_WORK/data
        bash "$T_LIB/data.sh" make "$DATA"
        return
    fi
    [[ $dir = /* ]] || dir=$T_TOP/$dir
    stamp=$(cat "$T_TOP/tests/e2e/make_trees.sh" "$T_TOP/tests/e2e/reference.sh" \
        "$T_LIB/data.sh" "$T_LIB/refimage.sh" "$T_LIB/make_synth.py" | cksum)
    mkdir -p "$(dirname "$dir")"
    exec {fd}>"$dir.lock"
    flock "$fd"
    if [[ ! -f $dir/.complete || $(<"$dir/.complete") != "$stamp" ]]; then
        rm -rf "$dir"
        if ! bash "$T_LIB/data.sh" make "$dir"; then
            flock -u "$fd"
            echo "data_ready: making $dir failed" >&2
            return 1
        fi
        echo "$stamp" >"$dir/.complete"
    fi
    flock -u "$fd"
    exec {fd}>&-
    DATA=$dir
}

# _data_ref DIR NAME: the side files of DIR/ref/NAME.v
_data_ref() {
    vipsheader -f bands "$1/ref/$2.v" >"$1/ref/$2.bands"
    ref_cache "$1/ref/$2.v"
}

# _data_tree DIR SOURCE NAME TILE [VIPS-OPTIONS...]: a level-0 IIIF tree DIR/iiif/NAME
_data_tree() {
    local dir=$1 src=$2 name=$3 tile=$4
    shift 4
    vips dzsave "$src" "$dir/iiif/$name" --layout iiif --tile-size "$tile" --overlap 0 \
        --suffix '.jpg[Q=90]' "$@"
    rm -f "$dir/iiif/$name/vips-properties.xml"
}

# _data_make DIR: everything, in a process of its own (bash data.sh make DIR), so that set -e
# holds whatever context data_ready is called in
_data_make() {
    local dir=$1 t s mean
    mkdir -p "$dir/ref" "$dir/synth"
    cd "$T_TOP"
    tests/e2e/make_trees.sh "$dir" >/dev/null
    for t in $DATA_TREES; do
        tests/e2e/reference.sh "$dir/iiif/$t" "$dir/ref/$t.v"
        # sanity of the reference itself: close to the source image (only JPEG re-encoding
        # differs); a misplaced tile would show as a large mean difference
        case $t in
            v*) s=rgb ;;
            *) s=${t%_v?} ;;
        esac
        vips subtract "$dir/ref/$t.v" "$dir/src/$s.jpg" "$dir/d.v"
        vips abs "$dir/d.v" "$dir/ad.v"
        mean=$(vips avg "$dir/ad.v")
        if ! awk -v m="$mean" 'BEGIN { exit !(m < 4) }'; then
            echo "data.sh: reference for $t is off from its source (mean |diff| $mean)" >&2
            exit 1
        fi
        _data_ref "$dir" "$t"
    done
    rm -f "$dir/d.v" "$dir/ad.v"

    # tiles that carry an ICC profile (libvips' built-in sRGB, 6922 bytes, kept by --no-strip)
    vips icc_transform "$dir/src/rgb.jpg" "$dir/icc.v" srgb --input-profile srgb
    vips dzsave "$dir/icc.v" "$dir/iiif/icc_v2" --layout iiif --tile-size 256 --no-strip \
        --suffix '.jpg[Q=90]'
    rm -f "$dir/icc.v"
    # 200-px tiles: a band height that is not a multiple of the JPEG block rows
    _data_tree "$dir" "$dir/src/odd.jpg" odd_200 200
    # 1001x2331: ten bands of four 256-px tiles
    vips replicate "$dir/src/odd.jpg" "$dir/tall.v" 1 3
    _data_tree "$dir" "$dir/tall.v" tall 256
    rm -f "$dir/tall.v"
    for t in icc_v2 odd_200 tall; do
        tests/e2e/reference.sh "$dir/iiif/$t" "$dir/ref/$t.v"
        _data_ref "$dir" "$t"
    done

    _data_derived "$dir"

    /usr/bin/python3 tests/lib/make_synth.py 7216 5412 "$dir/synth/dss.pgm"
}

# _data_derived DIR: test_e2e.sh's references made from the others
_data_derived() {
    local dir=$1 ts t s w h
    # other scale factors
    for ts in v2_256:2 v2_256:4 v3_256:2 v3_256:4 odd_v2:2 odd_v3:2; do
        t=${ts%:*} s=${ts#*:}
        tests/e2e/reference.sh "$dir/iiif/$t" "$dir/ref/${t}_s$s.v" "$s"
        _data_ref "$dir" "${t}_s$s"
    done
    # Crops, mirrors and rotations by libvips on the references: vips crop, flip, rot (IIIF's
    # !n: mirror first, then rotate clockwise). A region at scale factor s covers level
    # pixels floor(x/s) .. ceil((x+w)/s).
    vref() { # NAME FROM OP ARGS...: $dir/ref/NAME.v = vips OP FROM ... ARGS
        local name=$1 from=$2 op=$3
        shift 3
        vips "$op" "$dir/ref/$from.v" "$dir/ref/$name.v" "$@"
        _data_ref "$dir" "$name"
    }
    vref v2_256_r90 v2_256 rot d90
    vref v2_256_r180 v2_256 rot d180
    vref v2_256_r270 v2_256 rot d270
    vref v2_256_m v2_256 flip horizontal
    vref v2_256_m90 v2_256_m rot d90
    vref v2_256_m270 v2_256_m rot d270
    vref v2_256_crop v2_256 crop 100 50 700 600
    vref odd_v3_crop odd_v3 crop 1000 776 1 1                        # the last pixel
    vref odd_v2_crop_r180 odd_v2 crop 300 0 413 777
    vref odd_v2_crop_r180b odd_v2_crop_r180 rot d180
    # pct:10,20,50,50 of 1200x900 = 120,180,600,450; at s=2: 60,90 .. 360,315
    vref v3_256_s2_crop v3_256_s2 crop 60 90 300 225
    vref v3_256_s2_crop_m v3_256_s2_crop flip horizontal
    vref v3_256_s2_combo v3_256_s2_crop_m rot d270
    # gray by the documented luma formula, computed independently from the RGB raw pixels
    for t in v2_256 v3_256_s2 v3_256_s2_combo; do
        w=$(vipsheader -f width "$dir/ref/$t.v")
        h=$(vipsheader -f height "$dir/ref/$t.v")
        /usr/bin/python3 - "$dir/ref/$t.raw" "$w" "$h" "$dir/ref/${t}_gray.pgm" <<'EOF'
import sys
import numpy as np
raw, w, h, out = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
rgb = np.fromfile(raw, dtype=np.uint8).reshape(h, w, 3).astype(np.uint32)
y = (299 * rgb[..., 0] + 587 * rgb[..., 1] + 114 * rgb[..., 2] + 500) // 1000
with open(out, "wb") as f:
    f.write(b"P5\n%d %d\n255\n" % (w, h))
    f.write(y.astype(np.uint8).tobytes())
EOF
        vips copy "$dir/ref/${t}_gray.pgm" "$dir/ref/${t}_gray.v"
        _data_ref "$dir" "${t}_gray"
    done
    # bitonal: libvips' threshold (>= 128) on the gray reference
    vips relational_const "$dir/ref/v2_256_gray.v" "$dir/ref/v2_256_bw.v" moreeq 128
    _data_ref "$dir" v2_256_bw
    vref v2_256_bw_r270 v2_256_bw rot d270
}

if [[ ${BASH_SOURCE[0]} = "$0" ]]; then
    set -euo pipefail
    [[ $# = 2 && $1 = make ]] || { echo "usage: $0 make DIR" >&2; exit 2; }
    T_TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
    T_LIB=$T_TOP/tests/lib
    # shellcheck source=tests/lib/refimage.sh
    . "$T_LIB/refimage.sh"
    mkdir -p "$2"
    _data_make "$(cd "$2" && pwd)"
fi
