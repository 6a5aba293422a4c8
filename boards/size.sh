#!/bin/sh
# size.sh — where the bytes of the board's executable come from: its file
# size, its sections (size -A), and each archive's share of the sections
# stored in the file, as the linker placed them (from a link map). Run by
# `make size`; meant for STATIC=1 builds, where every archive is inside the
# binary. DETAIL=NAME (e.g. DETAIL=libmbedtls.a) also lists the members of
# the archives whose name contains NAME: bytes, and the symbol that made
# the linker take the member (from the map's "Archive member included").
set -eu
cd "$(dirname "$0")/.."
BOARD=${BOARD:-host}
BUILD=${BUILD:-build}
bin=$BUILD/iiifstitch
v() { make -s --no-print-directory BOARD="$BOARD" STATIC="${STATIC:-}" BUILD="$BUILD" "print-$1"; }
echo "$bin: $(wc -c <"$bin") bytes"
$(v size) -A "$bin" | awk 'NR > 2 && $2 > 0 { printf "  %-20s %9d\n", $1, $2 }'
# relink with a map (unstripped is fine: only allocated sections are summed)
map=$BUILD/iiifstitch.map
# shellcheck disable=SC2046
$(v cc) $(v link) -o "$BUILD/iiifstitch.mapped" "$BUILD/obj/src/main.o" $(v link_obj) "$BUILD/libiiifstitch.a" \
    $(v ldlibs) -Wl,-Map,"$map" 2>/dev/null
rm -f "$BUILD/iiifstitch.mapped"
python3 - "$map" "$(wc -c <"$bin")" "${DETAIL:-}" <<'PY'
import re, sys, collections
path, file_bytes, detail = sys.argv[1], int(sys.argv[2]), sys.argv[3]
# sections stored in the file; .bss and .tbss take address space, not bytes
stored = re.compile(r"\.(text|rodata|data|tdata|init_array|fini_array|gcc_except|eh_frame|got)")
nobits = re.compile(r"\.(bss|tbss)")
lines = open(path).read().split("\n")
why = {}   # archive member -> the reference that pulled it in
member = None
for line in lines[:next(i for i, l in enumerate(lines) if l.startswith("Memory Configuration"))]:
    if not line.strip() or line.startswith(("Archive member", "As-needed", "Allocating")):
        continue
    if not line.startswith(" "):
        parts = line.split(None, 1)
        member = parts[0]
        if len(parts) == 1:
            continue
        line = parts[1]
    if member:
        why[re.sub(r"[^ ()]*/", "", member)] = re.sub(r"[^ ()]*/", "", line.strip())
        member = None
per_archive, per_member, bss = collections.Counter(), collections.Counter(), 0
on, pend = False, None
for line in lines:
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
    if not m or not sec:
        continue
    n = int(m.group(2), 16)
    if nobits.match(sec):
        bss += n
        continue
    if not stored.match(sec):
        continue
    obj = m.group(3).split("/")[-1]
    per_archive[re.sub(r"\(.*", "", obj)] += n
    per_member[obj] += n
total = sum(per_archive.values())
print("per archive (bytes stored in the file: code, read-only data, data, unwind tables):")
for f, n in per_archive.most_common():
    print("  %9d  %5.1f%%  %s" % (n, 100.0 * n / file_bytes, f))
print("  %9d          sum; the rest of the %d bytes is headers and alignment" % (total, file_bytes))
print("  %9d          .bss and .tbss (zeroed at run time, not in the file)" % bss)
if detail:
    print("members of *%s* (bytes, and what made the linker take the member):" % detail)
    for obj, n in per_member.most_common():
        if detail in re.sub(r"\(.*", "", obj):
            print("  %9d  %-40s <- %s" % (n, obj, why.get(obj, "")))
PY
