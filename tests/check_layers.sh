#!/bin/sh
# check_layers.sh — layers that only point down.
#
# The Makefile lists the core's modules layer by layer (LAYERS, LAYER_<name>),
# bottom up. Every #include "X.h" of src/M.c and src/M.h must name a module of
# M's own layer or of a layer below it (or the port, or the public header),
# and docs/design.md's table of layers must list the same modules in the same
# layers. Prints one line per fault and "N passed, N failed, N skipped".
set -u
cd "$(dirname "$0")/.."
pass=0 fail=0
ok() { pass=$((pass + 1)); [ "${VERBOSE:-0}" = 1 ] && echo "ok $1"; return 0; }
no() { fail=$((fail + 1)); echo "FAIL $1: $2"; }

layers=$(make -s --no-print-directory print-layers)
# module -> layer index, from the Makefile
map=$(i=0; for l in $layers; do
          for f in $(make -s --no-print-directory "print-layer-$l"); do
              echo "$(basename "$f" .c) $i $l"
          done
          i=$((i + 1))
      done)
[ -n "$map" ] || { no makefile "no LAYER_ lists in the Makefile"; echo "$pass passed, $fail failed, 0 skipped"; exit 1; }
rank() { echo "$map" | awk -v m="$1" '$1 == m { print $2 }'; }
name() { echo "$map" | awk -v m="$1" '$1 == m { print $3 }'; }

# every module in src/ is in a layer, and main is above them all
for f in src/*.c; do
    m=$(basename "$f" .c)
    [ "$m" = main ] && continue
    if [ -n "$(rank "$m")" ]; then ok "listed_$m"; else no "listed_$m" "src/$m.c is in no LAYER_ list of the Makefile"; fi
done

for f in src/*.c src/*.h; do
    m=$(basename "$f"); m=${m%.*}
    [ "$m" = main ] && continue
    r=$(rank "$m")
    [ -n "$r" ] || continue
    for inc in $(sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([^"]*\)\.h".*/\1/p' "$f"); do
        case $inc in iiifstitch|port) continue ;; esac
        ri=$(rank "$inc")
        if [ -z "$ri" ]; then
            no "include_$m" "$f includes $inc.h, which is no module of a layer"
        elif [ "$ri" -gt "$r" ]; then
            no "include_$m" "$f ($(name "$m")) includes $inc.h, a layer up ($(name "$inc"))"
        else
            ok "include_${m}_$inc"
        fi
    done
done

# docs/design.md: "| layer | modules |" rows, modules as `name` in the same layers
for l in $layers; do
    want=$(for f in $(make -s --no-print-directory "print-layer-$l"); do basename "$f" .c; done | sort | tr '\n' ' ')
    row=$(grep -E "^\| *$l *\|" docs/design.md | head -n 1)
    got=$(echo "$row" | cut -d'|' -f3 | grep -oE '`[a-z_]+`' | tr -d '`' | sort | tr '\n' ' ')
    if [ "$want" = "$got" ]; then
        ok "design_$l"
    else
        no "design_$l" "docs/design.md's layer '$l' lists [${got% }], the Makefile [${want% }]"
    fi
done
echo "$pass passed, $fail failed, 0 skipped"
[ "$fail" -eq 0 ]
