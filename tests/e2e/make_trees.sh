#!/usr/bin/env bash
# make_trees.sh OUTDIR
#
# Generate the test images and their libvips dzsave IIIF tile trees.
#
#   OUTDIR/src/<image>.jpg     source images (JPEG, so content is what a camera/scan gives)
#   OUTDIR/iiif/<tree>/        one level-0 IIIF tree per case, info.json at <tree>/info.json
#
# Trees (name: source, layout, tile size):
#   v2_256   rgb  1200x900  iiif   256     v3_256   rgb  1200x900  iiif3  256
#   v2_512   rgb  1200x900  iiif   512     v3_512   rgb  1200x900  iiif3  512
#   odd_v2   rgb  1001x777  iiif   256     odd_v3   rgb  1001x777  iiif3  256
#   gray_v2  gray  700x500  iiif   256     gray_v3  gray  700x500  iiif3  256
#   tiny_v2  rgb   200x150  iiif   256     tiny_v3  rgb   200x150  iiif3  256
#
# Image content is deterministic apart from a gaussnoise band; tree and reference are always
# made from the same file, so that does not matter. Every band carries a different pattern so
# swapped channels, shifted or mirrored tiles all change pixels.
set -euo pipefail

if [[ $# -ne 1 ]]; then
    echo "usage: $0 OUTDIR" >&2
    exit 2
fi
out=$1
src=$out/src
trees=$out/iiif
tmp=$out/tmp
mkdir -p "$src" "$trees" "$tmp"

# make_rgb W H FILE.jpg: three different patterns in R, G, B
make_rgb() {
    local w=$1 h=$2 dst=$3
    vips xyz "$tmp/xy.v" "$w" "$h"
    vips extract_band "$tmp/xy.v" "$tmp/x.v" 0
    vips extract_band "$tmp/xy.v" "$tmp/y.v" 1
    # R: diagonal ramp wrapping every 256 px (x + 2y) mod 256
    vips linear "$tmp/y.v" "$tmp/y2.v" 2 0
    vips add "$tmp/x.v" "$tmp/y2.v" "$tmp/xy2.v"
    vips remainder_const "$tmp/xy2.v" "$tmp/r0.v" 256
    vips cast "$tmp/r0.v" "$tmp/r.v" uchar
    # G: 2-D sine pattern, not aligned to the tile grid
    vips sines "$tmp/s.v" "$w" "$h" --hfreq 7.3 --vfreq 5.1
    vips linear "$tmp/s.v" "$tmp/g0.v" 110 128
    vips cast "$tmp/g0.v" "$tmp/g.v" uchar
    # B: noise on top of a vertical ramp
    vips gaussnoise "$tmp/n.v" "$w" "$h" --sigma 25 --mean 0
    vips linear "$tmp/y.v" "$tmp/yr.v" "$(awk -v h="$h" 'BEGIN{print 200/h}')" 20
    vips add "$tmp/yr.v" "$tmp/n.v" "$tmp/b0.v"
    vips cast "$tmp/b0.v" "$tmp/b.v" uchar
    vips bandjoin "$tmp/r.v $tmp/g.v $tmp/b.v" "$tmp/rgb.v"
    vips copy "$tmp/rgb.v" "$tmp/rgbs.v" --interpretation srgb
    vips jpegsave "$tmp/rgbs.v" "$dst" --Q 92
}

# make_gray W H FILE.jpg: one band, sines + ramp + noise
make_gray() {
    local w=$1 h=$2 dst=$3
    vips xyz "$tmp/xy.v" "$w" "$h"
    vips extract_band "$tmp/xy.v" "$tmp/x.v" 0
    vips remainder_const "$tmp/x.v" "$tmp/xm.v" 97
    vips sines "$tmp/s.v" "$w" "$h" --hfreq 3.7 --vfreq 9.2
    vips linear "$tmp/s.v" "$tmp/s1.v" 60 90
    vips gaussnoise "$tmp/n.v" "$w" "$h" --sigma 12 --mean 0
    vips add "$tmp/s1.v" "$tmp/xm.v" "$tmp/a.v"
    vips add "$tmp/a.v" "$tmp/n.v" "$tmp/b.v"
    vips cast "$tmp/b.v" "$tmp/g.v" uchar
    vips copy "$tmp/g.v" "$tmp/gb.v" --interpretation b-w
    vips jpegsave "$tmp/gb.v" "$dst" --Q 92
}

# tree SRC.jpg NAME LAYOUT TILESIZE
tree() {
    rm -rf "${trees:?}/$2"
    vips dzsave "$1" "$trees/$2" --layout "$3" --tile-size "$4" --overlap 0 \
        --suffix '.jpg[Q=90]'
    rm -f "$trees/$2/vips-properties.xml"
    [[ -f $trees/$2/info.json ]] || { echo "make_trees: no $2/info.json" >&2; exit 1; }
}

make_rgb 1200 900 "$src/rgb.jpg"
make_rgb 1001 777 "$src/odd.jpg"
make_rgb 200 150 "$src/tiny.jpg"
make_gray 700 500 "$src/gray.jpg"

tree "$src/rgb.jpg"  v2_256  iiif  256
tree "$src/rgb.jpg"  v3_256  iiif3 256
tree "$src/rgb.jpg"  v2_512  iiif  512
tree "$src/rgb.jpg"  v3_512  iiif3 512
tree "$src/odd.jpg"  odd_v2  iiif  256
tree "$src/odd.jpg"  odd_v3  iiif3 256
tree "$src/gray.jpg" gray_v2 iiif  256
tree "$src/gray.jpg" gray_v3 iiif3 256
tree "$src/tiny.jpg" tiny_v2 iiif  256
tree "$src/tiny.jpg" tiny_v3 iiif3 256

rm -rf "$tmp"
