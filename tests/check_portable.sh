#!/bin/sh
# check_portable.sh — the core (src/) includes no OS header; only port/ may.
# Standard C headers and the four libraries' headers are allowed.
set -eu
allowed='^(assert|ctype|errno|limits|setjmp|stdarg|stddef|stdint|stdio|stdlib|string|jpeglib|jsmn|tiffio|zlib|mbedtls/[a-z_0-9]+)\.h$'
bad=$(grep -hoE '^[[:space:]]*#[[:space:]]*include[[:space:]]*<[^>]+>' src/*.c src/*.h |
      sed -E 's/.*<([^>]+)>/\1/' | sort -u | grep -vE "$allowed" || true)
if [ -n "$bad" ]; then
    echo "FAIL check_portable: src/ includes OS or unexpected headers: $bad"
    exit 1
fi
echo "ok check_portable: src/ includes only standard C and library headers"
