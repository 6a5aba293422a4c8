# shellcheck shell=bash
# nginx_bench.sh - a private nginx for the benchmark. Source it.
#
#   bench_nginx_start ROOT DIR
#       Serve ROOT over plain HTTP on 127.0.0.1:<free port>. Conf, pid, error log
#       and temp paths all live in DIR. Sets and exports BENCH_HTTP_PORT.
#       Keep-alive on (high keepalive_requests), sendfile on, no access log,
#       one worker: a quiet static server so that the clients are what is measured.
#   bench_nginx_stop
#       Stop it (TERM, then KILL) and wait; safe to call twice.
#
# Uses free_port/wait_port from tests/lib/common.sh when it is there.

BENCH_NGINX_BIN=${BENCH_NGINX_BIN:-/usr/sbin/nginx}
BENCH_NGINX_DIR=""
BENCH_NGINX_PID=""

_bench_lib=$(dirname "${BASH_SOURCE[0]}")/../lib
if [[ -f $_bench_lib/common.sh ]]; then
    # shellcheck source=SCRIPTDIR/../lib/common.sh
    source "$_bench_lib/common.sh"
fi
if ! declare -F free_port >/dev/null; then
    free_port() {
        /usr/bin/python3 -c '
import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
    }
fi
if ! declare -F wait_port >/dev/null; then
    wait_port() {
        local port=$1 secs=${2:-10} i
        for (( i = 0; i < secs * 20; i++ )); do
            if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then return 0; fi
            sleep 0.05
        done
        return 1
    }
fi

bench_nginx_start() {
    local root dir attempt user=""
    root=$(cd "$1" && pwd)
    dir=$2
    [[ -x $BENCH_NGINX_BIN ]] || { echo "bench: nginx not found at $BENCH_NGINX_BIN (apt-get install nginx-light)" >&2; return 1; }
    mkdir -p "$dir"/logs "$dir"/tmp/{client,proxy,fastcgi,uwsgi,scgi}
    BENCH_NGINX_DIR=$(cd "$dir" && pwd)
    if [[ $EUID -eq 0 ]]; then user="user root;"; fi
    for attempt in 1 2 3; do
        BENCH_HTTP_PORT=$(free_port 1 | head -n1)
        cat >"$BENCH_NGINX_DIR/nginx.conf" <<EOF
$user
worker_processes 1;
pid $BENCH_NGINX_DIR/nginx.pid;
error_log $BENCH_NGINX_DIR/logs/error.log warn;
events { worker_connections 1024; }
http {
    types { application/json json; image/jpeg jpg jpeg; }
    default_type application/octet-stream;
    access_log off;
    client_body_temp_path $BENCH_NGINX_DIR/tmp/client;
    proxy_temp_path       $BENCH_NGINX_DIR/tmp/proxy;
    fastcgi_temp_path     $BENCH_NGINX_DIR/tmp/fastcgi;
    uwsgi_temp_path       $BENCH_NGINX_DIR/tmp/uwsgi;
    scgi_temp_path        $BENCH_NGINX_DIR/tmp/scgi;
    sendfile           on;
    tcp_nodelay        on;
    keepalive_timeout  60s;
    keepalive_requests 1000000;
    open_file_cache    max=20000 inactive=300s;
    server_tokens      off;
    server {
        listen 127.0.0.1:$BENCH_HTTP_PORT;
        server_name localhost;
        root $root;
    }
}
EOF
        : >"$BENCH_NGINX_DIR/logs/error.log"
        "$BENCH_NGINX_BIN" -p "$BENCH_NGINX_DIR" -c "$BENCH_NGINX_DIR/nginx.conf" \
            -e "$BENCH_NGINX_DIR/logs/error.log" -g 'daemon off;' &
        BENCH_NGINX_PID=$!
        if wait_port "$BENCH_HTTP_PORT" 10; then
            export BENCH_HTTP_PORT
            return 0
        fi
        bench_nginx_stop
        grep -q 'Address already in use' "$BENCH_NGINX_DIR/logs/error.log" || break
        echo "bench: nginx port race, retrying ($attempt)" >&2
    done
    echo "bench: nginx did not start:" >&2
    cat "$BENCH_NGINX_DIR/logs/error.log" >&2
    return 1
}

bench_nginx_stop() {
    local pid=$BENCH_NGINX_PID i
    [[ -n $pid ]] || return 0
    BENCH_NGINX_PID=""
    if kill -0 "$pid" 2>/dev/null; then
        kill -TERM "$pid" 2>/dev/null || true
        for (( i = 0; i < 100; i++ )); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.05
        done
        kill -KILL "$pid" 2>/dev/null || true
    fi
    wait "$pid" 2>/dev/null || true
}
