#!/usr/bin/env bash
# test_client.sh - the caller-owned client and what rests on it, end to end:
#   - a SOURCE is recognised from its content, fetched once: an info.json under any
#     name is planned; a manifest (named .json, or not) is read with one request;
#   - a batch over HTTPS reuses the client's connections: the server sees at most
#     connections x jobs TLS connections for 40 images, not 40 x connections;
#   - --max-memory caps: tiles far larger than usual come one at a time under the cap,
#     pixel-exact; a tile that cannot fit under it is a clear exit 8;
#   - docs/examples/embed.c, built against the public header alone, stitches an image
#     and stops it from its progress callback.
#
# Environment: IIIFSTITCH (default build/iiifstitch), EMBED (default build/embed, next to
# the binary under test), WRAP, RUN_TIMEOUT (default 60), TREES_CACHE (tests/lib/data.sh),
# ONLY, KEEP, VERBOSE.
# The last line is "N passed, N failed, N skipped".
set -euo pipefail

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$TOP"
. tests/lib/common.sh
. tests/lib/nginx.sh
. tests/lib/refimage.sh
. tests/lib/data.sh
unset http_proxy HTTP_PROXY https_proxy HTTPS_PROXY no_proxy NO_PROXY

RUN_TIMEOUT=${RUN_TIMEOUT:-60}
t_init
t_binary
EMBED_BIN=${EMBED:-$(dirname "$BIN")/embed}
W=$T_WORK/w
WWW=$T_WORK/www
mkdir -p "$W" "$WWW"

want() { [[ -z ${ONLY:-} ]] || [[ $1 =~ $ONLY ]]; }
first_line() { head -n 1 "$1" 2>/dev/null | cut -c1-300; }
# run NAME ARGS...: the binary under test, its exit code in RC, stderr in $W/NAME.err
run() {
    local name=$1
    shift
    RC=0
    timeout -k 5 "$RUN_TIMEOUT" "${WRAP_ARR[@]}" "$BIN" "$@" >"$W/$name.out" 2>"$W/$name.err" \
        </dev/null || RC=$?
    ERR=$W/$name.err
}
# requests NAME: lines of the access log since the mark, for path NAME
mark() { LOGMARK=$(wc -l <"$NGINX_DIR/logs/access.log"); }
since() { tail -n +"$((LOGMARK + 1))" "$NGINX_DIR/logs/access.log"; }

# ---- data: the shared trees (tests/lib/data.sh), a tree of fat tiles and its reference, a
# manifest, the same info.json under another name
data_ready
ln -s "$DATA/iiif/v2_256" "$WWW/v2_256"
ln -s "$DATA/iiif/tiny_v3" "$WWW/tiny_v3"
/usr/bin/python3 tests/bench/make_fat.py "$WWW/fat2" 2
/usr/bin/python3 tests/bench/make_fat.py "$WWW/fat6" 6
tests/e2e/reference.sh "$WWW/fat2" "$W/fat2.v" >/dev/null
mkdir -p "$WWW/named" "$WWW/m"

nginx_start "$WWW"
H=http://127.0.0.1:$NGINX_HTTP_PORT
S=https://localhost:$NGINX_HTTPS_PORT
PKI=$T_WORK/pki
# the same info.json under a name of its own: its @id still names the tree
sed "s|\"@id\": *\"[^\"]*\"|\"@id\": \"$H/v2_256\"|" "$DATA/iiif/v2_256/info.json" \
    >"$WWW/named/some-info.json"
