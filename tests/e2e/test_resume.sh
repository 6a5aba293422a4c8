#!/usr/bin/env bash
# test_resume.sh - --resume: runs killed with SIGKILL at random moments, then
# continued, must give the very bytes of an uninterrupted run; a run that
# fails keeps its .part for later; a .part begun otherwise is refused.
#
# The image is 1001x2331 in 256-px tiles (10 bands of 4 tiles), served by
# the fault server. A run to be killed is served a random number of tiles,
# then the next tile it asks for is held (the hold fault): it cannot finish,
# and the kill comes once the server holds a request (and, where a check
# needs it, the state lists enough strips), never after a sleep. DateTime
# comes from SOURCE_DATE_EPOCH, so that runs at different times can be
# compared byte for byte.
#
# Usage: tests/e2e/test_resume.sh
# Environment:
#   IIIFSTITCH=PATH    binary under test (default build/iiifstitch)
#   WRAP="CMD ARGS"    prefix for every run (an emulator)
#   TREES_CACHE=DIR    the generated trees and references (tests/lib/data.sh)
#   KILLS=N            kills per chain for none and deflate (default 5)
#   ONLY=REGEX         run only the checks whose name matches (grep -E)
#   KEEP=1, VERBOSE=1  keep the work dir / print passing checks (tests/lib/common.sh)
set -euo pipefail

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$TOP"
# shellcheck source=tests/lib/common.sh
. tests/lib/common.sh
# shellcheck source=tests/lib/fault.sh
. tests/lib/fault.sh
# shellcheck source=tests/lib/refimage.sh
. tests/lib/refimage.sh
# shellcheck source=tests/lib/data.sh
. tests/lib/data.sh
unset http_proxy HTTP_PROXY https_proxy HTTPS_PROXY no_proxy NO_PROXY

KILLS=${KILLS:-5}
PIXCMP=$TOP/tests/lib/pixcmp.sh

t_init
t_binary
W=$T_WORK/out
mkdir -p "$W"

data_ready
REF=$DATA/ref/tall.v
fault_start "$DATA/iiif"
SRC=http://127.0.0.1:$FAULT_PORT/tall/info.json
TILES='/tall/*/default.jpg'
BAND5='/tall/0,1280,256,256/256,/0/default.jpg'   # the first tile of band 5 (rows 1280..)
BAND9='/tall/*,2304,*/default.jpg'                 # the last band's tiles (rows 2304..)
HOLD_LAST="{\"match\": \"$BAND9\", \"fault\": \"hold\"}"    # a run cannot finish
export SOURCE_DATE_EPOCH=1764547200

want() { [[ -z ${ONLY:-} ]] || grep -qE -- "$ONLY" <<<"$1"; }
first_line() { if [[ -s $1 ]]; then head -n1 "$1" | cut -c1-300; else echo "(stderr empty)"; fi; }
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }

# go FILE ARGS...: one run to its end into $W/FILE; RC, ERR, MS
N=0
go() {
    local f=$1 t0
    shift
    ERR=$W/$f.$(( ++N )).err
    RC=0
    t0=$(now_ms)
    timeout -k 5 300 "${WRAP_ARR[@]}" "$BIN" --connections 2 -o "$W/$f" "$@" "$SRC" \
        </dev/null >/dev/null 2>"$ERR" || RC=$?
    MS=$(( $(now_ms) - t0 ))
}

# start FILE ARGS...: a run into $W/FILE in the background; BGPID
start() {
    local f=$1
    shift
    "${WRAP_ARR[@]}" "$BIN" -q --connections 2 -o "$W/$f" "$@" "$SRC" </dev/null \
        >/dev/null 2>"$W/$f.killed.err" &
    BGPID=$!
}
# stop: SIGKILL the run started last; BGRC its status (137 when the kill ended it)
stop() {
    kill -KILL "$BGPID" 2>/dev/null || true
    BGRC=0
    wait "$BGPID" 2>/dev/null || BGRC=$?
}
ended() { ! kill -0 "$BGPID" 2>/dev/null; }

