#!/usr/bin/env bash
# test_batch.sh - end-to-end tests of --csv: --list on the real fragment list (when
# ../shared/data is there; under CI=true it must be), and small batches of our own CSV files against the local nginx
# tile trees: names, pixels, a failing row, re-runs that skip finished files, and every
# input error before anything is downloaded.
#
# Usage: tests/e2e/test_batch.sh
# Environment: as tests/e2e/test_e2e.sh (IIIFSTITCH, WRAP, RUN_TIMEOUT, TREES_CACHE, ONLY,
#   KEEP, VERBOSE), and SHARED_CSV=PATH (default ../shared/data/fragment_identifiers.csv).
#
# Each check is one named pass/fail; the last line is "N passed, N failed, N skipped".
set -euo pipefail

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$TOP"
# shellcheck source=tests/lib/common.sh
. tests/lib/common.sh
# shellcheck source=tests/lib/nginx.sh
. tests/lib/nginx.sh
# shellcheck source=tests/lib/fault.sh
. tests/lib/fault.sh
# shellcheck source=tests/lib/refimage.sh
. tests/lib/refimage.sh
# shellcheck source=tests/lib/data.sh
. tests/lib/data.sh

unset http_proxy HTTP_PROXY https_proxy HTTPS_PROXY no_proxy NO_PROXY

RUN_TIMEOUT=${RUN_TIMEOUT:-120}
PIXCMP=$TOP/tests/lib/pixcmp.sh
SHARED_CSV=${SHARED_CSV:-$TOP/../shared/data/fragment_identifiers.csv}
NIR='label=Near Infra-Red (NIR) -Recto'

t_init
t_binary
W=$T_WORK/w
mkdir -p "$W"

want() {    # want NAME: false when ONLY is set and NAME does not match it
    [[ -z ${ONLY:-} ]] || grep -qE -- "$ONLY" <<<"$1"
}

first_line() {
    if [[ -s $1 ]]; then head -n1 "$1" | cut -c1-300; else echo "(stderr empty)"; fi
}

# run NAME ARGS...: run the binary in $W; sets RC, OUT (stdout file), ERR (stderr file)
run() {
    local name=$1
    shift
    OUT=$W/$name.stdout
    ERR=$W/$name.err
    RC=0
    (cd "$W" && timeout -k 5 "$RUN_TIMEOUT" "${WRAP_ARR[@]}" "$BIN" "$@") \
        >"$OUT" 2>"$ERR" </dev/null || RC=$?
}

# bad NAME WANT_RC REGEX ARGS...: exit WANT_RC, exactly one stderr line "iiifstitch: ..."
# matching REGEX, nothing on stdout, no output directory made
bad() {
    local name=$1 rc=$2 re=$3 first lines
    shift 3
    want "$name" || return 0
    rm -rf "$W/never"
    run "$name" --out-dir never "$@"
    first=$(first_line "$ERR")
    lines=$(grep -c '' "$ERR" || true)
    if (( RC != rc )); then
        t_fail "$name" "exit $RC, want $rc: $first"
    elif [[ $first != "iiifstitch: "* ]] || (( lines != 1 )); then
        t_fail "$name" "want one 'iiifstitch: ' line, got $lines: $(head -n3 "$ERR" | tr '\n' '|')"
    elif ! grep -qE -- "$re" <<<"$first"; then
        t_fail "$name" "message does not say /$re/: $first"
    elif [[ -s $OUT || -e $W/never ]]; then
        t_fail "$name" "printed a list or made the output directory"
    else
        t_pass "$name"
    fi
}

# shards_cover NAME ARGS...: --list of --shard 0/N .. N-1/N (N = 2 and 3), sorted together,
# equals the unsharded --list sorted, and every shard's count line names its shard
shards_cover() {
    local name=$1 n k why=""
    shift
    want "$name" || return 0
    run "$name.all" "$@" --list
    [[ $RC == 0 ]] || { t_fail "$name" "unsharded: exit $RC: $(first_line "$ERR")"; return; }
    sort "$OUT" >"$W/$name.want"
    for n in 2 3; do
        : >"$W/$name.got"
        for (( k = 0; k < n; k++ )); do
            run "$name.$k.$n" "$@" --list --shard "$k/$n"
            if (( RC != 0 )); then why="--shard $k/$n: exit $RC: $(first_line "$ERR")"; break 2; fi
            if ! grep -qE "^[0-9]+ jobs? \(shard $k/$n of $(grep -c '' "$W/$name.want")\) from " "$ERR"; then
                why="--shard $k/$n count line: $(first_line "$ERR")"; break 2
            fi
            cat "$OUT" >>"$W/$name.got"
        done
        sort "$W/$name.got" >"$W/$name.got.sorted"
        if ! cmp -s "$W/$name.want" "$W/$name.got.sorted"; then
            why="$n shards: $(diff "$W/$name.want" "$W/$name.got.sorted" | grep -c '^[<>]') lines differ"
            break
        fi
    done
    if [[ -n $why ]]; then t_fail "$name" "$why"; else t_pass "$name"; fi
}

# ------------------------------------------------------------------------------------------
# --list on the real fragment list (no network: nothing is fetched)

if [[ ! -f $SHARED_CSV ]]; then
    t_skip_shared list_real_csv "$SHARED_CSV"