manifest() { # a v3 manifest of two canvases on the tiny tree
    cat <<EOF
{"@context": "http://iiif.io/api/presentation/3/context.json", "id": "$H/m/book",
 "type": "Manifest", "label": {"en": ["Book"]},
 "items": [
  {"id": "$H/m/c1", "type": "Canvas", "label": {"en": ["one"]}, "width": 200, "height": 150,
   "items": [{"id": "$H/m/p1", "type": "AnnotationPage", "items": [{"id": "$H/m/a1",
     "type": "Annotation", "motivation": "painting", "target": "$H/m/c1",
     "body": {"id": "$H/tiny_v3/full/max/0/default.jpg", "type": "Image",
       "service": [{"id": "$H/tiny_v3", "type": "ImageService3", "profile": "level0"}]}}]}]},
  {"id": "$H/m/c2", "type": "Canvas", "label": {"en": ["two"]}, "width": 200, "height": 150,
   "items": [{"id": "$H/m/p2", "type": "AnnotationPage", "items": [{"id": "$H/m/a2",
     "type": "Annotation", "motivation": "painting", "target": "$H/m/c2",
     "body": {"id": "$H/tiny_v3/full/max/0/default.jpg", "type": "Image",
       "service": [{"id": "$H/tiny_v3", "type": "ImageService3", "profile": "level0"}]}}]}]}
 ]}
EOF
}
manifest >"$WWW/m/manifest.json"
manifest >"$WWW/m/book"                 # no .json, and served as octet-stream

# ---- resolving once, from the content

if want plan_any_name; then
    mark
    run plan_any_name --plan "$H/named/some-info.json"
    n=$(since | grep -c . || true)
    if (( RC != 0 )); then
        t_fail plan_any_name "exit $RC: $(first_line "$ERR")"
    elif ! grep -q '^image *1200x900' "$W/plan_any_name.out"; then
        t_fail plan_any_name "no 'image 1200x900' in the plan: $(first_line "$W/plan_any_name.out")"
    elif (( n != 1 )); then
        t_fail plan_any_name "$n requests, want 1 (the document): $(since | cut -d' ' -f2 | tr '\n' ' ')"
    else
        t_pass plan_any_name
    fi
fi

if want manifest_json_once; then
    mark
    run manifest_json_once --list "$H/m/manifest.json"
    n=$(since | grep -c . || true)
    if (( RC != 0 )); then
        t_fail manifest_json_once "exit $RC: $(first_line "$ERR")"
    elif [[ $(grep -c . "$W/manifest_json_once.out") != 2 ]]; then
        t_fail manifest_json_once "want 2 jobs listed: $(tr '\n' ' ' <"$W/manifest_json_once.out")"
    elif (( n != 1 )); then
        t_fail manifest_json_once "$n requests, want the manifest once: $(since | cut -d' ' -f2 | tr '\n' ' ')"
    else
        t_pass manifest_json_once
    fi
fi

if want manifest_by_content; then
    mark
    run manifest_by_content --list "$H/m/book"
    reqs=$(since | cut -d' ' -f2,3 | tr '\n' ' ')
    if (( RC != 0 )); then
        t_fail manifest_by_content "exit $RC: $(first_line "$ERR")"
    elif [[ $reqs != "/m/book/info.json 404 /m/book 200 " ]]; then
        t_fail manifest_by_content "requests: $reqs (want /m/book/info.json, then /m/book once)"
    else
        t_pass manifest_by_content
    fi
fi

if want manifest_with_output; then
    run manifest_with_output -o one.tif "$H/m/book"
    if (( RC == 2 )) && grep -q -- '-o names one image' "$ERR"; then
        t_pass manifest_with_output
    else
        t_fail manifest_with_output "exit $RC, want 2 saying -o names one image: $(first_line "$ERR")"
    fi
fi

# ---- one client for a batch: connections and TLS sessions reused