# strips FILE: complete strips the state of $W/FILE.part lists (0 without one); a last line
# without its newline (a kill cut it short) is not one
strips() {
    local st=$W/$1.part.resume n
    [[ -f $st ]] || { echo 0; return; }
    n=$(grep -c '^strip ' "$st" || true)
    if [[ -s $st && $(tail -c 1 "$st" | wc -l) = 0 ]] && tail -n 1 "$st" | grep -q '^strip '; then
        n=$(( n - 1 ))
    fi
    echo "$n"
}
# held_with FILE K: the server holds a request, and the state of FILE lists K strips
held_with() { (( $(fault_held) > 0 && $(strips "$1") >= $2 )); }
# killed_when SECS FILE K: wait for held_with FILE K (or the run's end), then SIGKILL the run
# after a random 0..40 ms more (it cannot finish meanwhile: a request is held); status 1 and
# WHY set when neither came within SECS seconds
killed_when() {
    local secs=$1 f=$2 k=$3
    WHY=""
    # shellcheck disable=SC2317 # called by t_wait_until
    event() { held_with "$f" "$k" || ended; }
    if ! t_wait_until "$secs" event; then
        stop
        WHY="no request held with $k strips listed within $secs s (strips: $(strips "$f"))"
        return 1
    fi
    ended || sleep "0.0$(( RANDOM % 5 ))"
    stop
}

# state_fits FILE: the state claims no byte the .part lacks
state_fits() {
    local st=$W/$1.part.resume part=$W/$1.part
    [[ -f $st ]] || return 0
    [[ -f $part ]] || { echo "a state without a .part"; return 1; }
    awk -v size="$(stat -c %s "$part")" '$1 == "head" { n = $2 } $1 == "strip" { n += $3 }
        END { if (n > size) { print "state claims " n " bytes, .part has " size; exit 1 } }' "$st"
}

# chain NAME FILE KILLS WANT_RC ARGS...: an uninterrupted --resume run into FILE.whole (its
# tile requests counted: T), then KILLS runs into FILE, each continuing the last, then one to
# the end. A killed run is served A tiles, A at random, then held; it is killed once the
# server holds a request, a few ms later at random. The first kill's A is in the middle half
# of T and it waits for the state to list a strip as well: that kill lands inside a run
# (killed, a strip kept, no output) by construction. Later runs get A below the tiles about
# left (past them a run ends by itself: "(done)"). The result must be the whole run's bytes,
# with no .part or state left, and the last run must continue the strips listed.
chain() {
    local name=$1 f=$2 kills=$3 want_rc=$4 i a s t left total=0 rows height log="" cut=0
    shift 4
    want "$name" || return 0
    fault_scenario '[]'
    go "$f.whole" --resume "$@"
    if [[ $RC != "$want_rc" ]]; then
        t_fail "$name" "uninterrupted run: exit $RC, want $want_rc: $(first_line "$ERR")"
        return
    fi
    t=$(fault_count '/tall/.*/default\.jpg')
    height=$(vipsheader -f height "$W/$f.whole")
    for (( i = 1; i <= kills; i++ )); do
        rm -f "$W/$f"
        s=$(strips "$f")
        if (( i == 1 )); then
            a=$(( t / 4 + RANDOM % (t / 2) ))
        else
            left=$(( total > 0 ? t * (total - s) / total : t ))
            a=$(( RANDOM % (left > 1 ? left : 1) ))
        fi
        fault_scenario "[{\"match\": \"$TILES\", \"fault\": \"hold\", \"after\": $a}]"
        start "$f" --resume "$@"
        if ! killed_when 120 "$f" "$(( i == 1 ? 1 : 0 ))"; then
            t_fail "$name" "kill $i (after $a tiles): $WHY"
            return
        fi
        if ! s=$(state_fits "$f"); then
            t_fail "$name" "after kill $i (after $a tiles): $s"
            return
        fi
        s=$(strips "$f")
        log+=" ${a}t:${s}"
        if [[ -f $W/$f ]]; then
            log+="(done)"
        elif (( BGRC == 137 && s > 0 )); then
            cut=1
        fi
        if (( total == 0 )) && [[ -f $W/$f.part.resume ]]; then
            rows=$(awk '$1 == "rows" { print $2 }' "$W/$f.part.resume")
            total=$(( (height + rows - 1) / rows ))
        fi
    done
    local before
    before=$(strips "$f")
    fault_scenario '[]'
    go "$f" --resume "$@"
    if [[ $RC != "$want_rc" ]]; then
        t_fail "$name" "last run: exit $RC, want $want_rc: $(first_line "$ERR") [kills$log]"
    elif ! cmp -s "$W/$f" "$W/$f.whole"; then
        t_fail "$name" "not the bytes of the uninterrupted run: $(cmp "$W/$f" "$W/$f.whole" 2>&1 | head -c 200) [kills$log]"
    elif [[ -e $W/$f.part || -e $W/$f.part.resume ]]; then
        t_fail "$name" "the .part or its state is left behind"
    elif (( before > 0 )) && ! grep -q "continued from row" "$ERR"; then
        t_fail "$name" "the state listed $before strips, the last run did not continue: $(first_line "$ERR")"
    elif (( cut == 0 )); then
        t_fail "$name" "no kill landed inside a run [kills$log]"
    else
        t_pass "$name [kills$log]"
    fi
}