else
    if want list_real_csv_nir_40; then
        run list_real_csv_nir_40 --csv "$SHARED_CSV" --url-column image_url --where "$NIR" \
            --limit 40 --out-dir dss --list
        n=$(grep -c '' "$OUT" || true)
        nok=$(grep -cE $'^dss/[0-9a-f]{60,64}\\.tif\thttps://iaa\\.iiifhosting\\.com/iiif/[0-9a-f]{60,64}$' "$OUT" || true)
        if (( RC != 0 )); then
            t_fail list_real_csv_nir_40 "exit $RC: $(first_line "$ERR")"
        elif (( n != 40 || nok != 40 )); then
            t_fail list_real_csv_nir_40 "want 40 lines OUTPUT<TAB>SOURCE, got $n ($nok well-formed)"
        elif ! grep -qE '^40 jobs from [0-9]+ records of .*fragment_identifiers\.csv \(--limit reached\)$' "$ERR"; then
            t_fail list_real_csv_nir_40 "count line: $(first_line "$ERR")"
        elif ! head -n1 "$OUT" | grep -q '^dss/dede6fd6633bc35ec6b65690ef499e8f2b1772d5b687d340c3a2d01cd7ed2e3c\.tif	'; then
            t_fail list_real_csv_nir_40 "first job: $(head -n1 "$OUT")"
        elif [[ -e $W/dss ]]; then
            t_fail list_real_csv_nir_40 "--list made the output directory"
        else
            t_pass list_real_csv_nir_40
        fi
    fi
    if want list_real_csv_nir_all; then
        # by identifier and base: the same 2,275 URLs as the image_url column gives
        run list_real_csv_nir_all --csv "$SHARED_CSV" --id-column image_identifier \
            --base https://iaa.iiifhosting.com/iiif/ --where "$NIR" --list
        run list_real_csv_nir_url --csv "$SHARED_CSV" --url-column image_url --where "$NIR" --list
        if (( RC != 0 )); then
            t_fail list_real_csv_nir_all "exit $RC: $(first_line "$ERR")"
        elif [[ $(grep -c '' "$OUT") != 2275 ]] || ! cmp -s "$OUT" "$W/list_real_csv_nir_all.stdout"; then
            t_fail list_real_csv_nir_all "want 2275 identical jobs by id and by URL"
        elif [[ $(<"$ERR") != "2275 jobs from 9108 records of $SHARED_CSV" ]]; then
            t_fail list_real_csv_nir_all "count line: $(first_line "$ERR")"
        else
            t_pass list_real_csv_nir_all
        fi
    fi
    shards_cover list_real_csv_shards --csv "$SHARED_CSV" --id-column image_identifier \
        --base https://iaa.iiifhosting.com/iiif --where "$NIR" --limit 40 --out-dir dss
    shards_cover list_real_csv_shards_all --csv "$SHARED_CSV" --url-column image_url \
        --where "$NIR"
    # a catalogue name collides (fragments photographed twice on one plate): refused whole
    bad list_real_csv_duplicate_names 2 'fragment_identifiers\.csv: records [0-9]+ \(line [0-9]+\) and [0-9]+ \(line [0-9]+\) both make' \
        --csv "$SHARED_CSV" --url-column image_url --where "$NIR" --name '{manuscript}_{plate}_{frag}' --list
fi

# ------------------------------------------------------------------------------------------
# trees, references, nginx

TREES="v2_256 gray_v3 odd_v2 v3_512"
data_ready
WWW=$T_WORK/www
mkdir -p "$WWW"
for t in $TREES; do
    ln -s "$DATA/iiif/$t" "$WWW/$t"
done
nginx_start "$WWW"
H=http://127.0.0.1:$NGINX_HTTP_PORT
LOG=$NGINX_DIR/logs/access.log

# same IMAGE TREE: IMAGE has exactly the reference pixels of TREE
same() {
    "$PIXCMP" "$1" "$DATA/ref/$2.v" 2>&1
}

# Our list: BOM, CRLF, a quoted field with a comma and a line break, a '/' in a name,
# and a row whose image is not there (404).
printf '\xEF\xBB\xBFshelf,plate,side,url\r\n' >"$W/list.csv"
printf 'A,"1/a",recto,%s\r\n' "$H/v2_256" >>"$W/list.csv"
printf '"B, second","2\r\nb",verso,%s\r\n' "$H/gray_v3/info.json" >>"$W/list.csv"
printf 'C,3,recto,%s\r\n' "$H/missing/info.json" >>"$W/list.csv"
printf 'D,4,recto,%s\r\n' "$H/odd_v2/" >>"$W/list.csv"
BATCH=(--csv list.csv --url-column url --name '{plate}-{side}' --out-dir out)

shards_cover batch_shards_cover_list --csv list.csv --url-column url --name '{plate}-{side}'

