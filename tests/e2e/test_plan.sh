#!/usr/bin/env bash
# test_plan.sh - --plan on our own info.json documents (tests/fixtures/info, one per version
# and quirk) and on every info-*.json of ../shared/fixtures (real-world documents; skipped
# when absent, a failure under CI=true), each served over HTTP by the fault server at /NAME/info.json, against the
# first and last request URLs derived by hand in tests/e2e/plan_own.tsv and
# plan_fixtures.tsv. The server must see the info.json and nothing else. Also: level-0
# services with preset sizes only, stitched. Last line: "N passed, N failed, N skipped".
set -euo pipefail

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$TOP"
. tests/lib/common.sh
. tests/lib/fault.sh
unset http_proxy HTTP_PROXY https_proxy HTTPS_PROXY no_proxy NO_PROXY

FIXTURES=${FIXTURES:-$TOP/../shared/fixtures}

t_init
t_binary
ROOT=$T_WORK/root
mkdir -p "$ROOT"

# Our own level-0 services with preset sizes only (digest §4.6): v2 whose largest size is the
# full image, and v3 whose largest is half of it. One request, region full, pixels exactly
# those of the file served.
vips gaussnoise "$T_WORK/n.v" 700 500 --sigma 60 --mean 128
vips bandjoin "$T_WORK/n.v $T_WORK/n.v $T_WORK/n.v" "$T_WORK/c.v"
vips cast "$T_WORK/c.v" "$T_WORK/src.jpg[Q=90]" uchar
mkdir -p "$ROOT/sizes2/full/700,/0" "$ROOT/sizes3/full/350,250/0"
cp "$T_WORK/src.jpg" "$ROOT/sizes2/full/700,/0/default.jpg"
vips resize "$T_WORK/src.jpg" "$ROOT/sizes3/full/350,250/0/default.jpg[Q=90]" 0.5
cat >"$ROOT/sizes2/info.json" <<'EOF'
{"@context": "http://iiif.io/api/image/2/context.json", "@id": "http://localhost/sizes2",
 "protocol": "http://iiif.io/api/image", "width": 700, "height": 500,
 "profile": ["http://iiif.io/api/image/2/level0.json"],
 "sizes": [{"width": 175, "height": 125}, {"width": 700, "height": 500},
           {"width": 350, "height": 250}]}
EOF
cat >"$ROOT/sizes3/info.json" <<'EOF'
{"@context": "http://iiif.io/api/image/3/context.json", "id": "http://localhost/sizes3",
 "type": "ImageService3", "protocol": "http://iiif.io/api/image", "width": 700,
 "height": 500, "profile": "level0",
 "sizes": [{"width": 175, "height": 125}, {"width": 350, "height": 250}]}
EOF
fault_start "$ROOT"
H=http://127.0.0.1:$FAULT_PORT
for case in "sizes2 full/700,/0/default.jpg ''" \
            "sizes3 full/350,250/0/default.jpg 'at most 350x250 of the 700x500'"; do
    eval "set -- $case"
    rc=0
    "${WRAP_ARR[@]}" "$BIN" -o "$T_WORK/$1.tif" "$H/$1/info.json" 2>"$T_WORK/$1.err" || rc=$?
    if [[ $rc != 0 ]]; then
        t_fail "preset_$1" "exit $rc: $(head -c 300 "$T_WORK/$1.err")"
    elif ! bash tests/lib/pixcmp.sh "$T_WORK/$1.tif" "$ROOT/$1/$2" >/dev/null; then
        t_fail "preset_$1" "pixels differ from $2"
    elif [[ -n $3 ]] && ! grep -q "$3" "$T_WORK/$1.err"; then
        t_fail "preset_$1" "no warning /$3/: $(head -c 300 "$T_WORK/$1.err")"
    else
        t_pass "preset_$1"
    fi
    n=$(fault_count "/$1/.*")
    [[ $n = 2 ]] && t_pass "preset_$1_requests" || t_fail "preset_$1_requests" "$n requests"
    : >"$FAULT_LOG"
done

# plan_table DIR TSV MISSING: every row of TSV (fixture in DIR) served at /NAME/info.json;
# MISSING (t_fail or t_skip_shared) is called for a row whose file is not in DIR
plan_table() {
    local dir=$1 tsv=$2 missing=$3 name api level size reqs first last F out rc got want seen seen_info
    while IFS=$'\t' read -r name _; do
        [[ $name = \#* || -z $name ]] && continue
        [[ -f $dir/$name ]] || continue
        mkdir -p "$ROOT/${name%.json}"
        ln -sf "$dir/$name" "$ROOT/${name%.json}/info.json"
    done <"$tsv"
    while IFS=$'\t' read -r name api level size reqs first last; do
        [[ $name = \#* || -z $name ]] && continue
        if [[ ! -f $dir/$name ]]; then
            "$missing" "plan_$name" "$dir/$name"
            continue
        fi
        F=http://127.0.0.1:$FAULT_PORT/${name%.json}
        fault_scenario '[]'
        out=$T_WORK/$name.plan
        rc=0
        "${WRAP_ARR[@]}" "$BIN" --plan=json -o "$T_WORK/x.tif" "$F/info.json" >"$out" \
            2>"$out.err" </dev/null || rc=$?
        if [[ $rc != 0 ]]; then
            t_fail "plan_$name" "exit $rc: $(head -c 300 "$out.err")"
            continue
        fi
        got=$(/usr/bin/python3 -c 'import json, sys
d = json.load(open(sys.argv[1]))
print("\t".join([d["api"], str(d["level"]), "%dx%d" % (d["width"], d["height"]),
                 str(d["requests"]), d["first"], d["last"]]))' "$out")
        want=$(printf '%s\t%s\t%s\t%s\t%s\t%s' "$api" "$level" "$size" "$reqs" \
            "${first//\{F\}/$F}" "${last//\{F\}/$F}")
        if [[ $got == "$want" ]]; then t_pass "plan_$name"
        else t_fail "plan_$name" "got  $got
      want $want"; fi
        seen=$(fault_count '.*')
        seen_info=$(fault_count "/${name%.json}/info\\.json")
        if [[ $seen = 1 && $seen_info = 1 ]]; then t_pass "plan_${name}_only_info"
        else t_fail "plan_${name}_only_info" "$seen requests, $seen_info for the info.json"; fi
    done <"$tsv"
}

# our own documents, one per version and quirk
for f in tests/fixtures/info/*.json; do
    n=$(basename "$f")
    if grep -q "^$n	" tests/e2e/plan_own.tsv; then t_pass "listed_$n"
    else t_fail "listed_$n" "no row in tests/e2e/plan_own.tsv"; fi
done
plan_table "$TOP/tests/fixtures/info" tests/e2e/plan_own.tsv t_fail

if [[ ! -d $FIXTURES ]]; then
    t_skip_shared plan_fixtures "$FIXTURES"
    t_summary
    exit 0
fi

# every real-world fixture has an expectation, so a new one is not silently left out
for f in "$FIXTURES"/info-*.json; do
    n=$(basename "$f")
    if grep -q "^$n	" tests/e2e/plan_fixtures.tsv; then t_pass "listed_$n"
    else t_fail "listed_$n" "no row in tests/e2e/plan_fixtures.tsv"; fi
done
plan_table "$FIXTURES" tests/e2e/plan_fixtures.tsv t_skip_shared

t_summary
