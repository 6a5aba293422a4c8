# shellcheck shell=bash
# proxy.sh - private tinyproxy instances for the tests. Source after common.sh and t_init.
#
#   proxy_start NAME [CONFIG_LINE...]
#       Start tinyproxy on a free 127.0.0.1 port with a generated configuration plus the given
#       lines (e.g. "ConnectPort 1" to refuse CONNECT elsewhere, "BasicAuth user pass").
#       Sets PROXY_PORT and PROXY_LOG (also kept as PROXY_PORT_NAME / PROXY_LOG_NAME).
#       Everything lives in $T_WORK/proxy-NAME. Returns when the port answers.
#   proxy_requests LOG
#       The requests the proxy received, one "METHOD TARGET" a line (from its log).
#   proxy_reset LOG
#       Forget the requests logged so far (the next proxy_requests sees only new ones).
#   proxy_stop NAME
#       Stop it (also done automatically at test exit).

TINYPROXY_BIN=${TINYPROXY_BIN:-/usr/bin/tinyproxy}

proxy_start() {
    local name=$1 dir attempt line
    shift
    dir=$T_WORK/proxy-$name
    mkdir -p "$dir"
    t_on_exit "proxy_stop $name"
    for attempt in 1 2 3; do
        PROXY_PORT=$(free_port)
        PROXY_LOG=$dir/tinyproxy.log
        {
            echo "Port $PROXY_PORT"
            echo "Listen 127.0.0.1"
            echo "Timeout 30"
            echo "LogFile \"$PROXY_LOG\""
            echo "LogLevel Connect"
            echo "MaxClients 32"
            echo "Allow 127.0.0.1"
            echo "DisableViaHeader Yes"
            for line in "$@"; do
                echo "$line"
            done
        } >"$dir/tinyproxy.conf"
        : >"$PROXY_LOG"
        t_bg_start "$dir/pid" "$TINYPROXY_BIN" -d -c "$dir/tinyproxy.conf" \
            >"$dir/stdout" 2>"$dir/stderr"
        if wait_port "$PROXY_PORT" 10; then
            printf -v "PROXY_PORT_$name" '%s' "$PROXY_PORT"
            printf -v "PROXY_LOG_$name" '%s' "$PROXY_LOG"
            export PROXY_PORT PROXY_LOG
            return 0
        fi
        t_stop_pidfile "$dir/pid"
        grep -qi 'address already in use' "$dir/stderr" "$PROXY_LOG" 2>/dev/null || break
        echo "tinyproxy: port race, retrying ($attempt)" >&2
    done
    echo "proxy_start: tinyproxy did not start:" >&2
    cat "$dir/stderr" "$PROXY_LOG" >&2
    return 1
}

# tinyproxy logs "Request (file descriptor N): METHOD TARGET HTTP/1.x" once per request.
proxy_requests() {
    local log=$1 skip=0
    [[ -f $log.mark ]] && skip=$(<"$log.mark")
    tail -c +$((skip + 1)) "$log" | sed -nE 's/.*Request \(file descriptor [0-9]+\): ([A-Z]+) ([^ ]+) HTTP.*/\1 \2/p'
}

proxy_reset() {
    stat -c %s "$1" >"$1.mark"
}

proxy_stop() {
    local dir=$T_WORK/proxy-$1
    t_stop_pidfile "$dir/pid"
}
