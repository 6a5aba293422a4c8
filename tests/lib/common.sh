# shellcheck shell=bash
# common.sh - helpers for the bash test suites. Source it, then call t_init.
#
#   t_init                    make the work dir ($T_WORK) and install the cleanup traps
#   t_pass NAME               count a passed check (printed only with VERBOSE=1)
#   t_fail NAME MSG           count a failed check, print "FAIL NAME: MSG"
#   t_skip NAME WHY           count a skipped check, print "SKIP NAME: WHY"
#   t_skip_shared NAME WHAT   WHAT (under ../shared: fixtures, the fragment list) is absent:
#                             a skip, or under CI=true a failure (CI must have the data)
#   t_summary                 print "N passed, N failed, N skipped"; status 1 if any failed
#   free_port [N]             print N (default 1) distinct free 127.0.0.1 TCP ports, one a line
#   t_closed_port             set CLOSED_PORT to a 127.0.0.1 port that refuses connections until
#                             the suite ends (bound, never listening: no other process can take
#                             it meanwhile, as it could a port free_port printed)
#   wait_port PORT [SECS]     wait until something accepts on 127.0.0.1:PORT
#   t_wait_until SECS CMD...  run CMD every 20 ms until it succeeds (status 0); status 1
#                             once SECS seconds have passed without that
#   t_bg_start PIDFILE CMD... start CMD in the background, remember it for cleanup
#   t_stop_pidfile PIDFILE    stop the process in PIDFILE (TERM, then KILL)
#   t_on_exit CMD             run CMD (a function name or command string) at cleanup
#
# Environment: KEEP=1 keeps the work dir (its path is printed), VERBOSE=1 prints passes.

T_PASSED=0
T_FAILED=0
T_SKIPPED=0
T_WORK=""
T_PIDFILES=()
T_EXIT_CMDS=()
T_TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck disable=SC2034 # used by nginx.sh and fault.sh
T_LIB=$T_TOP/tests/lib

t_pass() {
    T_PASSED=$((T_PASSED + 1))
    if [[ ${VERBOSE:-0} = 1 ]]; then echo "ok   $1"; fi
    return 0
}

t_fail() {
    T_FAILED=$((T_FAILED + 1))
    echo "FAIL $1: ${2:-}"
    return 0
}

t_skip() {
    T_SKIPPED=$((T_SKIPPED + 1))
    echo "SKIP $1: ${2:-}"
    return 0
}

t_skip_shared() {
    if [[ ${CI:-} = true ]]; then
        t_fail "$1" "$2 not present (CI=true: ../shared must be there)"
    else
        t_skip "$1" "$2 not present"
    fi
}

t_summary() {
    echo "$T_PASSED passed, $T_FAILED failed, $T_SKIPPED skipped"
    (( T_FAILED == 0 ))
}

free_port() {
    python3 - "${1:-1}" <<'EOF'
import socket, sys
socks = []
for _ in range(int(sys.argv[1])):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    socks.append(s)
for s in socks:
    print(s.getsockname()[1])
EOF
}

t_closed_port() {
    local f=$T_WORK/closed_port
    t_bg_start "$f.pid" python3 -c 'import socket, time
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1], flush=True)
while True:
    time.sleep(3600)' >"$f"
    # shellcheck disable=SC2317 # called by t_wait_until
    _port_printed() { [[ $(<"$f") =~ ^[0-9]+$ ]]; }
    t_wait_until 30 _port_printed || { echo "t_closed_port: no port" >&2; return 1; }
    CLOSED_PORT=$(<"$f")
}

wait_port() {
    local port=$1 secs=${2:-10} i
    for (( i = 0; i < secs * 20; i++ )); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            return 0
        fi
        sleep 0.05
    done
    return 1
}

t_wait_until() {
    local deadline=$(( SECONDS + $1 + 1 ))
    shift
    until "$@"; do
        (( SECONDS < deadline )) || return 1
        sleep 0.02
    done
}

t_bg_start() {
    local pidfile=$1
    shift
    "$@" &
    echo $! >"$pidfile"
    T_PIDFILES+=("$pidfile")
}

t_stop_pidfile() {
    local pidfile=$1 pid i
    [[ -s $pidfile ]] || return 0
    pid=$(<"$pidfile")
    if [[ $pid =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null; then
        kill -TERM "$pid" 2>/dev/null || true
        for (( i = 0; i < 50; i++ )); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.05
        done
        kill -KILL "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    fi
    rm -f "$pidfile"
}

t_on_exit() {
    T_EXIT_CMDS+=("$1")
}

t_cleanup() {
    local status=$? i
    trap - EXIT INT TERM
    set +e
    for (( i = ${#T_EXIT_CMDS[@]} - 1; i >= 0; i-- )); do
        eval "${T_EXIT_CMDS[i]}"
    done
    for i in "${T_PIDFILES[@]}"; do
        t_stop_pidfile "$i"
    done
    if [[ -n $T_WORK && -d $T_WORK ]]; then
        if [[ ${KEEP:-0} = 1 ]]; then
            echo "work dir kept: $T_WORK" >&2
        else
            rm -rf "$T_WORK"
        fi
    fi
    return "$status"
}

# t_binary: after t_init, the binary under test and how to run it: BIN is $IIIFSTITCH
# (default build/iiifstitch) made absolute from the top of the tree, WRAP_ARR the words of
# $WRAP (an emulator, or none). A BIN that is not executable ends the suite here: one
# failed check, the summary, exit 1.
t_binary() {
    IIIFSTITCH=${IIIFSTITCH:-build/iiifstitch}
    BIN=$IIIFSTITCH
    [[ $BIN = /* ]] || BIN=$T_TOP/$BIN
    read -ra WRAP_ARR <<<"${WRAP:-}"
    if [[ ! -x $BIN ]]; then
        t_fail binary "$IIIFSTITCH not found or not executable (build it first)"
        t_summary
        exit 1
    fi
}

t_init() {
    T_WORK=$(mktemp -d "${TMPDIR:-/tmp}/iiifstitch-test.XXXXXX")
    export T_WORK
    trap 't_cleanup' EXIT
    trap 'echo "interrupted" >&2; t_cleanup; exit 130' INT
    trap 'echo "terminated" >&2; t_cleanup; exit 143' TERM
}