# ------------------------------------------------------------------------------------------
# five kills, byte-identical: uncompressed and deflate; then PNM, a cropped and turned view
# (bands that are not the strips), and a partial image whose missing tile must still be
# listed after the run that lost it was killed

chain resume_none none.tif "$KILLS" 0 --compression none
chain resume_deflate deflate.tif "$KILLS" 0 --compression deflate
chain resume_pnm image.pnm 2 0 --format pnm
chain resume_view view.tif 2 0 --compression deflate --region 100,150,800,2000 --rotate 180 --mirror

if want resume_checks; then
    # the uninterrupted outputs are the image: read back by tiffinfo and vips
    for f in none deflate; do
        if ! tiffinfo "$W/$f.tif.whole" >"$W/$f.tiffinfo" 2>&1; then
            t_fail "resume_read_$f" "tiffinfo: $(head -n2 "$W/$f.tiffinfo")"
        elif ! d=$("$PIXCMP" "$W/$f.tif.whole" "$REF" 2>&1); then
            t_fail "resume_read_$f" "$d"
        else
            t_pass "resume_read_$f"
        fi
    done
    vips copy "$W/image.pnm.whole" "$W/image.v" 2>/dev/null || true
    if d=$("$PIXCMP" "$W/image.v" "$REF" 2>&1); then t_pass resume_read_pnm
    else t_fail resume_read_pnm "$d"; fi
    # the view against the same view written by libtiff (tested against vips elsewhere)
    go view_plain.tif --compression deflate --region 100,150,800,2000 --rotate 180 --mirror
    if (( RC != 0 )); then t_fail resume_read_view "exit $RC: $(first_line "$ERR")"
    elif d=$("$PIXCMP" "$W/view.tif.whole" "$W/view_plain.tif" 2>&1); then t_pass resume_read_view
    else t_fail resume_read_view "$d"; fi
fi

if want resume_partial; then
    LOSE5="{\"match\": \"$BAND5\", \"fault\": \"status:404\"}"
    fault_scenario "[$LOSE5]"
    go partial_whole.tif --resume --allow-partial
    # a run that has written band 5 (its tile lost) and more, killed before the last band
    # (held; the first rule that matches applies); the rest continued
    rm -f "$W/partial.tif"*
    fault_scenario "[$LOSE5, $HOLD_LAST]"
    start partial.tif --resume --allow-partial
    killed_when 120 partial.tif 7 || true
    s=$(strips partial.tif)
    fault_scenario "[$LOSE5]"
    go partial.tif --resume --allow-partial
    if [[ -n $WHY ]]; then
        t_fail resume_partial "$WHY"
    elif (( s < 7 || s >= 10 || BGRC != 137 )); then
        t_fail resume_partial "the killed run left $s strips (status $BGRC), want 7..9, killed"
    elif (( RC != 9 )); then
        t_fail resume_partial "exit $RC, want 9: $(first_line "$ERR")"
    elif ! grep -q "is partial: 1 tile filled with 128: 0,5\$" "$ERR"; then
        t_fail resume_partial "the tile lost before the kill is not listed: $(grep -m1 partial "$ERR" || first_line "$ERR")"
    elif ! cmp -s "$W/partial.tif" "$W/partial_whole.tif"; then
        t_fail resume_partial "not the bytes of the uninterrupted partial run"
    else
        t_pass resume_partial
    fi
fi

# ------------------------------------------------------------------------------------------
# a failure keeps the .part; a .part begun otherwise is refused and left alone; a .part cut
# short costs the strips past its end; a state that is not one is an error naming its line