if want batch_http; then
    : >"$LOG"
    run batch_http "${BATCH[@]}"
    why=""
    for f in "1_a-recto:v2_256" "2__b-verso:gray_v3" "4-recto:odd_v2"; do
        img=$W/out/${f%%:*}.tif
        if [[ ! -f $img ]]; then
            why="no ${f%%:*}.tif (have: $(ls "$W/out" | tr '\n' ' '))"
            break
        fi
        if ! d=$(same "$img" "${f#*:}"); then why="${f%%:*}.tif: $d"; break; fi
    done
    nfiles=$(find "$W/out" -type f | grep -c '' || true)
    if [[ -n $why ]]; then
        t_fail batch_http "$why"
    elif (( RC != 5 )); then
        t_fail batch_http "exit $RC, want 5 (the 404): $(first_line "$ERR")"
    elif (( nfiles != 3 )); then
        t_fail batch_http "want 3 files in out/, got $nfiles: $(ls "$W/out" | tr '\n' ' ')"
    elif ! grep -qE '^iiifstitch: out/3-recto\.tif: .*404.*missing/info\.json.*\(record 4, line 5\)$' "$ERR"; then
        t_fail batch_http "no one-line 404 failure naming the record: $(grep -v '^out/' "$ERR" | head -n1)"
    elif [[ $(tail -n1 "$ERR") != "iiifstitch: batch: 3 done, 0 skipped, 1 failed (4 jobs)" ]]; then
        t_fail batch_http "summary: $(tail -n1 "$ERR")"
    elif (( $(grep -c '^iiifstitch: ' "$ERR") != 2 )); then
        t_fail batch_http "want 2 'iiifstitch:' lines (the failure and the summary): $(tr '\n' '|' <"$ERR")"
    else
        t_pass batch_http
    fi
fi

if want batch_jobs; then
    # three at once: the same files, the 404 reported and the others done
    run batch_jobs --csv list.csv --url-column url --name '{plate}-{side}' --out-dir outj --jobs 3
    why=""
    for f in "1_a-recto:v2_256" "2__b-verso:gray_v3" "4-recto:odd_v2"; do
        if ! d=$(same "$W/outj/${f%%:*}.tif" "${f#*:}"); then why="${f%%:*}.tif: $d"; break; fi
    done
    if [[ -n $why ]]; then
        t_fail batch_jobs "$why"
    elif (( RC != 5 )); then
        t_fail batch_jobs "exit $RC, want 5: $(first_line "$ERR")"
    elif [[ $(tail -n1 "$ERR") != "iiifstitch: batch: 3 done, 0 skipped, 1 failed (4 jobs)" ]]; then
        t_fail batch_jobs "summary: $(tail -n1 "$ERR")"
    elif ! grep -qE '^iiifstitch: outj/3-recto\.tif: .*404.*\(record 4, line 5\)$' "$ERR"; then
        t_fail batch_jobs "no 404 line: $(tr '\n' '|' <"$ERR")"
    else
        t_pass batch_jobs
    fi
fi

if want batch_rerun_skips_complete; then
    : >"$LOG"
    run batch_rerun_skips_complete "${BATCH[@]}"
    ntiles=$(grep -c 'default\.jpg' "$LOG" || true)
    if (( RC != 5 )); then
        t_fail batch_rerun_skips_complete "exit $RC, want 5: $(first_line "$ERR")"
    elif [[ $(tail -n1 "$ERR") != "iiifstitch: batch: 0 done, 3 skipped, 1 failed (4 jobs)" ]]; then
        t_fail batch_rerun_skips_complete "summary: $(tail -n1 "$ERR")"
    elif (( ntiles != 0 )) || ! grep -q '^out/1_a-recto\.tif: complete already, skipped$' "$ERR"; then
        t_fail batch_rerun_skips_complete "$ntiles tile requests; stderr: $(head -n1 "$ERR")"
    else
        t_pass batch_rerun_skips_complete
    fi
fi

# check_report NAME FILE WANT: FILE is a well-formed report (tests/lib/check_report.py) and
# "OUTPUT:STATUS" of its lines, sorted and joined by spaces, is WANT
check_report() {
    local got
    if ! got=$(/usr/bin/python3 tests/lib/check_report.py "$2"); then
        t_fail "$1" "report: $got"
    elif [[ $got != "$3" ]]; then
        t_fail "$1" "report: got '$got', want '$3'"
    else
        t_pass "$1"
    fi
}

if want batch_report; then
    # the re-run above left three complete files: a new run skips them, the 404 fails again
    rm -f "$W/out/4-recto.tif"
    run batch_report "${BATCH[@]}" --report report.jsonl -q
    if (( RC != 5 )); then
        t_fail batch_report "exit $RC, want 5: $(first_line "$ERR")"
    else
        check_report batch_report "$W/report.jsonl" \
            "out/1_a-recto.tif:skipped out/2__b-verso.tif:skipped out/3-recto.tif:failed out/4-recto.tif:done"
        grep -q '"error": "HTTP 404.*missing/info.json' "$W/report.jsonl" ||
            t_fail batch_report_error "no 404 error in: $(grep failed "$W/report.jsonl")"
    fi
fi

