# shellcheck shell=bash
# refimage.sh - exact comparison with a cached reference image. Source after common.sh.
#
#   header_key IMAGE
#       "WxH FORMAT, N band(s)" from vipsheader: what must match exactly.
#   ref_cache REF.v
#       Write REF.hdr (its header_key) and REF.raw (vips rawsave) beside REF.v.
#   ref_match FILE REF.v TMPDIR
#       Print why and fail unless FILE has REF's header and exactly its pixels: one cmp of
#       its raw pixels (made in TMPDIR) against REF.raw, tests/lib/pixcmp.sh explaining a
#       mismatch. FILE is removed after a match unless KEEP=1.

header_key() {
    local line
    line=$(vipsheader "$1" 2>&1) || { echo "vipsheader failed: $line"; return 1; }
    line=${line##*: }
    [[ $line =~ ^([0-9]+x[0-9]+\ [a-z]+,\ [0-9]+\ bands?) ]] || { echo "$line"; return 1; }
    printf '%s\n' "${BASH_REMATCH[1]}"
}

ref_cache() {
    header_key "$1" >"${1%.v}.hdr"
    vips rawsave "$1" "${1%.v}.raw"
}

ref_match() {
    local file=$1 ref=$2 tmp=$3 got why
    if ! got=$(header_key "$file"); then echo "vipsheader cannot read the output: $got"; return 1; fi
    if [[ $got != "$(<"${ref%.v}.hdr")" ]]; then
        echo "output is $got, want $(<"${ref%.v}.hdr")"
        return 1
    fi
    vips rawsave "$file" "$tmp/out.raw"
    if ! cmp -s "$tmp/out.raw" "${ref%.v}.raw"; then
        why=$("$T_LIB/pixcmp.sh" "$file" "$ref" 2>&1) || true
        echo "${why:-raw pixels differ but pixcmp found no difference}"
        return 1
    fi
    rm -f "$tmp/out.raw"
    [[ ${KEEP:-0} = 1 ]] || rm -f "$file"
    return 0
}
