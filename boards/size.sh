#!/bin/sh
# size.sh — where the bytes of the board's executable come from: its file
# size, its sections (size -A), and each archive's share of the allocated
# sections as the linker placed them (from a link map). Run by `make size`;
# meant for STATIC=1 builds, where every archive is inside the binary.
set -eu
cd "$(dirname "$0")/.."
BOARD=${BOARD:-host}
BUILD=${BUILD:-build}
bin=$BUILD/iiifstitch
v() { make -s --no-print-directory BOARD="$BOARD" STATIC="${STATIC:-}" BUILD="$BUILD" "print-$1"; }
echo "$bin: $(wc -c <"$bin") bytes"
$(v size) -A "$bin" | awk 'NR > 2 && $2 > 0 { printf "  %-16s %9d\n", $1, $2 }'
# relink with a map (unstripped is fine: only allocated sections are summed)
map=$BUILD/iiifstitch.map
# shellcheck disable=SC2046
$(v cc) $(v link) -o "$BUILD/iiifstitch.mapped" "$BUILD/obj/src/main.o" $(v link_obj) "$BUILD/libiiifstitch.a" \
    $(v ldlibs) -Wl,-Map,"$map" 2>/dev/null
rm -f "$BUILD/iiifstitch.mapped"
echo "per archive (allocated sections: code, read-only data, data, unwind tables):"
python3 - "$map" <<'PY' | sort -rn
import re, sys, collections
total = collections.Counter()
on, pend = False, None
keep = re.compile(r"\.(text|rodata|data|bss|tbss|tdata|init_array|fini_array|gcc_except|eh_frame)")
for line in open(sys.argv[1]):
    line = line.rstrip("\n")
    if line.startswith("Linker script and memory map"):
        on = True
        continue
    if not on:
        continue
    m = re.match(r"^ (\.\S+)$", line)
    if m:
        pend = m.group(1)
        continue
    m = re.match(r"^ (\.\S+)?\s+0x[0-9a-f]+\s+0x([0-9a-f]+)\s+(\S.*)$", line)
    sec, pend = (m.group(1) or pend) if m else None, None
    if not m or not sec or not keep.match(sec):
        continue
    f = re.sub(r"\(.*", "", m.group(3)).split("/")[-1]
    total[f] += int(m.group(2), 16)
for f, n in total.items():
    print("  %9d  %s" % (n, f))
PY
