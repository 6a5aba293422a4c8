#!/usr/bin/env bash
# make_data.sh - make the generated images, trees and references of tests/lib/data.sh now
# (in $TREES_CACHE, default build/e2e-trees), so that suites started afterwards only read
# them. Counts as one check: "1 passed, 0 failed, 0 skipped" when the data is there.
set -euo pipefail

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$TOP"
# shellcheck source=tests/lib/common.sh
. tests/lib/common.sh
# shellcheck source=tests/lib/refimage.sh
. tests/lib/refimage.sh
# shellcheck source=tests/lib/data.sh
. tests/lib/data.sh

t_init
if data_ready; then
    echo "data: $DATA"
    t_pass data
else
    t_fail data "the generated data could not be made"
fi
t_summary
