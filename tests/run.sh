#!/usr/bin/env bash
# run.sh — the whole test run behind `make check`: the builds (plain, static, ASan+UBSan,
# ThreadSanitizer), then the suites: static checks, unit and end-to-end tests, the same
# under ASan+UBSan, a subset under ThreadSanitizer and under valgrind.
#
# The suites are independent (each has its own work dir, servers on free 127.0.0.1 ports,
# and only reads the generated data, made first: tests/lib/data.sh), so JOBS of them
# (default 2) run at once, the longest first. Each one's output is printed whole under
# "== NAME (N s)", in the order of the list below, as soon as it and those before it are
# done. Each suite prints its own "N passed, N failed, N skipped"; the last line sums them
# all (tests/lib/tally.sh).
#
# For a board (make BOARD=name check): BOARD, BUILD, and RUNNER, the emulator every target
# binary runs under (e.g. qemu-aarch64); SKIP_STATIC, SKIP_ASAN, SKIP_TSAN, SKIP_VALGRIND=1
# leave those out.
set -u
cd "$(dirname "$0")/.."
MAKE=${MAKE:-make}
BOARD=${BOARD:-host} BUILD=${BUILD:-build} RUNNER=${RUNNER:-}
JOBS=${JOBS:-2}
ASAN_CFLAGS="-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all"
. tests/lib/tally.sh
LOGS=$(mktemp -d)
# stopped early: the suites still running get a TERM (they stop their servers and remove
# their work dirs); asynchronous commands ignore INT
stop_suites() {
    local f
    for f in "$LOGS"/*.pid; do
        [[ -f $f && ! -f ${f%.pid}.rc ]] && kill -TERM "$(<"$f")" 2>/dev/null
    done
    wait
    rm -rf "$LOGS"
}
trap stop_suites EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---- the builds, before any suite

build() { # NAME MAKE-ARGS...: make, or end the run as one failure
    if ! $MAKE -s -j"$JOBS" "${@:2}" >"$LOGS/build.log" 2>&1; then
        cat "$LOGS/build.log"
        echo "== the $1 build failed"
        echo "0 passed, 1 failed, 0 skipped"
        exit 1
    fi
    cat "$LOGS/build.log"
}
build "$BOARD" BOARD="$BOARD" BUILD="$BUILD" all "$BUILD/unit-tests"
if [[ ${SKIP_STATIC:-0} != 1 ]]; then
    # without the BUILD the board's check exported: the static tree is its own
    SBUILD=$(env -u BUILD "$MAKE" -s --no-print-directory BOARD="$BOARD" STATIC=1 print-build)
    # the link writes iiifstitch.map beside it; relink a tree from before that
    [[ -f $SBUILD/iiifstitch.map ]] || rm -f "$SBUILD/iiifstitch"
    MAKE="env -u BUILD $MAKE" build static BOARD="$BOARD" STATIC=1 "$SBUILD/iiifstitch"
fi
if [[ ${SKIP_ASAN:-0} != 1 ]]; then
    build ASan+UBSan BUILD=build/asan CFLAGS="$ASAN_CFLAGS" LDFLAGS="-fsanitize=address,undefined" \
        all build/asan/unit-tests
fi
if [[ ${SKIP_TSAN:-0} != 1 ]]; then
    build ThreadSanitizer BUILD=build/tsan CFLAGS="-O1 -g -fsanitize=thread" \
        LDFLAGS="-fsanitize=thread" build/tsan/iiifstitch
fi

# ---- the suites

QUEUE=()        # names, in the order their output is printed
declare -A T0

# suite NAME CMD...: start CMD once fewer than JOBS suites run, its output into a log
suite() {
    local name=$1 running
    shift
    while running=$(jobs -pr) && (( $(wc -w <<<"$running") >= JOBS )); do
        wait -n
        flush
    done
    T0[$name]=$SECONDS
    (
        "$@" >"$LOGS/$name.log" 2>&1 </dev/null &
        echo $! >"$LOGS/$name.pid"
        wait $!
        echo $? >"$LOGS/$name.rc.tmp"
        echo $SECONDS >"$LOGS/$name.end"
        mv "$LOGS/$name.rc.tmp" "$LOGS/$name.rc"
    ) &
    QUEUE+=("$name")
}

# flush: print and count the suites at the head of the queue that are done
flush() {
    local name
    while (( ${#QUEUE[@]} > 0 )) && [[ -f $LOGS/${QUEUE[0]}.rc ]]; do
        name=${QUEUE[0]}
        QUEUE=("${QUEUE[@]:1}")
        echo "== $name ($(( $(<"$LOGS/$name.end") - T0[$name] )) s)"
        cat "$LOGS/$name.log"
        tally "$LOGS/$name.log" "$(<"$LOGS/$name.rc")"
    done
}

e2e() { # SUITE BINARY [VAR=VALUE...]: tests/e2e/test_SUITE.sh against BINARY (exec'd)
    local s=$1 bin=$2
    shift 2
    exec env IIIFSTITCH="$bin" WRAP="$RUNNER" "$@" bash "tests/e2e/test_$s.sh"
}

# the generated data first, beside suites that do not read it; then the longest first
suite data bash tests/e2e/make_data.sh
if [[ $BOARD = host ]]; then
    suite harness bash tests/lib/selftest.sh
    suite portable sh tests/check_portable.sh
    suite install sh tests/check_install.sh
fi
suite symbols env NM="${NM:-nm}" sh tests/check_symbols.sh "$BUILD/libiiifstitch.a"
# shellcheck disable=SC2086
suite unit $RUNNER "$BUILD/unit-tests"
suite plan e2e plan "$BUILD/iiifstitch"
suite iipsrv e2e iipsrv "$BUILD/iiifstitch"
if [[ ${SKIP_ASAN:-0} != 1 ]]; then
    suite unit-asan build/asan/unit-tests
    suite e2e-asan e2e e2e build/asan/iiifstitch
    suite batch-asan e2e batch build/asan/iiifstitch
fi
suite e2e e2e e2e "$BUILD/iiifstitch"
suite batch e2e batch "$BUILD/iiifstitch"
if [[ ${SKIP_VALGRIND:-0} != 1 ]] && command -v valgrind >/dev/null; then
    suite valgrind sh tests/valgrind.sh
fi
if [[ ${SKIP_TSAN:-0} != 1 ]]; then
    # ThreadSanitizer (exits 66 on a race) over the runs that use several connections, TLS,
    # retries, the access paths and batches with --jobs
    suite net-tsan e2e net build/tsan/iiifstitch
    suite e2e-tsan e2e e2e build/tsan/iiifstitch \
        ONLY='http_info|https_info|connections|local_tree|max_memory|fault|redirect|truncated|chunk'
    suite batch-tsan e2e batch build/tsan/iiifstitch ONLY='batch_jobs|real_list'
    suite access-tsan e2e access build/tsan/iiifstitch
fi
if [[ ${SKIP_ASAN:-0} != 1 ]]; then
    suite net-asan e2e net build/asan/iiifstitch
    suite resume-asan e2e resume build/asan/iiifstitch
    suite out-asan e2e out build/asan/iiifstitch
    suite access-asan e2e access build/asan/iiifstitch
    suite iipsrv-asan e2e iipsrv build/asan/iiifstitch
    suite plan-asan e2e plan build/asan/iiifstitch
fi
suite net e2e net "$BUILD/iiifstitch"
suite resume e2e resume "$BUILD/iiifstitch"
suite out e2e out "$BUILD/iiifstitch"
suite access e2e access "$BUILD/iiifstitch"
# The static executable (STATIC=1) links its own cut-down libtiff codec table
# (boards/tiff_codecs.c): it must still write both compressions (tiffinfo reads them, the
# pixels match the reference) and fetch over HTTP, HTTPS and from a local tree, under the
# same emulator.
if [[ ${SKIP_STATIC:-0} != 1 ]]; then
    suite static-link sh tests/check_static_link.sh "$SBUILD/iiifstitch.map"
    suite e2e-static e2e e2e "$SBUILD/iiifstitch" \
        ONLY='^(compression_|http_info_|https_info_|local_tree)'
fi
while (( ${#QUEUE[@]} > 0 )); do
    if [[ -z $(jobs -pr) && ! -f $LOGS/${QUEUE[0]}.rc ]]; then
        # nothing runs and the head never finished: its subshell died
        echo 1 >"$LOGS/${QUEUE[0]}.rc"
        echo $SECONDS >"$LOGS/${QUEUE[0]}.end"
    fi
    wait -n
    flush
done
echo "== $SECONDS s in all"
tally_line
[[ $TALLY_FAILED -eq 0 ]]
