#!/usr/bin/env bash
# demo.sh — the main job end to end on this machine: make a sample image and
# its IIIF tree (libvips dzsave, Image API 2, 256-px tiles), serve it with
# nginx on a free 127.0.0.1 port, stitch it back with a progress line, print
# the result and stop the server.
set -euo pipefail
TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$TOP"
. tests/lib/common.sh
. tests/lib/nginx.sh
t_init
OUT=${DEMO_OUT:-$TOP/build/demo.tif}
W=${DEMO_W:-3000} H=${DEMO_H:-2000}

echo "demo: making a ${W}x${H} sample image and its IIIF tree"
mkdir -p "$T_WORK/www"
# photo-like content: smooth colour gradients plus fine noise
vips xyz "$T_WORK/xy.v" "$W" "$H"
vips gaussnoise "$T_WORK/noise.v" "$W" "$H" --sigma 20 --mean 0
vips sines "$T_WORK/sines.v" "$W" "$H" --hfreq 3 --vfreq 2
vips linear "$T_WORK/sines.v" "$T_WORK/s8.v" 100 128
vips extract_band "$T_WORK/xy.v" "$T_WORK/x.v" 0
vips extract_band "$T_WORK/xy.v" "$T_WORK/y.v" 1
vips linear "$T_WORK/x.v" "$T_WORK/r.v" "$(echo "255 / $W" | bc -l)" 0
vips linear "$T_WORK/y.v" "$T_WORK/g.v" "$(echo "255 / $H" | bc -l)" 0
vips bandjoin "$T_WORK/r.v $T_WORK/g.v $T_WORK/s8.v" "$T_WORK/rgb.v"
vips add "$T_WORK/rgb.v" "$T_WORK/noise.v" "$T_WORK/sum.v"
vips cast "$T_WORK/sum.v" "$T_WORK/img.v" uchar
vips dzsave "$T_WORK/img.v" "$T_WORK/www/sample" --layout iiif --tile-size 256 --suffix '.jpg[Q=90]'

nginx_start "$T_WORK/www"
URL="http://127.0.0.1:$NGINX_HTTP_PORT/sample/info.json"
echo "demo: serving $URL"
echo "demo: build/iiifstitch $URL -o $OUT --progress"
build/iiifstitch "$URL" -o "$OUT" --progress
nginx_stop
echo "demo: $(vipsheader "$OUT")"
