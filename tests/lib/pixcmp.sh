#!/usr/bin/env bash
# pixcmp.sh A B
#
# Exit 0 iff images A and B (any format libvips loads) have the same width, height, number of
# bands, band format and identical pixel values. On mismatch print one line saying why and
# exit 1; exit 2 if an image cannot be read.
#
# Fast path: one vipsheader call, both images dumped with vips rawsave, cmp. Only on a
# mismatch are the difference statistics computed.
#
# PIXCMP_TOL=N (default 0) accepts a maximum absolute per-sample difference of N; only for
# diagnosis, the test suite compares exactly.
set -euo pipefail

if [[ $# -ne 2 ]]; then
    echo "usage: $0 A B" >&2
    exit 2
fi
a=$1
b=$2
tol=${PIXCMP_TOL:-0}

# header FILE -> "WxH FORMAT, N bands" (interpretation and loader left out)
header() {
    local line
    if ! line=$(vipsheader "$1" 2>/dev/null); then
        echo "pixcmp: cannot read $1" >&2
        return 2
    fi
    line=${line##*: }
    if [[ ! $line =~ ^([0-9]+x[0-9]+\ [a-z]+,\ [0-9]+\ bands?) ]]; then
        echo "pixcmp: cannot parse vipsheader output for $1: $line" >&2
        return 2
    fi
    printf '%s\n' "${BASH_REMATCH[1]}"
}

ha=$(header "$a") || exit 2
hb=$(header "$b") || exit 2
if [[ $ha != "$hb" ]]; then
    echo "pixcmp: header differs: $a ($ha) vs $b ($hb)"
    exit 1
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/pixcmp.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

vips rawsave "$a" "$tmp/a.raw"
vips rawsave "$b" "$tmp/b.raw"
if cmp -s "$tmp/a.raw" "$tmp/b.raw"; then
    exit 0
fi

vips subtract "$a" "$b" "$tmp/d.v"
vips abs "$tmp/d.v" "$tmp/ad.v"
max=$(vips max "$tmp/ad.v")
max=${max%%.*}
if (( max <= tol )); then
    exit 0
fi
# how many samples differ, and where the first worst one is
vips relational_const "$tmp/ad.v" "$tmp/ne.v" more 0
frac=$(vips avg "$tmp/ne.v")
read -r w h n <<<"$(vipsheader -f width "$a") $(vipsheader -f height "$a") $(vipsheader -f bands "$a")"
total=$((w * h * n))
count=$(awk -v f="$frac" -v t="$total" 'BEGIN { printf "%d", f / 255 * t + 0.5 }')
read -r x y _ <<<"$(vips max "$tmp/ad.v" --x --y | tr '\n' ' ')"
echo "pixcmp: pixels differ: max |diff| $max (tolerance $tol), $count of $total samples differ, first worst at x=$x y=$y"
exit 1
