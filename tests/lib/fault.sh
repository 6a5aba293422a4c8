# shellcheck shell=bash
# fault.sh - start/stop tests/lib/fault_server.py. Source after common.sh and t_init.
#
#   fault_start ROOT [EXTRA_ARGS...]
#       Start a fault server for ROOT on a free port with scenario file $FAULT_SCENARIO
#       (initially no rules) and request log $FAULT_LOG. Sets and exports FAULT_PORT.
#   fault_scenario JSON
#       Replace the scenario with the list of rules JSON (atomically; the server picks it up
#       on its next request, with every "times"/"after" counter at 0, even when the rules
#       are the same as before) and empty the request log.
#   fault_count PATTERN
#       Number of logged requests whose target matches the grep -E PATTERN (anchored on the
#       target field; e.g. fault_count '/v2_256/info\.json').
#   fault_held
#       Number of requests the hold fault is holding or has held (logged when they arrive).
#   fault_stop
#       Stop it (also done automatically at test exit).
#
# The server runs under Debian's python3 (/usr/bin/python3), which has numpy and OpenCV for
# --synth; FAULT_PY overrides. The log's fields are documented in fault_server.py.

fault_start() {
    local root=$1 i
    shift
    FAULT_DIR=$T_WORK/fault
    mkdir -p "$FAULT_DIR"
    FAULT_SCENARIO=$FAULT_DIR/scenario.json
    FAULT_LOG=$FAULT_DIR/requests.log
    echo '[]' >"$FAULT_SCENARIO"
    : >"$FAULT_LOG"
    : >"$FAULT_DIR/stdout"
    local py=${FAULT_PY:-/usr/bin/python3}
    [[ -x $py ]] || py=python3
    t_bg_start "$FAULT_DIR/pid" "$py" "$T_LIB/fault_server.py" --root "$root" \
        --log "$FAULT_LOG" --scenario "$FAULT_SCENARIO" "$@" \
        >"$FAULT_DIR/stdout" 2>"$FAULT_DIR/stderr"
    t_on_exit fault_stop
    for (( i = 0; i < 100; i++ )); do
        FAULT_PORT=$(head -n1 "$FAULT_DIR/stdout")
        if [[ $FAULT_PORT =~ ^[0-9]+$ ]]; then
            export FAULT_PORT FAULT_LOG FAULT_SCENARIO
            return 0
        fi
        sleep 0.05
    done
    echo "fault_start: server did not start:" >&2
    cat "$FAULT_DIR/stderr" >&2
    return 1
}

FAULT_SERIAL=0
fault_scenario() {
    # the serial makes every scenario new to the server, which compares contents
    printf '{"serial": "%s %s %s", "rules": %s}\n' "$BASHPID" "$EPOCHREALTIME" \
        "$(( ++FAULT_SERIAL ))" "$1" >"$FAULT_SCENARIO.tmp"
    mv -f "$FAULT_SCENARIO.tmp" "$FAULT_SCENARIO"
    : >"$FAULT_LOG"
}

fault_count() {
    awk -v re="^($1)\$" '$2 ~ re { n++ } END { print n + 0 }' "$FAULT_LOG"
}

fault_held() {
    awk '$5 == "hold" { n++ } END { print n + 0 }' "$FAULT_LOG"
}

fault_stop() {
    [[ -n ${FAULT_DIR:-} ]] || return 0
    t_stop_pidfile "$FAULT_DIR/pid"
}
