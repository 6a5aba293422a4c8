#!/bin/sh
# check_options.sh — the command's option table, its --help and its parser
# agree:
#   - every option of the table in src/main.c (long name, and short letter)
#     appears in --help;
#   - every option --help describes is known to the parser in each form the
#     help shows: -x and --name; --name VALUE and --name=VALUE for one shown
#     with a value, and then "needs a value" when the value is missing;
#     --name and --name=VALUE for one shown as --name[=VALUE];
#   - every other --name the help text mentions is an option the parser knows.
# Each run gives no SOURCE, so it stops at a usage error (or prints the help
# or the version) before anything is fetched; it runs in an empty directory,
# which must stay empty.
#
# IIIFSTITCH: the binary (default build/iiifstitch); IIIFSTITCH_MAIN: the source
# of its option table (default src/main.c); WRAP: an emulator to run
# it under. Prints "N passed, N failed, N skipped".
set -u
cd "$(dirname "$0")/.." || exit 1
BIN=${IIIFSTITCH:-build/iiifstitch}
case $BIN in /*) ;; *) BIN=$PWD/$BIN ;; esac
WRAP=${WRAP:-}
MAIN=${IIIFSTITCH_MAIN:-src/main.c}   # the option table
pass=0 fail=0 skip=0
ok() { [ "${VERBOSE:-0}" = 1 ] && echo "ok   $1"; pass=$((pass + 1)); }
no() { echo "FAIL $1: $2"; fail=$((fail + 1)); }
skipped() { echo "SKIP $1: $2"; skip=$((skip + 1)); }
summary() { echo "$pass passed, $fail failed, $skip skipped"; [ "$fail" -eq 0 ]; exit; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir "$tmp/run"

# run ARGS...: the binary in the empty directory; RC, and its stderr in $tmp/err
run() {
    RC=0
    # shellcheck disable=SC2086 # WRAP is a command and its arguments, or nothing
    (cd "$tmp/run" && timeout -k 5 20 $WRAP "$BIN" "$@") </dev/null >"$tmp/out" 2>"$tmp/err" ||
        RC=$?
}

# accepted NAME ARGS...: the parser knows the option (no "unknown option", no crash,
# nothing written)
accepted() {
    check=$1
    shift
    run "$@"
    written=$(find "$tmp/run" -mindepth 1 | head -n 3 | tr '\n' ' ')
    if grep -q 'unknown option' "$tmp/err"; then
        no "$check" "$(head -n 1 "$tmp/err")"
    elif [ "$RC" -ge 124 ] || [ "$RC" -eq 1 ]; then
        no "$check" "exit $RC: $(head -n 1 "$tmp/err")"
    elif [ -n "$written" ]; then
        no "$check" "wrote $written"
        rm -rf "${tmp:?}/run" && mkdir "$tmp/run"
    elif grep -q 'needs a value' "$tmp/err"; then
        no "$check" "$(head -n 1 "$tmp/err")"
    else
        ok "$check"
    fi
}

# wants_value NAME OPTION: given last, the option asks for its value
wants_value() {
    run "$2"
    if [ "$RC" -eq 2 ] && grep -q "option $2 needs a value" "$tmp/err"; then
        ok "$1"
    else
        no "$1" "exit $RC: $(head -n 1 "$tmp/err")"
    fi
}

if [ ! -x "$BIN" ]; then
    no binary "$BIN is not an executable"
    summary
fi
run --help
if [ "$RC" -ne 0 ] || ! grep -q '^options:' "$tmp/out"; then
    no help "exit $RC: $(head -n 1 "$tmp/err")"
    summary
fi
cp "$tmp/out" "$tmp/help"
ok help

# 1. the table's options are in the help: { "--name", 'x', ... rows of option_table
if [ ! -f "$MAIN" ]; then
    skipped table_in_help "$MAIN not found"
else
    sed -n '/option_table\[\] = {/,/^};/p' "$MAIN" |
        sed -nE "s/^[[:space:]]*\{ \"(--[a-z][a-z0-9-]*)\", ('(.)'|0),.*/\1 \3/p" >"$tmp/table"
    if [ ! -s "$tmp/table" ]; then
        no table_in_help "no rows found in the option table of $MAIN"
    fi
    while read -r long letter; do
        if grep -qE -- "(^|[^a-z0-9-])$long([^a-z0-9-]|\$)" "$tmp/help"; then
            ok "in_help_$long"
        else
            no "in_help_$long" "not in --help"
        fi
        [ -z "$letter" ] && continue
        if grep -qE -- "^  -$letter, $long( |=|\\[|\$)" "$tmp/help"; then
            ok "in_help_-$letter"
        else
            no "in_help_-$letter" "no '-$letter, $long' line in --help"
        fi
    done <"$tmp/table"
fi

# 2. the options the help describes: "  -x, --name ARG" or "      --name ARG", then
# two spaces or the end of the line; "--a A, --b B" describes two. One line per name:
# NAME FORM (flag, value or optional)
grep -E '^(  -[a-zA-Z], |      )--[a-z]' "$tmp/help" | sed -E 's/^ +//; s/  .*//' |
    awk -F', ' '{
        form = ""
        for (i = NF; i >= 1; i--) {       # a short form takes the form of the long one
            n = $i; sub(/[ [].*/, "", n)
            if ($i ~ /\[=/) form = "optional"
            else if ($i ~ / /) form = "value"
            else if (n ~ /^--/) form = "flag"
            print n, form
        }
    }' >"$tmp/described"
if [ ! -s "$tmp/described" ]; then
    no described "no option lines found in --help"
fi
while read -r name form; do
    case $form in
    flag)
        accepted "parse_$name" "$name"
        ;;
    value)
        accepted "parse_$name" "$name" x
        case $name in --*) accepted "parse_$name=" "$name=x" ;; esac
        wants_value "value_$name" "$name"
        ;;
    optional)
        accepted "parse_$name" "$name"
        accepted "parse_$name=" "$name=json"
        ;;
    esac
done <"$tmp/described"

# 3. any other --name the help text mentions (in the synopsis, in a description) is
# an option the parser knows
grep -oE -- '--[a-z][a-z0-9-]*' "$tmp/help" | sort -u >"$tmp/mentioned"
while read -r name; do
    grep -q -- "^$name " "$tmp/described" && continue
    run "$name"
    if grep -q 'unknown option' "$tmp/err"; then
        no "mentioned_$name" "the help names $name; the parser does not know it"
    else
        ok "mentioned_$name"
    fi
done <"$tmp/mentioned"

summary