if want resume_failure; then
    fault_scenario "[{\"match\": \"$BAND5\", \"fault\": \"status:404\"}]"
    go kept.tif --resume --compression deflate
    # the tile of band 5 is asked for while band 3 or 4 is filled
    k=$(strips kept.tif)
    if (( RC != 5 )); then
        t_fail resume_failure_keeps "exit $RC, want 5: $(first_line "$ERR")"
    elif (( $(grep -c '' "$ERR") != 1 )) || ! grep -q "kept.tif.part kept: --resume continues it" "$ERR"; then
        t_fail resume_failure_keeps "want one line saying the .part is kept: $(head -n3 "$ERR" | tr '\n' '|')"
    elif [[ -e $W/kept.tif || ! -f $W/kept.tif.part ]] || (( k < 2 || k > 5 )); then
        t_fail resume_failure_keeps "want kept.tif.part with 2..5 strips and no kept.tif: $k; $(ls "$W" | grep kept | tr '\n' ' ')"
    else
        t_pass resume_failure_keeps
    fi
    # failing again (the same tile) keeps it again, whether before or after its first strip
    go kept.tif --resume --compression deflate
    k=$(strips kept.tif)
    if (( RC != 5 )) || ! grep -q "kept.tif.part kept: --resume continues it" "$ERR"; then
        t_fail resume_failure_again "exit $RC, want 5 and the .part kept: $(first_line "$ERR")"
    elif [[ ! -f $W/kept.tif.part ]] || (( k < 2 || k > 5 )); then
        t_fail resume_failure_again "want kept.tif.part with 2..5 strips: $k"
    else
        t_pass resume_failure_again
    fi
    sum=$(cat "$W/kept.tif.part" "$W/kept.tif.part.resume" | cksum)
    fault_scenario '[]'     # a refusal comes before any tile is written
    refused() { # NAME REGEX ARGS...
        local name=$1 re=$2
        shift 2
        go kept.tif --resume "$@"
        if (( RC != 2 )); then t_fail "$name" "exit $RC, want 2: $(first_line "$ERR")"
        elif (( $(grep -c '' "$ERR") != 1 )) || ! grep -qE "^iiifstitch: .*$re" "$ERR"; then
            t_fail "$name" "want one line naming /$re/: $(head -n3 "$ERR" | tr '\n' '|')"
        elif [[ $(cat "$W/kept.tif.part" "$W/kept.tif.part.resume" | cksum) != "$sum" ]]; then
            t_fail "$name" "the .part or its state changed"
        else t_pass "$name"; fi
    }
    refused resume_refuses_options "begun from another source or with other options" --compression none
    refused resume_refuses_region "other options" --compression deflate --region 0,0,1000,2000
    refused resume_refuses_tags "does not match this run" --compression deflate --tag Artist=Someone
    # a .part cut short inside its last strip: that strip goes, the run continues before it
    truncate -s -100 "$W/kept.tif.part"
    fault_scenario '[]'
    go kept.tif --resume --compression deflate
    tiles=$(fault_count '/tall/.*/default\.jpg')
    if (( RC != 0 )); then t_fail resume_continues_short_part "exit $RC: $(first_line "$ERR")"
    elif ! grep -q "continued from row $(( (k - 1) * 256 )) of 2331" "$ERR"; then
        t_fail resume_continues_short_part "want 'continued from row $(( (k - 1) * 256 ))': $(first_line "$ERR")"
    elif (( tiles != (11 - k) * 4 )); then
        t_fail resume_continues_short_part "$tiles tiles fetched, want the $(( (11 - k) * 4 )) of bands $(( k - 1 ))..9"
    elif [[ -f $W/deflate.tif.whole ]] && ! cmp -s "$W/kept.tif" "$W/deflate.tif.whole"; then
        t_fail resume_continues_short_part "not the bytes of the uninterrupted deflate run"
    elif ! d=$("$PIXCMP" "$W/kept.tif" "$REF" 2>&1); then
        t_fail resume_continues_short_part "$d"
    elif [[ -e $W/kept.tif.part || -e $W/kept.tif.part.resume ]]; then
        t_fail resume_continues_short_part "the .part or its state is left behind"
    else t_pass resume_continues_short_part; fi
fi

if want resume_bad_state; then
    fault_scenario "[{\"match\": \"$BAND5\", \"fault\": \"status:404\"}]"
    go bad.tif --resume
    echo "strip 99 what" >>"$W/bad.tif.part.resume"
    line=$(grep -c '' "$W/bad.tif.part.resume")
    fault_scenario '[]'
    go bad.tif --resume
    if (( RC != 7 )); then t_fail resume_bad_state "exit $RC, want 7: $(first_line "$ERR")"
    elif ! grep -q "bad.tif.part.resume line $line: .*remove it to start over" "$ERR"; then
        t_fail resume_bad_state "want the state's line $line named: $(first_line "$ERR")"
    else t_pass resume_bad_state; fi
    # a run without --resume starts afresh, and the stale state goes with the .part
    go bad.tif
    if (( RC != 0 )); then t_fail resume_plain_run_clears "exit $RC: $(first_line "$ERR")"
    elif [[ -e $W/bad.tif.part || -e $W/bad.tif.part.resume ]]; then
        t_fail resume_plain_run_clears "left: $(ls "$W" | grep bad.tif | tr '\n' ' ')"
    elif ! d=$("$PIXCMP" "$W/bad.tif" "$REF" 2>&1); then t_fail resume_plain_run_clears "$d"
    else t_pass resume_plain_run_clears; fi
