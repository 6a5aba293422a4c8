#!/bin/sh
# check_static_link.sh MAP — the static executable's link map shows none of
# libtiff's codecs beyond the ones we write, nor the libraries behind them.
# boards/tiff_codecs.c stands in for libtiff's codec table; if a libtiff
# update or a new reference brought tif_codec.o back, the executable would
# silently grow by megabytes: this catches it.
set -eu
map=${1:?usage: check_static_link.sh build/<board>-static/iiifstitch.map}
[ -f "$map" ] || { echo "FAIL check_static_link: no $map"; exit 1; }
# the "Archive member included to satisfy reference" section lists every
# member the linker took; the pattern names what must not be among them:
# everything but the codecs sink.h's list gives the static build (none,
# deflate, LZW)
bad=$(sed -n '/^Archive member included/,/^Memory Configuration/p' "$map" |
      grep -oE '(lib(zstd|lzma|webp|Lerc|jbig|stdc\+\+)\.a|libtiff\.a\(tif_(codec|jpeg|ojpeg|jbig|lzma|zstd|webp|lerc|fax3|pixarlog|luv|thunder|next|packbits)\.o\))' |
      sort -u | tr '\n' ' ' || true)
if [ -n "$bad" ]; then
    echo "FAIL check_static_link: the static link took $bad"
    exit 1
fi
echo "ok check_static_link: no libtiff codec beyond the ones we write in $map"