if want batch_report_escapes; then
    # a quote, a backslash, a control character, a stray byte and UTF-8 in a source: the
    # line still parses, and the stray byte becomes U+FFFD
    printf 'u\n"http://127.0.0.1:1/a""b\\c\xff\x01d\xc3\xa9"\n' >"$W/esc.csv"
    run batch_report_escapes --csv esc.csv --url-column u --name x --out-dir esc --retries 0 \
        --report esc.jsonl -q
    got=$(/usr/bin/python3 -c 'import json, sys
d = json.loads(open(sys.argv[1], encoding="utf-8").read())
print(ascii(d["source"]), d["status"])' "$W/esc.jsonl" 2>&1) || true
    if (( RC != 3 )); then
        t_fail batch_report_escapes "exit $RC, want 3: $(first_line "$ERR")"
    elif [[ $got != "'http://127.0.0.1:1/a\"b\\\\c\\ufffd\\x01d\\xe9' failed" ]]; then
        t_fail batch_report_escapes "got: $got"
    else
        t_pass batch_report_escapes
    fi
fi

if want batch_rerun_redoes_incomplete; then
    # a cut-off file and an empty one are not complete (a zero strip byte count: unit test)
    head -c 3000 "$W/out/1_a-recto.tif" >"$W/cut.tif" && mv "$W/cut.tif" "$W/out/1_a-recto.tif"
    : >"$W/out/4-recto.tif"
    run batch_rerun_redoes_incomplete "${BATCH[@]}" -q
    why=""
    d1=$(same "$W/out/1_a-recto.tif" v2_256) || why="1_a-recto.tif: $d1"
    d2=$(same "$W/out/4-recto.tif" odd_v2) || why="4-recto.tif: $d2"
    if (( RC != 5 )); then
        t_fail batch_rerun_redoes_incomplete "exit $RC, want 5: $(first_line "$ERR")"
    elif [[ -n $why ]]; then
        t_fail batch_rerun_redoes_incomplete "$why"
    elif [[ $(tail -n1 "$ERR") != "iiifstitch: batch: 2 done, 1 skipped, 1 failed (4 jobs)" ]]; then
        t_fail batch_rerun_redoes_incomplete "summary: $(tail -n1 "$ERR")"
    elif find "$W/out" -name '*.part' | grep -q .; then
        t_fail batch_rerun_redoes_incomplete ".part files left behind"
    else
        t_pass batch_rerun_redoes_incomplete
    fi
fi

if want batch_id_column_where_limit; then
    # identifiers under --base, default names, a regex filter and a limit
    printf 'ident,kind\nv3_512,colour\nmissing,colour\ngray_v3,grey\nv2_256,colour\n' >"$W/ids.csv"
    : >"$LOG"
    run batch_id_column_where_limit --csv ids.csv --id-column ident --base "$H/" \
        --where 'kind~=^col' --where 'ident~=^v' --limit 2 --out-dir ids -q
    why=""
    d=$(same "$W/ids/v3_512.tif" v3_512) || why="v3_512.tif: $d"
    d=$(same "$W/ids/v2_256.tif" v2_256) || why="v2_256.tif: $d"
    if (( RC != 0 )); then
        t_fail batch_id_column_where_limit "exit $RC: $(first_line "$ERR")"
    elif [[ -n $why ]]; then
        t_fail batch_id_column_where_limit "$why"
    elif [[ $(ls "$W/ids" | tr '\n' ' ') != "v2_256.tif v3_512.tif " ]]; then
        t_fail batch_id_column_where_limit "files: $(ls "$W/ids" | tr '\n' ' ')"
    elif grep -qE 'missing|gray' "$LOG" || [[ -s $ERR ]]; then
        t_fail batch_id_column_where_limit "filtered rows fetched, or -q printed: $(first_line "$ERR")"
    else
        t_pass batch_id_column_where_limit
    fi
fi

if want batch_list_is_a_dry_run; then
    : >"$LOG"
    run batch_list_is_a_dry_run "${BATCH[@]}" --out-dir listed --list
    if (( RC != 0 )); then
        t_fail batch_list_is_a_dry_run "exit $RC: $(first_line "$ERR")"
    elif [[ $(sed -n 2p "$OUT") != "listed/2__b-verso.tif	$H/gray_v3/info.json" ]]; then
        t_fail batch_list_is_a_dry_run "line 2: $(sed -n 2p "$OUT")"
    elif [[ $(<"$ERR") != "4 jobs from 4 records of list.csv" ]]; then
        t_fail batch_list_is_a_dry_run "count: $(first_line "$ERR")"
    elif [[ -s $LOG || -e $W/listed ]]; then
        t_fail batch_list_is_a_dry_run "requests made or directory created"
    else
        t_pass batch_list_is_a_dry_run
    fi
fi

# ------------------------------------------------------------------------------------------
# manifests and collections: our fixtures with their image services on the local nginx

mkdir -p "$WWW/m" "$W/m"
printf '{"type": "Manifest", "items": [{"type": "Canvas", "items": [{"type": "AnnotationPage", "items": [{"body": {"id": "https://h/pic.png", "type": "Image"}}]}]}]}\n' >"$W/m/noservice.json"
for f in manifest-v2 manifest-v3 collection-v3 collection-v2; do
    sed -E "s#https://example.org/iiif/(v2_256|gray_v3|odd_v2|v3_512)#$H/\1#g" \
        "tests/fixtures/$f.json" >"$W/m/$f.json"
    cp "$W/m/$f.json" "$WWW/m/$f.json"
done
cp "$W/m/manifest-v3.json" "$WWW/m/book"          # a manifest URL that looks like an image's

# man_files NAME DIR FILE:TREE...: DIR holds exactly these files, each with its tree's pixels
man_files() {
    local name=$1 dir=$2 f d why="" want=""
    shift 2
    for f in "$@"; do
        want+="${f%%:*}|"
        if ! d=$(same "$dir/${f%%:*}" "${f#*:}"); then why="${f%%:*}: $d"; break; fi
    done
    local got
    got=$(cd "$dir" && ls | tr '\n' '|')
    if [[ -z $why && $(tr '|' '\n' <<<"$want" | sort | tr '\n' '|') != "$(tr '|' '\n' <<<"$got" | sort | tr '\n' '|')" ]]; then
        why="files: $got, want $want"
    fi
    echo "$why"
}

if want manifest_v2_http; then
    run manifest_v2_http "$H/m/manifest-v2.json" --out-dir man2
    why=$(man_files manifest_v2_http "$W/man2" "Test book v2-1.tif:v2_256" \
        "Test book v2-2.tif:gray_v3" "Test book v2-3.tif:odd_v2")
    if (( RC != 0 )); then
        t_fail manifest_v2_http "exit $RC: $(first_line "$ERR")"
    elif [[ -n $why ]]; then
        t_fail manifest_v2_http "$why"
    elif ! grep -q '^iiifstitch: warning: .*manifest-v2\.json: canvas 2 (f\. 1v): a choice of images: taking the default$' "$ERR"; then
        t_fail manifest_v2_http "no warning about the choice: $(first_line "$ERR")"
    elif [[ $(tail -n1 "$ERR") != "iiifstitch: batch: 3 done, 0 skipped, 0 failed (3 jobs)" ]]; then
        t_fail manifest_v2_http "summary: $(tail -n1 "$ERR")"
    else
        t_pass manifest_v2_http
    fi
fi

if want manifest_provenance; then
    desc=$(tiffinfo "$W/man2/Test book v2-2.tif" 2>/dev/null | sed -n 's/^  ImageDescription: //p')
    wantd="{\"source\": \"$H/gray_v3\", \"label\": \"f. 1v\", \"attribution\": \"Provided by the Example Library\", \"rights\": \"https://creativecommons.org/publicdomain/zero/1.0/\"}"
    if [[ $desc == "$wantd" ]]; then t_pass manifest_provenance
    else t_fail manifest_provenance "ImageDescription: '$desc', want '$wantd'"; fi
fi

if want manifest_found_behind_an_image_url; then
    # no batch option and a URL like an image's: tried as an image, found to be a manifest
    mkdir -p "$W/behind"
    (cd "$W/behind" && timeout -k 5 "$RUN_TIMEOUT" "${WRAP_ARR[@]}" "$BIN" -q --canvas 1 \
        "$H/m/book" >/dev/null 2>"$W/behind.err") && rc=0 || rc=$?
    (cd "$W/behind" && timeout -k 5 "$RUN_TIMEOUT" "${WRAP_ARR[@]}" "$BIN" -q "$H/m/book" \
        >/dev/null 2>"$W/behind2.err") && rc2=0 || rc2=$?
    why=$(man_files manifest_found_behind_an_image_url "$W/behind" "Test book; v3-1.tif:v3_512" \
        "Test book; v3-2.tif:v2_256" "Test book; v3-3.tif:gray_v3")
    if (( rc != 0 || rc2 != 0 )); then
        t_fail manifest_found_behind_an_image_url "exit $rc, $rc2: $(head -n1 "$W/behind2.err")"
    elif [[ -n $why ]]; then
        t_fail manifest_found_behind_an_image_url "$why"
    else
        t_pass manifest_found_behind_an_image_url
    fi
fi

if want manifest_collection_jobs_report; then
    run manifest_collection_list m/collection-v3.json --list --out-dir col
    run manifest_collection_jobs_report m/collection-v3.json --out-dir col --jobs 2 \
        --name '{manifest}_{index}_{label}' --report col.jsonl -q
    why=$(man_files manifest_collection_jobs_report "$W/col" "Test book v2_1_f. 1r.tif:v2_256" \
        "Test book v2_2_f. 1v.tif:gray_v3" "Test book v2_3_f. 2r.tif:odd_v2" \
        "Test book; v3_1_1r.tif:v3_512" "Test book; v3_2_1v.tif:v2_256" \
        "Test book; v3_3_p. 3.tif:gray_v3")
    if (( RC != 0 )); then
        t_fail manifest_collection_jobs_report "exit $RC: $(first_line "$ERR")"
    elif [[ -n $why ]]; then
        t_fail manifest_collection_jobs_report "$why"
    elif ! grep -q '^6 jobs from 7 canvases of 2 manifests in m/collection-v3\.json$' "$W/manifest_collection_list.err"; then
        t_fail manifest_collection_jobs_report "--list count: $(tail -n1 "$W/manifest_collection_list.err")"
    else
        check_report manifest_collection_jobs_report "$W/col.jsonl" \
            "$(cd "$W" && ls col/* | sed 's/$/:done/' | sort | tr '\n' ' ' | sed 's/ $//')"
    fi
fi

if want manifest_select_canvas_label; then
    run manifest_select_canvas_label m/manifest-v3.json --canvas 2-4 --label '^[0-9]v$|^p\.' \
        --name '{index}' --list
    if (( RC != 0 )); then
        t_fail manifest_select_canvas_label "exit $RC: $(first_line "$ERR")"
    elif [[ $(cut -f1 "$OUT" | tr '\n' ' ') != "2.tif 3.tif " ]]; then
        t_fail manifest_select_canvas_label "jobs: $(cut -f1 "$OUT" | tr '\n' ' ')"
    else
        t_pass manifest_select_canvas_label
    fi
fi

shards_cover manifest_shards_cover m/collection-v3.json

bad manifest_bad_canvas 2 "--canvas '0': 0-0 is not a range of positions from 1" m/manifest-v2.json --canvas 0
bad manifest_bad_label 2 "--label '\(': bad regular expression" m/manifest-v2.json --label '('
bad manifest_bad_name 2 "--name: \{plate\} is not a manifest field" m/manifest-v2.json --name '{plate}'
# an image's info.json with a batch option: refused once SOURCE is read, naming the first
# option that needs a batch (bad gives --out-dir first)
bad manifest_info_json 2 "v2_256/info\.json is an image's info\.json, not a manifest or collection: --out-dir works only with" \
    "$H/v2_256/info.json" --list
bad manifest_where 2 '--where works only with --csv' m/manifest-v2.json --where a=b
bad manifest_label_with_csv 2 '--label works only with a manifest or collection as SOURCE' \
    --csv list.csv --url-column url --label x
bad manifest_with_output 2 '-o names one image: with a manifest' m/manifest-v2.json -o x.tif
bad manifest_no_service 6 'canvas 1 \(p\. 1\): no image service and its image https://h/pic\.png' \
    m/noservice.json --list
bad manifest_image_base_with_batch_option 2 "v2_256(/info\.json)? is an image's info\.json, not a manifest or collection: --out-dir works only with one of those or with --csv FILE" \
    "$H/v2_256"
bad manifest_missing 7 'cannot open m/nope\.json' m/nope.json --list

# ------------------------------------------------------------------------------------------
# the real list, run: 40 near-infrared rectos by identifier against a fault server that
# answers any identifier with one small synthetic image (v2, level 1, 256-px tiles, as the
# real server); names, pixels, a run killed halfway and finished by a re-run

real_list_run() {
    local syn=$W/real/syn.pgm info=$W/real/info.json ids=$W/real/ids
    mkdir -p "$W/real/empty"
    /usr/bin/python3 tests/lib/make_synth.py 600 400 "$syn" 7
    cat >"$info" <<'EOF'
{"@context": "http://iiif.io/api/image/2/context.json", "@id": "x",
 "protocol": "http://iiif.io/api/image", "width": 1, "height": 1,
 "tiles": [{"width": 256, "height": 256, "scaleFactors": [1, 2, 4]}],
 "profile": ["http://iiif.io/api/image/2/level1.json",
             {"formats": ["jpg"], "qualities": ["native", "color", "gray"]}]}
EOF
    # the expected jobs, found independently of the tool: the first 40 NIR rectos
    /usr/bin/python3 - "$SHARED_CSV" >"$ids" <<'EOF'
import csv, sys
with open(sys.argv[1], newline="", encoding="utf-8-sig") as f:
    rows = [r for r in csv.DictReader(f) if r["label"] == "Near Infra-Red (NIR) -Recto"]
for r in rows[:40]:
    print(r["image_identifier"])
EOF
    fault_start "$W/real/empty" --synth-any iiif "$syn" "$info"
    REAL=(--csv "$SHARED_CSV" --where "$NIR" --limit 40 --id-column image_identifier
          --base "http://127.0.0.1:$FAULT_PORT/iiif")
    sed 's/$/.tif/' "$ids" | sort >"$W/real/want_names"
}

# real_check NAME DIR: DIR holds exactly the 40 expected files, each a TIFF with the synthetic
# image's pixels, and no .part; prints why not, or nothing
real_check() {
    local dir=$1 f d
    if ! diff -q <(ls "$dir" | sort) "$W/real/want_names" >/dev/null; then
        echo "files differ from the expected names: $(diff <(ls "$dir" | sort) "$W/real/want_names" | grep -c '^[<>]') lines"
        return
    fi
    while read -r f; do
        if ! d=$("$PIXCMP" "$dir/$f" "$W/real/syn.pgm" 2>&1); then
            echo "$f: $d"
            return
        fi
    done <"$W/real/want_names"
}

if [[ ! -f $SHARED_CSV ]]; then
    t_skip_shared real_list_run "$SHARED_CSV"
elif want real_list; then
    real_list_run

    # 1. killed once n images are done, n at random: the server holds the info.json of the
    #    next one, so the run cannot get further
    n=$(( 5 + RANDOM % 31 ))
    fault_scenario "[{\"match\": \"/iiif/*/info.json\", \"fault\": \"hold\", \"after\": $n}]"
    rm -rf "$W/nir"
    ( cd "$W" && exec "${WRAP_ARR[@]}" "$BIN" "${REAL[@]}" --out-dir nir -q ) \
        >"$W/real/run1.out" 2>"$W/real/run1.err" </dev/null &
    pid=$!
    # shellcheck disable=SC2317 # called by t_wait_until
    n_done_and_held() {
        (( $(find "$W/nir" -maxdepth 1 -name '*.tif' 2>/dev/null | grep -c '') >= n &&
           $(fault_held) > 0 )) || ! kill -0 "$pid" 2>/dev/null
    }
    why=""
    t_wait_until 120 n_done_and_held || why="no info.json held with $n files done within 120 s; "
    kill -9 "$pid" 2>/dev/null || true
    rc=0
    wait "$pid" 2>/dev/null || rc=$?
    ls "$W/nir" | grep '\.tif$' | sort >"$W/real/finished" || true
    nfin=$(grep -c '' "$W/real/finished" || true)
    cp "$FAULT_LOG" "$W/real/run1.log"
    if (( nfin != n || rc != 137 )); then
        t_fail real_list_killed_halfway "$why$nfin of 40 files (status $rc) when killed, want $n, killed"
    else
        t_pass real_list_killed_halfway
    fi

    # 2. the re-run finishes the rest, without fetching a finished image again
    fault_scenario '[]'
    run real_list_rerun "${REAL[@]}" --out-dir nir --report nir.jsonl -q
    why=$(real_check "$W/nir")
    cat "$W/real/run1.log" "$FAULT_LOG" >"$W/real/both.log"
    awk '$2 ~ /\/info\.json$/ { split($2, p, "/"); n[p[3]]++ } END { for (i in n) print i ".tif", n[i] }' \
        "$W/real/both.log" | sort >"$W/real/info_counts"
    again=$(join "$W/real/finished" "$W/real/info_counts" | awk '$2 != 1' | head -n3 | tr '\n' ' ')
    nall=$(grep -c '' "$W/real/info_counts" || true)
    want_report=$( { sed 's/^/nir\//; s/$/:skipped/' "$W/real/finished"
                     comm -23 "$W/real/want_names" "$W/real/finished" | sed 's/^/nir\//; s/$/:done/'
                   } | sort | tr '\n' ' ' | sed 's/ $//')
    if (( RC != 0 )); then
        t_fail real_list_rerun "exit $RC: $(first_line "$ERR")"
    elif [[ -n $why ]]; then
        t_fail real_list_rerun "$why"
    elif find "$W/nir" -name '*.part' | grep -q .; then
        t_fail real_list_rerun ".part files left behind"
    elif [[ -n $again ]]; then
        t_fail real_list_rerun "finished images fetched again (id info.json-requests): $again"
    elif (( nall != 40 )); then
        t_fail real_list_rerun "info.json requested for $nall identifiers, want 40"
    else
        t_pass real_list_rerun
        check_report real_list_rerun_report "$W/nir.jsonl" "$want_report"
    fi

    # provenance: the source and the CSV's label in ImageDescription (a JSON object); a
    # --tag ImageDescription of the user's replaces it
    if want real_list_provenance; then
        id=$(head -n1 "$W/real/ids")
        desc=$(tiffinfo "$W/nir/$id.tif" 2>/dev/null | sed -n 's/^  ImageDescription: //p')
        wantd="{\"source\": \"http://127.0.0.1:$FAULT_PORT/iiif/$id\", \"label\": \"Near Infra-Red (NIR) -Recto\"}"
        run real_list_tag "${REAL[@]}" --limit 1 --out-dir tagged --tag ImageDescription=mine -q
        mine=$(tiffinfo "$W/tagged/$id.tif" 2>/dev/null | sed -n 's/^  ImageDescription: //p')
        if [[ $desc != "$wantd" ]]; then
            t_fail real_list_provenance "ImageDescription: '$desc', want '$wantd'"
        elif [[ $mine != mine ]]; then
            t_fail real_list_provenance "with --tag: '$mine'"
        else
            t_pass real_list_provenance
        fi
    fi

    # 3. four images at once: the same files, every one done
    run real_list_jobs "${REAL[@]}" --out-dir nir4 --jobs 4 --report nir4.jsonl -q
    why=$(real_check "$W/nir4")
    if (( RC != 0 )); then
        t_fail real_list_jobs "exit $RC: $(first_line "$ERR")"
    elif [[ -n $why ]]; then
        t_fail real_list_jobs "$why"
    elif find "$W/nir4" -name '*.part' | grep -q .; then
        t_fail real_list_jobs ".part files left behind"
    else
        t_pass real_list_jobs
        check_report real_list_jobs_report "$W/nir4.jsonl" \
            "$(sed 's/^/nir4\//; s/$/:done/' "$W/real/want_names" | tr '\n' ' ' | sed 's/ $//')"
    fi

    # 4. the connection budget is per host across the images: --jobs 4 --connections 2 never
    # has more than 2 requests at the server at once (tiles slowed down so that they overlap)
    fault_scenario '[{"match": "*.jpg", "fault": "delay:20"}]'
    run real_list_jobs_budget "${REAL[@]}" --limit 12 --out-dir nir2 --jobs 4 --connections 2 -q
    peak=$(awk '$8 > m { m = $8 } END { print m + 0 }' "$FAULT_LOG")
    if (( RC != 0 )); then
        t_fail real_list_jobs_budget "exit $RC: $(first_line "$ERR")"
    elif [[ $(ls "$W/nir2" | grep -c '\.tif$') != 12 ]]; then
        t_fail real_list_jobs_budget "want 12 files: $(ls "$W/nir2" | tr '\n' ' ')"
    elif (( peak != 2 )); then
        t_fail real_list_jobs_budget "at most $peak requests at once, want 2"
    else
        t_pass real_list_jobs_budget
    fi

    # 5. a manifest whose first answer is a 503: fetched again, then its three canvases, each
    # the synthetic image, exact
    if want real_list_manifest_retried; then
        /usr/bin/python3 - "http://127.0.0.1:$FAULT_PORT/iiif" >"$W/real/empty/m.json" <<'EOF'
import json, sys
canvas = lambda i: {"type": "Canvas", "label": {"none": ["c%d" % i]}, "items": [{
    "type": "AnnotationPage", "items": [{"type": "Annotation", "motivation": "painting",
    "body": {"type": "Image", "service": [{"id": "%s/img%d" % (sys.argv[1], i),
                                           "type": "ImageService2"}]}}]}]}
print(json.dumps({"type": "Manifest", "label": {"en": ["synthetic"]},
                  "items": [canvas(i) for i in (1, 2, 3)]}))
EOF
        fault_scenario '[{"match": "/m.json", "fault": "status:503", "times": 1}]'
        run real_list_manifest_retried "http://127.0.0.1:$FAULT_PORT/m.json" --out-dir synm \
            --name '{label}'
        why=""
        for f in c1 c2 c3; do
            d=$("$PIXCMP" "$W/synm/$f.tif" "$W/real/syn.pgm" 2>&1) || { why="$f.tif: $d"; break; }
        done
        if (( RC != 0 )); then
            t_fail real_list_manifest_retried "exit $RC: $(first_line "$ERR")"
        elif [[ -n $why ]]; then
            t_fail real_list_manifest_retried "$why"
        elif [[ $(fault_count '/m\.json') != 2 ]] || ! grep -q 'HTTP 503.*m\.json; try 2 of 5' "$ERR"; then
            t_fail real_list_manifest_retried "want 2 requests for m.json and a warning: $(fault_count '/m\.json'), $(first_line "$ERR")"
        else
            t_pass real_list_manifest_retried
        fi
    fi
fi

# ------------------------------------------------------------------------------------------
# bad input: one line, the right exit code, nothing downloaded

if want batch_duplicate_names; then
    : >"$LOG"
    bad batch_duplicate_names 2 "list\.csv: records 2 \(line 2\) and 4 \(line 5\) both make 'recto\.tif'" \
        --csv list.csv --url-column url --name '{side}'
    [[ ! -s $LOG ]] || t_fail batch_duplicate_names_no_requests "requests were made: $(head -n1 "$LOG")"
fi
printf 'a,b\n1,"open\n' >"$W/unterminated.csv"
printf 'a,b\n1,x"y"\n' >"$W/midquote.csv"
printf 'a,b\n1,2\n3\n' >"$W/short.csv"
printf 'a,b\n,x\n' >"$W/emptyname.csv"
bad batch_csv_unterminated 6 'unterminated\.csv: record 2 \(line 2\): unterminated quote' \
    --csv unterminated.csv --url-column b
bad batch_csv_quote_in_field 6 'midquote\.csv: record 2 \(line 2\): quote inside unquoted field 2' \
    --csv midquote.csv --url-column b
bad batch_csv_field_count 6 'short\.csv: record 3 \(line 3\): 1 field, the header has 2' \
    --csv short.csv --url-column b
bad batch_csv_missing 7 'cannot open nope\.csv' --csv nope.csv --url-column b
bad batch_unknown_column 2 "--url-column: no column 'link' \(columns of list\.csv: shelf, plate, side, url\)" \
    --csv list.csv --url-column link
bad batch_unknown_name_column 2 "--name: no column 'folio' in list\.csv \(columns: shelf, plate, side, url\)" \
    --csv list.csv --url-column url --name '{folio}'
bad batch_reserved_name_field 2 "\{label\} is reserved for manifests" \
    --csv list.csv --url-column url --name '{label}'
bad batch_unknown_where_column 2 "--where: no column 'colour'" \
    --csv list.csv --url-column url --where 'colour=red'
bad batch_bad_regex 2 "--where 'side~=\(recto': bad regular expression" \
    --csv list.csv --url-column url --where 'side~=(recto'
bad batch_bad_where 2 "--where 'side': expected COLUMN=VALUE" --csv list.csv --url-column url --where side
bad batch_empty_name 2 'emptyname\.csv: record 2 \(line 2\): the output name is empty' \
    --csv emptyname.csv --url-column b --name '{a}'
bad batch_slash_in_template 2 "'/' cannot be part of a file name" \
    --csv list.csv --url-column url --name 'x/{side}'
bad batch_no_source_column 2 'say where each row.s image is' --csv list.csv
bad batch_id_without_base 2 '--id-column needs --base' --csv list.csv --id-column plate
bad batch_with_source 2 'give SOURCE or --csv FILE, not both' --csv list.csv --url-column url "$H/v2_256"
bad batch_with_output 2 '-o names one image' --csv list.csv --url-column url -o x.tif
bad batch_option_without_csv 2 '--where works only with --csv' --where a=b "$H/v2_256"
bad batch_limit_zero 2 "--limit '0' is not a number" --csv list.csv --url-column url --limit 0
bad batch_report_with_list 2 '--report records a run: not with --list' \
    --csv list.csv --url-column url --report r.jsonl --list
bad batch_report_cannot_create 7 'cannot create the report no/such/dir/r\.jsonl' \
    --csv list.csv --url-column url --report no/such/dir/r.jsonl
bad batch_jobs_zero 2 "--jobs '0' is not a number from 1 to 32" --csv list.csv --url-column url --jobs 0
bad batch_jobs_too_many 2 "--jobs '33' is not a number from 1 to 32" --csv list.csv --url-column url --jobs 33
bad batch_jobs_memory_share 2 '--max-memory 2048 KiB over 4 images at once is under 1 MiB each' \
    --csv list.csv --url-column url --jobs 4 --max-memory 2M
bad batch_shard_not_k_of_n 2 "--shard '1' is not K/N" --csv list.csv --url-column url --shard 1
bad batch_shard_k_too_big 2 "--shard '2/2': K counts from 0 and must be below N" \
    --csv list.csv --url-column url --shard 2/2
bad batch_shard_n_zero 2 "--shard '0/0' is not K/N with whole numbers" \
    --csv list.csv --url-column url --shard 0/0
bad batch_shard_negative 2 "--shard '-1/2' is not K/N with whole numbers" \
    --csv list.csv --url-column url --shard -1/2
bad batch_shard_on_an_image 2 "is an image's info\.json, not a manifest or collection" \
    --shard 0/2 "$H/v2_256/info.json"

t_summary
