#!/bin/sh
# valgrind.sh — the unit tests, a few end-to-end stitches and a batch under memcheck:
# no invalid access, no leak.
set -u
cd "$(dirname "$0")/.."
vg="valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite,indirect"
if $vg build/unit-tests >/dev/null; then echo "ok valgrind_unit"; p=1; f=0; else echo "FAIL valgrind_unit"; p=0; f=1; fi
if WRAP="$vg" ONLY='^(http_info_odd_v2|https_info_gray_v3|connections_8_https|truncated_body|truncated_jpeg|tls_untrusted_rogue)$' bash tests/e2e/test_e2e.sh; then
    p=$((p + 1))
else
    f=$((f + 1)); echo "FAIL valgrind_e2e"
fi
if WRAP="$vg" ONLY='^(proxy_http_env|proxy_https_connect|proxy_refuses_connect|redirect_other_host_drops_headers|usage_header_crlf)$' bash tests/e2e/test_access.sh; then
    p=$((p + 1))
else
    f=$((f + 1)); echo "FAIL valgrind_access"
fi
if WRAP="$vg" ONLY='^(list_real_csv_nir_40|batch_http|batch_jobs|batch_rerun_skips_complete|batch_csv_unterminated|batch_duplicate_names|manifest_v2_http|manifest_bad_canvas)$' bash tests/e2e/test_batch.sh; then
    p=$((p + 1))
else
    f=$((f + 1)); echo "FAIL valgrind_batch"
fi
echo "$p passed, $f failed, 0 skipped"
[ "$f" -eq 0 ]
