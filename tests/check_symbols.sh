#!/bin/sh
# check_symbols.sh LIB — the library exports the public API and nothing else:
# the global symbols LIB defines are exactly the functions include/iiifstitch.h
# declares with IIIFS_API, every one of them with the iiifs_ prefix. Prints one
# line per fault and "N passed, N failed, N skipped".
set -u
lib=$1
header=$(dirname "$0")/../include/iiifstitch.h
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0 fail=0
ok() { pass=$((pass + 1)); echo "ok $1"; }
no() { fail=$((fail + 1)); echo "FAIL $1: $2"; }

${NM:-nm} -g --defined-only "$lib" | awk 'NF == 3 { print $3 }' | sort -u >"$tmp/exported"
# "IIIFS_API type name(" declarations, possibly over two lines
grep -v '^#' "$header" | tr '\n' ' ' | grep -oE 'IIIFS_API[^;(]*\(' |
    sed -E 's/.*[^A-Za-z0-9_]([A-Za-z0-9_]+)[[:space:]]*\($/\1/' | sort -u >"$tmp/declared"

[ -s "$tmp/exported" ] && ok exports_something || no exports_something "$lib exports nothing"
[ -s "$tmp/declared" ] && ok header_declares || no header_declares "no IIIFS_API in $header"
extra=$(comm -23 "$tmp/exported" "$tmp/declared" | tr '\n' ' ')
missing=$(comm -13 "$tmp/exported" "$tmp/declared" | tr '\n' ' ')
unprefixed=$(grep -v '^iiifs_' "$tmp/exported" | tr '\n' ' ')
[ -z "$extra" ] && ok only_the_public_api || no only_the_public_api "exported but not public: $extra"
[ -z "$missing" ] && ok all_of_the_public_api || no all_of_the_public_api "declared but not defined: $missing"
[ -z "$unprefixed" ] && ok prefix || no prefix "unprefixed exported symbols: $unprefixed"
echo "$(wc -l <"$tmp/exported") symbols exported"
echo "$pass passed, $fail failed, 0 skipped"
[ "$fail" -eq 0 ]
