#!/bin/sh
# run.sh — the whole test run behind `make check`: build, static checks,
# unit and end-to-end tests, then the same under ASan+UBSan, a subset under
# ThreadSanitizer, and valgrind. Each suite
# prints its own "N passed, N failed, N skipped"; the last line sums them all
# (tests/lib/tally.sh).
# For a board (make BOARD=name check): BOARD, BUILD, and RUNNER, the
# emulator every target binary runs under (e.g. qemu-aarch64).
set -u
cd "$(dirname "$0")/.."
MAKE=${MAKE:-make}
BOARD=${BOARD:-host} BUILD=${BUILD:-build} RUNNER=${RUNNER:-}
. tests/lib/tally.sh
log=$(mktemp)
trap 'rm -f "$log"' EXIT

suite() { # NAME CMD...: run, echo its output, add its counts
    name=$1; shift
    echo "== $name"
    "$@" >"$log" 2>&1
    rc=$?
    cat "$log"
    tally "$log" "$rc"
}

$MAKE -s BOARD="$BOARD" BUILD="$BUILD" all "$BUILD/unit-tests" ||
    { echo "0 passed, 1 failed, 0 skipped"; exit 1; }
if [ "$BOARD" = host ]; then
    suite portable sh tests/check_portable.sh
    suite harness bash tests/lib/selftest.sh
    suite install sh tests/check_install.sh
fi
suite symbols env NM="${NM:-nm}" sh tests/check_symbols.sh "$BUILD/libiiifstitch.a"
# shellcheck disable=SC2086
suite unit $RUNNER "$BUILD/unit-tests"
suite e2e env IIIFSTITCH="$BUILD/iiifstitch" WRAP="$RUNNER" bash tests/e2e/test_e2e.sh
suite access env IIIFSTITCH="$BUILD/iiifstitch" WRAP="$RUNNER" bash tests/e2e/test_access.sh
suite net env IIIFSTITCH="$BUILD/iiifstitch" WRAP="$RUNNER" bash tests/e2e/test_net.sh
suite batch env IIIFSTITCH="$BUILD/iiifstitch" WRAP="$RUNNER" bash tests/e2e/test_batch.sh
suite out env IIIFSTITCH="$BUILD/iiifstitch" WRAP="$RUNNER" bash tests/e2e/test_out.sh
suite resume env IIIFSTITCH="$BUILD/iiifstitch" WRAP="$RUNNER" bash tests/e2e/test_resume.sh
suite plan env IIIFSTITCH="$BUILD/iiifstitch" WRAP="$RUNNER" bash tests/e2e/test_plan.sh
suite iipsrv env IIIFSTITCH="$BUILD/iiifstitch" WRAP="$RUNNER" bash tests/e2e/test_iipsrv.sh
# The static executable (STATIC=1) links its own cut-down libtiff codec
# table (boards/tiff_codecs.c): it must still write both compressions
# (tiffinfo reads them, the pixels match the reference) and fetch over
# HTTP, HTTPS and from a local tree, under the same emulator.
if [ "${SKIP_STATIC:-0}" != 1 ]; then
    # without the BUILD the board's check exported: the static tree is its own
    SBUILD=$(env -u BUILD "$MAKE" -s --no-print-directory BOARD="$BOARD" STATIC=1 print-build)
    # the link writes iiifstitch.map beside it; relink a tree from before that
    [ -f "$SBUILD/iiifstitch.map" ] || rm -f "$SBUILD/iiifstitch"
    if env -u BUILD "$MAKE" -s BOARD="$BOARD" STATIC=1 "$SBUILD/iiifstitch" >"$log" 2>&1; then
        suite static-link sh tests/check_static_link.sh "$SBUILD/iiifstitch.map"
        suite e2e-static env IIIFSTITCH="$SBUILD/iiifstitch" WRAP="$RUNNER" \
            ONLY='^(compression_|http_info_|https_info_|local_tree)' bash tests/e2e/test_e2e.sh
    else
        cat "$log"
        echo "== e2e-static: the static build failed"
        TALLY_FAILED=$((TALLY_FAILED + 1))
    fi
fi
if [ "${SKIP_ASAN:-0}" != 1 ]; then
    ASAN="BUILD=build/asan CFLAGS=-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all"
    $MAKE -s BUILD=build/asan \
        CFLAGS="-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all" \
        LDFLAGS="-fsanitize=address,undefined" all build/asan/unit-tests ||
        { echo "0 passed, 1 failed, 0 skipped"; exit 1; }
    suite unit-asan build/asan/unit-tests
    suite e2e-asan env IIIFSTITCH=build/asan/iiifstitch bash tests/e2e/test_e2e.sh
    suite access-asan env IIIFSTITCH=build/asan/iiifstitch bash tests/e2e/test_access.sh
    suite net-asan env IIIFSTITCH=build/asan/iiifstitch bash tests/e2e/test_net.sh
    suite batch-asan env IIIFSTITCH=build/asan/iiifstitch bash tests/e2e/test_batch.sh
    suite out-asan env IIIFSTITCH=build/asan/iiifstitch bash tests/e2e/test_out.sh
    suite resume-asan env IIIFSTITCH=build/asan/iiifstitch bash tests/e2e/test_resume.sh
    suite plan-asan env IIIFSTITCH=build/asan/iiifstitch bash tests/e2e/test_plan.sh
    suite iipsrv-asan env IIIFSTITCH=build/asan/iiifstitch bash tests/e2e/test_iipsrv.sh
fi
if [ "${SKIP_TSAN:-0}" != 1 ]; then
    # ThreadSanitizer (exits 66 on a race) over the runs that use several
    # connections, TLS, retries, the access paths and batches with --jobs.
    $MAKE -s BUILD=build/tsan CFLAGS="-O1 -g -fsanitize=thread" LDFLAGS="-fsanitize=thread" \
        build/tsan/iiifstitch || { echo "0 passed, 1 failed, 0 skipped"; exit 1; }
    suite e2e-tsan env IIIFSTITCH=build/tsan/iiifstitch \
        ONLY='http_info|https_info|connections|local_tree|max_memory|fault|redirect|truncated|chunk' \
        bash tests/e2e/test_e2e.sh
    suite access-tsan env IIIFSTITCH=build/tsan/iiifstitch bash tests/e2e/test_access.sh
    suite net-tsan env IIIFSTITCH=build/tsan/iiifstitch bash tests/e2e/test_net.sh
    suite batch-tsan env IIIFSTITCH=build/tsan/iiifstitch ONLY='batch_jobs|real_list' \
        bash tests/e2e/test_batch.sh
fi
if [ "${SKIP_VALGRIND:-0}" != 1 ] && command -v valgrind >/dev/null; then
    suite valgrind sh tests/valgrind.sh
fi
tally_line
[ "$TALLY_FAILED" -eq 0 ]