fi

# a batch continues each image's own .part: killed inside the first image, run again
if want resume_batch; then
    # killed once a.tif's state lists k strips, k at random, its last band held
    k=$(( 3 + RANDOM % 7 ))
    fault_scenario "[$HOLD_LAST]"
    printf 'id,url\na,%s\nb,%s\n' "$SRC" "$SRC" >"$W/list.csv"
    bcmd=("${WRAP_ARR[@]}" "$BIN" --connections 2 --csv "$W/list.csv" --url-column url
          --name '{id}' --out-dir "$W/batch" --resume)
    "${bcmd[@]}" -q </dev/null >/dev/null 2>"$W/batch1.err" &
    BGPID=$!
    killed_when 120 batch/a.tif "$k" || true
    s=$(strips batch/a.tif)
    fault_scenario '[]'
    rc=0
    timeout -k 5 300 "${bcmd[@]}" --report "$W/batch2.jsonl" </dev/null >/dev/null \
        2>"$W/batch2.err" || rc=$?
    rows=$(python3 tests/lib/check_report.py "$W/batch2.jsonl" >/dev/null &&
           python3 -c 'import json, sys
print(" ".join(str(json.loads(l)["resumed_rows"]) for l in open(sys.argv[1])))' "$W/batch2.jsonl" ||
           echo "bad report")
    if [[ -n $WHY ]]; then
        t_fail resume_batch "$WHY"
    elif (( s < k || s >= 10 || BGRC != 137 )); then
        t_fail resume_batch "the killed batch left $s strips of a.tif (status $BGRC), want $k..9, killed"
    elif (( rc != 0 )); then
        t_fail resume_batch "exit $rc: $(first_line "$W/batch2.err")"
    elif ! grep -q "a.tif: .*, continued from row $(( s * 256 ))\$" "$W/batch2.err"; then
        t_fail resume_batch "a.tif did not continue from row $(( s * 256 )): $(head -c 300 "$W/batch2.err")"
    elif [[ $rows != "$(( s * 256 )) 0" ]]; then
        t_fail resume_batch "report's resumed_rows: $rows, want $(( s * 256 )) 0"
    elif ! d=$("$PIXCMP" "$W/batch/a.tif" "$REF" 2>&1) || ! d=$("$PIXCMP" "$W/batch/b.tif" "$REF" 2>&1); then
        t_fail resume_batch "$d"
    elif ls "$W/batch" | grep -q part; then
        t_fail resume_batch "left: $(ls "$W/batch" | tr '\n' ' ')"
    else
        t_pass resume_batch
    fi
fi

# ------------------------------------------------------------------------------------------
# usage errors

usage() { # NAME REGEX OUT ARGS...
    local name=$1 re=$2 out=$3
    shift 3
    want "$name" || return 0
    local rc=0
    timeout -k 5 60 "${WRAP_ARR[@]}" "$BIN" -o "$out" "$@" "$SRC" </dev/null \
        >"$W/$name.stdout" 2>"$W/$name.err" || rc=$?
    if (( rc != 2 )); then t_fail "$name" "exit $rc, want 2: $(first_line "$W/$name.err")"
    elif (( $(grep -c '' "$W/$name.err") != 1 )) || ! grep -qE "^iiifstitch: .*$re" "$W/$name.err"; then
        t_fail "$name" "want one line naming /$re/: $(head -n3 "$W/$name.err" | tr '\n' '|')"
    elif [[ -s $W/$name.stdout ]] || ls "$W" | grep -q "^u_"; then
        t_fail "$name" "an output was made"
    else t_pass "$name"; fi
}
usage usage_resume_stdout "--resume needs an output file" - --resume
usage usage_resume_lzw "--resume writes none or deflate, not lzw" "$W/u_lzw.tif" --resume --compression lzw
SOURCE_DATE_EPOCH=soon usage usage_source_date_epoch "SOURCE_DATE_EPOCH=soon" "$W/u_sde.tif"

t_summary
