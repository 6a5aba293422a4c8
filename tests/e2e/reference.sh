#!/usr/bin/env bash
# reference.sh TREE_DIR OUT.v [SCALE]
# reference.sh --server INFO_URL OUT.v [RW RH]
#
# Build the expected image independently of iiifstitch, from the source's own tiles, joined
# with vips arrayjoin in raster order on the tile grid and cropped to the image size. Width,
# height, tile width/height and API version come from the info.json. Tile (n, m) covers
# region xr,yr,wr,hr = n*tw*s, m*th*s, clipped to the image; its size is ws,hs =
# ceil(wr/s), ceil(hr/s); the image is ceil(W/s) x ceil(H/s).
#
#   TREE_DIR        a libvips dzsave tree on disk: tile (n, m) is the file
#                   <xr,yr,wr,hr>/<size>/0/default.jpg with size "ws," (v2) or "ws,hs" (v3).
#                   A tile covering the whole image is "0,0,W,H" (libvips < 8.17.1) or "full"
#                   (later). SCALE: the scale factor s of the level (default 1).
#   --server URL    an image server (level >= 1): every tile is fetched with curl, one
#                   keep-alive connection, as BASE/xr,yr,wr,hr/wr,/0/default.jpg (v2) or
#                   .../wr,hr/... (v3), BASE being URL without "/info.json". The region is
#                   always the clipped one: iipsrv upscales a region that runs past the edge.
#                   RW RH ask for regions of that size instead of the advertised tiles (what
#                   --request-size asks for); servers re-encode every answer as JPEG, so
#                   pixels depend on the regions asked for. Every answer must be a JPEG of
#                   exactly wr x hr, else the reference is refused (exit 1).
set -euo pipefail

usage() {
    echo "usage: $0 TREE_DIR OUT.v [SCALE] | $0 --server INFO_URL OUT.v [RW RH]" >&2
    exit 2
}
server=""
scale=1
if [[ ${1:-} = --server ]]; then
    [[ $# -eq 3 || $# -eq 5 ]] || usage
    server=$2
    out=$3
    region_w=${4:-0}
    region_h=${5:-0}
else
    [[ $# -eq 2 || $# -eq 3 ]] || usage
    tree=$1
    out=$2
    scale=${3:-1}
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/reference.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

if [[ -n $server ]]; then
    curl -sS -f --noproxy '*' -o "$tmp/info.json" "$server"
    tree=$tmp
fi

# Prints: COLS TW TH W H, then per tile "WR HR SOURCE" (a file, or a URL), raster order.
listing=$(python3 - "$tree" "$server" "${region_w:-0}" "${region_h:-0}" "$scale" <<'EOF'
import json, os, sys
tree, server, rw, rh = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
s = int(sys.argv[5])
with open(os.path.join(tree, "info.json")) as f:
    info = json.load(f)
ctx = info.get("@context", "")
ctx = " ".join(ctx) if isinstance(ctx, list) else str(ctx)
v3 = "/image/3/" in ctx
W, H = int(info["width"]), int(info["height"])
t = info["tiles"][0]
tw = int(t["width"])
th = int(t.get("height", tw))
if rw:
    tw, th = rw, rh
base = server[:-len("/info.json")] if server.endswith("/info.json") else server
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
        if server:
            print(wr, hr, "%s/%s/%s/0/default.jpg" % (base, regions[0], size))
            continue
        if (xr, yr, wr, hr) == (0, 0, W, H):
            regions.append("full")
        for region in regions:
            p = os.path.join(tree, region, size, "0", "default.jpg")
            if os.path.isfile(p):
                print(wr, hr, p)
                break
        else:
            sys.exit("reference: no tile file for %s size %s" % (regions[0], size))
EOF
)

read -r cols tw th width height <<<"$(head -n1 <<<"$listing")"
tail -n +2 <<<"$listing" >"$tmp/tiles"

if [[ -n $server ]]; then
    # one curl, one connection: "url" and "output" pairs in a config file
    i=0
    while read -r _ _ url; do
        printf 'url = "%s"\noutput = "%s/t%06d.jpg"\n' "$url" "$tmp" "$i"
        i=$((i + 1))
    done <"$tmp/tiles" >"$tmp/curl.cfg"
    curl -sS -f --noproxy '*' -K "$tmp/curl.cfg"
    i=0
    while read -r wr hr url; do
        printf '%s/t%06d.jpg %s %s %s\n' "$tmp" "$i" "$wr" "$hr" "$url"
        i=$((i + 1))
    done <"$tmp/tiles" >"$tmp/fetched"
    # every answer a JPEG of exactly the region's size (one vipsheader for all)
    # shellcheck disable=SC2046
    vipsheader $(awk '{ print $1 }' "$tmp/fetched") >"$tmp/headers"
    paste -d ' ' "$tmp/fetched" "$tmp/headers" | while read -r f wr hr url _ dims _; do
        got=${dims%% *}
        if [[ $got != "${wr}x${hr}" ]]; then
            echo "reference: $url: ${got:-not an image}, want ${wr}x${hr}" >&2
            exit 1
        fi
        if [[ $(head -c 2 "$f" | od -An -tx1 | tr -d ' ') != ffd8 ]]; then
            echo "reference: $url: not a JPEG" >&2
            exit 1
        fi
    done
    awk '{ print $1 }' "$tmp/fetched" >"$tmp/files"
else
    awk '{ print $3 }' "$tmp/tiles" >"$tmp/files"
fi

files=$(tr '\n' ' ' <"$tmp/files")
vips arrayjoin "$files" "$tmp/grid.v" --across "$cols" --hspacing "$tw" --vspacing "$th"
vips crop "$tmp/grid.v" "$out" 0 0 "$width" "$height"
