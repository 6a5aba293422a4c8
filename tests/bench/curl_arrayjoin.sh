#!/usr/bin/env bash
# Baseline (b): shell tools only.
#
#   curl_arrayjoin.sh URL_OF_INFO_JSON OUT.tif
#
# 1. curl fetches info.json, then every scale-factor-1 tile in one
#    `curl --parallel --parallel-max $CURL_PARALLEL_MAX` (default 8) run,
#    driven by a config file of url/output pairs, into a temp dir;
# 2. `vips arrayjoin` lays the tiles out in raster order (--across COLS),
#    `vips crop` trims the grid to W x H when the edge tiles are partial,
#    and the result is saved as an uncompressed TIFF.
# Tile URLs use the IIIF v2 form {base}/{x},{y},{w},{h}/{w},/0/default.jpg
# (libvips dzsave --layout iiif level 0), with base = the URL minus /info.json.
# The temp dir lives under ${TMPDIR:-/tmp} and is removed on exit.
set -euo pipefail

if (( $# != 2 )); then
    echo "usage: curl_arrayjoin.sh URL_OF_INFO_JSON OUT.tif" >&2
    exit 2
fi
url=$1
out=$2
case $url in
    */info.json) ;;
    *) echo "curl_arrayjoin: SOURCE must end in /info.json" >&2; exit 2 ;;
esac
base=${url%/info.json}
for tool in curl vips python3; do
    command -v "$tool" >/dev/null || { echo "curl_arrayjoin: $tool not found" >&2; exit 1; }
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/curl_arrayjoin.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

# arrayjoin keeps every tile file open
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

curl -sS --fail -o "$tmp/info.json" "$url"
read -r W H TW TH < <(python3 -c '
import json, sys
i = json.load(open(sys.argv[1]))
t = (i.get("tiles") or [{"width": 256}])[0]
print(int(i["width"]), int(i["height"]), int(t["width"]), int(t.get("height", t["width"])))
' "$tmp/info.json")

cols=$(( (W + TW - 1) / TW ))
rows=$(( (H + TH - 1) / TH ))
files=()
{
    n=0
    for (( y = 0; y < H; y += TH )); do
        h=$(( H - y < TH ? H - y : TH ))
        for (( x = 0; x < W; x += TW )); do
            w=$(( W - x < TW ? W - x : TW ))
            if (( x == 0 && y == 0 && w == W && h == H )); then
                region=full
            else
                region="$x,$y,$w,$h"
            fi
            printf -v f '%s/t%07d.jpg' "$tmp" "$n"
            printf 'url = "%s/%s/%d,/0/default.jpg"\noutput = "%s"\n' "$base" "$region" "$w" "$f"
            files+=("$f")
            n=$(( n + 1 ))
        done
    done
} >"$tmp/curl.cfg"

curl --no-progress-meter --parallel --parallel-max "${CURL_PARALLEL_MAX:-8}" --fail -sS -K "$tmp/curl.cfg"
for f in "${files[@]}"; do
    [[ -s $f ]] || { echo "curl_arrayjoin: tile missing: $f" >&2; exit 1; }
done

if (( cols * TW == W && rows * TH == H )); then
    vips arrayjoin "${files[*]}" "${out}[compression=none]" --across "$cols"
else
    vips arrayjoin "${files[*]}" "$tmp/joined.v" --across "$cols"
    vips crop "$tmp/joined.v" "${out}[compression=none]" 0 0 "$W" "$H"
fi
