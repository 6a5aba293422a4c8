#!/bin/sh
# check_install.sh — `make install` into a temporary DESTDIR gives a usable
# tree: the tool runs, a small program builds against the library through
# its pkg-config file alone and runs, and the man page renders without a
# warning. Prints "N passed, N failed, N skipped".
set -u
cd "$(dirname "$0")/.."
MAKE=${MAKE:-make}
pass=0 fail=0
ok() { echo "ok $1"; pass=$((pass + 1)); }
no() { echo "FAIL $1: $2"; fail=$((fail + 1)); }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
root=$tmp/root prefix=/usr/local

if $MAKE -s install DESTDIR="$root" PREFIX="$prefix" >"$tmp/log" 2>&1; then
    ok install
else
    no install "$(tail -n 3 "$tmp/log")"
    echo "$pass passed, $fail failed, 0 skipped"
    exit 1
fi
for f in bin/iiifstitch lib/libiiifstitch.a include/iiifstitch.h \
         lib/pkgconfig/iiifstitch.pc share/man/man1/iiifstitch.1; do
    [ -f "$root$prefix/$f" ] || no "installed_$f" "missing"
done

v=$("$root$prefix/bin/iiifstitch" --version 2>&1)
case $v in "iiifstitch "*) ok installed_tool_runs ;; *) no installed_tool_runs "$v" ;; esac

# a program that knows only the installed tree (PKG_CONFIG_SYSROOT_DIR maps
# the prefix into DESTDIR, as when building against a staged install)
cat >"$tmp/prog.c" <<'C'
#include <iiifstitch.h>
#include <stdio.h>
int main(void)
{
    printf("%s %s %d\n", IIIFS_VERSION, iiifs_status_name(IIIFS_E_CERT),
           iiifs_exit_code(IIIFS_E_CERT));
    return 0;
}
C
export PKG_CONFIG_PATH="$root$prefix/lib/pkgconfig" PKG_CONFIG_SYSROOT_DIR="$root"
if flags=$(pkg-config --static --cflags --libs iiifstitch 2>"$tmp/pc.err"); then
    ok pkg_config
    # shellcheck disable=SC2086
    if ${CC:-cc} -o "$tmp/prog" "$tmp/prog.c" $flags 2>"$tmp/cc.err"; then
        ok link_against_installed_library
        out=$("$tmp/prog" 2>&1)
        case $out in
            *" 4") ok program_runs ;;
            *) no program_runs "printed '$out', want the version, a name and exit code 4" ;;
        esac
    else
        no link_against_installed_library "$(head -n 3 "$tmp/cc.err")"
    fi
else
    no pkg_config "$(cat "$tmp/pc.err")"
fi
unset PKG_CONFIG_PATH PKG_CONFIG_SYSROOT_DIR

# the man page: groff's own warnings, then man(1) renders it
page=$root$prefix/share/man/man1/iiifstitch.1
w=$(groff -man -ww -z "$page" 2>&1)
if [ -z "$w" ]; then ok man_page_lint; else no man_page_lint "$(echo "$w" | head -n 3)"; fi
if MANWIDTH=80 man -l "$page" 2>"$tmp/man.err" | grep -q '^OPTIONS' && [ ! -s "$tmp/man.err" ]; then
    ok man_page_renders
else
    no man_page_renders "$(head -n 3 "$tmp/man.err")"
fi
# options the tool has but the page does not describe (others add flags
# in parallel: a reminder, not a failure)
for o in $("$root$prefix/bin/iiifstitch" --help 2>&1 | grep -oE -- '--[a-z][a-z-]*' | sort -u); do
    esc=$(printf '%s' "$o" | sed 's/-/\\-/g')   # --a-b is written \-\-a\-b
    grep -qF -- "$esc" "$page" || echo "note: $o is not in docs/iiifstitch.1"
done

echo "$pass passed, $fail failed, 0 skipped"
[ "$fail" -eq 0 ]