if want batch_tls_reuse; then
    { echo "id,url"
      for i in $(seq 1 40); do echo "img$i,$S/tiny_v3/info.json"; done; } >"$W/forty.csv"
    mark
    run batch_tls_reuse --csv "$W/forty.csv" --url-column url --name '{id}' \
        --out-dir "$W/forty" --jobs 4 --connections 4 --cacert "$PKI/ca.pem"
    conns=$(since | awk '{ print $4 }' | sort -u | grep -c . || true)
    reqs=$(since | grep -c . || true)
    files=$(find "$W/forty" -name 'img*.tif' 2>/dev/null | grep -c . || true)
    if (( RC != 0 )); then
        t_fail batch_tls_reuse "exit $RC: $(first_line "$ERR")"
    elif (( files != 40 )); then
        t_fail batch_tls_reuse "$files of 40 images written"
    elif (( conns > 16 )); then
        t_fail batch_tls_reuse "$conns TLS connections for $reqs requests, want at most 4 x 4"
    else
        t_pass "batch_tls_reuse ($conns TLS connections for $reqs requests)"
    fi
fi

# ---- --max-memory

if want max_memory_fat_tiles; then
    # 2 MiB tiles, 4 connections, an 8 MiB cap: the band (3 MiB) and a tile or two at a time
    run max_memory_fat_tiles -q --connections 4 --max-memory 8M -o "$W/fat2.tif" "$H/fat2/info.json"
    if (( RC != 0 )); then
        t_fail max_memory_fat_tiles "exit $RC: $(first_line "$ERR")"
    elif ! why=$(tests/lib/pixcmp.sh "$W/fat2.tif" "$W/fat2.v" 2>&1); then
        t_fail max_memory_fat_tiles "pixels: $why"
    else
        t_pass max_memory_fat_tiles
    fi
fi

if want max_memory_tile_does_not_fit; then
    # 6 MiB tiles under a 4 MiB cap: never fits, said before anything is written
    run max_memory_tile_does_not_fit -q --max-memory 4M -o "$W/fat6.tif" "$H/fat6/info.json"
    if (( RC != 8 )); then
        t_fail max_memory_tile_does_not_fit "exit $RC, want 8: $(first_line "$ERR")"
    elif ! grep -qE 'memory cap|--max-memory' "$ERR"; then
        t_fail max_memory_tile_does_not_fit "the error does not name the cap: $(first_line "$ERR")"
    elif [[ -e $W/fat6.tif || -e $W/fat6.tif.part ]]; then
        t_fail max_memory_tile_does_not_fit "a file was left"
    else
        t_pass max_memory_tile_does_not_fit
    fi
fi

# ---- the embedding example

if want embed_stitches; then
    if [[ ! -x $EMBED_BIN ]]; then
        t_fail embed_stitches "$EMBED_BIN not built"
    else
        RC=0
        timeout -k 5 "$RUN_TIMEOUT" "${WRAP_ARR[@]}" "$EMBED_BIN" "$H/v2_256" "$W/embed.tif" \
            >"$W/embed.out" 2>"$W/embed.err" || RC=$?
        if (( RC != 0 )); then
            t_fail embed_stitches "exit $RC: $(first_line "$W/embed.err")"
        elif ! why=$(tests/lib/pixcmp.sh "$W/embed.tif" "$DATA/ref/v2_256.v" 2>&1); then
            t_fail embed_stitches "pixels: $why"
        elif ! grep -q '1200x900' "$W/embed.out"; then
            t_fail embed_stitches "its line: $(first_line "$W/embed.out")"
        else
            t_pass embed_stitches
        fi
    fi
fi

if want embed_cancels; then
    RC=0
    timeout -k 5 "$RUN_TIMEOUT" "${WRAP_ARR[@]}" "$EMBED_BIN" "$H/v2_256" "$W/cancel.tif" 1 \
        >"$W/cancel.out" 2>"$W/cancel.err" || RC=$?
    if (( RC != 130 )); then
        t_fail embed_cancels "exit $RC, want 130: $(first_line "$W/cancel.err")"
    elif ! grep -q 'stopped' "$W/cancel.err"; then
        t_fail embed_cancels "no 'stopped': $(first_line "$W/cancel.err")"
    elif [[ -e $W/cancel.tif || -e $W/cancel.tif.part ]]; then
        t_fail embed_cancels "a file was left"
    else
        t_pass embed_cancels
    fi
fi

t_summary
