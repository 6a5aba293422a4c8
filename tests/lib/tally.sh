# shellcheck shell=sh
# tally.sh — adds up the summaries of test runs; sourced by tests/run.sh and .ci/run.
#
#   tally LOG RC   add the last "N passed, N failed[, N skipped]" line of LOG (a run that
#                  exited RC) to TALLY_PASSED, TALLY_FAILED and TALLY_SKIPPED. A run that
#                  printed no such line counts 1 passed if RC is 0; a non-zero RC with no
#                  failure counted counts 1 failed.
#   tally_line     print "N passed, N failed, N skipped" for the sums
TALLY_PASSED=0 TALLY_FAILED=0 TALLY_SKIPPED=0

tally() {
    tally_counts=$(sed -nE 's/^([0-9]+) passed, ([0-9]+) failed(, ([0-9]+) skipped)?.*/\1 \2 \4/p' "$1" |
        tail -n 1)
    # shellcheck disable=SC2086 # the three numbers, the third possibly absent
    set -- "$2" $tally_counts
    tally_rc=$1 tally_p=${2:-0} tally_f=${3:-0} tally_s=${4:-0}
    [ -z "$tally_counts" ] && [ "$tally_rc" -eq 0 ] && tally_p=1
    [ "$tally_rc" -ne 0 ] && [ "$tally_f" -eq 0 ] && tally_f=1
    TALLY_PASSED=$((TALLY_PASSED + tally_p))
    TALLY_FAILED=$((TALLY_FAILED + tally_f))
    TALLY_SKIPPED=$((TALLY_SKIPPED + tally_s))
}

tally_line() {
    echo "$TALLY_PASSED passed, $TALLY_FAILED failed, $TALLY_SKIPPED skipped"
}
