#!/usr/bin/env bash
# reference.sh TREE_DIR OUT.v [SCALE]
#
# Build the expected image of a libvips dzsave IIIF tree at scale factor SCALE (default 1,
# full resolution) from the tree's own tile files, independently of iiifstitch:
#   * width, height, tile width/height and API version from TREE_DIR/info.json
#   * tile (n, m) covers region xr,yr,wr,hr = n*tw*s, m*th*s, clipped to the image; its
#     file is <xr,yr,wr,hr>/<size>/0/default.jpg with size "ws," (v2) or "ws,hs" (v3),
#     ws = ceil(wr/s), hs = ceil(hr/s). A tile covering the whole image is "0,0,W,H"
#     (libvips < 8.17.1) or "full" (later).
#   * vips arrayjoin in raster order on a tw x th grid, then crop to ceil(W/s) x ceil(H/s).
set -euo pipefail

if [[ $# -ne 2 && $# -ne 3 ]]; then
    echo "usage: $0 TREE_DIR OUT.v [SCALE]" >&2
    exit 2
fi
tree=$1
out=$2
scale=${3:-1}

# Prints: COLS TW TH W H, then one tile file per line, raster order.
listing=$(python3 - "$tree" "$scale" <<'EOF'
import json, os, sys
tree, s = sys.argv[1], int(sys.argv[2])
with open(os.path.join(tree, "info.json")) as f:
    info = json.load(f)
ctx = info.get("@context", "")
ctx = " ".join(ctx) if isinstance(ctx, list) else str(ctx)
v3 = "/image/3/" in ctx
W, H = int(info["width"]), int(info["height"])
t = info["tiles"][0]
tw = int(t["width"])
th = int(t.get("height", tw))
cols = (W + tw * s - 1) // (tw * s)
rows = (H + th * s - 1) // (th * s)
print(cols, tw, th, (W + s - 1) // s, (H + s - 1) // s)
for m in range(rows):
    for n in range(cols):
        xr, yr = n * tw * s, m * th * s
        wr, hr = min(tw * s, W - xr), min(th * s, H - yr)
        ws, hs = (wr + s - 1) // s, (hr + s - 1) // s
        size = "%d,%d" % (ws, hs) if v3 else "%d," % ws
        regions = ["%d,%d,%d,%d" % (xr, yr, wr, hr)]
        if (xr, yr, wr, hr) == (0, 0, W, H):
            regions.append("full")
        for region in regions:
            p = os.path.join(tree, region, size, "0", "default.jpg")
            if os.path.isfile(p):
                print(p)
                break
        else:
            sys.exit("reference: no tile file for %s size %s" % (regions[0], size))
EOF
)

read -r cols tw th width height <<<"$(head -n1 <<<"$listing")"
files=$(tail -n +2 <<<"$listing" | tr '\n' ' ')

tmp=$(mktemp -d "${TMPDIR:-/tmp}/reference.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
vips arrayjoin "$files" "$tmp/grid.v" --across "$cols" --hspacing "$tw" --vspacing "$th"
vips crop "$tmp/grid.v" "$out" 0 0 "$width" "$height"
